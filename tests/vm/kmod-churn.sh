#!/usr/bin/env bash
# Churn, with traffic:
#
# 1. Three hosts on a fan, continuous pings between their containers and an
#    iperf3 stream for FAN_CHURN_SECONDS (30 s), while every host adds and
#    removes extra maps, re-applies the map in use (removed and re-added in
#    one request, and a flush plus re-add in one request) and creates and
#    deletes a second fan device; at the same time another loop creates and
#    destroys namespaces holding fan devices (with maps, up, moved between
#    namespaces). The traffic must keep flowing: a request replaces a map
#    table atomically, so the map in use is never missing (the fan drops
#    no packet: its tunl0 error counters stay 0), and a ping may be lost
#    only to a full queue that counted it (the iperf3 stream shares them).
# 2. The module unloaded and reloaded FAN_CHURN_RELOADS (20) times with
#    devices present (tunl0 with maps, fan devices with maps, a plain and an
#    external ipip device, in several namespaces) and a ping running through
#    the fan: rmmod succeeds, leaves no ipip device nor net.fan sysctl in any
#    namespace (and nothing loads Linux's ipip.ko), each insmod brings tunl0
#    back, without maps, in every namespace, and the fan carries traffic
#    both ways in every round.
#
# The harness fails the run on any oops, and on the debug kernel on any
# kmemleak report.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

seconds=${FAN_CHURN_SECONDS:-30}
reloads=${FAN_CHURN_RELOADS:-20}
map=250.0.0.0/8:172.30.0.0/16
hosts=(27 28 29)
work=$(mktemp -d)
# The device churn's namespaces, removed at exit whatever happens.
_fan_namespaces+=(fan-churn-a fan-churn-b fan-spare)
trap '_fan_cleanup; rm -rf "$work"' EXIT

fan_module_load
underlay_create 9001
for h in "${hosts[@]}"; do
	host_add h$h 172.30.0.$h/16
	fan_host_up h$h $map 250.0.$h.1/24
	container_add h$h c$h br0 250.0.$h.2/24 250.0.$h.1
done
on c27 ping -c 1 -W 5 250.0.28.2 >/dev/null # first packets resolve neighbours

# ---- 1. map and device churn under traffic ----

# Requests come from one long-lived python per loop (fannl.py's building
# blocks): starting a process per request costs a second under TCG.
cat >"$work/churn.py" <<'EOF'
"""Print "ops errors" after:
  churn.py maps HOST STOP         map churn on tunl0 and fanx of HOST until the
                                  file STOP exists (STOP.HOST once started)
  churn.py devices OTHER-NETNS    fan devices made here, one moved to OTHER-NETNS
Or, exiting non-zero with a message on the first failure:
  churn.py reload ROUNDS KO NETNS,...
                                  ROUNDS times: devices with maps in every
                                  namespace, traffic across the fan, rmmod, no
                                  device nor sysctl left, insmod KO, tunl0
                                  (without maps) and sysctls back everywhere
"""
import contextlib, ctypes, io, os, socket, struct, sys, time, types
sys.path.insert(0, os.environ["FAN_LIB"])
import fannl as f

RTM_DELLINK, IFF_UP, IFLA_NET_NS_FD, IFLA_IPTUN_COLLECT_METADATA = 17, 1, 28, 19
MAP = "250.0.0.0/8:172.30.0.0/16"
ops = errors = 0

def link(msg_type, flags=0, name=None, data=None, extra=b"", up=False):
    index = 0 if flags & f.NLM_F_CREATE or name is None else socket.if_nametoindex(name)
    body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)
    if index == 0 and name:
        body += f.attr(f.IFLA_IFNAME, name.encode() + b"\0")
    body += extra
    if data is not None:
        info = f.attr(f.IFLA_INFO_KIND, b"ipip\0") + f.attr(f.IFLA_INFO_DATA | f.NLA_F_NESTED, data)
        body += f.attr(f.IFLA_LINKINFO | f.NLA_F_NESTED, info)
    request(msg_type, flags, body, name)

