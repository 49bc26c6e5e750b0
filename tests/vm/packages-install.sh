#!/usr/bin/env bash
# The packages, installed as on a Debian host and used for the announcement's
# demo:
#  - fan-dkms and fanctl from build/deb, installed with dpkg -i into overlays
#    over /etc, /usr and /var (in tmpfs, in a private mount namespace: the
#    host's files stay untouched and the rest of the guest never sees them),
#    on a kernel whose headers are not installed: the postinst registers the
#    source with DKMS and skips the build, saying why; the kernel hooks that
#    build the module for kernels installed later are in /etc/kernel;
#  - modprobe ipip loads Linux's ipip while DKMS has not built fan_ipip, then,
#    once the module DKMS built on the host (packaging/tests/run.sh) is loaded
#    with dkms ldtarball and installed with dkms install, fan_ipip from
#    /lib/modules/KVER/updates/dkms;
#  - two simulated hosts with the installed /usr/sbin/fanctl: h28 brought up
#    and down by fan.service's ExecStart and ExecStop, read from the installed
#    unit and run with FAN_CONFIG; h27 by ifup/ifdown (Debian's ifupdown) from
#    an interfaces file, first with the announcement's `up fanctl up ...`
#    lines, then with the hook's fan-overlay/fan-underlay/fan-flags options;
#    containers ping across;
#  - dpkg --purge removes the module from the module tree, the unit's
#    enablement and the configuration.
#
# Needs packaging/tests/run.sh to have run on the host (tests/run's packaging
# stage): it builds build/deb/*.deb and build/dkms/*.dkms.tar.gz.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/hosts.sh"
. "$here/../lib/packages.sh"
packages_private_mounts "$0" "$@"
. "$here/../lib/fanctl.sh"
# What the fanctl package installs (FANCTL, for fanctl.sh's helpers, once it is).
fanctl=/usr/sbin/fanctl
version=$PACKAGES_VERSION
kver=$PACKAGES_KVER
fanctl_deb=$PACKAGES_FANCTL_DEB
dkms_deb=$PACKAGES_DKMS_DEB

# ---- a writable system, private to this test ---------------------------------
packages_system
pkgtmp=$PACKAGES_TMP
# fanctl's defaults, /run/fan, and ifupdown's state, kept from the guest.
mkdir -p /run/fan
mount -t tmpfs fan-packages /run/fan

packages_install_cleanup() {
	set +e # best effort, to the end (packages_cleanup)
	_fanctl_cleanup 2>/dev/null || _fan_cleanup
	umount -l /run/fan 2>/dev/null
	packages_cleanup
}
trap packages_install_cleanup EXIT
unload fan_ipip
unload ipip

# ---- dpkg -i -----------------------------------------------------------------
if ! out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$dkms_deb" "$fanctl_deb" 2>&1); then
	echo "$out" >&2
	echo "dpkg -i failed" >&2
	exit 1
fi
echo "$out"
expect_eq "dpkg status" "$(dpkg-query -W -f='${Package} ${Status}\n' fan-dkms fanctl)" \
	"fan-dkms install ok installed
fanctl install ok installed"
# No headers for this kernel: registered, not built (build-for-kernel).
expect_match "fan-dkms postinst" "$out" \
	"^fan-dkms: fan_ipip is not built for kernel $kver: its headers are not installed \(no /lib/modules/$kver/build/include\)"
expect_eq "dkms status after dpkg -i" "$(dkms status -m fan)" "fan/$version: added"
expect_eq "fan.service enabled" "$(readlink /etc/systemd/system/multi-user.target.wants/fan.service)" \
	/lib/systemd/system/fan.service
for f in "$fanctl" /etc/network/if-up.d/fan /etc/network/if-down.d/fan \
	/etc/kernel/postinst.d/fan-dkms /etc/kernel/header_postinst.d/fan-dkms; do
	[ -x "$f" ] || {
		echo "$f: not installed" >&2
		exit 1
	}
done

# ---- the module --------------------------------------------------------------
# Not built for this kernel: modprobe.d/fan.conf falls back to Linux's ipip.
modprobe ipip
expect_eq "ipip loaded without fan_ipip" "$(cut -d' ' -f1 /proc/modules | grep -x -e ipip -e fan_ipip)" ipip
unload ipip

