/* test_pcap.c — the pcap writer: frames and nanosecond timestamps read back
 * with libpcap, the OUT-only trace hook, and failure to open. */
#define _DEFAULT_SOURCE /* mkstemp; pcap.h uses the BSD u_char/u_int types */

#include "../test_main.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "ustcp/trace.h"

struct rec {
	uint64_t now;
	size_t len;
	uint8_t data[1600];
};

static char *temp_path(void)
{
	static const char tmpl[] = "/tmp/ustcp_test_pcap_XXXXXX";
	char *path = malloc(sizeof(tmpl));

	assert_non_null(path);
	memcpy(path, tmpl, sizeof(tmpl));
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return path;
}

/* Reads the file back and checks it holds exactly the n records. */
static void check_file(const char *path, const struct rec *want, int n)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pd = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	struct pcap_pkthdr *h;
	const u_char *data;
	int count = 0;

	assert_non_null(pd);
	assert_int_equal(pcap_datalink(pd), DLT_EN10MB);
	assert_int_equal(pcap_get_tstamp_precision(pd), PCAP_TSTAMP_PRECISION_NANO);
	while (pcap_next_ex(pd, &h, &data) == 1) {
		assert_true(count < n);
		const struct rec *r = &want[count++];
		assert_int_equal(h->ts.tv_sec, r->now / 1000000000u);
		assert_int_equal(h->ts.tv_usec, r->now % 1000000000u);
		assert_int_equal(h->len, r->len);
		assert_int_equal(h->caplen, r->len);
		assert_memory_equal(data, r->data, r->len);
	}
	assert_int_equal(count, n);
	pcap_close(pd);
}

static void write_and_read_back(void **state)
{
	(void)state;
	static struct rec recs[4] = {
		{.now = 0, .len = 60},
		{.now = 1, .len = 1514},
		{.now = 1234567890123ull, .len = 42},
		{.now = 5 * 1000000000ull + 999999999ull, .len = 74},
	};
	char *path = temp_path();

	for (int i = 0; i < 4; i++)
		for (size_t k = 0; k < recs[i].len; k++)
			recs[i].data[k] = (uint8_t)(k * 13 + (size_t)i);
	struct ustcp_pcap *p = ustcp_pcap_open(path);
	assert_non_null(p);
	for (int i = 0; i < 4; i++)
		ustcp_pcap_write(p, recs[i].now, recs[i].data, recs[i].len);
	ustcp_pcap_close(p);
	check_file(path, recs, 4);
	unlink(path);
	free(path);
}

static void empty_capture_is_valid(void **state)
{
	(void)state;
	char *path = temp_path();
	struct ustcp_pcap *p = ustcp_pcap_open(path);

	assert_non_null(p);
	ustcp_pcap_close(p);
	check_file(path, NULL, 0);
	unlink(path);
	free(path);
}

static void trace_hook_writes_only_out(void **state)
{
	(void)state;
	static struct rec recs[2] = {{.now = 1000, .len = 60}, {.now = 3000, .len = 66}};
	uint8_t in_frame[54] = {0xff};
	char *path = temp_path();
	struct ustcp_pcap *p = ustcp_pcap_open(path);

	assert_non_null(p);
	memset(recs[0].data, 0xa5, recs[0].len);
	memset(recs[1].data, 0x5a, recs[1].len);
	struct ustcp_trace_event ev[3] = {
		{.now = 1000, .dir = USTCP_TRACE_OUT, .frame = recs[0].data, .len = recs[0].len},
		{.now = 2000, .dir = USTCP_TRACE_IN, .frame = in_frame, .len = sizeof(in_frame)},
		{.now = 3000,
		 .dir = USTCP_TRACE_OUT,
		 .frame = recs[1].data,
		 .len = recs[1].len,
		 .drop = 1},
	};
	for (int i = 0; i < 3; i++)
		ustcp_pcap_trace_out(p, &ev[i]);
	ustcp_pcap_close(p);
	check_file(path, recs, 2);
	unlink(path);
	free(path);
}

static void open_failure_returns_null(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ustcp_pcap_open("/nonexistent-ustcp-dir/sub/x.pcap"));
	assert_int_not_equal(errno, 0);
	errno = 0;
	assert_null(ustcp_pcap_open(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ustcp_pcap_open(""));
	assert_int_equal(errno, EINVAL);
	ustcp_pcap_close(NULL); /* harmless */
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(write_and_read_back),
	cmocka_unit_test(empty_capture_is_valid),
	cmocka_unit_test(trace_hook_writes_only_out),
	cmocka_unit_test(open_failure_returns_null),
};

USTCP_TEST_MAIN(tests)
