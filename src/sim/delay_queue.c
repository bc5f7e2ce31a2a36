/* delay_queue.c — the min-heap of delayed frames. */
#include "sim/delay_queue.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void dq_init(struct delay_queue *q, size_t max_bytes)
{
	memset(q, 0, sizeof(*q));
	q->max_bytes = max_bytes;
}

void dq_free(struct delay_queue *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->heap[i]);
	for (int i = 0; i < q->nspare; i++)
		free(q->spare[i]);
	free(q->heap);
	memset(q, 0, sizeof(*q));
}

static bool before(const struct dq_frame *a, const struct dq_frame *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* An entry for len bytes: a spare one (grown if need be), or a new one.
 * Freeing and allocating a 64 KiB frame each time would cost the
 * allocator's work, and sbrk calls when it trims its heap. */
static struct dq_frame *frame_alloc(struct delay_queue *q, size_t len)
{
	struct dq_frame *f = q->nspare ? q->spare[--q->nspare] : NULL;
	if (f && f->room >= len)
		return f;
	struct dq_frame *g = realloc(f, sizeof(*g) + len);
	if (!g) {
		free(f);
		return NULL;
	}
	g->room = len;
	return g;
}

struct dq_frame *dq_reserve(struct delay_queue *q, size_t len)
{
	if (q->bytes + len > q->max_bytes)
		return NULL;
	if (q->n + q->held >= q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		struct dq_frame **h = realloc(q->heap, cap * sizeof(*h));
		if (!h)
			return NULL;
		q->heap = h;
		q->cap = cap;
	}
	struct dq_frame *f = frame_alloc(q, len);
	if (!f)
		return NULL;
	f->len = len;
	f->queued = false;
	q->held++;
	q->bytes += len;
	return f;
}

struct dq_frame *dq_push(struct delay_queue *q, uint64_t time, void *owner, int dir, unsigned flags,
			 const uint8_t *frame, size_t len)
{
	struct dq_frame *f = dq_reserve(q, len);
	if (!f)
		return NULL;
	memcpy(f->data, frame, len);
	dq_insert(q, f, time, owner, dir, flags);
	return f;
}

void dq_insert(struct delay_queue *q, struct dq_frame *f, uint64_t time, void *owner, int dir,
	       unsigned flags)
{
	q->held--;
	f->queued = true;
	f->time = time;
	f->seq = q->next_seq++;
	f->owner = owner;
	f->dir = dir;
	f->flags = flags;
	size_t i = q->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(f, q->heap[parent]))
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = f;
}

uint64_t dq_next(const struct delay_queue *q) { return q->n ? q->heap[0]->time : UINT64_MAX; }

struct dq_frame *dq_pop(struct delay_queue *q)
{
	if (!q->n)
		return NULL;
	struct dq_frame *top = q->heap[0];
	struct dq_frame *last = q->heap[--q->n];
	size_t n = q->n, i = 0;
	while (n > 0) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(q->heap[c + 1], q->heap[c]))
			c++;
		if (!before(q->heap[c], last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (n > 0)
		q->heap[i] = last;
	return top;
}

void dq_release(struct delay_queue *q, struct dq_frame *f)
{
	if (!f)
		return;
	q->bytes -= f->len;
	if (!f->queued)
		q->held--;
	if (q->nspare < DQ_SPARES)
		q->spare[q->nspare++] = f;
	else
		free(f);
}
