/* tcp_conn.h — the transmission control block and the tcp layer's tables
 * (internal to tcp/ and api/).
 *
 * A connection (struct ustcp_sock) lives in a fixed pool. It is found by a
 * keyed hash of its 4-tuple; listeners sit in a separate list. Its fields
 * carry RFC 9293's names. Ownership: a socket is held by the user
 * (user_owned), by its listener (queued children), or by nobody (an
 * orphan the stack finishes alone); a connection that reaches CLOSED with
 * no owner is reaped at the end of the current event, never in the middle. */
#ifndef USTCP_TCP_CONN_H
#define USTCP_TCP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <bsd/sys/tree.h>

#include "core/addr.h"
#include "core/hash.h"
#include "core/ring.h"
#include "core/seq.h"
#include "core/stack.h"
#include "core/util.h"
#include "tcp/tcp_cc.h"
#include "tcp/tcp_ports.h"
#include "tcp/tcp_reass.h"
#include "wire/wire.h"

/* One stretch of sent data in the send map (RFC 8985 §5.2's per-segment
 * state): the segments sent in one event share a transmit time and form one
 * record until SACK blocks or retransmissions cut it. */
#define TCP_REC_RETRANS 1u /* sent more than once: RTT samples are ambiguous */
#define TCP_REC_SACKED 2u  /* the peer holds it */
#define TCP_REC_LOST 4u    /* deemed lost, not yet sent again */

struct tcp_sendrec {
	uint32_t start, end;          /* [start, end) in sequence space */
	uint64_t xmit_ts;             /* latest transmission */
	uint32_t xmit_event;          /* ...in this event of the stack (stack.h) */
	uint8_t flags;                /* TCP_REC_* */
	bool fresh;                   /* new data not yet in the tree: on the fresh list */
	RB_ENTRY(tcp_sendrec) by_seq; /* in the map */
	union {
		RB_ENTRY(tcp_sendrec) by_lost;     /* in the lost tree, while TCP_REC_LOST */
		TAILQ_ENTRY(tcp_sendrec) by_fresh; /* on the fresh list, while fresh */
	};
	/* On the sent list (neither SACKed nor lost), the lost list, or free. */
	TAILQ_ENTRY(tcp_sendrec) by_time;
};

RB_HEAD(tcp_sendrec_tree, tcp_sendrec);
RB_HEAD(tcp_lost_tree, tcp_sendrec);
TAILQ_HEAD(tcp_sendrec_list, tcp_sendrec);

/* The records of everything outstanding, from a pool of cap records: a
 * red-black tree by sequence (SACK blocks and retransmissions find their
 * records in O(log n)); the records neither SACKed nor lost in the order
 * RACK judges them, by transmit time then end (RFC 8985 RACK_sent_after),
 * so that loss detection looks only at the oldest; and the lost ones, by
 * sequence for resending and in the order marked for an undo. Cumulative
 * ACKs take records from the front. New data goes on a fresh list first
 * and into the tree only when something needs the tree (a SACK block, a
 * retransmission, a loss): a transfer that loses nothing never pays for
 * it.
 *
 * The map's room, with the RACK-TLP state that only a map needs (RFC
 * 8985 §5.2, its names) and their timer, is one allocation made with the
 * send buffer (tcp_rack_alloc): a connection that never sends data has
 * none. */
