#!/bin/bash
# refused.sh USTCP — a kernel client connecting to a port where ustcp has no
# listener is refused at once: ustcp answers the SYN with RST (RFC 9293
# §3.10.7.1), and the kernel reports "Connection refused" well before its
# own timeout. The listening port beside it still accepts.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 120 nc ping
need_subcommand echo

ustcp_bg echo 100 /dev/null "$work/echo.out" echo -p 7
ustcp_ready "$USTCP_PID" 20 || die "ustcp echo did not answer ping within 20 s"

for port in 9 1 8080 65535; do
	t0=$(now_ms)
	out=$(ip netns exec "$NS_NAME" timeout 10 nc -v -z -w 2 "$NS_USTCP_IP" "$port" 2>&1)
	rc=$?
	ms=$(($(now_ms) - t0))
	check "port $port: nc -z fails (rc $rc)" test $rc -eq 1
	check "port $port: \"Connection refused\"" grep -q 'Connection refused' <<<"$out"
	check "port $port: refused in $ms ms (< 1000; a dropped SYN would take 2000)" test $ms -lt 1000
done

# bash's /dev/tcp: the same from a plain connect(2).
out=$(ip netns exec "$NS_NAME" timeout 10 bash -c "exec 3<>/dev/tcp/$NS_USTCP_IP/9" 2>&1)
check "/dev/tcp connect to port 9: Connection refused" grep -q 'Connection refused' <<<"$out"

out=$(ip netns exec "$NS_NAME" timeout 10 nc -v -z -w 2 "$NS_USTCP_IP" 7 2>&1)
check "port 7 (ustcp echo) accepts: $out" test $? -eq 0

check "ustcp echo is still running" ns_running "$USTCP_PID"
ustcp_stop "$USTCP_PID"
interop_finish
