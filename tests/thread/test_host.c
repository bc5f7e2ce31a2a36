/* test_host.c — hosts on their own threads, joined by a socketpair: the
 * blocking calls from many threads at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../test_main.h"
#include "ustcp/ustcp.h"

struct pair {
	struct ustcp_host *a, *b;
};

static void pair_open(struct pair *p)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	/* A link that holds a few hundred frames, like a device's queue. */
	int sz = 4 << 20;
	for (int i = 0; i < 2; i++)
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	char err[256];
	struct ustcp_host_config ca = {.use_link_fd = 1, .link_fd = sv[0], .ip = "10.9.0.1/24"};
	struct ustcp_host_config cb = {.use_link_fd = 1, .link_fd = sv[1], .ip = "10.9.0.2/24"};
	int rc = ustcp_host_open(&ca, &p->a, err, sizeof(err));
	if (rc < 0)
		fail_msg("host a: %s", err);
	rc = ustcp_host_open(&cb, &p->b, err, sizeof(err));
	if (rc < 0)
		fail_msg("host b: %s", err);
}

static void pair_close(struct pair *p)
{
	ustcp_host_close(p->a);
	ustcp_host_close(p->b);
}

static struct ustcp_endpoint ep(const char *ip, uint16_t port)
{
	struct ustcp_endpoint e = {.port = port};
	assert_int_equal(ustcp_addr_parse(ip, &e), 0);
	return e;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A blocking connect, accept, send and recv across two hosts. */
static void blocking_echo_once(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	struct ustcp_sock *l, *c, *k;
	assert_int_equal(ustcp_listen_on(ustcp_host_stack(p.b), ep("0.0.0.0", 7), 8, &l), 0);
	assert_int_equal(ustcp_connect_to(ustcp_host_stack(p.a), (struct ustcp_endpoint){0},
					  ep("10.9.0.2", 7), &c),
			 0);
	assert_int_equal(ustcp_sock_state(c), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_accept(l, &k), 0);
	assert_int_equal(ustcp_send(c, "ping", 4), 4);
	char buf[16];
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(ustcp_close(c), 0);
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), 0);
	assert_int_equal(ustcp_close(k), 0);
	assert_int_equal(ustcp_close(l), 0);
	pair_close(&p);
}

/* SO_RCVTIMEO: a blocking recv with nothing coming returns -EAGAIN on time. */
static void recv_timeout(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	struct ustcp_sock *l, *c, *k;
	assert_int_equal(ustcp_listen_on(ustcp_host_stack(p.b), ep("0.0.0.0", 7), 8, &l), 0);
	assert_int_equal(ustcp_connect_to(ustcp_host_stack(p.a), (struct ustcp_endpoint){0},
					  ep("10.9.0.2", 7), &c),
			 0);
	assert_int_equal(ustcp_accept(l, &k), 0);
	assert_int_equal(ustcp_setsockopt(k, USTCP_SO_RCVTIMEO, 200 * USTCP_NS_PER_MS), 0);
	char buf[16];
	uint64_t t0 = now_ms();
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), -EAGAIN);
	uint64_t took = now_ms() - t0;
	assert_true(took >= 200);
	ustcp_close(c);
	ustcp_close(k);
	ustcp_close(l);
	pair_close(&p);
}

/* ---- many threads on one stack ---- */

#define NCONN 64
#define PORT 9000

/* The byte at offset off of connection c's stream. */
static uint8_t pat(int c, uint64_t off) { return (uint8_t)(c * 37 + off * 131 + (off >> 12)); }

static size_t stream_bytes(void)
{
	const char *e = getenv("USTCP_THREAD_MIB");
	return (size_t)(e ? atoi(e) : 16) << 20;
}

struct sender {
	struct ustcp_stack *s;
	int idx;
	long rc;
};

/* Connect, announce which stream this is, send it all, close. */
static void *send_stream(void *arg)
{
	struct sender *t = arg;
	struct ustcp_sock *k;
	t->rc = ustcp_connect_to(t->s, (struct ustcp_endpoint){0}, ep("10.9.0.2", PORT), &k);
	if (t->rc < 0)
		return NULL;
	uint8_t buf[32768];
	buf[0] = (uint8_t)t->idx;
	t->rc = ustcp_send(k, buf, 1);
	size_t total = stream_bytes();
	for (size_t off = 0; off < total && t->rc > 0;) {
		size_t n = total - off < sizeof(buf) ? total - off : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(t->idx, off + i);
		t->rc = ustcp_send(k, buf, n);
		if (t->rc == (long)n)
			off += n;
		else if (t->rc >= 0)
			t->rc = -EIO; /* a blocking send takes all */
	}
	if (t->rc > 0)
		t->rc = ustcp_close(k);
	else
		ustcp_abort(k);
	return NULL;
}

