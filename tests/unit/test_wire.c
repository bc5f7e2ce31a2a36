/* test_wire.c — parse/emit round trips and every rejection of the wire module. */
#include "../test_main.h"
#include "test_util.h"

#include <string.h>

#include "wire/wire.h"

/* A 20-byte TCP header with data offset doff and options copied after it. */
static size_t tcp_with_opts(uint8_t *buf, unsigned doff, const uint8_t *opts, size_t olen)
{
	size_t fill = TCP_HLEN + olen;

	if (doff * 4 > fill)
		fill = doff * 4;
	memset(buf, 0, fill);
	wr16(buf, 1234);
	wr16(buf + 2, 80);
	buf[12] = (uint8_t)(doff << 4);
	buf[13] = TCP_ACK;
	if (olen)
		memcpy(buf + TCP_HLEN, opts, olen);
	return doff * 4;
}

static void assert_opts_equal(const struct tcp_opts *a, const struct tcp_opts *b)
{
	assert_int_equal(a->present, b->present);
	if (a->present & TCP_OPT_MSS)
		assert_int_equal(a->mss, b->mss);
	if (a->present & TCP_OPT_WSCALE)
		assert_int_equal(a->wscale, b->wscale);
	if (a->present & TCP_OPT_TIMESTAMP) {
		assert_int_equal(a->ts_val, b->ts_val);
		assert_int_equal(a->ts_ecr, b->ts_ecr);
	}
	if (a->present & TCP_OPT_SACK) {
		assert_int_equal(a->nsack, b->nsack);
		for (unsigned i = 0; i < a->nsack; i++) {
			assert_int_equal(a->sack[i].left, b->sack[i].left);
			assert_int_equal(a->sack[i].right, b->sack[i].right);
		}
	}
	if (a->present & TCP_OPT_FASTOPEN) {
		assert_int_equal(a->fastopen_len, b->fastopen_len);
		assert_memory_equal(a->fastopen, b->fastopen, a->fastopen_len);
	}
}

/* ---- TCP ---- */

static const char known_tcp[] = "0403 1388 445d 9b9b 53ff 98e7 8018 e240 7b3a 0000 "
				"0101 080a 0000 c860 3503 72f1";

static void test_tcp_known_vector_parse(void **state)
{
	uint8_t buf[64];
	size_t n = unhex(known_tcp, buf);
	struct tcp_hdr h;

	(void)state;
	assert_int_equal(n, 32);
	assert_int_equal(tcp_parse(buf, n, &h), 32);
	assert_int_equal(h.sport, 1027);
	assert_int_equal(h.dport, 5000);
	assert_int_equal(h.seq, 1146985371u);
	assert_int_equal(h.ack, 1409259751u);
	assert_int_equal(h.hlen, 32);
	assert_int_equal(h.flags, TCP_PSH | TCP_ACK);
	assert_int_equal(h.win, 57920);
	assert_int_equal(h.csum, 0x7b3a);
	assert_int_equal(h.urp, 0);
	assert_int_equal(h.opts.present, TCP_OPT_TIMESTAMP);
	assert_int_equal(h.opts.ts_val, 51296);
	assert_int_equal(h.opts.ts_ecr, 889418481u);
}

static void test_tcp_known_vector_emit(void **state)
{
	uint8_t want[64], got[TCP_MAX_HLEN];
	size_t n = unhex(known_tcp, want);
	struct tcp_hdr h = {
		.sport = 1027,
		.dport = 5000,
		.seq = 1146985371u,
		.ack = 1409259751u,
		.flags = TCP_PSH | TCP_ACK,
		.win = 57920,
		.csum = 0x7b3a,
		.opts = {.present = TCP_OPT_TIMESTAMP, .ts_val = 51296, .ts_ecr = 889418481u},
	};

	(void)state;
	assert_int_equal(tcp_opts_len(&h.opts), 12);
	assert_int_equal(tcp_emit(&h, got), n);
	assert_memory_equal(got, want, n);
	/* And parse then emit gives the same bytes. */
	assert_int_equal(tcp_parse(want, n, &h), 32);
	memset(got, 0xaa, sizeof(got));
	assert_int_equal(tcp_emit(&h, got), n);
	assert_memory_equal(got, want, n);
}

static void test_tcp_syn_options_roundtrip(void **state)
{
	uint8_t want[64], got[TCP_MAX_HLEN];
	size_t n = unhex("c350 0050 0000 0001 0000 0000 a002 faf0 0000 0000 "
			 "0204 05b4 0402 080a 1122 3344 0000 0000 0103 0307",
			 want);
	struct tcp_hdr h = {
		.sport = 50000,
		.dport = 80,
		.seq = 1,
		.flags = TCP_SYN,
		.win = 64240,
		.opts = {.present = TCP_OPT_MSS | TCP_OPT_SACK_PERM | TCP_OPT_TIMESTAMP |
				    TCP_OPT_WSCALE,
			 .mss = 1460,
			 .wscale = 7,
			 .ts_val = 0x11223344},
	};
	struct tcp_hdr p;

	(void)state;
	assert_int_equal(n, 40);
	assert_int_equal(tcp_opts_len(&h.opts), 20);
	assert_int_equal(tcp_emit(&h, got), 40);
	assert_memory_equal(got, want, 40);
	assert_int_equal(tcp_parse(got, 40, &p), 40);
	assert_int_equal(p.hlen, 40);
	assert_int_equal(p.flags, TCP_SYN);
	assert_opts_equal(&p.opts, &h.opts);
}

