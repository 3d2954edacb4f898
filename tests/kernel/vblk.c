/*
 * vblk.c - the virtio-blk driver against the disk QEMU gives (harness boot
 * "vblk-bios-128M-tcg": a 16 MiB image, build/swap.img). Without a disk
 * every test skips and says so. Buffers are frames from the buddy, given
 * back by each test (the runner checks). vblk.require=1 on the command
 * line (the harness's boot gives it) makes a missing disk a failure, so a
 * driver that fails to start cannot pass as skipped.
 */
#include "kernel/ktest.h"
#include "kernel/cmdline.h"
#include "abi/syscall.h"
#include "drivers/virtio/virtio_blk.h"
#include "lib/kstring.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"

#define NO_DISK "no virtio-blk disk up on this machine (the harness's vblk boot adds one)"
#define SECT VBLK_SECTOR_SIZE
#define BUF_ORDER 5                     /* 128 KiB: 256 sectors, twice the bounce buffer */
#define BUF_SECTORS ((PAGE_SIZE << BUF_ORDER) / SECT)

/* A pattern that differs in every word of every sector, and with the seed. */
static void fill(uint8_t *buf, uint64_t sector, unsigned count, uint64_t seed)
{
	uint64_t *w = (uint64_t *)buf;
	for (uint64_t i = 0; i < (uint64_t)count * SECT / 8; i++) {
		uint64_t x = (sector * (SECT / 8) + i) ^ seed;
		x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 29;
		w[i] = x;
	}
}

/* The first byte where buf differs from the pattern, or -1. */
static long mismatch(const uint8_t *buf, uint64_t sector, unsigned count, uint64_t seed, uint8_t *scratch)
{
	fill(scratch, sector, count, seed);
	for (size_t i = 0; i < (size_t)count * SECT; i++)
		if (buf[i] != scratch[i]) {
			kprintf("# vblk: sector %lu byte %lu: read 0x%x, wrote 0x%x\n", sector + i / SECT,
				(unsigned long)(i % SECT), buf[i], scratch[i]);
			return (long)i;
		}
	return -1;
}

struct bufs { pa_t pa[3]; uint8_t *out, *in, *scratch; };

static int bufs_get(struct bufs *b)
{
	for (int i = 0; i < 3; i++)
		if ((b->pa[i] = pmm_alloc(BUF_ORDER, 0)) == PMM_NO_FRAME) {
			while (i--)
				pmm_free(b->pa[i], BUF_ORDER);
			return 0;
		}
	b->out = phys_to_virt(b->pa[0]), b->in = phys_to_virt(b->pa[1]), b->scratch = phys_to_virt(b->pa[2]);
	return 1;
}

static void bufs_put(struct bufs *b)
{
	for (int i = 0; i < 3; i++)
		pmm_free(b->pa[i], BUF_ORDER);
}

KTEST(vblk, disk_is_up)
{
	if (!vblk_sectors()) {
		KT_ASSERT(cmdline_int("vblk.require", 0) != 1);   /* the vblk: lines above say why */
		KT_SKIP(NO_DISK);
	}
	kprintf("# vblk: %lu sectors, flush %s, %u frames held\n", vblk_sectors(),
		vblk_has_flush() ? "offered" : "not offered", vblk_frames());
	KT_EXPECT(vblk_init() == 0);            /* already up: nothing changes */
	KT_EXPECT(vblk_frames() == 1 + (1u << VBLK_BOUNCE_ORDER));
}

/*
 * Eight runs of 9 sectors spread from the first sector to the last, and
 * one run of 200 (two bounce buffers' worth, cut into requests) between
 * two of them: all written first, then all read back and compared.
 */
KTEST(vblk, patterns_across_the_disk_read_back)
{
	uint64_t n = vblk_sectors();
	if (!n)
		KT_SKIP(NO_DISK);
	if (n < 2048)
		KT_SKIP("disk smaller than 1 MiB");
	enum { RUNS = 8, RUN = 9, BIG = 200 };
	_Static_assert(BIG <= BUF_SECTORS && BIG > VBLK_BOUNCE_SECTORS, "BIG must span requests");
	uint64_t at[RUNS + 1];
	unsigned len[RUNS + 1];
	for (unsigned i = 0; i < RUNS; i++)
		at[i] = (n - RUN) * i / (RUNS - 1), len[i] = RUN;
	at[RUNS] = at[3] + RUN, len[RUNS] = BIG;        /* (n - 9) / 7 > 209 for n >= 2048 */
	struct bufs b;
	KT_ASSERT(bufs_get(&b));
	const uint64_t seed = 0x5eed0000 + arch_rdtsc() % 4096;  /* a fresh pattern each boot */
	int werr = 0, rerr = 0, bad = 0;
	for (unsigned i = 0; i <= RUNS && !werr; i++) {
		fill(b.out, at[i], len[i], seed);
		werr = vblk_write(at[i], b.out, len[i]);
	}
	for (unsigned i = 0; i <= RUNS && !werr && !rerr; i++) {
		memset(b.in, 0xaa, (size_t)len[i] * SECT);
		rerr = vblk_read(at[i], b.in, len[i]);
		bad += !rerr && mismatch(b.in, at[i], len[i], seed, b.scratch) >= 0;
	}
	/* A read of part of the big run, starting inside it: offsets are by sector. */
	if (!werr && !rerr) {
		rerr = vblk_read(at[RUNS] + 131, b.in, 3);
		bad += !rerr && mismatch(b.in, at[RUNS] + 131, 3, seed, b.scratch) >= 0;
	}
	bufs_put(&b);
	KT_EXPECT(werr == 0);
	KT_EXPECT(rerr == 0);
	KT_EXPECT(bad == 0);
}

