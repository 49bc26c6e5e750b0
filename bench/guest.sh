#!/usr/bin/env bash
# The fan benchmarks, inside the VM (started by bench/run through qemu/run).
#
#   bench/guest.sh [--rounds N] [--seconds S] [--quick] [--only net|setup]
#                  [--clock wall|icount-shift-N]   (how the VM keeps time: noted)
#                  [--configs "a b ..."] [--tests "tcp1 ..."]   (subsets, for tests)
#                  [--quiesce S]   (the longest wait for an idle guest, 30 s)
#
# Two simulated hosts (h27, h28) on one underlay, a container on each (c27,
# c28), and the ways to carry c27 -> c28 traffic that are compared:
#
#   a  no tunnel: plain routing of the overlay over the underlay (the ceiling)
#   b  Linux's C ipip.ko, ipip0 with a fixed remote
#   c  our fan_ipip.ko, ipip0 with a fixed remote (no fan map)
#   d  our fan_ipip.ko, the fan map 250.0.0.0/8:172.30.0.0/16 on tunl0
#   e  Linux's C ipip.ko, tunl0 with no remote and the routes fanctl's
#      fallback installs for the /16 underlay: one onlink route per peer
#      host, 65,533, and the overlay route (like d, a destination per packet)
#   bf b inside UDP: Linux's FOU (`encap fou`, port 5555), as `fanctl up
#      ... encap fou` sends where an underlay drops IP protocol 4
#   df d inside UDP: the fan map on a FOU device of its own, as fanctl's
#      fan-fou
# and, UDP 64 B only, variants of d:
#   dnv   d with net.fan.validate_source=0 (no source check on receive)
#   d16, d64, d256: d with 15, 63, 255 more maps, the one in use last
#
# The underlay's MTU is 1508 and the overlay's 1480: every configuration
# carries the same inner packets, FOU's 8 more bytes included.
#
# Each round runs a b c e d bf df dnv d16 d64 d256 in that order (the
# configurations alternate; bench/report.py reports medians over rounds),
# each measured once the guest is idle again after its setup.
# Then the setup rounds: `fanctl up`/`fanctl down` with the module and in
# fallback mode (plain ipip, one route per peer of a /16 underlay).
#
# Results go to stdout, one line each: "BENCH key=value ...". Progress goes
# to stderr.

. "$(dirname "$0")/../tests/lib/hosts.sh"
. "$(dirname "$0")/../tests/lib/fan.sh"

ROUNDS=3
SECONDS_PER_TEST=5
QUICK=0
ONLY=all
CLOCK=wall
CONFIGS="a b c e d bf df dnv d16 d64 d256"
TESTS="tcp1 tcp4 udp64 udp512"
QUIESCE=30
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) SECONDS_PER_TEST=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--only) ONLY=$2; shift 2 ;;
	--clock) CLOCK=$2; shift 2 ;;
	--configs) CONFIGS=$2; shift 2 ;;
	--tests) TESTS=$2; shift 2 ;;
	--quiesce) QUIESCE=$2; shift 2 ;;
	*) echo "guest.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
FANCTL=${FANCTL:-$REPO/target/release/fanctl}
WORK=$(mktemp -d /tmp/fan-bench.XXXXXX)
SERVER=250.0.28.2
OVERLAY_MTU=1480
UNDERLAY_MTU=$((OVERLAY_MTU + 28)) # room for FOU's outer IP and UDP headers
FOU_PORT=5555

BENCH_START=$EPOCHREALTIME
log() { echo "bench: [$(awk -v a="$BENCH_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%4.0f", b - a }') s] $*" >&2; }
# A result line: BENCH key=value ... (values never hold blanks).
emit() { echo "BENCH $*"; }
warn() {
	log "WARNING: $*"
	emit "kind=warning msg=$(tr ' =' '_:' <<<"$*")"
}

# Busy CPU time of the whole guest so far, in jiffies (USER_HZ, 1/100 s):
# everything in /proc/stat's cpu line but idle and iowait.
cpu_busy() {
	local _cpu user nice system idle iowait irq softirq rest
	read -r _cpu user nice system idle iowait irq softirq rest </proc/stat
	echo $((user + nice + system + irq + softirq))
}

