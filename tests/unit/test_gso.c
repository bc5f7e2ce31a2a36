/* test_gso.c — software segmentation (TSO done by the link) and partial
 * checksum completion, for TCP over IPv4 and over IPv6, and what they do
 * with frames they cannot cut. */
#include "../test_main.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "wire/gso.h"
#include "wire/wire.h"

#define PAYLOAD 10000
#define MSS 1440
#define TCP_LEN 32       /* 20 bytes and NOP, NOP, timestamps: what the stack sends */
#define SEQ0 0xfffff000u /* the pieces' sequence numbers wrap past 2^32 */
#define MAX_PIECES 16
#define FRAME_CAP (ETH_HLEN + 60 + TCP_LEN + PAYLOAD)
#define SCRATCH_CAP (ETH_HLEN + 60 + TCP_LEN + MSS)

static const uint8_t SRC6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DST6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint32_t SRC4 = 0x0a000001, DST4 = 0x0a000002; /* 10.0.0.1, 10.0.0.2 */
static const uint16_t ID0 = 0xfffe;                         /* IDs wrap too */

struct frame {
	uint8_t buf[FRAME_CAP];
	size_t len;
	size_t tcp; /* offset of the TCP header */
	struct ustcp_tx_meta meta;
};

/* What the emit callback saw. */
struct pieces {
	int n;
	int fail_at; /* emit fails for this piece (-1: never) */
	size_t len[MAX_PIECES];
	uint8_t buf[MAX_PIECES][SCRATCH_CAP];
};

static int collect(void *ctx, const uint8_t *frame, size_t len)
{
	struct pieces *p = ctx;

	if (p->n == p->fail_at || p->n == MAX_PIECES || len > SCRATCH_CAP)
		return -1;
	memcpy(p->buf[p->n], frame, len);
	p->len[p->n++] = len;
	return 0;
}

static struct pieces *pieces_new(void)
{
	struct pieces *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->fail_at = -1;
	return p;
}

static uint8_t payload_byte(size_t i) { return (uint8_t)(i * 7 + (i >> 8) * 13 + 1); }

/* TCP header with timestamps, then the payload, with a partial checksum
 * over the pseudo-header as the stack leaves it for the driver. */
static void put_tcp(struct frame *f, size_t payload, uint8_t flags)
{
	uint8_t *th = f->buf + f->tcp;

	memset(th, 0, TCP_LEN);
	wr16(th, 40000);
	wr16(th + 2, 5001);
	wr32(th + 4, SEQ0);
	wr32(th + 8, 0x01020304);
	th[12] = (TCP_LEN / 4) << 4;
	th[13] = flags;
	wr16(th + 14, 0xfff0);
	th[20] = TCPOPT_NOP;
	th[21] = TCPOPT_NOP;
	th[22] = TCPOPT_TIMESTAMP;
	th[23] = 10;
	wr32(th + 24, 0xa1b2c3d4);
	wr32(th + 28, 0x0badcafe);
	for (size_t i = 0; i < payload; i++)
		th[TCP_LEN + i] = payload_byte(i);
	f->len = f->tcp + TCP_LEN + payload;
	f->meta = (struct ustcp_tx_meta){
		.gso_size = MSS,
		.hdr_len = (uint16_t)(f->tcp + TCP_LEN),
		.csum_partial = 1,
		.csum_start = (uint16_t)f->tcp,
		.csum_offset = 16,
	};
}

static void put_eth(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

	memcpy(f->buf, macs, sizeof(macs));
	wr16(f->buf + 12, type);
}

static void build6(struct frame *f, size_t payload, uint8_t flags)
{
	uint8_t *ip = f->buf + ETH_HLEN;

	put_eth(f, ETHERTYPE_IPV6);
	memset(ip, 0, IPV6_HLEN);
	ip[0] = 0x60;
	ip[6] = IPPROTO_TCP_;
	ip[7] = 64;
	memcpy(ip + 8, SRC6, 16);
	memcpy(ip + 24, DST6, 16);
	f->tcp = ETH_HLEN + IPV6_HLEN;
	put_tcp(f, payload, flags);
	wr16(ip + 4, (uint16_t)(TCP_LEN + payload));
	tcp_checksum_partial6(f->buf + f->tcp, TCP_LEN + payload, SRC6, DST6);
}

