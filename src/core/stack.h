/* stack.h — the stack object shared by every layer (internal).
 *
 * One struct ustcp_stack holds everything a stack owns: its config copy, the
 * time it was last given, its RNG, the timer wheel, counters, the trace and
 * event hooks, the transmit queue, and pointers to the net and tcp layers'
 * own state. Nothing here is global: every function takes the stack.
 *
 * Transmit queue: frames are built in place in queue slots and sent in a
 * batch when the current event (input, poll or user call) ends, after the
 * trace hook has seen the frame that caused them. */
#ifndef USTCP_CORE_STACK_H
#define USTCP_CORE_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/rng.h"
#include "core/timer_wheel.h"
#include "ustcp/socket.h"
#include "ustcp/stack.h"
#include "ustcp/trace.h"

struct net;
struct tcp;

#define USTCP_MAX_IFACES 8

/* An interface: the link's transmit callback and the addresses on it. */
struct iface {
	uint8_t mac[6];
	uint32_t ip4; /* host order */
	uint8_t prefix_len;
	uint32_t gateway;     /* host order; 0 = none */
	struct ipaddr ip6_ll; /* link-local, from the MAC */
	struct ipaddr ip6;    /* static global address; :: = none */
	uint8_t prefix6_len;
	struct ipaddr gateway6; /* :: = none */
	uint16_t mtu;
	ustcp_transmit_fn transmit;
	void *transmit_ctx;
	uint32_t offloads;
	ustcp_transmit_meta_fn transmit_meta;
};

/* One frame waiting in the transmit queue. */
struct txbuf {
	uint8_t *buf; /* capacity: stack->frame_cap */
	size_t len;
	int iface;
	bool has_conn;
	uint8_t state_before, state_after;
	uint64_t conn_id;
	struct ustcp_tx_meta meta;
};

struct ustcp_stack {
	struct ustcp_config cfg;
	uint64_t now;
	struct rng rng;
	struct timer_wheel wheel;
	uint64_t counters[USTCP_C_COUNT];
	uint64_t drops[USTCP_DROP_COUNT];

	ustcp_trace_fn trace;
	void *trace_ctx;
	ustcp_event_fn on_event;
	void *event_ctx;

	/* The frame being processed by ustcp_input, reported to the trace hook
	 * once processing ends; NULL outside ustcp_input. */
	struct ustcp_trace_event *cur_in;
	unsigned cur_in_flags; /* USTCP_RX_* of the frame under input */

	size_t frame_cap;
	struct txbuf *txq;
	uint32_t txq_len;

	struct iface ifaces[USTCP_MAX_IFACES];
	int n_ifaces;

	struct net *net;
	struct tcp *tcp;
	int depth; /* events in progress (see stack_event_begin) */
};

static inline void stat_inc(struct ustcp_stack *s, enum ustcp_counter c) { s->counters[c]++; }
static inline void stat_add(struct ustcp_stack *s, enum ustcp_counter c, uint64_t n)
{
	s->counters[c] += n;
}
/* Count a drop; when it is the frame under input, the trace hook sees why. */
void stack_drop(struct ustcp_stack *s, enum ustcp_drop reason);

/* A free transmit slot (flushing the queue first if it is full). Fill
 * buf/len/iface, then stack_tx_commit(); a slot not committed is reused. */
struct txbuf *stack_tx_begin(struct ustcp_stack *s);
void stack_tx_commit(struct ustcp_stack *s, struct txbuf *tb);
/* Inputs, polls and user calls are events. Calls may nest (a user call from
 * inside an event callback); when the outermost one ends, the transmit
 * queue is flushed and ended connections are freed. */
static inline void stack_event_begin(struct ustcp_stack *s) { s->depth++; }
void stack_event_end(struct ustcp_stack *s);
/* Report the frame under input to the trace hook (once) and send the queue. */
void stack_tx_flush(struct ustcp_stack *s);

#endif