static void test_tcp_sack_roundtrip(void **state)
{
	uint8_t got[TCP_MAX_HLEN];
	struct tcp_hdr h = {
		.flags = TCP_ACK,
		.opts = {.present = TCP_OPT_TIMESTAMP | TCP_OPT_SACK,
			 .ts_val = 7,
			 .ts_ecr = 9,
			 .nsack = 3,
			 .sack = {{100, 200}, {300, 400}, {0xfffffff0u, 0x10}}},
	};
	struct tcp_hdr p;

	(void)state;
	/* NOP,NOP,TS (12) + NOP,NOP,SACK 3 blocks (28): 40 bytes, Linux's maximum. */
	assert_int_equal(tcp_emit(&h, got), 60);
	assert_int_equal(got[32], TCPOPT_NOP);
	assert_int_equal(got[33], TCPOPT_NOP);
	assert_int_equal(got[34], TCPOPT_SACK);
	assert_int_equal(got[35], 26);
	assert_int_equal(tcp_parse(got, 60, &p), 60);
	assert_opts_equal(&p.opts, &h.opts);

	/* Four blocks without timestamps. */
	h.opts.present = TCP_OPT_SACK;
	h.opts.nsack = 4;
	h.opts.sack[3].left = 500;
	h.opts.sack[3].right = 600;
	assert_int_equal(tcp_emit(&h, got), 56);
	assert_int_equal(tcp_parse(got, 56, &p), 56);
	assert_opts_equal(&p.opts, &h.opts);
}

