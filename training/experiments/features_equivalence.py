"""Old (a git revision) against new ``spamscore.features.extract``: exact equivalence, and speed.

Usage: python training/experiments/features_equivalence.py [--rev REV] [--no-hostile] [--bench]

Exports ``spamscore/`` as it was at REV (default 7b4f877, ``main`` before the
feature-extraction speed work) to a temporary directory, overwrites its
``message.py`` with the current one (so that only the feature code differs:
both sides see the same ParsedMessage), and in a subprocess with that
directory first on ``sys.path`` extracts the features of every message of

* the 6,046 corpus messages (``/tmp/sa_corpus``, all splits),
* the hostile generator's cases (``tests/hostile.py``, huge ones included),
* the test fixtures (``tests/fixtures/**/*.eml``),

with default options and with a trusted authserv-id and small bounds, and
dumps the sorted feature lists to a pickle (a temp file, never a model).
This process then does the same with the working tree's code and requires
identical sorted lists for every message; each difference is printed.

``--bench`` times extract per feature family on the corpus test half, in fresh
processes (first pass with the lru caches cleared, and warm passes; CPU time,
median of 3), for the old and the new code.
"""
from __future__ import annotations

import argparse
import glob
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INDEX = "/work/shared/corpora/spamassassin-public.tsv"
ROOT = "/tmp/sa_corpus"
BASE_REV = "7b4f877"


def sources(hostile: bool = True):
    """(name, raw bytes) of every message compared, built lazily."""
    rows = [line.rstrip("\n").split("\t") for line in open(INDEX)][1:]
    for p, _label, _split, _ in rows:
        with open(os.path.join(ROOT, p), "rb") as f:
            yield "corpus:" + p, f.read()
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "fixtures", "**", "*.eml"), recursive=True)):
        with open(path, "rb") as f:
            yield "fixture:" + os.path.relpath(path, REPO), f.read()
    if hostile:
        sys.path.insert(0, os.path.join(REPO, "tests"))
        from hostile import hostile_cases
        for name, raw in hostile_cases(huge=True):
            yield "hostile:" + name, raw


def dump(out_path: str, hostile: bool) -> None:
    """Run in whichever spamscore is first on sys.path: name -> sorted features (two option sets)."""
    from spamscore.features import FeatureOptions, extract
    from spamscore.message import parse
    trusted = frozenset({"mx.example.org", "mx.google.com", "mx.example.net", "mx.receiver.example"})
    small = FeatureOptions(trusted_authserv_ids=trusted,
                           max_urls=7, max_text_chars=300, max_html_bytes=2000, ignored_headers=())
    res = {}
    for name, raw in sources(hostile):
        pm = parse(raw)
        res[name] = (sorted(extract(pm)), sorted(extract(pm, small)))
    with open(out_path, "wb") as f:
        pickle.dump(res, f)


