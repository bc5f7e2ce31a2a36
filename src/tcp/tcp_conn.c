/* tcp_conn.c — connection pool, 4-tuple table, listeners, ISNs, ephemeral
 * ports, and state changes. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "tcp/tcp.h"
#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"

static void conn_release_memory(struct ustcp_sock *c);

/* Buckets for the 4-tuple table: as configured, or by default as many as
 * the pool has connections (rounded up to a power of two), so that a
 * chain holds one connection on average however full the pool is. */
static uint32_t hash_buckets(const struct ustcp_config *cfg)
{
	uint32_t n = cfg->conn_hash_size;
	if (n)
		return n;
	for (n = 1; n < cfg->max_conns && n < (1u << 31); n *= 2)
		;
	return n;
}

int tcp_create(struct ustcp_stack *s)
{
	struct tcp *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	s->tcp = t;
	uint32_t n = hash_buckets(&s->cfg);
	if ((n & (n - 1)) != 0)
		return -EINVAL;
	t->pool = calloc(s->cfg.max_conns, sizeof(*t->pool));
	t->hash = calloc(n, sizeof(*t->hash));
	if (!t->pool || !t->hash)
		return -ENOMEM;
	t->pool_bytes =
		(uint64_t)s->cfg.max_conns * sizeof(*t->pool) + (uint64_t)n * sizeof(*t->hash);
	t->hash_mask = n - 1;
	t->reap_tail = &t->reap;
	s->reaper = tcp_reap;
	for (uint32_t i = s->cfg.max_conns; i-- > 0;) {
		t->pool[i].stack = s;
		t->pool[i].hnext = t->free;
		t->free = &t->pool[i];
	}
	dlist_init(&t->listeners);
	dlist_init(&t->time_wait);
	const struct ustcp_config *cfg = &s->cfg;
	/* 0: only the pool (and a listener's backlog) bounds them. */
	uint32_t lim[TCP_KIND_COUNT] = {
		[TCP_KIND_HALF_OPEN] = cfg->max_half_open,
		[TCP_KIND_ESTABLISHED] = cfg->max_established,
		[TCP_KIND_ORPHAN] = cfg->max_orphans,
		[TCP_KIND_TIME_WAIT] = cfg->max_time_wait,
	};
	for (int k = 1; k < TCP_KIND_COUNT; k++)
		t->max_kind[k] = lim[k] ? lim[k] : UINT32_MAX;
	struct tcp_sockopts *o = &t->opt_default;
	o->opt_sndbuf = s->cfg.sndbuf;
	o->opt_rcvbuf = s->cfg.rcvbuf;
	o->ack_delay = s->cfg.ack_delay;
	o->keep_idle = s->cfg.keepalive_idle;
	o->keep_intvl = s->cfg.keepalive_intvl;
	o->keep_cnt = (uint8_t)s->cfg.keepalive_cnt;
	o->rto_min = s->cfg.rto_min;
	o->linger = UINT64_MAX;
	rng_bytes(&s->rng, t->hash_key, sizeof(t->hash_key));
	rng_bytes(&s->rng, t->isn_key, sizeof(t->isn_key));
	rng_bytes(&s->rng, t->ts_key, sizeof(t->ts_key));
	rng_bytes(&s->rng, t->cookie_key, sizeof(t->cookie_key));
	rng_bytes(&s->rng, t->port_key, sizeof(t->port_key));
	t->port_counter = (uint32_t)rng_next(&s->rng);
	return 0;
}

void tcp_destroy(struct ustcp_stack *s)
{
	struct tcp *t = s->tcp;
	if (!t)
		return;
	if (t->pool) {
		for (uint32_t i = 0; i < s->cfg.max_conns; i++) {
			if (t->pool[i].notice.waiter)
				s->sync->forget(s->sync->ctx, &t->pool[i].notice);
			if (t->pool[i].in_use)
				conn_release_memory(&t->pool[i]);
		}
	}
	free(t->pool);
	free(t->hash);
	tcp_ports_free(&t->ports);
	free(t);
	s->tcp = NULL;
}

