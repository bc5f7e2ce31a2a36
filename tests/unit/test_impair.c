/* test_impair.c — the seeded impairment layer on its own: determinism,
 * loss rate, duplication, jitter bounds, rate limit and queue, corruption,
 * and its statistics. */
#include <string.h>

#include "../test_main.h"
#include "sim/impair.h"

#define NS_PER_MS 1000000ull

static struct impair_state make(uint64_t seed, const struct ustcp_impair *cfg)
{
	struct impair_state st;

	impair_init(&st, seed, 0);
	impair_set(&st, cfg);
	return st;
}

static void same_seed_same_decisions(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.loss = 0.1,
				   .duplicate = 0.05,
				   .reorder = 0.1,
				   .reorder_delay = 3 * NS_PER_MS,
				   .corrupt = 0.05,
				   .delay = 10 * NS_PER_MS,
				   .jitter = 2 * NS_PER_MS,
				   .rate_bps = 100000000,
				   .queue_bytes = 64000};
	struct impair_state a = make(42, &cfg), b = make(42, &cfg), c = make(43, &cfg);
	int differ = 0;

	for (int i = 0; i < 10000; i++) {
		struct impair_delivery da[2], db[2], dc[2];
		uint64_t now = (uint64_t)i * 50000;
		size_t len = 60 + (size_t)(i * 37) % 1454;
		int na = impair_decide(&a, now, len, da);
		int nb = impair_decide(&b, now, len, db);
		int nc = impair_decide(&c, now, len, dc);
		assert_int_equal(na, nb);
		for (int k = 0; k < na; k++) {
			assert_int_equal(da[k].time, db[k].time);
			assert_int_equal(da[k].corrupt, db[k].corrupt);
			assert_int_equal(da[k].flip_bit, db[k].flip_bit);
			assert_int_equal(da[k].reordered, db[k].reordered);
		}
		if (na != nc || (na > 0 && da[0].time != dc[0].time))
			differ++;
	}
	assert_memory_equal(&a.stats, &b.stats, sizeof(a.stats));
	assert_true(differ > 100); /* another seed is another run */
}

static void ports_get_different_streams(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.loss = 0.5};
	struct impair_state a, b;
	int differ = 0;

	impair_init(&a, 7, 0);
	impair_init(&b, 7, 1);
	impair_set(&a, &cfg);
	impair_set(&b, &cfg);
	for (int i = 0; i < 1000; i++) {
		struct impair_delivery d[2];
		differ += impair_decide(&a, 0, 100, d) != impair_decide(&b, 0, 100, d);
	}
	assert_true(differ > 100);
}

static void loss_rate_within_bound(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.loss = 0.2, .delay = 1000};
	struct impair_state st = make(1234, &cfg);
	uint64_t delivered = 0;

	for (int i = 0; i < 100000; i++) {
		struct impair_delivery d[2];
		int n = impair_decide(&st, (uint64_t)i * 1000, 100, d);
		assert_true(n == 0 || n == 1);
		delivered += (uint64_t)n;
	}
	assert_int_equal(st.stats.frames, 100000);
	assert_int_equal(st.stats.lost + delivered, 100000);
	/* 20000 expected, sd ~126: +-1% of the frames is ~8 sd. */
	assert_in_range(st.stats.lost, 19000, 21000);
}

static void duplicate_gives_two_deliveries(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.duplicate = 1.0, .delay = 5000};
	struct impair_state st = make(9, &cfg);

	for (int i = 0; i < 100; i++) {
		struct impair_delivery d[2];
		assert_int_equal(impair_decide(&st, 1000, 80, d), 2);
		assert_int_equal(d[0].time, 6000);
		assert_int_equal(d[1].time, 6000);
		assert_false(d[0].corrupt);
		assert_false(d[1].corrupt);
	}
	assert_int_equal(st.stats.duplicated, 100);
	assert_int_equal(st.stats.frames, 100);

	/* At 30% about 30% of the frames come twice. */
	cfg.duplicate = 0.3;
	st = make(10, &cfg);
	int two = 0;
	for (int i = 0; i < 10000; i++) {
		struct impair_delivery d[2];
		two += impair_decide(&st, 0, 80, d) == 2;
	}
	assert_int_equal(st.stats.duplicated, two);
	assert_in_range(two, 2800, 3200);
}

static void jitter_stays_in_bounds(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.delay = 5000, .jitter = 1000, .duplicate = 0.5};
	struct impair_state st = make(77, &cfg);
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < 20000; i++) {
		struct impair_delivery d[2];
		uint64_t now = (uint64_t)i * 10;
		int n = impair_decide(&st, now, 100, d);
		for (int k = 0; k < n; k++) {
			uint64_t extra = d[k].time - now;
			assert_in_range(extra, 5000, 6000);
			lo = extra < lo ? extra : lo;
			hi = extra > hi ? extra : hi;
		}
	}
	/* Both ends of [0, jitter] are reachable. */
	assert_int_equal(lo, 5000);
	assert_int_equal(hi, 6000);
}

