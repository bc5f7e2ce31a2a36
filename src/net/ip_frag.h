/* ip_frag.h — IPv4 and IPv6 reassembly (RFC 791 §3.2, RFC 815, RFC 8200
 * §4.5), bounded (internal).
 *
 * One table for both versions, sized by the config: at most frag_max
 * datagrams at once, each of at most 65,535 bytes and for at most
 * IP_FRAG_TIMEOUT, their buffers frag_bytes in all. A buffer grows to the
 * furthest fragment seen, so a datagram costs what it reaches, not what
 * it carries. A fragment that would need a slot or bytes beyond the limits
 * gives up the oldest datagrams in progress, and every datagram given up
 * is counted, each limit under its own reason. Which bytes have arrived
 * is kept as a seqset (core/seqset.h). */
#ifndef USTCP_IP_FRAG_H
#define USTCP_IP_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/seqset.h"

#define IP_FRAG_HOLES 32                     /* ranges of fragments a datagram may be in */
#define IP_FRAG_TIMEOUT (30 * 1000000000ull) /* as Linux; RFC 791 suggests 15 s at least */

/* What makes fragments one datagram (RFC 791 §3.2; RFC 8200 §4.5). */
struct ip_frag_key {
	struct ipaddr src, dst;
	uint32_t id;
	uint8_t proto;
};

/* One fragment, as either IP version describes it. */
struct ip_frag_in {
	struct ip_frag_key key;
	uint32_t off; /* bytes */
	bool more;    /* more fragments follow */
	uint32_t max; /* largest payload the reassembled datagram may have */
	uint8_t tos, ttl;
};

struct ip_frag {
	bool used;
	struct ip_frag_key key;
	uint8_t tos, ttl;
	uint64_t since;
	uint64_t order; /* of arrival: the oldest goes first, even among datagrams of one instant */
	uint32_t total; /* payload length, known once the last fragment came; 0 before */
	uint32_t cap;   /* bytes of buf */
	struct seqset have;
	uint8_t *buf; /* up to the furthest fragment; freed with the datagram */
};

struct ip_frag_table {
	struct ip_frag *slot;
	uint32_t n_slots; /* frag_max */
	size_t bytes;     /* of every buf */
	size_t bytes_max; /* frag_bytes, at least one largest datagram */
	uint64_t next_order;
};

struct ustcp_stack;

int ip_frag_init(struct ip_frag_table *t, uint32_t max, size_t bytes_max);
void ip_frag_destroy(struct ip_frag_table *t);
/* Take one fragment (in, payload p of len bytes). Returns the
 * datagram's entry when this fragment completed it (its payload is in
 * buf[0..total)); the caller delivers it and then calls ip_frag_done. */
struct ip_frag *ip_frag_input(struct ustcp_stack *s, struct ip_frag_table *t,
			      const struct ip_frag_in *in, const uint8_t *p, size_t len);
void ip_frag_done(struct ip_frag_table *t, struct ip_frag *f);
/* Datagrams in reassembly now. */
uint32_t ip_frag_count(const struct ip_frag_table *t);

#endif
