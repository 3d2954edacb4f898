/*
 * file.c - a process's open files: descriptors onto the in-memory file
 * system (fs/fs.h), and the calls on them: open, close, read, write,
 * lseek, ftruncate, unlink.
 *
 * Descriptors 0-2 are the console (1 and 2 write to it; nothing reads
 * it); 3 to STRATA_OPEN_MAX - 1 index the process's table. An open file
 * (struct file: the inode, the offset, the access mode) is shared by the
 * descriptors that fork copies, as POSIX says, and goes with the last.
 * Reads and writes copy straight between the file's page-cache frames and
 * user memory, without a buffer between.
 */
#include "proc/proc.h"
#include "proc/uaccess.h"
#include "fs/fs.h"
#include "abi/syscall.h"
#include "mm/slab/slab.h"

#define FIRST_FD 3

struct file {
	struct inode *ino;
	uint64_t off;
	unsigned flags;         /* O_ACCMODE bits and O_APPEND */
	unsigned refs;          /* descriptors naming it, in any process */
};

static bool readable(const struct file *f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
static bool writable(const struct file *f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

/* The open file behind fd in p, or NULL. */
static struct file *file_of(struct proc *p, uint64_t fd)
{
	return fd >= FIRST_FD && fd < STRATA_OPEN_MAX ? p->files[fd] : NULL;
}

static void file_drop(struct file *f)
{
	if (--f->refs)
		return;
	fs_put(f->ino);
	kfree(f);
}

long sys_open(uint64_t upath, uint64_t flags)
{
	struct proc *p = proc_current();
	const uint64_t known = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND;
	char path[FS_PATH_MAX];
	if ((flags & ~known) || (flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	long r = copy_string_from_user(path, upath, sizeof(path));
	if (r < 0)
		return r;
	int fd = FIRST_FD;
	while (fd < STRATA_OPEN_MAX && p->files[fd])
		fd++;
	if (fd == STRATA_OPEN_MAX)
		return -EMFILE;
	struct file *f = kmalloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = (struct file){ .flags = (unsigned)flags & (O_ACCMODE | O_APPEND), .refs = 1 };
	int e = fs_open(path, flags & O_CREAT, flags & O_EXCL, &f->ino);
	if (!e && (flags & O_TRUNC) && writable(f) && (e = fs_truncate(f->ino, 0)))
		fs_put(f->ino);
	if (e) {
		kfree(f);
		return e;
	}
	p->files[fd] = f;
	return fd;
}

long sys_close(uint64_t fd)
{
	struct proc *p = proc_current();
	struct file *f = file_of(p, fd);
	if (!f)
		return -EBADF;
	p->files[fd] = NULL;
	file_drop(f);
	return 0;
}

/* fs_copy_fn for read: from a page of the file to user memory. */
static int to_user(void *dst, const void *src, size_t len)
{
	return copy_to_user((uint64_t)dst, src, len) ? -EFAULT : 0;
}

/* fs_copy_fn for write: from user memory to a page of the file. */
static int from_user(void *dst, const void *src, size_t len)
{
	return copy_from_user(dst, (uint64_t)src, len) ? -EFAULT : 0;
}

long sys_read(uint64_t fd, uint64_t buf, uint64_t len)
{
	struct file *f = file_of(proc_current(), fd);
	if (!f || !readable(f))
		return -EBADF;
	if (!user_range_ok(buf, len))
		return -EFAULT;
	long n = fs_read(f->ino, f->off, (void *)buf, len, to_user);
	if (n > 0)
		f->off += (uint64_t)n;
	return n;
}

/* write() to a file (fds 1 and 2 are the console's: syscall.c). */
long file_write(uint64_t fd, uint64_t buf, uint64_t len)
{
	struct file *f = file_of(proc_current(), fd);
	if (!f || !writable(f))
		return -EBADF;
	if (!user_range_ok(buf, len))
		return -EFAULT;
	if (f->flags & O_APPEND)
		f->off = fs_size(f->ino);
	long n = fs_write(f->ino, f->off, (const void *)buf, len, from_user);
	if (n > 0)
		f->off += (uint64_t)n;
	return n;
}

long sys_lseek(uint64_t fd, uint64_t off, uint64_t whence)
{
	if (fd < FIRST_FD)
		return fd <= 2 ? -ESPIPE : -EBADF;
	struct file *f = file_of(proc_current(), fd);
	if (!f)
		return -EBADF;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)f->off
		     : whence == SEEK_END ? (int64_t)fs_size(f->ino) : -1;
	if (base < 0)
		return -EINVAL;
	int64_t to = base + (int64_t)off;
	if (((int64_t)off < 0 && to > base) || ((int64_t)off > 0 && to < base) || to < 0)
		return -EINVAL;
	f->off = (uint64_t)to;
	return to;
}

long sys_ftruncate(uint64_t fd, uint64_t len)
{
	struct file *f = file_of(proc_current(), fd);
	if (!f)
		return -EBADF;
	if (!writable(f) || (int64_t)len < 0)
		return -EINVAL;
	return fs_truncate(f->ino, len);
}

long sys_unlink(uint64_t upath)
{
	char path[FS_PATH_MAX];
	long r = copy_string_from_user(path, upath, sizeof(path));
	return r < 0 ? r : fs_unlink(path);
}

/*
 * The file behind fd for mmap, with the access the mapping needs checked:
 * -EBADF if fd is not open, -EACCES if not open for reading, or (shared
 * and writable) for writing. *can_write: open for writing.
 */
int file_for_mmap(uint64_t fd, bool shared_write, struct inode **ino, bool *can_write)
{
	struct file *f = file_of(proc_current(), fd);
	if (!f)
		return -EBADF;
	if (!readable(f) || (shared_write && !writable(f)))
		return -EACCES;
	*ino = f->ino;
	*can_write = writable(f);
	return 0;
}

/* The child shares each of the parent's open files (and their offsets). */
void files_fork(struct proc *parent, struct proc *child)
{
	for (unsigned fd = FIRST_FD; fd < STRATA_OPEN_MAX; fd++)
		if ((child->files[fd] = parent->files[fd]))
			child->files[fd]->refs++;
}

void files_close_all(struct proc *p)
{
	for (unsigned fd = FIRST_FD; fd < STRATA_OPEN_MAX; fd++)
		if (p->files[fd]) {
			file_drop(p->files[fd]);
			p->files[fd] = NULL;
		}
}
