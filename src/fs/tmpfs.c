/*
 * tmpfs.c - the in-memory file system (fs.h): files by path, each one
 * memory object that holds its pages.
 *
 * A file is an inode from kmalloc: its path, the vm_object that is its page
 * cache (the object's size is the file's), the references open files hold,
 * and whether it still has its name. Every inode the file system holds is
 * on one list in creation order; a name is found by walking it (at most
 * FS_FILES_MAX files).
 *
 * Who owns what: the file system holds the object's first reference (the
 * maker's, from vmo_init) while the file has a name or an open reference.
 * When it has neither, the inode leaves the list and that reference is
 * dropped; a mapping may still hold the object, so the inode's memory goes
 * only in the object's release hook, with the last reference of all.
 *
 * Lock order: the file system's lock, then an object's (vmo_page,
 * vmo_resize) and the slab's. The copy between a page and the caller's
 * buffer runs without the lock, on a frame the read or write holds a
 * reference of, so a truncate meanwhile cannot free it under the copy.
 */
#include "fs/fs.h"
#include "abi/syscall.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "mm/arch.h"
#include "mm/failure.h"
#include "mm/slab/slab.h"

struct inode {
	struct vm_object obj;           /* first: the release hook finds the inode from it */
	struct inode *prev, *next;      /* the list, in creation order */
	unsigned refs;                  /* open references: fs_open, fs_get */
	bool linked;                    /* fs_open finds it by path */
	char path[];
};

static struct spinlock fs_lock = SPINLOCK_INIT("fs");
static struct inode *first, *last;
static unsigned nfiles, nunlinked;      /* on the list; of them, without a name */

/* A hole reads from here. */
static const uint8_t zero_page[PAGE_SIZE];

/* A part between slashes that no path may hold: empty, "." or "..". */
static bool bad_part(const char *p, size_t len)
{
	return len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
}

/*
 * 0 if path is a file's path (fs.h) and *len its length; else -EINVAL, or
 * -ENAMETOOLONG if no NUL ends it within FS_PATH_MAX bytes.
 */
static int path_check(const char *path, size_t *len)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	size_t n = 1, part = 1;         /* part: where the current part starts */
	for (; n < FS_PATH_MAX && path[n]; n++) {
		if (path[n] != '/')
			continue;
		if (bad_part(path + part, n - part))
			return -EINVAL;
		part = n + 1;
	}
	if (n == FS_PATH_MAX)
		return -ENAMETOOLONG;
	if (bad_part(path + part, n - part))
		return -EINVAL;
	*len = n;
	return 0;
}

/* The named file at path, or NULL. Called with the lock held. */
static struct inode *lookup(const char *path)
{
	for (struct inode *i = first; i; i = i->next)
		if (i->linked && !strcmp(i->path, path))
			return i;
	return 0;
}

/* The object's last reference is gone, and with it every frame: the inode goes too. */
static void inode_release(struct vm_object *o)
{
	kfree((struct inode *)o);
}

/*
 * Take ino off the list if it has neither a name nor an open reference;
 * true if so, and the caller then drops the file system's reference of its
 * object, after the lock (the release may free memory).
 */
static bool unlist_if_unused(struct inode *ino)
{
	if (ino->refs || ino->linked)
		return false;
	*(ino->prev ? &ino->prev->next : &first) = ino->next;
	*(ino->next ? &ino->next->prev : &last) = ino->prev;
	nfiles--, nunlinked--;
	return true;
}

/* A new empty file at path (len bytes, checked), on the list; NULL if out of memory. Lock held. */
static struct inode *inode_create(const char *path, size_t len)
{
	struct inode *ino = kmalloc(sizeof(*ino) + len + 1);
	if (!ino)
		return 0;
	vmo_init(&ino->obj, 0, inode_release);
	memcpy(ino->path, path, len + 1);
	ino->refs = 0, ino->linked = true;
	ino->prev = last, ino->next = 0;
	*(last ? &last->next : &first) = ino;
	last = ino;
	nfiles++;
	return ino;
}

int fs_open(const char *path, bool create, bool excl, struct inode **out)
{
	size_t len;
	int e = path_check(path, &len);
	if (e)
		return e;
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	struct inode *ino = lookup(path);
	if (ino && create && excl)
		e = -EEXIST;
	else if (!ino && !create)
		e = -ENOENT;
	else if (!ino && nfiles >= FS_FILES_MAX)
		e = -ENFILE;
	else if (!ino && !(ino = inode_create(path, len)))
		e = -ENOMEM;
	if (!e) {
		ino->refs++;
		*out = ino;
	}
	spin_unlock_irqrestore(&fs_lock, flags);
	return e;
}

