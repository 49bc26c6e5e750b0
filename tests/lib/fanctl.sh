# fanctl in VM tests: source after hosts.sh (and fan.sh).
#
#   fanctl_on HOST ARGS...     run fanctl in HOST with that host's own run,
#                              state and config paths (/tmp/fanctl-HOST/...):
#                              all namespaces share one filesystem
#   fanctl_hooks_on HOST ARGS...  fanctl_on with the build that obeys the
#                              test hooks (FANCTL_FAIL_AT=STEP)
#   fanctl_config HOST         the config file fanctl_on HOST uses (-a)
#   dhcp_lease CONTAINER       get a lease with busybox udhcpc on eth0 and
#                              apply it (address, default route, MTU)
#   addr_of NAME [DEV]         the first IPv4 address of DEV (eth0) in NAME
#   netns_snapshot NAME        links, addresses, routes, nftables and fan maps
#                              of NAME, for comparing before and after
#   fan_maps HOST              the fan maps on HOST's tunl0
#   iperf3_check FROM TO ADDR  iperf3 -c ADDR -t 2 from container FROM to a
#                              server in TO; fails unless it exits 0 and
#                              reports a non-zero bitrate

FANCTL_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_fanctl_target=$(dirname "$(dirname "$FANCTL_LIB")")/target
# The release build (make builds it); the debug one that `cargo test` makes
# when there is none. FANCTL can name another.
if [ -z "${FANCTL:-}" ]; then
	FANCTL=$_fanctl_target/release/fanctl
	[ -x "$FANCTL" ] || FANCTL=$_fanctl_target/debug/fanctl
fi
[ -x "$FANCTL" ] || {
	echo "no fanctl at $FANCTL (run: cargo build --release -p fanctl)" >&2
	exit 1
}
# The test hooks are compiled only into builds with the test-hooks feature:
# the debug build `cargo test` makes has them (fanctl's dev-dependency on
# itself turns the feature on). FANCTL_HOOKS can name another.
FANCTL_HOOKS=${FANCTL_HOOKS:-$_fanctl_target/debug/fanctl}
FANCTL_TMP=$(mktemp -d /tmp/fanctl-test.XXXXXX)
_fanctl_cleanup() {
	_fan_cleanup
	rm -rf "$FANCTL_TMP"
}
trap _fanctl_cleanup EXIT

fanctl_config() {
	mkdir -p "$FANCTL_TMP/$1"
	echo "$FANCTL_TMP/$1/fan"
}

fanctl_on() {
	local host=$1 dir=$FANCTL_TMP/$1
	shift
	mkdir -p "$dir"
	on "$host" env FAN_RUN_DIR="$dir/run" FAN_STATE_DIR="$dir/state" \
		FAN_CONFIG="$dir/fan" "$FANCTL" "$@"
}

fanctl_hooks_on() {
	[ -x "$FANCTL_HOOKS" ] || {
		echo "no fanctl with test hooks at $FANCTL_HOOKS (run: cargo build -p fanctl --features test-hooks)" >&2
		return 1
	}
	FANCTL=$FANCTL_HOOKS fanctl_on "$@"
}

# The script udhcpc runs on its events: applies a lease, like ifupdown would.
_fanctl_udhcpc_script() {
	local script=$FANCTL_TMP/udhcpc.script
	[ -x "$script" ] && {
		echo "$script"
		return
	}
	cat >"$script" <<'EOF'
#!/bin/sh
# busybox udhcpc event script: $1 is the event, the lease is in the environment.
case $1 in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
	for r in $router; do
		ip route replace default via "$r" dev "$interface"
		break
	done
	;;
esac
exit 0
EOF
	chmod +x "$script"
	echo "$script"
}

dhcp_lease() {
	local name=$1 script
	script=$(_fanctl_udhcpc_script)
	on "$name" busybox udhcpc -i eth0 -n -q -f -t 10 -T 1 -O mtu -s "$script"
}

addr_of() {
	on "$1" ip -4 -o addr show dev "${2:-eth0}" | awk '{ sub("/.*", "", $4); print $4; exit }'
}

netns_snapshot() {
	local name=$1
	echo "== links"
	# Not compared: counters, queue sizes and bridge timers, the qdisc a device gets when
	# it first comes up (noop before, noqueue after) and the IPv6 state
	# created then (addrgenmode): the kernel's doing, and fanctl's fan is
	# IPv4 only. Devices, kinds, MTUs, flags, masters and addresses are.
	on "$name" ip -d link show |
		sed -E -e 's/ (qlen|numtxqueues|numrxqueues|gso_max_size|gso_max_segs|tso_max_size|tso_max_segs|gro_max_size|gso_ipv4_max_size|gro_ipv4_max_size) [0-9]+//g' \
			-e 's/ qdisc [a-z_]+//' -e 's/ addrgenmode [a-z0-9_]+//' \
			-e 's/ [a-z_]+_timer +[0-9.]+//g'
	echo "== IPv4 addresses"
	on "$name" ip -4 -o addr show
	echo "== IPv4 routes"
	on "$name" ip -4 route show table all
	echo "== nftables"
	on "$name" nft list ruleset
	echo "== forwarding"
	on "$name" cat /proc/sys/net/ipv4/ip_forward
	if [ -e /proc/sys/net/fan/version ]; then
		echo "== fan maps on tunl0"
		fan_maps "$name"
	fi
}

# The fan maps on tunl0 of host NAME, one OVERLAY:UNDERLAY a line (fan module).
fan_maps() {
	on "$1" python3 "$FANCTL_LIB/fannl.py" dump tunl0
}

iperf3_check() {
	local from=$1 to=$2 addr=$3 out rate
	on "$to" iperf3 -s -1 >/dev/null 2>&1 &
	local server=$!
	_fan_wait_listen "$to" 5201
	out=$(on "$from" iperf3 -c "$addr" -t 2 -f m)
	wait "$server"
	echo "$out"
	# "[  5]   0.00-2.00  sec   127 MBytes   530 Mbits/sec   receiver"
	rate=$(awk '/receiver$/ && $8 == "Mbits/sec" { print $7 }' <<<"$out")
	if ! awk -v r="$rate" 'BEGIN { exit !(r > 0) }'; then
		echo "iperf3 $from -> $to: no bitrate reported" >&2
		return 1
	fi
}

# Fails unless COMMAND fails; its stderr goes to stdout for the caller to check.
expect_failure() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "$what: succeeded, expected a failure; output: $out" >&2
		return 1
	fi
	echo "$out"
}

# Fails unless the two files are equal, showing the difference.
expect_same() {
	local what=$1
	if ! diff -u "$2" "$3" >&2; then
		echo "$what: differs (- before, + after)" >&2
		return 1
	fi
}

# The rows of `fanctl show` with runs of blanks squeezed to one.
show_rows() {
	fanctl_on "$1" show | tr -s ' '
}

# Removes container NAME of HOST and waits for its veth to leave the host
# (a namespace is torn down after `ip netns del` returns).
container_del() {
	local host=$1 name=$2 i
	ip netns pids "fan-$name" | xargs -r kill -9
	ip netns del "fan-$name"
	for i in $(seq 100); do
		on "$host" ip link show "v-$name" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	echo "v-$name is still in $host" >&2
	return 1
}

# Whether process PID runs (a zombie does not: the guest's init may be slow
# to reap orphans such as a daemon's).
running() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
