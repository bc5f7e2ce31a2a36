/* test_throughput.c — performance in virtual time, which is exact, so it
 * may be asserted: a bulk transfer fills a 1 Gbit/s, 20 ms path after slow
 * start; window scaling is what lets it (a 64 KiB window could not). */
#include "harness.h"

struct bulk {
	uint64_t bytes; /* to move from A to B */
	uint64_t sent, got;
	uint64_t t_ss_end;         /* when slow start (and the recovery ending it) was over */
	uint64_t t_first;          /* two RTTs later: the steady state is measured from here */
	uint64_t got_first;        /* bytes received by then */
	uint64_t t_last, got_last; /* when 90% had arrived, and how much exactly */
	uint64_t t_done;
	uint32_t max_flight; /* most bytes in flight seen */
};

static uint8_t pattern(uint64_t i) { return (uint8_t)((i * 131) ^ (i >> 13)); }

/* Move b->bytes from a to bsock, checking every byte, in 1 ms steps. */
static void bulk_run(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b, struct bulk *bk,
		     uint64_t limit)
{
	static uint8_t buf[256 * 1024];
	uint64_t start = h_now(n);
	while (bk->got < bk->bytes && h_now(n) - start < limit) {
		while (bk->sent < bk->bytes) {
			uint64_t left = bk->bytes - bk->sent;
			size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
			for (size_t i = 0; i < want; i++)
				buf[i] = pattern(bk->sent + i);
			long r = ustcp_send(a, buf, want);
			if (r <= 0)
				break;
			bk->sent += (uint64_t)r;
		}
		h_run(n, 1 * MS);
		for (;;) {
			long r = ustcp_recv(b, buf, sizeof(buf));
			if (r <= 0)
				break;
			for (long i = 0; i < r; i++)
				if (buf[i] != pattern(bk->got + (uint64_t)i))
					fail_msg("byte %llu differs",
						 (unsigned long long)(bk->got + i));
			bk->got += (uint64_t)r;
		}
		struct ustcp_sock_info ia = h_info(a);
		if (ia.bytes_in_flight > bk->max_flight)
			bk->max_flight = ia.bytes_in_flight;
		/* Slow start is over once ssthresh is set and any recovery it
		 * ended with is done; the receiver catches up within two RTTs. */
		if (!bk->t_ss_end && ia.ssthresh != UINT32_MAX && !ia.in_recovery)
			bk->t_ss_end = h_now(n);
		if (bk->t_ss_end && !bk->t_first && h_now(n) >= bk->t_ss_end + 2 * ia.srtt) {
			bk->t_first = h_now(n);
			bk->got_first = bk->got;
		}
		/* The steady state ends where the last window drains. */
		if (bk->t_first && !bk->t_last && bk->got >= bk->bytes / 10 * 9) {
			bk->t_last = h_now(n);
			bk->got_last = bk->got;
		}
	}
	bk->t_done = h_now(n);
}

static struct h_net *path_offloads(uint64_t rate_bps, uint64_t one_way, uint32_t queue, bool wscale,
				   uint32_t offloads);
static struct h_net *path(uint64_t rate_bps, uint64_t one_way, uint32_t queue, bool wscale)
{
	return path_offloads(rate_bps, one_way, queue, wscale, 0);
}

static struct h_net *path_offloads(uint64_t rate_bps, uint64_t one_way, uint32_t queue, bool wscale,
				   uint32_t offloads)
{
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.wscale = cb.wscale = wscale;
	struct h_net *n = h_new_net(&ca, &cb, false, offloads);
	struct ustcp_impair imp = {.delay = one_way, .rate_bps = rate_bps, .queue_bytes = queue};
	for (int i = 0; i < 2; i++)
		ustcp_sim_set_impair(n->sim, n->port[i], &imp);
	return n;
}

/* Both ends get buffers of buf bytes before the SYNs, so the window
 * scale each announces fits them. */
