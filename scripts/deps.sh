#!/usr/bin/env bash
# deps.sh — check for everything the build, tests and tools need, and
# install what is missing on Debian 12 (as root) or print the command to.
#
# Silent and quick when everything is there. Exit 0 when all is present or
# was installed, 1 when something is missing and we may not install it.
set -euo pipefail

recheck=${1:-} # --recheck: after installing, only check
missing=()

need_cmd() { # need_cmd COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}

need_pc() { # need_pc PKG-CONFIG-NAME PACKAGE
	command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1" 2>/dev/null || missing+=("$2")
}

need_cmd cmake cmake
need_cmd gcc gcc
need_cmd make make
need_cmd pkg-config pkg-config
need_cmd clang clang
need_cmd clang-format clang-format
need_cmd tshark tshark
need_cmd iperf3 iperf3 # the kernel baseline of make bench; ustcp perf's peer in tests/interop
need_cmd jq jq # tests/interop: reading iperf3's JSON
need_cmd ip iproute2 # tests/interop: namespaces and TAP devices
need_cmd nc netcat-openbsd # tests/interop: the kernel's TCP peer
need_cmd ping iputils-ping
need_cmd nft nftables # tests/interop: loss on the kernel side
need_cmd curl curl
need_cmd sha256sum coreutils
need_pc cmocka libcmocka-dev
need_pc libsodium libsodium-dev
need_pc libpcap libpcap-dev
need_pc libcjson libcjson-dev # ustcp perf: iperf3's JSON messages
need_pc libbsd libbsd-dev # <bsd/sys/tree.h>: the red-black trees of core/seqset.c and tcp_rack.c

# libFuzzer's runtime ships apart from clang; without it -fsanitize=fuzzer fails to link.
if command -v clang >/dev/null 2>&1; then
	arch=$(uname -m)
	case "$arch" in
	i?86) arch=i386 ;;
	esac
	rt=$(clang -print-file-name="libclang_rt.fuzzer-$arch.a" 2>/dev/null || true)
	[[ "$rt" == /* && -f "$rt" ]] || missing+=(libclang-rt-14-dev)
else
	missing+=(libclang-rt-14-dev)
fi

[[ ${#missing[@]} -eq 0 ]] && exit 0

# Each package once, in the order found.
declare -A seen=()
pkgs=()
for p in "${missing[@]}"; do
	[[ -n "${seen[$p]:-}" ]] && continue
	seen[$p]=1
	pkgs+=("$p")
done

# tshark's package asks whether non-root users may capture; answer no up front.
preseed='wireshark-common wireshark-common/install-setuid boolean false'

if [[ "$recheck" == --recheck ]]; then
	echo "deps: still missing after apt-get install: ${pkgs[*]}" >&2
	exit 1
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing: ${pkgs[*]}" >&2
	echo "deps: install them as root with:" >&2
	echo "  echo '$preseed' | debconf-set-selections" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${pkgs[*]}" >&2
	exit 1
fi

echo "deps: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "$preseed" | debconf-set-selections
apt-get update -q
apt-get install -y -q "${pkgs[@]}"

# Check again: an install that went through but left something out is an error.
exec bash "$0" --recheck
