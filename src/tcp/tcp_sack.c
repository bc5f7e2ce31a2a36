/* tcp_sack.c — the sender's SACK scoreboard and SACK-based loss recovery
 * (RFC 2018, RFC 6675, simplified as below).
 *
 * The scoreboard is the set of ranges above SND.UNA the peer reported
 * holding, kept in a seqset (core/seqset.h) based at SND.UNA. A byte is taken as lost when more than DupThresh - 1
 * segments' worth of data above it has been SACKed (RFC 6675 IsLost);
 * DupThresh starts at 3 and grows when a fast retransmit proves spurious.
 * During recovery, `pipe` estimates the bytes still in the network:
 * everything sent and not acknowledged, less what was SACKed, less what is
 * lost and not yet resent. Each time pipe leaves a segment of room in
 * cwnd, the next lost hole is resent (NextSeg rule 1), or else new data is
 * sent (rule 2). While RACK (tcp_rack.c) keeps the send map, it decides
 * instead which data is lost; DupThresh is the fallback. */
#include "tcp/tcp_conn.h"

/* Record the blocks of an arriving ACK that lie above SND.UNA and within
 * what was sent; D-SACK and stale blocks are ignored. */
void tcp_sack_update(struct ustcp_sock *c, const struct tcp_opts *o, uint32_t ack)
{
	/* RFC 2883: a first block below the cumulative ACK (or inside the
	 * second) reports a duplicate. If it is what the last fast retransmit
	 * resent, the original had arrived: the loss was reordering (RFC 3708
	 * detection). Undo the window cut and wait for more duplicates next
	 * time (as Linux does). */
	if (o->nsack && c->undo_ok) {
		uint32_t l = o->sack[0].left, r = o->sack[0].right;
		bool dup = seq_leq(r, ack) || (o->nsack > 1 && seq_geq(l, o->sack[1].left) &&
					       seq_leq(r, o->sack[1].right));
		if (dup && seq_leq(l, c->undo_seq) && seq_lt(c->undo_seq, r))
			tcp_undo_recovery(c);
	}
	/* Before the buffers exist the scoreboard has no room, as a full one. */
	for (int i = 0; i < o->nsack && c->ranges; i++) {
		uint32_t left = o->sack[i].left, right = o->sack[i].right;
		if (!seq_gt(left, c->snd_una) || !seq_gt(right, left) || seq_gt(right, c->snd_max))
			continue;
		if (seqset_add(&c->ranges->sacked, c->snd_una, left, right - left, NULL) < 0)
			break; /* scoreboard full: recovery goes on with less detail */
	}
}

/* The lowest sequence number from which every byte below (and not SACKed)
 * counts as lost: the point with (DupThresh - 1) segments of SACKed bytes
 * above it, counted from the top. */
static uint32_t lost_edge(const struct ustcp_sock *c)
{
	uint32_t limit = (uint32_t)(c->reordering - 1) * c->snd_mss, edge;
	if (seqset_point_below_top(tcp_scoreboard(c), limit, &edge))
		return edge;
	return c->snd_una; /* nothing is lost yet */
}

bool tcp_sack_loss_detected(const struct ustcp_sock *c)
{
	if (tcp_rack_on(c))
		return tcp_rack_lost_bytes(c) > 0;
	return seq_gt(lost_edge(c), c->snd_una);
}

/* Bytes in [from, to) that were not SACKed. */
static uint32_t unsacked_in(const struct ustcp_sock *c, uint32_t from, uint32_t to)
{
	if (!seq_lt(from, to))
		return 0;
	const struct seqset *sb = tcp_scoreboard(c);
	return (to - from) - (seqset_bytes_before(sb, c->snd_una, to) -
			      seqset_bytes_before(sb, c->snd_una, from));
}

uint32_t tcp_sack_pipe(const struct ustcp_sock *c)
{
	uint32_t out = c->snd_max - c->snd_una;
	uint32_t sacked = seqset_bytes(tcp_scoreboard(c));
	uint32_t lost;
	if (tcp_rack_on(c)) {
		lost = tcp_rack_lost_bytes(c); /* marked lost, not yet resent */
	} else {
		uint32_t from = seq_max(c->rexmt_next, c->snd_una);
		lost = unsacked_in(c, from, lost_edge(c));
	}
	uint32_t gone = sacked + lost;
	return out > gone ? out - gone : 0;
}

/* The next lost, not yet resent hole at or after rexmt_next: its start and
 * the length to send (at most one segment). */
static bool next_lost(struct ustcp_sock *c, uint32_t *seq, uint32_t *len)
{
	if (tcp_rack_on(c))
		return tcp_rack_next_lost(c, seq, len);
	uint32_t edge = lost_edge(c);
	uint32_t s = seq_max(c->rexmt_next, c->snd_una);
	const struct seqset *sb = tcp_scoreboard(c);
	const struct seqset_range *r = seqset_find(sb, c->snd_una, s);
	if (r && seq_geq(s, r->start)) {
		s = r->end; /* inside a SACKed range: skip it */
		r = seqset_next(sb, r);
	}
	if (!r || !seq_lt(s, edge))
		return false;
	*seq = s;
	*len = MIN(seq_min(r->start, edge) - s, (uint32_t)c->snd_mss);
	return true;
}

void tcp_sack_output(struct ustcp_sock *c)
{
	for (int guard = 0; guard < 1024; guard++) {
		if (tcp_sack_pipe(c) + c->snd_mss > c->cwnd)
			break;
		uint32_t seq, len;
		if (next_lost(c, &seq, &len)) {
			uint32_t lost = tcp_rack_lost_bytes(c);
			tcp_send_range(c, seq, len);
			c->rexmt_next = seq + len;
			if (tcp_rack_on(c) && tcp_rack_lost_bytes(c) == lost)
				break; /* nothing could be sent */
			continue;
		}
		if (!tcp_send_new_segment(c))
			break;
	}
}

/* Resending from snd_nxt after a timeout: step over what the peer holds.
 * Returns the most that may be sent from snd_nxt before the next SACKed
 * range (UINT32_MAX when none follows). */
uint32_t tcp_sack_skip(struct ustcp_sock *c)
{
	const struct seqset *sb = tcp_scoreboard(c);
	const struct seqset_range *r = seqset_find(sb, c->snd_una, c->snd_nxt);
	if (r && seq_geq(c->snd_nxt, r->start)) {
		c->snd_nxt = seq_min(r->end, c->snd_max);
		r = seqset_next(sb, r);
	}
	return r ? r->start - c->snd_nxt : UINT32_MAX;
}
