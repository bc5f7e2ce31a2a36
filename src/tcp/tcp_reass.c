/* tcp_reass.c — the receiver's out-of-order queue and its SACK blocks. */
#include "tcp/tcp_reass.h"

#include "core/seq.h"

void tcp_reass_init(struct tcp_reass *a)
{
	seqset_init(&a->held);
	a->n_recent = 0;
	a->dup = false;
}

/* Keep in the history only the ranges keep() approves. */
static void recent_filter(struct tcp_reass *a,
			  bool (*keep)(const struct seqset_range *, uint32_t, uint32_t), uint32_t x,
			  uint32_t y)
{
	uint8_t w = 0;
	for (uint8_t i = 0; i < a->n_recent; i++)
		if (keep(&a->recent[i], x, y))
			a->recent[w++] = a->recent[i];
	a->n_recent = w;
}

/* Outside [start, end]: not joined into the range that now spans it. */
static bool apart_from(const struct seqset_range *r, uint32_t start, uint32_t end)
{
	return seq_gt(r->start, end) || seq_lt(r->end, start);
}

static bool after(const struct seqset_range *r, uint32_t rcv_nxt, uint32_t unused)
{
	(void)unused;
	return seq_gt(r->start, rcv_nxt);
}

int tcp_reass_add(struct tcp_reass *a, uint32_t rcv_nxt, uint32_t seq, uint32_t len)
{
	/* RFC 2883 §4: the part already held (of the first range it overlaps)
	 * is a duplicate to report. */
	const struct seqset_range *r = seqset_find(&a->held, rcv_nxt, seq);
	bool dup = r && r->start - rcv_nxt < seq + len - rcv_nxt;
	struct seqset_range d = {0, 0};
	if (dup)
		d = (struct seqset_range){seq_max(seq, r->start), seq_min(seq + len, r->end)};
	struct seqset_range held;
	int rc = seqset_add(&a->held, rcv_nxt, seq, len, &held);
	if (rc < 0)
		return rc;
	a->dup = dup;
	a->dup_range = d;
	/* RFC 2018 §4: the range holding this segment is the first block; it
	 * replaces the ranges it joined. */
	recent_filter(a, apart_from, held.start, held.end);
	uint8_t n = a->n_recent < TCP_MAX_SACK ? a->n_recent : TCP_MAX_SACK - 1;
	for (uint8_t i = n; i > 0; i--)
		a->recent[i] = a->recent[i - 1];
	a->recent[0] = held;
	a->n_recent = n + 1;
	return 0;
}

uint32_t tcp_reass_take(struct tcp_reass *a, uint32_t rcv_nxt)
{
	uint32_t got = seqset_take(&a->held, rcv_nxt);
	recent_filter(a, after, rcv_nxt, 0);
	return got;
}

static bool listed(const struct seqset_range *out, int n, const struct seqset_range *r)
{
	for (int i = 0; i < n; i++)
		if (out[i].start == r->start)
			return true;
	return false;
}

int tcp_reass_sack_blocks(const struct tcp_reass *a, struct seqset_range *out, int max)
{
	int k = 0;
	for (uint8_t i = 0; i < a->n_recent && k < max; i++)
		out[k++] = a->recent[i];
	/* RFC 2018 §4: as many distinct blocks as fit. This skips at most
	 * the TCP_MAX_SACK ranges of the history. */
	for (const struct seqset_range *r = seqset_first(&a->held); r && k < max;
	     r = seqset_next(&a->held, r))
		if (!listed(out, k, r))
			out[k++] = *r;
	return k;
}
