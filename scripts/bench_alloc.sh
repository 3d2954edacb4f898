#!/bin/sh
# bench_alloc.sh - the kernel heap's loops (bench/slab.c) on the host, against
# glibc malloc, jemalloc, mimalloc and tcmalloc: one process per allocator
# (LD_PRELOAD), taking turns ROUNDS times so machine noise hits all alike;
# prints the median ns per op of each and the ratio to the fastest.
# Usage: scripts/bench_alloc.sh [ROUNDS]   (make bench calls it)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
B=build/bench
mkdir -p "$B"
CC=${HOSTCC:-gcc}
CFLAGS="-std=gnu11 -O2 -g -Isrc -I. -Itests/host/common -DSTRATA_HOST"
LIBS=$(ls src/lib/*.c | grep -v kstring.c)
SRCS="bench/slab.c bench/host/slab_bench.c bench/host/adapter.c $(ls src/mm/*.c src/mm/buddy/*.c src/mm/paging/*.c src/mm/vmm/*.c src/mm/slab/*.c) src/boot/bootinfo.c $LIBS tests/host/common/fake_arch.c"
$CC $CFLAGS -w -o $B/slab_strata $SRCS
$CC $CFLAGS -DBENCH_SLAB_LIBC -o $B/slab_libc bench/slab.c bench/host/slab_bench.c bench/host/adapter.c

. scripts/allocators.sh

OUT=$B/alloc_cmp.txt
: > $OUT
for r in $(seq 1 "$ROUNDS"); do
	$B/slab_strata | sed 's/^/strata /' >> $OUT
	$B/slab_libc | sed 's/^/glibc /' >> $OUT
	for pair in jemalloc:$JE mimalloc:$MI tcmalloc:$TC; do
		name=${pair%%:*} lib=${pair#*:}
		[ -e "$lib" ] && LD_PRELOAD=$lib $B/slab_libc | sed "s/^/$name /" >> $OUT
	done
done
grep 'name=slab_efficiency' $OUT | head -1 | sed 's/^strata /# strata /'
/usr/bin/python3 - "$OUT" <<'PY'
import sys, re, statistics
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\S+) BENCH name=(\S+) .*ns_per_op=([\d.]+)', line)
    if m and m.group(2) != 'slab_efficiency':
        rows.setdefault(m.group(2), {}).setdefault(m.group(1), []).append(float(m.group(3)))
allocs = ['strata', 'glibc', 'jemalloc', 'mimalloc', 'tcmalloc']
print('# ns per op (median of rounds); ratio = strata / fastest other')
print('%-18s' % 'loop' + ''.join('%10s' % a for a in allocs) + '%8s' % 'ratio')
for name, by in rows.items():
    med = {a: statistics.median(v) for a, v in by.items()}
    others = [med[a] for a in allocs[1:] if a in med]
    ratio = med['strata'] / min(others) if others and 'strata' in med else float('nan')
    print('%-18s' % name + ''.join('%10s' % ('%.2f' % med[a] if a in med else '-') for a in allocs) + '%8.2f' % ratio)
    print('BENCHCMP name=%s %s ratio=%.2f' % (name, ' '.join('%s=%.2f' % (a, med[a]) for a in allocs if a in med), ratio))
PY
