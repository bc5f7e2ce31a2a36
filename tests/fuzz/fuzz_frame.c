/* fuzz_frame.c — libFuzzer target: arbitrary frames into a live stack.
 *
 * The input is a sequence of records. Each record's first byte says what
 * to do with the bytes that follow (length in the second byte):
 *   bit 0 clear: deliver them as a raw Ethernet frame;
 *   bit 0 set:   wrap them as a TCP segment from 10.0.0.3 to 10.0.0.1 in
 *                valid Ethernet and IPv4 headers with a correct checksum,
 *                so the fuzzer reaches every TCP state, not just the parser;
 *                with bit 1 also set, from fd00::3 to fd00::1 over IPv6;
 *   bits 2-7:    milliseconds of time to pass first (timers fire).
 * The stack listens on port 80 (both families) and has active connections
 * to port 7 over IPv4 and IPv6; tests/fuzz/corpus/fuzz_frame holds seeds;
 * the user side reads everything, writes a little, and sometimes closes.
 * Invariants: no crash, no sanitizer report, and every pool empty after
 * the stack has been run past every timer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "ustcp/ustcp.h"
#include "wire/wire.h"

static int sink(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	(void)frame;
	(void)len;
	return 0;
}

static const uint8_t mac_us[6] = {2, 0, 0, 0, 0, 1}, mac_peer[6] = {2, 0, 0, 0, 0, 3};

static const uint8_t ip6_us[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		     ip6_peer[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};

static size_t wrap_tcp6(uint8_t *f, const uint8_t *seg, size_t len)
{
	struct eth_hdr eh = {.type = ETHERTYPE_IPV6};
	memcpy(eh.dst, mac_us, 6);
	memcpy(eh.src, mac_peer, 6);
	eth_emit(&eh, f);
	uint8_t *t = f + ETH_HLEN + IPV6_HLEN;
	memcpy(t, seg, len);
	if (len >= TCP_HLEN) {
		wr16(t + 16, 0);
		tcp_checksum_set6(t, len, ip6_peer, ip6_us);
	}
	struct ipv6_hdr ih = {
		.payload_len = (uint16_t)len, .next_hdr = IPPROTO_TCP_, .hop_limit = 64};
	memcpy(ih.src, ip6_peer, 16);
	memcpy(ih.dst, ip6_us, 16);
	ipv6_emit(&ih, f + ETH_HLEN);
	return ETH_HLEN + IPV6_HLEN + len;
}

static size_t wrap_tcp(uint8_t *f, const uint8_t *seg, size_t len)
{
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	memcpy(eh.dst, mac_us, 6);
	memcpy(eh.src, mac_peer, 6);
	eth_emit(&eh, f);
	uint8_t *t = f + ETH_HLEN + IPV4_HLEN;
	memcpy(t, seg, len);
	uint32_t src = 0x0a000003, dst = 0x0a000001;
	if (len >= TCP_HLEN) {
		wr16(t + 16, 0);
		tcp_checksum_set4(t, len, src, dst);
	}
	struct ipv4_hdr ih = {.total_len = (uint16_t)(IPV4_HLEN + len),
			      .ttl = 64,
			      .proto = IPPROTO_TCP_,
			      .src = src,
			      .dst = dst};
	ipv4_emit(&ih, f + ETH_HLEN);
	return ETH_HLEN + IPV4_HLEN + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ustcp_config cfg;
	ustcp_config_default(&cfg);
	cfg.max_conns = 16;
	cfg.conn_hash_size = 16;
	cfg.sndbuf = cfg.rcvbuf = 4096;
	cfg.msl = 2 * USTCP_NS_PER_SEC;
	struct ustcp_stack *s = ustcp_stack_new(&cfg);
	if (!s)
		abort();
	struct ustcp_iface_config ic = {.ip4 = inet_addr("10.0.0.1"),
					.prefix_len = 24,
					.prefix6_len = 64,
					.transmit = sink};
	memcpy(ic.mac, mac_us, 6);
	memcpy(ic.ip6, ip6_us, 16);
	ustcp_iface_add(s, &ic);
	ustcp_neigh_add(s, 0, inet_addr("10.0.0.3"), mac_peer);
	ustcp_neigh_add6(s, 0, ip6_peer, mac_peer);
	struct ustcp_sock *l = NULL, *k = NULL, *k6 = NULL, *acc = NULL;
	struct ustcp_endpoint any80 = {.ip4 = 0, .port = 80},
			      peer7 = {.ip4 = ntohl(inet_addr("10.0.0.3")), .port = 7},
			      peer7v6 = {.port = 7, .v6 = 1};
	memcpy(peer7v6.ip6, ip6_peer, 16);
	ustcp_listen_on(s, any80, 4, &l);
	ustcp_connect_to(s, (struct ustcp_endpoint){.ip4 = 0, .port = 40000}, peer7, &k);
	ustcp_connect_to(s, (struct ustcp_endpoint){.ip4 = 0, .port = 40000}, peer7v6, &k6);

	uint64_t now = 0;
	uint8_t frame[1600], buf[512];
	size_t i = 0;
	while (i + 2 <= size) {
		uint8_t op = data[i], len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = (uint8_t)(size - i);
		now += (uint64_t)(op >> 2) * USTCP_NS_PER_MS;
		ustcp_stack_poll(s, now);
		if ((op & 3) == 3)
			ustcp_input(s, 0, frame, wrap_tcp6(frame, data + i, len), now);
		else if (op & 1)
			ustcp_input(s, 0, frame, wrap_tcp(frame, data + i, len), now);
		else
			ustcp_input(s, 0, data + i, len, now);
		i += len;
		if (!acc && l)
			ustcp_accept(l, &acc);
		struct ustcp_sock *socks[3] = {k, k6, acc};
		for (int j = 0; j < 3; j++) {
			if (!socks[j])
				continue;
			while (ustcp_recv(socks[j], buf, sizeof(buf)) > 0)
				;
			ustcp_send(socks[j], "data", 4);
		}
		if ((op & 0xf0) == 0xf0 && acc) {
			ustcp_close(acc);
			acc = NULL;
		}
	}
	if (acc)
		ustcp_close(acc);
	if (k)
		ustcp_abort(k);
	if (k6)
		ustcp_abort(k6);
	if (l)
		ustcp_close(l);
	/* Run past every timer: retransmissions give up, TIME-WAIT ends. */
	for (int n = 0; n < 1000 && ustcp_next_deadline(s) != UINT64_MAX; n++) {
		now = ustcp_next_deadline(s) > now ? ustcp_next_deadline(s) : now + 1;
		ustcp_stack_poll(s, now);
	}
	struct ustcp_pool_usage u;
	ustcp_pool_usage(s, &u);
	if (u.conns != 0 || u.buffer_bytes != 0 || u.timers != 0)
		abort();
	ustcp_stack_free(s);
	return 0;
}
