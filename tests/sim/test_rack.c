/* test_rack.c — RACK-TLP loss detection (RFC 8985) on SACK connections:
 * reordering within the reordering window is not taken for loss (§6.2), a
 * lost segment with too little SACKed above it for DupThresh is found after
 * an RTT and the reordering window, a lost tail is repaired by a tail loss
 * probe instead of a timeout (§7), a lost retransmission is found without
 * the RTO, and a send map that fills falls back to DupThresh with its
 * memory bounded. */
#include "harness.h"
#include "tcp/tcp_conn.h" /* RACK's state, for what only it shows */

/* ---- the net: the harness plus drops by sequence number ---- */

struct r_rule {
	int from;
	uint32_t seq;
	int left; /* drop this many transmissions of the segment at seq */
};

struct r_net {
	struct h_net *n;
	struct r_rule rules[8];
	int nrules;
	/* Drop every other new data segment from A starting in [alt_lo, alt_hi). */
	uint32_t alt_lo, alt_hi, alt_top;
	unsigned alt_count;
};

static bool r_filter(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct r_net *r = ctx;
	if (h_filter(r->n, port, frame, len))
		return true;
	int from = port == r->n->port[H_A] ? H_A : H_B;
	struct tcp_hdr th;
	uint32_t plen;
	if (!h_parse(frame, len, &th, &plen) || plen == 0)
		return false;
	for (int i = 0; i < r->nrules; i++) {
		struct r_rule *u = &r->rules[i];
		if (u->from == from && u->left > 0 && th.seq == u->seq) {
			u->left--;
			return true;
		}
	}
	if (from == H_A && r->alt_lo != r->alt_hi && th.seq - r->alt_lo < r->alt_hi - r->alt_lo &&
	    (int32_t)(th.seq + plen - r->alt_top) > 0) {
		r->alt_top = th.seq + plen;
		return r->alt_count++ % 2 == 0;
	}
	return false;
}

static struct r_net *r_new(const struct ustcp_config *ca, const struct ustcp_config *cb,
			   uint64_t delay)
{
	struct r_net *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->n = h_new_cfg(ca, cb);
	h_set_delay(r->n, delay);
	ustcp_sim_set_filter(r->n->sim, r_filter, r);
	return r;
}

static void r_drop(struct r_net *r, uint32_t seq, int times)
{
	assert_true(r->nrules < 8);
	r->rules[r->nrules++] = (struct r_rule){H_A, seq, times};
}

static void r_finish(struct r_net *r, struct ustcp_sock *a, struct ustcp_sock *b,
		     struct ustcp_sock *lb)
{
	ustcp_close(a);
	ustcp_close(b);
	h_finish(r->n, lb);
	free(r);
}

/* ---- a checked byte stream ---- */

static uint8_t pat(uint64_t off) { return (uint8_t)(off * 7 + (off >> 11)); }

/* Queue up to len stream bytes from off; returns how many the buffer took. */
static size_t send_pat(struct ustcp_sock *k, uint64_t off, size_t len)
{
	static uint8_t buf[1 << 16];
	size_t n = len < sizeof(buf) ? len : sizeof(buf);
	for (size_t j = 0; j < n; j++)
		buf[j] = pat(off + j);
	long r = ustcp_send(k, buf, n);
	return r > 0 ? (size_t)r : 0;
}

/* Read what is there, checking it; returns the new stream offset. */
static uint64_t read_pat(struct ustcp_sock *k, uint64_t off)
{
	static uint8_t buf[1 << 16];
	long r;
	while ((r = ustcp_recv(k, buf, sizeof(buf))) > 0) {
		for (long j = 0; j < r; j++)
			if (buf[j] != pat(off + (uint64_t)j))
				fail_msg("byte %llu differs",
					 (unsigned long long)(off + (uint64_t)j));
		off += (uint64_t)r;
	}
	return off;
}

