/* tcp_reass.c — the out-of-order assembler: a sorted list of filled ranges. */
#include "tcp/tcp_reass.h"

#include <errno.h>
#include <string.h>

#include "tcp/tcp_seq.h"

int tcp_reass_add(struct tcp_reass *a, uint32_t rcv_nxt, uint32_t seq, uint32_t len)
{
	uint32_t start = seq, end = seq + len;
	/* Offsets from rcv_nxt order the ranges without wraparound trouble. */
	uint32_t s_off = start - rcv_nxt, e_off = end - rcv_nxt;
	int i = 0;
	while (i < a->n && a->r[i].end - rcv_nxt < s_off)
		i++; /* ranges wholly before this one, not touching it */
	int j = i;
	while (j < a->n && a->r[j].start - rcv_nxt <= e_off)
		j++; /* ranges [i, j) overlap or touch [start, end) */
	if (j == i) {
		if (a->n == TCP_REASS_MAX)
			return -ENOSPC;
		memmove(&a->r[i + 1], &a->r[i], (size_t)(a->n - i) * sizeof(a->r[0]));
		a->r[i] = (struct tcp_reass_range){start, end};
		a->n++;
	} else {
		if (a->r[i].start - rcv_nxt < s_off)
			start = a->r[i].start;
		if (a->r[j - 1].end - rcv_nxt > e_off)
			end = a->r[j - 1].end;
		a->r[i] = (struct tcp_reass_range){start, end};
		memmove(&a->r[i + 1], &a->r[j], (size_t)(a->n - j) * sizeof(a->r[0]));
		a->n = (uint8_t)(a->n - (j - i - 1));
	}
	a->last = (uint8_t)i;
	return 0;
}

uint32_t tcp_reass_take(struct tcp_reass *a, uint32_t rcv_nxt)
{
	uint32_t got = 0;
	int i = 0;
	/* Ranges at or before rcv_nxt: the first one may reach past it. */
	while (i < a->n && seq_leq(a->r[i].start, rcv_nxt)) {
		if (seq_gt(a->r[i].end, rcv_nxt + got))
			got = a->r[i].end - rcv_nxt;
		i++;
	}
	if (i) {
		memmove(&a->r[0], &a->r[i], (size_t)(a->n - i) * sizeof(a->r[0]));
		a->n = (uint8_t)(a->n - i);
		/* The most recently touched range keeps its place at the front
		 * of the SACK blocks (RFC 2018 §4) if it is still held. */
		a->last = a->last >= i ? (uint8_t)(a->last - i) : 0;
	}
	return got;
}

uint32_t tcp_reass_bytes(const struct tcp_reass *a)
{
	uint32_t n = 0;
	for (int i = 0; i < a->n; i++)
		n += a->r[i].end - a->r[i].start;
	return n;
}

int tcp_reass_sack_blocks(const struct tcp_reass *a, struct tcp_reass_range *out, int max)
{
	int k = 0;
	if (a->n == 0 || max <= 0)
		return 0;
	out[k++] = a->r[a->last];
	for (int i = 0; i < a->n && k < max; i++)
		if (i != a->last)
			out[k++] = a->r[i];
	return k;
}
