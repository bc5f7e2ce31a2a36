/* tcp_cc.c — the congestion control registry and NewReno (RFC 5681 with
 * appropriate byte counting, RFC 3465; fast recovery per RFC 6582; initial
 * window per RFC 6928). */
#include <string.h>

#include "tcp/tcp_cc.h"
#include "tcp/tcp_conn.h"
#include "ustcp/socket.h"

/* RFC 5681 §3.1 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS). */
static uint32_t half_flight(const struct ustcp_sock *c)
{
	uint32_t flight = c->snd_max - c->snd_una;
	return MAX(flight / 2, 2u * c->snd_mss);
}

static void newreno_init(struct ustcp_sock *c)
{
	/* RFC 6928: min(10 * MSS, max(2 * MSS, 14600)) with IW = 10. */
	uint32_t iw = c->stack->cfg.initial_window;
	c->cwnd = iw * c->snd_mss;
	if (iw >= 10)
		c->cwnd = MIN(c->cwnd, MAX(2u * c->snd_mss, 14600u));
	c->ssthresh = UINT32_MAX;
}

static void newreno_on_ack(struct ustcp_sock *c, uint32_t acked)
{
	uint32_t mss = c->snd_mss;
	if (c->cwnd < c->ssthresh) {
		/* RFC 3465 §2.2: slow start by bytes acknowledged, at most L = 2 MSS;
		 * §2.3: L = 1 MSS while resending what a timeout found lost. */
		uint32_t l = seq_lt(c->snd_una, c->rto_recover) ? mss : 2u * mss;
		c->cwnd += MIN(acked, l);
		return;
	}
	/* RFC 3465 §2.1 congestion avoidance: one MSS per cwnd bytes acked,
	 * counted in cc_priv[0]. */
	c->cc_priv[0] += acked;
	if (c->cc_priv[0] >= c->cwnd) {
		c->cc_priv[0] -= c->cwnd;
		c->cwnd += mss;
	}
}

static void newreno_on_congestion(struct ustcp_sock *c)
{
	/* RFC 6582 §3.2 step 2 / RFC 5681 §3.2 steps 2-3. */
	c->ssthresh = half_flight(c);
	c->cwnd = c->ssthresh + 3u * c->snd_mss;
	c->cc_priv[0] = 0;
}

static void newreno_after_recovery(struct ustcp_sock *c)
{
	/* RFC 6582 §3.2 step 3, full acknowledgment: option (1),
	 * min(ssthresh, max(FlightSize, SMSS) + SMSS). */
	uint32_t flight = c->snd_max - c->snd_una;
	c->cwnd = MIN(c->ssthresh, MAX(flight, (uint32_t)c->snd_mss) + c->snd_mss);
}

static void newreno_on_rto(struct ustcp_sock *c)
{
	/* RFC 5681 §3.1 eq. 4; the loss window is one segment. Repeated
	 * timeouts of the same data keep the first halving (§3.1 note). */
	if (c->backoff <= 1)
		c->ssthresh = half_flight(c);
	c->cwnd = c->snd_mss;
	c->cc_priv[0] = 0;
}

static void newreno_after_idle(struct ustcp_sock *c)
{
	/* RFC 5681 §4.1: restart window = min(IW, cwnd). */
	uint32_t ssthresh = c->ssthresh;
	uint32_t cwnd = c->cwnd;
	newreno_init(c);
	c->cwnd = MIN(c->cwnd, cwnd);
	c->ssthresh = ssthresh;
}

const struct tcp_cc_ops tcp_cc_newreno = {
	.name = "newreno",
	.init = newreno_init,
	.on_ack = newreno_on_ack,
	.on_congestion = newreno_on_congestion,
	.after_recovery = newreno_after_recovery,
	.on_rto = newreno_on_rto,
	.after_idle = newreno_after_idle,
};

static const struct tcp_cc_ops *const algorithms[] = {&tcp_cc_newreno};
static const char *const names[] = {"newreno", NULL};

const struct tcp_cc_ops *tcp_cc_find(const char *name)
{
	for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
		if (strcmp(algorithms[i]->name, name) == 0)
			return algorithms[i];
	return NULL;
}

const char *const *ustcp_cc_names(void) { return names; }
