/* test_seq_ring.c — sequence arithmetic modulo 2^32 (RFC 9293 §3.4) and
 * the byte ring that holds send and receive data. */
#include <string.h>

#include "../test_main.h"
#include "core/ring.h"
#include "core/seq.h"

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

/* Out-of-order data goes into the receive ring at its place beyond the
 * bytes held (ring_write_at) and becomes part of the ring only when the gap
 * before it is filled (ring_commit). */
static void ring_write_at_then_commit(void **state)
{
	(void)state;
	struct ring r;
	char out[16] = {0};
	assert_int_equal(ring_init(&r, 16), 0);
	assert_int_equal(ring_write(&r, "abcd", 4), 4);
	/* Bytes 8..10 arrive before 4..7: written, not yet held. */
	ring_write_at(&r, 8, "ijk", 3);
	assert_int_equal(r.len, 4);
	assert_int_equal(ring_space(&r), 12);
	assert_int_equal(ring_read(&r, out, 16), 4);
	assert_memory_equal(out, "abcd", 4);
	/* The gap fills in two pieces, out of order too. */
	ring_write_at(&r, 2, "gh", 2);
	ring_write_at(&r, 0, "ef", 2);
	assert_int_equal(r.len, 0);
	ring_commit(&r, 7);
	assert_int_equal(r.len, 7);
	ring_peek(&r, 0, out, 7);
	assert_memory_equal(out, "efghijk", 7);
	/* An in-order ring_write lands where ring_write_at(len) would. */
	ring_write_at(&r, 9, "n", 1);
	assert_int_equal(ring_write(&r, "lm", 2), 2);
	ring_commit(&r, 1);
	assert_int_equal(ring_read(&r, out, 16), 10);
	assert_memory_equal(out, "efghijklmn", 10);
	ring_free(&r);
}

static void ring_write_at_across_the_buffer_end(void **state)
{
	(void)state;
	struct ring r;
	char out[16] = {0};
	assert_int_equal(ring_init(&r, 16), 0);
	/* Move the head to 10, with two bytes held (buffer slots 10, 11). */
	assert_int_equal(ring_write(&r, "0123456789AB", 12), 12);
	assert_int_equal(ring_read(&r, out, 10), 10);
	assert_int_equal(r.head, 10);
	/* Offsets 5..12 are slots 15, 0..6: this write wraps. */
	ring_write_at(&r, 5, "FGHIJKLM", 8);
	/* Offsets 2..4 are slots 12..14, just before the end. */
	ring_write_at(&r, 2, "CDE", 3);
	ring_commit(&r, 11);
	assert_int_equal(r.len, 13);
	ring_peek(&r, 0, out, 13);
	assert_memory_equal(out, "ABCDEFGHIJKLM", 13);
	/* Up to the last byte of the capacity: offsets 13..15, slots 7..9. */
	ring_write_at(&r, 13, "NOP", 3);
	ring_commit(&r, 3);
	assert_int_equal(ring_space(&r), 0);
	ring_peek(&r, 10, out, 6);
	assert_memory_equal(out, "KLMNOP", 6);
	assert_int_equal(ring_read(&r, out, 16), 16);
	assert_memory_equal(out, "ABCDEFGHIJKLMNOP", 16);
	ring_free(&r);
}

/* When the ring empties, the head stays where it is: data written beyond
 * it with ring_write_at must keep its offset. (If ring_drop moved the head
 * back to 0 on empty, the bytes below would be read from the wrong slots.) */
