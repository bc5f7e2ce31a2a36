/* runtime.c — the event loop that binds one stack to its TAP devices.
 *
 * One epoll instance watches the TAP devices, the tools' file descriptors
 * and one timerfd (CLOCK_MONOTONIC, absolute) armed at the earliest of the
 * stack's deadline and the next frame the impairment layer holds back. Each
 * turn: wait, read the clock, poll the stack (its clock follows the loop's),
 * read up to RX_BATCH frames per ready device into ustcp_input, call the
 * tools' callbacks, deliver the delayed frames that are due, run the stack's
 * due timers, then the turn function.
 *
 * Offloads: with the vnet header and no impairments, the stack is offered
 * partial checksums and TSO (USTCP_OFFLOAD_*), which the kernel finishes,
 * and takes the kernel's partial checksums and (with TSO) segments of up
 * to 64 KiB as trusted (USTCP_RX_CSUM_OK): no checksum is computed on
 * either side of the device and a 64 KiB segment costs one system call.
 *
 * Impairments: every frame, out (stack to device) and in (device to stack),
 * goes through its direction's impair_state and then the delay queue, which
 * releases copies in time order; without impairments frames go straight
 * through. The impairments act on wire-sized frames, so an impaired device
 * offers no offloads to the stack and asks the kernel for no TSO; a frame
 * from the kernel that is corrupted on its way in gets its checksum
 * completed first, so the flipped bit is caught as on a real wire.
 * A write the device refuses (-EAGAIN: its queue is full) is
 * counted and dropped: TCP retransmits it, as it would after a loss on the
 * wire, and no frame waits behind it. */
#define _GNU_SOURCE

#include "ustcp/runtime.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include "core/util.h"
#include "runtime/control.h"
#include "runtime/link_tap.h"
#include "runtime/runtime_int.h"
#include "sim/delay_queue.h"
#include "sim/impair.h"
#include "ustcp/trace.h"
#include "ustcp/ustcp.h"

#define MAX_TAPS 8
#define RX_BATCH 64   /* frames read from one device per turn */
#define MAX_EVENTS 64 /* epoll events taken per wait */
/* The impairment layer may hold back this many bytes (delay x rate). */
#define DELAY_QUEUE_BYTES (64u * 1024 * 1024)
/* Delayed frames delivered per drain, so a turn stays short. */
#define DRAIN_MAX 4096
/* A stack whose deadline is still due right after a poll waits for nothing
 * the loop can give it: wake it again only this much later. */
#define STUCK_RETRY_NS USTCP_NS_PER_MS
/* How long to wait for the kernel's side of a TAP device to come up. */
#define RUNNING_WAIT_MS 1000

enum { DIR_OUT = 0, DIR_IN = 1 };
enum { SRC_TAP = 1, SRC_TIMER, SRC_WATCH, SRC_KICK };

struct rt_tap {
	struct ustcp_runtime *rt;
	struct tap_dev dev;
	int iface;
	bool impaired;
	struct impair_state imp[2]; /* DIR_OUT, DIR_IN */
	struct ustcp_pcap *pcap;
	uint64_t rx_frames, tx_frames, tx_dropped, delay_drops;
	uint64_t rx_csum_trusted, rx_csum_completed, rx_gso, tx_gso;
};

struct rt_watch {
	int fd;
	uint32_t events;
	ustcp_fd_fn fn;
	void *ctx;
};

struct ustcp_runtime {
	struct ustcp_stack *s;
	int epfd, tfd;
	int kickfd; /* an eventfd another thread writes to wake the loop (stop) */
	/* With a host, the loop holds the stack's lock but while it waits. */
	void (*lock)(void *ctx);
	void (*unlock)(void *ctx);
	void *lock_ctx;
	uint64_t now;
	int64_t wall_offset; /* CLOCK_REALTIME - CLOCK_MONOTONIC, for pcap times */
	uint64_t armed;      /* when the timerfd fires; UINT64_MAX: disarmed */
	bool stuck;          /* the stack stayed due after the poll at stuck_at */
	uint64_t stuck_at;
	bool stopped;
	struct rt_tap *taps[MAX_TAPS];
	int ntaps;
	struct rt_watch *watches;
	size_t nwatches, cap_watches;
	struct delay_queue dq;
	ustcp_turn_fn turn_fn;
	void *turn_ctx;
	struct control *control; /* ustcp netstat's way in (control.h) */
	bool control_off;        /* not wanted, or it could not be opened */
	uint8_t rxbuf[TAP_BUF_SIZE];
	char err[256];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * USTCP_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static uint64_t epoll_key(int kind, uint32_t index) { return (uint64_t)kind << 32 | index; }

__attribute__((format(printf, 2, 3))) static void set_error(struct ustcp_runtime *rt,
							    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rt->err, sizeof(rt->err), fmt, ap);
	va_end(ap);
}

