/* test_scale.c — many connections: an interface with a range of addresses
 * (so that one client has more than a port range's worth of connections to
 * one server port), a hundred thousand connections opened, used and
 * closed in the memory the pool's accounting promises, a bulk transfer
 * beside ten thousand idle connections that hold no timer, and bind's and
 * the port allocator's answers with many connections. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>

#include "tcp/tcp_conn.h" /* tcp_accounting_ok: the counts kept match a walk of the pool */

#define SPORT 80

/* A client stack on a range of addresses and a server, on one link. */
struct scale {
	struct ustcp_sim *sim;
	struct ustcp_stack *cli, *srv;
	int cport, sport;
	uint32_t cli_ip, srv_ip; /* host order */
	uint32_t n_cli_ips;
};

static void scale_new_ips(struct scale *k, const struct ustcp_config *cc,
			  const struct ustcp_config *sc, uint32_t n_cli_ips, uint32_t n_srv_ips,
			  bool use_arp)
{
	static const uint8_t cmac[6] = {2, 0, 0, 0, 1, 1}, smac[6] = {2, 0, 0, 0, 2, 1};
	memset(k, 0, sizeof(*k));
	k->cli_ip = 0x0a000010u; /* 10.0.0.16 and up, on the server's /24 */
	k->srv_ip = 0x0a000001u; /* 10.0.0.1 */
	k->n_cli_ips = n_cli_ips;
	k->sim = ustcp_sim_new(11);
	assert_non_null(k->sim);
	k->cli = ustcp_stack_new(cc);
	k->srv = ustcp_stack_new(sc);
	assert_non_null(k->cli);
	assert_non_null(k->srv);
	ustcp_sim_use_arp(k->sim, use_arp);
	k->sport = ustcp_sim_add_stack_range(k->sim, k->srv, smac, htonl(k->srv_ip), n_srv_ips);
	k->cport = ustcp_sim_add_stack_range(k->sim, k->cli, cmac, htonl(k->cli_ip), n_cli_ips);
	assert_true(k->sport >= 0 && k->cport >= 0);
	struct ustcp_impair imp = {.delay = 1 * MS};
	ustcp_sim_set_impair(k->sim, k->sport, &imp);
	ustcp_sim_set_impair(k->sim, k->cport, &imp);
}

static void scale_new(struct scale *k, const struct ustcp_config *cc, const struct ustcp_config *sc,
		      uint32_t n_cli_ips, bool use_arp)
{
	scale_new_ips(k, cc, sc, n_cli_ips, 1, use_arp);
}

static void scale_free(struct scale *k)
{
	ustcp_sim_free(k->sim);
	ustcp_stack_free(k->cli);
	ustcp_stack_free(k->srv);
}

static void scale_run(struct scale *k, uint64_t dt)
{
	ustcp_sim_run_until(k->sim, ustcp_sim_now(k->sim) + dt);
}

static struct ustcp_endpoint ep4(uint32_t ip, uint16_t port)
{
	return (struct ustcp_endpoint){.ip4 = ip, .port = port};
}

/* A connection from the client's i-th address (an ephemeral port) to the
 * server's port; 0 or the error. */
static int connect_from(struct scale *k, uint32_t i, uint16_t sport, struct ustcp_sock **out)
{
	*out = NULL;
	return ustcp_connect_to(k->cli, ep4(k->cli_ip + i, 0), ep4(k->srv_ip, sport), out);
}

static int no_link(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx, (void)frame, (void)len;
	return 0;
}

/* Every one of a client's addresses is its own: it answers ARP for each
 * (from the address asked for), takes segments to each, and a socket bound
 * to one sends from it. */
