/* test_timer_wheel.c — the timer wheel: firing order and time, cancel,
 * callbacks that re-arm, far timers, tw_next, and a randomized run checked
 * against a brute-force model. */
#include "../test_main.h"

#include <stdbool.h>
#include <string.h>

#include "core/rng.h"
#include "core/timer_wheel.h"
#include "core/util.h"

#define US 1000ull
#define MS (1000 * US)
#define SEC (1000 * MS)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

/* A timer that records its firings. */
struct probe {
	struct tw_timer t;
	int id;
	int fired;
	uint64_t fired_at;
};

static int order[256];
static int norder;

static void probe_fire(struct tw_timer *t, uint64_t now)
{
	struct probe *p = container_of(t, struct probe, t);

	assert_true(t->expires <= now);
	assert_false(tw_armed(t));
	p->fired++;
	p->fired_at = now;
	if (norder < (int)ARRAY_SIZE(order))
		order[norder++] = p->id;
}

static void probes_init(struct probe *p, size_t n)
{
	memset(p, 0, n * sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		tw_timer_init(&p[i].t, probe_fire);
		p[i].id = (int)i;
	}
	norder = 0;
}

static void test_tw_empty(void **state)
{
	(void)state;
	struct timer_wheel w;

	tw_init(&w, 5 * SEC);
	assert_int_equal(w.count, 0);
	assert_int_equal(tw_next(&w), UINT64_MAX);
	tw_run(&w, 10 * SEC);
	tw_run(&w, 3 * DAY);
	assert_int_equal(tw_next(&w), UINT64_MAX);
	assert_int_equal(w.count, 0);
}

static void test_tw_fire_order(void **state)
{
	(void)state;
	static const uint64_t offs[] = {
		50 * MS,  3 * MS + 700 * US, 3 * MS + 200 * US,     2 * SEC, 500 * MS,
		1 * MS,   10 * MINUTE,       3 * MS + 200 * US + 1, 64 * MS, 63 * MS + 999 * US,
		2 * HOUR,
	};
	struct probe p[ARRAY_SIZE(offs)];
	struct timer_wheel w;
	const uint64_t t0 = 1 * SEC + 123;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, t0);
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++)
		tw_arm(&w, &p[i].t, t0 + offs[i]);
	tw_run(&w, t0 + 3 * HOUR);

	assert_int_equal(norder, ARRAY_SIZE(offs));
	for (int i = 1; i < norder; i++)
		assert_true(offs[order[i - 1]] < offs[order[i]]);
	for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
		assert_int_equal(p[i].fired, 1);
		assert_int_equal(p[i].fired_at, t0 + 3 * HOUR);
	}
	assert_int_equal(w.count, 0);
}

/* Timers of one tick fire in the order of their exact expiry. */
static void test_tw_same_tick_exact_order(void **state)
{
	(void)state;
	struct probe p[100];
	struct timer_wheel w;
	struct rng r;

	probes_init(p, ARRAY_SIZE(p));
	rng_seed(&r, 11);
	tw_init(&w, 0);
	for (size_t i = 0; i < ARRAY_SIZE(p); i++)
		tw_arm(&w, &p[i].t, 40 * MS + rng_below(&r, MS));
	tw_run(&w, 41 * MS);
	assert_int_equal(norder, ARRAY_SIZE(p));
	for (int i = 1; i < norder; i++)
		assert_true(p[order[i - 1]].t.expires <= p[order[i]].t.expires);
}

static void test_tw_never_early(void **state)
{
	(void)state;
	struct probe p[3];
	struct timer_wheel w;
	const uint64_t t0 = 5 * SEC;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, t0);
	tw_arm(&w, &p[0].t, t0 + 5 * MS + 500 * US); /* inside a tick */
	tw_arm(&w, &p[1].t, t0 + 7 * MS);            /* on a tick boundary */
	tw_arm(&w, &p[2].t, t0 + 7 * MS + 1);

	tw_run(&w, t0 + 5 * MS + 500 * US - 1);
	assert_int_equal(p[0].fired, 0);
	tw_run(&w, t0 + 5 * MS + 500 * US);
	assert_int_equal(p[0].fired, 1);

	tw_run(&w, t0 + 7 * MS - 1);
	assert_int_equal(p[1].fired, 0);
	tw_run(&w, t0 + 7 * MS);
	assert_int_equal(p[1].fired, 1);
	assert_int_equal(p[2].fired, 0);
	tw_run(&w, t0 + 7 * MS + 1);
	assert_int_equal(p[2].fired, 1);
}

