/* tcp_input.c — SEGMENT ARRIVES, RFC 9293 §3.10.7.
 *
 * Parse and check, look the connection up, then one switch on the state:
 * CLOSED (no connection), LISTEN, SYN-SENT, and the synchronized states,
 * whose dispatcher (synchronized_input) runs §3.10.7.4's numbered steps in
 * order: sequence number (with PAWS first), RST, SYN, ACK, URG, text, FIN.
 * Each step returns a verdict (go on, drop, ACK and drop, reset, done).
 * RFC 5961's defences against blind attacks sit in the RST, SYN and ACK
 * steps; loss recovery and congestion control live in tcp_recovery.c.
 *
 * The segment is never rewritten: the steps work on a view of it (struct
 * rcv) that RFC 9293 calls the idealized segment — an old SYN trimmed off,
 * text cut to what is new and fits — while its header stays as it came. */
#include <errno.h>
#include <string.h>

#include "net/net.h"
#include "tcp/tcp.h"
#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"
#include "wire/wire.h"

/* A TCP segment as parsed: read-only once tcp_input has filled it. */
struct seg {
	struct tcp_hdr th;
	const uint8_t *data;
	uint32_t len; /* payload bytes */
	uint32_t seq, ack;
	uint8_t flags;
	const struct ipaddr *laddr, *raddr; /* in the packet being processed */
	uint16_t lport, rport;
};

/* The part of the segment still to process, as the steps trim it. */
struct rcv {
	const struct seg *g;
	uint32_t seq;        /* of the SYN if still there, else of the first byte of text */
	uint8_t flags;       /* the segment's, without a SYN that lies behind RCV.NXT */
	const uint8_t *data; /* text */
	uint32_t len;
	bool fin;
	bool ack_only; /* only its ACK and window may be used (check_sequence) */
	bool ack_now;  /* acknowledge it at once */
};

/* What a step decided. */
enum verdict {
	SEG_CONTINUE, /* on to the next step */
	SEG_DROP,     /* discard it (counted by the step) */
	SEG_ACK_DROP, /* discard it and send an ACK (ack_unusable's limit) */
	SEG_RESET,    /* discard it and send <SEQ=SEG.ACK><CTL=RST> */
	SEG_DONE,     /* fully handled, or the connection ended */
};

static struct rcv rcv_of(const struct seg *g)
{
	return (struct rcv){.g = g,
			    .seq = g->seq,
			    .flags = g->flags,
			    .data = g->data,
			    .len = g->len,
			    .fin = (g->flags & TCP_FIN) != 0};
}

/* The SYN's sequence number is behind us: what is left starts after it. */
static void consume_syn(struct rcv *r)
{
	r->seq += 1;
	r->flags &= (uint8_t)~TCP_SYN;
}

static uint32_t rcv_len(const struct rcv *r) { return r->len + !!(r->flags & TCP_SYN) + r->fin; }

/* Tell the trace hook which connection the frame under input belonged to. */
static void trace_conn(struct ustcp_stack *s, int before, int after, uint64_t id)
{
	if (!s->cur_in)
		return;
	s->cur_in->has_conn = 1;
	s->cur_in->state_before = before;
	s->cur_in->state_after = after;
	s->cur_in->conn_id = id;
}

/* The window a segment offers: never scaled in a SYN or SYN,ACK (RFC 7323
 * §2.2), otherwise by the peer's shift (§2.3). */
static uint32_t seg_window(const struct ustcp_sock *c, const struct seg *g)
{
	return (g->flags & TCP_SYN) ? g->th.win : (uint32_t)g->th.win << c->snd_wscale;
}

/* Take the segment's window as SND.WND and remember which segment set it
 * (SND.WL1, SND.WL2: RFC 9293 §3.10.7.4 fifth). Returns the window before. */
static uint32_t window_update(struct ustcp_sock *c, const struct seg *g)
{
	uint32_t old = c->snd_wnd;
	c->snd_wnd = seg_window(c, g);
	c->max_snd_wnd = MAX(c->max_snd_wnd, c->snd_wnd);
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->ack;
	return old;
}

/* RFC 9293 MUST-15: the send MSS of a peer whose SYN has no MSS option. */
#define TCP_DEFAULT_MSS6 1220
/* Below any real path: IPv4's smallest MTU (68, RFC 791) less 40 bytes of
 * headers. A peer announcing less is honoured down to here only. */
#define TCP_MSS_FLOOR 28

/* The options of the peer's SYN decide what this connection uses: MSS
 * (RFC 9293 §3.7.1: never more than the peer announced, MUST-16), window
 * scale (RFC 7323 §2.2, both sides must offer it), SACK (RFC 2018 §2) and
 * timestamps (RFC 7323 §3.2). The send MSS leaves room for the timestamp
 * option (RFC 6691). */
static void apply_syn_options(struct ustcp_sock *c, const struct tcp_opts *o)
{
	struct ustcp_stack *s = c->stack;
	if (!c->rcv_mss)
		c->rcv_mss = tcp_our_mss(c);
	uint32_t mss = (o->present & TCP_OPT_MSS) ? o->mss
		       : ip_is4(&c->raddr)        ? s->cfg.default_mss
						  : TCP_DEFAULT_MSS6;
	mss = MAX(MIN(mss, (uint32_t)c->rcv_mss), (uint32_t)TCP_MSS_FLOOR);
	c->peer_mss = (uint16_t)mss;
	c->ws_ok = s->cfg.wscale && (o->present & TCP_OPT_WSCALE);
	if (c->ws_ok) {
		/* RFC 7323 §2.3: a shift above 14 is used as 14. */
		c->snd_wscale = (uint8_t)MIN(o->wscale, 14);
		if (c->passive)
			c->rcv_wscale = tcp_choose_wscale(c);
	} else {
		c->snd_wscale = c->rcv_wscale = 0;
	}
	c->sack_ok = s->cfg.sack && (o->present & TCP_OPT_SACK_PERM);
	c->ts_ok = s->cfg.timestamps && (o->present & TCP_OPT_TIMESTAMP);
	if (c->ts_ok) {
		c->ts_recent = o->ts_val;
		c->ts_recent_age = s->now;
	}
	c->snd_mss = (uint16_t)(mss - (c->ts_ok ? 12 : 0));
	c->rcv_adv = c->rcv_nxt; /* nothing offered beyond RCV.NXT yet */
	c->rcv_seg_max = (uint16_t)MIN(c->rcv_mss - (c->ts_ok ? 12u : 0u), 536u);
	tcp_recovery_init(c);
	c->cc->init(c);
}

/* Options a listener's children take over (ustcp_setsockopt). */
static void inherit_options(struct ustcp_sock *c, const struct ustcp_sock *l)
{
	tcp_sockopts_share(c, l);
	c->cc = l->cc;
}

