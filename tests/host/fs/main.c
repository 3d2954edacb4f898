/*
 * main.c - the file system's host test: src/fs over the real slab, VMM,
 * paging and buddy, on fake RAM, under ASan and UBSan.
 */
#include <string.h>
#include "fs_test.h"
#include "mm_boot.h"
#include "mm/slab/slab.h"

static uint64_t base_free, base_objects;

void fs_baseline(void)
{
	pmm_fail_nth(0);
	slab_fail_nth(0);
	slab_reap();
	pmm_drain_all_caches();
	base_free = pmm_free_count();
	base_objects = slab_live_objects();
}

/* Every file gone, every inode and frame back, nothing broken. */
void fs_expect_back(void)
{
	struct fs_stats st;
	pmm_fail_nth(0);
	slab_fail_nth(0);
	fs_stats(&st);
	CHECK_EQ(st.files, 0);
	CHECK_EQ(st.pages, 0);
	CHECK_EQ(st.unlinked, 0);
	CHECK_EQ(fs_check(), 0);
	slab_reap();
	pmm_drain_all_caches();
	CHECK_EQ(slab_live_objects(), base_objects);
	CHECK_EQ(pmm_free_count(), base_free);
	CHECK_EQ(slab_check(), 0);
	CHECK_EQ(pmm_check(), 0);
}

int copy_ok(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	return 0;
}

static unsigned fail_from, copies;

void copy_fail_from(unsigned n)
{
	fail_from = n, copies = 0;
}

int copy_failing(void *dst, const void *src, size_t len)
{
	if (++copies >= fail_from)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

struct inode *open_ok(const char *path, bool create)
{
	struct inode *ino = NULL;
	int e = fs_open(path, create, false, &ino);
	if (e)
		printf("#   fs_open(%s): %d\n", path, e);
	CHECK_EQ(e, 0);
	return ino;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	host_mm_boot(64u << 20, true);
	slab_init();
	api_tests();
	model_tests();
	inject_tests();
	init_tests();
	return check_finish();
}
