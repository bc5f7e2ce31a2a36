/* test_trace_format.c — the tcpdump-style printer: exact lines for TCP over
 * IPv4 and IPv6, TCP options, ARP, ICMP, malformed frames, and the trace
 * event line. Frames are built byte by byte here. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include "../test_main.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ustcp/ustcp.h"
#include "wire/wire.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define CLIENT IP(10, 0, 0, 3)
#define SERVER IP(10, 0, 0, 1)

static const uint8_t mac_client[6] = {2, 0, 0, 0, 0, 3};
static const uint8_t mac_server[6] = {2, 0, 0, 0, 0, 1};

static uint16_t csum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t put_eth(uint8_t *f, uint16_t type)
{
	memcpy(f, mac_server, 6);
	memcpy(f + 6, mac_client, 6);
	wr16(f + 12, type);
	return ETH_HLEN;
}

/* Ethernet + IPv4 header around `l4len` bytes the caller writes after it. */
static size_t put_ipv4(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t l4len)
{
	uint8_t *ip = f + put_eth(f, ETHERTYPE_IPV4);

	memset(ip, 0, IPV4_HLEN);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(IPV4_HLEN + l4len));
	wr16(ip + 6, IPV4_DF);
	ip[8] = 64;
	ip[9] = proto;
	wr32(ip + 12, src);
	wr32(ip + 16, dst);
	wr16(ip + 10, csum16(ip, IPV4_HLEN, 0));
	return ETH_HLEN + IPV4_HLEN;
}

struct seg {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const char *opts; /* hex, a multiple of 4 bytes */
	size_t dlen;
};

static size_t put_tcp(uint8_t *t, const struct seg *s)
{
	uint8_t opts[40];
	size_t olen = s->opts ? unhex(s->opts, opts) : 0;

	memset(t, 0, TCP_HLEN);
	wr16(t, s->sport);
	wr16(t + 2, s->dport);
	wr32(t + 4, s->seq);
	wr32(t + 8, s->ack);
	t[12] = (uint8_t)(((TCP_HLEN + olen) / 4) << 4);
	t[13] = s->flags;
	wr16(t + 14, s->win);
	memcpy(t + TCP_HLEN, opts, olen);
	for (size_t i = 0; i < s->dlen; i++)
		t[TCP_HLEN + olen + i] = (uint8_t)('a' + i % 26);
	return TCP_HLEN + olen + s->dlen;
}

static size_t tcp4_frame(uint8_t *f, const struct seg *s)
{
	uint8_t seg[1600];
	size_t n = put_tcp(seg, s);
	size_t h = put_ipv4(f, s->src, s->dst, IPPROTO_TCP_, n);

	memcpy(f + h, seg, n);
	return h + n;
}

