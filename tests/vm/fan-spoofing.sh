#!/usr/bin/env bash
# Receive source validation: host h29 sends IP-in-IP to h28 with an inner
# source from h27's slice. With net.fan.validate_source=1 (the default)
# nothing gets through and h28 counts it; with 0 it gets through.
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

# h29 forges: a plain ipip tunnel to h28, and h27's overlay address.
on h29 ip link add forge type ipip local 172.30.0.29 remote 172.30.0.28
on h29 ip link set forge up
on h29 ip addr add 250.0.27.99/32 dev lo
on h29 ip route add 250.0.28.2/32 dev forge src 250.0.27.99

# send_forged TAG: one UDP datagram from the forged source; prints what c28
# received within 3 seconds.
send_forged() {
	local got
	got=$(mktemp)
	on c28 timeout 3 nc -u -l -W 1 5000 >"$got" &
	local server=$!
	sleep 0.5
	echo "$1" | on h29 nc -u -w 1 -s 250.0.27.99 250.0.28.2 5000 || true
	wait "$server" || true
	cat "$got"
	rm -f "$got"
}

expect_eq "validate_source default" "$(on h28 sysctl -n net.fan.validate_source)" 1
expect_eq "fan version" "$(on h28 cat /proc/sys/net/fan/version)" 3

frames_before=$(link_stat h28 tunl0 rx_frame_errors)
expect_eq "forged datagram with validation on" "$(send_forged forged-1)" ""
expect_ge "h28 tunl0 rx_frame_errors" \
	$(($(link_stat h28 tunl0 rx_frame_errors) - frames_before)) 1

# Legitimate traffic from h27 still passes.
on c27 ping -c 2 -i 0.2 -W 3 250.0.28.2 >/dev/null

# MPLS-in-IP has no IPv4 source to check: a fan device refuses it as
# forged too. Three packets, label 100 over an inner IPv4 header, sent
# raw from h29.
send_mplsip() {
	on h29 python3 - <<'PY'
import socket, struct
inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0,
                    socket.inet_aton("250.0.27.99"), socket.inet_aton("250.0.28.2"))
inner += struct.pack("!HHHH", 5000, 5000, 8, 0)
label = struct.pack("!I", (100 << 12) | (1 << 8) | 64)  # bottom of stack, TTL 64
outer = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, 137, 0,
                    socket.inet_aton("172.30.0.29"), socket.inet_aton("172.30.0.28"))
with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
    for _ in range(3):
        s.sendto(outer + label + inner, ("172.30.0.28", 0))
PY
}
stats_snapshot h28 tunl0
send_mplsip
sleep 0.5
expect_delta "MPLS-in-IP on a fan device" rx_frame_errors 3
expect_delta "MPLS-in-IP on a fan device" rx_packets 0

on h28 sysctl -qw net.fan.validate_source=0
expect_eq "forged datagram with validation off" "$(send_forged forged-2)" "forged-2"

# The sysctl accepts only 0 and 1.
if on h28 sysctl -qw net.fan.validate_source=2 2>/dev/null; then
	echo "validate_source accepted 2" >&2
	exit 1
fi
