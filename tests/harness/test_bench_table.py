"""Tests of scripts/bench_table.py: the COMPARE table at the end of
`make bench`, from small synthetic logs. Run with
    /usr/bin/python3 -m unittest discover tests/harness
"""

import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import bench_table  # noqa: E402

# Host figures (ns per op) of the synthetic log, by line name.
HOST = {
    "buddy_page_pair_hot": 11.70, "ref_freelist_pair_hot": 2.60,
    "buddy_alloc_all": 12.60, "ref_freelist_alloc_all": 23.00, "ref_stack_alloc_all": 4.30,
    "buddy_free_all_random": 206.00, "ref_freelist_free_all_random": 23.00,
    "buddy_order9_after_free50": 4.00, "buddy_order9_after_free90": 17.50,
    "buddy_order9_after_window_free": 43.00,
    "buddy_order9_fail": 14.50, "paging_host_map_4k_tables_present": 13.00,
}
RATE = {"buddy_order9_after_window_free": 77.25}
# Kernel figures (guest instructions under -icount): same names as host lines.
KERNEL = {"buddy_page_pair_hot": 153.0, "ref_freelist_pair_hot": 12.0,
          "buddy_alloc_all": 124.0, "ref_freelist_alloc_all": 70.0,
          "buddy_free_all_random": 354.0, "ref_freelist_free_all_random": 150.0,
          "slab_hot_8": 120.0, "slab_hot_64": 131.0, "slab_lifo_4096": 541.53,
          "slab_random_4096": 500.0, "slab_mixed_steady": 260.85,
          "fork_cow_1m": 172579.0, "fork_eager_1m": 2352717.0, "fork_cow_16m": 2427266.0,
          "fork_eager_16m": 37362099.0, "fork_cow_64m": 10170243.0, "fork_eager_64m": 149420006.0,
          "fork_copy_fault": 5485.0, "fork_zero_fault": 4902.0,
          "file_mmap_shared": 9000.0, "file_read_copy": 8000.0}
# bench_instr.sh: instructions per op under callgrind.
INSTR = {
    "slab_hot_8": {"glibc": 135.0, "jemalloc": 76.1, "mimalloc": 107.3, "tcmalloc": 79.0, "strata_host": 136.0},
    "slab_hot_64": {"glibc": 138.0, "jemalloc": 76.6, "tcmalloc": 79.0},
    "slab_lifo_4096": {"glibc": 201.3, "mimalloc": 74.6, "strata_host": 180.3},
    "slab_random_4096": {"glibc": 202.3, "mimalloc": 73.5, "tcmalloc": 92.0},
    "slab_mixed_steady": {"glibc": 142.9, "jemalloc": 94.1, "mimalloc": 75.1, "tcmalloc": 78.6},
}
# bench_alloc.sh medians, ns per op.
CMP = {
    "slab_hot_8": {"strata": 5.20, "glibc": 12.80, "jemalloc": 3.50, "mimalloc": 4.50, "tcmalloc": 3.10},
    "slab_hot_64": {"strata": 6.00, "glibc": 12.00, "jemalloc": 5.20, "mimalloc": 7.40, "tcmalloc": 3.70},
    "slab_hot_4096": {"strata": 2.00, "glibc": 9.00, "jemalloc": 4.00},
    "slab_lifo_4096": {"strata": 187.0, "glibc": 30.0, "jemalloc": 8.0, "mimalloc": 5.6, "tcmalloc": 4.0},
    "slab_random_4096": {"strata": 118.0, "glibc": 31.0, "jemalloc": 9.0, "mimalloc": 5.6, "tcmalloc": 6.0},
    "slab_mixed_warmup": {"strata": 300.0, "glibc": 157.0},
    "slab_mixed_steady": {"strata": 143.0, "glibc": 54.0, "jemalloc": 20.0, "mimalloc": 15.0, "tcmalloc": 11.4},
}
EFFICIENCY = 75.30


def host_line(name, ns, extra=""):
    return f"BENCH name={name} ops=1000 ns_per_op={ns:.2f} cycles_per_op={ns * 2.4:.2f}{extra}"


