"""Body words by hash (``Model.score``'s path) against the str path, on the whole corpus.

Usage: python training/experiments/equiv_word_hashes.py [--corpus /tmp/sa_corpus] [--index TSV]
       [--no-hostile] [--mutated 3] [--passes 6]

For every message of the SpamAssassin corpus (all 6,046, both halves), every
test fixture, every case of tests/hostile.py (those above 5 MB skipped) and
``--mutated`` mutated copies of each corpus message
(``parser_equivalence.mutate``): ``Model.score(raw)`` of the shipped model,
which passes the body words to the lookup as hashes
(``_bodyscan.word_hashes``, ``_speedups.lookup_sums_h``), must give the same
Verdict (probability, label, clues, score and feature count, bit for bit) as
``score_features(features(raw))``, the str path.  Prints the number that
differ (must be 0).  Then an A/B over the test half, both ways alternating in
one process (CPU time, medians).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import _inputs  # noqa: E402
from _inputs import messages  # noqa: E402
from parser_equivalence import mutate  # noqa: E402

import spamscore  # noqa: E402
from spamscore.features import tokens as T  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="/tmp/sa_corpus")
    ap.add_argument("--index", default="/work/shared/corpora/spamassassin-public.tsv")
    ap.add_argument("--no-hostile", action="store_true")
    ap.add_argument("--mutated", type=int, default=3)
    ap.add_argument("--passes", type=int, default=6)
    a = ap.parse_args()
    model = spamscore.load_model()
    if not (T._WORD_HASHES and model.nb.takes_hashes()):
        print("the hashed path is off (helpers not built, or the import-time check failed)")
        return 1
    rng = random.Random(11)
    n = differ = 0

    def check(name: str, raw: bytes) -> None:
        nonlocal n, differ
        n += 1
        fast = model.score(raw, 15)
        slow = model.score_features(model.features(raw), 15)
        if fast != slow:
            differ += 1
            if differ <= 10:
                print(f"DIFFER {name}: {fast} != {slow}")

    corpus = []
    for name, raw in messages(a.corpus, a.index, hostile=not a.no_hostile):
        check(name, raw)
        if not name.startswith(("hostile:", "tests/")):
            corpus.append((name, raw))
    for name, raw in corpus:
        for k in range(a.mutated):
            check(f"{name}~{k}", mutate(raw, rng))
    print(f"{n} messages, {differ} differ")

    test = _inputs.test_half(a.corpus, a.index)
    if a.passes and test:
        times = {True: [], False: []}
        for _ in range(a.passes):
            for on in (True, False):
                T._WORD_HASHES = on
                t0 = time.process_time()
                for raw in test:
                    model.score(raw, 0)
                times[on].append((time.process_time() - t0) / len(test) * 1e6)
        T._WORD_HASHES = True
        for on in (True, False):
            print(f"score, body words {'by hash' if on else 'as str '}: median {statistics.median(times[on]):.0f} "
                  f"CPU-us/msg over {len(test)} test messages ({', '.join(f'{x:.0f}' for x in times[on])})")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