static void reorder_adds_reorder_delay(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.delay = 1000, .reorder = 0.25, .reorder_delay = 50000};
	struct impair_state st = make(5, &cfg);
	uint64_t held = 0;

	for (int i = 0; i < 10000; i++) {
		struct impair_delivery d[2];
		assert_int_equal(impair_decide(&st, 100, 100, d), 1);
		if (d[0].reordered) {
			held++;
			assert_int_equal(d[0].time, 100 + 1000 + 50000);
		} else {
			assert_int_equal(d[0].time, 100 + 1000);
		}
	}
	assert_int_equal(st.stats.reordered, held);
	assert_in_range(held, 2300, 2700);
}

static void rate_limit_spaces_frames(void **state)
{
	(void)state;
	/* 1000 bytes at 8 Mbit/s take exactly 1 ms. */
	struct ustcp_impair cfg = {.delay = 10 * NS_PER_MS, .rate_bps = 8000000};
	struct impair_state st = make(3, &cfg);
	struct impair_delivery d[2];

	for (int i = 0; i < 5; i++) {
		assert_int_equal(impair_decide(&st, 0, 1000, d), 1);
		assert_int_equal(d[0].time, 10 * NS_PER_MS + (uint64_t)(i + 1) * NS_PER_MS);
	}
	/* A frame offered while the queue drains waits for the ones before it. */
	assert_int_equal(impair_decide(&st, 2 * NS_PER_MS, 500, d), 1);
	assert_int_equal(d[0].time, 10 * NS_PER_MS + 5 * NS_PER_MS + NS_PER_MS / 2);
	/* Once the link is idle a frame goes at once. */
	assert_int_equal(impair_decide(&st, 100 * NS_PER_MS, 1000, d), 1);
	assert_int_equal(d[0].time, 100 * NS_PER_MS + NS_PER_MS + 10 * NS_PER_MS);
	/* A rate that does not divide evenly: 100 bytes at 3 Mbit/s take
	 * 266666.67 ns; each arrival rounds up, and no error accumulates. */
	cfg.rate_bps = 3000000;
	cfg.delay = 0;
	st = make(3, &cfg);
	impair_decide(&st, 0, 100, d);
	assert_int_equal(d[0].time, 266667);
	impair_decide(&st, 0, 100, d);
	assert_int_equal(d[0].time, 533334);
	impair_decide(&st, 0, 100, d);
	assert_int_equal(d[0].time, 800000);
	assert_int_equal(st.stats.queue_drops, 0);
}

static void queue_overflow_drops_tail(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.rate_bps = 8000000, .queue_bytes = 3000};
	struct impair_state st = make(3, &cfg);
	struct impair_delivery d[2];

	/* The queue holds the unsent bytes, the frame being sent included. */
	assert_int_equal(impair_decide(&st, 0, 1000, d), 1);
	assert_int_equal(impair_decide(&st, 0, 1000, d), 1);
	assert_int_equal(impair_decide(&st, 0, 1000, d), 1);
	assert_int_equal(d[0].time, 3 * NS_PER_MS);
	for (int i = 0; i < 10; i++)
		assert_int_equal(impair_decide(&st, 0, 1000, d), 0);
	assert_int_equal(st.stats.queue_drops, 10);
	/* Half a frame has left: 2500 bytes wait, room for a 500-byte frame only. */
	assert_int_equal(impair_decide(&st, NS_PER_MS / 2, 501, d), 0);
	assert_int_equal(impair_decide(&st, NS_PER_MS / 2, 500, d), 1);
	assert_int_equal(d[0].time, 3 * NS_PER_MS + NS_PER_MS / 2);
	assert_int_equal(st.stats.queue_drops, 11);
	assert_int_equal(st.stats.frames, 15);
	/* An idle link always takes a frame, even one larger than the queue. */
	assert_int_equal(impair_decide(&st, 10 * NS_PER_MS, 5000, d), 1);
	assert_int_equal(d[0].time, 15 * NS_PER_MS);
}

