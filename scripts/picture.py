#!/usr/bin/python3
"""picture.py - a mode=run boot log as one self-contained HTML page of inline SVG.

  scripts/picture.py LOG [-o build/picture.html] [--png build/picture.png]

Reads the PIC lines the kernel prints at the end of mode=run
(src/kernel/picture.c), the PROC lines and the alloc(5) trace, and draws:
the physical address space, the zones, free blocks by order, who holds the
allocated frames, the heap's caches, and the alloc(5) path as a sequence
across slab, vmm, buddy and paging. No network, no script: one file.
--png renders it with headless chromium. docs/picture.md has the tags.

Standard library only; run with Debian's /usr/bin/python3.
"""

import argparse
import html
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

WIDTH = 1200          # the page's drawing width in CSS pixels
LEFT = 20             # left margin inside each SVG
BAR = WIDTH - 2 * LEFT

TYPE_COLOUR = {"available": "#8fd18f", "reserved": "#b0b0b0", "acpi": "#e8c15a",
               "nvs": "#d9984a", "bad": "#d9463e", "hole": "#ffffff"}
KIND_COLOUR = {"kernel": "#3b6fd6", "boot_tables": "#9db7ea", "bootinfo": "#c7a2e8",
               "module": "#e07ad0", "other": "#777777"}
SECTION_COLOUR = {"text": "#1f3f8a", "rodata": "#4f7fd9", "data": "#7fa7f0"}
OWNER_COLOUR = {"page_tables": "#e4572e", "slabs": "#4c9be8", "large": "#2f6db5",
                "kernel_regions": "#17becf", "vmm_nodes": "#9467bd", "page_cache": "#f2b134",
                "process": "#2ca02c", "uncounted": "#c7c7c7"}
FRAME_COLOUR = {"free": "#8fd18f", "reserved": "#b0b0b0", "allocated": "#e4572e"}
CACHE_COLOUR = {"active": "#e4572e", "parked": "#f2b134", "free": "#8fd18f"}
LAYERS = ["slab", "vmm", "buddy", "paging"]
LAYER_COLOUR = {"slab": "#4c9be8", "vmm": "#9467bd", "buddy": "#2ca02c", "paging": "#e4572e"}

TAG_RE = re.compile(r"^([A-Z][A-Z0-9]*) ((?:\S+=\S*\s*)+)$")
TRACE_RE = re.compile(r"^  (slab|vmm|buddy|paging):\s+(.*)$")


class PictureError(Exception):
    pass


# ---------------------------------------------------------------- reading --

def pairs(text):
    return dict(w.split("=", 1) for w in text.split())


def num(v):
    return int(v, 0)


def parse(log):
    """What the page needs from a log: {tag: [dict, ...]} for the PIC lines,
    PROC and MEMINFO, and the alloc(5) trace as (phase, layer, text)."""
    d = {"PICMAP": [], "PICRANGE": [], "PICMODULE": [], "PICSECTION": [], "PICZONE": [],
         "PICFREE": [], "PICFRAMES": [], "PICOWNER": [], "PICPROC": [], "PICCACHE": [],
         "PICTURE": [], "PROC": [], "MEMINFO": [], "trace": []}
    phase = None
    for raw in log.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("slab: the alloc(5) path, live"):
            phase = "alloc"
            continue
        if line.startswith("slab: and back"):
            phase = "free"
            continue
        if phase:
            m = TRACE_RE.match(line)
            if m:
                d["trace"].append((phase, m.group(1), m.group(2)))
                continue
            if not line.startswith("  "):
                phase = None     # the trace is the indented block; anything else ends it
        m = TAG_RE.match(line)
        if m and m.group(1) in d:
            d[m.group(1)].append(pairs(m.group(2)))
    if not any(p.get("part") == "end" for p in d["PICTURE"]):
        raise PictureError("no 'PICTURE part=end' line: not a whole mode=run log "
                           "(the kernel prints the PIC lines at the end of mode=run, "
                           "unless picture=0)")
    return d


# ---------------------------------------------------------------- drawing --

def esc(s):
    return html.escape(str(s), quote=True)


