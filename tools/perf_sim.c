/* perf_sim.c — `ustcp perf --sim`: a bulk transfer between two stacks on
 * the simulated link, with throughput, loss recovery and CPU figures.
 *
 * A (10.0.0.3) connects to B (10.0.0.1:5201) and sends --bytes bytes of a
 * pseudo-random stream derived from the seed (B sends with --reverse). The
 * receiver regenerates the stream on its own and compares every byte; both
 * ends keep a BLAKE2b digest of what they sent or read. Throughput is in
 * virtual time, so it is the modelled link's; the CPU figures are real. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "perf.h"
#include "tool.h"
#include "ustcp/ustcp.h"

#define A 0
#define B 1
#define PERF_PORT 5201
#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)
#define BLOCK MIB                            /* bytes of the stream made, or checked, at a time */
#define SLICE (100 * USTCP_NS_PER_MS)        /* virtual time between unconditional pumps */
#define CLOSE_LIMIT (300 * USTCP_NS_PER_SEC) /* for FIN exchange and TIME-WAIT */
#define STEADY_END_PERCENT 90                /* the steady phase ends when this much has arrived */

struct perf_args {
	bool sim, json, reverse, ipv6;
	uint64_t bytes;
	uint64_t rate_bps;                     /* 0: unlimited */
	uint64_t delay, jitter, reorder_delay; /* ns */
	double loss, reorder, dup, corrupt;    /* percent */
	uint64_t queue, buf, time_limit;       /* 0: the default */
	uint64_t seed;
	const char *cc;
	unsigned mtu;
};

/* One end of the transfer: the socket, how far it got, its digest. */
struct end {
	struct ustcp_sock *k;
	uint64_t off; /* bytes sent or read */
	uint8_t *blk; /* the stream from blk_off: made and not all sent, or read and not checked */
	uint64_t blk_off;
	size_t blk_len, blk_pos; /* bytes made; bytes sent or read */
	crypto_generichash_state hash;
	uint8_t digest[crypto_generichash_BYTES];
};

struct hook {
	struct perf *p;
	int side;
};

struct perf {
	struct perf_args a;
	struct ustcp_sim *sim;
	struct ustcp_stack *st[2];
	int port[2];
	struct hook hooks[2];
	bool touched[2];                 /* the stack reported an event since its last pump */
	struct ustcp_sock *ca, *lb, *cb; /* A's socket, B's listener, B's accepted one */
	struct end snd, rcv;
	uint8_t *expect;
	uint64_t key; /* of the byte stream */
	bool shut, eof, failed, ss_ended, steady_set;
	int error;            /* the connection's, negative errno */
	uint64_t mismatch_at; /* first wrong byte offset; UINT64_MAX: none */
	uint64_t t0, t_end;   /* virtual: connect, and end of stream read */
	uint64_t t_ss_end, t_steady, steady_bytes;
	uint64_t t_steady_end, steady_end_bytes; /* when STEADY_END_PERCENT had arrived */
	uint64_t srtt_at_ss_end;
	uint64_t t_rwnd_limited, rwnd_limited_bytes; /* cwnd first outgrew the peer's window */
	uint64_t steps, max_steps;
	double cpu0, cpu_end, tool_ns; /* tool_ns: data generation, check and digest */
	struct ustcp_sock_info info;   /* the sender's, when the end of stream was read */
	bool closed;
};

/* ---- the byte stream ---- */

static uint64_t splitmix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Word i of the stream; byte o is byte o % 8 (little-endian) of word o / 8. */
static uint64_t stream_word(uint64_t key, uint64_t i)
{
	return splitmix64(key + (i + 1) * 0x9e3779b97f4a7c15ull);
}

static void put_le64(uint8_t *p, uint64_t w)
{
	for (int j = 0; j < 8; j++)
		p[j] = (uint8_t)(w >> (8 * j));
}

static void stream_fill(uint64_t key, uint64_t off, uint8_t *out, size_t len)
{
	while (len > 0 && off % 8) {
		*out++ = (uint8_t)(stream_word(key, off / 8) >> (8 * (off % 8)));
		off++;
		len--;
	}
	for (; len >= 8; len -= 8, off += 8, out += 8)
		put_le64(out, stream_word(key, off / 8));
	for (; len > 0; len--, off++)
		*out++ = (uint8_t)(stream_word(key, off / 8) >> (8 * (off % 8)));
}

/* ---- clocks ---- */

static double clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* ---- option parsing ---- */

static const struct {
	const char *suffix;
	uint64_t mult;
} size_suffixes[] = {
	{"", 1},
	{"B", 1},
	{"k", 1000ull},
	{"K", 1000ull},
	{"kB", 1000ull},
	{"KB", 1000ull},
	{"M", 1000000ull},
	{"MB", 1000000ull},
	{"G", 1000000000ull},
	{"GB", 1000000000ull},
	{"T", 1000000000000ull},
	{"TB", 1000000000000ull},
	{"Ki", KIB},
	{"KiB", KIB},
	{"Mi", MIB},
	{"MiB", MIB},
	{"Gi", GIB},
	{"GiB", GIB},
	{"Ti", TIB},
	{"TiB", TIB},
};

/* A whole number with an optional suffix: k K M G T are powers of 1000,
 * Ki Mi Gi Ti (and KiB ...) powers of 1024. */
static bool parse_size(const char *s, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return false;
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	for (size_t i = 0; i < sizeof(size_suffixes) / sizeof(size_suffixes[0]); i++) {
		if (strcmp(s, size_suffixes[i].suffix))
			continue;
		if (v > UINT64_MAX / size_suffixes[i].mult)
			return false;
		*out = v * size_suffixes[i].mult;
		return true;
	}
	return false;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_uint(const char *s, uint64_t hi, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno || v > hi)
		return false;
	*out = v;
	return true;
}

