# The project's Debian packages installed as on a host, without touching the
# guest: source after hosts.sh, from a test that re-executes itself in a
# private mount namespace first (packages_private_mounts "$0" "$@").
#
#   packages_private_mounts SCRIPT ARGS...
#                          re-run SCRIPT in a private mount namespace (once)
#   packages_system        overlays in tmpfs over /etc, /usr and /var, and the
#                          running kernel's module tree without headers, as a
#                          distribution installs it; undone at exit
#   packages_dkms_install  fan_ipip into that tree with `dkms install`, from
#                          the binaries DKMS built on the host (the guest has
#                          no headers); fan-dkms must be installed
#   unload MODULE          rmmod, waiting for deleted namespaces to go
#
# The packages come from the host's packaging stage (packaging/tests/run.sh):
# PACKAGES_FANCTL_DEB, PACKAGES_DKMS_DEB, and the DKMS binaries for this very
# kernel build (make test DEBUG=1 boots another of the same version).

PACKAGES_REPO=$(dirname "$(dirname "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)")")
PACKAGES_VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' "$PACKAGES_REPO/Cargo.toml")
PACKAGES_FANCTL_DEB=$PACKAGES_REPO/build/deb/fanctl_${PACKAGES_VERSION}_$(dpkg --print-architecture).deb
PACKAGES_DKMS_DEB=$PACKAGES_REPO/build/deb/fan-dkms_${PACKAGES_VERSION}_all.deb
PACKAGES_KVER=$(uname -r)
_packages_march=$(uname -m)
_packages_binaries=$PACKAGES_REPO/build/dkms/fan-$PACKAGES_VERSION-kernel$PACKAGES_KVER-$_packages_march.dkms.tar.gz
PACKAGES_TMP=

packages_private_mounts() {
	[ -n "${FAN_PACKAGES_PRIVATE_MOUNTS:-}" ] ||
		exec env FAN_PACKAGES_PRIVATE_MOUNTS=1 unshare --mount --propagation private bash "$@"
}

# The build id of the running kernel, from its ELF notes.
_packages_kernel_build_id() {
	python3 -c '
import struct
data = open("/sys/kernel/notes", "rb").read()
while len(data) >= 12:
    namesz, descsz, kind = struct.unpack_from("<III", data)
    name_end = 12 + (namesz + 3) // 4 * 4
    if kind == 3 and data[12:12 + namesz] == b"GNU\0":
        print(data[name_end:name_end + descsz].hex())
    data = data[name_end + (descsz + 3) // 4 * 4:]
'
}

packages_system() {
	local f dir mods
	for f in "$PACKAGES_FANCTL_DEB" "$PACKAGES_DKMS_DEB" "$_packages_binaries"; do
		[ -f "$f" ] || {
			echo "no $f (run packaging/tests/run.sh on the host first)" >&2
			exit 1
		}
	done
	expect_eq "the kernel DKMS built for (build/dkms/$PACKAGES_KVER.build-id)" \
		"$(cat "$PACKAGES_REPO/build/dkms/$PACKAGES_KVER.build-id")" "$(_packages_kernel_build_id)"

	PACKAGES_TMP=$(mktemp -d /tmp/fan-packages.XXXXXX)
	mount -t tmpfs fan-packages "$PACKAGES_TMP"
	for dir in /etc /usr /var; do
		mkdir -p "$PACKAGES_TMP/overlay$dir/upper" "$PACKAGES_TMP/overlay$dir/work"
		mount -t overlay fan-packages \
			-o "lowerdir=$dir,upperdir=$PACKAGES_TMP/overlay$dir/upper,workdir=$PACKAGES_TMP/overlay$dir/work" "$dir"
	done
	# The overlay shows the host's /lib/modules: give the running kernel its
	# modules as a distribution would, without headers (no build link).
	mods=$(sed -n 's/.*virtme_link_mods=\([^ ]*\).*/\1/p' /proc/cmdline)
	mount -t tmpfs fan-packages /lib/modules
	mkdir "/lib/modules/$PACKAGES_KVER"
	for f in "$mods"/*; do
		[ "$(basename "$f")" = build ] || cp -rL "$f" "/lib/modules/$PACKAGES_KVER/"
	done
	# man-db would rebuild its index for the new man pages: minutes under TCG.
	rm -f /var/lib/man-db/auto-update
}

# Undo packages_system: call from the test's EXIT trap.
packages_cleanup() {
	[ -n "$PACKAGES_TMP" ] || return 0
	# Best effort: what is not mounted fails to unmount, and must not end
	# the trap early.
	set +e
	cd /
	umount -l /lib/modules /var /usr /etc 2>/dev/null
	umount -l "$PACKAGES_TMP" 2>/dev/null
	rmdir "$PACKAGES_TMP" 2>/dev/null
	# Leave no fan_ipip loaded from a file that is gone.
	unload fan_ipip
}

unload() {
	local i
	for i in $(seq 50); do
		grep -q "^$1 " /proc/modules || return 0
		rmmod "$1" 2>/dev/null || sleep 0.2
	done
	echo "cannot unload $1" >&2
	return 1
}

packages_dkms_install() {
	# (dkms 3.0.10 loads the binaries, then adds the source, which the
	# postinst added already: "DKMS tree already contains: fan-VERSION",
	# status 3. The status below is what counts.)
	dkms ldtarball --force --archive "$_packages_binaries" || true
	expect_eq "dkms status after ldtarball" "$(dkms status -m fan)" \
		"fan/$PACKAGES_VERSION, $PACKAGES_KVER, $_packages_march: built"
	dkms install -m fan -v "$PACKAGES_VERSION" -k "$PACKAGES_KVER"
	expect_eq "dkms status after install" "$(dkms status -m fan)" \
		"fan/$PACKAGES_VERSION, $PACKAGES_KVER, $_packages_march: installed"
}
