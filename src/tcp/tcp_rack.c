/* tcp_rack.c — RACK-TLP loss detection (RFC 8985) for SACK connections.
 *
 * The send map remembers when each stretch of outstanding data was last
 * sent. Each ACK tells, through what it newly delivered (cumulatively or by
 * SACK), the latest transmission known to have arrived (RACK.xmit_ts);
 * anything not delivered that was sent before it is lost once an RTT and a
 * reordering window have passed since its own transmission (§6.2). Loss is
 * judged in time rather than by counting what arrived above a hole, so
 * reordering within the window is not taken for loss, and a lost
 * retransmission is found like any other loss. The losses drive RFC 6675
 * recovery (tcp_sack.c): pipe counts them as gone and NextSeg resends them
 * in sequence order.
 *
 * A tail loss probe (§7) goes when ACKs stop coming before the RTO would
 * fire: a new segment, or the last one again, so that a lost tail draws
 * SACK feedback that RACK can act on instead of a timeout.
 *
 * The map's room is bounded and counted in the connection's buffer memory;
 * should it fill, the connection goes back to DupThresh (tcp_sack.c's
 * lost_edge) until all it sent is acknowledged.
 *
 * The work an ACK causes is O(log n) in the records outstanding, plus O(1)
 * per record it changes (each cut, merged, SACKed, marked or freed once
 * per transmission): SACK blocks and retransmissions find their records in
 * the map's tree, and loss detection walks the records neither SACKed nor
 * lost from the oldest transmission, marking and unlinking as it goes, and
 * stops at the first one not yet due, as Linux's tsorted_sent_queue does
 * (tcp_conn.h, struct tcp_sendmap). A timeout and an undo look at every
 * record they change, once per timeout or recovery. */
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_conn.h"
#include "ustcp/ustcp.h"

/* §7.2 WCDelAckT, the worst-case delayed-ACK time: the 200 ms the RFC
 * suggests (Linux uses its RTO floor, also 200 ms). */
#define WC_DEL_ACK_T (200 * USTCP_NS_PER_MS)
#define REO_WND_PERSIST 16 /* §6.2 step 4: recoveries a grown window lasts */
#define MAP_MIN 64         /* records a map has at least */
#define MAP_MAX 65536

static int by_start(const struct tcp_sendrec *a, const struct tcp_sendrec *b)
{
	return seq_lt(a->start, b->start) ? -1 : a->start != b->start;
}

/* RB_GENERATE_STATIC wants a __unused that libbsd leaves undefined. */
RB_GENERATE_INTERNAL(tcp_sendrec_tree, tcp_sendrec, by_seq, by_start,
		     __attribute__((unused)) static)
RB_GENERATE_INTERNAL(tcp_lost_tree, tcp_sendrec, by_lost, by_start, __attribute__((unused)) static)

static void rack_fire(struct tw_timer *t, uint64_t now);
static void map_reset(struct tcp_sendmap_room *m);

void tcp_rack_init(struct ustcp_sock *c)
{
	memset(&c->rack, 0, sizeof(c->rack));
	c->rack.reo_wnd_mult = 1;
}

static size_t room_size(uint32_t cap)
{
	return sizeof(struct tcp_sendmap_room) + (size_t)cap * sizeof(struct tcp_sendrec);
}

uint64_t tcp_rack_room(const struct ustcp_sock *c)
{
	return c->rack.map.room ? room_size(c->rack.map.room->cap) : 0;
}

/* One record per KiB of send buffer: the segments sent in one event share
 * a record, so a window of full segments needs at most about one each (an
 * ACK-clocked sender sends a few per ACK), and SACK holes cut them further.
 * RACK's own state starts as a new connection's would (all zero): before
 * the map exists, nothing of it was ever set. */
