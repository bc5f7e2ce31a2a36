/* echo.c — `ustcp echo`: the echo service (RFC 862) on a TAP device.
 *
 * Listens on a port (7 by default) and serves every connection at once,
 * each on a thread of its own (serve.h) with blocking calls: what a recv
 * returns is sent back before the next recv, so a peer that does not read
 * its echo fills our send buffer, the send waits, and the peer sees our
 * receive window close. At the peer's FIN the socket is closed: our FIN
 * follows the echoed data. Runs until SIGINT or SIGTERM, then closes every
 * connection and exits 0. */
#define _GNU_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netopts.h"
#include "serve.h"
#include "tool.h"
#include "ustcp/ustcp.h"

#define ECHO_BUF (64 * 1024) /* bytes moved per recv/send pair, per connection */
#define ECHO_BACKLOG 128
/* Socket buffers: enough for a fast TAP path (the kernel's own default
 * receive buffer grows to a few MiB). */
#define ECHO_SOCKBUF (1024 * 1024)

struct echo {
	bool verbose; /* read-only once serving */
	uint16_t port;
};

/* RFC 862: send back whatever arrives, until the peer's FIN. */
static void echo_conn(void *ctx, struct ustcp_sock *k, const struct ustcp_endpoint *peer)
{
	const struct echo *e = ctx;
	char who[USTCP_ENDPOINT_STRLEN];
	ustcp_endpoint_str(peer, 1, who, sizeof(who));
	if (e->verbose)
		fprintf(stderr, "ustcp echo: %s: connected\n", who);
	uint8_t *buf = malloc(ECHO_BUF);
	uint64_t bytes = 0;
	long n = buf ? 0 : -ENOMEM, err = 0;
	while (buf && (n = ustcp_recv(k, buf, ECHO_BUF)) > 0) {
		long m = ustcp_send(k, buf, (size_t)n);
		if (m != n) {
			err = m < 0 ? m : -EIO; /* only an error takes less */
			break;
		}
		bytes += (uint64_t)n;
	}
	if (n < 0)
		err = n;
	free(buf);
	if (!e->verbose)
		return;
	if (err)
		fprintf(stderr, "ustcp echo: %s: %s after %llu bytes\n", who, strerror((int)-err),
			(unsigned long long)bytes);
	else
		fprintf(stderr, "ustcp echo: %s: closed, %llu bytes echoed\n", who,
			(unsigned long long)bytes);
}

static void usage(void)
{
	printf("usage: ustcp echo [-p PORT] [--verbose] --tap IFNAME --ip ADDR/PREFIX "
	       "[options]\n\n"
	       "The echo service (RFC 862): every connection gets back what it sends.\n\n"
	       "  -p PORT             port to listen on (default 7)\n"
	       "  -v, --verbose       one line per connection on stderr\n%s",
	       netopts_help);
}

static int take_arg(void *ctx, int argc, char **argv, int *i)
{
	struct echo *e = ctx;
	if (strcmp(argv[*i], "-v") && strcmp(argv[*i], "--verbose"))
		return netopts_take_port("echo", argc, argv, i, &e->port);
	e->verbose = true;
	return NETOPT_TAKEN;
}

int cmd_echo(int argc, char **argv)
{
	struct echo e = {.port = 7};
	struct netopts o;
	netopts_init(&o);
	int rc = netopts_parse(&o, "echo", argc, argv, take_arg, &e, usage);
	if (rc == 0)
		rc = netopts_finish(&o, "echo");
	if (rc)
		return rc < 0 ? 0 : rc;
	uint16_t port = e.port;

	struct nethost env;
	struct ustcp_config cfg;
	netopts_stack_config(&o, &cfg);
	if (nethost_open(&env, "echo", &o, &cfg))
		return 1;
	struct ustcp_sock *l = NULL;
	struct ustcp_endpoint local = {.ip4 = 0, .port = port};
	rc = ustcp_listen_on(env.s, local, ECHO_BACKLOG, &l);
	if (rc == 0)
		rc = ustcp_setsockopt(l, USTCP_SO_SNDBUF, ECHO_SOCKBUF);
	if (rc == 0)
		rc = ustcp_setsockopt(l, USTCP_SO_RCVBUF, ECHO_SOCKBUF);
	if (rc < 0) {
		fprintf(stderr, "ustcp echo: listen on port %u: %s\n", port, strerror(-rc));
		ustcp_close(l);
		nethost_close(&env);
		return 1;
	}
	if (e.verbose) {
		nethost_print_addrs(&env);
		fprintf(stderr, "ustcp echo: listening on port %u\n", port);
	}
	struct service_config sc = {.cmd = "echo",
				    .listener = l,
				    .threads = true,
				    .serve = echo_conn,
				    .ctx = &e,
				    .verbose = e.verbose};
	int code = service_run(&env, &sc);
	nethost_close(&env);
	return code;
}
