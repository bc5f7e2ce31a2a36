/* tcp_rr.c — request/response and connection rates over the kernel's
 * sockets, for `make bench`: the client, run against ustcp echo or against
 * this program's own kernel echo server, so that both sides of a
 * comparison do the same work with the same client.
 *
 * usage: tcp_rr rr HOST PORT SECONDS     one connection, a 1-byte request
 *                                        and its 1-byte response, again, for
 *                                        SECONDS
 *        tcp_rr cc HOST PORT SECONDS     connect and close, again
 *        tcp_rr crr HOST PORT SECONDS    connect, one 1-byte request and
 *                                        response, close, again
 *        tcp_rr serve PORT SECONDS [epoll|threads]
 *                                        an echo server on the kernel's TCP
 *                                        for SECONDS at most (or until
 *                                        SIGTERM or SIGINT): every
 *                                        connection gets back what it sends
 *                                        and is closed after the peer's FIN;
 *                                        one thread on epoll (the default),
 *                                        or a thread per connection
 *
 * SECONDS may have a fraction (0.2). A closing client half-closes
 * (shutdown(SHUT_WR), its FIN) and waits for the server's FIN before the
 * next connection, so each connection counted ran to its end at both sides
 * and the client never gets ahead of the server's accept queue. The client
 * checks every byte it gets back, and prints one line,
 *   MODE transactions N seconds S per_second R max_us M errors E
 * (max_us: the slowest transaction, to show stalls such as a lost SYN); it
 * exits 0 when at least one transaction completed and none failed, 1
 * otherwise, 2 on bad usage. The server prints "listening on PORT" when it
 * is (PORT 0: one the kernel picks). Every blocking call of the client is
 * bounded by OP_TIMEOUT_S. */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define OP_TIMEOUT_S 2       /* any one connect, send or receive of the client */
#define MAX_ERRORS 100       /* a client gives up after this many failures */
#define ECHO_BUF (64 * 1024) /* what ustcp echo moves per recv/send pair */
#define EPOLL_BATCH 64
#define STOP_CHECK_MS 100 /* how often a waiting server looks at its deadline */

enum mode { RR, CC, CRR };

struct result {
	uint64_t transactions, errors, max_ns;
	double seconds;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_port(const char *s, bool zero_ok, uint16_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 65535 || (v == 0 && !zero_ok))
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* SECONDS, with a fraction, to nanoseconds; at most a day. */
static int parse_seconds(const char *s, uint64_t *ns)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return -1;
	*ns = (uint64_t)(v * 1e9);
	return 0;
}

/* ---- the client ---- */

/* A client socket: no Nagle (each request goes at once, as a transaction
 * benchmark's client should), and every blocking call timed out. */
static int client_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	struct timeval tv = {.tv_sec = OP_TIMEOUT_S};
	/* On Linux SO_SNDTIMEO also bounds connect(). */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send one byte and receive it back; 0, or -1 with errno (EPIPE: EOF). */
static int transact(int fd, uint8_t b)
{
	uint8_t r;
	ssize_t n = send(fd, &b, 1, MSG_NOSIGNAL);
	if (n != 1)
		return -1;
	n = recv(fd, &r, 1, 0);
	if (n == 0)
		errno = EPIPE;
	if (n != 1)
		return -1;
	if (r != b) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* Our FIN, then the server's: 0 once the server closed with nothing more
 * sent, -1 with errno otherwise (EPROTO: it sent more). */
static int finish(int fd)
{
	uint8_t r;
	if (shutdown(fd, SHUT_WR) < 0)
		return -1;
	ssize_t n = recv(fd, &r, 1, 0);
	if (n > 0)
		errno = EPROTO;
	return n == 0 ? 0 : -1;
}

static void note(struct result *res, uint64_t t0, uint64_t t1)
{
	res->transactions++;
	if (t1 - t0 > res->max_ns)
		res->max_ns = t1 - t0;
}

static void complain(struct result *res, const char *what)
{
	if (res->errors++ < 5)
		fprintf(stderr, "tcp_rr: %s: %s\n", what, strerror(errno));
}

static void run_rr(const struct sockaddr_in *sa, uint64_t dur_ns, struct result *res)
{
	int fd = client_socket();
	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		complain(res, "connect");
		if (fd >= 0)
			close(fd);
		return;
	}
	uint64_t start = now_ns(), t = start;
	uint8_t b = 0;
	while (t - start < dur_ns) {
		if (transact(fd, b++) < 0) {
			complain(res, "transaction");
			break; /* the one connection is gone or stuck */
		}
		uint64_t t1 = now_ns();
		note(res, t, t1);
		t = t1;
	}
	res->seconds = (double)(t - start) / 1e9;
	if (res->errors == 0 && finish(fd) < 0)
		complain(res, "close");
	close(fd);
}

/* One connection from connect to both FINs, with a transaction or without. */
static int one_connection(const struct sockaddr_in *sa, bool transaction, uint8_t b,
			  struct result *res)
{
	int fd = client_socket();
	if (fd < 0) {
		complain(res, "socket");
		return -1;
	}
	int rc = -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		complain(res, "connect");
	else if (transaction && transact(fd, b) < 0)
		complain(res, "transaction");
	else if (finish(fd) < 0)
		complain(res, "close");
	else
		rc = 0;
	close(fd);
	return rc;
}

static void run_connections(const struct sockaddr_in *sa, bool transaction, uint64_t dur_ns,
			    struct result *res)
{
	uint64_t start = now_ns(), t = start;
	uint8_t b = 0;
	while (t - start < dur_ns && res->errors < MAX_ERRORS) {
		int rc = one_connection(sa, transaction, b++, res);
		uint64_t t1 = now_ns();
		if (rc == 0)
			note(res, t, t1);
		t = t1;
	}
	res->seconds = (double)(t - start) / 1e9;
}