/* Stepping time in small odd steps: each timer fires at the first step at or
 * past its expiry. */
static void test_tw_fires_at_first_run_past_expiry(void **state)
{
	(void)state;
	struct probe p[200];
	struct timer_wheel w;
	struct rng r;
	const uint64_t step = 137 * US;
	uint64_t now = 777 * MS + 3;

	probes_init(p, ARRAY_SIZE(p));
	rng_seed(&r, 3);
	tw_init(&w, now);
	for (size_t i = 0; i < ARRAY_SIZE(p); i++)
		tw_arm(&w, &p[i].t, now + rng_below(&r, 300 * MS));
	while (w.count > 0) {
		now += step;
		tw_run(&w, now);
		for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
			assert_int_equal(p[i].fired, p[i].t.expires <= now);
			if (p[i].fired)
				assert_true(p[i].fired_at - p[i].t.expires < step);
		}
	}
}

static void test_tw_cancel(void **state)
{
	(void)state;
	struct probe p[4];
	struct timer_wheel w;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, 0);
	tw_cancel(&w, &p[3].t); /* never armed: nothing happens */
	assert_int_equal(w.count, 0);
	tw_arm(&w, &p[0].t, 10 * MS);
	tw_arm(&w, &p[1].t, 10 * MS + 1);
	tw_arm(&w, &p[2].t, 5 * SEC);
	tw_arm(&w, &p[3].t, 2 * DAY);
	assert_int_equal(w.count, 4);

	tw_cancel(&w, &p[1].t);
	tw_cancel(&w, &p[1].t);
	tw_cancel(&w, &p[3].t);
	assert_false(tw_armed(&p[1].t));
	assert_true(tw_armed(&p[0].t));
	assert_int_equal(w.count, 2);
	assert_int_equal(tw_next(&w), 10 * MS);

	tw_run(&w, 3 * DAY);
	assert_int_equal(p[0].fired, 1);
	assert_int_equal(p[1].fired, 0);
	assert_int_equal(p[2].fired, 1);
	assert_int_equal(p[3].fired, 0);
	assert_int_equal(w.count, 0);
	assert_int_equal(tw_next(&w), UINT64_MAX);

	/* A cancelled timer can be armed again. */
	tw_arm(&w, &p[1].t, 3 * DAY + 1 * MS);
	tw_cancel(&w, &p[0].t); /* fired already: nothing happens */
	tw_run(&w, 3 * DAY + 1 * MS);
	assert_int_equal(p[1].fired, 1);
}

/* Cancelling the last timer of a slot clears it: tw_next moves on. */
static void test_tw_cancel_updates_next(void **state)
{
	(void)state;
	struct probe p[3];
	struct timer_wheel w;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, 0);
	tw_arm(&w, &p[0].t, 3 * MS + 1);
	tw_arm(&w, &p[1].t, 3 * MS + 2);
	tw_arm(&w, &p[2].t, 9 * MS);
	tw_cancel(&w, &p[0].t);
	assert_int_equal(tw_next(&w), 3 * MS + 2);
	tw_cancel(&w, &p[1].t);
	assert_int_equal(tw_next(&w), 9 * MS);
	tw_arm(&w, &p[2].t, 20 * MS); /* re-arm moves it */
	assert_int_equal(tw_next(&w), 20 * MS);
	assert_int_equal(w.count, 1);
}

struct periodic {
	struct tw_timer t;
	struct timer_wheel *w;
	uint64_t period;
	int fired;
	uint64_t last;
};

