/* net.c — Ethernet demultiplexing, ARP (RFC 826), IPv4 (RFC 791) input and
 * output, and ICMP echo (RFC 792). IPv6 frames are parsed by wire/ but not
 * yet served: they are dropped and counted. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tcp/tcp.h"
#include "wire/wire.h"

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int net_create(struct ustcp_stack *s)
{
	s->net = calloc(1, sizeof(*s->net));
	return s->net ? 0 : -ENOMEM;
}

void net_destroy(struct ustcp_stack *s)
{
	if (!s->net)
		return;
	for (int i = 0; i < NET_ARP_PENDING; i++)
		free(s->net->pending[i].frame);
	ip_frag_destroy(s->net->frags);
	free(s->net);
	s->net = NULL;
}

/* TSO: every transmit slot must hold a 64 KiB IP datagram. Called while
 * setting up, when no frame is queued. */
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
	for (int i = 0; i < NET_ARP_PENDING; i++) {
		free(s->net->pending[i].frame); /* reallocated at the new size */
		s->net->pending[i].frame = NULL;
		s->net->pending[i].hop = 0;
	}
	s->frame_cap = cap;
	return 0;
}

int ustcp_iface_add(struct ustcp_stack *s, const struct ustcp_iface_config *ic)
{
	if (s->n_ifaces == USTCP_MAX_IFACES)
		return -ENOSPC;
	if ((!ic->transmit && !ic->transmit_meta) || ic->prefix_len > 32 ||
	    (ic->offloads && !ic->transmit_meta))
		return -EINVAL;
	if ((ic->offloads & USTCP_OFFLOAD_TSO) && grow_frames(s, ETH_HLEN + NET_TSO_MAX) < 0)
		return -ENOMEM;
	struct iface *ifc = &s->ifaces[s->n_ifaces];
	memcpy(ifc->mac, ic->mac, 6);
	ifc->ip4 = ntohl(ic->ip4);
	ifc->prefix_len = ic->prefix_len;
	ifc->gateway = ntohl(ic->gateway);
	ifc->mtu = ic->mtu ? ic->mtu : s->cfg.mtu;
	if ((size_t)ifc->mtu + ETH_HLEN > s->frame_cap || ifc->mtu < 68)
		return -EINVAL;
	ifc->transmit = ic->transmit;
	ifc->transmit_ctx = ic->transmit_ctx;
	ifc->transmit_meta = ic->transmit_meta;
	ifc->offloads = ic->offloads;
	return s->n_ifaces++;
}

uint32_t net_offloads4(const struct ustcp_stack *s, uint32_t dst)
{
	int iface;
	uint32_t src;
	return net_route4(s, dst, &iface, &src) < 0 ? 0 : s->ifaces[iface].offloads;
}

static struct neigh *neigh_find(struct net *n, uint32_t ip)
{
	for (int i = 0; i < NET_NEIGH_MAX; i++)
		if (n->neigh[i].ip == ip)
			return &n->neigh[i];
	return NULL;
}

/* Send the frames that waited for this neighbour; drop those that waited
 * too long (for anyone). */
static void arp_flush(struct ustcp_stack *s, const struct neigh *e)
{
	struct net *n = s->net;
	for (int i = 0; i < NET_ARP_PENDING; i++) {
		struct arp_pending *q = &n->pending[i];
		if (!q->hop)
			continue;
		if (s->now - q->since > NET_ARP_WAIT) {
			stack_drop(s, USTCP_DROP_arp_unresolved);
			q->hop = 0;
			continue;
		}
		if (q->hop != e->ip)
			continue;
		struct txbuf *tb = stack_tx_begin(s);
		memcpy(tb->buf, q->frame, q->len);
		memcpy(tb->buf, e->mac, 6); /* the Ethernet destination */
		tb->len = q->len;
		tb->meta = q->meta;
		tb->iface = q->iface;
		stack_tx_commit(s, tb);
		q->hop = 0;
	}
}

