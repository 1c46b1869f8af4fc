"""A fuzzing campaign anyone can rerun: hostile cases and corpus mutations through every entry point.

Each message goes through

* ``Model.score`` (the library call),
* ``spamscore.serve.pipe.filter_message`` (the pipe filter; it must score, not fail, and agree with ``Model.score``),
* ``spamscore.check.check_message`` (``check``'s library entry point),
* ``spamscore.learn``: learned in memory into a copy of the model (``learn._apply``, what ``learn_messages``
  does between loading and saving), and every ``--learn-file-every`` messages through ``learn_messages``
  itself on a temporary copy of the model file (lock, load, update, atomic save).

The messages are the 64 cases of ``tests/hostile.py`` (each once, then mutated), and mutations of a corpus:
``--corpus DIR`` (every file below it), else the shared SpamAssassin tarball unpacked into a temporary
directory, else ``tests/fixtures``.  Mutations are seeded (``--seed``): byte flips, deletions, repeats,
hostile snippets, truncation, line-ending changes (CR-only among them), splices of two messages,
repeated header lines, random bytes, boundary and encoding swaps.

The work runs in a child process under ``resource.setrlimit`` (address space ``--mem-mb``); every message
has a deadline (``--deadline``, 10 s of CPU time for the four calls: CPU, not wall time, so a loaded machine
or ``nice -n 19`` cannot make a hang), and the parent waits ``--wall-factor`` times as long in wall time for
an answer.  A message over either is a **hang** (the child is killed and replaced); an exception from any entry point, a wrong
answer from the filter, or the child dying is a **crash**.  The child is replaced every ``--recycle``
messages too, so the in-memory learned model stays small.

    python benchmarks/fuzz_campaign.py                       # 100,000 messages, writes benchmarks/results/fuzz.md
    nice -n 19 python benchmarks/fuzz_campaign.py -n 100000 --corpus /tmp/sa/sa_corpus
    python benchmarks/fuzz_campaign.py -n 2000 --no-corpus --out /tmp/fuzz.md

Exit status 1 when anything crashed or hung.  Failing inputs are saved under ``--save-failures DIR``
(default: ``benchmarks/results/fuzz-failures/``, only when there is one) so they can be replayed.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

SHARED_CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpora", "spamassassin-public.tar.xz")
MAX_MUTANT = 1 << 20          # mutations stop at 1 MiB, twice the parser's 512 KiB (the hostile cases go to 50 MB)

# Snippets that have broken mail parsers before: encoded words, MIME boundaries, line-ending oddities,
# NULs, HTML and URL shapes, long runs.
SNIPPETS = [
    b"=?utf-8?b?", b"=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=", b"=?x-unknown?q?=FF=00?=", b"?=", b"\r", b"\n",
    b"\r\n\r\n", b"\n\n", b"\n--", b"--", b"\nContent-Type: multipart/mixed; boundary=\"x\"\n\n--x\n",
    b"Content-Transfer-Encoding: base64\n", b"Content-Transfer-Encoding: quoted-printable\n", b"=\n", b"=3D=",
    b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xe2\x80\xae", b" \t", b"\n\t", b"<html><body><a href=\"",
    b"<img src=http://x/a.png width=1>", b"<!--", b"<![CDATA[", b"<style>", b"http://", b"https://[::1",
    b"http://0x7f.1/", b"www.", b"mailto:", b"charset=\"", b"charset=utf-7", b"boundary=", b"From ", b">From ",
    b"Subject: ", b"Received: from x by y;", b"Authentication-Results: mx; dkim=pass; spf=fail\n",
    b"DKIM-Signature: v=1; d=", b"%" * 64, b"a" * 4096, b" " * 4096, b"<" * 2048, b"\\" * 512,
    "\u200b\u0301\uff46".encode(), "\u7121\u6599".encode("shift_jis"), base64.b64encode(b"x" * 90),
]


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return (rev or "unknown") + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# ----------------------------------------------------------------------------
# inputs

def corpus_files(corpus: str | None, use_corpus: bool, workdir: str) -> tuple[list[str], str]:
    """Paths of the seed messages and a description of where they came from."""
    if use_corpus and corpus is None and os.path.exists(SHARED_CORPUS):
        with tarfile.open(SHARED_CORPUS) as tf:
            tf.extractall(workdir, filter="data")
        corpus = workdir
        where = f"{os.path.relpath(SHARED_CORPUS, os.path.dirname(ROOT))} (unpacked)"
    elif use_corpus and corpus is not None:
        where = corpus
    else:
        corpus = os.path.join(ROOT, "tests", "fixtures")
        where = "tests/fixtures"
    paths = []
    for d, _, files in os.walk(corpus):
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p) and os.path.getsize(p) > 0 and not f.endswith((".tsv", ".md", ".json")):
                paths.append(p)
    paths.sort()
    if not paths:
        raise SystemExit(f"fuzz_campaign: no messages under {corpus}")
    return paths, where


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(MAX_MUTANT)


def mutate(raw: bytes, rng: random.Random, other: bytes) -> tuple[bytes, str]:
    """One to four mutations of ``raw`` (``other``: a second message for splices)."""
    names = []
    data = bytearray(raw)
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        kind = rng.randrange(12)
        n = len(data)
        if kind == 0 and n:                                   # flip bytes
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(n)] = rng.randrange(256)
            names.append("flip")
        elif kind == 1 and n:                                 # delete a slice
            a = rng.randrange(n)
            del data[a:a + rng.randint(1, max(1, n // 4))]
            names.append("delete")
        elif kind == 2 and n:                                 # repeat a slice
            a = rng.randrange(n)
            piece = bytes(data[a:a + rng.randint(1, 256)])
            data[a:a] = piece * rng.randint(2, max(2, min(10_000, MAX_MUTANT // 2 // max(1, len(piece)))))
            names.append("repeat")
        elif kind == 3:                                       # hostile snippet(s)
            snip = rng.choice(SNIPPETS) * rng.choice((1, 1, 2, 10, 1000))
            a = rng.randrange(n + 1)
            data[a:a] = snip
            names.append("snippet")
        elif kind == 4 and n:                                 # truncate
            del data[rng.randrange(n):]
            names.append("truncate")
        elif kind == 5:                                       # line endings
            how = rng.randrange(4)
            b = bytes(data).replace(b"\r\n", b"\n")
            b = (b.replace(b"\n", b"\r\n"), b.replace(b"\n", b"\r"), b,
                 b.replace(b"\n", b"\r", rng.randint(1, 50)))[how]
            data = bytearray(b)
            names.append(("crlf", "cr-only", "lf", "mixed-cr")[how])
        elif kind == 6:                                       # splice two messages
            a, b = rng.randrange(n + 1), rng.randrange(len(other) + 1)
            data = data[:a] + other[b:]
            names.append("splice")
        elif kind == 7 and n:                                 # a header line many times
            end = data.find(b"\n")
            line = bytes(data[:end + 1]) if end >= 0 else bytes(data[:80]) + b"\n"
            data[0:0] = line * rng.choice((10, 600, 5000))
            names.append("header-flood")
        elif kind == 8:                                       # random bytes
            a = rng.randrange(n + 1)
            data[a:a] = rng.randbytes(rng.choice((1, 16, 512, 65536)))
            names.append("random")
        elif kind == 9:                                       # boundaries and encodings
            b = bytes(data)
            for old, new in ((b"boundary=", rng.choice((b"boundary=\"\"", b"boundary=-", b"boundary=\"=?x?=\"",
                                                        b"boundary=a\x00b"))),
                             (b"base64", rng.choice((b"quoted-printable", b"x-uuencode", b"7bit", b"base64; x"))),
                             (b"charset=", rng.choice((b"charset=utf-7 ", b"charset=x-unknown", b"charset=\"\"",
                                                       b"charset=iso-2022-jp"))),
                             (b"text/plain", rng.choice((b"text/html", b"message/rfc822", b"multipart/digest")))):
                b = b.replace(old, new, rng.randint(1, 3))
            data = bytearray(b)
            names.append("mime-swap")
        elif kind == 10:                                      # nest the message in itself
            b = bytes(data)
            data = bytearray(b"Content-Type: multipart/mixed; boundary=\"n\"\n\n--n\n" + b[:MAX_MUTANT // 4]
                             + b"\n--n\nContent-Type: message/rfc822\n\n" + b[:MAX_MUTANT // 4] + b"\n--n--\n")
            names.append("nest")
        else:                                                 # drop the header/body separator
            b = bytes(data)
            data = bytearray(b.replace(b"\n\n", b"\n", 1).replace(b"\r\n\r\n", b"\r\n", 1))
            names.append("no-separator")
        if len(data) > MAX_MUTANT:
            del data[MAX_MUTANT:]
    return bytes(data), "+".join(names)


def messages(n: int, seed: int, paths: list[str], cases: str = "all"):
    """``(name, raw)`` for ``n`` messages: the hostile cases first, then mutations.

    ``cases``: "all" the hostile cases, "no-huge" all but the three over 5 MB, "small" those up to 1 MiB,
    "none" no hostile case (the corpus mutations only).
    """
    from hostile import CASE_NAMES, HUGE, make_case

    rng = random.Random(seed)
    i = 0
    small_cases = []
    for name in CASE_NAMES if cases != "none" else ():
        if i >= n:
            return
        if name in HUGE and cases != "all":
            continue
        raw = make_case(name)
        if len(raw) <= 1 << 20:
            small_cases.append(name)
        elif cases == "small":
            continue
        yield f"hostile:{name}", raw
        i += 1
    while i < n:
        if rng.random() < 0.05 and small_cases:
            name = rng.choice(small_cases)
            base, label = make_case(name), f"hostile:{name}"
        else:
            p = rng.choice(paths)
            base, label = _read(p), os.path.relpath(p, os.path.dirname(p.rstrip("/")) + "/..")
        other = _read(rng.choice(paths))
        raw, how = mutate(base, rng, other)
        yield f"{label}~{how}", raw
        i += 1


def prepare_model(model_path: str | None, paths: list[str], workdir: str) -> tuple[str, str]:
    """A model file that loads, and how it was made.

    The shipped model (or ``--model``) when it loads; when it does not (a feature-version bump waits
    for a retrain), one trained here on up to 1,000 seed messages labelled by their folder ("spam" in
    the path), or on the tests' tiny corpus.  The campaign is about inputs, not accuracy: any model
    with a real vocabulary exercises the same code.
    """
    from spamscore.errors import SpamscoreError
    from spamscore.scoring import Model, default_model_path, load_model, train

    path = str(model_path or default_model_path())
    try:
        load_model(path)
        return path, os.path.relpath(path, ROOT)
    except SpamscoreError as exc:
        if model_path:
            raise SystemExit(f"fuzz_campaign: {exc}")
        why = str(exc).split(": ", 1)[-1]
    out = os.path.join(workdir, "fuzz.spamscore")
    rng = random.Random(0)
    sample = rng.sample(paths, min(1000, len(paths)))
    root = os.path.commonpath(paths)
    labels = ["spam" if "spam" in os.path.relpath(p, root).lower() else "ham" for p in sample]
    if len(set(labels)) == 2:
        from spamscore.features import FeatureOptions
        from spamscore.message import DEFAULT_LIMITS

        probe = Model.__new__(Model)
        probe.options, probe.limits = FeatureOptions(), DEFAULT_LIMITS
        model = train([probe.features(_read(p)) for p in sample], labels, folds=2)
        model.save(out)
        return out, f"trained here on {len(sample)} seed messages (the shipped model did not load: {why})"
    from postfix_fixture import train_tiny_model

    train_tiny_model(out)
    return out, f"the tests' tiny model (the shipped model did not load: {why})"


# ----------------------------------------------------------------------------
# the child

def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_main(conn, parent_end, model_path: str, mem_bytes: int, learn_dir: str, learn_file_every: int) -> None:
    """Receive messages, run the four entry points, answer ``(status, detail, seconds, peak_rss)``."""
    parent_end.close()      # forked with it: closed, so the child sees EOF when the parent goes away
    if mem_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    from spamscore.check import check_message
    from spamscore.learn import LearnResult, _apply, learn_messages
    from spamscore.serve.pipe import filter_message
    from spamscore.serve.splice import mark_message
    from spamscore.scoring import load_model

    model = load_model(model_path)
    learner = load_model(model_path)        # learned into in memory (a copy: `model` stays as shipped)
    learn_file = os.path.join(learn_dir, f"learn-{os.getpid()}.spamscore")
    shutil.copyfile(model_path, learn_file)
    k = 0
    try:
        while True:
            try:
                raw = conn.recv_bytes()
            except EOFError:
                return
            k += 1
            t0 = time.process_time()       # CPU time: the machine's load must not make a hang
            status, detail = "ok", ""
            stage = "score"
            try:
                v = model.score(raw)
                if not 0.0 <= v.probability <= 1.0 or v.label not in ("ham", "unsure", "spam"):
                    raise AssertionError(f"score: bad verdict {v!r}")
                stage = "filter"
                r = filter_message(raw, model, timeout=None)
                if not raw.strip():                   # by design: nothing to mark, passed through as it came
                    if r.output != raw:
                        raise AssertionError("filter changed an empty message")
                else:
                    if r.error is not None or r.verdict is None:
                        raise AssertionError(f"filter passed the message through: {r.error}")
                    if r.verdict.probability != v.probability:
                        raise AssertionError(f"filter {r.verdict.probability!r} != score {v.probability!r}")
                    kept = len(mark_message(raw, []))     # raw less our own stale fields, which the filter cuts
                    if b"X-Spam-Status: " not in r.output or len(r.output) <= kept:
                        raise AssertionError("filter output lost bytes or the status header")
                stage = "check"
                rep = check_message(raw, model)       # scores as an unsent campaign: not compared with `v`
                if not 0.0 <= rep.verdict.probability <= 1.0:
                    raise AssertionError(f"check: bad verdict {rep.verdict!r}")
                stage = "learn"
                _apply(learner.nb, learner.features, [("m", raw, None)], bool(k % 2), False, LearnResult())
                if learn_file_every and k % learn_file_every == 0:
                    learn_messages(learn_file, [("m", raw, None)], spam=bool(k % 2))
            except MemoryError:
                status, detail = "crash", f"{stage}: MemoryError (address space limit)"
            except Exception as exc:  # noqa: BLE001 - every exception is a finding
                tb = traceback.format_exc(limit=-3)
                status, detail = "crash", f"{stage}: {type(exc).__name__}: {exc}"[:500] + "\n" + tb[-1500:]
            conn.send((status, detail, time.process_time() - t0, _maxrss()))
    finally:
        try:
            os.unlink(learn_file)
        except OSError:
            pass


class Worker:
    def __init__(self, ctx, model_path, mem_bytes, learn_dir, learn_file_every):
        self.args = (model_path, mem_bytes, learn_dir, learn_file_every)
        self.ctx = ctx
        self.parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=child_main, args=(child, self.parent, *self.args), daemon=True)
        self.proc.start()
        child.close()
        self.done = 0

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(10)
        self.parent.close()

    def stop(self) -> None:
        self.parent.close()          # EOF: the child cleans up and leaves
        self.proc.join(30)
        if self.proc.is_alive():
            self.kill()


# ----------------------------------------------------------------------------
# the campaign

@dataclass
class Finding:
    kind: str          # crash | hang
    name: str
    detail: str
    size: int
    saved: str = ""


@dataclass
class Summary:
    tried: int = 0
    crashes: list = field(default_factory=list)
    hangs: list = field(default_factory=list)
    slowest: list = field(default_factory=list)      # (seconds, name, size)
    peak_rss: int = 0
    peak_name: str = ""
    bytes_total: int = 0
    wall: float = 0.0
    worker_starts: int = 0
    startup_failures: int = 0


def run_campaign(n: int, *, seed: int = 14, corpus: str | None = None, use_corpus: bool = True,
                 model_path: str | None = None, deadline: float = 10.0, mem_mb: int = 3072, recycle: int = 2000,
                 learn_file_every: int = 500, cases: str = "all", save_failures: str | None = None,
                 progress=None, source=None, wall_factor: float = 6.0) -> tuple[Summary, dict]:
    """Run ``n`` messages; ``progress(summary, meta)`` is called about every 30 seconds.

    ``source``: an iterable of ``(name, raw)`` to use instead of :func:`messages` (the tests plant
    inputs that crash or hang a patched entry point, to show that the campaign notices).
    """
    ctx = multiprocessing.get_context("fork")
    summary = Summary()
    backstop = wall_factor * deadline      # wall clock: an answer that never comes (a loop in C, a deadlock)
    with tempfile.TemporaryDirectory(prefix="spamscore-fuzz-") as tmp:
        paths, where = corpus_files(corpus, use_corpus, os.path.join(tmp, "corpus"))
        model_path, model_desc = prepare_model(model_path, paths, tmp)
        learn_dir = os.path.join(tmp, "learn")
        os.makedirs(learn_dir)
        meta = dict(seed=seed, n=n, corpus=where, seed_messages=len(paths), deadline_s=deadline, mem_mb=mem_mb,
                    backstop_s=backstop, cases=cases if source is None else "given",
                    recycle=recycle, learn_file_every=learn_file_every, model=model_desc,
                    git=git_revision(), python=platform.python_version(), machine=platform.machine(),
                    cpus=os.cpu_count(), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        t_start = time.perf_counter()
        worker = None
        last_report = time.monotonic()
        try:
            for name, raw in (source if source is not None else messages(n, seed, paths, cases)):
                if worker is None or worker.done >= recycle:
                    if worker is not None:
                        worker.stop()
                    worker = Worker(ctx, model_path, mem_mb << 20, learn_dir, learn_file_every)
                    summary.worker_starts += 1
                summary.tried += 1
                summary.bytes_total += len(raw)
                t0 = time.perf_counter()
                finding = None
                try:
                    worker.parent.send_bytes(raw)
                    # the child loads the model first: its first message gets the load time as well
                    if worker.parent.poll(backstop + (30.0 if worker.done == 0 else 0.0)):
                        status, detail, seconds, rss = worker.parent.recv()
                        worker.done += 1
                        if rss > summary.peak_rss:
                            summary.peak_rss, summary.peak_name = rss, name
                        summary.slowest = sorted(summary.slowest + [(seconds, name, len(raw))], reverse=True)[:5]
                        if seconds > deadline:
                            finding = Finding("hang", name, f"took {seconds:.1f} s of CPU", len(raw))
                        elif status != "ok":
                            finding = Finding("crash", name, detail, len(raw))
                    else:
                        finding = Finding("hang", name, f"no answer after {time.perf_counter() - t0:.1f} s", len(raw))
                        worker.kill()
                        worker = None
                except (EOFError, BrokenPipeError, ConnectionResetError, OSError) as exc:
                    code = worker.proc.exitcode if worker is not None else None
                    if worker.done == 0:
                        summary.startup_failures += 1
                        if summary.startup_failures >= 3:
                            raise SystemExit("fuzz_campaign: the worker dies before its first message "
                                             f"(exit {code}): see its traceback above") from None
                    finding = Finding("crash", name, f"the worker died ({type(exc).__name__}, exit {code})", len(raw))
                    worker.kill()
                    worker = None
                if finding is not None:
                    (summary.crashes if finding.kind == "crash" else summary.hangs).append(finding)
                    if save_failures:
                        os.makedirs(save_failures, exist_ok=True)
                        finding.saved = os.path.join(save_failures, f"{finding.kind}-{summary.tried:06d}.eml")
                        with open(finding.saved, "wb") as fh:
                            fh.write(raw)
                    if worker is not None and finding.kind == "crash":   # state may be damaged: start afresh
                        worker.kill()
                        worker = None
                if progress is not None and time.monotonic() - last_report > 30:
                    last_report = time.monotonic()
                    summary.wall = time.perf_counter() - t_start
                    progress(summary, meta)
        finally:
            if worker is not None:
                worker.stop()
        summary.wall = time.perf_counter() - t_start
    return summary, meta


_CASES_TEXT = {"all": "the 64 hostile cases of tests/hostile.py", "no-huge": "the hostile cases but the three over 5 MB",
               "small": "the hostile cases up to 1 MiB", "none": "no hostile case"}


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB"


def report_markdown(s: Summary, meta: dict, partial: bool = False) -> str:
    lines = [
        "# Fuzz campaign (benchmarks/fuzz_campaign.py)",
        "",
        *([f"**Still running (or stopped): {s.tried:,} of {meta['n']:,} messages so far.**", ""] if partial else []),
        f"`python benchmarks/fuzz_campaign.py -n {meta['n']} --seed {meta['seed']}`, git {meta['git']}, "
        f"{meta['date']}, Python {meta['python']} on {meta['machine']} ({meta['cpus']} CPUs, shared).",
        "",
        "Every message goes through `Model.score`, the pipe filter (`filter_message`, which must score and agree",
        "with `Model.score`), `check_message` and `learn` (in memory, and every "
        f"{meta['learn_file_every']} messages `learn_messages` on a temporary copy of the model file), in a child",
        f"process limited to {meta['mem_mb']:,} MB of address space, with a deadline of {meta['deadline_s']:g} s of CPU "
        f"a message, and no answer after {meta['backstop_s']:g} s of wall time (a message over either is a hang).",
        "",
        "| | |",
        "|---|---|",
        f"| messages tried | {s.tried:,} ({_CASES_TEXT.get(meta['cases'], 'the inputs given')}, then seeded "
        f"mutations of {meta['seed_messages']:,} messages from {meta['corpus']}"
        f"{' and of the hostile cases up to 1 MiB' if meta['cases'] != 'none' else ''}) |",
        f"| crashes | **{len(s.crashes)}** |",
        f"| hangs (over {meta['deadline_s']:g} s of CPU) | **{len(s.hangs)}** |",
        f"| bytes fed | {_mb(s.bytes_total)} |",
        f"| peak memory of a worker (max RSS) | {_mb(s.peak_rss)}, first reached at `{s.peak_name}` |",
        f"| wall time | {s.wall:,.0f} s ({s.tried / max(s.wall, 1e-9):,.0f} messages a second, "
        f"{s.worker_starts} worker processes, recycled every {meta['recycle']:,} messages) |",
        f"| model | {meta['model']} |",
        f"| seed | {meta['seed']} |",
        "",
        "Slowest messages (CPU seconds, all four entry points together):",
        "",
        "| CPU seconds | message | bytes |",
        "|---|---|---|",
    ]
    for sec, name, size in s.slowest:
        lines.append(f"| {sec:.3f} | `{name}` | {size:,} |")
    for title, items in (("Crashes", s.crashes), ("Hangs", s.hangs)):
        if items:
            lines += ["", f"{title}:", ""]
            for f in items[:50]:
                first = f.detail.splitlines()[0] if f.detail else ""
                lines.append(f"- `{f.name}` ({f.size:,} bytes): {first}" + (f" (saved: {f.saved})" if f.saved else ""))
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--messages", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--corpus", help="a directory of messages to mutate (default: the shared SpamAssassin tarball)")
    ap.add_argument("--no-corpus", action="store_true", help="mutate tests/fixtures only (no unpacking)")
    ap.add_argument("--model", help="model file (default: the shipped model)")
    ap.add_argument("--deadline", type=float, default=10.0, help="seconds a message may take (default 10)")
    ap.add_argument("--wall-factor", type=float, default=6.0,
                    help="wall-clock wait for an answer, in deadlines (default 6: 60 s)")
    ap.add_argument("--mem-mb", type=int, default=3072, help="address-space limit of the worker (default 3072)")
    ap.add_argument("--recycle", type=int, default=2000, help="messages per worker process")
    ap.add_argument("--learn-file-every", type=int, default=500)
    ap.add_argument("--cases", choices=("all", "no-huge", "small", "none"), default="all",
                    help="hostile cases: all, all but the three over 5 MB, those up to 1 MiB, or none")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "fuzz.md"))
    ap.add_argument("--json", help="also write the findings as JSON here")
    ap.add_argument("--save-failures", default=os.path.join(HERE, "results", "fuzz-failures"))
    a = ap.parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)

    def progress(s: Summary, meta: dict) -> None:
        print(f"fuzz: {s.tried:,}/{meta['n']:,} messages, {len(s.crashes)} crashes, {len(s.hangs)} hangs, "
              f"{s.wall:.0f} s", file=sys.stderr, flush=True)
        with open(a.out + ".partial", "w") as fh:
            fh.write(report_markdown(s, meta, partial=True))

    s, meta = run_campaign(a.messages, seed=a.seed, corpus=a.corpus, use_corpus=not a.no_corpus, model_path=a.model,
                           deadline=a.deadline, wall_factor=a.wall_factor, mem_mb=a.mem_mb, recycle=a.recycle,
                           learn_file_every=a.learn_file_every, cases=a.cases, save_failures=a.save_failures,
                           progress=progress)
    md = report_markdown(s, meta)
    with open(a.out, "w") as fh:
        fh.write(md)
    if os.path.exists(a.out + ".partial"):
        os.unlink(a.out + ".partial")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(dict(meta=meta, tried=s.tried, crashes=[vars(f) for f in s.crashes],
                           hangs=[vars(f) for f in s.hangs], slowest=s.slowest, peak_rss=s.peak_rss,
                           peak_name=s.peak_name, wall_s=s.wall), fh, indent=1)
    print(md)
    return 1 if s.crashes or s.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
