/* sim_path.c — what the in-memory path costs: one bulk transfer between two
 * stacks on the simulated link, in one process, with nothing else counted.
 *
 *   sim_path [--mtu N] [--bytes N] [--buf N] [--offloads] [--zc] [--repeat N]
 *
 * A connects to B and sends --bytes (default 1 GiB) from one constant
 * buffer; B reads and discards into one scratch buffer (--zc: it looks at
 * the bytes in place, ustcp_recv_zc, and gives them back). No data is made or
 * checked and the link has no delay, loss or rate limit, so the CPU time
 * is the two stacks', the link's and the socket calls'. --offloads: the
 * link offers checksum offload and TSO and passes such frames on whole, as
 * a vnet link does (ustcp_sim_pass_offloaded): 64 KiB segments, checksums
 * trusted.
 *
 * Prints the payload rate per CPU second (CLOCK_PROCESS_CPUTIME_ID around
 * the transfer: connect to the end of stream read) and the segments each
 * way, so that instruction counts can be put per segment, per byte and
 * per ACK:
 *   valgrind --tool=callgrind --toggle-collect=transfer sim_path --bytes 64M
 * --repeat N runs the transfer N times and prints each, then the median. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ustcp/ustcp.h"

#define A 0
#define B 1
#define PORT 5201
#define MIB (1024ull * 1024)
#define SEND_CHUNK (4 * MIB) /* the constant buffer the sender sends from */
#define READ_CHUNK (1 * MIB) /* the scratch buffer the receiver reads into */

struct opts {
	unsigned mtu;
	uint64_t bytes, buf;
	bool offloads, zc;
	int repeat;
};

struct run {
	const struct opts *o;
	struct ustcp_sim *sim;
	struct ustcp_stack *st[2];
	struct ustcp_sock *l, *a, *b;
	bool touched[2];
	uint64_t sent, received;
	bool eof, failed;
	const uint8_t *src;
	uint8_t *dst;
};

struct hook {
	struct run *r;
	int side;
};

static void die(const char *what)
{
	fprintf(stderr, "sim_path: %s\n", what);
	exit(1);
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_event(void *ctx, struct ustcp_sock *k, unsigned events)
{
	struct hook *h = ctx;
	(void)k, (void)events;
	h->r->touched[h->side] = true; /* the calls follow between events */
}

static void send_more(struct run *r)
{
	while (r->sent < r->o->bytes) {
		uint64_t left = r->o->bytes - r->sent;
		long n = ustcp_send(r->a, r->src, left < SEND_CHUNK ? (size_t)left : SEND_CHUNK);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			r->failed = true;
			return;
		}
		r->sent += (uint64_t)n;
	}
	if (ustcp_shutdown(r->a, USTCP_SHUT_WR) < 0)
		r->failed = true;
	r->sent++; /* past the end: the FIN is queued once */
}

/* A read: copied out, or shown in place and given back. */
static long read_some(struct run *r)
{
	if (!r->o->zc)
		return ustcp_recv(r->b, r->dst, READ_CHUNK);
	struct ustcp_iov iov[2];
	long n = ustcp_recv_zc(r->b, iov, READ_CHUNK);
	if (n > 0 && ustcp_recv_done(r->b, (size_t)n) < 0)
		return -EINVAL;
	return n;
}

static void read_all(struct run *r)
{
	for (;;) {
		long n = read_some(r);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			r->eof = n == 0;
			r->failed = n < 0;
			return;
		}
		r->received += (uint64_t)n;
	}
}

static bool pump(void *ctx)
{
	struct run *r = ctx;
	if (r->touched[B] && !r->b && ustcp_accept(r->l, &r->b) < 0)
		r->b = NULL;
	if (r->touched[A] && r->sent <= r->o->bytes && ustcp_sock_state(r->a) >= USTCP_ESTABLISHED)
		send_more(r);
	if (r->touched[B] && r->b)
		read_all(r);
	r->touched[A] = r->touched[B] = false;
	return r->eof || r->failed;
}

static struct ustcp_stack *make_stack(const struct opts *o, uint64_t seed)
{
	struct ustcp_config cfg;
	ustcp_config_default(&cfg);
	cfg.seed = seed;
	cfg.mtu = (uint16_t)o->mtu;
	if (cfg.max_sockbuf < o->buf)
		cfg.max_sockbuf = (uint32_t)o->buf;
	struct ustcp_stack *s = ustcp_stack_new(&cfg);
	if (!s)
		die("out of memory");
	return s;
}