static void address_range_is_all_ours(void **state)
{
	(void)state;
	struct scale k;
	scale_new(&k, NULL, NULL, 4, true);
	struct ustcp_sock *l, *c[4], *a[4] = {0};
	assert_int_equal(ustcp_listen_on(k.srv, ep4(k.srv_ip, SPORT), 8, &l), 0);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(connect_from(&k, i, SPORT, &c[i]), 0);
	scale_run(&k, 50 * MS);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(ustcp_sock_state(c[i]), USTCP_ESTABLISHED);
		assert_int_equal(ustcp_accept(l, &a[i]), 0);
	}
	/* Each accepted connection came from a different address of the range. */
	uint32_t seen = 0;
	for (uint32_t i = 0; i < 4; i++) {
		struct ustcp_endpoint peer;
		assert_int_equal(ustcp_getpeername(a[i], &peer), 0);
		assert_true(peer.ip4 >= k.cli_ip && peer.ip4 < k.cli_ip + 4);
		seen |= 1u << (peer.ip4 - k.cli_ip);
		h_send_all(a[i], "hello");
	}
	assert_int_equal(seen, 0xf);
	scale_run(&k, 50 * MS);
	for (uint32_t i = 0; i < 4; i++)
		h_expect_read(c[i], "hello");
	/* The server asked for the three addresses beside the first (which
	 * its own ARP request taught it) and had its answers from them. */
	assert_int_equal(ustcp_counter(k.cli, USTCP_C_arp_replies_out), 3);
	assert_int_equal(ustcp_drops_total(k.cli), 0);
	assert_int_equal(ustcp_drops_total(k.srv), 0);
	/* Past the range nothing is ours: a bind there fails. */
	struct ustcp_sock *b;
	assert_int_equal(ustcp_socket(k.cli, &b), 0);
	assert_int_equal(ustcp_bind(b, ep4(k.cli_ip + 4, 0)), -EADDRNOTAVAIL);
	assert_int_equal(ustcp_bind(b, ep4(k.cli_ip + 3, 0)), 0);
	assert_int_equal(ustcp_close(b), 0);
	/* A range that would run past 255.255.255.255 is refused. */
	struct ustcp_iface_config ic = {
		.ip4 = htonl(0xfffffff0u), .prefix_len = 24, .ip4_count = 17, .transmit = no_link};
	assert_int_equal(ustcp_iface_add(k.cli, &ic), -EINVAL);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(ustcp_close(c[i]), 0);
		assert_int_equal(ustcp_close(a[i]), 0);
	}
	assert_int_equal(ustcp_close(l), 0);
	scale_free(&k);
}

static int bind_to(struct ustcp_stack *s, uint32_t ip, uint16_t port, bool reuse,
		   struct ustcp_sock **out)
{
	assert_int_equal(ustcp_socket(s, out), 0);
	if (reuse)
		assert_int_equal(ustcp_setsockopt(*out, USTCP_SO_REUSEADDR, 1), 0);
	return ustcp_bind(*out, ep4(ip, port));
}

/* bind's answer for ip:port (the socket is closed again). */
static int try_bind(struct ustcp_stack *s, uint32_t ip, uint16_t port, bool reuse)
{
	struct ustcp_sock *k;
	int rc = bind_to(s, ip, port, reuse, &k);
	assert_int_equal(ustcp_close(k), 0);
	return rc;
}

/* Accept what the listener has; each accepted connection goes to the slot
 * of the client connection whose port and address it came from. */
struct pairs {
	struct ustcp_sock **c, **s; /* client and server end of each */
	uint32_t n;
	uint32_t *by_port; /* client address i, port p: index + 1 */
	uint32_t n_ips;
};

static void pairs_new(struct pairs *p, uint32_t n, uint32_t n_ips)
{
	p->n = 0;
	p->n_ips = n_ips;
	p->c = calloc(n, sizeof(*p->c));
	p->s = calloc(n, sizeof(*p->s));
	p->by_port = calloc((size_t)n_ips * 65536, sizeof(*p->by_port));
	assert_true(p->c && p->s && p->by_port);
}

static void pairs_free(struct pairs *p)
{
	free(p->c);
	free(p->s);
	free(p->by_port);
}

static uint32_t accept_pairs(struct scale *k, struct pairs *p, struct ustcp_sock *l)
{
	uint32_t got = 0;
	struct ustcp_sock *a;
	while (ustcp_accept(l, &a) == 0) {
		struct ustcp_endpoint peer;
		assert_int_equal(ustcp_getpeername(a, &peer), 0);
		uint32_t at = p->by_port[(size_t)(peer.ip4 - k->cli_ip) * 65536 + peer.port];
		assert_true(at > 0 && !p->s[at - 1]);
		p->s[at - 1] = a;
		got++;
	}
	return got;
}

/* count more connections to the server's sport, from the client's
 * addresses in turn; run until every one is established at both ends. */
