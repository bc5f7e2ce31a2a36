/* test_trace_printer.c — the printer of a capture: connections numbered in
 * the order they appear, both directions under one number, a SYN that
 * starts over on the same ports a new connection; sequence numbers, ACKs
 * and SACK blocks relative to each direction's first (as Wireshark counts
 * them), across the 2^32 wrap, with or without the SYN in the capture, or
 * absolute (tcpdump -S). */
#include "../test_main.h"
#include "trace_frames.h"

#include <stdbool.h>
#include <string.h>

#include "ustcp/trace.h"
#include "wire/wire.h"

#define CLIENT IP4(10, 0, 0, 3)
#define SERVER IP4(10, 0, 0, 1)

struct frame {
	uint8_t b[256];
	size_t len;
};

/* A segment from src:sport to dst:dport as a raw IPv4 frame. */
static struct frame seg(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq,
			uint32_t ack, uint8_t flags, size_t dlen)
{
	struct tcp_hdr th = {.sport = sport,
			     .dport = dport,
			     .seq = seq,
			     .ack = ack,
			     .flags = flags,
			     .win = 1000};
	struct frame f;

	f.len = ipv4_segment(f.b, src, dst, &th, dlen);
	return f;
}

static struct frame from_client(uint32_t seq, uint32_t ack, uint8_t flags, size_t dlen)
{
	return seg(CLIENT, 45815, SERVER, 80, seq, ack, flags, dlen);
}

static struct frame from_server(uint32_t seq, uint32_t ack, uint8_t flags, size_t dlen)
{
	return seg(SERVER, 80, CLIENT, 45815, seq, ack, flags, dlen);
}

/* The printer's line for f, which must belong to connection `conn` (0: no
 * TCP segment). */
static void expect(struct ustcp_printer *p, const struct frame *f, uint64_t conn, const char *want)
{
	char line[256];
	uint64_t got = 99;
	int n = ustcp_printer_format(p, line, sizeof(line), USTCP_LINK_IP, f->b, f->len, &got);

	assert_string_equal(line, want);
	assert_int_equal(n, strlen(want));
	assert_int_equal(got, conn);
}

#define C2S "10.0.0.3.45815 > 10.0.0.1.80: "
#define S2C "10.0.0.1.80 > 10.0.0.3.45815: "

/* One segment between the client and the server and the line it must
 * print, in connection `conn`; want_abs is the line with absolute numbers,
 * for the steps that are also run so. */
struct step {
	bool from_server;
	uint32_t seq, ack;
	uint8_t flags;
	size_t dlen;
	uint32_t sack_left, sack_right; /* one SACK block, unless both are 0 */
	uint64_t conn;
	const char *want, *want_abs;
};

/* The steps in order through one printer with those flags. */
static void run_steps(unsigned flags, const struct step *s, size_t n)
{
	struct ustcp_printer *p = ustcp_printer_new(flags);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		struct tcp_hdr th = {.sport = s[i].from_server ? 80 : 45815,
				     .dport = s[i].from_server ? 45815 : 80,
				     .seq = s[i].seq,
				     .ack = s[i].ack,
				     .flags = s[i].flags,
				     .win = 1000};
		struct frame f;

		if (s[i].sack_left || s[i].sack_right) {
			th.opts.present = TCP_OPT_SACK;
			th.opts.nsack = 1;
			th.opts.sack[0] = (struct tcp_sack_block){s[i].sack_left, s[i].sack_right};
		}
		f.len = ipv4_segment(f.b, s[i].from_server ? SERVER : CLIENT,
				     s[i].from_server ? CLIENT : SERVER, &th, s[i].dlen);
		expect(p, &f, s[i].conn, flags & USTCP_PRINT_ABSOLUTE ? s[i].want_abs : s[i].want);
	}
	ustcp_printer_free(p);
}

#define RUN_STEPS(flags, steps) run_steps(flags, steps, sizeof(steps) / sizeof(steps[0]))
#define CLIENT_SENDS false
#define SERVER_SENDS true

