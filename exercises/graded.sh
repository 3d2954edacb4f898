#!/bin/sh
# graded.sh - keeps the exercises' graders honest (docs/exercises.md), as
# build/host/exercises_graded in `make test`:
#   graded.sh NAME SKELETON_GRADER REFERENCE_GRADER [NAME SKELETON REFERENCE ...]
# Each grader is a host program built by exercises/exercises.mk from the
# grading tests and either the skeleton or the reference solution. The
# skeleton's must run to its plan and report at least one failure (a grader
# the skeleton passes grades nothing); the reference's must pass every test
# (a grader no correct solution passes is a broken exercise). One TAP result
# for each; a grader's own output is shown as "#" lines when its result fails.

if [ $(($# % 3)) -ne 0 ] || [ $# -eq 0 ]; then
	echo "usage: $0 NAME SKELETON REFERENCE ..." >&2
	exit 2
fi

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
n=0
failed=0
echo "1..$(($# / 3 * 2))"

# grade BINARY: run it; set plan, pass, fail, status from its output.
grade() {
	"$1" >"$out" 2>&1
	status=$?
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out" | head -n 1)
	pass=$(grep -c '^ok [0-9]' "$out")
	fail=$(grep -c '^not ok [0-9]' "$out")
}

# result OK NAME WHY: one TAP line; on failure the grader's output as comments.
result() {
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2 # reason: $3"
		sed 's/^/#   /' "$out"
		failed=1
	fi
}

while [ $# -gt 0 ]; do
	name=$1 skeleton=$2 reference=$3
	shift 3

	grade "$skeleton"
	echo "# $name, skeleton: $pass of ${plan:-?} passed, exit status $status"
	ok=0
	why="did not run to its plan (crashed or no TAP)"
	if [ -n "$plan" ] && [ $((pass + fail)) -eq "$plan" ]; then
		why="the skeleton passes every test: the grader grades nothing"
		[ "$fail" -gt 0 ] && [ "$status" -ne 0 ] && ok=1
	fi
	result $ok "$name skeleton: the grader reports failures" "$why"

	grade "$reference"
	echo "# $name, reference: $pass of ${plan:-?} passed, exit status $status"
	ok=0
	why="$fail of ${plan:-?} failed, exit status $status"
	if [ -n "$plan" ] && [ "$plan" -gt 0 ] && [ "$pass" -eq "$plan" ] && [ "$fail" -eq 0 ] && [ "$status" -eq 0 ]; then
		ok=1
	fi
	result $ok "$name reference: the grader passes it" "$why"
done
exit $failed
