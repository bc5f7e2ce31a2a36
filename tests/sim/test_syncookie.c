/* test_syncookie.c — SYN cookies (RFC 4987 §3.6): a listener that answers
 * SYNs with cookies keeps nothing until the third segment, which builds the
 * connection with the options the cookie kept; forged ACKs are refused; a
 * full SYN queue turns cookies on; and a flood of a million spoofed SYNs in
 * one virtual second leaves every legitimate client served. */
#include "harness.h"

#include <errno.h>

#include "core/util.h"

static uint64_t ctr(const struct h_net *n, int side, enum ustcp_counter c)
{
	return ustcp_counter(n->st[side], c);
}

static struct ustcp_sock *listen_cookies(struct h_net *n, int backlog, bool always)
{
	struct ustcp_sock *l = NULL;
	struct ustcp_endpoint ep = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_listen_on(n->st[H_B], ep, backlog, &l), 0);
	if (always)
		assert_int_equal(ustcp_setsockopt(l, USTCP_TCP_SYNCOOKIES, 1), 0);
	return l;
}

static struct ustcp_sock *accept_within(struct h_net *n, struct ustcp_sock *l, uint64_t limit)
{
	struct ustcp_sock *k = NULL;
	for (uint64_t t = 0; t < limit && !k; t += MS) {
		h_run(n, MS);
		ustcp_accept(l, &k);
	}
	return k;
}

/* Always-cookies with every option: nothing is kept after the SYN,ACK (the
 * listener is the only connection on B), the ACK builds a connection with
 * window scale, SACK and timestamps as a kept SYN would have, and a bulk
 * transfer uses a window beyond 64 KiB. */