/* ---- setup ---- */

struct ustcp_runtime *ustcp_runtime_new(struct ustcp_stack *s)
{
	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	struct ustcp_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return NULL;
	rt->s = s;
	rt->tfd = -1;
	rt->kickfd = -1;
	rt->armed = UINT64_MAX;
	dq_init(&rt->dq, DELAY_QUEUE_BYTES);
	rt->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rt->epfd >= 0)
		rt->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rt->tfd >= 0)
		rt->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rt->epfd < 0 || rt->tfd < 0 || rt->kickfd < 0) {
		int e = errno;
		ustcp_runtime_free(rt);
		errno = e;
		return NULL;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = epoll_key(SRC_TIMER, 0)};
	struct epoll_event kev = {.events = EPOLLIN, .data.u64 = epoll_key(SRC_KICK, 0)};
	if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, rt->tfd, &ev) < 0 ||
	    epoll_ctl(rt->epfd, EPOLL_CTL_ADD, rt->kickfd, &kev) < 0) {
		int e = errno;
		ustcp_runtime_free(rt);
		errno = e;
		return NULL;
	}
	rt->now = clock_ns(CLOCK_MONOTONIC);
	rt->wall_offset = (int64_t)(clock_ns(CLOCK_REALTIME) - rt->now);
	/* User calls made before the first run happen now, not at time 0. */
	ustcp_stack_poll(s, rt->now);
	return rt;
}

void ustcp_runtime_free(struct ustcp_runtime *rt)
{
	if (!rt)
		return;
	control_close(rt->control);
	for (int i = 0; i < rt->ntaps; i++) {
		tap_close(&rt->taps[i]->dev);
		ustcp_pcap_close(rt->taps[i]->pcap);
		free(rt->taps[i]);
	}
	dq_free(&rt->dq);
	free(rt->watches);
	if (rt->tfd >= 0)
		close(rt->tfd);
	if (rt->kickfd >= 0)
		close(rt->kickfd);
	if (rt->epfd >= 0)
		close(rt->epfd);
	free(rt);
}

const char *ustcp_runtime_error(const struct ustcp_runtime *rt) { return rt->err; }

uint64_t ustcp_runtime_now(const struct ustcp_runtime *rt) { return rt->now; }

