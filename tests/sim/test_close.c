/* test_close.c — ending connections (RFC 9293 §3.6): active and passive
 * close, FIN+ACK straight to TIME-WAIT, simultaneous close through CLOSING,
 * half-close with data after the FIN, the lost final ACK, TIME-WAIT's
 * 2*MSL, and close with unread data (RFC 1122 §4.2.2.13). */
#include "harness.h"

static bool eof_cond(void *ctx) { return ustcp_sock_eof(ctx); }

static bool readable_cond(void *ctx) { return ustcp_sock_readable(ctx) > 0; }

static void wait_eof(struct h_net *n, struct ustcp_sock *k)
{
	assert_true(h_run_cond(n, 5 * SEC, eof_cond, k));
}

/* The first logged segment from `from` whose sender went to `state`. */
static const struct h_seg *entering(const struct h_net *n, int from, int state)
{
	for (int i = 0; i < n->nlog; i++)
		if (n->log[i].from == from && n->log[i].state_after == state &&
		    n->log[i].state_before != state)
			return &n->log[i];
	return NULL;
}

/* A closes first: FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT; B: CLOSE-WAIT -> LAST-ACK -> CLOSED. */
static void active_and_passive_close(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	assert_int_equal(ustcp_shutdown(a, USTCP_SHUT_WR), 0);
	assert_int_equal(ustcp_sock_state(a), USTCP_FIN_WAIT_1);
	wait_eof(n, b);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSE_WAIT);
	h_run(n, 5 * MS); /* B's ACK of the FIN reaches A */
	assert_int_equal(ustcp_sock_state(a), USTCP_FIN_WAIT_2);
	char c;
	assert_int_equal(ustcp_recv(b, &c, 1), 0);
	assert_int_equal(ustcp_shutdown(b, USTCP_SHUT_WR), 0);
	assert_int_equal(ustcp_sock_state(b), USTCP_LAST_ACK);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(b), 0);
	assert_int_equal(ustcp_sock_state(a), USTCP_TIME_WAIT);
	assert_int_equal(ustcp_recv(a, &c, 1), 0);

	const struct h_seg *fa = h_find(n, H_A, TCP_FIN, TCP_FIN, 0);
	const struct h_seg *fb = h_find(n, H_B, TCP_FIN, TCP_FIN, 0);
	assert_non_null(fa);
	assert_non_null(fb);
	assert_int_equal(fb->ack, fa->seq + 1);
	const struct h_seg *last = entering(n, H_A, USTCP_TIME_WAIT);
	assert_non_null(last);
	assert_int_equal(last->state_before, USTCP_FIN_WAIT_2);
	assert_int_equal(last->ack, fb->seq + 1);
	assert_int_equal(h_count(n, H_A, TCP_FIN, TCP_FIN), 1);
	assert_int_equal(h_count(n, H_B, TCP_FIN, TCP_FIN), 1);
	ustcp_close(b);
	ustcp_close(a);
	ustcp_close(l);
	assert_int_equal(h_conns(n, H_B), 0);
	assert_int_equal(h_conns(n, H_A), 1); /* TIME-WAIT outlives the socket */
	h_run(n, 61 * SEC);
	assert_int_equal(h_conns(n, H_A), 0);
	h_free(n);
}

/* B's ACK of A's FIN is lost, so B's FIN,ACK acknowledges A's FIN too:
 * A goes from FIN-WAIT-1 straight to TIME-WAIT (RFC 9293 §3.10.7.4 FIN). */
static void fin_ack_straight_to_time_wait(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	h_drop(n, H_B, 0xff, TCP_ACK, 0); /* B's next pure ACK: the one for A's FIN */
	ustcp_shutdown(a, USTCP_SHUT_WR);
	wait_eof(n, b);
	assert_int_equal(ustcp_sock_state(a), USTCP_FIN_WAIT_1);
	ustcp_shutdown(b, USTCP_SHUT_WR);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_TIME_WAIT);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSED);
	const struct h_seg *g = entering(n, H_A, USTCP_TIME_WAIT);
	assert_non_null(g);
	assert_int_equal(g->state_before, USTCP_FIN_WAIT_1);
	assert_null(entering(n, H_A, USTCP_FIN_WAIT_2));
	ustcp_close(a);
	ustcp_close(b);
	ustcp_close(l);
	h_free(n);
}