static int client(enum mode mode, const char *name, const struct sockaddr_in *sa, uint64_t dur_ns)
{
	struct result res = {0};
	if (mode == RR)
		run_rr(sa, dur_ns, &res);
	else
		run_connections(sa, mode == CRR, dur_ns, &res);
	double rate = res.seconds > 0 ? (double)res.transactions / res.seconds : 0;
	printf("%s transactions %llu seconds %.3f per_second %.1f max_us %.0f errors %llu\n", name,
	       (unsigned long long)res.transactions, res.seconds, rate, (double)res.max_ns / 1e3,
	       (unsigned long long)res.errors);
	return res.transactions > 0 && res.errors == 0 ? 0 : 1;
}

/* ---- the kernel echo server ---- */

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int listen_on(uint16_t port, bool nonblocking)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(sa);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		fprintf(stderr, "tcp_rr serve: port %u: %s\n", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	printf("listening on %u\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

/* The echo server's own socket options: the same as the client's (no
 * Nagle: a response goes at once). */
static void server_conn_options(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

struct echo_conn {
	int fd;
	size_t len, off; /* bytes received and not yet sent back: buf[off, len) */
	uint8_t buf[ECHO_BUF];
};

/* Send back what is pending; false when the connection is done. */
static bool epoll_flush(int ep, struct echo_conn *c)
{
	while (c->off < c->len) {
		ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return false;
		if (w < 0) { /* the peer does not read: wait until it does */
			struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
			return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
		}
		c->off += (size_t)w;
	}
	c->off = c->len = 0;
	return true;
}

/* What came is sent back; false when the connection is done. */
static bool epoll_serve_conn(int ep, struct echo_conn *c)
{
	if (c->len) {
		if (!epoll_flush(ep, c))
			return false;
		if (c->len)
			return true;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return false;
	}
	ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
	if (r == 0)
		return false; /* the peer's FIN: close ours */
	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	c->len = (size_t)r;
	return epoll_flush(ep, c);
}

static void epoll_accept(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		server_conn_options(fd);
		struct echo_conn *c = malloc(sizeof(*c));
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = c->off = 0;
	}
}

/* One thread, every connection non-blocking on one epoll instance. Open
 * connections are left to the exit. */
static int serve_epoll(uint16_t port, uint64_t end)
{
	int lfd = listen_on(port, true);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0)
		return 1;
	struct epoll_event evs[EPOLL_BATCH];
	while (!stopping && now_ns() < end) {
		int n = epoll_wait(ep, evs, EPOLL_BATCH, STOP_CHECK_MS);
		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			struct echo_conn *c = evs[i].data.ptr;
			if (!c) {
				epoll_accept(ep, lfd);
			} else if (!epoll_serve_conn(ep, c)) {
				close(c->fd); /* leaves the epoll set too */
				free(c);
			}
		}
	}
	return 0;
}

/* A connection's thread: recv, send it all back, until the peer's FIN. */
static void *echo_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *buf = malloc(ECHO_BUF);
	ssize_t n;
	while (buf && (n = recv(fd, buf, ECHO_BUF, 0)) > 0) {
		ssize_t off = 0;
		while (off < n) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
			if (w < 0)
				goto out;
			off += w;
		}
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

/* The textbook's loop: accept, a thread for the connection, again; as
 * ustcp echo serves. Open connections are left to the exit. */
static int serve_threads(uint16_t port, uint64_t end)
{
	int lfd = listen_on(port, false);
	pthread_attr_t attr;
	if (lfd < 0 || pthread_attr_init(&attr) ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED))
		return 1;
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	while (!stopping && now_ns() < end) {
		if (poll(&p, 1, STOP_CHECK_MS) <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		server_conn_options(fd);
		pthread_t t;
		if (pthread_create(&t, &attr, echo_thread, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
	return 0;
}

static int serve(uint16_t port, uint64_t dur_ns, bool threads)
{
	/* SIGTERM and SIGINT end the server normally: it is stopped that way. */
	struct sigaction sa_stop = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa_stop, NULL);
	sigaction(SIGINT, &sa_stop, NULL);
	uint64_t end = now_ns() + dur_ns;
	return threads ? serve_threads(port, end) : serve_epoll(port, end);
}

static int usage(void)
{
	fprintf(stderr, "usage: tcp_rr rr|cc|crr HOST PORT SECONDS\n"
			"       tcp_rr serve PORT SECONDS [epoll|threads]\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint16_t port;
	uint64_t dur_ns;
	if (argc >= 4 && argc <= 5 && !strcmp(argv[1], "serve")) {
		bool threads = argc == 5 && !strcmp(argv[4], "threads");
		if (parse_port(argv[2], true, &port) < 0 || parse_seconds(argv[3], &dur_ns) < 0 ||
		    (argc == 5 && !threads && strcmp(argv[4], "epoll")))
			return usage();
		return serve(port, dur_ns, threads);
	}
	static const char *const names[] = {[RR] = "rr", [CC] = "cc", [CRR] = "crr"};
	int mode = -1;
	for (int m = RR; argc == 5 && m <= CRR; m++)
		if (!strcmp(argv[1], names[m]))
			mode = m;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	if (mode < 0 || inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1 ||
	    parse_port(argv[3], false, &port) < 0 || parse_seconds(argv[4], &dur_ns) < 0)
		return usage();
	sa.sin_port = htons(port);
	return client((enum mode)mode, names[mode], &sa, dur_ns);
}
