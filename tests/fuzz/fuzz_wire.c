/* fuzz_wire.c — libFuzzer target: every wire parser over arbitrary bytes, read
 * as an Ethernet frame and, at a few offsets, as a bare IPv4, IPv6, TCP, ICMP
 * or ARP header. Invariants are checked with abort():
 *  - a parser never claims more bytes than it was given;
 *  - errors are negative enum wire_err values;
 *  - tcp_parse -> tcp_emit -> tcp_parse gives the same header and options;
 *  - other headers survive parse -> emit -> parse;
 *  - a checksum stored into a buffer verifies, and csum_add agrees with a
 *    plain 16-bit sum. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../wire_ref.h"
#include "wire/wire.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static const uint8_t addr_a[16] = {0xfe, 0x80, [15] = 1};
static const uint8_t addr_b[16] = {0xfe, 0x80, [14] = 0x12, [15] = 2};

/* Each parser gets an exact-size heap copy, so ASan sees any read past len
 * even when the bytes come from the middle of the input. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	CHECK(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

static void check_result(int r, size_t len)
{
	if (r < 0)
		CHECK(r > -WIRE_ERR_COUNT && wire_strerror(r)[0] != '\0');
	else
		CHECK((size_t)r <= len);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void fuzz_checksum(const uint8_t *d, size_t len)
{
	uint8_t *b = dup_exact(d, len);
	size_t at, split;
	uint16_t c, old, neu;

	CHECK(stored(inet_checksum(b, len)) == ref_checksum(b, len));
	if (len > 1)
		CHECK(stored(inet_checksum(b + 1, len - 1)) == ref_checksum(b + 1, len - 1));
	/* Any even split of the sum gives the same result. */
	split = len ? (size_t)(d[0] * 2u) % (len + 1) & ~(size_t)1 : 0;
	CHECK(csum_fold(csum_add(csum_add(0, b, split), b + split, len - split)) ==
	      inet_checksum(b, len));
	if (len >= 2) {
		/* Insert the checksum at an even offset: the buffer then verifies. */
		at = (size_t)(d[len - 1] * 2u) % (len & ~(size_t)1);
		b[at] = 0;
		b[at + 1] = 0;
		c = inet_checksum(b, len);
		memcpy(b + at, &c, 2);
		CHECK(inet_checksum(b, len) == 0);
		/* RFC 1624: change another word and update incrementally. */
		if (len >= 4) {
			size_t w = (at + 2) % (len & ~(size_t)1);

			if (w != at) {
				memcpy(&old, b + w, 2);
				neu = (uint16_t)(old ^ 0x5a3c);
				memcpy(b + w, &neu, 2);
				c = csum_update16(c, old, neu);
				memcpy(b + at, &c, 2);
				/* Data summing to +0 (all zero) is the one case eqn. 3
				 * cannot tell from -0 (RFC 1624 §3): it gives 0x0000
				 * where a full sum gives 0xffff. */
				CHECK(inet_checksum(b, len) == 0 || all_zero(b, len));
			}
		}
	}
	free(b);
}

static bool tcp_equal(const struct tcp_hdr *a, const struct tcp_hdr *b)
{
	const struct tcp_opts *x = &a->opts, *y = &b->opts;

	if (a->sport != b->sport || a->dport != b->dport || a->seq != b->seq || a->ack != b->ack ||
	    a->flags != b->flags || a->win != b->win || a->csum != b->csum || a->urp != b->urp ||
	    x->present != y->present)
		return false;
	if ((x->present & TCP_OPT_MSS) && x->mss != y->mss)
		return false;
	if ((x->present & TCP_OPT_WSCALE) && x->wscale != y->wscale)
		return false;
	if ((x->present & TCP_OPT_TIMESTAMP) && (x->ts_val != y->ts_val || x->ts_ecr != y->ts_ecr))
		return false;
	if (x->present & TCP_OPT_SACK) {
		if (x->nsack != y->nsack || x->nsack < 1 || x->nsack > TCP_MAX_SACK)
			return false;
		for (unsigned i = 0; i < x->nsack; i++)
			if (x->sack[i].left != y->sack[i].left ||
			    x->sack[i].right != y->sack[i].right)
				return false;
	}
	if (x->present & TCP_OPT_FASTOPEN) {
		if (x->fastopen_len != y->fastopen_len || x->fastopen_len > TCP_FASTOPEN_MAX ||
		    memcmp(x->fastopen, y->fastopen, x->fastopen_len) != 0)
			return false;
	}
	return true;
}

