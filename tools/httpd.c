/* httpd.c — `ustcp httpd`: a static file server (HTTP/1.1, RFC 9110 and
 * RFC 9112) on a TAP device.
 *
 * GET and HEAD of the regular files under --root; a directory stands for
 * its index.html. Connections persist (RFC 9112 §9.3) unless the client
 * asks to close or speaks HTTP/1.0 without "Connection: keep-alive";
 * pipelined requests are answered in order. Each connection is served on
 * a thread of its own (serve.h) with blocking calls: read a request,
 * answer it, again. A file is never loaded whole: it goes in chunks, each
 * sent before the next is read, so a download costs one chunk buffer
 * however large the file. Runs until SIGINT or SIGTERM, then closes every
 * connection and exits 0. */
#define _GNU_SOURCE

#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include "netopts.h"
#include "serve.h"
#include "tool.h"
#include "ustcp/ustcp.h"

#define HTTPD_CHUNK (256 * 1024) /* file bytes read per pread/send pair */
#define HTTPD_BACKLOG 128
/* Send buffer: room for several chunks in flight on a fast TAP path. */
#define HTTPD_SNDBUF (4 * 1024 * 1024)
#define HTTPD_REQ_MAX (16 * 1024) /* request line and header fields */
#define HTTPD_HDR_MAX 1024        /* our response header */
/* A connection without progress this long is closed. */
#define HTTPD_IDLE (60 * USTCP_NS_PER_SEC)
/* How long a closing connection drains the client's data. */
#define HTTPD_LINGER (5 * USTCP_NS_PER_SEC)

/* One connection, owned by the thread that serves it. */
struct conn {
	const struct httpd_site *site;
	struct ustcp_sock *k;
	bool close_after; /* close once this response is sent */
	uint64_t requests;
	/* The request bytes received and not yet parsed. */
	char req[HTTPD_REQ_MAX];
	size_t req_len;
	uint64_t skip; /* request body bytes still to discard */
	/* The response: its header, then the file (fd, 0 to file_end). */
	char hdr[HTTPD_HDR_MAX];
	size_t hdr_len;
	int fd; /* -1: no file */
	uint64_t file_end;
	char peer[USTCP_ENDPOINT_STRLEN]; /* "10.0.0.1:80" or "[fd00::1]:80" */
	uint8_t chunk[HTTPD_CHUNK];
};

