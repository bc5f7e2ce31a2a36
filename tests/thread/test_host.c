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

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(blocking_echo_once),
	cmocka_unit_test(recv_timeout),
};

USTCP_TEST_MAIN(tests)
