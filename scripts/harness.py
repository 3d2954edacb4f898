#!/usr/bin/python3
"""harness.py - build ISOs, boot Strata under QEMU, judge what it prints.

Subcommands (the Makefile calls them from the repo root):
  run    [--accel tcg|kvm] [--mem M] [--smp N] [--firmware bios|uefi] [-- key=value ...]
  test   [--host BIN...]     host tests, then the boot matrix (STRATA_MATRIX=quick: 3 boots)
  bench  [--host BIN...]     mode=bench boot, prints BENCH lines (numbers are never judged)
  debug  [-- key=value ...]  boots halted with a GDB stub on :1234
  boot   --name X --firmware bios|uefi --mem 128M --smp 1 --cpu M --accel tcg|kvm
         --cmdline "mode=test ..." --timeout S [--modules N]
                             one boot, prints log and verdict

Standard library only; run with Debian's /usr/bin/python3.
"""

import argparse
import concurrent.futures
import fcntl
import hashlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# STRATA_BUILD / STRATA_ELF let the harness be tried on another kernel
# (e.g. a throwaway one) without touching the repo's build/.
BUILD = os.environ.get("STRATA_BUILD", os.path.join(ROOT, "build"))
ELF = os.environ.get("STRATA_ELF", os.path.join(BUILD, "strata.elf"))
INITRD = os.environ.get("STRATA_INITRD", os.path.join(BUILD, "initrd.tar"))
LOGS = os.path.join(BUILD, "logs")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"

# isa-debug-exit turns a write of V to port 0xf4 into exit status (V << 1) | 1.
EXIT_PASS = 33  # kernel wrote 0x10: ended cleanly / all tests passed
EXIT_FAIL = 35  # kernel wrote 0x11: a test failed or it panicked

# What a mode=run boot must print, as regexes matched against each line.
# Change this list when the boot report changes.
REQUIRED_RUN_LINES = [
    r"^Strata",             # the banner
    r"^Command line: ",     # what the bootloader passed
    r"total available",     # the memory map's totals
    r"^CPUS online=",       # CPUs running and CPUs the firmware lists
    r"^PROTECT ",           # the CPU protection features in force
    r"^MEMINFO ",           # the physical memory manager's summary
    r"^VMMDEMO ",           # a process address space made, faulted in, destroyed
    r"^SLABINFO ",          # the kernel heap's summary
    r"^PROC pid=\d+ name=init exit=0 ",   # /init ran in ring 3 and ended well
    r"^KILL pid=\d+ .*reason=",          # ... and one of its programs was killed for a fault
    r"^FORK pid=\d+ child=\d+ shared=[1-9]",  # a copy-on-write fork shared pages (/bin/share)
    r"^share: read\(\) now gives \"stored by the mapping\"",  # a mapped file is the page cache
]

# Seconds per boot. Firmware + GRUB take ~0.5 s (SeaBIOS) or ~5 s (OVMF)
# under TCG; under this host's nested KVM, SeaBIOS + GRUB alone took 63-71 s
# before the kernel's first line, so KVM gets much longer.
TIMEOUT_TCG_BIOS = 30
TIMEOUT_TCG_UEFI = 60
# The kernel's tests touch every free frame, which under TCG costs about
# 3-6 s per GiB (8G: 23 s alone, over 30 s next to another boot).
TIMEOUT_PER_GIB = 10
TIMEOUT_KVM = 150
TIMEOUT_BENCH = 300

PANIC_GRACE = 3      # seconds a panicked kernel may keep printing before QEMU is stopped
LOG_TAIL = 40        # log lines shown when a boot fails
HOST_TAIL = 60       # host test output lines shown when it fails
HOST_TIMEOUT = 300   # seconds per host test binary


def rel(path):
    """A path relative to the repo root when inside it, for messages."""
    r = os.path.relpath(path, ROOT)
    return path if r.startswith("..") else r


# ---------------------------------------------------------------- KTAP --

@dataclass
class Ktap:
    header: bool = False     # saw a top-level "KTAP version 1"
    plan: int = None         # N of the top-level "1..N"
    results: int = 0         # number of top-level ok / not ok lines
    not_ok: list = field(default_factory=list)  # every "not ok" line, any depth
    errors: list = field(default_factory=list)  # structural problems (a second header)
    syntax: list = field(default_factory=list)  # result lines the standard readers misread


RESULT_RE = re.compile(r"^(not ok|ok)\s+(\d+)\b")
PLAN_RE = re.compile(r"^1\.\.(\d+)\s*$")
DIRECTIVE_RE = re.compile(r"\s*(SKIP|TODO)", re.IGNORECASE)


def result_line_problem(body):
    """Why a TAP/KTAP result line ("ok N name # text") would be misread, or "".

    kunit.py reads a name up to the first '#' and takes " # SKIP" anywhere
    on the line as a skip, even on a "not ok"; TAP::Parser takes SKIP or
    TODO after the first '#' as a directive, and a "not ok ... # TODO" as a
    pass. So: no '#' in the name, one " # " at most, and a text after it
    that starts with SKIP or TODO (any case) only as the SKIP of an "ok"."""
    m = re.match(r"^(not ok|ok)\s+\d+\b ?(.*)$", body)
    if not m:
        return ""
    name, sep, text = m.group(2).partition(" # ")
    if "#" in name:
        return "a '#' in the test's name"
    if "#" in text:
        return "a second '#' after the ' # '"
    d = DIRECTIVE_RE.match(text) if sep else None
    if not d:
        return ""
    word = d.group(1).upper()
    if m.group(1) == "not ok":
        return f"a failure's reason that reads as a {word} directive"
    return "a TODO directive" if word == "TODO" else ""


def parse_ktap(text):
    """Parse a serial log as KTAP version 1.

    Boot chatter before the first top-level header is ignored. Nested
    suites are indented by 4 spaces; only indentation 0 counts towards the
    top-level plan, but a "not ok" at any depth is recorded."""
    k = Ktap()
    for raw in text.splitlines():
        line = raw.rstrip("\r\n")
        body = line.lstrip(" ")
        top = len(line) - len(body) == 0
        if top and body.startswith("KTAP version"):
            if k.header:
                # With -no-reboot this means the kernel printed its report twice.
                k.errors.append("a second top-level KTAP header")
            k.header = True
            continue
        if not k.header:
            continue
        m = RESULT_RE.match(body)
        if m:
            why = result_line_problem(body)
            if why:
                k.syntax.append(f"{why}: {line.strip()}")
            if m.group(1) == "not ok":
                k.not_ok.append(line.strip())
            if top:
                k.results += 1
            continue
        m = PLAN_RE.match(body)
        if m and top:
            if k.plan is not None:
                k.errors.append("a second top-level plan")
            k.plan = int(m.group(1))
    return k


# ------------------------------------------------------------- verdicts --

@dataclass
class Verdict:
    ok: bool
    kinds: tuple  # problems found, most important first: panic timeout no_result
                  # not_ok plan syntax status missing (empty when ok)
    reason: str   # one line for people


def panic_lines(text):
    return [l.strip() for l in text.splitlines() if l.lstrip().startswith("PANIC:")]


# A panic, a hang or a crash explains a missing or short KTAP report: when
# one of these is found, plan problems are left out of the reason.
PRIMARY = ("panic", "timeout", "no_result")


