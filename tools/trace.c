/* trace.c — `ustcp trace FILE [-S] [-n]`: a capture read back one line a
 * packet, in the words ustcp prints its own frames with, so a capture taken
 * anywhere (tcpdump, tshark, ustcp --pcap) reads like `--trace`. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ustcp/trace.h"

static const char trace_help[] =
	"usage: ustcp trace FILE [-S] [-n]\n"
	"\n"
	"Prints each packet of a capture on one line, as ustcp prints the frames it\n"
	"sends and receives (ustcp demo, --trace): FILE is pcap or pcapng (as\n"
	"tcpdump -w, tshark -w, dumpcap or ustcp --pcap write them) of Ethernet, raw\n"
	"IP or Linux cooked (tcpdump -i any) frames; - reads standard input.\n"
	"\n"
	"  0.010000 #1 10.0.0.1.54321 > 10.0.0.3.45815: Flags [S.], seq 0, ack 1, ...\n"
	"  0.010000 ARP, Request who-has 10.0.0.1 tell 10.0.0.3, length 28\n"
	"\n"
	"First the time in seconds since the first packet; then, for TCP, #N: the\n"
	"connection the segment belongs to, numbered from 1 as connections first\n"
	"appear (a SYN that starts over on the same addresses and ports begins a\n"
	"new one), so grep ' #2 ' follows one connection both ways; then the\n"
	"packet. ARP, ICMP, ICMPv6 and UDP packets have no number; a packet cut\n"
	"short shows as malformed, with the reason.\n"
	"\n"
	"  -S   absolute sequence and acknowledgment numbers, as on the wire. By\n"
	"       default they are relative, per connection and direction, to its\n"
	"       first sequence number, as Wireshark counts: a SYN is seq 0 and the\n"
	"       first byte of data 1; SACK blocks are relative too\n"
	"  -n   no name resolution, for tcpdump's sake: ustcp never resolves\n"
	"       addresses or ports, so this is always so\n"
	"\n"
	"Exit status: 0; 1 when the file cannot be read (missing, unreadable, not\n"
	"a capture, a link type other than those, cut short); 2 for a usage error.\n";

struct trace_opts {
	const char *path;
	bool absolute;
};

/* Returns -1 to go on, or the exit code (0 after --help). */
static int parse_args(int argc, char **argv, struct trace_opts *o)
{
	bool options = true;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (options && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
			fputs(trace_help, stdout);
			return 0;
		}
		if (options && !strcmp(a, "--")) {
			options = false;
			continue;
		}
		if (options && a[0] == '-' && a[1]) {
			/* tcpdump's letters may come together: -nS */
			for (const char *c = a + 1; *c; c++) {
				if (*c == 'S')
					o->absolute = true;
				else if (*c != 'n')
					return tool_usage_error("trace", "unknown option '%s'", a);
			}
			continue;
		}
		if (o->path)
			return tool_usage_error("trace", "one capture at a time, not '%s' and '%s'",
						o->path, a);
		o->path = a;
	}
	if (!o->path)
		return tool_usage_error("trace", "which capture? ustcp trace FILE [-S] [-n]");
	return -1;
}

/* Seconds since the first packet, with 6 decimals (µs, as the rest of
 * ustcp prints time); a capture merged from several may go back. */
static void print_time(uint64_t ts, uint64_t t0)
{
	uint64_t d = ts >= t0 ? ts - t0 : t0 - ts;

	printf("%s%" PRIu64 ".%06" PRIu64, ts >= t0 ? "" : "-", d / 1000000000u,
	       d % 1000000000u / 1000u);
}

static int print_packet(struct ustcp_printer *pr, const struct ustcp_pcap_packet *pk, uint64_t t0)
{
	char small[1024], *line = small;
	uint64_t conn;
	int n = ustcp_printer_format(pr, small, sizeof(small), pk->link, pk->frame, pk->len, &conn);

	if (n >= (int)sizeof(small)) {
		line = malloc((size_t)n + 1);
		if (!line)
			return -ENOMEM;
		n = ustcp_printer_format(pr, line, (size_t)n + 1, pk->link, pk->frame, pk->len,
					 &conn);
	}
	if (n >= 0) {
		print_time(pk->ts, t0);
		if (conn)
			printf(" #%" PRIu64, conn);
		printf(" %s\n", line);
	}
	if (line != small)
		free(line);
	return n < 0 ? n : 0;
}

int cmd_trace(int argc, char **argv)
{
	struct trace_opts o = {0};
	char err[512];
	int rc = parse_args(argc, argv, &o);

	if (rc >= 0)
		return rc;
	struct ustcp_pcap_reader *r = ustcp_pcap_reader_open(o.path, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "ustcp trace: %s\n", err);
		return 1;
	}
	struct ustcp_printer *pr = ustcp_printer_new(o.absolute ? USTCP_PRINT_ABSOLUTE : 0);
	if (!pr) {
		fprintf(stderr, "ustcp trace: out of memory\n");
		ustcp_pcap_reader_close(r);
		return 1;
	}
	struct ustcp_pcap_packet pk;
	uint64_t t0 = 0;
	bool first = true;
	while ((rc = ustcp_pcap_reader_next(r, &pk)) == 1) {
		if (first)
			t0 = pk.ts;
		first = false;
		if (print_packet(pr, &pk, t0) < 0) {
			fprintf(stderr, "ustcp trace: out of memory\n");
			break;
		}
	}
	if (rc < 0)
		fprintf(stderr, "ustcp trace: %s\n", ustcp_pcap_reader_error(r));
	ustcp_printer_free(pr);
	ustcp_pcap_reader_close(r);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ustcp trace: writing the lines: %s\n", strerror(errno));
		return 1;
	}
	return rc == 0 ? 0 : 1;
}
