#!/bin/bash
# talk.sh USTCP — simplex-talk (ustcp talk) with two clients at once: a
# second ustcp talk on a TAP device of its own (tap1, its packets routed by
# the kernel to tap0) and the kernel's nc (netcat-openbsd, the book's
# netcat), each typing lines through a FIFO the test holds open.
#
# - Serial (talk -l): the server prints the first client's lines, each
#   after its address and port; the second client, connected but waiting
#   in the listen backlog, has its line printed only once the first has
#   gone (EOF, close).
# - Threaded (talk -l --threads): both clients' lines are printed as they
#   are typed, interleaved.
# - SIGINT ends either server with status 0, waking its blocked calls; the
#   client still connected sees the connection end.
# label: thread
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 150 nc ping sysctl
need_subcommand talk

# The second link: tap1, on a subnet of its own, routed by the kernel.
IFS=. read -r _ sub_a sub_b _ <<<"$NS_KERNEL_IP"
hop=10.$sub_a.$(((sub_b + 128) % 256))
if ! { ip -n "$NS_NAME" tuntap add dev tap1 mode tap &&
	ip -n "$NS_NAME" addr add "$hop.1/24" dev tap1 &&
	ip -n "$NS_NAME" link set tap1 up &&
	ip netns exec "$NS_NAME" sysctl -qw net.ipv4.ip_forward=1; }; then
	die "cannot set up tap1 ($hop.1/24) in $NS_NAME"
fi
CLIENT_IP=$hop.2
info "clients: ustcp talk $CLIENT_IP on tap1 (via $hop.1), the kernel's nc $NS_KERNEL_IP"

