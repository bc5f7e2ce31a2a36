/* tcp.h — the TCP layer's face to the layers around it (internal). */
#ifndef USTCP_TCP_H
#define USTCP_TCP_H

#include "core/stack.h"

struct net_pkt;

int tcp_create(struct ustcp_stack *s);
void tcp_destroy(struct ustcp_stack *s);
/* SEGMENT ARRIVES (RFC 9293 §3.10.7). */
void tcp_input(struct ustcp_stack *s, const struct net_pkt *p);
/* An ICMP error about a TCP segment we sent: the quoted addresses, ports
 * and sequence number, the ICMP type and code, and for "fragmentation
 * needed" the next-hop MTU (RFC 1191; 0 if the router gave none). */
struct tcp_icmp_error {
	uint32_t laddr, raddr; /* host order */
	uint16_t lport, rport;
	uint32_t seq;
	uint8_t type, code;
	uint16_t mtu;
};
void tcp_icmp_error(struct ustcp_stack *s, const struct tcp_icmp_error *e);

/* Free connections that ended during the current event. */
void tcp_reap(struct ustcp_stack *s);
void tcp_pool_usage(const struct ustcp_stack *s, struct ustcp_pool_usage *u);

#endif
