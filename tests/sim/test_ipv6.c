/* test_ipv6.c — TCP over IPv6 (RFC 8200) on the simulated link, found by
 * neighbour discovery (RFC 4861), beside IPv4 on the same stacks: ICMPv6
 * echo and errors (RFC 4443, packet too big per RFC 8201, validated per
 * RFC 5927), neighbour discovery's validation rules, fragments, dual-stack
 * listeners, link-local peers, and bulk data over a lossy link. */
#include "harness.h"

static uint64_t ctr(const struct h_net *n, int side, enum ustcp_counter c)
{
	return ustcp_counter(n->st[side], c);
}

static uint64_t drops(const struct h_net *n, int side, enum ustcp_drop d)
{
	return ustcp_drops(n->st[side], d);
}

/* ---- addresses ---- */

static const uint8_t mac_of[2][6] = {{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 1}};
static const uint8_t all_nodes[16] = {0xff, 2, [15] = 1};
static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
static const uint8_t unspecified[16] = {0};

#define ICMP6_ECHO 128
#define ICMP6_ECHO_REPLY 129
#define ND_NS 135
#define ND_NA 136
#define NA_R 0x80000000u
#define NA_S 0x40000000u
#define NA_O 0x20000000u
#define NO_PORT 9 /* nobody listens there */

/* The side's global address, fd00::10.0.0.x. */
static void gl6(int side, uint8_t out[16]) { ustcp_sim_ip6(h_ip(side), out); }

/* Another host's address on the same prefix: fd00::10.0.0.x. */
static void host6(uint8_t x, uint8_t out[16])
{
	memset(out, 0, 16);
	out[0] = 0xfd;
	out[12] = 10;
	out[15] = x;
}

static void ll6(const struct h_net *n, int side, uint8_t out[16])
{
	assert_int_equal(ustcp_iface_linklocal6(n->st[side], 0, out), 0);
}

/* RFC 4291 §2.7.1: ff02::1:ffXX:XXXX from the low 24 bits. */
static void sn_of(const uint8_t a[16], uint8_t g[16])
{
	memset(g, 0, 16);
	g[0] = 0xff;
	g[1] = 2;
	g[11] = 1;
	g[12] = 0xff;
	memcpy(g + 13, a + 13, 3);
}

/* RFC 2464 §7: 33:33 and the group's low 32 bits. */
static void group_mac(const uint8_t g[16], uint8_t mac[6])
{
	mac[0] = mac[1] = 0x33;
	memcpy(mac + 2, g + 12, 4);
}

/* ---- building frames ---- */

/* Inject an IPv6 packet whose payload (extension headers included) is l4. */
static void inject6(struct h_net *n, int to, const uint8_t smac[6], const uint8_t dmac[6],
		    const uint8_t src[16], const uint8_t dst[16], uint8_t next, uint8_t hop,
		    const uint8_t *l4, size_t l4len)
{
	uint8_t *f = malloc(ETH_HLEN + IPV6_HLEN + l4len);
	assert_non_null(f);
	struct eth_hdr eh = {.type = ETHERTYPE_IPV6};
	memcpy(eh.dst, dmac, 6);
	memcpy(eh.src, smac, 6);
	eth_emit(&eh, f);
	struct ipv6_hdr ih = {.payload_len = (uint16_t)l4len, .next_hdr = next, .hop_limit = hop};
	memcpy(ih.src, src, 16);
	memcpy(ih.dst, dst, 16);
	ipv6_emit(&ih, f + ETH_HLEN);
	memcpy(f + ETH_HLEN + IPV6_HLEN, l4, l4len);
	ustcp_input(n->st[to], 0, f, ETH_HLEN + IPV6_HLEN + l4len, h_now(n));
	free(f);
}

/* An ICMPv6 message (RFC 4443 §2.1) with this body into m, its checksum
 * over the pseudo-header of src and dst; returns its length. */
static size_t icmp6_msg(uint8_t *m, uint8_t type, uint8_t code, uint32_t rest, const void *body,
			size_t blen, const uint8_t src[16], const uint8_t dst[16])
{
	if (blen)
		memcpy(m + ICMP_HLEN, body, blen);
	struct icmp_hdr h = {.type = type, .code = code, .rest = rest};
	icmp6_emit(&h, m, ICMP_HLEN + blen, src, dst);
	return ICMP_HLEN + blen;
}

static void send_icmp6(struct h_net *n, int to, const uint8_t smac[6], const uint8_t dmac[6],
		       const uint8_t src[16], const uint8_t dst[16], uint8_t hop, uint8_t type,
		       uint8_t code, uint32_t rest, const void *body, size_t blen)
{
	uint8_t m[2048];
	assert_true(ICMP_HLEN + blen <= sizeof(m));
	size_t len = icmp6_msg(m, type, code, rest, body, blen, src, dst);
	inject6(n, to, smac, dmac, src, dst, IPPROTO_ICMPV6_, hop, m, len);
}

/* A solicitation or advertisement body (RFC 4861 §4.3, §4.4): the target,
 * then one link-layer address option of kind opt when mac is given. */
static size_t nd_body(uint8_t *b, const uint8_t target[16], uint8_t opt, const uint8_t *mac)
{
	memcpy(b, target, 16);
	if (!mac)
		return 16;
	b[16] = opt;
	b[17] = 1; /* 8 bytes */
	memcpy(b + 18, mac, 6);
	return 24;
}

/* Inject a TCP segment from src to dst (either side's addresses). */
static void inject_seg6(struct h_net *n, int to, const uint8_t src[16], const uint8_t dst[16],
			const struct tcp_hdr *th, const void *data, size_t dlen)
{
	uint8_t seg[TCP_MAX_HLEN + 1500];
	assert_true(dlen <= 1500);
	size_t hl = tcp_emit(th, seg);
	if (dlen)
		memcpy(seg + hl, data, dlen);
	tcp_checksum_set6(seg, hl + dlen, src, dst);
	inject6(n, to, mac_of[!to], mac_of[to], src, dst, IPPROTO_TCP_, 64, seg, hl + dlen);
}

/* Send an upper-layer message (protocol proto, len bytes) from the other
 * side to `to` as nfrag IPv6 fragments (RFC 8200 §4.5) cut at these
 * offsets (multiples of 8): the nsend fragments in `order`, in that order. */
static void frags6_to(struct h_net *n, int to, const uint8_t src[16], const uint8_t dst[16],
		      uint8_t proto, const uint8_t *msg, size_t len, const uint32_t *cuts,
		      int nfrag, const int *order, int nsend, uint32_t id)
{
	for (int k = 0; k < nsend; k++) {
		int i = order[k];
		uint32_t from = cuts[i], end = i + 1 < nfrag ? cuts[i + 1] : (uint32_t)len;
		uint8_t p[8 + 2000];
		assert_true(end - from <= 2000);
		p[0] = proto;
		p[1] = 0;
		wr16(p + 2, (uint16_t)(from | (i + 1 < nfrag ? 1u : 0u))); /* offset, M */
		wr32(p + 4, id);
		memcpy(p + 8, msg + from, end - from);
		inject6(n, to, mac_of[!to], mac_of[to], src, dst, 44, 64, p, 8 + end - from);
	}
}

/* ---- capturing what a stack sends ---- */

#define CAP_MAX 128
#define CAP_LEN 2048

struct cap_frame {
	int from;
	uint64_t t;
	size_t len;
	uint8_t b[CAP_LEN];
};

/* Every IPv6 frame either stack sends (the first CAP_MAX), beside the
 * harness's TCP log. */
struct cap {
	struct h_net *n;
	int nf;
	struct cap_frame f[CAP_MAX];
};

static void cap_trace(void *ctx, const struct ustcp_trace_event *ev)
{
	struct cap *c = ctx;
	h_trace(c->n, ev);
	struct eth_hdr eh;
	if (ev->dir != USTCP_TRACE_OUT || ev->len > CAP_LEN || c->nf == CAP_MAX ||
	    eth_parse(ev->frame, ev->len, &eh) < 0 || eh.type != ETHERTYPE_IPV6)
		return;
	struct cap_frame *f = &c->f[c->nf++];
	f->from = ev->stack == c->n->st[H_A] ? H_A : H_B;
	f->t = ev->now;
	f->len = ev->len;
	memcpy(f->b, ev->frame, ev->len);
}

/* Give the stacks back to the harness's log alone and free the capture. */
static void cap_free(struct cap *c)
{
	ustcp_set_trace(c->n->st[H_A], h_trace, c->n);
	ustcp_set_trace(c->n->st[H_B], h_trace, c->n);
	free(c);
}

static struct cap *cap_new(struct h_net *n)
{
	struct cap *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->n = n;
	ustcp_set_trace(n->st[H_A], cap_trace, c);
	ustcp_set_trace(n->st[H_B], cap_trace, c);
	return c;
}

/* A captured frame taken apart: Ethernet, IPv6 and what follows. */
struct seen6 {
	const struct cap_frame *f;
	struct eth_hdr eh;
	struct ipv6_hdr ih;
	const uint8_t *l4;
	size_t l4len;
	struct icmp_hdr ic; /* for ICMPv6 */
};

static bool seen_parse(const struct cap_frame *f, struct seen6 *s)
{
	s->f = f;
	if (eth_parse(f->b, f->len, &s->eh) < 0 ||
	    ipv6_parse(f->b + ETH_HLEN, f->len - ETH_HLEN, &s->ih) < 0)
		return false;
	s->l4 = f->b + ETH_HLEN + s->ih.hdr_len;
	s->l4len = IPV6_HLEN + (size_t)s->ih.payload_len - s->ih.hdr_len;
	return !s->ih.fragment;
}

/* The nth ICMPv6 message of this type `from` sent; its checksum must hold. */
static bool cap_icmp6(const struct cap *c, int from, uint8_t type, int nth, struct seen6 *s)
{
	for (int i = 0; i < c->nf; i++) {
		if (c->f[i].from != from || !seen_parse(&c->f[i], s) ||
		    s->ih.proto != IPPROTO_ICMPV6_)
			continue;
		assert_true(icmp6_parse(s->l4, s->l4len, s->ih.src, s->ih.dst, &s->ic) >= 0);
		if (s->ic.type == type && nth-- == 0)
			return true;
	}
	return false;
}

static int cap_count6(const struct cap *c, int from, uint8_t type)
{
	struct seen6 s;
	int k = 0;
	while (cap_icmp6(c, from, type, k, &s))
		k++;
	return k;
}

/* The nth TCP segment `from` sent; its checksum must hold. */
static bool cap_tcp(const struct cap *c, int from, int nth, struct seen6 *s, struct tcp_hdr *th)
{
	for (int i = 0; i < c->nf; i++) {
		if (c->f[i].from != from || !seen_parse(&c->f[i], s) || s->ih.proto != IPPROTO_TCP_)
			continue;
		if (nth-- > 0)
			continue;
		assert_true(tcp_checksum_ok6(s->l4, s->l4len, s->ih.src, s->ih.dst));
		assert_true(tcp_parse(s->l4, s->l4len, th) >= 0);
		return true;
	}
	return false;
}

/* An advertisement's body: the target, then the target link-layer
 * address option (RFC 4861 §4.4) with this MAC. */
static void assert_na_body(const struct seen6 *s, const uint8_t target[16], const uint8_t mac[6])
{
	assert_int_equal(s->l4len, ICMP_HLEN + 24);
	assert_memory_equal(s->l4 + ICMP_HLEN, target, 16);
	assert_int_equal(s->l4[ICMP_HLEN + 16], 2);
	assert_int_equal(s->l4[ICMP_HLEN + 17], 1);
	assert_memory_equal(s->l4 + ICMP_HLEN + 18, mac, 6);
}
/* Connect from A to B's IPv6 address; B listens on the unspecified address. */
static void establish6(struct h_net *n, struct ustcp_sock **ca, struct ustcp_sock **cb,
		       struct ustcp_sock **lb)
{
	struct ustcp_endpoint any = {.port = PORT_B}, to = h_ep6(H_B, PORT_B);
	assert_int_equal(ustcp_listen_on(n->st[H_B], any, 16, lb), 0);
	struct ustcp_endpoint local = {.port = 0};
	assert_int_equal(ustcp_connect_to(n->st[H_A], local, to, ca), 0);
	*cb = NULL;
	for (int i = 0; i < 100 && !*cb; i++) {
		h_run(n, 1 * MS);
		ustcp_accept(*lb, cb);
	}
	assert_non_null(*cb);
	assert_int_equal(ustcp_sock_state(*ca), USTCP_ESTABLISHED);
}

