"""A verdict's shown clues in one compiled call (``_speedups.top_clues``, spamscore/native/clues.c) against the
numpy code of ``Model.score_features`` it stands in for: the same tokens and weights in the same order."""

import numpy as np
import pytest

from spamscore.model import native
from spamscore.scoring import load_model

from conftest import native_reason


@pytest.fixture(scope="module")
def sc():
    if native.speedups is None:
        pytest.skip(native_reason("_speedups"))
    tables = load_model(None).nb.tables()
    if not hasattr(tables.tokens, "top"):
        pytest.skip("the default model is not a mapped (format 2) file")
    return tables


def _reference(sc, idx, n):
    idx = np.sort(idx)
    weights = sc.log_odds[idx]
    order = np.argsort(-np.abs(weights), kind="stable")[:n]
    return sc.tokens.take(idx[order]), weights[order].tolist()


def test_same_clues_as_numpy_on_random_and_tied_rows(sc):
    rng = np.random.default_rng(0)
    size = len(sc.log_odds)
    lo = sc.log_odds
    # rows whose |weight| ties with other rows' (many tokens share their counts), and opposite signs
    _, first, counts = np.unique(np.abs(lo), return_index=True, return_counts=True)
    tied = np.flatnonzero(np.isin(np.abs(lo), np.abs(lo)[first[counts > 3]]))
    assert len(tied) > 100
    for trial in range(300):
        m = int(rng.integers(0, 400))
        pool = tied if trial % 2 else np.arange(size)
        idx = rng.choice(pool, size=min(m, len(pool)), replace=False).astype(np.int64)
        rng.shuffle(idx)
        for n in (0, 1, 5, 15, 1000):
            got = sc.tokens.top(idx, lo, n)
            assert got is not None
            toks, weights = got
            want_toks, want_w = _reference(sc, idx, n)
            assert toks == want_toks
            assert [w.hex() for w in weights] == [w.hex() for w in want_w]


def test_verdicts_keep_their_clues(sc):
    model = load_model(None)
    from pathlib import Path
    fixtures = sorted(Path(__file__).parent.joinpath("fixtures").rglob("*.eml"))[:60]
    assert fixtures
    for f in fixtures:
        raw = f.read_bytes()
        got = model.score(raw, 15)
        h = []
        feats = model.features(raw, h)
        idx, _, _ = model.nb.clue_rows_sums_h(feats, h, model._meta_mask())
        toks, weights = _reference(sc, np.asarray(idx), 15)
        assert [c.feature for c in got.clues] == toks
        assert [c.weight for c in got.clues] == weights


def test_anything_unusual_gives_none():
    if native.speedups is None:
        pytest.skip(native_reason("_speedups"))
    top = native.speedups.top_clues
    lo = np.array([1.0, -2.0, 0.5])
    blob = np.frombuffer(b"abcdef", dtype=np.uint8)
    off = np.array([0, 2, 4, 6], dtype=np.uint64)
    assert top(np.array([0, 1, 2], np.int64), lo, off, blob, 2) == (["cd", "ab"], [-2.0, 1.0])
    assert top(np.array([3], np.int64), lo, off, blob, 2) is None            # a row past the table
    assert top(np.array([-1], np.int64), lo, off, blob, 2) is None
    bad_off = np.array([0, 2, 9, 6], dtype=np.uint64)                         # an offset past the strings
    assert top(np.array([1], np.int64), lo, bad_off, blob, 1) is None
    assert top(np.array([1], np.int64), lo, np.array([0, 4, 2, 6], np.uint64), blob, 1) is None  # end before start
    not_utf8 = np.frombuffer(b"ab\xff\xfeef", dtype=np.uint8)
    assert top(np.array([1], np.int64), lo, off, not_utf8, 1) is None
    lone = np.frombuffer("ab\ud800ef".encode("utf-8", "surrogatepass"), dtype=np.uint8)
    assert top(np.array([1], np.int64), lo, np.array([0, 2, 5, 7], np.uint64), lone, 1) == (["\ud800"], [-2.0])
    nan = np.array([np.nan, 1.0, -1.0])   # NaN last, as numpy's argsort puts it; ties by row
    assert top(np.array([0, 2, 1], np.int64), nan, off, blob, 3) == (["cd", "ef", "ab"], [1.0, -1.0, pytest.approx(np.nan, nan_ok=True)])
    with pytest.raises(ValueError):
        top(np.array([0], np.int32), lo, off, blob, 1)
