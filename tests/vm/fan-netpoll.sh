#!/usr/bin/env bash
# No netconsole through a fan device (or any ipip device of the module):
# netpoll hands a device Ethernet frames, which a tunnel can only carry as
# garbage, and transmits with interrupts disabled, in the middle of
# whatever the CPU was sending. The module marks its devices as not
# supporting netpoll: netconsole refuses to attach, and says why.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
# netconsole only looks in the initial namespace: use its tunl0, and leave
# it as it was.
target=/sys/kernel/config/netconsole/fan-test
cleanup() {
	rmdir "$target" 2>/dev/null || true
	fannl change tunl0 --map 0.0.0.0/0:0.0.0.0/0 2>/dev/null || true
	ip link set tunl0 down 2>/dev/null || true
}
trap 'cleanup; _fan_cleanup' EXIT
[ -d /sys/kernel/config/netconsole ] || mount -t configfs none /sys/kernel/config
[ -d /sys/kernel/config/netconsole ] || { echo "no netconsole in this kernel" >&2; exit 1; }

fannl change tunl0 --map 250.0.0.0/8:172.30.0.0/16
ip link set tunl0 up
mkdir "$target"
echo tunl0 >"$target/dev_name"
echo 250.0.27.1 >"$target/local_ip"
echo 250.0.28.2 >"$target/remote_ip"
if echo 1 >"$target/enabled" 2>/dev/null; then
	echo "netconsole attached to a fan device" >&2
	exit 1
fi
expect_eq "netconsole target state" "$(cat "$target/enabled")" 0
expect_match "the kernel says why" "$(dmesg | tail -20)" "tunl0 doesn't support polling"
