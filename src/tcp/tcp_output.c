/* tcp_output.c — building and sending segments: data within the send and
 * congestion windows (with Nagle and sender-side SWS avoidance), SYN, ACK,
 * FIN, RST, window probes and keepalives, and the options each carries. */
#include <string.h>

#include "net/net.h"
#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"
#include "wire/wire.h"

#define TCP_TS_OPT_LEN 12 /* NOP, NOP, kind, length, TSval, TSecr */

/* A scaled window counts in units of 2^rcv_wscale: the receive ring has
 * one unit less a byte of slack beyond the buffer size, so a window
 * rounded up to whole units (to keep the right edge where it was) is a
 * promise the ring can keep. */
uint32_t tcp_rcv_slack(const struct ustcp_sock *c) { return (1u << c->rcv_wscale) - 1; }

uint32_t tcp_rcv_space(const struct ustcp_sock *c)
{
	return c->rcvbuf.buf ? ring_space(&c->rcvbuf) : c->opt->opt_rcvbuf + tcp_rcv_slack(c);
}

/* The window now offered, rounded up to whole units. */
/* The TCP checksum over the pseudo-header of either family: complete, or
 * partial (the pseudo-header sum only) for a driver to finish. */
static void seg_checksum(uint8_t *seg, size_t len, const struct ipaddr *src,
			 const struct ipaddr *dst, bool partial)
{
	if (ip_is4(dst)) {
		if (partial)
			tcp_checksum_partial4(seg, len, ip_v4(src), ip_v4(dst));
		else
			tcp_checksum_set4(seg, len, ip_v4(src), ip_v4(dst));
	} else if (partial) {
		tcp_checksum_partial6(seg, len, src->b, dst->b);
	} else {
		tcp_checksum_set6(seg, len, src->b, dst->b);
	}
}

static uint32_t offered_window(const struct ustcp_sock *c)
{
	uint32_t unit = tcp_rcv_slack(c);
	uint32_t offered = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	return (offered + unit) & ~unit;
}

/* After a read. As Linux's tcp_cleanup_rbuf: only once the window still
 * offered has shrunk to half the buffer or less, and the new one at least
 * doubles it. Until then the peer has room to send, and the ACKs of that
 * data carry the window; a bulk receiver that reads as data comes would
 * otherwise send a window update after every segment, as many ACKs again. */
bool tcp_window_update_due(const struct ustcp_sock *c)
{
	uint32_t offered = offered_window(c);
	if (offered > c->opt->opt_rcvbuf / 2)
		return false;
	uint32_t w = tcp_rcv_window(c);
	return w > offered && w >= 2 * offered;
}

uint32_t tcp_rcv_window(const struct ustcp_sock *c)
{
	uint32_t unit = tcp_rcv_slack(c);
	uint32_t room = tcp_rcv_space(c); /* the ring's, slack included */
	/* What we offer afresh leaves the slack out... */
	uint32_t space = MIN(room > unit ? room - unit : 0, 65535u << c->rcv_wscale);
	uint32_t offered = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	/* ...which pays for RFC 9293 §3.8.6 and RFC 7323 App. F: never move
	 * the right edge left, not even by the rounding to units. Each
	 * rounding may carry the edge a little right; the ring must still
	 * hold what the peer may send, so where it could not, round down
	 * (a retreat of less than one unit, left to the peer to tolerate). */
	uint32_t offered_up = offered_window(c);
	if (offered_up > room)
		offered_up = offered & ~unit;
	/* RFC 1122 §4.2.3.3 (receiver SWS avoidance): move it right only by
	 * at least min(half the buffer, one MSS). */
	uint32_t step = MIN(c->opt->opt_rcvbuf / 2, (uint32_t)c->rcv_mss);
	if (space < offered + step)
		return offered_up;
	return MAX(space & ~unit, offered_up);
}

uint32_t tcp_unsent(const struct ustcp_sock *c)
{
	uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
	return seq_lt(c->snd_nxt, data_end) ? data_end - c->snd_nxt : 0;
}

