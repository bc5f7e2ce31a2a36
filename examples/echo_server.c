#define _POSIX_C_SOURCE 200809L
/* echo_server.c — the echo service (RFC 862) on ustcp, one thread per
 * connection, written with the blocking calls as with kernel sockets.
 *
 *   echo_server TAP ADDRESS/PREFIX [PORT]      e.g. echo_server tap0 10.0.0.2/24 7
 *
 * Runs until SIGINT or SIGTERM. Build: cc echo_server.c $(pkg-config
 * --cflags --libs ustcp) -pthread */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ustcp/ustcp.h>

/* One connection: everything read goes back, until the peer's FIN. */
static void *serve(void *arg)
{
	struct ustcp_sock *k = arg;
	char buf[16384];
	long n;
	while ((n = ustcp_recv(k, buf, sizeof(buf))) > 0)
		if (ustcp_send(k, buf, (size_t)n) != n)
			break;
	ustcp_close(k);
	return NULL;
}

static struct ustcp_sock *listener;

/* A signal ends the accept loop: closing the listener wakes it. */
static void *wait_signal(void *arg)
{
	sigset_t *set = arg;
	int sig;
	sigwait(set, &sig);
	ustcp_close(listener);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s TAP ADDRESS/PREFIX [PORT]\n", argv[0]);
		return 2;
	}
	int port = argc == 4 ? atoi(argv[3]) : 7;
	if (port < 1 || port > 65535) {
		fprintf(stderr, "%s: PORT must be 1 to 65535, not '%s'\n", argv[0], argv[3]);
		return 2;
	}
	/* Signals are taken by one thread of ours: block them in every other
	 * (the host's thread inherits this mask). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* A background job starts with SIGINT ignored: an ignored signal is
	 * never pending, so sigwait would not see it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	char err[256];
	struct ustcp_host *h;
	struct ustcp_host_config hc = {.tap = argv[1], .ip = argv[2]};
	if (ustcp_host_open(&hc, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	struct ustcp_endpoint any = {.port = (uint16_t)port};
	int rc = ustcp_listen_on(ustcp_host_stack(h), any, 64, &listener);
	if (rc < 0) {
		fprintf(stderr, "%s: listen on port %d: %s\n", argv[0], port, strerror(-rc));
		ustcp_host_close(h);
		return 1;
	}
	pthread_t sig;
	pthread_create(&sig, NULL, wait_signal, &set);
	printf("echo on port %d\n", port);
	fflush(stdout);
	struct ustcp_sock *k;
	while (ustcp_accept(listener, &k) == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, serve, k) != 0) {
			ustcp_close(k);
			continue;
		}
		pthread_detach(t);
	}
	pthread_join(sig, NULL);
	ustcp_host_close(h);
	return 0;
}