static void connect_with_buffers(struct h_net *n, uint32_t buf, struct ustcp_sock **a,
				 struct ustcp_sock **b, struct ustcp_sock **l)
{
	*l = h_listen(n);
	assert_int_equal(ustcp_setsockopt(*l, USTCP_SO_RCVBUF, buf), 0);
	assert_int_equal(ustcp_setsockopt(*l, USTCP_SO_SNDBUF, buf), 0);
	struct ustcp_endpoint to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_socket(n->st[H_A], a), 0);
	assert_int_equal(ustcp_setsockopt(*a, USTCP_SO_RCVBUF, buf), 0);
	assert_int_equal(ustcp_setsockopt(*a, USTCP_SO_SNDBUF, buf), 0);
	assert_int_equal(ustcp_connect(*a, to), -EINPROGRESS);
	*b = NULL;
	for (int i = 0; i < 1000 && !*b; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(*l, b);
	}
	assert_non_null(*b);
}

static void finish(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b,
		   struct ustcp_sock *l)
{
	assert_int_equal(ustcp_close(a), 0);
	assert_int_equal(ustcp_close(b), 0);
	h_finish(n, l);
}

/* ustcp perf --sim --rate 1000 --delay 10: after slow start the payload
 * rate is at least 95% of the link's 1 Gbit/s. (Headers alone take 66 of
 * every 1514 bytes, so this asks for a link busy over 99% of the time.) */
static void gigabit_20ms_rtt_fills_the_link(void **state)
{
	(void)state;
	const uint64_t rate = 1000000000ull, owd = 10 * MS;
	const uint32_t bdp = (uint32_t)(rate / 8 * 2 * owd / SEC); /* 2.5 MB */
	struct h_net *n = path(rate, owd, bdp, true);
	struct ustcp_sock *a, *b, *l;
	connect_with_buffers(n, 2 * bdp, &a, &b, &l);
	struct bulk bk = {.bytes = 150u * 1000 * 1000};
	bulk_run(n, a, b, &bk, 60 * SEC);
	assert_int_equal(bk.got, bk.bytes);
	assert_true(bk.t_first && bk.t_last > bk.t_first);
	double secs = (double)(bk.t_last - bk.t_first) / 1e9;
	double bps = (double)(bk.got_last - bk.got_first) * 8 / secs;
	struct ustcp_sock_info ia = h_info(a);
	print_message("1 Gbit/s, 20 ms: from %.3f s (%llu bytes) to %.3f s: %.1f Mbit/s, cwnd %u, "
		      "%u retransmits\n",
		      (double)bk.t_first / 1e9, (unsigned long long)bk.got_first,
		      (double)bk.t_last / 1e9, bps / 1e6, ia.cwnd, ia.retransmits);
	assert_true(bps >= 0.95 * (double)rate);
	assert_true(bk.max_flight > bdp); /* the window carried the whole path */
	finish(n, a, b, l);
}

/* Payload Mbit/s of 20 MB over 100 Mbit/s, 40 ms RTT, with loss (in
 * 1/1000 of the frames each way), under congestion control cc on A. */
static double long_path_rate(const char *cc, double loss)
{
	const uint64_t rate = 100000000ull, owd = 20 * MS;
	const uint32_t bdp = (uint32_t)(rate / 8 * 2 * owd / SEC); /* 500 KB */
	struct h_net *n = path(rate, owd, bdp, true);
	struct ustcp_impair imp = {
		.delay = owd, .rate_bps = rate, .queue_bytes = bdp, .loss = loss};
	for (int i = 0; i < 2; i++)
		ustcp_sim_set_impair(n->sim, n->port[i], &imp);
	struct ustcp_sock *a, *b, *l;
	connect_with_buffers(n, 4 * bdp, &a, &b, &l);
	assert_int_equal(ustcp_set_cc(a, cc), 0);
	assert_string_equal(h_info(a).cc, cc);
	struct bulk bk = {.bytes = 20u * 1000 * 1000};
	uint64_t start = h_now(n);
	bulk_run(n, a, b, &bk, 600 * SEC);
	assert_int_equal(bk.got, bk.bytes);
	double mbps = (double)bk.got * 8 / ((double)(bk.t_done - start) / 1e9) / 1e6;
	print_message("%s, loss %.2f%%: %.2f Mbit/s, %u retransmits\n", cc, loss * 100, mbps,
		      h_info(a).retransmits);
	finish(n, a, b, l);
	return mbps;
}

