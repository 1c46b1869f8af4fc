#!/usr/bin/env python3
"""spamscore's scoring speed per Python version, each beside Bogofilter in the same rounds.

    python benchmarks/python_versions.py [--rounds 5] [--python PATH ...] [--work /tmp/spamscore-pyver]
                                         [--corpus PATH.tar.xz|DIR] [--split TSV] [--out benchmarks/results]

Issue 15, item 2: on every supported Python, ``spamscore score`` within 5% of the 3.11 figure and
at least Bogofilter's messages a second in the same run. For each Python found (pyenv's
``~/.pyenv/versions/3.1[1-4]*``, a 3.14 that ``uv python find`` knows, and any ``--python``), this
makes a venv under ``--work``, installs the project into it as a user would (``pip install`` of a
clean copy of the committed tree, ``git archive HEAD``: never built inside the repository), checks
that ``spamscore --version`` says every compiled helper is loaded, and then times rounds. A round
visits every version (the order rotated each round) and gives each one paired pass: one
``spamscore score --jobs 1`` over the test half with the shipped model and one ``bogofilter -B``
over the same files, which goes first alternating, exactly as ``run.py``'s paired passes
(``harness.systems._spamscore_pass`` / ``_bogofilter_pass``, reused, not copied). The machine's
speed drifts by 20% and more within minutes, so versions are interleaved round-robin rather than
measured one after the other, and every ratio is taken within one round: a version's rate over
3.11's in the same round, and over the Bogofilter pass beside it; the medians over the rounds are
the figures. Writes ``<out>/python_versions.{md,json}``. See docs/benchmarks.md.

``--instructions [ARGS]`` runs ``python_instructions.py`` instead (the rest of the command line is
its own): the same interpreters and venvs, each counted by valgrind's callgrind, which the
machine's load does not move (``<out>/python_instructions.{md,json}``).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from harness import corpus as corpus_mod  # noqa: E402
from harness import systems  # noqa: E402
from harness.report import _f, write_results  # noqa: E402
from harness.systems import _median_or_none, _quotient, _spread, log, loadavg  # noqa: E402

import run as bench_run  # noqa: E402  (its corpus defaults and git_rev)

HELPERS_RE = re.compile(r"compiled helpers: (\d+) of (\d+) loaded")
TARGET_VS_311 = 0.95  # "within 5% of the 3.11 figure" (issue 15, item 2)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", action="append", default=[], metavar="PATH",
                    help="an interpreter to include (repeatable; default: pyenv's 3.11-3.14 and uv's 3.14)")
    ap.add_argument("--no-discover", action="store_true", help="only the --python interpreters")
    ap.add_argument("--uv", default=shutil.which("uv"), metavar="PATH",
                    help="uv, asked for an installed 3.14 (`uv python find`, never a download; default: uv on PATH)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds; each gives every version one paired pass (default 5)")
    ap.add_argument("--corpus", default=None,
                    help="unpacked corpus folder or .tar.xz (default: /tmp/corp/sa_corpus if present, else "
                         "../shared/corpora/spamassassin-public.tar.xz unpacked under --work)")
    ap.add_argument("--split", default=os.path.join(REPO, "data", "spamassassin-public.tsv"))
    ap.add_argument("--sample", type=int, default=None, help="N messages of each half instead of the whole split (a smoke run)")
    ap.add_argument("--work", default="/tmp/spamscore-pyver", help="venvs, source copies, bogofilter db (kept for reuse)")
    ap.add_argument("--reuse-venvs", action="store_true",
                    help="keep a version's venv when it already holds spamscore built from the same commit")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--name", default="python_versions")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed per external command")
    a = ap.parse_args(argv)
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    return a


# -- interpreters ------------------------------------------------------------------

def discover(extra: list[str], discover_more: bool, uv: str | None) -> tuple[list[dict], list[str]]:
    """[{python, version, tag}] sorted by version (one per minor version, the newest patch), and
    notes on what was looked for and not found."""
    cands, notes = list(extra), []
    if discover_more:
        cands += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[1-4]*/bin/python3")))
        if uv:
            cp = subprocess.run([uv, "python", "find", "--no-python-downloads", "3.14"], capture_output=True,
                                text=True, timeout=60)
            if cp.returncode == 0 and cp.stdout.strip():
                cands.append(cp.stdout.strip())
            else:
                notes.append(f"uv ({uv}) finds no installed Python 3.14 (`uv python install 3.14` downloads one "
                             "from outside the package registries)")
        else:
            notes.append("uv is not on PATH (--uv): no Python 3.14 from uv")
    found = {}
    for exe in cands:
        try:
            cp = subprocess.run([exe, "-c", "import platform, sys; print(platform.python_version()); "
                                            "print(sys.implementation.name)"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            notes.append(f"{exe}: does not run ({exc})")
            continue
        if cp.returncode != 0:
            notes.append(f"{exe}: does not run ({cp.stderr.strip()[-200:]})")
            continue
        ver, impl = cp.stdout.split()
        key = tuple(int(x) for x in ver.split(".")[:2])
        if impl != "cpython" or key < (3, 11):
            continue
        if key not in found or _vkey(ver) > _vkey(found[key]["version"]):
            found[key] = {"python": exe, "version": ver, "tag": f"{key[0]}.{key[1]}"}
    if discover_more and (3, 14) not in found:
        notes.append("no Python 3.14 on this machine: no 3.14 row")
    return [found[k] for k in sorted(found)], notes


def _vkey(v: str) -> tuple:
    return tuple(int(x) if x.isdigit() else 0 for x in re.split(r"[.a-z]+", v)[:3])


# -- installs ------------------------------------------------------------------------

def head_rev() -> str:
    return subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def clean_copy(dest: str) -> None:
    """The committed tree (``git archive HEAD``) unpacked at ``dest``: what a user's ``pip install .``
    sees, without the working tree's uncommitted edits or build products."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    arch = subprocess.Popen(["git", "-C", REPO, "archive", "HEAD"], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", dest], stdin=arch.stdout, check=True)
    arch.stdout.close()
    if arch.wait() != 0:
        raise RuntimeError("git archive HEAD failed")


