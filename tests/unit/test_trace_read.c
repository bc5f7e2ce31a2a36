/* test_trace_read.c — captures read back: the same TCP segment behind each
 * link type a capture may have (Ethernet, raw IP, Linux cooked SLL and
 * SLL2, over IPv4 and IPv6) prints the same line; timestamps come back in
 * nanoseconds; a packet the capture cut short prints as malformed; and
 * each file the reader refuses says why. The files are written with
 * libpcap's own writer (pcap_open_dead + pcap_dump). */
#define _DEFAULT_SOURCE /* mkdtemp, truncate; pcap.h uses the BSD u_char/u_int types */

#include "../test_main.h"
#include "trace_frames.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "ustcp/trace.h"
#include "wire/wire.h"

static const uint8_t v6_client[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
static const uint8_t v6_server[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

#define TS_NS 1700000000123456789ull /* a capture's time, to the nanosecond */

/* A data segment with timestamps and a SACK block, every number the
 * printer shows in one line, in an IPv4 or IPv6 packet: its length. */
static size_t data_packet(int version, uint8_t *pkt)
{
	struct tcp_hdr th = {.sport = 45815,
			     .dport = 80,
			     .seq = 1001,
			     .ack = 7001,
			     .flags = TCP_PSH | TCP_ACK,
			     .win = 502};

	th.opts.present = TCP_OPT_TIMESTAMP | TCP_OPT_SACK;
	th.opts.ts_val = 5;
	th.opts.ts_ecr = 6;
	th.opts.nsack = 1;
	th.opts.sack[0] = (struct tcp_sack_block){7100, 7200};
	if (version == 4)
		return ipv4_segment(pkt, IP4(10, 0, 0, 3), IP4(10, 0, 0, 1), &th, 5);
	return ipv6_segment(pkt, v6_client, v6_server, &th, 5);
}

static const char line4[] = "10.0.0.3.45815 > 10.0.0.1.80: Flags [P.], seq 1001:1006, ack 7001, "
			    "win 502, options [nop,nop,TS val 5 ecr 6,nop,nop,sack 1 {7100:7200}], "
			    "length 5";
static const char line6[] = "fd00::3.45815 > fd00::1.80: Flags [P.], seq 1001:1006, ack 7001, "
			    "win 502, options [nop,nop,TS val 5 ecr 6,nop,nop,sack 1 {7100:7200}], "
			    "length 5";

static char dir[] = "/tmp/ustcp_test_trace_read_XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	return rmdir(dir);
}

static char *path_of(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* A capture of one frame, of which caplen bytes are kept, with link type
 * dlt and the given timestamp precision. */
static void write_capture(const char *path, int dlt, u_int precision, const uint8_t *frame,
			  size_t len, size_t caplen)
{
	pcap_t *pd = pcap_open_dead_with_tstamp_precision(dlt, 65535, precision);
	assert_non_null(pd);
	pcap_dumper_t *d = pcap_dump_open(pd, path);
	assert_non_null(d);
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)caplen, .len = (bpf_u_int32)len};
	h.ts.tv_sec = (time_t)(TS_NS / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(TS_NS % 1000000000u);
	if (precision == PCAP_TSTAMP_PRECISION_MICRO)
		h.ts.tv_usec /= 1000;
	pcap_dump((u_char *)d, &h, frame);
	pcap_dump_close(d);
	pcap_close(pd);
}

/* Reads back the one frame of path: its line, or NULL when the reader
 * refused the file (err then says why). pk->frame is a copy, which
 * outlives the reader. */
static char *read_one(const char *path, struct ustcp_pcap_packet *pk, char *err, size_t errsize)
{
	static char line[512];
	static uint8_t copy[256];
	struct ustcp_pcap_reader *r = ustcp_pcap_reader_open(path, err, errsize);

	if (!r)
		return NULL;
	assert_int_equal(ustcp_pcap_reader_next(r, pk), 1);
	int n = ustcp_format_link(line, sizeof(line), pk->link, pk->frame, pk->len);
	assert_int_equal(n, strlen(line));
	assert_true(pk->len <= sizeof(copy));
	memcpy(copy, pk->frame, pk->len);
	struct ustcp_pcap_packet first = *pk;
	assert_int_equal(ustcp_pcap_reader_next(r, pk), 0);
	ustcp_pcap_reader_close(r);
	*pk = first;
	pk->frame = copy;
	return line;
}

struct link_case {
	int dlt;
	enum ustcp_link link;
};

/* The segment over IP version `version` in each link type the reader
 * takes, that version's own raw type among them: the same line. */
static void check_links(int version, const char *want)
{
	const struct link_case c[] = {
		{DLT_EN10MB, USTCP_LINK_ETHERNET},
		{DLT_RAW, USTCP_LINK_IP},
		{version == 4 ? DLT_IPV4 : DLT_IPV6, USTCP_LINK_IP},
		{DLT_LINUX_SLL, USTCP_LINK_SLL},
		{DLT_LINUX_SLL2, USTCP_LINK_SLL2},
	};
	uint8_t pkt[128];
	size_t len = data_packet(version, pkt);
	uint16_t type = version == 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t frame[256];
		struct ustcp_pcap_packet pk;
		char err[256] = "";
		size_t flen = link_frame(frame, c[i].link, type, pkt, len);
		const char *path = path_of("link.pcap");

		write_capture(path, c[i].dlt, PCAP_TSTAMP_PRECISION_NANO, frame, flen, flen);
		const char *line = read_one(path, &pk, err, sizeof(err));
		if (!line)
			fail_msg("link type %d refused: %s", c[i].dlt, err);
		assert_int_equal(pk.link, c[i].link);
		assert_int_equal(pk.len, flen);
		assert_int_equal(pk.wire_len, flen);
		assert_memory_equal(pk.frame, frame, flen);
		assert_true(pk.ts == TS_NS);
		assert_string_equal(line, want);
		unlink(path);
	}
}