def request(msg_type, flags, body, what=""):
    global ops, errors
    ops += 1
    try:
        f.read_reply(f.request(msg_type, flags | f.NLM_F_ACK, body))
    except OSError as e:
        errors += 1
        print(f"request {ops} ({msg_type}) {what}: {e}", file=sys.stderr)

def maps(*items):
    return f.fan_attrs([("--map", m) for m in items], True)

def addr(kind, a):
    return f.attr(kind, socket.inet_aton(a))

def change(dev, *items):
    link(f.RTM_NEWLINK, name=dev, data=maps(*items))

def add(name, data):
    link(f.RTM_NEWLINK, f.NLM_F_CREATE | f.NLM_F_EXCL, name, data)

def delete(name):
    link(RTM_DELLINK, name=name)

libc = ctypes.CDLL(None, use_errno=True)
init_ns = os.open("/proc/self/ns/net", os.O_RDONLY)

def enter(ns):
    fd = init_ns if ns == "init" else os.open(f"/run/netns/{ns}", os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), f"setns {ns}")
    if fd != init_ns:
        os.close(fd)

HOSTS = ("27", "28", "29")
DEVICES = ("tunl0", "fan1", "fan9", "p2p", "ext")

def populate():
    for h in HOSTS:
        enter(f"fan-h{h}")
        change("tunl0", "0.0.0.0/0:0.0.0.0/0", MAP)
        link(f.RTM_NEWLINK, name="tunl0", up=True)
        add("fan1", addr(f.IFLA_IPTUN_LOCAL, f"172.30.0.{h}")
            + maps("251.0.0.0/8:172.30.0.0/16", "252.0.0.0/8:10.0.0.0/16"))
        # ip route replace 250.0.0.0/8 dev tunl0 src 250.0.H.1
        rtmsg = struct.pack("=BBBBBBBBI", socket.AF_INET, 8, 0, 0, 254, 3, 253, 1, 0)
        rtmsg += addr(1, "250.0.0.0") + addr(7, f"250.0.{h}.1")  # RTA_DST, RTA_PREFSRC
        rtmsg += f.attr(4, struct.pack("=I", socket.if_nametoindex("tunl0")))  # RTA_OIF
        request(24, f.NLM_F_CREATE | 0x100, rtmsg)  # RTM_NEWROUTE, NLM_F_REPLACE
    enter("fan-h27")
    add("p2p", addr(f.IFLA_IPTUN_LOCAL, "172.30.0.27") + addr(f.IFLA_IPTUN_REMOTE, "172.30.0.99"))
    link(f.RTM_NEWLINK, name="p2p", up=True)
    enter("fan-h28")
    add("ext", f.attr(IFLA_IPTUN_COLLECT_METADATA, b""))
    enter("fan-spare")
    change("tunl0", "0.0.0.0/0:0.0.0.0/0", "10.0.0.0/8:192.168.0.0/16")
    add("fan9", addr(f.IFLA_IPTUN_LOCAL, "192.168.0.9") + maps(MAP))
    enter("init")
    change("tunl0", "0.0.0.0/0:0.0.0.0/0", "10.0.0.0/8:192.168.0.0/16")

def present(namespaces):
    """Every NETNS:DEVICE of DEVICES that exists, with its maps."""
    found = []
    for ns in namespaces:
        enter(ns)
        # not if_nametoindex(): looking up a missing tunl0 loads ipip.ko
        with open("/proc/self/net/dev") as dev_list:
            names = {line.split(":")[0].strip() for line in dev_list.readlines()[2:]}
        for dev in DEVICES:
            if dev in names:
                out = io.StringIO()
                with contextlib.suppress(OSError), contextlib.redirect_stdout(out):
                    f.dump(types.SimpleNamespace(name=dev))
                found.append(" ".join([f"{ns}:{dev}"] + out.getvalue().split()))
        if os.path.exists("/proc/sys/net/fan"):
            found.append(f"{ns}:net.fan sysctls")
    enter("init")
    return found

