#!/usr/bin/env bash
# The 2015 announcement's demo ("The Bits have Hit the Fan!"), replayed in the
# VM with our fan module and fanctl: two hosts, 172.30.0.27 and .28, on a
# 9001-MTU underlay; `fanctl up 250.0.0.0/8 eth0/16 dhcp` on each; a
# container on each fan bridge leased by the fan's dnsmasq; ping, nc and
# iperf3 between the containers; `fanctl show`.
#
# Run by `make demo` as `qemu/run -- tests/demo.sh`; needs the module (make
# kmod) and target/release/fanctl (cargo build --release -p fanctl);
# uses the patched build/ip (make iproute2) when there is one.
# Prints a transcript, every command with a prompt and its real output, and
# a last line `demo: it all worked` or `demo: FAILED: <what>` (exit 1).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/hosts.sh"
. "$here/lib/fan.sh"
. "$here/lib/fanctl.sh"
set +e # every step is checked below, and a failure is named

# What the transcript's commands find: fanctl, and the patched ip (make
# iproute2), which shows tunl0's fan map, when there is one.
demo_path=$(dirname "$FANCTL"):$PATH
if [ -x "$here/../build/ip" ]; then
	demo_path=$(cd "$here/../build" && pwd):$demo_path
fi
finished=0
demo_exit() {
	local status=$?
	_fanctl_cleanup
	if [ "$finished" = 0 ]; then
		echo "demo: FAILED: stopped unexpectedly (status $status)"
		exit 1
	fi
}
trap demo_exit EXIT

fail() {
	echo
	echo "demo: FAILED: $*"
	finished=1
	exit 1
}

say() {
	echo
	echo "$*" | fold -s -w 78 | sed 's/ *$//'
	echo
}

prompt() {
	case $1 in
	h*) echo "root@$1:~#" ;;
	*) echo "root@$1:/#" ;;
	esac
}

# run WHERE 'COMMAND': shows the prompt and COMMAND, runs it in host or
# container WHERE (fanctl with that host's own run and state dirs).
run() {
	local where=$1 cmd=$2 dir=$FANCTL_TMP/$1
	echo "$(prompt "$where") $cmd"
	mkdir -p "$dir"
	on "$where" env PATH="$demo_path" FAN_RUN_DIR="$dir/run" \
		FAN_STATE_DIR="$dir/state" FAN_CONFIG="$dir/fan" bash -c "$cmd"
}

# must WHERE 'COMMAND': run, and stop the demo if it fails.
must() {
	run "$@" || fail "'$2' on $1 exited with status $?"
}

echo "Fan networking: the demo of the 2015 announcement, in a VM"
echo "(Dustin Kirkland, \"Container-to-Container Networking: The Bits have Hit the Fan!\")"

fan_module_load || fail "cannot load $FAN_KMOD"
say "The kernel has the fan: our Rust fan_ipip module, a drop-in for ipip."
echo "$(prompt h28) cat /proc/sys/net/fan/version"
cat /proc/sys/net/fan/version || fail "no /proc/sys/net/fan/version"

# Two hosts on one L2 underlay, MTU 9001 as on EC2.
{
	underlay_create 9001 &&
		host_add h27 172.30.0.27/16 &&
		host_add h28 172.30.0.28/16
} || fail "cannot build the two hosts"

say "Two hosts in the same network, 172.30.0.27 and 172.30.0.28, MTU 9001. First, they can talk to one another, in both directions, with ping and nc."
must h28 "ip addr show eth0"
must h28 "ping -c 3 172.30.0.27"
on h28 nc -l -N -w 30 1234 </dev/null >"$FANCTL_TMP/mom" &
server=$!
_fan_wait_listen h28 1234 || fail "nc -l 1234 on h28 did not start"
echo
must h27 "ip addr show eth0"
must h27 "ping -c 3 172.30.0.28"
must h27 'echo "hi mom" | nc -N 172.30.0.28 1234'
wait $server
echo "$(prompt h28) nc -l 1234"
cat "$FANCTL_TMP/mom"
[ "$(cat "$FANCTL_TMP/mom")" = "hi mom" ] || fail "nc between the hosts: 'hi mom' did not arrive"