/* A segment that passed the checks came from the peer: it is alive
 * (keepalive, RFC 1122 §4.2.3.6) and answers (window probes). Only such
 * segments count, so a spoofer cannot keep a dead peer's connection open. */
static void peer_heard(struct ustcp_sock *c)
{
	c->last_rcv = c->stack->now;
	c->keep_probes = 0;
	c->probes_unanswered = 0;
}

/* §3.10.7.1: a segment for no connection gets a RST unless it is one. */
static void closed_input(struct ustcp_stack *s, const struct seg *g)
{
	if (g->flags & TCP_RST) {
		stack_drop(s, USTCP_DROP_tcp_rst_no_conn);
		return;
	}
	stack_drop(s, USTCP_DROP_tcp_no_conn);
	if (g->flags & TCP_ACK)
		tcp_send_rst(s, g->laddr, g->lport, g->raddr, g->rport, g->ack, 0, false);
	else
		tcp_send_rst(s, g->laddr, g->lport, g->raddr, g->rport, 0,
			     g->seq + g->len + !!(g->flags & TCP_SYN) + !!(g->flags & TCP_FIN),
			     true);
}

static void synchronized_input(struct ustcp_sock *c, const struct seg *g);

static void cookie_in(struct tcp_cookie_in *in, const struct seg *g, uint32_t irs)
{
	in->laddr = *g->laddr;
	in->raddr = *g->raddr;
	in->lport = g->lport;
	in->rport = g->rport;
	in->irs = irs;
}

/* A new connection for listener l from the SYN (or the cookie's ACK) g:
 * in SYN-RECEIVED, on l's queue, in the table, with our ISS *iss (NULL:
 * RFC 6528's) and nothing sent yet. */
static struct ustcp_sock *listen_child(struct ustcp_sock *l, const struct seg *g, uint32_t irs,
				       const uint32_t *iss, const struct tcp_opts *syn)
{
	struct ustcp_stack *s = l->stack;
	struct ustcp_sock *c = tcp_port_room(s) == 0 ? tcp_conn_alloc(s) : NULL;
	if (!c) {
		stack_drop(s, USTCP_DROP_tcp_no_memory);
		return NULL;
	}
	c->passive = true;
	inherit_options(c, l);
	tcp_conn_set_tuple(c, g->laddr, g->lport, g->raddr, g->rport);
	c->irs = irs;
	c->rcv_nxt = irs + 1;
	c->iss = iss ? *iss : tcp_new_iss(s, c);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	peer_heard(c);
	apply_syn_options(c, syn);
	c->listener = l;
	c->state = USTCP_SYN_RECEIVED;
	c->ev_state = USTCP_LISTEN;
	dlist_insert_tail(&l->queue->children, &c->link);
	l->queue->n_syn++;
	tcp_conn_hash(c);
	stat_inc(s, USTCP_C_tcp_passive_opens);
	return c;
}

/* RFC 4987 §3.6: whether to answer this SYN with a cookie rather than
 * keep a half-open connection. */
static bool use_cookie(const struct ustcp_sock *l, const struct ustcp_sock *prev)
{
	const struct ustcp_stack *s = l->stack;
	if (!s->cfg.syncookies || prev)
		return false; /* a TIME-WAIT successor keeps RFC 6191's ISS */
	const struct tcp_listen_queue *q = l->queue;
	return l->cookies_always || s->cfg.syncookies == 2 ||
	       (uint32_t)q->n_syn + q->n_done >= q->backlog || !s->tcp->free ||
	       !tcp_kind_room(s, TCP_KIND_HALF_OPEN);
}

/* An ACK to a listener: the third segment of a handshake we answered with
 * a cookie, if the cookie checks out. The connection is made as if the
 * SYN had been kept, then the ACK processed as in SYN-RECEIVED. */
static bool cookie_ack(struct ustcp_sock *l, const struct seg *g)
{
	struct ustcp_stack *s = l->stack;
	const uint64_t window = 2 * 64 * USTCP_NS_PER_SEC;
	if (!l->queue->cookie_at || s->now - l->queue->cookie_at > window ||
	    (g->flags & (TCP_SYN | TCP_RST | TCP_ACK)) != TCP_ACK)
		return false;
	struct tcp_cookie_in in;
	cookie_in(&in, g, g->seq - 1);
	uint16_t mss;
	if (!tcp_cookie_check(s, &in, g->ack - 1, &mss))
		return false;
	if (l->queue->n_done >= l->queue->backlog) {
		/* The peer sends it again (or data) when there is room. */
		stack_drop(s, USTCP_DROP_tcp_listen_overflow);
		return true;
	}
	if (!tcp_kind_room(s, TCP_KIND_ESTABLISHED)) {
		stack_drop(s, USTCP_DROP_tcp_established_limit);
		tcp_send_rst(s, g->laddr, g->lport, g->raddr, g->rport, g->ack, 0, false);
		return true;
	}
	/* The SYN's options, as far as the cookie kept them. */
	struct tcp_opts syn = {.present = TCP_OPT_MSS, .mss = mss};
	const struct tcp_opts *o = &g->th.opts;
	if (o->present & TCP_OPT_TIMESTAMP) {
		tcp_cookie_options(o->ts_ecr, &syn);
		syn.present |= TCP_OPT_TIMESTAMP;
		syn.ts_val = o->ts_val;
	}
	uint32_t iss = g->ack - 1;
	struct ustcp_sock *c = listen_child(l, g, in.irs, &iss, &syn);
	if (!c)
		return true;
	c->ts_offset = tcp_ts_offset(s, &c->laddr, &c->raddr);
	c->snd_nxt = c->snd_max = c->iss + 1; /* our SYN went */
	c->una_time = c->last_send = s->now;
	c->rcv_adv = c->rcv_nxt + MIN(tcp_rcv_space(c), 65535u);
	c->snd_wl1 = in.irs; /* so the ACK's window is taken */
	stat_inc(s, USTCP_C_tcp_syncookies_valid);
	trace_conn(s, USTCP_LISTEN, USTCP_SYN_RECEIVED, c->id);
	/* The echo is of a TSval with options in its low bits: no RTT sample. */
	struct seg ack = *g;
	ack.th.opts.ts_ecr = 0;
	tcp_event_begin(c);
	c->segs_in++;
	synchronized_input(c, &ack);
	return true;
}

/* §3.10.7.2: LISTEN. Only a SYN makes a connection (SYN-RECEIVED child).
 * prev: the TIME-WAIT connection this SYN ends, or NULL: the new one's ISS
 * lies above everything prev sent, so none of its old duplicates falls in
 * the new window (RFC 6191 §2, RFC 1122 §4.2.2.13; as Linux, SND.MAX plus
 * more than an unscaled window). */
