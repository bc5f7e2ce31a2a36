/* net.c — interfaces, Ethernet demultiplexing, routes, ARP (RFC 826), IPv4
 * (RFC 791) input and output, and ICMP (RFC 792). IPv6 is in net6.c, the
 * neighbour cache both share in neigh.c. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tcp/tcp.h"
#include "wire/wire.h"

const uint8_t net_bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int net_create(struct ustcp_stack *s)
{
	struct net *n = calloc(1, sizeof(*n));
	s->net = n;
	if (!n)
		return -ENOMEM;
	neigh_init(s);
	n->icmp6_err_tokens = NET_ICMP6_ERR_BURST;
	n->n_neigh = s->cfg.neigh_max;
	n->n_pending = s->cfg.neigh_pending;
	n->neigh = calloc(n->n_neigh, sizeof(*n->neigh));
	n->pending = calloc(n->n_pending, sizeof(*n->pending));
	if (!n->neigh || !n->pending || ip_frag_init(&n->frags, s->cfg.frag_max, s->cfg.frag_bytes))
		return -ENOMEM; /* net_destroy frees what was made */
	return 0;
}

void net_destroy(struct ustcp_stack *s)
{
	if (!s->net)
		return;
	struct net *n = s->net;
	tw_cancel(&s->wheel, &n->t_resolve);
	if (n->pending)
		for (uint32_t i = 0; i < n->n_pending; i++)
			free(n->pending[i].frame);
	free(n->pending);
	free(n->neigh);
	ip_frag_destroy(&n->frags);
	free(n);
	s->net = NULL;
}

void ustcp_net_usage(const struct ustcp_stack *s, struct ustcp_net_usage *u)
{
	struct ustcp_stack *m = (struct ustcp_stack *)s; /* the lock is not the stack's state */
	const struct net *n = s->net;
	memset(u, 0, sizeof(*u));
	stack_lock(m);
	for (uint32_t i = 0; i < n->n_neigh; i++)
		u->neigh += n->neigh[i].used;
	for (uint32_t i = 0; i < n->n_pending; i++)
		u->neigh_pending += n->pending[i].used;
	u->frags = ip_frag_count(&n->frags);
	u->frag_bytes = n->frags.bytes;
	stack_unlock(m);
}

/* Transmit slots (and the frames held for a neighbour) hold the largest
 * frame an interface sends: its MTU, or with TSO a 64 KiB IP datagram.
 * They grow only as far as an interface asks, so a stack of small links
 * keeps small slots. Called while setting up, outside any event. */
static int grow_frames(struct ustcp_stack *s, size_t cap)
{
	if (s->frame_cap >= cap)
		return 0;
	for (uint32_t i = 0; i < s->cfg.tx_queue; i++) {
		uint8_t *b = realloc(s->txq[i].buf, cap);
		if (!b)
			return -ENOMEM;
		s->txq[i].buf = b;
	}
	for (uint32_t i = 0; i < s->net->n_pending; i++) {
		struct neigh_pending *q = &s->net->pending[i];
		uint8_t *b = q->frame ? realloc(q->frame, cap) : NULL;
		if (q->frame && !b)
			return -ENOMEM;
		q->frame = b;
	}
	s->frame_cap = cap;
	return 0;
}

