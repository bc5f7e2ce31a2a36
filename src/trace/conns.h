/* conns.h — the TCP connections of a capture, as the printer tells them
 * apart (internal to trace/).
 *
 * A connection is its two endpoints (address and port), in either order,
 * and holds a number and, per direction, the sequence number that
 * direction's relative numbers count from. A SYN whose sequence number is
 * not its direction's start begins another connection on the same
 * endpoints. Connections sit in a red-black tree by endpoints: a segment
 * costs O(log n) and no input can make it cost more. They are kept until
 * the set is freed (a capture's connections, like Wireshark's streams). */
#ifndef USTCP_TRACE_CONNS_H
#define USTCP_TRACE_CONNS_H

#include <stdint.h>

#include "core/addr.h"
#include "wire/wire.h"

struct trace_conns;

struct trace_conns *trace_conns_new(void); /* NULL when out of memory */
void trace_conns_free(struct trace_conns *c);

/* What a segment's line shows: its connection's number (from 1), and what
 * its sequence number, and its acknowledgment number and SACK blocks, are
 * shown relative to. */
struct trace_seg_view {
	uint64_t conn;
	uint32_t seq_base, ack_base;
};

/* Finds or makes the connection of a segment from src to dst and counts
 * the segment in it. The same segment twice in a row gives the same view.
 * Returns 0, or -ENOMEM (then *v is all zero: absolute numbers). */
int trace_conns_segment(struct trace_conns *c, const struct ipaddr *src, const struct ipaddr *dst,
			const struct tcp_hdr *th, struct trace_seg_view *v);

#endif
