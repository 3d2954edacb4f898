# session.py - the scripted GDB session of tests/gdb/run.py, run inside
# `gdb -batch` after scripts/gdb/strata.py. It stops a mode=run boot at
# three functions, each entered just after the kernel printed the report
# the commands are compared with, runs the commands there, and lets the
# kernel run to its end. Each command's output is framed for run.py:
#   @@@ BEGIN <step>   ...   @@@ END <step> ok | @@@ END <step> error: <why>
import os
import re

import gdb


def step(name, command):
    """Run command, its output framed; returns the output ("" if it failed)."""
    print("@@@ BEGIN %s: %s" % (name, command), flush=True)
    try:
        out = gdb.execute(command, to_string=True)
        print(out, end="" if out.endswith("\n") else "\n")
        print("@@@ END %s ok" % name, flush=True)
        return out
    except Exception as e:  # every failure is one line for run.py
        print("@@@ END %s error: %s" % (name, str(e).replace("\n", " ")), flush=True)
        return ""


def stop_at(fn):
    """Run until fn is entered; the breakpoint goes with it."""
    gdb.Breakpoint(fn, internal=True, temporary=True)
    try:
        gdb.execute("continue", to_string=True)
        where = gdb.selected_frame().name()
    except gdb.error as e:
        where = "nowhere (%s)" % e
    print("@@@ STOPPED %s at %s" % (fn, where), flush=True)


gdb.execute("set pagination off")
gdb.execute("set confirm off")
step("attach", "strata-attach %s 30" % os.environ["STRATA_GDB_PORT"])

# vmm_demo: entered right after mm_report (MEMINFO, the kernel's pg_dump,
# the kernel space's regions); nothing between allocates.
stop_at("vmm_demo")
out = step("buddy", "strata-buddy check")
# The largest free blocks, and the record of a frame in the middle of the first: a TAIL.
orders = [int(o) for o, n in re.findall(r"(\d+):(\d+)", "\n".join(
    l for l in out.splitlines() if re.match(r"^\s+\d+:\d+", l))) if int(n)]
top = max(orders) if orders else 0
out = step("buddy-blocks", "strata-buddy blocks %d" % top)
m = re.search(r"^  pa ([0-9a-f]+)\.\.", out, re.M)
step("frame-tail", "strata-frame 0x%x" % (int(m.group(1), 16) + (2048 << top)) if m else "strata-frame")
step("maps-kernel", "strata-maps kernel")
step("maps-cr3", "strata-maps")
step("vmm-kernel", "strata-vmm")
step("pt-kmain", "strata-pt kmain")
step("pt-hhdm", "strata-pt hhdm_offset+pg.kroot")
step("frame-root", "strata-frame pg.kroot")
step("frame-kmain", "strata-frame &kmain")
step("frame-mmio", "strata-frame 0xfee00000")

# proc_run_init: entered right after slab_report (the slabinfo table, SLABINFO).
stop_at("proc_run_init")
step("slab", "strata-slab")
step("slab-all", "strata-slab all")

# proc_list: init's ps() system call, before the table is printed.
stop_at("proc_list")
step("ps", "strata-ps")
step("vmm-init", "strata-vmm pid 1")
step("maps-init", "strata-maps pid 1")

# To the end: proc_list prints what strata-ps was compared with.
try:
    gdb.execute("continue", to_string=True)
except gdb.error:
    pass   # the remote side closes when QEMU exits
print("@@@ DONE", flush=True)
