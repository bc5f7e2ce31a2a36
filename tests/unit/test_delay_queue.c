/* test_delay_queue.c — the impairment layer's heap of delayed frames. */
#include <string.h>

#include "../test_main.h"
#include "sim/delay_queue.h"

/* Frames come out by time, then in the order queued. */
static void pops_in_time_order(void **state)
{
	(void)state;
	struct delay_queue q;
	dq_init(&q, 1 << 20);
	static const uint64_t at[] = {50, 10, 30, 10, 70, 20};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		uint8_t b = (uint8_t)i;
		assert_non_null(dq_push(&q, at[i], NULL, 0, 0, &b, 1));
	}
	static const uint8_t want[] = {1, 3, 5, 2, 0, 4};
	for (size_t i = 0; i < sizeof(want); i++) {
		struct dq_frame *f = dq_pop(&q);
		assert_non_null(f);
		assert_int_equal(f->data[0], want[i]);
		dq_release(&q, f);
	}
	assert_null(dq_pop(&q));
	assert_int_equal(q.bytes, 0);
	dq_free(&q);
}

/* Two entries reserved before either is queued (a frame and its
 * duplicate) both find room in the heap, even when it was one short of
 * full: each reservation keeps its place. */
static void reserved_entries_keep_their_places(void **state)
{
	(void)state;
	struct delay_queue q;
	dq_init(&q, 1 << 20);
	uint8_t b = 0;
	for (int round = 0; round < 3; round++) {
		while (q.n + 1 < q.cap || q.cap == 0)
			assert_non_null(dq_push(&q, 5, NULL, 0, 0, &b, 1));
		struct dq_frame *f = dq_reserve(&q, 1), *g = dq_reserve(&q, 1);
		assert_non_null(f);
		assert_non_null(g);
		assert_true(q.cap >= q.n + 2);
		dq_insert(&q, g, 7, NULL, 0, 0);
		dq_insert(&q, f, 7, NULL, 0, 0);
		/* One reserved and given back unqueued frees its place. */
		struct dq_frame *h = dq_reserve(&q, 1);
		assert_non_null(h);
		dq_release(&q, h);
		assert_int_equal(q.held, 0);
	}
	size_t n = 0;
	struct dq_frame *f;
	while ((f = dq_pop(&q))) {
		n++;
		dq_release(&q, f);
	}
	assert_int_equal(n, q.next_seq);
	assert_int_equal(q.bytes, 0);
	dq_free(&q);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(pops_in_time_order),
	cmocka_unit_test(reserved_entries_keep_their_places),
};

USTCP_TEST_MAIN(tests)