/* A whole connection over IPv6: the endpoints are IPv6, the MSS leaves
 * room for the 40-byte header, and no IPv4 packet is sent. */
static void tcp_over_ipv6(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	struct ustcp_sock_info ia = h_info(a), ib = h_info(b);
	struct ustcp_endpoint want_b = h_ep6(H_B, PORT_B), want_a = h_ep6(H_A, 0);
	assert_true(ia.remote.v6 && ia.local.v6 && ib.remote.v6 && ib.local.v6);
	assert_memory_equal(ia.remote.ip6, want_b.ip6, 16);
	assert_memory_equal(ia.local.ip6, want_a.ip6, 16);
	assert_memory_equal(ib.remote.ip6, want_a.ip6, 16);
	assert_int_equal(ib.remote.port, ia.local.port);
	assert_int_equal(ia.rcv_mss, 1500 - 40 - 20);
	h_exchange(n, a, b);
	assert_int_equal(ctr(n, H_A, USTCP_C_ip_out), 0);
	assert_true(ctr(n, H_A, USTCP_C_ip6_out) > 0);
	assert_int_equal(ustcp_drops_total(n->st[H_A]) + ustcp_drops_total(n->st[H_B]), 0);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* Without static entries A asks for B by a neighbour solicitation to B's
 * solicited-node group; B answers and learns A from it; the SYN waited. */
static void neighbour_discovery_resolves(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	assert_true(h_now(n) < 10 * MS);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_ns_out), 1);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_queued), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_in), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_na_out), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_out), 0);
	assert_int_equal(ctr(n, H_A, USTCP_C_arp_requests_out), 0);
	assert_int_equal(h_info(a).retransmits, 0);
	h_exchange(n, a, b);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* ---- ICMPv6 echo (RFC 4443 §4) ---- */

/* B answers echo requests to its global and its link-local address with the
 * same identifier, sequence number and data, from the address asked; one
 * to all-nodes is answered from a unicast address of B's (§4.2), of the
 * asker's scope (RFC 6724). Requests with a bad checksum, for another host or a group
 * B has not joined, or from a multicast source get nothing. */
static void echo_request_answered(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16], al[16], bl[16];
	gl6(H_A, a);
	gl6(H_B, b);
	ll6(n, H_A, al);
	ll6(n, H_B, bl);
	static const char data[] = "ping over IPv6, with some bytes to echo back 0123456789";
	const size_t dlen = sizeof(data) - 1;
	struct {
		const uint8_t *src, *dst, *dmac, *want_src;
	} cases[] = {
		{a, b, mac_of[H_B], b},
		{al, bl, mac_of[H_B], bl},
		{a, all_nodes, all_nodes_mac, b},
		{al, all_nodes, all_nodes_mac, bl},
	};
	const int ncase = (int)(sizeof(cases) / sizeof(cases[0]));
	for (int i = 0; i < ncase; i++) {
		uint32_t idseq = (uint32_t)(0x4242 + i) << 16 | (uint32_t)(7 + i);
		send_icmp6(n, H_B, mac_of[H_A], cases[i].dmac, cases[i].src, cases[i].dst, 64,
			   ICMP6_ECHO, 0, idseq, data, dlen);
		struct seen6 s;
		assert_true(cap_icmp6(c, H_B, ICMP6_ECHO_REPLY, i, &s)); /* checksum checked */
		assert_memory_equal(s.eh.dst, mac_of[H_A], 6);
		assert_memory_equal(s.eh.src, mac_of[H_B], 6);
		assert_memory_equal(s.ih.src, cases[i].want_src, 16);
		assert_memory_equal(s.ih.dst, cases[i].src, 16);
		assert_int_equal(s.ih.next_hdr, IPPROTO_ICMPV6_);
		assert_true(s.ih.hop_limit > 1);
		assert_int_equal(s.ic.code, 0);
		assert_int_equal(s.ic.rest, idseq);
		assert_int_equal(s.l4len, ICMP_HLEN + dlen);
		assert_memory_equal(s.l4 + ICMP_HLEN, data, dlen);
	}
	assert_int_equal(ctr(n, H_B, USTCP_C_icmp6_in), ncase);
	assert_int_equal(ctr(n, H_B, USTCP_C_icmp6_out), ncase);
	h_run(n, 10 * MS);
	assert_int_equal(ctr(n, H_A, USTCP_C_icmp6_in), ncase); /* the replies arrived */
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);

	uint64_t out = ctr(n, H_B, USTCP_C_frames_out);
	/* A bad checksum. */
	uint8_t m[256];
	size_t len = icmp6_msg(m, ICMP6_ECHO, 0, 1, data, dlen, a, b);
	m[ICMP_HLEN + 3] ^= 0x40;
	inject6(n, H_B, mac_of[H_A], mac_of[H_B], a, b, IPPROTO_ICMPV6_, 64, m, len);
	assert_int_equal(drops(n, H_B, USTCP_DROP_icmp_bad_csum), 1);
	/* Not ours: another host, and the all-routers group (RFC 4291 §2.7.1). */
	uint8_t other[16], routers[16] = {0xff, 2, [15] = 2}, rmac[6];
	host6(9, other);
	group_mac(routers, rmac);
	send_icmp6(n, H_B, mac_of[H_A], mac_of[H_B], a, other, 64, ICMP6_ECHO, 0, 1, data, dlen);
	send_icmp6(n, H_B, mac_of[H_A], rmac, a, routers, 64, ICMP6_ECHO, 0, 1, data, dlen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_not_for_us), 2);
	/* A multicast source (RFC 4291 §2.7). */
	send_icmp6(n, H_B, mac_of[H_A], mac_of[H_B], all_nodes, b, 64, ICMP6_ECHO, 0, 1, data,
		   dlen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_bad_src), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_frames_out), out);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), ncase);
	cap_free(c);
	h_finish(n, NULL);
}

/* ---- neighbour discovery (RFC 4861) ---- */

/* Every check of RFC 4861 §7.1.1 and §7.1.2 drops the message, counts it
 * and sends nothing; a solicitation for an address B does not have is not
 * answered either. */
static void nd_invalid_messages_dropped(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16], sn[16], snmac[6], body[64];
	gl6(H_A, a);
	gl6(H_B, b);
	sn_of(b, sn);
	group_mac(sn, snmac);
	const uint8_t *ma = mac_of[H_A], *mb = mac_of[H_B];
	size_t blen = nd_body(body, b, 1, ma);
	uint64_t bad = 0;

	/* §7.1.1: the hop limit is not 255 (it came through a router). */
	send_icmp6(n, H_B, ma, snmac, a, sn, 64, ND_NS, 0, 0, body, blen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	/* The code is not 0. */
	send_icmp6(n, H_B, ma, snmac, a, sn, 255, ND_NS, 1, 0, body, blen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	/* Shorter than 24 bytes: half a target. */
	send_icmp6(n, H_B, ma, snmac, a, sn, 255, ND_NS, 0, 0, body, 8);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	/* An option of length 0. */
	uint8_t zero_opt[24];
	nd_body(zero_opt, b, 1, ma);
	zero_opt[17] = 0;
	send_icmp6(n, H_B, ma, snmac, a, sn, 255, ND_NS, 0, 0, zero_opt, sizeof(zero_opt));
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	/* An option longer than what is left of the message. */
	uint8_t long_opt[24];
	nd_body(long_opt, b, 1, ma);
	long_opt[17] = 2;
	send_icmp6(n, H_B, ma, snmac, a, sn, 255, ND_NS, 0, 0, long_opt, sizeof(long_opt));
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	/* A multicast target (sent to B's own address, so it gets past IPv6). */
	uint8_t mcast[64];
	size_t mlen = nd_body(mcast, all_nodes, 1, ma);
	send_icmp6(n, H_B, ma, mb, a, b, 255, ND_NS, 0, 0, mcast, mlen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	/* Duplicate address detection (source ::) with a source link-layer
	 * address option, and one not sent to the solicited-node group. */
	send_icmp6(n, H_B, ma, snmac, unspecified, sn, 255, ND_NS, 0, 0, body, blen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	send_icmp6(n, H_B, ma, mb, unspecified, b, 255, ND_NS, 0, 0, body, 16);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	/* §7.1.2: a solicited advertisement to a multicast destination. */
	uint8_t na[64];
	size_t nlen = nd_body(na, a, 2, ma);
	send_icmp6(n, H_B, ma, all_nodes_mac, a, all_nodes, 255, ND_NA, 0, NA_S | NA_O, na, nlen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);
	/* An advertisement with a hop limit other than 255. */
	send_icmp6(n, H_B, ma, mb, a, b, 64, ND_NA, 0, NA_S | NA_O, na, nlen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), ++bad);

	/* Well formed, but for addresses B does not have: unicast to B, and to
	 * B's solicited-node group for fd01::10.0.0.1 (same low 24 bits). */
	uint8_t other[16], other_body[64];
	host6(9, other);
	size_t olen = nd_body(other_body, other, 1, ma);
	send_icmp6(n, H_B, ma, mb, a, b, 255, ND_NS, 0, 0, other_body, olen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_not_for_us), 1);
	uint8_t alias[16];
	memcpy(alias, b, 16);
	alias[1] = 1;
	olen = nd_body(other_body, alias, 1, ma);
	send_icmp6(n, H_B, ma, snmac, a, sn, 255, ND_NS, 0, 0, other_body, olen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_not_for_us), 2);
	/* ... and to a solicited-node group B has not joined: not for its IPv6. */
	uint8_t other_sn[16], other_snmac[6];
	sn_of(other, other_sn);
	group_mac(other_sn, other_snmac);
	olen = nd_body(other_body, other, 1, ma);
	send_icmp6(n, H_B, ma, other_snmac, a, other_sn, 255, ND_NS, 0, 0, other_body, olen);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_not_for_us), 1);

	h_run(n, 100 * MS);
	assert_int_equal(ctr(n, H_B, USTCP_C_frames_out), 0);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_na_out), 0);
	assert_int_equal(c->nf, 0);
	/* Nothing was learned from any of them: B must ask for A. */
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), bad);
	send_icmp6(n, H_B, ma, mb, a, b, 64, ICMP6_ECHO, 0, 1, "x", 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_queued), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_out), 1);
	cap_free(c);
	h_free(n);
}

/* §7.2.4: a solicitation for duplicate address detection (from ::) is
 * answered to all-nodes, not solicited, with the override flag; a normal
 * one is answered to the asker, solicited, and the asker's address (from
 * its source link-layer option) is learned, so B later sends to it
 * without asking. */
