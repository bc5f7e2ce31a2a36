/* seqset.h — a set of byte ranges in a 32-bit wrapping sequence space.
 *
 * The set holds disjoint, non-adjacent ranges [start, end), kept in order
 * relative to a base the caller passes (every range lies after it): TCP's
 * out-of-order queue (base RCV.NXT) and SACK scoreboard (base SND.UNA), and
 * IP reassembly (base one below offset 0). Adding a range merges it with
 * every range it overlaps or touches. The number of ranges is bounded by
 * the room the set has (SEQSET_INLINE in place, more after seqset_grow): an
 * add that would need one range more is refused and changes nothing. All
 * comparisons are modulo 2^32 (core/seq.h). */
#ifndef USTCP_CORE_SEQSET_H
#define USTCP_CORE_SEQSET_H

#include <stdbool.h>
#include <stdint.h>

#define SEQSET_INLINE 32 /* ranges held without an allocation */

struct seqset_range {
	uint32_t start, end; /* [start, end) in sequence space */
};

struct seqset {
	struct seqset_range *r; /* in order, relative to the caller's base */
	uint32_t n;             /* ranges in use */
	uint32_t cap;           /* ranges r can hold */
	uint32_t bytes;         /* sum of the ranges */
	struct seqset_range inline_r[SEQSET_INLINE];
};

/* An empty set of SEQSET_INLINE ranges, in place (no allocation). */
void seqset_init(struct seqset *s);
/* Room for up to cap ranges; the held ranges are kept. Returns 0 or
 * -ENOMEM (the old room stays). */
int seqset_grow(struct seqset *s, uint32_t cap);
/* Forget every range, keeping the room. */
static inline void seqset_clear(struct seqset *s) { s->n = s->bytes = 0; }
/* Give back the room seqset_grow took; the set is empty after. */
void seqset_free(struct seqset *s);
static inline bool seqset_empty(const struct seqset *s) { return s->n == 0; }
static inline uint32_t seqset_count(const struct seqset *s) { return s->n; }
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

#endif
