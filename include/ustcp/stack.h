/* ustcp/stack.h — the stack object, its interfaces, time and counters.
 *
 * The stack is sans-I/O: it reads no clock and makes no system call. Frames
 * come in through ustcp_input(), go out through each interface's transmit
 * callback, and time (monotonic nanoseconds) comes in as `now` on every
 * input and poll. Call ustcp_stack_poll() no later than ustcp_next_deadline().
 * Many stacks may live in one process; none shares state with another. */
#ifndef USTCP_STACK_H
#define USTCP_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct ustcp_stack;

/* IPv4 addresses in the API are in network byte order, like in_addr_t;
 * IPv6 addresses are 16 bytes in network order, like struct in6_addr. */
typedef uint32_t ustcp_ip4;

/* Transmit one frame (a whole Ethernet frame). Return 0, or a negative errno
 * when the link could not take it (the stack counts it and carries on). */
typedef int (*ustcp_transmit_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Offloads a link driver offers (ustcp_iface_config.offloads). */
#define USTCP_OFFLOAD_CSUM 1u /* leaves TCP checksums partial (ustcp_tx_meta.csum_*) */
#define USTCP_OFFLOAD_TSO 2u  /* takes TCP segments of up to 64 KiB and cuts them at gso_size */
/* Takes a frame in pieces: the headers in the frame given, the TCP payload
 * where it lies in the send buffer (ustcp_tx_meta.data), so it is copied
 * once, by the driver, instead of into the frame first. With
 * USTCP_OFFLOAD_CSUM only (the payload's checksum is the driver's). */
#define USTCP_OFFLOAD_SG 4u

/* How the driver must finish a frame (with transmit_meta). */
struct ustcp_tx_meta {
	uint16_t gso_size; /* 0: send as is; else cut the TCP payload into pieces of this size */
	uint16_t hdr_len;  /* Ethernet + IP + TCP header bytes (with gso_size) */
	/* Partial checksum: the one's complement sum from csum_start to the
	 * end of the frame goes at csum_start + csum_offset, whose field holds
	 * the pseudo-header sum (as Linux's CHECKSUM_PARTIAL). */
	uint8_t csum_partial;
	uint16_t csum_start, csum_offset;
	/* With USTCP_OFFLOAD_SG: the rest of the frame, after its len bytes,
	 * in up to two pieces (data_len 0: none), valid during the call. */
	const uint8_t *data[2];
	uint32_t data_len[2];
};
typedef int (*ustcp_transmit_meta_fn)(void *ctx, const uint8_t *frame, size_t len,
				      const struct ustcp_tx_meta *meta);

struct ustcp_iface_config {
	uint8_t mac[6];
	ustcp_ip4 ip4;      /* network order */
	uint8_t prefix_len; /* on-link subnet */
	ustcp_ip4 gateway;  /* 0: none */
	/* IPv6 (RFC 8200): every interface has a link-local address made from
	 * its MAC (RFC 4291 App. A) and answers neighbour discovery; a static
	 * global address and a default router are optional. */
	uint8_t ip6[16];      /* all zero: none */
	uint8_t prefix6_len;  /* on-link prefix of ip6 */
	uint8_t gateway6[16]; /* all zero: none */
	/* 68..65535; 0: the stack's config mtu. Below 1280 the interface has
	 * no IPv6 (ip6 and gateway6 must be zero). */
	uint16_t mtu;
	ustcp_transmit_fn transmit;
	void *transmit_ctx;
	/* A driver with offloads gives transmit_meta (used instead of
	 * transmit) and says which it has. */
	uint32_t offloads;
	ustcp_transmit_meta_fn transmit_meta;
	/* An address range: ip4 and the ip4_count - 1 addresses after it are
	 * all the interface's (0 or 1: ip4 alone). ip4 is the source of what
	 * the stack sends unless a socket is bound to another of them. */
	uint32_t ip4_count;
};

/* NULL config means defaults. Returns NULL when out of memory. */
struct ustcp_stack *ustcp_stack_new(const struct ustcp_config *cfg);
void ustcp_stack_free(struct ustcp_stack *s);
const struct ustcp_config *ustcp_stack_config(const struct ustcp_stack *s);

/* Returns the interface index (>= 0) or a negative errno: -EINVAL for a
 * bad address or MTU, -ENOMEM when the transmit slots could not grow to an
 * MTU above the config's. */
int ustcp_iface_add(struct ustcp_stack *s, const struct ustcp_iface_config *ic);
/* A static neighbour entry (ARP is used for the rest). */
int ustcp_neigh_add(struct ustcp_stack *s, int iface, ustcp_ip4 ip, const uint8_t mac[6]);
/* The same for IPv6 (neighbour discovery is used for the rest). */
int ustcp_neigh_add6(struct ustcp_stack *s, int iface, const uint8_t ip6[16], const uint8_t mac[6]);
/* The interface's IPv6 link-local address (fe80::/64 from its MAC);
 * -EADDRNOTAVAIL on an IPv4-only interface (MTU below 1280). */
int ustcp_iface_linklocal6(const struct ustcp_stack *s, int iface, uint8_t out[16]);
/* Announce the interface's addresses, e.g. at start: an RFC 5227 ARP
 * announcement, and an unsolicited neighbour advertisement for each IPv6
 * address (RFC 4861 §7.2.6). */
int ustcp_announce(struct ustcp_stack *s, int iface);

/* Feed one received Ethernet frame. Bad frames are dropped and counted. */
void ustcp_input(struct ustcp_stack *s, int iface, const uint8_t *frame, size_t len, uint64_t now);
/* The same, with what the driver knows: USTCP_RX_CSUM_OK says the
 * transport checksum needs no check (the host kernel built or verified
 * it), and frames may then be TCP segments of up to 64 KiB (GRO). */
#define USTCP_RX_CSUM_OK 1u
void ustcp_input_flags(struct ustcp_stack *s, int iface, const uint8_t *frame, size_t len,
		       uint64_t now, unsigned flags);
/* Run the timers that are due at `now` and send what is pending. */
void ustcp_stack_poll(struct ustcp_stack *s, uint64_t now);
/* When ustcp_stack_poll() must next be called; UINT64_MAX if nothing is pending. */
uint64_t ustcp_next_deadline(const struct ustcp_stack *s);
/* The latest time the stack was given. */
uint64_t ustcp_now(const struct ustcp_stack *s);

/* Counters, like netstat -s. Every reason a frame is dropped has its own. */
#define USTCP_COUNTERS(X)                                                                  \
	X(frames_in, "frames received")                                                    \
	X(frames_out, "frames transmitted")                                                \
	X(tx_errors, "frames the link refused")                                            \
	X(arp_in, "ARP packets received")                                                  \
	X(arp_requests_out, "ARP requests sent")                                           \
	X(arp_replies_out, "ARP replies sent")                                             \
	X(arp_queued, "packets held while their next hop's address was asked")             \
	X(ip_in, "IPv4 packets received")                                                  \
	X(ip_out, "IPv4 packets sent")                                                     \
	X(ip6_in, "IPv6 packets received")                                                 \
	X(ip6_out, "IPv6 packets sent")                                                    \
	X(ip_frags_in, "IP fragments received")                                            \
	X(ip_reassembled, "IP datagrams reassembled")                                      \
	X(icmp_in, "ICMP messages received")                                               \
	X(icmp_out, "ICMP messages sent")                                                  \
	X(icmp6_in, "ICMPv6 messages received")                                            \
	X(icmp6_out, "ICMPv6 messages sent")                                               \
	X(icmp6_errors_out, "ICMPv6 errors sent (parameter problem)")                      \
	X(icmp6_errors_limited, "ICMPv6 errors not sent: rate limit (RFC 4443 §2.4 (f))")  \
	X(nd_ns_in, "neighbour solicitations received")                                    \
	X(nd_ns_out, "neighbour solicitations sent")                                       \
	X(nd_na_in, "neighbour advertisements received")                                   \
	X(nd_na_out, "neighbour advertisements sent")                                      \
	X(nd_queued, "IPv6 packets held while their next hop's address was asked")         \
	X(tcp_in, "segments received")                                                     \
	X(tcp_out, "segments sent")                                                        \
	X(tcp_retransmits, "segments retransmitted")                                       \
	X(tcp_active_opens, "active connection openings")                                  \
	X(tcp_passive_opens, "passive connection openings")                                \
	X(tcp_attempt_fails, "failed connection attempts")                                 \
	X(tcp_estab_resets, "resets received in ESTABLISHED, FIN-WAIT or CLOSE-WAIT")      \
	X(tcp_rst_out, "resets sent")                                                      \
	X(tcp_challenge_acks, "challenge ACKs sent (RFC 5961)")                            \
	X(tcp_challenge_acks_limited, "challenge ACKs suppressed by the rate limit")       \
	X(tcp_timeouts, "connections timed out")                                           \
	X(tcp_timewait_reused, "TIME-WAIT connections ended by a new SYN")                 \
	X(tcp_syncookies_sent, "SYNs answered with a cookie (RFC 4987)")                   \
	X(tcp_syncookies_valid, "connections made from a cookie's ACK")                    \
	X(tcp_data_in_bytes, "bytes of data received in order")                            \
	X(tcp_data_out_bytes, "bytes of new data sent")                                    \
	X(tcp_keepalive_probes, "keepalive probes sent")                                   \
	X(tcp_keepalive_drops, "connections ended by unanswered keepalives")               \
	X(tcp_fast_retransmits, "fast retransmits (DupThresh or RACK found loss)")         \
	X(tcp_spurious_retransmits, "fast retransmits undone: a D-SACK showed reordering") \
	X(tcp_rto_expirations, "retransmission timeouts")                                  \
	X(tcp_zero_window_probes, "zero-window probes sent")                               \
	X(tcp_delayed_acks, "ACKs sent by the delayed-ACK timer")                          \
	X(tcp_ooo_segments, "segments queued out of order")                                \
	X(tcp_pmtu_updates, "segment sizes lowered by ICMP frag. needed / packet too big") \
	X(tcp_icmp_soft_errors, "ICMP errors kept as soft errors of a connection")         \
	X(tcp_neigh_unreachable, "connections told their next hop did not answer ARP/ND")  \
	X(tcp_oow_acks_limited, "ACKs for unusable empty segments held back (rate limit)") \
	X(tcp_tlp_probes, "tail loss probes sent (RFC 8985 §7)")                           \
	X(tcp_tlp_recoveries, "losses a tail loss probe repaired")                         \
	X(tcp_rack_fallbacks, "full send maps: loss found by DupThresh instead of RACK")   \
	X(tcp_orphans_reset, "connections reset on close: more orphans than max_orphans")  \
	X(tcp_orphans_persist_ended,                                                       \
	  "orphans ended: the peer kept its window shut through every probe")              \
	X(tcp_timewait_recycled, "TIME-WAIT ended early: more than max_time_wait")         \
	X(tcp_buffer_limit, "buffers refused: all buffers at max_buffer_bytes")            \
	X(neigh_evicted, "neighbour entries given up for another: table full")             \
	X(neigh_table_full, "neighbours not entered: every entry static")

#define USTCP_DROPS(X)                                                             \
	X(none, "not dropped")                                                     \
	X(eth_truncated, "Ethernet frame shorter than its header")                 \
	X(eth_not_for_us, "Ethernet destination not ours")                         \
	X(eth_unknown_type, "unknown EtherType")                                   \
	X(arp_malformed, "malformed ARP packet")                                   \
	X(arp_not_for_us, "ARP not for our address")                               \
	X(arp_unresolved, "packet dropped: no ARP answer in time")                 \
	X(ip_truncated, "IP header truncated")                                     \
	X(ip_bad_version, "IP version mismatch")                                   \
	X(ip_bad_hlen, "IP header length invalid")                                 \
	X(ip_bad_len, "IP total length inconsistent with frame")                   \
	X(ip_bad_csum, "IPv4 header checksum bad")                                 \
	X(ip_bad_ext, "IPv6 extension header malformed")                           \
	X(ip_frag_bad, "IP fragment malformed or inconsistent")                    \
	X(ip_frag_timeout, "IP datagram not complete in time")                     \
	X(ip_frag_dup, "IP fragment repeated (an exact copy)")                     \
	X(ip_frag_overlap, "IP fragments overlap: datagram dropped (RFC 5722)")    \
	X(ip_frag_evicted, "IP datagram given up for another: table full")         \
	X(ip_not_for_us, "IP destination not ours")                                \
	X(ip_bad_src, "IP source invalid: broadcast, multicast, IPv4-mapped")      \
	X(ip_unknown_proto, "unknown IP protocol")                                 \
	X(ip_no_route, "no route to destination")                                  \
	X(nd_malformed, "neighbour discovery message invalid (RFC 4861 §7.1)")     \
	X(nd_not_for_us, "neighbour solicitation for an address not ours")         \
	X(nd_unresolved, "IPv6 packet dropped: no neighbour answer in time")       \
	X(icmp_malformed, "malformed ICMP message")                                \
	X(icmp_bad_csum, "ICMP checksum bad")                                      \
	X(icmp_ignored, "ICMP message ignored")                                    \
	X(tcp_truncated, "TCP header truncated")                                   \
	X(tcp_bad_offset, "TCP data offset invalid")                               \
	X(tcp_bad_option, "TCP option malformed")                                  \
	X(tcp_bad_csum, "TCP checksum bad")                                        \
	X(tcp_bad_port, "TCP port zero")                                           \
	X(tcp_no_conn, "segment for no connection")                                \
	X(tcp_rst_no_conn, "RST for no connection")                                \
	X(tcp_listen_not_syn, "segment to a listener that is not a SYN")           \
	X(tcp_listen_overflow, "SYN dropped: listen backlog full")                 \
	X(tcp_syncookie_bad, "ACK to a listener with no valid cookie")             \
	X(tcp_no_memory, "segment dropped: connection pool exhausted")             \
	X(tcp_half_open_limit, "SYN dropped: max_half_open connections half open") \
	X(tcp_established_limit, "handshake refused: max_established connections") \
	X(tcp_syn_sent_bad_ack, "unacceptable ACK in SYN-SENT")                    \
	X(tcp_syn_sent_bad_rst, "RST in SYN-SENT not acknowledging our SYN")       \
	X(tcp_syn_sent_no_syn, "segment in SYN-SENT with neither SYN nor RST")     \
	X(tcp_not_acceptable, "sequence number not acceptable")                    \
	X(tcp_rst_out_of_window, "RST outside the window")                         \
	X(tcp_rst_challenged, "in-window RST answered with a challenge ACK")       \
	X(tcp_syn_challenged, "SYN in a synchronized state challenged")            \
	X(tcp_ack_challenged, "ACK outside the acceptable range challenged")       \
	X(tcp_no_ack, "segment without ACK in a synchronized state")               \
	X(tcp_ack_unsent, "ACK for data not yet sent")                             \
	X(tcp_ooo_no_room, "out-of-order segment refused: too many holes")         \
	X(tcp_paws, "segment rejected by PAWS (RFC 7323 §5)")                      \
	X(tcp_icmp_no_conn, "ICMP error about no connection of ours")              \
	X(tcp_icmp_bad_seq, "ICMP error quoting a sequence number not in flight")  \
	X(tcp_rcvbuf_full, "data beyond the receive buffer")                       \
	X(tcp_zero_window, "data at a closed window (a window probe)")             \
	X(tcp_data_after_fin, "data after the peer's FIN")                         \
	X(tcp_data_closed_rcv, "data after the receiving side was closed")         \
	X(neigh_queue_full, "packet waiting for ARP/ND pushed out: queue full")    \
	X(ip_frag_no_room, "IP datagram given up: reassembly bytes at the limit")

#define USTCP_ENUM_NAME(name, desc) USTCP_C_##name,
enum ustcp_counter { USTCP_COUNTERS(USTCP_ENUM_NAME) USTCP_C_COUNT };
#undef USTCP_ENUM_NAME
#define USTCP_ENUM_NAME(name, desc) USTCP_DROP_##name,
enum ustcp_drop { USTCP_DROPS(USTCP_ENUM_NAME) USTCP_DROP_COUNT };
#undef USTCP_ENUM_NAME

uint64_t ustcp_counter(const struct ustcp_stack *s, enum ustcp_counter c);
uint64_t ustcp_drops(const struct ustcp_stack *s, enum ustcp_drop d);
uint64_t ustcp_drops_total(const struct ustcp_stack *s);
const char *ustcp_counter_name(enum ustcp_counter c);
const char *ustcp_counter_desc(enum ustcp_counter c);
const char *ustcp_drop_name(enum ustcp_drop d);
const char *ustcp_drop_desc(enum ustcp_drop d);

/* Pool usage, for leak checks: connections and buffer bytes in use now,
 * and what the connections cost. A connection's memory is its slot in the
 * pool (tcb_bytes) with its share of the tables made for conns_max
 * (pool_bytes, which includes the slots), what it holds beside them
 * (conn_bytes: options it set, a listener's queue, its count in the port
 * table), and once it moves data its buffers (buffer_bytes, which count
 * the range sets and send map that come with them). */
struct ustcp_pool_usage {
	uint32_t conns; /* all connections, listeners and TIME-WAIT included */
	uint32_t conns_max;
	uint64_t buffer_bytes; /* send + receive buffers allocated, and what comes with them */
	uint32_t timers;       /* timers armed */
	uint32_t closing;      /* connections the program closed that still have data
				* or a FIN to send and see acknowledged */
	uint32_t tcb_bytes;    /* one connection's control block */
	uint64_t pool_bytes;   /* the pool and tables made for conns_max, at ustcp_stack_new */
	uint64_t conn_bytes;   /* held by connections beside their slots and buffers */
	/* Connections of each kind the limits count (ustcp_config's max_*). */
	uint32_t half_open, established, orphans, time_wait;
};
void ustcp_pool_usage(const struct ustcp_stack *s, struct ustcp_pool_usage *u);

/* What the network layer holds now, each within its config limit. */
struct ustcp_net_usage {
	uint32_t neigh;         /* neighbour entries, incomplete ones too (neigh_max) */
	uint32_t neigh_pending; /* frames waiting for an address (neigh_pending) */
	uint32_t frags;         /* datagrams in reassembly (frag_max) */
	uint64_t frag_bytes;    /* their buffers (frag_bytes) */
};
void ustcp_net_usage(const struct ustcp_stack *s, struct ustcp_net_usage *u);

#endif
