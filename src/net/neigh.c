/* neigh.c — the neighbour cache (RFC 826 ARP, RFC 4861 neighbour
 * discovery) and the frames that wait for an answer.
 *
 * IPv4 and IPv6 neighbours share one table and one policy, the RFC 1122
 * §2.3.2.1 one: an entry is used until it goes stale, then asked for again
 * (unicast, while still in use: RFC 4861 §7.3.3's DELAY/PROBE in short) and
 * forgotten if nobody confirms it. A neighbour not yet known gets an
 * incomplete entry while it is asked for, once a second (RFC 4861 §7.2.2);
 * frames for it wait in a small shared queue (neigh_pending frames, of all
 * neighbours; the table holds neigh_max entries). When 3 s pass without an
 * answer, resolution has failed: the frames for it are dropped (counted)
 * and TCP is told, for every connection sending through that neighbour, not
 * only those with a frame still queued (a full queue pushes the oldest
 * out). One timer asks, gives up and drops, even if nothing else happens. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "net/net.h"
#include "tcp/tcp.h"

struct neigh *neigh_find(struct net *n, const struct ipaddr *ip)
{
	for (uint32_t i = 0; i < n->n_neigh; i++)
		if (n->neigh[i].used && ip_eq(&n->neigh[i].ip, ip))
			return &n->neigh[i];
	return NULL;
}

bool neigh_resolving(struct net *n, const struct ipaddr *ip)
{
	const struct neigh *e = neigh_find(n, ip);
	if (e && e->incomplete)
		return true;
	for (uint32_t i = 0; i < n->n_pending; i++)
		if (n->pending[i].used && ip_eq(&n->pending[i].hop, ip))
			return true;
	return false;
}

/* A free entry, or in a full table one given up for it (counted): an
 * incomplete one first, so that addresses nobody answers for push out
 * only each other, not neighbours that answered; else a dynamic one,
 * round-robin. NULL (counted) when every entry is static. */
static struct neigh *neigh_alloc(struct ustcp_stack *s)
{
	struct net *n = s->net;
	for (uint32_t i = 0; i < n->n_neigh; i++)
		if (!n->neigh[i].used)
			return &n->neigh[i];
	uint32_t victim = UINT32_MAX;
	for (uint32_t k = 0; k < n->n_neigh; k++) {
		uint32_t i = (n->neigh_next + k) % n->n_neigh;
		if (n->neigh[i].incomplete) {
			victim = i;
			break;
		}
		if (!n->neigh[i].is_static && victim == UINT32_MAX)
			victim = i;
	}
	if (victim == UINT32_MAX) {
		stat_inc(s, USTCP_C_neigh_table_full);
		return NULL;
	}
	n->neigh_next = victim + 1;
	stat_inc(s, USTCP_C_neigh_evicted);
	return &n->neigh[victim];
}

static void pending_drop(struct ustcp_stack *s, struct neigh_pending *q)
{
	stack_drop(s, ip_is4(&q->hop) ? USTCP_DROP_arp_unresolved : USTCP_DROP_nd_unresolved);
	q->used = false;
}

/* Arm the timer for what comes first: the next request for, or the
 * failure of, an incomplete entry, or a frame that waited too long (one
 * whose entry a full table gave away). */
static void resolve_rearm(struct ustcp_stack *s)
{
	struct net *n = s->net;
	uint64_t at = UINT64_MAX;
	for (uint32_t i = 0; i < n->n_neigh; i++) {
		const struct neigh *e = &n->neigh[i];
		if (e->used && e->incomplete)
			at = MIN(at, MIN(e->asked + NET_ARP_RETRY, e->since + NET_ARP_WAIT));
	}
	for (uint32_t i = 0; i < n->n_pending; i++)
		if (n->pending[i].used)
			at = MIN(at, n->pending[i].since + NET_ARP_WAIT + 1);
	if (at == UINT64_MAX)
		tw_cancel(&s->wheel, &n->t_resolve);
	else
		tw_arm(&s->wheel, &n->t_resolve, at);
}

/* RFC 4861 §7.2.2 (and RFC 1122 §2.3.2.1 for ARP): no answer came, so
 * address resolution of hop has failed. Its frames are dropped and TCP
 * learns it (RFC 1122 §4.2.3.9); the next frame for hop starts again. */
static void neigh_failed(struct ustcp_stack *s, int iface, struct ipaddr hop)
{
	struct net *n = s->net;
	struct neigh *e = neigh_find(n, &hop);
	if (e && e->incomplete)
		e->used = false;
	for (uint32_t i = 0; i < n->n_pending; i++)
		if (n->pending[i].used && ip_eq(&n->pending[i].hop, &hop))
			pending_drop(s, &n->pending[i]);
	tcp_neigh_unreachable(s, iface, &hop);
}

