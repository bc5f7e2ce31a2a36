/* test_rst.c — resets between two stacks: a RST whose sequence number is
 * exactly RCV.NXT ends the connection in every synchronized state (RFC 9293
 * §3.10.7.4, second check; RFC 5961 §3.2), the RSTs a stack makes for
 * segments that belong to no connection (§3.10.7.1), connection refused
 * (§3.10.7.3) and ABORT (§3.10.5). */
#include "harness.h"

#include <errno.h>

/* Flags a rule looks at: PSH included so data segments never match a
 * "pure ACK" rule by accident. */
#define NO_PORT 4242

static const struct h_seg *last_from(const struct h_net *n, int from)
{
	for (int i = n->nlog - 1; i >= 0; i--)
		if (n->log[i].from == from)
			return &n->log[i];
	return NULL;
}

static int count_from(const struct h_net *n, int from) { return h_count(n, from, 0, 0); }

/* Forge a bare RST from the peer of `to` onto connection k (which lives on
 * `to`), with the sequence number it expects next. */
static void rst_exact(struct h_net *n, int to, const struct ustcp_sock *k)
{
	struct ustcp_sock_info i = h_info(k);
	h_inject(n, to, i.remote.port, i.local.port, i.rcv_nxt, 0, TCP_RST, 0, "");
}

/* Connect from A to an existing listener and accept on B. */
static void connect_again(struct h_net *n, struct ustcp_sock *lb, struct ustcp_sock **ca,
			  struct ustcp_sock **cb)
{
	*ca = h_connect_start(n);
	*cb = NULL;
	for (int i = 0; i < 100 && !*cb; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(lb, cb);
	}
	assert_non_null(*cb);
	assert_int_equal(ustcp_sock_state(*ca), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_state(*cb), USTCP_ESTABLISHED);
}

/* §3.10.7.3: in SYN-SENT a RST counts only when its ACK acknowledges our
 * SYN (RFC 5961 §3.2 likewise); a bad ACK without RST gets
 * <SEQ=SEG.ACK><CTL=RST>, a bad ACK with RST is dropped. */
static void rst_in_syn_sent(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	n->blackhole[H_B] = true;
	struct ustcp_sock *ca = h_connect_start(n);
	struct ustcp_sock_info ia = h_info(ca);
	uint16_t ap = ia.local.port;
	h_run(n, 5 * MS);
	int sent = count_from(n, H_A);

	h_inject(n, H_A, PORT_B, ap, 777, 0, TCP_RST, 0, "");
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_syn_sent_bad_rst), 1);
	h_inject(n, H_A, PORT_B, ap, 777, ia.iss, TCP_RST | TCP_ACK, 0, "");
	h_inject(n, H_A, PORT_B, ap, 777, ia.iss + 2, TCP_RST | TCP_ACK, 0, "");
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_syn_sent_bad_ack), 2);
	assert_int_equal(ustcp_sock_state(ca), USTCP_SYN_SENT);
	assert_int_equal(count_from(n, H_A), sent);

	h_inject(n, H_A, PORT_B, ap, 777, ia.iss + 5, TCP_ACK, 0, "");
	assert_int_equal(ustcp_sock_state(ca), USTCP_SYN_SENT);
	assert_int_equal(count_from(n, H_A), sent + 1);
	const struct h_seg *r = last_from(n, H_A);
	assert_int_equal(r->flags, TCP_RST);
	assert_int_equal(r->seq, ia.iss + 5);

	/* An acceptable ACK with neither SYN nor RST: dropped, nothing sent. */
	h_inject(n, H_A, PORT_B, ap, 777, ia.iss + 1, TCP_ACK, 0, "");
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_syn_sent_no_syn), 1);
	assert_int_equal(ustcp_sock_state(ca), USTCP_SYN_SENT);
	assert_int_equal(count_from(n, H_A), sent + 1);

	h_inject(n, H_A, PORT_B, ap, 777, ia.iss + 1, TCP_RST | TCP_ACK, 0, "");
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), -ECONNREFUSED);
	assert_int_equal(count_from(n, H_A), sent + 1);
	n->blackhole[H_B] = false;
	ustcp_close(ca);
	h_finish(n, NULL);
}