static void fuzz_tcp(const uint8_t *d, size_t len)
{
	uint8_t *b = dup_exact(d, len);
	uint8_t out[TCP_MAX_HLEN], out2[TCP_MAX_HLEN];
	struct tcp_hdr h, h2;
	size_t n;
	int r = tcp_parse(b, len, &h);

	check_result(r, len);
	free(b);
	if (r < 0)
		return;
	CHECK(r >= TCP_HLEN && r <= TCP_MAX_HLEN && r == h.hlen);
	n = tcp_emit(&h, out);
	CHECK(n >= TCP_HLEN && n <= TCP_MAX_HLEN && n % 4 == 0);
	CHECK(n - TCP_HLEN == tcp_opts_len(&h.opts));
	b = dup_exact(out, n);
	CHECK(tcp_parse(b, n, &h2) == (int)n);
	free(b);
	CHECK(h2.hlen == n);
	CHECK(tcp_equal(&h, &h2));
	/* Emitting the reparsed header gives the same bytes again. */
	CHECK(tcp_emit(&h2, out2) == n);
	CHECK(memcmp(out, out2, n) == 0);
}

static void fuzz_tcp4(const uint8_t *d, size_t len, uint32_t src, uint32_t dst)
{
	uint8_t *b;

	fuzz_tcp(d, len);
	if (len < TCP_HLEN || len > 0xffff)
		return;
	b = dup_exact(d, len);
	(void)tcp_checksum_ok4(b, len, src, dst);
	tcp_checksum_set4(b, len, src, dst);
	CHECK(tcp_checksum_ok4(b, len, src, dst));
	free(b);
}

static void fuzz_tcp6(const uint8_t *d, size_t len, const uint8_t *src, const uint8_t *dst)
{
	uint8_t *b;

	fuzz_tcp(d, len);
	if (len < TCP_HLEN)
		return;
	b = dup_exact(d, len);
	(void)tcp_checksum_ok6(b, len, src, dst);
	tcp_checksum_set6(b, len, src, dst);
	CHECK(tcp_checksum_ok6(b, len, src, dst));
	free(b);
}

static void fuzz_icmp4(const uint8_t *d, size_t len)
{
	uint8_t *b = dup_exact(d, len);
	struct icmp_hdr h, h2;
	int r = icmp4_parse(b, len, &h);

	check_result(r, len);
	if (r >= 0)
		CHECK(r == ICMP_HLEN);
	if (len >= ICMP_HLEN) {
		/* Whatever the bytes, an emitted message verifies and reads back. */
		h.type = b[0];
		h.code = b[1];
		h.rest = rd32(b + 4);
		CHECK(icmp4_emit(&h, b, len) == ICMP_HLEN);
		CHECK(icmp4_parse(b, len, &h2) == ICMP_HLEN);
		CHECK(h2.type == h.type && h2.code == h.code && h2.rest == h.rest);
	}
	free(b);
}

static void fuzz_icmp6(const uint8_t *d, size_t len, const uint8_t *src, const uint8_t *dst)
{
	uint8_t *b = dup_exact(d, len);
	struct icmp_hdr h, h2;
	int r = icmp6_parse(b, len, src, dst, &h);

	check_result(r, len);
	if (len >= ICMP_HLEN) {
		h.type = b[0];
		h.code = b[1];
		h.rest = rd32(b + 4);
		CHECK(icmp6_emit(&h, b, len, src, dst) == ICMP_HLEN);
		CHECK(icmp6_parse(b, len, src, dst, &h2) == ICMP_HLEN);
		CHECK(h2.type == h.type && h2.code == h.code && h2.rest == h.rest);
	}
	free(b);
}

static void fuzz_arp(const uint8_t *d, size_t len)
{
	uint8_t *b = dup_exact(d, len);
	uint8_t out[ARP_LEN];
	struct arp_pkt p;
	int r = arp_parse(b, len, &p);

	check_result(r, len);
	if (r >= 0) {
		CHECK(r == ARP_LEN);
		CHECK(arp_emit(&p, out) == ARP_LEN);
		CHECK(memcmp(out, b, ARP_LEN) == 0);
	}
	free(b);
}

