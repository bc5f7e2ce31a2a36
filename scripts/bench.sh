#!/usr/bin/env bash
# bench.sh — `make bench`: what ustcp's data path costs, beside the Linux
# kernel's TCP measured in the same run, and the virtual-time figures of a
# 1 Gbit/s link with a 20 ms round trip, without and with loss.
#
#   bash scripts/bench.sh          from the repository root, after `make`
#
# Then ustcp on a real TAP device with the kernel's TCP as its peer (ustcp
# nc, ustcp echo, ustcp perf -s), beside the kernel talking to itself over a
# veth pair with the same tools: bulk throughput each way, 1-byte
# transactions per second, new connections per second, ustcp's CPU per GB
# moved, and the kernel's iperf3 client against ustcp perf -s or against the
# kernel's iperf3 -s.
#
# Then the sender's CPU per ACK when a peer sends the worst SACK pattern
# (bench/sack_cost), at windows of 1, 8 and 64 MiB: wall-clock, and
# instructions counted by callgrind when valgrind is there.
#
# USTCP (./build/ustcp), TCP_RR (bench/tcp_rr beside it), SACK_COST
# (bench/sack_cost beside it), RUNS (3),
# IPERF_SECONDS (5), BULK_MIB (512) and RR_SECONDS (3) may be set in the
# environment. The kernel baselines run in network namespaces that this
# script creates and always deletes; without iperf3, root, /dev/net/tun or
# namespaces those rows are skipped, with the reason. Every command is
# bounded in time. Exit 1 only when ustcp itself failed.
set -uo pipefail

USTCP=${USTCP:-./build/ustcp}
TCP_RR=${TCP_RR:-$(dirname "$USTCP")/bench/tcp_rr}
SACK_COST=${SACK_COST:-$(dirname "$USTCP")/bench/sack_cost}
RUNS=${RUNS:-3}
IPERF_SECONDS=${IPERF_SECONDS:-5}
BULK_MIB=${BULK_MIB:-512}
RR_SECONDS=${RR_SECONDS:-3}
SIM_BYTES=1G
NS=ustcp-bench-$$
ns_made=0
server_pid=
server_u='' server_k='' # the two servers of the TAP figures (servers_up)
tmp=$(mktemp -d)
# shellcheck source=scripts/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh" # namespaces made here, always deleted

# Everything of the TAP figures runs inside namespaces of our own: ending
# what runs in them ends the jobs that wait for it.
# shellcheck disable=SC2317 # reached through cleanup
tap_cleanup() {
	local d
	for d in "${ns__created[@]}"; do
		ns_down "$d"
	done
}

# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if ((ns_made)); then
		ip netns del "$NS" 2>/dev/null
	fi
	tap_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -x "$USTCP" ]]; then
	echo "bench: $USTCP not found; run make first" >&2
	exit 1
fi

# jget FILE KEY: a top-level value of `ustcp perf --json` (one key per line).
jget() {
	awk -v k="\"$2\":" '$1 == k { v = $2; sub(/,$/, "", v); print v; exit }' "$1"
}

# iperf_get FILE KEY: KEY's value in the "end" object's part named by
# SECTION (sum_received, cpu_utilization_percent) of `iperf3 -J` output.
iperf_get() {
	awk -v sec="\"$2\"" -v k="\"$3\"" '
		index($0, sec) { f = 1 }
		f && index($0, k ":") {
			v = $0; sub(/.*":[ \t]*/, "", v); sub(/,.*$/, "", v); print v; exit
		}' "$1"
}

# stats NUMBER...: "median min max" (median of an even count: mean of the middle two).
stats() {
	printf '%s\n' "$@" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "nan nan nan"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR]
		}'
}

# row LABEL NUMBER...: median and spread, in Gbit/s.
row() {
	local label=$1
	shift
	if (($# == 0)); then
		printf '  %-46s %s\n' "$label" "-"
		return
	fi
	read -r med lo hi < <(stats "$@")
	awk -v l="$label" -v m="$med" -v a="$lo" -v b="$hi" -v n=$# 'BEGIN {
		printf "  %-46s %7.2f Gbit/s  (%.2f .. %.2f, %d runs)\n", l, m / 1e9, a / 1e9, b / 1e9, n
	}'
}

# ---- ustcp on a TAP device, beside the kernel over veth ----

# bg NAME SECONDS NS IN OUT CMD...: CMD inside namespace NS in the
# background, its standard error in $tmp/NAME.err, killed after SECONDS. When
# it ends, the CPU time (user + system) of CMD and of what it waited for is
# left in $tmp/NAME.times: `times` in the subshell that waited for it. Sets
# BG_PID, a child of this shell, so `wait` returns the moment it ends.
bg() {
	local name=$1 secs=$2 ns=$3 in=$4 out=$5
	shift 5
	rm -f "$tmp/$name.times"
	(
		timeout -k 5 "$secs" ip netns exec "$ns" "$@" <"$in" >"$out" 2>"$tmp/$name.err"
		rc=$?
		times >"$tmp/$name.times" # not in a pipe: that would be another process
		exit $rc
	) &
	BG_PID=$!
}

# cpu_of NAME: the CPU seconds `bg` recorded for NAME (its children's line).
cpu_of() {
	awk 'NR == 2 {
		s = 0
		for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); s += p[1] * 60 + p[2] }
		print s
	}' "$tmp/$1.times" 2>/dev/null
}

