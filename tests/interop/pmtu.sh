#!/bin/bash
# pmtu.sh USTCP — path MTU discovery through a real router, over IPv4 (RFC
# 1191; pmtu6.sh runs it over IPv6, RFC 8201): the path to the peer narrows
# on its second hop, the router answers ustcp's full-sized packets with an
# ICMP error (IPv4: "fragmentation needed", as ustcp sets DF; IPv6: "packet
# too big", routers never fragment, RFC 8200 §5), and ustcp must send
# smaller segments from then on and complete the transfer intact.
#
#   IPv4: ustcp 10.A.B.2 --tap0 (MTU 1500)-- 10.A.B.1 [R] 10.A.C.1 --veth (MTU 1200)-- 10.A.C.2 [H]
#   IPv6: ustcp fd00:N::2 --tap0 (MTU 1500)-- fd00:N::1 [R] fd00:N:1::1 --veth (MTU 1280)-- fd00:N:1::2 [H]
#
# R is the test's namespace (tap0, ustcp, forwarding on); H is a second one
# holding the kernel's nc -l. H advertises a full-sized MSS (advmss on its
# route): by default it would derive one from its own MTU, ustcp would
# never send anything too big, and nothing would be discovered. That is the
# case of a narrow link in the middle of a path, which the MSS option
# cannot see. Over IPv6 the narrow hop has the minimum MTU, 1280 bytes.
#
# ustcp nc -N sends 20 MiB (USTCP_INTEROP_MIB to change) to H twice:
# - with --tso off, ustcp's capture (--pcap) must show full-sized segments
#   (with DF over IPv4), then the ICMP error with the narrow hop's MTU from
#   R, and after it only segments that fit that MTU;
# - with TSO on, the frames ustcp hands to the TAP are up to 64 KiB and the
#   kernel cuts them at the stack's MSS (the vnet header's gso_size), which
#   no capture of ustcp's frames shows. R drops every packet whose segments
#   would exceed the narrow MTU, so the transfer completing intact is the
#   proof that the MSS came down; the capture must still show the ICMP
#   error, and ustcp's summary of the connection (nc -v) a final MSS that fits.
# Both runs must deliver every byte (sha256) and R must have refused some
# packets as too big for the path (its IpFragFails or Ip6InTooBigErrors).
set -u
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
v6=0
[[ "${PMTU_FAMILY:-4}" == 6 ]] && v6=1
interop_setup 90 nc head tshark sysctl awk
need_subcommand nc
mib=${USTCP_INTEROP_MIB:-20}
# This test always records ustcp's frames (its checks read them); the logs
# must not suggest rerunning with captures on.
USTCP_INTEROP_PCAP=${USTCP_INTEROP_PCAP:-1}
bytes=$((mib * 1048576))
R=$NS_NAME
H=$NS_NAME-h
ip netns add "$H" || die "cannot create namespace $H"
ns_track "$H" # deleted on exit with R

# The second hop: a veth pair from R to H, on a subnet of its own.
if ((v6)); then
	path_mtu=1280
	ip_hlen=40
	icmp_name="ICMPv6 packet too big"
	hop=${NS_KERNEL_IP6%::1}:1: # fd00:N::1 -> fd00:N:1::
	R_VETH_IP=${hop}:1
	H_IP=${hop}:2
	ROUTER_IP=$NS_KERNEL_IP6
	USTCP_IP=$NS_USTCP_IP6
	NC_FAMILY=-6
	# No duplicate address detection on the veth pair: R solicits H from
	# its link-local address, which would otherwise stay tentative,
	# holding the first packets, for a second or two.
	setup_hop() {
		ip netns exec "$R" sysctl -qw net.ipv6.conf.vr.accept_dad=0 &&
			ip netns exec "$H" sysctl -qw net.ipv6.conf.vh.accept_dad=0 &&
			ip -n "$R" -6 addr add "$R_VETH_IP/64" dev vr nodad &&
			ip -n "$H" -6 addr add "$H_IP/64" dev vh nodad &&
			ip -n "$R" link set vr mtu "$path_mtu" up &&
			ip -n "$H" link set vh mtu "$path_mtu" up &&
			ip -n "$H" -6 route add default via "$R_VETH_IP" dev vh advmss 1440 &&
			ip netns exec "$R" sysctl -qw net.ipv6.conf.all.forwarding=1
	}
	# R's count of packets larger than the next hop's MTU (/proc/net/snmp6:
	# a name and a value a line).
	refused_count() {
		# shellcheck disable=SC2016 # awk's own $
		ip netns exec "$R" awk '$1 == "Ip6InTooBigErrors" { print $2 }' /proc/net/snmp6
	}
	refused_name=Ip6InTooBigErrors
	tshark_ip=(-Y ipv6 -e ipv6.src -e ipv6.dst -e frame.len -e tcp.len -e icmpv6.type
		-e icmpv6.code -e icmpv6.mtu)
	protos=frame,eth,ipv6,icmpv6,tcp
	# The router answers from either of its addresses.
	icmp_cond='itype == 2 && icode == 0 && (src == router || src == r2) && dst == ustcp'
	df_cond=1 # no DF bit in IPv6: every packet is "don't fragment"
