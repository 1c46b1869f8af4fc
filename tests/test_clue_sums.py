"""The compiled statistics helpers (clue_sums, meta_flags) against the Python code.

``model.clue_sums`` and ``calibration.meta_mask`` use ``spamscore._speedups``
when it is built (``spamscore.model.native.speedups``: the model room's
handle, which these tests set to None for the Python code); every sum is
exactly rounded (``math.fsum``), so both ways must agree to the last bit,
whatever the order of the clues.
"""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spamscore import calibration, model, scoring
from spamscore.model import native
from spamscore.scoring import META_PREFIXES, clue_sums, is_meta, meta_mask

from conftest import native_reason

sp = native.speedups
needs_c = pytest.mark.skipif(sp is None, reason=native_reason("_speedups"))
FINITE = st.floats(-1e300, 1e300, width=64)  # (sums of up to 300 never overflow)


def _c_sum(values) -> float | None:
    """The compiled exactly rounded sum of ``values`` (first field of ``clue_sums`` over every row)."""
    a = np.array(values, dtype=np.float64)
    out = sp.clue_sums(np.arange(len(a), dtype=np.int64), a, a, None)
    return None if out is None else out[0]


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(FINITE, st.floats(-60, 0)), max_size=300))
def test_compiled_sum_is_math_fsum(values):
    assert _c_sum(values) == math.fsum(values)


@needs_c
def test_compiled_sum_leaves_non_finite_values_to_python():
    assert _c_sum([1.0, math.inf]) is None
    assert _c_sum([1e308, 1e308]) is None  # overflows on the way
    with pytest.raises(ValueError):
        sp.clue_sums(np.arange(3, dtype=np.int64), np.zeros(3, dtype=np.float32), np.zeros(3, dtype=np.float32), None)


def _both(rows, log_f, log_1mf, meta, monkeypatch):
    c = clue_sums(rows, log_f, log_1mf, meta)
    with monkeypatch.context() as m:
        m.setattr(native, "speedups", None)  # (what every module of spamscore.model reads)
        py = clue_sums(rows, log_f, log_1mf, meta)
    return c, py


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.integers(1, 400), st.integers(0, 2**32 - 1), st.booleans())
def test_clue_sums_equal_the_python_sums_in_any_order(size, seed, with_meta):
    rng = np.random.default_rng(seed)
    f = rng.uniform(1e-9, 1 - 1e-9, size)
    log_f, log_1mf = np.log(f), np.log1p(-f)
    meta = rng.integers(0, 2, size).astype(bool) if with_meta else None
    rows = np.sort(rng.choice(size, rng.integers(0, size + 1), replace=False)).astype(np.int64)
    mp = pytest.MonkeyPatch()
    try:
        c, py = _both(rows, log_f, log_1mf, meta, mp)
        shuffled, _ = _both(rng.permutation(rows), log_f, log_1mf, meta, mp)
    finally:
        mp.undo()
    assert c == py == shuffled
    assert c[2] == len(rows) and c[5] + c[8] == (len(rows) if with_meta else 0)


@needs_c
def test_clue_sums_refuse_bad_arguments():
    lf = np.log(np.full(4, 0.3))
    with pytest.raises(IndexError):
        sp.clue_sums(np.array([0, 4], dtype=np.int64), lf, lf, None)
    with pytest.raises(IndexError):
        sp.clue_sums(np.array([-1], dtype=np.int64), lf, lf, None)
    with pytest.raises(ValueError):
        sp.clue_sums(np.array([0], dtype=np.int64), lf, lf[:3], None)
    with pytest.raises(ValueError):
        sp.clue_sums(np.array([0], dtype=np.int64), lf, lf, np.zeros(3, dtype=bool))
    with pytest.raises(ValueError):
        sp.clue_sums(np.array([0], dtype=np.int32), lf, lf, None)
    assert sp.clue_sums(np.array([0], dtype=np.int64), np.array([math.nan, 0, 0, 0]), lf, None) is None


@needs_c
def test_meta_flags_is_is_meta():
    rng = random.Random(5)
    heads = sorted(META_PREFIXES) + ["subject", "body", "url-", "", "無料", "hdrx"]
    tokens = []
    for _ in range(3000):
        h = rng.choice(heads)
        tokens.append(rng.choice([h, h + ":", h + ":x", h + "::y", "x" + h + ":z", h.upper() + ":a"]))
    rows = np.array(sorted(rng.sample(range(len(tokens)), 1000)), dtype=np.int64)
    want = [is_meta(tokens[r]) for r in rows.tolist()]
    assert meta_mask(tokens, rows).tolist() == want
    assert meta_mask(tokens).tolist() == [is_meta(t) for t in tokens]
    with pytest.raises(IndexError):
        sp.meta_flags(tokens, np.array([len(tokens)], dtype=np.int64), META_PREFIXES)
    with pytest.raises(TypeError):
        sp.meta_flags(["a:b", 3], np.array([1], dtype=np.int64), META_PREFIXES)


