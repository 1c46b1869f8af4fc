"""Running the systems: spamscore through its CLI (as users run it), the peers through
the reference scripts in ``benchmarks/peers/`` (copies of /work/shared/peers/, the
project's shared references), and reading back everyone's scores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(os.path.dirname(HERE), "peers")
TIME = "/usr/bin/time"

PEER_PACKAGES = {
    "bogofilter": ["bogofilter"],
    "spamassassin": ["spamassassin", "spamc", "spamd", "sa-compile"],
    "rspamd": ["rspamd", "redis-server"],
}
PEER_BINARIES = {"bogofilter": ["bogofilter", "bogoutil"], "spamassassin": ["spamd", "spamc", "sa-learn"],
                 "rspamd": ["rspamd", "rspamc", "redis-server", "redis-cli"]}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# -- timing a command ---------------------------------------------------------

def _time_file():
    import tempfile

    fd, tf = tempfile.mkstemp(prefix="bench-time-")
    os.close(fd)
    return tf


def _read_time_file(tf: str | None) -> dict:
    """Max RSS (KiB) and user+system CPU seconds from a /usr/bin/time -v report."""
    if not tf:
        return {}
    with open(tf, errors="replace") as fh:
        text = fh.read()
    os.unlink(tf)
    out = {}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["maxrss_kb"] = int(m.group(1))
    u = re.search(r"User time \(seconds\): ([\d.]+)", text)
    s = re.search(r"System time \(seconds\): ([\d.]+)", text)
    if u and s:
        out["cpu_s"] = float(u.group(1)) + float(s.group(1))
    return out


def timed(cmd: list[str], *, timeout: float, **kw) -> tuple[subprocess.CompletedProcess, float, dict]:
    """Run ``cmd``; (result, wall seconds, {maxrss_kb, cpu_s} from /usr/bin/time -v if present)."""
    tf = _time_file() if os.access(TIME, os.X_OK) else None
    if tf:
        cmd = [TIME, "-v", "-o", tf] + cmd
    t0 = time.perf_counter()
    cp = subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)
    wall = time.perf_counter() - t0
    return cp, wall, _read_time_file(tf)


def timed_stream(cmd: list[str], *, timeout: float) -> dict:
    """Run ``cmd`` reading its stdout line by line: wall time, time to the first line
    (interpreter start-up, imports, model load, first result) and the time between the
    first and the last line (steady-state throughput, start-up excluded)."""
    import threading

    tf = _time_file() if os.access(TIME, os.X_OK) else None
    full = ([TIME, "-v", "-o", tf] if tf else []) + cmd
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with tempfile_err() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=err, env=env)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        lines, stamps = [], []
        try:
            for line in p.stdout:
                stamps.append(time.perf_counter())
                lines.append(line)
            rc = p.wait()
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    info = _read_time_file(tf)
    # steady state: from the line at 10% of the output to the last line (with --jobs > 1
    # results arrive in chunks, so the very first line is not a clean start mark)
    i0 = len(stamps) // 10
    steady = (stamps[-1] - stamps[i0]) if len(stamps) > i0 + 1 else None
    return {"rc": rc, "stderr": stderr, "lines": lines, "wall_s": wall,
            "first_line_s": (stamps[0] - t0) if stamps else None,
            "steady_s": steady, "steady_lines": len(stamps) - 1 - i0, **info}


def tempfile_err():
    import tempfile

    return tempfile.TemporaryFile()


def _check(cp: subprocess.CompletedProcess, what: str) -> None:
    if cp.returncode != 0:
        err = cp.stderr.decode(errors="replace") if isinstance(cp.stderr, bytes) else cp.stderr
        raise RuntimeError(f"{what} failed (exit {cp.returncode}): {err.strip()[-800:]}")


# -- spamscore ------------------------------------------------------------------

def spamscore_cmd() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m spamscore``."""
    exe = os.path.join(os.path.dirname(sys.executable), "spamscore")
    if os.access(exe, os.X_OK):
        return [exe]
    found = shutil.which("spamscore")
    return [found] if found else [sys.executable, "-m", "spamscore"]