struct ustcp_sock *tcp_conn_alloc(struct ustcp_stack *s)
{
	struct tcp *t = s->tcp;
	struct ustcp_sock *c = t->free;
	if (!c)
		return NULL;
	t->free = c->hnext;
	t->n_used++;
	/* All but the stack pointer, which never changes: a thread may read it
	 * without the stack's lock to find the lock. */
	memset((char *)c + sizeof(c->stack), 0, sizeof(*c) - sizeof(c->stack));
	c->in_use = true;
	c->notice.sock = c;
	c->id = ++t->next_id;
	dlist_init(&c->link);
	c->rto = s->cfg.rto_initial;
	c->snd_mss = s->cfg.default_mss;
	c->ssthresh = UINT32_MAX;
	c->cc = tcp_cc_find(s->cfg.cc);
	c->opt = &t->opt_default;
	c->reordering = 3;
	tcp_timers_init(c);
	tcp_rack_init(c);
	return c;
}

/* Closed by the user (not a listener's child waiting to be accepted), and
 * its FIN not yet acknowledged. */
static bool closing(const struct ustcp_sock *c)
{
	if (!c->in_use || c->user_owned || c->listener)
		return false;
	switch (c->state) {
	case USTCP_SYN_SENT:
	case USTCP_SYN_RECEIVED:
	case USTCP_ESTABLISHED:
	case USTCP_CLOSE_WAIT:
	case USTCP_FIN_WAIT_1:
	case USTCP_CLOSING:
	case USTCP_LAST_ACK:
		return true;
	default:
		return false;
	}
}

static enum tcp_kind kind_of(const struct ustcp_sock *c)
{
	if (!c->in_use)
		return TCP_KIND_NONE;
	switch (c->state) {
	case USTCP_CLOSED:
	case USTCP_LISTEN:
		return TCP_KIND_NONE;
	case USTCP_SYN_RECEIVED:
		return TCP_KIND_HALF_OPEN;
	case USTCP_TIME_WAIT:
		return TCP_KIND_TIME_WAIT;
	default:
		return c->user_owned || c->listener ? TCP_KIND_ESTABLISHED : TCP_KIND_ORPHAN;
	}
}

bool tcp_kind_room(const struct ustcp_stack *s, enum tcp_kind k)
{
	const struct tcp *t = s->tcp;
	return t->n_kind[k] < t->max_kind[k];
}

/* A local port is held by a listener, a bound socket or a connection; a
 * socket closed without a bind gives it back. */
static bool holds_port(const struct ustcp_sock *c)
{
	return c->in_use && c->lport && (c->state != USTCP_CLOSED || c->bound);
}

void tcp_conn_account(struct ustcp_sock *c)
{
	struct tcp *t = c->stack->tcp;
	bool held = holds_port(c), tw = held && c->state == USTCP_TIME_WAIT;
	if (held != c->port_held || tw != c->port_held_tw) {
		tcp_ports_add(&t->ports, &c->laddr, c->lport, held - c->port_held,
			      tw - c->port_held_tw);
		c->port_held = held;
		c->port_held_tw = tw;
	}
	bool cl = closing(c);
	if (cl != c->closing_counted) {
		t->n_closing += cl ? 1 : (uint32_t)-1;
		c->closing_counted = cl;
	}
	enum tcp_kind k = kind_of(c);
	if (k != c->kind) {
		/* TIME-WAIT connections wait in order for max_time_wait to end
		 * the oldest; the link is free (no listener or queue has them). */
		if (c->kind == TCP_KIND_TIME_WAIT)
			dlist_remove(&c->link);
		if (k == TCP_KIND_TIME_WAIT) {
			assert(dlist_empty(&c->link));
			dlist_insert_tail(&t->time_wait, &c->link);
		}
		t->n_kind[c->kind]--;
		t->n_kind[k]++;
		c->kind = (uint8_t)k;
	}
}

