#!/usr/bin/env bash
# Proves the harness: two hosts joined by Linux's own ipip with fixed remotes,
# a container on each, ping and a checksummed TCP transfer between them. The
# tunnel counters show the traffic really went through the tunnel.
# vm-pass: one kernel (Linux's own ipip driver, not the module)
. "$(dirname "$0")/../lib/hosts.sh"

# Linux's own driver, not ours: they cannot be loaded together.
if grep -q '^fan_ipip ' /proc/modules; then rmmod fan_ipip; fi
modprobe ipip
grep -q '^ipip ' /proc/modules

underlay_create 9001
host_add h27 172.30.0.27/16
host_add h28 172.30.0.28/16
for h in 27 28; do
	peer=$((55 - h)) # 27 <-> 28
	on h$h ip link add ipip0 type ipip local 172.30.0.$h remote 172.30.0.$peer
	on h$h ip link set ipip0 up
	on h$h ip route add 250.0.$peer.0/24 dev ipip0
	bridge_add h$h br0 250.0.$h.1/24
	container_add h$h c$h br0 250.0.$h.2/24 250.0.$h.1
done

tx_before=$(link_stat h27 ipip0 tx_bytes)
rx_before=$(link_stat h28 ipip0 rx_bytes)

on c27 ping -c 3 -i 0.2 -W 2 250.0.28.2
on c28 ping -c 3 -i 0.2 -W 2 250.0.27.2
tcp_transfer_check c27 c28 250.0.28.2 1000000

# The megabyte went through the tunnel (counters count GSO packets, so
# bytes, not packets, are what can be checked).
expect_ge "h27 ipip0 tx_bytes" $(($(link_stat h27 ipip0 tx_bytes) - tx_before)) 1000000
expect_ge "h28 ipip0 rx_bytes" $(($(link_stat h28 ipip0 rx_bytes) - rx_before)) 1000000
