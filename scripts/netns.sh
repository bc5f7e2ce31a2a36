#!/usr/bin/env bash
# netns.sh — network namespaces with a TAP device, for running ustcp against
# the kernel's TCP/IP on one machine without touching the host's network.
#
# Each namespace holds everything of one test: the TAP device tap0, whose
# kernel side has 10.A.B.1/24 (and fd00:AABB::1/64), the ustcp process that
# attaches to tap0 by name and takes 10.A.B.2, and the kernel tools (ping,
# nc, curl) that talk to it. Addresses are used only inside namespaces made
# here, so nothing leaves them.
#
# As a library (tests/interop/*.sh):
#   source scripts/netns.sh
#   ns_require                 exit 77 (skip) without /dev/net/tun or namespaces
#   ns_require_tools nc ping   exit 1 when a kernel tool is missing (run scripts/deps.sh)
#   ns_cleanup_trap [SECONDS]  on exit, interrupt or deadline: kill what we started,
#                              delete our namespaces and temporary directories
#   ns_up [NAME [INDEX]]       create one (NAME "" or none: ustcp-t-PID-N, unique to
#                              this process); sets NS_NAME NS_TAP NS_KERNEL_IP
#                              NS_USTCP_IP NS_PREFIX NS_KERNEL_IP6 NS_USTCP_IP6 NS_PREFIX6
#   ns_bg NS SECS IN OUT ERR CMD..  run CMD in NS in the background with those
#                              stdin/stdout/stderr files, killed after SECS; sets NS_BG_PID
#   ns_wait_pid PID SECONDS    wait for a background process; its status, or 124
#   ns_running PID             whether a background process still runs
#   ns_wait_carrier NS SECS    until a process (ustcp) has tap0 open
#   ns_wait_ping NS ADDR SECS  until ADDR answers ping from inside NS
#   ns_wait_listen NS PORT S   until a kernel socket in NS listens on TCP PORT
#   ns_down NAME               kill what runs in it, then delete it
# For people:
#   scripts/netns.sh up NAME [INDEX]    create (and print the addresses)
#   scripts/netns.sh down NAME          delete
#   scripts/netns.sh list               the namespaces made here and still there

NS_TAP=tap0
NS_PREFIX=24
NS_PREFIX6=64
NS_PREFIX_NAME=ustcp-t
ns__created=()  # namespaces this shell made and has not yet deleted

# ns_track NAME: a namespace the caller made itself (a second host, a
# router), to be deleted with the rest on exit.
ns_track() { ns__created+=("$1"); }
ns__pids=()     # background processes to kill on exit
ns__tmpdirs=()  # temporary directories to remove on exit
ns__keep_dirs=0 # 1: leave the temporary directories for a post-mortem
ns__count=0

ns_log() { echo "netns: $*" >&2; }

# Skip (exit 77) where this machine cannot give us a namespace with a TAP
# device: no /dev/net/tun, not root, no `ip netns`. Tried for real, once.
ns_require() {
	if ! command -v ip >/dev/null 2>&1; then
		echo "FAIL: 'ip' (iproute2) is missing; run scripts/deps.sh" >&2
		exit 1
	fi
	if [[ ! -c /dev/net/tun ]]; then
		echo "SKIP: /dev/net/tun is missing (no TUN/TAP support here)"
		exit 77
	fi
	ns__reap_stale
	local probe=$NS_PREFIX_NAME-$$-probe err
	if ! err=$(ip netns add "$probe" 2>&1); then
		echo "SKIP: cannot create network namespaces (not root?): $err"
		exit 77
	fi
	if ! err=$(ip -n "$probe" tuntap add dev "$NS_TAP" mode tap 2>&1); then
		ip netns del "$probe" 2>/dev/null
		echo "SKIP: cannot create a TAP device in a namespace: $err"
		exit 77
	fi
	ip netns del "$probe"
}

# The kernel tools a test needs. scripts/deps.sh installs them, so a missing
# one is a failure of the setup, not a reason to skip.
ns_require_tools() {
	local t missing=()
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		echo "FAIL: missing tools: ${missing[*]} (scripts/deps.sh installs them)" >&2
		exit 1
	fi
}

# Namespaces named after a process that no longer exists were left by a test
# killed outright (SIGKILL gives no chance to clean up): remove them.
ns__reap_stale() {
	local ns pid
	while read -r ns _; do
		[[ "$ns" =~ ^$NS_PREFIX_NAME-([0-9]+)- ]] || continue
		pid=${BASH_REMATCH[1]}
		[[ -d /proc/$pid ]] && continue
		ns_log "removing $ns, left by process $pid"
		ns__kill_all "$ns"
		ip netns del "$ns" 2>/dev/null
	done < <(ip netns list 2>/dev/null)
}

