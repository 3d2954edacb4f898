"""Tests of scripts/harness.py's own logic: KTAP parsing, verdicts, and
which kernel addresses get resolved. Run with
    /usr/bin/python3 -m unittest discover tests/harness
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import harness  # noqa: E402

PASS, FAIL = harness.EXIT_PASS, harness.EXIT_FAIL


# One line for each of harness.REQUIRED_RUN_LINES, as a mode=run boot prints them.
RUN_REPORT = ("Strata 0.1\r\nCommand line: mode=run\r\n  total available  127 MiB\r\nCPUS online=1 present=1\r\n"
              "PROTECT nx=1\r\nMEMINFO usable_kib=1\r\nVMMDEMO free_before=1 free_after=1\r\n"
              "SLABINFO caches=1\r\nKILL pid=3 name=crash addr=0x0 rip=0x400000 reason=unmapped\r\n"
              "PROC pid=1 name=init exit=0 resident_kib=20 peak_kib=24 faults=2\r\n"
              "FORK pid=6 child=7 shared=16 copied=0\r\n"
              "share: read() now gives \"stored by the mapping\": one page cache\r\n")


def log(s):
    """A crafted serial log: dedented, with some boot chatter in front and
    CRLF line ends as a UART gives them."""
    body = RUN_REPORT + textwrap.dedent(s).lstrip("\n")
    return body.replace("\r\n", "\n").replace("\n", "\r\n")


ALL_PASS = log("""
    KTAP version 1
    1..2
        KTAP version 1
        # Subtest: buddy
        1..2
        ok 1 alloc_free
        ok 2 coalesce
    ok 1 buddy
        KTAP version 1
        # Subtest: slab
        1..1
        ok 1 grow # SKIP not yet
    ok 2 slab
    # totals: pass:3 fail:0 skip:1
""")

ONE_NOT_OK = log("""
    KTAP version 1
    1..3
    ok 1 a
    not ok 2 b # src/mm/x.c:10 frames == 0
    ok 3 c
""")

NESTED_FAIL = log("""
    KTAP version 1
    1..1
        KTAP version 1
        # Subtest: vmm
        1..2
        ok 1 map
        not ok 2 unmap # leak: 1 frame
    not ok 1 vmm
""")

PLAN_MISMATCH = log("""
    KTAP version 1
    1..3
    ok 1 a
    ok 2 b
""")

MISSING_PLAN = log("""
    KTAP version 1
    ok 1 a
""")

# Cut off in the middle of a nested suite (the kernel hung or died).
TRUNCATED = log("""
    KTAP version 1
    1..2
        KTAP version 1
        # Subtest: buddy
        1..5
        ok 1 alloc
        ok 2 fr""")

PANIC = log("""
    KTAP version 1
    1..2
        KTAP version 1
        # Subtest: paging
        1..3
        ok 1 map
    PANIC: page fault at 0x0000000000000008 (write, not present)
      RIP 0xffffffff80104a2c  RSP 0xffffffff80200f40
      backtrace:
      [0] 0xffffffff80104a2c
      [1] 0xffffffff80101200
