/* tcp_input.c — SEGMENT ARRIVES, RFC 9293 §3.10.7.
 *
 * Parse and check, look the connection up, then one switch on the state:
 * CLOSED (no connection), LISTEN, SYN-SENT, and the synchronized states,
 * which share the RFC's checks in its order: sequence number, RST, SYN,
 * ACK, text, FIN. RFC 5961's defences against blind attacks sit in the
 * RST, SYN and ACK steps. */
#include <errno.h>
#include <string.h>

#include "net/net.h"
#include "tcp/tcp.h"
#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"
#include "wire/wire.h"

struct seg {
	struct tcp_hdr th;
	const uint8_t *data;
	uint32_t len; /* payload bytes */
	uint32_t seq, ack;
	uint8_t flags;
	const struct ipaddr *laddr, *raddr; /* in the packet being processed */
	uint16_t lport, rport;
};

static uint32_t seg_len(const struct seg *g)
{
	return g->len + !!(g->flags & TCP_SYN) + !!(g->flags & TCP_FIN);
}

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

/* The options of the peer's SYN decide what this connection uses: MSS
 * (RFC 9293 §3.7.1; 536 without one), window scale (RFC 7323 §2.2, both
 * sides must offer it), SACK (RFC 2018 §2) and timestamps (RFC 7323 §3.2).
 * The send MSS leaves room for the timestamp option (RFC 6691). */
static void apply_syn_options(struct ustcp_sock *c, const struct seg *g)
{
	struct ustcp_stack *s = c->stack;
	const struct tcp_opts *o = &g->th.opts;
	if (!c->rcv_mss)
		c->rcv_mss = (uint16_t)(net_mtu(s, &c->raddr) - TCP_HLEN);
	uint32_t mss = (o->present & TCP_OPT_MSS) ? o->mss : s->cfg.default_mss;
	mss = MIN(mss, (uint32_t)c->rcv_mss);
	if (mss < 88)
		mss = 88; /* a tiny MSS would make us send floods of headers */
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
	c->recover = c->rto_recover = c->iss;
	c->rcv_seg_max = (uint16_t)MIN(c->rcv_mss - (c->ts_ok ? 12u : 0u), 536u);
	c->cc->init(c);
}

/* Options a listener's children take over (ustcp_setsockopt). */
static void inherit_options(struct ustcp_sock *c, const struct ustcp_sock *l)
{
	c->opt_sndbuf = l->opt_sndbuf;
	c->opt_rcvbuf = l->opt_rcvbuf;
	c->ack_delay = l->ack_delay;
	c->keep_idle = l->keep_idle;
	c->keep_intvl = l->keep_intvl;
	c->keep_cnt = l->keep_cnt;
	c->user_timeout = l->user_timeout;
	c->rto_min = l->rto_min;
	c->nodelay = l->nodelay;
	c->quickack = l->quickack;
	c->keepalive = l->keepalive;
	c->cc = l->cc;
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
		tcp_send_rst(s, g->laddr, g->lport, g->raddr, g->rport, 0, g->seq + seg_len(g),
			     true);
}