/* Learn or refresh a mapping; static entries are never overwritten. */
static void neigh_update(struct ustcp_stack *s, int iface, uint32_t ip, const uint8_t mac[6],
			 bool create, bool is_static)
{
	struct net *n = s->net;
	struct neigh *e = neigh_find(n, ip);
	if (!e) {
		if (!create)
			return;
		e = neigh_find(n, 0);
		if (!e) {
			/* Table full: replace dynamic entries round-robin. */
			for (int i = 0; i < NET_NEIGH_MAX && !e; i++) {
				struct neigh *v = &n->neigh[n->neigh_next++ % NET_NEIGH_MAX];
				if (!v->is_static)
					e = v;
			}
			if (!e)
				return;
		}
		e->is_static = false;
	}
	if (e->is_static && !is_static)
		return;
	e->ip = ip;
	memcpy(e->mac, mac, 6);
	e->iface = iface;
	e->is_static = is_static;
	e->confirmed = s->now;
	arp_flush(s, e);
}

int ustcp_neigh_add(struct ustcp_stack *s, int iface, ustcp_ip4 ip, const uint8_t mac[6])
{
	if (iface < 0 || iface >= s->n_ifaces || ip == 0)
		return -EINVAL;
	stack_event_begin(s);
	neigh_update(s, iface, ntohl(ip), mac, true, true);
	stack_event_end(s);
	return 0;
}

bool net_is_local4(const struct ustcp_stack *s, uint32_t ip)
{
	for (int i = 0; i < s->n_ifaces; i++)
		if (ip != 0 && s->ifaces[i].ip4 == ip)
			return true;
	return false;
}

static bool on_link(const struct iface *ifc, uint32_t dst)
{
	uint32_t mask = ifc->prefix_len ? ~0u << (32 - ifc->prefix_len) : 0;
	return (dst & mask) == (ifc->ip4 & mask);
}

int net_route4(const struct ustcp_stack *s, uint32_t dst, int *iface, uint32_t *src)
{
	for (int i = 0; i < s->n_ifaces; i++) {
		if (on_link(&s->ifaces[i], dst)) {
			*iface = i;
			*src = s->ifaces[i].ip4;
			return 0;
		}
	}
	for (int i = 0; i < s->n_ifaces; i++) {
		if (s->ifaces[i].gateway) {
			*iface = i;
			*src = s->ifaces[i].ip4;
			return 0;
		}
	}
	return -ENETUNREACH;
}

uint16_t net_mtu4(const struct ustcp_stack *s, uint32_t dst)
{
	int iface;
	uint32_t src;
	if (net_route4(s, dst, &iface, &src) < 0)
		return (uint16_t)(s->cfg.mtu - IPV4_HLEN);
	return (uint16_t)(s->ifaces[iface].mtu - IPV4_HLEN);
}

static void arp_send(struct ustcp_stack *s, int iface, uint16_t op, const uint8_t *dst_mac,
		     uint32_t tpa)
{
	struct iface *ifc = &s->ifaces[iface];
	struct txbuf *tb = stack_tx_begin(s);
	struct eth_hdr eh = {.type = ETHERTYPE_ARP};
	memcpy(eh.dst, dst_mac, 6);
	memcpy(eh.src, ifc->mac, 6);
	struct arp_pkt ap = {.op = op, .spa = ifc->ip4, .tpa = tpa};
	memcpy(ap.sha, ifc->mac, 6);
	if (op == ARP_OP_REPLY)
		memcpy(ap.tha, dst_mac, 6);
	size_t off = eth_emit(&eh, tb->buf);
	off += arp_emit(&ap, tb->buf + off);
	tb->len = off;
	tb->iface = iface;
	stack_tx_commit(s, tb);
	stat_inc(s, op == ARP_OP_REPLY ? USTCP_C_arp_replies_out : USTCP_C_arp_requests_out);
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
	bool for_us = ap.tpa == s->ifaces[iface].ip4;
	if (ap.spa != 0)
		neigh_update(s, iface, ap.spa, ap.sha, for_us, false);
	if (!for_us) {
		stack_drop(s, USTCP_DROP_arp_not_for_us);
		return;
	}
	if (ap.op == ARP_OP_REQUEST)
		arp_send(s, iface, ARP_OP_REPLY, ap.sha, ap.spa);
}

