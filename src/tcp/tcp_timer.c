/* tcp_timer.c — the retransmission timer (RFC 6298) with SYN retries and
 * zero-window probes, the RTT estimator, and the TIME-WAIT and FIN-WAIT-2
 * timers. */
#include <errno.h>

#include "net/net.h"
#include "tcp/tcp_conn.h"

static uint64_t rto_clamp(const struct ustcp_sock *c, uint64_t rto)
{
	if (rto < c->opt->rto_min)
		rto = c->opt->rto_min;
	return rto > c->stack->cfg.rto_max ? c->stack->cfg.rto_max : rto;
}

static uint64_t rto_shifted(const struct ustcp_sock *c, unsigned shift)
{
	uint64_t rto = c->rto, max = c->stack->cfg.rto_max;
	for (unsigned i = 0; i < shift && rto < max; i++)
		rto *= 2;
	return rto < max ? rto : max;
}

uint64_t tcp_rto_now(const struct ustcp_sock *c) { return rto_shifted(c, c->backoff); }

/* The peer's window is closed: the timer is the persist timer. */
static bool persisting(const struct ustcp_sock *c)
{
	return c->snd_wnd == 0 && tcp_synchronized(c->state);
}

uint8_t tcp_backoff_now(const struct ustcp_sock *c)
{
	return persisting(c) ? c->persist_backoff : c->backoff;
}

/* When the user timeout (RFC 9293 §3.8.3, RFC 5482) ends the connection,
 * or UINT64_MAX. */
static uint64_t user_deadline(const struct ustcp_sock *c)
{
	if (!c->opt->user_timeout)
		return UINT64_MAX;
	if (persisting(c))
		return c->persist_since ? c->persist_since + c->opt->user_timeout : UINT64_MAX;
	if (c->snd_una == c->snd_max)
		return UINT64_MAX;
	return c->una_time + c->opt->user_timeout;
}

void tcp_rexmt_arm(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	/* Window probes back off on their own count (RFC 9293 §3.8.6.1), so
	 * that probing leaves the retransmission backoff (Karn) as it was. */
	uint64_t at = s->now + rto_shifted(c, tcp_backoff_now(c));
	/* The user timeout ends the connection on time, not at the next
	 * backed-off retransmission after it. */
	uint64_t deadline = user_deadline(c);
	if (deadline > s->now && deadline < at)
		at = deadline;
	tw_arm(&s->wheel, &c->t_rexmt, at);
}

