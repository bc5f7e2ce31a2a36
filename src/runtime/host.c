/* host.c — a stack, its link and the thread that drives it, with the
 * stack's lock and the wait state of the blocking calls (ustcp/host.h).
 *
 * One recursive mutex is the stack's lock: the runtime's loop holds it for
 * each turn's work and gives it back while it sleeps in epoll_wait; a
 * socket call holds it while it runs (recursive: the event handler's calls
 * nest in the event that runs it). A call that must wait sleeps on its
 * socket's condition variable (stack_sync.wait), which the stack signals
 * when it delivers that socket's events (stack_sync.ready); ustcp_poll
 * sleeps on one for the whole host. A socket's readiness descriptor is an
 * eventfd kept readable exactly while the socket is ready for what the
 * program asked. When a call arms a timer earlier than the loop will wake,
 * the loop's timerfd is moved (runtime_rearm) before the lock goes.
 *
 * Waiters are woken only once the lock is given back: a thread woken while
 * the waker still held it would at once sleep again on the lock, two more
 * system calls each time (a request and response costs five otherwise).
 * So a socket's waiter is only noted when its events are delivered, and
 * signalled by the outermost unlock. A waiter's state is never freed while
 * the host runs (a socket's goes to a free list), so a signal that comes
 * after its socket was closed only wakes nobody. */
#define _GNU_SOURCE

#include "ustcp/host.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/random.h>

#include "api/call.h"
#include "core/stack.h"
#include "runtime/runtime_int.h"
#include "ustcp/ustcp.h"

#define DEFAULT_LINGER (10 * USTCP_NS_PER_SEC)
#define LINGER_STEP_NS (5 * USTCP_NS_PER_MS)

/* What one socket's waiters share. */
struct waiter {
	pthread_cond_t cond;
	int efd;     /* the readiness descriptor, or -1 */
	short want;  /* POLLIN / POLLOUT it reports */
	bool raised; /* efd is readable */
	bool noted;  /* in the host's wake list */
	struct waiter *next_free;
};

#define WAKE_MAX 64 /* waiters noted per unlock; more are signalled at once */

struct ustcp_host {
	struct ustcp_stack *s;
	struct ustcp_runtime *rt;
	int iface;
	pthread_mutex_t mu;
	int depth;          /* the holder's lock count (the mutex is recursive) */
	pthread_cond_t any; /* ustcp_poll's waiters */
	/* Waiters to signal at the outermost unlock, with the lock held. */
	struct waiter *wake[WAKE_MAX];
	int nwake;
	bool wake_any;
	struct waiter *free_waiters;
	struct stack_sync sync;
	pthread_t thread;
	bool running;
	int run_rc;
	uint64_t linger;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USTCP_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ---- the stack's lock and the waits (struct stack_sync) ---- */

static void h_lock(void *ctx)
{
	struct ustcp_host *h = ctx;
	pthread_mutex_lock(&h->mu);
	h->depth++;
}

/* Signal now what was noted (the lock held: before a wait gives it back). */
static void wake_noted(struct ustcp_host *h)
{
	for (int i = 0; i < h->nwake; i++) {
		h->wake[i]->noted = false;
		pthread_cond_broadcast(&h->wake[i]->cond);
	}
	h->nwake = 0;
	if (h->wake_any)
		pthread_cond_broadcast(&h->any);
	h->wake_any = false;
}

/* Give the lock back; the outermost unlock then signals what was noted. */
static void unlock_and_wake(struct ustcp_host *h)
{
	if (--h->depth > 0) {
		pthread_mutex_unlock(&h->mu);
		return;
	}
	struct waiter *wake[WAKE_MAX];
	int n = h->nwake;
	bool any = h->wake_any;
	for (int i = 0; i < n; i++) {
		wake[i] = h->wake[i];
		wake[i]->noted = false;
	}
	h->nwake = 0;
	h->wake_any = false;
	pthread_mutex_unlock(&h->mu);
	for (int i = 0; i < n; i++)
		pthread_cond_broadcast(&wake[i]->cond);
	if (any)
		pthread_cond_broadcast(&h->any);
}

static void h_unlock(void *ctx)
{
	struct ustcp_host *h = ctx;
	runtime_rearm(h->rt);
	unlock_and_wake(h);
}

/* The loop's own lock: it arms its timer itself before it sleeps. */
static void loop_unlock(void *ctx) { unlock_and_wake(ctx); }

static uint64_t h_clock(void *ctx)
{
	(void)ctx;
	return mono_ns();
}

static struct waiter *waiter_of(struct ustcp_host *h, struct stack_notice *n)
{
	if (n->waiter)
		return n->waiter;
	struct waiter *w = h->free_waiters;
	if (w) {
		h->free_waiters = w->next_free;
	} else {
		if (!(w = calloc(1, sizeof(*w))))
			return NULL;
		pthread_condattr_t a;
		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&w->cond, &a);
		pthread_condattr_destroy(&a);
	}
	w->efd = -1;
	w->raised = false;
	n->waiter = w;
	return w;
}