# The build from the host, as prebuilt binaries, and dkms install.
packages_dkms_install
installed=/lib/modules/$kver/updates/dkms/fan_ipip.ko
[ -f "$installed" ]
expect_eq "modinfo -n fan_ipip" "$(modinfo -n fan_ipip)" "$installed"

# `modprobe ipip`, through the aliases, loads the installed fan_ipip.
modprobe ipip
expect_eq "loaded for modprobe ipip" "$(cut -d' ' -f1 /proc/modules | grep -x -e ipip -e fan_ipip)" fan_ipip
expect_eq "fan module version" "$(cat /proc/sys/net/fan/version)" 3
# ... that file: the install rule's `modprobe --ignore-install fan_ipip`
# loads it (as modinfo -n above says), and
# the loaded module has its build id. (A build of the same sources
# elsewhere, kmod/fan_ipip.ko included, is the same bytes: the module embeds
# no source paths, so the build id cannot tell those files apart.)
expect_eq "modprobe's file for fan_ipip" "$(modprobe --ignore-install --show-depends fan_ipip | sed 's/ *$//')" "insmod $installed"
build_id() { readelf -n "$1" | sed -n 's/^ *Build ID: //p'; }
loaded_id=$(od -An -tx1 -v /sys/module/fan_ipip/notes/.note.gnu.build-id | tr -d ' \n' | tail -c 40)
expect_eq "loaded module's build id" "$loaded_id" "$(build_id "$installed")"
# The kernel's on-demand loads run `modprobe -q -- NAME` for an ipip link
# and for tunl0. (Run by the kernel itself, it would see the guest's files,
# not this test's overlays: run it here.)
for name in rtnl-link-ipip netdev-tunl0; do
	unload fan_ipip
	modprobe -q -- "$name"
	expect_eq "loaded for $name" "$(cut -d' ' -f1 /proc/modules | grep -x -e ipip -e fan_ipip)" fan_ipip
done

# ---- the demo, from the installed fanctl ---------------------------------------
FANCTL=$fanctl

underlay_create 9001
host_add h27 172.30.0.27/16
host_add h28 172.30.0.28/16

# h28: fan.service's commands, as systemd would run them, with FAN_CONFIG.
unit=/lib/systemd/system/fan.service
read -ra exec_start <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
read -ra exec_stop <<<"$(sed -n 's/^ExecStop=//p' "$unit")"
expect_eq "ExecStart" "${exec_start[*]}" "$fanctl up -a"
expect_eq "ExecStop" "${exec_stop[*]}" "$fanctl down -a"
h28=$pkgtmp/h28
mkdir -p "$h28"
echo "250.0.0.0/8 eth0/16 # the fan of h28" >"$h28/fan"
unit_on_h28() {
	on h28 env FAN_CONFIG="$h28/fan" FAN_RUN_DIR="$h28/run" FAN_STATE_DIR="$h28/state" "$@"
}
netns_snapshot h28 >"$pkgtmp/h28.before"
unit_on_h28 "${exec_start[@]}"
expect_eq "h28 show" "$(unit_on_h28 "$fanctl" show | tr -s ' ')" "Bridge Overlay Underlay Flags
fan-250-0-28 250.0.0.0/8 172.30.0.28/16 host-reserve 1 auto"
expect_eq "h28 fan maps" "$(fan_maps h28)" "250.0.0.0/8:172.30.0.0/16"
container_add h28 c28 fan-250-0-28 250.0.28.2/24 250.0.28.1

# h27: ifupdown configures eth0 and, with it, the fan.
on h27 ip addr flush dev eth0
on h27 ip link set eth0 down
netns_snapshot h27 >"$pkgtmp/h27.before"
cat >"$pkgtmp/interfaces.up" <<'EOF'
iface eth0 inet static
    address 172.30.0.27/16
    up fanctl up 250.0.0.0/8 eth0/16 dhcp
    down fanctl down 250.0.0.0/8 eth0/16
EOF
cat >"$pkgtmp/interfaces.hook" <<'EOF'
iface eth0 inet static
    address 172.30.0.27/16
    fan-overlay 250.0.0.0/8
    fan-underlay eth0/16
    fan-flags dhcp host-reserve 2
