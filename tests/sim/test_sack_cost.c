/* test_sack_cost.c — the work a peer's SACK blocks cause the sender is
 * bounded per ACK, whatever the window: the send map counts the records it
 * visits (tcp_sendmap.visits), and the worst pattern a receiver can send
 * (bench/sack_pattern.h) must visit about as many per ACK with a 32 MiB
 * window as with a 1 MiB one. Loss detection,
 * recovery and the retransmissions run as usual (into a silent link). */
#include "../../bench/sack_pattern.h"
#include "harness.h"
#include "tcp/tcp_conn.h" /* the send map's count, and the window opened at once */

#define BLOCKS SACK_PATTERN_BLOCKS
#define ACKS_MEASURED 32

/* One ACK of the pattern from B. */
static void sack_ack(struct h_net *n, struct ustcp_sock *a, uint32_t una, uint32_t mss, int top)
{
	struct tcp_hdr th = sack_pattern_ack(a, una, mss, top);
	h_inject_seg(n, H_A, &th, NULL, 0);
}

/* Records visited per ACK by the last ACKS_MEASURED ACKs of the pattern,
 * with a window of this many bytes all outstanding. */
static uint64_t visits_per_ack(uint32_t window)
{
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.timestamps = cb.timestamps = 0;
	ca.sndbuf = cb.rcvbuf = window;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	h_exchange(n, a, b);
	n->blackhole[H_A] = n->blackhole[H_B] = true;
	a->cwnd = a->ssthresh = a->snd_wnd = window;
	static uint8_t buf[1 << 16];
	uint32_t sent = 0;
	for (long r = 1; r > 0 && sent<window; sent += r> 0 ? (uint32_t)r : 0)
		r = ustcp_send(a, buf, MIN(sizeof(buf), (size_t)(window - sent)));
	h_run(n, 10 * MS);
	struct ustcp_sock_info i = h_info(a);
	uint32_t una = i.snd_una, mss = i.snd_mss;
	int segs = (int)((i.snd_max - una) / mss);
	assert_true(segs * mss > sent - 2 * mss && sent > window / 2);
	int top = segs - 1 - !(segs % 2);
	while (top - 2 * BLOCKS >= ACKS_MEASURED * BLOCKS * 2) {
		sack_ack(n, a, una, mss, top);
		top -= 2 * BLOCKS;
	}
	uint64_t v0 = a->rack.map.visits;
	for (int k = 0; k < ACKS_MEASURED; k++, top -= 2 * BLOCKS)
		sack_ack(n, a, una, mss, top);
	uint64_t per_ack = (a->rack.map.visits - v0) / ACKS_MEASURED;
	/* RACK kept its map all along: the pattern did not fill it. */
	assert_true(tcp_rack_on(a));
	assert_true(h_info(a).retransmits > 0);
	n->blackhole[H_A] = n->blackhole[H_B] = false;
	ustcp_abort(a);
	ustcp_abort(b);
	h_finish(n, lb);
	return per_ack;
}

static void sack_work_per_ack_does_not_grow_with_the_window(void **state)
{
	(void)state;
	uint64_t small = visits_per_ack(1u << 20), big = visits_per_ack(32u << 20);
	print_message("records visited per ACK: %llu (1 MiB window), %llu (32 MiB)\n",
		      (unsigned long long)small, (unsigned long long)big);
	if (big > 2 * small + 16)
		fail_msg("%llu records visited per ACK with a 32 MiB window, %llu with 1 MiB",
			 (unsigned long long)big, (unsigned long long)small);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(sack_work_per_ack_does_not_grow_with_the_window),
};

USTCP_TEST_MAIN(tests)
