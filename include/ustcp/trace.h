/* ustcp/trace.h — the trace hook: one call for every frame in and out.
 *
 * The hook sees each frame a stack receives (after it was processed, with
 * the connection state before and after) and each frame it transmits (with
 * the sending connection's state before and after the event that made it).
 * Frames the stack drops are reported with the drop reason. The pcap writer
 * and the tcpdump-style printer hang off this hook. */
#ifndef USTCP_TRACE_H
#define USTCP_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ustcp_stack;

enum ustcp_trace_dir { USTCP_TRACE_IN = 0, USTCP_TRACE_OUT = 1 };

struct ustcp_trace_event {
	const struct ustcp_stack *stack;
	uint64_t now; /* ns */
	int dir;      /* enum ustcp_trace_dir */
	int iface;
	const uint8_t *frame; /* the whole Ethernet frame */
	size_t len;
	int drop;         /* 0, or the enum ustcp_drop reason this frame was dropped for */
	int has_conn;     /* the frame belonged to (or made) a connection */
	int state_before; /* enum ustcp_state, when has_conn */
	int state_after;
	uint64_t conn_id; /* stable id of that connection within its stack */
};

typedef void (*ustcp_trace_fn)(void *ctx, const struct ustcp_trace_event *ev);

/* Install a hook (NULL removes it). One hook per stack. */
void ustcp_set_trace(struct ustcp_stack *s, ustcp_trace_fn fn, void *ctx);

/* tcpdump-style one-line rendering of a frame (like tcpdump -n -S, without
 * its "IP "/"IP6 " prefix), e.g.
 * "10.0.0.3.45815 > 10.0.0.1.54321: Flags [P.], seq 1001:1004, ack 7001, win 64240, length 3"
 * "ARP, Request who-has 10.0.0.1 tell 10.0.0.3, length 28"
 * "10.0.0.3 > 10.0.0.1: ICMP echo request, id 1, seq 2, length 64"
 * "malformed frame (<reason>), length N" for what fails to parse.
 * Sequence numbers are absolute. Returns the length of the whole line, like
 * snprintf: buf gets at most size - 1 characters and a NUL (when size > 0). */
int ustcp_format_frame(char *buf, size_t size, const uint8_t *frame, size_t len);

/* Writes to f: the virtual time in seconds with 6 decimals, a space, the line
 * above, then when the frame belongs to a connection two spaces and its state
 * ("ESTABLISHED", or "SYN-SENT -> ESTABLISHED" when the event changed it),
 * then if the stack dropped it "  dropped: <reason>", and a newline. E.g.
 * "0.000100 10.0.0.3.45815 > 10.0.0.1.54321: Flags [S], seq 1000, win 64240, length 0  SYN-SENT" */
void ustcp_print_event(FILE *f, const struct ustcp_trace_event *ev);

/* pcap capture of frames (Ethernet link type), written with libpcap. */
struct ustcp_pcap;
struct ustcp_pcap *ustcp_pcap_open(const char *path); /* NULL + errno on failure */
void ustcp_pcap_write(struct ustcp_pcap *p, uint64_t now, const uint8_t *frame, size_t len);
void ustcp_pcap_close(struct ustcp_pcap *p);
/* A trace hook that writes every frame the stack sends to the pcap (ctx = struct ustcp_pcap *). */
void ustcp_pcap_trace_out(void *ctx, const struct ustcp_trace_event *ev);

#endif