void tcp_rack_alloc(struct ustcp_sock *c, uint32_t sndbuf)
{
	struct tcp_sendmap *m = &c->rack.map;
	if (m->room)
		return;
	uint32_t cap = MIN(MAX(sndbuf / 1024, (uint32_t)MAP_MIN), (uint32_t)MAP_MAX);
	m->room = malloc(room_size(cap));
	if (!m->room)
		return; /* DupThresh alone, as without the map */
	memset(m->room, 0, sizeof(*m->room));
	m->room->conn = c;
	m->room->cap = cap;
	tw_timer_init(&m->room->timer, rack_fire);
	map_reset(m->room);
	c->stack->tcp->buffer_bytes += tcp_rack_room(c);
}

void tcp_rack_free(struct ustcp_sock *c)
{
	free(c->rack.map.room);
	c->rack.map.room = NULL;
	c->rack.active = false;
}

/* ---- the send map ---- */

static void map_reset(struct tcp_sendmap_room *m)
{
	RB_INIT(&m->seq);
	RB_INIT(&m->lost);
	TAILQ_INIT(&m->sent);
	TAILQ_INIT(&m->lost_list);
	TAILQ_INIT(&m->free);
	TAILQ_INIT(&m->fresh);
	m->last = NULL;
	m->used = m->n = m->lost_bytes = 0;
}

/* Put the fresh records in the tree: each goes in once. */
static void map_settle(struct tcp_sendmap *h)
{
	struct tcp_sendmap_room *m = h->room;
	struct tcp_sendrec *p;
	TAILQ_FOREACH(p, &m->fresh, by_fresh)
	{
		h->visits++;
		p->fresh = false;
		RB_INSERT(tcp_sendrec_tree, &m->seq, p);
	}
	TAILQ_INIT(&m->fresh);
}

/* The first record (NULL when none); the one after p. The fresh ones
 * follow those in the tree. */
static struct tcp_sendrec *rec_first(struct tcp_sendmap_room *m)
{
	struct tcp_sendrec *p = RB_MIN(tcp_sendrec_tree, &m->seq);
	return p ? p : TAILQ_FIRST(&m->fresh);
}

static struct tcp_sendrec *rec_next(struct tcp_sendmap_room *m, struct tcp_sendrec *p)
{
	if (p->fresh)
		return TAILQ_NEXT(p, by_fresh);
	struct tcp_sendrec *q = RB_NEXT(tcp_sendrec_tree, NULL, p);
	return q ? q : TAILQ_FIRST(&m->fresh);
}

/* The record that holds seq, else the first after it (NULL when none). */
static struct tcp_sendrec *map_find(struct tcp_sendmap *h, uint32_t seq)
{
	struct tcp_sendmap_room *m = h->room;
	map_settle(h);
	struct tcp_sendrec key = {.start = seq};
	struct tcp_sendrec *p = RB_NFIND(tcp_sendrec_tree, &m->seq, &key);
	struct tcp_sendrec *prev = p ? RB_PREV(tcp_sendrec_tree, &m->seq, p) : m->last;
	return prev && seq_gt(prev->end, seq) ? prev : p;
}

/* A record for the map (new data after all the others goes on the fresh
 * list); NULL when it is full. */
static struct tcp_sendrec *rec_new(struct tcp_sendmap_room *m, const struct tcp_sendrec *like,
				   bool fresh)
{
	if (m->n == m->cap)
		return NULL;
	struct tcp_sendrec *p = TAILQ_FIRST(&m->free);
	if (p)
		TAILQ_REMOVE(&m->free, p, by_time);
	else
		p = &m->pool[m->used++];
	p->start = like->start;
	p->end = like->end;
	p->xmit_ts = like->xmit_ts;
	p->xmit_event = like->xmit_event;
	p->flags = like->flags;
	p->fresh = fresh;
	if (fresh)
		TAILQ_INSERT_TAIL(&m->fresh, p, by_fresh);
	else
		RB_INSERT(tcp_sendrec_tree, &m->seq, p);
	if (!m->last || seq_gt(p->start, m->last->start))
		m->last = p;
	m->n++;
	return p;
}

/* When a transmission went: the clock, and the stack's event to tell apart
 * two that the clock did not (see sent_after). */
struct xmit_when {
	uint64_t ts;
	uint32_t event;
	uint32_t end;
};

