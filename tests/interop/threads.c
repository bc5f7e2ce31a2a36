/* threads.c — many threads of one program, each on its own blocking ustcp
 * connection, against the kernel's TCP over a TAP device.
 *
 *   threads serve PORT
 *       (kernel sockets, run in the namespace) take connections; from each
 *       read a 4-byte stream number, then the stream to its end, check
 *       every byte, and answer "ok BYTES\n" or "bad AT\n".
 *   threads echo PORT
 *       (kernel sockets) the echo service: each connection gets back what
 *       it sends, until its FIN.
 *   threads clients TAP ADDRESS/PREFIX SERVER PORT N MIB
 *       (ustcp, on the TAP device) N threads each connect, send stream i
 *       of MIB MiB, shut down sending and read the answer. Exit 0 when
 *       every stream was answered "ok" with its length. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ustcp/ustcp.h"

static uint8_t pat(uint32_t stream, uint64_t off)
{
	return (uint8_t)(stream * 37 + off * 131 + (off >> 12));
}

/* ---- the kernel's side ---- */

static void *check_stream(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t buf[65536];
	uint32_t id = 0;
	uint64_t got = 0, bad = UINT64_MAX;
	size_t have = 0;
	while (have < 4) {
		ssize_t n = read(fd, (uint8_t *)&id + have, 4 - have);
		if (n <= 0)
			goto out;
		have += (size_t)n;
	}
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && bad == UINT64_MAX; i++)
			if (buf[i] != pat(id, got + (uint64_t)i))
				bad = got + (uint64_t)i;
		got += (uint64_t)n;
	}
	char line[64];
	int len = bad == UINT64_MAX
			  ? snprintf(line, sizeof(line), "ok %llu\n", (unsigned long long)got)
			  : snprintf(line, sizeof(line), "bad %llu\n", (unsigned long long)bad);
	if (write(fd, line, (size_t)len) != len)
		perror("threads serve: write");
out:
	close(fd);
	return NULL;
}

static void *echo_back(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(fd);
	return NULL;
}

static int serve(int port, void *(*fn)(void *))
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 256) < 0) {
		perror("threads serve");
		return 1;
	}
	for (;;) {
		int fd = accept(l, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, NULL, fn, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
}

/* ---- ustcp's side ---- */

struct client {
	struct ustcp_stack *s;
	struct ustcp_endpoint server;
	uint32_t id;
	uint64_t bytes;
	char answer[64];
	int rc;
};

static void *client(void *arg)
{
	struct client *c = arg;
	struct ustcp_sock *k;
	c->rc = ustcp_connect_to(c->s, (struct ustcp_endpoint){0}, c->server, &k);
	if (c->rc < 0)
		return NULL;
	uint8_t buf[32768];
	long r = ustcp_send(k, &c->id, 4);
	for (uint64_t off = 0; off < c->bytes && r > 0; off += sizeof(buf)) {
		size_t n = c->bytes - off < sizeof(buf) ? (size_t)(c->bytes - off) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(c->id, off + i);
		r = ustcp_send(k, buf, n);
	}
	if (r <= 0) {
		c->rc = r ? (int)r : -EIO;
		ustcp_abort(k);
		return NULL;
	}
	ustcp_shutdown(k, USTCP_SHUT_WR);
	size_t have = 0;
	while (have < sizeof(c->answer) - 1 &&
	       (r = ustcp_recv(k, c->answer + have, sizeof(c->answer) - 1 - have)) > 0)
		have += (size_t)r;
	c->answer[have] = 0;
	c->rc = r < 0 ? (int)r : 0;
	ustcp_close(k);
	return NULL;
}

static int clients(char **argv)
{
	int n = atoi(argv[4]), mib = atoi(argv[5]);
	char err[256];
	struct ustcp_host *h;
	struct ustcp_host_config hc = {.tap = argv[0], .ip = argv[1]};
	if (ustcp_host_open(&hc, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "threads: %s\n", err);
		return 1;
	}
	struct ustcp_endpoint server = {.port = (uint16_t)atoi(argv[3])};
	if (n < 1 || n > 1024 || mib < 1 || ustcp_addr_parse(argv[2], &server) < 0) {
		fprintf(stderr, "threads: bad arguments\n");
		return 2;
	}
	struct client *c = calloc((size_t)n, sizeof(*c));
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		c[i] = (struct client){.s = ustcp_host_stack(h),
				       .server = server,
				       .id = (uint32_t)i,
				       .bytes = (uint64_t)mib << 20};
		pthread_create(&t[i], NULL, client, &c[i]);
	}
	int ok = 0;
	char want[64];
	snprintf(want, sizeof(want), "ok %llu\n", (unsigned long long)((uint64_t)mib << 20));
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (c[i].rc == 0 && !strcmp(c[i].answer, want))
			ok++;
		else
			printf("stream %d: rc %d, answer '%s'\n", i, c[i].rc, c[i].answer);
	}
	printf("%d of %d streams of %d MiB intact\n", ok, n, mib);
	free(c);
	free(t);
	ustcp_host_close(h);
	return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), check_stream);
	if (argc == 3 && !strcmp(argv[1], "echo"))
		return serve(atoi(argv[2]), echo_back);
	if (argc == 8 && !strcmp(argv[1], "clients"))
		return clients(argv + 2);
	fprintf(stderr, "usage: threads serve|echo PORT | threads clients TAP ADDR/PREFIX SERVER "
			"PORT N MIB\n");
	return 2;
}
