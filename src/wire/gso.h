/* gso.h — what a NIC does with a TSO frame, in software: cut a TCP segment
 * of up to 64 KiB into MTU-sized ones and finish partial checksums (for
 * link drivers that cannot hand that to the host: the simulated link, a
 * TAP device without the offload). Pure functions over bytes. */
#ifndef USTCP_WIRE_GSO_H
#define USTCP_WIRE_GSO_H

#include <stddef.h>
#include <stdint.h>

#include "ustcp/stack.h"

/* Finish a partial TCP checksum in place (meta->csum_partial). */
void gso_finish_csum(uint8_t *frame, size_t len, const struct ustcp_tx_meta *meta);

/* Cut an Ethernet + IPv4 + TCP frame per meta (gso_size > 0) into frames
 * of at most gso_size payload bytes, each with its own IP length, ID and
 * header checksum, TCP sequence number and checksum; FIN and PSH stay on
 * the last piece, CWR on the first. Each piece is built in scratch (at
 * least hdr_len + gso_size bytes) and given to emit. Returns the number of
 * pieces, or -1 if the frame is not one it can cut. */
typedef int (*gso_emit_fn)(void *ctx, const uint8_t *frame, size_t len);
int gso_segment4(const uint8_t *frame, size_t len, const struct ustcp_tx_meta *meta,
		 uint8_t *scratch, size_t scratch_cap, gso_emit_fn emit, void *ctx);

#endif
