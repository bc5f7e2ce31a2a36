/* tcp_reass.h — the out-of-order assembler: which byte ranges beyond
 * RCV.NXT have arrived (internal to tcp/).
 *
 * The bytes themselves sit in the receive ring at their place (see
 * ring_write_at); the assembler only remembers which ranges are filled, as a
 * sorted list of at most TCP_REASS_MAX disjoint, non-adjacent ranges of
 * sequence numbers. So memory is bounded by the receive buffer, and the
 * number of holes by TCP_REASS_MAX: a segment that would need one range
 * more is refused (the sender retransmits it later). Overlapping and
 * duplicate segments merge into the ranges they touch. All comparisons are
 * modulo 2^32 (tcp_seq.h), relative to the rcv_nxt the caller passes. */
#ifndef USTCP_TCP_REASS_H
#define USTCP_TCP_REASS_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_REASS_MAX 32

struct tcp_reass_range {
	uint32_t start, end; /* [start, end) in sequence space */
};

struct tcp_reass {
	uint8_t n;                               /* ranges in use */
	uint8_t last;                            /* index of the range the last add touched */
	struct tcp_reass_range r[TCP_REASS_MAX]; /* sorted by start, relative to rcv_nxt */
};

static inline void tcp_reass_init(struct tcp_reass *a)
{
	a->n = 0;
	a->last = 0;
}
static inline bool tcp_reass_empty(const struct tcp_reass *a) { return a->n == 0; }

/* Record [seq, seq+len), which must lie after rcv_nxt (seq_gt(seq, rcv_nxt)
 * and len > 0). Merges with every range it overlaps or touches. Returns 0,
 * or -ENOSPC when it would need a range beyond TCP_REASS_MAX (nothing is
 * recorded then). */
int tcp_reass_add(struct tcp_reass *a, uint32_t rcv_nxt, uint32_t seq, uint32_t len);

/* rcv_nxt has advanced to this value (in-order data arrived): if the first
 * range now starts at or before it, remove that range and return how many
 * bytes past rcv_nxt it covers (those bytes are now in order); else 0.
 * Ranges wholly at or before rcv_nxt are discarded. */
uint32_t tcp_reass_take(struct tcp_reass *a, uint32_t rcv_nxt);

/* Bytes held beyond rcv_nxt (the sum of the ranges). */
uint32_t tcp_reass_bytes(const struct tcp_reass *a);

/* Up to max SACK blocks (RFC 2018 §4): the range that the most recent add
 * touched first, then the others in ascending order. Returns the count. */
int tcp_reass_sack_blocks(const struct tcp_reass *a, struct tcp_reass_range *out, int max);

#endif