def install(v: dict, work: str, rev: str, reuse: bool, timeout: float) -> None:
    """A venv for ``v`` with spamscore pip-installed (not editable) from a clean copy; sets
    v["venv"], v["spamscore"], v["install_s"], v["version_text"], v["helpers"]."""
    venv = os.path.join(work, f"venv-{v['tag']}")
    stamp = os.path.join(venv, "spamscore-commit")
    v["venv"], v["spamscore"] = venv, os.path.join(venv, "bin", "spamscore")
    if reuse and os.path.exists(stamp) and open(stamp).read().strip() == rev and os.access(v["spamscore"], os.X_OK):
        log(f"{v['tag']}: reusing {venv} (spamscore from {rev[:8]})")
        v["install_s"] = None
    else:
        src = os.path.join(work, f"src-{v['tag']}")
        log(f"{v['tag']}: clean copy of HEAD at {src}, venv at {venv}, pip install")
        clean_copy(src)
        shutil.rmtree(venv, ignore_errors=True)
        t0 = time.perf_counter()
        subprocess.run([v["python"], "-m", "venv", venv], check=True, timeout=timeout)
        cp = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                             "--disable-pip-version-check", src], capture_output=True, text=True, timeout=timeout)
        if cp.returncode != 0:
            raise RuntimeError(f"pip install on {v['version']} failed: {(cp.stdout + cp.stderr).strip()[-1500:]}")
        v["install_s"] = round(time.perf_counter() - t0, 1)
        with open(stamp, "w") as fh:
            fh.write(rev + "\n")
        shutil.rmtree(src, ignore_errors=True)
    cp = subprocess.run([v["spamscore"], "--version"], capture_output=True, text=True, timeout=timeout)
    v["version_text"] = cp.stdout.strip()
    m = HELPERS_RE.search(cp.stdout)
    v["helpers"] = {"loaded": int(m.group(1)), "of": int(m.group(2))} if m else None
    v["helpers_ok"] = bool(m) and m.group(1) == m.group(2)
    log(f"{v['tag']}: " + (m.group(0) if m else f"no 'compiled helpers' line in --version (exit {cp.returncode})"))


# -- corpus and Bogofilter -------------------------------------------------------------

def get_corpus(a, work: str):
    src = a.corpus or ("/tmp/corp/sa_corpus" if os.path.isdir("/tmp/corp/sa_corpus") else bench_run.DEFAULT_CORPUS)
    if os.path.isdir(src):
        root = corpus_mod.locate_root(src)
    else:
        dest = os.path.join(work, "corpus")
        if os.path.isdir(os.path.join(dest, "sa_corpus")):
            root = corpus_mod.locate_root(dest)
        else:
            log(f"unpacking {src}")
            root = corpus_mod.unpack(src, dest)
    # every message checked against the split's md5 before anything is timed
    return corpus_mod.prepare(root, a.split, os.path.join(work, "split"), sample=a.sample, check=True,
                              source=os.path.abspath(src))