def udp_through_fan(src, dst, dst_addr):
    """A datagram from container SRC reaches DST_ADDR in container DST."""
    enter(dst)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind((dst_addr, 9999))
        rx.settimeout(1)
        enter(src)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for _ in range(10):
                tx.sendto(b"fan", (dst_addr, 9999))
                with contextlib.suppress(socket.timeout):
                    if rx.recv(16) == b"fan":
                        enter("init")
                        return True
    enter("init")
    return False

def loaded(module):
    with open("/proc/modules") as mods:
        return any(line.startswith(module + " ") for line in mods)

def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

def reload(rounds, ko, namespaces):
    for r in range(1, rounds + 1):
        populate()
        if errors:
            fail(f"round {r}: {errors} requests refused while setting up")
        if not udp_through_fan("fan-c27", "fan-c28", "250.0.28.2") or \
                not udp_through_fan("fan-c28", "fan-c27", "250.0.27.2"):
            fail(f"round {r}: no traffic through the fan")
        if libc.syscall(176, b"fan_ipip", os.O_NONBLOCK) != 0:  # delete_module
            fail(f"round {r}: rmmod fan_ipip: {os.strerror(ctypes.get_errno())}")
        left = present(namespaces)
        if left:
            fail(f"round {r}: left after rmmod: {left}")
        if loaded("ipip"):
            fail(f"round {r}: something loaded Linux's ipip.ko")
        fd = os.open(ko, os.O_RDONLY)
        if libc.syscall(313, fd, b"", 0) != 0:  # finit_module
            fail(f"round {r}: insmod {ko}: {os.strerror(ctypes.get_errno())}")
        os.close(fd)
        back = present(namespaces)
        if back != [x for ns in namespaces for x in (f"{ns}:tunl0", f"{ns}:net.fan sysctls")]:
            fail(f"round {r}: after insmod (want tunl0 without maps everywhere): {back}")
    print(rounds, 0)

if sys.argv[1] == "maps":
    host, stop, i = sys.argv[2], sys.argv[3], 0
    while not os.path.exists(stop):
        change("tunl0", f"10.{i}.0.0/16:172.30.{host}.0/24", f"11.{i}.0.0/16:172.30.{host}.0/24")
        change("tunl0", "250.0.0.0/8:0.0.0.0/0", MAP)  # the map in use, re-applied
        change("tunl0", f"10.{i}.0.0/16:0.0.0.0/0")
        add("fanx", addr(f.IFLA_IPTUN_LOCAL, f"172.30.0.{host}")
            + maps("251.0.0.0/8:172.30.0.0/16", f"12.{i}.0.0/16:172.30.{host}.0/24"))
        # a changelink carries every stock parameter (here: local), as ip(8)'s do
        link(f.RTM_NEWLINK, name="fanx", data=addr(f.IFLA_IPTUN_LOCAL, f"172.30.0.{host}")
             + maps(f"12.{i}.0.0/16:0.0.0.0/0", f"13.{i}.0.0/16:172.30.{host}.0/24"))
        change("tunl0", f"11.{i}.0.0/16:0.0.0.0/0")
        change("tunl0", "0.0.0.0/0:0.0.0.0/0", MAP)  # flush and re-apply
        delete("fanx")
        i = (i + 1) % 256
        if i == 1:
            open(f"{stop}.{host}", "w").close()
elif sys.argv[1] == "reload":
    reload(int(sys.argv[2]), sys.argv[3], ["init"] + sys.argv[4].split(","))