def spamscore_score_cmd(ss: list[str], model: str, corpus, jobs: int) -> list[str]:
    """``spamscore score`` over the test half, as the speed passes run it."""
    return ss + ["score", "-m", model, "--index", corpus.split_tsv, "--root", corpus.root, "--split", "test",
                 "-f", "jsonl", "--clues", "0", "--jobs", str(jobs)]


def run_spamscore(corpus, workdir: str, passes: int, jobs_all: int, timeout: float) -> dict:
    """Train with ``spamscore train`` and score the test half with ``spamscore score``
    (--jobs 1 and --jobs ``jobs_all``), ``passes`` times each; medians.

    Scoring throughput counts output lines from the one at 10% of the output to the
    last: the start-up (interpreter, imports, model load, and with --jobs > 1 the
    workers' own start-up) is left out and reported as the time to the first line.
    """
    ss = spamscore_cmd()
    # Byte-compile the package first, as pip does for a regular install: an
    # editable install under PYTHONDONTWRITEBYTECODE=1 (set on this workplace's
    # machines) would otherwise compile every module at every start (~0.1 s).
    import compileall
    import importlib.util
    spec = importlib.util.find_spec("spamscore")
    if spec is not None and spec.origin:
        compileall.compile_dir(os.path.dirname(spec.origin), quiet=1)
    model = os.path.join(workdir, "spamscore.model")
    idx = ["--index", corpus.split_tsv, "--root", corpus.root]
    train_walls, train_info, train_out = [], [], ""
    for i in range(passes):
        log(f"spamscore train, pass {i + 1}/{passes} (load {loadavg()})")
        cp, w, info = timed(ss + ["train", *idx, "--split", "train", "--jobs", "1", "-o", model], timeout=timeout)
        _check(cp, "spamscore train")
        train_walls.append(w)
        train_info.append(info)
        train_out = cp.stdout.decode(errors="replace").strip()
    m = re.search(r"in ([\d.]+)s", train_out)
    n = len(corpus.test)
    res = {"train_s_all": train_walls, "train_s": statistics.median(train_walls),
           "train_cpu_s": statistics.median([i.get("cpu_s", float("nan")) for i in train_info]),
           "train_reported_s": float(m.group(1)) if m else None, "train_output": train_out,
           "train_maxrss_kb": max((i.get("maxrss_kb") or 0 for i in train_info), default=None) or None,
           "model_bytes": os.path.getsize(model), "model_path": model, "command": " ".join(ss)}
    scores_file = os.path.join(workdir, "spamscore.scores.jsonl")
    for jobs in sorted({1, jobs_all}):
        runs = []
        for i in range(passes):
            if jobs == 1:
                info1 = _spamscore_startup(ss, model, corpus, timeout)
            log(f"spamscore score --jobs {jobs}, pass {i + 1}/{passes} ({n} messages, load {loadavg()})")
            r = _spamscore_stream(ss, model, corpus, jobs, timeout)
            if jobs == 1 and i == 0:
                with open(scores_file, "wb") as fh:
                    fh.writelines(r["lines"])
            r.pop("lines", None)
            r.pop("stderr", None)
            if jobs == 1 and r.get("cpu_s") is not None and info1.get("cpu_s") is not None:
                r["startup_cpu_s"] = info1["cpu_s"]
                r["msgs_per_cpu_s"] = _per_cpu_s(n, r["cpu_s"], info1["cpu_s"])
            runs.append(r)
        rates = [r["steady_lines"] / r["steady_s"] for r in runs if r["steady_s"]]
        res[f"jobs{jobs}"] = {
            "jobs": jobs, "runs": runs,
            "startup_s": statistics.median(r["first_line_s"] for r in runs),
            "msgs_per_s": statistics.median(rates) if rates else None,
            "msgs_per_s_incl_startup": n / statistics.median(r["wall_s"] for r in runs),
            "msgs_per_cpu_s": _median_or_none([r.get("msgs_per_cpu_s") for r in runs]),
            "maxrss_kb": max((r.get("maxrss_kb") or 0 for r in runs), default=None) or None,
        }
    res["msgs_per_cpu_s"] = res["jobs1"]["msgs_per_cpu_s"]
    res["msgs_per_s_1"] = res["jobs1"]["msgs_per_s"]
    res["msgs_per_s_all"] = res[f"jobs{jobs_all}"]["msgs_per_s"]
    res["score_maxrss_kb"] = res["jobs1"]["maxrss_kb"]
    res["scores"] = read_spamscore_scores(scores_file, corpus.root)
    return res


