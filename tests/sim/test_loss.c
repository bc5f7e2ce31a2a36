/* test_loss.c — loss and the timers that watch a connection: Karn's rule
 * (no sample from a retransmission, the backoff kept until a clean one) and
 * the RTO's exponential backoff (RFC 6298), fast retransmit and NewReno fast
 * recovery (RFC 5681 §3.2, RFC 6582), slow start after a timeout (RFC 5681
 * §3.1), keepalive (RFC 1122 §4.2.3.6), giving up (RFC 1122 §4.2.3.5 R2 and
 * the user timeout of RFC 5482), a transfer past 4 GiB that wraps the
 * sequence space with PAWS rejecting an old duplicate (RFC 7323 §5), and
 * the RTO floor option.
 *
 * Set LOSS_TRACE=1 in the environment to print every frame in and out. */
#include "harness.h"

#include <stdio.h>

/* ---- a byte stream whose every byte can be checked cheaply ---- */

/* The stream is made of 4 KiB blocks, each a copy of one base block with
 * every byte shifted by the same amount. The shift depends on the block
 * number and on how many times the stream passed 4 GiB, so bytes 2^32 apart
 * (the same sequence number in successive wraps) differ. */
#define PAT_BLOCK 4096u
static uint8_t pat_tab[256][PAT_BLOCK];
static bool pat_ready;

