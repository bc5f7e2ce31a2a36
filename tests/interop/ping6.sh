#!/bin/bash
# ping6.sh USTCP — the kernel's ping -6 reaches ustcp on a TAP device:
# neighbour discovery (RFC 4861) resolves ustcp's MAC, and ICMPv6 echo
# requests (RFC 4443 §4) are answered, small and full-sized, with the
# payload returned intact (ping checks it), at ustcp's global address and at
# the link-local one it makes from its MAC (modified EUI-64, RFC 4291 App. A).
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 120 ping
need_subcommand echo

# A MAC with the universal/local bit set, which the interface identifier
# inverts: 06:12:34:56:78:9a gives fe80::412:34ff:fe56:789a.
mac=06:12:34:56:78:9a
# link_local MAC: the fe80::/64 address of a MAC (RFC 4291 App. A), as
# RFC 5952 writes it (only the first group of the identifier can be zero,
# and then it joins the "::").
link_local() {
	local m g1
	IFS=: read -r -a m <<<"$1"
	g1=$(((0x${m[0]} ^ 2) << 8 | 0x${m[1]}))
	if ((g1)); then printf 'fe80::%x:' "$g1"; else printf 'fe80::'; fi
	printf '%x:%x:%x' $((0x${m[2]} << 8 | 0xff)) $((0xfe00 | 0x${m[3]})) $((0x${m[4]}${m[5]}))
}
ll=$(link_local "$mac")
info "ustcp's MAC $mac: link-local address $ll"

ustcp_bg echo 100 /dev/null "$work/echo.out" echo -v --mac "$mac"
ns_wait_carrier "$NS_NAME" 20 || die "ustcp echo did not open $NS_TAP within 20 s"

# ustcp -v says its addresses when it starts.
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)) && ! grep -q 'listening on port' "$work/echo.err"; do sleep 0.1; done
said=$(grep -m 1 " $NS_TAP $mac: " "$work/echo.err")
info "ustcp says: ${said:-nothing}"
check "ustcp -v gives its IPv6 address $NS_USTCP_IP6/$NS_PREFIX6" \
	grep -q -- " $NS_USTCP_IP6/$NS_PREFIX6\\b" <<<"$said"
check "ustcp -v gives its link-local address $ll/64" grep -q -- " $ll/64\\b" <<<"$said"

# The first request also waits for neighbour discovery; a lost one would show as loss.
out=$(ip netns exec "$NS_NAME" timeout 20 ping -6 -c 3 -W 2 "$NS_USTCP_IP6" 2>&1)
rc=$?
indent <<<"$out"
check "ping -6 -c 3 -W 2 $NS_USTCP_IP6 exits 0" test $rc -eq 0
check "3 replies, none lost" grep -q '3 packets transmitted, 3 received, 0% packet loss' <<<"$out"
check "replies come from $NS_USTCP_IP6" \
	test "$(grep -c "bytes from $NS_USTCP_IP6: icmp_seq=" <<<"$out")" -eq 3
neigh=$(ip -n "$NS_NAME" -6 neigh show "$NS_USTCP_IP6" dev "$NS_TAP")
check "NDP: the kernel learned ustcp's MAC $mac (${neigh:-no entry})" \
	grep -q "lladdr $mac" <<<"$neigh"

# 1452 bytes of payload: with the ICMPv6 (8) and IPv6 (40) headers a
# 1500-byte packet, the MTU; the pattern is checked by ping.
out=$(ip netns exec "$NS_NAME" timeout 20 ping -6 -c 3 -i 0.2 -W 2 -s 1452 -p a55aff00 \
	"$NS_USTCP_IP6" 2>&1)
rc=$?
good=no
[[ $rc -eq 0 && "$out" == *", 0% packet loss"* && "$out" != *"wrong data"* ]] && good=yes
[[ $good == yes ]] || indent <<<"$out"
check "full-sized pings -6 (1452-byte payload, 1500-byte packets) all answered intact" \
	test $good = yes

# The link-local address, scoped to tap0 (RFC 4007 §11).
out=$(ip netns exec "$NS_NAME" timeout 20 ping -6 -c 3 -i 0.2 -W 2 "$ll%$NS_TAP" 2>&1)
rc=$?
indent <<<"$out"
check "ping -6 -c 3 $ll%$NS_TAP exits 0, none lost" \
	test $rc -eq 0 -a -n "$(grep '3 received, 0% packet loss' <<<"$out")"
neigh=$(ip -n "$NS_NAME" -6 neigh show "$ll" dev "$NS_TAP")
check "NDP: the kernel learned $ll is at $mac (${neigh:-no entry})" \
	grep -q "lladdr $mac" <<<"$neigh"

# IPv4 beside it, on the same interface.
ip netns exec "$NS_NAME" timeout 10 ping -c 1 -W 2 -q "$NS_USTCP_IP" >/dev/null 2>&1
check "ping $NS_USTCP_IP (IPv4) still answered" test $? -eq 0

check "ustcp echo is still running" ns_running "$USTCP_PID"
ustcp_stop "$USTCP_PID"
interop_finish
