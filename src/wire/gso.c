/* gso.c — software segmentation and checksum completion. */
#include "wire/gso.h"

#include <stdbool.h>
#include <string.h>

#include "wire/wire.h"

int gso_finish_csum(uint8_t *frame, size_t len, const struct ustcp_tx_meta *m)
{
	if (!m->csum_partial)
		return 0;
	size_t start = m->csum_start, field = start + m->csum_offset;
	if (field + 2 > len)
		return -1;
	uint16_t c = csum_fold(csum_add(0, frame + start, len - start));
	memcpy(frame + field, &c, 2);
	return 0;
}

/* The shape of a frame gso_segment can cut. */
struct gso_layout {
	bool v6;
	size_t tcp; /* offset of the TCP header */
};

/* IPv4: any IHL, TCP, not a fragment, total length up to the frame's end. */
static bool layout4(const uint8_t *ip, size_t iplen, size_t hl_ip, struct gso_layout *g)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (hl_ip < IPV4_HLEN || (ip[0] >> 4) != 4 || ihl < IPV4_HLEN || ip[9] != IPPROTO_TCP_ ||
	    (rd16(ip + 6) & (IPV4_MF | IPV4_OFFMASK)) || rd16(ip + 2) != iplen)
		return false;
	g->v6 = false;
	g->tcp = ETH_HLEN + ihl;
	return true;
}

/* IPv6: the fixed header straight before TCP (RFC 8200 §3), with the
 * payload length up to the frame's end. Extension headers would need each
 * piece's to be rewritten (a Fragment header cannot be cut at all). */
static bool layout6(const uint8_t *ip, size_t iplen, size_t hl_ip, struct gso_layout *g)
{
	if (hl_ip < IPV6_HLEN || (ip[0] >> 4) != 6 || ip[6] != IPPROTO_TCP_ ||
	    rd16(ip + 4) + (size_t)IPV6_HLEN != iplen)
		return false;
	g->v6 = true;
	g->tcp = ETH_HLEN + IPV6_HLEN;
	return true;
}

static bool gso_layout(const uint8_t *f, size_t len, size_t hl, struct gso_layout *g)
{
	/* hl <= len, so every header byte read below lies in the frame. */
	if (hl > len || hl < ETH_HLEN)
		return false;
	bool ok;
	switch (rd16(f + 12)) {
	case ETHERTYPE_IPV4:
		ok = layout4(f + ETH_HLEN, len - ETH_HLEN, hl - ETH_HLEN, g);
		break;
	case ETHERTYPE_IPV6:
		ok = layout6(f + ETH_HLEN, len - ETH_HLEN, hl - ETH_HLEN, g);
		break;
	default:
		return false;
	}
	/* The headers each piece repeats end where the TCP header does. */
	return ok && g->tcp + TCP_HLEN <= hl && g->tcp + (size_t)(f[g->tcp + 12] >> 4) * 4 == hl;
}

/* Linux's tcp_gso_segment does the same: FIN and PSH belong to the end of
 * the data, CWR to the first segment sent after the window was reduced
 * (RFC 3168 §6.1.2). */
static uint8_t piece_flags(uint8_t flags, bool first, bool last)
{
	if (!last)
		flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (!first)
		flags &= (uint8_t)~TCP_CWR;
	return flags;
}

/* The IP header of piece `index`, whose TCP segment is seglen bytes. */
static void fix_ip(uint8_t *ip, const struct gso_layout *g, size_t seglen, uint16_t id0, int index)
{
	if (g->v6) {
		wr16(ip + 4, (uint16_t)seglen); /* RFC 8200 §3: no checksum, no ID */
		return;
	}
	size_t ihl = g->tcp - ETH_HLEN;
	wr16(ip + 2, (uint16_t)(ihl + seglen));
	wr16(ip + 4, (uint16_t)(id0 + index));
	ip[10] = ip[11] = 0;
	uint16_t c = inet_checksum(ip, ihl);
	memcpy(ip + 10, &c, 2);
}

int gso_segment(const uint8_t *frame, size_t len, const struct ustcp_tx_meta *m, uint8_t *scratch,
		size_t scratch_cap, gso_emit_fn emit, void *ctx)
{
	size_t hl = m->hdr_len;
	struct gso_layout g;
	if (!m->gso_size || scratch_cap < hl + m->gso_size || !gso_layout(frame, len, hl, &g))
		return -1;
	const uint8_t *ip0 = frame + ETH_HLEN;
	uint16_t id0 = g.v6 ? 0 : rd16(ip0 + 4);
	uint32_t seq = rd32(frame + g.tcp + 4);
	uint8_t flags = frame[g.tcp + 13];
	size_t payload = len - hl, off = 0;
	int n = 0;
	do {
		size_t chunk = payload - off < m->gso_size ? payload - off : m->gso_size;
		size_t seglen = hl - g.tcp + chunk;
		memcpy(scratch, frame, hl);
		memcpy(scratch + hl, frame + hl + off, chunk);
		uint8_t *ip = scratch + ETH_HLEN, *th = scratch + g.tcp;
		fix_ip(ip, &g, seglen, id0, n);
		wr32(th + 4, seq + (uint32_t)off);
		th[13] = piece_flags(flags, n == 0, off + chunk >= payload);
		if (g.v6)
			tcp_checksum_set6(th, seglen, ip + 8, ip + 24);
		else
			tcp_checksum_set4(th, seglen, rd32(ip + 12), rd32(ip + 16));
		if (emit(ctx, scratch, hl + chunk) < 0)
			return -1;
		n++;
		off += chunk;
	} while (off < payload);
	return n;
}
