/* tcp_rr.c — transaction rates over the kernel's sockets, for `make bench`:
 * the client side against an echo server (ustcp echo, or this program's own
 * kernel echo server for the baseline).
 *
 * usage: tcp_rr rr HOST PORT SECONDS     one connection, 1-byte request and
 *                                        response, as many as fit in SECONDS
 *        tcp_rr crr HOST PORT SECONDS    connect, send 1 byte, receive it,
 *                                        close; again, for SECONDS
 *        tcp_rr serve PORT SECONDS       an echo server on the kernel's TCP
 *                                        (every connection gets back what it
 *                                        sends, closed after the peer's FIN),
 *                                        for SECONDS at most
 * The client prints one line,
 *   MODE transactions N seconds S per_second R max_us M errors E
 * (max_us: the slowest transaction, to show stalls such as a lost SYN) and
 * exits 0 when at least one transaction completed, 1 otherwise, 2 on bad
 * usage. Every blocking call is bounded by OP_TIMEOUT_S. */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define OP_TIMEOUT_S 2 /* any one connect, send or receive */
#define MAX_ERRORS 100 /* a client gives up after this many failures */
#define MAX_CONNS 256  /* the echo server's simultaneous connections */

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

static int parse_u(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

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
	close(fd);
}

static void run_crr(const struct sockaddr_in *sa, uint64_t dur_ns, struct result *res)
{
	uint64_t start = now_ns(), t = start;
	uint8_t b = 0;
	while (t - start < dur_ns && res->errors < MAX_ERRORS) {
		int fd = client_socket();
		if (fd < 0) {
			complain(res, "socket");
			break;
		}
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
			complain(res, "connect");
		else if (transact(fd, b++) < 0)
			complain(res, "transaction");
		else
			note(res, t, now_ns());
		close(fd);
		t = now_ns();
	}
	res->seconds = (double)(t - start) / 1e9;
}

/* ---- the kernel echo server ---- */

struct echo_conn {
	uint8_t buf[4096];
	size_t len; /* bytes received and not yet sent back */
};

static void serve_accept(int lfd, struct pollfd *pfd, struct echo_conn **conns, int *n)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (*n == MAX_CONNS || !(conns[*n] = calloc(1, sizeof(**conns)))) {
			close(fd);
			continue;
		}
		pfd[*n + 1] = (struct pollfd){.fd = fd, .events = POLLIN};
		(*n)++;
	}
}

/* Read what came and send it back; false when the connection is done. */
static bool serve_conn(struct pollfd *p, struct echo_conn *c)
{
	if (c->len == 0) {
		ssize_t r = read(p->fd, c->buf, sizeof(c->buf));
		if (r == 0)
			return false; /* the peer's FIN: close ours */
		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		c->len = (size_t)r;
	}
	ssize_t w = send(p->fd, c->buf, c->len, MSG_NOSIGNAL);
	if (w < 0 && errno != EAGAIN && errno != EINTR)
		return false;
	if (w > 0) {
		memmove(c->buf, c->buf + w, c->len - (size_t)w);
		c->len -= (size_t)w;
	}
	p->events = c->len ? POLLOUT : POLLIN;
	return true;
}

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int serve(uint16_t port, uint64_t dur_ns)
{
	/* SIGTERM and SIGINT end the server normally: it is stopped that way. */
	struct sigaction sa_stop = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa_stop, NULL);
	sigaction(SIGINT, &sa_stop, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0) {
		fprintf(stderr, "tcp_rr serve: port %u: %s\n", port, strerror(errno));
		return 1;
	}
	static struct pollfd pfd[MAX_CONNS + 1];
	static struct echo_conn *conns[MAX_CONNS];
	int n = 0;
	pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
	uint64_t end = now_ns() + dur_ns;
	while (!stopping && now_ns() < end) {
		if (poll(pfd, (nfds_t)n + 1, 100) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			serve_accept(lfd, pfd, conns, &n);
		for (int i = 0; i < n; i++) {
			if (!pfd[i + 1].revents || serve_conn(&pfd[i + 1], conns[i]))
				continue;
			close(pfd[i + 1].fd);
			free(conns[i]);
			n--;
			pfd[i + 1] = pfd[n + 1];
			conns[i] = conns[n];
			i--; /* the last one moved here */
		}
	}
	for (int i = 0; i < n; i++) {
		close(pfd[i + 1].fd);
		free(conns[i]);
	}
	close(lfd);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: tcp_rr rr|crr HOST PORT SECONDS\n"
			"       tcp_rr serve PORT SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long port, secs;
	if (argc == 4 && !strcmp(argv[1], "serve")) {
		if (parse_u(argv[2], 65535, &port) < 0 || parse_u(argv[3], 86400, &secs) < 0)
			return usage();
		return serve((uint16_t)port, (uint64_t)secs * 1000000000u);
	}
	bool crr = argc == 5 && !strcmp(argv[1], "crr");
	if (argc != 5 || (!crr && strcmp(argv[1], "rr")))
		return usage();
	struct sockaddr_in sa = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1 || parse_u(argv[3], 65535, &port) < 0 ||
	    parse_u(argv[4], 3600, &secs) < 0)
		return usage();
	sa.sin_port = htons((uint16_t)port);
	struct result res = {0};
	if (crr)
		run_crr(&sa, (uint64_t)secs * 1000000000u, &res);
	else
		run_rr(&sa, (uint64_t)secs * 1000000000u, &res);
	double rate = res.seconds > 0 ? (double)res.transactions / res.seconds : 0;
	printf("%s transactions %llu seconds %.3f per_second %.1f max_us %.0f errors %llu\n",
	       argv[1], (unsigned long long)res.transactions, res.seconds, rate,
	       (double)res.max_ns / 1e3, (unsigned long long)res.errors);
	return res.transactions > 0 ? 0 : 1;
}