static void test_tcp_emit_overflow(void **state)
{
	uint8_t got[TCP_MAX_HLEN];
	struct tcp_hdr h = {
		.opts = {.present = TCP_OPT_TIMESTAMP | TCP_OPT_WSCALE | TCP_OPT_SACK,
			 .wscale = 2,
			 .ts_val = 1,
			 .ts_ecr = 2,
			 .nsack = 3,
			 .sack = {{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
	};
	struct tcp_hdr p;

	(void)state;
	/* Linux's layout would take 44 bytes; packed it is 10 + 3 + 26 -> 40. */
	assert_int_equal(tcp_opts_len(&h.opts), 40);
	assert_int_equal(tcp_emit(&h, got), 60);
	assert_int_equal(tcp_parse(got, 60, &p), 60);
	assert_opts_equal(&p.opts, &h.opts);

	/* Four blocks and timestamps cannot fit: the last block is dropped. */
	h.opts.present = TCP_OPT_TIMESTAMP | TCP_OPT_SACK;
	h.opts.nsack = 4;
	assert_int_equal(tcp_emit(&h, got), 60);
	assert_int_equal(tcp_parse(got, 60, &p), 60);
	assert_int_equal(p.opts.nsack, 3);
	assert_int_equal(p.opts.sack[2].right, 6);
}

static void test_tcp_fastopen_roundtrip(void **state)
{
	uint8_t got[TCP_MAX_HLEN];
	struct tcp_hdr h = {
		.flags = TCP_SYN,
		.opts = {.present = TCP_OPT_MSS | TCP_OPT_FASTOPEN,
			 .mss = 1400,
			 .fastopen_len = 8,
			 .fastopen = {1, 2, 3, 4, 5, 6, 7, 8}},
	};
	struct tcp_hdr p;

	(void)state;
	/* MSS (4) + kind 34 len 10 + NOP,NOP: 20 + 16. */
	assert_int_equal(tcp_opts_len(&h.opts), 16);
	assert_int_equal(tcp_emit(&h, got), 36);
	assert_int_equal(got[24], TCPOPT_FASTOPEN);
	assert_int_equal(got[25], 10);
	assert_int_equal(got[34], TCPOPT_NOP);
	assert_int_equal(tcp_parse(got, 36, &p), 36);
	assert_opts_equal(&p.opts, &h.opts);

	/* 16-byte cookie, the largest. */
	h.opts.fastopen_len = 16;
	memset(h.opts.fastopen, 0x5a, 16);
	assert_int_equal(tcp_emit(&h, got), 44);
	assert_int_equal(tcp_parse(got, 44, &p), 44);
	assert_opts_equal(&p.opts, &h.opts);
}

static void test_tcp_fastopen_request(void **state)
{
	static const uint8_t opt[] = {TCPOPT_FASTOPEN, 2, TCPOPT_NOP, TCPOPT_NOP};
	uint8_t buf[TCP_MAX_HLEN], got[TCP_MAX_HLEN];
	size_t n = tcp_with_opts(buf, 6, opt, sizeof(opt));
	struct tcp_hdr h;

	(void)state;
	assert_int_equal(tcp_parse(buf, n, &h), 24);
	assert_int_equal(h.opts.present, TCP_OPT_FASTOPEN);
	assert_int_equal(h.opts.fastopen_len, 0);
	assert_int_equal(tcp_emit(&h, got), 24);
	assert_memory_equal(got, buf, 24);
}

static void test_tcp_unknown_option_skipped(void **state)
{
	/* Kind 30 (MPTCP) with 6 bytes, then MSS: the MSS must still be seen. */
	static const uint8_t opt[] = {30,         6, 0xde, 0xad, 0xbe,       0xef,
				      TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_NOP, TCPOPT_NOP};
	uint8_t buf[TCP_MAX_HLEN];
	size_t n = tcp_with_opts(buf, 8, opt, sizeof(opt));
	struct tcp_hdr h;

	(void)state;
	assert_int_equal(tcp_parse(buf, n, &h), 32);
	assert_int_equal(h.opts.present, TCP_OPT_MSS);
	assert_int_equal(h.opts.mss, 1460);
}

static void test_tcp_eol_ends_list(void **state)
{
	/* Garbage after EOL (a zero-length option) must not be looked at. */
	static const uint8_t opt[] = {TCPOPT_MSS, 4, 0x02, 0x18, TCPOPT_EOL, 0x07, 0x00, 0x00};
	uint8_t buf[TCP_MAX_HLEN];
	size_t n = tcp_with_opts(buf, 7, opt, sizeof(opt));
	struct tcp_hdr h;

	(void)state;
	assert_int_equal(tcp_parse(buf, n, &h), 28);
	assert_int_equal(h.opts.present, TCP_OPT_MSS);
	assert_int_equal(h.opts.mss, 536);
}

static void test_tcp_wscale_above_14(void **state)
{
	static const uint8_t opt[] = {TCPOPT_NOP, TCPOPT_WSCALE, 3, 200};
	uint8_t buf[TCP_MAX_HLEN];
	size_t n = tcp_with_opts(buf, 6, opt, sizeof(opt));
	struct tcp_hdr h;

	(void)state;
	assert_int_equal(tcp_parse(buf, n, &h), 24);
	assert_int_equal(h.opts.present, TCP_OPT_WSCALE);
	assert_int_equal(h.opts.wscale, 200);
}

static void test_tcp_payload_after_header(void **state)
{
	uint8_t buf[100];
	struct tcp_hdr h;

	(void)state;
	tcp_with_opts(buf, 5, NULL, 0);
	memset(buf + 20, 0x01, 80);
	assert_int_equal(tcp_parse(buf, sizeof(buf), &h), 20);
	assert_int_equal(h.opts.present, 0);
}

static void test_tcp_opts_len(void **state)
{
	struct tcp_opts o = {0};

	(void)state;
	assert_int_equal(tcp_opts_len(&o), 0);
	o.present = TCP_OPT_MSS;
	assert_int_equal(tcp_opts_len(&o), 4);
	o.present = TCP_OPT_WSCALE;
	assert_int_equal(tcp_opts_len(&o), 4);
	o.present = TCP_OPT_SACK_PERM;
	assert_int_equal(tcp_opts_len(&o), 4);
	o.present = TCP_OPT_SACK_PERM | TCP_OPT_TIMESTAMP;
	assert_int_equal(tcp_opts_len(&o), 12);
	o.present = TCP_OPT_SACK;
	o.nsack = 1;
	assert_int_equal(tcp_opts_len(&o), 12);
	o.present = TCP_OPT_FASTOPEN;
	o.fastopen_len = 5; /* 7 bytes, padded */
	assert_int_equal(tcp_opts_len(&o), 8);
}

static void test_tcp_reject_truncated(void **state)
{
	uint8_t buf[TCP_MAX_HLEN];
	struct tcp_hdr h;

	(void)state;
	tcp_with_opts(buf, 5, NULL, 0);
	assert_int_equal(tcp_parse(buf, 19, &h), -WIRE_ETRUNC);
	assert_int_equal(tcp_parse(buf, 0, &h), -WIRE_ETRUNC);
}

static void test_tcp_reject_doff_small(void **state)
{
	uint8_t buf[TCP_MAX_HLEN];
	struct tcp_hdr h;

	(void)state;
	for (unsigned doff = 0; doff < 5; doff++) {
		tcp_with_opts(buf, doff, NULL, 0);
		assert_int_equal(tcp_parse(buf, sizeof(buf), &h), -WIRE_EOFF);
	}
}

static void test_tcp_reject_doff_past_end(void **state)
{
	uint8_t buf[TCP_MAX_HLEN];
	struct tcp_hdr h;

	(void)state;
	tcp_with_opts(buf, 6, NULL, 0);
	assert_int_equal(tcp_parse(buf, 23, &h), -WIRE_EOFF);
	tcp_with_opts(buf, 15, NULL, 0);
	assert_int_equal(tcp_parse(buf, 56, &h), -WIRE_EOFF);
}

static void test_tcp_reject_optlen0(void **state)
{
	static const uint8_t opt[] = {TCPOPT_NOP, 30, 0, 0};
	uint8_t buf[TCP_MAX_HLEN];
	size_t n = tcp_with_opts(buf, 6, opt, sizeof(opt));
	struct tcp_hdr h;

	(void)state;
	assert_int_equal(tcp_parse(buf, n, &h), -WIRE_EOPT);
}

static void test_tcp_reject_optlen1(void **state)
{
	static const uint8_t opt[] = {TCPOPT_MSS, 1, 0, 0};
	uint8_t buf[TCP_MAX_HLEN];
	size_t n = tcp_with_opts(buf, 6, opt, sizeof(opt));
	struct tcp_hdr h;

	(void)state;
	assert_int_equal(tcp_parse(buf, n, &h), -WIRE_EOPT);
}

static void test_tcp_reject_opt_past_header(void **state)
{
	/* Timestamps need 10 bytes, the header has 8 left; the segment has more. */
	static const uint8_t opt[] = {
		TCPOPT_NOP, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, 10, 0, 0, 0, 0,
		0,          0,          0,          0};
	static const uint8_t kind_last[] = {TCPOPT_NOP, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_MSS};
	uint8_t buf[TCP_MAX_HLEN];
	size_t n = tcp_with_opts(buf, 8, opt, sizeof(opt));
	struct tcp_hdr h;

	(void)state;
	assert_int_equal(tcp_parse(buf, sizeof(buf), &h), -WIRE_EOPT);
	(void)n;
	/* A kind in the header's last byte has no room for its length. */
	n = tcp_with_opts(buf, 6, kind_last, sizeof(kind_last));
	assert_int_equal(tcp_parse(buf, n + 4, &h), -WIRE_EOPT);
}

static void test_tcp_reject_mss_len(void **state)
{
	static const uint8_t opt[] = {TCPOPT_MSS, 3, 0x05, TCPOPT_NOP};
	static const uint8_t opt6[] = {TCPOPT_MSS, 6, 0x05, 0xb4, 0, 0, TCPOPT_NOP, TCPOPT_NOP};
	uint8_t buf[TCP_MAX_HLEN];
	struct tcp_hdr h;
	size_t n;

	(void)state;
	n = tcp_with_opts(buf, 6, opt, sizeof(opt));
	assert_int_equal(tcp_parse(buf, n, &h), -WIRE_EOPT);
	n = tcp_with_opts(buf, 7, opt6, sizeof(opt6));
	assert_int_equal(tcp_parse(buf, n, &h), -WIRE_EOPT);
}

static void test_tcp_reject_known_lengths(void **state)
{
	/* kind, wrong length; each padded into a 40-byte option area. */
	static const uint8_t bad[][2] = {
		{TCPOPT_WSCALE, 2},    {TCPOPT_WSCALE, 4},     {TCPOPT_SACK_PERM, 3},
		{TCPOPT_TIMESTAMP, 8}, {TCPOPT_TIMESTAMP, 12}, {TCPOPT_SACK, 2},
		{TCPOPT_SACK, 9},      {TCPOPT_SACK, 18 + 1},  {TCPOPT_SACK, 2 + 8 * 5},
		{TCPOPT_FASTOPEN, 3},  {TCPOPT_FASTOPEN, 5},   {TCPOPT_FASTOPEN, 19},
	};
	static const uint8_t good[][2] = {
		{TCPOPT_WSCALE, 3},   {TCPOPT_SACK_PERM, 2}, {TCPOPT_TIMESTAMP, 10},
		{TCPOPT_SACK, 10},    {TCPOPT_SACK, 34},     {TCPOPT_FASTOPEN, 2},
		{TCPOPT_FASTOPEN, 6}, {TCPOPT_FASTOPEN, 18},
	};
	uint8_t buf[TCP_MAX_HLEN], opt[40];
	struct tcp_hdr h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(opt, 0, sizeof(opt));
		memcpy(opt, bad[i], 2);
		tcp_with_opts(buf, 15, opt, sizeof(opt));
		assert_int_equal(tcp_parse(buf, sizeof(buf), &h), -WIRE_EOPT);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(opt, 0, sizeof(opt));
		memcpy(opt, good[i], 2);
		tcp_with_opts(buf, 15, opt, sizeof(opt));
		assert_int_equal(tcp_parse(buf, sizeof(buf), &h), 60);
	}
}

/* ---- Ethernet and ARP ---- */

static void test_eth_roundtrip(void **state)
{
	uint8_t want[16], got[ETH_HLEN];
	size_t n = unhex("0011 2233 4455 0a0b 0c0d 0e0f 86dd", want);
	struct eth_hdr h;

	(void)state;
	assert_int_equal(eth_parse(want, n, &h), ETH_HLEN);
	assert_int_equal(h.type, ETHERTYPE_IPV6);
	assert_int_equal(h.dst[0], 0x00);
	assert_int_equal(h.dst[5], 0x55);
	assert_int_equal(h.src[0], 0x0a);
	assert_int_equal(eth_emit(&h, got), ETH_HLEN);
	assert_memory_equal(got, want, ETH_HLEN);
	assert_int_equal(eth_parse(want, ETH_HLEN - 1, &h), -WIRE_ETRUNC);
}

static const char arp_req[] = "0001 0800 0604 0001 0011 2233 4455 c0a8 0001 "
			      "0000 0000 0000 c0a8 00fe";

static void test_arp_roundtrip(void **state)
{
	uint8_t want[32], got[ARP_LEN];
	size_t n = unhex(arp_req, want);
	struct arp_pkt p;

	(void)state;
	assert_int_equal(n, ARP_LEN);
	assert_int_equal(arp_parse(want, n, &p), ARP_LEN);
	assert_int_equal(p.op, ARP_OP_REQUEST);
	assert_int_equal(p.sha[5], 0x55);
	assert_int_equal(p.spa, 0xc0a80001u);
	assert_int_equal(p.tpa, 0xc0a800feu);
	assert_int_equal(arp_emit(&p, got), ARP_LEN);
	assert_memory_equal(got, want, ARP_LEN);
	assert_int_equal(arp_parse(want, ARP_LEN - 1, &p), -WIRE_ETRUNC);
}

static void test_arp_reject_format(void **state)
{
	uint8_t buf[32];
	struct arp_pkt p;

	(void)state;
	for (int field = 0; field < 4; field++) {
		unhex(arp_req, buf);
		switch (field) {
		case 0:
			buf[1] = 6; /* IEEE 802 hardware type */
			break;
		case 1:
			wr16(buf + 2, ETHERTYPE_IPV6);
			break;
		case 2:
			buf[4] = 8;
			break;
		default:
			buf[5] = 16;
			break;
		}
		assert_int_equal(arp_parse(buf, ARP_LEN, &p), -WIRE_EFORMAT);
	}
}

/* ---- IPv4 ---- */

/* A real header (192.168.0.1 -> 192.168.0.199, UDP, 115 bytes). */
static const char ipv4_known[] = "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7";

static void test_ipv4_parse(void **state)
{
	uint8_t buf[0x73] = {0};
	struct ipv4_hdr h;

	(void)state;
	unhex(ipv4_known, buf);
	assert_int_equal(ipv4_parse(buf, sizeof(buf), &h), 20);
	assert_int_equal(h.hlen, 20);
	assert_int_equal(h.total_len, 0x73);
	assert_int_equal(h.frag, IPV4_DF);
	assert_int_equal(h.ttl, 64);
	assert_int_equal(h.proto, 17);
	assert_int_equal(h.csum, 0xb861);
	assert_int_equal(h.src, 0xc0a80001u);
	assert_int_equal(h.dst, 0xc0a800c7u);
}

static void test_ipv4_emit(void **state)
{
	uint8_t want[0x73] = {0}, got[0x73] = {0};
	struct ipv4_hdr h = {
		.total_len = 0x73,
		.frag = IPV4_DF,
		.ttl = 64,
		.proto = 17,
		.csum = 0x1234, /* ignored: emit computes it */
		.src = 0xc0a80001u,
		.dst = 0xc0a800c7u,
	};

	(void)state;
	unhex(ipv4_known, want);
	assert_int_equal(ipv4_emit(&h, got), IPV4_HLEN);
	assert_memory_equal(got, want, IPV4_HLEN);
	assert_int_equal(ipv4_parse(got, sizeof(got), &h), 20);
}

static void test_ipv4_trailing_padding(void **state)
{
	uint8_t buf[0x80] = {0};
	struct ipv4_hdr h;

	(void)state;
	unhex(ipv4_known, buf);
	assert_int_equal(ipv4_parse(buf, sizeof(buf), &h), 20);
	assert_int_equal(h.total_len, 0x73);
}

static void test_ipv4_reject_truncated(void **state)
{
	uint8_t buf[0x73] = {0};
	struct ipv4_hdr h;

	(void)state;
	unhex(ipv4_known, buf);
	assert_int_equal(ipv4_parse(buf, 19, &h), -WIRE_ETRUNC);
}

static void test_ipv4_reject_bad_csum(void **state)
{
	uint8_t buf[0x73] = {0};
	struct ipv4_hdr h;

	(void)state;
	unhex(ipv4_known, buf);
	buf[15] ^= 0x01;
	assert_int_equal(ipv4_parse(buf, sizeof(buf), &h), -WIRE_ECSUM);
}

/* Rewrites the checksum so only the field under test is wrong. */
static void ipv4_fix_csum(uint8_t *buf)
{
	size_t hlen = (size_t)(buf[0] & 0x0f) * 4;
	uint16_t c;

	buf[10] = 0;
	buf[11] = 0;
	c = inet_checksum(buf, hlen < 20 ? 20 : hlen);
	memcpy(buf + 10, &c, 2);
}

static void test_ipv4_reject_total_len_past_frame(void **state)
{
	uint8_t buf[0x73] = {0};
	struct ipv4_hdr h;

	(void)state;
	unhex(ipv4_known, buf);
	assert_int_equal(ipv4_parse(buf, 0x72, &h), -WIRE_ELEN);
}

static void test_ipv4_reject_total_len_below_ihl(void **state)
{
	uint8_t buf[0x73] = {0};
	struct ipv4_hdr h;

	(void)state;
	unhex(ipv4_known, buf);
	wr16(buf + 2, 19);
	ipv4_fix_csum(buf);
	assert_int_equal(ipv4_parse(buf, sizeof(buf), &h), -WIRE_ELEN);
	/* IHL 6 with total length 20: shorter than the header it states. */
	unhex(ipv4_known, buf);
	buf[0] = 0x46;
	wr16(buf + 2, 20);
	ipv4_fix_csum(buf);
	assert_int_equal(ipv4_parse(buf, sizeof(buf), &h), -WIRE_ELEN);
}

static void test_ipv4_reject_ihl_small(void **state)
{
	uint8_t buf[0x73] = {0};
	struct ipv4_hdr h;

	(void)state;
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		unhex(ipv4_known, buf);
		buf[0] = (uint8_t)(0x40 | ihl);
		ipv4_fix_csum(buf);
		assert_int_equal(ipv4_parse(buf, sizeof(buf), &h), -WIRE_EHLEN);
	}
	/* IHL 15 (60 bytes) in a 40-byte buffer. */
	unhex(ipv4_known, buf);
	buf[0] = 0x4f;
	assert_int_equal(ipv4_parse(buf, 40, &h), -WIRE_EHLEN);
}

static void test_ipv4_reject_version6(void **state)
{
	uint8_t buf[0x73] = {0};
	struct ipv4_hdr h;

	(void)state;
	unhex(ipv4_known, buf);
	buf[0] = 0x65;
	ipv4_fix_csum(buf);
	assert_int_equal(ipv4_parse(buf, sizeof(buf), &h), -WIRE_EVERSION);
}

static void test_ipv4_options_hlen24(void **state)
{
	uint8_t buf[64] = {0};
	struct ipv4_hdr h;

	(void)state;
	unhex(ipv4_known, buf);
	buf[0] = 0x46;
	wr16(buf + 2, 40);
	buf[20] = 0x94; /* Router Alert (RFC 2113), 4 bytes */
	buf[21] = 4;
	ipv4_fix_csum(buf);
	assert_int_equal(ipv4_parse(buf, 40, &h), 24);
	assert_int_equal(h.hlen, 24);
	assert_int_equal(h.total_len, 40);
	/* The options are under the checksum. */
	buf[22] = 1;
	assert_int_equal(ipv4_parse(buf, 40, &h), -WIRE_ECSUM);
}

/* ---- IPv6 ---- */

static const uint8_t v6_src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t v6_dst[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2};

/* Fixed header + HBH (8) + Destination Options (16) + Fragment (8) + TCP (20). */
static size_t v6_chain(uint8_t *buf)
{
	struct ipv6_hdr h = {
		.tclass = 0xb8,
		.flow = 0x12345,
		.payload_len = 8 + 16 + 8 + 20,
		.next_hdr = 0,
		.hop_limit = 64,
	};
	uint8_t *p = buf + IPV6_HLEN;

	memcpy(h.src, v6_src, 16);
	memcpy(h.dst, v6_dst, 16);
	memset(buf, 0, 40 + h.payload_len);
	ipv6_emit(&h, buf);
	/* Hop-by-Hop: next 60, length 0, PadN of 4. */
	p[0] = 60;
	p[1] = 0;
	p[2] = 1;
	p[3] = 4;
	p += 8;
	/* Destination Options: next 44, length 1 (16 bytes), PadN of 12. */
	p[0] = 44;
	p[1] = 1;
	p[2] = 1;
	p[3] = 12;
	p += 16;
	/* Fragment: next TCP, offset 185 units (1480 bytes), M set, id. */
	p[0] = IPPROTO_TCP_;
	wr16(p + 2, 185 << 3 | 1);
	wr32(p + 4, 0xdeadbeefu);
	p += 8;
	tcp_with_opts(p, 5, NULL, 0);
	return IPV6_HLEN + h.payload_len;
}

static void test_ipv6_ext_chain(void **state)
{
	uint8_t buf[128];
	size_t n = v6_chain(buf);
	struct ipv6_hdr h;
	struct tcp_hdr t;

	(void)state;
	assert_int_equal(ipv6_parse(buf, n, &h), 72);
	assert_int_equal(h.tclass, 0xb8);
	assert_int_equal(h.flow, 0x12345);
	assert_int_equal(h.payload_len, 52);
	assert_int_equal(h.next_hdr, 0);
	assert_int_equal(h.hop_limit, 64);
	assert_memory_equal(h.src, v6_src, 16);
	assert_memory_equal(h.dst, v6_dst, 16);
	assert_int_equal(h.proto, IPPROTO_TCP_);
	assert_int_equal(h.hdr_len, 72);
	assert_true(h.fragment);
	assert_int_equal(h.frag_off, 1480 | 1);
	assert_int_equal(h.frag_id, 0xdeadbeefu);
	assert_int_equal(tcp_parse(buf + h.hdr_len, n - h.hdr_len, &t), 20);
}

/* RFC 8200 §4.2: options in Hop-by-Hop and Destination Options headers. */
static void test_ipv6_options(void **state)
{
	uint8_t buf[128];
	struct ipv6_hdr h;
	size_t n;

	(void)state;
	n = v6_chain(buf);
	/* Router Alert (type 5, action 00: skip if unknown) in the HBH header. */
	buf[IPV6_HLEN + 2] = 5;
	buf[IPV6_HLEN + 3] = 2;
	assert_int_equal(ipv6_parse(buf, n, &h), 72);
	/* An unknown option with action 01 (discard) in the HBH header. */
	buf[IPV6_HLEN + 2] = 0x40 | 0x1f;
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EEXT);
	/* ... and with action 10 in the Destination Options header. */
	n = v6_chain(buf);
	buf[IPV6_HLEN + 8 + 2] = 0x80 | 0x1f;
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EEXT);
	/* An option whose length runs past its header. */
	n = v6_chain(buf);
	buf[IPV6_HLEN + 3] = 5;
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EEXT);
	/* Pad1 bytes alone. */
	n = v6_chain(buf);
	memset(buf + IPV6_HLEN + 2, 0, 6);
	assert_int_equal(ipv6_parse(buf, n, &h), 72);
}

