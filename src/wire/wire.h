/* wire.h — parse and emit every header ustcp speaks, and checksums.
 *
 * Pure functions, no state. Parsers take a buffer and its length, check
 * every length before reading, fill a host-order struct and return the
 * header length (>= 0) or a negative enum wire_err naming why the input was
 * rejected. Emitters write network-order bytes and return the bytes written.
 * Addresses: IPv4 as uint32_t in host order; IPv6 as 16 bytes. */
#ifndef USTCP_WIRE_H
#define USTCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wire_err {
	WIRE_OK = 0,
	WIRE_ETRUNC = 1, /* buffer shorter than the header needs */
	WIRE_EVERSION,   /* IP version field wrong */
	WIRE_EHLEN,      /* IPv4 IHL < 5 or past the buffer */
	WIRE_ELEN,       /* IP total/payload length inconsistent with the buffer */
	WIRE_ECSUM,      /* checksum does not verify */
	WIRE_EEXT,       /* IPv6 extension header malformed or chain too long */
	WIRE_EOFF,       /* TCP data offset < 5 or past the end of the segment */
	WIRE_EOPT,       /* TCP option length 0/1, past the header, or wrong for its kind */
	WIRE_EFORMAT,    /* a field holds a value the format forbids (ARP hw/proto) */
	WIRE_ERR_COUNT
};
const char *wire_strerror(int err); /* accepts err or -err */

/* ---- Ethernet II ---- */
#define ETH_HLEN 14
#define ETH_ALEN 6
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_IPV6 0x86dd
struct eth_hdr {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t type;
};
int eth_parse(const uint8_t *buf, size_t len, struct eth_hdr *h);
size_t eth_emit(const struct eth_hdr *h, uint8_t *buf);

/* ---- ARP for IPv4 over Ethernet (RFC 826) ---- */
#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
struct arp_pkt {
	uint16_t op;
	uint8_t sha[ETH_ALEN];
	uint32_t spa;
	uint8_t tha[ETH_ALEN];
	uint32_t tpa;
};
/* Rejects hardware type != 1, protocol != 0x0800, hlen != 6, plen != 4. */
int arp_parse(const uint8_t *buf, size_t len, struct arp_pkt *p);
size_t arp_emit(const struct arp_pkt *p, uint8_t *buf);

/* ---- IPv4 (RFC 791) ---- */
#define IPV4_HLEN 20
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_ICMPV6_ 58
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff
struct ipv4_hdr {
	uint8_t hlen; /* bytes, 20..60 */
	uint8_t tos;
	uint16_t total_len;
	uint16_t id;
	uint16_t frag; /* flags and fragment offset, as on the wire */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src, dst; /* host order */
};
/* Checks version, IHL, total length <= len (trailing link padding is allowed),
 * and the header checksum. The payload is buf[hlen .. total_len). */
int ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_hdr *h);
/* Writes a 20-byte header (hlen ignored) and computes its checksum. */
size_t ipv4_emit(const struct ipv4_hdr *h, uint8_t *buf);

/* ---- IPv6 (RFC 8200) ---- */
#define IPV6_HLEN 40
#define IPV6_MAX_EXT 8 /* extension headers walked before giving up */
/* Whether RFC 8200 asks for an ICMPv6 Parameter Problem (RFC 4443 §3.4)
 * about a packet the walk rejects. */
