/* control.c — the control socket of a runtime (control.h): requests read
 * and answered in the runtime's loop, with the stack taken. */
#define _GNU_SOURCE

#include "runtime/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "core/stack.h"
#include "core/util.h"
#include "runtime/runtime_int.h"
#include "ustcp/ustcp.h"

#define PATH_MAX_UN sizeof(((struct sockaddr_un *)0)->sun_path)
#define CMDLINE_MAX 200 /* bytes of the command line an answer names */

struct client {
	struct control *ctl;
	int fd;          /* -1: a free slot */
	uint64_t serial; /* order of arrival: the oldest is pushed out first */
	char req[CONTROL_REQ_MAX];
	size_t req_len;
	char *out; /* the answer, once the request is in */
	size_t out_len, out_off;
};

struct control {
	struct ustcp_runtime *rt;
	struct ustcp_stack *s;
	int fd;
	uint64_t serial;
	char path[PATH_MAX_UN];
	char program[CMDLINE_MAX + 32]; /* "<pid> <command line>" */
	struct client clients[CONTROL_MAX_CLIENTS];
};

int ustcp_control_dir(char *buf, size_t size)
{
	/* The XDG base directory specification: an absolute path, or none. */
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n = xdg && xdg[0] == '/' ? snprintf(buf, size, "%s/ustcp", xdg)
				     : snprintf(buf, size, "/run/ustcp");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

const char *control_path(const struct control *c) { return c->path; }

/* ---- the answer ---- */

/* A growing text; after an allocation failed it only stays failed. */
struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
	for (int tries = 0; tries < 2 && !t->failed; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
		} else if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		} else {
			size_t cap = t->cap ? t->cap : 4096;
			while (cap - t->len <= (size_t)n)
				cap *= 2;
			char *b = realloc(t->buf, cap);
			if (!b)
				t->failed = true;
			else
				t->buf = b, t->cap = cap;
		}
	}
}

static const char *const owner_names[] = {
	[USTCP_OWNER_USER] = "user",
	[USTCP_OWNER_LISTENER] = "listener",
	[USTCP_OWNER_STACK] = "stack",
};

static void put_conn(struct text *t, const struct ustcp_sock_info *in)
{
	char l[USTCP_ENDPOINT_STRLEN], r[USTCP_ENDPOINT_STRLEN];
	put(t, "conn %s %s %s %u %u %s %s %u %u %llu %llu %llu %u %u\n",
	    ustcp_state_name(in->state), ustcp_endpoint_str(&in->local, 1, l, sizeof(l)),
	    ustcp_endpoint_str(&in->remote, 1, r, sizeof(r)), in->snd_queued, in->rcv_queued,
	    in->owner < ARRAY_SIZE(owner_names) ? owner_names[in->owner] : "?",
	    in->cc[0] ? in->cc : "-", in->cwnd, in->ssthresh, (unsigned long long)in->srtt / 1000,
	    (unsigned long long)in->rttvar / 1000, (unsigned long long)in->rto / 1000,
	    in->retransmits, in->snd_mss);
}

/* Every connection, read at one instant: the stack is taken throughout
 * (the loop holds it; ustcp_stack_conns takes it again). */
static void put_conns(struct text *t, struct ustcp_stack *s)
{
	size_t n = ustcp_stack_conns(s, NULL, 0);
	struct ustcp_sock_info *in = calloc(n ? n : 1, sizeof(*in));
	if (!in) {
		t->failed = true;
		return;
	}
	n = MIN(n, ustcp_stack_conns(s, in, n));
	for (size_t i = 0; i < n; i++)
		put_conn(t, &in[i]);
	free(in);
}

static void put_counters(struct text *t, const struct ustcp_stack *s)
{
	for (int c = 0; c < USTCP_C_COUNT; c++)
		put(t, "counter %s %llu %s\n", ustcp_counter_name((enum ustcp_counter)c),
		    (unsigned long long)ustcp_counter(s, (enum ustcp_counter)c),
		    ustcp_counter_desc((enum ustcp_counter)c));
	/* Reason 0 is "not dropped": no reason at all. */
	for (int d = 1; d < USTCP_DROP_COUNT; d++)
		put(t, "drop %s %llu %s\n", ustcp_drop_name((enum ustcp_drop)d),
		    (unsigned long long)ustcp_drops(s, (enum ustcp_drop)d),
		    ustcp_drop_desc((enum ustcp_drop)d));
}

