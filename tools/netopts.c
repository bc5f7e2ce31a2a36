/* netopts.c — parsing the common network options, and bringing up the
 * host (the stack on its TAP device, on a thread of its own) they
 * describe, with what the tools' loops share: the clock, the signals and
 * the waits for a socket or a signal. */
#define _GNU_SOURCE

#include "netopts.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/random.h>
#include <sys/signalfd.h>

#include "tool.h"

#define MS 1000000.0 /* ns */

const char netopts_help[] =
	"  --tap IFNAME        the TAP device to attach to (created if missing)\n"
	"  --ip ADDR/PREFIX    this stack's IPv4 address and on-link prefix\n"
	"  --ip6 ADDR[/PREFIX] this stack's IPv6 address and on-link prefix (/64 if\n"
	"                      omitted); a link-local one (fe80::/64, from the MAC) is\n"
	"                      always there\n"
	"  --gw ADDR           default router (on the link), IPv4 or IPv6; give --gw\n"
	"                      twice, once for each family, to have both\n"
	"  --mac MAC           Ethernet address (default 02:00:<the IPv4 address, or the\n"
	"                      last 4 bytes of the IPv6 one>)\n"
	"  --mtu N             IP MTU, 68 to 65535 (default 1500); IPv6 needs 1280\n"
	"  --pcap FILE         record every frame the stack sends and receives\n"
	"  --trace             print every frame, tcpdump style, to stderr\n"
	"  --impair SPEC       impair frames both ways: loss=P%,delay=Dms,jitter=Jms,\n"
	"                      reorder=P%,reorder-delay=Dms,dup=P%,corrupt=P%,\n"
	"                      rate=Mbit,queue=BYTES\n"
	"  --seed N            seed the stack and the impairments (default: random)\n"
	"  --vnet-hdr on|off   offloads through the vnet header (default on)\n"
	"  --tso on|off        with it, TCP segments of up to 64 KiB (default on)\n";

bool netopts_parse_port(const char *s, uint16_t *port)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < 1 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

void netopts_init(struct netopts *o)
{
	memset(o, 0, sizeof(*o));
	o->vnet_hdr = true;
	o->tso = true;
	o->impair.reorder_delay = 2 * USTCP_NS_PER_MS;
}

/* ---- values ---- */

static bool parse_ip4(const char *s, ustcp_ip4 *ip)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*ip = a.s_addr;
	return true;
}

static bool parse_uint(const char *s, uint64_t hi, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno || v > hi)
		return false;
	*out = v;
	return true;
}

/* A number followed by one of the units (each a multiplier); a bare number
 * takes the first unit's. */
struct unit {
	const char *name;
	double mult;
};

static bool parse_with_unit(const char *s, const struct unit *units, size_t nunits, double lo,
			    double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || *s == '+' || *s == '-')
		return false;
	double mult = units[0].mult;
	if (*end) {
		size_t i;
		for (i = 0; i < nunits; i++)
			if (!strcmp(end, units[i].name))
				break;
		if (i == nunits)
			return false;
		mult = units[i].mult;
	}
	v *= mult;
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static const struct unit percent_units[] = {{"%", 0.01}};
static const struct unit time_units[] = {{"ms", MS}, {"us", 1e3}, {"s", 1e9}, {"ns", 1}};
static const struct unit rate_units[] = {{"Mbit", 1e6}, {"mbit", 1e6}, {"kbit", 1e3},
					 {"Gbit", 1e9}, {"gbit", 1e9}, {"bit", 1}};
static const struct unit size_units[] = {{"", 1},         {"B", 1},          {"k", 1e3},
					 {"K", 1e3},      {"M", 1e6},        {"Ki", 1024.0},
					 {"KiB", 1024.0}, {"Mi", 1048576.0}, {"MiB", 1048576.0}};

#define N(a) (sizeof(a) / sizeof((a)[0]))

bool netopts_parse_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	double d;
	if (!parse_with_unit(s, size_units, N(size_units), (double)lo, (double)hi, &d) ||
	    d != floor(d))
		return false;
	*out = (uint64_t)d;
	return true;
}

