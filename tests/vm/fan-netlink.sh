#!/usr/bin/env bash
# The fan-map netlink interface: every refusal in docs/netlink.md, plus
# malformed attributes, the 257th map, and fan-map with a remote: the
# errno, the extended ack message, and that nothing changed.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
host_add_isolated() { _fan_ns_add "fan-$1"; }
host_add_isolated nl

maps() { on nl python3 "$FAN_LIB/fannl.py" dump tunl0; }

# refused ERRNO MESSAGE FANNL-ARGS...: the request fails as said, and the
# maps are what they were.
refused() {
	local want_errno=$1 want_msg=$2 before out
	shift 2
	before=$(maps)
	if out=$(on nl python3 "$FAN_LIB/fannl.py" "$@" 2>&1); then
		echo "accepted: $*" >&2
		return 1
	fi
	case $out in
	"error: $want_errno: "*"$want_msg"*) ;;
	*)
		echo "$*: got '$out', expected $want_errno with '$want_msg'" >&2
		return 1
		;;
	esac
	expect_eq "maps after refused '$*'" "$(maps)" "$before"
}

on nl python3 "$FAN_LIB/fannl.py" change tunl0 --map 250.0.0.0/8:172.30.0.0/16
expect_eq "maps" "$(maps)" "250.0.0.0/8:172.30.0.0/16"

refused EINVAL "overlay address has host bits set" change tunl0 --map 251.1.0.0/8:172.30.0.0/16
refused EINVAL "underlay address has host bits set" change tunl0 --map 251.0.0.0/8:172.30.1.0/16
refused EINVAL "overlay prefix length is out of range" change tunl0 --map 251.0.0.0/33:172.30.0.0/16
refused EINVAL "underlay prefix length is out of range" change tunl0 --map 251.0.0.0/8:172.30.0.0/40
refused EINVAL "must be shorter than its underlay prefix" change tunl0 --map 251.0.0.0/16:172.30.0.0/16
refused EINVAL "overlay is 0.0.0.0 but underlay is set" change tunl0 --map 0.0.0.0/8:172.30.0.0/16
refused EINVAL "not 12 bytes long" change tunl0 --raw-mapping fb000000ac1e00001000
refused EINVAL "not 12 bytes long" change tunl0 --raw-mapping ac1e0000fb0000001000080000
refused EINVAL "truncated" change tunl0 --raw-fan 10000100ac1e
refused EINVAL "unknown attribute" change tunl0 --raw-fan 10000200ac1e0000fb00000010000800
refused EEXIST "overlaps an existing fan map" change tunl0 --map 250.128.0.0/9:10.0.0.0/16
refused ENOENT "no fan map with that overlay" change tunl0 --map 251.0.0.0/8:0.0.0.0/0
# all or nothing: a good map before a bad one is not added either
refused EINVAL "host bits" change tunl0 --map 252.0.0.0/8:10.1.0.0/16 --map 253.1.0.0/8:10.2.0.0/16
# a fan device computes its destinations: no remote
refused EINVAL "cannot be used with a remote address" add fan1 --remote 172.30.0.9 --map 250.0.0.0/8:172.30.0.0/16
if on nl ip link show fan1 >/dev/null 2>&1; then
	echo "fan1 was created by a refused request" >&2
	exit 1
fi
on nl ip link add p2p type ipip local 172.30.0.1 remote 172.30.0.9
refused EINVAL "remote address" change p2p --local 172.30.0.1 --remote 172.30.0.9 --map 250.0.0.0/8:172.30.0.0/16

# ---- Ubuntu's userspace, as it speaks ------------------------------------
# Its ip sends attribute 33 without NLA_F_NESTED, and once per fan-map;
# its libnetlink does not mask the flag, so a dump must not set it.
on nl python3 "$FAN_LIB/fannl.py" change tunl0 --no-nested-flag --map 251.0.0.0/8:10.1.0.0/16
expect_eq "maps after a request without NLA_F_NESTED" "$(maps)" \
	"$(printf '%s\n' 250.0.0.0/8:172.30.0.0/16 251.0.0.0/8:10.1.0.0/16)"
