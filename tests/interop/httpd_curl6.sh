#!/bin/bash
# httpd_curl6.sh USTCP — the kernel's curl against `ustcp httpd` over IPv6
# on a TAP device: a 100 MiB file (USTCP_INTEROP_MIB to change) downloads
# intact (sha256) from http://[ustcp's IPv6 address]:8080/, HEAD gives its
# length, several downloads at once are all served, the server's log names
# its IPv6 peers ([address]:port), the same listener still serves IPv4, and
# SIGTERM ends the server with status 0. The download rate is printed for
# information only.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 420 curl ping head
need_subcommand httpd
mib=${USTCP_INTEROP_MIB:-100}
bytes=$((mib * 1048576))
port=8080
parallel=6 # downloads at once
each_mib=8 # MiB each

www=$work/www
mkdir -p "$www" || die "cannot make $www"
head -c "$bytes" /dev/urandom >"$www/big.bin" || die "cannot write $mib MiB to $www"
head -c $((each_mib * 1048576)) /dev/urandom >"$www/mid.bin" || die "cannot write to $www"
echo "hello from ustcp" >"$www/a.txt"

# curl inside the namespace, bounded in time: in_ns SECONDS CMD...
in_ns() {
	local secs=$1
	shift
	ip netns exec "$NS_NAME" timeout "$secs" "$@"
}
# -g: the brackets are the URL's (RFC 3986 §3.2.2), not a curl glob.
url="http://[$NS_USTCP_IP6]:$port"

ustcp_bg httpd 400 /dev/null "$work/httpd.out" httpd --root "$www" -p "$port" -v
ustcp_ready6 "$USTCP_PID" 20 || die "ustcp httpd did not answer ping -6 within 20 s"

# 1. A large download: every byte, and the rate curl saw.
t0=$(now_ms)
w=$(in_ns 200 curl -g -sS -o "$work/big.out" -w '%{http_code} %{size_download} %{speed_download}' \
	"$url/big.bin" 2>"$work/curl-big.err")
crc=$?
ms=$(($(now_ms) - t0))
read -r code size speed <<<"$w"
check "curl -g $url/big.bin: exits 0 (rc $crc), status 200 (${code:-none})" \
	test "$crc" -eq 0 -a "${code:-}" = 200
check "GET /big.bin over IPv6: $mib MiB arrive intact (sha256)" \
	same_data "$www/big.bin" "$work/big.out"
info "GET /big.bin: ${size:-0} bytes in $ms ms; curl's rate $(mbps "${speed:-0}" 1000) MB/s"
rm -f "$work/big.out"

# 2. HEAD: the length of the file.
in_ns 20 curl -g -sS -I "$url/big.bin" >"$work/head.out" 2>"$work/curl-head.err"
len=$(tr -d '\r' <"$work/head.out" | awk -F': ' 'tolower($1) == "content-length" { print $2 }')
check "HEAD /big.bin: 200 (got $(head -n 1 "$work/head.out" | tr -d '\r'))" \
	grep -q "^HTTP/1.1 200" "$work/head.out"
check "HEAD /big.bin: Content-Length $bytes (got ${len:-none})" test "${len:-}" = "$bytes"

# 3. Several downloads at once, each on its own connection.
pids=()
for i in $(seq 1 $parallel); do
	in_ns 120 curl -g -sS -o "$work/p$i.out" "$url/mid.bin" 2>>"$work/curl-many.err" &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
for i in $(seq 1 $parallel); do
	cmp -s "$www/mid.bin" "$work/p$i.out" || failed=$((failed + 1))
	rm -f "$work/p$i.out"
done
check "$parallel curls at once over IPv6, $each_mib MiB each: all intact ($failed failed)" \
	test $failed -eq 0

# 4. The listener on the unspecified address takes IPv4 too.
body=$(in_ns 20 curl -sS "http://$NS_USTCP_IP:$port/a.txt" 2>>"$work/curl.err")
check "the same listener serves IPv4: GET http://$NS_USTCP_IP:$port/a.txt" \
	test "$body" = "hello from ustcp"

# 5. The log names the IPv6 peer as [address]:port.
n=$(grep -c "^ustcp httpd: \[$NS_KERNEL_IP6\]:[0-9]*: connected" "$work/httpd.err")
check "httpd -v names its IPv6 peers [$NS_KERNEL_IP6]:PORT ($n connections)" \
	test "$n" -ge $((parallel + 2))
check "httpd -v names its IPv4 peer $NS_KERNEL_IP:PORT" \
	grep -q "^ustcp httpd: $NS_KERNEL_IP:[0-9]*: connected" "$work/httpd.err"

ns_running "$USTCP_PID"
check "ustcp httpd is still running" test $? -eq 0
kill -TERM "$USTCP_PID" 2>/dev/null
ns_wait_pid "$USTCP_PID" 10
rc=$?
check "SIGTERM: ustcp httpd exits 0 (rc $rc)" test $rc -eq 0

interop_finish