static struct xmit_when rec_when(const struct tcp_sendrec *p)
{
	return (struct xmit_when){p->xmit_ts, p->xmit_event, p->end};
}

/* RACK_sent_after: a went later than b. By the clock; at one instant (a
 * clock that did not move between events, as on a link without delay), by
 * event; in one event, by sequence, as the RFC says. Without the event, a
 * hole resent at the same instant as the segment whose SACK made it resend
 * would count as sent before it, lost again at once, for ever. */
static bool sent_after(struct xmit_when a, struct xmit_when b)
{
	if (a.ts != b.ts)
		return a.ts > b.ts;
	if (a.event != b.event)
		return (int32_t)(a.event - b.event) > 0;
	return seq_gt(a.end, b.end);
}

/* Put p on the sent list at its place, in sent_after's order. A record
 * sent now goes at the tail but for those sent in this same event with a
 * higher end, which one event sends few of. */
static void sent_insert(struct tcp_sendmap *h, struct tcp_sendrec *p)
{
	struct tcp_sendmap_room *m = h->room;
	struct tcp_sendrec *q = TAILQ_LAST(&m->sent, tcp_sendrec_list);
	while (q && sent_after(rec_when(q), rec_when(p))) {
		h->visits++;
		q = TAILQ_PREV(q, tcp_sendrec_list, by_time);
	}
	if (q)
		TAILQ_INSERT_AFTER(&m->sent, q, p, by_time);
	else
		TAILQ_INSERT_HEAD(&m->sent, p, by_time);
}

static void mark_lost(struct tcp_sendmap *h, struct tcp_sendrec *p)
{
	struct tcp_sendmap_room *m = h->room;
	if (p->fresh)
		map_settle(h);
	p->flags |= TCP_REC_LOST;
	m->lost_bytes += p->end - p->start;
	RB_INSERT(tcp_lost_tree, &m->lost, p);
	TAILQ_INSERT_TAIL(&m->lost_list, p, by_time);
}

/* Take p off the list (and tree) its state puts it on, before it changes. */
static void rec_detach(struct tcp_sendmap_room *m, struct tcp_sendrec *p)
{
	if (p->flags & TCP_REC_SACKED)
		return;
	if (p->flags & TCP_REC_LOST) {
		m->lost_bytes -= p->end - p->start;
		RB_REMOVE(tcp_lost_tree, &m->lost, p);
		TAILQ_REMOVE(&m->lost_list, p, by_time);
	} else {
		TAILQ_REMOVE(&m->sent, p, by_time);
	}
}

static void rec_free(struct tcp_sendmap_room *m, struct tcp_sendrec *p)
{
	rec_detach(m, p);
	if (p->fresh) {
		if (m->last == p)
			m->last = TAILQ_PREV(p, tcp_sendrec_list, by_fresh);
		TAILQ_REMOVE(&m->fresh, p, by_fresh);
	} else {
		if (m->last == p)
			m->last = RB_PREV(tcp_sendrec_tree, &m->seq, p);
		RB_REMOVE(tcp_sendrec_tree, &m->seq, p);
	}
	TAILQ_INSERT_HEAD(&m->free, p, by_time);
	m->n--;
}

/* Make seq a record boundary (a SACKed record needs none: it is never
 * changed again). False when the map is full. */
static bool map_split(struct tcp_sendmap *h, uint32_t seq)
{
	struct tcp_sendmap_room *m = h->room;
	struct tcp_sendrec *r = map_find(h, seq);
	if (!r || !seq_gt(seq, r->start) || (r->flags & TCP_REC_SACKED))
		return true;
	struct tcp_sendrec like = *r;
	like.start = seq;
	struct tcp_sendrec *p = rec_new(m, &like, false);
	if (!p)
		return false;
	r->end = seq;
	/* The two halves share a time: the upper one follows right after. */
	if (p->flags & TCP_REC_LOST) {
		RB_INSERT(tcp_lost_tree, &m->lost, p);
		TAILQ_INSERT_AFTER(&m->lost_list, r, p, by_time);
	} else {
		TAILQ_INSERT_AFTER(&m->sent, r, p, by_time);
	}
	return true;
}

