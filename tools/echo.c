/* echo.c — `ustcp echo`: the echo service (RFC 862) on a TAP device.
 *
 * Listens on a port (7 by default), accepts any number of connections and
 * sends back everything each one sends. Data moves from a connection's
 * receive buffer to its send buffer only as far as the send buffer has
 * room, so a peer that does not read its echo sees our receive window
 * close. After the peer's FIN, once all it sent is queued back, the sending
 * side is shut down (the FIN follows the echoed data) and the socket is
 * released. Runs until SIGINT or SIGTERM, then closes every connection and
 * exits 0. */
#define _GNU_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netopts.h"
#include "tool.h"
#include "ustcp/runtime.h"
#include "ustcp/ustcp.h"

#define ECHO_BUF (256 * 1024) /* bytes moved per recv/send pair */
#define ECHO_BACKLOG 128
/* Socket buffers: enough for a fast TAP path (the kernel's own default
 * receive buffer grows to a few MiB). */
#define ECHO_SOCKBUF (1024 * 1024)

struct echo;

struct conn {
	struct echo *e;
	struct ustcp_sock *k;
	struct conn *next, *prev; /* every open connection */
	struct conn *next_ready;
	bool ready;  /* in the ready queue */
	bool closed; /* released; freed when it leaves the ready queue */
	uint64_t bytes;
	char peer[USTCP_ENDPOINT_STRLEN]; /* "10.0.0.1:80" or "[fd00::1]:80" */
};

struct echo {
	struct netenv env;
	struct ustcp_sock *listener;
	bool accept_ready;
	bool verbose;
	struct conn all; /* list head */
	struct conn *ready_head, *ready_tail;
	uint8_t *buf;
};

static void mark_ready(struct echo *e, struct conn *c)
{
	if (c->ready)
		return;
	c->ready = true;
	c->next_ready = NULL;
	if (e->ready_tail)
		e->ready_tail->next_ready = c;
	else
		e->ready_head = c;
	e->ready_tail = c;
}

static struct conn *pop_ready(struct echo *e)
{
	struct conn *c = e->ready_head;
	if (!c)
		return NULL;
	e->ready_head = c->next_ready;
	if (!e->ready_head)
		e->ready_tail = NULL;
	c->ready = false;
	return c;
}

/* The stack's event handler notes what is ready; the turn function serves
 * every ready socket once per turn (see runtime.h). */
static void on_event(void *ctx, struct ustcp_sock *k, unsigned events)
{
	struct echo *e = ctx;
	(void)events;
	if (k == e->listener) {
		e->accept_ready = true;
		return;
	}
	struct conn *c = ustcp_sock_user(k);
	if (c && !c->closed)
		mark_ready(e, c);
}

static void conn_release(struct echo *e, struct conn *c, int err)
{
	if (e->verbose) {
		if (err)
			fprintf(stderr, "ustcp echo: %s: %s after %llu bytes\n", c->peer,
				strerror(-err), (unsigned long long)c->bytes);
		else
			fprintf(stderr, "ustcp echo: %s: closed, %llu bytes echoed\n", c->peer,
				(unsigned long long)c->bytes);
	}
	ustcp_sock_set_user(c->k, NULL);
	ustcp_close(c->k);
	c->k = NULL;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->closed = true;
	if (!c->ready)
		free(c);
}

/* Moves what the connection has received to its send buffer, as far as
 * there is room; at the end of the stream, shuts down and releases it. */
static void serve(struct echo *e, struct conn *c)
{
	for (;;) {
		size_t room = ustcp_sock_writable(c->k);
		if (room == 0)
			return; /* its WRITABLE event brings us back */
		long n = ustcp_recv(c->k, e->buf, room < ECHO_BUF ? room : ECHO_BUF);
		if (n == -EAGAIN)
			return;
		if (n == 0) {
			/* RFC 9293 §3.10.4: the FIN follows the queued echo. */
			ustcp_shutdown(c->k, USTCP_SHUT_WR);
			conn_release(e, c, 0);
			return;
		}
		if (n < 0) {
			conn_release(e, c, (int)n);
			return;
		}
		long m = ustcp_send(c->k, e->buf, (size_t)n);
		if (m != n) {
			/* The room was there a moment ago: only an error takes less. */
			conn_release(e, c, m < 0 ? (int)m : -EIO);
			return;
		}
		c->bytes += (uint64_t)n;
	}
}

