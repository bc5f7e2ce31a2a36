/* test_flow.c — flow control between two stacks in virtual time: the
 * persist timer against a lost window update (RFC 9293 §3.8.6.1), silly
 * window avoidance at both ends (RFC 1122 §4.2.3.3/4), Nagle (RFC 896)
 * against delayed ACKs (RFC 1122 §4.2.3.2, RFC 5681 §4.2), out-of-order data
 * ACKed at once with SACK blocks (RFC 2018), window scaling and timestamps
 * (RFC 7323), urgent data (RFC 6093) and the socket options behind them. */
#include "harness.h"

#include <stdio.h>

#define KIB 1024u
#define MIB (1024u * 1024u)
#define US (MS / 1000)

/* ---- the log ---- */

static void dump_seg(const struct h_seg *g)
{
	char fl[8], *p = fl;
	static const struct {
		uint8_t bit;
		char c;
	} names[] = {{TCP_SYN, 'S'}, {TCP_FIN, 'F'}, {TCP_RST, 'R'},
		     {TCP_PSH, 'P'}, {TCP_URG, 'U'}, {TCP_ACK, '.'}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (g->flags & names[i].bit)
			*p++ = names[i].c;
	*p = 0;
	fprintf(stderr, "%c %11.6f [%-3s] seq %u ack %u len %u win %u", g->from == H_A ? 'A' : 'B',
		(double)g->t / SEC, fl, g->seq, g->ack, g->len, g->win);
	if (g->flags & TCP_URG)
		fprintf(stderr, " urp %u", g->urp);
	if (g->opts.present & TCP_OPT_WSCALE)
		fprintf(stderr, " wscale %u", g->opts.wscale);
	if (g->opts.present & TCP_OPT_TIMESTAMP)
		fprintf(stderr, " ts %u/%u", g->opts.ts_val, g->opts.ts_ecr);
	for (int i = 0; (g->opts.present & TCP_OPT_SACK) && i < g->opts.nsack; i++)
		fprintf(stderr, " sack %u-%u", g->opts.sack[i].left, g->opts.sack[i].right);
	fprintf(stderr, "\n");
}

/* On a failed check: the last segments, or all of them with USTCP_TEST_LOG set. */
static void dump_log(const struct h_net *n)
{
	int from = getenv("USTCP_TEST_LOG") || n->nlog < 80 ? 0 : n->nlog - 80;
	fprintf(stderr, "segments %d..%d of %d:\n", from, n->nlog - 1, n->nlog);
	for (int i = from; i < n->nlog; i++)
		dump_seg(&n->log[i]);
}

#define CHECK(n, cond)                                                \
	do {                                                          \
		if (!(cond)) {                                        \
			fprintf(stderr, "check failed: %s\n", #cond); \
			dump_log(n);                                  \
		}                                                     \
		assert_true(cond);                                    \
	} while (0)

/* A data segment: payload and no SYN. */
static bool is_data(const struct h_seg *g, int from)
{
	return g->from == from && g->len > 0 && !(g->flags & TCP_SYN);
}

/* A pure ACK: no payload, only the ACK flag. */
static bool is_pure_ack(const struct h_seg *g, int from)
{
	return g->from == from && g->len == 0 && g->flags == TCP_ACK;
}

/* Index of the first segment at or after i that satisfies pred for `from`, or -1. */
static int next_seg(const struct h_net *n, int i, int from, bool (*pred)(const struct h_seg *, int))
{
	for (; i < n->nlog; i++)
		if (pred(&n->log[i], from))
			return i;
	return -1;
}

static bool any_seg(const struct h_seg *g, int from) { return g->from == from; }

/* The window a non-SYN segment offers: RFC 7323 §2.3 scales it by the
 * sender's shift; the window of a SYN is never scaled (§2.2). */
static uint64_t real_win(const struct h_seg *g, uint8_t shift)
{
	return (g->flags & TCP_SYN) ? g->win : (uint64_t)g->win << shift;
}

/* ---- the net ---- */

/* h_establish for any delay: wait up to `timeout` for B to accept. */
static void establish_within(struct h_net *n, uint64_t timeout, struct ustcp_sock **a,
			     struct ustcp_sock **b, struct ustcp_sock *l)
{
	*a = h_connect_start(n);
	*b = NULL;
	uint64_t end = h_now(n) + timeout;
	for (int i = 0; i < 100000 && !*b && h_now(n) < end; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(l, b);
	}
	assert_non_null(*b);
	assert_int_equal(ustcp_sock_state(*a), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_state(*b), USTCP_ESTABLISHED);
}

/* ---- a byte stream that can be checked: byte i of it is pat(i) ---- */

static uint8_t pat(uint64_t i) { return (uint8_t)((i * 2654435761u) >> 13 ^ i); }

/* Queue what the send buffer takes of the stream [*sent, total). */
static void send_stream(struct ustcp_sock *k, uint64_t *sent, uint64_t total)
{
	uint8_t buf[16384];
	while (*sent < total) {
		size_t len = total - *sent < sizeof(buf) ? (size_t)(total - *sent) : sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = pat(*sent + i);
		long r = ustcp_send(k, buf, len);
		if (r == -EAGAIN)
			return;
		assert_true(r > 0);
		*sent += (uint64_t)r;
		if ((size_t)r < len)
			return;
	}
}

/* Read up to max bytes and check each is the next byte of the stream. */
static void recv_stream(struct ustcp_sock *k, uint64_t *got, size_t max)
{
	uint8_t buf[65536];
	while (max > 0) {
		long r = ustcp_recv(k, buf, max < sizeof(buf) ? max : sizeof(buf));
		if (r == -EAGAIN)
			return;
		assert_true(r > 0);
		for (long i = 0; i < r; i++)
			if (buf[i] != pat(*got + (uint64_t)i))
				fail_msg("stream byte %llu differs",
					 (unsigned long long)(*got + (uint64_t)i));
		*got += (uint64_t)r;
		max -= (size_t)r;
	}
}

/* Let B read until it has `total` bytes, checking them; bounded in virtual time. */
static void recv_all(struct h_net *n, struct ustcp_sock *b, uint64_t *got, uint64_t total,
		     uint64_t step, uint64_t timeout)
{
	uint64_t end = h_now(n) + timeout;
	for (int i = 0; i < 1000000 && *got < total && h_now(n) < end; i++) {
		recv_stream(b, got, SIZE_MAX);
		if (*got < total)
			h_run(n, step);
	}
	assert_int_equal(*got, total);
}

/* ---- a filter that drops a chosen data segment ---- */

struct data_drop {
	struct h_net *n;
	int from;
	int nth; /* the nth (0-based) segment with payload that `from` sends */
	int seen;
};

static bool data_drop_filter(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct data_drop *d = ctx;
	if (h_filter(d->n, port, frame, len))
		return true;
	struct tcp_hdr th;
	uint32_t plen;
	if (port != d->n->port[d->from] || !h_parse(frame, len, &th, &plen) || plen == 0)
		return false;
	return d->seen++ == d->nth;
}

/* ---- 1. zero window, lost window update, persist timer ---- */

static bool a_sees_zero_window(void *k)
{
	struct ustcp_sock_info i = h_info(k);
	return i.bytes_acked > 0 && i.snd_wnd == 0 && i.snd_una == i.snd_max;
}

/* A zero-window probe: one byte at the closed window's edge, or (as Linux
 * sends it) no byte and the sequence number just before it. */
static bool is_probe(const struct h_seg *g, uint32_t edge)
{
	return g->from == H_A && !(g->flags & (TCP_SYN | TCP_FIN | TCP_RST)) &&
	       ((g->len == 1 && g->seq == edge) || (g->len == 0 && g->seq == edge - 1));
}

struct probes {
	struct h_net *n;
	int from; /* log index to count from */
	uint32_t edge;
	int want;
};

static int count_probes(const struct h_net *n, int from, uint32_t edge)
{
	int c = 0;
	for (int i = from; i < n->nlog; i++)
		c += is_probe(&n->log[i], edge);
	return c;
}

static bool enough_probes(void *ctx)
{
	struct probes *p = ctx;
	return count_probes(p->n, p->from, p->edge) >= p->want;
}

/* B's buffer fills and its window closes; while it stays closed A probes
 * it, each probe further apart (RFC 9293 §3.8.6.1, RFC 6298 §5.5). B reads
 * everything, but the window update that says so is lost: only the next
 * probe can learn that the window opened, and then the rest flows. */
static void zero_window_lost_update_persist(void **state)
{
	(void)state;
	const uint64_t total = 10000;
	struct h_net *n = h_new_rcvbuf_b(4096);
	struct ustcp_sock *a, *b, *l = h_listen(n);
	establish_within(n, 1 * SEC, &a, &b, l);
	uint8_t bws = h_info(b).rcv_wscale;
	uint64_t sent = 0, got = 0;
	send_stream(a, &sent, total);
	assert_int_equal(sent, total);

	CHECK(n, h_run_cond(n, 5 * SEC, a_sees_zero_window, a));
	uint64_t t_zw = h_now(n);
	struct ustcp_sock_info ia = h_info(a);
	uint32_t edge = ia.snd_una;
	size_t held = ustcp_sock_readable(b);
	assert_true(held > 0 && held <= 4096);
	assert_int_equal(edge - (ia.iss + 1), held); /* all A sent is acked and in B's buffer */
	int i_zw = n->nlog;

	/* Three probes while the window stays closed: each answered at once
	 * (RFC 9293 §3.10.7.4: an unacceptable segment is ACKed) with the
	 * zero window and the same edge, since B has no room for the byte. */
	struct probes pr = {n, i_zw, edge, 3};
	CHECK(n, h_run_cond(n, 30 * SEC, enough_probes, &pr));
	h_run(n, 10 * MS);
	for (int i = i_zw; i < n->nlog; i++) {
		if (!is_probe(&n->log[i], edge))
			continue;
		int j = next_seg(n, i + 1, H_B, any_seg);
		CHECK(n, j >= 0);
		const struct h_seg *ans = &n->log[j];
		CHECK(n, ans->t == n->log[i].t + 1 * MS);
		CHECK(n, ans->ack == edge && ans->win == 0 && ans->len == 0);
	}

	/* While the window is closed A sends nothing but probes (RFC 9293
	 * §3.8.6.1). The answers acknowledge nothing new, yet they are no
	 * duplicate ACKs signalling a loss (RFC 5681 §2): the only outstanding
	 * byte is the probe's, which B refused ("outstanding data (other than
	 * a window probe)", as 4.4BSD's tcp_input puts it). */
	for (int i = i_zw; i < n->nlog; i++)
		CHECK(n, !is_data(&n->log[i], H_A) || is_probe(&n->log[i], edge));
	assert_int_equal(h_info(a).fast_retransmits, 0);

	/* B reads everything; the window update it sends is lost. */
	h_drop(n, H_B, 0xff, TCP_ACK, 0);
	int i_rd = n->nlog;
	recv_stream(b, &got, SIZE_MAX);
	assert_int_equal(got, held);
	CHECK(n, n->nlog > i_rd);
	const struct h_seg *upd = &n->log[i_rd];
	CHECK(n, is_pure_ack(upd, H_B) && upd->ack == edge && real_win(upd, bws) >= held);
	struct ustcp_impair_stats st;
	ustcp_sim_get_stats(n->sim, n->port[H_B], &st);
	assert_int_equal(st.filtered, 1);

	/* The next probe finds the window open; all the data arrives. */
	recv_all(n, b, &got, total, 5 * MS, 60 * SEC);

	int pi[8], np = 0;
	for (int i = i_zw; i < n->nlog && np < 8; i++) {
		const struct h_seg *g = &n->log[i];
		if (is_probe(g, edge))
			pi[np++] = i;
		else if (is_data(g, H_A))
			break;
	}
	CHECK(n, np == 4);
	/* RFC 9293 §3.8.6.1: the first probe after one RTO of zero window,
	 * then exponentially further apart (each interval about double). */
	uint64_t prev_gap = n->log[pi[0]].t - t_zw;
	CHECK(n, prev_gap * 10 >= ia.rto * 9 && prev_gap * 10 <= ia.rto * 11 + 20 * MS);
	for (int k = 1; k < np; k++) {
		uint64_t gap = n->log[pi[k]].t - n->log[pi[k - 1]].t;
		CHECK(n, gap * 10 >= prev_gap * 18 && gap * 10 <= prev_gap * 22);
		prev_gap = gap;
	}
	/* The last probe is answered with the open window, at once or, since
	 * B now takes its byte, within the ACK delay (RFC 1122 §4.2.3.2), and
	 * data follows at once. */
	const struct h_seg *last = &n->log[pi[np - 1]];
	int j = next_seg(n, pi[np - 1] + 1, H_B, any_seg);
	CHECK(n, j >= 0);
	const struct h_seg *ans = &n->log[j];
	CHECK(n, ans->t >= last->t + 1 * MS && ans->t <= last->t + 1 * MS + 40 * MS + 1 * MS);
	CHECK(n, real_win(ans, bws) >= 2048);
	int d = next_seg(n, j + 1, H_A, is_data);
	CHECK(n, d >= 0);
	CHECK(n, n->log[d].t == ans->t + 1 * MS);
	CHECK(n, n->log[d].seq == ans->ack);
	assert_true(h_info(a).zero_window_probes >= 4);

	assert_int_equal(ustcp_close(a), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_close(b), 0);
	h_finish(n, l);
}

/* ---- 2. silly window syndrome, both ends ---- */

/* B's buffer is 1000 bytes and its reader takes 10 bytes each round trip.
 * B's right window edge moves only in steps of at least min(buffer/2, MSS)
 * (receiver SWS avoidance, RFC 1122 §4.2.3.3), and A sends no segment
 * smaller than that (sender SWS avoidance, §4.2.3.4) except one-byte
 * zero-window probes: never the 10-byte segments a naive pair would trade. */
static void sws_receiver_reads_slowly(void **state)
{
	(void)state;
	const uint64_t total = 20000;
	const int rounds = 300; /* round trips of 2 ms */
	struct h_net *n = h_new_rcvbuf_b(1000);
	struct ustcp_sock *a, *b, *l = h_listen(n);
	establish_within(n, 1 * SEC, &a, &b, l);
	int i_est = n->nlog;
	struct ustcp_sock_info ia = h_info(a), ib = h_info(b);
	uint64_t sent = 0, got = 0;
	send_stream(a, &sent, total);
	assert_int_equal(sent, total);
	for (int r = 0; r < rounds; r++) {
		h_run(n, 2 * MS);
		recv_stream(b, &got, 10);
	}
	int i_end = n->nlog;
	CHECK(n, got >= (uint64_t)(rounds - 5) * 10 && got <= (uint64_t)rounds * 10);

	uint32_t rcvbuf = ib.rcvbuf;
	assert_true(rcvbuf >= 1000 && rcvbuf < 2048);
	uint32_t sender_step = ia.snd_mss < rcvbuf / 2 ? ia.snd_mss : rcvbuf / 2;
	uint32_t recv_step = ib.rcv_mss < rcvbuf / 2 ? ib.rcv_mss : rcvbuf / 2;
	int data = 0, small = 0;
	for (int i = i_est; i < i_end; i++) {
		const struct h_seg *g = &n->log[i];
		if (!is_data(g, H_A))
			continue;
		data++;
		if (g->len == 10)
			small++;
		CHECK(n, g->len == 1 || g->len >= sender_step);
	}
	assert_int_equal(small, 0);
	assert_true(data >= 4);

	/* The right edge B offers (RCV.NXT + RCV.WND) never shrinks and never
	 * creeps: it holds still or jumps by at least the step. */
	int sa = next_seg(n, 0, H_B, any_seg);
	CHECK(n, sa >= 0 && (n->log[sa].flags & TCP_SYN));
	uint32_t edge = n->log[sa].ack + (uint32_t)real_win(&n->log[sa], 0);
	int opened = 0;
	for (int i = sa + 1; i < i_end; i++) {
		const struct h_seg *g = &n->log[i];
		if (g->from != H_B || !(g->flags & TCP_ACK) || (g->flags & TCP_RST))
			continue;
		uint32_t e = g->ack + (uint32_t)real_win(g, ib.rcv_wscale);
		int32_t moved = (int32_t)(e - edge);
		CHECK(n, moved >= 0); /* RFC 9293 §3.8.6: no shrinking */
		CHECK(n, moved == 0 || (uint32_t)moved >= recv_step);
		opened += moved > 0;
		edge = e;
	}
	CHECK(n, opened >= 3);

	/* Then B reads all the rest quickly: every byte arrives, in order, once. */
	recv_all(n, b, &got, total, 5 * MS, 120 * SEC);
	assert_int_equal(ustcp_close(a), 0);
	h_run(n, 10 * MS);
	assert_int_equal(ustcp_close(b), 0);
	h_finish(n, l);
}

/* ---- 3. Nagle over a long round trip ---- */

/* RFC 896: while a small segment is unacknowledged, what the writer adds is
 * held and goes as one segment when the ACK comes. With a 501 ms round trip
 * and a letter every 100 ms, that is "a", then "bcdef", then "ghijk". */
static void nagle_letters_with_long_rtt(void **state)
{
	(void)state;
	const uint64_t delay = 250500 * US;
	const char *letters = "abcdefghijkl";
	struct h_net *n = h_new();
	h_set_delay(n, delay);
	struct ustcp_sock *a, *b, *l = h_listen(n);
	establish_within(n, 5 * SEC, &a, &b, l);
	int i0 = n->nlog;
	uint64_t t0 = h_now(n);
	for (size_t i = 0; i < strlen(letters); i++) {
		ustcp_sim_run_until(n->sim, t0 + i * 100 * MS);
		assert_int_equal(ustcp_send(a, &letters[i], 1), 1);
	}
	h_run(n, 3 * SEC);

	int d[3];
	d[0] = next_seg(n, i0, H_A, is_data);
	CHECK(n, d[0] >= 0);
	for (int k = 1; k < 3; k++) {
		d[k] = next_seg(n, d[k - 1] + 1, H_A, is_data);
		CHECK(n, d[k] >= 0);
	}
	static const char *want[] = {"a", "bcdef", "ghijk"};
	for (int k = 0; k < 3; k++) {
		const struct h_seg *g = &n->log[d[k]];
		CHECK(n, g->len == strlen(want[k]));
		CHECK(n, memcmp(g->data, want[k], g->len) == 0);
	}
	CHECK(n, n->log[d[0]].t == t0);
	/* The held letters leave when the ACK of the previous segment arrives. */
	for (int k = 1; k < 3; k++) {
		const struct h_seg *prev = &n->log[d[k - 1]], *g = &n->log[d[k]];
		uint32_t end = prev->seq + prev->len;
		int j = d[k - 1] + 1;
		for (; j < d[k]; j++)
			if (n->log[j].from == H_B && n->log[j].ack == end)
				break;
		CHECK(n, j < d[k]);
		CHECK(n, g->t == n->log[j].t + delay);
		CHECK(n, g->t >= prev->t + 2 * delay);
	}
	char buf[32];
	assert_int_equal(ustcp_recv(b, buf, sizeof(buf)), (long)strlen(letters));
	assert_memory_equal(buf, letters, strlen(letters));
	assert_int_equal(ustcp_close(a), 0);
	h_run(n, 1 * SEC);
	assert_int_equal(ustcp_close(b), 0);
	h_finish(n, l);
}

/* ---- 4. Nagle against a delayed ACK ---- */

/* A writes one byte, then another at once. Returns the log indices of the
 * two data segments; B delays its ACKs up to 500 ms (set on the listener,
 * which passes it to the accepted socket). */
static struct h_net *two_bytes(bool nodelay, struct ustcp_sock **pa, struct ustcp_sock **pb,
			       struct ustcp_sock **pl, int d[2], uint64_t *t1)
{
	/* RFC 6298 §2.4's one-second minimum RTO: with the default 200 ms the
	 * retransmission timer would beat a 500 ms delayed ACK; and no SACK,
	 * whose tail loss probe (RFC 8985 §7: 2 SRTT + 200 ms for one segment
	 * in flight) would too. */
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.rto_min = 1 * SEC;
	ca.sack = 0;
	struct h_net *n = h_new_cfg(&ca, NULL);
	h_set_delay(n, 100 * US);
	*pl = h_listen(n);
	assert_int_equal(ustcp_setsockopt(*pl, USTCP_TCP_ACK_DELAY, 500 * MS), 0);
	establish_within(n, 1 * SEC, pa, pb, *pl);
	uint64_t v = 0;
	assert_int_equal(ustcp_getsockopt(*pb, USTCP_TCP_ACK_DELAY, &v), 0);
	assert_int_equal(v, 500 * MS);
	if (nodelay)
		assert_int_equal(ustcp_setsockopt(*pa, USTCP_TCP_NODELAY, 1), 0);
	h_run(n, 10 * MS);
	int i0 = n->nlog;
	*t1 = h_now(n);
	assert_int_equal(ustcp_send(*pa, "x", 1), 1);
	assert_int_equal(ustcp_send(*pa, "y", 1), 1);
	h_run(n, 2 * SEC);
	d[0] = next_seg(n, i0, H_A, is_data);
	CHECK(n, d[0] >= 0);
	d[1] = next_seg(n, d[0] + 1, H_A, is_data);
	CHECK(n, d[1] >= 0);
	CHECK(n, n->log[d[0]].len == 1 && n->log[d[0]].data[0] == 'x');
	CHECK(n, n->log[d[1]].len == 1 && n->log[d[1]].data[0] == 'y');
	CHECK(n, n->log[d[0]].t == *t1);
	h_expect_read(*pb, "xy");
	return n;
}

/* The second byte waits for the ACK of the first (RFC 896), which B holds
 * back for its full delay (RFC 1122 §4.2.3.2): about 500 ms. */
static void nagle_against_delayed_ack(void **state)
{
	(void)state;
	struct ustcp_sock *a, *b, *l;
	int d[2];
	uint64_t t1;
	struct h_net *n = two_bytes(false, &a, &b, &l, d, &t1);
	const struct h_seg *y = &n->log[d[1]];
	CHECK(n, y->t - t1 >= 400 * MS && y->t - t1 <= 510 * MS);
	/* It left when B's delayed ACK of "x" arrived. */
	int j = next_seg(n, d[0] + 1, H_B, any_seg);
	CHECK(n, j >= 0 && j < d[1]);
	CHECK(n, n->log[j].ack == n->log[d[0]].seq + 1);
	CHECK(n, y->t == n->log[j].t + 100 * US);
	assert_int_equal(ustcp_close(a), 0);
	h_run(n, 1 * SEC);
	assert_int_equal(ustcp_close(b), 0);
	h_finish(n, l);
}

/* With TCP_NODELAY the second byte does not wait. */
static void nagle_off_no_wait(void **state)
{
	(void)state;
	struct ustcp_sock *a, *b, *l;
	int d[2];
	uint64_t t1;
	struct h_net *n = two_bytes(true, &a, &b, &l, d, &t1);
	CHECK(n, n->log[d[1]].t - t1 <= 1 * MS);
	assert_int_equal(ustcp_close(a), 0);
	h_run(n, 1 * SEC);
	assert_int_equal(ustcp_close(b), 0);
	h_finish(n, l);
}

/* ---- 5, 6. delayed ACKs and QUICKACK ---- */

struct burst {
	int i0, i_end; /* log range of the transfer */
	uint32_t mss;
	uint64_t total;
};

/* A sends `full` full-sized segments and then `odd` bytes; run until B has
 * it all and any delayed ACK is out; B reads only then. */
static struct h_net *burst(bool quickack, int full, uint32_t odd, struct ustcp_sock **pa,
			   struct ustcp_sock **pb, struct ustcp_sock **pl, struct burst *r)
{
	struct h_net *n = h_new();
	*pl = h_listen(n);
	establish_within(n, 1 * SEC, pa, pb, *pl);
	if (quickack)
		assert_int_equal(ustcp_setsockopt(*pb, USTCP_TCP_QUICKACK, 1), 0);
	h_run(n, 100 * MS);
	r->mss = h_info(*pa).snd_mss;
	r->total = (uint64_t)full * r->mss + odd;
	r->i0 = n->nlog;
	uint64_t sent = 0, got = 0;
	send_stream(*pa, &sent, r->total);
	assert_int_equal(sent, r->total);
	for (int i = 0; i < 5000 && ustcp_sock_readable(*pb) < r->total; i++)
		h_run(n, 1 * MS);
	assert_int_equal(ustcp_sock_readable(*pb), r->total);
	h_run(n, 100 * MS);
	r->i_end = n->nlog;
	recv_stream(*pb, &got, SIZE_MAX);
	assert_int_equal(got, r->total);
	return n;
}

static void finish_pair(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b,
			struct ustcp_sock *l)
{
	assert_int_equal(ustcp_close(a), 0);
	h_run(n, 100 * MS);
	assert_int_equal(ustcp_close(b), 0);
	h_finish(n, l);
}

/* RFC 5681 §4.2 / RFC 9293 §3.8.6.3: an ACK for at least every second
 * full-sized segment; a lone segment's ACK waits at most the ACK delay
 * (40 ms by default, RFC 1122 §4.2.3.2: less than 500 ms). */
static void delayed_ack_every_second_segment(void **state)
{
	(void)state;
	struct ustcp_sock *a, *b, *l;
	struct burst r;
	struct h_net *n = burst(false, 20, 100, &a, &b, &l, &r);
	int data = 0, full = 0, acks = 0, last = -1;
	uint32_t first_seq = 0, prev_ack = 0;
	for (int i = r.i0; i < r.i_end; i++) {
		const struct h_seg *g = &n->log[i];
		if (is_data(g, H_A)) {
			if (data++ == 0)
				first_seq = prev_ack = g->seq;
			full += g->len == r.mss;
			last = i;
		} else if (is_pure_ack(g, H_B) && data > 0) {
			acks++;
			/* Never more than two full-sized segments per ACK. */
			CHECK(n, g->ack - prev_ack <= 2 * r.mss);
			prev_ack = g->ack;
		}
	}
	CHECK(n, full == 20 && data == 21);
	CHECK(n, prev_ack == first_seq + r.total);
	CHECK(n, acks >= data / 2 && acks <= data / 2 + 2);
	/* The odd last segment: ACKed within the delay bound of its arrival. */
	const struct h_seg *odd = &n->log[last];
	CHECK(n, odd->len == 100);
	int j = last + 1;
	while (j < r.i_end && !(n->log[j].from == H_B && n->log[j].ack == odd->seq + odd->len))
		j++;
	CHECK(n, j < r.i_end);
	CHECK(n, n->log[j].t - odd->t <= 40 * MS + 1 * MS + 1 * MS);
	finish_pair(n, a, b, l);
}

/* With QUICKACK, B ACKs each data segment the moment it arrives. */
static void quickack_acks_every_segment(void **state)
{
	(void)state;
	struct ustcp_sock *a, *b, *l;
	struct burst r;
	struct h_net *n = burst(true, 10, 100, &a, &b, &l, &r);
	int data = 0, acks = 0;
	for (int i = r.i0; i < r.i_end; i++) {
		const struct h_seg *g = &n->log[i];
		if (is_pure_ack(g, H_B))
			acks++;
		if (!is_data(g, H_A))
			continue;
		data++;
		int j = i + 1;
		while (j < r.i_end && !(n->log[j].from == H_B && n->log[j].ack == g->seq + g->len))
			j++;
		CHECK(n, j < r.i_end);
		CHECK(n, n->log[j].t == g->t + 1 * MS);
	}
	CHECK(n, data == 11);
	CHECK(n, acks == data);
	finish_pair(n, a, b, l);
}

/* ---- 7. out-of-order data ---- */

/* One of ten segments is lost. Each segment after the hole draws an
 * immediate duplicate ACK (RFC 5681 §4.2) whose first SACK block covers the
 * data that just arrived (RFC 2018 §4); the retransmission that fills the
 * hole is ACKed at once, up to everything held. */
static void out_of_order_acked_at_once(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct data_drop dd = {n, H_A, 2, 0};
	ustcp_sim_set_filter(n->sim, data_drop_filter, &dd);
	struct ustcp_sock *a, *b, *l = h_listen(n);
	establish_within(n, 1 * SEC, &a, &b, l);
	CHECK(n, h_find(n, H_A, TCP_SYN | TCP_ACK, TCP_SYN, 0)->opts.present & TCP_OPT_SACK_PERM);
	CHECK(n, h_find(n, H_B, TCP_SYN | TCP_ACK, TCP_SYN | TCP_ACK, 0)->opts.present &
			 TCP_OPT_SACK_PERM);
	assert_true(h_info(a).sack_ok && h_info(b).sack_ok);
	h_run(n, 100 * MS);
	uint32_t mss = h_info(a).snd_mss;
	uint64_t total = 10 * (uint64_t)mss, sent = 0, got = 0;
	int i0 = n->nlog;
	send_stream(a, &sent, total);
	h_run(n, 2 * SEC);
	int i_end = n->nlog;

	int d[10];
	d[0] = next_seg(n, i0, H_A, is_data);
	CHECK(n, d[0] >= 0);
	for (int k = 1; k < 10; k++) {
		d[k] = next_seg(n, d[k - 1] + 1, H_A, is_data);
		CHECK(n, d[k] >= 0 && n->log[d[k]].seq == n->log[d[k - 1]].seq + mss);
	}
	const struct h_seg *hole = &n->log[d[2]];
	/* B's ACKs in order: one for segments 0 and 1, then one per segment
	 * beyond the hole, each sent as that segment arrived. */
	int j = next_seg(n, d[1] + 1, H_B, is_pure_ack);
	CHECK(n, j >= 0 && n->log[j].ack == hole->seq);
	CHECK(n, n->log[j].t == n->log[d[1]].t + 1 * MS);
	CHECK(n, !(n->log[j].opts.present & TCP_OPT_SACK));
	for (int k = 3; k < 10; k++) {
		const struct h_seg *g = &n->log[d[k]];
		do
			j = next_seg(n, j + 1, H_B, is_pure_ack);
		while (j >= 0 && n->log[j].ack != hole->seq);
		CHECK(n, j >= 0);
		const struct h_seg *dup = &n->log[j];
		CHECK(n, dup->t == g->t + 1 * MS);
		CHECK(n, (dup->opts.present & TCP_OPT_SACK) && dup->opts.nsack >= 1);
		CHECK(n, dup->opts.sack[0].left == n->log[d[3]].seq);
		CHECK(n, dup->opts.sack[0].right == g->seq + g->len);
	}
	/* The retransmission of the hole, ACKed the moment it arrives. */
	int rt = d[9] + 1;
	while (rt < i_end && !(is_data(&n->log[rt], H_A) && n->log[rt].seq == hole->seq))
		rt++;
	CHECK(n, rt < i_end);
	int k = rt + 1;
	while (k < i_end && n->log[k].from != H_B)
		k++;
	CHECK(n, k < i_end);
	const struct h_seg *fill = &n->log[k];
	CHECK(n, fill->t == n->log[rt].t + 1 * MS);
	CHECK(n, fill->ack == n->log[d[9]].seq + mss);
	CHECK(n, !(fill->opts.present & TCP_OPT_SACK));

	recv_all(n, b, &got, total, 5 * MS, 1 * SEC);
	finish_pair(n, a, b, l);
}

/* ---- 8. window scaling ---- */

/* RFC 7323: both SYNs offer window scaling and timestamps; the window of a
 * SYN is never scaled (§2.2); B's 16 MiB buffer (set on the listener before
 * the SYN arrives) needs a shift large enough to offer it (§2.3). */
static void window_scale_negotiated(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l = h_listen(n);
	assert_int_equal(ustcp_setsockopt(l, USTCP_SO_RCVBUF, 16 * MIB), 0);
	uint64_t v = 0;
	assert_int_equal(ustcp_getsockopt(l, USTCP_SO_RCVBUF, &v), 0);
	assert_int_equal(v, 16 * MIB);
	establish_within(n, 1 * SEC, &a, &b, l);
	h_exchange(n, a, b);
	h_send_all(b, "more");
	h_run(n, 100 * MS);
	h_expect_read(a, "more");

	const struct h_seg *syn = h_find(n, H_A, TCP_SYN | TCP_ACK, TCP_SYN, 0);
	const struct h_seg *sa = h_find(n, H_B, TCP_SYN | TCP_ACK, TCP_SYN | TCP_ACK, 0);
	CHECK(n, syn && sa);
	const uint32_t both = TCP_OPT_WSCALE | TCP_OPT_TIMESTAMP;
	CHECK(n, (syn->opts.present & both) == both);
	CHECK(n, (sa->opts.present & both) == both);
	/* §3.2: the SYN,ACK echoes the SYN's TSval. */
	CHECK(n, sa->opts.ts_ecr == syn->opts.ts_val);
	/* §2.3: a shift of at most 14; 16 MiB needs more than 7. */
	CHECK(n, sa->opts.wscale >= 8 && sa->opts.wscale <= 14);
	CHECK(n, syn->opts.wscale <= 14);
	/* §2.2: unscaled in the SYNs, so a window above 64 KiB shows as 65535. */
	CHECK(n, sa->win == 65535);
	CHECK(n, syn->win == 65535);

	struct ustcp_sock_info ia = h_info(a), ib = h_info(b);
	assert_int_equal(ia.snd_wscale, sa->opts.wscale);
	assert_int_equal(ib.rcv_wscale, sa->opts.wscale);
	assert_int_equal(ia.rcv_wscale, syn->opts.wscale);
	assert_int_equal(ib.snd_wscale, syn->opts.wscale);
	assert_true(ia.timestamps && ib.timestamps);
	assert_int_equal(ib.rcvbuf, 16 * MIB);

	/* After the handshake B's scaled window shows (nearly) all 16 MiB. */
	uint64_t maxwin = 0;
	for (int i = 0; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		/* §3.2: once negotiated, every segment but a RST carries timestamps. */
		CHECK(n, (g->flags & TCP_RST) || (g->opts.present & TCP_OPT_TIMESTAMP));
		if (g->from == H_B && !(g->flags & TCP_SYN) && real_win(g, ib.rcv_wscale) > maxwin)
			maxwin = real_win(g, ib.rcv_wscale);
	}
	CHECK(n, maxwin >= 16 * MIB - 64 * KIB && maxwin <= 16 * MIB);
	assert_true(h_info(a).snd_wnd >= 16 * MIB - 64 * KIB);
	finish_pair(n, a, b, l);
}

struct bulk {
	uint64_t total, max_flight, t_start, t_half, acked_half, t_done;
	uint8_t wscale;
};

/* A bulk transfer of `total` bytes over a 100 ms round trip with both
 * buffers `buf`; the reader drains B each millisecond. */
static void bulk_run(uint8_t wscale, uint32_t buf, uint64_t total, struct bulk *r)
{
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.sndbuf = ca.rcvbuf = cb.sndbuf = cb.rcvbuf = buf;
	ca.wscale = cb.wscale = wscale;
	struct h_net *n = h_new_cfg(&ca, &cb);
	h_set_delay(n, 50 * MS);
	struct ustcp_sock *a, *b, *l = h_listen(n);
	establish_within(n, 1 * SEC, &a, &b, l);
	memset(r, 0, sizeof(*r));
	r->total = total;
	r->wscale = h_info(a).snd_wscale;
	r->t_start = h_now(n);
	uint64_t sent = 0, got = 0, end = h_now(n) + 600 * SEC;
	for (int i = 0; i < 1000000 && got < total && h_now(n) < end; i++) {
		send_stream(a, &sent, total);
		recv_stream(b, &got, SIZE_MAX);
		struct ustcp_sock_info ia = h_info(a);
		if (ia.bytes_in_flight > r->max_flight)
			r->max_flight = ia.bytes_in_flight;
		if (!r->t_half && ia.bytes_in_flight >= buf / 2) {
			r->t_half = h_now(n);
			r->acked_half = ia.bytes_acked;
		}
		if (got < total)
			h_run(n, 1 * MS);
	}
	assert_int_equal(got, total);
	r->t_done = h_now(n);
	finish_pair(n, a, b, l);
}

/* 16 MiB windows over 100 ms: only window scaling lets more than 64 KiB be
 * in flight (RFC 7323 §1.1); once slow start is over, the transfer runs
 * near window/RTT. Without scaling the flight stays at most 65535 bytes. */
static void window_scale_16mib_over_100ms(void **state)
{
	(void)state;
	const uint32_t buf = 16 * MIB;
	const uint64_t rtt = 100 * MS;
	struct bulk r;
	bulk_run(1, buf, 128ull * MIB, &r);
	assert_true(r.wscale >= 8);
	assert_true(r.max_flight >= buf / 2);
	assert_true(r.t_half > 0);
	/* Bytes per ns after the flight first reached half the window, against
	 * half of window/RTT: (total - acked) / dt >= buf / (2 * rtt). */
	uint64_t dt = r.t_done - r.t_half, bytes = r.total - r.acked_half;
	if (bytes * 2 * rtt < (uint64_t)buf * dt)
		fail_msg("%llu bytes in %llu ns after the flight reached half the window: "
			 "under half of window/RTT",
			 (unsigned long long)bytes, (unsigned long long)dt);

	bulk_run(0, buf, 4 * MIB, &r);
	assert_int_equal(r.wscale, 0);
	assert_true(r.max_flight <= 65535);
	assert_true(r.max_flight >= 32 * KIB);
}

/* ---- 9. urgent data ---- */

/* RFC 6093: the urgent pointer points one past the last urgent byte (seq +
 * urp); the bytes are read in line, and the receiver knows how many bytes
 * remain to read up to the end of the urgent data. */
static void urgent_data_pointer(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l = h_listen(n);
	establish_within(n, 1 * SEC, &a, &b, l);
	uint32_t iss = h_info(a).iss;
	int i0 = n->nlog;
	h_send_all(a, "abc");
	assert_int_equal(ustcp_send_urgent(a, "XYZ", 3), 3);
	h_run(n, 200 * MS);
	int i_end = n->nlog;
	assert_int_equal(ustcp_sock_readable(b), 6);

	int seen = 0;
	for (int i = i0; i < i_end; i++) {
		const struct h_seg *g = &n->log[i];
		if (!is_data(g, H_A))
			continue;
		uint32_t off = g->seq - (iss + 1);
		if (off + g->len <= 3) {
			CHECK(n, !(g->flags & TCP_URG)); /* sent before urgent mode */
			continue;
		}
		seen++;
		CHECK(n, g->flags & TCP_URG);
		CHECK(n, (uint32_t)(g->seq + g->urp) == iss + 1 + 6);
	}
	CHECK(n, seen >= 1);

	assert_int_equal(ustcp_sock_urgent(b), 6);
	char buf[8];
	assert_int_equal(ustcp_recv(b, buf, 2), 2);
	assert_memory_equal(buf, "ab", 2);
	assert_int_equal(ustcp_sock_urgent(b), 4);
	size_t got = 2;
	for (int i = 0; i < 4 && got < 6; i++) {
		long r = ustcp_recv(b, buf + got, sizeof(buf) - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(got, 6);
	assert_memory_equal(buf, "abcXYZ", 6);
	assert_int_equal(ustcp_sock_urgent(b), -1);
	finish_pair(n, a, b, l);
}

/* ---- 10. socket options ---- */

static void expect_opt(struct ustcp_sock *k, int opt, uint64_t want)
{
	uint64_t v = ~0ull;
	assert_int_equal(ustcp_getsockopt(k, opt, &v), 0);
	assert_int_equal(v, want);
}

static void set_get(struct ustcp_sock *k, int opt, uint64_t v)
{
	assert_int_equal(ustcp_setsockopt(k, opt, v), 0);
	expect_opt(k, opt, v);
}

static void sockopt_validation(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l = h_listen(n);
	/* Buffer sizes on the listener, before any buffer exists; they pass
	 * to the accepted socket. */
	set_get(l, USTCP_SO_SNDBUF, 128 * KIB);
	set_get(l, USTCP_SO_RCVBUF, 128 * KIB);
	assert_int_equal(ustcp_setsockopt(l, USTCP_SO_RCVBUF, 10), -EINVAL);
	assert_int_equal(ustcp_setsockopt(l, USTCP_SO_SNDBUF, 10), -EINVAL);
	assert_int_equal(ustcp_setsockopt(l, USTCP_SO_RCVBUF, 64ull * MIB + 1), -EINVAL);
	expect_opt(l, USTCP_SO_RCVBUF, 128 * KIB);
	establish_within(n, 1 * SEC, &a, &b, l);
	expect_opt(b, USTCP_SO_SNDBUF, 128 * KIB);
	expect_opt(b, USTCP_SO_RCVBUF, 128 * KIB);

	/* Out of range: -EINVAL, and the value stays. */
	uint64_t before = 0;
	assert_int_equal(ustcp_getsockopt(a, USTCP_TCP_ACK_DELAY, &before), 0);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_ACK_DELAY, 0), -EINVAL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_ACK_DELAY, 600 * MS), -EINVAL);
	expect_opt(a, USTCP_TCP_ACK_DELAY, before);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_KEEPCNT, 0), -EINVAL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_KEEPCNT, 256), -EINVAL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_NODELAY, 2), -EINVAL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_KEEPIDLE, 500 * MS), -EINVAL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_RTO_MIN, 0), -EINVAL);
	assert_int_equal(ustcp_setsockopt(a, USTCP_TCP_RTO_MIN, 3600 * SEC), -EINVAL);
	/* Unknown options. */
	uint64_t v;
	assert_int_equal(ustcp_setsockopt(a, 999, 1), -ENOPROTOOPT);
	assert_int_equal(ustcp_getsockopt(a, 999, &v), -ENOPROTOOPT);
	assert_int_equal(ustcp_setsockopt(a, 0, 1), -ENOPROTOOPT);

	/* In range: what is set is what is read back, bounds included. */
	set_get(a, USTCP_TCP_ACK_DELAY, 1 * MS);
	set_get(a, USTCP_TCP_ACK_DELAY, 500 * MS);
	set_get(a, USTCP_TCP_ACK_DELAY, 100 * MS);
	set_get(a, USTCP_TCP_NODELAY, 1);
	set_get(a, USTCP_TCP_NODELAY, 0);
	set_get(a, USTCP_TCP_QUICKACK, 1);
	set_get(a, USTCP_SO_KEEPALIVE, 1);
	set_get(a, USTCP_TCP_KEEPIDLE, 10 * SEC);
	set_get(a, USTCP_TCP_KEEPINTVL, 2 * SEC);
	set_get(a, USTCP_TCP_KEEPCNT, 1);
	set_get(a, USTCP_TCP_KEEPCNT, 255);
	set_get(a, USTCP_TCP_USER_TIMEOUT, 30 * SEC);
	set_get(a, USTCP_TCP_USER_TIMEOUT, 0);
	set_get(a, USTCP_TCP_RTO_MIN, 50 * MS);
	set_get(a, USTCP_SO_KEEPALIVE, 0);

	/* Buffer sizes once data has been queued: -EISCONN, unchanged. */
	uint64_t sndbuf = 0;
	assert_int_equal(ustcp_getsockopt(a, USTCP_SO_SNDBUF, &sndbuf), 0);
	h_send_all(a, "data");
	assert_int_equal(ustcp_setsockopt(a, USTCP_SO_SNDBUF, 64 * KIB), -EISCONN);
	assert_int_equal(ustcp_setsockopt(a, USTCP_SO_RCVBUF, 64 * KIB), -EISCONN);
	expect_opt(a, USTCP_SO_SNDBUF, sndbuf);
	assert_int_equal(h_info(a).sndbuf, sndbuf);

	/* Congestion control by name. */
	assert_int_equal(ustcp_set_cc(a, "nope"), -ENOENT);
	assert_int_equal(ustcp_set_cc(a, "newreno"), 0);
	assert_string_equal(h_info(a).cc, "newreno");
	bool listed = false;
	for (const char *const *p = ustcp_cc_names(); *p; p++)
		listed |= strcmp(*p, "newreno") == 0;
	assert_true(listed);

	h_run(n, 100 * MS);
	h_expect_read(b, "data");
	finish_pair(n, a, b, l);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(zero_window_lost_update_persist),
	cmocka_unit_test(sws_receiver_reads_slowly),
	cmocka_unit_test(nagle_letters_with_long_rtt),
	cmocka_unit_test(nagle_against_delayed_ack),
	cmocka_unit_test(nagle_off_no_wait),
	cmocka_unit_test(delayed_ack_every_second_segment),
	cmocka_unit_test(quickack_acks_every_segment),
	cmocka_unit_test(out_of_order_acked_at_once),
	cmocka_unit_test(window_scale_negotiated),
	cmocka_unit_test(window_scale_16mib_over_100ms),
	cmocka_unit_test(urgent_data_pointer),
	cmocka_unit_test(sockopt_validation),
};

USTCP_TEST_MAIN(tests)
