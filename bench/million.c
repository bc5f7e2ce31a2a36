/* million.c — a million connections on the simulated link: what one costs
 * in memory, that an idle one costs no time, and that finding one among a
 * million costs what finding it alone does.
 *
 *   million [CONNS]         (default 1000000, or BENCH_CONNS)
 *   million --bulk [IDLE]   a bulk transfer alone, then beside IDLE (10000) idle connections
 *
 * Two stacks on the simulated link (1 ms each way): a server listening on
 * 10.0.0.1:80 and a client on an address range from 10.0.0.16, as many
 * addresses as CONNS needs at 64,512 ephemeral ports each (RFC 6056: a
 * port per 4-tuple, so one address reaches one server port that many
 * times). Keepalive is off, as by default.
 *
 * First one connection alone: 16 KiB each way on it (phase data_one),
 * then ten seconds of 1 ms polls of both stacks (idle_one). Then the rest
 * of CONNS, opened in batches; what the pool's accounting says a
 * connection costs (ustcp_pool_usage) and the process RSS; then the same
 * ten idle seconds (idle_many) and 16 KiB each way on each of 1,000
 * connections picked at random, one after the other (data_many), then
 * again on the same ones, now with buffers (data_warm). Each exchange
 * ends with both stacks quiet (no timer armed), so each phase holds its
 * own work only. Every byte is checked.
 *
 * The wall-clock figures are the machine's; the instruction counts are
 * exact under callgrind, which counts each phase alone:
 *   valgrind --tool=callgrind --instr-atstart=no million
 * writes one profile per phase (callgrind.out.PID.N, with "desc: Trigger:
 * Client Request: PHASE" and "totals:"), to divide by the segments, ticks
 * or bytes printed here; scripts/bench.sh does it. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ustcp/ustcp.h"

#if defined(__has_include) && __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(s) (void)(s)
#endif

#define MS USTCP_NS_PER_MS
#define PORT 80
#define SRV_IP 0x0a000001u /* 10.0.0.1 */
#define CLI_IP 0x0a000010u /* 10.0.0.16 and up */
#define EPH_LO 1024
#define EPH_HI 65535
#define PORTS_PER_IP (EPH_HI - EPH_LO + 1)
#define BATCH 50000 /* handshakes at once (a listener's backlog is at most 65535) */
#define XFER 16384  /* bytes each way per exchange */
#define SAMPLE 1000 /* connections the data phases use */
#define IDLE_MS 10000

struct net {
	struct ustcp_sim *sim;
	struct ustcp_stack *cli, *srv;
	struct ustcp_sock *lsn;
	struct ustcp_sock **c, **s; /* each connection's client and server end */
	uint32_t n, cap;            /* open; room in c and s */
	uint32_t n_ips;
	uint32_t *by_port; /* client address i, port p: index + 1 of its connection */
};

