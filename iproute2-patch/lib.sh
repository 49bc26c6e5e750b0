# SPDX-License-Identifier: GPL-2.0
# lib.sh - shared by build.sh and build-deb.sh (sourced, not run).

log() { echo "${0##*/}: $*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
	[ "$(id -u)" = 0 ] || die "need root to $*"
}

# The patch files named by patches/series, one absolute path a line.
patch_list() {
	local p
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		echo "$PATCHES/$p"
	done < "$PATCHES/series"
}

# --- deb-src entry --------------------------------------------------------
have_source_index() {
	[ -n "$(apt-cache showsrc iproute2 2>/dev/null | head -1)" ]
}

ensure_deb_src() {
	local codename listfile=/etc/apt/sources.list.d/fan-deb-src.sources

	if grep -Eqs '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; then
		have_source_index && return 0
		as_root "run apt-get update"
	else
		as_root "add a deb-src entry to apt's sources"
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
		log "adding $listfile (deb-src for $codename)"
		cat > "$listfile" <<-EOF
		Types: deb-src
		URIs: http://deb.debian.org/debian
		Suites: $codename $codename-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	log "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	have_source_index || die "apt has no source package iproute2 even after adding deb-src"
}

# --- source ---------------------------------------------------------------
# The Debian source package (.dsc and tarballs) and its unpacked tree, with
# Debian's own patches applied, are kept in $CACHE/src and shared by all
# builds; builds work on copies.
ensure_source() {
	local tmp dir

	if [ -f "$CACHE/src/.fan-source-ok" ]; then
		return 0
	fi
	ensure_deb_src
	tmp=$(mktemp -d "$CACHE/src.tmp.XXXXXX")
	log "apt-get source iproute2 (into $CACHE/src)"
	(cd "$tmp" && apt-get source -qq -o APT::Sandbox::User=root iproute2) >&2 ||
		die "apt-get source iproute2 failed"
	dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'iproute2-*' | head -1)
	[ -n "$dir" ] || die "apt-get source produced no iproute2-* directory"
	(cd "$dir" && dpkg-parsechangelog -S Version) > "$tmp/VERSION"
	rm -rf "$CACHE/src"
	mkdir "$CACHE/src"
	mv "$dir" "$CACHE/src/tree"
	mv "$tmp"/*.dsc "$tmp"/*.tar.* "$tmp/VERSION" "$CACHE/src/"
	rmdir "$tmp" 2>/dev/null || rm -rf "$tmp"
	touch "$CACHE/src/.fan-source-ok"
}