/* A handshake, data, a loss the server reports by SACK, and a FIN. */
static const struct step handshake[] = {
	{CLIENT_SENDS, 1000, 0, TCP_SYN, 0, 0, 0, 1, C2S "Flags [S], seq 0, win 1000, length 0",
	 C2S "Flags [S], seq 1000, win 1000, length 0"},
	{SERVER_SENDS, 7000, 1001, TCP_SYN | TCP_ACK, 0, 0, 0, 1,
	 S2C "Flags [S.], seq 0, ack 1, win 1000, length 0",
	 S2C "Flags [S.], seq 7000, ack 1001, win 1000, length 0"},
	{CLIENT_SENDS, 1001, 7001, TCP_ACK | TCP_PSH, 10, 0, 0, 1,
	 C2S "Flags [P.], seq 1:11, ack 1, win 1000, length 10",
	 C2S "Flags [P.], seq 1001:1011, ack 7001, win 1000, length 10"},
	{CLIENT_SENDS, 1021, 7001, TCP_ACK | TCP_PSH, 10, 0, 0, 1, /* 1011..1020 lost */
	 C2S "Flags [P.], seq 21:31, ack 1, win 1000, length 10",
	 C2S "Flags [P.], seq 1021:1031, ack 7001, win 1000, length 10"},
	{SERVER_SENDS, 7001, 1011, TCP_ACK, 0, 1021, 1031, 1,
	 S2C "Flags [.], ack 11, win 1000, options [nop,nop,sack 1 {21:31}], length 0",
	 S2C "Flags [.], ack 1011, win 1000, options [nop,nop,sack 1 {1021:1031}], length 0"},
	{CLIENT_SENDS, 1031, 7001, TCP_FIN | TCP_ACK, 0, 0, 0, 1,
	 C2S "Flags [F.], seq 31, ack 1, win 1000, length 0",
	 C2S "Flags [F.], seq 1031, ack 7001, win 1000, length 0"},
};

static void handshake_relative(void **state)
{
	(void)state;
	RUN_STEPS(0, handshake);
}

/* With -S: the numbers as on the wire, the connection still #1. */
static void handshake_absolute(void **state)
{
	(void)state;
	RUN_STEPS(USTCP_PRINT_ABSOLUTE, handshake);
}

/* Numbers in the order connections appear, both directions alike; other
 * packets, and TCP that cannot be parsed, have none. */
static void connections_numbered_in_order(void **state)
{
	(void)state;
	struct ustcp_printer *p = ustcp_printer_new(0);
	struct frame a = from_client(1000, 0, TCP_SYN, 0);
	struct frame b = seg(CLIENT, 45816, SERVER, 80, 3000, 0, TCP_SYN, 0);
	struct frame a_back = from_server(7000, 1001, TCP_SYN | TCP_ACK, 0);
	struct frame cut = seg(CLIENT, 45817, SERVER, 80, 1, 0, TCP_SYN, 0);
	struct frame icmp;
	struct ipv4_hdr ip = {.total_len = IPV4_HLEN + 8,
			      .ttl = 64,
			      .proto = IPPROTO_ICMP_,
			      .src = CLIENT,
			      .dst = SERVER};
	struct icmp_hdr ih = {.type = 8, .rest = 0x00010002};

	assert_non_null(p);
	expect(p, &a, 1, C2S "Flags [S], seq 0, win 1000, length 0");
	expect(p, &b, 2, "10.0.0.3.45816 > 10.0.0.1.80: Flags [S], seq 0, win 1000, length 0");
	expect(p, &a_back, 1, S2C "Flags [S.], seq 0, ack 1, win 1000, length 0");
	icmp.len = ipv4_emit(&ip, icmp.b);
	icmp.len += icmp4_emit(&ih, icmp.b + icmp.len, 8);
	expect(p, &icmp, 0, "10.0.0.3 > 10.0.0.1: ICMP echo request, id 1, seq 2, length 8");
	cut.b[IPV4_HLEN + 12] = 0x40; /* data offset 4: below the header */
	char want[128];
	snprintf(want, sizeof(want), "malformed frame (%s), length %zu", wire_strerror(WIRE_EOFF),
		 cut.len);
	expect(p, &cut, 0, want);
	/* Connection 3 is the next to appear, not the malformed one. */
	struct frame c = seg(CLIENT, 45818, SERVER, 80, 1, 0, TCP_SYN, 0);
	expect(p, &c, 3, "10.0.0.3.45818 > 10.0.0.1.80: Flags [S], seq 0, win 1000, length 0");
	ustcp_printer_free(p);
}

/* The same ports again after a close: a SYN with another ISN is another
 * connection, counted from its own ISN; a retransmitted SYN is not. */
