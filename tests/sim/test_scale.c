/* test_scale.c — many connections: an interface with a range of addresses
 * (so that one client has more than a port range's worth of connections to
 * one server port), a hundred thousand connections opened, used and
 * closed in the memory the pool's accounting promises, a bulk transfer
 * beside ten thousand idle connections that hold no timer, and bind's and
 * the port allocator's answers with many connections. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>

#include "tcp/tcp_conn.h" /* tcp_accounting_ok: the counts kept match a walk of the pool */

#define SPORT 80

/* A client stack on a range of addresses and a server, on one link. */
struct scale {
	struct ustcp_sim *sim;
	struct ustcp_stack *cli, *srv;
	int cport, sport;
	uint32_t cli_ip, srv_ip; /* host order */
	uint32_t n_cli_ips;
};

static void scale_new(struct scale *k, const struct ustcp_config *cc, const struct ustcp_config *sc,
		      uint32_t n_cli_ips, bool use_arp)
{
	static const uint8_t cmac[6] = {2, 0, 0, 0, 1, 1}, smac[6] = {2, 0, 0, 0, 2, 1};
	memset(k, 0, sizeof(*k));
	k->cli_ip = 0x0a000010u; /* 10.0.0.16 and up, on the server's /24 */
	k->srv_ip = 0x0a000001u; /* 10.0.0.1 */
	k->n_cli_ips = n_cli_ips;
	k->sim = ustcp_sim_new(11);
	assert_non_null(k->sim);
	k->cli = ustcp_stack_new(cc);
	k->srv = ustcp_stack_new(sc);
	assert_non_null(k->cli);
	assert_non_null(k->srv);
	ustcp_sim_use_arp(k->sim, use_arp);
	k->sport = ustcp_sim_add_stack(k->sim, k->srv, smac, htonl(k->srv_ip));
	k->cport = ustcp_sim_add_stack_range(k->sim, k->cli, cmac, htonl(k->cli_ip), n_cli_ips);
	assert_true(k->sport >= 0 && k->cport >= 0);
	struct ustcp_impair imp = {.delay = 1 * MS};
	ustcp_sim_set_impair(k->sim, k->sport, &imp);
	ustcp_sim_set_impair(k->sim, k->cport, &imp);
}

static void scale_free(struct scale *k)
{
	ustcp_sim_free(k->sim);
	ustcp_stack_free(k->cli);
	ustcp_stack_free(k->srv);
}

static void scale_run(struct scale *k, uint64_t dt)
{
	ustcp_sim_run_until(k->sim, ustcp_sim_now(k->sim) + dt);
}

static struct ustcp_endpoint ep4(uint32_t ip, uint16_t port)
{
	return (struct ustcp_endpoint){.ip4 = ip, .port = port};
}

/* A connection from the client's i-th address (an ephemeral port) to the
 * server's port; 0 or the error. */
static int connect_from(struct scale *k, uint32_t i, uint16_t sport, struct ustcp_sock **out)
{
	*out = NULL;
	return ustcp_connect_to(k->cli, ep4(k->cli_ip + i, 0), ep4(k->srv_ip, sport), out);
}

static int no_link(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx, (void)frame, (void)len;
	return 0;
}

/* Every one of a client's addresses is its own: it answers ARP for each
 * (from the address asked for), takes segments to each, and a socket bound
 * to one sends from it. */
static void address_range_is_all_ours(void **state)
{
	(void)state;
	struct scale k;
	scale_new(&k, NULL, NULL, 4, true);
	struct ustcp_sock *l, *c[4], *a[4] = {0};
	assert_int_equal(ustcp_listen_on(k.srv, ep4(k.srv_ip, SPORT), 8, &l), 0);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(connect_from(&k, i, SPORT, &c[i]), 0);
	scale_run(&k, 50 * MS);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(ustcp_sock_state(c[i]), USTCP_ESTABLISHED);
		assert_int_equal(ustcp_accept(l, &a[i]), 0);
	}
	/* Each accepted connection came from a different address of the range. */
	uint32_t seen = 0;
	for (uint32_t i = 0; i < 4; i++) {
		struct ustcp_endpoint peer;
		assert_int_equal(ustcp_getpeername(a[i], &peer), 0);
		assert_true(peer.ip4 >= k.cli_ip && peer.ip4 < k.cli_ip + 4);
		seen |= 1u << (peer.ip4 - k.cli_ip);
		h_send_all(a[i], "hello");
	}
	assert_int_equal(seen, 0xf);
	scale_run(&k, 50 * MS);
	for (uint32_t i = 0; i < 4; i++)
		h_expect_read(c[i], "hello");
	/* The server asked for the three addresses beside the first (which
	 * its own ARP request taught it) and had its answers from them. */
	assert_int_equal(ustcp_counter(k.cli, USTCP_C_arp_replies_out), 3);
	assert_int_equal(ustcp_drops_total(k.cli), 0);
	assert_int_equal(ustcp_drops_total(k.srv), 0);
	/* Past the range nothing is ours: a bind there fails. */
	struct ustcp_sock *b;
	assert_int_equal(ustcp_socket(k.cli, &b), 0);
	assert_int_equal(ustcp_bind(b, ep4(k.cli_ip + 4, 0)), -EADDRNOTAVAIL);
	assert_int_equal(ustcp_bind(b, ep4(k.cli_ip + 3, 0)), 0);
	assert_int_equal(ustcp_close(b), 0);
	/* A range that would run past 255.255.255.255 is refused. */
	struct ustcp_iface_config ic = {
		.ip4 = htonl(0xfffffff0u), .prefix_len = 24, .ip4_count = 17, .transmit = no_link};
	assert_int_equal(ustcp_iface_add(k.cli, &ic), -EINVAL);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(ustcp_close(c[i]), 0);
		assert_int_equal(ustcp_close(a[i]), 0);
	}
	assert_int_equal(ustcp_close(l), 0);
	scale_free(&k);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(address_range_is_all_ours),
};

USTCP_TEST_MAIN(tests)
