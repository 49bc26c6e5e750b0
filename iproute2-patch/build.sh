#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build.sh [OUTDIR] - build Debian bookworm's iproute2 `ip` with the fan
# patches of patches/ applied, and print the path of the built binary.
#
#   stdout  one line: the absolute path of the patched `ip`
#   stderr  progress; the full build log is kept in the cache
#   exit    0 on success, non-zero on any failure
#
# Without OUTDIR the binary is ${FAN_CACHE:-$HOME/.cache/fan}/iproute2/<hash>/ip,
# where <hash> covers series, the patches, this script and lib.sh.  With
# OUTDIR it is also copied to OUTDIR/ip, and that path is printed.  A second run with the
# same patches touches neither apt nor the compiler and returns at once.
#
# Environment:
#   FAN_CACHE        cache root (default ~/.cache/fan)
#   FAN_JOBS         make -j (default: number of CPUs)
#
# The first run needs root (or everything already installed): it adds a
# deb-src entry for the running Debian release if apt has none, installs the
# few -dev packages `ip` needs, and fetches the source with apt-get source.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATCHES="$HERE/patches"
CACHE="${FAN_CACHE:-$HOME/.cache/fan}/iproute2"
JOBS="${FAN_JOBS:-$(nproc 2>/dev/null || echo 2)}"
OUTDIR="${1:-}"

# Packages a build of `ip` needs: the toolchain, dpkg-dev for apt-get source,
# and the libraries Debian's ip is built with.  libmnl matters most: without
# it ip cannot print the kernel's extended ack messages.
BUILD_PKGS="build-essential dpkg-dev patch pkg-config xz-utils libmnl-dev
	    libelf-dev libbpf-dev libcap-dev libselinux1-dev zlib1g-dev"

. "$HERE/lib.sh"

[ -f "$PATCHES/series" ] || die "$PATCHES/series not found"
mapfile -t PATCH_FILES < <(patch_list)
[ "${#PATCH_FILES[@]}" -gt 0 ] || die "no patches in $PATCHES/series"

HASH=$(cat "$PATCHES/series" "${PATCH_FILES[@]}" "$HERE/build.sh" "$HERE/lib.sh" |
       sha256sum | cut -c1-16)
RESULT="$CACHE/$HASH/ip"

finish() {
	if [ -n "$OUTDIR" ]; then
		mkdir -p "$OUTDIR"
		OUTDIR=$(cd "$OUTDIR" && pwd)
		install -m 0755 "$RESULT" "$OUTDIR/ip.tmp.$$"
		mv -f "$OUTDIR/ip.tmp.$$" "$OUTDIR/ip"
		echo "$OUTDIR/ip"
	else
		echo "$RESULT"
	fi
	exit 0
}

# Fast path: already built with these patches.
[ -x "$RESULT" ] && finish

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
[ -x "$RESULT" ] && finish	# built by a concurrent run

# --- build dependencies ---------------------------------------------------
ensure_build_deps() {
	local p missing=()

	for p in $BUILD_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	as_root "install ${missing[*]}"
	log "installing ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2; then
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >&2 ||
			die "cannot install ${missing[*]}"
	fi
}

build() {
	local work="$CACHE/build-$HASH" out="$CACHE/$HASH.tmp" logf="$CACHE/build-$HASH.log" p

	rm -rf "$work" "$out"
	cp -a "$CACHE/src/tree" "$work"
	: > "$logf"
	log "source: iproute2 $(cat "$CACHE/src/VERSION"); log: $logf"
	for p in "${PATCH_FILES[@]}"; do
		log "applying $(basename "$p")"
		patch -d "$work" -p1 --batch --forward -s < "$p" >> "$logf" 2>&1 ||
			die "$(basename "$p") does not apply (see $logf)"
	done
	log "building ip (make -j$JOBS, niced)"
	(
		cd "$work"
		./configure
		nice -n 10 make -j"$JOBS" SUBDIRS="lib ip"
	) >> "$logf" 2>&1 || die "build failed (see $logf)"
	"$work/ip/ip" -V >> "$logf" 2>&1 || die "built ip does not run (see $logf)"
	"$work/ip/ip" link help ipip 2>&1 | grep -c fan-map > /dev/null ||
		die "built ip does not know fan-map (see $logf)"

	mkdir -p "$out"
	install -m 0755 "$work/ip/ip" "$out/ip"
	{
		echo "source: iproute2 $(cat "$CACHE/src/VERSION") (Debian, apt-get source)"
		echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "patches:"
		for p in "${PATCH_FILES[@]}"; do echo "  $(basename "$p")"; done
	} > "$out/BUILDINFO"
	cp "$logf" "$out/build.log"
	rm -rf "$CACHE/$HASH"
	mv "$out" "$CACHE/$HASH"
	rm -rf "$work" "$logf"
}

start=$SECONDS
ensure_build_deps
ensure_source
build
log "built in $((SECONDS - start)) s"
finish
