#!/usr/bin/env bash
# Hostile rtnetlink requests for ipip devices (tests/lib/nlfuzz.py): mutated
# RTM_NEWLINK/SETLINK/GETLINK/DELLINK requests with every IFLA_IPTUN_*
# attribute and fan maps valid and not, bad lengths, duplicates, unknown
# types, truncation, against tunl0 and devices the fuzzer creates, in a
# namespace of its own. Every request must be answered, and a refused one
# must leave every ipip device's dump as it was. The fuzzer first checks
# itself (self-test: it sees an accepted change, no change after a refusal,
# and a bad header goes unanswered). Afterwards tunl0 still takes a fan map
# through a normal request, and a fan between two hosts carries a ping.
#
#   FAN_FUZZ_COUNT   requests (default 20000: 1.5 to 3 minutes in the VM)
#   FAN_FUZZ_SEED    the seed (default: random, printed for a replay)
#
# A failure prints the seed, the request's bytes and the dump before and
# after. The same seed and count replay the run; in a namespace of one's
# own, `nlfuzz.py run --seed S --count N --stop-at I` stops after request I
# and shows the devices, and `nlfuzz.py send HEX` sends one request.
#
# The harness fails the run on any oops, KASAN or kmemleak report.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

count=${FAN_FUZZ_COUNT:-20000}
seed=${FAN_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

fan_module_load
_fan_ns_add fan-nlfuzz
on nlfuzz ip addr add 172.30.0.1/16 dev lo
on nlfuzz ip addr add 10.1.0.1/16 dev lo

nlfuzz() { on nlfuzz python3 "$FAN_LIB/nlfuzz.py" "$@"; }

nlfuzz self-test
start=$(date +%s)
nlfuzz run --seed "$seed" --count "$count" --progress 10000
echo "measure: netlink fuzz run time $(($(date +%s) - start)) s"

# The fuzzer left tunl0 without maps and removed its devices.
expect_eq "ipip devices after the fuzz" \
	"$(on nlfuzz ip -o link show type ipip | awk -F': ' '{print $2}' | tr '\n' ' ')" "tunl0@NONE "
expect_eq "tunl0 maps after the fuzz" "$(on nlfuzz python3 "$FAN_LIB/fannl.py" dump tunl0)" ""
on nlfuzz python3 "$FAN_LIB/fannl.py" change tunl0 --map 250.0.0.0/8:172.30.0.0/16
expect_eq "tunl0 maps set after the fuzz" \
	"$(on nlfuzz python3 "$FAN_LIB/fannl.py" dump tunl0)" 250.0.0.0/8:172.30.0.0/16

# A fan still carries traffic.
map=250.0.0.0/8:172.30.0.0/16
underlay_create 1500
for h in 27 28; do
	host_add h$h 172.30.0.$h/16
	fan_host_up h$h $map 250.0.$h.1/24
	container_add h$h c$h br0 250.0.$h.2/24 250.0.$h.1
done
on c27 ping -c 3 -i 0.2 -W 5 250.0.28.2 >/dev/null
on c28 ping -c 3 -i 0.2 -W 5 250.0.27.2 >/dev/null
