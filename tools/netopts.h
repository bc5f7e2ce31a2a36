/* netopts.h — the network options every `ustcp` subcommand on a real
 * device shares, and the host (the stack on its TAP device) they describe.
 *
 *   --tap IFNAME --ip ADDR/PREFIX [--ip6 ADDR[/PREFIX]] [--gw ADDR]...
 *   [--mac MAC] [--mtu N] [--pcap FILE] [--trace] [--impair SPEC] [--seed N]
 *   [--vnet-hdr on|off] [--tso on|off]
 *
 * --gw takes a router of either family, and may be given once for each.
 *
 * A subcommand offers each of its arguments to netopts_take() first, then
 * calls netopts_finish() to check what is required and fill the defaults,
 * and nethost_open() to bring the network up. Bad options get a message
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
/* A byte count from lo to hi: a whole number, or one with a suffix (k, M:
 * 10^3, 10^6; Ki, Mi or KiB, MiB: 2^10, 2^20); false if s is not one. */
bool netopts_parse_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Takes argv[*i] (and its value, advancing *i) when it is a network option
 * (--opt VALUE or --opt=VALUE). Returns NETOPT_TAKEN, NETOPT_OTHER, or 2
 * after printing what is wrong. */
int netopts_take(struct netopts *o, const char *cmd, int argc, char **argv, int *i);
/* A tool's own option at argv[*i] (advancing *i past its value): returns
 * NETOPT_TAKEN, NETOPT_OTHER (not one of its options), -1 (it printed the
 * help) or 2 after printing what is wrong. */
typedef int (*netopts_tool_fn)(void *ctx, int argc, char **argv, int *i);
/* Every argument: the network options, -h and --help (usage(), then -1),
 * and the tool's own through take (with ctx); what take does not know is
 * an unknown option. Returns 0, -1 or 2; netopts_finish() comes after. */
int netopts_parse(struct netopts *o, const char *cmd, int argc, char **argv, netopts_tool_fn take,
		  void *ctx, void (*usage)(void));
/* -p PORT, --port PORT or --port=PORT at argv[*i], for a tool's take:
 * NETOPT_TAKEN, NETOPT_OTHER, or 2 after saying what is wrong. */
int netopts_take_port(const char *cmd, int argc, char **argv, int *i, uint16_t *port);
/* Checks the required options and fills the defaults (the MAC from the IP,
 * the seeds). Returns 0 or 2. */
int netopts_finish(struct netopts *o, const char *cmd);

/* HOST, the address of a peer (local 0) or a local one to listen on
 * (local 1: the unspecified address is allowed): IPv4 or IPv6, with
 * brackets or without; a link-local IPv6 one may name its zone (RFC 4007
 * §11), which must be the --tap device. Names are not resolved; *ep's
 * port is 0. Returns 0, or 2 after saying what is wrong. */
int netopts_parse_host(const struct netopts *o, const char *cmd, const char *text, bool local,
		       struct ustcp_endpoint *ep);

void netopts_stack_config(const struct netopts *o, struct ustcp_config *cfg);
void netopts_iface_config(const struct netopts *o, struct ustcp_iface_config *ic);
void netopts_tap_config(const struct netopts *o, struct ustcp_tap_config *tc);
/* The help text of the options above, one option a line. */
extern const char netopts_help[];

/* The network on a host (ustcp/host.h): the stack on its own thread, the
 * tool's sockets blocking on threads or polled from its own loop (with
 * ustcp_sock_fd). SIGINT, SIGTERM and SIGHUP are blocked and come on sigfd
 * (poll it; nethost_signalled reads it); SIGPIPE is ignored. */
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

/* Returns 0, or 1 after printing why the host could not be brought up. The
 * config may be changed from netopts_stack_config() by the caller first. */
int nethost_open(struct nethost *e, const char *cmd, const struct netopts *o,
		 const struct ustcp_config *cfg);
/* Closes what is open and waits (bounded) for closed connections to send
 * their data and FIN; sockets still open are reset. No socket call may be
 * running, nor come after. */
void nethost_close(struct nethost *e);
/* Reads sigfd: true (and signo) when a signal came. */
bool nethost_signalled(struct nethost *e);
/* Prints the interface's addresses to stderr, one line: the MAC, the IPv4
 * address, the IPv6 global address (if any) and the link-local one. */
void nethost_print_addrs(const struct nethost *e);
/* Prints the device's counters and the stack's drops to stderr. */
void nethost_report(const struct nethost *e);

/* The host's clock (CLOCK_MONOTONIC, ns), and poll(2)'s timeout until a
 * deadline on it (UINT64_MAX: -1, none). */
uint64_t nethost_clock(void);
int nethost_poll_ms(uint64_t deadline);
/* Waits until fd (a readiness descriptor, ustcp_sock_fd; -1 for none) is
 * readable: 0, or -EINTR when a signal came first (e->signo says which),
 * -ETIMEDOUT at the deadline (UINT64_MAX: none). */
int nethost_wait(struct nethost *e, int fd, uint64_t deadline);
/* A connect as a blocking one, that also gives up on a signal (-EINTR) or
 * after timeout_ns (0: none; -ETIMEDOUT): 0 once established, or the
 * error that ended it. k keeps its USTCP_SO_NONBLOCK setting. */
int nethost_connect(struct nethost *e, struct ustcp_sock *k, struct ustcp_endpoint remote,
		    uint64_t timeout_ns);
/* The next connection on listener l (made non-blocking), or -EINTR when a
 * signal comes first. */
int nethost_accept(struct nethost *e, struct ustcp_sock *l, struct ustcp_sock **out);

#endif
