#!/usr/bin/env bash
# fanctl's `encap fou`: the fan over UDP where the underlay drops IP
# protocol 4, as some clouds do. Two hosts in different underlay subnets
# behind a router namespace that drops protocol 4 (`ip rule ipproto 4
# blackhole`):
#
# 1. An ipip fan does not get through (the router's drop works).
# 2. With the fan module, `up ... encap fou`: the FOU port and fan-fou made,
#    bridge MTU = underlay - 28 (and in the DHCP lease), ping and a
#    checksummed TCP transfer between containers, NAT out of the overlay,
#    `show`; a forged inner source (IP-in-IP in UDP through a
#    tunnel of the sender's own) is dropped and counted on fan-fou; an ipip
#    fan beside a FOU fan is refused and changes nothing; `down` leaves the
#    hosts as they were (no fan-fou, no FOU port).
# 3. The same fan in fallback mode (Linux's ipip.ko), on another port given
#    with the option form.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"
. "$(dirname "$0")/../lib/fanctl.sh"

MTU=1500
# h1 172.30.1.10/24 and h2 172.30.2.20/24, routed through fan-rt; the fan
# takes the underlay as 172.30.0.0/16.
_fan_ns_add fan-rt
ip netns exec fan-rt sysctl -qw net.ipv4.ip_forward=1
for h in 1 2; do
	host=h$h addr=172.30.$h.$((h * 10))
	_fan_ns_add fan-$host
	ip link add eth0 mtu $MTU netns fan-$host type veth peer name to-$host mtu $MTU netns fan-rt
	ip -n fan-rt addr add 172.30.$h.1/24 dev to-$host
	ip -n fan-rt link set to-$host up
	on $host ip addr add $addr/24 dev eth0
	on $host ip link set eth0 up
	on $host ip route add default via 172.30.$h.1
	on $host sysctl -qw net.ipv4.ip_forward=1
done
on h1 ping -c 1 -W 5 172.30.2.20 >/dev/null # the underlay routes
ip -n fan-rt rule add ipproto 4 blackhole

# fou_ports HOST: the FOU receive ports of HOST, "PORT/IPPROTO" a line.
fou_ports() {
	on "$1" "$FAN_IP" fou show 2>/dev/null | awk '{ print $2 "/" $4 }'
}

# fan_traffic: ping both ways and a checksummed TCP transfer between the
# containers c1 and c2.
fan_traffic() {
	on c1 ping -c 3 -i 0.2 -W 5 250.2.20.2 >/dev/null &&
		on c2 ping -c 3 -i 0.2 -W 5 250.1.10.2 >/dev/null &&
		tcp_transfer_check c1 c2 250.2.20.2 2000000
}

containers_add() {
	container_add h1 c1 fan-250-1-10 250.1.10.2/24 250.1.10.1
	container_add h2 c2 fan-250-2-20 250.2.20.2/24 250.2.20.1
}

containers_del() {
	container_del h1 c1
	container_del h2 c2
}

fan_module_load

# ---- 1. ipip does not cross this underlay ----------------------------------
for h in 1 2; do
	fanctl_on h$h up 250.0.0.0/8 eth0/16 >/dev/null
done
containers_add
if on c1 ping -c 2 -i 0.2 -W 2 250.2.20.2 >/dev/null 2>&1; then
	echo "ipip crossed a router that drops IP protocol 4" >&2
	exit 1
fi
containers_del
for h in 1 2; do
	fanctl_on h$h down 250.0.0.0/8 >/dev/null
	netns_snapshot h$h >"$FANCTL_TMP/h$h.before"
done

# ---- 2. FOU, with the fan module -------------------------------------------
for h in 1 2; do
	out=$(fanctl_on h$h up 250.0.0.0/8 eth0/16 dhcp encap fou 2>&1)
	echo "$out"
	expect_match "h$h up" "$out" "is up \(slice 250.$h.$((h * 10)).0/24, .*mtu 1472, module\)"
	expect_eq "h$h bridge mtu (underlay - 28)" "$(on h$h cat /sys/class/net/fan-250-$h-$((h * 10))/mtu)" 1472
	expect_eq "h$h FOU ports" "$(fou_ports h$h)" "5555/4"
	link=$(on h$h ip -d link show fan-fou)
	expect_match "h$h fan-fou local" "$link" "ipip remote any local 172.30.$h.$((h * 10)) "
	expect_match "h$h fan-fou encap" "$link" "encap fou encap-sport auto encap-dport 5555"
	expect_eq "h$h fan-fou maps" "$(on h$h python3 "$FAN_LIB/fannl.py" dump fan-fou)" \
		"250.0.0.0/8:172.30.0.0/16"
	expect_match "h$h overlay route" "$(on h$h ip route show 250.0.0.0/8)" \
		"^250.0.0.0/8 dev fan-fou .*src 250.$h.$((h * 10)).1"
	expect_eq "h$h show" "$(show_rows h$h)" "Bridge Overlay Underlay Flags
