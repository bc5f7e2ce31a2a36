/* net6.c — IPv6 (RFC 8200) input and output, neighbour discovery (RFC 4861:
 * neighbour solicitation and advertisement; addresses are configured
 * statically, so router discovery and redirects are not used) and ICMPv6
 * (RFC 4443: echo, errors about our TCP segments, packet too big included,
 * RFC 8201, and the Parameter Problems RFC 8200 asks a host to send).
 *
 * An interface answers for its link-local address (made from its MAC) and
 * its static global address, and listens to the all-nodes group and the
 * solicited-node groups of both (RFC 4291 §2.8). */
#include <errno.h>
#include <string.h>

#include "core/util.h"
#include "net/net.h"
#include "tcp/tcp.h"
#include "wire/wire.h"

#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1 /* source link-layer address */
#define ND_OPT_TLLA 2 /* target link-layer address */
#define ND_NA_ROUTER 0x80000000u
#define ND_NA_SOLICITED 0x40000000u
#define ND_NA_OVERRIDE 0x20000000u
#define ND_HOP_LIMIT 255            /* RFC 4861 §7.1: proves the message is from the link */
#define ND_LEN (ICMP_HLEN + 16 + 8) /* NS/NA with one link-layer address option */
#define ICMP6_PARAM_PROBLEM 4
#define ICMP6_REDIRECT 137
#define NH_NONE 59 /* RFC 8200 §4.7: nothing follows, nothing to answer */