void ustcp_runtime_stop(struct ustcp_runtime *rt)
{
	__atomic_store_n(&rt->stopped, true, __ATOMIC_RELEASE);
	uint64_t one = 1;
	/* From another thread the loop may be asleep: wake it. */
	if (write(rt->kickfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return; /* the counter is full: the loop is woken already */
}

static bool stopped(const struct ustcp_runtime *rt)
{
	return __atomic_load_n(&rt->stopped, __ATOMIC_ACQUIRE);
}

void runtime_set_lock(struct ustcp_runtime *rt, void (*lock)(void *), void (*unlock)(void *),
		      void *ctx)
{
	rt->lock = lock;
	rt->unlock = unlock;
	rt->lock_ctx = ctx;
}

static void rt_lock(struct ustcp_runtime *rt)
{
	if (rt->lock)
		rt->lock(rt->lock_ctx);
}

static void rt_unlock(struct ustcp_runtime *rt)
{
	if (rt->unlock)
		rt->unlock(rt->lock_ctx);
}

void ustcp_runtime_set_turn(struct ustcp_runtime *rt, ustcp_turn_fn fn, void *ctx)
{
	rt->turn_fn = fn;
	rt->turn_ctx = ctx;
}

/* ---- frames ---- */

static uint64_t wall(const struct ustcp_runtime *rt, uint64_t mono)
{
	return (uint64_t)((int64_t)mono + rt->wall_offset);
}

static int device_write(struct rt_tap *t, const uint8_t *frame, size_t len,
			const struct ustcp_tx_meta *meta)
{
	int rc = tap_write(&t->dev, frame, len, meta);
	if (rc < 0) {
		t->tx_dropped++;
		return rc;
	}
	t->tx_frames++;
	if (meta && meta->gso_size)
		t->tx_gso++;
	return 0;
}

static void stack_input(struct rt_tap *t, const uint8_t *frame, size_t len, unsigned flags)
{
	struct ustcp_runtime *rt = t->rt;
	if (t->pcap)
		ustcp_pcap_write(t->pcap, wall(rt, rt->now), frame, len);
	ustcp_input_flags(rt->s, t->iface, frame, len, rt->now, flags);
}

/* Decides the frame's fate in direction dir and queues its copies. rx is
 * what the device said of a frame coming in (NULL going out). */
static void impair_frame(struct rt_tap *t, int dir, uint64_t now, const uint8_t *frame, size_t len,
			 const struct tap_rx *rx)
{
	struct ustcp_runtime *rt = t->rt;
	struct impair_delivery dv[2];
	int n = impair_decide(&t->imp[dir], now, len, dv);
	for (int i = 0; i < n; i++) {
		unsigned flags = rx && rx->csum_ok ? USTCP_RX_CSUM_OK : 0;
		if (dv[i].corrupt)
			flags = 0; /* the stack must see the damage */
		struct dq_frame *f = dq_push(&rt->dq, dv[i].time, t, dir, flags, frame, len);
		if (!f) {
			t->delay_drops++;
			continue;
		}
		if (dv[i].corrupt && rx && rx->csum_partial) {
			tap_complete_csum(f->data, len, rx->csum_start, rx->csum_offset);
			t->rx_csum_completed++;
		}
		impair_apply(&dv[i], f->data, len);
	}
}

/* The stack's transmit callbacks: with offloads (meta) and without. They
 * run on whatever thread made the call that sent (with a host, any thread
 * holding the stack), at the stack's time. */
static int tap_transmit_meta(void *ctx, const uint8_t *frame, size_t len,
			     const struct ustcp_tx_meta *meta)
{
	struct rt_tap *t = ctx;
	if (t->pcap)
		ustcp_pcap_write(t->pcap, wall(t->rt, ustcp_now(t->rt->s)), frame, len);
	return device_write(t, frame, len, meta);
}

static int tap_transmit(void *ctx, const uint8_t *frame, size_t len)
{
	struct rt_tap *t = ctx;
	uint64_t now = ustcp_now(t->rt->s);
	if (t->pcap)
		ustcp_pcap_write(t->pcap, wall(t->rt, now), frame, len);
	if (!t->impaired)
		return device_write(t, frame, len, NULL);
	impair_frame(t, DIR_OUT, now, frame, len, NULL);
	return 0;
}

/* Delivers the delayed frames that are due, in time order. */
static void drain_delayed(struct ustcp_runtime *rt)
{
	for (int i = 0; i < DRAIN_MAX && dq_next(&rt->dq) <= rt->now; i++) {
		struct dq_frame *f = dq_pop(&rt->dq);
		struct rt_tap *t = f->owner;
		if (f->dir == DIR_OUT)
			device_write(t, f->data, f->len, NULL);
		else
			stack_input(t, f->data, f->len, f->flags);
		dq_release(&rt->dq, f);
	}
}

/* Reads up to RX_BATCH frames; returns 0 or the device's error. */
static int tap_receive(struct ustcp_runtime *rt, struct rt_tap *t)
{
	for (int i = 0; i < RX_BATCH; i++) {
		uint8_t *frame;
		struct tap_rx rx;
		long n = tap_read(&t->dev, rt->rxbuf, sizeof(rt->rxbuf), &frame, &rx);
		if (n == -EAGAIN)
			return 0;
		if (n == -EINTR)
			continue;
		if (n < 0) {
			set_error(rt, "%s: read: %s", t->dev.name, strerror((int)-n));
			return (int)n;
		}
		if (n == 0)
			continue; /* dropped by the device layer, and counted there */
		t->rx_frames++;
		t->rx_gso += rx.gso;
		t->rx_csum_trusted += rx.csum_ok;
		if (t->impaired)
			impair_frame(t, DIR_IN, rt->now, frame, (size_t)n, &rx);
		else
			stack_input(t, frame, (size_t)n, rx.csum_ok ? USTCP_RX_CSUM_OK : 0);
	}
	return 0;
}

/* ---- the control socket (control.h) ---- */

void runtime_set_control(struct ustcp_runtime *rt, bool on) { rt->control_off = !on; }

const char *runtime_control_path(const struct ustcp_runtime *rt)
{
	return rt->control ? control_path(rt->control) : NULL;
}

/* With the first device the program is on a network: netstat may ask it.
 * Tried once; without it the program runs on, and says so once. */
static void control_start(struct ustcp_runtime *rt)
{
	if (rt->control || rt->control_off)
		return;
	char err[256] = "control socket: out of memory";
	rt->control = control_open(rt, rt->s, err, sizeof(err));
	if (!rt->control) {
		rt->control_off = true;
		fprintf(stderr, "ustcp: %s (ustcp netstat will not see this program)\n", err);
	}
}

int ustcp_runtime_add_tap(struct ustcp_runtime *rt, const struct ustcp_tap_config *tc,
			  const struct ustcp_iface_config *ic)
{
	if (!rt || !tc || !ic)
		return -EINVAL;
	if (rt->ntaps == MAX_TAPS) {
		set_error(rt, "at most %d TAP devices per runtime", MAX_TAPS);
		return -ENOSPC;
	}
	struct rt_tap *t = calloc(1, sizeof(*t));
	if (!t) {
		set_error(rt, "out of memory");
		return -ENOMEM;
	}
	t->rt = rt;
	t->impaired = tc->impair != NULL;
	int rc = tc->use_link_fd ? tap_adopt(&t->dev, tc->link_fd, tc->ifname)
				 : tap_open(&t->dev, tc->ifname, tc->vnet_hdr,
					    tc->tso && !t->impaired, rt->err, sizeof(rt->err));
	if (rc < 0) {
		if (tc->use_link_fd)
			set_error(rt, "link: %s", strerror(-rc));
		free(t);
		return rc;
	}
	/* Best effort: a device left down is still attached, as asked. */
	(void)tap_wait_running(&t->dev, RUNNING_WAIT_MS);
	if (tc->pcap_path && !(t->pcap = ustcp_pcap_open(tc->pcap_path))) {
		rc = -errno;
		set_error(rt, "cannot write %s: %s", tc->pcap_path, strerror(errno));
		goto fail;
	}
	for (int d = 0; d < 2; d++)
		impair_init(&t->imp[d], tc->impair_seed, 2 * rt->ntaps + d);
	if (t->impaired)
		for (int d = 0; d < 2; d++)
			impair_set(&t->imp[d], tc->impair);
	/* Into epoll before the stack knows the interface: once it does, it may
	 * transmit through t at any time, so t must not be freed after that. */
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = epoll_key(SRC_TAP, (uint32_t)rt->ntaps)};
	if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, t->dev.fd, &ev) < 0) {
		rc = -errno;
		set_error(rt, "%s: epoll: %s", t->dev.name, strerror(errno));
		goto fail;
	}
	struct ustcp_iface_config c = *ic;
	c.transmit = tap_transmit;
	c.transmit_ctx = t;
	c.offloads = 0;
	c.transmit_meta = NULL;
	if (t->dev.vnet && !t->impaired) {
		c.offloads = USTCP_OFFLOAD_CSUM | (t->dev.tso ? USTCP_OFFLOAD_TSO : 0);
		/* The payload goes from the send ring straight into the
		 * write; a capture wants the frame whole. */
		if (!t->pcap)
			c.offloads |= USTCP_OFFLOAD_SG;
		c.transmit_meta = tap_transmit_meta;
	}
	t->iface = ustcp_iface_add(rt->s, &c);
	if (t->iface < 0) {
		rc = t->iface;
		set_error(rt, "%s: the stack refused the interface: %s", t->dev.name,
			  strerror(-rc));
		goto fail; /* closing the device takes it out of epoll */
	}
	rt->taps[rt->ntaps++] = t;
	/* RFC 5227 §3: announce our address, so neighbours with a stale
	 * entry for it learn this MAC at once. */
	(void)ustcp_announce(rt->s, t->iface);
	control_start(rt);
	return t->iface;
