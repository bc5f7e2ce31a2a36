/* ipv4.c — IPv4 header (RFC 791 §3.1) parse and emit. */
#include <string.h>

#include "wire/wire.h"

int ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_hdr *h)
{
	size_t hlen, total;

	if (len < IPV4_HLEN)
		return -WIRE_ETRUNC;
	if (buf[0] >> 4 != 4)
		return -WIRE_EVERSION;
	hlen = (size_t)(buf[0] & 0x0f) * 4;
	if (hlen < IPV4_HLEN || hlen > len)
		return -WIRE_EHLEN;
	/* Total length covers header and data; the frame may carry link-layer
	 * padding after it, never less than it says. */
	total = rd16(buf + 2);
	if (total < hlen || total > len)
		return -WIRE_ELEN;
	/* RFC 791: the checksum covers the header only, options included. */
	if (inet_checksum(buf, hlen) != 0)
		return -WIRE_ECSUM;
	h->hlen = (uint8_t)hlen;
	h->tos = buf[1];
	h->total_len = (uint16_t)total;
	h->id = rd16(buf + 4);
	h->frag = rd16(buf + 6);
	h->ttl = buf[8];
	h->proto = buf[9];
	h->csum = rd16(buf + 10);
	h->src = rd32(buf + 12);
	h->dst = rd32(buf + 16);
	return (int)hlen;
}

size_t ipv4_emit(const struct ipv4_hdr *h, uint8_t *buf)
{
	uint16_t c;

	buf[0] = 0x45;
	buf[1] = h->tos;
	wr16(buf + 2, h->total_len);
	wr16(buf + 4, h->id);
	wr16(buf + 6, h->frag);
	buf[8] = h->ttl;
	buf[9] = h->proto;
	buf[10] = 0;
	buf[11] = 0;
	wr32(buf + 12, h->src);
	wr32(buf + 16, h->dst);
	c = inet_checksum(buf, IPV4_HLEN);
	memcpy(buf + 10, &c, 2);
	return IPV4_HLEN;
}