/* One key=value of --impair; returns 0 or 2. */
static int impair_key(struct ustcp_impair *imp, const char *cmd, const char *key, const char *v)
{
	double d;
	double *prob = NULL;
	uint64_t *ns = NULL;
	if (!strcmp(key, "loss"))
		prob = &imp->loss;
	else if (!strcmp(key, "reorder"))
		prob = &imp->reorder;
	else if (!strcmp(key, "dup"))
		prob = &imp->duplicate;
	else if (!strcmp(key, "corrupt"))
		prob = &imp->corrupt;
	else if (!strcmp(key, "delay"))
		ns = &imp->delay;
	else if (!strcmp(key, "jitter"))
		ns = &imp->jitter;
	else if (!strcmp(key, "reorder-delay"))
		ns = &imp->reorder_delay;

	if (prob) {
		if (!parse_with_unit(v, percent_units, N(percent_units), 0, 1, &d))
			return tool_usage_error(
				cmd,
				"--impair: %s wants a percentage from 0%% to 100%%, "
				"not '%s'",
				key, v);
		*prob = d;
		return 0;
	}
	if (ns) {
		/* Up to an hour: anything longer is a typo. */
		if (!parse_with_unit(v, time_units, N(time_units), 0, 3600e9, &d))
			return tool_usage_error(
				cmd,
				"--impair: %s wants a time like 20ms (units ms, us, "
				"s; up to an hour), not '%s'",
				key, v);
		*ns = (uint64_t)llround(d);
		return 0;
	}
	if (!strcmp(key, "rate")) {
		if (!parse_with_unit(v, rate_units, N(rate_units), 1000, 1e13, &d))
			return tool_usage_error(
				cmd,
				"--impair: rate wants a rate like 100Mbit (units kbit, "
				"Mbit, Gbit; a bare number is Mbit/s), from 1 kbit/s, "
				"not '%s'",
				v);
		imp->rate_bps = (uint64_t)llround(d);
		return 0;
	}
	if (!strcmp(key, "queue")) {
		uint64_t q;
		if (!netopts_parse_size(v, 64, UINT32_MAX, &q))
			return tool_usage_error(
				cmd,
				"--impair: queue wants a byte count from 64 (suffixes "
				"k M, Ki Mi), not '%s'",
				v);
		imp->queue_bytes = (uint32_t)q;
		return 0;
	}
	return tool_usage_error(cmd,
				"--impair: unknown key '%s' (known: loss, delay, jitter, reorder, "
				"reorder-delay, dup, corrupt, rate, queue)",
				key);
}

static int parse_impair(struct netopts *o, const char *cmd, const char *spec)
{
	char *copy = strdup(spec);
	if (!copy)
		return tool_usage_error(cmd, "out of memory");
	int rc = 0;
	bool any = false;
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item && !rc;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq || eq == item || !eq[1]) {
			rc = tool_usage_error(cmd, "--impair: '%s' is not key=value", item);
			break;
		}
		*eq = '\0';
		rc = impair_key(&o->impair, cmd, item, eq + 1);
		any = true;
	}
	free(copy);
	if (!rc && !any)
		rc = tool_usage_error(cmd, "--impair wants key=value[,key=value...], not '%s'",
				      spec);
	o->have_impair = true;
	return rc;
}

static int parse_addr_prefix(const char *cmd, const char *opt, const char *v, ustcp_ip4 *ip,
			     uint8_t *prefix)
{
	const char *slash = strchr(v, '/');
	char addr[INET_ADDRSTRLEN];
	uint64_t p;
	if (!slash || (size_t)(slash - v) >= sizeof(addr))
		return tool_usage_error(cmd, "%s wants ADDR/PREFIX (like 10.0.0.2/24), not '%s'",
					opt, v);
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (!parse_ip4(addr, ip))
		return tool_usage_error(cmd, "%s: '%s' is not an IPv4 address", opt, addr);
	if (!parse_uint(slash + 1, 32, &p) || p == 0)
		return tool_usage_error(cmd, "%s: the prefix length wants 1 to 32, not '%s'", opt,
					slash + 1);
	*prefix = (uint8_t)p;
	uint32_t h = ntohl(*ip), mask = ~0u << (32 - p);
	if (h == 0 || (h >> 28) >= 14 || (h >> 24) == 127)
		return tool_usage_error(cmd, "%s: %s cannot be a host's address", opt, addr);
	/* RFC 3021: a /31 has no network or broadcast address. */
	if (p <= 30 && ((h & ~mask) == 0 || (h & ~mask) == ~mask))
		return tool_usage_error(cmd, "%s: %s is the network or broadcast address of /%u",
					opt, addr, (unsigned)p);
	return 0;
}