static void die(const char *what)
{
	fprintf(stderr, "million: %s\n", what);
	exit(1);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t vnow(const struct net *n) { return ustcp_sim_now(n->sim); }

static struct ustcp_endpoint ep4(uint32_t ip, uint16_t port)
{
	return (struct ustcp_endpoint){.ip4 = ip, .port = port};
}

static void net_new(struct net *n, uint32_t conns)
{
	static const uint8_t cmac[6] = {2, 0, 0, 0, 1, 1}, smac[6] = {2, 0, 0, 0, 2, 1};
	memset(n, 0, sizeof(*n));
	n->cap = conns;
	n->n_ips = conns / PORTS_PER_IP + 1; /* the last with room to spare */
	if (n->n_ips > 200)
		die("too many connections for one /24");
	n->c = calloc(conns, sizeof(*n->c));
	n->s = calloc(conns, sizeof(*n->s));
	n->by_port = calloc((size_t)n->n_ips * 65536, sizeof(*n->by_port));
	if (!n->c || !n->s || !n->by_port)
		die("out of memory");
	struct ustcp_config cfg;
	ustcp_config_default(&cfg);
	cfg.max_conns = conns + 2; /* and the listener, and one spare */
	cfg.max_backlog = 65535;
	cfg.ephemeral_lo = EPH_LO;
	cfg.ephemeral_hi = EPH_HI;
	cfg.seed = 1;
	n->cli = ustcp_stack_new(&cfg);
	cfg.seed = 2;
	n->srv = ustcp_stack_new(&cfg);
	n->sim = ustcp_sim_new(3);
	if (!n->cli || !n->srv || !n->sim)
		die("cannot make the stacks");
	int sp = ustcp_sim_add_stack(n->sim, n->srv, smac, htonl(SRV_IP));
	int cp = ustcp_sim_add_stack_range(n->sim, n->cli, cmac, htonl(CLI_IP), n->n_ips);
	if (sp < 0 || cp < 0)
		die("cannot add the stacks to the link");
	struct ustcp_impair imp = {.delay = 1 * MS};
	ustcp_sim_set_impair(n->sim, sp, &imp);
	ustcp_sim_set_impair(n->sim, cp, &imp);
	if (ustcp_listen_on(n->srv, ep4(SRV_IP, PORT), 65535, &n->lsn) < 0)
		die("cannot listen");
}

static void net_free(struct net *n)
{
	ustcp_sim_free(n->sim);
	ustcp_stack_free(n->cli);
	ustcp_stack_free(n->srv);
	free(n->c);
	free(n->s);
	free(n->by_port);
}

static void run_for(struct net *n, uint64_t dt) { ustcp_sim_run_until(n->sim, vnow(n) + dt); }

/* Take every connection the listener completed, each to its client end. */
static uint32_t accept_all(struct net *n)
{
	uint32_t got = 0;
	struct ustcp_sock *a;
	while (ustcp_accept(n->lsn, &a) == 0) {
		struct ustcp_endpoint peer;
		if (ustcp_getpeername(a, &peer) < 0)
			die("getpeername failed");
		uint32_t at = n->by_port[(size_t)(peer.ip4 - CLI_IP) * 65536 + peer.port];
		if (!at || n->s[at - 1])
			die("an accepted connection no client opened");
		n->s[at - 1] = a;
		got++;
	}
	return got;
}

/* count more connections, from the client's addresses in turn, so that
 * each address's ports fill evenly. */
static void open_batch(struct net *n, uint32_t count)
{
	uint32_t first = n->n;
	for (uint32_t i = first; i < first + count; i++) {
		uint32_t ip = CLI_IP + i % n->n_ips;
		struct ustcp_endpoint me;
		int rc = ustcp_connect_to(n->cli, ep4(ip, 0), ep4(SRV_IP, PORT), &n->c[i]);
		if (rc < 0 || ustcp_getsockname(n->c[i], &me) < 0) {
			fprintf(stderr, "million: connect %u: %s\n", i, strerror(-rc));
			exit(1);
		}
		n->by_port[(size_t)(ip - CLI_IP) * 65536 + me.port] = i + 1;
	}
	n->n += count;
	uint32_t got = 0;
	for (int ms = 0; ms < 1000 && got < count; ms++) {
		run_for(n, 1 * MS);
		got += accept_all(n);
	}
	if (got != count)
		die("handshakes did not complete");
	for (uint32_t i = first; i < first + count; i++)
		if (ustcp_sock_state(n->c[i]) != USTCP_ESTABLISHED ||
		    ustcp_sock_state(n->s[i]) != USTCP_ESTABLISHED)
			die("a connection is not established");
}

/* Counters summed over both stacks. */
static uint64_t both(const struct net *n, enum ustcp_counter c)
{
	return ustcp_counter(n->cli, c) + ustcp_counter(n->srv, c);
}

/* A phase: callgrind counts it alone (with --instr-atstart=no, nothing
 * else is even instrumented); segments received by either stack, and the
 * wall clock, are counted here. */
struct phase {
	const char *name;
	uint64_t segs;
	double t0;
};

static void phase_begin(const struct net *n, struct phase *p, const char *name)
{
	p->name = name;
	p->segs = both(n, USTCP_C_tcp_in);
	CALLGRIND_START_INSTRUMENTATION;
	CALLGRIND_ZERO_STATS;
	p->t0 = now_s();
}

static void phase_end(const struct net *n, struct phase *p, const char *what, uint64_t units)
{
	double dt = now_s() - p->t0;
	CALLGRIND_DUMP_STATS_AT(p->name);
	CALLGRIND_STOP_INSTRUMENTATION;
	uint64_t segs = both(n, USTCP_C_tcp_in) - p->segs;
	printf("phase %s: %llu segments, %llu %s, %.6f s\n", p->name, (unsigned long long)segs,
	       (unsigned long long)units, what, dt);
}

static void fill(uint8_t *buf, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((seed * 2654435761u + i * 40503u) >> 13);
}

/* Run until nothing is on the link and no timer is armed on either side. */
static void quiesce(struct net *n)
{
	for (int i = 0; i < 100000; i++) {
		if (ustcp_sim_in_flight(n->sim) == 0 && ustcp_next_deadline(n->cli) == UINT64_MAX &&
		    ustcp_next_deadline(n->srv) == UINT64_MAX)
			return;
		if (!ustcp_sim_step(n->sim))
			break;
	}
	if (ustcp_next_deadline(n->cli) != UINT64_MAX || ustcp_next_deadline(n->srv) != UINT64_MAX)
		die("a timer stays armed on a quiet connection");
}

/* Read what waits on k now into got, after the have bytes already there. */
static uint32_t drain(struct ustcp_sock *k, uint8_t *got, uint32_t have)
{
	for (;;) {
		long r = ustcp_recv(k, got + have, XFER - have);
		if (r <= 0)
			return have;
		have += (uint32_t)r;
	}
}

struct want {
	struct ustcp_sock *k;
	uint32_t len;
};

static bool readable(void *ctx)
{
	const struct want *w = ctx;
	return ustcp_sock_readable(w->k) >= w->len;
}

/* What each direction sends (made before any phase is counted). */
static uint8_t pattern[2][XFER];

/* XFER bytes from the client to the server, then back, on connection i. */
static void exchange(struct net *n, uint32_t i)
{
	static uint8_t in[XFER];
	struct ustcp_sock *from = n->c[i], *to = n->s[i];
	for (int dir = 0; dir < 2; dir++) {
		if (ustcp_send(from, pattern[dir], XFER) != XFER)
			die("send failed");
		struct want w = {to, XFER};
		if (!ustcp_sim_run_cond(n->sim, 10 * USTCP_NS_PER_SEC, readable, &w) ||
		    drain(to, in, 0) != XFER || memcmp(in, pattern[dir], XFER) != 0)
			die("data did not arrive intact");
		struct ustcp_sock *t = from;
		from = to;
		to = t;
	}
	quiesce(n);
}

static void data_phase(struct net *n, const char *name, const uint32_t *which, uint32_t count)
{
	struct phase p;
	phase_begin(n, &p, name);
	for (uint32_t i = 0; i < count; i++)
		exchange(n, which[i]);
	phase_end(n, &p, "bytes", (uint64_t)count * 2 * XFER);
}

/* Both stacks polled every millisecond for IDLE_MS, as a runtime with a
 * 1 ms timer would: what a tick costs. */
static void idle_phase(struct net *n, const char *name)
{
	struct phase p;
	uint64_t t = vnow(n);
	phase_begin(n, &p, name);
	for (uint32_t ms = 1; ms <= IDLE_MS; ms++) {
		ustcp_stack_poll(n->cli, t + ms * MS);
		ustcp_stack_poll(n->srv, t + ms * MS);
		if (ustcp_next_deadline(n->cli) != UINT64_MAX ||
		    ustcp_next_deadline(n->srv) != UINT64_MAX)
			die("a timer is armed while every connection is idle");
	}
	phase_end(n, &p, "ticks", IDLE_MS);
	ustcp_sim_run_until(n->sim, t + IDLE_MS * MS); /* the link's clock catches up */
}

/* The VmRSS and VmHWM lines of /proc/self/status, in KiB. */
static void rss(uint64_t *now_kib, uint64_t *peak_kib)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	*now_kib = *peak_kib = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			*now_kib = v;
		if (sscanf(line, "VmHWM: %llu", &v) == 1)
			*peak_kib = v;
	}
	if (f)
		fclose(f);
}

