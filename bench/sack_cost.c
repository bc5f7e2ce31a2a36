/* sack_cost.c — what the worst SACK pattern a receiver can send costs the
 * sender, per ACK, as its window grows.
 *
 *   sack_cost [MIB...]     (default: 1 8 64)
 *
 * For each window: A connects to B on the simulated link, B goes silent
 * (every frame is dropped from then on) and A sends a whole window of
 * full segments. Then ACKs of the worst pattern (sack_pattern.h: four
 * blocks of one segment, every other segment, from the top of the window
 * down) are injected into A as B would send them. The ACKs down to the last
 * ACKS_MEASURED segments' worth set this up; those last ones are timed
 * (measure_acks). Loss detection, recovery and retransmissions (into the
 * void) run as they would.
 *
 * Per-ACK CPU must not grow with the window. The wall-clock figure is
 * noisy; for a repeatable one, count instructions in measure_acks alone:
 *   valgrind --tool=callgrind --toggle-collect=measure_acks sack_cost 64
 * and divide by the ACK count printed (scripts/bench.sh does this). */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sack_pattern.h"
#include "tcp/tcp_conn.h" /* to open the sender's window at once */
#include "ustcp/ustcp.h"
#include "wire/wire.h"

#define A 0
#define B 1
#define PORT 5201
#define MIB (1024u * 1024u)
#define BLOCKS SACK_PATTERN_BLOCKS
#define ACKS_MEASURED 32 /* ACKs timed per window */
#define MS USTCP_NS_PER_MS

struct bench {
	struct ustcp_sim *sim;
	struct ustcp_stack *st[2];
	bool silent; /* drop every frame */
	struct ustcp_sock *a, *b;
};

static bool drop_when_silent(void *ctx, int port, const uint8_t *frame, size_t len)
{
	(void)port, (void)frame, (void)len;
	return ((struct bench *)ctx)->silent;
}

static void die(const char *what)
{
	fprintf(stderr, "sack_cost: %s\n", what);
	exit(1);
}

static uint64_t now_of(const struct bench *k) { return ustcp_sim_now(k->sim); }

static void run_for(struct bench *k, uint64_t dt) { ustcp_sim_run_until(k->sim, now_of(k) + dt); }

/* A and B connected, A with a send buffer of `window` bytes, B silent. */
static void setup(struct bench *k, uint32_t window)
{
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
	const char *ip[2] = {"10.0.0.3", "10.0.0.1"};
	memset(k, 0, sizeof(*k));
	k->sim = ustcp_sim_new(1);
	for (int i = 0; i < 2; i++) {
		struct ustcp_config cfg;
		ustcp_config_default(&cfg);
		cfg.seed = (uint64_t)i + 1;
		cfg.timestamps = 0; /* room for four SACK blocks */
		cfg.sndbuf = cfg.rcvbuf = window;
		k->st[i] = ustcp_stack_new(&cfg);
		if (!k->st[i])
			die("ustcp_stack_new failed");
		int port = ustcp_sim_add_stack(k->sim, k->st[i], mac[i], inet_addr(ip[i]));
		struct ustcp_impair imp = {.delay = 1 * MS};
		ustcp_sim_set_impair(k->sim, port, &imp);
	}
	ustcp_sim_set_filter(k->sim, drop_when_silent, k);
	struct ustcp_sock *l;
	struct ustcp_endpoint any = {.port = 0},
			      lb = {.ip4 = ntohl(inet_addr(ip[B])), .port = PORT};
	if (ustcp_listen_on(k->st[B], lb, 4, &l) < 0 ||
	    ustcp_connect_to(k->st[A], any, lb, &k->a) < 0)
		die("cannot connect");
	for (int i = 0; i < 100 && !k->b; i++) {
		run_for(k, 1 * MS);
		ustcp_accept(l, &k->b);
	}
	if (!k->b)
		die("no connection");
	/* A round trip of data gives A an RTT. */
	if (ustcp_send(k->a, "x", 1) != 1)
		die("send failed");
	run_for(k, 100 * MS);
	k->silent = true;
	/* Skip slow start: the window is open from the first segment. */
	k->a->cwnd = k->a->ssthresh = window;
	k->a->snd_wnd = window;
	static uint8_t buf[1 << 16];
	for (uint32_t sent = 0; sent < window;) {
		long r = ustcp_send(k->a, buf, MIN(sizeof(buf), (size_t)(window - sent)));
		if (r <= 0)
			break;
		sent += (uint32_t)r;
	}
	run_for(k, 10 * MS);
}

