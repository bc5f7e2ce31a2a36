#!/bin/bash
# httpd_curl.sh USTCP — the kernel's curl against `ustcp httpd` over a TAP
# device: a 100 MiB file (USTCP_INTEROP_MIB to change) downloads intact
# (sha256), HEAD gives its length, missing files give 404, paths leaving the
# root give 403, a directory gives its index.html, two requests share one
# persistent connection, "Connection: close" and HTTP/1.0 close it, other
# methods give 405 and malformed requests 400, many clients at once are all
# served, and SIGTERM ends the server with status 0. The download rate is
# printed for information only. httpd_curl6.sh does the same over IPv6.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 420 curl nc ping head
need_subcommand httpd
mib=${USTCP_INTEROP_MIB:-100}
bytes=$((mib * 1048576))

www=$work/www
mkdir -p "$www/sub" "$www/empty" || die "cannot make $www"
head -c "$bytes" /dev/urandom >"$www/big.bin" || die "cannot write $mib MiB to $www"
head -c 1048576 /dev/urandom >"$www/one.bin" || die "cannot write to $www"
echo "hello from ustcp" >"$www/a.txt"
echo "<html><body>index</body></html>" >"$www/sub/index.html"
echo "not to be served" >"$work/secret.txt"
ln -s ../secret.txt "$www/escape.txt"

# curl inside the namespace, bounded in time: in_ns SECONDS CMD...
in_ns() {
	local secs=$1
	shift
	ip netns exec "$NS_NAME" timeout "$secs" "$@"
}
url=http://$NS_USTCP_IP

# The default port (80) and --root.
ustcp_bg httpd 400 /dev/null "$work/httpd.out" httpd --root "$www" -v
ustcp_ready "$USTCP_PID" 20 || die "ustcp httpd did not answer ping within 20 s"

# 1. A large download: every byte, and the rate curl saw.
t0=$(now_ms)
w=$(in_ns 200 curl -sS -o "$work/big.out" -w '%{http_code} %{size_download} %{speed_download}' \
	"$url/big.bin" 2>"$work/curl-big.err")
crc=$?
ms=$(($(now_ms) - t0))
read -r code size speed <<<"$w"
check "curl $url/big.bin: exits 0 (rc $crc), status 200 (${code:-none})" \
	test "$crc" -eq 0 -a "${code:-}" = 200
check "GET /big.bin: $mib MiB arrive intact (sha256)" same_data "$www/big.bin" "$work/big.out"
info "GET /big.bin: ${size:-0} bytes in $ms ms; curl's rate $(mbps "${speed:-0}" 1000) MB/s"
rm -f "$work/big.out"

# 2. HEAD: the length and type of the file, and no body.
in_ns 20 curl -sS -I "$url/big.bin" >"$work/head.out" 2>"$work/curl-head.err"
len=$(tr -d '\r' <"$work/head.out" | awk -F': ' 'tolower($1) == "content-length" { print $2 }')
check "HEAD /big.bin: 200 (got $(head -n 1 "$work/head.out" | tr -d '\r'))" \
	grep -q "^HTTP/1.1 200" "$work/head.out"
check "HEAD /big.bin: Content-Length $bytes (got ${len:-none})" test "${len:-}" = "$bytes"
check "HEAD /big.bin: Content-Type application/octet-stream" \
	grep -qi '^content-type: application/octet-stream' "$work/head.out"
in_ns 20 curl -sS -I "$url/a.txt" >"$work/head.out" 2>>"$work/curl-head.err"
check "HEAD /a.txt: Content-Type text/plain" grep -qi '^content-type: text/plain' "$work/head.out"

# status URL [CURL OPTIONS...]: the status code curl gets.
status() {
	local u=$1
	shift
	in_ns 20 curl -sS -o "$work/body.out" -w '%{http_code}' "$@" "$u" 2>>"$work/curl.err"
}

# 3. Missing files, escapes, directories.
s=$(status "$url/no-such-file")
check "GET /no-such-file: 404 (got $s)" test "$s" = 404
s=$(status "$url/../secret.txt" --path-as-is)
check "GET /../secret.txt: 403 (got $s)" test "$s" = 403
s=$(status "$url/sub/%2e%2e/%2e%2e/secret.txt" --path-as-is)
check "GET /sub/%2e%2e/%2e%2e/secret.txt: 403 (got $s)" test "$s" = 403
s=$(status "$url/escape.txt")
check "GET /escape.txt (a link out of the root): 403 (got $s)" test "$s" = 403
s=$(status "$url/sub/")
check "GET /sub/: 200 (got $s)" test "$s" = 200
check "GET /sub/: its index.html" cmp -s "$www/sub/index.html" "$work/body.out"
s=$(status "$url/empty/")
check "GET /empty/ (no index.html): 404 (got $s)" test "$s" = 404
s=$(status "$url/a.txt" -X POST -d x=1)
check "POST /a.txt: 405 (got $s)" test "$s" = 405

