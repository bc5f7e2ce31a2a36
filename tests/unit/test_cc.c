/* test_cc.c — NewReno's window arithmetic (tcp_cc_newreno): the initial
 * window (RFC 6928), slow start and congestion avoidance with appropriate
 * byte counting (RFC 3465, RFC 5681 §3.1), fast recovery's ssthresh and
 * cwnd (RFC 6582 §3.2, RFC 5681 §3.2), the retransmission timeout
 * (RFC 5681 §3.1) and the restart after idle (RFC 5681 §4.1). */
#include <stdlib.h>
#include <string.h>

#include "../test_main.h"
#include "tcp/tcp_cc.h"
#include "tcp/tcp_conn.h"
#include "ustcp/socket.h"
#include "ustcp/stack.h"

/* A zeroed connection on a real stack with the default config, with this
 * send MSS and nothing in flight. */
static struct ustcp_sock *conn_new(uint16_t mss)
{
	struct ustcp_sock *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->stack = ustcp_stack_new(NULL);
	assert_non_null(c->stack);
	c->cc = &tcp_cc_newreno;
	c->snd_mss = mss;
	c->snd_una = c->snd_max = 1000;
	return c;
}

static void conn_free(struct ustcp_sock *c)
{
	ustcp_stack_free(c->stack);
	free(c);
}

/* Puts flight bytes in flight, with snd_una at una. */
static void set_flight(struct ustcp_sock *c, uint32_t una, uint32_t flight)
{
	c->snd_una = una;
	c->snd_max = una + flight;
}

static void cc_initial_window_rfc6928(void **state)
{
	(void)state;
	/* IW = min(10 * MSS, max(2 * MSS, 14600)). */
	static const struct {
		uint16_t mss;
		uint32_t iw;
	} cases[] = {
		{1460, 14600},                /* 10 segments */
		{536, 5360},                  /* 10 segments: the 14600 cap is not reached */
		{9000, 18000},                /* jumbo frames: 2 segments, above 14600 */
		{1000, 10000}, {2000, 14600}, /* 7.3 segments' worth */
	};
	struct ustcp_sock *d = conn_new(1460);
	assert_int_equal(ustcp_stack_config(d->stack)->initial_window, 10);
	conn_free(d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ustcp_sock *c = conn_new(cases[i].mss);
		c->cwnd = 1;
		c->ssthresh = 1;
		tcp_cc_newreno.init(c);
		assert_int_equal(c->cwnd, cases[i].iw);
		/* RFC 5681 §3.1: the initial ssthresh is arbitrarily high. */
		assert_int_equal(c->ssthresh, UINT32_MAX);
		conn_free(c);
	}
}

static void cc_slow_start_counts_bytes_up_to_two_segments(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new(1460);
	tcp_cc_newreno.init(c);
	set_flight(c, 1000, 1u << 30); /* the window is what limits the sender */
	uint32_t cwnd = c->cwnd;
	/* RFC 3465 §2.2: cwnd grows by the bytes acknowledged... */
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, cwnd += 1460);
	tcp_cc_newreno.on_ack(c, 500);
	assert_int_equal(c->cwnd, cwnd += 500);
	tcp_cc_newreno.on_ack(c, 1);
	assert_int_equal(c->cwnd, cwnd += 1);
	/* ...but by at most L = 2 * SMSS for one ACK (a stretch ACK). */
	tcp_cc_newreno.on_ack(c, 2920);
	assert_int_equal(c->cwnd, cwnd += 2920);
	tcp_cc_newreno.on_ack(c, 2921);
	assert_int_equal(c->cwnd, cwnd += 2920);
	tcp_cc_newreno.on_ack(c, 10 * 1460);
	assert_int_equal(c->cwnd, cwnd += 2920);
	assert_int_equal(c->ssthresh, UINT32_MAX);

	/* Slow start lasts while cwnd < ssthresh (RFC 5681 §3.1). */
	c->cwnd = 10000;
	c->ssthresh = 12000;
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, 11460);
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, 12920);
	/* Now cwnd >= ssthresh: congestion avoidance, no growth yet. */
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, 12920);
	conn_free(c);
}