static int parse_size_opt(const char *opt, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (!parse_size(v, out) || *out < lo || *out > hi)
		return tool_usage_error("perf",
					"%s wants a byte count from %llu to %llu (suffixes k M G T "
					"= powers of 1000, Ki Mi Gi Ti = powers of 1024), not '%s'",
					opt, (unsigned long long)lo, (unsigned long long)hi, v);
	return 0;
}

static int parse_num_opt(const char *opt, const char *v, double lo, double hi, double *out)
{
	if (!parse_num(v, lo, hi, out))
		return tool_usage_error("perf", "%s wants a number from %g to %g, not '%s'", opt,
					lo, hi, v);
	return 0;
}

/* Milliseconds on the command line, ns inside. */
static int parse_ms_opt(const char *opt, const char *v, uint64_t *ns)
{
	double ms;
	int rc = parse_num_opt(opt, v, 0, 1e7, &ms);
	*ns = (uint64_t)llround(ms * 1e6);
	return rc;
}

static int parse_cc(const char *v)
{
	const char *const *names = ustcp_cc_names();
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(v, names[i]))
			return 0;
	char list[256] = "";
	for (size_t i = 0; names[i]; i++) {
		size_t n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", names[i]);
	}
	return tool_usage_error(
		"perf", "--cc: unknown congestion control '%s' (this build has: %s)", v, list);
}

/* One option and its value; returns 0 or the usage error's exit code. */
static int parse_valued(struct perf_args *a, const char *opt, const char *v)
{
	double d;
	int rc;
	if (!strcmp(opt, "--bytes"))
		return parse_size_opt(opt, v, 1, 1000000000000000ull, &a->bytes);
	if (!strcmp(opt, "--rate")) {
		rc = parse_num_opt(opt, v, 0, 1e7, &d); /* up to 10 Tbit/s */
		a->rate_bps = (uint64_t)llround(d * 1e6);
		return rc;
	}
	if (!strcmp(opt, "--delay"))
		return parse_ms_opt(opt, v, &a->delay);
	if (!strcmp(opt, "--jitter"))
		return parse_ms_opt(opt, v, &a->jitter);
	if (!strcmp(opt, "--reorder-delay"))
		return parse_ms_opt(opt, v, &a->reorder_delay);
	if (!strcmp(opt, "--loss"))
		return parse_num_opt(opt, v, 0, 100, &a->loss);
	if (!strcmp(opt, "--reorder"))
		return parse_num_opt(opt, v, 0, 100, &a->reorder);
	if (!strcmp(opt, "--dup"))
		return parse_num_opt(opt, v, 0, 100, &a->dup);
	if (!strcmp(opt, "--corrupt"))
		return parse_num_opt(opt, v, 0, 100, &a->corrupt);
	if (!strcmp(opt, "--queue"))
		return parse_size_opt(opt, v, 1, UINT32_MAX, &a->queue);
	if (!strcmp(opt, "--buf"))
		return parse_size_opt(opt, v, 1024, 256 * MIB, &a->buf);
	if (!strcmp(opt, "--seed")) {
		if (!parse_uint(v, UINT64_MAX, &a->seed))
			return tool_usage_error("perf", "--seed wants a whole number, not '%s'", v);
		return 0;
	}
	if (!strcmp(opt, "--mtu"))
		return tool_parse_mtu("perf", v, &a->mtu);
	if (!strcmp(opt, "--time-limit")) {
		rc = parse_num_opt(opt, v, 0.001, 1e9, &d);
		a->time_limit = (uint64_t)llround(d * 1e9);
		return rc;
	}
	if (!strcmp(opt, "--cc")) {
		a->cc = v;
		return parse_cc(v);
	}
	return tool_usage_error("perf", "unknown option '%s'", opt);
}

static bool is_valued(const char *opt)
{
	static const char *const names[] = {
		"--bytes", "--rate",    "--delay", "--jitter",     "--reorder-delay",
		"--loss",  "--reorder", "--dup",   "--corrupt",    "--queue",
		"--buf",   "--seed",    "--mtu",   "--time-limit", "--cc"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(opt, names[i]))
			return true;
	return false;
}

static int parse_args(struct perf_args *a, int argc, char **argv)
{
	*a = (struct perf_args){.bytes = 100 * 1000000ull, .seed = 1, .mtu = 1500};
	a->reorder_delay = UINT64_MAX; /* not given */
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (!strcmp(opt, "--sim")) {
			a->sim = true;
		} else if (!strcmp(opt, "--json")) {
			a->json = true;
		} else if (!strcmp(opt, "--reverse")) {
			a->reverse = true;
		} else if (!strcmp(opt, "--ipv6")) {
			a->ipv6 = true;
		} else if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
			return -1;
		} else if (!is_valued(opt)) {
			return tool_usage_error("perf", "unknown option '%s'", opt);
		} else if (i + 1 == argc) {
			return tool_usage_error("perf", "%s needs a value", opt);
		} else {
			int rc = parse_valued(a, opt, argv[++i]);
			if (rc)
				return rc;
		}
	}
	if (a->ipv6 && a->mtu < TOOL_MTU_MIN6)
		return tool_usage_error("perf",
					"--mtu %u is below %d, the least IPv6 needs (RFC 8200 §5), "
					"and --ipv6 is given",
					a->mtu, TOOL_MTU_MIN6);
	if (a->queue && !a->rate_bps)
		return tool_usage_error("perf", "--queue needs --rate: the queue sits behind the "
						"rate limit");
	return 0;
}