static void cookie_handshake_keeps_options(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = listen_cookies(n, 16, true);
	h_drop(n, H_A, H_ALLF, TCP_ACK, 0); /* the handshake's third segment */
	struct ustcp_sock *ca = h_connect_start(n);
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_ESTABLISHED);
	assert_int_equal(h_conns(n, H_B), 1); /* the listener alone */
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_sent), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_valid), 0);
	const struct h_seg *sa = h_find(n, H_B, H_ALLF, TCP_SYN | TCP_ACK, 0);
	assert_non_null(sa);
	assert_true(sa->opts.present & TCP_OPT_WSCALE);
	assert_true(sa->opts.present & TCP_OPT_SACK_PERM);
	assert_true(sa->opts.present & TCP_OPT_TIMESTAMP);

	/* The third segment was lost: the first data completes the handshake. */
	h_send_all(ca, "through the cookie");
	struct ustcp_sock *cb = accept_within(n, lb, 100 * MS);
	assert_non_null(cb);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_valid), 1);
	h_run(n, 5 * MS);
	h_expect_read(cb, "through the cookie");
	struct ustcp_sock_info ia = h_info(ca), ib = h_info(cb);
	assert_int_equal(ib.iss, sa->seq);
	assert_int_equal(ib.irs, ia.iss);
	assert_true(ib.timestamps && ib.sack_ok);
	assert_int_equal(ib.snd_wscale, ia.rcv_wscale);
	assert_int_equal(ib.rcv_wscale, ia.snd_wscale);
	assert_true(ia.snd_wscale > 0);
	assert_int_equal(ib.snd_mss, ia.rcv_mss - 12); /* 1460 is in the table */

	/* Bulk from A to B: B's window (scaled) opens past 64 KiB. */
	static char blob[512 * 1024];
	memset(blob, 'x', sizeof(blob));
	size_t sent = 0, got = 0;
	char buf[65536];
	for (int i = 0; i < 5000 && got < sizeof(blob); i++) {
		if (sent < sizeof(blob)) {
			long w = ustcp_send(ca, blob + sent, sizeof(blob) - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		h_run(n, MS);
		long r;
		while ((r = ustcp_recv(cb, buf, sizeof(buf))) > 0)
			got += (size_t)r;
	}
	assert_int_equal(got, sizeof(blob));
	assert_true(h_info(ca).snd_wnd > 65535);
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* Without timestamps a cookie keeps only the MSS: the connection goes
 * without window scaling and SACK, and with the MSS rounded down to the
 * table's (1200 -> 1024). */
static void cookie_without_timestamps(void **state)
{
	(void)state;
	struct ustcp_config ca_cfg;
	h_init_cfg(&ca_cfg, 3);
	ca_cfg.timestamps = 0;
	struct h_net *n = h_new_cfg(&ca_cfg, NULL);
	struct ustcp_sock *lb = listen_cookies(n, 16, true);
	struct ustcp_sock *ca = NULL;
	assert_int_equal(ustcp_socket(n->st[H_A], &ca), 0);
	assert_int_equal(ustcp_setsockopt(ca, USTCP_TCP_MAXSEG, 1200), 0);
	struct ustcp_endpoint to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_setsockopt(ca, USTCP_SO_NONBLOCK, 1), 0);
	assert_int_equal(ustcp_connect(ca, to), -EINPROGRESS);
	struct ustcp_sock *cb = accept_within(n, lb, 100 * MS);
	assert_non_null(cb);
	const struct h_seg *sa = h_find(n, H_B, H_ALLF, TCP_SYN | TCP_ACK, 0);
	assert_non_null(sa);
	assert_int_equal(sa->opts.present, TCP_OPT_MSS);
	struct ustcp_sock_info ib = h_info(cb);
	assert_false(ib.timestamps);
	assert_false(ib.sack_ok);
	assert_int_equal(ib.snd_wscale, 0);
	assert_int_equal(ib.rcv_wscale, 0);
	assert_int_equal(ib.snd_mss, 1024);
	h_exchange(n, ca, cb);
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* An ACK whose cookie does not check out (wrong ISS, or the right one for
 * another 4-tuple or peer ISN, or too old) makes nothing: it is counted and
 * answered with a RST, as any ACK to a listener. */
static void forged_ack_refused(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = listen_cookies(n, 16, true);
	h_drop(n, H_A, H_ALLF, TCP_ACK, -1); /* A's own handshake stays out of it */
	struct ustcp_sock *ca = h_connect_start(n);
	h_run(n, 5 * MS);
	const struct h_seg *sa = h_find(n, H_B, H_ALLF, TCP_SYN | TCP_ACK, 0);
	assert_non_null(sa);
	struct ustcp_sock_info ia = h_info(ca);
	uint16_t ap = ia.local.port;
	uint64_t rst = ctr(n, H_B, USTCP_C_tcp_rst_out);

	/* Wrong cookie, wrong peer ISN, wrong port: all refused. */
	h_inject(n, H_B, ap, PORT_B, ia.iss + 1, sa->seq + 2, TCP_ACK, 1000, NULL);
	h_inject(n, H_B, ap, PORT_B, ia.iss + 2, sa->seq + 1, TCP_ACK, 1000, NULL);
	h_inject(n, H_B, (uint16_t)(ap + 1), PORT_B, ia.iss + 1, sa->seq + 1, TCP_ACK, 1000, NULL);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_syncookie_bad), 3);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_rst_out), rst + 3);
	assert_int_equal(h_conns(n, H_B), 1);

	/* Two periods of 64 s later even the right one is stale. */
	h_run(n, 129 * SEC);
	h_inject(n, H_B, 999, PORT_B, 5, 0, TCP_SYN, 1000, NULL); /* cookies are in use */
	h_inject(n, H_B, ap, PORT_B, ia.iss + 1, sa->seq + 1, TCP_ACK, 1000, NULL);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_syncookie_bad), 4);
	assert_int_equal(h_conns(n, H_B), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_valid), 0);

	/* The right one, in time, is a connection. */
	ustcp_abort(ca);
	n->nrules = 0;
	ca = h_connect_start(n);
	struct ustcp_sock *cb = accept_within(n, lb, 100 * MS);
	assert_non_null(cb);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_valid), 1);
	h_exchange(n, ca, cb);
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* A cookie made in one 64 s period still checks out in the next: data
 * 100 s after a lost third segment still makes the connection. */