/* Move stream bytes [off, off + len) from a to b in steps of 1 ms of
 * virtual time; calls watch (if any) after each step. */
static void pump(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b, uint64_t off,
		 uint64_t len, uint64_t limit, void (*watch)(void *), void *ctx)
{
	uint64_t sent = off, got = off, end = off + len, t0 = h_now(n);
	while (got < end) {
		if (h_now(n) - t0 > limit)
			fail_msg("%llu of %llu bytes after %llu ms",
				 (unsigned long long)(got - off), (unsigned long long)len,
				 (unsigned long long)(limit / MS));
		while (sent < end) {
			size_t k = send_pat(a, sent, (size_t)(end - sent));
			if (!k)
				break;
			sent += k;
		}
		h_run(n, 1 * MS);
		got = read_pat(b, got);
		if (watch)
			watch(ctx);
	}
}

static bool all_acked(void *k)
{
	struct ustcp_sock_info i = h_info(k);
	return i.snd_una == i.snd_max && ustcp_sock_writable(k) == i.sndbuf;
}

/* Send and read until A's cwnd holds `segs` full segments. Returns the offset. */
static uint64_t warm_up(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b, uint32_t segs)
{
	uint64_t off = 0;
	for (int round = 0; round < 20; round++) {
		struct ustcp_sock_info i = h_info(a);
		if (i.cwnd >= segs * i.snd_mss)
			return off;
		uint64_t len = 2 * (uint64_t)i.cwnd;
		if (len > ustcp_sock_writable(a))
			len = ustcp_sock_writable(a);
		pump(n, a, b, off, len, 5 * SEC, NULL, NULL);
		assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
		off += len;
	}
	fail_msg("cwnd did not reach %u segments", segs);
	return off;
}

/* The nth (0-based) data segment A sent at seq, from log index first on. */
static const struct h_seg *data_seg(const struct h_net *n, int first, uint32_t seq, int nth)
{
	for (int i = first; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		if (g->from == H_A && g->len > 0 && g->seq == seq && nth-- == 0)
			return g;
	}
	return NULL;
}

static int count_data(const struct h_net *n, int first, uint32_t seq)
{
	int c = 0;
	while (data_seg(n, first, seq, c))
		c++;
	return c;
}

static uint64_t counter(const struct h_net *n, enum ustcp_counter c)
{
	return ustcp_counter(n->st[H_A], c);
}

/* ---- 1. reordering is not loss ---- */

/* 5% of A's segments are held back 3 ms on a 20 ms round trip: less than
 * RACK's reordering window (min_RTT / 4 = 5 ms), but long enough for dozens
 * of later segments to pass them, which DupThresh took for loss each time.
 * Nothing is lost, so (almost) nothing may be resent. */
static void reordering_is_not_loss(void **state)
{
	(void)state;
	struct r_net *r = r_new(NULL, NULL, 10 * MS);
	struct h_net *n = r->n;
	struct ustcp_impair imp = {.delay = 10 * MS, .reorder = 0.05, .reorder_delay = 3 * MS};
	ustcp_sim_set_impair(n->sim, n->port[H_A], &imp);
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	pump(n, a, b, 0, 8u << 20, 60 * SEC, NULL, NULL);
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	struct ustcp_impair_stats st;
	ustcp_sim_get_stats(n->sim, n->port[H_A], &st);
	struct ustcp_sock_info ia = h_info(a);
	if (getenv("RACK_VERBOSE"))
		fprintf(stderr, "reordered %llu, retransmits %u, fast %u, rto %u\n",
			(unsigned long long)st.reordered, ia.retransmits, ia.fast_retransmits,
			ia.rto_expirations);
	assert_true(st.reordered > 200);
	assert_int_equal(ia.rto_expirations, 0);
	assert_true(ia.retransmits <= 3);
	r_finish(r, a, b, lb);
}

/* ---- 2. a single loss, found in time ---- */

