/* fuzz_script.c — libFuzzer target whose input is a program: user calls
 * (connect, accept, send, recv, shutdown, close, abort, setsockopt), time
 * steps, impairments of the link, and forged segments near a connection's
 * sequence numbers, on two stacks joined by the simulated link.
 *
 * Each step is one opcode byte and its arguments. After every step the
 * stacks' invariants are checked (counters consistent, pools within their
 * bounds); at the end every connection still open is finished, and then:
 * when the script forged nothing, every byte sent on a connection that was
 * not aborted or reset arrived, in order, exactly once (each recv checks
 * the bytes against the stream's pattern); and whatever the script did,
 * once every timer has run out both stacks are empty — no connection, no
 * buffer, no timer (a timer left on a freed slot fails the stack's own
 * assertion). tests/fuzz/corpus/fuzz_script holds seeds. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "ustcp/ustcp.h"
#include "wire/wire.h"

#define NCONN 4
#define PORT 80
#define MS USTCP_NS_PER_MS
#define SEC USTCP_NS_PER_SEC

enum { A = 0, B = 1 };

enum op {
	OP_RUN,
	OP_CONNECT,
	OP_ACCEPT,
	OP_SEND,
	OP_RECV,
	OP_SHUT,
	OP_CLOSE,
	OP_ABORT,
	OP_SETOPT,
	OP_FORGE,
	OP_IMPAIR,
	OP_COUNT
};

/* One connection as both ends' programs see it. */
struct conn {
	struct ustcp_sock *k[2];   /* A's socket, B's (once accepted) */
	uint16_t aport;            /* A's port: how B's accepted socket is matched */
	uint64_t sent[2], rcvd[2]; /* stream bytes each side sent and read */
	bool shut[2], eof[2];
	bool dirty; /* reset, aborted or closed with unread data: no delivery check */
};

struct world {
	struct ustcp_sim *sim;
	struct ustcp_stack *st[2];
	int port[2];
	struct ustcp_sock *l;
	struct conn c[NCONN];
	bool forged;
};

static ustcp_ip4 ip_of[2]; /* 10.0.0.3, 10.0.0.1 (network order) */

/* The byte at offset off of the stream that side `from` sends on connection i. */
static uint8_t pat(int i, int from, uint64_t off)
{
	return (uint8_t)(i * 29 + from * 101 + off * 7 + (off >> 9));
}

/* A reader of the script: bytes past its end read as zero. */
struct script {
	const uint8_t *p;
	size_t n, at;
};

static uint8_t next(struct script *s) { return s->at < s->n ? s->p[s->at++] : 0; }

static uint16_t next16(struct script *s)
{
	uint16_t hi = next(s);
	return (uint16_t)(hi << 8 | next(s));
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_script: invariant broken: %s\n", what);
		abort();
	}
}

static void run(struct world *w, uint64_t dt)
{
	ustcp_sim_run_until(w->sim, ustcp_sim_now(w->sim) + dt);
}

/* B's accepted socket belongs to the connection whose A-side port it talks to. */
static void accept_all(struct world *w)
{
	struct ustcp_sock *k;
	while (ustcp_accept(w->l, &k) == 0) {
		struct ustcp_endpoint peer;
		bool placed = false;
		if (ustcp_getpeername(k, &peer) == 0)
			for (int i = 0; i < NCONN && !placed; i++)
				if (w->c[i].k[A] && !w->c[i].k[B] && w->c[i].aport == peer.port) {
					w->c[i].k[B] = k;
					placed = true;
				}
		if (!placed)
			ustcp_abort(k); /* its client is gone already */
	}
}

static void do_send(struct conn *c, int i, int side, size_t len)
{
	uint8_t buf[2048];
	if (len > sizeof(buf))
		len = sizeof(buf);
	for (size_t j = 0; j < len; j++)
		buf[j] = pat(i, side, c->sent[side] + j);
	long r = ustcp_send(c->k[side], buf, len);
	if (r > 0)
		c->sent[side] += (uint64_t)r;
	else if (r != -EAGAIN && r != 0)
		c->dirty = c->dirty || r != -EPIPE;
}

