"""model.HashIndex: the vectorised open-addressing token table, against a dict."""

import random

import numpy as np
import pytest

from spamscore.model import HashIndex


def _truth(vocab, doc):
    d = {t: i for i, t in enumerate(vocab)}
    return sorted({d[t] for t in doc if t in d})


@pytest.mark.parametrize("n", [0, 1, 7, 1000, 50_000])
def test_lookup_equals_a_dict(n):
    rng = random.Random(n)
    vocab = [f"tok{i}:{rng.random()}" for i in range(n)]
    idx = HashIndex(vocab)
    for _ in range(20):
        doc = rng.sample(vocab, min(len(vocab), rng.randint(0, 300))) + [f"unknown{rng.random()}" for _ in range(200)]
        doc += doc[: len(doc) // 3]  # duplicates
        rng.shuffle(doc)
        got = idx.lookup(doc)
        assert got.dtype == np.int64
        assert got.tolist() == _truth(vocab, doc)


def test_every_vocabulary_token_is_found_at_its_row():
    vocab = [f"w{i}" for i in range(20_000)]
    idx = HashIndex(vocab)
    assert idx.lookup(vocab).tolist() == list(range(20_000))
    assert idx.lookup([]).tolist() == []


def test_long_probe_chains_take_the_python_path():
    class OneRound(HashIndex):
        ROUNDS = 1  # every feature whose first slot is taken goes to the fallback loop

    vocab = [f"x{i}" for i in range(5000)]
    idx = OneRound(vocab)
    doc = vocab[::3] + [f"y{i}" for i in range(5000)]
    assert idx.lookup(doc).tolist() == _truth(vocab, doc)
    # and the table is at most a quarter full
    assert (idx.keys != HashIndex.EMPTY).sum() == 5000 and len(idx.keys) >= 4 * 5000