static void listen_input(struct ustcp_sock *l, const struct seg *g, const struct ustcp_sock *prev)
{
	struct ustcp_stack *s = l->stack;
	if (g->flags & TCP_RST) {
		stack_drop(s, USTCP_DROP_tcp_listen_not_syn);
		return;
	}
	if (g->flags & TCP_ACK) {
		if (cookie_ack(l, g))
			return;
		stack_drop(s, l->queue->cookie_at ? USTCP_DROP_tcp_syncookie_bad
						  : USTCP_DROP_tcp_listen_not_syn);
		tcp_send_rst(s, g->laddr, g->lport, g->raddr, g->rport, g->ack, 0, false);
		return;
	}
	if (!(g->flags & TCP_SYN)) {
		stack_drop(s, USTCP_DROP_tcp_listen_not_syn);
		return;
	}
	if (l->queue->n_done >= l->queue->backlog) {
		/* As Linux: no room to accept, so no new handshakes at all. */
		stack_drop(s, USTCP_DROP_tcp_listen_overflow);
		return;
	}
	if (use_cookie(l, prev)) {
		struct tcp_cookie_in in;
		cookie_in(&in, g, g->seq);
		tcp_send_cookie_synack(l, &in, &g->th.opts);
		l->queue->cookie_at = s->now ? s->now : 1;
		return;
	}
	if ((uint32_t)l->queue->n_syn + l->queue->n_done >= l->queue->backlog) {
		stack_drop(s, USTCP_DROP_tcp_listen_overflow);
		return;
	}
	if (!tcp_kind_room(s, TCP_KIND_HALF_OPEN)) {
		stack_drop(s, USTCP_DROP_tcp_half_open_limit);
		return;
	}
	uint32_t after_prev = prev ? prev->snd_max + 65537 : 0;
	struct ustcp_sock *c = listen_child(l, g, g->seq, prev ? &after_prev : NULL, &g->th.opts);
	if (!c)
		return;
	window_update(c, g);
	c->snd_wl2 = 0; /* a SYN without ACK has no acknowledgment to remember */
	tcp_send_syn(c);
	trace_conn(s, USTCP_LISTEN, USTCP_SYN_RECEIVED, c->id);
}

static void established(struct ustcp_sock *c)
{
	/* RFC 6298 §5.7: after a SYN timed out, and with no RTT sample, data
	 * starts with an RTO of 3 s. */
	if (!c->srtt)
		c->rto = c->backoff ? MAX(c->stack->cfg.rto_initial, 3 * USTCP_NS_PER_SEC)
				    : c->stack->cfg.rto_initial;
	c->backoff = 0;
	/* A close during the handshake left a FIN queued: it goes now. */
	tcp_set_state(c, c->fin_queued ? USTCP_FIN_WAIT_1 : USTCP_ESTABLISHED);
	tcp_keepalive_arm(c);
	tcp_notify(c, USTCP_EV_WRITABLE);
}

/* RFC 6298 §3 (one timed segment, never a retransmitted one: Karn), or,
 * when nothing is timed, RFC 7323 §4's sample from the echoed timestamp,
 * which names the transmission it answers and so is valid even after a
 * retransmission. */
static bool take_rtt_sample(struct ustcp_sock *c, const struct seg *g)
{
	bool took = true;
	uint64_t ts_rtt = 0;
	c->ack_rtt = 0;
	if (c->ts_ok && (g->th.opts.present & TCP_OPT_TIMESTAMP) && g->th.opts.ts_ecr != 0) {
		uint32_t ms = tcp_ts_now(c) - g->th.opts.ts_ecr;
		if (ms < 60u * 60 * 1000) /* a wild echo is no sample */
			ts_rtt = (uint64_t)MAX(ms, 1u) * USTCP_NS_PER_MS;
	}
	if (c->rtt_active && seq_geq(g->ack, c->rtt_seq)) {
		c->rtt_active = false;
		c->ack_rtt = c->stack->now - c->rtt_start;
		tcp_rtt_sample(c, c->ack_rtt);
	} else if (!c->rtt_active && ts_rtt) {
		tcp_rtt_sample(c, ts_rtt);
	} else {
		took = false;
	}
	if (!c->ack_rtt)
		c->ack_rtt = ts_rtt; /* for HyStart++: one sample per ACK */
	return took;
}

static enum verdict process_text(struct ustcp_sock *c, struct rcv *r);
static void finish(struct ustcp_sock *c, const struct rcv *r, enum verdict v);

/* §3.10.7.3: SYN-SENT. */
static void syn_sent_input(struct ustcp_sock *c, const struct seg *g)
{
	struct ustcp_stack *s = c->stack;
	bool ack_ok = false;
	if (g->flags & TCP_ACK) {
		if (seq_leq(g->ack, c->iss) || seq_gt(g->ack, c->snd_max)) {
			stack_drop(s, USTCP_DROP_tcp_syn_sent_bad_ack);
			if (!(g->flags & TCP_RST))
				tcp_send_rst(s, &c->laddr, c->lport, &c->raddr, c->rport, g->ack, 0,
					     false);
			return;
		}
		ack_ok = seq_gt(g->ack, c->snd_una);
	}
	if (g->flags & TCP_RST) {
		/* RFC 5961 §3.2 / RFC 9293: only a RST that ACKs our SYN counts. */
		if (!ack_ok) {
			stack_drop(s, USTCP_DROP_tcp_syn_sent_bad_rst);
			return;
		}
		stat_inc(s, USTCP_C_tcp_attempt_fails);
		tcp_conn_closed(c, -ECONNREFUSED);
		return;
	}
	if (!(g->flags & TCP_SYN)) {
		/* RFC 9293 §3.10.7.3 fifth: neither SYN nor RST, drop. */
		stack_drop(s, USTCP_DROP_tcp_syn_sent_no_syn);
		return;
	}
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	peer_heard(c);
	apply_syn_options(c, &g->th.opts);
	window_update(c, g);
	struct rcv r = rcv_of(g);
	consume_syn(&r);
	if (ack_ok) {
		c->snd_una = g->ack;
		/* Karn for the SYN: after a retransmission even the echoed
		 * timestamp may be answered by the peer's own SYN,ACK timer, so
		 * no sample is taken (RFC 6298 §3; the RTO stays at 1 s). */
		if (c->backoff == 0)
			(void)take_rtt_sample(c, g);
		tw_cancel(&s->wheel, &c->t_rexmt);
		established(c);
		/* Data or FIN that came with the SYN goes on from step six. */
		r.ack_now = true;
		finish(c, &r, process_text(c, &r));
		return;
	}
	/* Simultaneous open (RFC 9293 §3.5, figure 7): answer with SYN,ACK;
	 * text that came with the SYN waits for ESTABLISHED (§3.10.7.3). */
	tcp_set_state(c, USTCP_SYN_RECEIVED);
	process_text(c, &r);
	tcp_send_syn(c);
}

/* ---- §3.10.7.4 first: the sequence number (PAWS before it) ---- */

