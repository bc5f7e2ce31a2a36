#!/bin/bash
# trace_cli.sh USTCP — ustcp trace as a user runs it, on the capture of
# `ustcp demo --pcap`: one line a packet with the time since the first and
# the connection's number; sequence and acknowledgment numbers relative by
# default and absolute with -S, each equal to what tshark reads from the
# same packets; the same lines from pcapng and from standard input; -n
# accepted. Then bad input: a usage error exits 2, a file that cannot be
# read exits 1, each with one line that names the problem; a packet the
# capture cut short prints as malformed.
set -u
ustcp=$(realpath "${1:?usage: trace_cli.sh path/to/ustcp}") || exit 1
fails=0
check() { # check DESCRIPTION CONDITION...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
for t in tshark editcap; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is missing (scripts/deps.sh installs it)"; exit 1; }
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/ustcp-trace-cli.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

"$ustcp" demo --pcap demo.pcap --quiet >/dev/null
[[ -s demo.pcap ]] || { echo "FAIL: ustcp demo --pcap wrote no capture"; exit 1; }

# trace_fields: "TIME CONN SEQ ACK LEN" for each line of ustcp trace, - for
# what the line does not show (a TCP line shows seq only when the segment
# takes sequence space, ack only with the ACK flag).
trace_fields() {
	awk '{
		conn = ($2 ~ /^#[0-9]+$/) ? substr($2, 2) : "-"
		seq = "-"; ack = "-"; len = "-"
		if (match($0, /, seq [0-9]+/)) seq = substr($0, RSTART + 6, RLENGTH - 6)
		if (match($0, /, ack [0-9]+/)) ack = substr($0, RSTART + 6, RLENGTH - 6)
		if (match($0, /, length [0-9]+$/)) len = substr($0, RSTART + 9, RLENGTH - 9)
		print $1, conn, seq, ack, len
	}'
}

# tshark_fields [TSHARK OPTIONS]: the same from tshark, its time cut to 6
# decimals and its stream index counted from 1.
tshark_fields() {
	tshark -r demo.pcap "$@" -T fields -E separator=' ' -e frame.time_relative -e tcp.stream \
		-e tcp.seq -e tcp.ack -e tcp.len -e tcp.flags.syn -e tcp.flags.fin -e tcp.flags.reset \
		-e tcp.flags.ack 2>/dev/null | awk '
		function on(v) { return v == "1" || v == "True" }
		{
			t = $1; sub(/[0-9][0-9][0-9]$/, "", t)
			seq = ($5 > 0 || on($6) || on($7) || on($8)) ? $3 : "-"
			ack = on($9) ? $4 : "-"
			print t, $2 + 1, seq, ack, $5
		}'
}

out=$("$ustcp" trace demo.pcap 2>err.txt)
rc=$?
check "trace demo.pcap exits 0 (rc $rc)" test $rc -eq 0
check "trace demo.pcap: nothing on stderr" test ! -s err.txt
n=$(grep -c . <<<"$out")
packets=$(tshark -r demo.pcap 2>/dev/null | grep -c .)
check "one line a packet ($n, tshark reads $packets)" test "$n" -eq "$packets" -a "$n" -ge 10
check "every line: time, #1, the segment" \
	test "$(grep -cE '^[0-9]+\.[0-9]{6} #1 10\.0\.0\.[13]\.[0-9]+ > 10\.0\.0\.[13]\.[0-9]+: Flags \[' <<<"$out")" -eq "$n"
check "the SYN: seq 0" grep -q '^0\.000000 #1 10\.0\.0\.3\.45815 > 10\.0\.0\.1\.54321: Flags \[S\], seq 0, win ' <<<"$out"
check "the SYN,ACK: seq 0, ack 1" grep -q '^0\.010000 #1 10\.0\.0\.1\.54321 > 10\.0\.0\.3\.45815: Flags \[S\.\], seq 0, ack 1, ' <<<"$out"
check "\"abc\": seq 1:4, ack 1" grep -q '^0\.030000 #1 .*Flags \[P\.\], seq 1:4, ack 1, .*length 3$' <<<"$out"
check "relative numbers and times as tshark's" diff <(trace_fields <<<"$out") <(tshark_fields)

abs=$("$ustcp" trace -S demo.pcap)
check "-S exits 0" test $? -eq 0
check "-S: the SYN's seq 1000 (the demo's ISN)" grep -q 'Flags \[S\], seq 1000, ' <<<"$abs"
check "-S: absolute numbers as tshark's" \
	diff <(trace_fields <<<"$abs") <(tshark_fields -o tcp.relative_sequence_numbers:FALSE)
check "-n is accepted and changes nothing" test "$("$ustcp" trace -n demo.pcap)" = "$out"
check "-nS is -S" test "$("$ustcp" trace -nS demo.pcap)" = "$abs"
check "- reads standard input" test "$("$ustcp" trace - <demo.pcap)" = "$out"
editcap -F pcapng demo.pcap demo.pcapng 2>/dev/null
check "pcapng: the same lines" test "$("$ustcp" trace demo.pcapng)" = "$out"
check "--help exits 0 with the usage" grep -q '^usage: ustcp trace FILE' <("$ustcp" trace --help)
check "ustcp help lists trace" grep -q '^  trace ' <("$ustcp" help)

# A snap length of 60 cuts every frame of the demo (66 bytes and more).
editcap -s 60 demo.pcap snap.pcap 2>/dev/null
snap=$("$ustcp" trace snap.pcap 2>&1)
rc=$?
check "cut packets: exits 0 (rc $rc)" test $rc -eq 0
check "cut packets: each a malformed frame of 60 bytes" \
	test "$(grep -cE '^[0-9.]+ malformed frame \(.*\), length 60$' <<<"$snap")" -eq "$n"

# refused CODE WORDS ARGS...: exits CODE; the first line of stderr is
# "ustcp trace: ..." and says WORDS; a runtime error (1) is that one line.
refused() {
	local code=$1 words=$2 err rc
	shift 2
	err=$("$ustcp" trace "$@" 2>&1 >/dev/null)
	rc=$?
	check "trace $*: exits $code (rc $rc)" test "$rc" -eq "$code"
	check "trace $*: says '$words'" grep -qF -- "ustcp trace: $words" <<<"$(head -n 1 <<<"$err")"
	[[ $code == 1 ]] && check "trace $*: one line" test "$(grep -c . <<<"$err")" -eq 1
}
refused 2 "which capture?"
refused 2 "unknown option '-x'" -x demo.pcap
refused 2 "unknown option '--bogus'" demo.pcap --bogus
refused 2 "one capture at a time" demo.pcap demo.pcapng
refused 1 "missing.pcap: No such file or directory" missing.pcap
refused 1 ".: is a directory, not a capture" .
echo "not a capture" >text.txt
refused 1 "text.txt: not a pcap or pcapng capture" text.txt
: >empty.pcap
refused 1 "empty.pcap: is empty, not a capture" empty.pcap
editcap -T ieee-802-11 demo.pcap wifi.pcap 2>/dev/null
refused 1 "wifi.pcap: link type 105 (IEEE802_11) is not one ustcp reads" wifi.pcap
head -c 500 demo.pcap >short.pcap
refused 1 "short.pcap: truncated dump file" short.pcap
check "a file cut short: the packets before the cut are printed" \
	test "$("$ustcp" trace short.pcap 2>/dev/null)" = "$(head -n 5 <<<"$out")"
cp demo.pcap locked.pcap
chmod 000 locked.pcap
if [[ $(id -u) -ne 0 ]]; then
	refused 1 "locked.pcap: Permission denied" locked.pcap
elif chmod 755 "$dir" && setpriv --reuid=nobody --regid=nogroup --clear-groups "$ustcp" help >/dev/null 2>&1; then
	err=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$ustcp" trace locked.pcap 2>&1)
	rc=$?
	check "trace locked.pcap (as nobody): exits 1, Permission denied (rc $rc: $err)" \
		test "$rc" -eq 1 -a "$err" = "ustcp trace: locked.pcap: Permission denied"
else
	echo "info: an unreadable file is not tried: root reads anything, and nobody cannot run $ustcp"
fi
exit $((fails > 0))
