#!/usr/bin/env python3
"""Instructions a scored message per Python version, counted by valgrind's callgrind.

    python benchmarks/python_instructions.py [--sample 600] [--relink] [--env PYTHONMALLOC=malloc]
                                             [--python PATH ...] [--work /tmp/spamscore-pyver] [--reuse-venvs]
    python benchmarks/python_versions.py --instructions ...      (the same)

Issue 15, item 2 asks for every Python within 5% of 3.11. ``python_versions.py`` times it, but on a
shared two-core machine a wall-clock or CPU-time ratio moves by several percent from round to
round; an instruction count does not move with the machine's load. For each Python that
``python_versions.py`` finds (its discovery and its venv install, reused: a venv per version under
``--work`` with spamscore pip-installed from the committed tree), this runs callgrind twice on the
same scoring loop: ``Model.score(raw, 15)`` with the shipped model over the same N messages of the
test half (``--sample``, stratified, default 600), after ``--warmup-passes`` passes over them, then
0 passes and 1 pass. The difference of the two totals over N is the instructions a message in
steady state (start-up, imports, model load and warm-up cancel out). Per function (self cost,
per message) the same difference says where a version spends more than 3.11; ``__tls_get_addr``
(glibc's thread-local-variable lookup, called by a shared libpython 3.12+ for its thread state)
is counted separately, with its calls a message and its callers.

``--relink`` counts each version again with the same compiled interpreter linked into the
executable instead of loaded as ``libpythonX.Y.so``: ``python.o`` and ``libpythonX.Y.a`` from the
interpreter's own ``LIBPL`` folder (the same objects as the shared library), linked with the
interpreter's ``LINKFORSHARED``/``LIBS``, and run with the version's venv (a copy of its
``pyvenv.cfg`` and a link to its ``lib``). ``--env VAR=VAL`` counts each version again with that
variable set (``PYTHONMALLOC=malloc``: the C library's allocator instead of pymalloc). Variants
run on ``--variants-on`` versions (default: all).

Every run has ``PYTHONHASHSEED=0`` (the same dict and set layouts in both runs) and
``OPENBLAS_NUM_THREADS=1`` (no idle BLAS threads spinning under callgrind). One valgrind at a
time, under ``nice``. Writes ``<out>/python_instructions.{md,json}``. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import collections
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
sys.path.insert(0, HERE)

import python_versions as pv  # noqa: E402  (discovery, venv install, corpus)
from harness.report import write_results  # noqa: E402
from harness.systems import log, loadavg  # noqa: E402

TLS = "__tls_get_addr"
CATEGORIES = ("interpreter", "spamscore._core", "other site-packages", "stdlib C modules", "libc", "ld.so", "other")

# Run by each version's venv Python under callgrind: argv = passes, warm-up passes, file list.
SCORE_LOOP = r'''
import json, os, sys, sysconfig
from spamscore.scoring import default_model_path, load_model
passes, warmup = int(sys.argv[1]), int(sys.argv[2])
with open(sys.argv[3]) as fh:
    paths = fh.read().splitlines()
raws = []
for p in paths:
    with open(p, "rb") as fh:
        raws.append(fh.read())
model = load_model(None)
for _ in range(warmup):
    for raw in raws:
        model.score(raw, 15)
for _ in range(passes):
    for raw in raws:
        model.score(raw, 15)
with open("/proc/self/maps") as fh:
    libpython = sorted({ln.split()[-1] for ln in fh if "libpython" in ln})
from spamscore._native import STATUS
import numpy
print(json.dumps({"python": sys.version.split()[0], "numpy": numpy.__version__, "executable": sys.executable, "messages": len(raws),
                  "model": str(default_model_path()), "libpython_mapped": libpython,
                  "Py_ENABLE_SHARED": sysconfig.get_config_var("Py_ENABLE_SHARED"),
                  "helpers": f"{sum(v == 'loaded' for v in STATUS.values())} of {len(STATUS)}"}))
'''


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", action="append", default=[], metavar="PATH",
                    help="an interpreter to include (repeatable; default: what python_versions.py finds)")
    ap.add_argument("--no-discover", action="store_true", help="only the --python interpreters")
    ap.add_argument("--uv", default=shutil.which("uv"), metavar="PATH", help="as python_versions.py")
    ap.add_argument("--sample", type=int, default=600, help="messages of the test half scored (default 600)")
    ap.add_argument("--warmup-passes", type=int, default=1, help="passes before the counted one (default 1)")
    ap.add_argument("--corpus", default=None, help="as python_versions.py")
    ap.add_argument("--split", default=os.path.join(pv.REPO, "data", "spamassassin-public.tsv"))
    ap.add_argument("--work", default="/tmp/spamscore-pyver", help="venvs (as python_versions.py), callgrind files")
    ap.add_argument("--reuse-venvs", action="store_true",
                    help="keep a version's venv when it already holds spamscore built from the same commit")
    ap.add_argument("--relink", action="store_true",
                    help="also count each version with libpython linked into the executable")
    ap.add_argument("--env", action="append", default=[], metavar="VAR=VAL",
                    help="also count each version with this variable set (repeatable)")
    ap.add_argument("--variants-on", default=None, metavar="TAGS",
                    help="versions the variants run on, comma-separated (default: all)")
    ap.add_argument("--top", type=int, default=15, help="functions listed per comparison (default 15)")
    ap.add_argument("--valgrind", default=shutil.which("valgrind") or "valgrind")
    ap.add_argument("--nice", type=int, default=10, help="niceness of the valgrind runs (default 10)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--name", default="python_instructions")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed per external command")
    a = ap.parse_args(argv)
    if a.sample < 1:
        ap.error("--sample must be at least 1")
    for e in a.env:
        if "=" not in e:
            ap.error(f"--env takes VAR=VAL, not {e!r}")
    return a


# -- callgrind's output file --------------------------------------------------------------

_NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")
_SPACES = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl",
           "fn": "fn", "cfn": "fn"}


def parse_callgrind(path: str) -> dict:
    """Self cost (the first event, Ir) per (object, function) and call counts per (callee, caller)
    from a callgrind output file (format version 1, name compression as valgrind writes it).
    Recursion levels (``fn'2``) fold into their function. Returns {"totals", "self", "calls",
    "cmd"}; "totals" is the file's own ``totals:``/``summary:`` line (None if absent)."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    self_cost: collections.Counter = collections.Counter()
    calls: dict = collections.defaultdict(collections.Counter)
    npos, totals, cmd = 1, None, None
    ob = fn = cob = cfn = None
    skip_next_cost = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            c0 = line[0]
            if c0.isdigit() or c0 in "+-*":
                if skip_next_cost:       # the inclusive cost of the call just named, not self cost
                    skip_next_cost = False
                    continue
                parts = line.split()
                if len(parts) > npos and fn is not None:
                    self_cost[(ob, fn)] += int(parts[npos])
                continue
            key, sep, val = line.partition("=")
            if sep and key in _SPACES:
                space = _SPACES[key]
                m = _NAMED.match(val)
                if m:
                    if m.group(2) is not None:
                        names[space][m.group(1)] = m.group(2)
                    val = names[space].get(m.group(1), f"({m.group(1)})")
                if key == "fn":
                    fn = re.sub(r"'\d+$", "", val)
                elif key == "cfn":
                    cfn = re.sub(r"'\d+$", "", val)
                elif key == "ob":
                    ob = val
                elif key == "cob":
                    cob = val
                continue
            if sep and key == "calls":
                calls[(cob if cob is not None else ob, cfn)][(ob, fn)] += int(val.split()[0])
                cob = None
                skip_next_cost = True
                continue
            if sep and key in ("jump", "jcnd"):
                continue
            head, colon, rest = line.partition(":")
            if colon:
                if head == "positions":
                    npos = len(rest.split())
                elif head in ("totals", "summary") and totals is None:
                    totals = int(rest.split()[0])
                elif head == "cmd":
                    cmd = rest.strip()
    return {"totals": totals, "self": self_cost, "calls": calls, "cmd": cmd}