/* §3.10.7.4: in SYN-RECEIVED a passive connection hit by a valid RST goes
 * back to LISTEN: the child vanishes, the listener carries on. */
static void rst_in_syn_received(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = h_listen(n), *ca, *cb = NULL;
	/* Lose A's handshake ACK so B's child stays in SYN-RECEIVED. */
	h_drop(n, H_A, H_ALLF, TCP_ACK, 0);
	ca = h_connect_start(n);
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	assert_int_equal(h_conns(n, H_B), 2);
	assert_int_equal(ustcp_accept(lb, &cb), -EAGAIN);

	struct ustcp_sock_info ia = h_info(ca);
	int b_sent = count_from(n, H_B);
	h_inject(n, H_B, ia.local.port, PORT_B, ia.snd_nxt, 0, TCP_RST, 0, "");
	assert_int_equal(h_conns(n, H_B), 1);
	assert_int_equal(ustcp_sock_state(lb), USTCP_LISTEN);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	/* The child is gone: its SYN,ACK timer no longer fires. */
	h_run(n, 10 * SEC);
	assert_int_equal(count_from(n, H_B), b_sent);
	assert_int_equal(ustcp_accept(lb, &cb), -EAGAIN);

	/* The listener still takes new connections. */
	assert_int_equal(ustcp_abort(ca), 0);
	h_run(n, 5 * MS);
	connect_again(n, lb, &ca, &cb);
	h_exchange(n, ca, cb);
	assert_int_equal(h_conns(n, H_B), 2);
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* §3.10.7.4: ESTABLISHED, RST in sequence: "any outstanding RECEIVEs and
 * SEND should receive reset responses", enter CLOSED. */
static void rst_in_established(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_exchange(n, ca, cb);
	assert_int_equal(h_info(ca).rcv_nxt, h_info(cb).snd_nxt);

	int a_sent = count_from(n, H_A);
	rst_exact(n, H_A, ca);
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), -ECONNRESET);
	char buf[16];
	assert_int_equal(ustcp_recv(ca, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(ustcp_send(ca, "x", 1), -ECONNRESET);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_estab_resets), 1);
	assert_int_equal(count_from(n, H_A), a_sent); /* a RST is never answered */
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 0);

	/* B learns on its next send: A answers for a connection it no longer
	 * has with <SEQ=SEG.ACK><CTL=RST> (§3.10.7.1), which B accepts. */
	struct ustcp_sock_info ib = h_info(cb);
	/* No Nagle: "world!" still waits for the ACK A will never send. */
	assert_int_equal(ustcp_setsockopt(cb, USTCP_TCP_NODELAY, 1), 0);
	h_send_all(cb, "more");
	h_run(n, 10 * MS);
	const struct h_seg *r = h_find(n, H_A, TCP_RST, TCP_RST, 0);
	assert_non_null(r);
	assert_int_equal(r->flags, TCP_RST);
	assert_int_equal(r->seq, ib.rcv_nxt); /* B's SEG.ACK */
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_no_conn), 1);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(cb), -ECONNRESET);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_tcp_estab_resets), 1);

	ustcp_close(ca);
	ustcp_close(cb);
	assert_int_equal(h_conns(n, H_A), 0);
	assert_int_equal(h_conns(n, H_B), 1);
	h_finish(n, lb);
}

/* FIN-WAIT-1: our FIN is not yet acknowledged (B's ACKs are lost). */
static void rst_in_fin_wait_1(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_exchange(n, ca, cb);
	h_drop(n, H_B, H_ALLF, TCP_ACK, -1);
	assert_int_equal(ustcp_shutdown(ca, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_FIN_WAIT_1);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSE_WAIT);

	rst_exact(n, H_A, ca);
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), -ECONNRESET);
	char buf[16];
	assert_int_equal(ustcp_recv(ca, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 0);
	ustcp_close(ca);
	assert_int_equal(h_conns(n, H_A), 0);
	n->rules[0].active = false;
	ustcp_close(cb);
	h_finish(n, lb);
}

