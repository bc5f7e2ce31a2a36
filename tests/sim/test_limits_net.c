/* test_limits_net.c — what the network can make the stack hold: neighbour
 * entries (neigh_max), frames waiting for ARP (neigh_pending), datagrams
 * in reassembly (frag_max) and their bytes (frag_bytes). Each is pushed
 * past its limit from the link; what the stack holds never exceeds it,
 * everything given up is counted, and the stack still serves afterwards. */
#include "harness.h"

#include <stddef.h>

#include "core/util.h"

static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 3}, mac_b[6] = {2, 0, 0, 0, 0, 1};

static uint64_t ctr(const struct h_net *n, int side, enum ustcp_counter c)
{
	return ustcp_counter(n->st[side], c);
}

static uint64_t drops(const struct h_net *n, int side, enum ustcp_drop d)
{
	return ustcp_drops(n->st[side], d);
}

static struct ustcp_net_usage usage(const struct h_net *n, int side)
{
	struct ustcp_net_usage u;
	ustcp_net_usage(n->st[side], &u);
	return u;
}

/* The held state of B within cfg's limits. */
static void assert_within(const struct h_net *n, const struct ustcp_config *cfg)
{
	struct ustcp_net_usage u = usage(n, H_B);
	assert_true(u.neigh <= cfg->neigh_max);
	assert_true(u.neigh_pending <= cfg->neigh_pending);
	assert_true(u.frags <= cfg->frag_max);
	assert_true(u.frag_bytes <= cfg->frag_bytes);
}

/* A spoofed host on the link: 10.0.0.(100 + i), a MAC of its own. */
static uint32_t spoofed_ip(int i) { return ntohl(inet_addr("10.0.0.100")) + (uint32_t)i; }

/* Hand B an IPv4 packet (src in host order) with this ID and fragment
 * field, from src_mac. */
static void ip4_to_b(struct h_net *n, const uint8_t src_mac[6], uint32_t src, uint16_t id,
		     uint16_t frag, uint8_t proto, const uint8_t *p, size_t len)
{
	uint8_t f[ETH_HLEN + IPV4_HLEN + 2000];
	assert_true(len <= 2000);
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	memcpy(eh.dst, mac_b, 6);
	memcpy(eh.src, src_mac, 6);
	eth_emit(&eh, f);
	struct ipv4_hdr ih = {.total_len = (uint16_t)(IPV4_HLEN + len),
			      .id = id,
			      .frag = frag,
			      .ttl = 64,
			      .proto = proto,
			      .src = src,
			      .dst = ntohl(h_ip(H_B))};
	ipv4_emit(&ih, f + ETH_HLEN);
	memcpy(f + ETH_HLEN + IPV4_HLEN, p, len);
	ustcp_input(n->st[H_B], 0, f, ETH_HLEN + IPV4_HLEN + len, h_now(n));
}

/* A SYN to B's listener from spoofed host i. */
static void spoofed_syn(struct h_net *n, int i)
{
	uint8_t mac[6] = {2, 0, 0, 1, 0, (uint8_t)i}, seg[TCP_HLEN];
	struct tcp_hdr th = {.sport = (uint16_t)(1000 + i),
			     .dport = PORT_B,
			     .seq = 7777u * (uint32_t)i,
			     .flags = TCP_SYN,
			     .win = 1000};
	size_t hl = tcp_emit(&th, seg);
	tcp_checksum_set4(seg, hl, spoofed_ip(i), ntohl(h_ip(H_B)));
	ip4_to_b(n, mac, spoofed_ip(i), 0, 0, IPPROTO_TCP_, seg, hl);
}

static struct ustcp_sock *accept_within(struct h_net *n, struct ustcp_sock *l, uint64_t limit)
{
	struct ustcp_sock *k = NULL;
	for (uint64_t t = 0; t < limit && !k; t += MS) {
		h_run(n, MS);
		ustcp_accept(l, &k);
	}
	return k;
}

