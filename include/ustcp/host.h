/* ustcp/host.h — a whole stack in a program: a TAP device, a thread that
 * drives the stack, and blocking sockets any thread may use.
 *
 *   char err[256];
 *   struct ustcp_host *h;
 *   struct ustcp_host_config hc = {.tap = "tap0", .ip = "10.0.0.2/24"};
 *   if (ustcp_host_open(&hc, &h, err, sizeof(err)) < 0)
 *           errx(1, "%s", err);
 *   struct ustcp_sock *k;
 *   struct ustcp_endpoint peer = {.port = 7};
 *   ustcp_addr_parse("10.0.0.1", &peer);
 *   ustcp_connect_to(ustcp_host_stack(h), (struct ustcp_endpoint){0}, peer, &k);
 *   ustcp_send(k, "hello\n", 6);
 *   ustcp_close(k);
 *   ustcp_host_close(h); // waits (bounded) until k's data and FIN are acknowledged
 *
 * The host's thread feeds the stack the device's frames and runs its
 * timers; socket calls from other threads take the stack's lock, block as
 * POSIX sockets do (ustcp/socket.h), and are woken by what the thread
 * processes. The event handler (ustcp_set_event_handler) runs on whichever
 * thread ended the event, with the stack taken: it must not block. */
#ifndef USTCP_HOST_H
#define USTCP_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "runtime.h"
#include "sim.h"
#include "stack.h"
#include "trace.h"

struct ustcp_host;

struct ustcp_host_config {
	/* The link: a TAP device by name (created when missing; needs
	 * CAP_NET_ADMIN), or with tap NULL and use_link_fd, a datagram socket
	 * carrying one Ethernet frame per message (socketpair(AF_UNIX,
	 * SOCK_DGRAM): two hosts in one process). The host owns link_fd. */
	const char *tap;
	int use_link_fd;
	int link_fd;
	/* Addresses, as text: "10.0.0.2/24"; "fd00::2" or "fd00::2/64" (/64
	 * when omitted). A link-local IPv6 address (from the MAC) is always
	 * there when the MTU allows IPv6. At least one of ip and ip6. */
	const char *ip;
	const char *ip6;
	const char *gateway;  /* an IPv4 router on the link, or NULL */
	const char *gateway6; /* an IPv6 router on the link, or NULL */
	/* "02:00:0a:00:00:02"; NULL: 02:00 and the IPv4 address (or the IPv6
	 * one's last 4 bytes). */
	const char *mac;
	unsigned mtu; /* 68..65535; 0: 1500 */
	/* Or all of the above as the stack takes it (NULL: from the text). */
	const struct ustcp_iface_config *iface;
	int no_offloads;  /* 1: no vnet header: no checksum offload, no TSO */
	int no_tso;       /* 1: checksum offload only: frames the stack sends are
			   * no larger than the MTU (what a capture shows is the wire) */
	const char *pcap; /* record every frame in and out (NULL: none) */
	/* Impair frames both ways (NULL: none), seeded (0: the stack's seed). */
	const struct ustcp_impair *impair;
	uint64_t impair_seed;
	/* A trace hook (ustcp/trace.h), in place before the thread starts; it
	 * runs on whichever thread sends or receives. NULL: none. */
	ustcp_trace_fn trace;
	void *trace_ctx;
	/* The stack's configuration; NULL: defaults, with a random seed. */
	const struct ustcp_config *stack;
	/* ustcp_host_close waits at most this long (ns) for connections the
	 * program closed to send their data and FIN; 0: 10 s. */
	uint64_t linger;
	/* 1: no control socket, so `ustcp netstat` does not see the host. */
	int no_control;
};

/* Bring the host up: parse and check the configuration, open the link,
 * start the thread. 0 and *out, or a negative errno with a message naming
 * the problem in err (errlen bytes; "" when none): -EINVAL for a bad
 * value, -EPERM without the right to make a TAP device, -ENOENT without
 * /dev/net/tun, -EBUSY for a device already in use. */
int ustcp_host_open(const struct ustcp_host_config *hc, struct ustcp_host **out, char *err,
		    size_t errlen);
/* Stop: wait (up to the linger time) until every connection the program
 * closed has sent its data and FIN and had them acknowledged, as a kernel
 * does after a process exits, then stop the thread, close the link and
 * free the stack. Sockets still open are reset. No call may be running on
 * the host's sockets, nor come after. */
void ustcp_host_close(struct ustcp_host *h);

struct ustcp_stack *ustcp_host_stack(struct ustcp_host *h);
struct ustcp_runtime *ustcp_host_runtime(struct ustcp_host *h);
/* The stack's interface index of the link. */
int ustcp_host_iface(const struct ustcp_host *h);
/* `ustcp netstat` asks every running host (every runtime with a device)
 * for its connections, counters and interfaces on a UNIX socket in this
 * directory: $XDG_RUNTIME_DIR/ustcp, or /run/ustcp without it (which the
 * first host makes, 0700). Writes it to buf; returns its length, or
 * -ENAMETOOLONG. The host's socket is removed when it closes; one that
 * could not be opened is said once on stderr and the host runs on
 * without it. */
int ustcp_control_dir(char *buf, size_t size);
/* The path of the host's control socket, or NULL when it has none. */
const char *ustcp_host_control_path(const struct ustcp_host *h);
/* Take and give back the stack, to read several counters at one instant
 * or to call ustcp_runtime_* functions. No blocking call in between. */
void ustcp_host_lock(struct ustcp_host *h);
void ustcp_host_unlock(struct ustcp_host *h);

#endif
