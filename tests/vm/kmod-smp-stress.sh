#!/usr/bin/env bash
# SMP stress: traffic on every CPU through three fan devices per host while
# the configuration around them churns, in FAN_STRESS_ROUNDS (2) rounds that
# share FAN_STRESS_SECONDS (60) of churn; the module is unloaded and loaded
# again between rounds. Needs FAN_STRESS_MIN_CPUS (2) CPUs or more.
#
# Three hosts, each with tunl0 (250.0.0.0/8 over 172.30.0.0/16) and the fan
# devices fan1 and fan2 (251 over 172.31, 252 over 172.32, created with a
# `local` address so that they do not collide with tunl0), and one container
# with an address in each overlay. On every CPU (taskset), a ping every 2 ms
# over tunl0, an iperf3 TCP stream over fan1 and an iperf3 UDP stream over
# fan2, each between containers on different hosts; rates are capped so
# that the churn still gets CPU time under TCG. Meanwhile, on every host:
# maps replaced on tunl0 and fan1 (the map in use re-applied, extra maps
# added and removed), fan2 deleted and created, underlay routes flushed and
# re-added, the path MTU changed (a peer route with `mtu lock`, `ip route
# change ... mtu`, the underlay link's MTU), an address added and removed,
# the underlay link bounced; and a fourth host joins the fan, with a device
# moved in from another namespace, is pinged and has its namespaces deleted,
# over and over.
#
# Each round must move traffic on every CPU and on tunl0 and fan1 of every
# host (both ways), every churn request must succeed, and the fan must carry
# a ping over each overlay once the churn stops. Then every namespace goes,
# the module's reference count is 0, rmmod succeeds, and the kernel never
# logs "unregister_netdevice: waiting for" (a device reference leaked);
# whatever blocks for more than FAN_STRESS_WAIT (180) seconds fails the
# test. The harness fails the run on any kernel report, and on the debug
# kernel on a kmemleak report after the test.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

min_cpus=${FAN_STRESS_MIN_CPUS:-2}
rounds=${FAN_STRESS_ROUNDS:-2}
seconds=${FAN_STRESS_SECONDS:-60}
# the longest a churn step, a traffic command or rmmod may take to end
wait_seconds=${FAN_STRESS_WAIT:-180}
# per round, host and device: packets each way (the debug kernel is slow)
min_packets=${FAN_STRESS_MIN_PACKETS:-100}
hosts=(27 28 29)
transient=30
work=$(mktemp -d)
stop=$work/stop
loops=()

