#!/bin/sh
# bench_instr.sh - the kernel heap's loops (bench/slab.c) counted in
# instructions, not time: glibc malloc, jemalloc, mimalloc and tcmalloc
# (LD_PRELOAD) and Strata's host build, each run once under callgrind,
# which counts every instruction of the timed part of each loop
# (bench/host/adapter.c, -DBENCH_CALLGRIND). No machine noise moves these
# figures; the kernel's own loops under QEMU -icount (make bench's kernel
# boot, unit=instr) are the same loops counted the same way, so
# scripts/bench_table.py sets the two side by side.
# Prints one line per loop:
#   BENCHINSTR name=<loop> glibc=<instr/op> jemalloc=... mimalloc=... tcmalloc=... strata_host=...
# Usage: scripts/bench_instr.sh   (make bench calls it; needs valgrind)
set -eu
cd "$(dirname "$0")/.."
B=build/bench
mkdir -p "$B/callgrind"
command -v valgrind >/dev/null || { echo "# bench_instr: no valgrind (apt-get install valgrind): skipped"; exit 0; }
CC=${HOSTCC:-gcc}
CFLAGS="-std=gnu11 -O2 -g -Isrc -I. -Itests/host/common -DSTRATA_HOST -DBENCH_CALLGRIND"
LIBS=$(ls src/lib/*.c | grep -v kstring.c)
SRCS="bench/slab.c bench/host/slab_bench.c bench/host/adapter.c $(ls src/mm/*.c src/mm/buddy/*.c src/mm/paging/*.c src/mm/vmm/*.c src/mm/slab/*.c) src/boot/bootinfo.c $LIBS tests/host/common/fake_arch.c"
$CC $CFLAGS -w -o $B/slab_strata_cg $SRCS
$CC $CFLAGS -DBENCH_SLAB_LIBC -o $B/slab_libc_cg bench/slab.c bench/host/slab_bench.c bench/host/adapter.c

. scripts/allocators.sh

rm -rf $B/callgrind/*
count() {       # name binary [preload]
	d=$B/callgrind/$1
	mkdir -p "$d"
	if [ -n "${3:-}" ]; then
		LD_PRELOAD=$3 valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$d/out.%p" \
			"$2" > "$d/stdout" 2> "$d/stderr" || echo "# bench_instr: $1 failed (see $d/stderr)"
	else
		valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$d/out.%p" \
			"$2" > "$d/stdout" 2> "$d/stderr" || echo "# bench_instr: $1 failed (see $d/stderr)"
	fi
}
count glibc $B/slab_libc_cg
for pair in jemalloc:$JE mimalloc:$MI tcmalloc:$TC; do
	name=${pair%%:*} lib=${pair#*:}
	[ -e "$lib" ] && count "$name" $B/slab_libc_cg "$lib"
done
count strata_host $B/slab_strata_cg

/usr/bin/python3 - "$B/callgrind" <<'PY'
import os, re, sys
root = sys.argv[1]
allocs = ['glibc', 'jemalloc', 'mimalloc', 'tcmalloc', 'strata_host']
per = {}    # loop -> alloc -> instructions per op
for a in allocs:
    d = os.path.join(root, a)
    if not os.path.isdir(d):
        continue
    ops = {}
    for line in open(os.path.join(d, 'stdout')):
        m = re.match(r'BENCH name=(\S+) ops=(\d+)', line)
        if m:
            ops[m.group(1)] = int(m.group(2))
    for f in os.listdir(d):
        if not f.startswith('out.'):
            continue
        text = open(os.path.join(d, f)).read()
        m = re.search(r'^desc: Trigger: Client Request: (\S+)', text, re.M)
        t = re.search(r'^(?:totals|summary): (\d+)', text, re.M)
        if m and t and m.group(1) in ops:
            per.setdefault(m.group(1), {})[a] = int(t.group(1)) / ops[m.group(1)]
print('# instructions per op, counted by callgrind on the host (the timed part of each loop)')
for loop in sorted(per, key=lambda l: (not l.startswith('slab_hot'), int(l.rsplit('_', 1)[1]) if l.rsplit('_', 1)[1].isdigit() else 0, l)):
    if loop == 'slab_efficiency':
        continue
    by = per[loop]
    print('BENCHINSTR name=%s %s' % (loop, ' '.join('%s=%.1f' % (a, by[a]) for a in allocs if a in by)))
PY
