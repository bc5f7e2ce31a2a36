/* tcp_ports.c — the counts of local port holders (tcp_ports.h). */
#include "tcp/tcp_ports.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PORTS_MIN 64 /* slots of the smallest table */

/* The key of a port's counts over every address: no local address is
 * ff..ff (multicast). */
static const struct ipaddr every = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				     0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

/* The keys are our own addresses and ports, which no peer picks: a plain
 * multiplicative mix spreads them well enough, with no secret needed. */
static uint32_t key_hash(const struct ipaddr *a, uint16_t port)
{
	uint32_t h = port, w;
	for (int i = 0; i < 16; i += 4) {
		memcpy(&w, a->b + i, 4);
		h = (h ^ w) * 0x9e3779b1u;
	}
	return h ^ (h >> 15);
}

static bool key_eq(const struct tcp_port_use *u, const struct ipaddr *a, uint16_t port)
{
	return u->port == port && ip_eq(&u->addr, a);
}

/* The slot holding the key, or the free slot where it would go. */
static uint32_t slot_of(const struct tcp_ports *p, const struct ipaddr *a, uint16_t port)
{
	uint32_t i = key_hash(a, port) & p->mask;
	while (p->slot[i].port && !key_eq(&p->slot[i], a, port))
		i = (i + 1) & p->mask;
	return i;
}

/* Move every count to a table of `slots` slots (a power of two). */
static int rehash(struct tcp_ports *p, uint32_t slots)
{
	struct tcp_port_use *old = p->slot;
	uint32_t n = old ? p->mask + 1 : 0;
	p->slot = calloc(slots, sizeof(*p->slot));
	if (!p->slot) {
		p->slot = old;
		return -ENOMEM;
	}
	p->mask = slots - 1;
	for (uint32_t i = 0; i < n; i++)
		if (old[i].port)
			p->slot[slot_of(p, &old[i].addr, old[i].port)] = old[i];
	free(old);
	return 0;
}

int tcp_ports_room(struct tcp_ports *p)
{
	if (!p->slot)
		return rehash(p, PORTS_MIN);
	uint32_t slots = p->mask + 1;
	/* Two counts at most: the address's and the port's. */
	if ((uint64_t)(p->used + 2) * 4 <= (uint64_t)slots * 3)
		return 0;
	if (slots <= UINT32_MAX / 2 && rehash(p, slots * 2) == 0)
		return 0;
	/* Fuller than we like, but a free slot must stay to end each probe. */
	return p->used + 2 < slots ? 0 : -ENOMEM;
}

/* Deletion by backward shift (Knuth 6.4 algorithm R): later members of the
 * probe run move up into the gap, so that no lookup stops early. */
static void slot_remove(struct tcp_ports *p, uint32_t i)
{
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & p->mask;
		if (!p->slot[j].port)
			break;
		uint32_t home = key_hash(&p->slot[j].addr, p->slot[j].port) & p->mask;
		/* Stays when its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			p->slot[i] = p->slot[j];
			i = j;
		}
	}
	memset(&p->slot[i], 0, sizeof(p->slot[i]));
	p->used--;
}

static void count(struct tcp_ports *p, const struct ipaddr *a, uint16_t port, int n, int tw)
{
	uint32_t i = slot_of(p, a, port);
	struct tcp_port_use *u = &p->slot[i];
	if (!u->port) {
		assert(n > 0 && p->used + 1 < p->mask + 1); /* tcp_ports_room came first */
		u->addr = *a;
		u->port = port;
		p->used++;
	}
	u->n += (uint32_t)n;
	u->n_tw += (uint32_t)tw;
	if (u->n == 0)
		slot_remove(p, i);
}

void tcp_ports_add(struct tcp_ports *p, const struct ipaddr *addr, uint16_t port, int n, int tw)
{
	static const struct ipaddr wildcard;
	count(p, ip_is_any(addr) ? &wildcard : addr, port, n, tw);
	count(p, &every, port, n, tw);
	uint32_t slots = p->mask + 1;
	if (slots > PORTS_MIN && p->used < slots / 8)
		(void)rehash(p, slots / 2); /* without memory it just stays larger */
}

const struct tcp_port_use *tcp_ports_find(const struct tcp_ports *p, const struct ipaddr *addr,
					  uint16_t port)
{
	static const struct ipaddr wildcard;
	if (!p->slot)
		return NULL;
	const struct ipaddr *a = !addr ? &every : ip_is_any(addr) ? &wildcard : addr;
	const struct tcp_port_use *u = &p->slot[slot_of(p, a, port)];
	return u->port ? u : NULL;
}

void tcp_ports_free(struct tcp_ports *p)
{
	free(p->slot);
	memset(p, 0, sizeof(*p));
}
