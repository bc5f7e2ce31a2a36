/* sim.c — the simulated link: one Ethernet hub joining stacks in memory,
 * with virtual time and a seeded impairment layer on every port.
 *
 * Frames in flight wait in a delay queue (sim/delay_queue.h, the one the
 * TAP runtime's impairments use) ordered by (delivery time, sequence
 * number): equal times come out in the order they were sent, so a run is
 * the same every time. A step takes the earlier of the next frame
 * and the earliest stack deadline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "core/util.h"
#include "sim/delay_queue.h"
#include "sim/impair.h"
#include "ustcp/ustcp.h"
#include "wire/gso.h"
#include "wire/wire.h"

/* A stack whose deadline stays due right after it was polled is waiting for
 * nothing the link can give it; wake it again only this much later. */
#define STUCK_RETRY_NS USTCP_NS_PER_MS

struct sim_port {
	struct ustcp_sim *sim;
	int index;
	struct ustcp_stack *stack;
	int iface;
	uint8_t mac[6];
	ustcp_ip4 ip;      /* network order */
	uint32_t ip_count; /* ip and the addresses after it */
	struct impair_state imp;
	bool pass; /* offloaded frames go to the receivers as they are */
	/* The first port of this stack: a stack on several ports is polled
	 * once, through its owner port, which keeps the fields below. */
	struct sim_port *owner;
	bool stuck; /* polled at stuck_at and still due then */
	uint64_t stuck_at;
};

struct ustcp_sim {
	uint64_t seed;
	uint64_t now;
	struct sim_port **ports;
	int nports, cap_ports;
	struct delay_queue inflight; /* frames on the wire, by delivery time */
	ustcp_sim_filter_fn filter;
	void *filter_ctx;
	uint64_t stuck_polls; /* times a stack stayed due after a poll */
	bool use_arp;         /* stacks added from now on learn each other by ARP */
	bool use_gateway;     /* stacks added from now on route off-link via port 0 */
	uint32_t offloads;    /* USTCP_OFFLOAD_* the ports added from now on offer */
	bool pass_offloaded;  /* ... and pass their frames on whole (ustcp_sim_pass_offloaded) */
};

void ustcp_sim_use_offloads(struct ustcp_sim *sim, uint32_t offloads) { sim->offloads = offloads; }

void ustcp_sim_pass_offloaded(struct ustcp_sim *sim, bool on) { sim->pass_offloaded = on; }

void ustcp_sim_use_arp(struct ustcp_sim *sim, bool on) { sim->use_arp = on; }
void ustcp_sim_use_gateway(struct ustcp_sim *sim, bool on) { sim->use_gateway = on; }

/* ---- transmit: filter, impair, enqueue ---- */

static int link_send(struct sim_port *p, const uint8_t *frame, size_t len,
		     const struct ustcp_tx_meta *m);
static int sim_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	return link_send(ctx, frame, len, NULL);
}

/* With offloads, the link does what a NIC would: finish checksums, cut
 * TSO frames (each piece then goes through the impairments as a frame).
 * A port that passes offloaded frames on leaves that to the receiver, as
 * the two ends of a vnet link do (link_send). */
static int sim_transmit_meta(void *ctx, const uint8_t *frame, size_t len,
			     const struct ustcp_tx_meta *m)
{
	struct sim_port *p = ctx;
	if (p->pass)
		return link_send(p, frame, len, m);
	if (m->gso_size) {
		size_t cap = (size_t)m->hdr_len + m->gso_size; /* the largest piece */
		uint8_t *scratch = malloc(cap);
		if (!scratch)
			return -ENOMEM;
		int n = gso_segment(frame, len, m, scratch, cap, sim_transmit, p);
		free(scratch);
		return n < 0 ? -EINVAL : 0;
	}
	if (!m->csum_partial)
		return sim_transmit(ctx, frame, len);
	uint8_t *copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, frame, len);
	int rc = gso_finish_csum(copy, len, m) < 0 ? -EINVAL : sim_transmit(ctx, copy, len);
	free(copy);
	return rc;
}

/* Filter, impair and queue a frame. m: how an offloaded frame was left
 * (NULL: finished). Its receivers trust a partial checksum, as a vnet
 * link's do (USTCP_RX_CSUM_OK); a copy the impairments corrupt has its
 * checksum completed first and is checked, so the damage is found as it
 * would be on a wire. A frame in pieces (USTCP_OFFLOAD_SG) is gathered
 * straight into its first copy on the wire. */
