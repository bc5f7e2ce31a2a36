/* test_blind.c — RFC 5961 defences against blind in-window attacks on an
 * established connection: RST (§3), SYN (§4) and data with a forged ACK
 * (§5) get a challenge ACK or are dropped, the challenge ACKs are rate
 * limited (§7), and the connection keeps carrying real data. Segments out
 * of the window get a duplicate ACK (RFC 9293 §3.10.7.4, first check). */
#include "harness.h"

#include <errno.h>

/* Real data still goes both ways, and both ends stay ESTABLISHED. */
static void flows(struct h_net *n, struct ustcp_sock *ca, struct ustcp_sock *cb)
{
	h_exchange(n, ca, cb);
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_state(cb), USTCP_ESTABLISHED);
}

static void close_both(struct h_net *n, struct ustcp_sock *ca, struct ustcp_sock *cb,
		       struct ustcp_sock *lb)
{
	assert_int_equal(ustcp_close(ca), 0);
	assert_int_equal(ustcp_close(cb), 0);
	h_finish(n, lb);
}

/* Forge a segment to A as if from B on connection ca. */
static void to_a(struct h_net *n, const struct ustcp_sock *ca, uint32_t seq, uint32_t ack,
		 uint8_t flags, const char *data)
{
	h_inject(n, H_A, PORT_B, h_info(ca).local.port, seq, ack, flags, 65535, data);
}

/* Exactly one segment went out of A since `before`: a pure ACK carrying
 * <SEQ=SND.NXT><ACK=RCV.NXT> of the connection as it is now. */
static void expect_one_ack(const struct h_net *n, int before, const struct ustcp_sock *ca)
{
	struct ustcp_sock_info ia = h_info(ca);
	assert_int_equal(h_count(n, H_A, 0, 0), before + 1);
	const struct h_seg *g = h_find(n, H_A, 0, 0, before);
	assert_non_null(g);
	assert_int_equal(g->flags, TCP_ACK);
	assert_int_equal(g->len, 0);
	assert_int_equal(g->seq, ia.snd_nxt);
	assert_int_equal(g->ack, ia.rcv_nxt);
}

/* A config for side `side` with this receive buffer. */
static const struct ustcp_config *h_init_cfg_rcvbuf(int side, uint32_t rcvbuf)
{
	static struct ustcp_config c;
	h_init_cfg(&c, side == H_A ? 3 : 1);
	c.rcvbuf = rcvbuf;
	return &c;
}

static struct h_net *setup(struct ustcp_sock **ca, struct ustcp_sock **cb, struct ustcp_sock **lb)
{
	struct h_net *n = h_new();
	h_establish(n, ca, cb, lb);
	flows(n, *ca, *cb);
	return n;
}

/* §3.2: a RST in the window but not at RCV.NXT is answered with a
 * challenge ACK and otherwise ignored. */
static void blind_rst_in_window_challenged(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	struct ustcp_sock_info before = h_info(ca);
	assert_true(before.rcv_wnd > 1000);

	int sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, before.rcv_nxt + 1000, 0, TCP_RST, "");
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	expect_one_ack(n, sent, ca);
	assert_int_equal(h_info(ca).rcv_nxt, before.rcv_nxt);
	assert_int_equal(h_info(ca).snd_nxt, before.snd_nxt);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_rst_challenged), 1);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 1);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_estab_resets), 0);

	/* The last byte of the window, and a RST with an ACK, too. */
	sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, before.rcv_nxt + before.rcv_wnd - 1, before.snd_nxt, TCP_RST | TCP_ACK, "");
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	expect_one_ack(n, sent, ca);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_rst_challenged), 2);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 2);
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 2);

	flows(n, ca, cb);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	close_both(n, ca, cb, lb);
}

/* RFC 9293 §3.10.7.4 / RFC 5961 §3.2: a RST outside the window is
 * silently discarded. */
static void blind_rst_out_of_window_dropped(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	struct ustcp_sock_info ia = h_info(ca);
	int sent = h_count(n, H_A, 0, 0);

	to_a(n, ca, ia.rcv_nxt + ia.rcv_wnd, 0, TCP_RST, "");           /* just past the window */
	to_a(n, ca, ia.rcv_nxt + 0x40000000u, 0, TCP_RST, "");          /* far ahead */
	to_a(n, ca, ia.rcv_nxt - 1, ia.snd_nxt, TCP_RST | TCP_ACK, ""); /* just behind */
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	assert_int_equal(h_count(n, H_A, 0, 0), sent);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_rst_out_of_window), 3);
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 3);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 0);

	flows(n, ca, cb);
	close_both(n, ca, cb, lb);
}

