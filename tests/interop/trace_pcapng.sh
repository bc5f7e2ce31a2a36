#!/bin/bash
# trace_pcapng.sh USTCP — ustcp trace reads captures other tools took:
# tshark records, as pcapng, tap0 (the kernel's view of the device, in
# Ethernet frames) and, apart, the "any" device twice (Linux cooked frames,
# v1 and v2), while ustcp echo, with --pcap, records the same frames from
# its side, and the kernel's nc sends 256 KiB over IPv4, then over IPv6,
# and reads them back. ustcp trace must print the same TCP segments from each file (flags,
# relative seq and ack, window, options, lengths, connection numbers #1
# and #2), in the same order in each direction. The two ends of the device
# may see segments that cross in flight in either order, so the directions
# are compared apart. ustcp runs with --tso off so that it writes
# wire-sized segments, as the device carries them (the kernel segments its
# own, since the device then offers no TSO).
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 240 nc ping head od tshark capinfos
need_subcommand echo
need_subcommand trace
kib=256

head -c $((kib * 1024)) /dev/urandom >"$work/in.bin" || die "cannot write $kib KiB to $work"

ustcp_bg echo 200 /dev/null "$work/echo.out" echo -p 7 --tso off --pcap "$work/ustcp.pcap"
ustcp_ready "$USTCP_PID" 20 || die "ustcp echo did not answer ping within 20 s"
ustcp_ready6 "$USTCP_PID" 20 || die "ustcp echo did not answer ping -6 within 20 s"

# capture NAME DEVICE [TSHARK OPTIONS]: tshark on DEVICE into
# $work/NAME.pcapng, also printing a line a packet as it goes (-P -l), to
# $work/tshark-NAME.out. Its pid goes in CAPTURES.
CAPTURES=()
NAMES=()
capture() {
	local name=$1 dev=$2
	shift 2
	kernel_bg "tshark-$name" 150 /dev/null "$work/tshark-$name.out" \
		tshark -i "$dev" "$@" -w "$work/$name.pcapng" -P -l
	CAPTURES+=("$KERNEL_PID")
	NAMES+=("$name")
}
capture device "$NS_TAP"
capture any any -y LINUX_SLL
capture any2 any -y LINUX_SLL2
# A capture has started once it has seen a packet: ping until all have
# one, so that none misses the beginning of the transfers.
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
	ip netns exec "$NS_NAME" ping -c 1 -W 1 -q "$NS_USTCP_IP" >/dev/null 2>&1
	waiting=()
	for name in "${NAMES[@]}"; do
		grep -q ICMP "$work/tshark-$name.out" || waiting+=("$name")
	done
	((${#waiting[@]} == 0)) && break
	sleep 0.2
done
((${#waiting[@]} == 0)) || die "the captures ${waiting[*]} saw no ping within 30 s"

# echo_over ADDRESS NAME [nc options]: the kernel's nc sends the file to
# ustcp echo, half-closes and must read it all back.
echo_over() {
	local addr=$1 name=$2 rc
	shift 2
	kernel_bg "$name" 60 "$work/in.bin" "$work/$name.bin" nc "$@" -N "$addr" 7
	ns_wait_pid "$KERNEL_PID" 60
	rc=$?
	check "nc ${*:+$* }-N $addr 7 < $kib KiB: exits 0 (rc $rc)" test $rc -eq 0
	check "$kib KiB come back intact over $addr" same_data "$work/in.bin" "$work/$name.bin"
}
echo_over "$NS_USTCP_IP" knc4
echo_over "$NS_USTCP_IP6" knc6 -6
sleep 0.5 # the last ACK on its way to the device and the captures
for pid in "${CAPTURES[@]}"; do
	kill -TERM "$pid" 2>/dev/null
	ns_wait_pid "$pid" 10
done
ustcp_stop "$USTCP_PID"

# encapsulation NAME: what capinfos says NAME.pcapng holds.
encapsulation() { capinfos -E "$work/$1.pcapng" 2>/dev/null | sed -n 's/^File encapsulation: *//p'; }
for name in "${NAMES[@]}"; do
	check "tshark wrote $name.pcapng as pcapng (its magic 0a0d0d0a)" \
		test "$(head -c 4 "$work/$name.pcapng" | od -An -tx1 | tr -d ' \n')" = 0a0d0d0a
done
check "device.pcapng: Ethernet frames ($(encapsulation device))" test "$(encapsulation device)" = Ethernet
check "any.pcapng: Linux cooked v1 ($(encapsulation any))" \
	test "$(encapsulation any)" = "Linux cooked-mode capture v1"
check "any2.pcapng: Linux cooked v2 ($(encapsulation any2))" \
	test "$(encapsulation any2)" = "Linux cooked-mode capture v2"
for f in device.pcapng any.pcapng any2.pcapng ustcp.pcap; do
	"$ustcp" trace "$work/$f" >"$work/${f%.*}.txt" 2>>"$work/trace.err"
	rc=$?
	check "ustcp trace $f exits 0 (rc $rc)" test $rc -eq 0
done

# segments FILE FROM...: the TCP lines of FILE (those with a connection
# number) sent from the addresses FROM, without the time or the connection's
# number (a capture on "any" also holds connections on lo, such as tshark's
# own probe of 127.0.0.1:5037, which number the others differently).
segments() {
	local file=$1
	shift
	awk -v from="$*" '
		BEGIN { n = split(from, f, " ") }
		$2 ~ /^#[0-9]+$/ {
			for (i = 1; i <= n; i++)
				if (index($3, f[i] ".") == 1) { sub(/^[^ ]+ #[0-9]+ /, ""); print; next }
		}' "$file"
}
for side in ustcp kernel; do
	if [[ $side == ustcp ]]; then
		from=("$NS_USTCP_IP" "$NS_USTCP_IP6")
	else
		from=("$NS_KERNEL_IP" "$NS_KERNEL_IP6")
	fi
	for name in "${NAMES[@]}" ustcp; do
		segments "$work/$name.txt" "${from[@]}" >"$work/$name-$side.txt"
	done
	n=$(grep -c . "$work/ustcp-$side.txt")
	check "from $side: $n segments in ustcp's capture (more than 20)" test "$n" -gt 20
	for name in "${NAMES[@]}"; do
		if ! check "from $side: the same segments in $name.pcapng as in ustcp's, in order" \
			cmp -s "$work/$name-$side.txt" "$work/ustcp-$side.txt"; then
			diff "$work/$name-$side.txt" "$work/ustcp-$side.txt" | head -n 10 | indent
		fi
	done
done

# What the lines say: two connections, the kernel's SYN at seq 0, and the
# whole stream acknowledged with the FIN: 1 + 256 KiB + 1, relative.
check "two connections: #1 over IPv4, #2 over IPv6" \
	test "$(awk '$2 ~ /^#/ { print $2, ($3 ~ /:/) ? 6 : 4 }' "$work/device.txt" | sort -u | tr '\n' ' ')" = "#1 4 #2 6 "
for c in 1 2; do
	check "#$c: the kernel's SYN is seq 0" \
		grep -qE "^[0-9.]+ #$c [^ ]+ > [^ ]+: Flags \\[S\\], seq 0, " "$work/device.txt"
	check "#$c: the echo and its FIN acknowledged: ack $((kib * 1024 + 2))" \
		grep -qE "^[0-9.]+ #$c .*, ack $((kib * 1024 + 2)), " "$work/device.txt"
done
check "ustcp trace: nothing on stderr" test ! -s "$work/trace.err"
interop_finish
