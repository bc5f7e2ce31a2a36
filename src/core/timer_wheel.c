/* timer_wheel.c — the hierarchical timer wheel behind every stack timer.
 *
 * Time is counted in ticks of TW_TICK_NS. A timer's tick is expires / tick,
 * and w->tick is the tick the wheel stands at: every timer of an earlier
 * tick has fired, timers of the current tick fire as soon as tw_run is given
 * a `now` at or past their exact expiry.
 *
 * Level 0 holds the timers of the 64 ticks [tick, tick + 64), one slot per
 * tick. Level l (1..3) holds timers by block of 64^l ticks: a timer goes to
 * the lowest level whose window of 63 blocks after the current one reaches
 * it, in slot (timer tick >> 6l) & 63. When the wheel reaches the start of a
 * block, that block's slot is emptied and its timers placed again, which
 * moves them one level (or more) down; by then every one of them is in
 * reach of the level below. Arm and cancel touch one slot list each; a run
 * visits only occupied slots and block starts, found from the bitmaps, so
 * a jump of hours costs a handful of steps rather than one per tick.
 *
 * Timers more than 63 top-level blocks (about 4.6 hours) away park in the
 * top level's current slot, the one slot no in-window block uses. The
 * wheel comes back to that slot 64 blocks later, no later than any parked
 * timer is due, and places them again then.
 *
 * tw_run first moves the wheel up to `now` and collects the due timers,
 * then sorts them by expiry and calls them. Callbacks therefore always see
 * a wheel that stands at `now`: a timer they arm for a time at or before
 * `now` lands in the current tick and fires at the next tw_run, so a
 * callback that re-arms itself into the past cannot keep one tw_run going.
 * A timer armed during tw_run never fires in that same tw_run. */
#include "core/timer_wheel.h"

#include "core/util.h"

#define TW_BITS 6 /* log2(TW_SLOTS) */
#define TW_MASK ((uint64_t)TW_SLOTS - 1)

_Static_assert(TW_SLOTS == 1 << TW_BITS, "slot count must match TW_BITS");
_Static_assert(TW_SLOTS == 64, "a level's occupancy is one uint64_t bitmap");

static unsigned ctz64(uint64_t x) { return (unsigned)__builtin_ctzll(x); }

/* Bit i of the result is bit (i + r) % 64 of x: slots in order from slot r. */
static uint64_t rotr64(uint64_t x, unsigned r)
{
	r &= 63;
	return r ? (x >> r) | (x << (64 - r)) : x;
}

static uint64_t level_shift(int level) { return (uint64_t)TW_BITS * (uint64_t)level; }

/* The tick a timer belongs to; never before the wheel's current tick, so a
 * timer armed in the past waits in the current slot. */
static uint64_t timer_tick(const struct timer_wheel *w, const struct tw_timer *t)
{
	uint64_t k = t->expires / TW_TICK_NS;
	return k < w->tick ? w->tick : k;
}

static void slot_push(struct timer_wheel *w, int level, unsigned slot, struct tw_timer *t)
{
	struct tw_timer **head = &w->slot[level][slot];

	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	*head = t;
	t->pprev = head;
	w->occupied[level] |= 1ull << slot;
}

/* Put t where it belongs relative to the current tick. */
static void place(struct timer_wheel *w, struct tw_timer *t)
{
	uint64_t k = timer_tick(w, t);

	for (int level = 0; level < TW_LEVELS; level++) {
		uint64_t sh = level_shift(level);
		if ((k >> sh) - (w->tick >> sh) < TW_SLOTS) {
			slot_push(w, level, (unsigned)((k >> sh) & TW_MASK), t);
			return;
		}
	}
	/* Beyond the top level's window: park in its current slot. */
	uint64_t sh = level_shift(TW_LEVELS - 1);
	slot_push(w, TW_LEVELS - 1, (unsigned)((w->tick >> sh) & TW_MASK), t);
}