void tcp_orphan_check(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	if (c->kind != TCP_KIND_ORPHAN ||
	    s->tcp->n_kind[TCP_KIND_ORPHAN] <= s->tcp->max_kind[TCP_KIND_ORPHAN])
		return;
	stat_inc(s, USTCP_C_tcp_orphans_reset);
	tcp_send_rst_conn(c);
	tcp_conn_closed(c, -ECONNRESET);
}

void tcp_time_wait_room(struct ustcp_stack *s)
{
	struct tcp *t = s->tcp;
	if (t->n_kind[TCP_KIND_TIME_WAIT] < t->max_kind[TCP_KIND_TIME_WAIT] ||
	    dlist_empty(&t->time_wait))
		return;
	struct ustcp_sock *old = container_of(t->time_wait.next, struct ustcp_sock, link);
	stat_inc(s, USTCP_C_tcp_timewait_recycled);
	tcp_event_begin(old);
	tcp_conn_closed(old, 0);
}

void tcp_port_release(struct ustcp_sock *c)
{
	if (!c->port_held)
		return;
	tcp_ports_add(&c->stack->tcp->ports, &c->laddr, c->lport, -1, -(int)c->port_held_tw);
	c->port_held = c->port_held_tw = false;
}

int tcp_port_room(struct ustcp_stack *s) { return tcp_ports_room(&s->tcp->ports); }

/* A holder's counts, less k's own part in them. */
static uint32_t holders(const struct tcp_port_use *u, const struct ustcp_sock *k, bool k_in,
			bool reuse)
{
	if (!u)
		return 0;
	uint32_t n = u->n - (k_in && k->port_held);
	uint32_t tw = u->n_tw - (k_in && k->port_held_tw);
	return reuse ? n - tw : n;
}

bool tcp_port_taken(const struct ustcp_sock *k, const struct ipaddr *laddr, uint16_t lport)
{
	const struct tcp_ports *p = &k->stack->tcp->ports;
	bool reuse = k->reuseaddr, k_port = k->lport == lport;
	if (ip_is_any(laddr))
		return holders(tcp_ports_find(p, NULL, lport), k, k_port, reuse) > 0;
	/* Holders on this address, and wildcard ones (which take every address). */
	static const struct ipaddr any;
	bool k_any = ip_is_any(&k->laddr);
	return holders(tcp_ports_find(p, laddr, lport), k,
		       k_port && !k_any && ip_eq(&k->laddr, laddr), reuse) +
		       holders(tcp_ports_find(p, &any, lport), k, k_port && k_any, reuse) >
	       0;
}

/* The keyed hash of a 4-tuple (RFC 6528 §3, RFC 6056 §3.3.3). IPv4 pairs
 * hash their 4-byte addresses only: the IPv4-mapped prefix is the same for
 * all, and SipHash's cost grows with its input. */
static uint64_t tuple_hash(const uint8_t key[HASH_KEY_LEN], const struct ipaddr *la,
			   const struct ipaddr *ra, uint16_t lp, uint16_t rp)
{
	if (ip_is4(la) && ip_is4(ra)) {
		struct {
			uint32_t la, ra;
			uint16_t lp, rp;
		} k = {ip_v4(la), ip_v4(ra), lp, rp};
		return hash_keyed(key, &k, sizeof(k));
	}
	struct {
		struct ipaddr la, ra;
		uint16_t lp, rp;
	} k = {*la, *ra, lp, rp};
	return hash_keyed(key, &k, sizeof(k));
}

static uint32_t tuple_bucket(const struct tcp *t, const struct ipaddr *laddr, uint16_t lport,
			     const struct ipaddr *raddr, uint16_t rport)
{
	return (uint32_t)tuple_hash(t->hash_key, laddr, raddr, lport, rport) & t->hash_mask;
}

void tcp_conn_set_tuple(struct ustcp_sock *c, const struct ipaddr *laddr, uint16_t lport,
			const struct ipaddr *raddr, uint16_t rport)
{
	tcp_port_release(c);
	c->laddr = *laddr;
	c->lport = lport;
	c->raddr = *raddr;
	c->rport = rport;
	c->hdr_room = (uint8_t)net_hdr_room(raddr);
	c->offloads = net_offloads(c->stack, raddr); /* routes are fixed once set up */
	tcp_conn_account(c);
}