static void nd_solicitations_answered(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	uint8_t b[16], bl[16], sn[16], snmac[6], body[64];
	gl6(H_B, b);
	ll6(n, H_B, bl);
	sn_of(b, sn);
	group_mac(sn, snmac);
	const uint8_t *mb = mac_of[H_B];
	/* A host C not on the simulated link: what B sends it reaches only A. */
	static const uint8_t mc[6] = {2, 0, 0, 0, 0, 7};
	uint8_t cc[16];
	host6(7, cc);

	/* Duplicate address detection for B's global address. */
	size_t blen = nd_body(body, b, 1, NULL);
	send_icmp6(n, H_B, mc, snmac, unspecified, sn, 255, ND_NS, 0, 0, body, blen);
	struct seen6 s;
	assert_true(cap_icmp6(c, H_B, ND_NA, 0, &s));
	assert_memory_equal(s.eh.dst, all_nodes_mac, 6);
	assert_memory_equal(s.eh.src, mb, 6);
	assert_memory_equal(s.ih.src, b, 16);
	assert_memory_equal(s.ih.dst, all_nodes, 16);
	assert_int_equal(s.ih.hop_limit, 255);
	assert_int_equal(s.ic.code, 0);
	assert_int_equal(s.ic.rest & (NA_R | NA_S | NA_O), NA_O);
	assert_na_body(&s, b, mb);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_in), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_na_out), 1);

	/* A normal solicitation from C for B's global address. */
	blen = nd_body(body, b, 1, mc);
	send_icmp6(n, H_B, mc, snmac, cc, sn, 255, ND_NS, 0, 0, body, blen);
	assert_true(cap_icmp6(c, H_B, ND_NA, 1, &s));
	assert_memory_equal(s.eh.dst, mc, 6);
	assert_memory_equal(s.ih.src, b, 16);
	assert_memory_equal(s.ih.dst, cc, 16);
	assert_int_equal(s.ih.hop_limit, 255);
	assert_int_equal(s.ic.rest & (NA_R | NA_S | NA_O), NA_S | NA_O);
	assert_na_body(&s, b, mb);

	/* And for B's link-local address, from C's link-local one. */
	uint8_t cl[16] = {0xfe, 0x80, [15] = 7};
	blen = nd_body(body, bl, 1, mc);
	sn_of(bl, sn);
	group_mac(sn, snmac);
	send_icmp6(n, H_B, mc, snmac, cl, sn, 255, ND_NS, 0, 0, body, blen);
	assert_true(cap_icmp6(c, H_B, ND_NA, 2, &s));
	assert_memory_equal(s.eh.dst, mc, 6);
	assert_memory_equal(s.ih.src, bl, 16);
	assert_memory_equal(s.ih.dst, cl, 16);
	assert_int_equal(s.ic.rest & (NA_R | NA_S | NA_O), NA_S | NA_O);
	assert_na_body(&s, bl, mb);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_na_out), 3);

	/* B learned C: an echo reply goes straight to C's MAC. */
	send_icmp6(n, H_B, mc, mb, cc, b, 64, ICMP6_ECHO, 0, 5, "hi", 2);
	assert_true(cap_icmp6(c, H_B, ICMP6_ECHO_REPLY, 0, &s));
	assert_memory_equal(s.eh.dst, mc, 6);
	assert_memory_equal(s.ih.dst, cc, 16);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_out), 0);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_queued), 0);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	cap_free(c);
	h_run(n, 10 * MS);
	h_free(n);
}

/* §7.2.5: an advertisement nobody asked for creates no entry (it would
 * let anyone fill the cache); B asks for the host by a solicitation to
 * its solicited-node group when it has a packet for it, holds the packet,
 * and sends it when the solicited advertisement comes. */
static void nd_advertisement_only_when_asked(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	uint8_t b[16], d[16], body[64];
	gl6(H_B, b);
	host6(8, d);
	static const uint8_t md[6] = {2, 0, 0, 0, 0, 8};
	const uint8_t *mb = mac_of[H_B];

	size_t blen = nd_body(body, d, 2, md);
	send_icmp6(n, H_B, md, all_nodes_mac, d, all_nodes, 255, ND_NA, 0, NA_O, body, blen);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_na_in), 1);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);

	send_icmp6(n, H_B, md, mb, d, b, 64, ICMP6_ECHO, 0, 0x10001, "held", 4);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_queued), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_out), 1);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), 0);
	struct seen6 s;
	assert_true(cap_icmp6(c, H_B, ND_NS, 0, &s));
	uint8_t sn[16], snmac[6];
	sn_of(d, sn);
	group_mac(sn, snmac);
	assert_memory_equal(s.eh.dst, snmac, 6);
	assert_memory_equal(s.ih.src, b, 16);
	assert_memory_equal(s.ih.dst, sn, 16);
	assert_int_equal(s.ih.hop_limit, 255);
	assert_int_equal(s.ic.code, 0);
	assert_int_equal(s.l4len, ICMP_HLEN + 24);
	assert_memory_equal(s.l4 + ICMP_HLEN, d, 16);
	assert_int_equal(s.l4[ICMP_HLEN + 16], 1); /* source link-layer address */
	assert_int_equal(s.l4[ICMP_HLEN + 17], 1);
	assert_memory_equal(s.l4 + ICMP_HLEN + 18, mb, 6);

	h_run(n, 100 * MS);
	send_icmp6(n, H_B, md, mb, d, b, 255, ND_NA, 0, NA_S | NA_O, body, blen);
	assert_true(cap_icmp6(c, H_B, ICMP6_ECHO_REPLY, 0, &s));
	assert_memory_equal(s.eh.dst, md, 6);
	assert_memory_equal(s.ih.dst, d, 16);
	assert_int_equal(s.ic.rest, 0x10001);
	assert_int_equal(s.l4len, ICMP_HLEN + 4);
	assert_memory_equal(s.l4 + ICMP_HLEN, "held", 4);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_out), 1);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	cap_free(c);
	h_run(n, 10 * MS);
	h_free(n);
}

/* Nobody answers A's solicitations: its SYNs wait, a solicitation goes out
 * once a second (RFC 4861 §7.2.2: MAX_MULTICAST_SOLICIT = 3, RetransTimer
 * 1 s) however many packets wait, and when the third goes unanswered,
 * address resolution has failed: the held SYNs are dropped (counted) and
 * both connects fail with -EHOSTUNREACH, the one begun half a second later
 * too (RFC 1122 §4.2.3.9; Linux does the same). */
static void nd_unanswered_connects_fail_with_host_unreachable(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	n->blackhole[H_B] = true; /* B hears but never answers */
	struct ustcp_sock *k1, *k2;
	struct ustcp_endpoint any = {.port = 0}, to = h_ep6(H_B, PORT_B);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &k1), 0);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_queued), 1);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_ns_out), 1);
	h_run(n, 500 * MS);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &k2), 0);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_queued), 2);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_ns_out), 1); /* asked less than 1 s ago */
	h_run(n, 2400 * MS);
	assert_int_equal(drops(n, H_A, USTCP_DROP_nd_unresolved), 0); /* still asking */
	assert_int_equal(ustcp_sock_state(k1), USTCP_SYN_SENT);
	h_run(n, 100 * MS + 10 * MS); /* 3 s after the first solicitation */
	for (int i = 0; i < 2; i++) {
		struct ustcp_sock *k = i ? k2 : k1;
		assert_int_equal(ustcp_sock_state(k), USTCP_CLOSED);
		assert_int_equal(ustcp_sock_error(k), -EHOSTUNREACH);
	}
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_attempt_fails), 2);
	uint64_t ns = ctr(n, H_A, USTCP_C_nd_ns_out);
	assert_int_equal(ns, 3);
	assert_int_equal(cap_count6(c, H_A, ND_NS), (int)ns);
	uint8_t b[16], a[16], sn[16], snmac[6];
	gl6(H_B, b);
	gl6(H_A, a);
	sn_of(b, sn);
	group_mac(sn, snmac);
	uint64_t last = 0;
	for (int i = 0; i < (int)ns; i++) {
		struct seen6 s;
		assert_true(cap_icmp6(c, H_A, ND_NS, i, &s));
		assert_memory_equal(s.eh.dst, snmac, 6);
		assert_memory_equal(s.ih.src, a, 16);
		assert_memory_equal(s.ih.dst, sn, 16);
		assert_memory_equal(s.l4 + ICMP_HLEN, b, 16);
		if (i > 0)
			assert_true(s.f->t - last >= 1 * SEC);
		last = s.f->t;
	}
	/* Every held SYN is dropped and counted, with nothing else happening. */
	assert_true(ctr(n, H_A, USTCP_C_nd_queued) >= 4);
	assert_int_equal(drops(n, H_A, USTCP_DROP_nd_unresolved), ctr(n, H_A, USTCP_C_nd_queued));
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_in), 0); /* no SYN ever left A */
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_in), ns);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_na_out), ns); /* lost in the blackhole */
	ustcp_close(k1);
	ustcp_close(k2);
	cap_free(c);
	n->blackhole[H_B] = false;
	h_finish(n, NULL);
}

/* The same for an address on the link nobody has (fd00::10.0.0.9): the
 * connect fails with -EHOSTUNREACH 3 s after it began. */
static void nd_connect_to_nobody_fails_with_host_unreachable(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *k;
	struct ustcp_endpoint any = {.port = 0}, to = {.port = 80, .v6 = 1};
	host6(9, to.ip6);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &k), 0);
	while (ustcp_sock_state(k) != USTCP_CLOSED && h_now(n) < 100 * SEC)
		h_run(n, 10 * MS);
	assert_int_equal(ustcp_sock_error(k), -EHOSTUNREACH);
	assert_true(h_now(n) >= 3 * SEC && h_now(n) <= 3 * SEC + 100 * MS);
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_ns_out), 3);
	assert_true(drops(n, H_A, USTCP_DROP_nd_unresolved) >= 2);
	ustcp_close(k);
	h_finish(n, NULL);
}

/* An established IPv6 connection whose peer vanishes: once its neighbour
 * entry ages out and neighbour discovery gets no answer, the connection
 * has a soft error -EHOSTUNREACH, keeps retrying, and ends with it. */
static void nd_failure_is_soft_for_an_established_connection(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 10;
	struct h_net *n = h_new_net(&ca, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	n->blackhole[H_B] = true;
	h_send_all(a, "anyone there?");
	while (h_info(a).soft_error == 0 && h_now(n) < 200 * SEC)
		h_run(n, 100 * MS);
	assert_int_equal(h_info(a).soft_error, -EHOSTUNREACH);
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_take_error(a), -EHOSTUNREACH);
	while (ustcp_sock_state(a) != USTCP_CLOSED && h_now(n) < 600 * SEC)
		h_run(n, 100 * MS);
	assert_int_equal(ustcp_sock_error(a), -EHOSTUNREACH);
	assert_true(drops(n, H_A, USTCP_DROP_nd_unresolved) > 0);
	assert_true(ctr(n, H_A, USTCP_C_tcp_neigh_unreachable) >= 2); /* told each time */
	ustcp_close(a);
	ustcp_abort(b);
	n->blackhole[H_B] = false;
	h_run(n, 5 * SEC); /* A's last RST waited for an answer: it comes now */
	h_finish(n, l);
}

/* Drop the first neighbour advertisement B sends. */
static int na_dropped;
static bool drop_first_na(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct h_net *n = ctx;
	struct ipv6_hdr ih;
	if (port == n->port[H_B] && na_dropped == 0 && len > ETH_HLEN + IPV6_HLEN &&
	    rd16(frame + 12) == ETHERTYPE_IPV6 &&
	    ipv6_parse(frame + ETH_HLEN, len - ETH_HLEN, &ih) >= 0 && ih.proto == IPPROTO_ICMPV6_ &&
	    frame[ETH_HLEN + ih.hdr_len] == ND_NA) {
		na_dropped++;
		return true;
	}
	return h_filter(ctx, port, frame, len);
}

/* RFC 4861 §7.2.2: while packets wait for an address, the solicitation is
 * sent again every RetransTimer (1 s, §10), MAX_MULTICAST_SOLICIT times.
 * B's first answer is lost and A has a packet for B every 0.6 s (echo
 * replies): A must ask again about a second later, not stay silent because
 * some packet for B is always less than a second old. */
static void nd_asks_again_while_packets_wait(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	na_dropped = 0;
	ustcp_sim_set_filter(n->sim, drop_first_na, n);
	uint8_t a[16], b[16];
	gl6(H_A, a);
	gl6(H_B, b);
	for (int i = 0; i < 10; i++) {
		send_icmp6(n, H_A, mac_of[H_B], mac_of[H_A], b, a, 64, ICMP6_ECHO, 0, (uint32_t)i,
			   "are you there", 13);
		h_run(n, 600 * MS);
	}
	assert_int_equal(na_dropped, 1);
	struct seen6 s0, s1;
	assert_true(cap_icmp6(c, H_A, ND_NS, 0, &s0));
	assert_true(cap_icmp6(c, H_A, ND_NS, 1, &s1)); /* asked again */
	assert_true(s1.f->t - s0.f->t >= 1 * SEC && s1.f->t - s0.f->t <= 2 * SEC);
	/* ... and B's second answer let the waiting replies go. */
	assert_true(cap_count6(c, H_A, ICMP6_ECHO_REPLY) >= 5);
	cap_free(c);
	h_free(n);
}

/* ---- ICMPv6 errors about our segments (RFC 4443 §3, RFC 8201, RFC 5927) ---- */

/* An ICMPv6 error from a router on the link to A about a segment A sent to
 * B: the router's address, then the quoted fixed header and the first 8
 * bytes of TCP (ports and sequence number). */