enum ipv6_pp {
	IPV6_PP_NONE,    /* discard it silently */
	IPV6_PP_UNICAST, /* answer, unless it was sent to a multicast address */
	IPV6_PP_ALWAYS,  /* answer even then (§4.2: option type 10xxxxxx) */
};
struct ipv6_hdr {
	uint8_t tclass;
	uint32_t flow;
	uint16_t payload_len;
	uint8_t next_hdr; /* the fixed header's Next Header */
	uint8_t hop_limit;
	uint8_t src[16], dst[16];
	/* Filled by the walk over extension headers: */
	uint8_t proto;      /* upper-layer protocol */
	uint16_t hdr_len;   /* 40 + extension headers: offset of the upper layer */
	uint16_t proto_off; /* offset of the Next Header field that names proto */
	bool fragment;      /* a Fragment header was present */
	uint16_t frag_off;  /* its offset field (bytes) and M flag in bit 0 */
	uint32_t frag_id;
	uint16_t frag_end; /* offset of the fragmentable part (after the Fragment header) */
	uint8_t frag_next; /* the Fragment header's Next Header */
	/* When the walk rejects the packet for a reason RFC 8200 answers: */
	uint8_t pp;      /* enum ipv6_pp */
	uint8_t pp_code; /* RFC 4443 §3.4: 0 erroneous field, 1 Next Header, 2 option */
	uint32_t pp_ptr; /* offset of the octet at fault */
};
/* Walks Hop-by-Hop (0), Routing (43), Fragment (44), Destination Options
 * (60), AH (51); stops at any other Next Header, 59 (No Next Header) included.
 * Rejects (-WIRE_EEXT) what RFC 8200 tells a host to discard: a Routing
 * header with segments left, an unrecognised option marked "discard", a
 * Hop-by-Hop header not first. Where RFC 8200 asks for a Parameter Problem
 * (pp not IPV6_PP_NONE), the walk goes on past the fault as far as it can,
 * so proto and hdr_len say where it stopped: at the upper layer if the rest
 * is sound (the caller must not answer an ICMPv6 error, RFC 4443 §2.4 (e)).
 * The walk also stops after a Fragment header whose offset is not zero:
 * what follows it is the middle of a payload (proto is then frag_next). */
int ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_hdr *h);
size_t ipv6_emit(const struct ipv6_hdr *h, uint8_t *buf); /* 40 bytes, no extensions */

/* ---- ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) ---- */
#define ICMP_HLEN 8
struct icmp_hdr {
	uint8_t type, code;
	uint16_t csum;
	uint32_t rest; /* the 4 type-specific bytes (id/seq, MTU, pointer, ...) */
};
/* Verifies the checksum over the whole message (len bytes). */
int icmp4_parse(const uint8_t *buf, size_t len, struct icmp_hdr *h);
/* ICMPv6 checksum covers the IPv6 pseudo-header. */
int icmp6_parse(const uint8_t *buf, size_t len, const uint8_t src[16], const uint8_t dst[16],
		struct icmp_hdr *h);
/* Writes the 8-byte header; the checksum covers buf[0..total_len), whose
 * body the caller has already written after the header. */
size_t icmp4_emit(const struct icmp_hdr *h, uint8_t *buf, size_t total_len);
size_t icmp6_emit(const struct icmp_hdr *h, uint8_t *buf, size_t total_len, const uint8_t src[16],
		  const uint8_t dst[16]);

/* ---- TCP (RFC 9293 §3.1) ---- */
#define TCP_HLEN 20
#define TCP_MAX_HLEN 60
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TIMESTAMP 8
#define TCPOPT_FASTOPEN 34

/* Which options a struct tcp_opts holds. */
#define TCP_OPT_MSS (1u << 0)
#define TCP_OPT_WSCALE (1u << 1)
#define TCP_OPT_SACK_PERM (1u << 2)
#define TCP_OPT_SACK (1u << 3)
#define TCP_OPT_TIMESTAMP (1u << 4)
#define TCP_OPT_FASTOPEN (1u << 5)

#define TCP_MAX_SACK 4
#define TCP_FASTOPEN_MAX 16
struct tcp_sack_block {
	uint32_t left, right;
};
struct tcp_opts {
	uint32_t present; /* TCP_OPT_* bits */
	uint16_t mss;
	uint8_t wscale;
	uint8_t nsack;
	struct tcp_sack_block sack[TCP_MAX_SACK];
	uint32_t ts_val, ts_ecr;
	uint8_t fastopen_len; /* 0: a cookie request; else 4..16 */
	uint8_t fastopen[TCP_FASTOPEN_MAX];
};

