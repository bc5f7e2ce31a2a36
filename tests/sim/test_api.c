/* test_api.c — the socket calls check what they are given: a NULL or
 * closed socket, a call in the wrong state, a bad option value or address
 * gets an error (never a crash); and the BSD-shaped calls and options do
 * what their POSIX namesakes do. */
#include "harness.h"

#include <errno.h>
#include <poll.h>

/* Every call on a socket that is NULL, or closed and given back. */
static void each_call_refuses(struct ustcp_sock *k)
{
	char buf[8];
	struct ustcp_endpoint e = {.port = 80};
	struct ustcp_sock *out = NULL;
	struct ustcp_sock_info info;
	uint64_t v;
	assert_int_equal(ustcp_bind(k, e), -EBADF);
	assert_int_equal(ustcp_listen(k, 1), -EBADF);
	assert_int_equal(ustcp_accept(k, &out), -EBADF);
	assert_null(out);
	assert_int_equal(ustcp_connect(k, e), -EBADF);
	assert_int_equal(ustcp_send(k, "x", 1), -EBADF);
	assert_int_equal(ustcp_send_urgent(k, "x", 1), -EBADF);
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), -EBADF);
	struct ustcp_iov iov[2];
	assert_int_equal(ustcp_recv_zc(k, iov, sizeof(buf)), -EBADF);
	assert_int_equal(ustcp_recv_done(k, 0), -EBADF);
	assert_int_equal(ustcp_shutdown(k, USTCP_SHUT_WR), -EBADF);
	assert_int_equal(ustcp_close(k), -EBADF);
	assert_int_equal(ustcp_abort(k), -EBADF);
	assert_int_equal(ustcp_getsockname(k, &e), -EBADF);
	assert_int_equal(ustcp_getpeername(k, &e), -EBADF);
	assert_int_equal(ustcp_sock_info(k, &info), -EBADF);
	assert_int_equal(ustcp_sock_state(k), -EBADF);
	assert_int_equal(ustcp_sock_error(k), -EBADF);
	assert_int_equal(ustcp_sock_take_error(k), -EBADF);
	assert_int_equal(ustcp_sock_readable(k), 0);
	assert_int_equal(ustcp_sock_writable(k), 0);
	assert_int_equal(ustcp_sock_urgent(k), -EBADF);
	assert_int_equal(ustcp_sock_events(k), POLLNVAL);
	assert_int_equal(ustcp_sock_fd(k, POLLIN), -EBADF);
	assert_int_equal(ustcp_setsockopt(k, USTCP_TCP_NODELAY, 1), -EBADF);
	assert_int_equal(ustcp_getsockopt(k, USTCP_TCP_NODELAY, &v), -EBADF);
	assert_int_equal(ustcp_set_cc(k, "newreno"), -EBADF);
	assert_int_equal(ustcp_sock_set_user(k, &v), -EBADF);
	assert_null(ustcp_sock_user(k));
}

static void null_and_closed_sockets(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	each_call_refuses(NULL);
	/* Closed: a fresh socket, a connection, a listener. */
	struct ustcp_sock *k;
	assert_int_equal(ustcp_socket(n->st[H_A], &k), 0);
	assert_int_equal(ustcp_close(k), 0);
	each_call_refuses(k);
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	assert_int_equal(ustcp_abort(ca), 0);
	each_call_refuses(ca);
	assert_int_equal(ustcp_close(lb), 0);
	each_call_refuses(lb);
	/* Out-pointers and buffers. */
	struct ustcp_pollfd pf = {0};
	assert_int_equal(ustcp_socket(NULL, &k), -EINVAL);
	assert_int_equal(ustcp_socket(n->st[H_A], NULL), -EINVAL);
	assert_int_equal(ustcp_accept(cb, NULL), -EINVAL);
	assert_int_equal(ustcp_send(cb, NULL, 5), -EFAULT);
	assert_int_equal(ustcp_recv(cb, NULL, 5), -EFAULT);
	assert_int_equal(ustcp_recv_zc(cb, NULL, 5), -EFAULT);
	assert_int_equal(ustcp_getsockname(cb, NULL), -EFAULT);
	assert_int_equal(ustcp_sock_info(cb, NULL), -EFAULT);
	assert_int_equal(ustcp_getsockopt(cb, USTCP_TCP_NODELAY, NULL), -EFAULT);
	assert_int_equal(ustcp_poll(NULL, 0, 0), -EINVAL);
	assert_int_equal(ustcp_poll(&pf, 1, 0), 0);
	assert_int_equal(ustcp_set_cc(cb, NULL), -ENOENT);
	assert_int_equal(ustcp_set_cc(cb, "nonesuch"), -ENOENT);
	ustcp_close(cb);
	h_finish(n, NULL);
}

