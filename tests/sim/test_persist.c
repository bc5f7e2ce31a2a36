/* test_persist.c — the closed window and its edges: what a receiver with
 * no room still accepts (RFC 9293 §3.10.7.4: ACKs, URGs, RSTs, a bare FIN),
 * how the persist timer ends (RFC 1122 §4.2.2.17: never while answered, but
 * a dead peer and the user timeout end it), that window-scale rounding
 * never moves the right edge left (RFC 7323 App. F), and Karn's rule for
 * the SYN (RFC 6298 §3, §5.7). */
#include "harness.h"

static char junk[65536];

/* Fill B's 2048-byte window with A's data; B does not read. */
static struct h_net *closed_window(struct ustcp_sock **a, struct ustcp_sock **b,
				   struct ustcp_sock **l, const struct ustcp_config *ca)
{
	struct ustcp_config cb;
	h_init_cfg(&cb, 1);
	cb.rcvbuf = 2048;
	struct h_net *n = h_new_cfg(ca, &cb);
	h_establish(n, a, b, l);
	assert_int_equal(ustcp_send(*a, junk, 6000), 6000);
	/* The last 600 bytes wait for the SWS override timer (RFC 1122
	 * §4.2.3.4), then the window is zero. */
	h_run(n, 2 * SEC);
	assert_int_equal(h_info(*a).snd_wnd, 0);
	return n;
}

/* A probes B's closed window while B sends to A. A's ACKs carry
 * SEQ = SND.UNA (the probe byte is not counted in them), which B accepts
 * although its window is zero: B's data is acknowledged and flows. */
static void acks_reach_a_peer_with_a_closed_window(void **state)
{
	(void)state;
	struct ustcp_sock *a, *b, *l;
	struct h_net *n = closed_window(&a, &b, &l, NULL);
	h_run(n, 3 * SEC);
	assert_true(h_info(a).zero_window_probes >= 1);
	uint64_t sent = 0, got = 0;
	for (int i = 0; i < 100; i++) {
		long r = ustcp_send(b, junk, sizeof(junk));
		if (r > 0)
			sent += (uint64_t)r;
		while ((r = ustcp_recv(a, junk, sizeof(junk))) > 0)
			got += (uint64_t)r;
		h_run(n, 10 * MS);
	}
	assert_true(got > 1000000);
	assert_true(h_info(b).bytes_acked + 300000 >= sent);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_not_acceptable), 0);
	assert_int_equal(h_info(b).rto_expirations, 0);
	ustcp_abort(a);
	ustcp_abort(b);
	h_finish(n, l);
}

/* A FIN sent into the closed window is taken (it needs no room), and when
 * B's window update after reading is lost, the persist timer resends the
 * FIN as its probe: both ends finish. */
static void fin_into_a_closed_window(void **state)
{
	(void)state;
	struct h_net *n = h_new_rcvbuf_b(2048);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	assert_int_equal(ustcp_send(a, junk, 2048), 2048);
	h_run(n, 100 * MS);
	assert_int_equal(ustcp_shutdown(a, USTCP_SHUT_WR), 0);
	h_run(n, 5 * SEC);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSE_WAIT);
	assert_int_equal(ustcp_sock_state(a), USTCP_FIN_WAIT_2);

	/* And with the FIN lost while the window is closed: */
	struct h_net *m = h_new_rcvbuf_b(2048);
	struct ustcp_sock *c, *d, *k;
	h_establish(m, &c, &d, &k);
	assert_int_equal(ustcp_send(c, junk, 2048), 2048);
	h_run(m, 100 * MS);
	h_drop(m, H_A, TCP_FIN, TCP_FIN, 0);
	assert_int_equal(ustcp_shutdown(c, USTCP_SHUT_WR), 0);
	h_run(m, 100 * MS);
	h_drop(m, H_B, H_ALLF, TCP_ACK, 0); /* B's window update after its read */
	assert_int_equal(ustcp_recv(d, junk, sizeof(junk)), 2048);
	h_run(m, 30 * SEC);
	assert_int_equal(ustcp_sock_state(d), USTCP_CLOSE_WAIT);
	assert_true(ustcp_sock_eof(d));
	assert_int_equal(ustcp_sock_state(c), USTCP_FIN_WAIT_2);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
	ustcp_close(c);
	ustcp_close(d);
	h_finish(m, k);
}

/* Probes are never given up while answered; a peer that stops answering
 * them is gone after data_retries unanswered probes. */
static void persist_ends_when_the_peer_is_gone(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 5;
	struct ustcp_sock *a, *b, *l;
	struct h_net *n = closed_window(&a, &b, &l, &ca);
	h_run(n, 600 * SEC); /* answered: still there, however long */
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_true(h_info(a).zero_window_probes > 5);
	n->blackhole[H_B] = true;
	h_run(n, 3 * 3600 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -ETIMEDOUT);
	ustcp_close(a);
	ustcp_abort(b);
	n->blackhole[H_B] = false;
	h_finish(n, l);
}

/* An orphan is not kept for ever by a peer that answers every probe with
 * its window shut (RFC 6429): with its user gone, A gives up after
 * data_retries backoffs of the probe and resets B, where a connection its
 * user still holds probes on (above). */
static void orphan_persist_ends_though_answered(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 5;
	struct ustcp_sock *a, *b, *l;
	struct h_net *n = closed_window(&a, &b, &l, &ca);
	assert_int_equal(ustcp_close(a), 0); /* data still queued: FIN-WAIT-1, orphaned */
	struct ustcp_pool_usage u;
	ustcp_pool_usage(n->st[H_A], &u);
	assert_int_equal(u.orphans, 1);
	h_run(n, 3 * 3600 * SEC);
	ustcp_pool_usage(n->st[H_A], &u);
	assert_int_equal(u.conns, 0);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_orphans_persist_ended), 1);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(b), -ECONNRESET);
	ustcp_close(b);
	h_finish(n, l);
}