/* What an IPv6 address is, when it cannot be an interface's own (RFC 4291
 * §2.4), or NULL. */
static const char *ip6_not_unicast(const uint8_t a[16])
{
	static const uint8_t zero[16], loopback[16] = {[15] = 1},
				       mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (!memcmp(a, zero, 16))
		return "the unspecified address";
	if (!memcmp(a, loopback, 16))
		return "the loopback address";
	if (a[0] == 0xff)
		return "a multicast address";
	if (!memcmp(a, mapped, 12))
		return "an IPv4-mapped address (IPv4 goes in --ip)";
	return NULL;
}

static bool ip6_link_local(const uint8_t a[16]) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

/* Whether a and b share their first `prefix` bits. */
static bool ip6_same_prefix(const uint8_t a[16], const uint8_t b[16], unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;
	if (memcmp(a, b, bytes))
		return false;
	if (!bits)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

static int parse_addr6_prefix(const char *cmd, const char *opt, const char *v, uint8_t ip6[16],
			      uint8_t *prefix)
{
	const char *slash = strchr(v, '/');
	size_t len = slash ? (size_t)(slash - v) : strlen(v);
	char addr[INET6_ADDRSTRLEN];
	uint64_t p = 64; /* RFC 4291 §2.5.4: the interface identifier is 64 bits */
	if (len == 0 || len >= sizeof(addr))
		return tool_usage_error(cmd, "%s wants ADDR[/PREFIX] (like fd00::2/64), not '%s'",
					opt, v);
	memcpy(addr, v, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET6, addr, ip6) != 1) {
		struct in_addr a4;
		if (inet_pton(AF_INET, addr, &a4) == 1)
			return tool_usage_error(cmd, "%s: '%s' is an IPv4 address (that is --ip)",
						opt, addr);
		return tool_usage_error(cmd, "%s: '%s' is not an IPv6 address", opt, addr);
	}
	if (slash && (!parse_uint(slash + 1, 128, &p) || p == 0))
		return tool_usage_error(cmd, "%s: the prefix length wants 1 to 128, not '%s'", opt,
					slash + 1);
	*prefix = (uint8_t)p;
	const char *what = ip6_not_unicast(ip6);
	if (what)
		return tool_usage_error(cmd, "%s: %s is %s, not a host's address", opt, addr, what);
	if (ip6_link_local(ip6))
		return tool_usage_error(cmd,
					"%s: %s is link-local; the interface has its own, made "
					"from the MAC (RFC 4291 §2.5.6): give a global or "
					"unique-local address",
					opt, addr);
	/* RFC 4291 §2.6.1: the prefix with a zero interface identifier is every
	 * router's anycast address; a /127 has none (RFC 6164 §6). */
	bool host_zero = true;
	for (unsigned bit = (unsigned)p; bit < 128 && host_zero; bit++)
		host_zero = !(ip6[bit / 8] & (0x80 >> (bit % 8)));
	if (p <= 126 && host_zero)
		return tool_usage_error(cmd,
					"%s: %s is the subnet-router anycast address of /%u "
					"(RFC 4291 §2.6.1)",
					opt, addr, (unsigned)p);
	return 0;
}

static int parse_gw(struct netopts *o, const char *cmd, const char *v)
{
	if (!strchr(v, ':')) {
		if (!parse_ip4(v, &o->gw) || o->gw == 0)
			return tool_usage_error(
				cmd, "--gw: '%s' is neither an IPv4 nor an IPv6 address", v);
		return 0;
	}
	if (inet_pton(AF_INET6, v, o->gw6) != 1)
		return tool_usage_error(cmd, "--gw: '%s' is not an IPv6 address", v);
	const char *what = ip6_not_unicast(o->gw6);
	if (what)
		return tool_usage_error(cmd, "--gw: %s is %s, not a router's address", v, what);
	o->have_gw6 = true;
	return 0;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6 ||
	    strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return true;
}

