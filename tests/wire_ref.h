/* wire_ref.h — slow, obvious references for checking wire/ (tests and fuzzers). */
#ifndef USTCP_WIRE_REF_H
#define USTCP_WIRE_REF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/wire.h"

/* RFC 1071 §4.1 done the obvious way: big-endian 16-bit words, odd byte padded. */
static inline uint16_t ref_checksum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	size_t i;
	for (i = 0; i + 1 < len; i += 2)
		sum += rd16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The checksum as it lands in a header, read back big-endian. */
static inline uint16_t stored(uint16_t c)
{
	uint8_t b[2];
	memcpy(b, &c, 2);
	return rd16(b);
}

#endif