static void cookie_from_last_period_accepted(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = listen_cookies(n, 16, true);
	h_drop(n, H_A, H_ALLF, TCP_ACK, 0);
	struct ustcp_sock *ca = h_connect_start(n);
	h_run(n, 100 * SEC);
	assert_int_equal(h_conns(n, H_B), 1);
	h_send_all(ca, "late");
	struct ustcp_sock *cb = accept_within(n, lb, 100 * MS);
	assert_non_null(cb);
	h_run(n, 5 * MS);
	h_expect_read(cb, "late");
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* Spoofed SYNs (from addresses nobody answers for) fill a listener's SYN
 * queue: with cookies (the default) a real client still gets in at once;
 * without, its SYN is dropped. */
static void full_queue_turns_cookies_on(void **state)
{
	(void)state;
	for (int cookies = 1; cookies >= 0; cookies--) {
		struct ustcp_config cb_cfg;
		h_init_cfg(&cb_cfg, 1);
		cb_cfg.syncookies = (uint8_t)cookies;
		struct h_net *n = h_new_cfg(NULL, &cb_cfg);
		struct ustcp_sock *lb = listen_cookies(n, 4, false);
		n->blackhole[H_A] = true; /* A's RSTs would free the queue */
		for (uint16_t p = 0; p < 8; p++)
			h_inject(n, H_B, (uint16_t)(2000 + p), PORT_B, 1000u * p, 0, TCP_SYN, 1000,
				 NULL);
		h_run(n, 5 * MS);
		assert_int_equal(h_conns(n, H_B), 1 + 4); /* the listener, a full queue */
		assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_sent), cookies ? 4 : 0);
		n->blackhole[H_A] = false;
		struct ustcp_sock *ca = h_connect_start(n);
		struct ustcp_sock *cb = accept_within(n, lb, 50 * MS);
		if (cookies) {
			assert_non_null(cb);
			h_exchange(n, ca, cb);
			ustcp_close(cb);
		} else {
			assert_null(cb);
			assert_int_equal(ustcp_sock_state(ca), USTCP_SYN_SENT);
			assert_true(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_listen_overflow) >= 5);
		}
		ustcp_abort(ca);
		h_finish(n, lb);
	}
}

/* As Linux: with the accept queue full, a SYN is dropped, and a cookie's
 * ACK too (the client believes itself connected); once the program accepts,
 * the client's data, resent, carries the cookie and makes the connection. */
static void cookie_ack_waits_for_accept_room(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = listen_cookies(n, 4, false);
	struct ustcp_sock *ca[6], *cb[6];
	for (int i = 0; i < 6; i++)
		ca[i] = h_connect_start(n);
	h_run(n, 10 * MS);
	for (int i = 0; i < 6; i++)
		assert_int_equal(ustcp_sock_state(ca[i]), USTCP_ESTABLISHED);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_sent), 2);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_listen_overflow), 2);
	assert_int_equal(h_conns(n, H_B), 1 + 4);
	for (int i = 0; i < 6; i++)
		h_send_all(ca[i], "queued");
	h_run(n, 10 * MS);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ustcp_accept(lb, &cb[i]), 0);
	assert_int_equal(ustcp_accept(lb, &cb[4]), -EAGAIN);
	/* The two resend their data after an RTO, into a queue with room. */
	struct ustcp_sock *k = accept_within(n, lb, 3 * SEC);
	assert_non_null(k);
	cb[4] = k;
	cb[5] = accept_within(n, lb, 3 * SEC);
	assert_non_null(cb[5]);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_valid), 2);
	h_run(n, 5 * MS);
	for (int i = 0; i < 6; i++) {
		h_expect_read(cb[i], "queued");
		ustcp_close(ca[i]);
		ustcp_close(cb[i]);
	}
	h_finish(n, lb);
}

/* ---- The flood: a million spoofed SYNs in one virtual second. ---- */

#define FLOOD_BITS 20
#define FLOOD_N (1u << FLOOD_BITS) /* 1,048,576 */
#define FLOOD_LEGIT 1000
#define FLOOD_BACKLOG 128

struct flood {
	struct ustcp_sim *sim;
	struct ustcp_stack *a, *b; /* a: the router and the real clients; b: the server */
	uint8_t *synacks;          /* SYN,ACKs per spoofed source */
	uint64_t spoofed_synacks, max_conns_b, max_buffer_b;
};

static const uint8_t flood_mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};

/* Spoofed source i: an address of 10.9.0.0/16 and a port, one pair for each
 * i, in an order that looks random (i times an odd number, mod 2^20). */
static void flood_src(uint32_t i, uint32_t *ip, uint16_t *port)
{
	uint32_t k = (i * 0x9e3b5u) & (FLOOD_N - 1);
	*ip = 0x0a090000u | (k & 0xffff);
	*port = (uint16_t)(1024 + (k >> 16));
}

