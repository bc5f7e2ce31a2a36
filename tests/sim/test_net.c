/* test_net.c — the IP layer under TCP on the simulated link: ARP (RFC 826,
 * RFC 1122 §2.3.2) resolving, queueing, refreshing and announcing, and ICMP
 * errors reaching TCP (RFC 1191 path MTU, RFC 1122 §4.2.3.9 soft and hard
 * errors, RFC 5927 validation). */
#include "harness.h"

static uint64_t ctr(const struct h_net *n, int side, enum ustcp_counter c)
{
	return ustcp_counter(n->st[side], c);
}

/* Without static entries, A's SYN waits for B's ARP reply and leaves with
 * it: the handshake takes one ARP round trip more, not a SYN timeout. */
static void arp_resolves_and_holds_the_first_segment(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	assert_true(h_now(n) < 10 * MS);
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_requests_out), 1);
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_queued), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_arp_replies_out), 1);
	/* B learned A from A's request: its SYN,ACK needed no ARP of its own. */
	assert_int_equal(ctr(n, H_B, USTCP_C_arp_requests_out), 0);
	assert_int_equal(ustcp_drops_total(n->st[H_A]) + ustcp_drops_total(n->st[H_B]), 0);
	assert_int_equal(h_info(a).retransmits, 0);
	h_exchange(n, a, b);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* The same over links with checksum offload and TSO: the held SYN keeps
 * what the driver must finish (its partial checksum), so B takes it. */
static void arp_held_frame_keeps_its_offload(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, USTCP_OFFLOAD_CSUM | USTCP_OFFLOAD_TSO);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_queued), 1);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	assert_int_equal(h_info(a).retransmits, 0);
	h_exchange(n, a, b);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* Run until k is CLOSED (at most limit); returns the time it took. */
static uint64_t run_until_closed(struct h_net *n, struct ustcp_sock *k, uint64_t limit)
{
	uint64_t t0 = h_now(n);
	while (ustcp_sock_state(k) != USTCP_CLOSED && h_now(n) - t0 < limit)
		h_run(n, 10 * MS);
	return h_now(n) - t0;
}

/* A connect to an address on the link that nobody has (RFC 1122 §2.3.2.1,
 * §4.2.3.9): ARP asks once a second, gives up after 3 s, and the connect
 * fails then with -EHOSTUNREACH (as Linux's does), not 78 s later with
 * -ETIMEDOUT; the SYNs that waited are dropped and counted. */
static void arp_unanswered_connect_fails_with_host_unreachable(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a;
	struct ustcp_endpoint any = {.port = 0},
			      to = {.ip4 = ntohl(inet_addr("10.0.0.9")), .port = 80};
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &a), 0);
	uint64_t took = run_until_closed(n, a, 100 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -EHOSTUNREACH);
	assert_true(took >= 3 * SEC && took <= 3 * SEC + 100 * MS);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_attempt_fails), 1);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_neigh_unreachable), 1);
	/* Asked at 0, 1 and 2 s; every SYN held meanwhile dropped and counted. */
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_requests_out), 3);
	assert_true(ctr(n, H_A, USTCP_C_arp_queued) >= 2);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_arp_unresolved),
			 ctr(n, H_A, USTCP_C_arp_queued));
	ustcp_close(a);
	h_finish(n, NULL);
}

/* More connects to the silent neighbour than the 16 frames the hold queue
 * keeps (the oldest SYNs are pushed out of it): every one of them still
 * fails with -EHOSTUNREACH when ARP gives up, one that begins later fails
 * 3 s after it began, and a connect to B, who answers, is not touched. The
 * requests stay at one a second however many SYNs wait. */
