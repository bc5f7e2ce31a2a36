/* test_rng.c — the seeded RNG: replayable sequences, bounds and ranges. */
#include "../test_main.h"

#include <string.h>

#include "core/rng.h"
#include "core/util.h"

/* xoshiro256** seeded through SplitMix64, computed independently of rng.c:
 * simulations replay only while these stay the same. */
static void test_rng_known_sequence(void **state)
{
	(void)state;
	static const struct {
		uint64_t seed;
		uint64_t out[4];
	} vec[] = {
		{0,
		 {0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull, 0x1a5f849d4933e6e0ull,
		  0x6aa594f1262d2d2cull}},
		{1,
		 {0xb3f2af6d0fc710c5ull, 0x853b559647364ceaull, 0x92f89756082a4514ull,
		  0x642e1c7bc266a3a7ull}},
		{0xdeadbeef,
		 {0xc5555444a74d7e83ull, 0x65c30d37b4b16e38ull, 0x54f773200a4efa23ull,
		  0x429aed75fb958af7ull}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
		struct rng r;
		rng_seed(&r, vec[i].seed);
		for (size_t j = 0; j < 4; j++)
			assert_int_equal(rng_next(&r), vec[i].out[j]);
	}
}

static void test_rng_same_seed_same_sequence(void **state)
{
	(void)state;
	struct rng a, b;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(rng_next(&a), rng_next(&b));

	/* Every kind of draw replays, not only rng_next. */
	rng_seed(&a, 7);
	rng_seed(&b, 7);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(rng_below(&a, 1000), rng_below(&b, 1000));
		assert_true(rng_double(&a) == rng_double(&b));
		uint8_t x[13], y[13];
		rng_bytes(&a, x, sizeof(x));
		rng_bytes(&b, y, sizeof(y));
		assert_memory_equal(x, y, sizeof(x));
	}
}

static void test_rng_different_seeds_differ(void **state)
{
	(void)state;
	static const uint64_t seeds[] = {0, 1, 2, 3, 0xffffffffffffffffull, 1ull << 63};
	uint64_t first[ARRAY_SIZE(seeds)][8];

	for (size_t i = 0; i < ARRAY_SIZE(seeds); i++) {
		struct rng r;
		rng_seed(&r, seeds[i]);
		for (size_t j = 0; j < 8; j++)
			first[i][j] = rng_next(&r);
	}
	for (size_t i = 0; i < ARRAY_SIZE(seeds); i++)
		for (size_t j = i + 1; j < ARRAY_SIZE(seeds); j++)
			assert_memory_not_equal(first[i], first[j], sizeof(first[i]));
}

static void test_rng_below_bounds(void **state)
{
	(void)state;
	static const uint64_t bounds[] = {
		1, 2, 3, 7, 10, 1000, 65536, (1ull << 32) + 1, (1ull << 63) + 1, UINT64_MAX};
	struct rng r;
	rng_seed(&r, 99);
	for (size_t i = 0; i < ARRAY_SIZE(bounds); i++)
		for (int j = 0; j < 5000; j++)
			assert_true(rng_below(&r, bounds[i]) < bounds[i]);

	/* Small bounds reach every value, roughly evenly. */
	unsigned hits[10] = {0};
	for (int j = 0; j < 100000; j++)
		hits[rng_below(&r, 10)]++;
	for (size_t v = 0; v < 10; v++) {
		assert_true(hits[v] > 9000);
		assert_true(hits[v] < 11000);
	}
}

static void test_rng_double_range(void **state)
{
	(void)state;
	struct rng r;
	double sum = 0, lo = 1, hi = 0;
	rng_seed(&r, 2024);
	for (int i = 0; i < 100000; i++) {
		double d = rng_double(&r);
		assert_true(d >= 0.0);
		assert_true(d < 1.0);
		sum += d;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(sum / 100000 > 0.49 && sum / 100000 < 0.51);
	assert_true(lo < 0.001);
	assert_true(hi > 0.999);
}

static void test_rng_bytes_lengths(void **state)
{
	(void)state;
	struct rng a, b;
	uint8_t buf[32];

	/* rng_bytes draws whole words: 8 bytes are one rng_next, as it lies in memory. */
	rng_seed(&a, 5);
	rng_seed(&b, 5);
	rng_bytes(&a, buf, 8);
	uint64_t x = rng_next(&b);
	assert_memory_equal(buf, &x, 8);

	/* A short tail writes only what was asked. */
	for (size_t len = 0; len < 20; len++) {
		memset(buf, 0xa5, sizeof(buf));
		rng_bytes(&a, buf, len);
		for (size_t i = len; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0xa5);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_rng_known_sequence),
	cmocka_unit_test(test_rng_same_seed_same_sequence),
	cmocka_unit_test(test_rng_different_seeds_differ),
	cmocka_unit_test(test_rng_below_bounds),
	cmocka_unit_test(test_rng_double_range),
	cmocka_unit_test(test_rng_bytes_lengths),
};

USTCP_TEST_MAIN(tests)
