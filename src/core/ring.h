/* ring.h — a byte ring buffer of fixed capacity, for send and receive data.
 *
 * The send buffer is retransmitted from in place (ring_peek at an offset),
 * so bytes leave the ring only when acknowledged (ring_drop). */
#ifndef USTCP_RING_H
#define USTCP_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *buf;
	uint32_t cap, head, len;
};

/* Allocates cap bytes; returns -ENOMEM on failure. */
int ring_init(struct ring *r, uint32_t cap);
void ring_free(struct ring *r);
static inline uint32_t ring_space(const struct ring *r) { return r->cap - r->len; }
/* Appends up to n bytes; returns how many fit. */
uint32_t ring_write(struct ring *r, const void *data, uint32_t n);
/* Copies n bytes starting off bytes from the head; off + n <= len. */
void ring_peek(const struct ring *r, uint32_t off, void *out, uint32_t n);
/* Removes up to n bytes from the head. */
void ring_drop(struct ring *r, uint32_t n);
/* Writes n bytes at off bytes from the head, beyond the bytes held
 * (off >= len, off + n <= cap), without making them part of the ring yet:
 * out-of-order data waiting for the gap before it. */
void ring_write_at(struct ring *r, uint32_t off, const void *data, uint32_t n);
/* Makes n more bytes, written before with ring_write_at, part of the ring. */
void ring_commit(struct ring *r, uint32_t n);
/* Copies out and removes up to n bytes; returns the count. */
uint32_t ring_read(struct ring *r, void *out, uint32_t n);
/* Where n bytes from off bytes past the head (off + n <= len) lie in
 * place: one piece, or two when they wrap. Returns the number of pieces
 * (0 for n == 0). */
int ring_view(const struct ring *r, uint32_t off, uint32_t n, const uint8_t *base[2],
	      uint32_t len[2]);

#endif
