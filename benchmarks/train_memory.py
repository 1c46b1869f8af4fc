"""Training in bounded memory (issue 16, item 4): time and peak RSS of `spamscore train` beside Bogofilter.

Two runs, each training in a child process whose peak resident memory comes
from ``os.wait4`` (the kernel's ru_maxrss of that process alone):

* **TREC-sized**: 37,709 messages (the size of TREC 2007's full set) made from
  the SpamAssassin corpus by deterministic mutation (every message once as it
  is, then again with its body lines in another order, 3% of their words
  replaced by words of other messages, and a new Message-ID), written to a
  folder under /tmp and deleted after.  ``spamscore train --index`` on them, then
  Bogofilter on the same files (``bogofilter -C -d DB -s -b`` for the spam,
  ``-n -b`` for the ham, file names on stdin), each in ``--rounds`` interleaved rounds (medians, and each
  run's ratio to the Bogofilter run of its round).
* **1,000,000 messages**: the same mutation, streamed from a generator into
  :func:`spamscore.batch.train_items` (no file is written), at ``nice -n 19``.

    python benchmarks/train_memory.py [--corpus /tmp/sa_corpus] [--rounds 3] [--million] [--million-only]

Writes ``benchmarks/results/train_memory.md`` (the 1,000,000-message figures are
kept from the previous file when that run is not asked for).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
INDEX = ROOT / "data" / "spamassassin-public.tsv"
RESULTS = HERE / "results" / "train_memory.md"
TREC_SIZE = 37_709


def sa_messages(corpus: Path) -> list[tuple[bytes, str]]:
    """(bytes, label) of every message the SA manifest lists, in a seeded random order (spam and ham mixed)."""
    out = []
    for line in INDEX.read_text().splitlines()[1:]:
        path, label = line.split("\t")[:2]
        out.append(((corpus / path).read_bytes(), label))
    random.Random(0).shuffle(out)
    return out


def word_pool(messages: list[tuple[bytes, str]], size: int = 200_000) -> list[bytes]:
    rng = random.Random(0)
    words = []
    for raw, _ in messages[::3]:
        body = raw.partition(b"\n\n")[2]
        words.extend(w for w in body.split() if 2 < len(w) < 15)
    rng.shuffle(words)
    return words[:size]


def mutate(raw: bytes, variant: int, pool: list[bytes], rate: float = 0.03) -> bytes:
    """Variant 0 is the message itself; the others, deterministically: the body's lines in another
    order, ``rate`` of their words replaced by words of other messages, a new Message-ID.

    Lines move whole (words are not shuffled within a line), so word pairs stay mostly those of
    real mail: shuffling words made every variant a source of new word-pair features, and a model
    of 273 MB where Bogofilter's database held 9.7 MB.
    """
    if variant == 0:
        return raw
    rng = random.Random(zlib.crc32(raw) * 1_000_003 + variant)
    head, sep, body = raw.partition(b"\n\n")
    lines = []
    for line in head.split(b"\n"):
        if line[:11].lower() == b"message-id:":
            line = b"Message-ID: <v%d.%d@mutated.example>" % (variant, rng.getrandbits(40))
        lines.append(line)
    out = body.split(b"\n")
    rng.shuffle(out)
    for j, line in enumerate(out):
        words = line.split(b" ")
        if len(words) > 2:
            for i in range(len(words)):
                if rng.random() < rate:
                    words[i] = pool[rng.randrange(len(pool))]
            out[j] = b" ".join(words)
    return b"\n".join(lines) + sep + b"\n".join(out)


def stream(messages, pool, n: int, only: str | None = None):
    """The first ``n`` messages of: every SA message as variant 0, then every one as variant 1...
    (``only``: just those of this label, the others not even made)."""
    i = 0
    variant = 0
    while True:
        for raw, label in messages:
            if i == n:
                return
            if only is None or label == only:
                yield f"m{i}", mutate(raw, variant, pool), label
            i += 1
        variant += 1


def bogofilter_million(corpus: Path, n: int) -> dict:
    """Bogofilter on the same ``n`` messages, fed as an mbox on stdin (``-M``): spam, then ham."""
    messages = sa_messages(corpus)
    pool = word_pool(messages)
    db = Path(tempfile.mkdtemp(prefix="spamscore-bogo-", dir="/tmp"))
    try:
        t = time.perf_counter()
        peak = 0.0
        for label, flag in (("spam", "-s"), ("ham", "-n")):
            proc = subprocess.Popen(["bogofilter", "-C", "-d", str(db), flag, "-M"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, preexec_fn=lambda: os.nice(19))
            for _, raw, _ in stream(messages, pool, n, only=label):
                body = raw.replace(b"\nFrom ", b"\n>From ")
                proc.stdin.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + body.rstrip(b"\n") + b"\n\n")
            proc.stdin.close()
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) not in (0, 1, 2):
                raise SystemExit(f"bogofilter exited {os.waitstatus_to_exitcode(status)}")
            peak = max(peak, usage.ru_maxrss / 1024)
        return {"wall": time.perf_counter() - t, "rss": peak, "db": sum(f.stat().st_size for f in db.iterdir())}
    finally:
        shutil.rmtree(db, ignore_errors=True)


def run_measured(cmd: list[str], stdin_path: str | None = None, nice: int = 0) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one child process."""
    t = time.perf_counter()
    with open(stdin_path or os.devnull, "rb") as fin:
        proc = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=(lambda: os.nice(nice)) if nice else None)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        print(err[-2000:], file=sys.stderr)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def trec_run(corpus: Path, jobs: int, rounds: int = 3) -> dict:
    """Each system ``rounds`` times over the same files, interleaved: a round runs every one once, in an order
    rotated from round to round (this machine's speed drifts by a fifth within minutes, so one run each read
    10.8 s and 15.1 s for the same ``--jobs 2`` command); per system the runs, per round its ratio to the
    Bogofilter run of the same round."""
    messages = sa_messages(corpus)
    pool = word_pool(messages)
    tmp = Path(tempfile.mkdtemp(prefix="spamscore-trec-", dir="/tmp"))
    try:
        lists = {"spam": [], "ham": []}
        lines = []
        for name, raw, label in stream(messages, pool, TREC_SIZE):
            p = tmp / name
            p.write_bytes(raw)
            lists[label].append(str(p))
            lines.append(f"{name}\t{label}")
        (tmp / "index.tsv").write_text("\n".join(lines) + "\n")
        for label, files in lists.items():
            (tmp / f"{label}.list").write_text("\n".join(files) + "\n")
        del messages
        spamscore = str(Path(sys.executable).with_name("spamscore"))
        lib = ("import sys; from spamscore.batch import train_items; from spamscore.corpus import iter_index; "
               "train_items(iter_index(sys.argv[1]))")

        def spamscore_train(j: int):
            wall, rss, rc = run_measured([spamscore, "train", "--index", str(tmp / "index.tsv"), "--jobs", str(j),
                                          "-o", str(tmp / "trec.spamscore")])
            return wall, rss, rc, (tmp / "trec.spamscore").stat().st_size if rc == 0 else 0

        def library():
            return (*run_measured([sys.executable, "-c", lib, str(tmp / "index.tsv")]), 0)

        def bogofilter():
            db = tmp / "bogo"
            shutil.rmtree(db, ignore_errors=True)
            db.mkdir()
            total_wall, peak = 0.0, 0.0
            for label, flag in (("spam", "-s"), ("ham", "-n")):
                wall, rss, rc = run_measured(["bogofilter", "-C", "-d", str(db), flag, "-b"], str(tmp / f"{label}.list"))
                total_wall += wall
                peak = max(peak, rss)
            return total_wall, peak, rc, sum(f.stat().st_size for f in db.iterdir())

        systems = {f"spamscore_jobs{j}": (lambda j=j: spamscore_train(j)) for j in sorted({1, jobs})}
        systems.update(library=library, bogofilter=bogofilter)
        names = list(systems)
        runs: dict[str, list] = {k: [] for k in names}
        for r in range(rounds):
            for key in names[r % len(names):] + names[:r % len(names)]:
                runs[key].append(systems[key]())
        return {"spam": len(lists["spam"]), "ham": len(lists["ham"]), "rounds": rounds, "runs": runs}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