/* FIN-WAIT-2: our FIN is acknowledged, the peer has not closed. */
static void rst_in_fin_wait_2(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_exchange(n, ca, cb);
	assert_int_equal(ustcp_shutdown(ca, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_FIN_WAIT_2);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSE_WAIT);

	rst_exact(n, H_A, ca);
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), -ECONNRESET);
	char buf[16];
	assert_int_equal(ustcp_recv(ca, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 0);
	ustcp_close(ca);
	assert_int_equal(h_conns(n, H_A), 0);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* CLOSE-WAIT: the peer's FIN is in, ours is not sent. */
static void rst_in_close_wait(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_exchange(n, ca, cb);
	assert_int_equal(ustcp_shutdown(ca, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSE_WAIT);
	/* RCV.NXT counts A's FIN. */
	assert_int_equal(h_info(cb).rcv_nxt, h_info(ca).snd_nxt);

	rst_exact(n, H_B, cb);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(cb), -ECONNRESET);
	assert_int_equal(ustcp_send(cb, "x", 1), -ECONNRESET);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_tcp_estab_resets), 1);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	ustcp_close(cb);
	assert_int_equal(h_conns(n, H_B), 1);
	ustcp_close(ca);
	h_finish(n, lb);
}

/* Simultaneous close where neither FIN's ACK arrives (rules 0 and 1 drop
 * every pure ACK): both ends in CLOSING. */
static struct h_net *both_closing(struct ustcp_sock **ca, struct ustcp_sock **cb,
				  struct ustcp_sock **lb)
{
	struct h_net *n = h_new();
	h_establish(n, ca, cb, lb);
	h_exchange(n, *ca, *cb);
	h_drop(n, H_A, H_ALLF, TCP_ACK, -1);
	h_drop(n, H_B, H_ALLF, TCP_ACK, -1);
	assert_int_equal(ustcp_shutdown(*ca, USTCP_SHUT_WR), 0);
	assert_int_equal(ustcp_shutdown(*cb, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(*ca), USTCP_CLOSING);
	assert_int_equal(ustcp_sock_state(*cb), USTCP_CLOSING);
	return n;
}

/* CLOSING: simultaneous close where neither FIN's ACK arrives. RFC 9293
 * says only "enter the CLOSED state": no error for the user. */
static void rst_in_closing(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = both_closing(&ca, &cb, &lb);

	rst_exact(n, H_A, ca);
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), 0);
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 0);
	ustcp_close(ca);
	assert_int_equal(h_conns(n, H_A), 0);
	n->rules[0].active = n->rules[1].active = false;
	ustcp_close(cb);
	h_finish(n, lb);
}

/* LAST-ACK: B closed after A; A's ACK of B's FIN is lost. */
static void rst_in_last_ack(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_exchange(n, ca, cb);
	assert_int_equal(ustcp_shutdown(ca, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_FIN_WAIT_2);
	h_drop(n, H_A, H_ALLF, TCP_ACK, -1);
	assert_int_equal(ustcp_shutdown(cb, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(cb), USTCP_LAST_ACK);
	assert_int_equal(ustcp_sock_state(ca), USTCP_TIME_WAIT);

	rst_exact(n, H_B, cb);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(cb), 0);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	ustcp_close(cb);
	assert_int_equal(h_conns(n, H_B), 1);
	ustcp_close(ca);
	h_finish(n, lb);
}

/* TIME-WAIT: RFC 9293 §3.10.7.4 lets an in-sequence RST end it at once
 * (RFC 1337 discusses the hazard; RFC 9293 keeps the rule). */
static void rst_in_time_wait(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_exchange(n, ca, cb);
	struct ustcp_sock_info ia = h_info(ca);
	assert_int_equal(ustcp_close(ca), 0); /* A's side becomes an orphan */
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_close(cb), 0);
	h_run(n, 10 * MS);
	assert_int_equal(h_conns(n, H_B), 1);
	assert_int_equal(h_conns(n, H_A), 1);
	const struct h_seg *last = last_from(n, H_A);
	assert_non_null(last);
	assert_int_equal(last->flags, TCP_ACK);
	assert_int_equal(last->state_after, USTCP_TIME_WAIT);

	/* A's last ACK acknowledges B's FIN: its ack field is A's RCV.NXT. */
	int a_sent = count_from(n, H_A);
	h_inject(n, H_A, PORT_B, ia.local.port, last->ack, 0, TCP_RST, 0, "");
	assert_int_equal(h_conns(n, H_A), 0);
	assert_int_equal(count_from(n, H_A), a_sent);
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 0);
	struct ustcp_pool_usage u;
	ustcp_pool_usage(n->st[H_A], &u);
	assert_int_equal(u.timers, 0);
	h_finish(n, lb);
}