# ns_up [NAME [INDEX]]: the namespace, lo up, tap0 with the kernel side's
# addresses. INDEX (0..12799) picks the /24: 10.(200 + INDEX/256).(INDEX%256).
# The namespaces are separate, so equal subnets would not clash; distinct
# ones only keep captures and logs unambiguous.
ns_up() {
	ns__count=$((ns__count + 1))
	# Named after this process, so parallel tests never collide.
	local name=${1:-$NS_PREFIX_NAME-$$-$ns__count}
	local index=${2:-$((($$ * 8 + ns__count) % 12800))}
	if ((index < 0 || index > 12799)); then
		ns_log "subnet index $index is out of 0..12799"
		return 1
	fi
	local a=$((200 + index / 256)) b=$((index % 256))
	NS_NAME=$name
	NS_KERNEL_IP=10.$a.$b.1
	NS_USTCP_IP=10.$a.$b.2
	NS_KERNEL_IP6=$(printf 'fd00:%x::1' $((a * 256 + b)))
	NS_USTCP_IP6=$(printf 'fd00:%x::2' $((a * 256 + b)))
	if ! ip netns add "$name"; then
		ns_log "cannot create namespace $name"
		return 1
	fi
	ns__created+=("$name")
	# nodad: the address is usable at once, and nothing else is on this link.
	if ! { ip -n "$name" link set lo up &&
		ip -n "$name" tuntap add dev "$NS_TAP" mode tap &&
		ip -n "$name" addr add "$NS_KERNEL_IP/$NS_PREFIX" dev "$NS_TAP" &&
		ip -n "$name" -6 addr add "$NS_KERNEL_IP6/$NS_PREFIX6" dev "$NS_TAP" nodad &&
		ip -n "$name" link set "$NS_TAP" up; }; then
		ns_log "cannot set up $NS_TAP in $name"
		ns_down "$name"
		return 1
	fi
	export NS_NAME NS_TAP NS_KERNEL_IP NS_USTCP_IP NS_PREFIX NS_KERNEL_IP6 NS_USTCP_IP6 NS_PREFIX6
}

ns_print() {
	echo "NS_NAME=$NS_NAME NS_TAP=$NS_TAP"
	echo "NS_KERNEL_IP=$NS_KERNEL_IP NS_USTCP_IP=$NS_USTCP_IP NS_PREFIX=$NS_PREFIX"
	echo "NS_KERNEL_IP6=$NS_KERNEL_IP6 NS_USTCP_IP6=$NS_USTCP_IP6 NS_PREFIX6=$NS_PREFIX6"
}

# Every process inside NS: TERM, up to 2 s to go, then KILL.
ns__kill_all() {
	local ns=$1 i pids
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[[ -z "$pids" ]] && return 0
	# shellcheck disable=SC2086 # one pid a word
	kill $pids 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[[ -z "$pids" ]] && return 0
		sleep 0.1
	done
	ns_log "killing what is still running in $ns: $pids"
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	sleep 0.1
}

ns_down() {
	local name=${1:?ns_down NAME} i
	ns__kill_all "$name"
	if ! ip netns del "$name" 2>/dev/null && [[ -e "/run/netns/$name" ]]; then
		ns_log "cannot delete namespace $name"
	fi
	for i in "${!ns__created[@]}"; do
		[[ "${ns__created[$i]}" == "$name" ]] && unset 'ns__created[i]'
	done
	return 0
}

# ns_tmpdir VAR: a temporary directory, removed on exit, its path in VAR.
ns_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/ustcp-interop.XXXXXX") || return 1
	ns__tmpdirs+=("$d")
	printf -v "$1" '%s' "$d"
}

# Keep the temporary directories (logs, captures) when the test fails.
ns_keep_tmp() { ns__keep_dirs=1; }

ns_track_pid() { ns__pids+=("$@"); }