def size_str(n):
    """Bytes as people read them: 636 KiB, 124 MiB, 12 GiB."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            v = n / (1 << shift)
            return f"{v:.0f} {unit}" if v >= 10 or v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


def rect(x, y, w, h, fill, title, **data):
    attrs = "".join(f' data-{k.replace("_", "-")}="{esc(v)}"' for k, v in data.items())
    return (f'<rect x="{x:.2f}" y="{y:.2f}" width="{max(w, 0):.2f}" height="{h:.2f}" fill="{fill}" '
            f'stroke="#333" stroke-width="0.5"{attrs}><title>{esc(title)}</title></rect>')


def text(x, y, s, size=12, anchor="start", weight="normal", fill="#222", halo=False):
    style = ' style="paint-order:stroke" stroke="#fff" stroke-width="3"' if halo else ""
    return (f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{style}>{esc(s)}</text>')


def svg(gid, height, body, title, note):
    return (f'<section><h2>{esc(title)}</h2><p class="note">{esc(note)}</p>'
            f'<svg id="{gid}-svg" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}"><g id="{gid}">{"".join(body)}</g></svg></section>')


def segments(entries):
    """The sanitized map with the holes between entries made explicit, sorted."""
    out, at = [], 0
    for e in sorted(entries, key=lambda e: e["base"]):
        if e["base"] > at:
            out.append({"base": at, "end": e["base"], "type": "hole"})
        out.append(e)
        at = max(at, e["end"])
    return out


def physmap(d):
    """Three rows: every entry and hole on a log scale, RAM to scale, the low
    memory where the image and modules sit to scale."""
    m = [{"base": num(e["base"]), "end": num(e["end"]), "type": e["type"]}
         for e in d["PICMAP"] if e["src"] == "sanitized"]
    if not m:
        raise PictureError("no PICMAP src=sanitized lines")
    body, y = [], 10
    # Row 1: log widths, so 4 KiB and 12 GiB both show.
    segs = segments(m)
    weights = [1 + math.log2(max(s["end"] - s["base"], 4096) / 4096) for s in segs]
    scale = BAR / sum(weights)
    body.append(text(LEFT, y + 12, "all of it, log scale: a segment's width is 1 + log2(its size / 4 KiB);"
                     " white is a hole no entry covers", 12, weight="bold"))
    y += 20
    x = LEFT
    body.append('<g id="physmap-log">')
    for s, w in zip(segs, weights):
        size = s["end"] - s["base"]
        body.append(rect(x, y, w * scale, 36, TYPE_COLOUR.get(s["type"], "#b0b0b0"),
                         f'{s["type"]} 0x{s["base"]:x}-0x{s["end"]:x} ({size_str(size)})',
                         kind="entry" if s["type"] != "hole" else "hole", type=s["type"],
                         base=hex(s["base"]), end=hex(s["end"])))
        if w * scale > 46:
            body.append(text(x + w * scale / 2, y + 23, size_str(size), 10, "middle"))
        x += w * scale
    body.append("</g>")
    y += 52
    # Row 2: RAM to scale, from 0 to the end of the highest available entry.
    top = max(e["end"] for e in m if e["type"] == "available")
    rows = []
    y = linear_row(rows, d, m, 0, top, y, "physmap-ram",
                   f"RAM to scale: 0 to 0x{top:x} ({size_str(top)}), linear; zones marked above the bar")
    # Row 3: low memory, to the end of the image and the modules, to scale.
    ends = [num(r["end"]) for r in d["PICRANGE"] if not int(r.get("released", "0"))] + \
           [num(s["end"]) for s in d["PICSECTION"]]
    low = min(top, 1 << max(21, (max(ends + [1 << 20]) - 1).bit_length()))
    y = linear_row(rows, d, m, 0, low, y, "physmap-low",
                   f"low memory to scale: 0 to 0x{low:x} ({size_str(low)}), linear: the first MiB,"
                   " the kernel image by section, the boot modules")
    body.append(legend(y, {**{k: v for k, v in TYPE_COLOUR.items() if k != "hole"},
                           **{f"protected: {k}": v for k, v in KIND_COLOUR.items()},
                           **{f"image: {k}": v for k, v in SECTION_COLOUR.items()}}))
    return svg("physmap", y + 50, body + rows,
               "The physical address space",
               "From the kernel's PICMAP (the sanitized map), PICRANGE (what the PMM protected at boot;"
               " released ones are hatched), PICMODULE and PICSECTION lines. The first row is on a log"
               " scale (a broken axis would hide how far away the top entries are); the other two are"
               " linear.")


def linear_row(out, d, m, lo, hi, y, gid, title):
    """One linear bar of [lo, hi) into out: map entries, protected ranges, sections, zone marks."""
    span = max(hi - lo, 1)

    def xs(a):
        return LEFT + (min(max(a, lo), hi) - lo) * BAR / span

    out.append(text(LEFT, y + 12, title, 12, weight="bold"))
    y += 18
    out.append(f'<g id="{gid}">')
    for z in d["PICZONE"]:
        zb = num(z["base"])
        if lo < zb < hi:
            out.append(f'<line x1="{xs(zb):.2f}" y1="{y}" x2="{xs(zb):.2f}" y2="{y + 78}" '
                       f'stroke="#000" stroke-dasharray="4 3"/>')
            out.append(text(xs(zb) + 3, y + 10, f'zone {z["name"]} from {size_str(zb)}', 10))
    y += 14
    for e in segments(m):
        if e["end"] <= lo or e["base"] >= hi:
            continue
        out.append(rect(xs(e["base"]), y, xs(e["end"]) - xs(e["base"]), 24,
                        TYPE_COLOUR.get(e["type"], "#b0b0b0"),
                        f'{e["type"]} 0x{e["base"]:x}-0x{e["end"]:x} ({size_str(e["end"] - e["base"])})',
                        kind="entry" if e["type"] != "hole" else "hole", type=e["type"]))
    for r in d["PICRANGE"]:
        b, e = num(r["base"]), num(r["end"])
        if e <= lo or b >= hi:
            continue
        released = int(r.get("released", "0"))
        fill = "url(#hatch)" if released else KIND_COLOUR.get(r["kind"], "#777")
        out.append(rect(xs(b), y + 28, max(xs(e) - xs(b), 1), 16, fill,
                        f'{r["kind"]} 0x{b:x}-0x{e:x} ({size_str(e - b)})'
                        + (", released" if released else ""),
                        kind="range", range=r["kind"], released=released))
        if xs(e) - xs(b) > 7 * len(r["kind"]) + 20:
            out.append(text((xs(b) + xs(e)) / 2, y + 40, r["kind"] + (" (released)" if released else ""),
                            10, "middle", fill="#fff" if not released else "#222"))
    for s in d["PICSECTION"]:
        b, e = num(s["base"]), num(s["end"])
        out.append(rect(xs(b), y + 48, max(xs(e) - xs(b), 1), 12, SECTION_COLOUR.get(s["name"], "#333"),
                        f'kernel {s["name"]} 0x{b:x}-0x{e:x} ({size_str(e - b)})',
                        kind="section", section=s["name"]))
    for mo in d["PICMODULE"]:
        b, e = num(mo["base"]), num(mo["end"])
        out.append(rect(xs(b), y + 48, max(xs(e) - xs(b), 1), 12, KIND_COLOUR["module"],
                        f'module {mo["name"]} 0x{b:x}-0x{e:x} ({size_str(e - b)})',
                        kind="module", module=mo["name"]))
        if xs(e) - xs(b) > 40:
            out.append(text((xs(b) + xs(e)) / 2, y + 72, mo["name"], 10, "middle"))
    if lo == 0 and hi > 1 << 20 and (1 << 20) * BAR / span > 60:   # the PMM never hands it out
        out.append(f'<line x1="{xs(0):.2f}" y1="{y - 4}" x2="{xs(1 << 20):.2f}" y2="{y - 4}" stroke="#000" '
                   f'stroke-width="2"/>')
        out.append(text(xs(1 << 20) / 2 + LEFT / 2, y - 7, "first MiB: reserved by the PMM", 10, "middle"))
    for i in range(5):
        a = lo + span * i // 4
        out.append(text(xs(a), y + 84, f"0x{a:x}", 10, "middle" if 0 < i < 4 else
                        ("start" if i == 0 else "end")))
    out.append("</g>")
    return y + 96


def legend(y, colours):
    out, x = ['<g class="legend">'], LEFT
    for name, c in colours.items():
        w = 22 + 6.5 * len(name)
        if x + w > WIDTH - LEFT:
            x, y = LEFT, y + 18
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{c}" stroke="#333" stroke-width="0.5"/>')
        out.append(text(x + 16, y + 10, name, 11))
        x += w
    out.append("</g>")
    return "".join(out)


def hbar(label, parts, y, total, gid, colours, unit="pages", kib_per=4):
    """One stacked bar: parts is [(name, value, data)], scaled to total."""
    out = [text(LEFT, y + 12, label, 12, weight="bold"), f'<g id="{gid}">']
    x, scale = LEFT, BAR / max(total, 1)
    for name, v, data in parts:
        w = v * scale
        out.append(rect(x, y + 18, w, 28, colours.get(name, "#999"),
                        f"{name}: {v} {unit} ({size_str(v * kib_per * 1024)})", name=name, **data))
        if w > 8 * len(name) + 10:
            out.append(text(x + w / 2, y + 36, f"{name} {v}", 10, "middle"))
        x += w
    out.append("</g>")
    return out, y + 54


def zones(d):
    body, y = [], 8
    big = max([int(z["ram_kib"]) for z in d["PICZONE"]] + [1])
    body.append('<g id="zones-bars">')
    for z in d["PICZONE"]:
        ram, free = int(z["ram_kib"]), int(z["free_kib"])
        body.append(text(LEFT, y + 14, f'{z["name"]} [0x{num(z["base"]):x}, 0x{num(z["end"]):x})', 12,
                         weight="bold"))
        body.append(rect(LEFT + 480, y, (BAR - 480) * ram / big, 20, "#b0b0b0",
                         f'{z["name"]}: {ram} KiB of RAM', zone=z["name"], ram_kib=ram))
        body.append(rect(LEFT + 480, y + 4, (BAR - 480) * free / big, 12, FRAME_COLOUR["free"],
                         f'{z["name"]}: {free} KiB free', zone=z["name"], free_kib=free))
        body.append(text(LEFT + 300, y + 14, f"{free} of {ram} KiB free", 11))
        y += 28
    body.append("</g>")
    return svg("zones", y + 8, body, "Zones",
               "PICZONE: RAM in each zone (grey) and what is free in it (green), linear, to the largest zone.")


def freeblocks(d):
    rows = sorted(((int(f["order"]), int(f["blocks"])) for f in d["PICFREE"]))
    kib = [(o, n, n * (4 << o)) for o, n in rows]
    big = max([k for _, _, k in kib] + [1])
    body, y = [], 8
    body.append(text(LEFT, y + 10, "order", 11, weight="bold"))
    body.append(text(LEFT + 60, y + 10, "blocks", 11, weight="bold"))
    body.append(text(LEFT + 130, y + 10, "KiB free in blocks of that order (bar, linear)", 11, weight="bold"))
    y += 16
    for o, n, k in kib:
        body.append(text(LEFT, y + 11, f"{o} ({size_str(4096 << o)})", 10))
        body.append(text(LEFT + 60, y + 11, str(n), 10))
        body.append(rect(LEFT + 130, y, (BAR - 130 - 120) * k / big, 13, "#4c9be8",
                         f"order {o}: {n} blocks of {size_str(4096 << o)} = {k} KiB",
                         order=o, blocks=n, kib=k))
        body.append(text(LEFT + 130 + (BAR - 130 - 120) * k / big + 4, y + 11, f"{k} KiB", 10))
        y += 16
    fr = d["PICFRAMES"][0] if d["PICFRAMES"] else {}
    body.append(text(LEFT, y + 14, f'and {fr.get("cpu_cached", "?")} single pages in the per-CPU page caches '
                     "(free, not in any block)", 11))
    return svg("freeblocks", y + 26, body, "Free blocks by order",
               "PICFREE: the buddy's free lists, one line per order; a block of order n is 4 KiB << n.")


def owners(d):
    fr = d["PICFRAMES"][0]
    total, free, res, alloc = (int(fr[k]) for k in ("total", "free", "reserved", "allocated"))
    body, y = [], 4
    part, y = hbar(f"every frame the PMM manages: {total} ({size_str(total * 4096)})",
                   [("free", free, {"pages": free}), ("reserved", res, {"pages": res}),
                    ("allocated", alloc, {"pages": alloc})], y, total, "frames", FRAME_COLOUR)
    body += part
    ows = [(o["name"], int(o["pages"]), {"pages": int(o["pages"])}) for o in d["PICOWNER"]]
    part, y = hbar(f"who holds the {alloc} allocated frames (bar scaled to them, not to all RAM)",
                   ows, y + 6, alloc, "owners-bar", OWNER_COLOUR)
    body += part
    body.append(legend(y + 2, {n: c for n, c in OWNER_COLOUR.items()}))
    y += 30
    for p in d["PICPROC"]:
        body.append(text(LEFT, y + 12, f'live at the snapshot: pid {p["pid"]} {p["name"]}: '
                         f'{p["resident"]} resident pages, {p["tables"]} tables', 11))
        y += 16
    # Each process as its PROC line left it: peak and resident at exit.
    procs = [(int(p["pid"]), p["name"], int(p["peak_kib"]), int(p["resident_kib"]), p["exit"])
             for p in d["PROC"]]
    body.append(text(LEFT, y + 14, "each process, from its PROC line: peak resident (light) and resident "
                     "at exit (dark), KiB, linear", 12, weight="bold"))
    y += 22
    big = max([pk for _, _, pk, _, _ in procs] + [1])
    body.append('<g id="processes">')
    for pid, name, peak, res_kib, ex in sorted(procs):
        body.append(text(LEFT, y + 12, f"pid {pid} {name} (exit {ex})", 11))
        body.append(rect(LEFT + 230, y, (BAR - 330) * peak / big, 16, "#a6d8a6",
                         f"pid {pid} {name}: peak {peak} KiB", pid=pid, peak_kib=peak))
        body.append(rect(LEFT + 230, y + 3, (BAR - 330) * res_kib / big, 10, OWNER_COLOUR["process"],
                         f"pid {pid} {name}: {res_kib} KiB at exit", pid=pid, resident_kib=res_kib))
        body.append(text(LEFT + 234 + (BAR - 330) * peak / big, y + 12, f"{res_kib} / {peak} KiB", 10))
        y += 20
    body.append("</g>")
    return svg("owners", y + 10, body, "Who holds the frames",
               "PICFRAMES and PICOWNER at the end of mode=run, after every process ended: each owner is"
               " counted by the layer that took its frames (docs/picture.md says how); 'uncounted' is"
               " what none of them counts (mostly the files' memory-object index pages, and the copy of"
               " the module list). The processes are gone by then, so each is shown as its PROC line"
               " left it.")


def slabs(d):
    caches = [c for c in d["PICCACHE"] if int(c["slabs"])]
    empty = len(d["PICCACHE"]) - len(caches)
    body, y = [], 8
    big = max([int(c["slabs"]) * int(c["objs_per_slab"]) for c in caches] + [1])
    body.append('<g id="slabs-bars">')
    for c in caches:
        total = int(c["slabs"]) * int(c["objs_per_slab"])
        a, p, f = int(c["active"]), int(c["parked"]), int(c["free"])
        body.append(text(LEFT, y + 13, f'{c["name"]} ({c["size"]} B, {c["slabs"]} slab(s) of '
                         f'{c["pages_per_slab"]} page(s))', 11))
        x, scale = LEFT + 330, (BAR - 330 - 150) / big
        for name, v in (("active", a), ("parked", p), ("free", f)):
            body.append(rect(x, y, v * scale, 16, CACHE_COLOUR[name], f'{c["name"]}: {v} {name}',
                             cache=c["name"], part=name, objects=v))
            x += v * scale
        body.append(text(x + 4, y + 13, f"{a} active, {p} parked, {f} free of {total}", 10))
        y += 20
    body.append("</g>")
    body.append(text(LEFT, y + 14, f"{empty} caches hold no slab and are left out", 11))
    body.append(legend(y + 22, {f"{k} objects": v for k, v in CACHE_COLOUR.items()}))
    return svg("slabs", y + 44, body, "The heap's caches",
               "PICCACHE: objects of each cache that holds a slab, linear to the largest: active (handed"
               " out), parked (in a CPU's magazine or the depot), free (in the slabs).")


def alloc5(d):
    steps = d["trace"]
    colx = {l: LEFT + 120 + i * (BAR - 160) / 3 for i, l in enumerate(LAYERS)}
    body, y = [], 10
    for l in LAYERS:
        body.append(rect(colx[l] - 50, y, 100, 24, LAYER_COLOUR[l], f"layer {l}", layer=l))
        body.append(text(colx[l], y + 16, l, 13, "middle", "bold", "#fff"))
    top = y + 24
    y += 44
    rows = []
    prev, phase = None, None
    for i, (ph, layer, msg) in enumerate(steps):
        if ph != phase:
            rows.append(text(LEFT, y + 4, "kmalloc(5)" if ph == "alloc" else "kfree, reap", 12,
                             weight="bold"))
            y += 14
            phase, prev = ph, None
        x = colx[layer]
        if prev is not None and prev != layer:
            rows.append(f'<line x1="{colx[prev]:.2f}" y1="{y - 8}" x2="{x:.2f}" y2="{y - 8}" '
                        f'stroke="#333" stroke-width="1.2" marker-end="url(#arrow)"/>')
        short = msg if len(msg) <= 150 else msg[:147] + "..."
        rows.append(f'<circle cx="{x:.2f}" cy="{y - 8}" r="4" fill="{LAYER_COLOUR[layer]}" '
                    f'data-step="{i}" data-layer="{layer}" data-phase="{ph}"><title>{esc(msg)}</title></circle>')
        rows.append(text(LEFT + 20, y + 8, f"{layer}: {short}", 10, fill=LAYER_COLOUR[layer], halo=True))
        prev = layer
        y += 30
    for l in LAYERS:
        body.append(f'<line x1="{colx[l]:.2f}" y1="{top}" x2="{colx[l]:.2f}" y2="{y}" stroke="#999" '
                    f'stroke-dasharray="3 3"/>')
    body.append('<g id="alloc5-steps">' + "".join(rows) + "</g>")
    if not steps:
        body.append(text(LEFT, y + 10, "no alloc(5) trace in this log", 12))
        y += 20
    return svg("alloc5", y + 10, body, "The alloc(5) path",
               "The trace mode=run prints for kmalloc(5) on a class with no free object, then kfree and"
               " a reap: one dot per line, on the layer that printed it, an arrow where the work passes"
               " to another layer (top to bottom in time).")


CSS = """body{font-family:sans-serif;margin:16px;background:#fff;color:#222;width:1200px}
h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:18px 0 2px 0}
p.note{font-size:12px;color:#555;margin:2px 0 6px 0;max-width:1200px}svg{display:block}"""

DEFS = ('<svg width="0" height="0" style="position:absolute"><defs>'
        '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="3"/>'
        '</pattern><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs></svg>')


def build_html(log, source="a boot log"):
    """The page for a log's text; raises PictureError if the lines are missing."""
    d = parse(log)
    begin = next((p for p in d["PICTURE"] if p.get("part") == "begin"), {})
    parts = [physmap(d), zones(d), freeblocks(d), owners(d), slabs(d), alloc5(d)]
    head = (f'<h1>A picture of memory</h1><p class="note">Strata, {esc(source)}: '
            f'{esc(begin.get("levels", "?"))}-level paging, {esc(begin.get("page_kib", "4"))} KiB pages. '
            "Drawn by scripts/picture.py from the kernel's PIC lines (docs/picture.md). Hover for numbers.</p>")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Strata: a picture of memory</title>"
            f"<style>{CSS}</style></head><body>{DEFS}{head}{''.join(parts)}</body></html>\n")