def _median_or_none(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def read_spamscore_scores(path: str, root: str) -> dict[str, tuple[float, str]]:
    """relpath -> (ranking score, label) from ``spamscore score -f jsonl`` output."""
    out = {}
    prefix = os.path.join(root, "")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            rel = d["path"][len(prefix):] if d["path"].startswith(prefix) else d["path"]
            # the ranking score; the calibrated probability if an engine version drops "score"
            sc = d.get("score", d.get("probability"))
            out[rel] = (float(sc), str(d.get("label", "")))
    return out


# -- peers ------------------------------------------------------------------

def peer_available(peer: str) -> tuple[bool, str]:
    missing = [b for b in PEER_BINARIES[peer] if not shutil.which(b)]
    if missing:
        return False, f"not installed ({', '.join(missing)} missing)"
    if not os.access(TIME, os.X_OK):
        return False, f"{TIME} missing (Debian package 'time')"
    if peer in ("spamassassin", "rspamd") and os.geteuid() != 0:
        return False, "the reference script needs root (it switches users and chowns its directories)"
    return True, ""


def ensure_peer(peer: str, install: bool) -> tuple[bool, str]:
    """Install the peer's Debian packages if missing (root, apt-get) and ``install``."""
    ok, why = peer_available(peer)
    if ok or not install:
        return ok, why
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False, why + "; cannot install (not root or no apt-get)"
    pkgs = PEER_PACKAGES[peer] + ["time"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing {' '.join(pkgs)} with apt-get")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *pkgs]
    cp = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if cp.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=900)
        cp = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if cp.returncode != 0:
        return False, f"apt-get install failed: {cp.stderr.strip()[-300:]}"
    return peer_available(peer)


def _ensure_sapeer() -> None:
    if subprocess.run(["id", "sapeer"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-r", "-M", "-d", "/tmp/peer_sa", "-s", "/usr/sbin/nologin", "sapeer"],
                       check=True, capture_output=True)


def pkg_version(pkg: str) -> str | None:
    cp = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    return cp.stdout.strip() or None if cp.returncode == 0 else None


REUSE_FILES = {"bogofilter": ["bogofilter.scores.tsv", "bogofilter.timing.json"],
               "spamassassin": ["spamassassin_bayesonly.scores.tsv", "spamassassin_full.scores.tsv",
                                "spamassassin.timing.json"],
               "rspamd": ["rspamd_bayesonly.scores.tsv", "rspamd_full.scores.tsv", "rspamd.timing.json"]}


def reusable(peer: str, folder: str | None) -> bool:
    return bool(folder) and all(os.path.exists(os.path.join(folder, f)) for f in REUSE_FILES[peer])


def import_peer(peer: str, folder: str, outdir: str) -> str:
    """Copy a peer's outputs from an earlier run of its reference script; returns a note."""
    for f in REUSE_FILES[peer]:
        shutil.copy(os.path.join(folder, f), os.path.join(outdir, f))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(os.path.join(folder, REUSE_FILES[peer][-1]))))
    return (f"IMPORTED from an earlier run of the reference script ({folder}, finished {when}), not measured in "
            f"this run: its accuracy is comparable, its timings were taken under different load")