struct tcp_sendmap_room {
	struct ustcp_sock *conn;           /* whose map (for the timer) */
	uint32_t cap, used;                /* records in the pool; of them ever handed out */
	uint32_t n;                        /* records in the map */
	uint32_t lost_bytes;               /* in records marked lost */
	struct tcp_sendrec_tree seq;       /* every record but the fresh ones */
	struct tcp_sendrec_list fresh;     /* new data after the tree's records */
	struct tcp_sendrec *last;          /* the highest in it, where new data goes */
	struct tcp_lost_tree lost;         /* the records marked lost */
	struct tcp_sendrec_list sent;      /* neither SACKed nor lost, oldest first */
	struct tcp_sendrec_list lost_list; /* marked lost, in the order marked */
	struct tcp_sendrec_list free;      /* records given back */
	/* RACK */
	bool delivered;         /* xmit_ts/end_seq name a delivered segment */
	bool dsack_round_valid; /* RACK.dsack_round is set */
	bool tlp_pending;       /* TLP.end_seq is set: a probe awaits its ACK */
	bool tlp_is_retrans;    /* TLP.is_retrans */
	uint32_t end_seq;       /* RACK.end_seq */
	uint64_t xmit_ts;       /* RACK.xmit_ts: latest transmission delivered */
	uint32_t xmit_event;    /* its event (RACK_sent_after) */
	uint64_t rtt;           /* RACK.rtt */
	uint32_t fack;          /* RACK.fack: highest sequence delivered */
	uint32_t dsack_round;   /* RACK.dsack_round */
	uint64_t reo_at;        /* reordering timer deadline, 0: none */
	uint64_t pto_at;        /* tail loss probe deadline, 0: none */
	uint32_t tlp_end_seq;   /* TLP.end_seq */
	struct tw_timer timer;  /* the reordering timer and the PTO */
	struct tcp_sendrec pool[];
};

/* Where the send map is, and the work it has done over the connection's
 * life (records looked at, for the tests that bound the work per ACK). */
struct tcp_sendmap {
	struct tcp_sendmap_room *room; /* NULL: none (no data sent yet, no SACK, no memory) */
	uint64_t visits;
};

/* RACK-TLP state that outlives a send map (RFC 8985 §5.2, its names). */
struct tcp_rack {
	struct tcp_sendmap map;
	bool active;             /* the map holds all data outstanding: RACK decides loss */
	bool reordering_seen;    /* RACK.reordering_seen */
	uint8_t reo_wnd_mult;    /* RACK.reo_wnd_mult */
	uint8_t reo_wnd_persist; /* RACK.reo_wnd_persist */
};

/* The range sets of a connection that moves data, allocated with its
 * buffers (tcp_ensure_buffers): the receiver's out-of-order queue and the
 * sender's SACK scoreboard. */
struct tcp_ranges {
	struct tcp_reass reass; /* out-of-order ranges held beyond rcv_nxt */
	struct seqset sacked;   /* SACK scoreboard: ranges above snd_una the peer holds */
};

/* Per-socket options (ustcp_setsockopt) that a listener's children take
 * over. Sockets share a block until one changes an option
 * (tcp_sockopts_own copies it then): the stack's defaults serve every
 * socket that sets nothing, and a listener's block its children. */
struct tcp_sockopts {
	uint32_t refs; /* sockets using it; 0: the stack's defaults, never freed */
	uint32_t opt_sndbuf, opt_rcvbuf;
	uint16_t user_mss; /* USTCP_TCP_MAXSEG; 0: none */
	uint8_t keep_cnt;
	bool nodelay, quickack, keepalive, cork;
	uint64_t ack_delay, keep_idle, keep_intvl, user_timeout, rto_min;
	uint64_t rcvtimeo, sndtimeo; /* 0: none */
	uint64_t linger;             /* UINT64_MAX: off (close returns at once) */
};

/* A listener's queue (made by ustcp_listen). */
struct tcp_listen_queue {
	struct dlist children; /* SYN-RECEIVED children, then completed ones */
	uint16_t backlog, n_syn, n_done;
	uint64_t cookie_at; /* when a SYN was last answered with a cookie; 0: never */
};

/* The TCB. What segment processing touches per segment comes first, in as
 * few cache lines as it takes; what an idle connection keeps but rarely
 * reads follows; what only some connections need is out of line: the
 * range sets and the send map (allocated with the buffers), the options
 * (shared until set), a listener's queue. */
struct ustcp_sock {
	/* ---- per segment ---- */
	struct ustcp_stack *stack; /* first: tcp_conn_alloc never clears it */
	struct ustcp_sock *hnext;  /* hash chain / free list / reap list */
	uint16_t lport, rport;
	uint8_t state;              /* enum ustcp_state */
	uint8_t ev_state;           /* state when the current event began (for the trace) */
	uint8_t hdr_room;           /* Ethernet + IP header bytes in front of our segments */
	uint8_t recovery;           /* enum tcp_recovery */
	struct ipaddr laddr, raddr; /* IPv4 as IPv4-mapped (core/addr.h) */
	uint64_t id;

