"""Body words by hash on the scoring path (_bodyscan.word_hashes, _speedups.lookup_sums_h).

``Model.score`` gives the lookup the body words as the token hash of each
(SipHash-1-3 of the UTF-8 under a fixed key: ``spamscore/native/core.h``, whose
reference is ``spamscore._native.token_hash``), without making the str, when
both helpers are built; the dense clue table is keyed by the same hash.  These
tests check the C hash against the reference (and the reference against
CPython's own SipHash-1-3), that the hashes are those of the tokens ``words``
gives, that the lookup by hash finds the rows, sums and feature count of the
lookup by str, and that a verdict is the same either way.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spamscore import model as M
from spamscore._native import token_hash as H
from spamscore.features import extract
from spamscore.features import tokens as T
from spamscore.message import parse

import equivalence as eq
from conftest import FIXTURES, fixture_bytes, make_message, native_reason
from test_bodyscan import ANY_TEXT, ASCII_TEXT, LATIN1_TEXT, PREFIXES

pytestmark = pytest.mark.skipif(T._bodyscan is None or M._speedups is None,
                                reason=native_reason("_bodyscan", "_speedups"))
PUNCT = T._PUNCT
PAIR = st.sampled_from([None, "", "bi:", "é "])


def hashes_of(b: bytes) -> list[int]:
    return np.frombuffer(b, dtype=np.int64).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=20))
def test_the_c_hash_is_the_reference(strs):
    strs = strs + [s.upper() + "\udc80" for s in strs[:3]]  # lone surrogates too
    assert hashes_of(M._speedups.token_hashes(strs)) == [H(s) for s in strs]


def test_token_hashes_rejects_what_is_not_str():
    with pytest.raises(TypeError):
        M._speedups.token_hashes([b"bytes"])
    with pytest.raises(TypeError):
        M._speedups.token_hashes(3)
    assert M._speedups.token_hashes([]) == b""


def test_token_hashes_of_rows():
    strs = ["free", "héllo", "€uro", "x" * 20, ""]
    rows = np.array([4, 0, 0, 2], dtype=np.int64)
    assert hashes_of(M._speedups.token_hashes(strs, rows)) == [H(strs[i]) for i in rows]
    assert M._speedups.token_hashes(strs, np.zeros(0, dtype=np.int64)) == b""
    with pytest.raises(IndexError):
        M._speedups.token_hashes(strs, np.array([5], dtype=np.int64))
    with pytest.raises(IndexError):
        M._speedups.token_hashes(strs, np.array([-1], dtype=np.int64))
    with pytest.raises(ValueError):
        M._speedups.token_hashes(strs, np.array([1], dtype=np.int32))
    with pytest.raises(ValueError):
        M._speedups.token_hashes(strs, np.array([1.0]))


def test_the_import_time_check_passed():
    assert T._WORD_HASHES is True


@settings(max_examples=400, deadline=None)
@given(st.one_of(ASCII_TEXT, LATIN1_TEXT, ANY_TEXT), PREFIXES, PAIR, st.integers(0, 40))
def test_word_hashes_are_the_hashes_of_the_words(text, prefix, pair, max_pair_words):
    if not prefix.isascii() or (pair is not None and not pair.isascii()):
        # (both decline a non-ASCII prefix: the Python code takes it)
        assert T._bodyscan.word_hashes(text, prefix, PUNCT, pair, max_pair_words) is None
        return
    got = T._bodyscan.word_hashes(text, prefix, PUNCT, pair, max_pair_words)
    want = T._bodyscan.words(text, prefix, PUNCT, pair, max_pair_words)
    if want is None:
        assert got is None
        return
    assert set(hashes_of(got)) == {H(t) for t in want}
    assert len(set(hashes_of(got))) == len(want)
    # a hash repeats only where several words give one skip token
    repeated = {h for h, c in Counter(hashes_of(got)).items() if c > 1}
    assert repeated <= {H(t) for t in want if t.startswith(prefix + "skip:")}


def test_known_hashes_of_one_and_two_byte_tokens():
    text = "Hello wörld “quoted” €uro supercalifragilisticexpialidocious"
    got = set(hashes_of(T._bodyscan.word_hashes(text, "", PUNCT, "", 10)))
    for tok in ["hello", "wörld", "“quoted”", "€uro", "hello wörld", "wörld “quoted”", "skip:s 30"]:
        assert H(tok) in got, tok
    assert H("Hello") not in got
    # words that strip to one token give it once; only skip tokens may repeat
    once = hashes_of(T._bodyscan.word_hashes("free free. (free) free!", "", PUNCT, None, 10))
    assert once == [H("free")]
    skips = hashes_of(T._bodyscan.word_hashes("abcdefghijklmnop abcdefghijklmnoq", "", PUNCT, None, 10))
    assert set(skips) == {H("skip:a 10")}
    assert T._bodyscan.word_hashes("", "", PUNCT, None, 10) == b""
    assert T._bodyscan.word_hashes("無料 です", "", PUNCT, None, 10) is None  # CJK: the Python code


def test_words_into_puts_the_words_there(monkeypatch):
    into: list[bytes] = []
    assert T.words("free money now", into=into) == set()
    assert set(hashes_of(into[0])) == {H("free"), H("money"), H("now")}
    # without the compiled words (or a text they decline) the set holds them
    into = []
    assert T.words("無料 free", into=into) == T.words("無料 free")
    assert into == []
    monkeypatch.setattr(T, "_WORD_HASHES", False)
    assert T.words("free money", into=into) == {"free", "money"} and into == []


@pytest.fixture(scope="module")
def nb(small_model):
    assert small_model.nb.takes_hashes()
    return small_model.nb


def test_lookup_by_hash_equals_lookup_by_str(nb):
    rng = random.Random(7)
    vocab = list(nb._token_list())
    sc = nb._get_scorer()
    meta = np.zeros(len(sc.log_f), dtype=np.uint8)
    meta[::3] = 1
    for trial in range(300):
        toks = rng.sample(vocab, rng.randrange(0, min(60, len(vocab))))
        toks += [f"unknown{rng.random()}" for _ in range(rng.randrange(5))]
        rng.shuffle(toks)
        cut = rng.randrange(len(toks) + 1)
        doc, by_hash = toks[:cut], toks[cut:]
        # overlap and repeats: a token may be in both, or twice among the hashes
        if doc and rng.random() < 0.5:
            by_hash.append(rng.choice(doc))
        if by_hash and rng.random() < 0.5:
            by_hash.append(by_hash[0])
        chunks = [np.array([H(t) for t in by_hash[i::2]], dtype=np.int64).tobytes() for i in range(2)]
        union = sorted(set(doc) | set(by_hash))
        for m in (meta, None):
            rows, sums = nb.clue_rows_sums(union, m)
            rows_h, sums_h, n = nb.clue_rows_sums_h(doc, chunks, m)
            assert rows.tolist() == rows_h.tolist()
            assert sums == sums_h
            assert n == len(union)


def test_lookup_by_hash_rejects_bad_input(nb):
    sc = nb._get_scorer()
    look = M._speedups.lookup_sums_h
    assert look([], [], sc.dense, None, 15, sc.dense_bloom)[2] == 0
    with pytest.raises(TypeError):
        look([], [b"1234567"], sc.dense, None, 15, sc.dense_bloom)
    with pytest.raises(TypeError):
        look([], ["not bytes"], sc.dense, None, 15, sc.dense_bloom)
    with pytest.raises(TypeError):
        look([], (b"",), sc.dense, None, 15, sc.dense_bloom)
    with pytest.raises(ValueError):
        look([], [], sc.dense[:-4], None, 15, sc.dense_bloom)  # not a power of two of entries
    with pytest.raises(ValueError):
        look([], [], sc.dense, None, 15, sc.dense_bloom[:-1])
    with pytest.raises(IndexError):  # a meta table shorter than the rows
        look(list(nb._token_list()), [], sc.dense, np.zeros(1, dtype=np.uint8), 10**9, None)


def test_dense_table_holds_every_clue_once(nb):
    sc = nb._get_scorer()
    e = sc.dense.reshape(-1, 4)
    used = e[:, 0] != -1
    assert used.sum() == len(sc.log_f) and len(e) >= 2 * len(sc.log_f)
    rows = e[used, 1]
    assert sorted(rows.tolist()) == list(range(len(sc.log_f)))
    lf = e[used, 2].view(np.float64)
    l1 = e[used, 3].view(np.float64)
    assert (lf == sc.log_f[rows]).all() and (l1 == sc.log_1mf[rows]).all()
    with pytest.raises(ValueError):  # too small a table
        M._speedups.build_dense(np.zeros(10, dtype=np.int64), np.zeros(10), np.zeros(10), np.empty(16 * 4, np.int64))
    with pytest.raises(ValueError):  # one value per hash
        M._speedups.build_dense(np.zeros(3, dtype=np.int64), np.zeros(4), np.zeros(4), np.empty(16 * 4, np.int64))


def test_many_features_by_hash(nb):
    # more than the 1,024-slot table on the stack, and more than max_clues found
    vocab = list(nb._token_list())
    hs = np.array([H(t) for t in vocab] + [H(f"x{i}") for i in range(3000)], dtype=np.int64)
    rows, sums, n = nb.clue_rows_sums_h([], [hs.tobytes(), hs[:100].tobytes()], None)
    want_rows, want_sums = nb.clue_rows_sums(vocab + [f"x{i}" for i in range(3000)], None)
    assert n == len(vocab) + 3000
    assert rows.tolist() == want_rows.tolist() and sums == want_sums


def _messages():
    rng = random.Random(3)
    out = [p.read_bytes() for p in sorted(FIXTURES.rglob("*.eml"))]
    out += [make_message(rng, i % 2 == 0, i) for i in range(40)]
    out += [b"", b"\n\n", b"Subject: x\n\n" + "d\u00e9j\u00e0 vu caf\u00e9 “q” ".encode() * 50,
            b"Content-Type: text/html\n\n<p>free <b>money</b> now</p>"]
    # the corpus sample and the hostile cases of tests/equivalence.py
    out += [raw for _name, raw in eq.messages()]
    return out


@pytest.mark.parametrize("which", ["small", "default"])
def test_score_gives_the_verdict_of_the_features(which, small_model, default_model, monkeypatch):
    model = small_model if which == "small" else default_model
    for raw in _messages():
        fast = model.score(raw, 15)
        slow = model.score_features(model.features(raw), 15)
        assert fast == slow
        monkeypatch.setattr(T, "_WORD_HASHES", False)
        assert model.score(raw, 15) == slow
        monkeypatch.setattr(T, "_WORD_HASHES", True)


def test_score_takes_the_hashed_path(default_model, monkeypatch):
    calls = []
    real = M._speedups.lookup_sums_h
    monkeypatch.setattr(M._speedups, "lookup_sums_h", lambda *a: calls.append(1) or real(*a))
    v = default_model.score(fixture_bytes("plain_ham.eml"))
    assert calls and v.n_features > 0


def test_extract_into_splits_the_features():
    pm = parse(fixture_bytes("multipart_spam.eml"))
    into: list[bytes] = []
    part = extract(pm, into=into)
    full = extract(pm)
    assert into, "the body words went by hash"
    assert {H(t) for t in full} == {H(t) for t in part} | {h for b in into for h in hashes_of(b)}
    assert len(part) < len(full)


def test_lookup_by_hash_survives_python_code_that_changes_extra(nb):
    # iterating a doc that is not a list or tuple runs Python code: it may empty or grow ``extra`` meanwhile
    sc = nb._get_scorer()
    fifty = list(nb._token_list())[:50]
    some = np.array([H(t) for t in fifty], dtype=np.int64).tobytes()
    want = nb.clue_rows_sums(fifty, None)[0].tolist()
    extra = [some, some, some]

    def shrink():
        extra.clear()
        yield "zzz-not-a-token"

    found, sums, distinct = M._speedups.lookup_sums_h(shrink(), extra, sc.dense, None, 10**6, sc.dense_bloom)
    assert distinct == 1 and found == b""

    extra2 = [some]

    def grow():
        extra2.extend([some] * 100)
        yield "zzz-not-a-token"

    found, sums, distinct = M._speedups.lookup_sums_h(grow(), extra2, sc.dense, None, 10**6, sc.dense_bloom)
    assert distinct == 51 and np.frombuffer(found, dtype=np.int64).tolist() == want


def test_str_subclasses_are_hashed_as_their_text(nb):
    # the token hash of a str runs no Python code: a subclass's __hash__ is never called
    sc = nb._get_scorer()
    fifty = list(nb._token_list())[:50]

    class Loud(str):
        def __hash__(self):
            raise AssertionError("__hash__ called")

    found, sums, distinct = M._speedups.lookup_sums_h([Loud(t) for t in fifty], [], sc.dense, None, 10**6,
                                                      sc.dense_bloom)
    assert distinct == 50 and np.frombuffer(found, dtype=np.int64).tolist() == nb.clue_rows_sums(fifty, None)[0].tolist()
    with pytest.raises(TypeError):
        M._speedups.lookup_sums_h([b"bytes"], [], sc.dense, None, 15, sc.dense_bloom)
