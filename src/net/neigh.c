/* neigh.c — the neighbour cache (RFC 826 ARP, RFC 4861 neighbour
 * discovery) and the frames that wait for an answer.
 *
 * IPv4 and IPv6 neighbours share one table and one policy, the RFC 1122
 * §2.3.2.1 one: an entry is used until it goes stale, then asked for again
 * (unicast, while still in use: RFC 4861 §7.3.3's DELAY/PROBE in short) and
 * forgotten if nobody confirms it. A frame for a neighbour not yet known
 * waits in a small shared queue while the request goes out; a timer drops
 * (and counts) what waited too long even if nothing else happens. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "net/net.h"

struct neigh *neigh_find(struct net *n, const struct ipaddr *ip)
{
	for (int i = 0; i < NET_NEIGH_MAX; i++)
		if (n->neigh[i].used && ip_eq(&n->neigh[i].ip, ip))
			return &n->neigh[i];
	return NULL;
}

static void pending_drop(struct ustcp_stack *s, struct neigh_pending *q)
{
	stack_drop(s, ip_is4(&q->hop) ? USTCP_DROP_arp_unresolved : USTCP_DROP_nd_unresolved);
	q->used = false;
}

/* Arm the timer for the oldest frame still waiting. */
static void pending_rearm(struct ustcp_stack *s)
{
	struct net *n = s->net;
	uint64_t oldest = UINT64_MAX;
	for (int i = 0; i < NET_NEIGH_PENDING; i++)
		if (n->pending[i].used && n->pending[i].since < oldest)
			oldest = n->pending[i].since;
	if (oldest == UINT64_MAX)
		tw_cancel(&s->wheel, &n->t_pending);
	else
		tw_arm(&s->wheel, &n->t_pending, oldest + NET_ARP_WAIT + 1);
}

static void pending_expire(struct tw_timer *t, uint64_t now)
{
	struct net *n = container_of(t, struct net, t_pending);
	struct ustcp_stack *s = n->stack;
	(void)now;
	stack_event_begin(s);
	for (int i = 0; i < NET_NEIGH_PENDING; i++)
		if (n->pending[i].used && s->now - n->pending[i].since > NET_ARP_WAIT)
			pending_drop(s, &n->pending[i]);
	pending_rearm(s);
	stack_event_end(s);
}

void neigh_init(struct ustcp_stack *s)
{
	s->net->stack = s;
	tw_timer_init(&s->net->t_pending, pending_expire);
}

/* Send the frames that waited for this neighbour; drop those that waited
 * too long (for anyone). */
static void neigh_flush(struct ustcp_stack *s, const struct neigh *e)
{
	struct net *n = s->net;
	for (int i = 0; i < NET_NEIGH_PENDING; i++) {
		struct neigh_pending *q = &n->pending[i];
		if (!q->used)
			continue;
		if (s->now - q->since > NET_ARP_WAIT) {
			pending_drop(s, q);
			continue;
		}
		if (!ip_eq(&q->hop, &e->ip))
			continue;
		struct txbuf *tb = stack_tx_begin(s);
		memcpy(tb->buf, q->frame, q->len);
		memcpy(tb->buf, e->mac, 6); /* the Ethernet destination */
		tb->len = q->len;
		tb->meta = q->meta;
		tb->iface = q->iface;
		stack_tx_commit(s, tb);
		q->used = false;
	}
	pending_rearm(s);
}

/* Learn or refresh a mapping; static entries are never overwritten. */
void neigh_update(struct ustcp_stack *s, int iface, const struct ipaddr *ip, const uint8_t mac[6],
		  unsigned how)
{
	struct net *n = s->net;
	struct neigh *e = neigh_find(n, ip);
	bool create = how & NEIGH_CREATE, is_static = how & NEIGH_STATIC, fresh = !e;
	if (e && !e->is_static && !(how & NEIGH_OVERRIDE) && memcmp(e->mac, mac, 6) != 0)
		return; /* RFC 4861 §7.2.5: without Override a known address stays */
	if (!e) {
		if (!create)
			return;
		for (int i = 0; i < NET_NEIGH_MAX && !e; i++)
			if (!n->neigh[i].used)
				e = &n->neigh[i];
		/* Table full: replace dynamic entries round-robin. */
		for (int i = 0; i < NET_NEIGH_MAX && !e; i++) {
			struct neigh *v = &n->neigh[n->neigh_next++ % NET_NEIGH_MAX];
			if (!v->is_static)
				e = v;
		}
		if (!e)
			return;
		e->is_static = false;
		e->asked = 0;
	}
	if (e->is_static && !is_static)
		return;
	e->used = true;
	e->ip = *ip;
	memcpy(e->mac, mac, 6);
	e->iface = iface;
	e->is_static = is_static;
	/* An unsolicited advertisement says nothing of reachability
	 * (RFC 4861 §7.2.5): a new entry starts as confirmed now, an old one
	 * keeps its age. */
	if (!(how & NEIGH_UNCONFIRMED) || fresh)
		e->confirmed = s->now;
	neigh_flush(s, e);
}