static int timed_wait(pthread_cond_t *c, pthread_mutex_t *mu, uint64_t deadline)
{
	if (deadline == UINT64_MAX)
		return pthread_cond_wait(c, mu) == 0 ? 0 : -EINTR;
	struct timespec ts = {.tv_sec = (time_t)(deadline / USTCP_NS_PER_SEC),
			      .tv_nsec = (long)(deadline % USTCP_NS_PER_SEC)};
	int rc = pthread_cond_timedwait(c, mu, &ts);
	return rc == ETIMEDOUT ? -ETIMEDOUT : 0;
}

static int h_wait(void *ctx, struct stack_notice *n, uint64_t deadline)
{
	struct ustcp_host *h = ctx;
	if (mono_ns() >= deadline)
		return -ETIMEDOUT;
	runtime_rearm(h->rt); /* what the call armed, the loop must see while we sleep */
	struct waiter *w = n ? waiter_of(h, n) : NULL;
	if (n && !w)
		return -ENOMEM;
	/* The wait gives the lock back: what was noted goes now. */
	wake_noted(h);
	int depth = h->depth;
	h->depth = 0;
	int rc = timed_wait(w ? &w->cond : &h->any, &h->mu, deadline);
	h->depth = depth;
	return rc;
}

/* Keep the eventfd readable exactly while the socket is ready for what was
 * asked (or has POLLHUP / POLLERR). */
static void follow_fd(struct waiter *w, const struct ustcp_sock *k)
{
	short ev = ustcp_sock_events(k);
	bool ready = (ev & (w->want | POLLHUP | POLLERR | POLLNVAL)) != 0;
	uint64_t v = 1;
	if (ready && !w->raised) {
		if (write(w->efd, &v, sizeof(v)) == sizeof(v))
			w->raised = true;
	} else if (!ready && w->raised) {
		if (read(w->efd, &v, sizeof(v)) == sizeof(v))
			w->raised = false;
	}
}

static void h_ready(void *ctx, struct stack_notice *n, bool wake)
{
	struct ustcp_host *h = ctx;
	struct waiter *w = n->waiter;
	if (wake) {
		h->wake_any = true;
		if (w && !w->noted) {
			if (h->nwake == WAKE_MAX)
				wake_noted(h);
			w->noted = true;
			h->wake[h->nwake++] = w;
		}
	}
	if (w && w->efd >= 0)
		follow_fd(w, n->sock);
}

static void h_forget(void *ctx, struct stack_notice *n)
{
	struct ustcp_host *h = ctx;
	struct waiter *w = n->waiter;
	n->waiter = NULL;
	if (!w)
		return;
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
	/* Kept (see the top): a signal noted for it may still come. */
	w->next_free = h->free_waiters;
	h->free_waiters = w;
}

static int h_fd(void *ctx, struct stack_notice *n, short events)
{
	struct waiter *w = waiter_of(ctx, n);
	if (!w)
		return -ENOMEM;
	if (w->efd < 0) {
		w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->efd < 0)
			return -errno;
		w->raised = false;
	}
	w->want = events;
	follow_fd(w, n->sock);
	return w->efd;
}

/* ---- configuration ---- */

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "a.b.c.d/len" */
static int parse_ip4_prefix(const char *v, ustcp_ip4 *ip, uint8_t *prefix, char *err, size_t errlen)
{
	char buf[64];
	const char *slash = strchr(v, '/');
	if (!slash || (size_t)(slash - v) >= sizeof(buf))
		return bad(err, errlen, "ip '%s': want ADDRESS/PREFIX, like 10.0.0.2/24", v);
	memcpy(buf, v, (size_t)(slash - v));
	buf[slash - v] = 0;
	struct in_addr a;
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, buf, &a) != 1)
		return bad(err, errlen, "ip '%s': '%s' is not an IPv4 address", v, buf);
	if (slash[1] < '0' || slash[1] > '9' || *end || p < 1 || p > 32)
		return bad(err, errlen, "ip '%s': the prefix must be 1 to 32", v);
	*ip = a.s_addr;
	*prefix = (uint8_t)p;
	return 0;
}

