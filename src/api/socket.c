/* socket.c — the user calls of RFC 9293 §3.10.1-3.10.6 (OPEN, SEND,
 * RECEIVE, CLOSE, ABORT) in the shape of BSD sockets: socket, bind,
 * listen, accept, connect, send, recv, shutdown, close. With a host
 * (stack_sync) they block as POSIX sockets do, unless the socket is
 * non-blocking; without one they never block (call.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "api/call.h"
#include "net/net.h"
#include "tcp/tcp.h"
#include "ustcp/ustcp.h"

static const char *const state_names[USTCP_STATE_COUNT] = {
	"CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
	"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK",     "TIME-WAIT",
};

const char *ustcp_state_name(int state)
{
	return state >= 0 && state < USTCP_STATE_COUNT ? state_names[state] : "?";
}

/* ---- entering, leaving and blocking (call.h) ---- */

struct ipaddr api_ep_addr(const struct ustcp_endpoint *e)
{
	return e->v6 ? ip_from6(e->ip6) : ip_from4(e->ip4);
}

void api_ep_set(struct ustcp_endpoint *e, const struct ipaddr *a, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->port = port;
	if (ip_is4(a) || ip_is_any(a)) {
		e->ip4 = ip_is4(a) ? ip_v4(a) : 0;
	} else {
		e->v6 = 1;
		memcpy(e->ip6, a->b, 16);
	}
}

int api_peek(const struct ustcp_sock *k)
{
	if (!k)
		return -EBADF;
	/* A socket's stack never changes: it can be read before the lock. */
	stack_lock(k->stack);
	if (!k->in_use || !k->user_owned) {
		stack_unlock(k->stack);
		return -EBADF;
	}
	return 0;
}

void api_unpeek(const struct ustcp_sock *k) { stack_unlock(k->stack); }

int api_enter(struct ustcp_sock *k)
{
	int rc = api_peek(k);
	if (rc < 0)
		return rc;
	stack_event_begin(k->stack);
	tcp_event_begin(k);
	return 0;
}

void api_leave(struct ustcp_sock *k)
{
	struct ustcp_stack *s = k->stack;
	stack_event_end(s);
	/* What the call did may change what k is ready for. */
	if (s->sync && k->in_use && k->user_owned && k->notice.waiter)
		s->sync->ready(s->sync->ctx, &k->notice, false);
	stack_unlock(s);
}

uint64_t api_deadline(const struct ustcp_sock *k, uint64_t timeout)
{
	uint64_t now = k->stack->now;
	return timeout && timeout < UINT64_MAX - now ? now + timeout : UINT64_MAX;
}

int api_block(struct ustcp_sock *k, uint64_t deadline)
{
	struct ustcp_stack *s = k->stack;
	k->callers++; /* not freed while we sleep, even if closed meanwhile */
	stack_event_end(s);
	int rc = s->sync->wait(s->sync->ctx, &k->notice, deadline);
	stack_advance(s, s->sync->clock(s->sync->ctx));
	stack_event_begin(s);
	tcp_event_begin(k);
	k->callers--;
	return k->user_owned ? rc : -EBADF;
}

/* ---- opening ---- */

int ustcp_socket(struct ustcp_stack *s, struct ustcp_sock **out)
{
	if (!s || !out)
		return -EINVAL;
	stack_lock(s);
	struct ustcp_sock *c = tcp_conn_alloc(s);
	if (c) {
		c->user_owned = true;
		c->unopened = true;
		*out = c;
	}
	stack_unlock(s);
	return c ? 0 : -EMFILE;
}

int ustcp_bind(struct ustcp_sock *k, struct ustcp_endpoint local)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	struct ipaddr ip = api_ep_addr(&local);
	if (!k->unopened || k->bound)
		rc = -EINVAL; /* POSIX: already bound */
	else if (!ip_is_any(&ip) && !net_is_local(k->stack, &ip))
		rc = -EADDRNOTAVAIL;
	else if (local.port && tcp_port_taken(k, &ip, local.port))
		rc = -EADDRINUSE;
	else if (tcp_port_room(k->stack) < 0)
		rc = -ENOMEM;
	if (rc == 0) {
		tcp_port_release(k);
		k->laddr = ip_is_any(&ip) ? (struct ipaddr){0} : ip;
		k->lport = local.port;
		k->bound = true;
		tcp_conn_account(k);
	}
	api_leave(k);
	return rc;
}

