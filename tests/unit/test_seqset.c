/* test_seqset.c — the set of sequence ranges (core/seqset): which ranges
 * beyond a base are held, how they merge, how they leave when the base
 * advances (TCP's RCV.NXT) or is trimmed (SND.UNA), all modulo 2^32. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../test_main.h"
#include "core/seq.h"
#include "core/seqset.h"

/* Every scenario runs at an ordinary RCV.NXT, with its ranges straddling
 * 2^32 (offset 256 from 0xffffff00 is sequence 0), and straddling 2^31,
 * where a signed comparison done wrong would flip. */
static const uint32_t bases[] = {1000u, 0xffffff00u, 0x7fffff80u};
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

#define ROOM 32 /* ranges each set here has room for */
/* Freed when it goes out of scope. */
#define SET struct seqset __attribute__((cleanup(seqset_free)))

/* An empty set with room for ROOM ranges. */
static void reset(struct seqset *a)
{
	seqset_free(a);
	assert_int_equal(seqset_grow(a, ROOM), 0);
}

/* The i-th range in order (it must exist). */
static const struct seqset_range *at(const struct seqset *s, uint32_t i)
{
	const struct seqset_range *r = seqset_first(s);
	while (r && i--)
		r = seqset_next(s, r);
	assert_non_null(r);
	return r;
}

/* Copies the ranges in order into out (room for ROOM + 1). */
static uint32_t snapshot(const struct seqset *s, struct seqset_range *out)
{
	uint32_t n = 0;
	for (const struct seqset_range *r = seqset_first(s); r; r = seqset_next(s, r)) {
		assert_true(n <= ROOM);
		out[n++] = *r;
	}
	return n;
}

/* Asserts the set holds exactly these ranges, given as offsets from
 * base: want[2*i] .. want[2*i+1]. */
static void check_ranges(const struct seqset *a, uint32_t base, const uint32_t *want, int n)
{
	assert_int_equal(seqset_count(a), n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(at(a, i)->start - base, want[2 * i]);
		assert_int_equal(at(a, i)->end - base, want[2 * i + 1]);
	}
}
#define CHECK(a, base, ...)                                                                    \
	do {                                                                                   \
		const uint32_t want_[] = {__VA_ARGS__};                                        \
		check_ranges((a), (base), want_, (int)(sizeof(want_) / sizeof(want_[0])) / 2); \
	} while (0)

/* Adds [base+from, base+to) and asserts it is accepted. */
static void add_ok(struct seqset *a, uint32_t base, uint32_t from, uint32_t to)
{
	assert_int_equal(seqset_add(a, base, base + from, to - from, NULL), 0);
}

static void seqset_in_order_segments_extend_one_range(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};
		reset(&a);
		assert_true(seqset_empty(&a));
		/* A hole at b, then segments arriving in order after it. */
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 200, 300);
		add_ok(&a, b, 300, 310);
		assert_false(seqset_empty(&a));
		CHECK(&a, b, 100, 310);
		assert_int_equal(seqset_bytes(&a), 210);
	}
}

static void seqset_out_of_order_segments_stay_sorted(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};
		reset(&a);
		add_ok(&a, b, 500, 550);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 300, 400);
		add_ok(&a, b, 1, 2); /* the byte right after rcv_nxt */
		CHECK(&a, b, 1, 2, 100, 200, 300, 400, 500, 550);
		assert_int_equal(seqset_bytes(&a), 1 + 100 + 100 + 50);
	}
}

static void seqset_duplicates_change_nothing(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 300, 400);
		add_ok(&a, b, 100, 200); /* exact duplicate */
		add_ok(&a, b, 300, 400);
		add_ok(&a, b, 120, 180); /* inside a range */
		add_ok(&a, b, 100, 101); /* its first byte */
		add_ok(&a, b, 399, 400); /* its last byte */
		CHECK(&a, b, 100, 200, 300, 400);
		assert_int_equal(seqset_bytes(&a), 200);
	}
}

static void seqset_overlaps_on_either_side_merge(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 500, 600);
		add_ok(&a, b, 50, 150); /* overlaps the left edge */
		CHECK(&a, b, 50, 200, 500, 600);
		add_ok(&a, b, 180, 260); /* overlaps the right edge */
		CHECK(&a, b, 50, 260, 500, 600);
		add_ok(&a, b, 40, 270); /* covers the range and more on both sides */
		CHECK(&a, b, 40, 270, 500, 600);
		add_ok(&a, b, 450, 501); /* one byte of overlap on the left */
		add_ok(&a, b, 599, 650); /* one byte of overlap on the right */
		CHECK(&a, b, 40, 270, 450, 650);
		assert_int_equal(seqset_bytes(&a), 230 + 200);
	}
}