/* CUBIC (RFC 9438) on a 100 Mbit/s, 40 ms path: it fills the clean link as
 * NewReno does, and with random loss its cubic growth after each loss
 * moves more than NewReno's one segment per round trip (RFC 9438 §1). */
static void cubic_on_a_long_path(void **state)
{
	(void)state;
	assert_true(long_path_rate("cubic", 0) >= 80); /* slow start included */
	double cubic = long_path_rate("cubic", 0.001), reno = long_path_rate("newreno", 0.001);
	assert_true(cubic > 1.05 * reno);
}

/* A second connection from A to the listener l, with buffers of buf bytes. */
static struct ustcp_sock *connect_another(struct h_net *n, struct ustcp_sock *l, uint32_t buf,
					  struct ustcp_sock **b)
{
	struct ustcp_sock *a;
	struct ustcp_endpoint to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_socket(n->st[H_A], &a), 0);
	assert_int_equal(ustcp_setsockopt(a, USTCP_SO_RCVBUF, buf), 0);
	assert_int_equal(ustcp_setsockopt(a, USTCP_SO_SNDBUF, buf), 0);
	assert_int_equal(ustcp_connect(a, to), -EINPROGRESS);
	*b = NULL;
	for (int i = 0; i < 1000 && !*b; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(l, b);
	}
	assert_non_null(*b);
	return a;
}

/* Keep every sender's buffer full and drain every receiver for dt, in
 * 1 ms steps; adds what each receiver read to got[i]. */
static void flows_run(struct h_net *n, struct ustcp_sock **a, struct ustcp_sock **b, int nflows,
		      uint64_t *got, uint64_t dt)
{
	static uint8_t buf[256 * 1024];
	for (uint64_t t = 0; t < dt; t += MS) {
		for (int i = 0; i < nflows; i++)
			while (ustcp_send(a[i], buf, sizeof(buf)) > 0)
				;
		h_run(n, 1 * MS);
		for (int i = 0; i < nflows; i++) {
			long r;
			while ((r = ustcp_recv(b[i], buf, sizeof(buf))) > 0)
				got[i] += (uint64_t)r;
		}
	}
}

/* Two flows from A to B over rate and one-way delay owd with a queue of one
 * bandwidth-delay product, under congestion controls cc0 and cc1, the
 * second starting `gap` after the first; after `run` more, the share of
 * the link flow 0 had over the last `last` of it, and their payload Mbit/s
 * together in *mbps. (CUBIC's sawtooth moves the share of any 10 s by as
 * much as 0.12 either way, so the measure spans several of its cycles.) */
static double two_flows(const char *cc0, const char *cc1, uint64_t rate, uint64_t owd, uint64_t gap,
			uint64_t run, uint64_t last, double *mbps)
{
	const uint32_t bdp = (uint32_t)(rate / 8 * 2 * owd / SEC);
	struct h_net *n = path(rate, owd, bdp, true);
	struct ustcp_sock *a[2], *b[2], *l;
	uint64_t got[2] = {0, 0};
	connect_with_buffers(n, 16 * bdp, &a[0], &b[0], &l);
	assert_int_equal(ustcp_set_cc(a[0], cc0), 0);
	if (gap)
		flows_run(n, a, b, 1, got, gap);
	a[1] = connect_another(n, l, 16 * bdp, &b[1]);
	assert_int_equal(ustcp_set_cc(a[1], cc1), 0);
	flows_run(n, a, b, 2, got, run - last);
	uint64_t before[2] = {got[0], got[1]};
	flows_run(n, a, b, 2, got, last);
	double x0 = (double)(got[0] - before[0]), x1 = (double)(got[1] - before[1]);
	*mbps = (x0 + x1) * 8 / ((double)last / 1e9) / 1e6;
	print_message("%s and %s, last %.0f s: %.2f Mbit/s together, the first's share %.3f, "
		      "Jain's index %.4f\n",
		      cc0, cc1, (double)last / 1e9, *mbps, x0 / (x0 + x1),
		      (x0 + x1) * (x0 + x1) / (2 * (x0 * x0 + x1 * x1)));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ustcp_abort(a[i]), 0);
		assert_int_equal(ustcp_abort(b[i]), 0);
	}
	h_finish(n, l);
	return x0 / (x0 + x1);
}