/* ---- defaults that follow from the link ---- */

/* Bytes the link holds in one round trip; 0 when the rate is unlimited. */
static uint64_t bdp(const struct perf_args *a)
{
	return (uint64_t)((double)a->rate_bps / 8 * 2 * (double)a->delay / 1e9);
}

static void fill_defaults(struct perf_args *a)
{
	if (!a->buf) {
		uint64_t b = 2 * bdp(a);
		a->buf = b < 256 * KIB ? 256 * KIB : b > 64 * MIB ? 64 * MIB : b;
	}
	if (!a->queue && a->rate_bps) {
		uint64_t q = bdp(a);
		a->queue = q < 64 * KIB ? 64 * KIB : q > UINT32_MAX ? UINT32_MAX : q;
	}
	if (a->reorder_delay == UINT64_MAX)
		a->reorder_delay = 2 * USTCP_NS_PER_MS;
	if (!a->time_limit) {
		/* Twenty times the transfer at the link rate (or at 1 Gbit/s when
		 * unlimited), plus ten minutes for slow recoveries. */
		double rate = a->rate_bps ? (double)a->rate_bps : 1e9;
		double s = 600 + 20 * (double)a->bytes * 8 / rate;
		a->time_limit = s > 1e9 ? (uint64_t)1e18 : (uint64_t)(s * 1e9);
	}
}

/* ---- setup ---- */

static void on_event(void *ctx, struct ustcp_sock *k, unsigned events)
{
	struct hook *h = ctx;
	(void)k;
	(void)events;
	/* Only note it: the socket calls follow between events (see pump). */
	h->p->touched[h->side] = true;
}

static struct ustcp_stack *make_stack(const struct perf *p, uint64_t seed)
{
	struct ustcp_config cfg;
	ustcp_config_default(&cfg);
	cfg.seed = seed;
	cfg.mtu = (uint16_t)p->a.mtu;
	/* The sockets ask for their buffers with USTCP_SO_SNDBUF/RCVBUF. */
	if (cfg.max_sockbuf < p->a.buf)
		cfg.max_sockbuf = (uint32_t)p->a.buf;
	if (p->a.cc)
		snprintf(cfg.cc, sizeof(cfg.cc), "%s", p->a.cc);
	return ustcp_stack_new(&cfg);
}

static void set_impair(struct perf *p)
{
	const struct perf_args *a = &p->a;
	struct ustcp_impair imp = {
		.loss = a->loss / 100,
		.duplicate = a->dup / 100,
		.reorder = a->reorder / 100,
		.reorder_delay = a->reorder_delay,
		.corrupt = a->corrupt / 100,
		.delay = a->delay,
		.jitter = a->jitter,
		.rate_bps = a->rate_bps,
		.queue_bytes = (uint32_t)a->queue,
	};
	for (int i = 0; i < 2; i++)
		ustcp_sim_set_impair(p->sim, p->port[i], &imp);
}

static int build_link(struct perf *p)
{
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
	const char *ip[2] = {"10.0.0.3", "10.0.0.1"};
	p->sim = ustcp_sim_new(splitmix64(p->a.seed ^ 0x51u));
	p->st[A] = make_stack(p, splitmix64(p->a.seed * 2 + 3));
	p->st[B] = make_stack(p, splitmix64(p->a.seed * 2 + 1));
	if (!p->sim || !p->st[A] || !p->st[B])
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		p->port[i] = ustcp_sim_add_stack(p->sim, p->st[i], mac[i], inet_addr(ip[i]));
		if (p->port[i] < 0)
			return p->port[i];
		p->hooks[i] = (struct hook){p, i};
		ustcp_set_event_handler(p->st[i], on_event, &p->hooks[i]);
	}
	set_impair(p);
	return 0;
}

static int set_bufs(struct ustcp_sock *k, uint64_t buf, bool rcv)
{
	int rc = ustcp_setsockopt(k, USTCP_SO_SNDBUF, buf);
	if (rc == 0 && rcv)
		rc = ustcp_setsockopt(k, USTCP_SO_RCVBUF, buf);
	return rc;
}

/* B listens, A connects; the buffers and congestion control are set on
 * B's listener before the SYN arrives (its children inherit them) and on
 * A's socket before its SYN (ustcp_socket, then ustcp_connect). */
static int open_conn(struct perf *p)
{
	struct ustcp_endpoint bl = {.ip4 = ntohl(inet_addr("10.0.0.1")), .port = PERF_PORT};
	if (p->a.ipv6) {
		bl.v6 = 1;
		ustcp_sim_ip6(htonl(bl.ip4), bl.ip6);
	}
	int rc = ustcp_listen_on(p->st[B], bl, 8, &p->lb);
	if (rc == 0)
		rc = set_bufs(p->lb, p->a.buf, true);
	if (rc == 0 && p->a.cc)
		rc = ustcp_set_cc(p->lb, p->a.cc);
	if (rc < 0)
		return fprintf(stderr, "ustcp perf: listener: %s\n", strerror(-rc)), rc;
	p->t0 = ustcp_sim_now(p->sim);
	p->cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	rc = ustcp_socket(p->st[A], &p->ca);
	if (rc == 0)
		rc = set_bufs(p->ca, p->a.buf, true);
	if (rc == 0 && p->a.cc)
		rc = ustcp_set_cc(p->ca, p->a.cc);
	if (rc == 0 && (rc = ustcp_connect(p->ca, bl)) == -EINPROGRESS)
		rc = 0;
	if (rc < 0)
		return fprintf(stderr, "ustcp perf: connect: %s\n", strerror(-rc)), rc;
	p->touched[A] = true;
	return 0;
}

