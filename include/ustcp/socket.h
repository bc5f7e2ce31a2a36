/* ustcp/socket.h — TCP sockets: the non-blocking event API.
 *
 * A socket is a pointer to a connection owned by the stack. Calls never
 * block: they return 0 or a byte count, or a negative errno (-EAGAIN when
 * nothing can be done yet). After ustcp_close() the pointer is no longer the
 * caller's: the stack finishes the connection (FIN, TIME-WAIT) on its own.
 * Calls made between inputs and polls use the time of the last one. */
#ifndef USTCP_SOCKET_H
#define USTCP_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "stack.h"

struct ustcp_sock;

/* RFC 9293 §3.3.2: the eleven states. */
enum ustcp_state {
	USTCP_CLOSED = 0,
	USTCP_LISTEN,
	USTCP_SYN_SENT,
	USTCP_SYN_RECEIVED,
	USTCP_ESTABLISHED,
	USTCP_FIN_WAIT_1,
	USTCP_FIN_WAIT_2,
	USTCP_CLOSE_WAIT,
	USTCP_CLOSING,
	USTCP_LAST_ACK,
	USTCP_TIME_WAIT,
	USTCP_STATE_COUNT
};
/* "ESTABLISHED", "SYN-SENT", ... as RFC 9293 writes them. */
const char *ustcp_state_name(int state);

/* An address and port of either family. With v6 0 the address is ip (IPv4);
 * with v6 1 it is ip6. The unspecified address (0.0.0.0 or ::) means any:
 * the stack chooses the source of a connection, and a listener takes
 * connections to every local address of both families. A link-local IPv6
 * peer is reached over the first interface. */
struct ustcp_endpoint {
	ustcp_ip4 ip;    /* IPv4, network order */
	uint16_t port;   /* host order; 0 = stack chooses (ephemeral) */
	uint8_t v6;      /* 1: the address is ip6 */
	uint8_t ip6[16]; /* IPv6, network order */
};
/* Parse "10.0.0.1", "fd00::1" or "[fd00::1]" into ep's address (the port is
 * left as it is). Returns 0, or -EINVAL for text that is neither. */
int ustcp_addr_parse(const char *text, struct ustcp_endpoint *ep);
/* "10.0.0.1:80" or "[fd00::1]:80" (with_port), else the address alone.
 * Returns buf; USTCP_ENDPOINT_STRLEN bytes always suffice. */
#define USTCP_ENDPOINT_STRLEN 56
char *ustcp_endpoint_str(const struct ustcp_endpoint *ep, int with_port, char *buf, size_t size);

/* Listen on ip:port (unspecified address = every local address, IPv4 and
 * IPv6). backlog is capped by config. */
int ustcp_listen(struct ustcp_stack *s, struct ustcp_endpoint local, int backlog,
		 struct ustcp_sock **out);
/* A completed connection, or -EAGAIN. */
int ustcp_accept(struct ustcp_sock *listener, struct ustcp_sock **out);
/* A socket not yet connected, so options (buffer sizes, which the window
 * scale in the SYN depends on) can be set before ustcp_connect_sock(). A
 * socket that is never connected is given back with ustcp_close(). */
int ustcp_socket(struct ustcp_stack *s, struct ustcp_sock **out);
int ustcp_connect_sock(struct ustcp_sock *k, struct ustcp_endpoint local,
		       struct ustcp_endpoint remote);
/* Start an active open; the SYN leaves at once. local may be {0,0}.
 * Progress shows in ustcp_sock_state(); failure in ustcp_sock_error(). */
int ustcp_connect(struct ustcp_stack *s, struct ustcp_endpoint local, struct ustcp_endpoint remote,
		  struct ustcp_sock **out);

/* Queue bytes to send: returns bytes taken (maybe fewer than len), or
 * -EAGAIN when the buffer is full, -ENOTCONN on a listener or a socket that
 * never connected, -EPIPE after shutdown, or the connection's error. Data
 * given during the handshake is queued and sent once established. */
