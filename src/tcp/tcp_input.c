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
#include "wire/wire.h"

struct seg {
	struct tcp_hdr th;
	const uint8_t *data;
	uint32_t len; /* payload bytes */
	uint32_t seq, ack;
	uint8_t flags;
	uint32_t laddr, raddr;
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

/* RFC 9293 §3.7.1: the MSS option bounds what we send; without one, 536. */
static void apply_syn_options(struct ustcp_sock *c, const struct seg *g)
{
	uint32_t mss = c->stack->cfg.default_mss;
	if (g->th.opts.present & TCP_OPT_MSS)
		mss = g->th.opts.mss;
	uint32_t ours = net_mtu4(c->stack, c->raddr) - TCP_HLEN;
	if (mss > ours)
		mss = ours;
	if (mss < 64)
		mss = 64; /* a tiny MSS would make us send floods of headers */
	c->snd_mss = (uint16_t)mss;
	/* RFC 5681 §3.1 and RFC 6928: initial window of up to ten segments. */
	c->cwnd = 10u * c->snd_mss;
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
	c->laddr = g->laddr;
	c->lport = g->lport;
	c->raddr = g->raddr;
	c->rport = g->rport;
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->iss = tcp_new_iss(s, c);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	c->snd_wnd = g->th.win; /* RFC 7323 §2.2: a SYN's window is never scaled */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = 0;
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
	c->backoff = 0;
	c->rto = c->srtt ? c->rto : c->stack->cfg.rto_initial;
	/* A close during the handshake left a FIN queued: it goes now. */
	tcp_set_state(c, c->fin_queued ? USTCP_FIN_WAIT_1 : USTCP_ESTABLISHED);
	tcp_notify(c, USTCP_EV_WRITABLE);
}

static void take_rtt_sample(struct ustcp_sock *c, uint32_t ack)
{
	if (c->rtt_active && seq_geq(ack, c->rtt_seq)) {
		c->rtt_active = false;
		tcp_rtt_sample(c, c->stack->now - c->rtt_start);
	}
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
				tcp_send_rst(s, c->laddr, c->lport, c->raddr, c->rport, g->ack, 0,
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
	apply_syn_options(c, g);
	c->snd_wnd = g->th.win;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = g->ack;
	if (ack_ok) {
		c->snd_una = g->ack;
		take_rtt_sample(c, g->ack);
		tw_cancel(&s->wheel, &c->t_rexmt);
		established(c);
		/* Data or FIN that came with the SYN is processed from step six. */
		g->seq += 1;
		g->flags &= (uint8_t)~TCP_SYN;
		text_and_fin(c, g, true);
		tcp_output(c);
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
	if (len == 0)
		return wnd == 0 ? g->seq == c->rcv_nxt : seq_in(g->seq, c->rcv_nxt, end);
	if (wnd == 0)
		return false;
	return seq_in(g->seq, c->rcv_nxt, end) || seq_in(g->seq + len - 1, c->rcv_nxt, end);
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

/* A new cumulative ACK: free acknowledged bytes, time, grow cwnd, rearm. */
static void new_ack(struct ustcp_sock *c, uint32_t ack)
{
	struct ustcp_stack *s = c->stack;
	uint32_t acked = ack - c->snd_una;
	if (seq_gt(ack, c->snd_buf_seq)) {
		uint32_t n = ack - c->snd_buf_seq;
		if (n > c->sndbuf.len)
			n = c->sndbuf.len;
		ring_drop(&c->sndbuf, n);
		c->snd_buf_seq += n;
	}
	c->snd_una = ack;
	if (seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	take_rtt_sample(c, ack);
	c->backoff = 0;
	/* RFC 5681 §3.1: slow start below ssthresh, then about one MSS per RTT. */
	if (c->cwnd < c->ssthresh)
		c->cwnd += acked < c->snd_mss ? acked : c->snd_mss;
	else
		c->cwnd += (uint32_t)MAX(1u, (uint64_t)c->snd_mss * c->snd_mss / c->cwnd);
	/* RFC 6298 §5.2-5.3: stop the timer when all is acked, else restart it. */
	if (c->snd_una == c->snd_max && !tcp_unsent(c))
		tw_cancel(&s->wheel, &c->t_rexmt);
	else
		tcp_rexmt_arm(c);
	tcp_notify(c, USTCP_EV_WRITABLE);
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
			tcp_send_rst(s, c->laddr, c->lport, c->raddr, c->rport, g->ack, 0, false);
			return true;
		}
		c->snd_wnd = g->th.win;
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
		tcp_send_challenge_ack(c);
		return true;
	}
	if (seq_lt(g->ack, c->snd_una - c->max_snd_wnd)) {
		stack_drop(s, USTCP_DROP_tcp_ack_challenged);
		tcp_send_challenge_ack(c);
		return true;
	}
	if (seq_gt(g->ack, c->snd_una))
		new_ack(c, g->ack);
	/* Window update, unless the segment is older than the last one used. */
	if (seq_leq(c->snd_una, g->ack) &&
	    (seq_lt(c->snd_wl1, g->seq) || (c->snd_wl1 == g->seq && seq_leq(c->snd_wl2, g->ack)))) {
		c->snd_wnd = g->th.win;
		c->max_snd_wnd = MAX(c->max_snd_wnd, c->snd_wnd);
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
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

/* §3.10.7.4 seventh and eighth: segment text, then FIN. */
static void text_and_fin(struct ustcp_sock *c, struct seg *g, bool need_ack)
{
	struct ustcp_stack *s = c->stack;
	bool fin = g->flags & TCP_FIN;
	if (g->len > 0 || fin) {
		/* Trim what we already have from the front. */
		if (seq_lt(g->seq, c->rcv_nxt)) {
			uint32_t skip = c->rcv_nxt - g->seq;
			if (skip > g->len)
				skip = g->len;
			g->data += skip;
			g->len -= skip;
			g->seq += skip;
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
		if (g->seq != c->rcv_nxt) {
			/* No reassembly yet: the sender will retransmit in order. */
			stack_drop(s, USTCP_DROP_tcp_ooo_no_room);
			tcp_send_ack(c);
			return;
		}
		if (tcp_ensure_buffers(c) < 0) {
			stack_drop(s, USTCP_DROP_tcp_rcvbuf_full);
			return;
		}
		uint32_t n = ring_write(&c->rcvbuf, g->data, g->len);
		if (n < g->len) {
			stack_drop(s, USTCP_DROP_tcp_rcvbuf_full);
			fin = false; /* the FIN lies beyond what we kept */
		}
		c->rcv_nxt += n;
		stat_add(s, USTCP_C_tcp_data_in_bytes, n);
		need_ack = true;
		tcp_notify(c, USTCP_EV_READABLE);
	}
	if (fin && g->seq + g->len == c->rcv_nxt && !c->fin_rcvd) {
		c->rcv_nxt += 1;
		c->fin_rcvd = true;
		need_ack = true;
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
	} else if (fin && c->state == USTCP_TIME_WAIT) {
		tcp_enter_time_wait(c); /* restart the 2*MSL timeout */
		need_ack = true;
	}
	if (need_ack)
		tcp_send_ack(c);
}

/* §3.10.7.4: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, CLOSING,
 * LAST-ACK, TIME-WAIT. */
static void synchronized_input(struct ustcp_sock *c, struct seg *g)
{
	struct ustcp_stack *s = c->stack;
	if (c->state == USTCP_SYN_RECEIVED &&
	    (g->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && g->seq == c->irs) {
		/* The peer's SYN again: our SYN,ACK was lost. Send it again. */
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
	if (!seq_acceptable(c, g)) {
		if (g->flags & TCP_RST) {
			stack_drop(s, USTCP_DROP_tcp_rst_out_of_window);
			return;
		}
		stack_drop(s, USTCP_DROP_tcp_not_acceptable);
		if (c->state == USTCP_TIME_WAIT && (g->flags & TCP_FIN))
			tcp_enter_time_wait(c); /* a retransmitted FIN restarts 2*MSL */
		tcp_send_ack(c);
		return;
	}
	if (rst_check(c, g) || syn_check(c, g) || ack_check(c, g))
		return;
	/* Sixth check (URG) waits for urgent data support. */
	text_and_fin(c, g, false);
	tcp_output(c);
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
	if (!tcp_checksum_ok4(p->l4, p->l4len, p->src, p->dst)) {
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
	g.laddr = p->dst;
	g.raddr = p->src;
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
	if (time_wait_reopen(c, &g))
		return;
	if (c->state == USTCP_SYN_SENT)
		syn_sent_input(c, &g);
	else
		synchronized_input(c, &g);
	trace_conn(s, before, c->state, c->id);
}