# ---------------------------------------------------------------- topology

drivers_unload() {
	if grep -q '^fan_ipip ' /proc/modules; then rmmod fan_ipip; fi
	if grep -q '^ipip ' /proc/modules; then rmmod ipip; fi
	return 0
}

driver_linux() {
	drivers_unload
	modprobe ipip
	grep -q '^ipip ' /proc/modules
}

driver_ours() {
	drivers_unload
	fan_module_load
	[ "$(cat /proc/sys/net/fan/version)" = 3 ]
}

peer_of() { echo $((55 - $1)); } # 27 <-> 28

# A process parked in each namespace whose counters are read, so that
# /proc/PID/net/dev gives them without `ip netns exec` (which remounts
# /sys and costs a tenth of a second or more under TCG).
declare -A ANCHOR
anchor() {
	ip netns exec "fan-$1" sleep infinity &
	ANCHOR[$1]=$!
	disown
}

# A counter of device DEV in namespace NAME: rx_packets or tx_packets. Bash
# builtins only: no process to start, so samples are quick and on time.
counter() { # NAME DEV FIELD
	local line dev rest
	local -a f
	while read -r line; do
		dev=${line%%:*}
		[ "$dev" = "$2" ] || continue
		rest=${line#*:}
		read -r -a f <<<"$rest"
		if [ "$3" = rx_packets ]; then echo "${f[1]}"; else echo "${f[9]}"; fi
		return 0
	done <"/proc/${ANCHOR[$1]}/net/dev"
	echo 0
}

topology_create() {
	underlay_create $UNDERLAY_MTU
	local h
	for h in 27 28; do
		host_add h$h 172.30.0.$h/16
		bridge_add h$h br0 250.0.$h.1/24
		on h$h ip link set br0 mtu $OVERLAY_MTU
		container_add h$h c$h br0 250.0.$h.2/24 250.0.$h.1
	done
	anchor h27
	anchor c28
}

# Undo whatever configuration ran last: unloading the tunnel drivers takes
# their devices and the routes through them; plain routes go by hand.
config_clear() {
	local h
	drivers_unload
	for h in 27 28; do
		on h$h "$FAN_IP" fou del port $FOU_PORT 2>/dev/null || true
		on h$h ip route del 250.0.$(peer_of $h).0/24 2>/dev/null || true
		on h$h ip route del 250.0.0.0/8 2>/dev/null || true
	done
}

# The device that carries the overlay in configuration $1 (none for a).
tunnel_dev() {
	case $1 in
	a) echo eth0 ;;
	b | c | bf) echo ipip0 ;;
	df) echo fanfou ;;
	*) echo tunl0 ;;
	esac
}

fou_ports_add() {
	local h
	for h in 27 28; do
		on h$h "$FAN_IP" fou add port $FOU_PORT ipproto 4
	done
}

FOU_ENCAP=(encap fou encap-sport auto encap-dport $FOU_PORT)

# fixed_remote_tunnels [ENCAP...]: ipip0 on each host to the other.
fixed_remote_tunnels() {
	local h p
	for h in 27 28; do
		p=$(peer_of $h)
		on h$h "$FAN_IP" link add ipip0 type ipip local 172.30.0.$h remote 172.30.0.$p "$@"
		on h$h ip link set ipip0 up
		on h$h ip route add 250.0.$p.0/24 dev ipip0
	done
}

# N fan maps on tunl0 of both hosts, in one request: the whole table is
# flushed, N-1 maps that no traffic uses are added (overlays on both sides
# of 250/8: 10.K.0.0/16 and 251.K.0.0/16), and the map in use comes last.
fan_maps_set() {
	local n=$1 h k args=(--map 0.0.0.0/0:0.0.0.0/0)
	for ((k = 0; k < n - 1; k++)); do
		if ((k % 2 == 0)); then
			args+=(--map "10.$((k / 2)).0.0/16:192.168.$((k % 256)).0/24")
		else
			args+=(--map "251.$((k / 2)).0.0/16:192.168.$((k % 256)).0/24")
		fi
	done
	args+=(--map 250.0.0.0/8:172.30.0.0/16)
	for h in 27 28; do
		on h$h python3 "$FAN_LIB/fannl.py" change tunl0 "${args[@]}"
		local got
		got=$(on h$h python3 "$FAN_LIB/fannl.py" dump tunl0 | wc -l)
		[ "$got" = "$n" ] || {
			warn "h$h tunl0 holds $got maps, expected $n"
			return 1
		}
	done
}