static const uint8_t *pat_block(uint64_t b)
{
	if (!pat_ready) {
		for (unsigned v = 0; v < 256; v++)
			for (unsigned j = 0; j < PAT_BLOCK; j++)
				pat_tab[v][j] = (uint8_t)(v + j * 131 + (j >> 7));
		pat_ready = true;
	}
	return pat_tab[(7 * b + 85 * (b >> 20)) & 255];
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Stream bytes [off, off + len) into buf. */
static void pat_fill(uint8_t *buf, uint64_t off, size_t len)
{
	while (len) {
		size_t j = (size_t)(off % PAT_BLOCK), m = min_sz(len, PAT_BLOCK - j);
		memcpy(buf, pat_block(off / PAT_BLOCK) + j, m);
		buf += m;
		off += m;
		len -= m;
	}
}

static bool pat_check(const uint8_t *buf, uint64_t off, size_t len)
{
	while (len) {
		size_t j = (size_t)(off % PAT_BLOCK), m = min_sz(len, PAT_BLOCK - j);
		if (memcmp(buf, pat_block(off / PAT_BLOCK) + j, m) != 0)
			return false;
		buf += m;
		off += m;
		len -= m;
	}
	return true;
}

/* Queue stream bytes [off, off + len); the send buffer must take them all. */
static void send_pattern(struct ustcp_sock *k, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	pat_fill(buf, off, len);
	assert_int_equal(ustcp_send(k, buf, len), (long)len);
	free(buf);
}

/* Read exactly len bytes, which must be there already, and check them. */
static void expect_pattern(struct ustcp_sock *k, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len + 1);
	assert_non_null(buf);
	size_t got = 0;
	for (int i = 0; i < 1000 && got < len; i++) {
		long r = ustcp_recv(k, buf + got, len + 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	assert_int_equal(got, len);
	assert_true(pat_check(buf, off, len));
	free(buf);
}

/* ---- the net: the harness plus drops by sequence number and a log of arrivals ---- */

/* Drop data segments from `from` whose sequence number lies in [lo, hi),
 * at most `left` of them (first transmissions come first). */
struct l_rule {
	int from;
	uint32_t lo, hi;
	int left;
};

/* A frame a stack received, with the reason it dropped it (0: kept). */
struct l_in {
	int to;
	uint64_t t;
	uint8_t flags;
	uint32_t seq, ack, len;
	int drop;
	uint32_t ts_val;
};

#define L_MAX_IN 8192

struct l_net {
	struct h_net *n;
	struct l_rule rules[8];
	int nrules;
	struct l_in in[L_MAX_IN];
	int nin;
	bool print;
};

static int side_of_port(const struct h_net *n, int port)
{
	return port == n->port[H_A] ? H_A : H_B;
}

static bool l_filter(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct l_net *l = ctx;
	if (h_filter(l->n, port, frame, len))
		return true;
	int from = side_of_port(l->n, port);
	struct tcp_hdr th;
	uint32_t plen;
	if (!h_parse(frame, len, &th, &plen) || plen == 0)
		return false;
	for (int i = 0; i < l->nrules; i++) {
		struct l_rule *r = &l->rules[i];
		if (r->from == from && r->left > 0 && th.seq - r->lo < r->hi - r->lo) {
			r->left--;
			return true;
		}
	}
	return false;
}

static void l_trace(void *ctx, const struct ustcp_trace_event *ev)
{
	struct l_net *l = ctx;
	int side = ev->stack == l->n->st[H_A] ? H_A : H_B;
	if (l->print) {
		fputs(side == H_A ? "A " : "B ", stderr);
		ustcp_print_event(stderr, ev);
	}
	h_trace(l->n, ev);
	if (ev->dir != USTCP_TRACE_IN || l->nin == L_MAX_IN)
		return;
	struct tcp_hdr th;
	uint32_t plen;
	if (!h_parse(ev->frame, ev->len, &th, &plen))
		return;
	l->in[l->nin++] = (struct l_in){.to = side,
					.t = ev->now,
					.flags = th.flags,
					.seq = th.seq,
					.ack = th.ack,
					.len = plen,
					.drop = ev->drop,
					.ts_val = th.opts.ts_val};
}

static struct l_net *l_new(const struct ustcp_config *ca, const struct ustcp_config *cb)
{
	struct l_net *l = calloc(1, sizeof(*l));
	assert_non_null(l);
	l->n = h_new_cfg(ca, cb);
	const char *p = getenv("LOSS_TRACE");
	l->print = p && *p && *p != '0';
	for (int i = 0; i < 2; i++)
		ustcp_set_trace(l->n->st[i], l_trace, l);
	ustcp_sim_set_filter(l->n->sim, l_filter, l);
	return l;
}

static void l_finish(struct l_net *l, struct ustcp_sock *lb)
{
	h_finish(l->n, lb);
	free(l);
}

/* Drop the first `times` data segments from `from` starting in [lo, hi). */
static void l_drop_range(struct l_net *l, int from, uint32_t lo, uint32_t hi, int times)
{
	assert_true(l->nrules < 8);
	l->rules[l->nrules++] = (struct l_rule){from, lo, hi, times};
}

static void l_drop_seq(struct l_net *l, int from, uint32_t seq)
{
	l_drop_range(l, from, seq, seq + 1, 1);
}

static void set_link(struct h_net *n, int side, uint64_t delay, uint64_t rate_bps)
{
	struct ustcp_impair imp = {.delay = delay, .rate_bps = rate_bps};
	ustcp_sim_set_impair(n->sim, n->port[side], &imp);
}

/* A timer fires at the first timer tick (1 ms) at or after its expiry. */
static void assert_gap(uint64_t t0, uint64_t t1, uint64_t want)
{
	if (t1 < t0 + want || t1 > t0 + want + 1 * MS)
		fail_msg("gap %llu ns, want %llu ns (+1 ms)", (unsigned long long)(t1 - t0),
			 (unsigned long long)want);
}

/* The nth (0-based) segment `from` sent at or after log index `first`. */
static const struct h_seg *seg_after(const struct h_net *n, int first, int from, int nth)
{
	for (int i = first; i < n->nlog; i++)
		if (n->log[i].from == from && nth-- == 0)
			return &n->log[i];
	return NULL;
}

/* The nth (0-based) data segment `from` sent with this sequence number, at
 * or after log index `first`. The log holds copies the link then lost. */
static const struct h_seg *data_seg(const struct h_net *n, int first, int from, uint32_t seq,
				    int nth)
{
	for (int i = first; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		if (g->from == from && g->len > 0 && g->seq == seq && nth-- == 0)
			return g;
	}
	return NULL;
}

static int count_data(const struct h_net *n, int first, int from, uint32_t seq)
{
	int c = 0;
	for (int i = first; i < n->nlog; i++)
		if (n->log[i].from == from && n->log[i].len > 0 && n->log[i].seq == seq)
			c++;
	return c;
}

/* The nth frame `to` received carrying an ACK of exactly `ack`, at or after
 * in-log index `first`. */
static const struct l_in *ack_in(const struct l_net *l, int first, int to, uint32_t ack, int nth)
{
	for (int i = first; i < l->nin; i++) {
		const struct l_in *g = &l->in[i];
		if (g->to == to && (g->flags & TCP_ACK) && g->ack == ack && nth-- == 0)
			return g;
	}
	return NULL;
}

/* The first arrival at `to` of a data segment with this sequence number. */
static const struct l_in *data_in(const struct l_net *l, int first, int to, uint32_t seq)
{
	for (int i = first; i < l->nin; i++)
		if (l->in[i].to == to && l->in[i].len > 0 && l->in[i].seq == seq)
			return &l->in[i];
	return NULL;
}

static bool all_acked(void *k)
{
	struct ustcp_sock_info i = h_info(k);
	return i.snd_una == i.snd_max && ustcp_sock_writable(k) == i.sndbuf;
}

static bool sock_closed(void *k) { return ustcp_sock_state(k) == USTCP_CLOSED; }

static bool fast_retransmitted(void *k) { return h_info(k).fast_retransmits > 0; }

struct una_wait {
	struct ustcp_sock *k;
	uint32_t seq;
};

static bool una_reached(void *ctx)
{
	struct una_wait *w = ctx;
	return h_info(w->k).snd_una == w->seq;
}

static bool rto_expired(void *k) { return h_info(k).rto_expirations > 0; }

/* RFC 6298 §2.3 (G: the 1 ms timer tick) with the floor of §2.4 and the cap of §2.5. */
static uint64_t rto_of(const struct ustcp_sock_info *i, uint64_t rto_min, uint64_t rto_max)
{
	uint64_t k = 4 * i->rttvar;
	uint64_t rto = i->srtt + (k > 1 * MS ? k : 1 * MS);
	return rto < rto_min ? rto_min : rto > rto_max ? rto_max : rto;
}

/* Send and read until A's cwnd holds at least `segs` full segments, so a
 * whole window of that many can leave at once. Returns the stream offset. */
static uint64_t warm_up(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b, uint32_t segs)
{
	uint64_t off = 0;
	for (int round = 0; round < 12; round++) {
		struct ustcp_sock_info i = h_info(a);
		if (i.cwnd >= segs * i.snd_mss)
			return off;
		/* Twice the window: the sender is limited by cwnd, so it grows. */
		size_t len = min_sz(2 * (size_t)i.cwnd, ustcp_sock_writable(a));
		send_pattern(a, off, len);
		assert_true(h_run_cond(n, 2 * SEC, all_acked, a));
		expect_pattern(b, off, len);
		off += len;
	}
	fail_msg("cwnd did not reach %u segments", segs);
	return off;
}

/* ---- 1. the retransmission timer ---- */

/* RFC 6298 §3 (Karn): an ACK of a retransmitted segment gives no RTT
 * sample, because it cannot tell which transmission it answers. Without
 * timestamps (RFC 7323 §4 would make such samples valid) the ACK of a
 * retransmission that comes 100 ms late must leave srtt and rttvar alone;
 * the same 100 ms on a segment sent once does move srtt. */
static void karn_no_sample_from_retransmission(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.timestamps = cb.timestamps = 0;
	/* No SACK, so no tail loss probe (RFC 8985 §7) goes in the timeout's
	 * place: this test watches the retransmission timer itself. */
	ca.sack = 0;
	struct l_net *l = l_new(&ca, &cb);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	assert_int_equal(h_info(a).timestamps, 0);
	/* B answers every segment at once: every sample is the 2 ms round trip. */
	assert_int_equal(ustcp_setsockopt(b, USTCP_TCP_QUICKACK, 1), 0);
	uint64_t off = 0;
	for (int i = 0; i < 12; i++) {
		send_pattern(a, off, 100);
		off += 100;
		assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	}
	expect_pattern(b, 0, off);
	struct ustcp_sock_info before = h_info(a);
	assert_true(before.srtt >= 2 * MS && before.srtt < 3 * MS);
	assert_int_equal(before.rto, ca.rto_min);

	/* The segment is lost once; the retransmission's ACK takes 100 ms. */
	set_link(n, H_B, 100 * MS, 0);
	l_drop_seq(l, H_A, before.snd_nxt);
	int first = n->nlog;
	send_pattern(a, off, 100);
	assert_true(h_run_cond(n, 5 * SEC, all_acked, a));
	expect_pattern(b, off, 100);
	off += 100;
	assert_int_equal(count_data(n, first, H_A, before.snd_nxt), 2);
	const struct h_seg *s0 = data_seg(n, first, H_A, before.snd_nxt, 0);
	const struct h_seg *s1 = data_seg(n, first, H_A, before.snd_nxt, 1);
	assert_gap(s0->t, s1->t, before.rto);
	assert_int_equal(h_now(n), s1->t + 101 * MS); /* acked by B at once, 100 ms back */

	struct ustcp_sock_info after = h_info(a);
	assert_int_equal(after.rto_expirations, 1);
	assert_int_equal(after.retransmits, before.retransmits + 1);
	assert_int_equal(after.srtt, before.srtt);
	assert_int_equal(after.rttvar, before.rttvar);

	/* Control: a segment sent once over the same slow ACK path is timed. */
	send_pattern(a, off, 100);
	assert_true(h_run_cond(n, 5 * SEC, all_acked, a));
	expect_pattern(b, off, 100);
	struct ustcp_sock_info control = h_info(a);
	assert_int_equal(control.rto_expirations, 1);
	assert_true(control.srtt > before.srtt + 10 * MS); /* 7/8 * 2 ms + 1/8 * 101 ms */

	set_link(n, H_B, 1 * MS, 0);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* Karn's algorithm has a second half (RFC 6298 §5.5 and the note after
 * §5.7, Karn and Partridge 1987): the backed-off RTO stays in force until a
 * valid RTT sample, i.e. the ACK of a segment that was never retransmitted
 * (timestamps off). So a second loss right after an ambiguous ACK waits
 * twice the RTO; once a clean sample arrives the RTO collapses again. */
static void karn_keeps_backoff_until_valid_sample(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.timestamps = cb.timestamps = 0;
	/* No SACK, so no tail loss probe (RFC 8985 §7) goes in the timeout's
	 * place: this test watches the retransmission timer itself. */
	ca.sack = 0;
	struct l_net *l = l_new(&ca, &cb);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	assert_int_equal(ustcp_setsockopt(b, USTCP_TCP_QUICKACK, 1), 0);
	uint64_t off = 0;
	for (int i = 0; i < 12; i++) {
		send_pattern(a, off, 100);
		off += 100;
		assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	}
	uint64_t rto = h_info(a).rto;
	assert_int_equal(rto, ca.rto_min);

	/* Three segments in turn, each lost once. */
	uint64_t gaps[3];
	for (int i = 0; i < 3; i++) {
		uint32_t seq = h_info(a).snd_nxt;
		l->nrules = 0;
		l_drop_seq(l, H_A, seq);
		int first = n->nlog;
		send_pattern(a, off, 100);
		off += 100;
		assert_true(h_run_cond(n, 10 * SEC, all_acked, a));
		assert_int_equal(count_data(n, first, H_A, seq), 2);
		gaps[i] = data_seg(n, first, H_A, seq, 1)->t - data_seg(n, first, H_A, seq, 0)->t;
		if (i == 1) {
			/* A clean exchange: its sample ends the backoff. */
			send_pattern(a, off, 100);
			off += 100;
			assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
		}
	}
	expect_pattern(b, 0, off);
	assert_gap(0, gaps[0], rto);
	/* Only the ACK of a retransmission came since the first expiry. */
	assert_gap(0, gaps[1], 2 * rto);
	assert_gap(0, gaps[2], rto);
	assert_int_equal(h_info(a).rto_expirations, 3);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* RFC 6298 §5.5: each expiry doubles the RTO, up to rto_max (§2.5). Once
 * the peer answers, the next RTT sample (§5 note after 5.7) brings the RTO
 * back to srtt + 4 * rttvar (or the floor), and the backoff is over.
 *
 * A's segments are the ones lost: B then first sees the retransmission that
 * gets through, echoes its TSval (RFC 7323 §4.3), and the sample is the true
 * round trip. (Had B's ACKs been lost instead, B would echo the TSval of the
 * first copy, which it had already acknowledged, and the sample would span
 * the whole outage: RFC 7323 §4.3 prefers overestimating the RTT.) */
static void rto_doubles_and_resets(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 30; /* longer than the test, so only the timer is seen */
	/* No SACK, so no tail loss probe (RFC 8985 §7) goes in the timeout's
	 * place: this test watches the retransmission timer itself. */
	ca.sack = 0;
	struct l_net *l = l_new(&ca, NULL);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	h_exchange(n, a, b);
	h_run(n, 100 * MS);
	struct ustcp_sock_info i0 = h_info(a);
	assert_true(i0.rto >= ca.rto_min && i0.rto < 1 * SEC);
	assert_int_equal(i0.backoff, 0);

	n->blackhole[H_A] = true;
	int first = n->nlog;
	send_pattern(a, 0, 1000);
	/* 11 expiries: 0.2 s doubling up to 51.2 s, then two at the 60 s cap. */
	const int rexmits = 11;
	for (int i = 0; i < 400 && h_info(a).rto_expirations < (uint32_t)rexmits; i++)
		h_run(n, 1 * SEC);
	struct ustcp_sock_info ib = h_info(a);
	assert_int_equal(ib.rto_expirations, rexmits);
	assert_int_equal(ib.backoff, rexmits);
	assert_int_equal(ib.state, USTCP_ESTABLISHED);
	assert_int_equal(count_data(n, first, H_A, i0.snd_nxt), rexmits + 1);
	uint64_t want = i0.rto;
	for (int i = 1; i <= rexmits; i++) {
		const struct h_seg *p = data_seg(n, first, H_A, i0.snd_nxt, i - 1);
		const struct h_seg *g = data_seg(n, first, H_A, i0.snd_nxt, i);
		assert_int_equal(g->len, 1000);
		assert_gap(p->t, g->t, want);
		want = min_u64(want * 2, ca.rto_max);
	}
	assert_int_equal(want, ca.rto_max);
	/* info.rto is the estimator's value; the timer runs it << backoff. */
	assert_int_equal(min_u64(ib.rto << ib.backoff, ca.rto_max), ca.rto_max);

	/* The link is back: the next retransmission, one capped RTO later, is answered. */
	n->blackhole[H_A] = false;
	assert_true(h_run_cond(n, 70 * SEC, all_acked, a));
	const struct h_seg *last = data_seg(n, first, H_A, i0.snd_nxt, rexmits);
	const struct h_seg *next = data_seg(n, first, H_A, i0.snd_nxt, rexmits + 1);
	assert_non_null(next);
	assert_gap(last->t, next->t, ca.rto_max);
	expect_pattern(b, 0, 1000);

	/* New data, acknowledged: its sample ends the backoff. */
	send_pattern(a, 1000, 1000);
	assert_true(h_run_cond(n, 5 * SEC, all_acked, a));
	expect_pattern(b, 1000, 1000);
	struct ustcp_sock_info ic = h_info(a);
	assert_int_equal(ic.backoff, 0);
	uint64_t computed = rto_of(&ic, ca.rto_min, ca.rto_max);
	assert_true(ic.rto + 1 * MS >= computed && ic.rto <= computed + 1 * MS);
	assert_true(ic.rto < 1 * SEC);

	/* And that RTO is the one the next loss waits for. */
	n->blackhole[H_A] = true;
	first = n->nlog;
	send_pattern(a, 2000, 1000);
	for (int i = 0; i < 1000 && count_data(n, first, H_A, ic.snd_nxt) < 2; i++)
		h_run(n, 10 * MS);
	assert_int_equal(count_data(n, first, H_A, ic.snd_nxt), 2);
	assert_gap(data_seg(n, first, H_A, ic.snd_nxt, 0)->t,
		   data_seg(n, first, H_A, ic.snd_nxt, 1)->t, ic.rto);
	n->blackhole[H_A] = false;
	assert_true(h_run_cond(n, 10 * SEC, all_acked, a));
	expect_pattern(b, 2000, 1000);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* ---- 2. fast retransmit and fast recovery ---- */

/* RFC 5681 §3.2 and §4.2: one segment of a window of 20 is lost. B answers
 * every later segment at once with a duplicate ACK (carrying a SACK block for
 * it, RFC 2018 §4); A resends the lost segment when the third duplicate
 * arrives, long before the RTO, halves ssthresh (eq. 4) and recovers. A's
 * link is rate-limited so that the duplicate ACKs arrive one by one. */
static void fast_retransmit_third_dupack(void **state)
{
	(void)state;
	struct l_net *l = l_new(NULL, NULL);
	struct h_net *n = l->n;
	set_link(n, H_A, 1 * MS, 100000000);
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t mss = i0.snd_mss;
	/* RFC 7323 §3: the 12 option bytes of timestamps come out of the MSS. */
	assert_int_equal(i0.timestamps, 1);
	assert_int_equal(mss, 1500 - 20 - 20 - 12);
	assert_int_equal(i0.sack_ok, 1);
	assert_int_equal(i0.fast_retransmits, 0);

	uint32_t s0 = i0.snd_nxt, lost = s0 + 4 * mss;
	l_drop_seq(l, H_A, lost);
	int first = n->nlog, first_in = l->nin;
	uint64_t t0 = h_now(n);
	send_pattern(a, off, 20 * (size_t)mss);
	for (int k = 0; k < 20; k++) {
		const struct h_seg *g = data_seg(n, first, H_A, s0 + (uint32_t)k * mss, 0);
		assert_non_null(g); /* the whole window left at once */
		assert_int_equal(g->t, t0);
		assert_int_equal(g->len, mss);
	}

	assert_true(h_run_cond(n, 1 * SEC, fast_retransmitted, a));
	struct ustcp_sock_info ir = h_info(a);
	assert_int_equal(ir.in_recovery, 1);
	assert_int_equal(ir.rto_expirations, 0);
	/* RFC 5681 eq. 4: FlightSize is the 16 segments from the lost one on. */
	assert_int_equal(ir.ssthresh, 8 * mss);
	/* The log holds what A sent, the copy the link lost included. */
	const struct h_seg *rx = data_seg(n, first, H_A, lost, 1);
	assert_non_null(rx);
	assert_int_equal(rx->len, mss);
	assert_true(rx->t - t0 < i0.rto / 2);
	assert_true(h_run_cond(n, 1 * SEC, all_acked, a));

	/* Each later segment drew one immediate ACK of the lost one. */
	for (int k = 5; k < 20; k++) {
		uint32_t seq = s0 + (uint32_t)k * mss;
		const struct l_in *arr = data_in(l, first_in, H_B, seq);
		assert_non_null(arr);
		bool answered = false;
		for (int i = first; i < n->nlog && !answered; i++) {
			const struct h_seg *g = &n->log[i];
			if (g->from != H_B || g->t != arr->t || g->ack != lost || g->len != 0)
				continue;
			answered = true;
			/* RFC 2018 §4: the first block holds the segment that caused the ACK. */
			assert_true(g->opts.present & TCP_OPT_SACK);
			assert_true((int32_t)(seq - g->opts.sack[0].left) >= 0);
			assert_true((int32_t)(g->opts.sack[0].right - (seq + mss)) >= 0);
		}
		if (!answered)
			fail_msg("no immediate duplicate ACK for segment %d", k);
	}
	/* The first ACK of `lost` moved snd_una; the next three are duplicates,
	 * and the retransmission left when the third arrived, not later. */
	const struct l_in *d3 = ack_in(l, first_in, H_A, lost, 3);
	const struct l_in *d4 = ack_in(l, first_in, H_A, lost, 4);
	assert_non_null(d3);
	assert_non_null(d4);
	assert_int_equal(rx->t, d3->t);
	assert_true(d4->t > rx->t);

	expect_pattern(b, off, 20 * (size_t)mss);
	struct ustcp_sock_info ie = h_info(a);
	assert_int_equal(ie.in_recovery, 0);
	assert_int_equal(ie.fast_retransmits, 1);
	assert_int_equal(ie.retransmits, i0.retransmits + 1);
	assert_int_equal(ie.rto_expirations, 0);
	assert_int_equal(ie.ssthresh, 8 * mss);
	/* RFC 6582 §3.2 step 3: deflated to at most ssthresh. */
	assert_true(ie.cwnd >= 2 * mss && ie.cwnd <= ie.ssthresh);
	assert_int_equal(count_data(n, first, H_A, lost), 2);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* RFC 6582 §3.2 step 4: two segments of one window are lost (no SACK, so
 * NewReno's partial ACKs are all the sender learns). The retransmission of
 * the first draws an ACK up to the second hole, a partial ACK, and A resends
 * the second at once, without waiting for three more duplicates or the RTO. */
static void newreno_partial_ack(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.sack = cb.sack = 0;
	struct l_net *l = l_new(&ca, &cb);
	struct h_net *n = l->n;
	set_link(n, H_A, 1 * MS, 100000000);
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	assert_int_equal(i0.sack_ok, 0);
	uint32_t mss = i0.snd_mss, s0 = i0.snd_nxt;
	uint32_t lost1 = s0 + 4 * mss, lost2 = s0 + 9 * mss, end = s0 + 20 * mss;
	l_drop_seq(l, H_A, lost1);
	l_drop_seq(l, H_A, lost2);
	int first = n->nlog, first_in = l->nin;
	send_pattern(a, off, 20 * (size_t)mss);
	assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	expect_pattern(b, off, 20 * (size_t)mss);

	/* Index 0 is the copy the link lost. */
	const struct h_seg *r1 = data_seg(n, first, H_A, lost1, 1);
	const struct h_seg *r2 = data_seg(n, first, H_A, lost2, 1);
	assert_non_null(r1);
	assert_non_null(r2);
	/* The first hole: fast retransmit on the third duplicate ACK. */
	const struct l_in *d3 = ack_in(l, first_in, H_A, lost1, 3);
	assert_non_null(d3);
	assert_int_equal(r1->t, d3->t);
	/* B acknowledged the refilled hole at once, up to the second hole ... */
	const struct l_in *r1_in = data_in(l, first_in, H_B, lost1);
	assert_non_null(r1_in);
	const struct h_seg *partial = NULL;
	for (int i = first; i < n->nlog && !partial; i++)
		if (n->log[i].from == H_B && n->log[i].ack == lost2)
			partial = &n->log[i];
	assert_non_null(partial);
	assert_int_equal(partial->t, r1_in->t);
	/* ... and that partial ACK alone sent the second retransmission. */
	const struct l_in *p_in = ack_in(l, first_in, H_A, lost2, 0);
	assert_non_null(p_in);
	assert_int_equal(r2->t, p_in->t);
	assert_non_null(ack_in(l, first_in, H_A, end, 0));

	struct ustcp_sock_info ie = h_info(a);
	assert_int_equal(ie.rto_expirations, 0);
	assert_int_equal(ie.retransmits, i0.retransmits + 2);
	assert_true(ie.fast_retransmits >= 1);
	assert_int_equal(ie.in_recovery, 0);
	assert_int_equal(count_data(n, first, H_A, lost1), 2);
	assert_int_equal(count_data(n, first, H_A, lost2), 2);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* ---- 3. a timeout collapses the window ---- */

/* RFC 5681 §3.1: the last ten segments of a window of twenty are lost, so
 * no duplicate ACK comes. The RTO (restarted by the last ACK, RFC 6298
 * §5.3) resends one segment with cwnd = 1 MSS and ssthresh = FlightSize / 2
 * (eq. 4); then slow start grows the window with each returning ACK. */
static void rto_collapses_cwnd_and_slow_starts(void **state)
{
	(void)state;
	struct l_net *l = l_new(NULL, NULL);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t mss = i0.snd_mss, s0 = i0.snd_nxt, tail = s0 + 10 * mss;
	/* The tail loss probe (RFC 8985 §7), the last segment again, is lost too. */
	l_drop_range(l, H_A, tail, s0 + 20 * mss, 11);
	int first = n->nlog;
	send_pattern(a, off, 20 * (size_t)mss);
	assert_int_equal(h_info(a).snd_max, s0 + 20 * mss); /* one window, all sent */
	struct una_wait w = {a, tail};
	assert_true(h_run_cond(n, 1 * SEC, una_reached, &w));
	uint64_t rto = h_info(a).rto;
	/* The probe restarts the timer with the RTO then in force. */
	for (int i = 0; i < 1000 && count_data(n, first, H_A, s0 + 19 * mss) < 2; i++)
		h_run(n, 1 * MS);
	assert_int_equal(count_data(n, first, H_A, s0 + 19 * mss), 2);
	uint64_t t_half = data_seg(n, first, H_A, s0 + 19 * mss, 1)->t;

	assert_true(h_run_cond(n, 5 * SEC, rto_expired, a));
	struct ustcp_sock_info ir = h_info(a);
	uint64_t t_rto = h_now(n);
	assert_int_equal(ir.cwnd, mss);
	assert_int_equal(ir.ssthresh, 5 * mss); /* FlightSize: the 10 lost segments */
	assert_int_equal(ir.fast_retransmits, 0);
	assert_int_equal(ir.snd_una, tail);
	assert_gap(t_half, t_rto, rto);
	/* Exactly one segment left at the timeout: the first lost one. */
	int at_rto = 0;
	for (int i = first; i < n->nlog; i++)
		if (n->log[i].from == H_A && n->log[i].len > 0 && n->log[i].t == t_rto) {
			at_rto++;
			assert_int_equal(n->log[i].seq, tail);
		}
	assert_int_equal(at_rto, 1);

	assert_true(h_run_cond(n, 5 * SEC, all_acked, a));
	expect_pattern(b, off, 20 * (size_t)mss);
	/* Slow start: the bursts after the timeout grow 1, 2, then more. */
	int bursts[8] = {0}, nb = 0;
	uint64_t bt = 0;
	for (int i = first; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		if (g->from != H_A || g->len == 0 || g->t < t_rto)
			continue;
		if (nb == 0 || g->t != bt) {
			assert_true(nb < 8);
			bt = g->t;
			nb++;
		}
		bursts[nb - 1]++;
	}
	assert_true(nb >= 3);
	assert_int_equal(bursts[0], 1);
	assert_int_equal(bursts[1], 2);
	assert_true(bursts[2] >= 3);
	struct ustcp_sock_info ie = h_info(a);
	assert_int_equal(ie.rto_expirations, 1);
	assert_true(ie.cwnd > 2 * mss);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* ---- 4. keepalive ---- */

static void set_keepalive(struct ustcp_sock *k)
{
	assert_int_equal(ustcp_setsockopt(k, USTCP_SO_KEEPALIVE, 1), 0);
	assert_int_equal(ustcp_setsockopt(k, USTCP_TCP_KEEPIDLE, 10 * SEC), 0);
	assert_int_equal(ustcp_setsockopt(k, USTCP_TCP_KEEPINTVL, 2 * SEC), 0);
	assert_int_equal(ustcp_setsockopt(k, USTCP_TCP_KEEPCNT, 3), 0);
}

/* The arrival time of the last frame `to` received. */
static uint64_t last_arrival(const struct l_net *l, int to)
{
	for (int i = l->nin - 1; i >= 0; i--)
		if (l->in[i].to == to)
			return l->in[i].t;
	fail_msg("nothing arrived");
	return 0;
}

/* A keepalive: no data, SEG.SEQ = SND.NXT - 1, so the peer must answer. */
static void assert_keepalive(const struct h_seg *g, uint32_t snd_nxt)
{
	assert_int_equal(g->flags, TCP_ACK);
	assert_int_equal(g->len, 0);
	assert_int_equal(g->seq, snd_nxt - 1);
}

/* RFC 1122 §4.2.3.6: after 10 s without a segment from B, A probes; B has
 * vanished, so the probes go unanswered, 2 s apart, and after the third
 * the connection is given up with ETIMEDOUT. */
static void keepalive_detects_vanished_peer(void **state)
{
	(void)state;
	struct l_net *l = l_new(NULL, NULL);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	set_keepalive(a);
	h_exchange(n, a, b);
	h_run(n, 100 * MS); /* the delayed ACKs of the exchange */
	uint64_t t_last = last_arrival(l, H_A);
	n->blackhole[H_B] = true;
	struct ustcp_sock_info i0 = h_info(a);
	int first = n->nlog;

	assert_true(h_run_cond(n, 60 * SEC, sock_closed, a));
	uint64_t t_end = h_now(n);
	assert_int_equal(ustcp_sock_error(a), -ETIMEDOUT);
	const struct h_seg *k[3];
	for (int i = 0; i < 3; i++) {
		k[i] = seg_after(n, first, H_A, i);
		assert_non_null(k[i]);
		assert_keepalive(k[i], i0.snd_nxt);
	}
	assert_gap(t_last, k[0]->t, 10 * SEC);
	assert_gap(k[0]->t, k[1]->t, 2 * SEC);
	assert_gap(k[1]->t, k[2]->t, 2 * SEC);
	assert_gap(k[2]->t, t_end, 2 * SEC);
	/* Nothing else but, perhaps, a RST as it gives up. */
	for (int i = (int)(k[2] - n->log) + 1; i < n->nlog; i++) {
		if (n->log[i].from != H_A)
			continue;
		assert_true(n->log[i].flags & TCP_RST);
		assert_int_equal(n->log[i].t, t_end);
	}
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_keepalive_probes), 3);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_keepalive_drops), 1);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_timeouts), 1);
	char c;
	assert_int_equal(ustcp_recv(a, &c, 1), -ETIMEDOUT);
	assert_int_equal(ustcp_send(a, "x", 1), -ETIMEDOUT);

	n->blackhole[H_B] = false;
	ustcp_close(a);
	h_run(n, 10 * MS);
	if (ustcp_sock_state(b) == USTCP_CLOSED)
		ustcp_close(b);
	else
		ustcp_abort(b);
	l_finish(l, lb);
}

/* The same keepalive to a live peer: each probe is acknowledged at once
 * (RFC 9293 §3.10.7.4: an unacceptable segment gets an ACK), and the next
 * probe waits a full idle time from that answer. Nothing is given up. */
static void keepalive_answered_keeps_connection(void **state)
{
	(void)state;
	struct l_net *l = l_new(NULL, NULL);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	set_keepalive(a);
	h_exchange(n, a, b);
	h_run(n, 100 * MS);
	uint64_t t_last = last_arrival(l, H_A);
	struct ustcp_sock_info ia = h_info(a), ib = h_info(b);
	int first = n->nlog;

	h_run(n, 45 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_state(b), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_error(a), 0);
	int probes = 0;
	uint64_t prev = t_last;
	for (int i = first; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		if (g->from != H_A)
			continue;
		assert_keepalive(g, ia.snd_nxt);
		assert_gap(prev, g->t, 10 * SEC);
		/* B's answer: an ACK sent the moment the probe arrived. */
		const struct h_seg *ans = i + 1 < n->nlog ? &n->log[i + 1] : NULL;
		assert_non_null(ans);
		assert_int_equal(ans->from, H_B);
		assert_int_equal(ans->flags, TCP_ACK);
		assert_int_equal(ans->t, g->t + 1 * MS);
		assert_int_equal(ans->seq, ib.snd_nxt);
		assert_int_equal(ans->ack, ia.snd_nxt);
		prev = ans->t + 1 * MS;
		probes++;
	}
	assert_int_equal(probes, 4);
	assert_int_equal(h_info(a).keepalive_probes, 0);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_keepalive_probes), 4);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_keepalive_drops), 0);
	h_exchange(n, a, b);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* ---- 5. giving up ---- */