/* SACKed stretches need no time any more; others join when sent together. */
static bool mergeable(const struct tcp_sendrec *a, const struct tcp_sendrec *b)
{
	if (a->end != b->start)
		return false;
	if (a->flags & b->flags & TCP_REC_SACKED)
		return true;
	return a->flags == b->flags && a->xmit_ts == b->xmit_ts && a->xmit_event == b->xmit_event;
}

/* Join what can be joined among the records from the one before first to
 * the one after last. Records joined in time order are neighbours on their
 * list too, so the one that stays keeps its place there. */
static void map_merge(struct tcp_sendmap *h, struct tcp_sendrec *first, struct tcp_sendrec *last)
{
	struct tcp_sendmap_room *m = h->room;
	struct tcp_sendrec *a = RB_PREV(tcp_sendrec_tree, &m->seq, first);
	struct tcp_sendrec *stop = rec_next(m, last), *b;
	if (!a)
		a = first;
	while ((b = rec_next(m, a))) {
		h->visits++;
		bool at_stop = b == stop;
		if (mergeable(a, b)) {
			uint32_t end = b->end;
			bool lost = b->flags & TCP_REC_LOST;
			rec_free(m, b);
			if (lost)
				m->lost_bytes += end - b->start;
			a->end = end;
		} else {
			a = b;
		}
		if (at_stop)
			break;
	}
}

static void rack_timer_arm(struct ustcp_sock *c)
{
	struct tcp_sendmap_room *r = c->rack.map.room;
	uint64_t at = r->reo_at ? r->reo_at : UINT64_MAX;
	if (r->pto_at && r->pto_at < at)
		at = r->pto_at;
	if (at == UINT64_MAX)
		tw_cancel(&c->stack->wheel, &r->timer);
	else
		tw_arm(&c->stack->wheel, &r->timer, at);
}

/* The map is full: DupThresh decides loss until nothing is outstanding. */
static void rack_stop(struct ustcp_sock *c)
{
	struct tcp_sendmap_room *r = c->rack.map.room;
	c->rack.active = false;
	map_reset(r);
	r->reo_at = r->pto_at = 0;
	r->tlp_pending = false;
	tw_cancel(&c->stack->wheel, &r->timer);
	/* Every hole below DupThresh's loss edge is to be resent from here. */
	c->rexmt_next = c->snd_una;
	stat_inc(c->stack, USTCP_C_tcp_rack_fallbacks);
}

void tcp_rack_sent(struct ustcp_sock *c, uint32_t seq, uint32_t end)
{
	struct tcp_rack *r = &c->rack;
	struct tcp_sendmap *h = &r->map;
	struct tcp_sendmap_room *m = h->room;
	if (!c->sack_ok || !m || !seq_lt(seq, end))
		return;
	if (!r->active) {
		/* Start (again) only with nothing outstanding: the map must
		 * describe every byte in flight. */
		if (c->snd_una != c->snd_max || seq != c->snd_una)
			return;
		r->active = true;
		map_reset(m);
		m->fack = seq;
	}
	uint64_t now = c->stack->now;
	struct tcp_sendrec *last = m->last;
	if (last && seq_lt(seq, last->end)) {
		/* Sent again: what the peer does not hold takes the new time. */
		uint32_t e = seq_min(end, last->end);
		if (!map_split(h, seq) || !map_split(h, e)) {
			rack_stop(c);
			return;
		}
		struct tcp_sendrec *first = map_find(h, seq), *p = first, *done = NULL;
		for (; p && seq_lt(p->start, e); p = rec_next(m, p)) {
			h->visits++;
			done = p;
			if (p->flags & TCP_REC_SACKED)
				continue;
			rec_detach(m, p);
			p->flags = TCP_REC_RETRANS;
			p->xmit_ts = now;
			p->xmit_event = c->stack->event;
			sent_insert(h, p);
		}
		if (done)
			map_merge(h, first, done);
		seq = e;
		if (!seq_lt(seq, end))
			return;
		last = m->last;
	}
	/* New data. Below snd_max it went before, as a zero-window probe. */
	uint32_t flags = seq_lt(seq, c->snd_max) ? TCP_REC_RETRANS : 0;
	uint32_t event = c->stack->event;
	if (last && last->end == seq && last->flags == flags && last->xmit_ts == now &&
	    last->xmit_event == event) {
		last->end = end; /* the newest: still the last on the sent list */
		return;
	}
	struct tcp_sendrec like = {.start = seq,
				   .end = end,
				   .xmit_ts = now,
				   .xmit_event = event,
				   .flags = (uint8_t)flags};
	struct tcp_sendrec *p = rec_new(m, &like, true);
	if (!p) {
		rack_stop(c);
		return;
	}
	sent_insert(h, p);
}