KTEST(vblk, past_the_end_is_an_error)
{
	uint64_t n = vblk_sectors();
	if (!n)
		KT_SKIP(NO_DISK);
	struct bufs b;
	KT_ASSERT(bufs_get(&b));
	int last = vblk_read(n - 1, b.in, 1);
	int at_end = vblk_read(n, b.in, 1);
	int across = vblk_read(n - 1, b.in, 2);
	int wrap = vblk_read(~0ull, b.in, 2);
	int write_across = vblk_write(n - 1, b.out, 2);
	/* Past the driver's check, the device itself must refuse, and the error must come back. */
	int device = vblk_request(VIRTIO_BLK_T_IN, n, b.in, 1);
	int device_w = vblk_request(VIRTIO_BLK_T_OUT, n - 1, b.out, 2);
	int after = vblk_read(0, b.in, 1);      /* and the queue still works */
	bufs_put(&b);
	KT_EXPECT(last == 0);
	KT_EXPECT(at_end == -EINVAL);
	KT_EXPECT(across == -EINVAL);
	KT_EXPECT(wrap == -EINVAL);
	KT_EXPECT(write_across == -EINVAL);
	KT_EXPECT(device == -EIO);
	KT_EXPECT(device_w == -EIO);
	KT_EXPECT(after == 0);
}

KTEST(vblk, unsupported_request_is_an_error)
{
	if (!vblk_sectors())
		KT_SKIP(NO_DISK);
	KT_EXPECT(vblk_request(0x77, 0, 0, 0) == -EIO);   /* no such type: VIRTIO_BLK_S_UNSUPP */
	KT_EXPECT(vblk_request(VIRTIO_BLK_T_IN, 0, 0, VBLK_BOUNCE_SECTORS + 1) == -EINVAL);
	KT_EXPECT(vblk_flush() == 0);
}

KTEST(vblk, write_flush_read)
{
	uint64_t n = vblk_sectors();
	if (!n)
		KT_SKIP(NO_DISK);
	struct bufs b;
	KT_ASSERT(bufs_get(&b));
	uint64_t s = n / 2 + 1;
	fill(b.out, s, 4, 0xf1a5);
	int w = vblk_write(s, b.out, 4), f = vblk_flush(), f2 = vblk_flush();
	int r = vblk_read(s, b.in, 4);
	long m = r ? 0 : mismatch(b.in, s, 4, 0xf1a5, b.scratch);
	bufs_put(&b);
	KT_EXPECT(w == 0);
	KT_EXPECT(f == 0);
	KT_EXPECT(f2 == 0);
	KT_EXPECT(r == 0);
	KT_EXPECT(m < 0);
}

/*
 * vblk_shutdown gives back the queue's frame and the bounce buffer (the
 * VMM may free page tables of the MMIO windows too, so at least that
 * many); vblk_init takes them again and the data is still on the disk.
 */
KTEST(vblk, shutdown_gives_frames_back_and_init_again)
{
	uint64_t n = vblk_sectors();
	if (!n)
		KT_SKIP(NO_DISK);
	struct bufs b;
	KT_ASSERT(bufs_get(&b));
	fill(b.out, 5, 2, 0xd15c);
	int w = vblk_write(5, b.out, 2);
	unsigned held = vblk_frames();
	uint64_t f0 = pmm_free_count();
	int sd = vblk_shutdown();
	uint64_t f1 = pmm_free_count();
	int gone = vblk_read(5, b.in, 2), again_sd = vblk_shutdown();
	uint64_t n_down = vblk_sectors();
	int in = vblk_init();
	int r = vblk_read(5, b.in, 2);
	long m = r ? 0 : mismatch(b.in, 5, 2, 0xd15c, b.scratch);
	bufs_put(&b);
	KT_EXPECT(w == 0);
	KT_EXPECT(held == 1 + (1u << VBLK_BOUNCE_ORDER));
	KT_EXPECT(sd == 0);
	KT_EXPECT(f1 >= f0 + held);
	KT_EXPECT(gone == -ENODEV);
	KT_EXPECT(again_sd == -ENODEV);
	KT_EXPECT(n_down == 0);
	KT_EXPECT(in == 0);
	KT_EXPECT(vblk_sectors() == n);
	KT_EXPECT(r == 0);
	KT_EXPECT(m < 0);
}