# wait_for FILE PATTERN SECONDS: until a line of FILE matches PATTERN.
wait_for() {
	local deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# lines FILE: the server's output, for the log.
lines() { sed 's/^/    /' "$1"; }

# server NAME ARGS...: ustcp talk -l in the background, routed back to tap1.
server() {
	local name=$1
	shift
	ustcp_bg "$name" 100 /dev/null "$work/$name.out" talk -l --gw "$NS_KERNEL_IP" "$@"
	SERVER_PID=$USTCP_PID
	ustcp_ready "$SERVER_PID" 20 || die "ustcp talk $* did not answer ping within 20 s"
}

# clients NAME PORT: ustcp talk HOST on tap1 and the kernel's nc -N, each
# reading a FIFO. Both start at once, before the test opens the FIFOs for
# writing, so neither inherits the other's writing end (its EOF would
# never come); each connects once its FIFO is open (type_ustcp,
# type_kernel), and types what the test writes to fd 3 and fd 4.
clients() {
	local name=$1 port=$2
	mkfifo "$work/$name-u.fifo" "$work/$name-k.fifo" || die "cannot make FIFOs in $work"
	echo "+ ustcp talk --tap tap1 --ip $CLIENT_IP/24 --gw $hop.1 -p $port $NS_USTCP_IP" \
		>"$work/$name-u.cmd"
	ns_bg "$NS_NAME" 60 "$work/$name-u.fifo" "$work/$name-u.out" "$work/$name-u.err" \
		"$ustcp" talk --tap tap1 --ip "$CLIENT_IP/24" --gw "$hop.1" -p "$port" "$NS_USTCP_IP"
	UCLIENT_PID=$NS_BG_PID
	kernel_bg "$name-k" 60 "$work/$name-k.fifo" "$work/$name-k.out" nc -N "$NS_USTCP_IP" "$port"
	KCLIENT_PID=$KERNEL_PID
	FIFO_U=$work/$name-u.fifo
	FIFO_K=$work/$name-k.fifo
}
type_ustcp() { exec 3>"$FIFO_U"; }
type_kernel() { exec 4>"$FIFO_K"; }

# kernel_conns PORT STATE: the kernel's connections to the server's PORT in STATE.
kernel_conns() {
	ip netns exec "$NS_NAME" ss -Htn state "$2" "dport = :$1" | wc -l
}
# wait_conns PORT STATE N SECONDS: until there are N.
wait_conns() {
	local deadline=$((SECONDS + $4))
	while ((SECONDS < deadline)); do
		[[ $(kernel_conns "$1" "$2") == "$3" ]] && return 0
		sleep 0.05
	done
	return 1
}

# stop_server: SIGINT (Ctrl-C); it must exit 0 within 5 s.
stop_server() {
	kill -INT "$SERVER_PID" 2>/dev/null
	ns_wait_pid "$SERVER_PID" 5
	local rc=$?
	[[ $rc == 124 ]] && kill -KILL "$SERVER_PID" 2>/dev/null
	check "$1: SIGINT ends the server with status 0 (rc $rc)" test "$rc" -eq 0
}

A="^$CLIENT_IP:[0-9]+: " # a line from the ustcp client, as the server prints it
K="^$NS_KERNEL_IP:[0-9]+: "

# 1. Serial: the second client waits in the backlog until the first has gone.
server serial
out=$work/serial.out
clients serial 5431
type_ustcp
echo "hello from ustcp" >&3
check "serial: the first client's line is printed with its address and port" \
	wait_for "$out" "${A}hello from ustcp\$" 10
type_kernel
echo "hello from the kernel" >&4
check "serial: the second client is connected (in the backlog)" \
	wait_conns 5431 established 1 10
ns_wait_ping "$NS_NAME" "$NS_USTCP_IP" 1 # the stack has had its line by now
sleep 1
check "serial: its line is held while the first is served" \
	test "$(grep -cE "${K}hello from the kernel" "$out")" -eq 0
echo "more from ustcp" >&3
check "serial: the first client's next line still comes at once" \
	wait_for "$out" "${A}more from ustcp\$" 10
exec 3>&- # EOF: the ustcp client closes
ns_wait_pid "$UCLIENT_PID" 10
rc=$?
check "serial: the first client exits 0 at EOF (rc $rc)" test "$rc" -eq 0
check "serial: then the second client's held line is printed" \
	wait_for "$out" "${K}hello from the kernel\$" 10
echo "and again from the kernel" >&4
check "serial: and its next line at once" wait_for "$out" "${K}and again from the kernel\$" 10
exec 4>&- # nc -N: EOF, then FIN
ns_wait_pid "$KCLIENT_PID" 10
rc=$?
check "serial: the kernel's nc exits 0 once the server closes too (rc $rc)" test "$rc" -eq 0
check "serial: the lines in order" \
	test "$(sed -E 's/^[0-9.]+:[0-9]+: //' "$out" | paste -sd '|')" = \
	"hello from ustcp|more from ustcp|hello from the kernel|and again from the kernel"
lines "$out"
stop_server serial

# 2. Threaded: both are served at once; SIGINT while both are connected.
server threaded -p 5432 --threads
out=$work/threaded.out
clients threaded 5432
type_ustcp
echo "one from ustcp" >&3
check "threaded: the first client's line" wait_for "$out" "${A}one from ustcp\$" 10
type_kernel
echo "one from the kernel" >&4
check "threaded: the second client's line at once, the first still connected" \
	wait_for "$out" "${K}one from the kernel\$" 10
echo "two from ustcp" >&3
check "threaded: the first client's next line" wait_for "$out" "${A}two from ustcp\$" 10
echo "two from the kernel" >&4
check "threaded: the second client's next line" wait_for "$out" "${K}two from the kernel\$" 10
lines "$out"
stop_server threaded
ns_wait_pid "$UCLIENT_PID" 10
rc=$?
check "threaded: the ustcp client, still connected, sees the server close and exits 1 (rc $rc)" \
	test "$rc" -eq 1
check "threaded: and says so" grep -q "the server closed the connection" "$work/threaded-u.err"
check "threaded: the kernel's nc, still connected, has the server's FIN (CLOSE-WAIT)" \
	wait_conns 5432 close-wait 1 5
exec 3>&- 4>&-
ns_wait_pid "$KCLIENT_PID" 10
rc=$?
check "threaded: then the kernel's nc exits 0 at EOF (rc $rc)" test "$rc" -eq 0

interop_finish
