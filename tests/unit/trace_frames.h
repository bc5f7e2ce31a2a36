/* trace_frames.h — frames for the tests of reading captures back: a TCP
 * segment in an IPv4 or IPv6 packet, built with wire/'s emitters, behind
 * any of the link headers a capture may put before it. */
#ifndef USTCP_TEST_TRACE_FRAMES_H
#define USTCP_TEST_TRACE_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ustcp/trace.h"
#include "wire/wire.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* A segment: the header (options in th->opts) and dlen bytes of "abc...". */
static inline size_t put_segment(uint8_t *buf, const struct tcp_hdr *th, size_t dlen)
{
	size_t n = tcp_emit(th, buf);

	for (size_t i = 0; i < dlen; i++)
		buf[n + i] = (uint8_t)('a' + i % 26);
	return n + dlen;
}

/* The segment in an IPv4 packet from src to dst (host order). */
static inline size_t ipv4_segment(uint8_t *buf, uint32_t src, uint32_t dst,
				  const struct tcp_hdr *th, size_t dlen)
{
	size_t n = put_segment(buf + IPV4_HLEN, th, dlen);
	struct ipv4_hdr ip = {.total_len = (uint16_t)(IPV4_HLEN + n),
			      .frag = IPV4_DF,
			      .ttl = 64,
			      .proto = IPPROTO_TCP_,
			      .src = src,
			      .dst = dst};

	return ipv4_emit(&ip, buf) + n;
}

/* The segment in an IPv6 packet. */
static inline size_t ipv6_segment(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16],
				  const struct tcp_hdr *th, size_t dlen)
{
	size_t n = put_segment(buf + IPV6_HLEN, th, dlen);
	struct ipv6_hdr ip = {
		.payload_len = (uint16_t)n, .next_hdr = IPPROTO_TCP_, .hop_limit = 64};

	memcpy(ip.src, src, 16);
	memcpy(ip.dst, dst, 16);
	return ipv6_emit(&ip, buf) + n;
}

/* A packet of the given EtherType behind the link header of `link`. */
static inline size_t link_frame(uint8_t *buf, enum ustcp_link link, uint16_t type,
				const uint8_t *pkt, size_t len)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 3};
	size_t h = 0;

	switch (link) {
	case USTCP_LINK_ETHERNET: {
		struct eth_hdr eh = {.dst = {2, 0, 0, 0, 0, 1}, .type = type};
		memcpy(eh.src, mac, 6);
		h = eth_emit(&eh, buf);
		break;
	}
	case USTCP_LINK_IP:
		break;
	case USTCP_LINK_SLL: /* packet type 4 (sent by us), ARPHRD_ETHER, the MAC */
		memset(buf, 0, 16);
		wr16(buf, 4);
		wr16(buf + 2, 1);
		wr16(buf + 4, 6);
		memcpy(buf + 6, mac, 6);
		wr16(buf + 14, type);
		h = 16;
		break;
	case USTCP_LINK_SLL2: /* the same, and interface 7 */
		memset(buf, 0, 20);
		wr16(buf, type);
		wr32(buf + 4, 7);
		wr16(buf + 8, 1);
		buf[10] = 4;
		buf[11] = 6;
		memcpy(buf + 12, mac, 6);
		h = 20;
		break;
	}
	memcpy(buf + h, pkt, len);
	return h + len;
}

#endif
