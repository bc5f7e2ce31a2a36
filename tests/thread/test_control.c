/* test_control.c — the control socket `ustcp netstat` reads: two hosts on
 * their own threads, joined by a socketpair, asked over and over while a
 * transfer runs between them (the answer is built on the host's thread
 * with the stack taken: a ThreadSanitizer build sees any race), bad
 * requests, more clients than it serves at once, and nothing left behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../test_main.h"
#include "runtime/control.h"
#include "ustcp/ustcp.h"

#define ANSWER_MAX (256 * 1024)
#define TRANSFER (8u * 1024 * 1024)

struct pair {
	struct ustcp_host *a, *b;
};

/* XDG_RUNTIME_DIR of the test running, so it sees no other program's
 * sockets; made before any host, removed after (a failed test too). */
static char tmp_dir[64];

static void private_dir(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/ustcp-control-test.XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	assert_int_equal(setenv("XDG_RUNTIME_DIR", tmp_dir, 1), 0);
}

static int remove_dir(void **state)
{
	(void)state;
	if (!tmp_dir[0])
		return 0;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	tmp_dir[0] = '\0';
	unsetenv("XDG_RUNTIME_DIR");
	return system(cmd) == 0 ? 0 : -1;
}

/* Two hosts (10.9.0.1, 10.9.0.2) joined by a socketpair, in the control
 * directory the environment names. */
static void hosts_open(struct pair *p, int no_control)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	char err[256];
	struct ustcp_host_config ca = {
		.use_link_fd = 1, .link_fd = sv[0], .ip = "10.9.0.1/24", .no_control = no_control};
	struct ustcp_host_config cb = {
		.use_link_fd = 1, .link_fd = sv[1], .ip = "10.9.0.2/24", .no_control = no_control};
	if (ustcp_host_open(&ca, &p->a, err, sizeof(err)) < 0)
		fail_msg("host a: %s", err);
	if (ustcp_host_open(&cb, &p->b, err, sizeof(err)) < 0)
		fail_msg("host b: %s", err);
}

static void pair_open_cfg(struct pair *p, int no_control)
{
	private_dir();
	hosts_open(p, no_control);
}

static void pair_open(struct pair *p) { pair_open_cfg(p, 0); }

/* Close both hosts; their sockets must be gone, and so the directory
 * can go (rmdir fails on anything left in it). */
static void pair_close(struct pair *p)
{
	ustcp_host_close(p->a);
	ustcp_host_close(p->b);
	char dir[128];
	assert_true(ustcp_control_dir(dir, sizeof(dir)) > 0);
	assert_int_equal(rmdir(dir), 0);
}

static struct ustcp_endpoint ep(const char *ip, uint16_t port)
{
	struct ustcp_endpoint e = {.port = port};
	assert_int_equal(ustcp_addr_parse(ip, &e), 0);
	return e;
}

static int control_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Everything fd gives until the server closes it (5 s at most). */
static size_t read_all(int fd, char *out, size_t size)
{
	size_t len = 0;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		ssize_t n = read(fd, out + len, size - 1 - len);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
		assert_true(len < size - 1);
	}
	out[len] = '\0';
	close(fd);
	return len;
}

