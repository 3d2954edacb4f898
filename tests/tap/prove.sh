#!/bin/sh
# prove.sh PROGRAM... - prove itself as the judge of host programs' TAP.
#
# Each PROGRAM (a host test binary) is one result: ok if prove, reading
# its stdout under "pragma +strict" (tests/tap/strict.sh), passes it, that
# is every line a plan, a result or a comment, the plan met, no test failed.
# The harness checks every host program's stdout the same way in Python
# (scripts/harness.py, strict_tap_problem); this keeps the real tool in
# `make test`, over a few programs that take a second or two.
set -u
here=$(cd "$(dirname "$0")" && pwd)
echo "1..$#"
n=0
failed=0
for bin in "$@"; do
	n=$((n + 1))
	name=$(basename "$bin")
	if ! command -v prove >/dev/null 2>&1; then
		echo "ok $n $name # SKIP prove (Perl's TAP::Harness) is not installed"
		continue
	fi
	if out=$(prove --exec "$here/strict.sh" "$bin" 2>&1); then
		echo "ok $n $name"
	else
		echo "$out" | tail -n 20 | sed 's/^/# prove: /'
		echo "not ok $n $name"
		failed=1
	fi
done
exit $failed