int ustcp_iface_add(struct ustcp_stack *s, const struct ustcp_iface_config *ic)
{
	if (s->n_ifaces == USTCP_MAX_IFACES)
		return -ENOSPC;
	if ((!ic->transmit && !ic->transmit_meta) || ic->prefix_len > 32 || ic->prefix6_len > 128 ||
	    (ic->offloads && !ic->transmit_meta))
		return -EINVAL;
	struct ipaddr ip6 = ip_from6(ic->ip6), gw6 = ip_from6(ic->gateway6);
	if ((!ip_is_any(&ip6) && (ip_is4(&ip6) || ip6_is_multicast(ip6.b))) ||
	    (!ip_is_any(&gw6) && (ip_is4(&gw6) || ip6_is_multicast(gw6.b))))
		return -EINVAL;
	if ((uint64_t)ntohl(ic->ip4) + (ic->ip4_count ? ic->ip4_count : 1) > (1ull << 32))
		return -EINVAL; /* a range past 255.255.255.255 */
	uint16_t mtu = ic->mtu ? ic->mtu : s->cfg.mtu;
	/* RFC 791: 68 bytes; RFC 8200 §5: IPv6 needs 1280, so a smaller link
	 * carries IPv4 alone and an IPv6 address on it is an error. */
	if (mtu < 68 || (mtu < NET_IPV6_MIN_MTU && (!ip_is_any(&ip6) || !ip_is_any(&gw6))))
		return -EINVAL;
	size_t frame = ETH_HLEN + (size_t)((ic->offloads & USTCP_OFFLOAD_TSO) ? NET_TSO_MAX : mtu);
	if (grow_frames(s, frame) < 0)
		return -ENOMEM;
	struct iface *ifc = &s->ifaces[s->n_ifaces];
	memcpy(ifc->mac, ic->mac, 6);
	ifc->ip4 = ntohl(ic->ip4);
	ifc->ip4_count = ic->ip4_count ? ic->ip4_count : 1;
	ifc->prefix_len = ic->prefix_len;
	ifc->gateway = ntohl(ic->gateway);
	/* RFC 4291 App. A / RFC 4862 §5.3: fe80::/64 with the modified EUI-64
	 * interface identifier made from the MAC (none on an IPv4-only link). */
	memset(&ifc->ip6_ll, 0, sizeof(ifc->ip6_ll));
	if (mtu >= NET_IPV6_MIN_MTU) {
		ifc->ip6_ll.b[0] = 0xfe;
		ifc->ip6_ll.b[1] = 0x80;
		ifc->ip6_ll.b[8] = ic->mac[0] ^ 0x02;
		ifc->ip6_ll.b[9] = ic->mac[1];
		ifc->ip6_ll.b[10] = ic->mac[2];
		ifc->ip6_ll.b[11] = 0xff;
		ifc->ip6_ll.b[12] = 0xfe;
		memcpy(&ifc->ip6_ll.b[13], ic->mac + 3, 3);
	}
	ifc->ip6 = ip6;
	ifc->prefix6_len = ic->prefix6_len;
	ifc->gateway6 = gw6;
	ifc->mtu = mtu;
	ifc->transmit = ic->transmit;
	ifc->transmit_ctx = ic->transmit_ctx;
	ifc->transmit_meta = ic->transmit_meta;
	ifc->offloads = ic->offloads;
	return s->n_ifaces++;
}

int ustcp_iface_linklocal6(const struct ustcp_stack *s, int iface, uint8_t out[16])
{
	if (iface < 0 || iface >= s->n_ifaces)
		return -EINVAL;
	if (!net_iface_has_ipv6(&s->ifaces[iface]))
		return -EADDRNOTAVAIL;
	memcpy(out, s->ifaces[iface].ip6_ll.b, 16);
	return 0;
}

uint32_t net_offloads(const struct ustcp_stack *s, const struct ipaddr *dst)
{
	int iface;
	struct ipaddr src;
	return net_route(s, dst, &iface, &src) < 0 ? 0 : s->ifaces[iface].offloads;
}

/* Whether ip is one of the interface's IPv4 addresses. */
static bool iface_has4(const struct iface *ifc, uint32_t ip)
{
	return ip != 0 && ifc->ip4 != 0 && ip - ifc->ip4 < ifc->ip4_count;
}

static bool net_is_local4(const struct ustcp_stack *s, uint32_t ip)
{
	for (int i = 0; i < s->n_ifaces; i++)
		if (iface_has4(&s->ifaces[i], ip))
			return true;
	return false;
}

bool net_is_local(const struct ustcp_stack *s, const struct ipaddr *ip)
{
	return ip_is4(ip) ? net_is_local4(s, ip_v4(ip)) : net_is_local6(s, ip);
}

static bool on_link(const struct iface *ifc, uint32_t dst)
{
	uint32_t mask = ifc->prefix_len ? ~0u << (32 - ifc->prefix_len) : 0;
	return (dst & mask) == (ifc->ip4 & mask);
}

