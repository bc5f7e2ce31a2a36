/* test_handshake.c — opening connections (RFC 9293 §3.5): the three-way
 * handshake, simultaneous open, and the textbook conversation of
 * `ustcp demo`, checked segment by segment. */
#include "harness.h"

static void three_way_handshake(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	struct ustcp_sock_info ia, ib;
	ustcp_sock_info(ca, &ia);
	ustcp_sock_info(cb, &ib);

	assert_int_equal(n->nlog, 3);
	const struct h_seg *syn = &n->log[0], *synack = &n->log[1], *ack = &n->log[2];
	assert_int_equal(syn->from, H_A);
	assert_int_equal(syn->flags, TCP_SYN);
	assert_int_equal(syn->seq, ia.iss);
	assert_int_equal(syn->state_before, USTCP_CLOSED);
	assert_int_equal(syn->state_after, USTCP_SYN_SENT);

	assert_int_equal(synack->from, H_B);
	assert_int_equal(synack->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(synack->seq, ib.iss);
	assert_int_equal(synack->ack, ia.iss + 1);
	assert_int_equal(synack->state_before, USTCP_LISTEN);
	assert_int_equal(synack->state_after, USTCP_SYN_RECEIVED);

	assert_int_equal(ack->from, H_A);
	assert_int_equal(ack->flags, TCP_ACK);
	assert_int_equal(ack->seq, ia.iss + 1);
	assert_int_equal(ack->ack, ib.iss + 1);
	assert_int_equal(ack->state_before, USTCP_SYN_SENT);
	assert_int_equal(ack->state_after, USTCP_ESTABLISHED);

	/* Both learned the other's ISN and the MSS of a 1500-byte MTU. */
	assert_int_equal(ia.irs, ib.iss);
	assert_int_equal(ib.irs, ia.iss);
	assert_int_equal(ia.snd_mss, 1448); /* 1460 less the timestamp option */
	assert_int_equal(ib.snd_mss, 1448);
	assert_true(ia.timestamps && ib.timestamps && ia.sack_ok && ib.sack_ok);
	assert_int_equal(ia.rcv_wscale, 3); /* 256 KiB fits 65535 << 3 */
	assert_int_equal(ib.snd_wscale, 3);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_active_opens), 1);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_tcp_passive_opens), 1);
	assert_int_equal(ustcp_drops_total(n->st[H_A]) + ustcp_drops_total(n->st[H_B]), 0);
	h_free(n);
}

/* A (port 6000) and B (port 5000) connect to each other at once. */
static void open_both(struct h_net *n, struct ustcp_sock **ka, struct ustcp_sock **kb)
{
	struct ustcp_endpoint la = {.ip4 = 0, .port = 6000}, lb = {.ip4 = 0, .port = 5000};
	struct ustcp_endpoint ra = {.ip4 = ntohl(h_ip(H_B)), .port = 5000},
			      rb = {.ip4 = ntohl(h_ip(H_A)), .port = 6000};
	assert_int_equal(ustcp_connect_to(n->st[H_A], la, ra, ka), 0);
	assert_int_equal(ustcp_connect_to(n->st[H_B], lb, rb, kb), 0);
	h_run(n, 100 * MS);
	assert_int_equal(ustcp_sock_state(*ka), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_state(*kb), USTCP_ESTABLISHED);
}

/* RFC 9293 §3.5 figure 7: both sides send SYN at once; each goes
 * SYN-SENT -> SYN-RECEIVED -> ESTABLISHED and one connection results. */
static void simultaneous_open(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ka, *kb;
	open_both(n, &ka, &kb);

	/* Each sent a SYN, then a SYN,ACK from SYN-RECEIVED; nothing was reset. */
	for (int side = 0; side < 2; side++) {
		const struct h_seg *syn = h_find(n, side, 0xff, TCP_SYN, 0);
		const struct h_seg *sa = h_find(n, side, 0xff, TCP_SYN | TCP_ACK, 0);
		assert_non_null(syn);
		assert_non_null(sa);
		assert_int_equal(sa->seq, syn->seq);
		assert_int_equal(sa->state_before, USTCP_SYN_SENT);
		assert_int_equal(sa->state_after, USTCP_SYN_RECEIVED);
		assert_int_equal(h_count(n, side, TCP_RST, TCP_RST), 0);
		assert_int_equal(h_conns(n, side), 1);
	}
	/* And it carries data both ways. */
	h_send_all(ka, "ping");
	h_send_all(kb, "pong");
	h_run(n, 100 * MS);
	h_expect_read(kb, "ping");
	h_expect_read(ka, "pong");
	h_free(n);
}

