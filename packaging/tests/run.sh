#!/usr/bin/env bash
# Host checks of the packages (the packaging stage of tests/run):
#
#   packaging/tests/run.sh
#
# Builds the packages into build/deb (packaging/build-debs) and checks what
# they hold and that a second build gives the same bytes; verifies fan.service
# with systemd-analyze and runs the ifupdown hook against a stand-in fanctl;
# builds fan_ipip.ko with DKMS from the fan-dkms package against the test
# kernel's build tree, used as a distribution's headers, in a private DKMS
# tree (nothing goes to /var/lib/dkms or /lib/modules), and checks the
# modprobe.d aliases against the module tree it installs into; checks that
# DKMS refuses a kernel without CONFIG_RUST. Then installs fan-dkms in a
# private system (a mount namespace with overlays over /usr and /etc) and
# runs its postinst and prerm, dkms's and its kernel hooks as kernel packages
# run them, for a kernel without CONFIG_RUST (nothing built, status 0: dkms
# 3.0.10's autoinstall would fail that kernel's installation), for the test
# kernel (built and installed, then removed with the kernel) and for a
# kernel whose build fails (a warning, status 0).
#
# Leaves build/deb/*.deb and build/dkms/fan-VERSION-kernelKVER-ARCH.dkms.tar.gz,
# the module built here as a DKMS binaries tarball, with KVER.build-id, the
# build it is for, for the VM tests that install the packages
# (tests/lib/packages.sh). The kernel is $FAN_KERNEL's (make test runs this
# once per kernel); each kernel's tarball stays. Prints each check, then
# "packaging: N passed, N failed"; exits 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
export PATH=$HOME/.cargo/bin:$PATH

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fan-packaging.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# check NAME FUNCTION [ARGS...]: one check; FUNCTION's output is shown when
# it fails.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		printf '%s\n' "$out" | sed 's/^/     | /'
	fi
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] && return 0
	echo "$1: got '$2', expected '$3'"
	return 1
}

# expect_in WHAT TEXT LINE...: each LINE is a whole line of TEXT.
expect_in() {
	local what=$1 text=$2 line status=0
	shift 2
	for line in "$@"; do
		grep -qxF -- "$line" <<<"$text" || {
			echo "$what: no line '$line'"
			status=1
		}
	done
	[ "$status" = 0 ] || printf '%s\n' "$text" | sed 's/^/    /'
	return "$status"
}

version=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
# The kernel of the VM tests that follow (make test DEBUG=1: the debug one).
kflags=()
[ "${FAN_DEBUG:-0}" = 1 ] && kflags=(--debug)
kdir=$(qemu/kernel "${kflags[@]}" dir)
kver=$(cat "$kdir/include/config/kernel.release" 2>/dev/null)
march=$(uname -m)
fanctl_deb=build/deb/fanctl_${version}_$arch.deb
dkms_deb=build/deb/fan-dkms_${version}_all.deb

