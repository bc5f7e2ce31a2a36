/* test_limits.c — limits no peer can push past: half-open, established,
 * orphaned and TIME-WAIT connections and the memory of all buffers. Each
 * test pushes past its limit from the network, checks that the count never
 * goes beyond it, that the stack degrades as Linux does and counts it, and
 * that it still serves afterwards. */
#include "harness.h"

#include <errno.h>

#include "tcp/tcp_conn.h" /* tcp_accounting_ok: the counts kept match a walk of the pool */

#define CLIENTS 8

static uint64_t ctr(const struct h_net *n, int side, enum ustcp_counter c)
{
	return ustcp_counter(n->st[side], c);
}

static uint64_t drops(const struct h_net *n, int side, enum ustcp_drop d)
{
	return ustcp_drops(n->st[side], d);
}

static struct ustcp_pool_usage usage(const struct h_net *n, int side)
{
	struct ustcp_pool_usage u;
	ustcp_pool_usage(n->st[side], &u);
	return u;
}

static struct ustcp_sock *listen_b(struct h_net *n, int backlog)
{
	struct ustcp_sock *l = NULL;
	struct ustcp_endpoint ep = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_listen_on(n->st[H_B], ep, backlog, &l), 0);
	return l;
}

static struct ustcp_sock *connect_a(struct h_net *n)
{
	struct ustcp_sock *k = NULL;
	struct ustcp_endpoint any = {.port = 0}, to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	int rc = ustcp_connect_to(n->st[H_A], any, to, &k);
	assert_true(rc == 0 || rc == -EINPROGRESS);
	return k;
}

/* Spoofed SYNs from A's address (ports from sport up) that nobody
 * completes: A says nothing back (its RSTs to the SYN,ACKs are lost). */
static void spoofed_syns(struct h_net *n, uint16_t sport, int count)
{
	n->blackhole[H_A] = true;
	for (int i = 0; i < count; i++) {
		struct tcp_hdr th = {.sport = (uint16_t)(sport + i),
				     .dport = PORT_B,
				     .seq = 1000u * (uint32_t)i,
				     .flags = TCP_SYN,
				     .win = 65535};
		th.opts.present = TCP_OPT_MSS;
		th.opts.mss = 1460;
		h_inject_seg(n, H_B, &th, NULL, 0);
		assert_true(usage(n, H_B).half_open <= 20);
	}
	h_run(n, 10 * MS);
	n->blackhole[H_A] = false;
}

/* One client connects, sends, and gets its bytes echoed by hand: the
 * stack still serves. */
static void still_serves(struct h_net *n, struct ustcp_sock *l)
{
	struct ustcp_sock *a = connect_a(n), *b = NULL;
	for (int i = 0; i < 3000 && !b; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(l, &b);
	}
	assert_non_null(b);
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	h_send_all(a, "still here");
	h_run(n, 10 * MS);
	h_expect_read(b, "still here");
	ustcp_abort(a);
	ustcp_abort(b);
}

/* max_half_open without cookies: past it, SYNs are dropped and counted;
 * the listener's own backlog (128) is far away. */
static void half_open_limit_drops_syns(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	cb.max_half_open = 20;
	cb.syncookies = 0;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *l = listen_b(n, 128);
	spoofed_syns(n, 1000, 100);
	assert_int_equal(usage(n, H_B).half_open, 20);
	assert_int_equal(drops(n, H_B, USTCP_DROP_tcp_half_open_limit), 80);
	assert_true(tcp_accounting_ok(n->st[H_B]));
	/* The half-open ones give up after their SYN,ACK retries; then a real
	 * client is served. */
	h_run(n, 200 * SEC);
	assert_int_equal(usage(n, H_B).half_open, 0);
	still_serves(n, l);
	h_finish(n, l);
}

/* max_half_open with cookies (the default): past it, SYNs are answered
 * with cookies and a real client connects at once. */
static void half_open_limit_turns_cookies_on(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	cb.max_half_open = 20;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *l = listen_b(n, 128);
	spoofed_syns(n, 1000, 100);
	assert_int_equal(usage(n, H_B).half_open, 20);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_sent), 80);
	uint64_t before = ctr(n, H_B, USTCP_C_tcp_syncookies_valid);
	still_serves(n, l);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_valid), before + 1);
	h_finish(n, l);
}

/* max_established on a server: past it, handshakes are refused with a
 * reset; on a client, connect fails with ENOBUFS. */
