# lib.bash — shared by tests/interop/*.sh (sourced, not a test itself).
#
# Each test is run as `bash TEST.sh USTCP [ECHO_CLIENTS]`: it gets a network
# namespace of its own with tap0 (kernel side $NS_KERNEL_IP and
# $NS_KERNEL_IP6, ustcp side $NS_USTCP_IP and $NS_USTCP_IP6; ustcp_bg gives
# ustcp both), runs ustcp and the kernel's tools inside it, prints
# "ok: ..." or "FAIL: ..." for each thing it checks, and exits 0, 1 (a
# check failed) or 77 (skipped: no /dev/net/tun or namespaces here).
# Everything it started and made is removed when it exits, however it exits.
#
# Environment:
#   USTCP_INTEROP_PCAP=1   record every frame ustcp sends and receives
#                          (--pcap), kept with the logs when a test fails
#   USTCP_INTEROP_KEEP=1   keep the logs (and captures) even when it passes
#   USTCP_INTEROP_CLEAN=1  remove the logs even when a test fails

# shellcheck disable=SC2034 # USTCP_PID, KERNEL_PID and the like are for the tests
interop_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/netns.sh
source "$interop_dir/../../scripts/netns.sh"

ustcp=${1:?usage: TEST.sh path/to/ustcp [path/to/echo_clients]}
ustcp=$(realpath "$ustcp")
echo_clients=${2:-$(dirname "$ustcp")/tests/interop/echo_clients}
fails=0
work=

check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		fails=$((fails + 1))
	fi
}

info() { echo "info: $*"; }

indent() { sed 's/^/  /'; }

# The last lines of every log, for the post-mortem of a failure.
dump_logs() {
	local f
	for f in "$work"/*.err "$work"/*.log; do
		[[ -s "$f" ]] || continue
		echo "---- ${f##*/} (last 25 lines)"
		tail -n 25 "$f"
	done
	ls "$work"/*.pcap >/dev/null 2>&1 && echo "captures: $(ls "$work"/*.pcap)"
	[[ -z "${USTCP_INTEROP_PCAP:-}" ]] && echo "(rerun with USTCP_INTEROP_PCAP=1 to record captures)"
}

die() { # die MESSAGE: a failure that ends the test
	echo "FAIL: $*"
	fails=$((fails + 1))
	dump_logs
	exit 1
}

# interop_setup SECONDS TOOL...: skip where there are no namespaces, require
# the tools, clean up on exit and after SECONDS at the latest, and make one
# namespace ($NS_*) and a work directory ($work).
interop_setup() {
	local secs=$1
	shift
	ns_require
	ns_require_tools ip ss timeout sha256sum "$@"
	[[ -x "$ustcp" ]] || die "$ustcp is not an executable"
	ns_cleanup_trap "$secs"
	ns_tmpdir work || die "cannot make a temporary directory"
	[[ -n "${USTCP_INTEROP_KEEP:-}" ]] && ns_keep_tmp
	ns_up || die "cannot set up a namespace"
	info "namespace $NS_NAME: kernel $NS_KERNEL_IP $NS_KERNEL_IP6," \
		"ustcp $NS_USTCP_IP $NS_USTCP_IP6 on $NS_TAP"
}

# need_subcommand NAME: ustcp must have it (`ustcp help` lists it).
need_subcommand() {
	"$ustcp" help 2>/dev/null | grep -q "^  $1 " || die "ustcp has no '$1' subcommand"
}

# ustcp_net: the network options that give ustcp tap0 and the ustcp side's
# addresses, IPv4 and IPv6, in the array USTCP_NET.
ustcp_net() {
	USTCP_NET=(--tap "$NS_TAP" --ip "$NS_USTCP_IP/$NS_PREFIX" --ip6 "$NS_USTCP_IP6/$NS_PREFIX6")
}

# ustcp_bg NAME SECONDS IN OUT SUBCOMMAND ARGS...: ustcp SUBCOMMAND on tap0
# with the ustcp side's addresses, in the background; stderr in
# $work/NAME.err. Sets USTCP_PID.
ustcp_bg() {
	local name=$1 secs=$2 in=$3 out=$4 sub=$5
	shift 5
	ustcp_net
	local net=("${USTCP_NET[@]}")
	[[ -n "${USTCP_INTEROP_PCAP:-}" ]] && net+=(--pcap "$work/$name.pcap")
	echo "+ ustcp $sub ${net[*]} $*" >"$work/$name.cmd"
	ns_bg "$NS_NAME" "$secs" "$in" "$out" "$work/$name.err" "$ustcp" "$sub" "${net[@]}" "$@"
	USTCP_PID=$NS_BG_PID
}

# kernel_bg NAME SECONDS IN OUT CMD...: a kernel tool in the namespace, in
# the background, stderr in $work/NAME.err. Sets KERNEL_PID.
kernel_bg() {
	local name=$1 secs=$2 in=$3 out=$4
	shift 4
	ns_bg "$NS_NAME" "$secs" "$in" "$out" "$work/$name.err" "$@"
	KERNEL_PID=$NS_BG_PID
}

# ustcp_ready PID SECONDS: until ustcp has tap0 open and answers ping; fails
# at once if the process ends first.
ustcp_ready() {
	local pid=$1 deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		ns_running "$pid" || return 1
		ip netns exec "$NS_NAME" ping -c 1 -W 1 -q "$NS_USTCP_IP" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ustcp_ready6 PID SECONDS: the same over IPv6 (neighbour discovery, ICMPv6
# echo).
ustcp_ready6() {
	local pid=$1 deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		ns_running "$pid" || return 1
		ip netns exec "$NS_NAME" ping -6 -c 1 -W 1 -q "$NS_USTCP_IP6" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ustcp_stop PID: TERM, up to 5 s to exit; prints how it exited.
ustcp_stop() {
	local pid=$1 rc
	ns_running "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	ns_wait_pid "$pid" 5
	rc=$?
	[[ $rc == 124 ]] && kill -KILL "$pid" 2>/dev/null
	info "ustcp (pid $pid) stopped by SIGTERM: exit status $rc"
}

# A sanitizer report in any log is a failure, even if the output was right.
check_sanitizers() {
	local f bad=()
	for f in "$work"/*.err; do
		[[ -f "$f" ]] || continue
		grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$f" && bad+=("${f##*/}")
	done
	check "no sanitizer reports${bad[*]:+ (see ${bad[*]})}" test ${#bad[@]} -eq 0
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# mbps BYTES MS: megabytes (10^6) per second.
mbps() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.2f", (ms > 0 ? b / 1e6 / (ms / 1000) : 0) }'; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# same_data SENT RECEIVED: equal sha256; if not, where they part (evidence).
same_data() {
	[[ "$(sha "$1")" == "$(sha "$2")" ]] && return 0
	echo "  sent $(stat -c %s "$1") bytes, received $(stat -c %s "$2" 2>/dev/null || echo no) bytes"
	cmp "$1" "$2" 2>&1 | head -n 1 | indent
	return 1
}

# interop_finish: the summary, the logs when something failed, the exit code.
interop_finish() {
	check_sanitizers
	if ((fails > 0)); then
		echo "$fails check(s) failed"
		dump_logs
		exit 1
	fi
	exit 0
}
