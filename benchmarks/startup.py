"""Start-up: `spamscore filter` on one message, beside Bogofilter, and the load time of a TREC-sized model.

Issue 16's targets: `spamscore filter` on one message with the default model in at most 0.15 s CPU; a
scoring process's resident memory at most the model file's size plus 60 MB; a TREC-sized model (1.5 M
tokens) loaded in under 50 ms.  Each figure is the median of ``--runs`` runs, CPU (user + system) and
peak RSS from ``wait4`` of the child; the model formats are the same counts written as format 1 (the
.npz, unpacked and its tables built at every start) and format 2 (mapped).  `spamscore filter` runs
as a user runs it (the console script: options spelt plainly take the path without typer,
``spamscore.cli.main``) and, for comparison, through typer.  Every Python child runs with its
bytecode compiled once into a temporary PYTHONPYCACHEPREFIX (and one warm-up run), as an installed
wheel has it: a checkout whose .pyc are stale (files edited since, or PYTHONDONTWRITEBYTECODE set)
compiles those modules at every start (23 ms measured for five of them).

    python benchmarks/startup.py                     # writes benchmarks/results/startup.{json,md}
    python benchmarks/startup.py --runs 5 --tokens 1500000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MSG = REPO / "tests" / "fixtures" / "multipart_spam.eml"


def run(cmd: list[str], stdin: bytes, env: dict | None = None) -> tuple[float, float, float, int]:
    """(CPU s, wall s, peak RSS MB, exit code) of one run of ``cmd``.

    Peak RSS is the child's own ``VmHWM`` (through ``/usr/bin/time``, which forks from a small process:
    ``ru_maxrss`` of a child of this one would report this process's own high-water mark)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        cpu, wall, _, code = _finish(p, t0, cmd, stdin)
        rss = int(tf.read().split()[-1]) / 1024
    return cpu, wall, rss, code


def _finish(p, t0, cmd, stdin):
    """(CPU s of the child, through /usr/bin/time: its own, wall s, 0, exit code)."""
    p.stdin.write(stdin)
    p.stdin.close()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read()
    p.stderr.close()
    if p.returncode not in (0, 1, 2):
        raise SystemExit(f"{cmd}: exit {p.returncode}: {err.decode(errors='replace')[:300]}")
    return ru.ru_utime + ru.ru_stime, wall, 0.0, p.returncode


def median_runs(cmd, stdin, runs, env=None) -> dict:
    return interleaved({"": (cmd, env)}, stdin, runs)[""]


def interleaved(cmds: dict, stdin: bytes, runs: int) -> dict:
    """``median_runs`` of each of ``cmds`` (name: (command, env)), run in turn round after round, so
    that the machine's load (shared, and it varies by the minute) weighs on each the same."""
    for cmd, env in cmds.values():
        run(cmd, stdin, env)  # warm-up: bytecode compiled, files in the page cache
    rows = {name: [] for name in cmds}
    for _ in range(runs):
        for name, (cmd, env) in cmds.items():
            rows[name].append(run(cmd, stdin, env))
    return {name: {"cpu_s": round(statistics.median(r[0] for r in rs), 3),
                   "wall_s": round(statistics.median(r[1] for r in rs), 3),
                   "peak_rss_mb": round(statistics.median(r[2] for r in rs), 1), "runs": runs}
            for name, rs in rows.items()}