def run_peer_script(peer: str, args: list[str], corpus, outdir: str, timeout: float, extra_env=None) -> None:
    env = dict(os.environ, SA_CORPUS=corpus.root, PEER_OUT=outdir, SA_SPLIT=corpus.split_tsv, **(extra_env or {}))
    script = os.path.join(PEERS_DIR, f"run_{peer}.py")
    logf = os.path.join(outdir, f"{peer}.run.log")
    with open(logf, "wb") as fh:
        cp = subprocess.run([sys.executable, script, *args], stdout=fh, stderr=subprocess.STDOUT,
                            env=env, cwd=outdir, timeout=timeout)
    if cp.returncode != 0:
        with open(logf, errors="replace") as fh:
            tail = fh.read()[-1500:]
        raise RuntimeError(f"{os.path.basename(script)} exited {cp.returncode}: {tail}")


def read_peer_scores(path: str) -> dict[str, tuple[float, str]]:
    out = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                out[parts[0]] = (float(parts[1]), parts[2])
    return out


def _load_timing(outdir: str, name: str) -> dict:
    with open(os.path.join(outdir, f"{name}.timing.json")) as fh:
        return json.load(fh)


def _dir_bytes(path: str) -> int | None:
    if not os.path.isdir(path):
        return None
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def bogofilter_score_cmd(db: str) -> list[str]:
    """``bogofilter -B`` scoring, read-only, the options of the reference script (file names follow)."""
    return ["bogofilter", "-C", "-d", db, "-v", "--header-format=%c %0.12e", "-B"]


def bogofilter_parallel(corpus, db: str, jobs: int, passes: int, timeout: float) -> dict:
    """Bogofilter on every core: the test half cut into ``jobs`` slices, one read-only
    ``bogofilter -B`` process per slice, same options as the reference script."""
    rels = [r for r, _ in corpus.test]
    slices = [rels[i::jobs] for i in range(jobs)]
    env = dict(os.environ, BOGOFILTER_DIR=db)

    def one(sl):
        return subprocess.run(bogofilter_score_cmd(db) + sl,
                              cwd=corpus.root, env=env, capture_output=True, timeout=timeout)

    walls = []
    for _ in range(passes):
        t0 = time.perf_counter()
        with ThreadPoolExecutor(jobs) as ex:
            cps = list(ex.map(one, slices))
        walls.append(time.perf_counter() - t0)
        for cp in cps:
            if cp.returncode not in (0, 1, 2):
                raise RuntimeError(f"bogofilter failed: {cp.stderr.decode(errors='replace')[-300:]}")
    return {"jobs": jobs, "score_s_all": walls, "msgs_per_s": len(rels) / statistics.median(walls)}


def bogofilter_cpu(corpus, db: str, passes: int, timeout: float) -> float | None:
    """Messages per CPU-second of one ``bogofilter -B`` over the test half (user + system
    time from /usr/bin/time, start-up of a one-message run subtracted)."""
    return _median_or_none([_bogofilter_pass(corpus, db, timeout)["msgs_per_cpu_s"] for _ in range(passes)])


def run_bogofilter(corpus, peer_out: str, passes: int, jobs_all: int, timeout: float) -> list[dict]:
    db = os.path.join(peer_out, "bogofilter.db")
    run_peer_script("bogofilter", [], corpus, peer_out, timeout, {"BOGOFILTER_DIR": db})
    t = _load_timing(peer_out, "bogofilter")
    par = bogofilter_parallel(corpus, db, jobs_all, passes, timeout) if jobs_all > 1 else None
    cpu_rate = bogofilter_cpu(corpus, db, passes, timeout)
    return [{
        "system": "Bogofilter", "key": "bogofilter", "version": pkg_version("bogofilter"),
        "scores": read_peer_scores(os.path.join(peer_out, "bogofilter.scores.tsv")),
        "train_s": t["train_s"], "msgs_per_s_1": t["msgs_per_s_median"],
        "msgs_per_s_all": par["msgs_per_s"] if par else t["msgs_per_s_median"], "msgs_per_cpu_s": cpu_rate,
        "score_maxrss_kb": t.get("score_maxrss_kb"), "train_maxrss_kb": t.get("train_maxrss_kb"),
        "model_bytes": t.get("db_bytes"), "model_desc": "wordlist.db",
        "timing": t, "parallel": par,
        "notes": [f"default cut-off: spam_cutoff 0.99 ({t.get('unsure_count')} unsure counted as ham); "
                  f"3 timed passes (fixed in the reference script)",
                  f"all cores: {jobs_all} bogofilter -B processes on slices of the test half; "
                  f"msgs per CPU-s: the same bogofilter -B under /usr/bin/time, {passes} pass(es)"],
    }]


