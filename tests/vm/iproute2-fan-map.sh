#!/usr/bin/env bash
# The patched `ip` (make iproute2) against the fan module: iproute2-patch's
# own end-to-end checks (maps created, changed, dumped as text and JSON,
# refused with the kernel's message).
. "$(dirname "$0")/../lib/hosts.sh"
. "$(dirname "$0")/../lib/fan.sh"

fan_module_load
"$FAN_LIB/../../iproute2-patch/tests/vm.sh" "$FAN_IP"