/* "addr" or "addr/len" (/64 when omitted) */
static int parse_ip6_prefix(const char *v, uint8_t ip6[16], uint8_t *prefix, char *err,
			    size_t errlen)
{
	char buf[64];
	const char *slash = strchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	if (n >= sizeof(buf))
		return bad(err, errlen, "ip6 '%s' is too long", v);
	memcpy(buf, v, n);
	buf[n] = 0;
	long p = 64;
	if (slash) {
		char *end;
		p = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || p < 1 || p > 128)
			return bad(err, errlen, "ip6 '%s': the prefix must be 1 to 128", v);
	}
	if (inet_pton(AF_INET6, buf, ip6) != 1)
		return bad(err, errlen, "ip6 '%s': '%s' is not an IPv6 address", v, buf);
	if (ip6[0] == 0xff || (ip6[0] == 0xfe && (ip6[1] & 0xc0) == 0x80))
		return bad(err, errlen,
			   "ip6 '%s': give a global unicast address (the link-local one is made "
			   "from the MAC)",
			   v);
	*prefix = (uint8_t)p;
	return 0;
}

static int parse_mac(const char *v, uint8_t mac[6], char *err, size_t errlen)
{
	unsigned b[6];
	char tail;
	if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return bad(err, errlen, "mac '%s': want six hex bytes, like 02:00:0a:00:00:02", v);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1)
		return bad(err, errlen, "mac '%s' is a multicast address", v);
	return 0;
}

/* The interface the configuration describes. */
static int iface_config(const struct ustcp_host_config *hc, struct ustcp_iface_config *ic,
			char *err, size_t errlen)
{
	if (hc->iface) {
		*ic = *hc->iface;
		return 0;
	}
	memset(ic, 0, sizeof(*ic));
	int rc;
	if (!hc->ip && !hc->ip6)
		return bad(err, errlen, "give an address: ip (10.0.0.2/24) or ip6 (fd00::2/64)");
	if (hc->ip && (rc = parse_ip4_prefix(hc->ip, &ic->ip4, &ic->prefix_len, err, errlen)) < 0)
		return rc;
	if (hc->ip6 && (rc = parse_ip6_prefix(hc->ip6, ic->ip6, &ic->prefix6_len, err, errlen)) < 0)
		return rc;
	if (hc->gateway) {
		struct in_addr a;
		if (inet_pton(AF_INET, hc->gateway, &a) != 1)
			return bad(err, errlen, "gateway '%s' is not an IPv4 address", hc->gateway);
		if (!hc->ip)
			return bad(err, errlen, "gateway %s needs an IPv4 address (ip)",
				   hc->gateway);
		ic->gateway = a.s_addr;
	}
	if (hc->gateway6 && inet_pton(AF_INET6, hc->gateway6, ic->gateway6) != 1)
		return bad(err, errlen, "gateway6 '%s' is not an IPv6 address", hc->gateway6);
	if (hc->mtu && (hc->mtu < 68 || hc->mtu > 65535))
		return bad(err, errlen, "mtu %u: want 68 to 65535", hc->mtu);
	ic->mtu = (uint16_t)hc->mtu;
	if (hc->mac)
		return parse_mac(hc->mac, ic->mac, err, errlen);
	/* A locally administered MAC from the address (as the tools make it). */
	ic->mac[0] = 0x02;
	if (hc->ip)
		memcpy(ic->mac + 2, &ic->ip4, 4);
	else
		memcpy(ic->mac + 2, ic->ip6 + 12, 4);
	return 0;
}

/* ---- bringing up and down ---- */

static void *host_main(void *arg)
{
	struct ustcp_host *h = arg;
	h->run_rc = ustcp_runtime_run(h->rt, 0);
	return NULL;
}

