/* test_conns.c — ustcp_stack_conns lists every connection of a stack, as
 * netstat -a does a host's: the program's sockets (a listener, one not yet
 * connected), a connection waiting in the listener's queue, and the ones
 * the program closed that the stack finishes alone (FIN-WAIT-2, TIME-WAIT). */
#include "harness.h"

static bool eof_cond(void *ctx) { return ustcp_sock_eof(ctx); }

/* The listed connection with this local and remote port, or fail. */
static const struct ustcp_sock_info *find(const struct ustcp_sock_info *in, size_t n,
					  uint16_t lport, uint16_t rport)
{
	for (size_t i = 0; i < n; i++)
		if (in[i].local.port == lport && in[i].remote.port == rport)
			return &in[i];
	fail_msg("no connection %u -> %u among %zu", lport, rport, n);
	return NULL;
}

static void expect(const struct ustcp_sock_info *i, int state, int owner, uint32_t lip,
		   uint32_t rip)
{
	assert_string_equal(ustcp_state_name(i->state), ustcp_state_name(state));
	assert_int_equal(i->owner, owner);
	assert_int_equal(i->local.v6, 0);
	assert_int_equal(i->local.ip4, lip);
	assert_int_equal(i->remote.ip4, rip);
}

static void every_state_listed(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	const uint32_t ip_a = ntohl(h_ip(H_A)), ip_b = ntohl(h_ip(H_B));
	struct ustcp_sock *a1, *b1, *l;
	h_establish(n, &a1, &b1, &l);
	struct ustcp_sock *a2 = h_connect_start(n), *b2 = NULL;
	for (int i = 0; i < 100 && !b2; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(l, &b2);
	}
	assert_non_null(b2);
	/* A third one B never accepts: it waits, ESTABLISHED, in the queue. */
	struct ustcp_sock *a3 = h_connect_start(n);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_state(a3), USTCP_ESTABLISHED);
	/* A socket made and never connected. */
	struct ustcp_sock *idle;
	assert_int_equal(ustcp_socket(n->st[H_A], &idle), 0);

	/* A closes a1 first (TIME-WAIT, A's orphan once B closes too); B
	 * closes b2 first and A never does (FIN-WAIT-2, B's orphan). */
	assert_int_equal(ustcp_close(a1), 0);
	assert_true(h_run_cond(n, 5 * SEC, eof_cond, b1));
	assert_int_equal(ustcp_close(b1), 0);
	assert_int_equal(ustcp_close(b2), 0);
	assert_true(h_run_cond(n, 5 * SEC, eof_cond, a2));
	h_run(n, 10 * MS);

	struct ustcp_endpoint e1, e2, e3;
	assert_int_equal(ustcp_getsockname(a2, &e2), 0);
	assert_int_equal(ustcp_getsockname(a3, &e3), 0);
	struct ustcp_sock_info in[8];
	size_t na = ustcp_stack_conns(n->st[H_A], in, 8);
	assert_int_equal(na, 4);
	/* a1 is no longer the program's: find it by what is left. */
	const struct ustcp_sock_info *tw = NULL;
	for (size_t i = 0; i < na; i++)
		if (in[i].state == USTCP_TIME_WAIT)
			tw = &in[i];
	assert_non_null(tw);
	e1 = tw->local;
	expect(tw, USTCP_TIME_WAIT, USTCP_OWNER_STACK, ip_a, ip_b);
	assert_int_equal(tw->remote.port, PORT_B);
	expect(find(in, na, e2.port, PORT_B), USTCP_CLOSE_WAIT, USTCP_OWNER_USER, ip_a, ip_b);
	expect(find(in, na, e3.port, PORT_B), USTCP_ESTABLISHED, USTCP_OWNER_USER, ip_a, ip_b);
	expect(find(in, na, 0, 0), USTCP_CLOSED, USTCP_OWNER_USER, 0, 0);

	size_t nb = ustcp_stack_conns(n->st[H_B], in, 8);
	assert_int_equal(nb, 3);
	expect(find(in, nb, PORT_B, 0), USTCP_LISTEN, USTCP_OWNER_USER, ip_b, 0);
	expect(find(in, nb, PORT_B, e2.port), USTCP_FIN_WAIT_2, USTCP_OWNER_STACK, ip_b, ip_a);
	expect(find(in, nb, PORT_B, e3.port), USTCP_ESTABLISHED, USTCP_OWNER_LISTENER, ip_b, ip_a);
	/* B's end of a1 is gone (LAST-ACK, then CLOSED). */
	for (size_t i = 0; i < nb; i++)
		assert_int_not_equal(in[i].remote.port, e1.port);

	/* The count comes whatever room there is. */
	struct ustcp_sock_info untouched;
	memset(in, 0xab, sizeof(in));
	memset(&untouched, 0xab, sizeof(untouched));
	assert_int_equal(ustcp_stack_conns(n->st[H_B], in, 1), 3);
	assert_int_equal(in[0].local.port, PORT_B);
	assert_memory_equal(&in[1], &untouched, sizeof(untouched));
	assert_int_equal(ustcp_stack_conns(n->st[H_B], NULL, 0), 3);
	/* The orphans are listed, not given: the program's sockets are only
	 * the ones it holds. */
	assert_int_equal(ustcp_sock_info(a1, in), -EBADF);

	ustcp_close(idle);
	ustcp_close(a2);
	ustcp_close(a3);
	ustcp_close(l);
	h_run(n, 61 * SEC);
	assert_int_equal(ustcp_stack_conns(n->st[H_A], NULL, 0), 0);
	assert_int_equal(ustcp_stack_conns(n->st[H_B], NULL, 0), 0);
	h_free(n);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(every_state_listed),
};

USTCP_TEST_MAIN(tests)
