#!/usr/bin/python3
"""oracle.py - QEMU's MMU as a second opinion on Strata's page tables.

Boots `mode=run oracle=1` (TCG, -m 128M, BIOS) with a QMP socket. The
kernel (src/kernel/oracle.c) prints every leaf mapping of an address space
as ORACLE map lines, loads that space into CR3 and says ORACLE ready; this
script then asks QEMU's own page-table walkers, through QMP's
human-monitor-command, what the CPU sees there:

  info registers  CR3, to be sure QEMU walks the root the kernel dumped;
  info tlb        one line per leaf: va, pa and the entry's bits
                  (NX, G, PS, D, A, PCD, PWT, U/S, R/W) - the leaf's own;
  info mem        ranges of equal effective U/S and R/W (ANDed over all
                  levels), merged as QEMU merges them.

and compares both with the kernel's dump: every leaf in both, at the same
pa with the same page size, permissions and caching, nothing on one side
only. Then it sends a byte on COM1 and the kernel goes on to the next
space: the kernel's, then a process's (its kernel half must match too).

What QEMU 7.2 cannot show: `info tlb` prints a 4 KiB PTE with bit 7 (PAT)
cleared and masks a huge page's bit 12 (PAT) out of its address, so the
PAT bit is invisible and a write-combining page (PAT=1, PCD=0, PWT=0) is
compared as PCD=0 PWT=0; `info mem` has no NX column (info tlb's X has it).

Prints TAP: the kernel space agrees, the process space agrees, and checks
that the comparer reports what it should (a page's flags changed, a page
missing, a page extra), on the dump and QEMU output of this very boot.
docs/oracle.md explains it. Standard library only; /usr/bin/python3.
"""

import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import harness  # noqa: E402

CMDLINE = "mode=run oracle=1"
BOOT_TIMEOUT = 120      # seconds for the whole boot, both spaces included

PAGE = 0x1000
# The cache type's PCD and PWT bits (src/mm/paging/pte.h's PAT table); WC is the PAT bit alone.
CACHE_BITS = {"wb": (0, 0), "wt": (0, 1), "uc": (1, 1), "wc": (0, 0)}

MAP_RX = re.compile(r"^ORACLE map va=([0-9a-f]+) pa=([0-9a-f]+) size=([0-9a-f]+) page=([0-9a-f]+) "
                    r"flags=([r-][w-][x-][u-][g-]) cache=(wb|wt|uc|wc)\s*$")
READY_RX = re.compile(r"^ORACLE ready space=(\w+) cr3=([0-9a-f]+) levels=(\d+) maps=(\d+)\s*$")
TLB_RX = re.compile(r"^([0-9a-f]{16}): ([0-9a-f]{16}) ([X-])([G-])([P-])([D-])([A-])([C-])([T-])([U-])([W-])$")
MEM_RX = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16}) ([0-9a-f]{16}) ([u-])r([w-])$")


# ------------------------------------------------------------- the two views --

def kernel_leaves(maps):
    """The kernel's map lines as leaves {va: (pa, page, flags, cache)}."""
    out = {}
    for va, pa, size, page, flags, cache in maps:
        for off in range(0, size, page):
            out[va + off] = (pa + off, page, flags, cache)
    return out


def parse_maps(lines):
    """ORACLE map lines -> [(va, pa, size, page, flags, cache)]."""
    maps = []
    for l in lines:
        m = MAP_RX.match(l)
        if m:
            maps.append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16),
                         int(m.group(4), 16), m.group(5), m.group(6)))
    return maps


def parse_tlb(text):
    """`info tlb` -> ({va: (pa, bits)}, unparsed lines); bits maps letter -> bool."""
    leaves, bad = {}, []
    for l in text.splitlines():
        l = l.strip()
        if not l:
            continue
        m = TLB_RX.match(l)
        if not m:
            bad.append(l)
            continue
        bits = dict(zip("XGPDACTUW", (c != "-" for c in m.groups()[2:])))
        leaves[int(m.group(1), 16)] = (int(m.group(2), 16), bits)
    return leaves, bad


