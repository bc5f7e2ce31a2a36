/* harness.h — two stacks on the simulated link, for scenario tests.
 *
 * A is 10.0.0.3, B is 10.0.0.1; B listens on port 54321 when asked. Every
 * TCP segment either stack sends is logged (flags, numbers, length, the
 * sender's state before and after), and every drop either stack counts is
 * visible through ustcp_drops(). A filter can drop chosen segments. */
#ifndef USTCP_TEST_HARNESS_H
#define USTCP_TEST_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test_main.h"
#include "ustcp/ustcp.h"
#include "wire/wire.h"

#define MS USTCP_NS_PER_MS
#define SEC USTCP_NS_PER_SEC
#define PORT_B 54321
#define H_A 0
#define H_B 1
#define H_MAX_LOG 8192

struct h_seg {
	int from; /* H_A or H_B */
	uint64_t t;
	uint8_t flags;
	uint32_t seq, ack, len;
	uint16_t win, sport, dport, urp;
	int state_before, state_after;
	struct tcp_opts opts; /* the options it carried */
	char data[32];        /* the first bytes of its payload */
};

/* Drop rule: drop the nth (0-based) segment from `from` whose flags & mask == value. */
struct h_drop_rule {
	int from;
	uint8_t mask, value;
	int nth; /* -1: every matching segment */
	int seen;
	bool active;
};

struct h_net {
	struct ustcp_sim *sim;
	struct ustcp_stack *st[2];
	int port[2];
	struct h_seg log[H_MAX_LOG];
	int nlog;
	struct h_drop_rule rules[8];
	int nrules;
	bool blackhole[2]; /* drop everything a side sends */
};

static inline ustcp_ip4 h_ip(int side) { return inet_addr(side == H_A ? "10.0.0.3" : "10.0.0.1"); }
/* The side's IPv6 endpoint (fd00::10.0.0.x, see ustcp_sim_add_stack). */
static inline struct ustcp_endpoint h_ep6(int side, uint16_t port)
{
	struct ustcp_endpoint ep = {.port = port, .v6 = 1};
	ustcp_sim_ip6(h_ip(side), ep.ip6);
	return ep;
}

static inline bool h_parse_data(const uint8_t *frame, size_t len, struct tcp_hdr *th,
				uint32_t *plen, const uint8_t **payload)
{
	struct eth_hdr eh;
	const uint8_t *seg;
	size_t seglen;
	if (eth_parse(frame, len, &eh) < 0)
		return false;
	if (eh.type == ETHERTYPE_IPV4) {
		struct ipv4_hdr ih;
		if (ipv4_parse(frame + ETH_HLEN, len - ETH_HLEN, &ih) < 0 ||
		    ih.proto != IPPROTO_TCP_)
			return false;
		seg = frame + ETH_HLEN + ih.hlen;
		seglen = ih.total_len - ih.hlen;
	} else if (eh.type == ETHERTYPE_IPV6) {
		struct ipv6_hdr ih;
		if (ipv6_parse(frame + ETH_HLEN, len - ETH_HLEN, &ih) < 0 ||
		    ih.proto != IPPROTO_TCP_ || ih.fragment)
			return false;
		seg = frame + ETH_HLEN + ih.hdr_len;
		seglen = IPV6_HLEN + (size_t)ih.payload_len - ih.hdr_len;
	} else {
		return false;
	}
	int hl = tcp_parse(seg, seglen, th);
	if (hl < 0)
		return false;
	*plen = (uint32_t)(seglen - (size_t)hl);
	*payload = seg + hl;
	return true;
}

static inline bool h_parse(const uint8_t *frame, size_t len, struct tcp_hdr *th, uint32_t *plen)
{
	const uint8_t *payload;
	return h_parse_data(frame, len, th, plen, &payload);
}