static void conn_file_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static const char *status_text(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{"html", "text/html; charset=utf-8"},
		{"htm", "text/html; charset=utf-8"},
		{"txt", "text/plain; charset=utf-8"},
		{"css", "text/css"},
		{"js", "text/javascript"},
		{"json", "application/json"},
		{"png", "image/png"},
		{"jpg", "image/jpeg"},
		{"jpeg", "image/jpeg"},
		{"gif", "image/gif"},
		{"svg", "image/svg+xml"},
		{"pdf", "application/pdf"},
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/* Starts a response: the header into c->hdr and, for a body from a file,
 * fd (taken over) from 0 to len; for an error, a short HTML body. */
static void respond(struct conn *c, bool head, int code, const char *type, int fd, uint64_t len)
{
	char body[256];
	size_t body_len = 0;
	if (fd < 0 && code != 200) {
		int n = snprintf(body, sizeof(body),
				 "<html><head><title>%d %s</title></head>"
				 "<body><h1>%d %s</h1></body></html>\n",
				 code, status_text(code), code, status_text(code));
		body_len = (size_t)n;
		len = body_len;
		type = "text/html; charset=utf-8";
	}
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	int n = snprintf(c->hdr, sizeof(c->hdr),
			 "HTTP/1.1 %d %s\r\n"
			 "Server: ustcp\r\n"
			 "Date: %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %llu\r\n"
			 "%s"
			 "%s"
			 "\r\n",
			 code, status_text(code), date, type, (unsigned long long)len,
			 code == 405 ? "Allow: GET, HEAD\r\n" : "",
			 c->close_after ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
	c->hdr_len = (size_t)n;
	if (!head && body_len && c->hdr_len + body_len <= sizeof(c->hdr)) {
		memcpy(c->hdr + c->hdr_len, body, body_len);
		c->hdr_len += body_len;
	}
	c->fd = -1;
	c->file_end = 0;
	if (head || fd < 0) {
		if (fd >= 0)
			close(fd);
	} else {
		c->fd = fd;
		c->file_end = len;
	}
	if (c->site->verbose)
		fprintf(stderr, "ustcp httpd: %s: %d, %llu bytes\n", c->peer, code,
			(unsigned long long)len);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decodes the path of the request target into out (RFC 3986 §2.1)
 * and drops the query. False for a malformed target. */
static bool decode_path(const char *t, size_t tlen, char *out, size_t cap)
{
	/* RFC 9112 §3.2.2: the absolute form names the host; the path follows. */
	if (tlen > 7 && !strncasecmp(t, "http://", 7)) {
		const char *p = memchr(t + 7, '/', tlen - 7);
		if (!p) {
			t = "/";
			tlen = 1;
		} else {
			tlen -= (size_t)(p - t);
			t = p;
		}
	}
	if (tlen == 0 || t[0] != '/')
		return false;
	size_t o = 0;
	for (size_t i = 0; i < tlen && t[i] != '?' && t[i] != '#'; i++) {
		unsigned char ch = (unsigned char)t[i];
		if (ch == '%') {
			int hi = i + 2 < tlen ? hexval(t[i + 1]) : -1;
			int lo = i + 2 < tlen ? hexval(t[i + 2]) : -1;
			/* A NUL would cut the path short of what was asked. */
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return false;
			ch = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (ch <= ' ' || ch == 0x7f) {
			return false;
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = (char)ch;
	}
	out[o] = 0;
	return true;
}

/* Opens the file a decoded path names under the root. Returns an open fd
 * of a regular file (and its size), or the status code to answer. */
static int open_under_root(const struct httpd_site *site, const char *path, int *fd_out,
			   uint64_t *size, char *name, size_t name_cap)
{
	/* Segment by segment: ".." may not climb (403), "." and empty ones
	 * are dropped. */
	char rel[PATH_MAX];
	size_t r = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 403;
		if (r + n + 2 >= sizeof(rel))
			return 404;
		if (r)
			rel[r++] = '/';
		memcpy(rel + r, s, n);
		r += n;
	}
	rel[r] = 0;
	for (int pass = 0; pass < 2; pass++) {
		const char *want = r ? rel : ".";
		char idx[PATH_MAX];
		if (pass == 1) {
			int n = snprintf(idx, sizeof(idx), "%s/index.html", want);
			if (n < 0 || (size_t)n >= sizeof(idx))
				return 404;
			want = idx;
		}
		/* Symbolic links may not lead out of the root either. */
		char full[PATH_MAX * 2], real[PATH_MAX];
		snprintf(full, sizeof(full), "%s/%s", site->root, want);
		if (!realpath(full, real))
			return errno == EACCES ? 403 : 404;
		size_t rl = strlen(site->root);
		bool inside = !strcmp(site->root, "/") || (!strncmp(real, site->root, rl) &&
							   (real[rl] == '/' || real[rl] == 0));
		if (!inside)
			return 403;
		int fd = open(real, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return errno == EACCES ? 403 : 404;
		struct stat st;
		if (fstat(fd, &st) < 0) {
			close(fd);
			return 500;
		}
		if (S_ISDIR(st.st_mode) && pass == 0) {
			close(fd);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			close(fd);
			return 404;
		}
		*fd_out = fd;
		*size = (uint64_t)st.st_size;
		snprintf(name, name_cap, "%s", want);
		return 200;
	}
	return 404;
}

static bool token_eq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !strncasecmp(s, word, n);
}

/* Whether the comma-separated header value v has the token word. */
static bool has_token(const char *v, size_t vlen, const char *word)
{
	size_t i = 0;
	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < vlen && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && token_eq(v + s, e - s, word))
			return true;
	}
	return false;
}

/* Parses and answers the request in c->req[0..len), whose header ends
 * there (len includes the blank line). */
static void handle_request(struct conn *c, size_t len)
{
	c->requests++;
	/* Request line: method SP request-target SP HTTP-version (RFC 9112 §3). */
	char *line = c->req;
	char *eol = memchr(line, '\n', len);
	size_t ll = (size_t)(eol - line);
	if (ll && line[ll - 1] == '\r')
		ll--;
	char *sp1 = memchr(line, ' ', ll);
	char *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - line)) : NULL;
	c->close_after = true; /* until the version says otherwise */
	if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1 ||
	    memchr(sp2 + 1, ' ', ll - (size_t)(sp2 + 1 - line))) {
		respond(c, false, 400, NULL, -1, 0);
		return;
	}
	size_t mlen = (size_t)(sp1 - line);
	const char *target = sp1 + 1;
	size_t tlen = (size_t)(sp2 - target);
	const char *ver = sp2 + 1;
	size_t vlen = ll - (size_t)(ver - line);
	if (vlen != 8 || strncmp(ver, "HTTP/", 5) || ver[6] != '.' || ver[5] < '0' ||
	    ver[5] > '9' || ver[7] < '0' || ver[7] > '9') {
		respond(c, false, 400, NULL, -1, 0);
		return;
	}
	if (ver[5] != '1') {
		respond(c, false, 505, NULL, -1, 0);
		return;
	}
	bool http10 = ver[7] == '0';
	bool head = mlen == 4 && !memcmp(line, "HEAD", 4);
	bool get = mlen == 3 && !memcmp(line, "GET", 3);

	/* Header fields (RFC 9112 §5). */
	bool keep_alive = false, close = false, host = false, te = false, bad = false;
	uint64_t clen = 0;
	bool have_clen = false;
	char *p = eol + 1;
	char *end = c->req + len;
	while (p < end) {
		char *e = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(e - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the blank line */
		char *colon = memchr(p, ':', n);
		/* No colon, an empty name, whitespace before the colon or a folded
		 * line (RFC 9112 §5.1, §5.2): all malformed. */
		if (!colon || colon == p || colon[-1] == ' ' || colon[-1] == '\t' || p[0] == ' ' ||
		    p[0] == '\t') {
			bad = true;
			break;
		}
		size_t nl = (size_t)(colon - p);
		const char *v = colon + 1;
		size_t vl = n - nl - 1;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (token_eq(p, nl, "connection")) {
			keep_alive |= has_token(v, vl, "keep-alive");
			close |= has_token(v, vl, "close");
		} else if (token_eq(p, nl, "host")) {
			host = true;
		} else if (token_eq(p, nl, "transfer-encoding")) {
			te = true;
		} else if (token_eq(p, nl, "content-length")) {
			uint64_t x = 0;
			if (vl == 0 || vl > 18)
				bad = true;
			for (size_t i = 0; i < vl && !bad; i++) {
				if (v[i] < '0' || v[i] > '9')
					bad = true;
				else
					x = x * 10 + (uint64_t)(v[i] - '0');
			}
			/* RFC 9112 §6.3: differing lengths are an error. */
			if (have_clen && x != clen)
				bad = true;
			clen = x;
			have_clen = true;
		}
		p = e + 1;
	}
	/* RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive". */
	c->close_after = close || (http10 && !keep_alive);
	if (bad)
		c->close_after = true;
	if (bad || (!http10 && !host)) /* RFC 9112 §3.2: 1.1 requests carry Host */
	{
		respond(c, head, 400, NULL, -1, 0);
		return;
	}
	if (te) {
		/* A body we would have to decode: RFC 9112 §6.1 allows 501, and
		 * the connection cannot go on without knowing where it ends. */
		c->close_after = true;
		{
			respond(c, head, 501, NULL, -1, 0);
			return;
		}
	}
	/* A body (meaningless on a GET, RFC 9110 §9.3.1; unwanted on a method
	 * we refuse) is read and discarded, so the next request is found. */
	c->skip = clen;
	if (!get && !head) {
		respond(c, false, 405, NULL, -1, 0);
		return;
	}
	char path[PATH_MAX];
	if (!decode_path(target, tlen, path, sizeof(path))) {
		respond(c, head, 400, NULL, -1, 0);
		return;
	}
	int fd = -1;
	uint64_t size = 0;
	char name[PATH_MAX];
	int code = open_under_root(c->site, path, &fd, &size, name, sizeof(name));
	if (code != 200) {
		respond(c, head, code, NULL, -1, 0);
		return;
	}
	respond(c, head, 200, content_type(name), fd, size);
}

