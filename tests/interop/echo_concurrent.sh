#!/bin/bash
# echo_concurrent.sh USTCP [ECHO_CLIENTS] — 200 kernel TCP connections to
# ustcp echo, all established at once (more than its listen backlog of 128,
# so some SYNs may wait for the kernel to send them again), then each sends
# its own 64 KiB, half-closes, and must get exactly those bytes back followed
# by a FIN. The clients are tests/interop/echo_clients.c.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 240 ping
need_subcommand echo
[[ -x "$echo_clients" ]] || die "no echo_clients program at $echo_clients (built by CMake)"
conns=${USTCP_INTEROP_CONNS:-200}

ustcp_bg echo 200 /dev/null "$work/echo.out" echo -p 7
ustcp_ready "$USTCP_PID" 20 || die "ustcp echo did not answer ping within 20 s"

t0=$(now_ms)
ip netns exec "$NS_NAME" timeout 150 "$echo_clients" "$NS_USTCP_IP" 7 "$conns" 65536 120 \
	>"$work/clients.log" 2>&1
rc=$?
ms=$(($(now_ms) - t0))
head -n 30 "$work/clients.log" | indent
check "$conns concurrent connections each echoed 64 KiB intact (rc $rc)" test $rc -eq 0
check "all $conns were established at once" grep -q "^$conns of $conns connections established" \
	"$work/clients.log"
info "$conns x 64 KiB echoed in $ms ms"

# Nothing left behind: the kernel side has no connection to port 7 open.
left=$(ip netns exec "$NS_NAME" ss -Htn state established "dport = :7" | wc -l)
check "no kernel connection to port 7 still established ($left)" test "$left" -eq 0
check "ustcp echo is still running" ns_running "$USTCP_PID"
ustcp_stop "$USTCP_PID"
interop_finish