/* Our timestamp clock (RFC 7323 §5.4): milliseconds from a random offset. */
uint32_t tcp_ts_now(const struct ustcp_sock *c)
{
	return (uint32_t)(c->stack->now / USTCP_NS_PER_MS) + c->ts_offset;
}

uint8_t tcp_choose_wscale(const struct ustcp_sock *c)
{
	uint8_t ws = 0;
	while (ws < 14 && (c->opt->opt_rcvbuf >> ws) > 65535)
		ws++;
	return ws;
}

/* Options of a SYN (all we offer) or SYN,ACK (only what the peer offered). */
static void syn_options(struct ustcp_sock *c, struct tcp_opts *o, bool synack)
{
	const struct ustcp_config *cfg = &c->stack->cfg;
	o->present |= TCP_OPT_MSS;
	o->mss = c->rcv_mss;
	if (synack ? c->ws_ok : cfg->wscale) {
		if (!synack)
			c->rcv_wscale = tcp_choose_wscale(c);
		o->present |= TCP_OPT_WSCALE;
		o->wscale = c->rcv_wscale;
	}
	if (synack ? c->sack_ok : cfg->sack)
		o->present |= TCP_OPT_SACK_PERM;
	if (synack ? c->ts_ok : cfg->timestamps) {
		o->present |= TCP_OPT_TIMESTAMP;
		o->ts_val = tcp_ts_now(c);
		o->ts_ecr = synack ? c->ts_recent : 0;
	}
}

/* RFC 2018 §4: SACK blocks while out-of-order data is held, as many as fit
 * in the option space this segment leaves. */
static void sack_options(struct ustcp_sock *c, struct tcp_opts *o, uint32_t len)
{
	/* A duplicate below RCV.NXT, or of data held beyond it (which needs
	 * the out-of-order queue, made with the buffers). */
	struct tcp_reass *q = c->ranges ? &c->ranges->reass : NULL;
	const struct seqset_range *held_dup = q ? tcp_reass_dup(q) : NULL;
	bool dsack = c->dsack_left != c->dsack_right || held_dup;
	if (!c->sack_ok || ((!q || tcp_reass_empty(q)) && !dsack))
		return;
	/* Header options and data together must fit the path's segment size. */
	uint32_t limit = c->peer_mss > len ? c->peer_mss - len : 0;
	uint32_t room = MIN(40u, limit);
	uint32_t ts = c->ts_ok ? TCP_TS_OPT_LEN : 0;
	room = room > ts ? room - ts : 0;
	if (room < 12)
		return;
	int max = (int)MIN((room - 4) / 8, (uint32_t)TCP_MAX_SACK);
	int n = 0;
	if (dsack) {
		/* RFC 2883 §4: the duplicate first; a duplicate of held data is
		 * followed by the range holding it, which its arrival made the
		 * most recent (RFC 2018 §4). */
		bool below = c->dsack_left != c->dsack_right;
		o->sack[n].left = below ? c->dsack_left : held_dup->start;
		o->sack[n++].right = below ? c->dsack_right : held_dup->end;
		/* Reported once, one per ACK. */
		c->dsack_left = c->dsack_right;
		if (held_dup)
			tcp_reass_dup_reported(q);
	}
	struct seqset_range r[TCP_MAX_SACK];
	int k = q ? tcp_reass_sack_blocks(q, r, max - n) : 0;
	for (int i = 0; i < k; i++, n++) {
		o->sack[n].left = r[i].start;
		o->sack[n].right = r[i].end;
	}
	o->nsack = (uint8_t)n;
	if (n)
		o->present |= TCP_OPT_SACK;
}

/* Build and queue one segment of this connection. Data, if any, comes from
 * the send buffer at the offset of seq. */