/* Both close at once: FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both sides. */
static void simultaneous_close(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	ustcp_shutdown(a, USTCP_SHUT_WR);
	ustcp_shutdown(b, USTCP_SHUT_WR);
	assert_int_equal(ustcp_sock_state(a), USTCP_FIN_WAIT_1);
	assert_int_equal(ustcp_sock_state(b), USTCP_FIN_WAIT_1);
	h_run(n, 10 * MS);
	for (int side = 0; side < 2; side++) {
		const struct h_seg *g = entering(n, side, USTCP_CLOSING);
		assert_non_null(g); /* the ACK of the peer's FIN, sent from CLOSING */
		assert_int_equal(g->state_before, USTCP_FIN_WAIT_1);
		assert_int_equal(g->flags, TCP_ACK);
		assert_int_equal(h_count(n, side, TCP_FIN, TCP_FIN), 1);
	}
	assert_int_equal(ustcp_sock_state(a), USTCP_TIME_WAIT);
	assert_int_equal(ustcp_sock_state(b), USTCP_TIME_WAIT);
	h_run(n, 61 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSED);
	ustcp_close(a);
	ustcp_close(b);
	ustcp_close(l);
	assert_int_equal(h_conns(n, H_A) + h_conns(n, H_B), 0);
	h_free(n);
}

/* A shuts down its sending side; B goes on sending, A goes on receiving. */
static void half_close_data_after_fin(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	h_send_all(a, "last words");
	ustcp_shutdown(a, USTCP_SHUT_WR);
	assert_int_equal(ustcp_send(a, "x", 1), -EPIPE);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSE_WAIT);
	h_expect_read(b, "last words");
	char c;
	assert_int_equal(ustcp_recv(b, &c, 1), 0);
	assert_int_equal(ustcp_sock_state(a), USTCP_FIN_WAIT_2);
	for (int i = 0; i < 5; i++) {
		h_send_all(b, "more data ");
		/* Nagle (RFC 896) holds a small segment until the last is acked,
		 * and A delays that ACK (RFC 1122 §4.2.3.2): up to 40 ms. */
		assert_true(h_run_cond(n, 1 * SEC, readable_cond, a));
		h_expect_read(a, "more data ");
		assert_int_equal(ustcp_sock_state(a), USTCP_FIN_WAIT_2);
	}
	ustcp_close(b);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_TIME_WAIT);
	assert_int_equal(ustcp_recv(a, &c, 1), 0);
	ustcp_close(a);
	ustcp_close(l);
	h_free(n);
}

/* A's final ACK is lost: B retransmits its FIN from LAST-ACK, A in TIME-WAIT
 * answers it again and restarts 2*MSL. */
static void lost_final_ack(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	ustcp_shutdown(a, USTCP_SHUT_WR);
	wait_eof(n, b);
	h_drop(n, H_A, 0xff, TCP_ACK, 0); /* A's next pure ACK: the final one */
	uint64_t rto_b = h_info(b).rto;
	ustcp_shutdown(b, USTCP_SHUT_WR);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_TIME_WAIT);
	assert_int_equal(ustcp_sock_state(b), USTCP_LAST_ACK);
	uint64_t t_tw = h_now(n);
	h_run(n, 3 * SEC);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(b), 0);
	assert_int_equal(h_count(n, H_B, TCP_FIN, TCP_FIN), 2);
	const struct h_seg *f1 = h_find(n, H_B, TCP_FIN, TCP_FIN, 0);
	const struct h_seg *f2 = h_find(n, H_B, TCP_FIN, TCP_FIN, 1);
	assert_int_equal(f1->seq, f2->seq);
	/* After B's RTO: 200 ms, the floor, for a 2 ms round trip. */
	assert_int_equal(rto_b, 200 * MS);
	assert_true(f2->t - f1->t >= rto_b && f2->t - f1->t <= rto_b + 1 * MS);
	/* Two ACKs of B's FIN from A in TIME-WAIT (the first was lost). */
	int acks = 0;
	for (int i = 0; i < n->nlog; i++)
		if (n->log[i].from == H_A && n->log[i].ack == f1->seq + 1 &&
		    n->log[i].state_after == USTCP_TIME_WAIT)
			acks++;
	assert_int_equal(acks, 2);
	/* 2*MSL counts again from the retransmitted FIN's arrival: 100 ms
	 * before that ends, A is still in TIME-WAIT, although 2*MSL from the
	 * first FIN ran out 100 ms earlier; 100 ms after, it is gone. */
	uint64_t t_restart = f2->t + 1 * MS;
	assert_true(t_restart - t_tw < 1 * SEC);
	h_run(n, t_restart + 60 * SEC - 100 * MS - h_now(n));
	assert_int_equal(ustcp_sock_state(a), USTCP_TIME_WAIT);
	h_run(n, 200 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	ustcp_close(a);
	ustcp_close(b);
	ustcp_close(l);
	h_free(n);
}