# nap: a short sleep without starting a process (a read that times out).
nap() { read -r -t "$1" -u "$nap_fd" _; }

# wait_text FILE TEXT PID SECONDS: until FILE holds TEXT, without missing the
# moment by more than a few milliseconds; fails if PID ends first or SECONDS pass.
wait_text() {
	local f=$1 text=$2 pid=$3 deadline=$((SECONDS + $4)) buf
	while ((SECONDS < deadline)); do
		buf=
		[[ -s "$f" ]] && read -r -d '' buf <"$f"
		[[ "$buf" == *"$text"* ]] && return 0
		ns_running "$pid" || return 1
		nap 0.001
	done
	return 1
}

# ready_ping NS ADDR PID SECONDS: until ADDR answers ping in NS; fails if PID ends first.
ready_ping() {
	local ns=$1 addr=$2 pid=$3 deadline=$((SECONDS + $4))
	while ((SECONDS < deadline)); do
		ns_running "$pid" || return 1
		ip netns exec "$ns" ping -c 1 -W 1 -q "$addr" >/dev/null 2>&1 && return 0
		nap 0.05
	done
	return 1
}

# stop_bg NS PID: end what runs in NS (TERM, then KILL), and wait for the job PID.
stop_bg() {
	local ns=$1 pid=$2
	ns__kill_all "$ns"
	wait "$pid" 2>/dev/null
}

# ustcp_bytes NAME sent|received: from ustcp nc -v's summary line.
ustcp_bytes() {
	awk -v w="$2" '/bytes sent \(acknowledged\)/ {
		sub(/.*: /, ""); s = $1; r = $5
		print (w == "sent" ? s : r); exit
	}' "$tmp/$1.err"
}

# ustcp_retransmits NAME: the count in ustcp nc -v's summary line.
ustcp_retransmits() {
	sed -n 's/.*; \([0-9]*\) retransmits (.*/\1/p' "$tmp/$1.err" | head -n 1
}

# bad WHAT NAME...: a run that failed; the tails of its logs.
bad() {
	local what=$1 n
	shift
	echo "  $what" >&2
	for n in "$@"; do
		[[ -s "$tmp/$n.err" ]] && tail -n 5 "$tmp/$n.err" | sed "s/^/    $n: /" >&2
	done
}

