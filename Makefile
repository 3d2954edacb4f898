# Strata - see README.md. `make run` boots it, `make test` tests it.

CC      ?= gcc
LD      ?= ld
NASM    ?= nasm
HOSTCC  ?= gcc
PYTHON  ?= /usr/bin/python3
ifeq ($(origin CC),default)
CC := gcc
endif
ifeq ($(origin LD),default)
LD := ld
endif

B := build

# ---- the kernel ---------------------------------------------------------
KCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
	-ffreestanding -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone \
	-mno-sse -mno-sse2 -mno-mmx -mno-80387 -mgeneral-regs-only \
	-fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-fno-strict-aliasing -Wmissing-prototypes -Isrc -I. $(EXTRA_CFLAGS)
KLDFLAGS := -nostdlib -z max-page-size=0x1000 -z noexecstack -T src/boot/linker.ld

KSRCS  := $(shell find src tests/kernel bench -path bench/host -prune -o -name '*.c' -print | sort)
KASMS  := $(shell find src -name '*.asm' | sort)
KOBJS  := $(KSRCS:%.c=$(B)/k/%.o) $(KASMS:%.asm=$(B)/k/%.o)

all: $(B)/strata.iso

# ---- user programs and the initial ramdisk --------------------------------
# Static ELF64 programs at a user-half address (user/user.ld), built from
# freestanding C with user/lib/ (crt0, system-call stubs, printing). No
# SSE or x87: the kernel keeps no FPU state per process yet, so it leaves
# those instructions off (they raise #UD and kill the process).
UCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-mgeneral-regs-only -mno-red-zone -Isrc -Iuser/lib $(EXTRA_USER_CFLAGS)
# --strip-debug: the ramdisk must fit the smallest machine (8 MiB); symbols stay for backtraces
ULDFLAGS := --strip-debug -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T user/user.ld
# The user heap (user/lib/malloc/, docs/user_heap.md) is in every program:
# all of its sources but the Linux ones.
ULIB_MALLOC := $(filter-out user/lib/malloc/os_linux.c user/lib/malloc/export_linux.c,$(wildcard user/lib/malloc/*.c))
ULIB_SRCS := $(sort $(wildcard user/lib/*.c) $(wildcard user/lib/*.S) $(ULIB_MALLOC))
ULIB_HDRS := $(wildcard user/lib/*.h) $(wildcard user/lib/malloc/*.h)
ULIB_OBJS := $(patsubst %,$(B)/u/%.o,$(ULIB_SRCS))
# Programs: user/init.c is /init; user/bin/X.c is /bin/X; user/test/X.c is
# /test/X, run by mode=test as one case of the `user` suite; user/bench/X.c
# is /bench/X, run by mode=bench; user/ktest/X.c is /ktest/X, which the
# kernel's own self-tests run (tests/kernel/proc.c).
UPROGS := $(patsubst user/%.c,%,$(wildcard user/init.c) $(sort $(wildcard user/bin/*.c) $(wildcard user/test/*.c) $(wildcard user/bench/*.c) $(wildcard user/ktest/*.c)))
UBINS  := $(UPROGS:%=$(B)/initrd/%)
# user/data/ holds files the programs read or the kernel must refuse
# (malformed ELFs for spawn's -ENOEXEC): packed as /data/<name>, as they are.
UDATA  := $(patsubst user/%,%,$(sort $(wildcard user/data/*)))

$(B)/initrd/data/%: user/data/%
	@mkdir -p $(dir $@)
	cp $< $@

$(B)/u/%.c.o: %.c $(ULIB_HDRS) src/abi/syscall.h
	@mkdir -p $(dir $@)
	$(CC) $(UCFLAGS) -c $< -o $@

$(B)/u/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(UCFLAGS) -c $< -o $@

$(B)/initrd/%: $(B)/u/user/%.c.o $(ULIB_OBJS) user/user.ld
	@mkdir -p $(dir $@)
	$(LD) $(ULDFLAGS) -o $@ $< $(ULIB_OBJS) $$($(CC) -print-libgcc-file-name)

# ustar, so the kernel's reader (src/proc/initrd.c) has one format to trust;
# sorted names and fixed owners and times, so the same programs give the same archive.
$(B)/initrd.tar: $(UBINS) $(UDATA:%=$(B)/initrd/%)
	tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-C $(B)/initrd -cf $@ $(UPROGS) $(UDATA)

user: $(B)/initrd.tar
.SECONDARY:

# Self-tests register in .ktests in the order GCC emits them: keep it the
# order they are written in, so KTAP lists them as the file reads.
$(B)/k/tests/kernel/%.o: KCFLAGS += -fno-toplevel-reorder

$(B)/k/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -MMD -MP -c $< -o $@

$(B)/k/%.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -o $@ $<

$(B)/strata.elf: $(KOBJS) src/boot/linker.ld
	$(LD) $(KLDFLAGS) -o $@ $(KOBJS) $$($(CC) -print-libgcc-file-name)

$(B)/strata.iso: $(B)/strata.elf $(B)/initrd.tar grub.cfg
	@rm -rf $(B)/iso && mkdir -p $(B)/iso/boot/grub
	objcopy --strip-debug $(B)/strata.elf $(B)/iso/boot/strata.elf   # GRUB loads every section: debug info costs RAM at 8 MiB
	cp $(B)/initrd.tar $(B)/iso/boot/initrd.tar
	cp grub.cfg $(B)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(B)/iso 2>$(B)/grub-mkrescue.log || { cat $(B)/grub-mkrescue.log; exit 1; }

# ---- host tests: src/ compiled for Linux under ASan and UBSan -----------
HCFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Isrc -I. -Itests/host/common \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -DSTRATA_HOST $(EXTRA_HOST_CFLAGS)
HCOMMON := $(wildcard tests/host/common/*.c) src/lib/kprintf.c src/lib/fmt_size.c

# What each host test links from src/: the layer under test and those below.
HOST_multiboot2 := src/boot/multiboot2.c src/boot/bootinfo.c src/kernel/cmdline.c
HOST_kprintf    :=
MM_COMMON       := $(wildcard src/mm/*.c)
HOST_buddy      := $(MM_COMMON) $(wildcard src/mm/buddy/*.c) src/boot/bootinfo.c
HOST_paging     := $(HOST_buddy) $(wildcard src/mm/paging/*.c)
HOST_vmm        := $(HOST_paging) $(wildcard src/mm/swap/*.c) $(wildcard src/mm/vmm/*.c)
HOST_slab       := $(HOST_vmm) $(wildcard src/mm/slab/*.c)
HOST_fs         := $(HOST_slab) $(wildcard src/fs/*.c) src/proc/initrd.c
HOST_smp        := $(HOST_slab)
HOST_acpi       := src/boot/acpi.c
HOST_proc       := src/proc/elf.c src/proc/initrd.c
HOST_swap       := src/mm/swap/header.c src/mm/swap/slots.c src/mm/swap/kept.c   # area.c needs the buddy: the kernel suite tests it
HOST_lock       := src/lib/lockcheck.c
HOST_malloc     := $(filter-out user/lib/malloc/os_strata.c user/lib/malloc/export_linux.c,$(wildcard user/lib/malloc/*.c))

HOST_TESTS := $(sort $(filter-out common bench,$(notdir $(wildcard tests/host/*))))
HOST_BINS  := $(HOST_TESTS:%=$(B)/host/test_%)

define host_test_rule
$(B)/host/test_$(1): $$(wildcard tests/host/$(1)/*.c) $$(HOST_$(1)) $$(HCOMMON) $$(shell find src tests/host -name '*.h')
	@mkdir -p $$(dir $$@)
	$$(HOSTCC) $$(HCFLAGS) -o $$@ $$(wildcard tests/host/$(1)/*.c) $$(HOST_$(1)) $$(HCOMMON)
endef
$(foreach t,$(HOST_TESTS),$(eval $(call host_test_rule,$(t))))

# Host benchmarks: the layers' bench code, optimised and without sanitizers.
BCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Isrc -I. -Itests/host/common -DSTRATA_HOST
BCOMMON := src/lib/kprintf.c src/lib/fmt_size.c tests/host/common/fake_arch.c src/boot/bootinfo.c bench/host/adapter.c
BENCH_buddy := bench/host/buddy_main.c bench/buddy.c $(MM_COMMON) $(wildcard src/mm/buddy/*.c)
BENCH_linux_fault := bench/host/linux_fault.c
BENCH_paging := bench/host/paging_main.c bench/paging.c $(MM_COMMON) $(wildcard src/mm/buddy/*.c) $(wildcard src/mm/paging/*.c)
HOST_BENCHES := buddy linux_fault paging
BENCH_BINS := $(HOST_BENCHES:%=$(B)/host/bench_%)

define host_bench_rule
$(B)/host/bench_$(1): $$(BENCH_$(1)) $$(BCOMMON) $$(shell find src bench -name '*.h')
	@mkdir -p $$(dir $$@)
	$$(HOSTCC) $$(BCFLAGS) -o $$@ $$(BENCH_$(1)) $$(BCOMMON)
endef
$(foreach t,$(HOST_BENCHES),$(eval $(call host_bench_rule,$(t))))

# The alloc(5) path: every function of src/mm that kmalloc(5) on an empty
# class enters, and the files that hold them (tests/path/alloc_path.c).
# -finstrument-functions calls its hooks on entry to each function, inlined
# ones too; not PIE, so addr2line names the addresses as they are; DWARF 4,
# because this addr2line names the wrong file for some inlined copies in
# GCC 12's DWARF 5.
PATH_CFLAGS := -std=gnu11 -O1 -gdwarf-4 -no-pie -fno-pie -Isrc -I. -Itests/host/common -DSTRATA_HOST \
	-finstrument-functions -finstrument-functions-exclude-file-list=tests/,src/lib/,src/boot/
$(B)/host/path_alloc5: tests/path/alloc_path.c $(HOST_slab) $(HCOMMON) $(shell find src tests/host -name '*.h')
	@mkdir -p $(dir $@)
	$(HOSTCC) $(PATH_CFLAGS) -o $@ tests/path/alloc_path.c $(HOST_slab) $(HCOMMON)

HOST_BINS += $(B)/host/path_alloc5

# ---- the user heap for Linux: build/libstrata_malloc.so -------------------
# user/lib/malloc/ without Strata's OS file, as a library any Linux program
# loads with LD_PRELOAD. Optimised, no sanitizers; only export_linux.c's
# names are visible; initial-exec TLS, as a preloaded library is loaded at
# start. `make` builds it. build/host/real_programs is a host test that
# runs tests/real/run.sh: real programs, plain and under the library, must
# print the same bytes. `make bench` runs scripts/bench_malloc.sh.
SMCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -fPIC -shared -pthread -fvisibility=hidden \
	-ftls-model=initial-exec -D_GNU_SOURCE
SM_LINUX_SRCS := $(filter-out user/lib/malloc/os_strata.c,$(wildcard user/lib/malloc/*.c))
$(B)/libstrata_malloc.so: $(SM_LINUX_SRCS) $(wildcard user/lib/malloc/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(SMCFLAGS) -o $@ $(SM_LINUX_SRCS)
$(B)/host/real_programs: $(B)/libstrata_malloc.so tests/real/run.sh
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# Real programs under build/libstrata_malloc.so (Makefile, the user heap).\nexec %s/tests/real/run.sh\n' "$(CURDIR)" >$@
	@chmod +x $@
HOST_BINS += $(B)/host/real_programs
include exercises/exercises.mk
include tests/gdb/gdb.mk
include tests/shell/shell.mk
include tests/picture/picture.mk
include tests/oracle/oracle.mk
include tests/tap/tap.mk
all: $(B)/libstrata_malloc.so

host-build: $(HOST_BINS)

host-test: $(HOST_BINS)
	@fail=0; for t in $(HOST_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

# ---- fuzzing: libFuzzer over the parsers of untrusted input and the PMM --
# Each target in tests/fuzz/ is built with clang (libFuzzer needs it) under
# ASan and UBSan. build/host/fuzz_<t> is a host "test" for the harness: it
# runs tests/fuzz/run.sh <t>, a short campaign (STRATA_FUZZ_SECONDS, 5 s)
# that replays tests/fuzz/corpus/<t>/ first, and prints TAP. `make fuzz`
# runs the same for FUZZ_SECONDS (300) per target.
FUZZCC     ?= clang
FUZZ_SECONDS ?= 300
FCFLAGS := -std=gnu11 -O1 -g -Isrc -I. -Itests/host/common -DSTRATA_HOST \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FCOMMON := src/lib/kprintf.c src/lib/fmt_size.c tests/host/common/fake_arch.c src/boot/bootinfo.c
FUZZ_mb2    := tests/fuzz/mb2.c src/boot/multiboot2.c src/kernel/cmdline.c
FUZZ_memmap := tests/fuzz/memmap.c $(MM_COMMON) $(wildcard src/mm/buddy/*.c)
FUZZ_pmm    := tests/fuzz/pmm.c $(MM_COMMON) $(wildcard src/mm/buddy/*.c)
FUZZ_acpi   := tests/fuzz/acpi.c src/boot/acpi.c
FUZZ_elf    := tests/fuzz/elf.c src/proc/elf.c
FUZZ_initrd := tests/fuzz/initrd.c src/proc/initrd.c
FUZZ_TARGETS := mb2 memmap pmm acpi elf initrd
FUZZ_BINS := $(FUZZ_TARGETS:%=$(B)/host/fuzz_%)

define fuzz_rule
$(B)/fuzz/$(1): $$(FUZZ_$(1)) $$(FCOMMON) tests/fuzz/fuzz.h $$(shell find src tests/host/common -name '*.h')
	@mkdir -p $$(dir $$@)
	$$(FUZZCC) $$(FCFLAGS) -o $$@ $$(FUZZ_$(1)) $$(FCOMMON)
$(B)/host/fuzz_$(1): $(B)/fuzz/$(1) tests/fuzz/run.sh
	@mkdir -p $$(dir $$@)
	@printf '#!/bin/sh\n# A short libFuzzer campaign over $(1) (Makefile, fuzzing).\nexec %s/tests/fuzz/run.sh $(1)\n' "$$(CURDIR)" >$$@
	@chmod +x $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@fail=0; for t in $(FUZZ_TARGETS); do echo "== fuzz $$t, $(FUZZ_SECONDS) s"; \
		STRATA_FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $$t || fail=1; done; exit $$fail

# ---- the two commands ---------------------------------------------------
deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory $(B)/strata.iso
	@$(PYTHON) scripts/harness.py run

test: deps
	@$(MAKE) --no-print-directory $(B)/strata.elf $(B)/initrd.tar host-build fuzz-build
	@$(PYTHON) scripts/harness.py test --host $(HOST_BINS) $(FUZZ_BINS)

bench: deps
	@$(MAKE) --no-print-directory $(B)/strata.elf $(B)/initrd.tar $(BENCH_BINS)
	@mkdir -p $(B)/bench; { $(PYTHON) scripts/harness.py bench --smp 4 --host $(BENCH_BINS) && scripts/bench_alloc.sh 3 && scripts/bench_instr.sh && $(MAKE) --no-print-directory $(B)/libstrata_malloc.so && scripts/bench_malloc.sh 3; echo $$? >$(B)/bench/status; } 2>&1 | tee $(B)/bench/bench.txt; $(PYTHON) scripts/bench_table.py $(B)/bench/bench.txt && exit $$(cat $(B)/bench/status)

debug: deps
	@$(MAKE) --no-print-directory $(B)/strata.iso
	@$(PYTHON) scripts/harness.py debug

clean:
	rm -rf $(B)

.PHONY: all user deps run test bench debug clean host-build host-test fuzz fuzz-build

-include $(shell find $(B)/k -name '*.d' 2>/dev/null)
