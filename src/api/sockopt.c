/* sockopt.c — what a program asks of a socket besides sending and
 * receiving: its state and addresses (STATUS, RFC 9293 §3.10.6), its
 * options, what it is ready for (poll), and a descriptor that says so. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "net/net.h"
#include "tcp/tcp.h"
#include "ustcp/ustcp.h"

/* A getter of an int field: the value, or -EBADF. */
#define PEEK_INT(k, expr)              \
	do {                           \
		int rc_ = api_peek(k); \
		if (rc_ < 0)           \
			return rc_;    \
		int v_ = (expr);       \
		api_unpeek(k);         \
		return v_;             \
	} while (0)

int ustcp_sock_state(const struct ustcp_sock *k) { PEEK_INT(k, k->state); }
int ustcp_sock_error(const struct ustcp_sock *k) { PEEK_INT(k, k->error); }
int ustcp_sock_eof(const struct ustcp_sock *k)
{
	PEEK_INT(k, (k->fin_rcvd && k->rcvbuf.len == 0) || k->rcv_shut);
}

int ustcp_sock_take_error(struct ustcp_sock *k)
{
	int rc = api_peek(k);
	if (rc < 0)
		return rc;
	if (k->error) {
		rc = k->error;
	} else if (k->soft_error_untaken) {
		k->soft_error_untaken = false;
		rc = k->soft_error;
	}
	api_unpeek(k);
	return rc;
}

size_t ustcp_sock_readable(const struct ustcp_sock *k)
{
	if (api_peek(k) < 0)
		return 0;
	size_t n = k->rcv_shut ? 0 : k->rcvbuf.len;
	api_unpeek(k);
	return n;
}

static size_t writable(const struct ustcp_sock *k)
{
	return k->sndbuf.buf ? ring_space(&k->sndbuf) : k->opt->opt_sndbuf;
}

size_t ustcp_sock_writable(const struct ustcp_sock *k)
{
	if (api_peek(k) < 0)
		return 0;
	size_t n = writable(k);
	api_unpeek(k);
	return n;
}

int ustcp_getsockname(const struct ustcp_sock *k, struct ustcp_endpoint *out)
{
	int rc = api_peek(k);
	if (rc < 0)
		return rc;
	if (!out)
		rc = -EFAULT;
	else
		api_ep_set(out, &k->laddr, k->lport);
	api_unpeek(k);
	return rc;
}

int ustcp_getpeername(const struct ustcp_sock *k, struct ustcp_endpoint *out)
{
	int rc = api_peek(k);
	if (rc < 0)
		return rc;
	if (!out)
		rc = -EFAULT;
	else if (k->unopened || k->state == USTCP_LISTEN || k->rport == 0)
		rc = -ENOTCONN;
	else
		api_ep_set(out, &k->raddr, k->rport);
	api_unpeek(k);
	return rc;
}

/* What ustcp_sock_info says of k, whoever holds it (the stack taken). */
static void sock_info_fill(const struct ustcp_sock *k, struct ustcp_sock_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = k->state;
	api_ep_set(&info->local, &k->laddr, k->lport);
	api_ep_set(&info->remote, &k->raddr, k->rport);
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
	info->rcv_ooo_bytes = k->ranges ? tcp_reass_bytes(&k->ranges->reass) : 0;
	info->sndbuf = k->sndbuf.buf ? k->sndbuf.cap : k->opt->opt_sndbuf;
	info->rcvbuf = k->opt->opt_rcvbuf;
	info->bytes_acked = k->bytes_acked;
	info->bytes_received = k->bytes_received;
	info->segs_out = k->segs_out;
	info->segs_in = k->segs_in;
	info->conn_id = k->id;
	info->soft_error = k->soft_error;
	info->snd_queued = k->sndbuf.len;
	info->rcv_queued = k->rcv_shut ? 0 : k->rcvbuf.len;
	if (k->cc)
		snprintf(info->cc, sizeof(info->cc), "%s", k->cc->name);
	info->owner = k->user_owned ? USTCP_OWNER_USER
		      : k->listener ? USTCP_OWNER_LISTENER
				    : USTCP_OWNER_STACK;
}

