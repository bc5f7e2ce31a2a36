/* tcp_reass.c — the receiver's out-of-order queue and its SACK blocks. */
#include "tcp/tcp_reass.h"

int tcp_reass_add(struct tcp_reass *a, uint32_t rcv_nxt, uint32_t seq, uint32_t len)
{
	struct seqset_range held;
	int rc = seqset_add(&a->held, rcv_nxt, seq, len, &held);
	if (rc == 0)
		a->recent = held.start;
	return rc;
}

int tcp_reass_sack_blocks(const struct tcp_reass *a, struct seqset_range *out, int max)
{
	const struct seqset_range *first = seqset_first(&a->held);
	if (!first || max <= 0)
		return 0;
	/* The most recently touched range, if RCV.NXT has not taken it. */
	const struct seqset_range *recent = seqset_find(&a->held, first->start, a->recent);
	if (!recent || recent->start != a->recent)
		recent = first;
	int k = 0;
	out[k++] = *recent;
	for (const struct seqset_range *r = first; r && k < max; r = seqset_next(&a->held, r))
		if (r != recent)
			out[k++] = *r;
	return k;
}