void fs_get(struct inode *ino)
{
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	if (!ino->refs)
		MM_PANIC("fs", "fs_get of %s, which has no open reference", ino->path);
	ino->refs++;
	spin_unlock_irqrestore(&fs_lock, flags);
}

void fs_put(struct inode *ino)
{
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	if (!ino->refs)
		MM_PANIC("fs", "fs_put of %s, which has no open reference", ino->path);
	ino->refs--;
	bool gone = unlist_if_unused(ino);
	spin_unlock_irqrestore(&fs_lock, flags);
	if (gone)
		vmo_put(&ino->obj);
}

int fs_unlink(const char *path)
{
	size_t len;
	int e = path_check(path, &len);
	if (e)
		return e;
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	struct inode *ino = lookup(path);
	bool gone = false;
	if (ino) {
		ino->linked = false;
		nunlinked++;
		gone = unlist_if_unused(ino);
	}
	spin_unlock_irqrestore(&fs_lock, flags);
	if (gone)
		vmo_put(&ino->obj);
	return ino ? 0 : -ENOENT;
}

static size_t min_size(uint64_t a, uint64_t b)
{
	return (size_t)(a < b ? a : b);
}

long fs_read(struct inode *ino, uint64_t off, void *buf, size_t len, fs_copy_fn copy)
{
	if (!ino || !copy)
		return -EINVAL;
	size_t done = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint64_t flags = spin_lock_irqsave(&fs_lock);
		uint64_t size = ino->obj.size;
		if (pos >= size) {
			spin_unlock_irqrestore(&fs_lock, flags);
			break;
		}
		size_t n = min_size(min_size(PAGE_SIZE - pos % PAGE_SIZE, len - done), size - pos);
		pa_t pa = 0;
		int e = vmo_page(&ino->obj, pos / PAGE_SIZE, false, &pa);
		spin_unlock_irqrestore(&fs_lock, flags);
		if (e && e != VMM_E_NOT_MAPPED)
			return done ? (long)done : -ENOMEM;     /* cannot happen: the size was checked under the lock */
		const uint8_t *src = e ? zero_page : (const uint8_t *)phys_to_virt(pa) + pos % PAGE_SIZE;
		int c = copy((uint8_t *)buf + done, src, n);
		if (!e)
			vmo_page_put(pa);
		if (c)
			return done ? (long)done : c;
		done += n;
	}
	return (long)done;
}

/*
 * Write the n bytes at pos, inside one page, growing the file to pos + n if
 * it ends before: 0, or -ENOMEM or the copy's error with the file's size
 * as it was. A copy that faults part way may have changed some bytes of
 * the page; those past the old end are cut again, those before it stay.
 */
static int write_page(struct inode *ino, uint64_t pos, const uint8_t *src, size_t n, fs_copy_fn copy)
{
	struct vm_object *o = &ino->obj;
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	uint64_t old = o->size;
	if (pos + n > old)
		vmo_resize(o, pos + n);         /* cannot fail: FS_FILE_MAX is far below VMO_MAX_PAGES */
	pa_t pa;
	int e = vmo_page(o, pos / PAGE_SIZE, true, &pa);
	if (e)
		vmo_resize(o, old);             /* the lock was held: nothing else moved it */
	spin_unlock_irqrestore(&fs_lock, flags);
	if (e)
		return -ENOMEM;
	int c = copy((uint8_t *)phys_to_virt(pa) + pos % PAGE_SIZE, src, n);
	vmo_page_put(pa);
	if (c) {
		/* Unless another write or a truncate moved the end meanwhile, it goes back. */
		flags = spin_lock_irqsave(&fs_lock);
		if (old < pos + n && o->size == pos + n)
			vmo_resize(o, old);
		spin_unlock_irqrestore(&fs_lock, flags);
	}
	return c;
}

long fs_write(struct inode *ino, uint64_t off, const void *buf, size_t len, fs_copy_fn copy)
{
	if (!ino || !copy)
		return -EINVAL;
	if (off > FS_FILE_MAX || len > FS_FILE_MAX - off)
		return -EFBIG;
	size_t done = 0;
	while (done < len) {
		uint64_t pos = off + done;
		size_t n = min_size(PAGE_SIZE - pos % PAGE_SIZE, len - done);
		int e = write_page(ino, pos, (const uint8_t *)buf + done, n, copy);
		if (e)
			return done ? (long)done : e;
		done += n;
	}
	return (long)done;
}

