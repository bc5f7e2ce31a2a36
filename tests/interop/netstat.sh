#!/bin/bash
# netstat.sh USTCP — `ustcp netstat` reading two running ustcp programs:
# `ustcp httpd` with a listener, two idle connections from the kernel's nc
# (ESTABLISHED, over IPv4 and IPv6) and one curl closed by ustcp first
# (HTTP/1.0: TIME-WAIT, an orphan), and `ustcp echo` in a second
# namespace. `netstat -a` lists all of them with their addresses and
# programs (without -a, no listener), -e says TIME-WAIT is the stack's
# alone, -s lists every counter and drop reason of include/ustcp/stack.h
# by name, -i each program's TAP device with its addresses; once the
# programs stop, their control sockets are gone and netstat says none runs.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 120 curl nc ping pgrep
need_subcommand httpd
need_subcommand netstat

# The control sockets of this test's programs alone.
XDG_RUNTIME_DIR=$work/run
export XDG_RUNTIME_DIR
mkdir -m 0700 "$XDG_RUNTIME_DIR" || die "cannot make $XDG_RUNTIME_DIR"
ctl=$XDG_RUNTIME_DIR/ustcp
www=$work/www
mkdir -p "$www" || die "cannot make $www"
echo "hello from ustcp" >"$www/a.txt" || die "cannot write $www/a.txt"

# `ustcp echo` in the first namespace, `ustcp httpd` in a second.
ustcp_bg echo 100 /dev/null "$work/echo.out" echo
ECHO_PID=$USTCP_PID
ECHO_NS=$NS_NAME
ECHO_IP=$NS_USTCP_IP
ustcp_ready "$ECHO_PID" 20 || die "ustcp echo did not answer ping within 20 s"
ns_up || die "cannot set up a second namespace"
ustcp_bg httpd 100 /dev/null "$work/httpd.out" httpd --root "$www"
ustcp_ready "$USTCP_PID" 20 || die "ustcp httpd did not answer ping within 20 s"
ustcp_ready6 "$USTCP_PID" 20 || die "ustcp httpd did not answer ping -6 within 20 s"
info "ustcp echo in $ECHO_NS ($ECHO_IP), ustcp httpd in $NS_NAME ($NS_USTCP_IP)"

# The programs' own pids: ns_bg's are those of `timeout`, whose child
# `ip netns exec` became ustcp.
httpd=$(pgrep -P "$USTCP_PID") || die "no ustcp under pid $USTCP_PID"
echo=$(pgrep -P "$ECHO_PID") || die "no ustcp under pid $ECHO_PID"
matches() { compgen -G "$1" >/dev/null; }
check "httpd's control socket is $ctl/$httpd-N.sock" matches "$ctl/$httpd-*.sock"
check "echo's control socket is $ctl/$echo-N.sock" matches "$ctl/$echo-*.sock"
sock=$(compgen -G "$ctl/$httpd-*.sock")

# Two idle connections (nc -d reads no stdin, so it never closes first;
# httpd lets an idle one be for 60 s), and one ustcp closes first.
kernel_bg nc4 60 /dev/null "$work/nc4.out" nc -d "$NS_USTCP_IP" 80
kernel_bg nc6 60 /dev/null "$work/nc6.out" nc -6 -d "$NS_USTCP_IP6" 80
tw_port=$(ip netns exec "$NS_NAME" timeout 20 curl -sS -0 -o "$work/a.out" -w '%{local_port}' \
	"http://$NS_USTCP_IP/a.txt" 2>"$work/curl.err")
check "curl -0 fetched a.txt (from local port ${tw_port:-none})" cmp -s "$www/a.txt" "$work/a.out"

# The kernel's ports of the idle connections, once both are up.
for ((i = 0; i < 100; i++)); do
	p4=$(ip netns exec "$NS_NAME" ss -Htn state established "dst $NS_USTCP_IP:80" |
		awk '{ n = split($3, a, ":"); print a[n] }')
	p6=$(ip netns exec "$NS_NAME" ss -Htn6 state established "dst [$NS_USTCP_IP6]:80" |
		awk '{ n = split($3, a, ":"); print a[n] }')
	[[ -n "$p4" && -n "$p6" ]] && break
	sleep 0.05
done
[[ -n "$p4" && -n "$p6" ]] || die "the kernel's nc did not connect (ports '$p4' '$p6')"

prog="$httpd/ustcp httpd"
listen_re="^tcp46 +0 +0 \*:80 +\*:\* +LISTEN +$prog\$"
est4_re="^tcp +0 +0 $NS_USTCP_IP:80 +$NS_KERNEL_IP:$p4 +ESTABLISHED +$prog\$"
est6_re="^tcp6 +0 +0 \[$NS_USTCP_IP6\]:80 +\[$NS_KERNEL_IP6\]:$p6 +ESTABLISHED +$prog\$"
tw_re="^tcp +0 +0 $NS_USTCP_IP:80 +$NS_KERNEL_IP:$tw_port +TIME-WAIT +$prog\$"
echo_re="^tcp46 +0 +0 \*:7 +\*:\* +LISTEN +$echo/ustcp echo\$"
# Bounded: the last ACKs may still be on their way.
for ((i = 0; i < 50; i++)); do
	"$ustcp" netstat -a >"$work/netstat-a.out" 2>"$work/netstat-a.err"
	rc=$?
	grep -qE "$tw_re" "$work/netstat-a.out" && grep -qE "$est6_re" "$work/netstat-a.out" && break
	sleep 0.1
