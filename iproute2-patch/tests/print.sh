#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# print.sh IP - test how a patched `ip` prints fan maps, without a fan
# kernel: crafted RTM_NEWLINK messages (fan_dump.py), as a kernel with the
# fan module would dump them, are fed to `ip -d link show` and
# `ip -j -d link show` by an LD_PRELOAD shim (nlfake.c) that answers the
# link dump request in place of the kernel, and to `ip -d monitor file`.
#
# Needs gcc and python3; no root, no network namespace, nothing changes.
# Prints one line per check and "N passed, N failed"; exits 1 on any failure.
set -u

IP=${1:?usage: $0 PATH_TO_PATCHED_IP}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

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

[ -x "$IP" ] || { fail "ip binary $IP is executable"; finish; }

if ! gcc -Wall -O2 -shared -fPIC -o "$TMP/nlfake.so" "$HERE/nlfake.c" -ldl \
	2> "$TMP/gcc.err"; then
	fail "build the nlfake.so shim" "$(cat "$TMP/gcc.err")"
	finish
fi
python3 "$HERE/fan_dump.py" "$TMP/links.dump" || { fail "craft the dump"; finish; }

fake() {
	NLFAKE_DUMP="$TMP/links.dump" LD_PRELOAD="$TMP/nlfake.so" "$IP" "$@"
}

# --- text ----------------------------------------------------------------------

fake -d link show > "$TMP/text" 2> "$TMP/text.err"
# the details line of each link: "    ipip ipip remote ... "
details() { awk -v dev="$1" '$2 == dev":" { f = 1; next } f && /^    ipip / { print; exit }' "$TMP/text"; }

# check_text DEV EXPECTED_FAN_PART ("" for none)
check_text() {
	local dev=$1 want=$2 line got

	line=$(details "$dev")
	got=$(printf '%s\n' "$line" | grep -o 'fan-map [^ ]*' | tr '\n' ' ' | sed 's/ $//')
	if [ -z "$line" ]; then
		fail "text: $dev is shown with details" "$(cat "$TMP/text" "$TMP/text.err")"
	elif [ "$got" = "$want" ]; then
		pass "text: $dev shows '${want:-no fan-map}'"
	else
		fail "text: $dev shows '${want:-no fan-map}'" "got: $line"
	fi
}

check_text fan0 "fan-map 250.0.0.0/8:172.30.0.0/16 fan-map 10.0.0.0/8:192.168.0.0/16"
check_text tunl0 "fan-map 100.64.0.0/10:10.224.220.0/24"
check_text plain0 ""
check_text empty0 ""
check_text bad0 "fan-map 253.0.0.0/8:172.31.0.0/16"

line=$(details fan0)
case "$line" in
*"local 172.30.0.28 fan-map 250.0.0.0/8:172.30.0.0/16 fan-map 10.0.0.0/8:192.168.0.0/16 ttl inherit"*)
	pass "text: maps come after the endpoints, other options intact" ;;
*)	fail "text: maps come after the endpoints, other options intact" "$line" ;;
esac

fake -r -d link show > "$TMP/resolve" 2>&1
if grep -q "fan-map 250.0.0.0/8:172.30.0.0/16" "$TMP/resolve"; then
	pass "text: -r (resolve) keeps the maps numeric"
else
	fail "text: -r (resolve) keeps the maps numeric" "$(cat "$TMP/resolve")"
fi

"$IP" -d monitor file "$TMP/links.dump" > "$TMP/monitor" 2> /dev/null
if grep -q "fan-map 250.0.0.0/8:172.30.0.0/16 fan-map 10.0.0.0/8:192.168.0.0/16" "$TMP/monitor"; then
	pass "text: ip -d monitor file shows the maps"
else
	fail "text: ip -d monitor file shows the maps" "$(cat "$TMP/monitor")"
fi

# --- JSON ------------------------------------------------------------------

check_json() {
	local desc=$1

	shift
	fake "$@" > "$TMP/json" 2> "$TMP/json.err"
	if why=$(python3 - "$TMP/json" 2>&1 <<-'EOF'
	import json, sys
	text = open(sys.argv[1]).read()
	try:
	    links = {l["ifname"]: l for l in json.loads(text)}
	except Exception as e:
	    sys.exit(f"invalid JSON ({e}): {text[:200]}")
	want = {
	    "fan0": ["250.0.0.0/8:172.30.0.0/16", "10.0.0.0/8:192.168.0.0/16"],
	    "tunl0": ["100.64.0.0/10:10.224.220.0/24"],
	    "plain0": None,
	    "empty0": [],
	    "bad0": ["253.0.0.0/8:172.31.0.0/16"],
	}
	for dev, maps in want.items():
	    data = links[dev]["linkinfo"]["info_data"]
	    if data.get("fan_map") != maps:
	        sys.exit(f"{dev}: fan_map is {data.get('fan_map')!r}, want {maps!r}")
	if links["fan0"]["linkinfo"]["info_data"].get("local") != "172.30.0.28":
	    sys.exit("fan0: local lost")
	EOF
	); then
		pass "$desc"
	else
		fail "$desc" "$why $(cat "$TMP/json.err")"
	fi
}

check_json "json: valid, fan_map arrays as expected (ip -j -d link show)" -j -d link show
check_json "json: valid, fan_map arrays as expected (ip -j -p -d link show)" -j -p -d link show

fake -j -d link show 2> /dev/null | python3 -m json.tool > /dev/null 2>&1 &&
	pass "json: python3 -m json.tool accepts it" ||
	fail "json: python3 -m json.tool accepts it"

finish