static inline void h_trace(void *ctx, const struct ustcp_trace_event *ev)
{
	struct h_net *n = ctx;
	if (ev->dir != USTCP_TRACE_OUT || n->nlog == H_MAX_LOG)
		return;
	struct tcp_hdr th;
	uint32_t plen;
	const uint8_t *payload;
	if (!h_parse_data(ev->frame, ev->len, &th, &plen, &payload))
		return;
	struct h_seg *g = &n->log[n->nlog++];
	memset(g, 0, sizeof(*g));
	memcpy(g->data, payload, plen < sizeof(g->data) ? plen : sizeof(g->data));
	g->opts = th.opts;
	g->urp = th.urp;
	g->from = ev->stack == n->st[H_A] ? H_A : H_B;
	g->t = ev->now;
	g->flags = th.flags;
	g->seq = th.seq;
	g->ack = th.ack;
	g->len = plen;
	g->win = th.win;
	g->sport = th.sport;
	g->dport = th.dport;
	g->state_before = ev->state_before;
	g->state_after = ev->state_after;
}

static inline bool h_filter(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct h_net *n = ctx;
	int from = port == n->port[H_A] ? H_A : H_B;
	if (n->blackhole[from])
		return true;
	struct tcp_hdr th;
	uint32_t plen;
	if (!h_parse(frame, len, &th, &plen))
		return false;
	for (int i = 0; i < n->nrules; i++) {
		struct h_drop_rule *r = &n->rules[i];
		if (!r->active || r->from != from || (th.flags & r->mask) != r->value)
			continue;
		if (r->nth < 0)
			return true;
		if (r->seen++ == r->nth)
			return true;
	}
	return false;
}

/* Drop the nth segment (0-based; -1 = all) from `from` with flags & mask == value. */
static inline void h_drop(struct h_net *n, int from, uint8_t mask, uint8_t value, int nth)
{
	n->rules[n->nrules++] = (struct h_drop_rule){from, mask, value, nth, 0, true};
}

static inline void h_init_cfg(struct ustcp_config *cfg, uint64_t seed)
{
	ustcp_config_default(cfg);
	cfg->seed = seed;
}

/* With the offloads of h_new_net: the link passes offloaded frames on
 * whole, checksums trusted (ustcp_sim_pass_offloaded), instead of doing
 * the work as a NIC would. */
#define H_PASS (1u << 31)

/* Two stacks with these configs (NULL: defaults), one-way delay 1 ms;
 * with use_arp they find each other by ARP instead of static entries;
 * offloads (USTCP_OFFLOAD_*) are offered by both ports, done by the link
 * (or, with H_PASS, left to the receiver). */
static inline struct h_net *h_new_net(const struct ustcp_config *ca, const struct ustcp_config *cb,
				      bool use_arp, uint32_t offloads)
{
	struct h_net *n = calloc(1, sizeof(*n));
	assert_non_null(n);
	struct ustcp_config def[2];
	h_init_cfg(&def[0], 3);
	h_init_cfg(&def[1], 1);
	/* The link's impairments draw from their own seed, varied with A's. */
	n->sim = ustcp_sim_new(7 + 1000003 * (ca ? ca->seed : 3));
	assert_non_null(n->sim);
	n->st[H_A] = ustcp_stack_new(ca ? ca : &def[0]);
	n->st[H_B] = ustcp_stack_new(cb ? cb : &def[1]);
	assert_non_null(n->st[H_A]);
	assert_non_null(n->st[H_B]);
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
	struct ustcp_impair imp = {.delay = 1 * MS};
	ustcp_sim_use_arp(n->sim, use_arp);
	ustcp_sim_use_offloads(n->sim, offloads & ~H_PASS);
	ustcp_sim_pass_offloaded(n->sim, offloads & H_PASS);
	for (int i = 0; i < 2; i++) {
		n->port[i] = ustcp_sim_add_stack(n->sim, n->st[i], mac[i], h_ip(i));
		assert_true(n->port[i] >= 0);
		ustcp_sim_set_impair(n->sim, n->port[i], &imp);
		ustcp_set_trace(n->st[i], h_trace, n);
	}
	ustcp_sim_set_filter(n->sim, h_filter, n);
	return n;
}

static inline struct h_net *h_new_cfg(const struct ustcp_config *ca, const struct ustcp_config *cb)
{
	return h_new_net(ca, cb, false, 0);
}

static inline struct h_net *h_new(void) { return h_new_cfg(NULL, NULL); }

/* Default stacks, but B's receive buffer is rcvbuf bytes. */
static inline struct h_net *h_new_rcvbuf_b(uint32_t rcvbuf)
{
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	cb.rcvbuf = rcvbuf;
	return h_new_cfg(&ca, &cb);
}

