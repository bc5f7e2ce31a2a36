#!/bin/bash
# pmtu.sh USTCP — path MTU discovery (RFC 1191) through a real router: the
# path to the peer narrows on its second hop, the router answers ustcp's
# full-sized DF segments with ICMP "fragmentation needed", and ustcp must
# send smaller segments from then on and complete the transfer intact.
#
#   ustcp 10.A.B.2 --tap0 (MTU 1500)-- 10.A.B.1 [R] 10.A.C.1 --veth (MTU 1200)-- 10.A.C.2 [H]
#
# R is the test's namespace (tap0, ustcp, forwarding on); H is a second one
# holding the kernel's nc -l. H advertises an MSS of 1460 (advmss on its
# route): by default it would derive 1160 from its own MTU, ustcp would
# never send anything too big, and nothing would be discovered. That is the
# case of a narrow link in the middle of a path, which the MSS option
# cannot see.
#
# ustcp nc -N sends 20 MiB (USTCP_INTEROP_MIB to change) to H twice:
# - with --tso off, ustcp's capture (--pcap) must show full-sized DF
#   segments, then an ICMP type 3 code 4 with next-hop MTU 1200 from R, and
#   after it only segments of at most 1200 bytes of IP (frames <= 1214);
# - with TSO on, the frames ustcp hands to the TAP are up to 64 KiB and the
#   kernel cuts them at the stack's MSS (the vnet header's gso_size), which
#   no capture of ustcp's frames shows. R drops every packet whose segments
#   would exceed 1200 bytes, so the transfer completing intact is the proof
#   that the MSS came down; the capture must still show the ICMP, and
#   ustcp's summary of the connection (nc -v) a final MSS that fits.
# Both runs must deliver every byte (sha256) and R must have refused some
# packets as too big for the path (its IpFragFails counter).
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
interop_setup 60 nc head tshark sysctl awk
need_subcommand nc
mib=${USTCP_INTEROP_MIB:-20}
# This test always records ustcp's frames (its checks read them); the logs
# must not suggest rerunning with captures on.
USTCP_INTEROP_PCAP=${USTCP_INTEROP_PCAP:-1}
bytes=$((mib * 1048576))
path_mtu=1200
max_frame=$((path_mtu + 14)) # Ethernet header, no FCS in the capture

# The second hop: a veth pair from R to H, on a /24 of its own.
R=$NS_NAME
H=$NS_NAME-h
IFS=. read -r _ sub_a sub_b _ <<<"$NS_KERNEL_IP"
hop=10.$sub_a.$(((sub_b + 128) % 256))
R_VETH_IP=$hop.1
H_IP=$hop.2
ip netns add "$H" || die "cannot create namespace $H"
ns_track "$H" # deleted on exit with R
if ! { ip -n "$R" link add vr type veth peer name vh netns "$H" &&
	ip -n "$R" addr add "$R_VETH_IP/24" dev vr &&
	ip -n "$R" link set vr mtu "$path_mtu" up &&
	ip -n "$H" link set lo up &&
	ip -n "$H" addr add "$H_IP/24" dev vh &&
	ip -n "$H" link set vh mtu "$path_mtu" up &&
	ip -n "$H" route add default via "$R_VETH_IP" advmss 1460 &&
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1; }; then
	die "cannot set up the second hop ($R vr $R_VETH_IP -- $H vh $H_IP)"
fi
info "router $R: tap0 $NS_KERNEL_IP (MTU 1500), vr $R_VETH_IP (MTU $path_mtu); host $H: vh $H_IP"

head -c "$bytes" /dev/urandom >"$work/in.bin" || die "cannot write $mib MiB to $work"

# R's count of packets it could not forward because DF forbade fragmenting.
# (/proc/net/snmp: a line of names, then a line of values.)
frag_fails() {
	# shellcheck disable=SC2016 # awk's own $
	ip netns exec "$R" awk '$1 == "Ip:" && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
		$1 == "Ip:" { print $col["FragFails"] }' /proc/net/snmp
}

# One pass of tshark over a capture: a line per frame of ustcp's own IPv4
# traffic and of ICMP errors, "number length source destination df tcp-len
# icmp-type icmp-code icmp-mtu" ("-" for a missing field; for an ICMP error
# the outer header's fields, as the quoted packet's come second).
cap_table() { # cap_table PCAP > TABLE
	# Only the headers: tshark's sequence analysis, reassembly and guesses
	# at what the random payload might be take minutes on some captures.
	tshark -n --disable-protocol ALL --enable-protocol frame,eth,ip,icmp,tcp \
		-o tcp.analyze_sequence_numbers:FALSE -o tcp.desegment_tcp_streams:FALSE \
		-r "$1" -Y ip -T fields -E occurrence=f -e frame.number -e frame.len \
		-e ip.src -e ip.dst -e ip.flags.df -e tcp.len -e icmp.type -e icmp.code -e icmp.mtu \
		2>/dev/null | awk -F'\t' -v OFS=' ' '{ for (i = 1; i <= NF; i++) if ($i == "") $i = "-"; print }'
}

