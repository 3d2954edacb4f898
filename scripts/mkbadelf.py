#!/usr/bin/env python3
"""mkbadelf.py - the malformed programs spawn must refuse (user/data/).

    scripts/mkbadelf.py [OUTDIR]            (default user/data)
    scripts/mkbadelf.py --seed DIR          also valid programs, as fuzz seeds

Each file is one small static x86-64 ELF (one PT_LOAD r-x at 0x400000
holding the headers and an endless loop) with one defect; the comment by
each says which elf_error src/proc/elf.c gives. The outputs are committed;
run this again only to change them.
"""
import os
import struct
import sys

VA = 0x400000
KERNEL_VA = 0xFFFFFFFF80000000
PT_LOAD, PF_X, PF_W, PF_R = 1, 1, 2, 4
LOOP = b"\xeb\xfe"                      # jmp . (never returns)


def elf(vaddr=VA, flags=PF_R | PF_X, phnum=1, cut=None, pad=0):
    """ELF header, phnum PT_LOAD headers (the same bytes mapped again one
    page further each time), then the code; cut keeps only that many
    bytes. pad is e_ident[15], which the fuzz target reads as repairs."""
    code_at = 64 + 56 * phnum
    length = code_at + len(LOOP)
    ehdr = b"\x7fELF" + bytes([2, 1, 1]) + bytes(8) + bytes([pad])
    ehdr += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, vaddr + code_at, 64, 0, 0,
                        64, 56, phnum, 64, 0, 0)
    phdrs = b""
    for i in range(phnum):
        phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, flags, 0, vaddr + i * 0x1000,
                             vaddr + i * 0x1000, length, length, 0x1000)
    img = ehdr + phdrs + LOOP
    return img if cut is None else img[:cut]


BAD = {
    # ELF_E_WX: its one segment is readable, writable and executable.
    "bad_wx.elf": elf(flags=PF_R | PF_W | PF_X),
    # ELF_E_ADDRESS: the segment (and the entry) in the kernel half.
    "bad_kernel.elf": elf(vaddr=KERNEL_VA),
    # ELF_E_PHDRS: says 3 program headers, the file ends inside the second.
    "bad_trunc.elf": elf(phnum=3, cut=64 + 56 + 20),
    # ELF_E_MAGIC: text, longer than an ELF header.
    "not_elf.txt": b"This is a text file, not a program: spawn must refuse it "
                   b"with ENOEXEC.\n",
}


def main(argv):
    if len(argv) == 3 and argv[1] == "--seed":
        seeds = {"tiny.elf": elf(), "tiny-repair.elf": elf(pad=0x1f),
                 "two-segments.elf": elf(phnum=2),
                 "two-segments-repair.elf": elf(phnum=2, pad=0x1f)}
        for name, data in seeds.items():
            with open(os.path.join(argv[2], name), "wb") as f:
                f.write(data)
        argv = argv[:1]
    out = argv[1] if len(argv) > 1 else "user/data"
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(BAD.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
