#!/usr/bin/python3
"""test_picture.py - the picture of memory, checked in a real browser (TAP).

Boots one mode=run (BIOS, 128 MiB, TCG) through scripts/harness.py, draws
its log with scripts/picture.py, reads the page back with html.parser (each
part's SVG group is there and its numbers are the log's), renders it with
headless chromium and decodes the PNG (zlib) to check it is not blank.
Without chromium the browser check fails, saying so. docs/picture.md.
"""

import html.parser
import os
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import harness  # noqa: E402
import picture  # noqa: E402

PARTS = ["physmap", "physmap-log", "physmap-ram", "physmap-low", "zones", "zones-bars", "freeblocks",
         "owners", "frames", "owners-bar", "processes", "slabs", "slabs-bars", "alloc5", "alloc5-steps"]


class Page(html.parser.HTMLParser):
    """Every element as (tag, attrs, ids of the <g> groups around it)."""

    def __init__(self):
        super().__init__()
        self.elems, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elems.append((tag, a, [g for g in self.stack if g]))
        if tag == "g":
            self.stack.append(a.get("id"))

    def handle_startendtag(self, tag, attrs):
        self.elems.append((tag, dict(attrs), [g for g in self.stack if g]))

    def handle_endtag(self, tag):
        if tag == "g" and self.stack:
            self.stack.pop()

    def ids(self):
        return {a["id"] for _, a, _ in self.elems if "id" in a}

    def within(self, gid, **want):
        """Elements inside group gid whose data attributes hold want's values."""
        return [a for _, a, gs in self.elems if gid in gs and
                all(a.get("data-" + k.replace("_", "-")) == str(v) for k, v in want.items())]


