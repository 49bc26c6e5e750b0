#!/usr/bin/env bash
# fanctl with the fan module: the announcement's demo as assertions (two
# hosts on a 9001-MTU underlay, `fanctl up 250.0.0.0/8 eth0/16 dhcp`,
# containers leased by the fan's dnsmasq, ping, nc, iperf3, show, up twice,
# down refused then done, the hosts left as they were), then `up -a` with
# two fans on three hosts.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"
. "$(dirname "$0")/../lib/fanctl.sh"

fan_module_load
expect_eq "fan module version" "$(cat /proc/sys/net/fan/version)" 3

# ---- The announcement: two hosts, one fan ----------------------------------
underlay_create 9001
host_add h27 172.30.0.27/16
host_add h28 172.30.0.28/16
host_add h99 172.30.0.99/16 # on the underlay, not on the fan
for h in h27 h28; do
	netns_snapshot $h >"$FANCTL_TMP/$h.before"
done

for h in 27 28; do
	out=$(fanctl_on h$h up 250.0.0.0/8 eth0/16 dhcp 2>&1)
	echo "$out"
	expect_match "h$h up" "$out" "^fan-250-0-$h: 250.0.0.0/8 over 172.30.0.$h/16 is up .*module"
	# The bridge: the slice's .1, MTU 9001 - 20.
	expect_eq "h$h bridge address" "$(on h$h ip -4 -o addr show dev fan-250-0-$h | awk '{print $4}')" \
		"250.0.$h.1/24"
	expect_eq "h$h bridge mtu" "$(on h$h cat /sys/class/net/fan-250-0-$h/mtu)" 8981
	expect_match "h$h overlay route" "$(on h$h ip route show 250.0.0.0/8)" \
		"^250.0.0.0/8 dev tunl0 .*src 250.0.$h.1"
	expect_eq "h$h fan maps" "$(fan_maps h$h)" "250.0.0.0/8:172.30.0.0/16"
done

# `show`, as in the announcement.
for h in 27 28; do
	rows=$(show_rows h$h)
	expect_eq "h$h show" "$rows" "Bridge Overlay Underlay Flags
fan-250-0-$h 250.0.0.0/8 172.30.0.$h/16 dhcp host-reserve 1"
done
fanctl_on h28 show --json | python3 -c '
import json, sys
fans = json.load(sys.stdin)["fans"]
assert len(fans) == 1, fans
f = fans[0]
want = {"bridge": "fan-250-0-28", "overlay": "250.0.0.0/8",
        "underlay": "172.30.0.28/16", "slice": "250.0.28.0/24",
        "address": "250.0.28.1", "mtu": 8981, "dhcp": True,
        "host_reserve": 1, "mode": "module"}
for k, v in want.items():
    assert f[k] == v, (k, f[k], v)
assert f["dnsmasq_pid"] > 0, f
'

# `up` twice changes nothing and succeeds.
{ netns_snapshot h28; fanctl_on h28 show --json; } >"$FANCTL_TMP/h28.up"
out=$(fanctl_on h28 up 250.0.0.0/8 eth0/16 dhcp 2>&1)
expect_match "second up" "$out" "already up"
{ netns_snapshot h28; fanctl_on h28 show --json; } >"$FANCTL_TMP/h28.up2"
expect_same "h28 after a second up" "$FANCTL_TMP/h28.up" "$FANCTL_TMP/h28.up2"
# ... but not with other settings, which it would silently ignore.
out=$(expect_failure "up without dhcp over the dhcp fan" fanctl_on h28 up 250.0.0.0/8 eth0/16)
expect_match "up with other settings" "$out" "fan-250-0-28 is already up with other settings \(dhcp up, no dhcp asked\)"
{ netns_snapshot h28; fanctl_on h28 show --json; } >"$FANCTL_TMP/h28.up2"
expect_same "h28 after a refused up" "$FANCTL_TMP/h28.up" "$FANCTL_TMP/h28.up2"

