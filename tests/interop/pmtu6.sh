#!/bin/bash
# pmtu6.sh USTCP — path MTU discovery for IPv6 (RFC 8201) through a real
# router: the path to the peer narrows to the IPv6 minimum MTU, 1280 bytes
# (RFC 8200 §5), on its second hop; the router answers ustcp's full-sized
# packets with ICMPv6 Packet Too Big (RFC 4443 §3.2), and ustcp must send
# smaller segments from then on and complete the transfer intact.
#
#   ustcp fd00:N::2 --tap0 (MTU 1500)-- fd00:N::1 [R] fd00:N:1::1 --veth (MTU 1280)-- fd00:N:1::2 [H]
#
# R is the test's namespace (tap0, ustcp, IPv6 forwarding on); H is a
# second one holding the kernel's nc -6 -l. H advertises an MSS of 1440
# (advmss on its route): by default it would derive 1220 from its own MTU,
# ustcp would never send anything too big, and nothing would be discovered.
# That is the case of a narrow link in the middle of a path, which the MSS
# option cannot see. (IPv6 routers never fragment: RFC 8200 §5.)
#
# ustcp nc -N sends 20 MiB (USTCP_INTEROP_MIB to change) to H twice:
# - with --tso off, ustcp's capture (--pcap) must show full-sized segments,
#   then a Packet Too Big with MTU 1280 from R, and after it only segments
#   of at most 1280 bytes of IP (frames <= 1294);
# - with TSO on, the frames ustcp hands to the TAP are up to 64 KiB and the
#   kernel cuts them at the stack's MSS, which no capture of ustcp's frames
#   shows. R drops every packet whose segments would exceed 1280 bytes, so
#   the transfer completing intact is the proof that the MSS came down; the
#   capture must still show the Packet Too Big, and ustcp's summary of the
#   connection (nc -v) a final MSS that fits.
# Both runs must deliver every byte (sha256) and R must have refused some
# packets as too big for the path (its Ip6InTooBigErrors counter).
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 90 nc head tshark sysctl awk
need_subcommand nc
mib=${USTCP_INTEROP_MIB:-20}
# This test always records ustcp's frames (its checks read them); the logs
# must not suggest rerunning with captures on.
USTCP_INTEROP_PCAP=${USTCP_INTEROP_PCAP:-1}
bytes=$((mib * 1048576))
path_mtu=1280
max_frame=$((path_mtu + 14)) # Ethernet header, no FCS in the capture

# The second hop: a veth pair from R to H, on a /64 of its own.
R=$NS_NAME
H=$NS_NAME-h
hop=${NS_KERNEL_IP6%::1}:1: # fd00:N::1 -> fd00:N:1::
R_VETH_IP6=${hop}:1
H_IP6=${hop}:2
ip netns add "$H" || die "cannot create namespace $H"
ns_track "$H" # deleted on exit with R
# No duplicate address detection on the veth pair: R solicits H from its
# link-local address, which would otherwise stay tentative, holding the
# first packets, for a second or two.
if ! { ip -n "$R" link add vr type veth peer name vh netns "$H" &&
	ip netns exec "$R" sysctl -qw net.ipv6.conf.vr.accept_dad=0 &&
	ip netns exec "$H" sysctl -qw net.ipv6.conf.vh.accept_dad=0 &&
	ip -n "$R" -6 addr add "$R_VETH_IP6/64" dev vr nodad &&
	ip -n "$R" link set vr mtu "$path_mtu" up &&
	ip -n "$H" link set lo up &&
	ip -n "$H" -6 addr add "$H_IP6/64" dev vh nodad &&
	ip -n "$H" link set vh mtu "$path_mtu" up &&
	ip -n "$H" -6 route add default via "$R_VETH_IP6" dev vh advmss 1440 &&
	ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1; }; then
	die "cannot set up the second hop ($R vr $R_VETH_IP6 -- $H vh $H_IP6)"
fi
info "router $R: tap0 $NS_KERNEL_IP6 (MTU 1500), vr $R_VETH_IP6 (MTU $path_mtu); host $H: vh $H_IP6"

head -c "$bytes" /dev/urandom >"$work/in.bin" || die "cannot write $mib MiB to $work"

# R's count of packets it could not forward because they were larger than
# the next hop's MTU (/proc/net/snmp6: a name and a value a line).
too_big() {
	# shellcheck disable=SC2016 # awk's own $
	ip netns exec "$R" awk '$1 == "Ip6InTooBigErrors" { print $2 }' /proc/net/snmp6
}

# One pass of tshark over a capture: a line per frame of IPv6, "number
# length source destination tcp-len icmp-type icmp-code icmp-mtu" ("-" for
# a missing field; for an ICMPv6 error the outer header's fields, as the
# quoted packet's come second).
cap_table() { # cap_table PCAP > TABLE
	# Only the headers: tshark's sequence analysis, reassembly and guesses
	# at what the random payload might be take minutes on some captures.
	tshark -n --disable-protocol ALL --enable-protocol frame,eth,ipv6,icmpv6,tcp \
		-o tcp.analyze_sequence_numbers:FALSE -o tcp.desegment_tcp_streams:FALSE \
		-r "$1" -Y ipv6 -T fields -E occurrence=f -e frame.number -e frame.len \
		-e ipv6.src -e ipv6.dst -e tcp.len -e icmpv6.type -e icmpv6.code -e icmpv6.mtu \
		2>/dev/null | awk -F'\t' -v OFS=' ' '{ for (i = 1; i <= NF; i++) if ($i == "") $i = "-"; print }'
}