/* RFC 6298 §2.2-2.3 (K = 4, alpha = 1/8, beta = 1/4, G = one tick). */
void tcp_rtt_sample(struct ustcp_sock *c, uint64_t r)
{
	const uint64_t g = TW_TICK_NS;
	if (c->min_rtt == 0 || r < c->min_rtt)
		c->min_rtt = r ? r : 1;
	if (c->srtt == 0) {
		c->srtt = r ? r : 1;
		c->rttvar = r / 2;
	} else {
		uint64_t diff = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (3 * c->rttvar + diff) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	uint64_t k = 4 * c->rttvar;
	c->rto = rto_clamp(c, c->srtt + (k > g ? k : g));
}

/* RFC 6298 §5.5: double the timer, up to the maximum (rto_shifted). */
static void backoff(uint8_t *b)
{
	if (*b < UINT8_MAX)
		(*b)++;
}

static void syn_timeout(struct ustcp_sock *c, uint32_t retries)
{
	struct ustcp_stack *s = c->stack;
	if (c->backoff >= retries) {
		stat_inc(s, USTCP_C_tcp_attempt_fails);
		stat_inc(s, USTCP_C_tcp_timeouts);
		tcp_conn_closed(c, c->soft_error ? c->soft_error : -ETIMEDOUT);
		return;
	}
	backoff(&c->backoff);
	tcp_send_syn(c);
}

/* Give up on a connection whose peer no longer answers. */
static void give_up(struct ustcp_sock *c)
{
	stat_inc(c->stack, USTCP_C_tcp_timeouts);
	tcp_send_rst_conn(c);
	/* RFC 1122 §4.2.3.9: a soft error seen meanwhile says more than "timed out". */
	tcp_conn_closed(c, c->soft_error ? c->soft_error : -ETIMEDOUT);
}

/* The persist timer (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17): probe a zero
 * window, backing off like the RTO but never giving up while the peer
 * answers (unless the connection is an orphan); or send what a small window holds back (RFC 1122 §4.2.3.4). */
static void persist_timeout(struct ustcp_sock *c)
{
	if (c->snd_wnd == 0) {
		/* Never give up while the probes are answered (RFC 1122
		 * §4.2.2.17); a peer that stopped answering is gone, as after
		 * R2 retransmissions. */
		if (++c->probes_unanswered > c->stack->cfg.data_retries) {
			give_up(c);
			return;
		}
		/* An orphan (its user closed it) has nobody waiting for the
		 * window to open, and a peer that answers with a shut window
		 * for ever would hold it for ever: RFC 6429 lets the stack
		 * reclaim it. As Linux's orphan retries, it ends after
		 * data_retries backoffs of the probe, answered or not. */
		if (c->kind == TCP_KIND_ORPHAN &&
		    c->persist_backoff >= c->stack->cfg.data_retries) {
			stat_inc(c->stack, USTCP_C_tcp_orphans_persist_ended);
			give_up(c);
			return;
		}
		backoff(&c->persist_backoff);
		tcp_send_probe(c);
		tcp_rexmt_arm(c);
		return;
	}
	tcp_output_force(c);
	if (tcp_unsent(c) && !tw_armed(&c->t_rexmt))
		tcp_rexmt_arm(c);
}

static void data_timeout(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	bool outstanding = c->snd_una != c->snd_max;
	if ((c->snd_wnd == 0 && (tcp_unsent(c) || outstanding)) ||
	    (!outstanding && tcp_unsent(c))) {
		persist_timeout(c);
		return;
	}
	if (!outstanding)
		return;
	if (c->backoff >= s->cfg.data_retries) {
		give_up(c); /* RFC 1122 §4.2.3.5 R2 */
		return;
	}
	if (c->backoff + 1u == s->cfg.data_retries_r1)
		net_neigh_revalidate(s, &c->raddr); /* R1: ask the link layer again */
	backoff(&c->backoff);
	c->rto_expirations++;
	stat_inc(s, USTCP_C_tcp_rto_expirations);
	tcp_recovery_on_rto(c);
	c->snd_nxt = c->snd_una;
	c->rtt_active = false; /* Karn: no sample from a retransmitted segment */
	tcp_output(c);
	if (c->snd_nxt == c->snd_una)
		tcp_retransmit_first(c); /* the window gives nothing: resend anyway */
	tcp_rexmt_arm(c);
}

static void rexmt_fire(struct tw_timer *t, uint64_t now)
{
	struct ustcp_sock *c = container_of(t, struct ustcp_sock, t_rexmt);
	tcp_event_begin(c);
	if (now >= user_deadline(c)) {
		/* RFC 9293 §3.8.3 / RFC 5482: the user's limit, in any state. */
		if (tcp_synchronized(c->state))
			give_up(c);
		else
			tcp_conn_closed(c, c->soft_error ? c->soft_error : -ETIMEDOUT);
		return;
	}
	switch (c->state) {
	case USTCP_SYN_SENT:
		syn_timeout(c, c->stack->cfg.syn_retries);
		break;
	case USTCP_SYN_RECEIVED:
		syn_timeout(c, c->stack->cfg.synack_retries);
		break;
	case USTCP_ESTABLISHED:
	case USTCP_CLOSE_WAIT:
	case USTCP_FIN_WAIT_1:
	case USTCP_CLOSING:
	case USTCP_LAST_ACK:
		data_timeout(c);
		break;
	default:
		break;
	}
}

/* TIME-WAIT's 2*MSL, or an orphan's FIN-WAIT-2 limit, has run out. */
static void close_fire(struct tw_timer *t, uint64_t now)
{
	(void)now;
	struct ustcp_sock *c = container_of(t, struct ustcp_sock, t_close);
	tcp_event_begin(c);
	if (c->state == USTCP_TIME_WAIT || c->state == USTCP_FIN_WAIT_2)
		tcp_conn_closed(c, 0);
}

static bool keepalive_state(int state)
{
	return state == USTCP_ESTABLISHED || state == USTCP_CLOSE_WAIT ||
	       state == USTCP_FIN_WAIT_1 || state == USTCP_FIN_WAIT_2;
}

void tcp_keepalive_arm(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	if (!c->opt->keepalive || !keepalive_state(c->state)) {
		tw_cancel(&s->wheel, &c->t_keep);
		return;
	}
	uint64_t at = c->last_rcv + c->opt->keep_idle;
	if (c->keep_probes)
		at = s->now + c->opt->keep_intvl;
	tw_arm(&s->wheel, &c->t_keep, at > s->now ? at : s->now + 1);
}

/* RFC 1122 §4.2.3.6: after keep_idle of silence, send a segment the peer
 * must answer (SEG.SEQ = SND.NXT - 1, no data); after keep_cnt unanswered
 * probes keep_intvl apart, the peer is gone. */
static void keep_fire(struct tw_timer *t, uint64_t now)
{
	struct ustcp_sock *c = container_of(t, struct ustcp_sock, t_keep);
	struct ustcp_stack *s = c->stack;
	tcp_event_begin(c);
	if (!c->opt->keepalive || !keepalive_state(c->state))
		return;
	if (c->snd_una != c->snd_max || tcp_unsent(c)) {
		/* Data in flight: the retransmission timer watches the peer.
		 * Look again an idle time later (as Linux does), not at the
		 * idle deadline already past, which would fire at once again. */
		c->keep_probes = 0;
		tw_arm(&s->wheel, &c->t_keep, now + c->opt->keep_idle);
		return;
	}
	if (now < c->last_rcv + c->opt->keep_idle) {
		c->keep_probes = 0;
		tcp_keepalive_arm(c);
		return;
	}
	if (c->keep_probes >= c->opt->keep_cnt) {
		stat_inc(s, USTCP_C_tcp_keepalive_drops);
		stat_inc(s, USTCP_C_tcp_timeouts);
		tcp_send_rst_conn(c);
		tcp_conn_closed(c, -ETIMEDOUT);
		return;
	}
	c->keep_probes++;
	stat_inc(s, USTCP_C_tcp_keepalive_probes);
	tcp_send_keepalive(c);
	tcp_keepalive_arm(c);
}

void tcp_timers_init(struct ustcp_sock *c)
{
	tw_timer_init(&c->t_rexmt, rexmt_fire);
	tw_timer_init(&c->t_close, close_fire);
	tw_timer_init(&c->t_keep, keep_fire);
	tw_timer_init(&c->t_delack, tcp_delack_fire);
}

void tcp_timers_cancel(struct ustcp_sock *c)
{
	struct timer_wheel *w = &c->stack->wheel;
	tw_cancel(w, &c->t_rexmt);
	tw_cancel(w, &c->t_close);
	tw_cancel(w, &c->t_keep);
	tw_cancel(w, &c->t_delack);
	if (c->rack.map.room)
		tw_cancel(w, &c->rack.map.room->timer);
}

/* RFC 9293 §3.10.7.4 (FIN, TIME-WAIT): start (or restart) the 2*MSL timeout. */
void tcp_enter_time_wait(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	if (c->state != USTCP_TIME_WAIT)
		tcp_time_wait_room(s);
	tcp_set_state(c, USTCP_TIME_WAIT);
	tw_cancel(&s->wheel, &c->t_rexmt);
	/* Nothing more is sent or taken in: a TIME-WAIT keeps no buffers
	 * (as Linux's keeps a small record), but for data the user has yet
	 * to read. */
	if (c->rcvbuf.len == 0)
		tcp_release_buffers(c);
	tw_arm(&s->wheel, &c->t_close, s->now + 2 * s->cfg.msl);
}

/* An orphan in FIN-WAIT-2 waits only so long for the peer's FIN. */
void tcp_arm_fin_wait2(struct ustcp_sock *c)
{
	struct ustcp_stack *s = c->stack;
	if (c->state == USTCP_FIN_WAIT_2 && !c->user_owned)
		tw_arm(&s->wheel, &c->t_close, s->now + s->cfg.fin_wait2_timeout);
}
