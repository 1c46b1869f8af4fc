"""Training's vocabulary: token -> row, rows numbered in order of first sight, and each document's rows.

Every trainer maps each message's distinct features to vocabulary rows once (:func:`doc_rows`) and counts
rows, not strings (:mod:`spamscore.folds`).  A :class:`Vocabulary` is a dict (every caller reads it as
one) that adds the tokens it has not seen as they are looked up, in the order ``TokenNB.fit`` numbers
them: the prior tokens first (:func:`new_vocabulary`), then each new token as it comes.

The lookups are the cost (the TREC-sized run maps 11.6 million features to rows): a Python dict of 800,000
str keys takes ~280 ns a lookup here, two cache misses (the entry, then the key string it compares) for a
feature that is a new str each time.  With the compiled helpers, :meth:`Vocabulary.rows` looks a batch up
in a table of token hashes beside the dict instead (``_speedups.intern``, ``spamscore/native/vocab.c``:
~100 ns), and the dict only takes the new tokens.  Two tokens with one 64-bit token hash would be one
row there, as they are one clue in the scoring path's table (``native/core.h``: odds of ~1e-8 for a
million tokens); without the helpers (``SPAMSCORE_PURE=1``) the dict does the lookups, and both give
the same rows (tests/test_vocabulary.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from . import _native
from .model import DEFAULT_PRIORS

__all__ = ["Vocabulary", "TokenRows", "TokenList", "token_rows", "new_vocabulary", "new_token_list", "doc_rows",
           "flat_rows", "without_dropped"]

_speedups = _native.load("_speedups")

_MIN_TABLE = 1 << 10


class Vocabulary(dict):
    """token -> vocabulary row; a token not seen before gets the next row as it is looked up.

    ``rows(tokens)`` maps a batch (the fast way); ``vocab[token]`` one token, the same way.  A token
    holding a newline (which the model file cannot store) maps to -1 and is left out, as ``fit`` leaves it
    out.  Rows are only ever added by looking tokens up: the dict must not be written to directly.
    """

    __slots__ = ("_table",)

    def __init__(self, tokens: Sequence[str] = ()):
        super().__init__()
        self._table: TokenRows | None = None   # the compiled table of token hashes (made at the first lookup)
        self.rows(list(tokens))

    def __missing__(self, tok: str) -> int:
        if _speedups is None:
            if "\n" in tok:
                return -1
            row = self[tok] = len(self)
            return row
        return int(self.rows([tok])[0])

    def rows(self, tokens: Sequence[str], new: list[str] | None = None) -> np.ndarray:
        """Each token's row (int64; -1: a token holding a newline), adding the ones not seen before in order;
        ``new``, when given, is extended by those."""
        if _speedups is None:   # the dict itself (__missing__ adds)
            if new is None:
                return np.fromiter(map(self.__getitem__, tokens), dtype=np.int64, count=len(tokens))
            out = np.empty(len(tokens), dtype=np.int64)
            get = self.get
            for i, tok in enumerate(tokens):
                row = get(tok)
                if row is None:
                    row = self[tok]
                    if row >= 0:
                        new.append(tok)
                out[i] = row
            return out
        table = self._table
        if table is None:   # (the first lookup, or one after frozen(): the tokens so far, in row order)
            table = self._table = TokenRows()
            table.rows(list(self))
        n = len(self)
        added: list[str] = []
        out = table.rows(tokens, added)
        if added:
            self.update(zip(added, range(n, n + len(added))))
            if new is not None:
                new.extend(added)
        return out

    def frozen(self) -> dict[str, int]:
        """The vocabulary as a plain dict (a lookup of an unknown token then raises KeyError); this one's
        table is let go first."""
        self._table = None
        return dict(self)


class TokenRows:
    """token -> row by token hash alone: a training worker's table (:func:`spamscore.batch._chunk_rows`), and
    the compiled half of :class:`Vocabulary` and :class:`TokenList`.

    :meth:`rows` gives the rows :meth:`Vocabulary.rows` would give, in the same order, but keeps no dict and
    no token: a worker only hands each token it meets for the first time to the parent (``new``) and never
    looks one up by name, so the dict's insertions (~23 µs a message, a twelfth of a worker's time) and the
    strings it kept alive were spent for nothing.  Needs the compiled helpers (:func:`token_rows` gives a
    :class:`Vocabulary` without them).
    """

    __slots__ = ("_keys", "_rows", "_n")

    def __init__(self):
        self._keys = self._rows = None
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def rows(self, tokens: Sequence[str], new: list[str] | None = None) -> np.ndarray:
        """As :meth:`Vocabulary.rows`."""
        n = self._n
        if self._keys is None or 2 * (n + len(tokens)) > len(self._keys):
            self._grow(n + len(tokens))
        rows, fresh, count = _speedups.intern(tokens, self._keys, self._rows, n)
        if count > n and new is not None:
            new.extend(map(tokens.__getitem__, np.frombuffer(fresh, dtype=np.int64).tolist()))
        self._n = count
        return np.frombuffer(rows, dtype=np.int64)

    def _grow(self, need: int) -> None:
        """A table at most half full with ``need`` entries (12 bytes a slot: 24 MB for the 821,000 tokens of
        the TREC-sized run), holding the hashes so far (taken from the old table itself, in row order)."""
        size = _MIN_TABLE
        while size < 2 * need:
            size *= 2
        keys, rows = np.full(size, -1, dtype=np.int64), np.zeros(size, dtype=np.int32)
        if self._n:
            used = self._keys != -1
            hashes = np.empty(self._n, dtype=np.int64)
            hashes[self._rows[used]] = self._keys[used]
            _speedups.build(hashes, keys, rows)
        self._keys, self._rows = keys, rows


class TokenList(TokenRows):
    """A :class:`TokenRows` that keeps its tokens, in row order (``tokens``), but no dict: streaming training's
    vocabulary (:class:`spamscore.streaming.StreamingCounts`).  The model it ends in takes the list as it is
    (``TokenNB.adopt_tokens``) and builds its dict only if asked, which training and saving never do: the
    dict's insertions were ~0.3 s of the TREC-sized run's parent during extraction, and the dict ~40 MB."""

    __slots__ = ("tokens",)

    def __init__(self, tokens: Sequence[str] = ()):
        super().__init__()
        self.tokens: list[str] = []
        self.rows(list(tokens))

    def rows(self, tokens: Sequence[str], new: list[str] | None = None) -> np.ndarray:
        """As :meth:`Vocabulary.rows`."""
        start = len(self.tokens)
        out = super().rows(tokens, self.tokens)
        if new is not None:
            new.extend(self.tokens[start:])
        return out

    def as_dict(self) -> dict[str, int]:
        """token -> row (a new dict)."""
        return dict(zip(self.tokens, range(len(self.tokens))))


def token_rows() -> TokenRows | Vocabulary:
    """An empty worker table: a :class:`TokenRows`, or without the compiled helpers a :class:`Vocabulary`."""
    return Vocabulary() if _speedups is None else TokenRows()


def without_dropped(rows: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Messages' concatenated ``rows`` and their ``lens`` without the -1 rows of tokens holding a newline
    (which a model file cannot store)."""
    if not len(rows) or rows.min() >= 0:
        return rows, lens
    keep = rows >= 0
    lens = np.bincount(np.repeat(np.arange(len(lens)), lens)[keep], minlength=len(lens))
    return rows[keep], lens