static void do_recv(struct world *w, struct conn *c, int i, int side, size_t len)
{
	uint8_t buf[4096];
	if (len > sizeof(buf))
		len = sizeof(buf);
	long r = ustcp_recv(c->k[side], buf, len);
	if (r > 0) {
		if (!w->forged && !c->dirty)
			for (long j = 0; j < r; j++)
				check(buf[j] == pat(i, !side, c->rcvd[side] + (uint64_t)j),
				      "bytes arrive in order, once");
		c->rcvd[side] += (uint64_t)r;
	} else if (r == 0 && len) {
		c->eof[side] = true;
	} else if (r < 0 && r != -EAGAIN) {
		c->dirty = true; /* reset */
	}
}

static void forget(struct conn *c, int side)
{
	c->k[side] = NULL;
	if (side == A)
		c->aport = 0;
}

static const int opts[] = {USTCP_TCP_NODELAY,  USTCP_TCP_QUICKACK, USTCP_TCP_CORK,
			   USTCP_SO_KEEPALIVE, USTCP_TCP_MAXSEG,   USTCP_TCP_USER_TIMEOUT,
			   USTCP_SO_LINGER,    USTCP_TCP_KEEPIDLE};

static uint64_t opt_value(int opt, uint8_t v)
{
	switch (opt) {
	case USTCP_TCP_MAXSEG:
		return 88 + (uint64_t)v * 4;
	case USTCP_TCP_USER_TIMEOUT:
	case USTCP_TCP_KEEPIDLE:
		return (1 + (uint64_t)v) * SEC;
	case USTCP_SO_LINGER:
		return v & 1 ? 0 : UINT64_MAX;
	default:
		return v & 1;
	}
}

/* A TCP segment into `to`'s stack with connection c's 4-tuple, as if from
 * the other end, its sequence numbers near what the receiver expects. */
static void forge(struct world *w, struct conn *c, int to, struct script *s)
{
	struct ustcp_sock_info in;
	if (!c->k[to] || ustcp_sock_info(c->k[to], &in) < 0 || in.remote.port == 0)
		return;
	uint8_t flags = next(s) & (TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK | TCP_URG);
	int16_t dseq = (int16_t)next16(s), dack = (int16_t)next16(s);
	size_t dlen = next(s) % 64;
	uint16_t win = next16(s);
	struct tcp_hdr th = {.sport = in.remote.port,
			     .dport = in.local.port,
			     .seq = in.rcv_nxt + (uint32_t)(int32_t)dseq,
			     .ack = in.snd_una + (uint32_t)(int32_t)dack,
			     .flags = flags,
			     .win = win,
			     .urp = (uint16_t)(dlen / 2)};
	uint8_t f[ETH_HLEN + IPV4_HLEN + TCP_MAX_HLEN + 64];
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
	memcpy(eh.dst, mac[to], 6);
	memcpy(eh.src, mac[!to], 6);
	eth_emit(&eh, f);
	uint8_t *seg = f + ETH_HLEN + IPV4_HLEN;
	size_t hl = tcp_emit(&th, seg);
	memset(seg + hl, 0xa5, dlen);
	uint32_t src = ntohl(ip_of[!to]), dst = ntohl(ip_of[to]);
	tcp_checksum_set4(seg, hl + dlen, src, dst);
	struct ipv4_hdr ih = {.total_len = (uint16_t)(IPV4_HLEN + hl + dlen),
			      .ttl = 64,
			      .proto = IPPROTO_TCP_,
			      .src = src,
			      .dst = dst};
	ipv4_emit(&ih, f + ETH_HLEN);
	ustcp_input(w->st[to], 0, f, ETH_HLEN + IPV4_HLEN + hl + dlen, ustcp_sim_now(w->sim));
	w->forged = true;
}