static void emit(struct ustcp_sock *c, uint32_t seq, uint8_t flags, uint32_t len)
{
	struct ustcp_stack *s = c->stack;
	struct txbuf *tb = stack_tx_begin(s);
	struct tcp_hdr th = {
		.sport = c->lport,
		.dport = c->rport,
		.seq = seq,
		.flags = flags,
	};
	if (flags & TCP_SYN) {
		/* RFC 7323 §2.2: the window in a SYN is never scaled. */
		th.win = (uint16_t)MIN(tcp_rcv_space(c), 65535u);
		syn_options(c, &th.opts, flags & TCP_ACK);
	} else if (c->ts_ok) {
		th.opts.present |= TCP_OPT_TIMESTAMP;
		th.opts.ts_val = tcp_ts_now(c);
		th.opts.ts_ecr = c->ts_recent;
	}
	if (flags & TCP_ACK) {
		th.ack = c->rcv_nxt;
		if (!(flags & TCP_SYN)) {
			th.win = (uint16_t)(tcp_rcv_window(c) >> c->rcv_wscale);
			c->rcv_adv = c->rcv_nxt + ((uint32_t)th.win << c->rcv_wscale);
			if (!(flags & TCP_RST))
				sack_options(c, &th.opts, len);
		} else {
			c->rcv_adv = c->rcv_nxt + th.win;
		}
		c->last_ack_sent = c->rcv_nxt;
	}
	if (c->snd_up_valid && seq_lt(seq, c->snd_up) && len) {
		/* RFC 9293 §3.8.5, RFC 6093: the pointer marks the byte after
		 * the urgent data, as an offset from this segment's sequence. */
		th.flags |= TCP_URG;
		th.urp = (uint16_t)MIN(c->snd_up - seq, 65535u);
	}
	uint8_t *seg = tb->buf + c->hdr_room;
	size_t hlen = tcp_emit(&th, seg);
	bool partial = c->offloads & USTCP_OFFLOAD_CSUM;
	if (len) {
		/* A link that takes frames in pieces copies the payload from
		 * the ring itself (the trace hook wants whole frames). */
		uint32_t off = seq - c->snd_buf_seq;
		if (partial && (c->offloads & USTCP_OFFLOAD_SG) && !s->trace)
			ring_view(&c->sndbuf, off, len, tb->meta.data, tb->meta.data_len);
		else
			ring_peek(&c->sndbuf, off, seg + hlen, len);
	}
	seg_checksum(seg, hlen + len, &c->laddr, &c->raddr, partial);
	if (partial) {
		tb->meta.csum_partial = 1;
		tb->meta.csum_start = c->hdr_room;
		tb->meta.csum_offset = 16;
	}
	if (len > c->snd_mss) {
		/* TSO: the driver cuts this into snd_mss pieces, each with
		 * these headers and options (RFC 7323 timestamps included). */
		tb->meta.gso_size = c->snd_mss;
		tb->meta.hdr_len = (uint16_t)(c->hdr_room + hlen);
	}
	tb->has_conn = true;
	tb->state_before = c->ev_state;
	tb->state_after = c->state;
	tb->conn_id = c->id;
	if (net_output(s, tb, &c->laddr, &c->raddr, IPPROTO_TCP_, hlen + len) < 0) {
		if (flags & TCP_ACK)
			tcp_ack_later(c); /* counted by IP; the ACK is tried again */
		return;
	}
	if (flags & TCP_ACK) {
		/* Every ACK we send answers what the delayed ACK was holding. */
		c->delack_bytes = 0;
		c->ack_pending = false;
		if (tw_armed(&c->t_delack))
			tw_cancel(&s->wheel, &c->t_delack);
	}
	stat_inc(s, USTCP_C_tcp_out);
	c->segs_out++;
	if (flags & TCP_RST)
		stat_inc(s, USTCP_C_tcp_rst_out);
	uint32_t seg_len = len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	if (seg_len && seq_lt(seq, c->snd_max)) {
		stat_inc(s, USTCP_C_tcp_retransmits);
		c->retransmits++;
	} else if (len) {
		stat_add(s, USTCP_C_tcp_data_out_bytes, len);
	}
}

/* Advance snd_nxt/snd_max over a segment just sent and time it (RFC 6298
 * §3: one measurement at a time, only of new data: Karn's rule). */
