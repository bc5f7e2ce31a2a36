#!/usr/bin/env bash
# bench.sh — `make bench`: ustcp beside the Linux kernel at its best,
# measured in the same run, in one Markdown table (README's "Measured" takes
# it as is), with footnotes saying what each figure measures and the
# commands; then the virtual-time figures of a 1 Gbit/s link with a 20 ms
# round trip, what the worst SACK pattern costs the sender per ACK, a
# million connections in one process, and a SYN flood answered with cookies.
#
#   bash scripts/bench.sh                 from the repository root, after `make`
#   BENCH_QUICK=1 bash scripts/bench.sh   one short run of each: a try in under a minute
#
# The Markdown goes to standard output, progress and failures to standard
# error. Each row of the table is measured RUNS times, ustcp and the kernel
# in turn (ustcp, kernel, ustcp, kernel, ...), twice over: server and
# client on one core (taskset -c 0 for both), and on two (the server on
# core 0, the client on core 1). Each cell is the median with the lowest and
# highest run beside it.
#
# USTCP (./build/ustcp), TCP_RR, SACK_COST, MILLION and SYNCOOKIE (in bench/
# beside it), BENCH_CONNS (1000000: bench/million's connections), RUNS
# (5), IPERF_SECONDS (5), RR_SECONDS (3), SIM_BYTES (1G), KERNEL_SERVER_ONE
# (epoll) and KERNEL_SERVER_TWO (threads: the kernel echo server's design
# on one core and on two, see rr_footnote) may be set in the environment.
# The network rows run in namespaces this script makes (a TAP device for
# ustcp, a veth pair for the kernel) and deletes on any exit; without root,
# /dev/net/tun or iperf3 those rows say why they were skipped. Every command
# is bounded in time. Exit 1 when ustcp itself failed (the table's notes
# give the command), 0 otherwise.
#
# Adding a row: define NAME_ustcp and NAME_kernel (each gets the run's
# number, sets `figure` and returns 0, or returns 1 when the run failed),
# and, if wanted, NAME_ustcp_up, NAME_kernel_up and NAME_down (servers:
# started before each pinning's runs, with on_server and on_client set, and
# ended after), NAME_skip (prints why the row cannot run here),
# NAME_kernel_skip (the same, for the kernel side alone); then one call of
# bench_row in the list of rows at the bottom.
set -uo pipefail
export LC_ALL=C # numbers with a decimal point, whatever the locale

QUICK=${BENCH_QUICK:-0}
[[ "$QUICK" == 0 ]] && QUICK=
USTCP=${USTCP:-./build/ustcp}
TCP_RR=${TCP_RR:-$(dirname "$USTCP")/bench/tcp_rr}
SACK_COST=${SACK_COST:-$(dirname "$USTCP")/bench/sack_cost}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MILLION=${MILLION:-$(dirname "$USTCP")/bench/million}
SIM_PATH=${SIM_PATH:-$(dirname "$USTCP")/bench/sim_path}
SIM_PATH_BYTES=${QUICK:+200000000}
SIM_PATH_BYTES=${SIM_PATH_BYTES:-2000000000}
SYNCOOKIE=${SYNCOOKIE:-$(dirname "$USTCP")/bench/syncookie}
MILLION_CONNS=${BENCH_CONNS:-${QUICK:+10000}}
MILLION_CONNS=${MILLION_CONNS:-1000000}
SYNCOOKIE_SYNS=${QUICK:+200000}
SYNCOOKIE_SYNS=${SYNCOOKIE_SYNS:-2000000}
RUNS=${RUNS:-${QUICK:+1}}
RUNS=${RUNS:-5}
IPERF_SECONDS=${IPERF_SECONDS:-${QUICK:+1}}
IPERF_SECONDS=${IPERF_SECONDS:-5}
RR_SECONDS=${RR_SECONDS:-${QUICK:+0.5}}
RR_SECONDS=${RR_SECONDS:-3}
SIM_BYTES=${SIM_BYTES:-${QUICK:+200M}}
SIM_BYTES=${SIM_BYTES:-1G}
VIRTUAL_BYTES=${QUICK:+20M}
VIRTUAL_BYTES=${VIRTUAL_BYTES:-200M}
KERNEL_SERVER_ONE=${KERNEL_SERVER_ONE:-epoll}
KERNEL_SERVER_TWO=${KERNEL_SERVER_TWO:-threads}
ECHO_PORT=7
IPERF_PORT=5201

# shellcheck source=scripts/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
tmp=$(mktemp -d) || exit 1
jobs_running=() # the background jobs this script started (timeout wrappers)

# On any exit: end what we started, delete our namespaces, and our files.
# shellcheck disable=SC2317 # reached through the trap
on_exit() {
	local rc=$? pid d
	trap - EXIT INT TERM HUP
	for pid in "${jobs_running[@]}"; do
		kill "$pid" 2>/dev/null # timeout passes it on to its command
	done
	for d in "${ns__created[@]}"; do
		ns_down "$d"
	done
	for pid in "${jobs_running[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
	exit "$rc"
}
trap on_exit EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

log() { echo "bench: $*" >&2; }

if [[ ! -x "$USTCP" ]]; then
	log "$USTCP not found; run make first"
	exit 1
fi

# ---- running commands: always bounded, always in the background ----

# spawn NAME NS SECONDS CMD...: CMD inside namespace NS ("-": here), its
# output in $tmp/NAME.out and $tmp/NAME.err, its command line in
# $tmp/NAME.cmd; killed after SECONDS. Sets `spawned` to the job's pid.
# A job, not a foreground command, so that Ctrl-C is acted on at once.
spawn() {
	local name=$1 ns=$2 secs=$3
	shift 3
	local cmd=("$@")
	[[ "$ns" != - ]] && cmd=(ip netns exec "$ns" "$@")
	printf '%q ' "${cmd[@]}" >"$tmp/$name.cmd"
	timeout -k 2 "$secs" "${cmd[@]}" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
	spawned=$!
	jobs_running+=("$spawned")
}