/* ---- the options ---- */

static bool is_valued(const char *name)
{
	static const char *const names[] = {"--tap",  "--ip",       "--ip6",  "--gw",
					    "--mac",  "--mtu",      "--pcap", "--impair",
					    "--seed", "--vnet-hdr", "--tso"};
	for (size_t i = 0; i < N(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

static int take_valued(struct netopts *o, const char *cmd, const char *opt, const char *v)
{
	if (!strcmp(opt, "--tap")) {
		if (!*v || strlen(v) > 15)
			return tool_usage_error(cmd,
						"--tap wants a device name of 1 to 15 "
						"characters, not '%s'",
						v);
		o->tap = v;
		return 0;
	}
	if (!strcmp(opt, "--ip")) {
		o->have_ip = true;
		return parse_addr_prefix(cmd, opt, v, &o->ip, &o->prefix);
	}
	if (!strcmp(opt, "--ip6")) {
		o->have_ip6 = true;
		return parse_addr6_prefix(cmd, opt, v, o->ip6, &o->prefix6);
	}
	if (!strcmp(opt, "--gw"))
		return parse_gw(o, cmd, v);
	if (!strcmp(opt, "--mac")) {
		if (!parse_mac(v, o->mac))
			return tool_usage_error(cmd,
						"--mac wants six hex bytes like "
						"02:00:0a:00:00:02, not '%s'",
						v);
		if (o->mac[0] & 1)
			return tool_usage_error(cmd, "--mac: %s is a multicast address", v);
		o->have_mac = true;
		return 0;
	}
	if (!strcmp(opt, "--mtu"))
		return tool_parse_mtu(cmd, v, &o->mtu);
	if (!strcmp(opt, "--pcap")) {
		if (!*v)
			return tool_usage_error(cmd, "--pcap wants a file name");
		o->pcap = v;
		return 0;
	}
	if (!strcmp(opt, "--impair"))
		return parse_impair(o, cmd, v);
	if (!strcmp(opt, "--seed")) {
		if (!parse_uint(v, UINT64_MAX, &o->seed))
			return tool_usage_error(cmd, "--seed wants a whole number, not '%s'", v);
		o->have_seed = true;
		return 0;
	}
	/* --vnet-hdr, --tso */
	if (strcmp(v, "on") && strcmp(v, "off"))
		return tool_usage_error(cmd, "%s wants on or off, not '%s'", opt, v);
	*(!strcmp(opt, "--tso") ? &o->tso : &o->vnet_hdr) = !strcmp(v, "on");
	return 0;
}

int netopts_take(struct netopts *o, const char *cmd, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (!strcmp(arg, "--trace")) {
		o->trace = true;
		return NETOPT_TAKEN;
	}
	char name[16];
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	if (len >= sizeof(name))
		return NETOPT_OTHER;
	memcpy(name, arg, len);
	name[len] = '\0';
	if (!is_valued(name))
		return NETOPT_OTHER;
	const char *v;
	if (eq) {
		v = eq + 1;
	} else {
		if (*i + 1 >= argc)
			return tool_usage_error(cmd, "%s needs a value", name);
		v = argv[++*i];
	}
	int rc = take_valued(o, cmd, name, v);
	return rc ? rc : NETOPT_TAKEN;
}

int netopts_take_port(const char *cmd, int argc, char **argv, int *i, uint16_t *port)
{
	const char *a = argv[*i], *v;
	if (!strncmp(a, "--port=", 7)) {
		v = a + 7;
		a = "--port";
	} else if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
		if (*i + 1 >= argc)
			return tool_usage_error(cmd, "%s needs a port", a);
		v = argv[++*i];
	} else {
		return NETOPT_OTHER;
	}
	if (!netopts_parse_port(v, port))
		return tool_usage_error(cmd, "%s wants a port from 1 to 65535, not '%s'", a, v);
	return NETOPT_TAKEN;
}

int netopts_parse(struct netopts *o, const char *cmd, int argc, char **argv, netopts_tool_fn take,
		  void *ctx, void (*usage)(void))
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = netopts_take(o, cmd, argc, argv, &i);
		if (rc == NETOPT_OTHER && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			usage();
			return -1;
		}
		if (rc == NETOPT_OTHER)
			rc = take(ctx, argc, argv, &i);
		if (rc == NETOPT_OTHER)
			return tool_usage_error(cmd, "unknown option '%s'", a);
		if (rc != NETOPT_TAKEN)
			return rc;
	}
	return 0;
}