void tcp_conn_hash(struct ustcp_sock *c)
{
	struct tcp *t = c->stack->tcp;
	uint32_t b = tuple_bucket(t, &c->laddr, c->lport, &c->raddr, c->rport);
	c->hnext = t->hash[b];
	t->hash[b] = c;
	c->hashed = true;
	tcp_conn_account(c); /* its tuple and state are set (a listener's child: just now) */
}

static void conn_unhash(struct ustcp_sock *c)
{
	struct tcp *t = c->stack->tcp;
	if (!c->hashed)
		return;
	struct ustcp_sock **pp =
		&t->hash[tuple_bucket(t, &c->laddr, c->lport, &c->raddr, c->rport)];
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	c->hnext = NULL;
	c->hashed = false;
}

struct ustcp_sock *tcp_conn_lookup(struct ustcp_stack *s, const struct ipaddr *laddr,
				   uint16_t lport, const struct ipaddr *raddr, uint16_t rport)
{
	struct tcp *t = s->tcp;
	struct ustcp_sock *c = t->hash[tuple_bucket(t, laddr, lport, raddr, rport)];
	for (; c; c = c->hnext)
		if (c->lport == lport && c->rport == rport && ip_eq(&c->raddr, raddr) &&
		    ip_eq(&c->laddr, laddr))
			return c;
	return NULL;
}

/* An exact address match wins over a wildcard listener. */
struct ustcp_sock *tcp_listener_lookup(struct ustcp_stack *s, const struct ipaddr *laddr,
				       uint16_t lport)
{
	struct ustcp_sock *wild = NULL;
	struct dlist *n;
	for (n = s->tcp->listeners.next; n != &s->tcp->listeners; n = n->next) {
		struct ustcp_sock *l = container_of(n, struct ustcp_sock, link);
		if (l->lport != lport)
			continue;
		if (ip_eq(&l->laddr, laddr))
			return l;
		if (ip_is_any(&l->laddr))
			wild = l;
	}
	return wild;
}

/* RFC 6056 §3.3.3 (Algorithm 3): offset = F(local, remote, secret), then
 * probe from offset + next_ephemeral; a port is free when the 4-tuple is. */