/* ---- the transfer ---- */

static void fail(struct perf *p, long rc)
{
	if (!p->failed) {
		p->failed = true;
		p->error = (int)rc;
	}
}

/* The tool's own work (making, checking and hashing the data) is done a
 * block at a time and its CPU time kept apart, so the stack's cost can be
 * told from it. */
static double tool_begin(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }
static void tool_end(struct perf *p, double t)
{
	p->tool_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t;
}

/* The sender's block was all taken: hash it and make the next one. */
static void next_send_block(struct perf *p)
{
	struct end *e = &p->snd;
	double t = tool_begin();
	crypto_generichash_update(&e->hash, e->blk, e->blk_len);
	e->blk_off += e->blk_len;
	uint64_t left = p->a.bytes - e->blk_off;
	e->blk_len = left < BLOCK ? (size_t)left : BLOCK;
	e->blk_pos = 0;
	stream_fill(p->key, e->blk_off, e->blk, e->blk_len);
	tool_end(p, t);
}

static void send_more(struct perf *p)
{
	struct end *e = &p->snd;
	/* Like an application that waits to be connected: a shutdown in
	 * SYN-SENT would delete the connection (RFC 9293 §3.10.4). */
	if (ustcp_sock_state(e->k) < USTCP_ESTABLISHED)
		return;
	while (e->off < p->a.bytes) {
		if (e->blk_pos == e->blk_len)
			next_send_block(p);
		size_t room = ustcp_sock_writable(e->k), n = e->blk_len - e->blk_pos;
		if (room == 0)
			return;
		long got = ustcp_send(e->k, e->blk + e->blk_pos, room < n ? room : n);
		if (got == -EAGAIN || got == 0)
			return;
		if (got < 0)
			return fail(p, got);
		e->blk_pos += (size_t)got;
		e->off += (uint64_t)got;
	}
	if (!p->shut) {
		double t = tool_begin();
		crypto_generichash_update(&e->hash, e->blk, e->blk_pos);
		e->blk_len = e->blk_pos = 0; /* all hashed */
		tool_end(p, t);
		int rc = ustcp_shutdown(e->k, USTCP_SHUT_WR);
		if (rc < 0)
			return fail(p, rc);
		p->shut = true;
	}
}

/* Hash the receiver's block and compare it with the stream. */
static void check_block(struct perf *p)
{
	struct end *e = &p->rcv;
	double t = tool_begin();
	crypto_generichash_update(&e->hash, e->blk, e->blk_pos);
	if (p->mismatch_at == UINT64_MAX) {
		uint64_t valid = e->blk_off < p->a.bytes ? p->a.bytes - e->blk_off : 0;
		size_t m = valid < e->blk_pos ? (size_t)valid : e->blk_pos;
		stream_fill(p->key, e->blk_off, p->expect, m);
		if (memcmp(e->blk, p->expect, m)) {
			size_t i = 0;
			while (e->blk[i] == p->expect[i])
				i++;
			p->mismatch_at = e->blk_off + i;
		} else if (m < e->blk_pos) {
			p->mismatch_at = e->blk_off + m; /* more bytes than were sent */
		}
	}
	e->blk_off += e->blk_pos;
	e->blk_pos = 0;
	tool_end(p, t);
}

/* The steady phase: from two round trips after slow start (and the
 * recovery that may end it) was over, so the receiver has caught up, until
 * STEADY_END_PERCENT of the bytes arrived, before the last window drains. */
static void note_steady(struct perf *p)
{
	uint64_t now = ustcp_sim_now(p->sim);
	if (!p->steady_set && p->ss_ended && now >= p->t_ss_end + 2 * p->srtt_at_ss_end) {
		p->steady_set = true;
		p->t_steady = now;
		p->steady_bytes = p->rcv.off;
	}
	if (!p->t_steady_end && p->rcv.off >= p->a.bytes / 100 * STEADY_END_PERCENT) {
		p->t_steady_end = now;
		p->steady_end_bytes = p->rcv.off;
	}
}

static void read_all(struct perf *p)
{
	struct end *e = &p->rcv;
	for (;;) {
		if (e->blk_pos == BLOCK)
			check_block(p);
		long n = ustcp_recv(e->k, e->blk + e->blk_pos, BLOCK - e->blk_pos);
		if (n == -EAGAIN)
			return;
		if (n < 0)
			return fail(p, n);
		if (n == 0) {
			check_block(p);
			p->eof = true;
			p->t_end = ustcp_sim_now(p->sim);
			p->cpu_end = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
			ustcp_sock_info(p->snd.k, &p->info);
			return;
		}
		e->blk_pos += (size_t)n;
		e->off += (uint64_t)n;
		note_steady(p);
	}
}

/* Slow start is over once ssthresh is set (by HyStart++ or a loss) and any
 * recovery is done. A sender that the peer's window holds back may never
 * set ssthresh: then the moment cwnd outgrew that window is used, at the
 * end, if nothing was lost (see note_rwnd_limited). */
static void watch_slow_start(struct perf *p)
{
	struct ustcp_sock_info in;
	if (p->ss_ended || !p->snd.k)
		return;
	ustcp_sock_info(p->snd.k, &in);
	if (in.state < USTCP_ESTABLISHED || in.snd_wnd == 0)
		return;
	if (!p->t_rwnd_limited && in.cwnd > in.snd_wnd) {
		p->t_rwnd_limited = ustcp_sim_now(p->sim);
		p->rwnd_limited_bytes = p->rcv.off;
	}
	if (in.ssthresh != UINT32_MAX && !in.in_recovery) {
		p->ss_ended = true;
		p->t_ss_end = ustcp_sim_now(p->sim);
		p->srtt_at_ss_end = in.srtt;
		note_steady(p);
	}
}

