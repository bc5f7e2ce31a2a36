/* impair.c — the seeded impairment layer: per-port decisions about loss,
 * duplication, reordering, delay, jitter, corruption and rate limiting. */
#include "sim/impair.h"

#include <string.h>

#include "wire/wire.h"

__extension__ typedef unsigned __int128 u128;

/* One byte at rate r bit/s takes 8e9 / r ns: the limiter counts time in
 * units of 1/r ns, so a byte is exactly this many units at any rate. */
#define UNITS_PER_BYTE 8000000000ull

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static bool chance(struct rng *r, double p)
{
	/* No draw for a disabled impairment, so turning one on or off leaves
	 * the sequence of the others unchanged as long as it stays off. */
	return p > 0 && rng_double(r) < p;
}

void impair_init(struct impair_state *st, uint64_t seed, int port)
{
	memset(st, 0, sizeof(*st));
	rng_seed(&st->rng, mix64(seed) ^ mix64((uint64_t)(unsigned)port + 0x9e3779b97f4a7c15ull));
}

void impair_set(struct impair_state *st, const struct ustcp_impair *cfg)
{
	uint64_t old_rate = st->cfg.rate_bps, new_rate = cfg->rate_bps;

	/* Keep the queue that is already waiting: re-express its end in the
	 * units of the new rate (rounded up to a whole ns). */
	if (old_rate != new_rate) {
		if (old_rate && new_rate)
			st->busy_until = (st->busy_until + old_rate - 1) / old_rate * new_rate;
		else
			st->busy_until = 0;
	}
	st->cfg = *cfg;
}

int impair_decide(struct impair_state *st, uint64_t now, size_t len, struct impair_delivery out[2])
{
	const struct ustcp_impair *c = &st->cfg;
	uint64_t sent = now; /* when the frame's last bit has left */

	st->stats.frames++;
	if (c->rate_bps) {
		u128 rate = c->rate_bps;
		u128 now_u = (u128)now * rate;
		bool busy = st->busy_until > now_u;

		if (busy && c->queue_bytes) {
			/* A byte partly sent still occupies the queue. */
			u128 unsent =
				(st->busy_until - now_u + UNITS_PER_BYTE - 1) / UNITS_PER_BYTE;
			if (unsent + len > c->queue_bytes) {
				st->stats.queue_drops++;
				return 0;
			}
		}
		st->busy_until = (busy ? st->busy_until : now_u) + (u128)len * UNITS_PER_BYTE;
		u128 t = (st->busy_until + rate - 1) / rate;
		sent = t > UINT64_MAX ? UINT64_MAX : (uint64_t)t;
	}
	if (chance(&st->rng, c->loss)) {
		st->stats.lost++;
		return 0;
	}
	int n = 1;
	if (chance(&st->rng, c->duplicate)) {
		st->stats.duplicated++;
		n = 2;
	}
	for (int i = 0; i < n; i++) {
		struct impair_delivery *d = &out[i];
		uint64_t t = sat_add(sent, c->delay);

		if (c->jitter == UINT64_MAX)
			t = sat_add(t, rng_next(&st->rng));
		else if (c->jitter)
			t = sat_add(t, rng_below(&st->rng, c->jitter + 1));
		d->reordered = chance(&st->rng, c->reorder);
		if (d->reordered) {
			st->stats.reordered++;
			t = sat_add(t, c->reorder_delay);
		}
		d->corrupt = false;
		d->flip_bit = 0;
		/* Only past the Ethernet header: a flipped MAC or EtherType would
		 * just misdeliver the frame, while a flip in IP or TCP exercises
		 * the checksums. */
		if (len > ETH_HLEN && chance(&st->rng, c->corrupt)) {
			st->stats.corrupted++;
			d->corrupt = true;
			uint64_t bits = (uint64_t)(len - ETH_HLEN) * 8;
			d->flip_bit = ETH_HLEN * 8 + (size_t)rng_below(&st->rng, bits);
		}
		d->time = t;
	}
	return n;
}

void impair_apply(const struct impair_delivery *d, uint8_t *frame, size_t len)
{
	if (d->corrupt && d->flip_bit / 8 < len)
		frame[d->flip_bit / 8] ^= (uint8_t)(1u << (d->flip_bit % 8));
}