/* The end of the request header in buf (just past the blank line), or 0. */
static size_t header_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Drops the first n bytes of the request buffer. */
static void req_consume(struct conn *c, size_t n)
{
	memmove(c->req, c->req + n, c->req_len - n);
	c->req_len -= n;
}

/* What reading a request came to. */
enum req { REQ_HEADER, REQ_TOO_LARGE, REQ_CLOSED, REQ_FAILED };

/* Reads until c->req holds a whole request header (*hend: its length,
 * the blank line included). The body of the last request is discarded
 * first, and empty lines before a request are ignored (RFC 9112 §2.2).
 * REQ_CLOSED: the client closed (a partial request gets no answer);
 * REQ_FAILED: *err says why (-ETIMEDOUT: no progress for HTTPD_IDLE). */
static enum req read_request(struct conn *c, size_t *hend, long *err)
{
	for (;;) {
		if (c->skip && c->req_len) {
			size_t d = c->skip < c->req_len ? (size_t)c->skip : c->req_len;
			req_consume(c, d);
			c->skip -= d;
			continue;
		}
		if (!c->skip) {
			size_t crlf = 0;
			while (crlf < c->req_len && (c->req[crlf] == '\r' || c->req[crlf] == '\n'))
				crlf++;
			req_consume(c, crlf);
			if ((*hend = header_end(c->req, c->req_len)))
				return REQ_HEADER;
			if (c->req_len == sizeof(c->req))
				return REQ_TOO_LARGE;
		}
		long n = ustcp_recv(c->k, c->req + c->req_len, sizeof(c->req) - c->req_len);
		if (n == 0)
			return REQ_CLOSED;
		if (n < 0) {
			*err = n == -EAGAIN ? -ETIMEDOUT : n; /* SO_RCVTIMEO ran out */
			return REQ_FAILED;
		}
		c->req_len += (size_t)n;
	}
}