/* RFC 8200 §4 and RFC 4443 §3.4: when the walk rejects a packet RFC 8200
 * answers with a Parameter Problem, it says how (even to multicast, or not
 * to multicast), the code and the pointer; the walk goes on to name the
 * upper layer (so an ICMPv6 error is never answered), and proto_off names
 * the Next Header field of the upper layer. */
static void test_ipv6_param_problem(void **state)
{
	uint8_t buf[128];
	struct ipv6_hdr h;
	size_t n;

	(void)state;
	n = v6_chain(buf);
	assert_int_equal(ipv6_parse(buf, n, &h), 72);
	assert_int_equal(h.pp, IPV6_PP_NONE);
	assert_int_equal(h.proto_off, IPV6_HLEN + 8 + 16); /* the Fragment header's */
	/* Action 10 in the Destination Options header (its type at 40+8+2). */
	buf[IPV6_HLEN + 8 + 2] = 0x80 | 0x1f;
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EEXT);
	assert_int_equal(h.pp, IPV6_PP_ALWAYS);
	assert_int_equal(h.pp_code, 2);
	assert_int_equal(h.pp_ptr, IPV6_HLEN + 8 + 2);
	assert_int_equal(h.proto, IPPROTO_TCP_); /* walked on to the fragment's */
	assert_true(h.fragment);
	/* Action 11 in the Hop-by-Hop header, behind a Pad1. */
	n = v6_chain(buf);
	buf[IPV6_HLEN + 2] = 0;
	buf[IPV6_HLEN + 3] = 0xc0 | 0x1f;
	buf[IPV6_HLEN + 4] = 2;
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EEXT);
	assert_int_equal(h.pp, IPV6_PP_UNICAST);
	assert_int_equal(h.pp_code, 2);
	assert_int_equal(h.pp_ptr, IPV6_HLEN + 3);
	/* Action 01: discarded without a word. */
	n = v6_chain(buf);
	buf[IPV6_HLEN + 2] = 0x40 | 0x1f;
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EEXT);
	assert_int_equal(h.pp, IPV6_PP_NONE);
	/* A Hop-by-Hop header after another one: Next Header 0 where it is
	 * not allowed, code 1 at the field that says 0. */
	n = v6_chain(buf);
	buf[IPV6_HLEN + 8] = 0;
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EEXT);
	assert_int_equal(h.pp, IPV6_PP_UNICAST);
	assert_int_equal(h.pp_code, 1);
	assert_int_equal(h.pp_ptr, IPV6_HLEN + 8);
	/* A Routing header with segments left: code 0 at its Routing Type. */
	memset(buf, 0, sizeof(buf));
	struct ipv6_hdr r = {.payload_len = 24 + 8, .next_hdr = 43, .hop_limit = 64};
	ipv6_emit(&r, buf);
	buf[IPV6_HLEN] = IPPROTO_ICMPV6_;
	buf[IPV6_HLEN + 1] = 2;
	buf[IPV6_HLEN + 3] = 1;    /* segments left */
	buf[IPV6_HLEN + 24] = 128; /* an echo request follows */
	assert_int_equal(ipv6_parse(buf, IPV6_HLEN + 32, &h), -WIRE_EEXT);
	assert_int_equal(h.pp, IPV6_PP_UNICAST);
	assert_int_equal(h.pp_code, 0);
	assert_int_equal(h.pp_ptr, IPV6_HLEN + 2);
	assert_int_equal(h.proto, IPPROTO_ICMPV6_);
	assert_int_equal(h.hdr_len, IPV6_HLEN + 24);
	assert_int_equal(h.proto_off, IPV6_HLEN);
	/* A header running past the packet: nothing to say. */
	buf[IPV6_HLEN + 1] = 9;
	assert_int_equal(ipv6_parse(buf, IPV6_HLEN + 32, &h), -WIRE_EEXT);
	assert_int_equal(h.pp, IPV6_PP_NONE);
}