# -- paired speed passes: spamscore and Bogofilter in alternation ----------------

def _spamscore_startup(ss: list[str], model: str, corpus, timeout: float) -> dict:
    """/usr/bin/time figures of ``spamscore score`` on one message: the start-up (and one
    message) whose CPU time is subtracted from a full pass's."""
    one = os.path.join(corpus.root, corpus.test[0][0])
    cp1, _, info1 = timed(ss + ["score", "-m", model, "-f", "jsonl", "--clues", "0", one], timeout=timeout)
    _check(cp1, "spamscore score (one message)")
    return info1


def _spamscore_stream(ss: list[str], model: str, corpus, jobs: int, timeout: float) -> dict:
    """One ``spamscore score`` pass over the test half (timed_stream), checked: exit 0 and one
    result per message."""
    n = len(corpus.test)
    r = timed_stream(spamscore_score_cmd(ss, model, corpus, jobs), timeout=timeout)
    if r["rc"] != 0:
        raise RuntimeError(f"spamscore score failed (exit {r['rc']}): {r['stderr'][-800:]}")
    if len(r["lines"]) != n:
        raise RuntimeError(f"spamscore score gave {len(r['lines'])} results for {n} messages")
    return r


def _spamscore_pass(ss: list[str], model: str, corpus, timeout: float) -> dict:
    """One ``spamscore score --jobs 1`` pass as in run_spamscore: steady-state msgs/s and
    msgs per CPU-s (start-up: the CPU time of a one-message run just before)."""
    n = len(corpus.test)
    info1 = _spamscore_startup(ss, model, corpus, timeout)
    r = _spamscore_stream(ss, model, corpus, 1, timeout)
    return {"msgs_per_s": r["steady_lines"] / r["steady_s"] if r["steady_s"] else None,
            "msgs_per_cpu_s": _per_cpu_s(n, r.get("cpu_s"), info1.get("cpu_s")),
            "wall_s": r["wall_s"], "first_line_s": r["first_line_s"], "cpu_s": r.get("cpu_s"),
            "startup_cpu_s": info1.get("cpu_s")}


def _bogofilter_pass(corpus, db: str, timeout: float) -> dict:
    """One ``bogofilter -B`` pass over the test half as the reference script and
    bogofilter_cpu run it: msgs/s = messages / wall time, msgs per CPU-s with the CPU
    time of a one-message run just before subtracted."""
    env = dict(os.environ, BOGOFILTER_DIR=db)
    rels = [r for r, _ in corpus.test]
    _, _, one = timed(bogofilter_score_cmd(db) + rels[:1], timeout=timeout, cwd=corpus.root, env=env)
    cp, wall, full = timed(bogofilter_score_cmd(db) + rels, timeout=timeout, cwd=corpus.root, env=env)
    # exit code 0 spam, 1 ham, 2 unsure (the last message's), 3 error
    if cp.returncode not in (0, 1, 2):
        raise RuntimeError(f"bogofilter failed (exit {cp.returncode}): {cp.stderr.decode(errors='replace')[-300:]}")
    if len(cp.stdout.splitlines()) != len(rels):
        raise RuntimeError(f"bogofilter gave {len(cp.stdout.splitlines())} results for {len(rels)} messages")
    return {"msgs_per_s": len(rels) / wall, "msgs_per_cpu_s": _per_cpu_s(len(rels), full.get("cpu_s"), one.get("cpu_s")),
            "wall_s": wall, "cpu_s": full.get("cpu_s"), "startup_cpu_s": one.get("cpu_s")}


