#!/bin/bash
# nc_transfer.sh USTCP — bulk data both ways between ustcp nc and the
# kernel's nc over a TAP device, 100 MiB each way (USTCP_INTEROP_MIB to
# change), with -N half-closes: the sender shuts down its side after EOF on
# stdin, the receiver sees EOF, closes, and both exit. Every byte must arrive
# (sha256); the time and rate are printed for information only.
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 420 nc ping head
need_subcommand nc
mib=${USTCP_INTEROP_MIB:-100}

head -c "$((mib * 1048576))" /dev/urandom >"$work/in.bin" || die "cannot write $mib MiB to $work"
bytes=$((mib * 1048576))

# 1. ustcp nc -N (client, stdin a file) -> the kernel's nc -l.
kernel_bg knc-l 200 /dev/null "$work/out1.bin" nc -l "$NS_KERNEL_IP" 5001
ns_wait_listen "$NS_NAME" 5001 10 || die "the kernel's nc -l did not listen on 5001"
t0=$(now_ms)
ustcp_bg unc 200 "$work/in.bin" "$work/unc.out" nc -N "$NS_KERNEL_IP" 5001
ns_wait_pid "$USTCP_PID" 180
urc=$?
ns_wait_pid "$KERNEL_PID" 10
krc=$?
ms=$(($(now_ms) - t0))
check "ustcp nc -N $NS_KERNEL_IP 5001 < $mib MiB: exits 0 (rc $urc)" test $urc -eq 0
check "kernel nc -l: sees EOF and exits 0 (rc $krc)" test $krc -eq 0
check "ustcp -> kernel: $mib MiB arrive intact (sha256)" same_data "$work/in.bin" "$work/out1.bin"
info "ustcp -> kernel: $bytes bytes in $ms ms, $(mbps $bytes $ms) MB/s"
rm -f "$work/out1.bin"

# 2. the kernel's nc -N (client) -> ustcp nc -l.
ustcp_bg unc-l 200 /dev/null "$work/out2.bin" nc -l -p 5002
ustcp_ready "$USTCP_PID" 20 || die "ustcp nc -l did not answer ping within 20 s"
t0=$(now_ms)
kernel_bg knc 200 "$work/in.bin" "$work/knc.out" nc -N "$NS_USTCP_IP" 5002
ns_wait_pid "$KERNEL_PID" 180
krc=$?
ns_wait_pid "$USTCP_PID" 10
urc=$?
ms=$(($(now_ms) - t0))
check "kernel nc -N $NS_USTCP_IP 5002 < $mib MiB: exits 0 (rc $krc)" test $krc -eq 0
check "ustcp nc -l -p 5002: sees EOF and exits 0 (rc $urc)" test $urc -eq 0
check "kernel -> ustcp: $mib MiB arrive intact (sha256)" same_data "$work/in.bin" "$work/out2.bin"
info "kernel -> ustcp: $bytes bytes in $ms ms, $(mbps $bytes $ms) MB/s"
rm -f "$work/out2.bin"

interop_finish
