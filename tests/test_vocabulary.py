"""spamscore.vocabulary (training's token -> row map) and FoldTable's flush: the compiled table
(``_speedups.intern``, ``add_cells``: spamscore/native/vocab.c) against the Python code, which is the reference.
"""

import random

import numpy as np
import pytest

from spamscore import folds, vocabulary
from spamscore.vocabulary import Vocabulary, doc_rows, new_vocabulary

from conftest import native_reason

COMPILED = vocabulary._speedups


@pytest.fixture(params=["python", "c"])
def impl(request, monkeypatch):
    if request.param == "c":
        if COMPILED is None:
            pytest.skip(native_reason("_speedups"))
    else:
        monkeypatch.setattr(vocabulary, "_speedups", None)
        monkeypatch.setattr(folds, "_speedups", None)
    return request.param


def _docs(seed: int, n_docs: int = 300) -> list[list[str]]:
    rng = random.Random(seed)
    pool = [f"w{i}" for i in range(3000)] + ["日本語", "ｶﾀｶﾅ", "caf\u00e9", "\U0001f600x", "a\nb", "line\n", "\ud800lone"]
    return [list({rng.choice(pool) for _ in range(rng.randint(0, 80))}) for _ in range(n_docs)]


def _reference(docs: list[list[str]], start: list[str]) -> tuple[dict[str, int], list[list[int]]]:
    vocab = {t: i for i, t in enumerate(start)}
    out = []
    for doc in docs:
        rows = []
        for t in doc:
            if t not in vocab:
                if "\n" in t:
                    rows.append(-1)
                    continue
                vocab[t] = len(vocab)
            rows.append(vocab[t])
        out.append(rows)
    return vocab, out


def test_rows_number_new_tokens_in_order_of_first_sight(impl):
    docs = _docs(1)
    v = Vocabulary(["p0", "p1"])
    want_vocab, want_rows = _reference(docs, ["p0", "p1"])
    seen: list[str] = []
    for doc, want in zip(docs, want_rows):
        got = v.rows(doc, seen)
        assert got.dtype == np.int64
        assert got.tolist() == want
    assert dict(v) == want_vocab
    assert list(v) == list(want_vocab)
    assert seen == list(want_vocab)[2:]   # every new token once, in order (newline tokens never)


def test_growth_keeps_every_row(impl):
    v = Vocabulary()
    toks = [f"t{i}" for i in range(20_000)]
    for i in range(0, len(toks), 999):   # many growths of the compiled table
        assert v.rows(toks[i:i + 999]).tolist() == list(range(i, min(i + 999, len(toks))))
    assert v.rows(toks[::-1]).tolist() == list(range(len(toks)))[::-1]
    assert len(v) == len(toks)


def test_item_lookup_adds_like_rows(impl):
    v = new_vocabulary()
    n = len(v)
    assert v["new"] == n and v["new"] == n
    assert v["x\ny"] == -1 and "x\ny" not in v
    assert v.rows(["new", "other"]).tolist() == [n, n + 1]
    frozen = v.frozen()
    assert type(frozen) is dict and frozen["other"] == n + 1
    with pytest.raises(KeyError):
        frozen["unknown"]


def test_doc_rows_same_both_ways(impl):
    docs = _docs(2)
    v = new_vocabulary()
    rows = doc_rows(docs, v)
    want_vocab, _ = _reference([list(set(d)) for d in docs], list(new_vocabulary()))
    assert dict(v) == want_vocab
    for doc, r in zip(docs, rows):
        assert sorted(r.tolist()) == sorted(want_vocab[t] for t in set(doc) if "\n" not in t)


def test_compiled_and_python_give_the_same_rows(monkeypatch):
    if COMPILED is None:
        pytest.skip(native_reason("_speedups"))
    docs = _docs(3)
    c = Vocabulary()
    got_c = [c.rows(d).tolist() for d in docs]
    monkeypatch.setattr(vocabulary, "_speedups", None)
    p = Vocabulary()
    got_p = [p.rows(d).tolist() for d in docs]
    assert got_c == got_p and list(c) == list(p)


def test_intern_leaves_the_table_as_it_was_on_error():
    if COMPILED is None:
        pytest.skip(native_reason("_speedups"))
    v = Vocabulary(["a", "b"])
    table = v._table   # (its compiled half, a TokenRows)
    keys, rows = table._keys.copy(), table._rows.copy()
    with pytest.raises(TypeError):
        v.rows(["c", "d", 5, "e"])
    assert (table._keys == keys).all() and (table._rows == rows).all() and len(table) == 2
    assert dict(v) == {"a": 0, "b": 1}
    assert v.rows(["c", "a"]).tolist() == [2, 0]