def _per_cpu_s(n: int, cpu_s: float | None, startup_cpu_s: float | None) -> float | None:
    """Messages per CPU-second after the start-up: (n - 1) / (full run - one-message run)."""
    if cpu_s is None or startup_cpu_s is None:
        return None
    return (n - 1) / max(cpu_s - startup_cpu_s, 1e-3)


def _quotient(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _spread(vals: list) -> dict:
    vals = [v for v in vals if v is not None]
    if not vals:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}


def paired_speed(corpus, model: str, db: str, rounds: int, timeout: float) -> dict:
    """spamscore and Bogofilter speed passes in alternation (spamscore first in odd rounds,
    Bogofilter first in even ones), one of each per round, so the machine's speed drift
    (20% and more within minutes) falls on both alike; the per-round ratios
    spamscore / Bogofilter and their median are the figures for the speed target."""
    ss = spamscore_cmd()
    n = len(corpus.test)
    passes = {"spamscore": lambda: _spamscore_pass(ss, model, corpus, timeout),
              "bogofilter": lambda: _bogofilter_pass(corpus, db, timeout)}
    out = []
    for i in range(rounds):
        order = ["spamscore", "bogofilter"] if i % 2 == 0 else ["bogofilter", "spamscore"]
        row = {"round": i + 1, "first": order[0], "load": loadavg()}
        for system in order:
            log(f"paired speed, round {i + 1}/{rounds}: {system} ({n} messages, load {loadavg()})")
            row[system] = passes[system]()
        row["ratio_msgs_per_s"] = _quotient(row["spamscore"]["msgs_per_s"], row["bogofilter"]["msgs_per_s"])
        row["ratio_msgs_per_cpu_s"] = _quotient(row["spamscore"]["msgs_per_cpu_s"], row["bogofilter"]["msgs_per_cpu_s"])
        log(f"paired speed, round {i + 1}/{rounds}: spamscore/Bogofilter {_fmt(row['ratio_msgs_per_s'])} msgs/s, "
            f"{_fmt(row['ratio_msgs_per_cpu_s'])} msgs per CPU-s")
        out.append(row)
    return {
        "messages": n, "rounds": out,
        "ratio_msgs_per_s": _spread([r["ratio_msgs_per_s"] for r in out]),
        "ratio_msgs_per_cpu_s": _spread([r["ratio_msgs_per_cpu_s"] for r in out]),
        **{f"{system}_{k}": _median_or_none([r[system][k] for r in out])
           for system in ("spamscore", "bogofilter") for k in ("msgs_per_s", "msgs_per_cpu_s")},
    }


def _fmt(v: float | None) -> str:
    return "n/m" if v is None else f"{v:.3f}x"


def run_spamassassin(corpus, peer_out: str, passes: int, timeout: float, reuse: str | None = None) -> list[dict]:
    imported = None
    if reusable("spamassassin", reuse):
        imported = import_peer("spamassassin", reuse, peer_out)
    else:
        _ensure_sapeer()
        run_peer_script("spamassassin", ["bayes", str(passes)], corpus, peer_out, timeout)
    t = _load_timing(peer_out, "spamassassin")
    passes = len(t.get("score_s_all", [])) or passes
    rss = max(t.get("spamd_vmhwm_kb", {}).values(), default=None)
    common = {"version": pkg_version("spamassassin"), "train_s": t["train_s"], "msgs_per_s_1": t["msgs_per_s_median"],
              "msgs_per_s_all": None, "score_maxrss_kb": rss, "train_maxrss_kb": t.get("train_maxrss_kb"),
              "model_bytes": _dir_bytes("/tmp/peer_sa/bayes"), "model_desc": "bayes_toks+bayes_seen", "timing": t}
    speed_note = (f"spamd with one child, one spamc per message, {passes} pass(es); all-cores speed "
                  "not measured (the reference runs spamd --max-children=1)")
    return _peer_rows(common, peer_out, imported, speed_note, [
        ("SpamAssassin Bayes", "spamassassin_bayes", "spamassassin_bayesonly.scores.tsv",
         "unrounded Bayes probability (PeerBayesRaw.pm); verdict at p > 0.5"),
        ("SpamAssassin rules+Bayes", "spamassassin_full", "spamassassin_full.scores.tsv",
         "full score, Debian's shipped rules, network tests off; verdict at required_score 5.0"),
    ])


