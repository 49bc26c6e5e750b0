#!/usr/bin/env bash
# `make bench` still works: bench/guest.sh, cut down to one 1-second round of
# (b) Linux's ipip, (c) ours with a fixed remote, (e) Linux's ipip with
# fanctl's fallback routes, (d) ours with a fan map, (bf) and (df), (b) and
# (d) inside UDP (FOU), and (d) with 16 maps, gives a result line for each, with a non-zero figure and the traffic
# counted on the configuration's tunnel device, and no warning but one;
# (e)'s hosts held exactly the routes fanctl made for them, one per peer of
# the /16. The one warning allowed is that the guest stayed busy after a
# setup: it is about the quality of a measurement, which one-second rounds
# do not claim, and a loaded host (TCG vCPUs preempted) gives it. For the
# same reason the wait for an idle guest is 5 s here, not 30.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

out=$(bash "$here/../../bench/guest.sh" --rounds 1 --seconds 1 --only net \
	--configs "b c e d bf df d16" --tests "tcp1 udp64" --quiesce 5)
echo "$out"

if grep 'kind=warning' <<<"$out" | grep -v 'msg=the_guest_was_still_busy_5_s_after_a_setup$' >&2; then
	echo "bench/guest.sh warned" >&2
	exit 1
fi
check() { # TEST CFG DEV
	local line
	line=$(grep -E "^BENCH kind=net test=$1 cfg=$2 " <<<"$out") || {
		echo "no result for $1 $2" >&2
		return 1
	}
	awk -v dev="$3" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (!(f["value"] > 0)) { print "zero value: " $0 > "/dev/stderr"; exit 1 }
		if (f["dev"] != dev || !(f["dev_tx_pkts"] > 0)) { print "not through " dev ": " $0 > "/dev/stderr"; exit 1 }
	}' <<<"$line"
}
for t in tcp1 udp64; do
	check $t b ipip0
	check $t c ipip0
	check $t e tunl0
	check $t d tunl0
	check $t bf ipip0
	check $t df fanfou
done
check udp64 d16 tunl0
for h in h27 h28; do
	grep -qE "^BENCH kind=routes cfg=e host=$h fanctl_routes=[0-9]+ fanctl_peer_routes=$(((1 << 16) - 3))$" <<<"$out" || {
		echo "$h: not the 65,533 peer routes of fanctl's fallback" >&2
		exit 1
	}
	grep -qE "^BENCH kind=routes cfg=e host=$h installed_routes=[0-9]+ same_as_fanctl=1$" <<<"$out" || {
		echo "$h: tunl0 did not hold exactly fanctl's routes" >&2
		exit 1
	}
done