static void syn_starting_over_is_new_connection(void **state)
{
	(void)state;
	static const struct step steps[] = {
		{CLIENT_SENDS, 1000, 0, TCP_SYN, 0, 0, 0, 1,
		 C2S "Flags [S], seq 0, win 1000, length 0", NULL},
		{CLIENT_SENDS, 1000, 0, TCP_SYN, 0, 0, 0, 1, /* retransmitted */
		 C2S "Flags [S], seq 0, win 1000, length 0", NULL},
		{SERVER_SENDS, 7000, 1001, TCP_SYN | TCP_ACK, 0, 0, 0, 1,
		 S2C "Flags [S.], seq 0, ack 1, win 1000, length 0", NULL},
		{CLIENT_SENDS, 1001, 7001, TCP_RST | TCP_ACK, 0, 0, 0, 1,
		 C2S "Flags [R.], seq 1, ack 1, win 1000, length 0", NULL},
		{CLIENT_SENDS, 90000, 0, TCP_SYN, 0, 0, 0, 2,
		 C2S "Flags [S], seq 0, win 1000, length 0", NULL},
		{SERVER_SENDS, 5, 90001, TCP_SYN | TCP_ACK, 0, 0, 0, 2,
		 S2C "Flags [S.], seq 0, ack 1, win 1000, length 0", NULL},
		{CLIENT_SENDS, 90001, 6, TCP_ACK | TCP_PSH, 3, 0, 0, 2,
		 C2S "Flags [P.], seq 1:4, ack 1, win 1000, length 3", NULL},
	};

	RUN_STEPS(0, steps);
}

/* A capture that begins after the handshake: the first byte seen, and the
 * first byte acknowledged, are byte 1 of their direction. */
static void capture_without_the_syn(void **state)
{
	(void)state;
	static const struct step steps[] = {
		{CLIENT_SENDS, 5000, 9000, TCP_ACK | TCP_PSH, 4, 0, 0, 1,
		 C2S "Flags [P.], seq 1:5, ack 1, win 1000, length 4", NULL},
		{SERVER_SENDS, 9000, 5004, TCP_ACK | TCP_PSH, 2, 0, 0, 1,
		 S2C "Flags [P.], seq 1:3, ack 5, win 1000, length 2", NULL},
	};

	RUN_STEPS(0, steps);
}

/* Relative numbers are differences modulo 2^32: a stream that wraps
 * counts on, and so do its SACK blocks. */
static void sequence_numbers_wrap(void **state)
{
	(void)state;
	static const struct step steps[] = {
		{CLIENT_SENDS, 0xfffffffbu, 0, TCP_SYN, 0, 0, 0, 1,
		 C2S "Flags [S], seq 0, win 1000, length 0", NULL},
		{CLIENT_SENDS, 0xfffffffcu, 0, TCP_ACK | TCP_PSH, 10, 0, 0, 1,
		 C2S "Flags [P.], seq 1:11, ack 1, win 1000, length 10", NULL},
		{CLIENT_SENDS, 16, 0, TCP_ACK | TCP_PSH, 10, 0, 0, 1,
		 C2S "Flags [P.], seq 21:31, ack 1, win 1000, length 10", NULL},
		{SERVER_SENDS, 1, 6, TCP_ACK, 0, 16, 26, 1,
		 S2C "Flags [.], ack 11, win 1000, options [nop,nop,sack 1 {21:31}], length 0",
		 NULL},
	};

	RUN_STEPS(0, steps);
}

/* A line too long for the buffer is formatted again into a larger one:
 * that must not count the segment twice. */
static void same_frame_twice_same_line(void **state)
{
	(void)state;
	struct ustcp_printer *p = ustcp_printer_new(0);
	struct frame first = from_client(1000, 0, TCP_SYN, 0);
	struct frame again = from_client(2000, 0, TCP_SYN, 0);
	struct frame data = from_client(3000, 0, TCP_ACK, 5);
	char small[8];
	uint64_t conn;

	assert_non_null(p);
	expect(p, &first, 1, C2S "Flags [S], seq 0, win 1000, length 0");
	assert_true(ustcp_printer_format(p, small, sizeof(small), USTCP_LINK_IP, again.b, again.len,
					 &conn) > (int)sizeof(small));
	assert_int_equal(conn, 2);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	expect(p, &again, 2, C2S "Flags [S], seq 0, win 1000, length 0");
	ustcp_printer_format(p, NULL, 0, USTCP_LINK_IP, data.b, data.len, &conn);
	expect(p, &data, 2, C2S "Flags [.], seq 1000:1005, ack 1, win 1000, length 5");
	ustcp_printer_free(p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(handshake_relative),
	cmocka_unit_test(handshake_absolute),
	cmocka_unit_test(connections_numbered_in_order),
	cmocka_unit_test(syn_starting_over_is_new_connection),
	cmocka_unit_test(capture_without_the_syn),
	cmocka_unit_test(sequence_numbers_wrap),
	cmocka_unit_test(same_frame_twice_same_line),
};

USTCP_TEST_MAIN(tests)