/* A new connection from A to B's listener moves data both ways. */
static void new_connection_serves(struct h_net *n, struct ustcp_sock *lb)
{
	struct ustcp_sock *ca = h_connect_start(n);
	struct ustcp_sock *cb = accept_within(n, lb, 100 * MS);
	assert_non_null(cb);
	h_exchange(n, ca, cb);
	ustcp_close(ca);
	ustcp_close(cb);
}

#define SPOOFED 64

/* SYNs from 64 on-link addresses nobody answers ARP for, to a listener
 * that always answers with a cookie: every SYN,ACK waits for ARP. B (8
 * entries, 4 frames) holds no more than that; each spoofed address gets
 * one request; the frames pushed out of the queue and those that wait
 * out ARP add up to every SYN,ACK; the incomplete entries push out only
 * each other, so A's answered entry stays and the connection through it
 * carries on without asking again; and a new connection from A is made. */
static void neigh_flood_stays_bounded(void **state)
{
	(void)state;
	struct ustcp_config cb;
	h_init_cfg(&cb, 1);
	cb.neigh_max = 8;
	cb.neigh_pending = 4;
	cb.syncookies = 2;
	struct h_net *n = h_new_net(NULL, &cb, true, 0);
	struct ustcp_sock *ca, *cbk, *lb;
	h_establish(n, &ca, &cbk, &lb);
	assert_int_equal(usage(n, H_B).neigh, 1); /* A, learned from its request */
	uint64_t queued0 = ctr(n, H_B, USTCP_C_arp_queued);
	uint64_t asked0 = ctr(n, H_B, USTCP_C_arp_requests_out);
	uint64_t cookies0 = ctr(n, H_B, USTCP_C_tcp_syncookies_sent);

	for (int i = 0; i < SPOOFED; i++) {
		spoofed_syn(n, i);
		assert_within(n, &cb);
	}
	struct ustcp_net_usage u = usage(n, H_B);
	assert_int_equal(u.neigh, 8);
	assert_int_equal(u.neigh_pending, 4);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_syncookies_sent) - cookies0, SPOOFED);
	assert_int_equal(ctr(n, H_B, USTCP_C_arp_queued) - queued0, SPOOFED);
	assert_int_equal(ctr(n, H_B, USTCP_C_arp_requests_out) - asked0, SPOOFED);
	assert_int_equal(drops(n, H_B, USTCP_DROP_neigh_queue_full), SPOOFED - 4);
	/* 7 entries were free; every later address took an incomplete one. */
	assert_int_equal(ctr(n, H_B, USTCP_C_neigh_evicted), SPOOFED - 7);
	assert_int_equal(ctr(n, H_B, USTCP_C_neigh_table_full), 0);

	h_exchange(n, ca, cbk);
	assert_int_equal(ctr(n, H_B, USTCP_C_arp_requests_out) - asked0, SPOOFED);

	/* ARP gives up on the rest: the frames still held are dropped. */
	for (int i = 0; i < 40; i++) {
		h_run(n, 100 * MS);
		assert_within(n, &cb);
	}
	assert_int_equal(drops(n, H_B, USTCP_DROP_arp_unresolved), 4);
	assert_int_equal(drops(n, H_B, USTCP_DROP_neigh_queue_full) +
				 drops(n, H_B, USTCP_DROP_arp_unresolved),
			 SPOOFED);
	u = usage(n, H_B);
	assert_int_equal(u.neigh, 1);
	assert_int_equal(u.neigh_pending, 0);

	h_exchange(n, ca, cbk);
	new_connection_serves(n, lb);
	ustcp_close(ca);
	ustcp_close(cbk);
	h_finish(n, lb);
}

/* A table of static entries only (A's three, from the simulated link)
 * has no room for a neighbour to ask for: that is counted, the frame
 * still waits its 3 s and is dropped, and A is served throughout. */