int netopts_finish(struct netopts *o, const char *cmd)
{
	if (!o->tap)
		return tool_usage_error(cmd, "--tap IFNAME is required (the TAP device to use)");
	if (!o->have_ip && !o->have_ip6)
		return tool_usage_error(cmd, "--ip ADDR/PREFIX or --ip6 ADDR/PREFIX is required "
					     "(this stack's address)");
	if (o->gw && !o->have_ip)
		return tool_usage_error(cmd, "an IPv4 --gw needs --ip");
	uint32_t mask = o->prefix ? ~0u << (32 - o->prefix) : 0;
	if (o->gw && (ntohl(o->gw) & mask) != (ntohl(o->ip) & mask))
		return tool_usage_error(cmd, "--gw must be on the link of --ip (/%u)",
					(unsigned)o->prefix);
	/* RFC 8200 §5: IPv6 needs a link MTU of 1280 or more. */
	if (o->have_ip6 && o->mtu && o->mtu < TOOL_MTU_MIN6)
		return tool_usage_error(cmd,
					"--mtu %u is below %d, the least IPv6 needs "
					"(RFC 8200 §5), and --ip6 is given",
					o->mtu, TOOL_MTU_MIN6);
	if (o->have_gw6 && !o->have_ip6)
		return tool_usage_error(cmd, "an IPv6 --gw needs --ip6 (a link-local address "
					     "alone reaches no other link)");
	if (o->have_gw6 && !ip6_link_local(o->gw6) && !ip6_same_prefix(o->gw6, o->ip6, o->prefix6))
		return tool_usage_error(cmd,
					"an IPv6 --gw must be link-local or on the link of --ip6 "
					"(/%u)",
					(unsigned)o->prefix6);
	if (o->have_impair && o->impair.queue_bytes && !o->impair.rate_bps)
		return tool_usage_error(cmd, "--impair: queue needs rate (the queue sits behind "
					     "the rate limit)");
	if (!o->have_mac) {
		/* Locally administered, unicast, and different for every address
		 * (the IPv4 one, or the last four bytes of the IPv6 one). */
		uint8_t b[4];
		memcpy(b, o->have_ip ? (const uint8_t *)&o->ip : o->ip6 + 12, 4);
		uint8_t mac[6] = {0x02, 0x00, b[0], b[1], b[2], b[3]};
		memcpy(o->mac, mac, 6);
	}
	if (!o->have_seed) {
		uint64_t seed = 0;
		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			seed = (uint64_t)getpid() ^ (uint64_t)time(NULL) << 20;
		o->seed = seed;
	}
	return 0;
}

