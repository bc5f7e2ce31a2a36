/* seqset.c — a set of byte ranges: a red-black tree of disjoint ranges,
 * each node counting the bytes of its subtree. */
#include "core/seqset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/seq.h"

static uint32_t len_of(const struct seqset_node *x) { return x->r.end - x->r.start; }
static uint32_t sub(const struct seqset_node *x) { return x ? x->sub_bytes : 0; }

/* A node's subtree changed: recount it and every node above it. The tree
 * code calls this (RB_AUGMENT) on each node whose children it changed,
 * lowest first, so the counts are right when each operation ends. */
static void recount_up(struct seqset_node *x)
{
	for (; x; x = RB_PARENT(x, link))
		x->sub_bytes = len_of(x) + sub(RB_LEFT(x, link)) + sub(RB_RIGHT(x, link));
}

#undef RB_AUGMENT
#define RB_AUGMENT(x) recount_up(x)

/* Ranges are disjoint and within 2^31 of each other: start orders them. */
static int by_start(const struct seqset_node *a, const struct seqset_node *b)
{
	return seq_lt(a->r.start, b->r.start) ? -1 : a->r.start != b->r.start;
}

/* RB_GENERATE_STATIC wants a __unused that libbsd leaves undefined. */
RB_GENERATE_INTERNAL(seqset_tree, seqset_node, link, by_start, __attribute__((unused)) static)

void seqset_init(struct seqset *s) { memset(s, 0, sizeof(*s)); }

void seqset_clear(struct seqset *s)
{
	RB_INIT(&s->tree);
	s->free = NULL;
	s->used = s->n = s->bytes = 0;
}

static struct seqset_node *node_new(struct seqset *s)
{
	struct seqset_node *x = s->free;
	if (x)
		s->free = RB_RIGHT(x, link);
	else if (s->used < s->cap)
		x = &s->pool[s->used++];
	return x;
}

static void node_remove(struct seqset *s, struct seqset_node *x)
{
	RB_REMOVE(seqset_tree, &s->tree, x);
	RB_RIGHT(x, link) = s->free;
	s->free = x;
	s->n--;
	s->bytes -= len_of(x);
}

static struct seqset_node *node_insert(struct seqset *s, uint32_t start, uint32_t end)
{
	struct seqset_node *x = node_new(s);
	x->r = (struct seqset_range){start, end};
	x->sub_bytes = end - start;
	RB_INSERT(seqset_tree, &s->tree, x);
	s->n++;
	s->bytes += end - start;
	return x;
}