/* ---- RACK (§6.2) ---- */

/* The latest transmission among those one ACK delivered. */
struct delivery {
	bool any;
	struct xmit_when when;
};

/* Steps 2 and 3 for one delivered stretch ending at end. */
static void delivered(struct ustcp_sock *c, struct delivery *d, const struct tcp_sendrec *p,
		      uint32_t end)
{
	struct tcp_sendmap_room *r = c->rack.map.room;
	bool retrans = p->flags & TCP_REC_RETRANS;
	/* Step 3: data sent once that arrives below the highest delivered
	 * sequence was overtaken. */
	if (seq_gt(end, r->fack))
		r->fack = end;
	else if (seq_lt(end, r->fack) && !retrans)
		c->rack.reordering_seen = true;
	/* Step 2: a retransmission answered sooner than any round trip could
	 * be answered is the original's ACK: no evidence about this send. */
	if (retrans && c->stack->now - p->xmit_ts < c->min_rtt)
		return;
	struct xmit_when w = {p->xmit_ts, p->xmit_event, end};
	if (!d->any || sent_after(w, d->when)) {
		d->any = true;
		d->when = w;
	}
}

/* Step 4 (RACK_update_reo_wnd): min_RTT / 4, scaled up by D-SACKs; none at
 * all before any reordering was seen if recovery already runs or DupThresh
 * segments were SACKed, so that RACK is never slower than DupThresh. */
static uint64_t reo_wnd(const struct ustcp_sock *c)
{
	const struct tcp_rack *r = &c->rack;
	if (!r->reordering_seen) {
		if (c->recovery != TCP_RECOVERY_NONE)
			return 0;
		if (seqset_bytes(tcp_scoreboard(c)) >= (uint32_t)c->reordering * c->snd_mss)
			return 0;
	}
	return MIN(c->min_rtt / 4 * r->reo_wnd_mult, c->srtt);
}

/* Step 5 (RACK_detect_loss): an undelivered stretch sent before RACK.xmit_ts
 * is lost once RACK.rtt + reo_wnd has passed since it was sent; the
 * earliest of the others' deadlines arms the reordering timer. The sent
 * list is in RACK_sent_after order, and deadlines grow along it: the walk
 * stops at the first stretch sent after RACK.xmit_ts or not yet due, and
 * what it marks leaves the list. */
static void detect_loss(struct ustcp_sock *c)
{
	struct tcp_sendmap *h = &c->rack.map;
	struct tcp_sendmap_room *r = h->room;
	r->reo_at = 0;
	if (!r->delivered)
		return;
	uint64_t now = c->stack->now, wnd = reo_wnd(c), first = UINT64_MAX;
	struct xmit_when rack_when = {r->xmit_ts, r->xmit_event, r->end_seq};
	struct tcp_sendrec *p;
	while ((p = TAILQ_FIRST(&r->sent))) {
		h->visits++;
		if (sent_after(rec_when(p), rack_when))
			break;
		uint64_t deadline = p->xmit_ts + r->rtt + wnd;
		if (now < deadline) {
			first = deadline;
			break;
		}
		TAILQ_REMOVE(&r->sent, p, by_time);
		mark_lost(h, p);
	}
	/* No timer while resending after a timeout: that goes back N anyway. */
	if (first != UINT64_MAX && !tcp_in_rto_recovery(c))
		r->reo_at = first;
}

