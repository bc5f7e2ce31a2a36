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

/* Read one stream to its end, checking every byte. */
static void *recv_stream(void *arg)
{
	struct receiver *t = arg;
	uint8_t buf[65536], id;
	t->intact = ustcp_recv(t->k, &id, 1) == 1;
	t->idx = id;
	long r;
	while (t->intact && (r = ustcp_recv(t->k, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < r; i++)
			if (buf[i] != pat(t->idx, t->got + (uint64_t)i))
				t->intact = false;
		t->got += (uint64_t)r;
	}
	ustcp_close(t->k);
	return NULL;
}

/* 64 threads each block on their own connection of one stack (A) and send
 * a stream; 64 threads of the other host read and check them: every byte
 * arrives, in order, once. */
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

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(blocking_echo_once),
	cmocka_unit_test(recv_timeout),
	cmocka_unit_test(many_threads_one_stack),
};

USTCP_TEST_MAIN(tests)