static void established_limit_refuses(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.max_established = CLIENTS - 1;
	cb.max_established = 5;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *l = listen_b(n, 64), *a[CLIENTS], *b[CLIENTS] = {0};
	for (int i = 0; i < CLIENTS - 1; i++)
		a[i] = connect_a(n);
	struct ustcp_endpoint any = {.port = 0}, to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &a[CLIENTS - 1]), -ENOBUFS);
	h_run(n, 100 * MS);
	int nb = 0;
	while (nb < CLIENTS && ustcp_accept(l, &b[nb]) == 0)
		nb++;
	assert_int_equal(nb, 5);
	assert_int_equal(usage(n, H_B).established, 5);
	assert_int_equal(drops(n, H_B, USTCP_DROP_tcp_established_limit), 2);
	int refused = 0;
	for (int i = 0; i < CLIENTS - 1; i++)
		refused += ustcp_sock_state(a[i]) == USTCP_CLOSED;
	assert_int_equal(refused, 2);
	assert_true(tcp_accounting_ok(n->st[H_A]) && tcp_accounting_ok(n->st[H_B]));
	/* Room again when they end. */
	for (int i = 0; i < CLIENTS - 1; i++)
		ustcp_abort(a[i]);
	for (int i = 0; i < nb; i++)
		ustcp_abort(b[i]);
	h_run(n, 10 * MS);
	assert_int_equal(usage(n, H_B).established, 0);
	still_serves(n, l);
	h_finish(n, l);
}

/* max_orphans: connections closed with data the peer will not take stay
 * to send it; past the limit the newest is reset, and what the orphans
 * hold stays bounded. */
static void orphan_limit_resets(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	cb.max_orphans = 3;
	cb.sndbuf = 64 * 1024;
	ca.rcvbuf = 16 * 1024;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *l = listen_b(n, 64), *a[CLIENTS], *b[CLIENTS] = {0};
	for (int i = 0; i < CLIENTS; i++)
		a[i] = connect_a(n);
	h_run(n, 10 * MS);
	static char big[64 * 1024];
	for (int i = 0; i < CLIENTS; i++) {
		assert_int_equal(ustcp_accept(l, &b[i]), 0);
		/* The server answers a request nobody reads, then closes. */
		assert_true(ustcp_send(b[i], big, sizeof(big)) > 0);
	}
	h_run(n, 50 * MS);
	uint64_t each = usage(n, H_B).buffer_bytes / CLIENTS;
	for (int i = 0; i < CLIENTS; i++) {
		assert_int_equal(ustcp_close(b[i]), 0);
		assert_true(usage(n, H_B).orphans <= 3);
	}
	assert_int_equal(usage(n, H_B).orphans, 3);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_orphans_reset), CLIENTS - 3);
	/* Only the orphans hold buffers. */
	assert_true(usage(n, H_B).buffer_bytes <= 3 * each);
	h_run(n, 10 * MS);
	int reset = 0;
	for (int i = 0; i < CLIENTS; i++)
		reset += ustcp_sock_state(a[i]) == USTCP_CLOSED;
	assert_int_equal(reset, CLIENTS - 3);
	assert_true(tcp_accounting_ok(n->st[H_B]));
	/* The clients read at last: the orphans finish. */
	static char sink[64 * 1024];
	uint64_t got = 0;
	for (int t = 0; t < 2000 && usage(n, H_B).orphans; t++) {
		for (int i = 0; i < CLIENTS; i++) {
			long r;
			while (a[i] && (r = ustcp_recv(a[i], sink, sizeof(sink))) > 0)
				got += (uint64_t)r;
			if (a[i] && ustcp_sock_eof(a[i])) {
				ustcp_close(a[i]);
				a[i] = NULL;
			}
		}
		h_run(n, 1 * MS);
	}
	assert_int_equal(usage(n, H_B).orphans, 0);
	assert_true(got >= 3 * sizeof(big));
	for (int i = 0; i < CLIENTS; i++)
		if (a[i])
			ustcp_close(a[i]);
	still_serves(n, l);
	h_finish(n, l);
}

/* max_time_wait on a server that closes first (as an HTTP/1.0 server
 * does): clients from the network fill its TIME-WAIT; past the limit the
 * oldest ends early, and a client reusing an old 4-tuple still connects. */