done
indent <"$work/netstat-a.out"
check "netstat -a exits 0 (got $rc)" test "$rc" -eq 0
check "netstat -a says nothing on stderr" test ! -s "$work/netstat-a.err"
check "netstat -a: httpd's listener (tcp46 *:80)" grep -qE "$listen_re" "$work/netstat-a.out"
check "netstat -a: nc's connection, ESTABLISHED" grep -qE "$est4_re" "$work/netstat-a.out"
check "netstat -a: nc -6's connection, ESTABLISHED" grep -qE "$est6_re" "$work/netstat-a.out"
check "netstat -a: curl's connection, TIME-WAIT" grep -qE "$tw_re" "$work/netstat-a.out"
check "netstat -a: echo's listener (tcp46 *:7)" grep -qE "$echo_re" "$work/netstat-a.out"
check "netstat -a: nothing else" test "$(grep -c '' "$work/netstat-a.out")" -eq 7
"$ustcp" netstat >"$work/netstat.out" 2>&1
check "netstat: no listener without -a" test "$(grep -cE 'LISTEN' "$work/netstat.out")" -eq 0
check "netstat: the three connections" test "$(grep -cE "$prog\$" "$work/netstat.out")" -eq 3
# second_line FILE LINE_RE RE: the line after the one LINE_RE matches matches RE.
second_line() { grep -A1 -E "$2" "$1" | tail -n +2 | grep -qE "$3"; }
"$ustcp" netstat -ae >"$work/netstat-ae.out" 2>&1
check "netstat -ae: TIME-WAIT is held by the stack alone (orphan)" \
	second_line "$work/netstat-ae.out" "$tw_re" '^	 newreno cwnd:[0-9]+ .* owner:orphan$'
check "netstat -ae: ESTABLISHED is the program's" \
	second_line "$work/netstat-ae.out" "$est4_re" ' rto:[0-9]+ms .*mss:1448 owner:program$'

# -s: every counter and drop reason of the stack, by name (the names as
# include/ustcp/stack.h lists them; "none" is no reason), for each program.
stack_h=$interop_dir/../../include/ustcp/stack.h
mapfile -t names < <(sed -n '/^#define USTCP_COUNTERS/,/^$/p;/^#define USTCP_DROPS/,/^$/p' "$stack_h" |
	sed -nE 's/^[[:space:]]*X\(([a-z0-9_]+),.*/\1/p' | grep -vx none)
info "${#names[@]} counters and drop reasons in stack.h"
"$ustcp" netstat -s >"$work/netstat-s.out" 2>&1
check "netstat -s exits 0" test $? -eq 0
awk -v p="$httpd" '$0 ~ "\\(pid " p "\\):$" { on = 1; next } /\(pid [0-9]+\):$/ { on = 0 } on' \
	"$work/netstat-s.out" >"$work/httpd-s.out"
missing=()
for n in "${names[@]}"; do
	grep -qE "^    $n +[0-9]+  " "$work/httpd-s.out" || missing+=("$n")
done
check "netstat -s: httpd's ${#names[@]} counters and drop reasons${missing[*]:+ (missing: ${missing[*]})}" \
	test ${#missing[@]} -eq 0
check "netstat -s: one line each, under Counters: and Drops:" \
	test "$(grep -cE '^    [a-z0-9_]+ +[0-9]+  ' "$work/httpd-s.out")" -eq ${#names[@]}
check "netstat -s: httpd's passive opens counted (3)" \
	grep -qE '^    tcp_passive_opens +3  passive connection openings$' "$work/httpd-s.out"
check "netstat -s: segments received, counted" grep -qE '^    tcp_in +[1-9][0-9]*  ' "$work/httpd-s.out"
check "netstat -s: echo's too" grep -qE "ustcp echo .*\(pid $echo\):\$" "$work/netstat-s.out"

# -i: each program's device, MAC and addresses.
"$ustcp" netstat -i >"$work/netstat-i.out" 2>&1
indent <"$work/netstat-i.out"
IFS=. read -r -a b <<<"$NS_USTCP_IP"
mac=$(printf '02:00:%02x:%02x:%02x:%02x' "${b[@]}")
check "netstat -i: httpd's tap0, MTU 1500, MAC $mac" \
	grep -qE "^tap0 +1500 +[1-9][0-9]* +[1-9][0-9]* +$mac +$prog\$" "$work/netstat-i.out"
# addresses FILE LINE_RE: the three lines after LINE_RE's, as one.
addresses() { grep -A3 -E "$2" "$1" | tail -n +2 | tr -s ' ' | tr '\n' '|'; }
check "netstat -i: its addresses, IPv4, IPv6 and link-local" \
	grep -qE "^ inet $NS_USTCP_IP/24\| inet6 $NS_USTCP_IP6/64\| inet6 fe80::[0-9a-f:]+/64\|\$" \
	<<<"$(addresses "$work/netstat-i.out" "$prog\$")"
check "netstat -i: echo's tap0" grep -qE "^tap0 +1500 .* $echo/ustcp echo\$" "$work/netstat-i.out"

# Stopped, a program takes its socket with it.
ustcp_stop "$USTCP_PID"
check "httpd's control socket is gone" test ! -e "$sock"
"$ustcp" netstat -a >"$work/netstat-after.out" 2>&1
check "netstat -a: only echo's listener is left" \
	test "$(grep -cE "$echo_re|$prog" "$work/netstat-after.out")" -eq 1
ustcp_stop "$ECHO_PID"
check "no control socket left" test -z "$(ls -A "$ctl")"
out=$("$ustcp" netstat 2>&1)
check "netstat: no ustcp program is running" test "$out" = "No ustcp program is running."
interop_finish