static void icmp6_error_to_a(struct h_net *n, uint8_t type, uint8_t code, uint32_t rest,
			     uint16_t lport, uint32_t seq)
{
	static const uint8_t router_mac[6] = {2, 0, 0, 0, 0, 0xfe};
	uint8_t router[16], a[16], b[16];
	host6(254, router);
	gl6(H_A, a);
	gl6(H_B, b);
	uint8_t q[IPV6_HLEN + 8];
	struct ipv6_hdr qh = {.payload_len = 1460, .next_hdr = IPPROTO_TCP_, .hop_limit = 63};
	memcpy(qh.src, a, 16);
	memcpy(qh.dst, b, 16);
	ipv6_emit(&qh, q);
	wr16(q + IPV6_HLEN, lport);
	wr16(q + IPV6_HLEN + 2, PORT_B);
	wr32(q + IPV6_HLEN + 4, seq);
	send_icmp6(n, H_A, router_mac, mac_of[H_A], router, a, 64, type, code, rest, q, sizeof(q));
}

/* Drop every frame A sends that is larger than this (a link with a smaller
 * MTU further along the path). */
static size_t big_limit;
static bool drop_big(void *ctx, int port, const uint8_t *frame, size_t len)
{
	struct h_net *n = ctx;
	if (port == n->port[H_A] && len > big_limit)
		return true;
	return h_filter(ctx, port, frame, len);
}

/* The largest payload of A's data segments logged from index `from` on. */
static uint32_t max_len_from(const struct h_net *n, int from)
{
	uint32_t m = 0;
	for (int i = from; i < n->nlog; i++)
		if (n->log[i].from == H_A && n->log[i].len > m)
			m = n->log[i].len;
	return m;
}

/* RFC 8201 §4: "packet too big" quoting a segment in flight lowers the
 * path MTU, and what is in flight is sent again in smaller segments at
 * once; an MTU under 1280 is taken as 1280 (RFC 8200 §5), one not below
 * the current size changes nothing, and one quoting a sequence number not
 * in flight is not believed (RFC 5927 §4.1). The data arrives intact. */
static void packet_too_big_lowers_the_segment_size(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	big_limit = ETH_HLEN + 1280; /* the path really carries 1280 */
	ustcp_sim_set_filter(n->sim, drop_big, n);
	static uint8_t buf[30000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + i / 251);
	assert_int_equal(ustcp_send(a, buf, sizeof(buf)), (long)sizeof(buf));
	struct ustcp_sock_info ia = h_info(a);
	uint16_t ts = ia.timestamps ? 12 : 0;
	assert_int_equal(ia.snd_mss, 1500 - 60 - ts);
	assert_true(ia.bytes_in_flight > 0);
	uint32_t cwnd = ia.cwnd;

	int mark = n->nlog;
	icmp6_error_to_a(n, 2, 0, 1400, ia.local.port, ia.snd_una + 1);
	ia = h_info(a);
	assert_int_equal(ia.snd_mss, 1400 - 60 - ts);
	assert_int_equal(ia.cwnd, cwnd);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_pmtu_updates), 1);
	assert_true(n->nlog > mark); /* resent at once */
	assert_true(max_len_from(n, mark) <= 1400u - 60 - ts);

	/* 1000 is below the IPv6 minimum: 1280 is used. */
	mark = n->nlog;
	icmp6_error_to_a(n, 2, 0, 1000, ia.local.port, ia.snd_una);
	ia = h_info(a);
	assert_int_equal(ia.snd_mss, 1280 - 60 - ts);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_pmtu_updates), 2);
	assert_true(n->nlog > mark);
	assert_true(max_len_from(n, mark) <= 1280u - 60 - ts);

	/* Not smaller than the current MTU: ignored. */
	uint64_t ignored = drops(n, H_A, USTCP_DROP_icmp_ignored);
	icmp6_error_to_a(n, 2, 0, 1280, ia.local.port, ia.snd_una);
	icmp6_error_to_a(n, 2, 0, 1400, ia.local.port, ia.snd_una);
	assert_int_equal(drops(n, H_A, USTCP_DROP_icmp_ignored), ignored + 2);
	/* Quoting what is not in flight: beyond snd_max, before snd_una. */
	icmp6_error_to_a(n, 2, 0, 1280, ia.local.port, ia.snd_max + 5000);
	icmp6_error_to_a(n, 2, 0, 1280, ia.local.port, ia.snd_una - 1);
	assert_int_equal(drops(n, H_A, USTCP_DROP_tcp_icmp_bad_seq), 2);
	/* About no connection of ours. */
	icmp6_error_to_a(n, 2, 0, 1280, (uint16_t)(ia.local.port + 1), ia.snd_una);
	assert_int_equal(drops(n, H_A, USTCP_DROP_tcp_icmp_no_conn), 1);
	assert_int_equal(h_info(a).snd_mss, 1280 - 60 - ts);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_pmtu_updates), 2);

	mark = n->nlog;
	static uint8_t got[sizeof(buf) + 1];
	size_t have = 0;
	for (int i = 0; i < 1000 && have < sizeof(buf); i++) {
		h_run(n, 5 * MS);
		long r = ustcp_recv(b, got + have, sizeof(got) - have);
		if (r > 0)
			have += (size_t)r;
	}
	assert_int_equal(have, sizeof(buf));
	assert_memory_equal(got, buf, sizeof(buf));
	assert_true(max_len_from(n, mark) <= 1280u - 60 - ts);
	assert_int_equal(h_info(a).rto_expirations, 0);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* RFC 4443 §3.1 with RFC 5461: "port unreachable" (code 4) or
 * "administratively prohibited" (code 1) about A's SYN ends the attempt;
 * other destination unreachable codes are soft (RFC 1122 §4.2.3.9): the
 * attempt goes on and succeeds, and on an established connection the
 * error is what a later timeout reports. */
static void icmp6_hard_and_soft_errors(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.data_retries = 3;
	struct h_net *n = h_new_cfg(&ca, NULL);
	n->blackhole[H_B] = true;
	struct ustcp_endpoint any = {.port = 0}, to = h_ep6(H_B, PORT_B);
	static const struct {
		uint8_t code;
		int err;
	} hard[] = {{4, -ECONNREFUSED}, {1, -EACCES}};
	for (int i = 0; i < 2; i++) {
		struct ustcp_sock *a;
		assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &a), 0);
		struct ustcp_sock_info ia = h_info(a);
		/* Quoting the wrong sequence number: not believed. */
		icmp6_error_to_a(n, 1, hard[i].code, 0, ia.local.port, ia.iss + 1);
		assert_int_equal(drops(n, H_A, USTCP_DROP_tcp_icmp_bad_seq), i + 1);
		assert_int_equal(ustcp_sock_state(a), USTCP_SYN_SENT);
		icmp6_error_to_a(n, 1, hard[i].code, 0, ia.local.port, ia.iss);
		assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
		assert_int_equal(ustcp_sock_error(a), hard[i].err);
		assert_int_equal(ctr(n, H_A, USTCP_C_tcp_attempt_fails), i + 1);
		ustcp_close(a);
	}
	assert_int_equal(h_conns(n, H_A), 0);

	/* Address unreachable (code 3) while B is silent: soft. */
	struct ustcp_sock *a, *b = NULL, *l;
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &a), 0);
	struct ustcp_sock_info ia = h_info(a);
	uint64_t soft = ctr(n, H_A, USTCP_C_tcp_icmp_soft_errors);
	icmp6_error_to_a(n, 1, 3, 0, ia.local.port, ia.iss);
	assert_int_equal(ustcp_sock_state(a), USTCP_SYN_SENT);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_icmp_soft_errors), soft + 1);
	struct ustcp_endpoint lany = {.port = PORT_B};
	assert_int_equal(ustcp_listen_on(n->st[H_B], lany, 4, &l), 0);
	n->blackhole[H_B] = false;
	for (int i = 0; i < 300 && !b; i++) {
		h_run(n, 10 * MS);
		ustcp_accept(l, &b);
	}
	assert_non_null(b);
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_error(a), 0);
	h_exchange(n, a, b);

	/* Established, B silent again: "no route" (code 0) is remembered and
	 * reported when the retransmissions give up. */
	n->blackhole[H_B] = true;
	h_send_all(a, "hello");
	ia = h_info(a);
	icmp6_error_to_a(n, 1, 0, 0, ia.local.port, ia.snd_una);
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_icmp_soft_errors), soft + 2);
	h_run(n, 30 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -ENETUNREACH);
	ustcp_close(a);
	ustcp_abort(b);
	n->blackhole[H_B] = false;
	h_finish(n, l);
}
/* RFC 1122 §4.2.3.9 over IPv6: "address unreachable" (code 3) about A's SYN
 * is a soft error the program sees at once (ustcp_sock_take_error), and
 * the connect that then times out fails with -EHOSTUNREACH, not
 * -ETIMEDOUT. */
static void connect_after_address_unreachable_fails_with_it(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.syn_retries = 2;
	struct h_net *n = h_new_cfg(&ca, NULL);
	n->blackhole[H_B] = true;
	struct ustcp_endpoint any = {.port = 0}, to = h_ep6(H_B, PORT_B);
	struct ustcp_sock *a;
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &a), 0);
	struct ustcp_sock_info ia = h_info(a);
	icmp6_error_to_a(n, 1, 3, 0, ia.local.port, ia.iss);
	assert_int_equal(ustcp_sock_state(a), USTCP_SYN_SENT);
	assert_int_equal(h_info(a).soft_error, -EHOSTUNREACH);
	assert_int_equal(ustcp_sock_take_error(a), -EHOSTUNREACH);
	assert_int_equal(ustcp_sock_take_error(a), 0);
	h_run(n, 10 * SEC);
	assert_int_equal(ustcp_sock_state(a), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(a), -EHOSTUNREACH);
	ustcp_close(a);
	h_free(n);
}

/* ---- both families, link-local peers ---- */

static void accept_n(struct h_net *n, struct ustcp_sock *l, struct ustcp_sock **out, int want)
{
	int got = 0;
	for (int i = 0; i < 200 && got < want; i++) {
		h_run(n, 1 * MS);
		while (got < want && ustcp_accept(l, &out[got]) == 0)
			got++;
	}
	assert_int_equal(got, want);
}

/* One listener on the unspecified address takes an IPv4 and an IPv6
 * connection from A at the same time; each reports its own family and
 * addresses and carries data. A listener bound to B's IPv4 address does
 * not take IPv6 (the SYN is refused with a RST), one bound to B's IPv6
 * address does not take IPv4, and the two ends of a connection must be of
 * one family. */