	/* RFC 9293 §3.3.1 send sequence variables */
	uint32_t iss, snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2;
	uint32_t snd_max;     /* highest sequence sent: snd_nxt goes back on RTO */
	uint32_t max_snd_wnd; /* largest window the peer offered (RFC 5961 §5.2) */
	/* receive sequence variables */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv;     /* right edge we last advertised */
	uint16_t snd_mss;     /* largest segment payload we send (after options) */
	uint16_t rcv_mss;     /* the MSS we announce: our MTU less the IP and TCP headers */
	uint16_t peer_mss;    /* min(the peer's MSS option, ours): options + data fit in it */
	uint16_t rcv_seg_max; /* largest payload received: a "full-sized" segment */
	uint32_t offloads;    /* USTCP_OFFLOAD_* of the interface towards raddr */

	/* Options negotiated on the SYN (RFC 7323, RFC 2018). */
	uint8_t snd_wscale, rcv_wscale; /* shift of the peer's window / of ours */
	bool ws_ok, ts_ok, sack_ok;
	bool ack_pending;       /* an ACK must go at the end of this input */
	bool rtt_active;        /* timing the segment that ends at rtt_seq */
	bool snd_up_valid;      /* snd_up marks urgent data not yet acknowledged */
	uint32_t ts_recent;     /* RFC 7323 §4.3: TS.Recent */
	uint32_t last_ack_sent; /* RFC 7323 §4.3: Last.ACK.sent */
	uint64_t ts_recent_age; /* when ts_recent was set (PAWS §5.5 24-day rule) */
	uint32_t ts_offset;     /* random offset of our TSval clock (RFC 7323 §5.4) */

	uint32_t snd_buf_seq;      /* sequence number of the first byte in sndbuf */
	struct ring sndbuf;        /* unacknowledged + unsent data, from snd_buf_seq */
	struct ring rcvbuf;        /* in-order data not yet read, then room for out-of-order data */
	struct tcp_ranges *ranges; /* with the buffers: out-of-order queue, scoreboard */
	struct tcp_sockopts *opt;  /* the stack's defaults, a listener's, or its own */
	uint32_t delack_bytes;     /* data received since our last ACK (RFC 1122 §4.2.3.2) */
	uint32_t probes_unanswered; /* window probes since the peer last said anything */

	/* Congestion control (RFC 5681) behind cc; loss recovery (RFC 6582). */
	const struct tcp_cc_ops *cc;
	uint32_t cwnd, ssthresh;
	uint64_t cc_priv[5];
	struct tcp_hystart hystart; /* RFC 9406 state of the initial slow start */
	uint64_t ack_rtt;           /* RTT sample taken from the latest ACK, 0 if none */
	uint32_t recover;           /* RFC 6582: snd_max when the phase began; it ends when acked */
	uint32_t dupacks;           /* consecutive duplicate ACKs */
	uint32_t dsack_left, dsack_right; /* a duplicate to report (RFC 2883); equal: none */
	uint32_t rexmt_next; /* RFC 6675 HighRxt + 1: resent up to here in this recovery */
	uint8_t reordering;  /* duplicate ACKs that mean loss (3, raised by spurious ones) */
	uint8_t backoff;     /* consecutive retransmission timeouts (Karn: kept until a sample) */
	uint8_t persist_backoff; /* consecutive window probes of this closed window */
	uint8_t keep_probes;     /* keepalives sent without answer */
	struct tcp_rack rack;    /* RACK-TLP loss detection (SACK connections) */
	uint64_t last_send;      /* when data was last sent (RFC 5681 §4.1 idle restart) */
	uint64_t last_rcv;       /* when a segment last arrived */
	uint64_t una_time;       /* when the oldest unacknowledged data was sent (user timeout) */

	/* Retransmission timer (RFC 6298) and its state. */
	uint32_t rtt_seq;
	uint32_t retransmits; /* segments sent again (ustcp_sock_info) */
	uint64_t rtt_start;
	uint64_t srtt, rttvar, rto; /* ns; srtt == 0: no sample yet */
	uint64_t min_rtt;
	struct tw_timer t_rexmt; /* retransmit, SYN retry, zero-window probe */
	struct tw_timer t_delack;

