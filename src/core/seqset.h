/* tcp_reass.h — the out-of-order assembler: which byte ranges beyond
 * RCV.NXT have arrived (internal to tcp/).
 *
 * The bytes themselves sit in the receive ring at their place (see
 * ring_write_at); the assembler only remembers which ranges are filled, as a
 * sorted list of disjoint, non-adjacent ranges of sequence numbers, found
 * by binary search. Memory is bounded by the receive buffer, and the
 * number of holes by the room the assembler has (TCP_REASS_MAX in place,
 * more after tcp_reass_grow): a segment that would need one range more is
 * refused (the sender retransmits it later). Overlapping and
 * duplicate segments merge into the ranges they touch. All comparisons are
 * modulo 2^32 (tcp_seq.h), relative to the rcv_nxt the caller passes. */
#ifndef USTCP_TCP_REASS_H
#define USTCP_TCP_REASS_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_REASS_MAX 32 /* ranges held without an allocation */

struct tcp_reass_range {
	uint32_t start, end; /* [start, end) in sequence space */
};

struct tcp_reass {
	struct tcp_reass_range *r; /* sorted by start, relative to rcv_nxt */
	uint32_t n;                /* ranges in use */
	uint32_t cap;              /* ranges r can hold */
	uint32_t last;             /* index of the range the last add touched */
	uint32_t bytes;            /* sum of the ranges */
	struct tcp_reass_range inline_r[TCP_REASS_MAX];
};

/* An empty assembler of TCP_REASS_MAX ranges, in place (no allocation). */
void tcp_reass_init(struct tcp_reass *a);
/* Room for up to cap ranges (a big window can have many holes); the held
 * ranges are kept. Returns 0 or -ENOMEM (the old room stays). */
int tcp_reass_grow(struct tcp_reass *a, uint32_t cap);
/* Forget every range, keeping the room. */
static inline void tcp_reass_clear(struct tcp_reass *a) { a->n = a->last = a->bytes = 0; }
/* Give back the room tcp_reass_grow took; the assembler is empty after. */
void tcp_reass_free(struct tcp_reass *a);
static inline bool tcp_reass_empty(const struct tcp_reass *a) { return a->n == 0; }

/* Record [seq, seq+len), which must lie after rcv_nxt (seq_gt(seq, rcv_nxt)
 * and len > 0). Merges with every range it overlaps or touches. Returns 0,
 * or -ENOSPC when it would need a range beyond the room it has (nothing
 * is recorded then). */
int tcp_reass_add(struct tcp_reass *a, uint32_t rcv_nxt, uint32_t seq, uint32_t len);

/* rcv_nxt has advanced to this value (in-order data arrived): if the first
 * range now starts at or before it, remove that range and return how many
 * bytes past rcv_nxt it covers (those bytes are now in order); else 0.
 * Ranges wholly at or before rcv_nxt are discarded. */
uint32_t tcp_reass_take(struct tcp_reass *a, uint32_t rcv_nxt);

/* Forget everything before seq: ranges wholly before it go, a range that
 * holds it is cut to start there (the sender's scoreboard as SND.UNA
 * advances). */
void tcp_reass_trim(struct tcp_reass *a, uint32_t seq);

/* Bytes held beyond rcv_nxt (the sum of the ranges). */
static inline uint32_t tcp_reass_bytes(const struct tcp_reass *a) { return a->bytes; }

/* Up to max SACK blocks (RFC 2018 §4): the range that the most recent add
 * touched first, then the others in ascending order. Returns the count. */
int tcp_reass_sack_blocks(const struct tcp_reass *a, struct tcp_reass_range *out, int max);

#endif
