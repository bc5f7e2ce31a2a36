/* echo_clients.c — many kernel TCP connections to one echo server, all open
 * at once: connect every one first, then send each its own bytes, half-close,
 * and check that exactly those bytes come back, followed by the server's FIN.
 *
 * usage: echo_clients HOST PORT CONNECTIONS BYTES SECONDS
 * Prints one line per failed connection and a summary; exits 0 when every
 * connection got its bytes back, 1 otherwise, 2 on bad usage. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum phase { CONNECTING, ECHOING, DONE, FAILED };

struct conn {
	int fd;
	enum phase phase;
	size_t sent, received;
	bool shut;    /* our FIN is sent */
	char why[96]; /* what went wrong, when FAILED */
};

static size_t n_bytes;

/* The byte at offset i of connection c's stream: distinct per connection, so
 * crossed streams show up as a mismatch. */
static uint8_t stream_byte(size_t c, size_t i)
{
	uint64_t x = ((uint64_t)c << 32 | (uint64_t)(i / 8)) * 0x9e3779b97f4a7c15u;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 32;
	return (uint8_t)(x >> (8 * (i % 8)));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(struct conn *c, const char *what, int err)
{
	c->phase = FAILED;
	if (err)
		snprintf(c->why, sizeof(c->why), "%s: %s", what, strerror(err));
	else
		snprintf(c->why, sizeof(c->why), "%s", what);
	close(c->fd);
	c->fd = -1;
}

static void on_connect(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		fail(c, "connect", err);
	else
		c->phase = ECHOING;
}

static void do_send(struct conn *c, size_t idx)
{
	uint8_t buf[16384];
	while (c->sent < n_bytes) {
		size_t n = n_bytes - c->sent < sizeof(buf) ? n_bytes - c->sent : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte(idx, c->sent + i);
		ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				fail(c, "send", errno);
			return;
		}
		c->sent += (size_t)w;
	}
	if (!c->shut) {
		if (shutdown(c->fd, SHUT_WR) < 0)
			fail(c, "shutdown", errno);
		c->shut = true;
	}
}

static void do_recv(struct conn *c, size_t idx)
{
	uint8_t buf[16384];
	for (;;) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				fail(c, "recv", errno);
			return;
		}
		if (r == 0) {
			if (c->received != n_bytes) {
				char what[64];
				snprintf(what, sizeof(what), "EOF after %zu of %zu bytes",
					 c->received, n_bytes);
				fail(c, what, 0);
			} else {
				close(c->fd);
				c->fd = -1;
				c->phase = DONE;
			}
			return;
		}
		for (ssize_t i = 0; i < r; i++) {
			size_t off = c->received + (size_t)i;
			if (off >= n_bytes || buf[i] != stream_byte(idx, off)) {
				char what[64];
				snprintf(what, sizeof(what), "wrong byte at offset %zu", off);
				fail(c, what, 0);
				return;
			}
		}
		c->received += (size_t)r;
	}
}

static int open_conn(struct conn *c, const struct sockaddr_in *sa)
{
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -errno;
	if (fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	c->phase = CONNECTING;
	if (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		c->phase = ECHOING;
	else if (errno != EINPROGRESS)
		fail(c, "connect", errno);
	return 0;
}

/* Polls every connection in phase `want` until none is left in it or the
 * deadline passes. Returns the number still in that phase. */
static size_t run_phase(struct conn *conns, size_t n, enum phase want, double deadline)
{
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	size_t *who = calloc(n, sizeof(*who));
	size_t left = 0;
	if (!pfd || !who) {
		perror("calloc");
		exit(1);
	}
	for (;;) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (conns[i].phase != want)
				continue;
			pfd[m].fd = conns[i].fd;
			pfd[m].events = want == CONNECTING ? POLLOUT : POLLIN;
			if (want == ECHOING && (conns[i].sent < n_bytes || !conns[i].shut))
				pfd[m].events |= POLLOUT;
			who[m++] = i;
		}
		left = m;
		double wait = deadline - now_s();
		if (m == 0 || wait <= 0)
			break;
		int r = poll(pfd, m, wait > 1 ? 1000 : (int)(wait * 1000) + 1);
		if (r < 0 && errno != EINTR) {
			perror("poll");
			exit(1);
		}
		for (size_t k = 0; r > 0 && k < m; k++) {
			struct conn *c = &conns[who[k]];
			if (!pfd[k].revents)
				continue;
			if (want == CONNECTING) {
				on_connect(c);
				continue;
			}
			if (pfd[k].revents & POLLOUT)
				do_send(c, who[k]);
			if (c->phase == ECHOING && pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				do_recv(c, who[k]);
		}
	}
	free(pfd);
	free(who);
	return left;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: echo_clients HOST PORT CONNECTIONS BYTES SECONDS\n");
		return 2;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
	size_t n = (size_t)strtoul(argv[3], NULL, 10);
	n_bytes = (size_t)strtoul(argv[4], NULL, 10);
	double seconds = atof(argv[5]);
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 || n == 0 || seconds <= 0) {
		fprintf(stderr, "echo_clients: bad arguments\n");
		return 2;
	}
	struct conn *conns = calloc(n, sizeof(*conns));
	if (!conns) {
		perror("calloc");
		return 1;
	}

	double start = now_s(), deadline = start + seconds;
	for (size_t i = 0; i < n; i++) {
		int err = open_conn(&conns[i], &sa);
		if (err) {
			fprintf(stderr, "echo_clients: socket %zu: %s\n", i, strerror(-err));
			return 1;
		}
	}
	/* Nothing is sent until every connection is up, so all are open at once
	 * (the server closes each only after our FIN). */
	size_t pending = run_phase(conns, n, CONNECTING, deadline);
	size_t up = 0;
	for (size_t i = 0; i < n; i++)
		up += conns[i].phase == ECHOING;
	double t_connected = now_s() - start;
	printf("%zu of %zu connections established at once after %.2f s%s\n", up, n, t_connected,
	       pending ? " (the rest timed out)" : "");

	if (up == n)
		run_phase(conns, n, ECHOING, deadline);
	double t_done = now_s() - start;

	size_t ok = 0, shown = 0;
	for (size_t i = 0; i < n; i++) {
		struct conn *c = &conns[i];
		if (c->phase == DONE) {
			ok++;
			continue;
		}
		if (c->phase == ECHOING && up < n)
			snprintf(c->why, sizeof(c->why), "connected; not run, as not all were");
		else if (c->phase == ECHOING)
			snprintf(c->why, sizeof(c->why), "timed out: sent %zu, received %zu%s",
				 c->sent, c->received, c->shut ? " (FIN sent)" : "");
		else if (c->phase == CONNECTING)
			snprintf(c->why, sizeof(c->why), "connect timed out");
		if (shown++ < 20) /* the first few tell the story */
			printf("connection %zu: %s\n", i, c->why);
		if (c->fd >= 0)
			close(c->fd);
	}
	printf("%zu of %zu connections echoed %zu bytes intact, then closed, in %.2f s\n", ok, n,
	       n_bytes, t_done);
	free(conns);
	return ok == n ? 0 : 1;
}