EOF
mkdir -p "$pkgtmp/ifstate"
ifupdown() { # ifupdown ifup|ifdown FILE: eth0 of h27, with ifupdown's default fanctl paths
	on h27 "$1" -i "$2" --state-dir "$pkgtmp/ifstate" eth0
}

# fan_on_h27 FLAGS STANZA: ifup, a container leased by the fan's dnsmasq,
# pings with c28; ifdown with the container there (fanctl refuses, ifdown
# goes on: the fan stays, idle) and ifup again (the fan works again); ifdown
# once the container is gone, and h27 is as it was.
fan_on_h27() {
	local flags=$1 file=$2 c27 out
	ifupdown ifup "$file"
	expect_eq "h27 eth0 address ($file)" "$(on h27 ip -4 -o addr show dev eth0 | awk '{print $4}')" \
		172.30.0.27/16
	expect_eq "h27 show ($file)" "$(on h27 "$fanctl" show | tr -s ' ')" "Bridge Overlay Underlay Flags
fan-250-0-27 250.0.0.0/8 172.30.0.27/16 $flags"
	container_add h27 c27 fan-250-0-27
	dhcp_lease c27
	c27=$(addr_of c27)
	expect_match "c27 leased address" "$c27" '^250\.0\.27\.[0-9]+$'
	on c27 ping -c 2 -i 0.2 -W 3 250.0.28.2
	on c28 ping -c 2 -i 0.2 -W 3 "$c27"
	out=$(ifupdown ifdown "$file" 2>&1)
	expect_match "ifdown with c27 attached" "$out" \
		"fan-250-0-27 still has 1 attached interface \(v-c27\)"
	expect_eq "h27 eth0 address after ifdown" "$(on h27 ip -4 -o addr show dev eth0)" ""
	expect_eq "h27 show after a refused down ($file)" "$(on h27 "$fanctl" show | tr -s ' ')" \
		"Bridge Overlay Underlay Flags
fan-250-0-27 250.0.0.0/8 172.30.0.27/16 $flags"
	out=$(ifupdown ifup "$file" 2>&1)
	expect_match "ifup over the fan left up" "$out" "^fan-250-0-27: 250.0.0.0/8 over 172.30.0.27/16 is already up"
	on c28 ping -c 2 -i 0.2 -W 3 "$c27"
	container_del h27 c27
	ifupdown ifdown "$file"
	expect_eq "h27 show after ifdown ($file)" "$(on h27 "$fanctl" show | tr -s ' ')" \
		"Bridge Overlay Underlay Flags"
	netns_snapshot h27 >"$pkgtmp/h27.after"
	expect_same "h27 after ifdown ($file)" "$pkgtmp/h27.before" "$pkgtmp/h27.after"
}
fan_on_h27 "dhcp host-reserve 1" "$pkgtmp/interfaces.up"
fan_on_h27 "dhcp host-reserve 2" "$pkgtmp/interfaces.hook"

# fan.service's stop refuses while c28 is attached (no --force), and the fan
# keeps working; once c28 is gone, it takes the fan down and h28 is as it was.
out=$(expect_failure "ExecStop with c28 attached" unit_on_h28 "${exec_stop[@]}")
expect_match "ExecStop refusal" "$out" "fan-250-0-28 still has 1 attached interface \(v-c28\)"
on c28 ping -c 1 -W 3 250.0.28.1 >/dev/null
container_del h28 c28
unit_on_h28 "${exec_stop[@]}"
netns_snapshot h28 >"$pkgtmp/h28.after"
expect_same "h28 after ExecStop" "$pkgtmp/h28.before" "$pkgtmp/h28.after"
_fan_cleanup

# ---- dpkg --purge --------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive dpkg --purge fanctl fan-dkms
if dpkg-query -W fan-dkms fanctl 2>/dev/null; then
	echo "dpkg still knows the packages after dpkg --purge" >&2
	exit 1
fi
for f in "$installed" "/usr/src/fan-$version" /etc/network/fan /usr/sbin/fanctl \
	/etc/systemd/system/multi-user.target.wants/fan.service /etc/network/if-up.d/fan \
	/etc/kernel/postinst.d/fan-dkms /usr/lib/fan-dkms; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		echo "$f is still there after dpkg --purge" >&2
		exit 1
	fi
done
expect_eq "dkms status after purge" "$(dkms status -m fan)" ""
echo "packages-install: all checks passed"
