/* socket.c — the user calls of RFC 9293 §3.10.1-3.10.6 (OPEN, SEND,
 * RECEIVE, CLOSE, ABORT, STATUS) as a non-blocking socket API. */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>

#include "net/net.h"
#include "tcp/tcp.h"
#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"

static const char *const state_names[USTCP_STATE_COUNT] = {
	"CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
	"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK",     "TIME-WAIT",
};

const char *ustcp_state_name(int state)
{
	return state >= 0 && state < USTCP_STATE_COUNT ? state_names[state] : "?";
}

/* Every user call is an event on one connection. */
static void call_begin(struct ustcp_sock *k)
{
	stack_event_begin(k->stack);
	tcp_event_begin(k);
}

int ustcp_listen(struct ustcp_stack *s, struct ustcp_endpoint local, int backlog,
		 struct ustcp_sock **out)
{
	uint32_t ip = ntohl(local.ip);
	if (local.port == 0 || backlog < 0)
		return -EINVAL;
	if (ip != 0 && !net_is_local4(s, ip))
		return -EADDRNOTAVAIL;
	if (tcp_port_in_use(s, ip, local.port))
		return -EADDRINUSE;
	struct ustcp_sock *l = tcp_conn_alloc(s);
	if (!l)
		return -EMFILE;
	l->laddr = ip;
	l->lport = local.port;
	l->backlog = (uint16_t)MIN((uint32_t)MAX(backlog, 1), s->cfg.max_backlog);
	l->user_owned = true;
	l->state = USTCP_LISTEN;
	dlist_insert_tail(&s->tcp->listeners, &l->link);
	*out = l;
	return 0;
}

int ustcp_accept(struct ustcp_sock *l, struct ustcp_sock **out)
{
	if (l->state != USTCP_LISTEN)
		return -EINVAL;
	for (struct dlist *n = l->children.next; n != &l->children; n = n->next) {
		struct ustcp_sock *c = container_of(n, struct ustcp_sock, link);
		if (c->state == USTCP_SYN_RECEIVED)
			continue;
		tcp_child_unlink(c);
		c->user_owned = true;
		*out = c;
		return 0;
	}
	return -EAGAIN;
}

int ustcp_connect(struct ustcp_stack *s, struct ustcp_endpoint local, struct ustcp_endpoint remote,
		  struct ustcp_sock **out)
{
	uint32_t rip = ntohl(remote.ip), lip = ntohl(local.ip), src;
	int iface;
	if (rip == 0 || remote.port == 0)
		return -EINVAL;
	if (net_route4(s, rip, &iface, &src) < 0)
		return -ENETUNREACH;
	if (lip == 0)
		lip = src;
	else if (!net_is_local4(s, lip))
		return -EADDRNOTAVAIL;
	uint16_t lport = local.port;
	if (lport == 0) {
		int rc = tcp_pick_port(s, lip, rip, remote.port, &lport);
		if (rc < 0)
			return rc;
	} else if (tcp_conn_lookup(s, lip, lport, rip, remote.port)) {
		return -EADDRINUSE;
	}
	struct ustcp_sock *c = tcp_conn_alloc(s);
	if (!c)
		return -EMFILE;
	c->laddr = lip;
	c->lport = lport;
	c->raddr = rip;
	c->rport = remote.port;
	c->iss = tcp_new_iss(s, c);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	c->user_owned = true;
	tcp_conn_hash(c);
	call_begin(c);
	tcp_set_state(c, USTCP_SYN_SENT);
	stat_inc(s, USTCP_C_tcp_active_opens);
	tcp_send_syn(c);
	*out = c;
	stack_event_end(s);
	return 0;
}

/* The error a call on a dead or closing connection reports. */
static long conn_error(const struct ustcp_sock *k, long otherwise)
{
	return k->error ? k->error : otherwise;
}

long ustcp_send(struct ustcp_sock *k, const void *buf, size_t len)
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
		return conn_error(k, -ENOTCONN);
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
	call_begin(k);
	tcp_output(k);
	stack_event_end(k->stack);
	return n;
}

/* RFC 1122 §4.2.3.3 (receiver SWS avoidance): after a read, announce the
 * reopened window only once it has grown by min(half the buffer, one MSS). */
static void maybe_window_update(struct ustcp_sock *k)
{
	if (!tcp_synchronized(k->state) || k->fin_rcvd)
		return;
	uint32_t offered = seq_gt(k->rcv_adv, k->rcv_nxt) ? k->rcv_adv - k->rcv_nxt : 0;
	uint32_t now = tcp_rcv_window(k);
	uint32_t step = MIN(k->rcvbuf.cap / 2, (uint32_t)k->snd_mss);
	if (now >= offered + step)
		tcp_send_ack(k);
}

