/* addr.c — endpoint addresses as text, for tools and messages. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ustcp/socket.h"

int ustcp_addr_parse(const char *text, struct ustcp_endpoint *ep)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(text);
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	if (text[0] == '[') { /* RFC 3986 §3.2.2 brackets around an IPv6 literal */
		if (n < 3 || text[n - 1] != ']')
			return -EINVAL;
		memcpy(buf, text + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, ep->ip6) != 1)
			return -EINVAL;
		ep->v6 = 1;
		ep->ip4 = 0;
		return 0;
	}
	struct in_addr a4;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		ep->v6 = 0;
		ep->ip4 = ntohl(a4.s_addr);
		memset(ep->ip6, 0, sizeof(ep->ip6));
		return 0;
	}
	if (inet_pton(AF_INET6, text, ep->ip6) == 1) {
		ep->v6 = 1;
		ep->ip4 = 0;
		return 0;
	}
	return -EINVAL;
}

char *ustcp_endpoint_str(const struct ustcp_endpoint *ep, int with_port, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	if (ep->v6)
		inet_ntop(AF_INET6, ep->ip6, a, sizeof(a));
	else {
		struct in_addr a4 = {htonl(ep->ip4)};
		inet_ntop(AF_INET, &a4, a, sizeof(a));
	}
	if (!with_port)
		snprintf(buf, size, "%s", a);
	else if (ep->v6)
		snprintf(buf, size, "[%s]:%u", a, ep->port);
	else
		snprintf(buf, size, "%s:%u", a, ep->port);
	return buf;
}