def parse_mem(text):
    """`info mem` -> ([(start, end, user, write)], unparsed lines)."""
    ranges, bad = [], []
    for l in text.splitlines():
        l = l.strip()
        if not l:
            continue
        m = MEM_RX.match(l)
        if not m:
            bad.append(l)
            continue
        ranges.append((int(m.group(1), 16), int(m.group(2), 16), m.group(4) == "u", m.group(5) == "w"))
    return ranges, bad


# ------------------------------------------------------------- comparing --

def fmt_bits(bits):
    return "".join(c if bits[c] else "-" for c in "XGPCTUW")


def expected_bits(page, flags, cache):
    """The bits info tlb should print for a kernel leaf (D and A are the CPU's, not compared)."""
    pcd, pwt = CACHE_BITS[cache]
    return {"X": flags[2] != "x", "G": flags[4] == "g", "P": page > PAGE,
            "C": bool(pcd), "T": bool(pwt), "U": flags[3] == "u", "W": flags[1] == "w"}


def compare_tlb(maps, tlb_text, limit=20):
    """Differences between the kernel's leaves and info tlb's, one string each."""
    want = kernel_leaves(maps)
    got, bad = parse_tlb(tlb_text)
    diffs = [f"info tlb line not understood: {l!r}" for l in bad[:3]]
    for va in sorted(set(want) | set(got)):
        if va not in got:
            diffs.append(f"{va:016x}: the kernel maps it (pa {want[va][0]:x}), QEMU sees nothing")
            continue
        if va not in want:
            diffs.append(f"{va:016x}: QEMU sees a page (pa {got[va][0]:x} {fmt_bits(got[va][1])}), "
                         f"the kernel's dump has none")
            continue
        pa, page, flags, cache = want[va]
        qpa, qbits = got[va]
        wbits = expected_bits(page, flags, cache)
        if qpa != pa:
            diffs.append(f"{va:016x}: pa {qpa:x} in QEMU, {pa:x} in the kernel's dump")
        if any(qbits[c] != wbits[c] for c in wbits):
            diffs.append(f"{va:016x}: QEMU {fmt_bits(qbits)}, kernel {fmt_bits(wbits)} "
                         f"({flags} {cache}, {page:#x} page)")
    return diffs[:limit] + ([f"... {len(diffs) - limit} more"] if len(diffs) > limit else [])


def raw_va(va, bits):
    """The address as QEMU's info mem walk counts it: without the sign extension."""
    return va & ((1 << bits) - 1)


def canonical(va, bits):
    """va sign-extended from bit bits-1, as QEMU prints addresses."""
    return va | -(1 << bits) & ((1 << 64) - 1) if va >> (bits - 1) & 1 else va


def expected_mem(maps, bits):
    """What info mem should print for the kernel's leaves: runs of equal (user, write),
    contiguous in the walk's (sign-extension free) addresses, as QEMU merges them."""
    runs = []
    for va, _pa, size, _page, flags, _cache in sorted(maps, key=lambda m: raw_va(m[0], bits)):
        start, prot = raw_va(va, bits), (flags[3] == "u", flags[1] == "w")
        if runs and runs[-1][1] == start and runs[-1][2] == prot:
            runs[-1][1] = start + size
        else:
            runs.append([start, start + size, prot])
    # QEMU prints both ends sign-extended (an end at 2^bits stays as it is).
    return [(canonical(s, bits), e if e == 1 << bits else canonical(e, bits), u, w)
            for s, e, (u, w) in runs]