/* Of a window of 20 segments sent at once the 18th is lost: only two
 * segments arrive above it, too few for DupThresh (3). RACK marks it lost
 * when the RTT and the reordering window (min_RTT / 4) have passed since it
 * was sent, and resends it then, long before the RTO. */
static void single_loss_found_in_time(void **state)
{
	(void)state;
	struct r_net *r = r_new(NULL, NULL, 10 * MS);
	struct h_net *n = r->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t mss = i0.snd_mss, s0 = i0.snd_nxt, lost = s0 + 17 * mss;
	r_drop(r, lost, 1);
	int first = n->nlog;
	uint64_t t0 = h_now(n);
	assert_int_equal(send_pat(a, off, 20 * (size_t)mss), 20 * (size_t)mss);
	assert_int_equal(h_info(a).snd_max, s0 + 20 * mss); /* all at once */
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	assert_int_equal(read_pat(b, off), off + 20 * (uint64_t)mss);
	struct ustcp_sock_info ie = h_info(a);
	assert_int_equal(ie.rto_expirations, 0);
	assert_int_equal(ie.fast_retransmits, i0.fast_retransmits + 1);
	assert_int_equal(ie.retransmits, i0.retransmits + 1);
	assert_int_equal(count_data(n, first, lost), 2);
	const struct h_seg *rx = data_seg(n, first, lost, 1);
	/* Sent at t0; the SACKs of the two above it came one RTT later; lost
	 * after another min_RTT / 4 (the timer's 1 ms tick on top). */
	uint64_t want = t0 + 20 * MS + i0.min_rtt / 4;
	if (rx->t < want || rx->t > want + 2 * MS)
		fail_msg("resent %.3f ms after it was sent, want %.3f", (double)(rx->t - t0) / MS,
			 (double)(want - t0) / MS);
	r_finish(r, a, b, lb);
}

/* ---- 3. a lost tail, probed ---- */

/* The last two segments of a burst of 20 are lost: no ACK comes for them.
 * Two SRTTs after the last ACK a tail loss probe resends the last segment;
 * its SACK shows the other one lost, and recovery repairs it: no timeout. */
static void tail_loss_probe(void **state)
{
	(void)state;
	struct r_net *r = r_new(NULL, NULL, 10 * MS);
	struct h_net *n = r->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t mss = i0.snd_mss, s0 = i0.snd_nxt;
	r_drop(r, s0 + 18 * mss, 1);
	r_drop(r, s0 + 19 * mss, 1);
	uint64_t probes0 = counter(n, USTCP_C_tcp_tlp_probes);
	int first = n->nlog;
	assert_int_equal(send_pat(a, off, 20 * (size_t)mss), 20 * (size_t)mss);
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	assert_int_equal(read_pat(b, off), off + 20 * (uint64_t)mss);
	struct ustcp_sock_info ie = h_info(a);
	assert_int_equal(ie.rto_expirations, 0);
	assert_int_equal(counter(n, USTCP_C_tcp_tlp_probes), probes0 + 1);
	assert_int_equal(count_data(n, first, s0 + 18 * mss), 2);
	assert_int_equal(count_data(n, first, s0 + 19 * mss), 2);
	/* The probe: the last segment again, 2 * SRTT after the last ACK
	 * before it arrived (one way after B sent it). */
	const struct h_seg *probe = data_seg(n, first, s0 + 19 * mss, 1);
	const struct h_seg *last_ack = NULL;
	for (int i = first; i < n->nlog && n->log[i].t < probe->t; i++)
		if (n->log[i].from == H_B)
			last_ack = &n->log[i];
	assert_non_null(last_ack);
	assert_int_equal(last_ack->ack, s0 + 18 * mss);
	uint64_t want = last_ack->t + 10 * MS + 2 * i0.srtt;
	if (probe->t + 2 * MS < want || probe->t > want + 2 * MS)
		fail_msg("probe %.3f ms after the last ACK, want %.3f",
			 (double)(probe->t - last_ack->t - 10 * MS) / MS,
			 2.0 * (double)i0.srtt / MS);
	/* The hole it revealed went before the probe was answered twice. */
	assert_true(data_seg(n, first, s0 + 18 * mss, 1)->t < probe->t + 2 * i0.srtt);
	r_finish(r, a, b, lb);
}