def _peer_rows(common: dict, peer_out: str, imported: str | None, speed_note: str,
               variants: list[tuple[str, str, str, str]]) -> list[dict]:
    """One result row per (system, key, scores file, note) of a peer that shares its timing (``common``)."""
    if imported:
        speed_note = imported + "; " + speed_note
    return [dict(common, system=system, key=key, scores=read_peer_scores(os.path.join(peer_out, scores)),
                 notes=[note, speed_note])
            for system, key, scores, note in variants]


def run_rspamd(corpus, peer_out: str, passes: int, timeout: float, reuse: str | None = None) -> list[dict]:
    imported = None
    if reusable("rspamd", reuse):
        imported = import_peer("rspamd", reuse, peer_out)
    else:
        run_peer_script("rspamd", [str(passes)], corpus, peer_out, timeout)
    t = _load_timing(peer_out, "rspamd")
    passes = len(t.get("score_s_all", [])) or passes
    rss = max((t.get("worker_vmhwm_kb") or {}).values(), default=None)
    redis_mem = (t.get("redis") or {}).get("used_memory")
    common = {"version": pkg_version("rspamd"), "train_s": t["train_s"], "msgs_per_s_1": t["msgs_per_s_median"],
              "msgs_per_s_all": None, "score_maxrss_kb": rss, "train_maxrss_kb": None,
              "model_bytes": _human_bytes(redis_mem), "model_desc": f"redis used_memory {redis_mem}", "timing": t}
    speed_note = (f"one normal worker, one rspamc client, {passes} pass(es); all-cores speed not measured "
                  "(the reference runs count=1); peak RSS = largest rspamd process (VmHWM), redis not counted")
    return _peer_rows(common, peer_out, imported, speed_note, [
        ("Rspamd Bayes", "rspamd_bayes", "rspamd_bayesonly.scores.tsv",
         "unrounded bayes_prob; verdict = BAYES_SPAM symbol"),
        ("Rspamd full", "rspamd_full", "rspamd_full.scores.tsv",
         "full score, network modules off; verdict = action add header or stronger"),
    ])


def _human_bytes(s: str | None) -> int | None:
    if not s:
        return None
    m = re.fullmatch(r"([\d.]+)([KMG]?)B?", s.strip(), re.I)
    if not m:
        return None
    return int(float(m.group(1)) * {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[m.group(2).upper()])


# -- evaluation -------------------------------------------------------------

def evaluate(scores: dict[str, tuple[float, str]], corpus) -> dict:
    """spamscore.metrics.summarize over the test half; default verdicts other than
    'spam' (ham, unsure) count as not spam."""
    from spamscore.metrics import summarize

    have = [(r, l) for r, l in corpus.test if r in scores]
    y = np.array([1 if l == "spam" else 0 for _, l in have])
    s = np.array([scores[r][0] for r, _ in have], dtype=np.float64)
    raw_labels = [scores[r][1] for r, _ in have]
    labels = np.array(["spam" if v == "spam" else "ham" for v in raw_labels])
    out = summarize(y, s, labels)
    out["missing"] = len(corpus.test) - len(have)
    out["unsure"] = sum(1 for v in raw_labels if v == "unsure")
    return out, y, s
