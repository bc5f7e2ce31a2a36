/* ustcp/trace.h — the trace hook: one call for every frame in and out.
 *
 * The hook sees each frame a stack receives (after it was processed, with
 * the connection state before and after) and each frame it transmits (with
 * the sending connection's state before and after the event that made it).
 * Frames the stack drops are reported with the drop reason. The pcap writer
 * and the tcpdump-style printer hang off this hook; the printer and a pcap
 * reader also serve captures from anywhere (`ustcp trace`). */
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

/* tcpdump-style one-line rendering of an Ethernet frame (like tcpdump -n -S,
 * without its "IP "/"IP6 " prefix), e.g.
 * "10.0.0.3.45815 > 10.0.0.1.54321: Flags [P.], seq 1001:1004, ack 7001, win 64240, length 3"
 * "ARP, Request who-has 10.0.0.1 tell 10.0.0.3, length 28"
 * "10.0.0.3 > 10.0.0.1: ICMP echo request, id 1, seq 2, length 64"
 * "ethertype 0x88cc, length 60" for what is neither IP nor ARP;
 * "malformed frame (<reason>), length N" for what fails to parse (N is len).
 * Sequence numbers are absolute. Returns the length of the whole line, like
 * snprintf: buf gets at most size - 1 characters and a NUL (when size > 0). */
int ustcp_format_frame(char *buf, size_t size, const uint8_t *frame, size_t len);

/* What a frame handed to the printer starts with (a capture's link type). */
enum ustcp_link {
	USTCP_LINK_ETHERNET, /* Ethernet II (pcap's DLT_EN10MB) */
	USTCP_LINK_IP,       /* the IP header; the version says which (DLT_RAW, IPV4, IPV6) */
	USTCP_LINK_SLL,      /* Linux cooked, 16 bytes (DLT_LINUX_SLL: tcpdump -i any) */
	USTCP_LINK_SLL2,     /* Linux cooked v2, 20 bytes (DLT_LINUX_SLL2) */
};

/* ustcp_format_frame for a frame of any of those link types: the line for
 * the packet behind the link header is the same whatever that header is.
 * ustcp_format_link(..., USTCP_LINK_ETHERNET, ...) is ustcp_format_frame. */
int ustcp_format_link(char *buf, size_t size, enum ustcp_link link, const uint8_t *frame,
		      size_t len);

/* A printer for a sequence of frames (a capture, read in order) that tells
 * TCP connections apart: each gets a number, from 1 in the order the
 * connections first appear, and a new one when a SYN on the same addresses
 * and ports starts over with another initial sequence number. Unless
 * USTCP_PRINT_ABSOLUTE, sequence numbers, acknowledgment numbers and SACK
 * blocks are shown relative to the first sequence number of their
 * direction, as Wireshark counts them: a SYN is seq 0 and its first byte
 * of data 1; a direction whose SYN was not seen counts from one before its
 * first segment's sequence number, or from one before the first
 * acknowledgment number for it, whichever comes first. */
#define USTCP_PRINT_ABSOLUTE 1u /* sequence numbers as on the wire (tcpdump -S) */
struct ustcp_printer;
struct ustcp_printer *ustcp_printer_new(unsigned flags); /* NULL + errno on failure */
void ustcp_printer_free(struct ustcp_printer *p);
/* The line of one frame, as ustcp_format_link writes it but for the numbers
 * above; *conn gets the TCP connection's number, or 0 when the frame holds
 * no TCP segment. Formatting the same frame again (to retry with a larger
 * buffer) gives the same line. Returns the line's length, as snprintf, or
 * -ENOMEM when the connection could not be remembered. */
int ustcp_printer_format(struct ustcp_printer *p, char *buf, size_t size, enum ustcp_link link,
			 const uint8_t *frame, size_t len, uint64_t *conn);

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

/* Reading a capture: pcap or pcapng (libpcap reads both) whose link type is
 * one of enum ustcp_link's. */
struct ustcp_pcap_reader;
struct ustcp_pcap_packet {
	uint64_t ts;          /* ns since the epoch, as the capture recorded it */
	enum ustcp_link link; /* what frame starts with */
	const uint8_t *frame; /* the bytes captured: valid until the next read */
	size_t len;           /* how many were captured */
	size_t wire_len;      /* how long the frame was (more when the capture cut it) */
};
/* Opens path ("-" is standard input). On failure NULL, and err (of errsize
 * bytes) gets one line naming the file and the problem: it cannot be opened
 * (with the system's reason), it is not a capture, or its link type is
 * none of the above. */
struct ustcp_pcap_reader *ustcp_pcap_reader_open(const char *path, char *err, size_t errsize);
/* The next packet into *pkt: 1, or 0 at the end of the capture, or -1 when
 * the rest cannot be read (a file cut short): ustcp_pcap_reader_error says why. */
int ustcp_pcap_reader_next(struct ustcp_pcap_reader *r, struct ustcp_pcap_packet *pkt);
const char *ustcp_pcap_reader_error(const struct ustcp_pcap_reader *r);
void ustcp_pcap_reader_close(struct ustcp_pcap_reader *r);

#endif