/* ---- 4. a lost retransmission ---- */

/* In a long transfer one segment is lost, and so is its retransmission.
 * New data sent after the retransmission is SACKed, which tells RACK the
 * retransmission is lost too: it goes a third time, without a timeout. */
static void lost_retransmission(void **state)
{
	(void)state;
	struct r_net *r = r_new(NULL, NULL, 10 * MS);
	struct h_net *n = r->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t lost = i0.snd_nxt + 40 * i0.snd_mss;
	r_drop(r, lost, 2);
	int first = n->nlog;
	pump(n, a, b, off, 1u << 20, 10 * SEC, NULL, NULL);
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	struct ustcp_sock_info ie = h_info(a);
	assert_int_equal(ie.rto_expirations, 0);
	assert_int_equal(count_data(n, first, lost), 3);
	const struct h_seg *r1 = data_seg(n, first, lost, 1), *r2 = data_seg(n, first, lost, 2);
	/* The resend is lost again; the SACKs of what went after it show that
	 * one RTT later. On this link a flight's ACKs arrive together, so what
	 * follows the resend may leave only with the next flight: two RTTs at
	 * most. */
	assert_true(r2->t - r1->t <= 2 * i0.srtt);
	r_finish(r, a, b, lb);
}

/* ---- 5. the send map's bound ---- */

struct mem_watch {
	struct h_net *n;
	uint64_t lo, hi;
};

static void watch_mem(void *ctx)
{
	struct mem_watch *w = ctx;
	struct ustcp_pool_usage u;
	ustcp_pool_usage(w->n->st[H_A], &u);
	if (u.buffer_bytes < w->lo)
		w->lo = u.buffer_bytes;
	if (u.buffer_bytes > w->hi)
		w->hi = u.buffer_bytes;
}

/* Small segments (MTU 576) and every other one of a whole window lost: the
 * SACK holes cut the send map into more records than its room (one per
 * KiB of send buffer). The connection falls back to DupThresh rather than
 * failing, the memory it holds does not grow, every byte arrives, and RACK
 * takes over again once all is acknowledged. */
static void send_map_bound(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.mtu = cb.mtu = 576;
	struct r_net *r = r_new(&ca, &cb, 5 * MS);
	struct h_net *n = r->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 300);
	struct ustcp_sock_info i0 = h_info(a);
	assert_true(i0.snd_mss < 600);
	r->alt_lo = r->alt_top = i0.snd_nxt;
	r->alt_hi = i0.snd_nxt + i0.sndbuf;
	struct mem_watch w = {n, UINT64_MAX, 0};
	watch_mem(&w);
	pump(n, a, b, off, 2u << 20, 120 * SEC, watch_mem, &w);
	off += 2u << 20;
	assert_true(h_run_cond(n, 5 * SEC, all_acked, a));
	assert_true(counter(n, USTCP_C_tcp_rack_fallbacks) >= 1);
	assert_int_equal(w.lo, w.hi); /* nothing allocated on the way */
	assert_true(r->alt_count > 200);

	/* All acknowledged: RACK is back, and a single loss with only two
	 * segments above it is again repaired without a timeout. */
	r->alt_lo = r->alt_hi = 0;
	struct ustcp_sock_info i1 = h_info(a);
	uint32_t s0 = i1.snd_nxt;
	r_drop(r, s0 + 17 * i1.snd_mss, 1);
	assert_int_equal(send_pat(a, off, 20 * (size_t)i1.snd_mss), 20 * (size_t)i1.snd_mss);
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	assert_int_equal(read_pat(b, off), off + 20 * (uint64_t)i1.snd_mss);
	assert_int_equal(h_info(a).rto_expirations, i1.rto_expirations);
	r_finish(r, a, b, lb);
}