/* TIME-WAIT lasts 2*MSL of virtual time, here with MSL = 5 s. */
static void time_wait_lasts_2msl(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.msl = 5 * SEC;
	struct h_net *n = h_new_cfg(&ca, NULL);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	ustcp_shutdown(a, USTCP_SHUT_WR);
	wait_eof(n, b);
	ustcp_shutdown(b, USTCP_SHUT_WR);
	h_run(n, 2 * MS); /* B's FIN arrives after 1 ms */
	assert_int_equal(ustcp_sock_state(a), USTCP_TIME_WAIT);
	const struct h_seg *g = entering(n, H_A, USTCP_TIME_WAIT);
	assert_non_null(g);
	uint64_t t0 = g->t;
	h_run(n, t0 + 10 * SEC - h_now(n) - 2 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_TIME_WAIT);
	h_run(n, 4 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), 0);
	ustcp_close(a);
	ustcp_close(b);
	ustcp_close(l);
	assert_int_equal(h_conns(n, H_A), 0);
	h_free(n);
}

/* RFC 1122 §4.2.2.13: close with unread data resets the connection. */
static void close_with_unread_data_sends_rst(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	h_send_all(a, "unread");
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_readable(b), 6);
	ustcp_close(b);
	h_run(n, 10 * MS);
	const struct h_seg *rst = h_find(n, H_B, TCP_RST, TCP_RST, 0);
	assert_non_null(rst);
	assert_int_equal(h_count(n, H_B, TCP_FIN, TCP_FIN), 0);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -ECONNRESET);
	char c;
	assert_int_equal(ustcp_recv(a, &c, 1), -ECONNRESET);
	assert_int_equal(ustcp_send(a, "x", 1), -ECONNRESET);
	ustcp_close(a);
	ustcp_close(l);
	assert_int_equal(h_conns(n, H_A) + h_conns(n, H_B), 0);
	h_free(n);
}

/* Data that arrives after the user closed (nobody will read it) is answered
 * with RST rather than acknowledged into the void. */
static void data_after_close_resets(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	ustcp_close(b); /* B: FIN-WAIT-1, orphaned */
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSE_WAIT);
	h_send_all(a, "anyone there?");
	h_run(n, 10 * MS);
	assert_non_null(h_find(n, H_B, TCP_RST, TCP_RST, 0));
	assert_int_equal(ustcp_sock_error(a), -ECONNRESET);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_data_closed_rcv), 1);
	ustcp_close(a);
	ustcp_close(l);
	assert_int_equal(h_conns(n, H_A) + h_conns(n, H_B), 0);
	h_free(n);
}

/* Send len bytes from `from` and read them all on `to`. */
static void bulk(struct h_net *n, struct ustcp_sock *from, struct ustcp_sock *to, size_t len)
{
	static char buf[65536];
	size_t sent = 0, got = 0;
	for (int i = 0; i < 100000 && got < len; i++) {
		while (sent < len) {
			size_t want = len - sent < sizeof(buf) ? len - sent : sizeof(buf);
			long r = ustcp_send(from, buf, want);
			if (r <= 0)
				break;
			sent += (size_t)r;
		}
		h_run(n, 1 * MS);
		long r;
		while ((r = ustcp_recv(to, buf, sizeof(buf))) > 0)
			got += (size_t)r;
	}
	assert_int_equal(got, len);
}

/* B (the server) closes first and sits in TIME-WAIT; the client connects
 * again from the same port, and B's listener takes the SYN (RFC 6191,
 * RFC 1122 §4.2.2.13). `sender` moved 4 MB before, far more than the ISN
 * clock advanced meanwhile. Returns B's new connection; *old is the TIME-WAIT
 * connection's info as it was when the SYN came. */