static void step(struct world *w, struct script *s)
{
	uint8_t op = next(s) % OP_COUNT, arg = next(s);
	int i = arg % NCONN, side = (arg >> 2) & 1;
	struct conn *c = &w->c[i];
	switch ((enum op)op) {
	case OP_RUN:
		run(w, (uint64_t)(arg % 200) * MS);
		break;
	case OP_CONNECT:
		if (!c->k[A] && !c->k[B]) {
			memset(c, 0, sizeof(*c));
			struct ustcp_endpoint to = {.ip4 = 0x0a000001, .port = PORT};
			struct ustcp_endpoint me;
			if (ustcp_connect_to(w->st[A], (struct ustcp_endpoint){0}, to, &c->k[A]) ==
				    0 &&
			    ustcp_getsockname(c->k[A], &me) == 0)
				c->aport = me.port;
		}
		break;
	case OP_ACCEPT:
		accept_all(w);
		break;
	case OP_SEND:
		if (c->k[side])
			do_send(c, i, side, (size_t)next(s) * 8 + 1);
		break;
	case OP_RECV:
		if (c->k[side])
			do_recv(w, c, i, side, (size_t)next(s) * 16);
		break;
	case OP_SHUT:
		if (c->k[side] && ustcp_shutdown(c->k[side], USTCP_SHUT_WR) == 0)
			c->shut[side] = true;
		break;
	case OP_CLOSE:
		if (c->k[side]) {
			if (ustcp_sock_readable(c->k[side]))
				c->dirty = true; /* RFC 1122 §4.2.2.13: a reset */
			ustcp_close(c->k[side]);
			forget(c, side);
			c->dirty = true; /* what the other side sends is no longer read */
		}
		break;
	case OP_ABORT:
		if (c->k[side]) {
			ustcp_abort(c->k[side]);
			forget(c, side);
			c->dirty = true;
		}
		break;
	case OP_SETOPT:
		if (c->k[side]) {
			int opt = opts[next(s) % (sizeof(opts) / sizeof(opts[0]))];
			(void)ustcp_setsockopt(c->k[side], opt, opt_value(opt, next(s)));
		}
		break;
	case OP_FORGE:
		forge(w, c, side, s);
		break;
	case OP_IMPAIR: {
		struct ustcp_impair imp = {.delay = (uint64_t)(1 + next(s) % 20) * MS,
					   .loss = (double)(next(s) % 8) / 100.0,
					   .duplicate = (double)(next(s) % 4) / 100.0,
					   .reorder = (double)(next(s) % 8) / 100.0,
					   .reorder_delay = 3 * MS};
		ustcp_sim_set_impair(w->sim, w->port[side], &imp);
		break;
	}
	case OP_COUNT:
		break;
	}
}

static void invariants(struct world *w)
{
	for (int side = 0; side < 2; side++) {
		struct ustcp_pool_usage u;
		ustcp_pool_usage(w->st[side], &u);
		check(u.conns <= u.conns_max, "connections within the pool");
		check(u.closing <= u.conns, "closing connections are connections");
		check(u.timers <= 5 * u.conns + 4, "timers belong to connections");
		/* Every segment came in a frame, and left in one (between events
		 * the transmit queue is empty). */
		check(ustcp_counter(w->st[side], USTCP_C_tcp_in) <=
			      ustcp_counter(w->st[side], USTCP_C_frames_in),
		      "no more TCP segments in than frames in");
		check(ustcp_counter(w->st[side], USTCP_C_tcp_out) <=
			      ustcp_counter(w->st[side], USTCP_C_frames_out),
		      "no more TCP segments out than frames out");
	}
	for (int i = 0; i < NCONN; i++)
		for (int side = 0; side < 2; side++)
			if (w->c[i].k[side]) {
				int st = ustcp_sock_state(w->c[i].k[side]);
				check(st >= 0 && st < USTCP_STATE_COUNT,
				      "a socket's state is a state");
			}
}