static bool readable_at_least(struct ustcp_sock *k, size_t n)
{
	return ustcp_sock_readable(k) >= n;
}

/* Send msg from one side, run until the other has it and it is acked. */
static void transfer(struct h_net *n, struct ustcp_sock *from, struct ustcp_sock *to,
		     const char *msg)
{
	h_send_all(from, msg);
	for (int i = 0; i < 200 && !readable_at_least(to, strlen(msg)); i++)
		h_run(n, 1 * MS);
	h_run(n, 5 * MS);
	h_expect_read(to, msg);
}

/* The segment from `from` carrying exactly this payload length and seq. */
static const struct h_seg *data_seg(const struct h_net *n, int from, uint32_t seq, uint32_t len)
{
	for (int i = 0; i < n->nlog; i++)
		if (n->log[i].from == from && n->log[i].seq == seq && n->log[i].len == len)
			return &n->log[i];
	return NULL;
}

/* The conversation `ustcp demo` shows, with ISN_A = 1000 and ISN_B = 7000. */
static void demo_conversation(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.use_fixed_iss = 1;
	ca.fixed_iss_active = 1000;
	cb.use_fixed_iss = 2;
	cb.fixed_iss_passive = 7000;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	assert_int_equal(n->log[0].seq, 1000);
	assert_int_equal(n->log[1].seq, 7000);
	assert_int_equal(n->log[1].ack, 1001);

	transfer(n, a, b, "abc");
	transfer(n, a, b, "defg");
	transfer(n, a, b, "foobar");
	transfer(n, b, a, "hello");
	transfer(n, a, b, "goodbye");
	assert_int_equal(ustcp_close(a), 0);
	for (int i = 0; i < 100 && !ustcp_sock_eof(b); i++)
		h_run(n, 1 * MS);
	char c;
	assert_int_equal(ustcp_recv(b, &c, 1), 0); /* end of stream */
	assert_int_equal(ustcp_close(b), 0);
	h_run(n, 100 * MS);

	const struct h_seg *g;
	assert_non_null(g = data_seg(n, H_A, 1001, 3));
	assert_non_null(g = data_seg(n, H_A, 1004, 4));
	assert_non_null(g = data_seg(n, H_A, 1008, 6));
	assert_non_null(g = data_seg(n, H_B, 7001, 5));
	assert_int_equal(g->ack, 1014);
	assert_non_null(g = data_seg(n, H_A, 1014, 7));
	assert_int_equal(g->ack, 7006);
	assert_non_null(g = h_find(n, H_A, TCP_FIN, TCP_FIN, 0));
	assert_int_equal(g->seq, 1021);
	assert_int_equal(g->state_after, USTCP_FIN_WAIT_1);
	assert_non_null(g = h_find(n, H_B, TCP_FIN, TCP_FIN, 0));
	assert_int_equal(g->seq, 7006);
	assert_int_equal(g->ack, 1022);
	assert_int_equal(g->state_after, USTCP_LAST_ACK);
	/* The final ACKs: B's of A's FIN (1022), A's of B's FIN (7007). */
	const struct h_seg *last = &n->log[n->nlog - 1];
	assert_int_equal(last->from, H_A);
	assert_int_equal(last->flags, TCP_ACK);
	assert_int_equal(last->seq, 1022);
	assert_int_equal(last->ack, 7007);
	assert_int_equal(last->state_after, USTCP_TIME_WAIT);
	/* B is gone; A's connection waits in TIME-WAIT, then is gone too. */
	assert_int_equal(h_conns(n, H_B), 1); /* the listener */
	assert_int_equal(h_conns(n, H_A), 1);
	h_run(n, 61 * SEC);
	assert_int_equal(h_conns(n, H_A), 0);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_retransmits), 0);
	ustcp_close(l);
	h_free(n);
}

