/* pcap.c — writes frames to a pcap file (Ethernet, nanosecond timestamps)
 * through libpcap, and a trace hook that records what a stack sends. */
#define _DEFAULT_SOURCE /* pcap.h uses the BSD u_char/u_int types */

#include <errno.h>
#include <stdlib.h>

#include <pcap/pcap.h>

#include "ustcp/trace.h"

#define PCAP_SNAPLEN 65535

struct ustcp_pcap {
	pcap_t *pd;
	pcap_dumper_t *dump;
};

struct ustcp_pcap *ustcp_pcap_open(const char *path)
{
	if (!path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	struct ustcp_pcap *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, PCAP_SNAPLEN,
						     PCAP_TSTAMP_PRECISION_NANO);
	if (!p->pd) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	errno = 0;
	p->dump = pcap_dump_open(p->pd, path);
	if (!p->dump) {
		/* fopen's reason (ENOENT, EACCES...) says the most; libpcap may
		 * fail without one. */
		int err = errno ? errno : EIO;
		pcap_close(p->pd);
		free(p);
		errno = err;
		return NULL;
	}
	return p;
}

void ustcp_pcap_write(struct ustcp_pcap *p, uint64_t now, const uint8_t *frame, size_t len)
{
	if (!p || !frame)
		return;
	struct pcap_pkthdr h = {0};
	/* With nanosecond precision the "usec" field carries nanoseconds. */
	h.ts.tv_sec = (time_t)(now / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(now % 1000000000u);
	h.len = len > UINT32_MAX ? UINT32_MAX : (bpf_u_int32)len;
	h.caplen = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : (bpf_u_int32)len;
	pcap_dump((u_char *)p->dump, &h, frame);
}

void ustcp_pcap_close(struct ustcp_pcap *p)
{
	if (!p)
		return;
	pcap_dump_flush(p->dump);
	pcap_dump_close(p->dump);
	pcap_close(p->pd);
	free(p);
}

void ustcp_pcap_trace_out(void *ctx, const struct ustcp_trace_event *ev)
{
	if (ev->dir == USTCP_TRACE_OUT)
		ustcp_pcap_write(ctx, ev->now, ev->frame, ev->len);
}
