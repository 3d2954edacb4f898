#!/usr/bin/python3
"""shell_test.py - a scripted session with mode=shell, reported as TAP.

Boots build/strata.elf (TCG, -m 128M, BIOS) with the serial port on a
pipe, types one command at a time, waits for the prompt after each and
checks the answer against what the machine itself says (the frame counts
MEMINFO gives, the pointer alloc gives back, the pid run starts). One TAP
line per check; the session's log goes to build/logs/shell-session.log.

  tests/shell/shell_test.py            (build/host/shell_session runs it)
"""

import os
import re
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import harness  # noqa: E402

PROMPT = b"strata> "
BOOT_TIMEOUT = 60     # seconds until the first prompt (GRUB and the boot report, TCG)
CMD_TIMEOUT = 30      # seconds for one command's answer


class Session:
    def __init__(self, log_path):
        b = harness.Boot("shell-session", cmdline="mode=shell", mem="128M", accel="tcg")
        iso = harness.build_iso(b.cmdline)
        self.log = open(log_path, "wb")
        self.p = subprocess.Popen(harness.qemu_argv(b, iso), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.buf = b""

    def read_until(self, marker, timeout):
        """Bytes up to and including marker; None on timeout or EOF (the rest stays in buf)."""
        end = time.monotonic() + timeout
        while marker not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.p.stdout], [], [], left)
            if not ready:
                continue
            data = os.read(self.p.stdout.fileno(), 65536)
            if not data:
                return None
            self.log.write(data)
            self.log.flush()
            self.buf += data
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def send(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def cmd(self, line):
        """Type line and Enter; the answer's lines (the echo and the prompt left out), or None."""
        self.send(line + "\r")
        out = self.read_until(PROMPT, CMD_TIMEOUT)
        if out is None:
            return None
        lines = out[:-len(PROMPT)].decode("utf-8", "replace").replace("\r", "").split("\n")
        return lines[1:] if lines and lines[0].endswith(line) else lines

    def finish(self, timeout=20):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        finally:
            self.log.close()


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, name, ok, why="", out=None):
        self.n += 1
        if ok:
            print(f"ok {self.n} {name}")
        else:
            self.failed += 1
            print(f"not ok {self.n} {name} # {why}".replace("\n", " "))
            for l in (out or [])[-12:]:
                print(f"# | {l}")
        sys.stdout.flush()
        return ok


def grab(lines, pattern):
    """The first match of pattern in lines, or None."""
    for l in lines or []:
        m = re.search(pattern, l)
        if m:
            return m
    return None


KERNEL_BASE = 0xffffffff80000000


def kmain_va():
    """kmain's address, from the ELF the machine booted."""
    p = subprocess.run(["nm", harness.ELF], capture_output=True, text=True)
    m = re.search(r"^([0-9a-f]+) T kmain$", p.stdout, re.M)
    return int(m.group(1), 16) if m else 0


def free_kib(s):
    m = grab(s.cmd("meminfo"), r"^MEMINFO .*\bfree_kib=(\d+)")
    return int(m.group(1)) if m else None