/* Send req to the control socket at path; the whole answer into out. */
static size_t ask(const char *path, const char *req, char *out, size_t size)
{
	int fd = control_connect(path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return read_all(fd, out, size);
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		n += !strncmp(l, prefix, strlen(prefix));
	return n;
}

/* The value of "counter NAME VALUE ..." in an answer. */
static unsigned long long counter_of(const char *text, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\ncounter %s ", name);
	const char *at = strstr(text, key);
	assert_non_null(at);
	return strtoull(at + strlen(key), NULL, 10);
}

/* One side of the transfer, on its own thread. */
struct xfer {
	struct ustcp_stack *s;
	struct ustcp_sock *l;
	size_t moved; /* read by the test's thread: atomic */
	sem_t release;
};

/* Sends TRANSFER bytes, then closes after the peer has. */
static void *sender(void *arg)
{
	struct xfer *x = arg;
	struct ustcp_sock *k;
	static char buf[64 * 1024];
	if (ustcp_connect_to(x->s, (struct ustcp_endpoint){0}, ep("10.9.0.2", 7), &k) < 0)
		return NULL;
	size_t sent = 0;
	while (sent < TRANSFER) {
		long n = ustcp_send(k, buf, sizeof(buf));
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	while (ustcp_recv(k, buf, sizeof(buf)) > 0)
		;
	ustcp_close(k);
	return NULL;
}

/* Reads TRANSFER bytes, then closes first (its end goes to TIME-WAIT)
 * when the test lets it. */
static void *receiver(void *arg)
{
	struct xfer *x = arg;
	struct ustcp_sock *k;
	static char buf[64 * 1024];
	if (ustcp_accept(x->l, &k) < 0)
		return NULL;
	size_t got = 0;
	long n;
	while (got < TRANSFER && (n = ustcp_recv(k, buf, sizeof(buf))) > 0) {
		got += (size_t)n;
		__atomic_store_n(&x->moved, got, __ATOMIC_RELEASE);
	}
	sem_wait(&x->release);
	ustcp_close(k);
	return NULL;
}

/* An answer that is whole, names this program, and says every counter,
 * drop reason and the interface, with the listener. */
static void check_answer(const char *out, const char *ip)
{
	char want[128];
	snprintf(want, sizeof(want), "ustcp-control 1 %ld ", (long)getpid());
	assert_memory_equal(out, want, strlen(want));
	assert_non_null(strstr(out, "\nend\n"));
	assert_int_equal(count_lines(out, "counter "), USTCP_C_COUNT);
	assert_int_equal(count_lines(out, "drop "), USTCP_DROP_COUNT - 1);
	assert_int_equal(count_lines(out, "iface "), 1);
	snprintf(want, sizeof(want), " %s/24 fe80::", ip);
	assert_non_null(strstr(out, want));
}

/* The answer says what the stack holds while data moves, and at the end
 * the connection B closed, in TIME-WAIT, held by the stack alone. */
static void answers_during_a_transfer(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	const char *path = ustcp_host_control_path(p.b);
	assert_non_null(path);
	struct ustcp_sock *l;
	assert_int_equal(ustcp_listen_on(ustcp_host_stack(p.b), ep("0.0.0.0", 7), 8, &l), 0);
	struct xfer tx = {.s = ustcp_host_stack(p.a)}, rx = {.l = l};
	assert_int_equal(sem_init(&rx.release, 0, 0), 0);
	pthread_t ts, tr;
	assert_int_equal(pthread_create(&tr, NULL, receiver, &rx), 0);
	assert_int_equal(pthread_create(&ts, NULL, sender, &tx), 0);

	char *out = malloc(ANSWER_MAX);
	assert_non_null(out);
	const char *listening = "\nconn LISTEN 0.0.0.0:7 0.0.0.0:0 0 0 user newreno ";
	unsigned long long last_in = 0;
	int asked = 0;
	for (; asked < 2000 &&
	       (asked < 20 || __atomic_load_n(&rx.moved, __ATOMIC_ACQUIRE) < TRANSFER);
	     asked++) {
		ask(path, "conns counters ifaces\n", out, ANSWER_MAX);
		check_answer(out, "10.9.0.2");
		assert_non_null(strstr(out, listening));
		assert_int_equal(count_lines(out, "conn "), 1 + !!strstr(out, "conn ESTABLISHED"));
		unsigned long long in = counter_of(out, "tcp_in");
		assert_true(in >= last_in);
		last_in = in;
		struct timespec ms2 = {0, 2 * 1000 * 1000};
		nanosleep(&ms2, NULL);
	}
	assert_int_equal(__atomic_load_n(&rx.moved, __ATOMIC_ACQUIRE), TRANSFER);
	/* The last answer of the loop may predate the end of the transfer
	 * (a slow build asks fewer times): ask once more, now it is over. */
	ask(path, "counters\n", out, ANSWER_MAX);
	assert_true(counter_of(out, "tcp_in") >= last_in);
	last_in = counter_of(out, "tcp_in");
	assert_true(last_in > TRANSFER / 1500);
	ask(path, "conns\n", out, ANSWER_MAX);
	assert_non_null(strstr(out, "\nconn ESTABLISHED 10.9.0.2:7 10.9.0.1:"));
	ask(ustcp_host_control_path(p.a), "conns counters ifaces\n", out, ANSWER_MAX);
	check_answer(out, "10.9.0.1");
	assert_non_null(strstr(out, "\nconn ESTABLISHED 10.9.0.1:"));
	assert_non_null(strstr(out, " 10.9.0.2:7 "));

	sem_post(&rx.release);
	assert_int_equal(pthread_join(ts, NULL), 0);
	assert_int_equal(pthread_join(tr, NULL), 0);
	bool orphan = false;
	for (int i = 0; i < 500 && !orphan; i++) {
		ask(path, "conns\n", out, ANSWER_MAX);
		orphan = strstr(out, "\nconn TIME-WAIT 10.9.0.2:7 10.9.0.1:") &&
			 strstr(out, " 0 0 stack newreno ");
		if (!orphan)
			nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
	}
	assert_true(orphan);
	sem_destroy(&rx.release);
	free(out);
	ustcp_close(l);
	pair_close(&p);
}

/* Each host of a program has a socket of its own, named after the pid. */
static void one_socket_per_host(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	const char *pa = ustcp_host_control_path(p.a), *pb = ustcp_host_control_path(p.b);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_string_not_equal(pa, pb);
	char dir[128], want[160], path_a[128];
	snprintf(path_a, sizeof(path_a), "%s", pa);
	assert_true(ustcp_control_dir(dir, sizeof(dir)) > 0);
	assert_string_equal(dir, strcat(strcpy(want, tmp_dir), "/ustcp"));
	snprintf(want, sizeof(want), "%s/%ld-", dir, (long)getpid());
	assert_memory_equal(pa, want, strlen(want));
	assert_memory_equal(pb, want, strlen(want));
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(pa, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	char out[16384];
	ask(pa, "ifaces\n", out, sizeof(out));
	assert_non_null(strstr(out, " 10.9.0.1/24 "));
	assert_null(strstr(out, "\nconn "));
	assert_null(strstr(out, "\ncounter "));
	ask(pb, "ifaces\n", out, sizeof(out));
	assert_non_null(strstr(out, " 10.9.0.2/24 "));
	pair_close(&p);
	assert_int_equal(stat(path_a, &st), -1);
}

/* A bad request gets one error line and no "end"; the server serves on. */
static void bad_requests(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	const char *path = ustcp_host_control_path(p.b);
	char out[16384], big[CONTROL_REQ_MAX];
	ask(path, "conns bogus\n", out, sizeof(out));
	assert_string_equal(out, "error unknown section 'bogus' (known: conns counters ifaces)\n");
	ask(path, "\n", out, sizeof(out));
	assert_string_equal(out, "error ask for conns, counters or ifaces\n");
	memset(big, 'x', sizeof(big));
	int fd = control_connect(path);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	read_all(fd, out, sizeof(out));
	assert_string_equal(out, "error a request is one line of at most 128 bytes\n");
	/* Gone before asking: nothing to answer. */
	close(control_connect(path));
	ask(path, "counters\n", out, sizeof(out));
	assert_non_null(strstr(out, "\nend\n"));
	pair_close(&p);
}

/* Clients that never ask hold no slot that others need. */
static void silent_clients_pushed_out(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	const char *path = ustcp_host_control_path(p.b);
	int silent[CONTROL_MAX_CLIENTS + 4];
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++)
		silent[i] = control_connect(path);
	char out[16384];
	ask(path, "ifaces\n", out, sizeof(out));
	assert_non_null(strstr(out, "\nend\n"));
	/* The oldest were let go: their connections read end of file. */
	assert_int_equal(read_all(silent[0], out, sizeof(out)), 0);
	for (size_t i = 1; i < sizeof(silent) / sizeof(silent[0]); i++)
		close(silent[i]);
	pair_close(&p);
}

/* A host whose socket cannot be made runs without one. */
static void runs_without_its_socket(void **state)
{
	(void)state;
	private_dir();
	char file[96];
	snprintf(file, sizeof(file), "%s/file", tmp_dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(setenv("XDG_RUNTIME_DIR", file, 1), 0); /* not a directory */
	struct pair p;
	hosts_open(&p, 0);
	assert_null(ustcp_host_control_path(p.a));
	assert_null(ustcp_host_control_path(p.b));
	/* They run and talk: b refuses a connection to a port it has not. */
	struct ustcp_sock *c;
	assert_int_equal(ustcp_connect_to(ustcp_host_stack(p.a), (struct ustcp_endpoint){0},
					  ep("10.9.0.2", 9), &c),
			 -ECONNREFUSED);
	ustcp_host_close(p.a);
	ustcp_host_close(p.b);
}

/* A host told not to has no socket. */
static void turned_off(void **state)
{
	(void)state;
	struct pair p;
	pair_open_cfg(&p, 1);
	assert_null(ustcp_host_control_path(p.a));
	assert_null(ustcp_host_control_path(p.b));
	char dir[128];
	assert_true(ustcp_control_dir(dir, sizeof(dir)) > 0);
	assert_int_equal(mkdir(dir, 0700), 0); /* pair_close removes it */
	pair_close(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_teardown(answers_during_a_transfer, remove_dir),
	cmocka_unit_test_teardown(one_socket_per_host, remove_dir),
	cmocka_unit_test_teardown(bad_requests, remove_dir),
	cmocka_unit_test_teardown(silent_clients_pushed_out, remove_dir),
	cmocka_unit_test_teardown(runs_without_its_socket, remove_dir),
	cmocka_unit_test_teardown(turned_off, remove_dir),
};

USTCP_TEST_MAIN(tests)
