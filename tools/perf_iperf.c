/* perf_iperf.c — `ustcp perf -s` and `ustcp perf -c HOST`: iperf3's TCP
 * test on a TAP device, so that the kernel's iperf3 can be either end.
 *
 * The test, on the first connection (the control connection; iperf3.h has
 * the messages):
 *
 *   client                                      server
 *   connect, the cookie                   ->
 *                                         <-    PARAM_EXCHANGE
 *   the parameters (JSON)                 ->
 *                                         <-    CREATE_STREAMS
 *   -P connections, each says the cookie  ->
 *                                         <-    TEST_START, TEST_RUNNING
 *   data one way on every stream for -t seconds: the client sends, or
 *   the server with -R; only what moves while the test runs counts
 *   TEST_END                              ->
 *                                         <-    EXCHANGE_RESULTS
 *   the client's results (JSON)           ->
 *                                         <-    the server's results
 *                                         <-    DISPLAY_RESULTS
 *   IPERF_DONE                            ->
 *
 * Both ends then print each stream's figures as sender and as receiver,
 * one side from its own counts and the other from its peer's results.
 *
 * The stack runs on the host's thread (nethost); this thread runs the test
 * and shares nothing with it but the sockets, whose calls take the stack's
 * lock. Every socket is non-blocking, and every wait is a poll(2) on the
 * readiness descriptors of the sockets (ustcp_sock_fd) beside the signal
 * descriptor, with a deadline: a signal or a silent peer ends any wait. */
#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <sys/random.h>
#include <sys/resource.h>

#include "iperf3.h"
#include "netopts.h"
#include "perf.h"
#include "tool.h"
#include "ustcp/host.h"
#include "ustcp/ustcp.h"

#define DEFAULT_PORT 5201
#define DEFAULT_TIME 10
#define DEFAULT_LEN (128u * 1024) /* iperf3's block for TCP */
#define MAX_LEN (1024u * 1024)
#define MAX_TIME 86400
/* Send and receive buffers of a stream (unless the client asks, -w): 4 MiB,
 * or a share of 32 MiB among many streams, down to 256 KiB. */
#define SOCKBUF (4u * 1024 * 1024)
#define SOCKBUF_ALL (32u * 1024 * 1024)
#define SOCKBUF_LEAST (256u * 1024)
#define MIN_SOCKBUF 1024u /* what USTCP_SO_SNDBUF takes, with the default config */
#define MAX_SOCKBUF (64u * 1024 * 1024)
#define RECV_BUF (256u * 1024)
#define BACKLOG 16
#define SEC USTCP_NS_PER_SEC
#define CTRL_WAIT (10 * SEC) /* for each step of the control protocol */
/* A server ends a timed test this long after the client should have (iperf3's). */
#define SERVER_GRACE (5 * SEC)
/* Calls per stream each time it is ready, so one stream cannot starve the rest. */
#define PUMP_CALLS 8
#define NO_STATE INT_MIN

/* ---- options ---- */

struct opts {
	bool server, client, reverse, json, once;
	struct ustcp_endpoint peer; /* the server (-c HOST), with its port */
	uint16_t port;
	uint32_t time, parallel, len;
};

/* ---- a test ---- */

struct stream {
	struct ustcp_sock *k;
	int efd; /* readiness descriptor */
	int id;  /* iperf3's number for it */
	bool sender, done;
	struct ustcp_endpoint local, remote;
	uint64_t bytes, iv_bytes;      /* counted: in the test, in this interval */
	uint32_t retrans0, iv_retrans; /* retransmits when counting began, and at this interval */
	uint32_t retrans, cwnd;        /* at the last look */
};

enum phase { WAITING, OMITTING, RUNNING, STOPPED };

struct run {
	struct nethost *net;
	const struct opts *op;
	struct ustcp_sock *listener; /* the server's */
	struct ustcp_sock *ctl;
	struct ustcp_endpoint ctl_peer;
	char cookie[IPERF_COOKIE_SIZE];
	struct iperf_params par;
	bool sending; /* this end sends the data */
	struct stream st[IPERF_MAX_STREAMS];
	int n;
	enum phase phase;
	uint64_t t_count, t_end; /* counting began, stopped (ns) */
	uint64_t iv_start, next_tick;
	uint64_t sent, limit; /* bytes sent, all streams; the parameters' bound (0: none) */
	char cc[16];          /* the streams' congestion control */
	struct rusage ru0, ru1;
	struct iperf_results peer;
	bool have_peer;
	int stashed; /* a state byte the data phase read, not yet handled */
	char err[256];
	cJSON *doc, *intervals; /* --json */
	uint8_t *blk;
	int test_no;
};

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* The end of a read is a code of its own, told apart from the stack's errors. */
#define PEER_CLOSED (-ENODATA)

static const char *describe(int rc)
{
	switch (rc) {
	case PEER_CLOSED:
		return "the peer closed the connection";
	case -ETIMEDOUT:
		return "no answer in time";
	default:
		return strerror(-rc);
	}
}

/* Record why the test failed (the first reason only); returns rc. */
__attribute__((format(printf, 3, 4))) static int fail(struct run *r, int rc, const char *fmt, ...)
{
	if (!r->err[0]) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
		size_t used = n < 0 ? sizeof(r->err) : (size_t)n, left = sizeof(r->err) - used;
		const char *sig = sigabbrev_np(r->net->signo);
		if (left && rc == -EINTR)
			snprintf(r->err + used, left, ": stopped by SIG%s", sig ? sig : "?");
		else if (left && rc < 0)
			snprintf(r->err + used, left, ": %s", describe(rc));
	}
	return rc < 0 ? rc : -EPROTO;
}

/* ---- waiting, and whole messages on a socket ---- */

/* Until k is ready for events (or hung up or failed): 0, -EINTR when a
 * signal came, -ETIMEDOUT at the deadline. */
static int wait_for(struct run *r, struct ustcp_sock *k, short events, uint64_t deadline)
{
	int fd = ustcp_sock_fd(k, events);
	return fd < 0 ? fd : nethost_wait(r->net, fd, deadline);
}

/* All len bytes written from buf (out), or read into it, waiting for room
 * or data as needed. */