static void periodic_fire(struct tw_timer *t, uint64_t now)
{
	struct periodic *pd = container_of(t, struct periodic, t);

	assert_true(t->expires <= now);
	pd->fired++;
	pd->last = t->expires;
	tw_arm(pd->w, t, t->expires + pd->period);
}

static void test_tw_rearm_from_callback(void **state)
{
	(void)state;
	struct timer_wheel w;
	struct periodic pd = {.w = &w, .period = 10 * MS};

	tw_init(&w, 0);
	tw_timer_init(&pd.t, periodic_fire);
	tw_arm(&w, &pd.t, 10 * MS);
	for (uint64_t now = 1 * MS; now <= 1 * SEC; now += 1 * MS) {
		tw_run(&w, now);
		assert_int_equal(pd.fired, now / (10 * MS));
		assert_int_equal(w.count, 1);
		assert_int_equal(tw_next(&w), (uint64_t)(pd.fired + 1) * 10 * MS);
	}
	assert_int_equal(pd.last, 1 * SEC);

	/* One big step fires it once: the re-armed expiry lies in the past
	 * and waits for the next tw_run. */
	tw_run(&w, 2 * SEC);
	assert_int_equal(pd.fired, 101);
	assert_true(tw_next(&w) <= 2 * SEC);
}

struct rearm_past {
	struct tw_timer t;
	struct timer_wheel *w;
	int fired;
	uint64_t back; /* re-arm this long before now (0: at now) */
};

static void rearm_past_fire(struct tw_timer *t, uint64_t now)
{
	struct rearm_past *x = container_of(t, struct rearm_past, t);

	x->fired++;
	tw_arm(x->w, t, now - x->back);
}

/* A callback that keeps re-arming itself at or before now fires once per
 * tw_run, not in a loop. */
static void test_tw_rearm_past_waits_for_next_run(void **state)
{
	(void)state;
	struct timer_wheel w;
	struct rearm_past a = {.w = &w, .back = 5 * MS}, b = {.w = &w, .back = 0};

	tw_init(&w, 100 * MS);
	tw_timer_init(&a.t, rearm_past_fire);
	tw_timer_init(&b.t, rearm_past_fire);
	tw_arm(&w, &a.t, 150 * MS);
	tw_arm(&w, &b.t, 150 * MS + 500 * US);
	tw_run(&w, 200 * MS);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(tw_next(&w), 195 * MS);
	for (int i = 2; i <= 5; i++) {
		tw_run(&w, 200 * MS);
		assert_int_equal(a.fired, i);
		assert_int_equal(b.fired, i);
	}
	tw_cancel(&w, &a.t);
	tw_cancel(&w, &b.t);
	assert_int_equal(w.count, 0);
}

/* A callback that cancels, re-arms or arms other timers. */
static struct timer_wheel *cb_wheel;
static struct probe cb_p[6];

static void cb_meddle(struct tw_timer *t, uint64_t now)
{
	probe_fire(t, now);
	tw_cancel(cb_wheel, t);                      /* itself: already off the wheel */
	tw_cancel(cb_wheel, &cb_p[1].t);             /* due in this run: must not fire */
	tw_arm(cb_wheel, &cb_p[2].t, now + 10 * MS); /* due in this run: moved later */
	tw_arm(cb_wheel, &cb_p[3].t, now - 1 * MS);  /* past: fires at the next run */
	tw_arm(cb_wheel, &cb_p[4].t, now + 1);       /* just after now */
}

