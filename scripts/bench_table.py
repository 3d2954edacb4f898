#!/usr/bin/env python3
"""bench_table.py LOG - the one table at the end of `make bench` (issue 14).

Reads the log of `make bench` (build/bench/bench.txt) and prints, for each
benchmark the performance issue sets a goal for, one line

    COMPARE bench=<name> strata=<v> best=<peer> best_value=<v> ratio=<strata/best>
            unit=<ns|instr|pct> goal=<text> met=<yes|no>

(one line each), or `COMPARE bench=<name> missing=<which line>` when a line it
needs is not in the log: a row is never dropped. A short human table follows.

Sources in the log:
  - host BENCH lines, under `# host <binary>` headers (harness.py bench);
  - kernel BENCH lines, after the `# kernel mode=bench, <mode>, ...` header;
    under -icount they carry ` unit=instr` and cycles_per_op is an exact
    guest instruction count; a wall-clock boot tags them ` accel=<tcg|kvm>`.
    The same names appear in both sections, so each line is kept by section;
  - scripts/bench_alloc.sh: `BENCHCMP name=<loop> strata=F glibc=F ...` (ns
    per op, medians) and `# strata BENCH name=slab_efficiency ... efficiency=F%`;
  - scripts/bench_instr.sh: `BENCHINSTR name=<loop> glibc=F ...` (instructions
    per op under callgrind), set against the kernel's -icount figures of the
    same loops (rows instr_*).

Benchmarks print, they do not judge: the exit status is 0 whatever the
ratios, and 1 only when the log holds no BENCH line at all (a run that
measured nothing). Standard library only.
"""

import re
import sys

PEERS = ("glibc", "jemalloc", "mimalloc", "tcmalloc")
KV_RE = re.compile(r"(\S+?)=(\S+)")
BENCH_RE = re.compile(r"^(?:# strata )?BENCH name=(\S+)(.*)$")
BENCHCMP_RE = re.compile(r"^BENCHCMP name=(\S+)(.*)$")
BENCHINSTR_RE = re.compile(r"^BENCHINSTR name=(\S+)(.*)$")
KERNEL_HDR_RE = re.compile(r"^# kernel mode=bench,\s*([^,]+),")


def num(s):
    try:
        return float(s.rstrip("%"))
    except (TypeError, ValueError):
        return None


def fields(rest):
    return {k: v for k, v in KV_RE.findall(rest)}


class Log:
    """The log's lines sorted by where they came from."""

    def __init__(self):
        self.host = {}        # name -> {field: text}, host BENCH lines
        self.kernel = {}      # name -> {field: text}, kernel BENCH lines
        self.cmp = {}         # loop -> {allocator: ns}, BENCHCMP lines
        self.instr = {}       # loop -> {allocator: instructions}, BENCHINSTR lines
        self.slab_eff = None  # fields of the `# strata BENCH name=slab_efficiency` line
        self.kernel_mode = None   # icount | tcg | kvm
        self.bench_lines = 0
        self.order = []       # BENCHCMP loop names in log order


def parse(text):
    log = Log()
    section = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("# host "):
            section = "host"
            continue
        m = KERNEL_HDR_RE.match(line)
        if m:
            section = "kernel"
            log.kernel_mode = m.group(1).strip()
            continue
        m = BENCHCMP_RE.match(line)
        if m:
            log.bench_lines += 1
            f = fields(m.group(2))
            log.cmp[m.group(1)] = {k: num(v) for k, v in f.items() if num(v) is not None}
            if m.group(1) not in log.order:
                log.order.append(m.group(1))
            continue
        m = BENCHINSTR_RE.match(line)
        if m:
            log.bench_lines += 1
            f = fields(m.group(2))
            log.instr[m.group(1)] = {k: num(v) for k, v in f.items() if num(v) is not None}
            continue
        m = BENCH_RE.match(line)
        if not m:
            # A host section or the kernel's ends at its first other line.
            if line.strip():
                section = None
            continue
        log.bench_lines += 1
        name, f = m.group(1), fields(m.group(2))
        if line.startswith("# strata "):
            if name == "slab_efficiency" and log.slab_eff is None:
                log.slab_eff = f
            continue
        if f.get("unit") == "instr" or "accel" in f or section == "kernel":
            log.kernel[name] = f
            if f.get("unit") == "instr":
                log.kernel_mode = "icount"
            elif "accel" in f and log.kernel_mode not in ("tcg", "kvm"):
                log.kernel_mode = f["accel"]
        elif section == "host":
            log.host[name] = f
        elif name == "slab_efficiency" and log.slab_eff is None:
            log.slab_eff = f
        else:
            log.host.setdefault(name, f)
    return log


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:.2f}"


