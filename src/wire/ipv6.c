/* ipv6.c — IPv6 fixed header (RFC 8200 §3) parse and emit, and the walk over
 * its extension headers (RFC 8200 §4) to the upper-layer protocol. */
#include <string.h>

#include "wire/wire.h"

#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60

/* RFC 8200 §4.2: the options of a Hop-by-Hop or Destination Options
 * header (bytes [2, len) of it). A host recognises only the pads; an
 * unrecognised option whose type's two high bits are not 00 asks for the
 * packet to be discarded. Returns 0 when all may be skipped, -1 for an
 * option past the end, else those two bits of the first option that asks
 * (1, 2 or 3), with its offset in the header in *at. */
static int options_check(const uint8_t *h, size_t len, size_t *at)
{
	size_t i = 2;
	while (i < len) {
		uint8_t type = h[i];
		if (type == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + (size_t)h[i + 1] > len)
			return -1;
		if (type != 1 && (type >> 6) != 0) {
			*at = i;
			return type >> 6;
		}
		i += 2 + (size_t)h[i + 1];
	}
	return 0;
}

/* Note the first fault RFC 8200 answers with a Parameter Problem. */
static void param_problem(struct ipv6_hdr *h, uint8_t pp, uint8_t code, size_t at)
{
	if (h->pp != IPV6_PP_NONE)
		return;
	h->pp = pp;
	h->pp_code = code;
	h->pp_ptr = (uint32_t)at;
}

static bool is_ext(uint8_t nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_FRAGMENT || nh == NH_AH ||
	       nh == NH_DSTOPTS;
}

int ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_hdr *h)
{
	size_t end, off, nh_off;
	uint32_t vtf;
	uint8_t nh;
	int n;

	h->pp = IPV6_PP_NONE;
	if (len < IPV6_HLEN)
		return -WIRE_ETRUNC;
	vtf = rd32(buf);
	if (vtf >> 28 != 6)
		return -WIRE_EVERSION;
	h->tclass = (uint8_t)(vtf >> 20);
	h->flow = vtf & 0xfffffu;
	h->payload_len = rd16(buf + 4);
	h->next_hdr = buf[6];
	h->hop_limit = buf[7];
	memcpy(h->src, buf + 8, 16);
	memcpy(h->dst, buf + 24, 16);
	h->fragment = false;
	h->frag_off = 0;
	h->frag_id = 0;
	h->frag_end = 0;
	h->frag_next = 0;

	/* Link-layer padding may follow the packet; the payload may not be cut. */
	end = IPV6_HLEN + (size_t)h->payload_len;
	if (end > len)
		return -WIRE_ELEN;

	/* Extension headers must lie inside the payload the fixed header
	 * declares. proto and hdr_len follow the walk, so a rejected packet
	 * says where it stopped. */
	off = IPV6_HLEN;
	nh = h->next_hdr;
	nh_off = 6;
	for (n = 0;; n++) {
		size_t elen;

		h->proto = nh;
		h->hdr_len = (uint16_t)off;
		h->proto_off = (uint16_t)nh_off;
		if (!is_ext(nh))
			break;
		if (n == IPV6_MAX_EXT)
			return -WIRE_EEXT;
		/* RFC 8200 §4.1: Hop-by-Hop only right after the fixed header;
		 * §4: a Next Header of 0 anywhere else is answered as one not
		 * recognised (code 1, at that field). */
		if (nh == NH_HOPOPTS && n != 0) {
			param_problem(h, IPV6_PP_UNICAST, 1, nh_off);
			return -WIRE_EEXT;
		}
		if (end - off < 8)
			return -WIRE_EEXT;
		if (nh == NH_FRAGMENT) {
			/* RFC 8200 §4.5: fixed 8 bytes; offset in 8-octet units in
			 * the top 13 bits, M flag in bit 0. */
			uint16_t fo = rd16(buf + off + 2);

			h->fragment = true;
			h->frag_off = (uint16_t)((fo & 0xfff8u) | (fo & 1u));
			h->frag_id = rd32(buf + off + 4);
			h->frag_next = buf[off];
			h->frag_end = (uint16_t)(off + 8);
			if (fo & 0xfff8u) {
				h->proto = buf[off];
				h->hdr_len = (uint16_t)(off + 8);
				h->proto_off = (uint16_t)off;
				return h->pp != IPV6_PP_NONE ? -WIRE_EEXT : (int)(off + 8);
			}
			elen = 8;
		} else if (nh == NH_AH) {
			/* RFC 4302 §2.2: length in 4-octet units minus 2; the fixed
			 * part (next, len, reserved, SPI, sequence) is 12 bytes. */
			elen = ((size_t)buf[off + 1] + 2) * 4;
			if (elen < 12)
				return -WIRE_EEXT;
		} else {
			/* RFC 8200 §4.3-4.6: length in 8-octet units, first 8 excluded. */
			elen = ((size_t)buf[off + 1] + 1) * 8;
			if (elen > end - off)
				return -WIRE_EEXT;
			/* §4.4: a Routing header with segments left asks us to
			 * forward; a host recognises no routing type (type 0 is
			 * deprecated, RFC 5095): discard, and a Parameter Problem
			 * (code 0) at the Routing Type. */
			if (nh == NH_ROUTING && buf[off + 3] != 0)
				param_problem(h, IPV6_PP_UNICAST, 0, off + 2);
			size_t at;
			int act = nh == NH_HOPOPTS || nh == NH_DSTOPTS
					  ? options_check(buf + off, elen, &at)
					  : 0;
			/* Options after a fault were never looked at by a host
			 * that stopped there: only the first fault counts. */
			if (act != 0 && h->pp == IPV6_PP_NONE) {
				if (act < 0 || act == 1)
					return -WIRE_EEXT; /* malformed, or 01: discard quietly */
				/* §4.2: 10 answers even a multicast destination, 11 not. */
				param_problem(h, act == 2 ? IPV6_PP_ALWAYS : IPV6_PP_UNICAST, 2,
					      off + at);
			}
		}
		if (elen > end - off)
			return -WIRE_EEXT;
		nh_off = off;
		nh = buf[off];
		off += elen;
	}
	return h->pp != IPV6_PP_NONE ? -WIRE_EEXT : (int)off;
}

size_t ipv6_emit(const struct ipv6_hdr *h, uint8_t *buf)
{
	wr32(buf, (uint32_t)6 << 28 | (uint32_t)h->tclass << 20 | (h->flow & 0xfffffu));
	wr16(buf + 4, h->payload_len);
	buf[6] = h->next_hdr;
	buf[7] = h->hop_limit;
	memcpy(buf + 8, h->src, 16);
	memcpy(buf + 24, h->dst, 16);
	return IPV6_HLEN;
}