struct receiver {
	struct ustcp_sock *k;
	uint64_t got;
	int idx;
	bool intact;
};

/* Whether the n bytes at p are the stream's from t->got on. */
static bool stream_matches(const struct receiver *t, const uint8_t *p, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(t->idx, off + i))
			return false;
	return true;
}

/* Read one stream to its end, checking every byte: with ustcp_recv, or
 * (odd streams) in place with ustcp_recv_zc, while the host's thread
 * writes what comes next into the same ring. */
static void *recv_stream(void *arg)
{
	struct receiver *t = arg;
	uint8_t buf[65536], id;
	t->intact = ustcp_recv(t->k, &id, 1) == 1;
	t->idx = id;
	long r;
	for (;;) {
		if (!t->intact)
			break;
		if (t->idx % 2) {
			struct ustcp_iov iov[2];
			if ((r = ustcp_recv_zc(t->k, iov, sizeof(buf))) <= 0)
				break;
			t->intact =
				stream_matches(t, iov[0].base, iov[0].len, t->got) &&
				stream_matches(t, iov[1].base, iov[1].len, t->got + iov[0].len) &&
				ustcp_recv_done(t->k, (size_t)r) == 0;
		} else {
			if ((r = ustcp_recv(t->k, buf, sizeof(buf))) <= 0)
				break;
			t->intact = stream_matches(t, buf, (size_t)r, t->got);
		}
		t->got += (uint64_t)r;
	}
	ustcp_close(t->k);
	return NULL;
}

/* 64 threads each block on their own connection of one stack (A) and send
 * a stream; 64 threads of the other host read and check them (half of them
 * in place): every byte arrives, in order, once. */
static void many_threads_one_stack(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	struct ustcp_sock *l;
	assert_int_equal(ustcp_listen_on(ustcp_host_stack(p.b), ep("0.0.0.0", PORT), NCONN, &l), 0);
	static struct sender snd[NCONN];
	static struct receiver rcv[NCONN];
	pthread_t st[NCONN], rt[NCONN];
	for (int i = 0; i < NCONN; i++) {
		snd[i] = (struct sender){.s = ustcp_host_stack(p.a), .idx = i};
		assert_int_equal(pthread_create(&st[i], NULL, send_stream, &snd[i]), 0);
	}
	for (int i = 0; i < NCONN; i++) {
		rcv[i] = (struct receiver){0};
		assert_int_equal(ustcp_accept(l, &rcv[i].k), 0);
		assert_int_equal(pthread_create(&rt[i], NULL, recv_stream, &rcv[i]), 0);
	}
	bool seen[NCONN] = {0};
	for (int i = 0; i < NCONN; i++) {
		pthread_join(st[i], NULL);
		pthread_join(rt[i], NULL);
	}
	for (int i = 0; i < NCONN; i++) {
		assert_int_equal(snd[i].rc, 0);
		assert_true(rcv[i].intact);
		assert_int_equal(rcv[i].got, stream_bytes());
		assert_false(seen[rcv[i].idx]);
		seen[rcv[i].idx] = true;
	}
	ustcp_close(l);
	pair_close(&p);
}

/* ---- a connected pair of sockets ---- */

struct conn {
	struct pair p;
	struct ustcp_sock *l, *c, *k; /* listener on B, client on A, server side on B */
};

static void conn_open(struct conn *x)
{
	pair_open(&x->p);
	assert_int_equal(ustcp_listen_on(ustcp_host_stack(x->p.b), ep("0.0.0.0", 7), 8, &x->l), 0);
	assert_int_equal(ustcp_connect_to(ustcp_host_stack(x->p.a), (struct ustcp_endpoint){0},
					  ep("10.9.0.2", 7), &x->c),
			 0);
	assert_int_equal(ustcp_accept(x->l, &x->k), 0);
}

static void conn_close(struct conn *x)
{
	if (x->c)
		ustcp_close(x->c);
	if (x->k)
		ustcp_close(x->k);
	ustcp_close(x->l);
	pair_close(&x->p);
}

