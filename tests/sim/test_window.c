/* test_window.c — flow control: the peer's window bounds what is sent, a
 * zero window is probed (RFC 9293 §3.8.6.1), and a reader announces a
 * reopened window only when it has grown enough (RFC 1122 §4.2.3.3). */
#include "harness.h"

static void fill(struct ustcp_sock *k, size_t len)
{
	char buf[8192];
	memset(buf, 'x', sizeof(buf));
	assert_true(len <= sizeof(buf));
	assert_int_equal(ustcp_send(k, buf, len), (long)len);
}

static void drain(struct ustcp_sock *k, size_t len)
{
	char buf[8192];
	assert_int_equal(ustcp_recv(k, buf, len), (long)len);
}

/* Window updates after reads: not for less than one MSS, then one. */
static void window_update_after_one_mss(void **state)
{
	(void)state;
	struct h_net *n = h_new_rcvbuf_b(4096);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	fill(a, 4096);
	/* The ACK of the last, short segment may wait the delayed-ACK bound
	 * (40 ms, RFC 1122 §4.2.3.2) before it closes the window. */
	h_run(n, 60 * MS);
	assert_int_equal(ustcp_sock_readable(b), 4096);
	const struct h_seg *last = &n->log[n->nlog - 1];
	assert_int_equal(last->from, H_B);
	assert_int_equal(last->win, 0); /* the buffer is full */

	int before = h_count(n, H_B, 0xff, TCP_ACK);
	drain(b, 1000); /* 1000 < min(2048, 1460): say nothing yet */
	h_run(n, 5 * MS);
	assert_int_equal(h_count(n, H_B, 0xff, TCP_ACK), before);
	drain(b, 500); /* 1500 >= 1460: announce it */
	h_run(n, 5 * MS);
	assert_int_equal(h_count(n, H_B, 0xff, TCP_ACK), before + 1);
	const struct h_seg *upd = h_find(n, H_B, 0xff, TCP_ACK, before);
	assert_int_equal(upd->win, 1500);
	drain(b, 2596);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* A zero window with data waiting: probes of one byte, backing off, never
 * giving up; when the reader frees space, the rest flows. */
static void zero_window_probed_until_open(void **state)
{
	(void)state;
	struct h_net *n = h_new_rcvbuf_b(2048);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	fill(a, 6000);
	h_run(n, 60 * SEC);
	assert_int_equal(ustcp_sock_readable(b), 2048);
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	/* The probes: one byte at the window's edge, ever further apart. */
	uint32_t edge = h_info(a).snd_una;
	uint64_t prev = 0, gap = 0;
	int probes = 0;
	for (int i = 0; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		if (g->from != H_A || g->len != 1 || g->seq != edge)
			continue;
		if (probes > 1)
			assert_true(g->t - prev >= gap);
		if (probes > 0)
			gap = g->t - prev;
		prev = g->t;
		probes++;
	}
	assert_true(probes >= 4);
	/* Reading opens the window; sending resumes at once from the edge,
	 * with the byte the refused probes carried (none of the probes'
	 * backoff is left on the retransmission timer), and everything arrives. */
	char buf[8192];
	size_t got = (size_t)ustcp_recv(b, buf, sizeof(buf));
	assert_int_equal(got, 2048);
	int i_rd = n->nlog;
	h_run(n, 10 * MS);
	const struct h_seg *next = NULL;
	for (int i = i_rd; i < n->nlog && !next; i++)
		if (n->log[i].from == H_A && n->log[i].len > 0)
			next = &n->log[i];
	assert_non_null(next);
	assert_int_equal(next->seq, edge);
	assert_true(ustcp_sock_readable(b) > 0);
	for (int i = 0; i < 200 && got < 6000; i++) {
		long r = ustcp_recv(b, buf, sizeof(buf));
		if (r > 0)
			got += (size_t)r;
		h_run(n, 100 * MS);
	}
	assert_int_equal(got, 6000);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(window_update_after_one_mss),
	cmocka_unit_test(zero_window_probed_until_open),
};

USTCP_TEST_MAIN(tests)
