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
 * Nothing blocks the loop. stdin is read only when the socket's send
 * buffer has room (LOW_WATER at least), so a slow network holds back the
 * writer of stdin; the socket is read only when stdout has taken what came
 * before, so a slow reader of stdout closes our receive window. Files that
 * epoll cannot watch (regular files, /dev/null) are read and written when
 * needed, as they are always ready. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "netopts.h"
#include "tool.h"
#include "ustcp/runtime.h"
#include "ustcp/ustcp.h"

#define NC_BUF (256u * 1024)           /* bytes per read of stdin or the socket */
#define NC_SOCKBUF (4u * 1024 * 1024)  /* send and receive buffers, for fast paths */
#define LOW_WATER (64u * 1024)         /* room in the send buffer before stdin is read */
#define LINGER (10 * USTCP_NS_PER_SEC) /* for our last data and FIN to be acknowledged */
/* Reads per pump: enough to empty a whole socket buffer in NC_BUF pieces,
 * so a pump never stops with data left that no event would announce. */
#define PUMP_ROUNDS (2 * NC_SOCKBUF / NC_BUF + 4)

enum phase {
	WAITING,    /* listening, no connection yet */
	CONNECTING, /* SYN sent */
	OPEN,
	LINGERING, /* the peer has closed, or we timed out: waiting for our FIN's ACK */
};

struct nc {
	struct netenv env;
	/* options */
	bool listen, keep, shut_on_eof, verbose;
	struct ustcp_endpoint lhost, rhost; /* addresses only: the ports are below */
	uint16_t lport, rport;
	char rhost_str[USTCP_ENDPOINT_STRLEN];
	uint64_t wait_ns; /* -w: connect and idle timeout, 0 for none */
	/* the connection */
	struct ustcp_sock *l, *k;
	enum phase phase;
	uint64_t phase_since, last_activity;
	uint64_t opened_at; /* when the connection was established */
	bool peer_eof, shut_sent;
	/* stdin */
	bool in_pollable, in_watching, in_ready, in_eof;
	uint8_t *ibuf;
	size_t ioff, ilen; /* read, not yet taken by the socket */
	/* stdout */
	bool out_pollable, out_watching;
	int out_flags; /* to restore; -1 when unchanged */
	uint8_t *obuf;
	size_t ooff, olen; /* received, not yet written */
	bool touched;      /* the stack reported an event */
	bool done;
	int code;
};

static void pump(struct nc *nc);