static void dual_stack_listener(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct ustcp_sock *l, *a4, *a6, *acc[2];
	struct ustcp_endpoint any = {.port = 0}, lany = {.port = PORT_B};
	struct ustcp_endpoint to4 = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B},
			      to6 = h_ep6(H_B, PORT_B);
	assert_int_equal(ustcp_listen_on(n->st[H_B], lany, 16, &l), 0);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to4, &a4), 0);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, to6, &a6), 0);
	accept_n(n, l, acc, 2);
	struct ustcp_sock_info i0 = h_info(acc[0]);
	struct ustcp_sock *b6 = i0.remote.v6 ? acc[0] : acc[1];
	struct ustcp_sock *b4 = i0.remote.v6 ? acc[1] : acc[0];
	struct ustcp_sock_info ia4 = h_info(a4), ia6 = h_info(a6), ib4 = h_info(b4),
			       ib6 = h_info(b6);
	uint8_t ga[16], gb[16];
	gl6(H_A, ga);
	gl6(H_B, gb);
	assert_int_equal(ustcp_sock_state(a4), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_state(a6), USTCP_ESTABLISHED);
	assert_true(!ia4.local.v6 && !ia4.remote.v6 && !ib4.local.v6 && !ib4.remote.v6);
	assert_int_equal(ib4.local.ip4, ntohl(h_ip(H_B)));
	assert_int_equal(ib4.remote.ip4, ntohl(h_ip(H_A)));
	assert_int_equal(ib4.remote.port, ia4.local.port);
	assert_int_equal(ib4.local.port, PORT_B);
	assert_int_equal(ib4.rcv_mss, 1500 - 20 - 20);
	assert_true(ia6.local.v6 && ia6.remote.v6 && ib6.local.v6 && ib6.remote.v6);
	assert_memory_equal(ib6.local.ip6, gb, 16);
	assert_memory_equal(ib6.remote.ip6, ga, 16);
	assert_memory_equal(ia6.local.ip6, ga, 16);
	assert_int_equal(ib6.remote.port, ia6.local.port);
	assert_int_equal(ib6.local.port, PORT_B);
	assert_int_equal(ib6.rcv_mss, 1500 - 40 - 20);
	h_exchange(n, a4, b4);
	h_exchange(n, a6, b6);
	assert_true(ctr(n, H_A, USTCP_C_ip_out) > 0);
	assert_true(ctr(n, H_A, USTCP_C_ip6_out) > 0);

	/* A listener on B's IPv4 address only, another on its IPv6 one. */
	struct ustcp_sock *l4, *l6, *k;
	struct ustcp_endpoint only4 = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B + 1};
	struct ustcp_endpoint only6 = h_ep6(H_B, PORT_B + 2);
	assert_int_equal(ustcp_listen_on(n->st[H_B], only4, 4, &l4), 0);
	assert_int_equal(ustcp_listen_on(n->st[H_B], only6, 4, &l6), 0);
	int rst = h_count(n, H_B, TCP_RST, TCP_RST);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, h_ep6(H_B, PORT_B + 1), &k), 0);
	h_run(n, 20 * MS);
	assert_int_equal(ustcp_sock_state(k), USTCP_CLOSED);
	assert_int_equal(ustcp_sock_error(k), -ECONNREFUSED);
	assert_int_equal(h_count(n, H_B, TCP_RST, TCP_RST), rst + 1);
	const struct h_seg *r = h_find(n, H_B, TCP_RST, TCP_RST, rst);
	assert_int_equal(r->sport, PORT_B + 1);
	ustcp_close(k);
	struct ustcp_endpoint v4_port2 = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B + 2};
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, v4_port2, &k), 0);
	h_run(n, 20 * MS);
	assert_int_equal(ustcp_sock_error(k), -ECONNREFUSED);
	assert_int_equal(h_count(n, H_B, TCP_RST, TCP_RST), rst + 2);
	ustcp_close(k);
	/* The right family is taken. */
	struct ustcp_sock *k4, *k6, *c4 = NULL, *c6 = NULL;
	struct ustcp_endpoint v4_port1 = {.ip4 = ntohl(h_ip(H_B)), .port = PORT_B + 1};
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, v4_port1, &k4), 0);
	assert_int_equal(ustcp_connect_to(n->st[H_A], any, only6, &k6), 0);
	accept_n(n, l4, &c4, 1);
	accept_n(n, l6, &c6, 1);
	assert_false(h_info(c4).local.v6);
	assert_true(h_info(c6).local.v6);
	assert_int_equal(ustcp_sock_state(k4), USTCP_ESTABLISHED);
	assert_int_equal(ustcp_sock_state(k6), USTCP_ESTABLISHED);

	/* One family per connection. */
	struct ustcp_endpoint local4 = {.ip4 = ntohl(h_ip(H_A))}, local6 = h_ep6(H_A, 0);
	assert_int_equal(ustcp_connect_to(n->st[H_A], local4, to6, &k), -EINVAL);
	assert_int_equal(ustcp_connect_to(n->st[H_A], local6, to4, &k), -EINVAL);

	struct ustcp_sock *all[] = {a4, a6, b4, b6, k4, k6, c4, c6};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		ustcp_close(all[i]);
	ustcp_close(l4);
	ustcp_close(l6);
	h_finish(n, l);
}

/* A connection to B's link-local address: A's source is its own
 * link-local address (RFC 6724 rule 2: the destination's scope), on every
 * segment; with neighbour discovery the solicitation also comes from it,
 * to B's link-local solicited-node group. */
static void link_local_connection(void **state)
{
	(void)state;
	for (int use_nd = 0; use_nd < 2; use_nd++) {
		struct h_net *n = h_new_net(NULL, NULL, use_nd, 0);
		struct cap *c = cap_new(n);
		uint8_t al[16], bl[16];
		ll6(n, H_A, al);
		ll6(n, H_B, bl);
		/* fe80::/64 with the MAC's interface identifier, U/L bit flipped. */
		static const uint8_t want_bl[16] = {0xfe, 0x80, [8] = 0, 0, 0, 0xff, 0xfe, 0, 0, 1};
		assert_memory_equal(bl, want_bl, 16);
		struct ustcp_sock *a, *b = NULL, *l;
		struct ustcp_endpoint lany = {.port = PORT_B}, any = {.port = 0};
		struct ustcp_endpoint to = {.port = PORT_B, .v6 = 1};
		memcpy(to.ip6, bl, 16);
		assert_int_equal(ustcp_listen_on(n->st[H_B], lany, 4, &l), 0);
		assert_int_equal(ustcp_connect_to(n->st[H_A], any, to, &a), 0);
		for (int i = 0; i < 100 && !b; i++) {
			h_run(n, 1 * MS);
			ustcp_accept(l, &b);
		}
		assert_non_null(b);
		struct ustcp_sock_info ia = h_info(a), ib = h_info(b);
		assert_true(ia.local.v6 && ia.remote.v6 && ib.local.v6 && ib.remote.v6);
		assert_memory_equal(ia.local.ip6, al, 16);
		assert_memory_equal(ia.remote.ip6, bl, 16);
		assert_memory_equal(ib.local.ip6, bl, 16);
		assert_memory_equal(ib.remote.ip6, al, 16);
		h_exchange(n, a, b);
		struct seen6 s;
		struct tcp_hdr th;
		int segs = 0;
		for (; cap_tcp(c, H_A, segs, &s, &th); segs++) {
			assert_memory_equal(s.ih.src, al, 16);
			assert_memory_equal(s.ih.dst, bl, 16);
		}
		assert_true(segs >= 3);
		for (int i = 0; cap_tcp(c, H_B, i, &s, &th); i++) {
			assert_memory_equal(s.ih.src, bl, 16);
			assert_memory_equal(s.ih.dst, al, 16);
		}
		if (use_nd) {
			uint8_t sn[16];
			sn_of(bl, sn);
			assert_int_equal(ctr(n, H_A, USTCP_C_nd_ns_out), 1);
			assert_true(cap_icmp6(c, H_A, ND_NS, 0, &s));
			assert_memory_equal(s.ih.src, al, 16);
			assert_memory_equal(s.ih.dst, sn, 16);
			assert_memory_equal(s.l4 + ICMP_HLEN, bl, 16);
			assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_out), 0); /* learned from it */
		} else {
			assert_int_equal(ctr(n, H_A, USTCP_C_nd_ns_out), 0);
		}
		assert_int_equal(ustcp_drops_total(n->st[H_A]) + ustcp_drops_total(n->st[H_B]), 0);
		ustcp_close(a);
		ustcp_close(b);
		cap_free(c);
		h_finish(n, l);
	}
}

/* ---- fragments (RFC 8200 §4.5) ---- */

/* An echo request in two fragments, in order and then the second first,
 * is put together and answered with all its data; so is a TCP segment cut
 * in three, the last first. */
static void fragments_reassembled(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16];
	gl6(H_A, a);
	gl6(H_B, b);
	uint8_t data[200], msg[ICMP_HLEN + sizeof(data)];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	const uint32_t cuts[] = {0, 104};
	const int in_order[] = {0, 1}, reversed[] = {1, 0};
	for (int round = 0; round < 2; round++) {
		uint32_t idseq = 0x77000000u | (uint32_t)round;
		size_t len = icmp6_msg(msg, ICMP6_ECHO, 0, idseq, data, sizeof(data), a, b);
		frags6_to(n, H_B, a, b, IPPROTO_ICMPV6_, msg, len, cuts, 2,
			  round ? reversed : in_order, 2, 1000u + (uint32_t)round);
		assert_int_equal(ctr(n, H_B, USTCP_C_ip_reassembled), round + 1);
		struct seen6 s;
		assert_true(cap_icmp6(c, H_B, ICMP6_ECHO_REPLY, round, &s));
		assert_memory_equal(s.ih.src, b, 16);
		assert_memory_equal(s.ih.dst, a, 16);
		assert_int_equal(s.ic.rest, idseq);
		assert_int_equal(s.l4len, ICMP_HLEN + sizeof(data));
		assert_memory_equal(s.l4 + ICMP_HLEN, data, sizeof(data));
	}
	assert_int_equal(ctr(n, H_B, USTCP_C_ip_frags_in), 4);
	/* Only the first fragment: nothing is answered. */
	size_t len = icmp6_msg(msg, ICMP6_ECHO, 0, 9, data, sizeof(data), a, b);
	frags6_to(n, H_B, a, b, IPPROTO_ICMPV6_, msg, len, cuts, 2, in_order, 1, 2000);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), 2);

	struct ustcp_sock *ka, *kb, *l;
	establish6(n, &ka, &kb, &l);
	struct ustcp_sock_info ia = h_info(ka);
	static const char text[] =
		"a TCP segment over IPv6 that arrives as three fragments, last first";
	struct tcp_hdr th = {.sport = ia.local.port,
			     .dport = PORT_B,
			     .seq = ia.snd_nxt,
			     .ack = ia.rcv_nxt,
			     .flags = TCP_ACK | TCP_PSH,
			     .win = 1000};
	uint8_t seg[TCP_MAX_HLEN + sizeof(text)];
	size_t hl = tcp_emit(&th, seg);
	memcpy(seg + hl, text, sizeof(text) - 1);
	tcp_checksum_set6(seg, hl + sizeof(text) - 1, a, b);
	const uint32_t tcuts[] = {0, 32, 64};
	const int torder[] = {2, 0, 1};
	frags6_to(n, H_B, a, b, IPPROTO_TCP_, seg, hl + sizeof(text) - 1, tcuts, 3, torder, 3,
		  3000);
	assert_int_equal(ctr(n, H_B, USTCP_C_ip_reassembled), 3);
	h_expect_read(kb, text);
	ustcp_abort(ka);
	ustcp_abort(kb);
	cap_free(c);
	h_finish(n, l);
}

/* ---- bulk data over a lossy, reordering link ---- */

#define BULK (2u << 20)

struct bulk {
	struct ustcp_sock *k;
	uint8_t *out, *in;
	size_t sent, got;
	bool shut;
};

static void bulk_fill(uint8_t *p, size_t len, uint32_t salt)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 2654435761u + salt) >> 13);
}

/* Push what the send buffer takes, read what arrived, shut down when done. */
static void bulk_step(struct bulk *p)
{
	if (p->sent < BULK) {
		long r = ustcp_send(p->k, p->out + p->sent, BULK - p->sent);
		if (r > 0)
			p->sent += (size_t)r;
	} else if (!p->shut) {
		assert_int_equal(ustcp_shutdown(p->k, USTCP_SHUT_WR), 0);
		p->shut = true;
	}
	for (;;) {
		long r = ustcp_recv(p->k, p->in + p->got, BULK + 1 - p->got);
		if (r <= 0)
			break;
		p->got += (size_t)r;
		assert_true(p->got <= BULK);
	}
}

/* 2 MB each way at once over IPv6 with 2% loss and 2% reordering on both
 * ports: every byte arrives, in order, once. */