def session(s, t):
    out = s.read_until(PROMPT, BOOT_TIMEOUT)
    if not t.check("boot reaches the prompt", out is not None, "no prompt within "
                   f"{BOOT_TIMEOUT} s", (s.buf or b"").decode("utf-8", "replace").splitlines()):
        return

    out = s.cmd("help")
    t.check("help lists every command", out is not None and all(
        grab(out, rf"^  {c}\b") for c in ("meminfo", "buddy", "slabinfo", "regions", "pt", "alloc",
                                          "free", "pages", "unpages", "trace", "ps", "run", "kill",
                                          "exit")), "a command missing", out)

    out = s.cmd("meminfo")
    t.check("meminfo gives MEMINFO, SLABINFO, VMM and SWAP lines", out is not None and all(
        grab(out, rf"^{tag} ") for tag in ("MEMINFO", "SLABINFO", "VMM", "SWAP")), "a line missing", out)

    # pages N takes N frames: MEMINFO's free_kib drops by 4 KiB a frame, and unpages gives them back.
    before = free_kib(s)
    out = s.cmd("pages 100")
    t.check("pages 100 takes 100 frames", grab(out, r"^pages: took 100 frame\(s\)") is not None,
            "no 'pages: took 100' line", out)
    during = free_kib(s)
    ok = before is not None and during is not None and before - during == 400
    t.check("meminfo's free_kib drops by 400 after pages 100", ok, f"free_kib {before} -> {during}")
    out = s.cmd("unpages")
    t.check("unpages gives the 100 frames back", grab(out, r"^unpages: gave 100 frame\(s\)") is not None,
            "no 'unpages: gave 100' line", out)
    after = free_kib(s)
    t.check("meminfo's free_kib is back after unpages", before is not None and after == before,
            f"free_kib {before} -> {after}")

    # Running the buddy dry is an error, not a crash; unpages brings every frame back.
    out = s.cmd("pages 10000000")
    t.check("pages past the RAM is one error line", grab(out, r"^error: pages: the buddy ran out after \d+ ")
            is not None, "no error line", out)
    out = s.cmd("unpages")
    after = free_kib(s)
    t.check("unpages after that brings free_kib back", before is not None and after == before,
            f"free_kib {before} -> {after}")

    # alloc: a pointer, and the trace names each layer on the way down. 9000 bytes is a class
    # (kmalloc-10240) that nothing at boot uses: it has no slab yet, so the heap asks the VMM.
    out = s.cmd("alloc 9000")
    m = grab(out, r"^alloc: 9000 bytes at (0x[0-9a-f]+)")
    t.check("alloc 9000 returns a pointer", m is not None, "no 'alloc: 9000 bytes at' line", out)
    layers = [x for x in ("slab", "vmm", "buddy", "paging") if grab(out, rf"^  {x}:")]
    t.check("the trace of alloc names slab, vmm, buddy and paging", len(layers) == 4,
            f"layers seen: {layers}", out)
    if m:
        ptr = m.group(1)
        out = s.cmd(f"free {ptr}")
        t.check("free of that pointer works", grab(out, rf"^free: {ptr} \(9000 bytes\) freed") is not None,
                "no 'free: ... freed' line", out)
        out = s.cmd(f"free {ptr}")
        t.check("a second free is an error", grab(out, r"^error: free: ") is not None and
                not grab(out, r"^  slab:"), "no error line, or kfree was called", out)
    out = s.cmd("free 0xffff800000001234")
    t.check("free of a pointer alloc did not give is an error", grab(out, r"^error: free: ") is not None,
            "no error line", out)

    # pt: a kernel address translates; a wild one and a non-canonical one are errors.
    kva = kmain_va()
    out = s.cmd(f"pt {kva:#x}")
    m = grab(out, rf"^pt: va {kva:x} -> pa 0x([0-9a-f]+), (\d+) KiB page, (\S+) ([ku])")
    # The kernel image is linked at 0xffffffff80000000 + its physical address (src/boot/linker.ld).
    t.check("pt of kmain gives its translation: the image's pa, r-x, kernel-only",
            m is not None and int(m.group(1), 16) == kva - KERNEL_BASE and m.group(3) == "r-x" and
            m.group(4) == "k", f"kmain at {kva:#x}: no 'pt: va ... -> pa {kva - KERNEL_BASE:#x}, ... r-x k'", out)
    t.check("pt shows the leaf as pg_dump prints it", grab(out, rf"^\s*ffffffff80[0-9a-f]+-ffffffff80[0-9a-f]+ ")
            is not None, "no dump line", out)
    out = s.cmd("pt 0x1000")
    t.check("pt of an unmapped address is an error", grab(out, r"^error: pt: 1000 is not mapped") is not None,
            "no error line", out)
    out = s.cmd("pt 0x800000000000")
    t.check("pt of a non-canonical address is an error", grab(out, r"^error: pt: .*not a canonical") is not None,
            "no error line", out)

    out = s.cmd("regions")
    t.check("regions lists the kernel space", grab(out, r"^VMM space=kernel ") is not None, "no VMM line", out)
    out = s.cmd("slabinfo")
    t.check("slabinfo prints SLABINFO", grab(out, r"^SLABINFO ") is not None, "no SLABINFO line", out)
    out = s.cmd("buddy")
    t.check("buddy prints the free blocks per order", grab(out, r"free blocks per order") is not None,
            "no free-blocks table", out)

    # Bad input: one error line, the prompt again.
    for line, pat in (("frobnicate", r"^error: unknown command 'frobnicate'"),
                      ("pages 12x", r"^error: pages: "),
                      ("alloc", r"^error: alloc: "),
                      ("trace maybe", r"^error: trace: "),
                      ("kill 999", r"^error: kill: no live process"),
                      ("regions 999", r"^error: regions: no live process"),
                      ("run /bin/nosuch", r"^error: run: /bin/nosuch: no such program"),
                      ("alloc 0", r"^error: alloc: "),
                      ("alloc 99999999999999999999999", r"^error: alloc: "),
                      ("free 0", r"^error: free: "),
                      ("pt 0xzz", r"^error: pt: "),
                      ("pt 0x1000 999", r"^error: pt: no live process"),
                      (" ".join(["w"] * 20), r"^error: more than 12 words"),
                      ("y" * 300, r"^error: unknown command '" + "y" * 127 + "'")):
        out = s.cmd(line)
        errs = [l for l in out or [] if l.startswith("error: ")]
        t.check(f"'{line}' gives one error line", out is not None and len(errs) == 1 and
                re.search(pat, errs[0]) is not None, "no such error line", out)

    # Backspace: "mexxminfo" with two characters rubbed out is "meminfo"... typed as bytes.
    s.send("memx\x7finfo")
    out = s.cmd("")
    t.check("backspace edits the line", grab(out, r"^MEMINFO ") is not None, "meminfo did not run", out)

    # run: the program's PROC line, its exit status.
    out = s.cmd("trace off")
    out = s.cmd("run /bin/exitcode 7")
    m = grab(out, r"^PROC pid=(\d+) name=exitcode exit=7 ")
    t.check("run /bin/exitcode 7 shows its PROC line", m is not None, "no PROC line", out)
    t.check("run says how it ended", m is not None and grab(out, rf"^run: pid {m.group(1)} ended: status 7$")
            is not None, "no 'run: pid N ended: status 7'", out)

    # A background process: ps lists it, kill ends it.
    out = s.cmd("run /bench/yielder 1000000000 &")
    m = grab(out, r"^run: pid (\d+) started in the background")
    t.check("run ... & starts a background process", m is not None, "no 'started in the background'", out)
    if m:
        pid = m.group(1)
        out = s.cmd("ps")
        t.check("ps lists it", grab(out, rf"^\s+{pid}\s+\d+\s+\S+\s+yielder\b") is not None, "not in ps", out)
        out = s.cmd(f"regions {pid}")
        t.check("regions PID lists its space", grab(out, rf"^VMM space=pid{pid} ") is not None, "no VMM line", out)
        out = s.cmd(f"kill {pid}")
        t.check("kill ends it", grab(out, rf"^KILL pid={pid} name=yielder ") is not None and
                grab(out, rf"^PROC pid={pid} name=yielder exit=killed ") is not None and
                grab(out, rf"^run: pid {pid} \(yielder\) ended: killed, reason=killed") is not None,
                "no KILL, PROC and 'run: pid N (yielder) ended: killed' lines", out)
        out = s.cmd("ps")
        t.check("ps no longer lists it", out is not None and not grab(out, rf"^\s+{pid}\s"), "still listed", out)

    s.send("exit\r")
    s.read_until(b"shell: bye", CMD_TIMEOUT)
    status = s.finish()
    t.check("exit ends QEMU with the pass status", status == harness.EXIT_PASS,
            f"QEMU exit status {status} (pass is {harness.EXIT_PASS})")


def main():
    os.makedirs(harness.LOGS, exist_ok=True)
    t = Tap()
    try:
        s = Session(os.path.join(harness.LOGS, "shell-session.log"))
    except harness.HarnessError as e:
        print("1..1")
        print(f"not ok 1 shell session # {e}")
        return 1
    try:
        session(s, t)
    finally:
        if s.p.poll() is None:
            s.p.kill()
            s.p.wait()
    print(f"1..{t.n}")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