static void time_wait_limit_recycles_oldest(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	cb.max_time_wait = 4;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *l = listen_b(n, 64);
	uint16_t first_port = 0;
	for (int i = 0; i < 12; i++) {
		struct ustcp_sock *a = connect_a(n), *b = NULL;
		for (int t = 0; t < 100 && !b; t++) {
			h_run(n, 1 * MS);
			ustcp_accept(l, &b);
		}
		assert_non_null(b);
		if (i == 0) {
			struct ustcp_endpoint ep;
			assert_int_equal(ustcp_getsockname(a, &ep), 0);
			first_port = ep.port;
		}
		assert_int_equal(ustcp_close(b), 0);
		h_run(n, 5 * MS);
		assert_int_equal(ustcp_close(a), 0);
		h_run(n, 5 * MS);
		assert_true(usage(n, H_B).time_wait <= 4);
	}
	assert_int_equal(usage(n, H_B).time_wait, 4);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_timewait_recycled), 8);
	assert_true(tcp_accounting_ok(n->st[H_B]));
	/* The first client's 4-tuple is free at B again, long before 2 MSL. */
	struct ustcp_sock *a = NULL, *b = NULL;
	struct ustcp_endpoint from = {.port = first_port},
			      to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	int rc = ustcp_connect_to(n->st[H_A], from, to, &a);
	assert_true(rc == 0 || rc == -EINPROGRESS);
	for (int t = 0; t < 100 && !b; t++) {
		h_run(n, 1 * MS);
		ustcp_accept(l, &b);
	}
	assert_non_null(b);
	ustcp_abort(a);
	ustcp_abort(b);
	still_serves(n, l);
	h_finish(n, l);
}

/* max_buffer_bytes: clients that all send at once get buffers while they
 * fit; the others' data is dropped (counted) until memory is given back,
 * then the peers' retransmissions bring it in. */
static void buffer_limit_bounds_memory(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	cb.sndbuf = cb.rcvbuf = 32 * 1024;
	struct h_net *n0 = h_new_cfg(&ca, &cb);
	/* What one connection's buffers take, measured. */
	struct ustcp_sock *a0, *b0, *l0;
	h_establish(n0, &a0, &b0, &l0);
	h_send_all(a0, "x");
	h_run(n0, 10 * MS);
	uint64_t one = usage(n0, H_B).buffer_bytes;
	assert_true(one >= 64 * 1024);
	ustcp_abort(a0);
	ustcp_abort(b0);
	h_finish(n0, l0);

	cb.max_buffer_bytes = 3 * one + one / 2;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *l = listen_b(n, 64), *a[CLIENTS], *b[CLIENTS] = {0};
	for (int i = 0; i < CLIENTS; i++)
		a[i] = connect_a(n);
	h_run(n, 10 * MS);
	for (int i = 0; i < CLIENTS; i++) {
		assert_int_equal(ustcp_accept(l, &b[i]), 0);
		h_send_all(a[i], "request");
	}
	h_run(n, 20 * MS);
	assert_true(usage(n, H_B).buffer_bytes <= cb.max_buffer_bytes);
	assert_true(ctr(n, H_B, USTCP_C_tcp_buffer_limit) >= CLIENTS - 3);
	assert_true(drops(n, H_B, USTCP_DROP_tcp_rcvbuf_full) >= CLIENTS - 3);
	char got[16];
	int served = 0;
	for (int i = 0; i < CLIENTS; i++) {
		if (ustcp_recv(b[i], got, sizeof(got)) == 7) {
			served++;
			ustcp_close(b[i]);
			b[i] = NULL;
			ustcp_close(a[i]);
		}
	}
	assert_int_equal(served, 3);
	/* Memory given back: the rest come in with their retransmissions. */
	for (int t = 0; t < 60 && served < CLIENTS; t++) {
		h_run(n, 1 * SEC);
		for (int i = 0; i < CLIENTS; i++) {
			if (b[i] && ustcp_recv(b[i], got, sizeof(got)) == 7) {
				served++;
				ustcp_close(b[i]);
				b[i] = NULL;
				ustcp_close(a[i]);
			}
		}
		assert_true(usage(n, H_B).buffer_bytes <= cb.max_buffer_bytes);
	}
	assert_int_equal(served, CLIENTS);
	still_serves(n, l);
	h_finish(n, l);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(half_open_limit_drops_syns),
	cmocka_unit_test(half_open_limit_turns_cookies_on),
	cmocka_unit_test(established_limit_refuses),
	cmocka_unit_test(orphan_limit_resets),
	cmocka_unit_test(time_wait_limit_recycles_oldest),
	cmocka_unit_test(buffer_limit_bounds_memory),
};

USTCP_TEST_MAIN(tests)
