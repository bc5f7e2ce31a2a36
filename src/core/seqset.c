/* tcp_reass.c — the out-of-order assembler: a sorted list of filled ranges. */
#include "tcp/tcp_reass.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_seq.h"

void tcp_reass_init(struct tcp_reass *a)
{
	a->r = a->inline_r;
	a->cap = TCP_REASS_MAX;
	tcp_reass_clear(a);
}

int tcp_reass_grow(struct tcp_reass *a, uint32_t cap)
{
	if (cap <= a->cap)
		return 0;
	struct tcp_reass_range *r = malloc((size_t)cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(r, a->r, (size_t)a->n * sizeof(*r));
	if (a->r != a->inline_r)
		free(a->r);
	a->r = r;
	a->cap = cap;
	return 0;
}

void tcp_reass_free(struct tcp_reass *a)
{
	if (a->r != a->inline_r)
		free(a->r);
	tcp_reass_init(a);
}

/* The first range whose end, as an offset from base, is at or after off. */
static uint32_t first_ending_at_or_after(const struct tcp_reass *a, uint32_t base, uint32_t off)
{
	uint32_t lo = 0, hi = a->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (a->r[mid].end - base < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int tcp_reass_add(struct tcp_reass *a, uint32_t rcv_nxt, uint32_t seq, uint32_t len)
{
	uint32_t start = seq, end = seq + len;
	/* Offsets from rcv_nxt order the ranges without wraparound trouble. */
	uint32_t s_off = start - rcv_nxt, e_off = end - rcv_nxt;
	uint32_t i =
		first_ending_at_or_after(a, rcv_nxt, s_off); /* first that touches or follows */
	uint32_t j = i;
	uint32_t merged = 0;
	while (j < a->n && a->r[j].start - rcv_nxt <= e_off) {
		merged += a->r[j].end - a->r[j].start; /* ranges [i, j) overlap or touch */
		j++;
	}
	if (j == i) {
		if (a->n == a->cap)
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
		a->n -= j - i - 1;
	}
	a->bytes += (end - start) - merged;
	a->last = i;
	return 0;
}

uint32_t tcp_reass_take(struct tcp_reass *a, uint32_t rcv_nxt)
{
	uint32_t got = 0, gone = 0;
	uint32_t i = 0;
	/* Ranges at or before rcv_nxt: the first one may reach past it. */
	while (i < a->n && seq_leq(a->r[i].start, rcv_nxt)) {
		if (seq_gt(a->r[i].end, rcv_nxt + got))
			got = a->r[i].end - rcv_nxt;
		gone += a->r[i].end - a->r[i].start;
		i++;
	}
	if (i) {
		memmove(&a->r[0], &a->r[i], (size_t)(a->n - i) * sizeof(a->r[0]));
		a->n -= i;
		a->bytes -= gone;
		/* The most recently touched range keeps its place at the front
		 * of the SACK blocks (RFC 2018 §4) if it is still held. */
		a->last = a->last >= i ? a->last - i : 0;
	}
	return got;
}

void tcp_reass_trim(struct tcp_reass *a, uint32_t seq)
{
	uint32_t i = 0, gone = 0;
	while (i < a->n && seq_leq(a->r[i].end, seq))
		gone += a->r[i].end - a->r[i].start, i++;
	if (i < a->n && seq_lt(a->r[i].start, seq)) {
		gone += seq - a->r[i].start;
		a->r[i].start = seq;
	}
	if (i) {
		memmove(&a->r[0], &a->r[i], (size_t)(a->n - i) * sizeof(a->r[0]));
		a->n -= i;
		a->last = a->last >= i ? a->last - i : 0;
	}
	a->bytes -= gone;
}

int tcp_reass_sack_blocks(const struct tcp_reass *a, struct tcp_reass_range *out, int max)
{
	int k = 0;
	if (a->n == 0 || max <= 0)
		return 0;
	out[k++] = a->r[a->last];
	for (uint32_t i = 0; i < a->n && k < max; i++)
		if (i != a->last)
			out[k++] = a->r[i];
	return k;
}
