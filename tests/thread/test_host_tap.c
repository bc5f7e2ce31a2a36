/* test_host_tap.c — a host on a real TAP device: which offloads it asks
 * the kernel for. Each test runs in a network namespace of its own (made
 * with unshare, so the kernel removes it and its device when the test
 * process ends); without the right to make one, or without /dev/net/tun,
 * the tests are skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include "../test_main.h"
#include "ustcp/ustcp.h"

/* The host's device counters, read under its lock. */
static struct ustcp_tap_stats tap_stats(struct ustcp_host *h)
{
	struct ustcp_tap_stats st;
	ustcp_host_lock(h);
	assert_int_equal(ustcp_runtime_tap_stats(ustcp_host_runtime(h), ustcp_host_iface(h), &st),
			 0);
	ustcp_host_unlock(h);
	return st;
}

/* A host on tap0 with the offload settings given shows the vnet header and
 * TSO as expected. */
static void expect_offloads(int no_offloads, int no_tso, int vnet_hdr, int tso)
{
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		skip();
	if (unshare(CLONE_NEWNET) < 0)
		skip(); /* not root: no namespace, and no TAP device either */
	char err[256];
	struct ustcp_host *h;
	struct ustcp_host_config hc = {.tap = "ustcp-t0",
				       .ip = "10.9.0.2/24",
				       .no_offloads = no_offloads,
				       .no_tso = no_tso};
	int rc = ustcp_host_open(&hc, &h, err, sizeof(err));
	if (rc < 0)
		fail_msg("host: %s", err);
	struct ustcp_tap_stats st = tap_stats(h);
	assert_int_equal(st.vnet_hdr, vnet_hdr);
	assert_int_equal(st.tso, tso);
	ustcp_host_close(h);
}

/* By default the vnet header carries both checksum offload and TSO. */
static void offloads_by_default(void **state)
{
	(void)state;
	expect_offloads(0, 0, 1, 1);
}

/* no_tso keeps the checksum offload and sends only MTU-sized frames, so a
 * capture shows the segments the wire carries. */
static void tso_off_alone(void **state)
{
	(void)state;
	expect_offloads(0, 1, 1, 0);
}

static void no_offloads_at_all(void **state)
{
	(void)state;
	expect_offloads(1, 0, 0, 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(offloads_by_default),
	cmocka_unit_test(tso_off_alone),
	cmocka_unit_test(no_offloads_at_all),
};

USTCP_TEST_MAIN(tests)