/* RFC 5482 / RFC 9293 §3.8.3: with a user timeout of 5 s, data left
 * unacknowledged that long ends the connection with ETIMEDOUT, at the
 * first expiry of the retransmission timer from 5 s on (or at 5 s exactly),
 * long before R2's fifteen retransmissions. */
static void user_timeout_gives_up(void **state)
{
	(void)state;
	struct l_net *l = l_new(NULL, NULL);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_USER_TIMEOUT, 5 * SEC), 0);
	uint64_t v = 0;
	assert_int_equal(ustcp_getsockopt(a, USTCP_TCP_USER_TIMEOUT, &v), 0);
	assert_int_equal(v, 5 * SEC);
	h_exchange(n, a, b);
	h_run(n, 100 * MS);
	struct ustcp_sock_info i0 = h_info(a);
	n->blackhole[H_B] = true;
	int first = n->nlog;
	uint64_t t0 = h_now(n);
	send_pattern(a, 0, 1000);
	assert_true(h_run_cond(n, 120 * SEC, sock_closed, a));
	uint64_t t_end = h_now(n);
	assert_int_equal(ustcp_sock_error(a), -ETIMEDOUT);

	int sent = count_data(n, first, H_A, i0.snd_nxt);
	int rexmits = sent - 1;
	assert_true(rexmits >= 1 && rexmits < 15);
	assert_int_equal(data_seg(n, first, H_A, i0.snd_nxt, 0)->t, t0);
	const struct h_seg *last = data_seg(n, first, H_A, i0.snd_nxt, rexmits);
	assert_true(last->t <= t0 + 5 * SEC);
	/* The RTO in force after the last retransmission: rto << rexmits. */
	uint64_t rto_in_force = min_u64(i0.rto << rexmits, ustcp_stack_config(n->st[H_A])->rto_max);
	assert_true(t_end >= t0 + 5 * SEC);
	assert_true(t_end <= t0 + 5 * SEC + rto_in_force + 1 * MS);
	assert_true(t_end <= last->t + rto_in_force + 1 * MS);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_timeouts), 1);

	n->blackhole[H_B] = false;
	ustcp_close(a);
	h_run(n, 10 * MS);
	if (ustcp_sock_state(b) == USTCP_CLOSED)
		ustcp_close(b);
	else
		ustcp_abort(b);
	l_finish(l, lb);
}

