/* demo_real.c — `ustcp demo --real`: a download from ustcp by the kernel,
 * on a real link.
 *
 * The process moves into a network namespace of its own
 * (unshare(CLONE_NEWNET)), makes the TAP device tap0 there and gives the
 * kernel's side 10.0.0.1/24; ustcp takes 10.0.0.2 on it and serves a file
 * with the httpd code, on its own threads; the kernel's curl, a child of
 * this process and so in the same namespace, downloads it. Then the first
 * segments are printed as the trace prints them, and the throughput.
 *
 * Nothing of it can outlive the process: the namespace has no name (none
 * is mounted), so the kernel removes it, and the device with it, when the
 * process ends, however it ends. The file is a sparse temporary one,
 * removed on every way out; SIGINT and SIGTERM come on the host's signal
 * descriptor, which the wait for curl polls, so they take that way too. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "demo.h"
#include "httpd.h"
#include "netopts.h"
#include "serve.h"
#include "tool.h"
#include "ustcp/ustcp.h"

extern char **environ;

#define TAP "tap0"
#define KERNEL_IP 0x0a000001u /* 10.0.0.1: only inside the namespace */
#define USTCP_IP 0x0a000002u  /* 10.0.0.2 */
#define PREFIX 24
#define PORT 80
#define FILE_NAME "demo.bin"
#define SEGMENTS 12         /* trace lines printed */
#define CURL_OUT_MAX 256    /* curl's -w line */
#define CURL_MAX_TIME "600" /* seconds: a bound however slow --impair makes it */

/* The first segments, as the trace hook saw them. The hook runs with the
 * stack's lock held, and they are read under it. */
struct segments {
	unsigned n;
	uint64_t t0; /* the first one's time: the lines count from it */
	char *line[SEGMENTS];
};

static void trace_segment(void *ctx, const struct ustcp_trace_event *ev)
{
	struct segments *sg = ctx;
	if (sg->n == SEGMENTS || !ev->has_conn)
		return; /* ARP and the kernel's IPv6 chatter are not the conversation */
	if (sg->n == 0)
		sg->t0 = ev->now;
	struct ustcp_trace_event rel = *ev;
	rel.now = ev->now - sg->t0;
	size_t size;
	FILE *f = open_memstream(&sg->line[sg->n], &size);
	if (!f)
		return;
	ustcp_print_event(f, &rel);
	fclose(f);
	sg->n++;
}

/* ---- the link: a namespace, the TAP device, the kernel's addresses ---- */

static int fail(const char *what, int err)
{
	fprintf(stderr, "ustcp demo: --real: %s: %s\n", what, strerror(err));
	return 1;
}

static int iface_up(int sock, const char *name, uint32_t ip, uint32_t mask)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ip) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip)};
		memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
		if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
			return -errno;
		sin.sin_addr.s_addr = htonl(mask);
		memcpy(&ifr.ifr_netmask, &sin, sizeof(sin));
		if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0)
			return -errno;
	}
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(sock, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* The namespace, tap0 in it (kept when its maker closes it: the host
 * attaches after the kernel's side is up, as with `ip tuntap add`), and
 * the kernel's side of it. Returns 0 or 1 (said why). */
static int make_link(void)
{
	if (access("/dev/net/tun", F_OK) < 0)
		return fail("no /dev/net/tun (this system has no TUN/TAP support)", errno);
	if (unshare(CLONE_NEWNET) < 0)
		return fail("cannot make a network namespace (root is needed)", errno);
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("/dev/net/tun", errno);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	int rc = ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0 ? errno : 0;
	close(fd);
	if (rc)
		return fail("cannot make the TAP device " TAP, rc);
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return fail("socket", errno);
	uint32_t mask = ~0u << (32 - PREFIX);
	if ((rc = iface_up(sock, "lo", 0, 0)) == 0)
		rc = iface_up(sock, TAP, KERNEL_IP, mask);
	close(sock);
	return rc < 0 ? fail("cannot bring up the kernel's side of " TAP, -rc) : 0;
}

/* ---- the file ---- */

struct tmpfile {
	char dir[64];
	char path[96];
};

/* A sparse file of `bytes` in a directory of its own: it costs no disk,
 * and reading it costs no more than zeros. */
static int make_file(struct tmpfile *t, uint64_t bytes)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(t->dir, sizeof(t->dir), "%s/ustcp-demo.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	t->path[0] = 0;
	if (!mkdtemp(t->dir)) {
		t->dir[0] = 0;
		return fail("cannot make a temporary directory", errno);
	}
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, FILE_NAME);
	int fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return fail(t->path, err);
	}
	close(fd);
	return 0;
}

static void remove_file(struct tmpfile *t)
{
	if (t->path[0])
		unlink(t->path);
	if (t->dir[0])
		rmdir(t->dir);
}

/* ---- curl ---- */

struct curl {
	pid_t pid;
	int out;                 /* its stdout: the -w line */
	char text[CURL_OUT_MAX]; /* what it printed */
	size_t len;
};

/* curl, with our signals back to their defaults for it. Returns 0 or 1. */
static int curl_start(struct curl *c, const char *url)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail("pipe", errno);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGPIPE);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dflt);
	char *argv[] = {"curl",       "-sS",
			"--noproxy",  "*",
			"--max-time", CURL_MAX_TIME,
			"-o",         "/dev/null",
			"-w",         "%{http_code} %{size_download} %{time_total}",
			(char *)url,  NULL};
	int rc = posix_spawnp(&c->pid, "curl", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	c->out = p[0];
	c->len = 0;
	if (rc) {
		close(p[0]);
		c->out = -1;
		return fail(rc == ENOENT ? "the kernel's curl is not installed (scripts/deps.sh)"
					 : "cannot run curl",
			    rc);
	}
	return 0;
}