else:
    change("tunl0", MAP)
    add("fa", addr(f.IFLA_IPTUN_LOCAL, "10.9.0.1") + maps(MAP, "251.0.0.0/8:10.9.0.0/16"))
    add("fb", addr(f.IFLA_IPTUN_LOCAL, "10.9.0.2") + maps("252.0.0.0/8:10.9.0.0/16"))
    link(f.RTM_NEWLINK, name="fa", up=True)
    link(f.RTM_NEWLINK, name="tunl0", up=True)
    add("p2p", addr(f.IFLA_IPTUN_LOCAL, "10.9.0.3") + addr(f.IFLA_IPTUN_REMOTE, "10.9.0.4"))
    add("ext", f.attr(IFLA_IPTUN_COLLECT_METADATA, b""))
    delete("fb")
    fd = os.open(f"/run/netns/{sys.argv[2]}", os.O_RDONLY)
    link(f.RTM_NEWLINK, name="fa", extra=f.attr(IFLA_NET_NS_FD, struct.pack("=I", fd)))
    os.close(fd)
print(ops, errors)
EOF
export FAN_LIB

# device_churn STOP: namespaces with fan devices, made and destroyed until
# the file STOP exists (and at least 3 times).
device_churn() {
	local stop=$1 rounds=0 ops=0 errors=0 o e
	while [ ! -e "$stop" ] || [ "$rounds" -lt 3 ]; do
		rounds=$((rounds + 1))
		if ip netns add fan-churn-a && ip netns add fan-churn-b &&
			read -r o e < <(ip netns exec fan-churn-a python3 "$work/churn.py" devices fan-churn-b) &&
			ip -n fan-churn-b link set fa up &&
			ip netns del fan-churn-a && ip netns del fan-churn-b; then
			ops=$((ops + o)) errors=$((errors + e))
		else
			errors=$((errors + 1))
			ip netns del fan-churn-a 2>/dev/null || true
			ip netns del fan-churn-b 2>/dev/null || true
		fi
	done
	echo "$rounds $ops $errors" >"$work/device-churn"
}

# fan_drops HOST: packets the fan dropped on HOST's tunl0 for its own
# reasons (no map or route, not unicast, a loop, a forged source).
fan_drops() {
	on "$1" sh -c 'cd /sys/class/net/tunl0/statistics &&
		cat tx_carrier_errors tx_aborted_errors collisions rx_frame_errors' |
		awk '{ s += $1 } END { print s + 0 }'
}