static void cc_congestion_avoidance_one_segment_per_window(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new(1460);
	tcp_cc_newreno.init(c);
	c->cwnd = 14600;
	c->ssthresh = 10000;
	set_flight(c, 1000, 1u << 30); /* the window is what limits the sender */
	/* RFC 3465 §2.1: one SMSS once a whole cwnd of bytes is acknowledged,
	 * however small the ACKs. 145 ACKs of 100 bytes are 14500 < cwnd. */
	for (int i = 0; i < 145; i++)
		tcp_cc_newreno.on_ack(c, 100);
	assert_int_equal(c->cwnd, 14600);
	tcp_cc_newreno.on_ack(c, 100); /* 14600 */
	assert_int_equal(c->cwnd, 16060);
	/* The next segment takes the larger window: 16060 bytes. */
	for (int i = 0; i < 160; i++)
		tcp_cc_newreno.on_ack(c, 100);
	assert_int_equal(c->cwnd, 16060);
	tcp_cc_newreno.on_ack(c, 100); /* 16100: 40 bytes carry over */
	assert_int_equal(c->cwnd, 17520);
	for (int i = 0; i < 174; i++) /* 40 + 17400 = 17440 < 17520 */
		tcp_cc_newreno.on_ack(c, 100);
	assert_int_equal(c->cwnd, 17520);
	tcp_cc_newreno.on_ack(c, 80); /* 17520 */
	assert_int_equal(c->cwnd, 18980);

	/* Over many windows, in ACKs of one byte to one segment: the k-th
	 * increase comes once the bytes acknowledged reach the sum of the k
	 * windows before it, not earlier, and by the ACK that gets there. */
	uint32_t x = 7, start = c->cwnd, k = 0;
	uint64_t acked = 0, needed = start;
	for (int i = 0; i < 200000 && k < 100; i++) {
		x = x * 1103515245u + 12345u;
		uint32_t n = 1 + (x >> 16) % 1460;
		uint32_t before = c->cwnd;
		tcp_cc_newreno.on_ack(c, n);
		acked += n;
		if (c->cwnd == before) {
			assert_true(acked < needed);
			continue;
		}
		assert_int_equal(c->cwnd, before + 1460);
		assert_true(acked >= needed && acked - n < needed);
		k++;
		needed += c->cwnd;
	}
	assert_int_equal(k, 100);
	assert_int_equal(c->cwnd, start + 100 * 1460u);
	assert_int_equal(c->ssthresh, 10000);
	conn_free(c);
}

static void cc_congestion_halves_the_flight(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new(1460);
	tcp_cc_newreno.init(c);
	/* RFC 5681 §3.2 step 2 (eq. 4): ssthresh = max(FlightSize / 2, 2 * SMSS),
	 * from the data in flight, not cwnd; step 3: cwnd = ssthresh + 3 * SMSS
	 * for the three segments that left the network. Across 2^32 too. */
	c->cwnd = 100000;
	set_flight(c, 0xfffff000u, 20 * 1460);
	tcp_cc_newreno.on_congestion(c);
	assert_int_equal(c->ssthresh, 14600);
	assert_int_equal(c->cwnd, 14600 + 3 * 1460);

	/* An odd flight rounds down. */
	set_flight(c, 5, 10001);
	tcp_cc_newreno.on_congestion(c);
	assert_int_equal(c->ssthresh, 5000);
	assert_int_equal(c->cwnd, 5000 + 3 * 1460);

	/* A small flight: the 2 * SMSS floor. */
	set_flight(c, 5, 2000);
	tcp_cc_newreno.on_congestion(c);
	assert_int_equal(c->ssthresh, 2920);
	assert_int_equal(c->cwnd, 2920 + 3 * 1460);
	set_flight(c, 5, 0);
	tcp_cc_newreno.on_congestion(c);
	assert_int_equal(c->ssthresh, 2920);

	/* With MSS 536. */
	conn_free(c);
	c = conn_new(536);
	tcp_cc_newreno.init(c);
	set_flight(c, 1, 10 * 536);
	tcp_cc_newreno.on_congestion(c);
	assert_int_equal(c->ssthresh, 5 * 536);
	assert_int_equal(c->cwnd, 8 * 536);
	conn_free(c);
}