	/* Statistics (ustcp_sock_info) counted per segment. */
	uint64_t bytes_acked, bytes_received, segs_out, segs_in;

	/* ---- the rest ---- */
	bool fin_queued; /* user shut down sending: FIN follows the data */
	bool fin_rcvd;   /* peer's FIN received (rcv_nxt counts it) */
	bool rcv_closed; /* user closed: no more data may be delivered */
	bool rcv_shut;   /* shutdown(SHUT_RD): nothing more is read, data is dropped */
	/* A FIN that arrived out of order, processed when the data before it is in. */
	bool fin_ooo;
	/* Text (and FIN) of a SYN received in SYN-SENT, held at RCV.NXT in the
	 * receive ring until ESTABLISHED (RFC 9293 §3.10.7.3). */
	bool held_fin;
	bool undo_ok; /* the last fast retransmit may still prove spurious */
	/* Urgent data (RFC 6093: the pointer marks the byte after it). */
	bool rcv_up_valid;
	uint32_t snd_up, rcv_up;
	uint32_t fin_ooo_seq;
	uint32_t held_len;
	uint32_t undo_seq;                   /* what the fast retransmit resent started here */
	uint32_t prior_cwnd, prior_ssthresh; /* the window before that recovery */
	uint32_t challenge_count; /* RFC 5961 §7: challenge ACKs sent in challenge_epoch */
	uint64_t persist_since;   /* first window probe of this closed window, 0 if none */

	/* Keepalive (RFC 1122 §4.2.3.6) and the user timeout; TIME-WAIT. */
	struct tw_timer t_keep;
	struct tw_timer t_close; /* TIME-WAIT 2*MSL, orphaned FIN-WAIT-2 */

	/* RFC 5961 §7: challenge ACKs, and ACKs to unusable segments. */
	uint64_t oow_ack_next;    /* from when an unusable empty segment may be answered */
	uint64_t challenge_epoch; /* the second challenge_count counts in */

	/* Statistics (ustcp_sock_info) of rarer events. */
	uint32_t fast_retransmits, rto_expirations, dup_acks_total, zw_probes;

	int error;      /* negative errno reported to the user */
	int soft_error; /* the last soft error, reported if the connection times out */

	/* Ownership, listening and the user's side. */
	struct dlist link; /* listener: on the listeners; child: on its listener's queue */
	struct ustcp_sock *listener;    /* child: its listener until accepted */
	struct tcp_listen_queue *queue; /* listener: its children (ustcp_listen) */
	bool user_owned;                /* the user holds this pointer */
	bool unopened;                  /* made by ustcp_socket, not yet connected */
	bool passive;                   /* created from a listener */
	bool hashed;
	bool reaped_pending;
	bool in_use;              /* the slot holds a connection (the pool's free ones do not) */
	bool bound;               /* ustcp_bind gave the local address and port */
	bool soft_error_untaken;  /* soft_error is not yet taken by ustcp_sock_take_error */
	bool cookies_always;      /* USTCP_TCP_SYNCOOKIES: a listener cookies every SYN */
	bool nonblock, reuseaddr; /* socket options a child does not take from its listener */
	/* What the stack's counts hold of it (tcp_conn_account). */
	bool port_held, port_held_tw, closing_counted;
	uint8_t kind;               /* enum tcp_kind it is counted as */
	uint16_t callers;           /* threads inside a blocking call on it: not freed meanwhile */
	struct stack_notice notice; /* user events waiting for the end of the event */
	void *user;
	/* Zero-copy receive: unread bytes at the head of rcvbuf that
	 * ustcp_recv_zc handed out in place; ustcp_recv_done gives them back. */
	uint32_t zc_viewed;
};

/* What the limits count a connection as (ustcp_config's max_*). */
enum tcp_kind {
	TCP_KIND_NONE,        /* free, CLOSED, LISTEN */
	TCP_KIND_HALF_OPEN,   /* SYN-RECEIVED */
	TCP_KIND_ESTABLISHED, /* SYN-SENT to LAST-ACK, held by the user or a listener's queue */
	TCP_KIND_ORPHAN,      /* SYN-SENT to LAST-ACK, closed by the user */
	TCP_KIND_TIME_WAIT,
	TCP_KIND_COUNT
};

