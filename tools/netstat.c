/* netstat.c — `ustcp netstat`: the connections, counters and interfaces of
 * every running ustcp program.
 *
 * A ustcp program's connections live in its own memory, so each one is
 * asked: every runtime answers on a UNIX socket in ustcp_control_dir()
 * (ustcp/host.h), named <pid>-<n>.sock, in the line protocol of
 * src/runtime/control.h. A socket whose program is gone (a crash leaves
 * it) is removed here. Each program gets ASK_TIMEOUT_S to answer; one that
 * does not is named on stderr and the others are still shown (exit 1).
 * The output follows netstat's: -tn's table of connections (with -a the
 * listeners too), -s's counters by name, -i's interfaces; -e adds what
 * `ss -tin` says of each connection. */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "tool.h"
#include "ustcp/ustcp.h"

#define ASK_TIMEOUT_S 2
#define ANSWER_MAX (64u * 1024 * 1024) /* far above what any pool's listing takes */
#define PROTOCOL "ustcp-control 1 "
#define FIELD 64 /* bytes of any one field of the protocol */

struct opts {
	bool all, extended, stats, ifaces;
};

/* One program and its answer. */
struct program {
	long pid;
	int n;         /* the runtime's number within the program */
	char name[48]; /* "1234/ustcp httpd": the pid, the command and its subcommand */
	char *answer;  /* the whole text, cut into lines */
	const char *cmd;
	char **lines; /* after the first, up to "end" */
	size_t nlines;
};

/* ---- asking ---- */

/* The reply to req from the socket at path, NUL-terminated, or NULL with
 * errno (ECONNREFUSED, ENOENT: not listening; EAGAIN: no answer in time). */
static char *ask(const char *path, const char *req)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* connect waits for room in the backlog up to the send timeout. */
	struct timeval tv = {.tv_sec = ASK_TIMEOUT_S};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		goto fail;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			char *b = cap <= ANSWER_MAX ? realloc(buf, cap + 1) : NULL;
			if (!b) {
				errno = EFBIG;
				goto fail;
			}
			buf = b;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) /* EAGAIN: the timeout ran out */
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:;
	int e = errno;
	close(fd);
	free(buf);
	errno = e;
	return NULL;
}

/* "1234/ustcp httpd" for "/usr/bin/ustcp httpd --root /srv": the pid, the
 * command's own name and the word after it unless that is an option. */
static void name_program(struct program *p)
{
	const char *cmd = p->cmd, *end = strchr(cmd, ' ');
	size_t len = end ? (size_t)(end - cmd) : strlen(cmd);
	const char *base = memrchr(cmd, '/', len);
	base = base ? base + 1 : cmd;
	const char *w = end && end[1] != '-' ? end + 1 : "";
	snprintf(p->name, sizeof(p->name), "%ld/%.*s%s%.*s", p->pid, (int)(cmd + len - base), base,
		 *w ? " " : "", (int)strcspn(w, " "), w);
}

/* Cuts the answer into lines; "" or the reason it is unusable. */
static const char *parse_answer(struct program *p, char *a)
{
	p->answer = a;
	size_t len = strlen(a);
	if (!strncmp(a, "error ", 6))
		return a + 6;
	if (strncmp(a, PROTOCOL, strlen(PROTOCOL)))
		return "it speaks another version of the control protocol";
	if (len < 5 || strcmp(a + len - 5, "\nend\n"))
		return "its answer was cut short";
	a[len - 5] = '\0'; /* from the newline before "end" */
	size_t n = 0;
	for (char *c = a; *c; c++)
		n += *c == '\n';
	p->lines = calloc(n ? n : 1, sizeof(*p->lines));
	if (!p->lines)
		return strerror(ENOMEM);
	char *save = NULL, *line = strtok_r(a, "\n", &save);
	const char *cmd = strchr(line + strlen(PROTOCOL), ' ');
	p->cmd = cmd ? cmd + 1 : "?";
	while ((line = strtok_r(NULL, "\n", &save)))
		p->lines[p->nlines++] = line;
	name_program(p);
	return "";
}

