/* print.c — the tcpdump-style one-line rendering of frames and trace events.
 *
 * TCP lines follow tcpdump -n -S (absolute sequence numbers) without its
 * "IP " / "IP6 " prefix; a printer (struct ustcp_printer) also numbers the
 * connections of a capture and shows their sequence numbers relative
 * (trace/conns.c). Everything is parsed with wire/, so a frame the stack
 * would reject as malformed is shown as such, with the reason. A frame of
 * any link type is shown by the line of what follows its link header. */
#define _POSIX_C_SOURCE 200809L /* inet_ntop */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "trace/conns.h"
#include "ustcp/ustcp.h"
#include "wire/wire.h"

struct ustcp_printer {
	struct trace_conns *conns;
	unsigned flags; /* USTCP_PRINT_* */
};

/* An snprintf-like output: writes what fits, counts everything. With a
 * printer, a TCP segment is counted in its connection, whose number is
 * left in conn. */
struct out {
	char *buf;
	size_t size;
	size_t pos;
	struct ustcp_printer *pr; /* NULL: absolute numbers, no connections */
	uint64_t conn;
	int err; /* -ENOMEM when the connection could not be remembered */
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (o->pos < o->size)
		n = vsnprintf(o->buf + o->pos, o->size - o->pos, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

static void reset(struct out *o)
{
	o->pos = 0;
	if (o->size)
		o->buf[0] = '\0';
}

static void put_hex(struct out *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(o, "%02x", p[i]);
}

/* Addresses as text (IPv4 dotted quad, IPv6 in RFC 5952 form) and as
 * they are, to tell connections apart. */
struct addrs {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	struct ipaddr src_ip, dst_ip;
};

static void ip4_str(uint32_t a, char *s)
{
	snprintf(s, INET6_ADDRSTRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
		 a & 0xff);
}

static void ip6_str(const uint8_t a[16], char *s)
{
	if (!inet_ntop(AF_INET6, a, s, INET6_ADDRSTRLEN))
		snprintf(s, INET6_ADDRSTRLEN, "?");
}

/* ---- TCP ---- */

static void put_flags(struct out *o, uint8_t flags)
{
	/* tcpdump's order, with the ACK dot after PSH. */
	static const struct {
		uint8_t bit;
		char c;
	} tab[] = {{TCP_FIN, 'F'}, {TCP_SYN, 'S'}, {TCP_RST, 'R'}, {TCP_PSH, 'P'},
		   {TCP_ACK, '.'}, {TCP_URG, 'U'}, {TCP_ECE, 'E'}, {TCP_CWR, 'W'}};

	put(o, "Flags [");
	if (!flags)
		put(o, "none");
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (flags & tab[i].bit)
			put(o, "%c", tab[i].c);
	put(o, "]");
}

/* The options in the order they are on the wire, spelled as tcpdump does;
 * SACK blocks less sack_base, as the acknowledgment number. */
static void put_tcp_options(struct out *o, const uint8_t *opt, size_t n, uint32_t sack_base)
{
	size_t i = 0;

	put(o, ", options [");
	while (i < n) {
		uint8_t kind = opt[i];
		if (i > 0)
			put(o, ",");
		if (kind == TCPOPT_EOL) {
			put(o, "eol");
			break;
		}
		if (kind == TCPOPT_NOP) {
			put(o, "nop");
			i++;
			continue;
		}
		if (i + 1 >= n || opt[i + 1] < 2 || opt[i + 1] > n - i) {
			put(o, "[bad opt]");
			break;
		}
		const uint8_t *d = opt + i + 2;
		size_t dl = opt[i + 1] - 2u;
		if (kind == TCPOPT_MSS && dl == 2) {
			put(o, "mss %u", rd16(d));
		} else if (kind == TCPOPT_WSCALE && dl == 1) {
			put(o, "wscale %u", d[0]);
		} else if (kind == TCPOPT_SACK_PERM && dl == 0) {
			put(o, "sackOK");
		} else if (kind == TCPOPT_SACK && dl % 8 == 0) {
			put(o, "sack %zu ", dl / 8);
			for (size_t b = 0; b < dl; b += 8)
				put(o, "{%" PRIu32 ":%" PRIu32 "}", rd32(d + b) - sack_base,
				    rd32(d + b + 4) - sack_base);
		} else if (kind == TCPOPT_TIMESTAMP && dl == 8) {
			put(o, "TS val %" PRIu32 " ecr %" PRIu32, rd32(d), rd32(d + 4));
		} else if (kind == TCPOPT_FASTOPEN) {
			if (dl == 0) {
				put(o, "tfo cookiereq");
			} else {
				put(o, "tfo cookie ");
				put_hex(o, d, dl);
			}
		} else {
			put(o, "unknown-%u", kind);
			if (dl) {
				put(o, " 0x");
				put_hex(o, d, dl);
			}
		}
		i += opt[i + 1];
	}
	put(o, "]");
}

/* With a printer: the segment's connection, and what its numbers are shown
 * relative to (nothing, with USTCP_PRINT_ABSOLUTE). */
static struct trace_seg_view tcp_view(struct out *o, const struct addrs *a,
				      const struct tcp_hdr *th)
{
	struct trace_seg_view v = {0};

	if (!o->pr)
		return v;
	if (trace_conns_segment(o->pr->conns, &a->src_ip, &a->dst_ip, th, &v) < 0)
		o->err = -ENOMEM;
	o->conn = v.conn;
	if (o->pr->flags & USTCP_PRINT_ABSOLUTE)
		v.seq_base = v.ack_base = 0;
	return v;
}

static int put_tcp(struct out *o, const struct addrs *a, const uint8_t *seg, size_t len)
{
	struct tcp_hdr th;
	int r = tcp_parse(seg, len, &th);

	if (r < 0)
		return r;
	size_t hlen = th.hlen;
	size_t dlen = len - hlen;
	struct trace_seg_view v = tcp_view(o, a, &th);
	uint32_t seq = th.seq - v.seq_base;

	put(o, "%s.%u > %s.%u: ", a->src, th.sport, a->dst, th.dport);
	put_flags(o, th.flags);
	/* tcpdump shows seq only when the segment occupies sequence space. */
	if (dlen > 0 || (th.flags & (TCP_SYN | TCP_FIN | TCP_RST))) {
		put(o, ", seq %" PRIu32, seq);
		if (dlen > 0)
			put(o, ":%" PRIu32, (uint32_t)(seq + dlen));
	}
	if (th.flags & TCP_ACK)
		put(o, ", ack %" PRIu32, th.ack - v.ack_base);
	put(o, ", win %u", th.win);
	if (th.flags & TCP_URG)
		put(o, ", urg %u", th.urp);
	if (hlen > TCP_HLEN)
		put_tcp_options(o, seg + TCP_HLEN, hlen - TCP_HLEN, v.ack_base);
	put(o, ", length %zu", dlen);
	return 0;
}

/* ---- ICMP, UDP and the rest ---- */

static int put_icmp4(struct out *o, const struct addrs *a, const uint8_t *p, size_t len)
{
	struct icmp_hdr h;
	int r = icmp4_parse(p, len, &h);

	if (r < 0)
		return r;
	put(o, "%s > %s: ICMP ", a->src, a->dst);
	if (h.type == 8 || h.type == 0)
		put(o, "echo %s, id %u, seq %u", h.type == 8 ? "request" : "reply", rd16(p + 4),
		    rd16(p + 6));
	else
		put(o, "type %u code %u", h.type, h.code);
	put(o, ", length %zu", len);
	return 0;
}

static int put_icmp6(struct out *o, const struct addrs *a, const struct ipv6_hdr *ip,
		     const uint8_t *p, size_t len)
{
	struct icmp_hdr h;
	int r = icmp6_parse(p, len, ip->src, ip->dst, &h);
	char target[INET6_ADDRSTRLEN];

	if (r < 0)
		return r;
	put(o, "%s > %s: ICMP6, ", a->src, a->dst);
	switch (h.type) {
	case 128:
	case 129:
		put(o, "echo %s, id %u, seq %u", h.type == 128 ? "request" : "reply", rd16(p + 4),
		    rd16(p + 6));
		break;
	case 135:
	case 136:
		if (len < 24)
			return -WIRE_ETRUNC;
		ip6_str(p + 8, target);
		if (h.type == 135)
			put(o, "neighbor solicitation, who has %s", target);
		else
			put(o, "neighbor advertisement, tgt is %s", target);
		break;
	default:
		put(o, "type %u code %u", h.type, h.code);
		break;
	}
	put(o, ", length %zu", len);
	return 0;
}

static int put_udp(struct out *o, const struct addrs *a, const uint8_t *p, size_t len)
{
	if (len < 8)
		return -WIRE_ETRUNC;
	uint16_t ulen = rd16(p + 4);
	if (ulen < 8 || ulen > len)
		return -WIRE_ELEN;
	put(o, "%s.%u > %s.%u: UDP, length %u", a->src, rd16(p), a->dst, rd16(p + 2), ulen - 8u);
	return 0;
}

/* The upper layer of an IPv4 or IPv6 packet (ip6 is NULL for IPv4). */
static int put_l4(struct out *o, const struct addrs *a, uint8_t proto, const struct ipv6_hdr *ip6,
		  const uint8_t *p, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP_:
		return put_tcp(o, a, p, len);
	case 17:
		return put_udp(o, a, p, len);
	case IPPROTO_ICMP_:
		if (!ip6)
			return put_icmp4(o, a, p, len);
		break;
	case IPPROTO_ICMPV6_:
		if (ip6)
			return put_icmp6(o, a, ip6, p, len);
		break;
	}
	put(o, "%s > %s: ip-proto-%u, length %zu", a->src, a->dst, proto, len);
	return 0;
}

static void put_fragment(struct out *o, const struct addrs *a, uint8_t proto, unsigned off,
			 size_t len)
{
	put(o, "%s > %s: ip-proto-%u fragment offset %u, length %zu", a->src, a->dst, proto, off,
	    len);
}

static int put_ipv4(struct out *o, const uint8_t *p, size_t len)
{
	struct ipv4_hdr h;
	struct addrs a;
	int r = ipv4_parse(p, len, &h);

	if (r < 0)
		return r;
	if (h.total_len < h.hlen)
		return -WIRE_ELEN;
	ip4_str(h.src, a.src);
	ip4_str(h.dst, a.dst);
	a.src_ip = ip_from4(h.src);
	a.dst_ip = ip_from4(h.dst);
	size_t plen = (size_t)h.total_len - h.hlen;
	unsigned off = (h.frag & IPV4_OFFMASK) * 8u;
	if (off) {
		put_fragment(o, &a, h.proto, off, plen);
		return 0;
	}
	return put_l4(o, &a, h.proto, NULL, p + h.hlen, plen);
}

static int put_ipv6(struct out *o, const uint8_t *p, size_t len)
{
	struct ipv6_hdr h;
	struct addrs a;
	int r = ipv6_parse(p, len, &h);

	if (r < 0)
		return r;
	size_t end = (size_t)IPV6_HLEN + h.payload_len;
	if (end < h.hdr_len || end > len)
		return -WIRE_ELEN;
	ip6_str(h.src, a.src);
	ip6_str(h.dst, a.dst);
	a.src_ip = ip_from6(h.src);
	a.dst_ip = ip_from6(h.dst);
	size_t plen = end - h.hdr_len;
	unsigned off = h.frag_off & ~1u;
	if (h.fragment && off) {
		put_fragment(o, &a, h.proto, off, plen);
		return 0;
	}
	return put_l4(o, &a, h.proto, &h, p + h.hdr_len, plen);
}

/* ---- ARP ---- */

static int put_arp(struct out *o, const uint8_t *p, size_t len)
{
	struct arp_pkt ap;
	char spa[INET6_ADDRSTRLEN], tpa[INET6_ADDRSTRLEN];
	int r = arp_parse(p, len, &ap);

	if (r < 0)
		return r;
	ip4_str(ap.spa, spa);
	ip4_str(ap.tpa, tpa);
	if (ap.op == ARP_OP_REQUEST)
		put(o, "ARP, Request who-has %s tell %s", tpa, spa);
	else if (ap.op == ARP_OP_REPLY)
		put(o, "ARP, Reply %s is-at %02x:%02x:%02x:%02x:%02x:%02x", spa, ap.sha[0],
		    ap.sha[1], ap.sha[2], ap.sha[3], ap.sha[4], ap.sha[5]);
	else
		put(o, "ARP, op %u", ap.op);
	put(o, ", length %zu", len);
	return 0;
}

/* ---- link headers ---- */

#define SLL_HLEN 16 /* packet type, ARPHRD type, address length, 8 bytes of address, protocol */
#define SLL2_HLEN \
	20 /* protocol, reserved, ifindex, ARPHRD type, packet type, address length, address */

/* The EtherType of what follows a frame's link header, and where it starts. */
static int link_header(enum ustcp_link link, const uint8_t *f, size_t len, uint16_t *type,
		       size_t *hlen)
{
	struct eth_hdr eh;
	int r;

	switch (link) {
	case USTCP_LINK_ETHERNET:
		r = eth_parse(f, len, &eh);
		if (r < 0)
			return r;
		*type = eh.type;
		*hlen = ETH_HLEN;
		return 0;
	case USTCP_LINK_IP:
		if (len < 1)
			return -WIRE_ETRUNC;
		*hlen = 0;
		if (f[0] >> 4 == 4)
			*type = ETHERTYPE_IPV4;
		else if (f[0] >> 4 == 6)
			*type = ETHERTYPE_IPV6;
		else
			return -WIRE_EVERSION;
		return 0;
	case USTCP_LINK_SLL:
		if (len < SLL_HLEN)
			return -WIRE_ETRUNC;
		*type = rd16(f + 14);
		*hlen = SLL_HLEN;
		return 0;
	case USTCP_LINK_SLL2:
		if (len < SLL2_HLEN)
			return -WIRE_ETRUNC;
		*type = rd16(f);
		*hlen = SLL2_HLEN;
		return 0;
	}
	return -WIRE_EFORMAT;
}

static int format_link(struct out *o, enum ustcp_link link, const uint8_t *frame, size_t len)
{
	uint16_t type = 0;
	size_t hlen = 0;
	int r;

	reset(o);
	r = frame ? link_header(link, frame, len, &type, &hlen) : -WIRE_ETRUNC;
	if (r >= 0) {
		const uint8_t *p = frame + hlen;
		size_t plen = len - hlen;
		switch (type) {
		case ETHERTYPE_ARP:
			r = put_arp(o, p, plen);
			break;
		case ETHERTYPE_IPV4:
			r = put_ipv4(o, p, plen);
			break;
		case ETHERTYPE_IPV6:
			r = put_ipv6(o, p, plen);
			break;
		default:
			put(o, "ethertype 0x%04x, length %zu", type, len);
			break;
		}
	}
	if (r < 0) {
		/* Start over: part of the line may already be written. */
		reset(o);
		o->conn = 0;
		put(o, "malformed frame (%s), length %zu", wire_strerror(r), len);
	}
	return o->pos > INT32_MAX ? INT32_MAX : (int)o->pos;
}

int ustcp_format_link(char *buf, size_t size, enum ustcp_link link, const uint8_t *frame,
		      size_t len)
{
	struct out o = {.buf = buf, .size = size};

	return format_link(&o, link, frame, len);
}

int ustcp_format_frame(char *buf, size_t size, const uint8_t *frame, size_t len)
{
	return ustcp_format_link(buf, size, USTCP_LINK_ETHERNET, frame, len);
}

struct ustcp_printer *ustcp_printer_new(unsigned flags)
{
	struct ustcp_printer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->flags = flags;
	p->conns = trace_conns_new();
	if (!p->conns) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void ustcp_printer_free(struct ustcp_printer *p)
{
	if (!p)
		return;
	trace_conns_free(p->conns);
	free(p);
}

int ustcp_printer_format(struct ustcp_printer *p, char *buf, size_t size, enum ustcp_link link,
			 const uint8_t *frame, size_t len, uint64_t *conn)
{
	struct out o = {.buf = buf, .size = size, .pr = p};
	int n = format_link(&o, link, frame, len);

	*conn = o.conn;
	return o.err ? o.err : n;
}

void ustcp_print_event(FILE *f, const struct ustcp_trace_event *ev)
{
	char small[512];
	char *line = small;
	int n = ustcp_format_frame(small, sizeof(small), ev->frame, ev->len);

	if (n >= (int)sizeof(small)) {
		line = malloc((size_t)n + 1);
		if (line)
			ustcp_format_frame(line, (size_t)n + 1, ev->frame, ev->len);
		else
			line = small; /* print the truncated line rather than nothing */
	}
	fprintf(f, "%" PRIu64 ".%06" PRIu64 " %s", ev->now / 1000000000u,
		ev->now % 1000000000u / 1000u, line);
	if (ev->has_conn) {
		if (ev->state_before == ev->state_after)
			fprintf(f, "  %s", ustcp_state_name(ev->state_after));
		else
			fprintf(f, "  %s -> %s", ustcp_state_name(ev->state_before),
				ustcp_state_name(ev->state_after));
	}
	if (ev->drop > 0 && ev->drop < USTCP_DROP_COUNT)
		fprintf(f, "  dropped: %s", ustcp_drop_desc((enum ustcp_drop)ev->drop));
	else if (ev->drop != 0)
		fprintf(f, "  dropped: reason %d", ev->drop);
	fputc('\n', f);
	if (line != small)
		free(line);
}
