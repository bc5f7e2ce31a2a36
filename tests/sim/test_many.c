/* test_many.c — many connections between two stacks: a thousand opened,
 * used and closed in batches with every pool back to zero afterwards, the
 * connection pool limit (max_conns) and the listen backlog limit. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>

#define TOTAL 1000
#define BATCH 50

static struct ustcp_sock *listen_backlog(struct h_net *n, int backlog)
{
	struct ustcp_sock *l = NULL;
	struct ustcp_endpoint ep = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_listen_on(n->st[H_B], ep, backlog, &l), 0);
	return l;
}

static bool a_only_time_wait_left(void *ctx) { return h_conns(ctx, H_A) == 0; }

/* Accept `want` connections on l into out[], within a bounded time. */
static void accept_n(struct h_net *n, struct ustcp_sock *l, struct ustcp_sock **out, int want)
{
	int got = 0;
	for (int i = 0; i < 200 && got < want; i++) {
		h_run(n, 1 * MS);
		while (got < want && ustcp_accept(l, &out[got]) == 0)
			got++;
	}
	assert_int_equal(got, want);
}

static void read_exact(struct ustcp_sock *k, const char *want)
{
	char buf[64];
	size_t len = strlen(want);
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), (long)len);
	assert_memory_equal(buf, want, len);
}

/* A thousand connections, BATCH at a time, each carrying a request and a
 * response; A closes first, so every TIME-WAIT is on A (RFC 9293 §3.6).
 * With MSL = 1 s they end 2 s later, and nothing is left anywhere. */
static void thousand_connections_leave_nothing(void **state)
{
	(void)state;
	struct ustcp_config cfa, cfb;
	h_init_cfg(&cfa, 3);
	h_init_cfg(&cfb, 1);
	cfa.msl = cfb.msl = 1 * SEC;
	struct h_net *n = h_new_cfg(&cfa, &cfb);
	struct ustcp_sock *lb = listen_backlog(n, BATCH);
	struct ustcp_sock *ca[BATCH], *cb[BATCH], *got[BATCH];
	char msg[32];
	uint64_t bytes_a = 0, bytes_b = 0;

	for (int base = 0; base < TOTAL; base += BATCH) {
		n->nlog = 0; /* the log only needs to hold one batch */
		for (int i = 0; i < BATCH; i++)
			ca[i] = h_connect_start(n);
		accept_n(n, lb, got, BATCH);
		/* Accepted in the order the handshakes ended: pair by port. */
		for (int i = 0; i < BATCH; i++) {
			struct ustcp_sock_info ia, ib;
			ustcp_sock_info(ca[i], &ia);
			cb[i] = NULL;
			for (int j = 0; j < BATCH && !cb[i]; j++) {
				ustcp_sock_info(got[j], &ib);
				if (ib.remote.port == ia.local.port)
					cb[i] = got[j];
			}
			assert_non_null(cb[i]);
		}
		for (int i = 0; i < BATCH; i++) {
			snprintf(msg, sizeof(msg), "req-%04d", base + i);
			h_send_all(ca[i], msg);
			bytes_a += strlen(msg);
			snprintf(msg, sizeof(msg), "response-%04d", base + i);
			h_send_all(cb[i], msg);
			bytes_b += strlen(msg);
		}
		h_run(n, 10 * MS);
		for (int i = 0; i < BATCH; i++) {
			snprintf(msg, sizeof(msg), "req-%04d", base + i);
			read_exact(cb[i], msg);
			snprintf(msg, sizeof(msg), "response-%04d", base + i);
			read_exact(ca[i], msg);
			assert_int_equal(ustcp_close(ca[i]), 0);
		}
		h_run(n, 10 * MS);
		for (int i = 0; i < BATCH; i++) {
			char c;
			assert_int_equal(ustcp_sock_state(cb[i]), USTCP_CLOSE_WAIT);
			assert_int_equal(ustcp_recv(cb[i], &c, 1), 0); /* A's FIN */
			assert_int_equal(ustcp_close(cb[i]), 0);
		}
		h_run(n, 10 * MS);
		/* B's side is over (LAST-ACK ended); A holds the TIME-WAITs. */
		assert_int_equal(h_conns(n, H_B), 1);
		assert_true(h_conns(n, H_A) >= BATCH);
		assert_int_equal(h_count(n, H_A, TCP_RST, TCP_RST), 0);
		assert_int_equal(h_count(n, H_B, TCP_RST, TCP_RST), 0);
	}

	assert_true(h_run_cond(n, 10 * SEC, a_only_time_wait_left, n));
	assert_int_equal(h_conns(n, H_B), 1);
	h_assert_idle(n, H_A);
	h_assert_idle(n, H_B);

	struct ustcp_stack *a = n->st[H_A], *b = n->st[H_B];
	assert_int_equal(ustcp_counter(a, USTCP_C_tcp_active_opens), TOTAL);
	assert_int_equal(ustcp_counter(b, USTCP_C_tcp_passive_opens), TOTAL);
	assert_int_equal(ustcp_counter(a, USTCP_C_tcp_data_out_bytes), bytes_a);
	assert_int_equal(ustcp_counter(b, USTCP_C_tcp_data_in_bytes), bytes_a);
	assert_int_equal(ustcp_counter(b, USTCP_C_tcp_data_out_bytes), bytes_b);
	assert_int_equal(ustcp_counter(a, USTCP_C_tcp_data_in_bytes), bytes_b);
	for (int side = 0; side < 2; side++) {
		struct ustcp_stack *s = n->st[side];
		assert_int_equal(ustcp_counter(s, USTCP_C_tcp_retransmits), 0);
		assert_int_equal(ustcp_counter(s, USTCP_C_tcp_rst_out), 0);
		assert_int_equal(ustcp_counter(s, USTCP_C_tcp_attempt_fails), 0);
		assert_int_equal(ustcp_counter(s, USTCP_C_tcp_estab_resets), 0);
		assert_int_equal(ustcp_counter(s, USTCP_C_tcp_timeouts), 0);
		assert_int_equal(ustcp_drops_total(s), 0);
	}
	struct ustcp_impair_stats st;
	ustcp_sim_get_stats(n->sim, n->port[H_A], &st);
	assert_int_equal(st.lost + st.filtered, 0);

	assert_int_equal(ustcp_close(lb), 0);
	assert_int_equal(h_conns(n, H_B), 0);
	h_finish(n, NULL);
}

