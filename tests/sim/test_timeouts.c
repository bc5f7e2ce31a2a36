/* test_timeouts.c — timers between two stacks: SYN retransmission with
 * exponential backoff and the connect timeout (RFC 6298 §5.5, RFC 1122
 * §4.2.3.5), lost SYN and lost SYN,ACK, retransmitted data giving up (R2),
 * the orphaned FIN-WAIT-2 limit and the SYN-RECEIVED give-up. */
#include "harness.h"

#include <errno.h>

static bool sock_closed(void *k) { return ustcp_sock_state(k) == USTCP_CLOSED; }

static bool sock_established(void *k) { return ustcp_sock_state(k) == USTCP_ESTABLISHED; }

static bool a_empty(void *ctx) { return h_conns(ctx, H_A) == 0; }

static bool b_one(void *ctx) { return h_conns(ctx, H_B) == 1; }

/* A timer fires at the first timer tick (1 ms) at or after its expiry. */
static void assert_gap(uint64_t t0, uint64_t t1, uint64_t want)
{
	assert_true(t1 >= t0 + want);
	assert_true(t1 <= t0 + want + 1 * MS);
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Connect to a host that never answers: the SYN goes out syn_retries more
 * times, each RTO double the last (RFC 6298 §5.5, capped at rto_max per
 * §2.5), then the attempt fails with ETIMEDOUT. */
static void check_syn_timeout(const struct ustcp_config *cfa)
{
	struct h_net *n = h_new_cfg(cfa, NULL);
	n->blackhole[H_B] = true; /* and nobody listens there */
	struct ustcp_sock *ca = h_connect_start(n);
	struct ustcp_sock_info ia = h_info(ca);
	uint64_t t0 = h_now(n);
	assert_true(h_run_cond(n, 600 * SEC, sock_closed, ca));

	uint32_t retries = cfa->syn_retries;
	assert_int_equal(h_count(n, H_A, 0, 0), (int)retries + 1);
	uint64_t rto = cfa->rto_initial, prev = t0;
	for (uint32_t i = 0; i <= retries; i++) {
		const struct h_seg *g = h_find(n, H_A, 0, 0, (int)i);
		assert_int_equal(g->flags, TCP_SYN);
		assert_int_equal(g->seq, ia.iss);
		if (i > 0) {
			assert_gap(prev, g->t, rto);
			rto = min_u64(rto * 2, cfa->rto_max);
		}
		prev = g->t;
	}
	/* The last SYN had its own (doubled) timeout before giving up. */
	assert_gap(prev, h_now(n), rto);

	assert_int_equal(ustcp_sock_error(ca), -ETIMEDOUT);
	assert_int_equal(ustcp_send(ca, "x", 1), -ETIMEDOUT);
	char buf[4];
	assert_int_equal(ustcp_recv(ca, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_attempt_fails), 1);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_timeouts), 1);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_retransmits), retries);
	assert_int_equal(h_info(ca).retransmits, retries);
	/* Nothing more is sent after the attempt ended. */
	h_run(n, 300 * SEC);
	assert_int_equal(h_count(n, H_A, 0, 0), (int)retries + 1);
	assert_int_equal(ustcp_close(ca), 0);
	h_finish(n, NULL);
}

static void syn_timeout_exponential_backoff(void **state)
{
	(void)state;
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	assert_int_equal(cfa.syn_retries, 6);
	assert_int_equal(cfa.rto_initial, 1 * SEC);
	check_syn_timeout(&cfa);
}

static void syn_timeout_configured_retries(void **state)
{
	(void)state;
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	cfa.syn_retries = 2;
	check_syn_timeout(&cfa);
}

