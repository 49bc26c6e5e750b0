#!/usr/bin/env bash
# fan_ipip replaces Linux's ipip: it refuses to load beside ipip.ko with a
# message that says what to do, loads once ipip.ko is gone, and carries the
# aliases that make the kernel pick it for `ip link add ... type ipip`.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

if grep -q '^fan_ipip ' /proc/modules; then rmmod fan_ipip; fi
modprobe ipip
dmesg -C
if insmod "$FAN_KMOD" 2>/dev/null; then
	echo "fan_ipip loaded beside ipip.ko" >&2
	exit 1
fi
dmesg | grep -q "Linux's ipip module is loaded; unload it first (modprobe -r ipip)" || {
	echo "no clear message in the kernel log:" >&2
	dmesg >&2
	exit 1
}
expect_eq "fan_ipip modules loaded" "$(grep -c '^fan_ipip ' /proc/modules)" 0
ip link show tunl0 >/dev/null

modprobe -r ipip
insmod "$FAN_KMOD"
expect_eq "net.fan.version" "$(cat /proc/sys/net/fan/version)" 3
ip -d link show tunl0 >/dev/null

aliases=$(modinfo -F alias "$FAN_KMOD" | sort | tr '\n' ' ')
expect_eq "module aliases" "$aliases" "netdev-tunl0 rtnl-link-ipip "