def category(obj: str | None) -> str:
    """Where a function's code lives, named alike across versions and builds."""
    base = os.path.basename(obj or "")
    if base.startswith("libpython") or re.fullmatch(r"python[\d.]*(-\w+)?", base):
        return "interpreter"
    if base.startswith("ld-linux"):
        return "ld.so"
    if base.startswith(("libc.so", "libm.so")):
        return "libc"
    if base.startswith("_core.cpython"):
        return "spamscore._core"
    if "/lib-dynload/" in (obj or ""):
        return "stdlib C modules"
    if "site-packages" in (obj or ""):
        return "other site-packages"
    return "other"


def fn_key(obj: str | None, fn: str) -> tuple[str, str]:
    """(category, function name), lined up across versions: code without a symbol (``0x...``) is
    one entry per library, named without its version and build tags; a C++ template (numpy's
    sorts) is one entry whatever the spelling of its arguments (numpy 2.4 and 2.5 differ)."""
    if fn.startswith("0x"):
        base = re.sub(r"\.cpython-\d+[^.]*", "", os.path.basename(obj or "?"))
        fn = "(no symbol) " + re.sub(r"-[0-9a-f]{8}(?=\.so)", "", base)
    elif "(" in fn:  # a demangled C++ signature: one entry per template, whatever its arguments' spelling
        head = fn.split("(")[0]
        words = re.sub(r"<.*", "", head).split()
        if words:  # not valgrind's "(below main)"
            fn = words[-1] + ("<...>" if "<" in head else "")
    return category(obj), fn