static void expect_line(const uint8_t *f, size_t len, const char *want)
{
	char buf[512];
	int n = ustcp_format_frame(buf, sizeof(buf), f, len);

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void expect_tcp4(const struct seg *s, const char *want)
{
	uint8_t f[1600];

	expect_line(f, tcp4_frame(f, s), want);
}

/* ---- the handshake, data and close of one connection ---- */

static void tcp_syn(void **state)
{
	(void)state;
	struct seg s = {CLIENT,  SERVER, 45815,
			54321,   1000,   0,
			TCP_SYN, 64240,  "020405b4 0402 080a 00000001 00000000 01 030307",
			0};
	expect_tcp4(&s, "10.0.0.3.45815 > 10.0.0.1.54321: Flags [S], seq 1000, win 64240, "
			"options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0");
}

static void tcp_syn_ack(void **state)
{
	(void)state;
	struct seg s = {SERVER, CLIENT,     54321, 45815, 7000, 1001, TCP_SYN | TCP_ACK,
			65160,  "020405b4", 0};
	expect_tcp4(&s, "10.0.0.1.54321 > 10.0.0.3.45815: Flags [S.], seq 7000, ack 1001, "
			"win 65160, options [mss 1460], length 0");
}

static void tcp_data_psh_ack(void **state)
{
	(void)state;
	struct seg s = {CLIENT, SERVER, 45815, 54321, 1001, 7001, TCP_PSH | TCP_ACK,
			64240,  NULL,   3};
	expect_tcp4(&s, "10.0.0.3.45815 > 10.0.0.1.54321: Flags [P.], seq 1001:1004, ack 7001, "
			"win 64240, length 3");
}

static void tcp_pure_ack(void **state)
{
	(void)state;
	struct seg s = {CLIENT, SERVER, 45815, 54321, 1001, 7001, TCP_ACK, 64240, NULL, 0};
	expect_tcp4(&s, "10.0.0.3.45815 > 10.0.0.1.54321: Flags [.], ack 7001, win 64240, "
			"length 0");
}

static void tcp_pure_ack_with_ethernet_padding(void **state)
{
	(void)state;
	struct seg s = {CLIENT, SERVER, 45815, 54321, 1001, 7001, TCP_ACK, 64240, NULL, 0};
	uint8_t f[60] = {0};

	assert_int_equal(tcp4_frame(f, &s), 54);
	/* The length comes from the IP header, not from the padded frame. */
	expect_line(f, sizeof(f),
		    "10.0.0.3.45815 > 10.0.0.1.54321: Flags [.], ack 7001, win 64240, length 0");
}

static void tcp_fin_ack(void **state)
{
	(void)state;
	struct seg s = {CLIENT, SERVER, 45815, 54321, 1021, 7006, TCP_FIN | TCP_ACK,
			64240,  NULL,   0};
	expect_tcp4(&s, "10.0.0.3.45815 > 10.0.0.1.54321: Flags [F.], seq 1021, ack 7006, "
			"win 64240, length 0");
}

static void tcp_rst(void **state)
{
	(void)state;
	struct seg s = {SERVER, CLIENT, 54321, 45815, 7001, 0, TCP_RST, 0, NULL, 0};
	expect_tcp4(&s, "10.0.0.1.54321 > 10.0.0.3.45815: Flags [R], seq 7001, win 0, length 0");
	s.flags = TCP_RST | TCP_ACK;
	s.seq = 0;
	s.ack = 1001;
	expect_tcp4(&s, "10.0.0.1.54321 > 10.0.0.3.45815: Flags [R.], seq 0, ack 1001, win 0, "
			"length 0");
}

/* A TCP header from a real capture, with timestamps, in IPv4 and Ethernet. */
static void tcp_captured_header(void **state)
{
	(void)state;
	uint8_t f[128];
	uint8_t tcp[64];
	size_t n = unhex("0403 1388 445d 9b9b 53ff 98e7 8018 e240 7b3a 0000 0101 080a 0000 c860 "
			 "3503 72f1",
			 tcp);

	assert_int_equal(n, 32);
	memcpy(tcp + 32, "0123456789", 10);
	size_t h = put_ipv4(f, IP(192, 168, 1, 2), IP(192, 168, 1, 9), IPPROTO_TCP_, 42);
	memcpy(f + h, tcp, 42);
	expect_line(f, h + 42,
		    "192.168.1.2.1027 > 192.168.1.9.5000: Flags [P.], seq 1146985371:1146985381, "
		    "ack 1409259751, win 57920, options [nop,nop,TS val 51296 ecr 889418481], "
		    "length 10");
}

/* ---- flags and options ---- */

static void tcp_flag_order(void **state)
{
	(void)state;
	struct seg s = {CLIENT, SERVER, 1, 2, 5, 0, 0, 100, NULL, 0};

	expect_tcp4(&s, "10.0.0.3.1 > 10.0.0.1.2: Flags [none], win 100, length 0");
	s.flags = TCP_SYN | TCP_ECE | TCP_CWR;
	expect_tcp4(&s, "10.0.0.3.1 > 10.0.0.1.2: Flags [SEW], seq 5, win 100, length 0");
	/* tcpdump puts the ACK dot right after PSH, before U, E and W. */
	s.flags = TCP_SYN | TCP_ACK | TCP_ECE;
	s.ack = 9;
	expect_tcp4(&s, "10.0.0.3.1 > 10.0.0.1.2: Flags [S.E], seq 5, ack 9, win 100, length 0");
	s.flags = 0xff;
	expect_tcp4(&s, "10.0.0.3.1 > 10.0.0.1.2: Flags [FSRP.UEW], seq 5, ack 9, win 100, "
			"urg 0, length 0");
}

static void tcp_more_options(void **state)
{
	(void)state;
	struct seg s = {CLIENT,  SERVER, 80,
			443,     10,     20,
			TCP_ACK, 500,    "0101 050a 00000064 000000c8 0101 080a 00000005 00000006",
			0};

	expect_tcp4(&s, "10.0.0.3.80 > 10.0.0.1.443: Flags [.], ack 20, win 500, "
			"options [nop,nop,sack 1 {100:200},nop,nop,TS val 5 ecr 6], length 0");
	s.opts = "0101 0512 00000001 00000002 00000003 00000004";
	expect_tcp4(&s, "10.0.0.3.80 > 10.0.0.1.443: Flags [.], ack 20, win 500, "
			"options [nop,nop,sack 2 {1:2}{3:4}], length 0");
	s.flags = TCP_SYN;
	s.opts = "2202 0101 220a 0011 2233 4455 6677 0101";
	expect_tcp4(&s, "10.0.0.3.80 > 10.0.0.1.443: Flags [S], seq 10, win 500, "
			"options [tfo cookiereq,nop,nop,tfo cookie 0011223344556677,nop,nop], "
			"length 0");
	/* Unknown kinds show their data as tcpdump does; EOL ends the list. */
	s.opts = "fd04 abcd 1302 0000";
	expect_tcp4(&s, "10.0.0.3.80 > 10.0.0.1.443: Flags [S], seq 10, win 500, "
			"options [unknown-253 0xabcd,unknown-19,eol], length 0");
}

static void tcp_bad_option_is_malformed(void **state)
{
	(void)state;
	struct seg s = {CLIENT, SERVER, 80, 443, 10, 20, TCP_ACK, 500, "0203 05b4", 0};
	char want[128];

	snprintf(want, sizeof(want), "malformed frame (%s), length 58", wire_strerror(WIRE_EOPT));
	expect_tcp4(&s, want);
}

/* ---- IPv6 ---- */

static size_t put_ipv6(uint8_t *f, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
		       size_t l4len)
{
	uint8_t *ip = f + put_eth(f, ETHERTYPE_IPV6);

	memset(ip, 0, IPV6_HLEN);
	ip[0] = 0x60;
	wr16(ip + 4, (uint16_t)l4len);
	ip[6] = proto;
	ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	return ETH_HLEN + IPV6_HLEN;
}

static const uint8_t v6_client[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
static const uint8_t v6_server[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};

static void ipv6_tcp(void **state)
{
	(void)state;
	struct seg s = {0, 0, 45815, 80, 1000, 0, TCP_SYN, 64800, "020405a0", 0};
	uint8_t f[256], t[128];
	size_t n = put_tcp(t, &s);
	size_t h = put_ipv6(f, v6_client, v6_server, IPPROTO_TCP_, n);

	memcpy(f + h, t, n);
	expect_line(f, h + n,
		    "fd00::3.45815 > 2001:db8::1:0:0:1.80: Flags [S], seq 1000, "
		    "win 64800, options [mss 1440], length 0");
	s = (struct seg){0, 0, 80, 45815, 5, 1001, TCP_PSH | TCP_ACK, 500, NULL, 100};
	n = put_tcp(t, &s);
	h = put_ipv6(f, v6_server, v6_client, IPPROTO_TCP_, n);
	memcpy(f + h, t, n);
	expect_line(f, h + n,
		    "2001:db8::1:0:0:1.80 > fd00::3.45815: Flags [P.], seq 5:105, "
		    "ack 1001, win 500, length 100");
}

static void icmpv6_echo(void **state)
{
	(void)state;
	uint8_t f[256];
	size_t h = put_ipv6(f, v6_client, v6_server, IPPROTO_ICMPV6_, 16);
	struct icmp_hdr ih = {.type = 128, .code = 0, .rest = 0x00070009};

	memset(f + h + ICMP_HLEN, 0x61, 8);
	icmp6_emit(&ih, f + h, 16, v6_client, v6_server);
	expect_line(f, h + 16,
		    "fd00::3 > 2001:db8::1:0:0:1: ICMP6, echo request, id 7, seq 9, "
		    "length 16");
}

/* ---- ARP, ICMP, other EtherTypes, malformed frames ---- */

static size_t arp_frame(uint8_t *f, uint16_t op)
{
	size_t n = put_eth(f, ETHERTYPE_ARP);
	uint8_t *a = f + n;

	wr16(a, 1);
	wr16(a + 2, ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	if (op == ARP_OP_REQUEST) {
		memcpy(a + 8, mac_client, 6);
		wr32(a + 14, CLIENT);
		memset(a + 18, 0, 6);
		wr32(a + 24, SERVER);
	} else {
		memcpy(a + 8, mac_server, 6);
		wr32(a + 14, SERVER);
		memcpy(a + 18, mac_client, 6);
		wr32(a + 24, CLIENT);
	}
	return n + ARP_LEN;
}

static void arp_request_and_reply(void **state)
{
	(void)state;
	uint8_t f[64];

	expect_line(f, arp_frame(f, ARP_OP_REQUEST),
		    "ARP, Request who-has 10.0.0.1 tell 10.0.0.3, length 28");
	expect_line(f, arp_frame(f, ARP_OP_REPLY),
		    "ARP, Reply 10.0.0.1 is-at 02:00:00:00:00:01, length 28");
}

static void icmp_echo(void **state)
{
	(void)state;
	uint8_t f[128];
	size_t h = put_ipv4(f, CLIENT, SERVER, IPPROTO_ICMP_, 64);
	uint8_t *ic = f + h;

	memset(ic, 0, 64);
	ic[0] = 8;
	wr16(ic + 4, 1);
	wr16(ic + 6, 2);
	wr16(ic + 2, csum16(ic, 64, 0));
	expect_line(f, h + 64, "10.0.0.3 > 10.0.0.1: ICMP echo request, id 1, seq 2, length 64");
	ic[0] = 3;
	ic[1] = 3;
	wr16(ic + 2, 0);
	wr16(ic + 2, csum16(ic, 64, 0));
	expect_line(f, h + 64, "10.0.0.3 > 10.0.0.1: ICMP type 3 code 3, length 64");
}

static void other_ethertype(void **state)
{
	(void)state;
	uint8_t f[60] = {0};

	put_eth(f, 0x88cc);
	expect_line(f, sizeof(f), "ethertype 0x88cc, length 60");
}

static void malformed_frames(void **state)
{
	(void)state;
	uint8_t f[128];
	char want[128];

	memset(f, 0, sizeof(f));
	snprintf(want, sizeof(want), "malformed frame (%s), length 10", wire_strerror(WIRE_ETRUNC));
	expect_line(f, 10, want);
	snprintf(want, sizeof(want), "malformed frame (%s), length 0", wire_strerror(WIRE_ETRUNC));
	expect_line(NULL, 0, want);

	/* An IPv4 packet whose TCP header is cut short. */
	size_t h = put_ipv4(f, CLIENT, SERVER, IPPROTO_TCP_, 12);
	snprintf(want, sizeof(want), "malformed frame (%s), length %zu", wire_strerror(WIRE_ETRUNC),
		 h + 12);
	expect_line(f, h + 12, want);

	/* The frame ends before the IP total length says. */
	struct seg s = {CLIENT, SERVER, 1, 2, 3, 4, TCP_ACK, 5, NULL, 10};
	size_t n = tcp4_frame(f, &s);
	snprintf(want, sizeof(want), "malformed frame (%s), length %zu", wire_strerror(WIRE_ELEN),
		 n - 4);
	expect_line(f, n - 4, want);

	/* An ARP packet cut short. */
	n = arp_frame(f, ARP_OP_REQUEST);
	snprintf(want, sizeof(want), "malformed frame (%s), length %zu", wire_strerror(WIRE_ETRUNC),
		 n - 1);
	expect_line(f, n - 1, want);
}

static void snprintf_semantics(void **state)
{
	(void)state;
	const char *want = "10.0.0.3.45815 > 10.0.0.1.54321: Flags [.], ack 7001, win 64240, "
			   "length 0";
	struct seg s = {CLIENT, SERVER, 45815, 54321, 1001, 7001, TCP_ACK, 64240, NULL, 0};
	uint8_t f[128];
	size_t n = tcp4_frame(f, &s);
	char buf[20];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ustcp_format_frame(buf, sizeof(buf), f, n), strlen(want));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, want, sizeof(buf) - 1);
	assert_int_equal(ustcp_format_frame(NULL, 0, f, n), strlen(want));
}

/* ---- the event line ---- */

static char *event_line(const struct ustcp_trace_event *ev)
{
	char *text = NULL;
	size_t size = 0;
	FILE *mf = open_memstream(&text, &size);

	assert_non_null(mf);
	ustcp_print_event(mf, ev);
	fclose(mf);
	return text;
}

static void print_event_line(void **state)
{
	(void)state;
	struct seg s = {CLIENT, SERVER, 45815, 54321, 1000, 0, TCP_SYN, 64240, NULL, 0};
	uint8_t f[128];
	size_t n = tcp4_frame(f, &s);
	struct ustcp_trace_event ev = {.now = 100000, .dir = USTCP_TRACE_OUT, .frame = f, .len = n};
	const char *seg = "10.0.0.3.45815 > 10.0.0.1.54321: Flags [S], seq 1000, win 64240, "
			  "length 0";
	char want[256];
	char *got;

	got = event_line(&ev);
	snprintf(want, sizeof(want), "0.000100 %s\n", seg);
	assert_string_equal(got, want);
	free(got);

	ev.now = 12 * USTCP_NS_PER_SEC + 345678999;
	ev.has_conn = 1;
	ev.state_before = USTCP_SYN_SENT;
	ev.state_after = USTCP_SYN_SENT;
	got = event_line(&ev);
	snprintf(want, sizeof(want), "12.345678 %s  SYN-SENT\n", seg);
	assert_string_equal(got, want);
	free(got);

	ev.state_after = USTCP_ESTABLISHED;
	got = event_line(&ev);
	snprintf(want, sizeof(want), "12.345678 %s  SYN-SENT -> ESTABLISHED\n", seg);
	assert_string_equal(got, want);
	free(got);

	ev.has_conn = 0;
	ev.dir = USTCP_TRACE_IN;
	ev.drop = USTCP_DROP_tcp_bad_csum;
	got = event_line(&ev);
	snprintf(want, sizeof(want), "12.345678 %s  dropped: %s\n", seg,
		 ustcp_drop_desc(USTCP_DROP_tcp_bad_csum));
	assert_string_equal(got, want);
	free(got);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(tcp_syn),
	cmocka_unit_test(tcp_syn_ack),
	cmocka_unit_test(tcp_data_psh_ack),
	cmocka_unit_test(tcp_pure_ack),
	cmocka_unit_test(tcp_pure_ack_with_ethernet_padding),
	cmocka_unit_test(tcp_fin_ack),
	cmocka_unit_test(tcp_rst),
	cmocka_unit_test(tcp_captured_header),
	cmocka_unit_test(tcp_flag_order),
	cmocka_unit_test(tcp_more_options),
	cmocka_unit_test(tcp_bad_option_is_malformed),
	cmocka_unit_test(ipv6_tcp),
	cmocka_unit_test(icmpv6_echo),
	cmocka_unit_test(arp_request_and_reply),
	cmocka_unit_test(icmp_echo),
	cmocka_unit_test(other_ethertype),
	cmocka_unit_test(malformed_frames),
	cmocka_unit_test(snprintf_semantics),
	cmocka_unit_test(print_event_line),
};

USTCP_TEST_MAIN(tests)
