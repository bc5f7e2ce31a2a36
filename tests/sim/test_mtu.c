/* test_mtu.c — interface MTUs from RFC 791's 68 bytes to a loopback-sized
 * 65535: what is accepted, what is refused, and TCP over the extremes
 * (segments that fill the link, checksums that hold, MSS from the MTU). An
 * interface below IPv6's 1280 (RFC 8200 §5) carries IPv4 only. */
#include "harness.h"

/* ---- what both stacks send, checked frame by frame ---- */

struct frames {
	struct h_net *n;
	size_t max_len[2]; /* largest frame each side sent */
	int big[2];        /* TCP segments with an IP packet over 9000 bytes */
	int bad_csum;      /* TCP segments whose checksum does not hold */
	int tcp[2];        /* TCP segments seen */
	int v6[2], v4[2];  /* IP packets of each version */
};

static void frames_trace(void *ctx, const struct ustcp_trace_event *ev)
{
	struct frames *f = ctx;
	h_trace(f->n, ev);
	if (ev->dir != USTCP_TRACE_OUT)
		return;
	int side = ev->stack == f->n->st[H_A] ? H_A : H_B;
	if (ev->len > f->max_len[side])
		f->max_len[side] = ev->len;
	struct eth_hdr eh;
	if (eth_parse(ev->frame, ev->len, &eh) < 0)
		return;
	const uint8_t *ip = ev->frame + ETH_HLEN;
	size_t iplen = ev->len - ETH_HLEN;
	if (eh.type == ETHERTYPE_IPV4) {
		struct ipv4_hdr ih;
		assert_true(ipv4_parse(ip, iplen, &ih) >= 0);
		f->v4[side]++;
		if (ih.proto != IPPROTO_TCP_)
			return;
		f->tcp[side]++;
		f->big[side] += ih.total_len > 9000;
		if (!tcp_checksum_ok4(ip + ih.hlen, ih.total_len - ih.hlen, ih.src, ih.dst))
			f->bad_csum++;
	} else if (eh.type == ETHERTYPE_IPV6) {
		struct ipv6_hdr ih;
		assert_true(ipv6_parse(ip, iplen, &ih) >= 0);
		f->v6[side]++;
		if (ih.proto != IPPROTO_TCP_)
			return;
		f->tcp[side]++;
		f->big[side] += IPV6_HLEN + (size_t)ih.payload_len > 9000;
		size_t seglen = IPV6_HLEN + (size_t)ih.payload_len - ih.hdr_len;
		if (!tcp_checksum_ok6(ip + ih.hdr_len, seglen, ih.src, ih.dst))
			f->bad_csum++;
	}
}

static struct frames *frames_new(struct h_net *n)
{
	struct frames *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->n = n;
	ustcp_set_trace(n->st[H_A], frames_trace, f);
	ustcp_set_trace(n->st[H_B], frames_trace, f);
	return f;
}

/* Two stacks whose interfaces have this MTU (from the config). */
static struct h_net *net_with_mtu(uint16_t mtu)
{
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 3);
	h_init_cfg(&cb, 1);
	ca.mtu = cb.mtu = mtu;
	return h_new_cfg(&ca, &cb);
}

/* Connect from A to B's IPv6 address (port PORT6) and run until both are
 * established. */
#define PORT6 (PORT_B + 1)
static void establish6(struct h_net *n, struct ustcp_sock **ca, struct ustcp_sock **cb,
		       struct ustcp_sock **lb)
{
	struct ustcp_endpoint any = {.port = PORT6}, to = h_ep6(H_B, PORT6), local = {.port = 0};
	assert_int_equal(ustcp_listen_on(n->st[H_B], any, 16, lb), 0);
	assert_int_equal(ustcp_connect_to(n->st[H_A], local, to, ca), 0);
	*cb = NULL;
	for (int i = 0; i < 100 && !*cb; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(*lb, cb);
	}
	assert_non_null(*cb);
	assert_int_equal(ustcp_sock_state(*ca), USTCP_ESTABLISHED);
}

static uint8_t pattern(size_t off) { return (uint8_t)(off * 7 + off / 251); }

/* Send total bytes from a to b and check every one of them arrives. */
static void transfer(struct h_net *n, struct ustcp_sock *a, struct ustcp_sock *b, size_t total)
{
	static uint8_t buf[1 << 16];
	size_t sent = 0, got = 0;
	for (int i = 0; i < 20000 && got < total; i++) {
		while (sent < total) {
			size_t len = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
			for (size_t k = 0; k < len; k++)
				buf[k] = pattern(sent + k);
			long r = ustcp_send(a, buf, len);
			if (r <= 0)
				break;
			sent += (size_t)r;
		}
		h_run(n, 1 * MS);
		long r;
		while ((r = ustcp_recv(b, buf, sizeof(buf))) > 0) {
			for (long k = 0; k < r; k++)
				assert_int_equal(buf[k], pattern(got + (size_t)k));
			got += (size_t)r;
		}
	}
	assert_int_equal(got, total);
}