static const struct ipaddr all_nodes = {{0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

/* RFC 4291 §2.7.1: ff02::1:ffXX:XXXX, the low 24 bits of the address. */
static struct ipaddr solicited_node(const struct ipaddr *a)
{
	struct ipaddr m = {
		{0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a->b[13], a->b[14], a->b[15]}};
	return m;
}

/* RFC 2464 §7: 33:33 and the low 32 bits of the group. */
static void multicast_mac(const struct ipaddr *group, uint8_t mac[6])
{
	mac[0] = mac[1] = 0x33;
	memcpy(mac + 2, group->b + 12, 4);
}

static bool has_global(const struct iface *ifc) { return !ip_is_any(&ifc->ip6); }

bool net_on_link6(const struct iface *ifc, const struct ipaddr *dst)
{
	if (ip6_is_linklocal(dst->b))
		return true;
	if (!has_global(ifc))
		return false;
	unsigned bits = ifc->prefix6_len, full = bits / 8;
	if (memcmp(dst->b, ifc->ip6.b, full) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
	return (dst->b[full] & mask) == (ifc->ip6.b[full] & mask);
}

static bool iface_has6(const struct iface *ifc, const struct ipaddr *a)
{
	return net_iface_has_ipv6(ifc) &&
	       (ip_eq(&ifc->ip6_ll, a) || (has_global(ifc) && ip_eq(&ifc->ip6, a)));
}

bool net_is_local6(const struct ustcp_stack *s, const struct ipaddr *ip)
{
	for (int i = 0; i < s->n_ifaces; i++)
		if (iface_has6(&s->ifaces[i], ip))
			return true;
	return false;
}

/* The groups an interface has joined: all-nodes and its solicited-node ones. */
static bool iface_joined(const struct iface *ifc, const struct ipaddr *g)
{
	if (!net_iface_has_ipv6(ifc))
		return false;
	if (ip_eq(g, &all_nodes))
		return true;
	struct ipaddr m = solicited_node(&ifc->ip6_ll);
	if (ip_eq(g, &m))
		return true;
	m = solicited_node(&ifc->ip6);
	return has_global(ifc) && ip_eq(g, &m);
}

/* RFC 6724 in short: a link-local destination gets the link-local
 * source, anything else the global address. A link-local destination
 * carries no zone in this API: it is reached over the first interface
 * that has IPv6. */
int net_route6(const struct ustcp_stack *s, const struct ipaddr *dst, int *iface,
	       struct ipaddr *src)
{
	if (s->n_ifaces == 0 || ip6_is_multicast(dst->b) || ip_is_any(dst))
		return -ENETUNREACH;
	if (ip6_is_linklocal(dst->b)) {
		for (int i = 0; i < s->n_ifaces; i++) {
			if (net_iface_has_ipv6(&s->ifaces[i])) {
				*iface = i;
				*src = s->ifaces[i].ip6_ll;
				return 0;
			}
		}
		return -ENETUNREACH;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s->n_ifaces; i++) {
			const struct iface *ifc = &s->ifaces[i];
			if (!has_global(ifc))
				continue;
			if (pass == 0 ? net_on_link6(ifc, dst) : !ip_is_any(&ifc->gateway6)) {
				*iface = i;
				*src = ifc->ip6;
				return 0;
			}
		}
	}
	return -ENETUNREACH;
}

int net_output6(struct ustcp_stack *s, struct txbuf *tb, const struct ipaddr *src,
		const struct ipaddr *dst, uint8_t proto, size_t l4len, uint8_t hop_limit)
{
	struct ipv6_hdr ih = {
		.payload_len = (uint16_t)l4len,
		.next_hdr = proto,
		.hop_limit = hop_limit,
	};
	memcpy(ih.src, src->b, 16);
	memcpy(ih.dst, dst->b, 16);
	ipv6_emit(&ih, tb->buf + ETH_HLEN);
	tb->len = NET_HDR_ROOM6 + l4len;
	stat_inc(s, USTCP_C_ip6_out);
	return 0;
}

/* Send a neighbour discovery message built at tb->buf + NET_HDR_ROOM6 (its
 * checksum not yet set): to a group, to a known link address, or to the
 * neighbour cache's. */
static void nd_send(struct ustcp_stack *s, struct txbuf *tb, int iface, const struct ipaddr *src,
		    const struct ipaddr *dst, const uint8_t *mac, const struct icmp_hdr *h)
{
	uint8_t *m = tb->buf + NET_HDR_ROOM6;
	icmp6_emit(h, m, ND_LEN, src->b, dst->b);
	net_output6(s, tb, src, dst, IPPROTO_ICMPV6_, ND_LEN, ND_HOP_LIMIT);
	stat_inc(s, USTCP_C_icmp6_out);
	uint8_t group_mac[6];
	if (ip6_is_multicast(dst->b)) {
		multicast_mac(dst, group_mac);
		mac = group_mac;
	}
	if (mac)
		net_send_eth(s, tb, iface, mac, ETHERTYPE_IPV6);
	else
		net_send_hop(s, tb, iface, dst, ETHERTYPE_IPV6);
}

/* The body of an NS or NA: 4 bytes of flags (in the ICMP header's rest),
 * the target address, one link-layer address option (RFC 4861 §4.6.1). */
static struct txbuf *nd_build(struct ustcp_stack *s, int iface, const struct ipaddr *target,
			      uint8_t opt)
{
	struct txbuf *tb = stack_tx_begin(s);
	uint8_t *m = tb->buf + NET_HDR_ROOM6;
	memcpy(m + ICMP_HLEN, target->b, 16);
	m[ICMP_HLEN + 16] = opt;
	m[ICMP_HLEN + 17] = 1; /* length in units of 8 bytes */
	memcpy(m + ICMP_HLEN + 18, s->ifaces[iface].mac, 6);
	return tb;
}

void nd_send_ns(struct ustcp_stack *s, int iface, const struct ipaddr *target, const uint8_t *mac)
{
	const struct iface *ifc = &s->ifaces[iface];
	/* The source: an address of the target's scope (RFC 4861 §7.2.2). */
	const struct ipaddr *src =
		ip6_is_linklocal(target->b) || !has_global(ifc) ? &ifc->ip6_ll : &ifc->ip6;
	struct ipaddr dst = mac ? *target : solicited_node(target);
	struct txbuf *tb = nd_build(s, iface, target, ND_OPT_SLLA);
	struct icmp_hdr h = {.type = ND_NS};
	nd_send(s, tb, iface, src, &dst, mac, &h);
	stat_inc(s, USTCP_C_nd_ns_out);
}

static void nd_send_na(struct ustcp_stack *s, int iface, const struct ipaddr *target,
		       const struct ipaddr *dst, const uint8_t *mac, bool solicited)
{
	struct txbuf *tb = nd_build(s, iface, target, ND_OPT_TLLA);
	struct icmp_hdr h = {.type = ND_NA,
			     .rest = ND_NA_OVERRIDE | (solicited ? ND_NA_SOLICITED : 0)};
	nd_send(s, tb, iface, target, dst, mac, &h);
	stat_inc(s, USTCP_C_nd_na_out);
}

/* RFC 4861 §7.2.6: unsolicited advertisements of our addresses, as a host
 * coming up does, so stale caches on the link learn our MAC at once. */
void nd_announce(struct ustcp_stack *s, int iface)
{
	const struct iface *ifc = &s->ifaces[iface];
	if (!net_iface_has_ipv6(ifc))
		return;
	nd_send_na(s, iface, &ifc->ip6_ll, &all_nodes, NULL, false);
	if (has_global(ifc))
		nd_send_na(s, iface, &ifc->ip6, &all_nodes, NULL, false);
}

/* The options after the target: each at least 8 bytes long (RFC 4861
 * §7.1.1); the link-layer address option of the given type, if any. */
static bool nd_options(const uint8_t *o, size_t len, uint8_t want, const uint8_t **lla)
{
	*lla = NULL;
	while (len > 0) {
		if (len < 2 || o[1] == 0 || (size_t)o[1] * 8 > len)
			return false;
		if (o[0] == want && o[1] == 1)
			*lla = o + 2;
		len -= (size_t)o[1] * 8;
		o += (size_t)o[1] * 8;
	}
	return true;
}

/* RFC 4861 §7.1.1 validation, §7.2.3 processing of a solicitation. */
static void nd_ns_input(struct ustcp_stack *s, const struct net_pkt *p)
{
	stat_inc(s, USTCP_C_nd_ns_in);
	const uint8_t *lla;
	struct ipaddr target = ip_from6(p->l4 + ICMP_HLEN);
	bool dad = ip_is_any(&p->src);
	struct ipaddr sn = solicited_node(&target);
	if (!nd_options(p->l4 + ND_LEN - 8, p->l4len - (ND_LEN - 8), ND_OPT_SLLA, &lla) ||
	    ip6_is_multicast(target.b) || ip_is4(&target) ||
	    (dad && (lla || !ip_eq(&p->dst, &sn)))) {
		stack_drop(s, USTCP_DROP_nd_malformed);
		return;
	}
	/* RFC 4861 §4.3: a multicast solicitation MUST carry the sender's
	 * link-layer address. Without it the answer would have to wait for a
	 * solicitation of our own, in the queue real traffic needs: answer
	 * only a neighbour we know (as Linux does). */
	const struct neigh *known = neigh_find(s->net, &p->src);
	if (!dad && !lla && ip6_is_multicast(p->dst.b) && (!known || known->incomplete)) {
		stack_drop(s, USTCP_DROP_nd_malformed);
		return;
	}
	if (!iface_has6(&s->ifaces[p->iface], &target)) {
		stack_drop(s, USTCP_DROP_nd_not_for_us);
		return;
	}
	if (dad) { /* RFC 4861 §7.2.4: a node checking the address; tell everyone */
		nd_send_na(s, p->iface, &target, &all_nodes, NULL, false);
		return;
	}
	if (lla) /* §7.2.3 */
		neigh_update(s, p->iface, &p->src, lla, NEIGH_CREATE | NEIGH_OVERRIDE);
	nd_send_na(s, p->iface, &target, &p->src, lla, true);
}

/* RFC 4861 §7.1.2 validation, §7.2.5 processing of an advertisement. An
 * entry is made only for an address we asked about. */
static void nd_na_input(struct ustcp_stack *s, const struct net_pkt *p, uint32_t flags)
{
	stat_inc(s, USTCP_C_nd_na_in);
	const uint8_t *lla;
	struct ipaddr target = ip_from6(p->l4 + ICMP_HLEN);
	if (!nd_options(p->l4 + ND_LEN - 8, p->l4len - (ND_LEN - 8), ND_OPT_TLLA, &lla) ||
	    ip6_is_multicast(target.b) || ip_is4(&target) ||
	    (ip6_is_multicast(p->dst.b) && (flags & ND_NA_SOLICITED))) {
		stack_drop(s, USTCP_DROP_nd_malformed);
		return;
	}
	if (!lla)
		return; /* nothing to learn */
	bool wanted = neigh_resolving(s->net, &target);
	neigh_update(s, p->iface, &target, lla,
		     (wanted ? NEIGH_CREATE : 0) | (flags & ND_NA_OVERRIDE ? NEIGH_OVERRIDE : 0) |
			     (flags & ND_NA_SOLICITED ? 0 : NEIGH_UNCONFIRMED));
}

/* RFC 4443 §2.4: errors quote as much of the offending packet as fits; we
 * need its fixed header and the first 8 bytes of TCP after it. */
static void icmp6_error(struct ustcp_stack *s, const struct net_pkt *p, const struct icmp_hdr *ih)
{
	const uint8_t *q = p->l4 + ICMP_HLEN;
	size_t qlen = p->l4len - ICMP_HLEN;
	if (qlen < IPV6_HLEN + 8 || (q[0] >> 4) != 6) {
		stack_drop(s, USTCP_DROP_icmp_malformed);
		return;
	}
	struct ipaddr src = ip_from6(q + 8), dst = ip_from6(q + 24);
	if (q[6] != IPPROTO_TCP_ || !net_is_local6(s, &src)) {
		stack_drop(s, USTCP_DROP_icmp_ignored);
		return;
	}
	const uint8_t *t = q + IPV6_HLEN;
	struct tcp_icmp_error e = {
		.laddr = src,
		.raddr = dst,
		.lport = rd16(t),
		.rport = rd16(t + 2),
		.seq = rd32(t + 4),
		.kind = TCP_ICMP_SOFT,
	};
	/* RFC 4443 §3; RFC 5461 for which ones end a connection attempt. */
	if (ih->type == 2) {
		e.kind = TCP_ICMP_PMTU;
		e.mtu = ih->rest;
	} else if (ih->type == 1 && (ih->code == 1 || ih->code == 4)) {
		e.kind = TCP_ICMP_REFUSED;
		e.err = ih->code == 1 ? -EACCES : -ECONNREFUSED;
	} else if (ih->type == 1 && ih->code == 0) {
		e.err = -ENETUNREACH;
	} else if (ih->type == 4) {
		e.err = -EPROTO;
	} else {
		e.err = -EHOSTUNREACH;
	}
	tcp_icmp_error(s, &e);
}

static void icmp6_echo(struct ustcp_stack *s, const struct net_pkt *p, const struct icmp_hdr *ih)
{
	/* The stack does not fragment: a reply larger than the link is not
	 * sent (RFC 4443 §4.2 allows an echo to go unanswered). */
	if (p->l4len > net_mtu(s, &p->src) || p->l4len > s->frame_cap - NET_HDR_ROOM6) {
		stack_drop(s, USTCP_DROP_icmp_ignored);
		return;
	}
	/* RFC 4443 §4.2: a reply to a multicast request comes from a unicast
	 * address of ours. */
	struct ipaddr src = p->dst;
	int iface;
	if (ip6_is_multicast(src.b) && net_route6(s, &p->src, &iface, &src) < 0) {
		stack_drop(s, USTCP_DROP_ip_no_route);
		return;
	}
	struct txbuf *tb = stack_tx_begin(s);
	uint8_t *out = tb->buf + NET_HDR_ROOM6;
	memcpy(out + ICMP_HLEN, p->l4 + ICMP_HLEN, p->l4len - ICMP_HLEN);
	struct icmp_hdr reply = {.type = 129, .code = 0, .rest = ih->rest};
	icmp6_emit(&reply, out, p->l4len, src.b, p->src.b);
	if (net_output(s, tb, &src, &p->src, IPPROTO_ICMPV6_, p->l4len) == 0)
		stat_inc(s, USTCP_C_icmp6_out);
}

void icmp6_input(struct ustcp_stack *s, const struct net_pkt *p)
{
	struct icmp_hdr ih;
	stat_inc(s, USTCP_C_icmp6_in);
	int rc = icmp6_parse(p->l4, p->l4len, p->src.b, p->dst.b, &ih);
	if (rc < 0) {
		stack_drop(s, rc == -WIRE_ECSUM ? USTCP_DROP_icmp_bad_csum
						: USTCP_DROP_icmp_malformed);
		return;
	}
	if (ih.type == ND_NS || ih.type == ND_NA) {
		/* RFC 4861 §7.1: hop limit 255, code 0, at least 24 bytes; RFC
		 * 6980 §5: never in fragments. */
		if (p->ttl != ND_HOP_LIMIT || ih.code != 0 || p->l4len < ICMP_HLEN + 16 ||
		    p->fragmented) {
			stack_drop(s, USTCP_DROP_nd_malformed);
			return;
		}
		if (ih.type == ND_NS)
			nd_ns_input(s, p);
		else
			nd_na_input(s, p, ih.rest);
		return;
	}
	if (ih.type >= 1 && ih.type <= 4) {
		icmp6_error(s, p, &ih);
		return;
	}
	if (ih.type == 128 && ih.code == 0) {
		icmp6_echo(s, p, &ih);
		return;
	}
	stack_drop(s, USTCP_DROP_icmp_ignored); /* router discovery, MLD, ... */
}

/* RFC 4443 §2.4 (f): a token bucket for the whole stack. Only what a
 * packet's own bytes provoke draws on it (no connection state), so what it
 * shows an observer is only how many such packets came. */
static bool icmp6_error_allowed(struct ustcp_stack *s)
{
	struct net *n = s->net;
	uint64_t earned = (s->now - n->icmp6_err_earned) / NET_ICMP6_ERR_EVERY;
	if (n->icmp6_err_tokens + earned >= NET_ICMP6_ERR_BURST) {
		n->icmp6_err_tokens = NET_ICMP6_ERR_BURST;
		n->icmp6_err_earned = s->now;
	} else {
		n->icmp6_err_tokens += (uint32_t)earned;
		n->icmp6_err_earned += earned * NET_ICMP6_ERR_EVERY;
	}
	if (n->icmp6_err_tokens == 0) {
		stat_inc(s, USTCP_C_icmp6_errors_limited);
		return false;
	}
	n->icmp6_err_tokens--;
	return true;
}

/* RFC 4443 §2.4 (e.1, e.2): never an error about an ICMPv6 error or a
 * redirect. A type the walk did not reach (a later fragment) is not known
 * to be one. */
static bool about_icmp6_error(const uint8_t *p, const struct ipv6_hdr *ih)
{
	size_t end = IPV6_HLEN + (size_t)ih->payload_len;
	if (ih->proto != IPPROTO_ICMPV6_ || (ih->fragment && (ih->frag_off & 0xfff8u)))
		return false;
	return ih->hdr_len >= end || p[ih->hdr_len] < 128 || p[ih->hdr_len] == ICMP6_REDIRECT;
}

/* RFC 4443 §3.4: a Parameter Problem about packet p (from its IPv6 header
 * on, as ih parsed it) to its source, from the address it was sent to (or
 * ours, if that was a group: §2.2). to_group: the fault is one of the two
 * that are answered even when p went to a group (§2.4 (e.3) exceptions). */
static void icmp6_param_problem(struct ustcp_stack *s, const uint8_t *p, const struct ipv6_hdr *ih,
				uint8_t code, uint32_t ptr, bool to_group, bool link_group)
{
	struct ipaddr dst = ip_from6(ih->src), src = ip_from6(ih->dst);
	int iface;
	/* §2.4 (e.3-e.5): not about a packet to a group, IPv6 or link-layer,
	 * but for those exceptions; (e.6): only to a source that is one node. */
	if (((ip6_is_multicast(src.b) || link_group) && !to_group) || ip_is_any(&dst) ||
	    ip6_is_multicast(dst.b) || about_icmp6_error(p, ih))
		return;
	if (ip6_is_multicast(src.b) && net_route6(s, &dst, &iface, &src) < 0)
		return;
	if (!icmp6_error_allowed(s))
		return;
	/* §2.4 (c): as much of p as fits in the minimum MTU. */
	size_t quote = IPV6_HLEN + (size_t)ih->payload_len;
	quote = MIN(quote, NET_IPV6_MIN_MTU - IPV6_HLEN - ICMP_HLEN);
	quote = MIN(quote, s->frame_cap - NET_HDR_ROOM6 - ICMP_HLEN);
	struct txbuf *tb = stack_tx_begin(s);
	uint8_t *out = tb->buf + NET_HDR_ROOM6;
	memcpy(out + ICMP_HLEN, p, quote);
	struct icmp_hdr h = {.type = ICMP6_PARAM_PROBLEM, .code = code, .rest = ptr};
	icmp6_emit(&h, out, ICMP_HLEN + quote, src.b, dst.b);
	if (net_output(s, tb, &src, &dst, IPPROTO_ICMPV6_, ICMP_HLEN + quote) == 0) {
		stat_inc(s, USTCP_C_icmp6_out);
		stat_inc(s, USTCP_C_icmp6_errors_out);
	}
}

void ipv6_input(struct ustcp_stack *s, int iface, const uint8_t *p, size_t len, bool link_group)
{
	struct ipv6_hdr ih;
	stat_inc(s, USTCP_C_ip6_in);
	int rc = ipv6_parse(p, len, &ih);
	if (rc < 0 && ih.pp == IPV6_PP_NONE) {
		stack_drop(s, net_ip_drop_reason(rc));
		return;
	}
	/* A packet RFC 8200 answers is ours to answer only if it came to us
	 * from a valid source: those checks first. */
	struct ipaddr src = ip_from6(ih.src), dst = ip_from6(ih.dst);
	const struct iface *ifc = &s->ifaces[iface];
	/* An IPv4-only link (MTU below 1280) has no IPv6 address to be for. */
	if (!net_iface_has_ipv6(ifc) ||
	    (ip6_is_multicast(dst.b) ? !iface_joined(ifc, &dst) : !net_is_local6(s, &dst))) {
		stack_drop(s, USTCP_DROP_ip_not_for_us);
		return;
	}
	/* RFC 4291 §2.7: multicast is never a source; the unspecified one only
	 * for a node that has no address yet (RFC 4862 §5.4, neighbour
	 * discovery); ::1 never leaves its host (§2.5.3). An IPv4-mapped
	 * address is never on the wire (§2.5.5.2): inside the stack it would
	 * pass for an IPv4 peer. */
	static const struct ipaddr loopback = {{[15] = 1}};
	if (ip6_is_multicast(src.b) || ip_is4(&src) || ip_eq(&src, &loopback) ||
	    (ip_is_any(&src) && ih.proto != IPPROTO_ICMPV6_)) {
		stack_drop(s, USTCP_DROP_ip_bad_src);
		return;
	}
	if (rc < 0) {
		stack_drop(s, net_ip_drop_reason(rc));
		icmp6_param_problem(s, p, &ih, ih.pp_code, ih.pp_ptr, ih.pp == IPV6_PP_ALWAYS,
				    link_group);
		return;
	}
	/* RFC 1122 §4.2.3.10 (and the like for IPv6): only ICMPv6 to a group;
	 * TCP never answers multicast. */
	if (ip6_is_multicast(dst.b) && ih.proto != IPPROTO_ICMPV6_) {
		stack_drop(s, USTCP_DROP_ip_not_for_us);
		return;
	}
	struct net_pkt pkt = {
		.iface = iface,
		.src = src,
		.dst = dst,
		.v6 = true,
		.ttl = ih.hop_limit,
		.tos = ih.tclass,
		.l4 = p + ih.hdr_len,
		.l4len = IPV6_HLEN + (size_t)ih.payload_len - ih.hdr_len,
		.csum_ok = s->cur_in_flags & USTCP_RX_CSUM_OK,
	};
	if (!ih.fragment) {
		/* RFC 8200 §4: a Next Header we do not know; code 1, pointing
		 * at the field that names it. (Reassembled packets are not
		 * answered: their first fragment's headers are not kept.) */
		if (!net_deliver(s, &pkt, ih.proto) && ih.proto != NH_NONE)
			icmp6_param_problem(s, p, &ih, 1, ih.proto_off, false, link_group);
		return;
	}
	/* RFC 8200 §4.5: the fragmentable part follows the Fragment header;
	 * offsets count from there. What the first fragment carries after it
	 * must be the upper-layer header itself (no further options here). */
	size_t end = IPV6_HLEN + (size_t)ih.payload_len;
	pkt.fragmented = true;
	pkt.csum_ok = false; /* vouched for one fragment, not the packet */
	if (ih.frag_off == 0) {
		/* RFC 6946 §4: an atomic fragment stands alone, whatever other
		 * fragments with its identification may be waiting. */
		pkt.l4 = p + ih.frag_end;
		pkt.l4len = end - ih.frag_end;
		net_deliver(s, &pkt, ih.frag_next);
		return;
	}
	struct ip_frag_in in = {
		.key = {.src = src, .dst = dst, .id = ih.frag_id, .proto = ih.frag_next},
		.off = ih.frag_off & 0xfff8u,
		.more = ih.frag_off & 1u,
		.max = 65535u,
		.tos = ih.tclass,
		.ttl = ih.hop_limit,
	};
	struct ip_frag *f =
		ip_frag_input(s, &s->net->frags, &in, p + ih.frag_end, end - ih.frag_end);
	if (!f)
		return;
	pkt.l4 = f->buf;
	pkt.l4len = f->total;
	net_deliver(s, &pkt, ih.frag_next);
	ip_frag_done(&s->net->frags, f);
}
