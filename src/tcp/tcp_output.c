/* tcp_output.c — building and sending segments: data within the send and
 * congestion windows, SYN, ACK, FIN and RST. */
#include <string.h>

#include "net/net.h"
#include "tcp/tcp_conn.h"
#include "wire/wire.h"

uint32_t tcp_rcv_window(const struct ustcp_sock *c)
{
	uint32_t free_space = c->rcvbuf.buf ? ring_space(&c->rcvbuf) : c->stack->cfg.rcvbuf;
	/* RFC 9293 §3.8.6: never shrink the window we offered. */
	if (seq_gt(c->rcv_adv, c->rcv_nxt) && c->rcv_adv - c->rcv_nxt > free_space)
		free_space = c->rcv_adv - c->rcv_nxt;
	return free_space > 65535 ? 65535 : free_space; /* no window scaling yet */
}

uint32_t tcp_unsent(const struct ustcp_sock *c)
{
	uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
	return seq_lt(c->snd_nxt, data_end) ? data_end - c->snd_nxt : 0;
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
	if (flags & TCP_ACK) {
		th.ack = c->rcv_nxt;
		th.win = (uint16_t)tcp_rcv_window(c);
		c->rcv_adv = c->rcv_nxt + th.win;
	} else if (flags & TCP_SYN) {
		th.win = (uint16_t)tcp_rcv_window(c);
	}
	if (flags & TCP_SYN) {
		/* RFC 9293 §3.7.1: announce the largest segment we can receive. */
		th.opts.present |= TCP_OPT_MSS;
		th.opts.mss = (uint16_t)(net_mtu4(s, c->raddr) - TCP_HLEN);
	}
	uint8_t *seg = tb->buf + NET_HDR_ROOM4;
	size_t hlen = tcp_emit(&th, seg);
	if (len) {
		uint32_t off = seq - c->snd_buf_seq;
		ring_peek(&c->sndbuf, off, seg + hlen, len);
	}
	tcp_checksum_set4(seg, hlen + len, c->laddr, c->raddr);
	tb->has_conn = true;
	tb->state_before = c->ev_state;
	tb->state_after = c->state;
	tb->conn_id = c->id;
	if (net_output4(s, tb, c->laddr, c->raddr, IPPROTO_TCP_, hlen + len) < 0)
		return;
	stat_inc(s, USTCP_C_tcp_out);
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
static void sent(struct ustcp_sock *c, uint32_t seq, uint32_t seg_len)
{
	uint32_t end = seq + seg_len;
	if (seq_geq(seq, c->snd_max) && !c->rtt_active) {
		c->rtt_active = true;
		c->rtt_seq = end;
		c->rtt_start = c->stack->now;
	}
	c->snd_nxt = end;
	if (seq_gt(end, c->snd_max))
		c->snd_max = end;
	if (!tw_armed(&c->t_rexmt))
		tcp_rexmt_arm(c);
}

void tcp_send_syn(struct ustcp_sock *c)
{
	uint8_t flags = c->state == USTCP_SYN_RECEIVED ? TCP_SYN | TCP_ACK : TCP_SYN;
	emit(c, c->iss, flags, 0);
	sent(c, c->iss, 1);
}

void tcp_send_ack(struct ustcp_sock *c) { emit(c, c->snd_nxt, TCP_ACK, 0); }

void tcp_send_rst_conn(struct ustcp_sock *c)
{
	/* RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>. The ACK bit is set as
	 * well, as Linux does: every state that accepts a RST accepts this one. */
	emit(c, c->snd_nxt, TCP_RST | TCP_ACK, 0);
}

void tcp_send_challenge_ack(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	struct tcp *t = s->tcp;
	uint64_t epoch = s->now / 1000000000ull;
	if (epoch != t->challenge_epoch) {
		t->challenge_epoch = epoch;
		t->challenge_count = 0;
	}
	if (t->challenge_count >= s->cfg.challenge_ack_limit) {
		stat_inc(s, USTCP_C_tcp_challenge_acks_limited);
		return;
	}
	t->challenge_count++;
	stat_inc(s, USTCP_C_tcp_challenge_acks);
	tcp_send_ack(c);
}

void tcp_send_rst(struct ustcp_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		  uint16_t rport, uint32_t seq, uint32_t ack, bool with_ack)
{
	struct txbuf *tb = stack_tx_begin(s);
	struct tcp_hdr th = {
		.sport = lport,
		.dport = rport,
		.seq = seq,
		.ack = with_ack ? ack : 0,
		.flags = (uint8_t)(TCP_RST | (with_ack ? TCP_ACK : 0)),
	};
	uint8_t *seg = tb->buf + NET_HDR_ROOM4;
	size_t hlen = tcp_emit(&th, seg);
	tcp_checksum_set4(seg, hlen, laddr, raddr);
	if (net_output4(s, tb, laddr, raddr, IPPROTO_TCP_, hlen) < 0)
		return;
	stat_inc(s, USTCP_C_tcp_out);
	stat_inc(s, USTCP_C_tcp_rst_out);
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

void tcp_output(struct ustcp_sock *c)
{
	if (!sends_data(c->state))
		return;
	for (;;) {
		uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
		uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
		uint32_t right = c->snd_una + wnd;
		uint32_t usable = seq_gt(right, c->snd_nxt) ? right - c->snd_nxt : 0;
		uint32_t unsent = tcp_unsent(c);
		if (unsent) {
			uint32_t len = unsent;
			if (len > usable)
				len = usable;
			if (len > c->snd_mss)
				len = c->snd_mss;
			if (len == 0)
				break; /* window closed: the timer probes it */
			uint8_t flags = TCP_ACK;
			bool last = c->snd_nxt + len == data_end;
			if (last)
				flags |= TCP_PSH; /* RFC 9293 §3.9.1.2: push what the user gave */
			if (last && c->fin_queued)
				flags |= TCP_FIN;
			uint32_t seq = c->snd_nxt;
			emit(c, seq, flags, len);
			sent(c, seq, len + !!(flags & TCP_FIN));
		} else if (c->fin_queued && c->snd_nxt == data_end) {
			emit(c, data_end, TCP_FIN | TCP_ACK, 0);
			sent(c, data_end, 1);
		} else {
			break;
		}
	}
	if (tcp_unsent(c) && !tw_armed(&c->t_rexmt))
		tcp_rexmt_arm(c); /* persist: probe the zero window (RFC 9293 §3.8.6.1) */
}

/* Zero-window probe: one byte beyond the closed window (RFC 1122 §4.2.2.17). */
void tcp_send_probe(struct ustcp_sock *c)
{
	uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
	if (seq_geq(c->snd_una, data_end))
		return;
	emit(c, c->snd_una, TCP_ACK, 1);
	if (seq_lt(c->snd_nxt, c->snd_una + 1))
		c->snd_nxt = c->snd_una + 1;
	if (seq_gt(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
}

void tcp_send_keepalive(struct ustcp_sock *c) { emit(c, c->snd_nxt - 1, TCP_ACK, 0); }

void tcp_delack_fire(struct tw_timer *t, uint64_t now)
{
	(void)now;
	struct ustcp_sock *c = container_of(t, struct ustcp_sock, t_delack);
	tcp_event_begin(c);
	stat_inc(c->stack, USTCP_C_tcp_delayed_acks);
	tcp_send_ack(c);
}
