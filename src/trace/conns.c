/* conns.c — the TCP connections of a capture: numbers and relative
 * sequence numbers (see conns.h). */
#include "trace/conns.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/sys/tree.h>

#define ENDPOINT_LEN 18 /* an address (16 bytes) and a port */

struct conn {
	RB_ENTRY(conn) link;
	uint8_t key[2 * ENDPOINT_LEN]; /* the lower endpoint (memcmp), then the other */
	uint64_t id;
	/* Per direction, 0 being from the lower endpoint: where its relative
	 * sequence numbers count from, once known. */
	bool have_start[2];
	uint32_t start[2];
};

static int by_key(const struct conn *a, const struct conn *b)
{
	return memcmp(a->key, b->key, sizeof(a->key));
}

RB_HEAD(conn_tree, conn);
/* RB_GENERATE_STATIC wants a __unused that libbsd leaves undefined. */
RB_GENERATE_INTERNAL(conn_tree, conn, link, by_key, __attribute__((unused)) static)

struct trace_conns {
	struct conn_tree tree;
	uint64_t count; /* connections numbered so far */
};

struct trace_conns *trace_conns_new(void)
{
	struct trace_conns *c = calloc(1, sizeof(*c));

	if (c)
		RB_INIT(&c->tree);
	return c;
}

void trace_conns_free(struct trace_conns *c)
{
	struct conn *n;

	if (!c)
		return;
	while ((n = RB_MIN(conn_tree, &c->tree))) {
		RB_REMOVE(conn_tree, &c->tree, n);
		free(n);
	}
	free(c);
}

static void endpoint(uint8_t *out, const struct ipaddr *a, uint16_t port)
{
	memcpy(out, a->b, 16);
	out[16] = (uint8_t)(port >> 8);
	out[17] = (uint8_t)port;
}

/* A new connection on these endpoints: numbered, nothing known yet. */
static void renumber(struct trace_conns *c, struct conn *n)
{
	n->id = ++c->count;
	n->have_start[0] = n->have_start[1] = false;
}

static void learn_start(struct conn *n, int dir, uint32_t start)
{
	if (n->have_start[dir])
		return;
	n->start[dir] = start;
	n->have_start[dir] = true;
}

int trace_conns_segment(struct trace_conns *c, const struct ipaddr *src, const struct ipaddr *dst,
			const struct tcp_hdr *th, struct trace_seg_view *v)
{
	uint8_t s[ENDPOINT_LEN], d[ENDPOINT_LEN];
	struct conn key, *n;

	endpoint(s, src, th->sport);
	endpoint(d, dst, th->dport);
	int dir = memcmp(s, d, ENDPOINT_LEN) > 0;
	memcpy(key.key, dir ? d : s, ENDPOINT_LEN);
	memcpy(key.key + ENDPOINT_LEN, dir ? s : d, ENDPOINT_LEN);
	memset(v, 0, sizeof(*v));
	n = RB_FIND(conn_tree, &c->tree, &key);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		memcpy(n->key, key.key, sizeof(n->key));
		RB_INSERT(conn_tree, &c->tree, n);
		renumber(c, n);
	} else if ((th->flags & TCP_SYN) && n->have_start[dir] && n->start[dir] != th->seq) {
		renumber(c, n); /* the endpoints are used again */
	}
	/* A SYN's sequence number is the direction's first (RFC 9293 §3.4);
	 * without it, the first byte seen is byte 1, as if the SYN were just
	 * before it, and so is the first byte acknowledged. */
	learn_start(n, dir, th->flags & TCP_SYN ? th->seq : th->seq - 1);
	if (th->flags & TCP_ACK)
		learn_start(n, !dir, th->ack - 1);
	v->conn = n->id;
	v->seq_base = n->start[dir];
	v->ack_base = n->have_start[!dir] ? n->start[!dir] : 0;
	return 0;
}