/* A probe that repaired a tail loss starts recovery; that recovery answers
 * for the probe, so the next flight's first ACK does not cut the window a
 * second time for the same loss (§7.4). */
static void tlp_recovery_cuts_once(void **state)
{
	(void)state;
	struct r_net *r = r_new(NULL, NULL, 10 * MS);
	struct h_net *n = r->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t mss = i0.snd_mss, s0 = i0.snd_nxt;
	r_drop(r, s0 + 18 * mss, 1);
	r_drop(r, s0 + 19 * mss, 1);
	assert_int_equal(send_pat(a, off, 20 * (size_t)mss), 20 * (size_t)mss);
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	off = read_pat(b, off);
	struct ustcp_sock_info i1 = h_info(a);
	assert_true(counter(n, USTCP_C_tcp_tlp_probes) >= 1);
	h_run(n, 100 * MS);
	assert_int_equal(send_pat(a, off, 4 * (size_t)mss), 4 * (size_t)mss);
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	read_pat(b, off);
	struct ustcp_sock_info i2 = h_info(a);
	assert_int_equal(counter(n, USTCP_C_tcp_tlp_recoveries), 0);
	assert_true(i2.ssthresh >= i1.ssthresh);
	r_finish(r, a, b, lb);
}

/* §7.2: a lone segment lost (a request, say) is probed at 2 SRTT + the
 * worst-case delayed ACK or at the RTO's time, whichever is first, instead
 * of the RTO firing: cwnd keeps its size. */
static void single_segment_tail_probed(void **state)
{
	(void)state;
	struct r_net *r = r_new(NULL, NULL, 10 * MS);
	struct h_net *n = r->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	r_drop(r, i0.snd_nxt, 1);
	uint64_t p0 = counter(n, USTCP_C_tcp_tlp_probes);
	assert_int_equal(send_pat(a, off, 100), 100);
	assert_true(h_run_cond(n, 3 * SEC, all_acked, a));
	read_pat(b, off);
	struct ustcp_sock_info i1 = h_info(a);
	assert_int_equal(counter(n, USTCP_C_tcp_tlp_probes), p0 + 1);
	assert_int_equal(i1.rto_expirations, i0.rto_expirations);
	assert_true(i1.cwnd > 10 * i1.snd_mss);
	r_finish(r, a, b, lb);
}

/* On a 300 ms path the RTO (SRTT + 4 RTTVAR) comes before 2 SRTT: the
 * probe goes at the RTO's time instead, and the tail is repaired without a
 * timeout. */
static void long_rtt_tail_probed(void **state)
{
	(void)state;
	struct r_net *r = r_new(NULL, NULL, 10 * MS);
	struct h_net *n = r->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	h_set_delay(n, 150 * MS);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t mss = i0.snd_mss, s0 = i0.snd_nxt;
	r_drop(r, s0 + 18 * mss, 1);
	r_drop(r, s0 + 19 * mss, 1);
	uint64_t p0 = counter(n, USTCP_C_tcp_tlp_probes);
	assert_int_equal(send_pat(a, off, 20 * (size_t)mss), 20 * (size_t)mss);
	assert_true(h_run_cond(n, 10 * SEC, all_acked, a));
	read_pat(b, off);
	struct ustcp_sock_info i1 = h_info(a);
	assert_int_equal(counter(n, USTCP_C_tcp_tlp_probes), p0 + 1);
	assert_int_equal(i1.rto_expirations, i0.rto_expirations);
	r_finish(r, a, b, lb);
}

/* Two holes, and the ACKs that SACKed the data between them lost: the next
 * ACK newly SACKs two blocks, newest first. Taken in that order the lower
 * block would look overtaken (step 3) and RACK would think the path
 * reorders; nothing was reordered, so a later loss is found with no
 * reordering window. */
