"""Finding a document's clues: the token -> row tables a model scores with.

* :class:`HashIndex`: token -> row by this process's ``hash()``, looked up a
  whole document at a time (the Python path, and any model built in memory);
* :func:`dense_table`: the scoring path's table, keyed by our own token hash
  (:func:`spamscore._native.token_hash`), with each clue's ``ln f`` and
  ``ln(1-f)`` beside its key; format 2 model files store it as it is
  (:mod:`spamscore.model.format2`), :func:`dense_table_reference` builds the
  same bytes without the compiled helpers;
* :class:`ClueTables`: the read-only tables of one model (shared by threads),
  with :class:`ClueRows`, the clue tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from . import native

__all__ = ["HashIndex", "ClueRows", "ClueTables", "dense_table", "dense_table_reference"]


class HashIndex:
    """Token -> row, looked up a whole document at a time with numpy.

    A ``dict`` lookup costs 300-450 ns per feature against a 200,000-token
    vocabulary (cache misses on the entry and on the key string it compares),
    and a binary search over the sorted hashes (``np.searchsorted``) about
    340 ns (18 unpredictable branches).  Here the keys are this process's
    ``hash()`` of each token (cached in every str object) in an open-addressing
    table at most a quarter full: a document's features are found with a few
    vectorised probe rounds (one gather and one comparison each; three rounds
    settle all but ~1% of features, a Python loop the rest).  On the corpus
    this took 115 µs a message off scoring.  Built at load time (~60 ms for
    200,000 tokens), so the per-process hash seed does not matter.  Two tokens
    with the same 64-bit hash would be confused (odds about 10^-9 per model),
    which at worst swaps one clue's weight.
    """

    EMPTY = -1  # hash() of a str is never -1 (CPython reserves it for errors)
    ROUNDS = 3

    __slots__ = ("keys", "rows", "mask", "bloom")
    BLOOM_BITS = 1 << 21  # (fixed in native/dense.c)

    def __init__(self, tokens: Sequence[str], hashes: np.ndarray | None = None):
        """``hashes``: ``hash()`` of each token, when the caller has them (this process's only)."""
        n = len(tokens)
        h = np.fromiter(map(hash, tokens), dtype=np.int64, count=n) if hashes is None else hashes
        if len(h) != n:
            raise ValueError(f"expected {n} hashes, got {len(h)}")
        size = 1 << max(4, (4 * n - 1).bit_length())  # load factor <= 1/4
        mask = size - 1
        keys = np.full(size, self.EMPTY, dtype=np.int64)
        rows = np.zeros(size, dtype=np.int32 if n < 2**31 else np.int64)
        bloom = None
        sp = native.speedups
        if sp is not None and rows.dtype == np.int32:
            sp.build(h, keys, rows)  # one sequential pass in C (~5 ms)
            # Two bits per token in a 256 KB filter (~3% false positives):
            # most features of a message are in no table, and the filter
            # rules them out from the cache instead of a probe into the
            # table's 12 MB, which other work has evicted by the next message.
            bloom = np.zeros(self.BLOOM_BITS // 64, dtype=np.uint64)
            sp.bloom(np.ascontiguousarray(h, dtype=np.int64), bloom)
        else:
            self._build(h, keys, rows, mask)
        self.keys, self.rows, self.mask, self.bloom = keys, rows, mask, bloom

    @classmethod
    def _build(cls, h: np.ndarray, keys: np.ndarray, rows: np.ndarray, mask: int) -> None:
        """Insert ``h[i] -> i`` by linear probing, vectorised (the reference for ``_speedups.build``).

        Each round, every token still pending takes its slot if the slot is
        free and no earlier token claims it.  (The layout can differ from the
        sequential one of ``_speedups.build``; lookups find the same rows.)
        """
        pending = np.arange(len(h))
        pos = h & mask
        while len(pending):
            p = pos[pending]
            free = np.flatnonzero(keys[p] == cls.EMPTY)
            _, first = np.unique(p[free], return_index=True)
            won = pending[free[first]]
            keys[pos[won]] = h[won]
            rows[pos[won]] = won
            left = np.ones(len(pending), dtype=bool)
            left[free[first]] = False
            pending = pending[left]
            pos[pending] = (pos[pending] + 1) & mask

    def lookup(self, doc: Iterable[str]) -> np.ndarray:
        """Sorted unique rows of the tokens of ``doc`` that are in the index."""
        sp = native.speedups
        if sp is not None and self.rows.dtype == np.int32:  # (any iterable: it takes a tuple copy)
            return np.frombuffer(sp.lookup(doc, self.keys, self.rows), dtype=np.int64)
        return self._lookup(doc)

    def _lookup(self, doc: Iterable[str]) -> np.ndarray:
        """:meth:`lookup` in numpy: a few vectorised probe rounds (the reference for ``_speedups.lookup``)."""
        q = np.fromiter(map(hash, doc), dtype=np.int64)
        keys, rows, mask, empty = self.keys, self.rows, self.mask, self.EMPTY
        pos = q & mask
        found = []
        for _ in range(self.ROUNDS):
            k = keys[pos]
            hit = k == q
            found.append(rows[pos[hit]])
            more = (k != empty) & ~hit  # slot taken by another key: probe on
            if not more.any():
                break
            q = q[more]
            pos = (pos[more] + 1) & mask
        else:
            extra = []
            for qi, pi in zip(q.tolist(), pos.tolist()):
                while True:
                    k = int(keys[pi])
                    if k == qi:
                        extra.append(int(rows[pi]))
                        break
                    if k == empty:
                        break
                    pi = (pi + 1) & mask
            found.append(np.array(extra, dtype=rows.dtype))
        out = (np.concatenate(found) if len(found) > 1 else found[0]).astype(np.int64)
        # sorted and unique; np.unique (hash-based in numpy 2) is slower on a few hundred rows
        out.sort()
        if len(out) > 1:
            out = out[np.concatenate(([True], out[1:] != out[:-1]))]
        return out


class ClueRows(Sequence):
    """``tokens[rows[i]]``: the clue tokens, without a list of them built at load."""

    __slots__ = ("tokens", "rows")

    def __init__(self, tokens: list[str], rows: np.ndarray):
        self.tokens, self.rows = tokens, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(i)
        return self.tokens[int(self.rows[i])]

    def take(self, idx: np.ndarray) -> list[str]:
        """The tokens of the rows ``idx`` (an index array or a slice) with one gather (a clue
        list: 15 scalar lookups cost ~1 µs each)."""
        tokens = self.tokens
        return [tokens[j] for j in self.rows[idx].tolist()]


@dataclass(frozen=True, slots=True)
class ClueTables:
    """Read-only lookup tables built from the counts (shared by threads): what
    :meth:`TokenNB.tables <spamscore.model.nb.TokenNB.tables>` gives."""

    index: HashIndex       # token -> row in the arrays below, clues only
    tokens: ClueRows       # row -> token
    log_f: np.ndarray
    log_1mf: np.ndarray
    log_odds: np.ndarray
    dense: np.ndarray | None = None  # the scoring path's table (see dense_table)
    dense_bloom: np.ndarray | None = None  # its Bloom filter (of the same token hashes)
    meta: np.ndarray | None = None  # is_meta per clue row, when the model file stores it
    by_hash: bool = False  # look every document up in ``dense`` (a mapped model: ``index`` is built only if asked)


def dense_table(tokens: Sequence[str], log_f: np.ndarray, log_1mf: np.ndarray,
                rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """The clue table of ``_speedups.lookup_sums_h`` and its Bloom filter: token hash, row,
    ln f and ln(1-f) of each clue token in one 32-byte entry, at most half full
    (None without the extension).

    Each clue found then costs one cache line instead of four (the keys/rows
    table and the two value tables): the scoring path's lookup went to memory
    for each, since the feature work between two messages evicts the tables.
    The key is the token hash of :func:`spamscore._native.token_hash`
    (SipHash-1-3 of the UTF-8, fixed key), not ``hash()``: the body words
    reach this table as hashes computed in C without their str, and that
    hash is our own on every Python (``native/core.h`` says why; ~6 ms for
    the default model's 214,000 clues).  ``rows``: the clue tokens are
    ``tokens[rows[i]]`` (no list of them made).
    """
    sp = native.speedups
    if sp is None or not hasattr(sp, "token_hashes"):
        return None
    if rows is None:
        hashes = np.frombuffer(sp.token_hashes(tokens), dtype=np.int64)
    else:
        hashes = np.frombuffer(sp.token_hashes(tokens, np.ascontiguousarray(rows, dtype=np.int64)),
                               dtype=np.int64)
    n = len(hashes)
    size = 1 << max(4, (2 * n - 1).bit_length())  # load factor <= 1/2
    table = np.empty(size * 4, dtype=np.int64)  # 32 bytes an entry, 8-byte aligned
    sp.build_dense(hashes, np.ascontiguousarray(log_f), np.ascontiguousarray(log_1mf), table)
    bloom = np.zeros(HashIndex.BLOOM_BITS // 64, dtype=np.uint64)
    sp.bloom(hashes, bloom)
    return table, bloom


def dense_table_reference(hashes: list[int], log_f: np.ndarray, log_1mf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dense_table` without the compiled helpers: the same sequential linear probing as
    ``_speedups.build_dense`` (so the same layout, bit for bit) and the same Bloom filter."""
    n = len(hashes)
    size = 1 << max(4, (2 * n - 1).bit_length())
    mask = size - 1
    taken = bytearray(size)
    slots = []
    for h in hashes:
        pos = h & mask
        while taken[pos]:
            pos = (pos + 1) & mask
        taken[pos] = 1
        slots.append(pos)
    table = np.zeros((size, 4), dtype=np.int64)
    table[:, 0] = -1
    at = np.array(slots, dtype=np.int64)
    table[at, 0] = np.array(hashes, dtype=np.int64)
    table[at, 1] = np.arange(n)
    table[at, 2] = np.ascontiguousarray(log_f, dtype=np.float64).view(np.int64)
    table[at, 3] = np.ascontiguousarray(log_1mf, dtype=np.float64).view(np.int64)
    u = np.array(hashes, dtype=np.int64).view(np.uint64)
    bits = np.concatenate((u & np.uint64(HashIndex.BLOOM_BITS - 1), (u >> np.uint64(21)) & np.uint64(HashIndex.BLOOM_BITS - 1)))
    bloom = np.zeros(HashIndex.BLOOM_BITS // 64, dtype=np.uint64)
    np.bitwise_or.at(bloom, (bits >> np.uint64(6)).astype(np.int64), np.left_shift(np.uint64(1), bits & np.uint64(63)))
    return table.reshape(-1), bloom
