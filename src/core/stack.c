/* stack.c — counters, drops, the transmit queue, the trace hook, and the
 * end of every event: user events delivered, frames sent, ended
 * connections freed. */
#include "core/stack.h"

#include <string.h>

#include "ustcp/ustcp.h"

#define NAME_OF(name, desc) #name,
#define DESC_OF(name, desc) desc,
static const char *const counter_names[] = {USTCP_COUNTERS(NAME_OF)};
static const char *const counter_descs[] = {USTCP_COUNTERS(DESC_OF)};
static const char *const drop_names[] = {USTCP_DROPS(NAME_OF)};
static const char *const drop_descs[] = {USTCP_DROPS(DESC_OF)};
#undef NAME_OF
#undef DESC_OF

void ustcp_config_default(struct ustcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
	cfg->max_conns = 4096;
	cfg->conn_hash_size = 0; /* as many buckets as max_conns */
	cfg->max_backlog = 128;
	cfg->sndbuf = 256 * 1024;
	cfg->rcvbuf = 256 * 1024;
	cfg->max_sockbuf = 64u * 1024 * 1024;
	cfg->mtu = 1500;
	cfg->default_mss = 536;
	cfg->msl = 30 * USTCP_NS_PER_SEC;
	cfg->rto_initial = 1 * USTCP_NS_PER_SEC;
	cfg->rto_min = 200 * USTCP_NS_PER_MS;
	cfg->rto_max = 60 * USTCP_NS_PER_SEC;
	cfg->syn_retries = 6;
	cfg->synack_retries = 5;
	cfg->data_retries_r1 = 3;
	cfg->data_retries = 15;
	cfg->ack_delay = 40 * USTCP_NS_PER_MS;
	cfg->keepalive_idle = 7200 * USTCP_NS_PER_SEC;
	cfg->keepalive_intvl = 75 * USTCP_NS_PER_SEC;
	cfg->keepalive_cnt = 9;
	cfg->initial_window = 10;
	cfg->wscale = 1;
	cfg->timestamps = 1;
	cfg->sack = 1;
	cfg->syncookies = 1;
	strcpy(cfg->cc, "newreno");
	cfg->fin_wait2_timeout = 60 * USTCP_NS_PER_SEC;
	cfg->challenge_ack_limit = 10;
	cfg->max_buffer_bytes = 1ull << 30;
	cfg->ephemeral_lo = 49152;
	cfg->ephemeral_hi = 65535;
	cfg->tx_queue = 64;
	cfg->neigh_max = 64;
	cfg->neigh_pending = 16;
	cfg->frag_max = 8;
	cfg->frag_bytes = 8 * 65536; /* what 8 largest datagrams took before */
}

/* Counters are read with the stack taken (a host's thread writes them). */
static uint64_t read_locked(const struct ustcp_stack *s, const uint64_t *v)
{
	struct ustcp_stack *m = (struct ustcp_stack *)s; /* the lock is not the stack's state */
	stack_lock(m);
	uint64_t x = *v;
	stack_unlock(m);
	return x;
}

uint64_t ustcp_counter(const struct ustcp_stack *s, enum ustcp_counter c)
{
	return (unsigned)c < USTCP_C_COUNT ? read_locked(s, &s->counters[c]) : 0;
}

uint64_t ustcp_drops(const struct ustcp_stack *s, enum ustcp_drop d)
{
	return (unsigned)d < USTCP_DROP_COUNT ? read_locked(s, &s->drops[d]) : 0;
}

uint64_t ustcp_drops_total(const struct ustcp_stack *s)
{
	struct ustcp_stack *m = (struct ustcp_stack *)s;
	uint64_t n = 0;
	stack_lock(m);
	for (int i = 1; i < USTCP_DROP_COUNT; i++)
		n += s->drops[i];
	stack_unlock(m);
	return n;
}

const char *ustcp_counter_name(enum ustcp_counter c)
{
	return (unsigned)c < USTCP_C_COUNT ? counter_names[c] : "?";
}
const char *ustcp_counter_desc(enum ustcp_counter c)
{
	return (unsigned)c < USTCP_C_COUNT ? counter_descs[c] : "?";
}
const char *ustcp_drop_name(enum ustcp_drop d)
{
	return (unsigned)d < USTCP_DROP_COUNT ? drop_names[d] : "?";
}
const char *ustcp_drop_desc(enum ustcp_drop d)
{
	return (unsigned)d < USTCP_DROP_COUNT ? drop_descs[d] : "?";
}

void stack_drop(struct ustcp_stack *s, enum ustcp_drop reason)
{
	s->drops[reason]++;
	if (s->cur_in && !s->cur_in->drop)
		s->cur_in->drop = reason;
}

void ustcp_set_trace(struct ustcp_stack *s, ustcp_trace_fn fn, void *ctx)
{
	s->trace = fn;
	s->trace_ctx = ctx;
}