static void put_addr6(struct text *t, const struct ipaddr *a, unsigned prefix)
{
	char buf[INET6_ADDRSTRLEN];
	if (!ip_is_any(a) && inet_ntop(AF_INET6, a->b, buf, sizeof(buf)))
		put(t, " %s/%u", buf, prefix);
}

static void put_ifaces(struct text *t, const struct control *c)
{
	const struct ustcp_stack *s = c->s;
	for (int i = 0; i < s->n_ifaces; i++) {
		const struct iface *f = &s->ifaces[i];
		const char *name = runtime_tap_name(c->rt, i);
		struct ustcp_tap_stats st = {0};
		(void)ustcp_runtime_tap_stats(c->rt, i, &st);
		put(t, "iface %d %s %02x:%02x:%02x:%02x:%02x:%02x %u %llu %llu", i,
		    name ? name : "-", f->mac[0], f->mac[1], f->mac[2], f->mac[3], f->mac[4],
		    f->mac[5], f->mtu, (unsigned long long)st.rx_frames,
		    (unsigned long long)st.tx_frames);
		if (f->ip4) {
			struct in_addr a = {htonl(f->ip4)};
			char buf[INET_ADDRSTRLEN];
			put(t, " %s/%u", inet_ntop(AF_INET, &a, buf, sizeof(buf)), f->prefix_len);
		}
		put_addr6(t, &f->ip6, f->prefix6_len);
		put_addr6(t, &f->ip6_ll, 64);
		put(t, "\n");
	}
}

/* The answer to one request line (without its newline). */
static void answer(struct control *c, struct text *t, char *req)
{
	bool conns = false, counters = false, ifaces = false;
	char *save = NULL;
	for (char *w = strtok_r(req, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (!strcmp(w, "conns")) {
			conns = true;
		} else if (!strcmp(w, "counters")) {
			counters = true;
		} else if (!strcmp(w, "ifaces")) {
			ifaces = true;
		} else {
			put(t, "error unknown section '%.32s' (known: conns counters ifaces)\n", w);
			return;
		}
	}
	if (!conns && !counters && !ifaces) {
		put(t, "error ask for conns, counters or ifaces\n");
		return;
	}
	put(t, "ustcp-control %d %s\n", CONTROL_VERSION, c->program);
	if (conns)
		put_conns(t, c->s);
	if (counters)
		put_counters(t, c->s);
	if (ifaces)
		put_ifaces(t, c);
	put(t, "end\n");
}

/* ---- clients ---- */

static void client_drop(struct client *cl)
{
	(void)ustcp_runtime_unwatch(cl->ctl->rt, cl->fd);
	close(cl->fd);
	free(cl->out);
	*cl = (struct client){.ctl = cl->ctl, .fd = -1};
}

static void on_client(void *ctx, int fd, uint32_t events);

/* Sends what the client takes now; the rest when it has read more. */
static void client_flush(struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (ustcp_runtime_watch(cl->ctl->rt, cl->fd, EPOLLOUT, on_client, cl) < 0)
				client_drop(cl);
			return;
		}
		if (n <= 0) {
			client_drop(cl);
			return;
		}
		cl->out_off += (size_t)n;
	}
	client_drop(cl); /* all sent: closing says so */
}

static void client_answer(struct client *cl)
{
	struct text t = {0};
	char *nl = memchr(cl->req, '\n', cl->req_len);
	if (nl) {
		*nl = '\0';
		answer(cl->ctl, &t, cl->req);
	} else {
		put(&t, "error a request is one line of at most %d bytes\n", CONTROL_REQ_MAX);
	}
	if (t.failed) {
		/* The text is cut short: no "end", so the client knows. */
		static const char oom[] = "error out of memory\n";
		free(t.buf);
		t = (struct text){.buf = strdup(oom), .len = sizeof(oom) - 1};
		if (!t.buf) {
			client_drop(cl);
			return;
		}
	}
	cl->out = t.buf;
	cl->out_len = t.len;
	client_flush(cl);
}