/* RFC 2883: the first block is a duplicate report (below the ACK, or
 * inside the second block). */
static bool is_dsack(const struct tcp_opts *o, uint32_t ack)
{
	return o && o->nsack &&
	       (seq_leq(o->sack[0].right, ack) ||
		(o->nsack > 1 && seq_geq(o->sack[0].left, o->sack[1].left) &&
		 seq_leq(o->sack[0].right, o->sack[1].right)));
}

/* §7.4.2: the ACK of a probe. A probe of new data needs nothing; a resent
 * one the peer reports as a duplicate repaired nothing; a resent one
 * acknowledged with more beyond it repaired a loss, which calls for the
 * congestion response a fast retransmit would have had. An ACK of just
 * the probe leaves it open until one of those shows. */
static void tlp_on_ack(struct ustcp_sock *c, uint32_t ack, const struct tcp_opts *o, bool dsack)
{
	struct tcp_sendmap_room *r = c->rack.map.room;
	if (!r->tlp_pending || seq_lt(ack, r->tlp_end_seq))
		return;
	if (!r->tlp_is_retrans) {
		r->tlp_pending = false;
		return;
	}
	if (dsack && seq_lt(o->sack[0].left, r->tlp_end_seq) &&
	    seq_geq(o->sack[0].right, r->tlp_end_seq)) {
		r->tlp_pending = false;
		return;
	}
	if (seq_gt(ack, r->tlp_end_seq)) {
		r->tlp_pending = false;
		stat_inc(c->stack, USTCP_C_tcp_tlp_recoveries);
		c->cc->on_congestion(c);
		c->cwnd = c->ssthresh;
	}
}

void tcp_rack_on_ack(struct ustcp_sock *c, uint32_t ack, const struct tcp_opts *o)
{
	struct tcp_sendmap *h = &c->rack.map;
	struct tcp_sendmap_room *m = h->room, *r = m;
	if (!c->rack.active)
		return;
	struct delivery d = {0};
	/* Acknowledged cumulatively: delivered now unless SACKed before. */
	struct tcp_sendrec *p = rec_first(m), *next;
	for (; p && seq_lt(p->start, c->snd_una); p = next) {
		h->visits++;
		next = rec_next(m, p);
		uint32_t end = seq_min(p->end, c->snd_una);
		if (!(p->flags & TCP_REC_SACKED))
			delivered(c, &d, p, end);
		if (seq_gt(p->end, c->snd_una)) {
			if (p->flags & TCP_REC_LOST)
				m->lost_bytes -= end - p->start;
			p->start = c->snd_una; /* still the first, in each tree */
			break;
		}
		rec_free(m, p);
	}
	/* SACKed: the blocks the scoreboard takes (tcp_sack_update), in
	 * sequence order (the option lists the newest first): step 3 judges
	 * reordering by what arrives below RACK.fack. */
	struct tcp_sack_block blk[TCP_MAX_SACK];
	int nblk = o ? o->nsack : 0;
	for (int k = 0; k < nblk; k++) {
		int at = k;
		for (; at > 0 && seq_lt(o->sack[k].left, blk[at - 1].left); at--)
			blk[at] = blk[at - 1];
		blk[at] = o->sack[k];
	}
	for (int k = 0; k < nblk; k++) {
		uint32_t left = blk[k].left, right = blk[k].right;
		if (!seq_gt(left, c->snd_una) || !seq_gt(right, left) || seq_gt(right, c->snd_max))
			continue;
		if (!map_split(h, left) || !map_split(h, right)) {
			rack_stop(c);
			return;
		}
		struct tcp_sendrec *first = map_find(h, left), *done = NULL;
		for (p = first; p && seq_lt(p->start, right); p = rec_next(m, p)) {
			h->visits++;
			done = p;
			if (p->flags & TCP_REC_SACKED)
				continue;
			delivered(c, &d, p, p->end);
			rec_detach(m, p);
			p->flags = TCP_REC_SACKED;
		}
		if (done)
			map_merge(h, first, done);
	}
	/* Keep both near SND.UNA: sequence numbers wrap. */
	if (seq_lt(r->fack, c->snd_una))
		r->fack = c->snd_una;
	if (d.any) {
		/* Step 2: RACK.rtt from the latest transmission delivered. */
		r->rtt = c->stack->now - d.when.ts;
		if (!r->delivered ||
		    sent_after(d.when, (struct xmit_when){r->xmit_ts, r->xmit_event, r->end_seq})) {
			r->xmit_ts = d.when.ts;
			r->xmit_event = d.when.event;
			r->end_seq = d.when.end;
			r->delivered = true;
		}
	}
	/* Step 4: one step up of the window per round trip with a D-SACK. */
	bool dsack = is_dsack(o, ack);
	if (r->dsack_round_valid && seq_geq(c->snd_una, r->dsack_round))
		r->dsack_round_valid = false;
	if (!r->dsack_round_valid && dsack) {
		r->dsack_round_valid = true;
		r->dsack_round = c->snd_max;
		if (c->rack.reo_wnd_mult < UINT8_MAX)
			c->rack.reo_wnd_mult++;
		c->rack.reo_wnd_persist = REO_WND_PERSIST;
	}
	detect_loss(c);
	tlp_on_ack(c, ack, o, dsack);
	rack_timer_arm(c);
}

