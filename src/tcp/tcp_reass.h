/* tcp_reass.h — the receiver's out-of-order queue: which byte ranges
 * beyond RCV.NXT have arrived, and the SACK blocks that report them
 * (internal to tcp/).
 *
 * The bytes themselves sit in the receive ring at their place (see
 * ring_write_at); the queue only remembers which ranges are filled, in a
 * seqset based at RCV.NXT (core/seqset.h), whose room bounds the number of
 * holes: a segment that would need one range more is refused (the sender
 * retransmits it later). Overlapping and duplicate segments merge into the
 * ranges they touch.
 *
 * For SACK it keeps, as Linux's selective_acks do, the ranges most recently
 * reported first, newest first (RFC 2018 §4): each arriving segment puts the
 * range that holds it at the front, a merge replaces the ranges it joined,
 * and RCV.NXT passing a range removes it. The part of a segment that was
 * already held is remembered as a duplicate to report (RFC 2883). */
#ifndef USTCP_TCP_REASS_H
#define USTCP_TCP_REASS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/seqset.h"
#include "wire/wire.h"

#define TCP_REASS_MIN 32 /* ranges a queue (or scoreboard) has room for at least */

struct tcp_reass {
	struct seqset held;                       /* ranges beyond rcv_nxt */
	struct seqset_range recent[TCP_MAX_SACK]; /* held ranges, newest first */
	uint8_t n_recent;
	bool dup; /* dup_range is a duplicate not yet reported */
	struct seqset_range dup_range;
};

void tcp_reass_init(struct tcp_reass *a);
/* Room for up to cap ranges (a big window can have many holes). Returns 0
 * or -ENOMEM (the old room stays). */
static inline int tcp_reass_grow(struct tcp_reass *a, uint32_t cap)
{
	return seqset_grow(&a->held, cap);
}
static inline void tcp_reass_free(struct tcp_reass *a)
{
	seqset_free(&a->held);
	tcp_reass_init(a);
}
static inline bool tcp_reass_empty(const struct tcp_reass *a) { return seqset_empty(&a->held); }
/* Bytes held beyond rcv_nxt. */
static inline uint32_t tcp_reass_bytes(const struct tcp_reass *a) { return seqset_bytes(&a->held); }

/* Record [seq, seq+len), which must lie after rcv_nxt (seq_gt(seq, rcv_nxt)
 * and len > 0). Returns 0, or -ENOSPC when it would need a range beyond the
 * room (nothing is recorded then). */
int tcp_reass_add(struct tcp_reass *a, uint32_t rcv_nxt, uint32_t seq, uint32_t len);

/* rcv_nxt has advanced to this value (in-order data arrived): if the first
 * range now starts at or before it, remove that range and return how many
 * bytes past rcv_nxt it covers (those bytes are now in order); else 0.
 * Ranges wholly at or before rcv_nxt are discarded. */
uint32_t tcp_reass_take(struct tcp_reass *a, uint32_t rcv_nxt);

/* The part of the last segment added that was already held, until it is
 * reported (RFC 2883 §4: each duplicate in one D-SACK block); else NULL. */
static inline const struct seqset_range *tcp_reass_dup(const struct tcp_reass *a)
{
	return a->dup ? &a->dup_range : NULL;
}
static inline void tcp_reass_dup_reported(struct tcp_reass *a) { a->dup = false; }

/* Up to max SACK blocks (RFC 2018 §4): the range holding the latest
 * segment, then the others most recently reported first; should those be
 * fewer than max, other held ranges from the lowest. Returns the count. */
int tcp_reass_sack_blocks(const struct tcp_reass *a, struct seqset_range *out, int max);

#endif