/* The link's payload rate in Mbit/s: 1448 of every 1514 bytes. */
static double payload_mbps(uint64_t rate) { return (double)rate / 1e6 * 1448 / 1514; }

/* RFC 9438's fairness: two CUBIC flows on a 20 Mbit/s, 40 ms bottleneck,
 * the second starting 5 s after the first, share the link within 10% of
 * half each from 60 s on (measured over the 30 s after), and together keep
 * it busy. */
static void cubic_flows_converge_to_a_fair_share(void **state)
{
	(void)state;
	double mbps, share = two_flows("cubic", "cubic", 20000000, 20 * MS, 5 * SEC, 90 * SEC,
				       30 * SEC, &mbps);
	assert_true(share >= 0.45 && share <= 0.55);
	assert_true(mbps >= 0.9 * payload_mbps(20000000));
}

/* RFC 9438 §4.3: on a short-RTT path CUBIC is in its Reno-friendly region,
 * and a CUBIC flow beside a NewReno flow on 100 Mbit/s, 4 ms, started
 * together, gets about what NewReno gets: neither takes more than 60% over
 * the last 20 of 40 s, and the link stays full. */
static void cubic_beside_newreno_on_a_short_path(void **state)
{
	(void)state;
	double mbps, share = two_flows("cubic", "newreno", 100000000, 2 * MS, 0, 40 * SEC, 20 * SEC,
				       &mbps);
	assert_true(share >= 0.4 && share <= 0.6);
	assert_true(mbps >= 0.9 * payload_mbps(100000000));
}

/* Without window scaling the same path is held to 64 KiB per RTT. */
static void without_window_scaling_64k_per_rtt(void **state)
{
	(void)state;
	const uint64_t rate = 1000000000ull, owd = 10 * MS;
	struct h_net *n = path(rate, owd, 1u << 20, false);
	struct ustcp_sock *a, *b, *l;
	connect_with_buffers(n, 4u << 20, &a, &b, &l);
	struct bulk bk = {.bytes = 4u * 1000 * 1000};
	uint64_t start = h_now(n);
	bulk_run(n, a, b, &bk, 60 * SEC);
	assert_int_equal(bk.got, bk.bytes);
	assert_true(bk.max_flight <= 65535);
	double bps = (double)bk.got * 8 / ((double)(bk.t_done - start) / 1e9);
	assert_true(bps < 65536.0 * 8 / 0.020 * 1.05);
	finish(n, a, b, l);
}

/* With TSO and checksum offload (done in software by the link, as a NIC
 * would), the sender hands the link segments of many MSS; every byte still
 * arrives intact (the link's checksums are checked by the receiver) and
 * the path is filled as before. */
static void tso_segments_fill_the_link(void **state)
{
	(void)state;
	const uint64_t rate = 1000000000ull, owd = 10 * MS;
	const uint32_t bdp = (uint32_t)(rate / 8 * 2 * owd / SEC);
	struct h_net *n =
		path_offloads(rate, owd, bdp, true, USTCP_OFFLOAD_CSUM | USTCP_OFFLOAD_TSO);
	struct ustcp_sock *a, *b, *l;
	connect_with_buffers(n, 2 * bdp, &a, &b, &l);
	struct bulk bk = {.bytes = 100u * 1000 * 1000};
	bulk_run(n, a, b, &bk, 60 * SEC);
	assert_int_equal(bk.got, bk.bytes);
	/* The stack's own frames (as traced) were TSO segments... */
	uint32_t biggest = 0;
	for (int i = 0; i < n->nlog; i++)
		if (n->log[i].from == H_A && n->log[i].len > biggest)
			biggest = n->log[i].len;
	struct ustcp_sock_info ia = h_info(a);
	assert_true(biggest >= 10u * ia.snd_mss);
	assert_int_equal(biggest % ia.snd_mss, 0);
	/* ...which the link cut and checksummed: B dropped none. */
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_bad_csum), 0);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_ip_bad_csum), 0);
	double bps =
		(double)(bk.got_last - bk.got_first) * 8 / ((double)(bk.t_last - bk.t_first) / 1e9);
	assert_true(bps >= 0.95 * (double)rate);
	finish(n, a, b, l);
}

