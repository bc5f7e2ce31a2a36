#define _POSIX_C_SOURCE 200809L
/* echo_client.c — sends its standard input to an echo server and writes
 * what comes back to its standard output, on ustcp: a writer thread and
 * the reading main thread share one socket.
 *
 *   echo_client TAP ADDRESS/PREFIX SERVER [PORT] < in > out
 *
 * Build: cc echo_client.c $(pkg-config --cflags --libs ustcp) -pthread */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ustcp/ustcp.h>

/* stdin to the socket, then the FIN: the server's FIN follows its echo. */
static void *send_stdin(void *arg)
{
	struct ustcp_sock *k = arg;
	char buf[16384];
	ssize_t n;
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (ustcp_send(k, buf, (size_t)n) != n)
			break;
	ustcp_shutdown(k, USTCP_SHUT_WR);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s TAP ADDRESS/PREFIX SERVER [PORT]\n", argv[0]);
		return 2;
	}
	struct ustcp_endpoint server = {.port = 7};
	if (ustcp_addr_parse(argv[3], &server) < 0) {
		fprintf(stderr, "%s: SERVER must be an IPv4 or IPv6 address, not '%s'\n", argv[0],
			argv[3]);
		return 2;
	}
	if (argc == 5 && (atoi(argv[4]) < 1 || atoi(argv[4]) > 65535)) {
		fprintf(stderr, "%s: PORT must be 1 to 65535, not '%s'\n", argv[0], argv[4]);
		return 2;
	}
	if (argc == 5)
		server.port = (uint16_t)atoi(argv[4]);

	char err[256];
	struct ustcp_host *h;
	struct ustcp_host_config hc = {.tap = argv[1], .ip = argv[2]};
	if (ustcp_host_open(&hc, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	struct ustcp_sock *k;
	int rc = ustcp_connect_to(ustcp_host_stack(h), (struct ustcp_endpoint){0}, server, &k);
	if (rc < 0) {
		fprintf(stderr, "%s: connect to %s: %s\n", argv[0], argv[3], strerror(-rc));
		ustcp_host_close(h);
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, send_stdin, k);
	char buf[16384];
	long n;
	while ((n = ustcp_recv(k, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	pthread_join(t, NULL);
	ustcp_close(k);
	ustcp_host_close(h);
	return n < 0 ? 1 : 0;
}