/* §3.10.7.1: for a segment without ACK, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
 * with ACK, <SEQ=SEG.ACK><CTL=RST>; a RST gets nothing. */
static void rst_formats_for_no_connection(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	const uint16_t sp = 40000;

	h_inject(n, H_B, sp, NO_PORT, 1000, 0, TCP_SYN, 8192, "");
	const struct h_seg *r = h_find(n, H_B, 0, 0, 0);
	assert_non_null(r);
	assert_int_equal(r->flags, TCP_RST | TCP_ACK);
	assert_int_equal(r->seq, 0);
	assert_int_equal(r->ack, 1001); /* the SYN counts one */
	assert_int_equal(r->sport, NO_PORT);
	assert_int_equal(r->dport, sp);
	assert_int_equal(r->len, 0);

	h_inject(n, H_B, sp, NO_PORT, 5000, 0, TCP_PSH, 8192, "hello");
	r = h_find(n, H_B, 0, 0, 1);
	assert_non_null(r);
	assert_int_equal(r->flags, TCP_RST | TCP_ACK);
	assert_int_equal(r->seq, 0);
	assert_int_equal(r->ack, 5005);

	h_inject(n, H_B, sp, NO_PORT, 7000, 0, TCP_FIN, 8192, "ab");
	r = h_find(n, H_B, 0, 0, 2);
	assert_non_null(r);
	assert_int_equal(r->flags, TCP_RST | TCP_ACK);
	assert_int_equal(r->seq, 0);
	assert_int_equal(r->ack, 7003); /* two bytes and the FIN */

	h_inject(n, H_B, sp, NO_PORT, 1, 0xdeadbeef, TCP_ACK | TCP_PSH, 8192, "data");
	r = h_find(n, H_B, 0, 0, 3);
	assert_non_null(r);
	assert_int_equal(r->flags, TCP_RST);
	assert_int_equal(r->seq, 0xdeadbeef);
	assert_int_equal(r->ack, 0);

	h_inject(n, H_B, sp, NO_PORT, 1, 0xdeadbeef, TCP_ACK | TCP_SYN, 8192, "");
	r = h_find(n, H_B, 0, 0, 4);
	assert_non_null(r);
	assert_int_equal(r->flags, TCP_RST);
	assert_int_equal(r->seq, 0xdeadbeef);

	/* "An incoming segment containing a RST is discarded." */
	h_inject(n, H_B, sp, NO_PORT, 9, 0, TCP_RST, 0, "");
	h_inject(n, H_B, sp, NO_PORT, 9, 9, TCP_RST | TCP_ACK, 0, "");
	assert_int_equal(h_count(n, H_B, 0, 0), 5);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_no_conn), 5);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_rst_no_conn), 2);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_tcp_rst_out), 5);
	assert_int_equal(h_conns(n, H_B), 0);

	/* A has no connection either: the RSTs reaching it are dropped quietly. */
	h_run(n, 10 * MS);
	assert_int_equal(h_count(n, H_A, 0, 0), 0);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_rst_no_conn), 5);
	h_finish(n, NULL);
}