def bogofilter_db(tmp: str) -> str | None:
    """A Bogofilter wordlist trained on the test fixtures (its start-up does not depend on its size much)."""
    if shutil.which("bogofilter") is None:
        return None
    db = os.path.join(tmp, "bogo")
    os.mkdir(db)
    fixtures = sorted((REPO / "tests" / "fixtures").rglob("*.eml"))
    for i, f in enumerate(fixtures):
        flag = "-s" if ("spam" in f.name or "phish" in f.name) else "-n"
        subprocess.run(["bogofilter", "-d", db, flag], input=f.read_bytes(), check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return db


def synthetic_model(path_npz: str, path_map: str, tokens: int, seed: int = 1) -> dict:
    """A TREC-sized model: ``tokens`` tokens with Zipf-like document counts (37,709 messages), the
    same counts written as format 1 and format 2."""
    sys.path.insert(0, str(REPO))
    import numpy as np

    from spamscore.features import FEATURE_VERSION
    from spamscore.model import DEFAULT_PRIORS, TokenNB
    from spamscore.scoring import Model, load_model

    rng = np.random.default_rng(seed)
    base = load_model()
    vocab = {t: i for i, t in enumerate(DEFAULT_PRIORS)}
    kinds = ("", "subj:", "url-host:", "hdr:x-mailer:", "html:tag:", "")
    for i in range(tokens - len(vocab)):
        vocab[f"{kinds[i % len(kinds)]}w{i:x}z"] = len(vocab)
    n = len(vocab)
    total = np.minimum(rng.zipf(1.6, n), 30000)
    spam = rng.binomial(total, rng.beta(0.4, 0.4, n))
    ham = total - spam
    nb = TokenNB.from_counts(vocab, spam, ham, 24000, 13709)
    model = Model(nb, calibration=base.calibration, spam_cutoff=base.spam_cutoff, ham_cutoff=base.ham_cutoff,
                  options=base.options, meta={"feature_version": FEATURE_VERSION, "trained_at": "synthetic"})
    t = time.perf_counter()
    model.save(path_map)
    t_map = time.perf_counter() - t
    model.save(path_npz, format_version=1)
    return {"tokens": n, "clues": int(nb.strong_mask(nb.token_probabilities()).sum()),
            "save_format2_s": round(t_map, 2)}


# `spamscore filter ARGS` through typer, as before the fast path (spamscore.cli.main takes it when
# the options are spelt plainly): the command's module registered, then the typer app
TYPER_FILTER = ("import sys\n"
                "from spamscore.cli import load_commands\n"
                "load_commands(['filter'])\n"
                "from spamscore.cli._app import main\n"
                "main()\n")

LOAD_SNIPPET = """
import sys, time
from spamscore.scoring import load_model
raw = open(sys.argv[2], 'rb').read()
t0 = time.perf_counter(); c0 = time.process_time()
m = load_model(sys.argv[1])
t1 = time.perf_counter(); c1 = time.process_time()
m.score(raw)
t2 = time.perf_counter(); c2 = time.process_time()
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
print(t1 - t0, c1 - c0, t2 - t1, c2 - c1, int(hwm) / 1024)
"""


def load_times(path: str, runs: int, env: dict | None = None) -> dict:
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET, path, str(MSG)], capture_output=True, text=True,
                             check=True, cwd=REPO, env=env).stdout.split()
        rows.append([float(v) for v in out])
    med = [statistics.median(r[i] for r in rows) for i in range(5)]
    return {"load_wall_ms": round(med[0] * 1000, 1), "load_cpu_ms": round(med[1] * 1000, 1),
            "first_score_wall_ms": round(med[2] * 1000, 1), "first_score_cpu_ms": round(med[3] * 1000, 1),
            "peak_rss_mb": round(med[4], 1), "file_mb": round(os.path.getsize(path) / 2**20, 1), "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--tokens", type=int, default=1_500_000)
    ap.add_argument("--model", default=str(REPO / "models" / "default.spamscore"))
    ap.add_argument("--out", default=str(HERE / "results" / "startup"))
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from spamscore.scoring import Model

    spamscore = [str(Path(sys.executable).with_name("spamscore"))]
    if not os.path.exists(spamscore[0]):
        spamscore = [sys.executable, "-m", "spamscore"]
    raw = MSG.read_bytes()
    result = {"message": str(MSG.relative_to(REPO)), "python": platform.python_version(),
              "loadavg": os.getloadavg(), "filter": {}, "imports": {}}
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONDONTWRITEBYTECODE", "SPAMSCORE_MODEL", "OPENBLAS_NUM_THREADS")}
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        src = Model.load(args.model)
        f1, f2 = os.path.join(tmp, "default.v1.spamscore"), os.path.join(tmp, "default.v2.spamscore")
        src.save(f1, format_version=1)
        src.save(f2)
        cmds = {"spamscore filter, default model, format 1 (.npz)": (spamscore + ["filter", "--model", f1], env),
                "spamscore filter, default model, format 2 (mapped)": (spamscore + ["filter", "--model", f2], env),
                "the same through typer, format 2 (mapped)":
                    ([sys.executable, "-c", TYPER_FILTER, "filter", "--model", f2], env)}
        db = bogofilter_db(tmp)
        if db:
            cmds["bogofilter -v"] = (["bogofilter", "-d", db, "-v"], None)
        result["filter"] = interleaved(cmds, raw, args.runs)
        for name, r in result["filter"].items():
            if "format" in name:
                r["file_mb"] = round(os.path.getsize(f1 if "format 1" in name else f2) / 2**20, 1)
        one_thread = {**env, "OPENBLAS_NUM_THREADS": "1"}
        for what, code, e in (("python -c pass", "pass", env), ("import numpy", "import numpy", env),
                              ("import numpy, OPENBLAS_NUM_THREADS=1", "import numpy", one_thread),
                              ("import typer", "import typer", env),
                              ("import spamscore.serve.pipe, OPENBLAS_NUM_THREADS=1", "import spamscore.serve.pipe", one_thread),
                              ("import spamscore.cli", "import spamscore.cli", env)):
            result["imports"][what] = median_runs([sys.executable, "-c", code], b"", args.runs, e)["cpu_s"]
        n1, n2 = os.path.join(tmp, "trec.v1.spamscore"), os.path.join(tmp, "trec.v2.spamscore")
        result["trec_sized"] = synthetic_model(n1, n2, args.tokens)
        result["trec_sized"]["format 1 (.npz)"] = load_times(n1, max(3, args.runs // 2), env)
        result["trec_sized"]["format 2 (mapped)"] = load_times(n2, args.runs, env)
    Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# Start-up (benchmarks/startup.py, median of {args.runs} runs, Python {result['python']}, "
             f"load average {', '.join(f'{v:.1f}' for v in result['loadavg'])})", "",
             f"One message ({result['message']}) through a pipe filter; CPU is user + system of the whole process.", "",
             "| | CPU s | wall s | peak RSS MB | model file MB |", "|---|---|---|---|---|"]
    for name, r in result["filter"].items():
        lines.append(f"| `{name}` | {r['cpu_s']} | {r['wall_s']} | {r['peak_rss_mb']} | {r.get('file_mb', '-')} |")
    lines += ["", "CPU of the imports alone (s): " + "; ".join(f"`{k}` {v}" for k, v in result["imports"].items()), ""]
    t = result["trec_sized"]
    lines += [f"A TREC-sized synthetic model: {t['tokens']:,} tokens, {t['clues']:,} clues (format 2 written in "
              f"{t['save_format2_s']} s); `load_model` then one `score`, in a fresh process:", "",
              "| | file MB | load wall ms | load CPU ms | first score ms | peak RSS MB |", "|---|---|---|---|---|---|"]
    for name in ("format 1 (.npz)", "format 2 (mapped)"):
        r = t[name]
        lines.append(f"| {name} | {r['file_mb']} | {r['load_wall_ms']} | {r['load_cpu_ms']} | "
                     f"{r['first_score_wall_ms']} | {r['peak_rss_mb']} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