/* B's child sits in SYN-RECEIVED (A's ACKs are lost); returns A's view. */
static struct ustcp_sock_info half_open(struct h_net *n, struct ustcp_sock **a)
{
	h_listen(n);
	h_drop(n, H_A, 0xff, TCP_ACK, -1); /* every pure ACK of A's */
	*a = h_connect_start(n);
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_state(*a), USTCP_ESTABLISHED);
	const struct h_seg *sa = h_find(n, H_B, 0xff, TCP_SYN | TCP_ACK, 0);
	assert_non_null(sa);
	return h_info(*a);
}

/* RFC 9293 §3.10.7.4: the same SYN again means our SYN,ACK was lost: send
 * it again. A SYN with another ISN inside the window returns the passive
 * child to LISTEN; one outside the window only gets an ACK. */
static void duplicate_syn_in_syn_received(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a;
	struct ustcp_sock_info ia = half_open(n, &a);
	uint16_t sport = ia.local.port, dport = ia.remote.port;
	int n_synack = h_count(n, H_B, 0xff, TCP_SYN | TCP_ACK);

	/* Same ISN: SYN,ACK again, same ISS, child still there. */
	h_inject(n, H_B, sport, dport, ia.iss, 0, TCP_SYN, 65535, NULL);
	h_run(n, 1 * MS);
	assert_int_equal(h_count(n, H_B, 0xff, TCP_SYN | TCP_ACK), n_synack + 1);
	const struct h_seg *again = h_find(n, H_B, 0xff, TCP_SYN | TCP_ACK, n_synack);
	assert_int_equal(again->seq, ia.irs);
	assert_int_equal(again->ack, ia.iss + 1);
	assert_int_equal(h_conns(n, H_B), 2);

	/* Another ISN, outside the window: an ACK, the child stays. */
	h_inject(n, H_B, sport, dport, ia.iss + 0x40000000u, 0, TCP_SYN, 65535, NULL);
	h_run(n, 1 * MS);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_not_acceptable), 1);
	const struct h_seg *ack = &n->log[n->nlog - 1];
	assert_int_equal(ack->from, H_B);
	assert_int_equal(ack->flags, TCP_ACK);
	assert_int_equal(ack->ack, ia.iss + 1);
	assert_int_equal(h_conns(n, H_B), 2);

	/* Another ISN inside the window: back to LISTEN, no RST. */
	int nlog = n->nlog;
	h_inject(n, H_B, sport, dport, ia.iss + 100, 0, TCP_SYN, 65535, NULL);
	assert_int_equal(h_conns(n, H_B), 1);
	assert_int_equal(n->nlog, nlog);
	h_free(n);
}

/* RFC 6528: ISN = 4 µs clock + keyed hash of the 4-tuple. The same tuple a
 * second later is exactly 250,000 further on; another tuple is elsewhere. */
static void isn_clock_and_keyed_hash(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_endpoint to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	struct ustcp_sock *k1, *k2, *k3;
	assert_int_equal(ustcp_connect_to(n->st[H_A],
					  (struct ustcp_endpoint){.ip4 = 0, .port = 40000}, to,
					  &k1),
			 0);
	assert_int_equal(ustcp_connect_to(n->st[H_A],
					  (struct ustcp_endpoint){.ip4 = 0, .port = 40001}, to,
					  &k2),
			 0);
	uint32_t iss1 = h_info(k1).iss, iss2 = h_info(k2).iss;
	ustcp_abort(k1);
	ustcp_abort(k2);
	h_run(n, 1 * SEC);
	assert_int_equal(ustcp_connect_to(n->st[H_A],
					  (struct ustcp_endpoint){.ip4 = 0, .port = 40000}, to,
					  &k3),
			 0);
	assert_int_equal(h_info(k3).iss - iss1, 250000);
	uint32_t d = iss2 - iss1;
	assert_true(d > 1000000 && d < 0xfff00000u); /* not a neighbour of the other tuple's */
	ustcp_abort(k3);
	/* Another stack (another secret) gives another ISN for the same tuple. */
	struct ustcp_config cfg;
	h_init_cfg(&cfg, 99);
	struct h_net *m = h_new_cfg(&cfg, NULL);
	struct ustcp_sock *k4;
	assert_int_equal(ustcp_connect_to(m->st[H_A],
					  (struct ustcp_endpoint){.ip4 = 0, .port = 40000}, to,
					  &k4),
			 0);
	assert_true(h_info(k4).iss != iss1);
	ustcp_abort(k4);
	h_free(m);
	h_free(n);
}

