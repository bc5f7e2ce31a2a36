/* tcp_recovery.c — loss recovery in explicit phases.
 *
 * A connection is in one of three phases (enum tcp_recovery):
 *
 *   NONE  nothing is being repaired: new ACKs grow cwnd through the
 *         congestion control, and loss found by the third duplicate ACK,
 *         the SACK scoreboard (RFC 6675 §5) or RACK (RFC 8985) starts
 *         fast recovery;
 *   FAST  fast recovery (RFC 5681 §3.2; RFC 6582 without SACK, RFC 6675
 *         with it) until everything sent before it began is acknowledged;
 *   RTO   the resending after a retransmission timeout (RFC 5681 §3.1),
 *         until everything sent before the timeout is acknowledged;
 *         duplicate ACKs for that data are not new loss (RFC 6582 §4).
 *
 * `recover` is SND.MAX when the phase began; a phase ends when SND.UNA
 * reaches it. It is compared only while a phase runs, which lasts less than
 * a window, so the comparison modulo 2^32 cannot go stale. */
#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"

void tcp_recovery_init(struct ustcp_sock *c)
{
	c->recovery = TCP_RECOVERY_NONE;
	c->recover = c->snd_max;
	c->dupacks = 0;
}

void tcp_undo_recovery(struct ustcp_sock *c)
{
	c->cwnd = MAX(c->cwnd, c->prior_cwnd);
	c->ssthresh = MAX(c->ssthresh, c->prior_ssthresh);
	if (c->cc->undo)
		c->cc->undo(c);
	c->recovery = TCP_RECOVERY_NONE;
	c->undo_ok = false;
	if (c->reordering < 16)
		c->reordering++;
	tcp_rack_undo(c);
	stat_inc(c->stack, USTCP_C_tcp_spurious_retransmits);
}

/* RFC 5681 §3.2, RFC 6582 §3.2, RFC 6675 §5: fast retransmit and the start
 * of recovery. ssthresh comes from the algorithm; with SACK, cwnd is
 * ssthresh and the scoreboard paces what is sent. */
static void enter_fast_recovery(struct ustcp_sock *c)
{
	c->recovery = TCP_RECOVERY_FAST;
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
	if (c->recovery != TCP_RECOVERY_NONE || c->snd_una == c->snd_max)
		return;
	if (tcp_sack_loss_detected(c))
		enter_fast_recovery(c);
}

/* RFC 6582 §3.2 steps 3-5 (and RFC 6675 §5 with SACK): an ACK of new data
 * during fast recovery. A full acknowledgment ends recovery. A partial one
 * means the next hole was lost too: NewReno resends it at once and deflates
 * the window by what was acknowledged; with SACK the scoreboard decides,
 * unless it shows no loss at the new SND.UNA (the last holes of a burst
 * have too little SACKed above them), when the hole is resent as NewReno
 * would. */
static void fast_recovery_ack(struct ustcp_sock *c, uint32_t acked)
{
	if (seq_geq(c->snd_una, c->recover)) {
		c->recovery = TCP_RECOVERY_NONE;
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

/* Loss is found by the third duplicate ACK, or with SACK as soon as enough
 * data above SND.UNA is SACKed (RFC 6675 §5), but not while the resending
 * after a timeout runs (RFC 6582 §4). */
static void dup_ack(struct ustcp_sock *c, bool dup)
{
	if (dup) {
		c->dupacks++;
		c->dup_acks_total++;
	}
	if (c->recovery == TCP_RECOVERY_FAST) {
		/* RFC 6582 §3.2 step 4: each further duplicate ACK says a
		 * segment left the network; inflate cwnd by one. No more can
		 * leave than was outstanding from before recovery, so the
		 * inflation stops at ssthresh plus that: a receiver sending
		 * duplicate ACKs of nothing cannot open the window further. */
		if (dup && !c->sack_ok && c->cwnd < c->ssthresh + (c->recover - c->snd_una))
			c->cwnd += c->snd_mss;
		return;
	}
	if (c->recovery == TCP_RECOVERY_RTO || c->snd_una == c->snd_max)
		return;
	/* RACK (RFC 8985) replaces counting duplicates while it keeps the map. */
	if (tcp_rack_on(c)
		    ? tcp_sack_loss_detected(c)
		    : c->dupacks >= c->reordering || (c->sack_ok && tcp_sack_loss_detected(c)))
		enter_fast_recovery(c);
}

void tcp_recovery_on_ack(struct ustcp_sock *c, uint32_t ack, uint32_t acked, bool dup,
			 const struct tcp_opts *sack)
{
	/* The resending after a timeout ends with the ACK of all it covered
	 * (RFC 8985 §6.2 step 4). */
	if (acked && c->recovery == TCP_RECOVERY_RTO && seq_geq(c->snd_una, c->recover)) {
		c->recovery = TCP_RECOVERY_NONE;
		tcp_rack_recovery_done(c);
	}
	if (tcp_rack_on(c))
		tcp_rack_on_ack(c, ack, sack);
	if (!acked) {
		dup_ack(c, dup);
		return;
	}
	if (c->recovery == TCP_RECOVERY_FAST) {
		fast_recovery_ack(c, acked);
	} else {
		c->dupacks = 0;
		c->cc->on_ack(c, acked);
	}
	/* RACK may find loss in an ACK that moves SND.UNA too. */
	if (tcp_rack_on(c))
		tcp_loss_check(c);
}

void tcp_recovery_on_rto(struct ustcp_sock *c)
{
	/* RFC 5681 §3.1 and RFC 6298 §5.4: resend from SND.UNA with the window
	 * the algorithm gives after a timeout; fast recovery is over, and
	 * duplicate ACKs for data sent before now are not a new loss
	 * (RFC 6582 §4). A timeout is not undone (no RFC 4015 here). */
	c->undo_ok = false;
	c->cc->on_rto(c);
	if (c->backoff > 1 && c->ranges)
		seqset_clear(&c->ranges->sacked); /* the peer may have dropped what it SACKed */
	tcp_rack_on_rto(c, c->backoff > 1);
	c->recovery = TCP_RECOVERY_RTO;
	c->recover = c->snd_max;
	c->dupacks = 0;
}