# Containers get their address from the fan's dnsmasq, and its MTU: start
# them at 1500 so that 8981 can only come from the lease.
for h in 27 28; do
	container_add h$h c$h fan-250-0-$h
	on c$h ip link set eth0 mtu 1500
	dhcp_lease c$h
	a=$(addr_of c$h)
	expect_match "c$h leased address" "$a" "^250\.0\.$h\.([2-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$"
	expect_eq "c$h prefix" "$(on c$h ip -4 -o addr show dev eth0 | awk '{print $4}')" "$a/24"
	expect_eq "c$h mtu" "$(on c$h cat /sys/class/net/eth0/mtu)" 8981
	expect_match "c$h default route" "$(on c$h ip route show default)" "via 250.0.$h.1"
done
c27=$(addr_of c27)
c28=$(addr_of c28)

declare -A tx rx
for h in h27 h28; do
	tx[$h]=$(link_stat $h tunl0 tx_bytes)
	rx[$h]=$(link_stat $h tunl0 rx_bytes)
done

on c28 ping -c 3 -i 0.2 -W 3 "$c27"
on c27 ping -c 3 -i 0.2 -W 3 "$c28"

# "here come the bits", over nc from c28 to c27.
on c27 nc -l -N -w 30 9876 >"$FANCTL_TMP/bits" &
server=$!
_fan_wait_listen c27 9876
echo "here come the bits" | on c28 nc -N -w 30 "$c27" 9876
wait $server
expect_eq "nc payload" "$(cat "$FANCTL_TMP/bits")" "here come the bits"

iperf3_check c28 c27 "$c27"

# Out of the overlay, the fan NATs: h99 has no way back into 250.0.0.0/8,
# yet c28 reaches it.
expect_failure "h99 into the overlay" on h99 ping -c 1 -W 1 "$c28" >/dev/null
on c28 ping -c 2 -i 0.2 -W 3 172.30.0.99

# The fan carried it: iperf3 sent at least megabytes from h28 to h27 through
# tunl0, and the pings went the other way too.
expect_ge "h28 tunl0 tx_bytes" $(($(link_stat h28 tunl0 tx_bytes) - ${tx[h28]})) 1000000
expect_ge "h27 tunl0 rx_bytes" $(($(link_stat h27 tunl0 rx_bytes) - ${rx[h27]})) 1000000
expect_ge "h27 tunl0 tx_bytes" $(($(link_stat h27 tunl0 tx_bytes) - ${tx[h27]})) 500
expect_ge "h28 tunl0 rx_bytes" $(($(link_stat h28 tunl0 rx_bytes) - ${rx[h28]})) 500
for h in h27 h28; do
	expect_eq "$h tunl0 tx_errors" "$(link_stat $h tunl0 tx_errors)" 0
done

# `down` refuses while a container is attached, and leaves the fan working.
out=$(expect_failure "down with c28 attached" fanctl_on h28 down 250.0.0.0/8 eth0/16)
expect_match "down refusal" "$out" "fan-250-0-28 still has 1 attached interface \(v-c28\)"
expect_match "show after a refused down" "$(show_rows h28)" "^fan-250-0-28 "
on c28 ping -c 1 -W 3 "$c27" >/dev/null

# Once the container is gone, `down` works and the host is as it was.
container_del h28 c28
fanctl_on h28 down 250.0.0.0/8 eth0/16
netns_snapshot h28 >"$FANCTL_TMP/h28.after"
expect_same "h28 after down" "$FANCTL_TMP/h28.before" "$FANCTL_TMP/h28.after"
expect_eq "h28 show after down" "$(show_rows h28)" "Bridge Overlay Underlay Flags"
# Taking down a fan that is not up is no error (ifupdown may run it twice).
fanctl_on h28 down 250.0.0.0/8 eth0/16