static void setup(struct run *r, struct hook hooks[2])
{
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
	const char *ip[2] = {"10.0.0.3", "10.0.0.1"};
	r->sim = ustcp_sim_new(1);
	if (!r->sim)
		die("out of memory");
	if (r->o->offloads) {
		ustcp_sim_use_offloads(r->sim, USTCP_OFFLOAD_CSUM | USTCP_OFFLOAD_TSO);
		ustcp_sim_pass_offloaded(r->sim, true);
	}
	for (int i = 0; i < 2; i++) {
		r->st[i] = make_stack(r->o, 3 + (uint64_t)i);
		if (ustcp_sim_add_stack(r->sim, r->st[i], mac[i], inet_addr(ip[i])) < 0)
			die("cannot add a stack to the link");
		hooks[i] = (struct hook){r, i};
		ustcp_set_event_handler(r->st[i], on_event, &hooks[i]);
	}
	struct ustcp_endpoint bl = {.ip4 = ntohl(inet_addr(ip[B])), .port = PORT};
	if (ustcp_listen_on(r->st[B], bl, 8, &r->l) < 0 ||
	    ustcp_setsockopt(r->l, USTCP_SO_SNDBUF, r->o->buf) < 0 ||
	    ustcp_setsockopt(r->l, USTCP_SO_RCVBUF, r->o->buf) < 0 ||
	    ustcp_socket(r->st[A], &r->a) < 0 ||
	    ustcp_setsockopt(r->a, USTCP_SO_SNDBUF, r->o->buf) < 0 ||
	    ustcp_setsockopt(r->a, USTCP_SO_RCVBUF, r->o->buf) < 0)
		die("cannot open the sockets");
}

/* The measured part: connect to the end of stream read. */
__attribute__((noinline)) static void transfer(struct run *r)
{
	struct ustcp_endpoint bl = {.ip4 = ntohl(inet_addr("10.0.0.1")), .port = PORT};
	int rc = ustcp_connect(r->a, bl);
	if (rc < 0 && rc != -EINPROGRESS)
		die("connect failed");
	r->touched[A] = true;
	while (!pump(r) && ustcp_sim_step(r->sim))
		;
}

static void teardown(struct run *r)
{
	ustcp_close(r->a);
	if (r->b)
		ustcp_close(r->b);
	ustcp_close(r->l);
	ustcp_sim_run_until(r->sim, ustcp_sim_now(r->sim) + 300 * USTCP_NS_PER_SEC);
	ustcp_sim_free(r->sim);
	for (int i = 0; i < 2; i++)
		ustcp_stack_free(r->st[i]);
}

/* One transfer; returns its payload bits per CPU second. */
static double run_once(const struct opts *o, const uint8_t *src, uint8_t *dst)
{
	struct run r = {.o = o, .src = src, .dst = dst};
	struct hook hooks[2];
	setup(&r, hooks);
	double t0 = cpu_seconds();
	transfer(&r);
	double cpu = cpu_seconds() - t0;
	if (!r.eof || r.received != o->bytes)
		die("the transfer did not complete");
	uint64_t segs = ustcp_counter(r.st[A], USTCP_C_tcp_out);
	uint64_t acks = ustcp_counter(r.st[B], USTCP_C_tcp_out);
	uint64_t frames = ustcp_counter(r.st[B], USTCP_C_frames_in);
	double bps = (double)o->bytes * 8 / cpu;
	printf("mtu %u offloads %s zc %s bytes %llu cpu_s %.4f gbit_per_cpu_s %.3f segments %llu "
	       "frames_in %llu acks %llu\n",
	       o->mtu, o->offloads ? "on" : "off", o->zc ? "on" : "off",
	       (unsigned long long)o->bytes, cpu, bps / 1e9, (unsigned long long)segs,
	       (unsigned long long)frames, (unsigned long long)acks);
	teardown(&r);
	return bps;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static uint64_t parse_count(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mult = 1;
	if (*end == 'K')
		mult = 1024, end++;
	else if (*end == 'M')
		mult = MIB, end++;
	else if (*end == 'G')
		mult = 1024 * MIB, end++;
	if (errno || end == s || *end || v == 0)
		die("a count is a whole number, with K, M or G for powers of 1024");
	return v * mult;
}

int main(int argc, char **argv)
{
	struct opts o = {.mtu = 1500, .bytes = 1024 * MIB, .buf = 256 * 1024, .repeat = 1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(a, "--offloads"))
			o.offloads = true;
		else if (!strcmp(a, "--zc"))
			o.zc = true;
		else if (!strcmp(a, "--mtu") && more)
			o.mtu = (unsigned)parse_count(argv[++i]);
		else if (!strcmp(a, "--bytes") && more)
			o.bytes = parse_count(argv[++i]);
		else if (!strcmp(a, "--buf") && more)
			o.buf = parse_count(argv[++i]);
		else if (!strcmp(a, "--repeat") && more)
			o.repeat = (int)parse_count(argv[++i]);
		else
			die("usage: sim_path [--mtu N] [--bytes N] [--buf N] [--offloads] [--zc] "
			    "[--repeat N]");
	}
	if (o.mtu < 576 || o.mtu > 65535 || o.buf < 1024 || o.buf > 1024 * MIB || o.repeat > 99)
		die("--mtu 576..65535, --buf 1K..1G, --repeat up to 99");
	uint8_t *src = malloc(SEND_CHUNK), *dst = malloc(READ_CHUNK);
	if (!src || !dst)
		die("out of memory");
	memset(src, 0x5a, SEND_CHUNK);
	double bps[99];
	for (int i = 0; i < o.repeat; i++)
		bps[i] = run_once(&o, src, dst);
	if (o.repeat > 1) {
		qsort(bps, (size_t)o.repeat, sizeof(bps[0]), cmp_double);
		printf("median gbit_per_cpu_s %.3f (%.3f .. %.3f)\n", bps[o.repeat / 2] / 1e9,
		       bps[0] / 1e9, bps[o.repeat - 1] / 1e9);
	}
	free(src);
	free(dst);
	return 0;
}