int ustcp_sock_info(const struct ustcp_sock *k, struct ustcp_sock_info *info)
{
	int rc = api_peek(k);
	if (rc < 0)
		return rc;
	if (info)
		sock_info_fill(k, info);
	api_unpeek(k);
	return info ? 0 : -EFAULT;
}

/* ---- readiness ---- */

/* As poll(2) reports a TCP socket (Linux's tcp_poll): POLLIN for data, the
 * peer's FIN, an error or a connection to accept; POLLOUT for room to
 * write (at least half of what is queued is free, as sk_stream_wspace);
 * POLLHUP when both directions are shut or the connection is closed;
 * POLLERR with an error. */
static short events_of(const struct ustcp_sock *k)
{
	short ev = 0;
	if (k->state == USTCP_LISTEN) {
		const struct dlist *q = &k->queue->children;
		for (const struct dlist *n = q->next; n != q; n = n->next)
			if (container_of(n, struct ustcp_sock, link)->state != USTCP_SYN_RECEIVED)
				return POLLIN;
		return 0;
	}
	bool wr_shut = k->fin_queued || k->state == USTCP_CLOSED;
	if (k->error)
		ev |= POLLERR;
	if (k->state == USTCP_CLOSED || (k->fin_rcvd && wr_shut) || (k->rcv_shut && wr_shut))
		ev |= POLLHUP;
	if (k->rcvbuf.len || k->fin_rcvd || k->rcv_shut || k->error ||
	    (k->state == USTCP_CLOSED && !k->unopened))
		ev |= POLLIN;
	bool open = k->state == USTCP_ESTABLISHED || k->state == USTCP_CLOSE_WAIT;
	size_t room = writable(k);
	if ((open && !k->fin_queued && room > 0 && room >= k->sndbuf.len / 2) || k->error)
		ev |= POLLOUT;
	return ev;
}

short ustcp_sock_events(const struct ustcp_sock *k)
{
	if (api_peek(k) < 0)
		return POLLNVAL;
	short ev = events_of(k);
	api_unpeek(k);
	return ev;
}

/* revents of each entry; the count of entries with any. */
static int poll_scan(struct ustcp_pollfd *fds, size_t n)
{
	int ready = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ustcp_sock *k = fds[i].sock;
		if (!k) {
			fds[i].revents = 0; /* as poll(2) skips a negative fd */
			continue;
		}
		short ev = k->in_use && k->user_owned ? events_of(k) : POLLNVAL;
		fds[i].revents = (short)(ev & (fds[i].events | POLLHUP | POLLERR | POLLNVAL));
		ready += fds[i].revents != 0;
	}
	return ready;
}

int ustcp_poll(struct ustcp_pollfd *fds, size_t n, int timeout_ms)
{
	struct ustcp_stack *s = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!fds[i].sock)
			continue;
		if (s && fds[i].sock->stack != s)
			return -EINVAL; /* one stack (one lock) per call */
		s = fds[i].sock->stack;
	}
	if (!s)
		return n ? 0 : -EINVAL;
	stack_lock(s);
	uint64_t deadline =
		timeout_ms < 0 ? UINT64_MAX : s->now + (uint64_t)timeout_ms * USTCP_NS_PER_MS;
	int ready;
	/* Only with a host can anything change while we wait, and never
	 * inside an event (a handler's call). */
	while ((ready = poll_scan(fds, n)) == 0 && timeout_ms != 0 && s->sync && s->depth == 0) {
		if (s->sync->wait(s->sync->ctx, NULL, deadline) == -ETIMEDOUT)
			break;
		stack_advance(s, s->sync->clock(s->sync->ctx));
	}
	if (ready == 0)
		ready = poll_scan(fds, n);
	stack_unlock(s);
	return ready;
}

int ustcp_sock_fd(struct ustcp_sock *k, short events)
{
	int rc = api_peek(k);
	if (rc < 0)
		return rc;
	struct ustcp_stack *s = k->stack;
	if (!s->sync)
		rc = -EOPNOTSUPP; /* no other thread could make it ready */
	else if (events & ~(POLLIN | POLLOUT))
		rc = -EINVAL;
	else
		rc = s->sync->fd(s->sync->ctx, &k->notice, events);
	api_unpeek(k);
	return rc;
}

/* ---- options ---- */

/* A buffer size can change until the buffer exists; the receive buffer
 * also not after our SYN, whose window scale was chosen for it. */