static void seqset_segment_covering_several_ranges_merges_them(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 300, 400);
		add_ok(&a, b, 500, 600);
		add_ok(&a, b, 700, 800);
		add_ok(&a, b, 900, 1000);
		/* From inside the second range to inside the fourth. */
		add_ok(&a, b, 350, 750);
		CHECK(&a, b, 100, 200, 300, 800, 900, 1000);
		/* From a hole to a hole, swallowing ranges whole. */
		add_ok(&a, b, 50, 850);
		CHECK(&a, b, 50, 850, 900, 1000);
		/* Everything, past both ends. */
		add_ok(&a, b, 10, 2000);
		CHECK(&a, b, 10, 2000);
		assert_int_equal(seqset_bytes(&a), 1990);

		/* Between two ranges without touching either: a new range. */
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 500, 600);
		add_ok(&a, b, 250, 450);
		CHECK(&a, b, 100, 200, 250, 450, 500, 600);
	}
}

static void seqset_adjacent_ranges_merge(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 200, 300); /* touches the end: one range */
		CHECK(&a, b, 100, 300);
		add_ok(&a, b, 50, 100); /* touches the start */
		CHECK(&a, b, 50, 300);
		add_ok(&a, b, 400, 500);
		CHECK(&a, b, 50, 300, 400, 500);
		add_ok(&a, b, 300, 400); /* exactly fills the hole: touches both */
		CHECK(&a, b, 50, 500);
		/* A one-byte hole, then its byte. */
		add_ok(&a, b, 501, 600);
		CHECK(&a, b, 50, 500, 501, 600);
		add_ok(&a, b, 500, 501);
		CHECK(&a, b, 50, 600);
		assert_int_equal(seqset_bytes(&a), 550);
	}
}

/* ROOM ranges of 10 bytes, 10 bytes apart, from offset 10. */
static void fill_to_max(struct seqset *a, uint32_t b)
{
	reset(a);
	for (uint32_t i = 0; i < ROOM; i++)
		add_ok(a, b, 10 + 20 * i, 20 + 20 * i);
	assert_int_equal(seqset_count(a), ROOM);
}

static void seqset_full_refuses_a_new_range_but_merges(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};
		struct seqset_range before[ROOM + 1], after[ROOM + 1];
		fill_to_max(&a, b);
		uint32_t n_before = snapshot(&a, before);
		/* A disjoint range after the last, before the first, in a hole:
		 * refused, and nothing recorded. */
		assert_int_equal(seqset_add(&a, b, b + 2000, 10, NULL), -ENOSPC);
		assert_int_equal(seqset_add(&a, b, b + 1, 5, NULL), -ENOSPC);
		assert_int_equal(seqset_add(&a, b, b + 22, 5, NULL), -ENOSPC);
		assert_int_equal(snapshot(&a, after), n_before);
		assert_memory_equal(after, before, n_before * sizeof(before[0]));
		assert_int_equal(seqset_bytes(&a), 10 * ROOM);

		/* Segments that overlap or touch a range still go in. */
		add_ok(&a, b, 5, 10);    /* touches the first range's start */
		add_ok(&a, b, 12, 25);   /* overlaps the first, grows it into the hole */
		add_ok(&a, b, 640, 700); /* touches the last range's end */
		add_ok(&a, b, 110, 120); /* duplicate */
		assert_int_equal(seqset_count(&a), ROOM);
		assert_int_equal(at(&a, 0)->start - b, 5);
		assert_int_equal(at(&a, 0)->end - b, 25);
		assert_int_equal(at(&a, ROOM - 1)->end - b, 700);

		/* Filling a hole frees a slot: the new range fits now. */
		add_ok(&a, b, 25, 30);
		assert_int_equal(seqset_count(&a), ROOM - 1);
		add_ok(&a, b, 2000, 2010);
		assert_int_equal(seqset_count(&a), ROOM);
		assert_int_equal(seqset_add(&a, b, b + 3000, 1, NULL), -ENOSPC);
	}
}