expect_eq "attribute 33 of a dump, as Ubuntu's kernel wrote it" \
	"$(on nl python3 "$FAN_LIB/fannl.py" attr-types tunl0)" 33
# every occurrence, in order, all or nothing
on nl python3 "$FAN_LIB/fannl.py" change tunl0 --no-nested-flag --map 252.0.0.0/8:10.2.0.0/16 \
	--next-attr --map 253.0.0.0/8:10.3.0.0/16 --next-attr --map 251.0.0.0/8:0.0.0.0/0
expect_eq "maps after three attributes 33" "$(maps)" \
	"$(printf '%s\n' 250.0.0.0/8:172.30.0.0/16 252.0.0.0/8:10.2.0.0/16 253.0.0.0/8:10.3.0.0/16)"
refused EINVAL "host bits" change tunl0 --map 254.0.0.0/8:10.4.0.0/16 --next-attr --map 1.1.0.0/8:10.5.0.0/16
refused EEXIST "overlaps an existing fan map" change tunl0 --map 254.0.0.0/8:10.4.0.0/16 \
	--next-attr --map 254.0.0.0/8:10.6.0.0/16
refused ENOENT "no fan map with that overlay" change tunl0 --map 252.0.0.0/8:0.0.0.0/0 \
	--next-attr --map 252.0.0.0/8:0.0.0.0/0
refused EINVAL "fan map attribute is empty" change tunl0 --map 254.0.0.0/8:10.4.0.0/16 --next-attr
on nl python3 "$FAN_LIB/fannl.py" change tunl0 --map 252.0.0.0/8:0.0.0.0/0 --next-attr \
	--map 253.0.0.0/8:0.0.0.0/0
expect_eq "maps after removes in two attributes" "$(maps)" "250.0.0.0/8:172.30.0.0/16"
# the first generation's attribute 32 (underlay) is refused, never ignored
# (EOPNOTSUPP, which Python names ENOTSUP)
refused ENOTSUP "use fan-map OVERLAY:UNDERLAY" change tunl0 --raw-data 08002000ac1e0000
refused ENOTSUP "use fan-map OVERLAY:UNDERLAY" change tunl0 --raw-data 08002000ac1e0000 \
	--map 254.0.0.0/8:10.4.0.0/16
# a second device with tunl0's parameters (no local): Linux's EEXIST, said
refused EEXIST "put the fan maps on tunl0" add fan3 --map 254.0.0.0/8:10.4.0.0/16
if on nl ip link show fan3 >/dev/null 2>&1; then
	echo "fan3 was created by a refused request" >&2
	exit 1
fi

# a new device with maps, dumped in overlay order
on nl python3 "$FAN_LIB/fannl.py" add fan2 --local 172.30.0.1 \
	--map 251.0.0.0/8:10.0.0.0/16 --map 250.0.0.0/8:172.30.0.0/16
expect_eq "fan2 maps" "$(on nl python3 "$FAN_LIB/fannl.py" dump fan2)" \
	"$(printf '%s\n' 250.0.0.0/8:172.30.0.0/16 251.0.0.0/8:10.0.0.0/16)"

# flush, then a full table of 256 maps in one request, then the 257th
on nl python3 "$FAN_LIB/fannl.py" change tunl0 --map 0.0.0.0/0:0.0.0.0/0
expect_eq "maps after flush" "$(maps)" ""
args=()
for i in $(seq 0 255); do args+=(--map "10.$i.0.0/16:172.16.0.0/24"); done
on nl python3 "$FAN_LIB/fannl.py" change tunl0 "${args[@]}"
expect_eq "map count" "$(maps | wc -l)" 256
refused ENOSPC "too many fan maps" change tunl0 --map 11.0.0.0/16:172.16.0.0/24
on nl python3 "$FAN_LIB/fannl.py" change tunl0 --map 10.5.0.0/16:0.0.0.0/0
expect_eq "map count after one delete" "$(maps | wc -l)" 255
if maps | grep -q '^10\.5\.0\.0/16:'; then
	echo "10.5.0.0/16 still mapped after delete" >&2
	exit 1
fi
on nl python3 "$FAN_LIB/fannl.py" change tunl0 --map 0.0.0.0/0:0.0.0.0/0
expect_eq "maps after final flush" "$(maps)" ""