void net_neigh_revalidate4(struct ustcp_stack *s, uint32_t dst)
{
	int iface;
	uint32_t src;
	if (net_route4(s, dst, &iface, &src) < 0)
		return;
	struct iface *ifc = &s->ifaces[iface];
	uint32_t hop = on_link(ifc, dst) ? dst : ifc->gateway;
	struct neigh *nb = neigh_find(s->net, hop);
	if (nb && !nb->is_static)
		arp_send(s, iface, ARP_OP_REQUEST, bcast_mac, hop);
}

/* The entry to send to, or NULL when the address must be asked for.
 * RFC 1122 §2.3.2.1: a dynamic entry is checked again once stale (asked
 * while still used) and forgotten if nobody confirms it. */
static struct neigh *neigh_usable(struct ustcp_stack *s, int iface, uint32_t hop)
{
	struct neigh *nb = neigh_find(s->net, hop);
	if (!nb || nb->is_static)
		return nb;
	uint64_t age = s->now - nb->confirmed;
	if (age > NET_ARP_EXPIRE) {
		nb->ip = 0;
		return NULL;
	}
	if (age > NET_ARP_STALE && s->now - nb->asked > NET_ARP_RETRY) {
		nb->asked = s->now;
		arp_send(s, iface, ARP_OP_REQUEST, nb->mac, hop);
	}
	return nb;
}

/* Keep the frame until hop's address is known, asking for it (at most
 * once a second while frames wait). A full queue drops its oldest frame. */
static int arp_wait(struct ustcp_stack *s, struct txbuf *tb, uint32_t hop)
{
	struct net *n = s->net;
	struct arp_pending *slot = NULL;
	bool asked = false;
	for (int i = 0; i < NET_ARP_PENDING; i++) {
		struct arp_pending *q = &n->pending[i];
		if (q->hop && s->now - q->since > NET_ARP_WAIT) {
			stack_drop(s, USTCP_DROP_arp_unresolved); /* waited long enough */
			q->hop = 0;
		}
		if (q->hop == hop && s->now - q->since < NET_ARP_RETRY)
			asked = true;
		if (!slot || (slot->hop && (!q->hop || q->since < slot->since)))
			slot = q;
	}
	if (slot->hop)
		stack_drop(s, USTCP_DROP_arp_unresolved); /* the oldest waiting frame */
	if (!slot->frame && !(slot->frame = malloc(s->frame_cap))) {
		slot->hop = 0;
		stack_drop(s, USTCP_DROP_arp_unresolved);
		return -ENOMEM;
	}
	memcpy(slot->frame, tb->buf, tb->len);
	slot->len = tb->len;
	slot->meta = tb->meta;
	slot->iface = tb->iface;
	slot->hop = hop;
	slot->since = s->now;
	stat_inc(s, USTCP_C_arp_queued);
	if (!asked)
		arp_send(s, tb->iface, ARP_OP_REQUEST, bcast_mac, hop);
	return 0;
}

int ustcp_announce(struct ustcp_stack *s, int iface)
{
	if (iface < 0 || iface >= s->n_ifaces)
		return -EINVAL;
	/* RFC 5227 §3 ARP announcement: a request for our own address. */
	stack_event_begin(s);
	arp_send(s, iface, ARP_OP_REQUEST, bcast_mac, s->ifaces[iface].ip4);
	stack_event_end(s);
	return 0;
}