static int link_send(struct sim_port *p, const uint8_t *frame, size_t len,
		     const struct ustcp_tx_meta *m)
{
	struct ustcp_sim *sim = p->sim;
	struct impair_delivery dv[2];
	size_t total = len + (m ? (size_t)m->data_len[0] + m->data_len[1] : 0);
	struct dq_frame *f = dq_reserve(&sim->inflight, total);
	if (!f)
		return -ENOMEM;
	memcpy(f->data, frame, len);
	for (int i = 0, at = (int)len; m && i < 2 && m->data_len[i]; at += (int)m->data_len[i], i++)
		memcpy(f->data + at, m->data[i], m->data_len[i]);

	if (sim->filter && sim->filter(sim->filter_ctx, p->index, f->data, total)) {
		p->imp.stats.frames++;
		p->imp.stats.filtered++;
		dq_release(&sim->inflight, f);
		return 0;
	}
	bool partial = m && m->csum_partial;
	int n = impair_decide(&p->imp, sim->now, total, dv);
	if (n == 0)
		dq_release(&sim->inflight, f);
	for (int i = n - 1; i >= 0; i--) {
		unsigned flags = partial && !dv[i].corrupt ? USTCP_RX_CSUM_OK : 0;
		/* The first delivery takes the copy made, last: a duplicate is
		 * copied from it before anything alters it. */
		struct dq_frame *g = i == 0 ? f : dq_reserve(&sim->inflight, total);
		if (!g) {
			dq_release(&sim->inflight, f);
			return -ENOMEM;
		}
		if (i > 0)
			memcpy(g->data, f->data, total);
		if (partial && dv[i].corrupt && gso_finish_csum(g->data, total, m) < 0) {
			dq_release(&sim->inflight, g);
			if (i > 0)
				dq_release(&sim->inflight, f);
			return -EINVAL;
		}
		impair_apply(&dv[i], g->data, total);
		dq_insert(&sim->inflight, g, dv[i].time, p, 0, flags);
	}
	return 0;
}

/* ---- setup ---- */

struct ustcp_sim *ustcp_sim_new(uint64_t seed)
{
	struct ustcp_sim *sim = calloc(1, sizeof(*sim));
	if (sim) {
		sim->seed = seed;
		dq_init(&sim->inflight, SIZE_MAX);
	}
	return sim;
}

void ustcp_sim_free(struct ustcp_sim *sim)
{
	if (!sim)
		return;
	dq_free(&sim->inflight);
	for (int i = 0; i < sim->nports; i++)
		free(sim->ports[i]);
	free(sim->ports);
	free(sim);
}

void ustcp_sim_ip6(ustcp_ip4 ip, uint8_t out[16])
{
	static const uint8_t prefix[12] = {0xfd, 0};
	memcpy(out, prefix, 12);
	memcpy(out + 12, &ip, 4);
}

/* The i-th IPv4 address of port p, in network order. */
static ustcp_ip4 port_ip(const struct sim_port *p, uint32_t i) { return htonl(ntohl(p->ip) + i); }

/* Static IPv4 neighbour entries both ways between the ports' addresses. */
static void neigh_both_ways(struct sim_port *p, struct sim_port *q)
{
	for (uint32_t i = 0; i < q->ip_count; i++)
		ustcp_neigh_add(p->stack, p->iface, port_ip(q, i), q->mac);
	for (uint32_t i = 0; i < p->ip_count; i++)
		ustcp_neigh_add(q->stack, q->iface, port_ip(p, i), p->mac);
}

int ustcp_sim_add_stack(struct ustcp_sim *sim, struct ustcp_stack *s, const uint8_t mac[6],
			ustcp_ip4 ip)
{
	return ustcp_sim_add_stack_range(sim, s, mac, ip, 1);
}

