#!/bin/sh
# bench_malloc.sh - the user heap (build/libstrata_malloc.so) against glibc
# malloc, jemalloc, mimalloc and tcmalloc on Linux, by LD_PRELOAD: the
# loops of bench/host/malloc_loops.c (ns per op) and the real programs of
# tests/real/ (wall time and peak RSS, /usr/bin/time -f '%e %M'). The
# allocators take turns, ROUNDS times, each round starting with the next
# one, so machine noise hits all alike; prints the median of each, its
# ratio to the best of the row, and a geometric mean of the ratios per
# allocator. Printed, never judged. A run that fails or prints other
# bytes than glibc's run is shown as "fail" and left out of the means.
# Usage: scripts/bench_malloc.sh [ROUNDS]   (make bench calls it)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
B=build/bench
IN=build/real/in
mkdir -p "$B/malloc_run"
CC=${HOSTCC:-gcc}
$CC -std=gnu11 -O2 -g -Wall -Wextra -pthread -o $B/malloc_loops bench/host/malloc_loops.c
tests/real/inputs.sh $IN
[ -e build/libstrata_malloc.so ] || { echo "bench_malloc: no build/libstrata_malloc.so (make build/libstrata_malloc.so)"; exit 1; }

. scripts/allocators.sh
ALLOCS="glibc: strata:$PWD/build/libstrata_malloc.so jemalloc:$JE mimalloc:$MI tcmalloc:$TC"

kflags="-std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -mno-sse
	-mno-sse2 -mno-mmx -mno-80387 -mgeneral-regs-only -fno-stack-protector -fno-omit-frame-pointer
	-fno-asynchronous-unwind-tables -fno-strict-aliasing -I$PWD/src -I$PWD"
root=$PWD

# real NAME LIB PROG CMD... : one timed run in $B/malloc_run; its output
# (stdout and the files it wrote) must be glibc's, byte for byte.
real() {
	name=$1 lib=$2 prog=$3
	shift 3
	run=$B/malloc_run/$prog
	rm -rf "$run" && mkdir -p "$run"
	if (cd "$run" && LD_PRELOAD=$lib /usr/bin/time -o ../time.txt -f '%e %M' "$@" >stdout 2>../stderr); then
		if [ "$name" = glibc ]; then
			rm -rf "$B/malloc_ref/$prog" && mkdir -p "$B/malloc_ref" && cp -r "$run" "$B/malloc_ref/$prog"
		fi
		if diff -r -q "$run" "$B/malloc_ref/$prog" >/dev/null 2>&1; then
			echo "$name REAL name=$prog $(awk '{ print "secs=" $1 " rss_kb=" $2 }' $B/malloc_run/time.txt)"
			return
		fi
	fi
	echo "$name FAIL name=$prog"
	echo "# $name failed $prog: $(tail -n 2 $B/malloc_run/stderr | tr '\n' ' ' | cut -c1-160)"
}

OUT=$B/malloc_cmp.txt
: >$OUT
n=$(echo $ALLOCS | wc -w)
for r in $(seq 1 "$ROUNDS"); do
	# Round r starts with allocator r: each goes first once in a while.
	order=$(echo $ALLOCS | tr ' ' '\n' | awk -v n="$n" -v r="$r" '{ a[NR] = $0 } END { for (i = 0; i < n; i++) print a[(r - 1 + i) % n + 1] }')
	for pair in $order; do
		name=${pair%%:*} lib=${pair#*:}
		[ -z "$lib" ] || [ -e "$lib" ] || continue
		{
			if LD_PRELOAD=$lib $B/malloc_loops 0.5 >$B/loops.txt 2>/dev/null; then
				sed "s/^/$name /" $B/loops.txt
			else
				echo "$name FAIL name=loops"
			fi
			real $name "$lib" python_dicts /usr/bin/python3 "$root/tests/real/dicts.py"
			real $name "$lib" python_dicts_malloc env PYTHONMALLOC=malloc /usr/bin/python3 "$root/tests/real/dicts.py"
			real $name "$lib" sort_1M env LC_ALL=C sort --parallel=2 "$root/$IN/lines.txt"
			# shellcheck disable=SC2086
			real $name "$lib" gcc_O2 gcc $kflags -c "$root/src/mm/buddy/buddy.c" "$root/src/mm/slab/cache.c" \
				"$root/src/mm/vmm/region_tree.c" "$root/src/mm/buddy/pmm_boot.c"
			real $name "$lib" xz_T2 xz -T2 --block-size=1MiB -6 -c "$root/$IN/xz.in"
			real $name "$lib" threads "$root/$IN/threads"
		} >>$OUT
	done
done

/usr/bin/python3 - "$OUT" <<'PY'
import math, re, statistics, sys
allocs = ['glibc', 'strata', 'jemalloc', 'mimalloc', 'tcmalloc']
rows, failed, notes, cmp, seen = {}, set(), [], [], set()    # rows[(kind, name)][alloc] = [values]
for line in open(sys.argv[1]):
    f = line.split()
    if line.startswith('#'):                    # a failure's words, once per allocator and program
        key = ' '.join(f[:4])
        if key not in seen:
            seen.add(key)
            notes.append(line)
    if len(f) < 3:
        continue
    a, kv = f[0], dict(x.split('=', 1) for x in f[2:] if '=' in x)
    if f[1] == 'BENCH':
        rows.setdefault(('ns', kv['name']), {}).setdefault(a, []).append(float(kv['ns_per_op']))
    elif f[1] == 'REAL':
        rows.setdefault(('s', kv['name']), {}).setdefault(a, []).append(float(kv['secs']))
        rows.setdefault(('KB', kv['name']), {}).setdefault(a, []).append(float(kv['rss_kb']))
    elif f[1] == 'FAIL':
        failed.add((a, kv['name']))
present = [a for a in allocs if any(a in by for by in rows.values()) or any(x[0] == a for x in failed)]
ratios = {(a, g): [] for a in present for g in ('time', 'rss')}
print('# user heap vs the others: median of rounds; (x) = ratio to the best of the row; fail = crashed or wrong output')
print('%-26s' % 'row' + ''.join('%17s' % a for a in present))
for kind in ('ns', 's', 'KB'):
    for (k, name), by in rows.items():
        if k != kind:
            continue
        med = {a: statistics.median(v) for a, v in by.items()
               if (a, 'loops' if kind == 'ns' else name) not in failed}
        best = min(med.values()) if med else float('nan')
        cells = []
        for a in present:
            if a in med:
                r = med[a] / best if best > 0 else 1.0
                ratios[(a, 'rss' if kind == 'KB' else 'time')].append(r)
                v = '%.2f' % med[a] if kind != 'KB' else '%d' % med[a]
                cells.append('%17s' % ('%s (%.2f)' % (v, r)))
            else:
                cells.append('%17s' % 'fail')
        label = {'ns': '%s ns/op', 's': '%s wall s', 'KB': '%s peak KB'}[kind] % name
        print('%-26s' % label + ''.join(cells))
        cmp.append('MALLOCCMP kind=%s name=%s %s' % (kind, name, ' '.join('%s=%g' % (a, med[a]) for a in present if a in med)))
for g, what in (('time', 'geomean time ratio'), ('rss', 'geomean peak-RSS ratio')):
    cells = []
    for a in present:
        v = ratios[(a, g)]
        cells.append('%17s' % ('%.2f' % math.exp(sum(map(math.log, v)) / len(v)) if v else '-'))
    print('%-26s' % what + ''.join(cells))
print(''.join(notes), end='')
print('\n'.join(cmp))
PY
