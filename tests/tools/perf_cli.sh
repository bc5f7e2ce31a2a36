#!/bin/bash
# perf_cli.sh USTCP — ustcp perf as a user runs it: --sim fills the
# 1 Gbit/s, 20 ms path after slow start (virtual time, so exact), the data
# verified, the JSON summary, 1% loss beside the Mathis estimate; and clear
# errors with exit code 2 for bad input, to --sim and to -s / -c (iperf3's
# test, whose runs against the kernel are tests/interop/perf_iperf3.sh).
set -u
ustcp=${1:?usage: perf_cli.sh path/to/ustcp}
fails=0
check() { # check DESCRIPTION CONDITION...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
field() { # field NAME JSON: the value of "NAME": in one-object JSON
	sed -n "s/^ *\"$1\": *\\([^,]*\\),\\{0,1\\}\$/\\1/p" <<<"$2" | head -1
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

json=$("$ustcp" perf --sim --rate 1000 --delay 10 --bytes 60M --json)
check "perf --json exits 0" test $? -eq 0
check "verified" test "$(field verified "$json")" = true
check "bytes" test "$(field bytes "$json")" = 60000000
check "steady rate >= 95% of 1 Gbit/s ($(field steady_bits_per_second "$json"))" \
	ge "$(field steady_bits_per_second "$json")" 950000000
check "one object" test "$(grep -c '^{' <<<"$json")" = 1

out=$("$ustcp" perf --sim --rate 1000 --delay 10 --loss 1 --bytes 5M --seed 3)
check "1% loss: verified" grep -q '^verified: yes' <<<"$out"
check "1% loss: Mathis estimate printed" grep -q 'Mathis et al. estimate' <<<"$out"

for bad in "--bogus" "--loss 200" "--rate -1" "--bytes 12Q" "--cc nope" ""; do
	# shellcheck disable=SC2086 # the options are meant to split
	if [ -z "$bad" ]; then err=$("$ustcp" perf 2>&1 >/dev/null); else err=$("$ustcp" perf --sim $bad 2>&1 >/dev/null); fi
	rc=$?
	check "'perf ${bad:-(no --sim)}' exits 2 with a message" test "$rc" -eq 2 -a -n "$err"
done
# iperf3's test: bad options are refused before any device is touched, the
# first line naming the option.
net="--tap perfcli0 --ip 10.0.0.2/24"
while IFS='|' read -r args want; do
	# shellcheck disable=SC2086 # the options are meant to split
	err=$("$ustcp" perf $args $net 2>&1 >/dev/null)
	rc=$?
	check "'perf $args' exits 2 naming '$want'" \
		test "$rc" -eq 2 -a "$(head -n 1 <<<"$err" | grep -c -- "$want")" -eq 1
done <<'EOF'
-c|-c needs a value
-c 10.0.0.1 -p 70000|-p wants a port
-c 10.0.0.1 -p x|-p wants a port
-s -p 0|-p wants a port
-c 10.0.0.1 -P 0|-P wants a number of streams
-c 10.0.0.1 -P 129|-P wants a number of streams
-c 10.0.0.1 -t 0|-t wants seconds
-c 10.0.0.1 -l 2M|-l wants a length
-c 10.0.0.1 --bogus|unknown option '--bogus'
-s -x|unknown option '-x'
-c nowhere.example|HOST wants an IPv4 or IPv6 address
-s -c 10.0.0.1|-s and -c
-s -R|the client's
-c 10.0.0.1 -1|-1 is the server's
EOF
err=$("$ustcp" perf -c 10.0.0.1 2>&1 >/dev/null)
check "'perf -c HOST' without --tap exits 2" test $? -eq 2 -a -n "$err"
exit $((fails > 0))