long ustcp_send(struct ustcp_sock *k, const void *buf, size_t len);
/* Read bytes: returns count, 0 at end of stream (peer's FIN), -EAGAIN when
 * nothing is buffered yet, -ENOTCONN on a listener or a socket that never
 * connected, or the connection's error (-ECONNRESET ...). */
long ustcp_recv(struct ustcp_sock *k, void *buf, size_t len);

#define USTCP_SHUT_WR 1
/* Close the sending side: the FIN follows the queued data. Receiving goes on. */
int ustcp_shutdown(struct ustcp_sock *k, int how);
/* Release the socket. Queued data is still sent, then FIN; if received data
 * was left unread, the connection is reset instead (RFC 1122 §4.2.2.13). */
int ustcp_close(struct ustcp_sock *k);
/* Reset the connection now and release the socket. */
int ustcp_abort(struct ustcp_sock *k);

int ustcp_sock_state(const struct ustcp_sock *k);
/* The error that ended the connection (negative errno) or 0. */
int ustcp_sock_error(const struct ustcp_sock *k);
/* The error to report now, as Linux's getsockopt(SO_ERROR): the error that
 * ended the connection if there is one (it stays), else the soft error not
 * yet taken (then 0 until another comes), else 0. A soft error (RFC 1122
 * §4.2.3.9) is one the connection carries on through: an ICMP "host" or
 * "network unreachable", or the next hop not answering ARP or neighbour
 * discovery; USTCP_EV_ERROR says one came. If the connection then times
 * out, it ends with the last soft error instead of -ETIMEDOUT (taking it
 * here does not change that); data acknowledged again clears it. */
int ustcp_sock_take_error(struct ustcp_sock *k);
size_t ustcp_sock_readable(const struct ustcp_sock *k); /* bytes ready to read */
size_t ustcp_sock_writable(const struct ustcp_sock *k); /* free send buffer */
int ustcp_sock_eof(const struct ustcp_sock *k);         /* peer's FIN has been read to */

/* Per-connection state, like Linux's TCP_INFO. Times are ns. */
struct ustcp_sock_info {
	int state;
	struct ustcp_endpoint local, remote;
	uint32_t iss, irs, snd_una, snd_nxt, snd_max, snd_wnd, rcv_nxt, rcv_wnd;
	uint16_t snd_mss, rcv_mss;      /* largest segment we send / may receive (payload) */
	uint8_t snd_wscale, rcv_wscale; /* window scale shifts in use (0 when not negotiated) */
	uint8_t timestamps, sack_ok;    /* options negotiated */
	uint8_t in_recovery;            /* in fast recovery (RFC 6582) */
	uint32_t cwnd, ssthresh;        /* bytes */
	uint64_t srtt, rttvar, rto;     /* srtt 0: no sample yet */
	uint64_t min_rtt;               /* smallest RTT sample seen */
	uint32_t bytes_in_flight;       /* snd_max - snd_una */
	uint32_t retransmits;           /* segments retransmitted, all causes */
	uint32_t fast_retransmits;      /* recoveries begun by DupThresh or RACK (RFC 8985) */
	uint32_t rto_expirations;       /* retransmission timeouts */
	uint32_t dup_acks;              /* duplicate ACKs received */
	uint32_t zero_window_probes;    /* persist probes sent */
	uint32_t keepalive_probes;      /* keepalives sent without answer so far */
	uint8_t backoff;                /* consecutive RTO (or probe) expirations */
	uint32_t rcv_ooo_bytes;         /* out-of-order bytes held for reassembly */
	uint32_t sndbuf, rcvbuf;        /* buffer sizes in force */
	uint64_t bytes_acked, bytes_received; /* payload, cumulative */
	uint64_t segs_out, segs_in;
	uint64_t conn_id;
	char cc[16];    /* congestion control name */
	int soft_error; /* the last soft error since data was last acknowledged, or 0
			 * (see ustcp_sock_take_error; reading it here takes nothing) */
};
void ustcp_sock_info(const struct ustcp_sock *k, struct ustcp_sock_info *info);

