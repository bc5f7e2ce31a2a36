/* gso.c — software segmentation and checksum completion. */
#include "wire/gso.h"

#include <string.h>

#include "wire/wire.h"

void gso_finish_csum(uint8_t *frame, size_t len, const struct ustcp_tx_meta *m)
{
	if (!m->csum_partial || m->csum_start + m->csum_offset + 2u > len)
		return;
	uint16_t c = csum_fold(csum_add(0, frame + m->csum_start, len - m->csum_start));
	memcpy(frame + m->csum_start + m->csum_offset, &c, 2);
}

int gso_segment4(const uint8_t *frame, size_t len, const struct ustcp_tx_meta *m, uint8_t *scratch,
		 size_t scratch_cap, gso_emit_fn emit, void *ctx)
{
	size_t hl = m->hdr_len, ip = ETH_HLEN;
	if (!m->gso_size || hl < ETH_HLEN + IPV4_HLEN + TCP_HLEN || hl > len ||
	    scratch_cap < hl + m->gso_size || (frame[ip] >> 4) != 4)
		return -1;
	size_t ihl = (size_t)(frame[ip] & 0x0f) * 4, tcp = ip + ihl;
	if (tcp + TCP_HLEN > hl)
		return -1;
	uint32_t src = rd32(frame + ip + 12), dst = rd32(frame + ip + 16);
	uint16_t id = rd16(frame + ip + 4);
	uint32_t seq = rd32(frame + tcp + 4);
	uint8_t flags = frame[tcp + 13];
	size_t payload = len - hl;
	int n = 0;
	size_t off = 0;
	do {
		size_t chunk = payload - off < m->gso_size ? payload - off : m->gso_size;
		bool last = off + chunk >= payload;
		memcpy(scratch, frame, hl);
		memcpy(scratch + hl, frame + hl + off, chunk);
		uint8_t *iph = scratch + ip, *th = scratch + tcp;
		wr16(iph + 2, (uint16_t)(hl - ip + chunk));
		wr16(iph + 4, (uint16_t)(id + n));
		iph[10] = iph[11] = 0;
		uint16_t ic = inet_checksum(iph, ihl);
		memcpy(iph + 10, &ic, 2);
		wr32(th + 4, seq + (uint32_t)off);
		uint8_t f = flags;
		if (!last)
			f &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (n)
			f &= (uint8_t)~TCP_CWR;
		th[13] = f;
		tcp_checksum_set4(th, hl - tcp + chunk, src, dst);
		if (emit(ctx, scratch, hl + chunk) < 0)
			return -1;
		n++;
		off += chunk;
	} while (off < payload);
	return n;
}