static int r3_drop_acks;
static uint32_t r3_lo, r3_hi;
static bool r3_filter(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct r_net *r = ctx;
	int from = port == r->n->port[H_A] ? H_A : H_B;
	struct tcp_hdr th;
	uint32_t plen;
	if (from == H_B && r3_drop_acks && h_parse(frame, len, &th, &plen) && plen == 0 &&
	    th.opts.nsack == 1 && th.opts.sack[0].left == r3_lo && th.opts.sack[0].right <= r3_hi)
		return true;
	return r_filter(ctx, port, frame, len);
}

static void sack_blocks_in_sequence_order(void **state)
{
	(void)state;
	struct r_net *r = r_new(NULL, NULL, 10 * MS);
	struct h_net *n = r->n;
	ustcp_sim_set_filter(n->sim, r3_filter, r);
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t mss = i0.snd_mss, s0 = i0.snd_nxt;
	r_drop(r, s0 + 5 * mss, 1);
	r_drop(r, s0 + 10 * mss, 1);
	r3_lo = s0 + 6 * mss;
	r3_hi = s0 + 10 * mss;
	r3_drop_acks = 1;
	assert_false(a->rack.reordering_seen);
	assert_int_equal(send_pat(a, off, 20 * (size_t)mss), 20 * (size_t)mss);
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	read_pat(b, off);
	assert_false(a->rack.reordering_seen);
	r3_drop_acks = 0;
	r_finish(r, a, b, lb);
}

/* After 2^32 - 1 bytes the sequence numbers come back to the ISS: a data
 * segment starting there is data, not the SYN, and its loss is found by
 * RACK like any other (no timeout). */
static void data_at_iss_after_wrap(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.sndbuf = cb.sndbuf = ca.rcvbuf = cb.rcvbuf = 4u << 20;
	struct r_net *r = r_new(&ca, &cb, 1 * MS);
	struct h_net *n = r->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	static uint8_t buf[1 << 16];
	uint64_t total = 0xffffffffull, sent = 0, got = 0;
	uint64_t t0 = h_now(n);
	while (got < total) {
		assert_true(h_now(n) - t0 < 600 * SEC);
		while (sent < total) {
			size_t k =
				total - sent < sizeof(buf) ? (size_t)(total - sent) : sizeof(buf);
			long w = ustcp_send(a, buf, k);
			if (w <= 0)
				break;
			sent += (uint64_t)w;
		}
		h_run(n, 1 * MS);
		long rd;
		while ((rd = ustcp_recv(b, buf, sizeof(buf))) > 0)
			got += (uint64_t)rd;
		n->nlog = 0; /* the log is bounded */
	}
	assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
	struct ustcp_sock_info i0 = h_info(a);
	assert_int_equal(i0.snd_una, a->iss);
	uint32_t mss = i0.snd_mss;
	r_drop(r, a->iss, 1); /* the first segment after the wrap */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(ustcp_send(a, buf, 20 * (size_t)mss), 20 * (long)mss);
	assert_true(h_run_cond(n, 3 * SEC, all_acked, a));
	struct ustcp_sock_info i1 = h_info(a);
	assert_int_equal(i1.rto_expirations, i0.rto_expirations);
	assert_int_equal(i1.fast_retransmits, i0.fast_retransmits + 1);
	r_finish(r, a, b, lb);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(tlp_recovery_cuts_once),
	cmocka_unit_test(single_segment_tail_probed),
	cmocka_unit_test(long_rtt_tail_probed),
	cmocka_unit_test(sack_blocks_in_sequence_order),
	cmocka_unit_test(data_at_iss_after_wrap),
	cmocka_unit_test(reordering_is_not_loss),
	cmocka_unit_test(single_loss_found_in_time),
	cmocka_unit_test(tail_loss_probe),
	cmocka_unit_test(lost_retransmission),
	cmocka_unit_test(send_map_bound),
};

USTCP_TEST_MAIN(tests)