struct tcp {
	struct ustcp_sock *pool;
	struct ustcp_sock *free;
	uint32_t n_used;
	uint32_t n_closing; /* closing(): closed by the user, FIN not yet acknowledged */
	uint32_t n_kind[TCP_KIND_COUNT];   /* connections of each kind */
	uint32_t max_kind[TCP_KIND_COUNT]; /* their limits (config, defaults resolved) */
	struct dlist time_wait;            /* TIME-WAIT connections by their link, oldest first */
	uint64_t next_id;
	struct ustcp_sock **hash; /* conn_hash_size buckets */
	uint32_t hash_mask;
	struct dlist listeners; /* LISTEN sockets, by their link */
	/* Connections to free when the event ends, oldest first, chained by
	 * hnext (a connection that ended is no longer hashed). */
	struct ustcp_sock *reap, **reap_tail;
	struct tcp_ports ports; /* who holds which local port */
	uint8_t hash_key[HASH_KEY_LEN];
	uint8_t isn_key[HASH_KEY_LEN];
	uint8_t ts_key[HASH_KEY_LEN];
	uint8_t cookie_key[HASH_KEY_LEN]; /* SYN cookies (tcp_syncookie.c) */
	uint8_t port_key[HASH_KEY_LEN];
	uint32_t port_counter; /* RFC 6056 Algorithm 3's "next_ephemeral" */
	uint64_t buffer_bytes;
	uint64_t pool_bytes;             /* the pool and the tables sized by it */
	uint64_t conn_bytes;             /* held beside the pool: options, listeners' queues */
	struct tcp_sockopts opt_default; /* the options of a socket that sets none */
};

/* tcp_conn.c: pool, tables, ISN, ports, state changes */
struct ustcp_sock *tcp_conn_alloc(struct ustcp_stack *s);
/* After c's state, owner, listener, address, port or binding changed:
 * bring the stack's counts (the port table, closing) up to date. */
void tcp_conn_account(struct ustcp_sock *c);
/* Before c's local address or port changes: it no longer holds the old. */
void tcp_port_release(struct ustcp_sock *c);
/* Whether laddr:lport is taken for k: held by a listener, a bound socket
 * or a connection other than k (one in TIME-WAIT only without k's
 * reuseaddr), on that address, or on any when either side is a wildcard. */
bool tcp_port_taken(const struct ustcp_sock *k, const struct ipaddr *laddr, uint16_t lport);
/* Room for the counts of one more port holder (0, or -ENOMEM): asked
 * before a socket binds, listens, connects or is made for a listener. */
int tcp_port_room(struct ustcp_stack *s);
/* Recount everything by walking the pool; false if the counts kept differ
 * (for the tests). */
bool tcp_accounting_ok(const struct ustcp_stack *s);
void tcp_conn_hash(struct ustcp_sock *c);
struct ustcp_sock *tcp_conn_lookup(struct ustcp_stack *s, const struct ipaddr *laddr,
				   uint16_t lport, const struct ipaddr *raddr, uint16_t rport);
/* laddr any (::) matches only a wildcard listener. */
struct ustcp_sock *tcp_listener_lookup(struct ustcp_stack *s, const struct ipaddr *laddr,
				       uint16_t lport);
int tcp_pick_port(struct ustcp_stack *s, const struct ipaddr *laddr, const struct ipaddr *raddr,
		  uint16_t rport, uint16_t *port);
/* Set the 4-tuple (and what depends on the address family). */
void tcp_conn_set_tuple(struct ustcp_sock *c, const struct ipaddr *laddr, uint16_t lport,
			const struct ipaddr *raddr, uint16_t rport);
uint32_t tcp_new_iss(struct ustcp_stack *s, const struct ustcp_sock *c);
/* The offset of our timestamp clock towards c's peer (RFC 7323 §5.4). */
uint32_t tcp_ts_offset(const struct ustcp_stack *s, const struct ipaddr *laddr,
		       const struct ipaddr *raddr);
