# The fan kernel module in VM tests: source after hosts.sh.
#
#   fan_module_load          load $FAN_KMOD, the module built for the running
#                            kernel (qemu/run names it), and what it depends on
#   fannl ARGS...            tests/lib/fannl.py: raw rtnetlink for fan maps
#   fan_host_up HOST MAP BRIDGE_ADDR/LEN
#                            tunl0 of HOST gets MAP, comes up, routes the
#                            overlay with the bridge address as source, and
#                            the container bridge br0 holds BRIDGE_ADDR

FAN_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAN_KMOD=${FAN_KMOD:?FAN_KMOD: the module to test (qemu/run sets it)}

fan_module_load() {
	grep -q '^fan_ipip ' /proc/modules && return 0
	[ -f "$FAN_KMOD" ] || {
		echo "no $FAN_KMOD (run: make kmod KERNEL=${FAN_KERNEL:-6.12})" >&2
		return 1
	}
	modprobe -r ipip 2>/dev/null || true
	modprobe ip_tunnel
	modprobe tunnel4
	insmod "$FAN_KMOD"
}

fannl() {
	python3 "$FAN_LIB/fannl.py" "$@"
}

fan_host_up() {
	local host=$1 map=$2 bridge_addr=$3 overlay=${2%%:*}
	on "$host" python3 "$FAN_LIB/fannl.py" change tunl0 --map "$map"
	on "$host" ip link set tunl0 up
	bridge_add "$host" br0 "$bridge_addr"
	on "$host" ip route add "$overlay" dev tunl0 src "${bridge_addr%/*}"
}

# The patched ip that `make iproute2` leaves in build/.
FAN_IP=${FAN_IP:-$FAN_LIB/../../build/ip}
