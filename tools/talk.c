/* talk.c — `ustcp talk`: simplex-talk, the first program of Peterson and
 * Davie's "Computer Networks: A Systems Approach" (§1.4), on the blocking
 * socket calls.
 *
 * The client connects to HOST, sends each line typed on stdin and closes
 * at EOF. The server prints each line it receives, prefixed with the
 * client's address and port ("10.0.0.1:40312: hello"). As in the book it
 * serves one client at a time: the next one is connected but waits in the
 * listen backlog, its lines held in its receive buffer, until the one
 * before has gone. With --threads each client has a thread of its own and
 * all are served at once. The wire carries the bytes as typed, so the
 * kernel's nc is a client too. */
#define _GNU_SOURCE

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netopts.h"
#include "serve.h"
#include "tool.h"
#include "ustcp/ustcp.h"

#define TALK_PORT 5431
#define MAX_LINE 256 /* as the book's; a longer line is printed in pieces */

/* ---- the server ---- */

/* One line, whole: concurrent connections' lines never mix. */
static void print_line(const char *who, const char *line, size_t len)
{
	flockfile(stdout);
	printf("%s: %.*s\n", who, (int)len, line);
	fflush(stdout);
	funlockfile(stdout);
}

/* The book's server loop: print what the client sends until it closes. */
static void talk_serve(void *ctx, struct ustcp_sock *k, const struct ustcp_endpoint *peer)
{
	(void)ctx;
	char who[USTCP_ENDPOINT_STRLEN], buf[MAX_LINE];
	size_t len = 0;
	long n;
	ustcp_endpoint_str(peer, 1, who, sizeof(who));
	while ((n = ustcp_recv(k, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
		char *nl, *start = buf;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
			print_line(who, start, (size_t)(nl - start));
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof(buf)) {
			print_line(who, buf, len);
			len = 0;
		}
	}
	if (len)
		print_line(who, buf, len); /* the last line had no newline */
	if (n < 0)
		fprintf(stderr, "ustcp talk: %s: %s\n", who, strerror((int)-n));
}

static int server(struct nethost *e, uint16_t port, bool threads)
{
	struct ustcp_sock *l;
	struct ustcp_endpoint local = {.ip4 = 0, .port = port};
	int rc = ustcp_listen_on(e->s, local, 8, &l);
	if (rc < 0) {
		fprintf(stderr, "ustcp talk: listen on port %u: %s\n", port, strerror(-rc));
		return 1;
	}
	struct service_config sc = {
		.cmd = "talk", .listener = l, .threads = threads, .serve = talk_serve};
	return service_run(e, &sc);
}

/* ---- the client ---- */

/* The book's client loop: each line typed goes to the server. It also
 * waits for the signals, and for the server going away. */
static int client(struct nethost *e, const struct ustcp_endpoint *server)
{
	char where[USTCP_ENDPOINT_STRLEN], buf[MAX_LINE];
	ustcp_endpoint_str(server, 1, where, sizeof(where));
	struct ustcp_sock *k = NULL;
	int rc = ustcp_socket(e->s, &k);
	if (rc == 0)
		rc = nethost_connect(e, k, *server, 0);
	if (rc == -EINTR) {
		ustcp_abort(k);
		return 128 + e->signo;
	}
	if (rc < 0) {
		fprintf(stderr, "ustcp talk: connect to %s: %s\n", where, strerror(-rc));
		ustcp_close(k);
		return 1;
	}
	struct pollfd p[3] = {{.fd = STDIN_FILENO, .events = POLLIN},
			      {.fd = ustcp_sock_fd(k, POLLIN), .events = POLLIN},
			      {.fd = e->sigfd, .events = POLLIN}};
	int code = 0;
	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR) {
			code = 1;
			break;
		}
		if (p[2].revents && nethost_signalled(e)) {
			code = 128 + e->signo;
			break;
		}
		if (p[1].revents) {
			/* Simplex: the server never speaks, so this is its end. */
			int err = ustcp_sock_error(k);
			fprintf(stderr, "ustcp talk: %s: %s\n", where,
				err ? strerror(-err) : "the server closed the connection");
			code = 1;
			break;
		}
		if (!p[0].revents)
			continue;
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0)
			break; /* EOF: the close ends the conversation */
		long m = ustcp_send(k, buf, (size_t)n);
		if (m != n) {
			fprintf(stderr, "ustcp talk: send to %s: %s\n", where,
				strerror(m < 0 ? (int)-m : EIO));
			code = 1;
			break;
		}
	}
	if (code > 128)
		ustcp_abort(k);
	else
		ustcp_close(k);
	return code;
}

/* ---- options ---- */

static void usage(void)
{
	printf("usage: ustcp talk -l [-p PORT] [--threads] --tap IFNAME --ip ADDR/PREFIX "
	       "[options]\n"
	       "       ustcp talk HOST [-p PORT] --tap IFNAME --ip ADDR/PREFIX [options]\n\n"
	       "Simplex-talk (Peterson and Davie, 1.4): the client sends each line typed on\n"
	       "stdin; the server prints each line it receives after the client's address\n"
	       "and port.\n\n"
	       "  -l                  be the server: one client at a time, the next one\n"
	       "                      waiting in the listen backlog\n"
	       "  --threads           with -l, each client on a thread of its own, all at once\n"
	       "  -p PORT             the server's port (default %d)\n"
	       "  HOST                the server's IPv4 or IPv6 address, like 10.0.0.1,\n"
	       "                      fd00::1 or [fd00::1]; fe80::1%%IFNAME for a link-local\n"
	       "                      one (names are not resolved)\n%s",
	       TALK_PORT, netopts_help);
}

struct talk_args {
	bool listen, threads;
	uint16_t port;
	const char *host;
	struct ustcp_endpoint server;
};

static int take_arg(void *ctx, int argc, char **argv, int *i)
{
	struct talk_args *t = ctx;
	const char *a = argv[*i];
	if (!strcmp(a, "-l") || !strcmp(a, "--listen"))
		t->listen = true;
	else if (!strcmp(a, "--threads"))
		t->threads = true;
	else if (a[0] == '-' && a[1])
		return netopts_take_port("talk", argc, argv, i, &t->port);
	else if (t->host)
		return tool_usage_error("talk", "one HOST only ('%s' and '%s')", t->host, a);
	else
		t->host = a;
	return NETOPT_TAKEN;
}

static int parse_args(struct talk_args *t, struct netopts *o, int argc, char **argv)
{
	int rc = netopts_parse(o, "talk", argc, argv, take_arg, t, usage);
	if (rc)
		return rc;
	if (t->listen && t->host)
		return tool_usage_error("talk", "-l takes no HOST (the server listens on every "
						"address)");
	if (!t->listen && !t->host)
		return tool_usage_error("talk", "wants HOST (or -l to be the server)");
	if (t->threads && !t->listen)
		return tool_usage_error("talk", "--threads needs -l");
	if ((rc = netopts_finish(o, "talk")) == 0 && t->host)
		rc = netopts_parse_host(o, "talk", t->host, false, &t->server);
	t->server.port = t->port;
	return rc;
}

int cmd_talk(int argc, char **argv)
{
	struct talk_args t = {.port = TALK_PORT};
	struct netopts o;
	netopts_init(&o);
	int rc = parse_args(&t, &o, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct nethost e;
	struct ustcp_config cfg;
	netopts_stack_config(&o, &cfg);
	if (nethost_open(&e, "talk", &o, &cfg))
		return 1;
	int code = t.listen ? server(&e, t.port, t.threads) : client(&e, &t.server);
	nethost_close(&e);
	return code;
}
