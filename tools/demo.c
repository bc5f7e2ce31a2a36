/* demo.c — `ustcp demo`: the textbook conversation between two stacks on
 * the simulated link, printed segment by segment with both sides' states
 * (with --real, a download on a real link instead: demo_real.c).
 *
 * A (10.0.0.3) connects to B (10.0.0.1:54321) with ISN_A = 1000 and
 * ISN_B = 7000; A sends "abc", "defg", "foobar"; B replies "hello"; A
 * sends "goodbye" and closes; B closes; A waits out TIME-WAIT. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "demo.h"
#include "netopts.h"
#include "tool.h"
#include "ustcp/ustcp.h"

#define A 0
#define B 1

struct demo;

struct side {
	struct demo *d;
	int idx;
	const char *ip;
	struct ustcp_stack *stack;
	int state; /* of its connection, as the trace reports it */
	unsigned segments;
};

struct demo {
	struct ustcp_sim *sim;
	struct side side[2];
	struct ustcp_sock *ca, *lb, *cb;
	struct ustcp_pcap *pcap;
	bool quiet;
	char rbuf[64];
	size_t rlen;
};

static double secs(uint64_t ns) { return (double)ns / 1e9; }

static void trace_hook(void *ctx, const struct ustcp_trace_event *ev)
{
	struct side *me = ctx;
	struct demo *d = me->d;
	struct side *peer = &d->side[!me->idx];
	if (ev->has_conn)
		me->state = ev->state_after;
	if (ev->dir == USTCP_TRACE_OUT) {
		char line[512];
		me->segments++;
		if (d->pcap)
			ustcp_pcap_write(d->pcap, ev->now, ev->frame, ev->len);
		if (d->quiet)
			return;
		ustcp_format_frame(line, sizeof(line), ev->frame, ev->len);
		const struct side *a = &d->side[A], *b = &d->side[B];
		printf("%9.6f  %-12s %s %-12s  %s\n", secs(ev->now), ustcp_state_name(a->state),
		       me->idx == A ? "--->" : "<---", ustcp_state_name(b->state), line);
	} else if (!d->quiet && ev->has_conn && ev->state_before != ev->state_after) {
		printf("%9.6f  %s %s -> %s\n", secs(ev->now),
		       me->idx == A ? "A:" : "                  B:",
		       ustcp_state_name(ev->state_before), ustcp_state_name(ev->state_after));
	} else if (!d->quiet && ev->drop) {
		printf("%9.6f  %s dropped a segment: %s\n", secs(ev->now), me->idx == A ? "A" : "B",
		       ustcp_drop_desc(ev->drop));
	}
	(void)peer;
}

static void say(struct demo *d, int who, const char *fmt, const char *arg)
{
	if (d->quiet)
		return;
	printf("%9.6f  %s ", secs(ustcp_sim_now(d->sim)), who == A ? "A:" : "                  B:");
	printf(fmt, arg);
	printf("\n");
}

static bool cond_connected(void *ctx)
{
	struct demo *d = ctx;
	if (!d->cb && ustcp_accept(d->lb, &d->cb) < 0)
		return false;
	return ustcp_sock_state(d->ca) == USTCP_ESTABLISHED;
}

/* Everything sent so far has been acknowledged, and what arrived was read. */
static bool all_acked(struct ustcp_sock *k)
{
	struct ustcp_sock_info in;
	ustcp_sock_info(k, &in);
	return in.snd_una == in.snd_nxt;
}

struct wait_read {
	struct demo *d;
	struct ustcp_sock *from, *to;
	size_t want;
};

static bool cond_delivered(void *ctx)
{
	struct wait_read *w = ctx;
	return ustcp_sock_readable(w->to) >= w->want && all_acked(w->from);
}

static bool cond_eof(void *ctx)
{
	struct ustcp_sock *k = ctx;
	return ustcp_sock_eof(k);
}

/* A's socket was closed by its user: its end shows as an empty pool. */
static bool cond_a_gone(void *ctx)
{
	struct demo *d = ctx;
	struct ustcp_pool_usage u;
	ustcp_pool_usage(d->side[A].stack, &u);
	return u.conns == 0;
}

static bool cond_b_closed_a_timewait(void *ctx)
{
	struct demo *d = ctx;
	return d->side[B].state == USTCP_CLOSED && d->side[A].state == USTCP_TIME_WAIT;
}

static int run(struct demo *d, bool (*cond)(void *), void *ctx, uint64_t timeout, const char *what)
{
	if (ustcp_sim_run_cond(d->sim, timeout, cond, ctx))
		return 0;
	fprintf(stderr, "ustcp demo: gave up waiting for %s\n", what);
	return -1;
}