static void open_pairs(struct scale *k, struct pairs *p, struct ustcp_sock *l, uint32_t count)
{
	uint32_t first = p->n;
	for (uint32_t i = first; i < first + count; i++) {
		uint32_t a = i % p->n_ips;
		struct ustcp_endpoint me;
		assert_int_equal(connect_from(k, a, SPORT, &p->c[i]), 0);
		assert_int_equal(ustcp_getsockname(p->c[i], &me), 0);
		assert_int_equal(p->by_port[(size_t)a * 65536 + me.port],
				 0); /* a port per 4-tuple */
		p->by_port[(size_t)a * 65536 + me.port] = i + 1;
	}
	p->n += count;
	uint32_t got = 0;
	for (int ms = 0; ms < 100 && got < count; ms++) {
		scale_run(k, 1 * MS);
		got += accept_pairs(k, p, l);
	}
	assert_int_equal(got, count);
	for (uint32_t i = first; i < first + count; i++) {
		assert_int_equal(ustcp_sock_state(p->c[i]), USTCP_ESTABLISHED);
		assert_int_equal(ustcp_sock_state(p->s[i]), USTCP_ESTABLISHED);
	}
}

/* Bytes of connection i's message in direction dir. */
static void message(char *buf, size_t len, uint32_t i, int dir)
{
	for (size_t j = 0; j < len; j++)
		buf[j] = (char)('a' + (i * 7 + j * 3 + (size_t)dir * 11) % 26);
}

/* len bytes each way on connection i, checked. */
static void talk(struct scale *k, struct pairs *p, uint32_t i, size_t len)
{
	char out[2048], in[2048];
	assert_true(len <= sizeof(out));
	for (int dir = 0; dir < 2; dir++) {
		struct ustcp_sock *from = dir ? p->s[i] : p->c[i], *to = dir ? p->c[i] : p->s[i];
		message(out, len, i, dir);
		assert_int_equal(ustcp_send(from, out, len), (long)len);
		for (int ms = 0; ms < 100 && ustcp_sock_readable(to) < len; ms++)
			scale_run(k, 1 * MS);
		assert_int_equal(ustcp_recv(to, in, sizeof(in)), (long)len);
		assert_memory_equal(in, out, len);
	}
}

static struct ustcp_pool_usage usage(struct ustcp_stack *s)
{
	struct ustcp_pool_usage u;
	ustcp_pool_usage(s, &u);
	return u;
}

/* What each connection of the stack costs, buffers included. */
static double bytes_per_conn(struct ustcp_stack *s)
{
	struct ustcp_pool_usage u = usage(s);
	return (double)(u.pool_bytes + u.conn_bytes + u.buffer_bytes) / u.conns;
}

static void configure(struct ustcp_config *c, uint64_t seed, uint32_t max_conns)
{
	h_init_cfg(c, seed);
	c->max_conns = max_conns;
	c->max_backlog = 65535;
	c->msl = 1 * SEC;
}

#define MANY 100000
#define MANY_IPS 7 /* 16,384 ephemeral ports each */

/* A hundred thousand connections established, every one within 1 KiB of
 * memory (the pool's accounting: its slot, its share of the tables, what
 * it holds beside) and without a timer; data both ways on a sample; then
 * all closed, the client first, and nothing left on either side. */