def png_pixels(path):
    """(width, height, set of colours, share of non-white pixels) of an 8-bit RGB(A) PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6) or body[12] != 0:
                raise ValueError(f"PNG depth {depth} colour type {ctype} interlace {body[12]}: not read here")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    raw, stride = zlib.decompress(b"".join(idat)), w * bpp
    prev, colours, ink = bytearray(stride), set(), 0
    for y in range(h):
        ft, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ft == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ft == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            px = bytes(line[x:x + 3])
            colours.add(px)
            ink += px != b"\xff\xff\xff"
        prev = line
    return w, h, colours, ink / (w * h)


class Tap:
    def __init__(self, plan):
        self.n, self.failed = 0, 0
        print(f"1..{plan}", flush=True)

    def check(self, name, problems):
        """problems: a list of strings, empty when the check passed."""
        self.n += 1
        if problems:
            self.failed += 1
            print(f"not ok {self.n} {name} # {problems[0].replace('#', 'no.')}")
            for p in problems[1:6]:
                print(f"# {p}")
        else:
            print(f"ok {self.n} {name}")
        sys.stdout.flush()


def main():
    tap = Tap(10)
    b = harness.Boot("picture-run-bios-128M-tcg", cmdline="mode=run", mem="128M", judge="run")
    v, r = harness.boot_and_judge(b)
    tap.check("boot mode=run", [] if v.ok else [v.reason])
    if r is None or not v.ok:
        for i in range(9):
            tap.check("needs the boot", ["the mode=run boot failed"])
        return 1
    log = r.log
    out = os.path.join(harness.BUILD, "picture-test")    # kept for a look after a failure
    os.makedirs(out, exist_ok=True)
    html_path, png_path = os.path.join(out, "picture.html"), os.path.join(out, "picture.png")
    try:
        page_text = picture.write(log, html_path, source=b.name)
        d = picture.parse(log)
    except picture.PictureError as e:
        for i in range(9):
            tap.check("page built", [str(e)])
        return 1
    page = Page()
    page.feed(page_text)
    missing = [p for p in PARTS if p not in page.ids()]
    tap.check("every part has its svg group", [f"no group id={p}" for p in missing])

    # The address space: one log-row segment per sanitized entry (plus holes), the image, the modules.
    san = [e for e in d["PICMAP"] if e["src"] == "sanitized"]
    entries = page.within("physmap-log", kind="entry")
    probs = []
    if [e["data-type"] for e in entries] != [e["type"] for e in san]:
        probs.append(f"log row has {len(entries)} entries, the log {len(san)}")
    for e, s in zip(entries, san):
        if int(e["data-base"], 16) != int(s["base"], 16) or int(e["data-end"], 16) != int(s["end"], 16):
            probs.append(f"entry {e['data-base']}-{e['data-end']} is not {s['base']}-{s['end']}")
    for sec in ("text", "rodata", "data"):
        if not page.within("physmap-low", kind="section", section=sec):
            probs.append(f"no kernel {sec} section in the low-memory row")
    for m in d["PICMODULE"]:
        if not page.within("physmap-low", kind="module", module=m["name"]):
            probs.append(f"no module {m['name']} in the low-memory row")
    if not page.within("physmap-ram", kind="range", range="kernel"):
        probs.append("no kernel range on the RAM row")
    tap.check("physical address space matches PICMAP, PICSECTION, PICMODULE", probs)

    fr = {k: int(v) for k, v in d["PICFRAMES"][0].items()}
    probs = []
    for z in d["PICZONE"]:
        if not page.within("zones", zone=z["name"], ram_kib=z["ram_kib"]) or \
           not page.within("zones", zone=z["name"], free_kib=z["free_kib"]):
            probs.append(f"zone {z['name']} not drawn with {z['ram_kib']}/{z['free_kib']} KiB")
    if sum(int(z["free_kib"]) for z in d["PICZONE"]) != fr["free"] * 4:
        probs.append("the zones' free KiB do not add up to PICFRAMES free")
    if sum(int(z["ram_kib"]) for z in d["PICZONE"]) != fr["total"] * 4:
        probs.append("the zones' RAM does not add up to PICFRAMES total")
    tap.check("zones match PICZONE and add up to PICFRAMES", probs)

    probs, pages = [], 0
    for f in d["PICFREE"]:
        if len(page.within("freeblocks", order=f["order"], blocks=f["blocks"])) != 1:
            probs.append(f"order {f['order']}: no bar with {f['blocks']} blocks")
        pages += int(f["blocks"]) << int(f["order"])
    if pages + fr["cpu_cached"] != fr["free"]:
        probs.append(f"blocks hold {pages} pages + {fr['cpu_cached']} cached, PICFRAMES free={fr['free']}")
    tap.check("free blocks per order match PICFREE and PICFRAMES free", probs)

    probs = []
    if fr["free"] + fr["reserved"] + fr["allocated"] != fr["total"]:
        probs.append("free + reserved + allocated is not total")
    for o in d["PICOWNER"]:
        if len(page.within("owners-bar", name=o["name"], pages=o["pages"])) < 1:
            probs.append(f"owner {o['name']}: no segment of {o['pages']} pages")
    drawn = sum(int(a["data-pages"]) for a in page.within("owners-bar") if "data-pages" in a)
    if drawn != fr["allocated"]:
        probs.append(f"owner segments hold {drawn} pages, allocated={fr['allocated']}")
    own = {o["name"]: int(o["pages"]) for o in d["PICOWNER"] if o["name"] != "process"}
    for need in ("page_tables", "slabs", "vmm_nodes", "page_cache"):
        if need not in own:
            probs.append(f"no PICOWNER name={need}")
    # Two layers' counts checked against each other: the kernel root holds its
    # 256 kernel-half tables from boot (paging/root.c), and the slab pages are
    # the caches' slabs.
    if own.get("page_tables", 0) < 257:
        probs.append(f"page_tables={own.get('page_tables')}: the kernel root alone holds 257 tables")
    cache_pages = sum(int(c["slabs"]) * int(c["pages_per_slab"]) for c in d["PICCACHE"])
    if own.get("slabs") != cache_pages:
        probs.append(f"PICOWNER slabs={own.get('slabs')}, the PICCACHE slabs hold {cache_pages} pages")
    tap.check("owners match PICOWNER and add up to the allocated frames", probs)

    probs = [f"pid {p['pid']}: no bar of {p['peak_kib']} KiB peak"
             for p in d["PROC"] if not page.within("processes", pid=p["pid"], peak_kib=p["peak_kib"])]
    if not d["PROC"]:
        probs.append("no PROC line in the log")
    tap.check("each process's PROC line is drawn", probs)

    probs = []
    for c in d["PICCACHE"]:
        if not int(c["slabs"]):
            continue
        for part in ("active", "parked", "free"):
            if not page.within("slabs", cache=c["name"], part=part, objects=c[part]):
                probs.append(f"cache {c['name']}: no {part} segment of {c[part]}")
        if int(c["active"]) + int(c["parked"]) + int(c["free"]) != int(c["slabs"]) * int(c["objs_per_slab"]):
            probs.append(f"cache {c['name']}: active + parked + free is not slabs x objects")
    tap.check("heap caches match PICCACHE", probs)

    probs = []
    steps = page.within("alloc5-steps")
    steps = [a for a in steps if "data-step" in a]
    if len(steps) != len(d["trace"]) or not d["trace"]:
        probs.append(f"{len(steps)} steps drawn, {len(d['trace'])} trace lines")
    first = []
    for a in steps:
        if a["data-phase"] == "alloc" and a["data-layer"] not in first:
            first.append(a["data-layer"])
    if first != picture.LAYERS:
        probs.append(f"kmalloc(5) reaches the layers in the order {first}, not slab vmm buddy paging")
    for bad in ("<script", "<link", " src=", "url(http", "@import"):
        if bad in page_text:
            probs.append(f"the page has {bad!r}: not self-contained")
    tap.check("alloc(5) path drawn across the four layers; page self-contained", probs)

    # The browser: a screenshot at half scale (quick to decode) that is not blank.
    probs = []
    try:
        picture.render_png(html_path, png_path, page_text, 0.5)
        w, h, colours, ink = png_pixels(png_path)
        print(f"# {png_path}: {w}x{h}, {len(colours)} colours, {ink:.1%} not white")
        if len(colours) < 16:
            probs.append(f"only {len(colours)} distinct colours: blank or nearly")
        if ink < 0.05:
            probs.append(f"only {ink:.1%} of the pixels are not white")
        if w < 500 or h < 800:
            probs.append(f"a {w}x{h} screenshot: too small for the page")
    except (picture.PictureError, ValueError, OSError, zlib.error) as e:
        probs.append(str(e))
    tap.check("headless chromium renders the page, not blank", probs)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