def export_old(rev: str) -> str:
    tmp = tempfile.mkdtemp(prefix="oldfeat-")
    tar = subprocess.run(["git", "-C", REPO, "archive", rev, "spamscore"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=tar, check=True)
    shutil.copy(os.path.join(REPO, "spamscore", "message.py"), os.path.join(tmp, "spamscore", "message.py"))
    return tmp


def run_side(pkg_root: str, out: str, hostile: bool) -> dict:
    code = (f"import sys; sys.path.insert(0, {pkg_root!r}); sys.path.insert(1, {HERE!r});"
            "import spamscore, features_equivalence as fe;"
            f"assert spamscore.__file__.startswith({pkg_root!r}), spamscore.__file__;"
            f"fe.dump({out!r}, {hostile!r})")
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")
    with open(out, "rb") as f:
        return pickle.load(f)


# ---------------------------------------------------------------- benchmark

BENCH = r'''
import sys, time, statistics
sys.path.insert(0, PKG)
import spamscore.features as F
from spamscore.features import extract, tokens, urls, html, auth
from spamscore.message import parse
rows = [l.rstrip("\n").split("\t") for l in open(INDEX)][1:]
pms = [parse(open(ROOT + "/" + p, "rb").read()) for p, _, s, _ in rows if s == "test"]
def clear():  # every lru cache of the feature modules (old: _value_tokens, parse_url, registered_domain)
    for mod in (tokens, urls, html, auth):
        for name in dir(mod):
            if hasattr(getattr(mod, name), "cache_clear"):
                getattr(mod, name).cache_clear()
# per-family timers: wrap the functions extract/analyze call through the package namespace
fam = {}
def wrap(mod, name, key):
    f = getattr(mod, name)
    def w(*a, **k):
        t = time.process_time(); r = f(*a, **k); fam[key] = fam.get(key, 0.0) + time.process_time() - t; return r
    setattr(mod, name, w)
for name, key in FAMS:
    if hasattr(F, name):
        wrap(F, name, key)
def one(first):
    if first:
        clear()
    fam.clear()
    t = time.process_time()
    for pm in pms:
        extract(pm)
    return time.process_time() - t, dict(fam)
urls.registered_domain("warm.example.co.uk")  # tldextract builds its suffix trie once per process
first = one(True)
warm = [one(False) for _ in range(3)]
n = len(pms)
res = {"first": first[0] / n * 1e6, "warm": statistics.median(w[0] for w in warm) / n * 1e6,
       "first_fam": {k: v / n * 1e6 for k, v in first[1].items()},
       "warm_fam": {k: statistics.median(w[1].get(k, 0) for w in warm) / n * 1e6 for k in warm[0][1]}}
print(repr(res))
'''

FAMS = [("analyze_html", "html analyze"), ("find_urls", "find_urls"), ("body_tokens", "body tokens"),
        ("subject_tokens", "subject"), ("header_tokens", "header tokens"), ("url_features", "url_features"),
        ("html_features", "html_features"), ("auth_features", "auth")]


def bench(pkg_root: str, procs: int = 3) -> dict:
    import ast
    import statistics
    runs = []
    code = f"PKG={pkg_root!r}; INDEX={INDEX!r}; ROOT={ROOT!r}; FAMS={FAMS!r}\n" + BENCH
    for _ in range(procs):
        cp = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd="/")
        runs.append(ast.literal_eval(cp.stdout.strip().splitlines()[-1]))
    out = {"first": statistics.median(r["first"] for r in runs), "warm": statistics.median(r["warm"] for r in runs)}
    for kind in ("first_fam", "warm_fam"):
        out[kind] = {k: statistics.median(r[kind].get(k, 0) for r in runs) for k in runs[0][kind]}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default=BASE_REV)
    ap.add_argument("--no-hostile", action="store_true")
    ap.add_argument("--bench", action="store_true")
    args = ap.parse_args()
    old_root = export_old(args.rev)
    tmp = tempfile.mkdtemp(prefix="feateq-")
    try:
        if args.bench:
            for label, root in (("old", old_root), ("new", REPO)):
                b = bench(root)
                print(f"{label}: extract µs/msg first pass {b['first']:.0f}, warm {b['warm']:.0f}")
                for k in b["first_fam"]:
                    print(f"    {k:15s} first {b['first_fam'][k]:7.1f}  warm {b['warm_fam'].get(k, 0):7.1f}")
            return 0
        old = run_side(old_root, os.path.join(tmp, "old.pickle"), not args.no_hostile)
        new = run_side(REPO, os.path.join(tmp, "new.pickle"), not args.no_hostile)
        assert old.keys() == new.keys()
        bad = 0
        for name in old:
            for i, label in enumerate(("default", "small")):
                a, b = old[name][i], new[name][i]
                if a != b:
                    bad += 1
                    sa, sb = set(a), set(b)
                    print(f"DIFF {name} [{label}] only old: {sorted(sa - sb)[:10]} only new: {sorted(sb - sa)[:10]}"
                          + ("" if sa != sb else " (duplicates differ)"))
        groups = {}
        for name in old:
            g = name.split(":", 1)[0]
            groups[g] = groups.get(g, 0) + 1
        print(f"compared {len(old)} messages ({groups}) x 2 option sets against {args.rev}: {bad} differences")
        return 1 if bad else 0
    finally:
        shutil.rmtree(old_root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
