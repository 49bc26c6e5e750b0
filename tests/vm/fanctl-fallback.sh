#!/usr/bin/env bash
# fanctl on a kernel without the fan (Linux's own ipip.ko, our module
# absent): the fan runs on plain ipip with one onlink route per peer host.
# Up, show, up twice, traffic, down refused then done with the hosts as they
# were, rollback after a failure at every step. Prints `measure:` lines:
# `fanctl up` wall time for a /16 underlay in module and fallback mode, and
# the kernel memory of the fallback's 65,533 routes.
# vm-pass: one kernel (Linux's ipip, not the module, carries this fan)
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"
. "$(dirname "$0")/../lib/fanctl.sh"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
meminfo_kib() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

echo "measure: fanctl binary: $FANCTL"

# ---- For comparison: `fanctl up` with the fan module, /16 underlay --------
fan_module_load
underlay_create 9001
host_add h28 172.30.0.28/16
TIMEFORMAT='%R s wall (user %U s, sys %S s)'
{ time fanctl_on h28 up 250.0.0.0/8 eth0/16 2>&1; } 2>"$FANCTL_TMP/time"
expect_match "module mode" "$(fanctl_on h28 show --json)" '"mode": "module"'
echo "measure: fanctl up, module mode, 172.30.0.28/16 underlay, no dhcp: $(cat "$FANCTL_TMP/time")"
fanctl_on h28 down 250.0.0.0/8
_fan_cleanup

# ---- A kernel without the fan ----------------------------------------------
# Neither module loaded: fanctl's request for an ipip device makes the kernel
# load its own ipip.ko, as on a distro kernel. Loading a module is for the
# whole machine, so the "before" snapshots below are taken after this.
if grep -q '^fan_ipip ' /proc/modules; then rmmod fan_ipip; fi
if grep -q '^ipip ' /proc/modules; then rmmod ipip; fi
underlay_create 9001

# ---- A kernel without ipip: up fails before it changes anything -----------
# With module loading refused for this one command, there is no ipip driver:
# up must name the missing option and leave the host untouched, without even
# a device that comes and goes (ip monitor sees everything between two MTU
# changes of a marker device).
host_add h25 172.30.0.25/16
on h25 ip link add mark0 type dummy
# eth0's IPv6 link-local address is announced when its duplicate address
# detection ends, a second or two after the link came up: wait for that, so
# that the monitor sees only what up does.
ipv6_ready() { on h25 ip -6 addr show dev eth0 scope link -tentative | grep -q inet6; }
for _ in $(seq 100); do
	ipv6_ready && break
	sleep 0.1
done
ipv6_ready || {
	echo "h25's eth0 has no IPv6 link-local address out of DAD after 10 s" >&2
	exit 1
}
netns_snapshot h25 >"$FANCTL_TMP/h25.before"
ip -n fan-h25 monitor link address route >"$FANCTL_TMP/monitor" 2>&1 &
monitor=$!
# mark MTU: mark0 gets that MTU and the monitor has printed it.
mark() {
	on h25 ip link set mark0 mtu "$1"
	for _ in $(seq 20); do
		grep -q "mark0: .* mtu $1 " "$FANCTL_TMP/monitor" && return 0
		sleep 0.1
	done
	return 1
}
# The monitor may not listen yet: mark again until it has seen one.
first=1400
until mark $first; do
	first=$((first - 1))
	[ $first -gt 1380 ] || {
		echo "ip monitor saw none of mark0's MTU changes" >&2
		exit 1
	}
done
modprobe_was=$(cat /proc/sys/kernel/modprobe)
echo /bin/false >/proc/sys/kernel/modprobe
status=0
out=$(fanctl_on h25 up 250.0.0.0/8 eth0/16 dhcp 2>&1) || status=$?
echo "$modprobe_was" >/proc/sys/kernel/modprobe
mark 1401 || { echo "ip monitor did not see mark0's mtu 1401" >&2; exit 1; }
kill "$monitor"
events=$(sed -n "/mtu $first /,/mtu 1401 /p" "$FANCTL_TMP/monitor" | grep -v -e '^ ' -e 'mark0: ' || true)
expect_eq "up without ipip: exit status" "$status" 1
expect_match "up without ipip: the option named" "$out" "CONFIG_NET_IPIP"
expect_eq "up without ipip: netlink events during up" "$events" ""
on h25 ip link set mark0 mtu 1500
netns_snapshot h25 >"$FANCTL_TMP/h25.after"
expect_same "h25 after up without ipip" "$FANCTL_TMP/h25.before" "$FANCTL_TMP/h25.after"
if grep -q '^ipip ' /proc/modules; then
	echo "ipip.ko was loaded although module loading was refused" >&2
	exit 1
