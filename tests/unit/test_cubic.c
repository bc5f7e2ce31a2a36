/* test_cubic.c — CUBIC's window (tcp_cc_cubic, RFC 9438) against the RFC's
 * formulas: after a loss on a 100 Mbit/s, 40 ms path the window follows
 * W_cubic(t) = C(t-K)^3 + W_max (§4.2); on a path where Reno grows faster
 * it follows Reno's estimate instead (§4.3); fast convergence (§4.7); the
 * multiplicative decrease (§4.6) and the timeout (§4.8). The ACK clock is
 * modelled here: a window of ACKs per round trip, one per segment. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../test_main.h"
#include "core/stack.h"
#include "tcp/tcp_cc.h"
#include "tcp/tcp_conn.h"
#include "ustcp/socket.h"
#include "ustcp/stack.h"
#include "ustcp/ustcp.h"

#define MSS 1448u
#define RTT (40 * USTCP_NS_PER_MS)

static struct ustcp_sock *conn_new(void)
{
	struct ustcp_sock *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->stack = ustcp_stack_new(NULL);
	assert_non_null(c->stack);
	c->cc = tcp_cc_find("cubic");
	assert_ptr_equal(c->cc, &tcp_cc_cubic);
	c->snd_mss = MSS;
	c->snd_una = c->snd_max = 1000;
	c->sack_ok = true;
	c->srtt = RTT;
	c->stack->now = 1000 * USTCP_NS_PER_SEC;
	c->cc->init(c);
	return c;
}

static void conn_free(struct ustcp_sock *c)
{
	ustcp_stack_free(c->stack);
	free(c);
}

/* In congestion avoidance at w segments, all of them in flight, when a
 * loss is found; recovery ends at once (SACK: cwnd = ssthresh). */
static void loss_at(struct ustcp_sock *c, uint32_t w)
{
	c->cwnd = w * MSS;
	c->ssthresh = c->cwnd / 2;
	c->snd_max = c->snd_una + c->cwnd;
	c->cc->on_congestion(c);
	c->cc->after_recovery(c);
}

/* The ACK clock for `ns` of time: each round trip the whole window is
 * acknowledged, a segment at a time spread over the RTT, and sent again. */
static void run_for(struct ustcp_sock *c, uint64_t ns)
{
	uint64_t end = c->stack->now + ns;
	while (c->stack->now < end) {
		uint32_t segs = MAX(c->cwnd / MSS, 1u);
		for (uint32_t i = 0; i < segs; i++) {
			c->stack->now += RTT / segs;
			c->snd_max = c->snd_una + c->cwnd;
			c->cc->on_ack(c, MSS);
			c->snd_una += MSS;
		}
	}
}

static double segs(const struct ustcp_sock *c) { return (double)c->cwnd / MSS; }

/* §4.2: W_cubic(t) in segments, t seconds into the epoch. */
static double w_cubic(double t, double wmax)
{
	return 0.4 * pow(t - cbrt(wmax * 0.3 / 0.4), 3) + wmax;
}

/* §4.3: W_est(t), from beta * W_max, alpha = 3(1-beta)/(1+beta) segments
 * per RTT up to W_max, then one. */
static double w_est(double t, double wmax)
{
	const double alpha = 3 * 0.3 / 1.7, rtt = (double)RTT / 1e9;
	double t_wmax = wmax * 0.3 / alpha * rtt; /* when it reaches W_max */
	return t < t_wmax ? 0.7 * wmax + alpha * t / rtt : wmax + (t - t_wmax) / rtt;
}

/* The bandwidth-delay product of 100 Mbit/s and 40 ms is 345 segments. A
 * loss there: W_max = 345, the window drops to beta * 345 = 241.5, and
 * K = cbrt(W_max (1 - beta) / C) = 6.37 s. The window follows W_cubic up
 * to K and past it, until Reno's estimate, growing by a segment per RTT
 * once it passed W_max, overtakes it (at about 7.8 s). */
static void cubic_follows_the_curve_after_a_loss(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new();
	const double wmax = 345;
	loss_at(c, 345);
	assert_true(fabs(segs(c) - 0.7 * wmax) < 1);
	double at[] = {0.5, 1, 2, 4, 6.37, 7.5, 9};
	double elapsed = 0;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		run_for(c, (uint64_t)((at[i] - elapsed) * 1e9));
		elapsed = at[i];
		double t = at[i], cubic = w_cubic(t, wmax), west = w_est(t, wmax);
		print_message("t %.2f s: cwnd %.1f segments, W_cubic %.1f, W_est %.1f\n", t,
			      segs(c), cubic, west);
		if (t <= 7.5)
			assert_true(cubic > west); /* the cubic region */
		double want = MAX(cubic, west);
		assert_true(fabs(segs(c) - want) <= 0.03 * want);
	}
	conn_free(c);
}