static void neigh_table_of_static_entries(void **state)
{
	(void)state;
	struct ustcp_config cb;
	h_init_cfg(&cb, 1);
	cb.neigh_max = 3;
	cb.syncookies = 2;
	struct h_net *n = h_new_cfg(NULL, &cb);
	assert_int_equal(usage(n, H_B).neigh, 3); /* IPv4, IPv6, link-local */
	struct ustcp_sock *lb = h_listen(n);
	spoofed_syn(n, 0);
	spoofed_syn(n, 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_neigh_table_full), 2);
	assert_int_equal(ctr(n, H_B, USTCP_C_neigh_evicted), 0);
	assert_int_equal(usage(n, H_B).neigh, 3);
	assert_int_equal(usage(n, H_B).neigh_pending, 2);
	new_connection_serves(n, lb);
	h_run(n, 3100 * MS);
	assert_int_equal(drops(n, H_B, USTCP_DROP_arp_unresolved), 2);
	assert_int_equal(usage(n, H_B).neigh_pending, 0);
	new_connection_serves(n, lb);
	h_finish(n, lb);
}

/* A's next data segment ("payload", in order) to B as IPv4 fragments cut
 * at these payload offsets (multiples of 8). */
static void segment_in_fragments(struct h_net *n, struct ustcp_sock *a, const char *payload,
				 const uint32_t *cuts, int nfrag, uint16_t id)
{
	struct ustcp_sock_info ia = h_info(a);
	uint8_t seg[2000];
	struct tcp_hdr th = {.sport = ia.local.port,
			     .dport = PORT_B,
			     .seq = ia.snd_nxt,
			     .ack = ia.rcv_nxt,
			     .flags = TCP_ACK | TCP_PSH,
			     .win = 1000};
	size_t hl = tcp_emit(&th, seg);
	size_t plen = strlen(payload);
	memcpy(seg + hl, payload, plen);
	uint32_t src = ntohl(h_ip(H_A));
	tcp_checksum_set4(seg, hl + plen, src, ntohl(h_ip(H_B)));
	uint32_t total = (uint32_t)(hl + plen);
	for (int i = 0; i < nfrag; i++) {
		uint32_t from = cuts[i], to = i + 1 < nfrag ? cuts[i + 1] : total;
		uint16_t frag = (uint16_t)((from / 8) | (i + 1 < nfrag ? IPV4_MF : 0));
		ip4_to_b(n, mac_a, src, id, frag, IPPROTO_TCP_, seg + from, to - from);
	}
}

#define FIRSTS 100 /* first fragments, 1480 bytes each */
#define FARS 20    /* fragments near the end of a 64 KiB datagram */

/* Fragments of datagrams that never complete: first the start of 100
 * (more than frag_max 4), then a piece near the end of 20 more, each of
 * which needs a buffer of almost 64 KiB (more than frag_bytes 128 KiB
 * holds two of). B never holds more than either limit; every datagram
 * begun is held or counted as given up, under the limit that gave it up;
 * and a segment A sends in fragments afterwards is put together. */
