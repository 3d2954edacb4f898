#!/bin/sh
# inputs.sh - the inputs of the real-program runs (tests/real/run.sh and
# scripts/bench_malloc.sh), made the same every time: a million lines from
# a fixed-seed generator, the first 8 MB of them for xz, and the pthread
# program. Made again only when this script or threads.c is newer.
#
#   tests/real/inputs.sh DIR
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1
mkdir -p "$dir"
me=$root/tests/real/inputs.sh

if [ ! -s "$dir/lines.txt" ] || [ "$me" -nt "$dir/lines.txt" ]; then
	# Park-Miller (x * 16807 mod 2^31 - 1): exact in awk's doubles, so
	# every awk makes the same file. A number, a word of 1-20 letters, an id.
	awk 'BEGIN { x = 12345
		for (i = 0; i < 1000000; i++) {
			x = (x * 16807) % 2147483647; y = (x * 16807) % 2147483647; x = y
			printf "%010d %s line%d\n", x, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, y % 20 + 1), i
		} }' >"$dir/lines.tmp"
	mv "$dir/lines.tmp" "$dir/lines.txt"
	head -c 8388608 "$dir/lines.txt" >"$dir/xz.in"
fi

if [ ! -x "$dir/threads" ] || [ "$root/tests/real/threads.c" -nt "$dir/threads" ]; then
	${HOSTCC:-gcc} -std=gnu11 -O2 -g -Wall -Wextra -pthread -o "$dir/threads" "$root/tests/real/threads.c" -ldl
fi