static void hundred_thousand_connections_cost_under_a_kib_each(void **state)
{
	(void)state;
	struct ustcp_config cc, sc;
	configure(&cc, 3, MANY);
	configure(&sc, 1, MANY + 1);
	struct scale k;
	scale_new(&k, &cc, &sc, MANY_IPS, false);
	struct ustcp_sock *l;
	assert_int_equal(ustcp_listen_on(k.srv, ep4(k.srv_ip, SPORT), 65535, &l), 0);
	struct pairs p;
	pairs_new(&p, MANY, MANY_IPS);
	while (p.n < MANY)
		open_pairs(&k, &p, l, MANY - p.n < 20000 ? MANY - p.n : 20000);

	struct ustcp_stack *st[2] = {k.cli, k.srv};
	for (int i = 0; i < 2; i++) {
		struct ustcp_pool_usage u = usage(st[i]);
		assert_int_equal(u.conns, MANY + (uint32_t)i);
		assert_int_equal(u.buffer_bytes, 0);
		assert_int_equal(u.timers, 0); /* keepalive is off: idle costs no timer */
		assert_true(u.tcb_bytes <= 1024);
		assert_true(bytes_per_conn(st[i]) <= 1024.0);
		assert_true(tcp_accounting_ok(st[i]));
	}
	/* Data on every 500th connection: buffers come with it, for it alone. */
	for (uint32_t i = 0; i < MANY; i += 500)
		talk(&k, &p, i, 1000);
	assert_true(usage(k.cli).buffer_bytes > 0);
	scale_run(&k, 100 * MS);
	assert_int_equal(usage(k.cli).timers, 0);
	assert_int_equal(usage(k.srv).timers, 0);

	/* The client closes every connection, then the server each of its ends
	 * after the FIN: the client's TIME-WAITs end 2 MSL later. */
	for (uint32_t i = 0; i < MANY; i++)
		assert_int_equal(ustcp_close(p.c[i]), 0);
	scale_run(&k, 10 * MS);
	assert_int_equal(usage(k.cli).closing, 0);
	char c;
	for (uint32_t i = 0; i < MANY; i++) {
		assert_int_equal(ustcp_recv(p.s[i], &c, 1), 0);
		assert_int_equal(ustcp_close(p.s[i]), 0);
	}
	assert_int_equal(usage(k.srv).closing, MANY);
	scale_run(&k, 10 * MS);
	assert_int_equal(usage(k.srv).closing, 0);
	assert_int_equal(usage(k.srv).conns, 1);
	assert_true(tcp_accounting_ok(k.cli) && tcp_accounting_ok(k.srv));
	scale_run(&k, 3 * SEC);
	assert_int_equal(ustcp_close(l), 0);
	for (int i = 0; i < 2; i++) {
		struct ustcp_pool_usage u = usage(st[i]);
		assert_int_equal(u.conns, 0);
		assert_int_equal(u.timers, 0);
		assert_int_equal(u.buffer_bytes, 0);
		assert_true(u.conn_bytes <=
			    64 * sizeof(struct tcp_port_use)); /* the port table's least */
		assert_int_equal(ustcp_counter(st[i], USTCP_C_tcp_retransmits), 0);
		assert_int_equal(ustcp_counter(st[i], USTCP_C_tcp_rst_out), 0);
		assert_int_equal(ustcp_drops_total(st[i]), 0);
	}
	assert_int_equal(ustcp_counter(k.cli, USTCP_C_tcp_active_opens), MANY);
	assert_int_equal(ustcp_counter(k.srv, USTCP_C_tcp_passive_opens), MANY);
	pairs_free(&p);
	scale_free(&k);
}

#define IDLE 10000
#define BULK (8u << 20)

/* A bulk transfer beside ten thousand idle connections: every byte
 * arrives, the stacks hold no timer but the transfer's own while it runs
 * (retransmission, delayed ACK, RACK's), and the idle ones never send or
 * receive a segment. */
static void bulk_beside_ten_thousand_idle_connections(void **state)
{
	(void)state;
	struct ustcp_config cc, sc;
	configure(&cc, 5, IDLE + 1);
	configure(&sc, 6, IDLE + 2);
	struct scale k;
	scale_new(&k, &cc, &sc, 1, false);
	struct ustcp_sock *l;
	assert_int_equal(ustcp_listen_on(k.srv, ep4(k.srv_ip, SPORT), 65535, &l), 0);
	struct pairs p;
	pairs_new(&p, IDLE + 1, 1);
	open_pairs(&k, &p, l, IDLE);
	assert_int_equal(usage(k.cli).timers, 0);
	assert_int_equal(usage(k.srv).timers, 0);

	open_pairs(&k, &p, l, 1);
	struct ustcp_sock *a = p.c[IDLE], *b = p.s[IDLE];
	static char out[1 << 16], in[1 << 16];
	message(out, sizeof(out), 1, 0);
	uint64_t sent = 0, got = 0;
	uint32_t most_timers = 0;
	while (got < BULK) {
		long r;
		while (sent < BULK &&
		       (r = ustcp_send(a, out + sent % sizeof(out),
				       sizeof(out) - (size_t)(sent % sizeof(out)))) > 0)
			sent += (uint64_t)r;
		scale_run(&k, 1 * MS);
		while ((r = ustcp_recv(b, in, sizeof(in) - (size_t)(got % sizeof(in)))) > 0) {
			assert_memory_equal(in, out + got % sizeof(out), (size_t)r);
			got += (uint64_t)r;
		}
		most_timers = MAX(most_timers, usage(k.cli).timers + usage(k.srv).timers);
	}
	assert_int_equal(got, BULK);
	assert_true(most_timers > 0 && most_timers <= 6); /* three a side at most */
	scale_run(&k, 1 * SEC);
	assert_int_equal(usage(k.cli).timers, 0);
	assert_int_equal(usage(k.srv).timers, 0);
	/* The idle ones said nothing since their handshakes. */
	for (uint32_t i = 0; i < IDLE; i += 97) {
		struct ustcp_sock_info ci = h_info(p.c[i]), si = h_info(p.s[i]);
		assert_int_equal(ci.segs_out, 2); /* SYN, ACK */
		assert_int_equal(ci.segs_in, 1);  /* SYN,ACK */
		assert_int_equal(si.segs_out, 1);
		assert_int_equal(si.segs_in, 1);
		assert_int_equal(ci.state, USTCP_ESTABLISHED);
	}
	assert_int_equal(ustcp_counter(k.cli, USTCP_C_tcp_retransmits), 0);
	assert_int_equal(ustcp_drops_total(k.cli), 0);
	assert_int_equal(ustcp_drops_total(k.srv), 0);
	pairs_free(&p);
	scale_free(&k);
}

