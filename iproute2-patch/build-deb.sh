#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-deb.sh [OUTDIR] - build Debian packages of iproute2 with the fan
# patches, the way a distribution ships them: the patches are added to the
# source package's debian/patches (quilt), the changelog gets a new version
# (DEBIAN_VERSION+fan1), and dpkg-buildpackage -us -uc -b builds the binaries.
#
#   stdout  one line: the absolute path of the iproute2_*.deb built
#   stderr  progress; the full build log is kept beside the packages
#   exit    0 on success, non-zero on any failure
#
# Packages, .buildinfo, .changes and build.log go to OUTDIR, by default
# ${FAN_CACHE:-$HOME/.cache/fan}/iproute2/deb-<hash>, where <hash> covers
# series, the patches, this script and lib.sh; a second run with the same
# patches returns at once.  The Debian source package is the one build.sh
# caches (fetched with apt-get source if missing).
#
# Environment:
#   FAN_CACHE        cache root (default ~/.cache/fan)
#   FAN_JOBS         parallel jobs (default: number of CPUs)
#   FAN_DEB_SUFFIX   version suffix (default +fan1)
#
# Needs root on the first run: apt-get build-dep iproute2.  Takes a few
# minutes on 2 CPUs (it builds all of iproute2, niced).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATCHES="$HERE/patches"
CACHE="${FAN_CACHE:-$HOME/.cache/fan}/iproute2"
JOBS="${FAN_JOBS:-$(nproc 2>/dev/null || echo 2)}"
SUFFIX="${FAN_DEB_SUFFIX:-+fan1}"

. "$HERE/lib.sh"

[ -f "$PATCHES/series" ] || die "$PATCHES/series not found"
mapfile -t PATCH_FILES < <(patch_list)
[ "${#PATCH_FILES[@]}" -gt 0 ] || die "no patches in $PATCHES/series"

HASH=$(cat "$PATCHES/series" "${PATCH_FILES[@]}" "$HERE/build-deb.sh" "$HERE/lib.sh" |
       sha256sum | cut -c1-16)
OUTDIR="${1:-$CACHE/deb-$HASH}"
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

result() {
	local deb

	deb=$(find "$OUTDIR" -maxdepth 1 -name "iproute2_*$SUFFIX*_*.deb" | head -1)
	[ -n "$deb" ] && [ -f "$OUTDIR/.fan-hash-$HASH" ] && echo "$deb"
}

if deb=$(result); then
	echo "$deb"
	exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

start=$SECONDS
ensure_deb_src
# dpkg-checkbuilddeps needs dpkg-dev; build-dep installs it if missing.
if ! command -v dpkg-checkbuilddeps > /dev/null ||
   ! (cd "$CACHE/src/tree" 2>/dev/null && dpkg-checkbuilddeps) 2>/dev/null; then
	as_root "install the build dependencies of iproute2"
	log "apt-get build-dep iproute2"
	DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq iproute2 >&2 ||
		die "apt-get build-dep iproute2 failed"
fi
ensure_source

WORK="$CACHE/deb-build-$HASH"
LOG="$WORK.log"
rm -rf "$WORK"
mkdir -p "$WORK"
: > "$LOG"
log "unpacking $(basename "$CACHE"/src/*.dsc) into $WORK; log: $LOG"
dpkg-source -x "$CACHE"/src/*.dsc "$WORK/src" >> "$LOG" 2>&1 ||
	die "dpkg-source -x failed (see $LOG)"
cd "$WORK/src"

# 1. The patches join Debian's quilt series.
{
	echo "# Fan networking (IFLA_IPTUN_FAN_MAP, ip link ... type ipip fan-map)"
	for p in "${PATCH_FILES[@]}"; do
		install -m 0644 "$p" debian/patches/
		basename "$p"
	done
} >> debian/patches/series

# 2. A new version, above Debian's and below its next revision.
version="$(dpkg-parsechangelog -S Version)$SUFFIX"
distribution=$(dpkg-parsechangelog -S Distribution)
{
	echo "iproute2 ($version) $distribution; urgency=medium"
	echo
	echo "  * Add fan networking support to ip link (ipip fan-map):"
	for p in "${PATCH_FILES[@]}"; do
		echo "    - debian/patches/$(basename "$p")"
	done
	echo
	echo " -- Fan networking developers <fan@localhost>  $(date -R)"
	echo
	cat debian/changelog
} > debian/changelog.new
mv debian/changelog.new debian/changelog

# 3. Build.  dpkg-source --before-build applies the new quilt patches.
log "dpkg-buildpackage -us -uc -b for iproute2 $version (niced, $JOBS jobs)"
if ! DEB_BUILD_OPTIONS="parallel=$JOBS ${DEB_BUILD_OPTIONS:-}" \
	nice -n 10 dpkg-buildpackage -us -uc -b >> "$LOG" 2>&1; then
	tail -n 30 "$LOG" >&2
	die "dpkg-buildpackage failed (see $LOG)"
fi
grep -q "applying $(basename "${PATCH_FILES[0]}")" "$LOG" ||
	die "dpkg-source did not apply the fan patches (see $LOG)"

# 4. Check the package's ip before handing it out.
deb=$(find "$WORK" -maxdepth 1 -name "iproute2_${version#*:}_*.deb" | head -1)
[ -n "$deb" ] || die "no iproute2 .deb was built (see $LOG)"
mkdir "$WORK/check"
dpkg-deb -x "$deb" "$WORK/check"
"$WORK/check/bin/ip" link help ipip 2>&1 | grep -c fan-map > /dev/null ||
	die "the packaged ip does not know fan-map"
zcat "$WORK/check/usr/share/man/man8/ip-link.8.gz" | grep -c fan-map > /dev/null ||
	die "the packaged ip-link(8) does not document fan-map"

rm -f "$OUTDIR"/.fan-hash-* "$OUTDIR"/iproute2*.deb
cp "$WORK"/*.deb "$WORK"/*.buildinfo "$WORK"/*.changes "$OUTDIR/"
cp "$LOG" "$OUTDIR/build.log"
touch "$OUTDIR/.fan-hash-$HASH"
rm -rf "$WORK" "$LOG"
log "built in $((SECONDS - start)) s: $(cd "$OUTDIR" && echo *.deb)"
result
