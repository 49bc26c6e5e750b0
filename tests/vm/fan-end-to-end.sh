#!/usr/bin/env bash
# The fan end to end: three hosts, two containers each, every pair of
# containers on different hosts exchanges pings and a checksummed 10 MB
# transfer; tunl0's counters prove the fan carried them.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load

# fan_topology MAP "HOST=UNDERLAY_ADDR/LEN=SLICE_PREFIX(3 octets or more)=BRIDGE/LEN ..."
# Slices are written out by hand from docs/mapping.md, so a wrong
# computation in the module cannot hide behind the same wrong computation here.
check_fan() {
	local map=$1
	shift
	local hosts=() spec name ul bridge c1 c2
	underlay_create 9001
	for spec in "$@"; do
		IFS='=' read -r name ul bridge c1 c2 <<<"$spec"
		hosts+=("$name")
		host_add "$name" "$ul"
		fan_host_up "$name" "$map" "$bridge"
		container_add "$name" "${name}a" br0 "$c1" "${bridge%/*}"
		container_add "$name" "${name}b" br0 "$c2" "${bridge%/*}"
	done

	declare -A tx_before
	for name in "${hosts[@]}"; do
		tx_before[$name]=$(link_stat "$name" tunl0 tx_bytes)
	done

	local from to to_addr
	for spec in "$@"; do
		IFS='=' read -r name _ _ c1 c2 <<<"$spec"
		for to_spec in "$@"; do
			IFS='=' read -r to _ _ t1 t2 <<<"$to_spec"
			[ "$to" = "$name" ] && continue
			for pair in "a:${t1%/*}" "b:${t2%/*}"; do
				to_addr=${pair#*:}
				on "${name}a" ping -c 2 -i 0.2 -W 3 "$to_addr" >/dev/null
				on "${name}b" ping -c 2 -i 0.2 -W 3 "$to_addr" >/dev/null
			done
			tcp_transfer_check "${name}a" "${to}b" "${t2%/*}" 10000000
		done
	done

	for name in "${hosts[@]}"; do
		# every host sent 10 MB to each of the two others through tunl0
		expect_ge "$name tunl0 tx_bytes" \
			$(($(link_stat "$name" tunl0 tx_bytes) - ${tx_before[$name]})) 20000000
		expect_eq "$name tunl0 tx_errors" "$(link_stat "$name" tunl0 tx_errors)" 0
	done
	_fan_cleanup
}

check_fan 250.0.0.0/8:172.30.0.0/16 \
	h27=172.30.0.27/16=250.0.27.1/24=250.0.27.2/24=250.0.27.3/24 \
	h28=172.30.0.28/16=250.0.28.1/24=250.0.28.2/24=250.0.28.3/24 \
	h29=172.30.0.29/16=250.0.29.1/24=250.0.29.2/24=250.0.29.3/24

# 100.64.0.0/10 over a /24: host .11 owns 100.64.0.0 | 11 << 14 = 100.66.192.0/18
check_fan 100.64.0.0/10:10.224.220.0/24 \
	h11=10.224.220.11/24=100.66.192.1/18=100.66.192.2/18=100.66.192.3/18 \
	h12=10.224.220.12/24=100.67.0.1/18=100.67.0.2/18=100.67.0.3/18 \
	h13=10.224.220.13/24=100.67.64.1/18=100.67.64.2/18=100.67.64.3/18