""")


class ParseKtap(unittest.TestCase):
    def test_all_pass(self):
        k = harness.parse_ktap(ALL_PASS)
        self.assertTrue(k.header)
        self.assertEqual(k.plan, 2)
        self.assertEqual(k.results, 2)   # nested results do not count at top level
        self.assertEqual(k.not_ok, [])
        self.assertEqual(k.errors, [])

    def test_one_not_ok(self):
        k = harness.parse_ktap(ONE_NOT_OK)
        self.assertEqual((k.plan, k.results), (3, 3))
        self.assertEqual(k.not_ok, ["not ok 2 b # src/mm/x.c:10 frames == 0"])

    def test_nested_failure_recorded(self):
        k = harness.parse_ktap(NESTED_FAIL)
        self.assertEqual((k.plan, k.results), (1, 1))
        self.assertEqual(k.not_ok, ["not ok 2 unmap # leak: 1 frame", "not ok 1 vmm"])

    def test_nested_plan_is_not_top_plan(self):
        k = harness.parse_ktap(TRUNCATED)
        self.assertEqual(k.plan, 2)
        self.assertEqual(k.results, 0)

    def test_missing_plan(self):
        k = harness.parse_ktap(MISSING_PLAN)
        self.assertTrue(k.header)
        self.assertIsNone(k.plan)

    def test_no_header(self):
        k = harness.parse_ktap(log("ok 1 looks like a result\n1..1\n"))
        self.assertFalse(k.header)
        self.assertEqual(k.results, 0)

    def test_chatter_before_header_ignored(self):
        k = harness.parse_ktap("not ok 9 boot chatter\nKTAP version 1\n1..1\nok 1 a\n")
        self.assertEqual(k.not_ok, [])
        self.assertEqual(k.results, 1)

    def test_second_header_is_an_error(self):
        k = harness.parse_ktap("KTAP version 1\n1..1\nok 1 a\nKTAP version 1\n1..1\nok 1 a\n")
        self.assertTrue(k.errors)


class JudgeTest(unittest.TestCase):
    def judge(self, status, text, timed_out=False):
        return harness.judge_test(status, timed_out, text, 30)

    def test_pass(self):
        v = self.judge(PASS, ALL_PASS)
        self.assertTrue(v.ok, v.reason)

    def test_not_ok(self):
        v = self.judge(FAIL, ONE_NOT_OK)
        self.assertFalse(v.ok)
        self.assertEqual(v.kinds, ("not_ok",))
        self.assertIn("not ok 2 b", v.reason)

    def test_nested_not_ok(self):
        v = self.judge(FAIL, NESTED_FAIL)
        self.assertEqual(v.kinds, ("not_ok",))
        self.assertIn("unmap", v.reason)

    def test_not_ok_but_exit_pass(self):
        # The kernel said "all passed" although a test failed: both are wrong.
        v = self.judge(PASS, ONE_NOT_OK)
        self.assertEqual(v.kinds, ("not_ok", "status"))

    def test_exit_fail_without_not_ok(self):
        v = self.judge(FAIL, ALL_PASS)
        self.assertEqual(v.kinds, ("status",))

    def test_plan_mismatch(self):
        v = self.judge(PASS, PLAN_MISMATCH)
        self.assertEqual(v.kinds, ("plan",))
        self.assertIn("plan 1..3 but 2", v.reason)

    def test_missing_plan(self):
        v = self.judge(PASS, MISSING_PLAN)
        self.assertEqual(v.kinds, ("plan",))
        self.assertIn("no KTAP plan", v.reason)

    def test_no_ktap_at_all(self):
        v = self.judge(PASS, log("hello\n"))
        self.assertEqual(v.kinds, ("plan",))
        self.assertIn("no KTAP header", v.reason)

    def test_panic(self):
        v = self.judge(FAIL, PANIC)
        self.assertEqual(v.kinds, ("panic",))   # the short plan is not blamed
        self.assertIn("PANIC: page fault", v.reason)

    def test_timeout(self):
        v = self.judge(None, TRUNCATED, timed_out=True)
        self.assertEqual(v.kinds, ("timeout",))
        self.assertIn("timed out after 30 s", v.reason)

    def test_triple_fault(self):
        # With -no-reboot a triple fault ends QEMU with status 0.
        v = self.judge(0, TRUNCATED)
        self.assertEqual(v.kinds, ("no_result",))
        self.assertIn("triple fault or reset: QEMU exited with no result", v.reason)

    def test_other_exit_status(self):
        v = self.judge(1, "")
        self.assertEqual(v.kinds, ("no_result",))

    def test_full_log_but_bad_status(self):
        v = self.judge(0, ALL_PASS)
        self.assertFalse(v.ok)


class JudgeOthers(unittest.TestCase):
    def test_expect_fail_passes_on_not_ok(self):
        v = harness.judge_expect_fail(FAIL, False, NESTED_FAIL)
        self.assertTrue(v.ok, v.reason)

    def test_expect_fail_fails_when_all_pass(self):
        self.assertFalse(harness.judge_expect_fail(PASS, False, ALL_PASS).ok)

    def test_expect_fail_fails_on_panic(self):
        # A panic is not proof that a failing test is caught.
        self.assertFalse(harness.judge_expect_fail(FAIL, False, PANIC).ok)

    def test_expect_fail_fails_on_timeout(self):
        self.assertFalse(harness.judge_expect_fail(None, True, NESTED_FAIL).ok)

    def test_run(self):
        self.assertTrue(harness.judge_run(PASS, False, log("")).ok)
        v = harness.judge_run(PASS, False, "Strata 0.1\n")
        self.assertEqual(v.kinds, ("missing",) * (len(harness.REQUIRED_RUN_LINES) - 1))
        self.assertIn("total available", v.reason)
        # The banner must start its line.
        self.assertFalse(harness.judge_run(PASS, False, " " + RUN_REPORT).ok)
        self.assertEqual(harness.judge_run(0, False, log("")).kinds, ("no_result",))
        self.assertIn("panic", harness.judge_run(FAIL, False, log("PANIC: x\n")).kinds)

    def test_required_lines(self):
        # Boot.required: lines a boot must print whatever its judge (the swapio boot's KILL line).
        text = "KILL pid=2 name=x reason=swap-io\r\n    ok 1 case\n"
        self.assertEqual(harness.required_problem((r"^KILL .*reason=swap-io", r"^\s*ok 1 case$"), text), "")
        self.assertEqual(harness.required_problem((r"^KILL .*reason=oom", r"^\s*ok 1 case$"), text),
                         "no line matching /^KILL .*reason=oom/")

    def test_bench(self):
        self.assertTrue(harness.judge_bench(PASS, False, "BENCH name=x ops=1\n").ok)
        self.assertFalse(harness.judge_bench(PASS, False, "no numbers\n").ok)
        self.assertFalse(harness.judge_bench(None, True, "BENCH name=x ops=1\n").ok)


class PickAddresses(unittest.TestCase):
    def test_rip_and_frames(self):
        self.assertEqual(harness.pick_addresses(PANIC),
                         ["0xffffffff80104a2c", "0xffffffff80200f40", "0xffffffff801011ff"])

    def test_kernel_trap_format(self):
        # As src/arch/x86_64/trap.c prints it.
        text = ("  RIP=0xffffffff80102f10 CS=0x8 RFLAGS=0x10086 RSP=0xffff800000a0ff88 SS=0x10\n"
                "  backtrace:\n  [0] 0xffffffff80102f10\n  [1] 0xffffffff80100a7b\n")
        # Frame [1] is a return address: the call is the byte before it.
        self.assertEqual(harness.pick_addresses(text), ["0xffffffff80102f10", "0xffffffff80100a7a"])

    def test_hash_frames_and_dedup(self):
        text = "#0 0xFFFFFFFF80100010 in x\n#1 0xffffffff80100011\n#2 0xffffffff80100011\n"
        self.assertEqual(harness.pick_addresses(text), ["0xffffffff80100010"])

    def test_ignores_other_lines_and_addresses(self):
        text = ("page at 0xffffffff80104a2c freed\n"        # not a RIP or frame line
                "RIP 0x0000000000401000\n"                  # user address
                "RIP 0xffff800000001000\n"                  # direct map, not kernel image
                "  [0] 0xffffffff8010123\n")                # one digit short
        self.assertEqual(harness.pick_addresses(text), [])


@unittest.skipUnless(shutil.which("gcc") and shutil.which("addr2line"), "needs gcc, addr2line")
class Resolve(unittest.TestCase):
    def test_resolves_function_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "k.c")
            elf = os.path.join(d, "k.elf")
            with open(src, "w") as f:
                f.write("void _start(void)\n{\n\tfor (;;)\n\t\t;\n}\n")
            subprocess.run(["gcc", "-g", "-O0", "-ffreestanding", "-nostdlib", "-static",
                            "-fno-pie", "-no-pie", "-mcmodel=kernel",
                            "-Wl,-Ttext=0xffffffff80100000", "-o", elf, src], check=True)
            out = harness.resolve(["0xffffffff80100004"], elf)
        self.assertEqual(len(out), 1)
        self.assertIn("_start", out[0])
        self.assertIn("k.c:", out[0])

    def test_nothing_to_resolve(self):
        self.assertEqual(harness.resolve([], "/nonexistent"), [])


class Timeouts(unittest.TestCase):
    def test_mem_gib(self):
        self.assertEqual(harness.mem_gib("128M"), 0.125)
        self.assertEqual(harness.mem_gib("8G"), 8)
        self.assertEqual(harness.mem_gib("512"), 0.5)

    def test_grows_with_memory(self):
        small = harness.Boot("a", mem="128M").effective_timeout()
        big = harness.Boot("b", mem="8G").effective_timeout()
        self.assertGreater(big, small)
        self.assertEqual(harness.Boot("c", timeout=7).effective_timeout(), 7)


class IsoTag(unittest.TestCase):
    def test_tags(self):
        self.assertEqual(harness.iso_tag("mode=test"), "mode-test")
        self.assertEqual(harness.iso_tag("mode=test ktest.fail=1"), "mode-test_ktest.fail-1")
        self.assertNotEqual(harness.iso_tag("mode=run a=b"), harness.iso_tag("mode=run a-b"))


class KvmRefused(unittest.TestCase):
    def result(self, status, log, stderr, timed_out=False):
        return harness.BootResult(status, timed_out, log, stderr, 1.0, "x.log", None)

    def test_qemu_error_before_any_output_is_the_hosts(self):
        b = harness.Boot("k", accel="kvm")
        r = self.result(1, "", "qemu-system-x86_64: kvm_init_vcpu: failed to set MSR 0x10a\n")
        self.assertIn("failed to set MSR", harness.kvm_refused(b, r))

    def test_kernel_output_or_tcg_is_never_excused(self):
        err = "qemu: KVM internal error. Suberror: 1\n"
        self.assertEqual(harness.kvm_refused(harness.Boot("k", accel="kvm"),
                                             self.result(1, "Strata\n", err)), "")
        self.assertEqual(harness.kvm_refused(harness.Boot("t", accel="tcg"),
                                             self.result(1, "", err)), "")
        self.assertEqual(harness.kvm_refused(harness.Boot("k", accel="kvm"),
                                             self.result(None, "", err, timed_out=True)), "")


class CpusLine(unittest.TestCase):
    BOOT = "Strata\r\nCPU: 4-level paging, NX on\r\n"

    def test_right_count(self):
        self.assertEqual(harness.cpus_problem(2, self.BOOT + "CPUS online=2 present=2\r\n"), "")
        self.assertEqual(harness.cpus_problem(4, self.BOOT + "CPUS online=4 present=4\n"), "")

    def test_present_must_match_qemu(self):
        self.assertIn("present=1", harness.cpus_problem(2, self.BOOT + "CPUS online=1 present=1\r\n"))

    def test_every_cpu_must_come_online(self):
        self.assertIn("online=1", harness.cpus_problem(2, self.BOOT + "CPUS online=1 present=2\r\n"))
        self.assertIn("online=3", harness.cpus_problem(4, self.BOOT + "CPUS online=3 present=4\n"))

    def test_an_ap_left_out_on_purpose(self):
        said = self.BOOT + "SMP: CPU with APIC ID 2 did not come online within 1 s: left out\n"
        self.assertEqual(harness.cpus_problem(4, said + "CPUS online=3 present=4\n", 3), "")
        self.assertIn("left out", harness.cpus_problem(4, self.BOOT + "CPUS online=3 present=4\n", 3))
        self.assertIn("online=4", harness.cpus_problem(4, said + "CPUS online=4 present=4\n", 3))

    def test_online_in_range(self):
        self.assertIn("online=3", harness.cpus_problem(2, self.BOOT + "CPUS online=3 present=2\n"))
        self.assertIn("online=0", harness.cpus_problem(1, self.BOOT + "CPUS online=0 present=1\n"))

    def test_missing_line(self):
        self.assertEqual(harness.cpus_problem(1, self.BOOT), "no CPUS line")

    def test_log_cut_short_is_not_blamed_twice(self):
        self.assertEqual(harness.cpus_problem(1, "Strata\r\n"), "")
        self.assertEqual(harness.cpus_problem(1, self.BOOT + "PANIC: x\n"), "")


class BenchCompare(unittest.TestCase):
    def test_ratio_of_a_pair(self):
        ns = harness.bench_ns([
            "BENCH name=vmm_demand_fault ops=10 ns_per_op=600.00 cycles_per_op=1.00",
            "BENCH name=linux_first_touch_fault ops=10 ns_per_op=1200.00 cycles_per_op=2",
            "not a bench line"])
        self.assertEqual(ns, {"vmm_demand_fault": 600.0, "linux_first_touch_fault": 1200.0})
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            harness.print_comparisons(ns)
        self.assertIn("ratio=0.50", out.getvalue())

    def test_missing_side_prints_nothing(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            harness.print_comparisons({"vmm_demand_fault": 1.0})
        self.assertEqual(out.getvalue(), "")


if __name__ == "__main__":
    unittest.main()


class PanicOnce(unittest.TestCase):
    HEAD = "CPUS online=4 present=4\r\nchatter cpu=0 line=1\r\nchatter cpu=2 line=1\r\nchatter cpu=0 line=2\r\nchat"
    REPORT = "\r\nPANIC: smp_panic: boom (tests/kernel/smp.c:1) on CPU 1\r\n  backtrace:\r\n  [1] 0xffffffff80100000\r\n"

    def test_one_report_passes(self):
        self.assertTrue(harness.judge_panic_once(35, False, self.HEAD + self.REPORT).ok)

    def test_a_cpu_printing_after_the_report_fails(self):
        v = harness.judge_panic_once(35, False, self.HEAD + self.REPORT + "chatter cpu=3 line=9\r\n")
        self.assertFalse(v.ok)
        self.assertIn("after the report", v.reason)

    def test_two_reports_fail(self):
        self.assertFalse(harness.judge_panic_once(35, False, self.HEAD + self.REPORT + self.REPORT).ok)

    def test_report_from_another_cpu_fails(self):
        self.assertFalse(harness.judge_panic_once(35, False, self.HEAD + self.REPORT.replace("CPU 1", "CPU 0")).ok)

    def test_mixed_lines_fail(self):
        mixed = "chatter cpu=0 lichatter cpu=2 line=5\r\n" * 6
        self.assertFalse(harness.judge_panic_once(35, False, mixed + self.REPORT).ok)

    def test_hang_fails(self):
        self.assertFalse(harness.judge_panic_once(None, True, self.HEAD).ok)


# A failure whose reason, printed as it is, kunit.py and prove read as a skip.
REASON_AS_SKIP = log("""
    KTAP version 1
    1..1
        KTAP version 1
        # Subtest: vmm
        1..2
        ok 1 map # SKIP no 1 GiB pages
        not ok 2 unmap # x.c:3: s == "a # SKIP b"
    not ok 1 vmm