def per_message(p0: dict, p1: dict, n: int) -> dict:
    """What one pass over ``n`` messages added, a message: total, per (category, function) self
    cost, per category, and __tls_get_addr's calls (total and by calling function)."""
    fns: collections.Counter = collections.Counter()
    for (ob, fn), ir in p1["self"].items():
        fns[fn_key(ob, fn)] += ir
    for (ob, fn), ir in p0["self"].items():
        fns[fn_key(ob, fn)] -= ir
    cats: collections.Counter = collections.Counter()
    for (cat, _), ir in fns.items():
        cats[cat] += ir

    def tls_callers(p):
        out: collections.Counter = collections.Counter()
        for (ob, fn), callers in p["calls"].items():
            if fn == TLS:
                for (cob, cfn), k in callers.items():
                    out[fn_key(cob, cfn)] += k
        return out
    c1, c0 = tls_callers(p1), tls_callers(p0)
    callers = {f"{cat}:{fn}": (c1[(cat, fn)] - c0[(cat, fn)]) / n for cat, fn in set(c1) | set(c0)}
    tot1 = p1["totals"] if p1["totals"] is not None else sum(p1["self"].values())
    tot0 = p0["totals"] if p0["totals"] is not None else sum(p0["self"].values())
    return {
        "instructions": (tot1 - tot0) / n,
        "functions": {f"{cat}:{fn}": ir / n for (cat, fn), ir in fns.items() if ir},
        "categories": {cat: ir / n for cat, ir in cats.items()},
        "tls_instructions": sum(ir for (cat, fn), ir in fns.items() if fn == TLS) / n,
        "tls_calls": sum(callers.values()),
        "tls_callers": {k: v for k, v in callers.items() if v},
        "totals": [tot0, tot1],
    }


def differences(new: dict, base: dict, top: int) -> dict:
    """Functions whose self cost a message rose (and fell) most from ``base`` to ``new``."""
    keys = set(new["functions"]) | set(base["functions"])
    d = sorted(((new["functions"].get(k, 0.0) - base["functions"].get(k, 0.0), k) for k in keys), reverse=True)
    row = lambda x, k: {"function": k, "base": base["functions"].get(k, 0.0),  # noqa: E731
                        "new": new["functions"].get(k, 0.0), "added": x}
    return {"added": [row(x, k) for x, k in d[:top] if x > 0],
            "removed": [row(x, k) for x, k in reversed(d[-top:]) if x < 0]}