/* Asks the program whose socket is at path; false when it has nothing to
 * show: gone meanwhile (no error), or no answer (said on stderr, *failed). */
static bool read_program(struct program *p, const char *path, const char *req, bool *failed)
{
	char *a = ask(path, req);
	if (!a) {
		if (errno == ECONNREFUSED || errno == ENOENT)
			return false; /* it closed after the listing */
		fprintf(stderr, "ustcp netstat: program %ld (%s): %s\n", p->pid, path,
			errno == EAGAIN ? "no answer in time" : strerror(errno));
		*failed = true;
		return false;
	}
	const char *why = parse_answer(p, a);
	if (*why) {
		fprintf(stderr, "ustcp netstat: program %ld: %.*s\n", p->pid,
			(int)strcspn(why, "\n"), why);
		*failed = true;
		free(p->lines);
		free(a);
		return false;
	}
	return true;
}

/* "<pid>-<n>.sock": true with its numbers. */
static bool socket_name(const char *name, long *pid, int *n)
{
	int end = 0;
	return sscanf(name, "%ld-%d.sock%n", pid, n, &end) == 2 && name[end] == '\0' && *pid > 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct program *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->n > y->n) - (x->n < y->n);
}

/* Every program in dir that answers, in pid order, in *out (*count of
 * them). Returns 0, or -errno when dir cannot be read (-ENOENT: no program
 * ever ran here). */
static int ask_all(const char *dir, const char *req, struct program **out, size_t *count,
		   bool *failed)
{
	*out = NULL;
	*count = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct program *ps = NULL;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct program p = {0};
		if (!socket_name(de->d_name, &p.pid, &p.n))
			continue;
		char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (kill((pid_t)p.pid, 0) < 0 && errno == ESRCH) {
			unlink(path); /* its program died without removing it */
			continue;
		}
		if (!read_program(&p, path, req, failed))
			continue;
		if (*count == cap) {
			cap = cap ? 2 * cap : 8;
			struct program *b = realloc(ps, cap * sizeof(*ps));
			if (!b) {
				fprintf(stderr, "ustcp netstat: %s\n", strerror(ENOMEM));
				*failed = true;
				free(p.lines);
				free(p.answer);
				break;
			}
			ps = b;
		}
		ps[(*count)++] = p;
	}
	closedir(d);
	if (*count)
		qsort(ps, *count, sizeof(*ps), by_pid);
	*out = ps;
	return 0;
}

/* ---- connections ---- */

struct conn {
	char state[FIELD], local[FIELD], remote[FIELD], owner[FIELD], cc[FIELD];
	unsigned long sndq, rcvq, cwnd, ssthresh, retrans, mss;
	unsigned long long srtt, rttvar, rto; /* microseconds */
};

static bool parse_conn(const char *line, struct conn *c)
{
	return sscanf(line, "conn %63s %63s %63s %lu %lu %63s %63s %lu %lu %llu %llu %llu %lu %lu",
		      c->state, c->local, c->remote, &c->sndq, &c->rcvq, c->owner, c->cc, &c->cwnd,
		      &c->ssthresh, &c->srtt, &c->rttvar, &c->rto, &c->retrans, &c->mss) == 14;
}

/* netstat's way with an address: "*" for none, as for a port of 0. */
static void show_addr(const char *ep, char *out, size_t size)
{
	const char *colon = strrchr(ep, ':');
	if (!colon) {
		snprintf(out, size, "%s", ep);
		return;
	}
	int hl = (int)(colon - ep);
	bool no_host =
		(hl == 7 && !strncmp(ep, "0.0.0.0", 7)) || (hl == 4 && !strncmp(ep, "[::]", 4));
	bool no_port = !strcmp(colon + 1, "0");
	snprintf(out, size, "%.*s:%s", no_host ? 1 : hl, no_host ? "*" : ep,
		 no_port ? "*" : colon + 1);
}

/* "tcp", "tcp6", or "tcp46" for a socket on the unspecified address, which
 * takes both families. */
