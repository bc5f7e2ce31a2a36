/* impair.h — the seeded impairment layer: loss, duplication, reordering,
 * delay and jitter, corruption, and a rate limit with a drop-tail queue.
 *
 * It only decides: given the time a frame is sent and its length, it says
 * whether the frame is dropped, or when each of its one or two copies
 * arrives and which bit (if any) to flip in it. The link driver (the
 * simulated hub, or a TAP driver) delivers the copies itself. Each port
 * has its own state and RNG, so the same seed gives the same decisions. */
#ifndef USTCP_IMPAIR_H
#define USTCP_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "ustcp/sim.h"

struct impair_state {
	struct ustcp_impair cfg;
	struct rng rng;
	struct ustcp_impair_stats stats;
	/* When the rate limiter finishes sending everything queued so far,
	 * in units of 1/rate_bps ns (so one byte is exactly 8e9 units and
	 * queue sizes come out exact). Meaningful only while rate_bps > 0. */
	__extension__ unsigned __int128 busy_until;
};

struct impair_delivery {
	uint64_t time;   /* ns: when this copy reaches the receivers */
	bool corrupt;    /* flip bit `flip_bit` of the frame */
	size_t flip_bit; /* bit index from the frame start, >= ETH_HLEN * 8 */
	bool reordered;  /* held back by reorder_delay */
};

/* Seeds the RNG from the link seed and the port number, zeroes the stats,
 * and starts with no impairment at all. */
void impair_init(struct impair_state *st, uint64_t seed, int port);
/* Changes the impairments; the RNG, stats and the queue already in the
 * rate limiter carry on. */
void impair_set(struct impair_state *st, const struct ustcp_impair *cfg);

/* Decides the fate of one frame of `len` bytes sent at `now`. Returns the
 * number of deliveries written to out (0 = dropped, 1, or 2 = duplicated),
 * in no particular time order. The rate limiter serializes frames in the
 * order they are offered: a frame waits for the ones before it, then takes
 * len * 8 / rate_bps to send, and arrives `delay` (+ jitter, + reorder_delay)
 * after its last bit left. An idle limiter always takes a frame; a busy one
 * drops it when the bytes still unsent, this frame included, would exceed
 * queue_bytes. Loss happens on the wire, after the frame used the link. */
int impair_decide(struct impair_state *st, uint64_t now, size_t len, struct impair_delivery out[2]);

/* Applies a delivery's corruption to its copy of the frame. */
void impair_apply(const struct impair_delivery *d, uint8_t *frame, size_t len);

#endif