def verdict_from(problems):
    """problems: (kind, message) pairs, most important first."""
    if not problems:
        return Verdict(True, (), "ok")
    if any(k in PRIMARY for k, _ in problems):
        problems = [(k, m) for k, m in problems if k in PRIMARY or k == "not_ok"]
    return Verdict(False, tuple(k for k, _ in problems), "; ".join(m for _, m in problems))


def common_problems(timed_out, text, timeout):
    """Problems every mode shares: a panic, a timeout, an unclean exit."""
    problems = []
    panics = panic_lines(text)
    if panics:
        problems.append(("panic", panics[0]))
    if timed_out:
        problems.append(("timeout", f"timed out after {timeout:g} s"))
    return problems


def judge_test(status, timed_out, text, timeout=0):
    """Verdict of a mode=test boot from QEMU's exit status and the serial log."""
    problems = common_problems(timed_out, text, timeout)
    k = parse_ktap(text)
    if not timed_out and status not in (EXIT_PASS, EXIT_FAIL):
        # With -no-reboot a triple fault ends QEMU with status 0.
        problems.append(("no_result",
                         f"triple fault or reset: QEMU exited with no result (status {status})"))
    if k.not_ok:
        n = len(k.not_ok)
        problems.append(("not_ok", f"{n} not ok: {k.not_ok[0]}" + (" ..." if n > 1 else "")))
    if not k.header:
        problems.append(("plan", "no KTAP header"))
    elif k.plan is None:
        problems.append(("plan", "no KTAP plan"))
    elif k.results != k.plan:
        problems.append(("plan", f"plan 1..{k.plan} but {k.results} top-level results"))
    for e in k.errors:
        problems.append(("plan", e))
    if k.syntax:
        n = len(k.syntax)
        problems.append(("syntax", f"KTAP misread by kunit.py or prove: {k.syntax[0]}"
                         + (f" (and {n - 1} more)" if n > 1 else "")))
    # The exit value must agree with the log.
    if status == EXIT_FAIL and not k.not_ok and not panic_lines(text):
        problems.append(("status", "kernel exited 0x11 (failure) but printed no not ok"))
    if status == EXIT_PASS and k.not_ok:
        problems.append(("status", "kernel exited 0x10 (pass) despite a not ok"))
    return verdict_from(problems)


def judge_clean_exit(status, timed_out, text, timeout, required):
    """Verdict of a run or bench boot: exit 0x10 and every required regex on some line."""
    problems = common_problems(timed_out, text, timeout)
    if not timed_out and status != EXIT_PASS:
        if status == EXIT_FAIL:
            problems.append(("status", "kernel exited 0x11 (failure)"))
        else:
            problems.append(("no_result",
                             f"triple fault or reset: QEMU exited with no result (status {status})"))
    problems += [("missing", f"no line matching /{rx}/") for rx in missing_lines(required, text)]
    return verdict_from(problems)


def missing_lines(required, text):
    """The regexes of required that no line of text matches."""
    lines = text.splitlines()
    return [rx for rx in required if not any(re.search(rx, l) for l in lines)]


def judge_run(status, timed_out, text, timeout=0):
    return judge_clean_exit(status, timed_out, text, timeout, REQUIRED_RUN_LINES)


def judge_bench(status, timed_out, text, timeout=0):
    return judge_clean_exit(status, timed_out, text, timeout, [r"^BENCH "])


def judge_expect_fail(status, timed_out, text, timeout=0):
    """The harness self-test: a boot with one test built to fail must be
    judged a failure *because of a not ok line*, and only because of it
    (a panic or a hang would prove nothing about catching a failed test)."""
    v = judge_test(status, timed_out, text, timeout)
    if v.ok:
        return Verdict(False, ("missed",), "the failing test was not caught: verdict was pass")
    if v.kinds != ("not_ok",):
        return Verdict(False, v.kinds, "expected only a not ok, got: " + v.reason)
    return Verdict(True, (), "failure caught: " + v.reason)


CHATTER_RX = re.compile(r"^chatter cpu=\d+ line=\d+$")


def judge_panic_once(status, timed_out, text, timeout=0, cpus=4):
    """The SMP panic path (suite smp_panic): CPU 1 panics while the others
    print numbered lines. Passes if the run failed through the panic, with
    exactly one PANIC line, from CPU 1, a backtrace after it, and no other
    CPU's line after it (they were stopped first). Lines are whole: at most
    one line per CPU may be cut short, where its NMI stopped it."""
    lines = [l.rstrip("\r") for l in text.splitlines()]
    panics = [i for i, l in enumerate(lines) if l.lstrip().startswith("PANIC:")]
    if timed_out or status is None:
        return Verdict(False, ("timeout",), "the panic did not end the run")
    if len(panics) != 1:
        return Verdict(False, ("panic",), f"{len(panics)} PANIC lines, expected one")
    at = panics[0]
    if "on CPU 1" not in lines[at]:
        return Verdict(False, ("panic",), "the report is not CPU 1's: " + lines[at].strip())
    after = lines[at + 1:]
    if any(l.startswith("chatter") for l in after):
        return Verdict(False, ("panic",), "another CPU printed after the report began")
    if not any("backtrace:" in l for l in after):
        return Verdict(False, ("panic",), "no backtrace after the report")
    chatter = [l for l in lines[:at] if "chatter" in l]
    cut = [l for l in chatter if not CHATTER_RX.match(l)]
    if not chatter:
        return Verdict(False, ("panic",), "the other CPUs printed nothing before the panic")
    if len(cut) > cpus:
        return Verdict(False, ("panic",), f"{len(cut)} chatter lines mixed or cut: {cut[0]!r}")
    return Verdict(True, (), f"one report from CPU 1 after {len(chatter)} lines of the others")


JUDGES = {"test": judge_test, "run": judge_run, "bench": judge_bench,
          "expect_fail": judge_expect_fail, "panic_once": judge_panic_once}


# ------------------------------------------------------------ addr2line --

KADDR_RE = re.compile(r"0x[fF]{8}8[0-9a-fA-F]{7}\b")
FRAME_RE = re.compile(r"^\s*(\[\d+\]|#\d+)\s")


def pick_addresses(text):
    """Kernel addresses worth resolving: those on RIP lines and on
    backtrace frame lines ("  [0] 0xffffffff80101234" or "#0 0x..."),
    in order, each once."""
    seen = []
    for line in text.splitlines():
        frame = FRAME_RE.match(line)
        if "RIP" in line or frame:
            for a in KADDR_RE.findall(line):
                # Frames after the first hold return addresses: the call
                # itself is the byte before.
                if frame and frame.group(1) not in ("[0]", "#0"):
                    a = hex(int(a, 16) - 1)
                a = a.lower()
                if a not in seen:
                    seen.append(a)
    return seen


