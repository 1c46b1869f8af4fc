"""The cross-validation statistics of training in one compiled call a fold (``_speedups.fold_sums``) and numpy
(``statistics_from_sums_many``): the bits of the per-message reference (``folds.fold_evidence_reference``:
``cap_clues``, ``clue_sums``, ``statistics_from_sums``), ties at the cap included."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spamscore import _native, folds
from spamscore.calibration import statistics_from_sums, statistics_from_sums_many
from spamscore.folds import FoldCounts, FoldModels, fold_evidence, fold_evidence_reference
from spamscore.model import cap_clues, clue_sums, fisher_statistics, native, robinson_s
from spamscore.model.stats import fisher_statistics_many, robinson_s_many
from spamscore.model.priors import DEFAULT_PRIORS

sp = folds._speedups
needs_c = pytest.mark.skipif(getattr(sp, "fold_sums", None) is None,
                             reason=_native.STATUS.get("_speedups", "no fold_sums"))


def _bits(a) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


# ----------------------------------------------------------------------------
# fold_sums against cap_clues + clue_sums, message by message


def _reference_sums(rows, which, strong, log_odds, log_f, log_1mf, meta, max_clues):
    out = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(native, "speedups", None)   # math.fsum: the Python reference of the sums
        for i in which:
            r = np.asarray(rows[i], dtype=np.int64)
            r = cap_clues(np.sort(r[strong[r]]), log_odds, max_clues)
            out.append(clue_sums(r, log_f, log_1mf, meta))
    return np.array(out, dtype=np.float64).reshape(-1, 9)


def _fold_sums(rows, which, strong, log_odds, log_f, log_1mf, meta, max_clues, dtype=np.int64):
    rows = [np.asarray(r, dtype=dtype if isinstance(dtype, type) else dtype[i % 2]) for i, r in enumerate(rows)]
    which = np.asarray(which, dtype=np.int64)
    out = np.full((len(which), 9), np.nan)
    bad = np.full(len(which), 7, dtype=np.uint8)
    sp.fold_sums(rows, which, strong, log_odds, log_f, log_1mf, meta, max_clues, out, bad)
    return out, bad


# few distinct log-odds of both signs: many rows tie on |log-odds|, some on the log-odds itself, and each row
# has its own ln f, ln(1 - f) and meta flag, so which row the cap keeps changes the sums
_tables = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from([-3.0, -2.0, -0.5, 0.5, 2.0, 3.0, 1.25]), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n),   # strong
    st.lists(st.booleans(), min_size=n, max_size=n),   # meta
    st.lists(st.floats(-25.0, -1e-9), min_size=n, max_size=n),
    st.lists(st.floats(-25.0, -1e-9), min_size=n, max_size=n),
    st.lists(st.lists(st.integers(0, n - 1), max_size=3 * n), max_size=12),   # the messages' rows
))


@needs_c
@settings(max_examples=300, deadline=None)
@given(_tables, st.integers(0, 12), st.sampled_from([np.int32, np.int64, (np.int32, np.int64)]), st.booleans(),
       st.randoms(use_true_random=False))
def test_fold_sums_is_cap_clues_then_clue_sums(tables, max_clues, dtype, with_meta, rnd):
    lo, strong, meta, lf, l1, msgs = tables
    lo, lf, l1 = (np.array(v, dtype=np.float64) for v in (lo, lf, l1))
    strong, meta = np.array(strong, dtype=bool), np.array(meta, dtype=bool) if with_meta else None
    msgs = [sorted(set(m)) if rnd.random() < 0.7 else m for m in msgs]   # distinct rows (doc_rows'), or not
    which = [i for i in range(len(msgs)) if rnd.random() < 0.8] + ([0] if msgs and rnd.random() < 0.3 else [])
    rnd.shuffle(which)
    got, bad = _fold_sums(msgs, which, strong, lo, lf, l1, meta, max_clues, dtype)
    want = _reference_sums(msgs, which, strong, lo, lf, l1, meta, max_clues)
    assert not bad.any()
    assert _bits(got) == _bits(want)


@needs_c
def test_the_cap_breaks_ties_as_cap_clues_does():
    """|log-odds| descending, then the log-odds ascending, then the row: each rule decides here."""
    lo = np.array([2.0, -2.0, 2.0, -2.0, 1.0, 3.0])
    lf = np.array([-1.0, -2.0, -4.0, -8.0, -16.0, -32.0])
    l1 = lf / 3
    meta = np.array([0, 1, 0, 1, 1, 0], dtype=bool)
    strong = np.ones(6, dtype=bool)
    msgs = [[0, 1, 2, 3, 4, 5], [0, 2, 4], [2, 0, 5, 3]]
    for max_clues in range(7):
        got, _ = _fold_sums(msgs, [0, 1, 2], strong, lo, lf, l1, meta, max_clues)
        assert _bits(got) == _bits(_reference_sums(msgs, [0, 1, 2], strong, lo, lf, l1, meta, max_clues))
    got, _ = _fold_sums(msgs, [0], strong, lo, lf, l1, meta, 3)
    assert got[0, 0] == -32.0 - 2.0 - 8.0   # rows 5 (|3|), then 1 and 3 (-2 before 2, lower row first)


@needs_c
def test_non_finite_clues_are_left_to_python():
    lo = np.array([3.0, -3.0, 2.0])
    lf = np.array([-1.0, -math.inf, -2.0])
    got, bad = _fold_sums([[0, 1], [0, 2], [1], []], [0, 1, 2, 3], np.ones(3, bool), lo, lf, lf, None, 5)
    assert bad.tolist() == [1, 0, 1, 0]
    assert got[1].tolist() == [-3.0, -3.0, 2, 0, 0, 0, 0, 0, 0] and not got[[0, 2, 3]].any()
    # a NaN log-odds of a row that is no clue is never read
    got, bad = _fold_sums([[0, 2]], [0], np.array([1, 0, 1], bool), np.array([3.0, math.nan, 2.0]), lf, lf, None, 1)
    assert not bad.any() and got[0, :3].tolist() == [-1.0, -1.0, 1]
    # a clue's NaN log-odds matters only where the cap reads it (more clues than max_clues)
    lo = np.array([3.0, math.nan, 2.0])
    lf = np.array([-1.0, -2.0, -4.0])
    for max_clues, want_bad in ((3, 0), (2, 1)):
        got, bad = _fold_sums([[0, 1, 2]], [0], np.ones(3, bool), lo, lf, lf, None, max_clues)
        assert bad.tolist() == [want_bad]
        if not want_bad:
            assert _bits(got) == _bits(_reference_sums([[0, 1, 2]], [0], np.ones(3, bool), lo, lf, lf, None, 3))


@needs_c
def test_fold_sums_refuses_what_is_out_of_range():
    V = 4
    tables = np.ones(V, bool), np.ones(V), -np.ones(V), -np.ones(V), np.zeros(V, bool)

    def call(rows, which, *, tables=tables, max_clues=3, out=None, bad=None, dtype=np.int64):
        rows = [np.asarray(r, dtype) for r in rows]
        which = np.asarray(which, np.int64)
        out = np.zeros((len(which), 9)) if out is None else out
        bad = np.zeros(len(which), np.uint8) if bad is None else bad
        return sp.fold_sums(rows, which, *tables[:4], tables[4], max_clues, out, bad)

    assert call([[0, 3], [1]], [0, 1]) is None
    for rows in ([[0, 4], [1]], [[0, -1], [1]]):   # a row outside the tables
        for dtype in (np.int32, np.int64):
            with pytest.raises(ValueError, match="row"):
                call(rows, [1, 0], dtype=dtype)
    assert call([[0, 4], [1]], [1]) is None   # (only the messages asked for are read)
    with pytest.raises(ValueError):
        call([[0, 1], [2]], [2])          # no message 2
    with pytest.raises(ValueError):
        call([[0, 1], [2]], [-1])
    with pytest.raises(ValueError):
        call([[0, 1, 2]], [0], max_clues=-1)
    with pytest.raises(ValueError):
        call([[0, 1, 2]], [0], out=np.zeros(8))
    with pytest.raises(ValueError):
        call([[0, 1, 2]], [0], bad=np.zeros(2, np.uint8))
    for dtype in (np.float64, np.int16, np.uint8):
        with pytest.raises(ValueError):
            call([[0, 1, 2]], [0], dtype=dtype)
    with pytest.raises(ValueError):
        call([[0, 1, 2]], [0], tables=(np.ones(V - 1, bool), *tables[1:]))
    with pytest.raises(ValueError):
        call([[0, 1, 2]], [0], tables=(tables[0], np.ones(V, np.float32), *tables[2:]))
    with pytest.raises(ValueError):
        call([[0, 1, 2]], [0], tables=(*tables[:4], np.zeros(V - 1, bool)))
    with pytest.raises((TypeError, ValueError), match="read-only"):   # a read-only out
        call([[0, 1, 2]], [0], out=np.frombuffer(bytes(72), dtype=np.float64))
    with pytest.raises(TypeError):   # rows not a list, or a message not a buffer
        sp.fold_sums((np.zeros(1, np.int64),), np.zeros(1, np.int64), *tables[:4], tables[4], 3, np.zeros(9),
                     np.zeros(1, np.uint8))
    with pytest.raises(TypeError):
        sp.fold_sums([[0]], np.zeros(1, np.int64), *tables[:4], tables[4], 3, np.zeros(9), np.zeros(1, np.uint8))
    with pytest.raises(ValueError):   # a non-contiguous message
        sp.fold_sums([np.arange(4, dtype=np.int64)[::2]], np.zeros(1, np.int64), *tables[:4], tables[4], 3,
                     np.zeros(9), np.zeros(1, np.uint8))


# ----------------------------------------------------------------------------
# the statistics of many messages against the scalar functions


def _scalar_statistics(sums, pseudo, fisher, families, overall):
    return np.array([statistics_from_sums((s[0], s[1], int(s[2]), s[3], s[4], int(s[5]), s[6], s[7], int(s[8])),
                                          pseudo, fisher, families, overall) for s in sums]).reshape(-1, 5)


_count = st.integers(0, 1500)
_sum = st.one_of(st.floats(-40000.0, 0.0), st.floats(-30.0, 0.0), st.sampled_from([0.0, -0.0, -1e-300]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_sum, _sum, _count, _sum, _sum, _count, _sum, _sum, _count), max_size=20),
       st.sampled_from([0.0, 10.0, 3]), st.booleans(), st.booleans(), st.sampled_from([0.0, 10.0, 1]))
def test_statistics_of_many_are_the_scalar_bits(sums, pseudo, fisher, families, overall):
    """Underflowing tails (the series in log space), no clues, families without clues, m = 0 included."""
    sums = np.array(sums, dtype=np.float64).reshape(-1, 9)
    got = statistics_from_sums_many(sums, pseudo, fisher, families, overall)
    assert _bits(got) == _bits(_scalar_statistics(sums, pseudo, fisher, families, overall))


def test_fisher_and_robinson_of_many_cover_both_tails():
    rng = np.random.default_rng(3)
    k = rng.integers(1, 1200, 4000).astype(np.float64)
    slf = -k * rng.choice([0.001, 0.05, 0.7, 3.0, 20.0], len(k)) * rng.random(len(k))
    sl1 = -k * rng.choice([0.001, 0.05, 0.7, 3.0, 20.0], len(k)) * rng.random(len(k))
    logit, z = fisher_statistics_many(slf, sl1, k)
    want = np.array([fisher_statistics(a, b, int(c)) for a, b, c in zip(slf.tolist(), sl1.tolist(), k.tolist())])
    assert _bits(logit) == _bits(want[:, 0]) and _bits(z) == _bits(want[:, 1])
    assert (np.abs(z) == 1000.0).any() and (np.abs(z) < 1000.0).any()   # (both sides of the clip were taken)
    s = robinson_s_many(slf, sl1, k)
    assert _bits(s) == _bits([robinson_s(a, b, int(c)) for a, b, c in zip(slf.tolist(), sl1.tolist(), k.tolist())])


# ----------------------------------------------------------------------------
# a fold's evidence and the statistics of every fold, compiled and not


def _counts(seed: int, n_tokens: int = 300, folds_: int = 5):
    rng = np.random.default_rng(seed)
    vocab = {t: i for i, t in enumerate(list(DEFAULT_PRIORS) + [f"hdr:w{i}" if i % 3 == 0 else f"w{i}"
                                                                 for i in range(n_tokens)])}
    V = len(vocab)
    # few distinct counts: many tokens share f (ties at the cap), and their meta flags differ
    spam = rng.choice([0, 0, 1, 2, 5, 30], size=(V, folds_)).astype(np.int32)
    ham = rng.choice([0, 0, 1, 2, 5, 30], size=(V, folds_)).astype(np.int32)
    counts = FoldCounts(vocab, spam, ham, np.full(folds_, 40, np.int64), np.full(folds_, 50, np.int64))
    n_docs = 120
    rows = [np.sort(rng.choice(V, size=int(rng.integers(0, min(V, 250))), replace=False)).astype(np.int32)
            for _ in range(n_docs)]
    rows[0] = rows[0][:0]   # no rows
    rows[1] = np.array([0, 1], np.int32)   # (two priors)
    return counts, rows, rng.integers(0, folds_, n_docs)


@needs_c
@pytest.mark.parametrize("max_clues", [0, 1, 7, 40, 1000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fold_evidence_is_the_reference(seed, max_clues):
    counts, rows, fold_of = _counts(seed)
    models = FoldModels(counts, {"max_clues": max_clues})
    for k in range(counts.folds):
        nb = models.model(k)
        which = np.flatnonzero(fold_of == k)
        got = fold_evidence(nb, rows, which, models.meta)
        assert _bits(got) == _bits(fold_evidence_reference(nb, rows, which, models.meta))
    n_clues = [int(models.model(0).strong_mask(models.model(0).token_probabilities())[r].sum()) for r in rows]
    assert min(n_clues) == 0 and (max_clues == 1000 or max(n_clues) > max_clues)


@needs_c
def test_statistics_are_those_without_the_core(monkeypatch):
    counts, rows, fold_of = _counts(5)
    got = FoldModels(counts, {"max_clues": 30}).statistics(rows, fold_of)
    whole = FoldModels(counts).whole()
    monkeypatch.setattr(folds, "_speedups", None)
    monkeypatch.setattr(native, "speedups", None)
    assert _bits(got) == _bits(FoldModels(counts, {"max_clues": 30}).statistics(rows, fold_of))
    ref = counts.model()   # (the totals summed here, not cached)
    assert np.array_equal(whole.spam_counts_, ref.spam_counts_) and np.array_equal(whole.ham_counts_, ref.ham_counts_)
    assert (whole.n_spam_, whole.n_ham_) == (ref.n_spam_, ref.n_ham_) == (200, 250)


@needs_c
def test_a_non_finite_clue_goes_through_the_reference(monkeypatch):
    counts, rows, fold_of = _counts(7)
    models = FoldModels(counts, {"max_clues": 50})
    nb = models.model(0)
    strong = nb.strong_mask(nb.token_probabilities())
    victim = int(np.flatnonzero(strong)[0])
    real = folds.clue_tables

    def poisoned(f):
        log_f, log_1mf, log_odds = real(f)
        log_f = log_f.copy()
        log_f[victim] = -math.inf
        return log_f, log_1mf, log_odds

    monkeypatch.setattr(folds, "clue_tables", poisoned)
    which = np.arange(len(rows))
    with np.errstate(invalid="ignore"):   # (the reference's series of an infinite sum)
        got = fold_evidence(nb, rows, which, models.meta)
        want = fold_evidence_reference(nb, rows, which, models.meta)
    np.testing.assert_array_equal(got, want)
    assert any(victim in r for r in rows)


# ----------------------------------------------------------------------------
# the sums of all clues from the two families' partials (sums.c's ss_sums9)

_TRICKY = st.sampled_from([1.0, -1.0, 2.0 ** -53, -(2.0 ** -53), 2.0 ** -54, 3 * 2.0 ** -54, 1e16, -1e16, 1e-300,
                           0.1, -0.7, 2.0 ** 52 + 1, -1.5, 2.0 ** -1074])
_VALUE = st.one_of(st.floats(-1e300, 1e300, width=64), st.floats(-60, 0), _TRICKY)


@needs_c
@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(_VALUE, _VALUE, st.booleans()), max_size=60))
def test_the_sums_of_all_clues_are_math_fsum_of_both_families(clues):
    """With meta flags the sums of all clues are merged from the families' partials: still math.fsum's bits
    (half-even ties and values cancelling across the families included)."""
    lf = np.array([c[0] for c in clues], dtype=np.float64)
    l1 = np.array([c[1] for c in clues], dtype=np.float64)
    meta = np.array([c[2] for c in clues], dtype=bool)
    got = sp.clue_sums(np.arange(len(clues), dtype=np.int64), lf, l1, meta)
    fsum = math.fsum
    text, m = [not c[2] for c in clues], [c[2] for c in clues]
    want = (fsum(lf), fsum(l1), len(clues), fsum(lf[text]), fsum(l1[text]), sum(text),
            fsum(lf[m]), fsum(l1[m]), sum(m))
    assert got is not None and _bits(got) == _bits(want)


def test_cjk_flags_are_the_generators():
    from spamscore.model.priors import _CJK_CHAR, cjk_flags

    tokens = ["w1", "日本語", "ｶﾀｶﾅ", "caf\u00e9", "\U0001f600x", "\ud800lone", "", "hdr:한국", "ascii", "中"] * 3
    want = [not t.isascii() and _CJK_CHAR.search(t) is not None for t in tokens]
    assert want.count(True) == 9
    assert cjk_flags(tokens).tolist() == want
    assert cjk_flags(tuple(tokens)).tolist() == want and cjk_flags(iter(tokens)).tolist() == want
    assert cjk_flags([]).tolist() == []


@needs_c
def test_threads_give_the_same_bits_and_raise_the_errors():
    counts, rows, fold_of = _counts(11)
    rows = rows * 20   # (enough messages for 3 parts)
    fold_of = np.tile(fold_of, 20)
    models = FoldModels(counts, {"max_clues": 20})
    one = models.statistics(rows, fold_of)
    for threads in (2, 3):
        assert _bits(models.statistics(rows, fold_of, threads=threads)) == _bits(one)
    broken = list(rows)
    broken[-1] = np.array([len(counts.vocab)], dtype=np.int32)   # a row past the tables, in the last part
    with pytest.raises(ValueError, match="row"):
        fold_evidence(models.model(0), broken, np.arange(len(broken)), models.meta, threads=3)


@needs_c
@settings(max_examples=2000, deadline=None)
@given(st.lists(st.tuples(_VALUE, _VALUE, st.booleans()), max_size=60), st.booleans())
def test_fold_sums_fixed_point_sums_are_math_fsum(clues, with_meta):
    """fold_sums' exact sums in fixed point (foldsums.c's accumulator, rounded once, half-even): math.fsum's
    bits, for values of any size and sign, ties, cancellations to 0 and subnormal results included."""
    lf = np.array([c[0] for c in clues], dtype=np.float64)
    l1 = np.array([c[1] for c in clues], dtype=np.float64)
    meta = np.array([c[2] for c in clues], dtype=bool)
    got, bad = _fold_sums([list(range(len(clues)))], [0], np.ones(len(clues), bool), np.ones(len(clues)), lf, l1,
                          meta if with_meta else None, len(clues))
    fsum = math.fsum
    if with_meta:
        text, m = [not c[2] for c in clues], [c[2] for c in clues]
        want = (fsum(lf), fsum(l1), len(clues), fsum(lf[text]), fsum(l1[text]), sum(text),
                fsum(lf[m]), fsum(l1[m]), sum(m))
    else:
        want = (fsum(lf), fsum(l1), len(clues), 0.0, 0.0, 0, 0.0, 0.0, 0)
    assert not bad.any() and _bits(got[0]) == _bits(want)


@needs_c
def test_fold_sums_fixed_point_edges():
    tiny, big = 2.0 ** -1074, 1.7976931348623157e308
    cases = [[1.0, 2.0 ** -53], [1.0, 2.0 ** -53, 2.0 ** -105], [1.0 + 2.0 ** -52, 2.0 ** -53], [-1.0, -(2.0 ** -53)],
             [1.0, -1.0], [tiny, tiny], [2.0 ** -1022, -tiny], [big, -big, 1.0], [big, big * 2 ** -54],
             [0.1] * 10, [-0.0], [-0.0, 0.0], [], [1e308, -1e308, 1e308], [3.0, -(2.0 ** 60), 2.0 ** 60],
             [2.0 ** 1000, -(2.0 ** -1000)], [-(2.0 ** 1000), 2.0 ** -1000, 2.0 ** -1074]]
    for values in cases:
        v = np.array(values, dtype=np.float64)
        got, bad = _fold_sums([list(range(len(v)))], [0], np.ones(len(v), bool), np.ones(len(v)), v, -v, None, 99)
        assert not bad.any() and _bits(got[0, :2]) == _bits([math.fsum(v), math.fsum(-v)]), values


@needs_c
@pytest.mark.parametrize("seed", range(4))
def test_the_cap_of_long_messages(seed):
    """Messages of thousands of clues cut to hundreds (the selection of the strongest, ties everywhere)."""
    rng = np.random.default_rng(seed)
    V = 5000
    lo = rng.choice([-4.0, -3.0, -1.0, 1.0, 3.0, 4.0], V) * (1 + (rng.random(V) < 0.3))
    lf, l1 = -rng.random(V) * 20, -rng.random(V) * 20
    meta, strong = rng.random(V) < 0.5, rng.random(V) < 0.9
    msgs = [np.sort(rng.choice(V, int(rng.integers(0, V)), replace=False)) for _ in range(12)]
    for max_clues in (1, 2, 999, 1000, 3000):
        got, bad = _fold_sums(msgs, range(12), strong, lo, lf, l1, meta, max_clues)
        assert not bad.any()
        assert _bits(got) == _bits(_reference_sums(msgs, range(12), strong, lo, lf, l1, meta, max_clues))


@pytest.mark.parametrize("params", [{}, {"cjk_s": None}, {"young": None}, {"priors": {}}, {"cjk_s": 0.05},
                                    {"x": 0.4, "s": 2.5, "priors": {"w3": (0.9, 1.0), "日本": (0.2, 7)}}])
def test_token_probabilities_of_every_row_are_those_of_the_rows(params):
    """The in-place f(w) of the whole vocabulary: the bits of the code that computes given rows."""
    counts, _, _ = _counts(3)
    vocab = dict(counts.vocab)
    for t in ("日本", "中文x", "w3"):
        vocab.setdefault(t, len(vocab))
    rng = np.random.default_rng(1)
    spam = rng.choice([0, 0, 1, 3, 50], len(vocab))
    ham = rng.choice([0, 0, 1, 2, 70], len(vocab))
    from spamscore.model import TokenNB

    for n_spam, n_ham in ((40, 50), (0, 7), (0, 0)):
        nb = TokenNB.from_counts(vocab, spam if n_spam else spam * 0, ham, n_spam, n_ham, **params)
        whole = nb.token_probabilities()
        assert _bits(whole) == _bits(nb.token_probabilities(np.arange(len(vocab))))
        assert whole.shape == (len(vocab),)