/* What the pool's accounting says the connections of a stack cost: each
 * one's share of the pool and tables and of what they hold beside them,
 * without the buffers (which only connections that moved data have). */
static void memory(const char *side, struct ustcp_stack *s)
{
	struct ustcp_pool_usage u;
	ustcp_pool_usage(s, &u);
	printf("memory %s: %u connections, %.1f B each (tcb %u B; pool and tables %llu B, "
	       "beside them %llu B); buffers %llu B; %u timers armed\n",
	       side, u.conns, (double)(u.pool_bytes + u.conn_bytes) / u.conns, u.tcb_bytes,
	       (unsigned long long)u.pool_bytes, (unsigned long long)u.conn_bytes,
	       (unsigned long long)u.buffer_bytes, u.timers);
	if (u.timers)
		die("an idle connection holds a timer");
}

static void million(uint32_t conns)
{
	struct net n;
	net_new(&n, conns);
	fill(pattern[0], XFER, 1);
	fill(pattern[1], XFER, 2);
	printf("conns: %u, client addresses 10.0.0.16-10.0.0.%u, server 10.0.0.1:%d\n", conns,
	       15 + n.n_ips, PORT);
	open_batch(&n, 1);
	uint32_t first = 0;
	data_phase(&n, "data_one", &first, 1);
	idle_phase(&n, "idle_one");

	double t0 = now_s();
	while (n.n < conns)
		open_batch(&n, conns - n.n < BATCH ? conns - n.n : BATCH);
	double setup = now_s() - t0;
	printf("setup: %u connections established in %.2f s wall, %.3f s virtual\n", n.n, setup,
	       (double)vnow(&n) / 1e9);
	memory("client", n.cli);
	memory("server", n.srv);
	uint64_t kib, peak;
	rss(&kib, &peak);
	printf("rss: %.1f MiB (peak %.1f MiB)\n", (double)kib / 1024, (double)peak / 1024);

	idle_phase(&n, "idle_many");
	static uint32_t which[SAMPLE];
	uint64_t x = 42;
	uint32_t sample = conns < SAMPLE ? conns : SAMPLE;
	for (uint32_t i = 0; i < sample; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		which[i] = conns <= SAMPLE ? i : (uint32_t)((x >> 33) % conns);
	}
	data_phase(&n, "data_many", which, sample);
	data_phase(&n, "data_warm", which, sample);
	memory("client", n.cli);
	memory("server", n.srv);
	rss(&kib, &peak);
	printf("rss: %.1f MiB (peak %.1f MiB)\n", (double)kib / 1024, (double)peak / 1024);
	net_free(&n);
}