bool tcp_rack_next_lost(struct ustcp_sock *c, uint32_t *seq, uint32_t *len)
{
	struct tcp_sendmap_room *m = c->rack.map.room;
	if (!c->rack.active || !m->lost_bytes)
		return false;
	const struct tcp_sendrec *p = RB_MIN(tcp_lost_tree, &m->lost);
	if (!p)
		return false;
	*seq = p->start;
	/* Data only: a lost FIN goes again with the last data, or alone. */
	uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
	uint32_t n = MIN(p->end - p->start, (uint32_t)c->snd_mss);
	uint32_t data = seq_lt(p->start, data_end) ? data_end - p->start : 0;
	*len = MIN(n, data);
	return true;
}

void tcp_rack_undo(struct ustcp_sock *c)
{
	struct tcp_sendmap_room *m = c->rack.map.room;
	/* The original of a resent segment arrived after all: reordering. */
	c->rack.reordering_seen = true;
	if (!m)
		return;
	/* Nothing is lost: the records marked, oldest first, were all sent
	 * before those on the sent list, and go back in front of them. */
	struct tcp_sendrec *p;
	TAILQ_FOREACH(p, &m->lost_list, by_time)
	{
		c->rack.map.visits++;
		p->flags &= ~TCP_REC_LOST;
	}
	RB_INIT(&m->lost);
	TAILQ_CONCAT(&m->lost_list, &m->sent, by_time);
	TAILQ_CONCAT(&m->sent, &m->lost_list, by_time);
	m->lost_bytes = 0;
}

void tcp_rack_recovery_done(struct ustcp_sock *c)
{
	struct tcp_rack *r = &c->rack;
	if (r->reo_wnd_persist && --r->reo_wnd_persist == 0)
		r->reo_wnd_mult = 1;
}

void tcp_rack_on_rto(struct ustcp_sock *c, bool sacked_cleared)
{
	struct tcp_sendmap *h = &c->rack.map;
	struct tcp_sendmap_room *m = h->room;
	if (!m)
		return;
	m->tlp_pending = false;
	m->reo_at = m->pto_at = 0;
	tw_cancel(&c->stack->wheel, &m->timer);
	if (!c->rack.active)
		return;
	/* §6.3: all sent before the timeout and not SACKed is lost. */
	struct tcp_sendrec *p;
	while ((p = TAILQ_FIRST(&m->sent))) {
		h->visits++;
		TAILQ_REMOVE(&m->sent, p, by_time);
		mark_lost(h, p);
	}
	if (!sacked_cleared)
		return;
	RB_FOREACH(p, tcp_sendrec_tree, &m->seq)
	{
		h->visits++;
		if (p->flags & TCP_REC_SACKED) {
			p->flags = 0;
			mark_lost(h, p);
		}
	}
}