""")


class ResultLines(unittest.TestCase):
    """What the standard readers would misread on a result line."""

    def bad(self, line):
        self.assertTrue(harness.result_line_problem(line), line)

    def good(self, line):
        self.assertEqual(harness.result_line_problem(line), "", line)

    def test_plain_lines(self):
        self.good("ok 1 map")
        self.good("not ok 2 unmap # x.c:3: frames == 0")
        self.good("ok 3 grow # SKIP no PKU")
        self.good("ok 3 grow # skip no PKU")
        self.good("not ok 4 leak # leak check: frames was 3, now 2 (skip list)")

    def test_a_second_hash(self):
        self.bad('not ok 2 unmap # x.c:3: s == "a # SKIP b"')
        self.bad("ok 3 grow # SKIP a # b")

    def test_a_hash_in_the_name(self):
        self.bad("ok 1 a#b")
        self.bad("ok 1 a #SKIP")

    def test_a_failure_that_reads_as_a_directive(self):
        self.bad("not ok 2 unmap # SKIP x")
        self.bad("not ok 2 unmap #  skipped")
        self.bad("not ok 2 unmap # TODO fix")
        self.bad("ok 2 unmap # TODO fix")
        # What ktest prints instead (src/kernel/ktest.c, ktap_clean).
        self.good("not ok 2 unmap # reason: SKIP x")


class KtapDirectives(unittest.TestCase):
    def test_parse_records_the_line(self):
        k = harness.parse_ktap(REASON_AS_SKIP)
        self.assertEqual(len(k.syntax), 1)
        self.assertIn("not ok 2 unmap", k.syntax[0])

    def test_judged_a_failure_of_its_own(self):
        v = harness.judge_test(FAIL, False, REASON_AS_SKIP, 30)
        self.assertEqual(v.kinds, ("not_ok", "syntax"))
        self.assertIn("second '#'", v.reason)

    def test_selftest_boot_needs_clean_lines(self):
        # The selftest boot passes on its not ok only if the line is read as one.
        self.assertFalse(harness.judge_expect_fail(FAIL, False, REASON_AS_SKIP).ok)
        self.assertTrue(harness.judge_expect_fail(FAIL, False, NESTED_FAIL).ok)

    def test_clean_log_has_none(self):
        self.assertEqual(harness.parse_ktap(ALL_PASS).syntax, [])
        self.assertTrue(harness.judge_test(PASS, False, ALL_PASS, 30).ok)


class StrictTap(unittest.TestCase):
    """A host program's stdout as prove reads it under "pragma +strict"."""

    def problem(self, text):
        return harness.strict_tap_problem(textwrap.dedent(text).lstrip("\n"))

    def test_good(self):
        self.assertEqual(self.problem("""
            # a diagnostic
            ok 1 a
            #   console: vmm: address space test
            not ok 2 b
            1..2
            # 1 passed, 1 failed
        """), "")
        self.assertEqual(self.problem("TAP version 13\n1..1\nok 1 a # 3 inputs\n"), "")
        self.assertEqual(self.problem("1..0 # SKIP nothing to do\n"), "")

    def test_report_line_between_results(self):
        why = self.problem("ok 1 a\nvmm: address space test [10000, 800000000000)\nok 2 b\n1..2\n")
        self.assertIn("line 2: not a TAP line", why)
        self.assertIn("vmm: address space", why)

    def test_indented_or_blank_lines(self):
        self.assertIn("line 2", self.problem("ok 1 a\n  # indented\n1..1\n"))
        self.assertIn("line 2", self.problem("ok 1 a\n\n1..1\n"))

    def test_plans(self):
        self.assertEqual(self.problem("ok 1 a\n"), "no plan (1..N)")
        self.assertIn("a second plan", self.problem("1..1\nok 1 a\n1..1\n"))
        self.assertIn("plan 1..3 but 2 results", self.problem("ok 1 a\nok 2 b\n1..3\n"))
        self.assertIn("after the plan", self.problem("ok 1 a\n1..2\nok 2 b\n"))

    def test_numbers_in_sequence(self):
        self.assertIn("out of sequence", self.problem("ok 1 a\nok 3 b\n1..2\n"))

    def test_misread_result(self):
        self.assertIn("TODO", self.problem("not ok 1 a # TODO later\n1..1\n"))

    def test_version_only_first(self):
        self.assertIn("line 2", self.problem("1..1\nTAP version 13\nok 1 a\n"))


