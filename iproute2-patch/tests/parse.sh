#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# parse.sh IP - test the fan-map support of a patched `ip` without a fan
# kernel: help text, argument errors, and the exact netlink request bytes.
#
# Every command runs in a throwaway network namespace (unshare -n), so
# nothing on the host changes.  The request is captured with strace as `ip`
# sends it; the kernel may then reject it (no ipip here, or no fan module):
# only what was sent is checked (nlcheck.py decodes it).  For "ip link
# change", which first reads the existing link, nlfake.so (built here from
# nlfake.c) answers that read with links crafted by fan_dump.py.
# Needs root (or user namespaces), strace (installed with apt-get if
# missing and root), gcc and python3.
#
# Prints one line per check and "N passed, N failed"; exits 1 on any failure.
set -u

IP=${1:?usage: $0 PATH_TO_PATCHED_IP}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NLCHECK="$HERE/nlcheck.py"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL: $1${2:+ -- $(printf '%s' "$2" | tr '\n\t' '  ' | cut -c 1-200)}"
	failed=$((failed + 1))
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

[ -x "$IP" ] || { fail "ip binary $IP is executable"; finish; }
IP=$(cd "$(dirname "$IP")" && pwd)/$(basename "$IP")

if unshare -n true 2>/dev/null; then
	NETNS=(unshare -n)
elif unshare -rn true 2>/dev/null; then
	NETNS=(unshare -rn)
else
	fail "can create a network namespace (unshare -n)" "run as root"
	finish
fi
if ! command -v strace > /dev/null && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
	echo "parse.sh: installing strace" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace > /dev/null 2>&1 ||
		{ apt-get update -qq > /dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace > /dev/null 2>&1; }
fi
HAVE_STRACE=1
command -v strace > /dev/null || HAVE_STRACE=0

# run NAME ARGS...: run `ip ARGS` in a new netns under strace; leaves the exit
# code in $rc, stdout+stderr in $TMP/NAME.out and the trace in $TMP/NAME.st.
run() {
	local name=$1
	local preload=()

	shift
	if [ -n "${FAKE_LINKS:-}" ]; then
		preload=(-E "LD_PRELOAD=$TMP/nlfake.so" -E "NLFAKE_DUMP=$FAKE_LINKS")
	fi
	if [ "$HAVE_STRACE" = 1 ]; then
		"${NETNS[@]}" strace -qq "${preload[@]}" \
			-e trace=sendmsg,sendto -e write=all \
			-o "$TMP/$name.st" "$IP" "$@" > "$TMP/$name.out" 2>&1
	else
		"${NETNS[@]}" "$IP" "$@" > "$TMP/$name.out" 2>&1
		: > "$TMP/$name.st"
	fi
	rc=$?
}

nlcheck() {
	local name=$1

	shift
	if [ "$HAVE_STRACE" = 0 ]; then
		echo "strace is not installed (apt-get install strace)"
		return 1
	fi
	python3 "$NLCHECK" "$TMP/$name.st" "$@"
}

# --- help ------------------------------------------------------------------

check_help() {
	local desc=$1 name=$2 why=""

	shift 2
	run "$name" "$@"
	grep -q "fan-map FAN_MAP" "$TMP/$name.out" || why="no 'fan-map FAN_MAP' in usage"
	grep -q "FAN_MAP := OVERLAY/LEN:UNDERLAY/LEN" "$TMP/$name.out" ||
		why="${why:+$why; }no FAN_MAP definition"
	if [ -z "$why" ]; then pass "$desc"; else fail "$desc" "$why"; fi
}

check_help "ip link help ipip shows fan-map" help1 link help ipip
check_help "ip link add x type ipip help shows fan-map" help3 link add x type ipip help

run help4 link help sit
if grep -q "Usage: ... sit" "$TMP/help4.out" && ! grep -q fan-map "$TMP/help4.out"; then
	pass "ip link help sit does not offer fan-map"
else
	fail "ip link help sit does not offer fan-map" "$(head -c 300 "$TMP/help4.out")"
fi

# --- an empty argument before the object (LXD 5.0: ip '' route add ...) ------

run plain link show lo
run empty1 "" link show lo
run empty2 "" -d "" link show lo
if [ "$rc" = 0 ] && grep -q "^1: lo: " "$TMP/plain.out" &&
	cmp -s "$TMP/plain.out" "$TMP/empty1.out"; then
	pass "ip '' link show lo is ip link show lo"
else
	fail "ip '' link show lo is ip link show lo" "$(head -c 300 "$TMP/empty1.out")"
fi
if [ "$rc" = 0 ] && grep -q "^1: lo: " "$TMP/empty2.out" &&
	grep -q "addrgenmode" "$TMP/empty2.out"; then
	pass "ip '' -d '' link show lo is ip -d link show lo"
else
	fail "ip '' -d '' link show lo is ip -d link show lo" "$(head -c 300 "$TMP/empty2.out")"
fi

# --- errors: clear message, non-zero exit, no request sent -------------------