/* §4.2: a SYN in a synchronized state gets a challenge ACK; the
 * connection is not reset. */
static void blind_syn_in_window_challenged(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	struct ustcp_sock_info ia = h_info(ca);

	int sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, ia.rcv_nxt + 10, 0, TCP_SYN, "");
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	expect_one_ack(n, sent, ca);
	/* Exactly at RCV.NXT as well, with an ACK (a SYN,ACK). */
	sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, ia.rcv_nxt, ia.snd_nxt, TCP_SYN | TCP_ACK, "");
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	expect_one_ack(n, sent, ca);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_syn_challenged), 2);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 2);
	assert_int_equal(h_info(ca).rcv_nxt, ia.rcv_nxt);

	flows(n, ca, cb);
	close_both(n, ca, cb, lb);
}

/* §4.2: "If the SYN bit is set, irrespective of the sequence number, TCP
 * MUST send an ACK (also referred to as challenge ACK)": a SYN outside the
 * window is challenged (and so rate limited, §7) like one inside it. */
static void blind_syn_out_of_window_challenged(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	struct ustcp_sock_info ia = h_info(ca);

	int sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, ia.rcv_nxt + 0x20000000u, 0, TCP_SYN, "");
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	expect_one_ack(n, sent, ca);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_syn_challenged), 1);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 1);

	flows(n, ca, cb);
	close_both(n, ca, cb, lb);
}

/* §5.2: data whose ACK is outside [SND.UNA - MAX.SND.WND, SND.NXT] is
 * discarded and answered with a challenge ACK; RFC 9293 §3.10.7.4 (fifth
 * check) likewise for an ACK of something not yet sent. */
static void blind_data_bad_ack_not_accepted(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	struct ustcp_sock_info ia = h_info(ca);

	/* Acknowledges data never sent. */
	int sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, ia.rcv_nxt, ia.snd_nxt + 1000, TCP_ACK | TCP_PSH, "evil");
	assert_int_equal(ustcp_sock_readable(ca), 0);
	char buf[16];
	assert_int_equal(ustcp_recv(ca, buf, sizeof(buf)), -EAGAIN);
	expect_one_ack(n, sent, ca);
	assert_int_equal(h_info(ca).rcv_nxt, ia.rcv_nxt);
	assert_int_equal(h_info(ca).snd_una, ia.snd_una);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_ack_unsent), 1);

	/* Far older than SND.UNA - MAX.SND.WND (B never offered more than its
	 * 256 KiB buffer). */
	assert_true(ia.snd_wnd <= 256 * 1024);
	sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, ia.rcv_nxt, ia.snd_una - 400000, TCP_ACK | TCP_PSH, "evil");
	assert_int_equal(ustcp_sock_readable(ca), 0);
	expect_one_ack(n, sent, ca);
	assert_int_equal(h_info(ca).rcv_nxt, ia.rcv_nxt);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_ack_challenged), 1);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 2);
	/* Only the six bytes of the real exchange ("world!"), none of the forged ones. */
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_data_in_bytes), 6);
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 2);

	flows(n, ca, cb);
	close_both(n, ca, cb, lb);
}

/* RFC 9293 §3.10.7.4 first check: a segment with no byte in the window is
 * not processed; "an acknowledgment should be sent in reply". */
static void blind_data_out_of_window_dup_ack(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	struct ustcp_sock_info ia = h_info(ca);

	int sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, ia.rcv_nxt + ia.rcv_wnd, ia.snd_nxt, TCP_ACK | TCP_PSH, "evil");
	expect_one_ack(n, sent, ca);
	sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, ia.rcv_nxt + 0x30000000u, ia.snd_nxt, TCP_ACK | TCP_PSH, "evil");
	expect_one_ack(n, sent, ca);
	/* Entirely old: ends just before RCV.NXT. */
	sent = h_count(n, H_A, 0, 0);
	to_a(n, ca, ia.rcv_nxt - 4, ia.snd_nxt, TCP_ACK | TCP_PSH, "evil");
	expect_one_ack(n, sent, ca);

	assert_int_equal(ustcp_sock_readable(ca), 0);
	assert_int_equal(h_info(ca).rcv_nxt, ia.rcv_nxt);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_not_acceptable), 3);
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 3);
	/* A duplicate ACK, not a challenge ACK. */
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 0);

	flows(n, ca, cb);
	close_both(n, ca, cb, lb);
}

