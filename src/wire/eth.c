/* eth.c — Ethernet II header parse and emit. */
#include <string.h>

#include "wire/wire.h"

int eth_parse(const uint8_t *buf, size_t len, struct eth_hdr *h)
{
	if (len < ETH_HLEN)
		return -WIRE_ETRUNC;
	memcpy(h->dst, buf, ETH_ALEN);
	memcpy(h->src, buf + ETH_ALEN, ETH_ALEN);
	h->type = rd16(buf + 12);
	return ETH_HLEN;
}

size_t eth_emit(const struct eth_hdr *h, uint8_t *buf)
{
	memcpy(buf, h->dst, ETH_ALEN);
	memcpy(buf + ETH_ALEN, h->src, ETH_ALEN);
	wr16(buf + 12, h->type);
	return ETH_HLEN;
}