/* ---- TLP (§7) ---- */

void tcp_tlp_schedule(struct ustcp_sock *c)
{
	struct tcp_sendmap_room *r = c->rack.map.room;
	if (!c->rack.active)
		return;
	r->pto_at = 0;
	/* §7.2: with data in flight, outside recovery, one probe at a time,
	 * and never later than the RTO would fire: the probe goes in its
	 * place (as Linux's does), and the RTO is armed again from it. */
	if (c->recovery == TCP_RECOVERY_NONE && !r->tlp_pending && c->snd_una != c->snd_max &&
	    c->snd_wnd && tw_armed(&c->t_rexmt)) {
		uint64_t pto = USTCP_NS_PER_SEC;
		if (c->srtt) {
			pto = 2 * c->srtt;
			/* One segment alone may wait for the peer's delayed ACK. */
			if (c->snd_max - c->snd_una <= c->snd_mss)
				pto += WC_DEL_ACK_T;
		}
		uint64_t at = c->stack->now + pto;
		if (at >= c->t_rexmt.expires)
			at = c->t_rexmt.expires > c->stack->now + TW_TICK_NS
				     ? c->t_rexmt.expires - TW_TICK_NS
				     : c->stack->now + 1;
		r->pto_at = at;
	}
	rack_timer_arm(c);
}

void tcp_tlp_cancel(struct ustcp_sock *c)
{
	/* Recovery answers for the probe too: its ACK must not cut the
	 * window a second time (§7.4). */
	struct tcp_sendmap_room *r = c->rack.map.room;
	if (!r)
		return;
	r->pto_at = 0;
	r->tlp_pending = false;
	rack_timer_arm(c);
}

/* §7.3: a new segment if the peer's window has room for one, else the last
 * segment sent again; then the RTO runs from the probe. */
static void tlp_send_probe(struct ustcp_sock *c)
{
	struct tcp_sendmap_room *r = c->rack.map.room;
	if (c->recovery != TCP_RECOVERY_NONE || r->tlp_pending || c->snd_una == c->snd_max ||
	    !c->snd_wnd)
		return;
	r->tlp_pending = true;
	r->tlp_is_retrans = false;
	stat_inc(c->stack, USTCP_C_tcp_tlp_probes);
	if (c->snd_nxt != c->snd_max || !tcp_send_new_segment(c)) {
		uint32_t data_end = c->snd_buf_seq + c->sndbuf.len;
		uint32_t sent_end = seq_min(c->snd_max, data_end);
		uint32_t seq = c->snd_una;
		if (seq_gt(sent_end, seq) && sent_end - seq > c->snd_mss)
			seq = sent_end - c->snd_mss;
		r->tlp_is_retrans = true;
		tcp_send_range(c, seq, seq_gt(sent_end, seq) ? sent_end - seq : 0);
	}
	r->tlp_end_seq = c->snd_max;
	tcp_rexmt_arm(c);
}

static bool sends_data(int state)
{
	return state == USTCP_ESTABLISHED || state == USTCP_CLOSE_WAIT ||
	       state == USTCP_FIN_WAIT_1 || state == USTCP_CLOSING || state == USTCP_LAST_ACK;
}

/* The reordering timer (§6.2 step 6: detect again, then recover) or the PTO. */
static void rack_fire(struct tw_timer *t, uint64_t now)
{
	struct tcp_sendmap_room *r = container_of(t, struct tcp_sendmap_room, timer);
	struct ustcp_sock *c = r->conn;
	tcp_event_begin(c);
	if (!c->rack.active || !sends_data(c->state))
		return;
	if (r->reo_at && now >= r->reo_at) {
		detect_loss(c);
		tcp_loss_check(c);
		tcp_output(c);
	}
	if (r->pto_at && now >= r->pto_at) {
		r->pto_at = 0;
		tlp_send_probe(c);
	}
	rack_timer_arm(c);
}
