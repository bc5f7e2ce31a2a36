/* serve.h — a TCP service written with blocking calls, as the textbook's
 * servers are: a thread accepts connections on a listener and gives each
 * to the tool's function, one at a time (the next waits in the listen
 * backlog, not accepted) or each on a thread of its own.
 *
 * Stopping wakes every blocked call instead of cancelling threads: the
 * listener is closed (a blocked accept returns -EBADF) and every
 * connection being served is shut down both ways (a blocked recv returns
 * 0, a blocked send -EPIPE), so each function returns by its own path.
 * The service closes a connection's socket once its function has
 * returned: the function must not close it, and asks for a reset instead
 * of a FIN by setting USTCP_SO_LINGER to 0. The service's own state is
 * under its mutex; everything else goes through the socket calls. */
#ifndef USTCP_TOOLS_SERVE_H
#define USTCP_TOOLS_SERVE_H

#include <stdbool.h>

#include "netopts.h"
#include "ustcp/ustcp.h"

/* Serves one connection from peer; runs on a thread of the service. */
typedef void (*service_fn)(void *ctx, struct ustcp_sock *k, const struct ustcp_endpoint *peer);

struct service_config {
	const char *cmd;             /* for messages: "ustcp <cmd>: ..." */
	struct ustcp_sock *listener; /* the service closes it when it stops */
	bool threads;                /* each connection on a thread of its own */
	service_fn serve;
	void *ctx;
	bool verbose; /* service_run: once stopped, the signal and nethost_report() */
};

struct service;

/* Starts accepting: 0, or a negative errno (the listener is then closed). */
int service_start(const struct service_config *c, struct service **out);
/* Stops accepting, wakes every connection's blocked call, waits for every
 * function to return and frees the service. */
void service_stop(struct service *sv);
/* service_start, then a wait for SIGINT, SIGTERM or SIGHUP on e's sigfd,
 * then service_stop. Returns 0, or 1 after saying what went wrong. */
int service_run(struct nethost *e, const struct service_config *c);

#endif
