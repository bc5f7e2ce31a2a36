#!/bin/bash
# mtu_cli.sh USTCP — --mtu as a user gives it: 68 (RFC 791) to 65535 are
# taken (perf --sim moves and verifies data over a 65535-byte link), and a
# value out of range, or below IPv6's 1280 with --ip6, is refused with a
# message that names the problem and exit code 2, before any device is
# touched.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

for mtu in 68 65535; do
	out=$("$ustcp" perf --sim --mtu "$mtu" --bytes 200K 2>&1)
	rc=$?
	check "perf --sim --mtu $mtu exits 0" test "$rc" -eq 0
	check "perf --sim --mtu $mtu verified" grep -q '^verified: yes' <<<"$out"
done

# refused VALUE WORDS [V6-OPTION]: each tool exits 2 with a message that
# names --mtu and WORDS (with the tool's IPv6 option when given).
refused() {
	local v=$1 words=$2 v6=${3:-} err rc
	for tool in echo "nc -l -p 9" httpd perf; do
		case $tool in
		perf) set -- --sim ${v6:+--ipv6} ;;
		*) set -- --tap ustcp-none0 --ip 10.9.9.2/24 ${v6:+--ip6 fd00::2/64} ;;
		esac
		# shellcheck disable=SC2086 # the tool's own options are meant to split
		err=$("$ustcp" $tool "$@" --mtu "$v" 2>&1 >/dev/null)
		rc=$?
		check "$tool ${v6:+(IPv6) }--mtu '$v' exits 2" test "$rc" -eq 2
		check "$tool ${v6:+(IPv6) }--mtu '$v' says '$words'" grep -q -- "--mtu.*$words" <<<"$err"
	done
}
refused 65536 "above 65535"
refused 99999999999999999999 "above 65535"
refused 67 "below 68"
refused 0 "below 68"
refused 15x "number"
refused "" "number"
refused 1279 "below 1280" v6
exit_status