# per_gb SECONDS BYTES: CPU seconds per 10^9 bytes.
per_gb() { awk -v c="$1" -v b="$2" 'BEGIN { printf "%.6g", c / (b / 1e9) }'; }
gbps() { awk -v b="$1" -v us="$2" 'BEGIN { printf "%.6g", b * 8 / (us / 1e6) / 1e9 }'; }
# gbits BPS...: each bits per second in Gbit/s, on one line.
gbits() { (($#)) && printf '%s\n' "$@" | awk '{ printf "%s%.6g", (NR > 1 ? " " : ""), $1 / 1e9 }'; }

# One transfer of the bulk file, kernel nc -N -> ustcp nc -l, over the TAP.
# The clock starts when the sender reports its connection (nc -v) and stops
# when the receiver exits, after the last byte and the FIN.
bulk_k2u() {
	local port=$((5100 + $1)) r s rc_r rc_s t0='' t1 got
	bg u-recv 120 "$tap_ns" /dev/null /dev/null "$USTCP" nc -v -l -p "$port" "${tap_net[@]}"
	r=$BG_PID
	if ! ready_ping "$tap_ns" "$tap_u" "$r" 10; then
		bad "kernel -> ustcp run $1: ustcp nc -l did not answer ping" u-recv
		stop_bg "$tap_ns" "$r"
		return 1
	fi
	bg k-send 120 "$tap_ns" "$bulk_file" /dev/null nc -v -N "$tap_u" "$port"
	s=$BG_PID
	wait_text "$tmp/k-send.err" succeeded "$s" 10 && t0=${EPOCHREALTIME/./}
	[[ -z "$t0" ]] && ns__kill_all "$tap_ns" # no connection: nothing will end the receiver
	wait "$r"
	rc_r=$?
	t1=${EPOCHREALTIME/./}
	wait "$s"
	rc_s=$?
	got=$(ustcp_bytes u-recv received)
	if [[ -z "$t0" || $rc_r -ne 0 || $rc_s -ne 0 || "$got" != "$bulk_bytes" ]]; then
		bad "kernel -> ustcp run $1: exit $rc_s (nc) and $rc_r (ustcp), ${got:-?} of $bulk_bytes bytes" \
			k-send u-recv
		return 1
	fi
	k2u_bps+=("$(gbps "$bulk_bytes" $((t1 - t0)))")
	k2u_cpu+=("$(per_gb "$(cpu_of u-recv)" "$bulk_bytes")")
	retx+=("k2u:$(ustcp_retransmits u-recv)")
}

# ustcp nc -N -> kernel nc -l, over the TAP; clocked the same way.
bulk_u2k() {
	local port=$((5200 + $1)) r s rc_r rc_s t0='' t1 got
	bg k-recv 120 "$tap_ns" /dev/null /dev/null nc -l "$tap_k" "$port"
	r=$BG_PID
	if ! ns_wait_listen "$tap_ns" "$port" 10; then
		bad "ustcp -> kernel run $1: the kernel's nc -l did not listen" k-recv
		stop_bg "$tap_ns" "$r"
		return 1
	fi
	bg u-send 120 "$tap_ns" "$bulk_file" /dev/null "$USTCP" nc -v -N "$tap_k" "$port" \
		"${tap_net[@]}"
	s=$BG_PID
	wait_text "$tmp/u-send.err" succeeded "$s" 15 && t0=${EPOCHREALTIME/./}
	[[ -z "$t0" ]] && ns__kill_all "$tap_ns"
	wait "$r"
	rc_r=$?
	t1=${EPOCHREALTIME/./}
	wait "$s"
	rc_s=$?
	got=$(ustcp_bytes u-send sent)
	if [[ -z "$t0" || $rc_r -ne 0 || $rc_s -ne 0 || "$got" != "$bulk_bytes" ]]; then
		bad "ustcp -> kernel run $1: exit $rc_s (ustcp) and $rc_r (nc), ${got:-?} of $bulk_bytes bytes acknowledged" \
			u-send k-recv
		return 1
	fi
	u2k_bps+=("$(gbps "$bulk_bytes" $((t1 - t0)))")
	u2k_cpu+=("$(per_gb "$(cpu_of u-send)" "$bulk_bytes")")
	retx+=("u2k:$(ustcp_retransmits u-send)")
}

# Kernel nc -N -> kernel nc -l over the veth pair; clocked the same way.
bulk_k2k() {
	local port=$((5300 + $1)) r s rc_r rc_s t0='' t1
	bg kk-recv 120 "$veth_b" /dev/null /dev/null nc -l "$veth_ip_b" "$port"
	r=$BG_PID
	if ! ns_wait_listen "$veth_b" "$port" 10; then
		bad "kernel -> kernel run $1: nc -l did not listen" kk-recv
		stop_bg "$veth_b" "$r"
		return 1
	fi
	bg kk-send 120 "$veth_a" "$bulk_file" /dev/null nc -v -N "$veth_ip_b" "$port"
	s=$BG_PID
	wait_text "$tmp/kk-send.err" succeeded "$s" 10 && t0=${EPOCHREALTIME/./}
	[[ -z "$t0" ]] && ns__kill_all "$veth_a" && ns__kill_all "$veth_b"
	wait "$r"
	rc_r=$?
	t1=${EPOCHREALTIME/./}
	wait "$s"
	rc_s=$?
	if [[ -z "$t0" || $rc_r -ne 0 || $rc_s -ne 0 ]]; then
		bad "kernel -> kernel run $1: exit $rc_s (sender) and $rc_r (receiver)" kk-send kk-recv
		return 1
	fi
	k2k_bps+=("$(gbps "$bulk_bytes" $((t1 - t0)))")
	k2k_rcpu+=("$(per_gb "$(cpu_of kk-recv)" "$bulk_bytes")")
	k2k_scpu+=("$(per_gb "$(cpu_of kk-send)" "$bulk_bytes")")
}

# iperf_run NS ADDR ARRAY [ARGS...]: one run of the kernel's iperf3 -c
# against the server at ADDR:5201; the rate its receiver counted is
# appended to ARRAY.
iperf_run() {
	local ns=$1 addr=$2 out=$tmp/iperf-c.json bps
	local -n rates=$3
	shift 3
	timeout -k 5 $((IPERF_SECONDS + 20)) ip netns exec "$ns" iperf3 -c "$addr" -p 5201 \
		-t "$IPERF_SECONDS" -J "$@" >"$out" 2>&1
	bps=$(iperf_get "$out" sum_received bits_per_second)
	if [[ -z "$bps" ]]; then
		echo "  iperf3 -c $addr $* gave no result:" >&2
		head -n 5 "$out" >&2
		return 1
	fi
	rates+=("$bps")
}

# The same client, the kernel's iperf3 -c, to ustcp perf -s on the TAP
# device and to the kernel's iperf3 -s across the veth pair, each way.
iperf_bench() {
	local i
	echo "   iperf3: iperf3 -c, $IPERF_SECONDS s per run, $RUNS runs of each, interleaved"
	if servers_up perf 5201 $((RUNS * 4 * (IPERF_SECONDS + 25) + 30)) perf -s -p 5201 \
		-- iperf3 -s -p 5201; then
		for ((i = 1; i <= RUNS; i++)); do
			iperf_run "$tap_ns" "$tap_u" u_ip || failed=1
			iperf_run "$veth_a" "$veth_ip_b" k_ip
			iperf_run "$tap_ns" "$tap_u" u_ipr -R || failed=1
			iperf_run "$veth_a" "$veth_ip_b" k_ipr -R
		done
	fi
	servers_down
}

# servers_up NAME PORT SECONDS USTCP_ARGS... -- KERNEL_CMD...: ustcp's
# server on tap0 (u-NAME) and the kernel's across the veth pair on PORT
# (k-NAME), for SECONDS at most; true once both answer. servers_down ends them.
servers_up() {
	local name=$1 port=$2 secs=$3 uargs=()
	shift 3
	while (($#)) && [[ "$1" != -- ]]; do
		uargs+=("$1")
		shift
	done
	shift
	bg "u-$name" "$secs" "$tap_ns" /dev/null /dev/null "$USTCP" "${uargs[@]}" "${tap_net[@]}"
	server_u=$BG_PID
	bg "k-$name" "$secs" "$veth_b" /dev/null /dev/null "$@"
	server_k=$BG_PID
	if ! ready_ping "$tap_ns" "$tap_u" "$server_u" 10; then
		bad "ustcp ${uargs[0]} did not answer ping" "u-$name"
		failed=1
		return 1
	fi
	if ! ns_wait_listen "$veth_b" "$port" 10; then
		bad "$1 did not listen" "k-$name"
		return 1
	fi
}

servers_down() {
	stop_bg "$tap_ns" "$server_u"
	stop_bg "$veth_b" "$server_k"
}

# rr_run MODE NS ADDR ARRAY: one tcp_rr client run; its rate appended to
# ARRAY, its slowest transaction and failures to rr_notes.
rr_run() {
	local mode=$1 ns=$2 addr=$3 out rate
	out=$(timeout -k 5 $((RR_SECONDS + 20)) ip netns exec "$ns" "$TCP_RR" "$mode" "$addr" 7 \
		"$RR_SECONDS" 2>>"$tmp/rr.err")
	rate=$(awk '{ for (i = 1; i < NF; i++) if ($i == "per_second") print $(i + 1) }' <<<"$out")
	if [[ -z "$rate" ]]; then
		echo "  tcp_rr $mode $addr gave no result: ${out:-nothing}" >&2
		tail -n 3 "$tmp/rr.err" >&2
		return 1
	fi
	local -n arr=$4
	arr+=("$rate")
	rr_notes+=("$4 $(awk '{ for (i = 1; i < NF; i++) if ($i == "max_us" || $i == "errors") printf "%s ", $(i + 1) }' <<<"$out")")
}

# trow LABEL FORMAT "USTCP VALUES" "KERNEL VALUES": medians, spreads, ratio.
# cell FORMAT VALUES...: "median (min .. max)", or "-" without values.
cell() {
	local fmt=$1 m lo hi
	shift
	if (($# == 0)); then
		printf '%-26s' "-"
		return
	fi
	read -r m lo hi < <(stats "$@")
	# shellcheck disable=SC2059 # the format is the caller's number format
	printf '%-26s' "$(printf "$fmt ($fmt .. $fmt)" "$m" "$lo" "$hi")"
}

trow() {
	local label=$1 fmt=$2 u k um km
	read -ra u <<<"$3"
	read -ra k <<<"$4"
	printf '  %-34s %s %s' "$label" "$(cell "$fmt" "${u[@]}")" "$(cell "$fmt" "${k[@]}")"
	if ((${#u[@]} && ${#k[@]})); then
		read -r um _ < <(stats "${u[@]}")
		read -r km _ < <(stats "${k[@]}")
		awk -v u="$um" -v k="$km" 'BEGIN { if (k > 0) printf " %6.2f", u / k }'
	fi
	echo
}

tap_why() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "not root (namespaces, TAP and veth devices need it)"
	elif [[ ! -c /dev/net/tun ]]; then
		echo "/dev/net/tun is missing"
	elif ! command -v ip >/dev/null 2>&1; then
		echo "ip (iproute2) is not installed (make deps)"
	elif ! command -v ping >/dev/null 2>&1 || ! command -v ss >/dev/null 2>&1; then
		echo "ping or ss is not installed (make deps)"
	elif ! nc -h 2>&1 | grep -q -- '-N'; then
		echo "nc is missing or is not OpenBSD netcat with -N (make deps)"
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

tap_bench() {
	local why i
	echo
	echo "== ustcp on a TAP device, the kernel's TCP its peer, beside kernel <-> kernel over veth"
	why=$(tap_why)
	if [[ -z "$why" ]]; then
		if ! ns_up "" >"$tmp/ns.err" 2>&1; then
			why="cannot make a namespace with a TAP device: $(head -1 "$tmp/ns.err")"
		elif ! veth_up >"$tmp/veth.err" 2>&1; then
			why="cannot make two namespaces joined by veth: $(head -1 "$tmp/veth.err")"
		fi
	fi
	if [[ -n "$why" ]]; then
		echo "  skipped: $why"
		return 0
	fi
	tap_ns=$NS_NAME tap_k=$NS_KERNEL_IP tap_u=$NS_USTCP_IP
	tap_net=(--tap "$NS_TAP" --ip "$tap_u/$NS_PREFIX")
	mkfifo "$tmp/nap" && exec {nap_fd}<>"$tmp/nap"
	bulk_bytes=$((BULK_MIB * 1048576))
	bulk_file=$tmp/bulk.bin
	head -c "$bulk_bytes" /dev/zero >"$bulk_file"
	k2u_bps=() u2k_bps=() k2k_bps=() k2u_cpu=() u2k_cpu=() k2k_rcpu=() k2k_scpu=() retx=()
	echo "   bulk: nc, $BULK_MIB MiB, $RUNS runs of each, interleaved"
	for ((i = 1; i <= RUNS; i++)); do
		bulk_k2u "$i" || failed=1
		bulk_u2k "$i" || failed=1
		bulk_k2k "$i"
	done
	rm -f "$bulk_file"

	u_rr=() k_rr=() u_crr=() k_crr=() rr_notes=()
	if [[ -x "$TCP_RR" ]]; then
		echo "   transactions: $TCP_RR, $RR_SECONDS s per run, $RUNS runs of each, interleaved"
		local budget=$((RUNS * 4 * (RR_SECONDS + 10) + 30))
		client_sysctls "$tap_ns"
		client_sysctls "$veth_a"
		if servers_up echo 7 "$budget" echo -p 7 -- "$TCP_RR" serve 7 "$budget"; then
			for ((i = 1; i <= RUNS; i++)); do
				rr_run rr "$tap_ns" "$tap_u" u_rr || failed=1
				rr_run rr "$veth_a" "$veth_ip_b" k_rr
				rr_run crr "$tap_ns" "$tap_u" u_crr || failed=1
				rr_run crr "$veth_a" "$veth_ip_b" k_crr
			done
		fi
		servers_down
	else
		echo "   transactions: skipped: $TCP_RR not built (make)"
	fi

	u_ip=() k_ip=() u_ipr=() k_ipr=()
	if command -v iperf3 >/dev/null 2>&1; then
		iperf_bench
	else
		echo "   iperf3: skipped: iperf3 is not installed (make deps)"
	fi

	echo
	printf '  %-34s %-26s %-26s %s\n' "median (min .. max)" "ustcp on TAP" "kernel over veth" \
		"ratio"
	trow "bulk kernel -> ustcp, Gbit/s [5]" "%.2f" "${k2u_bps[*]}" "${k2k_bps[*]}"
	trow "bulk ustcp -> kernel, Gbit/s [5]" "%.2f" "${u2k_bps[*]}" "${k2k_bps[*]}"
	trow "1-byte transactions/s [6]" "%.0f" "${u_rr[*]}" "${k_rr[*]}"
	trow "connections/s [7]" "%.0f" "${u_crr[*]}" "${k_crr[*]}"
	trow "CPU s per GB, receiving [8]" "%.2f" "${k2u_cpu[*]}" "${k2k_rcpu[*]}"
	trow "CPU s per GB, sending [8]" "%.2f" "${u2k_cpu[*]}" "${k2k_scpu[*]}"
	trow "iperf3 -c to server, Gbit/s [9]" "%.2f" "$(gbits "${u_ip[@]}")" \
		"$(gbits "${k_ip[@]}")"
	trow "iperf3 -c -R, Gbit/s [9]" "%.2f" "$(gbits "${u_ipr[@]}")" "$(gbits "${k_ipr[@]}")"
	echo "  ustcp retransmits per run: ${retx[*]:-none recorded}"
	if ((${#rr_notes[@]})); then
		# Per series: the slowest single transaction of all runs, and the failures.
		printf '%s\n' "${rr_notes[@]}" | awk '
			{ if (!($1 in max)) order[n++] = $1; if ($2 > max[$1]) max[$1] = $2; err[$1] += $3 }
			END {
				printf "  slowest transaction, ms (failed):"
				for (i = 0; i < n; i++) {
					k = order[i]
					l = k; sub(/^u_/, "ustcp ", l); sub(/^k_/, "kernel ", l)
					printf "%s %s %.1f (%d)", i ? "," : "", l, max[k] / 1000, err[k]
				}
				printf "\n"
			}'
	fi
	cat <<EOF2
  [5] one connection, the OpenBSD nc on the kernel's side, $BULK_MIB MiB from a
      file (in the page cache) to /dev/null; ustcp: ustcp nc -l / ustcp nc -N
      on tap0, in one namespace with the kernel's nc; kernel: nc to nc over a
      veth pair between two namespaces (both directions are alike there). From
      the sender's "succeeded" (nc -v) to the receiver's exit.
  [6] one connection, 1 byte each way per transaction, next request after
      the response (bench/tcp_rr rr, TCP_NODELAY): ustcp echo on tap0, or
      tcp_rr serve (a kernel echo server) across the veth pair.
  [7] connect, 1 byte each way, close, again (tcp_rr crr), same servers.
  [8] user + system CPU of one process per 10^9 bytes moved. ustcp: the
      ustcp nc process (its stack, the TAP reads and writes, and the kernel
      work that runs inside those calls, the peer's TCP input included);
      kernel: the nc at the same end over veth (also charged the softirq work
      that runs in its calls). Lower is better; the ratio is ustcp / kernel.
  [9] one connection of the kernel's iperf3 -c for $IPERF_SECONDS s, the same client
      both times, nothing pinned: to ustcp perf -s on tap0 (in one namespace
      with the client) or to the kernel's iperf3 -s across the veth pair; the
      rate the receiver counted (iperf3 -J's end.sum_received). -R: the server
      sends and the client receives.
EOF2
}

failed=0

# ---- ustcp: CPU cost of the whole simulated path ----
echo "== ustcp perf --sim --bytes $SIM_BYTES (no rate limit, no delay): $RUNS runs"
stack=()
whole=()
for ((i = 1; i <= RUNS; i++)); do
	out=$tmp/ustcp$i.json
	timeout 300 "$USTCP" perf --sim --bytes "$SIM_BYTES" --seed "$i" --json >"$out"
	rc=$?
	if ((rc == 0)) && [[ $(jget "$out" verified) == true ]]; then
		stack+=("$(jget "$out" cpu_stack_bits_per_second)")
		whole+=("$(jget "$out" cpu_bits_per_second)")
	else
		echo "  run $i failed or was not verified (exit $rc):" >&2
		cat "$out" >&2
		failed=1
	fi
done

# ---- the kernel: iperf3 over loopback in a namespace of our own ----
kernel=()
kernel_cpu=()
why=
if ! command -v iperf3 >/dev/null 2>&1; then
	why="iperf3 is not installed (make deps installs it)"
elif [[ $(id -u) -ne 0 ]]; then
	why="creating a network namespace needs root"
elif ! ip netns add "$NS" 2>"$tmp/netns.err"; then
	why="ip netns add failed: $(head -1 "$tmp/netns.err")"
else
	ns_made=1
	ip -n "$NS" link set lo up
	echo "== kernel TCP: iperf3 -c 127.0.0.1 -t $IPERF_SECONDS in namespace $NS: $RUNS runs"
	for ((i = 1; i <= RUNS; i++)); do
		timeout $((IPERF_SECONDS + 30)) ip netns exec "$NS" iperf3 -s -1 -p 5201 \
			>/dev/null 2>&1 &
		server_pid=$!
		for ((j = 0; j < 50; j++)); do
			ip netns exec "$NS" ss -Hltn 'sport = :5201' 2>/dev/null | grep -q . && break
			sleep 0.1
		done
		out=$tmp/iperf$i.json
		timeout $((IPERF_SECONDS + 20)) ip netns exec "$NS" \
			iperf3 -c 127.0.0.1 -p 5201 -t "$IPERF_SECONDS" -J >"$out" 2>&1
		wait "$server_pid" 2>/dev/null
		server_pid=
		bps=$(iperf_get "$out" sum_received bits_per_second)
		host=$(iperf_get "$out" cpu_utilization_percent host_total)
		remote=$(iperf_get "$out" cpu_utilization_percent remote_total)
		if [[ -z "$bps" ]]; then
			echo "  iperf3 run $i gave no result:" >&2
			head -5 "$out" >&2
			continue
		fi
		kernel+=("$bps")
		# Throughput per CPU second: iperf3 reports each end's CPU use in
		# percent of one core over the run (user + system).
		if [[ -n "$host" && -n "$remote" ]]; then
			kernel_cpu+=("$(awk -v b="$bps" -v h="$host" -v r="$remote" \
				'BEGIN { c = (h + r) / 100; printf "%.6g", (c > 0 ? b / c : 0) }')")
		fi
	done
	((${#kernel[@]})) || why="every iperf3 run failed"
fi

echo
echo "CPU throughput (payload bits per second; median, min .. max):"
row "ustcp stack + link, per CPU second [1]" "${stack[@]}"
row "ustcp whole tool, per CPU second [2]" "${whole[@]}"
if ((${#kernel[@]})); then
	row "kernel TCP over loopback, throughput [3]" "${kernel[@]}"
	row "kernel TCP over loopback, per CPU second [4]" "${kernel_cpu[@]}"
	if ((${#stack[@]})); then
		read -r s_med _ < <(stats "${stack[@]}")
		read -r k_med _ < <(stats "${kernel[@]}")
		read -r c_med _ < <(stats "${kernel_cpu[@]}")
		awk -v s="$s_med" -v k="$k_med" -v c="$c_med" 'BEGIN {
			printf "  %-46s %7.2f\n", "ratio ustcp [1] / kernel [3]", s / k
			if (c > 0) printf "  %-46s %7.2f\n", "ratio ustcp [1] / kernel [4]", s / c
		}'
	fi
else
	echo "  kernel baseline: not measured: $why"
fi
cat <<EOF
  [1] one core runs both ends' TCP, IP and Ethernet and the simulated link (a
      memcpy per frame) for a $SIM_BYTES transfer; the tool's own work (making,
      checking and BLAKE2b-hashing every byte) is measured apart and left out.
  [2] the same runs, the tool's own work included.
EOF
((${#kernel[@]})) && cat <<EOF
  [3] the Linux kernel's TCP, one iperf3 flow over loopback for ${IPERF_SECONDS} s:
      client and server each on their own core, no checks on the data.
  [4] [3] divided by the CPU that iperf3 reports for client and server together.
EOF

# ---- virtual time: the modelled link, not this machine ----
virtual() { # virtual TITLE ARGS...
	local title=$1 out=$tmp/virtual.json rc
	shift
	echo
	echo "== $title: ustcp perf --sim $* (virtual time)"
	timeout 300 "$USTCP" perf --sim "$@" --json >"$out"
	rc=$?
	if [[ ! -s "$out" ]]; then
		echo "  no result (exit $rc)"
		failed=1
		return
	fi
	awk -v rc=$rc '
		function v(k) { return k in j ? j[k] : "null" }
		function mbit(x) { return x == "null" ? "-" : sprintf("%.1f Mbit/s", x / 1e6) }
		$1 ~ /^"[a-z_]+":$/ { k = substr($1, 2, length($1) - 3); x = $2; sub(/,$/, "", x); j[k] = x }
		END {
			printf "  verified %s (exit %d), %s bytes in %.3f s\n", v("verified"), rc,
				v("bytes_received"), v("seconds")
			printf "  throughput %s, after slow start %s", mbit(v("bits_per_second")),
				mbit(v("steady_bits_per_second"))
			if (v("steady_start_seconds") != "null")
				printf " (from %.3f s)", v("steady_start_seconds")
			if (v("utilization") != "null")
				printf ", link utilization %.1f%%", 100 * v("utilization")
			printf "\n"
			if (v("mathis_bps") != "null")
				printf "  Mathis et al. estimate %s (MSS/RTT * 1.22/sqrt(p))\n",
					mbit(v("mathis_bps"))
			printf "  retransmits %s (fast %s, RTO %s), srtt %.2f ms, final cwnd %s\n",
				v("retransmits"), v("fast_retransmits"), v("rto_expirations"),
				v("srtt_us") / 1000, v("final_cwnd")
		}' "$out"
}
virtual "1 Gbit/s, 20 ms RTT" --rate 1000 --delay 10 --bytes 200M
virtual "1 Gbit/s, 20 ms RTT, 1% loss each way" --rate 1000 --delay 10 --bytes 200M --loss 1

# ---- the sender's CPU per ACK under the worst SACK pattern a peer can send ----
sack_cost() {
	local w out ir acks
	echo
	echo "== worst-case SACK blocks, per ACK, as the window grows: $SACK_COST"
	if [[ ! -x "$SACK_COST" ]]; then
		echo "  skipped: $SACK_COST not built (make)"
		return
	fi
	if ! timeout 300 "$SACK_COST" | sed 's/^/  /'; then
		failed=1
		return
	fi
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "  instructions: skipped: valgrind is not installed"
		return
	fi
	for w in 1 8 64; do
		out=$tmp/sack_cost.$w
		timeout 600 valgrind --tool=callgrind --toggle-collect='measure_acks*' \
			--callgrind-out-file="$out.cg" "$SACK_COST" "$w" >"$out" 2>"$out.err"
		ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out.err")
		acks=$(sed -n 's/.*, \([0-9]*\) ACKs of.*/\1/p' "$out")
		if [[ -z "$ir" || -z "$acks" ]]; then
			echo "  callgrind gave no count for $w MiB" >&2
			continue
		fi
		awk -v w="$w" -v ir="$ir" -v n="$acks" \
			'BEGIN { printf "  window %3d MiB: %9.0f instructions per ACK (callgrind)\n", w, ir / n }'
	done
}
sack_cost

# ---- a million connections on the simulated link (bench/million) ----
# What a connection costs (the pool's accounting and the RSS), how long a
# million take to open, and, counted by callgrind phase by phase, the
# instructions per segment of 16 KiB each way on 1 connection and on 1,000
# of the million, per 1 ms tick of two idle stacks, and per byte of a 32 MiB
# transfer alone and beside 10,000 idle connections. BENCH_CONNS (1000000)
# scales it down; MILLION is the program (bench/million beside USTCP).
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
million_bench() {
	local conns=${BENCH_CONNS:-1000000} out=$tmp/million.out cg=$tmp/million.cg
	local prog=${MILLION:-$(dirname "$USTCP")/bench/million}
	echo
	echo "== $conns connections on the simulated link: $prog $conns"
	if [[ ! -x "$prog" ]]; then
		echo "  skipped: $prog not built (make)"
		return
	fi
	if ! timeout 900 "$prog" "$conns" >"$out"; then
		echo "  failed" >&2
		failed=1
		return
	fi
	grep -E '^(setup|memory|rss)' "$out" | head -4 | sed 's/^/  /'
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "  instructions: skipped: valgrind is not installed"
		return
	fi
	rm -f "$cg".*
	timeout 3600 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$cg" \
		"$prog" "$conns" >"$out" 2>"$tmp/million.err" || { failed=1; return; }
	million_phases "$out" "$cg" | awk -v n="$conns" '
		{ segs[$1] = $2; units[$1] = $3; ir[$1] = $5; own[$1] = $6; look[$1] = $7 }
		function pct(a, b) { return a ? 100 * (b - a) / a : 0 }
		END {
			a = ir["data_one"] / segs["data_one"]; b = ir["data_many"] / segs["data_many"]
			c = own["data_one"] / segs["data_one"]; d = own["data_many"] / segs["data_many"]
			printf "  Ir per segment, 16 KiB each way: 1 connection alone %.0f, 1000 of %d %.0f (%+.1f%%)\n",
				a, n, b, pct(a, b)
			printf "    the stacks%s own %.0f and %.0f (%+.1f%%), finding the connection %.0f and %.0f\n",
				"\047", c, d, pct(c, d), look["data_one"] / segs["data_one"],
				look["data_many"] / segs["data_many"]
			printf "  Ir per 1 ms tick of both stacks, idle: %.0f with 1 connection, %.0f with %d\n",
				ir["idle_one"] / units["idle_one"], ir["idle_many"] / units["idle_many"], n
		}'
	rm -f "$cg".*
	timeout 1800 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$cg" \
		"$prog" --bulk 10000 >"$out" 2>"$tmp/million.err" || { failed=1; return; }
	million_phases "$out" "$cg" | awk '
		{ per[$1] = $5 / $3; own[$1] = $6 / $3 }
		END {
			a = per["bulk_alone"]; b = per["bulk_beside"]; c = own["bulk_alone"]; d = own["bulk_beside"]
			printf "  Ir per byte of 32 MiB: alone %.2f, beside 10000 idle connections %.2f (%+.1f%%)\n",
				a, b, 100 * (b - a) / a
			printf "    the stacks%s own %.2f and %.2f (%+.1f%%)\n", "\047", c, d, 100 * (d - c) / c
		}'
	rm -f "$cg".*
}
million_bench

tap_bench
exit $failed