/* All of buf, or -ETIMEDOUT when nothing of it went for HTTPD_IDLE
 * (SO_SNDTIMEO), or the connection's error. */
static int send_all(struct ustcp_sock *k, const void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		long m = ustcp_send(k, (const uint8_t *)buf + off, len - off);
		if (m < 0)
			return m == -EAGAIN ? -ETIMEDOUT : (int)m;
		off += (size_t)m;
	}
	return 0;
}

/* The response: its header, then the file a chunk at a time. */
static int send_response(struct conn *c)
{
	int err = send_all(c->k, c->hdr, c->hdr_len);
	for (uint64_t off = 0; !err && c->fd >= 0 && off < c->file_end;) {
		uint64_t left = c->file_end - off;
		ssize_t n = pread(c->fd, c->chunk, left < HTTPD_CHUNK ? (size_t)left : HTTPD_CHUNK,
				  (off_t)off);
		if (n <= 0) {
			/* The file shrank or failed under us: the length we promised
			 * cannot be kept, so the client must see the connection fail. */
			err = n < 0 ? -errno : -EIO;
			break;
		}
		err = send_all(c->k, c->chunk, (size_t)n);
		off += (uint64_t)n;
	}
	conn_file_close(c);
	return err;
}

/* Close our sending side after the response and read until the client's
 * FIN (for HTTPD_LINGER at most): closing at once with its data unread (a
 * pipelined request, a body we refused) would reset the connection (RFC
 * 1122 §4.2.2.13), and the reset can destroy the response before the
 * client has read it (RFC 9112 §9.6). A client that never finishes gets
 * that reset. */
static long linger(struct conn *c)
{
	ustcp_shutdown(c->k, USTCP_SHUT_WR);
	uint64_t end = nethost_clock() + HTTPD_LINGER, now;
	long n = 0;
	while ((now = nethost_clock()) < end) {
		ustcp_setsockopt(c->k, USTCP_SO_RCVTIMEO, end - now);
		if ((n = ustcp_recv(c->k, c->chunk, sizeof(c->chunk))) <= 0)
			break;
	}
	return n == -EAGAIN ? 0 : n;
}

/* Request, response, again, until one side closes. */
static long serve_requests(struct conn *c, bool *reset)
{
	for (;;) {
		size_t hend = 0;
		long err = 0;
		switch (read_request(c, &hend, &err)) {
		case REQ_CLOSED:
			return 0;
		case REQ_FAILED:
			*reset = err != -ETIMEDOUT;
			return err;
		case REQ_TOO_LARGE:
			c->close_after = true;
			c->req_len = 0;
			respond(c, false, 431, NULL, -1, 0);
			break;
		case REQ_HEADER:
			handle_request(c, hend);
			req_consume(c, hend);
			break;
		}
		if ((err = send_response(c)) != 0) {
			*reset = err != -ETIMEDOUT;
			return err;
		}
		if (c->close_after)
			return linger(c);
	}
}