/* The same one-way delay (and nothing else) on both ports. */
static inline void h_set_delay(struct h_net *n, uint64_t delay)
{
	struct ustcp_impair imp = {.delay = delay};
	for (int i = 0; i < 2; i++)
		ustcp_sim_set_impair(n->sim, n->port[i], &imp);
}

static inline void h_free(struct h_net *n)
{
	ustcp_sim_free(n->sim);
	ustcp_stack_free(n->st[H_A]);
	ustcp_stack_free(n->st[H_B]);
	free(n);
}

static inline uint64_t h_now(const struct h_net *n) { return ustcp_sim_now(n->sim); }

/* Run the simulation for dt ns (the stacks' clocks follow it). */
static inline void h_run(struct h_net *n, uint64_t dt)
{
	ustcp_sim_run_until(n->sim, h_now(n) + dt);
}

static inline bool h_run_cond(struct h_net *n, uint64_t timeout, bool (*cond)(void *), void *ctx)
{
	return ustcp_sim_run_cond(n->sim, timeout, cond, ctx);
}

static inline struct ustcp_sock *h_listen(struct h_net *n)
{
	struct ustcp_sock *l = NULL;
	struct ustcp_endpoint ep = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_listen_on(n->st[H_B], ep, 16, &l), 0);
	return l;
}

static inline struct ustcp_sock *h_connect_start(struct h_net *n)
{
	struct ustcp_sock *k = NULL;
	struct ustcp_endpoint any = {.port = 0}, to = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B};
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &k), 0);
	return k;
}

/* Listen on B, connect from A, run until both ends are ESTABLISHED. */
static inline void h_establish(struct h_net *n, struct ustcp_sock **ca, struct ustcp_sock **cb,
			       struct ustcp_sock **lb)
{
	*lb = h_listen(n);
	*ca = h_connect_start(n);
	*cb = NULL;
	for (int i = 0; i < 100 && !*cb; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(*lb, cb);
	}
	assert_non_null(*cb);
	assert_int_equal(ustcp_sock_state(*ca), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_state(*cb), USTCP_ESTABLISHED);
}

/* The nth (0-based) logged segment from `from` with flags & mask == value, or NULL. */
static inline const struct h_seg *h_find(const struct h_net *n, int from, uint8_t mask,
					 uint8_t value, int nth)
{
	for (int i = 0; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		if (g->from == from && (g->flags & mask) == value && nth-- == 0)
			return g;
	}
	return NULL;
}

static inline int h_count(const struct h_net *n, int from, uint8_t mask, uint8_t value)
{
	int c = 0;
	for (int i = 0; i < n->nlog; i++)
		if (n->log[i].from == from && (n->log[i].flags & mask) == value)
			c++;
	return c;
}

/* Print every nonzero drop counter and the segment log (for debugging a
 * failing scenario: call it before the assertion that fails). */
static inline void h_dump(const struct h_net *n)
{
	for (int side = 0; side < 2; side++)
		for (int d = 1; d < USTCP_DROP_COUNT; d++)
			if (ustcp_drops(n->st[side], (enum ustcp_drop)d))
				fprintf(stderr, "%s drop %s: %llu\n", side == H_A ? "A" : "B",
					ustcp_drop_name((enum ustcp_drop)d),
					(unsigned long long)ustcp_drops(n->st[side],
									(enum ustcp_drop)d));
	for (int i = 0; i < n->nlog; i++) {
		const struct h_seg *g = &n->log[i];
		fprintf(stderr, "%10.3f ms %s flags %02x seq %u ack %u len %u win %u\n",
			(double)g->t / 1e6, g->from == H_A ? "A>" : "B>", g->flags, g->seq, g->ack,
			g->len, g->win);
	}
}

static inline void h_send_all(struct ustcp_sock *k, const char *s)
{
	assert_int_equal(ustcp_send(k, s, strlen(s)), (long)strlen(s));
}

/* Read exactly len bytes that must already be there. */
static inline void h_expect_read(struct ustcp_sock *k, const char *want)
{
	char buf[4096];
	size_t len = strlen(want);
	assert_true(len < sizeof(buf));
	assert_int_equal(ustcp_recv(k, buf, sizeof(buf)), (long)len);
	assert_memory_equal(buf, want, len);
}

