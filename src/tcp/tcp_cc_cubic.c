/* tcp_cc_cubic.c — CUBIC (RFC 9438) behind the congestion control ops:
 * after a congestion event the window follows W_cubic(t) = C(t-K)^3 + W_max
 * (§4.2), never below what Reno would reach (the Reno-friendly region,
 * §4.3), with fast convergence (§4.7) and the multiplicative decrease
 * beta = 0.7 (§4.6). Slow start is HyStart++ as NewReno's (§4.10).
 *
 * Windows are in bytes in the connection and in segments in the formulas
 * (the RFC's units); time is the stack's clock in nanoseconds. The state
 * lives in cc_priv: [0] the start of the congestion avoidance epoch (0: none
 * yet), [1] W_max and W_last_max in bytes (low and high 32 bits), [2] K in
 * nanoseconds, [3] W_est in bytes and the bytes acknowledged towards its
 * next growth (low and high 32 bits), [4] [1] as it was before the last
 * reduction (for its undo). */
#include <math.h>

#include "core/stack.h"
#include "tcp/tcp_cc.h"
#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"

#define CUBIC_C 0.4    /* §5.1: segments per second cubed */
#define CUBIC_BETA 0.7 /* §4.6 */

static uint32_t lo(uint64_t v) { return (uint32_t)v; }
static uint32_t hi(uint64_t v) { return (uint32_t)(v >> 32); }
static uint64_t pack(uint32_t l, uint32_t h) { return (uint64_t)h << 32 | l; }

static uint32_t w_max(const struct ustcp_sock *c) { return lo(c->cc_priv[1]); }

/* W_cubic(t) in bytes, t in nanoseconds since the epoch began (§4.2). */
static double w_cubic(const struct ustcp_sock *c, uint64_t t)
{
	double mss = c->snd_mss;
	double x = ((double)t - (double)c->cc_priv[2]) / 1e9;
	return CUBIC_C * x * x * x * mss + (double)w_max(c);
}

/* A new epoch: K from where the window starts (§4.2, eq. 2). */
static void epoch_begin(struct ustcp_sock *c)
{
	double mss = c->snd_mss;
	uint32_t wmax = w_max(c);
	c->cc_priv[0] = c->stack->now ? c->stack->now : 1;
	if (wmax < c->cwnd) {
		/* Above the last W_max (or none yet): grow from here. */
		c->cc_priv[1] = pack(c->cwnd, hi(c->cc_priv[1]));
		c->cc_priv[2] = 0;
	} else {
		double k = cbrt((double)(wmax - c->cwnd) / mss / CUBIC_C);
		c->cc_priv[2] = (uint64_t)(k * 1e9);
	}
	c->cc_priv[3] = pack(c->cwnd, 0); /* §4.3: W_est starts at cwnd_epoch */
}

static void cubic_init(struct ustcp_sock *c)
{
	tcp_cc_newreno.init(c);
	for (int i = 0; i < 5; i++)
		c->cc_priv[i] = 0;
}

/* §4.3: W_est grows by alpha_cubic segments per window of bytes acked;
 * alpha is 3(1-beta)/(1+beta) until W_est reaches W_max, then 1. */
static uint32_t reno_friendly(struct ustcp_sock *c, uint32_t acked)
{
	uint32_t west = lo(c->cc_priv[3]);
	uint64_t count = (uint64_t)hi(c->cc_priv[3]) + acked;
	double alpha = west >= w_max(c) ? 1.0 : 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
	/* One MSS * alpha for each cwnd bytes acknowledged. */
	while (count >= c->cwnd) {
		count -= c->cwnd;
		west += (uint32_t)(alpha * c->snd_mss);
	}
	c->cc_priv[3] = pack(west, (uint32_t)count);
	return west;
}

static void cubic_on_ack(struct ustcp_sock *c, uint32_t acked)
{
	/* Only a sender the window limits grows it (§5.8), as NewReno. */
	if (!tcp_cc_cwnd_limited(c, acked) || c->cwnd > UINT32_MAX / 4)
		return;
	if (c->cwnd < c->ssthresh) {
		tcp_hystart_slow_start(c, acked);
		return;
	}
	if (!c->cc_priv[0])
		epoch_begin(c);
	uint64_t t = c->stack->now - c->cc_priv[0];
	uint32_t west = reno_friendly(c, acked);
	/* §4.2: the target is W_cubic one RTT ahead, kept within
	 * [cwnd, 1.5 cwnd]. */
	double target = w_cubic(c, t + c->srtt);
	target = MAX(target, (double)c->cwnd);
	target = MIN(target, 1.5 * c->cwnd);
	if (west > target) {
		/* §4.3: the Reno-friendly region: at least what Reno reaches. */
		c->cwnd = west;
		return;
	}
	/* §4.4, §4.5: cwnd grows by (target - cwnd) / cwnd per MSS acked. */
	double inc = (target - c->cwnd) * (double)acked / c->cwnd;
	c->cwnd += (uint32_t)inc;
}

/* §4.6 and §4.7: the window when congestion was found becomes W_max, less
 * if it is below the last one (another flow is taking a share); ssthresh is
 * beta of the flight. */
static void reduce(struct ustcp_sock *c)
{
	uint32_t cwnd = c->cwnd, last = hi(c->cc_priv[1]);
	uint32_t wmax = cwnd;
	c->cc_priv[4] = c->cc_priv[1];
	if (cwnd < last)
		wmax = (uint32_t)(cwnd * (1 + CUBIC_BETA) / 2);
	c->cc_priv[1] = pack(wmax, cwnd);
	c->cc_priv[0] = 0; /* a new epoch at the next ACK in congestion avoidance */
	uint32_t flight = c->snd_max - c->snd_una;
	c->ssthresh = MAX((uint32_t)(flight * CUBIC_BETA), 2u * c->snd_mss);
	c->hystart.done = true;
}

static void cubic_on_congestion(struct ustcp_sock *c)
{
	reduce(c);
	c->cwnd = c->ssthresh + 3u * c->snd_mss; /* as NewReno's recovery begins */
}

static void cubic_on_rto(struct ustcp_sock *c)
{
	/* Repeated timeouts of the same data keep the first reduction. */
	if (c->backoff <= 1)
		reduce(c);
	c->cwnd = c->snd_mss;
}

/* §4.9: a spurious fast retransmit found (D-SACK): the engine has put back
 * cwnd and ssthresh; W_max and W_last_max go back too, and a new epoch
 * starts from the restored window at the next ACK (K from where it is on
 * the old curve). */
static void cubic_undo(struct ustcp_sock *c)
{
	c->cc_priv[1] = c->cc_priv[4];
	c->cc_priv[0] = 0;
}

/* Recovery ends as NewReno's does (RFC 6675 §5 / RFC 6582 §3.2). */
static void cubic_after_recovery(struct ustcp_sock *c) { tcp_cc_newreno.after_recovery(c); }

static void cubic_after_idle(struct ustcp_sock *c)
{
	/* RFC 5681 §4.1 as NewReno, and §5.8: the idle time is no part of the
	 * curve, so the epoch starts again. */
	uint64_t keep[5] = {0, c->cc_priv[1], 0, 0, c->cc_priv[4]};
	tcp_cc_newreno.after_idle(c);
	for (int i = 0; i < 5; i++)
		c->cc_priv[i] = keep[i];
}

const struct tcp_cc_ops tcp_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.on_ack = cubic_on_ack,
	.on_congestion = cubic_on_congestion,
	.after_recovery = cubic_after_recovery,
	.on_rto = cubic_on_rto,
	.after_idle = cubic_after_idle,
	.undo = cubic_undo,
};