/* The application's turn: accept, send and read on the stacks that had an
 * event. It runs between events, at the time of the last one, which is the
 * clock of the stack that had it. */
static void pump(struct perf *p)
{
	int sside = p->a.reverse ? B : A, rside = !sside;
	if (p->touched[B] && !p->cb && ustcp_accept(p->lb, &p->cb) == 0) {
		(p->a.reverse ? &p->snd : &p->rcv)->k = p->cb;
	}
	if (!p->snd.k || !p->rcv.k) {
		struct ustcp_sock *k = p->a.reverse ? p->rcv.k : p->snd.k;
		if (k && ustcp_sock_error(k))
			fail(p, ustcp_sock_error(k));
	}
	if (p->snd.k && p->touched[sside] && !p->failed) {
		send_more(p);
		watch_slow_start(p);
	}
	if (p->rcv.k && p->touched[rside] && !p->eof && !p->failed)
		read_all(p);
	p->touched[A] = p->touched[B] = false;
}

static bool cond_done(void *ctx)
{
	struct perf *p = ctx;
	p->steps++;
	if (p->touched[A] || p->touched[B])
		pump(p);
	return p->eof || p->failed || p->steps > p->max_steps;
}

/* Run in slices of virtual time up to the time limit; after each slice
 * (when every stack's clock is the sim's) both ends are pumped anyway. */
static void run_transfer(struct perf *p)
{
	uint64_t limit = p->t0 + p->a.time_limit;
	if (limit < p->t0)
		limit = UINT64_MAX;
	/* Far more events than any transfer needs: a bound against a stuck run. */
	p->max_steps = 1000000 + p->a.bytes / 16;
	while (!cond_done(p)) {
		uint64_t now = ustcp_sim_now(p->sim);
		if (now >= limit)
			return;
		uint64_t end = limit - now > SLICE ? now + SLICE : limit;
		if (!ustcp_sim_run_cond(p->sim, end - now, cond_done, p) &&
		    ustcp_sim_now(p->sim) < end)
			ustcp_sim_run_until(p->sim, end);
		p->touched[A] = p->touched[B] = true;
	}
}

static bool cond_pools_empty(void *ctx)
{
	struct perf *p = ctx;
	struct ustcp_pool_usage ua, ub;
	ustcp_pool_usage(p->st[A], &ua);
	ustcp_pool_usage(p->st[B], &ub);
	return ua.conns == 0 && ub.conns == 0;
}

/* Both ends close (or, after a failure, abort) and the stacks are given
 * virtual time to finish the FIN exchange and TIME-WAIT. */
static void close_all(struct perf *p)
{
	struct ustcp_sock *socks[3] = {p->rcv.k, p->snd.k, p->lb};
	if (!p->cb && p->lb && ustcp_accept(p->lb, &p->cb) == 0 && p->cb != p->rcv.k &&
	    p->cb != p->snd.k)
		ustcp_abort(p->cb);
	for (int i = 0; i < 3; i++) {
		if (!socks[i])
			continue;
		if (p->eof)
			ustcp_close(socks[i]);
		else
			ustcp_abort(socks[i]);
	}
	if (p->ca && p->ca != p->snd.k && p->ca != p->rcv.k)
		ustcp_abort(p->ca);
	p->closed = ustcp_sim_run_cond(p->sim, CLOSE_LIMIT, cond_pools_empty, p);
}

/* ---- results ---- */

struct results {
	bool verified;
	double seconds, bps, steady_bps, steady_from, utilization, mathis_bps, rtt;
	double cpu_s, cpu_bps, tool_s, stack_bps;
	uint64_t drops[2];
	struct ustcp_impair_stats imp[2];
};

static double rate(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes * 8e9 / (double)ns : NAN;
}

static void compute(const struct perf *p, struct results *r)
{
	const struct perf_args *a = &p->a;
	uint64_t end = p->eof ? p->t_end : ustcp_sim_now(p->sim);
	r->verified = p->eof && !p->failed && p->mismatch_at == UINT64_MAX &&
		      p->rcv.off == a->bytes && p->snd.off == a->bytes &&
		      !memcmp(p->snd.digest, p->rcv.digest, sizeof(p->snd.digest));
	r->seconds = secs(end - p->t0);
	r->bps = rate(p->rcv.off, end - p->t0);
	r->steady_bps = r->steady_from = NAN;
	bool steady = p->steady_set;
	uint64_t t_steady = p->t_steady, steady_bytes = p->steady_bytes;
	if (!steady && p->t_rwnd_limited && p->info.retransmits == 0) {
		steady = true; /* never left slow start: the peer's window ruled */
		t_steady = p->t_rwnd_limited;
		steady_bytes = p->rwnd_limited_bytes;
	}
	if (p->eof && steady && p->t_steady_end > t_steady) {
		r->steady_bps =
			rate(p->steady_end_bytes - steady_bytes, p->t_steady_end - t_steady);
		r->steady_from = secs(t_steady - p->t0);
	}
	r->utilization = a->rate_bps ? r->bps / (double)a->rate_bps : NAN;
	/* Mathis et al. (1997): rate = MSS/RTT * C/sqrt(p) with C = sqrt(3/2);
	 * RTT is the propagation round trip plus one full frame's serialization. */
	r->rtt = 2 * (double)a->delay / 1e9;
	if (a->rate_bps)
		r->rtt += (double)(a->mtu + 14) * 8 / (double)a->rate_bps;
	r->mathis_bps = NAN;
	if (a->loss > 0 && r->rtt > 0 && p->info.snd_mss)
		r->mathis_bps = p->info.snd_mss * 8 / r->rtt * 1.22 / sqrt(a->loss / 100);
	double cpu = ((p->eof ? p->cpu_end : clock_ns(CLOCK_PROCESS_CPUTIME_ID)) - p->cpu0) / 1e9;
	r->cpu_s = cpu;
	r->tool_s = p->tool_ns / 1e9;
	r->cpu_bps = cpu > 0 ? (double)p->rcv.off * 8 / cpu : NAN;
	r->stack_bps = cpu > r->tool_s ? (double)p->rcv.off * 8 / (cpu - r->tool_s) : NAN;
	for (int i = 0; i < 2; i++) {
		r->drops[i] = ustcp_drops_total(p->st[i]);
		ustcp_sim_get_stats(p->sim, p->port[i], &r->imp[i]);
	}
}