static void same_line_behind_every_link_ipv4(void **state)
{
	(void)state;
	check_links(4, line4);
}

static void same_line_behind_every_link_ipv6(void **state)
{
	(void)state;
	check_links(6, line6);
}

/* ARP behind a Linux cooked header prints as behind Ethernet; a protocol
 * neither IP nor ARP prints its number. */
static void cooked_arp_and_other_protocols(void **state)
{
	(void)state;
	uint8_t arp[ARP_LEN], frame[64];
	struct arp_pkt ap = {
		.op = ARP_OP_REQUEST, .spa = IP4(10, 0, 0, 3), .tpa = IP4(10, 0, 0, 1)};
	char line[128];

	arp_emit(&ap, arp);
	size_t n = link_frame(frame, USTCP_LINK_SLL2, ETHERTYPE_ARP, arp, sizeof(arp));
	ustcp_format_link(line, sizeof(line), USTCP_LINK_SLL2, frame, n);
	assert_string_equal(line, "ARP, Request who-has 10.0.0.1 tell 10.0.0.3, length 28");
	n = link_frame(frame, USTCP_LINK_SLL, 0x0004, arp, sizeof(arp)); /* 802.2 LLC */
	ustcp_format_link(line, sizeof(line), USTCP_LINK_SLL, frame, n);
	assert_string_equal(line, "ethertype 0x0004, length 44");
}

/* A file of microseconds reads back in nanoseconds, scaled. */
static void microsecond_timestamps(void **state)
{
	(void)state;
	uint8_t pkt[128];
	struct ustcp_pcap_packet pk;
	char err[256];
	size_t n = data_packet(4, pkt);

	write_capture(path_of("us.pcap"), DLT_RAW, PCAP_TSTAMP_PRECISION_MICRO, pkt, n, n);
	assert_string_equal(read_one(path_of("us.pcap"), &pk, err, sizeof(err)), line4);
	assert_true(pk.ts == TS_NS / 1000 * 1000);
	unlink(path_of("us.pcap"));
}

static void expect_malformed(int dlt, const uint8_t *frame, size_t len, size_t caplen, int why)
{
	struct ustcp_pcap_packet pk;
	char err[256], want[128];

	write_capture(path_of("cut.pcap"), dlt, PCAP_TSTAMP_PRECISION_NANO, frame, len, caplen);
	const char *line = read_one(path_of("cut.pcap"), &pk, err, sizeof(err));
	assert_non_null(line);
	assert_int_equal(pk.len, caplen);
	assert_int_equal(pk.wire_len, len);
	snprintf(want, sizeof(want), "malformed frame (%s), length %zu", wire_strerror(why),
		 caplen);
	assert_string_equal(line, want);
	unlink(path_of("cut.pcap"));
}

