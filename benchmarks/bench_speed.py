"""Speed of spamscore beside Bogofilter, in the same run: a quick check while tuning.

Usage: python benchmarks/bench_speed.py MODEL [--corpus /tmp/sa_corpus] [--index data/spamassassin-public.tsv]
       [--reps 3] [--limit N]
Trains Bogofilter on the train half (fresh DB in a temp dir), then scores the
test half with `bogofilter -C -d DB -v -B files...` and with
`python -m spamscore score --index ... --split test -m MODEL` (one process each),
and times parse+extract in-process.  Reports wall-clock and CPU (user+sys of the
child) messages per second: on a shared machine the CPU figure is the fairer one.
``--limit N`` keeps the first N messages of each half (a smoke run).  The figures
that count come from ``benchmarks/run.py`` (paired rounds); this is its quick form.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INDEX = os.path.join(REPO, "data", "spamassassin-public.tsv")
ROOT = "/tmp/sa_corpus"


def split(index: str, limit: int | None):
    rows = [line.rstrip("\n").split("\t") for line in open(index, encoding="utf-8")][1:]
    train = [(p, lab) for p, lab, s, _ in rows if s == "train"][:limit]
    test = [(p, lab) for p, lab, s, _ in rows if s == "test"][:limit]
    return train, test


def run(cmd, **kw):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cp = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cp, wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--corpus", default=ROOT, help="the unpacked SpamAssassin corpus (default: %(default)s)")
    ap.add_argument("--index", default=INDEX, help="the split (default: the repository's data/spamassassin-public.tsv)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="only the first N messages of each half")
    args = ap.parse_args()
    root = args.corpus
    train, test = split(args.index, args.limit)
    n = len(test)
    with tempfile.TemporaryDirectory(prefix="tune-bogo-") as db:
        env = dict(os.environ, BOGOFILTER_DIR=db)
        index = os.path.join(db, "test.tsv")  # the test messages scored (all, or the first --limit)
        with open(index, "w", encoding="utf-8") as fh:
            fh.write("path\tlabel\n" + "".join(f"{p}\t{lab}\n" for p, lab in test))
        run(["bogofilter", "-C", "-d", db, "-s", "-B"] + [p for p, l in train if l == "spam"], cwd=root, env=env)
        run(["bogofilter", "-C", "-d", db, "-n", "-B"] + [p for p, l in train if l == "ham"], cwd=root, env=env)
        res = {"bogofilter": [], "spamscore": []}
        for _ in range(args.reps):
            cp, w, c = run(["bogofilter", "-C", "-d", db, "-v", "-B"] + [p for p, _ in test], cwd=root, env=env)
            assert cp.returncode in (0, 1, 2), cp.stderr[:300]
            res["bogofilter"].append((w, c))
            cp, w, c = run([sys.executable, "-m", "spamscore", "score", "--index", index, "--root", root,
                            "-m", args.model, "--clues", "3"])
            assert cp.returncode == 0, cp.stderr[:300]
            assert cp.stdout.count(b"\n") >= n, cp.stdout[:300]
            res["spamscore"].append((w, c))
    for name, runs in res.items():
        w = statistics.median(r[0] for r in runs)
        c = statistics.median(r[1] for r in runs)
        print(f"{name:10s} {n} msgs: wall {w:.2f}s = {n / w:.0f} msgs/s; CPU {c:.2f}s = {n / c:.0f} msgs/s")
    # in-process parse + extract (CPU time of this process)
    from spamscore.features import extract
    from spamscore.message import parse
    raws = [open(os.path.join(root, p), "rb").read() for p, _ in test]
    best = None
    for _ in range(args.reps):
        t0 = time.process_time()
        for r in raws:
            extract(parse(r))
        dt = time.process_time() - t0
        best = dt if best is None else min(best, dt)
    print(f"parse+extract in-process: CPU {best:.2f}s = {n / best:.0f} msgs/s ({best / n * 1e6:.0f} us/msg)")


if __name__ == "__main__":
    main()