static void seqset_take_after_rcv_nxt_advances(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};

		/* No range reached yet: nothing taken, nothing lost. */
		reset(&a);
		add_ok(&a, b, 100, 200);
		assert_int_equal(seqset_take(&a, b), 0);
		assert_int_equal(seqset_take(&a, b + 99), 0);
		CHECK(&a, b, 100, 200);

		/* rcv_nxt reaches the start exactly: the whole range is in order. */
		add_ok(&a, b, 300, 400);
		assert_int_equal(seqset_take(&a, b + 100), 100);
		CHECK(&a, b, 300, 400);

		/* rcv_nxt lands inside the first range: the part past it counts. */
		assert_int_equal(seqset_take(&a, b + 350), 50);
		assert_true(seqset_empty(&a));
		assert_int_equal(seqset_bytes(&a), 0);

		/* Ranges wholly behind rcv_nxt (the in-order segment covered them)
		 * are discarded; the one after stays. */
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 300, 400);
		add_ok(&a, b, 500, 600);
		assert_int_equal(seqset_take(&a, b + 450), 0);
		CHECK(&a, b, 500, 600);

		/* rcv_nxt exactly at a range's end: nothing past it, range gone. */
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 300, 400);
		assert_int_equal(seqset_take(&a, b + 200), 0);
		CHECK(&a, b, 300, 400);

		/* Past several ranges into a later one. */
		reset(&a);
		add_ok(&a, b, 100, 200);
		add_ok(&a, b, 300, 400);
		add_ok(&a, b, 500, 600);
		add_ok(&a, b, 700, 800);
		assert_int_equal(seqset_take(&a, b + 550), 50);
		CHECK(&a, b, 700, 800);
		assert_int_equal(seqset_bytes(&a), 100);

		/* Taking from an empty set. */
		reset(&a);
		assert_int_equal(seqset_take(&a, b + 5), 0);
		assert_true(seqset_empty(&a));
	}
}

static void seqset_bytes_sums_the_ranges(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_BASES; k++) {
		uint32_t b = bases[k];
		SET a = {0};
		reset(&a);
		assert_int_equal(seqset_bytes(&a), 0);
		add_ok(&a, b, 10, 11);
		assert_int_equal(seqset_bytes(&a), 1);
		add_ok(&a, b, 100, 1100);
		assert_int_equal(seqset_bytes(&a), 1001);
		add_ok(&a, b, 1050, 1200); /* 100 new bytes, 50 counted once */
		assert_int_equal(seqset_bytes(&a), 1101);
		add_ok(&a, b, 5, 2000); /* everything */
		assert_int_equal(seqset_bytes(&a), 1995);
		/* A range of more than 64 KiB (window scaling allows it). */
		add_ok(&a, b, 100000, 300000);
		assert_int_equal(seqset_bytes(&a), 1995 + 200000);
		assert_int_equal(seqset_take(&a, b + 5), 1995);
		assert_int_equal(seqset_bytes(&a), 200000);
	}
}

static void seqset_across_sequence_wrap(void **state)
{
	(void)state;
	const uint32_t nxt = 0xffffff00u;
	SET a = {0};
	reset(&a);
	/* One range straddling 2^32, one before it, one after it. */
	assert_int_equal(seqset_add(&a, nxt, 0xfffffff0u, 0x20, NULL), 0);
	assert_int_equal(seqset_add(&a, nxt, 0x20u, 0x10, NULL), 0);
	assert_int_equal(seqset_add(&a, nxt, 0xffffff80u, 0x10, NULL), 0);
	assert_int_equal(seqset_count(&a), 3);
	assert_int_equal(at(&a, 0)->start, 0xffffff80u);
	assert_int_equal(at(&a, 0)->end, 0xffffff90u);
	assert_int_equal(at(&a, 1)->start, 0xfffffff0u);
	assert_int_equal(at(&a, 1)->end, 0x10u);
	assert_int_equal(at(&a, 2)->start, 0x20u);
	assert_int_equal(at(&a, 2)->end, 0x30u);
	assert_int_equal(seqset_bytes(&a), 0x10 + 0x20 + 0x10);

	/* Filling the hole at 0x10 merges across the wrap. */
	assert_int_equal(seqset_add(&a, nxt, 0x10u, 0x10, NULL), 0);
	assert_int_equal(seqset_count(&a), 2);
	assert_int_equal(at(&a, 1)->start, 0xfffffff0u);
	assert_int_equal(at(&a, 1)->end, 0x30u);
	/* A segment ending exactly at 2^32 (its end is sequence 0). */
	assert_int_equal(seqset_add(&a, nxt, 0xffffffe0u, 0x20, NULL), 0);
	assert_int_equal(seqset_count(&a), 2);
	assert_int_equal(at(&a, 1)->start, 0xffffffe0u);

	/* rcv_nxt reaches the first range, then passes 2^32 into the second. */
	assert_int_equal(seqset_take(&a, 0xffffff80u), 0x10);
	assert_int_equal(seqset_take(&a, 0xfffffff8u), 0x38);
	assert_true(seqset_empty(&a));

	/* rcv_nxt just below 2^32 and a range at sequence 0. */
	reset(&a);
	assert_int_equal(seqset_add(&a, 0xffffffffu, 0, 1, NULL), 0);
	assert_int_equal(seqset_take(&a, 0xffffffffu), 0);
	assert_int_equal(seqset_take(&a, 0), 1);
}

