/* util.h — small helpers shared by every layer. */
#ifndef USTCP_UTIL_H
#define USTCP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Intrusive doubly linked list with a sentinel head. */
struct dlist {
	struct dlist *next, *prev;
};
static inline void dlist_init(struct dlist *h) { h->next = h->prev = h; }
static inline int dlist_empty(const struct dlist *h) { return h->next == h; }
static inline void dlist_insert_tail(struct dlist *h, struct dlist *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}
static inline void dlist_remove(struct dlist *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

#endif
