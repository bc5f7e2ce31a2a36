/* test_checksum.c — the Internet checksum against a 16-bit reference, the byte
 * order convention of csum_fold, and RFC 1624 incremental updates. */
#include "../test_main.h"

#include <stdlib.h>
#include <string.h>

#include "../wire_ref.h"
#include "wire/wire.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic so failures reproduce. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static void test_csum_rfc1071_example(void **state)
{
	static const uint8_t ex[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	uint16_t c = csum_fold(csum_add(0, ex, sizeof(ex)));
	uint8_t b[2];

	(void)state;
	/* RFC 1071 §3: one's complement sum ddf2, checksum 220d stored as 22 0d. */
	assert_int_equal(stored((uint16_t)~c), 0xddf2);
	assert_int_equal(stored(c), 0x220d);
	memcpy(b, &c, 2);
	assert_int_equal(b[0], 0x22);
	assert_int_equal(b[1], 0x0d);
	assert_int_equal(inet_checksum(ex, sizeof(ex)), c);
}

static void test_csum_matches_reference(void **state)
{
	uint8_t buf[300 + 16];

	(void)state;
	for (size_t align = 0; align < 8; align++) {
		for (size_t len = 0; len <= 300; len++) {
			fill_random(buf, sizeof(buf));
			assert_int_equal(stored(inet_checksum(buf + align, len)),
					 ref_checksum(buf + align, len));
		}
	}
}

static void test_csum_all_ones(void **state)
{
	uint8_t buf[301];

	(void)state;
	/* Every carry path at once: 0xff bytes overflow the accumulator. */
	memset(buf, 0xff, sizeof(buf));
	for (size_t len = 0; len <= sizeof(buf); len++)
		assert_int_equal(stored(inet_checksum(buf, len)), ref_checksum(buf, len));
}

static void test_csum_split_sums(void **state)
{
	uint8_t buf[301];

	(void)state;
	fill_random(buf, sizeof(buf));
	for (size_t len = 0; len <= 300; len += 7) {
		uint16_t whole = inet_checksum(buf + 1, len);

		for (size_t k = 0; k <= len; k += 2) {
			uint64_t s = csum_add(0, buf + 1, k);

			assert_int_equal(csum_fold(csum_add(s, buf + 1 + k, len - k)), whole);
		}
	}
}

static void test_csum_large_start_sum(void **state)
{
	uint8_t buf[64];
	uint64_t big = 0xffffffffffffffffu;

	(void)state;
	fill_random(buf, sizeof(buf));
	/* 0xffff...ff is one's complement zero: adding it changes nothing. */
	assert_int_equal(csum_fold(csum_add(big, buf, sizeof(buf))),
			 inet_checksum(buf, sizeof(buf)));
}

static void test_csum_inserted_verifies(void **state)
{
	uint8_t buf[256];

	(void)state;
	for (size_t len = 2; len <= sizeof(buf); len++) {
		size_t at = (rnd() % (len / 2)) * 2;
		uint16_t c;

		fill_random(buf, len);
		buf[at] = 0;
		buf[at + 1] = 0;
		c = inet_checksum(buf, len);
		memcpy(buf + at, &c, 2);
		assert_int_equal(inet_checksum(buf, len), 0);
	}
}

static void test_csum_pseudo4(void **state)
{
	static const uint8_t ph[12] = {192, 0, 2, 1, 198, 51, 100, 7, 0, 6, 0x05, 0xdc};

	(void)state;
	assert_int_equal(csum_fold(csum_pseudo4(0xc0000201, 0xc6336407, 6, 1500)),
			 inet_checksum(ph, sizeof(ph)));
}

static void test_csum_pseudo6(void **state)
{
	uint8_t ph[40] = {0};
	uint8_t src[16], dst[16];

	(void)state;
	fill_random(src, 16);
	fill_random(dst, 16);
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	wr32(ph + 32, 0x00012345);
	ph[39] = 58;
	assert_int_equal(csum_fold(csum_pseudo6(src, dst, 58, 0x00012345)),
			 inet_checksum(ph, sizeof(ph)));
}

static void random_ipv4(uint8_t *buf)
{
	struct ipv4_hdr h = {
		.tos = (uint8_t)rnd(),
		.total_len = (uint16_t)rnd(),
		.id = (uint16_t)rnd(),
		.frag = (uint16_t)rnd(),
		.ttl = (uint8_t)rnd(),
		.proto = (uint8_t)rnd(),
		.src = rnd(),
		.dst = rnd(),
	};

	ipv4_emit(&h, buf);
}

static void test_csum_update16(void **state)
{
	uint8_t buf[IPV4_HLEN];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t w = rnd() % 10;
		uint16_t csum, old, neu, full;

		if (w == 5) /* the checksum field itself */
			continue;
		random_ipv4(buf);
		memcpy(&csum, buf + 10, 2);
		memcpy(&old, buf + 2 * w, 2);
		/* Corner values too: all-ones and zero words. */
		neu = (i % 5 == 0) ? 0xffff : (i % 7 == 0) ? 0 : (uint16_t)rnd();
		memcpy(buf + 2 * w, &neu, 2);
		buf[10] = 0;
		buf[11] = 0;
		full = inet_checksum(buf, IPV4_HLEN);
		assert_int_equal(csum_update16(csum, old, neu), full);
		/* rd16 values throughout give the rd16 of the answer. */
		memcpy(buf + 10, &csum, 2);
		assert_int_equal(csum_update16(rd16(buf + 10), stored(old), stored(neu)),
				 stored(full));
	}
}

