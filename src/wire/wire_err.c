/* wire_err.c — names for the wire parsers' error codes. */
#include "wire/wire.h"

static const char *const wire_errstr[WIRE_ERR_COUNT] = {
	[WIRE_OK] = "success",
	[WIRE_ETRUNC] = "truncated header",
	[WIRE_EVERSION] = "bad IP version",
	[WIRE_EHLEN] = "bad IPv4 header length",
	[WIRE_ELEN] = "IP length inconsistent with the buffer",
	[WIRE_ECSUM] = "bad checksum",
	[WIRE_EEXT] = "malformed IPv6 extension header chain",
	[WIRE_EOFF] = "bad TCP data offset",
	[WIRE_EOPT] = "malformed TCP option",
	[WIRE_EFORMAT] = "forbidden field value",
};

const char *wire_strerror(int err)
{
	/* Compare before negating: -INT_MIN would overflow. */
	if (err < 0) {
		if (err <= -WIRE_ERR_COUNT)
			return "unknown wire error";
		err = -err;
	}
	if (err >= WIRE_ERR_COUNT)
		return "unknown wire error";
	return wire_errstr[err];
}