static void resolve_fire(struct tw_timer *t, uint64_t now)
{
	struct net *n = container_of(t, struct net, t_resolve);
	struct ustcp_stack *s = n->stack;
	(void)now;
	stack_event_begin(s);
	for (uint32_t i = 0; i < n->n_neigh; i++) {
		struct neigh *e = &n->neigh[i];
		if (!e->used || !e->incomplete)
			continue;
		if (s->now - e->since >= NET_ARP_WAIT) {
			neigh_failed(s, e->iface, e->ip);
		} else if (s->now - e->asked >= NET_ARP_RETRY) {
			e->asked = s->now;
			net_solicit(s, e->iface, &e->ip, NULL);
		}
	}
	for (uint32_t i = 0; i < n->n_pending; i++)
		if (n->pending[i].used && s->now - n->pending[i].since > NET_ARP_WAIT)
			neigh_failed(s, n->pending[i].iface, n->pending[i].hop);
	resolve_rearm(s);
	stack_event_end(s);
}

void neigh_init(struct ustcp_stack *s)
{
	s->net->stack = s;
	tw_timer_init(&s->net->t_resolve, resolve_fire);
}

/* Send the frames that waited for this neighbour. */
static void neigh_flush(struct ustcp_stack *s, const struct neigh *e)
{
	struct net *n = s->net;
	for (uint32_t i = 0; i < n->n_pending; i++) {
		struct neigh_pending *q = &n->pending[i];
		if (!q->used || !ip_eq(&q->hop, &e->ip))
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
	resolve_rearm(s);
}

/* Learn or refresh a mapping; static entries are never overwritten. An
 * incomplete entry takes the first answer, whatever the flags. */
void neigh_update(struct ustcp_stack *s, int iface, const struct ipaddr *ip, const uint8_t mac[6],
		  unsigned how)
{
	struct net *n = s->net;
	struct neigh *e = neigh_find(n, ip);
	bool create = how & NEIGH_CREATE, is_static = how & NEIGH_STATIC;
	bool fresh = !e || e->incomplete;
	if (e && !fresh && !e->is_static && !(how & NEIGH_OVERRIDE) && memcmp(e->mac, mac, 6) != 0)
		return; /* RFC 4861 §7.2.5: without Override a known address stays */
	if (!e) {
		if (!create || !(e = neigh_alloc(s)))
			return;
		e->is_static = false;
		e->asked = 0;
	}
	if (e->is_static && !is_static)
		return;
	e->used = true;
	e->incomplete = false;
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
	if (!nb || nb->incomplete)
		return NULL;
	if (nb->is_static)
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
	if (nb && !nb->is_static && !nb->incomplete)
		net_solicit(s, iface, &hop, NULL);
}

/* Begin asking for hop (RFC 4861 §7.2.2: an INCOMPLETE entry, and a
 * request at once) unless that is under way. */
static void neigh_resolve(struct ustcp_stack *s, int iface, const struct ipaddr *hop)
{
	struct net *n = s->net;
	if (neigh_find(n, hop))
		return; /* being asked for (a known one would not be waited for) */
	struct neigh *e = neigh_alloc(s);
	if (e) {
		memset(e, 0, sizeof(*e));
		e->used = true;
		e->incomplete = true;
		e->ip = *hop;
		e->iface = iface;
		e->since = e->asked = s->now;
	}
	/* Without an entry (every one static) the frame's own wait bounds the
	 * asking. */
	net_solicit(s, iface, hop, NULL);
}

/* A full queue (neigh_pending) drops its oldest frame. One request per
 * second per neighbour while it is asked for (RFC 1122 §2.3.2.1, RFC 4861
 * §7.2.2). */
int neigh_wait(struct ustcp_stack *s, struct txbuf *tb, const struct ipaddr *hop)
{
	struct net *n = s->net;
	struct neigh_pending *slot = NULL;
	for (uint32_t i = 0; i < n->n_pending; i++) {
		struct neigh_pending *q = &n->pending[i];
		if (!slot || (slot->used && (!q->used || q->order < slot->order)))
			slot = q;
	}
	if (slot->used) { /* the oldest waiting frame makes way */
		stack_drop(s, USTCP_DROP_neigh_queue_full);
		slot->used = false;
	}
	if (!slot->frame && !(slot->frame = malloc(s->frame_cap))) {
		stack_drop(s, ip_is4(hop) ? USTCP_DROP_arp_unresolved : USTCP_DROP_nd_unresolved);
		return -ENOMEM;
	}
	/* Held for a while: its own copy, payload pieces gathered. */
	txbuf_copy(tb, slot->frame);
	slot->len = tb->len;
	slot->meta = tb->meta;
	memset(slot->meta.data, 0, sizeof(slot->meta.data));
	memset(slot->meta.data_len, 0, sizeof(slot->meta.data_len));
	slot->iface = tb->iface;
	slot->hop = *hop;
	slot->used = true;
	slot->since = s->now;
	slot->order = n->pending_order++;
	stat_inc(s, ip_is4(hop) ? USTCP_C_arp_queued : USTCP_C_nd_queued);
	/* Only now: the request must not take the slot the frame was in. */
	neigh_resolve(s, tb->iface, hop);
	resolve_rearm(s);
	return 0;
}
