/* ustcp.c — the `ustcp` command: one program, one subcommand per tool. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{"demo", cmd_demo, "a textbook TCP conversation in simulation, segment by segment"},
	{"perf", cmd_perf,
	 "bulk transfer throughput: simulated link, or iperf3's test on a TAP device"},
	{"echo", cmd_echo, "the echo service (RFC 862) on a TAP device"},
	{"nc", cmd_nc, "netcat: stdin to a TCP connection and back, on a TAP device"},
	{"httpd", cmd_httpd, "a static file server (HTTP/1.1 GET and HEAD) on a TAP device"},
	{"talk", cmd_talk, "simplex-talk (Peterson and Davie 1.4): lines typed, sent, printed"},
	{"netstat", cmd_netstat,
	 "the connections, counters and interfaces of running ustcp programs"},
	{"trace", cmd_trace, "a capture (pcap, pcapng) one line a packet, as ustcp prints frames"},
	{"help", cmd_help, "this list"},
};

int tool_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ustcp %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'ustcp help')\n");
	return 2;
}

int tool_parse_mtu(const char *cmd, const char *v, unsigned *mtu)
{
	char *end;
	errno = 0;
	unsigned long n = *v >= '0' && *v <= '9' ? strtoul(v, &end, 10) : 0;
	if (*v < '0' || *v > '9' || *end)
		return tool_usage_error(cmd, "--mtu wants a number of bytes, %d to %d, not '%s'",
					TOOL_MTU_MIN, TOOL_MTU_MAX, v);
	if (errno || n > TOOL_MTU_MAX)
		return tool_usage_error(cmd, "--mtu %s is above %d, the largest IP packet", v,
					TOOL_MTU_MAX);
	if (n < TOOL_MTU_MIN)
		return tool_usage_error(cmd,
					"--mtu %s is below %d, the least a link carries "
					"(RFC 791)",
					v, TOOL_MTU_MIN);
	*mtu = (unsigned)n;
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: ustcp <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].summary);
	printf("\n  ustcp demo [--pcap FILE] [--quiet]\n");
	printf("  ustcp demo --real [--bytes N] [--impair SPEC] [--pcap FILE] [--quiet]"
	       " (ustcp demo --help)\n");
	printf("  ustcp perf --sim [--bytes N] [--rate MBIT] [--delay MS] [--loss PCT] ... [--json]"
	       " (ustcp perf --help)\n");
	printf("  ustcp perf -s | -c HOST [-t SECS] [-R] [-P N] --tap IFNAME --ip ADDR/PREFIX "
	       "...\n");
	printf("  ustcp echo [-p PORT] --tap IFNAME --ip ADDR/PREFIX ... (ustcp echo --help)\n");
	printf("  ustcp nc [-klNv] [-p PORT] [-w SECS] [HOST PORT] --tap IFNAME --ip ADDR/PREFIX "
	       "..."
	       " (ustcp nc --help)\n");
	printf("  ustcp httpd [-p PORT] [--root DIR] --tap IFNAME --ip ADDR/PREFIX ..."
	       " (ustcp httpd --help)\n");
	printf("  ustcp talk -l [-p PORT] [--threads] | HOST [-p PORT] --tap IFNAME --ip ..."
	       " (ustcp talk --help)\n");
	printf("  ustcp netstat [-a] [-e] [-s] [-i] (ustcp netstat --help)\n");
	printf("  ustcp trace FILE [-S] [-n] (ustcp trace --help)\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cmd_help(0, NULL), 2;
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(0, NULL);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ustcp: unknown command '%s' (see 'ustcp help')\n", argv[1]);
	return 2;
}
