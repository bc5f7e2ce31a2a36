/* gso.h — what a NIC does with a TSO frame, in software: cut a TCP segment
 * of up to 64 KiB into MTU-sized ones and finish partial checksums (for
 * link drivers that cannot hand that to the host: the simulated link, a
 * TAP device without the offload). Pure functions over bytes, for TCP over
 * IPv4 and over IPv6 alike. */
#ifndef USTCP_WIRE_GSO_H
#define USTCP_WIRE_GSO_H

#include <stddef.h>
#include <stdint.h>

#include "ustcp/stack.h"

/* Finish a partial TCP checksum in place (meta->csum_partial): the sum from
 * csum_start to the end of the frame, which includes the pseudo-header sum
 * left in the field, goes into the field. The same for either IP version.
 * Returns 0 (also when there is nothing to finish), or -1 when the field
 * does not lie inside the frame (the frame is left as it was). */
int gso_finish_csum(uint8_t *frame, size_t len, const struct ustcp_tx_meta *meta);

/* Cut an Ethernet + IP + TCP frame per meta (gso_size > 0) into frames of
 * at most gso_size payload bytes. The IP version comes from the EtherType
 * and must agree with the header's version nibble:
 * - IPv4 (any IHL): each piece gets its own total length, ID (the frame's
 *   plus the piece's index) and header checksum;
 * - IPv6: the 40-byte header with Next Header TCP and no extension headers;
 *   each piece gets its own payload length.
 * Either way each piece gets its own TCP sequence number and a full TCP
 * checksum; FIN and PSH stay on the last piece, CWR on the first.
 * hdr_len must end exactly where the TCP header (by its data offset) ends,
 * and the IP length field must cover the frame to its end. Each piece is
 * built in scratch (at least hdr_len + gso_size bytes) and given to emit.
 * Returns the number of pieces, or -1 if the frame is not one it can cut
 * (nothing emitted) or emit failed. */
typedef int (*gso_emit_fn)(void *ctx, const uint8_t *frame, size_t len);
int gso_segment(const uint8_t *frame, size_t len, const struct ustcp_tx_meta *meta,
		uint8_t *scratch, size_t scratch_cap, gso_emit_fn emit, void *ctx);

#endif