/* §7: challenge ACKs are limited per second; the rest are counted. */
static void challenge_ack_rate_limit(void **state)
{
	(void)state;
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	cfa.challenge_ack_limit = 5;
	struct h_net *n = h_new_cfg(&cfa, NULL);
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	flows(n, ca, cb);

	uint64_t t0 = h_now(n);
	int sent = h_count(n, H_A, 0, 0);
	for (int i = 0; i < 20; i++) {
		to_a(n, ca, h_info(ca).rcv_nxt + 100 + (uint32_t)i, 0, TCP_RST, "");
		h_run(n, 10 * MS);
	}
	assert_true(h_now(n) - t0 < 1 * SEC);
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	assert_int_equal(h_count(n, H_A, 0, 0), sent + 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(h_find(n, H_A, 0, 0, sent + i)->flags, TCP_ACK);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 5);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks_limited), 15);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_rst_challenged), 20);

	/* A second later the budget is back. */
	h_run(n, 1100 * MS);
	sent = h_count(n, H_A, 0, 0);
	for (int i = 0; i < 6; i++)
		to_a(n, ca, h_info(ca).rcv_nxt + 100, 0, TCP_RST, "");
	assert_int_equal(h_count(n, H_A, 0, 0), sent + 5);
	for (int i = 0; i < 5; i++) {
		const struct h_seg *g = h_find(n, H_A, 0, 0, sent + i);
		assert_int_equal(g->flags, TCP_ACK);
		assert_int_equal(g->seq, h_info(ca).snd_nxt);
		assert_int_equal(g->ack, h_info(ca).rcv_nxt);
	}
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 10);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks_limited), 16);

	flows(n, ca, cb);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	close_both(n, ca, cb, lb);
}

/* §3.2: the challenge ACK is what lets a peer that really lost the
 * connection reset it: its RST carries SEG.ACK of the challenge ACK, which
 * is exactly RCV.NXT. */
static void challenge_ack_lets_real_reset_through(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	/* B forgets the connection without telling A. */
	n->blackhole[H_B] = true;
	assert_int_equal(ustcp_abort(cb), 0);
	h_run(n, 10 * MS);
	n->blackhole[H_B] = false;
	assert_int_equal(h_conns(n, H_B), 1);
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);

	/* An old RST, in A's window but not exact. */
	struct ustcp_sock_info ia = h_info(ca);
	to_a(n, ca, ia.rcv_nxt + 300, 0, TCP_RST, "");
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	h_run(n, 10 * MS);
	const struct h_seg *r = h_find(n, H_B, TCP_RST, TCP_RST, 1);
	assert_non_null(r); /* the first was B's own abort, blackholed */
	assert_int_equal(r->flags, TCP_RST);
	assert_int_equal(r->seq, ia.rcv_nxt);
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), -ECONNRESET);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_challenge_acks), 1);
	assert_int_equal(ustcp_close(ca), 0);
	h_finish(n, lb);
}

/* CVE-2016-5696: with one challenge-ACK budget for the whole stack, an
 * off-path host learns whether a guessed connection exists (a spoofed SYN
 * for it is challenged, spending the budget) and whether a guessed
 * sequence number is in its window (an in-window RST is challenged, one
 * outside is dropped silently): it counts the challenge ACKs left for its
 * own connection. Per connection, the count is the same either way. */
static int attackers_challenge_acks(bool hit_tuple, bool hit_window)
{
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	cfa.challenge_ack_limit = 50;
	struct h_net *n = h_new_cfg(&cfa, NULL);
	struct ustcp_sock *own, *own_b, *victim, *victim_b, *lb;
	h_establish(n, &own, &own_b, &lb);
	victim = h_connect_start(n);
	victim_b = NULL;
	for (int i = 0; i < 100 && !victim_b; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(lb, &victim_b);
	}
	assert_non_null(victim_b);
	struct ustcp_sock_info iv = h_info(victim), io = h_info(own);
	uint16_t vport = hit_tuple ? iv.local.port : (uint16_t)(iv.local.port + 1);
	/* The guesses, in one second: SYNs for the 4-tuple, and RSTs with a
	 * sequence number in or out of the victim's window. */
	for (int i = 0; i < 50; i++)
		h_inject(n, H_A, PORT_B, vport, 12345, 0, TCP_SYN, 65535, NULL);
	uint32_t rst_seq = hit_window ? iv.rcv_nxt + 1000 : iv.rcv_nxt + 0x40000000u;
	for (int i = 0; i < 50; i++)
		h_inject(n, H_A, PORT_B, iv.local.port, rst_seq, 0, TCP_RST, 0, NULL);
	/* Then on its own connection: how many challenge ACKs come back? */
	int before = n->nlog;
	for (int i = 0; i < 50; i++)
		h_inject(n, H_A, PORT_B, io.local.port, io.rcv_nxt + 1000, 0, TCP_RST, 0, NULL);
	int acks = 0;
	for (int i = before; i < n->nlog; i++)
		if (n->log[i].from == H_A && n->log[i].dport == PORT_B &&
		    n->log[i].sport == io.local.port && n->log[i].flags == TCP_ACK)
			acks++;
	assert_int_equal(ustcp_sock_state(victim), USTCP_ESTABLISHED);
	ustcp_abort(own);
	ustcp_abort(victim);
	ustcp_close(own_b);
	ustcp_close(victim_b);
	h_finish(n, lb);
	return acks;
}