static void arp_failure_reaches_every_waiting_connect(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *l = h_listen(n), *k[24], *late, *ok = h_connect_start(n);
	struct ustcp_endpoint any = {.port = 0},
			      to = {.ip4 = ntohl(inet_addr("10.0.0.9")), .port = 80};
	for (int i = 0; i < 24; i++) {
		assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &k[i]), 0);
		if (i == 11)
			h_run(n, 500 * MS);
	}
	assert_true(ctr(n, H_A, USTCP_C_arp_queued) > 16);
	h_run(n, 2400 * MS); /* 2.9 s after the first request */
	for (int i = 0; i < 24; i++)
		assert_int_equal(ustcp_sock_state(k[i]), USTCP_SYN_SENT);
	h_run(n, 100 * MS); /* 3 s after the first request */
	for (int i = 0; i < 24; i++) {
		assert_int_equal(ustcp_sock_state(k[i]), USTCP_CLOSED);
		assert_int_equal(ustcp_sock_error(k[i]), -EHOSTUNREACH);
		ustcp_close(k[i]);
	}
	assert_int_equal(ustcp_sock_state(ok), USTCP_ESTABLISHED);
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_requests_out), 1 + 3); /* B, then 10.0.0.9 */
	/* Each SYN held is dropped once: pushed out of the full queue, or
	 * when ARP gives up. */
	assert_true(ustcp_drops(n->st[H_A], USTCP_DROP_neigh_queue_full) > 0);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_arp_unresolved), 16);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_neigh_queue_full) +
				 ustcp_drops(n->st[H_A], USTCP_DROP_arp_unresolved),
			 ctr(n, H_A, USTCP_C_arp_queued) - 1); /* less the SYN to B */
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &late), 0);
	uint64_t took = run_until_closed(n, late, 100 * SEC);
	assert_int_equal(ustcp_sock_error(late), -EHOSTUNREACH);
	assert_true(took >= 3 * SEC && took <= 3 * SEC + 100 * MS);
	ustcp_close(late);
	ustcp_abort(ok);
	h_finish(n, l);
}

/* The events of one socket seen by a handler that takes soft errors as
 * they come (as a program would). */
static struct ustcp_sock *err_sock;
static int err_taken, err_events;
static void take_soft_errors(void *ctx, struct ustcp_sock *k, unsigned events)
{
	(void)ctx;
	if (k != err_sock || !(events & USTCP_EV_ERROR))
		return;
	err_events++;
	int e = ustcp_sock_take_error(k);
	if (e)
		err_taken = e;
}

/* An established connection whose peer vanishes: its ARP entry ages out
 * (unconfirmed for 90 s), the next retransmission finds nobody answering,
 * and the connection hears of it as a soft error (RFC 1122 §4.2.3.9): it
 * goes on retrying, and when it finally gives up it reports -EHOSTUNREACH,
 * not -ETIMEDOUT. */
static void arp_failure_is_soft_for_an_established_connection(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 10; /* about 160 s */
	struct h_net *n = h_new_net(&ca, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	err_sock = a;
	err_taken = err_events = 0;
	ustcp_set_event_handler(n->st[H_A], take_soft_errors, NULL);
	n->blackhole[H_B] = true;
	h_send_all(a, "anyone there?");
	while (err_events == 0 && h_now(n) < 200 * SEC)
		h_run(n, 100 * MS);
	assert_int_equal(err_taken, -EHOSTUNREACH);
	assert_true(h_now(n) > 90 * SEC); /* the entry was used until it expired */
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_int_equal(h_info(a).soft_error, -EHOSTUNREACH);
	run_until_closed(n, a, 300 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -EHOSTUNREACH);
	assert_true(ustcp_drops(n->st[H_A], USTCP_DROP_arp_unresolved) > 0);
	assert_true(ctr(n, H_A, USTCP_C_tcp_neigh_unreachable) >= 2); /* told each time */
	ustcp_set_event_handler(n->st[H_A], NULL, NULL);
	ustcp_close(a);
	ustcp_abort(b);
	n->blackhole[H_B] = false;
	h_run(n, 5 * SEC); /* A's last RST waited for an answer: it comes now */
	h_finish(n, l);
}

/* A learned entry grows stale: after a minute it is asked for again while
 * still used, and an answer keeps it; unanswered, it is forgotten. */
static void arp_stale_entry_is_asked_again(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	uint64_t req = ctr(n, H_A, USTCP_C_arp_requests_out);
	h_run(n, 61 * SEC);
	h_exchange(n, a, b); /* still flows: the entry is used while asked */
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_requests_out), req + 1);
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_queued), 1); /* only the first SYN waited */
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* ustcp_announce (RFC 5227 §3): a gratuitous ARP. Per RFC 826 it only
 * refreshes caches that already hold the sender: A, whose entry for B was
 * growing stale, takes it as a confirmation and need not ask again. */