@needs_c
def test_meta_flags_survives_a_prefix_that_empties_the_token_list():
    """A frozenset subclass's str-subclass element whose __eq__ clears the token list ran a use after free
    (segfault: found by the C/Cython/Rust comparison of issue 15); the helper now reads a snapshot.  In a
    child process, so that a crash fails this test and not the suite."""
    code = """
import numpy as np
from spamscore import _native
sp = _native.load("_speedups")
tokens = ["from:x" + str(i) for i in range(2000)]
class Evil(str):
    def __hash__(self):
        return hash(str(self))
    def __eq__(self, other):
        tokens.clear()
        return str.__eq__(self, other)
class Prefixes(frozenset):
    pass
out = sp.meta_flags(tokens, np.arange(2000, dtype=np.int64), Prefixes({Evil("from")}))
print(len(out), tokens == [])
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert done.stdout.split() == ["2000", "True"]


def test_statistics_are_the_same_without_the_extension(monkeypatch):
    """The whole scoring path, compiled or not: the same probabilities to the last bit."""
    from conftest import fixture_bytes
    from spamscore import load_model
    from spamscore.features import tokens, urls

    raws = [fixture_bytes(n) for n in ("multipart_spam.eml", "plain_ham.eml", "html_images.eml")]
    m = load_model()
    want = [m.score(r).probability for r in raws]
    for mod in (native, model, calibration, scoring, tokens, urls):  # every handle on the compiled module
        for name, value in list(vars(mod).items()):
            if sp is not None and value is sp:
                monkeypatch.setattr(mod, name, None)
    assert native.speedups is None
    m2 = load_model()
    assert [m2.score(r).probability for r in raws] == want


class _Str(str):
    """A str subclass: lookup must copy the document before hashing it (its hash is Python code)."""

    def __hash__(self):
        return str.__hash__(self)


def _small_model():
    rnd = random.Random(5)
    words = [f"w{i}" for i in range(400)]
    y = [i % 2 for i in range(300)]
    # spam draws most words from the first half, ham from the second: many strong clues
    docs = [rnd.sample(words[:200] if label else words[200:], 30) + rnd.sample(words, 10) for label in y]
    nb = model.TokenNB(max_clues=25).fit(docs, y)
    assert len(nb._get_scorer().log_f) > 30  # (else the tests below would compare empty lookups)
    return nb, words


@needs_c
@pytest.mark.parametrize("max_clues", [0, 1, 25, 1000])
def test_lookup_sums_is_lookup_then_clue_sums(max_clues):
    """The fused scoring call gives the rows and the bits of the two calls apart, capped or not."""
    nb, words = _small_model()
    nb.max_clues = max_clues
    sc = nb._get_scorer()
    rnd = random.Random(9)
    meta = (np.arange(len(sc.log_f)) % 2).astype(bool)
    for n in (0, 1, 5, 60, 400):
        doc = rnd.sample(words, n) + ["not-a-token"] * 3 + words[:2]
        for d in (doc, tuple(doc), [_Str(w) for w in doc], iter(doc)):
            for m in (None, meta):
                rows, sums = nb.clue_rows_sums(d if not hasattr(d, "__next__") else iter(doc), m)
                want = nb.clue_rows(doc)
                assert rows.tolist() == want.tolist()
                assert len(want) <= max_clues and (len(want) > 0 or max_clues == 0 or n < 60)
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(native, "speedups", None)
                    assert sums == clue_sums(want, sc.log_f, sc.log_1mf, m)
                    assert nb.clue_rows_sums(doc, m)[0].tolist() == want.tolist()


@needs_c
def test_lookup_sums_refuses_bad_tables():
    nb, _ = _small_model()
    sc = nb._get_scorer()
    idx = sc.index
    with pytest.raises(ValueError):
        sp.lookup_sums(["w1"], idx.keys, idx.rows, sc.log_f.astype(np.float32), sc.log_1mf, None, 10)
    with pytest.raises(ValueError):
        sp.lookup_sums(["w1"], idx.keys, idx.rows, sc.log_f, sc.log_1mf[:-1], None, 10)
    with pytest.raises(TypeError):  # an unhashable item: the error of hash()
        sp.lookup_sums(["w1", ["w2"]], idx.keys, idx.rows, sc.log_f, sc.log_1mf, None, 10)


@needs_c
def test_the_bloom_filter_only_skips_tokens_not_in_the_table():
    """lookup_sums with the index's Bloom filter finds the same rows as a probe of every token."""
    nb, words = _small_model()
    sc = nb._get_scorer()
    idx = sc.index
    assert idx.bloom is not None and idx.bloom.any()
    doc = words + [f"absent{i}" for i in range(5000)]
    with_filter = sp.lookup_sums(doc, idx.keys, idx.rows, sc.log_f, sc.log_1mf, None, 10**6, idx.bloom)
    without = sp.lookup_sums(doc, idx.keys, idx.rows, sc.log_f, sc.log_1mf, None, 10**6)
    strong_words = set(sc.tokens[i] for i in range(len(sc.tokens))) & set(words)
    assert with_filter == without and len(with_filter[0]) == 8 * len(strong_words) > 0  # every strong word found
    # a filter with no bit set rules every token out: it is consulted
    empty = np.zeros_like(idx.bloom)
    assert sp.lookup_sums(doc, idx.keys, idx.rows, sc.log_f, sc.log_1mf, None, 10, empty)[0] == b""
    with pytest.raises(ValueError):
        sp.lookup_sums(doc, idx.keys, idx.rows, sc.log_f, sc.log_1mf, None, 10, idx.bloom[:-1])
    with pytest.raises(ValueError):
        sp.bloom(np.zeros(3, dtype=np.int64), np.zeros(7, dtype=np.uint64))
