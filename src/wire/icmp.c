/* icmp.c — ICMPv4 (RFC 792) and ICMPv6 (RFC 4443 §2.1) headers and checksums. */
#include <string.h>

#include "wire/wire.h"

/* RFC 4443 §2.3: the checksum includes the RFC 8200 §8.1 pseudo-header. */
static uint16_t icmp6_csum(const uint8_t *buf, size_t len, const uint8_t src[16],
			   const uint8_t dst[16])
{
	return csum_fold(
		csum_add(csum_pseudo6(src, dst, IPPROTO_ICMPV6_, (uint32_t)len), buf, len));
}

static void icmp_read(const uint8_t *buf, struct icmp_hdr *h)
{
	h->type = buf[0];
	h->code = buf[1];
	h->csum = rd16(buf + 2);
	h->rest = rd32(buf + 4);
}

static void icmp_write(const struct icmp_hdr *h, uint8_t *buf)
{
	buf[0] = h->type;
	buf[1] = h->code;
	buf[2] = 0;
	buf[3] = 0;
	wr32(buf + 4, h->rest);
}

int icmp4_parse(const uint8_t *buf, size_t len, struct icmp_hdr *h)
{
	if (len < ICMP_HLEN)
		return -WIRE_ETRUNC;
	/* RFC 792: the checksum covers the whole ICMP message. */
	if (inet_checksum(buf, len) != 0)
		return -WIRE_ECSUM;
	icmp_read(buf, h);
	return ICMP_HLEN;
}

int icmp6_parse(const uint8_t *buf, size_t len, const uint8_t src[16], const uint8_t dst[16],
		struct icmp_hdr *h)
{
	if (len < ICMP_HLEN)
		return -WIRE_ETRUNC;
	if (len > 0xffffffffu || icmp6_csum(buf, len, src, dst) != 0)
		return -WIRE_ECSUM;
	icmp_read(buf, h);
	return ICMP_HLEN;
}

size_t icmp4_emit(const struct icmp_hdr *h, uint8_t *buf, size_t total_len)
{
	uint16_t c;

	if (total_len < ICMP_HLEN)
		total_len = ICMP_HLEN;
	icmp_write(h, buf);
	c = inet_checksum(buf, total_len);
	memcpy(buf + 2, &c, 2);
	return ICMP_HLEN;
}

size_t icmp6_emit(const struct icmp_hdr *h, uint8_t *buf, size_t total_len, const uint8_t src[16],
		  const uint8_t dst[16])
{
	uint16_t c;

	if (total_len < ICMP_HLEN)
		total_len = ICMP_HLEN;
	icmp_write(h, buf);
	c = icmp6_csum(buf, total_len, src, dst);
	memcpy(buf + 2, &c, 2);
	return ICMP_HLEN;
}