fi
on h25 ip link del mark0
host_add h26 172.30.0.26/16
out=$(fanctl_on h26 up 250.0.0.0/8 eth0/24 2>&1)
echo "$out"
expect_match "h26 up without the fan module" "$out" "falling back to plain ipip on tunl0"
grep -q '^ipip ' /proc/modules
if [ -e /proc/sys/net/fan ]; then
	echo "/proc/sys/net/fan exists with Linux's ipip" >&2
	exit 1
fi
fanctl_on h26 down 250.0.0.0/8

host_add h27 172.30.0.27/16
host_add h28 172.30.0.28/16
for h in h27 h28; do
	netns_snapshot $h >"$FANCTL_TMP/$h.before"
done

# h28 first, alone, for the figures: wall time and kernel memory.
sync
echo 3 >/proc/sys/vm/drop_caches
slab0=$(meminfo_kib Slab)
unrec0=$(meminfo_kib SUnreclaim)
avail0=$(meminfo_kib MemAvailable)
cat /proc/slabinfo >"$FANCTL_TMP/slabinfo.0"
{ time out=$(fanctl_on h28 up 250.0.0.0/8 eth0/16 2>&1); } 2>"$FANCTL_TMP/time"
echo "$out"
cat /proc/slabinfo >"$FANCTL_TMP/slabinfo.1"
slab1=$(meminfo_kib Slab)
unrec1=$(meminfo_kib SUnreclaim)
avail1=$(meminfo_kib MemAvailable)
routes=$(on h28 ip route show dev tunl0 | grep -c ' via ')
expect_eq "h28 peer routes" "$routes" 65533
expect_match "h28 up says fallback" "$out" "falling back to plain ipip on tunl0 with 65533 peer routes"
expect_match "h28 up" "$out" "^fan-250-0-28: 250.0.0.0/8 over 172.30.0.28/16 is up .*fallback\)$"
echo "measure: fanctl up, fallback mode, 172.30.0.28/16 underlay ($routes routes), no dhcp: $(cat "$FANCTL_TMP/time")"
echo "measure: fallback routes' kernel memory: Slab +$(((slab1 - slab0) / 1024)) MiB, SUnreclaim +$(((unrec1 - unrec0) / 1024)) MiB, MemAvailable -$(((avail0 - avail1) / 1024)) MiB, about $(((unrec1 - unrec0) * 1024 / routes)) bytes per route (SUnreclaim)"
# Where it went, from /proc/slabinfo (active objects times object size).
echo "measure: slab caches that grew most: $(
	awk 'FNR == NR { if (FNR > 2) before[$1] = $2 * $4; next }
		FNR > 2 { d = $2 * $4 - before[$1]; if (d > 65536) printf "%s +%.1f MiB (%d B objects)\n", $1, d / 1048576, $4 }' \
		"$FANCTL_TMP/slabinfo.0" "$FANCTL_TMP/slabinfo.1" | sort -t+ -k2 -rn | head -6 | paste -sd ';' | sed 's/;/, /g'
)"

# One route per peer: h27's slice through h27, onlink, from the bridge address.
expect_match "route to h27" "$(on h28 ip route show 250.0.27.0/24)" \
	"^250.0.27.0/24 via 172.30.0.27 dev tunl0 .*src 250.0.28.1 .*onlink"
expect_match "h28 overlay route" "$(on h28 ip route show 250.0.0.0/8)" \
	"^250.0.0.0/8 dev tunl0 .*src 250.0.28.1"

start=$(now)
fanctl_on h27 up 250.0.0.0/8 eth0/16
end=$(now)
echo "measure: fanctl up, fallback mode, second host: $(elapsed "$start" "$end") s wall"

# `show` says which mode runs.
expect_eq "h28 show" "$(show_rows h28)" "Bridge Overlay Underlay Flags
fan-250-0-28 250.0.0.0/8 172.30.0.28/16 host-reserve 1 fallback"
fanctl_on h28 show --json | python3 -c '
import json, sys
f = json.load(sys.stdin)["fans"][0]
assert (f["bridge"], f["mode"]) == ("fan-250-0-28", "fallback"), f
'

# `up` twice changes nothing and succeeds.
netns_snapshot h28 >"$FANCTL_TMP/h28.up"
out=$(fanctl_on h28 up 250.0.0.0/8 eth0/16 2>&1)
expect_match "second up" "$out" "already up"
netns_snapshot h28 >"$FANCTL_TMP/h28.up2"
expect_same "h28 after a second up" "$FANCTL_TMP/h28.up" "$FANCTL_TMP/h28.up2"

# Containers on both hosts reach each other through tunl0.
container_add h27 c27 fan-250-0-27 250.0.27.2/24 250.0.27.1
container_add h28 c28 fan-250-0-28 250.0.28.2/24 250.0.28.1
tx27=$(link_stat h27 tunl0 tx_bytes)
tx28=$(link_stat h28 tunl0 tx_bytes)
on c27 ping -c 2 -i 0.2 -W 3 250.0.28.2
on c28 ping -c 2 -i 0.2 -W 3 250.0.27.2
tcp_transfer_check c27 c28 250.0.28.2 1000000
tcp_transfer_check c28 c27 250.0.27.2 1000000
expect_ge "h27 tunl0 tx_bytes" $(($(link_stat h27 tunl0 tx_bytes) - tx27)) 1000000
expect_ge "h28 tunl0 tx_bytes" $(($(link_stat h28 tunl0 tx_bytes) - tx28)) 1000000