static int set_bufsize(struct ustcp_sock *k, uint32_t *field, const struct ring *r, uint64_t v)
{
	if (v < 1024 || v > k->stack->cfg.max_sockbuf)
		return -EINVAL;
	if (r->buf || (r == &k->rcvbuf && k->state != USTCP_CLOSED && k->state != USTCP_LISTEN))
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

/* TCP_MAXSEG (Linux's range, 88 to 65495): a cap on the segment size,
 * announced in our SYN when set before it, and on what we send. */
static int set_maxseg(struct ustcp_sock *k, struct tcp_sockopts *o, uint64_t v)
{
	if (v != 0 && (v < 88 || v > 65495))
		return -EINVAL;
	o->user_mss = (uint16_t)v;
	if (v && tcp_synchronized(k->state) && k->peer_mss > v) {
		k->peer_mss = (uint16_t)v;
		k->snd_mss = (uint16_t)(v - (k->ts_ok ? 12 : 0));
	}
	return 0;
}

static int setsockopt_locked(struct ustcp_sock *k, int opt, uint64_t v)
{
	const uint64_t ms = USTCP_NS_PER_MS, sec = USTCP_NS_PER_SEC;
	struct tcp_sockopts *o = tcp_sockopts_own(k);
	int rc;
	if (!o)
		return -ENOMEM;
	switch (opt) {
	case USTCP_SO_SNDBUF:
		return set_bufsize(k, &o->opt_sndbuf, &k->sndbuf, v);
	case USTCP_SO_RCVBUF:
		return set_bufsize(k, &o->opt_rcvbuf, &k->rcvbuf, v);
	case USTCP_TCP_NODELAY:
		rc = set_bool(&o->nodelay, v);
		if (rc == 0 && o->nodelay)
			tcp_output(k); /* what Nagle held back goes now */
		return rc;
	case USTCP_TCP_CORK:
		rc = set_bool(&o->cork, v);
		if (rc == 0 && !o->cork)
			tcp_output(k); /* what the cork held back goes now */
		return rc;
	case USTCP_TCP_QUICKACK:
		return set_bool(&o->quickack, v);
	case USTCP_TCP_ACK_DELAY:
		return set_time(&o->ack_delay, v, 1 * ms, 500 * ms);
	case USTCP_SO_KEEPALIVE:
		rc = set_bool(&o->keepalive, v);
		if (rc == 0)
			tcp_keepalive_arm(k);
		return rc;
	case USTCP_TCP_KEEPIDLE:
		rc = set_time(&o->keep_idle, v, 1 * sec, UINT64_MAX / 4);
		if (rc == 0)
			tcp_keepalive_arm(k);
		return rc;
	case USTCP_TCP_KEEPINTVL:
		return set_time(&o->keep_intvl, v, 1 * sec, UINT64_MAX / 4);
	case USTCP_TCP_KEEPCNT:
		if (v < 1 || v > 255)
			return -EINVAL;
		o->keep_cnt = (uint8_t)v;
		return 0;
	case USTCP_TCP_USER_TIMEOUT:
		return set_time(&o->user_timeout, v, 0, UINT64_MAX / 4);
	case USTCP_TCP_RTO_MIN:
		return set_time(&o->rto_min, v, 1 * ms, k->stack->cfg.rto_max);
	case USTCP_TCP_MAXSEG:
		return set_maxseg(k, o, v);
	case USTCP_SO_NONBLOCK:
		return set_bool(&k->nonblock, v);
	case USTCP_SO_REUSEADDR:
		return set_bool(&k->reuseaddr, v);
	case USTCP_SO_RCVTIMEO:
		return set_time(&o->rcvtimeo, v, 0, UINT64_MAX / 4);
	case USTCP_SO_SNDTIMEO:
		return set_time(&o->sndtimeo, v, 0, UINT64_MAX / 4);
	case USTCP_SO_LINGER:
		return set_time(&o->linger, v, 0, UINT64_MAX);
	case USTCP_TCP_SYNCOOKIES:
		return set_bool(&k->cookies_always, v);
	default:
		return -ENOPROTOOPT;
	}
}

int ustcp_setsockopt(struct ustcp_sock *k, int opt, uint64_t v)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	rc = setsockopt_locked(k, opt, v);
	api_leave(k);
	return rc;
}