/* Per-socket options. Set on a listener, they pass to its children.
 * Values are integers (times in ns); ustcp_setsockopt returns 0, -EINVAL
 * for a value out of range, -ENOPROTOOPT for an unknown option, or -EISCONN
 * for an option that can no longer change (a buffer size once in use). */
enum ustcp_sockopt {
	USTCP_SO_SNDBUF = 1,    /* send buffer bytes, 1 KiB .. config max_sockbuf */
	USTCP_SO_RCVBUF,        /* receive buffer bytes; before the SYN, so the window
				 * scale can be chosen for it */
	USTCP_TCP_NODELAY,      /* 1: no Nagle (RFC 896) */
	USTCP_TCP_QUICKACK,     /* 1: ACK every segment at once (no delayed ACK) */
	USTCP_TCP_ACK_DELAY,    /* delayed ACK bound, 1 ms .. 500 ms (RFC 1122 §4.2.3.2) */
	USTCP_SO_KEEPALIVE,     /* 1: probe an idle connection (RFC 1122 §4.2.3.6) */
	USTCP_TCP_KEEPIDLE,     /* idle time before the first keepalive, >= 1 s */
	USTCP_TCP_KEEPINTVL,    /* time between unanswered keepalives, >= 1 s */
	USTCP_TCP_KEEPCNT,      /* unanswered keepalives before -ETIMEDOUT, 1 .. 255 */
	USTCP_TCP_USER_TIMEOUT, /* data unacknowledged this long gives -ETIMEDOUT; 0 = off */
	USTCP_TCP_RTO_MIN,      /* lower bound of the RTO, 1 ms .. rto_max */
};
int ustcp_setsockopt(struct ustcp_sock *k, int opt, uint64_t value);
int ustcp_getsockopt(const struct ustcp_sock *k, int opt, uint64_t *value);
/* Congestion control by name ("newreno"); -ENOENT for an unknown name. */
int ustcp_set_cc(struct ustcp_sock *k, const char *name);
/* The congestion control algorithms this build has, NULL-terminated. */
const char *const *ustcp_cc_names(void);

/* Urgent data (RFC 9293 §3.8.5, RFC 6093): the bytes are sent in line and
 * the urgent pointer marks the end of them. Returns as ustcp_send. */
long ustcp_send_urgent(struct ustcp_sock *k, const void *buf, size_t len);
/* Bytes still to read before the end of the urgent data the peer marked,
 * or -1 when no urgent data is pending. The bytes themselves are read in
 * line with ustcp_recv. */
long ustcp_sock_urgent(const struct ustcp_sock *k);

/* Readiness callback. It runs when an input, poll or user call has been
 * fully processed (at the end of the outermost one, before it returns),
 * never in the middle of processing, so every socket call is safe from it,
 * ustcp_close() and ustcp_abort() of any socket included. events is a mask
 * of the bits below: what happened to the socket since it was last told,
 * in one call per socket per round. A socket the user has closed or aborted
 * gets nothing more. What calls made from the handler raise is delivered
 * in a further round before the outer call returns. One callback per stack;
 * sockets carry a user pointer. */
#define USTCP_EV_READABLE 1u /* data, EOF or error to read */
#define USTCP_EV_WRITABLE 2u
#define USTCP_EV_ACCEPT 4u /* a listener has a completed connection */
#define USTCP_EV_STATE 8u  /* the state changed (e.g. connected, closed) */
#define USTCP_EV_ERROR 16u /* a soft error came (ustcp_sock_take_error) */
typedef void (*ustcp_event_fn)(void *ctx, struct ustcp_sock *k, unsigned events);
void ustcp_set_event_handler(struct ustcp_stack *s, ustcp_event_fn fn, void *ctx);
void ustcp_sock_set_user(struct ustcp_sock *k, void *user);
void *ustcp_sock_user(const struct ustcp_sock *k);

#endif
