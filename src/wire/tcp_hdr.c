/* tcp_hdr.c — TCP header and options (RFC 9293 §3.1-3.2, RFC 7323, RFC 2018,
 * RFC 7413) parse and emit. */
#include <string.h>

#include "wire/wire.h"

#define TCP_MAX_OPTLEN (TCP_MAX_HLEN - TCP_HLEN)

/* Option lengths fixed by their RFCs. */
#define TCPOLEN_MSS 4          /* RFC 9293 §3.2 */
#define TCPOLEN_WSCALE 3       /* RFC 7323 §2.2 */
#define TCPOLEN_SACK_PERM 2    /* RFC 2018 §2 */
#define TCPOLEN_TIMESTAMP 10   /* RFC 7323 §3.2 */
#define TCPOLEN_SACK_BASE 2    /* RFC 2018 §3: 2 + 8 per block */
#define TCPOLEN_FASTOPEN_MIN 6 /* RFC 7413 §4.1.1: 4..16 byte cookie */
#define TCPOLEN_FASTOPEN_MAX 18

static int parse_opt(uint8_t kind, const uint8_t *p, size_t dlen, struct tcp_opts *o)
{
	size_t i;

	switch (kind) {
	case TCPOPT_MSS:
		if (dlen != TCPOLEN_MSS - 2)
			return -WIRE_EOPT;
		o->mss = rd16(p);
		o->present |= TCP_OPT_MSS;
		break;
	case TCPOPT_WSCALE:
		if (dlen != TCPOLEN_WSCALE - 2)
			return -WIRE_EOPT;
		/* Kept as sent; RFC 7323 §2.3 clamping to 14 is the TCP layer's. */
		o->wscale = p[0];
		o->present |= TCP_OPT_WSCALE;
		break;
	case TCPOPT_SACK_PERM:
		if (dlen != TCPOLEN_SACK_PERM - 2)
			return -WIRE_EOPT;
		o->present |= TCP_OPT_SACK_PERM;
		break;
	case TCPOPT_TIMESTAMP:
		if (dlen != TCPOLEN_TIMESTAMP - 2)
			return -WIRE_EOPT;
		o->ts_val = rd32(p);
		o->ts_ecr = rd32(p + 4);
		o->present |= TCP_OPT_TIMESTAMP;
		break;
	case TCPOPT_SACK:
		if (dlen == 0 || dlen % 8 != 0 || dlen / 8 > TCP_MAX_SACK)
			return -WIRE_EOPT;
		o->nsack = (uint8_t)(dlen / 8);
		for (i = 0; i < o->nsack; i++) {
			o->sack[i].left = rd32(p + 8 * i);
			o->sack[i].right = rd32(p + 8 * i + 4);
		}
		o->present |= TCP_OPT_SACK;
		break;
	case TCPOPT_FASTOPEN:
		/* Length 2 is a cookie request (RFC 7413 §4.1.1). */
		if (dlen != 0 &&
		    (dlen < TCPOLEN_FASTOPEN_MIN - 2 || dlen > TCPOLEN_FASTOPEN_MAX - 2))
			return -WIRE_EOPT;
		o->fastopen_len = (uint8_t)dlen;
		memcpy(o->fastopen, p, dlen);
		o->present |= TCP_OPT_FASTOPEN;
		break;
	default:
		/* RFC 9293 §3.2: unknown options are skipped by their length. */
		break;
	}
	return 0;
}

int tcp_parse(const uint8_t *buf, size_t len, struct tcp_hdr *h)
{
	size_t hlen, i;

	if (len < TCP_HLEN)
		return -WIRE_ETRUNC;
	hlen = (size_t)(buf[12] >> 4) * 4;
	if (hlen < TCP_HLEN || hlen > len)
		return -WIRE_EOFF;
	h->sport = rd16(buf);
	h->dport = rd16(buf + 2);
	h->seq = rd32(buf + 4);
	h->ack = rd32(buf + 8);
	h->hlen = (uint8_t)hlen;
	h->flags = buf[13];
	h->win = rd16(buf + 14);
	h->csum = rd16(buf + 16);
	h->urp = rd16(buf + 18);
	memset(&h->opts, 0, sizeof(h->opts));

	i = TCP_HLEN;
	while (i < hlen) {
		uint8_t kind = buf[i], olen;
		int err;

		/* RFC 9293 §3.2: EOL ends the list, NOP is a single byte. */
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		/* Every other kind has a length byte counting kind and length. */
		if (hlen - i < 2)
			return -WIRE_EOPT;
		olen = buf[i + 1];
		if (olen < 2 || olen > hlen - i)
			return -WIRE_EOPT;
		err = parse_opt(kind, buf + i + 2, (size_t)olen - 2, &h->opts);
		if (err)
			return err;
		i += olen;
	}
	return (int)hlen;
}

