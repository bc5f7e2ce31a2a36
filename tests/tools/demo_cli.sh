#!/bin/bash
# demo_cli.sh USTCP — ustcp demo given bad input, and --real where it
# cannot run. Bad options (unknown, --bytes or --impair without --real, a
# bad size or impairment, --pcap without a file) get one line on stderr
# naming the problem and exit code 2. --real without root, or without
# /dev/net/tun, gets one line saying so and exit code 1 (as root, both are
# tried: as the user nobody, and with an empty /dev/net in a mount
# namespace of its own). --help names every option and exits 0.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

refused 2 "unknown option '--bogus'" "$ustcp" demo --bogus
refused 2 "unknown option '--impairment'" "$ustcp" demo --real --impairment loss=1%
refused 2 "--bytes needs --real" "$ustcp" demo --bytes 1Mi
refused 2 "--impair needs --real" "$ustcp" demo --impair loss=1%
refused 2 "--bytes wants a size .* not '0'" "$ustcp" demo --real --bytes 0
refused 2 "--bytes wants a size .* not '12Q'" "$ustcp" demo --real --bytes 12Q
refused 2 "--bytes needs a size" "$ustcp" demo --real --bytes
refused 2 "--impair: loss wants a percentage" "$ustcp" demo --real --impair loss=200%
refused 2 "--pcap needs a file name" "$ustcp" demo --pcap

if [[ $(id -u) != 0 ]]; then
	refused 1 "--real: .*(root|/dev/net/tun)" "$ustcp" demo --real
elif command -v setpriv >/dev/null && command -v unshare >/dev/null; then
	refused 1 "--real: cannot make a network namespace \(root is needed\)" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$ustcp" demo --real
	# shellcheck disable=SC2016 # $0 is the inner shell's
	refused 1 "--real: no /dev/net/tun" unshare -m --propagation private \
		sh -c 'mount -t tmpfs none /dev/net && exec "$0" demo --real' "$ustcp"
else
	echo "skipped: --real without root or /dev/net/tun (no setpriv or unshare here)"
fi

out=$("$ustcp" demo --help)
rc=$?
check "demo --help: exit 0" test "$rc" -eq 0
for opt in --pcap --quiet --real --bytes --impair; do
	check "demo --help: names $opt" grep -q -- "$opt" <<<"$out"
done
check "ustcp help shows demo --real" grep -q 'demo --real' <<<"$("$ustcp" help)"
exit_status