int seqset_grow(struct seqset *s, uint32_t cap)
{
	if (cap <= s->cap)
		return 0;
	struct seqset_node *pool = malloc((size_t)cap * sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	/* The nodes move: build the tree again in the new pool. */
	struct seqset old = *s;
	s->pool = pool;
	s->cap = cap;
	seqset_clear(s);
	struct seqset_node *x;
	RB_FOREACH(x, seqset_tree, &old.tree)
	node_insert(s, x->r.start, x->r.end);
	free(old.pool);
	return 0;
}

void seqset_free(struct seqset *s)
{
	free(s->pool);
	seqset_init(s);
}

/* The first node whose end, as an offset from base, is at least off. */
static struct seqset_node *first_ending_from(const struct seqset *s, uint32_t base, uint32_t off)
{
	struct seqset_node *x = RB_ROOT(&s->tree), *found = NULL;
	while (x) {
		if (x->r.end - base < off) {
			x = RB_RIGHT(x, link);
		} else {
			found = x;
			x = RB_LEFT(x, link);
		}
	}
	return found;
}

int seqset_add(struct seqset *s, uint32_t base, uint32_t seq, uint32_t len,
	       struct seqset_range *held)
{
	uint32_t start = seq, end = seq + len;
	/* Offsets from base order the ranges without wraparound trouble. */
	uint32_t s_off = start - base, e_off = end - base;
	struct seqset_node *x = first_ending_from(s, base, s_off); /* touches or follows */
	if (!x || x->r.start - base > e_off) {
		if (s->n == s->cap)
			return -ENOSPC;
		x = node_insert(s, start, end);
	} else {
		/* x and the ranges after it that it reaches become one. */
		struct seqset_node *y;
		while ((y = RB_NEXT(seqset_tree, &s->tree, x)) && y->r.start - base <= e_off) {
			if (y->r.end - base > e_off)
				end = y->r.end, e_off = end - base;
			node_remove(s, y);
		}
		if (x->r.start - base < s_off)
			start = x->r.start;
		if (x->r.end - base > e_off)
			end = x->r.end;
		s->bytes += (end - start) - len_of(x);
		x->r = (struct seqset_range){start, end}; /* still between its neighbours */
		recount_up(x);
	}
	if (held)
		*held = x->r;
	return 0;
}

uint32_t seqset_take(struct seqset *s, uint32_t seq)
{
	uint32_t got = 0;
	struct seqset_node *x;
	/* Ranges at or before seq: the first one may reach past it. */
	while ((x = RB_MIN(seqset_tree, &s->tree)) && seq_leq(x->r.start, seq)) {
		if (seq_gt(x->r.end, seq + got))
			got = x->r.end - seq;
		node_remove(s, x);
	}
	return got;
}

void seqset_trim(struct seqset *s, uint32_t seq)
{
	struct seqset_node *x;
	while ((x = RB_MIN(seqset_tree, &s->tree)) && seq_leq(x->r.end, seq))
		node_remove(s, x);
	if (x && seq_lt(x->r.start, seq)) {
		s->bytes -= seq - x->r.start;
		x->r.start = seq; /* still the first */
		recount_up(x);
	}
}

const struct seqset_range *seqset_first(const struct seqset *s)
{
	struct seqset_node *x = RB_MIN(seqset_tree, (struct seqset_tree *)&s->tree);
	return x ? &x->r : NULL;
}

const struct seqset_range *seqset_last(const struct seqset *s)
{
	struct seqset_node *x = RB_MAX(seqset_tree, (struct seqset_tree *)&s->tree);
	return x ? &x->r : NULL;
}

const struct seqset_range *seqset_next(const struct seqset *s, const struct seqset_range *r)
{
	(void)s;
	struct seqset_node *x = RB_NEXT(seqset_tree, NULL, (struct seqset_node *)r);
	return x ? &x->r : NULL;
}

const struct seqset_range *seqset_find(const struct seqset *s, uint32_t base, uint32_t seq)
{
	uint32_t off = seq - base;
	struct seqset_node *x = off == UINT32_MAX ? NULL : first_ending_from(s, base, off + 1);
	return x ? &x->r : NULL;
}

uint32_t seqset_bytes_before(const struct seqset *s, uint32_t base, uint32_t seq)
{
	uint32_t off = seq - base, n = 0;
	const struct seqset_node *x = RB_ROOT(&s->tree);
	while (x) {
		if (x->r.end - base <= off) {
			n += sub(RB_LEFT(x, link)) + len_of(x);
			x = RB_RIGHT(x, link);
		} else if (x->r.start - base < off) {
			return n + sub(RB_LEFT(x, link)) + (seq - x->r.start);
		} else {
			x = RB_LEFT(x, link);
		}
	}
	return n;
}

bool seqset_point_below_top(const struct seqset *s, uint32_t bytes, uint32_t *point)
{
	uint32_t above = 0; /* bytes above the subtree at x */
	const struct seqset_node *x = RB_ROOT(&s->tree);
	while (x) {
		uint32_t right = above + sub(RB_RIGHT(x, link));
		if (right > bytes) {
			x = RB_RIGHT(x, link);
		} else if (right + len_of(x) > bytes) {
			*point = x->r.end - (bytes - right);
			return true;
		} else {
			above = right + len_of(x);
			x = RB_LEFT(x, link);
		}
	}
	return false;
}
