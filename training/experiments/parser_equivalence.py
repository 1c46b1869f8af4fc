"""Old (git HEAD~ or a given rev) against new ``spamscore.message.parse``: equivalence and speed.

Usage: python training/experiments/parser_equivalence.py [--rev REV] [--bench] [--fuzz N]

Loads spamscore/message.py as it was at REV (default: the commit before the
MIME splitter, 86f7354) under a temporary module name, parses all 6,046
corpus messages with both, and compares headers, text, html, attachments,
parts, defects (as multisets), size and truncated.  Every difference is
printed.  ``--bench`` times parse on the test half (CPU time, median of 3).
``--fuzz N`` also compares N mutated corpus multiparts (lines dropped,
duplicated, boundaries cut, CR/LF changed) to exercise odd structures.
"""
from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INDEX = "/work/shared/corpora/spamassassin-public.tsv"
ROOT = "/tmp/sa_corpus"
BASE_REV = "86f7354"

sys.path.insert(0, REPO)
from spamscore import message as new  # noqa: E402


def load_old(rev: str):
    src = subprocess.run(["git", "-C", REPO, "show", f"{rev}:spamscore/message.py"],
                         check=True, capture_output=True).stdout
    path = os.path.join(tempfile.mkdtemp(prefix="oldmsg-"), "old_message.py")
    with open(path, "wb") as f:
        f.write(src)
    spec = importlib.util.spec_from_file_location("old_message", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["old_message"] = mod
    spec.loader.exec_module(mod)
    return mod


def corpus():
    rows = [line.rstrip("\n").split("\t") for line in open(INDEX)][1:]
    out = []
    for p, _label, split, _ in rows:
        with open(os.path.join(ROOT, p), "rb") as f:
            out.append((p, split, f.read()))
    return out


FIELDS = ("headers", "text", "html", "attachments", "parts", "size", "truncated")


def _get(pm, f):
    v = getattr(pm, f)
    return [(x.name, x.content_type, x.size) for x in v] if f == "attachments" else v


def compare(a, b):
    diffs = [f for f in FIELDS if _get(a, f) != _get(b, f)]
    if collections.Counter(a.defects) != collections.Counter(b.defects):
        diffs.append("defects")
    return diffs


def mutate(raw: bytes, rng: random.Random) -> bytes:
    lines = raw.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.randrange(9)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            lines[i] = lines[i].rstrip(b"\r\n") + b"\r\n"
        elif op == 3:
            lines[i] = lines[i].rstrip(b"\r\n") + b"\r"
        elif op == 4:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif op == 5:
            dash = [j for j, ln in enumerate(lines) if ln.startswith(b"--")]
            if dash:
                j = rng.choice(dash)
                lines.insert(rng.randrange(len(lines) + 1), lines[j])
        elif op == 6:
            dash = [j for j, ln in enumerate(lines) if ln.startswith(b"--")]
            if dash:
                del lines[rng.choice(dash)]
        elif op == 7:
            lines.insert(i, rng.choice([b"\n", b"\r\n", b"From x\n", b": bad\n", b" cont\n", b"garbage line\n",
                                        b"Content-Type: message/rfc822\n", b"Content-Type: multipart/digest; boundary=x\n",
                                        b"--x\n", b"--x--\n", b"Content-Type: message/delivery-status\n"]))
        else:
            lines[i] = lines[i].replace(b"\n", b"\r\n")
    return b"".join(lines)


def bench(mod, raws, passes=3):
    times = []
    for _ in range(passes):
        t0 = time.process_time()
        for r in raws:
            mod.parse(r)
        times.append(time.process_time() - t0)
    return statistics.median(times) / len(raws) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default=BASE_REV)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--fuzz", type=int, default=0)
    ap.add_argument("--show", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    old = load_old(args.rev)
    msgs = corpus()
    counts = collections.Counter()
    defect_delta = collections.Counter()
    shown = 0
    for path, _split, raw in msgs:
        a, b = old.parse(raw), new.parse(raw)
        diffs = compare(a, b)
        for d in diffs:
            counts[d] += 1
        if "defects" in diffs:
            ca, cb = collections.Counter(a.defects), collections.Counter(b.defects)
            for k in ca | cb:
                if ca[k] != cb[k]:
                    defect_delta[k] += cb[k] - ca[k]
        if diffs and shown < args.show:
            shown += 1
            print(f"DIFF {path}: {diffs}")
            for f in diffs:
                if f == "defects":
                    print(f"   old defects {a.defects}\n   new defects {b.defects}")
                else:
                    print(f"   old {f}: {repr(_get(a, f))[:300]}\n   new {f}: {repr(_get(b, f))[:300]}")
    print(f"corpus: {len(msgs)} messages; differing fields: {dict(counts) or 'none'}")
    if defect_delta:
        print(f"defect count change (new - old): {dict(defect_delta)}")
    if args.fuzz:
        rng = random.Random(args.seed)
        multi = [raw for _, _, raw in msgs if b"boundary" in raw.lower()]
        fcounts = collections.Counter()
        nfail = 0
        for k in range(args.fuzz):
            raw = mutate(rng.choice(multi), rng)
            a, b = old.parse(raw), new.parse(raw)
            diffs = compare(a, b)
            for d in diffs:
                fcounts[d] += 1
            if diffs and nfail < args.show:
                nfail += 1
                path = f"/tmp/fuzzfail-{k}.eml"
                with open(path, "wb") as f:
                    f.write(raw)
                print(f"FUZZ DIFF {path}: {diffs}")
                if "defects" in diffs:
                    print(f"   old defects {a.defects}\n   new defects {b.defects}")
        print(f"fuzz: {args.fuzz} mutated multiparts; differing fields: {dict(fcounts) or 'none'}")
    if args.bench:
        test = [raw for _, split, raw in msgs if split == "test"]
        print(f"old parse: {bench(old, test):.1f} CPU-us/message; new parse: {bench(new, test):.1f} "
              f"(test half, {len(test)} messages, median of 3)")


if __name__ == "__main__":
    main()