/* ihl 20, or more with NOP options (RFC 791) to move the TCP header. */
static void build4(struct frame *f, size_t ihl, size_t payload, uint8_t flags)
{
	uint8_t *ip = f->buf + ETH_HLEN;

	put_eth(f, ETHERTYPE_IPV4);
	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	wr16(ip + 4, ID0);
	wr16(ip + 6, IPV4_DF);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP_;
	wr32(ip + 12, SRC4);
	wr32(ip + 16, DST4);
	memset(ip + IPV4_HLEN, TCPOPT_NOP, ihl - IPV4_HLEN); /* IP NOP is 1 as well */
	f->tcp = ETH_HLEN + ihl;
	put_tcp(f, payload, flags);
	wr16(ip + 2, (uint16_t)(ihl + TCP_LEN + payload));
	uint16_t c = inet_checksum(ip, ihl);
	memcpy(ip + 10, &c, 2);
	tcp_checksum_partial4(f->buf + f->tcp, TCP_LEN + payload, SRC4, DST4);
}

static int segment(const struct frame *f, struct pieces *p)
{
	static uint8_t scratch[SCRATCH_CAP];

	return gso_segment(f->buf, f->len, &f->meta, scratch, sizeof(scratch), collect, p);
}

/* Every piece against the frame it was cut from: headers equal but for the
 * fields each piece owns, the payload in order, every checksum good. */
static void check_pieces(const struct frame *f, const struct pieces *p, int n, bool v6)
{
	const uint8_t *orig_ip = f->buf + ETH_HLEN, *orig_th = f->buf + f->tcp;
	size_t ihl = f->tcp - ETH_HLEN, hl = f->meta.hdr_len, total = f->len - hl;
	uint8_t flags = orig_th[13];
	size_t off = 0;

	assert_int_equal(n, (int)((total + MSS - 1) / MSS));
	assert_int_equal(p->n, n);
	for (int i = 0; i < n; i++) {
		const uint8_t *fr = p->buf[i], *ip = fr + ETH_HLEN, *th = fr + f->tcp;
		size_t chunk = i < n - 1 ? MSS : total - off;
		bool first = i == 0, last = i == n - 1;

		assert_int_equal(p->len[i], hl + chunk);
		assert_memory_equal(fr, f->buf, ETH_HLEN);
		if (v6) {
			assert_int_equal(rd16(ip + 4), TCP_LEN + chunk);
			assert_memory_equal(ip, orig_ip, 4);
			assert_memory_equal(ip + 6, orig_ip + 6, IPV6_HLEN - 6);
			assert_true(tcp_checksum_ok6(th, TCP_LEN + chunk, SRC6, DST6));
		} else {
			assert_int_equal(rd16(ip + 2), ihl + TCP_LEN + chunk);
			assert_int_equal(rd16(ip + 4), (uint16_t)(ID0 + i));
			assert_int_equal(inet_checksum(ip, ihl), 0);
			assert_memory_equal(ip, orig_ip, 2);
			assert_memory_equal(ip + 6, orig_ip + 6, 4);
			assert_memory_equal(ip + 12, orig_ip + 12, ihl - 12);
			assert_true(tcp_checksum_ok4(th, TCP_LEN + chunk, SRC4, DST4));
		}
		assert_int_equal(rd32(th + 4), (uint32_t)(SEQ0 + off));
		/* Ports, ACK, offset, window, urgent pointer and options repeat. */
		assert_memory_equal(th, orig_th, 4);
		assert_memory_equal(th + 8, orig_th + 8, 5);
		assert_memory_equal(th + 14, orig_th + 14, 2);
		assert_memory_equal(th + 18, orig_th + 18, TCP_LEN - 18);
		uint8_t want = flags;
		if (!last)
			want &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (!first)
			want &= (uint8_t)~TCP_CWR;
		assert_int_equal(th[13], want);
		assert_true(th[13] & TCP_ACK);
		assert_int_equal(!!(th[13] & TCP_FIN), last && (flags & TCP_FIN));
		assert_int_equal(!!(th[13] & TCP_PSH), last && (flags & TCP_PSH));
		assert_int_equal(!!(th[13] & TCP_CWR), first && (flags & TCP_CWR));
		for (size_t k = 0; k < chunk; k++)
			if (fr[hl + k] != payload_byte(off + k))
				fail_msg("piece %d byte %zu: %u, want %u", i, k, fr[hl + k],
					 payload_byte(off + k));
		off += chunk;
	}
	assert_int_equal(off, total);
}