def bogofilter_db(c, work: str, timeout: float) -> str:
    """Bogofilter trained on the training half by its reference script (as run.py does)."""
    ok, why = systems.ensure_peer("bogofilter", install=True)
    if not ok:
        raise SystemExit(f"bogofilter cannot run: {why}")
    out = os.path.join(work, "bogofilter")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    db = os.path.join(out, "bogofilter.db")
    log("training Bogofilter on the training half (benchmarks/peers/run_bogofilter.py)")
    systems.run_peer_script("bogofilter", [], c, out, timeout, {"BOGOFILTER_DIR": db})
    return db


# -- the rounds ----------------------------------------------------------------------------

def rounds(versions: list[dict], c, model: str, db: str, n_rounds: int, timeout: float) -> list[dict]:
    """``n_rounds`` rounds; in each, every version in turn (the order rotated by one each round)
    gets one spamscore pass and one Bogofilter pass. Which goes first alternates from round to
    round for each version (as run.py's paired passes) and between neighbouring versions."""
    out = []
    index = {v["tag"]: j for j, v in enumerate(versions)}
    for i in range(n_rounds):
        order = versions[i % len(versions):] + versions[:i % len(versions)]
        row = {"round": i + 1, "order": [v["tag"] for v in order], "load": loadavg(), "versions": {}}
        for v in order:
            ss = [v["spamscore"]]
            first = ["spamscore", "bogofilter"] if (i + index[v["tag"]]) % 2 == 0 else ["bogofilter", "spamscore"]
            cell = {"first": first[0]}
            for system in first:
                log(f"round {i + 1}/{n_rounds}, Python {v['tag']}: {system} (load {loadavg()})")
                cell[system] = (systems._spamscore_pass(ss, model, c, timeout) if system == "spamscore"
                                else systems._bogofilter_pass(c, db, timeout))
            cell["vs_bogofilter"] = _quotient(cell["spamscore"]["msgs_per_s"], cell["bogofilter"]["msgs_per_s"])
            cell["vs_bogofilter_cpu"] = _quotient(cell["spamscore"]["msgs_per_cpu_s"], cell["bogofilter"]["msgs_per_cpu_s"])
            row["versions"][v["tag"]] = cell
        base = row["versions"].get("3.11")
        for cell in row["versions"].values():
            cell["vs_311"] = _quotient(cell["spamscore"]["msgs_per_s"], base["spamscore"]["msgs_per_s"]) if base else None
            cell["vs_311_cpu"] = (_quotient(cell["spamscore"]["msgs_per_cpu_s"], base["spamscore"]["msgs_per_cpu_s"])
                                  if base else None)
        log(f"round {i + 1}/{n_rounds}: " + ", ".join(
            f"{t} {_f(cl['spamscore']['msgs_per_s'], '{:.0f}')} msgs/s ({_f(cl['vs_bogofilter'], '{:.2f}x')} Bogofilter)"
            for t, cl in row["versions"].items()))
        out.append(row)
    return out


def summarize(versions: list[dict], rws: list[dict]) -> list[dict]:
    """Per version: medians over the rounds and the per-round ratios' spread; the two targets."""
    rows = []
    for v in versions:
        cells = [r["versions"][v["tag"]] for r in rws]
        ss_rate = _median_or_none([cl["spamscore"]["msgs_per_s"] for cl in cells])
        ss_cpu = _median_or_none([cl["spamscore"]["msgs_per_cpu_s"] for cl in cells])
        vs311 = _spread([cl["vs_311"] for cl in cells])
        vsbf = _spread([cl["vs_bogofilter"] for cl in cells])
        rows.append({
            "python": v["version"], "tag": v["tag"], "interpreter": v["python"],
            "helpers": v.get("helpers"), "helpers_ok": v.get("helpers_ok"), "install_s": v.get("install_s"),
            "msgs_per_s": ss_rate, "msgs_per_cpu_s": ss_cpu,
            "cpu_us_per_msg": 1e6 / ss_cpu if ss_cpu else None,
            "first_line_s": _median_or_none([cl["spamscore"]["first_line_s"] for cl in cells]),
            "bogofilter_msgs_per_s": _median_or_none([cl["bogofilter"]["msgs_per_s"] for cl in cells]),
            "vs_311": vs311, "vs_311_cpu": _spread([cl["vs_311_cpu"] for cl in cells]),
            "vs_bogofilter": vsbf, "vs_bogofilter_cpu": _spread([cl["vs_bogofilter_cpu"] for cl in cells]),
            "faster_than_bogofilter_rounds": sum(1 for cl in cells if (cl["vs_bogofilter"] or 0) >= 1),
            "target_vs_311_met": None if vs311["median"] is None else vs311["median"] >= TARGET_VS_311,
            "target_vs_bogofilter_met": None if vsbf["median"] is None else vsbf["median"] >= 1.0,
        })
        cpu311, cpubf = rows[-1]["vs_311_cpu"]["median"], rows[-1]["vs_bogofilter_cpu"]["median"]
        rows[-1]["target_vs_311_cpu_met"] = None if cpu311 is None else cpu311 >= TARGET_VS_311
        rows[-1]["target_vs_bogofilter_cpu_met"] = None if cpubf is None else cpubf >= 1.0
    return rows


