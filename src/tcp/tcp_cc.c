/* tcp_cc.c — the congestion control registry and NewReno (RFC 5681 with
 * appropriate byte counting, RFC 3465; fast recovery per RFC 6582; initial
 * window per RFC 6928). */
#include <string.h>

#include "tcp/tcp_cc.h"
#include "tcp/tcp_conn.h"
#include "ustcp/socket.h"
#include "ustcp/ustcp.h"

/* RFC 5681 §3.1 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS). */
static uint32_t half_flight(const struct ustcp_sock *c)
{
	uint32_t flight = c->snd_max - c->snd_una;
	return MAX(flight / 2, 2u * c->snd_mss);
}

/* RFC 9406 §4.3 constants. Without pacing, L limits growth per ACK. */
#define HS_MIN_RTT_THRESH (4 * USTCP_NS_PER_MS)
#define HS_MAX_RTT_THRESH (16 * USTCP_NS_PER_MS)
#define HS_MIN_RTT_DIVISOR 8
#define HS_N_RTT_SAMPLE 8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS 5
#define HS_L 8

void tcp_hystart_init(struct ustcp_sock *c)
{
	struct tcp_hystart *h = &c->hystart;
	memset(h, 0, sizeof(*h));
	h->last_round_min = h->cur_round_min = UINT64_MAX;
	h->window_end = c->snd_nxt;
}

/* A round (one RTT) ends when the data sent at its start is acknowledged. */
static bool hystart_new_round(struct ustcp_sock *c)
{
	struct tcp_hystart *h = &c->hystart;
	if (seq_lt(c->snd_una, h->window_end))
		return false;
	h->last_round_min = h->cur_round_min;
	h->cur_round_min = UINT64_MAX;
	h->samples = 0;
	h->window_end = c->snd_max;
	return true;
}

void tcp_hystart_slow_start(struct ustcp_sock *c, uint32_t acked)
{
	struct tcp_hystart *h = &c->hystart;
	uint32_t mss = c->snd_mss;
	/* RFC 3465 §2.3: L = 1 MSS while resending what a timeout found lost. */
	uint32_t l = tcp_in_rto_recovery(c) ? mss : 2u * mss;
	if (h->done || !c->ts_ok) {
		c->cwnd += MIN(acked, l);
		return;
	}
	bool round = hystart_new_round(c);
	if (c->ack_rtt) {
		h->cur_round_min = MIN(h->cur_round_min, c->ack_rtt);
		h->samples++;
	}
	if (!h->in_css) {
		c->cwnd += MIN(acked, HS_L * mss);
		if (h->samples >= HS_N_RTT_SAMPLE && h->cur_round_min != UINT64_MAX &&
		    h->last_round_min != UINT64_MAX) {
			uint64_t thresh = h->last_round_min / HS_MIN_RTT_DIVISOR;
			thresh = MAX(HS_MIN_RTT_THRESH, MIN(thresh, HS_MAX_RTT_THRESH));
			if (h->cur_round_min >= h->last_round_min + thresh) {
				h->in_css = true; /* §4.2: the RTT grew: a queue is forming */
				h->css_baseline = h->cur_round_min;
				h->css_rounds = 0;
			}
		}
		return;
	}
	c->cwnd += MIN(acked, HS_L * mss) / HS_CSS_GROWTH_DIVISOR;
	if (h->samples >= HS_N_RTT_SAMPLE && h->cur_round_min < h->css_baseline) {
		h->in_css = false; /* the RTT came back down: that was noise */
		return;
	}
	if (round && ++h->css_rounds >= HS_CSS_ROUNDS) {
		c->ssthresh = c->cwnd; /* §4.2: on to congestion avoidance */
		h->done = true;
	}
}

static void newreno_init(struct ustcp_sock *c)
{
	/* RFC 6928: min(10 * MSS, max(2 * MSS, 14600)) with IW = 10. */
	uint32_t iw = c->stack->cfg.initial_window;
	c->cwnd = iw * c->snd_mss;
	if (iw >= 10)
		c->cwnd = MIN(c->cwnd, MAX(2u * c->snd_mss, 14600u));
	c->ssthresh = UINT32_MAX;
	tcp_hystart_init(c);
}

/* RFC 5681 §3.1 and RFC 7661: the window grows only while it is what
 * limits the sender (here: at least half of it was in flight before this
 * ACK); a sender held back by the peer's window or the application would
 * otherwise grow cwnd without bound and without evidence. */
bool tcp_cc_cwnd_limited(const struct ustcp_sock *c, uint32_t acked)
{
	uint64_t flight_before = (uint64_t)(c->snd_max - c->snd_una) + acked;
	return 2 * flight_before >= c->cwnd;
}

static void newreno_on_ack(struct ustcp_sock *c, uint32_t acked)
{
	uint32_t mss = c->snd_mss;
	if (!tcp_cc_cwnd_limited(c, acked) || c->cwnd > UINT32_MAX / 4)
		return;
	if (c->cwnd < c->ssthresh) {
		/* RFC 3465 §2.2: slow start by bytes acknowledged. */
		tcp_hystart_slow_start(c, acked);
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
	c->hystart.done = true; /* RFC 9406 §4.1: only the initial slow start */
	c->cc_priv[0] = 0;
}

static void newreno_after_recovery(struct ustcp_sock *c)
{
	if (c->sack_ok) {
		/* RFC 6675 §5: recovery ran at cwnd = ssthresh, paced by the
		 * scoreboard; it goes on from there. */
		c->cwnd = c->ssthresh;
		return;
	}
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
	c->hystart.done = true;
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

static const struct tcp_cc_ops *const algorithms[] = {&tcp_cc_newreno, &tcp_cc_cubic};
static const char *const names[] = {"newreno", "cubic", NULL};

const struct tcp_cc_ops *tcp_cc_find(const char *name)
{
	for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
		if (strcmp(algorithms[i]->name, name) == 0)
			return algorithms[i];
	return NULL;
}

const char *const *ustcp_cc_names(void) { return names; }