int ustcp_sim_add_stack_range(struct ustcp_sim *sim, struct ustcp_stack *s, const uint8_t mac[6],
			      ustcp_ip4 ip, uint32_t count)
{
	if (!sim || !s || !mac || count == 0)
		return -EINVAL;
	if (sim->nports == sim->cap_ports) {
		int cap = sim->cap_ports ? sim->cap_ports * 2 : 4;
		struct sim_port **pp = realloc(sim->ports, (size_t)cap * sizeof(*pp));
		if (!pp)
			return -ENOMEM;
		sim->ports = pp;
		sim->cap_ports = cap;
	}
	struct sim_port *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->sim = sim;
	p->index = sim->nports;
	p->stack = s;
	memcpy(p->mac, mac, 6);
	p->ip = ip;
	p->pass = sim->offloads && sim->pass_offloaded;
	p->ip_count = count;
	impair_init(&p->imp, sim->seed, p->index);
	p->owner = p;
	for (int i = 0; i < sim->nports; i++) {
		if (sim->ports[i]->stack == s) {
			p->owner = sim->ports[i];
			break;
		}
	}

	struct ustcp_iface_config ic = {
		.ip4 = ip,
		.prefix_len = 24,
		.prefix6_len = 64,
		.gateway = sim->use_gateway && sim->nports ? sim->ports[0]->ip : 0,
		.mtu = 0,
		.transmit = sim_transmit,
		.transmit_ctx = p,
		/* Frames in pieces only where they go on whole. */
		.offloads = sim->offloads | (p->pass ? USTCP_OFFLOAD_SG : 0),
		.transmit_meta = sim->offloads ? sim_transmit_meta : NULL,
		.ip4_count = count,
	};
	memcpy(ic.mac, mac, 6);
	bool v6 = ustcp_stack_config(s)->mtu >= 1280; /* RFC 8200 §5 */
	if (v6)
		ustcp_sim_ip6(ip, ic.ip6);
	/* The port is live before the interface exists, in case the stack
	 * sends something while it is being added. */
	sim->ports[sim->nports++] = p;
	int iface = ustcp_iface_add(s, &ic);
	if (iface < 0) {
		sim->nports--;
		free(p);
		return iface;
	}
	p->iface = iface;
	/* Static neighbours both ways: no ARP is needed on the simulated link
	 * (unless a test wants to see ARP at work). */
	for (int i = 0; i < p->index && !sim->use_arp; i++) {
		struct sim_port *q = sim->ports[i];
		neigh_both_ways(p, q);
		uint8_t a6[16], q6[16], all[16];
		if (!v6 || ustcp_iface_linklocal6(q->stack, q->iface, all) < 0)
			continue; /* one of the two links carries IPv4 only */
		ustcp_sim_ip6(ip, a6);
		ustcp_sim_ip6(q->ip, q6);
		ustcp_neigh_add6(s, iface, q6, q->mac);
		ustcp_neigh_add6(q->stack, q->iface, a6, mac);
		ustcp_neigh_add6(s, iface, all, q->mac);
		ustcp_iface_linklocal6(s, iface, all);
		ustcp_neigh_add6(q->stack, q->iface, all, mac);
	}
	return p->index;
}

static struct sim_port *port_of(const struct ustcp_sim *sim, int port)
{
	return sim && port >= 0 && port < sim->nports ? sim->ports[port] : NULL;
}

void ustcp_sim_set_impair(struct ustcp_sim *sim, int port, const struct ustcp_impair *imp)
{
	struct sim_port *p = port_of(sim, port);
	struct ustcp_impair none = {0};

	if (p)
		impair_set(&p->imp, imp ? imp : &none);
}

void ustcp_sim_get_stats(const struct ustcp_sim *sim, int port, struct ustcp_impair_stats *st)
{
	const struct sim_port *p = port_of(sim, port);

	if (p)
		*st = p->imp.stats;
	else
		memset(st, 0, sizeof(*st));
}

void ustcp_sim_set_filter(struct ustcp_sim *sim, ustcp_sim_filter_fn fn, void *ctx)
{
	sim->filter = fn;
	sim->filter_ctx = ctx;
}

uint64_t ustcp_sim_now(const struct ustcp_sim *sim) { return sim->now; }

size_t ustcp_sim_in_flight(const struct ustcp_sim *sim) { return sim->inflight.n; }

/* ---- running ---- */