fail:
	tap_close(&t->dev);
	ustcp_pcap_close(t->pcap);
	free(t);
	return rc;
}

static const struct rt_tap *tap_of(const struct ustcp_runtime *rt, int iface)
{
	for (int i = 0; i < rt->ntaps; i++)
		if (rt->taps[i]->iface == iface)
			return rt->taps[i];
	return NULL;
}

const char *runtime_tap_name(const struct ustcp_runtime *rt, int iface)
{
	const struct rt_tap *t = tap_of(rt, iface);
	return t ? t->dev.name : NULL;
}

int ustcp_runtime_tap_stats(const struct ustcp_runtime *rt, int iface, struct ustcp_tap_stats *st)
{
	const struct rt_tap *t = tap_of(rt, iface);
	if (!t)
		return -ENOENT;
	*st = (struct ustcp_tap_stats){
		.rx_frames = t->rx_frames,
		.tx_frames = t->tx_frames,
		.rx_malformed = t->dev.rx_malformed,
		.rx_csum_trusted = t->rx_csum_trusted,
		.rx_csum_completed = t->rx_csum_completed,
		.rx_gso_frames = t->rx_gso,
		.tx_gso_frames = t->tx_gso,
		.tx_dropped = t->tx_dropped,
		.delay_drops = t->delay_drops,
		.out = t->imp[DIR_OUT].stats,
		.in = t->imp[DIR_IN].stats,
		.vnet_hdr = t->dev.vnet,
		.tso = t->dev.tso,
	};
	return 0;
}