int tcp_pick_port(struct ustcp_stack *s, const struct ipaddr *laddr, const struct ipaddr *raddr,
		  uint16_t rport, uint16_t *port)
{
	struct tcp *t = s->tcp;
	uint32_t lo = s->cfg.ephemeral_lo, hi = s->cfg.ephemeral_hi;
	if (lo == 0 || hi < lo)
		return -EINVAL;
	uint32_t num = hi - lo + 1;
	uint32_t offset = (uint32_t)tuple_hash(t->port_key, laddr, raddr, 0, rport);
	for (uint32_t count = num; count > 0; count--) {
		uint16_t p = (uint16_t)(lo + (offset + t->port_counter) % num);
		t->port_counter++;
		if (!tcp_conn_lookup(s, laddr, p, raddr, rport) &&
		    !tcp_listener_lookup(s, laddr, p)) {
			*port = p;
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

/* RFC 6528 §3 (RFC 9293 §3.4.1): ISN = M + F(4-tuple, secret), M a 4 µs clock. */
uint32_t tcp_new_iss(struct ustcp_stack *s, const struct ustcp_sock *c)
{
	const struct ustcp_config *cfg = &s->cfg;
	if ((cfg->use_fixed_iss & 1) && !c->passive)
		return cfg->fixed_iss_active;
	if ((cfg->use_fixed_iss & 2) && c->passive)
		return cfg->fixed_iss_passive;
	uint32_t m = (uint32_t)(s->now / 4000);
	return m + (uint32_t)tuple_hash(s->tcp->isn_key, &c->laddr, &c->raddr, c->lport, c->rport);
}

/* Events reach the user's handler when the outermost event ends
 * (core/stack.c), never in the middle of processing. */
/* RFC 7323 §5.4: a random offset, but the same for every connection
 * between two addresses (a keyed hash of them, as Linux does), so the clock
 * a peer sees keeps rising across incarnations and PAWS protects a new
 * connection from the old one's duplicates (RFC 6191). */
uint32_t tcp_ts_offset(const struct ustcp_stack *s, const struct ipaddr *laddr,
		       const struct ipaddr *raddr)
{
	return (uint32_t)tuple_hash(s->tcp->ts_key, laddr, raddr, 0, 0);
}

void tcp_notify(struct ustcp_sock *c, unsigned events)
{
	if (c->user_owned)
		stack_notify(c->stack, &c->notice, events);
}

void tcp_set_state(struct ustcp_sock *c, int state)
{
	if (c->state == state)
		return;
	c->state = (uint8_t)state;
	tcp_conn_account(c);
	tcp_notify(c, USTCP_EV_STATE);
}

/* Bytes a range set's room takes. */
static uint64_t ranges_room(const struct seqset *a)
{
	return (uint64_t)seqset_room(a) * sizeof(struct seqset_node);
}

/* The range sets (and their rooms) of c, in bytes. */
static uint64_t ranges_bytes(const struct ustcp_sock *c)
{
	const struct tcp_ranges *r = c->ranges;
	return r ? sizeof(*r) + ranges_room(&r->reass.held) + ranges_room(&r->sacked) : 0;
}

static void sockopts_release(struct ustcp_sock *c)
{
	struct tcp_sockopts *o = c->opt;
	c->opt = &c->stack->tcp->opt_default;
	if (o->refs && --o->refs == 0) {
		free(o);
		c->stack->tcp->conn_bytes -= sizeof(*o);
	}
}

struct tcp_sockopts *tcp_sockopts_own(struct ustcp_sock *c)
{
	if (c->opt->refs == 1)
		return c->opt;
	struct tcp_sockopts *o = malloc(sizeof(*o));
	if (!o)
		return NULL;
	*o = *c->opt;
	o->refs = 1;
	sockopts_release(c);
	c->opt = o;
	c->stack->tcp->conn_bytes += sizeof(*o);
	return o;
}

void tcp_sockopts_share(struct ustcp_sock *c, const struct ustcp_sock *from)
{
	sockopts_release(c);
	c->opt = from->opt;
	if (c->opt->refs)
		c->opt->refs++;
}

/* Room for one hole per two small segments of the buffer: a burst lost
 * every other segment is still fully described. */
static void ranges_size(struct ustcp_sock *c, struct seqset *a, uint32_t buf)
{
	uint32_t cap = MIN(MAX(buf / 1024, (uint32_t)TCP_REASS_MIN), 8192u);
	uint64_t before = ranges_room(a);
	if (seqset_grow(a, cap) == 0)
		c->stack->tcp->buffer_bytes += ranges_room(a) - before;
}

int tcp_ensure_buffers(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	if (!c->sndbuf.buf || !c->rcvbuf.buf) {
		/* All at once or none: what this connection would add. */
		uint64_t add = (c->ranges ? 0 : sizeof(*c->ranges)) +
			       (c->sndbuf.buf ? 0 : c->opt->opt_sndbuf) +
			       (c->rcvbuf.buf ? 0 : c->opt->opt_rcvbuf + tcp_rcv_slack(c));
		uint64_t max = s->cfg.max_buffer_bytes;
		if (max && s->tcp->buffer_bytes + add > max) {
			stat_inc(s, USTCP_C_tcp_buffer_limit);
			return -ENOBUFS;
		}
	}
	if (!c->ranges) {
		c->ranges = malloc(sizeof(*c->ranges));
		if (!c->ranges)
			return -ENOBUFS;
		tcp_reass_init(&c->ranges->reass);
		seqset_init(&c->ranges->sacked);
		s->tcp->buffer_bytes += sizeof(*c->ranges);
	}
	if (!c->sndbuf.buf) {
		if (ring_init(&c->sndbuf, c->opt->opt_sndbuf) < 0)
			return -ENOBUFS;
		s->tcp->buffer_bytes += c->opt->opt_sndbuf;
		ranges_size(c, &c->ranges->sacked, c->opt->opt_sndbuf);
		if (s->cfg.sack)
			tcp_rack_alloc(c, c->opt->opt_sndbuf);
	}
	if (!c->rcvbuf.buf) {
		uint32_t cap = c->opt->opt_rcvbuf + tcp_rcv_slack(c);
		if (ring_init(&c->rcvbuf, cap) < 0)
			return -ENOBUFS;
		s->tcp->buffer_bytes += cap;
		ranges_size(c, &c->ranges->reass.held, c->opt->opt_rcvbuf);
	}
	return 0;
}

int tcp_listen_queue(struct ustcp_sock *c)
{
	if (c->queue)
		return 0;
	c->queue = calloc(1, sizeof(*c->queue));
	if (!c->queue)
		return -ENOMEM;
	dlist_init(&c->queue->children);
	c->stack->tcp->conn_bytes += sizeof(*c->queue);
	return 0;
}

void tcp_child_unlink(struct ustcp_sock *c)
{
	struct ustcp_sock *l = c->listener;
	if (!l)
		return;
	if (c->state == USTCP_SYN_RECEIVED)
		l->queue->n_syn--;
	else
		l->queue->n_done--;
	dlist_remove(&c->link);
	c->listener = NULL;
	tcp_conn_account(c);
}

/* Free c when the current event ends. */
static void reap_later(struct ustcp_sock *c)
{
	struct tcp *t = c->stack->tcp;
	assert(!c->hashed); /* hnext is free for the reap list */
	c->reaped_pending = true;
	c->hnext = NULL;
	*t->reap_tail = c;
	t->reap_tail = &c->hnext;
	c->stack->reap_due = true;
}

void tcp_conn_closed(struct ustcp_sock *c, int error)
{
	if (c->state == USTCP_CLOSED && c->reaped_pending)
		return;
	if (error && !c->error)
		c->error = error;
	tcp_timers_cancel(c);
	tcp_child_unlink(c);
	conn_unhash(c);
	if (c->state == USTCP_LISTEN)
		dlist_remove(&c->link);
	tcp_set_state(c, USTCP_CLOSED);
	tcp_notify(c, USTCP_EV_READABLE | USTCP_EV_WRITABLE);
	if (!c->user_owned && !c->reaped_pending)
		reap_later(c);
}

void tcp_release_buffers(struct ustcp_sock *c)
{
	struct tcp *t = c->stack->tcp;
	if (c->rack.map.room)
		tw_cancel(&c->stack->wheel, &c->rack.map.room->timer);
	if (c->sndbuf.buf)
		t->buffer_bytes -= c->sndbuf.cap;
	if (c->rcvbuf.buf)
		t->buffer_bytes -= c->rcvbuf.cap;
	t->buffer_bytes -= ranges_bytes(c) + tcp_rack_room(c);
	tcp_rack_free(c);
	ring_free(&c->sndbuf);
	ring_free(&c->rcvbuf);
	if (c->ranges) {
		tcp_reass_free(&c->ranges->reass);
		seqset_free(&c->ranges->sacked);
		free(c->ranges);
		c->ranges = NULL;
	}
}

/* Give back what c allocated beside its slot. */
static void conn_release_memory(struct ustcp_sock *c)
{
	struct tcp *t = c->stack->tcp;
	tcp_release_buffers(c);
	if (c->queue) {
		free(c->queue);
		c->queue = NULL;
		t->conn_bytes -= sizeof(*c->queue);
	}
	sockopts_release(c);
}

static void conn_free(struct ustcp_stack *s, struct ustcp_sock *c)
{
	struct tcp *t = s->tcp;
	/* Nothing may still point at the slot: no timer in the wheel, no
	 * notice in the event queue (the slot is cleared when reused). */
	assert(!tw_armed(&c->t_rexmt) && !tw_armed(&c->t_close) && !tw_armed(&c->t_keep) &&
	       !tw_armed(&c->t_delack) &&
	       !(c->rack.map.room && tw_armed(&c->rack.map.room->timer)));
	assert(!c->notice.queued);
	conn_release_memory(c);
	if (c->notice.waiter)
		s->sync->forget(s->sync->ctx, &c->notice);
	c->in_use = false;
	tcp_conn_account(c);
	c->hnext = t->free;
	t->free = c;
	t->n_used--;
}

/* A connection a thread is still blocked on waits for it to leave. */
void tcp_reap(struct ustcp_stack *s)
{
	struct tcp *t = s->tcp;
	struct ustcp_sock *c = t->reap, *next;
	t->reap = NULL;
	t->reap_tail = &t->reap;
	for (; c; c = next) {
		next = c->hnext;
		if (c->callers) {
			c->hnext = NULL;
			*t->reap_tail = c;
			t->reap_tail = &c->hnext;
		} else {
			conn_free(s, c);
		}
	}
	s->reap_due = t->reap != NULL;
}

/* A user-owned connection released by the user: free now if closed,
 * otherwise it becomes an orphan that is freed when it reaches CLOSED. */
void tcp_conn_release(struct ustcp_sock *c)
{
	const struct stack_sync *sync = c->stack->sync;
	c->user_owned = false;
	tcp_conn_account(c);
	stack_notice_withdraw(&c->notice);
	if (sync && c->notice.waiter)
		sync->ready(sync->ctx, &c->notice, true); /* threads blocked on it: it is gone */
	if (c->state == USTCP_CLOSED && !c->reaped_pending)
		reap_later(c);
}

void tcp_pool_usage(const struct ustcp_stack *s, struct ustcp_pool_usage *u)
{
	u->conns = s->tcp->n_used;
	u->conns_max = s->cfg.max_conns;
	u->closing = s->tcp->n_closing;
	u->half_open = s->tcp->n_kind[TCP_KIND_HALF_OPEN];
	u->established = s->tcp->n_kind[TCP_KIND_ESTABLISHED];
	u->orphans = s->tcp->n_kind[TCP_KIND_ORPHAN];
	u->time_wait = s->tcp->n_kind[TCP_KIND_TIME_WAIT];
	u->buffer_bytes = s->tcp->buffer_bytes;
	u->timers = (uint32_t)s->wheel.count;
	u->tcb_bytes = sizeof(struct ustcp_sock);
	u->pool_bytes = s->tcp->pool_bytes;
	u->conn_bytes = s->tcp->conn_bytes + tcp_ports_bytes(&s->tcp->ports);
}

bool tcp_accounting_ok(const struct ustcp_stack *s)
{
	const struct tcp *t = s->tcp;
	struct tcp_ports want = {0};
	uint32_t n_closing = 0, n_kind[TCP_KIND_COUNT] = {0};
	bool ok = true;
	for (uint32_t i = 0; i < s->cfg.max_conns && ok; i++) {
		const struct ustcp_sock *c = &t->pool[i];
		bool held = holds_port(c), tw = held && c->state == USTCP_TIME_WAIT;
		n_closing += closing(c);
		n_kind[kind_of(c)]++;
		ok = held == c->port_held && tw == c->port_held_tw &&
		     closing(c) == c->closing_counted && kind_of(c) == c->kind;
		if (ok && held) {
			ok = tcp_ports_room(&want) == 0;
			if (ok)
				tcp_ports_add(&want, &c->laddr, c->lport, 1, tw);
		}
	}
	ok = ok && n_closing == t->n_closing && want.used == t->ports.used;
	for (int k = 1; k < TCP_KIND_COUNT; k++)
		ok = ok && n_kind[k] == t->n_kind[k];
	for (uint32_t i = 0; ok && want.slot && i <= want.mask; i++) {
		const struct tcp_port_use *w = &want.slot[i], *u;
		if (!w->port)
			continue;
		bool every = w->addr.b[0] == 0xff; /* the port's counts over every address */
		u = tcp_ports_find(&t->ports, every ? NULL : &w->addr, w->port);
		ok = u && u->n == w->n && u->n_tw == w->n_tw;
	}
	tcp_ports_free(&want);
	return ok;
}
