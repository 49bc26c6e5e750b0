#!/usr/bin/env bash
# Bad fan-map requests beyond tests/vm/fan-netlink.sh: oversized and garbage
# payloads, an empty or not-nested IFLA_IPTUN_FAN_MAP, a remote or
# encapsulation change on a device that has maps, fan maps on an external
# (collect_md) or point-to-point device. Each is refused with a message and
# changes nothing (maps, remote, encapsulation, devices); the harness fails
# the run on any oops. Also the ioctl interface: `ip tunnel` must keep
# working for plain tunnels while tunl0 carries maps.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
_fan_ns_add fan-nl
on nl ip addr add 172.30.0.1/16 dev lo

fannl_nl() { on nl python3 "$FAN_LIB/fannl.py" "$@"; }
# What must not change: every ipip device's maps and stock parameters, as
# the patched ip prints them (one command: this is taken twice per request).
state() { on nl "$FAN_IP" -d -o link show type ipip; }

# refused ERRNO MESSAGE COMMAND...: COMMAND (fannl arguments, or any
# command after "--") fails with ERRNO and an extended ack message holding
# MESSAGE (any non-empty message if MESSAGE is ""), and nothing changed.
refused() {
	local want_errno=$1 want_msg=$2 before out desc msg
	shift 2
	desc="$*"
	desc=${desc:0:70}
	before=$(state)
	if [ "$1" = -- ]; then
		shift
		out=$(on nl "$@" 2>&1) && { echo "accepted: $desc" >&2; return 1; }
	else
		out=$(fannl_nl "$@" 2>&1) && { echo "accepted: fannl $desc" >&2; return 1; }
	fi
	case $out in
	"error: $want_errno: "?*) msg=${out#"error: $want_errno: "} ;;
	"Error: "?*) msg=${out#"Error: "} ;; # ip(8) prints the message, not the errno
	*) msg="" ;;
	esac
	case $msg in
	?*"$want_msg"* | "$want_msg"?*) ;;
	*)
		echo "$desc: got '${out:0:200}', expected $want_errno with '$want_msg'" >&2
		return 1
		;;
	esac
	expect_eq "state after refused '$desc'" "$(state)" "$before"
}

hex_repeat() { python3 -c "import sys; sys.stdout.write(bytes.fromhex('$1').hex() * $2)"; }
map=250.0.0.0/8:172.30.0.0/16
fannl_nl change tunl0 --map "$map"
fannl_nl add fan2 --local 172.30.0.1 --map 251.0.0.0/8:10.0.0.0/16
expect_eq "fan2 maps" "$(fannl_nl dump fan2)" 251.0.0.0/8:10.0.0.0/16

# --- garbage and oversized payloads in the fan nest ---
refused EINVAL "truncated" change tunl0 --raw-fan "$(hex_repeat ff 4096)"
refused EINVAL "truncated" change tunl0 --raw-fan "$(hex_repeat 00 60000)"
refused EINVAL "not 12 bytes long" change tunl0 --raw-mapping "$(hex_repeat 00 4092)"
refused EINVAL "" change tunl0 --raw-fan \
	"$(python3 -c 'import random; random.seed(7); print(random.randbytes(4096).hex())')"
refused EINVAL "truncated" change tunl0 --raw-fan 02000100
# 300 well-formed maps in one request: more than a device may hold
args=()
for i in $(seq 0 299); do args+=(--map "$((10 + i / 256)).$((i % 256)).0.0/16:172.16.0.0/24"); done
refused ENOSPC "too many fan maps" change fan2 "${args[@]}"
# the same overlay twice in one request
refused EEXIST "overlaps" change fan2 --map 252.0.0.0/8:10.1.0.0/16 --map 252.0.0.0/8:10.2.0.0/16

