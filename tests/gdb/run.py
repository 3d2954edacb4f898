#!/usr/bin/python3
"""run.py - the GDB commands (scripts/gdb/strata.py) against what the kernel printed.

A mode=run boot under TCG (128 MiB, BIOS) starts halted with a GDB stub;
`gdb -batch` runs tests/gdb/session.py, which stops the kernel just after
each of its reports and runs the commands there. Their output is compared
with the serial log, one TAP result a comparison; a command that errors
fails its results. Prints TAP on stdout (a host test of make test).
"""
import difflib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import harness  # noqa: E402

NAME = "gdb-session"
GDB_TIMEOUT = 180   # seconds for the whole session; the boot alone takes ~2 s under TCG


class Tap:
    def __init__(self):
        self.results = []

    def check(self, name, ok, why="", diag=()):
        self.results.append((name, bool(ok), why, list(diag)))

    def print(self):
        print("1..%d" % len(self.results))
        failed = 0
        for i, (name, ok, why, diag) in enumerate(self.results, 1):
            print("%s %d %s%s" % ("ok" if ok else "not ok", i, name,
                                  "" if ok else " # " + why.replace("#", "")))
            if not ok:
                failed += 1
                for d in diag[:40]:
                    print("# " + d)
        return 1 if failed else 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def steps(out):
    """{step: (ok, lines, why)} and the STOPPED lines from the session's framed output."""
    res, stops, cur, lines = {}, {}, None, []
    for l in out.splitlines():
        if l.startswith("@@@ BEGIN "):
            cur, lines = l[10:].split(":")[0], []
        elif l.startswith("@@@ END ") and cur:
            status = l[8 + len(cur) + 1:]
            res[cur] = (status == "ok", lines, status)
            cur = None
        elif l.startswith("@@@ STOPPED "):
            fn, _, where = l[12:].partition(" at ")
            stops[fn] = where
        elif cur is not None:
            lines.append(l.rstrip())
    return res, stops


def block(log, start_rx, more_rx):
    """The line matching start_rx and the lines matching more_rx right after it."""
    ls = log.splitlines()
    for i, l in enumerate(ls):
        if re.search(start_rx, l):
            out = [l.rstrip()]
            for m in ls[i + 1:]:
                if not re.search(more_rx, m):
                    break
                out.append(m.rstrip())
            return out
    return []


def first(log, rx):
    m = re.search(rx, log, re.M)
    return m