static void test_tw_callback_meddles(void **state)
{
	(void)state;
	struct timer_wheel w;
	const uint64_t now = 30 * MS;

	cb_wheel = &w;
	probes_init(cb_p, ARRAY_SIZE(cb_p));
	tw_init(&w, 0);
	cb_p[0].t.fn = cb_meddle;
	tw_arm(&w, &cb_p[0].t, 10 * MS);
	tw_arm(&w, &cb_p[1].t, 20 * MS);
	tw_arm(&w, &cb_p[2].t, 20 * MS + 1);
	tw_arm(&w, &cb_p[5].t, 25 * MS);
	tw_run(&w, now);
	assert_int_equal(cb_p[0].fired, 1);
	assert_int_equal(cb_p[1].fired, 0);
	assert_int_equal(cb_p[2].fired, 0);
	assert_int_equal(cb_p[3].fired, 0);
	assert_int_equal(cb_p[4].fired, 0);
	assert_int_equal(cb_p[5].fired, 1);
	assert_int_equal(w.count, 3);
	assert_int_equal(tw_next(&w), now - 1 * MS);

	tw_run(&w, now);
	assert_int_equal(cb_p[3].fired, 1);
	assert_int_equal(cb_p[4].fired, 0);
	tw_run(&w, now + 1);
	assert_int_equal(cb_p[4].fired, 1);
	assert_int_equal(tw_next(&w), now + 10 * MS);
	tw_run(&w, now + 10 * MS);
	assert_int_equal(cb_p[2].fired, 1);
	assert_int_equal(w.count, 0);
}

static const uint64_t far_offs[] = {
	1 * HOUR,
	4 * HOUR + 30 * MINUTE,
	4 * HOUR + 40 * MINUTE,
	5 * HOUR + 1,
	1 * DAY + 1 * MS + 500 * US,
	3 * DAY,
	30 * DAY + 7,
	400 * DAY + 3 * MS,
	2 * HOUR + 300 * US,
	262144 * MS,
	16777216 * MS,
	16777216 * MS * 3 + 1,
};

/* Far timers (hours to a year) cascade down and fire at the right time,
 * with the wheel walked in coarse steps. */
static void test_tw_far_future_stepped(void **state)
{
	(void)state;
	struct probe p[ARRAY_SIZE(far_offs)];
	struct timer_wheel w;
	const uint64_t t0 = 17 * DAY + 123456789;
	const uint64_t step = 1 * MINUTE + 7 * MS + 11;
	uint64_t now = t0, prev = t0;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, t0);
	for (size_t i = 0; i < ARRAY_SIZE(p); i++)
		tw_arm(&w, &p[i].t, t0 + far_offs[i]);
	while (now < t0 + 31 * DAY) {
		prev = now;
		now += step;
		tw_run(&w, now);
		for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
			uint64_t e = p[i].t.expires;
			assert_int_equal(p[i].fired, e <= now);
			if (e > prev && e <= now)
				assert_int_equal(p[i].fired_at, now);
		}
		assert_true(tw_next(&w) > now || w.count == 0);
	}
	assert_int_equal(w.count, 1);
	tw_run(&w, t0 + 400 * DAY + 3 * MS - 1);
	assert_int_equal(p[7].fired, 0);
	tw_run(&w, t0 + 400 * DAY + 3 * MS);
	assert_int_equal(p[7].fired, 1);
}

/* One far timer among near ones: a run just before its expiry leaves it,
 * a run at its expiry fires it, from any starting point. */
static void test_tw_far_future_exact(void **state)
{
	(void)state;
	static const uint64_t starts[] = {
		0, 63 * MS, 64 * MS - 1, 4095 * MS + 999999, 1 * DAY + 17, 16777216 * MS - 1};
	for (size_t s = 0; s < ARRAY_SIZE(starts); s++) {
		for (size_t i = 0; i < ARRAY_SIZE(far_offs); i++) {
			struct probe p[3];
			struct timer_wheel w;
			uint64_t t0 = starts[s], e = t0 + far_offs[i];

			probes_init(p, ARRAY_SIZE(p));
			tw_init(&w, t0);
			tw_arm(&w, &p[0].t, e);
			tw_arm(&w, &p[1].t, t0 + 2 * MS);
			tw_arm(&w, &p[2].t, e + 1);
			tw_run(&w, t0 + 5 * MS);
			assert_int_equal(p[1].fired, 1);
			tw_run(&w, e - 1);
			assert_int_equal(p[0].fired, 0);
			assert_int_equal(tw_next(&w), e); /* now within 64 ticks */
			tw_run(&w, e);
			assert_int_equal(p[0].fired, 1);
			assert_int_equal(p[2].fired, 0);
			assert_int_equal(tw_next(&w), e + 1);
			tw_run(&w, e + 1);
			assert_int_equal(p[2].fired, 1);
		}
	}
}

