/* nc.c — `ustcp nc`: netcat over the stack on a TAP device.
 *
 * Like OpenBSD netcat: stdin goes to the connection and the connection to
 * stdout. As a client it connects to HOST PORT (HOST an IPv4 or IPv6
 * address); with -l it accepts one connection on -p PORT (with -k, one
 * after another), over either family unless a HOST says which. After EOF
 * on stdin it shuts down its sending side with -N, and otherwise keeps the
 * connection open; it finishes when the peer has closed and everything
 * received is written, once what it sent (and its FIN) is acknowledged.
 *
 * One poll(2) loop waits on everything at once: the socket's readiness
 * descriptor (ustcp_sock_fd), stdin, stdout and the signals. stdin is read
 * only when the socket's send buffer has room (LOW_WATER at least), so a
 * slow network holds back the writer of stdin; the socket is read only
 * when stdout has taken what came before, so a slow reader of stdout
 * closes our receive window. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "netopts.h"
#include "tool.h"
#include "ustcp/ustcp.h"

#define NC_BUF (256u * 1024)           /* bytes per read of stdin or the socket */
#define NC_SOCKBUF (4u * 1024 * 1024)  /* send and receive buffers, for fast paths */
#define LOW_WATER (64u * 1024)         /* room in the send buffer before stdin is read */
#define LINGER (10 * USTCP_NS_PER_SEC) /* for our last data and FIN to be acknowledged */
/* No readiness tells that our FIN was acknowledged (a change of state,
 * not of what can be read or written), so a lingering connection is
 * looked at this often. */
#define LINGER_STEP (10 * USTCP_NS_PER_MS)

struct nc {
	struct nethost env;
	/* options */
	bool listen, keep, shut_on_eof, verbose;
	struct ustcp_endpoint lhost, rhost; /* addresses only: the ports are below */
	uint16_t lport, rport;
	char rhost_str[USTCP_ENDPOINT_STRLEN];
	uint64_t wait_ns; /* -w: connect and idle timeout, 0 for none */
	/* the connection */
	struct ustcp_sock *l, *k;
	uint64_t opened_at, last_activity, linger_since;
	bool peer_eof, shut_sent, lingering;
	/* stdin */
	bool in_eof;
	uint8_t *ibuf;
	size_t ioff, ilen; /* read, not yet taken by the socket */
	/* stdout */
	int out_flags; /* to restore; -1 when unchanged */
	uint8_t *obuf;
	size_t ooff, olen; /* received, not yet written */
};

/* How a connection ended: it goes on (GOING), or closes well or after an
 * error, or is reset: after an error, because stdout is gone (no next
 * connection), or on a signal (nothing more at all). */
enum end { GOING = 0, END_OK, END_ERROR, END_RESET, END_FATAL, END_SIGNAL };

