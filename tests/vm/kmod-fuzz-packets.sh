#!/usr/bin/env bash
# Hostile IP-in-IP on the underlay (tests/lib/pktfuzz.py): a third machine
# on the underlay injects malformed packets at host h1 through an AF_PACKET
# socket, with any outer header: truncated and bogus inner headers, outer
# and inner fragments, ICMP errors about packets h1 sent (outside, and
# inside IP-in-IP), spoofed inner sources, broadcast and multicast, MPLS in
# IP, IP options, TTL 0 and 1, nesting, noise. They hit tunl0 (fan
# 250.0.0.0/8 on 172.30.0.0/16) and fan1, a fan device that carries any
# protocol (fan 251.0.0.0/8 on 172.31.0.0/16).
#
# Afterwards: the fan still carries a ping both ways between containers on
# h1 and h2, and h1's counters agree with what was sent: each device's
# rx_frame_errors grew by at least the spoofed packets with valid headers
# sent to it, rx_packets by at least the valid ones, and rx_frame_errors
# by no more than the IP-in-IP layers sent in all.
#
#   FAN_FUZZ_COUNT   packets (default 100000: 2.5 to 4 minutes in the VM)
#   FAN_FUZZ_SEED    the seed (default: random, printed for a replay)
#
# The harness fails the run on any oops, KASAN or kmemleak report.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

count=${FAN_FUZZ_COUNT:-100000}
seed=${FAN_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
work=$(mktemp -d)
trap '_fan_cleanup; rm -rf "$work"' EXIT

fan_module_load
map=250.0.0.0/8:172.30.0.0/16
underlay_create 1500
for h in 1 2; do
	host_add h$h 172.30.0.$h/16
	on h$h ip addr add 172.31.0.$h/16 dev eth0
	fan_host_up h$h $map 250.0.$h.1/24
	container_add h$h c$h br0 250.0.$h.2/24 250.0.$h.1
done
# fan1 on h1: a second fan device, one that takes any protocol (MPLS too).
on h1 python3 - "$FAN_LIB" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import fannl as f
IFLA_IPTUN_PROTO = 9
data = f.attr(f.IFLA_IPTUN_LOCAL, f.socket.inet_aton("172.31.0.1"))
data += f.attr(IFLA_IPTUN_PROTO, b"\0")
data += f.fan_attrs([("--map", "251.0.0.0/8:172.31.0.0/16")], True)
linkinfo = f.attr(f.IFLA_INFO_KIND, b"ipip\0") + f.attr(f.IFLA_INFO_DATA | f.NLA_F_NESTED, data)
body = f.ifinfo() + f.attr(f.IFLA_IFNAME, b"fan1\0")
body += f.attr(f.IFLA_LINKINFO | f.NLA_F_NESTED, linkinfo)
f.read_reply(f.request(f.RTM_NEWLINK, f.NLM_F_ACK | f.NLM_F_CREATE | f.NLM_F_EXCL, body))
EOF
on h1 ip link set fan1 up
expect_match "fan1" "$(on h1 ip -d link show fan1)" "ipip any remote any local 172.31.0.1"
expect_eq "fan1 maps" "$(on h1 python3 "$FAN_LIB/fannl.py" dump fan1)" 251.0.0.0/8:172.31.0.0/16
on h1 sysctl -qw net.mpls.platform_labels=100 net.mpls.conf.fan1.input=1

# The injector: on the underlay, no address of its own.
_fan_ns_add fan-inj
ip link add eth0 netns fan-inj type veth peer name inj netns "$FAN_UNDERLAY_NS"
ip -n "$FAN_UNDERLAY_NS" link set inj master br0 up
on inj ip link set eth0 up

# The fan works before (and h1 has sent IP-in-IP for the ICMP errors to be about).
on c1 ping -c 2 -i 0.2 -W 5 250.0.2.2 >/dev/null
on c2 ping -c 2 -i 0.2 -W 5 250.0.1.2 >/dev/null

snapshot() { # snapshot FILE: h1's counters of both devices, and softnet drops
	{
		for dev in tunl0 fan1; do
			for c in rx_packets rx_errors rx_frame_errors; do
				echo "$dev.$c $(link_stat h1 $dev $c)"
			done
		done
		# Backlog drops (all CPUs, the whole VM): a packet dropped there
		# never reached h1's fan devices.
		local dropped=0 line
		while read -r -a line; do
			dropped=$((dropped + 0x${line[1]}))
		done </proc/net/softnet_stat
		echo "softnet_dropped $dropped"
		# h1's ICMP input: the errors its tunnels' handler is given.
		on h1 awk '$1 == "Icmp:" {
			if (!seen) { for (i = 2; i <= NF; i++) names[i] = $i; seen = 1 }
			else { for (i = 2; i <= NF; i++) print "icmp." names[i], $i }
		}' /proc/net/snmp
	} >"$1"
}
get() { awk -v k="$2" '$1 == k {print $2}' "$1"; }

