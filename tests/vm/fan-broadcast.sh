#!/usr/bin/env bash
# No broadcast through the fan. With 250.0.0.0/8:172.30.0.0/16, the
# overlay addresses 250.255.255.x map to 172.30.255.255, the underlay's
# broadcast address: a fan that sent there would have every host take the
# packet, decapsulate it and route it back into the fan, again and again
# until the inner TTL ran out. The sender must drop it and count it
# (tx_aborted_errors), with plain IP-in-IP and with FOU alike; and no other
# host may see a packet.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
map=250.0.0.0/8:172.30.0.0/16
underlay_create 9001
for h in 27 28 29; do
	host_add h$h 172.30.0.$h/16
	fan_host_up h$h $map 250.0.$h.1/24
	container_add h$h c$h br0 250.0.$h.2/24 250.0.$h.1
done
on c27 ping -c 2 -i 0.2 -W 3 250.0.28.2 >/dev/null

# Every other host counts what reaches it for the underlay's broadcast
# address.
for h in 28 29; do
	on h$h nft -f - <<<'table ip bcast {
		chain pre { type filter hook prerouting priority -300; ip daddr 172.30.255.255 counter; }
	}'
done
broadcasts_seen() {
	local h total=0
	for h in 28 29; do
		total=$((total + $(on h$h nft list chain ip bcast pre | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')))
	done
	echo "$total"
}

# 20 packets from a container to 250.255.255.7 (underlay 172.30.255.255).
stats_snapshot h27 tunl0
on c27 ping -c 20 -i 0.05 -W 1 250.255.255.7 >/dev/null 2>&1 || true
expect_delta "to the underlay's broadcast address" tx_aborted_errors 20
expect_delta "to the underlay's broadcast address" tx_errors 20
expect_delta "to the underlay's broadcast address" tx_packets 0
sleep 1
expect_eq "broadcasts the other hosts received" "$(broadcasts_seen)" 0

# The same over FOU (UDP port 5555), on a fan device of its own.
for h in 27 28; do
	on h$h "$FAN_IP" fou add port 5555 ipproto 4
	on h$h "$FAN_IP" link add fou0 type ipip local 172.30.0.$h \
		encap fou encap-sport auto encap-dport 5555 fan-map 251.0.0.0/8:172.30.0.0/16
	on h$h ip link set fou0 up
	on h$h ip addr add 251.0.$h.1/32 dev lo
	on h$h ip route add 251.0.0.0/8 dev fou0 src 251.0.$h.1
done
# It works between the two hosts...
on h27 ping -c 2 -i 0.2 -W 3 251.0.28.1 >/dev/null
# ... and refuses the broadcast address.
stats_snapshot h27 fou0
on h27 ping -c 20 -i 0.05 -W 1 251.255.255.7 >/dev/null 2>&1 || true
expect_delta "FOU to the underlay's broadcast address" tx_aborted_errors 20
expect_delta "FOU to the underlay's broadcast address" tx_packets 0
sleep 1
expect_eq "broadcasts the other hosts received (FOU)" "$(broadcasts_seen)" 0

# The fan still works.
on c27 ping -c 2 -i 0.2 -W 3 250.0.29.2 >/dev/null