/* RFC 7323 §2.2: the window of a SYN or SYN,ACK is never scaled. In a
 * simultaneous open each side takes the other's window from a SYN,ACK
 * that arrives in SYN-RECEIVED: it is 65535 as it stands, not 65535 <<
 * the shift; and the largest window seen (RFC 5961 §5.2's MAX.SND.WND)
 * is not inflated by it either, so an ACK that far behind is challenged. */
static void simultaneous_open_window_not_scaled(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ka, *kb;
	open_both(n, &ka, &kb);
	struct ustcp_sock_info ia = h_info(ka);
	assert_int_equal(ia.snd_wscale, 3);
	const struct h_seg *sa = h_find(n, H_B, 0xff, TCP_SYN | TCP_ACK, 0);
	assert_non_null(sa);
	assert_int_equal(ia.snd_wnd, sa->win);
	assert_int_equal(h_info(kb).snd_wnd, h_find(n, H_A, 0xff, TCP_SYN | TCP_ACK, 0)->win);
	/* An ACK 100 KiB behind SND.UNA: beyond the 64 KiB window seen, so
	 * RFC 5961 §5.2 challenges it. */
	h_inject(n, H_A, 5000, 6000, ia.rcv_nxt, ia.snd_una - 100000, TCP_ACK, 8192, NULL);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_ack_challenged), 1);
	/* Data still flows, and the windows are the scaled ones after. */
	h_send_all(ka, "ping");
	h_send_all(kb, "pong");
	h_run(n, 100 * MS);
	h_expect_read(kb, "ping");
	h_expect_read(ka, "pong");
	assert_true(h_info(ka).snd_wnd > 65535);
	h_free(n);
}

/* RFC 9293 §3.10.7.3: text on a SYN that arrives in SYN-SENT (simultaneous
 * open) is queued "for processing after the ESTABLISHED state has been
 * reached": the SYN,ACK acknowledges only the SYN, and once the handshake
 * completes the three bytes are readable, once, even when the peer sends
 * them again. */
static void syn_text_in_syn_sent_delivered_once(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	n->blackhole[H_B] = true; /* B's own stack stays out of it */
	struct ustcp_sock *k = h_connect_start(n);
	struct ustcp_sock_info i = h_info(k);
	uint16_t ap = i.local.port;
	h_inject(n, H_A, PORT_B, ap, 1000, 0, TCP_SYN, 65535, "abc");
	assert_int_equal(ustcp_sock_state(k), USTCP_SYN_RECEIVED);
	const struct h_seg *sa = &n->log[n->nlog - 1];
	assert_int_equal(sa->flags, TCP_SYN | TCP_ACK);
	assert_int_equal(sa->ack, 1001);
	assert_int_equal(ustcp_sock_readable(k), 0);
	char buf[8];
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), -EAGAIN);
	/* The peer's ACK of our SYN, numbered after its text. */
	h_inject(n, H_A, PORT_B, ap, 1004, i.iss + 1, TCP_ACK, 65535, NULL);
	assert_int_equal(ustcp_sock_state(k), USTCP_ESTABLISHED);
	const struct h_seg *ack = &n->log[n->nlog - 1];
	assert_int_equal(ack->flags, TCP_ACK);
	assert_int_equal(ack->ack, 1004);
	/* The same text again: a duplicate. */
	h_inject(n, H_A, PORT_B, ap, 1001, i.iss + 1, TCP_ACK | TCP_PSH, 65535, "abc");
	h_expect_read(k, "abc");
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(h_info(k).bytes_received, 3);
	ustcp_abort(k);
	h_free(n);
}

/* RFC 9293 §3.10.7.3, the same with a FIN on the SYN: it too waits, and
 * the connection goes to CLOSE-WAIT once established. */