else
	path_mtu=1200
	ip_hlen=20
	icmp_name="ICMP fragmentation needed"
	IFS=. read -r _ sub_a sub_b _ <<<"$NS_KERNEL_IP"
	hop=10.$sub_a.$(((sub_b + 128) % 256))
	R_VETH_IP=$hop.1
	H_IP=$hop.2
	ROUTER_IP=$NS_KERNEL_IP
	USTCP_IP=$NS_USTCP_IP
	NC_FAMILY=-4
	setup_hop() {
		ip -n "$R" addr add "$R_VETH_IP/24" dev vr &&
			ip -n "$H" addr add "$H_IP/24" dev vh &&
			ip -n "$R" link set vr mtu "$path_mtu" up &&
			ip -n "$H" link set vh mtu "$path_mtu" up &&
			ip -n "$H" route add default via "$R_VETH_IP" advmss 1460 &&
			ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
	}
	# R's count of packets it could not forward because DF forbade
	# fragmenting (/proc/net/snmp: a line of names, then a line of values).
	refused_count() {
		# shellcheck disable=SC2016 # awk's own $
		ip netns exec "$R" awk '$1 == "Ip:" && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
			$1 == "Ip:" { print $col["FragFails"] }' /proc/net/snmp
	}
	refused_name=IpFragFails
	tshark_ip=(-Y ip -e ip.src -e ip.dst -e frame.len -e tcp.len -e icmp.type -e icmp.code
		-e icmp.mtu -e ip.flags.df)
	protos=frame,eth,ip,icmp,tcp
	icmp_cond='itype == 3 && icode == 4 && src == router && dst == ustcp'
	df_cond='df == 1'
fi
max_frame=$((path_mtu + 14)) # Ethernet header, no FCS in the capture
if ! { ip -n "$R" link add vr type veth peer name vh netns "$H" &&
	ip -n "$H" link set lo up && setup_hop; }; then
	die "cannot set up the second hop ($R vr $R_VETH_IP -- $H vh $H_IP)"
fi
info "router $R: tap0 $ROUTER_IP (MTU 1500), vr $R_VETH_IP (MTU $path_mtu); host $H: vh $H_IP"

head -c "$bytes" /dev/urandom >"$work/in.bin" || die "cannot write $mib MiB to $work"

# One pass of tshark over a capture: a line per IP frame, "number source
# destination length tcp-len icmp-type icmp-code icmp-mtu [df]" ("-" for a
# missing field; for an ICMP error the outer header's fields, as the quoted
# packet's come second).
cap_table() { # cap_table PCAP > TABLE
	# Only the headers: tshark's sequence analysis, reassembly and guesses
	# at what the random payload might be take minutes on some captures.
	tshark -n --disable-protocol ALL --enable-protocol "$protos" \
		-o tcp.analyze_sequence_numbers:FALSE -o tcp.desegment_tcp_streams:FALSE \
		-r "$1" -T fields -E occurrence=f -e frame.number "${tshark_ip[@]}" \
		2>/dev/null | awk -F'\t' -v OFS=' ' '{ for (i = 1; i <= NF; i++) if ($i == "") $i = "-"; print }'
}

