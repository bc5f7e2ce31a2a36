/* call.h — how a user call meets the stack (internal to api/).
 *
 * Every call on a socket enters (api_enter: with a host, the stack's lock
 * and the time; then a check that the socket is one the user holds) and
 * leaves (api_leave: the event ends, the socket's readiness descriptor
 * follows, the lock goes). A call that would block sleeps in api_block,
 * which ends the event first, so frames and events go out while it waits.
 * Getters take the lock without an event (api_peek / api_unpeek).
 *
 * A call blocks only with a host (stack_sync), on a blocking socket, and
 * never from an event handler: there the stack is already taken by the
 * event being ended, and the handler's calls nest in it. */
#ifndef USTCP_API_CALL_H
#define USTCP_API_CALL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/stack.h"
#include "tcp/tcp_conn.h"

/* 0 with the stack taken and an event begun on k, or -EBADF (a NULL
 * socket, or one closed or never the user's). */
int api_enter(struct ustcp_sock *k);
void api_leave(struct ustcp_sock *k);
/* The stack taken, without an event (getters): 0 or -EBADF. */
int api_peek(const struct ustcp_sock *k);
void api_unpeek(const struct ustcp_sock *k);

/* Whether a call on k may sleep now. */
static inline bool api_can_block(const struct ustcp_sock *k)
{
	return k->stack->sync && !k->nonblock && k->stack->depth == 1;
}
/* The deadline of a wait of `timeout` ns (0: none) from now. */
uint64_t api_deadline(const struct ustcp_sock *k, uint64_t timeout);
/* Sleep until k has news or the deadline passes: 0, -ETIMEDOUT, or
 * -EBADF when another thread closed k meanwhile. */
int api_block(struct ustcp_sock *k, uint64_t deadline);

/* Close every socket the program still holds, without waiting (a host
 * going down, as a process's sockets close when it exits). Stack taken. */
void api_close_all(struct ustcp_stack *s);

/* struct ustcp_endpoint <-> the stack's addresses. */
struct ipaddr api_ep_addr(const struct ustcp_endpoint *e);
void api_ep_set(struct ustcp_endpoint *e, const struct ipaddr *a, uint16_t port);

#endif
