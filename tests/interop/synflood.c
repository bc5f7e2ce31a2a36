/* synflood.c — the two sides of a SYN-flood test (RFC 4987) on a TAP link.
 *
 *   synflood flood IFACE DST_MAC DST_IP PORT SRC_NET SECONDS [RATE]
 *     writes TCP SYNs with spoofed sources (random addresses of the /16
 *     SRC_NET, random ports and ISNs, valid checksums) onto IFACE through an
 *     AF_PACKET socket, addressed to DST_MAC and DST_IP:PORT, as fast as it
 *     can (or at most RATE a second) for SECONDS, then prints how many it
 *     wrote and at what rate. Frames the device refused (its queue full) are
 *     counted apart.
 *
 *   synflood connect HOST PORT COUNT SECONDS
 *     opens COUNT kernel TCP connections to an echo service, one after
 *     another, paced evenly over SECONDS: each connects, sends 32 bytes and
 *     waits for them back. Prints how many finished within 1 s, the median
 *     and the slowest; exits 0 when at least 99% did, 1 otherwise.
 *
 * Every loop is bounded in count and time. Exit status 2: bad usage or a
 * system call that failed. */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME_LEN (14 + 20 + 24) /* Ethernet, IPv4, TCP with an MSS option */
#define MAX_FRAMES 100000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: synflood flood IFACE DST_MAC DST_IP PORT SRC_NET SECONDS [RATE]\n"
			"       synflood connect HOST PORT COUNT SECONDS\n");
	return 2;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* One SYN from a random source of src_net/16 into f. */
static void make_syn(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
		     uint32_t src_net, uint32_t dst, uint16_t port)
{
	uint64_t r = rng();
	uint32_t src = (src_net & 0xffff0000u) | (uint32_t)(r & 0xffff);
	if ((src & 0xffff) == 0 || (src & 0xffff) == 0xffff)
		src ^= 1;
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	put16(f + 12, ETHERTYPE_IP);
	uint8_t *ip = f + 14, *th = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 24);
	put16(ip + 4, (uint16_t)(r >> 16));
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	put16(th, (uint16_t)(1024 + ((r >> 32) % 60000)));
	put16(th + 2, port);
	put32(th + 4, (uint32_t)(r >> 24));
	th[12] = 6 << 4; /* 24 bytes of header */
	th[13] = 0x02;   /* SYN */
	put16(th + 14, 64240);
	th[20] = 2; /* MSS 1460 */
	th[21] = 4;
	put16(th + 22, 1460);
	uint32_t pseudo =
		(src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + IPPROTO_TCP + 24;
	put16(th + 16, fold(sum16(th, 24, pseudo)));
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int iface_mac(const char *ifname, uint8_t mac[6])
{
	char path[128], line[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -1;
	bool ok = fgets(line, sizeof(line), fp) && parse_mac(line, mac) == 0;
	fclose(fp);
	return ok ? 0 : -1;
}

static int flood(int argc, char **argv)
{
	if (argc < 8 || argc > 9)
		return usage();
	const char *ifname = argv[2];
	uint8_t dst_mac[6], src_mac[6];
	struct in_addr dst, net;
	char *end;
	long port = strtol(argv[5], &end, 10);
	double secs = strtod(argv[7], NULL);
	double rate = argc == 9 ? strtod(argv[8], NULL) : 0;
	if (parse_mac(argv[3], dst_mac) < 0 || inet_pton(AF_INET, argv[4], &dst) != 1 ||
	    inet_pton(AF_INET, argv[6], &net) != 1 || *end || port < 1 || port > 65535 ||
	    secs <= 0 || secs > 600 || rate < 0) {
		fprintf(stderr, "synflood: bad arguments\n");
		return usage();
	}
	if (iface_mac(ifname, src_mac) < 0) {
		fprintf(stderr, "synflood: no interface %s\n", ifname);
		return 2;
	}
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("synflood: AF_PACKET socket");
		return 2;
	}
	int one = 1;
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_ifindex = (int)if_nametoindex(ifname),
				  .sll_halen = 6};
	memcpy(sll.sll_addr, dst_mac, 6);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("synflood: bind");
		close(fd);
		return 2;
	}
	rng_state ^= now_ns();
	static uint8_t frames[BATCH][FRAME_LEN];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){frames[i], FRAME_LEN};
		msg[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	uint64_t t0 = now_ns(), limit = (uint64_t)(secs * 1e9), sent = 0, refused = 0, t;
	while ((t = now_ns() - t0) < limit && sent + refused < MAX_FRAMES) {
		if (rate > 0 && (double)(sent + refused) > rate * (double)t / 1e9) {
			struct timespec nap = {0, 20000};
			nanosleep(&nap, NULL);
			continue;
		}
		for (int i = 0; i < BATCH; i++)
			make_syn(frames[i], dst_mac, src_mac, ntohl(net.s_addr), ntohl(dst.s_addr),
				 (uint16_t)port);
		int n = sendmmsg(fd, msg, BATCH, 0);
		if (n < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				perror("synflood: sendmmsg");
				close(fd);
				return 2;
			}
			refused += BATCH;
			continue;
		}
		sent += (uint64_t)n;
		refused += (uint64_t)(BATCH - n);
	}
	double el = (double)(now_ns() - t0) / 1e9;
	close(fd);
	printf("flood: %llu SYNs written in %.2f s: %.0f SYN/s (%llu refused by the device)\n",
	       (unsigned long long)sent, el, (double)sent / el, (unsigned long long)refused);
	return 0;
}