# (e)'s routes are fanctl's own: for each host, fanctl runs in fallback
# mode in a scratch namespace whose dummy eth0 holds that host's underlay
# address, and what it put on tunl0 is kept as `ip -batch` lines. Not in
# the host itself: fanctl also makes a bridge and NAT, which would bring
# conntrack into (e)'s data path and no other's. Needs ipip, not the fan.
fallback_routes_get() {
	local h n peers dir
	for h in 27 28; do
		dir=$WORK/x$h
		mkdir -p "$dir"
		_fan_ns_add fan-x$h
		ip -n fan-x$h link add eth0 mtu 1500 type dummy
		ip -n fan-x$h addr add 172.30.0.$h/16 dev eth0
		ip -n fan-x$h link set eth0 up
		local env=(env FAN_RUN_DIR="$dir/run" FAN_STATE_DIR="$dir/state" FAN_CONFIG="$dir/fan")
		if ! on x$h "${env[@]}" "$FANCTL" up 250.0.0.0/8 172.30.0.$h/16 2>"$dir/err" >/dev/null; then
			warn "fanctl up in fallback mode (for h$h) failed: $(head -3 "$dir/err")"
			return 1
		fi
		grep -q '"mode": *"fallback"' <<<"$(on x$h "${env[@]}" "$FANCTL" show --json)" ||
			warn "fanctl (for h$h) does not say mode fallback"
		# -d: type, protocol and scope too, so that the replay is exact.
		on x$h ip -4 -d route show dev tunl0 >"$dir/routes"
		on x$h "${env[@]}" "$FANCTL" down 250.0.0.0/8 172.30.0.$h/16 2>"$dir/err" >/dev/null ||
			warn "fanctl down (for h$h) failed: $(head -3 "$dir/err")"
		ip netns del fan-x$h
		sed 's/^/route add /; s/$/ dev tunl0/' "$dir/routes" >"$WORK/e.h$h.batch"
		n=$(wc -l <"$dir/routes")
		peers=$(grep -c ' via ' "$dir/routes" || true)
		# Every address of the /16 but its network, broadcast and own.
		[ "$peers" = $(((1 << 16) - 3)) ] ||
			warn "fanctl's fallback (for h$h) made $peers peer routes, expected $(((1 << 16) - 3))"
		grep -q "^unicast 250\.0\.$(peer_of $h)\.0/24 via 172\.30\.0\.$(peer_of $h) .* onlink" "$dir/routes" ||
			warn "fanctl's fallback routes (for h$h) have no route to h$(peer_of $h)'s slice"
		emit "kind=routes cfg=e host=h$h fanctl_routes=$n fanctl_peer_routes=$peers"
	done
}

# After (e)'s first setup: each host's tunl0 holds exactly what fanctl made.
fallback_routes_check() {
	local h n
	for h in 27 28; do
		on h$h ip -4 -d route show dev tunl0 >"$WORK/e.h$h.installed"
		n=$(wc -l <"$WORK/e.h$h.installed")
		if cmp -s "$WORK/x$h/routes" "$WORK/e.h$h.installed"; then
			emit "kind=routes cfg=e host=h$h installed_routes=$n same_as_fanctl=1"
		else
			emit "kind=routes cfg=e host=h$h installed_routes=$n same_as_fanctl=0"
			warn "h$h tunl0 routes differ from fanctl's: $(diff "$WORK/x$h/routes" "$WORK/e.h$h.installed" | grep -c '^[<>]') lines"
		fi
	done
}

