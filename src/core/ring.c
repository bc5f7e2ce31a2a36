/* ring.c — byte ring buffer. */
#include "core/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ring_init(struct ring *r, uint32_t cap)
{
	r->buf = malloc(cap ? cap : 1);
	r->cap = cap;
	r->head = r->len = 0;
	return r->buf ? 0 : -ENOMEM;
}

void ring_free(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->head = r->len = 0;
}

uint32_t ring_write(struct ring *r, const void *data, uint32_t n)
{
	const uint8_t *src = data;
	if (n > ring_space(r))
		n = ring_space(r);
	uint32_t tail = (r->head + r->len) % (r->cap ? r->cap : 1);
	uint32_t first = r->cap - tail < n ? r->cap - tail : n;
	memcpy(r->buf + tail, src, first);
	memcpy(r->buf, src + first, n - first);
	r->len += n;
	return n;
}

void ring_peek(const struct ring *r, uint32_t off, void *out, uint32_t n)
{
	uint8_t *dst = out;
	uint32_t start = (r->head + off) % r->cap;
	uint32_t first = r->cap - start < n ? r->cap - start : n;
	memcpy(dst, r->buf + start, first);
	memcpy(dst + first, r->buf, n - first);
}

void ring_write_at(struct ring *r, uint32_t off, const void *data, uint32_t n)
{
	const uint8_t *src = data;
	uint32_t start = (r->head + off) % r->cap;
	uint32_t first = r->cap - start < n ? r->cap - start : n;
	memcpy(r->buf + start, src, first);
	memcpy(r->buf, src + first, n - first);
}

void ring_commit(struct ring *r, uint32_t n) { r->len += n; }

void ring_drop(struct ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	r->len -= n;
	/* The head moves even when the ring empties: bytes written beyond it
	 * with ring_write_at keep their place. */
	if (r->cap)
		r->head = (r->head + n) % r->cap;
}

uint32_t ring_read(struct ring *r, void *out, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	if (n)
		ring_peek(r, 0, out, n);
	ring_drop(r, n);
	return n;
}

int ring_view(const struct ring *r, uint32_t off, uint32_t n, const uint8_t *base[2],
	      uint32_t len[2])
{
	if (n == 0)
		return 0;
	uint32_t start = (r->head + off) % r->cap;
	uint32_t first = r->cap - start < n ? r->cap - start : n;
	base[0] = r->buf + start;
	len[0] = first;
	if (first == n)
		return 1;
	base[1] = r->buf;
	len[1] = n - first;
	return 2;
}
