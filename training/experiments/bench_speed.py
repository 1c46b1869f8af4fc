"""Speed of spamscore beside Bogofilter, in the same run (tune helper).

Usage: python training/experiments/bench_speed.py MODEL [--reps 3]
Trains Bogofilter on the train half (fresh DB in a temp dir), then scores the
test half with `bogofilter -C -d DB -v -B files...` and with
`spamscore score --index ... --split test -m MODEL` (one process each), and
times parse+extract in-process.  Reports wall-clock and CPU (user+sys of the
child) messages per second: on a shared machine the CPU figure is the fairer one.
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

INDEX = "/work/shared/corpora/spamassassin-public.tsv"
ROOT = "/tmp/sa_corpus"


def split():
    rows = [l.rstrip("\n").split("\t") for l in open(INDEX)][1:]
    return [(p, lab) for p, lab, s, _ in rows if s == "train"], [(p, lab) for p, lab, s, _ in rows if s == "test"]


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
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    train, test = split()
    n = len(test)
    spamscore = os.path.join(os.path.dirname(sys.executable), "spamscore")
    with tempfile.TemporaryDirectory(prefix="tune-bogo-") as db:
        env = dict(os.environ, BOGOFILTER_DIR=db)
        run(["bogofilter", "-C", "-d", db, "-s", "-B"] + [p for p, l in train if l == "spam"], cwd=ROOT, env=env)
        run(["bogofilter", "-C", "-d", db, "-n", "-B"] + [p for p, l in train if l == "ham"], cwd=ROOT, env=env)
        res = {"bogofilter": [], "spamscore": []}
        for _ in range(args.reps):
            cp, w, c = run(["bogofilter", "-C", "-d", db, "-v", "-B"] + [p for p, _ in test], cwd=ROOT, env=env)
            assert cp.returncode in (0, 1, 2), cp.stderr[:300]
            res["bogofilter"].append((w, c))
            cp, w, c = run([spamscore, "score", "--index", INDEX, "--root", ROOT, "--split", "test",
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
    raws = [open(os.path.join(ROOT, p), "rb").read() for p, _ in test]
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