# Whatever fails, no loop survives the test to touch namespaces again.
stop_loops() {
	touch "$stop"
	if [ ${#loops[@]} -gt 0 ]; then
		kill "${loops[@]}" 2>/dev/null || true
		wait "${loops[@]}" 2>/dev/null || true
	fi
	loops=()
}
trap 'stop_loops; _fan_cleanup; rm -rf "$work"' EXIT

# wait_for WHAT PID...: the processes end within FAN_STRESS_WAIT seconds, or
# the test fails with the end of the kernel log (a device that cannot go
# blocks whoever deletes it, rmmod included).
wait_for() {
	local what=$1 waited=0
	shift
	while kill -0 "$@" 2>/dev/null; do
		if [ $((waited += 1)) -gt "$wait_seconds" ]; then
			echo "$what: still running after ${wait_seconds} s; kernel log:" >&2
			dmesg | tail -30 >&2
			exit 1
		fi
		sleep 1
	done
}

cpus=$(nproc)
if [ "$cpus" -lt "$min_cpus" ]; then
	echo "this test needs at least $min_cpus CPUs (FAN_STRESS_MIN_CPUS), the guest has $cpus" >&2
	exit 1
fi
command -v taskset >/dev/null || { echo "taskset is missing" >&2; exit 1; }
round_seconds=$((seconds / rounds > 5 ? seconds / rounds : 5))
leaks_before=$(dmesg | grep -c 'unregister_netdevice: waiting for' || true)

# One python per host and round: starting a process per netlink request
# costs about a second under TCG.
cat >"$work/stress.py" <<'EOF'
"""Run in a host's namespace:
  stress.py setup H N      tunl0 and fan1..fan<N-1> of host H get their maps
                           (fan devices created, with their local address)
  stress.py churn H PEER STOP
                           churn until the file STOP exists, then print
                           "maps devices ip-changes fan2-packets fan2-bytes errors"
Device K carries 25K.0.0.0/8 over 172.3K.0.0/16; the host is 172.3K.0.H.
"""
import os, subprocess, sys
sys.path.insert(0, os.environ["FAN_LIB"])
import fannl as f

count = dict(maps=0, devices=0, changes=0, packets=0, bytes=0, errors=0)

def dev(k):
    return "tunl0" if k == 0 else f"fan{k}"

def fan_map(k):
    return f"25{k}.0.0.0/8:172.3{k}.0.0/16"

def maps(k, h, *items, create=False):
    count["devices" if create else "maps"] += 1
    local = f"172.3{k}.0.{h}" if k else None  # a changelink carries it, as ip(8)'s do
    try:
        f.configure(dev(k), [("--map", m) for m in items], create, local=local)
    except OSError as e:
        count["errors"] += 1
        print(f"{dev(k)} {items}: {e}", file=sys.stderr)

def ip_batch(*commands):
    """Run COMMANDS in one ip(8) process (one process start under TCG, not
    one a command) and replace maps meanwhile, from this other CPU."""
    count["changes"] += len(commands)
    ip = subprocess.Popen(["ip", "-force", "-batch", "-"], stdin=subprocess.PIPE, text=True)
    ip.stdin.write("".join(c + "\n" for c in commands))
    ip.stdin.close()
    while ip.poll() is None:
        maps(*next(map_steps))
    if ip.returncode:
        count["errors"] += 1

def map_replacements(h):
    """Extra maps come and go beside the map in use, which is re-applied (a
    map is removed by giving its overlay the underlay 0.0.0.0/0)."""
    i = 0
    while True:
        yield 0, h, f"10.{i}.0.0/16:172.30.{h}.0/24"
        yield 0, h, f"10.{i}.0.0/16:0.0.0.0/0", "250.0.0.0/8:0.0.0.0/0", fan_map(0)
        yield 0, h, "0.0.0.0/0:0.0.0.0/0", fan_map(0)  # flushed and re-added
        yield 1, h, f"11.{i}.0.0/16:172.31.{h}.0/24", "251.0.0.0/8:0.0.0.0/0", fan_map(1)
        yield 1, h, "0.0.0.0/0:0.0.0.0/0", fan_map(1)
        i = (i + 1) % 256

def sent(what):  # fan2's counter, before fan2 goes
    try:
        with open(f"/sys/class/net/fan2/statistics/tx_{what}") as s:
            return int(s.read())
    except OSError:
        return 0

def churn(h, peer, stop):
    connected = f"172.31.0.0/16 dev eth0 proto kernel scope link src 172.31.0.{h}"
    while not os.path.exists(stop):
        # fan2 goes and comes back under traffic
        count["packets"] += sent("packets")
        count["bytes"] += sent("bytes")
        ip_batch("link del fan2")
        maps(2, h, fan_map(2), create=True)
        ip_batch(
            "link set fan2 up",
            f"route add 252.0.0.0/8 dev fan2 src 252.0.{h}.1",
            # the underlay's routes flushed and re-added
            "route flush dev eth0",
            *(f"route add 172.3{k}.0.0/16 dev eth0 proto kernel scope link src 172.3{k}.0.{h}"
              for k in range(3)),
            # path MTUs: a smaller one to the peer, on the link, on fan1's underlay
            f"route add 172.30.0.{peer}/32 dev eth0 mtu lock 1400",
            "link set eth0 mtu 1500",
            f"route change {connected} mtu 1300",
            "link set eth0 mtu 9001",
            f"route change {connected}",
            f"route del 172.30.0.{peer}/32",
            # the host's own addresses change (the local-address cache follows)
            f"addr add 172.30.200.{h}/32 dev lo",
            f"addr del 172.30.200.{h}/32 dev lo",
            # the underlay link bounces: routes and neighbours go and come back
            "link set eth0 down",
            "link set eth0 up")
    for k in range(2):  # no extra map left
        maps(k, h, "0.0.0.0/0:0.0.0.0/0", fan_map(k))
    print(*count.values())

if sys.argv[1] == "setup":
    h = sys.argv[2]
    for k in range(int(sys.argv[3])):
        maps(k, h, fan_map(k), create=not os.path.exists(f"/sys/class/net/{dev(k)}"))
    sys.exit(1 if count["errors"] else 0)
map_steps = map_replacements(sys.argv[2])
churn(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
EOF
export FAN_LIB

# next_host H: the host after H in hosts (its peer in the churn and checks).
next_host() {
	echo $((($1 - 26) % 3 + 27))
}

# stress_host H N: host H on the underlay with tunl0 and fan1..fan<N-1>,
# each routing its overlay from the bridge br0 (address 25K.0.H.1/24).
stress_host() {
	local h=$1 n=$2 k
	host_add h$h 172.30.0.$h/16
	bridge_add h$h br0 250.0.$h.1/24
	for k in $(seq 1 $((n - 1))); do
		echo "addr add 172.3$k.0.$h/16 dev eth0"
		echo "addr add 25$k.0.$h.1/24 dev br0"
	done | ip -n fan-h$h -batch -
	on h$h python3 "$work/stress.py" setup "$h" "$n"
	for k in $(seq 0 $((n - 1))); do
		local d=fan$k
		[ "$k" = 0 ] && d=tunl0
		echo "link set $d up"
		echo "route add 25$k.0.0.0/8 dev $d src 25$k.0.$h.1"
	done | ip -n fan-h$h -batch -
}

# A fourth host joins the fan with tunl0, fan1 and a fan device moved in
# from another namespace, is pinged, and goes under traffic, again and
# again: the moved device with the namespace it was made in (a tunnel
# belongs to the namespace of its underlay), then the host's namespace.
# Writes "cycles errors" to the file transient after each cycle; the first
# cycle ends even if STOP exists already.
transient_churn() {
	local cycles=0 errors=0 h=$transient
	while [ ! -e "$stop" ] || [ $((cycles + errors)) = 0 ]; do
		if stress_host "$h" 2 &&
			ip netns add fan-move &&
			ip netns exec fan-move python3 "$FAN_LIB/fannl.py" add fanm \
				--local 10.30.0.1 --map 253.0.0.0/8:10.30.0.0/16 &&
			ip -n fan-move link set fanm netns fan-h$h &&
			ip -n fan-h$h link set fanm up; then
			cycles=$((cycles + 1))
		else
			errors=$((errors + 1))
		fi
		sleep 1
		ip netns del fan-move || errors=$((errors + 1))
		sleep 1
		ip netns del fan-h$h || errors=$((errors + 1))
		echo "$cycles $errors" >"$work/transient"
	done
}

# flow CPU CONTAINER COMMAND...: COMMAND in CONTAINER on CPU, again and
# again until STOP exists (a churn step may end it, a black hole stall it).
flow() {
	local cpu=$1 name=$2
	shift 2
	exec 2>/dev/null # the shell's word on each killed command
	while [ ! -e "$stop" ]; do
		timeout -s KILL 15 ip netns exec "fan-$name" taskset -c "$cpu" nice -n 10 "$@" \
			>/dev/null || sleep 0.2
	done
}

# Packets and bytes of tunl0 and fan1 of every host, and packets processed
# by each CPU: "NAME VALUE" lines.
counters() {
	local h path value dev
	for h in "${hosts[@]}"; do
		while IFS=: read -r path value; do
			dev=${path#/sys/class/net/}
			echo "h$h.${dev%%/*}.${path##*/} $value"
		done < <(on h$h grep -H . /sys/class/net/{tunl0,fan1}/statistics/{tx_packets,rx_packets,tx_bytes})
	done
	local cpu=0 processed _
	while read -r processed _; do # one line per CPU, in hexadecimal
		echo "cpu$cpu.processed $((16#$processed))"
		cpu=$((cpu + 1))
	done </proc/net/softnet_stat
}

total_maps=0 total_devices=0 total_changes=0 total_packets=0 total_bytes=0
total_transient=0 total_namespaces=0
start=$(date +%s)
for round in $(seq "$rounds"); do
	round_start=$(date +%s)
	fan_module_load
	_fan_namespaces+=(fan-h$transient fan-move)
	underlay_create 9001
	for h in "${hosts[@]}"; do
		stress_host "$h" 3
		container_add h$h c$h br0 250.0.$h.2/24 250.0.$h.1
		for k in 1 2; do
			echo "addr add 25$k.0.$h.2/24 dev eth0"
			echo "route add 25$k.0.0.0/8 via 25$k.0.$h.1"
		done | ip -n fan-c$h -batch -
	done
	for h in "${hosts[@]}"; do # neighbours resolved before the clock starts
		on c$h ping -c 1 -W 5 250.0.$(next_host "$h").2 >/dev/null
	done

	# Per CPU: pings over tunl0, TCP over fan1, UDP over fan2, from
	# three different hosts; at least three groups, so that every host sends
	# and receives on every device even with two CPUs.
	rm -f "$stop"
	declare -A before=()
	while read -r name value; do before[$name]=$value; done < <(counters)
	groups=$((cpus > 3 ? cpus : 3))
	for g in $(seq 0 $((groups - 1))); do
		cpu=$((g % cpus))
		a=${hosts[g % 3]} b=${hosts[(g + 1) % 3]} c=${hosts[(g + 2) % 3]}
		on c$c iperf3 -s -D -p $((5201 + g)) --idle-timeout 5 --rcv-timeout 3000
		on c$a iperf3 -s -D -p $((5401 + g)) --idle-timeout 5 --rcv-timeout 3000
		_fan_wait_listen c$c $((5201 + g))
		_fan_wait_listen c$a $((5401 + g))
		flow "$cpu" c$a ping -q -i 0.002 -s 1000 -w 10 250.0.$b.2 &
		loops+=($!)
		flow "$cpu" c$b iperf3 -c 251.0.$c.2 -p $((5201 + g)) -t 10 --connect-timeout 2000 -b 20M &
		loops+=($!)
		flow "$cpu" c$c iperf3 -c 252.0.$a.2 -p $((5401 + g)) -t 10 --connect-timeout 2000 \
			-u -b 10M -l 1000 &
		loops+=($!)
	done
	# the transient host is pinged over tunl0 and fan1
	flow 0 c${hosts[0]} ping -q -i 0.01 -w 10 250.0.$transient.1 &
	loops+=($!)
	flow $((cpus - 1)) c${hosts[1]} ping -q -i 0.01 -w 10 251.0.$transient.1 &
	loops+=($!)
	for h in "${hosts[@]}"; do
		peer=$(next_host "$h")
		on h$h python3 "$work/stress.py" churn "$h" "$peer" "$stop" >"$work/churn-$h" &
		loops+=($!)
	done
	rm -f "$work/transient"
	transient_churn &
	transient_loop=$!
	loops+=($!)

	echo "round $round: topology up in $(($(date +%s) - round_start)) s, $((groups * 3 + 2)) flows on $cpus CPUs"
	sleep "$round_seconds"
	touch "$stop"
	for h in "${hosts[@]}"; do # the traffic ends now, the churn at the end of its step
		ip netns pids fan-c$h | xargs -r kill 2>/dev/null || true
	done
	# the transient host's cycle in progress is cut short (not its first)
	while [ ! -s "$work/transient" ] && kill -0 "$transient_loop" 2>/dev/null; do sleep 1; done
	kill "$transient_loop" 2>/dev/null || true
	wait_for "round $round: churn and traffic" "${loops[@]}"
	wait "${loops[@]}" 2>/dev/null || true
	loops=()

	failed=0
	declare -A after=()
	while read -r name value; do after[$name]=$value; done < <(counters)
	packets=0 bytes=0
	for h in "${hosts[@]}"; do
		for d in tunl0 fan1; do
			for s in tx_packets rx_packets; do
				expect_ge "round $round: h$h $d $s" \
					$((after[h$h.$d.$s] - before[h$h.$d.$s])) "$min_packets" || failed=1
			done
			packets=$((packets + after[h$h.$d.tx_packets] - before[h$h.$d.tx_packets]))
			bytes=$((bytes + after[h$h.$d.tx_bytes] - before[h$h.$d.tx_bytes]))
		done
	done
	for cpu in $(seq 0 $((cpus - 1))); do
		expect_ge "round $round: packets processed by CPU $cpu" \
			$((after[cpu$cpu.processed] - before[cpu$cpu.processed])) "$min_packets" || failed=1
	done
	for h in "${hosts[@]}"; do
		read -r maps devices changes fan2_packets fan2_bytes errors <"$work/churn-$h" || true
		echo "round $round: h$h: $maps map replacements, $devices fan2 created, $changes ip(8) changes, $errors refused"
		expect_ge "round $round: h$h map replacements" "${maps:-0}" 5 || failed=1
		expect_eq "round $round: h$h refused churn requests" "${errors:-1}" 0 || failed=1
		total_maps=$((total_maps + maps)) total_devices=$((total_devices + devices))
		total_changes=$((total_changes + changes))
		packets=$((packets + fan2_packets)) bytes=$((bytes + fan2_bytes))
	done
	read -r cycles errors <"$work/transient" || true
	expect_ge "round $round: transient host cycles" "${cycles:-0}" 1 || failed=1
	expect_eq "round $round: transient host failures" "${errors:-1}" 0 || failed=1
	total_transient=$((total_transient + cycles))
	total_packets=$((total_packets + packets)) total_bytes=$((total_bytes + bytes))
	echo "round $round: $packets packets, $((bytes / 1000000)) MB through the fan devices in ${round_seconds} s"

	# the churn over, every overlay carries traffic between every two hosts
	for h in "${hosts[@]}"; do
		peer=$(next_host "$h")
		for k in 0 1 2; do
			on c$h ping -c 2 -i 0.2 -W 5 25$k.0.$peer.2 >/dev/null ||
				{ echo "round $round: c$h cannot ping 25$k.0.$peer.2" >&2; failed=1; }
		done
	done
	[ "$failed" = 0 ] || exit 1

	# Every namespace gone, the module must unload at once.
	total_namespaces=$((total_namespaces + ${#_fan_namespaces[@]} - 2 + 2 * cycles))
	_fan_cleanup
	for _ in $(seq 50); do
		[ "$(cat /sys/module/fan_ipip/refcnt)" = 0 ] && break
		sleep 0.2
	done
	expect_eq "round $round: fan_ipip refcount" "$(cat /sys/module/fan_ipip/refcnt)" 0
	rmmod fan_ipip &
	wait_for "round $round: rmmod fan_ipip" $!
	wait $! || { echo "round $round: rmmod fan_ipip failed" >&2; exit 1; }
	if grep -q '^fan_ipip ' /proc/modules; then
		echo "round $round: fan_ipip still loaded after rmmod" >&2
		exit 1
	fi
	leaks=$(dmesg | grep -c 'unregister_netdevice: waiting for' || true)
	if [ "$leaks" != "$leaks_before" ]; then
		dmesg | grep 'unregister_netdevice: waiting for' | tail -5 >&2
		exit 1
	fi
done
fan_module_load # the last round's unload is followed by a load, as the others
expect_eq "tunl0 after the last load" "$(cat /sys/class/net/tunl0/type)" 768

echo "measure: cpus $cpus, rounds $rounds of ${round_seconds} s, $(($(date +%s) - start)) s in all"
echo "measure: traffic $total_packets packets, $((total_bytes / 1000000)) MB sent by the fan devices"
echo "measure: map replacements $total_maps"
echo "measure: fan devices created and deleted $total_devices (fan2) + $((4 * total_transient)) (transient hosts, with their tunl0)"
echo "measure: namespaces created and deleted $total_namespaces"
echo "measure: ip(8) changes (underlay routes, MTUs, addresses, links) $total_changes"
echo "measure: module unloads and loads $rounds"
