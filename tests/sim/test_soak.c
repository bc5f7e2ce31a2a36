/* test_soak.c — data over a hostile simulated link: loss, duplication,
 * reordering, corruption, jitter and a rate-limited queue, seeded. Every
 * byte must arrive, in order, exactly once, and every connection must end. */
#include "harness.h"

#define SOAK_BYTES (64 * 1024)

struct pump {
	struct ustcp_sock *k;
	uint8_t *out, *in;
	size_t sent, got;
	bool shut;
};

static void fill(uint8_t *p, size_t n, uint32_t salt)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 2654435761u + salt) >> 13);
}

/* Push what the send buffer takes, read what arrived, close when done. */
static void pump_step(struct pump *p)
{
	if (p->sent < SOAK_BYTES) {
		long n = ustcp_send(p->k, p->out + p->sent, SOAK_BYTES - p->sent);
		if (n > 0)
			p->sent += (size_t)n;
	} else if (!p->shut) {
		assert_int_equal(ustcp_shutdown(p->k, USTCP_SHUT_WR), 0);
		p->shut = true;
	}
	for (;;) {
		long n = ustcp_recv(p->k, p->in + p->got, SOAK_BYTES + 1 - p->got);
		if (n <= 0)
			break;
		p->got += (size_t)n;
		assert_true(p->got <= SOAK_BYTES);
	}
}

static void soak(const struct ustcp_impair *imp, uint64_t seed)
{
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, seed);
	h_init_cfg(&cb, seed + 1);
	ca.msl = cb.msl = 1 * SEC;
	ca.data_retries = cb.data_retries = 30;
	struct h_net *n = h_new_cfg(&ca, &cb);
	for (int i = 0; i < 2; i++)
		ustcp_sim_set_impair(n->sim, n->port[i], imp);
	struct ustcp_sock *l = h_listen(n);
	struct pump pa = {h_connect_start(n), malloc(SOAK_BYTES), malloc(SOAK_BYTES + 1), 0, 0, 0};
	struct pump pb = {NULL, malloc(SOAK_BYTES), malloc(SOAK_BYTES + 1), 0, 0, 0};
	fill(pa.out, SOAK_BYTES, 1);
	fill(pb.out, SOAK_BYTES, 2);
	for (int i = 0; i < 200000 && (!pb.k || !ustcp_sock_eof(pa.k) || !ustcp_sock_eof(pb.k));
	     i++) {
		h_run(n, 5 * MS);
		if (!pb.k)
			ustcp_accept(l, &pb.k);
		if (ustcp_sock_state(pa.k) >= USTCP_ESTABLISHED)
			pump_step(&pa);
		if (pb.k)
			pump_step(&pb);
		assert_int_equal(ustcp_sock_error(pa.k), 0);
	}
	assert_non_null(pb.k);
	if (getenv("H_DUMP")) {
		struct ustcp_sock_info x[2] = {h_info(pa.k), h_info(pb.k)};
		for (int i = 0; i < 2; i++)
			fprintf(stderr,
				"%c: st %d una %u nxt %u max %u wnd %u rcv_nxt %u rwnd %u cwnd %u "
				"rto %llu backoff %u ooo %u\n",
				'A' + i, x[i].state, x[i].snd_una, x[i].snd_nxt, x[i].snd_max,
				x[i].snd_wnd, x[i].rcv_nxt, x[i].rcv_wnd, x[i].cwnd,
				(unsigned long long)x[i].rto, x[i].backoff, x[i].rcv_ooo_bytes);
		h_dump(n);
	}
	assert_int_equal(pa.got, SOAK_BYTES);
	assert_int_equal(pb.got, SOAK_BYTES);
	assert_memory_equal(pa.in, pb.out, SOAK_BYTES);
	assert_memory_equal(pb.in, pa.out, SOAK_BYTES);
	struct ustcp_impair_stats st;
	ustcp_sim_get_stats(n->sim, n->port[H_A], &st);
	print_message("seed %llu: %.3f s, rexmit %llu/%llu, lost %llu dup %llu reord %llu corrupt "
		      "%llu qdrop %llu of %llu\n",
		      (unsigned long long)seed, (double)h_now(n) / SEC,
		      (unsigned long long)ustcp_counter(n->st[H_A], USTCP_C_tcp_retransmits),
		      (unsigned long long)ustcp_counter(n->st[H_B], USTCP_C_tcp_retransmits),
		      (unsigned long long)st.lost, (unsigned long long)st.duplicated,
		      (unsigned long long)st.reordered, (unsigned long long)st.corrupted,
		      (unsigned long long)st.queue_drops, (unsigned long long)st.frames);
	ustcp_close(pa.k);
	ustcp_close(pb.k);
	ustcp_close(l);
	h_run(n, 120 * SEC); /* TIME-WAIT and any retransmission end */
	assert_int_equal(h_conns(n, H_A), 0);
	assert_int_equal(h_conns(n, H_B), 0);
	free(pa.out);
	free(pa.in);
	free(pb.out);
	free(pb.in);
	h_free(n);
}

static void soak_clean_link(void **state)
{
	(void)state;
	struct ustcp_impair imp = {.delay = 5 * MS};
	soak(&imp, 11);
}

static void soak_loss(void **state)
{
	(void)state;
	struct ustcp_impair imp = {.delay = 5 * MS, .loss = 0.03};
	for (uint64_t seed = 20; seed < 23; seed++)
		soak(&imp, seed);
}

static void soak_everything(void **state)
{
	(void)state;
	struct ustcp_impair imp = {
		.delay = 5 * MS,
		.jitter = 2 * MS,
		.loss = 0.02,
		.duplicate = 0.02,
		.reorder = 0.02,
		.reorder_delay = 8 * MS,
		.corrupt = 0.02,
	};
	for (uint64_t seed = 30; seed < 33; seed++)
		soak(&imp, seed);
}

static void soak_rate_limited_queue(void **state)
{
	(void)state;
	struct ustcp_impair imp = {.delay = 10 * MS, .rate_bps = 2000000, .queue_bytes = 16000};
	soak(&imp, 40);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(soak_clean_link),
	cmocka_unit_test(soak_loss),
	cmocka_unit_test(soak_everything),
	cmocka_unit_test(soak_rate_limited_queue),
};

USTCP_TEST_MAIN(tests)