# reap PID: wait for a job spawn started; its exit status.
reap() {
	local rc i
	wait "$1"
	rc=$?
	for i in "${!jobs_running[@]}"; do
		[[ "${jobs_running[$i]}" == "$1" ]] && unset 'jobs_running[i]'
	done
	return "$rc"
}

# run NAME NS SECONDS CMD...: spawn, then wait for it; its exit status.
run() {
	spawn "$@"
	reap "$spawned"
}

# stop NS PID: end what runs in namespace NS (TERM, then KILL), and the job PID.
stop() {
	[[ -n "$2" ]] || return 0
	ns__kill_all "$1"
	kill "$2" 2>/dev/null
	reap "$2" 2>/dev/null
	return 0
}

# failed_run WHO NAME WHAT: a run that failed: what, its command and the
# tail of its output, on stderr and (for ustcp) in the notes under the table.
ustcp_failures=()
stalls=() # tcp_rr runs with a transaction of a second or more
failed_run() {
	local who=$1 name=$2 what=$3 cmd f
	cmd=$(cat "$tmp/$name.cmd" 2>/dev/null)
	log "$who: $what"
	log "  command: $cmd"
	for f in "$tmp/$name.err" "$tmp/$name.out"; do
		[[ -s "$f" ]] && tail -n 5 "$f" | sed "s/^/bench:   ${f##*.}: /" >&2
	done
	[[ "$who" == ustcp ]] && ustcp_failures+=("$what: \`${cmd% }\`")
	return 1
}

# wait_for SECONDS PID CHECK...: until CHECK succeeds; fails when job PID
# ends first or SECONDS pass.
wait_for() {
	local deadline=$((SECONDS + $1)) pid=$2
	shift 2
	while ((SECONDS < deadline)); do
		"$@" && return 0
		ns_running "$pid" || return 1
		sleep 0.02
	done
	return 1
}

in_file() { grep -q -- "$2" "$1" 2>/dev/null; }
pings() { ip netns exec "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }
listens() { ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q .; }

# ---- numbers ----

# stats NUMBER...: "median min max" (an even count: the mean of the middle two).
stats() {
	printf '%s\n' "$@" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR]
		}'
}

