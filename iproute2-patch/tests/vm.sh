#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh IP - end-to-end checks of the patched `ip` against a kernel with
# the fan module loaded (run inside the test VM by tests/vm/iproute2-fan-map.sh).
# Without the module it says so and exits 77, which the suite counts as a
# failure.
#
# Load the fan module before running it (not ipip.ko: the two cannot be
# loaded together).  Everything happens in a network namespace of its own (ip -n), which is
# deleted at the end.  Checks follow docs/netlink.md: creating
# a fan device with two maps, `ip -d link show`, `ip -j -d link show` through
# python3 -m json.tool, adding and removing maps with `ip link change`,
# the kernel's rejections (with an extended ack message) leaving the device
# unchanged, and the fallback device tunl0.
#
# Prints one line per check and "N passed, N failed"; exits 1 on any failure.
set -u

IP=${1:?usage: $0 PATH_TO_PATCHED_IP}
NS=fantest$$
TMP=$(mktemp -d)

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL: $1${2:+ -- $(printf '%s' "$2" | tr '\n\t' '  ' | cut -c 1-300)}"
	failed=$((failed + 1))
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
cleanup() {
	"$IP" netns del "$NS" 2> /dev/null
	rm -rf "$TMP"
}

if [ "$(cat /proc/sys/net/fan/version 2> /dev/null)" != 3 ]; then
	echo "SKIP: vm.sh needs a kernel with the fan module loaded" \
	     "(/proc/sys/net/fan/version does not read 3)"
	exit 77
fi

trap cleanup EXIT
"$IP" netns add "$NS" || { fail "create netns $NS"; finish; }
ipn() { "$IP" -n "$NS" "$@"; }
ipn link set lo up
ipn addr add 10.88.3.4/16 dev lo

# ok DESC CMD...: CMD must succeed
ok() {
	local desc=$1

	shift
	if "$@" > "$TMP/out" 2>&1; then pass "$desc"; else fail "$desc" "$(cat "$TMP/out")"; fi
}

# rejected DESC CMD...: CMD must fail, with the kernel's extack message
rejected() {
	local desc=$1

	shift
	if "$@" > "$TMP/out" 2>&1; then
		fail "$desc" "succeeded"
	elif grep -q "^Error: " "$TMP/out"; then
		pass "$desc: $(head -n 1 "$TMP/out")"
	else
		fail "$desc" "no extended ack message: $(cat "$TMP/out")"
	fi
}

# maps DEV: the maps of DEV from JSON, sorted, one line each
maps() {
	ipn -j -d link show dev "$1" | python3 -c '
import json, sys
link = json.load(sys.stdin)[0]
for m in sorted(link["linkinfo"]["info_data"].get("fan_map", [])):
    print(m)'
}

# has_maps DESC DEV MAP...: DEV has exactly these maps (any order), in JSON
# and in the text output
has_maps() {
	local desc=$1 dev=$2 want got text m why=""

	shift 2
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	got=$(maps "$dev" 2>&1)
	[ "$got" = "$want" ] || why="JSON: $(echo $got) != $(echo $want)"
	text=$(ipn -d link show dev "$dev")
	for m in "$@"; do
		printf '%s' "$text" | grep -qF "fan-map $m " || why="${why:+$why; }text lacks 'fan-map $m'"
	done
	[ "$(printf '%s' "$text" | grep -o 'fan-map ' | wc -l)" -eq "$#" ] ||
		why="${why:+$why; }text has $(printf '%s' "$text" | grep -o 'fan-map ' | wc -l) maps, want $#"
	if [ -z "$why" ]; then pass "$desc"; else fail "$desc" "$why"; fi
}

A=99.0.0.0/8:10.88.0.0/16
B=100.64.0.0/10:10.224.220.0/24
C=101.0.0.0/8:10.88.0.0/16

# --- create ---------------------------------------------------------------------
ok "ip link add fan0 type ipip local 10.88.3.4 fan-map A fan-map B" \
	ipn link add fan0 type ipip local 10.88.3.4 fan-map "$A" fan-map "$B"
has_maps "fan0 has maps A and B" fan0 "$A" "$B"

if ipn -d link show dev fan0 | grep -q "local 10.88.3.4"; then
	pass "fan0 keeps local 10.88.3.4"
else
	fail "fan0 keeps local 10.88.3.4" "$(ipn -d link show dev fan0)"
fi
ok "ip -j -d link show | python3 -m json.tool" \
	bash -c "'$IP' -n $NS -j -d link show | python3 -m json.tool"
ok "ip -j -p -d link show dev fan0 is valid JSON" \
	bash -c "'$IP' -n $NS -j -p -d link show dev fan0 | python3 -m json.tool"

# --- change ---------------------------------------------------------------------
ok "ip link change adds map C" ipn link change dev fan0 type ipip fan-map "$C"
has_maps "fan0 has maps A, B, C" fan0 "$A" "$B" "$C"

rejected "overlapping overlay is refused (EEXIST)" \
	ipn link change dev fan0 type ipip fan-map 99.0.0.0/8:10.89.0.0/16
has_maps "refused map changed nothing" fan0 "$A" "$B" "$C"

rejected "request with one bad map of two is refused" \
	ipn link change dev fan0 type ipip fan-map 102.0.0.0/8:10.90.0.0/16 \
	fan-map 99.0.0.0/8:10.91.0.0/16
has_maps "all or nothing: the good map was not added" fan0 "$A" "$B" "$C"

ok "OVERLAY:0.0.0.0/0 removes map C" \
	ipn link change dev fan0 type ipip fan-map 101.0.0.0/8:0.0.0.0/0
has_maps "fan0 has maps A and B again" fan0 "$A" "$B"

rejected "removing an absent map is refused (ENOENT)" \
	ipn link change dev fan0 type ipip fan-map 102.0.0.0/8:0.0.0.0/0

rejected "a remote address on a fan device is refused (spec section 2)" \
	ipn link change dev fan0 type ipip remote 10.88.6.7
has_maps "refused remote changed nothing" fan0 "$A" "$B"

ok "ip link change without fan-map keeps the maps" \
	ipn link change dev fan0 type ipip ttl 64
has_maps "maps survive an unrelated change" fan0 "$A" "$B"

ok "0.0.0.0/0:0.0.0.0/0 removes every map" \
	ipn link change dev fan0 type ipip fan-map 0.0.0.0/0:0.0.0.0/0
has_maps "fan0 has no maps" fan0

ok "ip link del fan0" ipn link del fan0

# --- tunl0, as Ubuntu's fanctl uses it --------------------------------------
if ipn link show dev tunl0 > /dev/null 2>&1; then
	ok "ip link change dev tunl0 type ipip fan-map" \
		ipn link change dev tunl0 type ipip fan-map 250.0.0.0/8:172.30.0.0/16
	has_maps "tunl0 shows the map" tunl0 250.0.0.0/8:172.30.0.0/16
	ok "tunl0 map removed" \
		ipn link change dev tunl0 type ipip fan-map 250.0.0.0/8:0.0.0.0/0
	has_maps "tunl0 has no maps" tunl0
else
	fail "the namespace has a tunl0 fallback device"
fi

finish