# --- an IFLA_IPTUN_FAN_MAP that is empty, or not nested attributes ---
refused EINVAL "empty" change tunl0 --raw-fan ""
refused EINVAL "empty" change fan2 --local 172.30.0.1 --raw-fan ""
refused EINVAL "empty" add fan3 --local 172.30.0.3 --raw-fan ""
# a bare struct ifla_fan_map (underlay 172.30.0.0/16, overlay 252.0.0.0/8)
refused EINVAL "" change tunl0 --raw-fan ac1e0000fc00000010000800
# ... whose underlay reads as a mapping header of type 1 (12.0.1.0)
refused EINVAL "not 12 bytes long" change tunl0 --raw-fan 0c000100fc00000010000800
if on nl ip link show fan3 >/dev/null 2>&1; then
	echo "fan3 was created by a refused request" >&2
	exit 1
fi

# --- a remote, or a remote with encapsulation, on a device with maps ---
refused EINVAL "remote address" change fan2 --local 172.30.0.1 --remote 172.30.0.9
refused EINVAL "remote address" -- ip link change dev fan2 type ipip \
	local 172.30.0.1 remote 172.30.0.9 encap fou encap-dport 5555
refused EINVAL "remote address" -- ip link change dev tunl0 type ipip remote 172.30.0.9
# the ioctl interface refuses it too (no message there: just the errno)
before=$(state)
if on nl ip tunnel change fan2 mode ipip local 172.30.0.1 remote 172.30.0.9 2>/dev/null; then
	echo "ioctl gave fan2 a remote" >&2
	exit 1
fi
expect_eq "state after refused ioctl" "$(state)" "$before"

# --- fan maps on an external (collect_md) device ---
# fannl has no "external": send the request from its building blocks.
newlink_py=$(mktemp)
trap '_fan_cleanup; rm -f "$newlink_py"' EXIT
cat >"$newlink_py" <<'EOF'
import errno, sys
sys.path.insert(0, sys.argv[1])
import fannl as f
IFLA_IPTUN_COLLECT_METADATA = 19
data = f.attr(IFLA_IPTUN_COLLECT_METADATA, b"")
data += f.fan_attrs([("--map", "253.0.0.0/8:172.30.0.0/16")], True)
linkinfo = f.attr(f.IFLA_INFO_KIND, b"ipip\0") + f.attr(f.IFLA_INFO_DATA | f.NLA_F_NESTED, data)
body = f.ifinfo() + f.attr(f.IFLA_IFNAME, b"ext2\0")
body += f.attr(f.IFLA_LINKINFO | f.NLA_F_NESTED, linkinfo)
try:
    f.read_reply(f.request(f.RTM_NEWLINK, f.NLM_F_ACK | f.NLM_F_CREATE | f.NLM_F_EXCL, body))
except OSError as e:
    print(f"error: {errno.errorcode.get(e.errno, e.errno)}: {e.strerror}", file=sys.stderr)
    sys.exit(1)
EOF
refused EINVAL "external" -- python3 "$newlink_py" "$FAN_LIB"
if on nl ip link show ext2 >/dev/null 2>&1; then
	echo "ext2 was created by a refused request" >&2
	exit 1
fi
on nl ip link add ext type ipip external
refused EINVAL "external" change ext --map 253.0.0.0/8:172.30.0.0/16
expect_eq "ext maps" "$(fannl_nl dump ext)" ""

# --- fan maps on a point-to-point device, without a remote in the request ---
on nl ip link add p2p type ipip local 172.30.0.1 remote 172.30.0.7
refused EINVAL "point-to-point" change p2p --local 172.30.0.1 --map 253.0.0.0/8:172.30.0.0/16

# --- the ioctl interface still creates plain tunnels while tunl0 has maps ---
on nl ip tunnel add p2p2 mode ipip local 172.30.0.1 remote 172.30.0.8
on nl ip tunnel change p2p2 mode ipip local 172.30.0.1 remote 172.30.0.6
expect_eq "p2p2 remote" "$(on nl ip -d -o link show p2p2 | grep -o 'remote [0-9.]*')" "remote 172.30.0.6"
on nl ip tunnel del p2p2
expect_eq "tunl0 maps at the end" "$(fannl_nl dump tunl0)" "$map"
expect_eq "fan2 maps at the end" "$(fannl_nl dump fan2)" 251.0.0.0/8:10.0.0.0/16

