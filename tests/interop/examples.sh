#!/bin/bash
# examples.sh USTCP — the programs in examples/, built against the
# INSTALLED library (make install into a temporary prefix, then
# examples/Makefile with pkg-config) and run against the kernel over the
# TAP device: the threaded echo server answers the kernel's nc, and the
# echo client gets its data back from a kernel echo server.
# label: thread
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 120 nc cmake make pkg-config
build=$(dirname "$ustcp")
src=$interop_dir/../..
threads=$build/tests/interop/threads
[[ -x "$threads" ]] || die "no threads program at $threads (built by CMake)"
unset MAKEFLAGS MFLAGS MAKELEVEL

# The sanitizer builds make no shared library (an instrumented one is no
# use installed): the plain build runs this test.
if ! compgen -G "$build/libustcp.so*" >/dev/null; then
	echo "SKIP: $build builds no libustcp.so (a sanitizer build)"
	exit 77
fi
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
	die "cmake --install $build"
pc=$(dirname "$(find "$work/prefix" -name ustcp.pc | head -1)")
cp "$src"/examples/*.c "$src"/examples/Makefile "$work/"
PKG_CONFIG_PATH=$pc make -C "$work" echo_server echo_client >"$work/make.log" 2>&1 ||
	die "examples do not build against the installed library: $(tail -3 "$work/make.log")"
export LD_LIBRARY_PATH=${pc%/pkgconfig}
check "echo_server links libustcp.so from the prefix" \
	grep -q "${pc%/pkgconfig}/libustcp.so" <(ldd "$work/echo_server")

# The server, and the kernel's nc sending 1 MB and reading it back.
ns_bg "$NS_NAME" 60 /dev/null "$work/server.out" "$work/server.err" \
	"$work/echo_server" "$NS_TAP" "$NS_USTCP_IP/$NS_PREFIX" 7
server=$NS_BG_PID
ustcp_ready "$server" 20 || die "echo_server did not answer ping within 20 s"
head -c 1000000 /dev/urandom >"$work/data"
ip netns exec "$NS_NAME" timeout 20 nc -N "$NS_USTCP_IP" 7 <"$work/data" >"$work/back"
check "echo_server (thread per connection) sent the kernel's 1 MB back" cmp -s "$work/data" "$work/back"
kill -INT "$server"
ns_wait_pid "$server" 10
rc=$?
check "echo_server ends on SIGINT (exit status $rc)" test $rc -eq 0

# The client against the kernel's echo service.
ns_bg "$NS_NAME" 60 /dev/null "$work/kecho.out" "$work/kecho.err" "$threads" echo 7007
kecho=$NS_BG_PID
ns_wait_listen "$NS_NAME" 7007 10 || die "the kernel's echo server did not listen"
ip netns exec "$NS_NAME" timeout 20 "$work/echo_client" "$NS_TAP" "$NS_USTCP_IP/$NS_PREFIX" \
	"$NS_KERNEL_IP" 7007 <"$work/data" >"$work/back2" 2>"$work/client.err"
rc=$?
check "echo_client got its 1 MB back from the kernel (rc $rc)" cmp -s "$work/data" "$work/back2"
kill "$kecho" 2>/dev/null
interop_finish
