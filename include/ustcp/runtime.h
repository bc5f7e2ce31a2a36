/* ustcp/runtime.h — one stack on real devices: the event loop and the TAP
 * driver.
 *
 * The runtime owns an epoll instance and a timerfd. It reads frames from
 * its TAP devices in batches and feeds them to the stack with the monotonic
 * clock (CLOCK_MONOTONIC, ns), polls the stack at its deadlines, and writes
 * what the stack transmits to the device. Tools watch their own file
 * descriptors (stdin, files) on the same loop and get socket readiness from
 * the stack's event handler (ustcp_set_event_handler), which the runtime
 * leaves to them. The handler runs once each frame or each run of due
 * timers has been fully processed, so socket calls are safe there, as in
 * fd callbacks and the turn function. Everything runs on the thread that calls
 * ustcp_runtime_run(). The stack's clock follows the loop's: user calls
 * made between runs happen at the time the last run ended. With its first
 * device the runtime answers `ustcp netstat` on a control socket
 * (ustcp_control_dir in ustcp/host.h), from its loop, until it is freed. */
#ifndef USTCP_RUNTIME_H
#define USTCP_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "stack.h"

struct ustcp_runtime;

/* How to attach to a TAP device. */
struct ustcp_tap_config {
	const char *ifname; /* an existing TAP device, or one to create */
	/* Use IFF_VNET_HDR when the kernel has it: TCP checksums cross the
	 * device partial both ways (each side trusts the other, as within one
	 * host), and with tso TCP segments of up to 64 KiB cross it whole.
	 * Neither while impairments are set: they act on wire-sized frames. */
	bool vnet_hdr;
	bool tso;
	/* Impairments applied to frames in both directions (the seeded layer the
	 * simulated link uses); NULL for none. */
	const struct ustcp_impair *impair;
	uint64_t impair_seed;
	/* Record every frame as the stack sent it (before the outgoing
	 * impairments) and as the stack received it (after the incoming
	 * ones), with wall-clock times; NULL for none. */
	const char *pcap_path;
	/* Instead of a TAP device: a datagram socket whose every message is
	 * one Ethernet frame (one end of socketpair(AF_UNIX, SOCK_DGRAM), to
	 * join two stacks in one process). The runtime closes it. No offloads;
	 * ifname only names it in messages. */
	bool use_link_fd;
	int link_fd;
};

/* A runtime for stack s (which it does not own). NULL + errno on failure. */
struct ustcp_runtime *ustcp_runtime_new(struct ustcp_stack *s);
/* Closes its devices, not the stack. The stack's interfaces still point at
 * them: give the stack no more work after this, only ustcp_stack_free(). */
void ustcp_runtime_free(struct ustcp_runtime *rt);

/* Attach a TAP device as a new interface of the stack: ic gives its MAC,
 * addresses and MTU (ic->transmit is set by the runtime). When the device
 * is up, this waits (up to 1 s, usually well under 1 ms) for the kernel's
 * side to start, which would otherwise drop its first replies. Returns the
 * interface index, or a negative errno (-ENOENT: no /dev/net/tun, -EPERM
 * ...) with a message in ustcp_runtime_error(). */
int ustcp_runtime_add_tap(struct ustcp_runtime *rt, const struct ustcp_tap_config *tc,
			  const struct ustcp_iface_config *ic);
/* The last error message of the runtime ("" if none). */
const char *ustcp_runtime_error(const struct ustcp_runtime *rt);

/* Counts of one TAP device, for tools and tests. */
struct ustcp_tap_stats {
	uint64_t rx_frames, tx_frames; /* read from / written to the device */
	uint64_t rx_malformed;         /* dropped on reading: a bad vnet header */
	uint64_t rx_csum_trusted;      /* frames whose checksum the kernel vouched for */
	uint64_t rx_csum_completed;    /* partial checksums completed (to corrupt a frame) */
	uint64_t rx_gso_frames, tx_gso_frames; /* segments larger than the MTU */
	uint64_t tx_dropped;                   /* writes the device refused (queue full, down) */
	uint64_t delay_drops;                  /* frames the delay queue had no room for */
	struct ustcp_impair_stats out, in;     /* the impairment layer, per direction */
	uint8_t vnet_hdr;                      /* the vnet header is in use */
	uint8_t tso;                           /* and segmentation offload */
};
/* Returns 0, or -ENOENT when iface is not one of the runtime's devices. */
int ustcp_runtime_tap_stats(const struct ustcp_runtime *rt, int iface, struct ustcp_tap_stats *st);

/* Watch fd for EPOLLIN/EPOLLOUT (events, as epoll bits); fn is called from
 * the loop with the events that happened (EPOLLERR/EPOLLHUP always count).
 * Watching a watched fd again changes its events (0: none for now, not
 * even EPOLLHUP), fn and ctx. Returns 0 or a negative errno: -EPERM for a file epoll cannot watch
 * (a regular file, /dev/null), which is always ready, so the caller reads or
 * writes it when it wants to. Socket calls are safe in fn. */
typedef void (*ustcp_fd_fn)(void *ctx, int fd, uint32_t events);
int ustcp_runtime_watch(struct ustcp_runtime *rt, int fd, uint32_t events, ustcp_fd_fn fn,
			void *ctx);
int ustcp_runtime_unwatch(struct ustcp_runtime *rt, int fd);

/* fn runs once per turn of the loop, after the stack has taken the frames
 * that arrived and run its due timers, and before the loop sleeps: the
 * place for work that gathers a whole turn's readiness (a tool that notes
 * ready sockets in the event handler and serves them all here). NULL
 * removes it. */
typedef void (*ustcp_turn_fn)(void *ctx);
void ustcp_runtime_set_turn(struct ustcp_runtime *rt, ustcp_turn_fn fn, void *ctx);

/* Run the loop until ustcp_runtime_stop() is called (from a callback) or
 * timeout_ns passes (0: no limit). Returns 0 when stopped, -ETIMEDOUT when
 * the time ran out, or a negative errno on a device error. */
int ustcp_runtime_run(struct ustcp_runtime *rt, uint64_t timeout_ns);
void ustcp_runtime_stop(struct ustcp_runtime *rt);
/* The loop's clock (CLOCK_MONOTONIC ns), as given to the stack. */
uint64_t ustcp_runtime_now(const struct ustcp_runtime *rt);

#endif