def elf_pa(elf, va):
    """The physical load address of va from the ELF's PT_LOAD headers."""
    with open(elf, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, _, vaddr, paddr, filesz, memsz, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == 1 and vaddr <= va < vaddr + memsz:
            return paddr + va - vaddr
    return None


def symbol(elf, name):
    out = subprocess.run(["nm", elf], capture_output=True, text=True).stdout
    m = re.search(r"^([0-9a-f]+) \w %s$" % re.escape(name), out, re.M)
    return int(m.group(1), 16) if m else None


def compare(tap, name, got, want):
    ok = got == want
    diag = []
    if not ok:   # the lines that differ, kernel (-) against gdb (+)
        diag = list(difflib.unified_diff(want, got, "kernel", "gdb", n=0, lineterm=""))
    tap.check(name, ok and bool(want), "differs from the kernel's output" if want else "nothing to compare with", diag)


def judge(tap, res, stops, log, status):
    def out(step):
        ok, lines, why = res.get(step, (False, [], "did not run"))
        return ok, lines, why

    def run_ok(step, name):
        ok, lines, why = out(step)
        if not ok:
            tap.check(name, False, "%s: %s" % (step, why))
        return ok, lines

    tap.check("gdb attaches to QEMU's stub and stops at vmm_demo, after mm_report",
              out("attach")[0] and stops.get("vmm_demo") == "vmm_demo",
              "stopped at %s" % stops.get("vmm_demo", "nowhere"))

    # ---- strata-buddy against MEMINFO and the pmm tables
    ok, b = run_ok("buddy", "strata-buddy: free frames = MEMINFO free_kib / 4")
    if ok:
        m = first(log, r"^MEMINFO .*free_kib=(\d+)")
        g = re.search(r"^free frames: (\d+)", "\n".join(b), re.M)
        want = int(m.group(1)) // 4 if m else None
        tap.check("strata-buddy: free frames = MEMINFO free_kib / 4", m and g and int(g.group(1)) == want,
                  "gdb %s, MEMINFO %s" % (g and g.group(1), want))
        kz = [re.sub(r"\s+", " ", l[5:]) for l in log.splitlines()
              if re.match(r"^pmm: (DMA|DMA32|NORMAL) ", l)]
        gz = []
        for l in b:
            mz = re.match(r"^(DMA|DMA32|NORMAL)\s+(\S+ \S+)\s+(\S+ \S+)\s", l)
            if mz:
                gz.append("%s %s %s" % mz.groups())
        compare(tap, "strata-buddy: each zone's RAM and free = the kernel's zone table", gz, kz)
        ko = block(log, r"^pmm: free blocks per order", r"^\s+\d+:\d+")[1:]
        go = block("\n".join(b), r"^free blocks per order", r"^\s+\d+:\d+")[1:]
        compare(tap, "strata-buddy: free blocks per order = the kernel's table", go, ko)
        tap.check("strata-buddy check: the frame records agree with the zones' counters",
                  any("the records agree with the counters" in l for l in b), "records disagree",
                  [l for l in b if l.startswith("records:")])

    ok, bl = run_ok("buddy-blocks", "strata-buddy blocks ORDER: as many as the kernel's table counts")
    if ok:
        m = re.match(r"^free blocks of order (\d+) .*: (\d+)$", bl[0] if bl else "")
        kc = dict(re.findall(r"(\d+):(\d+)", "\n".join(
            block(log, r"^pmm: free blocks per order", r"^\s+\d+:\d+")[1:])))
        tap.check("strata-buddy blocks ORDER: as many as the kernel's table counts",
                  m and kc.get(m.group(1)) == m.group(2) and int(m.group(2)) == len(bl) - 1,
                  "kernel %s" % (kc.get(m.group(1)) if m else "?"), bl)
        ok, ft = run_ok("frame-tail", "strata-frame in a free block: a TAIL, its head that block's")
        if ok:
            head = re.match(r"^  pa ([0-9a-f]+)\.\.", bl[1] if len(bl) > 1 else "")
            tap.check("strata-frame in a free block: a TAIL, its head that block's",
                      m and head and any("state TAIL" in l for l in ft) and
                      any(l.strip() == "inside the free block of order %s at pa %s" % (m.group(1), head.group(1))
                          for l in ft), "", ft)

    # ---- strata-maps against the kernel's own pg_dump
    kdump = block(log, r"^paging: address space [0-9a-f]+ \(", r"^  [0-9a-f]{16}-")
    ok, mk = run_ok("maps-kernel", "strata-maps kernel = the kernel's pg_dump, line for line")
    if ok:
        compare(tap, "strata-maps kernel = the kernel's pg_dump, line for line", mk, kdump)
    ok, mc = run_ok("maps-cr3", "strata-maps (CR3's root) = strata-maps kernel at vmm_demo")
    if ok:
        compare(tap, "strata-maps (CR3's root) = strata-maps kernel at vmm_demo", mc, mk)

    # ---- strata-vmm against vmm_report of the kernel space
    ok, v = run_ok("vmm-kernel", "strata-vmm = the kernel's vmm_report of the kernel space")
    if ok:
        kv = block(log, r"^vmm: address space kernel ", r"^  [0-9a-f]{16}-")
        compare(tap, "strata-vmm = the kernel's vmm_report of the kernel space", v[:len(kv)], kv)
        kl = first(log, r"^VMM space=kernel (.*)$")
        gl = [l for l in v if l.startswith("VMM space=kernel ")]
        keys = ("regions", "resident", "mmio_pages", "node_pages", "faults", "resolved",
                "cow_copied", "cow_reused", "swapped")
        kd = dict(re.findall(r"(\w+)=(\S+)", kl.group(1))) if kl else {}
        gd = dict(re.findall(r"(\w+)=(\S+)", gl[0])) if gl else {}
        bad = [k for k in keys if kd.get(k) is None or kd.get(k) != gd.get(k)]
        tap.check("strata-vmm: the space's counters = the kernel's VMM line", kd and not bad,
                  "differ: %s" % " ".join("%s kernel %s gdb %s" % (k, kd.get(k), gd.get(k)) for k in bad))

    # ---- strata-pt: a symbol and an HHDM address
    elf = harness.ELF
    kva = symbol(elf, "kmain")
    kpa = elf_pa(elf, kva) if kva else None
    ok, p = run_ok("pt-kmain", "strata-pt kmain: its physical load address (ELF program headers), r-x")
    if ok:
        last = p[-1] if p else ""
        m = re.match(r"^va ([0-9a-f]+) -> pa ([0-9a-f]+) \(4K page, (r-x k g wb)\)", last)
        tap.check("strata-pt kmain: its physical load address (ELF program headers), r-x",
                  m and int(m.group(1), 16) == kva and int(m.group(2), 16) == kpa,
                  "ELF: va %x pa %s; gdb: %s" % (kva or 0, "%x" % kpa if kpa else "?", last), p)
        levels = [l for l in p if re.match(r"^  (PML5|PML4|PDPT|PD|PT)\[\d+\]", l)]
        n = first(log, r"^paging: address space [0-9a-f]+ \((\d) levels\)")
        n = int(n.group(1)) if n else 4
        tap.check("strata-pt kmain: one line a level (as many as the kernel's pg_dump says), PML4 511, PDPT 510",
                  len(levels) == n and any(l.startswith("  PML4[511]") for l in levels)
                  and any(l.startswith("  PDPT[510]") for l in levels), "levels: %d of %d" % (len(levels), n), p)
    root_m = first(log, r"^paging: the kernel address space \(root 0x([0-9a-f]+)\)")
    root = int(root_m.group(1), 16) if root_m else None
    ok, p = run_ok("pt-hhdm", "strata-pt of the HHDM address of the kernel root -> the root's pa")
    if ok:
        m = re.match(r"^va ffff8[0-9a-f]+ -> pa ([0-9a-f]+) \((\w+) page, rw- k g wb\)", p[-1] if p else "")
        tap.check("strata-pt of the HHDM address of the kernel root -> the root's pa",
                  m and root is not None and int(m.group(1), 16) == root, "root %s" % root, p)

    # ---- strata-frame: the root table, the kernel image, MMIO
    ok, f = run_ok("frame-root", "strata-frame of the kernel root: ALLOCATED, order 0, one reference")
    if ok:
        tap.check("strata-frame of the kernel root: ALLOCATED, order 0, one reference",
                  root is not None and f and f[0].startswith("frame pa %x " % root)
                  and any("state ALLOCATED, order 0, refs 1" in l for l in f), "", f)
    ok, f = run_ok("frame-kmain", "strata-frame &kmain: RESERVED, inside a protected kernel range")
    if ok:
        kr = [(int(a, 16), int(b, 16)) for a, b in
              re.findall(r"^  0x([0-9a-f]+) 0x([0-9a-f]+) .* kernel$", log, re.M)]
        inside = kpa is not None and any(a <= kpa < b for a, b in kr)
        tap.check("strata-frame &kmain: RESERVED, inside a protected kernel range",
                  inside and any("state RESERVED" in l for l in f) and
                  any("-> pa %x" % kpa in l for l in f), "kernel ranges %s" % kr, f)
    ok, f = run_ok("frame-mmio", "strata-frame 0xfee00000 (the local APIC): not RAM")
    if ok:
        tap.check("strata-frame 0xfee00000 (the local APIC): not RAM",
                  "0xfee00000" in log and f and f[0].endswith("not RAM the PMM manages"), "", f)

    # ---- strata-slab against slab_report
    tap.check("stops at proc_run_init, after slab_report", stops.get("proc_run_init") == "proc_run_init",
              "stopped at %s" % stops.get("proc_run_init", "nowhere"))
    ok, s = run_ok("slab", "strata-slab: the caches' rows = the kernel's slabinfo table")
    if ok:
        def rows(lines):
            return [" ".join(l.split()[1:9]) for l in lines if re.match(r"^slab: \S+\s+\d+\s+\d+\s+\d+", l)]
        krows = rows(block(log, r"^slab: cache\s+objsize", r"^slab: \S+\s+\d+"))
        compare(tap, "strata-slab: the caches' rows = the kernel's slabinfo table", rows(s), krows)
        kl = first(log, r"^(SLABINFO .*)$")
        gl = [l for l in s if l.startswith("SLABINFO ")]
        compare(tap, "strata-slab: its SLABINFO line = the kernel's", gl, [kl.group(1).rstrip()] if kl else [])
    ok, sa = run_ok("slab-all", "strata-slab all: one row per cache, as many as SLABINFO caches=")
    if ok:
        m = first(log, r"^SLABINFO caches=(\d+)")
        n = len([l for l in sa if re.match(r"^slab: \S+\s+\d+\s+\d+", l)])
        tap.check("strata-slab all: one row per cache, as many as SLABINFO caches=",
                  m and n == int(m.group(1)), "rows %d, SLABINFO %s" % (n, m and m.group(1)))

    # ---- strata-ps against the table init's ps() printed
    tap.check("stops at proc_list (init's ps system call)", stops.get("proc_list") == "proc_list",
              "stopped at %s" % stops.get("proc_list", "nowhere"))
    ok, ps = run_ok("ps", "strata-ps = the kernel's process table (every column)")
    if ok:
        def cols(lines):
            out = []
            for l in lines:
                m = re.match(r"^\s+(\d+)\s+(\d+)\s+(\w+)\s+(\S+)\s+(\d+) KiB\s+(\d+) KiB\s+(\d+) KiB"
                             r"\s+(\d+) KiB\s+(\d+)\s+(\d+) KiB", l)
                if m:
                    out.append(" ".join(m.groups()))
            return out
        kt = block(log, r"^\s+pid\s+ppid\s+state", r"^\s+\d+\s+\d+\s+\w+")
        compare(tap, "strata-ps = the kernel's process table (every column)",
                cols(ps), cols(kt))
    ok, vi = run_ok("vmm-init", "strata-vmm pid 1: its resident pages = the user pages strata-maps pid 1 shows")
    ok2, mi = run_ok("maps-init", "strata-maps pid 1 runs")
    if ok and ok2:
        resident = sum(int(m) for m in re.findall(r" (\d+) resident", "\n".join(vi)))
        pages = 0
        for l in mi:
            m = re.match(r"^  (0000[0-9a-f]{12})-\S+\s+\S+\s+\S+ u \S \S+  4K x(\d+)", l)
            if m:
                pages += int(m.group(2))
        tap.check("strata-vmm pid 1: its resident pages = the user pages strata-maps pid 1 shows",
                  resident and resident == pages, "regions say %d, tables hold %d" % (resident, pages))

    tap.check("the kernel ran to its end under gdb (QEMU exit status %d)" % harness.EXIT_PASS,
              status == harness.EXIT_PASS, "QEMU exit status %s" % status)


def session(iso, b, log_path):
    """One boot under gdb -batch: (gdb's output, QEMU's exit status or None)."""
    port = free_port()
    argv = harness.qemu_argv(b, iso, ["-gdb", "tcp:127.0.0.1:%d" % port, "-S"])
    with open(log_path, "wb") as log:
        q = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            env = dict(os.environ, STRATA_GDB_PORT=str(port))
            g = subprocess.run(["gdb", "-batch", "-nx", "-x", os.path.join(ROOT, "scripts/gdb/strata.py"),
                                "-x", os.path.join(ROOT, "tests/gdb/session.py"), harness.ELF],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=GDB_TIMEOUT, env=env, cwd=ROOT)
            out = g.stdout + g.stderr
            try:
                status = q.wait(timeout=30)
            except subprocess.TimeoutExpired:
                status = None
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            out += "\n(gdb timed out after %d s)" % GDB_TIMEOUT
            status = None
        finally:
            if q.poll() is None:
                q.kill()
                q.wait()
    return out, status


def main():
    tap = Tap()
    if not shutil.which("gdb"):
        tap.check("gdb is installed", False, "no gdb on PATH (Debian: apt-get install gdb)")
        return tap.print()
    try:
        iso = harness.build_iso("mode=run")
    except harness.HarnessError as e:
        tap.check("build the mode=run ISO", False, str(e))
        return tap.print()
    # STRATA_GDB_CPU / STRATA_GDB_MEM try another machine by hand (e.g. max: 5-level paging under TCG).
    b = harness.Boot(NAME, cmdline="mode=run", mem=os.environ.get("STRATA_GDB_MEM", "128M"), accel="tcg",
                     firmware="bios", cpu=os.environ.get("STRATA_GDB_CPU"))
    os.makedirs(harness.LOGS, exist_ok=True)
    log_path = os.path.join(harness.LOGS, NAME + ".log")
    gdb_path = os.path.join(harness.LOGS, NAME + ".gdb")
    for attempt in range(2):
        out, status = session(iso, b, log_path)
        res, stops = steps(out)
        # The free port may be taken between our look and QEMU's bind: then once more on another.
        if res.get("attach", (False,))[0]:
            break
    with open(gdb_path, "w") as f:
        f.write(out)
    with open(log_path, errors="replace") as f:
        serial = f.read()
    judge(tap, res, stops, serial, status)
    rc = tap.print()
    print("# gdb output in %s, serial in %s" % (harness.rel(gdb_path), harness.rel(log_path)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