# `down --force` goes ahead with c27 attached; the container's veth is then
# left over, detached, until the container goes.
dnsmasq=$(fanctl_on h27 show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fans"][0]["dnsmasq_pid"])')
running "$dnsmasq"
fanctl_on h27 down --force 250.0.0.0/8 eth0/16
expect_eq "v-c27 master after down --force" "$(on h27 ip -o link show v-c27 | grep -c master || true)" 0
if running "$dnsmasq"; then
	echo "dnsmasq $dnsmasq still runs after down" >&2
	exit 1
fi
container_del h27 c27
netns_snapshot h27 >"$FANCTL_TMP/h27.after"
expect_same "h27 after down --force" "$FANCTL_TMP/h27.before" "$FANCTL_TMP/h27.after"
_fan_cleanup

# ---- `up -a`: two fans on three hosts --------------------------------------
underlay_create 9001
hosts=(h27 h28 h29)
for h in "${hosts[@]}"; do
	host_add $h 172.30.0.${h#h}/16
	netns_snapshot $h >"$FANCTL_TMP/$h.before"
	cat >"$(fanctl_config $h)" <<-EOF
		# two fans over the same underlay
		250.0.0.0/8 172.30.0.0/16 dhcp
		251.0.0.0/8 172.30.0.0/16 dhcp
		252.0.0.0/8 172.30.0.0/16 off
	EOF
	fanctl_on $h up -a
	n=${h#h}
	expect_eq "$h fan maps" "$(fan_maps $h | sort)" "250.0.0.0/8:172.30.0.0/16
251.0.0.0/8:172.30.0.0/16"
	expect_eq "$h show" "$(show_rows $h)" "Bridge Overlay Underlay Flags
fan-250-0-$n 250.0.0.0/8 172.30.0.$n/16 dhcp host-reserve 1 auto
fan-251-0-$n 251.0.0.0/8 172.30.0.$n/16 dhcp host-reserve 1 auto"
	for fan in 250 251; do
		container_add $h c$fan-$n fan-$fan-0-$n
		dhcp_lease c$fan-$n
		expect_match "c$fan-$n address" "$(addr_of c$fan-$n)" "^$fan\.0\.$n\."
	done
done

declare -A tx_before
for h in "${hosts[@]}"; do
	tx_before[$h]=$(link_stat $h tunl0 tx_bytes)
done
for fan in 250 251; do
	for from in 27 28 29; do
		for to in 27 28 29; do
			[ $from = $to ] && continue
			on c$fan-$from ping -c 1 -W 3 "$(addr_of c$fan-$to)" >/dev/null
		done
	done
	# A checksummed megabyte around the ring, per fan.
	tcp_transfer_check c$fan-27 c$fan-28 "$(addr_of c$fan-28)" 1000000
	tcp_transfer_check c$fan-28 c$fan-29 "$(addr_of c$fan-29)" 1000000
	tcp_transfer_check c$fan-29 c$fan-27 "$(addr_of c$fan-27)" 1000000
done
for h in "${hosts[@]}"; do
	# Two fans, one megabyte each out of every host.
	expect_ge "$h tunl0 tx_bytes" $(($(link_stat $h tunl0 tx_bytes) - ${tx_before[$h]})) 2000000
done

# `down -a` refuses with the containers there; with them gone it takes
# down what `up -a` brought up (marked auto), not a fan brought up by hand.
out=$(expect_failure "down -a with containers" fanctl_on h29 down -a)
expect_match "down -a refusal" "$out" "2 of 2 fans"
fanctl_on h29 up 253.0.0.0/8 172.30.0.0/16
for h in "${hosts[@]}"; do
	n=${h#h}
	container_del $h c250-$n
	container_del $h c251-$n
	fanctl_on $h down -a
	if [ $h = h29 ]; then
		expect_eq "h29 after down -a" "$(show_rows h29)" "Bridge Overlay Underlay Flags
fan-253-0-29 253.0.0.0/8 172.30.0.29/16 host-reserve 1"
		fanctl_on h29 down 253
	fi
	netns_snapshot $h >"$FANCTL_TMP/$h.after"
	expect_same "$h after down -a" "$FANCTL_TMP/$h.before" "$FANCTL_TMP/$h.after"
done
echo "fanctl-module: all checks passed"
