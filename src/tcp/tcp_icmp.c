/* tcp_icmp.c — ICMP and ICMPv6 errors about our segments (RFC 1122 §4.2.3.9,
 * RFC 1191, RFC 8201, RFC 5927).
 *
 * An error is believed only if it quotes a connection we have and a
 * sequence number we sent and the peer has not yet acknowledged (RFC 5927
 * §4.1), so a blind attacker must guess the window as for a RST.
 * "Fragmentation needed" and "packet too big" lower the connection's segment
 * size and resend what is in flight at the new size (path MTU discovery,
 * RFC 1191, RFC 8201). Other
 * errors are soft (RFC 1122 §4.2.3.9, RFC 5927 §4.2): they are remembered,
 * reported to the program, and reported again if the connection then
 * fails, except that "protocol" or "port unreachable" refuses a connection
 * still in SYN-SENT.
 *
 * Our own link layer giving up on the next hop (no ARP or neighbour
 * discovery answer) comes the same way, as a host unreachable: it ends a
 * connection in SYN-SENT (as Linux does: there is no one to connect to) and
 * is a soft error for the others. */
#include <errno.h>

#include "net/net.h"
#include "tcp/tcp.h"
#include "tcp/tcp_conn.h"
#include "wire/wire.h"

/* RFC 1191 §7: the plateau below an MTU, for routers that give no MTU. */
static uint32_t plateau_below(uint32_t mtu)
{
	static const uint32_t plateaus[] = {32000, 17914, 8166, 4352, 2002,
					    1492,  1006,  508,  296,  68};
	for (size_t i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++)
		if (plateaus[i] < mtu)
			return plateaus[i];
	return 68;
}

/* The smallest path MTU we accept: a lower one would mean tiny segments,
 * which is what an attacker forging these messages would want
 * (RFC 5927 §7.2). 576 is the size every IPv4 host must take; IPv6 links
 * carry 1280 (RFC 8200 §5, RFC 8201 §4: never go below it). */
#define TCP_PMTU_MIN4 576
#define TCP_PMTU_MIN6 1280

static void frag_needed(struct ustcp_sock *c, uint32_t mtu)
{
	struct ustcp_stack *s = c->stack;
	uint32_t iphl = net_ip_hlen(&c->raddr);
	uint32_t cur = (uint32_t)c->peer_mss + iphl + TCP_HLEN;
	uint32_t floor = ip_is4(&c->raddr) ? TCP_PMTU_MIN4 : TCP_PMTU_MIN6;
	if (mtu == 0)
		mtu = plateau_below(cur);
	if (mtu < floor)
		mtu = floor;
	if (mtu >= cur) {
		stack_drop(s, USTCP_DROP_icmp_ignored); /* nothing to lower */
		return;
	}
	c->peer_mss = (uint16_t)(mtu - iphl - TCP_HLEN);
	c->snd_mss = (uint16_t)(c->peer_mss - (c->ts_ok ? 12 : 0));
	stat_inc(s, USTCP_C_tcp_pmtu_updates);
	/* What is in flight was too big and is lost: send it again, smaller.
	 * This is no sign of congestion, so cwnd stays. */
	c->snd_nxt = c->snd_una;
	c->rtt_active = false;
	tcp_output(c);
}

void tcp_icmp_error(struct ustcp_stack *s, const struct tcp_icmp_error *e)
{
	struct ustcp_sock *c = tcp_conn_lookup(s, &e->laddr, e->lport, &e->raddr, e->rport);
	if (!c || !(c->state == USTCP_SYN_SENT || tcp_synchronized(c->state))) {
		stack_drop(s, USTCP_DROP_tcp_icmp_no_conn);
		return;
	}
	if (!seq_in(e->seq, c->snd_una, c->snd_max)) {
		stack_drop(s, USTCP_DROP_tcp_icmp_bad_seq);
		return;
	}
	tcp_event_begin(c);
	if (e->kind == TCP_ICMP_PMTU) {
		if (c->state != USTCP_SYN_SENT && c->state != USTCP_SYN_RECEIVED)
			frag_needed(c, e->mtu);
		return;
	}
	stat_inc(s, e->kind == TCP_ICMP_NEIGH ? USTCP_C_tcp_neigh_unreachable
					      : USTCP_C_tcp_icmp_soft_errors);
	if (c->state == USTCP_SYN_SENT &&
	    (e->kind == TCP_ICMP_REFUSED || e->kind == TCP_ICMP_NEIGH)) {
		stat_inc(s, USTCP_C_tcp_attempt_fails);
		tcp_conn_closed(c, e->err); /* RFC 1122 §4.2.3.9: a hard error */
		return;
	}
	/* RFC 1122 §4.2.3.9: soft errors SHOULD be reported to the application. */
	c->soft_error = e->err;
	c->soft_error_untaken = true;
	tcp_notify(c, USTCP_EV_ERROR);
}

void tcp_neigh_unreachable(struct ustcp_stack *s, int iface, const struct ipaddr *hop)
{
	struct tcp *t = s->tcp;
	for (uint32_t i = 0; i < s->cfg.max_conns; i++) {
		struct ustcp_sock *c = &t->pool[i];
		/* Still trying to send (a SYN, data or a FIN unacknowledged). */
		if (!c->hashed || c->snd_una == c->snd_max ||
		    !(c->state == USTCP_SYN_SENT || tcp_synchronized(c->state)) ||
		    !net_goes_via(s, &c->raddr, iface, hop))
			continue;
		struct tcp_icmp_error e = {
			.laddr = c->laddr,
			.raddr = c->raddr,
			.lport = c->lport,
			.rport = c->rport,
			.seq = c->snd_una,
			.kind = TCP_ICMP_NEIGH,
			.err = -EHOSTUNREACH,
		};
		tcp_icmp_error(s, &e);
	}
}