/* The first SYN is lost: the retransmission one RTO later opens it. */
static void lost_syn_retransmitted(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = h_listen(n), *cb = NULL;
	h_drop(n, H_A, H_ALLF, TCP_SYN, 0);
	struct ustcp_sock *ca = h_connect_start(n);
	struct ustcp_sock_info ia = h_info(ca);
	uint64_t t0 = h_now(n);
	assert_true(h_run_cond(n, 10 * SEC, sock_established, ca));
	assert_gap(t0, h_now(n), 1 * SEC + 2 * MS); /* RTO, then one round trip */

	assert_int_equal(h_count(n, H_A, TCP_SYN, TCP_SYN), 2);
	const struct h_seg *s0 = h_find(n, H_A, 0, 0, 0), *s1 = h_find(n, H_A, 0, 0, 1);
	assert_int_equal(s0->flags, TCP_SYN);
	assert_int_equal(s1->flags, TCP_SYN);
	assert_int_equal(s0->seq, ia.iss);
	assert_int_equal(s1->seq, ia.iss);
	assert_gap(s0->t, s1->t, 1 * SEC);
	const struct h_seg *sa = h_find(n, H_B, 0, 0, 0);
	assert_int_equal(sa->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(sa->ack, ia.iss + 1);
	assert_int_equal(h_count(n, H_B, TCP_SYN, TCP_SYN), 1);

	h_run(n, 5 * MS);
	assert_int_equal(ustcp_accept(lb, &cb), 0);
	h_send_all(ca, "late");
	h_run(n, 5 * MS);
	h_expect_read(cb, "late");
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 0);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* B's SYN,ACK is lost: A's retransmitted SYN makes B repeat its SYN,ACK
 * with the same ISN (RFC 9293 §3.10.7.4: a duplicate SYN in SYN-RECEIVED). */
static void lost_synack_retransmitted(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = h_listen(n), *cb = NULL;
	h_drop(n, H_B, H_ALLF, TCP_SYN | TCP_ACK, 0);
	struct ustcp_sock *ca = h_connect_start(n);
	struct ustcp_sock_info ia = h_info(ca);
	assert_true(h_run_cond(n, 10 * SEC, sock_established, ca));
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_accept(lb, &cb), 0);
	assert_int_equal(ustcp_sock_state(cb), USTCP_ESTABLISHED);
	struct ustcp_sock_info ib = h_info(cb);

	assert_int_equal(h_count(n, H_A, TCP_SYN, TCP_SYN), 2);
	const struct h_seg *s1 = h_find(n, H_A, TCP_SYN, TCP_SYN, 1);
	assert_int_equal(s1->seq, ia.iss);
	int nsa = h_count(n, H_B, TCP_SYN, TCP_SYN);
	assert_true(nsa >= 2);
	bool answered = false;
	for (int i = 0; i < nsa; i++) {
		const struct h_seg *g = h_find(n, H_B, TCP_SYN, TCP_SYN, i);
		assert_int_equal(g->flags, TCP_SYN | TCP_ACK);
		assert_int_equal(g->seq, ib.iss);
		assert_int_equal(g->ack, ia.iss + 1);
		if (g->t == s1->t + 1 * MS)
			answered = true; /* sent on the retransmitted SYN's arrival */
	}
	assert_true(answered);
	assert_int_equal(ib.irs, ia.iss);
	assert_int_equal(h_info(ca).irs, ib.iss);

	h_send_all(ca, "abc");
	h_send_all(cb, "xyz");
	h_run(n, 5 * MS);
	h_expect_read(cb, "abc");
	h_expect_read(ca, "xyz");
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* RFC 1122 §4.2.3.5 (R2): data retransmitted with backoff until
 * data_retries, then the connection is given up: ETIMEDOUT for the user and
 * a RST (<SEQ=SND.NXT>) to the peer, in case it is still there. */
static void data_peer_vanishes(void **state)
{
	(void)state;
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	cfa.data_retries = 3;
	/* No SACK, so no tail loss probe (RFC 8985 §7) goes in the timeout's
	 * place: this test counts the retransmission timer's expirations. */
	cfa.sack = 0;
	struct h_net *n = h_new_cfg(&cfa, NULL);
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_send_all(cb, "hi");
	h_run(n, 5 * MS);
	h_expect_read(ca, "hi");
	struct ustcp_sock_info ia = h_info(ca);
	/* RFC 6298 §2.4 says at least 1 s; the stack's floor is 200 ms (as
	 * Linux), which a 2 ms round trip leaves in force. */
	assert_int_equal(ia.rto, cfa.rto_min);

	n->blackhole[H_B] = true;
	int sent = h_count(n, H_A, 0, 0);
	uint64_t t0 = h_now(n);
	h_send_all(ca, "hello");
	assert_true(h_run_cond(n, 120 * SEC, sock_closed, ca));

	assert_int_equal(h_count(n, H_A, 0, 0), sent + 4 + 1);
	uint64_t prev = t0, rto = ia.rto;
	for (int i = 0; i < 4; i++) {
		const struct h_seg *g = h_find(n, H_A, 0, 0, sent + i);
		assert_int_equal(g->flags, TCP_ACK | TCP_PSH);
		assert_int_equal(g->seq, ia.snd_nxt);
		assert_int_equal(g->len, 5);
		if (i > 0) {
			assert_gap(prev, g->t, rto);
			rto *= 2;
		}
		prev = g->t;
	}
	const struct h_seg *r = h_find(n, H_A, 0, 0, sent + 4);
	assert_true(r->flags & TCP_RST);
	assert_int_equal(r->flags & (TCP_SYN | TCP_FIN), 0);
	assert_int_equal(r->seq, ia.snd_nxt + 5);
	assert_int_equal(r->len, 0);
	assert_gap(prev, r->t, rto);
	assert_int_equal(h_now(n), r->t);

	assert_int_equal(ustcp_sock_error(ca), -ETIMEDOUT);
	char buf[8];
	assert_int_equal(ustcp_recv(ca, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(ustcp_send(ca, "x", 1), -ETIMEDOUT);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_timeouts), 1);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_retransmits), 3);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_rst_out), 1);

	/* Only B's side was cut: B got the data and then the RST. */
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSED);
	h_expect_read(cb, "hello");
	assert_int_equal(ustcp_recv(cb, buf, sizeof(buf)), -ECONNRESET);
	n->blackhole[H_B] = false;
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* An orphan in FIN-WAIT-2 (closed by its user) waits fin_wait2_timeout for
 * the peer's FIN, then goes away without a segment. */