# -- the runs ------------------------------------------------------------------------------

def tool_versions() -> dict:
    def first(cmd):
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            return (cp.stdout or cp.stderr).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return None
    return {"valgrind": first(["valgrind", "--version"]), "glibc": first(["ldd", "--version"]),
            "cc": first(["cc", "--version"])}


def build_info(python: str, timeout: float) -> dict:
    code = ("import json, sysconfig; print(json.dumps({k: sysconfig.get_config_var(k) for k in "
            "('Py_ENABLE_SHARED', 'CONFIG_ARGS', 'CC', 'OPT', 'LDLIBRARY', 'LIBPL', 'LIBRARY', 'LINKFORSHARED', "
            "'LIBS', 'SYSLIBS', 'MODLIBS')}))")
    cp = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(cp.stdout)


def relink(v: dict, work: str, timeout: float) -> dict:
    """An executable with ``v``'s libpython linked in (its LIBPL's python.o and libpythonX.Y.a),
    laid out as a venv that shares ``v``'s installed packages; returns a config for it."""
    b = v["build"]
    libpl = b["LIBPL"]
    obj, lib = os.path.join(libpl, "python.o"), os.path.join(libpl, b["LIBRARY"] or "")
    if not (os.path.isfile(obj) and os.path.isfile(lib)):
        raise RuntimeError(f"{v['version']}: no python.o or {b['LIBRARY']} in {libpl}: cannot relink")
    d = os.path.join(work, f"relinked-{v['tag']}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "bin"))
    exe = os.path.join(d, "bin", "python")
    cmd = (shlex.split(b["CC"]) + ["-o", exe, obj, "-Wl,--whole-archive", lib, "-Wl,--no-whole-archive"]
           + shlex.split(b["LINKFORSHARED"] or "") + shlex.split(b["LIBS"] or "") + shlex.split(b["MODLIBS"] or "")
           + shlex.split(b["SYSLIBS"] or ""))
    log(f"{v['tag']}: linking libpython into {exe}")
    subprocess.run(cmd, check=True, timeout=timeout, capture_output=True, text=True)
    shutil.copy(os.path.join(v["venv"], "pyvenv.cfg"), d)
    os.symlink(os.path.join(v["venv"], "lib"), os.path.join(d, "lib"))
    return {"label": f"{v['tag']} libpython linked in", "tag": v["tag"], "variant": "relinked",
            "python": exe, "env": {}, "link_command": " ".join(shlex.quote(x) for x in cmd)}


def count(cfg: dict, passes: int, a, listfile: str, loop: str, work: str) -> tuple[dict, dict]:
    """One callgrind run of the scoring loop; (parsed output, what the loop printed)."""
    slug = re.sub(r"[^\w.]+", "-", cfg["label"]).strip("-")
    out = os.path.join(work, "callgrind", f"{slug}.{passes}.out")
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", **cfg["env"])
    cmd = ["nice", "-n", str(a.nice), a.valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
           f"--log-file={out}.log", cfg["python"], loop, str(passes), str(a.warmup_passes), listfile]
    log(f"{cfg['label']}: callgrind, {passes} pass(es) (load {loadavg()})")
    t0 = time.perf_counter()
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, env=env)
    if cp.returncode != 0:
        raise RuntimeError(f"{cfg['label']}: callgrind run failed ({cp.returncode}): {cp.stderr.strip()[-1500:]}")
    info = json.loads(cp.stdout.strip().splitlines()[-1])
    info["callgrind_s"] = round(time.perf_counter() - t0, 1)
    return parse_callgrind(out), info


# -- the report ----------------------------------------------------------------------------

def _n(x, fmt="{:,.0f}"):
    return "n/m" if x is None else fmt.format(x)


def _fn(k: str) -> str:
    cat, _, fn = k.partition(":")
    return f"`{fn}` ({cat})"


