#!/usr/bin/env bash
# The announcement's fan set up with the patched `ip` alone, no fanctl:
# tunl0 with the map, a bridge and a route per host, containers that ping
# and talk TCP across the fan.
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
underlay_create 9001
for h in 27 28; do
	host_add h$h 172.30.0.$h/16
	on h$h "$FAN_IP" link change dev tunl0 type ipip fan-map 250.0.0.0/8:172.30.0.0/16
	on h$h "$FAN_IP" link set tunl0 up
	bridge_add h$h fan-250-0-$h 250.0.$h.1/24
	on h$h "$FAN_IP" route add 250.0.0.0/8 dev tunl0 src 250.0.$h.1
	container_add h$h c$h fan-250-0-$h 250.0.$h.3/24 250.0.$h.1
done
expect_eq "h28 tunl0 maps" "$(on h28 "$FAN_IP" -j -d link show tunl0 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["linkinfo"]["info_data"]["fan_map"])')" \
	"['250.0.0.0/8:172.30.0.0/16']"
on c28 ping -c 3 -i 0.2 -W 3 250.0.27.3
on c27 ping -c 3 -i 0.2 -W 3 250.0.28.3
tcp_transfer_check c28 c27 250.0.27.3 1000000