# queue_drops: packets dropped by a full queue on the way between the
# containers: every device's rx_dropped and tx_dropped in the hosts,
# containers and underlay, packets waiting for a neighbour there
# (arp_cache's unresolved_discards) and the CPUs' backlogs (softnet_stat).
queue_drops() {
	local total=0 ns n _ discards
	for ns in "$FAN_UNDERLAY_NS" "${hosts[@]/#/fan-h}" "${hosts[@]/#/fan-c}"; do
		for n in $(ip netns exec "$ns" cat /sys/class/net/*/statistics/{rx,tx}_dropped); do
			total=$((total + n))
		done
		while read -r _ _ _ _ _ _ _ _ _ _ _ discards _; do
			total=$((total + 16#$discards))
		done < <(ip netns exec "$ns" tail -n +2 /proc/net/stat/arp_cache)
	done
	while read -r _ n _; do
		total=$((total + 16#$n))
	done </proc/net/softnet_stat
	echo "$total"
}

declare -A fan_drops_before
for h in "${hosts[@]}"; do
	fan_drops_before[$h]=$(fan_drops h$h)
done
queue_drops_before=$(queue_drops)
on c28 iperf3 -s -1 -D -p 5201 --logfile "$work/iperf3-server"
_fan_wait_listen c28 5201
# The churn starts first and runs until the traffic is over.
stop=$work/stop
churn=()
for h in "${hosts[@]}"; do
	on h$h python3 "$work/churn.py" maps "$h" "$stop" >"$work/map-churn-$h" &
	churn+=($!)
done
device_churn "$stop" &
churn+=($!)
for h in "${hosts[@]}"; do
	for i in $(seq 600); do [ -e "$stop.$h" ] && break; sleep 0.2; done
done
traffic=()
for h in "${hosts[@]}"; do
	next=$((h == 29 ? 27 : h + 1))
	on c$h ping -q -i 0.2 -c $((seconds * 5)) -W 5 250.0.$next.2 >"$work/ping-$h" 2>&1 &
	traffic+=($!)
done
on c27 iperf3 -c 250.0.28.2 -p 5201 -t "$seconds" -b 200M -J >"$work/iperf3" 2>&1 &
iperf=$!
for pid in "${traffic[@]}"; do wait "$pid" || true; done
wait "$iperf" || { echo "iperf3 failed:" >&2; cat "$work/iperf3" >&2; exit 1; }
touch "$stop"
for pid in "${churn[@]}"; do wait "$pid" || true; done

failed=0
queue_dropped=$(($(queue_drops) - queue_drops_before))
lost=0
for h in "${hosts[@]}"; do
	read -r sent received < <(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$work/ping-$h") || true
	read -r ops errors <"$work/map-churn-$h" || true
	echo "c$h: $received of $sent pings answered; h$h: $ops requests, $errors refused"
	expect_eq "c$h pings sent" "${sent:-0}" $((seconds * 5)) || failed=1
	lost=$((lost + ${sent:-0} - ${received:-0}))
	# a map table is replaced atomically: the fan itself drops nothing
	expect_eq "h$h packets the fan dropped (tunl0 errors)" \
		$(($(fan_drops h$h) - ${fan_drops_before[$h]})) 0 || failed=1
	expect_ge "h$h map requests" "${ops:-0}" 40 || failed=1
	expect_eq "h$h refused map requests" "${errors:-1}" 0 || failed=1
	expect_eq "h$h tunl0 maps after churn" "$(on h$h python3 "$FAN_LIB/fannl.py" dump tunl0)" $map || failed=1
done
# The iperf3 stream fills the queues it shares with the pings (more so
# under TCG): a lost ping must be one that a full queue dropped and counted.
echo "measure: pings lost $lost; packets dropped by full queues meanwhile $queue_dropped"
if [ "$lost" -gt 0 ]; then
	# where packets were dropped (counters since boot), for the record
	for ns in "$FAN_UNDERLAY_NS" "${hosts[@]/#/fan-h}" "${hosts[@]/#/fan-c}"; do
		ip netns exec "$ns" sh -c 'grep -H . /sys/class/net/*/statistics/*_dropped' |
			grep -v ':0$' | sed "s|^/sys/class/net/|$ns: |" || true
	done
	sed 's/^/softnet_stat: /' /proc/net/softnet_stat
fi
expect_ge "packets dropped by full queues (at least the pings lost)" "$queue_dropped" "$lost" || failed=1
bytes=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))' "$work/iperf3")
echo "iperf3: $((bytes / 1000000)) MB in ${seconds} s through the fan"
# TCG, and even more the debug kernel, are slow: that it flowed is the point
expect_ge "iperf3 bytes" "$bytes" 1000000 || failed=1
read -r rounds ops errors <"$work/device-churn"
echo "device churn: $rounds rounds (namespaces), $ops requests, $errors failed"
expect_eq "device churn failures" "$errors" 0 || failed=1
[ "$failed" = 0 ] || exit 1

# ---- 2. unload and reload with devices present ----

# Every namespace that must get tunl0 back: the hosts, a spare one and init.
ip netns add fan-spare
all_ns=(fan-underlay fan-spare)
for h in "${hosts[@]}"; do all_ns+=(fan-h$h fan-c$h); done

# A ping runs through the fan all along: rmmod happens with traffic.
on c29 ping -q -i 0.05 250.0.27.2 >/dev/null 2>&1 &
pinger=$!
status=0
python3 "$work/churn.py" reload "$reloads" "$FAN_KMOD" "$(IFS=,; echo "${all_ns[*]}")" >/dev/null || status=$?
kill "$pinger" 2>/dev/null || true
wait "$pinger" 2>/dev/null || true
[ "$status" = 0 ] || exit 1
echo "$reloads unload/reload rounds with devices present"
