/* fs_test.h - the file system's host tests: set-up and helpers they share. */
#ifndef STRATA_TESTS_FS_TEST_H
#define STRATA_TESTS_FS_TEST_H

#include <stdint.h>
#include <stddef.h>
#include "check.h"
#include "abi/syscall.h"
#include "fs/fs.h"
#include "mm/arch.h"

/* Note the frames and heap objects in use now; fs_expect_back says whether they came back. */
void fs_baseline(void);
void fs_expect_back(void);

/* Copy callbacks: plain memcpy, and one that fails (-EFAULT) from its n-th call on (1 = the first). */
int copy_ok(void *dst, const void *src, size_t len);
int copy_failing(void *dst, const void *src, size_t len);
void copy_fail_from(unsigned n);

/* Open (or make) path, expecting success. */
struct inode *open_ok(const char *path, bool create);

void api_tests(void);
void model_tests(void);
void inject_tests(void);
void init_tests(void);

#endif
