/* tcp_reass.h — the receiver's out-of-order queue: which byte ranges
 * beyond RCV.NXT have arrived, and the SACK blocks that report them
 * (internal to tcp/).
 *
 * The bytes themselves sit in the receive ring at their place (see
 * ring_write_at); the queue only remembers which ranges are filled, in a
 * seqset based at RCV.NXT (core/seqset.h), whose room bounds the number of
 * holes: a segment that would need one range more is refused (the sender
 * retransmits it later). Overlapping and duplicate segments merge into the
 * ranges they touch. */
#ifndef USTCP_TCP_REASS_H
#define USTCP_TCP_REASS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/seqset.h"

#define TCP_REASS_MAX SEQSET_INLINE /* ranges held without an allocation */

struct tcp_reass {
	struct seqset held; /* ranges beyond rcv_nxt */
	uint32_t recent;    /* start of the range the last add touched */
};

static inline void tcp_reass_init(struct tcp_reass *a) { seqset_init(&a->held); }
/* Room for up to cap ranges (a big window can have many holes). Returns 0
 * or -ENOMEM (the old room stays). */
static inline int tcp_reass_grow(struct tcp_reass *a, uint32_t cap)
{
	return seqset_grow(&a->held, cap);
}
static inline void tcp_reass_free(struct tcp_reass *a) { seqset_free(&a->held); }
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
static inline uint32_t tcp_reass_take(struct tcp_reass *a, uint32_t rcv_nxt)
{
	return seqset_take(&a->held, rcv_nxt);
}

/* Up to max SACK blocks (RFC 2018 §4): the range that the most recent add
 * touched first, then the others in ascending order. Returns the count. */
int tcp_reass_sack_blocks(const struct tcp_reass *a, struct seqset_range *out, int max);

#endif
