# dicts.py - a Python workload for the user heap: large dicts and lists
# built and dropped, a few hundred MB of churn, and checksums that depend
# only on the values (never on addresses or str hashes, which vary).
import sys
import zlib

def lcg(x):
    return (x * 16807) % 2147483647

def build(seed, n):
    """A dict of n str keys to lists and bytes, and a list of tuples."""
    d = {}
    rows = []
    x = seed
    for i in range(n):
        x = lcg(x)
        k = "k%d-%x" % (i, x)
        d[k] = [x, i, str(x % 9973) * (1 + x % 7)]
        if x % 5 == 0:
            d[k].append(b"\x5a" * (x % 3000))   # some blocks well above pymalloc's 512
        rows.append((x % 1000, k))
    return d, rows

def digest(d, rows):
    c = 0
    for k, v in d.items():
        c = zlib.crc32(k.encode(), c)
        c = zlib.crc32(v[2].encode(), c)
        if len(v) > 3:
            c = zlib.crc32(v[3], c)
    rows.sort()
    for r in rows[::97]:
        c = zlib.crc32(r[1].encode(), c)
    return c

def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 150000
    total = 0
    keep = []
    for r in range(rounds):
        d, rows = build(r + 1, n)
        c = digest(d, rows)
        # Drop most of it, keep a slice alive across rounds, so later rounds
        # allocate among survivors of earlier ones.
        for k in list(d)[::2]:
            del d[k]
        keep.append({k: d[k] for k in list(d)[:n // 50]})
        big = [bytes([r]) * 100000 for _ in range(200)]      # 20 MB of 100 kB blocks
        c = zlib.crc32(b"".join(big[::50]), c)
        del d, rows, big
        print("round %d crc %08x dicts kept %d" % (r, c, sum(len(k) for k in keep)))
        total = zlib.crc32(c.to_bytes(4, "little"), total)
    s = "".join(k for kd in keep for k in kd)
    print("kept %d chars, total %08x" % (len(s), zlib.crc32(s.encode(), total)))

main()
