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

struct ustcp_endpoint {
	ustcp_ip4 ip;  /* network order; 0 = any / stack chooses */
	uint16_t port; /* host order; 0 = stack chooses (ephemeral) */
};

/* Listen on ip:port (ip 0 = every local address). backlog is capped by config. */
int ustcp_listen(struct ustcp_stack *s, struct ustcp_endpoint local, int backlog,
		 struct ustcp_sock **out);
/* A completed connection, or -EAGAIN. */
int ustcp_accept(struct ustcp_sock *listener, struct ustcp_sock **out);
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
 * nothing is buffered yet, or the connection's error (-ECONNRESET ...). */
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
size_t ustcp_sock_readable(const struct ustcp_sock *k); /* bytes ready to read */
size_t ustcp_sock_writable(const struct ustcp_sock *k); /* free send buffer */
int ustcp_sock_eof(const struct ustcp_sock *k);         /* peer's FIN has been read to */

struct ustcp_sock_info {
	int state;
	struct ustcp_endpoint local, remote;
	uint32_t iss, irs, snd_una, snd_nxt, snd_wnd, rcv_nxt, rcv_wnd;
	uint16_t snd_mss;
	uint64_t rto;         /* ns */
	uint32_t retransmits; /* total segments retransmitted */
	uint64_t conn_id;
};
void ustcp_sock_info(const struct ustcp_sock *k, struct ustcp_sock_info *info);

/* Readiness callback, called from inside input/poll/user calls. events is a
 * mask of the bits below. One callback per stack; sockets carry a user pointer. */
#define USTCP_EV_READABLE 1u /* data, EOF or error to read */
#define USTCP_EV_WRITABLE 2u
#define USTCP_EV_ACCEPT 4u /* a listener has a completed connection */
#define USTCP_EV_STATE 8u  /* the state changed (e.g. connected, closed) */
typedef void (*ustcp_event_fn)(void *ctx, struct ustcp_sock *k, unsigned events);
void ustcp_set_event_handler(struct ustcp_stack *s, ustcp_event_fn fn, void *ctx);
void ustcp_sock_set_user(struct ustcp_sock *k, void *user);
void *ustcp_sock_user(const struct ustcp_sock *k);

#endif