# `down` refuses with a container attached; without it, the host is as it was.
out=$(expect_failure "down with c28 attached" fanctl_on h28 down 250.0.0.0/8 eth0/16)
expect_match "down refusal" "$out" "still has 1 attached interface \(v-c28\)"
expect_eq "routes after a refused down" "$(on h28 ip route show dev tunl0 | grep -c ' via ')" 65533
for h in 27 28; do
	container_del h$h c$h
	start=$(now)
	fanctl_on h$h down 250.0.0.0/8 eth0/16
	end=$(now)
	[ $h = 28 ] && echo "measure: fanctl down, fallback mode, 65533 routes: $(elapsed "$start" "$end") s wall"
	netns_snapshot h$h >"$FANCTL_TMP/h$h.after"
	expect_same "h$h after down" "$FANCTL_TMP/h$h.before" "$FANCTL_TMP/h$h.after"
done
slab2=$(meminfo_kib Slab)
echo "measure: Slab after both downs: $(((slab2 - slab0) / 1024)) MiB above before the first up"

# ---- Rollback: a failure at any step leaves the host as it was -------------
# A /24 underlay keeps it quick (253 peer routes); forwarding starts off so
# that its restoration shows.
on h27 sysctl -qw net.ipv4.ip_forward=0
netns_snapshot h27 >"$FANCTL_TMP/h27.before"
for step in ipip bridge tunnel route forwarding nat dhcp state; do
	export FANCTL_FAIL_AT=$step
	out=$(expect_failure "up failing at $step" fanctl_hooks_on h27 up 250.0.0.0/8 eth0/24 dhcp)
	unset FANCTL_FAIL_AT
	expect_match "failure at $step" "$out" "step $step failed"
	expect_match "rollback at $step" "$out" "everything this run made was removed again"
	netns_snapshot h27 >"$FANCTL_TMP/h27.after"
	expect_same "h27 after a failure at $step" "$FANCTL_TMP/h27.before" "$FANCTL_TMP/h27.after"
	expect_eq "h27 show after a failure at $step" "$(show_rows h27)" "Bridge Overlay Underlay Flags"
	expect_eq "processes in h27 after a failure at $step" "$(ip netns pids fan-h27 | wc -l)" 0
done
# A route the kernel refuses in the middle of a batch (one already there:
# what fanctl would add for 172.30.0.77, the 76th of 253 in one sendmsg)
# fails the up, and the routes added around it are removed again.
on h27 ip link set tunl0 up
on h27 ip route add 250.77.0.0/16 via 172.30.0.77 dev tunl0 onlink metric 77
netns_snapshot h27 >"$FANCTL_TMP/h27.taken"
out=$(expect_failure "up with a route taken" fanctl_on h27 up 250.0.0.0/8 eth0/24)
expect_match "route taken" "$out" "cannot add route 250\.77\.0\.0/16 .*\(76 of 253 .*File exists"
netns_snapshot h27 >"$FANCTL_TMP/h27.after"
expect_same "h27 after a refused route" "$FANCTL_TMP/h27.taken" "$FANCTL_TMP/h27.after"
on h27 ip route del 250.77.0.0/16 via 172.30.0.77 dev tunl0 onlink metric 77
on h27 ip link set tunl0 down
netns_snapshot h27 >"$FANCTL_TMP/h27.after"
expect_same "h27 with the route removed" "$FANCTL_TMP/h27.before" "$FANCTL_TMP/h27.after"

# The same fan then comes up fine.
fanctl_on h27 up 250.0.0.0/8 eth0/24 dhcp
expect_eq "h27 peer routes (/24)" "$(on h27 ip route show dev tunl0 | grep -c ' via ')" 253
fanctl_on h27 down 250.0.0.0/8
netns_snapshot h27 >"$FANCTL_TMP/h27.after"
expect_same "h27 after up and down" "$FANCTL_TMP/h27.before" "$FANCTL_TMP/h27.after"

# A failure after the 65,533 routes of a /16 are in takes them all out again.
export FANCTL_FAIL_AT=nat
out=$(expect_failure "up failing at nat" fanctl_hooks_on h27 up 250.0.0.0/8 eth0/16)
unset FANCTL_FAIL_AT
expect_match "failure at nat (/16)" "$out" "step nat failed"
netns_snapshot h27 >"$FANCTL_TMP/h27.after"
expect_same "h27 after a failure at nat (/16)" "$FANCTL_TMP/h27.before" "$FANCTL_TMP/h27.after"
echo "fanctl-fallback: all checks passed"
