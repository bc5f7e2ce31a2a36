/* test_reass.c — the receiver's out-of-order queue (tcp_reass): the SACK
 * blocks it gives (RFC 2018 §4) as segments arrive and RCV.NXT advances,
 * modulo 2^32. The ranges themselves are test_seqset.c's. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../test_main.h"
#include "tcp/tcp_reass.h"

static const uint32_t bases[] = {1000u, 0xffffff00u, 0x7fffff80u};
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

/* Freed when it goes out of scope. */
#define QUEUE struct tcp_reass __attribute__((cleanup(tcp_reass_free)))

/* An empty queue with room for TCP_REASS_MIN ranges. */
static void reset(struct tcp_reass *a)
{
	tcp_reass_free(a);
	assert_int_equal(tcp_reass_grow(a, TCP_REASS_MIN), 0);
}

static void add_ok(struct tcp_reass *a, uint32_t base, uint32_t from, uint32_t to)
{
	assert_int_equal(tcp_reass_add(a, base, base + from, to - from), 0);
}

/* TCP_REASS_MIN ranges of 10 bytes, 10 bytes apart, from offset 10. */
static void fill_to_max(struct tcp_reass *a, uint32_t b)
{
	reset(a);
	for (uint32_t i = 0; i < TCP_REASS_MIN; i++)
		add_ok(a, b, 10 + 20 * i, 20 + 20 * i);
}

/* Asserts the SACK blocks are these offset pairs, in this order. */
static void check_sack(const struct tcp_reass *a, uint32_t b, int max, const uint32_t *want, int n)
{
	struct seqset_range out[TCP_REASS_MIN + 1];
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(tcp_reass_sack_blocks(a, out, max), n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(out[i].start - b, want[2 * i]);
		assert_int_equal(out[i].end - b, want[2 * i + 1]);
	}
	/* Nothing written past the count. */
	assert_int_equal(out[n].start, 0xa5a5a5a5u);
}
#define SACK(a, b, max, ...)                                                                     \
	do {                                                                                     \
		const uint32_t want_[] = {__VA_ARGS__};                                          \
		check_sack((a), (b), (max), want_, (int)(sizeof(want_) / sizeof(want_[0])) / 2); \
	} while (0)

static void reass_sack_blocks_most_recent_first(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		QUEUE a = {0};
		struct seqset_range out[4];
		reset(&a);
		assert_int_equal(tcp_reass_sack_blocks(&a, out, 4), 0);

		add_ok(&a, b, 500, 600);
		SACK(&a, b, 4, 500, 600);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 300, 400);
		/* RFC 2018 §4: the block holding the segment that triggered the
		 * ACK first, then the others, most recently reported first. */
		SACK(&a, b, 4, 300, 400, 100, 200, 500, 600);
		SACK(&a, b, 2, 300, 400, 100, 200);
		SACK(&a, b, 1, 300, 400);
		assert_int_equal(tcp_reass_sack_blocks(&a, out, 0), 0);

		/* A merge: the merged range replaces the two, at the front. */
		add_ok(&a, b, 150, 250);
		SACK(&a, b, 4, 100, 250, 300, 400, 500, 600);
		/* A merge of three ranges into one. */
		add_ok(&a, b, 700, 800);
		add_ok(&a, b, 250, 500);
		SACK(&a, b, 4, 100, 600, 700, 800);
		/* It held 300..400 already: the part reported as a duplicate. */
		assert_int_equal(tcp_reass_dup(&a)->start - b, 300);
		assert_int_equal(tcp_reass_dup(&a)->end - b, 400);
		tcp_reass_dup_reported(&a);
		/* A duplicate counts as touching its range, and is reported. */
		add_ok(&a, b, 750, 760);
		SACK(&a, b, 4, 700, 800, 100, 600);
		assert_non_null(tcp_reass_dup(&a));
		assert_int_equal(tcp_reass_dup(&a)->start - b, 750);
		assert_int_equal(tcp_reass_dup(&a)->end - b, 760);
		tcp_reass_dup_reported(&a);
		assert_null(tcp_reass_dup(&a));
		/* Half held, half new: the held half is the duplicate. */
		add_ok(&a, b, 780, 820);
		assert_int_equal(tcp_reass_dup(&a)->start - b, 780);
		assert_int_equal(tcp_reass_dup(&a)->end - b, 800);
		add_ok(&a, b, 900, 910);
		assert_null(tcp_reass_dup(&a));

		/* More ranges than the history holds: the newest four; a range
		 * arriving again goes back to the front. */
		reset(&a);
		add_ok(&a, b, 100, 110);
		add_ok(&a, b, 200, 210);
		add_ok(&a, b, 300, 310);
		add_ok(&a, b, 400, 410);
		add_ok(&a, b, 500, 510);
		SACK(&a, b, 4, 500, 510, 400, 410, 300, 310, 200, 210);
		add_ok(&a, b, 100, 105);
		SACK(&a, b, 3, 100, 110, 500, 510, 400, 410);
		add_ok(&a, b, 50, 60);
		SACK(&a, b, 4, 50, 60, 100, 110, 500, 510, 400, 410);

		/* A refused segment leaves the order as it was. */
		QUEUE full = {0};
		fill_to_max(&full, b);
		add_ok(&full, b, 150, 155);
		assert_int_equal(tcp_reass_add(&full, b, b + 5000, 10), -ENOSPC);
		SACK(&full, b, 3, 150, 160, 630, 640, 610, 620);
	}
}

/* RCV.NXT passing ranges removes them from the history; when fewer ranges
 * than fit are left in it, the other held ranges follow from the lowest
 * (RFC 2018 §4: as many distinct blocks as fit). */
static void reass_take_releases_blocks_then_fills_from_the_lowest(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		QUEUE a = {0};
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 300, 400);
		add_ok(&a, b, 500, 600);
		add_ok(&a, b, 700, 800);
		add_ok(&a, b, 900, 1000);
		add_ok(&a, b, 700, 710); /* the segment most recently SACKed */
		SACK(&a, b, 3, 700, 800, 900, 1000, 500, 600);
		/* The hole at b..b+100 fills: rcv_nxt goes to b+200. */
		assert_int_equal(tcp_reass_take(&a, b + 100), 100);
		SACK(&a, b, 4, 700, 800, 900, 1000, 500, 600, 300, 400);
		/* Past 300..400 and 500..600: two of the history go. */
		assert_int_equal(tcp_reass_take(&a, b + 650), 0);
		SACK(&a, b, 3, 700, 800, 900, 1000);
		assert_int_equal(tcp_reass_take(&a, b + 700), 100);
		SACK(&a, b, 3, 900, 1000);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(reass_sack_blocks_most_recent_first),
	cmocka_unit_test(reass_take_releases_blocks_then_fills_from_the_lowest),
};

USTCP_TEST_MAIN(tests)