static int getsockopt_locked(const struct ustcp_sock *k, int opt, uint64_t *v)
{
	switch (opt) {
	case USTCP_SO_SNDBUF:
		*v = k->sndbuf.buf ? k->sndbuf.cap : k->opt->opt_sndbuf;
		return 0;
	case USTCP_SO_RCVBUF:
		*v = k->opt->opt_rcvbuf;
		return 0;
	case USTCP_TCP_NODELAY:
		*v = k->opt->nodelay;
		return 0;
	case USTCP_TCP_CORK:
		*v = k->opt->cork;
		return 0;
	case USTCP_TCP_QUICKACK:
		*v = k->opt->quickack;
		return 0;
	case USTCP_TCP_ACK_DELAY:
		*v = k->opt->ack_delay;
		return 0;
	case USTCP_SO_KEEPALIVE:
		*v = k->opt->keepalive;
		return 0;
	case USTCP_TCP_KEEPIDLE:
		*v = k->opt->keep_idle;
		return 0;
	case USTCP_TCP_KEEPINTVL:
		*v = k->opt->keep_intvl;
		return 0;
	case USTCP_TCP_KEEPCNT:
		*v = k->opt->keep_cnt;
		return 0;
	case USTCP_TCP_USER_TIMEOUT:
		*v = k->opt->user_timeout;
		return 0;
	case USTCP_TCP_RTO_MIN:
		*v = k->opt->rto_min;
		return 0;
	case USTCP_TCP_MAXSEG:
		/* As Linux: the MSS in use once connected, else what was set. */
		*v = tcp_synchronized(k->state) ? k->snd_mss : k->opt->user_mss;
		return 0;
	case USTCP_SO_NONBLOCK:
		*v = k->nonblock;
		return 0;
	case USTCP_SO_REUSEADDR:
		*v = k->reuseaddr;
		return 0;
	case USTCP_SO_RCVTIMEO:
		*v = k->opt->rcvtimeo;
		return 0;
	case USTCP_SO_SNDTIMEO:
		*v = k->opt->sndtimeo;
		return 0;
	case USTCP_SO_LINGER:
		*v = k->opt->linger;
		return 0;
	case USTCP_TCP_SYNCOOKIES:
		*v = k->cookies_always;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int ustcp_getsockopt(const struct ustcp_sock *k, int opt, uint64_t *v)
{
	int rc = api_peek(k);
	if (rc < 0)
		return rc;
	rc = v ? getsockopt_locked(k, opt, v) : -EFAULT;
	api_unpeek(k);
	return rc;
}

int ustcp_set_cc(struct ustcp_sock *k, const char *name)
{
	int rc = api_enter(k);
	if (rc < 0)
		return rc;
	const struct tcp_cc_ops *cc = name ? tcp_cc_find(name) : NULL;
	if (!cc) {
		rc = -ENOENT;
	} else if (cc != k->cc) {
		k->cc = cc;
		memset(k->cc_priv, 0, sizeof(k->cc_priv));
		if (tcp_synchronized(k->state))
			cc->init(k);
	}
	api_leave(k);
	return rc;
}

int ustcp_sock_set_user(struct ustcp_sock *k, void *user)
{
	int rc = api_peek(k);
	if (rc == 0) {
		k->user = user;
		api_unpeek(k);
	}
	return rc;
}

void *ustcp_sock_user(const struct ustcp_sock *k)
{
	if (api_peek(k) < 0)
		return NULL;
	void *u = k->user;
	api_unpeek(k);
	return u;
}

/* ---- every connection of a stack ---- */

size_t ustcp_stack_conns(const struct ustcp_stack *s, struct ustcp_sock_info *out, size_t max)
{
	if (!s)
		return 0;
	struct ustcp_stack *m = (struct ustcp_stack *)s; /* the lock is not the stack's state */
	stack_lock(m);
	size_t n = 0;
	for (uint32_t i = 0; i < s->cfg.max_conns; i++) {
		const struct ustcp_sock *k = &s->tcp->pool[i];
		/* A connection the reaper has taken is gone but for its slot
		 * (a thread still blocked on it holds that a moment longer). */
		if (!k->in_use || k->reaped_pending)
			continue;
		if (n < max)
			sock_info_fill(k, &out[n]);
		n++;
	}
	stack_unlock(m);
	return n;
}