# Waits until the guest has been idle for half a second (at most $QUIESCE
# s): the kernel frees a large route set after an RCU grace period and a
# deleted namespace in a workqueue, work that must not run in a measurement.
quiesce() {
	local i b0 b1
	for i in $(seq $((QUIESCE * 2))); do
		b0=$(cpu_busy)
		sleep 0.5
		b1=$(cpu_busy)
		[ $((b1 - b0)) -gt 5 ] || return 0
	done
	warn "the guest was still busy $QUIESCE s after a setup"
}

config_set() {
	local cfg=$1 h
	case $cfg in
	a)
		config_clear
		for h in 27 28; do
			on h$h ip route add 250.0.$(peer_of $h).0/24 via 172.30.0.$(peer_of $h) dev eth0
		done
		;;
	b)
		config_clear
		driver_linux
		fixed_remote_tunnels
		;;
	c)
		config_clear
		driver_ours
		fixed_remote_tunnels
		;;
	d)
		config_clear
		driver_ours
		for h in 27 28; do
			on h$h ip link set tunl0 up
			on h$h ip route add 250.0.0.0/8 dev tunl0 src 250.0.$h.1
		done
		fan_maps_set 1
		;;
	bf)
		config_clear
		driver_linux
		fou_ports_add
		fixed_remote_tunnels "${FOU_ENCAP[@]}"
		;;
	df)
		config_clear
		driver_ours
		fou_ports_add
		for h in 27 28; do
			on h$h "$FAN_IP" link add fanfou type ipip local 172.30.0.$h "${FOU_ENCAP[@]}" \
				fan-map 250.0.0.0/8:172.30.0.0/16
			on h$h ip link set fanfou mtu $OVERLAY_MTU up
			on h$h ip route add 250.0.0.0/8 dev fanfou src 250.0.$h.1
		done
		;;
	e)
		config_clear
		driver_linux
		for h in 27 28; do
			# Up first, as fanctl does: onlink routes need it.
			on h$h ip link set tunl0 up
			on h$h ip -batch "$WORK/e.h$h.batch"
		done
		;;
	dnv | d[0-9]*)
		# Variants of d: d is set up again only if it is not in place.
		if ! grep -q '^fan_ipip ' /proc/modules ||
			! on h27 ip route show 250.0.0.0/8 | grep -q tunl0; then
			config_set d
		fi
		local n=1 validate=1 h
		case $cfg in
		dnv) validate=0 ;;
		*) n=${cfg#d} ;;
		esac
		fan_maps_set "$n"
		for h in 27 28; do
			on h$h sysctl -qw net.fan.validate_source=$validate
		done
		;;
	esac
}

# ---------------------------------------------------------------- iperf3

iperf_server_start() {
	on c28 iperf3 -s >/dev/null 2>&1 &
	IPERF_SERVER=$!
	_fan_wait_listen c28 5201
}

iperf_server_restart() {
	kill "$IPERF_SERVER" 2>/dev/null || true
	ip netns pids fan-c28 | xargs -r kill -9 2>/dev/null || true
	wait "$IPERF_SERVER" 2>/dev/null || true
	iperf_server_start
}

# Samples, in the background, the guest's busy CPU time and c28's received
# packet count at 1 s into a run and again half a second before its end:
# CPU per packet over that steady window leaves out iperf3's start and exit.
window_sample() { # SECONDS FILE
	(
		sleep 1
		local t1=$EPOCHREALTIME b1 r1 t2 b2 r2
		b1=$(cpu_busy)
		r1=$(counter c28 eth0 rx_packets)
		sleep "$(($1 - 2)).5"
		t2=$EPOCHREALTIME
		b2=$(cpu_busy)
		r2=$(counter c28 eth0 rx_packets)
		echo "$t1 $b1 $r1 $t2 $b2 $r2" >"$2"
	) &
	SAMPLER=$!
}