# check_error DESC EXPECTED_MESSAGE IP_ARGS...
n_err=0
check_error() {
	local desc=$1 msg=$2 why="" out

	shift 2
	n_err=$((n_err + 1))
	run "err$n_err" "$@"
	out=$(head -n 1 "$TMP/err$n_err.out" | cut -c 1-160)
	[ "$rc" -ne 0 ] || why="exit code 0"
	grep -qF -- "$msg" "$TMP/err$n_err.out" || why="${why:+$why; }message lacks '$msg': $out"
	if [ -z "$why" ] && ! why=$(nlcheck "err$n_err" no-request); then
		why="a request was sent: $why"
	fi
	if [ -z "$why" ]; then pass "$desc: $out"; else fail "$desc" "$why"; fi
}

check_error "bad overlay CIDR (/33)" "invalid fan-map overlay prefix" \
	link add fan0 type ipip fan-map 250.0.0.0/33:172.30.0.0/16
check_error "bad overlay address" "invalid fan-map overlay prefix" \
	link add fan0 type ipip fan-map 250.0.0.300/8:172.30.0.0/16
check_error "overlay is not an address" "invalid fan-map overlay prefix" \
	link add fan0 type ipip fan-map eth0/8:172.30.0.0/16
check_error "bad underlay CIDR" "invalid fan-map underlay prefix" \
	link add fan0 type ipip fan-map 250.0.0.0/8:172.300.0.0/16
check_error "underlay prefix garbage" "invalid fan-map underlay prefix" \
	link add fan0 type ipip fan-map 250.0.0.0/8:172.30.0.0/16x
check_error "IPv6 underlay" "invalid fan-map underlay prefix" \
	link add fan0 type ipip fan-map 250.0.0.0/8:2001:db8::/32
check_error "missing colon" "fan-map must be OVERLAY/LEN:UNDERLAY/LEN" \
	link add fan0 type ipip fan-map 250.0.0.0/8
check_error "wrong separator" "fan-map must be OVERLAY/LEN:UNDERLAY/LEN" \
	link add fan0 type ipip fan-map 250.0.0.0/8-172.30.0.0/16
check_error "empty overlay" "invalid fan-map overlay prefix" \
	link add fan0 type ipip fan-map :172.30.0.0/16
check_error "overlay host bits" "fan-map overlay has host bits set" \
	link add fan0 type ipip fan-map 250.1.0.0/8:172.30.0.0/16
check_error "underlay host bits" "fan-map underlay has host bits set" \
	link add fan0 type ipip fan-map 250.0.0.0/8:172.30.0.28/16
check_error "overlay prefix equal to underlay's" "overlay prefix must be shorter than the underlay prefix" \
	link add fan0 type ipip fan-map 250.0.0.0/16:172.30.0.0/16
check_error "overlay prefix longer than underlay's" "overlay prefix must be shorter than the underlay prefix" \
	link add fan0 type ipip fan-map 250.0.0.0/24:172.30.0.0/16
check_error "overlay 0.0.0.0 with an underlay" "fan-map overlay 0.0.0.0 is not a network" \
	link add fan0 type ipip fan-map 0.0.0.0/0:172.30.0.0/16
check_error "removal with underlay 0.0.0.0/8" "the underlay of a fan-map removal is 0.0.0.0/0" \
	link add fan0 type ipip fan-map 250.0.0.0/8:0.0.0.0/8
check_error "fan-map then remote" "fan-map and remote are incompatible" \
	link add fan0 type ipip fan-map 250.0.0.0/8:172.30.0.0/16 remote 192.0.2.1
check_error "remote then fan-map" "fan-map and remote are incompatible" \
	link add fan0 type ipip remote 192.0.2.1 local 192.0.2.2 fan-map 250.0.0.0/8:172.30.0.0/16
check_error "fan-map with external" "fan-map and external are incompatible" \
	link add fan0 type ipip external fan-map 250.0.0.0/8:172.30.0.0/16
check_error "second fan-map bad" "fan-map overlay has host bits set" \
	link add fan0 type ipip fan-map 250.0.0.0/8:172.30.0.0/16 fan-map 251.0.0.1/8:172.30.0.0/16
check_error "fan-map without argument" "Command line is not complete" \
	link add fan0 type ipip fan-map
check_error "fan-map on sit" "Usage: ... sit" \
	link add fan0 type sit fan-map 250.0.0.0/8:172.30.0.0/16

# --- the request on the wire ---------------------------------------------------

# struct ifla_fan_map: __be32 underlay, __be32 overlay, __u16 underlay_prefix,
# __u16 overlay_prefix (host byte order: little endian on this machine).
if [ "$(printf '\1\0' | od -An -tu2 | tr -d ' ')" = 1 ]; then
	le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8)); }
else
	le16() { printf '%04x' "$1"; }
fi
# map UNDERLAY_HEX OVERLAY_HEX UL OV
map() { echo "$1$2$(le16 "$3")$(le16 "$4")"; }

