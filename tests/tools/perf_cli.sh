#!/bin/bash
# perf_cli.sh USTCP — ustcp perf --sim as a user runs it: the 1 Gbit/s,
# 20 ms path filled after slow start (virtual time, so exact), the data
# verified, the JSON summary, 1% loss beside the Mathis estimate, and clear
# errors with exit code 2 for bad input.
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
exit $((fails > 0))