static void test_ipv6_roundtrip(void **state)
{
	uint8_t buf[128], got[IPV6_HLEN];
	struct ipv6_hdr h;

	(void)state;
	v6_chain(buf);
	buf[6] = IPPROTO_TCP_;
	wr16(buf + 4, 20);
	assert_int_equal(ipv6_parse(buf, 60, &h), 40);
	assert_int_equal(h.proto, IPPROTO_TCP_);
	assert_false(h.fragment);
	assert_int_equal(ipv6_emit(&h, got), IPV6_HLEN);
	assert_memory_equal(got, buf, IPV6_HLEN);
}

static void test_ipv6_no_next_header(void **state)
{
	uint8_t buf[128];
	struct ipv6_hdr h;
	size_t n = v6_chain(buf);

	(void)state;
	buf[IPV6_HLEN + 8] = 59; /* Destination Options says: nothing follows */
	assert_int_equal(ipv6_parse(buf, n, &h), 64);
	assert_int_equal(h.proto, 59);
	assert_false(h.fragment);
}

static void test_ipv6_reject_ext_truncated(void **state)
{
	uint8_t buf[128];
	struct ipv6_hdr h;

	(void)state;
	/* Payload ends in the middle of the Destination Options header. */
	v6_chain(buf);
	wr16(buf + 4, 8 + 12);
	assert_int_equal(ipv6_parse(buf, 60, &h), -WIRE_EEXT);
	/* Payload ends right after Hop-by-Hop, which names another header. */
	wr16(buf + 4, 8);
	assert_int_equal(ipv6_parse(buf, 48, &h), -WIRE_EEXT);
	/* Destination Options length byte points past the packet. */
	v6_chain(buf);
	buf[IPV6_HLEN + 9] = 200;
	assert_int_equal(ipv6_parse(buf, 92, &h), -WIRE_EEXT);
}

