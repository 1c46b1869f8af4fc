"""What the equivalence scripts feed both ways: corpus messages, test fixtures, hostile cases.

``messages(corpus, index)`` yields ``(name, raw bytes)`` for every message the
index lists (both halves), then every ``tests/fixtures/**/*.eml``, then
(``hostile=True``) every case of ``tests/hostile.py`` up to ``big`` bytes.
``test_half(corpus, index)`` gives the test half's raw messages.
"""
from __future__ import annotations

import glob
import os
import sys
from collections.abc import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIG = 5 * 1024 * 1024


def messages(corpus: str, index: str, hostile: bool = True, big: int = BIG) -> Iterator[tuple[str, bytes]]:
    rows = [line.rstrip("\n").split("\t") for line in open(index, encoding="utf-8")][1:]
    for r in rows:
        with open(os.path.join(corpus, r[0]), "rb") as fh:
            yield r[0], fh.read()
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "fixtures", "**", "*.eml"), recursive=True)):
        with open(path, "rb") as fh:
            yield os.path.relpath(path, REPO), fh.read()
    if hostile:
        sys.path.insert(0, os.path.join(REPO, "tests"))
        import hostile as cases

        for name in cases.CASE_NAMES:
            if name in getattr(cases, "HUGE", ()):
                continue
            raw = cases.make_case(name)
            if len(raw) <= big:
                yield "hostile:" + name, raw


def test_half(corpus: str, index: str) -> list[bytes]:
    """The raw messages of the index's test half, in index order (what the A/B timings score)."""
    rows = [line.rstrip("\n").split("\t") for line in open(index, encoding="utf-8")][1:]
    out = []
    for r in rows:
        if r[2] == "test":
            with open(os.path.join(corpus, r[0]), "rb") as fh:
                out.append(fh.read())
    return out