static void hex(char *out, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* "917.3 Mbit/s" and the like. */
static const char *fmt_bps(char *buf, size_t len, double bps)
{
	if (!isfinite(bps))
		snprintf(buf, len, "-");
	else if (bps >= 1e9)
		snprintf(buf, len, "%.3f Gbit/s", bps / 1e9);
	else if (bps >= 1e6)
		snprintf(buf, len, "%.2f Mbit/s", bps / 1e6);
	else
		snprintf(buf, len, "%.1f kbit/s", bps / 1e3);
	return buf;
}

static void print_link(const struct perf_args *a, const char *cc)
{
	printf("link:  ");
	if (a->rate_bps)
		printf("rate %g Mbit/s, queue %llu bytes, ", (double)a->rate_bps / 1e6,
		       (unsigned long long)a->queue);
	else
		printf("rate unlimited, ");
	printf("delay %g ms one way (RTT %g ms), jitter %g ms\n", (double)a->delay / 1e6,
	       2 * (double)a->delay / 1e6, (double)a->jitter / 1e6);
	printf("       loss %g%%, reorder %g%% (by %g ms), duplicate %g%%, corrupt %g%%, both "
	       "ways\n",
	       a->loss, a->reorder, (double)a->reorder_delay / 1e6, a->dup, a->corrupt);
	printf("       seed %llu, cc %s, socket buffers %llu bytes, MTU %u\n",
	       (unsigned long long)a->seed, cc, (unsigned long long)a->buf, a->mtu);
}

static void print_drops(const struct perf *p, int side)
{
	printf("  %s: %llu", side == A ? "A" : "B",
	       (unsigned long long)ustcp_drops_total(p->st[side]));
	const char *sep = " (";
	for (int d = 1; d < USTCP_DROP_COUNT; d++) {
		uint64_t n = ustcp_drops(p->st[side], (enum ustcp_drop)d);
		if (n) {
			printf("%s%s %llu", sep, ustcp_drop_name((enum ustcp_drop)d),
			       (unsigned long long)n);
			sep = ", ";
		}
	}
	printf("%s\n", *sep == ',' ? ")" : "");
}

static void print_impair(const char *dir, const struct ustcp_impair_stats *s)
{
	printf("  %s: %llu frames, %llu lost, %llu duplicated, %llu reordered, %llu corrupted, "
	       "%llu queue drops\n",
	       dir, (unsigned long long)s->frames, (unsigned long long)s->lost,
	       (unsigned long long)s->duplicated, (unsigned long long)s->reordered,
	       (unsigned long long)s->corrupted, (unsigned long long)s->queue_drops);
}

static void print_verdict(const struct perf *p, const struct results *r)
{
	if (r->verified) {
		printf("verified: yes, every byte matched and the end of stream came after the "
		       "last\n");
		return;
	}
	printf("verified: NO:");
	if (p->failed)
		printf(" connection failed (%s);", strerror(-p->error));
	else if (p->steps > p->max_steps)
		printf(" gave up after %llu events;", (unsigned long long)p->max_steps);
	else if (!p->eof)
		printf(" no end of stream within the time limit (%g s);", secs(p->a.time_limit));
	if (p->mismatch_at != UINT64_MAX)
		printf(" first wrong byte at offset %llu;", (unsigned long long)p->mismatch_at);
	printf(" %llu of %llu bytes read\n", (unsigned long long)p->rcv.off,
	       (unsigned long long)p->a.bytes);
}

static void print_sender(const struct perf *p, const struct results *r)
{
	const struct ustcp_sock_info *in = &p->info;
	char ss[32] = "none (no congestion yet)";
	if (in->ssthresh != UINT32_MAX)
		snprintf(ss, sizeof(ss), "%u", in->ssthresh);
	printf("sender (%s), %s:\n", p->a.reverse ? "B" : "A",
	       p->eof ? "when the end of stream was read" : "when the run stopped");
	printf("  retransmits %u (fast retransmits %u, RTO expirations %u)\n", in->retransmits,
	       in->fast_retransmits, in->rto_expirations);
	printf("  cwnd %u, ssthresh %s, MSS %u, srtt %.3f ms, min RTT %.3f ms\n", in->cwnd, ss,
	       in->snd_mss, (double)in->srtt / 1e6, (double)in->min_rtt / 1e6);
	if (p->ss_ended)
		printf("  slow start ended at %.3f s\n", secs(p->t_ss_end - p->t0));
	(void)r;
}

static void print_human(const struct perf *p, const struct results *r)
{
	char b1[32], b2[32];
	const struct perf_args *a = &p->a;
	printf("ustcp perf --sim: %llu bytes %s over the simulated link\n",
	       (unsigned long long)a->bytes, a->reverse ? "B -> A" : "A -> B");
	print_link(a, a->cc ? a->cc : p->info.cc);
	printf("\ntransfer (virtual time, from connect to the receiver reading the end of "
	       "stream):\n");
	printf("  %llu bytes in %.6f s: %s\n", (unsigned long long)p->rcv.off, r->seconds,
	       fmt_bps(b1, sizeof(b1), r->bps));
	if (!a->rate_bps && !a->delay && !a->jitter)
		printf("  (no rate limit and no delay: the link takes no virtual time, so only the "
		       "CPU figures below mean something)\n");
	if (isfinite(r->steady_bps))
		printf("  after slow start: %s (from %.3f s, two RTTs after slow start and its "
		       "recovery, until %d%% of the bytes had arrived)\n",
		       fmt_bps(b1, sizeof(b1), r->steady_bps), r->steady_from, STEADY_END_PERCENT);
	else
		printf("  after slow start: - (%s)\n", !p->eof ? "the transfer did not finish"
						       : !p->ss_ended ? "slow start never ended"
						       : !p->steady_set
							       ? "it ended too late"
							       : "no virtual time passed after it");
	if (a->rate_bps)
		printf("  link utilization: %.1f%% (payload bits / link rate)\n",
		       100 * r->utilization);
	if (a->loss > 0)
		printf("  Mathis et al. estimate: %s (MSS/RTT * 1.22/sqrt(p), RTT %.3f ms, p %g), "
		       "measured %s\n",
		       fmt_bps(b1, sizeof(b1), r->mathis_bps), r->rtt * 1e3, a->loss / 100,
		       fmt_bps(b2, sizeof(b2), isfinite(r->steady_bps) ? r->steady_bps : r->bps));
	print_sender(p, r);
	printf("drops counted by the stacks:\n");
	print_drops(p, A);
	print_drops(p, B);
	printf("impairment layer:\n");
	print_impair("A -> B", &r->imp[A]);
	print_impair("B -> A", &r->imp[B]);
	char h1[2 * crypto_generichash_BYTES + 1], h2[sizeof(h1)];
	hex(h1, p->snd.digest, sizeof(p->snd.digest));
	hex(h2, p->rcv.digest, sizeof(p->rcv.digest));
	printf("BLAKE2b-256 sent: %s\n             read: %s\n", h1, h2);
	print_verdict(p, r);
	printf("CPU time (a benchmark figure: real CPU of this process, one core running both "
	       "stacks, the link and the tool):\n");
	printf("  %.3f s in all: %s of payload per CPU second\n", r->cpu_s,
	       fmt_bps(b1, sizeof(b1), r->cpu_bps));
	printf("  %.3f s of it making, checking and hashing the data; without that: %s\n",
	       r->tool_s, fmt_bps(b2, sizeof(b2), r->stack_bps));
}

/* JSON numbers: NaN and infinity have no spelling, so they are null. */
static void jnum(const char *key, double v, const char *sep)
{
	if (isfinite(v))
		printf("  \"%s\": %.17g%s\n", key, v, sep);
	else
		printf("  \"%s\": null%s\n", key, sep);
}

static void jint(const char *key, uint64_t v)
{
	printf("  \"%s\": %llu,\n", key, (unsigned long long)v);
}

static void jstats(const char *key, const struct ustcp_impair_stats *s, const char *sep)
{
	printf("  \"%s\": {\"frames\": %llu, \"lost\": %llu, \"duplicated\": %llu, \"reordered\": "
	       "%llu, \"corrupted\": %llu, \"queue_drops\": %llu}%s\n",
	       key, (unsigned long long)s->frames, (unsigned long long)s->lost,
	       (unsigned long long)s->duplicated, (unsigned long long)s->reordered,
	       (unsigned long long)s->corrupted, (unsigned long long)s->queue_drops, sep);
}

static void print_json(const struct perf *p, const struct results *r)
{
	const struct perf_args *a = &p->a;
	const struct ustcp_sock_info *in = &p->info;
	char h1[2 * crypto_generichash_BYTES + 1], h2[sizeof(h1)];
	hex(h1, p->snd.digest, sizeof(p->snd.digest));
	hex(h2, p->rcv.digest, sizeof(p->rcv.digest));
	printf("{\n");
	jint("bytes", a->bytes);
	jint("bytes_received", p->rcv.off);
	jnum("seconds", r->seconds, ",");
	jnum("bits_per_second", r->bps, ",");
	jnum("steady_bits_per_second", r->steady_bps, ",");
	jnum("steady_start_seconds", r->steady_from, ",");
	jnum("link_rate_bps", a->rate_bps ? (double)a->rate_bps : NAN, ",");
	jnum("utilization", r->utilization, ",");
	jint("retransmits", in->retransmits);
	jint("fast_retransmits", in->fast_retransmits);
	jint("rto_expirations", in->rto_expirations);
	jint("final_cwnd", in->cwnd);
	jnum("ssthresh", in->ssthresh == UINT32_MAX ? NAN : in->ssthresh, ",");
	jnum("srtt_us", (double)in->srtt / 1e3, ",");
	jnum("min_rtt_us", (double)in->min_rtt / 1e3, ",");
	jint("snd_mss", in->snd_mss);
	jnum("mathis_bps", r->mathis_bps, ",");
	jnum("cpu_seconds", r->cpu_s, ",");
	jnum("cpu_bits_per_second", r->cpu_bps, ",");
	jnum("cpu_tool_seconds", r->tool_s, ",");
	jnum("cpu_stack_bits_per_second", r->stack_bps, ",");
	printf("  \"verified\": %s,\n", r->verified ? "true" : "false");
	printf("  \"error\": %s%s%s,\n", p->failed ? "\"" : "",
	       p->failed ? strerror(-p->error) : "null", p->failed ? "\"" : "");
	jnum("first_mismatch", p->mismatch_at == UINT64_MAX ? NAN : (double)p->mismatch_at, ",");
	printf("  \"digest_sent\": \"%s\",\n  \"digest_received\": \"%s\",\n", h1, h2);
	printf("  \"closed\": %s,\n", p->closed ? "true" : "false");
	jint("seed", a->seed);
	printf("  \"cc\": \"%s\",\n", a->cc ? a->cc : in->cc);
	printf("  \"reverse\": %s,\n", a->reverse ? "true" : "false");
	printf("  \"ipv6\": %s,\n", a->ipv6 ? "true" : "false");
	jnum("delay_ms", (double)a->delay / 1e6, ",");
	jnum("jitter_ms", (double)a->jitter / 1e6, ",");
	jnum("loss_pct", a->loss, ",");
	jnum("reorder_pct", a->reorder, ",");
	jnum("reorder_delay_ms", (double)a->reorder_delay / 1e6, ",");
	jnum("dup_pct", a->dup, ",");
	jnum("corrupt_pct", a->corrupt, ",");
	jnum("queue_bytes", a->rate_bps ? (double)a->queue : NAN, ",");
	jint("buf_bytes", a->buf);
	jint("mtu", a->mtu);
	jnum("time_limit_seconds", secs(a->time_limit), ",");
	printf("  \"drops\": {\"A\": %llu, \"B\": %llu},\n", (unsigned long long)r->drops[A],
	       (unsigned long long)r->drops[B]);
	jstats("impairment_a_to_b", &r->imp[A], ",");
	jstats("impairment_b_to_a", &r->imp[B], "");
	printf("}\n");
}

void perf_sim_usage(void)
{
	printf("usage: ustcp perf --sim [options]\n"
	       "  A (10.0.0.3) sends to B (10.0.0.1) over the simulated link, in virtual time.\n"
	       "  --bytes N           bytes to send (100M); k M G T = powers of 1000, Ki Mi Gi Ti "
	       "= of 1024\n"
	       "  --rate MBIT         link rate in Mbit/s (0: unlimited)\n"
	       "  --delay MS          one-way delay (0); the RTT is twice it\n"
	       "  --jitter MS         extra delay, uniform in [0, MS]\n"
	       "  --loss PCT, --reorder PCT, --dup PCT, --corrupt PCT   per frame, both ways\n"
	       "  --reorder-delay MS  how long a reordered frame is held back (2)\n"
	       "  --queue BYTES       drop-tail queue behind the rate limit (one BDP, >= 64 KiB)\n"
	       "  --buf BYTES         socket buffers (2 BDP, 256 KiB .. 64 MiB)\n"
	       "  --cc NAME           congestion control\n"
	       "  --mtu N             IP MTU, 68 to 65535 (1500); 1280 or more with --ipv6\n"
	       "  --seed N            seeds the link, the stacks and the data (1)\n"
	       "  --time-limit S      virtual seconds before giving up\n"
	       "  --reverse           B sends to A\n"
	       "  --ipv6              over IPv6 (fd00::10.0.0.3 to fd00::10.0.0.1)\n"
	       "  --json              one JSON object on stdout\n"
	       "exit code: 0 when every byte arrived intact, 1 when not, 2 for a usage error\n");
}

static void free_perf(struct perf *p)
{
	ustcp_sim_free(p->sim);
	for (int i = 0; i < 2; i++)
		if (p->st[i])
			ustcp_stack_free(p->st[i]);
	free(p->snd.blk);
	free(p->rcv.blk);
	free(p->expect);
}

int perf_sim_main(int argc, char **argv)
{
	struct perf p = {0};
	int rc = parse_args(&p.a, argc, argv);
	if (rc < 0)
		return perf_sim_usage(), 0;
	if (rc)
		return rc;
	fill_defaults(&p.a);
	if (sodium_init() < 0)
		return fprintf(stderr, "ustcp perf: libsodium failed to start\n"), 1;
	p.key = splitmix64(p.a.seed);
	p.mismatch_at = UINT64_MAX;
	crypto_generichash_init(&p.snd.hash, NULL, 0, sizeof(p.snd.digest));
	crypto_generichash_init(&p.rcv.hash, NULL, 0, sizeof(p.rcv.digest));
	p.snd.blk = malloc(BLOCK);
	p.rcv.blk = malloc(BLOCK);
	p.expect = malloc(BLOCK);
	if (!p.snd.blk || !p.rcv.blk || !p.expect || build_link(&p) < 0) {
		free_perf(&p);
		return fprintf(stderr, "ustcp perf: cannot set up the link (out of memory?)\n"), 1;
	}
	if (open_conn(&p) < 0) {
		free_perf(&p);
		return 1;
	}
	if (!p.a.reverse)
		p.snd.k = p.ca;
	else
		p.rcv.k = p.ca;
	run_transfer(&p);
	if (!p.eof && p.snd.k)
		ustcp_sock_info(p.snd.k, &p.info);
	/* After a failure: what was read, or sent, since the last full block. */
	check_block(&p);
	crypto_generichash_update(&p.snd.hash, p.snd.blk, p.snd.blk_pos);
	crypto_generichash_final(&p.snd.hash, p.snd.digest, sizeof(p.snd.digest));
	crypto_generichash_final(&p.rcv.hash, p.rcv.digest, sizeof(p.rcv.digest));
	struct results r;
	compute(&p, &r);
	close_all(&p);
	if (p.a.json)
		print_json(&p, &r);
	else
		print_human(&p, &r);
	free_perf(&p);
	return r.verified ? 0 : 1;
}