# A count (or value) from the table: awk CONDITION and what to print.
# The names: n src dst len tcplen itype icode imtu df; icmp (the error from
# R to ustcp) and data (ustcp's data segments to H).
cap_query() { # cap_query TABLE AWK-PROGRAM
	awk -v ustcp="$USTCP_IP" -v router="$ROUTER_IP" -v r2="$R_VETH_IP" -v host="$H_IP" "
		{ n = \$1; src = \$2; dst = \$3; len = \$4; tcplen = \$5
		  itype = \$6; icode = \$7; imtu = \$8; df = \$9
		  icmp = $icmp_cond
		  data = src == ustcp && dst == host && itype == \"-\" && tcplen > 0 }
		$2" "$1"
}

# run TSO PORT: ustcp nc -N in R -> the kernel's nc -l in H; sets $pcap,
# $table and $first (the frame number of the first ICMP error, or empty).
run() {
	local tso=$1 port=$2 urc krc t0 ms before
	before=$(refused_count)
	pcap=$work/unc-tso-$tso.pcap
	ns_bg "$H" 40 /dev/null "$work/out-$tso.bin" "$work/knc-tso-$tso.err" \
		nc "$NC_FAMILY" -l "$H_IP" "$port"
	KERNEL_PID=$NS_BG_PID
	ns_wait_listen "$H" "$port" 10 || die "the kernel's nc -l in $H did not listen on $port"
	ustcp_net
	local cmd=("$ustcp" nc "${USTCP_NET[@]}" --gw "$ROUTER_IP" --pcap "$pcap" --tso "$tso"
		-v -N "$H_IP" "$port")
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
	check "tso $tso: ustcp nc -N $H_IP $port (via $ROUTER_IP) exits 0 (rc $urc)" test "$urc" -eq 0
	check "tso $tso: the kernel's nc -l in $H sees EOF and exits 0 (rc $krc)" test "$krc" -eq 0
	check "tso $tso: $mib MiB arrive intact across the narrower hop (sha256)" \
		same_data "$work/in.bin" "$work/out-$tso.bin"
	info "tso $tso: $bytes bytes in $ms ms, $(mbps "$bytes" "$ms") MB/s"
	rm -f "$work/out-$tso.bin"

	# ustcp's summary (-v) of the connection gives its final MSS, which is
	# also the gso_size of what it hands the TAP with TSO on; with the IP
	# and TCP headers it must fit the path.
	local mss hl=$((ip_hlen + 20))
	mss=$(sed -n 's/.* sent .*, mss \([0-9]*\)$/\1/p' "$work/unc-tso-$tso.err" | tail -n 1)
	check "tso $tso: ustcp's final MSS fits the path: ${mss:-none} + $hl <= $path_mtu" \
		test "${mss:-99999}" -le $((path_mtu - hl))

	local refused=$(($(refused_count) - before))
	check "tso $tso: $R refused packets too big for the $path_mtu-byte hop ($refused, $refused_name)" \
		test "$refused" -gt 0

	# The ICMP errors from R, as ustcp received them.
	table=$work/unc-tso-$tso.frames
	cap_table "$pcap" >"$table"
	local mtus
	first=$(cap_query "$table" 'icmp { print n; exit }')
	mtus=$(cap_query "$table" 'icmp { print imtu }' | sort -u | paste -sd,)
	check "tso $tso: ustcp received $icmp_name from $R (MTU ${mtus:-none})" \
		test "$mtus" == "$path_mtu"
	[[ -n "$first" ]] || return 0
	info "tso $tso: $(cap_query "$table" 'icmp { c++ } END { print c + 0 }') such" \
		"message(s), the first is frame $first of $(wc -l <"$table")"
}

run off 5001
if [[ -n "$first" ]]; then
	big_before=$(cap_query "$table" "data && $df_cond && n < $first && len > $max_frame { c++ }
		END { print c + 0 }")
	big_after=$(cap_query "$table" "data && n > $first && len > $max_frame { c++ } END { print c + 0 }")
	small_after=$(cap_query "$table" "data && n > $first && len <= $max_frame { c++ } END { print c + 0 }")
	largest_after=$(cap_query "$table" "data && n > $first && len > m { m = len } END { print m + 0 }")
	check "tso off: before the $icmp_name, ustcp sent (DF) segments larger than $max_frame bytes \
($big_before)" test "$big_before" -gt 0
	check "tso off: after it, no data segment larger than $max_frame bytes \
($big_after of $((big_after + small_after)), the largest $largest_after)" test "$big_after" -eq 0
	check "tso off: after it, the data went on in segments of at most $max_frame bytes \
($small_after)" test "$small_after" -gt 0
fi

run on 5002

interop_finish