static void arp_announcement_refreshes(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	uint64_t req = ctr(n, H_A, USTCP_C_arp_requests_out);
	h_run(n, 59 * SEC);
	assert_int_equal(ustcp_announce(n->st[H_B], 0), 0);
	h_run(n, 5 * SEC); /* past the minute since A last heard from B */
	h_exchange(n, a, b);
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_requests_out), req);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* An ICMP error from "a router" to A about a segment A sent to B. */
static void icmp_to_a(struct h_net *n, uint8_t type, uint8_t code, uint16_t mtu, uint16_t lport,
		      uint32_t seq)
{
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
	uint8_t f[ETH_HLEN + IPV4_HLEN + ICMP_HLEN + IPV4_HLEN + 8];
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	memcpy(eh.dst, mac[H_A], 6);
	memcpy(eh.src, mac[H_B], 6);
	eth_emit(&eh, f);
	uint8_t *icmp = f + ETH_HLEN + IPV4_HLEN;
	uint8_t *quoted = icmp + ICMP_HLEN;
	struct ipv4_hdr qh = {.total_len = 1500,
			      .ttl = 63,
			      .proto = IPPROTO_TCP_,
			      .src = ntohl(h_ip(H_A)),
			      .dst = ntohl(h_ip(H_B))};
	ipv4_emit(&qh, quoted);
	uint8_t *t = quoted + IPV4_HLEN;
	t[0] = (uint8_t)(lport >> 8), t[1] = (uint8_t)lport;
	t[2] = (uint8_t)(PORT_B >> 8), t[3] = (uint8_t)PORT_B;
	t[4] = (uint8_t)(seq >> 24), t[5] = (uint8_t)(seq >> 16), t[6] = (uint8_t)(seq >> 8);
	t[7] = (uint8_t)seq;
	struct icmp_hdr ih = {.type = type, .code = code, .rest = mtu};
	size_t ilen = ICMP_HLEN + IPV4_HLEN + 8;
	icmp4_emit(&ih, icmp, ilen);
	struct ipv4_hdr oh = {.total_len = (uint16_t)(IPV4_HLEN + ilen),
			      .ttl = 64,
			      .proto = IPPROTO_ICMP_,
			      .src = ntohl(h_ip(H_B)),
			      .dst = ntohl(h_ip(H_A))};
	ipv4_emit(&oh, f + ETH_HLEN);
	ustcp_input(n->st[H_A], 0, f, sizeof(f), h_now(n));
}

/* Drop every data segment A sends that is larger than this (a link with a
 * smaller MTU that sends no ICMP of its own). */
static uint32_t big_limit;
static bool drop_big(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct h_net *n = ctx;
	if (port == n->port[H_A] && len > big_limit)
		return true;
	return h_filter(ctx, port, frame, len);
}

/* RFC 1191: "fragmentation needed" with a next-hop MTU of 1000 lowers A's
 * segments to 1000 - 40 - 12 (timestamps) bytes of data, resends what was
 * in flight at that size, and the transfer completes; cwnd is untouched. */
