/* tcp.h — the TCP layer's face to the layers around it (internal). */
#ifndef USTCP_TCP_H
#define USTCP_TCP_H

#include "core/addr.h"
#include "core/stack.h"

struct net_pkt;

int tcp_create(struct ustcp_stack *s);
void tcp_destroy(struct ustcp_stack *s);
/* SEGMENT ARRIVES (RFC 9293 §3.10.7). */
void tcp_input(struct ustcp_stack *s, const struct net_pkt *p);
/* An ICMP or ICMPv6 error about a TCP segment we sent: the quoted
 * addresses, ports and sequence number, and what the message means. */
enum tcp_icmp_kind {
	TCP_ICMP_SOFT,    /* remembered, reported to the program and if the connection fails */
	TCP_ICMP_REFUSED, /* port/protocol unreachable: hard in SYN-SENT */
	TCP_ICMP_PMTU,    /* fragmentation needed / packet too big, with mtu */
	TCP_ICMP_NEIGH,   /* our link layer: the next hop never answered; hard in SYN-SENT */
};
struct tcp_icmp_error {
	struct ipaddr laddr, raddr;
	uint16_t lport, rport;
	uint32_t seq;
	enum tcp_icmp_kind kind;
	int err;      /* negative errno to report */
	uint32_t mtu; /* the path MTU the router gave; 0 if none (RFC 1191 §5) */
};
void tcp_icmp_error(struct ustcp_stack *s, const struct tcp_icmp_error *e);
/* Address resolution of hop on iface failed (no ARP or neighbour discovery
 * answer): every connection still trying to send through it gets a
 * TCP_ICMP_NEIGH error (-EHOSTUNREACH), whether or not a frame of its own
 * was still held for the answer. */
void tcp_neigh_unreachable(struct ustcp_stack *s, int iface, const struct ipaddr *hop);

/* Free connections that ended during the current event. */
void tcp_reap(struct ustcp_stack *s);
void tcp_pool_usage(const struct ustcp_stack *s, struct ustcp_pool_usage *u);

#endif