static bool flood_filter(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct flood *f = ctx;
	(void)port;
	if (len < ETH_HLEN + IPV4_HLEN + TCP_HLEN || frame[12] != 0x08 || frame[13] != 0)
		return false;
	const uint8_t *ip = frame + ETH_HLEN;
	uint32_t dst =
		(uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
	if ((dst & 0xffff0000u) != 0x0a090000u)
		return false;
	const uint8_t *th = ip + IPV4_HLEN;
	uint16_t dport = (uint16_t)(th[2] << 8 | th[3]);
	uint32_t k = (dst & 0xffff) | (uint32_t)(dport - 1024) << 16;
	if ((th[13] & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && k < FLOOD_N) {
		f->spoofed_synacks++;
		if (ustcp_sim_now(f->sim) < 1 * SEC && f->synacks[k] < 255)
			f->synacks[k]++;
	}
	return true; /* it would end at the router; end it here */
}

static void flood_syn(struct flood *f, uint32_t i, uint64_t now)
{
	uint8_t frame[ETH_HLEN + IPV4_HLEN + 40];
	uint32_t src;
	uint16_t sport;
	flood_src(i, &src, &sport);
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	memcpy(eh.dst, flood_mac[1], 6);
	memcpy(eh.src, flood_mac[0], 6);
	eth_emit(&eh, frame);
	struct tcp_hdr th = {
		.sport = sport,
		.dport = PORT_B,
		.seq = i * 2654435761u,
		.flags = TCP_SYN,
		.win = 65535,
		.opts = {.present = TCP_OPT_MSS | TCP_OPT_TIMESTAMP | TCP_OPT_SACK_PERM,
			 .mss = 1460,
			 .ts_val = i}};
	uint8_t *seg = frame + ETH_HLEN + IPV4_HLEN;
	size_t hl = tcp_emit(&th, seg);
	uint32_t dst = ntohl(h_ip(H_B));
	tcp_checksum_set4(seg, hl, src, dst);
	struct ipv4_hdr ih = {.total_len = (uint16_t)(IPV4_HLEN + hl),
			      .ttl = 64,
			      .proto = IPPROTO_TCP_,
			      .src = src,
			      .dst = dst};
	ipv4_emit(&ih, frame + ETH_HLEN);
	ustcp_input(f->b, 0, frame, ETH_HLEN + IPV4_HLEN + hl, now);
}

static void flood_watch(struct flood *f)
{
	struct ustcp_pool_usage u;
	ustcp_pool_usage(f->b, &u);
	f->max_conns_b = MAX(f->max_conns_b, u.conns);
	f->max_buffer_b = MAX(f->max_buffer_b, u.buffer_bytes);
}

/* RFC 4987's attack: 2^20 SYNs from spoofed sources within one virtual
 * second against a listener with backlog 128, while 1,000 real clients
 * connect, one a millisecond, each sending a line the server reads back.
 * Every client gets in and is served; B never holds more than the backlog
 * of half-open connections and the real ones; and no spoofed source is sent
 * more than one SYN,ACK in that second. */
static void flood_million_spoofed_syns(void **state)
{
	(void)state;
	struct flood f = {0};
	f.synacks = calloc(FLOOD_N, 1);
	assert_non_null(f.synacks);
	struct ustcp_config cfg[2];
	h_init_cfg(&cfg[0], 3);
	h_init_cfg(&cfg[1], 1);
	cfg[0].max_conns = FLOOD_LEGIT + 16;
	cfg[1].max_conns = FLOOD_LEGIT + FLOOD_BACKLOG + 16;
	f.sim = ustcp_sim_new(11);
	f.a = ustcp_stack_new(&cfg[0]);
	f.b = ustcp_stack_new(&cfg[1]);
	assert_non_null(f.sim);
	assert_non_null(f.a);
	assert_non_null(f.b);
	struct ustcp_impair imp = {.delay = 1 * MS};
	ustcp_sim_use_gateway(f.sim, true);
	int pa = ustcp_sim_add_stack(f.sim, f.a, flood_mac[0], h_ip(H_A));
	int pb = ustcp_sim_add_stack(f.sim, f.b, flood_mac[1], h_ip(H_B));
	assert_true(pa >= 0 && pb >= 0);
	ustcp_sim_set_impair(f.sim, pa, &imp);
	ustcp_sim_set_impair(f.sim, pb, &imp);
	ustcp_sim_set_filter(f.sim, flood_filter, &f);

	struct ustcp_sock *l = NULL;
	struct ustcp_endpoint ep = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_listen_on(f.b, ep, FLOOD_BACKLOG, &l), 0);
	static struct ustcp_sock *client[FLOOD_LEGIT], *server[FLOOD_LEGIT];
	static uint64_t started[FLOOD_LEGIT];
	static int16_t by_port[65536]; /* a client's index by its port, +1 */
	static bool said[FLOOD_LEGIT], heard[FLOOD_LEGIT];
	memset(by_port, 0, sizeof(by_port));
	memset(said, 0, sizeof(said));
	memset(heard, 0, sizeof(heard));
	int n_client = 0, n_server = 0, n_heard = 0;
	uint64_t worst = 0;
	uint32_t next_syn = 0;
	for (int ms = 0; ms < 1200 && n_heard < FLOOD_LEGIT; ms++) {
		uint64_t now = ustcp_sim_now(f.sim);
		/* This millisecond's share of the flood, all at its start. */
		uint32_t upto =
			ms < 1000 ? (uint32_t)(((uint64_t)FLOOD_N * (uint32_t)(ms + 1)) / 1000)
				  : FLOOD_N;
		for (; next_syn < upto; next_syn++)
			flood_syn(&f, next_syn, now);
		if (n_client < FLOOD_LEGIT) {
			struct ustcp_endpoint any = {.port = 0};
			struct ustcp_sock *k = NULL;
			assert_int_equal(ustcp_connect_to(f.a, any, ep, &k), 0);
			by_port[h_info(k).local.port] = (int16_t)(n_client + 1);
			client[n_client] = k;
			started[n_client++] = now;
		}
		ustcp_sim_run_until(f.sim, now + MS);
		struct ustcp_sock *k;
		while (n_server < FLOOD_LEGIT && ustcp_accept(l, &k) == 0)
			server[n_server++] = k;
		for (int i = 0; i < n_client; i++) {
			if (!said[i] && ustcp_sock_state(client[i]) == USTCP_ESTABLISHED) {
				assert_int_equal(ustcp_send(client[i], "hi", 2), 2);
				said[i] = true;
			}
		}
		for (int i = 0; i < n_server; i++) {
			int c = by_port[h_info(server[i]).remote.port] - 1;
			char buf[4];
			assert_true(c >= 0);
			if (heard[c] || ustcp_recv(server[i], buf, sizeof(buf)) != 2)
				continue;
			heard[c] = true;
			n_heard++;
			worst = MAX(worst, ustcp_sim_now(f.sim) - started[c]);
		}
		flood_watch(&f);
	}
	assert_int_equal(next_syn, FLOOD_N);
	assert_int_equal(n_client, FLOOD_LEGIT);
	assert_int_equal(n_server, FLOOD_LEGIT);
	assert_int_equal(n_heard, FLOOD_LEGIT);
	assert_true(worst <= 1 * SEC);
	/* B: the listener, at most the backlog half-open, the real ones. */
	assert_true(f.max_conns_b <= 1 + FLOOD_BACKLOG + FLOOD_LEGIT);
	/* Per source, in the flood's second (after it, the backlog's half-open
	 * entries resend their SYN,ACKs as config synack_retries says: a bounded
	 * amplification, counted in spoofed_synacks). */
	uint8_t most = 0;
	for (uint32_t i = 0; i < FLOOD_N; i++)
		most = MAX(most, f.synacks[i]);
	assert_int_equal(most, 1);
	assert_true(f.spoofed_synacks <= FLOOD_N + (uint64_t)FLOOD_BACKLOG * cfg[1].synack_retries);
	uint64_t cookies = ustcp_counter(f.b, USTCP_C_tcp_syncookies_sent);
	assert_true(cookies >= FLOOD_N - FLOOD_BACKLOG);
	assert_int_equal(ustcp_counter(f.b, USTCP_C_tcp_syncookies_valid), FLOOD_LEGIT);
	print_message("flood: %u spoofed SYNs, %llu cookies, %llu SYN,ACKs to spoofed sources, "
		      "worst legit connect+echo %.1f ms, B peak %llu conns, %llu buffer bytes\n",
		      FLOOD_N, (unsigned long long)cookies, (unsigned long long)f.spoofed_synacks,
		      (double)worst / 1e6, (unsigned long long)f.max_conns_b,
		      (unsigned long long)f.max_buffer_b);
	for (int i = 0; i < FLOOD_LEGIT; i++) {
		ustcp_abort(client[i]);
		ustcp_abort(server[i]);
	}
	ustcp_close(l);
	ustcp_sim_free(f.sim);
	ustcp_stack_free(f.a);
	ustcp_stack_free(f.b);
	free(f.synacks);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(cookie_handshake_keeps_options),
	cmocka_unit_test(cookie_without_timestamps),
	cmocka_unit_test(forged_ack_refused),
	cmocka_unit_test(cookie_from_last_period_accepted),
	cmocka_unit_test(full_queue_turns_cookies_on),
	cmocka_unit_test(cookie_ack_waits_for_accept_room),
	cmocka_unit_test(flood_million_spoofed_syns),
};

USTCP_TEST_MAIN(tests)