class HostBinary(unittest.TestCase):
    """run_host_binary on small scripts standing in for host programs."""

    def run_script(self, body, strict=True):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "prog")
            with open(path, "w") as f:
                f.write("#!/bin/sh\n" + textwrap.dedent(body))
            os.chmod(path, 0o755)
            return harness.run_host_binary(path, timeout=30, strict=strict)

    def test_strict_tap_passes(self):
        ok, reason, out = self.run_script("echo 'ok 1 a'; echo 'noise' >&2; echo 1..1\n")
        self.assertTrue(ok, reason)
        self.assertIn("--- stderr:\nnoise", out)   # stderr kept, apart from the TAP

    def test_report_line_fails_with_the_line(self):
        ok, reason, _ = self.run_script("echo 'ok 1 a'; echo 'slab: double free'; echo 1..1\n")
        self.assertFalse(ok)
        self.assertIn("not strict TAP: line 2: not a TAP line: 'slab: double free'", reason)

    def test_not_strict_for_benches(self):
        ok, reason, _ = self.run_script("echo 'BENCH name=x ops=1'\n", strict=False)
        self.assertTrue(ok, reason)

    def test_exit_status_and_not_ok(self):
        ok, reason, _ = self.run_script("echo 'not ok 1 a'; echo 1..1; exit 1\n")
        self.assertFalse(ok)
        self.assertIn("1 not ok: not ok 1 a", reason)
        self.assertIn("exit status 1", reason)
