/* addr.h — an IP address of either family (internal).
 *
 * Connections, routes and neighbours keep addresses as 16 bytes in network
 * order: IPv6 as it is, IPv4 as an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, RFC 4291 §2.5.5.2). One type lets the connection table,
 * the ISN and port functions and the neighbour cache serve both families
 * with the same code; the IPv4 fast paths read the last four bytes. All
 * zero (::) is the unspecified address, also "any" for a listener. */
#ifndef USTCP_CORE_ADDR_H
#define USTCP_CORE_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct ipaddr {
	uint8_t b[16];
};

static inline struct ipaddr ip_from4(uint32_t host)
{
	struct ipaddr a = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (uint8_t)(host >> 24),
			    (uint8_t)(host >> 16), (uint8_t)(host >> 8), (uint8_t)host}};
	return a;
}

static inline struct ipaddr ip_from6(const uint8_t b[16])
{
	struct ipaddr a;
	memcpy(a.b, b, 16);
	return a;
}

static inline bool ip_is4(const struct ipaddr *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(a->b, mapped, 12) == 0;
}

/* The IPv4 address in host order (for an address that ip_is4). */
static inline uint32_t ip_v4(const struct ipaddr *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 |
	       a->b[15];
}

static inline bool ip_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

/* :: or 0.0.0.0 */
static inline bool ip_is_any(const struct ipaddr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->b, zero, 16) == 0 || (ip_is4(a) && ip_v4(a) == 0);
}

/* IPv6 multicast (ff00::/8) */
static inline bool ip6_is_multicast(const uint8_t *b) { return b[0] == 0xff; }
/* IPv6 link-local unicast (fe80::/10) */
static inline bool ip6_is_linklocal(const uint8_t *b)
{
	return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
}

#endif