/* At W_max = 100 segments and a 40 ms RTT, Reno would grow faster than the
 * cubic curve: after the first second the window follows W_est. */
static void cubic_reno_friendly_on_a_small_window(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new();
	loss_at(c, 100);
	double at[] = {1, 2, 3, 4};
	double elapsed = 0;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		run_for(c, (uint64_t)((at[i] - elapsed) * 1e9));
		elapsed = at[i];
		double t = at[i], cubic = w_cubic(t, 100), west = w_est(t, 100);
		print_message("t %.0f s: cwnd %.1f segments, W_est %.1f, W_cubic %.1f\n", t,
			      segs(c), west, cubic);
		if (t >= 3)
			assert_true(west > 1.15 * cubic); /* the Reno-friendly region */
		double want = MAX(cubic, west);
		assert_true(fabs(segs(c) - want) <= 0.03 * want);
	}
	conn_free(c);
}

/* §4.7: a loss below the last W_max means another flow took a share: W_max
 * is set to (1 + beta) / 2 of the window, so the curve flattens earlier. */
static void cubic_fast_convergence(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new();
	loss_at(c, 300);
	assert_int_equal((uint32_t)c->cc_priv[1], 300 * MSS);
	loss_at(c, 200); /* below 300 */
	assert_int_equal((uint32_t)c->cc_priv[1], (uint32_t)(200 * MSS * 0.85));
	loss_at(c, 250); /* above 200: W_max is the window */
	assert_int_equal((uint32_t)c->cc_priv[1], 250 * MSS);
	conn_free(c);
}

/* §4.9: when the engine finds a fast retransmit spurious and puts cwnd
 * and ssthresh back, W_max and W_last_max go back to before that
 * reduction too (no fast convergence from a loss that was not), and the
 * next ACK starts a new epoch from the restored window. */
static void cubic_undo_restores_w_max(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new();
	loss_at(c, 300);
	run_for(c, 2 * USTCP_NS_PER_SEC);
	assert_int_equal((uint32_t)c->cc_priv[1], 300 * MSS);
	uint32_t cwnd = c->cwnd, ssthresh = c->ssthresh;
	loss_at(c, 280); /* below W_last_max: fast convergence */
	assert_int_equal((uint32_t)c->cc_priv[1], (uint32_t)(280 * MSS * 0.85));
	c->cwnd = cwnd; /* what tcp_undo_recovery does first */
	c->ssthresh = ssthresh;
	c->cc->undo(c);
	assert_int_equal((uint32_t)c->cc_priv[1], 300 * MSS);
	assert_int_equal((uint32_t)(c->cc_priv[1] >> 32), 300 * MSS);
	assert_int_equal(c->cc_priv[0], 0);
	c->snd_max = c->snd_una + c->cwnd;
	c->cc->on_ack(c, MSS);
	assert_true(c->cc_priv[0] != 0); /* the new epoch */
	assert_true(c->cwnd >= cwnd);
	conn_free(c);
}

/* §4.6: ssthresh = beta * flight; the timeout (§4.8) leaves one segment
 * and a repeated timeout of the same data keeps the first reduction. */
static void cubic_decrease_and_timeout(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new();
	c->cwnd = 200 * MSS;
	c->snd_max = c->snd_una + 100 * MSS;
	c->cc->on_congestion(c);
	assert_int_equal(c->ssthresh, (uint32_t)(100 * MSS * 0.7));
	c->cwnd = 200 * MSS;
	c->snd_max = c->snd_una + 200 * MSS;
	c->backoff = 1;
	c->cc->on_rto(c);
	assert_int_equal(c->cwnd, MSS);
	assert_int_equal(c->ssthresh, (uint32_t)(200 * MSS * 0.7));
	c->backoff = 2;
	c->snd_max = c->snd_una + 10 * MSS;
	c->cc->on_rto(c);
	assert_int_equal(c->ssthresh, (uint32_t)(200 * MSS * 0.7));
	conn_free(c);
}

/* A sender the window does not limit does not grow it (§5.8). */
static void cubic_no_growth_when_application_limited(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new();
	loss_at(c, 200);
	uint32_t cwnd = c->cwnd;
	for (int i = 0; i < 1000; i++) {
		c->stack->now += USTCP_NS_PER_MS;
		c->snd_max = c->snd_una + MSS; /* one segment in flight */
		c->cc->on_ack(c, MSS);
		c->snd_una += MSS;
	}
	assert_int_equal(c->cwnd, cwnd);
	conn_free(c);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(cubic_follows_the_curve_after_a_loss),
	cmocka_unit_test(cubic_reno_friendly_on_a_small_window),
	cmocka_unit_test(cubic_fast_convergence),
	cmocka_unit_test(cubic_undo_restores_w_max),
	cmocka_unit_test(cubic_decrease_and_timeout),
	cmocka_unit_test(cubic_no_growth_when_application_limited),
};

USTCP_TEST_MAIN(tests)