h1_mac=$(on h1 cat /sys/class/net/eth0/address)
pktfuzz() { on inj python3 "$FAN_LIB/pktfuzz.py" --iface eth0 --dst-mac "$h1_mac" "$@"; }
delta() { echo $(($(get "$work/after" "$1") - $(get "$work/before" "$1"))); }
sent() { get "$work/sent" "$1" | grep . || echo 0; }

# First the counters are checked against spoofed packets alone: with
# validate_source=1 each is one frame error, exactly; with 0 none is, and
# each is a received packet. (So the checks after the fuzz can fail.)
for validate in 1 0; do
	on h1 sysctl -qw net.fan.validate_source=$validate
	snapshot "$work/before"
	pktfuzz --seed "$seed" --count 300 --kinds spoofed --counts "$work/sent" >/dev/null
	sleep 1
	snapshot "$work/after"
	for dev in tunl0 fan1; do
		spoofed=$(sent spoofed_valid_$dev)
		expect_ge "spoofed packets for $dev in the calibration" "$spoofed" 1
		if [ $validate = 1 ]; then
			expect_eq "validate_source=1: $dev rx_frame_errors growth" \
				"$(delta $dev.rx_frame_errors)" "$spoofed"
		else
			expect_eq "validate_source=0: $dev rx_frame_errors growth" \
				"$(delta $dev.rx_frame_errors)" 0
			expect_eq "validate_source=0: $dev rx_packets growth" \
				"$(delta $dev.rx_packets)" "$spoofed"
		fi
	done
done
on h1 sysctl -qw net.fan.validate_source=1

snapshot "$work/before"
start=$(date +%s)
pktfuzz --seed "$seed" --count "$count" --counts "$work/sent"
# Let h1 finish with the backlog and the fragment queues it can.
sleep 2
snapshot "$work/after"
echo "measure: packet fuzz run time $(($(date +%s) - start)) s"
dropped=$(delta softnet_dropped)
echo "measure: backlog drops during the fuzz: $dropped"
for dev in tunl0 fan1; do
	echo "measure: h1 $dev: rx_packets +$(delta $dev.rx_packets)," \
		"rx_errors +$(delta $dev.rx_errors), rx_frame_errors +$(delta $dev.rx_frame_errors);" \
		"sent valid $(sent valid_$dev), spoofed with valid headers $(sent spoofed_valid_$dev)"
	expect_ge "h1 $dev rx_frame_errors growth (spoofed packets with valid headers)" \
		"$(delta $dev.rx_frame_errors)" $(($(sent spoofed_valid_$dev) - dropped))
	expect_ge "h1 $dev rx_packets growth (valid packets)" \
		"$(delta $dev.rx_packets)" $(($(sent valid_$dev) - dropped))
	expect_ge "h1 $dev rx_errors growth (at least its frame errors)" \
		"$(delta $dev.rx_errors)" "$(delta $dev.rx_frame_errors)"
done
echo "measure: h1 ICMP in: $(delta icmp.InMsgs) messages, $(delta icmp.InDestUnreachs)" \
	"unreachable, $(delta icmp.InRedirects) redirects, $(delta icmp.InTimeExcds) time exceeded;" \
	"route exceptions (PMTU, redirects) now: $(on h1 ip -o route show cache | wc -l)"
frame_errors=$(($(delta tunl0.rx_frame_errors) + $(delta fan1.rx_frame_errors)))
expect_ge "IP-in-IP layers sent (an upper bound on the frame errors)" \
	"$(sent ipip_layers_max)" "$frame_errors"

# The fan still works, both ways, and h1 still checks sources.
on c1 ping -c 3 -i 0.2 -W 5 250.0.2.2 >/dev/null
on c2 ping -c 3 -i 0.2 -W 5 250.0.1.2 >/dev/null
expect_eq "validate_source on h1" "$(on h1 sysctl -n net.fan.validate_source)" 1