/* Wait for fd to be ready for events until deadline (ns); false on timeout. */
static bool wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return false;
		struct pollfd p = {.fd = fd, .events = events};
		int ms = (int)((deadline - now) / 1000000) + 1;
		int r = poll(&p, 1, ms);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* One connection: connect, 32 bytes out and back. Its duration in ns, or 0
 * when it failed (within 5 s). */
static uint64_t one_conn(const struct sockaddr_in *to, unsigned id)
{
	uint64_t t0 = now_ns(), deadline = t0 + 5000000000ull;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	char out[40], in[32];
	snprintf(out, sizeof(out), "connection %10u, hello echo!", id);
	size_t got = 0;
	int err = 0;
	socklen_t el = sizeof(err);
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EINPROGRESS)
		goto fail;
	if (!wait_fd(fd, POLLOUT, deadline) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
		goto fail;
	if (send(fd, out, sizeof(in), MSG_NOSIGNAL) != (ssize_t)sizeof(in))
		goto fail;
	while (got < sizeof(in)) {
		if (!wait_fd(fd, POLLIN, deadline))
			goto fail;
		ssize_t r = recv(fd, in + got, sizeof(in) - got, 0);
		if (r <= 0)
			goto fail;
		got += (size_t)r;
	}
	if (memcmp(in, out, sizeof(in)) != 0)
		goto fail;
	close(fd);
	return now_ns() - t0;
fail:
	close(fd);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int connect_many(int argc, char **argv)
{
	if (argc != 6)
		return usage();
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
	long count = strtol(argv[4], NULL, 10);
	double secs = strtod(argv[5], NULL);
	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 || !to.sin_port || count < 1 ||
	    count > 100000 || secs <= 0 || secs > 600) {
		fprintf(stderr, "synflood: bad arguments\n");
		return usage();
	}
	uint64_t *took = calloc((size_t)count, sizeof(*took));
	if (!took)
		return 2;
	uint64_t t0 = now_ns(), gap = (uint64_t)(secs * 1e9 / (double)count);
	long within = 0, failed = 0;
	for (long i = 0; i < count; i++) {
		uint64_t at = t0 + (uint64_t)i * gap, now = now_ns();
		if (at > now) {
			uint64_t d = at - now;
			struct timespec nap = {(time_t)(d / 1000000000ull),
					       (long)(d % 1000000000ull)};
			nanosleep(&nap, NULL);
		}
		took[i] = one_conn(&to, (unsigned)i);
		if (!took[i]) {
			failed++;
			took[i] = UINT64_MAX;
		} else if (took[i] <= 1000000000ull) {
			within++;
		}
	}
	qsort(took, (size_t)count, sizeof(*took), cmp_u64);
	uint64_t med = took[count / 2], worst = took[count - 1];
	printf("connect: %ld of %ld within 1 s (%ld failed); median %.2f ms, slowest %s%.2f ms\n",
	       within, count, failed, med == UINT64_MAX ? -1.0 : (double)med / 1e6,
	       worst == UINT64_MAX ? "(failed) " : "",
	       worst == UINT64_MAX ? 0.0 : (double)worst / 1e6);
	free(took);
	return within * 100 >= count * 99 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "flood"))
		return flood(argc, argv);
	if (!strcmp(argv[1], "connect"))
		return connect_many(argc, argv);
	return usage();
}