def summary_lines(res: dict) -> list[str]:
    """One line per version after 3.11: its gap, __tls_get_addr's part, and (with --relink) the
    gap between the linked-in builds, by where the code lives. python_versions.md repeats them."""
    by_label = {r["label"]: r for r in res["runs"]}

    def gap(new, old):
        a, b = by_label[new]["per_message"], by_label[old]["per_message"]
        d = a["instructions"] - b["instructions"]
        return d, d / b["instructions"] * 100, a["tls_instructions"] - b["tls_instructions"]
    summary = []
    for r in res["runs"]:
        if r["variant"] is not None or r["label"] == "3.11" or "3.11" not in by_label:
            continue
        d, pct, tls = gap(r["label"], "3.11")
        line = (f"- **{r['label']}**: {d:+,.0f} instructions a message against 3.11 ({pct:+.1f}%), "
                f"`__tls_get_addr` {tls:+,.0f} of them")
        rl, bl = f"{r['tag']} libpython linked in", "3.11 libpython linked in"
        if rl in by_label and bl in by_label:
            d2, pct2, _ = gap(rl, bl)
            cats = {k: by_label[rl]["per_message"]["categories"].get(k, 0.0)
                    - by_label[bl]["per_message"]["categories"].get(k, 0.0) for k in CATEGORIES}
            line += (f"; with libpython linked into the executable on both, {d2:+,.0f} ({pct2:+.1f}%): "
                     + ", ".join(f"{k} {v:+,.0f}" for k, v in cats.items() if abs(v) >= 500))
        summary.append(line + ".")
    return summary