/* Send a little both ways and check it arrives (which also moves the
 * sequence numbers past the SYNs). */
static inline void h_exchange(struct h_net *n, struct ustcp_sock *ca, struct ustcp_sock *cb)
{
	h_send_all(ca, "hello");
	h_send_all(cb, "world!");
	/* Nagle and delayed ACKs may hold the second of two exchanges back
	 * for one ACK delay: wait for the data, not a fixed time. */
	for (int i = 0; i < 100 && (ustcp_sock_readable(cb) < 5 || ustcp_sock_readable(ca) < 6);
	     i++)
		ustcp_sim_run_until(n->sim, ustcp_sim_now(n->sim) + 10 * MS);
	if (getenv("H_DUMP"))
		h_dump(n);
	h_expect_read(cb, "hello");
	h_expect_read(ca, "world!");
}

static inline uint32_t h_conns(const struct h_net *n, int side)
{
	struct ustcp_pool_usage u;
	ustcp_pool_usage(n->st[side], &u);
	return u.conns;
}

/* Inject a TCP segment with this header (options included) and payload
 * into `to`'s stack, as if the other side sent it. */
static inline void h_inject_seg(struct h_net *n, int to, const struct tcp_hdr *th,
				const uint8_t *data, size_t dlen)
{
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
	uint8_t *f = malloc(ETH_HLEN + IPV4_HLEN + 60 + dlen);
	assert_non_null(f);
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	memcpy(eh.dst, mac[to], 6);
	memcpy(eh.src, mac[!to], 6);
	eth_emit(&eh, f);
	uint8_t *seg = f + ETH_HLEN + IPV4_HLEN;
	size_t hl = tcp_emit(th, seg);
	if (dlen)
		memcpy(seg + hl, data, dlen);
	uint32_t src = ntohl(h_ip(!to)), dst = ntohl(h_ip(to));
	tcp_checksum_set4(seg, hl + dlen, src, dst);
	struct ipv4_hdr ih = {.total_len = (uint16_t)(IPV4_HLEN + hl + dlen),
			      .ttl = 64,
			      .proto = IPPROTO_TCP_,
			      .src = src,
			      .dst = dst};
	ipv4_emit(&ih, f + ETH_HLEN);
	ustcp_input(n->st[to], 0, f, ETH_HLEN + IPV4_HLEN + hl + dlen, h_now(n));
	free(f);
}

/* Inject a raw TCP segment without options into `to`'s stack. */
static inline void h_inject(struct h_net *n, int to, uint16_t sport, uint16_t dport, uint32_t seq,
			    uint32_t ack, uint8_t flags, uint16_t win, const char *data)
{
	struct tcp_hdr th = {
		.sport = sport, .dport = dport, .seq = seq, .ack = ack, .flags = flags, .win = win};
	h_inject_seg(n, to, &th, (const uint8_t *)data, data ? strlen(data) : 0);
}

/* Every flag the drop rules usually match on. */
#define H_ALLF (TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST | TCP_PSH)

static inline struct ustcp_sock_info h_info(const struct ustcp_sock *k)
{
	struct ustcp_sock_info i;
	ustcp_sock_info(k, &i);
	return i;
}

static inline bool h_pools_empty(void *ctx)
{
	struct h_net *n = ctx;
	return h_conns(n, H_A) == 0 && h_conns(n, H_B) == 0;
}

/* No buffer and no timer left on that side's stack. */
static inline void h_assert_idle(const struct h_net *n, int side)
{
	struct ustcp_pool_usage u;
	ustcp_pool_usage(n->st[side], &u);
	assert_int_equal(u.buffer_bytes, 0);
	assert_int_equal(u.timers, 0);
}

/* Close the listener (if any), let every connection finish, check that no
 * connection, buffer or timer is left on either stack, and free the net. */
static inline void h_finish(struct h_net *n, struct ustcp_sock *lb)
{
	if (lb)
		assert_int_equal(ustcp_close(lb), 0);
	assert_true(h_run_cond(n, 300 * SEC, h_pools_empty, n));
	h_assert_idle(n, H_A);
	h_assert_idle(n, H_B);
	h_free(n);
}

#endif
