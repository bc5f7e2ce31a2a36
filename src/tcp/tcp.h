/* tcp.h — the TCP layer's face to the layers around it (internal). */
#ifndef USTCP_TCP_H
#define USTCP_TCP_H

#include "core/stack.h"

struct net_pkt;

int tcp_create(struct ustcp_stack *s);
void tcp_destroy(struct ustcp_stack *s);
/* SEGMENT ARRIVES (RFC 9293 §3.10.7). */
void tcp_input(struct ustcp_stack *s, const struct net_pkt *p);
/* Free connections that ended during the current event. */
void tcp_reap(struct ustcp_stack *s);
void tcp_pool_usage(const struct ustcp_stack *s, struct ustcp_pool_usage *u);

#endif