static void bulk_both_ways_with_loss(void **state)
{
	(void)state;
	struct ustcp_config ca, cb;
	h_init_cfg(&ca, 61);
	h_init_cfg(&cb, 62);
	ca.msl = cb.msl = 1 * SEC;
	ca.data_retries = cb.data_retries = 30;
	struct h_net *n = h_new_cfg(&ca, &cb);
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	struct ustcp_impair imp = {
		.delay = 2 * MS, .loss = 0.02, .reorder = 0.02, .reorder_delay = 3 * MS};
	for (int i = 0; i < 2; i++)
		ustcp_sim_set_impair(n->sim, n->port[i], &imp);
	struct bulk pa = {a, malloc(BULK), malloc(BULK + 1), 0, 0, false};
	struct bulk pb = {b, malloc(BULK), malloc(BULK + 1), 0, 0, false};
	assert_true(pa.out && pa.in && pb.out && pb.in);
	bulk_fill(pa.out, BULK, 1);
	bulk_fill(pb.out, BULK, 2);
	for (int i = 0; i < 100000 && (!ustcp_sock_eof(a) || !ustcp_sock_eof(b)); i++) {
		h_run(n, 5 * MS);
		bulk_step(&pa);
		bulk_step(&pb);
		assert_int_equal(ustcp_sock_error(a), 0);
		assert_int_equal(ustcp_sock_error(b), 0);
	}
	assert_int_equal(pa.got, BULK);
	assert_int_equal(pb.got, BULK);
	assert_memory_equal(pa.in, pb.out, BULK);
	assert_memory_equal(pb.in, pa.out, BULK);
	struct ustcp_impair_stats st[2];
	for (int i = 0; i < 2; i++) {
		ustcp_sim_get_stats(n->sim, n->port[i], &st[i]);
		assert_true(st[i].lost > 0 && st[i].reordered > 0);
		assert_true(ctr(n, i, USTCP_C_tcp_retransmits) > 0);
		assert_int_equal(ctr(n, i, USTCP_C_ip_out), 0);
	}
	print_message("IPv6 2 MB each way: %.3f s, rexmit %llu/%llu, lost %llu/%llu\n",
		      (double)h_now(n) / SEC,
		      (unsigned long long)ctr(n, H_A, USTCP_C_tcp_retransmits),
		      (unsigned long long)ctr(n, H_B, USTCP_C_tcp_retransmits),
		      (unsigned long long)st[0].lost, (unsigned long long)st[1].lost);
	free(pa.out);
	free(pa.in);
	free(pb.out);
	free(pb.in);
	ustcp_close(a);
	ustcp_close(b);
	h_finish(n, l);
}

/* ---- resets (RFC 9293 §3.10.7.1) ---- */

/* A segment to a closed IPv6 port is answered by a RST from the address it
 * was sent to, to its source, with a valid checksum over the IPv6
 * pseudo-header: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> without ACK,
 * <SEQ=SEG.ACK><CTL=RST> with it; for link-local addresses too. A segment
 * with a bad checksum gets nothing. */
static void rst_for_closed_port(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16], al[16], bl[16];
	gl6(H_A, a);
	gl6(H_B, b);
	ll6(n, H_A, al);
	ll6(n, H_B, bl);
	struct {
		const uint8_t *src, *dst;
		uint8_t flags;
		uint32_t seq, ack;
		const char *data;
		uint8_t want_flags;
		uint32_t want_seq, want_ack;
	} cases[] = {
		{a, b, TCP_SYN, 1000, 0, "", TCP_RST | TCP_ACK, 0, 1001},
		{a, b, TCP_ACK | TCP_PSH, 5000, 0xdeadbeef, "hello", TCP_RST, 0xdeadbeef, 0},
		{al, bl, TCP_SYN, 2000, 0, "", TCP_RST | TCP_ACK, 0, 2001},
		{al, bl, TCP_PSH, 3000, 0, "abc", TCP_RST | TCP_ACK, 0, 3003},
	};
	const int ncase = (int)(sizeof(cases) / sizeof(cases[0]));
	for (int i = 0; i < ncase; i++) {
		struct tcp_hdr th = {.sport = (uint16_t)(40000 + i),
				     .dport = NO_PORT,
				     .seq = cases[i].seq,
				     .ack = cases[i].ack,
				     .flags = cases[i].flags,
				     .win = 8192};
		inject_seg6(n, H_B, cases[i].src, cases[i].dst, &th, cases[i].data,
			    strlen(cases[i].data));
		struct seen6 s;
		struct tcp_hdr r;
		assert_true(cap_tcp(c, H_B, i, &s, &r)); /* checksum checked */
		assert_memory_equal(s.eh.dst, mac_of[H_A], 6);
		assert_memory_equal(s.eh.src, mac_of[H_B], 6);
		assert_memory_equal(s.ih.src, cases[i].dst, 16);
		assert_memory_equal(s.ih.dst, cases[i].src, 16);
		assert_int_equal(s.ih.next_hdr, IPPROTO_TCP_);
		assert_int_equal(s.ih.payload_len, s.l4len);
		assert_int_equal(r.flags, cases[i].want_flags);
		assert_int_equal(r.seq, cases[i].want_seq);
		assert_int_equal(r.ack, cases[i].want_ack);
		assert_int_equal(r.sport, NO_PORT);
		assert_int_equal(r.dport, 40000 + i);
		assert_int_equal(s.l4len, r.hlen); /* no data */
	}
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_rst_out), ncase);
	assert_int_equal(drops(n, H_B, USTCP_DROP_tcp_no_conn), ncase);

	/* A bad checksum: dropped before any answer. */
	uint8_t seg[TCP_MAX_HLEN];
	struct tcp_hdr th = {
		.sport = 41000, .dport = NO_PORT, .seq = 1, .flags = TCP_SYN, .win = 1};
	size_t hl = tcp_emit(&th, seg);
	tcp_checksum_set6(seg, hl, a, b);
	seg[4] ^= 1;
	inject6(n, H_B, mac_of[H_A], mac_of[H_B], a, b, IPPROTO_TCP_, 64, seg, hl);
	assert_int_equal(drops(n, H_B, USTCP_DROP_tcp_bad_csum), 1);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_rst_out), ncase);
	/* A RST is never answered. */
	th.flags = TCP_RST;
	inject_seg6(n, H_B, a, b, &th, NULL, 0);
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_rst_out), ncase);
	assert_int_equal(drops(n, H_B, USTCP_DROP_tcp_rst_no_conn), 1);
	h_run(n, 10 * MS);
	cap_free(c);
	h_finish(n, NULL);
}
/* RFC 4291: an IPv4-mapped address (which inside the stack stands for an
 * IPv4 peer) and the unspecified address are never TCP sources, and TCP is
 * never addressed to a group: each SYN is dropped, counted, and answered by
 * nothing, though B listens on every address. */
static void bad_sources_and_groups_dropped(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	struct ustcp_sock *l;
	struct ustcp_endpoint any = {.port = PORT_B};
	assert_int_equal(ustcp_listen_on(n->st[H_B], any, 4, &l), 0);
	uint8_t b[16], a[16], mapped[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 3};
	gl6(H_B, b);
	gl6(H_A, a);
	struct tcp_hdr th = {
		.sport = 40000, .dport = PORT_B, .seq = 1, .flags = TCP_SYN, .win = 8192};
	inject_seg6(n, H_B, mapped, b, &th, "", 0);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_bad_src), 1);
	inject_seg6(n, H_B, unspecified, b, &th, "", 0);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_bad_src), 2);
	inject_seg6(n, H_B, a, all_nodes, &th, "", 0);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_not_for_us), 1);
	h_run(n, 10 * MS);
	struct seen6 s;
	struct tcp_hdr r;
	assert_false(cap_tcp(c, H_B, 0, &s, &r));
	assert_int_equal(ctr(n, H_B, USTCP_C_tcp_in), 0);
	/* The same SYN from A's real address is answered. */
	inject_seg6(n, H_B, a, b, &th, "", 0);
	h_run(n, 10 * MS);
	assert_true(cap_tcp(c, H_B, 0, &s, &r));
	assert_int_equal(r.flags, TCP_SYN | TCP_ACK);
	cap_free(c);
	ustcp_close(l);
	h_free(n);
}

/* A neighbour entry gone stale (60 s) is asked for again while in use; the
 * segment that found it stale still leaves, intact, and the question
 * follows it (the solicitation once took the segment's transmit slot). */
static void stale_neighbour_keeps_the_frame(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	h_exchange(n, a, b);
	h_run(n, 61 * SEC);
	uint64_t ns = ctr(n, H_A, USTCP_C_nd_ns_out);
	h_send_all(a, "hello");
	h_run(n, 5 * MS);                                         /* one-way delay is 1 ms */
	assert_int_equal(ctr(n, H_A, USTCP_C_nd_ns_out), ns + 1); /* re-asked */
	assert_int_equal(ustcp_sock_readable(b), 5);
	assert_int_equal(ctr(n, H_A, USTCP_C_tcp_retransmits), 0);
	ustcp_abort(a);
	ustcp_abort(b);
	h_finish(n, l);
}

/* The same with a transmit queue of one slot, where reusing the slot ran
 * the queue past its end. */
static void stale_neighbour_with_one_tx_slot(void **state)
{
	(void)state;
	struct ustcp_config ca;
	h_init_cfg(&ca, 3);
	ca.tx_queue = 1;
	struct h_net *n = h_new_net(&ca, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	establish6(n, &a, &b, &l);
	h_exchange(n, a, b);
	h_run(n, 61 * SEC);
	h_send_all(a, "hello");
	h_run(n, 5 * MS);
	assert_int_equal(ustcp_sock_readable(b), 5);
	ustcp_abort(a);
	ustcp_abort(b);
	h_finish(n, l);
}

/* RFC 5722, RFC 8200 §4.5: overlapping fragments condemn the datagram;
 * an exact copy of a fragment is only dropped itself. */
static void overlapping_fragments_dropped(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16];
	gl6(H_A, a);
	gl6(H_B, b);
	uint8_t data[200], msg[ICMP_HLEN + sizeof(data)];
	memset(data, 'x', sizeof(data));
	size_t len = icmp6_msg(msg, ICMP6_ECHO, 0, 7, data, sizeof(data), a, b);
	/* 0..104, then 8..112 (overlaps), then 104..end */
	const uint32_t cuts[] = {0, 104};
	const int first[] = {0};
	frags6_to(n, H_B, a, b, IPPROTO_ICMPV6_, msg, len, cuts, 2, first, 1, 4242);
	const uint32_t cuts2[] = {0, 8, 112};
	const int mid[] = {1};
	frags6_to(n, H_B, a, b, IPPROTO_ICMPV6_, msg, len, cuts2, 3, mid, 1, 4242);
	const int last[] = {1};
	frags6_to(n, H_B, a, b, IPPROTO_ICMPV6_, msg, len, cuts, 2, last, 1, 4242);
	assert_int_equal(ctr(n, H_B, USTCP_C_ip_reassembled), 0);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_frag_overlap), 1);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), 0);
	/* Whole again, with the first fragment sent twice: the copy is
	 * dropped alone and the echo answered. */
	const int twice[] = {0, 0, 1};
	frags6_to(n, H_B, a, b, IPPROTO_ICMPV6_, msg, len, cuts, 2, twice, 3, 4243);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_frag_dup), 1);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), 1);
	cap_free(c);
	h_free(n);
}

/* RFC 6946 §4: an atomic fragment is processed alone, even beside a
 * waiting fragment with its identification. */
static void atomic_fragment_in_isolation(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16];
	gl6(H_A, a);
	gl6(H_B, b);
	uint8_t msg[64];
	size_t len = icmp6_msg(msg, ICMP6_ECHO, 0, 9, "atomic!!", 8, a, b);
	/* A planted fragment (off 1024, M=1) with the same id. */
	uint8_t p[8 + 16] = {IPPROTO_ICMPV6_, 0};
	wr16(p + 2, 1024 | 1);
	wr32(p + 4, 77);
	inject6(n, H_B, mac_of[H_A], mac_of[H_B], a, b, 44, 64, p, sizeof(p));
	/* The atomic fragment: off 0, M 0. */
	uint8_t q[8 + 64] = {IPPROTO_ICMPV6_, 0};
	wr16(q + 2, 0);
	wr32(q + 4, 77);
	memcpy(q + 8, msg, len);
	inject6(n, H_B, mac_of[H_A], mac_of[H_B], a, b, 44, 64, q, 8 + len);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), 1);
	cap_free(c);
	h_free(n);
}

/* RFC 6980 §5: neighbour discovery in fragments is ignored. */
static void fragmented_ns_ignored(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	uint8_t b[16], sn[16], body[64], msg[128];
	gl6(H_B, b);
	sn_of(b, sn);
	static const uint8_t mc[6] = {2, 0, 0, 0, 0, 7};
	uint8_t cc[16];
	host6(7, cc);
	size_t blen = nd_body(body, b, 1, mc);
	size_t len = icmp6_msg(msg, ND_NS, 0, 0, body, blen, cc, b);
	/* two fragments, hop limit 255, unicast to B */
	for (int i = 0; i < 2; i++) {
		uint8_t p[8 + 64];
		uint32_t from = i ? 16 : 0, end = i ? (uint32_t)len : 16;
		p[0] = IPPROTO_ICMPV6_;
		p[1] = 0;
		wr16(p + 2, (uint16_t)(from | (i ? 0 : 1)));
		wr32(p + 4, 99);
		memcpy(p + 8, msg + from, end - from);
		inject6(n, H_B, mc, mac_of[H_B], cc, b, 44, 255, p, 8 + end - from);
	}
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_ns_in), 0);
	assert_int_equal(cap_count6(c, H_B, ND_NA), 0);
	cap_free(c);
	h_free(n);
}

