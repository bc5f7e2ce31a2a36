/* ustcp/ustcp.h — the whole public API of ustcp. */
#ifndef USTCP_USTCP_H
#define USTCP_USTCP_H

#include "config.h"
#include "host.h"
#include "runtime.h"
#include "sim.h"
#include "socket.h"
#include "stack.h"
#include "trace.h"

#define USTCP_NS_PER_MS 1000000ull
#define USTCP_NS_PER_SEC 1000000000ull

#endif
