/*
 * fs.h - the in-memory file system (tmpfs-like): files by path, each a
 * vm_object whose frames are the file's pages. The object is the page
 * cache: read, write and every mapping of the file (mmap, VM_SHARED and
 * VM_PRIVATE regions) use the same frames, so a write by one is seen by
 * the others at once. There is no disk behind it: msync has nothing to
 * write, and a file lives until it is unlinked and the last holder (an
 * open file, a mapping) lets it go.
 *
 * At boot, fs_init copies every regular file of the initial ramdisk (the
 * ustar archive) into a file of the same path ("/" followed by the
 * archived path). Paths are flat names: "/tmp/a" is one file, and a
 * "directory" is only a prefix the names share. A path is absolute, at
 * most FS_PATH_MAX - 1 bytes (longer is -ENAMETOOLONG), and no part of it
 * between slashes is empty, "." or "..": no "//", "/./" or "/../", and no
 * "/", "/." or "/.." at its end; others are -EINVAL.
 *
 * Above the slab layer (inodes come from kmalloc) and the VMM (their
 * objects); below the processes. Errors are negative errno values
 * (abi/syscall.h). Every call takes the file system's lock; none sleeps.
 * Runs on the host too (tests/host/fs).
 */
#ifndef STRATA_FS_FS_H
#define STRATA_FS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/vmm/vmm.h"
#include "proc/initrd.h"

#define FS_PATH_MAX   256               /* with the NUL */
#define FS_FILES_MAX  512               /* files that may exist at once */
#define FS_FILE_MAX   (1ULL << 30)      /* bytes one file may hold */

struct inode;                           /* opaque: a file */

/*
 * Copy the ramdisk's files in (a file of the same path already there is
 * replaced). Returns the number of files, or the first error: -EINVAL (a
 * bad archive, or an archived name that is not a valid path), -ENOMEM,
 * -ENAMETOOLONG, -ENFILE. What is already in stays; a file copied only in
 * part is removed.
 */
int fs_init(const struct initrd *rd);

/*
 * The file at path, with a reference for the caller (fs_put drops it).
 * With create, a missing file is made, empty; with excl too, an existing
 * one is -EEXIST. Returns 0 and sets *out, or -ENOENT, -EEXIST, -EINVAL
 * (a bad path), -ENAMETOOLONG, -ENFILE (FS_FILES_MAX files), -ENOMEM.
 */
int fs_open(const char *path, bool create, bool excl, struct inode **out);

/* Another reference to an open file (fork, dup). */
void fs_get(struct inode *ino);

/* Drop a reference; an unlinked file goes with its last one (its frames with its last mapping). */
void fs_put(struct inode *ino);

/*
 * Remove path's name: fs_open no longer finds it, and the file goes when
 * its last reference does. 0, -ENOENT, -EINVAL.
 */
int fs_unlink(const char *path);

/*
 * A copy between a page of the file (through the HHDM) and the caller's
 * buffer: copy_to_user / copy_from_user in the kernel, memcpy on the host.
 * Returns 0, or a negative errno (-EFAULT) that ends the read or write.
 * It is called without the file system's lock: it may fault.
 */
typedef int (*fs_copy_fn)(void *dst, const void *src, size_t len);

/*
 * Read up to len bytes at off into buf: the bytes read (0 at or past the
 * end; a hole reads as zeroes), or -EFAULT (nothing read: the copy failed
 * on the first page), -EINVAL, -ENOMEM.
 */
long fs_read(struct inode *ino, uint64_t off, void *buf, size_t len, fs_copy_fn copy);

/*
 * Write len bytes from buf at off, growing the file if they end past it:
 * the bytes written (fewer if memory or the copy ran out part way), or
 * -EFBIG (a byte past FS_FILE_MAX: nothing is written), -ENOMEM, -EFAULT
 * when nothing was written. After a short count or an error the file
 * ends where it did or after the last byte written, whichever is later.
 */
long fs_write(struct inode *ino, uint64_t off, const void *buf, size_t len, fs_copy_fn copy);

/* Make the file size bytes long: 0, -EFBIG. Cut pages leave its mappings' views (vm_object). */
int fs_truncate(struct inode *ino, uint64_t size);

uint64_t fs_size(struct inode *ino);

/* The file's pages, for mmap (the caller takes its own reference with vmo_get). */
struct vm_object *fs_object(struct inode *ino);

/* Call fn for each file that has a name (path, size), in creation order; fn must not call fs_*. */
void fs_for_each(void (*fn)(const char *path, uint64_t size, void *arg), void *arg);

/* Files, and frames their pages hold: for reports and leak checks. */
struct fs_stats {
	uint64_t files;         /* held by a name or an open reference (not by a mapping alone) */
	uint64_t pages;
	uint64_t unlinked;      /* files without a name, kept by a reference */
};
void fs_stats(struct fs_stats *st);

/* Check every invariant (names unique and valid, counts, each object's index); returns problems. */
unsigned fs_check(void);

#endif