class Row:
    def __init__(self, bench, unit, goal, strata=None, best=None, best_value=None,
                 met=None, missing=None, note=None, ratio=None):
        self.bench, self.unit, self.goal = bench, unit, goal
        self.strata, self.best, self.best_value = strata, best, best_value
        self.missing, self.note = missing, note
        self.ratio = ratio
        if ratio is None and missing is None and isinstance(strata, float) \
                and isinstance(best_value, float) and best_value > 0:
            self.ratio = strata / best_value
        self.met = met

    def compare_line(self):
        if self.missing:
            return f"COMPARE bench={self.bench} missing={self.missing}"
        s = (f"COMPARE bench={self.bench} strata={fmt(self.strata)} best={self.best} "
             f"best_value={fmt(self.best_value)} ratio={fmt(self.ratio)} unit={self.unit} "
             f"goal={self.goal} met={self.met_text()}")
        return s + (f" {self.note}" if self.note else "")

    def met_text(self):
        return "-" if self.met is None else ("yes" if self.met else "no")


def host_ns(log, name):
    f = log.host.get(name)
    return None if f is None else num(f.get("ns_per_op"))


def vs_peer(log, bench, ours, peer, max_ratio):
    """Host ns of `ours` against host ns of `peer`: met when the ratio <= max_ratio."""
    a, b = host_ns(log, ours), host_ns(log, peer)
    if a is None or b is None:
        gone = [f"host:{n}" for n, v in ((ours, a), (peer, b)) if v is None]
        return Row(bench, "ns", "", missing=",".join(gone))
    r = Row(bench, "ns", f"<={max_ratio:g}x", strata=a, best=peer, best_value=b)
    r.met = r.ratio is not None and r.ratio <= max_ratio
    return r


def vs_goal(bench, value, unit, goal_value, at_most, missing):
    """A figure against a fixed goal (best=goal): <= goal_value when at_most, else >=."""
    if value is None:
        return Row(bench, unit, "", missing=missing)
    sign = "<=" if at_most else ">="
    goal = f"{sign}{goal_value:g}{unit}"
    r = Row(bench, unit, goal, strata=value, best="goal", best_value=float(goal_value))
    r.met = value <= goal_value if at_most else value >= goal_value
    return r


def slab_row(log, loop):
    c = log.cmp.get(loop)
    if c is None:
        return Row(loop, "ns", "", missing=f"BENCHCMP:{loop}")
    if "strata" not in c:
        return Row(loop, "ns", "", missing=f"BENCHCMP:{loop}.strata")
    peers = {p: c[p] for p in PEERS if p in c and c[p] > 0}
    if not peers:
        return Row(loop, "ns", "", missing=f"BENCHCMP:{loop}.glibc|jemalloc|mimalloc|tcmalloc")
    best = min(peers, key=peers.get)
    r = Row(loop, "ns", "<=1.0x", strata=c["strata"], best=best, best_value=peers[best])
    r.met = r.ratio <= 1.0
    return r


def kernel_instr(log, name):
    """The kernel's exact instruction count per op of name, or None (no -icount boot)."""
    f = log.kernel.get(name)
    if f is None or not (f.get("unit") == "instr" or (log.kernel_mode == "icount" and "accel" not in f)):
        return None
    return num(f.get("cycles_per_op"))