static void on_client(void *ctx, int fd, uint32_t events)
{
	struct client *cl = ctx;
	(void)fd;
	(void)events;
	if (cl->out) {
		client_flush(cl);
		return;
	}
	while (cl->req_len < sizeof(cl->req)) {
		ssize_t n = recv(cl->fd, cl->req + cl->req_len, sizeof(cl->req) - cl->req_len,
				 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		/* Not the events to judge by: they may be those of an earlier
		 * client that had this descriptor, pushed out this turn. */
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* gone before its request was in */
			client_drop(cl);
			return;
		}
		cl->req_len += (size_t)n;
		if (memchr(cl->req + cl->req_len - (size_t)n, '\n', (size_t)n))
			break;
	}
	client_answer(cl);
}

/* A free slot, or the oldest client's, taken from it. */
static struct client *client_slot(struct control *c)
{
	struct client *oldest = &c->clients[0];
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct client *cl = &c->clients[i];
		if (cl->fd < 0)
			return cl;
		if (cl->serial < oldest->serial)
			oldest = cl;
	}
	client_drop(oldest);
	return oldest;
}

static void on_listen(void *ctx, int fd, uint32_t events)
{
	struct control *c = ctx;
	(void)events;
	/* A bounded number per turn, so a flood of clients cannot hold the
	 * loop (the rest wait in the backlog). */
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or a client that left already */
		struct client *cl = client_slot(c);
		*cl = (struct client){.ctl = c, .fd = cfd, .serial = ++c->serial};
		if (ustcp_runtime_watch(c->rt, cfd, EPOLLIN, on_client, cl) < 0) {
			close(cfd);
			cl->fd = -1;
		}
	}
}

/* ---- opening and closing ---- */

/* "<pid> <command line>", the line read whole from /proc (NULs between
 * the arguments become spaces, anything unprintable '?'). */
static void name_program(struct control *c)
{
	char cmd[CMDLINE_MAX + 1] = "";
	ssize_t n = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, cmd, CMDLINE_MAX);
		close(fd);
	}
	while (n > 0 && cmd[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
		else if ((unsigned char)cmd[i] < 0x20 || cmd[i] == 0x7f)
			cmd[i] = '?';
	cmd[n > 0 ? n : 0] = '\0';
	snprintf(c->program, sizeof(c->program), "%ld %s", (long)getpid(), n > 0 ? cmd : "?");
}

__attribute__((format(printf, 4, 5))) static struct control *
fail(struct control *c, char *err, size_t errlen, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	errno = e;
	return NULL;
}

struct control *control_open(struct ustcp_runtime *rt, struct ustcp_stack *s, char *err,
			     size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rt = rt;
	c->s = s;
	c->fd = -1;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->clients[i] = (struct client){.ctl = c, .fd = -1};
	name_program(c);
	char dir[PATH_MAX_UN];
	if (ustcp_control_dir(dir, sizeof(dir)) < 0)
		return fail(c, err, errlen, "control socket: the directory's name is too long");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return fail(c, err, errlen, "control socket: cannot make %s: %s", dir,
			    strerror(errno));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail(c, err, errlen, "control socket: %s", strerror(errno));
	/* The descriptor tells the runtimes of one program apart: no two
	 * open ones share it. */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%ld-%d.sock", dir, (long)getpid(),
			 c->fd);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return fail(c, err, errlen, "control socket: a name in %s is too long", dir);
	int rc = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0 && errno == EADDRINUSE) {
		/* Left by a program that had our pid before: not one of ours,
		 * whose descriptor would differ. */
		unlink(sa.sun_path);
		rc = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (rc < 0)
		return fail(c, err, errlen, "control socket %s: %s", sa.sun_path, strerror(errno));
	memcpy(c->path, sa.sun_path, sizeof(c->path));
	if (listen(c->fd, CONTROL_MAX_CLIENTS) < 0 ||
	    (rc = ustcp_runtime_watch(rt, c->fd, EPOLLIN, on_listen, c)) < 0) {
		if (rc < 0)
			errno = -rc;
		unlink(c->path);
		return fail(c, err, errlen, "control socket %s: %s", c->path, strerror(errno));
	}
	return c;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			client_drop(&c->clients[i]);
	(void)ustcp_runtime_unwatch(c->rt, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c);
}
