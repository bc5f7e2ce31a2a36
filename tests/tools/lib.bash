# lib.bash — shared by tests/tools/*.sh (sourced, not a test itself): each
# is run as `bash TEST.sh USTCP`, prints "ok: ..." or "FAIL: ..." for each
# thing it checks, and ends with `exit_status` (0, or 1 if a check failed).

ustcp=${1:?usage: TEST.sh path/to/ustcp}
fails=0
tools_errf=$(mktemp) || exit 1
trap 'rm -f "$tools_errf"' EXIT

check() { # check DESCRIPTION CONDITION...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

# refused CODE WORDS CMD...: CMD exits CODE with one line on stderr that
# matches WORDS (an extended regular expression), and prints nothing on
# stdout: how bad input is refused.
refused() {
	local code=$1 words=$2 out err rc what
	shift 2
	what="${*:2}"
	[[ "$1" != "$ustcp" ]] && what=$*
	out=$("$@" 2>"$tools_errf")
	rc=$?
	err=$(cat "$tools_errf")
	check "$what: exit $code (rc $rc)" test "$rc" -eq "$code"
	check "$what: one line on stderr" test "$(wc -l <<<"$err")" -eq 1
	check "$what: says '$words' ($err)" grep -qE -- "$words" <<<"$err"
	check "$what: nothing on stdout" test -z "$out"
}

exit_status() { exit $((fails > 0)); }
