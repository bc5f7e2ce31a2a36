/* seqset.c — a set of byte ranges: a sorted array, found by binary search. */
#include "core/seqset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/seq.h"

void seqset_init(struct seqset *s)
{
	s->r = s->inline_r;
	s->cap = SEQSET_INLINE;
	seqset_clear(s);
}

int seqset_grow(struct seqset *s, uint32_t cap)
{
	if (cap <= s->cap)
		return 0;
	struct seqset_range *r = malloc((size_t)cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(r, s->r, (size_t)s->n * sizeof(*r));
	if (s->r != s->inline_r)
		free(s->r);
	s->r = r;
	s->cap = cap;
	return 0;
}

void seqset_free(struct seqset *s)
{
	if (s->r != s->inline_r)
		free(s->r);
	seqset_init(s);
}

/* The first range whose end, as an offset from base, is at or after off. */
static uint32_t first_ending_at_or_after(const struct seqset *s, uint32_t base, uint32_t off)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->r[mid].end - base < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int seqset_add(struct seqset *s, uint32_t base, uint32_t seq, uint32_t len,
	       struct seqset_range *held)
{
	uint32_t start = seq, end = seq + len;
	/* Offsets from base order the ranges without wraparound trouble. */
	uint32_t s_off = start - base, e_off = end - base;
	uint32_t i = first_ending_at_or_after(s, base, s_off); /* first that touches or follows */
	uint32_t j = i;
	uint32_t merged = 0;
	while (j < s->n && s->r[j].start - base <= e_off) {
		merged += s->r[j].end - s->r[j].start; /* ranges [i, j) overlap or touch */
		j++;
	}
	if (j == i) {
		if (s->n == s->cap)
			return -ENOSPC;
		memmove(&s->r[i + 1], &s->r[i], (size_t)(s->n - i) * sizeof(s->r[0]));
		s->n++;
	} else {
		if (s->r[i].start - base < s_off)
			start = s->r[i].start;
		if (s->r[j - 1].end - base > e_off)
			end = s->r[j - 1].end;
		memmove(&s->r[i + 1], &s->r[j], (size_t)(s->n - j) * sizeof(s->r[0]));
		s->n -= j - i - 1;
	}
	s->r[i] = (struct seqset_range){start, end};
	s->bytes += (end - start) - merged;
	if (held)
		*held = s->r[i];
	return 0;
}

/* Remove the first i ranges, which hold gone bytes. */
static void drop_front(struct seqset *s, uint32_t i, uint32_t gone)
{
	if (i) {
		memmove(&s->r[0], &s->r[i], (size_t)(s->n - i) * sizeof(s->r[0]));
		s->n -= i;
	}
	s->bytes -= gone;
}

uint32_t seqset_take(struct seqset *s, uint32_t seq)
{
	uint32_t got = 0, gone = 0;
	uint32_t i = 0;
	/* Ranges at or before seq: the first one may reach past it. */
	while (i < s->n && seq_leq(s->r[i].start, seq)) {
		if (seq_gt(s->r[i].end, seq + got))
			got = s->r[i].end - seq;
		gone += s->r[i].end - s->r[i].start;
		i++;
	}
	drop_front(s, i, gone);
	return got;
}

void seqset_trim(struct seqset *s, uint32_t seq)
{
	uint32_t i = 0, gone = 0;
	while (i < s->n && seq_leq(s->r[i].end, seq))
		gone += s->r[i].end - s->r[i].start, i++;
	if (i < s->n && seq_lt(s->r[i].start, seq)) {
		gone += seq - s->r[i].start;
		s->r[i].start = seq;
	}
	drop_front(s, i, gone);
}

const struct seqset_range *seqset_first(const struct seqset *s) { return s->n ? &s->r[0] : NULL; }

const struct seqset_range *seqset_last(const struct seqset *s)
{
	return s->n ? &s->r[s->n - 1] : NULL;
}

const struct seqset_range *seqset_next(const struct seqset *s, const struct seqset_range *r)
{
	return r + 1 < s->r + s->n ? r + 1 : NULL;
}

const struct seqset_range *seqset_find(const struct seqset *s, uint32_t base, uint32_t seq)
{
	uint32_t i = first_ending_at_or_after(s, base, seq - base + 1);
	return i < s->n ? &s->r[i] : NULL;
}