# 4. Two requests on one persistent connection: curl connects once.
n=$(in_ns 20 curl -sS -o /dev/null -o "$work/ka.out" -w '%{num_connects} ' \
	"$url/one.bin" "$url/a.txt" 2>>"$work/curl.err")
check "two GETs with one curl: connections made per request '1 0' (got '$n')" \
	test "$n" = "1 0 "
check "the second answer on the reused connection is right" cmp -s "$www/a.txt" "$work/ka.out"
in_ns 20 curl -sS -v -o /dev/null -o /dev/null "$url/a.txt" "$url/one.bin" \
	>/dev/null 2>"$work/curl-v.log"
check "curl -v: Re-using existing connection" grep -qi 're-using existing connection' \
	"$work/curl-v.log"

# 5. Connection: close is honoured: the answer says so and the server closes.
in_ns 20 curl -sS -v -o /dev/null -H 'Connection: close' "$url/a.txt" 2>"$work/curl-close.log"
check "Connection: close: the response says Connection: close" \
	grep -qi '^< connection: close' "$work/curl-close.log"

# raw REQUEST: what the server answers to REQUEST, sent with the kernel's
# nc, which returns once the server closes (within 10 s).
raw() {
	printf '%b' "$1" | in_ns 10 nc -N "$NS_USTCP_IP" 80 2>>"$work/nc.err"
}
out=$(raw 'GET /a.txt HTTP/1.0\r\n\r\n')
rc=$?
check "HTTP/1.0 request: the server closes after the answer (nc rc $rc)" test $rc -eq 0
check "HTTP/1.0 request: 200" grep -q '^HTTP/1.1 200' <<<"$out"
out=$(raw 'GARBAGE\r\n\r\n')
check "a malformed request line: 400" grep -q '^HTTP/1.1 400' <<<"$out"
out=$(raw 'GET /a.txt HTTP/1.1\r\n\r\n')
check "HTTP/1.1 without Host: 400" grep -q '^HTTP/1.1 400' <<<"$out"
out=$(raw 'GET /a.txt HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n')
check "a header line without a colon: 400" grep -q '^HTTP/1.1 400' <<<"$out"
out=$(raw 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
rc=$?
n=$(grep -c '^HTTP/1.1 200' <<<"$out")
check "two pipelined requests: the server closes after the second (nc rc $rc)" test $rc -eq 0
check "two pipelined requests: two answers (got $n)" test "$n" -eq 2
check "two pipelined requests: in order" \
	test "$(grep -E -o 'hello from ustcp|index' <<<"$out" | tr '\n' ' ')" = "hello from ustcp index "

# 6. Many clients at once, each with its own connection.
clients=40
pids=()
for i in $(seq 1 $clients); do
	in_ns 60 curl -sS -o "$work/c$i.out" "$url/one.bin" 2>>"$work/curl-many.err" &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
for i in $(seq 1 $clients); do
	cmp -s "$www/one.bin" "$work/c$i.out" || failed=$((failed + 1))
	rm -f "$work/c$i.out"
done
check "$clients curls at once, 1 MiB each: all intact ($failed failed)" test $failed -eq 0

ns_running "$USTCP_PID"
check "ustcp httpd is still running" test $? -eq 0
kill -TERM "$USTCP_PID" 2>/dev/null
ns_wait_pid "$USTCP_PID" 10
rc=$?
check "SIGTERM: ustcp httpd exits 0 (rc $rc)" test $rc -eq 0

# 7. Bad options: a message and exit 2, before any device is touched.
"$ustcp" httpd --root "$work/no-such-dir" --tap "$NS_TAP" --ip "$NS_USTCP_IP/24" \
	>/dev/null 2>"$work/opt.err"
rc=$?
check "--root of a missing directory: exit 2 (rc $rc)" test $rc -eq 2
"$ustcp" httpd -p 0 --tap "$NS_TAP" --ip "$NS_USTCP_IP/24" >/dev/null 2>>"$work/opt.err"
rc=$?
check "-p 0: exit 2 (rc $rc)" test $rc -eq 2

interop_finish
