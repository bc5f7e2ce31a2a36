#!/bin/bash
# perf_iperf3.sh USTCP — ustcp perf and the kernel's iperf3 as the two ends
# of one test: the kernel's `iperf3 -c` against `ustcp perf -s`, and
# `ustcp perf -c` against the kernel's `iperf3 -s`, each one stream, one
# stream reversed (-R: the server sends) and four streams (-P 4), 2 s each.
#
# Both ends must exit 0 with no error in their JSON and a rate above zero,
# and agree: what an end learnt from its peer's results (the exchange at
# the end of a test) must be the peer's own count to the byte, and what the
# sender wrote may exceed what the receiver read only by what buffers and
# the link held when the test ended.
# label: thread
# shellcheck disable=SC2317 # the predicates run through check
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 90 iperf3 jq ping
need_subcommand perf

secs=2
# Per stream: a send buffer and a receive buffer of each end (ustcp's are
# 4 MiB, the kernel's grow to 4-6 MiB), and what the link holds.
slack_per_stream=$((24 * 1048576))
port=5300

# num FILE FILTER: a number from a JSON file, or "" when it is not there.
num() { jq -r "($2) // \"\" | numbers" "$1" 2>/dev/null; }

# succeeded RC FILE: exit status 0, and a JSON result with no error.
succeeded() { (($1 == 0)) && jq -e 'has("end") and (has("error") | not)' "$2" >/dev/null 2>&1; }

# positive NUMBER...: every one there and above zero.
positive() {
	local v
	for v in "$@"; do
		[[ -n "$v" ]] && awk -v v="$v" 'BEGIN { exit !(v > 0) }' || return 1
	done
}

# equal VALUE...: all there and the same.
equal() {
	local v
	for v in "$@"; do
		[[ -n "$v" && "$v" == "$1" ]] || return 1
	done
}

# within SENT RECEIVED STREAMS: the receiver read no more than was written,
# and at most the slack less.
within() {
	[[ -n "$1" && -n "$2" ]] && (($2 <= $1 && $1 - $2 <= $3 * slack_per_stream))
}

gbps() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e9 }'; }

# same_both_sides A B: each end's JSON has both sides (the client prints
# what the server counted, the server what the client counted): the sent,
# received and retransmitted counts must match to the byte.
same_both_sides() {
	local k
	for k in .end.sum_sent.bytes .end.sum_received.bytes .end.sum_sent.retransmits; do
		equal "$(num "$1" "$k")" "$(num "$2" "$k")" && continue
		echo "  $k: '$(num "$1" "$k")' and '$(num "$2" "$k")'"
		return 1
	done
}

# iperf3 -c ARGS against ustcp perf -s -1.
kernel_client() {
	local name=$1 streams=$2 u k urc krc args
	shift 2
	args=${*:+ $*}
	port=$((port + 1))
	u=$work/us-$name.json k=$work/kc-$name.json
	ustcp_bg "us-$name" 40 /dev/null "$u" perf -s -1 -p "$port" --json
	ustcp_ready "$USTCP_PID" 20 || die "ustcp perf -s did not answer ping within 20 s"
	kernel_bg "kc-$name" 30 /dev/null "$k" iperf3 -c "$NS_USTCP_IP" -p "$port" -t "$secs" -J "$@"
	ns_wait_pid "$KERNEL_PID" 25
	krc=$?
	ns_wait_pid "$USTCP_PID" 15
	urc=$?
	check "iperf3 -c$args -> ustcp perf -s: iperf3 exits 0 (rc $krc), no error" \
		succeeded "$krc" "$k"
	check "ustcp perf -s ($name): exits 0 (rc $urc), no error" succeeded "$urc" "$u"
	check "$name: a rate above zero at both ends" positive \
		"$(num "$k" .end.sum_received.bits_per_second)" \
		"$(num "$u" .end.sum_received.bits_per_second)"
	check "$name: $streams streams at both ends" equal "$streams" \
		"$(num "$k" '.end.streams | length')" "$(num "$u" '.end.streams | length')"
	check "$name: both ends have the same sent, received and retransmitted counts" \
		same_both_sides "$u" "$k"
	check "$name: received <= sent, by at most the buffers" \
		within "$(num "$u" .end.sum_sent.bytes)" "$(num "$u" .end.sum_received.bytes)" "$streams"
	info "$name: iperf3 -c$args -> ustcp perf -s:" \
		"$(gbps "$(num "$k" .end.sum_received.bits_per_second)") Gbit/s received"
}

# ustcp perf -c ARGS against iperf3 -s -1. The kernel's server reports only
# its own side: that must be what ustcp learnt from it.
ustcp_client() {
	local name=$1 streams=$2 own u k urc krc args
	shift 2
	args=${*:+ $*}
	port=$((port + 1))
	u=$work/uc-$name.json k=$work/ks-$name.json
	kernel_bg "ks-$name" 40 /dev/null "$k" iperf3 -s -1 -J -B "$NS_KERNEL_IP" -p "$port"
	ns_wait_listen "$NS_NAME" "$port" 10 || die "iperf3 -s did not listen on $port"
	ustcp_bg "uc-$name" 30 /dev/null "$u" perf -c "$NS_KERNEL_IP" -p "$port" -t "$secs" --json "$@"
	ns_wait_pid "$USTCP_PID" 25
	urc=$?
	ns_wait_pid "$KERNEL_PID" 15
	krc=$?
	# The kernel's own count: what it received, or with -R what it sent.
	own=.end.sum_received
	[[ " $* " == *" -R "* ]] && own=.end.sum_sent
	check "ustcp perf -c$args -> iperf3 -s: ustcp exits 0 (rc $urc), no error" \
		succeeded "$urc" "$u"
	check "iperf3 -s ($name): exits 0 (rc $krc), no error" succeeded "$krc" "$k"
	check "$name: a rate above zero at both ends" positive \
		"$(num "$k" "$own.bits_per_second")" "$(num "$u" .end.sum_received.bits_per_second)"
	check "$name: $streams streams at both ends" equal "$streams" \
		"$(num "$k" '.end.streams | length')" "$(num "$u" '.end.streams | length')"
	check "$name: ustcp's $own.bytes is iperf3's own count ($(num "$k" "$own.bytes"))" \
		equal "$(num "$k" "$own.bytes")" "$(num "$u" "$own.bytes")"
	check "$name: received <= sent, by at most the buffers" \
		within "$(num "$u" .end.sum_sent.bytes)" "$(num "$u" .end.sum_received.bytes)" "$streams"
	info "$name: ustcp perf -c$args -> iperf3 -s:" \
		"$(gbps "$(num "$u" .end.sum_received.bits_per_second)") Gbit/s received"
}

kernel_client k2u 1
kernel_client k2u-reverse 1 -R
kernel_client k2u-parallel 4 -P 4
ustcp_client u2k 1
ustcp_client u2k-reverse 1 -R
ustcp_client u2k-parallel 4 -P 4

interop_finish