/* A free port for a listener on laddr, from the ephemeral range. */
static int pick_listen_port(struct ustcp_sock *k, uint16_t *port)
{
	const struct ustcp_config *cfg = &k->stack->cfg;
	uint32_t num = (uint32_t)cfg->ephemeral_hi - cfg->ephemeral_lo + 1;
	uint32_t start = (uint32_t)rng_next(&k->stack->rng);
	for (uint32_t i = 0; i < num; i++) {
		uint16_t p = (uint16_t)(cfg->ephemeral_lo + (start + i) % num);
		if (!tcp_port_taken(k, &k->laddr, p)) {
			*port = p;
			return 0;
		}
	}
	return -EADDRINUSE;
}

int ustcp_listen(struct ustcp_sock *k, int backlog)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	struct ustcp_stack *s = k->stack;
	if (k->state == USTCP_LISTEN) {
		k->queue->backlog = (uint16_t)MIN((uint32_t)MAX(backlog, 1), s->cfg.max_backlog);
	} else if (!k->unopened || backlog < 0) {
		rc = -EINVAL;
	} else if (tcp_listen_queue(k) < 0 || tcp_port_room(s) < 0) {
		rc = -ENOMEM;
	} else if (k->lport == 0) {
		rc = pick_listen_port(k, &k->lport);
	} else if (tcp_port_taken(k, &k->laddr, k->lport)) {
		rc = -EADDRINUSE;
	}
	if (rc == 0 && k->state != USTCP_LISTEN) {
		k->unopened = false;
		k->queue->backlog = (uint16_t)MIN((uint32_t)MAX(backlog, 1), s->cfg.max_backlog);
		tcp_set_state(k, USTCP_LISTEN);
		dlist_insert_tail(&s->tcp->listeners, &k->link);
	}
	api_leave(k);
	return rc;
}