# ---- building ----------------------------------------------------------------
build_debs() {
	local out
	rm -f build/deb/*.deb
	out=$(packaging/build-debs build/deb) || return 1
	expect_eq "packages built" "$out" "$repo/$fanctl_deb
$repo/$dkms_deb"
}
check "make deb: fanctl_${version}_$arch.deb and fan-dkms_${version}_all.deb" build_debs

reproducible() {
	local deb status=0
	packaging/build-debs "$tmp/again" >/dev/null || return 1
	for deb in "$fanctl_deb" "$dkms_deb"; do
		cmp "$deb" "$tmp/again/$(basename "$deb")" || status=1
	done
	return "$status"
}
check "a second build gives the same bytes" reproducible

# Both packages, unpacked, for the checks below.
mkdir -p "$tmp/fanctl" "$tmp/fan-dkms"
dpkg-deb -x "$fanctl_deb" "$tmp/fanctl" 2>/dev/null
dpkg-deb -x "$dkms_deb" "$tmp/fan-dkms" 2>/dev/null

# contents DEB: "MODE OWNER PATH[ -> TARGET]" per entry.
contents() {
	dpkg-deb --contents "$1" | awk '{ $3 = $4 = $5 = ""; print }' | tr -s ' '
}

# ---- fanctl ------------------------------------------------------------------
fanctl_control() {
	local status=0
	expect_eq Package "$(dpkg-deb -f "$fanctl_deb" Package)" fanctl || status=1
	expect_eq Version "$(dpkg-deb -f "$fanctl_deb" Version)" "$version" || status=1
	expect_eq Architecture "$(dpkg-deb -f "$fanctl_deb" Architecture)" "$arch" || status=1
	grep -qE '^libc6 \(>= [0-9.]+\), .*nftables$' <<<"$(dpkg-deb -f "$fanctl_deb" Depends)" || {
		echo "Depends: $(dpkg-deb -f "$fanctl_deb" Depends)"
		status=1
	}
	expect_eq conffiles "$(dpkg-deb --ctrl-tarfile "$fanctl_deb" | tar -xO ./conffiles)" \
		/etc/network/fan || status=1
	return "$status"
}
check "fanctl: control fields (Depends: shared libraries, nftables), conffiles" fanctl_control

fanctl_contents() {
	local list
	list=$(contents "$fanctl_deb")
	expect_in "fanctl contents" "$list" \
		"-rwxr-xr-x root/root ./usr/sbin/fanctl" \
		"-rw-r--r-- root/root ./lib/systemd/system/fan.service" \
		"-rw-r--r-- root/root ./etc/network/fan" \
		"-rwxr-xr-x root/root ./usr/lib/fan/ifupdown-hook" \
		"lrwxrwxrwx root/root ./etc/network/if-up.d/fan -> /usr/lib/fan/ifupdown-hook" \
		"lrwxrwxrwx root/root ./etc/network/if-down.d/fan -> /usr/lib/fan/ifupdown-hook" \
		"-rw-r--r-- root/root ./usr/share/man/man8/fanctl.8.gz" \
		"-rw-r--r-- root/root ./usr/share/man/man8/fanctl-up.8.gz" \
		"-rw-r--r-- root/root ./usr/share/man/man8/fanctl-down.8.gz" \
		"-rw-r--r-- root/root ./usr/share/man/man8/fanctl-show.8.gz" \
		"-rw-r--r-- root/root ./usr/share/man/man5/fan.5.gz" \
		"-rw-r--r-- root/root ./usr/share/bash-completion/completions/fanctl" \
		"-rw-r--r-- root/root ./usr/share/zsh/vendor-completions/_fanctl" \
		"-rw-r--r-- root/root ./usr/share/fish/vendor_completions.d/fanctl.fish" \
		"-rw-r--r-- root/root ./usr/share/doc/fanctl/copyright" \
		"-rw-r--r-- root/root ./usr/share/doc/fanctl/changelog.gz"
}
check "fanctl: binary, unit, ifupdown hook, /etc/network/fan, man pages, completions" fanctl_contents

fanctl_binary() {
	local status=0
	expect_eq "packaged fanctl --version" "$("$tmp/fanctl/usr/sbin/fanctl" --version)" \
		"fanctl $version" || status=1
	if readelf -S "$tmp/fanctl/usr/sbin/fanctl" | grep -q '\.symtab'; then
		echo "usr/sbin/fanctl is not stripped"
		status=1
	fi
	# The shipped config brings nothing up (and is valid).
	FAN_CONFIG=$tmp/fanctl/etc/network/fan FAN_RUN_DIR=$tmp/run FAN_STATE_DIR=$tmp/state \
		"$tmp/fanctl/usr/sbin/fanctl" up -a || status=1
	expect_eq "fans up from the shipped /etc/network/fan" \
		"$(FAN_RUN_DIR=$tmp/run "$tmp/fanctl/usr/sbin/fanctl" show --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["fans"]))')" \
		0 || status=1
	return "$status"
}
check "fanctl: the packaged binary runs, stripped; the shipped /etc/network/fan is valid and empty" fanctl_binary

man_pages() {
	local page out status=0 n=0
	for page in "$tmp"/fanctl/usr/share/man/man*/*.gz; do
		n=$((n + 1))
		# man-db's --warnings has groff report what it could not typeset.
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
		if [ -n "$out" ]; then
			echo "${page#"$tmp"/fanctl}: $out"
			status=1
		fi
		if ! LC_ALL=C.UTF-8 man -l "$page" 2>/dev/null | grep -q '^NAME'; then
			echo "${page#"$tmp"/fanctl}: no NAME section"
			status=1
		fi
	done
	[ "$n" -ge 5 ] || {
		echo "only $n man pages"
		status=1
	}
	return "$status"
}
check "fanctl: man pages typeset without warnings" man_pages