long ustcp_recv(struct ustcp_sock *k, void *buf, size_t len)
{
	if (k->state == USTCP_LISTEN)
		return -ENOTCONN;
	if (k->rcvbuf.len > 0 && len > 0) {
		uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		call_begin(k);
		uint32_t n = ring_read(&k->rcvbuf, buf, want);
		maybe_window_update(k);
		stack_event_end(k->stack);
		return n;
	}
	if (k->error)
		return k->error;
	if (k->fin_rcvd || k->state == USTCP_CLOSED)
		return 0;
	return len == 0 ? 0 : -EAGAIN;
}

/* RFC 9293 §3.10.4 CLOSE for the sending side. */
static void shut_send(struct ustcp_sock *k)
{
	switch (k->state) {
	case USTCP_SYN_RECEIVED:
		k->fin_queued = true; /* sent once established */
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
	case USTCP_SYN_SENT:
		tcp_conn_closed(k, 0);
		break;
	default:
		break; /* already closing */
	}
}

int ustcp_shutdown(struct ustcp_sock *k, int how)
{
	if (how != USTCP_SHUT_WR)
		return -EINVAL;
	if (k->state == USTCP_LISTEN || k->state == USTCP_CLOSED)
		return conn_error(k, -ENOTCONN);
	call_begin(k);
	shut_send(k);
	stack_event_end(k->stack);
	return 0;
}

/* Children of a closing listener: half-open ones vanish, completed ones
 * that were never accepted are reset. */
static void close_listener(struct ustcp_sock *l)
{
	struct dlist *n = l->children.next;
	while (n != &l->children) {
		struct ustcp_sock *c = container_of(n, struct ustcp_sock, link);
		n = n->next;
		tcp_event_begin(c);
		if (c->state != USTCP_SYN_RECEIVED)
			tcp_send_rst_conn(c);
		tcp_conn_closed(c, -ECONNABORTED);
	}
	tcp_conn_closed(l, 0);
}

int ustcp_close(struct ustcp_sock *k)
{
	struct ustcp_stack *s = k->stack;
	call_begin(k);
	switch (k->state) {
	case USTCP_LISTEN:
		close_listener(k);
		break;
	case USTCP_CLOSED:
		break;
	case USTCP_SYN_SENT:
		tcp_conn_closed(k, 0);
		break;
	default:
		if (k->rcvbuf.len > 0 && k->state != USTCP_TIME_WAIT) {
			/* RFC 1122 §4.2.2.13: closing with unread data resets. */
			tcp_send_rst_conn(k);
			tcp_conn_closed(k, -ECONNRESET);
			break;
		}
		k->rcv_closed = true;
		shut_send(k);
	}
	tcp_conn_release(k);
	tcp_arm_fin_wait2(k);
	stack_event_end(s);
	return 0;
}

int ustcp_abort(struct ustcp_sock *k)
{
	struct ustcp_stack *s = k->stack;
	call_begin(k);
	if (k->state == USTCP_LISTEN) {
		close_listener(k);
	} else if (k->state != USTCP_CLOSED) {
		/* RFC 9293 §3.10.5: RST in the synchronized states only. */
		if (tcp_synchronized(k->state) && k->state != USTCP_TIME_WAIT)
			tcp_send_rst_conn(k);
		tcp_conn_closed(k, -ECONNABORTED);
	}
	tcp_conn_release(k);
	stack_event_end(s);
	return 0;
}

int ustcp_sock_state(const struct ustcp_sock *k) { return k->state; }
int ustcp_sock_error(const struct ustcp_sock *k) { return k->error; }
size_t ustcp_sock_readable(const struct ustcp_sock *k) { return k->rcvbuf.len; }
size_t ustcp_sock_writable(const struct ustcp_sock *k)
{
	if (!k->sndbuf.buf)
		return k->stack->cfg.sndbuf;
	return ring_space(&k->sndbuf);
}
int ustcp_sock_eof(const struct ustcp_sock *k) { return k->fin_rcvd && k->rcvbuf.len == 0; }

void ustcp_sock_info(const struct ustcp_sock *k, struct ustcp_sock_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = k->state;
	info->local.ip = htonl(k->laddr);
	info->local.port = k->lport;
	info->remote.ip = htonl(k->raddr);
	info->remote.port = k->rport;
	info->iss = k->iss;
	info->irs = k->irs;
	info->snd_una = k->snd_una;
	info->snd_nxt = k->snd_nxt;
	info->snd_wnd = k->snd_wnd;
	info->rcv_nxt = k->rcv_nxt;
	info->rcv_wnd = tcp_rcv_window(k);
	info->snd_mss = k->snd_mss;
	info->rto = k->rto;
	info->retransmits = k->retransmits;
	info->conn_id = k->id;
}

void ustcp_sock_set_user(struct ustcp_sock *k, void *user) { k->user = user; }
void *ustcp_sock_user(const struct ustcp_sock *k) { return k->user; }
