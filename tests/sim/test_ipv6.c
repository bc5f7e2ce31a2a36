/* test_ipv6.c — TCP over IPv6 (RFC 8200) on the simulated link, found by
 * neighbour discovery (RFC 4861), beside IPv4 on the same stacks. */
#include "harness.h"

static uint64_t ctr(const struct h_net *n, int side, enum ustcp_counter c)
{
	return ustcp_counter(n->st[side], c);
}

/* Connect from A to B's IPv6 address; B listens on the unspecified address. */
static void establish6(struct h_net *n, struct ustcp_sock **ca, struct ustcp_sock **cb,
		       struct ustcp_sock **lb)
{
	struct ustcp_endpoint any = {.port = PORT_B}, to = h_ep6(H_B, PORT_B);
	assert_int_equal(ustcp_listen(n->st[H_B], any, 16, lb), 0);
	struct ustcp_endpoint local = {.port = 0};
	assert_int_equal(ustcp_connect(n->st[H_A], local, to, ca), 0);
	*cb = NULL;
	for (int i = 0; i < 100 && !*cb; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(*lb, cb);
	}
	assert_non_null(*cb);
	assert_int_equal(ustcp_sock_state(*ca), USTCP_ESTABLISHED);
}

/* A whole connection over IPv6: the endpoints are IPv6, the MSS leaves
 * room for the 40-byte header, and no IPv4 packet is sent. */
static void tcp_over_ipv6(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	struct ustcp_sock_info ia = h_info(a), ib = h_info(b);
	struct ustcp_endpoint want_b = h_ep6(H_B, PORT_B), want_a = h_ep6(H_A, 0);
	assert_true(ia.remote.v6 && ia.local.v6 && ib.remote.v6 && ib.local.v6);
	assert_memory_equal(ia.remote.ip6, want_b.ip6, 16);
	assert_memory_equal(ia.local.ip6, want_a.ip6, 16);
	assert_memory_equal(ib.remote.ip6, want_a.ip6, 16);
	assert_int_equal(ib.remote.port, ia.local.port);
	assert_int_equal(ia.rcv_mss, 1500 - 40 - 20);
	h_exchange(n, a, b);
	assert_int_equal(ctr(n, H_A, USTCP_C_ip_out), 0);
	assert_true(ctr(n, H_A, USTCP_C_ip6_out) > 0);
	assert_int_equal(ustcp_drops_total(n->st[H_A]) + ustcp_drops_total(n->st[H_B]), 0);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* Without static entries A asks for B by a neighbour solicitation to B's
 * solicited-node group; B answers and learns A from it; the SYN waited. */
static void neighbour_discovery_resolves(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	assert_true(h_now(n) < 10 * MS);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_ns_out), 1);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_queued), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_in), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_na_out), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_out), 0);
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_requests_out), 0);
	assert_int_equal(h_info(a).retransmits, 0);
	h_exchange(n, a, b);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tcp_over_ipv6),
    cmocka_unit_test(neighbour_discovery_resolves),
};

USTCP_TEST_MAIN(tests)