def test_intern_refuses_a_table_without_room():
    if COMPILED is None:
        pytest.skip(native_reason("_speedups"))
    keys, rows = np.full(8, -1, np.int64), np.zeros(8, np.int32)
    with pytest.raises(ValueError, match="no room"):
        COMPILED.intern(["a", "b", "c", "d", "e"], keys, rows, 0)
    assert (keys == -1).all()
    with pytest.raises(ValueError):
        COMPILED.intern(["a"], np.full(6, -1, np.int64), np.zeros(6, np.int32), 0)   # not a power of two


def test_fold_table_counts_same_both_ways(impl):
    rng = np.random.default_rng(4)
    table = folds.FoldTable(5)
    want = np.zeros((700, 2, 5), np.int64)
    for _ in range(40):
        n = int(rng.integers(1, 60))
        rows = [np.unique(rng.integers(0, 700, int(rng.integers(0, 50)))) for _ in range(n)]
        labels = rng.integers(0, 2, n).tolist()
        fold_of = rng.integers(0, 5, n).tolist()
        table.add(rows, labels, fold_of)
        for r, lab, k in zip(rows, labels, fold_of):
            want[r, lab, k] += 1
    got = table.counts({str(i): i for i in range(700)})
    assert (got.spam == want[:, 1, :]).all() and (got.ham == want[:, 0, :]).all()


def test_add_cells_checks_every_cell_first():
    if COMPILED is None:
        pytest.skip(native_reason("_speedups"))
    t = np.zeros(10, np.int32)
    COMPILED.add_cells(t, np.array([0, 3, 3, 9], np.int64))
    assert t.tolist() == [1, 0, 0, 2, 0, 0, 0, 0, 0, 1]
    for bad in ([1, 10], [-1, 2]):
        with pytest.raises(IndexError):
            COMPILED.add_cells(t, np.array(bad, np.int64))
    assert t.tolist() == [1, 0, 0, 2, 0, 0, 0, 0, 0, 1]   # nothing added
    with pytest.raises(ValueError):
        COMPILED.add_cells(np.zeros(4, np.int64), np.array([1], np.int64))


@pytest.mark.skipif(COMPILED is None, reason=native_reason("_speedups"))
def test_token_rows_give_the_vocabularys_rows_without_a_dict():
    """A worker's TokenRows (hashes only) numbers tokens as a Vocabulary does, across its table's growths
    (rebuilt from the old table's own hashes), and hands over each new token once, in order."""
    docs = _docs(3, n_docs=600)
    want_vocab, want_rows = _reference(docs, [])
    t = vocabulary.TokenRows()
    new: list[str] = []
    for doc, want in zip(docs, want_rows):
        assert t.rows(doc, new).tolist() == want
    assert new == list(want_vocab) and len(t) == len(want_vocab) > 2 * vocabulary._MIN_TABLE
    assert not isinstance(t, dict)
    assert t.rows(["w1", "never seen", "w1"]).tolist() == [want_vocab["w1"], len(want_vocab), want_vocab["w1"]]


def test_token_rows_is_a_vocabulary_without_the_compiled_table(monkeypatch):
    monkeypatch.setattr(vocabulary, "_speedups", None)
    assert isinstance(vocabulary.token_rows(), Vocabulary)


@pytest.mark.skipif(COMPILED is None, reason=native_reason("_speedups"))
def test_a_token_list_numbers_tokens_as_a_vocabulary_and_keeps_them_in_row_order():
    docs = _docs(4)
    want_vocab, want_rows = _reference(docs, ["p0", "p1"])
    t = vocabulary.TokenList(["p0", "p1"])
    new: list[str] = []
    for doc, want in zip(docs, want_rows):
        assert t.rows(doc, new).tolist() == want
    assert t.tokens == list(want_vocab) and new == list(want_vocab)[2:] and t.as_dict() == want_vocab
    assert not isinstance(t, dict)


def test_a_model_takes_a_token_list_without_building_its_dict():
    from spamscore.model import DEFAULT_PRIORS, TokenNB

    tokens = list(DEFAULT_PRIORS) + ["free", "meeting"]
    counts = np.arange(len(tokens), dtype=np.int64)
    nb = TokenNB.from_counts(tokens, counts, counts[::-1].copy(), 10, 20)
    assert "_vocabulary" not in nb.__dict__ and nb.token_list() is tokens
    assert nb.vocabulary_ == {t: i for i, t in enumerate(tokens)}   # built when asked
    with pytest.raises(ValueError, match="prior token"):
        TokenNB.from_counts(["free"] + tokens, np.zeros(len(tokens) + 1), np.zeros(len(tokens) + 1), 1, 1)
