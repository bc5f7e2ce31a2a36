/* net.h — interfaces: Ethernet, ARP and neighbour discovery, IPv4 and
 * IPv6, ICMP and ICMPv6 (internal).
 *
 * net_input() takes a received frame through Ethernet, ARP, IPv4 or IPv6
 * and hands TCP segments to tcp_input(). Output: a layer above reserves the
 * Ethernet and IP headers (net_hdr_room()) in a transmit slot, writes its
 * payload behind them and calls net_output(), which fills the headers in. */
#ifndef USTCP_NET_H
#define USTCP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/stack.h"
#include "net/ip_frag.h"

#define NET_HDR_ROOM4 (14 + 20)
#define NET_HDR_ROOM6 (14 + 40)
#define NET_TSO_MAX 65535     /* largest IP datagram a TSO driver is given */
#define NET_IPV6_MIN_MTU 1280 /* RFC 8200 §5: a link with less carries IPv4 only */

/* IPv6 runs on an interface whose MTU allows it (RFC 8200 §5). */
static inline bool net_iface_has_ipv6(const struct iface *ifc)
{
	return ifc->mtu >= NET_IPV6_MIN_MTU;
}

/* Bytes in front of the transport header for a packet to dst. */
static inline size_t net_hdr_room(const struct ipaddr *dst)
{
	return ip_is4(dst) ? NET_HDR_ROOM4 : NET_HDR_ROOM6;
}
static inline uint16_t net_ip_hlen(const struct ipaddr *dst) { return ip_is4(dst) ? 20 : 40; }

/* A received IP packet, as the transport sees it. */
struct net_pkt {
	int iface;
	struct ipaddr src, dst;
	bool v6;
	uint8_t ttl, tos;  /* IPv6: hop limit, traffic class */
	bool fragmented;   /* it came in fragments (or one atomic fragment) */
	const uint8_t *l4; /* transport header */
	size_t l4len;      /* transport header + payload */
	bool csum_ok;      /* the driver vouched for the transport checksum */
};

#define NET_ARP_STALE (60 * 1000000000ull)  /* re-ask for a dynamic entry after this */
#define NET_ARP_EXPIRE (90 * 1000000000ull) /* forget it if still unconfirmed by then */
/* Resolution gives up this long after its first request (RFC 4861 §7.2.2:
 * MAX_MULTICAST_SOLICIT 3 x RetransTimer 1 s; about what Linux's ARP
 * takes), and frames wait no longer than this. */
#define NET_ARP_WAIT (3 * 1000000000ull)
#define NET_ARP_RETRY (1000000000ull) /* one request per neighbour per second */
/* RFC 4443 §2.4 (f): the ICMPv6 errors a stack sends are rate limited, a
 * token bucket of 10 refilled at 10 a second. */
#define NET_ICMP6_ERR_BURST 10
#define NET_ICMP6_ERR_EVERY (100 * 1000000ull)

/* A neighbour: an IPv4 address learned by ARP or an IPv6 one learned by
 * neighbour discovery, in one cache with one expiry policy. An incomplete
 * entry is one being asked for (RFC 4861 §7.2.2's INCOMPLETE): no address
 * yet, never used to send. */
struct neigh {
	bool used;
	bool incomplete;
	struct ipaddr ip;
	uint8_t mac[6];
	int iface;
	bool is_static;
	uint64_t confirmed; /* when a reply or request from it was last seen */
	uint64_t asked;     /* when we last sent a request for it */
	uint64_t since;     /* incomplete: when the asking began */
};

/* A frame waiting for its next hop's address (RFC 1122 §2.3.2.2, RFC 4861
 * §7.2.2: queue at least one). */
struct neigh_pending {
	bool used;
	struct ipaddr hop;
	int iface;
	uint64_t since;
	uint64_t order; /* of arrival: the oldest goes first, even among frames of one instant */
	size_t len;
	struct ustcp_tx_meta meta; /* what the driver must finish (offloads) */
	uint8_t *frame;            /* stack->frame_cap bytes */
};

/* The tables are sized by the config (neigh_max, neigh_pending, frag_max,
 * frag_bytes) when the stack is made. */
struct net {
	struct ustcp_stack *stack;
	struct neigh *neigh;
	uint32_t n_neigh;
	uint32_t neigh_next; /* round-robin victim for a full table */
	uint16_t ip_id;
	uint32_t frag6_id;
	struct neigh_pending *pending; /* frames waiting for ARP/ND, in all */
	uint32_t n_pending;
	uint64_t pending_order;    /* the next frame's neigh_pending.order */
	struct tw_timer t_resolve; /* the next request, failed resolution or frame to drop */
	uint32_t icmp6_err_tokens; /* ICMPv6 errors that may go now */
	uint64_t icmp6_err_earned; /* when the bucket last gained a token */
	struct ip_frag_table frags;
};

int net_create(struct ustcp_stack *s);
void net_destroy(struct ustcp_stack *s);
void net_input(struct ustcp_stack *s, int iface, const uint8_t *frame, size_t len);

/* Choose the interface and source address for dst (either family);
 * -ENETUNREACH if none. */
int net_route(const struct ustcp_stack *s, const struct ipaddr *dst, int *iface,
	      struct ipaddr *src);