def compare_mem(maps, mem_text, bits, limit=10):
    """Differences between the kernel's leaves, merged as info mem merges, and info mem."""
    got, bad = parse_mem(mem_text)
    want = expected_mem(maps, bits)
    diffs = [f"info mem line not understood: {l!r}" for l in bad[:3]]
    show = lambda r: f"{r[0]:016x}-{r[1]:016x} {'u' if r[2] else '-'}r{'w' if r[3] else '-'}"
    gs, ws = set(got), set(want)
    diffs += [f"info mem has {show(r)}, the kernel's dump does not" for r in got if r not in ws]
    diffs += [f"the kernel's dump gives {show(r)}, info mem does not" for r in want if r not in gs]
    return diffs[:limit] + ([f"... {len(diffs) - limit} more"] if len(diffs) > limit else [])


def compare_space(view):
    """All differences for one space: CR3, the count of map lines, info tlb, info mem."""
    diffs = []
    m = re.search(r"\bCR3=([0-9a-f]+)", view["registers"])
    if not m:
        diffs.append("info registers shows no CR3")
    elif int(m.group(1), 16) & ~0xfff != view["cr3"]:
        diffs.append(f"QEMU's CR3 is {m.group(1)}, the kernel said {view['cr3']:x}")
    if len(view["maps"]) != view["nmaps"]:
        diffs.append(f"the kernel said maps={view['nmaps']}, {len(view['maps'])} map lines arrived")
    if not view["maps"]:
        diffs.append("the kernel's dump is empty")
    diffs += compare_tlb(view["maps"], view["tlb"])
    if view["levels"] == 4:
        diffs += compare_mem(view["maps"], view["mem"], 48)
    return diffs


# QEMU 7.2's mem_info_la57 tests a PDPT and a PD entry for presence the wrong way round
# (a present one is taken as a hole), so with 5 levels `info mem` prints nothing useful.
LA57_NOTE = "info mem not compared: with 5 levels QEMU's walk skips present PDPT and PD entries"


# ------------------------------------------------------------- the boot --