def instr_vs_ref(log, bench, ours, ref, max_ratio):
    """Kernel instructions of ours against the kernel's reference allocator, same boot."""
    a, b = kernel_instr(log, ours), kernel_instr(log, ref)
    if a is None or b is None:
        gone = [f"kernel-icount:{n}" for n, v in ((ours, a), (ref, b)) if v is None]
        return Row(bench, "instr", "", missing=",".join(gone))
    r = Row(bench, "instr", f"<={max_ratio:g}x", strata=a, best=ref, best_value=b)
    r.met = r.ratio is not None and r.ratio <= max_ratio
    return r


def instr_vs_peers(log, loop):
    """The kernel heap's instructions per op (-icount) against the fewest of the peers (callgrind)."""
    bench = f"instr_{loop}"
    a = kernel_instr(log, loop)
    c = log.instr.get(loop, {})
    peers = {p: c[p] for p in PEERS if p in c and c[p] > 0}
    if a is None or not peers:
        gone = ([f"kernel-icount:{loop}"] if a is None else []) + \
               ([f"BENCHINSTR:{loop}"] if not peers else [])
        return Row(bench, "instr", "", missing=",".join(gone))
    best = min(peers, key=peers.get)
    r = Row(bench, "instr", "<=1.0x", strata=a, best=best, best_value=peers[best])
    r.met = r.ratio <= 1.0
    return r


def slab_loops(log):
    hot = sorted((l for l in log.cmp if re.fullmatch(r"slab_hot_\d+", l)),
                 key=lambda l: int(l.rsplit("_", 1)[1]))
    return hot or ["slab_hot_<size>"]


def rows(log):
    out = [
        vs_peer(log, "buddy_hot_pair", "buddy_page_pair_hot", "ref_freelist_pair_hot", 2),
        vs_peer(log, "buddy_alloc_all", "buddy_alloc_all", "ref_freelist_alloc_all", 2),
        vs_peer(log, "buddy_free_all_random", "buddy_free_all_random",
                "ref_freelist_free_all_random", 2),
    ]
    # Whole 2 MiB windows freed page by page: every one should come back as a block.
    win = "buddy_order9_after_window_free"
    out.append(vs_goal(win, host_ns(log, win), "ns", 20, True, f"host:{win}"))
    f = log.host.get(win)
    rate = None if f is None else num(f.get("rate_pct"))
    out.append(vs_goal("buddy_order9_window_rate", rate, "pct", 100, False,
                       f"host:{win}" + ("" if f is None else ".rate_pct")))
    # A request no block can meet: no free window at all, or pages freed at random
    # (half or nine tenths of them: no window whole), which every attempt fails.
    for name in ("buddy_order9_fail", "buddy_order9_after_free50", "buddy_order9_after_free90"):
        out.append(vs_goal(name, host_ns(log, name), "ns", 5, True, f"host:{name}"))
    for loop in slab_loops(log) + ["slab_lifo_4096", "slab_random_4096", "slab_mixed_steady"]:
        out.append(slab_row(log, loop))
    eff = None if log.slab_eff is None else num(log.slab_eff.get("efficiency"))
    out.append(vs_goal("slab_efficiency", eff, "pct", 85, False,
                       "bench_alloc:slab_efficiency.efficiency"))
    out.append(vs_goal("paging_map_4k", host_ns(log, "paging_host_map_4k_tables_present"),
                       "ns", 8, True, "host:paging_host_map_4k_tables_present"))
    # Instructions, which no machine noise moves: the kernel under -icount.
    out.append(instr_vs_ref(log, "instr_buddy_hot_pair", "buddy_page_pair_hot", "ref_freelist_pair_hot", 2))
    out.append(instr_vs_ref(log, "instr_buddy_alloc_all", "buddy_alloc_all", "ref_freelist_alloc_all", 2))
    out.append(instr_vs_ref(log, "instr_buddy_free_all_random", "buddy_free_all_random",
                            "ref_freelist_free_all_random", 2))
    hot = sorted((l for l in log.instr if re.fullmatch(r"slab_hot_\d+", l)),
                 key=lambda l: int(l.rsplit("_", 1)[1])) or ["slab_hot_64"]
    for loop in hot + ["slab_lifo_4096", "slab_random_4096", "slab_mixed_steady"]:
        out.append(instr_vs_peers(log, loop))
    # Issue 15: a copy-on-write fork against an eager copy of the same space (the gain is the
    # point), the copy fault against a demand-zero fault, and a file read through a shared
    # mapping against read() into a buffer; all the kernel boot's -icount figures.
    for mib in (1, 16, 64):
        out.append(instr_vs_ref(log, f"instr_fork_{mib}m", f"fork_cow_{mib}m", f"fork_eager_{mib}m", 0.1))
    out.append(instr_vs_ref(log, "instr_fork_copy_fault", "fork_copy_fault", "fork_zero_fault", 1.5))
    out.append(instr_vs_ref(log, "instr_file_mmap_read", "file_mmap_shared", "file_read_copy", 1.0))
    return out