/* Calls in a state where they make no sense. */
static void wrong_states(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb, *k, *out;
	h_establish(n, &ca, &cb, &lb);
	struct ustcp_endpoint to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B}, e;
	char buf[4];
	assert_int_equal(ustcp_listen(ca, 4), -EINVAL);    /* connected */
	assert_int_equal(ustcp_connect(ca, to), -EISCONN); /* connected */
	assert_int_equal(ustcp_connect(lb, to), -EINVAL);  /* listening */
	assert_int_equal(ustcp_accept(ca, &out), -EINVAL); /* not listening */
	assert_int_equal(ustcp_bind(ca, e = (struct ustcp_endpoint){.port = 1}), -EINVAL);
	assert_int_equal(ustcp_recv(lb, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(ustcp_send(lb, "x", 1), -ENOTCONN);
	assert_int_equal(ustcp_shutdown(ca, 7), -EINVAL);
	assert_int_equal(ustcp_shutdown(lb, USTCP_SHUT_WR), -ENOTCONN);
	assert_int_equal(ustcp_getpeername(lb, &e), -ENOTCONN);
	assert_int_equal(ustcp_socket(n->st[H_A], &k), 0);
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(ustcp_send(k, "x", 1), -ENOTCONN);
	assert_int_equal(ustcp_getpeername(k, &e), -ENOTCONN);
	assert_int_equal(ustcp_connect(k, (struct ustcp_endpoint){.port = 80}), -EINVAL);
	assert_int_equal(ustcp_connect(k, (struct ustcp_endpoint){.ip4 = ntohl(h_ip(H_B))}),
			 -EINVAL);
	assert_int_equal(ustcp_connect(k, to), -EINPROGRESS); /* no host: never waits */
	assert_int_equal(ustcp_connect(k, to), -EALREADY);
	assert_int_equal(ustcp_sock_fd(k, POLLIN), -EOPNOTSUPP); /* no host */
	/* One stack per poll. */
	struct ustcp_pollfd two[2] = {{.sock = ca, .events = POLLIN},
				      {.sock = cb, .events = POLLIN}};
	assert_int_equal(ustcp_poll(two, 2, 0), -EINVAL);
	ustcp_abort(k);
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* Every option refuses a value out of its range; an unknown one is
 * -ENOPROTOOPT; what is set reads back. */
static void option_values(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *k;
	assert_int_equal(ustcp_socket(n->st[H_A], &k), 0);
	static const struct {
		int opt;
		uint64_t bad, good;
	} cases[] = {
		{USTCP_SO_SNDBUF, 10, 8192},
		{USTCP_SO_RCVBUF, 1ull << 40, 8192},
		{USTCP_TCP_NODELAY, 2, 1},
		{USTCP_TCP_QUICKACK, 2, 1},
		{USTCP_TCP_ACK_DELAY, 0, 5 * MS},
		{USTCP_SO_KEEPALIVE, 9, 1},
		{USTCP_TCP_KEEPIDLE, 1, 10 * SEC},
		{USTCP_TCP_KEEPINTVL, 1, 2 * SEC},
		{USTCP_TCP_KEEPCNT, 0, 4},
		{USTCP_TCP_RTO_MIN, 0, 50 * MS},
		{USTCP_TCP_CORK, 3, 1},
		{USTCP_TCP_MAXSEG, 50, 1000},
		{USTCP_SO_NONBLOCK, 2, 1},
		{USTCP_SO_REUSEADDR, 2, 1},
		{USTCP_SO_RCVTIMEO, UINT64_MAX, 2 * SEC},
		{USTCP_SO_SNDTIMEO, UINT64_MAX, 2 * SEC},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		assert_int_equal(ustcp_setsockopt(k, cases[i].opt, cases[i].bad), -EINVAL);
		assert_int_equal(ustcp_setsockopt(k, cases[i].opt, cases[i].good), 0);
		assert_int_equal(ustcp_getsockopt(k, cases[i].opt, &v), 0);
		assert_int_equal(v, cases[i].good);
	}
	uint64_t v;
	assert_int_equal(ustcp_setsockopt(k, 999, 1), -ENOPROTOOPT);
	assert_int_equal(ustcp_getsockopt(k, 999, &v), -ENOPROTOOPT);
	assert_int_equal(ustcp_getsockopt(k, USTCP_SO_LINGER, &v), 0);
	assert_int_equal(v, UINT64_MAX); /* off by default */
	assert_int_equal(ustcp_close(k), 0);
	h_free(n);
}

/* bind: an address that is not ours, a port a listener holds, and a port
 * held by a TIME-WAIT connection, which only reuse-address may take. */
static void bind_rules(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb, *k, *k2;
	h_establish(n, &ca, &cb, &lb);
	struct ustcp_endpoint e;
	assert_int_equal(ustcp_socket(n->st[H_B], &k), 0);
	assert_int_equal(ustcp_bind(k, (struct ustcp_endpoint){.ip4 = 0x0a000063, .port = 1}),
			 -EADDRNOTAVAIL);
	assert_int_equal(ustcp_bind(k, (struct ustcp_endpoint){.port = PORT_B}), -EADDRINUSE);
	/* Port 0: the stack picks at listen. */
	assert_int_equal(ustcp_bind(k, (struct ustcp_endpoint){.port = 0}), 0);
	assert_int_equal(ustcp_listen(k, 2), 0);
	assert_int_equal(ustcp_getsockname(k, &e), 0);
	assert_true(e.port >= 49152);
	assert_int_equal(ustcp_close(k), 0);
	/* B closes first: its connection (port PORT_B) sits in TIME-WAIT. */
	assert_int_equal(ustcp_close(lb), 0);
	assert_int_equal(ustcp_shutdown(cb, USTCP_SHUT_WR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_close(ca), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(cb), USTCP_TIME_WAIT);
	assert_int_equal(ustcp_socket(n->st[H_B], &k2), 0);
	assert_int_equal(ustcp_bind(k2, (struct ustcp_endpoint){.port = PORT_B}), -EADDRINUSE);
	assert_int_equal(ustcp_setsockopt(k2, USTCP_SO_REUSEADDR, 1), 0);
	assert_int_equal(ustcp_bind(k2, (struct ustcp_endpoint){.port = PORT_B}), 0);
	assert_int_equal(ustcp_listen(k2, 2), 0);
	/* getsockname and getpeername of the connection. */
	assert_int_equal(ustcp_getsockname(cb, &e), 0);
	assert_int_equal(e.port, PORT_B);
	assert_int_equal(e.ip4, ntohl(h_ip(H_B)));
	assert_int_equal(ustcp_getpeername(cb, &e), 0);
	assert_int_equal(e.ip4, ntohl(h_ip(H_A)));
	ustcp_close(cb);
	h_finish(n, k2);
}

/* shutdown(SHUT_RD): reads see the end at once; what the peer still sends
 * is acknowledged (the peer is not stalled) and dropped. */
static void shutdown_read(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	h_send_all(ca, "before");
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_shutdown(cb, USTCP_SHUT_RD), 0);
	char buf[16];
	assert_int_equal(ustcp_recv(cb, buf, sizeof(buf)), 0);
	assert_int_equal(ustcp_sock_readable(cb), 0);
	assert_true(ustcp_sock_events(cb) & POLLIN);
	h_send_all(ca, "after");
	h_run(n, 100 * MS);
	assert_int_equal(h_info(ca).bytes_in_flight, 0); /* acknowledged */
	assert_int_equal(ustcp_recv(cb, buf, sizeof(buf)), 0);
	/* SHUT_RDWR on A: both at once. */
	assert_int_equal(ustcp_shutdown(ca, USTCP_SHUT_RDWR), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(ca), USTCP_FIN_WAIT_2);
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* TCP_CORK: short writes wait for a full segment, or for the cork to be
 * taken out; TCP_MAXSEG set before connect is the MSS the SYN announces. */
static void cork_and_maxseg(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *lb = h_listen(n), *ca, *cb = NULL;
	assert_int_equal(ustcp_socket(n->st[H_A], &ca), 0);
	assert_int_equal(ustcp_setsockopt(ca, USTCP_TCP_MAXSEG, 1000), 0);
	assert_int_equal(
		ustcp_connect(ca, (struct ustcp_endpoint){.ip4 = ntohl(h_ip(H_B)), .port = PORT_B}),
		-EINPROGRESS);
	for (int i = 0; i < 100 && !cb; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(lb, &cb);
	}
	assert_non_null(cb);
	const struct h_seg *syn = h_find(n, H_A, 0xff, TCP_SYN, 0);
	assert_non_null(syn);
	assert_int_equal(syn->opts.mss, 1000);
	assert_int_equal(h_info(cb).snd_mss, 1000 - 12);
	assert_int_equal(ustcp_setsockopt(ca, USTCP_TCP_CORK, 1), 0);
	int before = h_count(n, H_A, 0, 0);
	h_send_all(ca, "a");
	h_send_all(ca, "b");
	h_run(n, 20 * MS);
	assert_int_equal(h_count(n, H_A, 0, 0), before); /* held */
	assert_int_equal(ustcp_setsockopt(ca, USTCP_TCP_CORK, 0), 0);
	h_run(n, 20 * MS);
	h_expect_read(cb, "ab"); /* one segment, once uncorked */
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

static uint8_t zc_byte(uint32_t i) { return (uint8_t)(i * 7 + (i >> 8)); }

/* Zero-copy receive: the bytes are shown in place, in two pieces where
 * they wrap around the ring, and stay unread (the window closed over them)
 * until ustcp_recv_done gives them back; then the window opens and the
 * rest of the stream comes. */
static void zero_copy_receive(void **state)
{
	(void)state;
	enum { TOTAL = 20000, BUF = 4096 };
	struct h_net *n = h_new_rcvbuf_b(BUF);
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	static uint8_t data[TOTAL];
	for (uint32_t i = 0; i < TOTAL; i++)
		data[i] = zc_byte(i);
	assert_int_equal(ustcp_send(ca, data, TOTAL), TOTAL);
	uint32_t got = 0;
	bool wrapped = false, held = false;
	while (got < TOTAL) {
		h_run(n, 5 * MS);
		struct ustcp_iov iov[2];
		long r = ustcp_recv_zc(cb, iov, 3000);
		assert_true(r > 0 && r <= 3000);
		assert_int_equal(iov[0].len + iov[1].len, (size_t)r);
		assert_memory_equal(iov[0].base, data + got, iov[0].len);
		if (iov[1].len) {
			wrapped = true;
			assert_memory_equal(iov[1].base, data + got + iov[0].len, iov[1].len);
		} else {
			assert_null(iov[1].base);
		}
		if (!held) {
			/* Shown but not given back: the buffer fills and no
			 * more comes, however long we wait. */
			h_run(n, 200 * MS);
			size_t full = ustcp_sock_readable(cb);
			assert_true(full >= BUF / 2 && full <= BUF);
			h_run(n, 200 * MS);
			assert_int_equal(ustcp_sock_readable(cb), full);
			assert_memory_equal(iov[0].base, data + got, iov[0].len);
			held = true;
		}
		/* Half of it read now; the rest is shown again next time. */
		size_t done = (size_t)r / 2 + 1;
		assert_int_equal(ustcp_recv_done(cb, done), 0);
		got += (uint32_t)done;
	}
	assert_true(wrapped);
	assert_true(held);
	assert_int_equal(got, TOTAL);
	ustcp_close(ca);
	h_run(n, 10 * MS);
	struct ustcp_iov iov[2];
	assert_int_equal(ustcp_recv_zc(cb, iov, 100), 0); /* the end of the stream */
	ustcp_close(cb);
	h_finish(n, lb);
}

/* ustcp_recv_done gives back only what was shown: not more, not what a
 * ustcp_recv took in between. */
static void zero_copy_receive_misuse(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	struct ustcp_iov iov[2];
	assert_int_equal(ustcp_recv_zc(cb, iov, 100), -EAGAIN);
	assert_int_equal(ustcp_recv_done(cb, 1), -EINVAL);
	assert_int_equal(ustcp_recv_done(cb, 0), 0);
	h_send_all(ca, "0123456789");
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_recv_zc(cb, iov, 4), 4);
	assert_int_equal(ustcp_recv_done(cb, 5), -EINVAL);
	assert_int_equal(ustcp_recv_done(cb, 3), 0);
	assert_int_equal(ustcp_recv_done(cb, 2), -EINVAL); /* one of the four is left */
	assert_int_equal(ustcp_recv_zc(cb, iov, 0), 0);
	assert_int_equal(ustcp_recv_zc(cb, iov, 100), 7);
	assert_memory_equal(iov[0].base, "3456789", 7);
	h_expect_read(cb, "3456789");
	assert_int_equal(ustcp_recv_done(cb, 1), -EINVAL); /* ustcp_recv took them */
	ustcp_close(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(zero_copy_receive),       cmocka_unit_test(zero_copy_receive_misuse),
	cmocka_unit_test(null_and_closed_sockets), cmocka_unit_test(wrong_states),
	cmocka_unit_test(option_values),           cmocka_unit_test(bind_rules),
	cmocka_unit_test(shutdown_read),           cmocka_unit_test(cork_and_maxseg),
};

USTCP_TEST_MAIN(tests)
