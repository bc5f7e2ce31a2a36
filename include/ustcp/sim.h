/* ustcp/sim.h — the simulated link: stacks joined in memory, virtual time.
 *
 * A sim is one Ethernet segment (a hub) with any number of ports; each port
 * is one stack's interface. A frame sent on a port reaches every other port
 * after the link's delay, passing through the seeded impairment layer of the
 * sending port. Time is virtual: ustcp_sim_run_*() jump straight to the next
 * event (a frame arrival or a stack deadline), so many simulated seconds run
 * per real second. The same seed gives the same run. When a run stops, every
 * stack is polled at the simulation's time, so user calls made between runs
 * happen at that time. */
#ifndef USTCP_SIM_H
#define USTCP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack.h"

struct ustcp_sim;

/* Impairments applied to frames leaving a port. Probabilities are 0..1. */
struct ustcp_impair {
	double loss;            /* drop the frame */
	double duplicate;       /* deliver it twice */
	double reorder;         /* hold it back by reorder_delay */
	uint64_t reorder_delay; /* ns */
	double corrupt;         /* flip one random bit */
	uint64_t delay;         /* one-way propagation delay, ns */
	uint64_t jitter;        /* uniform extra delay in [0, jitter], ns */
	uint64_t rate_bps;      /* serialization rate, 0 = unlimited */
	uint32_t queue_bytes;   /* drop-tail queue behind the rate limit; 0 = unlimited */
};

/* Counts of what the impairment layer did, per port. */
struct ustcp_impair_stats {
	uint64_t frames, lost, duplicated, reordered, corrupted, queue_drops, filtered;
};

/* A test's own per-frame decision: return true to drop the frame. */
typedef bool (*ustcp_sim_filter_fn)(void *ctx, int port, const uint8_t *frame, size_t len);

struct ustcp_sim *ustcp_sim_new(uint64_t seed);
void ustcp_sim_free(struct ustcp_sim *sim); /* does not free the stacks */

/* Add a stack to the link: creates an interface on it with this MAC and
 * address (prefix /24) and the IPv6 address ustcp_sim_ip6(ip) (prefix /64;
 * none when the stack's MTU is below IPv6's 1280), of the stack's config
 * MTU, wires its transmit to the sim, and fills static neighbour entries
 * (IPv4, IPv6 and link-local) for every other port. Returns the port
 * number. */
int ustcp_sim_add_stack(struct ustcp_sim *sim, struct ustcp_stack *s, const uint8_t mac[6],
			ustcp_ip4 ip);
/* The same with an address range (ustcp_iface_config.ip4_count): ip and
 * the count - 1 addresses after it are the port's, as a host with several
 * addresses on one interface; the other ports get static entries for each
 * (IPv6 gets the first one's). */
int ustcp_sim_add_stack_range(struct ustcp_sim *sim, struct ustcp_stack *s, const uint8_t mac[6],
			      ustcp_ip4 ip, uint32_t count);
/* The IPv6 address of the port with IPv4 address ip: fd00::a.b.c.d. */
void ustcp_sim_ip6(ustcp_ip4 ip, uint8_t out[16]);

/* Stacks added after this call get no static neighbour entries: they find
 * each other with ARP and neighbour discovery, as on a real link. */
void ustcp_sim_use_arp(struct ustcp_sim *sim, bool on);
/* Stacks added from now on have the first port's stack as their IPv4
 * router: what they send off the link goes there (and ends there). */
void ustcp_sim_use_gateway(struct ustcp_sim *sim, bool on);
/* Ports added after this call offer these offloads (USTCP_OFFLOAD_*) to
 * their stacks and do the work in software, as a NIC would. */
void ustcp_sim_use_offloads(struct ustcp_sim *sim, uint32_t offloads);
/* Ports added after this call (with offloads) pass offloaded frames on as
 * they are, as the two ends of a vnet link do: a TSO frame of up to 64 KiB
 * arrives whole, as a GRO frame would, and a partial checksum is trusted
 * (USTCP_RX_CSUM_OK). A frame the impairments corrupt has its checksum
 * completed first and is checked, so the damage is found as on a wire;
 * the other impairments act on the whole frame. */
void ustcp_sim_pass_offloaded(struct ustcp_sim *sim, bool on);

void ustcp_sim_set_impair(struct ustcp_sim *sim, int port, const struct ustcp_impair *imp);
void ustcp_sim_get_stats(const struct ustcp_sim *sim, int port, struct ustcp_impair_stats *st);
void ustcp_sim_set_filter(struct ustcp_sim *sim, ustcp_sim_filter_fn fn, void *ctx);

uint64_t ustcp_sim_now(const struct ustcp_sim *sim);
/* Process the single next event; returns false when there is none. */
bool ustcp_sim_step(struct ustcp_sim *sim);
/* Run until virtual time t (inclusive of events at t). */
void ustcp_sim_run_until(struct ustcp_sim *sim, uint64_t t);
/* Run until cond(ctx) is true or `timeout` ns of virtual time pass;
 * returns cond's final value. cond is checked after every event. */
bool ustcp_sim_run_cond(struct ustcp_sim *sim, uint64_t timeout, bool (*cond)(void *ctx),
			void *ctx);
/* Frames in flight on the link now. */
size_t ustcp_sim_in_flight(const struct ustcp_sim *sim);

#endif