/* poll(2) on fd for POLLIN, up to ms: the revents. */
static short poll_in(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, ms) == 1 ? pfd.revents : 0;
}

/* The readiness descriptor is quiet while nothing is there, and wakes a
 * poll(2) for data, for the peer's FIN (read to the end), and for a reset. */
static void readiness_fd_wakes(void **state)
{
	(void)state;
	struct conn x;
	conn_open(&x);
	int fd = ustcp_sock_fd(x.k, POLLIN);
	assert_true(fd >= 0);
	assert_int_equal(poll_in(fd, 50), 0);
	assert_int_equal(ustcp_send(x.c, "abc", 3), 3);
	assert_true(poll_in(fd, 2000) & POLLIN);
	assert_true(ustcp_sock_events(x.k) & POLLIN);
	char buf[8];
	assert_int_equal(ustcp_recv(x.k, buf, sizeof(buf)), 3);
	assert_int_equal(poll_in(fd, 50), 0); /* read: quiet again */
	assert_int_equal(ustcp_shutdown(x.c, USTCP_SHUT_WR), 0);
	assert_true(poll_in(fd, 2000) & POLLIN);
	assert_int_equal(ustcp_recv(x.k, buf, sizeof(buf)), 0);
	/* A reset: POLLIN with POLLHUP and POLLERR on the socket. */
	assert_int_equal(ustcp_abort(x.c), 0);
	x.c = NULL;
	uint64_t t0 = now_ms();
	while (!(ustcp_sock_events(x.k) & POLLERR) && now_ms() - t0 < 2000)
		poll_in(fd, 100);
	assert_true(poll_in(fd, 0) & POLLIN);
	assert_int_equal(ustcp_sock_events(x.k) & (POLLERR | POLLHUP), POLLERR | POLLHUP);
	assert_int_equal(ustcp_recv(x.k, buf, sizeof(buf)), -ECONNRESET);
	conn_close(&x);
}

/* ustcp_poll over several sockets waits for the first that is ready. */
static void poll_over_sockets(void **state)
{
	(void)state;
	struct conn x;
	conn_open(&x);
	struct ustcp_pollfd fds[2] = {{.sock = x.k, .events = POLLIN},
				      {.sock = x.l, .events = POLLIN}};
	assert_int_equal(ustcp_poll(fds, 2, 0), 0);
	uint64_t t0 = now_ms();
	assert_int_equal(ustcp_poll(fds, 2, 100), 0); /* the timeout runs out */
	assert_true(now_ms() - t0 >= 100);
	assert_int_equal(ustcp_send(x.c, "x", 1), 1);
	assert_int_equal(ustcp_poll(fds, 2, 2000), 1);
	assert_int_equal(fds[0].revents, POLLIN);
	assert_int_equal(fds[1].revents, 0);
	/* A writable socket: POLLOUT at once. */
	struct ustcp_pollfd out = {.sock = x.c, .events = POLLOUT};
	assert_int_equal(ustcp_poll(&out, 1, -1), 1);
	assert_int_equal(out.revents, POLLOUT);
	conn_close(&x);
}

struct duplex {
	struct ustcp_sock *k;
	size_t len;
	long rc;
};

static void *write_all(void *arg)
{
	struct duplex *d = arg;
	uint8_t buf[16384];
	for (size_t off = 0; off < d->len; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pat(1, off + i);
		if ((d->rc = ustcp_send(d->k, buf, sizeof(buf))) != (long)sizeof(buf))
			return NULL;
	}
	d->rc = ustcp_shutdown(d->k, USTCP_SHUT_WR);
	return NULL;
}