static void host_free(struct ustcp_host *h)
{
	if (h->rt)
		ustcp_runtime_free(h->rt);
	if (h->s)
		ustcp_stack_free(h->s);
	while (h->free_waiters) {
		struct waiter *w = h->free_waiters;
		h->free_waiters = w->next_free;
		pthread_cond_destroy(&w->cond);
		free(w);
	}
	pthread_cond_destroy(&h->any);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static int open_link(struct ustcp_host *h, const struct ustcp_host_config *hc,
		     const struct ustcp_iface_config *ic, char *err, size_t errlen)
{
	struct ustcp_tap_config tc = {
		.ifname = hc->tap ? hc->tap : "link",
		.vnet_hdr = !hc->no_offloads,
		.tso = !hc->no_offloads && !hc->no_tso,
		.impair = hc->impair,
		.impair_seed = hc->impair_seed ? hc->impair_seed : ustcp_stack_config(h->s)->seed,
		.pcap_path = hc->pcap,
		.use_link_fd = !hc->tap,
		.link_fd = hc->link_fd,
	};
	h->iface = ustcp_runtime_add_tap(h->rt, &tc, ic);
	if (h->iface < 0 && err && errlen)
		snprintf(err, errlen, "%s", ustcp_runtime_error(h->rt));
	return h->iface < 0 ? h->iface : 0;
}

int ustcp_host_open(const struct ustcp_host_config *hc, struct ustcp_host **out, char *err,
		    size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	if (!hc || !out)
		return bad(err, errlen, "no configuration");
	if (!hc->tap && !hc->use_link_fd)
		return bad(err, errlen, "give a TAP device (tap) or a link socket (link_fd)");
	struct ustcp_iface_config ic;
	int rc = iface_config(hc, &ic, err, errlen);
	if (rc < 0)
		return rc;
	struct ustcp_host *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&h->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->any, &ca);
	pthread_condattr_destroy(&ca);
	h->linger = hc->linger ? hc->linger : DEFAULT_LINGER;

	struct ustcp_config cfg;
	if (hc->stack) {
		cfg = *hc->stack;
	} else {
		ustcp_config_default(&cfg);
		if (getrandom(&cfg.seed, sizeof(cfg.seed), 0) != sizeof(cfg.seed))
			cfg.seed = mono_ns();
	}
	if (ic.mtu > cfg.mtu)
		cfg.mtu = ic.mtu;
	h->s = ustcp_stack_new(&cfg);
	if (!h->s) {
		rc = -errno;
		bad(err, errlen, "the stack refused its configuration: %s", strerror(-rc));
		host_free(h);
		return rc;
	}
	if (hc->trace)
		ustcp_set_trace(h->s, hc->trace, hc->trace_ctx);
	h->rt = ustcp_runtime_new(h->s);
	if (!h->rt) {
		rc = -errno;
		bad(err, errlen, "event loop: %s", strerror(-rc));
		host_free(h);
		return rc;
	}
	runtime_set_control(h->rt, !hc->no_control);
	if ((rc = open_link(h, hc, &ic, err, errlen)) < 0) {
		host_free(h);
		return rc;
	}
	h->sync = (struct stack_sync){.ctx = h,
				      .lock = h_lock,
				      .unlock = h_unlock,
				      .clock = h_clock,
				      .wait = h_wait,
				      .ready = h_ready,
				      .forget = h_forget,
				      .fd = h_fd};
	h->s->sync = &h->sync;
	runtime_set_lock(h->rt, h_lock, loop_unlock, h);
	if ((rc = pthread_create(&h->thread, NULL, host_main, h)) != 0) {
		h->s->sync = NULL;
		bad(err, errlen, "thread: %s", strerror(rc));
		host_free(h);
		return -rc;
	}
	h->running = true;
	*out = h;
	return 0;
}

/* Close what the program left open, then wait until every connection it
 * closed has had its data and FIN acknowledged (or the linger time ran
 * out): after that, nothing it sent can be lost by stopping. */
static void drain(struct ustcp_host *h)
{
	h_lock(h);
	api_close_all(h->s);
	h_unlock(h);
	uint64_t end = mono_ns() + h->linger;
	for (;;) {
		struct ustcp_pool_usage u;
		ustcp_pool_usage(h->s, &u);
		if (u.closing == 0 || mono_ns() >= end)
			break;
		struct timespec ts = {0, (long)LINGER_STEP_NS};
		nanosleep(&ts, NULL);
	}
}

void ustcp_host_close(struct ustcp_host *h)
{
	if (!h)
		return;
	if (h->running) {
		drain(h);
		ustcp_runtime_stop(h->rt);
		pthread_join(h->thread, NULL);
	}
	host_free(h);
}

struct ustcp_stack *ustcp_host_stack(struct ustcp_host *h) { return h ? h->s : NULL; }
struct ustcp_runtime *ustcp_host_runtime(struct ustcp_host *h) { return h ? h->rt : NULL; }
int ustcp_host_iface(const struct ustcp_host *h) { return h ? h->iface : -EINVAL; }
const char *ustcp_host_control_path(const struct ustcp_host *h)
{
	return h ? runtime_control_path(h->rt) : NULL;
}
void ustcp_host_lock(struct ustcp_host *h) { h_lock(h); }
void ustcp_host_unlock(struct ustcp_host *h) { h_unlock(h); }
