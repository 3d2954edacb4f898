# strata.py - GDB commands that read Strata's own structures (docs/gdb.md).
#
# Loaded by `make debug` (gdb -x scripts/gdb/strata.py build/strata.elf).
# Every command reads the kernel through the debug info of build/strata.elf
# and physical memory through the HHDM (hhdm_offset + pa), as the kernel
# itself does, so they work wherever the kernel is stopped after paging is
# up. Nothing here writes to the target.
#
#   strata-pt VA [ROOT]     one address walked level by level
#   strata-maps [ROOT]      the mappings of an address space, as pg_dump prints them
#   strata-buddy [check | blocks ORDER]
#                           free blocks per zone and order (check: against the frame
#                           records; blocks: the free blocks of one order)
#   strata-frame PA         one frame's record
#   strata-slab [all]       the slab caches: objects, slabs, magazines
#   strata-vmm [SPACE]      the regions of an address space
#   strata-ps               the process table
#   strata-attach PORT      target remote, tried again until QEMU listens
#
# ROOT: a physical address (any gdb expression), `kernel`, or `pid N`;
# default: the root in CR3. SPACE: `kernel` (default), `pid N`, or an
# expression giving a struct vm_space *.

import struct

import gdb

PAGE_SHIFT = 12
PT_ENTRIES = 512

# pte.h: the x86 entry bits
PTE_P, PTE_W, PTE_U, PTE_PWT, PTE_PCD = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4
PTE_A, PTE_D, PTE_PS, PTE_G = 1 << 5, 1 << 6, 1 << 7, 1 << 8
PTE_PAT_4K, PTE_PAT_HUGE, PTE_NX = 1 << 7, 1 << 12, 1 << 63
PTE_SWAP_MARK = 1 << 9
PTE_ADDR = 0x000ffffffffff000
BIT_NAMES = [(PTE_P, "P"), (PTE_W, "W"), (PTE_U, "U"), (PTE_PWT, "PWT"), (PTE_PCD, "PCD"),
             (PTE_A, "A"), (PTE_D, "D"), (PTE_G, "G"), (PTE_NX, "NX")]

# paging.h: portable flags
PG_READ, PG_WRITE, PG_EXEC, PG_USER, PG_GLOBAL = 1, 2, 4, 8, 16
PG_CACHE_SHIFT = 5
CACHE_NAMES = ["wb", "wt", "uc", "wc"]
# pte_flags: the PAT index PAT:PCD:PWT -> PG_CACHE_* (0 WB, 1 WT, 2 UC, 3 WC)
PAT_TO_CACHE = [0, 1, 2, 2, 3, 1, 2, 2]

LEVEL_NAMES = {0: "PT", 1: "PD", 2: "PDPT", 3: "PML4", 4: "PML5"}
FRAME_STATES = ["RESERVED", "FREE", "ALLOCATED", "TAIL", "CACHED"]
ZONE_NAMES = ["DMA", "DMA32", "NORMAL"]
DMA_END_PFN = (16 << 20) >> PAGE_SHIFT
DMA32_END_PFN = (4 << 30) >> PAGE_SHIFT
PG_HHDM_BASE = 0xffff800000000000
U64 = (1 << 64) - 1


# ---------------------------------------------------------------- reading --

def sym(name):
    """A global or file-static variable of the kernel, by name."""
    s = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if s is None:
        raise gdb.GdbError(f"no symbol {name} in the kernel's debug info (is build/strata.elf loaded?)")
    return s.value()


def hhdm():
    """Where the HHDM starts: the kernel's own variable (0 before it is set: the fixed base)."""
    return int(sym("hhdm_offset")) or PG_HHDM_BASE


def read_virt(va, n):
    return bytes(gdb.selected_inferior().read_memory(va, n))


def read_phys(pa, n):
    return read_virt(hhdm() + pa, n)


class Tables:
    """Page tables read through the HHDM, each once per command."""

    def __init__(self):
        self.cache = {}
        self.base = hhdm()
        feat = sym("pg")["feat"]
        self.levels = int(feat["levels"]) or 4
        self.pdpe1gb = bool(feat["pdpe1gb"])

    def table(self, pa):
        if pa not in self.cache:
            self.cache[pa] = struct.unpack("<512Q", read_virt(self.base + pa, 4096))
        return self.cache[pa]

    def top(self):
        return self.levels - 1

    def va_bits(self):
        return PAGE_SHIFT + 9 * self.levels

    def lower_half_last(self):
        return (1 << (self.va_bits() - 1)) - 1


