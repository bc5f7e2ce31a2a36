/* tcp_cc.h — congestion control behind an ops table (internal to tcp/).
 *
 * The engine detects the events (new data acknowledged, three duplicate
 * ACKs, a retransmission timeout, an idle restart, the end of fast
 * recovery) and runs the loss recovery itself (RFC 6582's retransmissions
 * and window inflation); the algorithm decides only cwnd and ssthresh. Each
 * connection has its own private state (cc_priv) for the algorithm to use.
 * An algorithm is chosen per socket by name. */
#ifndef USTCP_TCP_CC_H
#define USTCP_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

struct ustcp_sock;

struct tcp_cc_ops {
	const char *name;
	/* The connection is established: set the initial window. */
	void (*init)(struct ustcp_sock *c);
	/* acked new bytes were acknowledged outside recovery: grow cwnd. */
	void (*on_ack)(struct ustcp_sock *c, uint32_t acked);
	/* Loss found by duplicate ACKs: set ssthresh and the recovery cwnd. */
	void (*on_congestion)(struct ustcp_sock *c);
	/* Fast recovery ended with a full acknowledgment: deflate cwnd. */
	void (*after_recovery)(struct ustcp_sock *c);
	/* Retransmission timeout: collapse cwnd (RFC 5681 §3.1). */
	void (*on_rto)(struct ustcp_sock *c);
	/* Sending again after an idle period longer than the RTO (RFC 5681 §4.1). */
	void (*after_idle)(struct ustcp_sock *c);
	/* The last fast recovery was spurious (D-SACK): cwnd and ssthresh are
	 * back to before it; put the algorithm's own state back. May be NULL. */
	void (*undo)(struct ustcp_sock *c);
};

/* HyStart++ (RFC 9406): leave the initial slow start when the RTT shows a
 * queue building, before the doubling overruns it, through a few rounds of
 * conservative slow start. Any algorithm may use it for its slow start. */
struct tcp_hystart {
	uint32_t window_end;                    /* the round ends when this is acknowledged */
	uint32_t samples;                       /* RTT samples in this round */
	uint64_t last_round_min, cur_round_min; /* ns; UINT64_MAX = none */
	uint64_t css_baseline;                  /* min RTT when conservative slow start began */
	uint8_t css_rounds;                     /* rounds spent in conservative slow start */
	bool in_css, done;
};
void tcp_hystart_init(struct ustcp_sock *c);
/* Slow start growth for acked bytes, with HyStart++ deciding when to stop. */
void tcp_hystart_slow_start(struct ustcp_sock *c, uint32_t acked);

extern const struct tcp_cc_ops tcp_cc_newreno;
extern const struct tcp_cc_ops tcp_cc_cubic; /* RFC 9438 (tcp_cc_cubic.c) */

/* RFC 5681 §3.1 and RFC 7661: whether the window is what limits the sender
 * (at least half of it was in flight before this ACK); only then may it grow. */
bool tcp_cc_cwnd_limited(const struct ustcp_sock *c, uint32_t acked);

/* The algorithm with this name, or NULL. */
const struct tcp_cc_ops *tcp_cc_find(const char *name);

#endif