def make_log(drop=(), kernel_tag=" unit=instr", kernel_mode="icount"):
    out = ["# host bench_buddy"]
    for name, ns in HOST.items():
        if name in drop or name.startswith("paging_"):
            continue
        extra = f" success=1 attempts=2 rate_pct={RATE[name]}" if name in RATE else ""
        out.append(host_line(name, ns, extra))
    out.append("# host bench_paging")
    if "paging_host_map_4k_tables_present" not in drop:
        out.append(host_line("paging_host_map_4k_tables_present", HOST["paging_host_map_4k_tables_present"]))
    out.append("# host bench_linux_fault")
    out.append(host_line("linux_first_touch_fault", 2990.0, " thp=off"))
    out.append(f"# kernel mode=bench, {kernel_mode}, 2G, 4 cpu (55.4 s); this host has 2 cores")
    for name, v in KERNEL.items():
        if "kernel:" + name not in drop:
            out.append(f"BENCH name={name} ops=1000 ns_per_op={v + 1:.2f} cycles_per_op={v:.2f}{kernel_tag}")
    out.append("COMPARE vmm_demand_fault/linux_first_touch_fault ratio=1.78 ours_ns=5082.16 theirs_ns=2855.54 accel=tcg")
    if "slab_efficiency" not in drop:
        out.append("# strata BENCH name=slab_efficiency ops=1000000 ns_per_op=150.00 cycles_per_op=360.00 "
                   f"peak_asked_kib=1741 peak_taken_kib=2328 efficiency={EFFICIENCY:.2f}%")
    out.append("# ns per op (median of rounds); ratio = strata / fastest other")
    for loop, by in CMP.items():
        if loop in drop:
            continue
        peers = [v for k, v in by.items() if k != "strata"]
        out.append(f"BENCHCMP name={loop} " + " ".join(f"{k}={v:.2f}" for k, v in by.items())
                   + f" ratio={by['strata'] / min(peers):.2f}")
    out.append("# instructions per op, counted by callgrind on the host (the timed part of each loop)")
    for loop, by in INSTR.items():
        if "instr:" + loop not in drop:
            out.append(f"BENCHINSTR name={loop} " + " ".join(f"{k}={v:.1f}" for k, v in by.items()))
    return "\r\n".join(out) + "\n"


def run(text):
    """(exit status, stdout) of bench_table.py on a log holding text."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
    try:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = bench_table.main(["bench_table.py", f.name])
        return rc, buf.getvalue()
    finally:
        os.unlink(f.name)


def compare_rows(out):
    """{bench: {field: value}} of the COMPARE bench= lines."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("COMPARE bench="):
            f = dict(w.split("=", 1) for w in line.split()[1:])
            rows[f["bench"]] = f
    return rows