#define PORTS_CONNS 20000

/* bind with twenty thousand connections on the port: they hold it on
 * their address only, established ones against SO_REUSEADDR too, and in
 * TIME-WAIT they give way to it; a client's ephemeral ports are held on
 * their address. The counts kept stay those a walk of the pool finds. */
static void bind_with_many_connections_on_the_port(void **state)
{
	(void)state;
	struct ustcp_config cc, sc;
	configure(&cc, 7, PORTS_CONNS + 4);
	configure(&sc, 8, PORTS_CONNS + 8);
	struct scale k;
	scale_new_ips(&k, &cc, &sc, 2, 2, false);
	uint32_t s1 = k.srv_ip, s2 = k.srv_ip + 1;
	struct ustcp_sock *l, *l2, *tw_l;
	assert_int_equal(ustcp_listen_on(k.srv, ep4(s1, SPORT), 65535, &l), 0);
	struct pairs p;
	pairs_new(&p, PORTS_CONNS, 2);
	open_pairs(&k, &p, l, PORTS_CONNS);

	assert_int_equal(try_bind(k.srv, s1, SPORT, false), -EADDRINUSE);
	assert_int_equal(try_bind(k.srv, s1, SPORT, true), -EADDRINUSE);
	assert_int_equal(try_bind(k.srv, 0, SPORT, true), -EADDRINUSE);
	assert_int_equal(try_bind(k.srv, s1, SPORT + 1, false), 0);
	/* The other address's port 80 is free: a second listener takes it. */
	assert_int_equal(bind_to(k.srv, s2, SPORT, false, &l2), 0);
	assert_int_equal(ustcp_listen(l2, 4), 0);
	assert_int_equal(try_bind(k.srv, s2, SPORT, true), -EADDRINUSE);
	assert_int_equal(ustcp_close(l2), 0);
	/* Without their listener the connections still hold the port. */
	assert_int_equal(ustcp_close(l), 0);
	assert_int_equal(try_bind(k.srv, s1, SPORT, true), -EADDRINUSE);

	/* The client's ports: held on the address that connected from them. */
	struct ustcp_endpoint me;
	assert_int_equal(ustcp_getsockname(p.c[0], &me), 0); /* from the first address */
	assert_int_equal(try_bind(k.cli, k.cli_ip, me.port, true), -EADDRINUSE);
	assert_int_equal(try_bind(k.cli, 0, me.port, false), -EADDRINUSE);
	if (!p.by_port[65536 + me.port])
		assert_int_equal(try_bind(k.cli, k.cli_ip + 1, me.port, false), 0);
	assert_true(tcp_accounting_ok(k.cli) && tcp_accounting_ok(k.srv));

	/* The server closes first: its ends wait in TIME-WAIT (RFC 9293 §3.6). */
	for (uint32_t i = 0; i < PORTS_CONNS; i++)
		assert_int_equal(ustcp_close(p.s[i]), 0);
	scale_run(&k, 10 * MS);
	char c;
	for (uint32_t i = 0; i < PORTS_CONNS; i++) {
		assert_int_equal(ustcp_recv(p.c[i], &c, 1), 0);
		assert_int_equal(ustcp_close(p.c[i]), 0);
	}
	scale_run(&k, 10 * MS);
	assert_int_equal(usage(k.srv).conns, PORTS_CONNS);
	assert_int_equal(usage(k.cli).conns, 0);
	assert_int_equal(try_bind(k.srv, s1, SPORT, false), -EADDRINUSE);
	assert_int_equal(bind_to(k.srv, s1, SPORT, true, &tw_l), 0);
	assert_int_equal(ustcp_listen(tw_l, 4), 0);
	assert_true(tcp_accounting_ok(k.cli) && tcp_accounting_ok(k.srv));
	scale_run(&k, 3 * SEC);
	assert_int_equal(usage(k.srv).conns, 1);
	assert_int_equal(try_bind(k.srv, s1, SPORT, true), -EADDRINUSE); /* the listener's */
	assert_int_equal(ustcp_close(tw_l), 0);
	assert_int_equal(try_bind(k.srv, s1, SPORT, false), 0);
	assert_int_equal(usage(k.srv).conns, 0);
	assert_true(tcp_accounting_ok(k.cli) && tcp_accounting_ok(k.srv));
	pairs_free(&p);
	scale_free(&k);
}