static void say(const struct nc *nc, const char *fmt, const char *a, unsigned b)
{
	if (!nc->verbose)
		return;
	fprintf(stderr, "ustcp nc: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
}

static void activity(struct nc *nc) { nc->last_activity = nethost_clock(); }

/* ---- stdin and stdout ---- */

/* stdout made non-blocking where a write could block (a pipe or socket;
 * a terminal or file is left as it is, shared as it may be). */
static int setup_stdout(struct nc *nc)
{
	struct stat st;
	nc->out_flags = -1;
	if (fstat(STDOUT_FILENO, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || isatty(STDOUT_FILENO))
		return 0;
	int fl = fcntl(STDOUT_FILENO, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
		nc->out_flags = fl;
	return 0;
}

static void restore_stdout(struct nc *nc)
{
	if (nc->out_flags >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, nc->out_flags);
}

static void stdin_done(struct nc *nc)
{
	nc->in_eof = true;
	nc->ilen = 0;
}

/* ---- the connection ---- */

/* -v: what the connection did, like a short TCP_INFO. */
static void report_conn(const struct nc *nc)
{
	if (!nc->verbose)
		return;
	struct ustcp_sock_info in;
	ustcp_sock_info(nc->k, &in);
	double secs = nc->opened_at ? (double)(nethost_clock() - nc->opened_at) / 1e9 : 0;
	uint64_t bytes = in.bytes_acked > in.bytes_received ? in.bytes_acked : in.bytes_received;
	fprintf(stderr,
		"ustcp nc: %s: %llu bytes sent (acknowledged), %llu received in %.3f s "
		"(%.1f Mbit/s); %u retransmits (%u fast, %u timeouts); srtt %.3f ms, cwnd %u, "
		"mss %u\n",
		ustcp_state_name(in.state), (unsigned long long)in.bytes_acked,
		(unsigned long long)in.bytes_received, secs,
		secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0, in.retransmits,
		in.fast_retransmits, in.rto_expirations, (double)in.srtt / 1e6, in.cwnd,
		in.snd_mss);
}

/* The peer has closed and all it sent is written (or -w found the
 * connection idle): our FIN follows what we queued, and we wait for it to
 * be acknowledged. */
static void start_linger(struct nc *nc)
{
	if (!nc->shut_sent)
		ustcp_shutdown(nc->k, USTCP_SHUT_WR);
	nc->shut_sent = true;
	nc->ilen = 0; /* what stdin still had is dropped, as netcat does */
	nc->lingering = true;
	nc->linger_since = nethost_clock();
}

/* Lingering: GOING until our FIN is acknowledged, which it is in these
 * states (RFC 9293 §3.3.2). */
static enum end linger_done(struct nc *nc)
{
	int st = ustcp_sock_state(nc->k);
	if (st != USTCP_CLOSED && st != USTCP_TIME_WAIT && st != USTCP_FIN_WAIT_2)
		return GOING;
	int err = ustcp_sock_error(nc->k);
	if (err && st == USTCP_CLOSED) {
		fprintf(stderr, "ustcp nc: connection: %s\n", strerror(-err));
		return END_ERROR;
	}
	return END_OK;
}

/* Socket to stdout: what was received is written before the socket is
 * read again, once per turn. */
static enum end step_out(struct nc *nc)
{
	for (bool received = false;;) {
		if (nc->olen) {
			ssize_t w = write(STDOUT_FILENO, nc->obuf + nc->ooff, nc->olen);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				return GOING; /* stdout's POLLOUT brings us back */
			if (w < 0) {
				if (errno != EPIPE)
					fprintf(stderr, "ustcp nc: stdout: %s\n", strerror(errno));
				return END_FATAL;
			}
			nc->ooff += (size_t)w;
			nc->olen -= (size_t)w;
			activity(nc);
			continue;
		}
		if (nc->peer_eof || received)
			return GOING;
		long n = ustcp_recv(nc->k, nc->obuf, NC_BUF);
		received = true;
		if (n == -EAGAIN)
			return GOING;
		if (n == 0) {
			nc->peer_eof = true;
			return GOING;
		}
		if (n < 0) {
			fprintf(stderr, "ustcp nc: read: %s\n", strerror((int)-n));
			return END_ERROR;
		}
		nc->ooff = 0;
		nc->olen = (size_t)n;
		activity(nc);
	}
}

/* With -N, the FIN goes once everything read from stdin is queued. */
static void maybe_shutdown(struct nc *nc)
{
	if (nc->shut_on_eof && !nc->shut_sent && nc->ilen == 0) {
		ustcp_shutdown(nc->k, USTCP_SHUT_WR);
		nc->shut_sent = true;
	}
}

/* stdin to the socket: what was read is queued before stdin is read
 * again (when poll said it is ready), and only as much as there is room
 * for. */
static void step_in(struct nc *nc, bool in_ready)
{
	for (;;) {
		if (nc->ilen) {
			long m = ustcp_send(nc->k, nc->ibuf + nc->ioff, nc->ilen);
			if (m == -EAGAIN)
				return;
			if (m < 0) {
				/* The sending side is gone (-EPIPE) or the connection
				 * failed, which reading the socket will report. */
				stdin_done(nc);
				return;
			}
			nc->ioff += (size_t)m;
			nc->ilen -= (size_t)m;
			activity(nc);
			if (nc->ilen)
				return;
		}
		if (nc->in_eof || nc->shut_sent) {
			maybe_shutdown(nc);
			return;
		}
		size_t room = ustcp_sock_writable(nc->k);
		if (!in_ready || room < LOW_WATER)
			return;
		/* A blocking stdin is read once per readiness: a second read could wait. */
		in_ready = false;
		ssize_t n = read(STDIN_FILENO, nc->ibuf, room < NC_BUF ? room : NC_BUF);
		if (n > 0) {
			nc->ioff = 0;
			nc->ilen = (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0)
			fprintf(stderr, "ustcp nc: stdin: %s\n", strerror(errno));
		stdin_done(nc);
	}
}

/* The next wake-up: -w's idle limit, or the linger's end and step. */
static uint64_t deadline(const struct nc *nc)
{
	if (nc->lingering) {
		uint64_t step = nethost_clock() + LINGER_STEP, end = nc->linger_since + LINGER;
		return step < end ? step : end;
	}
	return nc->wait_ns ? nc->last_activity + nc->wait_ns : UINT64_MAX;
}

/* What to wait for, as poll(2) entries (fd -1: not now): the signals;
 * the socket, for what we want of it; stdin, when the socket has room for
 * what it gives; stdout, when it has refused data. */
enum { P_SIG, P_SOCK, P_IN, P_OUT, P_N };

static void wait_set(struct nc *nc, struct pollfd p[P_N])
{
	for (int i = 0; i < P_N; i++)
		p[i] = (struct pollfd){.fd = -1, .events = POLLIN};
	p[P_SIG].fd = nc->env.sigfd;
	if (nc->lingering)
		return;
	bool want_in = !nc->in_eof && !nc->shut_sent && nc->ilen == 0;
	bool room = want_in && ustcp_sock_writable(nc->k) >= LOW_WATER;
	short want = (short)((!nc->peer_eof && nc->olen == 0 ? POLLIN : 0) |
			     (nc->ilen || (want_in && !room) ? POLLOUT : 0));
	if (want)
		p[P_SOCK].fd = ustcp_sock_fd(nc->k, want);
	if (room)
		p[P_IN].fd = STDIN_FILENO;
	if (nc->olen) {
		p[P_OUT].fd = STDOUT_FILENO;
		p[P_OUT].events = POLLOUT;
	}
}

/* Moves the bytes both ways until the connection is over. */
static enum end transfer(struct nc *nc)
{
	bool in_ready = false;
	for (;;) {
		enum end end = step_out(nc);
		if (end)
			return end;
		if (!nc->lingering)
			step_in(nc, in_ready);
		if (!nc->lingering && nc->peer_eof && nc->olen == 0)
			start_linger(nc);
		if (nc->lingering && (end = linger_done(nc)))
			return end;

		struct pollfd p[P_N];
		wait_set(nc, p);
		int n = poll(p, P_N, nethost_poll_ms(deadline(nc)));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "ustcp nc: poll: %s\n", strerror(errno));
			return END_ERROR;
		}
		if (p[P_SIG].revents && nethost_signalled(&nc->env))
			return END_SIGNAL;
		if (p[P_IN].revents & POLLNVAL)
			stdin_done(nc); /* no stdin at all */
		in_ready = p[P_IN].revents != 0;
		if (n != 0)
			continue;
		if (nc->lingering && nethost_clock() >= nc->linger_since + LINGER) {
			fprintf(stderr,
				"ustcp nc: the peer did not acknowledge the end of the "
				"stream within %llu s\n",
				(unsigned long long)(LINGER / USTCP_NS_PER_SEC));
			return END_RESET;
		}
		if (!nc->lingering)
			start_linger(nc); /* -w: an idle connection is closed quietly */
	}
}

/* ---- options ---- */

static void usage(void)
{
	printf("usage: ustcp nc [-klNv] [-p PORT] [-w SECONDS] [HOST PORT] --tap IFNAME "
	       "--ip ADDR/PREFIX [options]\n\n"
	       "Netcat over ustcp: stdin to the connection, the connection to stdout.\n\n"
	       "  -l                  listen for a connection (on -p PORT, or PORT)\n"
	       "  -k                  with -l, accept another connection after each one\n"
	       "  -N                  shut down the sending side after EOF on stdin\n"
	       "  -p PORT             the local port\n"
	       "  -w SECONDS          connect and idle timeout\n"
	       "  -v                  say when the connection opens\n"
	       "  HOST                an IPv4 or IPv6 address, like 10.0.0.1, fd00::1 or\n"
	       "                      [fd00::1]; fe80::1%%IFNAME for a link-local one (names\n"
	       "                      are not resolved)\n%s",
	       netopts_help);
}

static int take_value(struct nc *nc, char flag, const char *v)
{
	if (flag == 'p') {
		if (!netopts_parse_port(v, &nc->lport))
			return tool_usage_error("nc", "-p wants a port from 1 to 65535, not '%s'",
						v);
		return 0;
	}
	char *end;
	errno = 0;
	double s = strtod(v, &end);
	if (end == v || *end || errno || !(s > 0) || s > 1e6)
		return tool_usage_error("nc", "-w wants seconds (more than 0), not '%s'", v);
	nc->wait_ns = (uint64_t)(s * 1e9);
	return 0;
}

/* A cluster of short flags, like -lkN or -p1234 or -w 5. */
static int take_flags(struct nc *nc, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	for (size_t j = 1; a[j]; j++) {
		switch (a[j]) {
		case 'l':
			nc->listen = true;
			break;
		case 'k':
			nc->keep = true;
			break;
		case 'N':
			nc->shut_on_eof = true;
			break;
		case 'v':
			nc->verbose = true;
			break;
		case 'n':
			break; /* numeric only: always */
		case 'p':
		case 'w':
			if (a[j + 1])
				return take_value(nc, a[j], a + j + 1);
			if (*i + 1 >= argc)
				return tool_usage_error("nc", "-%c needs a value", a[j]);
			return take_value(nc, a[j], argv[++*i]);
		case 'h':
			usage();
			return -1;
		default:
			return tool_usage_error("nc", "unknown option '-%c'", a[j]);
		}
	}
	return 0;
}

static int parse_positional(struct nc *nc, const struct netopts *o, char **pos, int npos)
{
	const char *host = NULL, *port = NULL;
	if (nc->listen) {
		if (npos > 2)
			return tool_usage_error("nc", "-l takes at most [HOST] PORT");
		if (npos == 2)
			host = pos[0];
		if (npos >= 1)
			port = pos[npos - 1];
		if (port && !netopts_parse_port(port, &nc->lport))
			return tool_usage_error("nc", "PORT wants 1 to 65535, not '%s'", port);
		if (host && netopts_parse_host(o, "nc", host, true, &nc->lhost))
			return 2;
		if (!nc->lport)
			return tool_usage_error("nc", "-l needs a port (-p PORT)");
		return 0;
	}
	if (nc->keep)
		return tool_usage_error("nc", "-k needs -l");
	if (npos != 2)
		return tool_usage_error("nc", "wants HOST PORT (or -l -p PORT)");
	if (netopts_parse_host(o, "nc", pos[0], false, &nc->rhost))
		return 2;
	if (!netopts_parse_port(pos[1], &nc->rport))
		return tool_usage_error("nc", "PORT wants 1 to 65535, not '%s'", pos[1]);
	ustcp_endpoint_str(&nc->rhost, 0, nc->rhost_str, sizeof(nc->rhost_str));
	return 0;
}

/* The arguments that are not network options: flags, and HOST PORT. */
struct nc_args {
	struct nc *nc;
	char *pos[3];
	int npos;
};

static int take_arg(void *ctx, int argc, char **argv, int *i)
{
	struct nc_args *n = ctx;
	const char *a = argv[*i];
	if (!strcmp(a, "--verbose")) {
		n->nc->verbose = true;
		return NETOPT_TAKEN;
	}
	if (a[0] == '-' && a[1] == '-')
		return NETOPT_OTHER;
	if (a[0] == '-' && a[1]) {
		int rc = take_flags(n->nc, argc, argv, i);
		return rc ? rc : NETOPT_TAKEN;
	}
	if (n->npos == 3)
		return tool_usage_error("nc", "too many arguments ('%s')", a);
	n->pos[n->npos++] = argv[*i];
	return NETOPT_TAKEN;
}

static int parse_args(struct nc *nc, struct netopts *o, int argc, char **argv)
{
	struct nc_args n = {.nc = nc};
	int rc = netopts_parse(o, "nc", argc, argv, take_arg, &n, usage);
	if (rc == 0)
		rc = parse_positional(nc, o, n.pos, n.npos);
	return rc ? rc : netopts_finish(o, "nc");
}

/* ---- running ---- */

static int set_bufs(struct ustcp_sock *k)
{
	int rc = ustcp_setsockopt(k, USTCP_SO_SNDBUF, NC_SOCKBUF);
	return rc ? rc : ustcp_setsockopt(k, USTCP_SO_RCVBUF, NC_SOCKBUF);
}

static int listen_on(struct nc *nc)
{
	struct ustcp_endpoint local = nc->lhost;
	local.port = nc->lport;
	int rc = ustcp_listen_on(nc->env.s, local, 8, &nc->l);
	if (rc == 0)
		rc = set_bufs(nc->l);
	if (rc < 0) {
		char a[USTCP_ENDPOINT_STRLEN];
		fprintf(stderr, "ustcp nc: listen on %s: %s\n",
			ustcp_endpoint_str(&local, 1, a, sizeof(a)), strerror(-rc));
		return 1;
	}
	return 0;
}

/* The next connection: accepted (without -k, later SYNs are then refused,
 * as netcat does) or made. */
static enum end open_conn(struct nc *nc)
{
	int rc;
	if (nc->listen) {
		rc = nethost_accept(&nc->env, nc->l, &nc->k);
		if (rc == -EINTR)
			return END_SIGNAL;
		if (rc < 0) {
			fprintf(stderr, "ustcp nc: accept: %s\n", strerror(-rc));
			return END_ERROR;
		}
		if (!nc->keep) {
			ustcp_close(nc->l);
			nc->l = NULL;
		}
		struct ustcp_endpoint peer;
		char a[USTCP_ENDPOINT_STRLEN];
		ustcp_getpeername(nc->k, &peer);
		say(nc, "connection received on %s %u", ustcp_endpoint_str(&peer, 0, a, sizeof(a)),
		    peer.port);
	} else {
		/* The local address (of the remote's family) is the stack's choice. */
		struct ustcp_endpoint local = {.v6 = nc->rhost.v6, .port = nc->lport};
		struct ustcp_endpoint remote = nc->rhost;
		remote.port = nc->rport;
		rc = ustcp_socket(nc->env.s, &nc->k);
		if (rc == 0)
			rc = set_bufs(nc->k);
		if (rc == 0 && nc->lport)
			rc = ustcp_bind(nc->k, local);
		if (rc == 0)
			rc = nethost_connect(&nc->env, nc->k, remote, nc->wait_ns);
		if (rc == -EINTR)
			return END_SIGNAL;
		if (rc < 0) {
			fprintf(stderr, "ustcp nc: connect to %s port %u: %s\n", nc->rhost_str,
				nc->rport, strerror(-rc));
			return rc == -ETIMEDOUT ? END_RESET : END_ERROR;
		}
		say(nc, "connection to %s %u port [tcp/*] succeeded!", nc->rhost_str, nc->rport);
	}
	ustcp_setsockopt(nc->k, USTCP_SO_NONBLOCK, 1);
	nc->opened_at = nc->last_activity = nethost_clock();
	nc->peer_eof = nc->shut_sent = nc->lingering = false;
	nc->olen = nc->ilen = 0;
	return GOING;
}

/* Releases the connection: a reset for anything but a clean end or an
 * error the connection itself reported (whose close still sends a FIN). */
static void close_conn(struct nc *nc, enum end end)
{
	if (!nc->k)
		return;
	if (end != END_SIGNAL)
		report_conn(nc);
	if (end == END_OK || end == END_ERROR)
		ustcp_close(nc->k);
	else
		ustcp_abort(nc->k); /* a signal or a failure: the peer learns at once */
	nc->k = NULL;
}

/* Connections one after another (-l -k), or one. */
static int run(struct nc *nc)
{
	if (nc->listen && listen_on(nc))
		return 1;
	for (;;) {
		enum end end = open_conn(nc);
		if (end == GOING)
			end = transfer(nc);
		close_conn(nc, end);
		if (end == END_SIGNAL)
			return 128 + nc->env.signo;
		if (!(nc->listen && nc->keep && nc->l && end != END_FATAL))
			return end == END_OK ? 0 : 1;
	}
}

int cmd_nc(int argc, char **argv)
{
	struct nc nc;
	struct netopts o;
	memset(&nc, 0, sizeof(nc));
	nc.out_flags = -1;
	netopts_init(&o);
	int rc = parse_args(&nc, &o, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;

	struct ustcp_config cfg;
	netopts_stack_config(&o, &cfg);
	if (nethost_open(&nc.env, "nc", &o, &cfg))
		return 1;
	if (nc.verbose)
		nethost_print_addrs(&nc.env);
	int code = 1;
	nc.ibuf = malloc(NC_BUF);
	nc.obuf = malloc(NC_BUF);
	if (!nc.ibuf || !nc.obuf)
		fprintf(stderr, "ustcp nc: out of memory\n");
	else if ((rc = setup_stdout(&nc)) < 0)
		fprintf(stderr, "ustcp nc: stdout: %s\n", strerror(-rc));
	else
		code = run(&nc);
	if (nc.l)
		ustcp_close(nc.l);
	restore_stdout(&nc);
	if (nc.verbose)
		nethost_report(&nc.env);
	nethost_close(&nc.env);
	free(nc.ibuf);
	free(nc.obuf);
	return code;
}
