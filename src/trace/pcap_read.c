/* pcap_read.c — reads captures through libpcap (pcap and pcapng) for the
 * printer: each packet with its timestamp in nanoseconds and the link type
 * its frame starts with. A file's problems are told apart, since each asks
 * something else of the user: it cannot be opened, it is no capture, or its
 * link type is one the printer does not know. */
#define _DEFAULT_SOURCE /* pcap.h uses the BSD u_char/u_int types */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <pcap/pcap.h>

#include "ustcp/trace.h"

struct ustcp_pcap_reader {
	pcap_t *pd;
	enum ustcp_link link;
	char *path;
	char err[PCAP_ERRBUF_SIZE + 256];
};

/* The printer's name for a capture's link type; false for one it lacks. */
static bool link_of(int dlt, enum ustcp_link *link)
{
	switch (dlt) {
	case DLT_EN10MB:
		*link = USTCP_LINK_ETHERNET;
		return true;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		*link = USTCP_LINK_IP;
		return true;
	case DLT_LINUX_SLL:
		*link = USTCP_LINK_SLL;
		return true;
	case DLT_LINUX_SLL2:
		*link = USTCP_LINK_SLL2;
		return true;
	}
	return false;
}

/* The open file, or NULL with err saying why it cannot be read. */
static FILE *open_file(const char *path, char *err, size_t errsize)
{
	struct stat st;
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;

	if (!f) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 &&
	    (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0))) {
		snprintf(err, errsize, "%s: %s", path,
			 S_ISDIR(st.st_mode) ? "is a directory, not a capture"
					     : "is empty, not a capture");
		if (f != stdin)
			fclose(f);
		return NULL;
	}
	return f;
}

struct ustcp_pcap_reader *ustcp_pcap_reader_open(const char *path, char *err, size_t errsize)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct ustcp_pcap_reader *r;
	FILE *f = open_file(path, err, errsize);

	if (!f)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path))) {
		snprintf(err, errsize, "%s: %s", path, strerror(ENOMEM));
		goto fail;
	}
	/* Nanoseconds: libpcap scales a file of microseconds up. */
	r->pd = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!r->pd) {
		snprintf(err, errsize, "%s: not a pcap or pcapng capture (%s)", path, perr);
		goto fail;
	}
	int dlt = pcap_datalink(r->pd);
	if (!link_of(dlt, &r->link)) {
		const char *name = pcap_datalink_val_to_name(dlt);
		snprintf(err, errsize,
			 "%s: link type %d (%s) is not one ustcp reads: Ethernet, raw IP or "
			 "Linux cooked (SLL, SLL2)",
			 path, dlt, name ? name : "unknown");
		ustcp_pcap_reader_close(r); /* closes f too */
		return NULL;
	}
	return r;
fail:
	if (f != stdin)
		fclose(f);
	if (r)
		free(r->path);
	free(r);
	return NULL;
}

int ustcp_pcap_reader_next(struct ustcp_pcap_reader *r, struct ustcp_pcap_packet *pkt)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(r->pd, &h, &data);

	if (rc == PCAP_ERROR_BREAK) /* the end of the file */
		return 0;
	if (rc != 1) {
		snprintf(r->err, sizeof(r->err), "%s: %s", r->path, pcap_geterr(r->pd));
		return -1;
	}
	/* With nanosecond precision the "usec" field carries nanoseconds. */
	pkt->ts = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
	pkt->link = r->link;
	pkt->frame = data;
	pkt->len = h->caplen;
	pkt->wire_len = h->len;
	return 1;
}

const char *ustcp_pcap_reader_error(const struct ustcp_pcap_reader *r) { return r->err; }

void ustcp_pcap_reader_close(struct ustcp_pcap_reader *r)
{
	if (!r)
		return;
	if (r->pd)
		pcap_close(r->pd);
	free(r->path);
	free(r);
}
