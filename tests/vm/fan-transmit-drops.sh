#!/usr/bin/env bash
# What a fan device refuses to send, and the counters that say so
# (kmod/README.md): no map for the destination (tx_carrier_errors), an
# underlay destination that is this host's own address (tx_aborted_errors),
# a packet that is not IPv4 (tx_errors only). The host's own addresses are
# remembered per destination until an address or route changes: adding,
# then removing, an address and a local route must change the answer at once.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
underlay_create 9001
host_add h27 172.30.0.27/16
host_add h28 172.30.0.28/16
fan_host_up h27 250.0.0.0/8:172.30.0.0/16 250.0.27.1/24
fan_host_up h28 250.0.0.0/8:172.30.0.0/16 250.0.28.1/24
container_add h27 c27 br0 250.0.27.2/24 250.0.27.1
container_add h28 c28 br0 250.0.28.2/24 250.0.28.1

send() { # send DST: three pings from h27 that cannot be answered
	on h27 ping -c 3 -i 0.2 -W 1 "$1" >/dev/null 2>&1 || true
}

# The fan works between the two hosts: the checks below start from there.
on c27 ping -c 2 -i 0.2 -W 3 250.0.28.2 >/dev/null
expect_eq "tx_errors after working traffic" "$(link_stat h27 tunl0 tx_errors)" 0

# No map: 10.99.0.0/16 is routed into tunl0 but lies in no overlay.
on h27 ip route add 10.99.0.0/16 dev tunl0
stats_snapshot h27 tunl0
send 10.99.0.5
expect_delta "no map" tx_carrier_errors 3
expect_delta "no map" tx_errors 3
expect_delta "no map" tx_packets 0

# To itself: 250.0.27.77 is routed into tunl0 (not the bridge), and maps
# to 172.30.0.27, this host.
on h27 ip route add 250.0.27.77/32 dev tunl0
stats_snapshot h27 tunl0
send 250.0.27.77
expect_delta "to itself" tx_aborted_errors 3
expect_delta "to itself" tx_errors 3
expect_delta "to itself" tx_packets 0

# 250.0.29.0/24 belongs to 172.30.0.29, which nobody has: sent (and lost).
stats_snapshot h27 tunl0
send 250.0.29.5
expect_delta "to a host that is not there" tx_packets 3
expect_delta "to a host that is not there" tx_errors 0

# h27 takes 172.30.0.29 as a second address: the same destination is now
# this host, from the first packet on; and no longer once it is removed.
on h27 ip addr add 172.30.0.29/16 dev eth0
stats_snapshot h27 tunl0
send 250.0.29.5
expect_delta "after the address is added" tx_aborted_errors 3
expect_delta "after the address is added" tx_packets 0
on h27 ip addr del 172.30.0.29/16 dev eth0
stats_snapshot h27 tunl0
send 250.0.29.5
expect_delta "after the address is removed" tx_aborted_errors 0
expect_delta "after the address is removed" tx_packets 3

# A local route (no interface address) makes an address this host's too.
on h27 ip route add local 172.30.0.30/32 dev lo table local
stats_snapshot h27 tunl0
send 250.0.30.5
expect_delta "with a local route" tx_aborted_errors 3
on h27 ip route del local 172.30.0.30/32 dev lo table local
stats_snapshot h27 tunl0
send 250.0.30.5
expect_delta "without the local route" tx_aborted_errors 0
expect_delta "without the local route" tx_packets 3

# Not IPv4: IPv6 routed into the fan device is dropped, counted as an
# error of no other kind.
on h27 sysctl -qw net.ipv6.conf.tunl0.disable_ipv6=0
on h27 ip -6 addr add 2001:db8:27::1/64 dev tunl0 nodad
stats_snapshot h27 tunl0
on h27 ping -6 -c 3 -i 0.2 -W 1 2001:db8:27::2 >/dev/null 2>&1 || true
expect_delta "IPv6" tx_errors 3
expect_delta "IPv6" tx_carrier_errors 0
expect_delta "IPv6" tx_aborted_errors 0
expect_delta "IPv6" tx_packets 0

# And through all this the fan kept working.
on c27 ping -c 2 -i 0.2 -W 3 250.0.28.2 >/dev/null