# One iperf3 run from c27 to c28: TEST (tcp1 tcp4 udp64 udp512), CFG, ROUND.
measure() {
	local test=$1 cfg=$2 round=$3 args=() json b0 b1 dev t0 t1 r0 r1 window=""
	case $test in
	tcp1) args=() ;;
	tcp4) args=(-P 4) ;;
	udp64) args=(-u -b 0 -l 64) ;;
	udp512) args=(-u -b 0 -l 512) ;;
	esac
	dev=$(tunnel_dev "$cfg")
	t0=$(counter h27 "$dev" tx_packets)
	r0=$(counter c28 eth0 rx_packets)
	rm -f "$WORK/window"
	SAMPLER=""
	if [ "$SECONDS_PER_TEST" -ge 3 ]; then window_sample "$SECONDS_PER_TEST" "$WORK/window"; fi
	b0=$(cpu_busy)
	if ! json=$(on c27 timeout $((SECONDS_PER_TEST + 20)) \
		iperf3 -c $SERVER -t "$SECONDS_PER_TEST" -J "${args[@]}" 2>&1); then
		warn "$test $cfg round $round: iperf3 failed: $(jq -r '.error // empty' <<<"$json" 2>/dev/null | head -1)"
		[ -z "$SAMPLER" ] || wait "$SAMPLER" || true
		iperf_server_restart
		return 1
	fi
	b1=$(cpu_busy)
	t1=$(counter h27 "$dev" tx_packets)
	r1=$(counter c28 eth0 rx_packets)
	[ -z "$SAMPLER" ] || wait "$SAMPLER" || true
	if [ -s "$WORK/window" ]; then
		# window_s, window_kpps (c28's eth0), window_cpu_us_per_pkt
		window=$(awk '{ s = $4 - $1; p = $6 - $3; c = ($5 - $2) / 100
			printf "window_s=%.3f window_kpps=%.4f window_cpu_s=%.2f window_cpu_us_per_pkt=%.2f",
				s, p / s / 1000, c, (p > 0 ? c * 1e6 / p : 0) }' "$WORK/window")
	fi
	# Received figures are the server's (iperf3 passes them to the client).
	jq -r --arg test "$test" --arg cfg "$cfg" --arg round "$round" \
		--argjson busy $((b1 - b0)) --argjson dev_tx $((t1 - t0)) \
		--argjson rx $((r1 - r0)) --arg dev "$dev" --arg window "$window" '
		.end as $e
		| ($e.sum_received.seconds) as $s
		| ($busy / 100) as $cpu
		| if ($test | startswith("udp")) then
			($test | ltrimstr("udp") | tonumber) as $len
			| ($e.sum_received.bytes / $len) as $pkts
			| "BENCH kind=net test=\($test) cfg=\($cfg) round=\($round) value=\($pkts / $s / 1000) unit=kpps"
			+ " sent_kpps=\($e.sum_sent.bytes / $len / $e.sum_sent.seconds / 1000)"
			+ " cpu_s=\($cpu) cpu_us_per_pkt=\(if $pkts > 0 then $cpu * 1e6 / $pkts else 0 end)"
			+ " dev=\($dev) dev_tx_pkts=\($dev_tx) c28_rx_pkts=\($rx) seconds=\($s) \($window)"
		else
			"BENCH kind=net test=\($test) cfg=\($cfg) round=\($round) value=\($e.sum_received.bits_per_second / 1e6) unit=Mbit/s"
			+ " retransmits=\($e.sum_sent.retransmits // 0) cpu_s=\($cpu)"
			+ " dev=\($dev) dev_tx_pkts=\($dev_tx) c28_rx_pkts=\($rx) seconds=\($s) \($window)"
		end' <<<"$json"
}

