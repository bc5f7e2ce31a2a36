/* ustcp/socket.h — TCP sockets.
 *
 * A socket is a pointer to a connection owned by the stack. Calls return 0
 * or a byte count, or a negative errno. After ustcp_close() the pointer is
 * no longer the caller's: the stack finishes the connection (FIN,
 * TIME-WAIT) on its own. Without a host, calls made between inputs and
 * polls use the time of the last one; with a host, the time now. */
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

/* An address and port of either family, both as numbers (host order): with
 * v6 0 the address is ip4 (IPv4);
 * with v6 1 it is ip6. The unspecified address (0.0.0.0 or ::) means any:
 * the stack chooses the source of a connection, and a listener takes
 * connections to every local address of both families. A link-local IPv6
 * peer is reached over the first interface. */
struct ustcp_endpoint {
	uint32_t ip4;    /* IPv4 as a number: 10.0.0.1 is 0x0a000001 */
	uint16_t port;   /* as a number (80); 0 = stack chooses (ephemeral) */
	uint8_t v6;      /* 1: the address is ip6 */
	uint8_t ip6[16]; /* IPv6, its 16 bytes in the order written (fd00:: is fd 00 ...) */
};
/* Parse "10.0.0.1", "fd00::1" or "[fd00::1]" into ep's address (the port is
 * left as it is). Returns 0, or -EINVAL for text that is neither. */
int ustcp_addr_parse(const char *text, struct ustcp_endpoint *ep);
/* "10.0.0.1:80" or "[fd00::1]:80" (with_port), else the address alone.
 * Returns buf; USTCP_ENDPOINT_STRLEN bytes always suffice. */
#define USTCP_ENDPOINT_STRLEN 56
char *ustcp_endpoint_str(const struct ustcp_endpoint *ep, int with_port, char *buf, size_t size);

/* ---- opening: the BSD calls ----
 *
 * Blocking. On a stack with a host (ustcp/host.h: a thread drives it), a
 * socket blocks as a POSIX one does: connect until the handshake ends,
 * accept until a connection comes, send until all is queued, recv until
 * there is something, close (with USTCP_SO_LINGER) until the FIN is
 * acknowledged; USTCP_SO_RCVTIMEO / SNDTIMEO bound the waits (then
 * -EAGAIN, or -EINPROGRESS for connect). USTCP_SO_NONBLOCK makes it
 * return -EAGAIN (-EINPROGRESS for connect) instead. Calls are safe from
 * many threads at once; one thread may read a socket while another writes
 * it. On a stack without a host (the simulator, a program that feeds the
 * stack itself) nothing could wake a waiting call, so every call acts as
 * on a non-blocking socket. Calls from the event handler never block.
 *
 * Errors are negative errno values with their POSIX meanings; a NULL
 * socket, or one already closed, gives -EBADF. */

/* A new socket, not yet bound or connected. -EMFILE: the pool is full. */
int ustcp_socket(struct ustcp_stack *s, struct ustcp_sock **out);
/* The local address and port: the unspecified address for every local one
 * (of both families, for a listener), port 0 for one the stack picks at
 * listen or connect. -EADDRNOTAVAIL: not an address of ours; -EADDRINUSE:
 * the port is taken (by TIME-WAIT connections too, unless
 * USTCP_SO_REUSEADDR); -EINVAL: already bound or connected. */
int ustcp_bind(struct ustcp_sock *k, struct ustcp_endpoint local);
/* Take connections on the bound address (unbound: any address, an
 * ephemeral port). backlog is capped by config; calling it again on a
 * listener changes the backlog. */
int ustcp_listen(struct ustcp_sock *k, int backlog);
/* A completed connection: 0 and *out, or -EAGAIN (non-blocking, or
 * SO_RCVTIMEO ran out), -EINVAL on a socket that is not listening. */