say "Now a fan bridge on each host: 250.0.0.0/8 laid over the underlay's /16, with DHCP for the containers."
for h in h28 h27; do
	must $h "fanctl up 250.0.0.0/8 eth0/16 dhcp"
done
echo
must h28 "ip addr show fan-250-0-28"
must h28 "ip -d link show tunl0"
must h28 "ip route show 250.0.0.0/8"

say "A container on each host, its eth0 on the fan bridge (docker run -b fan-250-0-28). It asks the fan's dnsmasq for an address."
script=$(_fanctl_udhcpc_script)
declare -A addr
for n in 28 27; do
	container_add h$n c$n fan-250-0-$n || fail "cannot make container c$n"
	must c$n "busybox udhcpc -i eth0 -n -q -f -t 10 -T 1 -O mtu -s $script"
	must c$n "ip addr show eth0"
	addr[$n]=$(addr_of c$n)
	[[ ${addr[$n]} =~ ^250\.0\.$n\.[0-9]+$ ]] ||
		fail "c$n got '${addr[$n]}', not an address of its host's slice 250.0.$n.0/24"
	[ "$(on c$n cat /sys/class/net/eth0/mtu)" = 8981 ] || fail "c$n's MTU is not 8981"
	echo
done

tx=$(link_stat h28 tunl0 tx_bytes)
say "Traffic back and forth between the containers, across the hosts: ping and nc."
must c28 "ping -c 3 ${addr[27]}"
on c27 nc -l -N -w 30 9876 </dev/null >"$FANCTL_TMP/bits" &
server=$!
_fan_wait_listen c27 9876 || fail "nc -l 9876 in c27 did not start"
must c28 "echo \"here come the bits\" | nc -N ${addr[27]} 9876"
wait $server
echo
must c27 "ping -c 3 ${addr[28]}"
echo "$(prompt c27) nc -l 9876"
cat "$FANCTL_TMP/bits"
[ "$(cat "$FANCTL_TMP/bits")" = "here come the bits" ] ||
	fail "nc between the containers: 'here come the bits' did not arrive"

say "fanctl show, on each host:"
for n in 28 27; do
	out=$(run h$n "fanctl show") || fail "fanctl show on h$n failed"
	echo "$out"
	grep -qx "fan-250-0-$n 250.0.0.0/8 172.30.0.$n/16 dhcp host-reserve 1" <<<"$(tr -s ' ' <<<"$out")" ||
		fail "fanctl show on h$n does not list fan-250-0-$n 250.0.0.0/8 172.30.0.$n/16 dhcp host-reserve 1"
	echo
done

say "And iperf3 between the containers (the VM emulates its CPUs, so expect far less than the announcement's 5.46 Gbit/s on EC2):"
on c27 iperf3 -s -1 >"$FANCTL_TMP/iperf-server" 2>&1 &
server=$!
_fan_wait_listen c27 5201 || fail "iperf3 -s in c27 did not start"
out=$(run c28 "iperf3 -c ${addr[27]} -t 3 -f m")
status=$?
echo "$out"
wait $server
echo
echo "$(prompt c27) iperf3 -s -1"
cat "$FANCTL_TMP/iperf-server"
[ $status = 0 ] || fail "iperf3 -c exited with status $status"
rate=$(awk '/receiver$/ && $8 == "Mbits/sec" { print $7 }' <<<"$out")
awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail "iperf3 reported no bitrate"

# The fan carried it all: through tunl0, not around it.
sent=$(($(link_stat h28 tunl0 tx_bytes) - tx))
[ "$sent" -ge 1000000 ] || fail "h28's tunl0 sent only $sent bytes"
echo
echo "$(prompt h28) cat /sys/class/net/tunl0/statistics/tx_bytes   # the fan carried it"
link_stat h28 tunl0 tx_bytes

echo
echo "Containers on separate hosts, directly addressable to one another, with one"
echo "network device on each host: ${addr[28]} <-> ${addr[27]}, $rate Mbit/s."
finished=1
echo "demo: it all worked"