def new_vocabulary(nb_params: dict | None = None) -> Vocabulary:
    """A training vocabulary holding the prior tokens (``nb_params["priors"]`` or the defaults) as rows 0, 1...,
    as ``TokenNB.fit`` starts one."""
    priors = (nb_params or {}).get("priors")
    return Vocabulary(list(priors if priors is not None else DEFAULT_PRIORS))


def new_token_list(nb_params: dict | None = None) -> TokenList | Vocabulary:
    """:func:`new_vocabulary` as a :class:`TokenList` (a :class:`Vocabulary` without the compiled helpers)."""
    if _speedups is None:
        return new_vocabulary(nb_params)
    priors = (nb_params or {}).get("priors")
    return TokenList(list(priors if priors is not None else DEFAULT_PRIORS))


def flat_rows(docs: Sequence, vocab, *, distinct: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each document's distinct tokens as vocabulary rows (int64, in set order), one document after the other,
    and how many each has (int64).

    A :class:`Vocabulary` or :class:`TokenList` adds the tokens it has not seen (tokens holding a newline are
    left out); a plain dict raises KeyError on a token it does not hold, and is left as it is.  ``distinct``:
    each document holds each token once already (a tuple made from a set): its tokens are taken in its own order.
    """
    sets = docs if distinct else [doc if isinstance(doc, (set, frozenset)) else set(doc) for doc in docs]
    flat = list(itertools.chain.from_iterable(sets))
    if isinstance(vocab, (Vocabulary, TokenRows)):
        rows = vocab.rows(flat)
    else:
        rows = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
    return without_dropped(rows, np.fromiter(map(len, sets), dtype=np.int64, count=len(sets)))


def doc_rows(docs: Sequence, vocab: dict[str, int], *, distinct: bool = False) -> list[np.ndarray]:
    """Each document's distinct tokens as vocabulary rows (:func:`flat_rows`), an array a document."""
    rows, lens = flat_rows(docs, vocab, distinct=distinct)
    return np.split(rows, np.cumsum(lens)[:-1]) if len(lens) else []