# A count (or value) from the table: awk CONDITION and what to print.
# The names: n len src dst tcplen itype icode imtu.
cap_query() { # cap_query TABLE AWK-PROGRAM
	awk -v ustcp="$NS_USTCP_IP6" -v r1="$NS_KERNEL_IP6" -v r2="$R_VETH_IP6" -v host="$H_IP6" "
		{ n = \$1; len = \$2; src = \$3; dst = \$4; tcplen = \$5
		  itype = \$6; icode = \$7; imtu = \$8
		  toobig = itype == 2 && icode == 0 && (src == r1 || src == r2) && dst == ustcp
		  data = src == ustcp && dst == host && itype == \"-\" && tcplen > 0 }
		$2" "$1"
}

# run TSO PORT: ustcp nc -N in R -> the kernel's nc -6 -l in H; sets $pcap,
# $table and $first (the frame number of the first Packet Too Big, or empty).
run() {
	local tso=$1 port=$2 urc krc t0 ms before
	before=$(too_big)
	pcap=$work/unc-tso-$tso.pcap
	ns_bg "$H" 40 /dev/null "$work/out-$tso.bin" "$work/knc-tso-$tso.err" \
		nc -6 -l "$H_IP6" "$port"
	KERNEL_PID=$NS_BG_PID
	ns_wait_listen "$H" "$port" 10 || die "the kernel's nc -6 -l in $H did not listen on $port"
	ustcp_net
	local cmd=("$ustcp" nc "${USTCP_NET[@]}" --gw "$NS_KERNEL_IP6" --pcap "$pcap" --tso "$tso"
		-v -N "$H_IP6" "$port")
	echo "+ ${cmd[*]}" >"$work/unc-tso-$tso.cmd"
	t0=$(now_ms)
	ns_bg "$R" 40 "$work/in.bin" "$work/unc-tso-$tso.out" "$work/unc-tso-$tso.err" "${cmd[@]}"
	USTCP_PID=$NS_BG_PID
	ns_wait_pid "$USTCP_PID" 25
	urc=$?
	ns_wait_pid "$KERNEL_PID" 5
	krc=$?
	ms=$(($(now_ms) - t0))
	# A stalled transfer: on TERM, ustcp still prints (-v) its device and drop
	# counters to its log, which is kept with the captures.
	[[ $urc == 124 ]] && ustcp_stop "$USTCP_PID"
	[[ $krc == 124 ]] && kill "$KERNEL_PID" 2>/dev/null
	check "tso $tso: ustcp nc -N $H_IP6 $port (via $NS_KERNEL_IP6) exits 0 (rc $urc)" \
		test "$urc" -eq 0
	check "tso $tso: the kernel's nc -6 -l in $H sees EOF and exits 0 (rc $krc)" test "$krc" -eq 0
	check "tso $tso: $mib MiB arrive intact across the narrower hop (sha256)" \
		same_data "$work/in.bin" "$work/out-$tso.bin"
	info "tso $tso: $bytes bytes in $ms ms, $(mbps "$bytes" "$ms") MB/s"
	rm -f "$work/out-$tso.bin"

	# ustcp's summary (-v) of the connection gives its final MSS: with the
	# IPv6 (40) and TCP (20) headers it must fit the path.
	local mss
	mss=$(sed -n 's/.* sent .*, mss \([0-9]*\)$/\1/p' "$work/unc-tso-$tso.err" | tail -n 1)
	check "tso $tso: ustcp's final MSS fits the path: ${mss:-none} + 60 <= $path_mtu" \
		test "${mss:-99999}" -le $((path_mtu - 60))

	local refused=$(($(too_big) - before))
	check "tso $tso: $R refused packets too big for the $path_mtu-byte hop ($refused, Ip6InTooBigErrors)" \
		test "$refused" -gt 0

	# The Packet Too Big messages from R, as ustcp received them.
	table=$work/unc-tso-$tso.frames
	cap_table "$pcap" >"$table"
	local mtus
	first=$(cap_query "$table" 'toobig { print n; exit }')
	mtus=$(cap_query "$table" 'toobig { print imtu }' | sort -u | paste -sd,)
	check "tso $tso: ustcp received ICMPv6 Packet Too Big from $R (MTU ${mtus:-none})" \
		test "$mtus" == "$path_mtu"
	[[ -n "$first" ]] || return 0
	info "tso $tso: $(cap_query "$table" 'toobig { c++ } END { print c + 0 }') such" \
		"message(s), the first is frame $first of $(wc -l <"$table")"
}

run off 5001
if [[ -n "$first" ]]; then
	big_before=$(cap_query "$table" "data && n < $first && len > $max_frame { c++ } END { print c + 0 }")
	big_after=$(cap_query "$table" "data && n > $first && len > $max_frame { c++ } END { print c + 0 }")
	small_after=$(cap_query "$table" "data && n > $first && len <= $max_frame { c++ } END { print c + 0 }")
	largest_after=$(cap_query "$table" "data && n > $first && len > m { m = len } END { print m + 0 }")
	check "tso off: before the Packet Too Big, ustcp sent segments larger than $max_frame bytes ($big_before)" \
		test "$big_before" -gt 0
	check "tso off: after the Packet Too Big, no data segment larger than $max_frame bytes \
($big_after of $((big_after + small_after)), the largest $largest_after)" test "$big_after" -eq 0
	check "tso off: after the Packet Too Big, the data went on in segments of at most $max_frame \
bytes ($small_after)" test "$small_after" -gt 0
fi

run on 5002

interop_finish
