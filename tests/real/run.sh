#!/bin/sh
# run.sh - real Linux programs under the user heap, reported as TAP.
#
#   tests/real/run.sh            (build/host/real_programs runs it)
#   STRATA_MALLOC_SO=/path/lib.so tests/real/run.sh    (another library)
#
# Each case runs one program twice, plain (glibc's malloc) and with
# LD_PRELOAD=build/libstrata_malloc.so, in the same scratch directory (so
# a path the program records, such as DWARF's compilation directory, is the
# same), and passes when the preloaded run exits 0 and its standard output
# and every file it wrote are byte for byte the plain run's. LD_DEBUG
# shows the dynamic linker binding malloc and free to the library, so the
# plain allocator cannot have served the run unseen. A crash under the
# library is the library's bug: the case prints the command, the end of
# its stderr and a gdb backtrace. Outputs stay in build/real/<case>/.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${STRATA_MALLOC_SO:-$root/build/libstrata_malloc.so}
work=$root/build/real
in=$work/in
limit=${STRATA_REAL_TIMEOUT:-90}    # seconds per run: a hang fails, not the harness
n=0
failed=0

"$root/tests/real/inputs.sh" "$in" || { echo "1..0"; echo "not ok 1 real_inputs # could not make the inputs"; exit 1; }

ms() { date +%s%N | cut -c1-13; }

# run DIR MODE CMD... : CMD in DIR/run, then DIR/run becomes DIR/MODE.
# Sets rc and secs.
run() {
	d=$1 mode=$2
	shift 2
	rm -rf "$d/run" "$d/$mode" "$d/ld.$mode".*
	mkdir -p "$d/run"
	t0=$(ms)
	if [ "$mode" = plain ]; then
		(cd "$d/run" && exec timeout "$limit" "$@" >stdout 2>"$d/$mode.err")
	else
		(cd "$d/run" && LD_PRELOAD=$lib LD_DEBUG=bindings LD_DEBUG_OUTPUT=$d/ld.$mode \
			exec timeout "$limit" "$@" >stdout 2>"$d/$mode.err")
	fi
	rc=$?
	secs=$(echo "$t0 $(ms)" | awk '{ printf "%.2f", ($2 - $1) / 1000 }')
	mv "$d/run" "$d/$mode"
}

# Bound to the library: the program's own malloc and free (WHO, the
# object that does the work: cc1 for gcc) and libc's resolved to it, and
# no object's malloc to libc (LD_DEBUG writes one file per process).
bound() {
	d=$1 who=$2
	to="to [^ ]*$(basename "$lib") \[0\]: normal symbol"
	cat "$d/ld.preload".* >"$d/bindings.txt" 2>/dev/null
	grep -q "binding file [^ ]*$who \[0\] $to \`malloc'" "$d/bindings.txt" &&
		grep -q "binding file [^ ]*$who \[0\] $to \`free'" "$d/bindings.txt" &&
		grep -q "binding file [^ ]*/libc\.so\.6 \[0\] $to \`malloc'" "$d/bindings.txt" &&
		! grep -q "to [^ ]*/libc\.so\.6 \[0\]: normal symbol \`malloc'" "$d/bindings.txt"
}

# What a crash looked like: the command, its stderr, gdb's backtrace.
explain() {
	d=$1
	shift
	echo "# command: (cd $d/preload && LD_PRELOAD=$lib $*)"
	tail -n 15 "$d/preload.err" | sed 's/^/# stderr: /'
	if [ "$rc" -gt 128 ] && [ "$rc" != 124 ] && command -v gdb >/dev/null; then
		(cd "$d/preload" && timeout 120 gdb -batch -q -ex "set environment LD_PRELOAD=$lib" \
			-ex 'set follow-fork-mode child' -ex run -ex bt -ex 'info registers rip' \
			--args "$@" </dev/null 2>&1 | grep -v '^\[' | tail -n 30 | sed 's/^/# gdb: /')
	fi
}

