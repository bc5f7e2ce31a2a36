/* tcp_syncookie.c — SYN cookies (RFC 4987 §3.6).
 *
 * When a listener's queue of half-open connections is full (or always,
 * with USTCP_TCP_SYNCOOKIES on the listener), a SYN is answered without
 * keeping anything: what the connection needs later is encoded in our ISS,
 *
 *   bits 31-27  a coarse clock: the 64 s period the cookie was made in
 *   bits 26-24  the peer's MSS, as an index into a small table
 *   bits 23-0   a keyed hash (SipHash) of the 4-tuple, the peer's ISN and
 *               the period, under a secret of the stack's
 *
 * and, when the peer sends timestamps, in the low 6 bits of our TSval (as
 * Linux does): the peer's window scale (15: none), SACK permitted, ECN. The
 * ACK that completes the handshake echoes both: its SEG.ACK - 1 is the
 * cookie and its TSecr our TSval. A cookie is good in the period it was
 * made and the next (the hash covers the period, so the secret in effect
 * rotates), and only for the 4-tuple and ISN it was made for. Without
 * timestamps the connection goes without window scaling and SACK. */
#include <string.h>

#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"

#define COOKIE_PERIOD_NS (64 * USTCP_NS_PER_SEC)
#define COOKIE_HASH_MASK 0xffffffu

/* The MSS values a cookie can carry: a peer's MSS is rounded down to one. */
static const uint16_t cookie_mss[8] = {216, 536, 1024, 1220, 1440, 1460, 4312, 8960};

static uint32_t cookie_hash(const struct ustcp_stack *s, const struct tcp_cookie_in *in,
			    uint64_t period)
{
	struct {
		struct ipaddr la, ra;
		uint16_t lp, rp;
		uint32_t irs;
		uint64_t period;
	} k;
	memset(&k, 0, sizeof(k)); /* no stray padding in the hash */
	k.la = in->laddr;
	k.ra = in->raddr;
	k.lp = in->lport;
	k.rp = in->rport;
	k.irs = in->irs;
	k.period = period;
	return (uint32_t)hash_keyed(s->tcp->cookie_key, &k, sizeof(k)) & COOKIE_HASH_MASK;
}

uint32_t tcp_cookie_make(const struct ustcp_stack *s, const struct tcp_cookie_in *in, uint16_t mss)
{
	uint64_t period = s->now / COOKIE_PERIOD_NS;
	uint32_t idx = 0;
	for (uint32_t i = 0; i < 8; i++)
		if (cookie_mss[i] <= mss)
			idx = i;
	return (uint32_t)(period & 31) << 27 | idx << 24 | cookie_hash(s, in, period);
}

bool tcp_cookie_check(const struct ustcp_stack *s, const struct tcp_cookie_in *in, uint32_t iss,
		      uint16_t *mss)
{
	uint64_t now = s->now / COOKIE_PERIOD_NS;
	for (uint64_t period = now + 1; period-- > 0 && period + 2 > now;) {
		if ((period & 31) != iss >> 27 ||
		    cookie_hash(s, in, period) != (iss & COOKIE_HASH_MASK))
			continue;
		*mss = cookie_mss[(iss >> 24) & 7];
		return true;
	}
	return false;
}

uint32_t tcp_cookie_tsval(uint32_t tsval, const struct tcp_opts *syn, bool ws, bool sack)
{
	uint32_t wscale = ws ? MIN(syn->wscale, 14u) : 15u;
	uint32_t v = (tsval & ~0x3fu) | wscale | (sack ? 0x10u : 0u);
	/* Never ahead of the clock, or the peer's next segment (echoing a
	 * later TSval) could look older than this one. */
	return seq_gt(v, tsval) ? v - 64 : v;
}

void tcp_cookie_options(uint32_t tsecr, struct tcp_opts *o)
{
	uint32_t wscale = tsecr & 0xf;
	if (wscale != 15) {
		o->present |= TCP_OPT_WSCALE;
		o->wscale = (uint8_t)wscale;
	}
	if (tsecr & 0x10)
		o->present |= TCP_OPT_SACK_PERM;
}