/* RFC 6056: an ephemeral port is taken per 4-tuple. With a hundred
 * ports, one address has a hundred connections to one server port, and
 * then no more; but another server port, or another address, has as
 * many again. */
static void ephemeral_ports_run_out_per_destination(void **state)
{
	(void)state;
	struct ustcp_config cc, sc;
	configure(&cc, 9, 1024);
	configure(&sc, 10, 1024);
	cc.ephemeral_lo = 40000;
	cc.ephemeral_hi = 40099;
	struct scale k;
	scale_new(&k, &cc, &sc, 2, false);
	struct ustcp_sock *l, *l81, *c[203];
	assert_int_equal(ustcp_listen_on(k.srv, ep4(k.srv_ip, SPORT), 1024, &l), 0);
	assert_int_equal(ustcp_listen_on(k.srv, ep4(k.srv_ip, SPORT + 1), 1024, &l81), 0);
	uint8_t used[100] = {0};
	for (int i = 0; i < 100; i++) {
		struct ustcp_endpoint me;
		assert_int_equal(connect_from(&k, 0, SPORT, &c[i]), 0);
		assert_int_equal(ustcp_getsockname(c[i], &me), 0);
		assert_true(me.port >= 40000 && me.port <= 40099 && !used[me.port - 40000]);
		used[me.port - 40000] = 1;
	}
	struct ustcp_sock *none;
	assert_int_equal(connect_from(&k, 0, SPORT, &none), -EADDRNOTAVAIL);
	assert_int_equal(connect_from(&k, 0, SPORT + 1, &c[100]), 0);
	for (int i = 101; i < 201; i++)
		assert_int_equal(connect_from(&k, 1, SPORT, &c[i]), 0);
	assert_int_equal(connect_from(&k, 1, SPORT, &none), -EADDRNOTAVAIL);
	scale_run(&k, 20 * MS);
	for (int i = 0; i < 201; i++)
		assert_int_equal(ustcp_sock_state(c[i]), USTCP_ESTABLISHED);
	assert_int_equal(usage(k.srv).conns, 2 + 201);
	assert_true(tcp_accounting_ok(k.cli) && tcp_accounting_ok(k.srv));
	for (int i = 0; i < 201; i++)
		assert_int_equal(ustcp_abort(c[i]), 0);
	assert_int_equal(ustcp_close(l), 0);
	assert_int_equal(ustcp_close(l81), 0);
	scale_run(&k, 10 * MS);
	assert_int_equal(usage(k.cli).conns, 0);
	assert_int_equal(usage(k.srv).conns, 0);
	scale_free(&k);
}

const struct CMUnitTest tests[] = {
	cmocka_unit_test(address_range_is_all_ours),
	cmocka_unit_test(hundred_thousand_connections_cost_under_a_kib_each),
	cmocka_unit_test(bulk_beside_ten_thousand_idle_connections),
	cmocka_unit_test(bind_with_many_connections_on_the_port),
	cmocka_unit_test(ephemeral_ports_run_out_per_destination),
};

USTCP_TEST_MAIN(tests)
