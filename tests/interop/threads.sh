#!/bin/bash
# threads.sh USTCP — 64 threads of one ustcp program, each blocking on its
# own connection of one stack, move 16 MiB each to the kernel over the TAP
# device; the kernel's side checks every byte of every stream. The program
# is tests/interop/threads.c (built by CMake beside the ustcp binary).
# label: thread
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 240 ping
threads=$(dirname "$ustcp")/tests/interop/threads
[[ -x "$threads" ]] || die "no threads program at $threads (built by CMake)"
conns=${USTCP_INTEROP_THREADS:-64}
mib=${USTCP_THREAD_MIB:-16}

ns_bg "$NS_NAME" 200 /dev/null "$work/serve.out" "$work/serve.err" "$threads" serve 9009
server=$NS_BG_PID
ns_wait_listen "$NS_NAME" 9009 10 || die "the kernel's checker did not listen"

t0=$(now_ms)
ip netns exec "$NS_NAME" timeout 150 "$threads" clients "$NS_TAP" "$NS_USTCP_IP/$NS_PREFIX" \
	"$NS_KERNEL_IP" 9009 "$conns" "$mib" >"$work/clients.log" 2>&1
rc=$?
ms=$(($(now_ms) - t0))
tail -n 5 "$work/clients.log" | indent
check "$conns threads x $mib MiB, every byte intact (rc $rc)" test $rc -eq 0
check "all $conns streams answered ok" grep -q "^$conns of $conns streams of $mib MiB intact" \
	"$work/clients.log"
info "$conns x $mib MiB in $ms ms"
kill "$server" 2>/dev/null
interop_finish
