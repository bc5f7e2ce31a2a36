#!/bin/bash
# ping.sh USTCP — the kernel's ping reaches ustcp on a TAP device: ARP
# resolves, and ICMP echo requests (RFC 792) are answered, small and
# full-sized, with the payload returned intact (ping checks it).
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 120 ping
need_subcommand echo

ustcp_bg echo 100 /dev/null "$work/echo.out" echo
ns_wait_carrier "$NS_NAME" 20 || die "ustcp echo did not open $NS_TAP within 20 s"

# The first request also waits for ARP; a lost one would show as loss.
out=$(ip netns exec "$NS_NAME" timeout 20 ping -c 3 -W 2 "$NS_USTCP_IP" 2>&1)
rc=$?
indent <<<"$out"
check "ping -c 3 -W 2 $NS_USTCP_IP exits 0" test $rc -eq 0
check "3 replies, none lost" grep -q '3 packets transmitted, 3 received, 0% packet loss' <<<"$out"
check "replies come from $NS_USTCP_IP" \
	test "$(grep -c "bytes from $NS_USTCP_IP: icmp_seq=" <<<"$out")" -eq 3
neigh=$(ip -n "$NS_NAME" neigh show "$NS_USTCP_IP")
check "ARP: the kernel learned ustcp's address ($neigh)" grep -q lladdr <<<"$neigh"

# 1472 bytes of payload: a 1500-byte IP packet, the MTU; the pattern is checked by ping.
out=$(ip netns exec "$NS_NAME" timeout 20 ping -c 3 -i 0.2 -W 2 -s 1472 -p a55aff00 "$NS_USTCP_IP" 2>&1)
rc=$?
good=no
[[ $rc -eq 0 && "$out" == *", 0% packet loss"* && "$out" != *"wrong data"* ]] && good=yes
[[ $good == yes ]] || indent <<<"$out"
check "full-sized pings (1472-byte payload) all answered intact" test $good = yes

check "ustcp echo is still running" ns_running "$USTCP_PID"
ustcp_stop "$USTCP_PID"
interop_finish
