#!/bin/sh
# run.sh - one libFuzzer campaign over a target, reported as TAP.
#
#   tests/fuzz/run.sh TARGET          (STRATA_FUZZ_SECONDS, default 5)
#
# Runs build/fuzz/TARGET for STRATA_FUZZ_SECONDS seconds. libFuzzer first
# replays every input in tests/fuzz/corpus/TARGET/ (the inputs kept in the
# repository, every past finding among them), then mutates; what it finds
# new goes to build/fuzz/work-TARGET/, never into the repository. A crash
# leaves build/fuzz/crash-TARGET-* and fails: copy that file into the
# corpus when the bug is fixed, so every later run replays it.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
t=$1
secs=${STRATA_FUZZ_SECONDS:-5}
bin=$root/build/fuzz/$t
work=$root/build/fuzz/work-$t
log=$root/build/fuzz/$t.log
mkdir -p "$work"
echo "1..1"
if "$bin" -max_total_time="$secs" -timeout=20 -print_final_stats=1 \
	-artifact_prefix="$root/build/fuzz/crash-$t-" "$work" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1; then
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	echo "ok 1 fuzz_$t # ${runs:-?} inputs in $secs s, $cov, corpus $(ls "$root/tests/fuzz/corpus/$t" | wc -l) kept + $(ls "$work" | wc -l) found"
else
	tail -n 40 "$log" | sed 's/^/# /'
	echo "not ok 1 fuzz_$t # the fuzzer stopped: see $log and build/fuzz/crash-$t-*"
	exit 1
fi