static void syn_fin_in_syn_sent_waits(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	n->blackhole[H_B] = true;
	struct ustcp_sock *k = h_connect_start(n);
	struct ustcp_sock_info i = h_info(k);
	h_inject(n, H_A, PORT_B, i.local.port, 1000, 0, TCP_SYN | TCP_FIN, 65535, "xy");
	assert_int_equal(ustcp_sock_state(k), USTCP_SYN_RECEIVED);
	assert_int_equal(ustcp_sock_eof(k), 0);
	h_inject(n, H_A, PORT_B, i.local.port, 1004, i.iss + 1, TCP_ACK, 65535, NULL);
	assert_int_equal(ustcp_sock_state(k), USTCP_CLOSE_WAIT);
	assert_int_equal(n->log[n->nlog - 1].ack, 1004);
	h_expect_read(k, "xy");
	assert_true(ustcp_sock_eof(k));
	ustcp_abort(k);
	h_free(n);
}

/* RFC 9293 §3.10.3: RECEIVE on a socket that never connected is an error,
 * as SEND is, not an end of stream. */
static void recv_before_connect_is_not_connected(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *k;
	assert_int_equal(ustcp_socket(n->st[H_A], &k), 0);
	char buf[4];
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(ustcp_send(k, "x", 1), -ENOTCONN);
	assert_int_equal(ustcp_close(k), 0);
	h_free(n);
}

/* A SYN,ACK from B's address with these options, to A's connection k. */
static void synack_to_a(struct h_net *n, struct ustcp_sock *k, const struct tcp_opts *o)
{
	struct ustcp_sock_info i = h_info(k);
	struct tcp_hdr th = {.sport = PORT_B,
			     .dport = i.local.port,
			     .seq = 5000,
			     .ack = i.iss + 1,
			     .flags = TCP_SYN | TCP_ACK,
			     .win = 65535};
	th.opts = *o;
	h_inject_seg(n, H_A, &th, NULL, 0);
}

/* RFC 9293 §3.7.1 (MUST-16): never send a segment larger than the MSS the
 * peer announced, options included (RFC 6691), however small; only an MSS
 * below what any IPv4 path allows (68 - 40 = 28 bytes) is raised to that. */
static void small_peer_mss_honoured(void **state)
{
	(void)state;
	static const uint16_t announced[] = {60, 40, 10};
	static const uint16_t want_mss[] = {48, 28, 16}; /* data bytes, after 12 of timestamps */
	for (int t = 0; t < 3; t++) {
		struct h_net *n = h_new();
		n->blackhole[H_B] = true;
		struct ustcp_sock *k = h_connect_start(n);
		struct tcp_opts o = {.present = TCP_OPT_MSS | TCP_OPT_TIMESTAMP,
				     .mss = announced[t],
				     .ts_val = 77,
				     .ts_ecr = 0};
		synack_to_a(n, k, &o);
		assert_int_equal(ustcp_sock_state(k), USTCP_ESTABLISHED);
		assert_int_equal(h_info(k).snd_mss, want_mss[t]);
		char data[200];
		memset(data, 'x', sizeof(data));
		assert_int_equal(ustcp_setsockopt(k, USTCP_TCP_NODELAY, 1), 0);
		assert_int_equal(ustcp_send(k, data, sizeof(data)), (long)sizeof(data));
		int segs = 0;
		for (int i = 0; i < n->nlog; i++)
			if (n->log[i].from == H_A && n->log[i].len) {
				assert_true(n->log[i].len <= want_mss[t]);
				segs++;
			}
		assert_true(segs > 0);
		ustcp_abort(k);
		h_free(n);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(three_way_handshake),
	cmocka_unit_test(simultaneous_open),
	cmocka_unit_test(demo_conversation),
	cmocka_unit_test(duplicate_syn_in_syn_received),
	cmocka_unit_test(isn_clock_and_keyed_hash),
	cmocka_unit_test(simultaneous_open_window_not_scaled),
	cmocka_unit_test(syn_text_in_syn_sent_delivered_once),
	cmocka_unit_test(syn_fin_in_syn_sent_waits),
	cmocka_unit_test(recv_before_connect_is_not_connected),
	cmocka_unit_test(small_peer_mss_honoured),
};

USTCP_TEST_MAIN(tests)