/* ---- randomized, against a bitmap of the bytes held past rcv_nxt ---- */

#define MODEL_W 4096u

struct model {
	uint32_t rcv_nxt;
	uint8_t have[MODEL_W]; /* have[i]: byte rcv_nxt + i is held */
};

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static int model_runs(const uint8_t *have, uint32_t runs[][2], int max)
{
	int n = 0;
	for (uint32_t i = 0; i < MODEL_W; i++) {
		if (!have[i] || (i > 0 && have[i - 1]))
			continue;
		uint32_t j = i;
		while (j < MODEL_W && have[j])
			j++;
		if (n < max) {
			runs[n][0] = i;
			runs[n][1] = j;
		}
		n++;
	}
	return n;
}

static void model_check(const struct model *m, const struct seqset *a)
{
	uint32_t runs[ROOM + 1][2];
	int n = model_runs(m->have, runs, ROOM + 1);
	assert_in_range(n, 0, ROOM);
	assert_int_equal(seqset_count(a), n);
	uint32_t bytes = 0;
	for (int i = 0; i < n; i++) {
		assert_int_equal(at(a, i)->start, m->rcv_nxt + runs[i][0]);
		assert_int_equal(at(a, i)->end, m->rcv_nxt + runs[i][1]);
		bytes += runs[i][1] - runs[i][0];
	}
	assert_int_equal(seqset_bytes(a), bytes);
}

/* The counting queries against the bitmap, at a point x (an offset). */
static void model_check_counts(const struct model *m, const struct seqset *a, uint32_t x)
{
	uint32_t before = 0, total = 0;
	for (uint32_t i = 0; i < MODEL_W; i++) {
		before += i < x && m->have[i];
		total += m->have[i];
	}
	assert_int_equal(seqset_bytes_before(a, m->rcv_nxt, m->rcv_nxt + x), before);
	/* The point with x bytes above it, if the set holds more. */
	uint32_t point = 0;
	bool found = seqset_point_below_top(a, x, &point);
	assert_int_equal(found, total > x);
	if (!found)
		return;
	uint32_t above = 0, off = point - m->rcv_nxt;
	for (uint32_t i = off; i < MODEL_W; i++)
		above += m->have[i];
	assert_int_equal(above, x);
	assert_true(off > 0 && m->have[off - 1]); /* the point lies in a range */
}

/* Segment lengths by phase: tiny ones that leave many holes (and so fill
 * the set), a mix, and large ones that merge many ranges. */
static uint32_t random_len(uint32_t *x, uint32_t room, int phase)
{
	static const uint32_t caps[3][3] = {{4, 8, 16}, {32, 256, 2048}, {512, 1024, 2048}};
	uint32_t r = xorshift(x) % 10;
	uint32_t cap = caps[phase][r < 7 ? 0 : r < 9 ? 1 : 2];
	uint32_t len = 1 + xorshift(x) % cap;
	return len < room ? len : room;
}

