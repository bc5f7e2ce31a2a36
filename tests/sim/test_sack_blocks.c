/* test_sack_blocks.c — the SACK blocks a receiver sends (RFC 2018 §4,
 * RFC 2883 §4): the range holding the segment that triggered the ACK first,
 * then the ranges most recently reported, newest first, as ranges arrive,
 * merge, grow and are released by in-order data; a duplicate is reported
 * first, followed by the range that holds it when it lies beyond RCV.NXT.
 *
 * Segments are injected into B as if A sent them, and B's ACKs are read
 * from the log. Both ends use timestamps, so an ACK has room for three
 * blocks. Sequence numbers are written relative to A's first data byte,
 * as tcpdump shows them (1 is the first byte). */
#include "harness.h"

struct sb {
	struct h_net *n;
	struct ustcp_sock *a, *b, *lb;
	uint32_t base; /* B's RCV.NXT when the test starts: relative 1 */
	uint16_t sport;
	uint32_t ts; /* timestamp value for the next injected segment */
	uint32_t ack;
};

static struct sb sb_new(void)
{
	struct sb t = {.n = h_new()};
	h_establish(t.n, &t.a, &t.b, &t.lb);
	h_exchange(t.n, t.a, t.b);
	/* Only what the test injects reaches B now; B's answers are logged. */
	t.n->blackhole[H_A] = t.n->blackhole[H_B] = true;
	struct ustcp_sock_info ia = h_info(t.a), ib = h_info(t.b);
	assert_int_equal(ib.rcv_nxt, ia.snd_nxt);
	t.base = ib.rcv_nxt;
	t.ack = ia.rcv_nxt;
	const struct h_seg *last = NULL;
	for (int i = 0; i < t.n->nlog; i++)
		if (t.n->log[i].from == H_A)
			last = &t.n->log[i];
	assert_non_null(last);
	assert_true(last->opts.present & TCP_OPT_TIMESTAMP);
	t.sport = last->sport;
	t.ts = last->opts.ts_val + 1;
	return t;
}

static uint32_t rel(const struct sb *t, uint32_t x) { return t->base - 1 + x; }

/* Inject relative bytes [from, to) from A; return B's answer (NULL if
 * B holds its ACK back, as for in-order data). */
static const struct h_seg *inject(struct sb *t, uint32_t from, uint32_t to)
{
	static uint8_t data[2048];
	assert_true(to > from && to - from <= sizeof(data));
	struct tcp_hdr th = {.sport = t->sport,
			     .dport = PORT_B,
			     .seq = rel(t, from),
			     .ack = t->ack,
			     .flags = TCP_ACK,
			     .win = 65535};
	th.opts.present = TCP_OPT_TIMESTAMP;
	th.opts.ts_val = t->ts++;
	int before = t->n->nlog;
	h_inject_seg(t->n, H_B, &th, data, to - from);
	h_run(t->n, 1 * MS);
	for (int i = before; i < t->n->nlog; i++)
		if (t->n->log[i].from == H_B)
			return &t->n->log[i];
	return NULL;
}

/* Asserts that g acknowledges relative `ack` and carries these blocks
 * (relative left, right pairs), in this order. */
static void check_blocks(const struct sb *t, const struct h_seg *g, uint32_t ack,
			 const uint32_t *want, int n)
{
	char got[160] = "", exp[160] = "";
	assert_non_null(g);
	for (int i = 0; i < g->opts.nsack; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), " %u:%u",
			 g->opts.sack[i].left - (t->base - 1),
			 g->opts.sack[i].right - (t->base - 1));
	for (int i = 0; i < n; i++)
		snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), " %u:%u", want[2 * i],
			 want[2 * i + 1]);
	if (g->ack != rel(t, ack) || strcmp(got, exp) != 0)
		fail_msg("ack %u sack%s, want ack %u sack%s", g->ack - (t->base - 1), got, ack,
			 exp);
}
#define BLOCKS(t, g, ack, ...)                                                                     \
	do {                                                                                       \
		const uint32_t want_[] = {__VA_ARGS__};                                            \
		check_blocks((t), (g), (ack), want_, (int)(sizeof(want_) / sizeof(want_[0])) / 2); \
	} while (0)

/* 1:100 in order, then 200:300, 400:500, ... : n ranges with holes
 * between, each 100 bytes, in ascending order. */
static void in_order_then_ranges(struct sb *t, int n)
{
	assert_null(inject(t, 1, 100)); /* in order: the ACK may wait */
	for (int i = 1; i <= n; i++)
		assert_non_null(inject(t, 200 * (uint32_t)i, 200 * (uint32_t)i + 100));
}

static void sb_finish(struct sb *t)
{
	t->n->blackhole[H_A] = t->n->blackhole[H_B] = false;
	ustcp_abort(t->a);
	ustcp_abort(t->b);
	h_finish(t->n, t->lb);
}