/* Packets a capture cut short (a snap length) print as malformed, with the
 * reason, wherever the cut falls. */
static void cut_packets_are_malformed(void **state)
{
	(void)state;
	uint8_t pkt[128], frame[160];
	size_t n = data_packet(4, pkt);
	size_t eth = link_frame(frame, USTCP_LINK_ETHERNET, ETHERTYPE_IPV4, pkt, n);

	expect_malformed(DLT_EN10MB, frame, eth, eth - 3, WIRE_ELEN); /* in the data */
	expect_malformed(DLT_EN10MB, frame, eth, 10, WIRE_ETRUNC);    /* in the link header */
	size_t sll = link_frame(frame, USTCP_LINK_SLL, ETHERTYPE_IPV4, pkt, n);
	expect_malformed(DLT_LINUX_SLL, frame, sll, 15, WIRE_ETRUNC);
	size_t sll2 = link_frame(frame, USTCP_LINK_SLL2, ETHERTYPE_IPV4, pkt, n);
	expect_malformed(DLT_LINUX_SLL2, frame, sll2, 19, WIRE_ETRUNC);
	expect_malformed(DLT_RAW, pkt, n, 0, WIRE_ETRUNC);
	pkt[0] = 0x55; /* IP version 5 */
	expect_malformed(DLT_RAW, pkt, n, n, WIRE_EVERSION);
}

/* Opening path fails, and the message names
 * the file and says words. */
static void expect_refused(const char *path, const char *words)
{
	char err[512] = "";

	assert_null(ustcp_pcap_reader_open(path, err, sizeof(err)));
	if (strncmp(err, path, strlen(path)) || !strstr(err, words))
		fail_msg("'%s' does not name %s and say '%s'", err, path, words);
	assert_null(strchr(err, '\n'));
}

static void refused_files_say_why(void **state)
{
	(void)state;
	uint8_t frame[64] = {0};
	FILE *f;

	expect_refused(path_of("missing.pcap"), strerror(ENOENT));
	expect_refused(dir, "is a directory");
	f = fopen(path_of("empty.pcap"), "w");
	assert_non_null(f);
	fclose(f);
	expect_refused(path_of("empty.pcap"), "is empty");
	f = fopen(path_of("text.pcap"), "w");
	assert_non_null(f);
	fputs("not a capture, only words\n", f);
	fclose(f);
	expect_refused(path_of("text.pcap"), "not a pcap or pcapng capture");
	write_capture(path_of("wifi.pcap"), DLT_IEEE802_11, PCAP_TSTAMP_PRECISION_NANO, frame,
		      sizeof(frame), sizeof(frame));
	expect_refused(path_of("wifi.pcap"), "link type 105 (IEEE802_11) is not one ustcp reads");
	unlink(path_of("empty.pcap"));
	unlink(path_of("text.pcap"));
	unlink(path_of("wifi.pcap"));
}

/* A file cut in the middle of a record: what came before is read, then the
 * reader says the rest cannot be. */
static void file_cut_short(void **state)
{
	(void)state;
	uint8_t pkt[128];
	struct ustcp_pcap_packet pk;
	char err[256];
	size_t n = data_packet(4, pkt);
	const char *path = path_of("short.pcap");

	write_capture(path, DLT_RAW, PCAP_TSTAMP_PRECISION_NANO, pkt, n, n);
	assert_int_equal(truncate(path, (off_t)(24 + 16 + n - 4)), 0);
	struct ustcp_pcap_reader *r = ustcp_pcap_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(ustcp_pcap_reader_next(r, &pk), -1);
	const char *why = ustcp_pcap_reader_error(r);
	if (strncmp(why, path, strlen(path)) || !strstr(why, "truncated"))
		fail_msg("'%s' does not say that %s is cut short", why, path);
	ustcp_pcap_reader_close(r);
	unlink(path);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(same_line_behind_every_link_ipv4),
	cmocka_unit_test(same_line_behind_every_link_ipv6),
	cmocka_unit_test(cooked_arp_and_other_protocols),
	cmocka_unit_test(microsecond_timestamps),
	cmocka_unit_test(cut_packets_are_malformed),
	cmocka_unit_test(refused_files_say_why),
	cmocka_unit_test(file_cut_short),
};

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