/* §3.10.7.2: LISTEN. Only a SYN makes a connection (SYN-RECEIVED child). */
static void listen_input(struct ustcp_sock *l, const struct seg *g)
{
	struct ustcp_stack *s = l->stack;
	if (g->flags & TCP_RST) {
		stack_drop(s, USTCP_DROP_tcp_listen_not_syn);
		return;
	}
	if (g->flags & TCP_ACK) {
		stack_drop(s, USTCP_DROP_tcp_listen_not_syn);
		tcp_send_rst(s, g->laddr, g->lport, g->raddr, g->rport, g->ack, 0, false);
		return;
	}
	if (!(g->flags & TCP_SYN)) {
		stack_drop(s, USTCP_DROP_tcp_listen_not_syn);
		return;
	}
	if ((uint32_t)l->n_syn + l->n_done >= l->backlog) {
		stack_drop(s, USTCP_DROP_tcp_listen_overflow);
		return;
	}
	struct ustcp_sock *c = tcp_conn_alloc(s);
	if (!c) {
		stack_drop(s, USTCP_DROP_tcp_no_memory);
		return;
	}
	c->passive = true;
	inherit_options(c, l);
	tcp_conn_set_tuple(c, g->laddr, g->lport, g->raddr, g->rport);
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->iss = tcp_new_iss(s, c);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	c->snd_wnd = g->th.win; /* RFC 7323 §2.2: a SYN's window is never scaled */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = 0;
	c->last_rcv = s->now;
	apply_syn_options(c, g);
	c->listener = l;
	c->state = USTCP_SYN_RECEIVED;
	c->ev_state = USTCP_LISTEN;
	dlist_insert_tail(&l->children, &c->link);
	l->n_syn++;
	tcp_conn_hash(c);
	stat_inc(s, USTCP_C_tcp_passive_opens);
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
static bool take_rtt_sample(struct ustcp_sock *c, const struct seg *g, uint32_t ack)
{
	bool took = true;
	uint64_t ts_rtt = 0;
	c->ack_rtt = 0;
	if (c->ts_ok && (g->th.opts.present & TCP_OPT_TIMESTAMP) && g->th.opts.ts_ecr != 0) {
		uint32_t ms = tcp_ts_now(c) - g->th.opts.ts_ecr;
		if (ms < 60u * 60 * 1000) /* a wild echo is no sample */
			ts_rtt = (uint64_t)MAX(ms, 1u) * USTCP_NS_PER_MS;
	}
	if (c->rtt_active && seq_geq(ack, c->rtt_seq)) {
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

static void text_and_fin(struct ustcp_sock *c, struct seg *g, bool need_ack);

/* §3.10.7.3: SYN-SENT. */
static void syn_sent_input(struct ustcp_sock *c, struct seg *g)
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
	c->last_rcv = s->now;
	apply_syn_options(c, g);
	c->snd_wnd = g->th.win;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->ack;
	if (ack_ok) {
		c->snd_una = g->ack;
		/* Karn for the SYN: after a retransmission even the echoed
		 * timestamp may be answered by the peer's own SYN,ACK timer, so
		 * no sample is taken (RFC 6298 §3; the RTO stays at 1 s). */
		if (c->backoff == 0)
			(void)take_rtt_sample(c, g, g->ack);
		tw_cancel(&s->wheel, &c->t_rexmt);
		established(c);
		/* Data or FIN that came with the SYN is processed from step six. */
		g->seq += 1;
		g->flags &= (uint8_t)~TCP_SYN;
		text_and_fin(c, g, true);
		tcp_output(c);
		if (c->ack_pending && c->state != USTCP_CLOSED)
			tcp_send_ack(c);
		return;
	}
	/* Simultaneous open (RFC 9293 §3.5, figure 7): answer with SYN,ACK. */
	tcp_set_state(c, USTCP_SYN_RECEIVED);
	tcp_send_syn(c);
}

/* §3.10.7.4 first check: is any of the segment inside the receive window? */
static bool seq_acceptable(const struct ustcp_sock *c, const struct seg *g)
{
	uint32_t wnd = tcp_rcv_window(c);
	uint32_t len = seg_len(g);
	uint32_t end = c->rcv_nxt + wnd;
	/* An empty segment other than a RST may also sit at the right edge
	 * itself (BSD and Linux take it): that is the SND.NXT of a sender that
	 * filled our window while a hole keeps RCV.NXT back, and the ACKs it
	 * sends would otherwise never be heard. (A RST keeps RFC 5961 §3's
	 * window.) */
	if (len == 0 && !(g->flags & TCP_RST))
		return seq_geq(g->seq, c->rcv_nxt) && seq_leq(g->seq, end);
	if (len == 0)
		return wnd == 0 ? g->seq == c->rcv_nxt : seq_in(g->seq, c->rcv_nxt, end);
	if (wnd == 0)
		return false;
	return seq_in(g->seq, c->rcv_nxt, end) || seq_in(g->seq + len - 1, c->rcv_nxt, end);
}

/* The ACK that answers a segment we cannot use. Two ends that disagree
 * about the sequence space would answer each other's empty segments
 * forever; so, as Linux does, an ACK for an empty segment (no data, SYN or
 * FIN) goes at most once per half second per connection. */
static void ack_unusable(struct ustcp_sock *c, const struct seg *g)
{
	const uint64_t gap = 500 * USTCP_NS_PER_MS;
	uint64_t now = c->stack->now;
	if (seg_len(g) == 0) {
		if (c->last_oow_ack && now - c->last_oow_ack < gap) {
			stat_inc(c->stack, USTCP_C_tcp_oow_acks_limited);
			return;
		}
		c->last_oow_ack = now;
	}
	tcp_send_ack(c);
}

/* A segment exactly at RCV.NXT while our window is closed. */
static bool zero_window_segment(const struct ustcp_sock *c, const struct seg *g)
{
	return g->seq == c->rcv_nxt && seg_len(g) > 0 && tcp_rcv_window(c) == 0;
}

/* §3.10.7.4 second check, with RFC 5961 §3.2. Returns true when consumed. */
static bool rst_check(struct ustcp_sock *c, const struct seg *g)
{
	struct ustcp_stack *s = c->stack;
	if (!(g->flags & TCP_RST))
		return false;
	if (g->seq != c->rcv_nxt) {
		/* In the window but not exact: it may be blind; ask the peer. */
		stack_drop(s, USTCP_DROP_tcp_rst_challenged);
		tcp_send_challenge_ack(c);
		return true;
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
	return true;
}

/* §3.10.7.4 fourth check, with RFC 5961 §4.2. Returns true when consumed. */
static bool syn_check(struct ustcp_sock *c, const struct seg *g)
{
	if (!(g->flags & TCP_SYN))
		return false;
	if (c->state == USTCP_SYN_RECEIVED && c->passive) {
		/* "return this connection to the LISTEN state": the child goes,
		 * the listener takes the peer's next SYN afresh. */
		tcp_conn_closed(c, 0);
		return true;
	}
	stack_drop(c->stack, USTCP_DROP_tcp_syn_challenged);
	tcp_send_challenge_ack(c);
	return true;
}

static bool fin_acked(const struct ustcp_sock *c)
{
	return c->fin_queued && c->snd_una == c->snd_buf_seq + c->sndbuf.len + 1;
}

/* RFC 6582 §3.2 steps 3-5 (and RFC 6675 §5 with SACK): an ACK of new data
 * during fast recovery. A full acknowledgment ends recovery. A partial one
 * means the next hole was lost too: NewReno resends it at once and deflates
 * the window by what was acknowledged; with SACK the scoreboard decides,
 * unless it shows no loss at the new SND.UNA (the last holes of a burst
 * have too little SACKed above them), when the hole is resent as NewReno
 * would. */
static void recovery_ack(struct ustcp_sock *c, uint32_t acked)
{
	if (seq_geq(c->snd_una, c->recover)) {
		c->in_recovery = false;
		c->dupacks = 0;
		c->cc->after_recovery(c);
		tcp_rack_recovery_done(c);
		return;
	}
	if (c->sack_ok) {
		/* RACK finds the next hole in time (its timer included). */
		if (!tcp_rack_on(c) && !tcp_sack_loss_detected(c) &&
		    seq_leq(c->rexmt_next, c->snd_una))
			tcp_retransmit_first(c);
		return;
	}
	tcp_retransmit_first(c);
	c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
	if (acked >= c->snd_mss)
		c->cwnd += c->snd_mss;
	c->cwnd = MAX(c->cwnd, (uint32_t)c->snd_mss);
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
		ring_drop(&c->sndbuf, n);
		c->snd_buf_seq += n;
		c->bytes_acked += n;
	}
	c->snd_una = ack;
	c->una_time = s->now;
	if (seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	seqset_trim(&c->sacked, ack);
	if (c->snd_up_valid && seq_geq(ack, c->snd_up))
		c->snd_up_valid = false;
	/* Karn's algorithm (RFC 6298 §5.7 note): the backed-off timer stays
	 * until new data gives a valid RTT sample; then the RTO is the
	 * estimator's again. */
	if (take_rtt_sample(c, g, ack))
		c->backoff = 0;
	return acked;
}

/* After a new ACK: congestion control or recovery, then the timer. */
static void new_ack(struct ustcp_sock *c, uint32_t acked)
{
	struct ustcp_stack *s = c->stack;
	if (c->in_recovery) {
		recovery_ack(c, acked);
	} else {
		c->dupacks = 0;
		c->cc->on_ack(c, acked);
	}
	/* RFC 6298 §5.2-5.3: stop the timer when all is acked, else restart it. */
	if (c->snd_una == c->snd_max && !tcp_unsent(c))
		tw_cancel(&s->wheel, &c->t_rexmt);
	else
		tcp_rexmt_arm(c);
	/* RACK may find loss in an ACK that moves SND.UNA too. */
	if (tcp_rack_on(c))
		tcp_loss_check(c);
	tcp_tlp_schedule(c); /* RFC 8985 §7.2: after an ACK of new data */
	tcp_notify(c, USTCP_EV_WRITABLE);
}

/* The peer's window opened again after the persist timer probed it: what
 * it refused (the probe's byte, anything beyond the closed window) goes
 * again from SND.UNA, on a fresh timer: probing is not a timeout. */
static void window_opened(struct ustcp_sock *c)
{
	c->persist_since = 0;
	c->snd_nxt = c->snd_una;
	c->backoff = 0;
	if (tw_armed(&c->t_rexmt))
		tcp_rexmt_arm(c);
}

/* RFC 5681 §2: a duplicate ACK acknowledges nothing new while data is
 * outstanding, carries no data, SYN or FIN, and leaves the window as it was.
 * The answers to zero-window probes are not (the window is zero). */
static bool is_dup_ack(const struct ustcp_sock *c, const struct seg *g)
{
	return g->ack == c->snd_una && c->snd_una != c->snd_max && g->len == 0 && c->snd_wnd != 0 &&
	       !(g->flags & (TCP_SYN | TCP_FIN)) &&
	       ((uint32_t)g->th.win << c->snd_wscale) == c->snd_wnd;
}

void tcp_undo_recovery(struct ustcp_sock *c)
{
	c->cwnd = MAX(c->cwnd, c->prior_cwnd);
	c->ssthresh = MAX(c->ssthresh, c->prior_ssthresh);
	c->in_recovery = false;
	c->undo_ok = false;
	if (c->reordering < 16)
		c->reordering++;
	tcp_rack_undo(c);
	stat_inc(c->stack, USTCP_C_tcp_spurious_retransmits);
}

/* RFC 5681 §3.2, RFC 6582 §3.2, RFC 6675 §5: fast retransmit and the start
 * of recovery. ssthresh comes from the algorithm; with SACK, cwnd is
 * ssthresh and the scoreboard paces what is sent. */
static void enter_recovery(struct ustcp_sock *c)
{
	c->in_recovery = true;
	c->recover = c->snd_max;
	c->prior_cwnd = c->cwnd;
	c->prior_ssthresh = c->ssthresh;
	c->undo_ok = true;
	c->undo_seq = c->snd_una;
	c->cc->on_congestion(c);
	if (c->sack_ok)
		c->cwnd = c->ssthresh;
	c->rexmt_next = c->snd_una;
	c->fast_retransmits++;
	stat_inc(c->stack, USTCP_C_tcp_fast_retransmits);
	uint32_t seq, len;
	if (tcp_rack_next_lost(c, &seq, &len)) {
		/* RFC 6675 §5 (4.2): the first segment RACK found lost. */
		c->undo_seq = seq;
		tcp_send_range(c, seq, len);
	} else {
		tcp_retransmit_first(c);
	}
	/* Give the resent segment a whole RTO (as Linux does): the timer
	 * started with the last new ACK would fire just before its answer. */
	tcp_rexmt_arm(c);
	tcp_tlp_cancel(c); /* RFC 8985 §7.2: no probe during recovery */
}

void tcp_loss_check(struct ustcp_sock *c)
{
	if (c->in_recovery || c->snd_una == c->snd_max || !seq_geq(c->snd_una, c->rto_recover))
		return;
	if (tcp_sack_loss_detected(c))
		enter_recovery(c);
}

/* Loss is found by the third duplicate ACK, or with SACK as soon as enough
 * data above SND.UNA is SACKed (RFC 6675 §5), but not for data sent before
 * the last timeout (RFC 6582 §4). Duplicate ACKs during NewReno recovery
 * inflate the window by one segment each. */
static void dup_ack(struct ustcp_sock *c, bool dup)
{
	if (dup) {
		c->dupacks++;
		c->dup_acks_total++;
	}
	if (c->in_recovery) {
		if (dup && !c->sack_ok)
			c->cwnd += c->snd_mss;
		return;
	}
	if (!seq_geq(c->snd_una, c->rto_recover) || c->snd_una == c->snd_max)
		return;
	/* RACK (RFC 8985) replaces counting duplicates while it keeps the map. */
	if (tcp_rack_on(c)
		    ? tcp_sack_loss_detected(c)
		    : c->dupacks >= c->reordering || (c->sack_ok && tcp_sack_loss_detected(c)))
		enter_recovery(c);
}

/* §3.10.7.4 fifth check. Returns true when the segment was consumed. */
static bool ack_check(struct ustcp_sock *c, const struct seg *g)
{
	struct ustcp_stack *s = c->stack;
	if (!(g->flags & TCP_ACK)) {
		stack_drop(s, USTCP_DROP_tcp_no_ack);
		return true;
	}
	if (c->state == USTCP_SYN_RECEIVED) {
		if (!(seq_gt(g->ack, c->snd_una) && seq_leq(g->ack, c->snd_max))) {
			stack_drop(s, USTCP_DROP_tcp_ack_unsent);
			tcp_send_rst(s, &c->laddr, c->lport, &c->raddr, c->rport, g->ack, 0, false);
			return true;
		}
		c->snd_wnd = (uint32_t)g->th.win << c->snd_wscale;
		c->max_snd_wnd = MAX(c->max_snd_wnd, c->snd_wnd);
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		established(c);
		if (c->listener) {
			/* Completed: move to the tail of the accept queue. */
			struct ustcp_sock *l = c->listener;
			l->n_syn--;
			l->n_done++;
			dlist_remove(&c->link);
			dlist_insert_tail(&l->children, &c->link);
			if (l->user_owned && s->on_event)
				s->on_event(s->event_ctx, l, USTCP_EV_ACCEPT);
		}
	}
	/* RFC 5961 §5.2: acceptable when SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT. */
	if (seq_gt(g->ack, c->snd_max)) {
		stack_drop(s, USTCP_DROP_tcp_ack_unsent);
		if (seg_len(g) == 0)
			ack_unusable(c, g);
		else
			tcp_send_challenge_ack(c);
		return true;
	}
	if (seq_lt(g->ack, c->snd_una - c->max_snd_wnd)) {
		stack_drop(s, USTCP_DROP_tcp_ack_challenged);
		tcp_send_challenge_ack(c);
		return true;
	}
	bool advanced = seq_gt(g->ack, c->snd_una);
	bool dup = !advanced && is_dup_ack(c, g);
	/* The resending after a timeout ends with this ACK (RFC 8985 §6.2 step 4). */
	bool rto_done =
		advanced && seq_lt(c->snd_una, c->rto_recover) && seq_geq(g->ack, c->rto_recover);
	uint32_t acked = advanced ? ack_advance(c, g) : 0;
	bool has_sack = c->sack_ok && (g->th.opts.present & TCP_OPT_SACK);
	if (has_sack)
		tcp_sack_update(c, &g->th.opts, g->ack);
	if (tcp_rack_on(c)) {
		if (rto_done)
			tcp_rack_recovery_done(c);
		tcp_rack_on_ack(c, g->ack, has_sack ? &g->th.opts : NULL);
	}
	if (advanced)
		new_ack(c, acked);
	else
		dup_ack(c, dup);
	/* Window update, unless the segment is older than the last one used
	 * (RFC 7323 §2.3: scaled by the peer's shift). */
	if (seq_leq(c->snd_una, g->ack) &&
	    (seq_lt(c->snd_wl1, g->seq) || (c->snd_wl1 == g->seq && seq_leq(c->snd_wl2, g->ack)))) {
		uint32_t old_wnd = c->snd_wnd;
		c->snd_wnd = (uint32_t)g->th.win << c->snd_wscale;
		c->max_snd_wnd = MAX(c->max_snd_wnd, c->snd_wnd);
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		if (old_wnd == 0 && c->snd_wnd > 0)
			window_opened(c);
	}
	switch (c->state) {
	case USTCP_FIN_WAIT_1:
		if (fin_acked(c)) {
			tcp_set_state(c, USTCP_FIN_WAIT_2);
			tcp_arm_fin_wait2(c);
		}
		break;
	case USTCP_CLOSING:
		if (fin_acked(c))
			tcp_enter_time_wait(c);
		break;
	case USTCP_LAST_ACK:
		if (fin_acked(c)) {
			tcp_conn_closed(c, 0);
			return true;
		}
		break;
	default:
		break;
	}
	return false;
}

/* §3.10.7.4 sixth check, URG (RFC 6093: the pointer marks the byte after
 * the urgent data). The data itself stays in line. */
static void urgent_check(struct ustcp_sock *c, const struct seg *g)
{
	if (!(g->flags & TCP_URG) || g->th.urp == 0 || c->fin_rcvd)
		return;
	uint32_t up = g->seq + g->th.urp;
	if (!c->rcv_up_valid || seq_gt(up, c->rcv_up)) {
		c->rcv_up = up;
		c->rcv_up_valid = true;
		tcp_notify(c, USTCP_EV_READABLE);
	}
}

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

/* Place the segment's data in the receive buffer: in order, it extends
 * what the user can read (and may close a hole, releasing what the
 * assembler held); out of order, it waits in the ring at its place.
 * Returns false when it was refused. *filled says a hole was closed. */
static bool store_data(struct ustcp_sock *c, struct seg *g, bool *fin, bool *filled)
{
	struct ustcp_stack *s = c->stack;
	uint32_t off = g->seq - c->rcv_nxt;
	uint32_t space = tcp_rcv_space(c);
	if (off >= space) {
		stack_drop(s, USTCP_DROP_tcp_rcvbuf_full);
		return false;
	}
	if (g->len > space - off) {
		g->len = space - off;
		*fin = false; /* the FIN lies beyond what we keep */
		stack_drop(s, USTCP_DROP_tcp_rcvbuf_full);
	}
	if (off > 0) {
		if (tcp_reass_add(&c->reass, c->rcv_nxt, g->seq, g->len) < 0) {
			stack_drop(s, USTCP_DROP_tcp_ooo_no_room);
			return false;
		}
		ring_write_at(&c->rcvbuf, c->rcvbuf.len + off, g->data, g->len);
		stat_inc(s, USTCP_C_tcp_ooo_segments);
		return true;
	}
	ring_write(&c->rcvbuf, g->data, g->len);
	c->rcv_nxt += g->len;
	uint32_t more = tcp_reass_take(&c->reass, c->rcv_nxt);
	if (more) {
		ring_commit(&c->rcvbuf, more);
		c->rcv_nxt += more;
		*filled = true;
	} else if (!tcp_reass_empty(&c->reass)) {
		*filled = true; /* it narrowed a hole: the sender wants to know */
	}
	stat_add(s, USTCP_C_tcp_data_in_bytes, g->len + more);
	c->bytes_received += g->len + more;
	return true;
}

/* §3.10.7.4 seventh and eighth: segment text, then FIN. Decides how the
 * data is acknowledged (RFC 1122 §4.2.3.2, RFC 5681 §4.2): out-of-order
 * and hole-filling data at once, in-order data at least every second
 * full-sized segment, otherwise within the ACK delay. */
static void text_and_fin(struct ustcp_sock *c, struct seg *g, bool need_ack)
{
	struct ustcp_stack *s = c->stack;
	bool fin = g->flags & TCP_FIN;
	bool ack_now = need_ack;
	if (g->len > 0 || fin) {
		/* Trim what we already have from the front. */
		if (seq_lt(g->seq, c->rcv_nxt)) {
			uint32_t skip = c->rcv_nxt - g->seq;
			if (skip > g->len)
				skip = g->len;
			g->data += skip;
			g->len -= skip;
			g->seq += skip;
			if (g->len == 0 && !fin && skip && c->sack_ok) {
				/* RFC 2883: tell the sender this was a duplicate. */
				c->dsack_left = g->seq - skip;
				c->dsack_right = g->seq;
			}
			if (g->len == 0 && !fin)
				ack_now = true; /* a duplicate: the sender needs our ACK */
		}
	}
	if (g->len > 0) {
		switch (c->state) {
		case USTCP_ESTABLISHED:
		case USTCP_FIN_WAIT_1:
		case USTCP_FIN_WAIT_2:
			break;
		default:
			/* CLOSE-WAIT and later: the peer already sent its FIN. */
			stack_drop(s, USTCP_DROP_tcp_data_after_fin);
			tcp_send_ack(c);
			return;
		}
		if (c->rcv_closed) {
			/* RFC 1122 §4.2.2.13 (as Linux does): nobody will read this. */
			stack_drop(s, USTCP_DROP_tcp_data_closed_rcv);
			tcp_send_rst_conn(c);
			tcp_conn_closed(c, -ECONNRESET);
			return;
		}
		if (tcp_ensure_buffers(c) < 0) {
			stack_drop(s, USTCP_DROP_tcp_rcvbuf_full);
			return;
		}
		bool in_order = g->seq == c->rcv_nxt, filled = false;
		uint32_t len = g->len;
		if (!store_data(c, g, &fin, &filled) || !in_order || filled) {
			ack_now = true;
		} else {
			/* "Full-sized" is the largest the peer sends, up to our MSS:
			 * an oversized segment must not make the rest wait. */
			if (len > c->rcv_seg_max)
				c->rcv_seg_max = (uint16_t)MIN(len, (uint32_t)c->rcv_mss);
			c->delack_bytes += len;
			if (c->quickack || c->delack_bytes >= 2u * c->rcv_seg_max)
				ack_now = true;
			else
				tcp_ack_later(c);
		}
		if (in_order)
			tcp_notify(c, USTCP_EV_READABLE);
	}
	/* This segment's FIN in sequence, or one that waited for this data. */
	bool fin_now = (fin && g->seq + g->len == c->rcv_nxt) ||
		       (c->fin_ooo && c->rcv_nxt == c->fin_ooo_seq);
	if (fin_now && !c->fin_rcvd) {
		fin_in_order(c);
		ack_now = true;
	} else if (fin && c->state == USTCP_TIME_WAIT) {
		tcp_enter_time_wait(c); /* restart the 2*MSL timeout */
		ack_now = true;
	} else if (fin && !c->fin_rcvd && seq_gt(g->seq + g->len, c->rcv_nxt)) {
		/* A FIN beyond a hole: it takes effect when the hole closes. */
		c->fin_ooo = true;
		c->fin_ooo_seq = g->seq + g->len;
		ack_now = true;
	}
	if (ack_now)
		c->ack_pending = true;
}

/* An ACK that only arrived late, behind a newer one (reordering): it
 * acknowledges nothing new and its timestamp is older by less than an RTO.
 * Dropping it would only lose the SACK blocks it carries (Linux's
 * tcp_disordered_ack); it cannot move anything. */
static bool disordered_ack(const struct ustcp_sock *c, const struct seg *g)
{
	uint32_t age = c->ts_recent - g->th.opts.ts_val;
	return g->len == 0 && !(g->flags & (TCP_SYN | TCP_FIN | TCP_RST)) && g->seq == c->rcv_nxt &&
	       seq_leq(g->ack, c->snd_una) && (uint64_t)age * USTCP_NS_PER_MS <= tcp_rto_now(c);
}

/* RFC 7323 §5.3 R1 (PAWS): a segment whose timestamp is older than
 * TS.Recent is an old duplicate, whatever its sequence number says (after
 * 2^32 bytes the numbers repeat): drop it and send an ACK. TS.Recent
 * stays valid for 24 days of idleness (§5.5). */
static bool paws_reject(struct ustcp_sock *c, const struct seg *g)
{
	const uint64_t day = 24ull * 3600 * USTCP_NS_PER_SEC;
	if (!c->ts_ok || !(g->th.opts.present & TCP_OPT_TIMESTAMP) || (g->flags & TCP_RST))
		return false;
	if (!seq_lt(g->th.opts.ts_val, c->ts_recent))
		return false;
	if (c->stack->now - c->ts_recent_age > 24 * day) {
		c->ts_recent = g->th.opts.ts_val; /* too old to judge by */
		c->ts_recent_age = c->stack->now;
		return false;
	}
	if (disordered_ack(c, g))
		return false;
	stack_drop(c->stack, USTCP_DROP_tcp_paws);
	ack_unusable(c, g);
	return true;
}

/* RFC 7323 §4.3 (2): remember the timestamp of the segment that reaches
 * the left edge of the window, to echo it. */
static void update_ts_recent(struct ustcp_sock *c, const struct seg *g)
{
	if (!c->ts_ok || !(g->th.opts.present & TCP_OPT_TIMESTAMP))
		return;
	if (seq_geq(g->th.opts.ts_val, c->ts_recent) && seq_leq(g->seq, c->last_ack_sent)) {
		c->ts_recent = g->th.opts.ts_val;
		c->ts_recent_age = c->stack->now;
	}
}

/* §3.10.7.4: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING,
 * LAST-ACK, TIME-WAIT. */
static void synchronized_input(struct ustcp_sock *c, struct seg *g)
{
	struct ustcp_stack *s = c->stack;
	if (c->state == USTCP_SYN_RECEIVED &&
	    (g->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && g->seq == c->irs) {
		/* The peer's SYN again: our SYN,ACK was lost. Send it again,
		 * echoing this SYN's timestamp so the peer's RTT sample is of
		 * this exchange, not of its first SYN (RFC 7323 §4.3). */
		if (c->ts_ok && (g->th.opts.present & TCP_OPT_TIMESTAMP))
			c->ts_recent = g->th.opts.ts_val;
		tcp_send_syn(c);
		return;
	}
	if (c->state == USTCP_SYN_RECEIVED &&
	    (g->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && g->seq == c->irs) {
		/* Simultaneous open (RFC 9293 §3.5 figure 7, line 6): the peer's
		 * SYN,ACK repeats a SYN we have; what is left is its ACK. */
		g->seq += 1;
		g->flags &= (uint8_t)~TCP_SYN;
	}
	/* RFC 5961 §4.2: a SYN in a synchronized state is challenged
	 * "irrespective of the sequence number" (SYN-RECEIVED keeps §3.10.7.4's
	 * order: an in-window SYN there returns a passive child to LISTEN). */
	if ((g->flags & (TCP_SYN | TCP_RST)) == TCP_SYN && c->state != USTCP_SYN_RECEIVED) {
		syn_check(c, g);
		return;
	}
	if (paws_reject(c, g))
		return;
	if (zero_window_segment(c, g)) {
		/* RFC 9293 §3.10.7.4: "If the RCV.WND is zero, ... special
		 * allowance should be made to accept valid ACKs, URGs, and RSTs":
		 * the segment at RCV.NXT is processed without its data (a window
		 * probe, or data sent before our window closed), and a bare FIN
		 * is taken as it needs no room. */
		if (g->len) {
			stack_drop(s, USTCP_DROP_tcp_zero_window);
			g->len = 0;
			g->flags &= (uint8_t)~TCP_FIN; /* it lay beyond the data */
			c->ack_pending = true;
		}
	} else if (!seq_acceptable(c, g)) {
		if (g->flags & TCP_RST) {
			stack_drop(s, USTCP_DROP_tcp_rst_out_of_window);
			return;
		}
		stack_drop(s, USTCP_DROP_tcp_not_acceptable);
		if (c->state == USTCP_TIME_WAIT && (g->flags & TCP_FIN))
			tcp_enter_time_wait(c); /* a retransmitted FIN restarts 2*MSL */
		if (g->len && g->seq + seg_len(g) == c->rcv_nxt)
			update_ts_recent(c, g); /* a resend of what we have: echo its time */
		if (g->len && c->sack_ok && seq_leq(g->seq + g->len, c->rcv_nxt)) {
			c->dsack_left = g->seq; /* RFC 2883: report the duplicate */
			c->dsack_right = g->seq + g->len;
		}
		/* A pure ACK from behind RCV.NXT (by at most a receive buffer):
		 * the peer numbers its ACKs from the right edge it last knew of
		 * our window, and we may have taken data past it (a window
		 * probe's byte, or segments whose ACKs it lost). Its ACK and
		 * window still count, as BSD keeps processing the ACK of an old
		 * segment: when both ends are in that state, dropping them left
		 * neither able to learn the other's ACK. RFC 5961's ACK checks
		 * still apply. */
		if (g->len == 0 && (g->flags & (TCP_ACK | TCP_SYN | TCP_FIN)) == TCP_ACK &&
		    seq_lt(g->seq, c->rcv_nxt) && c->rcv_nxt - g->seq <= c->opt_rcvbuf) {
			if (ack_check(c, g))
				return;
			tcp_output(c);
		}
		ack_unusable(c, g);
		return;
	}
	update_ts_recent(c, g);
	if (rst_check(c, g) || syn_check(c, g) || ack_check(c, g))
		return;
	urgent_check(c, g);
	text_and_fin(c, g, false);
	if (c->state == USTCP_CLOSED)
		return;
	tcp_output(c);
	if (c->ack_pending)
		tcp_send_ack(c);
}

/* RFC 9293 §3.10.7.4 note / RFC 6191: a new SYN may end a TIME-WAIT when
 * its sequence number is beyond the old connection's. */
static bool time_wait_reopen(struct ustcp_sock *c, const struct seg *g)
{
	if (c->state != USTCP_TIME_WAIT || (g->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN ||
	    !seq_gt(g->seq, c->rcv_nxt))
		return false;
	struct ustcp_sock *l = tcp_listener_lookup(c->stack, g->laddr, g->lport);
	if (!l)
		return false;
	stat_inc(c->stack, USTCP_C_tcp_timewait_reused);
	tcp_conn_closed(c, 0);
	listen_input(l, g);
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

	struct ustcp_sock *c = tcp_conn_lookup(s, g.laddr, g.lport, g.raddr, g.rport);
	if (!c) {
		struct ustcp_sock *l = tcp_listener_lookup(s, g.laddr, g.lport);
		if (l) {
			trace_conn(s, USTCP_LISTEN, USTCP_LISTEN, l->id);
			listen_input(l, &g);
		} else {
			closed_input(s, &g);
		}
		return;
	}
	int before = c->state;
	tcp_event_begin(c);
	c->segs_in++;
	c->last_rcv = s->now;
	c->keep_probes = 0;
	c->probes_unanswered = 0;
	if (time_wait_reopen(c, &g))
		return;
	if (c->state == USTCP_SYN_SENT)
		syn_sent_input(c, &g);
	else
		synchronized_input(c, &g);
	trace_conn(s, before, c->state, c->id);
}
