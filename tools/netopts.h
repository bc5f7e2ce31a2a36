/* netopts.h — the network options every `ustcp` subcommand on a real
 * device shares, and the stack, runtime and TAP device they describe.
 *
 *   --tap IFNAME --ip ADDR/PREFIX [--ip6 ADDR[/PREFIX]] [--gw ADDR]...
 *   [--mac MAC] [--mtu N] [--pcap FILE] [--trace] [--impair SPEC] [--seed N]
 *   [--vnet-hdr on|off] [--tso on|off]
 *
 * --gw takes a router of either family, and may be given once for each.
 *
 * A subcommand offers each of its arguments to netopts_take() first, then
 * calls netopts_finish() to check what is required and fill the defaults,
 * and netenv_open() to bring the network up. Bad options get a message
 * naming the option and exit code 2 (tool_usage_error); failures to set up
 * the device get a message and exit code 1. */
#ifndef USTCP_NETOPTS_H
#define USTCP_NETOPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "ustcp/runtime.h"
#include "ustcp/ustcp.h"

struct netopts {
	const char *tap;
	ustcp_ip4 ip; /* network order */
	uint8_t prefix;
	bool have_ip;
	ustcp_ip4 gw;    /* 0: none */
	uint8_t ip6[16]; /* IPv6 global address; all zero: none (link-local only) */
	uint8_t prefix6;
	bool have_ip6;
	uint8_t gw6[16]; /* IPv6 default router; all zero: none */
	bool have_gw6;
	uint8_t mac[6];
	bool have_mac;
	unsigned mtu; /* 0: the stack's default */
	const char *pcap;
	bool trace;
	bool have_impair;
	struct ustcp_impair impair;
	bool have_seed;
	uint64_t seed;
	bool vnet_hdr;
	bool tso;
};

/* What netopts_take() did with argv[*i]. */
enum { NETOPT_TAKEN = 0, NETOPT_OTHER = 1 }; /* otherwise: 2, the usage error's exit code */

void netopts_init(struct netopts *o);
/* A TCP port number, 1 to 65535, in decimal; false if s is not one. */
bool netopts_parse_port(const char *s, uint16_t *port);
/* Takes argv[*i] (and its value, advancing *i) when it is a network option
 * (--opt VALUE or --opt=VALUE). Returns NETOPT_TAKEN, NETOPT_OTHER, or 2
 * after printing what is wrong. */
int netopts_take(struct netopts *o, const char *cmd, int argc, char **argv, int *i);
/* Checks the required options and fills the defaults (the MAC from the IP,
 * the seeds). Returns 0 or 2. */
int netopts_finish(struct netopts *o, const char *cmd);

void netopts_stack_config(const struct netopts *o, struct ustcp_config *cfg);
void netopts_iface_config(const struct netopts *o, struct ustcp_iface_config *ic);
void netopts_tap_config(const struct netopts *o, struct ustcp_tap_config *tc);
/* The help text of the options above, one option a line. */
extern const char netopts_help[];

/* A stack on a TAP device under a runtime, with SIGINT/SIGTERM (and SIGHUP)
 * turned into a stop of the loop and SIGPIPE ignored. */
struct netenv {
	const char *cmd;
	const char *tap;
	struct ustcp_stack *s;
	struct ustcp_runtime *rt;
	int iface;
	int sigfd;
	int signo; /* the signal that stopped the loop, 0 if none */
	bool trace;
	uint64_t t0;                  /* trace times are from here */
	struct ustcp_iface_config ic; /* the interface as configured */
};

/* Returns 0, or 1 after printing why the network could not be set up. The
 * config may be changed from netopts_stack_config() by the caller first. */
int netenv_open(struct netenv *e, const char *cmd, const struct netopts *o,
		const struct ustcp_config *cfg);
void netenv_close(struct netenv *e);
/* Prints the interface's addresses to stderr, one line: the MAC, the IPv4
 * address, the IPv6 global address (if any) and the link-local one. */
void netenv_print_addrs(const struct netenv *e);
/* Prints the device's counters and the stack's drops to stderr. */
void netenv_report(const struct netenv *e);

/* The same network on a host (ustcp/host.h): the stack on its own thread,
 * the tool's sockets blocking or polled from its own loop. SIGINT, SIGTERM
 * and SIGHUP come on sigfd (poll it; nethost_signalled reads it). */
struct nethost {
	const char *cmd;
	const char *tap;
	struct ustcp_host *h;
	struct ustcp_stack *s;
	int iface;
	int sigfd;
	int signo;   /* the signal that came, 0 if none */
	uint64_t t0; /* trace times are from here */
	struct ustcp_iface_config ic;
};

/* Returns 0, or 1 after printing why the host could not be brought up. */
int nethost_open(struct nethost *e, const char *cmd, const struct netopts *o,
		 const struct ustcp_config *cfg);
/* Closes what is open and waits (bounded) for closed connections to finish. */
void nethost_close(struct nethost *e);
/* Reads sigfd: true (and signo) when a signal came. */
bool nethost_signalled(struct nethost *e);
void nethost_print_addrs(const struct nethost *e);
void nethost_report(const struct nethost *e);

#endif