static void ring_head_keeps_its_place_when_empty(void **state)
{
	(void)state;
	struct ring r;
	char out[8] = {0};
	assert_int_equal(ring_init(&r, 8), 0);
	assert_int_equal(ring_write(&r, "xyz", 3), 3);
	assert_int_equal(ring_read(&r, out, 3), 3);
	assert_int_equal(ring_write(&r, "abcd", 4), 4);
	/* Offset 4 is missing; offsets 5 and 6 arrive (slots 0 and 1). */
	ring_write_at(&r, 5, "fg", 2);
	/* The reader takes everything held: the ring is empty. */
	assert_int_equal(ring_read(&r, out, 8), 4);
	assert_memory_equal(out, "abcd", 4);
	assert_int_equal(r.len, 0);
	assert_int_equal(r.head, 7);
	/* Offset 4 (now 0) fills the gap; the waiting bytes follow it. */
	assert_int_equal(ring_write(&r, "e", 1), 1);
	ring_commit(&r, 2);
	assert_int_equal(ring_read(&r, out, 8), 3);
	assert_memory_equal(out, "efg", 3);
	/* ring_drop to empty keeps the head too. */
	assert_int_equal(ring_write(&r, "hij", 3), 3);
	ring_write_at(&r, 4, "l", 1);
	ring_drop(&r, 3);
	assert_int_equal(r.len, 0);
	assert_int_equal(r.head, (7 + 3 + 3) % 8);
	assert_int_equal(ring_write(&r, "k", 1), 1);
	ring_commit(&r, 1);
	assert_int_equal(ring_read(&r, out, 8), 2);
	assert_memory_equal(out, "kl", 2);
	ring_free(&r);
}

/* The byte at stream position p, as a sender would send it. */
static uint8_t stream_byte(uint32_t p) { return (uint8_t)(p * 7u + (p >> 8) + 3u); }

/* A receive ring fed like TCP feeds it: segments at random offsets in the
 * free space (duplicates and overlaps included), the contiguous prefix
 * committed, random reads; every byte read must be the stream's next. */
static void ring_out_of_order_matches_a_stream(void **state)
{
	(void)state;
	enum { CAP = 37 };
	struct ring r;
	uint8_t have[CAP] = {0}; /* have[i]: offset i from the head written */
	uint8_t seg[CAP], out[CAP];
	uint32_t consumed = 0, x = 99991, commits = 0, wraps = 0;
	assert_int_equal(ring_init(&r, CAP), 0);
	for (int i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		if (x & 0x80000000u) {
			uint32_t room = CAP - r.len;
			if (room == 0)
				continue;
			/* A quarter of the segments are the next in order. */
			uint32_t off = (x >> 4) % 4 ? r.len + (x >> 8) % room : r.len;
			uint32_t n = 1 + (x >> 20) % (CAP - off);
			for (uint32_t j = 0; j < n; j++) {
				seg[j] = stream_byte(consumed + off + j);
				have[off + j] = 1;
			}
			wraps += (r.head + off) % CAP + n > CAP;
			ring_write_at(&r, off, seg, n);
			uint32_t run = 0;
			while (r.len + run < CAP && have[r.len + run])
				run++;
			if (run) {
				ring_commit(&r, run);
				commits++;
			}
		} else {
			uint32_t want = (x >> 16) % 20;
			uint32_t got = ring_read(&r, out, want);
			assert_int_equal(got, want < r.len + got ? want : r.len + got);
			for (uint32_t j = 0; j < got; j++)
				assert_int_equal(out[j], stream_byte(consumed + j));
			consumed += got;
			memmove(have, have + got, CAP - got);
			memset(have + CAP - got, 0, got);
		}
		for (uint32_t j = 0; j < CAP; j++)
			assert_int_equal(have[j], j < r.len || have[j]); /* held => written */
		assert_true(r.len == CAP || !have[r.len]); /* the prefix is committed */
	}
	assert_true(commits > 1000);
	assert_true(wraps > 500);
	assert_true(consumed > 20000);
	ring_free(&r);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(seq_compare_across_wrap),
	cmocka_unit_test(ring_wraps_and_peeks),
	cmocka_unit_test(ring_matches_a_flat_model),
	cmocka_unit_test(ring_write_at_then_commit),
	cmocka_unit_test(ring_write_at_across_the_buffer_end),
	cmocka_unit_test(ring_head_keeps_its_place_when_empty),
	cmocka_unit_test(ring_out_of_order_matches_a_stream),
};

USTCP_TEST_MAIN(tests)