fan-250-$h-$((h * 10)) 250.0.0.0/8 172.30.$h.$((h * 10))/16 dhcp host-reserve 1 encap fou port 5555"
done
fanctl_on h2 show --json | python3 -c '
import json, sys
f = json.load(sys.stdin)["fans"][0]
assert (f["encap"], f["fou_port"], f["mtu"], f["mode"]) == ("fou", 5555, 1472, "module"), f
'
containers_add
fan_traffic
# A container leased by the fan's dnsmasq gets the FOU fan's MTU, and
# reaches the other host's container.
container_add h1 c1d fan-250-1-10
on c1d ip link set eth0 mtu 1500
dhcp_lease c1d
expect_eq "c1d mtu from the lease" "$(on c1d cat /sys/class/net/eth0/mtu)" 1472
on c1d ping -c 2 -i 0.2 -W 5 250.2.20.2 >/dev/null
container_del h1 c1d
# The bridge keeps its own address (02:fa and the bridge's IPv4 address)
# when a container leaves: c1's ARP entry for its gateway stays right.
expect_eq "h1 bridge address" "$(on h1 cat /sys/class/net/fan-250-1-10/address)" 02:fa:fa:01:0a:01
# NAT: the router knows no route to the overlay, so only a masqueraded
# ping gets its answer.
on c1 ping -c 2 -i 0.2 -W 5 172.30.2.1 >/dev/null

# A forged inner source: h1 sends IP-in-IP in UDP through a tunnel of its
# own, from an address of 172.30.3.3's slice. fan-fou on h2 drops it.
on h1 "$FAN_IP" link add forge type ipip local 172.30.1.10 remote 172.30.2.20 \
	encap fou encap-sport auto encap-dport 5555
on h1 ip link set forge up
on h1 ip addr add 250.3.3.99/32 dev lo
on h1 ip route add 250.2.20.2/32 dev forge src 250.3.3.99
stats_snapshot h2 fan-fou
on h1 ping -c 3 -i 0.2 -W 1 -I 250.3.3.99 250.2.20.2 >/dev/null 2>&1 || true
expect_delta "h2 fan-fou, forged sources" rx_frame_errors 3
expect_delta "h2 fan-fou, forged sources" rx_packets 0
# The same tunnel with h1's own address gets through: the drop was the check.
on h1 ip route replace 250.2.20.2/32 dev forge src 250.1.10.1
on h1 ping -c 2 -i 0.2 -W 5 250.2.20.2 >/dev/null
on h1 ip link del forge
on h1 ip addr del 250.3.3.99/32 dev lo

# One encapsulation per host: an ipip fan beside the FOU fan changes nothing.
netns_snapshot h1 >"$FANCTL_TMP/h1.fou"
out=$(expect_failure "an ipip fan beside a FOU fan" fanctl_on h1 up 251.0.0.0/8 eth0/16)
expect_match "mixed encapsulations" "$out" \
	"fan-250-1-10 is up with encap fou port 5555, this fan asks encap ipip: the fans of a host use one encapsulation"
netns_snapshot h1 >"$FANCTL_TMP/h1.fou2"
expect_same "h1 after a refused ipip fan" "$FANCTL_TMP/h1.fou" "$FANCTL_TMP/h1.fou2"

containers_del
for h in 1 2; do
	fanctl_on h$h down 250.0.0.0/8 >/dev/null
	expect_eq "h$h FOU ports after down" "$(fou_ports h$h)" ""
	netns_snapshot h$h >"$FANCTL_TMP/h$h.after"
	expect_same "h$h after up and down" "$FANCTL_TMP/h$h.before" "$FANCTL_TMP/h$h.after"
done

# ---- 3. FOU in fallback mode, on port 6000 ----------------------------------
rmmod fan_ipip
modprobe ipip
for h in 1 2; do
	netns_snapshot h$h >"$FANCTL_TMP/h$h.before"
done
for h in 1 2; do
	out=$(fanctl_on h$h up -o 250 -u eth0/16 --encap fou --port 6000 2>&1)
	expect_match "h$h fallback up" "$out" "mtu 1472, fallback\)"
	expect_eq "h$h FOU ports (fallback)" "$(fou_ports h$h)" "6000/4"
	expect_eq "h$h peer routes via fan-fou" \
		"$(on h$h ip route show dev fan-fou | grep -c onlink)" 65532
done
containers_add
fan_traffic
containers_del
for h in 1 2; do
	fanctl_on h$h down 250 >/dev/null
	expect_eq "h$h FOU ports after the fallback's down" "$(fou_ports h$h)" ""
	netns_snapshot h$h >"$FANCTL_TMP/h$h.after"
	expect_same "h$h after the fallback's up and down" "$FANCTL_TMP/h$h.before" "$FANCTL_TMP/h$h.after"
done
rmmod ipip