static int net_route4(const struct ustcp_stack *s, uint32_t dst, int *iface)
{
	for (int i = 0; i < s->n_ifaces; i++) {
		if (s->ifaces[i].ip4 && on_link(&s->ifaces[i], dst)) {
			*iface = i;
			return 0;
		}
	}
	for (int i = 0; i < s->n_ifaces; i++) {
		if (s->ifaces[i].ip4 && s->ifaces[i].gateway) {
			*iface = i;
			return 0;
		}
	}
	return -ENETUNREACH;
}

int net_route(const struct ustcp_stack *s, const struct ipaddr *dst, int *iface, struct ipaddr *src)
{
	if (!ip_is4(dst))
		return net_route6(s, dst, iface, src);
	if (net_route4(s, ip_v4(dst), iface) < 0)
		return -ENETUNREACH;
	*src = ip_from4(s->ifaces[*iface].ip4);
	return 0;
}

struct ipaddr net_next_hop(const struct ustcp_stack *s, int iface, const struct ipaddr *dst)
{
	const struct iface *ifc = &s->ifaces[iface];
	if (ip_is4(dst))
		return on_link(ifc, ip_v4(dst)) ? *dst : ip_from4(ifc->gateway);
	return net_on_link6(ifc, dst) ? *dst : ifc->gateway6;
}

bool net_goes_via(const struct ustcp_stack *s, const struct ipaddr *dst, int iface,
		  const struct ipaddr *hop)
{
	int i;
	struct ipaddr src;
	if (net_route(s, dst, &i, &src) < 0 || i != iface)
		return false;
	struct ipaddr next = net_next_hop(s, i, dst);
	return ip_eq(&next, hop);
}

uint16_t net_mtu(const struct ustcp_stack *s, const struct ipaddr *dst)
{
	int iface;
	struct ipaddr src;
	uint16_t mtu = net_route(s, dst, &iface, &src) < 0 ? s->cfg.mtu : s->ifaces[iface].mtu;
	return (uint16_t)(mtu - net_ip_hlen(dst));
}

static void eth_fill(struct ustcp_stack *s, struct txbuf *tb, int iface, const uint8_t *dst_mac,
		     uint16_t type)
{
	struct eth_hdr eh = {.type = type};
	memcpy(eh.dst, dst_mac, 6);
	memcpy(eh.src, s->ifaces[iface].mac, 6);
	eth_emit(&eh, tb->buf);
	tb->iface = iface;
}

/* Fill in the Ethernet header of a frame built in tb and queue it. */
void net_send_eth(struct ustcp_stack *s, struct txbuf *tb, int iface, const uint8_t *dst_mac,
		  uint16_t type)
{
	eth_fill(s, tb, iface, dst_mac, type);
	stack_tx_commit(s, tb);
}

int net_send_hop(struct ustcp_stack *s, struct txbuf *tb, int iface, const struct ipaddr *hop,
		 uint16_t type)
{
	bool probe;
	struct neigh *nb = neigh_usable(s, iface, hop, &probe);
	/* A held frame gets its destination when the answer comes. */
	eth_fill(s, tb, iface, nb ? nb->mac : net_bcast_mac, type);
	if (!nb)
		return neigh_wait(s, tb, hop);
	stack_tx_commit(s, tb);
	/* Only now: the question must not take the slot the frame was in. */
	if (probe)
		net_solicit(s, iface, hop, nb->mac);
	return 0;
}

/* An ARP packet from spa, one of the interface's addresses. */
static void arp_send(struct ustcp_stack *s, int iface, uint16_t op, const uint8_t *dst_mac,
		     uint32_t spa, uint32_t tpa)
{
	struct iface *ifc = &s->ifaces[iface];
	struct txbuf *tb = stack_tx_begin(s);
	struct arp_pkt ap = {.op = op, .spa = spa, .tpa = tpa};
	memcpy(ap.sha, ifc->mac, 6);
	if (op == ARP_OP_REPLY)
		memcpy(ap.tha, dst_mac, 6);
	tb->len = ETH_HLEN + arp_emit(&ap, tb->buf + ETH_HLEN);
	net_send_eth(s, tb, iface, dst_mac, ETHERTYPE_ARP);
	stat_inc(s, op == ARP_OP_REPLY ? USTCP_C_arp_replies_out : USTCP_C_arp_requests_out);
}