/* An advertisement for an IPv4-mapped target is malformed: inside the
 * stack it would name the IPv4 (ARP) entry of that address. */
static uint8_t last_v4_dst[6];
static int v4_out;
static void v4_trace(void *ctx, const struct ustcp_trace_event *ev)
{
	h_trace(ctx, ev);
	struct h_net *n = ctx;
	if (ev->dir == USTCP_TRACE_OUT && ev->stack == n->st[H_A] && ev->len > 14 &&
	    rd16(ev->frame + 12) == ETHERTYPE_IPV4) {
		memcpy(last_v4_dst, ev->frame, 6);
		v4_out++;
	}
}
static void na_for_mapped_target_dropped(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct ustcp_sock *a, *b, *l;
	h_establish(n, &a, &b, &l); /* IPv4, A learned B by ARP */
	ustcp_set_trace(n->st[H_A], v4_trace, n);
	static const uint8_t evil[6] = {2, 0, 0, 0, 0, 0x66};
	uint8_t al[16], src[16] = {0xfe, 0x80, [15] = 0x66};
	ll6(n, H_A, al);
	uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 1}; /* B's IPv4 */
	uint8_t body[64];
	size_t blen = nd_body(body, mapped, 2, evil);
	send_icmp6(n, H_A, evil, mac_of[H_A], src, al, 255, ND_NA, 0, NA_O, body, blen);
	h_send_all(a, "x");
	h_run(n, 1 * MS);
	assert_true(v4_out > 0);
	assert_memory_equal(last_v4_dst, mac_of[H_B], 6);
	ustcp_abort(a);
	ustcp_abort(b);
	ustcp_set_trace(n->st[H_A], h_trace, n);
	h_finish(n, l);
}

/* RFC 4861 §7.2.5: an advertisement without Override leaves a known
 * address as it is. */
static void na_without_override_keeps_entry(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	uint8_t b[16], sn[16], snmac[6], body[64];
	gl6(H_B, b);
	sn_of(b, sn);
	group_mac(sn, snmac);
	static const uint8_t mc[6] = {2, 0, 0, 0, 0, 7}, evil[6] = {2, 0, 0, 0, 0, 0x66};
	uint8_t cc[16];
	host6(7, cc);
	size_t blen = nd_body(body, b, 1, mc);
	send_icmp6(n, H_B, mc, snmac, cc, sn, 255, ND_NS, 0, 0, body, blen); /* B learns C */
	blen = nd_body(body, cc, 2, evil);
	send_icmp6(n, H_B, evil, mac_of[H_B], cc, b, 255, ND_NA, 0, 0, body, blen); /* S=0 O=0 */
	send_icmp6(n, H_B, mc, mac_of[H_B], cc, b, 64, ICMP6_ECHO, 0, 5, "hi", 2);
	struct seen6 s;
	assert_true(cap_icmp6(c, H_B, ICMP6_ECHO_REPLY, 0, &s));
	assert_memory_equal(s.eh.dst, mc, 6);
	cap_free(c);
	h_run(n, 10 * MS);
	h_free(n);
}

/* RFC 4861 §4.3: multicast solicitations without the source's link-layer
 * address, from sources nobody knows, are not answered: each answer would
 * wait for a solicitation of our own, and 16 of them would push out a
 * frame waiting for a real neighbour. */
static void ns_without_slla_not_answered(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	uint8_t b[16], d[16], sn[16], snmac[6], body[64];
	gl6(H_B, b);
	host6(8, d);
	sn_of(b, sn);
	group_mac(sn, snmac);
	static const uint8_t md[6] = {2, 0, 0, 0, 0, 8}, evil[6] = {2, 0, 0, 0, 0, 0x66};
	send_icmp6(n, H_B, md, mac_of[H_B], d, b, 64, ICMP6_ECHO, 0, 1, "held", 4); /* held */
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_queued), 1);
	size_t blen = nd_body(body, b, 1, NULL);
	for (int i = 0; i < 16; i++) {
		uint8_t src[16];
		host6((uint8_t)(100 + i), src);
		src[8] = 0x42;
		send_icmp6(n, H_B, evil, snmac, src, sn, 255, ND_NS, 0, 0, body, blen);
	}
	uint64_t ns_out = ctr(n, H_B, USTCP_C_nd_ns_out);
	blen = nd_body(body, d, 2, md);
	send_icmp6(n, H_B, md, mac_of[H_B], d, b, 255, ND_NA, 0, NA_S | NA_O, body, blen);
	assert_int_equal(ns_out, 1); /* only the one for the held echo reply */
	assert_int_equal(drops(n, H_B, USTCP_DROP_nd_malformed), 16);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), 1);
	cap_free(c);
	h_run(n, 10 * MS);
	h_free(n);
}

/* The stack does not fragment: an echo whose reply would exceed the link
 * MTU goes unanswered rather than out too big. */
static void echo_larger_than_mtu_unanswered(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16];
	gl6(H_A, a);
	gl6(H_B, b);
	static uint8_t data[1800], msg[ICMP_HLEN + 1800];
	memset(data, 'y', sizeof(data));
	size_t len = icmp6_msg(msg, ICMP6_ECHO, 0, 3, data, sizeof(data), a, b);
	const uint32_t cuts[] = {0, 1200};
	const int order[] = {0, 1};
	frags6_to(n, H_B, a, b, IPPROTO_ICMPV6_, msg, len, cuts, 2, order, 2, 555);
	for (int i = 0; i < c->nf; i++)
		if (c->f[i].from == H_B)
			assert_true(c->f[i].len <= ETH_HLEN + 1500);
	cap_free(c);
	h_free(n);
}

/* RFC 8200 §4.4: a Routing header with segments left (type 0, deprecated
 * by RFC 5095) is discarded, and answered with a Parameter Problem, code 0,
 * pointing at the Routing Type. */
static void routing_header_discarded(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16];
	gl6(H_A, a);
	gl6(H_B, b);
	uint8_t p[8 + 16 + 16];
	p[0] = IPPROTO_ICMPV6_;
	p[1] = 2; /* 24 bytes */
	p[2] = 0; /* type 0 */
	p[3] = 1; /* segments left */
	memset(p + 4, 0, 4);
	host6(99, p + 8);
	uint8_t m[16];
	size_t ml = icmp6_msg(m, ICMP6_ECHO, 0, 1, "rh", 2, a, b);
	memcpy(p + 24, m, ml);
	inject6(n, H_B, mac_of[H_A], mac_of[H_B], a, b, 43, 64, p, 24 + ml);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), 0);
	struct seen6 s;
	assert_true(cap_icmp6(c, H_B, 4, 0, &s));
	assert_int_equal(s.ic.code, 0);
	assert_int_equal(s.ic.rest, IPV6_HLEN + 2);
	assert_int_equal(s.l4len, ICMP_HLEN + IPV6_HLEN + 24 + ml);
	assert_memory_equal(s.l4 + ICMP_HLEN + IPV6_HLEN, p, 24 + ml);
	cap_free(c);
	h_free(n);
}

/* A unicast solicitation without the sender's link-layer address (RFC 4861
 * §7.2.3 allows it) from a neighbour B does not know: the advertisement
 * waits for B's own solicitation to be answered, then leaves as a whole
 * frame to the neighbour's MAC. */
static void nd_answer_waits_for_unknown_solicitor(void **state)
{
	(void)state;
	struct h_net *n = h_new_net(NULL, NULL, true, 0);
	struct cap *c = cap_new(n);
	uint8_t b[16], d[16], body[64];
	gl6(H_B, b);
	host6(8, d);
	static const uint8_t md[6] = {2, 0, 0, 0, 0, 8};
	const uint8_t *mb = mac_of[H_B];
	size_t blen = nd_body(body, b, 1, NULL);
	send_icmp6(n, H_B, md, mb, d, b, 255, ND_NS, 0, 0, body, blen);
	assert_int_equal(ctr(n, H_B, USTCP_C_nd_queued), 1);
	assert_int_equal(cap_count6(c, H_B, ND_NA), 0);
	struct seen6 s;
	assert_true(cap_icmp6(c, H_B, ND_NS, 0, &s));
	assert_memory_equal(s.l4 + ICMP_HLEN, d, 16);
	blen = nd_body(body, d, 2, md);
	send_icmp6(n, H_B, md, mb, d, b, 255, ND_NA, 0, NA_S | NA_O, body, blen);
	assert_true(cap_icmp6(c, H_B, ND_NA, 0, &s));
	assert_memory_equal(s.eh.dst, md, 6);
	assert_memory_equal(s.eh.src, mb, 6);
	assert_memory_equal(s.ih.src, b, 16);
	assert_memory_equal(s.ih.dst, d, 16);
	assert_int_equal(s.ih.hop_limit, 255);
	assert_true(s.ic.rest & NA_S);
	assert_na_body(&s, b, mb);
	assert_int_equal(ustcp_drops_total(n->st[H_B]), 0);
	cap_free(c);
	h_run(n, 10 * MS);
	h_free(n);
}

/* RFC 9293 §3.7.1 (MUST-15): a peer whose SYN carries no MSS option is
 * sent segments of 1220 bytes over IPv6 (1280 less 60), not IPv4's 536. */
static void ipv6_default_mss_without_option(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	n->blackhole[H_B] = true;
	struct ustcp_sock *a;
	struct ustcp_endpoint local = {.port = 0}, to = h_ep6(H_B, PORT_B);
	assert_int_equal(ustcp_connect_to(n->st[H_A], local, to, &a), 0);
	struct ustcp_sock_info ia = h_info(a);
	uint8_t src[16], dst[16];
	gl6(H_B, src);
	gl6(H_A, dst);
	struct tcp_hdr th = {.sport = PORT_B,
			     .dport = ia.local.port,
			     .seq = 9000,
			     .ack = ia.iss + 1,
			     .flags = TCP_SYN | TCP_ACK,
			     .win = 65535};
	inject_seg6(n, H_A, src, dst, &th, NULL, 0);
	assert_int_equal(ustcp_sock_state(a), USTCP_ESTABLISHED);
	assert_int_equal(h_info(a).snd_mss, 1220);
	ustcp_abort(a);
	h_free(n);
}

/* ---- Parameter Problem (RFC 8200 §4, RFC 4443 §3.4) ---- */

#define ICMP6_PARAM_PROBLEM 4
#define NH_DSTOPTS 60
#define NH_UDP 17
#define NH_NONE 59

/* An IPv6 packet (fixed header, then payload) into pkt; returns its length. */
static size_t build6(uint8_t *pkt, const uint8_t src[16], const uint8_t dst[16], uint8_t next,
		     const uint8_t *payload, size_t plen)
{
	struct ipv6_hdr ih = {.payload_len = (uint16_t)plen, .next_hdr = next, .hop_limit = 64};
	memcpy(ih.src, src, 16);
	memcpy(ih.dst, dst, 16);
	ipv6_emit(&ih, pkt);
	memcpy(pkt + IPV6_HLEN, payload, plen);
	return IPV6_HLEN + plen;
}

static void inject_pkt6(struct h_net *n, int to, const uint8_t dmac[6], const uint8_t *pkt,
			size_t len)
{
	uint8_t *f = malloc(ETH_HLEN + len);
	assert_non_null(f);
	struct eth_hdr eh = {.type = ETHERTYPE_IPV6};
	memcpy(eh.dst, dmac, 6);
	memcpy(eh.src, mac_of[!to], 6);
	eth_emit(&eh, f);
	memcpy(f + ETH_HLEN, pkt, len);
	ustcp_input(n->st[to], 0, f, ETH_HLEN + len, h_now(n));
	free(f);
}

/* A Destination Options header (8 bytes: a PadN of 2, then an option of
 * type opt with 0 bytes of data, then a Pad1... padding to 8) before an
 * echo request from src to dst; returns the payload length. The option
 * type sits at offset 40 + 4 of the packet. */