int ustcp_accept(struct ustcp_sock *listener, struct ustcp_sock **out);
/* Active open (RFC 9293 §3.10.1); the SYN leaves at once, from the bound
 * address or the route's source, and the bound port or an ephemeral one
 * (RFC 6056). Blocking: 0 once established, or -ECONNREFUSED,
 * -ETIMEDOUT, -EHOSTUNREACH ...; non-blocking: -EINPROGRESS, and the end
 * shows as POLLOUT (or POLLERR) and in ustcp_sock_state(). -EISCONN,
 * -EALREADY: connected, or connecting. */
int ustcp_connect(struct ustcp_sock *k, struct ustcp_endpoint remote);
/* The local and the remote address of k (-ENOTCONN: no peer). */
int ustcp_getsockname(const struct ustcp_sock *k, struct ustcp_endpoint *out);
int ustcp_getpeername(const struct ustcp_sock *k, struct ustcp_endpoint *out);
/* socket + bind + listen on ip:port (port not 0). */
int ustcp_listen_on(struct ustcp_stack *s, struct ustcp_endpoint local, int backlog,
		    struct ustcp_sock **out);
/* socket + bind (when local is not all zero) + connect: 0 and *out when
 * established, or still connecting on a socket that cannot block. */
int ustcp_connect_to(struct ustcp_stack *s, struct ustcp_endpoint local,
		     struct ustcp_endpoint remote, struct ustcp_sock **out);

/* ---- data ---- */

/* Queue bytes to send: returns bytes taken (blocking: all of len, unless
 * SO_SNDTIMEO ran out or an error came; else maybe fewer), or -EAGAIN when
 * the buffer is full, -ENOTCONN on a listener or a socket that never
 * connected, -EPIPE after shutdown, or the connection's error. Data given
 * during the handshake is queued and sent once established. */
long ustcp_send(struct ustcp_sock *k, const void *buf, size_t len);
/* Read bytes: returns count, 0 at end of stream (peer's FIN, or after
 * SHUT_RD), -EAGAIN when nothing is there (non-blocking, or SO_RCVTIMEO
 * ran out), -ENOTCONN on a listener or a socket that never connected, or
 * the connection's error (-ECONNRESET ...). */
long ustcp_recv(struct ustcp_sock *k, void *buf, size_t len);

/* Zero-copy receive: the bytes ready to read, shown in place in the
 * receive buffer instead of copied out. Up to max bytes, in one piece or
 * two (the buffer is a ring; an unused piece is {NULL, 0}). Returns the
 * bytes shown, or as ustcp_recv: 0 at end of stream, -EAGAIN, an error,
 * and blocks as it does. The bytes stay unread, and the window closed over
 * them, until ustcp_recv_done says how many of them (from the first) are
 * done with; a program that keeps them long holds the peer back. The views
 * stay valid until then, whatever arrives meanwhile and from any thread,
 * but not past a ustcp_recv (which takes the bytes), SHUT_RD or close. */
struct ustcp_iov {
	const void *base;
	size_t len;
};
long ustcp_recv_zc(struct ustcp_sock *k, struct ustcp_iov iov[2], size_t max);
/* The first n bytes ustcp_recv_zc showed are read: they leave the buffer
 * and the window opens over them. 0, or -EINVAL when n is more than it
 * showed. */
int ustcp_recv_done(struct ustcp_sock *k, size_t n);

/* ---- closing ---- */

#define USTCP_SHUT_RD 0   /* no more reading: what comes is acknowledged and dropped */
#define USTCP_SHUT_WR 1   /* the FIN follows the queued data; receiving goes on */
#define USTCP_SHUT_RDWR 2 /* both */
int ustcp_shutdown(struct ustcp_sock *k, int how);
/* Release the socket. Queued data is still sent, then FIN; if received data
 * was left unread, the connection is reset instead (RFC 1122 §4.2.2.13).
 * With USTCP_SO_LINGER of 0 it resets; of more, a blocking socket waits
 * that long for the FIN to be acknowledged. The connection finishes alone
 * (FIN, TIME-WAIT) after. */