static void sent(struct ustcp_sock *c, uint32_t seq, uint32_t seg_len, bool syn)
{
	uint32_t end = seq + seg_len;
	bool new_data = seq_gt(end, c->snd_max) && !syn;
	if (!syn) /* (data may start at the ISS too, 4 GiB later) */
		tcp_rack_sent(c, seq, end);
	if (c->snd_una == c->snd_max)
		c->una_time = c->stack->now; /* the oldest unacknowledged byte leaves now */
	if (c->rtt_active && seq_lt(seq, c->rtt_seq))
		c->rtt_active = false; /* Karn: the timed segment went again */
	if (seq_geq(seq, c->snd_max) && !c->rtt_active) {
		c->rtt_active = true;
		c->rtt_seq = end;
		c->rtt_start = c->stack->now;
	}
	c->snd_nxt = end;
	if (seq_gt(end, c->snd_max))
		c->snd_max = end;
	c->last_send = c->stack->now;
	if (!tw_armed(&c->t_rexmt))
		tcp_rexmt_arm(c);
	if (new_data)
		tcp_tlp_schedule(c); /* RFC 8985 §7.2: the probe timer follows new data */
}

/* The MSS we announce to raddr: the path's MTU less the headers (RFC 9293
 * §3.7.1), under the user's cap (USTCP_TCP_MAXSEG). */
static uint16_t our_mss(const struct ustcp_stack *s, const struct ipaddr *raddr, uint16_t user_mss)
{
	uint32_t mss = net_mtu(s, raddr) - TCP_HLEN;
	if (user_mss && user_mss < mss)
		mss = user_mss;
	return (uint16_t)mss;
}

uint16_t tcp_our_mss(const struct ustcp_sock *c)
{
	return our_mss(c->stack, &c->raddr, c->opt->user_mss);
}

void tcp_send_syn(struct ustcp_sock *c)
{
	if (!c->rcv_mss)
		c->rcv_mss = tcp_our_mss(c);
	if (c->snd_max == c->iss) /* our first SYN: the timestamp clock towards this peer */
		c->ts_offset = tcp_ts_offset(c->stack, &c->laddr, &c->raddr);
	uint8_t flags = c->state == USTCP_SYN_RECEIVED ? TCP_SYN | TCP_ACK : TCP_SYN;
	if (c->snd_max != c->iss)
		c->rtt_active = false; /* Karn: a SYN sent again is not timed */
	emit(c, c->iss, flags, 0);
	sent(c, c->iss, 1, true);
}

/* The sequence number of a segment without data: SND.NXT as the peer knows
 * it. After a timeout our snd_nxt goes back to resend, but the peer may
 * already hold more; a number behind its RCV.NXT would be unacceptable and
 * answered by an ACK, which we would answer again. So: the highest number
 * sent, but not beyond the peer's window (where a zero-window probe went). */
static uint32_t ack_seq(const struct ustcp_sock *c)
{
	return seq_min(c->snd_max, c->snd_una + c->snd_wnd);
}

void tcp_send_ack(struct ustcp_sock *c) { emit(c, ack_seq(c), TCP_ACK, 0); }

void tcp_send_rst_conn(struct ustcp_sock *c)
{
	/* RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>. The ACK bit is set as
	 * well, as Linux does: every state that accepts a RST accepts this one. */
	emit(c, ack_seq(c), TCP_RST | TCP_ACK, 0);
}

/* RFC 5961 §7's limit, per connection: a budget shared by the whole stack
 * is a side channel (CVE-2016-5696): an off-path host could spend it with
 * segments for a guessed connection and count what is left on its own. */
void tcp_send_challenge_ack(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	uint64_t epoch = s->now / USTCP_NS_PER_SEC;
	if (epoch != c->challenge_epoch) {
		c->challenge_epoch = epoch;
		c->challenge_count = 0;
	}
	if (c->challenge_count >= s->cfg.challenge_ack_limit) {
		stat_inc(s, USTCP_C_tcp_challenge_acks_limited);
		return;
	}
	c->challenge_count++;
	stat_inc(s, USTCP_C_tcp_challenge_acks);
	tcp_send_ack(c);
}