uint64_t ustcp_now(const struct ustcp_stack *s) { return s->now; }

static void report_input(struct ustcp_stack *s)
{
	struct ustcp_trace_event *ev = s->cur_in;
	if (!ev)
		return;
	s->cur_in = NULL;
	if (s->trace)
		s->trace(s->trace_ctx, ev);
}

void txbuf_copy(const struct txbuf *tb, uint8_t *dst)
{
	size_t at = txbuf_head_len(tb);
	if (dst != tb->buf)
		memcpy(dst, tb->buf, at);
	for (int i = 0; i < 2 && tb->meta.data_len[i]; i++) {
		memcpy(dst + at, tb->meta.data[i], tb->meta.data_len[i]);
		at += tb->meta.data_len[i];
	}
}

/* Gather tb's pieces into its own buffer. */
static void txbuf_linearize(struct txbuf *tb)
{
	txbuf_copy(tb, tb->buf);
	memset(tb->meta.data, 0, sizeof(tb->meta.data));
	memset(tb->meta.data_len, 0, sizeof(tb->meta.data_len));
}

void stack_tx_flush(struct ustcp_stack *s)
{
	report_input(s);
	for (uint32_t i = 0; i < s->txq_len; i++) {
		struct txbuf *tb = &s->txq[i];
		if (s->trace && tb->meta.data_len[0])
			txbuf_linearize(tb); /* the hook sees whole frames */
		if (s->trace) {
			struct ustcp_trace_event ev = {
				.stack = s,
				.now = s->now,
				.dir = USTCP_TRACE_OUT,
				.iface = tb->iface,
				.frame = tb->buf,
				.len = tb->len,
				.has_conn = tb->has_conn,
				.state_before = tb->state_before,
				.state_after = tb->state_after,
				.conn_id = tb->conn_id,
			};
			s->trace(s->trace_ctx, &ev);
		}
		stat_inc(s, USTCP_C_frames_out);
		struct iface *ifc = &s->ifaces[tb->iface];
		int rc = ifc->transmit_meta ? ifc->transmit_meta(ifc->transmit_ctx, tb->buf,
								 txbuf_head_len(tb), &tb->meta)
					    : ifc->transmit(ifc->transmit_ctx, tb->buf, tb->len);
		if (rc < 0)
			stat_inc(s, USTCP_C_tx_errors);
	}
	s->txq_len = 0;
	s->txq_refs = 0;
}

struct txbuf *stack_tx_begin(struct ustcp_stack *s)
{
	if (s->txq_len == s->cfg.tx_queue)
		stack_tx_flush(s);
	struct txbuf *tb = &s->txq[s->txq_len];
	tb->len = 0;
	tb->iface = 0;
	tb->has_conn = false;
	tb->state_before = tb->state_after = 0;
	tb->conn_id = 0;
	memset(&tb->meta, 0, sizeof(tb->meta));
	return tb;
}

void stack_tx_commit(struct ustcp_stack *s, struct txbuf *tb)
{
	/* tb is always the slot stack_tx_begin handed out */
	if (tb->meta.data_len[0])
		s->txq_refs++;
	s->txq_len++;
}

void stack_notify(struct ustcp_stack *s, struct stack_notice *n, unsigned events)
{
	if ((!s->on_event && !s->sync) || !events)
		return;
	n->events |= events;
	if (n->queued)
		return;
	n->queued = true;
	n->next = NULL;
	*s->notice_tail = n;
	s->notice_tail = &n->next;
}

/* Hand each queued socket its events, in the order they were first raised.
 * Handlers run inside the event being ended, so their calls nest: what they
 * raise for a socket still ahead in this round joins its events, the rest
 * waits for the next round. Returns false when nothing was queued. */
static bool deliver_events(struct ustcp_stack *s)
{
	struct stack_notice *n = s->notice_head;
	if (!n)
		return false;
	s->notice_head = NULL;
	s->notice_tail = &s->notice_head;
	while (n) {
		struct stack_notice *next = n->next;
		unsigned events = n->events;
		n->next = NULL;
		n->queued = false;
		n->events = 0;
		if (events && s->sync)
			s->sync->ready(s->sync->ctx, n, true);
		if (events && s->on_event)
			s->on_event(s->event_ctx, n->sock, events);
		n = next;
	}
	return true;
}

void stack_event_end(struct ustcp_stack *s)
{
	if (s->depth > 1) {
		s->depth--;
		return;
	}
	/* The outermost event: everything it did is done, so handlers see
	 * settled state and may make any call. */
	while (deliver_events(s))
		;
	s->depth--;
	if (s->txq_len || s->cur_in)
		stack_tx_flush(s);
	if (s->reap_due) {
		s->reap_due = false;
		s->reaper(s);
	}
}