/* ---- watched descriptors ---- */

static struct rt_watch *watch_find(struct ustcp_runtime *rt, int fd)
{
	for (size_t i = 0; i < rt->nwatches; i++)
		if (rt->watches[i].fd == fd)
			return &rt->watches[i];
	return NULL;
}

/* Puts fd in epoll for events, or takes it out for none: epoll reports
 * EPOLLHUP and EPOLLERR even for an empty mask, so a paused pipe whose
 * writer is gone would wake the loop without end. */
static int watch_set(struct ustcp_runtime *rt, struct rt_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events,
				 .data.u64 = epoll_key(SRC_WATCH, (uint32_t)w->fd)};
	int op = !events ? EPOLL_CTL_DEL : w->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (events == w->events)
		return 0;
	if (epoll_ctl(rt->epfd, op, w->fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

int ustcp_runtime_watch(struct ustcp_runtime *rt, int fd, uint32_t events, ustcp_fd_fn fn,
			void *ctx)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	struct rt_watch *w = watch_find(rt, fd);
	if (w) {
		int rc = watch_set(rt, w, events);
		if (rc == 0) {
			w->fn = fn;
			w->ctx = ctx;
		}
		return rc;
	}
	if (rt->nwatches == rt->cap_watches) {
		size_t cap = rt->cap_watches ? 2 * rt->cap_watches : 8;
		struct rt_watch *ws = realloc(rt->watches, cap * sizeof(*ws));
		if (!ws)
			return -ENOMEM;
		rt->watches = ws;
		rt->cap_watches = cap;
	}
	/* Added once even for no events, so a file epoll cannot watch is
	 * found out now (-EPERM). */
	struct epoll_event ev = {.events = events, .data.u64 = epoll_key(SRC_WATCH, (uint32_t)fd)};
	if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	if (!events)
		epoll_ctl(rt->epfd, EPOLL_CTL_DEL, fd, NULL);
	rt->watches[rt->nwatches++] = (struct rt_watch){fd, events, fn, ctx};
	return 0;
}

int ustcp_runtime_unwatch(struct ustcp_runtime *rt, int fd)
{
	struct rt_watch *w = watch_find(rt, fd);
	if (!w)
		return -ENOENT;
	bool in_epoll = w->events != 0;
	*w = rt->watches[--rt->nwatches];
	/* A descriptor closed before this left epoll already. */
	if (in_epoll && epoll_ctl(rt->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- the loop ---- */

/* When the stack next wants a poll, held off while it is stuck. */
static uint64_t stack_deadline(const struct ustcp_runtime *rt)
{
	uint64_t d = ustcp_next_deadline(rt->s);
	if (rt->stuck && d <= rt->stuck_at)
		d = sat_add(rt->stuck_at, STUCK_RETRY_NS);
	return d;
}

static void poll_stack(struct ustcp_runtime *rt)
{
	ustcp_stack_poll(rt->s, rt->now);
	rt->stuck = ustcp_next_deadline(rt->s) <= rt->now;
	rt->stuck_at = rt->now;
}

/* Delayed frames and stack timers that are due, until none is. */
static void run_due(struct ustcp_runtime *rt)
{
	drain_delayed(rt);
	if (stack_deadline(rt) <= rt->now) {
		poll_stack(rt);
		drain_delayed(rt); /* what the timers sent without delay */
	}
}

/* Arms the timerfd for deadline d (> now). A timer already armed earlier
 * than d is left alone: firing early costs one empty turn, re-arming on
 * every change of the deadline would cost a system call per turn. */
static int arm_timer(struct ustcp_runtime *rt, uint64_t d)
{
	if (rt->armed > rt->now && rt->armed <= d)
		return 0;
	if (d == UINT64_MAX && rt->armed == UINT64_MAX)
		return 0;
	struct itimerspec its = {0};
	if (d != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(d / USTCP_NS_PER_SEC);
		its.it_value.tv_nsec = (long)(d % USTCP_NS_PER_SEC);
	}
	if (timerfd_settime(rt->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		set_error(rt, "timerfd: %s", strerror(errno));
		return -errno;
	}
	rt->armed = d;
	return 0;
}

static void watch_event(struct ustcp_runtime *rt, int fd, uint32_t events)
{
	const struct rt_watch *w = watch_find(rt, fd);
	if (!w) /* unwatched by an earlier callback of this turn */
		return;
	uint32_t happened = events & (w->events | EPOLLERR | EPOLLHUP);
	if (!happened)
		return;
	ustcp_fd_fn fn = w->fn; /* the callback may watch more and move the array */
	fn(w->ctx, fd, happened);
}

static int dispatch(struct ustcp_runtime *rt, const struct epoll_event *ev)
{
	int kind = (int)(ev->data.u64 >> 32);
	uint32_t index = (uint32_t)ev->data.u64;
	switch (kind) {
	case SRC_TIMER: {
		uint64_t ticks;
		if (read(rt->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			return -errno;
		return 0;
	}
	case SRC_KICK: {
		uint64_t n;
		if (read(rt->kickfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			return -errno;
		return 0;
	}
	case SRC_TAP:
		return tap_receive(rt, rt->taps[index]);
	case SRC_WATCH:
		watch_event(rt, (int)index, ev->events);
		return 0;
	default:
		return 0;
	}
}

/* The earliest moment the loop must wake for the stack or a delayed frame. */
static uint64_t next_wake(const struct ustcp_runtime *rt)
{
	return MIN(stack_deadline(rt), dq_next(&rt->dq));
}

void runtime_rearm(struct ustcp_runtime *rt)
{
	uint64_t d = next_wake(rt);
	if (d < rt->armed)
		(void)arm_timer(rt, d);
}

int ustcp_runtime_run(struct ustcp_runtime *rt, uint64_t timeout_ns)
{
	rt_lock(rt);
	rt->now = clock_ns(CLOCK_MONOTONIC);
	uint64_t end = timeout_ns ? sat_add(rt->now, timeout_ns) : UINT64_MAX;
	poll_stack(rt);
	int rc = 0;
	while (rc == 0) {
		run_due(rt);
		if (rt->turn_fn && !stopped(rt))
			rt->turn_fn(rt->turn_ctx);
		if (stopped(rt))
			break;
		if (rt->now >= end) {
			rc = -ETIMEDOUT;
			break;
		}
		uint64_t d = MIN(next_wake(rt), end);
		int wait_ms = d <= rt->now ? 0 : -1;
		if (wait_ms && (rc = arm_timer(rt, d)) < 0)
			break;
		struct epoll_event evs[MAX_EVENTS];
		rt_unlock(rt);
		int n = epoll_wait(rt->epfd, evs, MAX_EVENTS, wait_ms);
		int e = errno;
		rt_lock(rt);
		if (n < 0 && e != EINTR) {
			rc = -e;
			set_error(rt, "epoll_wait: %s", strerror(e));
			break;
		}
		rt->now = clock_ns(CLOCK_MONOTONIC);
		poll_stack(rt);
		for (int i = 0; i < n && rc == 0; i++)
			rc = dispatch(rt, &evs[i]);
	}
	__atomic_store_n(&rt->stopped, false, __ATOMIC_RELEASE); /* the next run goes on */
	/* Calls made before the next run happen at the time this one ended. */
	rt->now = clock_ns(CLOCK_MONOTONIC);
	ustcp_stack_poll(rt->s, rt->now);
	drain_delayed(rt);
	rt_unlock(rt);
	return rc;
}