static void test_csum_update32(void **state)
{
	uint8_t buf[IPV4_HLEN];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t off = (rnd() & 1) ? 12 : 16; /* source or destination address */
		uint16_t csum, full;
		uint32_t old, neu;

		random_ipv4(buf);
		memcpy(&csum, buf + 10, 2);
		memcpy(&old, buf + off, 4);
		neu = (i % 5 == 0) ? 0xffffffffu : rnd();
		memcpy(buf + off, &neu, 4);
		buf[10] = 0;
		buf[11] = 0;
		full = inet_checksum(buf, IPV4_HLEN);
		assert_int_equal(csum_update32(csum, old, neu), full);
		/* The updated header verifies. */
		memcpy(buf + 10, &full, 2);
		assert_int_equal(inet_checksum(buf, IPV4_HLEN), 0);
	}
}

static void test_csum_update_ttl_decrement(void **state)
{
	/* The classic router case (RFC 1624 §4): TTL 64 -> 63 in the TTL/proto word. */
	static const uint8_t hdr[IPV4_HLEN] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
					       0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
					       0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	uint8_t buf[IPV4_HLEN];
	uint16_t csum, old, neu;

	(void)state;
	memcpy(buf, hdr, sizeof(buf));
	assert_int_equal(inet_checksum(buf, IPV4_HLEN), 0);
	memcpy(&csum, buf + 10, 2);
	memcpy(&old, buf + 8, 2);
	buf[8]--;
	memcpy(&neu, buf + 8, 2);
	csum = csum_update16(csum, old, neu);
	memcpy(buf + 10, &csum, 2);
	assert_int_equal(rd16(buf + 10), 0xb961);
	assert_int_equal(inet_checksum(buf, IPV4_HLEN), 0);
}

/* A random TCP segment of len bytes (len >= 20) with its checksum field zeroed. */
static uint8_t *random_segment(size_t len)
{
	uint8_t *seg = malloc(len);

	assert_non_null(seg);
	fill_random(seg, len);
	seg[16] = 0;
	seg[17] = 0;
	return seg;
}

static void test_csum_partial4_completes(void **state)
{
	(void)state;
	for (size_t len = 20; len <= 1600; len += 53) {
		uint8_t *seg = random_segment(len);
		uint32_t src = rnd(), dst = rnd();
		uint8_t full[2];

		tcp_checksum_set4(seg, len, src, dst);
		memcpy(full, seg + 16, 2);
		tcp_checksum_partial4(seg, len, src, dst);
		/* What a driver does: the sum from the TCP header on, field included. */
		uint16_t c = inet_checksum(seg, len);
		memcpy(seg + 16, &c, 2);
		assert_true(tcp_checksum_ok4(seg, len, src, dst));
		assert_memory_equal(seg + 16, full, 2);
		free(seg);
	}
}

static void test_csum_partial6_completes(void **state)
{
	uint8_t src[16], dst[16];

	(void)state;
	/* Past 64 KiB too: RFC 8200 §8.1 gives the length 32 bits. */
	static const size_t lens[] = {20, 21, 32, 1440 + 32, 9001, 65535, 65536, 70001};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];
		uint8_t *seg = random_segment(len);
		uint8_t ph[40] = {0}, full[2];

		fill_random(src, 16);
		fill_random(dst, 16);
		tcp_checksum_set6(seg, len, src, dst);
		memcpy(full, seg + 16, 2);
		tcp_checksum_partial6(seg, len, src, dst);
		/* The field holds the folded pseudo-header sum, not complemented. */
		memcpy(ph, src, 16);
		memcpy(ph + 16, dst, 16);
		wr32(ph + 32, (uint32_t)len);
		ph[39] = IPPROTO_TCP_;
		assert_int_equal(rd16(seg + 16), (uint16_t)~ref_checksum(ph, sizeof(ph)));
		assert_false(tcp_checksum_ok6(seg, len, src, dst));
		uint16_t c = inet_checksum(seg, len);
		memcpy(seg + 16, &c, 2);
		assert_true(tcp_checksum_ok6(seg, len, src, dst));
		assert_memory_equal(seg + 16, full, 2);
		free(seg);
	}
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_csum_rfc1071_example),
	cmocka_unit_test(test_csum_matches_reference),
	cmocka_unit_test(test_csum_all_ones),
	cmocka_unit_test(test_csum_split_sums),
	cmocka_unit_test(test_csum_large_start_sum),
	cmocka_unit_test(test_csum_inserted_verifies),
	cmocka_unit_test(test_csum_pseudo4),
	cmocka_unit_test(test_csum_pseudo6),
	cmocka_unit_test(test_csum_update16),
	cmocka_unit_test(test_csum_update32),
	cmocka_unit_test(test_csum_update_ttl_decrement),
	cmocka_unit_test(test_csum_partial4_completes),
	cmocka_unit_test(test_csum_partial6_completes),
};

USTCP_TEST_MAIN(tests)