static size_t dstopts_echo(uint8_t *pl, uint8_t opt, const uint8_t src[16], const uint8_t dst[16])
{
	memset(pl, 0, 8);
	pl[0] = IPPROTO_ICMPV6_;
	pl[1] = 0;
	pl[2] = 1; /* PadN */
	pl[3] = 0;
	pl[4] = opt;
	pl[5] = 0;
	/* pl[6], pl[7]: Pad1 Pad1 */
	return 8 + icmp6_msg(pl + 8, ICMP6_ECHO, 0, 0x77, "opt", 3, src, dst);
}

/* B's nth Parameter Problem: its code and pointer, from B's address to
 * A's, quoting the invoking packet whole (what fits in 1280 bytes). */
static void assert_param_problem(const struct cap *c, int nth, uint8_t code, uint32_t ptr,
				 const uint8_t *pkt, size_t len, const uint8_t src[16])
{
	struct seen6 s;
	uint8_t a[16];
	gl6(H_A, a);
	assert_true(cap_icmp6(c, H_B, ICMP6_PARAM_PROBLEM, nth, &s)); /* checksum checked */
	assert_int_equal(s.ic.code, code);
	assert_int_equal(s.ic.rest, ptr);
	assert_memory_equal(s.ih.src, src, 16);
	assert_memory_equal(s.ih.dst, pkt + 8, 16); /* to the invoking packet's source */
	assert_memory_equal(s.eh.dst, mac_of[H_A], 6);
	size_t quote = len < 1280 - IPV6_HLEN - ICMP_HLEN ? len : 1280 - IPV6_HLEN - ICMP_HLEN;
	assert_int_equal(s.l4len, ICMP_HLEN + quote);
	assert_memory_equal(s.l4 + ICMP_HLEN, pkt, quote);
}

/* RFC 8200 §4.2: an option B does not know whose type's high bits are 10
 * is answered with a Parameter Problem, code 2, pointing at the option's
 * type octet, even to a multicast destination; 11 likewise, but not to a
 * multicast destination; 01 is dropped silently. None is echoed. */
static void param_problem_for_unrecognised_option(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16], pl[64], pkt[128];
	gl6(H_A, a);
	gl6(H_B, b);
	size_t len = build6(pkt, a, b, NH_DSTOPTS, pl, dstopts_echo(pl, 0x9e, a, b));
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_param_problem(c, 0, 2, IPV6_HLEN + 4, pkt, len, b);
	len = build6(pkt, a, b, NH_DSTOPTS, pl, dstopts_echo(pl, 0xde, a, b)); /* 11 */
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_param_problem(c, 1, 2, IPV6_HLEN + 4, pkt, len, b);
	len = build6(pkt, a, b, NH_DSTOPTS, pl, dstopts_echo(pl, 0x5e, a, b)); /* 01 */
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_int_equal(cap_count6(c, H_B, ICMP6_PARAM_PROBLEM), 2);
	/* To all-nodes: 11 gets nothing, 10 an answer from B's own address. */
	len = build6(pkt, a, all_nodes, NH_DSTOPTS, pl, dstopts_echo(pl, 0xde, a, all_nodes));
	inject_pkt6(n, H_B, all_nodes_mac, pkt, len);
	assert_int_equal(cap_count6(c, H_B, ICMP6_PARAM_PROBLEM), 2);
	len = build6(pkt, a, all_nodes, NH_DSTOPTS, pl, dstopts_echo(pl, 0x9e, a, all_nodes));
	inject_pkt6(n, H_B, all_nodes_mac, pkt, len);
	assert_param_problem(c, 2, 2, IPV6_HLEN + 4, pkt, len, b);
	assert_int_equal(cap_count6(c, H_B, ICMP6_ECHO_REPLY), 0);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_bad_ext), 5);
	assert_int_equal(ctr(n, H_B, USTCP_C_icmp6_errors_out), 3);
	h_run(n, 10 * MS);
	assert_int_equal(ctr(n, H_A, USTCP_C_icmp6_in), 3); /* the errors arrived */
	cap_free(c);
	h_free(n);
}

/* RFC 8200 §4: a Next Header B does not know (UDP: B speaks TCP only) is
 * answered with code 1, pointing at the field that names it: the fixed
 * header's (offset 6), or the last extension header's. No Next Header (59)
 * means the packet ends there: nothing to answer. */
static void param_problem_for_unrecognised_next_header(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16], pl[64], pkt[128];
	gl6(H_A, a);
	gl6(H_B, b);
	memset(pl, 0x55, sizeof(pl));
	size_t len = build6(pkt, a, b, NH_UDP, pl, 20);
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_param_problem(c, 0, 1, 6, pkt, len, b);
	/* Behind a Destination Options header (next header at offset 40). */
	memset(pl, 0, 8);
	pl[0] = NH_UDP;
	pl[2] = 1; /* PadN of 4 */
	pl[3] = 4;
	len = build6(pkt, a, b, NH_DSTOPTS, pl, 28);
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_param_problem(c, 1, 1, IPV6_HLEN, pkt, len, b);
	len = build6(pkt, a, b, NH_NONE, pl, 8);
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_int_equal(cap_count6(c, H_B, ICMP6_PARAM_PROBLEM), 2);
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_unknown_proto), 3);
	/* A Hop-by-Hop header anywhere but first (RFC 8200 §4.1): a Next
	 * Header of 0 there is answered as unrecognised (§4), code 1 at that
	 * field. */
	memset(pl, 0, 16);
	pl[0] = 0; /* Hop-by-Hop next: not allowed here */
	pl[2] = 1;
	pl[3] = 4;
	pl[8] = IPPROTO_ICMPV6_;
	pl[10] = 1;
	pl[11] = 4;
	len = build6(pkt, a, b, NH_DSTOPTS, pl, 16);
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_param_problem(c, 2, 1, IPV6_HLEN, pkt, len, b);
	cap_free(c);
	h_free(n);
}

/* RFC 4443 §2.4 (c): the error quotes as much of the invoking packet as
 * fits in the IPv6 minimum MTU: the error packet is 1280 bytes, its quote
 * the first 1232 bytes of a 1440-byte packet. */
static void param_problem_quote_fills_1280(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16];
	gl6(H_A, a);
	gl6(H_B, b);
	static uint8_t pl[1400], pkt[1500];
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)(i * 13);
	size_t len = build6(pkt, a, b, NH_UDP, pl, sizeof(pl));
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_param_problem(c, 0, 1, 6, pkt, len, b);
	struct seen6 s;
	assert_true(cap_icmp6(c, H_B, ICMP6_PARAM_PROBLEM, 0, &s));
	assert_int_equal(s.f->len, ETH_HLEN + 1280);
	cap_free(c);
	h_free(n);
}

/* RFC 4443 §2.4 (e): no error about an ICMPv6 error, a packet from the
 * unspecified address, or a packet sent to a link-layer group (broadcast)
 * unless its option says "even to multicast" (e.3's exception). */
static void param_problem_not_about_errors_or_groups(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16], pl[128], pkt[192];
	gl6(H_A, a);
	gl6(H_B, b);
	/* An ICMPv6 error (destination unreachable) behind a bad option. */
	size_t plen = dstopts_echo(pl, 0x9e, a, b);
	uint8_t quoted[IPV6_HLEN + 8] = {0x60};
	plen = 8 + icmp6_msg(pl + 8, 1, 3, 0, quoted, sizeof(quoted), a, b);
	size_t len = build6(pkt, a, b, NH_DSTOPTS, pl, plen);
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	/* From the unspecified address. */
	len = build6(pkt, unspecified, b, NH_DSTOPTS, pl, dstopts_echo(pl, 0x9e, unspecified, b));
	inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	/* To B's address but as an Ethernet broadcast: an unknown Next
	 * Header gets nothing, an option of type 10 gets its answer. */
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	memset(pl, 0, 20);
	len = build6(pkt, a, b, NH_UDP, pl, 20);
	inject_pkt6(n, H_B, bcast, pkt, len);
	assert_int_equal(cap_count6(c, H_B, ICMP6_PARAM_PROBLEM), 0);
	len = build6(pkt, a, b, NH_DSTOPTS, pl, dstopts_echo(pl, 0x9e, a, b));
	inject_pkt6(n, H_B, bcast, pkt, len);
	assert_param_problem(c, 0, 2, IPV6_HLEN + 4, pkt, len, b);
	cap_free(c);
	h_free(n);
}

/* RFC 4443 §2.4 (f): errors are rate limited, a burst of 10, then 10 a
 * second; what the limit holds back is counted. */
static void param_problem_rate_limited(void **state)
{
	(void)state;
	struct h_net *n = h_new();
	struct cap *c = cap_new(n);
	uint8_t a[16], b[16], pl[32], pkt[96];
	gl6(H_A, a);
	gl6(H_B, b);
	memset(pl, 0, sizeof(pl));
	size_t len = build6(pkt, a, b, NH_UDP, pl, sizeof(pl));
	for (int i = 0; i < 30; i++)
		inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_int_equal(cap_count6(c, H_B, ICMP6_PARAM_PROBLEM), 10);
	h_run(n, 500 * MS);
	for (int i = 0; i < 30; i++)
		inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_int_equal(cap_count6(c, H_B, ICMP6_PARAM_PROBLEM), 15);
	h_run(n, 5 * SEC);
	for (int i = 0; i < 30; i++)
		inject_pkt6(n, H_B, mac_of[H_B], pkt, len);
	assert_int_equal(cap_count6(c, H_B, ICMP6_PARAM_PROBLEM), 25); /* a burst, not 50 */
	assert_int_equal(drops(n, H_B, USTCP_DROP_ip_unknown_proto), 90);
	assert_int_equal(ctr(n, H_B, USTCP_C_icmp6_errors_out), 25);
	assert_int_equal(ctr(n, H_B, USTCP_C_icmp6_errors_limited), 90 - 25);
	cap_free(c);
	h_free(n);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(tcp_over_ipv6),
	cmocka_unit_test(neighbour_discovery_resolves),
	cmocka_unit_test(echo_request_answered),
	cmocka_unit_test(nd_invalid_messages_dropped),
	cmocka_unit_test(nd_solicitations_answered),
	cmocka_unit_test(nd_advertisement_only_when_asked),
	cmocka_unit_test(nd_answer_waits_for_unknown_solicitor),
	cmocka_unit_test(ipv6_default_mss_without_option),
	cmocka_unit_test(nd_unanswered_connects_fail_with_host_unreachable),
	cmocka_unit_test(nd_connect_to_nobody_fails_with_host_unreachable),
	cmocka_unit_test(nd_failure_is_soft_for_an_established_connection),
	cmocka_unit_test(nd_asks_again_while_packets_wait),
	cmocka_unit_test(packet_too_big_lowers_the_segment_size),
	cmocka_unit_test(icmp6_hard_and_soft_errors),
	cmocka_unit_test(connect_after_address_unreachable_fails_with_it),
	cmocka_unit_test(dual_stack_listener),
	cmocka_unit_test(link_local_connection),
	cmocka_unit_test(fragments_reassembled),
	cmocka_unit_test(bulk_both_ways_with_loss),
	cmocka_unit_test(rst_for_closed_port),
	cmocka_unit_test(bad_sources_and_groups_dropped),
	cmocka_unit_test(stale_neighbour_keeps_the_frame),
	cmocka_unit_test(stale_neighbour_with_one_tx_slot),
	cmocka_unit_test(overlapping_fragments_dropped),
	cmocka_unit_test(atomic_fragment_in_isolation),
	cmocka_unit_test(fragmented_ns_ignored),
	cmocka_unit_test(na_for_mapped_target_dropped),
	cmocka_unit_test(na_without_override_keeps_entry),
	cmocka_unit_test(ns_without_slla_not_answered),
	cmocka_unit_test(echo_larger_than_mtu_unanswered),
	cmocka_unit_test(routing_header_discarded),
	cmocka_unit_test(param_problem_for_unrecognised_option),
	cmocka_unit_test(param_problem_for_unrecognised_next_header),
	cmocka_unit_test(param_problem_quote_fills_1280),
	cmocka_unit_test(param_problem_not_about_errors_or_groups),
	cmocka_unit_test(param_problem_rate_limited),
};

USTCP_TEST_MAIN(tests)