/* True when ip is one of our unicast addresses (:: and 0.0.0.0 match nothing). */
bool net_is_local(const struct ustcp_stack *s, const struct ipaddr *ip);
/* The offloads (USTCP_OFFLOAD_*) of the interface that reaches dst. */
uint32_t net_offloads(const struct ustcp_stack *s, const struct ipaddr *dst);
/* Largest transport payload (link MTU less the IP header) towards dst. */
uint16_t net_mtu(const struct ustcp_stack *s, const struct ipaddr *dst);
/* Whether packets to dst leave on iface for the neighbour hop. */
bool net_goes_via(const struct ustcp_stack *s, const struct ipaddr *dst, int iface,
		  const struct ipaddr *hop);

/* RFC 1122 §4.2.3.5 R1 "negative advice" (RFC 4861 §7.3.1 upper-layer
 * hints): the transport hears nothing back, so ask again for the next
 * hop's address (the cached one stays in use until an answer replaces it).
 * Static entries are left alone. */
void net_neigh_revalidate(struct ustcp_stack *s, const struct ipaddr *dst);

/* Complete and queue a frame whose transport header + payload (l4len bytes)
 * is already at tb->buf + net_hdr_room(dst). Returns 0, or a negative errno
 * when the frame could not be sent (no route; neighbour unknown: the frame
 * waits for the answer to the request that goes out instead). */
int net_output(struct ustcp_stack *s, struct txbuf *tb, const struct ipaddr *src,
	       const struct ipaddr *dst, uint8_t proto, size_t l4len);

/* ---- internal to net/ ---- */
extern const uint8_t net_bcast_mac[6];
/* neigh.c: the cache and the frames waiting on it. */
/* The entry for ip, incomplete ones included, or NULL. */
struct neigh *neigh_find(struct net *n, const struct ipaddr *ip);
/* Whether ip is being asked for (an advertisement of it is wanted). */
bool neigh_resolving(struct net *n, const struct ipaddr *ip);
#define NEIGH_CREATE 1u      /* make an entry if there is none */
#define NEIGH_STATIC 2u      /* a static entry (only those replace static ones) */
#define NEIGH_OVERRIDE 4u    /* a different MAC replaces the known one */
#define NEIGH_UNCONFIRMED 8u /* not a sign the neighbour is reachable */
void neigh_update(struct ustcp_stack *s, int iface, const struct ipaddr *ip, const uint8_t mac[6],
		  unsigned how);
/* The entry to send to, or NULL when the address must be asked for. */
struct neigh *neigh_usable(struct ustcp_stack *s, int iface, const struct ipaddr *hop, bool *probe);
/* Keep the frame in tb until hop's address is known, asking for it (once
 * a second, for NET_ARP_WAIT; then resolution has failed: the frames for
 * hop are dropped and TCP is told, tcp_neigh_unreachable). */
int neigh_wait(struct ustcp_stack *s, struct txbuf *tb, const struct ipaddr *hop);
void neigh_init(struct ustcp_stack *s);
/* Ask for hop's link address: ARP or a neighbour solicitation, broadcast
 * (multicast) when mac is NULL, else unicast to mac. net.c. */
void net_solicit(struct ustcp_stack *s, int iface, const struct ipaddr *hop, const uint8_t *mac);
/* The next hop towards dst on iface: dst itself when on link, else the router. */
struct ipaddr net_next_hop(const struct ustcp_stack *s, int iface, const struct ipaddr *dst);
void net_send_eth(struct ustcp_stack *s, struct txbuf *tb, int iface, const uint8_t *dst_mac,
		  uint16_t type);
/* Send a frame to a neighbour on iface: at once when its link address is
 * known (asking again, after the frame, if the entry went stale), else held
 * while it is asked for. */
int net_send_hop(struct ustcp_stack *s, struct txbuf *tb, int iface, const struct ipaddr *hop,
		 uint16_t type);

/* Hand a packet to its transport (or ICMP); false (counted) when there is
 * none for proto. */
bool net_deliver(struct ustcp_stack *s, const struct net_pkt *p, uint8_t proto);
enum ustcp_drop net_ip_drop_reason(int wire_err);

/* net6.c: IPv6, neighbour discovery (RFC 4861), ICMPv6 (RFC 4443).
 * link_group: the frame came to a link-layer broadcast or multicast. */
void ipv6_input(struct ustcp_stack *s, int iface, const uint8_t *p, size_t len, bool link_group);
int net_route6(const struct ustcp_stack *s, const struct ipaddr *dst, int *iface,
	       struct ipaddr *src);
bool net_is_local6(const struct ustcp_stack *s, const struct ipaddr *ip);
int net_output6(struct ustcp_stack *s, struct txbuf *tb, const struct ipaddr *src,
		const struct ipaddr *dst, uint8_t proto, size_t l4len, uint8_t hop_limit);
void nd_send_ns(struct ustcp_stack *s, int iface, const struct ipaddr *target, const uint8_t *mac);
void nd_announce(struct ustcp_stack *s, int iface);
void icmp6_input(struct ustcp_stack *s, const struct net_pkt *p);
bool net_on_link6(const struct iface *ifc, const struct ipaddr *dst);

#endif