void net_solicit(struct ustcp_stack *s, int iface, const struct ipaddr *hop, const uint8_t *mac)
{
	if (ip_is4(hop))
		arp_send(s, iface, ARP_OP_REQUEST, mac ? mac : net_bcast_mac, s->ifaces[iface].ip4,
			 ip_v4(hop));
	else
		nd_send_ns(s, iface, hop, mac);
}

/* RFC 826 "Packet reception": merge the sender, answer requests for us. */
static void arp_input(struct ustcp_stack *s, int iface, const uint8_t *p, size_t len)
{
	struct arp_pkt ap;
	stat_inc(s, USTCP_C_arp_in);
	if (arp_parse(p, len, &ap) < 0) {
		stack_drop(s, USTCP_DROP_arp_malformed);
		return;
	}
	bool for_us = iface_has4(&s->ifaces[iface], ap.tpa);
	if (ap.spa != 0) {
		struct ipaddr spa = ip_from4(ap.spa);
		neigh_update(s, iface, &spa, ap.sha, NEIGH_OVERRIDE | (for_us ? NEIGH_CREATE : 0));
	}
	if (!for_us) {
		stack_drop(s, USTCP_DROP_arp_not_for_us);
		return;
	}
	if (ap.op == ARP_OP_REQUEST)
		arp_send(s, iface, ARP_OP_REPLY, ap.sha, ap.tpa,
			 ap.spa); /* from the address asked for */
}

int ustcp_announce(struct ustcp_stack *s, int iface)
{
	if (iface < 0 || iface >= s->n_ifaces)
		return -EINVAL;
	stack_event_begin(s);
	/* RFC 5227 §3 ARP announcement: a request for our own address, each of them. */
	const struct iface *ifc = &s->ifaces[iface];
	for (uint32_t i = 0; ifc->ip4 && i < ifc->ip4_count; i++)
		arp_send(s, iface, ARP_OP_REQUEST, net_bcast_mac, ifc->ip4 + i, ifc->ip4 + i);
	nd_announce(s, iface);
	stack_event_end(s);
	return 0;
}

static int net_output4(struct ustcp_stack *s, struct txbuf *tb, uint32_t src, uint32_t dst,
		       uint8_t proto, size_t l4len)
{
	struct ipv4_hdr ih = {
		.total_len = (uint16_t)(IPV4_HLEN + l4len),
		.id = s->net->ip_id++,
		.frag = IPV4_DF, /* RFC 1191: TCP segments are sized to the path MTU */
		.ttl = 64,
		.proto = proto,
		.src = src,
		.dst = dst,
	};
	ipv4_emit(&ih, tb->buf + ETH_HLEN);
	tb->len = NET_HDR_ROOM4 + l4len;
	stat_inc(s, USTCP_C_ip_out);
	return 0;
}

int net_output(struct ustcp_stack *s, struct txbuf *tb, const struct ipaddr *src,
	       const struct ipaddr *dst, uint8_t proto, size_t l4len)
{
	int iface;
	struct ipaddr rsrc;
	if (net_route(s, dst, &iface, &rsrc) < 0) {
		stack_drop(s, USTCP_DROP_ip_no_route);
		return -ENETUNREACH;
	}
	uint16_t type;
	if (ip_is4(dst)) {
		net_output4(s, tb, ip_v4(src), ip_v4(dst), proto, l4len);
		type = ETHERTYPE_IPV4;
	} else {
		net_output6(s, tb, src, dst, proto, l4len, 64);
		type = ETHERTYPE_IPV6;
	}
	struct ipaddr hop = net_next_hop(s, iface, dst);
	return net_send_hop(s, tb, iface, &hop, type);
}

/* RFC 792 / RFC 1122 §3.2.2.1: an error message quotes the IP header and
 * the first 8 bytes of the datagram that caused it. Errors about TCP
 * segments we sent go to TCP, which checks them against the connection
 * (RFC 5927); the rest are counted and ignored. */