def level_shift(l):
    return PAGE_SHIFT + 9 * l


def level_size(l):
    return 1 << level_shift(l)


def pt_index(va, l):
    return (va >> level_shift(l)) & (PT_ENTRIES - 1)


def pte_leaf(e, level):
    return level == 0 or bool(e & PTE_PS)


def pte_addr(e, level):
    a = e & PTE_ADDR
    return a & ~PTE_PAT_HUGE if level and (e & PTE_PS) else a


def pte_flags(e, level):
    """The portable flags of a leaf, as pte.h's pte_flags computes them."""
    f = PG_READ
    pat = 4 if e & (PTE_PAT_HUGE if level else PTE_PAT_4K) else 0
    if e & PTE_W:
        f |= PG_WRITE
    if e & PTE_U:
        f |= PG_USER
    if e & PTE_G:
        f |= PG_GLOBAL
    if not e & PTE_NX:
        f |= PG_EXEC
    idx = pat | (2 if e & PTE_PCD else 0) | (1 if e & PTE_PWT else 0)
    return f | PAT_TO_CACHE[idx] << PG_CACHE_SHIFT


def flags_str(f):
    """r?x u|k g|- cache, as pg_dump prints them."""
    return "r%s%s %s %s %s" % ("w" if f & PG_WRITE else "-", "x" if f & PG_EXEC else "-",
                              "u" if f & PG_USER else "k", "g" if f & PG_GLOBAL else "-",
                              CACHE_NAMES[(f >> PG_CACHE_SHIFT) & 3])


def bits_str(e, level):
    """The entry's bits by name; bit 7 is PS above the PT (a leaf), PAT in a PT."""
    names = [n for b, n in BIT_NAMES if e & b]
    huge = level > 0 and e & PTE_PS
    if huge:
        names.append("PS")
    if e & (PTE_PAT_4K if level == 0 else PTE_PAT_HUGE if huge else 0):
        names.append("PAT")
    return " ".join(names)


def walk_leaves(t, root, lo, hi):
    """Yield (va, pa, size, level, entry) for every present leaf overlapping
    [lo, hi] (inclusive, canonical), in address order: pg_walk's order."""
    top = t.top()
    sign = ~((1 << t.va_bits()) - 1) & U64

    def rec(table_pa, level, base):
        ents = t.table(table_pa)
        span = level_size(level)
        for i in range(PT_ENTRIES):
            va = base + i * span
            if level == top and i >= PT_ENTRIES // 2:
                va |= sign
            if va + span - 1 < lo or va > hi:
                continue
            e = ents[i]
            if not e & PTE_P:
                continue
            if pte_leaf(e, level):
                yield va, pte_addr(e, level), span, level, e
            else:
                yield from rec(pte_addr(e, level), level - 1, va)

    yield from rec(root, top, 0)


def translate(t, root, va):
    """The pa va maps to in root, or None (pg_translate)."""
    table = root
    for level in range(t.top(), -1, -1):
        e = t.table(table)[pt_index(va, level)]
        if not e & PTE_P:
            return None
        if pte_leaf(e, level):
            return pte_addr(e, level) + (va & (level_size(level) - 1))
        table = pte_addr(e, level)
    return None


def parse_int(arg):
    """A gdb expression as a number; a function or array gives its address."""
    v = gdb.parse_and_eval(arg)
    if v.type.strip_typedefs().code in (gdb.TYPE_CODE_FUNC, gdb.TYPE_CODE_ARRAY):
        v = v.address
    return int(v) & U64


def find_proc(pid):
    procs = sym("procs")
    n = procs.type.range()[1] + 1
    for i in range(n):
        p = procs[i]
        if int(p["state"]) != 0 and int(p["pid"]) == pid:
            return p
    raise gdb.GdbError(f"no process with pid {pid}")


def current_root():
    try:
        return int(gdb.parse_and_eval("$cr3")) & PTE_ADDR
    except gdb.error:
        return int(sym("pg")["kroot"])