static void icmp_frag_needed_lowers_the_segment_size(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	big_limit = ETH_HLEN + 1000;
	ustcp_sim_set_filter(n->sim, drop_big, n);
	static char buf[20000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	assert_int_equal(ustcp_send(a, buf, sizeof(buf)), (long)sizeof(buf));
	struct ustcp_sock_info ia = h_info(a);
	assert_int_equal(ia.snd_mss, 1448);
	uint32_t cwnd = ia.cwnd;
	icmp_to_a(n, 3, 4, 1000, ia.local.port, ia.snd_una);
	ia = h_info(a);
	assert_int_equal(ia.snd_mss, 1000 - 40 - 12);
	assert_int_equal(ia.cwnd, cwnd);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_pmtu_updates), 1);
	h_run(n, 50 * MS);
	char got[sizeof(buf)];
	assert_int_equal(ustcp_recv(b, got, sizeof(got)), (long)sizeof(buf));
	assert_memory_equal(got, buf, sizeof(buf));
	assert_int_equal(h_info(a).rto_expirations, 0);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* RFC 5927 §4.1: an error quoting a sequence number that is not in flight
 * is a forgery (or very old) and changes nothing; so does one for a
 * connection we do not have. A larger MTU never raises the size. */
static void icmp_errors_validated(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	struct ustcp_sock_info ia = h_info(a);
	icmp_to_a(n, 3, 4, 1000, ia.local.port, ia.snd_una); /* nothing in flight */
	icmp_to_a(n, 3, 4, 1000, ia.local.port, ia.snd_una + 100000);
	icmp_to_a(n, 3, 1, 0, ia.local.port, ia.snd_una + 5);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_icmp_bad_seq), 3);
	icmp_to_a(n, 3, 4, 1000, (uint16_t)(ia.local.port + 1), ia.snd_una);
	assert_int_equal(ustcp_drops(n->st[H_A], USTCP_DROP_tcp_icmp_no_conn), 1);
	assert_int_equal(h_info(a).snd_mss, 1448);
	/* In flight now, but the "MTU" is not smaller than the path's. */
	n->blackhole[H_B] = true;
	h_send_all(a, "x");
	icmp_to_a(n, 3, 4, 1500, ia.local.port, ia.snd_una);
	assert_int_equal(h_info(a).snd_mss, 1448);
	/* And a tiny one is raised to 576, not believed. */
	icmp_to_a(n, 3, 4, 100, ia.local.port, ia.snd_una);
	assert_int_equal(h_info(a).snd_mss, 576 - 40 - 12);
	n->blackhole[H_B] = false;
	h_run(n, 2 * SEC);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* RFC 1122 §4.2.3.9: "port unreachable" refuses a connection in SYN-SENT;
 * once established, errors are soft: the connection goes on, and the error
 * is what a later timeout reports. */
static void icmp_hard_and_soft_errors(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 3;
	struct h_net *n = h_new_cfg(&ca, NULL);
	n->blackhole[H_B] = true;
	struct ustcp_sock *a = h_connect_start(n);
	struct ustcp_sock_info ia = h_info(a);
	icmp_to_a(n, 3, 3, 0, ia.local.port, ia.iss);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -ECONNREFUSED);
	ustcp_close(a);

	n->blackhole[H_B] = false;
	struct ustcp_sock *b, *l;
	h_establish(n, &a, &b, &l);
	n->blackhole[H_B] = true;
	h_send_all(a, "hello");
	ia = h_info(a);
	icmp_to_a(n, 3, 1, 0, ia.local.port, ia.snd_una); /* host unreachable: soft */
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_icmp_soft_errors), 2);
	h_run(n, 30 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -EHOSTUNREACH);
	ustcp_close(a);
	ustcp_abort(b);
	h_finish(n, l);
}

/* The events the stack delivered for one socket, or'ed together. */
static struct ustcp_sock *watched;
static unsigned watched_events;
static void watch_events(void *ctx, struct ustcp_sock *k, unsigned events)
{
	(void)ctx;
	if (k == watched)
		watched_events |= events;
}

/* RFC 1122 §4.2.3.9: a soft error is reported to the program. A "host
 * unreachable" about data in flight leaves the connection established, and
 * the program learns of it: an event, the error in ustcp_sock_info, and
 * ustcp_sock_take_error (SO_ERROR's way: taken once, then 0). The ending
 * error stays 0. Once the peer acknowledges data again the error is over;
 * a later timeout is a plain -ETIMEDOUT. */
