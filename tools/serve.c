/* serve.c — a TCP service on blocking calls: the accepting thread, the
 * connections' threads, and stopping them all (serve.h). */
#define _GNU_SOURCE

#include "serve.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A connection's thread needs little stack: its buffers are on the heap. */
#define CONN_STACK (1024 * 1024)

struct conn {
	struct service *sv;
	struct ustcp_sock *k;
	struct ustcp_endpoint peer;
	struct conn *prev, *next; /* in sv->open */
};

struct service {
	struct service_config c;
	pthread_t acceptor;
	pthread_attr_t attr; /* of the connections' threads: detached, CONN_STACK */
	pthread_mutex_t mu;  /* guards what follows */
	pthread_cond_t idle; /* signalled when the last connection thread ends */
	struct conn open;    /* list head: the connections being served */
	unsigned threads;    /* connection threads still running */
	bool stopping;
};

static bool stopping(struct service *sv)
{
	pthread_mutex_lock(&sv->mu);
	bool s = sv->stopping;
	pthread_mutex_unlock(&sv->mu);
	return s;
}

/* k joins the connections being served, or is closed if the service is
 * stopping (it would never be woken). */
static struct conn *conn_open(struct service *sv, struct ustcp_sock *k)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c) {
		c->sv = sv;
		c->k = k;
		ustcp_getpeername(k, &c->peer);
	}
	pthread_mutex_lock(&sv->mu);
	bool ok = c && !sv->stopping;
	if (ok) {
		c->next = sv->open.next;
		c->prev = &sv->open;
		sv->open.next->prev = c;
		sv->open.next = c;
		sv->threads += sv->c.threads;
	}
	pthread_mutex_unlock(&sv->mu);
	if (!ok) {
		if (!c)
			ustcp_setsockopt(k, USTCP_SO_LINGER, 0); /* no memory: reset */
		ustcp_close(k);
		free(c);
		return NULL;
	}
	return c;
}

/* Leaves the list before the socket is closed: service_stop never sees a
 * socket that is no longer ours. */
static void conn_close(struct conn *c)
{
	struct service *sv = c->sv;
	pthread_mutex_lock(&sv->mu);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	pthread_mutex_unlock(&sv->mu);
	ustcp_close(c->k);
	free(c);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct service *sv = c->sv;
	sv->c.serve(sv->c.ctx, c->k, &c->peer);
	conn_close(c);
	pthread_mutex_lock(&sv->mu);
	if (--sv->threads == 0)
		pthread_cond_broadcast(&sv->idle);
	pthread_mutex_unlock(&sv->mu);
	return NULL;
}

/* The textbook's loop: accept, serve, again; it ends when service_stop
 * closes the listener. Nothing opens sockets once the service is
 * stopping, so a closed listener's slot is not reused under the loop. */
static void *accept_loop(void *arg)
{
	struct service *sv = arg;
	struct ustcp_sock *k;
	while (!stopping(sv) && ustcp_accept(sv->c.listener, &k) == 0) {
		struct conn *c = conn_open(sv, k);
		if (!c)
			continue;
		if (!sv->c.threads) {
			sv->c.serve(sv->c.ctx, c->k, &c->peer);
			conn_close(c);
			continue;
		}
		pthread_t t;
		int rc = pthread_create(&t, &sv->attr, conn_thread, c);
		if (rc != 0) {
			fprintf(stderr, "ustcp %s: no thread for a connection: %s\n", sv->c.cmd,
				strerror(rc));
			ustcp_setsockopt(c->k, USTCP_SO_LINGER, 0);
			conn_close(c);
			pthread_mutex_lock(&sv->mu);
			sv->threads--;
			pthread_mutex_unlock(&sv->mu);
		}
	}
	return NULL;
}

static void service_free(struct service *sv)
{
	pthread_cond_destroy(&sv->idle);
	pthread_mutex_destroy(&sv->mu);
	pthread_attr_destroy(&sv->attr);
	free(sv);
}

int service_start(const struct service_config *c, struct service **out)
{
	struct service *sv = calloc(1, sizeof(*sv));
	if (!sv) {
		ustcp_close(c->listener);
		return -ENOMEM;
	}
	sv->c = *c;
	sv->open.next = sv->open.prev = &sv->open;
	pthread_mutex_init(&sv->mu, NULL);
	pthread_cond_init(&sv->idle, NULL);
	pthread_attr_init(&sv->attr);
	pthread_attr_setdetachstate(&sv->attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&sv->attr, CONN_STACK);
	int rc = pthread_create(&sv->acceptor, NULL, accept_loop, sv);
	if (rc != 0) {
		ustcp_close(c->listener);
		service_free(sv);
		return -rc;
	}
	*out = sv;
	return 0;
}

void service_stop(struct service *sv)
{
	pthread_mutex_lock(&sv->mu);
	sv->stopping = true;
	for (struct conn *c = sv->open.next; c != &sv->open; c = c->next)
		ustcp_shutdown(c->k, USTCP_SHUT_RDWR);
	pthread_mutex_unlock(&sv->mu);
	ustcp_close(sv->c.listener);
	pthread_join(sv->acceptor, NULL);
	pthread_mutex_lock(&sv->mu);
	while (sv->threads)
		pthread_cond_wait(&sv->idle, &sv->mu);
	pthread_mutex_unlock(&sv->mu);
	service_free(sv);
}

int service_run(struct nethost *e, const struct service_config *c)
{
	struct service *sv;
	int rc = service_start(c, &sv);
	if (rc < 0) {
		fprintf(stderr, "ustcp %s: cannot start serving: %s\n", c->cmd, strerror(-rc));
		return 1;
	}
	rc = nethost_wait(e, -1, UINT64_MAX);
	if (rc != -EINTR)
		fprintf(stderr, "ustcp %s: waiting for signals: %s\n", c->cmd, strerror(-rc));
	service_stop(sv);
	if (c->verbose && e->signo)
		fprintf(stderr, "ustcp %s: %s, stopped\n", c->cmd, strsignal(e->signo));
	if (c->verbose)
		nethost_report(e);
	return rc == -EINTR ? 0 : 1;
}
