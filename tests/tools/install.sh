#!/bin/bash
# install.sh BUILD_DIR [CMAKE] — the library as a user installs and uses
# it: BUILD_DIR (a plain build) is installed into a temporary prefix, and
#   - the prefix holds every public header, libustcp.a, libustcp.so with its
#     SONAME links, ustcp.pc naming that prefix, and a ustcp that runs;
#   - each installed header compiles alone (and twice) in strict C11 from a
#     directory outside the tree, with only pkg-config's flags, and
#     <ustcp/ustcp.h> includes every other one;
#   - libustcp.so exports the public API alone: ustcp_* names declared in
#     the headers;
#   - every examples/*.c builds with pkg-config against libustcp.so and
#     against libustcp.a, and stack_info (which needs no network) runs both
#     ways;
#   - DESTDIR stages an install without changing the prefix in ustcp.pc.
# Needs no root; the temporary directory goes at exit.
set -u
build=${1:?usage: install.sh BUILD_DIR [CMAKE]}
cmake=${2:-cmake}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CC=${CC:-cc}
STRICT=(-std=c11 -Wall -Wextra -Werror -pedantic)
# The caller's make (make check) must not steer the examples' make.
unset MAKEFLAGS MFLAGS MAKELEVEL PKG_CONFIG_PATH LD_LIBRARY_PATH

fails=0
check() { # check DESCRIPTION CONDITION...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ustcp-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

if ! "$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	echo "FAIL: cmake --install $build --prefix $prefix"
	exit 1
fi

# ---- what is installed ----
libdir=$(dirname "$(find "$prefix" -name ustcp.pc -path '*/pkgconfig/*' | head -1)")
libdir=${libdir%/pkgconfig}
check "ustcp.pc in PREFIX/lib*/pkgconfig" test -f "$libdir/pkgconfig/ustcp.pc"
check "libustcp.a in the same libdir" test -f "$libdir/libustcp.a"
check "libustcp.so -> libustcp.so.0" test "$(readlink "$libdir/libustcp.so")" = libustcp.so.0
check "libustcp.so.0 -> a real file" test -f "$libdir/libustcp.so.0" -a ! -L "$(readlink -f "$libdir/libustcp.so.0")"
check "SONAME libustcp.so.0" grep -q 'SONAME.*\[libustcp\.so\.0\]' <(readelf -d "$libdir/libustcp.so")
for h in "$src"/include/ustcp/*.h; do
	check "include/ustcp/${h##*/} installed as is" cmp -s "$h" "$prefix/include/ustcp/${h##*/}"
done
check "bin/ustcp runs" "$prefix/bin/ustcp" help >/dev/null

# ---- pkg-config ----
export PKG_CONFIG_PATH=$libdir/pkgconfig
check "pkg-config knows ustcp" pkg-config --exists ustcp
check "ustcp.pc: prefix is the one installed to" \
	test "$(pkg-config --variable=prefix ustcp)" = "$prefix"
cflags=$(pkg-config --cflags ustcp)
check "ustcp.pc: Cflags -I PREFIX/include alone (got: $cflags)" test "${cflags% }" = "-I$prefix/include"
check "ustcp.pc: Libs -L libdir -lustcp" grep -qF -- "-L$libdir -lustcp" <<<"$(pkg-config --libs ustcp)"
static_libs=$(pkg-config --static --libs ustcp)
check "ustcp.pc: --static adds libsodium and libpcap" \
	grep -q -- '-lsodium.*-lpcap\|-lpcap.*-lsodium' <<<"$static_libs"

# ---- the headers, from outside the tree ----
mkdir "$tmp/hdr"
read -ra cflags <<<"$cflags"
for h in "$prefix"/include/ustcp/*.h; do
	n=${h##*/}
	printf '#include <ustcp/%s>\n#include <ustcp/%s>\n' "$n" "$n" >"$tmp/hdr/${n%.h}.c"
	check "<ustcp/$n> compiles alone" \
		bash -c 'cd "$1" && shift && "$@"' _ "$tmp/hdr" \
		"$CC" "${STRICT[@]}" "${cflags[@]}" -c "${n%.h}.c" -o "${n%.h}.o"
	[ "$n" = ustcp.h ] && continue
	check "<ustcp/ustcp.h> includes $n" grep -q "^#include \"$n\"" "$prefix/include/ustcp/ustcp.h"
done

# ---- the exported symbols: the public API alone ----
nm -D --defined-only "$libdir/libustcp.so" | awk '{ print $NF }' | sort -u >"$tmp/exported"
check "libustcp.so exports ustcp_stack_new" grep -qx ustcp_stack_new "$tmp/exported"
others=$(grep -v '^ustcp_' "$tmp/exported")
check "libustcp.so exports only ustcp_* (others: ${others:-none})" test -z "$others"
undeclared=$(while read -r sym; do
	grep -qw "$sym" "$prefix"/include/ustcp/*.h || echo "$sym"
done <"$tmp/exported")
check "every export is declared in a header (undeclared: ${undeclared:-none})" test -z "$undeclared"

# ---- examples/: shared and static, built as a user outside the tree would ----
mkdir "$tmp/examples"
find "$src/examples" -maxdepth 1 -type f \( -name '*.[ch]' -o -name Makefile \) \
	-exec cp {} "$tmp/examples/" \;
check "examples build with libustcp.so" make -C "$tmp/examples" -s all
check "examples build with libustcp.a" make -C "$tmp/examples" -s static
for c in "$tmp"/examples/*.c; do
	p=${c%.c}
	check "${p##*/} needs libustcp.so.0" grep -q 'NEEDED.*\[libustcp\.so\.0\]' <(readelf -d "$p")
	check "${p##*/}-static needs no libustcp.so" \
		bash -c 'test -x "$1" && ! readelf -d "$1" | grep -q "NEEDED.*libustcp"' _ "$p-static"
done

p=$tmp/examples/stack_info
out=$(LD_LIBRARY_PATH=$libdir "$p" 2>&1)
check "stack_info runs on libustcp.so" test $? -eq 0
check "stack_info prints a counter" grep -q '^ *frames_in *0 ' <<<"$out"
check "stack_info loads libustcp.so.0 from the prefix" \
	grep -qF "libustcp.so.0 => $libdir/libustcp.so.0" <(LD_LIBRARY_PATH=$libdir ldd "$p")
out=$("$p-static" 2>&1)
check "stack_info-static runs" test $? -eq 0
check "stack_info-static prints a counter" grep -q '^ *frames_in *0 ' <<<"$out"

# ---- DESTDIR: staged under it, ustcp.pc still names the prefix ----
DESTDIR=$tmp/stage "$cmake" --install "$build" --prefix /opt/ustcp >"$tmp/install.log" 2>&1
check "DESTDIR install exits 0" test $? -eq 0
pc=$(find "$tmp/stage/opt/ustcp" -name ustcp.pc 2>/dev/null | head -1)
check "DESTDIR: ustcp.pc staged under DESTDIR/opt/ustcp" test -n "$pc"
check "DESTDIR: ustcp.pc says prefix=/opt/ustcp" grep -qx 'prefix=/opt/ustcp' "${pc:-/dev/null}"

exit $((fails > 0))