def human_table(log, table):
    lines = ["", "# bench table (issue 14): strata against the best peer or the goal; "
             "ns = host wall clock, instr = kernel guest instructions (-icount)",
             f"{'bench':<28}{'strata':>11}  {'best':<24}{'best_value':>11}{'ratio':>8}"
             f"  {'unit':<6}{'goal':<15}{'met':<4}"]
    for r in table:
        if r.missing:
            lines.append(f"{r.bench:<28}{'missing: ' + r.missing}")
            continue
        lines.append(f"{r.bench:<28}{fmt(r.strata):>11}  {r.best:<24}{fmt(r.best_value):>11}"
                     f"{fmt(r.ratio):>8}  {r.unit:<6}{r.goal:<15}{r.met_text():<4}"
                     + (f" {r.note}" if r.note else ""))
        if r.bench == "buddy_alloc_all":
            s = host_ns(log, "ref_stack_alloc_all")
            if s is None:
                lines.append(f"{'  vs ref_stack_alloc_all':<28}missing: host:ref_stack_alloc_all")
            else:
                lines.append(f"{'  vs ref_stack_alloc_all':<28}{'':>11}  {'ref_stack_alloc_all':<24}"
                             f"{fmt(s):>11}{fmt(r.strata / s if s > 0 else None):>8}  ns")
    extra = sorted(n for n in log.host
                   if re.fullmatch(r"buddy_pair_order_\d+|buddy_init_\d+g", n))
    if extra:
        lines.append("# more host buddy lines (no goal yet): " +
                     ", ".join(f"{n}={fmt(host_ns(log, n))}ns" for n in extra))
    mode = log.kernel_mode or "no kernel boot in the log"
    lines.append(f"# kernel boot: {mode}"
                 + (" (cycles_per_op = exact guest instructions per op)" if mode == "icount" else ""))
    met = [r for r in table if r.met is not None]
    lines.append(f"# goals met: {sum(r.met for r in met)} of {len(met)} judged rows; "
                 f"{sum(1 for r in table if r.missing)} rows missing a line")
    return lines


def main(argv):
    if len(argv) != 2:
        print("usage: bench_table.py LOG", file=sys.stderr)
        return 2
    try:
        with open(argv[1], errors="replace") as fh:
            text = fh.read()
    except OSError as e:
        print(f"bench_table: {e}", file=sys.stderr)
        return 1
    log = parse(text)
    if log.bench_lines == 0:
        print(f"bench_table: no BENCH line in {argv[1]}: the run measured nothing")
        return 1
    table = rows(log)
    try:
        for r in table:
            print(r.compare_line())
        print("\n".join(human_table(log, table)))
        sys.stdout.flush()
    except BrokenPipeError:  # `bench_table.py LOG | head`
        sys.stdout = None
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