/* Driving the wheel as an event loop does (sleep until tw_next, then run)
 * reaches a far timer in a few steps and never fires it early. Past the
 * wheel's span (2^24 ticks, about 4.6 hours) it wakes once per span. */
static void test_tw_next_event_loop(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(far_offs); i++) {
		struct probe p[1];
		struct timer_wheel w;
		const uint64_t t0 = 12345 * MS + 678;
		int steps = 0, max_steps = 16 + (int)(far_offs[i] / (16777216 * MS));

		probes_init(p, 1);
		tw_init(&w, t0);
		tw_arm(&w, &p[0].t, t0 + far_offs[i]);
		uint64_t prev = t0;
		while (!p[0].fired) {
			uint64_t nx = tw_next(&w);
			assert_true(nx <= t0 + far_offs[i]);
			assert_true(nx > prev || steps == 0);
			prev = nx;
			tw_run(&w, nx);
			assert_true(++steps <= max_steps);
		}
		assert_int_equal(p[0].fired_at, t0 + far_offs[i]);
	}
}

static void test_tw_next_exact_near(void **state)
{
	(void)state;
	struct probe p[4];
	struct timer_wheel w;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, 10 * MS + 5);
	tw_arm(&w, &p[0].t, 47 * MS + 250 * US);
	assert_int_equal(tw_next(&w), 47 * MS + 250 * US);
	tw_arm(&w, &p[1].t, 20 * MS + 1);
	assert_int_equal(tw_next(&w), 20 * MS + 1);
	tw_cancel(&w, &p[1].t);
	assert_int_equal(tw_next(&w), 47 * MS + 250 * US);
	tw_cancel(&w, &p[0].t);

	/* Far: a bound at or before the expiry... */
	tw_arm(&w, &p[2].t, 100 * MS + 500 * US);
	tw_arm(&w, &p[3].t, 10 * SEC + 3);
	assert_true(tw_next(&w) <= 100 * MS + 500 * US);
	tw_cancel(&w, &p[2].t);
	assert_true(tw_next(&w) <= 10 * SEC + 3);
	assert_true(tw_next(&w) > 10 * MS + 5);
	/* ... which becomes exact once it is within 64 ticks, whichever level
	 * the timer still sits in. */
	tw_run(&w, 9 * SEC + 950 * MS);
	assert_int_equal(tw_next(&w), 10 * SEC + 3);
	tw_run(&w, 10 * SEC);
	assert_int_equal(tw_next(&w), 10 * SEC + 3);
	/* In the current tick, after a run that left it. */
	tw_run(&w, 10 * SEC + 2);
	assert_int_equal(p[3].fired, 0);
	assert_int_equal(tw_next(&w), 10 * SEC + 3);
}

/* A top-level slot that holds only a parked timer comes up just before a
 * nearer timer in the next slot: tw_next must still bound the nearer one. */
static void test_tw_next_parked_slot(void **state)
{
	(void)state;
	struct probe p[2];
	struct timer_wheel w;
	const uint64_t span = 16777216 * MS; /* 2^24 ticks */
	const uint64_t near = span + 262144 * MS + 5 * MS;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, 0);
	tw_arm(&w, &p[0].t, 2 * span); /* parks */
	tw_run(&w, span - 20 * MS);
	tw_arm(&w, &p[1].t, near);
	assert_true(tw_next(&w) <= near);
	while (!p[1].fired) {
		assert_int_equal(p[0].fired, 0);
		tw_run(&w, tw_next(&w));
	}
	assert_int_equal(p[1].fired_at, near);
	assert_true(tw_next(&w) <= 2 * span);
}

static void test_tw_past_expiry(void **state)
{
	(void)state;
	struct probe p[2];
	struct timer_wheel w;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, 1 * SEC);
	tw_arm(&w, &p[0].t, 0);
	tw_arm(&w, &p[1].t, 1 * SEC - 1);
	assert_int_equal(tw_next(&w), 0);
	tw_run(&w, 1 * SEC);
	assert_int_equal(p[0].fired, 1);
	assert_int_equal(p[1].fired, 1);
	assert_int_equal(order[0], 0);

	/* Armed for a time already passed after a run: fires at the next run,
	 * even one given the same now. */
	tw_arm(&w, &p[0].t, 500 * MS);
	tw_run(&w, 1 * SEC);
	assert_int_equal(p[0].fired, 2);
}