# --- an underlay where no peer host can be: multicast, loopback, 0/8 ---
refused EINVAL "must be unicast" change tunl0 --map 254.0.0.0/8:239.1.0.0/16
refused EINVAL "must be unicast" change tunl0 --map 254.0.0.0/8:127.0.0.0/16
refused EINVAL "must be unicast" change fan2 --local 172.30.0.1 --map 254.0.0.0/8:0.1.0.0/16
refused EINVAL "must be unicast" add fan4 --local 172.30.0.4 --map 254.0.0.0/8:224.0.0.0/16

# --- fan maps need IPv4 inside: not on an MPLS-in-IP device ---
refused EINVAL "needs IPv4 inside" -- "$FAN_IP" link add mpls1 type ipip \
	mode mplsip local 172.30.0.5 fan-map 254.0.0.0/8:172.30.0.0/16
if on nl ip link show mpls1 >/dev/null 2>&1; then
	echo "mpls1 was created by a refused request" >&2
	exit 1
fi
on nl "$FAN_IP" link add mpls2 type ipip mode mplsip local 172.30.0.6
refused EINVAL "needs IPv4 inside" -- "$FAN_IP" link change dev mpls2 type ipip \
	mode mplsip local 172.30.0.6 fan-map 254.0.0.0/8:172.30.0.0/16
refused EINVAL "needs IPv4 inside" -- "$FAN_IP" link change dev fan2 type ipip \
	mode mplsip local 172.30.0.1

# --- tunl0 takes maps, and nothing else: iproute2 repeats every current
# value in a change, which is accepted; another value is refused ---
refused EINVAL "must keep their current values" -- "$FAN_IP" link change dev tunl0 \
	type ipip fan-map 254.0.0.0/8:172.30.0.0/16 ttl 64 pmtudisc
refused EINVAL "must keep their current values" -- "$FAN_IP" link change dev tunl0 \
	type ipip fan-map 254.0.0.0/8:172.30.0.0/16 tos 0x10
refused EINVAL "must keep their current values" -- "$FAN_IP" link change dev tunl0 \
	type ipip fan-map 254.0.0.0/8:172.30.0.0/16 encap fou encap-dport 5555
on nl "$FAN_IP" link change dev tunl0 type ipip fan-map 254.0.0.0/8:172.31.0.0/16
expect_eq "tunl0 maps after a change with its current values" \
	"$(fannl_nl dump tunl0 | sort | tr '\n' ' ')" "250.0.0.0/8:172.30.0.0/16 254.0.0.0/8:172.31.0.0/16 "
fannl_nl change tunl0 --map 254.0.0.0/8:0.0.0.0/0
expect_eq "tunl0 maps at the very end" "$(fannl_nl dump tunl0)" "$map"

# --- a change refused late changes nothing either: the encapsulation is set
# up before ip_tunnel_changelink refuses a clash (EEXIST, no message), and
# rtnetlink applies IFLA_MTU only after the driver's change succeeded ---
on nl ip link add e1 type ipip local 172.30.0.7
on nl ip link add e2 type ipip local 172.30.0.8 encap fou encap-dport 5555
before=$(state)
if out=$(on nl ip link change dev e2 type ipip local 172.30.0.7 encap fou encap-dport 6666 2>&1); then
	echo "a change of e2 onto e1's local address was accepted" >&2
	exit 1
fi
expect_match "clash with e1" "$out" "File exists"
expect_eq "state after a refused clash" "$(state)" "$before"
expect_match "e2 keeps its encapsulation" "$(on nl ip -d link show e2)" "encap fou encap-sport auto encap-dport 5555"
refused EINVAL "mtu greater than device maximum" -- ip link change dev e2 mtu 70000 type ipip \
	encap fou encap-dport 7777
refused EINVAL "mtu less than device minimum" -- ip link change dev e2 mtu 60 type ipip \
	encap fou encap-dport 7777
on nl ip link change dev e2 mtu 1400 type ipip encap fou encap-dport 7777
expect_match "e2's mtu after an accepted change" "$(on nl ip -d link show e2)" " mtu 1400 "
expect_match "e2's port after an accepted change" "$(on nl ip -d link show e2)" "encap-dport 7777 "
on nl ip link del e1
on nl ip link del e2