# systemd-analyze verify resolves the unit's dependencies and programs under
# --root: the package's files, with systemd's own units beside them.
unit_verify() {
	local root=$tmp/unit-root out
	mkdir -p "$root"
	cp -a "$tmp/fanctl/." "$root/"
	mkdir -p "$root/usr/lib/systemd/system"
	cp -an /lib/systemd/system/. "$root/usr/lib/systemd/system/"
	# Its Documentation= pages are looked up with man: the package's.
	if ! out=$(MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" \
		/lib/systemd/system/fan.service 2>&1) ||
		[ -n "$out" ]; then
		echo "systemd-analyze verify: $out"
		return 1
	fi
}
check "fan.service: systemd-analyze verify, no warning" unit_verify

# ---- the ifupdown hook, against a stand-in fanctl -----------------------------
hook=$tmp/fanctl/usr/lib/fan/ifupdown-hook
mkdir -p "$tmp/bin"
cat >"$tmp/bin/fanctl" <<'EOF'
#!/bin/sh
echo "$*" >>"$FAKE_CALLS"
exit "${FAKE_STATUS:-0}"
EOF
chmod +x "$tmp/bin/fanctl"

# run_hook VAR=VALUE...: the hook with the environment ifupdown gives its
# hooks (and only that), for eth0's inet static stanza.
run_hook() {
	: >"$tmp/calls"
	env -i PATH="$tmp/bin:/usr/sbin:/usr/bin:/sbin:/bin" FAKE_CALLS="$tmp/calls" \
		IFACE=eth0 LOGICAL=eth0 ADDRFAM=inet METHOD=static VERBOSITY=0 \
		IF_ADDRESS=172.30.0.28/16 "$@" "$hook"
}

hook_up_down() {
	local status=0
	run_hook MODE=start PHASE=post-up IF_FAN_OVERLAY=250.0.0.0/8 IF_FAN_UNDERLAY=eth0/16 \
		IF_FAN_FLAGS="dhcp host-reserve 2" || status=1
	expect_eq "if-up.d" "$(cat "$tmp/calls")" "up 250.0.0.0/8 eth0/16 dhcp host-reserve 2" || status=1
	run_hook MODE=stop PHASE=pre-down IF_FAN_OVERLAY=250.0.0.0/8 IF_FAN_UNDERLAY=eth0/16 \
		IF_FAN_FLAGS="dhcp host-reserve 2" || status=1
	expect_eq "if-down.d" "$(cat "$tmp/calls")" "down 250.0.0.0/8 eth0/16" || status=1
	# Other phases (the hook linked into if-pre-up.d, say) do nothing.
	run_hook MODE=start PHASE=pre-up IF_FAN_OVERLAY=250.0.0.0/8 IF_FAN_UNDERLAY=eth0/16 || status=1
	expect_eq "if-pre-up.d" "$(cat "$tmp/calls")" "" || status=1
	return "$status"
}
check "ifupdown hook: fan-overlay/fan-underlay/fan-flags become fanctl up and down" hook_up_down

hook_not_ours() {
	run_hook MODE=start PHASE=post-up || return 1
	expect_eq "fanctl calls for a stanza without fan-overlay" "$(cat "$tmp/calls")" ""
}
check "ifupdown hook: stanzas without fan-overlay are left alone" hook_not_ours

hook_errors() {
	local out status=0
	if out=$(run_hook MODE=start PHASE=post-up IF_FAN_OVERLAY=250.0.0.0/8 2>&1); then
		echo "succeeded without fan-underlay"
		status=1
	fi
	expect_eq "message" "$out" \
		"fan: eth0: fan-overlay 250.0.0.0/8 needs fan-underlay (for example: fan-underlay eth0/16)" || status=1
	expect_eq "fanctl calls without fan-underlay" "$(cat "$tmp/calls")" "" || status=1
	# fanctl's failure is the hook's: ifup reports it.
	if run_hook FAKE_STATUS=1 MODE=start PHASE=post-up IF_FAN_OVERLAY=250 \
		IF_FAN_UNDERLAY=eth0/16; then
		echo "succeeded though fanctl failed"
		status=1
	fi
	return "$status"
}
check "ifupdown hook: no fan-underlay is an error; fanctl's failure is the hook's" hook_errors

# ---- fan-dkms ----------------------------------------------------------------
src=$tmp/fan-dkms/usr/src/fan-$version

dkms_control() {
	local status=0 conf
	expect_eq Package "$(dpkg-deb -f "$dkms_deb" Package)" fan-dkms || status=1
	expect_eq Architecture "$(dpkg-deb -f "$dkms_deb" Architecture)" all || status=1
	grep -q '^dkms (>= 3.0), clang, lld, llvm' <<<"$(dpkg-deb -f "$dkms_deb" Depends)" || {
		echo "Depends: $(dpkg-deb -f "$dkms_deb" Depends)"
		status=1
	}
	dpkg-deb -e "$dkms_deb" "$tmp/dkms-control"
	if grep -rn '@[A-Z_]*@' "$tmp/dkms-control" "$src/dkms.conf"; then
		echo "placeholders left"
		status=1
	fi
	# What dkms reads from dkms.conf (it sources it with these set). No
	# AUTOINSTALL: dkms autoinstall leaves fan to fan-dkms's kernel hooks.
	conf=$(kernel_source_dir=/k dkms_tree=/d bash -c '. "$1" && echo "$PACKAGE_NAME $PACKAGE_VERSION ${BUILT_MODULE_NAME[0]} ${BUILT_MODULE_LOCATION[0]} $BUILD_EXCLUSIVE_CONFIG AUTOINSTALL=[$AUTOINSTALL]"' _ "$src/dkms.conf")
	expect_eq "dkms.conf" "$conf" "fan $version fan_ipip kmod/ CONFIG_RUST AUTOINSTALL=[]" || status=1
	expect_eq conffiles "$(cat "$tmp/dkms-control/conffiles")" "/etc/kernel/header_postinst.d/fan-dkms
/etc/kernel/postinst.d/fan-dkms" || status=1
	return "$status"
}
check "fan-dkms: control fields, dkms.conf of version $version without AUTOINSTALL, the kernel hooks as conffiles" dkms_control

dkms_contents() {
	local list status=0
	list=$(contents "$dkms_deb")
	expect_in "fan-dkms contents" "$list" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/dkms.conf" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/Kbuild" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/kmod/Kbuild" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/kmod/fan.rs" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/kmod/glue.c" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/kmod/compat.c" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/kmod/compat.h" \
		"-rwxr-xr-x root/root ./usr/src/fan-$version/kmod/kbuild-vars" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/kmod/bindings_helper.h" \
		"-rw-r--r-- root/root ./usr/src/fan-$version/fanmap/src/fanmap.rs" \
		"-rw-r--r-- root/root ./lib/modprobe.d/fan.conf" \
		"-rwxr-xr-x root/root ./usr/lib/fan-dkms/build-for-kernel" \
		"-rwxr-xr-x root/root ./etc/kernel/postinst.d/fan-dkms" \
		"-rwxr-xr-x root/root ./etc/kernel/header_postinst.d/fan-dkms" \
		"-rw-r--r-- root/root ./usr/share/doc/fan-dkms/copyright" || status=1
	if grep -n '@[A-Z_]*@' "$tmp/fan-dkms/usr/lib/fan-dkms/build-for-kernel"; then
		echo "placeholders left in build-for-kernel"
		status=1
	fi
	if grep -E '\.(o|ko|mod|cmd)$|bindings_generated\.rs|bindings_wrap\.c|\.mod\.c' <<<"$list"; then
		echo "build products in the source package"
		status=1
	fi
	return "$status"
}
check "fan-dkms: the module source (Kbuild, kmod/, fanmap/src/), modprobe.d/fan.conf, the kernel hooks and build-for-kernel, no build products" dkms_contents

# ---- DKMS, against the test kernel's build tree -------------------------------
dkms_tree=$tmp/dkms
base=$tmp/base # a root whose lib/modules/KVER DKMS installs into
mkdir -p "$dkms_tree" "$base/lib/modules"
# dpkg and the kernel's hooks run dkms with the system's PATH: without
# ~/.cargo/bin, where rustup and cargo put rustc and bindgen.
dkms_() {
	env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		dkms "$@" --dkmstree "$dkms_tree" --sourcetree "$tmp/fan-dkms/usr/src" \
		--installtree "$base/lib/modules"
}
host_state() {
	ls -la /var/lib/dkms 2>&1
	ls -d "/lib/modules/$kver" /usr/lib/fan-dkms "/usr/src/fan-$version" 2>&1
	ls -la /etc/kernel/*/ /boot 2>&1
}
host_before=$(host_state)

# The test kernel's headers as a distribution's linux-headers package lays
# them out: what the kernel's own scripts/package/install-extmod-build (run by
# `make bindeb-pkg`) copies, and the .config; then rust/'s crate metadata,
# as Ubuntu's linux-lib-rust-KVER adds it (Debian's packages lack it).
headers=$tmp/headers/$kver
make_headers() {
	local src
	src=$(readlink -f "$kdir/source")
	# CC = HOSTCC: use the host programs as built, as the packages do.
	(cd "$kdir" && srctree=$src SRCARCH=x86 CC=cc HOSTCC=cc MAKE=make \
		sh "$src/scripts/package/install-extmod-build" "$headers") || return 1
	cp "$kdir/.config" "$headers/.config"
	mkdir -p "$headers/rust"
	# The crates' metadata and their procedural macros (libmacros.so; 7.x
	# adds libpin_init_internal.so and libzerocopy_derive.so).
	cp "$kdir"/rust/*.rmeta "$kdir"/rust/*.so "$headers/rust/"
}

dkms_build() {
	local ko=$dkms_tree/fan/$version/$kver/$march/module/fan_ipip.ko status=0 start
	# No module from an earlier run for the VM test, whatever happens here.
	rm -f "build/dkms/fan-$version-kernel$kver-$march.dkms.tar.gz" "build/dkms/$kver.build-id"
	[ -f "$kdir/.config" ] && [ -n "$kver" ] || {
		echo "no test kernel at $kdir (run: make kernel)"
		return 1
	}
	make_headers || return 1
	start=$SECONDS
	dkms_ add -m fan -v "$version" || return 1
	if ! dkms_ build -m fan -v "$version" -k "$kver" --kernelsourcedir "$headers"; then
		cat "$dkms_tree/fan/$version/build/make.log" 2>/dev/null | tail -40
		return 1
	fi
	echo "$((SECONDS - start))" >"$tmp/dkms-build-seconds"
	[ -f "$ko" ] || {
		echo "no $ko"
		return 1
	}
	expect_eq "name" "$(modinfo -F name "$ko")" fan_ipip || status=1
	# The kernel's own modules carry the vermagic a module must have to load.
	expect_eq "vermagic" "$(modinfo -F vermagic "$ko")" \
		"$(modinfo -F vermagic "$kdir/net/ipv4/ipip.ko")" || status=1
	expect_in "aliases" "$(modinfo -F alias "$ko")" rtnl-link-ipip netdev-tunl0 || status=1
	grep -q "^fan/$version, $kver, $march: built$" <<<"$(dkms_ status)" || {
		dkms_ status
		status=1
	}
	return "$status"
}
check "dkms add, build against the test kernel's ($kver) headers as a distribution lays them out: fan_ipip.ko, its vermagic" dkms_build
[ -f "$tmp/dkms-build-seconds" ] && echo "     | measure: dkms build $(cat "$tmp/dkms-build-seconds") s"

dkms_install() {
	local status=0 installed=$base/lib/modules/$kver/updates/dkms/fan_ipip.ko
	mkdir -p "$base/lib/modules/$kver"
	# --no-depmod: dkms's depmod would work on this machine's /lib/modules.
	dkms_ install -m fan -v "$version" -k "$kver" --no-depmod || return 1
	[ -f "$installed" ] || {
		echo "no $installed"
		return 1
	}
	grep -q "^fan/$version, $kver, $march: installed$" <<<"$(dkms_ status)" || {
		dkms_ status
		status=1
	}
	# Linux's ipip beside it, as in a distribution's module tree.
	install -D -m 644 "$kdir/net/ipv4/ipip.ko" "$base/lib/modules/$kver/kernel/net/ipv4/ipip.ko"
	depmod -b "$base" "$kver" || status=1
	mkdir -p build/dkms
	dkms_ mktarball -m fan -v "$version" -k "$kver" --binaries-only \
		--archive "$repo/build/dkms/fan-$version-kernel$kver-$march.dkms.tar.gz" >/dev/null || status=1
	# Which kernel build it is for (the VM test compares the running kernel's).
	readelf -n "$kdir/vmlinux" | sed -n 's/^ *Build ID: //p' >"build/dkms/$kver.build-id"
	return "$status"
}
check "dkms install into a module tree (updates/dkms), mktarball of the binaries" dkms_install

# modprobe_ ARGS...: modprobe on that module tree, with the package's modprobe.d.
modprobe_() {
	modprobe -d "$base" -S "$kver" -C "$tmp/fan-dkms/lib/modprobe.d/fan.conf" "$@"
}

modprobe_aliases() {
	local name status=0 want=insmod\ $base/lib/modules/$kver/updates/dkms/fan_ipip.ko
	expect_in "modprobe --showconfig" "$(modprobe_ --showconfig | grep fan_ipip)" \
		"alias ipip fan_ipip" "alias rtnl_link_ipip fan_ipip" \
		"alias netdev_tunl0 fan_ipip" "alias tunl0 fan_ipip" || status=1
	for name in ipip rtnl-link-ipip netdev-tunl0 tunl0; do
		# --ignore-install: the module each name resolves to, rather than
		# the install command that loads it.
		expect_eq "modprobe -n -v $name" "$(modprobe_ --ignore-install -n -v "$name" | sed 's/ *$//')" \
			"$want" || status=1
	done
	# Without the file, Linux's ipip answers to the same names.
	expect_eq "modprobe -n -v ipip, no modprobe.d" \
		"$(modprobe -d "$base" -S "$kver" -C /dev/null -n -v ipip | sed 's/ *$//')" \
		"insmod $base/lib/modules/$kver/kernel/net/ipv4/ipip.ko" || status=1
	return "$status"
}
check "modprobe.d/fan.conf: ipip, rtnl-link-ipip, netdev-tunl0, tunl0 resolve to the installed fan_ipip.ko" modprobe_aliases

dkms_refusal() {
	local fake=$tmp/norust out rc status=0
	mkdir -p "$fake/include"
	grep -v '^CONFIG_RUST' "$kdir/.config" >"$fake/.config"
	out=$(dkms_ build -m fan -v "$version" -k "$kver-norust" --kernelsourcedir "$fake" 2>&1)
	rc=$?
	expect_eq "dkms build status" "$rc" 77 || status=1
	grep -qF "Error! The $dkms_tree/fan/$version/$kver-norust/$march/dkms.conf for module fan includes a BUILD_EXCLUSIVE directive which does not match this kernel/arch/config." <<<"$out" || {
		echo "message: $out"
		status=1
	}
	if grep -q "norust" <<<"$(dkms_ status)"; then
		echo "dkms status lists the refused kernel"
		status=1
	fi
	return "$status"
}
check "dkms build refuses a kernel without CONFIG_RUST (status 77, BUILD_EXCLUSIVE message)" dkms_refusal

# ---- fan-dkms installed, with kernels coming and going -------------------------
# A system private to these checks: a mount namespace in which /usr and /etc
# (and /lib, where it is not /usr/lib) are overlays keeping their changes in
# $sys, and /lib/modules, /var/lib/dkms and /boot are directories of $sys.
# The package's files are at their real paths there, and its maintainer
# scripts, dkms and the kernel hooks run as dpkg and kernel packages run
# them, while this machine's files stay as they are.
sys=$tmp/sys
mkdir -p "$sys"/{usr,etc,lib}/{upper,work} "$sys/modules" "$sys/dkms" "$sys/boot" "$sys/headers"

# system CMD...: CMD in that system, with the environment of a maintainer
# script run by dpkg (the system's PATH: no ~/.cargo/bin).
system() {
	unshare --mount --propagation private bash -c '
		set -e
		sys=$1
		shift
		dirs="usr etc"
		[ -L /lib ] || dirs="$dirs lib"
		for dir in $dirs; do
			mount -t overlay fan-packaging \
				-o "lowerdir=/$dir,upperdir=$sys/$dir/upper,workdir=$sys/$dir/work" "/$dir"
		done
		[ -d /lib/modules ] || mkdir /lib/modules
		mount --bind "$sys/modules" /lib/modules
		mount --bind "$sys/dkms" /var/lib/dkms
		mount --bind "$sys/boot" /boot
		exec "$@"' _ "$sys" \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" "$@"
}

# The kernels: Debian 12's have no CONFIG_RUST; the test kernel has it; the
# headers of the third cannot build anything.
norust=6.1.0-99-amd64
broken=$kver-broken
norust_config=$tmp/config-$norust
{
	grep -v '^CONFIG_RUST' "$kdir/.config"
	echo "# CONFIG_RUST is not set"
} >"$norust_config"

# kernel_image KVER CONFIG: what a kernel's package installs, without its
# headers: its module tree (Linux's ipip in it) and /boot/config-KVER.
kernel_image() {
	local dir=$sys/modules/$1
	install -D -m 644 "$kdir/net/ipv4/ipip.ko" "$dir/kernel/net/ipv4/ipip.ko"
	cp "$kdir/modules.order" "$kdir/modules.builtin" "$kdir/modules.builtin.modinfo" "$dir/"
	install -m 644 "$2" "$sys/boot/config-$1"
	system depmod "$1"
}
# kernel_headers KVER TREE: its headers' package (the build link).
kernel_headers() {
	ln -sfn "$2" "$sys/modules/$1/build"
}
# kernel_remove KVER: what is left once its packages are removed.
kernel_remove() {
	rm -rf "${sys:?}/modules/$1" "$sys/boot/config-$1"
}

# kernel_hooks DIR KVER: what Debian 12's linux-image postinst (DIR
# postinst.d) and prerm (prerm.d) and linux-headers postinst
# (header_postinst.d) run: run-parts --exit-on-error on /etc/kernel/DIR, here
# with only dkms's and fan-dkms's hooks in it (others, such as
# update-initramfs's, would write /boot).
hooks=$tmp/hooks
for dir in postinst.d header_postinst.d prerm.d; do
	mkdir -p "$hooks/$dir"
	ln -s "/etc/kernel/$dir/dkms" "$hooks/$dir/dkms"
	[ "$dir" = prerm.d ] || ln -s "/etc/kernel/$dir/fan-dkms" "$hooks/$dir/fan-dkms"
done
kernel_hooks() {
	local args=(--arg="$2")
	[ "$1" = header_postinst.d ] || args+=(--arg="/boot/vmlinuz-$2")
	system run-parts --report --exit-on-error "${args[@]}" "$hooks/$1"
}

# dkms status, in the system.
sys_status() {
	system dkms status 2>/dev/null
}
sys_ko=$sys/modules/$kver/updates/dkms/fan_ipip.ko

system_install() {
	local out status=0
	kernel_image "$norust" "$norust_config" || return 1
	mkdir -p "$sys/headers/$norust/include"
	cp "$norust_config" "$sys/headers/$norust/.config"
	kernel_headers "$norust" "$sys/headers/$norust"
	kernel_image "$kver" "$kdir/.config" || return 1
	kernel_headers "$kver" "$headers"
	# What dpkg unpacks, then the postinst.
	if ! out=$(system bash -c 'cp -a "$1/usr/." /usr/ && cp -a "$1/etc/." /etc/ &&
		install -D -m 644 "$1/lib/modprobe.d/fan.conf" /lib/modprobe.d/fan.conf &&
		"$2/postinst" configure' _ "$tmp/fan-dkms" "$tmp/dkms-control" 2>&1); then
		printf '%s\n' "$out"
		echo "postinst configure failed"
		return 1
	fi
	expect_in "postinst output" "$out" \
		"fan-dkms: kernel $norust has no CONFIG_RUST (/lib/modules/$norust/build/.config): fan_ipip is not built for it, modprobe ipip loads Linux's ipip there" \
		"fan-dkms: building fan_ipip for kernel $kver" \
		"fan-dkms: fan_ipip installed for kernel $kver" || status=1
	expect_eq "dkms status" "$(sys_status)" "fan/$version, $kver, $march: installed" || status=1
	[ -f "$sys_ko" ] || {
		echo "no /lib/modules/$kver/updates/dkms/fan_ipip.ko"
		status=1
	}
	# The hooks run after dkms's, which skips fan now.
	for dir in postinst.d header_postinst.d; do
		expect_eq "run-parts --list /etc/kernel/$dir, dkms's and fan-dkms's" \
			"$(system run-parts --list "/etc/kernel/$dir" | grep -xE '/etc/kernel/[a-z_.]+/(fan-)?dkms')" \
			"/etc/kernel/$dir/dkms
/etc/kernel/$dir/fan-dkms" || status=1
	done
	return "$status"
}
check "fan-dkms installed (files, postinst): fan_ipip built and installed for the CONFIG_RUST kernel, $norust skipped" system_install

# dkms autoinstall, which dkms's kernel hooks run, with the installed
# dkms.conf and, to show what it avoids, with AUTOINSTALL=yes added.
autoinstall_norust() {
	local out rc want status=0 dkms_version conf=/usr/src/fan-$version/dkms.conf
	out=$(system dkms autoinstall -k "$norust" 2>&1)
	rc=$?
	expect_eq "dkms autoinstall -k $norust status" "$rc" 0 || {
		printf '%s\n' "$out"
		status=1
	}
	dkms_version=$(dpkg-query -W -f='${Version}' dkms)
	want=0
	dpkg --compare-versions "$dkms_version" lt 3.0.11 && want=11
	out=$(system bash -c 'echo AUTOINSTALL=yes >>"$1"; dkms autoinstall -k "$2"; rc=$?
		cp "$3" "$1"; exit "$rc"' _ "$conf" "$norust" "$src/dkms.conf" 2>&1)
	rc=$?
	expect_eq "with AUTOINSTALL=yes, dkms $dkms_version autoinstall -k $norust status" "$rc" "$want" || {
		printf '%s\n' "$out"
		status=1
	}
	system cmp "$conf" "$src/dkms.conf" || status=1
	if [ -e "$sys/dkms/fan/$version/$norust" ]; then
		echo "dkms built for $norust"
		status=1
	fi
	expect_eq "dkms status" "$(sys_status)" "fan/$version, $kver, $march: installed" || status=1
	return "$status"
}
check "dkms autoinstall -k $norust (no CONFIG_RUST): status 0, nothing built (with AUTOINSTALL=yes this dkms's would fail)" autoinstall_norust

hooks_norust() {
	local dir out rc status=0
	for dir in postinst.d header_postinst.d; do
		out=$(kernel_hooks "$dir" "$norust" 2>&1)
		rc=$?
		expect_eq "$dir $norust status" "$rc" 0 || status=1
		expect_in "$dir $norust" "$out" \
			"fan-dkms: kernel $norust has no CONFIG_RUST (/lib/modules/$norust/build/.config): fan_ipip is not built for it, modprobe ipip loads Linux's ipip there" ||
			status=1
	done
	if [ -e "$sys/dkms/fan/$version/$norust" ]; then
		echo "dkms built for $norust"
		status=1
	fi
	expect_eq "dkms status" "$(sys_status)" "fan/$version, $kver, $march: installed" || status=1
	return "$status"
}
check "kernel $norust installed (postinst.d, header_postinst.d hooks): status 0, fan_ipip not built" hooks_norust

kernel_removal() {
	local out status=0
	out=$(kernel_hooks prerm.d "$kver" 2>&1) || {
		printf '%s\n' "$out"
		echo "prerm.d hooks failed"
		return 1
	}
	# (dkms 3.0.10's remove drops the module from DKMS with its last kernel.)
	if grep -F "$kver" <<<"$(sys_status)"; then
		echo "dkms status still lists $kver"
		status=1
	fi
	[ ! -e "$sys_ko" ] || {
		echo "/lib/modules/$kver/updates/dkms/fan_ipip.ko is still there"
		status=1
	}
	kernel_remove "$kver"
	return "$status"
}
check "kernel $kver removed (dkms's prerm.d hook): fan_ipip uninstalled, dkms status without it" kernel_removal

hooks_rust() {
	local out rc status=0
	kernel_image "$kver" "$kdir/.config" || return 1
	# The image's postinst, headers not there yet.
	out=$(kernel_hooks postinst.d "$kver" 2>&1)
	rc=$?
	expect_eq "postinst.d $kver status, no headers" "$rc" 0 || status=1
	expect_in "postinst.d $kver, no headers" "$out" \
		"fan-dkms: fan_ipip is not built for kernel $kver: its headers are not installed (no /lib/modules/$kver/build/include); installing linux-headers-$kver builds it, or by hand: dkms install fan/$version -k $kver" ||
		status=1
	if grep -F "$kver" <<<"$(sys_status)"; then
		echo "dkms status lists $kver, whose headers are not there"
		status=1
	fi
	# The headers' postinst.
	kernel_headers "$kver" "$headers"
	out=$(kernel_hooks header_postinst.d "$kver" 2>&1)
	rc=$?
	expect_eq "header_postinst.d $kver status" "$rc" 0 || status=1
	expect_in "header_postinst.d $kver" "$out" "fan-dkms: fan_ipip installed for kernel $kver" || status=1
	expect_eq "dkms status" "$(sys_status)" "fan/$version, $kver, $march: installed" || status=1
	[ -f "$sys_ko" ] || {
		echo "no /lib/modules/$kver/updates/dkms/fan_ipip.ko"
		return 1
	}
	expect_eq "vermagic" "$(modinfo -F vermagic "$sys_ko")" \
		"$(modinfo -F vermagic "$kdir/net/ipv4/ipip.ko")" || status=1
	# depmod ran (dkms install's) and the installed modprobe.d/fan.conf
	# applies: ipip is fan_ipip.
	expect_eq "modprobe -n -v ipip" \
		"$(system modprobe -S "$kver" --ignore-install -n -v ipip | sed 's/ *$//')" \
		"insmod /lib/modules/$kver/updates/dkms/fan_ipip.ko" || status=1
	# The image's hooks once more (a reinstall): nothing to do.
	out=$(kernel_hooks postinst.d "$kver" 2>&1)
	rc=$?
	expect_eq "postinst.d $kver status, installed already" "$rc" 0 || status=1
	expect_in "postinst.d $kver, installed already" "$out" \
		"fan-dkms: fan_ipip is installed for kernel $kver already" || status=1
	return "$status"
}
check "kernel $kver installed (postinst.d, then header_postinst.d hooks): fan_ipip built, installed, modprobe ipip loads it" hooks_rust

# fake_headers KVER [rust]: headers for KVER that hold only the kernel's config
# (and, with "rust", its Rust metadata): enough for fan-dkms to go on to the
# build, which then fails.
fake_headers() {
	mkdir -p "$sys/headers/$1/include/config"
	cp "$kdir/.config" "$sys/headers/$1/.config"
	cp "$kdir/include/config/auto.conf" "$sys/headers/$1/include/config/"
	echo "$1" >"$sys/headers/$1/include/config/kernel.release"
	if [ "${2:-}" = rust ]; then
		mkdir -p "$sys/headers/$1/rust"
		cp "$kdir/rust/libkernel.rmeta" "$sys/headers/$1/rust/"
	fi
}

# fake_kernel_hooks KVER [rust]: kernel KVER installed with fake_headers,
# then its headers' hooks run: their output in $hook_out, status 0 expected.
fake_kernel_hooks() {
	local rc
	fake_headers "$@"
	kernel_image "$1" "$kdir/.config" || return 1
	kernel_headers "$1" "$sys/headers/$1"
	hook_out=$(kernel_hooks header_postinst.d "$1" 2>&1)
	rc=$?
	expect_eq "header_postinst.d $1 status" "$rc" 0
}

hooks_failed_build() {
	local out status=0
	fake_kernel_hooks "$broken" rust || status=1
	out=$hook_out
	grep -qF "fan-dkms: WARNING: building fan_ipip for kernel $broken failed (dkms build, status " <<<"$out" || {
		printf '%s\n' "$out"
		echo "no warning"
		status=1
	}
	expect_eq "dkms status" "$(sys_status)" "fan/$version, $kver, $march: installed" || status=1
	kernel_remove "$broken"
	return "$status"
}
check "kernel $broken whose build fails: a warning, status 0" hooks_failed_build

# Debian's own linux-headers packages of its Rust-enabled kernels ship no
# rust/*.rmeta: fan-dkms says so and what to install, builds nothing.
hooks_no_rust_metadata() {
	local out status=0 kv=$kver-normeta
	fake_kernel_hooks "$kv" || status=1
	out=$hook_out
	grep -qF "fan-dkms: WARNING: fan_ipip cannot be built for kernel $kv, which keeps Linux's ipip: /lib/modules/$kv/build has no rust/libkernel.rmeta" <<<"$out" &&
		grep -qF "Ubuntu ships it in linux-lib-rust-$kv" <<<"$out" || {
		printf '%s\n' "$out"
		echo "no warning that names the missing Rust metadata and linux-lib-rust"
		status=1
	}
	expect_eq "dkms status" "$(sys_status)" "fan/$version, $kver, $march: installed" || status=1
	kernel_remove "$kv"
	return "$status"
}
check "kernel whose headers lack the Rust metadata (Debian's): says what to install, builds nothing, status 0" hooks_no_rust_metadata

# dpkg -r: the prerm, then the package's files go but its conffiles, the
# kernel hooks, stay.
system_remove() {
	local dir out rc status=0
	system bash -c '"$1/prerm" remove && rm -rf /usr/lib/fan-dkms "/usr/src/fan-$2" /lib/modprobe.d/fan.conf' \
		_ "$tmp/dkms-control" "$version" || return 1
	expect_eq "dkms status" "$(sys_status)" "" || status=1
	[ ! -e "$sys_ko" ] || {
		echo "/lib/modules/$kver/updates/dkms/fan_ipip.ko is still there"
		status=1
	}
	for dir in postinst.d header_postinst.d; do
		out=$(kernel_hooks "$dir" "$kver" 2>&1)
		rc=$?
		expect_eq "$dir $kver status" "$rc" 0 || status=1
		if grep fan-dkms <<<"$out"; then
			echo "the hooks of a removed fan-dkms said something"
			status=1
		fi
	done
	return "$status"
}
check "fan-dkms removed (prerm): fan_ipip uninstalled; its kernel hooks, left as conffiles, do nothing" system_remove

host_untouched() {
	expect_eq "/var/lib/dkms, /lib/modules/$kver, /etc/kernel, /usr/src/fan-$version, /boot" \
		"$(host_state)" "$host_before"
}
check "nothing left in this machine's /var/lib/dkms, /lib/modules, /etc/kernel, /usr/src or /boot" host_untouched

if command -v lintian >/dev/null; then
	check "lintian: no errors" bash -c '! lintian "$@" | grep "^E:"' _ "$fanctl_deb" "$dkms_deb"
else
	echo "(lintian is not installed: not run)"
fi

echo "packaging: $passed passed, $failed failed"
[ "$failed" = 0 ]