static void fuzz_ipv4(const uint8_t *d, size_t len)
{
	uint8_t *b = dup_exact(d, len);
	struct ipv4_hdr h, h2;
	int r = ipv4_parse(b, len, &h);

	check_result(r, len);
	free(b);
	if (r < 0)
		return;
	CHECK(r == h.hlen && h.hlen >= IPV4_HLEN && h.hlen <= 60);
	CHECK(h.hlen <= h.total_len && h.total_len <= len);
	/* The emitted 20-byte header over the same payload reads back the same. */
	b = dup_exact(d, len);
	CHECK(ipv4_emit(&h, b) == IPV4_HLEN);
	CHECK(ipv4_parse(b, h.total_len, &h2) == IPV4_HLEN);
	CHECK(h2.tos == h.tos && h2.total_len == h.total_len && h2.id == h.id &&
	      h2.frag == h.frag && h2.ttl == h.ttl && h2.proto == h.proto && h2.src == h.src &&
	      h2.dst == h.dst);
	free(b);

	if (h.proto == IPPROTO_TCP_)
		fuzz_tcp4(d + h.hlen, h.total_len - h.hlen, h.src, h.dst);
	else if (h.proto == IPPROTO_ICMP_)
		fuzz_icmp4(d + h.hlen, h.total_len - h.hlen);
}

static void fuzz_ipv6(const uint8_t *d, size_t len)
{
	uint8_t *b = dup_exact(d, len);
	uint8_t out[IPV6_HLEN];
	struct ipv6_hdr h;
	size_t end;
	int r = ipv6_parse(b, len, &h);

	check_result(r, len);
	free(b);
	if (r < 0) {
		/* A Parameter Problem points inside the packet; the walk
		 * stopped inside it too. */
		if (h.pp != IPV6_PP_NONE) {
			end = IPV6_HLEN + (size_t)h.payload_len;
			CHECK(r == -WIRE_EEXT && end <= len && h.pp_ptr < end && h.pp_code <= 2);
			CHECK(h.hdr_len >= IPV6_HLEN && h.hdr_len <= end &&
			      h.proto_off < h.hdr_len);
		}
		return;
	}
	end = IPV6_HLEN + (size_t)h.payload_len;
	CHECK(r == h.hdr_len && h.hdr_len >= IPV6_HLEN && h.hdr_len <= end && end <= len);
	CHECK(h.proto_off < h.hdr_len && h.pp == IPV6_PP_NONE);
	CHECK(ipv6_emit(&h, out) == IPV6_HLEN);
	CHECK(memcmp(out, d, IPV6_HLEN) == 0);

	/* A later fragment has no upper-layer header to parse. */
	if (h.fragment && (h.frag_off & 0xfff8u))
		return;
	if (h.proto == IPPROTO_TCP_)
		fuzz_tcp6(d + h.hdr_len, end - h.hdr_len, h.src, h.dst);
	else if (h.proto == IPPROTO_ICMPV6_)
		fuzz_icmp6(d + h.hdr_len, end - h.hdr_len, h.src, h.dst);
}

static void fuzz_eth(const uint8_t *d, size_t len)
{
	uint8_t *b = dup_exact(d, len);
	uint8_t out[ETH_HLEN];
	struct eth_hdr h;
	int r = eth_parse(b, len, &h);

	check_result(r, len);
	free(b);
	if (r < 0)
		return;
	CHECK(r == ETH_HLEN);
	CHECK(eth_emit(&h, out) == ETH_HLEN);
	CHECK(memcmp(out, d, ETH_HLEN) == 0);
	switch (h.type) {
	case ETHERTYPE_ARP:
		fuzz_arp(d + ETH_HLEN, len - ETH_HLEN);
		break;
	case ETHERTYPE_IPV4:
		fuzz_ipv4(d + ETH_HLEN, len - ETH_HLEN);
		break;
	case ETHERTYPE_IPV6:
		fuzz_ipv6(d + ETH_HLEN, len - ETH_HLEN);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t offs[] = {0, 1, 2, 4, ETH_HLEN};

	fuzz_eth(data, size);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		const uint8_t *d = data + offs[i];
		size_t n;

		if (offs[i] > size)
			break;
		n = size - offs[i];
		fuzz_ipv4(d, n);
		fuzz_ipv6(d, n);
		fuzz_tcp(d, n);
		fuzz_icmp4(d, n);
		fuzz_icmp6(d, n, addr_a, addr_b);
		fuzz_arp(d, n);
	}
	fuzz_checksum(data, size);
	/* Every error code has a name. */
	(void)wire_strerror(size ? -(int)data[0] : 0);
	return 0;
}
