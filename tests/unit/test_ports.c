/* test_ports.c — the counts of local port holders (tcp/tcp_ports): each
 * address's and each port's counts, through growth, shrinking and the
 * backward-shift deletion of an open-addressing table, against a plain
 * array of every (address, port) pair. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../test_main.h"
#include "core/addr.h"
#include "tcp/tcp_ports.h"

#define ADDRS 5 /* the first is the wildcard :: */
#define PORTS 300

struct model {
	uint32_t n[ADDRS][PORTS], tw[ADDRS][PORTS];
};

static struct ipaddr addr_of(int a)
{
	if (a == 0)
		return (struct ipaddr){0};
	if (a == ADDRS - 1) { /* an IPv6 one */
		struct ipaddr x = {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}};
		return x;
	}
	return ip_from4(0x0a000000u + (uint32_t)a);
}

/* Port numbers far apart and close together, 0 excluded. */
static uint16_t port_of(int p) { return (uint16_t)(p < PORTS / 2 ? 1 + p : 65535 - p); }

static void check(const struct tcp_ports *t, const struct model *m)
{
	uint32_t keys = 0;
	for (int p = 0; p < PORTS; p++) {
		uint32_t n = 0, tw = 0;
		for (int a = 0; a < ADDRS; a++) {
			struct ipaddr x = addr_of(a);
			const struct tcp_port_use *u = tcp_ports_find(t, &x, port_of(p));
			n += m->n[a][p];
			tw += m->tw[a][p];
			keys += m->n[a][p] > 0;
			if (!m->n[a][p]) {
				assert_null(u);
				continue;
			}
			assert_non_null(u);
			assert_int_equal(u->n, m->n[a][p]);
			assert_int_equal(u->n_tw, m->tw[a][p]);
		}
		const struct tcp_port_use *all = tcp_ports_find(t, NULL, port_of(p));
		keys += n > 0;
		if (!n) {
			assert_null(all);
			continue;
		}
		assert_non_null(all);
		assert_int_equal(all->n, n);
		assert_int_equal(all->n_tw, tw);
	}
	assert_int_equal(t->used, keys);
}

/* Random holders come and go, some in TIME-WAIT: every count stays right
 * while the table grows to thousands of slots and shrinks back. */
static void ports_match_a_model(void **state)
{
	(void)state;
	struct tcp_ports t = {0};
	struct model *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	uint64_t x = 12345;
	for (int step = 0; step < 200000; step++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		int a = (int)((x >> 33) % ADDRS), p = (int)((x >> 40) % PORTS);
		/* Fill up for the first half, empty out in the second. */
		bool add = step < 100000 ? (x >> 20) % 4 != 0 : (x >> 20) % 4 == 0;
		if (add) {
			int tw = (x >> 50) % 3 == 0;
			struct ipaddr y = addr_of(a);
			assert_int_equal(tcp_ports_room(&t), 0);
			tcp_ports_add(&t, &y, port_of(p), 1, tw);
			m->n[a][p]++;
			m->tw[a][p] += (uint32_t)tw;
		} else if (m->n[a][p]) {
			int tw = m->tw[a][p] > 0 && (m->tw[a][p] == m->n[a][p] || (x >> 50) % 2);
			struct ipaddr y = addr_of(a);
			tcp_ports_add(&t, &y, port_of(p), -1, -tw);
			m->n[a][p]--;
			m->tw[a][p] -= (uint32_t)tw;
		}
		if (step % 5000 == 0)
			check(&t, m);
	}
	check(&t, m);
	/* Then everything goes: the table is back to its smallest. */
	for (int a = 0; a < ADDRS; a++)
		for (int p = 0; p < PORTS; p++)
			while (m->n[a][p]) {
				int tw = m->tw[a][p] > 0;
				struct ipaddr y = addr_of(a);
				tcp_ports_add(&t, &y, port_of(p), -1, -tw);
				m->n[a][p]--;
				m->tw[a][p] -= (uint32_t)tw;
			}
	check(&t, m);
	assert_int_equal(t.used, 0);
	assert_int_equal(t.mask + 1, 64);
	tcp_ports_free(&t);
	free(m);
}

/* 0.0.0.0 and :: are one wildcard. */
static void ports_wildcards_of_both_families_are_one(void **state)
{
	(void)state;
	struct tcp_ports t = {0};
	struct ipaddr v4any = ip_from4(0), v6any = {0};
	assert_int_equal(tcp_ports_room(&t), 0);
	tcp_ports_add(&t, &v4any, 80, 1, 0);
	const struct tcp_port_use *u = tcp_ports_find(&t, &v6any, 80);
	assert_non_null(u);
	assert_int_equal(u->n, 1);
	assert_int_equal(tcp_ports_find(&t, NULL, 80)->n, 1);
	tcp_ports_add(&t, &v6any, 80, -1, 0);
	assert_null(tcp_ports_find(&t, &v4any, 80));
	assert_null(tcp_ports_find(&t, NULL, 80));
	tcp_ports_free(&t);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(ports_match_a_model),
	cmocka_unit_test(ports_wildcards_of_both_families_are_one),
};

USTCP_TEST_MAIN(tests)
