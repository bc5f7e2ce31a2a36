/* httpd.h — the file server of `ustcp httpd`, for other tools to run in
 * their own process (ustcp demo --real). */
#ifndef USTCP_TOOLS_HTTPD_H
#define USTCP_TOOLS_HTTPD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "ustcp/ustcp.h"

struct httpd_site {
	char root[PATH_MAX]; /* the real path (realpath) of the directory served */
	bool verbose;        /* connections and responses on stderr */
};

/* A listener on port of every local address, with the send buffer the
 * server wants: 0, or a negative errno. */
int httpd_listen(struct ustcp_stack *s, uint16_t port, struct ustcp_sock **out);
/* HTTP/1.1 GET and HEAD of the files under site->root on k, until the
 * client closes, an error, or a minute without progress: a service_fn
 * (serve.h) whose ctx is a struct httpd_site, read-only while serving. */
void httpd_serve(void *site, struct ustcp_sock *k, const struct ustcp_endpoint *peer);

#endif