static void test_tw_count(void **state)
{
	(void)state;
	struct probe p[10];
	struct timer_wheel w;

	probes_init(p, ARRAY_SIZE(p));
	tw_init(&w, 0);
	for (size_t i = 0; i < ARRAY_SIZE(p); i++)
		tw_arm(&w, &p[i].t, (i + 1) * 100 * MS);
	assert_int_equal(w.count, 10);
	tw_arm(&w, &p[0].t, 50 * MS); /* re-arming does not count twice */
	assert_int_equal(w.count, 10);
	tw_cancel(&w, &p[9].t);
	tw_cancel(&w, &p[8].t);
	tw_cancel(&w, &p[7].t);
	assert_int_equal(w.count, 7);
	tw_run(&w, 400 * MS);
	assert_int_equal(norder, 4);
	assert_int_equal(w.count, 3);
	tw_run(&w, 1 * HOUR);
	assert_int_equal(w.count, 0);
	for (size_t i = 0; i < ARRAY_SIZE(p); i++)
		assert_int_equal(p[i].fired, i < 7 ? 1 : 0);
}

/* ---- randomized comparison against a brute-force model ---- */

#define NRAND 256

struct rtimer {
	struct tw_timer t;
	bool armed; /* the model's view */
	bool due;   /* must fire in the tw_run under way */
	uint64_t expires;
};

static struct {
	struct timer_wheel w;
	struct rtimer tm[NRAND];
	struct rng rng;
	uint64_t now;
	uint64_t last_fired;
	size_t armed;
	unsigned long fires;
} R;

static uint64_t random_delay(void)
{
	struct rng *r = &R.rng;

	switch (rng_below(r, 9)) {
	case 0:
		return 0;
	case 1:
		return rng_below(r, 3 * MS);
	case 2:
		return rng_below(r, 70 * MS);
	case 3:
		return rng_below(r, 5 * SEC);
	case 4:
		return rng_below(r, 5 * MINUTE);
	case 5:
		return rng_below(r, 6 * HOUR);
	case 6:
		return rng_below(r, 10 * DAY);
	case 7:
		return rng_below(r, 100) * (MS << (6 * rng_below(r, 4))); /* block starts */
	default:
		return rng_below(r, 1000) * MS;
	}
}

static uint64_t random_expiry(void)
{
	if (rng_below(&R.rng, 10) == 0)
		return R.now - MIN(R.now, rng_below(&R.rng, 50 * MS));
	return R.now + random_delay();
}

static void model_arm(struct rtimer *x, uint64_t expires)
{
	if (!x->armed)
		R.armed++;
	x->armed = true;
	x->due = false; /* armed during a run: waits for a later one */
	x->expires = expires;
	tw_arm(&R.w, &x->t, expires);
}

static void model_cancel(struct rtimer *x)
{
	if (x->armed)
		R.armed--;
	x->armed = false;
	x->due = false;
	tw_cancel(&R.w, &x->t);
}

static void random_fire(struct tw_timer *t, uint64_t now)
{
	struct rtimer *x = container_of(t, struct rtimer, t);

	assert_int_equal(now, R.now);
	assert_true(x->armed);
	assert_true(x->due);
	assert_true(x->expires <= now);
	assert_true(x->expires >= R.last_fired);
	assert_false(tw_armed(t));
	R.last_fired = x->expires;
	x->armed = false;
	x->due = false;
	R.armed--;
	R.fires++;

	switch (rng_below(&R.rng, 6)) {
	case 0:
		model_arm(x, random_expiry());
		break;
	case 1:
		model_cancel(&R.tm[rng_below(&R.rng, NRAND)]);
		break;
	case 2:
		model_arm(&R.tm[rng_below(&R.rng, NRAND)], random_expiry());
		break;
	default:
		break;
	}
}