/* §3.10.7.3: a RST acknowledging our SYN means "connection refused". */
static void connection_refused(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca = h_connect_start(n); /* nobody listens on B */
	struct ustcp_sock_info ia = h_info(ca);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), -ECONNREFUSED);
	assert_int_equal(ustcp_send(ca, "x", 1), -ECONNREFUSED);
	char buf[4];
	assert_int_equal(ustcp_recv(ca, buf, sizeof(buf)), -ECONNREFUSED);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_attempt_fails), 1);

	assert_int_equal(h_count(n, H_A, 0, 0), 1);
	const struct h_seg *syn = h_find(n, H_A, 0, 0, 0);
	assert_int_equal(syn->flags, TCP_SYN);
	assert_int_equal(syn->seq, ia.iss);
	assert_int_equal(h_count(n, H_B, 0, 0), 1);
	const struct h_seg *r = h_find(n, H_B, 0, 0, 0);
	assert_int_equal(r->flags, TCP_RST | TCP_ACK);
	assert_int_equal(r->seq, 0);
	assert_int_equal(r->ack, ia.iss + 1);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_no_conn), 1);

	/* No retransmission: the attempt is over. */
	h_run(n, 10 * SEC);
	assert_int_equal(h_count(n, H_A, 0, 0), 1);
	ustcp_close(ca);
	h_finish(n, NULL);
}

/* §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>; the peer's RECEIVE gets "reset". */
static void abort_resets_peer(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_exchange(n, ca, cb);
	struct ustcp_sock_info ia = h_info(ca);
	assert_int_equal(ustcp_abort(ca), 0);
	assert_int_equal(h_conns(n, H_A), 0);
	const struct h_seg *r = last_from(n, H_A);
	assert_non_null(r);
	assert_true(r->flags & TCP_RST);
	assert_int_equal(r->flags & (TCP_SYN | TCP_FIN), 0);
	assert_int_equal(r->seq, ia.snd_nxt);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_rst_out), 1);

	int b_sent = count_from(n, H_B);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(cb), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(cb), -ECONNRESET);
	char buf[4];
	assert_int_equal(ustcp_recv(cb, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_tcp_estab_resets), 1);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	assert_int_equal(count_from(n, H_B), b_sent); /* B sent nothing back */
	ustcp_close(cb);
	h_finish(n, lb);
}

/* §3.10.5: in CLOSING and LAST-ACK our FIN is out and the peer's is in;
 * ABORT there deletes the connection without a RST. */
static void abort_in_closing_and_last_ack_sends_no_rst(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = both_closing(&ca, &cb, &lb);
	int sent = count_from(n, H_A);
	assert_int_equal(ustcp_abort(ca), 0);
	assert_int_equal(count_from(n, H_A), sent);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_rst_out), 0);
	n->rules[0].active = n->rules[1].active = false;
	ustcp_abort(cb);

	/* LAST-ACK: B closes after A; A's ACK of B's FIN is lost. */
	struct ustcp_sock *ca2, *cb2;
	connect_again(n, lb, &ca2, &cb2);
	assert_int_equal(ustcp_shutdown(ca2, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	h_drop(n, H_A, H_ALLF, TCP_ACK, -1);
	assert_int_equal(ustcp_shutdown(cb2, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(cb2), USTCP_LAST_ACK);
	uint64_t rst_b = ustcp_counter(n->st[H_B], USTCP_C_tcp_rst_out);
	sent = count_from(n, H_B);
	assert_int_equal(ustcp_abort(cb2), 0);
	assert_int_equal(count_from(n, H_B), sent);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_tcp_rst_out), rst_b);
	ustcp_close(ca2);
	h_finish(n, lb);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(rst_in_syn_sent),
	cmocka_unit_test(rst_in_syn_received),
	cmocka_unit_test(rst_in_established),
	cmocka_unit_test(rst_in_fin_wait_1),
	cmocka_unit_test(rst_in_fin_wait_2),
	cmocka_unit_test(rst_in_close_wait),
	cmocka_unit_test(rst_in_closing),
	cmocka_unit_test(rst_in_last_ack),
	cmocka_unit_test(rst_in_time_wait),
	cmocka_unit_test(rst_formats_for_no_connection),
	cmocka_unit_test(connection_refused),
	cmocka_unit_test(abort_resets_peer),
	cmocka_unit_test(abort_in_closing_and_last_ack_sends_no_rst),
};

USTCP_TEST_MAIN(tests)