static void challenge_acks_per_connection(void **state)
{
	(void)state;
	int miss = attackers_challenge_acks(false, false);
	assert_int_equal(miss, 50);
	assert_int_equal(attackers_challenge_acks(true, false), miss);
	assert_int_equal(attackers_challenge_acks(false, true), miss);
	assert_int_equal(attackers_challenge_acks(true, true), miss);
}

/* A keepalive-probing connection whose peer is gone: segments that fail
 * the checks (out of the window, or acknowledging what was never sent) are
 * not the peer answering, so a spoofer sending them cannot keep the
 * connection open; it times out as it would in silence (RFC 1122
 * §4.2.3.6). */
static void spoofed_segments_do_not_keep_dead_peer_alive(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	assert_int_equal(ustcp_setsockopt(ca, USTCP_SO_KEEPALIVE, 1), 0);
	assert_int_equal(ustcp_setsockopt(ca, USTCP_TCP_KEEPIDLE, 10 * SEC), 0);
	assert_int_equal(ustcp_setsockopt(ca, USTCP_TCP_KEEPINTVL, 1 * SEC), 0);
	assert_int_equal(ustcp_setsockopt(ca, USTCP_TCP_KEEPCNT, 3), 0);
	h_run(n, 100 * MS); /* B's delayed ACK of the last data */
	assert_int_equal(h_info(ca).bytes_in_flight, 0);
	n->blackhole[H_B] = true; /* B is gone */
	struct ustcp_sock_info ia = h_info(ca);
	for (int i = 0; i < 60 && ustcp_sock_state(ca) != USTCP_CLOSED; i++) {
		to_a(n, ca, ia.rcv_nxt + 0x40000000u, ia.snd_nxt, TCP_ACK, "");
		to_a(n, ca, ia.rcv_nxt, ia.snd_nxt + 100000, TCP_ACK, "");
		h_run(n, 500 * MS);
	}
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), -ETIMEDOUT);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_keepalive_drops), 1);
	ustcp_close(ca);
	n->blackhole[H_B] = false;
	ustcp_abort(cb);
	h_finish(n, lb);
}

/* The same for window probes: a peer that stopped answering them is given
 * up after data_retries probes, however many spoofed segments arrive. */
static void spoofed_segments_do_not_answer_window_probes(void **state)
{
	(void)state;
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	cfa.data_retries = 4;
	struct h_net *n = h_new_cfg(&cfa, h_init_cfg_rcvbuf(1, 4096));
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	char buf[8192] = {0};
	assert_int_equal(ustcp_send(ca, buf, sizeof(buf)), (long)sizeof(buf));
	for (int i = 0; i < 50 && h_info(ca).snd_wnd; i++)
		h_run(n, 100 * MS);
	assert_int_equal(h_info(ca).snd_wnd, 0); /* B's 4 KiB are full */
	n->blackhole[H_B] = true;
	struct ustcp_sock_info ia = h_info(ca);
	for (int i = 0; i < 2000 && ustcp_sock_state(ca) != USTCP_CLOSED; i++) {
		to_a(n, ca, ia.rcv_nxt + 0x40000000u, ia.snd_una, TCP_ACK, "");
		h_run(n, 500 * MS);
	}
	assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(ca), -ETIMEDOUT);
	ustcp_close(ca);
	n->blackhole[H_B] = false;
	ustcp_abort(cb);
	h_finish(n, lb);
}

/* RFC 7323 §4.3 and §5.3 R3: TS.Recent takes the timestamp of an acceptable
 * segment only. A forged segment at RCV.NXT with a wild timestamp and an
 * ACK of data never sent is dropped, and must not raise TS.Recent: if it
 * did, PAWS would then drop every real segment of the peer. */