void httpd_serve(void *ctx, struct ustcp_sock *k, const struct ustcp_endpoint *peer)
{
	const struct httpd_site *site = ctx;
	struct conn *c = malloc(sizeof(*c));
	if (!c) {
		ustcp_setsockopt(k, USTCP_SO_LINGER, 0);
		return;
	}
	c->site = site;
	c->k = k;
	c->close_after = false;
	c->requests = 0;
	c->req_len = 0;
	c->skip = 0;
	c->hdr_len = 0;
	c->fd = -1;
	c->file_end = 0;
	ustcp_endpoint_str(peer, 1, c->peer, sizeof(c->peer));
	if (site->verbose)
		fprintf(stderr, "ustcp httpd: %s: connected\n", c->peer);
	ustcp_setsockopt(k, USTCP_SO_RCVTIMEO, HTTPD_IDLE);
	ustcp_setsockopt(k, USTCP_SO_SNDTIMEO, HTTPD_IDLE);
	bool reset = false;
	long err = serve_requests(c, &reset);
	conn_file_close(c);
	if (site->verbose && err)
		fprintf(stderr, "ustcp httpd: %s: %s\n", c->peer, strerror((int)-err));
	else if (site->verbose)
		fprintf(stderr, "ustcp httpd: %s: closed after %llu request(s)\n", c->peer,
			(unsigned long long)c->requests);
	if (reset)
		ustcp_setsockopt(k, USTCP_SO_LINGER, 0);
	free(c);
}

static void usage(void)
{
	printf("usage: ustcp httpd [-p PORT] [--root DIR] [--verbose] --tap IFNAME "
	       "--ip ADDR/PREFIX [options]\n\n"
	       "A static file server: HTTP/1.1 GET and HEAD of the files under DIR,\n"
	       "with persistent connections.\n\n"
	       "  -p PORT             port to listen on (default 80)\n"
	       "  -r, --root DIR      the directory served (default .)\n"
	       "  -v, --verbose       connections and responses on stderr\n%s",
	       netopts_help);
}

struct httpd_args {
	struct httpd_site site;
	uint16_t port;
	const char *root;
};

static int take_arg(void *ctx, int argc, char **argv, int *i)
{
	struct httpd_args *h = ctx;
	const char *a = argv[*i];
	if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
		h->site.verbose = true;
	} else if (!strncmp(a, "--root=", 7)) {
		h->root = a + 7;
	} else if (!strcmp(a, "-r") || !strcmp(a, "--root")) {
		if (*i + 1 == argc)
			return tool_usage_error("httpd", "%s needs a directory", a);
		h->root = argv[++*i];
	} else {
		return netopts_take_port("httpd", argc, argv, i, &h->port);
	}
	return NETOPT_TAKEN;
}

/* The root, as its real path. Returns 0 or 2. */
static int check_root(struct httpd_args *h)
{
	struct stat st;
	if (stat(h->root, &st) < 0)
		return tool_usage_error("httpd", "--root '%s': %s", h->root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return tool_usage_error("httpd", "--root '%s' is not a directory", h->root);
	if (!realpath(h->root, h->site.root))
		return tool_usage_error("httpd", "--root '%s': %s", h->root, strerror(errno));
	return 0;
}

int httpd_listen(struct ustcp_stack *s, uint16_t port, struct ustcp_sock **out)
{
	struct ustcp_endpoint local = {.ip4 = 0, .port = port};
	int rc = ustcp_listen_on(s, local, HTTPD_BACKLOG, out);
	if (rc == 0 && (rc = ustcp_setsockopt(*out, USTCP_SO_SNDBUF, HTTPD_SNDBUF)) < 0) {
		ustcp_close(*out);
		*out = NULL;
	}
	return rc;
}

int cmd_httpd(int argc, char **argv)
{
	struct httpd_args h = {.site = {.verbose = false}, .port = 80, .root = "."};
	struct httpd_site *site = &h.site;
	struct netopts o;
	netopts_init(&o);
	int rc = netopts_parse(&o, "httpd", argc, argv, take_arg, &h, usage);
	if (rc == 0)
		rc = check_root(&h);
	if (rc == 0)
		rc = netopts_finish(&o, "httpd");
	if (rc)
		return rc < 0 ? 0 : rc;
	uint16_t port = h.port;

	struct nethost env;
	struct ustcp_config cfg;
	netopts_stack_config(&o, &cfg);
	if (nethost_open(&env, "httpd", &o, &cfg))
		return 1;
	struct ustcp_sock *l;
	if ((rc = httpd_listen(env.s, port, &l)) < 0) {
		fprintf(stderr, "ustcp httpd: listen on port %u: %s\n", port, strerror(-rc));
		nethost_close(&env);
		return 1;
	}
	if (site->verbose) {
		nethost_print_addrs(&env);
		fprintf(stderr, "ustcp httpd: serving %s on port %u\n", site->root, port);
	}
	struct service_config sc = {.cmd = "httpd",
				    .listener = l,
				    .threads = true,
				    .serve = httpd_serve,
				    .ctx = site,
				    .verbose = site->verbose};
	int code = service_run(&env, &sc);
	nethost_close(&env);
	return code;
}
