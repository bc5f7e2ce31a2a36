#!/bin/bash
# bench_programs.sh USTCP — the programs `make bench` runs, run briefly so
# that a change that breaks them shows in make check rather than in the next
# benchmark: bench/tcp_rr's client (rr, cc, crr) against its own kernel echo
# server in each design (epoll, threads) over loopback for a fraction of a
# second, bench/sack_cost on its smallest window, bench/million on 2,000
# connections, bench/syncookie on 20,000 SYNs, and scripts/bench.sh
# parsed (bash -n) and, where shellcheck is installed, clean. No figure is
# checked: performance is make bench's.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

root=$(cd "$(dirname "$0")/../.." && pwd)
bench=$(dirname "$ustcp")/bench
tcp_rr=$bench/tcp_rr
out=$(mktemp -d) || exit 1
server=
trap 'rm -f "$tools_errf"; [[ -n "$server" ]] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT

for args in "rr 127.0.0.1 7" "cc 127.0.0.1 7 0" "serve 7 1 select" "crr ::1 7 1"; do
	# shellcheck disable=SC2086 # the arguments are meant to split
	err=$("$tcp_rr" $args 2>&1 >/dev/null)
	rc=$?
	check "tcp_rr $args: exit 2 with its usage (rc $rc)" test "$rc" -eq 2 -a -n "$(grep usage <<<"$err")"
done

# serve_up DESIGN: tcp_rr's echo server on a port the kernel picks; sets
# server (its pid) and port, or fails.
serve_up() {
	local i
	: >"$out/serve.out"
	# The server is the kernel's baseline, not code under test. Under
	# AddressSanitizer, LeakSanitizer's check at exit can spin for ever
	# while a detached echo thread is ending (seen with clang 14 on a
	# loaded machine), so leak checking is off for it, and timeout kills
	# it should it still hang.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		timeout -k 5 20 "$tcp_rr" serve 0 15 "$1" >"$out/serve.out" 2>"$out/serve.err" &
	server=$!
	for ((i = 0; i < 100; i++)); do
		port=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$out/serve.out")
		[[ -n "$port" ]] && return 0
		sleep 0.05
	done
	return 1
}

for design in epoll threads; do
	if ! serve_up "$design"; then
		check "tcp_rr serve 0 15 $design says where it listens ($(cat "$out/serve.err"))" false
		continue
	fi
	for mode in rr cc crr; do
		line=$(timeout 10 "$tcp_rr" "$mode" 127.0.0.1 "$port" 0.2 2>"$out/client.err")
		rc=$?
		check "tcp_rr $mode against serve $design: exit 0 (rc $rc, $(head -c 200 "$out/client.err"))" \
			test "$rc" -eq 0
		check "tcp_rr $mode against serve $design: transactions, no errors ($line)" \
			grep -qE "^$mode transactions [1-9][0-9]* seconds [0-9.]+ per_second [0-9.]+ max_us [0-9]+ errors 0\$" \
			<<<"$line"
	done
	kill -TERM "$server"
	wait "$server"
	rc=$?
	server=
	check "tcp_rr serve $design: SIGTERM ends it with exit 0 (rc $rc)" test "$rc" -eq 0
done

line=$(timeout 60 "$bench/sack_cost" 1 2>"$out/sack.err")
check "sack_cost 1: exit 0 ($(head -c 200 "$out/sack.err"))" test $? -eq 0
check "sack_cost 1: one line per window ($line)" grep -q "^window *1 MiB: .* ns/ACK" <<<"$line"

line=$(timeout 60 "$bench/million" 2000 2>"$out/million.err")
check "million 2000: exit 0 ($(head -c 200 "$out/million.err"))" test $? -eq 0
check "million 2000: every phase and the memory ($(head -c 300 <<<"$line"))" \
	test "$(grep -cE '^phase (data_one|idle_one|idle_many|data_many|data_warm): |^memory (client|server): 200[01] connections' <<<"$line")" -ge 9

line=$(timeout 60 "$bench/syncookie" 20000 2>"$out/syncookie.err")
check "syncookie 20000: exit 0 ($(head -c 200 "$out/syncookie.err"))" test $? -eq 0
check "syncookie 20000: every SYN answered ($line)" \
	grep -qE "^syncookie: 20000 syns, 20000 syn-acks, [0-9]+ per cpu-second\$" <<<"$line"

check "scripts/bench.sh parses (bash -n)" bash -n "$root/scripts/bench.sh"
if command -v shellcheck >/dev/null 2>&1; then
	lint=$(cd "$root" && shellcheck -x scripts/bench.sh 2>&1)
	check "scripts/bench.sh is shellcheck-clean${lint:+: $(head -n 3 <<<"$lint")}" test -z "$lint"
else
	echo "skip: shellcheck is not installed"
fi

exit_status