static void orphan_fin_wait2_times_out(void **state)
{
	(void)state;
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	cfa.fin_wait2_timeout = 5 * SEC;
	struct h_net *n = h_new_cfg(&cfa, NULL);
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_send_all(ca, "bye");
	h_run(n, 5 * MS);
	h_expect_read(cb, "bye");

	assert_int_equal(ustcp_close(ca), 0);
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSE_WAIT);
	const struct h_seg *ack =
		h_find(n, H_B, H_ALLF, TCP_ACK, h_count(n, H_B, H_ALLF, TCP_ACK) - 1);
	assert_non_null(ack);
	assert_int_equal(h_conns(n, H_A), 1);
	int sent = h_count(n, H_A, 0, 0);
	assert_int_equal(h_find(n, H_A, 0, 0, sent - 1)->flags & TCP_FIN, TCP_FIN);

	/* A entered FIN-WAIT-2 when B's ACK of its FIN arrived. */
	uint64_t t_fw2 = ack->t + 1 * MS;
	assert_true(h_run_cond(n, 20 * SEC, a_empty, n));
	assert_gap(t_fw2, h_now(n), 5 * SEC);
	assert_int_equal(h_count(n, H_A, 0, 0), sent);
	struct ustcp_pool_usage u;
	ustcp_pool_usage(n->st[H_A], &u);
	assert_int_equal(u.buffer_bytes, 0);
	assert_int_equal(u.timers, 0);

	/* B closes late: A no longer knows the connection and resets it. */
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSE_WAIT);
	assert_int_equal(ustcp_close(cb), 0);
	h_run(n, 5 * MS);
	assert_int_equal(h_count(n, H_A, 0, 0), sent + 1);
	assert_int_equal(h_find(n, H_A, 0, 0, sent)->flags, TCP_RST);
	assert_int_equal(h_conns(n, H_B), 1);
	h_finish(n, lb);
}

/* A socket its user still holds is not an orphan: FIN-WAIT-2 lasts. */
static void owned_fin_wait2_does_not_time_out(void **state)
{
	(void)state;
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	cfa.fin_wait2_timeout = 5 * SEC;
	struct h_net *n = h_new_cfg(&cfa, NULL);
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	assert_int_equal(ustcp_shutdown(ca, USTCP_SHUT_WR), 0);
	h_run(n, 20 * SEC);
	assert_int_equal(ustcp_sock_state(ca), USTCP_FIN_WAIT_2);
	/* And it still receives. */
	h_send_all(cb, "still here");
	h_run(n, 5 * MS);
	h_expect_read(ca, "still here");
	ustcp_close(cb);
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_TIME_WAIT);
	ustcp_close(ca);
	h_finish(n, lb);
}

/* A passive connection whose handshake ACK never comes: SYN,ACK repeated
 * synack_retries times with backoff, then the child is dropped; only the
 * listener stays. */
static void syn_received_gives_up(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = h_listen(n), *cb = NULL;
	/* Everything A sends after its SYN carries an ACK: lose it all. */
	h_drop(n, H_A, TCP_ACK, TCP_ACK, -1);
	struct ustcp_sock *ca = h_connect_start(n);
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	assert_int_equal(h_conns(n, H_B), 2);

	assert_true(h_run_cond(n, 600 * SEC, b_one, n));
	const struct ustcp_config *cfb = ustcp_stack_config(n->st[H_B]);
	uint32_t retries = cfb->synack_retries;
	assert_int_equal(h_count(n, H_B, 0, 0), (int)retries + 1);
	uint64_t rto = cfb->rto_initial, prev = 0;
	for (uint32_t i = 0; i <= retries; i++) {
		const struct h_seg *g = h_find(n, H_B, 0, 0, (int)i);
		assert_int_equal(g->flags, TCP_SYN | TCP_ACK);
		if (i > 0) {
			assert_gap(prev, g->t, rto);
			rto = min_u64(rto * 2, cfb->rto_max);
		}
		prev = g->t;
	}
	assert_gap(prev, h_now(n), rto);
	assert_int_equal(ustcp_sock_state(lb), USTCP_LISTEN);
	assert_int_equal(ustcp_accept(lb, &cb), -EAGAIN);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_tcp_attempt_fails), 1);
	struct ustcp_pool_usage u;
	ustcp_pool_usage(n->st[H_B], &u);
	assert_int_equal(u.timers, 0);
	assert_int_equal(u.buffer_bytes, 0);

	ustcp_abort(ca);
	h_finish(n, lb);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(syn_timeout_exponential_backoff),
	cmocka_unit_test(syn_timeout_configured_retries),
	cmocka_unit_test(lost_syn_retransmitted),
	cmocka_unit_test(lost_synack_retransmitted),
	cmocka_unit_test(data_peer_vanishes),
	cmocka_unit_test(orphan_fin_wait2_times_out),
	cmocka_unit_test(owned_fin_wait2_does_not_time_out),
	cmocka_unit_test(syn_received_gives_up),
};

USTCP_TEST_MAIN(tests)