/* One ACK of the pattern from B to A, as a frame on A's interface. */
static void sack_ack(struct bench *k, uint32_t una, uint32_t mss, int top)
{
	struct tcp_hdr th = sack_pattern_ack(k->a, una, mss, top);
	uint8_t f[ETH_HLEN + IPV4_HLEN + 60];
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 3}, mac_b[6] = {2, 0, 0, 0, 0, 1};
	memcpy(eh.dst, mac_a, 6);
	memcpy(eh.src, mac_b, 6);
	eth_emit(&eh, f);
	uint8_t *seg = f + ETH_HLEN + IPV4_HLEN;
	size_t hl = tcp_emit(&th, seg);
	uint32_t src = ntohl(inet_addr("10.0.0.1")), dst = ntohl(inet_addr("10.0.0.3"));
	tcp_checksum_set4(seg, hl, src, dst);
	struct ipv4_hdr ih = {.total_len = (uint16_t)(IPV4_HLEN + hl),
			      .ttl = 64,
			      .proto = IPPROTO_TCP_,
			      .src = src,
			      .dst = dst};
	ipv4_emit(&ih, f + ETH_HLEN);
	ustcp_input(k->st[A], 0, f, ETH_HLEN + IPV4_HLEN + hl, now_of(k));
}

/* The timed ACKs: callgrind counts this function alone (--toggle-collect). */
__attribute__((noinline)) static void measure_acks(struct bench *k, uint32_t una, uint32_t mss,
						   int *top, int acks)
{
	for (int i = 0; i < acks; i++) {
		sack_ack(k, una, mss, *top);
		*top -= 2 * BLOCKS;
	}
}

static double ns_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e9 + (double)(t1.tv_nsec - t0->tv_nsec);
}

static void one_window(uint32_t mib)
{
	struct bench k;
	setup(&k, mib * MIB);
	struct ustcp_sock_info i;
	ustcp_sock_info(k.a, &i);
	uint32_t una = i.snd_una, mss = i.snd_mss;
	int segs = (int)((i.snd_max - i.snd_una) / mss);
	int measured = ACKS_MEASURED * BLOCKS * 2; /* segments the timed ACKs cover */
	if (segs < measured + 2 * BLOCKS)
		die("window too small for the pattern");
	/* Odd segments from the top down, until the timed ACKs' share is left. */
	int top = segs - 1 - !(segs % 2);
	while (top - 2 * BLOCKS >= measured) {
		sack_ack(&k, una, mss, top);
		top -= 2 * BLOCKS;
		run_for(&k, 0);
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	measure_acks(&k, una, mss, &top, ACKS_MEASURED);
	double ns = ns_since(&t0);
	ustcp_sock_info(k.a, &i);
	printf("window %3u MiB: %6d segments outstanding, %d ACKs of %d SACK blocks timed: "
	       "%9.0f ns/ACK (%u retransmits in all)\n",
	       mib, segs, ACKS_MEASURED, BLOCKS, ns / ACKS_MEASURED, i.retransmits);
	ustcp_abort(k.a);
	ustcp_abort(k.b);
	ustcp_sim_free(k.sim);
	ustcp_stack_free(k.st[A]);
	ustcp_stack_free(k.st[B]);
}

int main(int argc, char **argv)
{
	static const uint32_t dflt[] = {1, 8, 64};
	int n = argc > 1 ? argc - 1 : 3;
	for (int i = 0; i < n; i++) {
		uint32_t mib = argc > 1 ? (uint32_t)strtoul(argv[i + 1], NULL, 10) : dflt[i];
		if (mib < 1 || mib > 1024)
			die("a window is 1 to 1024 MiB");
		one_window(mib);
	}
	return 0;
}