/* Finish every connection: both ends shut down and read to the end; then
 * what was sent must all have arrived (unless the script forged, or the
 * connection was reset). */
static void finish(struct world *w)
{
	struct ustcp_impair calm = {.delay = 1 * MS};
	for (int side = 0; side < 2; side++)
		ustcp_sim_set_impair(w->sim, w->port[side], &calm);
	accept_all(w);
	for (int i = 0; i < NCONN; i++)
		for (int side = 0; side < 2; side++)
			if (w->c[i].k[side])
				ustcp_shutdown(w->c[i].k[side], USTCP_SHUT_WR);
	for (int round = 0; round < 2000; round++) {
		run(w, 50 * MS);
		accept_all(w);
		bool open = false;
		for (int i = 0; i < NCONN; i++)
			for (int side = 0; side < 2; side++) {
				struct conn *c = &w->c[i];
				if (!c->k[side] || c->eof[side] || c->dirty)
					continue;
				do_recv(w, c, i, side, 4096);
				open = open || !c->eof[side];
			}
		if (!open)
			break;
	}
	for (int i = 0; i < NCONN; i++) {
		struct conn *c = &w->c[i];
		if (!w->forged && !c->dirty && c->k[A] && c->k[B])
			for (int side = 0; side < 2; side++)
				check(c->rcvd[side] == c->sent[!side],
				      "every byte sent arrives when nothing was forged");
		for (int side = 0; side < 2; side++)
			if (c->k[side])
				ustcp_close(c->k[side]);
	}
	ustcp_close(w->l);
	/* Every timer runs out (TIME-WAIT's 2 MSL, retries, FIN-WAIT-2). */
	for (int round = 0; round < 100; round++) {
		run(w, 10 * SEC);
		struct ustcp_pool_usage ua, ub;
		ustcp_pool_usage(w->st[A], &ua);
		ustcp_pool_usage(w->st[B], &ub);
		if (!ua.conns && !ub.conns && !ua.timers && !ub.timers)
			return;
	}
	for (int side = 0; side < 2; side++) {
		struct ustcp_pool_usage u;
		ustcp_pool_usage(w->st[side], &u);
		check(u.conns == 0, "no connection left once every timer ran out");
		check(u.buffer_bytes == 0, "no buffer left");
		check(u.timers == 0, "no timer left");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w = {0};
	ip_of[A] = inet_addr("10.0.0.3");
	ip_of[B] = inet_addr("10.0.0.1");
	struct ustcp_config cfg[2];
	for (int side = 0; side < 2; side++) {
		ustcp_config_default(&cfg[side]);
		cfg[side].seed = (uint64_t)side + 1;
		cfg[side].max_conns = 16;
		cfg[side].conn_hash_size = 16;
		cfg[side].sndbuf = cfg[side].rcvbuf = 8192;
		cfg[side].msl = 2 * SEC;
		cfg[side].data_retries = 6;
		cfg[side].fin_wait2_timeout = 10 * SEC;
	}
	w.sim = ustcp_sim_new(size);
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
	for (int side = 0; side < 2; side++) {
		w.st[side] = ustcp_stack_new(&cfg[side]);
		if (!w.sim || !w.st[side])
			abort();
		w.port[side] = ustcp_sim_add_stack(w.sim, w.st[side], mac[side], ip_of[side]);
	}
	if (ustcp_listen_on(w.st[B], (struct ustcp_endpoint){.port = PORT}, 8, &w.l) < 0)
		abort();
	struct script s = {data, size, 0};
	for (int steps = 0; s.at < s.n && steps < 4096; steps++) {
		step(&w, &s);
		invariants(&w);
	}
	finish(&w);
	ustcp_sim_free(w.sim);
	ustcp_stack_free(w.st[A]);
	ustcp_stack_free(w.st[B]);
	return 0;
}