int netopts_parse_host(const struct netopts *o, const char *cmd, const char *text, bool local,
		       struct ustcp_endpoint *ep)
{
	char buf[USTCP_ENDPOINT_STRLEN];
	const char *orig = text, *pct = strchr(text, '%');
	size_t n = strlen(text);
	if (pct && n < sizeof(buf)) {
		const char *zone = pct + 1;
		size_t zlen = strlen(zone);
		bool bracketed = text[0] == '[' && zlen && zone[zlen - 1] == ']';
		if (bracketed)
			zlen--;
		/* Without --tap yet, netopts_finish() reports that first. */
		if (o->tap && (zlen != strlen(o->tap) || strncmp(zone, o->tap, zlen)))
			return tool_usage_error(cmd,
						"HOST %s: the zone must be the --tap device (%s)",
						text, o->tap);
		memcpy(buf, text, (size_t)(pct - text));
		buf[pct - text] = '\0';
		if (bracketed)
			strcat(buf, "]");
		text = buf;
	}
	struct ustcp_endpoint e = {.ip4 = 0};
	if (ustcp_addr_parse(text, &e) < 0)
		return tool_usage_error(cmd,
					"HOST wants an IPv4 or IPv6 address (names are not "
					"resolved), not '%s'",
					orig);
	static const uint8_t zero[16];
	bool unspecified = e.v6 ? !memcmp(e.ip6, zero, 16) : e.ip4 == 0;
	bool multicast = e.v6 ? e.ip6[0] == 0xff : (e.ip4 >> 28) == 14;
	bool link_local = e.v6 && e.ip6[0] == 0xfe && (e.ip6[1] & 0xc0) == 0x80;
	if (pct && !link_local)
		return tool_usage_error(cmd, "HOST %s: only a link-local address takes a zone",
					orig);
	if (multicast)
		return tool_usage_error(cmd, "HOST %s is a multicast address", orig);
	if (unspecified && !local)
		return tool_usage_error(cmd, "HOST %s is the unspecified address", orig);
	*ep = e;
	return 0;
}

void netopts_stack_config(const struct netopts *o, struct ustcp_config *cfg)
{
	ustcp_config_default(cfg);
	cfg->seed = o->seed;
}

void netopts_iface_config(const struct netopts *o, struct ustcp_iface_config *ic)
{
	memset(ic, 0, sizeof(*ic));
	memcpy(ic->mac, o->mac, 6);
	ic->ip4 = o->ip;
	ic->prefix_len = o->prefix;
	ic->gateway = o->gw;
	if (o->have_ip6) {
		memcpy(ic->ip6, o->ip6, 16);
		ic->prefix6_len = o->prefix6;
	}
	if (o->have_gw6)
		memcpy(ic->gateway6, o->gw6, 16);
	ic->mtu = (uint16_t)o->mtu;
}

void netopts_tap_config(const struct netopts *o, struct ustcp_tap_config *tc)
{
	memset(tc, 0, sizeof(*tc));
	tc->ifname = o->tap;
	tc->vnet_hdr = o->vnet_hdr;
	tc->tso = o->tso;
	tc->impair = o->have_impair ? &o->impair : NULL;
	/* Not the stack's seed itself, so the two sequences are unrelated. */
	tc->impair_seed = o->seed ^ 0x696d70616972ull;
	tc->pcap_path = o->pcap;
}

/* ---- a host: the stack on its own thread ---- */

static void host_trace(void *ctx, const struct ustcp_trace_event *ev)
{
	const struct nethost *e = ctx;
	struct ustcp_trace_event rel = *ev;
	rel.now = ev->now >= e->t0 ? ev->now - e->t0 : 0;
	ustcp_print_event(stderr, &rel);
}

/* SIGINT, SIGTERM and SIGHUP, blocked in this thread and so in the host's
 * (it inherits the mask), arrive on a descriptor the tool's loop polls. */
static int signal_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* A background job starts with SIGINT ignored; an ignored signal never
	 * reaches a signalfd. */
	signal(SIGINT, SIG_DFL);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN); /* a closed stdout shows as EPIPE */
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

uint64_t nethost_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USTCP_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

int nethost_poll_ms(uint64_t deadline)
{
	if (deadline == UINT64_MAX)
		return -1;
	uint64_t now = nethost_clock();
	if (deadline <= now)
		return 0;
	/* Rounded up: waking before the deadline would only poll again. */
	uint64_t ms = (deadline - now + USTCP_NS_PER_MS - 1) / USTCP_NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int nethost_open(struct nethost *e, const char *cmd, const struct netopts *o,
		 const struct ustcp_config *cfg)
{
	memset(e, 0, sizeof(*e));
	e->cmd = cmd;
	e->tap = o->tap;
	e->sigfd = signal_fd();
	if (e->sigfd < 0) {
		fprintf(stderr, "ustcp %s: cannot watch signals: %s\n", cmd, strerror(-e->sigfd));
		return 1;
	}
	netopts_iface_config(o, &e->ic);
	e->t0 = nethost_clock();
	struct ustcp_tap_config tc;
	netopts_tap_config(o, &tc);
	struct ustcp_host_config hc = {
		.tap = tc.ifname,
		.iface = &e->ic,
		.no_offloads = !tc.vnet_hdr,
		.no_tso = !tc.tso,
		.pcap = tc.pcap_path,
		.impair = tc.impair,
		.impair_seed = tc.impair_seed,
		.stack = cfg,
		.trace = o->trace ? host_trace : NULL,
		.trace_ctx = e,
	};
	char err[256];
	int rc = ustcp_host_open(&hc, &e->h, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "ustcp %s: %s\n", cmd, err);
		close(e->sigfd);
		e->sigfd = -1;
		return 1;
	}
	e->s = ustcp_host_stack(e->h);
	e->iface = ustcp_host_iface(e->h);
	return 0;
}