int ustcp_listen_on(struct ustcp_stack *s, struct ustcp_endpoint local, int backlog,
		    struct ustcp_sock **out)
{
	struct ustcp_sock *l;
	if (!out || local.port == 0)
		return -EINVAL;
	int rc = ustcp_socket(s, &l);
	if (rc < 0)
		return rc;
	if ((rc = ustcp_bind(l, local)) < 0 || (rc = ustcp_listen(l, backlog)) < 0) {
		ustcp_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* A completed child of l, taken off its queue for the user. */
static struct ustcp_sock *take_child(struct ustcp_sock *l)
{
	struct dlist *q = &l->queue->children;
	for (struct dlist *n = q->next; n != q; n = n->next) {
		struct ustcp_sock *c = container_of(n, struct ustcp_sock, link);
		if (c->state == USTCP_SYN_RECEIVED)
			continue;
		tcp_child_unlink(c);
		c->user_owned = true;
		tcp_conn_account(c);
		return c;
	}
	return NULL;
}

int ustcp_accept(struct ustcp_sock *l, struct ustcp_sock **out)
{
	int rc = api_enter(l);
	if (rc < 0)
		return rc;
	uint64_t deadline = api_deadline(l, l->opt->rcvtimeo);
	struct ustcp_sock *c = NULL;
	while (rc == 0) {
		if (l->state != USTCP_LISTEN || !out) {
			rc = -EINVAL;
		} else if ((c = take_child(l))) {
			*out = c;
		} else if (!api_can_block(l)) {
			rc = -EAGAIN;
		} else if ((rc = api_block(l, deadline)) == -ETIMEDOUT) {
			rc = -EAGAIN; /* POSIX: SO_RCVTIMEO ran out */
		}
		if (c)
			break;
	}
	api_leave(l);
	return rc;
}

/* Where k's SYN goes from, and its port: the bound address (or the route's
 * source) and the bound port (or an ephemeral one, RFC 6056). */
static int choose_source(struct ustcp_sock *k, const struct ipaddr *rip, uint16_t rport,
			 struct ipaddr *lip, uint16_t *lport)
{
	struct ustcp_stack *s = k->stack;
	struct ipaddr src;
	int iface;
	if (!ip_is_any(&k->laddr) && ip_is4(&k->laddr) != ip_is4(rip))
		return -EINVAL; /* the two ends of one family */
	if (net_route(s, rip, &iface, &src) < 0)
		return -ENETUNREACH;
	if (tcp_port_room(s) < 0)
		return -ENOMEM;
	*lip = ip_is_any(&k->laddr) ? src : k->laddr;
	*lport = k->lport;
	if (*lport == 0)
		return tcp_pick_port(s, lip, rip, rport, lport);
	return tcp_conn_lookup(s, lip, *lport, rip, rport) ? -EADDRINUSE : 0;
}

/* The result of a connect once the handshake is over. */
static int connect_result(const struct ustcp_sock *k)
{
	if (k->state == USTCP_SYN_SENT || k->state == USTCP_SYN_RECEIVED)
		return -EINPROGRESS;
	if (k->state == USTCP_CLOSED)
		return k->error ? k->error : -ECONNABORTED;
	return 0;
}

int ustcp_connect(struct ustcp_sock *k, struct ustcp_endpoint remote)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	struct ustcp_stack *s = k->stack;
	struct ipaddr rip = api_ep_addr(&remote), lip;
	uint16_t lport;
	if (!k->unopened) {
		rc = k->state == USTCP_SYN_SENT || k->state == USTCP_SYN_RECEIVED ? -EALREADY
		     : k->state == USTCP_LISTEN                                   ? -EINVAL
										  : -EISCONN;
	} else if (ip_is_any(&rip) || remote.port == 0 || (remote.v6 && ip6_is_multicast(rip.b))) {
		rc = -EINVAL;
	} else {
		rc = choose_source(k, &rip, remote.port, &lip, &lport);
	}
	if (rc == 0 && !tcp_kind_room(s, TCP_KIND_ESTABLISHED))
		rc = -ENOBUFS; /* max_established */
	if (rc == 0) {
		k->unopened = false;
		tcp_conn_set_tuple(k, &lip, lport, &rip, remote.port);
		k->iss = tcp_new_iss(s, k);
		k->snd_una = k->snd_nxt = k->snd_max = k->iss;
		k->snd_buf_seq = k->iss + 1;
		tcp_conn_hash(k);
		tcp_set_state(k, USTCP_SYN_SENT);
		stat_inc(s, USTCP_C_tcp_active_opens);
		tcp_send_syn(k);
		rc = -EINPROGRESS;
		/* Blocking: wait for the handshake (Linux: SO_SNDTIMEO bounds it). */
		uint64_t deadline = api_deadline(k, k->opt->sndtimeo);
		while (rc == -EINPROGRESS && api_can_block(k)) {
			int w = api_block(k, deadline);
			rc = connect_result(k);
			if (w == -EBADF || (w == -ETIMEDOUT && rc == -EINPROGRESS)) {
				rc = w == -EBADF ? w : rc;
				break;
			}
		}
	}
	api_leave(k);
	return rc;
}

int ustcp_connect_to(struct ustcp_stack *s, struct ustcp_endpoint local,
		     struct ustcp_endpoint remote, struct ustcp_sock **out)
{
	struct ustcp_sock *c;
	if (!out)
		return -EINVAL;
	int rc = ustcp_socket(s, &c);
	if (rc < 0)
		return rc;
	if ((local.port || local.ip4 || local.v6) && (rc = ustcp_bind(c, local)) < 0) {
		ustcp_abort(c);
		return rc;
	}
	rc = ustcp_connect(c, remote);
	if (rc < 0 && rc != -EINPROGRESS) {
		ustcp_abort(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* ---- data ---- */

/* The error a call on a dead or closing connection reports. */
static long conn_error(const struct ustcp_sock *k, long otherwise)
{
	return k->error ? k->error : otherwise;
}

/* Queue what fits of buf now: bytes taken, or -EAGAIN or an error. */
static long send_now(struct ustcp_sock *k, const void *buf, size_t len, bool urgent)
{
	switch (k->state) {
	case USTCP_SYN_SENT:
	case USTCP_SYN_RECEIVED:
	case USTCP_ESTABLISHED:
	case USTCP_CLOSE_WAIT:
		/* RFC 9293 §3.10.2: data given before the connection is
		 * established is queued and sent after it. */
		if (k->fin_queued)
			return -EPIPE;
		break;
	case USTCP_CLOSED:
		return conn_error(k, k->unopened ? -ENOTCONN : -EPIPE);
	case USTCP_LISTEN:
		return -ENOTCONN;
	default:
		return conn_error(k, -EPIPE);
	}
	if (len == 0)
		return 0;
	if (tcp_ensure_buffers(k) < 0)
		return -ENOBUFS;
	uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	uint32_t n = ring_write(&k->sndbuf, buf, want);
	if (n == 0)
		return -EAGAIN;
	if (urgent) {
		/* RFC 6093: the urgent pointer names the byte after the urgent data. */
		k->snd_up = k->snd_buf_seq + k->sndbuf.len;
		k->snd_up_valid = true;
	}
	tcp_output(k);
	return n;
}

/* A blocking send returns once all of buf is queued (POSIX), or with what
 * was queued when SO_SNDTIMEO ran out or an error came. */
static long send_data(struct ustcp_sock *k, const void *buf, size_t len, bool urgent)
{
	if (!buf && len)
		return -EFAULT;
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	uint64_t deadline = api_deadline(k, k->opt->sndtimeo);
	size_t done = 0;
	long r;
	for (;;) {
		r = send_now(k, (const uint8_t *)buf + done, len - done, urgent);
		if (r > 0)
			done += (size_t)r;
		if (done == len || (r < 0 && r != -EAGAIN) || !api_can_block(k))
			break;
		int w = api_block(k, deadline);
		if (w < 0) {
			r = w == -ETIMEDOUT ? -EAGAIN : w;
			break;
		}
	}
	api_leave(k);
	return done ? (long)done : r;
}

long ustcp_send(struct ustcp_sock *k, const void *buf, size_t len)
{
	return send_data(k, buf, len, false);
}

long ustcp_send_urgent(struct ustcp_sock *k, const void *buf, size_t len)
{
	return send_data(k, buf, len, true);
}

/* The sequence number of the first byte not yet read. */
static uint32_t first_unread(const struct ustcp_sock *k)
{
	uint32_t unread = k->rcvbuf.buf ? k->rcvbuf.len : 0;
	return k->rcv_nxt - unread - (k->fin_rcvd ? 1 : 0);
}

long ustcp_sock_urgent(const struct ustcp_sock *k)
{
	int rc = api_peek(k);
	if (rc < 0)
		return rc;
	long r = -1;
	if (k->rcv_up_valid) {
		uint32_t from = first_unread(k);
		r = seq_gt(k->rcv_up, from) ? (long)(k->rcv_up - from) : -1;
	}
	api_unpeek(k);
	return r;
}

/* After a read: announce the window if it opened far enough to move its
 * right edge (tcp_rcv_window applies RFC 1122 §4.2.3.3's threshold). */
static void maybe_window_update(struct ustcp_sock *k)
{
	if (!tcp_synchronized(k->state) || k->fin_rcvd)
		return;
	if (tcp_window_update_due(k))
		tcp_send_ack(k);
}

/* What a read of up to len bytes finds when no data can be taken now: 0 at
 * the end, -EAGAIN, an error; 1 when there is data to take. */
static long recv_ready(const struct ustcp_sock *k, size_t len)
{
	/* RFC 9293 §3.10.3: RECEIVE on a connection that does not exist. */
	if (k->state == USTCP_LISTEN || k->unopened)
		return -ENOTCONN;
	if (k->rcv_shut)
		return 0;
	if (k->rcvbuf.len > 0 && len > 0)
		return 1;
	if (k->error)
		return k->error;
	if (k->fin_rcvd || k->state == USTCP_CLOSED)
		return 0;
	return len == 0 ? 0 : -EAGAIN;
}

/* Bytes were taken from the receive buffer. */
static void recv_taken(struct ustcp_sock *k)
{
	/* Read past the urgent data: the mark is done with (kept, it would
	 * look ahead again once 2^31 more bytes had passed). */
	if (k->rcv_up_valid && !seq_gt(k->rcv_up, first_unread(k)))
		k->rcv_up_valid = false;
	maybe_window_update(k);
}

/* Read what is there now: a count, 0 at the end, -EAGAIN, or an error. */
static long recv_now(struct ustcp_sock *k, void *buf, size_t len)
{
	long r = recv_ready(k, len);
	if (r != 1)
		return r;
	uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	uint32_t n = ring_read(&k->rcvbuf, buf, want);
	k->zc_viewed = 0; /* the views handed out covered what was just taken */
	recv_taken(k);
	return n;
}

/* View what is there now, in place: as recv_now, without taking it. */
static long view_now(struct ustcp_sock *k, struct ustcp_iov iov[2], size_t max)
{
	long r = recv_ready(k, max);
	if (r != 1)
		return r;
	uint32_t n = max < k->rcvbuf.len ? (uint32_t)max : k->rcvbuf.len;
	const uint8_t *base[2];
	uint32_t len[2];
	int pieces = ring_view(&k->rcvbuf, 0, n, base, len);
	for (int i = 0; i < 2; i++) {
		iov[i].base = i < pieces ? base[i] : NULL;
		iov[i].len = i < pieces ? len[i] : 0;
	}
	k->zc_viewed = n;
	return n;
}

/* A read that blocks (with a host, on a blocking socket) until `now` finds
 * something: data, the end, or an error. */
static long recv_wait(struct ustcp_sock *k, long (*now)(struct ustcp_sock *, void *, size_t),
		      void *out, size_t len)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	uint64_t deadline = api_deadline(k, k->opt->rcvtimeo);
	long r;
	while ((r = now(k, out, len)) == -EAGAIN && api_can_block(k)) {
		int w = api_block(k, deadline);
		if (w < 0) {
			r = w == -ETIMEDOUT ? -EAGAIN : w; /* POSIX: SO_RCVTIMEO ran out */
			break;
		}
	}
	api_leave(k);
	return r;
}

long ustcp_recv(struct ustcp_sock *k, void *buf, size_t len)
{
	if (!buf && len)
		return -EFAULT;
	return recv_wait(k, recv_now, buf, len);
}

static long view_now_cb(struct ustcp_sock *k, void *iov, size_t max)
{
	return view_now(k, iov, max);
}

long ustcp_recv_zc(struct ustcp_sock *k, struct ustcp_iov iov[2], size_t max)
{
	if (!iov)
		return -EFAULT;
	return recv_wait(k, view_now_cb, iov, max);
}

int ustcp_recv_done(struct ustcp_sock *k, size_t n)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	if (n > k->zc_viewed || (k->rcvbuf.buf ? k->rcvbuf.len : 0) < n) {
		rc = -EINVAL;
	} else if (n > 0) {
		ring_drop(&k->rcvbuf, (uint32_t)n);
		k->zc_viewed -= (uint32_t)n;
		recv_taken(k);
	}
	api_leave(k);
	return rc;
}

/* ---- closing ---- */

/* RFC 9293 §3.10.4 CLOSE for the sending side. */
static void shut_send(struct ustcp_sock *k)
{
	switch (k->state) {
	case USTCP_SYN_SENT:
	case USTCP_SYN_RECEIVED:
		k->fin_queued = true; /* sent after the queued data, once established */
		break;
	case USTCP_ESTABLISHED:
		k->fin_queued = true;
		tcp_set_state(k, USTCP_FIN_WAIT_1);
		tcp_output(k);
		break;
	case USTCP_CLOSE_WAIT:
		k->fin_queued = true;
		tcp_set_state(k, USTCP_LAST_ACK);
		tcp_output(k);
		break;
	default:
		break; /* already closing */
	}
}

/* shutdown(SHUT_RD): reads see the end; what is unread and what still
 * comes is acknowledged and dropped (as BSD does). */
static void shut_recv(struct ustcp_sock *k)
{
	k->rcv_shut = true;
	k->zc_viewed = 0;
	if (k->rcvbuf.buf)
		ring_drop(&k->rcvbuf, k->rcvbuf.len);
	maybe_window_update(k);
	tcp_notify(k, USTCP_EV_READABLE);
}

int ustcp_shutdown(struct ustcp_sock *k, int how)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	if (how != USTCP_SHUT_RD && how != USTCP_SHUT_WR && how != USTCP_SHUT_RDWR)
		rc = -EINVAL;
	else if (k->state == USTCP_LISTEN || k->state == USTCP_CLOSED)
		rc = (int)conn_error(k, -ENOTCONN);
	if (rc == 0 && how != USTCP_SHUT_WR)
		shut_recv(k);
	if (rc == 0 && how != USTCP_SHUT_RD)
		shut_send(k);
	api_leave(k);
	return rc;
}

/* Children of a closing listener: half-open ones vanish, completed ones
 * that were never accepted are reset. */
static void close_listener(struct ustcp_sock *l)
{
	struct dlist *q = &l->queue->children;
	struct dlist *n = q->next;
	while (n != q) {
		struct ustcp_sock *c = container_of(n, struct ustcp_sock, link);
		n = n->next;
		tcp_event_begin(c);
		if (c->state != USTCP_SYN_RECEIVED)
			tcp_send_rst_conn(c);
		tcp_conn_closed(c, -ECONNABORTED);
	}
	tcp_conn_closed(l, 0);
}

/* RFC 9293 §3.10.5: a RST from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and
 * CLOSE-WAIT; CLOSING, LAST-ACK and TIME-WAIT (our FIN is out, the peer's
 * is in) just delete the TCB. */
static void abort_conn(struct ustcp_sock *k)
{
	if (k->state == USTCP_LISTEN) {
		close_listener(k);
		return;
	}
	if (k->state == USTCP_CLOSED)
		return;
	if (tcp_synchronized(k->state) && k->state != USTCP_CLOSING && k->state != USTCP_LAST_ACK &&
	    k->state != USTCP_TIME_WAIT)
		tcp_send_rst_conn(k);
	tcp_conn_closed(k, -ECONNABORTED);
}

/* Our FIN is acknowledged (or the connection is over). */
static bool fin_done(const struct ustcp_sock *k)
{
	return k->state == USTCP_FIN_WAIT_2 || k->state == USTCP_TIME_WAIT ||
	       k->state == USTCP_CLOSED;
}

/* Close with linger (SO_LINGER): wait until the FIN is acknowledged or the
 * linger time runs out; the connection goes on alone after that. */
static void linger(struct ustcp_sock *k)
{
	uint64_t deadline = api_deadline(k, k->opt->linger);
	while (!fin_done(k) && api_can_block(k) && api_block(k, deadline) == 0)
		;
}

int ustcp_close(struct ustcp_sock *k)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	switch (k->state) {
	case USTCP_LISTEN:
		close_listener(k);
		break;
	case USTCP_CLOSED:
		break;
	case USTCP_SYN_SENT:
		/* RFC 9293 §3.10.4 deletes the TCB; but data the user queued is
		 * not thrown away: it goes, then the FIN, once established. */
		if (k->sndbuf.len == 0 || k->opt->linger == 0) {
			tcp_conn_closed(k, 0);
			break;
		}
		k->rcv_closed = true;
		shut_send(k);
		break;
	default:
		if (k->opt->linger == 0) {
			abort_conn(k); /* SO_LINGER with no time: reset (POSIX) */
			break;
		}
		if (k->rcvbuf.len > 0 && k->state != USTCP_TIME_WAIT) {
			/* RFC 1122 §4.2.2.13: closing with unread data resets. */
			tcp_send_rst_conn(k);
			tcp_conn_closed(k, -ECONNRESET);
			break;
		}
		k->rcv_closed = true;
		shut_send(k);
		if (k->opt->linger != UINT64_MAX)
			linger(k);
	}
	if (k->user_owned) {
		tcp_conn_release(k);
		tcp_arm_fin_wait2(k);
		tcp_orphan_check(k);
	}
	api_leave(k);
	return 0;
}

int ustcp_abort(struct ustcp_sock *k)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	abort_conn(k);
	tcp_conn_release(k);
	api_leave(k);
	return 0;
}

void api_close_all(struct ustcp_stack *s)
{
	for (uint32_t i = 0; i < s->cfg.max_conns; i++) {
		struct ustcp_sock *k = &s->tcp->pool[i];
		if (k->in_use && k->user_owned) {
			k->nonblock = true;
			/* Without memory for its own options it still never
			 * waits: a non-blocking close does not linger. */
			struct tcp_sockopts *o = k->opt->linger != 0 ? tcp_sockopts_own(k) : NULL;
			if (o)
				o->linger = UINT64_MAX;
			ustcp_close(k);
		}
	}
}