/* A loopback-sized link (MTU 65535) on both stacks: the MSS is the MTU
 * less the headers (65535 - 40 over IPv4, - 60 over IPv6; timestamps take
 * 12 more of the send MSS), segments far above 9000 bytes go out whole
 * with checksums that hold, and the data arrives intact, over IPv4 and
 * over IPv6. */
static void mtu_65535_carries_64k_segments(void **state)
{
	(void)state;
	struct h_net *n = net_with_mtu(65535);
	struct frames *f = frames_new(n);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l);
	struct ustcp_sock_info ia = h_info(a);
	assert_int_equal(ia.rcv_mss, 65535 - 40);
	assert_int_equal(ia.snd_mss, 65535 - 40 - 12);
	transfer(n, a, b, 2u << 20);
	assert_true(f->big[H_A] > 10);
	assert_int_equal(f->max_len[H_A], ETH_HLEN + 65535);
	ustcp_close(a);
	ustcp_close(b);
	ustcp_close(l);

	struct ustcp_sock *a6, *b6, *l6;
	establish6(n, &a6, &b6, &l6);
	ia = h_info(a6);
	assert_int_equal(ia.rcv_mss, 65535 - 60);
	assert_int_equal(ia.snd_mss, 65535 - 60 - 12);
	int big4 = f->big[H_A];
	transfer(n, a6, b6, 2u << 20);
	assert_true(f->big[H_A] > big4 + 10);
	assert_true(f->v6[H_A] > 10);
	assert_int_equal(f->bad_csum, 0);
	assert_int_equal(ustcp_drops_total(n->st[H_A]) + ustcp_drops_total(n->st[H_B]), 0);
	ustcp_close(a6);
	ustcp_close(b6);
	ustcp_set_trace(n->st[H_A], h_trace, n);
	ustcp_set_trace(n->st[H_B], h_trace, n);
	free(f);
	h_finish(n, l6);
}

/* RFC 791's minimum, 68: an IPv4-only link (no IPv6 address, not even a
 * link-local one), over which TCP still works, every packet within 68
 * bytes: the MSS offered is 68 - 40 = 28, not raised to a floor the link
 * cannot carry. */
static void mtu_68_carries_ipv4_only(void **state)
{
	(void)state;
	struct h_net *n = net_with_mtu(68);
	struct frames *f = frames_new(n);
	uint8_t ll[16];
	assert_int_equal(ustcp_iface_linklocal6(n->st[H_A], 0, ll), -EADDRNOTAVAIL);
	struct ustcp_sock *a, *b, *l, *k;
	struct ustcp_endpoint any = {.port = 0}, to6 = h_ep6(H_B, PORT_B);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to6, &k), -ENETUNREACH);
	h_establish(n, &a, &b, &l);
	struct ustcp_sock_info ia = h_info(a), ib = h_info(b);
	assert_int_equal(ia.rcv_mss, 28);
	assert_int_equal(ib.rcv_mss, 28);
	assert_int_equal(ia.snd_mss, 28 - 12);
	transfer(n, a, b, 3000);
	h_exchange(n, a, b);
	assert_true(f->tcp[H_A] > 3000 / 16);
	assert_true(f->max_len[H_A] <= ETH_HLEN + 68);
	assert_true(f->max_len[H_B] <= ETH_HLEN + 68);
	assert_int_equal(f->v6[H_A] + f->v6[H_B], 0);
	assert_int_equal(f->bad_csum, 0);
	ustcp_close(a);
	ustcp_close(b);
	ustcp_set_trace(n->st[H_A], h_trace, n);
	ustcp_set_trace(n->st[H_B], h_trace, n);
	free(f);
	h_finish(n, l);
}

/* IPv6's minimum link MTU, 1280 (RFC 8200 §5): TCP over IPv6 fills it. */
static void mtu_1280_carries_ipv6(void **state)
{
	(void)state;
	struct h_net *n = net_with_mtu(1280);
	struct frames *f = frames_new(n);
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	struct ustcp_sock_info ia = h_info(a);
	assert_int_equal(ia.snd_mss, 1280 - 60 - 12);
	transfer(n, a, b, 100000);
	assert_int_equal(f->max_len[H_A], ETH_HLEN + 1280);
	assert_int_equal(f->bad_csum, 0);
	ustcp_close(a);
	ustcp_close(b);
	ustcp_set_trace(n->st[H_A], h_trace, n);
	ustcp_set_trace(n->st[H_B], h_trace, n);
	free(f);
	h_finish(n, l);
}

static int drop_frame(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	(void)frame;
	(void)len;
	return 0;
}

/* MTUs outside 68..65535, and an IPv6 address on a link below 1280, are
 * refused with -EINVAL; the ends of the range are taken. */