/* Is any of the segment inside the receive window? */
static bool seq_acceptable(const struct ustcp_sock *c, const struct rcv *r)
{
	uint32_t wnd = tcp_rcv_window(c);
	uint32_t len = rcv_len(r);
	uint32_t end = c->rcv_nxt + wnd;
	/* An empty segment other than a RST may also sit at the right edge
	 * itself (BSD and Linux take it): that is the SND.NXT of a sender that
	 * filled our window while a hole keeps RCV.NXT back, and the ACKs it
	 * sends would otherwise never be heard. (A RST keeps RFC 5961 §3's
	 * window.) */
	if (len == 0 && !(r->flags & TCP_RST))
		return seq_geq(r->seq, c->rcv_nxt) && seq_leq(r->seq, end);
	if (len == 0)
		return wnd == 0 ? r->seq == c->rcv_nxt : seq_in(r->seq, c->rcv_nxt, end);
	if (wnd == 0)
		return false;
	return seq_in(r->seq, c->rcv_nxt, end) || seq_in(r->seq + len - 1, c->rcv_nxt, end);
}

/* The ACK that answers a segment we cannot use. Two ends that disagree
 * about the sequence space would answer each other's empty segments
 * forever; so, as Linux does, an ACK for an empty segment (no data, SYN or
 * FIN) goes at most once per half second per connection. */
static void ack_unusable(struct ustcp_sock *c, const struct rcv *r)
{
	const uint64_t gap = 500 * USTCP_NS_PER_MS;
	uint64_t now = c->stack->now;
	if (rcv_len(r) == 0) {
		/* (A time, not a "last sent" with 0 for never: a clock may
		 * start at 0, as the simulator's does.) */
		if (now < c->oow_ack_next) {
			stat_inc(c->stack, USTCP_C_tcp_oow_acks_limited);
			return;
		}
		c->oow_ack_next = now + gap;
	}
	tcp_send_ack(c);
}

/* An ACK that only arrived late, behind a newer one (reordering): it
 * acknowledges nothing new and its timestamp is older by less than an RTO.
 * Dropping it would only lose the SACK blocks it carries (Linux's
 * tcp_disordered_ack); it cannot move anything. */
static bool disordered_ack(const struct ustcp_sock *c, const struct rcv *r)
{
	const struct seg *g = r->g;
	uint32_t age = c->ts_recent - g->th.opts.ts_val;
	return r->len == 0 && !(r->flags & (TCP_SYN | TCP_FIN | TCP_RST)) && r->seq == c->rcv_nxt &&
	       seq_leq(g->ack, c->snd_una) && (uint64_t)age * USTCP_NS_PER_MS <= tcp_rto_now(c);
}

/* RFC 7323 §5.3 R1 (PAWS): a segment whose timestamp is older than
 * TS.Recent is an old duplicate, whatever its sequence number says (after
 * 2^32 bytes the numbers repeat): drop it and send an ACK. TS.Recent
 * stays valid for 24 days of idleness (§5.5). */
static bool paws_reject(struct ustcp_sock *c, const struct rcv *r)
{
	const uint64_t day = 24ull * 3600 * USTCP_NS_PER_SEC;
	const struct tcp_opts *o = &r->g->th.opts;
	if (!c->ts_ok || !(o->present & TCP_OPT_TIMESTAMP) || (r->flags & TCP_RST))
		return false;
	if (!seq_lt(o->ts_val, c->ts_recent))
		return false;
	if (c->stack->now - c->ts_recent_age > 24 * day) {
		c->ts_recent = o->ts_val; /* too old to judge by */
		c->ts_recent_age = c->stack->now;
		return false;
	}
	return !disordered_ack(c, r);
}

/* Whether our window is closed and the segment sits exactly at RCV.NXT. */
static bool zero_window_segment(const struct ustcp_sock *c, const struct rcv *r)
{
	return r->seq == c->rcv_nxt && rcv_len(r) > 0 && tcp_rcv_window(c) == 0;
}

static enum verdict check_sequence(struct ustcp_sock *c, struct rcv *r)
{
	struct ustcp_stack *s = c->stack;
	if (paws_reject(c, r)) {
		stack_drop(s, USTCP_DROP_tcp_paws);
		return SEG_ACK_DROP;
	}
	if (zero_window_segment(c, r)) {
		/* "If the RCV.WND is zero, ... special allowance should be made
		 * to accept valid ACKs, URGs, and RSTs": the segment at RCV.NXT
		 * is processed without its data (a window probe, or data sent
		 * before our window closed), and a bare FIN is taken as it needs
		 * no room. */
		if (r->len) {
			stack_drop(s, USTCP_DROP_tcp_zero_window);
			r->len = 0;
			r->fin = false; /* it lay beyond the data */
			r->ack_now = true;
		}
		return SEG_CONTINUE;
	}
	if (seq_acceptable(c, r))
		return SEG_CONTINUE;
	if (r->flags & TCP_RST) {
		stack_drop(s, USTCP_DROP_tcp_rst_out_of_window);
		return SEG_DROP;
	}
	stack_drop(s, USTCP_DROP_tcp_not_acceptable);
	if (c->state == USTCP_TIME_WAIT && r->fin)
		tcp_enter_time_wait(c); /* a retransmitted FIN restarts 2*MSL */
	if (r->len && c->sack_ok && seq_leq(r->seq + r->len, c->rcv_nxt)) {
		c->dsack_left = r->seq; /* RFC 2883: report the duplicate */
		c->dsack_right = r->seq + r->len;
	}
	/* A pure ACK from behind RCV.NXT (by at most a receive buffer): the
	 * peer numbers its ACKs from the right edge it last knew of our
	 * window, and we may have taken data past it (a window probe's byte,
	 * or segments whose ACKs it lost). Its ACK and window still count, as
	 * BSD keeps processing the ACK of an old segment: when both ends are in
	 * that state, dropping them left neither able to learn the other's
	 * ACK. RFC 5961's ACK checks still apply. */
	if (r->len == 0 && (r->flags & (TCP_ACK | TCP_SYN | TCP_FIN)) == TCP_ACK &&
	    seq_lt(r->seq, c->rcv_nxt) && c->rcv_nxt - r->seq <= c->opt->opt_rcvbuf) {
		r->ack_only = true;
		return SEG_CONTINUE;
	}
	return SEG_ACK_DROP;
}

/* ---- second: RST, with RFC 5961 §3.2 ---- */