void tcp_send_rst(struct ustcp_stack *s, const struct ipaddr *laddr, uint16_t lport,
		  const struct ipaddr *raddr, uint16_t rport, uint32_t seq, uint32_t ack,
		  bool with_ack)
{
	struct txbuf *tb = stack_tx_begin(s);
	struct tcp_hdr th = {
		.sport = lport,
		.dport = rport,
		.seq = seq,
		.ack = with_ack ? ack : 0,
		.flags = (uint8_t)(TCP_RST | (with_ack ? TCP_ACK : 0)),
	};
	uint8_t *seg = tb->buf + net_hdr_room(raddr);
	size_t hlen = tcp_emit(&th, seg);
	seg_checksum(seg, hlen, laddr, raddr, false);
	if (net_output(s, tb, laddr, raddr, IPPROTO_TCP_, hlen) < 0)
		return;
	stat_inc(s, USTCP_C_tcp_out);
	stat_inc(s, USTCP_C_tcp_rst_out);
}

void tcp_send_cookie_synack(struct ustcp_sock *l, const struct tcp_cookie_in *in,
			    const struct tcp_opts *syn)
{
	struct ustcp_stack *s = l->stack;
	const struct ustcp_config *cfg = &s->cfg;
	uint16_t mss = our_mss(s, &in->raddr, l->opt->user_mss);
	uint16_t peer_mss = (syn->present & TCP_OPT_MSS) ? syn->mss : 536;
	struct tcp_hdr th = {
		.sport = in->lport,
		.dport = in->rport,
		.seq = tcp_cookie_make(s, in, MIN(mss, peer_mss)),
		.ack = in->irs + 1,
		.flags = TCP_SYN | TCP_ACK,
	};
	th.opts.present = TCP_OPT_MSS;
	th.opts.mss = mss;
	/* Window scale and SACK live in the timestamp, so go only with it. */
	if (cfg->timestamps && (syn->present & TCP_OPT_TIMESTAMP)) {
		bool ws = cfg->wscale && (syn->present & TCP_OPT_WSCALE);
		bool sack = cfg->sack && (syn->present & TCP_OPT_SACK_PERM);
		uint8_t rcv_wscale = tcp_choose_wscale(l);
		if (ws) {
			th.opts.present |= TCP_OPT_WSCALE;
			th.opts.wscale = rcv_wscale;
		}
		if (sack)
			th.opts.present |= TCP_OPT_SACK_PERM;
		th.opts.present |= TCP_OPT_TIMESTAMP;
		uint32_t now = (uint32_t)(s->now / USTCP_NS_PER_MS) +
			       tcp_ts_offset(s, &in->laddr, &in->raddr);
		th.opts.ts_val = tcp_cookie_tsval(now, syn, ws, sack);
		th.opts.ts_ecr = syn->ts_val;
		th.win = (uint16_t)MIN(l->opt->opt_rcvbuf + (ws ? (1u << rcv_wscale) - 1 : 0),
				       65535u);
	} else {
		th.win = (uint16_t)MIN(l->opt->opt_rcvbuf, 65535u);
	}
	struct txbuf *tb = stack_tx_begin(s);
	uint8_t *seg = tb->buf + net_hdr_room(&in->raddr);
	size_t hlen = tcp_emit(&th, seg);
	seg_checksum(seg, hlen, &in->laddr, &in->raddr, false);
	if (net_output(s, tb, &in->laddr, &in->raddr, IPPROTO_TCP_, hlen) < 0)
		return;
	stat_inc(s, USTCP_C_tcp_out);
	stat_inc(s, USTCP_C_tcp_syncookies_sent);
}