static const uint8_t ALL_FLAGS = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR;

static void test_gso_ipv6_pieces(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	struct pieces *p = pieces_new();

	(void)state;
	build6(f, PAYLOAD, ALL_FLAGS);
	assert_int_equal(f->meta.hdr_len, 14 + 40 + TCP_LEN);
	assert_int_equal(f->meta.csum_start, 54);
	/* 6 x 1440 + 1360 */
	int n = segment(f, p);
	assert_int_equal(n, 7);
	check_pieces(f, p, n, true);
	assert_int_equal(p->len[6], 14 + 40 + TCP_LEN + 1360);
	free(p);
	free(f);
}

static void test_gso_ipv4_pieces(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	struct pieces *p = pieces_new();

	(void)state;
	build4(f, IPV4_HLEN, PAYLOAD, ALL_FLAGS);
	int n = segment(f, p);
	assert_int_equal(n, 7);
	check_pieces(f, p, n, false);
	free(p);
	free(f);
}

static void test_gso_ipv4_options(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	struct pieces *p = pieces_new();

	(void)state;
	/* The TCP header moves with the IHL, and the options are repeated. */
	build4(f, 28, PAYLOAD, ALL_FLAGS);
	int n = segment(f, p);
	assert_int_equal(n, 7);
	check_pieces(f, p, n, false);
	free(p);
	free(f);
}

/* A payload of an exact multiple of gso_size leaves no short piece, and
 * one that fits in a piece keeps all its flags. */
static void test_gso_piece_boundaries(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	struct pieces *p = pieces_new();

	(void)state;
	build6(f, 5 * MSS, ALL_FLAGS);
	assert_int_equal(segment(f, p), 5);
	check_pieces(f, p, 5, true);
	memset(p, 0, sizeof(*p));
	p->fail_at = -1;
	build4(f, IPV4_HLEN, MSS, ALL_FLAGS);
	assert_int_equal(segment(f, p), 1);
	check_pieces(f, p, 1, false);
	assert_int_equal(p->buf[0][f->tcp + 13], ALL_FLAGS);
	memset(p, 0, sizeof(*p));
	p->fail_at = -1;
	build6(f, MSS + 1, TCP_ACK | TCP_PSH);
	assert_int_equal(segment(f, p), 2);
	check_pieces(f, p, 2, true);
	assert_int_equal(p->len[1], f->meta.hdr_len + 1);
	free(p);
	free(f);
}

static void test_gso_emit_failure(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	struct pieces *p = pieces_new();

	(void)state;
	build6(f, PAYLOAD, TCP_ACK);
	p->fail_at = 2;
	assert_int_equal(segment(f, p), -1);
	assert_int_equal(p->n, 2); /* nothing after the piece that failed */
	free(p);
	free(f);
}

static void test_gso_finish_csum_v6(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	uint8_t *th;
	size_t seglen = TCP_LEN + PAYLOAD;

	(void)state;
	build6(f, PAYLOAD, TCP_ACK | TCP_PSH);
	th = f->buf + f->tcp;
	assert_false(tcp_checksum_ok6(th, seglen, SRC6, DST6));
	f->meta.gso_size = 0;
	assert_int_equal(gso_finish_csum(f->buf, f->len, &f->meta), 0);
	assert_true(tcp_checksum_ok6(th, seglen, SRC6, DST6));
	/* The same field a full computation gives. */
	uint8_t c[2];
	memcpy(c, th + 16, 2);
	tcp_checksum_set6(th, seglen, SRC6, DST6);
	assert_memory_equal(c, th + 16, 2);
	/* A wrong pseudo-header (another destination) is not accepted. */
	assert_false(tcp_checksum_ok6(th, seglen, SRC6, SRC6));
	free(f);
}

static void test_gso_finish_csum_v4(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	size_t seglen = TCP_LEN + 999;

	(void)state;
	build4(f, IPV4_HLEN, 999, TCP_ACK); /* odd length: the last byte is padded */
	assert_false(tcp_checksum_ok4(f->buf + f->tcp, seglen, SRC4, DST4));
	assert_int_equal(gso_finish_csum(f->buf, f->len, &f->meta), 0);
	assert_true(tcp_checksum_ok4(f->buf + f->tcp, seglen, SRC4, DST4));
	free(f);
}