static void soft_error_reported_to_the_program(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 3;
	struct h_net *n = h_new_cfg(&ca, NULL);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	watched = a;
	watched_events = 0;
	ustcp_set_event_handler(n->st[H_A], watch_events, NULL);
	n->blackhole[H_B] = true;
	h_send_all(a, "hello");
	struct ustcp_sock_info ia = h_info(a);
	assert_int_equal(ia.soft_error, 0);
	assert_int_equal(ustcp_sock_take_error(a), 0);
	icmp_to_a(n, 3, 1, 0, ia.local.port, ia.snd_una); /* host unreachable */
	assert_true(watched_events & USTCP_EV_ERROR);
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_int_equal(h_info(a).soft_error, -EHOSTUNREACH);
	assert_int_equal(ustcp_sock_take_error(a), -EHOSTUNREACH);
	assert_int_equal(ustcp_sock_take_error(a), 0); /* taken */
	assert_int_equal(h_info(a).soft_error, -EHOSTUNREACH);
	assert_int_equal(ustcp_sock_error(a), 0);

	/* The peer answers again: the data is acknowledged, the error is past. */
	n->blackhole[H_B] = false;
	h_run(n, 2 * SEC);
	h_expect_read(b, "hello");
	assert_int_equal(h_info(a).bytes_in_flight, 0);
	assert_int_equal(h_info(a).soft_error, 0);
	n->blackhole[H_B] = true;
	h_send_all(a, "again");
	h_run(n, 30 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -ETIMEDOUT);
	assert_int_equal(ustcp_sock_take_error(a), -ETIMEDOUT); /* the ending error, kept */
	assert_int_equal(ustcp_sock_error(a), -ETIMEDOUT);
	ustcp_set_event_handler(n->st[H_A], NULL, NULL);
	ustcp_close(a);
	ustcp_abort(b);
	n->blackhole[H_B] = false;
	h_finish(n, l);
}

/* A connect whose SYN drew a "host unreachable" and then timed out fails
 * with -EHOSTUNREACH, not -ETIMEDOUT (RFC 1122 §4.2.3.9), even after the
 * program took the soft error when it came. */
static void connect_after_host_unreachable_fails_with_it(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.syn_retries = 2;
	struct h_net *n = h_new_cfg(&ca, NULL);
	n->blackhole[H_B] = true;
	struct ustcp_sock *a = h_connect_start(n);
	watched = a;
	watched_events = 0;
	ustcp_set_event_handler(n->st[H_A], watch_events, NULL);
	struct ustcp_sock_info ia = h_info(a);
	icmp_to_a(n, 3, 1, 0, ia.local.port, ia.iss);
	assert_int_equal(ustcp_sock_state(a), USTCP_SYN_SENT);
	assert_true(watched_events & USTCP_EV_ERROR);
	assert_int_equal(ustcp_sock_take_error(a), -EHOSTUNREACH);
	h_run(n, 10 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -EHOSTUNREACH);
	assert_int_equal(ustcp_counter(n->st[H_A], USTCP_C_tcp_attempt_fails), 1);
	ustcp_set_event_handler(n->st[H_A], NULL, NULL);
	ustcp_close(a);
	h_free(n);
}

/* Send A's next data segment ("payload", in order) to B as IPv4 fragments
 * of the given payload offsets (multiples of 8), in the order given. */
