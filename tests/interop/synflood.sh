#!/bin/bash
# synflood.sh USTCP [ECHO_CLIENTS] — a SYN flood against `ustcp echo` on a
# TAP device (RFC 4987). tests/interop/synflood.c writes spoofed SYNs onto
# the kernel side of the device through an AF_PACKET socket, 30,000 a second
# for 10 s, from random sources in a 10.x /16 that ustcp reaches through
# its gateway (the kernel side of the TAP, which does not forward: the SYN,ACKs
# end there, as they would for an off-link attacker). Meanwhile the kernel's
# TCP opens connections to the echo service, one every 50 ms: at least 99%
# connect and get their 32 bytes back within 1 s each. ustcp answers the flood
# with SYN cookies (counted), and serves on after it.
#
# USTCP_FLOOD_SECONDS (10) and USTCP_FLOOD_RATE (30000; 0: as fast as it can)
# change the flood (the AddressSanitizer build sets 10000). The rate is one a
# loaded 2-core machine absorbs; as fast as one core can write, the device's queue
# overflows and drops the clients' SYNs with the flood's, which measures the
# device, not ustcp (make bench reports the highest rate ustcp answers).
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 180 ping
need_subcommand echo
need_subcommand netstat
flooder=$(dirname "$echo_clients")/synflood
[[ -x "$flooder" ]] || die "no synflood program at $flooder (built by CMake)"
secs=${USTCP_FLOOD_SECONDS:-10}
rate=${USTCP_FLOOD_RATE:-30000}

XDG_RUNTIME_DIR=$work/run
export XDG_RUNTIME_DIR
mkdir -m 0700 "$XDG_RUNTIME_DIR" || die "cannot make $XDG_RUNTIME_DIR"

# The spoofed sources: a /16 of 10.x next to the test's own /24.
IFS=. read -r _ a _ _ <<<"$NS_KERNEL_IP"
spoof_net=10.$(((a + 1) % 256)).0.0
ip -n "$NS_NAME" route get "$spoof_net" >/dev/null 2>&1 &&
	die "the namespace has a route to $spoof_net: the SYN,ACKs would leave it"

# The device's queue towards ustcp holds what a NIC's receive ring would
# (4096 frames, where a TAP device has 1000): the flood and the real clients
# share it, and a client's SYN that finds it full waits 1 s to be sent again.
ip -n "$NS_NAME" link set "$NS_TAP" txqueuelen "${USTCP_FLOOD_QUEUE:-4096}" ||
	die "cannot set the queue of $NS_TAP"

ustcp_bg echo $((secs + 60)) /dev/null "$work/echo.out" echo -p 7 --gw "$NS_KERNEL_IP"
ustcp_ready "$USTCP_PID" 20 || die "ustcp echo did not answer ping within 20 s"
mac=$(ip -n "$NS_NAME" neigh show "$NS_USTCP_IP" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
[[ -n "$mac" ]] || die "no neighbour entry for $NS_USTCP_IP"
info "flooding $NS_USTCP_IP ($mac) port 7 from $spoof_net/16 for $secs s"

kernel_bg flood $((secs + 20)) /dev/null "$work/flood.out" \
	"$flooder" flood "$NS_TAP" "$mac" "$NS_USTCP_IP" 7 "$spoof_net" "$secs" "$rate"
FLOOD_PID=$KERNEL_PID
sleep 0.5
count=$(((secs - 1) * 20))
ip netns exec "$NS_NAME" timeout $((secs + 30)) "$flooder" connect "$NS_USTCP_IP" 7 "$count" \
	$((secs - 1)) >"$work/connect.out" 2>"$work/connect.err"
rc=$?
ns_wait_pid "$FLOOD_PID" $((secs + 20))
indent <"$work/flood.out"
indent <"$work/connect.out"
check "the flooder ran" grep -q "^flood: [0-9]* SYNs written" "$work/flood.out"
check "at least 99% of $count connections echoed within 1 s during the flood (rc $rc)" test $rc -eq 0

"$ustcp" netstat -s >"$work/netstat-s.out" 2>&1
counter() { awk -v n="$1" '$1 == n { print $2; exit }' "$work/netstat-s.out"; }
sent=$(counter tcp_syncookies_sent)
valid=$(counter tcp_syncookies_valid)
info "ustcp: ${sent:-?} SYN cookies sent, ${valid:-?} connections from cookies, $(counter tcp_passive_opens) passive opens"
check "ustcp answered the flood with cookies (${sent:-none})" test "${sent:-0}" -gt 1000
check "after the flood the service still answers" \
	ip netns exec "$NS_NAME" timeout 10 "$flooder" connect "$NS_USTCP_IP" 7 20 1
check "ustcp echo is still running" ns_running "$USTCP_PID"
ustcp_stop "$USTCP_PID"
interop_finish
