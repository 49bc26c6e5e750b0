# A minimal CNI runtime for the VM tests: runs the plugins of a network
# configuration list the way libcni does (CNI spec 1.0.0). Source after
# hosts.sh; needs jq.
#
#   netns_add NAME                      a fresh, empty network namespace
#                                       fan-NAME, for a container (removed
#                                       when the test exits)
#   cni_add HOST LIST CONTAINER [IF]    ADD: each plugin of LIST in order,
#                                       run in host HOST, each given the one
#                                       before's result; prints the last
#                                       result and caches it
#   cni_check HOST LIST CONTAINER [IF]  CHECK: each plugin in order, with the
#                                       cached result
#   cni_del HOST LIST CONTAINER [IF]    DEL: each plugin in reverse order,
#                                       with the cached result
#
# Like libcni, each plugin's config is its entry of "plugins" with the
# list's "name" and "cniVersion" added, and "prevResult" for the plugins
# after the first (ADD) or for all (CHECK, DEL). CONTAINER is both the
# container ID and the namespace's name (/run/netns/fan-CONTAINER); IF is
# eth0 unless given. The plugins are looked up in CNI_PATH.

CNI_PATH=${CNI_PATH:-/usr/lib/cni}
_cni_cache=$(mktemp -d /tmp/cni-cache.XXXXXX)
# Chained after whatever EXIT trap is there (hosts.sh's, fanctl.sh's).
_cni_prev_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap 'rm -rf "$_cni_cache"; '"$_cni_prev_trap" EXIT

netns_add() {
	_fan_ns_add "fan-$1"
}

# The config of plugin INDEX of LIST, with PREV (a file) as prevResult.
_cni_conf() {
	local list=$1 index=$2 prev=${3:-}
	if [ -n "$prev" ]; then
		jq -c --argjson i "$index" --slurpfile prev "$prev" \
			'.plugins[$i] + {name: .name, cniVersion: .cniVersion, prevResult: $prev[0]}' "$list"
	else
		jq -c --argjson i "$index" \
			'.plugins[$i] + {name: .name, cniVersion: .cniVersion}' "$list"
	fi
}

# Runs one plugin; its stdout (a result, or an error object) on stdout.
_cni_exec() {
	local host=$1 command=$2 conf=$3 container=$4 ifname=$5 type out
	type=$(jq -r .type <<<"$conf")
	if ! out=$(on "$host" env CNI_COMMAND="$command" CNI_CONTAINERID="$container" \
		CNI_NETNS="/run/netns/fan-$container" CNI_IFNAME="$ifname" \
		CNI_PATH="$CNI_PATH" "$CNI_PATH/$type" <<<"$conf"); then
		echo "CNI $command of plugin $type for $container failed: $out" >&2
		return 1
	fi
	echo "$out"
}

_cni_result() {
	local list=$1 container=$2 ifname=$3
	echo "$_cni_cache/$(jq -r .name "$list")-$container-$ifname.json"
}

cni_add() {
	local host=$1 list=$2 container=$3 ifname=${4:-eth0} n i conf prev=""
	local result tmp=$_cni_cache/add.$$
	result=$(_cni_result "$list" "$container" "$ifname")
	n=$(jq '.plugins | length' "$list")
	for ((i = 0; i < n; i++)); do
		conf=$(_cni_conf "$list" "$i" "$prev")
		_cni_exec "$host" ADD "$conf" "$container" "$ifname" >"$tmp" || return 1
		cp "$tmp" "$result"
		prev=$result
	done
	cat "$result"
}

cni_check() {
	local host=$1 list=$2 container=$3 ifname=${4:-eth0} n i result
	result=$(_cni_result "$list" "$container" "$ifname")
	n=$(jq '.plugins | length' "$list")
	for ((i = 0; i < n; i++)); do
		_cni_exec "$host" CHECK "$(_cni_conf "$list" "$i" "$result")" "$container" "$ifname" >/dev/null ||
			return 1
	done
}

cni_del() {
	local host=$1 list=$2 container=$3 ifname=${4:-eth0} n i result prev=""
	result=$(_cni_result "$list" "$container" "$ifname")
	[ -e "$result" ] && prev=$result
	n=$(jq '.plugins | length' "$list")
	for ((i = n - 1; i >= 0; i--)); do
		_cni_exec "$host" DEL "$(_cni_conf "$list" "$i" "$prev")" "$container" "$ifname" >/dev/null ||
			return 1
	done
	rm -f "$result"
}