static void *read_all(void *arg)
{
	struct duplex *d = arg;
	uint8_t buf[16384];
	size_t got = 0;
	long r;
	while ((r = ustcp_recv(d->k, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < r; i++)
			if (buf[i] != pat(1, got + (size_t)i))
				return d->rc = -EILSEQ, NULL;
		got += (size_t)r;
	}
	d->rc = r < 0 ? r : (long)got;
	return NULL;
}

/* One socket read by one thread while another writes it, both ways at
 * once on both ends; an echo would not do: the streams are independent. */
static void one_socket_two_threads(void **state)
{
	(void)state;
	struct conn x;
	conn_open(&x);
	size_t len = stream_bytes();
	struct duplex w[2] = {{.k = x.c, .len = len}, {.k = x.k, .len = len}};
	struct duplex r[2] = {{.k = x.k}, {.k = x.c}};
	pthread_t t[4];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_create(&t[i], NULL, write_all, &w[i]), 0);
		assert_int_equal(pthread_create(&t[2 + i], NULL, read_all, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(w[i].rc, 0);
		assert_int_equal(r[i].rc, (long)len);
	}
	conn_close(&x);
}

struct blocked {
	struct ustcp_sock *k;
	long rc;
};

static void *recv_blocked(void *arg)
{
	struct blocked *b = arg;
	char buf[8];
	b->rc = ustcp_recv(b->k, buf, sizeof(buf));
	return NULL;
}

/* A thread blocked in recv on a socket another thread closes wakes with
 * -EBADF (not a crash, not a hang); the socket is freed after it left. */
static void close_wakes_blocked_reader(void **state)
{
	(void)state;
	struct conn x;
	conn_open(&x);
	struct blocked b = {.k = x.k, .rc = 1};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, recv_blocked, &b), 0);
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	assert_int_equal(ustcp_abort(x.k), 0);
	x.k = NULL;
	pthread_join(t, NULL);
	assert_int_equal(b.rc, -EBADF);
	conn_close(&x);
}

/* The blocking calls' own results: accept waits for a connection, connect
 * to a closed port is refused, a non-blocking socket says -EAGAIN and
 * -EINPROGRESS, and close with linger waits for the FIN's ACK. */
static void blocking_results(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	struct ustcp_stack *sa = ustcp_host_stack(p.a), *sb = ustcp_host_stack(p.b);
	struct ustcp_sock *k, *l, *c, *srv;
	/* Refused. */
	assert_int_equal(ustcp_socket(sa, &k), 0);
	assert_int_equal(ustcp_connect(k, ep("10.9.0.2", 9)), -ECONNREFUSED);
	assert_int_equal(ustcp_close(k), 0);
	/* Non-blocking. */
	assert_int_equal(ustcp_listen_on(sb, ep("0.0.0.0", 9), 4, &l), 0);
	assert_int_equal(ustcp_setsockopt(l, USTCP_SO_NONBLOCK, 1), 0);
	assert_int_equal(ustcp_accept(l, &srv), -EAGAIN);
	assert_int_equal(ustcp_socket(sa, &c), 0);
	assert_int_equal(ustcp_setsockopt(c, USTCP_SO_NONBLOCK, 1), 0);
	assert_int_equal(ustcp_connect(c, ep("10.9.0.2", 9)), -EINPROGRESS);
	struct ustcp_pollfd pf = {.sock = c, .events = POLLOUT};
	assert_int_equal(ustcp_poll(&pf, 1, 2000), 1);
	assert_int_equal(ustcp_sock_state(c), USTCP_ESTABLISHED);
	char buf[4];
	assert_int_equal(ustcp_recv(c, buf, sizeof(buf)), -EAGAIN);
	/* Blocking accept: the connection is there (or comes). */
	assert_int_equal(ustcp_setsockopt(l, USTCP_SO_NONBLOCK, 0), 0);
	assert_int_equal(ustcp_accept(l, &srv), 0);
	/* Linger: close returns once the FIN is acknowledged. */
	assert_int_equal(ustcp_setsockopt(c, USTCP_SO_NONBLOCK, 0), 0);
	assert_int_equal(ustcp_setsockopt(c, USTCP_SO_LINGER, 5 * USTCP_NS_PER_SEC), 0);
	assert_int_equal(ustcp_send(c, "bye", 3), 3);
	assert_int_equal(ustcp_close(c), 0);
	struct ustcp_pool_usage u;
	ustcp_pool_usage(sa, &u);
	assert_int_equal(u.closing, 0); /* nothing left to send or have acknowledged */
	assert_int_equal(ustcp_recv(srv, buf, sizeof(buf)), 3);
	assert_int_equal(ustcp_recv(srv, buf, sizeof(buf)), 0);
	ustcp_close(srv);
	ustcp_close(l);
	pair_close(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(blocking_echo_once),         cmocka_unit_test(recv_timeout),
	cmocka_unit_test(many_threads_one_stack),     cmocka_unit_test(readiness_fd_wakes),
	cmocka_unit_test(poll_over_sockets),          cmocka_unit_test(one_socket_two_threads),
	cmocka_unit_test(close_wakes_blocked_reader), cmocka_unit_test(blocking_results),
};

USTCP_TEST_MAIN(tests)