static void icmp_error(struct ustcp_stack *s, const struct net_pkt *p, const struct icmp_hdr *ih)
{
	const uint8_t *q = p->l4 + ICMP_HLEN;
	size_t qlen = p->l4len - ICMP_HLEN;
	size_t ihl = qlen ? (size_t)(q[0] & 0x0f) * 4 : 0;
	if (qlen < IPV4_HLEN || (q[0] >> 4) != 4 || ihl < IPV4_HLEN || qlen < ihl + 8) {
		stack_drop(s, USTCP_DROP_icmp_malformed);
		return;
	}
	uint32_t src = (uint32_t)q[12] << 24 | (uint32_t)q[13] << 16 | (uint32_t)q[14] << 8 | q[15];
	uint32_t dst = (uint32_t)q[16] << 24 | (uint32_t)q[17] << 16 | (uint32_t)q[18] << 8 | q[19];
	if (q[9] != IPPROTO_TCP_ || !net_is_local4(s, src)) {
		stack_drop(s, USTCP_DROP_icmp_ignored);
		return;
	}
	const uint8_t *t = q + ihl;
	struct tcp_icmp_error e = {
		.laddr = ip_from4(src),
		.raddr = ip_from4(dst),
		.lport = rd16(t),
		.rport = rd16(t + 2),
		.seq = rd32(t + 4),
		.kind = TCP_ICMP_SOFT,
	};
	/* RFC 1122 §4.2.3.9: which errors are hard, which soft. */
	if (ih->type == 3 && ih->code == 4) {
		e.kind = TCP_ICMP_PMTU;
		e.mtu = ih->rest & 0xffff;
	} else if (ih->type == 3 && (ih->code == 2 || ih->code == 3)) {
		e.kind = TCP_ICMP_REFUSED;
		e.err = -ECONNREFUSED;
	} else if (ih->type == 11) {
		e.err = -EHOSTUNREACH; /* time exceeded */
	} else if (ih->type == 12) {
		e.err = -EPROTO; /* parameter problem */
	} else if (ih->code == 0 || ih->code == 6 || ih->code == 9) {
		e.err = -ENETUNREACH;
	} else {
		e.err = -EHOSTUNREACH;
	}
	tcp_icmp_error(s, &e);
}

/* RFC 792: answer echo requests; pass errors about our TCP segments on. */
static void icmp_input(struct ustcp_stack *s, const struct net_pkt *p)
{
	struct icmp_hdr ih;
	stat_inc(s, USTCP_C_icmp_in);
	int rc = icmp4_parse(p->l4, p->l4len, &ih);
	if (rc < 0) {
		stack_drop(s, rc == -WIRE_ECSUM ? USTCP_DROP_icmp_bad_csum
						: USTCP_DROP_icmp_malformed);
		return;
	}
	if (ih.type == 3 || ih.type == 11 || ih.type == 12) {
		icmp_error(s, p, &ih);
		return;
	}
	if (ih.type != 8 || ih.code != 0) {
		stack_drop(s, USTCP_DROP_icmp_ignored);
		return;
	}
	/* The stack does not fragment: a reply larger than the link is not
	 * sent (RFC 1122 §3.2.2.6 lets an echo go unanswered). */
	if (p->l4len > net_mtu(s, &p->src) || p->l4len > s->frame_cap - NET_HDR_ROOM4) {
		stack_drop(s, USTCP_DROP_icmp_ignored);
		return;
	}
	struct txbuf *tb = stack_tx_begin(s);
	uint8_t *out = tb->buf + NET_HDR_ROOM4;
	memcpy(out + ICMP_HLEN, p->l4 + ICMP_HLEN, p->l4len - ICMP_HLEN);
	struct icmp_hdr reply = {.type = 0, .code = 0, .rest = ih.rest};
	icmp4_emit(&reply, out, p->l4len);
	if (net_output(s, tb, &p->dst, &p->src, IPPROTO_ICMP_, p->l4len) == 0)
		stat_inc(s, USTCP_C_icmp_out);
}

enum ustcp_drop net_ip_drop_reason(int err)
{
	switch (-err) {
	case WIRE_ETRUNC:
		return USTCP_DROP_ip_truncated;
	case WIRE_EVERSION:
		return USTCP_DROP_ip_bad_version;
	case WIRE_EHLEN:
		return USTCP_DROP_ip_bad_hlen;
	case WIRE_ECSUM:
		return USTCP_DROP_ip_bad_csum;
	case WIRE_EEXT:
		return USTCP_DROP_ip_bad_ext;
	default:
		return USTCP_DROP_ip_bad_len;
	}
}