void tcp_set_state(struct ustcp_sock *c, int state);
/* Enter CLOSED with this error (0 for a normal end) and release what we can. */
void tcp_conn_closed(struct ustcp_sock *c, int error);
void tcp_notify(struct ustcp_sock *c, unsigned events);
/* Take a child off its listener's queues. */
void tcp_child_unlink(struct ustcp_sock *c);
/* The user lets go of c: freed now if CLOSED, else when it gets there. */
void tcp_conn_release(struct ustcp_sock *c);
/* The buffers, range sets and send map a connection that moves data
 * needs, allocated once (0, or -ENOBUFS). */
int tcp_ensure_buffers(struct ustcp_sock *c);
/* Give back c's buffers (and the range sets and send map with them). */
void tcp_release_buffers(struct ustcp_sock *c);
/* Whether one more connection of this kind stays within its limit. */
bool tcp_kind_room(const struct ustcp_stack *s, enum tcp_kind k);
/* After the user let go of c: past max_orphans, reset it (as Linux does). */
void tcp_orphan_check(struct ustcp_sock *c);
/* Before a connection enters TIME-WAIT: at max_time_wait, end the oldest. */
void tcp_time_wait_room(struct ustcp_stack *s);
/* The SACK scoreboard, empty (and without room) before the buffers exist. */
static inline const struct seqset *tcp_scoreboard(const struct ustcp_sock *c)
{
	static const struct seqset none; /* seqset_init's empty set */
	return c->ranges ? &c->ranges->sacked : &none;
}
/* c's options, its own to change: a copy of a shared block is made first
 * (NULL when there is no memory for it). */
struct tcp_sockopts *tcp_sockopts_own(struct ustcp_sock *c);
/* c uses from's options (a listener's child, its listener's). */
void tcp_sockopts_share(struct ustcp_sock *c, const struct ustcp_sock *from);
/* Give c a listener's queue (0, or -ENOMEM). */
int tcp_listen_queue(struct ustcp_sock *c);
/* Begin an event on c: remember its state for the trace. */
static inline void tcp_event_begin(struct ustcp_sock *c) { c->ev_state = c->state; }

/* tcp_syncookie.c: SYN cookies (RFC 4987 §3.6). */
struct tcp_cookie_in {
	struct ipaddr laddr, raddr;
	uint16_t lport, rport;
	uint32_t irs; /* the peer's ISN */
};
/* The ISS that encodes this SYN's connection and an MSS of at most mss. */
uint32_t tcp_cookie_make(const struct ustcp_stack *s, const struct tcp_cookie_in *in, uint16_t mss);
/* Whether iss is a cookie we made for in, in this period or the last;
 * then *mss is the MSS it carries. */
bool tcp_cookie_check(const struct ustcp_stack *s, const struct tcp_cookie_in *in, uint32_t iss,
		      uint16_t *mss);
/* Our TSval with the SYN's window scale (if ws) and SACK-permitted (if
 * sack) in its low bits, never ahead of tsval; and back from the echo, as
 * SYN options. */
uint32_t tcp_cookie_tsval(uint32_t tsval, const struct tcp_opts *syn, bool ws, bool sack);
void tcp_cookie_options(uint32_t tsecr, struct tcp_opts *o);
/* tcp_output.c: answer the SYN in (with options syn) to listener l with a
 * cookie, keeping nothing. */
void tcp_send_cookie_synack(struct ustcp_sock *l, const struct tcp_cookie_in *in,
			    const struct tcp_opts *syn);

