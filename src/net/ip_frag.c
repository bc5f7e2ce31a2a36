/* ip_frag.c — IP reassembly, for both versions. */
#include "net/ip_frag.h"

#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "core/util.h"
#include "wire/wire.h"

#define IP_MAX_PAYLOAD 65535u
/* Offsets are kept relative to a base one below 0, as a seqset wants
 * every range after its base. */
#define BASE UINT32_MAX

/* A buffer grows at least this much at a time, doubling beyond, so a
 * datagram arriving in order is copied a few times, not once a fragment. */
#define GROW_MIN 2048u

int ip_frag_init(struct ip_frag_table *t, uint32_t max, size_t bytes_max)
{
	t->slot = calloc(max, sizeof(*t->slot));
	if (!t->slot)
		return -1;
	t->n_slots = max;
	t->bytes = 0;
	t->next_order = 0;
	t->bytes_max = bytes_max;
	return 0;
}

void ip_frag_destroy(struct ip_frag_table *t)
{
	if (!t->slot)
		return;
	for (uint32_t i = 0; i < t->n_slots; i++) {
		free(t->slot[i].buf);
		seqset_free(&t->slot[i].have);
	}
	free(t->slot);
	t->slot = NULL;
}

void ip_frag_done(struct ip_frag_table *t, struct ip_frag *f)
{
	f->used = false;
	seqset_clear(&f->have);
	t->bytes -= f->cap;
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
}

uint32_t ip_frag_count(const struct ip_frag_table *t)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < t->n_slots; i++)
		c += t->slot[i].used;
	return c;
}

static bool same_datagram(const struct ip_frag_key *a, const struct ip_frag_key *b)
{
	return a->id == b->id && a->proto == b->proto && ip_eq(&a->src, &b->src) &&
	       ip_eq(&a->dst, &b->dst);
}

/* The oldest datagram in progress other than keep, or NULL. */
static struct ip_frag *oldest(struct ip_frag_table *t, const struct ip_frag *keep)
{
	struct ip_frag *o = NULL;
	for (uint32_t i = 0; i < t->n_slots; i++) {
		struct ip_frag *f = &t->slot[i];
		if (f->used && f != keep && (!o || f->order < o->order))
			o = f;
	}
	return o;
}

/* The entry of this datagram, or a new one (evicting the oldest when all
 * are busy); expired ones are given up on the way. */
static struct ip_frag *find(struct ustcp_stack *s, struct ip_frag_table *t,
			    const struct ip_frag_key *k)
{
	struct ip_frag *free_slot = NULL;
	for (uint32_t i = 0; i < t->n_slots; i++) {
		struct ip_frag *f = &t->slot[i];
		if (f->used && s->now - f->since > IP_FRAG_TIMEOUT) {
			stack_drop(s, USTCP_DROP_ip_frag_timeout);
			ip_frag_done(t, f);
		}
		if (f->used && same_datagram(&f->key, k))
			return f;
		if (!f->used && !free_slot)
			free_slot = f;
	}
	struct ip_frag *f = free_slot;
	if (!f) {
		f = oldest(t, NULL);
		stack_drop(s, USTCP_DROP_ip_frag_evicted);
		ip_frag_done(t, f);
	}
	if (!seqset_room(&f->have) && seqset_grow(&f->have, IP_FRAG_HOLES) < 0)
		return NULL;
	f->used = true;
	f->key = *k;
	f->since = s->now;
	f->order = t->next_order++;
	f->total = 0;
	return f;
}

/* Room in f's buffer up to end, within the table's bytes: the oldest
 * other datagrams give way (counted) until it fits. One largest datagram
 * always does (bytes_max is at least that). */
static bool make_room(struct ustcp_stack *s, struct ip_frag_table *t, struct ip_frag *f,
		      uint32_t end)
{
	if (end <= f->cap)
		return true;
	uint32_t cap = MAX((end + GROW_MIN - 1) / GROW_MIN * GROW_MIN, 2 * f->cap);
	cap = MIN(cap, IP_MAX_PAYLOAD);
	while (t->bytes - f->cap + cap > t->bytes_max) {
		struct ip_frag *v = oldest(t, f);
		if (!v)
			return false;
		stack_drop(s, USTCP_DROP_ip_frag_no_room);
		ip_frag_done(t, v);
	}
	uint8_t *b = realloc(f->buf, cap);
	if (!b)
		return false;
	t->bytes += cap - f->cap;
	f->buf = b;
	f->cap = cap;
	return true;
}

struct ip_frag *ip_frag_input(struct ustcp_stack *s, struct ip_frag_table *t,
			      const struct ip_frag_in *in, const uint8_t *p, size_t len)
{
	uint32_t off = in->off;
	bool more = in->more;
	stat_inc(s, USTCP_C_ip_frags_in);
	/* RFC 791, RFC 8200 §4.5: every fragment but the last carries a
	 * multiple of 8 bytes; none reaches past the largest datagram. */
	if ((more && (len % 8 || len == 0)) || off + len > in->max) {
		stack_drop(s, USTCP_DROP_ip_frag_bad);
		return NULL;
	}
	struct ip_frag *f = find(s, t, &in->key);
	if (!f) {
		stack_drop(s, USTCP_DROP_ip_frag_evicted);
		return NULL;
	}
	if (!more) {
		if (f->total && f->total != off + len) {
			stack_drop(s, USTCP_DROP_ip_frag_bad); /* two different ends */
			ip_frag_done(t, f);
			return NULL;
		}
		f->total = off + (uint32_t)len;
	}
	if (off == 0) {
		f->tos = in->tos;
		f->ttl = in->ttl;
	}
	if (len) {
		/* RFC 5722 (and RFC 8200 §4.5; Linux does the same for IPv4): a
		 * fragment that overlaps what came before, unless it is an exact
		 * copy of it, condemns the whole datagram: overlaps are how
		 * filters are evaded. */
		const struct seqset_range *r = seqset_find(&f->have, BASE, off);
		if (r && r->start < off + len) {
			uint32_t rs = r->start, re = r->end;
			bool copy =
				rs <= off && off + len <= re && memcmp(f->buf + off, p, len) == 0;
			stack_drop(s, copy ? USTCP_DROP_ip_frag_dup : USTCP_DROP_ip_frag_overlap);
			if (!copy)
				ip_frag_done(t, f);
			return NULL;
		}
		if (!make_room(s, t, f, off + (uint32_t)len)) {
			stack_drop(s, USTCP_DROP_ip_frag_no_room); /* out of memory */
			ip_frag_done(t, f);
			return NULL;
		}
		if (seqset_add(&f->have, BASE, off, (uint32_t)len, NULL) < 0) {
			stack_drop(s, USTCP_DROP_ip_frag_bad); /* too many holes */
			ip_frag_done(t, f);
			return NULL;
		}
		memcpy(f->buf + off, p, len);
	}
	const struct seqset_range *all = seqset_first(&f->have);
	if (!f->total || seqset_count(&f->have) != 1 || all->start != 0 || all->end != f->total)
		return NULL;
	stat_inc(s, USTCP_C_ip_reassembled);
	return f;
}