static enum verdict check_rst(struct ustcp_sock *c, const struct rcv *r)
{
	struct ustcp_stack *s = c->stack;
	if (!(r->flags & TCP_RST))
		return SEG_CONTINUE;
	if (r->seq != c->rcv_nxt) {
		/* In the window but not exact: it may be blind; ask the peer. */
		stack_drop(s, USTCP_DROP_tcp_rst_challenged);
		tcp_send_challenge_ack(c);
		return SEG_DROP;
	}
	switch (c->state) {
	case USTCP_SYN_RECEIVED:
		/* A passive child simply vanishes (its listener stays); an active
		 * open that came here by simultaneous open is refused. */
		if (!c->passive)
			stat_inc(s, USTCP_C_tcp_attempt_fails);
		tcp_conn_closed(c, c->passive ? 0 : -ECONNREFUSED);
		break;
	case USTCP_ESTABLISHED:
	case USTCP_FIN_WAIT_1:
	case USTCP_FIN_WAIT_2:
	case USTCP_CLOSE_WAIT:
		stat_inc(s, USTCP_C_tcp_estab_resets);
		tcp_conn_closed(c, -ECONNRESET);
		break;
	default: /* CLOSING, LAST-ACK, TIME-WAIT */
		tcp_conn_closed(c, 0);
	}
	return SEG_DONE;
}

/* ---- fourth: SYN, with RFC 5961 §4.2 ---- */

static enum verdict check_syn(struct ustcp_sock *c, const struct rcv *r)
{
	if (!(r->flags & TCP_SYN))
		return SEG_CONTINUE;
	if (c->state == USTCP_SYN_RECEIVED && c->passive) {
		/* "return this connection to the LISTEN state": the child goes,
		 * the listener takes the peer's next SYN afresh. */
		tcp_conn_closed(c, 0);
		return SEG_DONE;
	}
	stack_drop(c->stack, USTCP_DROP_tcp_syn_challenged);
	tcp_send_challenge_ack(c);
	return SEG_DROP;
}

/* In SYN-RECEIVED, the peer's SYN again at IRS. Alone: our SYN,ACK was
 * lost, so it goes again, echoing this SYN's timestamp so the peer's RTT
 * sample is of this exchange (RFC 7323 §4.3). With an ACK: simultaneous
 * open (RFC 9293 §3.5 figure 7, line 6), whose SYN we have: it is trimmed
 * off (§3.10.7.4: only the new part of a segment is processed) and what
 * is left is its ACK. */
static enum verdict syn_received_repeat(struct ustcp_sock *c, struct rcv *r)
{
	const struct seg *g = r->g;
	if (!(g->flags & TCP_SYN) || (g->flags & TCP_RST) || g->seq != c->irs)
		return SEG_CONTINUE;
	if (g->flags & TCP_ACK) {
		consume_syn(r);
		return SEG_CONTINUE;
	}
	if (c->ts_ok && (g->th.opts.present & TCP_OPT_TIMESTAMP))
		c->ts_recent = g->th.opts.ts_val;
	tcp_send_syn(c);
	return SEG_DONE;
}

/* ---- fifth: ACK ---- */

/* SYN-RECEIVED: the ACK must acknowledge our SYN and nothing unsent. */
static enum verdict handshake_ack_ok(struct ustcp_sock *c, const struct seg *g)
{
	if (seq_gt(g->ack, c->snd_una) && seq_leq(g->ack, c->snd_max))
		return SEG_CONTINUE;
	stack_drop(c->stack, USTCP_DROP_tcp_ack_unsent);
	return SEG_RESET;
}

/* RFC 5961 §5.2: acceptable when SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.MAX. */
static enum verdict ack_acceptable(struct ustcp_sock *c, const struct rcv *r)
{
	const struct seg *g = r->g;
	if (seq_gt(g->ack, c->snd_max)) {
		stack_drop(c->stack, USTCP_DROP_tcp_ack_unsent);
		if (rcv_len(r) == 0)
			return SEG_ACK_DROP;
		tcp_send_challenge_ack(c);
		return SEG_DROP;
	}
	if (seq_lt(g->ack, c->snd_una - c->max_snd_wnd)) {
		stack_drop(c->stack, USTCP_DROP_tcp_ack_challenged);
		tcp_send_challenge_ack(c);
		return SEG_DROP;
	}
	return SEG_CONTINUE;
}

/* RFC 7323 §4.3 (2) and §5.3 R3: remember the timestamp of an acceptable
 * segment that reaches the left edge of the window, to echo it. Only a
 * segment found acceptable (sequence number and ACK both) counts. */
static void update_ts_recent(struct ustcp_sock *c, const struct rcv *r)
{
	const struct tcp_opts *o = &r->g->th.opts;
	if (!c->ts_ok || !(o->present & TCP_OPT_TIMESTAMP))
		return;
	if (seq_geq(o->ts_val, c->ts_recent) && seq_leq(r->seq, c->last_ack_sent)) {
		c->ts_recent = o->ts_val;
		c->ts_recent_age = c->stack->now;
	}
}

/* RFC 9293 §3.10.7.3 / §3.10.7.4: text that came on a SYN received in
 * SYN-SENT waited in the receive ring (process_text); now it counts. */
static void release_held_text(struct ustcp_sock *c);

/* SYN-RECEIVED to ESTABLISHED: a passive child joins its listener's
 * accept queue. */
static void complete_handshake(struct ustcp_sock *c, const struct seg *g)
{
	window_update(c, g);
	established(c);
	release_held_text(c);
	struct ustcp_sock *l = c->listener;
	if (l) {
		l->queue->n_syn--;
		l->queue->n_done++;
		dlist_remove(&c->link);
		dlist_insert_tail(&l->queue->children, &c->link);
		tcp_notify(l, USTCP_EV_ACCEPT);
	}
}