static void fragments_to_b(struct h_net *n, struct ustcp_sock *a, const char *payload,
			   const uint32_t *cuts, const int *order, int nfrag, uint16_t id)
{
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
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
	uint32_t src = ntohl(h_ip(H_A)), dst = ntohl(h_ip(H_B));
	tcp_checksum_set4(seg, hl + plen, src, dst);
	uint32_t total = (uint32_t)(hl + plen);
	for (int k = 0; k < nfrag; k++) {
		int i = order[k];
		uint32_t from = cuts[i], to = i + 1 < nfrag ? cuts[i + 1] : total;
		uint8_t f[ETH_HLEN + IPV4_HLEN + 2000];
		struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
		memcpy(eh.dst, mac[H_B], 6);
		memcpy(eh.src, mac[H_A], 6);
		eth_emit(&eh, f);
		struct ipv4_hdr ih = {
			.total_len = (uint16_t)(IPV4_HLEN + to - from),
			.id = id,
			.frag = (uint16_t)((from / 8) | (i + 1 < nfrag ? IPV4_MF : 0)),
			.ttl = 64,
			.proto = IPPROTO_TCP_,
			.src = src,
			.dst = dst};
		ipv4_emit(&ih, f + ETH_HLEN);
		memcpy(f + ETH_HLEN + IPV4_HLEN, seg + from, to - from);
		ustcp_input(n->st[H_B], 0, f, ETH_HLEN + IPV4_HLEN + to - from, h_now(n));
	}
}

/* RFC 791 / RFC 815: a segment arriving as three fragments, the last one
 * first, is put together and delivered; a datagram missing a piece is
 * given up after the reassembly timeout and counted. */
static void ip_fragments_reassembled(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	const char *text = "a segment that a router had to cut into three fragments";
	const uint32_t cuts[] = {0, 24, 48};
	const int order[] = {2, 0, 1};
	fragments_to_b(n, a, text, cuts, order, 3, 77);
	assert_int_equal(ustcp_counter(n->st[H_B], USTCP_C_ip_reassembled), 1);
	h_expect_read(b, text);

	const int missing[] = {0, 2}; /* the middle never comes */
	fragments_to_b(n, a, "lost in the middle, this one never arrives whole", cuts, missing, 2,
		       78);
	assert_int_equal(ustcp_sock_readable(b), 0);
	h_run(n, 31 * SEC);
	fragments_to_b(n, a, text, cuts, order, 1, 79); /* any fragment: the table is looked at */
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_ip_frag_timeout), 1);
	/* A fragment not a multiple of 8 bytes that is not the last: malformed. */
	const uint32_t odd[] = {0, 20};
	const int both[] = {0, 1};
	fragments_to_b(n, a, text, odd, both, 2, 80);
	assert_int_equal(ustcp_drops(n->st[H_B], USTCP_DROP_ip_frag_bad), 1);
	ustcp_abort(a);
	ustcp_abort(b);
	h_finish(n, l);
}

/* An ARP entry gone stale (60 s) is asked for again while in use: the
 * segment that found it stale leaves intact, the request after it. */
static void stale_arp_entry_keeps_the_frame(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	h_exchange(n, a, b);
	h_run(n, 61 * SEC);
	h_send_all(a, "hello");
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_readable(b), 5);
	ustcp_abort(a);
	ustcp_abort(b);
	h_finish(n, l);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(stale_arp_entry_keeps_the_frame),
	cmocka_unit_test(ip_fragments_reassembled),
	cmocka_unit_test(arp_resolves_and_holds_the_first_segment),
	cmocka_unit_test(arp_held_frame_keeps_its_offload),
	cmocka_unit_test(arp_unanswered_connect_fails_with_host_unreachable),
	cmocka_unit_test(arp_failure_reaches_every_waiting_connect),
	cmocka_unit_test(arp_failure_is_soft_for_an_established_connection),
	cmocka_unit_test(arp_stale_entry_is_asked_again),
	cmocka_unit_test(arp_announcement_refreshes),
	cmocka_unit_test(icmp_frag_needed_lowers_the_segment_size),
	cmocka_unit_test(icmp_errors_validated),
	cmocka_unit_test(icmp_hard_and_soft_errors),
	cmocka_unit_test(soft_error_reported_to_the_program),
	cmocka_unit_test(connect_after_host_unreachable_fails_with_it),
};

USTCP_TEST_MAIN(tests)