/* RFC 1122 §4.2.3.5 R2: without a user timeout, the connection is given up
 * when the timer expires after data_retries retransmissions. */
static void r2_gives_up(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 4;
	/* No SACK, so no tail loss probe (RFC 8985 §7) goes in the timeout's
	 * place: this test watches the retransmission timer itself. */
	ca.sack = 0;
	struct l_net *l = l_new(&ca, NULL);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	h_exchange(n, a, b);
	h_run(n, 100 * MS);
	struct ustcp_sock_info i0 = h_info(a);
	n->blackhole[H_B] = true;
	int first = n->nlog;
	send_pattern(a, 0, 1000);
	assert_true(h_run_cond(n, 120 * SEC, sock_closed, a));
	assert_int_equal(ustcp_sock_error(a), -ETIMEDOUT);
	assert_int_equal(count_data(n, first, H_A, i0.snd_nxt), 1 + 4);
	uint64_t rto = i0.rto;
	for (int i = 1; i <= 4; i++) {
		assert_gap(data_seg(n, first, H_A, i0.snd_nxt, i - 1)->t,
			   data_seg(n, first, H_A, i0.snd_nxt, i)->t, rto);
		rto *= 2;
	}
	assert_gap(data_seg(n, first, H_A, i0.snd_nxt, 4)->t, h_now(n), rto);
	assert_int_equal(h_info(a).retransmits, i0.retransmits + 4);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_timeouts), 1);

	n->blackhole[H_B] = false;
	ustcp_close(a);
	h_run(n, 10 * MS);
	if (ustcp_sock_state(b) == USTCP_CLOSED)
		ustcp_close(b);
	else
		ustcp_abort(b);
	l_finish(l, lb);
}

