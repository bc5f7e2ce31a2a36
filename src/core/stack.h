/* stack.h — the stack object shared by every layer (internal).
 *
 * One struct ustcp_stack holds everything a stack owns: its config copy, the
 * time it was last given, its RNG, the timer wheel, counters, the trace and
 * event hooks, the transmit queue, and pointers to the net and tcp layers'
 * own state. Nothing here is global: every function takes the stack.
 *
 * Events: every input, poll and user call is an event; calls may nest (a
 * user call from an event handler). Frames are built in place in transmit
 * queue slots, and user events (readable, writable, ...) are queued on
 * their socket's notice; when the outermost event ends the handler gets
 * each socket's events once, after all processing is done (so any call is
 * safe from it), then the frames go out in one batch, after the trace hook
 * has seen the frame that caused them, and then the layer above frees what
 * ended (the reaper). */
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
	uint32_t ip4;       /* host order */
	uint32_t ip4_count; /* ip4 and the addresses after it that are ours too (1 or more) */
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

/* A socket's user events not yet delivered (embedded in the socket). */
struct stack_notice {
	struct stack_notice *next; /* in the stack's queue while queued */
	struct ustcp_sock *sock;   /* what the handler is given */
	unsigned events;           /* USTCP_EV_* bits; 0: withdrawn */
	bool queued;
	void *waiter; /* the host's per-socket wait state (stack_sync), or NULL */
};

/* What the layer above frees once an event has ended. */
typedef void (*stack_reaper_fn)(struct ustcp_stack *s);

/* How calls from many threads meet the thread that drives the stack. A
 * host (src/runtime/host.c) installs these; without them (the simulator,
 * a program that drives the stack itself) calls never block. The core
 * stays free of threads: it only calls these. All but lock run with the
 * stack locked. */
struct stack_sync {
	void *ctx;
	/* Take the stack (recursively: an event handler's calls nest). */
	void (*lock)(void *ctx);
	/* The monotonic time now (ns), the stack's clock. */
	uint64_t (*clock)(void *ctx);
	/* Give it back; the driving thread learns of earlier deadlines. */
	void (*unlock)(void *ctx);
	/* Sleep, the stack given back meanwhile, until n's socket is woken
	 * (n NULL: any socket) or the deadline (UINT64_MAX: none) passes.
	 * Returns 0, or -ETIMEDOUT. */
	int (*wait)(void *ctx, struct stack_notice *n, uint64_t deadline);
	/* n's socket may be ready for something else now (its readiness
	 * descriptor follows); wake: it had events (its waiters look again). */
	void (*ready)(void *ctx, struct stack_notice *n, bool wake);
	/* n's socket is being freed: drop its wait state. */
	void (*forget)(void *ctx, struct stack_notice *n);
	/* A descriptor readable while n's socket is ready for one of events
	 * (POLLIN, POLLOUT) or has POLLHUP or POLLERR; or a negative errno. */
	int (*fd)(void *ctx, struct stack_notice *n, short events);
};

/* One frame waiting in the transmit queue. */
struct txbuf {
	uint8_t *buf; /* capacity: stack->frame_cap */
	size_t len; /* of the whole frame, meta.data's pieces (which follow buf's bytes) included */
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
	/* The connection the last TCP segment in was for (tcp_input's first
	 * guess: a slot of the pool, checked before it is used). */
	struct ustcp_sock *rx_last;

	size_t frame_cap;
	struct txbuf *txq;
	uint32_t txq_len;
	uint32_t txq_refs; /* queued frames whose payload lies in a send ring (USTCP_OFFLOAD_SG) */

	struct iface ifaces[USTCP_MAX_IFACES];
	int n_ifaces;

	/* User events waiting for the end of the outermost event. */
	struct stack_notice *notice_head, **notice_tail;

	struct net *net;
	struct tcp *tcp;
	stack_reaper_fn reaper;
	bool reap_due; /* the reaper has something to free (set by the layer above) */
	const struct stack_sync *sync; /* NULL: no host, calls never block */
	int depth;                     /* events in progress (see stack_event_begin) */
	uint32_t event;                /* outermost events begun, mod 2^32: tells apart
					* two that the clock did not (RACK's order) */
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
/* The bytes of tb's frame in its buffer: all but the pieces in meta.data. */
static inline size_t txbuf_head_len(const struct txbuf *tb)
{
	return tb->len - tb->meta.data_len[0] - tb->meta.data_len[1];
}
/* Copy tb's whole frame to dst (frame_cap bytes), its pieces gathered. */
void txbuf_copy(const struct txbuf *tb, uint8_t *dst);

/* Report the frame under input to the trace hook (once) and send the queue. */
void stack_tx_flush(struct ustcp_stack *s);
/* Send bytes of a send ring are about to be dropped: the queued frames that
 * point into one go now, while the bytes are still theirs. */
static inline void stack_tx_release_refs(struct ustcp_stack *s)
{
	if (s->txq_refs)
		stack_tx_flush(s);
}
/* Inputs, polls and user calls are events. Calls may nest (a user call from
 * an event handler); when the outermost one ends, queued user events are
 * delivered, the transmit queue is flushed and the reaper frees what ended. */
static inline void stack_event_begin(struct ustcp_stack *s)
{
	if (s->depth++ == 0)
		s->event++;
}
/* Time only moves forward: inputs, polls and (with a host) calls bring it. */
static inline void stack_advance(struct ustcp_stack *s, uint64_t now)
{
	if (now > s->now)
		s->now = now;
}
/* Calls on a stack with a host take its lock (stack_sync), and the time. */
static inline void stack_lock(struct ustcp_stack *s)
{
	if (s->sync) {
		s->sync->lock(s->sync->ctx);
		stack_advance(s, s->sync->clock(s->sync->ctx));
	}
}
static inline void stack_unlock(struct ustcp_stack *s)
{
	if (s->sync)
		s->sync->unlock(s->sync->ctx);
}
void stack_event_end(struct ustcp_stack *s);
/* Queue events for n's socket, delivered when the outermost event ends
 * (nothing is queued without an event handler). */
void stack_notify(struct ustcp_stack *s, struct stack_notice *n, unsigned events);
/* The socket no longer wants what is queued for it (the user let it go). */
static inline void stack_notice_withdraw(struct stack_notice *n) { n->events = 0; }

#endif
