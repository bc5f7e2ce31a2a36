/* timer_wheel.h — a hierarchical timer wheel with O(1) arm and cancel.
 *
 * Clock-free: time is passed in (nanoseconds). Timers are embedded in their
 * owners (use container_of to get back) and carry their own callback.
 * Slots are one tick (TW_TICK_NS) wide, but a timer fires at the first
 * tw_run() whose `now` has reached its exact expiry, never before. A timer
 * armed during tw_run() does not fire in that same run (one armed at or
 * before `now` fires at the next tw_run), so a callback cannot loop. Four levels of
 * 64 slots cover 64^4 ticks; later timers wait in the last level and are
 * cascaded down as time passes. */
#ifndef USTCP_TIMER_WHEEL_H
#define USTCP_TIMER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_TICK_NS 1000000ull /* 1 ms */
#define TW_LEVELS 4
#define TW_SLOTS 64

struct tw_timer;
typedef void (*tw_fn)(struct tw_timer *t, uint64_t now);

struct tw_timer {
	struct tw_timer *next, **pprev; /* pprev == NULL: not armed */
	uint64_t expires;               /* ns */
	tw_fn fn;
};

struct timer_wheel {
	uint64_t tick; /* ticks processed so far: every timer due before it has fired */
	size_t count;  /* timers armed */
	uint64_t occupied[TW_LEVELS]; /* bit i set: slot i of that level is not empty */
	struct tw_timer *slot[TW_LEVELS][TW_SLOTS];
};

void tw_init(struct timer_wheel *w, uint64_t now);
static inline void tw_timer_init(struct tw_timer *t, tw_fn fn)
{
	t->next = NULL;
	t->pprev = NULL;
	t->expires = 0;
	t->fn = fn;
}
static inline bool tw_armed(const struct tw_timer *t) { return t->pprev != NULL; }
/* Arm (or re-arm) t to fire at `expires`. An expiry in the past fires at the next tw_run. */
void tw_arm(struct timer_wheel *w, struct tw_timer *t, uint64_t expires);
void tw_cancel(struct timer_wheel *w, struct tw_timer *t);
/* Fire every timer whose expiry is <= now, in expiry order by tick. Callbacks may
 * arm and cancel any timer, including the one firing. */
void tw_run(struct timer_wheel *w, uint64_t now);
/* A time at or before the earliest expiry (exact for timers within 64 ticks);
 * UINT64_MAX when no timer is armed. Calling tw_run then is always safe. */
uint64_t tw_next(const struct timer_wheel *w);

#endif
