/* socket.c — the user calls of RFC 9293 §3.10.1-3.10.6 (OPEN, SEND,
 * RECEIVE, CLOSE, ABORT, STATUS) as a non-blocking socket API. */
#include <errno.h>
#include <stdio.h>
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

static struct ipaddr ep_addr(const struct ustcp_endpoint *e)
{
	return e->v6 ? ip_from6(e->ip6) : ip_from4(ntohl(e->ip));
}

static void ep_set(struct ustcp_endpoint *e, const struct ipaddr *a, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->port = port;
	if (ip_is4(a) || ip_is_any(a)) {
		e->ip = ip_is4(a) ? htonl(ip_v4(a)) : 0;
	} else {
		e->v6 = 1;
		memcpy(e->ip6, a->b, 16);
	}
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
	struct ipaddr ip = ep_addr(&local);
	if (local.port == 0 || backlog < 0)
		return -EINVAL;
	if (ip_is_any(&ip))
		memset(&ip, 0, sizeof(ip)); /* every address, both families */
	else if (!net_is_local(s, &ip))
		return -EADDRNOTAVAIL;
	if (tcp_port_in_use(s, &ip, local.port))
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

int ustcp_socket(struct ustcp_stack *s, struct ustcp_sock **out)
{
	struct ustcp_sock *c = tcp_conn_alloc(s);
	if (!c)
		return -EMFILE;
	c->user_owned = true;
	c->unopened = true;
	*out = c;
	return 0;
}

int ustcp_connect_sock(struct ustcp_sock *c, struct ustcp_endpoint local,
		       struct ustcp_endpoint remote)
{
	struct ustcp_stack *s = c->stack;
	struct ipaddr rip = ep_addr(&remote), lip = ep_addr(&local), src;
	int iface;
	if (!c->unopened)
		return c->state == USTCP_CLOSED ? -EINVAL : -EISCONN;
	if (ip_is_any(&rip) || remote.port == 0 || (remote.v6 && ip6_is_multicast(rip.b)))
		return -EINVAL;
	if (!ip_is_any(&lip) && ip_is4(&lip) != ip_is4(&rip))
		return -EINVAL; /* the two ends of one family */
	if (net_route(s, &rip, &iface, &src) < 0)
		return -ENETUNREACH;
	if (ip_is_any(&lip))
		lip = src;
	else if (!net_is_local(s, &lip))
		return -EADDRNOTAVAIL;
	uint16_t lport = local.port;
	if (lport == 0) {
		int rc = tcp_pick_port(s, &lip, &rip, remote.port, &lport);
		if (rc < 0)
			return rc;
	} else if (tcp_conn_lookup(s, &lip, lport, &rip, remote.port)) {
		return -EADDRINUSE;
	}
	c->unopened = false;
	tcp_conn_set_tuple(c, &lip, lport, &rip, remote.port);
	c->iss = tcp_new_iss(s, c);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_buf_seq = c->iss + 1;
	tcp_conn_hash(c);
	call_begin(c);
	tcp_set_state(c, USTCP_SYN_SENT);
	stat_inc(s, USTCP_C_tcp_active_opens);
	tcp_send_syn(c);
	stack_event_end(s);
	return 0;
}

int ustcp_connect(struct ustcp_stack *s, struct ustcp_endpoint local, struct ustcp_endpoint remote,
		  struct ustcp_sock **out)
{
	struct ustcp_sock *c;
	int rc = ustcp_socket(s, &c);
	if (rc < 0)
		return rc;
	rc = ustcp_connect_sock(c, local, remote);
	if (rc < 0) {
		stack_event_begin(s);
		tcp_conn_release(c);
		stack_event_end(s);
		return rc;
	}
	*out = c;
	return 0;
}

/* The error a call on a dead or closing connection reports. */
static long conn_error(const struct ustcp_sock *k, long otherwise)
{
	return k->error ? k->error : otherwise;
}

static long send_data(struct ustcp_sock *k, const void *buf, size_t len, bool urgent)
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
	if (urgent) {
		/* RFC 6093: the urgent pointer names the byte after the urgent data. */
		k->snd_up = k->snd_buf_seq + k->sndbuf.len;
		k->snd_up_valid = true;
	}
	tcp_output(k);
	stack_event_end(k->stack);
	return n;
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
	if (!k->rcv_up_valid)
		return -1;
	uint32_t from = first_unread(k);
	return seq_gt(k->rcv_up, from) ? (long)(k->rcv_up - from) : -1;
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

long ustcp_recv(struct ustcp_sock *k, void *buf, size_t len)
{
	/* RFC 9293 §3.10.3: RECEIVE on a connection that does not exist. */
	if (k->state == USTCP_LISTEN || k->unopened)
		return -ENOTCONN;
	if (k->rcvbuf.len > 0 && len > 0) {
		uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		call_begin(k);
		uint32_t n = ring_read(&k->rcvbuf, buf, want);
		/* Read past the urgent data: the mark is done with (kept, it
		 * would look ahead again once 2^31 more bytes had passed). */
		if (k->rcv_up_valid && !seq_gt(k->rcv_up, first_unread(k)))
			k->rcv_up_valid = false;
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
		/* RFC 9293 §3.10.4 deletes the TCB; but data the user queued is
		 * not thrown away: it goes, then the FIN, once established. */
		if (k->sndbuf.len == 0) {
			tcp_conn_closed(k, 0);
			break;
		}
		k->rcv_closed = true;
		shut_send(k);
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
		/* RFC 9293 §3.10.5: a RST from SYN-RECEIVED, ESTABLISHED,
		 * FIN-WAIT-1/2 and CLOSE-WAIT; CLOSING, LAST-ACK and TIME-WAIT
		 * (our FIN is out, the peer's is in) just delete the TCB. */
		if (tcp_synchronized(k->state) && k->state != USTCP_CLOSING &&
		    k->state != USTCP_LAST_ACK && k->state != USTCP_TIME_WAIT)
			tcp_send_rst_conn(k);
		tcp_conn_closed(k, -ECONNABORTED);
	}
	tcp_conn_release(k);
	stack_event_end(s);
	return 0;
}

int ustcp_sock_state(const struct ustcp_sock *k) { return k->state; }
int ustcp_sock_error(const struct ustcp_sock *k) { return k->error; }
int ustcp_sock_take_error(struct ustcp_sock *k)
{
	if (k->error)
		return k->error;
	if (!k->soft_error_untaken)
		return 0;
	k->soft_error_untaken = false;
	return k->soft_error;
}
size_t ustcp_sock_readable(const struct ustcp_sock *k) { return k->rcvbuf.len; }
size_t ustcp_sock_writable(const struct ustcp_sock *k)
{
	if (!k->sndbuf.buf)
		return k->opt_sndbuf;
	return ring_space(&k->sndbuf);
}
int ustcp_sock_eof(const struct ustcp_sock *k) { return k->fin_rcvd && k->rcvbuf.len == 0; }

void ustcp_sock_info(const struct ustcp_sock *k, struct ustcp_sock_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = k->state;
	ep_set(&info->local, &k->laddr, k->lport);
	ep_set(&info->remote, &k->raddr, k->rport);
	info->iss = k->iss;
	info->irs = k->irs;
	info->snd_una = k->snd_una;
	info->snd_nxt = k->snd_nxt;
	info->snd_max = k->snd_max;
	info->snd_wnd = k->snd_wnd;
	info->rcv_nxt = k->rcv_nxt;
	info->rcv_wnd = tcp_rcv_window(k);
	info->snd_mss = k->snd_mss;
	info->rcv_mss = k->rcv_mss;
	info->snd_wscale = k->snd_wscale;
	info->rcv_wscale = k->rcv_wscale;
	info->timestamps = k->ts_ok;
	info->sack_ok = k->sack_ok;
	info->in_recovery = tcp_in_fast_recovery(k);
	info->cwnd = k->cwnd;
	info->ssthresh = k->ssthresh;
	info->srtt = k->srtt;
	info->rttvar = k->rttvar;
	info->rto = tcp_rto_now(k);
	info->min_rtt = k->min_rtt;
	info->bytes_in_flight = k->snd_max - k->snd_una;
	info->retransmits = k->retransmits;
	info->fast_retransmits = k->fast_retransmits;
	info->rto_expirations = k->rto_expirations;
	info->dup_acks = k->dup_acks_total;
	info->zero_window_probes = k->zw_probes;
	info->keepalive_probes = k->keep_probes;
	info->backoff = tcp_backoff_now(k);
	info->rcv_ooo_bytes = tcp_reass_bytes(&k->reass);
	info->sndbuf = k->sndbuf.buf ? k->sndbuf.cap : k->opt_sndbuf;
	info->rcvbuf = k->opt_rcvbuf;
	info->bytes_acked = k->bytes_acked;
	info->bytes_received = k->bytes_received;
	info->segs_out = k->segs_out;
	info->segs_in = k->segs_in;
	info->conn_id = k->id;
	info->soft_error = k->soft_error;
	if (k->cc)
		snprintf(info->cc, sizeof(info->cc), "%s", k->cc->name);
}

/* A buffer size can change until the buffer exists; the receive buffer
 * also not after our SYN, whose window scale was chosen for it. */
static int set_bufsize(struct ustcp_sock *k, uint32_t *field, const struct ring *r, uint64_t v)
{
	if (v < 1024 || v > k->stack->cfg.max_sockbuf)
		return -EINVAL;
	if (r->buf ||
	    (field == &k->opt_rcvbuf && k->state != USTCP_CLOSED && k->state != USTCP_LISTEN))
		return -EISCONN;
	*field = (uint32_t)v;
	return 0;
}

static int set_bool(bool *field, uint64_t v)
{
	if (v > 1)
		return -EINVAL;
	*field = v != 0;
	return 0;
}

static int set_time(uint64_t *field, uint64_t v, uint64_t lo, uint64_t hi)
{
	if (v < lo || v > hi)
		return -EINVAL;
	*field = v;
	return 0;
}

int ustcp_setsockopt(struct ustcp_sock *k, int opt, uint64_t v)
{
	const uint64_t ms = USTCP_NS_PER_MS, sec = USTCP_NS_PER_SEC;
	int rc;
	switch (opt) {
	case USTCP_SO_SNDBUF:
		return set_bufsize(k, &k->opt_sndbuf, &k->sndbuf, v);
	case USTCP_SO_RCVBUF:
		return set_bufsize(k, &k->opt_rcvbuf, &k->rcvbuf, v);
	case USTCP_TCP_NODELAY:
		call_begin(k);
		rc = set_bool(&k->nodelay, v);
		if (rc == 0 && k->nodelay)
			tcp_output(k); /* what Nagle held back goes now */
		stack_event_end(k->stack);
		return rc;
	case USTCP_TCP_QUICKACK:
		return set_bool(&k->quickack, v);
	case USTCP_TCP_ACK_DELAY:
		return set_time(&k->ack_delay, v, 1 * ms, 500 * ms);
	case USTCP_SO_KEEPALIVE:
		rc = set_bool(&k->keepalive, v);
		if (rc == 0)
			tcp_keepalive_arm(k);
		return rc;
	case USTCP_TCP_KEEPIDLE:
		rc = set_time(&k->keep_idle, v, 1 * sec, UINT64_MAX / 4);
		if (rc == 0)
			tcp_keepalive_arm(k);
		return rc;
	case USTCP_TCP_KEEPINTVL:
		return set_time(&k->keep_intvl, v, 1 * sec, UINT64_MAX / 4);
	case USTCP_TCP_KEEPCNT:
		if (v < 1 || v > 255)
			return -EINVAL;
		k->keep_cnt = (uint8_t)v;
		return 0;
	case USTCP_TCP_USER_TIMEOUT:
		return set_time(&k->user_timeout, v, 0, UINT64_MAX / 4);
	case USTCP_TCP_RTO_MIN:
		return set_time(&k->rto_min, v, 1 * ms, k->stack->cfg.rto_max);
	default:
		return -ENOPROTOOPT;
	}
}

int ustcp_getsockopt(const struct ustcp_sock *k, int opt, uint64_t *v)
{
	switch (opt) {
	case USTCP_SO_SNDBUF:
		*v = k->sndbuf.buf ? k->sndbuf.cap : k->opt_sndbuf;
		return 0;
	case USTCP_SO_RCVBUF:
		*v = k->opt_rcvbuf;
		return 0;
	case USTCP_TCP_NODELAY:
		*v = k->nodelay;
		return 0;
	case USTCP_TCP_QUICKACK:
		*v = k->quickack;
		return 0;
	case USTCP_TCP_ACK_DELAY:
		*v = k->ack_delay;
		return 0;
	case USTCP_SO_KEEPALIVE:
		*v = k->keepalive;
		return 0;
	case USTCP_TCP_KEEPIDLE:
		*v = k->keep_idle;
		return 0;
	case USTCP_TCP_KEEPINTVL:
		*v = k->keep_intvl;
		return 0;
	case USTCP_TCP_KEEPCNT:
		*v = k->keep_cnt;
		return 0;
	case USTCP_TCP_USER_TIMEOUT:
		*v = k->user_timeout;
		return 0;
	case USTCP_TCP_RTO_MIN:
		*v = k->rto_min;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int ustcp_set_cc(struct ustcp_sock *k, const char *name)
{
	const struct tcp_cc_ops *cc = tcp_cc_find(name);
	if (!cc)
		return -ENOENT;
	if (cc == k->cc)
		return 0;
	k->cc = cc;
	memset(k->cc_priv, 0, sizeof(k->cc_priv));
	if (tcp_synchronized(k->state))
		cc->init(k);
	return 0;
}

void ustcp_sock_set_user(struct ustcp_sock *k, void *user) { k->user = user; }
void *ustcp_sock_user(const struct ustcp_sock *k) { return k->user; }