static size_t put_nops(uint8_t *p, size_t n, size_t count, bool compact)
{
	if (compact)
		return n;
	while (count--)
		p[n++] = TCPOPT_NOP;
	return n;
}

/* Writes the options in Linux's order (tcp_options_write()); with compact set,
 * without the NOPs that align each option to 32 bits. */
static size_t opts_write(const struct tcp_opts *o, unsigned nsack, bool compact, uint8_t *p)
{
	uint32_t pr = o->present;
	size_t n = 0, i;

	if (pr & TCP_OPT_MSS) {
		p[n++] = TCPOPT_MSS;
		p[n++] = TCPOLEN_MSS;
		wr16(p + n, o->mss);
		n += 2;
	}
	if (pr & TCP_OPT_TIMESTAMP) {
		if (pr & TCP_OPT_SACK_PERM) {
			p[n++] = TCPOPT_SACK_PERM;
			p[n++] = TCPOLEN_SACK_PERM;
		} else {
			n = put_nops(p, n, 2, compact);
		}
		p[n++] = TCPOPT_TIMESTAMP;
		p[n++] = TCPOLEN_TIMESTAMP;
		wr32(p + n, o->ts_val);
		wr32(p + n + 4, o->ts_ecr);
		n += 8;
	} else if (pr & TCP_OPT_SACK_PERM) {
		n = put_nops(p, n, 2, compact);
		p[n++] = TCPOPT_SACK_PERM;
		p[n++] = TCPOLEN_SACK_PERM;
	}
	if (pr & TCP_OPT_WSCALE) {
		n = put_nops(p, n, 1, compact);
		p[n++] = TCPOPT_WSCALE;
		p[n++] = TCPOLEN_WSCALE;
		p[n++] = o->wscale;
	}
	if (nsack) {
		n = put_nops(p, n, 2, compact);
		p[n++] = TCPOPT_SACK;
		p[n++] = (uint8_t)(TCPOLEN_SACK_BASE + 8 * nsack);
		for (i = 0; i < nsack; i++) {
			wr32(p + n, o->sack[i].left);
			wr32(p + n + 4, o->sack[i].right);
			n += 8;
		}
	}
	if (pr & TCP_OPT_FASTOPEN) {
		size_t fl = o->fastopen_len > TCP_FASTOPEN_MAX ? TCP_FASTOPEN_MAX : o->fastopen_len;

		p[n++] = TCPOPT_FASTOPEN;
		p[n++] = (uint8_t)(2 + fl);
		memcpy(p + n, o->fastopen, fl);
		n += fl;
	}
	while (n % 4)
		p[n++] = TCPOPT_NOP;
	return n;
}

/* The options must fit in 40 bytes. Linux's layout first; if its alignment
 * NOPs overflow (possible for option sets Linux never sends together), the
 * same options packed; if even that overflows, SACK blocks are dropped from
 * the end, as RFC 2018 §3 sends only as many blocks as fit. Without SACK
 * blocks every set fits: 4 + 12 + 4 + 20 = 40. */
static size_t opts_layout(const struct tcp_opts *o, uint8_t *p)
{
	unsigned nsack = 0;
	size_t n;

	if (o->present & TCP_OPT_SACK)
		nsack = o->nsack > TCP_MAX_SACK ? TCP_MAX_SACK : o->nsack;
	for (;;) {
		n = opts_write(o, nsack, false, p);
		if (n <= TCP_MAX_OPTLEN)
			return n;
		n = opts_write(o, nsack, true, p);
		if (n <= TCP_MAX_OPTLEN || nsack == 0)
			return n;
		nsack--;
	}
}

size_t tcp_opts_len(const struct tcp_opts *o)
{
	uint8_t scratch[80];

	return opts_layout(o, scratch);
}

size_t tcp_emit(const struct tcp_hdr *h, uint8_t *buf)
{
	uint8_t opts[80];
	size_t olen = opts_layout(&h->opts, opts);
	size_t hlen = TCP_HLEN + olen;

	wr16(buf, h->sport);
	wr16(buf + 2, h->dport);
	wr32(buf + 4, h->seq);
	wr32(buf + 8, h->ack);
	buf[12] = (uint8_t)((hlen / 4) << 4);
	buf[13] = h->flags;
	wr16(buf + 14, h->win);
	wr16(buf + 16, h->csum);
	wr16(buf + 18, h->urp);
	memcpy(buf + TCP_HLEN, opts, olen);
	return hlen;
}
