/* test_seq_ring.c — sequence arithmetic modulo 2^32 (RFC 9293 §3.4) and
 * the byte ring that holds send and receive data. */
#include <string.h>

#include "../test_main.h"
#include "core/ring.h"
#include "tcp/tcp_seq.h"

static void seq_compare_across_wrap(void **state)
{
	(void)state;
	assert_true(seq_lt(0xfffffff0u, 0x10u));
	assert_true(seq_gt(0x10u, 0xfffffff0u));
	assert_true(seq_leq(5, 5));
	assert_true(seq_geq(5, 5));
	assert_false(seq_lt(5, 5));
	assert_true(seq_lt(0x7ffffffeu, 0x7fffffffu));
	assert_true(seq_in(0xffffffffu, 0xfffffff0u, 0x20u));
	assert_true(seq_in(0x1fu, 0xfffffff0u, 0x20u));
	assert_false(seq_in(0x20u, 0xfffffff0u, 0x20u));
	assert_false(seq_in(0xffffffefu, 0xfffffff0u, 0x20u));
	assert_int_equal(seq_max(0xfffffff0u, 3), 3);
	assert_int_equal(seq_min(0xfffffff0u, 3), 0xfffffff0u);
}

static void ring_wraps_and_peeks(void **state)
{
	(void)state;
	struct ring r;
	assert_int_equal(ring_init(&r, 8), 0);
	assert_int_equal(ring_write(&r, "abcdef", 6), 6);
	char out[16] = {0};
	assert_int_equal(ring_read(&r, out, 4), 4);
	assert_memory_equal(out, "abcd", 4);
	/* Wraps: 2 left + 6 more = 8 = full; the ninth byte does not fit. */
	assert_int_equal(ring_write(&r, "ghijklm", 7), 6);
	assert_int_equal(ring_space(&r), 0);
	ring_peek(&r, 1, out, 6);
	assert_memory_equal(out, "fghijk", 6);
	ring_drop(&r, 3);
	assert_int_equal(r.len, 5);
	assert_int_equal(ring_read(&r, out, 16), 5);
	assert_memory_equal(out, "hijkl", 5);
	assert_int_equal(r.len, 0);
	assert_int_equal(ring_read(&r, out, 1), 0);
	ring_free(&r);
}

static void ring_matches_a_flat_model(void **state)
{
	(void)state;
	struct ring r;
	uint8_t model[64], tmp[64];
	size_t mlen = 0;
	uint32_t x = 12345;
	assert_int_equal(ring_init(&r, 37), 0);
	for (int i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		uint32_t n = (x >> 16) % 20;
		if (x & 0x80000000u) {
			uint8_t src[20];
			for (uint32_t j = 0; j < n; j++)
				src[j] = (uint8_t)(i + j);
			uint32_t w = ring_write(&r, src, n);
			assert_int_equal(w, n < 37 - mlen ? n : 37 - mlen);
			memcpy(model + mlen, src, w);
			mlen += w;
		} else {
			uint32_t got = ring_read(&r, tmp, n);
			assert_int_equal(got, n < mlen ? n : mlen);
			assert_memory_equal(tmp, model, got);
			memmove(model, model + got, mlen - got);
			mlen -= got;
		}
		assert_int_equal(r.len, mlen);
	}
	ring_free(&r);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(seq_compare_across_wrap),
	cmocka_unit_test(ring_wraps_and_peeks),
	cmocka_unit_test(ring_matches_a_flat_model),
};

USTCP_TEST_MAIN(tests)