/* ---- 6. past 4 GiB, and PAWS ---- */

/* Like h_inject, from A to B, with a timestamp option and any payload. */
static void inject_ts(struct h_net *n, uint16_t sport, uint32_t seq, uint32_t ack, uint16_t win,
		      const uint8_t *data, size_t dlen, uint32_t ts_val, uint32_t ts_ecr)
{
	struct tcp_hdr th = {.sport = sport,
			     .dport = PORT_B,
			     .seq = seq,
			     .ack = ack,
			     .flags = TCP_ACK | TCP_PSH,
			     .win = win};
	th.opts.present = TCP_OPT_TIMESTAMP;
	th.opts.ts_val = ts_val;
	th.opts.ts_ecr = ts_ecr;
	h_inject_seg(n, H_B, &th, data, dlen);
}

/* A bulk transfer in progress: what was queued and read so far. */
struct pump {
	uint8_t *stage, *rbuf;
	size_t stage_cap, rbuf_cap;
	uint64_t stage_off, stage_len; /* stream range held in stage */
	uint64_t sent, rcvd;
	int wraps; /* times A's snd_una passed its ISN again */
	uint32_t last_una_off;
	uint32_t last_cwnd;
	bool lossy; /* segments are dropped: cwnd may shrink */
};

/* Queue stream bytes up to `total` on a and read and check them on b, a
 * millisecond of virtual time per round, until b has them all. */
