/* iperf3.h — what iperf3's control protocol says, for a TCP test, as the
 * kernel's iperf3 (3.x) speaks it: the cookie, the state bytes, and the
 * JSON of the parameters and the results. No I/O here: perf_iperf.c moves
 * the bytes.
 *
 * On the control connection every message is either one state byte (a
 * signed char) or a JSON text after its length (4 bytes, big-endian, no
 * terminating NUL). A data connection says only its test's cookie, then
 * carries data one way. */
#ifndef USTCP_IPERF3_H
#define USTCP_IPERF3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 36 characters of [a-z2-7] and a NUL, sent as they are. */
#define IPERF_COOKIE_SIZE 37
/* iperf3's MAX_STREAMS. */
#define IPERF_MAX_STREAMS 128
/* The longest JSON text accepted: a result of IPERF_MAX_STREAMS streams is
 * under 32 KiB. */
#define IPERF_MAX_JSON (1u << 20)

enum iperf_state {
	IPERF_TEST_START = 1,
	IPERF_TEST_RUNNING = 2,
	IPERF_TEST_END = 4,
	IPERF_PARAM_EXCHANGE = 9,
	IPERF_CREATE_STREAMS = 10,
	IPERF_SERVER_TERMINATE = 11,
	IPERF_CLIENT_TERMINATE = 12,
	IPERF_EXCHANGE_RESULTS = 13,
	IPERF_DISPLAY_RESULTS = 14,
	IPERF_START = 15,
	IPERF_DONE = 16,
	IPERF_ACCESS_DENIED = -1,
	IPERF_SERVER_ERROR = -2, /* then two 4-byte big-endian numbers: iperf3's error, errno */
};
/* "PARAM_EXCHANGE" and the like; "?" for a byte that is none of them. */
const char *iperf_state_name(int state);

/* iperf3's error number that a SERVER_ERROR carries for a request this
 * server does not carry out ("not implemented yet" in every 3.x). */
#define IPERF_ERR_UNIMP 13

/* A test's parameters: what the client asks for. */
struct iperf_params {
	bool tcp, udp, sctp, bidirectional, reverse, nodelay;
	uint32_t omit, time; /* seconds; time 0: the test ends by num or blockcount */
	uint64_t num;        /* bytes to send, 0: by time */
	uint64_t blockcount; /* blocks to send, 0: by time */
	uint32_t parallel;   /* streams */
	uint32_t len;        /* bytes per write */
	uint32_t window;     /* socket buffers, 0: the default */
	uint32_t mss;        /* 0: the default */
	uint64_t bandwidth;  /* bits per second, 0: unlimited */
	char congestion[16]; /* "" when not asked */
};

/* What one end counted on one stream. */
struct iperf_stream_result {
	int id;                      /* the stream's number: iperf_stream_id() */
	uint64_t bytes;              /* sent (by the sender) or received */
	int64_t retransmits;         /* -1: not known (this end received) */
	double start_time, end_time; /* seconds from the start of the test */
};

struct iperf_results {
	double cpu_total, cpu_user, cpu_system; /* percent of one core */
	int sender_has_retransmits;             /* 1, 0, or -1 (this end received) */
	char congestion[16];                    /* "" when not said */
	int nstreams;
	struct iperf_stream_result streams[IPERF_MAX_STREAMS];
};

/* A fresh cookie for a test. */
void iperf_make_cookie(char cookie[IPERF_COOKIE_SIZE]);
/* The number iperf3 gives the stream it opens (or accepts) index-th, from
 * 0: 1, 3, 4, 5, ... Both ends number them so, and match results by it. */
int iperf_stream_id(int index);

/* JSON texts, unformatted, malloc'd (free() them); NULL when out of memory. */
char *iperf_params_json(const struct iperf_params *p);
char *iperf_results_json(const struct iperf_results *r);
/* Parse a peer's JSON text of len bytes: 0, or -EINVAL with *why saying
 * what is wrong. */
int iperf_params_parse(const char *text, size_t len, struct iperf_params *p, const char **why);
int iperf_results_parse(const char *text, size_t len, struct iperf_results *r, const char **why);

/* What of a parameter set this server does not do (UDP, SCTP, both ways
 * at once, a rate limit on what it sends, sizes out of range), or NULL. */
const char *iperf_params_unsupported(const struct iperf_params *p);

#endif
