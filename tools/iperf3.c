/* iperf3.c — iperf3's cookie, state names and JSON messages (iperf3.h),
 * read and written with cJSON, the library iperf3 itself uses. */
#define _GNU_SOURCE

#include "iperf3.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sys/random.h>

#define MAX_TIME 86400 /* iperf3's limits: a day, ten minutes of omitting, 1 MiB blocks */
#define MAX_OMIT 600
#define MAX_LEN (1024 * 1024)
#define MIN_MSS 88 /* USTCP_TCP_MAXSEG's range */
#define MAX_MSS 65495

const char *iperf_state_name(int state)
{
	switch (state) {
	case IPERF_TEST_START:
		return "TEST_START";
	case IPERF_TEST_RUNNING:
		return "TEST_RUNNING";
	case IPERF_TEST_END:
		return "TEST_END";
	case IPERF_PARAM_EXCHANGE:
		return "PARAM_EXCHANGE";
	case IPERF_CREATE_STREAMS:
		return "CREATE_STREAMS";
	case IPERF_SERVER_TERMINATE:
		return "SERVER_TERMINATE";
	case IPERF_CLIENT_TERMINATE:
		return "CLIENT_TERMINATE";
	case IPERF_EXCHANGE_RESULTS:
		return "EXCHANGE_RESULTS";
	case IPERF_DISPLAY_RESULTS:
		return "DISPLAY_RESULTS";
	case IPERF_START:
		return "IPERF_START";
	case IPERF_DONE:
		return "IPERF_DONE";
	case IPERF_ACCESS_DENIED:
		return "ACCESS_DENIED";
	case IPERF_SERVER_ERROR:
		return "SERVER_ERROR";
	default:
		return "?";
	}
}

void iperf_make_cookie(char cookie[IPERF_COOKIE_SIZE])
{
	/* iperf3's alphabet: 32 letters, so a random byte picks one evenly. */
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t r[IPERF_COOKIE_SIZE - 1];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* Only a test's tag against stray connections, not a secret. */
		uint64_t x = (uint64_t)getpid() ^ (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
		for (size_t i = 0; i < sizeof(r); i++, x = x * 6364136223846793005ull + 1)
			r[i] = (uint8_t)(x >> 56);
	}
	for (size_t i = 0; i < sizeof(r); i++)
		cookie[i] = alphabet[r[i] % 32];
	cookie[IPERF_COOKIE_SIZE - 1] = '\0';
}

int iperf_stream_id(int index) { return index == 0 ? 1 : index + 2; }

/* ---- writing ---- */

static char *print_and_free(cJSON *j)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	return text;
}

/* cJSON's numbers are doubles: exact up to 2^53 bytes, 8 PiB. */
static void add_num(cJSON *j, const char *key, double v) { cJSON_AddNumberToObject(j, key, v); }

char *iperf_params_json(const struct iperf_params *p)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddTrueToObject(j, "tcp");
	add_num(j, "omit", p->omit);
	add_num(j, "time", p->time);
	add_num(j, "num", (double)p->num);
	add_num(j, "blockcount", (double)p->blockcount);
	add_num(j, "parallel", p->parallel);
	if (p->reverse)
		cJSON_AddTrueToObject(j, "reverse");
	if (p->nodelay)
		cJSON_AddTrueToObject(j, "nodelay");
	if (p->window)
		add_num(j, "window", p->window);
	if (p->mss)
		add_num(j, "MSS", p->mss);
	add_num(j, "len", p->len);
	if (p->congestion[0])
		cJSON_AddStringToObject(j, "congestion", p->congestion);
	cJSON_AddStringToObject(j, "client_version", "ustcp");
	return print_and_free(j);
}

char *iperf_results_json(const struct iperf_results *r)
{
	cJSON *j = cJSON_CreateObject(), *streams = cJSON_CreateArray();
	if (!j || !streams) {
		cJSON_Delete(j);
		cJSON_Delete(streams);
		return NULL;
	}
	add_num(j, "cpu_util_total", r->cpu_total);
	add_num(j, "cpu_util_user", r->cpu_user);
	add_num(j, "cpu_util_system", r->cpu_system);
	add_num(j, "sender_has_retransmits", r->sender_has_retransmits);
	if (r->congestion[0])
		cJSON_AddStringToObject(j, "congestion_used", r->congestion);
	cJSON_AddItemToObject(j, "streams", streams);
	for (int i = 0; i < r->nstreams; i++) {
		const struct iperf_stream_result *s = &r->streams[i];
		cJSON *o = cJSON_CreateObject();
		if (!o) {
			cJSON_Delete(j);
			return NULL;
		}
		cJSON_AddItemToArray(streams, o);
		add_num(o, "id", s->id);
		add_num(o, "bytes", (double)s->bytes);
		add_num(o, "retransmits", (double)s->retransmits);
		/* UDP's figures: iperf3 requires them of every stream. */
		add_num(o, "jitter", 0);
		add_num(o, "errors", 0);
		add_num(o, "packets", 0);
		add_num(o, "start_time", s->start_time);
		add_num(o, "end_time", s->end_time);
	}
	return print_and_free(j);
}

/* ---- reading ---- */

static const cJSON *item(const cJSON *j, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(j, key);
}

/* A whole number from 0 to max, or false. */
static bool get_uint(const cJSON *j, const char *key, uint64_t max, uint64_t *out)
{
	const cJSON *v = item(j, key);
	if (!v)
		return true; /* absent: the default stands */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > (double)max ||
	    v->valuedouble != floor(v->valuedouble))
		return false;
	*out = (uint64_t)v->valuedouble;
	return true;
}