static void frag_flood_stays_bounded(void **state)
{
	(void)state;
	struct ustcp_config cb;
	h_init_cfg(&cb, 1);
	cb.frag_max = 4;
	cb.frag_bytes = 128 * 1024;
	struct h_net *n = h_new_cfg(NULL, &cb);
	struct ustcp_sock *ca, *cbk, *lb;
	h_establish(n, &ca, &cbk, &lb);
	static uint8_t junk[1480];
	memset(junk, 0xa5, sizeof(junk));
	uint8_t mac[6] = {2, 0, 0, 1, 0, 0};

	for (int i = 0; i < FIRSTS; i++) {
		ip4_to_b(n, mac, spoofed_ip(i % 8), (uint16_t)(1000 + i), IPV4_MF, IPPROTO_TCP_,
			 junk, sizeof(junk));
		assert_within(n, &cb);
	}
	struct ustcp_net_usage u = usage(n, H_B);
	assert_int_equal(u.frags, 4);
	assert_true(u.frag_bytes >= 4 * sizeof(junk));
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_frag_evicted), FIRSTS - 4);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_frag_no_room), 0);

	uint64_t most = 0;
	for (int i = 0; i < FARS; i++) {
		/* 1000 bytes at 63992: the datagram reaches 64,992 bytes. */
		ip4_to_b(n, mac, spoofed_ip(i % 8), (uint16_t)(2000 + i), IPV4_MF | (63992 / 8),
			 IPPROTO_TCP_, junk, 1000);
		assert_within(n, &cb);
		most = MAX(most, usage(n, H_B).frag_bytes);
	}
	u = usage(n, H_B);
	assert_true(most > 64992);
	/* The first two far ones took the slots of the last firsts (two
	 * for want of a slot, two for want of bytes); each later one the
	 * bytes of the oldest far one. */
	assert_int_equal(u.frags, 2);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_frag_evicted), FIRSTS - 4 + 2);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_frag_no_room), 2 + FARS - 2);
	assert_int_equal(u.frags + drops(n, H_B, USTCP_DROP_ip_frag_evicted) +
				 drops(n, H_B, USTCP_DROP_ip_frag_no_room),
			 FIRSTS + FARS);
	assert_int_equal(ctr(n, H_B, USTCP_C_ip_reassembled), 0);

	const char *text = "a segment cut into three fragments after the flood";
	const uint32_t cuts[] = {0, 24, 48};
	segment_in_fragments(n, ca, text, cuts, 3, 77);
	assert_within(n, &cb);
	assert_int_equal(ctr(n, H_B, USTCP_C_ip_reassembled), 1);
	h_expect_read(cbk, text);
	/* The segment's bytes went with it: only what the flood left is held. */
	assert_true(usage(n, H_B).frag_bytes <= u.frag_bytes);
	ustcp_abort(ca);
	ustcp_abort(cbk);
	new_connection_serves(n, lb);
	h_finish(n, lb);
}

/* Each limit is refused at 0 and beyond its bound, with EINVAL, and
 * taken at its bounds. */
static void net_limits_validated(void **state)
{
	(void)state;
	struct {
		size_t off;
		uint32_t bad[2], good[2];
	} cases[] = {
		{offsetof(struct ustcp_config, neigh_max), {0, 4097}, {1, 4096}},
		{offsetof(struct ustcp_config, neigh_pending), {0, 4097}, {1, 4096}},
		{offsetof(struct ustcp_config, frag_max), {0, 4097}, {1, 4096}},
		{offsetof(struct ustcp_config, frag_bytes),
		 {65534, (1u << 30) + 1},
		 {65535, 1u << 30}},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int k = 0; k < 2; k++) {
			struct ustcp_config cfg;
			ustcp_config_default(&cfg);
			memcpy((char *)&cfg + cases[c].off, &cases[c].bad[k], sizeof(uint32_t));
			errno = 0;
			assert_null(ustcp_stack_new(&cfg));
			assert_int_equal(errno, EINVAL);
			memcpy((char *)&cfg + cases[c].off, &cases[c].good[k], sizeof(uint32_t));
			struct ustcp_stack *s = ustcp_stack_new(&cfg);
			assert_non_null(s);
			ustcp_stack_free(s);
		}
	}
	struct ustcp_config def;
	ustcp_config_default(&def);
	assert_int_equal(def.neigh_max, 64);
	assert_int_equal(def.neigh_pending, 16);
	assert_int_equal(def.frag_max, 8);
	assert_int_equal(def.frag_bytes, 8 * 65536);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(neigh_flood_stays_bounded),
	cmocka_unit_test(neigh_table_of_static_entries),
	cmocka_unit_test(frag_flood_stays_bounded),
	cmocka_unit_test(net_limits_validated),
};

USTCP_TEST_MAIN(tests)