/* One bulk transfer of `bytes` on a new connection, checked. */
static void bulk(struct net *n, const char *name, uint64_t bytes)
{
	open_batch(n, 1);
	struct ustcp_sock *a = n->c[n->n - 1], *b = n->s[n->n - 1];
	static uint8_t out[1 << 16], in[1 << 16];
	uint64_t sent = 0, got = 0;
	fill(out, sizeof(out), 7); /* the stream repeats it */
	struct phase p;
	phase_begin(n, &p, name);
	while (got < bytes) {
		while (sent < bytes) {
			uint32_t off = (uint32_t)(sent % sizeof(out)),
				 len = (uint32_t)sizeof(out) - off;
			if (len > bytes - sent)
				len = (uint32_t)(bytes - sent);
			long r = ustcp_send(a, out + off, len);
			if (r <= 0)
				break;
			sent += (uint64_t)r;
		}
		run_for(n, 1 * MS);
		long r;
		while ((r = ustcp_recv(b, in, sizeof(in) - got % sizeof(in))) > 0) {
			if (memcmp(in, out + got % sizeof(out), (size_t)r) != 0)
				die("bulk data corrupted");
			got += (uint64_t)r;
		}
	}
	quiesce(n);
	phase_end(n, &p, "bytes", bytes);
}

static void bulk_beside_idle(uint32_t idle)
{
	const uint64_t bytes = 32u << 20;
	struct net n;
	net_new(&n, idle + 2);
	printf("bulk: %llu bytes on a new connection, alone and beside %u idle connections\n",
	       (unsigned long long)bytes, idle);
	bulk(&n, "bulk_alone", bytes);
	while (n.n < idle + 1)
		open_batch(&n, idle + 1 - n.n < BATCH ? idle + 1 - n.n : BATCH);
	memory("client", n.cli);
	memory("server", n.srv);
	bulk(&n, "bulk_beside", bytes);
	net_free(&n);
}

static uint32_t number(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v < 1 || v > 12000000)
		die(what);
	return (uint32_t)v;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "--bulk") == 0) {
		bulk_beside_idle(argc > 2 ? number(argv[2], "IDLE is 1 to 12000000") : 10000);
		return 0;
	}
	const char *env = getenv("BENCH_CONNS");
	uint32_t conns = argc > 1 ? number(argv[1], "CONNS is 1 to 12000000")
			 : env    ? number(env, "BENCH_CONNS is 1 to 12000000")
				  : 1000000;
	million(conns);
	return 0;
}