/* 1:100 in order, then 200:300, 400:500 and 600:700: the third ACK
 * carries 600:700 400:500 200:300, not the older ranges in sequence order. */
static void blocks_after_the_first_are_most_recent_first(void **state)
{
	(void)state;
	struct sb t = sb_new();
	in_order_then_ranges(&t, 0);
	BLOCKS(&t, inject(&t, 200, 300), 100, 200, 300);
	BLOCKS(&t, inject(&t, 400, 500), 100, 400, 500, 200, 300);
	BLOCKS(&t, inject(&t, 600, 700), 100, 600, 700, 400, 500, 200, 300);
	/* An older range arriving again goes back to the front. */
	BLOCKS(&t, inject(&t, 200, 300), 100, 200, 300, 200, 300, 600, 700);
	BLOCKS(&t, inject(&t, 800, 900), 100, 800, 900, 200, 300, 600, 700);
	sb_finish(&t);
}

/* Five holes, three blocks: the three ranges that arrived last, newest
 * first; and still those after in-order data fills the first hole and
 * releases a range the history had already dropped. */
static void five_holes_report_the_most_recent_ranges(void **state)
{
	(void)state;
	struct sb t = sb_new();
	in_order_then_ranges(&t, 4);
	BLOCKS(&t, inject(&t, 1000, 1100), 100, 1000, 1100, 800, 900, 600, 700);
	/* 100:200 fills the first hole; 200:300 joins RCV.NXT. */
	BLOCKS(&t, inject(&t, 100, 200), 300, 1000, 1100, 800, 900, 600, 700);
	/* A range far back in the history comes forward again. */
	BLOCKS(&t, inject(&t, 500, 550), 300, 400, 550, 1000, 1100, 800, 900);
	sb_finish(&t);
}

/* A segment that joins two ranges makes one block of them, at the front,
 * in place of both; one that grows a range moves it to the front. */
static void merged_and_grown_ranges_move_to_the_front(void **state)
{
	(void)state;
	struct sb t = sb_new();
	in_order_then_ranges(&t, 4);
	/* 700:800 joins 600:700 and 800:900. */
	BLOCKS(&t, inject(&t, 700, 800), 100, 600, 900, 400, 500, 200, 300);
	/* 500:550 grows 400:500. */
	BLOCKS(&t, inject(&t, 500, 550), 100, 400, 550, 600, 900, 200, 300);
	/* 550:600 joins 400:550 and 600:900. */
	BLOCKS(&t, inject(&t, 550, 600), 100, 400, 900, 200, 300);
	/* In-order data up to 200 releases 200:300; the history keeps the rest. */
	BLOCKS(&t, inject(&t, 100, 200), 300, 400, 900);
	sb_finish(&t);
}

/* A duplicate of data below RCV.NXT: the D-SACK block first, then the
 * blocks of the history, newest first. The next ACK has no D-SACK. */
static void dsack_below_rcv_nxt_then_the_most_recent_blocks(void **state)
{
	(void)state;
	struct sb t = sb_new();
	in_order_then_ranges(&t, 1);
	inject(&t, 600, 700);
	BLOCKS(&t, inject(&t, 400, 500), 100, 400, 500, 600, 700, 200, 300);
	BLOCKS(&t, inject(&t, 1, 100), 100, 1, 100, 400, 500, 600, 700);
	BLOCKS(&t, inject(&t, 800, 900), 100, 800, 900, 400, 500, 600, 700);
	sb_finish(&t);
}

/* A duplicate of data held beyond RCV.NXT: the D-SACK block, then the
 * (larger) range holding it (RFC 2883 §4), then the history. */
static void dsack_of_held_data_then_the_range_holding_it(void **state)
{
	(void)state;
	struct sb t = sb_new();
	in_order_then_ranges(&t, 2);
	BLOCKS(&t, inject(&t, 600, 700), 100, 600, 700, 400, 500, 200, 300);
	/* The whole of 400:500 again. */
	BLOCKS(&t, inject(&t, 400, 500), 100, 400, 500, 400, 500, 600, 700);
	/* A part of 200:300, inside it. */
	BLOCKS(&t, inject(&t, 220, 280), 100, 220, 280, 200, 300, 400, 500);
	/* Half old, half new: the old half is the duplicate. */
	BLOCKS(&t, inject(&t, 650, 750), 100, 650, 700, 600, 750, 200, 300);
	/* Reported once. */
	BLOCKS(&t, inject(&t, 900, 950), 100, 900, 950, 600, 750, 200, 300);
	sb_finish(&t);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(blocks_after_the_first_are_most_recent_first),
	cmocka_unit_test(five_holes_report_the_most_recent_ranges),
	cmocka_unit_test(merged_and_grown_ranges_move_to_the_front),
	cmocka_unit_test(dsack_below_rcv_nxt_then_the_most_recent_blocks),
	cmocka_unit_test(dsack_of_held_data_then_the_range_holding_it),
};

USTCP_TEST_MAIN(tests)
