/* arp.c — ARP for IPv4 over Ethernet (RFC 826) parse and emit. */
#include <string.h>

#include "wire/wire.h"

#define ARP_HRD_ETHER 1

int arp_parse(const uint8_t *buf, size_t len, struct arp_pkt *p)
{
	if (len < ARP_LEN)
		return -WIRE_ETRUNC;
	/* Only the Ethernet/IPv4 mapping is spoken; the fixed sizes below
	 * depend on it (RFC 826: ar$hrd, ar$pro, ar$hln, ar$pln). */
	if (rd16(buf) != ARP_HRD_ETHER || rd16(buf + 2) != ETHERTYPE_IPV4 || buf[4] != ETH_ALEN ||
	    buf[5] != 4)
		return -WIRE_EFORMAT;
	p->op = rd16(buf + 6);
	memcpy(p->sha, buf + 8, ETH_ALEN);
	p->spa = rd32(buf + 14);
	memcpy(p->tha, buf + 18, ETH_ALEN);
	p->tpa = rd32(buf + 24);
	return ARP_LEN;
}

size_t arp_emit(const struct arp_pkt *p, uint8_t *buf)
{
	wr16(buf, ARP_HRD_ETHER);
	wr16(buf + 2, ETHERTYPE_IPV4);
	buf[4] = ETH_ALEN;
	buf[5] = 4;
	wr16(buf + 6, p->op);
	memcpy(buf + 8, p->sha, ETH_ALEN);
	wr32(buf + 14, p->spa);
	memcpy(buf + 18, p->tha, ETH_ALEN);
	wr32(buf + 24, p->tpa);
	return ARP_LEN;
}