static void test_gso_finish_csum_bad_offsets(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	uint8_t *before = malloc(FRAME_CAP);

	(void)state;
	assert_non_null(before);
	build6(f, 100, TCP_ACK);
	memcpy(before, f->buf, f->len);
	struct ustcp_tx_meta m = f->meta;
	/* The field would lie past the end: refused, the frame untouched. */
	m.csum_start = (uint16_t)(f->len - 1);
	m.csum_offset = 0;
	assert_int_equal(gso_finish_csum(f->buf, f->len, &m), -1);
	m.csum_start = (uint16_t)f->tcp;
	m.csum_offset = (uint16_t)(f->len - f->tcp - 1);
	assert_int_equal(gso_finish_csum(f->buf, f->len, &m), -1);
	m.csum_start = 0xffff;
	m.csum_offset = 0xffff;
	assert_int_equal(gso_finish_csum(f->buf, f->len, &m), -1);
	assert_int_equal(gso_finish_csum(f->buf, 0, &f->meta), -1);
	assert_memory_equal(before, f->buf, f->len);
	/* Nothing to finish. */
	m.csum_partial = 0;
	assert_int_equal(gso_finish_csum(f->buf, f->len, &m), 0);
	assert_memory_equal(before, f->buf, f->len);
	free(before);
	free(f);
}

/* gso_segment refuses f with meta m: -1 and nothing emitted. */
static void assert_refused(const struct frame *f, size_t len, const struct ustcp_tx_meta *m)
{
	static uint8_t scratch[SCRATCH_CAP];
	struct pieces *p = pieces_new();

	assert_int_equal(gso_segment(f->buf, len, m, scratch, sizeof(scratch), collect, p), -1);
	assert_int_equal(p->n, 0);
	free(p);
}

static void test_gso_rejects_truncated(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));

	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		if (v6)
			build6(f, PAYLOAD, TCP_ACK);
		else
			build4(f, IPV4_HLEN, PAYLOAD, TCP_ACK);
		/* Every length short of the one the IP header states. */
		for (size_t len = 0; len < f->len; len += len < 200 ? 1 : 97)
			assert_refused(f, len, &f->meta);
		assert_refused(f, f->len - 1, &f->meta);
		/* Bytes past the IP length (not ours to cut) too. */
		assert_refused(f, f->len + 1, &f->meta);
	}
	free(f);
}

static void test_gso_rejects_bad_hdr_len(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));
	struct ustcp_tx_meta m;

	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		if (v6)
			build6(f, PAYLOAD, TCP_ACK);
		else
			build4(f, 24, PAYLOAD, TCP_ACK);
		const size_t sizes[] = {0,
					1,
					ETH_HLEN - 1,
					ETH_HLEN,
					ETH_HLEN + 19,
					ETH_HLEN + 20,
					f->tcp,
					f->tcp + TCP_HLEN,
					f->tcp + TCP_LEN - 4,
					f->tcp + TCP_LEN + 4,
					f->tcp + TCP_LEN + MSS,
					f->len + 1,
					0xffff};
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			m = f->meta;
			m.hdr_len = (uint16_t)sizes[i];
			assert_refused(f, f->len, &m);
		}
		/* No gso_size, or no room to build a piece in. */
		m = f->meta;
		m.gso_size = 0;
		assert_refused(f, f->len, &m);
		m = f->meta;
		m.gso_size = SCRATCH_CAP;
		assert_refused(f, f->len, &m);
		/* A TCP data offset below 5 does not match any hdr_len. */
		m = f->meta;
		f->buf[f->tcp + 12] = 4 << 4;
		m.hdr_len = (uint16_t)(f->tcp + 16);
		assert_refused(f, f->len, &m);
	}
	free(f);
}