static void ipv4_input(struct ustcp_stack *s, int iface, const uint8_t *p, size_t len)
{
	struct ipv4_hdr ih;
	stat_inc(s, USTCP_C_ip_in);
	int rc = ipv4_parse(p, len, &ih);
	if (rc < 0) {
		stack_drop(s, net_ip_drop_reason(rc));
		return;
	}
	if (!net_is_local4(s, ih.dst)) {
		stack_drop(s, USTCP_DROP_ip_not_for_us);
		return;
	}
	/* RFC 1122 §3.2.1.3: a source that is broadcast or multicast is discarded. */
	if (ih.src == 0xffffffffu || (ih.src >> 28) == 0xe) {
		stack_drop(s, USTCP_DROP_ip_bad_src);
		return;
	}
	struct net_pkt pkt = {
		.iface = iface,
		.src = ip_from4(ih.src),
		.dst = ip_from4(ih.dst),
		.ttl = ih.ttl,
		.tos = ih.tos,
		.l4 = p + ih.hlen,
		.l4len = (size_t)ih.total_len - ih.hlen,
		.csum_ok = s->cur_in_flags & USTCP_RX_CSUM_OK,
	};
	if ((ih.frag & (IPV4_MF | IPV4_OFFMASK)) != 0) {
		pkt.csum_ok = false; /* vouched for one fragment, not the datagram */
		pkt.fragmented = true;
		struct ip_frag_in in = {
			.key = {.src = pkt.src, .dst = pkt.dst, .id = ih.id, .proto = ih.proto},
			.off = (uint32_t)(ih.frag & IPV4_OFFMASK) * 8,
			.more = ih.frag & IPV4_MF,
			.max = 65535u - ih.hlen,
			.tos = ih.tos,
			.ttl = ih.ttl,
		};
		struct ip_frag *f = ip_frag_input(s, &s->net->frags, &in, pkt.l4, pkt.l4len);
		if (!f)
			return;
		pkt.l4 = f->buf;
		pkt.l4len = f->total;
		pkt.ttl = f->ttl;
		pkt.tos = f->tos;
		net_deliver(s, &pkt, ih.proto);
		ip_frag_done(&s->net->frags, f);
		return;
	}
	net_deliver(s, &pkt, ih.proto);
}

bool net_deliver(struct ustcp_stack *s, const struct net_pkt *p, uint8_t proto)
{
	if (proto == IPPROTO_TCP_) {
		tcp_input(s, p);
	} else if (proto == IPPROTO_ICMP_ && !p->v6) {
		icmp_input(s, p);
	} else if (proto == IPPROTO_ICMPV6_ && p->v6) {
		icmp6_input(s, p);
	} else {
		stack_drop(s, USTCP_DROP_ip_unknown_proto);
		return false;
	}
	return true;
}

void net_input(struct ustcp_stack *s, int iface, const uint8_t *frame, size_t len)
{
	struct eth_hdr eh;
	if (iface < 0 || iface >= s->n_ifaces || eth_parse(frame, len, &eh) < 0) {
		stack_drop(s, USTCP_DROP_eth_truncated);
		return;
	}
	struct iface *ifc = &s->ifaces[iface];
	/* Ours, broadcast, or IPv6 multicast (33:33:..., RFC 2464 §7), whose
	 * groups the IPv6 layer checks. */
	if (memcmp(eh.dst, ifc->mac, 6) != 0 && memcmp(eh.dst, net_bcast_mac, 6) != 0 &&
	    !(eh.dst[0] == 0x33 && eh.dst[1] == 0x33 && eh.type == ETHERTYPE_IPV6)) {
		stack_drop(s, USTCP_DROP_eth_not_for_us);
		return;
	}
	const uint8_t *p = frame + ETH_HLEN;
	size_t plen = len - ETH_HLEN;
	switch (eh.type) {
	case ETHERTYPE_ARP:
		arp_input(s, iface, p, plen);
		break;
	case ETHERTYPE_IPV4:
		ipv4_input(s, iface, p, plen);
		break;
	case ETHERTYPE_IPV6:
		ipv6_input(s, iface, p, plen, eh.dst[0] & 1); /* the group bit */
		break;
	default:
		stack_drop(s, USTCP_DROP_eth_unknown_type);
	}
}