static const char *proto(const char *local)
{
	if (!strncmp(local, "0.0.0.0:", 8))
		return "tcp46";
	return local[0] == '[' ? "tcp6" : "tcp";
}

static const char *owner_word(const char *owner)
{
	if (!strcmp(owner, "user"))
		return "program";
	if (!strcmp(owner, "stack"))
		return "orphan";
	return owner; /* listener */
}

/* ss -i's second line: how the connection is doing. */
static void print_extended(const struct conn *c)
{
	char ssthresh[24] = "-", rtt[64] = "-";
	if (c->ssthresh != UINT32_MAX)
		snprintf(ssthresh, sizeof(ssthresh), "%lu", c->ssthresh);
	if (c->srtt)
		snprintf(rtt, sizeof(rtt), "%.3f/%.3fms", c->srtt / 1e3, c->rttvar / 1e3);
	printf("\t %s cwnd:%lu ssthresh:%s rtt:%s rto:%.0fms retrans:%lu mss:%lu owner:%s\n", c->cc,
	       c->cwnd, ssthresh, rtt, c->rto / 1e3, c->retrans, c->mss, owner_word(c->owner));
}

static void print_conns(const struct program *ps, size_t n, const struct opts *o)
{
	printf("Active ustcp connections (%s)\n",
	       o->all ? "servers and established" : "w/o servers");
	printf("%-5s %6s %6s %-23s %-23s %-11s %s\n", "Proto", "Recv-Q", "Send-Q", "Local Address",
	       "Foreign Address", "State", "PID/Program name");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ps[i].nlines; j++) {
			struct conn c;
			if (!parse_conn(ps[i].lines[j], &c))
				continue;
			/* As netstat: listeners (and sockets never connected,
			 * or reset and not yet closed) only with -a. */
			if (!o->all && (!strcmp(c.state, "LISTEN") || !strcmp(c.state, "CLOSED")))
				continue;
			char l[FIELD], r[FIELD];
			show_addr(c.local, l, sizeof(l));
			show_addr(c.remote, r, sizeof(r));
			printf("%-5s %6lu %6lu %-23s %-23s %-11s %s\n", proto(c.local), c.rcvq,
			       c.sndq, l, r, c.state, ps[i].name);
			if (o->extended)
				print_extended(&c);
		}
}

/* ---- counters ---- */

static void print_stats(const struct program *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		printf("%s%s (pid %ld):\n", i ? "\n" : "", ps[i].cmd, ps[i].pid);
		const char *heading = NULL;
		for (size_t j = 0; j < ps[i].nlines; j++) {
			char kind[16], name[FIELD];
			unsigned long long v;
			int desc = 0;
			if (sscanf(ps[i].lines[j], "%15s %63s %llu %n", kind, name, &v, &desc) <
				    3 ||
			    (strcmp(kind, "counter") && strcmp(kind, "drop")))
				continue;
			const char *h = !strcmp(kind, "counter") ? "Counters:" : "Drops:";
			if (h != heading)
				printf("%s\n", heading = h);
			printf("    %-28s %14llu  %s\n", name, v, ps[i].lines[j] + desc);
		}
	}
}

/* ---- interfaces ---- */

static void print_ifaces(const struct program *ps, size_t n)
{
	printf("%-10s %5s %10s %10s %-17s %s\n", "Iface", "MTU", "RX-OK", "TX-OK", "MAC",
	       "PID/Program name");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ps[i].nlines; j++) {
			char name[FIELD], mac[FIELD];
			unsigned mtu;
			unsigned long long rx, tx;
			int addrs = 0;
			if (sscanf(ps[i].lines[j], "iface %*d %63s %63s %u %llu %llu%n", name, mac,
				   &mtu, &rx, &tx, &addrs) < 5)
				continue;
			printf("%-10s %5u %10llu %10llu %-17s %s\n", name, mtu, rx, tx, mac,
			       ps[i].name);
			char a[FIELD];
			int used;
			for (const char *p = ps[i].lines[j] + addrs;
			     sscanf(p, " %63s%n", a, &used) == 1; p += used)
				printf("           %s %s\n", strchr(a, ':') ? "inet6" : "inet", a);
		}
}