# check NAME WHO CMD... : one case, one TAP line; WHO is the program
# whose malloc must be the library's.
check() {
	name=$1 who=$2
	shift 2
	n=$((n + 1))
	d=$work/$name
	mkdir -p "$d"
	run "$d" plain "$@"
	if [ "$rc" != 0 ]; then
		tail -n 10 "$d/plain.err" | sed 's/^/# /'
		echo "not ok $n $name # the plain run failed (exit $rc): not the library's doing"
		failed=1
		return
	fi
	plain_secs=$secs
	run "$d" preload "$@"
	if [ "$rc" != 0 ]; then
		why="exit status $rc"
		[ "$rc" = 124 ] && why="timed out after $limit s"
		[ "$rc" -gt 128 ] && [ "$rc" != 124 ] && why="killed by signal $((rc - 128))"
		explain "$d" "$@"
		echo "not ok $n $name # under the library: $why"
		failed=1
	elif ! diff -r "$d/plain" "$d/preload" >"$d/diff.txt" 2>&1; then
		head -n 5 "$d/diff.txt" | sed 's/^/# /'
		echo "not ok $n $name # output differs under the library (see $d/diff.txt)"
		failed=1
	elif ! bound "$d" "$who"; then
		echo "not ok $n $name # same output, but LD_DEBUG does not show $who's malloc/free bound to $lib ($d/bindings.txt)"
		failed=1
	elif [ "$(find "$d/preload" -type f -size +0 | wc -l)" = 0 ]; then
		echo "not ok $n $name # no output to compare: the case tests nothing"
		failed=1
	else
		files=$(find "$d/preload" -type f | wc -l)
		bytes=$(find "$d/preload" -type f -exec cat {} + | wc -c)
		echo "ok $n $name # $files files, $bytes bytes identical; plain ${plain_secs} s, preloaded $secs s (with LD_DEBUG)"
	fi
}

# The kernel's own flags (Makefile KCFLAGS): the object gcc makes for the kernel.
kflags="-std=gnu11 -O2 -g -Wall -Wextra -ffreestanding -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone
	-mno-sse -mno-sse2 -mno-mmx -mno-80387 -mgeneral-regs-only -fno-stack-protector
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-strict-aliasing -I$root/src -I$root"

echo "1..8"
if [ ! -e "$lib" ]; then
	echo "not ok 1 real_programs # no $lib (make $lib)"
	exit 1
fi
start=$(ms)
check python_dicts python3 /usr/bin/python3 "$root/tests/real/dicts.py"
# pymalloc serves Python's objects up to 512 bytes from its own arenas;
# PYTHONMALLOC=malloc sends every one of them to malloc instead.
check python_dicts_malloc python3 env PYTHONMALLOC=malloc /usr/bin/python3 "$root/tests/real/dicts.py"
check sort_1M_lines sort env LC_ALL=C sort --parallel=2 "$in/lines.txt"
# shellcheck disable=SC2086
check gcc_O2_kernel_files cc1 gcc $kflags -c "$root/src/mm/buddy/buddy.c" "$root/src/mm/slab/cache.c" \
	"$root/src/mm/vmm/region_tree.c" "$root/src/mm/buddy/pmm_boot.c"
# The whole kernel, make -j2 driving gcc, as and ld: the ELF and every object
# the same. Its own make, not the one that may be running this script.
check kernel_build cc1 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j2 -C "$root" B="$work/kernel_build/run/b" \
	"$work/kernel_build/run/b/strata.elf"
check xz_T2_compress xz xz -T2 --block-size=1MiB -6 -c "$in/xz.in"
check xz_T2_decompress xz xz -T2 -dc "$work/xz_T2_compress/plain/stdout"
check pthread_cross_free threads "$in/threads"
# dladdr's word, besides LD_DEBUG's: the pthread program's malloc is the library's.
grep -q "malloc from .*$(basename "$lib")" "$work/pthread_cross_free/preload.err" ||
	{ echo "# pthread_cross_free: dladdr(malloc) did not name $lib"; failed=1; }
echo "# real programs: $(echo "$start $(ms)" | awk '{ printf "%.1f", ($2 - $1) / 1000 }') s in all, library $lib"
exit $failed
