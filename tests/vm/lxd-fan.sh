#!/usr/bin/env bash
# LXD's own fan networks on the module: Debian 12's lxd (5.0 LTS) with
# nothing of ours but two packages, installed with dpkg -i as on a host
# (tests/lib/packages.sh): fan-dkms (fan_ipip, installed by DKMS) and
# iproute2 with the fan patches (make iproute2-deb), which becomes the
# system's ip.
#
# Two simulated hosts, h27 and h28, each run an LXD daemon of their own (its
# own LXD_DIR, in the host's network namespace). On each, as an LXD user
# would:
#   lxc network create lxdfan0 bridge.mode=fan \
#       fan.underlay_subnet=172.30.0.0/16 fan.type=ipip
# LXD itself runs `ip -4 route flush dev tunl0` (the kernel loads the module
# for tunl0 through fan-dkms's aliases), `ip link change dev tunl0 type ipip
# fan-map 240.0.0.0/8:172.30.0.0/16` and `ip route add 240.0.0.0/8 dev tunl0
# src ...`. A container on each host, from a busybox image built here and
# imported with `lxc image import`, gets its fan address from LXD's dnsmasq,
# and the two ping each other across the fan. `fan.type=vxlan` fails with
# ip's error: the module serves IPIP only.
#
# Needs packaging/tests/run.sh (the packages, the DKMS binaries) and make
# iproute2-deb to have run on the host, and lxd installed there (make deps).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/hosts.sh"
. "$here/../lib/packages.sh"
packages_private_mounts "$0" "$@"

iproute2_deb=$(ls "$PACKAGES_REPO"/build/iproute2-deb/iproute2_*+fan1_*.deb 2>/dev/null | head -1)
[ -n "$iproute2_deb" ] || {
	echo "no build/iproute2-deb/iproute2_*+fan1_*.deb (run: make iproute2-deb)" >&2
	exit 1
}
command -v lxd >/dev/null || {
	echo "lxd is not installed (run: make deps)" >&2
	exit 1
}

hosts=(h27 h28)
modprobe_was=$(cat /proc/sys/kernel/modprobe)
modprobe_helper=
lxd_cleanup() {
	local h
	# Each step is best effort: one that fails must not end the trap
	# before the namespaces are gone.
	set +e
	for h in "${hosts[@]}"; do
		[ -S "$PACKAGES_TMP/lxd-$h/unix.socket" ] || continue
		lxc_on "$h" delete --force "c${h#h}" >/dev/null 2>&1
		LXD_DIR=$PACKAGES_TMP/lxd-$h timeout 60 lxd shutdown >/dev/null 2>&1
	done
	# Whatever LXD left running, the next tests must not find.
	if [ -n "$PACKAGES_TMP" ] && mkdir -p "$PACKAGES_TMP/cgroup" &&
		mount -t cgroup2 cgroup2 "$PACKAGES_TMP/cgroup"; then
		for g in "$PACKAGES_TMP"/cgroup/lxc.payload.*; do
			[ -e "$g/cgroup.kill" ] && echo 1 >"$g/cgroup.kill"
		done
		umount "$PACKAGES_TMP/cgroup"
	fi
	_fan_cleanup
	echo "$modprobe_was" >/proc/sys/kernel/modprobe
	rm -f "$modprobe_helper"
	packages_cleanup
}
trap lxd_cleanup EXIT

# lxc_on HOST ARGS...: the lxc client, talking to HOST's daemon. Its own
# configuration goes under the test's directory (LXD_CONF): the guest's
# $HOME is the host's, read-only.
lxc_on() {
	local host=$1
	shift
	LXD_DIR=$PACKAGES_TMP/lxd-$host LXD_CONF=$PACKAGES_TMP/lxc-conf-$host lxc "$@"
}

# ---- the two packages, and the kernel's module loader -------------------------
# The kernel loads modules on demand by running /sbin/modprobe in the guest's
# own mount namespace, which sees none of this test's packages: for this
# test, it runs modprobe in this one. (Written before the mounts below, in
# the /tmp that both namespaces see.)
modprobe_helper=$(mktemp /tmp/fan-lxd-modprobe.XXXXXX)
printf '#!/bin/sh\nexec nsenter --mount=/proc/%s/ns/mnt /sbin/modprobe "$@"\n' $$ >"$modprobe_helper"
chmod +x "$modprobe_helper"

packages_system
unload fan_ipip
unload ipip
if ! out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$PACKAGES_DKMS_DEB" "$iproute2_deb" 2>&1); then
	echo "$out" >&2
	echo "dpkg -i failed" >&2
	exit 1
fi
expect_eq "dpkg status" "$(dpkg-query -W -f='${Package} ${Status}\n' fan-dkms iproute2)" \
	"fan-dkms install ok installed
iproute2 install ok installed"
expect_match "the system's ip" "$(ip link help ipip 2>&1)" "fan-map"
packages_dkms_install
echo "$modprobe_helper" >/proc/sys/kernel/modprobe

# ---- two hosts, an LXD daemon on each ------------------------------------------
underlay_create 1500
host_add h27 172.30.0.27/16
host_add h28 172.30.0.28/16

