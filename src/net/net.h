/* net.h — interfaces: Ethernet, ARP, IPv4 and ICMP (internal).
 *
 * net_input() takes a received frame through Ethernet, ARP and IPv4 and
 * hands TCP segments to tcp_input(). Output: a layer above reserves the
 * Ethernet and IP headers (NET_HDR_ROOM4) in a transmit slot, writes its
 * payload behind them and calls net_output4(), which fills the headers in. */
#ifndef USTCP_NET_H
#define USTCP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/stack.h"
#include "net/ip_frag.h"

#define NET_HDR_ROOM4 (14 + 20)
#define NET_NEIGH_MAX 64
#define NET_TSO_MAX 65535 /* largest IP datagram a TSO driver is given */

/* A received IPv4 packet, as TCP sees it. */
struct net_pkt {
	int iface;
	uint32_t src, dst; /* host order */
	uint8_t ttl, tos;
	const uint8_t *l4; /* transport header */
	size_t l4len;      /* transport header + payload */
	bool csum_ok;      /* the driver vouched for the transport checksum */
};

#define NET_ARP_PENDING 16                  /* frames waiting for ARP, in all */
#define NET_ARP_STALE (60 * 1000000000ull)  /* re-ask for a dynamic entry after this */
#define NET_ARP_EXPIRE (90 * 1000000000ull) /* forget it if still unconfirmed by then */
#define NET_ARP_WAIT (3 * 1000000000ull)    /* a frame waits this long for an answer */
#define NET_ARP_RETRY (1000000000ull)       /* one request per neighbour per second */

struct neigh {
	uint32_t ip; /* host order; 0 = free entry */
	uint8_t mac[6];
	int iface;
	bool is_static;
	uint64_t confirmed; /* when a reply or request from it was last seen */
	uint64_t asked;     /* when we last sent a request for it */
};

/* A frame waiting for its next hop's address (RFC 1122 §2.3.2.2: queue at
 * least one). */
struct arp_pending {
	uint32_t hop; /* 0 = free slot */
	int iface;
	uint64_t since;
	size_t len;
	struct ustcp_tx_meta meta; /* what the driver must finish (offloads) */
	uint8_t *frame;            /* stack->frame_cap bytes */
};

struct net {
	struct neigh neigh[NET_NEIGH_MAX];
	uint32_t neigh_next; /* round-robin victim for a full table */
	uint16_t ip_id;
	struct arp_pending pending[NET_ARP_PENDING];
	struct ip_frag frags[IP_FRAG_MAX];
};

int net_create(struct ustcp_stack *s);
void net_destroy(struct ustcp_stack *s);
void net_input(struct ustcp_stack *s, int iface, const uint8_t *frame, size_t len);

/* Choose the interface and source address for dst; -ENETUNREACH if none. */
int net_route4(const struct ustcp_stack *s, uint32_t dst, int *iface, uint32_t *src);
/* True when ip is one of our addresses (0.0.0.0 matches nothing). */
bool net_is_local4(const struct ustcp_stack *s, uint32_t ip);
/* The offloads (USTCP_OFFLOAD_*) of the interface that reaches dst. */
uint32_t net_offloads4(const struct ustcp_stack *s, uint32_t dst);
/* Largest transport payload (IP MTU - 20) on the interface that reaches dst. */
uint16_t net_mtu4(const struct ustcp_stack *s, uint32_t dst);

/* RFC 1122 §4.2.3.5 R1 "negative advice": the transport hears nothing back,
 * so ask again for the next hop's address (the cached one stays in use
 * until an answer replaces it). Static entries are left alone. */
void net_neigh_revalidate4(struct ustcp_stack *s, uint32_t dst);

/* Complete and queue a frame whose transport header + payload (l4len bytes)
 * is already at tb->buf + NET_HDR_ROOM4. Returns 0, or a negative errno when
 * the frame could not be sent (no route, neighbour unknown: an ARP request
 * goes out instead and the frame is dropped and counted). */
int net_output4(struct ustcp_stack *s, struct txbuf *tb, uint32_t src, uint32_t dst, uint8_t proto,
		size_t l4len);

#endif
