/* control.h — a runtime's control socket: how `ustcp netstat` reads the
 * connections, counters and interfaces of a running program.
 *
 * Every runtime (and so every host) answers on a UNIX stream socket in
 * ustcp_control_dir() (made 0700 when missing), named <pid>-<n>.sock: the
 * pid of the program, and n to tell apart the runtimes of one program.
 * It is opened with the runtime's first device and removed when the
 * runtime is freed; one left by a program that died is recognised by its
 * pid and removed by netstat. The server runs in the runtime's loop (the
 * host's thread), so each answer is built with the stack taken: one
 * instant of it. Writes never wait: what the client does not take at once
 * is sent as it reads; at most CONTROL_MAX_CLIENTS are served at once (a
 * new one pushes out the oldest).
 *
 * The protocol, text, one item a line, fields separated by one space:
 *
 *   request: the sections wanted, on one line of at most 128 bytes:
 *            any of "conns", "counters", "ifaces" (e.g. "conns ifaces\n")
 *   answer:  ustcp-control 1 <pid> <command line>
 *            conn <state> <local> <remote> <send-q> <recv-q> <owner> <cc>
 *                 <cwnd> <ssthresh> <srtt-us> <rttvar-us> <rto-us>
 *                 <retransmits> <mss>                (one line, per connection)
 *            counter <name> <value> <description>    (every USTCP_COUNTERS)
 *            drop <name> <value> <description>       (every USTCP_DROPS reason)
 *            iface <index> <name> <mac> <mtu> <frames-in> <frames-out>
 *                  [<address>/<prefix>...]           (one line, per interface)
 *            end
 *   or:      error <message>
 *
 * then the server closes the connection; an answer without its "end" was
 * cut short. <state> is RFC 9293's name ("TIME-WAIT"); addresses are as
 * ustcp_endpoint_str writes them with the port ("10.0.0.1:80",
 * "[fd00::1]:80"), the unspecified address and port 0 meaning none;
 * <owner> is user, listener or stack (ustcp_sock_info's owner); <cwnd>
 * and <ssthresh> are bytes (4294967295: no threshold yet); times are
 * microseconds. "1" is the protocol's version: a change to a line's
 * fields changes it. */
#ifndef USTCP_RUNTIME_CONTROL_H
#define USTCP_RUNTIME_CONTROL_H

#include <stddef.h>

#include "ustcp/runtime.h"
#include "ustcp/stack.h"

#define CONTROL_VERSION 1
#define CONTROL_MAX_CLIENTS 8
#define CONTROL_REQ_MAX 128

struct control;

/* Opens rt's control socket and watches it on rt's loop. NULL when it
 * cannot (the reason in err): the runtime runs on without one. */
struct control *control_open(struct ustcp_runtime *rt, struct ustcp_stack *s, char *err,
			     size_t errlen);
/* Stops answering and removes the socket. NULL is allowed. */
void control_close(struct control *c);
/* The socket's path. */
const char *control_path(const struct control *c);

#endif
