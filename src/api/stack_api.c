/* stack_api.c — creating a stack and driving it: input, poll, deadlines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "net/net.h"
#include "tcp/tcp.h"
#include "tcp/tcp_cc.h"
#include "ustcp/ustcp.h"
#include "wire/wire.h"

/* The network layer's tables are walked per frame or per fragment, so
 * their sizes stay small; reassembly must hold at least one datagram of the
 * largest size. */
#define NET_TABLE_MAX 4096u
static bool net_limits_valid(const struct ustcp_config *c)
{
	return c->neigh_max > 0 && c->neigh_max <= NET_TABLE_MAX && c->neigh_pending > 0 &&
	       c->neigh_pending <= NET_TABLE_MAX && c->frag_max > 0 &&
	       c->frag_max <= NET_TABLE_MAX && c->frag_bytes >= 65535 &&
	       c->frag_bytes <= (1u << 30);
}

/* The MTU: 68 bytes every IPv4 link carries (RFC 791) up to the 65535 its
 * 16 bits hold. */
static bool config_valid(const struct ustcp_config *c)
{
	return c->max_conns > 0 && (c->conn_hash_size & (c->conn_hash_size - 1)) == 0 &&
	       c->sndbuf > 0 && c->rcvbuf > 0 && c->mtu >= 68 && c->default_mss >= 64 &&
	       c->tx_queue > 0 && c->rto_min > 0 && c->rto_max >= c->rto_min &&
	       c->max_sockbuf >= c->sndbuf && c->max_sockbuf >= c->rcvbuf &&
	       c->max_sockbuf <= (1u << 30) && c->ack_delay > 0 &&
	       c->ack_delay <= 500 * USTCP_NS_PER_MS && c->initial_window > 0 &&
	       c->keepalive_cnt > 0 && c->keepalive_cnt <= 255 && tcp_cc_find(c->cc) &&
	       c->ephemeral_lo > 0 && c->ephemeral_lo <= c->ephemeral_hi && net_limits_valid(c);
}

struct ustcp_stack *ustcp_stack_new(const struct ustcp_config *cfg)
{
	struct ustcp_config def;
	if (!cfg) {
		ustcp_config_default(&def);
		cfg = &def;
	}
	if (!config_valid(cfg)) {
		errno = EINVAL;
		return NULL;
	}
	struct ustcp_stack *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	rng_seed(&s->rng, cfg->seed);
	tw_init(&s->wheel, 0);
	s->notice_tail = &s->notice_head;
	/* A slot holds one frame of the configured MTU; an interface with a
	 * larger one (or TSO) grows them (ustcp_iface_add). */
	s->frame_cap = ETH_HLEN + (size_t)cfg->mtu;
	s->txq = calloc(cfg->tx_queue, sizeof(*s->txq));
	if (!s->txq)
		goto fail;
	for (uint32_t i = 0; i < cfg->tx_queue; i++) {
		s->txq[i].buf = malloc(s->frame_cap);
		if (!s->txq[i].buf)
			goto fail;
	}
	if (net_create(s) < 0 || tcp_create(s) < 0)
		goto fail;
	return s;
fail:
	ustcp_stack_free(s);
	errno = ENOMEM;
	return NULL;
}

void ustcp_stack_free(struct ustcp_stack *s)
{
	if (!s)
		return;
	tcp_destroy(s);
	net_destroy(s);
	if (s->txq)
		for (uint32_t i = 0; i < s->cfg.tx_queue; i++)
			free(s->txq[i].buf);
	free(s->txq);
	free(s);
}

const struct ustcp_config *ustcp_stack_config(const struct ustcp_stack *s) { return &s->cfg; }

void ustcp_input(struct ustcp_stack *s, int iface, const uint8_t *frame, size_t len, uint64_t now)
{
	ustcp_input_flags(s, iface, frame, len, now, 0);
}

void ustcp_input_flags(struct ustcp_stack *s, int iface, const uint8_t *frame, size_t len,
		       uint64_t now, unsigned flags)
{
	stack_advance(s, now);
	struct ustcp_trace_event ev = {
		.stack = s,
		.now = s->now,
		.dir = USTCP_TRACE_IN,
		.iface = iface,
		.frame = frame,
		.len = len,
	};
	stat_inc(s, USTCP_C_frames_in);
	stack_event_begin(s);
	s->cur_in = &ev;
	s->cur_in_flags = flags;
	net_input(s, iface, frame, len);
	s->cur_in_flags = 0;
	stack_event_end(s);
}

void ustcp_stack_poll(struct ustcp_stack *s, uint64_t now)
{
	stack_advance(s, now);
	stack_event_begin(s);
	tw_run(&s->wheel, s->now);
	stack_event_end(s);
}

uint64_t ustcp_next_deadline(const struct ustcp_stack *s) { return tw_next(&s->wheel); }

void ustcp_pool_usage(const struct ustcp_stack *s, struct ustcp_pool_usage *u)
{
	struct ustcp_stack *m = (struct ustcp_stack *)s; /* the lock is not the stack's state */
	stack_lock(m);
	tcp_pool_usage(s, u);
	stack_unlock(m);
}

void ustcp_set_event_handler(struct ustcp_stack *s, ustcp_event_fn fn, void *ctx)
{
	s->on_event = fn;
	s->event_ctx = ctx;
}
