/* httpd.c — `ustcp httpd`: a static file server (HTTP/1.1, RFC 9110 and
 * RFC 9112) on a TAP device.
 *
 * GET and HEAD of the regular files under --root; a directory stands for
 * its index.html. Connections persist (RFC 9112 §9.3) unless the client
 * asks to close or speaks HTTP/1.0 without "Connection: keep-alive";
 * pipelined requests are answered in order. A file is never loaded whole:
 * it is read in chunks as the connection's send buffer has room, so a
 * download costs one chunk buffer however large the file and however many
 * clients. Runs until SIGINT or SIGTERM, then closes every connection and
 * exits 0. */
#define _GNU_SOURCE

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

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "netopts.h"
#include "tool.h"
#include "ustcp/runtime.h"
#include "ustcp/ustcp.h"

#define HTTPD_CHUNK (256 * 1024) /* file bytes read per pread/send pair */
#define HTTPD_BACKLOG 128
/* Send buffer: room for several chunks in flight on a fast TAP path. */
#define HTTPD_SNDBUF (4 * 1024 * 1024)
#define HTTPD_REQ_MAX (16 * 1024) /* request line and header fields */
#define HTTPD_HDR_MAX 1024        /* our response header */
#define HTTPD_IDLE_S 60           /* a connection without progress this long is closed */
#define HTTPD_LINGER_S 5          /* how long a closing connection drains the client's data */

enum conn_phase {
	PH_READ,   /* reading (and answering) requests */
	PH_SEND,   /* sending a response */
	PH_LINGER, /* our side shut down: draining the client until its FIN */
};

struct httpd;

struct conn {
	struct httpd *h;
	struct ustcp_sock *k;
	struct conn *next, *prev; /* every open connection */
	struct conn *next_ready;
	bool ready;  /* in the ready queue */
	bool closed; /* released; freed when it leaves the ready queue */
	enum conn_phase phase;
	bool close_after;     /* close once this response is sent */
	uint64_t last_active; /* runtime clock, ns */
	uint64_t requests;
	/* The request bytes received and not yet parsed. */
	char req[HTTPD_REQ_MAX];
	size_t req_len;
	uint64_t skip; /* request body bytes still to discard */
	/* The response being sent: its header, then the file. */
	char hdr[HTTPD_HDR_MAX];
	size_t hdr_len, hdr_off;
	int fd; /* -1: no file */
	uint64_t file_off, file_end;
	char peer[USTCP_ENDPOINT_STRLEN]; /* "10.0.0.1:80" or "[fd00::1]:80" */
};

struct httpd {
	struct netenv env;
	struct ustcp_sock *listener;
	bool accept_ready;
	bool verbose;
	char root[PATH_MAX]; /* the real path of --root */
	int timer_fd;
	struct conn all; /* list head */
	struct conn *ready_head, *ready_tail;
	uint8_t *buf;
	uint64_t nconns;
};

static void mark_ready(struct httpd *h, struct conn *c)
{
	if (c->ready)
		return;
	c->ready = true;
	c->next_ready = NULL;
	if (h->ready_tail)
		h->ready_tail->next_ready = c;
	else
		h->ready_head = c;
	h->ready_tail = c;
}

static struct conn *pop_ready(struct httpd *h)
{
	struct conn *c = h->ready_head;
	if (!c)
		return NULL;
	h->ready_head = c->next_ready;
	if (!h->ready_head)
		h->ready_tail = NULL;
	c->ready = false;
	return c;
}

/* The stack's event handler notes what is ready; the turn function serves
 * every ready socket once per turn (see runtime.h). */
static void on_event(void *ctx, struct ustcp_sock *k, unsigned events)
{
	struct httpd *h = ctx;
	(void)events;
	if (k == h->listener) {
		h->accept_ready = true;
		return;
	}
	struct conn *c = ustcp_sock_user(k);
	if (c && !c->closed)
		mark_ready(h, c);
}

static void conn_file_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Releases the socket: abort resets it, otherwise queued data is still
 * sent, then the FIN. */
static void conn_release(struct httpd *h, struct conn *c, int err, bool abort)
{
	if (h->verbose && err)
		fprintf(stderr, "ustcp httpd: %s: %s\n", c->peer, strerror(-err));
	else if (h->verbose)
		fprintf(stderr, "ustcp httpd: %s: closed after %llu request(s)\n", c->peer,
			(unsigned long long)c->requests);
	conn_file_close(c);
	ustcp_sock_set_user(c->k, NULL);
	if (abort)
		ustcp_abort(c->k);
	else
		ustcp_close(c->k);
	c->k = NULL;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->closed = true;
	h->nconns--;
	if (!c->ready)
		free(c);
}