/* Until curl ends (its stdout closes) or a signal comes (then curl is
 * stopped). Returns curl's wait status, or -1 after a signal. */
static int curl_wait(struct curl *c, struct nethost *e)
{
	struct pollfd p[2] = {{.fd = e->sigfd, .events = POLLIN}, {.fd = c->out, .events = POLLIN}};
	bool signalled = false;
	while (!signalled) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents && nethost_signalled(e))
			signalled = true;
		else if (p[1].revents) {
			char *dst = c->text + c->len;
			size_t room = sizeof(c->text) - 1 - c->len;
			char sink[64];
			ssize_t n = read(c->out, room ? dst : sink, room ? room : sizeof(sink));
			if (n <= 0)
				break; /* EOF: curl has ended */
			if (room)
				c->len += (size_t)n;
		}
	}
	c->text[c->len] = 0;
	close(c->out);
	if (signalled)
		kill(c->pid, SIGTERM);
	int status = 0;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Ctrl-C reaches curl too, which may end before we see it. */
	if (!signalled && WIFSIGNALED(status))
		signalled = nethost_signalled(e);
	return signalled ? -1 : status;
}

/* ---- the demo ---- */

static void print_segments(const struct segments *sg)
{
	printf("%9s  %s\n", "time (s)",
	       "the first segments, as ustcp saw them (and its connection's state)");
	for (unsigned i = 0; i < sg->n; i++) {
		double t;
		char *rest;
		/* The trace line starts with its time: right-aligned like the simulated demo's. */
		t = strtod(sg->line[i], &rest);
		printf("%9.6f %s", t, rest);
	}
}

/* curl's "code bytes seconds": the throughput line; 0 if the download was
 * whole, else 1. */
static int report(const char *text, uint64_t bytes)
{
	unsigned code = 0;
	unsigned long long got = 0;
	double secs = 0;
	if (sscanf(text, "%u %llu %lf", &code, &got, &secs) != 3 || code != 200 || got != bytes) {
		fprintf(stderr, "ustcp demo: --real: the download failed (curl said '%s')\n", text);
		return 1;
	}
	double mbit = secs > 0 ? (double)got * 8 / secs / 1e6 : 0;
	printf("throughput: %llu bytes in %.3f s: %.1f Mbit/s (%.1f MB/s), as curl measured it\n",
	       got, secs, mbit, mbit / 8);
	return 0;
}

/* The host is up: serve, download, stop. Returns the exit code. */
static int download(struct nethost *e, const struct demo_real_opts *ro, struct segments *sg)
{
	struct tmpfile tf = {{0}, {0}};
	struct httpd_site site = {.verbose = false};
	struct ustcp_sock *l;
	struct service *sv = NULL;
	struct curl c = {.out = -1};
	int code = 1, rc;
	if (make_file(&tf, ro->bytes))
		goto out;
	if (!realpath(tf.dir, site.root)) {
		code = fail(tf.dir, errno);
		goto out;
	}
	if ((rc = httpd_listen(e->s, PORT, &l)) < 0) {
		code = fail("listen on port 80", -rc);
		goto out;
	}
	struct service_config sc = {
		.cmd = "demo", .listener = l, .threads = true, .serve = httpd_serve, .ctx = &site};
	if ((rc = service_start(&sc, &sv)) < 0) {
		code = fail("cannot start serving", -rc);
		goto out;
	}
	char url[64];
	snprintf(url, sizeof(url), "http://%u.%u.%u.%u/%s", USTCP_IP >> 24, USTCP_IP >> 16 & 255,
		 USTCP_IP >> 8 & 255, USTCP_IP & 255, FILE_NAME);
	if (!ro->quiet) {
		printf("ustcp demo --real: in a network namespace of this process: %s, the kernel "
		       "10.0.0.1/%d, ustcp 10.0.0.2/%d\n",
		       TAP, PREFIX, PREFIX);
		printf("the kernel's curl downloads %s (%llu bytes) from ustcp's httpd\n\n", url,
		       (unsigned long long)ro->bytes);
		fflush(stdout);
	}
	if (curl_start(&c, url))
		goto out;
	int status = curl_wait(&c, e);
	ustcp_host_lock(e->h);
	if (!ro->quiet)
		print_segments(sg);
	ustcp_host_unlock(e->h);
	if (status < 0) {
		printf("stopped by a signal (%s)\n", strsignal(e->signo));
		code = 128 + e->signo;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "ustcp demo: --real: curl failed (%s %d)\n",
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	} else {
		if (!ro->quiet)
			printf("\n");
		code = report(c.text, ro->bytes);
	}
out:
	if (sv)
		service_stop(sv);
	remove_file(&tf);
	return code;
}

int demo_real(const struct demo_real_opts *ro)
{
	if (make_link())
		return 1;
	struct netopts o = ro->net;
	o.tap = TAP;
	o.ip = htonl(USTCP_IP);
	o.prefix = PREFIX;
	o.have_ip = true;
	if (netopts_finish(&o, "demo"))
		return 2;
	struct nethost e;
	struct ustcp_config cfg;
	netopts_stack_config(&o, &cfg);
	if (nethost_open(&e, "demo", &o, &cfg))
		return 1;
	struct segments sg = {0};
	ustcp_host_lock(e.h);
	ustcp_set_trace(e.s, trace_segment, &sg);
	ustcp_host_unlock(e.h);
	int code = download(&e, ro, &sg);
	nethost_close(&e);
	for (unsigned i = 0; i < sg.n; i++)
		free(sg.line[i]);
	return code;
}