int fs_truncate(struct inode *ino, uint64_t size)
{
	if (size > FS_FILE_MAX)
		return -EFBIG;
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	vmo_resize(&ino->obj, size);
	spin_unlock_irqrestore(&fs_lock, flags);
	return 0;
}

uint64_t fs_size(struct inode *ino)
{
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	uint64_t size = ino->obj.size;
	spin_unlock_irqrestore(&fs_lock, flags);
	return size;
}

struct vm_object *fs_object(struct inode *ino)
{
	return &ino->obj;
}

void fs_for_each(void (*fn)(const char *path, uint64_t size, void *arg), void *arg)
{
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	for (struct inode *i = first; i; i = i->next)
		if (i->linked)
			fn(i->path, i->obj.size, arg);
	spin_unlock_irqrestore(&fs_lock, flags);
}

void fs_stats(struct fs_stats *st)
{
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	*st = (struct fs_stats){ .files = nfiles, .unlinked = nunlinked };
	for (struct inode *i = first; i; i = i->next)
		st->pages += __atomic_load_n(&i->obj.pages, __ATOMIC_RELAXED);     /* a fault may add one */
	spin_unlock_irqrestore(&fs_lock, flags);
}

/* The problems of one inode on the list (not counting its name's uniqueness). */
static unsigned check_inode(struct inode *ino, const struct inode *prev)
{
	unsigned problems = 0;
	size_t len;
	if (ino->prev != prev) {
		kprintf("fs: check: %s: its back link is wrong\n", ino->path);
		problems++;
	}
	if (path_check(ino->path, &len)) {
		kprintf("fs: check: a file named \"%s\", not a valid path\n", ino->path);
		problems++;
	}
	if (!ino->refs && !ino->linked) {
		kprintf("fs: check: %s: no name and no reference, still listed\n", ino->path);
		problems++;
	}
	if (!ino->obj.refs || ino->obj.size > FS_FILE_MAX) {
		kprintf("fs: check: %s: object with %u references, %llu bytes\n", ino->path,
			ino->obj.refs, (unsigned long long)ino->obj.size);
		problems++;
	}
	return problems + vmo_check(&ino->obj);
}

unsigned fs_check(void)
{
	unsigned problems = 0, files = 0, unlinked = 0;
	uint64_t flags = spin_lock_irqsave(&fs_lock);
	const struct inode *prev = 0;
	for (struct inode *i = first; i; prev = i, i = i->next) {
		files++;
		unlinked += !i->linked;
		problems += check_inode(i, prev);
		for (struct inode *j = i->next; j && i->linked; j = j->next)
			if (j->linked && !strcmp(i->path, j->path)) {
				kprintf("fs: check: two files named %s\n", i->path);
				problems++;
			}
	}
	if (prev != last || files != nfiles || unlinked != nunlinked || nfiles > FS_FILES_MAX) {
		kprintf("fs: check: counts say %u files (%u unlinked), the list holds %u (%u)\n",
			nfiles, nunlinked, files, unlinked);
		problems++;
	}
	spin_unlock_irqrestore(&fs_lock, flags);
	return problems;
}

static int copy_in(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	return 0;
}

/* Copy one ramdisk file into "/<path>": 0 or a negative errno (a half-copied file is removed). */
static int init_file(const struct initrd_file *f)
{
	char path[FS_PATH_MAX];
	size_t len = strlen(f->path);
	if (len + 2 > sizeof(path))
		return -ENAMETOOLONG;
	path[0] = '/';
	memcpy(path + 1, f->path, len + 1);
	struct inode *ino;
	int e = fs_open(path, true, false, &ino);
	if (e)
		return e;
	fs_truncate(ino, 0);
	long n = fs_write(ino, 0, f->data, f->size, copy_in);
	fs_put(ino);
	if (n == (long)f->size)
		return 0;
	fs_unlink(path);
	return n < 0 ? (int)n : -ENOMEM;
}

int fs_init(const struct initrd *rd)
{
	struct initrd_file f;
	size_t cursor = 0;
	int files = 0, r;
	while ((r = initrd_next(rd, &cursor, &f)) == 1) {
		int e = init_file(&f);
		if (e) {
			kprintf("fs: init: /%s: error %d\n", f.path, -e);
			return e;
		}
		files++;
	}
	if (r < 0) {
		kprintf("fs: init: the ramdisk: %s after %d files\n", initrd_error_str(-r), files);
		return -EINVAL;
	}
	return files;
}