static bool all_established(void *ctx)
{
	struct ustcp_sock **k = ctx;
	for (; *k; k++)
		if (ustcp_sock_state(*k) != USTCP_ESTABLISHED)
			return false;
	return true;
}

/* The pool holds max_conns connections of any state: the ninth connect
 * fails at once with EMFILE and sends nothing; a slot freed (after its
 * TIME-WAIT) can be used again. */
static void max_conns_refuses_ninth(void **state)
{
	(void)state;
	struct ustcp_config cfa;
	h_init_cfg(&cfa, 3);
	cfa.max_conns = 8;
	cfa.msl = 1 * SEC;
	struct h_net *n = h_new_cfg(&cfa, NULL);
	struct ustcp_sock *lb = listen_backlog(n, 16);
	struct ustcp_sock *ca[9] = {0}, *cb[8];
	for (int i = 0; i < 8; i++)
		ca[i] = h_connect_start(n);
	accept_n(n, lb, cb, 8);
	assert_true(all_established(ca));
	assert_int_equal(h_conns(n, H_A), 8);

	int syns = h_count(n, H_A, TCP_SYN, TCP_SYN);
	struct ustcp_sock *k = NULL;
	struct ustcp_endpoint any = {.ip4 = 0, .port = 0},
			      to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &k), -EMFILE);
	assert_null(k);
	/* A listener needs a slot too. */
	struct ustcp_endpoint ep = {.ip4 = ntohl(h_ip(H_A)), .port = 8080};
	assert_int_equal(ustcp_listen_on(n->st[H_A], ep, 4, &k), -EMFILE);
	h_run(n, 5 * MS);
	assert_int_equal(h_count(n, H_A, TCP_SYN, TCP_SYN), syns);
	assert_int_equal(h_conns(n, H_A), 8);

	/* A closes one first: its TIME-WAIT still holds the slot. */
	assert_int_equal(ustcp_close(ca[0]), 0);
	assert_int_equal(ustcp_close(cb[0]), 0);
	h_run(n, 10 * MS);
	assert_int_equal(h_conns(n, H_A), 8);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &k), -EMFILE);
	h_run(n, 2 * SEC);
	assert_int_equal(h_conns(n, H_A), 7);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &ca[0]), 0);
	accept_n(n, lb, cb, 1);
	assert_int_equal(ustcp_sock_state(ca[0]), USTCP_ESTABLISHED);
	h_send_all(ca[0], "fits");
	h_run(n, 5 * MS);
	read_exact(cb[0], "fits");
	assert_int_equal(ustcp_drops_total(n->st[H_A]), 0);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);

	for (int i = 0; i < 8; i++) {
		assert_int_equal(ustcp_close(ca[i]), 0);
		if (i > 0)
			assert_int_equal(ustcp_close(cb[i]), 0);
	}
	assert_int_equal(ustcp_close(cb[0]), 0);
	h_finish(n, lb);
}