class Qmp:
    """Just enough QMP: the greeting, qmp_capabilities, human-monitor-command."""

    def __init__(self, path, deadline, proc):
        while True:
            if proc.poll() is not None:
                raise EOFError(f"QEMU exited (status {proc.returncode}) before its QMP socket opened")
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(30)
        self.f = self.sock.makefile("rwb")
        self.reply()                    # the greeting
        self.execute("qmp_capabilities")

    def reply(self):
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("QMP closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, cmd, **args):
        self.f.write(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
        self.f.flush()
        r = self.reply()
        if "error" in r:
            raise RuntimeError(f"QMP {cmd}: {r['error']}")
        return r["return"]

    def hmp(self, line):
        return self.execute("human-monitor-command", **{"command-line": line})

    def close(self):
        self.f.close()
        self.sock.close()


def boot():
    """Boot once; returns (views {space: view}, log text, problem or "")."""
    # STRATA_ORACLE_CPU=max tries another CPU model (5-level paging, PCID, 1 GiB pages under TCG).
    cpu = os.environ.get("STRATA_ORACLE_CPU")
    b = harness.Boot(name="oracle-bios-128M-tcg" + (f"-{cpu}" if cpu else ""), cmdline=CMDLINE,
                     mem="128M", cpu=cpu)
    iso = harness.build_iso(CMDLINE)
    tmp = tempfile.mkdtemp(prefix="strata-oracle-")
    qmp_path = os.path.join(tmp, "qmp.sock")
    argv = harness.qemu_argv(b, iso, ["-qmp", f"unix:{qmp_path},server=on,wait=off"])
    os.makedirs(harness.LOGS, exist_ok=True)
    log_path = os.path.join(harness.LOGS, f"{b.name}.log")
    deadline = time.monotonic() + BOOT_TIMEOUT
    views, maps, buf, log, problem, qmp = {}, [], b"", [], "", None
    err = open(os.path.join(harness.LOGS, f"{b.name}.qemu-stderr"), "w+")
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
    try:
        qmp = Qmp(qmp_path, deadline, p)
        done = False
        while not done:
            left = deadline - time.monotonic()
            if left <= 0:
                problem = f"timed out after {BOOT_TIMEOUT} s"
                break
            ready, _, _ = select.select([p.stdout], [], [], left)
            if not ready:
                continue
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                problem = f"QEMU exited (status {p.wait()}) before ORACLE done"
                break
            buf += data
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                log.append(line)
                if line.startswith("PANIC:"):
                    problem = line
                if line.startswith("ORACLE map "):
                    maps.append(line)
                m = READY_RX.match(line)
                if m:
                    # The kernel waits in this space until it reads a byte: ask QEMU now.
                    views[m.group(1)] = {
                        "cr3": int(m.group(2), 16), "levels": int(m.group(3)),
                        "nmaps": int(m.group(4)), "maps": parse_maps(maps),
                        "registers": qmp.hmp("info registers"),
                        "tlb": qmp.hmp("info tlb"), "mem": qmp.hmp("info mem")}
                    maps = []
                    p.stdin.write(b"g")
                    p.stdin.flush()
                if line.startswith("ORACLE done"):
                    done = True
    except (OSError, EOFError, RuntimeError, ValueError) as e:
        problem = f"{type(e).__name__}: {e}"
    finally:
        if qmp:
            qmp.close()
        try:
            # After ORACLE done, mode=run goes on to its end: the rest of the log is kept.
            rest, _ = p.communicate(timeout=max(1, deadline - time.monotonic()) if done else 1)
            log += rest.decode("utf-8", "replace").replace("\r", "").splitlines()
            if not problem and p.returncode != harness.EXIT_PASS:
                problem = f"QEMU exited with status {p.returncode}, not {harness.EXIT_PASS} (pass)"
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            problem = problem or f"the boot did not end within {BOOT_TIMEOUT} s"
        if not problem:
            # The rest of mode=run, judged as any run boot is: the oracle left nothing broken.
            v = harness.judge_run(p.returncode, False, "\n".join(log))
            problem = "" if v.ok else f"mode=run after the oracle: {v.reason}"
        err.seek(0)
        if problem:
            log += [f"(QEMU stderr) {l}" for l in err.read().splitlines()[-5:]]
        err.close()
        if os.path.exists(qmp_path):
            os.unlink(qmp_path)
        os.rmdir(tmp)
        with open(log_path, "w") as f:
            f.write("\n".join(log) + "\n")
        for name, v in views.items():
            with open(os.path.join(harness.LOGS, f"{b.name}.{name}.tlb"), "w") as f:
                f.write(v["tlb"])
            with open(os.path.join(harness.LOGS, f"{b.name}.{name}.mem"), "w") as f:
                f.write(v["mem"])
    return views, log, problem


# ------------------------------------------------------------- the comparer's own check --

def mutations(view):
    """Dumps that differ from view's in one known way: (what, va the comparer must name,
    whether info mem must see it too, maps). A 4 KiB page (a user one if there is one) with
    its W, NX, U, cache type or pa changed, or dropped; a 2 MiB page with W changed; a page
    added where nothing is mapped."""
    leaves = kernel_leaves(view["maps"])
    small = sorted(va for va, l in leaves.items() if l[1] == PAGE)
    user = [va for va in small if leaves[va][2][3] == "u"]
    huge = sorted(va for va, l in leaves.items() if l[1] > PAGE)
    huge = [va for va in huge if leaves[va][2][3] == "u"] or huge
    if not small:
        return []
    va = (user or small)[len(user or small) // 2]

    def edited(at, change):
        out = []
        for k, (pa, page, flags, cache) in sorted(leaves.items()):
            if k == at:
                r = change(pa, page, flags, cache)
                if r is None:
                    continue
                pa, page, flags, cache = r
            out.append((k, pa, page, page, flags, cache))
        return out

    flip = lambda f, i, c: f[:i] + ("-" if f[i] == c else c) + f[i + 1:]
    top = max(leaves)
    free_va = top + leaves[top][1]
    if free_va >= 1 << 64:
        free_va = min(leaves) - PAGE
    extra = edited(None, None) + [(free_va, 0x1000, PAGE, PAGE, "rw---", "wb")]
    cases = [
        ("writable flipped", va, True, edited(va, lambda pa, pg, f, c: (pa, pg, flip(f, 1, "w"), c))),
        ("executable (NX) flipped", va, False, edited(va, lambda pa, pg, f, c: (pa, pg, flip(f, 2, "x"), c))),
        ("user flipped", va, True, edited(va, lambda pa, pg, f, c: (pa, pg, flip(f, 3, "u"), c))),
        ("cache type changed", va, False,
         edited(va, lambda pa, pg, f, c: (pa, pg, f, "uc" if c != "uc" else "wb"))),
        ("pa changed", va, False, edited(va, lambda pa, pg, f, c: (pa + PAGE, pg, f, c))),
        ("a page missing from the dump", va, True, edited(va, lambda pa, pg, f, c: None)),
        ("a page QEMU does not see", free_va, True, extra),
    ]
    if huge:
        h = huge[len(huge) // 2]
        cases.append(("a 2 MiB page's writable flipped", h, True,
                      edited(h, lambda pa, pg, f, c: (pa, pg, flip(f, 1, "w"), c))))
    return cases


def check_comparer(view):
    """(ok, diagnostics): each mutation reported by the info tlb comparison at its va (and by
    the info mem one where it can see it); the unchanged dump reported by neither."""
    bits = 9 * view["levels"] + 12
    mem_ok = view["levels"] == 4       # LA57_NOTE
    if compare_tlb(view["maps"], view["tlb"]) or (mem_ok and compare_mem(view["maps"], view["mem"], bits)):
        return False, ["the unchanged dump already differs: nothing to learn from mutations"]
    cases = mutations(view)
    if not cases:
        return False, ["no 4 KiB page in the dump to mutate"]
    diag, ok = [], True
    for what, va, by_mem, maps in cases:
        by_mem &= mem_ok
        found = [d for d in compare_tlb(maps, view["tlb"]) if d.startswith(f"{va:016x}:")]
        mem = compare_mem(maps, view["mem"], bits) if by_mem else []
        good = bool(found) and (bool(mem) or not by_mem)
        ok &= good
        diag.append(f"{what} at {va:016x}: " + (found[0] if found else "NOT reported by info tlb") +
                    ("" if not by_mem else f"; info mem: {mem[0]}" if mem else "; NOT reported by info mem"))
    return ok, diag


# ------------------------------------------------------------- TAP --

def tap(n, ok, name, diag=()):
    global failed
    failed |= not ok
    print(f"{'ok' if ok else 'not ok'} {n} {name}")
    for d in diag:
        print(f"# {d}")


failed = False


def main():
    print("1..4")
    try:
        views, log, problem = boot()
    except harness.HarnessError as e:
        views, log, problem = {}, [], str(e)
    if problem:
        print(f"# boot: {problem}")
        for l in log[-15:]:
            print(f"#   {l}")
    for n, space in ((1, "kernel"), (2, "process"), (3, "program")):
        v = views.get(space)
        if not v:
            tap(n, False, f"{space} space agrees with QEMU's info tlb and info mem",
                [f"no ORACLE ready space={space}"])
            continue
        diffs = compare_space(v) + ([f"the boot: {problem}"] if problem else [])
        tlb_n = len(parse_tlb(v["tlb"])[0])
        mem_n = len(parse_mem(v["mem"])[0])
        tap(n, not diffs, f"{space} space agrees with QEMU's info tlb and info mem",
            [f"cr3 {v['cr3']:x}, {v['levels']} levels: {len(v['maps'])} map lines, "
             f"{len(kernel_leaves(v['maps']))} leaves; info tlb {tlb_n} leaves, info mem {mem_n} ranges"] +
            ([LA57_NOTE] if v["levels"] != 4 else []) + diffs)
    v = views.get("process") or views.get("kernel")
    if v:
        ok, diag = check_comparer(v)
    else:
        ok, diag = False, ["no space was read: nothing to mutate"]
    tap(4, ok, "the comparer reports a changed, a missing and an extra page", diag)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