int ustcp_close(struct ustcp_sock *k);
/* Reset the connection now and release the socket. */
int ustcp_abort(struct ustcp_sock *k);

/* ---- readiness ---- */

/* What k is ready for now, as poll(2) says it of a TCP socket (POLLIN,
 * POLLOUT, POLLHUP, POLLERR from <poll.h>; POLLNVAL for a closed one). */
short ustcp_sock_events(const struct ustcp_sock *k);
struct ustcp_pollfd {
	struct ustcp_sock *sock; /* NULL: skipped */
	short events;            /* POLLIN, POLLOUT */
	short revents;           /* those ready, and POLLHUP, POLLERR, POLLNVAL */
};
/* poll(2) over sockets of one stack: the number with revents, 0 when
 * timeout_ms (-1: none) ran out. Waits only on a stack with a host. */
int ustcp_poll(struct ustcp_pollfd *fds, size_t n, int timeout_ms);
/* A file descriptor (an eventfd) that poll, epoll and select report
 * readable while k is ready for one of events (POLLIN and/or POLLOUT) or
 * has POLLHUP or POLLERR: a program waits on ustcp sockets and its own
 * descriptors in one call. The stack owns it (valid until ustcp_close);
 * reading it is not needed. -EOPNOTSUPP on a stack without a host. */
int ustcp_sock_fd(struct ustcp_sock *k, short events);

/* ---- state ---- */

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
	uint32_t snd_queued, rcv_queued; /* bytes in the send buffer, and unread */
	uint8_t owner;                   /* who holds it: USTCP_OWNER_* */
};
/* Who holds a connection: the program (a socket it has), its listener (a
 * connection not yet accepted), or the stack alone (one the program
 * closed, finishing its FIN and TIME-WAIT: an orphan). */
enum ustcp_owner { USTCP_OWNER_USER = 0, USTCP_OWNER_LISTENER, USTCP_OWNER_STACK };
/* 0, or -EBADF. */
int ustcp_sock_info(const struct ustcp_sock *k, struct ustcp_sock_info *info);
/* Every connection of the stack, as netstat -a lists a host's: the
 * program's sockets (listeners, and sockets not yet connected, in CLOSED),
 * connections waiting to be accepted, and those the program closed that
 * the stack is still finishing. Fills out with up to max of them (in no
 * particular order) and returns how many there are: all of one instant,
 * read with the stack taken. out may be NULL when max is 0. */
size_t ustcp_stack_conns(const struct ustcp_stack *s, struct ustcp_sock_info *out, size_t max);

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
	USTCP_TCP_CORK,         /* 1: send only full segments until set to 0 again (or
				 * an RTO passes), as Linux's TCP_CORK */
	USTCP_TCP_MAXSEG,       /* cap on the segment size, 88 .. 65495 (0: none);
				 * set before connect it is the MSS our SYN announces */
	USTCP_SO_NONBLOCK,      /* 1: calls return -EAGAIN (-EINPROGRESS) instead of waiting */
	USTCP_SO_REUSEADDR,     /* 1: bind may take a port held by TIME-WAIT connections */
	USTCP_SO_RCVTIMEO,      /* bound on a blocking recv or accept (ns; 0: none) */
	USTCP_SO_SNDTIMEO,      /* bound on a blocking send or connect (ns; 0: none) */
	USTCP_SO_LINGER,        /* close: UINT64_MAX (default) returns at once; 0 resets;
				 * else waits up to this long (ns) for the FIN's ACK */
	USTCP_TCP_SYNCOOKIES,   /* listener: 1 answers every SYN with a cookie, keeping
				 * nothing until the handshake completes (RFC 4987 §3.6) */
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
/* The user's pointer of a socket (listeners' children start with NULL). */
int ustcp_sock_set_user(struct ustcp_sock *k, void *user);
void *ustcp_sock_user(const struct ustcp_sock *k);

#endif