# cell FORMAT NUMBER...: "median (min .. max)"; one number alone.
cell() {
	local fmt=$1 m lo hi
	shift
	read -r m lo hi < <(stats "$@")
	# shellcheck disable=SC2059 # the format is the row's number format
	if (($# == 1)); then
		printf "$fmt" "$m"
	else
		printf "$fmt ($fmt .. $fmt)" "$m" "$lo" "$hi"
	fi
}

# iperf_bps FILE [SECTION]: bits per second in `iperf3 -J` output (also
# ustcp perf's): end.sum_received unless another SECTION is named.
iperf_bps() {
	awk -v sec="\"${2:-sum_received}\"" '
		index($0, sec) { f = 1 }
		f && index($0, "\"bits_per_second\"") {
			v = $0; sub(/.*":[ \t]*/, "", v); sub(/,.*$/, "", v); print v; exit
		}' "$1"
}

# iperf_cpu FILE: host_total + remote_total of iperf3 -J's cpu_utilization_percent.
iperf_cpu() {
	awk '/"cpu_utilization_percent"/ { f = 1 }
		f && /"(host|remote)_total"/ { v = $0; sub(/.*":[ \t]*/, "", v); sub(/,.*$/, "", v); s += v; n++ }
		END { if (n == 2) print s }' "$1"
}

# jget FILE KEY: a top-level value of `ustcp perf --sim --json` (one key per line).
jget() {
	awk -v k="\"$2\":" '$1 == k { v = $2; sub(/,$/, "", v); print v; exit }' "$1"
}

gbit() { awk -v b="$1" 'BEGIN { printf "%.6g", b / 1e9 }'; }

# ---- the table ----

table=()     # its rows, Markdown
footnotes=() # one per bench_row
on_server=() # the command prefix that pins a server (set per pinning)
on_client=() # and a client
pinning=''   # one, two or -
figure=''    # what a NAME_ustcp or NAME_kernel run measured

# pin PINNING: sets on_server and on_client. one: both on core 0; two: the
# server on core 0, the client on core 1; -: nothing pinned.
pin() {
	pinning=$1
	case $1 in
	one) on_server=(taskset -c 0) on_client=(taskset -c 0) ;;
	two) on_server=(taskset -c 0) on_client=(taskset -c 1) ;;
	*) on_server=() on_client=() ;;
	esac
}

pin_why() {
	if [[ "$1" == - ]]; then
		return
	elif ! command -v taskset >/dev/null 2>&1; then
		echo "taskset is not installed"
	elif [[ "$1" == two ]] && (($(nproc) < 2)); then
		echo "one core only"
	fi
}

defined() { declare -F "$1" >/dev/null; }

# skip_reason FUNCTION: `reason` is what FUNCTION prints, if it is defined.
# Run in this shell, not in $(...), so that what it sets up (namespaces) stays.
skip_reason() {
	reason=
	if defined "$1"; then
		"$1" >"$tmp/why"
		reason=$(<"$tmp/why")
	fi
}

# bench_row NAME LABEL FORMAT higher|lower PINNINGS FOOTNOTE...: one row of the
# table, a line per pinning ("one two", or "-": nothing pinned). For each
# pinning: NAME_ustcp_up and NAME_kernel_up, then RUNS times NAME_ustcp and
# NAME_kernel in turn (a side whose server did not start is not run), then
# NAME_down. FORMAT is printf's for the figures; higher: a rate (the
# ratio is ustcp/kernel), lower: a cost (kernel/ustcp), so that above 1
# ustcp did better either way. The footnote is numbered and printed under
# the table.
bench_row() {
	local name=$1 label=$2 fmt=$3 better=$4 pins=$5 why kwhy p i
	shift 5
	local n=$((${#footnotes[@]} + 1))
	footnotes+=("$*")
	label="$label [$n]"
	[[ "$better" == lower ]] && label="$label (cost)"
	local title=$label
	skip_reason "${name}_skip"
	why=$reason
	if [[ -n "$why" ]]; then
		log "$label: skipped: $why"
		table+=("| $label | | skipped: $why | | |")
		return 0
	fi
	skip_reason "${name}_kernel_skip"
	kwhy=$reason
	defined "${name}_kernel" || kwhy="no kernel baseline"
	for p in $pins; do
		why=$(pin_why "$p")
		if [[ -n "$why" ]]; then
			table+=("| $label | $p | skipped: $why | | |")
			label=''
			continue
		fi
		pin "$p"
		local u=() k=() r=() ufail=0 kfail=0 udown='' kdown=''
		defined "${name}_ustcp_up" && ! "${name}_ustcp_up" && udown="failed: its server did not start"
		[[ -z "$kwhy" ]] && defined "${name}_kernel_up" && ! "${name}_kernel_up" &&
			kdown="failed: its server did not start"
		for ((i = 1; i <= RUNS; i++)); do
			local fu='' fk=''
			if [[ -n "$udown" ]]; then
				:
			elif "${name}_ustcp" "$i"; then
				fu=$figure
				u+=("$fu")
			else
				ufail=$((ufail + 1))
			fi
			if [[ -z "$kwhy" && -z "$kdown" ]]; then
				if "${name}_kernel" "$i"; then
					fk=$figure
					k+=("$fk")
				else
					kfail=$((kfail + 1))
				fi
			fi
			log "$title, $p, run $i of $RUNS: ustcp ${fu:-failed}, kernel ${fk:-${kwhy:-failed}}"
			[[ -n "$fu" && -n "$fk" ]] && r+=("$(ratio "$better" "$fu" "$fk")")
		done
		defined "${name}_down" && "${name}_down"
		local kcell ucell
		kcell=${kdown:-$(figures "$fmt" "$kfail" "${k[@]}")}
		[[ -n "$kwhy" ]] && kcell="skipped: $kwhy"
		ucell=${udown:-$(figures "$fmt" "$ufail" "${u[@]}")}
		table+=("| $label | $p | $kcell | $ucell | $(ratios "$better") |")
		label=''
	done
}

# figures FORMAT FAILED NUMBER...: a cell, with the runs that failed.
figures() {
	local fmt=$1 failed=$2
	shift 2
	if (($#)); then
		cell "$fmt" "$@"
	elif ((failed)); then
		printf 'failed'
	fi
	((failed && $#)) && printf ', %d of %d runs failed' "$failed" "$RUNS"
}

# ratio higher|lower USTCP KERNEL: the ratio that is above 1 when ustcp did better.
ratio() {
	awk -v b="$1" -v u="$2" -v k="$3" 'BEGIN {
		r = b == "lower" ? (u > 0 ? k / u : 0) : (k > 0 ? u / k : 0)
		printf "%.6g", r
	}'
}

# ratios higher|lower: the ratio of the medians of bench_row's u and k,
# with the lowest and highest ratio of a run to the other side's run next
# to it (r).
ratios() {
	local better=$1 um km lo hi
	((${#u[@]} && ${#k[@]})) || return 0
	read -r um _ < <(stats "${u[@]}")
	read -r km _ < <(stats "${k[@]}")
	printf '%.2f' "$(ratio "$better" "$um" "$km")"
	if ((${#r[@]} > 1)); then
		read -r _ lo hi < <(stats "${r[@]}")
		printf ' (%.2f .. %.2f)' "$lo" "$hi"
	fi
	return 0
}

# para TEXT...: one Markdown paragraph, wrapped at 100 columns.
para() {
	printf '%s\n' "$*" | fmt -w 100
	echo
}

print_table() {
	local i
	para "\`make bench\` (scripts/bench.sh${QUICK:+ with BENCH_QUICK=1}) on $(date +%F)," \
		"Linux $(uname -r), $(nproc) cores."
	echo "| measure | cores | kernel | ustcp | ratio |"
	echo "|---|---|---|---|---|"
	printf '%s\n' "${table[@]}"
	echo
	para "Each cell: the median of $RUNS runs, ustcp and the kernel in turn, with the lowest" \
		"and highest run. Ratio: ustcp/kernel for rates, kernel/ustcp for costs, so that" \
		"above 1 ustcp did better; the ratio of the medians, with the lowest and highest" \
		"ratio of one ustcp run to the kernel run next to it. Cores: *one*, server and client" \
		"on core 0 (\`taskset -c 0\` for both); *two*, the server on core 0 and the client on" \
		"core 1 (\`taskset -c 1\`); *-*, nothing pinned. The kernel's own softirq work (the" \
		"receive path of every packet, and of every frame ustcp writes to its TAP device)" \
		"runs on whichever core the interrupt or the sending call is on and cannot be" \
		"pinned: with *two*, some of one end's TCP work runs on the other end's core. The" \
		"network rows run each command as \`timeout SECONDS ip netns exec NAMESPACE" \
		"taskset -c CORE COMMAND\`; ADDR is the server's address."
	for i in "${!footnotes[@]}"; do
		para "[$((i + 1))] ${footnotes[$i]}"
	done
	if ((${#stalls[@]})); then
		echo "Runs whose slowest transaction took a second or more (a retransmission timeout):"
		echo
		printf -- '- %s\n' "${stalls[@]}"
		echo
	fi
	if ((${#ustcp_failures[@]})); then
		echo "ustcp failed in these runs (the command as run; its output is on stderr):"
		echo
		printf -- '- %s\n' "${ustcp_failures[@]}"
		echo
	fi
}

# ---- the network: ustcp on a TAP device, the kernel over a veth pair ----

net_state='' # '' not tried, up, or why not

net_why() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "not root (namespaces, TAP and veth devices need it)"
	elif [[ ! -c /dev/net/tun ]]; then
		echo "/dev/net/tun is missing"
	elif ! command -v ip >/dev/null 2>&1; then
		echo "ip (iproute2) is not installed (make deps)"
	elif ! command -v ping >/dev/null 2>&1 || ! command -v ss >/dev/null 2>&1; then
		echo "ping or ss is not installed (make deps)"
	fi
}

# Two namespaces joined by a veth pair, for the kernel's own figures.
veth_up() {
	veth_a=$NS_PREFIX_NAME-$$-va
	veth_b=$NS_PREFIX_NAME-$$-vb
	local net=10.199.$(($$ % 256))
	veth_ip_a=$net.1
	veth_ip_b=$net.2
	ip netns add "$veth_a" || return 1
	ns__created+=("$veth_a")
	ip netns add "$veth_b" || return 1
	ns__created+=("$veth_b")
	ip -n "$veth_a" link set lo up &&
		ip -n "$veth_b" link set lo up &&
		ip -n "$veth_a" link add veth0 type veth peer name veth0 netns "$veth_b" &&
		ip -n "$veth_a" addr add "$veth_ip_a/24" dev veth0 &&
		ip -n "$veth_b" addr add "$veth_ip_b/24" dev veth0 &&
		ip -n "$veth_a" link set veth0 up &&
		ip -n "$veth_b" link set veth0 up &&
		ns_wait_ping "$veth_a" "$veth_ip_b" 10
}

# Connections per second would run out of ports while the client's closed
# connections sit in TIME-WAIT (RFC 9293 §3.6.1, 60 s on Linux): let the
# client's namespace reuse them (the timestamps keep that safe, RFC 7323 §5)
# and give it the whole port range. Per namespace; the host is untouched.
client_sysctls() {
	ip netns exec "$1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
		net.ipv4.tcp_tw_reuse=1
}

# The namespaces of the network rows, made once; prints why not, if not.
net_skip() {
	if [[ -z "$net_state" ]]; then
		net_state=$(net_why)
		if [[ -n "$net_state" ]]; then
			:
		elif ! ns_up "" >"$tmp/ns.err" 2>&1; then
			net_state="cannot make a namespace with a TAP device: $(head -1 "$tmp/ns.err")"
		elif ! veth_up >"$tmp/veth.err" 2>&1; then
			net_state="cannot make two namespaces joined by veth: $(head -1 "$tmp/veth.err")"
		elif ! client_sysctls "$NS_NAME" || ! client_sysctls "$veth_a"; then
			net_state="cannot set the clients' port range and TIME-WAIT reuse"
		else
			net_state=up
			tap_ns=$NS_NAME tap_k=$NS_KERNEL_IP tap_u=$NS_USTCP_IP
			tap_net=(--tap "$NS_TAP" --ip "$tap_u/$NS_PREFIX")
		fi
	fi
	[[ "$net_state" == up ]] || echo "$net_state"
}

iperf_skip() {
	net_skip
	command -v iperf3 >/dev/null 2>&1 || echo "iperf3 is not installed (make deps)"
}

rr_net_skip() {
	net_skip
	[[ -x "$TCP_RR" ]] || echo "$TCP_RR is not built (make)"
}

server_u='' server_k='' # the two servers of a row (jobs)

servers_down() {
	stop "$tap_ns" "$server_u"
	stop "$veth_b" "$server_k"
	server_u='' server_k=''
}

# ustcp_server_up SECONDS READY USTCP_ARGS...: a ustcp server on tap0,
# pinned, for SECONDS at most; true once it answers ping and the function
# READY says it serves.
ustcp_server_up() {
	local secs=$1 ready=$2
	shift 2
	spawn u-server "$tap_ns" "$secs" "${on_server[@]}" "$USTCP" "$@" "${tap_net[@]}"
	server_u=$spawned
	if ! wait_for 10 "$server_u" pings "$tap_ns" "$tap_u" ||
		! wait_for 10 "$server_u" "$ready"; then
		failed_run ustcp u-server "ustcp $1 did not start"
	fi
}

# ---- bulk: iperf3 ----

iperf_budget() { echo $((RUNS * 2 * (IPERF_SECONDS + 15) + 30)); }

perf_ready() { in_file "$tmp/u-server.out" 'Server listening'; }

# ustcp perf -s on tap0, and the kernel's iperf3 -s across the veth pair.
perf_server_up() { ustcp_server_up "$(iperf_budget)" perf_ready perf -s -p "$IPERF_PORT"; }
iperf3_server_up() {
	spawn k-server "$veth_b" "$(iperf_budget)" "${on_server[@]}" iperf3 -s -p "$IPERF_PORT"
	server_k=$spawned
	wait_for 10 "$server_k" listens "$veth_b" "$IPERF_PORT" ||
		failed_run kernel k-server "iperf3 -s did not listen"
}

# iperf_client WHO NS ADDR [ARGS...]: one run of the kernel's iperf3 -c,
# pinned, against ADDR; figure: the rate the receiver counted, in Gbit/s.
iperf_client() {
	local who=$1 ns=$2 addr=$3 bps
	shift 3
	run "$who-client" "$ns" $((IPERF_SECONDS + 20)) "${on_client[@]}" iperf3 -c "$addr" \
		-p "$IPERF_PORT" -t "$IPERF_SECONDS" -J "$@"
	bps=$(iperf_bps "$tmp/$who-client.out")
	if [[ -z "$bps" ]]; then
		failed_run "$who" "$who-client" "iperf3 -c $addr $* gave no result"
		return 1
	fi
	figure=$(gbit "$bps")
}

bulk_k2s_skip() { iperf_skip; }
bulk_k2s_ustcp_up() { perf_server_up; }
bulk_k2s_kernel_up() { iperf3_server_up; }
bulk_k2s_down() { servers_down; }
bulk_k2s_ustcp() { iperf_client ustcp "$tap_ns" "$tap_u"; }
bulk_k2s_kernel() { iperf_client kernel "$veth_a" "$veth_ip_b"; }

bulk_s2k_skip() { iperf_skip; }
bulk_s2k_ustcp_up() { perf_server_up; }
bulk_s2k_kernel_up() { iperf3_server_up; }
bulk_s2k_down() { servers_down; }
bulk_s2k_ustcp() { iperf_client ustcp "$tap_ns" "$tap_u" -R; }
bulk_s2k_kernel() { iperf_client kernel "$veth_a" "$veth_ip_b" -R; }

# The kernel's iperf3 -s at both: in the TAP's namespace for ustcp perf -c,
# and across the veth pair for the kernel's iperf3 -c.
bulk_c2k_skip() { iperf_skip; }
bulk_c2k_ustcp_up() {
	spawn u-server "$tap_ns" "$(iperf_budget)" "${on_server[@]}" iperf3 -s -p "$IPERF_PORT"
	server_u=$spawned
	wait_for 10 "$server_u" listens "$tap_ns" "$IPERF_PORT" ||
		failed_run kernel u-server "iperf3 -s did not listen"
}
bulk_c2k_kernel_up() { iperf3_server_up; }
bulk_c2k_down() { servers_down; }
bulk_c2k_ustcp() {
	local bps
	run u-client "$tap_ns" $((IPERF_SECONDS + 20)) "${on_client[@]}" "$USTCP" perf \
		-c "$tap_k" -p "$IPERF_PORT" -t "$IPERF_SECONDS" -J "${tap_net[@]}"
	bps=$(iperf_bps "$tmp/u-client.out")
	if [[ -z "$bps" ]]; then
		failed_run ustcp u-client "ustcp perf -c $tap_k gave no result"
		return 1
	fi
	figure=$(gbit "$bps")
}
bulk_c2k_kernel() { iperf_client kernel "$veth_a" "$veth_ip_b"; }

# bulk_footnote USTCP_SIDE KERNEL_SIDE: the footnote of an iperf3 row.
bulk_footnote() {
	echo "One connection for $IPERF_SECONDS s; the rate the receiver counted (\`-J\`:" \
		"end.sum_received), in Gbit/s. ustcp: $1 on tap0, in one namespace with the" \
		"kernel's side of the TAP device; kernel: $2 across a veth pair between two namespaces."
}

# ---- request/response and connections: bench/tcp_rr ----

rr_budget() { awk -v n="$RUNS" -v s="$RR_SECONDS" 'BEGIN { printf "%d", n * 2 * (s + 10) + 30 }'; }

# ustcp echo on tap0, and tcp_rr's kernel echo server across the veth
# pair, in the design that was the kernel's best for the pinning. On the
# 2-core VM this was written on (medians of 3 runs of 2 s on one core, 5 on
# two): on one core, epoll did 17,463 connect+close/s against 13,237 for a
# thread per connection, and 11,167 connect+RR+close/s against 9,431; on
# two, a thread per connection did 9,254 against 3,590, and 6,943 against
# 2,299. The 1-byte request/response rate was alike either way.
echo_server_up() { ustcp_server_up "$(rr_budget)" echo_ready echo -p "$ECHO_PORT"; }
kernel_echo_up() {
	local design=$KERNEL_SERVER_ONE
	[[ "$pinning" == two ]] && design=$KERNEL_SERVER_TWO
	spawn k-server "$veth_b" "$(rr_budget)" "${on_server[@]}" "$TCP_RR" serve "$ECHO_PORT" \
		"$(rr_budget)" "$design"
	server_k=$spawned
	wait_for 10 "$server_k" in_file "$tmp/k-server.out" listening ||
		failed_run kernel k-server "tcp_rr serve did not listen"
}

# echo_ready: a connection to ustcp echo goes through.
echo_ready() {
	ip netns exec "$tap_ns" "$TCP_RR" cc "$tap_u" "$ECHO_PORT" 0.01 >/dev/null 2>&1
}

# rr_client WHO MODE NS ADDR: one run of tcp_rr MODE, pinned; figure: per second.
rr_client() {
	local who=$1 mode=$2 ns=$3 addr=$4
	if ! run "$who-client" "$ns" "$(rr_budget)" "${on_client[@]}" "$TCP_RR" "$mode" "$addr" \
		"$ECHO_PORT" "$RR_SECONDS"; then
		failed_run "$who" "$who-client" "tcp_rr $mode $addr failed"
		return 1
	fi
	figure=$(awk '{ for (i = 1; i < NF; i++) if ($i == "per_second") print $(i + 1) }' \
		"$tmp/$who-client.out")
	[[ -n "$figure" ]] || failed_run "$who" "$who-client" "tcp_rr $mode $addr gave no result" ||
		return 1
	# A transaction of a second or more waited for a retransmission timeout
	# (a lost SYN, or a segment the peer dropped): worth knowing beside a rate.
	local slowest
	slowest=$(awk '{ for (i = 1; i < NF; i++) if ($i == "max_us") print $(i + 1) }' \
		"$tmp/$who-client.out")
	if ((${slowest:-0} >= 1000000)); then
		stalls+=("$who, \`tcp_rr $mode\`, cores $pinning: $((slowest / 1000)) ms")
		log "$who: tcp_rr $mode: one transaction took $((slowest / 1000)) ms"
	fi
}

rr_skip() { rr_net_skip; }
rr_ustcp_up() { echo_server_up; }
rr_kernel_up() { kernel_echo_up; }
rr_down() { servers_down; }
rr_ustcp() { rr_client ustcp rr "$tap_ns" "$tap_u"; }
rr_kernel() { rr_client kernel rr "$veth_a" "$veth_ip_b"; }

cc_skip() { rr_net_skip; }
cc_ustcp_up() { echo_server_up; }
cc_kernel_up() { kernel_echo_up; }
cc_down() { servers_down; }
cc_ustcp() { rr_client ustcp cc "$tap_ns" "$tap_u"; }
cc_kernel() { rr_client kernel cc "$veth_a" "$veth_ip_b"; }

crr_skip() { rr_net_skip; }
crr_ustcp_up() { echo_server_up; }
crr_kernel_up() { kernel_echo_up; }
crr_down() { servers_down; }
crr_ustcp() { rr_client ustcp crr "$tap_ns" "$tap_u"; }
crr_kernel() { rr_client kernel crr "$veth_a" "$veth_ip_b"; }

# rr_footnote MODE WHAT...: the footnote of a tcp_rr row.
rr_footnote() {
	echo "The kernel's client \`bench/tcp_rr $1 ADDR $ECHO_PORT $RR_SECONDS\` (TCP_NODELAY," \
		"every byte checked), ${*:2}, per second. ustcp: \`ustcp echo -p $ECHO_PORT\` on tap0 (a" \
		"thread per connection on the blocking API); kernel: \`tcp_rr serve $ECHO_PORT SECONDS" \
		"DESIGN\` across a veth pair, the design the kernel's best as measured on this" \
		"machine: \`$KERNEL_SERVER_ONE\` on one core and \`$KERNEL_SERVER_TWO\` on two" \
		"(epoll: one thread, every connection non-blocking; threads: a thread per" \
		"connection, as ustcp echo)."
}

# ---- the simulated path: ustcp's CPU cost beside the kernel's loopback ----

lo_ns=''

sim_ustcp() {
	local out=$tmp/sim.out
	if ! run sim - 300 "$USTCP" perf --sim --bytes "$SIM_BYTES" --seed "$1" --json ||
		[[ $(jget "$out" verified) != true ]]; then
		failed_run ustcp sim "perf --sim run $1 failed or was not verified"
		return 1
	fi
	figure=$(gbit "$(jget "$out" cpu_stack_bits_per_second)")
}

sim_kernel_skip() {
	if ! command -v iperf3 >/dev/null 2>&1; then
		echo "iperf3 is not installed (make deps)"
	elif [[ $(id -u) -ne 0 ]]; then
		echo "a namespace of its own needs root"
	elif [[ -z "$lo_ns" ]]; then
		lo_ns=$NS_PREFIX_NAME-$$-lo
		if ! ip netns add "$lo_ns" 2>"$tmp/lo.err"; then
			echo "ip netns add failed: $(head -1 "$tmp/lo.err")"
			return
		fi
		ns__created+=("$lo_ns")
		ip -n "$lo_ns" link set lo up
	fi
}

sim_kernel() {
	local out=$tmp/lo-client.out bps cpu s
	spawn lo-server "$lo_ns" $((IPERF_SECONDS + 30)) iperf3 -s -1 -p "$IPERF_PORT"
	s=$spawned
	wait_for 10 "$s" listens "$lo_ns" "$IPERF_PORT"
	run lo-client "$lo_ns" $((IPERF_SECONDS + 20)) iperf3 -c 127.0.0.1 -p "$IPERF_PORT" \
		-t "$IPERF_SECONDS" -J
	stop "$lo_ns" "$s"
	bps=$(iperf_bps "$out")
	cpu=$(iperf_cpu "$out")
	if [[ -z "$bps" || -z "$cpu" ]]; then
		failed_run kernel lo-client "iperf3 over loopback gave no result"
		return 1
	fi
	# iperf3 reports each end's CPU (user + system) in percent of one core.
	figure=$(awk -v b="$bps" -v c="$cpu" 'BEGIN { printf "%.6g", b / (c / 100) / 1e9 }')
}

# The in-memory path alone (bench/sim_path): two stacks on the simulated
# link with the offloads a vnet link has, as loopback has its own.
simpath_ustcp() {
	local out=$tmp/simpath.out
	if ! run simpath - 300 "$SIM_PATH" --offloads --bytes "$SIM_PATH_BYTES"; then
		failed_run ustcp simpath "sim_path run $1 failed"
		return 1
	fi
	figure=$(sed -n 's/.* gbit_per_cpu_s \([0-9.]*\).*/\1/p' "$out")
	[[ -n "$figure" ]]
}
simpath_skip() { [[ -x "$SIM_PATH" ]] || echo "$SIM_PATH is not built (make)"; }
simpath_kernel_skip() { sim_kernel_skip; }
simpath_kernel() { sim_kernel "$@"; }

# ---- virtual time: the modelled link, not this machine ----

virtual() { # virtual TITLE ARGS...
	local title=$1 out=$tmp/virtual.out
	shift
	if ! run virtual - 300 "$USTCP" perf --sim "$@" --json && [[ ! -s "$out" ]]; then
		failed_run ustcp virtual "perf --sim $* gave no result"
		echo "| $title | failed | | | |"
		return
	fi
	awk -v t="$title" -v args="$*" '
		function v(k) { return k in j ? j[k] : "null" }
		function mbit(x) { return x == "null" ? "-" : sprintf("%.1f", x / 1e6) }
		$1 ~ /^"[a-z_]+":$/ { k = substr($1, 2, length($1) - 3); x = $2; sub(/,$/, "", x); j[k] = x }
		END {
			printf "| %s (`%s`) | %s | %s | %s | %s | %s (%s fast, %s RTO) |\n", t, args,
				v("verified") == "true" ? "yes" : "NO", mbit(v("bits_per_second")),
				mbit(v("steady_bits_per_second")), mbit(v("mathis_bps")),
				v("retransmits"), v("fast_retransmits"), v("rto_expirations")
		}' "$out"
}

virtual_section() {
	echo
	echo "Virtual time (the modelled link, not this machine: \`ustcp perf --sim ... --json\`):"
	echo
	echo "| link | verified | Mbit/s | after slow start | Mathis estimate | retransmits |"
	echo "|---|---|---|---|---|---|"
	virtual "1 Gbit/s, 20 ms RTT" --rate 1000 --delay 10 --bytes "$VIRTUAL_BYTES"
	virtual "the same, 1% loss each way" --rate 1000 --delay 10 --bytes "$VIRTUAL_BYTES" --loss 1
}

# ---- the sender's CPU per ACK under the worst SACK pattern a peer can send ----

sack_section() {
	local w out ir acks ns
	echo
	echo "The worst SACK blocks a peer can send, per ACK, as the window grows (\`$SACK_COST\`;"
	echo "instructions: \`valgrind --tool=callgrind --toggle-collect='measure_acks*'\`):"
	echo
	if [[ ! -x "$SACK_COST" ]]; then
		echo "skipped: $SACK_COST is not built (make)"
		return
	fi
	echo "| window | ns per ACK (wall clock, one run) | instructions per ACK |"
	echo "|---|---|---|"
	for w in 1 8 64; do
		out=$tmp/sack.out
		if ! run sack - 300 "$SACK_COST" "$w"; then
			failed_run ustcp sack "sack_cost $w failed"
			continue
		fi
		ns=$(sed -n 's/.*: *\([0-9]*\) ns\/ACK.*/\1/p' "$out")
		ir='-'
		if [[ -n "$QUICK" ]]; then
			ir='(not counted with BENCH_QUICK)'
		elif ! command -v valgrind >/dev/null 2>&1; then
			ir='(valgrind is not installed)'
		elif run sack-cg - 600 valgrind --tool=callgrind --toggle-collect='measure_acks*' \
			--callgrind-out-file="$tmp/sack.cg" "$SACK_COST" "$w"; then
			ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/sack-cg.err")
			acks=$(sed -n 's/.*, \([0-9]*\) ACKs of.*/\1/p' "$tmp/sack-cg.out")
			[[ -n "$ir" && -n "$acks" ]] && ir=$(awk -v i="$ir" -v n="$acks" \
				'BEGIN { printf "%.0f", i / n }')
		fi
		echo "| $w MiB | $ns | $ir |"
	done
}

# ---- a million connections on the simulated link (bench/million) ----
# What a connection costs (the pool's accounting and the RSS), how long a
# million take to open, and, counted by callgrind phase by phase, the
# instructions per segment of 16 KiB each way on 1 connection and on 1,000
# of the million, per 1 ms tick of two idle stacks, and per byte of a 32 MiB
# transfer alone and beside 10,000 idle connections.
million_phases() { # million_phases OUT CALLGRIND_PREFIX: "name segs units unit ir stack_ir lookup_ir"
	local f name ir
	for f in "$2".*; do
		name=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
		ir=$(sed -n 's/^totals: //p' "$f")
		[[ -n "$name" && -n "$ir" ]] || continue
		# The stacks' own: the calls into them, less the link's transmit
		# (the simulator's copy into its delay queue) made from inside them.
		callgrind_annotate --inclusive=yes "$f" 2>/dev/null | awk -v n="$name" -v ir="$ir" '
			/:(ustcp_input|ustcp_stack_poll|ustcp_next_deadline|ustcp_send|ustcp_recv|ustcp_sock_readable) \[/ {
				gsub(",", "", $1); own += $1 }
			/sim\.c:sim_transmit \[/ { gsub(",", "", $1); own -= $1 }
			/tcp_conn\.c:tcp_conn_lookup \[/ && !look { gsub(",", "", $1); look = $1 }
			END { print n, ir, own, look + 0 }' >"$f.sum"
		awk 'NR == FNR { n = $1; ir = $2; own = $3; lk = $4; next }
			$1 == "phase" && $2 == n ":" {
				unit = $6; sub(/,$/, "", unit)
				print n, $3, $5, unit, ir, own, lk }' "$f.sum" "$1"
	done
}

million_section() {
	local conns=$MILLION_CONNS out cg=$tmp/million.cg
	echo
	echo "$conns connections on the simulated link, one process (\`$MILLION $conns\`; instructions:"
	echo "\`valgrind --tool=callgrind --instr-atstart=no\`, phase by phase):"
	echo
	if [[ ! -x "$MILLION" ]]; then
		echo "skipped: $MILLION is not built (make)"
		return
	fi
	if ! run million - 900 "$MILLION" "$conns"; then
		failed_run ustcp million "bench/million $conns failed"
		return
	fi
	grep -E '^(setup|memory|rss)' "$tmp/million.out" | head -4 | sed 's/^/    /'
	if [[ -n "$QUICK" ]]; then
		echo
		echo "(instructions not counted with BENCH_QUICK)"
		return
	elif ! command -v valgrind >/dev/null 2>&1; then
		echo
		echo "(instructions not counted: valgrind is not installed)"
		return
	fi
	echo
	rm -f "$cg".*
	out=$tmp/million-cg.out
	if run million-cg - 3600 valgrind --tool=callgrind --instr-atstart=no \
		--callgrind-out-file="$cg" "$MILLION" "$conns"; then
		million_phases "$out" "$cg" | awk -v n="$conns" '
			{ segs[$1] = $2; units[$1] = $3; ir[$1] = $5; own[$1] = $6; look[$1] = $7 }
			function pct(a, b) { return a ? 100 * (b - a) / a : 0 }
			END {
				a = ir["data_one"] / segs["data_one"]; b = ir["data_many"] / segs["data_many"]
				c = own["data_one"] / segs["data_one"]; d = own["data_many"] / segs["data_many"]
				printf "- instructions per segment, 16 KiB each way: 1 connection alone %.0f, 1000 of %d %.0f (%+.1f%%);", a, n, b, pct(a, b)
				printf " the stacks%s own %.0f and %.0f (%+.1f%%)\n", "\047", c, d, pct(c, d)
				printf "- instructions per 1 ms tick of both stacks, idle: %.0f with 1 connection, %.0f with %d\n",
					ir["idle_one"] / units["idle_one"], ir["idle_many"] / units["idle_many"], n
			}'
	else
		failed_run ustcp million-cg "bench/million $conns under callgrind failed"
	fi
	rm -f "$cg".*
	out=$tmp/million-bulk.out
	if run million-bulk - 1800 valgrind --tool=callgrind --instr-atstart=no \
		--callgrind-out-file="$cg" "$MILLION" --bulk 10000; then
		million_phases "$out" "$cg" | awk '
			{ per[$1] = $5 / $3; own[$1] = $6 / $3 }
			END {
				a = per["bulk_alone"]; b = per["bulk_beside"]; c = own["bulk_alone"]; d = own["bulk_beside"]
				printf "- instructions per byte of 32 MiB: alone %.2f, beside 10000 idle connections %.2f (%+.1f%%);", a, b, 100 * (b - a) / a
				printf " the stacks%s own %.2f and %.2f (%+.1f%%)\n", "\047", c, d, 100 * (d - c) / c
			}'
	else
		failed_run ustcp million-bulk "bench/million --bulk 10000 under callgrind failed"
	fi
	rm -f "$cg".*
}

# ---- SYN cookies: spoofed SYNs one core answers, in memory ----

syncookie_section() {
	local ir n
	echo
	echo "A SYN flood answered with SYN cookies, in memory (\`$SYNCOOKIE $SYNCOOKIE_SYNS\`: spoofed"
	echo "SYNs from random sources to a listener whose queue is full, each answered by a SYN,ACK"
	echo "that carries the connection in its sequence number; instructions per SYN:"
	echo "\`valgrind --tool=callgrind --toggle-collect=feed\`):"
	echo
	if [[ ! -x "$SYNCOOKIE" ]]; then
		echo "skipped: $SYNCOOKIE is not built (make)"
		return
	fi
	if ! run syncookie - 300 "$SYNCOOKIE" "$SYNCOOKIE_SYNS"; then
		failed_run ustcp syncookie "bench/syncookie failed"
		return
	fi
	n=$(sed -n 's/.* \([0-9]*\) per cpu-second.*/\1/p' "$tmp/syncookie.out")
	ir='(not counted with BENCH_QUICK)'
	if [[ -z "$QUICK" ]] && command -v valgrind >/dev/null 2>&1 &&
		run syncookie-cg - 600 valgrind --tool=callgrind --toggle-collect=feed \
			--callgrind-out-file="$tmp/syncookie.cg" "$SYNCOOKIE" 200000; then
		ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/syncookie-cg.err")
		[[ -n "$ir" ]] && ir=$(awk -v i="$ir" 'BEGIN { printf "%.0f", i / 200000 }')
	fi
	echo "| SYNs answered per CPU second | instructions per SYN |"
	echo "|---|---|"
	echo "| ${n:-?} | $ir |"
	rm -f "$tmp"/syncookie.cg*
}

# ---- a SYN flood on the TAP device (tests/interop/synflood.sh) ----

synflood_section() {
	local script=$ROOT/tests/interop/synflood.sh rate why secs=${QUICK:+3}
	local clients
	clients=$(dirname "$USTCP")/tests/interop/echo_clients
	secs=${secs:-10}
	echo
	echo "A SYN flood from spoofed sources onto the TAP device while the kernel's TCP connects to"
	echo "\`ustcp echo\` (\`USTCP_FLOOD_RATE=R USTCP_FLOOD_SECONDS=$secs bash $script $USTCP $clients\`;"
	echo "R = 0 writes as fast as one core can, and the device then drops what ustcp cannot take):"
	echo
	why=$(net_why)
	if [[ -n "$why" ]]; then
		echo "skipped: $why"
		return
	fi
	echo "| SYN/s asked | SYN/s written | refused by the device | SYN cookies sent | connections echoed within 1 s | slowest |"
	echo "|---|---|---|---|---|---|"
	for rate in 100000 0; do
		if ! run "flood-$rate" - 120 env USTCP_FLOOD_RATE="$rate" USTCP_FLOOD_SECONDS="$secs" \
			bash "$script" "$USTCP" "$clients"; then
			log "synflood at $rate SYN/s: fewer than 99% within 1 s (see $tmp/flood-$rate.out)"
		fi
		awk -v asked="$rate" '
			/^  flood: / { written = $8; refused = $10; sub(/\(/, "", refused) }
			/^  connect: / { ok = $2 " of " $4; slow = /slowest \(failed\)/ ? "one failed" : $(NF - 1) " ms" }
			/^info: ustcp: / { cookies = $3 }
			END { printf "| %s | %s | %s | %s | %s | %s |\n", asked ? asked : "as fast as it can",
				written, refused, cookies, ok, slow }' "$tmp/flood-$rate.out"
	done
}

# ---- the rows ----

log "$RUNS runs of each, iperf3 for $IPERF_SECONDS s, tcp_rr for $RR_SECONDS s${QUICK:+ (BENCH_QUICK)}"
bench_row bulk_k2s "bulk kernel -> server, Gbit/s" "%.2f" higher "one two" "$(bulk_footnote \
	"the kernel's \`iperf3 -c ADDR -t $IPERF_SECONDS -J\` to \`ustcp perf -s\`" \
	"the same client to \`iperf3 -s\`")"
bench_row bulk_s2k "bulk server -> kernel, Gbit/s" "%.2f" higher "one two" "$(bulk_footnote \
	"the kernel's \`iperf3 -c ADDR -t $IPERF_SECONDS -J -R\` (the server sends) to \`ustcp perf -s\`" \
	"the same client to \`iperf3 -s\`")"
bench_row bulk_c2k "bulk client -> kernel server, Gbit/s" "%.2f" higher "one two" "$(bulk_footnote \
	"\`ustcp perf -c ADDR -t $IPERF_SECONDS -J\` (the client sends) to the kernel's \`iperf3 -s\`" \
	"the kernel's \`iperf3 -c\` to the same \`iperf3 -s\`")"
bench_row rr "1-byte request/response per second" "%.0f" higher "one two" "$(rr_footnote rr \
	"one connection, a 1-byte request and its 1-byte response, again")"
bench_row cc "connect + close per second" "%.0f" higher "one two" "$(rr_footnote cc \
	"connect, then close: the client's FIN, and the server's once it has read the end," \
	"before the next connection (so each connection has ended at both sides)")"
bench_row crr "connect + 1-byte RR + close per second" "%.0f" higher "one two" "$(rr_footnote \
	crr "connect, a 1-byte request and its response, close as in connect + close")"
bench_row sim "simulated path, Gbit/s per CPU second" "%.2f" higher "-" \
	"ustcp: \`ustcp perf --sim --bytes $SIM_BYTES --seed RUN --json\`'s" \
	"cpu_stack_bits_per_second: one core runs both ends' TCP, IP and Ethernet and the" \
	"simulated link (a memcpy per frame), the tool's own work (making, checking and hashing" \
	"every byte) measured apart and left out. Kernel: \`iperf3 -c 127.0.0.1 -t" \
	"$IPERF_SECONDS -J\` to \`iperf3 -s\` over loopback in a namespace of its own, nothing" \
	"pinned, its rate divided by the CPU both ends report (user + system): per CPU second too."
bench_row simpath "in-memory path, offloads, Gbit/s per CPU second" "%.2f" higher "-" \
	"ustcp: \`$SIM_PATH --offloads --bytes $SIM_PATH_BYTES\`: two stacks in one process on the" \
	"simulated link, which passes offloaded frames on whole as a vnet link does (TSO, GRO," \
	"checksums trusted), the receiver copying every byte out with ustcp_recv; the bytes moved" \
	"over the process's CPU time. Kernel: loopback as in [7] (which has the same offloads)."
# Later rows here, one bench_row call each.

print_table
virtual_section
sack_section
million_section
syncookie_section
synflood_section
((${#ustcp_failures[@]} == 0))