struct tcp_hdr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t hlen;  /* bytes, 20..60 */
	uint8_t flags; /* TCP_FIN ... TCP_CWR */
	uint16_t win;
	uint16_t csum;
	uint16_t urp;
	struct tcp_opts opts;
};
/* Parses the header and its options (unknown kinds skipped by their length;
 * EOL ends the list). Rejects data offset < 5 or > len, option lengths 0/1
 * or past the header, and known options with the wrong length. Does not
 * verify the checksum (that needs the pseudo-header: see tcp_checksum_ok). */
int tcp_parse(const uint8_t *buf, size_t len, struct tcp_hdr *h);
/* Bytes the options in o take, padded to a multiple of 4. */
size_t tcp_opts_len(const struct tcp_opts *o);
/* Writes the header with its options (h->hlen is ignored and the real one
 * written) and h->csum as given. Option layout is the one Linux uses, so
 * its segments round-trip byte for byte: MSS; SACK-permitted+timestamps
 * together, or NOP,NOP,timestamps, or NOP,NOP,SACK-permitted; NOP,window
 * scale; NOP,NOP,SACK blocks; fast open cookie; NOP padding. Option sets
 * that overflow 40 bytes that way are packed without the alignment NOPs, and
 * if still too long, SACK blocks are dropped from the end (RFC 2018 §3). */
size_t tcp_emit(const struct tcp_hdr *h, uint8_t *buf);

/* ---- Internet checksum (RFC 1071, RFC 1624) ---- */
/* Adds len bytes to a running one's-complement sum (64 bits at a time).
 * The sum is returned unfolded; odd-length buffers are only allowed as the
 * last piece of a sum. */
uint64_t csum_add(uint64_t sum, const void *buf, size_t len);
/* Folds a sum to 16 bits and complements it: the value for the checksum field
 * (in network byte order, ready to memcpy into the header). Sums are kept in
 * native byte order, so on a little-endian host the RFC 1071 example bytes
 * 00 01 f2 03 f4 f5 f6 f7 give 0x0d22, which memcpy stores as 22 0d, i.e.
 * rd16() of the stored field is 0x220d. The parsed structs' csum fields are
 * rd16() values (host order), not this. */
uint16_t csum_fold(uint64_t sum);
/* csum_fold(csum_add(0, buf, len)). A buffer with a correct checksum inside gives 0. */
uint16_t inet_checksum(const void *buf, size_t len);
/* Pseudo-header sums (RFC 9293 §3.1, RFC 8200 §8.1); addresses host order for v4. */
uint64_t csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
uint64_t csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint32_t len);
/* RFC 1624 eqn. 3: the new checksum field after a 16-bit word changed from
 * old to new. All three in network byte order as read from the packet
 * (memcpy; rd16()/rd32() values give the same answer if all three are such,
 * RFC 1071 §2(B)), the result in the same order. */
uint16_t csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word);
uint16_t csum_update32(uint16_t csum, uint32_t old_word, uint32_t new_word);

/* True when a TCP segment (header + data, len bytes) checksums correctly. */
bool tcp_checksum_ok4(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst);
bool tcp_checksum_ok6(const uint8_t *seg, size_t len, const uint8_t src[16], const uint8_t dst[16]);
/* Stores only the pseudo-header sum (not complemented) in the checksum
 * field, for a driver or NIC to finish over the segment (Linux's
 * CHECKSUM_PARTIAL, the virtio-net NEEDS_CSUM header). */
void tcp_checksum_partial4(uint8_t *seg, size_t len, uint32_t src, uint32_t dst);
void tcp_checksum_partial6(uint8_t *seg, size_t len, const uint8_t src[16], const uint8_t dst[16]);
/* Computes and stores the checksum of a TCP segment in place. */
void tcp_checksum_set4(uint8_t *seg, size_t len, uint32_t src, uint32_t dst);
void tcp_checksum_set6(uint8_t *seg, size_t len, const uint8_t src[16], const uint8_t dst[16]);

/* Big-endian loads and stores. */
static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