/* Take t off whatever list holds it (a slot or tw_run's due list). When it
 * was the last of a slot, clear that slot's bit: pprev then points at the
 * slot head itself, which is how the slot is found in O(1). */
static void unlink_timer(struct timer_wheel *w, struct tw_timer *t)
{
	*t->pprev = t->next;
	if (t->next) {
		t->next->pprev = t->pprev;
	} else {
		uintptr_t p = (uintptr_t)t->pprev;
		uintptr_t base = (uintptr_t)&w->slot[0][0];
		if (p - base < sizeof(w->slot)) {
			size_t i = (p - base) / sizeof(w->slot[0][0]);
			w->occupied[i / TW_SLOTS] &= ~(1ull << (i % TW_SLOTS));
		}
	}
	t->next = NULL;
	t->pprev = NULL;
}

void tw_init(struct timer_wheel *w, uint64_t now)
{
	*w = (struct timer_wheel){0};
	w->tick = now / TW_TICK_NS;
}

void tw_arm(struct timer_wheel *w, struct tw_timer *t, uint64_t expires)
{
	if (tw_armed(t))
		unlink_timer(w, t);
	else
		w->count++;
	t->expires = expires;
	place(w, t);
}

void tw_cancel(struct timer_wheel *w, struct tw_timer *t)
{
	if (!tw_armed(t))
		return;
	unlink_timer(w, t);
	w->count--;
}

/* The tick, at or after the current one, at which `level` next needs the
 * wheel's attention: a level-0 slot to fire, or a higher slot whose block
 * starts and must be placed again. `skip` passes over that many occupied
 * slots first. UINT64_MAX when there is no such slot. */
static uint64_t level_tick(const struct timer_wheel *w, int level, unsigned skip)
{
	uint64_t sh = level_shift(level);
	uint64_t cur = (w->tick >> sh) & TW_MASK;
	/* A higher level's current slot is empty once its block has started,
	 * except for parked timers: it counts as 64 blocks ahead. */
	unsigned from = (unsigned)(level == 0 ? cur : cur + 1);
	uint64_t r = rotr64(w->occupied[level], from);

	while (skip-- > 0 && r)
		r &= r - 1;
	if (!r)
		return UINT64_MAX;
	uint64_t d = ctz64(r) + (level == 0 ? 0 : 1);
	return ((w->tick >> sh) + d) << sh;
}

static uint64_t next_tick(const struct timer_wheel *w)
{
	uint64_t best = UINT64_MAX;

	for (int level = 0; level < TW_LEVELS; level++) {
		uint64_t t = level_tick(w, level, 0);
		if (t < best)
			best = t;
	}
	return best;
}

/* Move the wheel to tick t (no timer or block start lies in between) and
 * place again the timers of every block that starts at t, top level first. */
static void advance(struct timer_wheel *w, uint64_t t)
{
	w->tick = t;
	for (int level = TW_LEVELS - 1; level > 0; level--) {
		uint64_t sh = level_shift(level);
		if (t & ((1ull << sh) - 1))
			continue;
		unsigned s = (unsigned)((t >> sh) & TW_MASK);
		struct tw_timer *list = w->slot[level][s];
		if (!list)
			continue;
		w->slot[level][s] = NULL;
		w->occupied[level] &= ~(1ull << s);
		while (list) {
			struct tw_timer *next = list->next;
			place(w, list);
			list = next;
		}
	}
}

/* The due list: the timers tw_run will fire, in the order collected. */
struct due {
	struct tw_timer *head, **tail;
};

static void due_append(struct due *d, struct tw_timer *t)
{
	t->next = NULL;
	t->pprev = d->tail;
	*d->tail = t;
	d->tail = &t->next;
}

/* Move the timers of the current tick's slot to the due list: all of them,
 * or with `only_due` those whose expiry is <= now. */