static int move_all(struct run *r, struct ustcp_sock *k, uint8_t *buf, size_t len, bool out,
		    uint64_t deadline)
{
	while (len > 0) {
		long n = out ? ustcp_send(k, buf, len) : ustcp_recv(k, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0 && !out)
			return PEER_CLOSED;
		if (n != -EAGAIN && n != 0)
			return (int)n;
		int rc = wait_for(r, k, out ? POLLOUT : POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int write_all(struct run *r, struct ustcp_sock *k, const void *buf, size_t len,
		     uint64_t deadline)
{
	return move_all(r, k, (uint8_t *)(uintptr_t)buf, len, true, deadline); /* only read */
}

static int read_exact(struct run *r, struct ustcp_sock *k, void *buf, size_t len, uint64_t deadline)
{
	return move_all(r, k, buf, len, false, deadline);
}

static int send_state(struct run *r, int state)
{
	signed char b = (signed char)state;
	int rc = write_all(r, r->ctl, &b, 1, nethost_clock() + CTRL_WAIT);
	return rc < 0 ? fail(r, rc, "sending %s", iperf_state_name(state)) : 0;
}

/* The next state byte: one the data phase read already, or from the wire. */
static int read_state(struct run *r, uint64_t deadline, int *state)
{
	if (r->stashed != NO_STATE) {
		*state = r->stashed;
		r->stashed = NO_STATE;
		return 0;
	}
	signed char b;
	int rc = read_exact(r, r->ctl, &b, 1, deadline);
	if (rc < 0)
		return fail(r, rc, "reading the control connection");
	*state = b;
	return 0;
}

/* A JSON text after its length, 4 bytes big-endian. Frees text. */
static int send_json(struct run *r, char *text, const char *what)
{
	if (!text)
		return fail(r, -ENOMEM, "writing the %s", what);
	uint32_t len = (uint32_t)strlen(text), be = htonl(len);
	uint64_t deadline = nethost_clock() + CTRL_WAIT;
	int rc = write_all(r, r->ctl, &be, 4, deadline);
	if (rc == 0)
		rc = write_all(r, r->ctl, text, len, deadline);
	free(text);
	return rc < 0 ? fail(r, rc, "sending the %s", what) : 0;
}

/* A JSON text, malloc'd in *text (len bytes, and a NUL). */
static int read_json(struct run *r, char **text, size_t *len, const char *what)
{
	uint64_t deadline = nethost_clock() + CTRL_WAIT;
	uint32_t be;
	int rc = read_exact(r, r->ctl, &be, 4, deadline);
	if (rc < 0)
		return fail(r, rc, "reading the %s", what);
	*len = ntohl(be);
	if (*len > IPERF_MAX_JSON)
		return fail(r, 0, "the peer's %s are %zu bytes long: more than %u", what, *len,
			    IPERF_MAX_JSON);
	*text = malloc(*len + 1);
	if (!*text)
		return fail(r, -ENOMEM, "reading the %s", what);
	rc = read_exact(r, r->ctl, *text, *len, deadline);
	if (rc < 0) {
		free(*text);
		return fail(r, rc, "reading the %s", what);
	}
	(*text)[*len] = '\0';
	return 0;
}

/* ---- connections ---- */

static int set_stream_opts(struct ustcp_sock *k, const struct iperf_params *p)
{
	uint64_t buf = SOCKBUF_ALL / (p->parallel ? p->parallel : 1);
	buf = buf > SOCKBUF ? SOCKBUF : buf < SOCKBUF_LEAST ? SOCKBUF_LEAST : buf;
	if (p->window)
		buf = p->window;
	buf = buf < MIN_SOCKBUF ? MIN_SOCKBUF : buf > MAX_SOCKBUF ? MAX_SOCKBUF : buf;
	int rc = ustcp_setsockopt(k, USTCP_SO_SNDBUF, buf);
	if (rc == 0)
		rc = ustcp_setsockopt(k, USTCP_SO_RCVBUF, buf);
	if (rc == 0)
		rc = ustcp_setsockopt(k, USTCP_TCP_NODELAY, p->nodelay);
	if (rc == 0)
		rc = ustcp_setsockopt(k, USTCP_TCP_MAXSEG, p->mss);
	if (rc == 0 && p->congestion[0] && ustcp_set_cc(k, p->congestion) < 0)
		fprintf(stderr,
			"ustcp perf: congestion control '%s' is not in this build; using "
			"the default\n",
			p->congestion);
	return rc;
}

/* The control connection carries a few bytes at a time, each awaited by
 * the peer: without Nagle, none waits for the ACK of the one before (a
 * delayed ACK, 40 ms a step). */
static int ctl_opts(struct ustcp_sock *k) { return ustcp_setsockopt(k, USTCP_TCP_NODELAY, 1); }

/* A connection to the server: a stream, its buffers and options set before
 * the SYN (so the window scale suits them), or with p NULL the control
 * connection. */
static int connect_to(struct run *r, struct ustcp_sock **out, const struct iperf_params *p)
{
	struct ustcp_sock *k;
	int rc = ustcp_socket(r->net->s, &k);
	if (rc < 0)
		return rc;
	rc = ustcp_setsockopt(k, USTCP_SO_NONBLOCK, 1);
	if (rc == 0)
		rc = p ? set_stream_opts(k, p) : ctl_opts(k);
	if (rc == 0)
		rc = nethost_connect(r->net, k, r->op->peer, CTRL_WAIT);
	if (rc < 0) {
		ustcp_abort(k);
		return rc;
	}
	*out = k;
	return 0;
}

/* The next connection on the listener, non-blocking. */
static int accept_one(struct run *r, struct ustcp_sock **out, uint64_t deadline)
{
	int rc;
	while ((rc = ustcp_accept(r->listener, out)) == -EAGAIN) {
		rc = wait_for(r, r->listener, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
	return rc < 0 ? rc : ustcp_setsockopt(*out, USTCP_SO_NONBLOCK, 1);
}

/* Not this test's: iperf3 says ACCESS_DENIED and closes, reading nothing. */
static void deny(struct ustcp_sock *k)
{
	signed char b = IPERF_ACCESS_DENIED;
	ustcp_send(k, &b, 1);
	/* Drop what it sent, so the close is a FIN behind the byte, not a reset. */
	ustcp_shutdown(k, USTCP_SHUT_RD);
	ustcp_close(k);
}

static void deny_all(struct run *r)
{
	struct ustcp_sock *k;
	while (ustcp_accept(r->listener, &k) == 0)
		deny(k);
}

static int add_stream(struct run *r, struct ustcp_sock *k)
{
	struct stream *s = &r->st[r->n];
	*s = (struct stream){.k = k, .id = iperf_stream_id(r->n), .sender = r->sending};
	ustcp_getsockname(k, &s->local);
	ustcp_getpeername(k, &s->remote);
	s->efd = ustcp_sock_fd(k, s->sender ? POLLOUT : POLLIN);
	if (s->efd < 0)
		return s->efd;
	r->n++;
	return 0;
}

static void close_streams(struct run *r)
{
	for (int i = 0; i < r->n; i++) {
		if (r->st[i].k)
			ustcp_close(r->st[i].k);
		r->st[i].k = NULL;
	}
}

/* ---- figures and their printing ---- */

/* iperf3's adaptive units: bytes in powers of 1024, bits in powers of 1000,
 * with three significant digits or so. */
static const char *fmt_unit(char *buf, size_t len, double v, double base, const char *const *units)
{
	int u = 0;
	while (v >= base && units[u + 1]) {
		v /= base;
		u++;
	}
	const char *f = v < 9.995 ? "%4.2f %s" : v < 99.95 ? "%4.1f %s" : "%4.0f %s";
	snprintf(buf, len, f, v, units[u]);
	return buf;
}

static const char *fmt_bytes(char *buf, size_t len, double bytes)
{
	static const char *const units[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes", NULL};
	return fmt_unit(buf, len, bytes, 1024, units);
}

static const char *fmt_rate(char *buf, size_t len, double bps)
{
	static const char *const units[] = {"bits/sec",  "Kbits/sec", "Mbits/sec",
					    "Gbits/sec", "Tbits/sec", NULL};
	return fmt_unit(buf, len, bps, 1000, units);
}

static double rate(uint64_t bytes, double seconds)
{
	return seconds > 0 ? (double)bytes * 8 / seconds : 0;
}

/* One line of figures: "[  1]   0.00-1.00   sec  ..." or "[SUM] ...". */
struct line {
	int socket; /* 0: the sum */
	double start, end;
	uint64_t bytes;
	int64_t retransmits; /* -1: not shown */
	int64_t cwnd;        /* -1: not shown */
	const char *role;    /* "sender", "receiver", or NULL in intervals */
};

static void print_line(const struct line *l)
{
	char id[8], b[32], bps[32], retr[24] = "", cwnd[32] = "";
	if (l->socket)
		snprintf(id, sizeof(id), "%3d", l->socket);
	else
		snprintf(id, sizeof(id), "SUM");
	if (l->retransmits >= 0)
		snprintf(retr, sizeof(retr), "%4lld", (long long)l->retransmits);
	if (l->cwnd >= 0)
		fmt_bytes(cwnd, sizeof(cwnd), (double)l->cwnd);
	char out[160];
	int n = snprintf(out, sizeof(out), "[%s] %6.2f-%-6.2f sec  %s  %s  %-5s  %-11s%s", id,
			 l->start, l->end, fmt_bytes(b, sizeof(b), (double)l->bytes),
			 fmt_rate(bps, sizeof(bps), rate(l->bytes, l->end - l->start)), retr, cwnd,
			 l->role ? l->role : "");
	while (n > 0 && (size_t)n < sizeof(out) && out[n - 1] == ' ')
		out[--n] = '\0';
	printf("%s\n", out);
}

static cJSON *json_line(const struct line *l, bool sender)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (l->socket)
		cJSON_AddNumberToObject(o, "socket", l->socket);
	cJSON_AddNumberToObject(o, "start", l->start);
	cJSON_AddNumberToObject(o, "end", l->end);
	cJSON_AddNumberToObject(o, "seconds", l->end - l->start);
	cJSON_AddNumberToObject(o, "bytes", (double)l->bytes);
	cJSON_AddNumberToObject(o, "bits_per_second", rate(l->bytes, l->end - l->start));
	if (l->retransmits >= 0)
		cJSON_AddNumberToObject(o, "retransmits", (double)l->retransmits);
	if (l->cwnd >= 0)
		cJSON_AddNumberToObject(o, "snd_cwnd", (double)l->cwnd);
	cJSON_AddBoolToObject(o, "sender", sender);
	return o;
}

static void add_line(cJSON *to, const char *key, const struct line *l, bool sender)
{
	cJSON *o = to ? json_line(l, sender) : NULL;
	if (!o)
		return;
	if (key)
		cJSON_AddItemToObject(to, key, o);
	else
		cJSON_AddItemToArray(to, o);
}

static void print_rule(void) { printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n"); }

static void print_header(bool sender, bool with_cwnd)
{
	const char *more = !sender ? "" : with_cwnd ? "         Retr  Cwnd" : "         Retr";
	printf("[ ID] Interval           Transfer     Bitrate%s\n", more);
}

/* The figures of every stream since the last interval. */
static void report_interval(struct run *r, uint64_t now)
{
	double t0 = secs(r->iv_start - r->t_count), t1 = secs(now - r->t_count);
	struct line sum = {.start = t0, .end = t1, .retransmits = r->sending ? 0 : -1, .cwnd = -1};
	cJSON *iv = NULL, *streams = NULL;
	if (r->doc && (iv = cJSON_CreateObject()) && (streams = cJSON_CreateArray())) {
		cJSON_AddItemToObject(iv, "streams", streams);
		cJSON_AddItemToArray(r->intervals, iv);
	}
	if (!r->op->json && t0 == 0)
		print_header(r->sending, true);
	else if (!r->op->json && r->n > 1)
		print_rule();
	for (int i = 0; i < r->n; i++) {
		struct stream *s = &r->st[i];
		struct line l = {.socket = i + 1,
				 .start = t0,
				 .end = t1,
				 .bytes = s->iv_bytes,
				 .retransmits = -1,
				 .cwnd = -1};
		if (s->sender && s->k) {
			struct ustcp_sock_info in;
			if (ustcp_sock_info(s->k, &in) == 0) {
				s->retrans = in.retransmits;
				s->cwnd = in.cwnd;
			}
			l.retransmits = s->retrans - s->iv_retrans;
			l.cwnd = s->cwnd;
			s->iv_retrans = s->retrans;
			sum.retransmits += l.retransmits;
		}
		sum.bytes += s->iv_bytes;
		s->iv_bytes = 0;
		if (!r->op->json)
			print_line(&l);
		add_line(streams, NULL, &l, r->sending);
	}
	if (!r->op->json && r->n > 1)
		print_line(&sum);
	add_line(iv, "sum", &sum, r->sending);
	fflush(stdout);
	r->iv_start = now;
	r->next_tick = now + SEC;
}

/* This end's results, as iperf3 sends them. */
static void my_results(const struct run *r, struct iperf_results *out)
{
	memset(out, 0, sizeof(*out));
	double wall = secs(r->t_end - r->t_count);
	double user = (double)(r->ru1.ru_utime.tv_sec - r->ru0.ru_utime.tv_sec) +
		      (double)(r->ru1.ru_utime.tv_usec - r->ru0.ru_utime.tv_usec) / 1e6;
	double sys = (double)(r->ru1.ru_stime.tv_sec - r->ru0.ru_stime.tv_sec) +
		     (double)(r->ru1.ru_stime.tv_usec - r->ru0.ru_stime.tv_usec) / 1e6;
	if (wall > 0) {
		out->cpu_user = 100 * user / wall;
		out->cpu_system = 100 * sys / wall;
		out->cpu_total = out->cpu_user + out->cpu_system;
	}
	out->sender_has_retransmits = r->sending ? 1 : -1;
	out->nstreams = r->n;
	for (int i = 0; i < r->n; i++) {
		const struct stream *s = &r->st[i];
		out->streams[i] = (struct iperf_stream_result){
			.id = s->id,
			.bytes = s->bytes,
			.retransmits = s->sender ? (int64_t)(s->retrans - s->retrans0) : -1,
			.end_time = wall,
		};
	}
	snprintf(out->congestion, sizeof(out->congestion), "%s", r->cc);
}

/* Stream i's figures from the peer's results, found by its number; by its
 * place when a peer numbered its streams otherwise. */
static const struct iperf_stream_result *peer_stream(const struct run *r, int i)
{
	for (int j = 0; r->have_peer && j < r->peer.nstreams; j++)
		if (r->peer.streams[j].id == r->st[i].id)
			return &r->peer.streams[j];
	return r->have_peer && r->peer.nstreams == r->n ? &r->peer.streams[i] : NULL;
}

/* The summary: each stream as sender and as receiver, then the sums. */
static void report_end(struct run *r, const struct iperf_results *mine)
{
	struct line sum[2] = {{.retransmits = -1, .cwnd = -1, .role = "sender"},
			      {.retransmits = -1, .cwnd = -1, .role = "receiver"}};
	cJSON *end = NULL, *streams = NULL;
	if (r->doc && (end = cJSON_CreateObject()) && (streams = cJSON_CreateArray())) {
		cJSON_AddItemToObject(r->doc, "end", end);
		cJSON_AddItemToObject(end, "streams", streams);
	}
	if (!r->op->json) {
		print_rule();
		print_header(true, false);
	}
	for (int i = 0; i < r->n; i++) {
		const struct iperf_stream_result *side[2];
		const struct iperf_stream_result *theirs = peer_stream(r, i);
		side[0] = r->sending ? &mine->streams[i] : theirs; /* the sender's figures */
		side[1] = r->sending ? theirs : &mine->streams[i];
		cJSON *o = streams ? cJSON_CreateObject() : NULL;
		if (o)
			cJSON_AddItemToArray(streams, o);
		for (int w = 0; w < 2; w++) {
			if (!side[w])
				continue;
			struct line l = {.socket = i + 1,
					 .start = 0,
					 .end = side[w]->end_time - side[w]->start_time,
					 .bytes = side[w]->bytes,
					 .retransmits = w == 0 ? side[w]->retransmits : -1,
					 .cwnd = -1,
					 .role = sum[w].role};
			sum[w].bytes += l.bytes;
			if (l.end > sum[w].end)
				sum[w].end = l.end;
			if (l.retransmits >= 0)
				sum[w].retransmits =
					(sum[w].retransmits < 0 ? 0 : sum[w].retransmits) +
					l.retransmits;
			if (!r->op->json)
				print_line(&l);
			add_line(o, w == 0 ? "sender" : "receiver", &l, w == 0);
		}
	}
	for (int w = 0; w < 2; w++) {
		if (!r->op->json && r->n > 1)
			print_line(&sum[w]);
		add_line(end, w == 0 ? "sum_sent" : "sum_received", &sum[w], w == 0);
	}
	cJSON *cpu = end ? cJSON_AddObjectToObject(end, "cpu_utilization_percent") : NULL;
	if (cpu) {
		cJSON_AddNumberToObject(cpu, "host_total", mine->cpu_total);
		cJSON_AddNumberToObject(cpu, "host_user", mine->cpu_user);
		cJSON_AddNumberToObject(cpu, "host_system", mine->cpu_system);
		cJSON_AddNumberToObject(cpu, "remote_total", r->peer.cpu_total);
		cJSON_AddNumberToObject(cpu, "remote_user", r->peer.cpu_user);
		cJSON_AddNumberToObject(cpu, "remote_system", r->peer.cpu_system);
	}
	const char *cc[2] = {mine->congestion, r->peer.congestion};
	if (end) {
		cJSON_AddStringToObject(end, "sender_tcp_congestion", cc[r->sending ? 0 : 1]);
		cJSON_AddStringToObject(end, "receiver_tcp_congestion", cc[r->sending ? 1 : 0]);
	}
	if (!r->op->json)
		printf("CPU utilization: local %.1f%% (%.1f%% user, %.1f%% system), remote %.1f%% "
		       "(%.1f%% user, %.1f%% system)\n",
		       mine->cpu_total, mine->cpu_user, mine->cpu_system, r->peer.cpu_total,
		       r->peer.cpu_user, r->peer.cpu_system);
	fflush(stdout);
}

/* "[  1] local 10.0.0.2 port 45678 connected to 10.0.0.1 port 5201" */
static void report_connected(struct run *r)
{
	cJSON *start = r->doc ? cJSON_GetObjectItem(r->doc, "start") : NULL;
	cJSON *conn = start ? cJSON_AddArrayToObject(start, "connected") : NULL;
	for (int i = 0; i < r->n; i++) {
		const struct stream *s = &r->st[i];
		char l[USTCP_ENDPOINT_STRLEN], p[USTCP_ENDPOINT_STRLEN];
		ustcp_endpoint_str(&s->local, 0, l, sizeof(l));
		ustcp_endpoint_str(&s->remote, 0, p, sizeof(p));
		if (!r->op->json)
			printf("[%3d] local %s port %u connected to %s port %u\n", i + 1, l,
			       s->local.port, p, s->remote.port);
		cJSON *o = conn ? cJSON_CreateObject() : NULL;
		if (!o)
			continue;
		cJSON_AddItemToArray(conn, o);
		cJSON_AddNumberToObject(o, "socket", i + 1);
		cJSON_AddStringToObject(o, "local_host", l);
		cJSON_AddNumberToObject(o, "local_port", s->local.port);
		cJSON_AddStringToObject(o, "remote_host", p);
		cJSON_AddNumberToObject(o, "remote_port", s->remote.port);
	}
	if (start) {
		cJSON *ts = cJSON_AddObjectToObject(start, "test_start");
		if (ts) {
			cJSON_AddStringToObject(ts, "protocol", "TCP");
			cJSON_AddNumberToObject(ts, "num_streams", r->n);
			cJSON_AddNumberToObject(ts, "blksize", r->par.len);
			cJSON_AddNumberToObject(ts, "omit", r->par.omit);
			cJSON_AddNumberToObject(ts, "duration", r->par.time);
			cJSON_AddNumberToObject(ts, "bytes", (double)r->par.num);
			cJSON_AddNumberToObject(ts, "blocks", (double)r->par.blockcount);
			cJSON_AddNumberToObject(ts, "reverse", r->par.reverse);
		}
	}
	fflush(stdout);
}

/* --json: the test's object, begun when the test is. */
static void doc_begin(struct run *r)
{
	if (!r->op->json)
		return;
	r->doc = cJSON_CreateObject();
	cJSON *start = r->doc ? cJSON_AddObjectToObject(r->doc, "start") : NULL;
	if (start)
		cJSON_AddStringToObject(start, "version", "ustcp perf");
	r->intervals = r->doc ? cJSON_AddArrayToObject(r->doc, "intervals") : NULL;
}

/* Prints the object (with the error, if any) and lets it go. */
static void doc_end(struct run *r)
{
	if (!r->doc)
		return;
	if (r->err[0])
		cJSON_AddStringToObject(r->doc, "error", r->err);
	char *text = cJSON_Print(r->doc);
	if (text)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	cJSON_Delete(r->doc);
	r->doc = r->intervals = NULL;
}

/* ---- the data phase ---- */

static void start_counting(struct run *r, uint64_t now)
{
	r->phase = RUNNING;
	r->t_count = r->iv_start = now;
	r->next_tick = now + SEC;
	getrusage(RUSAGE_SELF, &r->ru0);
	for (int i = 0; i < r->n; i++) {
		struct stream *s = &r->st[i];
		struct ustcp_sock_info in;
		if (ustcp_sock_info(s->k, &in) < 0)
			continue;
		if (s->sender)
			s->retrans0 = s->iv_retrans = s->retrans = in.retransmits;
		snprintf(r->cc, sizeof(r->cc), "%s", in.cc);
		s->bytes = s->iv_bytes = 0;
	}
}

/* The test is over for this end: the last interval, and what the
 * results need from the sockets while they are open. */
static void stop_counting(struct run *r, uint64_t now)
{
	if (r->phase == STOPPED)
		return;
	if (r->phase != RUNNING)
		start_counting(r, now); /* ended while omitting: nothing counted */
	r->phase = STOPPED;
	r->t_end = now;
	getrusage(RUSAGE_SELF, &r->ru1);
	if (now > r->iv_start + USTCP_NS_PER_MS || r->iv_start == r->t_count)
		report_interval(r, now);
	for (int i = 0; i < r->n; i++) {
		struct stream *s = &r->st[i];
		struct ustcp_sock_info in;
		if (s->sender && s->k && ustcp_sock_info(s->k, &in) == 0)
			s->retrans = in.retransmits;
	}
}

/* Reads what a stream has and throws it away, as iperf3 does: looked at in
 * place (ustcp_recv_zc) and given back, so it is never copied. */
static long discard(struct ustcp_sock *k)
{
	struct ustcp_iov iov[2];
	long n = ustcp_recv_zc(k, iov, RECV_BUF);
	if (n > 0) {
		int rc = ustcp_recv_done(k, (size_t)n);
		if (rc < 0)
			return rc;
	}
	return n;
}

/* Sends or reads on a ready stream; what moves while the test runs counts. */
static int pump(struct run *r, struct stream *s)
{
	for (int i = 0; i < PUMP_CALLS; i++) {
		long n;
		if (s->sender) {
			if (r->phase == STOPPED || (r->limit && r->sent >= r->limit))
				return 0;
			uint64_t want = r->par.len;
			if (r->limit && r->limit - r->sent < want)
				want = r->limit - r->sent;
			n = ustcp_send(s->k, r->blk, (size_t)want);
		} else {
			n = discard(s->k);
		}
		if (n == -EAGAIN || (s->sender && n == 0))
			return 0;
		if (n <= 0) {
			s->done = true; /* the peer closed it, or it failed */
			if (n == 0 || r->phase == STOPPED)
				return 0;
			return fail(r, (int)n, "stream %d", (int)(s - r->st) + 1);
		}
		if (s->sender)
			r->sent += (uint64_t)n;
		if (r->phase == RUNNING) {
			s->bytes += (uint64_t)n;
			s->iv_bytes += (uint64_t)n;
		}
	}
	return 0;
}

/* A stream worth waiting on: a sender until the test stops (or sent all
 * it may), a receiver until its end of stream (it drains what is still
 * coming after the end, as iperf3 does, so that no sender is left stuck). */
static bool stream_active(const struct run *r, const struct stream *s)
{
	if (s->done || !s->k)
		return false;
	if (s->sender)
		return r->phase != STOPPED && !(r->limit && r->sent >= r->limit);
	return true;
}

/* A state byte during the test. Returns 1 when the data phase is over. */
static int on_ctl(struct run *r, uint64_t now)
{
	signed char b;
	long n = ustcp_recv(r->ctl, &b, 1);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0)
		return fail(r, n == 0 ? PEER_CLOSED : (int)n, "the control connection");
	stop_counting(r, now);
	if (!r->op->server) {
		r->stashed = b; /* the client's state loop handles it */
		return 1;
	}
	if (b == IPERF_TEST_END)
		return 1;
	if (b == IPERF_CLIENT_TERMINATE)
		return fail(r, 0, "the client ended the test early (it was stopped)");
	return fail(r, 0, "the client sent %s (%d) during the test", iperf_state_name(b), b);
}

/* Timers: counting starts after the omitted seconds, intervals end each
 * second, the client ends a timed test. Returns the next deadline. */
static uint64_t on_time(struct run *r, uint64_t now, uint64_t end)
{
	if (r->phase == OMITTING && now >= r->t_count)
		start_counting(r, now);
	if (r->phase == RUNNING && now >= r->next_tick)
		report_interval(r, now);
	if (r->op->server) {
		if (now >= end)
			fail(r, -ETIMEDOUT, "waiting for the client to end the test");
	} else if (r->phase == RUNNING && now >= end) {
		stop_counting(r, now);
		send_state(r, IPERF_TEST_END);
	} else if (r->phase == STOPPED && now >= r->t_end + CTRL_WAIT) {
		fail(r, -ETIMEDOUT, "waiting for the server's results");
	}
	switch (r->phase) {
	case OMITTING:
		return r->t_count;
	case RUNNING:
		return r->next_tick < end ? r->next_tick : end;
	default:
		return r->op->server ? end : r->t_end + CTRL_WAIT;
	}
}

/* From TEST_RUNNING until the state that ends the data phase: TEST_END
 * at the server; at the client, whatever the server says next. */
static int data_phase(struct run *r)
{
	r->phase = OMITTING;
	r->t_count = nethost_clock() + r->par.omit * SEC;
	uint64_t end = r->par.time ? r->t_count + r->par.time * SEC : UINT64_MAX;
	if (r->op->server && end != UINT64_MAX)
		end += SERVER_GRACE;
	struct pollfd pf[3 + IPERF_MAX_STREAMS];
	struct stream *who[3 + IPERF_MAX_STREAMS];
	int lst_fd = r->listener ? ustcp_sock_fd(r->listener, POLLIN) : -1;
	for (;;) {
		uint64_t next = on_time(r, nethost_clock(), end);
		if (r->err[0])
			return -EPROTO;
		/* Asked each turn: a write that had to wait (TEST_END) asked
		 * the descriptor for room instead. */
		int ctl_fd = ustcp_sock_fd(r->ctl, POLLIN);
		if (ctl_fd < 0)
			return fail(r, ctl_fd, "watching the control connection");
		int n = 0;
		pf[n++] = (struct pollfd){.fd = r->net->sigfd, .events = POLLIN};
		pf[n++] = (struct pollfd){.fd = ctl_fd, .events = POLLIN};
		if (lst_fd >= 0)
			pf[n++] = (struct pollfd){.fd = lst_fd, .events = POLLIN};
		int first = n;
		for (int i = 0; i < r->n; i++) {
			if (!stream_active(r, &r->st[i]))
				continue;
			who[n] = &r->st[i];
			pf[n++] = (struct pollfd){.fd = r->st[i].efd, .events = POLLIN};
		}
		int got = poll(pf, (nfds_t)n, nethost_poll_ms(next));
		if (got < 0 && errno != EINTR)
			return fail(r, -errno, "poll");
		if (got <= 0)
			continue;
		if (pf[0].revents && nethost_signalled(r->net))
			return fail(r, -EINTR, "during the test");
		/* The control connection first: what moves after the end does not count. */
		if (pf[1].revents) {
			int rc = on_ctl(r, nethost_clock());
			if (rc != 0)
				return rc < 0 ? rc : 0;
		}
		if (lst_fd >= 0 && pf[2].revents)
			deny_all(r);
		for (int i = first; i < n; i++)
			if (pf[i].revents && pump(r, who[i]) < 0)
				return -EPROTO;
	}
}

/* The results both ways; the client sends first. */
static int exchange_results(struct run *r, struct iperf_results *mine)
{
	my_results(r, mine);
	char *text;
	size_t len;
	const char *why;
	int rc = 0;
	if (!r->op->server)
		rc = send_json(r, iperf_results_json(mine), "results");
	if (rc == 0)
		rc = read_json(r, &text, &len, "results");
	if (rc < 0)
		return rc;
	rc = iperf_results_parse(text, len, &r->peer, &why);
	free(text);
	if (rc < 0)
		return fail(r, 0, "the peer's results: %s", why);
	r->have_peer = true;
	return r->op->server ? send_json(r, iperf_results_json(mine), "results") : 0;
}

/* ---- the client ---- */

static int client_connect(struct run *r)
{
	char host[USTCP_ENDPOINT_STRLEN];
	ustcp_endpoint_str(&r->op->peer, 0, host, sizeof(host));
	if (!r->op->json)
		printf("Connecting to host %s, port %u\n", host, r->op->peer.port);
	fflush(stdout);
	int rc = connect_to(r, &r->ctl, NULL);
	if (rc < 0)
		return fail(r, rc, "connect to %s port %u", host, r->op->peer.port);
	iperf_make_cookie(r->cookie);
	rc = write_all(r, r->ctl, r->cookie, IPERF_COOKIE_SIZE, nethost_clock() + CTRL_WAIT);
	return rc < 0 ? fail(r, rc, "sending the cookie") : 0;
}

static int client_streams(struct run *r)
{
	for (int i = 0; i < (int)r->par.parallel; i++) {
		struct ustcp_sock *k;
		int rc = connect_to(r, &k, &r->par);
		if (rc < 0)
			return fail(r, rc, "opening stream %d", i + 1);
		rc = write_all(r, k, r->cookie, IPERF_COOKIE_SIZE, nethost_clock() + CTRL_WAIT);
		if (rc == 0)
			rc = add_stream(r, k);
		if (rc < 0) {
			ustcp_abort(k);
			return fail(r, rc, "opening stream %d", i + 1);
		}
	}
	if (r->par.reverse && !r->op->json) {
		char host[USTCP_ENDPOINT_STRLEN];
		ustcp_endpoint_str(&r->op->peer, 0, host, sizeof(host));
		printf("Reverse mode, remote host %s is sending\n", host);
	}
	report_connected(r);
	return 0;
}

static int server_error(struct run *r)
{
	uint32_t be[2];
	int rc = read_exact(r, r->ctl, be, sizeof(be), nethost_clock() + CTRL_WAIT);
	if (rc < 0)
		return fail(r, rc, "the server reported an error, then");
	int ierr = (int)ntohl(be[0]), err = (int)ntohl(be[1]);
	return fail(r, 0, "the server refused the test: iperf3 error %d%s%s", ierr, err ? ", " : "",
		    err ? strerror(err) : "");
}

/* One state byte from the server. Returns 1 once the test is done. */
static int client_on_state(struct run *r, int state)
{
	struct iperf_results mine;
	switch (state) {
	case IPERF_PARAM_EXCHANGE:
		return send_json(r, iperf_params_json(&r->par), "parameters");
	case IPERF_CREATE_STREAMS:
		return client_streams(r);
	case IPERF_TEST_START:
		return 0;
	case IPERF_TEST_RUNNING:
		return data_phase(r);
	case IPERF_EXCHANGE_RESULTS:
		if (r->phase != STOPPED)
			return fail(r, 0, "the server asked for the results before the test ran");
		if (exchange_results(r, &mine) < 0)
			return -EPROTO;
		report_end(r, &mine);
		return 0;
	case IPERF_DISPLAY_RESULTS:
		close_streams(r);
		return send_state(r, IPERF_DONE) < 0 ? -EPROTO : 1;
	case IPERF_SERVER_TERMINATE:
		return fail(r, 0, "the server ended the test (it was stopped)");
	case IPERF_ACCESS_DENIED:
		return fail(r, 0, "the server is busy running a test; try again later");
	case IPERF_SERVER_ERROR:
		return server_error(r);
	default:
		return fail(r, 0, "the server sent an unknown state (%d)", state);
	}
}

static int run_client(struct run *r)
{
	const struct opts *op = r->op;
	r->par = (struct iperf_params){.tcp = true,
				       .time = op->time,
				       .parallel = op->parallel,
				       .len = op->len,
				       .reverse = op->reverse};
	r->sending = !op->reverse;
	doc_begin(r);
	int rc = client_connect(r);
	while (rc == 0) {
		int state;
		rc = read_state(r, nethost_clock() + CTRL_WAIT + (uint64_t)op->time * SEC, &state);
		if (rc == 0)
			rc = client_on_state(r, state);
	}
	if (rc < 0 && r->ctl) {
		/* Tell the server, so it stops at once rather than time out. */
		signed char b = IPERF_CLIENT_TERMINATE;
		ustcp_send(r->ctl, &b, 1);
	}
	close_streams(r);
	if (r->ctl)
		ustcp_close(r->ctl);
	if (r->err[0])
		fprintf(stderr, "ustcp perf: %s\n", r->err);
	doc_end(r);
	if (r->net->signo)
		return 128 + r->net->signo;
	return rc < 0 ? 1 : 0;
}

/* ---- the server ---- */

/* What the client asked for, or SERVER_ERROR when this server does not do it. */
static int server_params(struct run *r)
{
	char *text;
	size_t len;
	const char *why;
	if (read_json(r, &text, &len, "parameters") < 0)
		return -EPROTO;
	int rc = iperf_params_parse(text, len, &r->par, &why);
	free(text);
	if (rc == 0 && (why = iperf_params_unsupported(&r->par)) == NULL) {
		r->sending = r->par.reverse;
		r->limit = r->par.num ? r->par.num : r->par.blockcount * r->par.len;
		return 0;
	}
	uint32_t err[2] = {htonl(IPERF_ERR_UNIMP), 0};
	if (send_state(r, IPERF_SERVER_ERROR) == 0)
		write_all(r, r->ctl, err, sizeof(err), nethost_clock() + CTRL_WAIT);
	return fail(r, 0, "the client asked for %s, which this server does not do", why);
}

/* The test's streams: connections that say the cookie. */
static int server_streams(struct run *r)
{
	/* The listener's options pass to the streams, set before their SYNs. */
	int rc = set_stream_opts(r->listener, &r->par);
	if (rc < 0)
		return fail(r, rc, "setting the streams' options");
	if (send_state(r, IPERF_CREATE_STREAMS) < 0)
		return -EPROTO;
	uint64_t deadline = nethost_clock() + CTRL_WAIT;
	while (r->n < (int)r->par.parallel) {
		struct ustcp_sock *k;
		char cookie[IPERF_COOKIE_SIZE];
		rc = accept_one(r, &k, deadline);
		if (rc < 0)
			return fail(r, rc, "waiting for stream %d", r->n + 1);
		rc = read_exact(r, k, cookie, sizeof(cookie), deadline);
		if (rc == 0 && memcmp(cookie, r->cookie, sizeof(cookie))) {
			deny(k);
			continue;
		}
		if (rc == 0)
			rc = add_stream(r, k);
		if (rc < 0) {
			ustcp_abort(k);
			return fail(r, rc, "opening stream %d", r->n + 1);
		}
	}
	report_connected(r);
	return 0;
}

/* One test, from the control connection's cookie to IPERF_DONE. */
static int server_test(struct run *r)
{
	uint64_t deadline = nethost_clock() + CTRL_WAIT;
	int rc = read_exact(r, r->ctl, r->cookie, IPERF_COOKIE_SIZE, deadline);
	if (rc < 0)
		return fail(r, rc, "reading the cookie");
	r->cookie[IPERF_COOKIE_SIZE - 1] = '\0';
	if (send_state(r, IPERF_PARAM_EXCHANGE) < 0 || server_params(r) < 0 ||
	    server_streams(r) < 0 || send_state(r, IPERF_TEST_START) < 0 ||
	    send_state(r, IPERF_TEST_RUNNING) < 0)
		return -EPROTO;
	rc = data_phase(r);
	if (rc < 0)
		return rc;
	/* iperf3 closes the streams at TEST_END; a sender's queued data still goes. */
	close_streams(r);
	struct iperf_results mine;
	if (send_state(r, IPERF_EXCHANGE_RESULTS) < 0 || exchange_results(r, &mine) < 0 ||
	    send_state(r, IPERF_DISPLAY_RESULTS) < 0)
		return -EPROTO;
	report_end(r, &mine);
	int state;
	if (read_state(r, nethost_clock() + CTRL_WAIT, &state) == 0 && state != IPERF_DONE)
		return fail(r, 0, "the client ended with %s (%d), not IPERF_DONE",
			    iperf_state_name(state), state);
	return 0;
}

/* Reset the per-test state, keeping what lasts across tests. */
static void next_test(struct run *r)
{
	struct run keep = *r;
	memset(r, 0, sizeof(*r));
	r->net = keep.net;
	r->op = keep.op;
	r->listener = keep.listener;
	r->blk = keep.blk;
	r->test_no = keep.test_no + 1;
	r->stashed = NO_STATE;
}

static int run_server(struct run *r)
{
	struct ustcp_endpoint any = {.port = r->op->port};
	int rc = ustcp_listen_on(r->net->s, any, BACKLOG, &r->listener);
	if (rc == 0)
		rc = ustcp_setsockopt(r->listener, USTCP_SO_NONBLOCK, 1);
	if (rc < 0) {
		fprintf(stderr, "ustcp perf: listen on port %u: %s\n", r->op->port, strerror(-rc));
		return 1;
	}
	int code = 0;
	for (;;) {
		next_test(r);
		if (!r->op->json) {
			printf("-----------------------------------------------------------\n");
			printf("Server listening on %u (test #%d)\n", r->op->port, r->test_no);
			printf("-----------------------------------------------------------\n");
			fflush(stdout);
		}
		rc = accept_one(r, &r->ctl, UINT64_MAX);
		if (rc == 0)
			rc = ctl_opts(r->ctl);
		if (rc == -EINTR) {
			code = 0; /* stopped between tests */
			break;
		}
		if (rc < 0) {
			fprintf(stderr, "ustcp perf: accept: %s\n", strerror(-rc));
			code = 1;
			break;
		}
		ustcp_getpeername(r->ctl, &r->ctl_peer);
		doc_begin(r);
		if (!r->op->json) {
			char host[USTCP_ENDPOINT_STRLEN];
			ustcp_endpoint_str(&r->ctl_peer, 0, host, sizeof(host));
			printf("Accepted connection from %s, port %u\n", host, r->ctl_peer.port);
		}
		rc = server_test(r);
		/* A signal ends the test wherever it came (signo says so). */
		if (r->net->signo) {
			signed char b = IPERF_SERVER_TERMINATE;
			ustcp_send(r->ctl, &b, 1);
		}
		close_streams(r);
		ustcp_close(r->ctl);
		if (r->err[0])
			fprintf(stderr, "ustcp perf: %s\n", r->err);
		doc_end(r);
		code = rc < 0 ? 1 : 0;
		if (r->net->signo) {
			code = 128 + r->net->signo;
			break;
		}
		if (r->op->once)
			break;
	}
	ustcp_close(r->listener);
	return code;
}

/* What is sent: bytes that look random, as iperf3's do, so that nothing on
 * the way can compress them. */
static void fill_block(uint8_t *p, size_t len)
{
	uint64_t x = 0;
	if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
		x = nethost_clock();
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
}

/* ---- options ---- */

void perf_iperf_usage(void)
{
	printf("usage: ustcp perf -s [-p PORT] [-1] [--json] --tap IFNAME --ip ADDR/PREFIX ...\n"
	       "       ustcp perf -c HOST [-p PORT] [-t SECS] [-R] [-P N] [-l LEN] [--json] "
	       "--tap IFNAME ...\n"
	       "  iperf3's TCP test on a TAP device: the kernel's iperf3 can be either end.\n"
	       "  -s, --server        serve tests, one after another\n"
	       "  -1, --one-off       with -s, serve one test and exit\n"
	       "  -c, --client HOST   run a test against the iperf3 server at HOST (an IPv4\n"
	       "                      or IPv6 address)\n"
	       "  -p, --port PORT     the server's port (5201)\n"
	       "  -t, --time SECS     seconds to send, 1 to %d (%d)\n"
	       "  -R, --reverse       the server sends and the client receives\n"
	       "  -P, --parallel N    streams at once, 1 to %d (1)\n"
	       "  -l, --length LEN    bytes per write, 1 to 1M (128K); K and M are powers of\n"
	       "                      1024\n"
	       "  -J, --json          one JSON object per test (iperf3's names for the figures)\n"
	       "exit code: 0 when the test ran, 1 when it failed, 2 for a usage error\n%s",
	       MAX_TIME, DEFAULT_TIME, IPERF_MAX_STREAMS, netopts_help);
}

/* A number as iperf3 reads one: K and M (scaled) are powers of 1024, so
 * that "-l 128K" means here what it means to iperf3. */
static bool parse_count(const char *v, bool scaled, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	uint64_t mult = 1;
	if (scaled && (*end == 'K' || *end == 'k'))
		mult = 1024, end++;
	else if (scaled && (*end == 'M' || *end == 'm'))
		mult = 1024 * 1024, end++;
	if (*v < '0' || *v > '9' || *end || errno || n > hi / mult || n * mult < lo)
		return false;
	*out = n * mult;
	return true;
}

/* The options, each by its short and long name, and the field of struct
 * opts it sets: a flag (bool) to true, or a number (uint32_t) in its range,
 * with what a wrong one is told. */
struct option {
	char letter;
	const char *name;
	bool valued, client_only;
	size_t field;
	uint64_t lo, hi;
	const char *wants; /* NULL: a flag */
};
#define FLAG(f) offsetof(struct opts, f), 0, 0, NULL
static const struct option options[] = {
	{'s', "--server", false, false, FLAG(server)},
	{'1', "--one-off", false, false, FLAG(once)},
	{'J', "--json", false, false, FLAG(json)},
	{'c', "--client", true, false, FLAG(client)},
	{'R', "--reverse", false, true, FLAG(reverse)},
	{'t', "--time", true, true, offsetof(struct opts, time), 1, MAX_TIME,
	 "seconds, 1 to 86400"},
	{'P', "--parallel", true, true, offsetof(struct opts, parallel), 1, IPERF_MAX_STREAMS,
	 "a number of streams, 1 to 128"},
	{'l', "--length", true, true, offsetof(struct opts, len), 1, MAX_LEN, "a length, 1 to 1M"},
};
#undef FLAG

/* What perf's own options fill in, as netopts_parse() takes them. */
struct parse {
	struct opts *op;
	const char *host;
	bool client_only;
};

/* The option at a: "-P 4", "-P4" or "--parallel 4" (*inline_value, the
 * "4" of "-P4"); NULL for none of perf's. */
static const struct option *find_option(const char *a, const char **inline_value)
{
	*inline_value = NULL;
	for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
		const struct option *o = &options[k];
		if (!strcmp(a, o->name) || (a[0] == '-' && a[1] == o->letter && !a[2]))
			return o;
		if (a[0] == '-' && a[1] == o->letter && o->valued) {
			*inline_value = a + 2;
			return o;
		}
	}
	return NULL;
}

static int take(void *ctx, int argc, char **argv, int *i)
{
	struct parse *ps = ctx;
	struct opts *op = ps->op;
	int rc = netopts_take_port("perf", argc, argv, i, &op->port);
	if (rc != NETOPT_OTHER)
		return rc;
	const char *v;
	const struct option *o = find_option(argv[*i], &v);
	if (!o)
		return NETOPT_OTHER;
	/* No value starts with '-': "-c --tap ..." lacks its HOST. */
	if (o->valued && !v && (*i + 1 >= argc || argv[*i + 1][0] == '-'))
		return tool_usage_error("perf", "%s needs a value", argv[*i]);
	if (o->valued && !v)
		v = argv[++*i];
	ps->client_only |= o->client_only;
	char *field = (char *)op + o->field;
	uint64_t n;
	if (!o->wants) {
		*(bool *)field = true;
		if (o->letter == 'c')
			ps->host = v;
	} else if (parse_count(v, o->letter == 'l', o->lo, o->hi, &n)) {
		*(uint32_t *)field = (uint32_t)n;
	} else {
		return tool_usage_error("perf", "-%c wants %s, not '%s'", o->letter, o->wants, v);
	}
	return NETOPT_TAKEN;
}

static int parse_args(struct opts *op, struct netopts *no, int argc, char **argv)
{
	*op = (struct opts){
		.port = DEFAULT_PORT, .time = DEFAULT_TIME, .parallel = 1, .len = DEFAULT_LEN};
	struct parse ps = {.op = op};
	int rc = netopts_parse(no, "perf", argc, argv, take, &ps, perf_iperf_usage);
	if (rc)
		return rc;
	if (op->server && op->client)
		return tool_usage_error("perf", "-s and -c: a test has one server and one client");
	if (op->server && ps.client_only)
		return tool_usage_error("perf", "-t, -R, -P and -l are the client's (the client "
						"chooses the test)");
	if (op->client && op->once)
		return tool_usage_error("perf", "-1 is the server's (-s)");
	if (op->client && netopts_parse_host(no, "perf", ps.host, false, &op->peer))
		return 2;
	op->peer.port = op->port;
	return netopts_finish(no, "perf");
}

int perf_iperf_main(int argc, char **argv)
{
	struct opts op;
	struct netopts no;
	netopts_init(&no);
	int rc = parse_args(&op, &no, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct ustcp_config cfg;
	netopts_stack_config(&no, &cfg);
	struct nethost net;
	if (nethost_open(&net, "perf", &no, &cfg))
		return 1;
	struct run *r = calloc(1, sizeof(*r));
	int code = 1;
	if (r) {
		r->net = &net;
		r->op = &op;
		r->stashed = NO_STATE;
		r->blk = malloc(MAX_LEN);
	}
	if (!r || !r->blk) {
		fprintf(stderr, "ustcp perf: out of memory\n");
	} else {
		fill_block(r->blk, MAX_LEN);
		code = op.server ? run_server(r) : run_client(r);
	}
	if (r)
		free(r->blk);
	free(r);
	nethost_close(&net);
	return code;
}