static void seqset_matches_a_bitmap_model(void **state)
{
	(void)state;
	static struct model m; /* 4 KiB: off the stack */
	SET a = {0};
	uint32_t x = 0x2545f491u;
	unsigned refused = 0, taken = 0, discarded = 0, in_order = 0, merged = 0;
	bool wrapped = false;

	memset(&m, 0, sizeof(m));
	m.rcv_nxt = 0xffffff00u; /* crosses 2^32 within the first segments */
	reset(&a);
	for (int it = 0; it < 30000; it++) {
		int phase = it / 1000 % 3;
		static const uint32_t in_order_odds[3] = {50, 10, 5};
		if (xorshift(&x) % in_order_odds[phase] == 0) {
			/* In-order data: rcv_nxt advances over it, then over
			 * whatever the set holds right after it. */
			uint32_t len = random_len(&x, MODEL_W, phase);
			uint32_t n_before = seqset_count(&a);
			for (uint32_t i = 0; i < len; i++)
				m.have[i] = 1;
			uint32_t run = len;
			while (run < MODEL_W && m.have[run])
				run++;
			uint32_t old = m.rcv_nxt;
			uint32_t got = seqset_take(&a, m.rcv_nxt + len);
			assert_int_equal(got, run - len);
			m.rcv_nxt += run;
			memmove(m.have, m.have + run, MODEL_W - run);
			memset(m.have + MODEL_W - run, 0, run);
			wrapped |= m.rcv_nxt < old;
			in_order++;
			taken += got > 0;
			discarded += seqset_count(&a) + (got > 0) < n_before;
		} else {
			/* A segment beyond rcv_nxt, inside the window. */
			uint32_t off = 1 + xorshift(&x) % (MODEL_W - 1);
			uint32_t len = random_len(&x, MODEL_W - off, phase);
			uint8_t save[MODEL_W];
			memcpy(save, m.have, MODEL_W);
			uint32_t runs[ROOM + 1][2];
			int n_before = model_runs(m.have, runs, ROOM + 1);
			for (uint32_t i = off; i < off + len; i++)
				m.have[i] = 1;
			int n_after = model_runs(m.have, runs, ROOM + 1);
			int rc = seqset_add(&a, m.rcv_nxt, m.rcv_nxt + off, len, NULL);
			if (n_after > ROOM) {
				/* It would need one range more than there is room for. */
				assert_int_equal(rc, -ENOSPC);
				memcpy(m.have, save, MODEL_W);
				refused++;
			} else {
				assert_int_equal(rc, 0);
				merged += n_after < n_before;
				model_check(&m, &a);
			}
		}
		model_check(&m, &a);
		model_check_counts(&m, &a, xorshift(&x) % MODEL_W);
	}
	/* The run went through every case it is meant to check. */
	assert_true(wrapped);
	assert_true(refused > 1000);
	assert_true(taken > 500);
	assert_true(discarded > 100);
	assert_true(merged > 500);
	assert_true(in_order > 1000);
}

/* The scoreboard as SND.UNA moves: whole ranges before it go, the one it
 * falls in is cut, the byte count follows. */
static void seqset_trim_cuts_and_drops(void **state)
{
	(void)state;
	SET a = {0};
	reset(&a);
	uint32_t b = 0xfffffff0u;                                 /* across the wrap */
	assert_int_equal(seqset_add(&a, b, b + 10, 10, NULL), 0); /* [10,20) */
	assert_int_equal(seqset_add(&a, b, b + 30, 20, NULL), 0); /* [30,50) */
	assert_int_equal(seqset_add(&a, b, b + 60, 5, NULL), 0);  /* [60,65) */
	seqset_trim(&a, b + 5);                                   /* before all: nothing */
	assert_int_equal(seqset_count(&a), 3);
	assert_int_equal(seqset_bytes(&a), 35);
	seqset_trim(&a, b + 40); /* [10,20) goes, [30,50) becomes [40,50) */
	assert_int_equal(seqset_count(&a), 2);
	assert_int_equal(at(&a, 0)->start, b + 40);
	assert_int_equal(at(&a, 0)->end, b + 50);
	assert_int_equal(seqset_bytes(&a), 15);
	seqset_trim(&a, b + 65); /* exactly the end of the last */
	assert_int_equal(seqset_count(&a), 0);
	assert_int_equal(seqset_bytes(&a), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(seqset_trim_cuts_and_drops),
	cmocka_unit_test(seqset_in_order_segments_extend_one_range),
	cmocka_unit_test(seqset_out_of_order_segments_stay_sorted),
	cmocka_unit_test(seqset_duplicates_change_nothing),
	cmocka_unit_test(seqset_overlaps_on_either_side_merge),
	cmocka_unit_test(seqset_segment_covering_several_ranges_merges_them),
	cmocka_unit_test(seqset_adjacent_ranges_merge),
	cmocka_unit_test(seqset_full_refuses_a_new_range_but_merges),
	cmocka_unit_test(seqset_take_after_rcv_nxt_advances),
	cmocka_unit_test(seqset_bytes_sums_the_ranges),
	cmocka_unit_test(seqset_across_sequence_wrap),
	cmocka_unit_test(seqset_matches_a_bitmap_model),
};

USTCP_TEST_MAIN(tests)