/* bytes from A to B over a link that passes offloaded frames on whole (a
 * vnet link's two ends), with A's impairments imp, and no trace hook on A:
 * it hands the link each payload where it lies in its send ring
 * (USTCP_OFFLOAD_SG). Every byte is checked on arrival. */
static struct h_net *passed_transfer(uint64_t bytes, const struct ustcp_impair *imp,
				     struct ustcp_sock **a)
{
	struct h_net *n = path_offloads(1000000000ull, 1 * MS, 1u << 20, true,
					USTCP_OFFLOAD_CSUM | USTCP_OFFLOAD_TSO | H_PASS);
	ustcp_sim_set_impair(n->sim, n->port[H_A], imp);
	ustcp_set_trace(n->st[H_A], NULL, NULL);
	struct ustcp_sock *b, *l;
	connect_with_buffers(n, 1u << 20, a, &b, &l);
	struct bulk bk = {.bytes = bytes};
	bulk_run(n, *a, b, &bk, 120 * SEC);
	assert_int_equal(bk.got, bk.bytes);
	assert_int_equal(ustcp_close(b), 0);
	assert_int_equal(ustcp_close(l), 0);
	return n;
}

/* B takes the TSO segments as they were sent, trusting their partial
 * checksums, and every byte arrives intact. */
static void passed_offloads_arrive_whole(void **state)
{
	(void)state;
	struct ustcp_impair imp = {.delay = 1 * MS};
	struct ustcp_sock *a;
	uint64_t bytes = 20u * 1000 * 1000;
	struct h_net *n = passed_transfer(bytes, &imp, &a);
	uint64_t frames = ustcp_counter(n->st[H_B], USTCP_C_frames_in);
	/* Far fewer frames arrived than MSS-sized pieces of the data. */
	assert_true(frames * 10 < bytes / h_info(a).snd_mss);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_tcp_bad_csum), 0);
	assert_int_equal(ustcp_close(a), 0);
	h_finish(n, NULL);
}

/* The same link corrupting, losing and duplicating frames: a corrupted
 * copy has its checksum completed before the bit flips and is not trusted,
 * so B finds the damage, drops it, and the data is resent (from the ring,
 * in pieces, as it was first sent). */
static void passed_offloads_corruption_is_caught(void **state)
{
	(void)state;
	struct ustcp_impair imp = {
		.delay = 1 * MS, .corrupt = 0.05, .loss = 0.01, .duplicate = 0.01};
	struct ustcp_sock *a;
	struct h_net *n = passed_transfer(10u * 1000 * 1000, &imp, &a);
	struct ustcp_impair_stats st;
	ustcp_sim_get_stats(n->sim, n->port[H_A], &st);
	assert_true(st.corrupted > 0 && st.lost > 0 && st.duplicated > 0);
	assert_true(h_info(a).retransmits > 0);
	assert_true(ustcp_drops_total(n->st[H_B]) > 0);
	assert_int_equal(ustcp_close(a), 0);
	h_finish(n, NULL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(passed_offloads_arrive_whole),
	cmocka_unit_test(passed_offloads_corruption_is_caught),
	cmocka_unit_test(tso_segments_fill_the_link),
	cmocka_unit_test(gigabit_20ms_rtt_fills_the_link),
	cmocka_unit_test(without_window_scaling_64k_per_rtt),
	cmocka_unit_test(cubic_on_a_long_path),
	cmocka_unit_test(cubic_flows_converge_to_a_fair_share),
	cmocka_unit_test(cubic_beside_newreno_on_a_short_path),
};

USTCP_TEST_MAIN(tests)
