/* test_util.h — small helpers shared by the unit tests. */
#ifndef USTCP_TEST_UTIL_H
#define USTCP_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Hex string ("0403 1388 ...", spaces ignored) to bytes; returns the count. */
static inline size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		int v;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

#endif