net_rounds() {
	local round cfg test tests status
	topology_create
	iperf_server_start
	if [[ " $CONFIGS " == *" e "* ]]; then
		log "(e): the routes of fanctl's fallback"
		driver_linux
		fallback_routes_get || warn "no routes for (e)"
	fi
	# Warm up (caches, ARP, the iperf3 binaries), not recorded.
	config_set a
	on c27 iperf3 -c $SERVER -t 1 >/dev/null || warn "warm-up iperf3 failed"

	for round in $(seq "$ROUNDS"); do
		for cfg in $CONFIGS; do
			log "round $round/$ROUNDS: configuration $cfg: setting up"
			# In a subshell outside any condition, so that set -e stops
			# the configuration at its first failing step.
			set +e
			(config_set "$cfg")
			status=$?
			set -e
			if [ "$status" != 0 ]; then
				warn "configuration $cfg could not be set up in round $round"
				continue
			fi
			if [ "$cfg" = e ] && [ ! -e "$WORK/e.checked" ]; then
				fallback_routes_check
				touch "$WORK/e.checked"
			fi
			quiesce
			log "round $round/$ROUNDS: configuration $cfg: measuring"
			# The variants of d: UDP 64 B only.
			case $cfg in
			dnv | d[0-9]*) tests=(udp64) ;;
			*) read -r -a tests <<<"$TESTS" ;;
			esac
			for test in "${tests[@]}"; do
				measure "$test" "$cfg" "$round" || true
			done
		done
	done
	config_clear
	kill "$IPERF_SERVER" 2>/dev/null || true
	_fan_cleanup
}

# ---------------------------------------------------------------- setup

# Kernel memory now, in KiB: slab, vmalloc and per-cpu (the FIB's routes
# live in all three: fib_alias and trie nodes in slab, the fib_info hash
# tables in vmalloc once large, each nexthop's route cache in per-cpu).
kmem() {
	awk '/^(Slab|VmallocUsed|Percpu):/ { s += $2 } END { print s }' /proc/meminfo
}

meminfo_of() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# timed.sh ERRFILE COMMAND...: runs COMMAND (stdout discarded, stderr to
# ERRFILE) and prints "TIME_MS BUSY_MS USER_MS SYSTEM_MS": its duration on
# the guest's clock (instruction-counted under icount, see bench/run), the
# guest's busy CPU time meanwhile, and its user and kernel parts (10 ms
# resolution). Its status is COMMAND's.
write_timer() {
	cat >"$WORK/timed.sh" <<'EOF'
#!/bin/bash
err=$1
shift
cpu() {
	local c u n s i w q sq r
	read -r c u n s i w q sq r </proc/stat
	echo $((u + n)) $((s + q + sq))
}
read -r u0 s0 <<<"$(cpu)"
t0=$EPOCHREALTIME
"$@" >/dev/null 2>"$err"
status=$?
t1=$EPOCHREALTIME
read -r u1 s1 <<<"$(cpu)"
awk -v a="$t0" -v b="$t1" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
	'BEGIN { printf "%.1f %d %d %d\n", (b - a) * 1000, (u + s) * 10, u * 10, s * 10 }'
exit $status
EOF
	chmod +x "$WORK/timed.sh"
}

# Runs fanctl in host s40 with its own paths, timed inside the namespace (so
# `ip netns exec` itself is not counted): prints timed.sh's figures.
fanctl_timed() {
	local dir=$WORK/s40
	mkdir -p "$dir"
	on s40 env FAN_RUN_DIR="$dir/run" FAN_STATE_DIR="$dir/state" FAN_CONFIG="$dir/fan" \
		"$WORK/timed.sh" "$WORK/fanctl.err" "$FANCTL" "$@"
}