static bool sends_data(int state)
{
	switch (state) {
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

/* One segment from the send buffer at seq (new data, or data resent after
 * a timeout), with PSH on the last of the queued data and the FIN if the
 * user closed and this is the end. */
static void send_segment(struct ustcp_sock *c, uint32_t seq, uint32_t len, uint32_t data_end)
{
	uint8_t flags = TCP_ACK;
	bool last = seq + len == data_end;
	if (last)
		flags |= TCP_PSH; /* RFC 9293 §3.9.1.2: push what the user gave */
	if (last && c->fin_queued)
		flags |= TCP_FIN;
	emit(c, seq, flags, len);
	sent(c, seq, len + !!(flags & TCP_FIN), false);
}

/* Whether a segment of len bytes (less than a full one) may leave now.
 * RFC 1122 §4.2.3.4 (sender SWS avoidance) with Nagle (RFC 896, RFC 9293
 * §3.7.4): a short segment goes when it carries everything queued and
 * nothing is outstanding (or Nagle is off), or when it fills half the
 * largest window the peer has offered. A retransmission always goes. */
static bool short_segment_ok(const struct ustcp_sock *c, uint32_t len, uint32_t unsent, bool force)
{
	if (force || seq_lt(c->snd_nxt, c->snd_max))
		return true;
	if (c->opt->cork)
		return false; /* TCP_CORK: full segments only; the persist timer ends the wait */
	if (len == unsent && (c->opt->nodelay || c->snd_una == c->snd_max))
		return true;
	return len >= c->max_snd_wnd / 2 && c->max_snd_wnd > 0;
}

static void output(struct ustcp_sock *c, bool force)
{
	if (!sends_data(c->state))
		return;
	if (tcp_in_fast_recovery(c) && c->sack_ok) {
		tcp_sack_output(c);
		return;
	}
	if (c->snd_una == c->snd_max && tcp_unsent(c) && c->last_send &&
	    c->stack->now - c->last_send > tcp_rto_now(c) && c->cc->after_idle)
		c->cc->after_idle(c); /* RFC 5681 §4.1: restart after idle */
	/* With TSO one segment may carry up to 64 KiB of whole MSS pieces. */
	uint32_t max_seg = c->snd_mss;
	if (c->offloads & USTCP_OFFLOAD_TSO)
		max_seg = MAX(max_seg,
			      (NET_TSO_MAX - (uint32_t)net_ip_hlen(&c->raddr) - TCP_MAX_HLEN) /
				      c->snd_mss * c->snd_mss);
	for (;;) {
		/* Resending after a timeout: skip what the peer SACKed. */
		uint32_t gap = UINT32_MAX;
		if (seq_lt(c->snd_nxt, c->snd_max) && !seqset_empty(tcp_scoreboard(c)))
			gap = tcp_sack_skip(c);
		uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
		uint32_t wnd = MIN(c->snd_wnd, c->cwnd);
		uint32_t right = c->snd_una + wnd;
		uint32_t usable = seq_gt(right, c->snd_nxt) ? right - c->snd_nxt : 0;
		uint32_t unsent = tcp_unsent(c);
		if (unsent) {
			uint32_t len = MIN(MIN(unsent, usable), MIN(max_seg, gap));
			/* A TSO segment is whole MSS pieces, but for the last of the data. */
			if (len > c->snd_mss && len < unsent)
				len -= len % c->snd_mss;
			if (len == 0)
				break; /* window closed: the persist timer probes it */
			if (len < c->snd_mss && len != gap &&
			    !short_segment_ok(c, len, unsent, force))
				break;
			force = false;
			send_segment(c, c->snd_nxt, len, data_end);
		} else if (c->fin_queued && c->snd_nxt == data_end) {
			emit(c, data_end, TCP_FIN | TCP_ACK, 0);
			sent(c, data_end, 1, false);
		} else {
			break;
		}
	}
	if (tcp_unsent(c) && !tw_armed(&c->t_rexmt))
		tcp_rexmt_arm(c); /* persist: probe the window (RFC 9293 §3.8.6.1) */
}

void tcp_output(struct ustcp_sock *c) { output(c, false); }

/* The persist timer found data held back by a small window: send what fits
 * (RFC 1122 §4.2.3.4's override timeout). */
void tcp_output_force(struct ustcp_sock *c) { output(c, true); }

bool tcp_send_new_segment(struct ustcp_sock *c)
{
	uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
	uint32_t right = c->snd_una + c->snd_wnd;
	uint32_t usable = seq_gt(right, c->snd_nxt) ? right - c->snd_nxt : 0;
	uint32_t len = MIN(MIN(tcp_unsent(c), usable), (uint32_t)c->snd_mss);
	if (len) {
		send_segment(c, c->snd_nxt, len, data_end);
		return true;
	}
	if (c->fin_queued && c->snd_nxt == data_end && !tcp_unsent(c)) {
		emit(c, data_end, TCP_FIN | TCP_ACK, 0);
		sent(c, data_end, 1, false);
		return true;
	}
	return false;
}

/* Resend [seq, seq + len) (len may be 0 for a lone FIN), whatever the
 * windows say: fast retransmit, partial ACKs, SACK holes. */
void tcp_send_range(struct ustcp_sock *c, uint32_t seq, uint32_t len)
{
	uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
	uint8_t flags = TCP_ACK;
	if (seq + len == data_end) {
		if (len)
			flags |= TCP_PSH;
		if (c->fin_queued && seq_gt(c->snd_max, data_end))
			flags |= TCP_FIN;
	}
	if (len == 0 && !(flags & TCP_FIN))
		return;
	emit(c, seq, flags, len);
	tcp_rack_sent(c, seq, seq + len + !!(flags & TCP_FIN));
	c->last_send = c->stack->now;
	if (c->rtt_active && seq_gt(c->rtt_seq, seq))
		c->rtt_active = false; /* Karn: the timed segment was sent again */
}

/* Fast retransmit and NewReno's partial-ACK retransmit: the first
 * unacknowledged segment again. */
void tcp_retransmit_first(struct ustcp_sock *c)
{
	/* Only what was sent before: never beyond snd_max, nor the FIN's place. */
	uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
	uint32_t sent_end = seq_min(c->snd_max, data_end);
	uint32_t avail = seq_gt(sent_end, c->snd_una) ? sent_end - c->snd_una : 0;
	uint32_t len = MIN(avail, (uint32_t)c->snd_mss);
	tcp_send_range(c, c->snd_una, len);
	if (seq_gt(c->snd_una + len, c->rexmt_next))
		c->rexmt_next = c->snd_una + len;
}

/* Zero-window probe: one byte beyond the closed window (RFC 1122 §4.2.2.17). */
void tcp_send_probe(struct ustcp_sock *c)
{
	uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
	c->zw_probes++;
	stat_inc(c->stack, USTCP_C_tcp_zero_window_probes);
	if (!c->persist_since)
		c->persist_since = c->stack->now;
	if (seq_geq(c->snd_una, data_end)) {
		/* Only the FIN is left: it is the probe. */
		tcp_send_range(c, data_end, 0);
		return;
	}
	emit(c, c->snd_una, TCP_ACK, 1);
	/* As BSD's persist: the byte counts as sent (snd_max) but snd_nxt
	 * stays, so our ACKs keep SEQ = SND.UNA, which a peer with a closed
	 * window accepts. */
	if (seq_gt(c->snd_una + 1, c->snd_max))
		c->snd_max = c->snd_una + 1;
}

void tcp_send_keepalive(struct ustcp_sock *c) { emit(c, c->snd_nxt - 1, TCP_ACK, 0); }

/* RFC 1122 §4.2.3.2: an ACK for received data may wait, but not long. */
void tcp_ack_later(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	if (!tw_armed(&c->t_delack))
		tw_arm(&s->wheel, &c->t_delack, s->now + c->opt->ack_delay);
}

void tcp_delack_fire(struct tw_timer *t, uint64_t now)
{
	(void)now;
	struct ustcp_sock *c = container_of(t, struct ustcp_sock, t_delack);
	tcp_event_begin(c);
	if (!tcp_synchronized(c->state) || c->state == USTCP_TIME_WAIT)
		return;
	stat_inc(c->stack, USTCP_C_tcp_delayed_acks);
	tcp_send_ack(c);
}