static struct ustcp_sock *reopen_after_bulk(struct h_net *n, int sender, struct ustcp_sock **a,
					    struct ustcp_sock **l, struct ustcp_sock_info *old,
					    uint32_t *last_tsval_b)
{
	struct ustcp_endpoint from = {.port = 40000},
			      to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	*l = h_listen(n);
	assert_int_equal(ustcp_connect_to(n->st[H_A], from, to, a), 0);
	struct ustcp_sock *b = NULL;
	for (int i = 0; i < 100 && !b; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(*l, &b);
	}
	assert_non_null(b);
	if (sender == H_B)
		bulk(n, b, *a, 4u << 20);
	else
		bulk(n, *a, b, 4u << 20);
	n->nlog = 0;
	/* B shuts down rather than closes: it keeps its socket, to look at
	 * the TIME-WAIT connection. */
	assert_int_equal(ustcp_shutdown(b, USTCP_SHUT_WR), 0);
	wait_eof(n, *a);
	assert_int_equal(ustcp_close(*a), 0);
	h_run(n, 10 * MS);
	*last_tsval_b = 0;
	for (int i = 0; i < n->nlog; i++)
		if (n->log[i].from == H_B && (n->log[i].opts.present & TCP_OPT_TIMESTAMP))
			*last_tsval_b = n->log[i].opts.ts_val;
	assert_int_equal(h_conns(n, H_A), 0);
	/* B's TIME-WAIT connection is the one left beside the listener. */
	assert_int_equal(h_conns(n, H_B), 2);
	*old = h_info(b);
	assert_int_equal(old->state, USTCP_TIME_WAIT);
	h_run(n, 100 * MS);
	n->nlog = 0;
	assert_int_equal(ustcp_connect_to(n->st[H_A], from, to, a), 0);
	struct ustcp_sock *b2 = NULL;
	for (int i = 0; i < 100 && !b2; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(*l, &b2);
	}
	assert_non_null(b2);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_tcp_timewait_reused), 1);
	assert_int_equal(h_count(n, H_A, TCP_RST, TCP_RST), 0);
	assert_int_equal(ustcp_sock_state(b), USTCP_CLOSED); /* the new SYN ended it */
	assert_int_equal(ustcp_close(b), 0);
	return b2;
}

/* Without timestamps only the sequence numbers keep the incarnations
 * apart: B's new ISS lies above everything the old connection sent, where
 * the ISN clock alone (RFC 6528) would have put it below the 4 MB B sent. */
static void time_wait_reopen_iss_above_old(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.timestamps = cb.timestamps = 0;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *a, *l;
	struct ustcp_sock_info old;
	uint32_t last_ts;
	struct ustcp_sock *b = reopen_after_bulk(n, H_B, &a, &l, &old, &last_ts);
	struct ustcp_sock_info ib = h_info(b);
	assert_true((int32_t)(ib.iss - old.snd_max) > 65535);
	h_exchange(n, a, b);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* With timestamps the SYN is told new by its timestamp (RFC 6191 §2),
 * even though the client's 4 MB put the old connection's sequence
 * numbers above its new ISN; and B's timestamp clock runs on across the
 * two incarnations (RFC 7323 §5.4), so the peer's PAWS holds off B's old
 * duplicates too. */
static void time_wait_reopen_by_timestamp(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *l;
	struct ustcp_sock_info old;
	uint32_t last_ts;
	struct ustcp_sock *b = reopen_after_bulk(n, H_A, &a, &l, &old, &last_ts);
	assert_true((int32_t)(h_info(a).iss - old.rcv_nxt) < 0); /* the seq rule would refuse */
	const struct h_seg *sa = h_find(n, H_B, 0xff, TCP_SYN | TCP_ACK, 0);
	assert_non_null(sa);
	assert_true(sa->opts.present & TCP_OPT_TIMESTAMP);
	assert_true(last_ts != 0);
	assert_true((int32_t)(sa->opts.ts_val - last_ts) >= 100); /* 100 ms on, in ms ticks */
	h_exchange(n, a, b);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(active_and_passive_close),
	cmocka_unit_test(fin_ack_straight_to_time_wait),
	cmocka_unit_test(simultaneous_close),
	cmocka_unit_test(time_wait_reopen_iss_above_old),
	cmocka_unit_test(time_wait_reopen_by_timestamp),
	cmocka_unit_test(half_close_data_after_fin),
	cmocka_unit_test(lost_final_ack),
	cmocka_unit_test(time_wait_lasts_2msl),
	cmocka_unit_test(close_with_unread_data_sends_rst),
	cmocka_unit_test(data_after_close_resets),
};

USTCP_TEST_MAIN(tests)