static void collect_slot(struct timer_wheel *w, struct due *d, bool only_due, uint64_t now)
{
	unsigned s = (unsigned)(w->tick & TW_MASK);
	struct tw_timer *t = w->slot[0][s];

	while (t) {
		struct tw_timer *next = t->next;
		if (!only_due || t->expires <= now) {
			unlink_timer(w, t);
			due_append(d, t);
		}
		t = next;
	}
}

/* Stable merge sort of a list by expiry, so timers of one tick fire in the
 * order of their exact expiry. pprev links are rebuilt after. */
static struct tw_timer *merge(struct tw_timer *a, struct tw_timer *b)
{
	struct tw_timer *head = NULL, **tail = &head;

	while (a && b) {
		if (b->expires < a->expires) {
			*tail = b;
			b = b->next;
		} else {
			*tail = a;
			a = a->next;
		}
		tail = &(*tail)->next;
	}
	*tail = a ? a : b;
	return head;
}

static struct tw_timer *sort_by_expiry(struct tw_timer *list)
{
	if (!list || !list->next)
		return list;
	struct tw_timer *slow = list, *fast = list->next;
	while (fast && fast->next) {
		slow = slow->next;
		fast = fast->next->next;
	}
	struct tw_timer *second = slow->next;
	slow->next = NULL;
	return merge(sort_by_expiry(list), sort_by_expiry(second));
}

void tw_run(struct timer_wheel *w, uint64_t now)
{
	uint64_t n = now / TW_TICK_NS;
	struct due d = {NULL, &d.head};

	while (w->tick < n) {
		uint64_t t = next_tick(w);
		if (t > n)
			t = n;
		if (t > w->tick)
			advance(w, t);
		if (w->tick == n)
			break;
		/* A whole tick before now's: every timer in it is due. */
		collect_slot(w, &d, false, now);
		advance(w, w->tick + 1);
	}
	collect_slot(w, &d, true, now);

	d.head = sort_by_expiry(d.head);
	for (struct tw_timer **pp = &d.head; *pp; pp = &(*pp)->next)
		(*pp)->pprev = pp;

	/* Callbacks may cancel or re-arm timers still on the due list; both
	 * take them off it through pprev, so they are not fired. */
	while (d.head) {
		struct tw_timer *t = d.head;
		unlink_timer(w, t);
		w->count--;
		t->fn(t, now);
	}
}

static uint64_t tick_to_ns(uint64_t k)
{
	return k > UINT64_MAX / TW_TICK_NS ? UINT64_MAX : k * TW_TICK_NS;
}

/* The smallest expiry in one slot (the slot is not empty). */
static uint64_t slot_min(const struct tw_timer *t)
{
	uint64_t m = t->expires;

	for (t = t->next; t; t = t->next)
		if (t->expires < m)
			m = t->expires;
	return m;
}

uint64_t tw_next(const struct timer_wheel *w)
{
	uint64_t best = UINT64_MAX;

	for (int level = 0; level < TW_LEVELS; level++) {
		uint64_t k = level_tick(w, level, 0);
		if (k == UINT64_MAX || tick_to_ns(k) >= best)
			continue;
		/* Within a level, the first slot in wheel order holds its
		 * earliest timer, parked ones aside. Its exact expiry is read
		 * when that slot can hold a timer less than 64 ticks away
		 * (always so at level 0); for farther slots, their start is a
		 * close enough bound and costs no walk over a possibly long
		 * list. */
		if (level == 0 || k < w->tick + TW_SLOTS) {
			uint64_t sh = level_shift(level);
			unsigned s = (unsigned)((k >> sh) & TW_MASK);
			uint64_t m = slot_min(w->slot[level][s]);
			/* That slot may hold only parked timers, later than
			 * the rest of its level: the next slot bounds those. */
			if (level > 0)
				m = MIN(m, tick_to_ns(level_tick(w, level, 1)));
			if (m < best)
				best = m;
		} else {
			best = tick_to_ns(k);
		}
	}
	return best;
}
