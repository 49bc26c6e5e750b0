#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh IP - run the tests that need no fan kernel (parse.sh, print.sh)
# against a patched `ip`, e.g.  tests/run.sh "$(iproute2-patch/build.sh)"
# Prints each check, then one "N passed, N failed" line for all of them;
# exits 1 on any failure.  (vm.sh needs the fan module: run it in the VM.)
set -u

IP=${1:?usage: $0 PATH_TO_PATCHED_IP}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
passed=0
failed=0
for t in parse.sh print.sh; do
	echo "== $t"
	out=$("$HERE/$t" "$IP")
	rc=$?
	printf '%s\n' "$out" | sed '$d'
	last=$(printf '%s\n' "$out" | tail -n 1)
	if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		[ "$rc" -eq 0 ] || [ "${BASH_REMATCH[2]}" -gt 0 ] || failed=$((failed + 1))
	else
		echo "FAIL: $t did not finish: $last"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