static void corruption_flips_one_bit_past_ethernet(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.corrupt = 1.0};
	struct impair_state st = make(11, &cfg);
	uint8_t orig[100], buf[100];
	bool seen_first = false, seen_last = false;

	for (size_t i = 0; i < sizeof(orig); i++)
		orig[i] = (uint8_t)(i * 7 + 3);
	for (int n = 0; n < 20000; n++) {
		struct impair_delivery d[2];
		assert_int_equal(impair_decide(&st, 0, sizeof(buf), d), 1);
		assert_true(d[0].corrupt);
		memcpy(buf, orig, sizeof(buf));
		impair_apply(&d[0], buf, sizeof(buf));
		int bits = 0;
		for (size_t i = 0; i < sizeof(buf); i++) {
			uint8_t x = buf[i] ^ orig[i];
			if (x)
				assert_true(i >= 14);
			for (; x; x &= (uint8_t)(x - 1))
				bits++;
		}
		assert_int_equal(bits, 1);
		seen_first |= d[0].flip_bit == 14 * 8;
		seen_last |= d[0].flip_bit == sizeof(buf) * 8 - 1;
	}
	assert_true(seen_first);
	assert_true(seen_last);
	assert_int_equal(st.stats.corrupted, 20000);

	/* A frame with nothing past the Ethernet header is left alone. */
	struct impair_delivery d[2];
	assert_int_equal(impair_decide(&st, 0, 14, d), 1);
	assert_false(d[0].corrupt);
	memcpy(buf, orig, 14);
	impair_apply(&d[0], buf, 14);
	assert_memory_equal(buf, orig, 14);
}

static void no_impairment_is_exact_delay(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.delay = 123456};
	struct impair_state st = make(1, &cfg);
	struct impair_state fresh;

	for (uint64_t now = 0; now < 1000000; now += 999) {
		struct impair_delivery d[2];
		assert_int_equal(impair_decide(&st, now, 1514, d), 1);
		assert_int_equal(d[0].time, now + 123456);
		assert_false(d[0].corrupt);
		assert_false(d[0].reordered);
	}
	/* Nothing random was needed. */
	impair_init(&fresh, 1, 0);
	assert_memory_equal(&st.rng, &fresh.rng, sizeof(fresh.rng));

	/* A fresh state does nothing at all: not even delay. */
	struct impair_delivery d[2];
	assert_int_equal(impair_decide(&fresh, 77, 60, d), 1);
	assert_int_equal(d[0].time, 77);
}

static void stats_count_correctly(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.loss = 0.1,
				   .duplicate = 0.1,
				   .reorder = 0.1,
				   .reorder_delay = 1000,
				   .corrupt = 0.1,
				   .delay = 100,
				   .rate_bps = 1000000000,
				   .queue_bytes = 20000};
	struct impair_state st = make(99, &cfg);
	uint64_t deliveries = 0, dup = 0, corrupted = 0, reordered = 0, zero = 0;

	for (int i = 0; i < 50000; i++) {
		struct impair_delivery d[2];
		/* Bursts faster than the rate fill the queue now and then. */
		int n = impair_decide(&st, (uint64_t)i * 1000, 200 + (size_t)(i % 7) * 100, d);
		deliveries += (uint64_t)n;
		zero += n == 0;
		dup += n == 2;
		for (int k = 0; k < n; k++) {
			corrupted += d[k].corrupt;
			reordered += d[k].reordered;
		}
	}
	assert_int_equal(st.stats.frames, 50000);
	assert_int_equal(st.stats.lost + st.stats.queue_drops, zero);
	assert_int_equal(st.stats.duplicated, dup);
	assert_int_equal(st.stats.corrupted, corrupted);
	assert_int_equal(st.stats.reordered, reordered);
	assert_int_equal(deliveries, 50000 - zero + dup);
	assert_true(st.stats.queue_drops > 0);
	assert_true(st.stats.lost > 0);
	assert_int_equal(st.stats.filtered, 0);
}

static void rate_change_keeps_queue(void **state)
{
	(void)state;
	struct ustcp_impair cfg = {.rate_bps = 8000000};
	struct impair_state st = make(3, &cfg);
	struct impair_delivery d[2];

	impair_decide(&st, 0, 1000, d); /* busy until 1 ms */
	cfg.rate_bps = 16000000;
	impair_set(&st, &cfg);
	/* The new frame starts when the old one is done, at the new rate. */
	assert_int_equal(impair_decide(&st, 0, 1000, d), 1);
	assert_int_equal(d[0].time, NS_PER_MS + NS_PER_MS / 2);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(same_seed_same_decisions),
	cmocka_unit_test(ports_get_different_streams),
	cmocka_unit_test(loss_rate_within_bound),
	cmocka_unit_test(duplicate_gives_two_deliveries),
	cmocka_unit_test(jitter_stays_in_bounds),
	cmocka_unit_test(reorder_adds_reorder_delay),
	cmocka_unit_test(rate_limit_spaces_frames),
	cmocka_unit_test(queue_overflow_drops_tail),
	cmocka_unit_test(corruption_flips_one_bit_past_ethernet),
	cmocka_unit_test(no_impairment_is_exact_delay),
	cmocka_unit_test(stats_count_correctly),
	cmocka_unit_test(rate_change_keeps_queue),
};

USTCP_TEST_MAIN(tests)
