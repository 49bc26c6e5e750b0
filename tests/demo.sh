#!/usr/bin/env bash
# The demo, run in the guest by `make demo`. Until fanctl drives the fan
# module, it shows the harness: two hosts, ipip, containers talking.
set -uo pipefail
cd "$(dirname "$0")/.."
if tests/run-vm tests/vm/ipip-linux-c-driver.sh; then
	echo "demo: it all worked"
else
	echo "demo: FAILED"
	exit 1
fi
