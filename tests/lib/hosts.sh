# Simulated fan hosts for the VM tests: source this file, then build a
# topology. Every namespace made here is removed when the test exits, whether
# it passes or fails.
#
#   underlay_create [MTU]              one L2 segment (a bridge in its own netns)
#   host_add NAME ADDR/LEN             a host whose eth0 sits on the underlay
#   bridge_add HOST BRIDGE ADDR/LEN    a container bridge inside a host
#   container_add HOST NAME BRIDGE [ADDR/LEN GATEWAY]
#                                      a container on that bridge (no address:
#                                      left for DHCP)
#   on NAME COMMAND...                 run COMMAND in host or container NAME
#
# Namespaces are named "fan-<NAME>"; only these are ever addressed.

set -euo pipefail

FAN_UNDERLAY_NS=fan-underlay
FAN_UNDERLAY_MTU=9001
_fan_namespaces=()

_fan_cleanup() {
	local ns
	for ns in "${_fan_namespaces[@]}"; do
		# Processes (servers, dnsmasq) in a namespace keep it alive.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	_fan_namespaces=()
}
trap _fan_cleanup EXIT

_fan_ns_add() {
	ip netns add "$1"
	_fan_namespaces+=("$1")
	ip -n "$1" link set lo up
}

on() {
	local name=$1
	shift
	ip netns exec "fan-$name" "$@"
}

underlay_create() {
	FAN_UNDERLAY_MTU=${1:-9001}
	_fan_ns_add "$FAN_UNDERLAY_NS"
	ip -n "$FAN_UNDERLAY_NS" link add br0 mtu "$FAN_UNDERLAY_MTU" type bridge
	ip -n "$FAN_UNDERLAY_NS" link set br0 up
}

host_add() {
	local name=$1 addr=$2 ns=fan-$1
	_fan_ns_add "$ns"
	ip link add eth0 mtu "$FAN_UNDERLAY_MTU" netns "$ns" type veth \
		peer name "$name" mtu "$FAN_UNDERLAY_MTU" netns "$FAN_UNDERLAY_NS"
	ip -n "$FAN_UNDERLAY_NS" link set "$name" master br0 up
	ip -n "$ns" addr add "$addr" dev eth0
	ip -n "$ns" link set eth0 up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
}

bridge_add() {
	local host=$1 bridge=$2 addr=$3 ns=fan-$1
	ip -n "$ns" link add "$bridge" type bridge
	ip -n "$ns" addr add "$addr" dev "$bridge"
	ip -n "$ns" link set "$bridge" up
}

container_add() {
	local host=$1 name=$2 bridge=$3 addr=${4:-} gateway=${5:-}
	local ns=fan-$name hostns=fan-$1 mtu
	mtu=$(ip netns exec "$hostns" cat "/sys/class/net/$bridge/mtu")
	_fan_ns_add "$ns"
	ip link add eth0 mtu "$mtu" netns "$ns" type veth \
		peer name "v-$name" mtu "$mtu" netns "$hostns"
	ip -n "$hostns" link set "v-$name" master "$bridge" up
	ip -n "$ns" link set eth0 up
	if [ -n "$addr" ]; then
		ip -n "$ns" addr add "$addr" dev eth0
		ip -n "$ns" route add default via "$gateway"
	fi
}

# Link statistic of DEV in host NAME, e.g. `link_stat h27 tunl0 tx_packets`.
link_stat() {
	on "$1" cat "/sys/class/net/$2/statistics/$3"
}

# stats_snapshot HOST DEV: remember every statistic of DEV in HOST, for
# expect_delta WHAT COUNTER N: COUNTER of that device grew by exactly N since.
declare -A _fan_stats=()
_fan_stats_dev=()
stats_snapshot() {
	local path value
	_fan_stats_dev=("$1" "$2")
	_fan_stats=()
	while IFS=: read -r path value; do
		_fan_stats[${path##*/}]=$value
	done < <(on "$1" grep -r . "/sys/class/net/$2/statistics")
}

expect_delta() {
	local what=$1 counter=$2 want=$3 now
	now=$(link_stat "${_fan_stats_dev[@]}" "$counter")
	expect_eq "$what: $counter" $((now - _fan_stats[$counter])) "$want"
}

# Send BYTES random bytes over TCP from container FROM to TO_ADDR:PORT in
# container TO and fail unless the far end received exactly them.
tcp_transfer_check() {
	local from=$1 to=$2 to_addr=$3 bytes=$4 port=${5:-9876}
	local dir sent got
	dir=$(mktemp -d)
	head -c "$bytes" /dev/urandom >"$dir/payload"
	on "$to" nc -l -N -w 30 "$port" >"$dir/received" &
	local server=$!
	_fan_wait_listen "$to" "$port"
	on "$from" nc -N -w 30 "$to_addr" "$port" <"$dir/payload"
	wait "$server"
	sent=$(sha256sum <"$dir/payload")
	got=$(sha256sum <"$dir/received")
	rm -rf "$dir"
	if [ "$sent" != "$got" ]; then
		echo "tcp transfer $from -> $to: checksum mismatch" >&2
		return 1
	fi
}

_fan_wait_listen() {
	local name=$1 port=$2 i
	for i in $(seq 50); do
		on "$name" ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	echo "nothing listens on port $port in $name" >&2
	return 1
}

# Assertions that print what was expected.
expect_ge() {
	local what=$1 got=$2 want=$3
	# Not a number (an empty counter, an error message) is a failure too.
	if ! [[ $got =~ ^-?[0-9]+$ ]] || [ "$got" -lt "$want" ]; then
		echo "$what: got $got, expected at least $want" >&2
		return 1
	fi
}

expect_eq() {
	local what=$1 got=$2 want=$3
	if [ "$got" != "$want" ]; then
		echo "$what: got '$got', expected '$want'" >&2
		return 1
	fi
}

# expect_match WHAT TEXT REGEX: TEXT has a line matching the extended REGEX.
expect_match() {
	local what=$1 text=$2 pattern=$3
	if ! grep -qE -- "$pattern" <<<"$text"; then
		echo "$what: expected /$pattern/ in:" >&2
		echo "$text" | sed 's/^/    /' >&2
		return 1
	fi
}
