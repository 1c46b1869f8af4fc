"""The compiled helpers (every ``spamscore/_*.c``) against the Python code, on the whole corpus.

Usage: python training/experiments/speedups_equivalence.py [--corpus /tmp/sa_corpus] [--index TSV]

For every message of the SpamAssassin corpus (all 6,046, both halves) and
every test fixture: the features with all the compiled helpers and with
none (each Python module that uses one holds it in an attribute named after
it, ``_speedups``, ``_mimescan``, ``_hdrscan``, ``_urlscan``, ``_htmlscan``;
None means the Python reference code) must be the same set, and the default
model must give the same clue rows and the same probability to the last bit.
Each helper's own script (``equiv_*.py`` here) compares it alone, on
mutated and hostile input too.  Then an A/B of ``Model.score`` over the test
half, both ways alternating in one process (CPU time; the medians are what
training/SPEED.md reports).
"""
from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import _inputs  # noqa: E402
from spamscore import load_model, message, model, scoring  # noqa: E402
from spamscore.features import auth, html, tokens, urls  # noqa: E402

HELPERS = ("_speedups", "_mimescan", "_hdrscan", "_urlscan", "_htmlscan", "_bodyscan")
MODULES = (model, scoring, message, tokens, urls, html, auth)
# (module, attribute, the compiled module) for every helper a module uses
USES = [(mod, name, getattr(mod, name)) for mod in MODULES for name in HELPERS if hasattr(mod, name)]
SP = model._speedups


def use_c(on: bool) -> None:
    for mod, name, compiled in USES:
        setattr(mod, name, compiled if on else None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="/tmp/sa_corpus")
    ap.add_argument("--index", default="/work/shared/corpora/spamassassin-public.tsv")
    ap.add_argument("--passes", type=int, default=6)
    args = ap.parse_args()
    missing = sorted({name for _, name, compiled in USES if compiled is None})
    if missing:
        print(f"not built: {', '.join(missing)} (pip install -e . with a C compiler): nothing to compare", file=sys.stderr)
        return 2
    print("helpers compared:", ", ".join(f"{mod.__name__}.{name}" for mod, name, _ in USES))
    rows = [line.rstrip("\n").split("\t") for line in open(args.index, encoding="utf-8")][1:]
    paths = [os.path.join(args.corpus, r[0]) for r in rows]
    paths += sorted(glob.glob(os.path.join(REPO, "tests", "fixtures", "**", "*.eml"), recursive=True))
    m_c, m_py = load_model(), load_model()
    bad = 0
    for path in paths:
        with open(path, "rb") as fh:
            raw = fh.read()
        use_c(True)
        fc = m_c.features(raw)
        rows_c = m_c.nb.clue_rows(fc).tolist()
        pc = m_c.score(raw).probability
        use_c(False)
        fp = m_py.features(raw)
        rows_p = m_py.nb.clue_rows(fp).tolist()
        pp = m_py.score(raw).probability
        if set(fc) != set(fp) or len(fc) != len(fp) or pc != pp:
            bad += 1
            print(f"DIFFERS {path}: {sorted(set(fc) ^ set(fp))[:5]} {pc} {pp}")
        # the same rows, each model's index (the layouts of the two tables differ)
        if [m_c.nb._get_scorer().tokens[i] for i in rows_c] != [m_py.nb._get_scorer().tokens[i] for i in rows_p]:
            bad += 1
            print(f"CLUES DIFFER {path}")
    print(f"{len(paths)} messages: {bad} differ")
    test = _inputs.test_half(args.corpus, args.index)
    times: dict[str, list[float]] = {"C": [], "Python": []}
    for rep in range(args.passes):
        for name in (("C", "Python") if rep % 2 == 0 else ("Python", "C")):
            use_c(name == "C")
            mm = m_c if name == "C" else m_py
            t0 = time.process_time()
            for raw in test:
                mm.score(raw)
            times[name].append((time.process_time() - t0) / len(test) * 1e6)
    for name, ts in times.items():
        print(f"Model.score with the {name} helpers: median {statistics.median(ts):.0f} CPU-µs a message "
              f"({', '.join(f'{t:.0f}' for t in ts)})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