static void cc_after_recovery_deflates(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new(1460);
	tcp_cc_newreno.init(c);
	c->ssthresh = 14600;
	/* RFC 6582 §3.2 step 3, full acknowledgment, option (1):
	 * cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS). */
	c->cwnd = 30000;
	set_flight(c, 0xffffff00u, 5000);
	tcp_cc_newreno.after_recovery(c);
	assert_int_equal(c->cwnd, 6460);
	/* Nothing in flight: two segments, not a burst. */
	c->cwnd = 30000;
	set_flight(c, 7, 0);
	tcp_cc_newreno.after_recovery(c);
	assert_int_equal(c->cwnd, 2920);
	c->cwnd = 30000;
	set_flight(c, 7, 1000);
	tcp_cc_newreno.after_recovery(c);
	assert_int_equal(c->cwnd, 2920);
	/* Much in flight: ssthresh. */
	c->cwnd = 30000;
	set_flight(c, 7, 20000);
	tcp_cc_newreno.after_recovery(c);
	assert_int_equal(c->cwnd, 14600);
	set_flight(c, 7, 13140); /* + SMSS = ssthresh exactly */
	c->cwnd = 30000;
	tcp_cc_newreno.after_recovery(c);
	assert_int_equal(c->cwnd, 14600);
	assert_int_equal(c->ssthresh, 14600);
	conn_free(c);
}

static void cc_rto_collapses_to_one_segment(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new(1460);
	tcp_cc_newreno.init(c);
	/* RFC 5681 §3.1: on a timeout ssthresh = max(FlightSize / 2, 2 * SMSS)
	 * (eq. 4) and cwnd = LW = one segment. backoff counts the expirations,
	 * this one included. */
	c->cwnd = 50000;
	set_flight(c, 0xfffffa00u, 30000);
	c->backoff = 1;
	tcp_cc_newreno.on_rto(c);
	assert_int_equal(c->ssthresh, 15000);
	assert_int_equal(c->cwnd, 1460);

	/* The same data times out again: "the value of ssthresh is held
	 * constant" (§3.1), whatever the flight says now. */
	for (uint8_t b = 2; b <= 6; b++) {
		c->cwnd = 2920;
		c->ssthresh = 12345;
		set_flight(c, 0xfffffa00u, 100000);
		c->backoff = b;
		tcp_cc_newreno.on_rto(c);
		assert_int_equal(c->ssthresh, 12345);
		assert_int_equal(c->cwnd, 1460);
	}

	/* A first timeout with a small flight: the 2 * SMSS floor. */
	c->cwnd = 8000;
	c->ssthresh = UINT32_MAX;
	set_flight(c, 1, 1460);
	c->backoff = 1;
	tcp_cc_newreno.on_rto(c);
	assert_int_equal(c->ssthresh, 2920);
	assert_int_equal(c->cwnd, 1460);

	/* After the timeout, slow start runs from one segment up to ssthresh,
	 * then congestion avoidance takes over (at cwnd == ssthresh RFC 5681
	 * §3.1 allows either; this NewReno uses congestion avoidance). */
	c->ssthresh = 5840;
	c->cwnd = 1460;
	c->backoff = 0;
	tcp_cc_newreno.on_ack(c, 1460);
	tcp_cc_newreno.on_ack(c, 1460);
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, 5840);
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, 5840);
	conn_free(c);
}

/* The congestion avoidance byte count starts again after a loss, so bytes
 * counted against the window before the loss do not grow the smaller one
 * after it: the first increase needs a whole new window of bytes. */
static void cc_loss_restarts_the_byte_count(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new(1000);
	tcp_cc_newreno.init(c);
	c->cwnd = 10000;
	c->ssthresh = 10000;
	tcp_cc_newreno.on_ack(c, 9999); /* one byte short of an increase */
	assert_int_equal(c->cwnd, 10000);
	set_flight(c, 1, 20000);
	tcp_cc_newreno.on_congestion(c);
	assert_int_equal(c->ssthresh, 10000);
	tcp_cc_newreno.after_recovery(c);
	assert_int_equal(c->cwnd, 10000); /* == ssthresh: congestion avoidance */
	tcp_cc_newreno.on_ack(c, 1);
	assert_int_equal(c->cwnd, 10000);
	tcp_cc_newreno.on_ack(c, 9999);
	assert_int_equal(c->cwnd, 11000);
	conn_free(c);
}