image=$PACKAGES_TMP/busybox-image.tar.gz
# A unified LXD image (metadata.yaml, rootfs/) of the guest's busybox: an
# init that takes a DHCP lease on eth0 and waits.
build_image() {
	local tmp=$PACKAGES_TMP/image root=$PACKAGES_TMP/image/rootfs lib a
	mkdir -p "$root"/{bin,sbin,etc,dev,proc,sys,tmp,run,root,usr/share/udhcpc}
	cp -L /bin/busybox "$root/bin/busybox"
	for lib in $(ldd /bin/busybox | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	for a in sh ip ping udhcpc sleep; do
		ln -s busybox "$root/bin/$a"
	done
	cat >"$root/sbin/init" <<'EOF'
#!/bin/sh
udhcpc -b -i eth0 -s /usr/share/udhcpc/default.script
trap 'exit 0' PWR TERM
while :; do sleep 1; done
EOF
	cat >"$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
case $1 in
bound | renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
	[ -n "$router" ] && ip route replace default via "${router%% *}"
	;;
esac
exit 0
EOF
	chmod +x "$root/sbin/init" "$root/usr/share/udhcpc/default.script"
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	printf 'architecture: %s\ncreation_date: %s\nproperties:\n  description: busybox\n  os: busybox\n  release: "1"\n' \
		"$(uname -m)" "$(date +%s)" >"$tmp/metadata.yaml"
	tar -C "$tmp" -czf "$image" metadata.yaml rootfs
}
build_image

# lxd_start HOST: an LXD daemon in HOST's namespace, with cgroup2 mounted in
# its mount namespace (ip netns exec gives it a /sys of its own), a dir
# storage pool, and a default profile of privileged containers (no id
# mapping for LXD to set up: unprivileged containers are not tried here).
lxd_start() {
	local host=$1 dir=$PACKAGES_TMP/lxd-$1
	mkdir -p "$dir"
	on "$host" env LXD_DIR="$dir" sh -c \
		'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec lxd --group root --logfile "$LXD_DIR/lxd.log"' \
		>"$dir/daemon.out" 2>&1 &
	if ! LXD_DIR=$dir timeout 300 lxd waitready --timeout 300; then
		cat "$dir/daemon.out" "$dir/lxd.log" >&2
		return 1
	fi
	LXD_DIR=$dir lxd init --preseed <<'EOF'
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  config:
    security.privileged: "true"
  devices:
    root:
      path: /
      pool: default
      type: disk
EOF
	lxc_on "$host" image import "$image" --alias busybox
}

for h in "${hosts[@]}"; do
	lxd_start "$h"
done

# ---- LXD's fan -------------------------------------------------------------------
grep -q '^fan_ipip ' /proc/modules && {
	echo "fan_ipip was loaded before LXD asked for tunl0" >&2
	exit 1
}
for h in "${hosts[@]}"; do
	lxc_on "$h" network create lxdfan0 bridge.mode=fan fan.underlay_subnet=172.30.0.0/16 fan.type=ipip
done
expect_eq "the module loaded for LXD's tunl0" "$(cut -d' ' -f1 /proc/modules | grep -x -e ipip -e fan_ipip)" fan_ipip
for h in "${hosts[@]}"; do
	n=${h#h}
	expect_eq "$h fan map (set by LXD)" "$(on "$h" python3 "$here/../lib/fannl.py" dump tunl0)" \
		"240.0.0.0/8:172.30.0.0/16"
	expect_match "$h fan map in ip -d link" "$(on "$h" ip -d link show tunl0)" "fan-map 240\.0\.0\.0/8:172\.30\.0\.0/16"
	expect_eq "$h lxdfan0 address" "$(on "$h" ip -4 -o addr show dev lxdfan0 | awk '{print $4}')" "240.0.$n.1/24"
	expect_eq "$h lxdfan0 MTU (LXD's for an IPIP fan)" "$(on "$h" cat /sys/class/net/lxdfan0/mtu)" 1480
	expect_match "$h fan route" "$(on "$h" ip -4 route show 240.0.0.0/8)" \
		"^240\.0\.0\.0/8 dev tunl0 .*src 240\.0\.$n\.1"
done

# ---- a container on each host ------------------------------------------------------
for h in "${hosts[@]}"; do
	lxc_on "$h" launch busybox "c${h#h}" --network lxdfan0
done
# c_addr HOST: the container's fan address, as `lxc list` shows it.
c_addr() {
	lxc_on "$1" list "c${1#h}" --format csv -c 4 | sed -n 's/^\([0-9.]*\) (eth0)$/\1/p'
}
for h in "${hosts[@]}"; do
	for _ in $(seq 120); do
		[ -n "$(c_addr "$h")" ] && break
		sleep 1
	done
	expect_match "c${h#h} address from LXD's dnsmasq" "$(c_addr "$h")" "^240\.0\.${h#h}\.[0-9]+$"
done
c27=$(c_addr h27)
c28=$(c_addr h28)
tx_before=$(link_stat h28 tunl0 tx_packets)
rx_before=$(link_stat h28 tunl0 rx_packets)
lxc_on h28 exec c28 -- ping -c 3 -i 0.2 -W 5 "$c27"
lxc_on h27 exec c27 -- ping -c 3 -i 0.2 -W 5 "$c28"
expect_ge "h28 tunl0 tx_packets during the pings" "$(($(link_stat h28 tunl0 tx_packets) - tx_before))" 6
expect_ge "h28 tunl0 rx_packets during the pings" "$(($(link_stat h28 tunl0 rx_packets) - rx_before))" 6

# ---- fan.type=vxlan: not served, and said so ---------------------------------------
if out=$(lxc_on h28 network create lxdfan1 bridge.mode=fan fan.underlay_subnet=172.30.0.0/16 \
	fan.overlay_subnet=241.0.0.0/8 fan.type=vxlan 2>&1); then
	echo "lxc network create ... fan.type=vxlan succeeded: $out" >&2
	exit 1
fi
echo "$out"
expect_match "fan.type=vxlan" "$out" 'vxlan: unknown command "fan-map"'

echo "lxd-fan: all checks passed"