static void pump(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b, struct pump *p,
		 uint64_t total)
{
	uint64_t deadline = h_now(n) + 60 * SEC;
	while (p->rcvd < total) {
		if (h_now(n) > deadline)
			fail_msg("transfer stalled at %llu of %llu bytes",
				 (unsigned long long)p->rcvd, (unsigned long long)total);
		while (p->sent < total) {
			if (p->sent == p->stage_off + p->stage_len) {
				p->stage_off = p->sent;
				p->stage_len = min_u64(p->stage_cap, total - p->sent);
				pat_fill(p->stage, p->stage_off, (size_t)p->stage_len);
			}
			uint64_t at = p->sent - p->stage_off;
			long r = ustcp_send(a, p->stage + at, (size_t)(p->stage_len - at));
			if (r == -EAGAIN)
				break;
			assert_true(r > 0);
			p->sent += (uint64_t)r;
		}
		h_run(n, 1 * MS);
		for (;;) {
			long r = ustcp_recv(b, p->rbuf, p->rbuf_cap);
			if (r == -EAGAIN)
				break;
			assert_true(r > 0);
			if (!pat_check(p->rbuf, p->rcvd, (size_t)r))
				fail_msg("bad bytes in [%llu, %llu)", (unsigned long long)p->rcvd,
					 (unsigned long long)(p->rcvd + (uint64_t)r));
			p->rcvd += (uint64_t)r;
		}
		struct ustcp_sock_info i = h_info(a);
		/* RFC 5681 §3.1: without loss (nor idle, §4.1) cwnd never shrinks. */
		if (i.cwnd < p->last_cwnd && !p->lossy)
			fail_msg("cwnd fell from %u to %u after %llu bytes acknowledged",
				 p->last_cwnd, i.cwnd, (unsigned long long)i.bytes_acked);
		p->last_cwnd = i.cwnd;
		uint32_t una_off = i.snd_una - i.iss;
		if (una_off < p->last_una_off)
			p->wraps++;
		p->last_una_off = una_off;
	}
	assert_int_equal(p->rcvd, total);
}

/* More than 4 GiB from A to B: A's sequence numbers wrap and every byte
 * still arrives in order. Then an old duplicate: a segment A really sent
 * early in the transfer, whose sequence number is again exactly B's
 * RCV.NXT after the wrap, so only its old timestamp tells it apart. PAWS
 * (RFC 7323 §5.3 R1) drops it and B answers with an ACK; the stream goes on
 * with A's real bytes, to 6 GiB in all (about 3 s of virtual time), with
 * cwnd never shrinking on the way, as nothing is lost. */