static void say(const struct nc *nc, const char *fmt, const char *a, unsigned b)
{
	if (!nc->verbose)
		return;
	fprintf(stderr, "ustcp nc: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
}

static uint64_t now(const struct nc *nc) { return ustcp_runtime_now(nc->env.rt); }

static void set_phase(struct nc *nc, enum phase p)
{
	nc->phase = p;
	nc->phase_since = now(nc);
	nc->last_activity = now(nc);
}

static void finish(struct nc *nc, int code)
{
	nc->done = true;
	nc->code = code;
	ustcp_runtime_stop(nc->env.rt);
}

/* ---- stdin and stdout on the loop ---- */

static void on_stdin(void *ctx, int fd, uint32_t events);
static void on_stdout(void *ctx, int fd, uint32_t events);

static void watch_stdin(struct nc *nc, bool on)
{
	if (!nc->in_pollable || nc->in_watching == on)
		return;
	if (ustcp_runtime_watch(nc->env.rt, STDIN_FILENO, on ? EPOLLIN : 0, on_stdin, nc) == 0)
		nc->in_watching = on;
}

static void watch_stdout(struct nc *nc, bool on)
{
	if (!nc->out_pollable || nc->out_watching == on)
		return;
	if (ustcp_runtime_watch(nc->env.rt, STDOUT_FILENO, on ? EPOLLOUT : 0, on_stdout, nc) == 0)
		nc->out_watching = on;
}

static void on_stdin(void *ctx, int fd, uint32_t events)
{
	struct nc *nc = ctx;
	(void)fd;
	(void)events;
	nc->in_ready = true;
	pump(nc);
}

static void on_stdout(void *ctx, int fd, uint32_t events)
{
	struct nc *nc = ctx;
	(void)fd;
	(void)events;
	pump(nc);
}

static void stdin_done(struct nc *nc)
{
	nc->in_eof = true;
	nc->ilen = 0;
	if (nc->in_pollable) {
		ustcp_runtime_unwatch(nc->env.rt, STDIN_FILENO);
		nc->in_pollable = false;
		nc->in_watching = false;
	}
}

/* Which of stdin and stdout epoll can watch; stdout made non-blocking
 * where it can block (a pipe or socket; a terminal is left as it is). */
static int setup_stdio(struct nc *nc)
{
	int rc = ustcp_runtime_watch(nc->env.rt, STDIN_FILENO, 0, on_stdin, nc);
	nc->in_pollable = rc == 0;
	if (rc == -EBADF)
		nc->in_eof = true; /* no stdin at all */
	else if (rc < 0 && rc != -EPERM)
		return rc;

	struct stat st;
	nc->out_flags = -1;
	if (fstat(STDOUT_FILENO, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || isatty(STDOUT_FILENO))
		return 0;
	rc = ustcp_runtime_watch(nc->env.rt, STDOUT_FILENO, 0, on_stdout, nc);
	if (rc == -EPERM)
		return 0;
	if (rc < 0)
		return rc;
	nc->out_pollable = true;
	int fl = fcntl(STDOUT_FILENO, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
		nc->out_flags = fl;
	return 0;
}

static void restore_stdio(struct nc *nc)
{
	if (nc->out_flags >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, nc->out_flags);
}

/* ---- the connection ---- */

/* -v: what the connection did, like a short TCP_INFO. */
static void report_conn(const struct nc *nc)
{
	if (!nc->verbose)
		return;
	struct ustcp_sock_info in;
	ustcp_sock_info(nc->k, &in);
	double secs = nc->opened_at ? (double)(now(nc) - nc->opened_at) / 1e9 : 0;
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

/* How a connection ended, for conn_done. */
enum end { END_CLOSE, END_RESET, END_FATAL /* stdout is gone: no next connection */ };

/* The connection is over: release it, then with -k wait for the next one,
 * else finish with code. */
static void conn_done(struct nc *nc, int code, enum end how)
{
	report_conn(nc);
	if (how == END_CLOSE)
		ustcp_close(nc->k);
	else
		ustcp_abort(nc->k);
	nc->k = NULL;
	nc->peer_eof = nc->shut_sent = false;
	nc->olen = nc->ilen = 0;
	watch_stdout(nc, false);
	watch_stdin(nc, false);
	if (nc->listen && nc->keep && nc->l && how != END_FATAL) {
		set_phase(nc, WAITING);
		return;
	}
	finish(nc, code);
}

static void conn_error(struct nc *nc, const char *what, long err)
{
	fprintf(stderr, "ustcp nc: %s: %s\n", what, strerror((int)-err));
	conn_done(nc, 1, END_CLOSE);
}

static void conn_opened(struct nc *nc)
{
	struct ustcp_sock_info in;
	char peer[USTCP_ENDPOINT_STRLEN];
	ustcp_sock_info(nc->k, &in);
	if (nc->listen)
		say(nc, "connection received on %s %u",
		    ustcp_endpoint_str(&in.remote, 0, peer, sizeof(peer)), in.remote.port);
	else
		say(nc, "connection to %s %u port [tcp/*] succeeded!", nc->rhost_str, nc->rport);
	set_phase(nc, OPEN);
	nc->opened_at = now(nc);
}

/* The peer has closed and all it sent is written: our FIN follows what we
 * queued, and we wait for it to be acknowledged. */
static void start_linger(struct nc *nc)
{
	if (!nc->shut_sent)
		ustcp_shutdown(nc->k, USTCP_SHUT_WR);
	nc->shut_sent = true;
	nc->ilen = 0; /* what stdin still had is dropped, as netcat does */
	watch_stdin(nc, false);
	set_phase(nc, LINGERING);
}

static void activity(struct nc *nc) { nc->last_activity = now(nc); }

/* Socket to stdout. */
static void pump_out(struct nc *nc)
{
	for (unsigned round = 0; round < PUMP_ROUNDS && nc->k; round++) {
		if (nc->olen) {
			ssize_t w = write(STDOUT_FILENO, nc->obuf + nc->ooff, nc->olen);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN) {
				watch_stdout(nc, true);
				return;
			}
			if (w < 0) {
				if (errno != EPIPE)
					fprintf(stderr, "ustcp nc: stdout: %s\n", strerror(errno));
				conn_done(nc, 1, END_FATAL);
				return;
			}
			nc->ooff += (size_t)w;
			nc->olen -= (size_t)w;
			activity(nc);
			continue;
		}
		watch_stdout(nc, false);
		if (nc->peer_eof)
			return;
		long n = ustcp_recv(nc->k, nc->obuf, NC_BUF);
		if (n == -EAGAIN)
			return;
		if (n == 0) {
			nc->peer_eof = true;
			return;
		}
		if (n < 0) {
			conn_error(nc, "read", n);
			return;
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

/* stdin to the socket. */
static void pump_in(struct nc *nc)
{
	for (unsigned round = 0; round < PUMP_ROUNDS && nc->k; round++) {
		if (nc->ilen) {
			long m = ustcp_send(nc->k, nc->ibuf + nc->ioff, nc->ilen);
			if (m == -EAGAIN) {
				watch_stdin(nc, false);
				return;
			}
			if (m < 0) {
				/* The sending side is gone (-EPIPE) or the connection
				 * failed, which reading the socket will report. */
				stdin_done(nc);
				return;
			}
			nc->ioff += (size_t)m;
			nc->ilen -= (size_t)m;
			activity(nc);
			if (nc->ilen) {
				watch_stdin(nc, false);
				return;
			}
		}
		if (nc->in_eof || nc->shut_sent) {
			maybe_shutdown(nc);
			return;
		}
		size_t room = ustcp_sock_writable(nc->k);
		if (room < LOW_WATER) {
			watch_stdin(nc, false);
			return;
		}
		if (nc->in_pollable && !nc->in_ready) {
			watch_stdin(nc, true);
			return;
		}
		/* A blocking stdin is read once per readiness: a second read could wait. */
		nc->in_ready = false;
		ssize_t n = read(STDIN_FILENO, nc->ibuf, room < NC_BUF ? room : NC_BUF);
		if (n > 0) {
			nc->ioff = 0;
			nc->ilen = (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			watch_stdin(nc, true);
			return;
		}
		if (n < 0)
			fprintf(stderr, "ustcp nc: stdin: %s\n", strerror(errno));
		stdin_done(nc);
	}
}

static void check_connect(struct nc *nc)
{
	int st = ustcp_sock_state(nc->k);
	if (st == USTCP_SYN_SENT || st == USTCP_SYN_RECEIVED)
		return;
	if (st == USTCP_CLOSED) {
		int err = ustcp_sock_error(nc->k);
		fprintf(stderr, "ustcp nc: connect to %s port %u: %s\n", nc->rhost_str, nc->rport,
			strerror(err ? -err : ECONNABORTED));
		conn_done(nc, 1, END_CLOSE);
		return;
	}
	conn_opened(nc);
}

static void check_end(struct nc *nc)
{
	if (nc->phase == OPEN && nc->peer_eof && nc->olen == 0) {
		start_linger(nc);
	}
	if (nc->phase == LINGERING) {
		int st = ustcp_sock_state(nc->k);
		/* Our FIN is acknowledged in these (RFC 9293 §3.3.2). */
		if (st == USTCP_CLOSED || st == USTCP_TIME_WAIT || st == USTCP_FIN_WAIT_2) {
			int err = ustcp_sock_error(nc->k);
			if (err && st == USTCP_CLOSED) {
				conn_error(nc, "connection", err);
				return;
			}
			conn_done(nc, 0, END_CLOSE);
		}
	}
}

static void try_accept(struct nc *nc)
{
	if (nc->k || !nc->l || ustcp_accept(nc->l, &nc->k) < 0)
		return;
	if (!nc->keep) {
		/* One connection: later SYNs are refused, as netcat does. */
		ustcp_close(nc->l);
		nc->l = NULL;
	}
	conn_opened(nc);
}

static void pump(struct nc *nc)
{
	if (nc->done)
		return;
	if (nc->phase == WAITING)
		try_accept(nc);
	if (!nc->k)
		return;
	if (nc->phase == CONNECTING)
		check_connect(nc);
	if (!nc->k || nc->done)
		return;
	pump_out(nc);
	if (nc->k && nc->phase != LINGERING)
		pump_in(nc);
	if (nc->k)
		check_end(nc);
}

/* The stack's event handler only notes that something happened; the turn
 * function does the work for the whole turn at once. */
static void on_event(void *ctx, struct ustcp_sock *k, unsigned events)
{
	struct nc *nc = ctx;
	(void)k;
	(void)events;
	nc->touched = true;
}

/* Once per loop turn, and again while our own calls (a window update, a
 * shutdown) made more happen. */
static void turn(void *ctx)
{
	struct nc *nc = ctx;
	for (int i = 0; i < 4; i++) {
		nc->touched = false;
		pump(nc);
		if (!nc->touched)
			break;
	}
}

/* ---- timeouts ---- */

static uint64_t deadline(const struct nc *nc)
{
	switch (nc->phase) {
	case CONNECTING:
		return nc->wait_ns ? nc->phase_since + nc->wait_ns : UINT64_MAX;
	case OPEN:
		return nc->wait_ns ? nc->last_activity + nc->wait_ns : UINT64_MAX;
	case LINGERING:
		return nc->phase_since + LINGER;
	default:
		return UINT64_MAX;
	}
}

static void timed_out(struct nc *nc)
{
	if (now(nc) < deadline(nc))
		return;
	switch (nc->phase) {
	case CONNECTING:
		fprintf(stderr, "ustcp nc: connect to %s port %u: %s\n", nc->rhost_str, nc->rport,
			strerror(ETIMEDOUT));
		conn_done(nc, 1, END_RESET);
		break;
	case OPEN:
		/* -w: an idle connection is closed quietly. */
		start_linger(nc);
		break;
	case LINGERING:
		fprintf(stderr,
			"ustcp nc: the peer did not acknowledge the end of the "
			"stream within %llu s\n",
			(unsigned long long)(LINGER / USTCP_NS_PER_SEC));
		conn_done(nc, 1, END_RESET);
		break;
	default:
		break;
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

/* HOST: an address of either family, with brackets or without; a
 * link-local IPv6 one may name its zone (RFC 4007 §11), which must be our
 * only interface. Returns 0 or 2. */
static int parse_host(const struct netopts *o, const char *text, bool listening,
		      struct ustcp_endpoint *ep)
{
	char buf[USTCP_ENDPOINT_STRLEN];
	const char *orig = text, *pct = strchr(text, '%');
	size_t n = strlen(text);
	if (pct && n < sizeof(buf)) {
		const char *zone = pct + 1;
		size_t zlen = strlen(zone);
		bool bracketed = text[0] == '[' && zlen && zone[zlen - 1] == ']';
		if (bracketed)
			zlen--;
		/* Without --tap yet, netopts_finish() reports that first. */
		if (o->tap && (zlen != strlen(o->tap) || strncmp(zone, o->tap, zlen)))
			return tool_usage_error("nc",
						"HOST %s: the zone must be the --tap device (%s)",
						text, o->tap);
		memcpy(buf, text, (size_t)(pct - text));
		buf[pct - text] = '\0';
		if (bracketed)
			strcat(buf, "]");
		text = buf;
	}
	struct ustcp_endpoint e = {.ip4 = 0};
	if (ustcp_addr_parse(text, &e) < 0)
		return tool_usage_error("nc",
					"HOST wants an IPv4 or IPv6 address (names are not "
					"resolved), not '%s'",
					orig);
	static const uint8_t zero[16];
	bool unspecified = e.v6 ? !memcmp(e.ip6, zero, 16) : e.ip4 == 0;
	bool multicast = e.v6 ? e.ip6[0] == 0xff : (e.ip4 >> 28) == 14;
	bool link_local = e.v6 && e.ip6[0] == 0xfe && (e.ip6[1] & 0xc0) == 0x80;
	if (pct && !link_local)
		return tool_usage_error("nc", "HOST %s: only a link-local address takes a zone",
					orig);
	if (multicast)
		return tool_usage_error("nc", "HOST %s is a multicast address", orig);
	if (unspecified && !listening)
		return tool_usage_error("nc", "HOST %s is the unspecified address", orig);
	*ep = e;
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
		if (host && parse_host(o, host, true, &nc->lhost))
			return 2;
		if (!nc->lport)
			return tool_usage_error("nc", "-l needs a port (-p PORT)");
		return 0;
	}
	if (nc->keep)
		return tool_usage_error("nc", "-k needs -l");
	if (npos != 2)
		return tool_usage_error("nc", "wants HOST PORT (or -l -p PORT)");
	if (parse_host(o, pos[0], false, &nc->rhost))
		return 2;
	if (!netopts_parse_port(pos[1], &nc->rport))
		return tool_usage_error("nc", "PORT wants 1 to 65535, not '%s'", pos[1]);
	ustcp_endpoint_str(&nc->rhost, 0, nc->rhost_str, sizeof(nc->rhost_str));
	return 0;
}

static int parse_args(struct nc *nc, struct netopts *o, int argc, char **argv)
{
	char *pos[3];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = netopts_take(o, "nc", argc, argv, &i);
		if (rc == NETOPT_TAKEN)
			continue;
		if (rc != NETOPT_OTHER)
			return rc;
		if (!strcmp(a, "--help")) {
			usage();
			return -1;
		}
		if (!strcmp(a, "--verbose")) {
			nc->verbose = true;
		} else if (a[0] == '-' && a[1] == '-') {
			return tool_usage_error("nc", "unknown option '%s'", a);
		} else if (a[0] == '-' && a[1]) {
			if ((rc = take_flags(nc, argc, argv, &i)) != 0)
				return rc;
		} else {
			if (npos == 3)
				return tool_usage_error("nc", "too many arguments ('%s')", a);
			pos[npos++] = argv[i];
		}
	}
	int rc = parse_positional(nc, o, pos, npos);
	return rc ? rc : netopts_finish(o, "nc");
}

/* ---- running ---- */

static int set_bufs(struct ustcp_sock *k)
{
	int rc = ustcp_setsockopt(k, USTCP_SO_SNDBUF, NC_SOCKBUF);
	return rc ? rc : ustcp_setsockopt(k, USTCP_SO_RCVBUF, NC_SOCKBUF);
}

static int open_conn(struct nc *nc)
{
	int rc;
	if (nc->listen) {
		struct ustcp_endpoint local = nc->lhost;
		local.port = nc->lport;
		rc = ustcp_listen_on(nc->env.s, local, 8, &nc->l);
		if (rc == 0)
			rc = set_bufs(nc->l);
		if (rc < 0) {
			char a[USTCP_ENDPOINT_STRLEN];
			fprintf(stderr, "ustcp nc: listen on %s: %s\n",
				ustcp_endpoint_str(&local, 1, a, sizeof(a)), strerror(-rc));
			return 1;
		}
		set_phase(nc, WAITING);
		return 0;
	}
	/* The local address (of the remote's family) is the stack's choice. */
	struct ustcp_endpoint local = {.v6 = nc->rhost.v6, .port = nc->lport}, remote = nc->rhost;
	remote.port = nc->rport;
	rc = ustcp_socket(nc->env.s, &nc->k);
	if (rc == 0)
		rc = set_bufs(nc->k);
	if (rc == 0 && nc->lport)
		rc = ustcp_bind(nc->k, local);
	if (rc == 0 && (rc = ustcp_connect(nc->k, remote)) == -EINPROGRESS)
		rc = 0;
	if (rc < 0) {
		fprintf(stderr, "ustcp nc: connect to %s port %u: %s\n", nc->rhost_str, nc->rport,
			strerror(-rc));
		return 1;
	}
	set_phase(nc, CONNECTING);
	return 0;
}

static int loop(struct nc *nc)
{
	while (!nc->done) {
		uint64_t t = now(nc), d = deadline(nc);
		int rc = ustcp_runtime_run(nc->env.rt, d == UINT64_MAX ? 0 : d > t ? d - t : 1);
		if (nc->env.signo)
			return 128 + nc->env.signo;
		if (rc == -ETIMEDOUT) {
			timed_out(nc);
		} else if (rc < 0) {
			fprintf(stderr, "ustcp nc: %s\n", ustcp_runtime_error(nc->env.rt));
			return 1;
		}
	}
	return nc->code;
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
	if (netenv_open(&nc.env, "nc", &o, &cfg))
		return 1;
	if (nc.verbose)
		netenv_print_addrs(&nc.env);
	int code = 1;
	nc.ibuf = malloc(NC_BUF);
	nc.obuf = malloc(NC_BUF);
	if (!nc.ibuf || !nc.obuf) {
		fprintf(stderr, "ustcp nc: out of memory\n");
		goto out;
	}
	if ((rc = setup_stdio(&nc)) < 0) {
		fprintf(stderr, "ustcp nc: stdin/stdout: %s\n", strerror(-rc));
		goto out;
	}
	ustcp_set_event_handler(nc.env.s, on_event, &nc);
	ustcp_runtime_set_turn(nc.env.rt, turn, &nc);
	if (open_conn(&nc))
		goto out;
	code = loop(&nc);
out:
	/* Nothing of ours runs from the loop any more: stdin and stdout
	 * callbacks would find the sockets released below. */
	nc.done = true;
	ustcp_runtime_unwatch(nc.env.rt, STDIN_FILENO);
	ustcp_runtime_unwatch(nc.env.rt, STDOUT_FILENO);
	ustcp_runtime_set_turn(nc.env.rt, NULL, NULL);
	if (nc.k)
		ustcp_abort(nc.k); /* a signal, or a failure: the peer learns at once */
	if (nc.l)
		ustcp_close(nc.l);
	nc.k = nc.l = NULL;
	/* Let the last FIN or reset reach the device. */
	ustcp_runtime_run(nc.env.rt, 1);
	restore_stdio(&nc);
	if (nc.verbose)
		netenv_report(&nc.env);
	netenv_close(&nc.env);
	free(nc.ibuf);
	free(nc.obuf);
	return code;
}