static void test_ipv6_reject_ext_too_long(void **state)
{
	uint8_t buf[IPV6_HLEN + 8 * (IPV6_MAX_EXT + 1) + 20] = {0};
	struct ipv6_hdr h;
	int n;

	(void)state;
	/* IPV6_MAX_EXT Destination Options headers are walked... */
	for (n = IPV6_MAX_EXT; n <= IPV6_MAX_EXT + 1; n++) {
		size_t len = IPV6_HLEN + 8 * (size_t)n + 20;

		memset(buf, 0, sizeof(buf));
		buf[0] = 0x60;
		wr16(buf + 4, (uint16_t)(len - IPV6_HLEN));
		buf[6] = 60;
		for (int i = 0; i < n; i++)
			buf[IPV6_HLEN + 8 * i] = (uint8_t)(i == n - 1 ? IPPROTO_TCP_ : 60);
		if (n == IPV6_MAX_EXT)
			assert_int_equal(ipv6_parse(buf, len, &h), (int)len - 20);
		else /* ...one more is refused. */
			assert_int_equal(ipv6_parse(buf, len, &h), -WIRE_EEXT);
	}
}

static void test_ipv6_reject_hbh_not_first(void **state)
{
	uint8_t buf[128];
	struct ipv6_hdr h;
	size_t n = v6_chain(buf);

	(void)state;
	buf[IPV6_HLEN + 8] = 0; /* Destination Options followed by Hop-by-Hop */
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EEXT);
}