static void sequence_wrap_4gib_paws(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.mtu = cb.mtu = 9000;
	ca.sndbuf = cb.sndbuf = ca.rcvbuf = cb.rcvbuf = 4u << 20;
	struct l_net *l = l_new(&ca, &cb);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	struct ustcp_sock_info ia = h_info(a);
	assert_int_equal(ia.timestamps, 1);
	assert_true(ia.snd_wscale > 0); /* B's 4 MiB window needs scaling (RFC 7323 §2) */
	assert_int_equal(ia.snd_mss, 9000 - 20 - 20 - 12);

	struct pump p = {.stage_cap = 1u << 20, .rbuf_cap = 1u << 20};
	p.stage = malloc(p.stage_cap);
	p.rbuf = malloc(p.rbuf_cap);
	assert_non_null(p.stage);
	assert_non_null(p.rbuf);

	/* The first stretch, to pick the segment to replay later: A's 100th
	 * data segment, well past slow start. */
	pump(n, a, b, &p, 8u << 20);
	const struct h_seg *old = NULL;
	for (int i = 0, k = 0; i < n->nlog && !old; i++)
		if (n->log[i].from == H_A && n->log[i].len > 0 && k++ == 100)
			old = &n->log[i];
	assert_non_null(old);
	assert_true(old->opts.present & TCP_OPT_TIMESTAMP);
	uint32_t old_seq = old->seq, old_ts = old->opts.ts_val, old_ecr = old->opts.ts_ecr;
	uint32_t old_len = old->len;
	uint16_t old_win = old->win;
	uint64_t old_off = (uint32_t)(old_seq - (ia.iss + 1));
	assert_true(old_off + old_len <= p.rcvd);

	/* Up to the same sequence number one wrap later. */
	uint64_t total = (1ull << 32) + old_off;
	pump(n, a, b, &p, total);
	assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	struct ustcp_sock_info ia2 = h_info(a), ib2 = h_info(b);
	assert_int_equal(p.wraps, 1);
	assert_int_equal(ia2.snd_una, old_seq);
	assert_int_equal(ib2.rcv_nxt, old_seq);
	assert_int_equal(ia2.bytes_acked, total);
	assert_int_equal(ib2.bytes_received, total);

	/* The replay: the old segment's sequence number, length, bytes and TSval. */
	uint8_t *dup = malloc(old_len);
	assert_non_null(dup);
	pat_fill(dup, old_off, old_len);
	assert_false(pat_check(dup, total, old_len)); /* not the bytes B expects now */
	uint64_t paws0 = ustcp_drops(n->st[H_B], USTCP_DROP_tcp_paws);
	n->nlog = 0;
	l->nin = 0;
	inject_ts(n, ia.local.port, old_seq, ib2.snd_nxt, old_win, dup, old_len, old_ts, old_ecr);
	free(dup);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_paws), paws0 + 1);
	assert_int_equal(ustcp_sock_readable(b), 0);
	assert_int_equal(h_info(b).rcv_nxt, old_seq);
	assert_int_equal(l->nin, 1);
	assert_int_equal(l->in[0].drop, USTCP_DROP_tcp_paws);
	/* RFC 7323 §5.3 R1: an unacceptable segment, acknowledged. */
	assert_int_equal(n->nlog, 1);
	const struct h_seg *ack = &n->log[0];
	assert_int_equal(ack->from, H_B);
	assert_int_equal(ack->flags, TCP_ACK);
	assert_int_equal(ack->len, 0);
	assert_int_equal(ack->ack, old_seq);
	assert_true(ack->opts.present & TCP_OPT_TIMESTAMP);
	assert_true((int32_t)(ack->opts.ts_ecr - old_ts) > 0); /* TS.Recent is A's newer clock */

	/* A's real bytes at those sequence numbers come through, and the
	 * transfer goes on to 6 GiB: more bytes than a 32-bit cwnd could count
	 * if slow start added every acknowledged byte to it. */
	pump(n, a, b, &p, 6ull << 30);
	assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	free(p.stage);
	free(p.rbuf);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* One segment lost 3 GiB into a transfer, where A's sequence numbers are
 * more than 2^31 past its ISN: the loss is found by duplicate ACKs (RACK
 * with SACK, the third duplicate without) and repaired by one fast
 * retransmit, as it would be at the start, not left to a timeout. */
