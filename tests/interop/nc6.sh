#!/bin/bash
# nc6.sh USTCP — bulk data both ways between ustcp nc and the kernel's nc
# over IPv6 on a TAP device, 20 MiB each way (USTCP_INTEROP_MIB to change),
# with -N half-closes: the sender shuts down its side after EOF on stdin,
# the receiver sees EOF, closes, and both exit. Every byte must arrive
# (sha256), and ustcp nc -v must name the IPv6 peer. Then 1 MiB from ustcp
# to the kernel's link-local address (fe80::...%tap0). The time and rate
# are printed for information only.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 300 nc ping head
need_subcommand nc
mib=${USTCP_INTEROP_MIB:-20}
bytes=$((mib * 1048576))

head -c "$bytes" /dev/urandom >"$work/in.bin" || die "cannot write $mib MiB to $work"

# 1. ustcp nc -N (client, stdin a file, the address in brackets) -> the kernel's nc -6 -l.
kernel_bg knc-l 120 /dev/null "$work/out1.bin" nc -6 -l "$NS_KERNEL_IP6" 5001
ns_wait_listen "$NS_NAME" 5001 10 || die "the kernel's nc -6 -l did not listen on 5001"
t0=$(now_ms)
ustcp_bg unc 120 "$work/in.bin" "$work/unc.out" nc -v -N "[$NS_KERNEL_IP6]" 5001
ns_wait_pid "$USTCP_PID" 100
urc=$?
ns_wait_pid "$KERNEL_PID" 10
krc=$?
ms=$(($(now_ms) - t0))
check "ustcp nc -N [$NS_KERNEL_IP6] 5001 < $mib MiB: exits 0 (rc $urc)" test $urc -eq 0
check "kernel nc -6 -l: sees EOF and exits 0 (rc $krc)" test $krc -eq 0
check "ustcp -> kernel over IPv6: $mib MiB arrive intact (sha256)" \
	same_data "$work/in.bin" "$work/out1.bin"
check "ustcp nc -v: connection to $NS_KERNEL_IP6 5001 succeeded" \
	grep -q "connection to $NS_KERNEL_IP6 5001 port \[tcp/\*\] succeeded" "$work/unc.err"
info "ustcp -> kernel: $bytes bytes in $ms ms, $(mbps $bytes $ms) MB/s"
rm -f "$work/out1.bin"

# 2. the kernel's nc -6 -N (client) -> ustcp nc -l on its IPv6 address.
ustcp_bg unc-l 120 /dev/null "$work/out2.bin" nc -v -l "$NS_USTCP_IP6" 5002
ustcp_ready6 "$USTCP_PID" 20 || die "ustcp nc -l did not answer ping -6 within 20 s"
t0=$(now_ms)
kernel_bg knc 120 "$work/in.bin" "$work/knc.out" nc -6 -N "$NS_USTCP_IP6" 5002
ns_wait_pid "$KERNEL_PID" 100
krc=$?
ns_wait_pid "$USTCP_PID" 10
urc=$?
ms=$(($(now_ms) - t0))
check "kernel nc -6 -N $NS_USTCP_IP6 5002 < $mib MiB: exits 0 (rc $krc)" test $krc -eq 0
check "ustcp nc -l $NS_USTCP_IP6 5002: sees EOF and exits 0 (rc $urc)" test $urc -eq 0
check "kernel -> ustcp over IPv6: $mib MiB arrive intact (sha256)" \
	same_data "$work/in.bin" "$work/out2.bin"
check "ustcp nc -v: connection received on $NS_KERNEL_IP6" \
	grep -q "connection received on $NS_KERNEL_IP6 [0-9]" "$work/unc-l.err"
info "kernel -> ustcp: $bytes bytes in $ms ms, $(mbps $bytes $ms) MB/s"
rm -f "$work/out2.bin"

# 3. To the kernel's link-local address on tap0. It has one once tap0 has
# carrier (ustcp held it open above) and duplicate address detection is over.
kll=
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)); do
	kll=$(ip -n "$NS_NAME" -6 -o addr show dev "$NS_TAP" scope link |
		awk '!/tentative/ { sub("/.*", "", $4); print $4; exit }')
	[[ -n "$kll" ]] && break
	sleep 0.2
done
[[ -n "$kll" ]] || die "the kernel's $NS_TAP has no link-local address after 10 s"
head -c 1048576 "$work/in.bin" >"$work/in-ll.bin"
kernel_bg knc-ll 60 /dev/null "$work/out3.bin" nc -6 -l "$kll%$NS_TAP" 5003
ns_wait_listen "$NS_NAME" 5003 10 || die "the kernel's nc -6 -l $kll%$NS_TAP did not listen"
ustcp_bg unc-ll 60 "$work/in-ll.bin" "$work/unc-ll.out" nc -v -N "$kll%$NS_TAP" 5003
ns_wait_pid "$USTCP_PID" 40
urc=$?
ns_wait_pid "$KERNEL_PID" 10
krc=$?
check "ustcp nc -N $kll%$NS_TAP 5003 < 1 MiB: exits 0 (rc $urc)" test $urc -eq 0
check "kernel nc -6 -l $kll%$NS_TAP: exits 0 (rc $krc)" test $krc -eq 0
check "ustcp -> kernel's link-local address: 1 MiB arrives intact (sha256)" \
	same_data "$work/in-ll.bin" "$work/out3.bin"

interop_finish
