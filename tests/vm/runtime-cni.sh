#!/usr/bin/env bash
# A container runtime on the fan: `fanctl cni` writes the network list on
# two hosts (fan module, `fanctl up 250.0.0.0/8 eth0/16`), and the reference
# CNI plugins (Debian's containernetworking-plugins: bridge, host-local) put
# a container on each host's fan bridge, driven as a runtime drives them
# (tests/lib/cni.sh). The containers get host-local addresses after the
# reserved ones, a default route via the bridge, and talk across the fan;
# CNI DEL takes them off again and gives the addresses back, and `fanctl
# down` then leaves each host as it was.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"
. "$(dirname "$0")/../lib/fanctl.sh"
. "$(dirname "$0")/../lib/cni.sh"

# The plugins are the host's, seen by the guest through /usr.
for plugin in bridge host-local; do
	[ -x "$CNI_PATH/$plugin" ] || {
		echo "no $CNI_PATH/$plugin: install containernetworking-plugins (scripts/deps)" >&2
		exit 1
	}
done
versions=$(CNI_COMMAND=VERSION "$CNI_PATH/bridge" </dev/null)
echo "bridge plugin: $versions"
expect_eq "bridge plugin speaks CNI 1.0.0" \
	"$(jq -r '.supportedVersions | index("1.0.0") != null' <<<"$versions")" true

fan_module_load
underlay_create 9001
# h28 keeps 5 addresses for itself: its containers start at .6.
declare -A first=([27]=2 [28]=6)
for h in 27 28; do
	host_add h$h 172.30.0.$h/16
	netns_snapshot h$h >"$FANCTL_TMP/h$h.before"
done
fanctl_on h27 up 250.0.0.0/8 eth0/16
fanctl_on h28 up 250.0.0.0/8 eth0/16 host-reserve 5

declare -A list addr veth
for h in 27 28; do
	dir=$FANCTL_TMP/h$h
	out=$(fanctl_on h$h cni 250.0.0.0/8 eth0/16 --output "$dir/net.d/10-fan.conflist")
	expect_eq "h$h cni --output" "$out" \
		"$dir/net.d/10-fan.conflist: CNI network fan-250 on fan-250-0-$h (containers 250.0.$h.${first[$h]}-250.0.$h.254)"
	# The runtime's copy: each simulated host keeps host-local's leases in a
	# directory of its own (they share one filesystem, and the guest's /var
	# is read-only).
	list[$h]=$dir/fan.conflist
	jq --arg dir "$dir/cni-ipam" '.plugins[0].ipam.dataDir = $dir' \
		"$dir/net.d/10-fan.conflist" >"${list[$h]}"

	netns_add c$h
	result=$(cni_add h$h "${list[$h]}" c$h)
	echo "c$h: $result"
	expect_eq "c$h result version" "$(jq -r .cniVersion <<<"$result")" 1.0.0
	# host-local's first address is the list's rangeStart: the first after
	# the host's reserved ones.
	expect_eq "c$h address (result)" "$(jq -r '.ips[0].address' <<<"$result")" "250.0.$h.${first[$h]}/24"
	expect_eq "c$h gateway (result)" "$(jq -r '.ips[0].gateway' <<<"$result")" "250.0.$h.1"
	addr[$h]=250.0.$h.${first[$h]}
	expect_eq "c$h eth0" "$(on c$h ip -4 -o addr show dev eth0 | awk '{print $4}')" "${addr[$h]}/24"
	expect_eq "c$h default route" "$(on c$h ip -4 route show default | sed 's/ *$//')" "default via 250.0.$h.1 dev eth0"
	expect_eq "c$h mtu" "$(on c$h cat /sys/class/net/eth0/mtu)" 8981
	# The host side of the veth pair is a port of the fan bridge.
	veth[$h]=$(jq -r --arg br fan-250-0-$h \
		'.interfaces[] | select(.sandbox == null and .name != $br) | .name' <<<"$result")
	expect_match "h$h veth ${veth[$h]}" "$(on h$h ip -o link show dev "${veth[$h]}")" "master fan-250-0-$h .*state UP"
	expect_eq "h$h veth mtu" "$(on h$h cat "/sys/class/net/${veth[$h]}/mtu")" 8981
	# host-local recorded the address for this container (ID, CRLF, IF).
	expect_eq "c$h lease" "$(head -n 1 "$dir/cni-ipam/fan-250/${addr[$h]}" | tr -d '\r')" c$h
	# The plugins agree that the container is as they left it.
	cni_check h$h "${list[$h]}" c$h
done

declare -A tx rx
for h in h27 h28; do
	tx[$h]=$(link_stat $h tunl0 tx_bytes)
	rx[$h]=$(link_stat $h tunl0 rx_bytes)
done
on c27 ping -c 3 -i 0.2 -W 3 "${addr[28]}"
on c28 ping -c 3 -i 0.2 -W 3 "${addr[27]}"
tcp_transfer_check c27 c28 "${addr[28]}" 1000000
tcp_transfer_check c28 c27 "${addr[27]}" 1000000
# Both megabytes went through the tunnel, one each way.
for h in h27 h28; do
	expect_ge "$h tunl0 tx_bytes" $(($(link_stat $h tunl0 tx_bytes) - ${tx[$h]})) 1000000
	expect_ge "$h tunl0 rx_bytes" $(($(link_stat $h tunl0 rx_bytes) - ${rx[$h]})) 1000000
	expect_eq "$h tunl0 tx_errors" "$(link_stat $h tunl0 tx_errors)" 0
done

# While the container is on the bridge, `down` refuses and names its veth.
out=$(expect_failure "down with c27 attached" fanctl_on h27 down 250.0.0.0/8 eth0/16)
expect_match "down refusal" "$out" "fan-250-0-27 still has 1 attached interface \(${veth[27]}\)"

# CNI DEL: the veth pair goes and host-local gives the address back; a
# second DEL is no error (the spec asks runtimes to be able to repeat it).
for h in 27 28; do
	cni_del h$h "${list[$h]}" c$h
	if on h$h ip link show dev "${veth[$h]}" >/dev/null 2>&1; then
		echo "${veth[$h]} still in h$h after CNI DEL" >&2
		exit 1
	fi
	if on c$h ip link show dev eth0 >/dev/null 2>&1; then
		echo "c$h still has eth0 after CNI DEL" >&2
		exit 1
	fi
	if [ -e "$FANCTL_TMP/h$h/cni-ipam/fan-250/${addr[$h]}" ]; then
		echo "host-local still holds ${addr[$h]} for c$h after CNI DEL" >&2
		exit 1
	fi
	cni_del h$h "${list[$h]}" c$h
done

# Nothing attached any more: `down` works, and the hosts are as before.
for h in 27 28; do
	fanctl_on h$h down 250.0.0.0/8 eth0/16
	netns_snapshot h$h >"$FANCTL_TMP/h$h.after"
	expect_same "h$h after down" "$FANCTL_TMP/h$h.before" "$FANCTL_TMP/h$h.after"
done
echo "runtime-cni: all checks passed"