static void test_gso_rejects_wrong_version(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));

	(void)state;
	/* IPv6 EtherType over an IPv4 header and the other way round. */
	build4(f, IPV4_HLEN, PAYLOAD, TCP_ACK);
	wr16(f->buf + 12, ETHERTYPE_IPV6);
	assert_refused(f, f->len, &f->meta);
	build6(f, PAYLOAD, TCP_ACK);
	wr16(f->buf + 12, ETHERTYPE_IPV4);
	assert_refused(f, f->len, &f->meta);
	/* A version nibble that is neither. */
	build6(f, PAYLOAD, TCP_ACK);
	f->buf[ETH_HLEN] = 0x50;
	assert_refused(f, f->len, &f->meta);
	build4(f, IPV4_HLEN, PAYLOAD, TCP_ACK);
	f->buf[ETH_HLEN] = 0x65;
	assert_refused(f, f->len, &f->meta);
	/* Not IP at all. */
	build6(f, PAYLOAD, TCP_ACK);
	wr16(f->buf + 12, ETHERTYPE_ARP);
	assert_refused(f, f->len, &f->meta);
	free(f);
}

static void test_gso_rejects_not_tcp(void **state)
{
	struct frame *f = calloc(1, sizeof(*f));

	(void)state;
	/* An extension header (Hop-by-Hop) before TCP, or another protocol. */
	build6(f, PAYLOAD, TCP_ACK);
	f->buf[ETH_HLEN + 6] = 0;
	assert_refused(f, f->len, &f->meta);
	build6(f, PAYLOAD, TCP_ACK);
	f->buf[ETH_HLEN + 6] = 17;
	assert_refused(f, f->len, &f->meta);
	build4(f, IPV4_HLEN, PAYLOAD, TCP_ACK);
	f->buf[ETH_HLEN + 9] = 17;
	assert_refused(f, f->len, &f->meta);
	/* An IPv4 fragment, or an IHL below 5. */
	build4(f, IPV4_HLEN, PAYLOAD, TCP_ACK);
	wr16(f->buf + ETH_HLEN + 6, IPV4_MF);
	assert_refused(f, f->len, &f->meta);
	build4(f, IPV4_HLEN, PAYLOAD, TCP_ACK);
	wr16(f->buf + ETH_HLEN + 6, 185);
	assert_refused(f, f->len, &f->meta);
	build4(f, IPV4_HLEN, PAYLOAD, TCP_ACK);
	f->buf[ETH_HLEN] = 0x44;
	assert_refused(f, f->len, &f->meta);
	free(f);
}

/* Random bytes under random metadata: no crash and no read past the frame
 * (each lives in a buffer of exactly its length, so a sanitizer build
 * catches an overrun); gso_finish_csum refuses exactly the offsets that do
 * not fit. */
static void test_gso_garbage(void **state)
{
	uint64_t x = 0x243f6a8885a308d3u;
	uint8_t scratch[SCRATCH_CAP];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t len = (size_t)(x % 300);
		uint8_t *buf = malloc(len ? len : 1);
		assert_non_null(buf);
		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)(x >> (k % 56) ^ k);
		if (len > 14 && (i & 1))
			wr16(buf + 12, (i & 2) ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
		struct ustcp_tx_meta m = {
			.gso_size = (uint16_t)(1 + (x >> 8) % 200),
			.hdr_len = (uint16_t)((x >> 16) % 320),
			.csum_partial = 1,
			.csum_start = (uint16_t)((x >> 24) % 320),
			.csum_offset = (uint16_t)((x >> 32) % 40),
		};
		struct pieces *p = pieces_new();
		int n = gso_segment(buf, len, &m, scratch, sizeof(scratch), collect, p);
		assert_true(n == -1 || (n >= 1 && n == p->n));
		int rc = gso_finish_csum(buf, len, &m);
		assert_true(rc == 0 || rc == -1);
		assert_int_equal(rc, (size_t)m.csum_start + m.csum_offset + 2 <= len ? 0 : -1);
		free(p);
		free(buf);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_gso_ipv6_pieces),
	cmocka_unit_test(test_gso_ipv4_pieces),
	cmocka_unit_test(test_gso_ipv4_options),
	cmocka_unit_test(test_gso_piece_boundaries),
	cmocka_unit_test(test_gso_emit_failure),
	cmocka_unit_test(test_gso_finish_csum_v6),
	cmocka_unit_test(test_gso_finish_csum_v4),
	cmocka_unit_test(test_gso_finish_csum_bad_offsets),
	cmocka_unit_test(test_gso_rejects_truncated),
	cmocka_unit_test(test_gso_rejects_bad_hdr_len),
	cmocka_unit_test(test_gso_rejects_wrong_version),
	cmocka_unit_test(test_gso_rejects_not_tcp),
	cmocka_unit_test(test_gso_garbage),
};

USTCP_TEST_MAIN(tests)