static void forged_timestamp_with_bad_ack_ignored(void **state)
{
	(void)state;
	struct ustcp_sock *ca, *cb, *lb;
	struct h_net *n = setup(&ca, &cb, &lb);
	struct ustcp_sock_info ia = h_info(ca);
	assert_true(ia.timestamps);
	struct tcp_hdr th = {.sport = PORT_B,
			     .dport = ia.local.port,
			     .seq = ia.rcv_nxt,
			     .ack = ia.snd_nxt + 100000,
			     .flags = TCP_ACK,
			     .win = 65535};
	th.opts.present = TCP_OPT_TIMESTAMP;
	const struct h_seg *last_b = NULL;
	for (int i = 0; i < n->nlog; i++)
		if (n->log[i].from == H_B)
			last_b = &n->log[i];
	assert_non_null(last_b);
	th.opts.ts_val = last_b->opts.ts_val + 0x40000000u;
	th.opts.ts_ecr = 0;
	h_inject_seg(n, H_A, &th, NULL, 0);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_ack_unsent), 1);
	flows(n, ca, cb);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_paws), 0);
	/* Nor does an old duplicate of data already received, out of the
	 * window: A's ACK for it echoes B's newest real timestamp. */
	ia = h_info(ca);
	th.seq = ia.rcv_nxt - 3;
	th.ack = ia.snd_nxt;
	th.flags = TCP_ACK | TCP_PSH;
	for (int i = 0; i < n->nlog; i++)
		if (n->log[i].from == H_B)
			last_b = &n->log[i];
	uint32_t newest = last_b->opts.ts_val;
	th.opts.ts_val = newest + 5000;
	int before = n->nlog;
	h_inject_seg(n, H_A, &th, (const uint8_t *)"ld!", 3);
	assert_int_equal(n->nlog, before + 1);
	assert_int_equal(n->log[before].opts.ts_ecr, newest);
	flows(n, ca, cb);
	close_both(n, ca, cb, lb);
}

/* Forged data that A takes in its window leaves A's RCV.NXT beyond all B
 * ever sent: each end then finds the other's ACKs unusable. The ACKs that
 * answer them are limited (once per 500 ms per connection), so the two do
 * not answer each other forever: also on a link without delay, at time 0,
 * where a clock that starts at 0 once let the limit pass every ACK. */
static void ack_loop_after_injection_is_bounded(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	h_set_delay(n, 0);
	struct ustcp_sock *lb = h_listen(n), *ca = h_connect_start(n), *cb = NULL;
	ustcp_sim_run_until(n->sim, 0);
	assert_int_equal(ustcp_accept(lb, &cb), 0);
	assert_int_equal(h_now(n), 0);
	struct ustcp_sock_info ia = h_info(ca);
	int before = n->nlog;
	assert_int_equal(ustcp_setsockopt(ca, USTCP_TCP_QUICKACK, 1), 0); /* A answers at once */
	to_a(n, ca, ia.rcv_nxt, ia.snd_nxt, TCP_ACK | TCP_PSH, "forged bytes B never sent");
	ustcp_sim_run_until(n->sim, 0);
	assert_int_equal(h_info(ca).rcv_nxt, ia.rcv_nxt + 25);
	assert_true(n->nlog - before <= 4);
	/* Half a second on, at most one more round. */
	h_run(n, 600 * MS);
	assert_true(n->nlog - before <= 8);
	assert_true(ustcp_counter(n->st[H_A], USTCP_C_tcp_oow_acks_limited) +
			    ustcp_counter(n->st[H_B], USTCP_C_tcp_oow_acks_limited) >=
		    1);
	ustcp_abort(ca);
	ustcp_abort(cb);
	h_finish(n, lb);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(blind_rst_in_window_challenged),
	cmocka_unit_test(blind_rst_out_of_window_dropped),
	cmocka_unit_test(blind_syn_in_window_challenged),
	cmocka_unit_test(blind_syn_out_of_window_challenged),
	cmocka_unit_test(blind_data_bad_ack_not_accepted),
	cmocka_unit_test(blind_data_out_of_window_dup_ack),
	cmocka_unit_test(challenge_ack_rate_limit),
	cmocka_unit_test(challenge_ack_lets_real_reset_through),
	cmocka_unit_test(challenge_acks_per_connection),
	cmocka_unit_test(spoofed_segments_do_not_keep_dead_peer_alive),
	cmocka_unit_test(spoofed_segments_do_not_answer_window_probes),
	cmocka_unit_test(forged_timestamp_with_bad_ack_ignored),
	cmocka_unit_test(ack_loop_after_injection_is_bounded),
};

USTCP_TEST_MAIN(tests)