/* Without SYN cookies a listener holds at most `backlog` connections not
 * yet accepted (half-open or complete); further SYNs are dropped without an
 * answer, so the client retries them later (RFC 9293 §3.10.7.2 leaves this
 * to the implementation; dropping keeps the client retrying). With cookies
 * (test_syncookie.c) a full SYN queue is answered with cookies instead. */
static void listen_backlog_overflow_drops_syn(void **state)
{
	(void)state;
	struct ustcp_config cb_cfg;
	h_init_cfg(&cb_cfg, 1);
	cb_cfg.syncookies = 0;
	struct h_net *n = h_new_cfg(NULL, &cb_cfg);
	struct ustcp_sock *lb = listen_backlog(n, 4);
	struct ustcp_sock *ca[7] = {0}, *cb[6];
	for (int i = 0; i < 6; i++)
		ca[i] = h_connect_start(n);
	h_run(n, 10 * MS);
	int est = 0;
	for (int i = 0; i < 6; i++)
		est += ustcp_sock_state(ca[i]) == USTCP_ESTABLISHED;
	assert_int_equal(est, 4);
	assert_int_equal(ustcp_sock_state(ca[4]), USTCP_SYN_SENT);
	assert_int_equal(ustcp_sock_state(ca[5]), USTCP_SYN_SENT);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_listen_overflow), 2);
	assert_int_equal(h_count(n, H_B, 0, 0), 4); /* four SYN,ACKs and nothing else */
	assert_int_equal(h_conns(n, H_B), 5);

	/* The retransmitted SYNs at 1 s meet a queue still full. */
	h_run(n, 1500 * MS);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_listen_overflow), 4);
	assert_int_equal(h_count(n, H_B, 0, 0), 4);

	/* Accepting makes room; the next retransmissions (at 3 s) get in. */
	assert_int_equal(ustcp_accept(lb, &cb[0]), 0);
	assert_int_equal(ustcp_accept(lb, &cb[1]), 0);
	assert_true(h_run_cond(n, 5 * SEC, all_established, ca));
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_listen_overflow), 4);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 4);
	h_run(n, 5 * MS);
	for (int i = 2; i < 6; i++)
		assert_int_equal(ustcp_accept(lb, &cb[i]), 0);
	assert_int_equal(ustcp_accept(lb, &cb[0]), -EAGAIN);

	for (int i = 0; i < 6; i++) {
		assert_int_equal(ustcp_close(ca[i]), 0);
		assert_int_equal(ustcp_close(cb[i]), 0);
	}
	h_finish(n, lb);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(thousand_connections_leave_nothing),
	cmocka_unit_test(max_conns_refuses_ninth),
	cmocka_unit_test(listen_backlog_overflow_drops_syn),
};

USTCP_TEST_MAIN(tests)
