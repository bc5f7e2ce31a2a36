/* fuzz_trace.c — libFuzzer target: the printer of captures over arbitrary
 * frames of every link type, in sequence, so that the connections it
 * remembers carry from one frame to the next.
 *
 * The first byte picks nothing yet (reserved); then records: a control
 * byte, a length byte, that many bytes. Control bits 0-1 are the link type
 * (enum ustcp_link); bit 2 set wraps the bytes as a TCP segment in a valid
 * IPv4 header (its checksum is hard to guess), bit 3 in an IPv6 one, with
 * bit 4 choosing between two pairs of addresses; behind the link header of
 * that type. Otherwise the bytes are the frame as it is.
 * tests/fuzz/corpus/fuzz_trace holds the frames of `ustcp demo --pcap`.
 * Invariants, checked with abort(): every line is one line of the length
 * returned; a frame formatted again gives the same line and connection;
 * the absolute printer writes what ustcp_format_link writes; a connection
 * number goes with a TCP line only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/trace_frames.h"
#include "ustcp/trace.h"
#include "wire/wire.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static const uint8_t v6[2][16] = {{0xfd, [15] = 3}, {0xfd, [15] = 1}};

/* The frame a record describes, in buf (of room for a link header, an IP
 * header and 255 bytes); returns its length. */
static size_t build(uint8_t *buf, uint8_t ctl, const uint8_t *d, size_t n)
{
	enum ustcp_link link = (enum ustcp_link)(ctl & 3);
	uint8_t pkt[IPV6_HLEN + 256];
	int swap = (ctl >> 4) & 1;

	if (ctl & 4) {
		struct ipv4_hdr ip = {.total_len = (uint16_t)(IPV4_HLEN + n),
				      .ttl = 64,
				      .proto = IPPROTO_TCP_,
				      .src = swap ? IP4(10, 0, 0, 1) : IP4(10, 0, 0, 3),
				      .dst = swap ? IP4(10, 0, 0, 3) : IP4(10, 0, 0, 1)};
		size_t h = ipv4_emit(&ip, pkt);
		memcpy(pkt + h, d, n);
		return link_frame(buf, link, ETHERTYPE_IPV4, pkt, h + n);
	}
	if (ctl & 8) {
		struct ipv6_hdr ip = {
			.payload_len = (uint16_t)n, .next_hdr = IPPROTO_TCP_, .hop_limit = 64};
		memcpy(ip.src, v6[swap], 16);
		memcpy(ip.dst, v6[!swap], 16);
		size_t h = ipv6_emit(&ip, pkt);
		memcpy(pkt + h, d, n);
		return link_frame(buf, link, ETHERTYPE_IPV6, pkt, h + n);
	}
	memcpy(buf, d, n);
	return n;
}

static void check_line(const char *line, int n, size_t size)
{
	CHECK(n >= 0);
	CHECK(strlen(line) == ((size_t)n < size ? (size_t)n : size - 1));
	CHECK(!strchr(line, '\n'));
}

static void print_frame(struct ustcp_printer *rel, struct ustcp_printer *abs, uint8_t ctl,
			const uint8_t *frame, size_t len)
{
	enum ustcp_link link = (enum ustcp_link)(ctl & 3);
	char a[1024], b[1024], plain[1024];
	uint64_t ca, cb;
	int n = ustcp_printer_format(rel, a, sizeof(a), link, frame, len, &ca);

	check_line(a, n, sizeof(a));
	CHECK(ustcp_printer_format(rel, b, sizeof(b), link, frame, len, &cb) == n);
	CHECK(!strcmp(a, b) && ca == cb);
	CHECK(!ca || (strstr(a, " > ") && strstr(a, ": Flags [")));
	n = ustcp_printer_format(abs, b, sizeof(b), link, frame, len, &cb);
	check_line(b, n, sizeof(b));
	CHECK(ustcp_format_link(plain, sizeof(plain), link, frame, len) == n);
	CHECK(!strcmp(b, plain));
	CHECK(ca == cb); /* the same connections, whatever the numbers shown */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ustcp_printer *rel = ustcp_printer_new(0);
	struct ustcp_printer *abs = ustcp_printer_new(USTCP_PRINT_ABSOLUTE);
	size_t i = 1;

	CHECK(rel && abs);
	while (i + 2 <= size) {
		uint8_t ctl = data[i], n = data[i + 1];
		uint8_t buf[20 + IPV6_HLEN + 256];
		i += 2;
		if (n > size - i)
			n = (uint8_t)(size - i);
		size_t len = build(buf, ctl, data + i, n);
		i += n;
		/* An exact-size copy, so ASan sees any read past the end. */
		uint8_t *frame = malloc(len ? len : 1);
		CHECK(frame);
		memcpy(frame, buf, len);
		print_frame(rel, abs, ctl, frame, len);
		free(frame);
	}
	ustcp_printer_free(rel);
	ustcp_printer_free(abs);
	return 0;
}
