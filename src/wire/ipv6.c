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
 * packet to be discarded. False for that, or for an option past the end. */
static bool options_ok(const uint8_t *h, size_t len)
{
	size_t i = 2;
	while (i < len) {
		uint8_t type = h[i];
		if (type == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + (size_t)h[i + 1] > len)
			return false;
		if (type != 1 && (type >> 6) != 0)
			return false;
		i += 2 + (size_t)h[i + 1];
	}
	return true;
}

static bool is_ext(uint8_t nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_FRAGMENT || nh == NH_AH ||
	       nh == NH_DSTOPTS;
}

int ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_hdr *h)
{
	size_t end, off;
	uint32_t vtf;
	uint8_t nh;
	int n;

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

	/* Extension headers must lie inside the payload the fixed header declares. */
	off = IPV6_HLEN;
	nh = h->next_hdr;
	for (n = 0; is_ext(nh); n++) {
		size_t elen;

		if (n == IPV6_MAX_EXT)
			return -WIRE_EEXT;
		/* RFC 8200 §4.1: Hop-by-Hop only right after the fixed header. */
		if (nh == NH_HOPOPTS && n != 0)
			return -WIRE_EEXT;
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
				return (int)(off + 8);
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
			/* §4.4: a Routing header with segments left asks us to
			 * forward; a host recognises no routing type (type 0 is
			 * deprecated, RFC 5095), so the packet is discarded. */
			if (nh == NH_ROUTING && elen <= end - off && buf[off + 3] != 0)
				return -WIRE_EEXT;
			if ((nh == NH_HOPOPTS || nh == NH_DSTOPTS) && elen <= end - off &&
			    !options_ok(buf + off, elen))
				return -WIRE_EEXT;
		}
		if (elen > end - off)
			return -WIRE_EEXT;
		nh = buf[off];
		off += elen;
	}
	h->proto = nh;
	h->hdr_len = (uint16_t)off;
	return (int)off;
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