static void cc_after_idle_restarts_from_the_initial_window(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new(1460);
	tcp_cc_newreno.init(c);
	/* RFC 5681 §4.1: cwnd = min(RW, cwnd) with RW = min(IW, cwnd);
	 * ssthresh is not touched. */
	c->cwnd = 50000;
	c->ssthresh = 30000;
	tcp_cc_newreno.after_idle(c);
	assert_int_equal(c->cwnd, 14600);
	assert_int_equal(c->ssthresh, 30000);
	/* A window already below IW stays. */
	c->cwnd = 5000;
	c->ssthresh = 2920;
	tcp_cc_newreno.after_idle(c);
	assert_int_equal(c->cwnd, 5000);
	assert_int_equal(c->ssthresh, 2920);
	c->ssthresh = UINT32_MAX;
	c->cwnd = 14601;
	tcp_cc_newreno.after_idle(c);
	assert_int_equal(c->cwnd, 14600);
	assert_int_equal(c->ssthresh, UINT32_MAX);
	conn_free(c);

	/* IW depends on the MSS: 2 segments of 9000. */
	c = conn_new(9000);
	tcp_cc_newreno.init(c);
	c->cwnd = 90000;
	c->ssthresh = 45000;
	tcp_cc_newreno.after_idle(c);
	assert_int_equal(c->cwnd, 18000);
	assert_int_equal(c->ssthresh, 45000);
	conn_free(c);
}

static void cc_registry_finds_newreno(void **state)
{
	(void)state;
	const struct tcp_cc_ops *cc = tcp_cc_find("newreno");
	assert_ptr_equal(cc, &tcp_cc_newreno);
	assert_string_equal(cc->name, "newreno");
	assert_non_null(cc->init);
	assert_non_null(cc->on_ack);
	assert_non_null(cc->on_congestion);
	assert_non_null(cc->after_recovery);
	assert_non_null(cc->on_rto);
	assert_non_null(cc->after_idle);
	assert_ptr_equal(tcp_cc_find("cubic"), &tcp_cc_cubic);
	assert_null(tcp_cc_find("bbr"));
	assert_null(tcp_cc_find(""));
	assert_null(tcp_cc_find("newrenoo"));
	assert_null(tcp_cc_find("newren"));

	/* The public list names newreno, and every name it lists resolves. */
	const char *const *names = ustcp_cc_names();
	assert_non_null(names);
	int n = 0, found = 0;
	for (; n < 64 && names[n]; n++) {
		assert_non_null(tcp_cc_find(names[n]));
		found += strcmp(names[n], "newreno") == 0;
	}
	assert_null(names[n]);
	assert_int_equal(found, 1);
}

/* RFC 7661: a sender the application or the peer's window holds back
 * (less than half of cwnd in flight) does not grow cwnd; neither does a
 * cwnd so large it could overflow. */
static void cc_no_growth_when_not_cwnd_limited(void **state)
{
	(void)state;
	struct ustcp_sock *c = conn_new(1460);
	tcp_cc_newreno.init(c);
	uint32_t cwnd = c->cwnd;
	set_flight(c, 1000, 1460); /* 2920 were in flight, 14600 allowed */
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, cwnd);
	set_flight(c, 1000, cwnd / 2); /* half of it: the window counts */
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, cwnd + 1460);
	c->cwnd = UINT32_MAX / 2;
	set_flight(c, 1000, UINT32_MAX / 2);
	tcp_cc_newreno.on_ack(c, 1460);
	assert_int_equal(c->cwnd, UINT32_MAX / 2);
	conn_free(c);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(cc_no_growth_when_not_cwnd_limited),
	cmocka_unit_test(cc_initial_window_rfc6928),
	cmocka_unit_test(cc_slow_start_counts_bytes_up_to_two_segments),
	cmocka_unit_test(cc_congestion_avoidance_one_segment_per_window),
	cmocka_unit_test(cc_congestion_halves_the_flight),
	cmocka_unit_test(cc_after_recovery_deflates),
	cmocka_unit_test(cc_rto_collapses_to_one_segment),
	cmocka_unit_test(cc_loss_restarts_the_byte_count),
	cmocka_unit_test(cc_after_idle_restarts_from_the_initial_window),
	cmocka_unit_test(cc_registry_finds_newreno),
};

USTCP_TEST_MAIN(tests)