def resolve(addrs, elf=ELF):
    """["0x... function file:line", ...] from one addr2line call.

    -i also names the functions an address was inlined into (the kernel is
    built with -O2, so small helpers like outl() are usually inlined); -a
    prints each address before its frames, which is how groups are told apart."""
    if not addrs or not os.path.exists(elf) or not shutil.which("addr2line"):
        return []
    try:
        p = subprocess.run(["addr2line", "-a", "-i", "-f", "-C", "-e", elf] + addrs,
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    groups = []  # [address, [(function, file:line), ...]]
    lines = p.stdout.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("0x"):
            groups.append([lines[i], []])
            i += 1
        elif groups and i + 1 < len(lines):
            groups[-1][1].append((lines[i], lines[i + 1]))
            i += 2
        else:
            break
    out = []
    for addr, frames in groups:
        text = " <- inlined in ".join(f"{fn} {loc.replace(ROOT + '/', '')}"
                                      for fn, loc in frames) or "??"
        out.append(f"{addr} {text}")
    return out


# ------------------------------------------------------------ ISO build --

def iso_tag(cmdline):
    """A file-name-safe tag for a command line: "mode=test ktest.fail=1"
    -> "mode-test_ktest.fail-1". A command line with other characters also
    gets a short hash, so two command lines never share a tag."""
    words = cmdline.split()
    tag = "_".join(w.replace("=", "-") for w in words) or "empty"
    if not all(re.fullmatch(r"[A-Za-z0-9.]+(=[A-Za-z0-9.]*)?", w) for w in words):
        tag = re.sub(r"[^A-Za-z0-9._-]+", "-", tag)[:60]
        tag += "-" + hashlib.sha1(cmdline.encode()).hexdigest()[:8]
    return tag


GRUB_CFG = """set timeout=0
set default=0
menuentry "Strata" {{
\tmultiboot2 /boot/strata.elf {cmdline}
\tmodule2 /boot/initrd.tar initrd
{modules}\tboot
}}
"""


def write_modules(tree, n):
    """n boot modules for GRUB's module2, the module2 lines for grub.cfg.
    Module i is 5 KiB + 3 KiB * i + i bytes of its own byte: sizes that are
    not page multiples, so module ends fall inside pages."""
    os.makedirs(os.path.join(tree, "mod"), exist_ok=True)
    lines = []
    for i in range(1, n + 1):
        with open(os.path.join(tree, "mod", f"m{i}"), "wb") as f:
            f.write(bytes([33 + i % 200]) * (5120 + 3072 * i + i))
        lines.append(f"\tmodule2 /mod/m{i} m{i}\n")
    return "".join(lines)


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_iso(cmdline, modules=0):
    """Return the path of an ISO booting build/strata.elf with cmdline (and
    that many boot modules).

    Rebuilt only when the ELF's content or the command line changed: a
    stamp file written after a successful grub-mkrescue records both, so a
    half-written ISO from an interrupted build is never reused. A lock
    keeps two harnesses running at once (make run + make test) apart."""
    for need in (ELF, INITRD):
        if not os.path.exists(need):
            raise HarnessError(f"{rel(need)} does not exist: build it first (make)")
    os.makedirs(BUILD, exist_ok=True)
    with open(os.path.join(BUILD, ".iso.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return build_iso_locked(cmdline, modules)


def build_iso_locked(cmdline, modules):
    tag = iso_tag(cmdline) + (f"_{modules}modules" if modules else "")
    tree = os.path.join(BUILD, f"iso-{tag}")
    iso = os.path.join(BUILD, f"strata-{tag}.iso")
    stamp = iso + ".stamp"
    # The grub.cfg template is part of the key: an ISO made from an older one is stale.
    cfg = hashlib.sha1(GRUB_CFG.encode()).hexdigest()[:12]
    key = f"{file_sha256(ELF)} {file_sha256(INITRD)} {cfg} {cmdline} {modules}\n"
    if os.path.exists(iso) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == key:
                return iso
    if os.path.exists(stamp):
        os.unlink(stamp)
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(os.path.join(tree, "boot", "grub"), exist_ok=True)
    # GRUB loads every section of the ELF, debug info too: on an 8 MiB machine that RAM is
    # what the ramdisk needs. The kernel reads no section of its own; backtraces are resolved
    # from build/strata.elf, which keeps its debug info.
    p = subprocess.run(["objcopy", "--strip-debug", ELF, os.path.join(tree, "boot", "strata.elf")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise HarnessError(f"objcopy --strip-debug failed:\n{p.stderr}")
    shutil.copyfile(INITRD, os.path.join(tree, "boot", "initrd.tar"))
    with open(os.path.join(tree, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB_CFG.format(cmdline=cmdline, modules=write_modules(tree, modules)))
    tmp = iso + ".tmp"
    p = subprocess.run(["grub-mkrescue", "-o", tmp, tree], capture_output=True, text=True)
    if p.returncode != 0:
        raise HarnessError(f"grub-mkrescue failed for {cmdline!r}:\n{p.stderr}")
    os.replace(tmp, iso)
    with open(stamp, "w") as f:
        f.write(key)
    return iso


# ----------------------------------------------------------------- QEMU --

class HarnessError(Exception):
    pass


_kvm_cache = None


def kvm_usable():
    """True if /dev/kvm opens read-write and answers KVM_GET_API_VERSION."""
    global _kvm_cache
    if os.environ.get("STRATA_KVM") == "0":
        return False  # asked to stay on TCG (e.g. to time the TCG boots alone)
    if _kvm_cache is None:
        try:
            fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
            try:
                _kvm_cache = fcntl.ioctl(fd, 0xAE00) == 12  # KVM_GET_API_VERSION
            finally:
                os.close(fd)
        except OSError:
            _kvm_cache = False
    return _kvm_cache


@dataclass
class Boot:
    name: str
    cmdline: str = "mode=test"
    firmware: str = "bios"   # bios | uefi
    mem: str = "128M"
    smp: int = 1
    accel: str = "tcg"       # tcg | kvm
    cpu: str = None          # None: qemu64 under TCG, host,-arch-capabilities under KVM
    judge: str = "test"      # key of JUDGES
    timeout: float = None    # None: by accelerator and firmware
    modules: int = 0         # boot modules GRUB loads (module2)
    qemu_extra: tuple = ()   # more QEMU arguments
    online: int = None       # CPUs that must come online; None: all of -smp
    required: tuple = ()     # regexes some line of the log must match, whatever the judge

    def effective_timeout(self):
        if self.timeout is not None:
            return self.timeout
        base = TIMEOUT_KVM if self.accel == "kvm" else \
            TIMEOUT_TCG_UEFI if self.firmware == "uefi" else TIMEOUT_TCG_BIOS
        return base + round(TIMEOUT_PER_GIB * mem_gib(self.mem))


def mem_gib(mem):
    """QEMU's -m size in GiB: "128M" -> 0.125, "4G" -> 4, "512" (MiB) -> 0.5."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([MGT]?)B?", mem.strip().upper())
    if not m:
        raise HarnessError(f"cannot read memory size {mem!r}")
    return float(m.group(1)) * {"": 1 / 1024, "M": 1 / 1024, "G": 1, "T": 1024}[m.group(2)]


def qemu_argv(b, iso, extra=()):
    argv = ["qemu-system-x86_64", "-cdrom", iso, "-m", b.mem, "-smp", str(b.smp),
            "-serial", "stdio", "-display", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if b.accel == "kvm":
        # Plain -cpu host fails here with "failed to set MSR 0x10a" (FACTS.md).
        argv += ["-enable-kvm", "-cpu", b.cpu or "host,-arch-capabilities"]
    else:
        # Several vCPUs run on host threads at once (multi-threaded TCG), so
        # SMP tests see real races; -icount (benchmarks) needs one thread.
        icount = any("icount" in a for a in list(b.qemu_extra) + list(extra))
        accel = "tcg,thread=multi" if b.smp > 1 and not icount else "tcg"
        argv += ["-accel", accel, "-cpu", b.cpu or "qemu64"]
    if b.firmware == "uefi":
        # OVMF writes its variable store: each boot gets a fresh copy.
        vars_copy = os.path.join(BUILD, f"ovmf-vars-{b.name}.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        argv += ["-machine", "q35",
                 "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,file={vars_copy}"]
    return argv + list(b.qemu_extra) + list(extra)


@dataclass
class BootResult:
    status: int       # QEMU's exit status (None if killed on timeout)
    timed_out: bool
    log: str          # serial output, decoded
    stderr: str       # QEMU's own messages
    seconds: float
    log_path: str
    first_output: float = None  # seconds until the first serial byte (firmware + GRUB time)


def run_qemu(b, iso, echo=False, extra=()):
    """Boot once. Serial goes to QEMU's stdout, which we read through a
    pipe so that `run` can stream it live and every mode gets a timeout;
    everything is also written to build/logs/<name>.log."""
    os.makedirs(LOGS, exist_ok=True)
    log_path = os.path.join(LOGS, f"{b.name}.log")
    err_path = os.path.join(LOGS, f"{b.name}.qemu-stderr")
    timeout = b.effective_timeout() if b.timeout != 0 else None
    start = time.monotonic()
    # stdin is /dev/null so QEMU never puts the terminal in raw mode.
    with open(log_path, "wb") as log, open(err_path, "wb") as err:
        p = subprocess.Popen(qemu_argv(b, iso, extra), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=err)
        timed_out = False
        chunks = []
        first = None
        panicked = None
        try:
            while True:
                left = None if timeout is None else start + timeout - time.monotonic()
                # In mode=run a panic halts the CPU (as on real hardware):
                # give it a moment to finish its report, then stop QEMU.
                if panicked is not None:
                    grace = panicked + PANIC_GRACE - time.monotonic()
                    left = grace if left is None else min(left, grace)
                if left is not None and left <= 0:
                    timed_out = True
                    break
                ready, _, _ = select.select([p.stdout], [], [], left)
                if not ready:
                    continue
                data = os.read(p.stdout.fileno(), 65536)
                if not data:
                    break  # EOF: QEMU exited
                if first is None:
                    first = time.monotonic() - start
                chunks.append(data)
                if panicked is None and b"PANIC:" in data:
                    panicked = time.monotonic()
                log.write(data)
                log.flush()
                if echo:
                    sys.stdout.buffer.write(data)
                    sys.stdout.buffer.flush()
        except BaseException:
            # Ctrl-C or any error: never leave QEMU behind.
            p.kill()
            p.wait()
            raise
        if timed_out:
            p.kill()
        status = p.wait()
        p.stdout.close()
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    return BootResult(None if timed_out else status, timed_out,
                      b"".join(chunks).decode("utf-8", "replace"), stderr,
                      time.monotonic() - start, log_path, first)


CPUS_RX = re.compile(r"^CPUS online=(\d+) present=(\d+)\s*$")


def cpus_problem(smp, text, online_wanted=None):
    """What is wrong with the log's CPUS line for a machine of smp CPUs, or ""
    if it is right: present must be what QEMU was given, and every one of
    them online (QEMU's CPUs all answer the start-up IPIs; one left out is
    a failure to find). A log that stops before the line (a hang or panic
    the judge already reports) has no CPUS problem of its own."""
    lines = [m for m in (CPUS_RX.match(l.strip()) for l in text.splitlines()) if m]
    if not lines:
        return "" if panic_lines(text) or "CPU:" not in text else "no CPUS line"
    online, present = int(lines[0].group(1)), int(lines[0].group(2))
    if present != smp:
        return f"CPUS present={present}, but QEMU was started with {smp}"
    if not 1 <= online <= present:
        return f"CPUS online={online} out of range 1..{present}"
    want = smp if online_wanted is None else online_wanted
    if online != want:
        return f"CPUS online={online}, but {want} of QEMU's {smp} CPUs should be"
    if want < smp and "left out" not in text:
        return "CPUs were left out without a line saying which"
    return ""


def required_problem(required, text):
    """What is missing of the lines a boot must print beyond its judge's."""
    return "; ".join(f"no line matching /{rx}/" for rx in missing_lines(required, text))


def boot_and_judge(b, echo=False):
    """Build the ISO, boot, judge. Returns (Verdict, BootResult or None)."""
    try:
        iso = build_iso(b.cmdline, b.modules)
    except HarnessError as e:
        return Verdict(False, ("build",), str(e)), None
    r = run_qemu(b, iso, echo=echo)
    v = JUDGES[b.judge](r.status, r.timed_out, r.log, b.effective_timeout())
    why = cpus_problem(b.smp, r.log, b.online) or required_problem(b.required, r.log)
    if why:
        v = Verdict(False, v.kinds + ("cpus",), why if v.ok else f"{v.reason}; {why}")
    return v, r


def failure_details(r, show_tail=True):
    """Lines shown under a FAIL: log tail, resolved addresses, QEMU's stderr."""
    out = []
    if r is None:
        return out
    lines = r.log.splitlines()
    if show_tail and not lines:
        out.append(f"--- the serial log {rel(r.log_path)} is empty")
    elif show_tail:
        out.append(f"--- last {min(LOG_TAIL, len(lines))} lines of {rel(r.log_path)}")
        out += [l.rstrip("\r") for l in lines[-LOG_TAIL:]]
    not_ok = parse_ktap(r.log).not_ok
    if not_ok:
        # Named in full: the log tail may have scrolled past them.
        out.append(f"--- not ok ({len(not_ok)}):")
        out += ["  " + l for l in not_ok[:20]]
    resolved = resolve(pick_addresses(r.log))
    if resolved:
        out.append("--- kernel addresses (addr2line):")
        out += ["  " + s for s in resolved]
    if r.first_output is not None:
        # Tells slow firmware/GRUB apart from a slow kernel.
        out.append(f"--- first serial output after {r.first_output:.1f} s of {r.seconds:.1f} s")
    if r.stderr.strip():
        out.append("--- QEMU stderr:")
        out += r.stderr.strip().splitlines()[-10:]
    return out


# ------------------------------------------------------------ reporting --

class Tally:
    """Counts results and prints one line per result, whole blocks at once
    so that parallel boots never interleave their output."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.lock = threading.Lock()

    def result(self, name, ok, reason="", details=(), secs=None):
        t = f" ({secs:.1f} s)" if secs is not None else ""
        with self.lock:
            if ok:
                self.passed += 1
                print(f"PASS {name}{t}", flush=True)
            else:
                self.failed += 1
                print(f"FAIL {name}: {reason}{t}", flush=True)
                for l in details:
                    print("    " + l)
                sys.stdout.flush()

    def skip(self, name, why):
        with self.lock:
            self.skipped += 1
            print(f"SKIP {name}: {why}", flush=True)

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


# ----------------------------------------------------------- host tests --

TAP_PLAN_RE = re.compile(r"^1\.\.(\d+)(\s+#.*)?$")
TAP_RESULT_RE = re.compile(r"^(not ok|ok) (\d+)( |$)")


def strict_tap_problem(out):
    """Why a host program's stdout is not strict TAP, or "".

    What prove accepts under "pragma +strict": every line a plan, a
    result, a "#" comment, or a "TAP version" first line; exactly one plan,
    before or after all the results; results numbered 1, 2, ... up to the
    plan; and no result line a reader would misread (result_line_problem)."""
    plans, results, before_plan = [], 0, None   # before_plan: results above the plan
    for i, line in enumerate(out.splitlines(), 1):
        m = TAP_RESULT_RE.match(line)
        if m:
            results += 1
            if int(m.group(2)) != results:
                return f"line {i}: result {m.group(2)} out of sequence (expected {results}): {line}"
            if before_plan:
                return f"line {i}: a result after the plan, which came after results: {line}"
            why = result_line_problem(line)
            if why:
                return f"line {i}: {why}: {line}"
        elif TAP_PLAN_RE.match(line):
            plans.append(int(TAP_PLAN_RE.match(line).group(1)))
            if len(plans) > 1:
                return f"line {i}: a second plan: {line}"
            before_plan = results
        elif not (line.startswith("#") or (i == 1 and re.match(r"^TAP version \d+$", line))):
            return f"line {i}: not a TAP line: {line!r}"
    if not plans:
        return "no plan (1..N)"
    if plans[0] != results:
        return f"plan 1..{plans[0]} but {results} results"
    return ""


def run_host_binary(path, timeout=HOST_TIMEOUT, strict=False):
    """(ok, reason, output) of one host test binary.
    ok = exit status 0 and no "not ok" line in its TAP output; if strict,
    also stdout strict TAP (strict_tap_problem): then stderr is read apart
    and output is stdout with stderr after it."""
    try:
        p = subprocess.run([os.path.abspath(path)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE if strict else subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        both = (e.stdout or b"") + (e.stderr or b"")
        return False, f"timed out after {timeout} s", both.decode("utf-8", "replace")
    except OSError as e:
        return False, f"cannot run: {e}", ""
    out = p.stdout.decode("utf-8", "replace")
    not_ok = [l.strip() for l in out.splitlines() if l.strip().startswith("not ok")]
    problems = []
    if not_ok:
        problems.append(f"{len(not_ok)} not ok: {not_ok[0]}")
    if p.returncode != 0:
        # Negative: killed by a signal (an ASan abort shows as exit status 1).
        problems.append(f"exit status {p.returncode}")
    if strict:
        why = strict_tap_problem(out)
        if why:
            problems.append(f"stdout is not strict TAP: {why}")
        err = p.stderr.decode("utf-8", "replace")
        if err.strip():
            out += ("\n" if out and not out.endswith("\n") else "") + "--- stderr:\n" + err
    return not problems, "; ".join(problems), out


def host_tests(bins, tally):
    for b in bins:
        start = time.monotonic()
        ok, reason, out = run_host_binary(b, strict=True)
        tally.result("host/" + os.path.basename(b), ok, reason,
                     out.splitlines()[-HOST_TAIL:] if not ok else (),
                     time.monotonic() - start)


def harness_unittests(tally):
    """The harness's own tests (tests/harness), as one result."""
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests/harness"],
                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tally.result("harness/unittest", p.returncode == 0, "unittest failed",
                 p.stdout.splitlines()[-HOST_TAIL:], time.monotonic() - start)


# ---------------------------------------------------------- boot matrix --

def boot_matrix():
    """The boot configurations of `make test`, in the order they are listed
    in the brief; each is one result."""
    return [
        Boot("bios-128M-1cpu-tcg"),
        # SMP: every CPU must come online (CPUS online=N present=N, N = -smp),
        # under multi-threaded TCG so they really run at once.
        Boot("bios-4G-2cpu-tcg", mem="4G", smp=2),
        Boot("bios-128M-4cpu-tcg", smp=4),
        Boot("uefi-128M-1cpu-tcg", firmware="uefi"),
        Boot("uefi-4G-2cpu-tcg", firmware="uefi", mem="4G", smp=2),
        Boot("uefi-128M-4cpu-tcg", firmware="uefi", smp=4),
        Boot("bios-32M-1cpu-tcg", mem="32M"),
        # The smallest machine Strata boots (README, "Requirements"), on a CPU
        # without NX: no test may assume more RAM or an optional feature.
        Boot("bios-8M-1cpu-tcg-nonx", mem="8M", cpu="qemu64,-nx"),
        # -cpu max under TCG offers la57, pku and 1 GiB pages.
        Boot("bios-8G-4cpu-tcg-max", mem="8G", smp=4, cpu="max"),
        # Under this host's nested KVM, firmware and GRUB take one to two
        # minutes and every first touch of guest RAM is slow, so the KVM boot
        # runs the suite that needs the real CPU most: paging's protection
        # tests (SMEP, SMAP, NX, WP on the host's own features).
        Boot("bios-128M-1cpu-kvm-paging", mem="128M", accel="kvm",
             cmdline="mode=test ktest=paging", timeout=400),
        Boot("run-bios-128M-tcg", cmdline="mode=run", judge="run"),
        # Processes on the host's own CPU features under KVM: this host's
        # kvm-pvm leaves a syscall in ring 3, which the kernel finishes from
        # the fault (docs/processes.md); /init's tour must still end well.
        # Two CPUs: KVM offers x2APIC, which TCG does not, so this boot is
        # the one that starts an AP through x2APIC.
        Boot("run-bios-128M-2cpu-kvm", cmdline="mode=run", judge="run", accel="kvm", smp=2,
             timeout=400),
        # Harness self-test: one test is built to fail and must be caught.
        Boot("selftest-fail-bios-128M-tcg", cmdline="mode=test ktest.fail=1",
             judge="expect_fail"),
        # More boot modules than the parser's table (16): every one must be
        # protected, and every_free_frame checks the PMM against the tags.
        Boot("bios-128M-40modules-tcg", modules=40),
        # RAM above the boot stub's 64 GiB HHDM is hot-added once paging is
        # up. QEMU reserves no host memory for it (reserve=off) and only the
        # buddy_ram suite runs: every_free_frame would touch all 70 GiB.
        Boot("bios-70G-hotadd-tcg", mem="70G", cmdline="mode=test ktest=buddy_ram",
             qemu_extra=big_ram("70G")),
        Boot("uefi-70G-hotadd-tcg", firmware="uefi", mem="70G",
             cmdline="mode=test ktest=buddy_ram", qemu_extra=big_ram("70G"), timeout=120),
        # An AP that never answers (it gets no STARTUP IPI) is reported and
        # left out; the suites run on the three that came up.
        Boot("smp-silent-ap-bios-128M-4cpu-tcg", smp=4, online=3,
             cmdline="mode=test smp.nosipi=2"),
        # A panic on CPU 1 while the other three print: one report, theirs stopped.
        Boot("smp-panic-bios-128M-4cpu-tcg", smp=4, judge="panic_once",
             cmdline="mode=test ktest=smp_panic ktest.smp_panic=1"),
        # A filter that selects no suite runs no test: that must fail.
        Boot("nosuite-bios-128M-tcg", cmdline="mode=test ktest=nosuchsuite",
             judge="expect_fail"),
        # Benchmarks run longer than tests (18 s measured under TCG).
        Boot("bench-bios-128M-tcg", cmdline="mode=bench", judge="bench", timeout=120),
        # The SMP benchmarks with 1, 2 and 4 CPUs at once (docs/smp.md).
        Boot("bench-smp-bios-128M-4cpu-tcg", cmdline="mode=bench bench=smp", judge="bench",
             smp=4, timeout=120),
        # A virtio-blk disk (transitional on i440fx, as QEMU gives it by default:
        # the driver must use its modern capabilities): PCI finds it, the vblk
        # suite writes, reads back, flushes and checks the errors (issue 16).
        # vblk.require=1: a disk the driver cannot start fails, never skips.
        Boot("vblk-bios-128M-tcg", cmdline="mode=test ktest=vblk vblk.require=1",
             qemu_extra=virtio_disk(swap_image())),
        # The same disk, fresh, as the swap area: swap.format=1 writes its header at boot,
        # and the swap suite reads it back, refuses it damaged, and moves pages through
        # slots (docs/swap.md). A disk of its own: boots run side by side.
        Boot("swap-bios-128M-tcg", cmdline="mode=test ktest=swap swap.format=1 swap.require=1",
             qemu_extra=virtio_disk(swap_image("swap-area.img"))),
        # A machine too small for what runs on it: /test/swap and its child write three
        # times the free RAM and read it back, the reclaimer writing pages out and the
        # faults reading them back (docs/swap.md).
        # The process table, printed mid-way, shows pages of the two in swap.
        Boot("swap-user-bios-24M-tcg", cmdline="mode=test ktest=user user.test=swap swap.format=1",
             mem="24M", timeout=120, qemu_extra=virtio_disk(swap_image("swap-user.img", 64 << 20)),
             required=(r"^\s+\d+\s+\d+\s+\S+\s+swap\s.*\s[1-9]\d* KiB$",)),
        # A working set through RAM, then through swap, timed (issue 16's benchmarks).
        Boot("bench-swap-bios-24M-tcg", cmdline="mode=bench bench=swap swap.format=1", judge="bench",
             mem="24M", timeout=120, qemu_extra=virtio_disk(swap_image("swap-bench.img", 64 << 20))),
        # The same with a disk too small: swap fills and the largest process dies (oom).
        Boot("swap-full-bios-24M-tcg", cmdline="mode=test ktest=user user.test=swap swap.format=1",
             mem="24M", timeout=120, qemu_extra=virtio_disk(swap_image("swap-full.img", 4 << 20))),
        # A swap-in the disk fails (swap.fail_read: the 200th page read, past the header's
        # and within the child's first pass back over its set) kills only the child that
        # faulted (reason=swap-io); its parent reads its words back right, and a second
        # child swaps through the same disk. The case must run, not skip.
        Boot("swapio-bios-24M-tcg",
             cmdline="mode=test ktest=user user.test=swapio swap.format=1 swap.fail_read=200",
             mem="24M", timeout=120, qemu_extra=virtio_disk(swap_image("swap-io.img", 64 << 20)),
             required=(r"^swap: read 200 \(page \d+\) fails as asked",
                       r"^KILL pid=\d+ .*reason=swap-io",
                       r"^\s*ok \d+ read_error_kills_only_the_faulter\s*$")),
    ]


def swap_image(name="swap.img", size=16 << 20):
    """build/<name>: a fresh sparse raw image of size bytes (zeroes), made
    anew for each matrix so no boot reads what an earlier one wrote."""
    os.makedirs(BUILD, exist_ok=True)
    path = os.path.join(BUILD, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def virtio_disk(path):
    """QEMU arguments for a raw image as a virtio-blk PCI disk."""
    return ("-drive", f"file={path},if=none,id=sw,format=raw",
            "-device", "virtio-blk-pci,drive=sw")


def big_ram(size):
    """QEMU arguments for a guest larger than the host would reserve."""
    return ("-object", f"memory-backend-ram,size={size},id=ram0,reserve=off",
            "-machine", "memory-backend=ram0")


QUICK = ("bios-128M-1cpu-tcg", "uefi-128M-1cpu-tcg", "selftest-fail-bios-128M-tcg")


def kvm_refused(b, r):
    """QEMU's complaint, if a KVM boot died in QEMU before the kernel said a
    word: the host's KVM refused the machine (a CPU model or MSR it cannot
    set up). That is this host's limit, not the kernel's failure."""
    if b.accel != "kvm" or r is None or r.timed_out or r.log.strip():
        return ""
    if r.status in (EXIT_PASS, EXIT_FAIL) or "kvm" not in r.stderr.lower():
        return ""
    return next((l.strip() for l in r.stderr.splitlines() if "kvm" in l.lower()), "")


def run_matrix(tally, jobs):
    boots = boot_matrix()
    if os.environ.get("STRATA_MATRIX") == "quick":
        boots = [b for b in boots if b.name in QUICK]
    todo = []
    for b in boots:
        if b.accel == "kvm" and not kvm_usable():
            tally.skip(b.name, "/dev/kvm not usable")
        else:
            todo.append(b)
    # Build every ISO first, one at a time: boots sharing a command line share it.
    for iso in sorted({(b.cmdline, b.modules) for b in todo}):
        try:
            build_iso(*iso)
        except HarnessError as e:
            for b in [b for b in todo if (b.cmdline, b.modules) == iso]:
                tally.result(b.name, False, str(e).splitlines()[0], str(e).splitlines()[1:])
            todo = [b for b in todo if (b.cmdline, b.modules) != iso]
    # Lanes of boots run one after another. TCG boots are CPU-bound: on this
    # 2-core host two at a time took longer overall (80 s) than one lane (67 s).
    # The KVM boot spends over a minute in firmware and GRUB alone, so it
    # gets its own lane and the TCG boots run beside it.
    kvm = [b for b in todo if b.accel == "kvm"]
    tcg = [b for b in todo if b.accel != "kvm"]
    jobs = max(1, jobs)
    lanes = [tcg[i::jobs] for i in range(jobs)] + [kvm]

    def lane(boots):
        for b in boots:
            v, r = boot_and_judge(b)
            if not v.ok and kvm_refused(b, r):
                tally.skip(b.name, "QEMU could not start KVM here: " + kvm_refused(b, r))
                continue
            tally.result(b.name, v.ok, v.reason, failure_details(r) if not v.ok else (),
                         r.seconds if r else None)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(lanes)) as ex:
        for f in [ex.submit(lane, l) for l in lanes if l]:
            f.result()


# ---------------------------------------------------------- subcommands --

def cmd_test(args):
    tally = Tally()
    harness_unittests(tally)
    host_tests(args.host or [], tally)
    run_matrix(tally, args.jobs)
    return tally.summary()


def cmd_run(args):
    cmdline = " ".join(["mode=run"] + args.extra)
    b = Boot("run", cmdline=cmdline, firmware=args.firmware, mem=args.mem, smp=args.smp,
             accel=resolve_accel(args.accel), cpu=args.cpu, judge="run",
             timeout=args.timeout or 0)  # 0: no timeout, run until QEMU exits
    iso = build_iso(cmdline)
    try:
        r = run_qemu(b, iso, echo=True)
    except KeyboardInterrupt:
        print("\nharness: interrupted", file=sys.stderr)
        return 130
    if r.stderr.strip():
        sys.stderr.write(r.stderr)
    if "PANIC:" in r.log:
        print("harness: the kernel panicked (see above); QEMU stopped", file=sys.stderr)
        return 1
    if r.timed_out:
        print(f"harness: timed out after {b.timeout} s", file=sys.stderr)
        return 1
    if r.status != EXIT_PASS:
        why = {EXIT_FAIL: "the kernel reported a failure (0x11)",
               0: "triple fault or reset"}.get(r.status, "QEMU error")
        print(f"harness: QEMU exit status {r.status}: {why} (a clean end is {EXIT_PASS})",
              file=sys.stderr)
        return 1
    return 0


def resolve_accel(want):
    if want == "kvm" and not kvm_usable():
        raise HarnessError("--accel kvm asked for, but /dev/kvm is not usable")
    return want


BENCH_NS_RE = re.compile(r"^BENCH name=(\S+) .*\bns_per_op=([0-9.]+)")

# Pairs measured on the same work in one run: (ours, theirs, what).
BENCH_PAIRS = [
    ("vmm_demand_fault", "linux_first_touch_fault", "a demand-zero fault, Strata vs the host Linux"),
]


def bench_ns(lines):
    """{name: ns_per_op} from BENCH lines."""
    out = {}
    for l in lines:
        m = BENCH_NS_RE.match(l)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def print_comparisons(ns, accel="kvm"):
    for ours, theirs, what in BENCH_PAIRS:
        if ours in ns and theirs in ns and ns[theirs] > 0:
            note = "" if accel == "kvm" else \
                " (the kernel ran under TCG, which emulates every instruction: not a fair ratio)"
            print(f"COMPARE {ours}/{theirs} ratio={ns[ours] / ns[theirs]:.2f}"
                  f" ours_ns={ns[ours]:.2f} theirs_ns={ns[theirs]:.2f} accel={accel}  # {what}{note}")


def cmd_bench(args):
    seen = []
    for path in args.host or []:
        ok, reason, out = run_host_binary(path)
        print(f"# host {os.path.basename(path)}" + ("" if ok else f" failed: {reason}"))
        for l in out.splitlines():
            if l.startswith("BENCH") or not ok:
                print(l)
                seen.append(l)
    # icount by default: under TCG with -icount shift=0 the TSC advances one
    # tick per guest instruction, so each kernel BENCH figure is an exact
    # instruction count, the same on every boot and every machine (sleep=off:
    # idle time does not move the clock). The kernel lines get " unit=instr".
    # Wall clock stays an option: TCG (--wallclock) or KVM (--accel kvm); on
    # this project's nested KVM (kvm-pvm) the kernel ran an empty loop at
    # ~21,500 cycles an iteration (TCG: ~14), so KVM numbers there measure
    # the hypervisor. Those lines get " accel=tcg|kvm".
    if args.accel == "kvm":
        mode = "kvm"
    elif args.wallclock or args.accel == "tcg":
        mode = "tcg"
    else:
        mode = os.environ.get("STRATA_BENCH_MODE") or os.environ.get("STRATA_BENCH_ACCEL") or "icount"
    if mode not in ("icount", "tcg", "kvm"):
        raise HarnessError(f"STRATA_BENCH_MODE={mode!r}: one of icount, tcg, kvm")
    # A failed KVM boot (this host's nested KVM can stop with "KVM internal
    # error") is retried under TCG; only a boot that never gives numbers fails.
    for m in [mode] + (["tcg"] if mode == "kvm" else []):
        acc = "kvm" if m == "kvm" else "tcg"
        extra = ("-icount", "shift=0,sleep=off") if m == "icount" else ()
        tag = " unit=instr" if m == "icount" else f" accel={acc}"
        b = Boot(f"bench-{m}", cmdline="mode=bench", mem=args.mem, smp=args.smp, accel=acc,
                 judge="bench", timeout=args.timeout or TIMEOUT_BENCH, qemu_extra=extra)
        v, r = boot_and_judge(b)
        secs = f"{r.seconds:.1f} s" if r else "-"
        what = ("icount: cycles_per_op is guest instructions, exact and repeatable; "
                "ns_per_op is the virtual clock, one ns per instruction") if m == "icount" else \
               f"{acc} wall clock: cycles_per_op is TSC cycles"
        print(f"# kernel mode=bench, {m}, {b.mem}, {b.smp} cpu ({secs}); {what}; this host has "
              f"{os.cpu_count()} cores: SMP lines with more vCPUs than that take turns")
        bench_lines(r, tag, seen)
        if v.ok:
            print_comparisons(bench_ns(seen), m)  # under icount the kernel side is instructions
            bench_swap("tcg" if m == "kvm" else m, seen)
            return 0
        print(f"# bench boot failed: {v.reason}")
        for l in failure_details(r):
            print("    " + l)
        if m == "kvm":
            print("# retrying under TCG")
    return 1


def bench_swap(m, seen):
    """Swap's figures (issue 16) need a small machine with a disk: one more boot,
    24 MiB with a fresh 64 MiB disk, under icount or TCG (under this host's KVM
    the kernel, which does the swapping, is emulated an instruction at a time).
    Its lines join the others; a failed boot is said, and does not fail the run."""
    extra = ("-icount", "shift=0,sleep=off") if m == "icount" else ()
    b = Boot(f"bench-swap-{m}", cmdline="mode=bench bench=swap swap.format=1", mem="24M",
             judge="bench", timeout=TIMEOUT_BENCH,
             qemu_extra=virtio_disk(swap_image("bench-swap.img", 64 << 20)) + extra)
    v, r = boot_and_judge(b)
    print(f"# kernel mode=bench bench=swap, {m}, {b.mem} and a 64 MiB disk "
          f"({r.seconds:.1f} s)" if r else f"# kernel bench=swap, {m}: no boot")
    bench_lines(r, " unit=instr" if m == "icount" else " accel=tcg", seen)
    if not v.ok:
        print(f"# bench=swap boot failed: {v.reason}")


def bench_lines(r, tag, seen):
    """A kernel boot's BENCH lines, tagged with how they were measured, printed and kept in seen."""
    for l in (r.log.splitlines() if r else []):
        if l.startswith("BENCH"):
            l = l.rstrip("\r") + tag
            print(l)
            seen.append(l)


def cmd_shell(args):
    """mode=shell with the serial console on this terminal: QEMU reads the
    keys (stdio in raw mode; Ctrl-A x ends it) and the kernel's `exit` ends
    QEMU with the pass status, which counts as success here."""
    cmdline = " ".join(["mode=shell"] + args.extra)
    b = Boot("shell", cmdline=cmdline, firmware=args.firmware, mem=args.mem, smp=args.smp,
             accel=resolve_accel(args.accel))
    iso = build_iso(cmdline)
    print("harness: mode=shell; type help, exit ends QEMU (or Ctrl-A x)", flush=True)
    try:
        status = subprocess.run(qemu_argv(b, iso)).returncode
    except KeyboardInterrupt:
        print("\nharness: interrupted", file=sys.stderr)
        return 130
    if status == EXIT_PASS or status == 0:  # exit, or QEMU ended by Ctrl-A x
        return 0
    print(f"harness: QEMU exit status {status} (a clean end is {EXIT_PASS})", file=sys.stderr)
    return 1


def cmd_debug(args):
    """mode=run halted in QEMU with a GDB stub, and gdb in front of it with
    the kernel's symbols (build/strata.elf: the ISO's copy is stripped) and
    scripts/gdb/strata.py loaded (docs/gdb.md). Serial output goes to the
    terminal and to build/logs/debug.log. QEMU ends when gdb does. Without
    gdb on PATH, only QEMU starts, and how to attach is printed."""
    cmdline = " ".join(["mode=run"] + args.extra)
    iso = build_iso(cmdline)
    b = Boot("debug", cmdline=cmdline, mem=args.mem, smp=args.smp,
             accel=resolve_accel(args.accel), firmware=args.firmware)
    port = int(os.environ.get("STRATA_GDB_PORT", "1234"))
    gdb = shutil.which("gdb")
    os.makedirs(LOGS, exist_ok=True)
    serial_log = os.path.join(LOGS, "debug.log")
    argv = qemu_argv(b, iso, ["-gdb", f"tcp:127.0.0.1:{port}", "-S"])
    i = argv.index("-serial")   # serial on the terminal and in the log
    argv[i:i + 2] = ["-chardev", f"stdio,id=serial0,signal=off,logfile={serial_log}", "-serial", "chardev:serial0"]
    if not gdb:
        print(f"QEMU is halted with a GDB stub on :{port}; no gdb on PATH. Attach with:")
        print(f"  gdb -x scripts/gdb/strata.py -ex 'strata-attach {port}' {rel(ELF)}")
        print("(Ctrl-C here ends QEMU.) Serial output follows:", flush=True)
        # Become QEMU: no wrapper process left to orphan it when killed.
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # keep the terminal out of raw mode
        os.execvp(argv[0], argv)
    print(f"harness: QEMU halted with a GDB stub on 127.0.0.1:{port}, serial also in {rel(serial_log)};"
          " gdb follows (Ctrl-C stops the kernel, `continue` goes on, `quit` ends both)", flush=True)
    # Its own session: the terminal's Ctrl-C is gdb's (it stops the kernel), never QEMU's.
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        g = subprocess.run([gdb, "-q", "-x", os.path.join(ROOT, "scripts", "gdb", "strata.py"),
                            "-ex", f"strata-attach {port}", ELF])
        return g.returncode
    finally:
        signal.signal(signal.SIGINT, old)
        if qemu.poll() is None:
            qemu.terminate()
            try:
                qemu.wait(timeout=5)
            except subprocess.TimeoutExpired:
                qemu.kill()
                qemu.wait()


def cmd_boot(args):
    judge = args.judge or ("test" if "mode=test" in args.cmdline.split() else
                           "bench" if "mode=bench" in args.cmdline.split() else "run")
    b = Boot(args.name, cmdline=args.cmdline, firmware=args.firmware, mem=args.mem,
             smp=args.smp, accel=resolve_accel(args.accel), cpu=args.cpu, judge=judge,
             timeout=args.timeout, modules=args.modules)
    v, r = boot_and_judge(b, echo=True)
    if args.picture and r is not None:
        import picture   # scripts/picture.py: the log as an HTML page (docs/picture.md)
        picture.after_boot(r.log, args.picture, b.name)
    if r is not None:
        print(f"\n--- QEMU exit status {r.status}{' (timed out)' if r.timed_out else ''}, "
              f"{r.seconds:.1f} s, log in {rel(r.log_path)}")
    if v.ok:
        print(f"PASS {b.name}: {v.reason}")
        return 0
    print(f"FAIL {b.name}: {v.reason}")
    for l in failure_details(r, show_tail=False):
        print("    " + l)
    return 1


def parse_args(argv):
    # Everything after "--" is extra kernel command line words.
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="harness.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def machine(p, mem, accel_default):
        p.add_argument("--mem", default=mem)
        p.add_argument("--smp", type=int, default=1)
        p.add_argument("--accel", choices=["tcg", "kvm"], default=accel_default)
        p.add_argument("--firmware", choices=["bios", "uefi"], default="bios")

    p = sub.add_parser("run", help="boot mode=run with serial on the terminal")
    machine(p, "512M", "tcg")  # TCG: GRUB is very slow under this host's nested KVM
    p.add_argument("--cpu")
    p.add_argument("--timeout", type=float, help="seconds (default: none)")

    p = sub.add_parser("test", help="host tests, then the boot matrix")
    p.add_argument("--host", nargs="*", metavar="BIN")
    p.add_argument("--jobs", type=int, default=int(os.environ.get("STRATA_JOBS", "1")),
                   help="TCG boots at a time (default 1, or $STRATA_JOBS); "
                        "a KVM boot always runs beside them")

    p = sub.add_parser("bench", help="boot mode=bench and print BENCH lines")
    p.add_argument("--host", nargs="*", metavar="BIN")
    p.add_argument("--mem", default="2G")
    p.add_argument("--smp", type=int, default=1)
    p.add_argument("--accel", choices=["tcg", "kvm"],
                   help="wall-clock kernel boot under this accelerator (default: TCG -icount, "
                        "exact instruction counts; or $STRATA_BENCH_MODE=icount|tcg|kvm)")
    p.add_argument("--wallclock", action="store_true",
                   help="the kernel boot under TCG without -icount (same as --accel tcg)")
    p.add_argument("--timeout", type=float)

    p = sub.add_parser("shell", help="boot mode=shell, the monitor on this terminal")
    machine(p, "128M", "tcg")

    p = sub.add_parser("debug", help="boot halted, GDB stub on :1234")
    machine(p, "512M", "tcg")  # TCG: breakpoints and single-stepping are reliable

    p = sub.add_parser("boot", help="one boot configuration")
    p.add_argument("--name", default="boot")
    p.add_argument("--firmware", choices=["bios", "uefi"], default="bios")
    p.add_argument("--mem", default="128M")
    p.add_argument("--smp", type=int, default=1)
    p.add_argument("--cpu")
    p.add_argument("--accel", choices=["tcg", "kvm"], default="tcg")
    p.add_argument("--cmdline", default="mode=test")
    p.add_argument("--timeout", type=float)
    p.add_argument("--judge", choices=sorted(JUDGES), help="default: from mode=")
    p.add_argument("--modules", type=int, default=0, help="boot modules for GRUB to load")
    p.add_argument("--picture", nargs="?", const="build/picture.html", metavar="HTML",
                   help="after the boot, draw its log as a page (default build/picture.html; "
                        "mode=run prints what it needs, docs/picture.md)")

    args = ap.parse_args(argv)
    args.extra = extra
    return args


def main(argv):
    args = parse_args(argv)
    cmds = {"run": cmd_run, "test": cmd_test, "bench": cmd_bench,
            "debug": cmd_debug, "boot": cmd_boot, "shell": cmd_shell}
    try:
        return cmds[args.cmd](args)
    except HarnessError as e:
        print(f"harness: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Let Ctrl-C reach us as KeyboardInterrupt even inside select().
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main(sys.argv[1:]))
