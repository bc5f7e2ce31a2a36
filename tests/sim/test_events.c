/* test_events.c — user events are delivered after the segment, timer or
 * call that raised them has been fully processed: the handler sees settled
 * state, gets each socket's events in one call, may make any call (abort
 * included) on any socket, and hears nothing of a socket it let go. */
#include "harness.h"

#include <errno.h>

#define MAX_CALLS 64

struct ev_call {
	struct ustcp_sock *k;
	unsigned events;
	int state;
	size_t readable;
	int eof;
};

/* What a handler saw, and what it is to do. */
struct ev_log {
	struct ustcp_sock *listener;
	struct ev_call calls[MAX_CALLS];
	int n;
	/* On ACCEPT: accept, send this, then abort (NULL: just accept). */
	const char *send_then_abort;
	struct ustcp_sock *accepted;
	/* On a connection's STATE event: close it (from the handler). */
	bool close_on_state;
	bool closed;
};

static void ev_handler(void *ctx, struct ustcp_sock *k, unsigned events)
{
	struct ev_log *e = ctx;
	if (e->n < MAX_CALLS)
		e->calls[e->n++] = (struct ev_call){k, events, ustcp_sock_state(k),
						    ustcp_sock_readable(k), ustcp_sock_eof(k)};
	if (k == e->listener && (events & USTCP_EV_ACCEPT)) {
		struct ustcp_sock *c;
		while (ustcp_accept(k, &c) == 0) {
			e->accepted = c;
			if (e->send_then_abort) {
				h_send_all(c, e->send_then_abort);
				assert_int_equal(ustcp_abort(c), 0);
			}
		}
		return;
	}
	if (e->close_on_state && (events & USTCP_EV_STATE) && ustcp_sock_state(k) == USTCP_CLOSED &&
	    !e->closed) {
		e->closed = true;
		assert_int_equal(ustcp_close(k), 0);
	}
}

static int calls_for(const struct ev_log *e, const struct ustcp_sock *k)
{
	int c = 0;
	for (int i = 0; i < e->n; i++)
		c += e->calls[i].k == k;
	return c;
}

/* A handler that, from its ACCEPT event, accepts, sends and aborts the new
 * connection: the abort comes after the ACK that completed the handshake
 * was fully processed, so no timer is left armed on the freed connection,
 * nothing follows the RST, and the slot serves the next connection. */
static void accept_send_abort_in_handler(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ev_log e = {.send_then_abort = "doomed"};
	struct ustcp_sock *lb = h_listen(n);
	e.listener = lb;
	ustcp_set_event_handler(n->st[H_B], ev_handler, &e);
	for (int round = 0; round < 3; round++) {
		e.accepted = NULL;
		int from = n->nlog;
		struct ustcp_sock *ca = h_connect_start(n);
		h_run(n, 50 * MS);
		assert_non_null(e.accepted);
		assert_int_equal(ustcp_sock_state(ca), USTCP_CLOSED);
		assert_int_equal(ustcp_sock_error(ca), -ECONNRESET);
		/* B's last segment of this connection is its RST. */
		const struct h_seg *last = NULL;
		for (int i = from; i < n->nlog; i++)
			if (n->log[i].from == H_B)
				last = &n->log[i];
		assert_non_null(last);
		assert_true(last->flags & TCP_RST);
		/* Only the listener is left on B, with no timer at all. */
		struct ustcp_pool_usage u;
		ustcp_pool_usage(n->st[H_B], &u);
		assert_int_equal(u.conns, 1);
		assert_int_equal(u.timers, 0);
		assert_int_equal(u.buffer_bytes, 0);
		ustcp_close(ca);
	}
	h_finish(n, lb);
}

/* Data and FIN in one segment: the handler is called once for the
 * connection, with READABLE and STATE together, and finds the data and the
 * end of stream already there and the state already CLOSE-WAIT. */
static void handler_sees_settled_state(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	struct ev_log e = {0};
	ustcp_set_event_handler(n->st[H_B], ev_handler, &e);
	struct ustcp_sock_info ib = h_info(cb);
	h_inject(n, H_B, ib.remote.port, ib.local.port, ib.rcv_nxt, ib.snd_nxt,
		 TCP_ACK | TCP_PSH | TCP_FIN, 65535, "abc");
	assert_int_equal(calls_for(&e, cb), 1);
	assert_int_equal(e.calls[0].events & (USTCP_EV_READABLE | USTCP_EV_STATE),
			 USTCP_EV_READABLE | USTCP_EV_STATE);
	assert_int_equal(e.calls[0].state, USTCP_CLOSE_WAIT);
	assert_int_equal(e.calls[0].readable, 3);
	h_expect_read(cb, "abc");
	assert_true(ustcp_sock_eof(cb));
	ustcp_set_event_handler(n->st[H_B], NULL, NULL);
	ustcp_abort(ca);
	ustcp_close(cb);
	h_finish(n, lb);
}

/* A socket the user closed or aborted hears nothing more: the CLOSED that
 * its own abort raised is not delivered for a pointer no longer the user's. */
static void nothing_after_release(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *ca, *cb, *lb;
	h_establish(n, &ca, &cb, &lb);
	struct ev_log ea = {0}, eb = {0};
	ustcp_set_event_handler(n->st[H_A], ev_handler, &ea);
	ustcp_set_event_handler(n->st[H_B], ev_handler, &eb);
	assert_int_equal(ustcp_abort(ca), 0);
	h_run(n, 10 * MS);
	assert_int_equal(calls_for(&ea, ca), 0);
	/* The peer, still owned, hears of the reset. */
	assert_int_equal(calls_for(&eb, cb), 1);
	assert_int_equal(eb.calls[0].state, USTCP_CLOSED);
	ustcp_close(cb);
	assert_int_equal(calls_for(&eb, cb), 1);
	h_finish(n, lb);
}

/* Events raised by a timer (a connect that gives up) reach the handler
 * after the timer's work, and the handler may close the socket there. */
static void close_from_timer_event(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.syn_retries = 2;
	struct h_net *n = h_new_cfg(&ca, NULL);
	n->blackhole[H_B] = true;
	struct ev_log e = {.close_on_state = true};
	ustcp_set_event_handler(n->st[H_A], ev_handler, &e);
	struct ustcp_sock *k = h_connect_start(n);
	h_run(n, 30 * SEC);
	assert_true(e.closed);
	assert_int_equal(e.calls[e.n - 1].k, k);
	assert_int_equal(e.calls[e.n - 1].state, USTCP_CLOSED);
	h_finish(n, NULL);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(accept_send_abort_in_handler),
	cmocka_unit_test(handler_sees_settled_state),
	cmocka_unit_test(nothing_after_release),
	cmocka_unit_test(close_from_timer_event),
};

USTCP_TEST_MAIN(tests)