static bool get_u32(const cJSON *j, const char *key, uint32_t *out)
{
	uint64_t v = *out;
	if (!get_uint(j, key, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* A count that may be "none": iperf3 writes -1, and 3.12 writes it as
 * 2^64 - 1 (an unsigned conversion), so anything beyond 2^63 is -1 too. */
static int64_t count_or_none(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble >= 9.2e18)
		return -1;
	return (int64_t)v->valuedouble;
}

static void get_string(const cJSON *j, const char *key, char *out, size_t size)
{
	const cJSON *v = item(j, key);
	if (cJSON_IsString(v))
		snprintf(out, size, "%s", v->valuestring);
}

/* A key iperf3 sends only as true: its presence is what counts. */
static bool flag(const cJSON *j, const char *key) { return item(j, key) != NULL; }

static int fail(const char **why, const char *what)
{
	*why = what;
	return -EINVAL;
}

int iperf_params_parse(const char *text, size_t len, struct iperf_params *p, const char **why)
{
	/* iperf3's defaults for what a client leaves out. */
	*p = (struct iperf_params){.time = 10, .parallel = 1, .len = 128 * 1024};
	cJSON *j = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return fail(why, "the parameters are not a JSON object");
	}
	p->tcp = flag(j, "tcp");
	p->udp = flag(j, "udp");
	p->sctp = flag(j, "sctp");
	p->bidirectional = flag(j, "bidirectional");
	p->reverse = flag(j, "reverse");
	p->nodelay = flag(j, "nodelay");
	get_string(j, "congestion", p->congestion, sizeof(p->congestion));
	bool ok = get_u32(j, "omit", &p->omit) && get_u32(j, "time", &p->time) &&
		  get_uint(j, "num", UINT64_MAX, &p->num) &&
		  get_uint(j, "blockcount", UINT64_MAX, &p->blockcount) &&
		  get_u32(j, "parallel", &p->parallel) && get_u32(j, "len", &p->len) &&
		  get_u32(j, "window", &p->window) && get_u32(j, "MSS", &p->mss) &&
		  get_uint(j, "bandwidth", UINT64_MAX, &p->bandwidth);
	cJSON_Delete(j);
	return ok ? 0 : fail(why, "a number in the parameters is out of range");
}

static int parse_stream(const cJSON *o, struct iperf_stream_result *s)
{
	const cJSON *id = item(o, "id"), *bytes = item(o, "bytes"), *rt = item(o, "retransmits");
	const cJSON *t0 = item(o, "start_time"), *t1 = item(o, "end_time");
	if (!cJSON_IsNumber(id) || !cJSON_IsNumber(bytes) || !(bytes->valuedouble >= 0))
		return -EINVAL;
	s->id = id->valueint;
	s->bytes = (uint64_t)bytes->valuedouble;
	s->retransmits = count_or_none(rt);
	/* iperf3 before 3.2 sent no times. */
	s->start_time = cJSON_IsNumber(t0) ? t0->valuedouble : 0;
	s->end_time = cJSON_IsNumber(t1) ? t1->valuedouble : 0;
	return 0;
}

int iperf_results_parse(const char *text, size_t len, struct iperf_results *r, const char **why)
{
	memset(r, 0, sizeof(*r));
	cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *streams = item(j, "streams"), *total = item(j, "cpu_util_total");
	if (!cJSON_IsObject(j) || !cJSON_IsArray(streams) || !cJSON_IsNumber(total)) {
		cJSON_Delete(j);
		return fail(why, "the results are not iperf3's (no streams or cpu_util_total)");
	}
	r->cpu_total = total->valuedouble;
	const cJSON *user = item(j, "cpu_util_user"), *sys = item(j, "cpu_util_system");
	r->cpu_user = cJSON_IsNumber(user) ? user->valuedouble : 0;
	r->cpu_system = cJSON_IsNumber(sys) ? sys->valuedouble : 0;
	r->sender_has_retransmits = (int)count_or_none(item(j, "sender_has_retransmits"));
	get_string(j, "congestion_used", r->congestion, sizeof(r->congestion));
	int rc = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, streams)
	{
		if (r->nstreams == IPERF_MAX_STREAMS || parse_stream(o, &r->streams[r->nstreams])) {
			rc = fail(why,
				  "a stream of the results is malformed, or there are too many");
			break;
		}
		r->nstreams++;
	}
	cJSON_Delete(j);
	return rc;
}

const char *iperf_params_unsupported(const struct iperf_params *p)
{
	if (p->udp || p->sctp || !p->tcp)
		return "a protocol other than TCP";
	if (p->bidirectional)
		return "a bidirectional test (--bidir)";
	if (p->reverse && p->bandwidth)
		return "a rate limit on a reverse test (-b with -R)";
	if (p->parallel < 1 || p->parallel > IPERF_MAX_STREAMS)
		return "a number of streams outside 1 to 128";
	if (p->len < 1 || p->len > MAX_LEN)
		return "a block size outside 1 byte to 1 MiB";
	if (p->time > MAX_TIME || p->omit > MAX_OMIT)
		return "a test longer than a day, or omitting more than 600 s";
	if (p->mss && (p->mss < MIN_MSS || p->mss > MAX_MSS))
		return "a segment size outside 88 to 65495";
	if (!p->time && !p->num && !p->blockcount)
		return "a test with no end (no time, bytes or blocks)";
	return NULL;
}