# -- the report ----------------------------------------------------------------------------

def _x(s: dict) -> str:
    if s["median"] is None:
        return "n/m"
    return f"**{s['median']:.3f}x** ({s['min']:.2f} to {s['max']:.2f})"


def _yes(b) -> str:
    return "n/m" if b is None else ("yes" if b else "**no**")


def markdown(res: dict) -> str:
    m = res["meta"]
    n_rounds = len(res["rounds"])
    lines = [
        "# spamscore per Python version, beside Bogofilter",
        "",
        f"Run {m['started_utc']} to {m['finished_utc']}, git {m['git'][:8]} (the committed tree, `git archive`), "
        f"{m['cpus']} CPUs, load {m['load_start']} at the start and {m['load_end']} at the end. "
        f"{m['messages']} messages (the test half of `{os.path.basename(m['split'])}`), model "
        f"`{m['model']}` (sha256 {m['model_sha256'][:12]}), Bogofilter {m['bogofilter_version']}. "
        f"{n_rounds} rounds; each gives every version one `spamscore score --jobs 1` pass and one `bogofilter -B` "
        "pass (which goes first alternating), versions interleaved round-robin, the order rotated each round.",
        f"Command: `{m['command']}`.",
        "",
        "| Python | compiled helpers | msgs/s (median) | vs 3.11, same round | within 5% of 3.11 | "
        "vs Bogofilter, same round | ≥ Bogofilter | CPU µs / msg | vs 3.11 per CPU-s | vs Bogofilter per CPU-s | "
        "Bogofilter msgs/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["summary"]:
        h = r["helpers"]
        lines.append(
            f"| {r['python']} | {'%d of %d' % (h['loaded'], h['of']) if h else 'n/m'}"
            f"{'' if r['helpers_ok'] else ' (**not all**)'} | {_f(r['msgs_per_s'], '{:,.0f}')} | {_x(r['vs_311'])} | "
            f"{_yes(r['target_vs_311_met'])} | {_x(r['vs_bogofilter'])} | {_yes(r['target_vs_bogofilter_met'])} "
            f"({r['faster_than_bogofilter_rounds']} of {n_rounds} rounds) | {_f(r['cpu_us_per_msg'], '{:.0f}')} | "
            f"{_x(r['vs_311_cpu'])} | {_x(r['vs_bogofilter_cpu'])} | {_f(r['bogofilter_msgs_per_s'], '{:,.0f}')} |")
    lines += ["", "Ratios: the median of the per-round ratios (lowest to highest in brackets). msgs/s: spamscore's "
              "steady state (output lines from the one at 10% to the last, start-up left out), Bogofilter's "
              "messages / wall time; per CPU-s: both minus a one-message run just before (as `run.py`'s paired "
              "passes). On a shared machine the wall-clock rates move with the other load (a pass whose second "
              "of steady state meets a burst of it reads a third slower); CPU-seconds per message move much "
              "less, so both are given.", "", "## Rounds", "",
              "| round | load | " + " | ".join(f"{r['tag']} msgs/s (first) | {r['tag']} / Bogofilter | "
                                               f"{r['tag']} CPU µs / msg" for r in res["summary"]) + " |",
              "|---|---|" + "---|---|---|" * len(res["summary"])]
    for rw in res["rounds"]:
        cells = []
        for r in res["summary"]:
            cl = rw["versions"][r["tag"]]
            cells.append(f"{_f(cl['spamscore']['msgs_per_s'], '{:,.0f}')} ({cl['first']}) | "
                         f"{_f(cl['vs_bogofilter'], '{:.2f}x')} | "
                         f"{_f(1e6 / cl['spamscore']['msgs_per_cpu_s'] if cl['spamscore']['msgs_per_cpu_s'] else None, '{:.0f}')}")
        lines.append(f"| {rw['round']} | {rw['load']} | " + " | ".join(cells) + " |")
    lines += ["", "## Notes", ""] + [f"- {n}" for n in m["notes"]]
    lines += ["", "## `spamscore --version` per venv", ""]
    for v in res["versions"]:
        lines += [f"{v['tag']} (`{v['python']}`, installed in {v.get('install_s')} s):", "", "```",
                  v.get("version_text", ""), "```", ""]
    return "\n".join(lines) + "\n"


def instructions_section(out: str) -> str:
    """The summary of ``<out>/python_instructions.json`` (python_instructions.py) when there is one,
    as a section that goes before the rounds."""
    path = os.path.join(out, "python_instructions.json")
    if not os.path.exists(path):
        return ""
    import python_instructions
    with open(path) as fh:
        ins = json.load(fh)
    m = ins["meta"]
    return "\n".join([
        "## Instruction counts", "",
        f"Counted by valgrind's callgrind ({m['messages']} messages of the test half, after a warm-up pass; run "
        f"{m['started_utc']} at git {m['git'][:8]}; [python_instructions.md](python_instructions.md), "
        "`python benchmarks/python_instructions.py`), which the machine's load does not move as it moves the rates "
        "above. `__tls_get_addr` is glibc's lookup of a thread-local variable, which a shared libpython (3.12 and "
        "newer) calls to find its thread state; \"linked in\" is the same interpreter's own `libpythonX.Y.a` linked "
        "into the executable, where that lookup is a plain memory access.", ""]
        + python_instructions.summary_lines(ins)) + "\n\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--instructions" in argv:
        import python_instructions
        argv.remove("--instructions")
        return python_instructions.main(argv)
    a = parse_args(argv)
    t_start = time.time()
    os.makedirs(a.work, exist_ok=True)
    os.chmod(a.work, 0o755)
    load_start = loadavg()
    versions, notes = discover(a.python, not a.no_discover, a.uv)
    if not versions:
        raise SystemExit("no Python 3.11 or newer found")
    log("Pythons: " + ", ".join(f"{v['version']} ({v['python']})" for v in versions))
    if not any(v["tag"] == "3.11" for v in versions):
        notes.append("no Python 3.11: the 'vs 3.11' column is n/m")
    rev = head_rev()
    for v in versions:
        install(v, a.work, rev, a.reuse_venvs, a.timeout)
        if not v["helpers_ok"]:
            notes.append(f"Python {v['version']}: not every compiled helper is loaded ({v.get('helpers')}); "
                         "measured anyway")
    c = get_corpus(a, a.work)
    log(f"corpus {c.root}: {c.counts()}")
    # the shipped model, the same file for every version: the committed one
    model_dir = os.path.join(a.work, "model")
    clean_copy(model_dir)
    model = os.path.join(model_dir, "models", "default.spamscore")
    with open(model, "rb") as fh:
        model_sha = hashlib.sha256(fh.read()).hexdigest()
    db = bogofilter_db(c, a.work, a.timeout)
    rws = rounds(versions, c, model, db, a.rounds, a.timeout)
    summary = summarize(versions, rws)
    notes += c.notes
    res = {
        "meta": {
            "started_utc": time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(t_start)),
            "finished_utc": time.strftime("%Y-%m-%d %H:%MZ", time.gmtime()),
            "wall_s": round(time.time() - t_start), "cpus": os.cpu_count(),
            "load_start": load_start, "load_end": loadavg(), "git": rev, "git_worktree": bench_run.git_rev(),
            "command": "python benchmarks/python_versions.py " + " ".join(
                shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:])),
            "driver_python": platform.python_version(), "platform": platform.platform(),
            "messages": len(c.test), "corpus": c.root, "split": a.split, "counts": c.counts(),
            "model": os.path.relpath(model, model_dir), "model_sha256": model_sha,
            "bogofilter_version": systems.pkg_version("bogofilter"), "target_vs_311": TARGET_VS_311,
            "notes": notes,
        },
        "versions": [{k: v.get(k) for k in ("tag", "version", "python", "install_s", "helpers", "helpers_ok",
                                            "version_text")} for v in versions],
        "summary": summary, "rounds": rws,
    }
    text = markdown(res)
    text = text.replace("## Rounds\n", instructions_section(a.out) + "## Rounds\n", 1)
    jpath, mpath = write_results(a.out, a.name, res, text)
    log(f"wrote {mpath} and {jpath} in {time.time() - t_start:.0f} s")
    print(text.split("\n## Rounds")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