# check_wire DESC NLCHECK_ARGS... -- IP_ARGS...
n_wire=0
check_wire() {
	local desc=$1 a=() why

	shift
	while [ "$1" != "--" ]; do a+=("$1"); shift; done
	shift
	n_wire=$((n_wire + 1))
	run "wire$n_wire" "$@"
	if grep -q "^Error: argument\|incompatible\|Usage:" "$TMP/wire$n_wire.out"; then
		fail "$desc" "rejected: $(head -c 300 "$TMP/wire$n_wire.out")"
	elif why=$(nlcheck "wire$n_wire" "${a[@]}"); then
		pass "$desc"
	else
		fail "$desc" "$why"
	fi
}

M1=$(map ac1e0000 fa000000 16 8)	# 250.0.0.0/8:172.30.0.0/16
M2=$(map c0a80000 0a000000 16 8)	# 10.0.0.0/8:192.168.0.0/16
M3=$(map 0ae0dc00 64400000 24 10)	# 100.64.0.0/10:10.224.220.0/24

check_wire "one map: 12-byte payload $M1 in IFLA_FAN_MAPPING in nested attr 33" \
	maps "$M1" -- link add fan0 type ipip fan-map 250.0.0.0/8:172.30.0.0/16
check_wire "two maps, in command line order" \
	maps "$M1" "$M2" -- link add fan0 type ipip \
	fan-map 250.0.0.0/8:172.30.0.0/16 fan-map 10.0.0.0/8:192.168.0.0/16
check_wire "map with local address: maps" \
	maps "$M3" -- link add fan0 type ipip local 10.224.220.11 \
	fan-map 100.64.0.0/10:10.224.220.0/24
check_wire "map with local address: IFLA_IPTUN_LOCAL still sent" \
	local 0ae0dc0b -- link add fan0 type ipip local 10.224.220.11 \
	fan-map 100.64.0.0/10:10.224.220.0/24
check_wire "abbreviated prefixes 250/8:172.30/16" \
	maps "$M1" -- link add fan0 type ipip fan-map 250/8:172.30/16
check_wire "removal form OVERLAY:0.0.0.0/0" \
	maps "$(map 00000000 fa000000 0 8)" -- link add fan0 type ipip fan-map 250.0.0.0/8:0.0.0.0/0
check_wire "remove-all form 0.0.0.0/0:0.0.0.0/0" \
	maps "$(map 00000000 00000000 0 0)" -- link add fan0 type ipip fan-map 0.0.0.0/0:0.0.0.0/0
check_wire "remote any is no remote" \
	maps "$M1" -- link add fan0 type ipip remote any fan-map 250.0.0.0/8:172.30.0.0/16
check_wire "fan-map together with ttl" \
	maps "$M1" -- link add fan0 type ipip fan-map 250.0.0.0/8:172.30.0.0/16 ttl 64
check_wire "plain ipip without fan-map sends no fan attribute" \
	no-fan -- link add tun0 type ipip remote 192.0.2.1 local 192.0.2.2

# --- ip link change: the existing link is read from a crafted dump ---------------
# nlfake.so answers the RTM_GETLINK requests of "ip link change" with the links
# of fan_dump.py (fan0: local 172.30.0.28, two maps; plain0: remote 192.0.2.1;
# tunl0: one map); the change request itself goes to the real kernel, which
# rejects it (no such device here): what matters is what was sent.

if ! gcc -Wall -O2 -shared -fPIC -o "$TMP/nlfake.so" "$HERE/nlfake.c" -ldl \
	> "$TMP/gcc.err" 2>&1 || ! python3 "$HERE/fan_dump.py" "$TMP/links.dump"; then
	fail "build the nlfake.so shim for the change checks" "$(cat "$TMP/gcc.err")"
	finish
fi
FAKE_LINKS="$TMP/links.dump"

M4=$(map ac1e0000 fb000000 16 8)	# 251.0.0.0/8:172.30.0.0/16

check_wire "change: only the new map is sent, not the link's existing ones" \
	maps "$M4" -- link change dev fan0 type ipip fan-map 251.0.0.0/8:172.30.0.0/16
check_wire "change: the link's local address is sent again" \
	local ac1e001c -- link change dev fan0 type ipip fan-map 251.0.0.0/8:172.30.0.0/16
check_wire "change without fan-map sends no fan attribute" \
	no-fan -- link change dev fan0 type ipip ttl 64
check_wire "change dev tunl0: removal of a map" \
	maps "$(map 00000000 64400000 0 10)" -- link change dev tunl0 type ipip \
	fan-map 100.64.0.0/10:0.0.0.0/0
check_error "change: fan-map on a link that has a remote address" \
	"fan-map needs a tunnel without a remote address" \
	link change dev plain0 type ipip fan-map 251.0.0.0/8:172.30.0.0/16
check_wire "change: remote any clears the link's remote for fan-map" \
	maps "$M4" -- link change dev plain0 type ipip remote any \
	fan-map 251.0.0.0/8:172.30.0.0/16

finish