/* The user timeout (RFC 5482) counts a closed window from the first probe:
 * data not delivered within it ends the connection even though the peer
 * answers, and the probes stay a handful (no flood after the deadline). */
static void user_timeout_ends_a_closed_window(void **state)
{
	(void)state;
	struct ustcp_sock *a, *b, *l;
	struct h_net *n = closed_window(&a, &b, &l, NULL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_USER_TIMEOUT, 5 * SEC), 0);
	h_run(n, 20 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -ETIMEDOUT);
	/* The first probe: A's first one-byte segment once the window closed. */
	const struct h_seg *probe = NULL;
	for (int i = 0; i < n->nlog && !probe; i++)
		if (n->log[i].from == H_A && n->log[i].len == 1)
			probe = &n->log[i];
	const struct h_seg *rst = h_find(n, H_A, TCP_RST, TCP_RST, 0);
	assert_non_null(probe);
	assert_non_null(rst);
	assert_true(rst->t >= probe->t + 5 * SEC && rst->t <= probe->t + 5 * SEC + 2 * MS);
	assert_true(h_count(n, H_A, 0, 0) < 30);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* And in SYN-SENT: a silent peer, a 2 s user timeout, two SYNs at most. */
static void user_timeout_in_syn_sent(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	n->blackhole[H_B] = true;
	struct ustcp_sock *a;
	struct ustcp_endpoint to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_socket(n->st[H_A], &a), 0);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_USER_TIMEOUT, 2 * SEC), 0);
	assert_int_equal(ustcp_connect(a, to), -EINPROGRESS);
	h_run(n, 1999 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_SYN_SENT);
	h_run(n, 2 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -ETIMEDOUT);
	assert_int_equal(h_count(n, H_A, TCP_SYN, TCP_SYN), 2);
	ustcp_close(a);
	h_free(n);
}

/* Small writes to a scaled window: every ACK's right edge
 * (ack + win << ws) is at or right of the one before while the reader keeps
 * up; when the buffer fills, the edge may give back less than one unit of
 * scaling (RFC 7323 App. F) but never so much as a byte of data already
 * sent in the window is refused. */
static void scaled_right_edge(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b,
			      bool read, int *left)
{
	unsigned ws = h_info(b).rcv_wscale;
	assert_true(ws >= 3);
	int first = n->nlog;
	for (int i = 0; i < 300; i++) {
		long r = ustcp_send(a, junk, 1001);
		assert_true(r >= 0 || r == -EAGAIN);
		h_run(n, 20 * MS);
		while (read && ustcp_recv(b, junk, sizeof(junk)) > 0)
			;
	}
	uint32_t edge = 0;
	int acks = 0;
	for (int i = first; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		if (g->from != H_B || (g->flags & TCP_SYN) || !(g->flags & TCP_ACK))
			continue;
		uint32_t e = g->ack + ((uint32_t)g->win << ws);
		if (acks++ && (int32_t)(e - edge) < 0) {
			assert_true(edge - e < (1u << ws));
			(*left)++;
		}
		edge = e;
	}
	assert_true(acks > 100);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_rcvbuf_full), 0);
}

static void scaled_right_edge_never_moves_left(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_NODELAY, 1), 0);
	int left = 0;
	scaled_right_edge(n, a, b, true, &left);
	assert_int_equal(left, 0);
	/* Now B stops reading: its buffer fills up to what it offered. */
	scaled_right_edge(n, a, b, false, &left);
	/* All it offered; less than an MSS stays unannounced (receiver SWS
	 * avoidance, RFC 1122 §4.2.3.3). */
	assert_true(ustcp_sock_readable(b) > 256 * 1024 - 1460);
	ustcp_abort(a);
	ustcp_abort(b);
	h_finish(n, l);
}

/* Karn for the SYN: when it had to be sent again, the answer gives no RTT
 * sample (it may answer either copy, or the peer's own timer), and data
 * starts with an RTO of 3 s (RFC 6298 §5.7). */
static void no_rtt_sample_from_a_retransmitted_syn(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	h_drop(n, H_B, H_ALLF, TCP_SYN | TCP_ACK, 0);
	struct ustcp_sock *a, *b = NULL, *l = h_listen(n);
	a = h_connect_start(n);
	for (int i = 0; i < 3000 && !b; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(l, &b);
	}
	assert_non_null(b);
	struct ustcp_sock_info ia = h_info(a);
	assert_int_equal(ia.srtt, 0);
	assert_int_equal(ia.rto, 3 * SEC);
	h_exchange(n, a, b); /* the first data gives the first sample */
	h_run(n, 100 * MS);  /* B's delayed ACK of it */
	assert_true(h_info(a).srtt > 0 && h_info(a).srtt < 100 * MS); /* RTT + ACK delay */
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(acks_reach_a_peer_with_a_closed_window),
	cmocka_unit_test(fin_into_a_closed_window),
	cmocka_unit_test(persist_ends_when_the_peer_is_gone),
	cmocka_unit_test(orphan_persist_ends_though_answered),
	cmocka_unit_test(user_timeout_ends_a_closed_window),
	cmocka_unit_test(user_timeout_in_syn_sent),
	cmocka_unit_test(scaled_right_edge_never_moves_left),
	cmocka_unit_test(no_rtt_sample_from_a_retransmitted_syn),
};

USTCP_TEST_MAIN(tests)