/* ---- the command ---- */

static void usage(void)
{
	char dir[256];
	if (ustcp_control_dir(dir, sizeof(dir)) < 0)
		snprintf(dir, sizeof(dir), "(a directory whose name is too long)");
	printf("usage: ustcp netstat [-a] [-e] [-s] [-i]\n\n"
	       "The connections, counters and interfaces of every running ustcp program,\n"
	       "each asked on its control socket in %s\n"
	       "($XDG_RUNTIME_DIR/ustcp, or /run/ustcp without it).\n\n"
	       "  (none)  the connections, as netstat -tn: Proto, Recv-Q, Send-Q, Local\n"
	       "          and Foreign Address, State, and the program's PID/name; those the\n"
	       "          program closed and the stack still finishes (FIN-WAIT, TIME-WAIT)\n"
	       "          and those waiting to be accepted are listed too\n"
	       "  -a      listeners and unconnected sockets too (as netstat -a); tcp46 is\n"
	       "          a socket on the unspecified address, which takes both families\n"
	       "  -e      under each connection, as ss -tin: the congestion control, cwnd\n"
	       "          and ssthresh (bytes), rtt (srtt/rttvar), rto, retransmissions,\n"
	       "          segment size, and who holds it: the program, its listener (not\n"
	       "          yet accepted) or the stack alone (an orphan)\n"
	       "  -s      every counter and every drop reason by name with its count, per\n"
	       "          program (as netstat -s)\n"
	       "  -i      the interfaces: name, MTU, frames in and out, MAC, addresses\n"
	       "          (as netstat -i)\n\n"
	       "-s and -i show what they name instead of the connections (both: the\n"
	       "interfaces first). With no ustcp program running it says so and exits 0,\n"
	       "as netstat does when there is nothing to list. Exit status: 0; 1 when a\n"
	       "running program did not answer (the others are still shown); 2 for a\n"
	       "bad option.\n",
	       dir);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			return -1;
		}
		if (a[0] != '-' || !a[1])
			return tool_usage_error("netstat", "takes no arguments, only options: '%s'",
						a);
		if (a[1] == '-')
			return tool_usage_error("netstat", "unknown option '%s'", a);
		for (const char *c = a + 1; *c; c++) {
			switch (*c) {
			case 'a':
				o->all = true;
				break;
			case 'e':
				o->extended = true;
				break;
			case 's':
				o->stats = true;
				break;
			case 'i':
				o->ifaces = true;
				break;
			default:
				return tool_usage_error(
					"netstat", "unknown option '-%c' (known: -a -e -s -i)", *c);
			}
		}
	}
	return 0;
}

int cmd_netstat(int argc, char **argv)
{
	struct opts o = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	char dir[256];
	if (ustcp_control_dir(dir, sizeof(dir)) < 0) {
		fprintf(stderr,
			"ustcp netstat: $XDG_RUNTIME_DIR is too long for a socket's path\n");
		return 1;
	}
	/* Only the sections to be shown. */
	const char *req = o.stats && o.ifaces ? "ifaces counters\n"
			  : o.stats           ? "counters\n"
			  : o.ifaces          ? "ifaces\n"
					      : "conns\n";
	bool failed = false;
	size_t n;
	struct program *ps;
	rc = ask_all(dir, req, &ps, &n, &failed);
	if (rc < 0 && rc != -ENOENT) {
		fprintf(stderr, "ustcp netstat: cannot read %s: %s\n", dir, strerror(-rc));
		return 1;
	}
	if (n == 0 && !failed) {
		printf("No ustcp program is running.\n");
		free(ps);
		return 0;
	}
	if (o.ifaces)
		print_ifaces(ps, n);
	if (o.stats) {
		if (o.ifaces)
			printf("\n");
		print_stats(ps, n);
	}
	if (!o.stats && !o.ifaces)
		print_conns(ps, n, &o);
	for (size_t i = 0; i < n; i++) {
		free(ps[i].lines);
		free(ps[i].answer);
	}
	free(ps);
	return failed ? 1 : 0;
}