def markdown(res: dict) -> str:
    m = res["meta"]
    base = res["baseline"]
    lines = [
        "# Instructions a scored message per Python version (callgrind)",
        "",
        f"Run {m['started_utc']} to {m['finished_utc']}, git {m['git'][:8]} (venvs installed from the committed "
        f"tree), {m['valgrind']}, glibc: {m['glibc']}. {m['messages']} messages of the test half of "
        f"`{os.path.basename(m['split'])}` (stratified sample, seed 0), the shipped model, "
        f"`Model.score(raw, 15)`; {m['warmup_passes']} warm-up pass(es), then callgrind totals with 0 and with 1 "
        "counted pass: instructions a message = the difference / messages. `PYTHONHASHSEED=0`, "
        "`OPENBLAS_NUM_THREADS=1`, one valgrind at a time under `nice`.",
        f"Command: `{m['command']}`.",
        "",
        "| run | instructions / message | vs 3.11 | of which `__tls_get_addr` | its calls / message | "
        + " | ".join(CATEGORIES) + " |",
        "|---|---|---|---|---|" + "---|" * len(CATEGORIES),
    ]
    for r in res["runs"]:
        pm = r["per_message"]
        ratio = pm["instructions"] / base["instructions"] if base else None
        lines.append(f"| {r['label']} | {_n(pm['instructions'])} | {_n(ratio, '**{:.3f}x**')} | "
                     f"{_n(pm['tls_instructions'])} | {_n(pm['tls_calls'])} | "
                     + " | ".join(_n(pm["categories"].get(k, 0.0)) for k in CATEGORIES) + " |")
    lines += ["", "Columns after the ratio: self cost a message by where the code lives (interpreter: libpython "
              "or the executable it is linked into; ld.so holds `__tls_get_addr`; other site-packages: numpy and "
              "its OpenBLAS; numpy " + ", ".join(f"{r['info']['numpy']} on {r['label']}" for r in res["runs"]
                                                 if r["variant"] is None) + "). Instruction counts are not time (cache misses, branch prediction), but "
              "they repeat whatever the machine's load.", ""]
    summary = summary_lines(res)
    if summary:
        lines += ["## Summary", ""] + summary + [""]
    for cmp_ in res["comparisons"]:
        new = next(r for r in res["runs"] if r["label"] == cmp_["new"])
        old = next(r for r in res["runs"] if r["label"] == cmp_["base"])
        gap = new["per_message"]["instructions"] - old["per_message"]["instructions"]
        tls = new["per_message"]["tls_instructions"] - old["per_message"]["tls_instructions"]
        lines += [f"## {cmp_['new']} against {cmp_['base']}", "",
                  f"{_n(gap, '{:+,.0f}')} instructions a message ({_n(gap / old['per_message']['instructions'] * 100, '{:+.1f}')}%), "
                  f"of which `__tls_get_addr` {_n(tls, '{:+,.0f}')}"
                  + (f" ({tls / gap * 100:.0f}% of the difference)" if gap > 0 and tls > 0 else "") + ".", "",
                  "| function (where) | " + f"{cmp_['base']} | {cmp_['new']} | difference |", "|---|---|---|---|"]
        for row in cmp_["added"] + [None] + cmp_["removed"]:
            if row is None:
                lines.append("| *fewer:* | | | |")
                continue
            lines.append(f"| {_fn(row['function'])} | {_n(row['base'])} | {_n(row['new'])} | "
                         f"{_n(row['added'], '{:+,.0f}')} |")
        lines.append("")
    tls_runs = [r for r in res["runs"] if r["per_message"]["tls_calls"] > 0.5]
    if tls_runs:
        lines += ["## Who calls `__tls_get_addr`", "",
                  "Calls a message by the calling function, the most frequent ten per run.", ""]
        for r in tls_runs:
            top = sorted(r["per_message"]["tls_callers"].items(), key=lambda kv: -kv[1])[:10]
            lines.append(f"- {r['label']} ({_n(r['per_message']['tls_calls'])} calls, "
                         f"{_n(r['per_message']['tls_instructions'])} instructions): "
                         + ", ".join(f"`{k.partition(':')[2]}` {v:,.0f}" for k, v in top))
        lines.append("")
    lines += ["## Interpreters", ""]
    for v in res["versions"]:
        b = v["build"]
        lines += [f"- {v['version']} (`{v['python']}`): `Py_ENABLE_SHARED` = {b['Py_ENABLE_SHARED']}, "
                  f"`LDLIBRARY` {b['LDLIBRARY']}, `OPT` `{b['OPT']}`, CONFIG_ARGS `{b['CONFIG_ARGS']}`"]
    for r in res["runs"]:
        if r.get("link_command"):
            lines.append(f"- {r['label']}: `{r['link_command']}` (sysconfig still says `Py_ENABLE_SHARED` = 1: "
                         "it describes the build; libpython mapped at run time: "
                         f"{r['info']['libpython_mapped'] or 'none'})")
    lines += ["", "## Runs", "", "| run | executable | env | libpython mapped | compiled helpers | totals (0 / 1 pass) "
              "| callgrind s |", "|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        i = r["info"]
        lines.append(f"| {r['label']} | `{r['python']}` | {' '.join(f'{k}={v}' for k, v in r['env'].items()) or '-'} | "
                     f"{', '.join(os.path.basename(x) for x in i['libpython_mapped']) or 'none'} | {i['helpers']} | "
                     f"{r['per_message']['totals'][0]:,} / {r['per_message']['totals'][1]:,} | "
                     f"{r['callgrind_s'][0]} / {r['callgrind_s'][1]} |")
    if m["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in m["notes"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    a = parse_args(argv)
    t_start = time.time()
    if not shutil.which(a.valgrind):
        raise SystemExit(f"valgrind not found ({a.valgrind}): apt-get install valgrind")
    os.makedirs(os.path.join(a.work, "callgrind"), exist_ok=True)
    versions, notes = pv.discover(a.python, not a.no_discover, a.uv)
    if not versions:
        raise SystemExit("no Python 3.11 or newer found")
    rev = pv.head_rev()
    for v in versions:
        pv.install(v, a.work, rev, a.reuse_venvs, a.timeout)
        v["build"] = build_info(v["python"], a.timeout)
        if not v["helpers_ok"]:
            notes.append(f"Python {v['version']}: not every compiled helper is loaded ({v.get('helpers')})")
    c = pv.get_corpus(argparse.Namespace(corpus=a.corpus, split=a.split, sample=a.sample), a.work)
    listfile = os.path.join(a.work, "callgrind", "messages.txt")
    with open(listfile, "w") as fh:
        fh.writelines(os.path.join(c.root, rel) + "\n" for rel, _ in c.test)
    loop = os.path.join(a.work, "callgrind", "score_loop.py")
    with open(loop, "w") as fh:
        fh.write(SCORE_LOOP)

    configs = [{"label": v["tag"], "tag": v["tag"], "variant": None, "python": os.path.join(v["venv"], "bin", "python"),
                "env": {}} for v in versions]
    on = set(a.variants_on.split(",")) if a.variants_on else {v["tag"] for v in versions}
    for v in versions:
        if v["tag"] not in on:
            continue
        if a.relink:
            configs.append(relink(v, a.work, a.timeout))
        for e in a.env:
            k, _, val = e.partition("=")
            configs.append({"label": f"{v['tag']} {e}", "tag": v["tag"], "variant": e,
                            "python": os.path.join(v["venv"], "bin", "python"), "env": {k: val}})
    runs = []
    for cfg in configs:
        p0, i0 = count(cfg, 0, a, listfile, loop, a.work)
        p1, i1 = count(cfg, 1, a, listfile, loop, a.work)
        pm = per_message(p0, p1, len(c.test))
        log(f"{cfg['label']}: {pm['instructions']:,.0f} instructions a message, __tls_get_addr "
            f"{pm['tls_instructions']:,.0f} ({pm['tls_calls']:,.0f} calls)")
        runs.append(dict(cfg, info=i1, callgrind_s=[i0["callgrind_s"], i1["callgrind_s"]], per_message=pm))

    by_label = {r["label"]: r for r in runs}
    base = by_label.get("3.11")
    if base is None:
        notes.append("no Python 3.11: no ratios")
    comparisons = []
    for r in runs:
        ref = None
        if r["variant"] is None and base is not None and r is not base:
            ref = base
        elif r["variant"] is not None:
            ref = by_label.get(r["tag"])
        if ref is not None:
            comparisons.append({"new": r["label"], "base": ref["label"],
                                **differences(r["per_message"], ref["per_message"], a.top)})
    if a.relink and "3.11 libpython linked in" in by_label:
        for r in runs:
            if r["variant"] == "relinked" and r["tag"] != "3.11":
                comparisons.append({"new": r["label"], "base": "3.11 libpython linked in",
                                    **differences(r["per_message"], by_label["3.11 libpython linked in"]["per_message"],
                                                  a.top)})
    notes += c.notes
    tv = tool_versions()
    res = {
        "meta": {
            "started_utc": time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(t_start)),
            "finished_utc": time.strftime("%Y-%m-%d %H:%MZ", time.gmtime()),
            "git": rev, "command": "python benchmarks/python_instructions.py " + " ".join(
                shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:])),
            "valgrind": tv["valgrind"], "glibc": tv["glibc"], "cc": tv["cc"], "platform": platform.platform(),
            "messages": len(c.test), "warmup_passes": a.warmup_passes, "split": a.split, "corpus": c.root,
            "notes": notes,
        },
        "versions": [{k: v.get(k) for k in ("tag", "version", "python", "venv", "helpers", "build")} for v in versions],
        "baseline": {"label": "3.11", "instructions": base["per_message"]["instructions"]} if base else None,
        "runs": [{k: r[k] for k in ("label", "tag", "variant", "python", "env", "info", "callgrind_s", "per_message")}
                 | ({"link_command": r["link_command"]} if r.get("link_command") else {}) for r in runs],
        "comparisons": comparisons,
    }
    # the JSON keeps every run's functions at 10 instructions a message or more (in either direction)
    for r in res["runs"]:
        r["per_message"] = dict(r["per_message"], functions={k: round(v, 1) for k, v in
                                                             r["per_message"]["functions"].items() if abs(v) >= 10})
    text = markdown(res)
    jpath, mpath = write_results(a.out, a.name, res, text)
    log(f"wrote {mpath} and {jpath} in {time.time() - t_start:.0f} s")
    print(text.split("\n## ")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