def parse_root(words):
    """ROOT: nothing (CR3), `kernel`, `pid N`, or an expression."""
    if not words:
        return current_root()
    if words[0] == "kernel":
        return int(sym("pg")["kroot"])
    if words[0] == "pid":
        p = find_proc(int(words[1], 0))
        if int(p["space"]) == 0:
            raise gdb.GdbError(f"pid {words[1]} has no address space")
        return int(p["space"].dereference()["root"])
    return parse_int(" ".join(words)) & PTE_ADDR


def fmt_size(n):
    """lib/fmt_size.c: the largest unit that holds n bytes exactly."""
    if n >= 1024 and n & 1023:
        return "%d.%d KiB" % (n >> 10, (n & 1023) * 10 >> 10)
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    u = 0
    while u < 4 and n and not n & 1023:
        n >>= 10
        u += 1
    return "%d %s" % (n, units[u])


def dump_size(n):
    """paging/lookup.c size_str: K, M, G or T, the largest that holds n exactly."""
    n >>= 10
    u = 0
    while u < 3 and n >= 1024 and not n & 1023:
        n >>= 10
        u += 1
    return "%d%s" % (n, "KMGT"[u])


class StrataCommand(gdb.Command):
    """A command whose errors reach the user as one line."""

    def __init__(self, name):
        super().__init__(name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        try:
            self.run(gdb.string_to_argv(arg))
        except gdb.MemoryError as e:
            raise gdb.GdbError(f"{self.cmd}: cannot read memory: {e}")
        except gdb.error as e:
            raise gdb.GdbError(f"{self.cmd}: {e}")


# --------------------------------------------------------------- strata-pt --

class StrataPt(StrataCommand):
    """strata-pt VA [ROOT]: walk VA through the page tables, level by level.

Each level shows its table, the index VA selects in it, the entry, its bits
and the next table (or the page, at the leaf). ROOT: a physical address,
`kernel`, or `pid N`; default: the root in CR3."""
    cmd = "strata-pt"

    def __init__(self):
        super().__init__(self.cmd)

    def run(self, argv):
        if not argv:
            raise gdb.GdbError("usage: strata-pt VA [ROOT]")
        va = parse_int(argv[0])
        root = parse_root(argv[1:])
        t = Tables()
        top = t.top()
        idx = " ".join("%s %d" % (LEVEL_NAMES[l], pt_index(va, l)) for l in range(top, -1, -1))
        print("va %016x in root %x (%d levels): %s, offset %03x" % (va, root, t.levels, idx, va & 0xfff))
        lo_last = t.lower_half_last()
        if lo_last < va < (~lo_last & U64):
            print("  not canonical: no walk")
            return
        table = root
        for level in range(top, -1, -1):
            i = pt_index(va, level)
            e = t.table(table)[i]
            name = "%s[%d]" % (LEVEL_NAMES[level], i)
            head = "  %-10s table %x, entry at pa %x: %016x" % (name, table, table + 8 * i, e)
            if not e & PTE_P:
                swap = " (a swap entry, slot %d)" % ((e & PTE_ADDR) >> 12) if e & PTE_SWAP_MARK and level == 0 else ""
                print(head + "  not present" + swap)
                print("va %016x is not mapped" % va)
                return
            if pte_leaf(e, level):
                size = level_size(level)
                page = pte_addr(e, level)
                print(head + "  %s -> %s page at pa %x" % (bits_str(e, level), dump_size(size), page))
                print("va %016x -> pa %x (%s page, %s)" % (va, page + (va & (size - 1)), dump_size(size),
                                                          flags_str(pte_flags(e, level))))
                return
            nxt = pte_addr(e, level)
            print(head + "  %s -> table %x" % (bits_str(e, level), nxt))
            table = nxt


# ------------------------------------------------------------- strata-maps --

class StrataMaps(StrataCommand):
    """strata-maps [ROOT]: the mappings of an address space, as the kernel's pg_dump prints them.

Runs of leaves with the same flags and page size at consecutive addresses are
one line: va range, length, flags (r, w/-, x/-, u/k, g/-, cache), page size and
count, the first page's pa ("(scattered)" when the run is not contiguous in pa).
ROOT: a physical address, `kernel`, or `pid N`; default: the root in CR3."""
    cmd = "strata-maps"

    def __init__(self):
        super().__init__(self.cmd)

    def run(self, argv):
        root = parse_root(argv)
        t = Tables()
        lo_last = t.lower_half_last()
        print("paging: address space %x (%d levels), 0..0" % (root, t.levels))
        for lo, hi in ((0, lo_last), (~lo_last & U64, U64)):
            r = None
            for va, pa, size, level, e in walk_leaves(t, root, lo, hi):
                f = pte_flags(e, level)
                if r and va == r["end"] and f == r["flags"] and size == r["size"]:
                    r["contig"] &= pa == r["pa"] + (r["end"] - r["va"])
                    r["end"] += size
                    r["count"] += 1
                    continue
                self.line(r)
                r = {"va": va, "end": va + size, "pa": pa, "contig": True, "size": size, "count": 1, "flags": f}
            self.line(r)

    @staticmethod
    def line(r):
        if not r:
            return
        print("  %016x-%016x %6s  %s  %s x%d  pa %x%s" % (
            r["va"], r["end"] & U64, dump_size(r["end"] - r["va"]), flags_str(r["flags"]),
            dump_size(r["size"]), r["count"], r["pa"], "" if r["contig"] else " (scattered)"))


# ------------------------------------------------------------ strata-buddy --

def pfn_zone(pfn):
    return 0 if pfn < DMA_END_PFN else 1 if pfn < DMA32_END_PFN else 2


def decode_frame(w):
    """struct frame: refs bits 0..23, order 24..28, state 29..31 (GCC, little-endian)."""
    return {"refs": w & 0xffffff, "order": (w >> 24) & 0x1f, "state": w >> 29}


def sections():
    pmm = sym("pmm")
    out = []
    for i in range(int(pmm["nsec"])):
        s = pmm["sec"][i]
        out.append({"i": i, "base": int(s["base_pfn"]), "n": int(s["npages"]),
                    "frames": int(s["frames"]), "zone": int(s["zone"])})
    return out


def pcp_pages():
    """{cpu: [pfn, ...]} of the per-CPU page caches that hold pages."""
    pmm = sym("pmm")
    out = {}
    for c in range(pmm["pcp"].type.range()[1] + 1):
        p = pmm["pcp"][c]
        n = int(p["count"])
        if n:
            out[c] = [int(p["pfn"][k]) for k in range(n)]
    return out


def frame_refcount(secs, pa):
    """pmm_frame_refcount: the references of the ALLOCATED head at pa, else 0."""
    pfn = pa >> PAGE_SHIFT
    for s in secs:
        if s["base"] <= pfn < s["base"] + s["n"]:
            f = decode_frame(struct.unpack("<I", read_virt(s["frames"] + 4 * (pfn - s["base"]), 4))[0])
            return f["refs"] if f["state"] == 2 else 0
    return 0


def free_heads(secs, order=None):
    """Yield (pfn, order) of every FREE head in the frame records."""
    chunk = 1 << 16
    for s in secs:
        for off in range(0, s["n"] * 4, chunk):
            raw = read_virt(s["frames"] + off, min(chunk, s["n"] * 4 - off))
            for k, w in enumerate(struct.unpack("<%dI" % (len(raw) // 4), raw)):
                if w >> 29 == 1 and (order is None or (w >> 24) & 0x1f == order):
                    yield s["base"] + off // 4 + k, (w >> 24) & 0x1f


class StrataBuddy(StrataCommand):
    """strata-buddy [check | blocks ORDER]: the buddy allocator's free blocks per zone and order.

The zones' counters (RAM, free, blocks of each order), the per-CPU page
caches, and the total of free frames (MEMINFO's free_kib / 4). With `check`,
every frame record is read too and the free heads counted by zone and order,
to say whether the records agree with the counters. `blocks ORDER` lists the
free blocks of that order, from the records."""
    cmd = "strata-buddy"

    def __init__(self):
        super().__init__(self.cmd)

    def run(self, argv):
        if argv and argv[0] == "blocks":
            return self.blocks(argv)
        pmm = sym("pmm")
        nzones = pmm["zones"].type.range()[1] + 1
        norders = pmm["zones"][0]["nr"].type.range()[1] + 1
        secs = sections()
        pcp = pcp_pages()
        cached = [0] * nzones
        for pfns in pcp.values():
            for pfn in pfns:
                cached[pfn_zone(pfn)] += 1
        print("buddy: %d frames in %d sections, %d reserved (pmm at %x)" % (
            int(pmm["total_pages"]), len(secs), int(pmm["reserved_pages"]), int(pmm.address)))
        print("%-8s %12s %12s %9s  free blocks by order (order:count)" % ("zone", "RAM", "free", "pages"))
        blocks = [0] * norders
        total = 0
        counted = []
        for z in range(nzones):
            zone = pmm["zones"][z]
            nr = [int(zone["nr"][o]) for o in range(norders)]
            counted.append(nr)
            free = int(zone["free_pages"]) + cached[z]
            total += free
            for o in range(norders):
                blocks[o] += nr[o]
            orders = " ".join("%d:%d" % (o, nr[o]) for o in range(norders) if nr[o]) or "-"
            print("%-8s %12s %12s %9d  %s" % (ZONE_NAMES[z], fmt_size(int(zone["total_pages"]) << PAGE_SHIFT),
                                               fmt_size(free << PAGE_SHIFT), free, orders))
        print("free blocks per order (order:count, a block is 4 KiB << order)")
        line = ""
        for o in range(norders):
            line += "%s%2d:%-6d" % ("" if o % 8 else " ", o, blocks[o])
            if o % 8 == 7 or o == norders - 1:
                print(line)
                line = ""
        caches = ", ".join("cpu%d %d" % (c, len(p)) for c, p in sorted(pcp.items())) or "all empty"
        print("per-CPU page caches: %s" % caches)
        print("free frames: %d (%d KiB): %d in blocks, %d in per-CPU caches" % (
            total, total * 4, total - sum(cached), sum(cached)))
        if argv and argv[0] == "check":
            self.check(secs, counted, sum(cached), norders)

    @staticmethod
    def blocks(argv):
        if len(argv) < 2:
            raise gdb.GdbError("usage: strata-buddy blocks ORDER")
        o = int(argv[1], 0)
        heads = list(free_heads(sections(), o))
        print("free blocks of order %d (%s each): %d" % (o, fmt_size(4096 << o), len(heads)))
        for pfn, _ in heads:
            print("  pa %x..%x  %s" % (pfn << PAGE_SHIFT, (pfn + (1 << o)) << PAGE_SHIFT, ZONE_NAMES[pfn_zone(pfn)]))

    @staticmethod
    def check(secs, counted, ncached, norders):
        heads = [[0] * norders for _ in counted]
        for pfn, o in free_heads(secs):
            heads[pfn_zone(pfn)][o] += 1
        seen_cached = 0
        chunk = 1 << 16
        for s in secs:
            for off in range(0, s["n"] * 4, chunk):
                raw = read_virt(s["frames"] + off, min(chunk, s["n"] * 4 - off))
                seen_cached += sum(1 for w in struct.unpack("<%dI" % (len(raw) // 4), raw) if w >> 29 == 4)
        for z, nr in enumerate(heads):
            orders = " ".join("%d:%d" % (o, nr[o]) for o in range(norders) if nr[o]) or "-"
            print("records: %-8s free heads %s" % (ZONE_NAMES[z], orders))
        agree = heads == counted and seen_cached == ncached
        print("records: %d CACHED frames; %s" % (seen_cached, "the records agree with the counters"
                                                  if agree else "the records DISAGREE with the counters"))


# ------------------------------------------------------------ strata-frame --

class StrataFrame(StrataCommand):
    """strata-frame PA: the record of the frame holding physical address PA.

Its section and zone, the 4-byte record (state, order, references) and,
for a frame inside a block, the block's head; a cached page names its CPU."""
    cmd = "strata-frame"

    def __init__(self):
        super().__init__(self.cmd)

    def run(self, argv):
        if not argv:
            raise gdb.GdbError("usage: strata-frame PA")
        pa = parse_int(" ".join(argv))
        if pa >> 52:
            # No physical address is this wide: take it as virtual, through CR3's tables.
            va, pa = pa, translate(Tables(), current_root(), pa)
            if pa is None:
                print("va %016x is not mapped: no frame" % va)
                return
            print("va %016x -> pa %x" % (va, pa))
        pfn = pa >> PAGE_SHIFT
        for s in sections():
            if s["base"] <= pfn < s["base"] + s["n"]:
                break
        else:
            print("frame pa %x (pfn %x): not RAM the PMM manages" % (pa, pfn))
            return
        def rec(p):
            at = s["frames"] + 4 * (p - s["base"])
            return at, struct.unpack("<I", read_virt(at, 4))[0]
        at, w = rec(pfn)
        f = decode_frame(w)
        print("frame pa %x (pfn %x): section %d [%x, %x), zone %s" % (
            pfn << PAGE_SHIFT, pfn, s["i"], s["base"] << PAGE_SHIFT, (s["base"] + s["n"]) << PAGE_SHIFT,
            ZONE_NAMES[pfn_zone(pfn)]))
        state = FRAME_STATES[f["state"]] if f["state"] < len(FRAME_STATES) else "?%d" % f["state"]
        print("  record at %x: %08x  state %s, order %d, refs %d" % (at, w, state, f["order"], f["refs"]))
        if f["state"] in (1, 2):
            print("  head of %s block of %d pages: pa %x..%x" % (
                "a free" if f["state"] == 1 else "an allocated", 1 << f["order"], pfn << PAGE_SHIFT,
                (pfn + (1 << f["order"])) << PAGE_SHIFT))
        elif f["state"] == 3:
            # The head is the nearest frame below that is not a TAIL; its block must reach pfn.
            p = pfn
            while p > s["base"]:
                p -= 1
                _, hw = rec(p)
                h = decode_frame(hw)
                if h["state"] != 3:
                    inside = h["state"] in (1, 2) and pfn < p + (1 << h["order"])
                    print("  inside the %s block of order %d at pa %x%s" % (
                        FRAME_STATES[h["state"]].lower(), h["order"], p << PAGE_SHIFT,
                        "" if inside else " (which does not reach it: a broken record)"))
                    break
        elif f["state"] == 4:
            for c, pfns in pcp_pages().items():
                if pfn in pfns:
                    print("  in CPU %d's page cache, slot %d of %d" % (c, pfns.index(pfn), len(pfns)))


# ------------------------------------------------------------- strata-slab --

def cache_list():
    c = sym("kheap")["caches"]
    while int(c):
        yield c.dereference()
        c = c.dereference()["next"]


def cpu_rounds(c):
    """[(cpu, loaded rounds, prev rounds)] of the CPUs with a magazine loaded."""
    out = []
    for i in range(c["cpu"].type.range()[1] + 1):
        m = c["cpu"][i]
        lo, pr = m["loaded"], m["prev"]
        if int(lo) or int(pr):
            out.append((i, int(lo.dereference()["rounds"]) if int(lo) else -1,
                        int(pr.dereference()["rounds"]) if int(pr) else -1))
    return out


CF_OFFSLAB, CF_REDZONE, CF_INTERNAL = 1, 4, 8


class StrataSlab(StrataCommand):
    """strata-slab [all]: the slab caches, as the kernel's slabinfo table, and their magazines.

Per cache: object size, objects active (live: out of the slabs and not in a
magazine) and total, slabs, pages, pages a slab, layout, then the rounds in
the CPUs' magazines (loaded/prev) and the depot (full/empty magazines).
Caches without slabs are left out unless `all`. Ends with the SLABINFO sums."""
    cmd = "strata-slab"

    def __init__(self):
        super().__init__(self.cmd)

    def run(self, argv):
        kheap = sym("kheap")
        show_all = bool(argv and argv[0] == "all")
        print("slab: %-16s %7s %8s %8s %6s %6s %4s %-9s %s" % ("cache", "objsize", "active", "total", "slabs",
                                                              "pages", "pg/s", "layout", "magazines"))
        ncaches = quiet = live_objects = live_bytes = slab_pages = 0
        for c in cache_list():
            ncaches += 1
            nslabs, npages, nobj = int(c["nslabs"]), int(c["npages"]), int(c["nobj"])
            flags, size = int(c["flags"]), int(c["size"])
            cpus = cpu_rounds(c)
            rounds = int(c["depot_rounds"]) + sum(max(lo, 0) + max(pr, 0) for _, lo, pr in cpus)
            out = int(c["out"])
            live = out - rounds if out > rounds else 0
            slab_pages += nslabs * npages
            if not flags & CF_INTERNAL:
                live_objects += live
                live_bytes += live * size
            if not nslabs and not show_all:
                quiet += 1
                continue
            mags = " ".join("cpu%d %s/%s" % (i, lo if lo >= 0 else "-", pr if pr >= 0 else "-")
                            for i, lo, pr in cpus)
            mags = "size %d%s, depot %d full (%d rounds) %d empty" % (
                int(c["mag_size"]), ", " + mags if mags else "", int(c["depot_nfull"]),
                int(c["depot_rounds"]), int(c["depot_nempty"]))
            layout = ("off-slab" if flags & CF_OFFSLAB else "on-slab") + (",redzone" if flags & CF_REDZONE else "")
            print("slab: %-16s %7d %8d %8d %6d %6d %4d %-9s %s" % (
                c["name"].string(), size, live, nslabs * nobj, nslabs, nslabs * npages, npages, layout, mags))
        large_live, large_pages = int(kheap["large_live"]), int(kheap["large_pages"])
        live_objects += large_live
        live_bytes += large_pages << PAGE_SHIFT
        if not show_all:
            print("slab: %d caches without slabs not shown; large allocations: %d (%d pages)" % (
                quiet, large_live, large_pages))
        print("SLABINFO caches=%d objects=%d live_kib=%d slab_kib=%d large_kib=%d" % (
            ncaches, live_objects, live_bytes >> 10, slab_pages << 2, large_pages << 2))


# -------------------------------------------------------------- strata-vmm --

VM_KINDS = ["anon", "demand", "mmio", "guard", "shared", "private"]
VM_READ, VM_WRITE, VM_EXEC, VM_USER = 1, 2, 4, 8
VM_MMIO, VM_GUARD, VM_SHARED, VM_PRIVATE = 2, 3, 4, 5


def space_regions(space):
    """The regions of a struct vm_space, in address order (the AVL tree in order)."""
    out = []
    stack, n = [], space["tree"]
    while stack or int(n):
        while int(n):
            stack.append(n)
            n = n.dereference()["left"]
        n = stack.pop()
        out.append(n.dereference()["r"])
        n = n.dereference()["right"]
    return out


def parse_space(words):
    """SPACE: nothing or `kernel`, `pid N`, or an expression giving a struct vm_space *."""
    if not words or words[0] == "kernel":
        return sym("vmm")["kernel"], "kernel"
    if words[0] == "pid":
        p = find_proc(int(words[1], 0))
        if int(p["space"]) == 0:
            raise gdb.GdbError(f"pid {words[1]} has no address space")
        return p["space"].dereference(), p["name"].string()
    v = gdb.parse_and_eval(" ".join(words))
    if v.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
        v = v.cast(gdb.lookup_type("struct vm_space").pointer()).dereference()
    return v, " ".join(words)


class StrataVmm(StrataCommand):
    """strata-vmm [SPACE]: the regions of an address space, as the kernel's vmm_report prints them.

One line a region: range, kind, rwxu, cache type, size, pages resident (and
the physical address of an MMIO region), then the space's counters.
SPACE: `kernel` (default), `pid N`, or an expression giving a struct vm_space *."""
    cmd = "strata-vmm"

    def __init__(self):
        super().__init__(self.cmd)

    def run(self, argv):
        s, name = parse_space(argv)
        print("vmm: address space %s [%x, %x), root %x:" % (name, int(s["lo"]), int(s["hi"]), int(s["root"])))
        regions = space_regions(s)
        if not regions:
            print("  (no regions)")
        mmio = 0
        for r in regions:
            base, ln, fl, kind = int(r["base"]), int(r["len"]), int(r["flags"]), int(r["kind"])
            fs = "".join(ch if fl & b else "-" for ch, b in (("r", VM_READ), ("w", VM_WRITE), ("x", VM_EXEC), ("u", VM_USER)))
            line = "  %016x-%016x %-6s %s %s %8d KiB %7d resident" % (
                base, base + ln, VM_KINDS[kind] if kind < len(VM_KINDS) else "?", fs,
                CACHE_NAMES[int(r["cache"]) & 3], ln >> 10, int(r["resident"]))
            if kind == VM_MMIO:
                line += "  pa %x" % int(r["pa"])
                mmio += ln >> PAGE_SHIFT
            print(line)
        pool = s["pool"]
        print("VMM space=%s regions=%d resident=%d mmio_pages=%d node_pages=%d faults=%d resolved=%d"
              " cow_copied=%d cow_reused=%d swapped=%d (tree: %d regions)" % (
                  name, int(s["nregions"]), int(s["resident"]), mmio,
                  int(pool["npages"]) + int(s["own_page"]), int(s["faults"]), int(s["resolved"]),
                  int(s["cow_copied"]), int(s["cow_reused"]), int(s["swapped"]), len(regions)))


# --------------------------------------------------------------- strata-ps --

PROC_STATES = ["free", "runnable", "running", "waiting", "zombie"]


def space_sharing(s, secs):
    """(shared, object_pages) of a space, as vmm_report.c's stats_locked counts them:
    object pages are VM_SHARED regions' resident pages; shared are the mapped
    frames of the others with more than one reference (copy-on-write, a file's page cache)."""
    shared = objects = 0
    t = None
    for r in space_regions(s):
        kind = int(r["kind"])
        if kind == VM_MMIO:
            continue
        if kind == VM_SHARED:
            objects += int(r["resident"])
        elif (bool(s["shared"]) or kind == VM_PRIVATE) and kind != VM_GUARD:
            t = t or Tables()
            base = int(r["base"])
            for va, pa, size, level, e in walk_leaves(t, int(s["root"]), base, base + int(r["len"]) - 1):
                if frame_refcount(secs, pa) > 1:
                    shared += 1
    return shared, objects


class StrataPs(StrataCommand):
    """strata-ps: the process table, as the kernel's ps (proc_list) prints it.

pid, parent, state, name, resident and peak memory (resident now counts
toward the peak, as proc_list's own reading does), pages shared with others
(copy-on-write or a file's page cache), pages of shared objects, pages
copied on write, KiB in swap; then the address space (struct vm_space) and its root."""
    cmd = "strata-ps"

    def __init__(self):
        super().__init__(self.cmd)

    def run(self, argv):
        procs = sym("procs")
        secs = sections()
        print("  %5s %5s %-10s %-16s %12s %10s %10s %10s %6s %10s  %-16s %s" % (
            "pid", "ppid", "state", "name", "resident", "peak", "shared", "object", "copied", "swapped",
            "space", "root"))
        for i in range(procs.type.range()[1] + 1):
            p = procs[i]
            st = int(p["state"])
            if st == 0:
                continue
            sp = p["space"]
            res = shared = objects = copied = swapped = 0
            where = root = "-"
            if int(sp):
                s = sp.dereference()
                res, copied, swapped = int(s["resident"]), int(s["cow_copied"]), int(s["swapped"])
                shared, objects = space_sharing(s, secs)
                where, root = "%x" % int(sp), "%x" % int(s["root"])
            peak = max(int(p["peak"]), res)
            ppid = int(p["parent"].dereference()["pid"]) if int(p["parent"]) else 0
            print("  %5d %5d %-10s %-16s %9d KiB %6d KiB %6d KiB %6d KiB %6d %6d KiB  %-16s %s" % (
                int(p["pid"]), ppid, PROC_STATES[st] if st < len(PROC_STATES) else "?", p["name"].string(),
                res * 4, peak * 4, shared * 4, objects * 4, copied, swapped * 4, where, root))


class StrataAttach(StrataCommand):
    """strata-attach [HOST:]PORT [SECONDS]: target remote to QEMU's GDB stub, trying again
until it listens (default 10 s). make debug and the test attach with it."""
    cmd = "strata-attach"

    def __init__(self):
        super().__init__(self.cmd)

    def run(self, argv):
        import time
        if not argv:
            raise gdb.GdbError("usage: strata-attach [HOST:]PORT [SECONDS]")
        where = argv[0] if ":" in argv[0] else "127.0.0.1:" + argv[0]
        deadline = time.monotonic() + (float(argv[1]) if len(argv) > 1 else 10)
        while True:
            try:
                gdb.execute("target remote " + where)
                return
            except gdb.error:
                if time.monotonic() > deadline:
                    raise gdb.GdbError(f"no GDB stub answers at {where}")
                time.sleep(0.1)


for _c in (StrataAttach, StrataPt, StrataMaps, StrataBuddy, StrataFrame, StrataSlab, StrataVmm, StrataPs):
    _c()
print("strata: commands strata-pt, strata-maps, strata-buddy, strata-frame, strata-slab, strata-vmm, "
      "strata-ps (help CMD)")