static void loss_past_2gib(bool sack)
{
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.mtu = cb.mtu = 9000;
	ca.sndbuf = cb.sndbuf = ca.rcvbuf = cb.rcvbuf = 4u << 20;
	ca.sack = cb.sack = sack;
	struct l_net *l = l_new(&ca, &cb);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	struct pump p = {.stage_cap = 1u << 20, .rbuf_cap = 1u << 20, .lossy = true};
	p.stage = malloc(p.stage_cap);
	p.rbuf = malloc(p.rbuf_cap);
	assert_non_null(p.stage);
	assert_non_null(p.rbuf);
	/* One urgent byte first, read at once: after 3 GiB no urgent data
	 * may seem pending (its mark, compared mod 2^32, must be gone). */
	p.stage_len = p.stage_cap;
	pat_fill(p.stage, 0, p.stage_len);
	assert_int_equal(ustcp_send_urgent(a, p.stage, 1), 1);
	p.sent = 1;
	uint32_t data0 = h_info(a).iss + 1;
	const uint64_t at = 3ull << 30;
	pump(n, a, b, &p, at);
	assert_int_equal(ustcp_sock_urgent(b), -1);
	struct ustcp_sock_info i0 = h_info(a);
	assert_true((int32_t)(i0.snd_una - i0.iss) < 0); /* more than 2^31 past the ISN */
	assert_int_equal(i0.rto_expirations, 0);
	l->rules[l->nrules++] = (struct l_rule){H_A, data0 + (uint32_t)at + (1u << 20),
						data0 + (uint32_t)at + (2u << 20), 1};
	pump(n, a, b, &p, at + (64u << 20));
	assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	assert_int_equal(l->rules[0].left, 0);
	struct ustcp_sock_info i1 = h_info(a);
	assert_int_equal(i1.fast_retransmits, i0.fast_retransmits + 1);
	assert_int_equal(i1.rto_expirations, 0);
	free(p.stage);
	free(p.rbuf);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

static void loss_past_2gib_sack(void **state)
{
	(void)state;
	loss_past_2gib(true);
}

static void loss_past_2gib_newreno(void **state)
{
	(void)state;
	loss_past_2gib(false);
}

/* RFC 6582 §3.2 step 4: each duplicate ACK during NewReno recovery
 * inflates cwnd by a segment, as a segment left the network. No more can
 * leave than were outstanding from before recovery: a receiver (or a
 * forger) sending hundreds of duplicate ACKs cannot open cwnd further. */
static void newreno_inflation_capped(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.sack = cb.sack = 0;
	struct l_net *l = l_new(&ca, &cb);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	uint64_t off = warm_up(n, a, b, 24);
	struct ustcp_sock_info i0 = h_info(a);
	uint32_t mss = i0.snd_mss;
	l_drop_seq(l, H_A, i0.snd_nxt);
	send_pattern(a, off, 20 * (size_t)mss);
	assert_true(h_run_cond(n, 1 * SEC, fast_retransmitted, a));
	n->blackhole[H_B] = true; /* recovery stays open */
	struct ustcp_sock_info ir = h_info(a), ib = h_info(b);
	assert_int_equal(ir.in_recovery, 1);
	uint32_t flight = ir.snd_max - ir.snd_una;
	for (int i = 0; i < 300; i++)
		h_inject(n, H_A, PORT_B, ir.local.port, ib.snd_nxt, ir.snd_una, TCP_ACK,
			 (uint16_t)(ir.snd_wnd >> ir.snd_wscale), NULL);
	struct ustcp_sock_info i1 = h_info(a);
	assert_int_equal(i1.in_recovery, 1);
	assert_true(i1.dup_acks >= ir.dup_acks + 300);
	assert_true(i1.cwnd <= i1.ssthresh + flight + mss);
	n->blackhole[H_B] = false;
	assert_true(h_run_cond(n, 5 * SEC, all_acked, a));
	expect_pattern(b, off, 20 * (size_t)mss);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* Karn (RFC 6298 §5.7): after a timeout the backed-off RTO stays until an
 * RTT sample from data sent once. The peer's window closing and opening
 * again in between is no such sample: the backoff survives it (the
 * probing of the closed window backs off on its own count). */
static void window_opening_keeps_rto_backoff(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.timestamps = cb.timestamps = 0; /* no sample from an echoed timestamp */
	ca.sack = cb.sack = 0;             /* no tail loss probe: the RTO itself */
	cb.rcvbuf = 4096;
	struct l_net *l = l_new(&ca, &cb);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	/* B takes 4 KiB and then has no room; its ACKs are lost for two RTOs.
	 * (No Nagle: all 4 KiB leave at once, so nothing is sent for the first
	 * time, and timed, after the losses.) */
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_NODELAY, 1), 0);
	n->blackhole[H_B] = true;
	send_pattern(a, 0, 4096);
	for (int i = 0; i < 100 && h_info(a).rto_expirations < 2; i++)
		h_run(n, 100 * MS);
	assert_int_equal(h_info(a).rto_expirations, 2);
	n->blackhole[H_B] = false;
	/* The next retransmission is acknowledged with a closed window: no
	 * sample (Karn), so the backoff stays. */
	for (int i = 0; i < 100 && h_info(a).snd_wnd != 0; i++)
		h_run(n, 100 * MS);
	struct ustcp_sock_info iz = h_info(a);
	assert_int_equal(iz.snd_wnd, 0);
	assert_true(iz.rto_expirations >= 2);
	/* B reads: its window opens. */
	expect_pattern(b, 0, 4096);
	h_run(n, 10 * MS);
	struct ustcp_sock_info io = h_info(a);
	assert_true(io.snd_wnd > 0);
	assert_int_equal(io.backoff, iz.rto_expirations);
	/* New data acknowledged: a clean sample ends the backoff. */
	send_pattern(a, 4096, 100);
	assert_true(h_run_cond(n, 5 * SEC, all_acked, a));
	assert_int_equal(h_info(a).backoff, 0);
	expect_pattern(b, 4096, 100);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* ---- 7. the RTO floor ---- */

/* RFC 6298 §2.4 puts the floor at 1 s; the stack's default is 200 ms and
 * USTCP_TCP_RTO_MIN moves it per socket. With a 2 ms round trip the RTO is
 * the floor, and a lost segment is resent after exactly that long. */
static void rto_min_option(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	/* No SACK, so no tail loss probe (RFC 8985 §7) goes in the timeout's
	 * place: this test watches the retransmission timer itself. */
	ca.sack = 0;
	struct l_net *l = l_new(&ca, NULL);
	struct h_net *n = l->n;
	struct ustcp_sock *a, *b, *lb;
	h_establish(n, &a, &b, &lb);
	assert_int_equal(ustcp_setsockopt(b, USTCP_TCP_QUICKACK, 1), 0);
	uint64_t v = 0;
	assert_int_equal(ustcp_getsockopt(a, USTCP_TCP_RTO_MIN, &v), 0);
	assert_int_equal(v, 200 * MS);
	uint64_t off = 0;
	for (int i = 0; i < 8; i++) {
		send_pattern(a, off, 100);
		off += 100;
		assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	}
	struct ustcp_sock_info i0 = h_info(a);
	assert_true(i0.srtt >= 2 * MS && i0.srtt < 3 * MS);
	assert_int_equal(i0.rto, 200 * MS);

	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_RTO_MIN, 0), -EINVAL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_RTO_MIN, 61 * SEC), -EINVAL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_RTO_MIN, 50 * MS), 0);
	assert_int_equal(ustcp_getsockopt(a, USTCP_TCP_RTO_MIN, &v), 0);
	assert_int_equal(v, 50 * MS);
	for (int i = 0; i < 8; i++) {
		send_pattern(a, off, 100);
		off += 100;
		assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	}
	struct ustcp_sock_info i1 = h_info(a);
	assert_int_equal(i1.rto, 50 * MS);

	l_drop_seq(l, H_A, i1.snd_nxt);
	int first = n->nlog;
	send_pattern(a, off, 100);
	off += 100;
	assert_true(h_run_cond(n, 1 * SEC, all_acked, a));
	assert_int_equal(count_data(n, first, H_A, i1.snd_nxt), 2);
	assert_gap(data_seg(n, first, H_A, i1.snd_nxt, 0)->t,
		   data_seg(n, first, H_A, i1.snd_nxt, 1)->t, 50 * MS);
	expect_pattern(b, 0, off);
	ustcp_close(a);
	ustcp_close(b);
	l_finish(l, lb);
}

/* RFC 2883 / RFC 3708: on a link that reorders, a segment arriving late
 * looks lost after three duplicate ACKs and is resent; the receiver reports
 * the duplicate in a D-SACK block, the sender undoes the window cut and
 * waits for more duplicates next time. Every byte still arrives once. */
static void dsack_undoes_spurious_fast_retransmit(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_impair imp = {.delay = 5 * MS, .reorder = 0.05, .reorder_delay = 3 * MS};
	ustcp_sim_set_impair(n->sim, n->port[H_A], &imp);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	static char buf[1 << 16];
	uint64_t sent = 0, got = 0;
	for (int i = 0; i < 4000 && got < (8u << 20); i++) {
		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = (char)((sent + j) * 7);
		if (sent < (8u << 20)) {
			size_t left = (size_t)((8u << 20) - sent);
			size_t want = left < sizeof(buf) ? left : sizeof(buf);
			long r = ustcp_send(a, buf, want);
			if (r > 0)
				sent += (uint64_t)r;
		}
		h_run(n, 1 * MS);
		long r;
		while ((r = ustcp_recv(b, buf, sizeof(buf))) > 0) {
			for (long j = 0; j < r; j++)
				assert_int_equal((uint8_t)buf[j],
						 (uint8_t)((got + (uint64_t)j) * 7));
			got += (uint64_t)r;
		}
	}
	assert_int_equal(got, 8u << 20);
	assert_true(ustcp_counter(n->st[H_A], USTCP_C_tcp_spurious_retransmits) > 0);
	/* Undone cuts: fewer fast retransmits than reorderings caused. */
	struct ustcp_sock_info ia = h_info(a);
	assert_true(ia.fast_retransmits >=
		    ustcp_counter(n->st[H_A], USTCP_C_tcp_spurious_retransmits));
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(dsack_undoes_spurious_fast_retransmit),
	cmocka_unit_test(karn_no_sample_from_retransmission),
	cmocka_unit_test(karn_keeps_backoff_until_valid_sample),
	cmocka_unit_test(rto_doubles_and_resets),
	cmocka_unit_test(fast_retransmit_third_dupack),
	cmocka_unit_test(newreno_partial_ack),
	cmocka_unit_test(rto_collapses_cwnd_and_slow_starts),
	cmocka_unit_test(keepalive_detects_vanished_peer),
	cmocka_unit_test(keepalive_answered_keeps_connection),
	cmocka_unit_test(user_timeout_gives_up),
	cmocka_unit_test(r2_gives_up),
	cmocka_unit_test(sequence_wrap_4gib_paws),
	cmocka_unit_test(loss_past_2gib_sack),
	cmocka_unit_test(loss_past_2gib_newreno),
	cmocka_unit_test(newreno_inflation_capped),
	cmocka_unit_test(window_opening_keeps_rto_backoff),
	cmocka_unit_test(rto_min_option),
};

USTCP_TEST_MAIN(tests)
