#!/usr/bin/env bash
# bench.sh — `make bench`: what ustcp's data path costs, beside the Linux
# kernel's TCP measured in the same run, and the virtual-time figures of a
# 1 Gbit/s link with a 20 ms round trip, without and with loss.
#
#   bash scripts/bench.sh          from the repository root, after `make`
#
# USTCP (./build/ustcp), RUNS (3) and IPERF_SECONDS (5) may be set in the
# environment. The kernel baseline runs iperf3 over loopback inside a
# network namespace that this script creates and always deletes; without
# iperf3 or namespaces the ustcp figures are printed alone, with the reason.
# Every command is bounded in time. Exit 1 only when ustcp itself failed.
set -uo pipefail

USTCP=${USTCP:-./build/ustcp}
RUNS=${RUNS:-3}
IPERF_SECONDS=${IPERF_SECONDS:-5}
SIM_BYTES=1G
NS=ustcp-bench-$$
ns_made=0
server_pid=
tmp=$(mktemp -d)

# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if ((ns_made)); then
		ip netns del "$NS" 2>/dev/null
	fi
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

exit $failed