setup_one() { # MODE ROUND
	local mode=$1 round=$2 out up up_busy up_user up_sys down down_busy down_user down_sys k0 k1 k2 routes=0
	declare -A m0 m1
	for k in Slab SUnreclaim VmallocUsed Percpu MemAvailable; do m0[$k]=$(meminfo_of $k); done
	k0=$(kmem)
	if ! out=$(fanctl_timed up 250.0.0.0/8 172.30.0.40/16); then
		warn "fanctl up ($mode) failed: $(head -3 "$WORK/fanctl.err")"
		fanctl_timed down 250.0.0.0/8 172.30.0.40/16 >/dev/null || true
		return 1
	fi
	read -r up up_busy up_user up_sys <<<"$out"
	k1=$(kmem)
	for k in Slab SUnreclaim VmallocUsed Percpu MemAvailable; do m1[$k]=$(meminfo_of $k); done
	grep -q "\"mode\": *\"$mode\"" <<<"$(on s40 env FAN_RUN_DIR="$WORK/s40/run" FAN_STATE_DIR="$WORK/s40/state" \
		FAN_CONFIG="$WORK/s40/fan" "$FANCTL" show --json)" ||
		warn "fanctl show does not say mode $mode"
	if [ "$round" = 1 ]; then
		routes=$(on s40 ip -4 route show dev tunl0 | wc -l)
	fi
	if ! out=$(fanctl_timed down 250.0.0.0/8 172.30.0.40/16); then
		warn "fanctl down ($mode) failed: $(head -3 "$WORK/fanctl.err")"
		return 1
	fi
	read -r down down_busy down_user down_sys <<<"$out"
	k2=$(kmem)
	emit "kind=setup test=fanctl_up cfg=$mode round=$round value=$up unit=ms busy_ms=$up_busy user_ms=$up_user sys_ms=$up_sys"
	emit "kind=setup test=fanctl_down cfg=$mode round=$round value=$down unit=ms busy_ms=$down_busy user_ms=$down_user sys_ms=$down_sys"
	emit "kind=setup test=kmem cfg=$mode round=$round value=$((k1 - k0)) unit=KiB" \
		"slab_kib=$((m1[Slab] - m0[Slab])) sunreclaim_kib=$((m1[SUnreclaim] - m0[SUnreclaim]))" \
		"vmalloc_kib=$((m1[VmallocUsed] - m0[VmallocUsed])) percpu_kib=$((m1[Percpu] - m0[Percpu]))" \
		"memavailable_drop_kib=$((m0[MemAvailable] - m1[MemAvailable])) after_down_kib=$((k2 - k0))" \
		"$([ "$round" = 1 ] && echo "tunl0_routes=$routes")"
}

setup_rounds() {
	[ -x "$FANCTL" ] || {
		warn "no fanctl at $FANCTL: setup not measured"
		return 0
	}
	underlay_create 1500
	host_add s40 172.30.0.40/16
	# What any command costs here: bash starting /bin/true, and nft applying
	# a one-table transaction (fanctl's NAT step runs nft once).
	write_timer
	local i t b
	for i in 1 2 3; do
		read -r t b _ <<<"$(on s40 "$WORK/timed.sh" /dev/null /bin/true)"
		emit "kind=setup test=exec_true cfg=baseline round=$i value=$t unit=ms busy_ms=$b"
		printf 'table ip fanbench\ndelete table ip fanbench\n' >"$WORK/nft.rules"
		read -r t b _ <<<"$(on s40 "$WORK/timed.sh" /dev/null nft -f "$WORK/nft.rules")"
		emit "kind=setup test=nft_apply cfg=baseline round=$i value=$t unit=ms busy_ms=$b"
	done
	local round
	for round in $(seq "$ROUNDS"); do
		log "setup round $round/$ROUNDS: module"
		if driver_ours; then
			setup_one module "$round" || true
		else
			warn "cannot load fan_ipip"
		fi
		log "setup round $round/$ROUNDS: fallback (/16 underlay)"
		if driver_linux; then
			setup_one fallback "$round" || true
		else
			warn "cannot load ipip"
		fi
	done
	drivers_unload
	_fan_cleanup
}

# ---------------------------------------------------------------- main

emit "kind=info guest_kernel=$(uname -r) vcpus=$(grep -c ^processor /proc/cpuinfo)" \
	"guest_cpu_mhz=$(awk -F': ' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)" \
	"guest_cpu=$(awk -F': ' '/^model name/ { gsub(/ /, "_", $2); print $2; exit }' /proc/cpuinfo)" \
	"iperf3=$(iperf3 --version | awk 'NR == 1 { print $2 }') rounds=$ROUNDS seconds=$SECONDS_PER_TEST quick=$QUICK clock=$CLOCK configs=${CONFIGS// /,}"
start=$EPOCHREALTIME
case $ONLY in
all) net_rounds; setup_rounds ;;
net) net_rounds ;;
setup) setup_rounds ;;
*) echo "guest.sh: --only net|setup" >&2; exit 2 ;;
esac
emit "kind=info guest_seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')"
rm -rf "$WORK"
log done