# A count (or value) from the table: awk CONDITION and what to print.
# The names: n len src dst df tcplen itype icode imtu.
cap_query() { # cap_query TABLE AWK-PROGRAM
	awk -v ustcp="$NS_USTCP_IP" -v router="$NS_KERNEL_IP" -v host="$H_IP" "
		{ n = \$1; len = \$2; src = \$3; dst = \$4; df = \$5; tcplen = \$6
		  itype = \$7; icode = \$8; imtu = \$9
		  fragneeded = itype == 3 && icode == 4 && src == router && dst == ustcp
		  data = src == ustcp && dst == host && itype == \"-\" && tcplen > 0 }
		$2" "$1"
}

# run TSO PORT: ustcp nc -N in R -> the kernel's nc -l in H; sets $pcap and
# $first (the frame number of the first ICMP error in it, or empty).
run() {
	local tso=$1 port=$2 urc krc t0 ms fails0
	fails0=$(frag_fails)
	pcap=$work/unc-tso-$tso.pcap
	ns_bg "$H" 40 /dev/null "$work/out-$tso.bin" "$work/knc-tso-$tso.err" nc -l "$H_IP" "$port"
	KERNEL_PID=$NS_BG_PID
	ns_wait_listen "$H" "$port" 10 || die "the kernel's nc -l in $H did not listen on $port"
	echo "+ ustcp nc --tap $NS_TAP --ip $NS_USTCP_IP/$NS_PREFIX --gw $NS_KERNEL_IP" \
		"--pcap $pcap --tso $tso -v -N $H_IP $port" >"$work/unc-tso-$tso.cmd"
	t0=$(now_ms)
	ns_bg "$R" 40 "$work/in.bin" "$work/unc-tso-$tso.out" "$work/unc-tso-$tso.err" \
		"$ustcp" nc --tap "$NS_TAP" --ip "$NS_USTCP_IP/$NS_PREFIX" --gw "$NS_KERNEL_IP" \
		--pcap "$pcap" --tso "$tso" -v -N "$H_IP" "$port"
	USTCP_PID=$NS_BG_PID
	ns_wait_pid "$USTCP_PID" 15
	urc=$?
	ns_wait_pid "$KERNEL_PID" 5
	krc=$?
	ms=$(($(now_ms) - t0))
	# A stalled transfer: on TERM, ustcp still prints (-v) its device and drop
	# counters to its log, which is kept with the captures.
	[[ $urc == 124 ]] && ustcp_stop "$USTCP_PID"
	[[ $krc == 124 ]] && kill "$KERNEL_PID" 2>/dev/null
	check "tso $tso: ustcp nc -N $H_IP $port (via $NS_KERNEL_IP) exits 0 (rc $urc)" test "$urc" -eq 0
	check "tso $tso: the kernel's nc -l in $H sees EOF and exits 0 (rc $krc)" test "$krc" -eq 0
	check "tso $tso: $mib MiB arrive intact across the narrower hop (sha256)" \
		same_data "$work/in.bin" "$work/out-$tso.bin"
	info "tso $tso: $bytes bytes in $ms ms, $(mbps "$bytes" "$ms") MB/s"
	rm -f "$work/out-$tso.bin"

	# ustcp's summary (-v) of the connection gives its final MSS, which is
	# also the gso_size of what it hands the TAP with TSO on.
	local mss
	mss=$(sed -n 's/.* sent .*, mss \([0-9]*\)$/\1/p' "$work/unc-tso-$tso.err" | tail -n 1)
	check "tso $tso: ustcp's final MSS fits the path: ${mss:-none} + 40 <= $path_mtu" \
		test "${mss:-99999}" -le $((path_mtu - 40))

	local refused=$(($(frag_fails) - fails0))
	check "tso $tso: $R refused packets too big for the $path_mtu-byte hop ($refused, IpFragFails)" \
		test "$refused" -gt 0

	# The ICMP errors from R, as ustcp received them.
	table=$work/unc-tso-$tso.frames
	cap_table "$pcap" >"$table"
	local mtus
	first=$(cap_query "$table" 'fragneeded { print n; exit }')
	mtus=$(cap_query "$table" 'fragneeded { print imtu }' | sort -u | paste -sd,)
	check "tso $tso: ustcp received ICMP fragmentation needed from $NS_KERNEL_IP \
(next-hop MTU ${mtus:-none})" test "$mtus" == "$path_mtu"
	[[ -n "$first" ]] || return 0
	info "tso $tso: $(cap_query "$table" 'fragneeded { c++ } END { print c + 0 }') such ICMP" \
		"message(s), the first is frame $first of $(wc -l <"$table")"
}

run off 5001
if [[ -n "$first" ]]; then
	big_before=$(cap_query "$table" "data && df == 1 && n < $first && len > $max_frame { c++ }
		END { print c + 0 }")
	big_after=$(cap_query "$table" "data && n > $first && len > $max_frame { c++ } END { print c + 0 }")
	small_after=$(cap_query "$table" "data && n > $first && len <= $max_frame { c++ } END { print c + 0 }")
	largest_after=$(cap_query "$table" "data && n > $first && len > m { m = len } END { print m + 0 }")
	check "tso off: before the ICMP, ustcp sent DF segments larger than $max_frame bytes ($big_before)" \
		test "$big_before" -gt 0
	check "tso off: after the ICMP, no data segment larger than $max_frame bytes \
($big_after of $((big_after + small_after)), the largest $largest_after)" test "$big_after" -eq 0
	check "tso off: after the ICMP, the data went on in segments of at most $max_frame bytes \
($small_after)" test "$small_after" -gt 0
fi

run on 5002

interop_finish