def page_height(page):
    """The page's height in CSS pixels, near enough for a screenshot window."""
    svgs = sum(int(h) for h in re.findall(r'<svg id="[^"]+" [^>]*height="(\d+)"', page))
    return svgs + 70 * page.count("<section>") + 60


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render_png(html_path, png_path, page, scale=1.0):
    """Headless chromium's screenshot of the page; raises PictureError without chromium."""
    exe = chromium()
    if not exe:
        raise PictureError("chromium is not installed (apt-get install -y chromium; scripts/deps.sh)")
    with tempfile.TemporaryDirectory(prefix="strata-chromium-") as prof:
        argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--user-data-dir={prof}", f"--force-device-scale-factor={scale}",
                f"--window-size={WIDTH + 40},{page_height(page)}",
                f"--screenshot={os.path.abspath(png_path)}", "file://" + os.path.abspath(html_path)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or not os.path.exists(png_path):
        raise PictureError(f"chromium failed (status {p.returncode}): {p.stderr.strip()[-400:]}")


def write(log, out, png=None, source="a boot log", scale=1.0):
    """Write the page (and the PNG if asked); returns the page's text."""
    page = build_html(log, source)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(page)
    if png:
        render_png(out, png, page, scale)
    return page


def after_boot(log, out, name):
    """harness.py boot --picture: the page for the log just printed, or why there is none."""
    try:
        write(log, out, source=f"boot {name}")
        print(f"picture: {out}")
        return True
    except (OSError, PictureError) as e:
        print(f"picture: {e}", file=sys.stderr)
        return False


def main(argv):
    ap = argparse.ArgumentParser(prog="picture.py", description=__doc__.splitlines()[0])
    ap.add_argument("log", help="a serial log of a mode=run boot (build/logs/NAME.log)")
    ap.add_argument("-o", "--out", default="build/picture.html")
    ap.add_argument("--png", help="also render it to this PNG with headless chromium")
    ap.add_argument("--scale", type=float, default=1.0, help="the PNG's device scale factor")
    a = ap.parse_args(argv)
    try:
        with open(a.log, errors="replace") as f:
            write(f.read(), a.out, a.png, os.path.basename(a.log), a.scale)
    except (OSError, PictureError) as e:
        print(f"picture: {e}", file=sys.stderr)
        return 1
    print(f"picture: {a.out}" + (f", {a.png}" if a.png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
