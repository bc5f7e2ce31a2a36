#!/bin/bash
# talk_cli.sh USTCP — ustcp talk given bad input: an unknown option, a bad
# port, no HOST (or one with -l), a bad address, --threads without -l:
# each is refused with one line on stderr that names the problem, exit
# code 2, nothing on stdout and no device touched (the TAP device named
# does not exist afterwards). --help prints the usage and exits 0.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

tap=ustcp-cli$$
net=(--tap "$tap" --ip 10.9.9.2/24)
bad() { refused 2 "$1" "$ustcp" talk "${@:2}"; } # bad WORDS ARGS: talk ARGS is refused so

bad "unknown option '--bogus'" -l --bogus "${net[@]}"
bad "unknown option '-x'" -x 10.9.9.1 "${net[@]}"
bad "-p wants a port from 1 to 65535, not '0'" -l -p 0 "${net[@]}"
bad "-p wants a port from 1 to 65535, not '70000'" 10.9.9.1 -p 70000 "${net[@]}"
bad "-p wants a port from 1 to 65535, not 'x'" -l -p x "${net[@]}"
bad "-p needs a port" -l "${net[@]}" -p
bad "wants HOST" "${net[@]}"
bad "-l takes no HOST" -l 10.9.9.1 "${net[@]}"
bad "one HOST only" 10.9.9.1 10.9.9.3 "${net[@]}"
bad "--threads needs -l" --threads 10.9.9.1 "${net[@]}"
bad "HOST wants an IPv4 or IPv6 address.*'nowhere.example'" nowhere.example "${net[@]}"
bad "HOST wants an IPv4 or IPv6 address.*'10.9.9.300'" 10.9.9.300 "${net[@]}"
bad "HOST 224.0.0.1 is a multicast address" 224.0.0.1 "${net[@]}"
bad "HOST 0.0.0.0 is the unspecified address" 0.0.0.0 "${net[@]}"
bad "HOST ff02::1 is a multicast address" ff02::1 "${net[@]}"
bad "--tap IFNAME is required" -l
bad "--ip: '10.9.9.999' is not an IPv4 address" -l --tap "$tap" --ip 10.9.9.999/24
check "no device $tap was made" test ! -e "/sys/class/net/$tap"

out=$("$ustcp" talk --help)
rc=$?
check "talk --help: exit 0" test "$rc" -eq 0
for opt in -l --threads -p HOST --tap --ip --ip6 --gw --impair; do
	check "talk --help: names $opt" grep -q -- "$opt" <<<"$out"
done
check "ustcp help lists talk" grep -q '^  talk ' <<<"$("$ustcp" help)"
exit_status
