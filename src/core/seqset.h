/* seqset.h — a set of byte ranges in a 32-bit wrapping sequence space.
 *
 * The set holds disjoint, non-adjacent ranges [start, end), kept in order
 * relative to a base the caller passes (every range lies after it, and all
 * within 2^31 of each other): TCP's out-of-order queue (base RCV.NXT) and
 * SACK scoreboard (base SND.UNA), and IP reassembly (base one below offset
 * 0). Adding a range merges it with every range it overlaps or touches.
 *
 * The ranges are nodes of a red-black tree (libbsd's <bsd/sys/tree.h>),
 * each also counting the bytes of its subtree, from a pool the set
 * allocates once (seqset_grow): every operation is O(log n) in the number
 * of ranges, but for removing k ranges at once, O(k log n), each range
 * being removed once. A set without room (after seqset_init, before
 * seqset_grow) refuses every add; an add that would need one range more
 * than the room is refused and changes nothing. All comparisons are modulo
 * 2^32 (core/seq.h). */
#ifndef USTCP_CORE_SEQSET_H
#define USTCP_CORE_SEQSET_H

#include <stdbool.h>
#include <stdint.h>

#include <bsd/sys/tree.h>

struct seqset_range {
	uint32_t start, end; /* [start, end) in sequence space */
};

struct seqset_node {
	struct seqset_range r; /* first: a node is its range */
	uint32_t sub_bytes;    /* bytes of the ranges in this subtree */
	RB_ENTRY(seqset_node) link;
};

RB_HEAD(seqset_tree, seqset_node);

struct seqset {
	struct seqset_tree tree;
	struct seqset_node *pool; /* cap nodes */
	struct seqset_node *free; /* returned nodes, chained by their right link */
	uint32_t cap, used;       /* nodes in the pool; of them ever handed out */
	uint32_t n;               /* ranges held */
	uint32_t bytes;           /* sum of the ranges */
};

/* An empty set without room (no allocation). */
void seqset_init(struct seqset *s);
/* Room for up to cap ranges; the held ranges are kept. Returns 0 or
 * -ENOMEM (the old room stays). */
int seqset_grow(struct seqset *s, uint32_t cap);
/* Forget every range, keeping the room. O(1). */
void seqset_clear(struct seqset *s);
/* Give back the room; the set is empty and without room after. */
void seqset_free(struct seqset *s);
static inline bool seqset_empty(const struct seqset *s) { return s->n == 0; }
static inline uint32_t seqset_count(const struct seqset *s) { return s->n; }
/* The ranges the room holds (0 before seqset_grow). */
static inline uint32_t seqset_room(const struct seqset *s) { return s->cap; }
/* The sum of the ranges' lengths. */
static inline uint32_t seqset_bytes(const struct seqset *s) { return s->bytes; }

/* Add [seq, seq+len), which must lie after base (len > 0, and seq - base
 * and seq + len - base do not wrap). Merges with every range it overlaps or
 * touches; *held (if not NULL) is the range that holds it after. Returns 0,
 * or -ENOSPC when it would need a range beyond the room (nothing changes). */
int seqset_add(struct seqset *s, uint32_t base, uint32_t seq, uint32_t len,
	       struct seqset_range *held);

/* The base has moved to seq: if the first range now starts at or before
 * it, remove that range and return how many bytes past seq it covers; else
 * 0. Ranges wholly at or before seq are removed too. */
uint32_t seqset_take(struct seqset *s, uint32_t seq);

/* Forget everything before seq: ranges wholly before it go, a range that
 * holds it is cut to start there. */
void seqset_trim(struct seqset *s, uint32_t seq);

/* In order: the first range, the one after r, the last; NULL past the ends. */
const struct seqset_range *seqset_first(const struct seqset *s);
const struct seqset_range *seqset_next(const struct seqset *s, const struct seqset_range *r);
const struct seqset_range *seqset_last(const struct seqset *s);

/* The first range that ends after seq, seen from base (NULL when none). */
const struct seqset_range *seqset_find(const struct seqset *s, uint32_t base, uint32_t seq);

/* Bytes of the set before seq, seen from base. */
uint32_t seqset_bytes_before(const struct seqset *s, uint32_t base, uint32_t seq);

/* The point with exactly `bytes` of the set at or above it, when the set
 * holds more than that: in the range where the bytes above, counted from
 * the top, first exceed `bytes`. False (and *point unchanged) otherwise. */
bool seqset_point_below_top(const struct seqset *s, uint32_t bytes, uint32_t *point);

#endif