static void random_check(void)
{
	uint64_t min = UINT64_MAX;

	assert_int_equal(R.w.count, R.armed);
	for (size_t i = 0; i < NRAND; i++) {
		assert_int_equal(tw_armed(&R.tm[i].t), R.tm[i].armed);
		if (R.tm[i].armed && R.tm[i].expires < min)
			min = R.tm[i].expires;
	}
	uint64_t next = tw_next(&R.w);
	assert_true(next <= min);
	if (min / MS < R.w.tick + 64)
		assert_int_equal(next, min);
}

static void random_run(uint64_t now)
{
	R.now = now;
	R.last_fired = 0;
	for (size_t i = 0; i < NRAND; i++)
		R.tm[i].due = R.tm[i].armed && R.tm[i].expires <= now;
	tw_run(&R.w, now);
	for (size_t i = 0; i < NRAND; i++)
		assert_false(R.tm[i].due); /* every due timer fired */
}

/* The time of the next run: mostly small steps, now and then a big one. */
static uint64_t random_advance(void)
{
	struct rng *r = &R.rng;
	uint64_t now = R.now;

	switch (rng_below(r, 9)) {
	case 0:
		return now;
	case 1:
		return now + rng_below(r, MS);
	case 2:
		return now + rng_below(r, 5 * MS);
	case 3:
		return now + rng_below(r, 100 * MS);
	case 4:
		return now + rng_below(r, 10 * SEC);
	case 5:
		return now + rng_below(r, 10 * MINUTE);
	case 6:
		return rng_below(r, 8) == 0 ? now + rng_below(r, 2 * DAY) : now;
	default: {
		/* As an event loop would: straight to the next deadline. */
		uint64_t next = tw_next(&R.w);
		return next != UINT64_MAX && next > now ? next : now;
	}
	}
}

static void random_against_model(uint64_t seed)
{
	memset(&R, 0, sizeof(R));
	rng_seed(&R.rng, seed);
	R.now = 3 * DAY + 7 * MS + 1234;
	tw_init(&R.w, R.now);
	for (size_t i = 0; i < NRAND; i++)
		tw_timer_init(&R.tm[i].t, random_fire);

	for (int op = 0; op < 40000; op++) {
		struct rtimer *x = &R.tm[rng_below(&R.rng, NRAND)];
		uint64_t r = rng_below(&R.rng, 100);
		if (r < 45) {
			model_arm(x, random_expiry());
		} else if (r < 60) {
			model_cancel(x);
		} else {
			random_run(random_advance());
		}
		random_check();
	}
	assert_true(R.fires > 10000);
}

static void test_tw_random_against_model(void **state)
{
	(void)state;
	static const uint64_t seeds[] = {20240601, 110866, 324679, 7};

	for (size_t i = 0; i < ARRAY_SIZE(seeds); i++)
		random_against_model(seeds[i]);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_tw_empty),
	cmocka_unit_test(test_tw_fire_order),
	cmocka_unit_test(test_tw_same_tick_exact_order),
	cmocka_unit_test(test_tw_never_early),
	cmocka_unit_test(test_tw_fires_at_first_run_past_expiry),
	cmocka_unit_test(test_tw_cancel),
	cmocka_unit_test(test_tw_cancel_updates_next),
	cmocka_unit_test(test_tw_rearm_from_callback),
	cmocka_unit_test(test_tw_rearm_past_waits_for_next_run),
	cmocka_unit_test(test_tw_callback_meddles),
	cmocka_unit_test(test_tw_far_future_stepped),
	cmocka_unit_test(test_tw_far_future_exact),
	cmocka_unit_test(test_tw_next_event_loop),
	cmocka_unit_test(test_tw_next_exact_near),
	cmocka_unit_test(test_tw_next_parked_slot),
	cmocka_unit_test(test_tw_past_expiry),
	cmocka_unit_test(test_tw_count),
	cmocka_unit_test(test_tw_random_against_model),
};

USTCP_TEST_MAIN(tests)