/* One side sends msg; the run goes on until the other has it, acknowledged. */
static int transfer(struct demo *d, int who, struct ustcp_sock *from, struct ustcp_sock *to,
		    const char *msg)
{
	say(d, who, "send \"%s\"", msg);
	long n = ustcp_send(from, msg, strlen(msg));
	if (n != (long)strlen(msg)) {
		fprintf(stderr, "ustcp demo: send failed: %s\n", strerror(n < 0 ? (int)-n : EIO));
		return -1;
	}
	struct wait_read w = {d, from, to, strlen(msg)};
	if (run(d, cond_delivered, &w, 10 * USTCP_NS_PER_SEC, "the data to arrive") < 0)
		return -1;
	char buf[64];
	long got = ustcp_recv(to, buf, sizeof(buf) - 1);
	if (got < 0)
		return -1;
	buf[got] = '\0';
	say(d, !who, "read \"%s\"", buf);
	return 0;
}

static struct ustcp_stack *make_stack(uint64_t seed, uint8_t fixed_bit, uint32_t iss)
{
	struct ustcp_config cfg;
	ustcp_config_default(&cfg);
	cfg.seed = seed;
	cfg.use_fixed_iss = fixed_bit;
	cfg.fixed_iss_active = iss;
	cfg.fixed_iss_passive = iss;
	return ustcp_stack_new(&cfg);
}

static int conversation(struct demo *d)
{
	struct side *a = &d->side[A], *b = &d->side[B];
	struct ustcp_endpoint bl = {.ip4 = ntohl(inet_addr("10.0.0.1")), .port = 54321};
	int rc = ustcp_listen_on(b->stack, bl, 8, &d->lb);
	if (rc < 0)
		return fprintf(stderr, "ustcp demo: listen: %s\n", strerror(-rc)), -1;
	b->state = USTCP_LISTEN;
	say(d, B, "listen on %s", "10.0.0.1.54321");
	say(d, A, "connect to %s", "10.0.0.1.54321");
	struct ustcp_endpoint al = {.ip4 = 0, .port = 45815};
	rc = ustcp_connect_to(a->stack, al, bl, &d->ca);
	if (rc < 0)
		return fprintf(stderr, "ustcp demo: connect: %s\n", strerror(-rc)), -1;
	if (run(d, cond_connected, d, 10 * USTCP_NS_PER_SEC, "the handshake") < 0)
		return -1;
	static const char *const from_a[] = {"abc", "defg", "foobar"};
	for (size_t i = 0; i < 3; i++)
		if (transfer(d, A, d->ca, d->cb, from_a[i]) < 0)
			return -1;
	if (transfer(d, B, d->cb, d->ca, "hello") < 0 ||
	    transfer(d, A, d->ca, d->cb, "goodbye") < 0)
		return -1;
	say(d, A, "%s", "close");
	ustcp_close(d->ca);
	if (run(d, cond_eof, d->cb, 10 * USTCP_NS_PER_SEC, "B to see the end of the stream") < 0)
		return -1;
	say(d, B, "%s", "read end of stream; close");
	ustcp_close(d->cb);
	ustcp_close(d->lb);
	if (run(d, cond_b_closed_a_timewait, d, 10 * USTCP_NS_PER_SEC, "B to close") < 0)
		return -1;
	say(d, A, "%s", "in TIME-WAIT for 2*MSL (60 s of virtual time)");
	if (run(d, cond_a_gone, d, 120 * USTCP_NS_PER_SEC, "TIME-WAIT to end") < 0)
		return -1;
	d->side[A].state = USTCP_CLOSED;
	say(d, A, "%s", "TIME-WAIT -> CLOSED");
	return 0;
}

static void summary(const struct demo *d)
{
	printf("\nsummary: %u segments from A, %u from B; virtual time %.3f s\n",
	       d->side[A].segments, d->side[B].segments, secs(ustcp_sim_now(d->sim)));
	for (int i = 0; i < 2; i++) {
		const struct ustcp_stack *s = d->side[i].stack;
		struct ustcp_pool_usage u;
		ustcp_pool_usage(s, &u);
		printf("  %s (%s): %llu bytes sent, %llu received, %llu retransmits, %llu drops, "
		       "%u connections left\n",
		       i == A ? "A" : "B", d->side[i].ip,
		       (unsigned long long)ustcp_counter(s, USTCP_C_tcp_data_out_bytes),
		       (unsigned long long)ustcp_counter(s, USTCP_C_tcp_data_in_bytes),
		       (unsigned long long)ustcp_counter(s, USTCP_C_tcp_retransmits),
		       (unsigned long long)ustcp_drops_total(s), u.conns);
	}
}

