#!/bin/bash
# demo_real.sh USTCP — `ustcp demo --real`: the kernel's curl downloads a
# file from ustcp's httpd over a TAP device, in a network namespace the
# demo makes for itself. It must print the first segments (a dozen trace
# lines of the conversation, the handshake first) and a throughput line,
# exit 0, and leave nothing behind: its namespace has no name (nothing in
# `ip netns list` refers to it) and is gone with the process (no process
# is left in it, curl included), the links of the namespace it was started
# from are as before, and its temporary file is removed. The same when
# SIGINT stops it midway (a rate-limited download), with exit status 130.
# The demo runs inside this test's own namespace, so that concurrent tests
# cannot change the links compared.
# label: thread
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 120 curl nsenter
need_subcommand demo
export TMPDIR=$work # where the demo makes its temporary directory

links() { ip -n "$NS_NAME" -o link show | awk -F': ' '{ print $2 }' | sort | paste -sd ' '; }
netns_names() { ip netns list | awk '{ print $1 }' | sort; }

# demo_pid PID: the ustcp process under ns_bg's timeout.
demo_pid() { pgrep -P "$1" | head -n 1; }

# watch_demo PID: the namespace the demo makes, once it is in it and tap0
# is there: sets DEMO_NS (its inode) and DEMO_PID.
watch_demo() {
	local bg=$1 deadline=$((SECONDS + 20)) start
	start=$(stat -L -c %i "/run/netns/$NS_NAME")
	DEMO_NS=
	while ((SECONDS < deadline)) && ns_running "$bg"; do
		DEMO_PID=$(demo_pid "$bg")
		DEMO_NS=$(stat -L -c %i "/proc/$DEMO_PID/ns/net" 2>/dev/null)
		if [[ -n "$DEMO_NS" && "$DEMO_NS" != "$start" ]] &&
			nsenter -t "$DEMO_PID" -n ip link show tap0 >/dev/null 2>&1; then
			return 0
		fi
		DEMO_NS=
		sleep 0.02
	done
	return 1
}

# curl_in_demo: curl runs in the demo's namespace.
curl_in_demo() {
	local p
	for p in $(pgrep -x curl); do
		[[ $(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null) == "$DEMO_NS" ]] && return 0
	done
	return 1
}

# gone INODE: none of the demo's processes (ustcp, curl) is left in that
# namespace, so the kernel has removed it (and its devices). Only those
# are looked for: other tests make namespaces meanwhile, and a new one may
# get the inode number the demo's had.
ns_gone() {
	local p
	for p in $(pgrep -x ustcp) $(pgrep -x curl); do
		[[ $(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null) == "$1" ]] && return 1
	done
	return 0
}

# run NAME EXPECTED_RC [SIGINT_AFTER] -- DEMO ARGS...
run() {
	local name=$1 want=$2 sig=$3 rc
	shift 4
	local links_before names_before
	links_before=$(links)
	names_before=$(netns_names)
	echo "+ ustcp demo $*" >"$work/$name.cmd"
	ns_bg "$NS_NAME" 100 /dev/null "$work/$name.out" "$work/$name.err" "$ustcp" demo "$@"
	local bg=$NS_BG_PID
	# A download that is not slowed may be over before this looks.
	if watch_demo "$bg"; then
		check "$name: it runs in a namespace of its own, unnamed (ip netns identify), with tap0" \
			test -z "$(ip netns identify "$DEMO_PID" 2>/dev/null)"
	elif [[ -n "$sig" ]]; then
		check "$name: it runs in a namespace of its own, with tap0" false
	else
		info "$name: over before its namespace could be looked at"
	fi
	if [[ -n "$sig" ]]; then
		local deadline=$((SECONDS + 20))
		until curl_in_demo || ((SECONDS >= deadline)); do sleep 0.05; done
		check "$name: curl runs in the demo's namespace" curl_in_demo
		sleep "$sig"
		kill -INT "$(demo_pid "$bg")" 2>/dev/null
	fi
	ns_wait_pid "$bg" 60
	rc=$?
	check "$name: exit status $want (rc $rc)" test "$rc" -eq "$want"
	if [[ -n "$DEMO_NS" ]]; then
		check "$name: no process of the demo (curl included) is left in its namespace" \
			ns_gone "$DEMO_NS"
	fi
	check "$name: the links where it started are as before ($links_before)" \
		test "$(links)" = "$links_before"
	# Other tests come and go meanwhile: new names are shown for the log
	# (the demo names no namespace: it makes its own, which ends with it).
	local new
	new=$(comm -13 <(echo "$names_before") <(netns_names) | paste -sd ' ')
	[[ -n "$new" ]] && info "$name: namespaces new in ip netns list (other tests'): $new"
	check "$name: its temporary file is removed" \
		test -z "$(find "$work" -maxdepth 1 -name 'ustcp-demo.*')"
}

# 1. The whole download, of the default 100 MiB.
run real 0 "" -- --real
out=$work/real.out
sed 's/^/    /' "$out" | cut -c1-150
n=$(grep -cE '^ *[0-9]+\.[0-9]{6}  10\.0\.0\.[12]\.[0-9]+ > 10\.0\.0\.[12]\.[0-9]+: Flags' "$out")
check "a dozen segments printed (got $n)" test "$n" -eq 12
check "the first is the kernel's SYN to port 80" \
	grep -qE '^ *0\.000000  10\.0\.0\.1\.[0-9]+ > 10\.0\.0\.2\.80: Flags \[S\],' "$out"
check "ustcp answers with a SYN,ACK" grep -qE '10\.0\.0\.2\.80 > 10\.0\.0\.1\.[0-9]+: Flags \[S\.\]' "$out"
check "a throughput line for the whole file" \
	grep -qE '^throughput: 104857600 bytes in [0-9.]+ s: [0-9.]+ Mbit/s' "$out"

# 2. SIGINT midway through a download slowed to 20 Mbit/s (8 s).
run sigint 130 1 -- --real --bytes 20Mi --impair rate=20Mbit
check "SIGINT: it says it was stopped" grep -q '^stopped by a signal' "$work/sigint.out"
check "SIGINT: no throughput line" test "$(grep -c '^throughput' "$work/sigint.out")" -eq 0

interop_finish
