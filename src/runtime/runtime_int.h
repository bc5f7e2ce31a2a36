/* runtime_int.h — what a host (host.c) and the control socket (control.c)
 * need of the runtime beyond its public API: the stack's lock around the
 * loop's work, a wake-up when another thread's call moved the stack's next
 * deadline earlier, and the control socket's switch and its devices'
 * names. */
#ifndef USTCP_RUNTIME_INT_H
#define USTCP_RUNTIME_INT_H

#include "ustcp/runtime.h"

/* The loop takes lock(ctx) for each turn's work and gives it back while it
 * waits; NULL: no lock (one thread drives everything). */
void runtime_set_lock(struct ustcp_runtime *rt, void (*lock)(void *), void (*unlock)(void *),
		      void *ctx);
/* With the lock held: arm the loop's timer earlier if the stack (or a
 * delayed frame) now wants the loop sooner than it will wake. */
void runtime_rearm(struct ustcp_runtime *rt);

/* The control socket (control.h): opened with the runtime's first device
 * unless turned off before; its path, or NULL when there is none. */
void runtime_set_control(struct ustcp_runtime *rt, bool on);
const char *runtime_control_path(const struct ustcp_runtime *rt);
/* The name of the device of the stack's interface iface, or NULL. */
const char *runtime_tap_name(const struct ustcp_runtime *rt, int iface);

#endif