/* When the port's stack next wants ustcp_stack_poll(), as used to pick events. */
static uint64_t port_deadline(const struct sim_port *p)
{
	uint64_t d = ustcp_next_deadline(p->stack);

	if (p->stuck && d <= p->stuck_at) {
		d = p->stuck_at + STUCK_RETRY_NS;
		if (d < p->stuck_at)
			d = UINT64_MAX;
	}
	return d;
}

static uint64_t min_deadline(const struct ustcp_sim *sim)
{
	uint64_t m = UINT64_MAX;

	for (int i = 0; i < sim->nports; i++)
		if (sim->ports[i]->owner == sim->ports[i])
			m = MIN(m, port_deadline(sim->ports[i]));
	return m;
}

/* Time of the next event, UINT64_MAX if none; never earlier than now. */
static uint64_t next_event(const struct ustcp_sim *sim)
{
	uint64_t t = min_deadline(sim);

	t = MIN(t, dq_next(&sim->inflight));
	if (t != UINT64_MAX && t < sim->now)
		t = sim->now;
	return t;
}

static void deliver(struct ustcp_sim *sim, struct dq_frame *f)
{
	if (f->time > sim->now)
		sim->now = f->time;
	/* Ports may be added from inside a callback: only reach those that
	 * were on the hub when the frame arrived. */
	int n = sim->nports;
	for (int i = 0; i < n; i++) {
		struct sim_port *p = sim->ports[i];
		if (p == f->owner)
			continue;
		p->owner->stuck = false; /* new input may rightly make the stack due */
		ustcp_input_flags(p->stack, p->iface, f->data, f->len, sim->now, f->flags);
	}
	dq_release(&sim->inflight, f);
}

static void poll_due(struct ustcp_sim *sim, uint64_t deadline)
{
	if (deadline > sim->now)
		sim->now = deadline;
	int n = sim->nports;
	for (int i = 0; i < n; i++) {
		struct sim_port *p = sim->ports[i];
		if (p->owner != p || port_deadline(p) > sim->now)
			continue;
		ustcp_stack_poll(p->stack, sim->now);
		if (ustcp_next_deadline(p->stack) <= sim->now) {
			p->stuck = true;
			p->stuck_at = sim->now;
			sim->stuck_polls++;
		} else {
			p->stuck = false;
		}
	}
}

bool ustcp_sim_step(struct ustcp_sim *sim)
{
	uint64_t dl = min_deadline(sim);

	uint64_t next_frame = dq_next(&sim->inflight);
	if (next_frame == UINT64_MAX && dl == UINT64_MAX)
		return false;
	/* On a tie the timers run first: they were due before the frame came. */
	if (next_frame < dl)
		deliver(sim, dq_pop(&sim->inflight));
	else
		poll_due(sim, dl);
	return true;
}

/* When a run stops, every stack's clock is brought to the simulation's, so
 * user calls made next (which use a stack's latest time) happen "now". */
static void sync_clocks(struct ustcp_sim *sim)
{
	for (int i = 0; i < sim->nports; i++)
		if (sim->ports[i]->owner == sim->ports[i])
			ustcp_stack_poll(sim->ports[i]->stack, sim->now);
}

void ustcp_sim_run_until(struct ustcp_sim *sim, uint64_t t)
{
	while (next_event(sim) <= t && ustcp_sim_step(sim))
		;
	if (t > sim->now)
		sim->now = t;
	sync_clocks(sim);
}

static bool run_cond(struct ustcp_sim *sim, uint64_t timeout, bool (*cond)(void *ctx), void *ctx);

bool ustcp_sim_run_cond(struct ustcp_sim *sim, uint64_t timeout, bool (*cond)(void *ctx), void *ctx)
{
	bool ok = run_cond(sim, timeout, cond, ctx);
	sync_clocks(sim);
	return ok;
}

static bool run_cond(struct ustcp_sim *sim, uint64_t timeout, bool (*cond)(void *ctx), void *ctx)
{
	uint64_t end = sim->now > UINT64_MAX - timeout ? UINT64_MAX : sim->now + timeout;

	if (cond(ctx))
		return true;
	for (;;) {
		uint64_t t = next_event(sim);
		if (t == UINT64_MAX)
			return cond(ctx);
		if (t > end) {
			if (end > sim->now)
				sim->now = end;
			return cond(ctx);
		}
		if (!ustcp_sim_step(sim))
			return cond(ctx);
		if (cond(ctx))
			return true;
	}
}