static void usage(void)
{
	printf("usage: ustcp demo [--pcap FILE] [--quiet]\n"
	       "       ustcp demo --real [--bytes N] [--impair SPEC] [--pcap FILE] [--quiet]\n\n"
	       "The textbook TCP conversation between two stacks on the simulated link,\n"
	       "segment by segment with both sides' states.\n\n"
	       "  --pcap FILE         also write every frame to a capture\n"
	       "  --quiet             print only the summary (with --real, the throughput)\n"
	       "  --real              on a real link instead (as root): in a network namespace\n"
	       "                      of its own (gone when the process ends), on a TAP device,\n"
	       "                      the kernel's curl downloads a file from ustcp's httpd;\n"
	       "                      prints the first segments and the throughput\n"
	       "  --bytes N           with --real, the file's size (default 100Mi; suffixes\n"
	       "                      k M, Ki Mi)\n"
	       "  --impair SPEC       with --real, impair ustcp's frames both ways, as the\n"
	       "                      network tools' --impair (ustcp nc --help)\n");
}

/* The options of both demos; 0, -1 (help printed) or 2. */
static int parse_args(int argc, char **argv, bool *real, const char **pcap,
		      struct demo_real_opts *ro)
{
	bool have_bytes = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "--impair", 8)) {
			int rc = netopts_take(&ro->net, "demo", argc, argv, &i);
			if (rc != NETOPT_TAKEN)
				return rc == NETOPT_OTHER
					       ? tool_usage_error("demo", "unknown option '%s'", a)
					       : rc;
		} else if (!strcmp(a, "--pcap")) {
			if (++i == argc)
				return tool_usage_error("demo", "--pcap needs a file name");
			*pcap = argv[i];
		} else if (!strcmp(a, "--bytes")) {
			if (++i == argc)
				return tool_usage_error("demo", "--bytes needs a size");
			if (!netopts_parse_size(argv[i], 1, UINT64_C(1) << 40, &ro->bytes))
				return tool_usage_error("demo",
							"--bytes wants a size from 1 byte to 1 TiB "
							"(suffixes k M, Ki Mi), not '%s'",
							argv[i]);
			have_bytes = true;
		} else if (!strcmp(a, "--quiet")) {
			ro->quiet = true;
		} else if (!strcmp(a, "--real")) {
			*real = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			return -1;
		} else {
			return tool_usage_error("demo", "unknown option '%s'", a);
		}
	}
	if (!*real && (have_bytes || ro->net.have_impair))
		return tool_usage_error("demo", "%s needs --real",
					have_bytes ? "--bytes" : "--impair");
	ro->net.pcap = *pcap;
	return 0;
}

int cmd_demo(int argc, char **argv)
{
	struct demo d = {0};
	const char *pcap_path = NULL;
	bool real = false;
	struct demo_real_opts ro = {.bytes = 100 * 1024 * 1024};
	netopts_init(&ro.net);
	int rc = parse_args(argc, argv, &real, &pcap_path, &ro);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (real)
		return demo_real(&ro);
	d.quiet = ro.quiet;
	if (pcap_path && !(d.pcap = ustcp_pcap_open(pcap_path))) {
		fprintf(stderr, "ustcp demo: cannot write %s: %s\n", pcap_path, strerror(errno));
		return 1;
	}
	d.sim = ustcp_sim_new(42);
	d.side[A] = (struct side){&d, A, "10.0.0.3", make_stack(3, 1, 1000), USTCP_CLOSED, 0};
	d.side[B] = (struct side){&d, B, "10.0.0.1", make_stack(1, 2, 7000), USTCP_CLOSED, 0};
	if (!d.sim || !d.side[A].stack || !d.side[B].stack) {
		fprintf(stderr, "ustcp demo: out of memory\n");
		return 1;
	}
	static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x03},
			     mac_b[6] = {0x02, 0, 0, 0, 0, 0x01};
	int pa = ustcp_sim_add_stack(d.sim, d.side[A].stack, mac_a, inet_addr("10.0.0.3"));
	int pb = ustcp_sim_add_stack(d.sim, d.side[B].stack, mac_b, inet_addr("10.0.0.1"));
	struct ustcp_impair link = {.delay = 10 * USTCP_NS_PER_MS}; /* 20 ms round trip */
	ustcp_sim_set_impair(d.sim, pa, &link);
	ustcp_sim_set_impair(d.sim, pb, &link);
	for (int i = 0; i < 2; i++)
		ustcp_set_trace(d.side[i].stack, trace_hook, &d.side[i]);
	if (!d.quiet)
		printf("%9s  %-12s %4s %-12s  %s\n", "time (s)", "A 10.0.0.3", "", "B 10.0.0.1",
		       "segment (A's ISN 1000, B's ISN 7000)");
	rc = conversation(&d);
	if (rc == 0)
		summary(&d);
	if (d.pcap) {
		ustcp_pcap_close(d.pcap);
		printf("capture written to %s\n", pcap_path);
	}
	ustcp_sim_free(d.sim);
	ustcp_stack_free(d.side[A].stack);
	ustcp_stack_free(d.side[B].stack);
	return rc == 0 ? 0 : 1;
}