bool nethost_signalled(struct nethost *e)
{
	struct signalfd_siginfo si;
	if (read(e->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return false;
	e->signo = (int)si.ssi_signo;
	return true;
}

int nethost_wait(struct nethost *e, int fd, uint64_t deadline)
{
	struct pollfd p[2] = {{.fd = e->sigfd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
	for (;;) {
		if (nethost_signalled(e))
			return -EINTR;
		int n = poll(p, fd >= 0 ? 2 : 1, nethost_poll_ms(deadline));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && fd >= 0 && p[1].revents)
			return 0;
		if (n == 0 && nethost_clock() >= deadline)
			return -ETIMEDOUT;
	}
}

/* What a connect that has stopped waiting came to. */
static int connect_result(struct ustcp_sock *k)
{
	switch (ustcp_sock_state(k)) {
	case USTCP_SYN_SENT:
	case USTCP_SYN_RECEIVED:
		return -EINPROGRESS;
	case USTCP_CLOSED: {
		int err = ustcp_sock_error(k);
		return err ? err : -ECONNABORTED;
	}
	default:
		return 0;
	}
}

int nethost_connect(struct nethost *e, struct ustcp_sock *k, struct ustcp_endpoint remote,
		    uint64_t timeout_ns)
{
	uint64_t nonblock = 0;
	ustcp_getsockopt(k, USTCP_SO_NONBLOCK, &nonblock);
	int rc = ustcp_setsockopt(k, USTCP_SO_NONBLOCK, 1);
	if (rc == 0)
		rc = ustcp_connect(k, remote);
	uint64_t deadline = timeout_ns ? nethost_clock() + timeout_ns : UINT64_MAX;
	while (rc == -EINPROGRESS) {
		int fd = ustcp_sock_fd(k, POLLOUT);
		rc = fd < 0 ? fd : nethost_wait(e, fd, deadline);
		if (rc == 0)
			rc = connect_result(k);
	}
	ustcp_setsockopt(k, USTCP_SO_NONBLOCK, nonblock);
	return rc;
}

int nethost_accept(struct nethost *e, struct ustcp_sock *l, struct ustcp_sock **out)
{
	int rc = ustcp_setsockopt(l, USTCP_SO_NONBLOCK, 1);
	while (rc == 0 && (rc = ustcp_accept(l, out)) == -EAGAIN) {
		int fd = ustcp_sock_fd(l, POLLIN);
		rc = fd < 0 ? fd : nethost_wait(e, fd, UINT64_MAX);
	}
	return rc;
}

void nethost_close(struct nethost *e)
{
	ustcp_host_close(e->h);
	/* The signals stay blocked: one that comes on the way out must not
	 * kill the process. */
	if (e->sigfd >= 0)
		close(e->sigfd);
	e->h = NULL;
	e->s = NULL;
	e->sigfd = -1;
}

/* The interface's addresses on one line to stderr. */
void nethost_print_addrs(const struct nethost *e)
{
	static const uint8_t zero[16];
	const struct ustcp_iface_config *ic = &e->ic;
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], ll[INET6_ADDRSTRLEN + 16] = "";
	char gw[INET_ADDRSTRLEN + INET6_ADDRSTRLEN + 16] = "";
	uint8_t ll6[16];
	inet_ntop(AF_INET, &ic->ip4, a4, sizeof(a4));
	if (e->s && ustcp_iface_linklocal6(e->s, e->iface, ll6) == 0) {
		inet_ntop(AF_INET6, ll6, a6, sizeof(a6));
		snprintf(ll, sizeof(ll), ", %s/64", a6);
	}
	if (ic->gateway || memcmp(ic->gateway6, zero, 16)) {
		size_t n = (size_t)snprintf(gw, sizeof(gw), "; gateway");
		if (ic->gateway) {
			inet_ntop(AF_INET, &ic->gateway, a6, sizeof(a6));
			n += (size_t)snprintf(gw + n, sizeof(gw) - n, " %s", a6);
		}
		if (memcmp(ic->gateway6, zero, 16)) {
			inet_ntop(AF_INET6, ic->gateway6, a6, sizeof(a6));
			snprintf(gw + n, sizeof(gw) - n, " %s", a6);
		}
	}
	fprintf(stderr, "ustcp %s: %s %02x:%02x:%02x:%02x:%02x:%02x:", e->cmd, e->tap, ic->mac[0],
		ic->mac[1], ic->mac[2], ic->mac[3], ic->mac[4], ic->mac[5]);
	const char *sep = " ";
	if (ic->ip4) {
		fprintf(stderr, " %s/%u", a4, (unsigned)ic->prefix_len);
		sep = ", ";
	}
	if (memcmp(ic->ip6, zero, 16)) {
		inet_ntop(AF_INET6, ic->ip6, a6, sizeof(a6));
		fprintf(stderr, "%s%s/%u", sep, a6, (unsigned)ic->prefix6_len);
		sep = ", ";
	}
	if (*ll)
		fprintf(stderr, "%s%s", sep, ll + 2);
	fprintf(stderr, "%s\n", gw);
}

/* The device's counters and the stack's drops, to stderr, read at one
 * instant under the host's lock. */
void nethost_report(const struct nethost *e)
{
	const char *cmd = e->cmd;
	struct ustcp_tap_stats st;
	ustcp_host_lock(e->h);
	if (ustcp_runtime_tap_stats(ustcp_host_runtime(e->h), e->iface, &st) < 0) {
		ustcp_host_unlock(e->h);
		return;
	}
	fprintf(stderr,
		"ustcp %s: device: %llu frames in (%llu larger than the MTU), %llu out (%llu), "
		"%llu refused, %llu malformed; vnet header %s, TSO %s, %llu checksums trusted\n",
		cmd, (unsigned long long)st.rx_frames, (unsigned long long)st.rx_gso_frames,
		(unsigned long long)st.tx_frames, (unsigned long long)st.tx_gso_frames,
		(unsigned long long)st.tx_dropped, (unsigned long long)st.rx_malformed,
		st.vnet_hdr ? "on" : "off", st.tso ? "on" : "off",
		(unsigned long long)st.rx_csum_trusted);
	const struct ustcp_impair_stats *dir[2] = {&st.out, &st.in};
	for (int i = 0; i < 2; i++)
		if (dir[i]->frames && (dir[i]->lost || dir[i]->duplicated || dir[i]->reordered ||
				       dir[i]->corrupted || dir[i]->queue_drops))
			fprintf(stderr,
				"ustcp %s: impair %s: %llu frames, %llu lost, %llu duplicated, "
				"%llu reordered, %llu corrupted, %llu queue drops\n",
				cmd, i ? "in" : "out", (unsigned long long)dir[i]->frames,
				(unsigned long long)dir[i]->lost,
				(unsigned long long)dir[i]->duplicated,
				(unsigned long long)dir[i]->reordered,
				(unsigned long long)dir[i]->corrupted,
				(unsigned long long)dir[i]->queue_drops);
	for (int d = 1; d < USTCP_DROP_COUNT; d++) {
		uint64_t n = ustcp_drops(e->s, (enum ustcp_drop)d);
		if (n)
			fprintf(stderr, "ustcp %s: dropped %llu: %s\n", cmd, (unsigned long long)n,
				ustcp_drop_desc((enum ustcp_drop)d));
	}
	ustcp_host_unlock(e->h);
}