int net_output4(struct ustcp_stack *s, struct txbuf *tb, uint32_t src, uint32_t dst, uint8_t proto,
		size_t l4len)
{
	int iface;
	uint32_t rsrc;
	if (net_route4(s, dst, &iface, &rsrc) < 0) {
		stack_drop(s, USTCP_DROP_ip_no_route);
		return -ENETUNREACH;
	}
	struct iface *ifc = &s->ifaces[iface];
	uint32_t hop = on_link(ifc, dst) ? dst : ifc->gateway;
	struct neigh *nb = neigh_usable(s, iface, hop);
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	memcpy(eh.dst, nb ? nb->mac : bcast_mac, 6);
	memcpy(eh.src, ifc->mac, 6);
	eth_emit(&eh, tb->buf);
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
	tb->iface = iface;
	stat_inc(s, USTCP_C_ip_out);
	if (!nb)
		return arp_wait(s, tb, hop);
	stack_tx_commit(s, tb);
	return 0;
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
		.laddr = src,
		.raddr = dst,
		.lport = (uint16_t)(t[0] << 8 | t[1]),
		.rport = (uint16_t)(t[2] << 8 | t[3]),
		.seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7],
		.type = ih->type,
		.code = ih->code,
		.mtu = (uint16_t)(ih->rest & 0xffff),
	};
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
	if (p->l4len > s->frame_cap - NET_HDR_ROOM4) {
		stack_drop(s, USTCP_DROP_icmp_ignored); /* an echo too big to answer */
		return;
	}
	struct txbuf *tb = stack_tx_begin(s);
	uint8_t *out = tb->buf + NET_HDR_ROOM4;
	memcpy(out + ICMP_HLEN, p->l4 + ICMP_HLEN, p->l4len - ICMP_HLEN);
	struct icmp_hdr reply = {.type = 0, .code = 0, .rest = ih.rest};
	icmp4_emit(&reply, out, p->l4len);
	if (net_output4(s, tb, p->dst, p->src, IPPROTO_ICMP_, p->l4len) == 0)
		stat_inc(s, USTCP_C_icmp_out);
}

static enum ustcp_drop ip_drop_reason(int err)
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

static void ip_deliver(struct ustcp_stack *s, const struct net_pkt *p, uint8_t proto);

static void ipv4_input(struct ustcp_stack *s, int iface, const uint8_t *p, size_t len)
{
	struct ipv4_hdr ih;
	stat_inc(s, USTCP_C_ip_in);
	int rc = ipv4_parse(p, len, &ih);
	if (rc < 0) {
		stack_drop(s, ip_drop_reason(rc));
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
		.src = ih.src,
		.dst = ih.dst,
		.ttl = ih.ttl,
		.tos = ih.tos,
		.l4 = p + ih.hlen,
		.l4len = (size_t)ih.total_len - ih.hlen,
		.csum_ok = s->cur_in_flags & USTCP_RX_CSUM_OK,
	};
	if ((ih.frag & (IPV4_MF | IPV4_OFFMASK)) != 0) {
		pkt.csum_ok = false; /* vouched for one fragment, not the datagram */
		struct ip_frag *f = ip_frag_input(s, s->net->frags, &ih, pkt.l4, pkt.l4len);
		if (!f)
			return;
		pkt.l4 = f->buf;
		pkt.l4len = f->total;
		pkt.ttl = f->ttl;
		pkt.tos = f->tos;
		ip_deliver(s, &pkt, ih.proto);
		ip_frag_done(f);
		return;
	}
	ip_deliver(s, &pkt, ih.proto);
}

static void ip_deliver(struct ustcp_stack *s, const struct net_pkt *p, uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP_:
		tcp_input(s, p);
		break;
	case IPPROTO_ICMP_:
		icmp_input(s, p);
		break;
	default:
		stack_drop(s, USTCP_DROP_ip_unknown_proto);
	}
}

void net_input(struct ustcp_stack *s, int iface, const uint8_t *frame, size_t len)
{
	struct eth_hdr eh;
	if (iface < 0 || iface >= s->n_ifaces || eth_parse(frame, len, &eh) < 0) {
		stack_drop(s, USTCP_DROP_eth_truncated);
		return;
	}
	struct iface *ifc = &s->ifaces[iface];
	if (memcmp(eh.dst, ifc->mac, 6) != 0 && memcmp(eh.dst, bcast_mac, 6) != 0) {
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
		stack_drop(s, USTCP_DROP_eth_unknown_type);
		break;
	default:
		stack_drop(s, USTCP_DROP_eth_unknown_type);
	}
}