static void accept_all(struct echo *e)
{
	e->accept_ready = false;
	struct ustcp_sock *k;
	while (ustcp_accept(e->listener, &k) == 0) {
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			ustcp_abort(k);
			continue;
		}
		c->e = e;
		c->k = k;
		struct ustcp_sock_info in;
		ustcp_sock_info(k, &in);
		ustcp_endpoint_str(&in.remote, 1, c->peer, sizeof(c->peer));
		c->next = e->all.next;
		c->prev = &e->all;
		e->all.next->prev = c;
		e->all.next = c;
		ustcp_sock_set_user(k, c);
		if (e->verbose)
			fprintf(stderr, "ustcp echo: %s: connected\n", c->peer);
		/* Data may have come with the handshake, before any event. */
		mark_ready(e, c);
	}
}

static void turn(void *ctx)
{
	struct echo *e = ctx;
	if (e->accept_ready)
		accept_all(e);
	/* Serving one connection can make others ready (never itself again
	 * in a way that needs this turn), so the bound is generous. */
	for (int i = 0; i < 100000; i++) {
		struct conn *c = pop_ready(e);
		if (!c)
			break;
		if (c->closed)
			free(c);
		else
			serve(e, c);
	}
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

static int parse_args(struct echo *e, struct netopts *o, uint16_t *port, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = netopts_take(o, "echo", argc, argv, &i);
		if (rc == NETOPT_TAKEN)
			continue;
		if (rc != NETOPT_OTHER)
			return rc;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			return -1;
		}
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			e->verbose = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
			if (i + 1 == argc)
				return tool_usage_error("echo", "%s needs a port", a);
			if (!netopts_parse_port(argv[++i], port))
				return tool_usage_error("echo",
							"%s wants a port from 1 to 65535, "
							"not '%s'",
							a, argv[i]);
		} else {
			return tool_usage_error("echo", "unknown option '%s'", a);
		}
	}
	return netopts_finish(o, "echo");
}

static void close_all(struct echo *e)
{
	while (e->all.next != &e->all) {
		struct conn *c = e->all.next;
		/* Unread data makes this a reset (RFC 1122 §4.2.2.13), else a FIN. */
		conn_release(e, c, 0);
	}
	struct conn *c;
	while ((c = pop_ready(e)))
		free(c); /* released above, left for the queue to free */
	if (e->listener)
		ustcp_close(e->listener);
	e->listener = NULL;
}

int cmd_echo(int argc, char **argv)
{
	struct echo e;
	struct netopts o;
	uint16_t port = 7;
	memset(&e, 0, sizeof(e));
	e.all.next = e.all.prev = &e.all;
	netopts_init(&o);
	int rc = parse_args(&e, &o, &port, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;

	struct ustcp_config cfg;
	netopts_stack_config(&o, &cfg);
	if (netenv_open(&e.env, "echo", &o, &cfg))
		return 1;
	e.buf = malloc(ECHO_BUF);
	struct ustcp_endpoint local = {.ip4 = 0, .port = port};
	rc = e.buf ? ustcp_listen_on(e.env.s, local, ECHO_BACKLOG, &e.listener) : -ENOMEM;
	if (rc == 0)
		rc = ustcp_setsockopt(e.listener, USTCP_SO_SNDBUF, ECHO_SOCKBUF);
	if (rc == 0)
		rc = ustcp_setsockopt(e.listener, USTCP_SO_RCVBUF, ECHO_SOCKBUF);
	if (rc < 0) {
		fprintf(stderr, "ustcp echo: listen on port %u: %s\n", port, strerror(-rc));
		if (e.listener)
			ustcp_close(e.listener);
		netenv_close(&e.env);
		free(e.buf);
		return 1;
	}
	ustcp_set_event_handler(e.env.s, on_event, &e);
	ustcp_runtime_set_turn(e.env.rt, turn, &e);
	if (e.verbose) {
		netenv_print_addrs(&e.env);
		fprintf(stderr, "ustcp echo: listening on port %u\n", port);
	}

	rc = ustcp_runtime_run(e.env.rt, 0);
	int code = 0;
	if (rc < 0) {
		fprintf(stderr, "ustcp echo: %s\n", ustcp_runtime_error(e.env.rt));
		code = 1;
	}
	close_all(&e);
	/* Let the FINs and resets of the last call reach the device. */
	ustcp_runtime_set_turn(e.env.rt, NULL, NULL);
	ustcp_runtime_run(e.env.rt, 1);
	if (e.verbose && e.env.signo)
		fprintf(stderr, "ustcp echo: %s, stopped\n", strsignal(e.env.signo));
	if (e.verbose)
		netenv_report(&e.env);
	netenv_close(&e.env);
	free(e.buf);
	return code;
}