/* tcp_output.c */
/* Send whatever the window allows: data, FIN, or the SYN of this state. */
void tcp_output(struct ustcp_sock *c);
/* A segment with no data: ACK, SYN, SYN+ACK, FIN+ACK as the state asks. */
void tcp_send_ack(struct ustcp_sock *c);
void tcp_send_syn(struct ustcp_sock *c);
/* The MSS we announce (the MTU's, under USTCP_TCP_MAXSEG). */
uint16_t tcp_our_mss(const struct ustcp_sock *c);
/* RFC 5961 §7: an ACK sent in answer to a suspect segment, rate limited. */
void tcp_send_challenge_ack(struct ustcp_sock *c);
void tcp_send_rst_conn(struct ustcp_sock *c);
/* One byte past a zero window, to learn when it opens. */
void tcp_send_probe(struct ustcp_sock *c);
/* RFC 1122 §4.2.3.6: an ACK with SEG.SEQ = SND.NXT - 1 the peer must answer. */
void tcp_send_keepalive(struct ustcp_sock *c);
/* The delayed-ACK timer ran out: send the ACK we held back. */
void tcp_delack_fire(struct tw_timer *t, uint64_t now);
/* A RST with explicit fields, for segments that have no connection. */
void tcp_send_rst(struct ustcp_stack *s, const struct ipaddr *laddr, uint16_t lport,
		  const struct ipaddr *raddr, uint16_t rport, uint32_t seq, uint32_t ack,
		  bool with_ack);
/* The window to offer now: the free receive buffer, held back per RFC 1122
 * §4.2.3.3 (receiver SWS avoidance), never less than already offered. */
uint32_t tcp_rcv_window(const struct ustcp_sock *c);
/* Room in the receive buffer after rcv_nxt (what may be accepted). */
uint32_t tcp_rcv_space(const struct ustcp_sock *c);
/* Whether the window opened far enough to be announced (after a read). */
bool tcp_window_update_due(const struct ustcp_sock *c);
/* Bytes the receive ring has beyond the buffer size for window rounding. */
uint32_t tcp_rcv_slack(const struct ustcp_sock *c);
/* Our timestamp clock value now (RFC 7323 §5.4). */
uint32_t tcp_ts_now(const struct ustcp_sock *c);
/* Persist timer's override: send what a small window allows. */
void tcp_output_force(struct ustcp_sock *c);
/* Resend the first unacknowledged segment (fast retransmit, partial ACK). */
void tcp_retransmit_first(struct ustcp_sock *c);
/* Resend [seq, seq + len), whatever the windows say. */
void tcp_send_range(struct ustcp_sock *c, uint32_t seq, uint32_t len);
/* One new segment (or the FIN) if the peer's window allows; false if not. */
bool tcp_send_new_segment(struct ustcp_sock *c);

/* tcp_sack.c: the sender's scoreboard and SACK loss recovery (RFC 6675). */
void tcp_sack_update(struct ustcp_sock *c, const struct tcp_opts *o, uint32_t ack);
/* A fast retransmit proved spurious: restore the window, raise DupThresh. */
void tcp_undo_recovery(struct ustcp_sock *c);
bool tcp_sack_loss_detected(const struct ustcp_sock *c);
uint32_t tcp_sack_pipe(const struct ustcp_sock *c);
void tcp_sack_output(struct ustcp_sock *c);
uint32_t tcp_sack_skip(struct ustcp_sock *c);
/* tcp_rack.c: the send map, RACK loss detection, tail loss probes (RFC 8985). */
void tcp_rack_init(struct ustcp_sock *c);
/* Room for the send map of a buffer of sndbuf bytes (counted in buffer_bytes). */
void tcp_rack_alloc(struct ustcp_sock *c, uint32_t sndbuf);
void tcp_rack_free(struct ustcp_sock *c);
/* Bytes the map's room takes. */
uint64_t tcp_rack_room(const struct ustcp_sock *c);
static inline bool tcp_rack_on(const struct ustcp_sock *c) { return c->rack.active; }
/* Bytes the map holds marked lost (0 without a map). */
static inline uint32_t tcp_rack_lost_bytes(const struct ustcp_sock *c)
{
	return c->rack.map.room ? c->rack.map.room->lost_bytes : 0;
}
/* [seq, end) was just sent (new data or again). */
void tcp_rack_sent(struct ustcp_sock *c, uint32_t seq, uint32_t end);
/* An acceptable ACK (after SND.UNA and the scoreboard were updated): what
 * it delivered, then §6.2's loss detection and §7.4's TLP bookkeeping. */
