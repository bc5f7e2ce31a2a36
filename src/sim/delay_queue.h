/* delay_queue.h — frames held back by the impairment layer until their
 * delivery time.
 *
 * A binary min-heap ordered by (time, sequence of arrival): copies come out
 * in time order, and copies due at the same time in the order they were
 * queued, so a delayed stream keeps its order unless the impairment layer
 * itself reorders it. Each entry owns a copy of its frame. The total bytes
 * held are bounded: past the bound a push fails and the caller counts a drop.
 * Released entries are kept (a few) for the next pushes, so a steady stream
 * of frames costs no allocation each. */
#ifndef USTCP_DELAY_QUEUE_H
#define USTCP_DELAY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dq_frame {
	uint64_t time; /* ns: when it is due */
	uint64_t seq;
	void *owner;    /* the device it belongs to */
	int dir;        /* the direction it travels (the caller's enum) */
	unsigned flags; /* the caller's, e.g. how the frame is to be input */
	size_t len;
	size_t room; /* bytes data[] can hold */
	bool queued; /* in the heap (or taken from it), not just reserved */
	uint8_t data[];
};

#define DQ_SPARES 32 /* released entries kept for reuse */

struct delay_queue {
	struct dq_frame **heap;
	size_t n, cap;
	size_t held; /* reserved, not yet queued: each has its place in the heap kept */
	uint64_t next_seq;
	size_t bytes, max_bytes;
	struct dq_frame *spare[DQ_SPARES];
	int nspare;
};

void dq_init(struct delay_queue *q, size_t max_bytes);
void dq_free(struct delay_queue *q); /* frees the frames still held */
/* Queues a copy of frame; returns it (so the caller may alter the copy), or
 * NULL when out of memory or over max_bytes. */
struct dq_frame *dq_push(struct delay_queue *q, uint64_t time, void *owner, int dir, unsigned flags,
			 const uint8_t *frame, size_t len);
/* An entry of len bytes for the caller to fill (f->data), not yet queued:
 * dq_insert queues it, dq_release gives it back. NULL as for dq_push. */
struct dq_frame *dq_reserve(struct delay_queue *q, size_t len);
void dq_insert(struct delay_queue *q, struct dq_frame *f, uint64_t time, void *owner, int dir,
	       unsigned flags);
/* The earliest due time; UINT64_MAX when empty. */
uint64_t dq_next(const struct delay_queue *q);
/* Takes the earliest frame (the caller frees it with dq_release); NULL when empty. */
struct dq_frame *dq_pop(struct delay_queue *q);
void dq_release(struct delay_queue *q, struct dq_frame *f);

#endif