/* Close our sending side after the queued response and keep reading until
 * the client's FIN: closing at once with its data unread (a pipelined
 * request, a body we refused) would reset the connection (RFC 1122
 * §4.2.2.13), and the reset can destroy the response before the client has
 * read it (RFC 9112 §9.6). */
static void conn_linger(struct conn *c)
{
	conn_file_close(c);
	ustcp_shutdown(c->k, USTCP_SHUT_WR);
	c->phase = PH_LINGER;
	c->req_len = 0;
	c->last_active = ustcp_runtime_now(c->h->env.rt);
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
	c->hdr_off = 0;
	c->fd = -1;
	c->file_off = c->file_end = 0;
	if (head || fd < 0) {
		if (fd >= 0)
			close(fd);
	} else {
		c->fd = fd;
		c->file_end = len;
	}
	c->phase = PH_SEND;
	if (c->h->verbose)
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
static int open_under_root(struct httpd *h, const char *path, int *fd_out, uint64_t *size,
			   char *name, size_t name_cap)
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
		snprintf(full, sizeof(full), "%s/%s", h->root, want);
		if (!realpath(full, real))
			return errno == EACCES ? 403 : 404;
		size_t rl = strlen(h->root);
		bool inside = !strcmp(h->root, "/") ||
			      (!strncmp(real, h->root, rl) && (real[rl] == '/' || real[rl] == 0));
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
static void handle_request(struct httpd *h, struct conn *c, size_t len)
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
	int code = open_under_root(h, path, &fd, &size, name, sizeof(name));
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

/* Sends as much of the response as the send buffer takes. Returns true
 * when it has all been queued. */
static bool send_response(struct httpd *h, struct conn *c, int *err)
{
	while (c->hdr_off < c->hdr_len) {
		long m = ustcp_send(c->k, c->hdr + c->hdr_off, c->hdr_len - c->hdr_off);
		if (m == -EAGAIN)
			return false;
		if (m < 0) {
			*err = (int)m;
			return false;
		}
		c->hdr_off += (size_t)m;
		c->last_active = ustcp_runtime_now(h->env.rt);
	}
	while (c->fd >= 0 && c->file_off < c->file_end) {
		size_t room = ustcp_sock_writable(c->k);
		if (room == 0)
			return false; /* its WRITABLE event brings us back */
		uint64_t left = c->file_end - c->file_off;
		size_t want = room < HTTPD_CHUNK ? room : HTTPD_CHUNK;
		if (want > left)
			want = (size_t)left;
		ssize_t n = pread(c->fd, h->buf, want, (off_t)c->file_off);
		if (n <= 0) {
			/* The file shrank or failed under us: the length we promised
			 * cannot be kept, so the client must see the connection fail. */
			*err = n < 0 ? -errno : -EIO;
			return false;
		}
		long m = ustcp_send(c->k, h->buf, (size_t)n);
		if (m < 0) {
			*err = m == -EAGAIN ? -EIO : (int)m;
			return false;
		}
		/* Fewer taken than offered: the rest is read again next time. */
		c->file_off += (uint64_t)m;
		c->last_active = ustcp_runtime_now(h->env.rt);
	}
	conn_file_close(c);
	return true;
}

static void serve(struct httpd *h, struct conn *c)
{
	/* Each pass answers one request or waits; the bound only guards
	 * against a client that pipelines without end in one turn. */
	for (int pass = 0; pass < 64; pass++) {
		if (c->phase == PH_SEND) {
			int err = 0;
			if (!send_response(h, c, &err)) {
				if (err)
					conn_release(h, c, err, true);
				return;
			}
			if (c->close_after) {
				conn_linger(c);
				continue;
			}
			c->phase = PH_READ;
		}
		if (c->phase == PH_LINGER) {
			for (int i = 0; i < 64; i++) {
				long n = ustcp_recv(c->k, h->buf, HTTPD_CHUNK);
				if (n == -EAGAIN)
					return;
				if (n <= 0) {
					conn_release(h, c, n < 0 ? (int)n : 0, false);
					return;
				}
			}
			mark_ready(h, c); /* more next turn */
			return;
		}
		/* PH_READ: a complete request in the buffer is answered first;
		 * empty lines before one are ignored (RFC 9112 §2.2). */
		size_t crlf = 0;
		while (!c->skip && crlf < c->req_len &&
		       (c->req[crlf] == '\r' || c->req[crlf] == '\n'))
			crlf++;
		if (crlf) {
			memmove(c->req, c->req + crlf, c->req_len - crlf);
			c->req_len -= crlf;
		}
		size_t hend = c->skip ? 0 : header_end(c->req, c->req_len);
		if (hend) {
			handle_request(h, c, hend);
			memmove(c->req, c->req + hend, c->req_len - hend);
			c->req_len -= hend;
			continue;
		}
		if (c->skip && c->req_len) {
			size_t d = c->skip < c->req_len ? (size_t)c->skip : c->req_len;
			memmove(c->req, c->req + d, c->req_len - d);
			c->req_len -= d;
			c->skip -= d;
			continue;
		}
		if (c->req_len == sizeof(c->req)) {
			c->close_after = true;
			c->req_len = 0;
			respond(c, false, 431, NULL, -1, 0);
			continue;
		}
		long n = ustcp_recv(c->k, c->req + c->req_len, sizeof(c->req) - c->req_len);
		if (n == -EAGAIN)
			return;
		if (n == 0) {
			/* The client closed. A partial request gets no answer. */
			conn_release(h, c, 0, false);
			return;
		}
		if (n < 0) {
			conn_release(h, c, (int)n, true);
			return;
		}
		c->req_len += (size_t)n;
		c->last_active = ustcp_runtime_now(h->env.rt);
	}
	mark_ready(h, c);
}

static void accept_all(struct httpd *h)
{
	h->accept_ready = false;
	struct ustcp_sock *k;
	while (ustcp_accept(h->listener, &k) == 0) {
		struct conn *c = malloc(sizeof(*c));
		if (!c) {
			ustcp_abort(k);
			continue;
		}
		memset(c, 0, offsetof(struct conn, req));
		c->req_len = 0;
		c->skip = 0;
		c->hdr_len = c->hdr_off = 0;
		c->fd = -1;
		c->file_off = c->file_end = 0;
		c->h = h;
		c->k = k;
		c->phase = PH_READ;
		c->last_active = ustcp_runtime_now(h->env.rt);
		struct ustcp_sock_info in;
		ustcp_sock_info(k, &in);
		ustcp_endpoint_str(&in.remote, 1, c->peer, sizeof(c->peer));
		c->next = h->all.next;
		c->prev = &h->all;
		h->all.next->prev = c;
		h->all.next = c;
		h->nconns++;
		ustcp_sock_set_user(k, c);
		if (h->verbose)
			fprintf(stderr, "ustcp httpd: %s: connected\n", c->peer);
		/* The request may have come with the handshake, before any event. */
		mark_ready(h, c);
	}
}

static void turn(void *ctx)
{
	struct httpd *h = ctx;
	if (h->accept_ready)
		accept_all(h);
	/* Serving one connection can make others ready, so the bound is
	 * generous; what is left waits for the next turn. */
	for (int i = 0; i < 100000; i++) {
		struct conn *c = pop_ready(h);
		if (!c)
			break;
		if (c->closed)
			free(c);
		else
			serve(h, c);
	}
}

/* Once a second: close connections idle too long, and lingering ones
 * whose client never sends its FIN. */
static void on_timer(void *ctx, int fd, uint32_t events)
{
	struct httpd *h = ctx;
	(void)events;
	uint64_t ticks;
	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	uint64_t now = ustcp_runtime_now(h->env.rt);
	struct conn *c = h->all.next;
	while (c != &h->all) {
		struct conn *next = c->next;
		uint64_t limit = (uint64_t)(c->phase == PH_LINGER ? HTTPD_LINGER_S : HTTPD_IDLE_S) *
				 1000000000ull;
		if (now - c->last_active > limit)
			/* Lingering: what is left unread makes a reset, which
			 * is what a client that never finishes deserves. */
			conn_release(h, c, c->phase == PH_LINGER ? 0 : -ETIMEDOUT, false);
		c = next;
	}
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

static int parse_args(struct httpd *h, struct netopts *o, uint16_t *port, const char **root,
		      int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = netopts_take(o, "httpd", argc, argv, &i);
		if (rc == NETOPT_TAKEN)
			continue;
		if (rc != NETOPT_OTHER)
			return rc;
		const char *val = NULL;
		if (!strncmp(a, "--root=", 7)) {
			val = a + 7;
			a = "--root";
		} else if (!strncmp(a, "--port=", 7)) {
			val = a + 7;
			a = "--port";
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			return -1;
		}
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			h->verbose = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
			if (!val && i + 1 == argc)
				return tool_usage_error("httpd", "%s needs a port", a);
			if (!val)
				val = argv[++i];
			if (!netopts_parse_port(val, port))
				return tool_usage_error("httpd",
							"%s wants a port from 1 to 65535, not '%s'",
							a, val);
		} else if (!strcmp(a, "-r") || !strcmp(a, "--root")) {
			if (!val && i + 1 == argc)
				return tool_usage_error("httpd", "%s needs a directory", a);
			*root = val ? val : argv[++i];
		} else {
			return tool_usage_error("httpd", "unknown option '%s'", a);
		}
	}
	struct stat st;
	if (stat(*root, &st) < 0)
		return tool_usage_error("httpd", "--root '%s': %s", *root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return tool_usage_error("httpd", "--root '%s' is not a directory", *root);
	if (!realpath(*root, h->root))
		return tool_usage_error("httpd", "--root '%s': %s", *root, strerror(errno));
	return netopts_finish(o, "httpd");
}

static void close_all(struct httpd *h)
{
	while (h->all.next != &h->all)
		conn_release(h, h->all.next, 0, false);
	struct conn *c;
	while ((c = pop_ready(h)))
		free(c); /* released above, left for the queue to free */
	if (h->listener)
		ustcp_close(h->listener);
	h->listener = NULL;
}

int cmd_httpd(int argc, char **argv)
{
	struct httpd h;
	struct netopts o;
	uint16_t port = 80;
	const char *root = ".";
	memset(&h, 0, sizeof(h));
	h.all.next = h.all.prev = &h.all;
	h.timer_fd = -1;
	netopts_init(&o);
	int rc = parse_args(&h, &o, &port, &root, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;

	struct ustcp_config cfg;
	netopts_stack_config(&o, &cfg);
	if (netenv_open(&h.env, "httpd", &o, &cfg))
		return 1;
	h.buf = malloc(HTTPD_CHUNK);
	struct ustcp_endpoint local = {.ip4 = 0, .port = port};
	rc = h.buf ? ustcp_listen_on(h.env.s, local, HTTPD_BACKLOG, &h.listener) : -ENOMEM;
	if (rc == 0)
		rc = ustcp_setsockopt(h.listener, USTCP_SO_SNDBUF, HTTPD_SNDBUF);
	if (rc < 0) {
		fprintf(stderr, "ustcp httpd: listen on port %u: %s\n", port, strerror(-rc));
		goto fail;
	}
	h.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct itimerspec its = {{1, 0}, {1, 0}};
	if (h.timer_fd < 0 || timerfd_settime(h.timer_fd, 0, &its, NULL) < 0 ||
	    ustcp_runtime_watch(h.env.rt, h.timer_fd, EPOLLIN, on_timer, &h) < 0) {
		fprintf(stderr, "ustcp httpd: timer: %s\n", strerror(errno));
		goto fail;
	}
	ustcp_set_event_handler(h.env.s, on_event, &h);
	ustcp_runtime_set_turn(h.env.rt, turn, &h);
	if (h.verbose) {
		netenv_print_addrs(&h.env);
		fprintf(stderr, "ustcp httpd: serving %s on port %u\n", h.root, port);
	}

	rc = ustcp_runtime_run(h.env.rt, 0);
	int code = 0;
	if (rc < 0) {
		fprintf(stderr, "ustcp httpd: %s\n", ustcp_runtime_error(h.env.rt));
		code = 1;
	}
	close_all(&h);
	/* Let the FINs and resets of the last call reach the device. */
	ustcp_runtime_set_turn(h.env.rt, NULL, NULL);
	ustcp_runtime_run(h.env.rt, 1);
	if (h.verbose && h.env.signo)
		fprintf(stderr, "ustcp httpd: %s, stopped\n", strsignal(h.env.signo));
	if (h.verbose)
		netenv_report(&h.env);
	ustcp_runtime_unwatch(h.env.rt, h.timer_fd);
	close(h.timer_fd);
	netenv_close(&h.env);
	free(h.buf);
	return code;

fail:
	if (h.timer_fd >= 0) {
		ustcp_runtime_unwatch(h.env.rt, h.timer_fd);
		close(h.timer_fd);
	}
	if (h.listener)
		ustcp_close(h.listener);
	netenv_close(&h.env);
	free(h.buf);
	return 1;
}