/* A new cumulative ACK: free acknowledged bytes, time, forget backoff. */
static uint32_t ack_advance(struct ustcp_sock *c, const struct seg *g)
{
	struct ustcp_stack *s = c->stack;
	uint32_t ack = g->ack;
	uint32_t acked = ack - c->snd_una;
	if (seq_gt(ack, c->snd_buf_seq)) {
		uint32_t n = ack - c->snd_buf_seq;
		if (n > c->sndbuf.len)
			n = c->sndbuf.len;
		stack_tx_release_refs(c->stack);
		ring_drop(&c->sndbuf, n);
		c->snd_buf_seq += n;
		c->bytes_acked += n;
	}
	c->snd_una = ack;
	c->una_time = s->now;
	c->soft_error = 0; /* the peer is reached again: a past soft error explains nothing */
	if (seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	if (c->ranges)
		seqset_trim(&c->ranges->sacked, ack);
	if (c->snd_up_valid && seq_geq(ack, c->snd_up))
		c->snd_up_valid = false;
	/* Karn's algorithm (RFC 6298 §5.7 note): the backed-off timer stays
	 * until new data gives a valid RTT sample; then the RTO is the
	 * estimator's again. */
	if (take_rtt_sample(c, g))
		c->backoff = 0;
	return acked;
}

/* RFC 5681 §2: a duplicate ACK acknowledges nothing new while data is
 * outstanding, carries no data, SYN or FIN, and leaves the window as it was.
 * The answers to zero-window probes are not (the window is zero). */
static bool is_dup_ack(const struct ustcp_sock *c, const struct rcv *r)
{
	const struct seg *g = r->g;
	return g->ack == c->snd_una && c->snd_una != c->snd_max && r->len == 0 && c->snd_wnd != 0 &&
	       !(g->flags & (TCP_SYN | TCP_FIN)) && seg_window(c, g) == c->snd_wnd;
}

/* The peer's window opened again after it was closed: what it refused
 * (a probe's byte, anything beyond the closed window) goes again from
 * SND.UNA, on a fresh timer. Probing was no timeout: the persist backoff
 * ends, but a retransmission backoff stays until a valid RTT sample
 * (Karn, RFC 6298 §5.7). */
static void window_opened(struct ustcp_sock *c)
{
	c->persist_since = 0;
	c->persist_backoff = 0;
	c->snd_nxt = c->snd_una;
	if (tw_armed(&c->t_rexmt))
		tcp_rexmt_arm(c);
}

/* After an ACK of new data: the retransmission timer (RFC 6298 §5.2-5.3:
 * stopped when all is acknowledged, else restarted), the probe timer
 * (RFC 8985 §7.2), and the user may write again. */
static void new_ack(struct ustcp_sock *c)
{
	if (c->snd_una == c->snd_max && !tcp_unsent(c))
		tw_cancel(&c->stack->wheel, &c->t_rexmt);
	else
		tcp_rexmt_arm(c);
	tcp_tlp_schedule(c);
	tcp_notify(c, USTCP_EV_WRITABLE);
}

static bool fin_acked(const struct ustcp_sock *c)
{
	return c->fin_queued && c->snd_una == c->snd_buf_seq + c->sndbuf.len + 1;
}

/* Our FIN acknowledged: FIN-WAIT-1 to FIN-WAIT-2, CLOSING to TIME-WAIT,
 * LAST-ACK to CLOSED. */
static enum verdict fin_ack_transitions(struct ustcp_sock *c)
{
	if (!fin_acked(c))
		return SEG_CONTINUE;
	switch (c->state) {
	case USTCP_FIN_WAIT_1:
		tcp_set_state(c, USTCP_FIN_WAIT_2);
		tcp_arm_fin_wait2(c);
		break;
	case USTCP_CLOSING:
		tcp_enter_time_wait(c);
		break;
	case USTCP_LAST_ACK:
		tcp_conn_closed(c, 0);
		return SEG_DONE;
	default:
		break;
	}
	return SEG_CONTINUE;
}

/* An acceptable ACK: SND.UNA and the scoreboard, then loss recovery and
 * congestion control (tcp_recovery.c), the timers, the window, and what
 * our FIN's acknowledgment moves on. */
static enum verdict take_ack(struct ustcp_sock *c, const struct rcv *r)
{
	const struct seg *g = r->g;
	bool advanced = seq_gt(g->ack, c->snd_una);
	bool dup = !advanced && is_dup_ack(c, r);
	uint32_t acked = advanced ? ack_advance(c, g) : 0;
	bool has_sack = c->sack_ok && (g->th.opts.present & TCP_OPT_SACK);
	if (has_sack)
		tcp_sack_update(c, &g->th.opts, g->ack);
	tcp_recovery_on_ack(c, g->ack, acked, dup, has_sack ? &g->th.opts : NULL);
	if (advanced)
		new_ack(c);
	/* Window update, unless the segment is older than the one that set
	 * the window last (RFC 9293 §3.10.7.4: SND.WL1, SND.WL2). */
	if (seq_leq(c->snd_una, g->ack) &&
	    (seq_lt(c->snd_wl1, g->seq) || (c->snd_wl1 == g->seq && seq_leq(c->snd_wl2, g->ack)))) {
		if (window_update(c, g) == 0 && c->snd_wnd > 0)
			window_opened(c);
	}
	return fin_ack_transitions(c);
}

static enum verdict check_ack(struct ustcp_sock *c, const struct rcv *r)
{
	if (!(r->g->flags & TCP_ACK)) {
		stack_drop(c->stack, USTCP_DROP_tcp_no_ack);
		return SEG_DROP;
	}
	bool handshake = c->state == USTCP_SYN_RECEIVED;
	enum verdict v = handshake ? handshake_ack_ok(c, r->g) : ack_acceptable(c, r);
	if (v != SEG_CONTINUE)
		return v;
	if (handshake && c->listener && !tcp_kind_room(c->stack, TCP_KIND_ESTABLISHED)) {
		/* max_established: refused, as a full queue would be. */
		stack_drop(c->stack, USTCP_DROP_tcp_established_limit);
		tcp_send_rst_conn(c);
		tcp_conn_closed(c, -ECONNREFUSED);
		return SEG_DONE;
	}
	peer_heard(c);
	if (!r->ack_only)
		update_ts_recent(c, r);
	if (handshake)
		complete_handshake(c, r->g);
	return take_ack(c, r);
}

/* ---- sixth: URG (RFC 6093: the pointer marks the byte after the urgent
 * data; the data itself stays in line) ---- */

static void check_urg(struct ustcp_sock *c, const struct rcv *r)
{
	const struct seg *g = r->g;
	if (!(r->flags & TCP_URG) || g->th.urp == 0 || c->fin_rcvd)
		return;
	uint32_t up = g->seq + g->th.urp;
	if (!c->rcv_up_valid || seq_gt(up, c->rcv_up)) {
		c->rcv_up = up;
		c->rcv_up_valid = true;
		tcp_notify(c, USTCP_EV_READABLE);
	}
}

/* ---- seventh and eighth: text, then FIN ---- */

/* The peer's FIN is in sequence: the state moves on (§3.10.7.4 eighth). */
static void fin_in_order(struct ustcp_sock *c)
{
	c->rcv_nxt += 1;
	c->fin_rcvd = true;
	c->fin_ooo = false;
	tcp_notify(c, USTCP_EV_READABLE);
	switch (c->state) {
	case USTCP_SYN_RECEIVED:
	case USTCP_ESTABLISHED:
		tcp_set_state(c, USTCP_CLOSE_WAIT);
		break;
	case USTCP_FIN_WAIT_1:
		if (fin_acked(c))
			tcp_enter_time_wait(c);
		else
			tcp_set_state(c, USTCP_CLOSING);
		break;
	case USTCP_FIN_WAIT_2:
		tcp_enter_time_wait(c);
		break;
	default:
		break;
	}
}

/* n bytes now in the ring at RCV.NXT are in order: the user may read them,
 * and with them whatever the assembler held right after. Returns whether
 * a hole was closed or narrowed (the sender wants to hear of it at once). */
static bool advance_in_order(struct ustcp_sock *c, uint32_t n)
{
	c->rcv_nxt += n;
	uint32_t more = 0;
	if (!tcp_reass_empty(&c->ranges->reass)) {
		more = tcp_reass_take(&c->ranges->reass, c->rcv_nxt);
		ring_commit(&c->rcvbuf, more);
		c->rcv_nxt += more;
	}
	if (c->rcv_shut) /* shutdown(SHUT_RD): acknowledged, and dropped (as BSD) */
		ring_drop(&c->rcvbuf, c->rcvbuf.len);
	stat_add(c->stack, USTCP_C_tcp_data_in_bytes, n + more);
	c->bytes_received += n + more;
	return more || !tcp_reass_empty(&c->ranges->reass);
}

/* Place the text in the receive buffer: in order, it extends what the user
 * can read (and may close a hole, releasing what the assembler held); out
 * of order, it waits in the ring at its place. Returns false when it was
 * refused. *filled says a hole was closed or narrowed. */
static bool store_data(struct ustcp_sock *c, struct rcv *r, bool *filled)
{
	struct ustcp_stack *s = c->stack;
	uint32_t off = r->seq - c->rcv_nxt;
	uint32_t space = tcp_rcv_space(c);
	if (off >= space) {
		stack_drop(s, USTCP_DROP_tcp_rcvbuf_full);
		return false;
	}
	if (r->len > space - off) {
		r->len = space - off;
		r->fin = false; /* the FIN lies beyond what we keep */
		stack_drop(s, USTCP_DROP_tcp_rcvbuf_full);
	}
	if (off == 0) {
		ring_write(&c->rcvbuf, r->data, r->len);
		*filled = advance_in_order(c, r->len);
		return true;
	}
	if (tcp_reass_add(&c->ranges->reass, c->rcv_nxt, r->seq, r->len) < 0) {
		stack_drop(s, USTCP_DROP_tcp_ooo_no_room);
		return false;
	}
	ring_write_at(&c->rcvbuf, c->rcvbuf.len + off, r->data, r->len);
	stat_inc(s, USTCP_C_tcp_ooo_segments);
	return true;
}

/* RFC 9293 §3.10.7.3: "If there are other controls or text in the segment,
 * queue them for processing after the ESTABLISHED state has been reached."
 * The text of a SYN that came in SYN-SENT is written at RCV.NXT in the
 * receive ring, but neither acknowledged nor readable until then; its FIN
 * likewise waits. */
static void hold_text(struct ustcp_sock *c, struct rcv *r)
{
	if (!r->len && !r->fin)
		return;
	if (r->len && tcp_ensure_buffers(c) < 0) {
		stack_drop(c->stack, USTCP_DROP_tcp_rcvbuf_full);
		return;
	}
	uint32_t space = tcp_rcv_space(c);
	if (r->len > space) {
		r->len = space;
		r->fin = false;
		stack_drop(c->stack, USTCP_DROP_tcp_rcvbuf_full);
	}
	if (r->len)
		ring_write_at(&c->rcvbuf, c->rcvbuf.len, r->data, r->len);
	c->held_len = r->len;
	c->held_fin = r->fin;
}

static void release_held_text(struct ustcp_sock *c)
{
	if (c->held_len) {
		ring_commit(&c->rcvbuf, c->held_len);
		advance_in_order(c, c->held_len);
		c->held_len = 0;
		c->ack_pending = true;
		tcp_notify(c, USTCP_EV_READABLE);
	}
	if (c->held_fin) {
		c->held_fin = false;
		c->ack_pending = true;
		fin_in_order(c);
	}
}

/* Trim what we already have from the front of the text. A duplicate is
 * acknowledged at once (and reported in a D-SACK block, RFC 2883). */
static void trim_old_text(struct ustcp_sock *c, struct rcv *r)
{
	if ((!r->len && !r->fin) || !seq_lt(r->seq, c->rcv_nxt))
		return;
	uint32_t skip = MIN(c->rcv_nxt - r->seq, r->len);
	r->data += skip;
	r->len -= skip;
	r->seq += skip;
	if (r->len == 0 && !r->fin) {
		if (skip && c->sack_ok) {
			c->dsack_left = r->seq - skip;
			c->dsack_right = r->seq;
		}
		r->ack_now = true; /* a duplicate: the sender needs our ACK */
	}
}

/* Decides how data is acknowledged (RFC 1122 §4.2.3.2, RFC 5681 §4.2):
 * out-of-order and hole-filling data at once, in-order data at least every
 * second full-sized segment, otherwise within the ACK delay. */
static enum verdict process_text(struct ustcp_sock *c, struct rcv *r)
{
	struct ustcp_stack *s = c->stack;
	if (c->state == USTCP_SYN_RECEIVED) {
		hold_text(c, r);
		return SEG_CONTINUE;
	}
	trim_old_text(c, r);
	if (r->len > 0) {
		switch (c->state) {
		case USTCP_ESTABLISHED:
		case USTCP_FIN_WAIT_1:
		case USTCP_FIN_WAIT_2:
			break;
		default:
			/* CLOSE-WAIT and later: the peer already sent its FIN. */
			stack_drop(s, USTCP_DROP_tcp_data_after_fin);
			tcp_send_ack(c);
			return SEG_CONTINUE;
		}
		if (c->rcv_closed) {
			/* RFC 1122 §4.2.2.13 (as Linux does): nobody will read this. */
			stack_drop(s, USTCP_DROP_tcp_data_closed_rcv);
			tcp_send_rst_conn(c);
			tcp_conn_closed(c, -ECONNRESET);
			return SEG_DONE;
		}
		if (tcp_ensure_buffers(c) < 0) {
			stack_drop(s, USTCP_DROP_tcp_rcvbuf_full);
			return SEG_CONTINUE;
		}
		bool in_order = r->seq == c->rcv_nxt, filled = false;
		uint32_t len = r->len;
		if (!store_data(c, r, &filled) || !in_order || filled) {
			r->ack_now = true;
		} else {
			/* "Full-sized" is the largest the peer sends, up to our MSS:
			 * an oversized segment must not make the rest wait. */
			if (len > c->rcv_seg_max)
				c->rcv_seg_max = (uint16_t)MIN(len, (uint32_t)c->rcv_mss);
			c->delack_bytes += len;
			if (c->opt->quickack || c->delack_bytes >= 2u * c->rcv_seg_max)
				r->ack_now = true;
			else
				tcp_ack_later(c);
		}
		if (in_order)
			tcp_notify(c, USTCP_EV_READABLE);
	}
	/* This segment's FIN in sequence, or one that waited for this data. */
	bool fin_now = (r->fin && r->seq + r->len == c->rcv_nxt) ||
		       (c->fin_ooo && c->rcv_nxt == c->fin_ooo_seq);
	if (fin_now && !c->fin_rcvd) {
		fin_in_order(c);
		r->ack_now = true;
	} else if (r->fin && c->state == USTCP_TIME_WAIT) {
		tcp_enter_time_wait(c); /* restart the 2*MSL timeout */
		r->ack_now = true;
	} else if (r->fin && !c->fin_rcvd && seq_gt(r->seq + r->len, c->rcv_nxt)) {
		/* A FIN beyond a hole: it takes effect when the hole closes. */
		c->fin_ooo = true;
		c->fin_ooo_seq = r->seq + r->len;
		r->ack_now = true;
	}
	return SEG_CONTINUE;
}

/* ---- the dispatcher ---- */

/* Carry out a verdict: after the steps, what the window allows goes out,
 * and the ACK the segment called for. */
static void finish(struct ustcp_sock *c, const struct rcv *r, enum verdict v)
{
	switch (v) {
	case SEG_CONTINUE:
		if (r->ack_now)
			c->ack_pending = true;
		if (c->state == USTCP_CLOSED)
			return;
		tcp_output(c);
		if (c->ack_pending)
			tcp_send_ack(c);
		return;
	case SEG_ACK_DROP:
		ack_unusable(c, r);
		return;
	case SEG_RESET:
		tcp_send_rst(c->stack, &c->laddr, c->lport, &c->raddr, c->rport, r->g->ack, 0,
			     false);
		return;
	case SEG_DROP:
	case SEG_DONE:
		return;
	}
}

/* §3.10.7.4: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING,
 * LAST-ACK, TIME-WAIT: the RFC's steps in its order. */
static void synchronized_input(struct ustcp_sock *c, const struct seg *g)
{
	struct rcv r = rcv_of(g);
	enum verdict v = SEG_CONTINUE;
	if (c->state == USTCP_SYN_RECEIVED)
		v = syn_received_repeat(c, &r);
	/* RFC 5961 §4.2: a SYN in a synchronized state is challenged
	 * "irrespective of the sequence number" (SYN-RECEIVED keeps §3.10.7.4's
	 * order: an in-window SYN there returns a passive child to LISTEN). */
	if (v == SEG_CONTINUE && (r.flags & (TCP_SYN | TCP_RST)) == TCP_SYN &&
	    c->state != USTCP_SYN_RECEIVED)
		v = check_syn(c, &r);
	if (v == SEG_CONTINUE)
		v = check_sequence(c, &r);
	if (v == SEG_CONTINUE)
		v = check_rst(c, &r);
	if (v == SEG_CONTINUE)
		v = check_syn(c, &r);
	if (v == SEG_CONTINUE)
		v = check_ack(c, &r);
	if (v == SEG_CONTINUE && r.ack_only) {
		/* An old segment's ACK was used; the segment itself was not. */
		tcp_output(c);
		v = SEG_ACK_DROP;
	}
	if (v == SEG_CONTINUE) {
		check_urg(c, &r);
		v = process_text(c, &r);
	}
	finish(c, &r, v);
}

/* RFC 6191 §2 (RFC 9293 §3.10.7.4's note on TIME-WAIT, RFC 1122
 * §4.2.2.13): a SYN may end TIME-WAIT when it cannot be an old duplicate.
 * With timestamps on both incarnations, its TSval is newer than the last
 * the old connection saw (or the same, with a higher sequence number);
 * otherwise its sequence number is beyond the old connection's. */
static bool time_wait_syn_new(const struct ustcp_sock *c, const struct seg *g)
{
	const struct tcp_opts *o = &g->th.opts;
	if (c->ts_ok && c->stack->cfg.timestamps && (o->present & TCP_OPT_TIMESTAMP)) {
		if (o->ts_val != c->ts_recent)
			return seq_gt(o->ts_val, c->ts_recent);
	}
	return seq_gt(g->seq, c->rcv_nxt);
}

static bool time_wait_reopen(struct ustcp_sock *c, const struct seg *g)
{
	if (c->state != USTCP_TIME_WAIT || (g->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN ||
	    !time_wait_syn_new(c, g))
		return false;
	struct ustcp_sock *l = tcp_listener_lookup(c->stack, g->laddr, g->lport);
	if (!l)
		return false;
	stat_inc(c->stack, USTCP_C_tcp_timewait_reused);
	tcp_conn_closed(c, 0); /* its fields stay until the event ends */
	listen_input(l, g, c);
	return true;
}

static enum ustcp_drop parse_drop_reason(int err)
{
	switch (-err) {
	case WIRE_EOFF:
		return USTCP_DROP_tcp_bad_offset;
	case WIRE_EOPT:
		return USTCP_DROP_tcp_bad_option;
	default:
		return USTCP_DROP_tcp_truncated;
	}
}

/* The connection a segment is for. Segments come in runs of one flow, and
 * the table's keyed hash is most of what a lookup costs, so the last one
 * found is tried first: a slot of the fixed pool, always there to read,
 * and the right one exactly when it is in the table with this 4-tuple. */
static struct ustcp_sock *conn_of(struct ustcp_stack *s, const struct seg *g)
{
	struct ustcp_sock *c = s->rx_last;
	if (c && c->hashed && c->lport == g->lport && c->rport == g->rport &&
	    ip_eq(&c->raddr, g->raddr) && ip_eq(&c->laddr, g->laddr))
		return c;
	c = tcp_conn_lookup(s, g->laddr, g->lport, g->raddr, g->rport);
	if (c)
		s->rx_last = c;
	return c;
}

void tcp_input(struct ustcp_stack *s, const struct net_pkt *p)
{
	struct seg g;
	stat_inc(s, USTCP_C_tcp_in);
	int hlen = tcp_parse(p->l4, p->l4len, &g.th);
	if (hlen < 0) {
		stack_drop(s, parse_drop_reason(hlen));
		return;
	}
	if (!p->csum_ok &&
	    !(p->v6 ? tcp_checksum_ok6(p->l4, p->l4len, p->src.b, p->dst.b)
		    : tcp_checksum_ok4(p->l4, p->l4len, ip_v4(&p->src), ip_v4(&p->dst)))) {
		stack_drop(s, USTCP_DROP_tcp_bad_csum);
		return;
	}
	if (g.th.sport == 0 || g.th.dport == 0) {
		stack_drop(s, USTCP_DROP_tcp_bad_port);
		return;
	}
	g.data = p->l4 + hlen;
	g.len = (uint32_t)(p->l4len - (size_t)hlen);
	g.seq = g.th.seq;
	g.ack = g.th.ack;
	g.flags = g.th.flags;
	g.laddr = &p->dst;
	g.raddr = &p->src;
	g.lport = g.th.dport;
	g.rport = g.th.sport;

	struct ustcp_sock *c = conn_of(s, &g);
	if (!c) {
		struct ustcp_sock *l = tcp_listener_lookup(s, g.laddr, g.lport);
		if (l) {
			trace_conn(s, USTCP_LISTEN, USTCP_LISTEN, l->id);
			listen_input(l, &g, NULL);
		} else {
			closed_input(s, &g);
		}
		return;
	}
	int before = c->state;
	tcp_event_begin(c);
	c->segs_in++;
	if (time_wait_reopen(c, &g))
		return;
	if (c->state == USTCP_SYN_SENT)
		syn_sent_input(c, &g);
	else
		synchronized_input(c, &g);
	trace_conn(s, before, c->state, c->id);
}
