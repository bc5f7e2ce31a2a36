/* syncookie.c — how many spoofed SYNs one core of ustcp answers with SYN
 * cookies, in memory: no device, no system call, the stack alone.
 *
 *   syncookie [SYNS]     (default 2000000)
 *
 * A stack with one interface (whose driver counts frames and drops them)
 * and a listener that answers every SYN with a cookie (USTCP_TCP_SYNCOOKIES)
 * is fed SYNs from random sources of an off-link /16, each with the options
 * Linux sends (MSS, SACK-permitted, timestamps, window scale), the clock
 * moving 1 us a SYN. Prints the SYNs answered per CPU-second:
 *
 *   syncookie: SYNS syns, ANSWERED syn-acks, RATE per cpu-second
 *
 * For a repeatable figure, count instructions instead:
 *   valgrind --tool=callgrind --toggle-collect=feed syncookie 100000 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ustcp/ustcp.h"
#include "wire/wire.h"

#define PORT 7
#define NFRAMES 4096
#define FRAME_MAX (ETH_HLEN + IPV4_HLEN + 60)

static const uint8_t mac_us[6] = {2, 0, 0, 0, 0, 1}, mac_gw[6] = {2, 0, 0, 0, 0, 3};
static uint64_t answered;

static int count_frame(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	/* A SYN,ACK: TCP flags 0x12 after Ethernet and a 20-byte IPv4 header. */
	if (len >= ETH_HLEN + IPV4_HLEN + TCP_HLEN && frame[ETH_HLEN + IPV4_HLEN + 13] == 0x12)
		answered++;
	return 0;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t frames[NFRAMES][FRAME_MAX];
static size_t lens[NFRAMES];

static void build_frames(uint32_t dst)
{
	uint64_t r = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < NFRAMES; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		uint32_t src = 0x0a090000u | (uint32_t)(r & 0xfffe) | 1u;
		uint8_t *f = frames[i];
		struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
		memcpy(eh.dst, mac_us, 6);
		memcpy(eh.src, mac_gw, 6);
		eth_emit(&eh, f);
		struct tcp_hdr th = {.sport = (uint16_t)(1024 + (r >> 20) % 60000),
				     .dport = PORT,
				     .seq = (uint32_t)(r >> 32),
				     .flags = TCP_SYN,
				     .win = 64240,
				     .opts = {.present = TCP_OPT_MSS | TCP_OPT_SACK_PERM |
							 TCP_OPT_TIMESTAMP | TCP_OPT_WSCALE,
					      .mss = 1460,
					      .wscale = 7,
					      .ts_val = (uint32_t)r}};
		uint8_t *seg = f + ETH_HLEN + IPV4_HLEN;
		size_t hl = tcp_emit(&th, seg);
		tcp_checksum_set4(seg, hl, src, dst);
		struct ipv4_hdr ih = {.total_len = (uint16_t)(IPV4_HLEN + hl),
				      .ttl = 64,
				      .proto = IPPROTO_TCP_,
				      .src = src,
				      .dst = dst};
		ipv4_emit(&ih, f + ETH_HLEN);
		lens[i] = ETH_HLEN + IPV4_HLEN + hl;
	}
}

/* The measured loop (callgrind --toggle-collect=feed). */
void feed(struct ustcp_stack *s, uint64_t syns, uint64_t *now);
__attribute__((noinline)) void feed(struct ustcp_stack *s, uint64_t syns, uint64_t *now)
{
	for (uint64_t i = 0; i < syns; i++) {
		*now += 1000;
		ustcp_input(s, 0, frames[i % NFRAMES], lens[i % NFRAMES], *now);
	}
}

int main(int argc, char **argv)
{
	uint64_t syns = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	if (argc > 2 || syns == 0 || syns > 1000000000ull) {
		fprintf(stderr, "usage: syncookie [SYNS]   (1 .. 10^9)\n");
		return 2;
	}
	struct ustcp_config cfg;
	ustcp_config_default(&cfg);
	cfg.max_conns = 64;
	struct ustcp_stack *s = ustcp_stack_new(&cfg);
	if (!s)
		return 1;
	struct ustcp_iface_config ic = {.ip4 = inet_addr("10.0.0.1"),
					.prefix_len = 24,
					.gateway = inet_addr("10.0.0.3"),
					.transmit = count_frame};
	memcpy(ic.mac, mac_us, 6);
	int iface = ustcp_iface_add(s, &ic);
	struct ustcp_sock *l = NULL;
	struct ustcp_endpoint ep = {.ip4 = ntohl(ic.ip4), .port = PORT};
	if (iface < 0 || ustcp_neigh_add(s, iface, ic.gateway, mac_gw) < 0 ||
	    ustcp_listen_on(s, ep, 128, &l) < 0 ||
	    ustcp_setsockopt(l, USTCP_TCP_SYNCOOKIES, 1) < 0) {
		fprintf(stderr, "syncookie: cannot set up the stack\n");
		return 1;
	}
	build_frames(ntohl(ic.ip4));
	uint64_t now = 1000000000ull;
	feed(s, NFRAMES, &now); /* warm the caches */
	answered = 0;
	double t0 = cpu_seconds();
	feed(s, syns, &now);
	double cpu = cpu_seconds() - t0;
	printf("syncookie: %llu syns, %llu syn-acks, %.0f per cpu-second\n",
	       (unsigned long long)syns, (unsigned long long)answered,
	       cpu > 0 ? (double)answered / cpu : 0.0);
	ustcp_close(l);
	ustcp_stack_free(s);
	return answered == syns ? 0 : 1;
}
