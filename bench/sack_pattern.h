/* sack_pattern.h — the worst SACK pattern a receiver can send, shared by
 * bench/sack_cost.c (what it costs) and tests/sim/test_sack_cost.c (that
 * the work stays bounded).
 *
 * Every ACK sits at SND.UNA and carries the most SACK blocks an option
 * holds without timestamps, each one segment, every other segment, from
 * segment `top` down: called with top, top - 2 * SACK_PATTERN_BLOCKS, ...
 * each block lands below every stretch SACKed before, so the send map and
 * the scoreboard hold about one record or range per segment. */
#ifndef USTCP_BENCH_SACK_PATTERN_H
#define USTCP_BENCH_SACK_PATTERN_H

#include "tcp/tcp_conn.h"
#include "wire/wire.h"

#define SACK_PATTERN_BLOCKS 4

/* The ACK the peer of a (the sender) sends for segments top, top - 2, ...
 * of mss bytes counted from una. */
static inline struct tcp_hdr sack_pattern_ack(const struct ustcp_sock *a, uint32_t una,
					      uint32_t mss, int top)
{
	struct tcp_hdr th = {.sport = a->rport,
			     .dport = a->lport,
			     .seq = a->rcv_nxt,
			     .ack = una,
			     .flags = TCP_ACK,
			     .win = (uint16_t)MIN(a->snd_wnd >> a->snd_wscale, 65535u)};
	th.opts.present = TCP_OPT_SACK;
	th.opts.nsack = SACK_PATTERN_BLOCKS;
	for (int i = 0; i < SACK_PATTERN_BLOCKS; i++) {
		uint32_t left = una + (uint32_t)(top - 2 * i) * mss;
		th.opts.sack[i] = (struct tcp_sack_block){left, left + mss};
	}
	return th;
}

#endif
