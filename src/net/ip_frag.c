/* ip_frag.c — IP reassembly, for both versions. */
#include "net/ip_frag.h"

#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "wire/wire.h"

#define IP_MAX_PAYLOAD 65535u
/* Offsets are kept relative to a base one below 0, as a seqset wants
 * every range after its base. */
#define BASE UINT32_MAX

void ip_frag_destroy(struct ip_frag *table)
{
	for (int i = 0; i < IP_FRAG_MAX; i++) {
		free(table[i].buf);
		seqset_free(&table[i].have);
	}
}

void ip_frag_done(struct ip_frag *f)
{
	f->used = false;
	seqset_clear(&f->have);
}

/* The entry of this datagram, or a new one (evicting the oldest when all
 * are busy); expired ones are given up on the way. */
static bool same_datagram(const struct ip_frag_key *a, const struct ip_frag_key *b)
{
	return a->id == b->id && a->proto == b->proto && ip_eq(&a->src, &b->src) &&
	       ip_eq(&a->dst, &b->dst);
}

static struct ip_frag *find(struct ustcp_stack *s, struct ip_frag *table,
			    const struct ip_frag_key *k)
{
	struct ip_frag *free_slot = NULL, *oldest = NULL;
	for (int i = 0; i < IP_FRAG_MAX; i++) {
		struct ip_frag *f = &table[i];
		if (f->used && s->now - f->since > IP_FRAG_TIMEOUT) {
			stack_drop(s, USTCP_DROP_ip_frag_timeout);
			ip_frag_done(f);
		}
		if (f->used && same_datagram(&f->key, k))
			return f;
		if (!f->used && !free_slot)
			free_slot = f;
		if (f->used && (!oldest || f->since < oldest->since))
			oldest = f;
	}
	struct ip_frag *f = free_slot;
	if (!f) {
		stack_drop(s, USTCP_DROP_ip_frag_evicted);
		ip_frag_done(oldest);
		f = oldest;
	}
	if (!f->buf && !(f->buf = malloc(IP_MAX_PAYLOAD)))
		return NULL;
	if (!seqset_room(&f->have) && seqset_grow(&f->have, IP_FRAG_HOLES) < 0)
		return NULL;
	f->used = true;
	f->key = *k;
	f->since = s->now;
	f->total = 0;
	return f;
}

struct ip_frag *ip_frag_input(struct ustcp_stack *s, struct ip_frag *table,
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
	struct ip_frag *f = find(s, table, &in->key);
	if (!f) {
		stack_drop(s, USTCP_DROP_ip_frag_evicted);
		return NULL;
	}
	if (!more) {
		if (f->total && f->total != off + len) {
			stack_drop(s, USTCP_DROP_ip_frag_bad); /* two different ends */
			ip_frag_done(f);
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
				ip_frag_done(f);
			return NULL;
		}
		if (seqset_add(&f->have, BASE, off, (uint32_t)len, NULL) < 0) {
			stack_drop(s, USTCP_DROP_ip_frag_bad); /* too many holes */
			ip_frag_done(f);
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