static int neigh_add(struct ustcp_stack *s, int iface, const struct ipaddr *ip,
		     const uint8_t mac[6])
{
	if (iface < 0 || iface >= s->n_ifaces || ip_is_any(ip))
		return -EINVAL;
	stack_event_begin(s);
	neigh_update(s, iface, ip, mac, NEIGH_CREATE | NEIGH_STATIC | NEIGH_OVERRIDE);
	stack_event_end(s);
	return 0;
}

int ustcp_neigh_add(struct ustcp_stack *s, int iface, ustcp_ip4 ip, const uint8_t mac[6])
{
	struct ipaddr a = ip_from4(ntohl(ip));
	return neigh_add(s, iface, &a, mac);
}

int ustcp_neigh_add6(struct ustcp_stack *s, int iface, const uint8_t ip6[16], const uint8_t mac[6])
{
	struct ipaddr a = ip_from6(ip6);
	if (ip6_is_multicast(a.b) || ip_is4(&a) ||
	    (iface >= 0 && iface < s->n_ifaces && !net_iface_has_ipv6(&s->ifaces[iface])))
		return -EINVAL;
	return neigh_add(s, iface, &a, mac);
}

struct neigh *neigh_usable(struct ustcp_stack *s, int iface, const struct ipaddr *hop, bool *probe)
{
	(void)iface;
	*probe = false;
	struct neigh *nb = neigh_find(s->net, hop);
	if (!nb || nb->is_static)
		return nb;
	uint64_t age = s->now - nb->confirmed;
	if (age > NET_ARP_EXPIRE) {
		nb->used = false;
		return NULL;
	}
	if (age > NET_ARP_STALE && s->now - nb->asked > NET_ARP_RETRY) {
		nb->asked = s->now;
		*probe = true;
	}
	return nb;
}

void net_neigh_revalidate(struct ustcp_stack *s, const struct ipaddr *dst)
{
	int iface;
	struct ipaddr src;
	if (net_route(s, dst, &iface, &src) < 0)
		return;
	struct ipaddr hop = net_next_hop(s, iface, dst);
	struct neigh *nb = neigh_find(s->net, &hop);
	if (nb && !nb->is_static)
		net_solicit(s, iface, &hop, NULL);
}

/* A full queue drops its oldest frame. One request per second per
 * neighbour while frames wait (RFC 1122 §2.3.2.1, RFC 4861 §7.2.2). */
int neigh_wait(struct ustcp_stack *s, struct txbuf *tb, const struct ipaddr *hop)
{
	struct net *n = s->net;
	struct neigh_pending *slot = NULL;
	bool asked = false;
	for (int i = 0; i < NET_NEIGH_PENDING; i++) {
		struct neigh_pending *q = &n->pending[i];
		if (q->used && s->now - q->since > NET_ARP_WAIT)
			pending_drop(s, q); /* waited long enough */
		if (q->used && q->asked && ip_eq(&q->hop, hop) && s->now - q->since < NET_ARP_RETRY)
			asked = true;
		if (!slot || (slot->used && (!q->used || q->since < slot->since)))
			slot = q;
	}
	if (slot->used)
		pending_drop(s, slot); /* the oldest waiting frame */
	if (!slot->frame && !(slot->frame = malloc(s->frame_cap))) {
		stack_drop(s, ip_is4(hop) ? USTCP_DROP_arp_unresolved : USTCP_DROP_nd_unresolved);
		return -ENOMEM;
	}
	memcpy(slot->frame, tb->buf, tb->len);
	slot->len = tb->len;
	slot->meta = tb->meta;
	slot->iface = tb->iface;
	slot->hop = *hop;
	slot->used = true;
	slot->asked = !asked;
	slot->since = s->now;
	pending_rearm(s);
	stat_inc(s, ip_is4(hop) ? USTCP_C_arp_queued : USTCP_C_nd_queued);
	if (!asked)
		net_solicit(s, tb->iface, hop, NULL);
	return 0;
}