class TableTest(unittest.TestCase):
    def check(self, row, strata, best, best_value, unit, met):
        self.assertNotIn("missing", row)
        self.assertEqual(row["strata"], f"{strata:.2f}")
        self.assertEqual(row["best"], best)
        self.assertEqual(row["best_value"], f"{best_value:.2f}")
        self.assertEqual(row["ratio"], f"{strata / best_value:.2f}")
        self.assertEqual(row["unit"], unit)
        self.assertEqual(row["met"], "yes" if met else "no")

    def test_every_row_present(self):
        rc, out = run(make_log())
        self.assertEqual(rc, 0)
        rows = compare_rows(out)
        for bench, ours, peer in [("buddy_hot_pair", "buddy_page_pair_hot", "ref_freelist_pair_hot"),
                                  ("buddy_alloc_all", "buddy_alloc_all", "ref_freelist_alloc_all"),
                                  ("buddy_free_all_random", "buddy_free_all_random",
                                   "ref_freelist_free_all_random")]:
            r = HOST[ours] / HOST[peer]
            self.check(rows[bench], HOST[ours], peer, HOST[peer], "ns", r <= 2)
            self.assertEqual(rows[bench]["goal"], "<=2x")
        win = "buddy_order9_after_window_free"
        self.check(rows[win], HOST[win], "goal", 20, "ns", HOST[win] <= 20)
        self.check(rows["buddy_order9_window_rate"], RATE[win], "goal", 100, "pct", RATE[win] >= 100)
        for name in ("buddy_order9_fail", "buddy_order9_after_free50", "buddy_order9_after_free90"):
            self.check(rows[name], HOST[name], "goal", 5, "ns", HOST[name] <= 5)
        self.check(rows["paging_map_4k"], HOST["paging_host_map_4k_tables_present"], "goal", 8, "ns",
                   HOST["paging_host_map_4k_tables_present"] <= 8)
        self.check(rows["slab_efficiency"], EFFICIENCY, "goal", 85, "pct", EFFICIENCY >= 85)
        for loop in ("slab_hot_8", "slab_hot_64", "slab_hot_4096", "slab_lifo_4096",
                     "slab_random_4096", "slab_mixed_steady"):
            by = CMP[loop]
            peers = {k: v for k, v in by.items() if k != "strata"}
            best = min(peers, key=peers.get)
            self.check(rows[loop], by["strata"], best, peers[best], "ns", by["strata"] / peers[best] <= 1.0)
            self.assertEqual(rows[loop]["goal"], "<=1.0x")
        self.assertNotIn("slab_mixed_warmup", rows)
        for bench, ours, ref in [("instr_buddy_hot_pair", "buddy_page_pair_hot", "ref_freelist_pair_hot"),
                                 ("instr_buddy_alloc_all", "buddy_alloc_all", "ref_freelist_alloc_all"),
                                 ("instr_buddy_free_all_random", "buddy_free_all_random",
                                  "ref_freelist_free_all_random")]:
            self.check(rows[bench], KERNEL[ours], ref, KERNEL[ref], "instr", KERNEL[ours] / KERNEL[ref] <= 2)
        for mib in (1, 16, 64):
            ours, ref = f"fork_cow_{mib}m", f"fork_eager_{mib}m"
            self.check(rows[f"instr_fork_{mib}m"], KERNEL[ours], ref, KERNEL[ref], "instr",
                       KERNEL[ours] / KERNEL[ref] <= 0.1)
        self.check(rows["instr_file_mmap_read"], KERNEL["file_mmap_shared"], "file_read_copy",
                   KERNEL["file_read_copy"], "instr", False)
        for loop, by in INSTR.items():
            peers = {k: v for k, v in by.items() if k != "strata_host"}
            best = min(peers, key=peers.get)
            self.check(rows["instr_" + loop], KERNEL[loop], best, round(peers[best], 1), "instr",
                       KERNEL[loop] / round(peers[best], 1) <= 1.0)
        self.assertFalse([r for r in rows.values() if "missing" in r])
        self.assertIn("ref_stack_alloc_all", out)  # the second reference, in the human table
        self.assertIn(f"{HOST['ref_stack_alloc_all']:.2f}", out)

    def test_slab_hot_rows_in_size_order(self):
        _, out = run(make_log())
        hot = [b for b in compare_rows(out) if b.startswith("slab_hot_")]
        self.assertEqual(hot, ["slab_hot_8", "slab_hot_64", "slab_hot_4096"])

    def test_missing_line_gives_missing(self):
        rc, full = run(make_log())
        rc2, out = run(make_log(drop=("ref_freelist_pair_hot", "buddy_order9_fail", "slab_lifo_4096",
                                      "slab_efficiency", "kernel:slab_hot_64", "instr:slab_lifo_4096")))
        self.assertEqual(rc2, 0)
        rows = compare_rows(out)
        self.assertEqual(list(rows), list(compare_rows(full)))  # no row dropped
        self.assertEqual(rows["buddy_hot_pair"], {"bench": "buddy_hot_pair",
                                                  "missing": "host:ref_freelist_pair_hot"})
        self.assertIn("buddy_order9_fail", rows["buddy_order9_fail"]["missing"])
        self.assertIn("slab_lifo_4096", rows["slab_lifo_4096"]["missing"])
        self.assertIn("slab_efficiency", rows["slab_efficiency"]["missing"])
        self.assertEqual(rows["instr_slab_hot_64"]["missing"], "kernel-icount:slab_hot_64")
        self.assertEqual(rows["instr_slab_lifo_4096"]["missing"], "BENCHINSTR:slab_lifo_4096")
        self.assertNotIn("missing", rows["slab_hot_64"])  # the host row of that name stays

    def test_no_benchcmp_lines_still_gives_slab_rows(self):
        _, out = run(make_log(drop=tuple(CMP)))
        rows = compare_rows(out)
        for b in ("slab_lifo_4096", "slab_random_4096", "slab_mixed_steady"):
            self.assertIn("missing", rows[b])
        self.assertTrue([b for b in rows if b.startswith("slab_hot_") and "missing" in rows[b]])

    def test_empty_log_exits_1(self):
        self.assertEqual(run("")[0], 1)
        self.assertEqual(run("# host bench_buddy\n# kernel mode=bench, icount, 2G, 1 cpu\n")[0], 1)

    def test_kernel_lines_apart_from_host_lines(self):
        rows = compare_rows(run(make_log())[1])
        self.assertEqual(rows["buddy_hot_pair"]["strata"], f"{HOST['buddy_page_pair_hot']:.2f}")
        self.assertEqual(rows["instr_buddy_hot_pair"]["strata"], f"{KERNEL['buddy_page_pair_hot']:.2f}")
        log = bench_table.parse(make_log())
        self.assertEqual(log.host["buddy_page_pair_hot"]["ns_per_op"], f"{HOST['buddy_page_pair_hot']:.2f}")
        self.assertEqual(log.kernel["buddy_page_pair_hot"]["cycles_per_op"], f"{KERNEL['buddy_page_pair_hot']:.2f}")
        self.assertNotIn("slab_hot_64", log.host)
        self.assertEqual(log.kernel_mode, "icount")

    def test_kernel_section_by_header_alone(self):
        # A log of an older harness: no tag on the kernel lines, only the header.
        log = bench_table.parse(make_log(kernel_tag="", kernel_mode="icount"))
        self.assertEqual(log.kernel["buddy_page_pair_hot"]["cycles_per_op"],
                         f"{KERNEL['buddy_page_pair_hot']:.2f}")
        self.assertEqual(log.host["buddy_page_pair_hot"]["ns_per_op"], f"{HOST['buddy_page_pair_hot']:.2f}")

    def test_wallclock_kernel_rows_are_ns(self):
        rows = compare_rows(run(make_log(kernel_tag=" accel=kvm", kernel_mode="kvm"))[1])
        # Wall-clock kernel figures are no instruction counts: those rows say what is missing.
        self.assertIn("kernel-icount:buddy_page_pair_hot", rows["instr_buddy_hot_pair"]["missing"])
        self.assertIn("kernel-icount:slab_hot_64", rows["instr_slab_hot_64"]["missing"])

    def test_goals_not_met_still_exit_0(self):
        rc, out = run(make_log())
        self.assertEqual(rc, 0)
        self.assertIn("met=no", out)


if __name__ == "__main__":
    unittest.main()
