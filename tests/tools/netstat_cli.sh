#!/bin/bash
# netstat_cli.sh USTCP — `ustcp netstat` as a user runs it, with no ustcp
# program running: bad options and arguments are refused with a message
# naming them and exit code 2; with nothing to ask it says "No ustcp
# program is running." and exits 0, whichever view is asked for; a socket
# left by a program that died is removed, one of a live program that does
# not listen is left alone; `ustcp help` lists the command and --help
# explains it. Its own XDG_RUNTIME_DIR keeps the programs of other tests
# out of sight.
set -u
ustcp=${1:?usage: netstat_cli.sh path/to/ustcp}
fails=0
check() { # check DESCRIPTION CONDITION...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

XDG_RUNTIME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ustcp-netstat-cli.XXXXXX") || exit 1
export XDG_RUNTIME_DIR
trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT

# refused WORDS ARGS...: exit 2, the first line names the problem.
refused() {
	local words=$1 err rc
	shift
	err=$("$ustcp" netstat "$@" 2>&1 >/dev/null)
	rc=$?
	check "netstat $* exits 2 (got $rc)" test "$rc" -eq 2
	check "netstat $* says '$words'" grep -q -- "^ustcp netstat: .*$words" <<<"$(head -n 1 <<<"$err")"
}
refused "unknown option '-x'" -x
refused "unknown option '-q'" -a -q
refused "unknown option '-z'" -asz
refused "unknown option '--all'" --all
refused "no arguments.*'tap0'" tap0
refused "no arguments.*'-'" -

# Nothing runs: the directory is missing, then empty.
for view in "" -a -e -s -i "-s -i" -ae; do
	# shellcheck disable=SC2086 # the view's options are meant to split
	out=$("$ustcp" netstat $view 2>&1)
	rc=$?
	check "netstat $view with nothing running exits 0 (got $rc)" test "$rc" -eq 0
	check "netstat $view with nothing running says so" test "$out" = "No ustcp program is running."
done
check "netstat made no directory of its own" test ! -e "$XDG_RUNTIME_DIR/ustcp"

# What programs leave: a dead one's socket goes, a live one's stays.
mkdir -m 0700 "$XDG_RUNTIME_DIR/ustcp"
dead=$XDG_RUNTIME_DIR/ustcp/2147483646-5.sock # above any pid_max
alive=$XDG_RUNTIME_DIR/ustcp/$$-5.sock        # this shell, which does not answer
other=$XDG_RUNTIME_DIR/ustcp/notes.txt
: >"$dead"
: >"$alive"
: >"$other"
out=$("$ustcp" netstat 2>&1)
rc=$?
check "netstat with only silent sockets exits 0 (got $rc)" test "$rc" -eq 0
check "netstat with only silent sockets says none runs" test "$out" = "No ustcp program is running."
check "the dead program's socket is removed" test ! -e "$dead"
check "the live program's socket is left" test -e "$alive"
check "a file not named like a socket is left" test -e "$other"

out=$("$ustcp" help)
check "ustcp help lists netstat" grep -q '^  netstat ' <<<"$out"
out=$("$ustcp" netstat --help)
rc=$?
check "netstat --help exits 0" test "$rc" -eq 0
for word in "usage: ustcp netstat" -a -e -s -i "$XDG_RUNTIME_DIR/ustcp" "No ustcp\|no ustcp" \
	"Exit status"; do
	check "netstat --help mentions '$word'" grep -q -- "$word" <<<"$out"
done
exit $((fails > 0))
