# allocators.sh - sourced by bench_alloc.sh and bench_malloc.sh: where
# Debian puts jemalloc, mimalloc and tcmalloc (JE, MI, TC), installed if
# missing when we are root and apt is free (else the comparison skips them).
LIBDIR=/usr/lib/x86_64-linux-gnu
JE=$LIBDIR/libjemalloc.so.2
MI=$LIBDIR/libmimalloc.so.2
TC=$LIBDIR/libtcmalloc.so.4
if [ ! -e $JE ] || [ ! -e $MI ] || [ ! -e $TC ]; then
	if [ "$(id -u)" = 0 ] && ! pgrep -x apt >/dev/null && ! pgrep -x apt-get >/dev/null; then
		apt-get install -y -q libjemalloc2 libmimalloc2.0 libgoogle-perftools4 >/dev/null 2>&1 || true
	fi
fi