static void test_ipv6_reject_payload_past_buffer(void **state)
{
	uint8_t buf[128];
	struct ipv6_hdr h;
	size_t n = v6_chain(buf);

	(void)state;
	assert_int_equal(ipv6_parse(buf, n - 1, &h), -WIRE_ELEN);
	assert_int_equal(ipv6_parse(buf, 39, &h), -WIRE_ETRUNC);
}

static void test_ipv6_reject_version(void **state)
{
	uint8_t buf[128];
	struct ipv6_hdr h;
	size_t n = v6_chain(buf);

	(void)state;
	buf[0] = 0x40 | (buf[0] & 0x0f);
	assert_int_equal(ipv6_parse(buf, n, &h), -WIRE_EVERSION);
}

/* ---- ICMP ---- */

static size_t echo_request(uint8_t *buf, struct icmp_hdr *h, uint8_t type)
{
	h->type = type;
	h->code = 0;
	h->rest = 0x12340001u;                                  /* identifier 0x1234, sequence 1 */
	memcpy(buf + ICMP_HLEN, "abcdefghijklmnopqrstuvw", 23); /* odd length on purpose */
	return ICMP_HLEN + 23;
}

static void test_icmp4_echo(void **state)
{
	uint8_t buf[64];
	struct icmp_hdr h, p;
	size_t n = echo_request(buf, &h, 8);

	(void)state;
	assert_int_equal(icmp4_emit(&h, buf, n), ICMP_HLEN);
	assert_int_equal(inet_checksum(buf, n), 0);
	assert_int_equal(icmp4_parse(buf, n, &p), ICMP_HLEN);
	assert_int_equal(p.type, 8);
	assert_int_equal(p.code, 0);
	assert_int_equal(p.rest, 0x12340001u);
	assert_int_equal(p.csum, rd16(buf + 2));
	assert_int_equal(icmp4_parse(buf, 7, &p), -WIRE_ETRUNC);
}

static void test_icmp4_bad_csum(void **state)
{
	uint8_t buf[64];
	struct icmp_hdr h, p;
	size_t n = echo_request(buf, &h, 8);

	(void)state;
	icmp4_emit(&h, buf, n);
	buf[n - 1] ^= 0x20;
	assert_int_equal(icmp4_parse(buf, n, &p), -WIRE_ECSUM);
}

static void test_icmp6_echo(void **state)
{
	uint8_t buf[64];
	struct icmp_hdr h, p;
	size_t n = echo_request(buf, &h, 128);

	(void)state;
	assert_int_equal(icmp6_emit(&h, buf, n, v6_src, v6_dst), ICMP_HLEN);
	assert_int_equal(icmp6_parse(buf, n, v6_src, v6_dst, &p), ICMP_HLEN);
	assert_int_equal(p.type, 128);
	assert_int_equal(p.rest, 0x12340001u);
	/* The pseudo-header counts: a plain sum does not verify. */
	assert_int_not_equal(inet_checksum(buf, n), 0);
	assert_int_equal(icmp6_parse(buf, 7, v6_src, v6_dst, &p), -WIRE_ETRUNC);
}

static void test_icmp6_bad_csum(void **state)
{
	uint8_t buf[64];
	struct icmp_hdr h, p;
	size_t n = echo_request(buf, &h, 128);

	(void)state;
	icmp6_emit(&h, buf, n, v6_src, v6_dst);
	/* Wrong addresses break it, as does a flipped data bit. */
	assert_int_equal(icmp6_parse(buf, n, v6_dst, v6_src, &p), ICMP_HLEN); /* swap: same sum */
	assert_int_equal(icmp6_parse(buf, n, v6_src, v6_src, &p), -WIRE_ECSUM);
	buf[ICMP_HLEN] ^= 0x01;
	assert_int_equal(icmp6_parse(buf, n, v6_src, v6_dst, &p), -WIRE_ECSUM);
}

