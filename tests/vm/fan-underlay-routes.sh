#!/usr/bin/env bash
# A fan device remembers, per CPU, its route to each peer (kmod/route.rs),
# so whatever changes the underlay's routing must still take effect from
# the next packet: a blackhole route (tx_carrier_errors), a route back
# into the tunnel (collisions), a route with a smaller MTU (ICMP
# "fragmentation needed" to the container, tx_errors), a path MTU learned
# from an ICMP error about the tunnel's own packets; and the path must come
# back when they are gone. Each case starts with the route remembered.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
underlay_create 9001
host_add h27 172.30.0.27/16
host_add h28 172.30.0.28/16
fan_host_up h27 250.0.0.0/8:172.30.0.0/16 250.0.27.1/24
fan_host_up h28 250.0.0.0/8:172.30.0.0/16 250.0.28.1/24
for h in 27 28; do # the underlay's 9001 bytes, less the outer header
	on h$h ip link set tunl0 mtu 8981
	on h$h ip link set br0 mtu 8981
done
container_add h27 c27 br0 250.0.27.2/24 250.0.27.1
container_add h28 c28 br0 250.0.28.2/24 250.0.28.1

# ping_df SIZE: one ping from c27 to c28 with SIZE bytes of data and DF set
ping_df() {
	on c27 ping -M do -c 1 -W 2 -s "$1" 250.0.28.2 2>&1 || true
}
# works WHAT: the path works with full-size packets (and h27 remembers it)
works() {
	expect_match "$1: ping" "$(on c27 ping -c 3 -i 0.2 -W 3 250.0.28.2 2>&1 || true)" ' 3 received'
	expect_match "$1: 8000 bytes with DF" "$(ping_df 8000)" ' 1 received'
}
lost() { # lost WHAT: three pings from c27 to c28 go unanswered
	local out
	out=$(on c27 ping -c 3 -i 0.2 -W 1 250.0.28.2 2>&1 || true)
	expect_match "$1: ping" "$out" ' 0 received'
}
forget_pmtu() { # what the hosts learned about path MTUs, gone
	on c27 ip route flush cache
	on h27 ip route flush cache
}

works "at the start"

# A blackhole route to the peer: every packet fails its route lookup.
on h27 ip route add blackhole 172.30.0.28/32
stats_snapshot h27 tunl0
lost "blackhole"
expect_delta "blackhole" tx_carrier_errors 3
expect_delta "blackhole" tx_errors 3
expect_delta "blackhole" tx_packets 0
on h27 ip route del blackhole 172.30.0.28/32
works "blackhole removed"

# A route to the peer through the tunnel itself: refused, not looped.
on h27 ip route add 172.30.0.28/32 dev tunl0
stats_snapshot h27 tunl0
lost "route into the tunnel"
expect_delta "route into the tunnel" collisions 3
expect_delta "route into the tunnel" tx_errors 3
expect_delta "route into the tunnel" tx_packets 0
on h27 ip route del 172.30.0.28/32 dev tunl0
works "route into the tunnel removed"

# A 1400-byte path to the peer leaves 1380 for the container's packets.
on h27 ip route add 172.30.0.28/32 dev eth0 mtu lock 1400
stats_snapshot h27 tunl0
expect_match "path of 1400: 1428-byte packet" "$(ping_df 1400)" 'mtu ?= ?1380'
expect_delta "path of 1400" tx_errors 1
expect_delta "path of 1400" tx_packets 0
expect_match "path of 1400: 1380-byte packet" "$(ping_df 1352)" ' 1 received'
on h27 ip route del 172.30.0.28/32 dev eth0
forget_pmtu
works "smaller path removed"

# The peer's side of the underlay reports a 1300-byte path MTU for the
# tunnel's packets (ICMP "fragmentation needed" quoting h27's outer
# header): h27 learns it and the next packets obey it.
on h28 python3 - <<'EOF'
import socket
import struct


def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


src, dst = socket.inet_aton("172.30.0.27"), socket.inet_aton("172.30.0.28")
outer = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 8048, 1, 0x4000, 63, 4, 0, src, dst)
outer = outer[:10] + struct.pack("!H", checksum(outer)) + outer[12:]
quoted = outer + struct.pack("!BBHHH", 0x45, 0, 8028, 1, 0x4000)
icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1300) + quoted
icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
    s.sendto(icmp, ("172.30.0.27", 0))
EOF
expect_match "learned path MTU" "$(on h27 ip route get 172.30.0.28)" 'mtu 1300'
stats_snapshot h27 tunl0
expect_match "learned 1300: 1400-byte packet" "$(ping_df 1400)" 'mtu ?= ?1280'
expect_delta "learned 1300" tx_errors 1
expect_match "learned 1300: 1280-byte packet" "$(ping_df 1252)" ' 1 received'
forget_pmtu
works "learned path MTU forgotten"