# ns_bg NS SECONDS IN OUT ERR CMD...: CMD inside NS in the background, its
# standard input, output and error from/to those files (OUT and ERR may be
# the same), killed after SECONDS at the latest. Sets NS_BG_PID (a process of
# this shell, for ns_wait_pid). Never a pipe: a process left over must not
# hold the output of the test open.
ns_bg() {
	local ns=$1 secs=$2 in=$3 out=$4 err=$5
	shift 5
	if [[ "$out" == "$err" ]]; then
		timeout -k 5 "$secs" ip netns exec "$ns" "$@" <"$in" >"$out" 2>&1 &
	else
		timeout -k 5 "$secs" ip netns exec "$ns" "$@" <"$in" >"$out" 2>"$err" &
	fi
	NS_BG_PID=$!
	ns__pids+=("$NS_BG_PID")
}

# ns_running PID: whether a background process of this shell still runs (a
# finished one stays a zombie until waited for, so kill -0 cannot tell).
ns_running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n "$state" && "$state" != Z ]]
}

# ns_wait_pid PID SECONDS: the exit status of a background process of this
# shell, or 124 if it is still running after SECONDS (it is left running).
ns_wait_pid() {
	local pid=$1 deadline=$((SECONDS + $2))
	while ns_running "$pid"; do
		((SECONDS >= deadline)) && return 124
		sleep 0.05
	done
	wait "$pid"
}

# ns_wait_ping NS ADDR SECONDS: until ADDR answers an ICMP echo from inside NS.
ns_wait_ping() {
	local ns=$1 addr=$2 deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		ip netns exec "$ns" ping -c 1 -W 1 -q "$addr" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ns_wait_carrier NS SECONDS: until a process has tap0 open (the device has
# no carrier before).
ns_wait_carrier() {
	local ns=$1 deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		ip -n "$ns" -o link show "$NS_TAP" 2>/dev/null | grep -q LOWER_UP && return 0
		sleep 0.05
	done
	return 1
}

# ns_wait_listen NS PORT SECONDS: until a kernel TCP socket in NS listens on PORT.
ns_wait_listen() {
	local ns=$1 port=$2 deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

ns__on_exit() {
	local rc=$? pid d
	trap - EXIT INT TERM HUP
	for pid in "${ns__pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for d in "${ns__created[@]}"; do
		ns_down "$d"
	done
	for pid in "${ns__pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [[ $rc -ne 0 && $rc -ne 77 ]]; then
		ns__keep_dirs=1
	fi
	for d in "${ns__tmpdirs[@]}"; do
		if [[ $ns__keep_dirs == 1 && -z "${USTCP_INTEROP_CLEAN:-}" ]]; then
			# The large payload files are not evidence; logs and captures are.
			find "$d" -name '*.bin' -size +1M -delete 2>/dev/null
			echo "kept for inspection: $d" >&2
		else
			rm -rf "$d"
		fi
	done
	exit "$rc"
}

# ns_cleanup_trap [SECONDS]: clean up on any exit; with SECONDS, also give up
# (TERM to this shell, so the cleanup still runs) after that long, before a
# harness's own timeout would kill us outright.
ns_cleanup_trap() {
	trap ns__on_exit EXIT
	trap 'echo "interrupted" >&2; exit 130' INT
	trap 'echo "FAIL: terminated (deadline or signal)" >&2; exit 143' TERM
	trap 'exit 129' HUP
	if [[ -n "${1:-}" ]]; then
		local me=$$
		# Short sleeps, so that killing this watchdog leaves nothing behind
		# that holds the test's output open.
		(
			trap - EXIT INT TERM HUP
			end=$((SECONDS + $1))
			while ((SECONDS < end)); do
				sleep 1 >/dev/null 2>&1
				kill -0 "$me" 2>/dev/null || exit 0
			done
			echo "FAIL: the test's own deadline of $1 s passed" >&2
			kill -TERM "$me"
		) &
		ns__pids+=("$!")
	fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -u
	case "${1:-}" in
	up)
		[[ -n "${2:-}" ]] || {
			echo "usage: $0 up NAME [INDEX]" >&2
			exit 2
		}
		ns_up "$2" "${3:-}" || exit 1
		ns__created=() # a person's namespace stays until `down`
		ns_print
		echo "run ustcp inside: ip netns exec $NS_NAME ustcp echo --tap $NS_TAP --ip $NS_USTCP_IP/$NS_PREFIX"
		;;
	down)
		[[ -n "${2:-}" ]] || {
			echo "usage: $0 down NAME" >&2
			exit 2
		}
		ns_down "$2"
		;;
	list)
		ip netns list | grep "^$NS_PREFIX_NAME-" || true
		;;
	*)
		echo "usage: $0 up NAME [INDEX] | down NAME | list" >&2
		exit 2
		;;
	esac
fi