/* ---- TCP checksum ---- */

static size_t tcp_segment(uint8_t *buf)
{
	struct tcp_hdr h = {
		.sport = 40000,
		.dport = 443,
		.seq = 0x01020304,
		.ack = 0xa0b0c0d0u,
		.flags = TCP_ACK | TCP_PSH,
		.win = 501,
		.opts = {.present = TCP_OPT_TIMESTAMP, .ts_val = 1, .ts_ecr = 2},
	};
	size_t n = tcp_emit(&h, buf);

	memcpy(buf + n, "hello, world!", 13); /* odd payload */
	return n + 13;
}

static void test_tcp_checksum4(void **state)
{
	uint8_t buf[128];
	size_t n = tcp_segment(buf);

	(void)state;
	tcp_checksum_set4(buf, n, 0x0a000001, 0x0a000002);
	assert_true(tcp_checksum_ok4(buf, n, 0x0a000001, 0x0a000002));
	assert_false(tcp_checksum_ok4(buf, n, 0x0a000001, 0x0a000003));
	buf[n - 1] ^= 0x04;
	assert_false(tcp_checksum_ok4(buf, n, 0x0a000001, 0x0a000002));
	buf[n - 1] ^= 0x04;
	buf[4] ^= 0x80;
	assert_false(tcp_checksum_ok4(buf, n, 0x0a000001, 0x0a000002));
}

static void test_tcp_checksum6(void **state)
{
	uint8_t buf[128];
	size_t n = tcp_segment(buf);

	(void)state;
	tcp_checksum_set6(buf, n, v6_src, v6_dst);
	assert_true(tcp_checksum_ok6(buf, n, v6_src, v6_dst));
	assert_false(tcp_checksum_ok6(buf, n, v6_src, v6_src));
	buf[30] ^= 0x01;
	assert_false(tcp_checksum_ok6(buf, n, v6_src, v6_dst));
}

/* ---- errors ---- */

static void test_wire_strerror(void **state)
{
	(void)state;
	for (int e = 0; e < WIRE_ERR_COUNT; e++) {
		assert_non_null(wire_strerror(e));
		assert_true(strlen(wire_strerror(e)) > 0);
		assert_string_equal(wire_strerror(-e), wire_strerror(e));
	}
	assert_true(strlen(wire_strerror(WIRE_ERR_COUNT)) > 0);
	assert_true(strlen(wire_strerror(-WIRE_ERR_COUNT)) > 0);
	assert_true(strlen(wire_strerror(-2147483647 - 1)) > 0);
	assert_true(strlen(wire_strerror(2147483647)) > 0);
	assert_string_not_equal(wire_strerror(-WIRE_EOPT), wire_strerror(-WIRE_EOFF));
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_tcp_known_vector_parse),
	cmocka_unit_test(test_tcp_known_vector_emit),
	cmocka_unit_test(test_tcp_syn_options_roundtrip),
	cmocka_unit_test(test_tcp_sack_roundtrip),
	cmocka_unit_test(test_tcp_emit_overflow),
	cmocka_unit_test(test_tcp_fastopen_roundtrip),
	cmocka_unit_test(test_tcp_fastopen_request),
	cmocka_unit_test(test_tcp_unknown_option_skipped),
	cmocka_unit_test(test_tcp_eol_ends_list),
	cmocka_unit_test(test_tcp_wscale_above_14),
	cmocka_unit_test(test_tcp_payload_after_header),
	cmocka_unit_test(test_tcp_opts_len),
	cmocka_unit_test(test_tcp_reject_truncated),
	cmocka_unit_test(test_tcp_reject_doff_small),
	cmocka_unit_test(test_tcp_reject_doff_past_end),
	cmocka_unit_test(test_tcp_reject_optlen0),
	cmocka_unit_test(test_tcp_reject_optlen1),
	cmocka_unit_test(test_tcp_reject_opt_past_header),
	cmocka_unit_test(test_tcp_reject_mss_len),
	cmocka_unit_test(test_tcp_reject_known_lengths),
	cmocka_unit_test(test_eth_roundtrip),
	cmocka_unit_test(test_arp_roundtrip),
	cmocka_unit_test(test_arp_reject_format),
	cmocka_unit_test(test_ipv4_parse),
	cmocka_unit_test(test_ipv4_emit),
	cmocka_unit_test(test_ipv4_trailing_padding),
	cmocka_unit_test(test_ipv4_reject_truncated),
	cmocka_unit_test(test_ipv4_reject_bad_csum),
	cmocka_unit_test(test_ipv4_reject_total_len_past_frame),
	cmocka_unit_test(test_ipv4_reject_total_len_below_ihl),
	cmocka_unit_test(test_ipv4_reject_ihl_small),
	cmocka_unit_test(test_ipv4_reject_version6),
	cmocka_unit_test(test_ipv4_options_hlen24),
	cmocka_unit_test(test_ipv6_ext_chain),
	cmocka_unit_test(test_ipv6_options),
	cmocka_unit_test(test_ipv6_param_problem),
	cmocka_unit_test(test_ipv6_roundtrip),
	cmocka_unit_test(test_ipv6_no_next_header),
	cmocka_unit_test(test_ipv6_reject_ext_truncated),
	cmocka_unit_test(test_ipv6_reject_ext_too_long),
	cmocka_unit_test(test_ipv6_reject_hbh_not_first),
	cmocka_unit_test(test_ipv6_reject_payload_past_buffer),
	cmocka_unit_test(test_ipv6_reject_version),
	cmocka_unit_test(test_icmp4_echo),
	cmocka_unit_test(test_icmp4_bad_csum),
	cmocka_unit_test(test_icmp6_echo),
	cmocka_unit_test(test_icmp6_bad_csum),
	cmocka_unit_test(test_tcp_checksum4),
	cmocka_unit_test(test_tcp_checksum6),
	cmocka_unit_test(test_wire_strerror),
};

USTCP_TEST_MAIN(tests)
