/* rng.h — the stack's own seeded random number generator.
 *
 * xoshiro256** seeded from a 64-bit seed through SplitMix64: fast, and the
 * same seed gives the same sequence, so a simulation replays exactly. Keys
 * for keyed hashes (ISN, connection table) are drawn from it too: in the
 * runtime the seed itself comes from getrandom(). */
#ifndef USTCP_RNG_H
#define USTCP_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, bound) (bound > 0), without modulo bias. */
uint64_t rng_below(struct rng *r, uint64_t bound);
/* Uniform double in [0, 1). */
double rng_double(struct rng *r);
void rng_bytes(struct rng *r, void *buf, size_t len);

#endif