void tcp_rack_on_ack(struct ustcp_sock *c, uint32_t ack, const struct tcp_opts *o);
/* The first lost, not yet resent range (at most one segment). */
bool tcp_rack_next_lost(struct ustcp_sock *c, uint32_t *seq, uint32_t *len);
/* A recovery was undone by a D-SACK: nothing it marked was lost. */
void tcp_rack_undo(struct ustcp_sock *c);
/* Fast recovery (or the resending after a timeout) is over (§6.2 step 4). */
void tcp_rack_recovery_done(struct ustcp_sock *c);
/* The retransmission timer fired (§6.3); sacked_cleared: the scoreboard was forgotten. */
void tcp_rack_on_rto(struct ustcp_sock *c, bool sacked_cleared);
/* (Re)start the probe timeout (§7.2) if a probe may be due. */
void tcp_tlp_schedule(struct ustcp_sock *c);
/* No probe while recovery runs. */
void tcp_tlp_cancel(struct ustcp_sock *c);

/* tcp_recovery.c: the phases of loss recovery. Outside them, loss found
 * by duplicate ACKs, SACK or RACK starts fast recovery; a timeout starts
 * the resending that goes back to SND.UNA. Each phase lasts until
 * everything sent before it began (recover) is acknowledged. */
enum tcp_recovery {
	TCP_RECOVERY_NONE,
	TCP_RECOVERY_FAST, /* RFC 5681 §3.2, RFC 6582 (NewReno), RFC 6675 (SACK) */
	TCP_RECOVERY_RTO,  /* RFC 5681 §3.1, RFC 6582 §4, RFC 8985 §6.3 */
};
static inline bool tcp_in_fast_recovery(const struct ustcp_sock *c)
{
	return c->recovery == TCP_RECOVERY_FAST;
}
static inline bool tcp_in_rto_recovery(const struct ustcp_sock *c)
{
	return c->recovery == TCP_RECOVERY_RTO;
}
/* The connection starts (its SYN options are known): no phase. */
void tcp_recovery_init(struct ustcp_sock *c);
/* An acceptable ACK, after SND.UNA and the scoreboard took it: acked new
 * bytes (0 for none), dup whether it is a duplicate ACK (RFC 5681 §2),
 * sack the options when it carried SACK blocks. Ends a phase that is over,
 * tells RACK, grows cwnd or runs recovery, and starts fast recovery when
 * loss shows. */
void tcp_recovery_on_ack(struct ustcp_sock *c, uint32_t ack, uint32_t acked, bool dup,
			 const struct tcp_opts *sack);
/* Start fast recovery when loss is known and no phase runs. */
void tcp_loss_check(struct ustcp_sock *c);
/* The retransmission timer fired with data outstanding: the resending phase
 * begins (cwnd, scoreboard and RACK as RFC 5681 §3.1 and RFC 8985 §6.3 say). */
void tcp_recovery_on_rto(struct ustcp_sock *c);

/* Arm the delayed-ACK timer unless it runs. */
void tcp_ack_later(struct ustcp_sock *c);
/* Bytes in the send buffer past snd_nxt: not yet sent. */
uint32_t tcp_unsent(const struct ustcp_sock *c);

/* tcp_timer.c */
void tcp_timers_init(struct ustcp_sock *c);
void tcp_timers_cancel(struct ustcp_sock *c);
void tcp_rexmt_arm(struct ustcp_sock *c);
void tcp_rtt_sample(struct ustcp_sock *c, uint64_t rtt);
void tcp_enter_time_wait(struct ustcp_sock *c);
void tcp_arm_fin_wait2(struct ustcp_sock *c);
/* (Re)start the keepalive timer from the last segment received, or stop it. */
void tcp_keepalive_arm(struct ustcp_sock *c);
/* The retransmission timeout in force: the estimate, backed off. */
uint64_t tcp_rto_now(const struct ustcp_sock *c);
/* The backoff of the timer running: the persist timer's while the peer's
 * window is closed, else the retransmission timer's. */
uint8_t tcp_backoff_now(const struct ustcp_sock *c);
/* Window scale shift that lets the whole receive buffer be offered. */
uint8_t tcp_choose_wscale(const struct ustcp_sock *c);

static inline bool tcp_synchronized(int state)
{
	return state >= USTCP_ESTABLISHED || state == USTCP_SYN_RECEIVED;
}

#endif
