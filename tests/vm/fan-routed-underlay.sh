#!/usr/bin/env bash
# A fan over a routed underlay: each host's fan address (172.30.0.H/32)
# sits on its loopback and is reached through a router, while the host's
# link address (10.0.H.2) is what its route to the peers prefers as a
# source. tunl0 has no local address of its own, so the fan must send from
# the host's fan address, the one that owns the container's slice:
# otherwise every peer drops the packets as forged (rx_frame_errors).
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
map=250.0.0.0/8:172.30.0.0/16
_fan_ns_add fan-router
ip netns exec fan-router sysctl -qw net.ipv4.ip_forward=1
for h in 27 28; do
	_fan_ns_add fan-h$h
	ip link add eth0 netns fan-h$h type veth peer name h$h netns fan-router
	ip -n fan-router addr add 10.0.$h.1/24 dev h$h
	ip -n fan-router link set h$h up
	ip -n fan-router route add 172.30.0.$h/32 via 10.0.$h.2
	on h$h ip addr add 10.0.$h.2/24 dev eth0
	on h$h ip link set eth0 up
	on h$h ip route add default via 10.0.$h.1
	on h$h ip addr add 172.30.0.$h/32 dev lo
	on h$h sysctl -qw net.ipv4.ip_forward=1
	fan_host_up h$h $map 250.0.$h.1/24
	container_add h$h c$h br0 250.0.$h.2/24 250.0.$h.1
done
expect_match "h27's preferred source towards h28" \
	"$(on h27 ip route get 172.30.0.28)" "src 10\.0\.27\.2"

stats_snapshot h28 tunl0
on c27 ping -c 3 -i 0.2 -W 3 250.0.28.2 >/dev/null
expect_delta "h28 after container traffic" rx_frame_errors 0
on h27 ping -c 3 -i 0.2 -W 3 250.0.28.2 >/dev/null
tcp_transfer_check c27 c28 250.0.28.2 200000 5001
expect_delta "h28 after all traffic" rx_frame_errors 0
