/* demo.h — `ustcp demo --real` (demo_real.c), run by `ustcp demo` (demo.c). */
#ifndef USTCP_TOOLS_DEMO_H
#define USTCP_TOOLS_DEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "netopts.h"

struct demo_real_opts {
	bool quiet;         /* the throughput line only */
	uint64_t bytes;     /* the size of the file downloaded */
	struct netopts net; /* --pcap and --impair; the device and addresses are the demo's */
};

/* A download from ustcp's httpd by the kernel's curl over a TAP device, in
 * a network namespace of the process's own. Returns the exit code. */
int demo_real(const struct demo_real_opts *ro);

#endif
