#!/usr/bin/env bash
# Drop-in compatibility: the kernel's own selftests that exercise ipip, run
# once with Linux's ipip.ko and once with fan_ipip.ko in the same boot:
#
#   net/pmtu.sh: pmtu_ipv4_ipv4_exception, pmtu_ipv4_fou4_exception,
#                pmtu_ipv4_gue4_exception (every case that creates an ipip
#                device), each also re-run with nexthop objects
#   net/netfilter/conntrack_ipip_mtu.sh
#
# Fails if a case passes with Linux's driver but not with ours, or if a case
# does not pass with Linux's own driver (then the guest kernel, not the
# module, is at fault, and nothing would be compared).
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

# The selftests come from the running test kernel's own source tree (the
# build tree's "source" link; qemu/run says where the build tree is).
ksrc=$(readlink -f "${FAN_KERNEL_DIR:-}/source")
selftests=$ksrc/tools/testing/selftests/net
if [ ! -f "$selftests/pmtu.sh" ]; then
	echo "no kernel source at '$ksrc' (FAN_KERNEL_DIR: '${FAN_KERNEL_DIR:-}'; run it with qemu/run)" >&2
	exit 1
fi

# They source their libraries from the working directory and write beside
# themselves: run copies, with every library they may source (which differ
# between kernels: 6.12's net_helper.sh, 7.x's lib/sh/).
work=$(mktemp -d)
trap '_fan_cleanup; rm -rf "$work"' EXIT
mkdir -p "$work/net/netfilter"
cp "$selftests"/*.sh "$work/net/"
cp -r "$selftests/lib" "$work/net/"
cp "$selftests"/netfilter/*.sh "$work/net/netfilter/"

pmtu_cases=(pmtu_ipv4_ipv4_exception pmtu_ipv4_fou4_exception pmtu_ipv4_gue4_exception)

use_linux_ipip() {
	if grep -q '^fan_ipip ' /proc/modules; then rmmod fan_ipip; fi
	modprobe ipip
}

use_fan_ipip() {
	fan_module_load
}

# run_selftests DRIVER: one "RESULT CASE" line per case on stdout, the
# selftests' own output in $work/DRIVER.log.
run_selftests() {
	local driver=$1 log=$work/$1.log line status
	: >"$log"
	(cd "$work/net" && ./pmtu.sh "${pmtu_cases[@]}") >>"$log" 2>&1 || true
	# "TEST: <description>   [ OK ]", one per case and per nexthop re-run
	sed -n 's/^TEST: \(.*[^ ]\) *\[ *\([A-Z]*\) *\]$/\2 pmtu: \1/p' "$log" | tr ' ' '_' |
		sed 's/_/ /'
	status=0
	(cd "$work/net/netfilter" && bash ./conntrack_ipip_mtu.sh) >>"$log" 2>&1 || status=$?
	case $status in
	0) echo "OK conntrack_ipip_mtu" ;;
	4) echo "SKIP conntrack_ipip_mtu" ;;
	*) echo "FAIL conntrack_ipip_mtu" ;;
	esac
	# Leftovers would make the other driver's run meaningless.
	for line in $(ip -o link show type ipip 2>/dev/null | awk -F': ' '{print $2}'); do
		[ "${line%@*}" = tunl0 ] || echo "LEFTOVER $line"
	done
}

use_linux_ipip
linux=$(run_selftests linux)
use_fan_ipip
ours=$(run_selftests fan)
# The fan run really ran on our driver (nothing autoloaded Linux's).
grep -q '^fan_ipip ' /proc/modules
if grep -q '^ipip ' /proc/modules; then
	echo "Linux's ipip.ko was loaded during the fan_ipip run" >&2
	exit 1
fi

echo "Linux's ipip.ko:"
sed 's/^/  /' <<<"$linux"
echo "fan_ipip.ko:"
sed 's/^/  /' <<<"$ours"

failed=0
expected=$((${#pmtu_cases[@]} * 2 + 1)) # each pmtu case twice (nexthops), conntrack
expect_eq "cases run with Linux's ipip" "$(wc -l <<<"$linux")" "$expected" || failed=1
while read -r result name; do
	case $result in
	OK) ;;
	LEFTOVER) echo "Linux's ipip run left device $name behind" >&2; failed=1; continue ;;
	*) echo "Linux's ipip.ko does not pass $name ($result): the guest kernel lacks something" >&2; failed=1 ;;
	esac
	ours_result=$(awk -v n="$name" '$2 == n { print $1 }' <<<"$ours")
	if [ "$ours_result" != OK ]; then
		echo "$name: Linux's ipip.ko passes, fan_ipip.ko gives '${ours_result:-nothing}'" >&2
		failed=1
	fi
done <<<"$linux"
if grep -q '^LEFTOVER' <<<"$ours"; then
	echo "fan_ipip run left devices behind: $(grep '^LEFTOVER' <<<"$ours")" >&2
	failed=1
fi
if [ "$failed" != 0 ]; then
	echo "--- Linux's ipip.ko run" >&2
	cat "$work/linux.log" >&2
	echo "--- fan_ipip.ko run" >&2
	cat "$work/fan.log" >&2
fi
exit "$failed"