static void mtu_out_of_range_refused(void **state)
{
	(void)state;
	struct ustcp_config cfg;
	static const uint16_t bad[] = {0, 1, 67};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ustcp_config_default(&cfg);
		cfg.mtu = bad[i];
		errno = 0;
		assert_null(ustcp_stack_new(&cfg));
		assert_int_equal(errno, EINVAL);
	}
	static const uint16_t good[] = {68, 1279, 1280, 9001, 65535};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ustcp_config_default(&cfg);
		cfg.mtu = good[i];
		struct ustcp_stack *s = ustcp_stack_new(&cfg);
		assert_non_null(s);
		ustcp_stack_free(s);
	}

	struct ustcp_stack *s = ustcp_stack_new(NULL);
	assert_non_null(s);
	struct ustcp_iface_config ic = {.mac = {2, 0, 0, 0, 0, 7},
					.ip4 = inet_addr("10.0.0.7"),
					.prefix_len = 24,
					.transmit = drop_frame};
	ic.mtu = 67;
	assert_int_equal(ustcp_iface_add(s, &ic), -EINVAL);
	/* Below 1280 an interface carries IPv4 only: an IPv6 address or
	 * router on it is refused. */
	ic.mtu = 1279;
	ustcp_sim_ip6(ic.ip4, ic.ip6);
	ic.prefix6_len = 64;
	assert_int_equal(ustcp_iface_add(s, &ic), -EINVAL);
	memset(ic.ip6, 0, 16);
	ic.prefix6_len = 0;
	ic.gateway6[0] = 0xfe;
	ic.gateway6[1] = 0x80;
	ic.gateway6[15] = 1;
	assert_int_equal(ustcp_iface_add(s, &ic), -EINVAL);
	memset(ic.gateway6, 0, 16);
	int small = ustcp_iface_add(s, &ic);
	assert_int_equal(small, 0);
	uint8_t ll[16], peer[16] = {0xfe, 0x80, [15] = 9};
	assert_int_equal(ustcp_iface_linklocal6(s, small, ll), -EADDRNOTAVAIL);
	assert_int_equal(ustcp_neigh_add6(s, small, peer, ic.mac), -EINVAL);
	ic.mtu = 1280;
	assert_int_equal(ustcp_iface_add(s, &ic), 1);
	assert_int_equal(ustcp_iface_linklocal6(s, 1, ll), 0);
	ic.mtu = 65535;
	assert_int_equal(ustcp_iface_add(s, &ic), 2);
	ustcp_stack_free(s);
}

/* ---- an interface above the config's MTU ---- */

static size_t big_reply_len;
static int keep_len(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	(void)frame;
	if (len > big_reply_len)
		big_reply_len = len;
	return 0;
}

/* A stack made with the default MTU (1500) takes an interface of 65535:
 * its frames grow to fit, so a 60000-byte echo request is answered whole. */
static void iface_mtu_above_config_grows_frames(void **state)
{
	(void)state;
	struct ustcp_stack *s = ustcp_stack_new(NULL);
	assert_non_null(s);
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 7}, peer_mac[6] = {2, 0, 0, 0, 0, 1};
	struct ustcp_iface_config ic = {
		.ip4 = inet_addr("10.0.0.7"), .prefix_len = 24, .mtu = 65535, .transmit = keep_len};
	memcpy(ic.mac, mac, 6);
	assert_int_equal(ustcp_iface_add(s, &ic), 0);
	assert_int_equal(ustcp_neigh_add(s, 0, inet_addr("10.0.0.1"), peer_mac), 0);
	const size_t data = 60000, ilen = ICMP_HLEN + data;
	uint8_t *f = calloc(1, ETH_HLEN + IPV4_HLEN + ilen);
	assert_non_null(f);
	struct eth_hdr eh = {.type = ETHERTYPE_IPV4};
	memcpy(eh.dst, mac, 6);
	memcpy(eh.src, peer_mac, 6);
	eth_emit(&eh, f);
	uint8_t *icmp = f + ETH_HLEN + IPV4_HLEN;
	memset(icmp + ICMP_HLEN, 'z', data);
	struct icmp_hdr ih = {.type = 8, .code = 0, .rest = 0x12340001};
	icmp4_emit(&ih, icmp, ilen);
	struct ipv4_hdr ip = {.total_len = (uint16_t)(IPV4_HLEN + ilen),
			      .ttl = 64,
			      .proto = IPPROTO_ICMP_,
			      .src = ntohl(inet_addr("10.0.0.1")),
			      .dst = ntohl(inet_addr("10.0.0.7"))};
	ipv4_emit(&ip, f + ETH_HLEN);
	big_reply_len = 0;
	ustcp_input(s, 0, f, ETH_HLEN + IPV4_HLEN + ilen, 1);
	assert_int_equal(big_reply_len, ETH_HLEN + IPV4_HLEN + ilen);
	assert_int_equal(ustcp_counter(s, USTCP_C_icmp_out), 1);
	free(f);
	ustcp_stack_free(s);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(mtu_65535_carries_64k_segments),
	cmocka_unit_test(mtu_68_carries_ipv4_only),
	cmocka_unit_test(mtu_1280_carries_ipv6),
	cmocka_unit_test(mtu_out_of_range_refused),
	cmocka_unit_test(iface_mtu_above_config_grows_frames),
};

USTCP_TEST_MAIN(tests)
