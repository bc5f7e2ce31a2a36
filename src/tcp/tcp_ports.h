/* tcp_ports.h — who holds which local port, counted (internal to tcp/).
 *
 * bind and listen must know at once whether a local address and port are
 * taken, whatever the number of connections: a listener with a million
 * children holds its port a million times. So each (local address, port)
 * in use has a count of its holders, and of those in TIME-WAIT (which
 * SO_REUSEADDR lets a new socket pass); each port also has the counts of
 * all its holders on every address, for a wildcard bind. A check is two or
 * three lookups.
 *
 * The counts are in an open-addressing table (linear probing, deletion by
 * backward shift, no tombstones) that grows at three quarters full and
 * shrinks at an eighth. Growing can fail, so whoever is about to take a
 * port asks for room first (tcp_ports_room): a count can then always be
 * added. */
#ifndef USTCP_TCP_PORTS_H
#define USTCP_TCP_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"

struct tcp_port_use {
	struct ipaddr addr; /* the holders' local address; :: a wildcard; all ones: every address */
	uint16_t port;      /* 0: a free slot */
	uint32_t n;         /* holders */
	uint32_t n_tw;      /* of them in TIME-WAIT */
};

struct tcp_ports {
	struct tcp_port_use *slot;
	uint32_t mask; /* slots - 1; no slots before the first use */
	uint32_t used; /* slots holding a count */
};

/* Room for the counts one more holder may add (0, or -ENOMEM). */
int tcp_ports_room(struct tcp_ports *p);
/* A holder of port on addr (:: for a wildcard) comes (n = +1) or goes
 * (-1); tw likewise for being in TIME-WAIT. */
void tcp_ports_add(struct tcp_ports *p, const struct ipaddr *addr, uint16_t port, int n, int tw);
/* The counts of addr's holders of port (addr NULL: of every address). */
const struct tcp_port_use *tcp_ports_find(const struct tcp_ports *p, const struct ipaddr *addr,
					  uint16_t port);
/* Bytes the table takes. */
static inline uint64_t tcp_ports_bytes(const struct tcp_ports *p)
{
	return p->slot ? ((uint64_t)p->mask + 1) * sizeof(*p->slot) : 0;
}
void tcp_ports_free(struct tcp_ports *p);

#endif
