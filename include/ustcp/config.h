/* ustcp/config.h — the limits and tunables of one stack.
 *
 * Every pool and buffer in the stack is bounded by a field here. Fill a
 * config with ustcp_config_default() and change what you need before
 * ustcp_stack_new(); the stack keeps its own copy. Times are nanoseconds. */
#ifndef USTCP_CONFIG_H
#define USTCP_CONFIG_H

#include <stdint.h>

struct ustcp_config {
	uint64_t seed;           /* seeds the stack's RNG: same seed, same packets */
	uint32_t max_conns;      /* connections of any state, listeners included */
	uint32_t conn_hash_size; /* buckets in the 4-tuple table (power of two);
				  * 0: max_conns rounded up, a chain of one on average */
	uint32_t max_backlog;    /* cap on any listener's backlog */
	uint32_t sndbuf;         /* default bytes per connection send buffer (256 KiB) */
	uint32_t rcvbuf;         /* default bytes per connection receive buffer (256 KiB) */
	uint32_t max_sockbuf;    /* largest buffer a socket may ask for (64 MiB) */
	/* IP MTU of the interfaces: 68 (RFC 791) to 65535; below IPv6's 1280
	 * (RFC 8200 §5) an interface carries IPv4 only. */
	uint16_t mtu;
	uint16_t default_mss;    /* send MSS towards an IPv4 peer that sends no MSS option
			       * (RFC 9293 MUST-15: 536; IPv6 peers get 1220) */
	uint64_t msl;            /* maximum segment lifetime; TIME-WAIT is 2*MSL */
	uint64_t rto_initial;    /* RFC 6298 §2.1: 1 s */
	uint64_t rto_min;        /* RFC 6298 §2.4 says 1 s; 200 ms by default, as Linux */
	uint64_t rto_max;        /* RFC 6298 §2.5: at least 60 s */
	uint32_t syn_retries;    /* SYN retransmissions before connect gives -ETIMEDOUT */
	uint32_t synack_retries; /* SYN+ACK retransmissions before a half-open connection is dropped */
	uint32_t data_retries_r1;     /* RFC 1122 §4.2.3.5 R1: retransmissions before the
				       * neighbour is asked again (3) */
	uint32_t data_retries;        /* data retransmissions before -ETIMEDOUT (RFC 1122 R2) */
	uint64_t ack_delay;           /* delayed ACK bound (40 ms; RFC 1122: < 500 ms) */
	uint64_t keepalive_idle;      /* RFC 1122 §4.2.3.6: >= 2 h by default */
	uint64_t keepalive_intvl;     /* 75 s */
	uint32_t keepalive_cnt;       /* 9 */
	uint32_t initial_window;      /* segments (RFC 6928: 10) */
	uint8_t wscale;               /* offer window scaling (RFC 7323 §2) */
	uint8_t timestamps;           /* offer timestamps (RFC 7323 §3) */
	uint8_t sack;                 /* offer SACK (RFC 2018): blocks are sent when
				       * data arrives out of order */
	uint8_t syncookies;           /* SYN cookies (RFC 4987 §3.6): 0 never, 1 when a
				       * listener's SYN queue is full (default), 2 always */
	char cc[16];                  /* congestion control for new sockets ("newreno") */
	uint64_t fin_wait2_timeout;   /* orphaned FIN-WAIT-2 lifetime */
	uint32_t challenge_ack_limit; /* RFC 5961 §7: challenge ACKs per second, per connection */
	/* Limits no peer can push past (each counted when hit; 0: none of its
	 * own, max_conns bounds them all). A listener's own limit is its
	 * backlog: half-open and unaccepted connections each at most that many. */
	uint32_t max_half_open;    /* SYN-RECEIVED connections in all (0: none of its own):
				    * past it a SYN gets a cookie, or is dropped without */
	uint32_t max_established;  /* connections a program or a listener's queue holds,
				    * connecting to closing (0: none of its own): past it
				    * connect fails with ENOBUFS, a handshake is refused */
	uint32_t max_orphans;      /* closed by the program, still sending or in FIN-WAIT
				    * (0: none of its own): past it the newest is reset */
	uint32_t max_time_wait;    /* TIME-WAIT connections (0: none of its own): past it the
				    * oldest ends early, safe as RFC 6191 asks: our ISN
				    * and timestamp clocks run on across incarnations */
	uint64_t max_buffer_bytes; /* all connections' buffers together (1 GiB; 0: none):
				    * past it a connection gets none, its data is dropped
				    * (counted) and sent again by the peer later */
	uint16_t ephemeral_lo, ephemeral_hi; /* RFC 6056 port range */
	uint32_t tx_queue;                   /* frames batched before the transmit callback */
	/* What the network may make the stack hold; at each limit the oldest
	 * gives way, counted. */
	uint32_t neigh_max;     /* neighbour (ARP/ND) entries, 1 to 4096 (64) */
	uint32_t neigh_pending; /* frames held for neighbour resolution, in all, 1 to 4096 (16) */
	uint32_t frag_max;      /* IP datagrams in reassembly at once, 1 to 4096 (8) */
	uint32_t frag_bytes;    /* reassembly buffer bytes, in all: 65535 (one largest
				 * datagram) to 1 GiB (512 KiB) */
	/* Test hooks: when nonzero, the ISN of every connection this stack opens
	 * actively (fixed_iss_active) or accepts (fixed_iss_passive) is this value
	 * instead of the RFC 6528 one. Used by `ustcp demo` to show textbook numbers. */
	uint32_t fixed_iss_active, fixed_iss_passive;
	uint8_t use_fixed_iss; /* bit 0: active, bit 1: passive */
};

/* A config with the defaults described above. */
void ustcp_config_default(struct ustcp_config *cfg);

#endif