MILLION_CHILD = r"""
import sys, time, resource
sys.path.insert(0, sys.argv[1])
import train_memory as tm
from pathlib import Path
from spamscore.batch import train_items
from spamscore.corpus import Item
n = int(sys.argv[3])
messages = tm.sa_messages(Path(sys.argv[2]))
pool = tm.word_pool(messages)
items = (Item(name, raw, label) for name, raw, label in tm.stream(messages, pool, n))
t = time.perf_counter()
model, rep = train_items(items, jobs=int(sys.argv[4]))
print(f"{rep.spam} {rep.ham} {rep.vocabulary} {time.perf_counter() - t:.1f} {rep.extract_seconds:.1f}")
"""


def million_run(corpus: Path, n: int, jobs: int) -> dict:
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", MILLION_CHILD, str(HERE), str(corpus), str(n), str(jobs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=lambda: os.nice(19))
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode().split()
    if os.waitstatus_to_exitcode(status) or len(out) != 5:
        raise SystemExit(proc.stderr.read().decode(errors="replace")[-3000:])
    spam, ham, vocab, train_s, extract_s = out
    return {"n": n, "spam": int(spam), "ham": int(ham), "vocabulary": int(vocab), "train_s": float(train_s),
            "extract_s": float(extract_s), "wall": time.perf_counter() - t, "rss": usage.ru_maxrss / 1024,
            "jobs": jobs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path(os.environ.get("SA_CORPUS", "/tmp/sa_corpus")))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the TREC-sized runs (default 3)")
    ap.add_argument("--million", action="store_true", help="also the 1,000,000-message run")
    ap.add_argument("--million-only", action="store_true")
    ap.add_argument("-n", type=int, default=1_000_000, help="messages of the large run")
    ap.add_argument("--no-bogofilter", action="store_true", help="the large run without Bogofilter beside it")
    args = ap.parse_args()
    lines = []
    if not args.million_only:
        r = trec_run(args.corpus, args.jobs, args.rounds)
        runs, bogo = r["runs"], r["runs"]["bogofilter"]
        lines += [f"## TREC-sized: {TREC_SIZE:,} messages ({r['spam']:,} spam, {r['ham']:,} ham), "
                  f"SA corpus mutated; {r['rounds']} rounds", "",
                  "| | wall s (median; lowest to highest) | vs Bogofilter, same round (median; range) | peak RSS MB "
                  "(highest) | exit | model / database size |", "|---|---|---|---|---|---|"]
        names = {"library": "`batch.train_items` (one process, the model not written)",
                 "bogofilter": "Bogofilter (`-s -b`, `-n -b`)"}
        ratios = {}
        for key, rs in runs.items():
            walls = [x[0] for x in rs]
            ratios[key] = [x[0] / b[0] for x, b in zip(rs, bogo)]
            name = names.get(key, f"`spamscore train --jobs {key[-1]}`")
            rc = max(x[2] for x in rs)
            vs = "" if key == "bogofilter" else (f"**{_median(ratios[key]):.2f}x** ({min(ratios[key]):.2f} to "
                                                 f"{max(ratios[key]):.2f})")
            lines.append(f"| {name} | {_median(walls):.1f} ({min(walls):.1f} to {max(walls):.1f}) | {vs} | "
                         f"{max(x[1] for x in rs):.0f} | {rc} | {rs[-1][3] / 2**20:.1f} MB |")
        lines += ["", "Rounds (wall s; each round runs every system once, the order rotated from round to round):", "",
                  "| round | " + " | ".join(names.get(k, f"jobs {k[-1]}") for k in runs) + " |",
                  "|---" * (len(runs) + 1) + "|"]
        for i in range(r["rounds"]):
            lines.append(f"| {i + 1} | " + " | ".join(f"{runs[k][i][0]:.1f}" for k in runs) + " |")
        cli1 = runs["spamscore_jobs1"]
        lib = runs["library"]
        lines += ["", f"Training itself (the library call) peaks at {max(x[1] for x in lib):.0f} MB; `spamscore "
                  f"train` adds {max(x[1] for x in cli1) - max(x[1] for x in lib):.0f} MB, most of it writing "
                  f"the model file (its writer's peak).", ""]
    if args.million or args.million_only:
        m = million_run(args.corpus, args.n, args.jobs)
        lines += [f"## {m['n']:,} synthetic messages (streamed from a generator, `nice -n 19`, jobs={m['jobs']})", "",
                  f"{m['spam']:,} spam, {m['ham']:,} ham; vocabulary {m['vocabulary']:,} tokens; training "
                  f"{m['train_s']:.0f} s (of which extraction and counting {m['extract_s']:.0f} s), peak RSS "
                  f"{m['rss']:.0f} MB.", ""]
        if not args.no_bogofilter:
            b = bogofilter_million(args.corpus, args.n)
            lines += [f"Bogofilter on the same messages (an mbox on stdin, `-s -M` then `-n -M`, `nice -n 19`, "
                      f"the mutation included): {b['wall']:.0f} s, peak RSS {b['rss']:.0f} MB, database "
                      f"{b['db'] / 2**20:.0f} MB.", ""]
    print("\n".join(lines))
    write_results(lines)


HEADER = """# Training in bounded memory (issue 16, item 4)

`python benchmarks/train_memory.py --million` (see its docstring for the corpus and the mutation). Peak RSS is
the training process's high-water mark as `os.wait4` reports it (a child it waited for, such as a worker, counts
on its own, never added to it), wall time from start to exit (the model file written); the machine is the
project's shared 2-core one, so times are rough and each run's ratio is taken against the Bogofilter run of the
same round. Design: docs/distributed.md, "Memory".
"""


def write_results(lines: list[str]) -> None:
    """Replace the sections this run measured in train_memory.md (told apart by their heading's first
    word: "TREC-sized:", "1,000,000"), keep the others; notes after the sections are lost."""
    def sections(text: str) -> dict[str, str]:
        parts = [p for p in ("\n" + text).split("\n## ")[1:] if p.strip()]
        return {p.split(" ", 1)[0]: "## " + p.rstrip() for p in parts}

    merged = sections(RESULTS.read_text()) if RESULTS.exists() else {}
    merged.update(sections("\n".join(lines)))
    body = "\n\n".join(v for k, v in sorted(merged.items(), key=lambda kv: kv[0] != "TREC-sized:"))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(HEADER + "\n" + body + "\n")

if __name__ == "__main__":
    main()
