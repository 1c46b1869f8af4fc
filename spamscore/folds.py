"""Cross-validation by counting: the fold counts and out-of-fold statistics every trainer calibrates on.

The calibration (:func:`spamscore.calibration.calibrate`) is fitted on out-of-fold statistics: each training
message scored by a model that did not see it.  No model is fitted per fold, because counts add up: each
message's distinct features are mapped to vocabulary rows once (:func:`doc_rows`), the spam and ham document
counts of each token are kept per fold (:class:`FoldTable` gives a :class:`FoldCounts`), and fold *k*'s model is
the total minus fold *k*'s column (:meth:`FoldCounts.model`).  A token seen only in the held-out fold keeps zero
counts there, so its f(w) is the prior and it is no clue: the statistics of fitting a model per fold
(tests/test_scoring.py checks it), five times faster.  :class:`FoldModels` then scores the held-out messages
from their rows, with no string lookups (:func:`fold_evidence`).

The three trainers all count here:

* in memory, :func:`spamscore.scoring.train` (:func:`cv_statistics`): the folds of scikit-learn's
  ``StratifiedKFold`` over the whole corpus (:func:`stratified_fold_of`);
* streaming, :class:`spamscore.streaming.StreamingCounts`: the same up to its sample size; past it, folds dealt as
  the messages come (:class:`FoldAssigner`) and the statistics of a seeded sample only (:class:`Reservoir`);
* on a Dask cluster, :func:`spamscore.distributed.train_dask`: each worker counts its shard into a
  :class:`FoldCounts`, the parts are summed (:func:`merge_fold_counts`), and each worker scores its own messages
  with the :class:`FoldModels` of the sum.

Integer counts sum exactly in any order, and the clue sums are taken in sorted row order, so the three give the
same counts, calibration and cut-offs to the last bit (tests/test_train_streaming.py, tests/test_distributed.py).
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import _native
from ._fit import stratified_folds
from .calibration import Calibration, meta_mask, statistics_from_sums, statistics_from_sums_many
from .model import TokenNB, cap_clues, cjk_flags, clue_sums, clue_tables
from .vocabulary import Vocabulary, doc_rows, new_vocabulary

_speedups = _native.load("_speedups")   # add_cells (the flush), fold_sums; None: the numpy code does the same

__all__ = ["Vocabulary", "new_vocabulary", "doc_rows", "FoldAssigner", "Reservoir", "stratified_fold_of",
           "FoldTable", "FoldCounts", "merge_fold_counts", "FoldModels", "fold_evidence", "fold_evidence_reference",
           "cv_statistics"]


# ----------------------------------------------------------------------------
# which fold a message is in, and which messages the calibration sees


def stratified_fold_of(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The fold of each message under ``StratifiedKFold(folds, shuffle=True, random_state=seed)`` (int64)."""
    fold_of = np.zeros(len(y), dtype=np.int64)
    for k, held_out in enumerate(stratified_folds(y, folds, seed)):
        fold_of[held_out] = k
    return fold_of


class FoldAssigner:
    """The cross-validation fold of each message, known when it is read.

    Stratified and seeded: the messages of each class, in input order, are
    dealt to the folds in blocks of ``folds``, each block in an order drawn
    from a generator seeded by ``(seed, class)``.  Every fold holds the same
    number of each class, to one message, as ``StratifiedKFold`` gives; the
    folds depend on the labels' order only, so the Dask client assigns the
    same ones (:func:`spamscore.distributed.train_dask`).
    """

    def __init__(self, folds: int, seed: int = 0):
        self.folds = max(int(folds), 1)
        self._rng = [np.random.default_rng([seed, c]) for c in (0, 1)]
        self._block: list[list[int]] = [[], []]

    def __call__(self, label: int) -> int:
        block = self._block[label]
        if not block:
            block.extend(self._rng[label].permutation(self.folds).tolist()[::-1])
        return block.pop()


class Reservoir:
    """Algorithm R over message numbers 0, 1, 2...: which slot (or None) message ``i`` takes.

    The choices depend on the seed and on ``i`` only, never on the messages,
    so a client that knows how many messages there are picks the same sample.
    """

    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self._rng = random.Random(seed)

    def slot(self, i: int) -> int | None:
        if i < self.size:
            return i
        j = self._rng.randrange(i + 1)
        return j if j < self.size else None


# ----------------------------------------------------------------------------
# the counts


# Pending (row, label, fold) cells are added to the table in batches of about
# this many (compiled: ~20 ms a million; numpy's unique: ~120 ms): ~40 MB at the flush,
# whatever the vocabulary.
FLUSH_CELLS = 1 << 20


@dataclass
class FoldCounts:
    """Document counts per token and per fold: ``spam[i, k]`` spam messages of fold k holding token i.

    ``vocab`` numbers its tokens 0, 1... in insertion order, the prior tokens first (as every vocabulary
    made here does), so the counts are a :class:`TokenNB`'s as they stand: a dict, or the token list in row
    order (streaming training's: the model takes it without building a dict).
    """

    vocab: dict[str, int] | list[str]
    spam: np.ndarray      # (V, F), an integer type
    ham: np.ndarray       # (V, F)
    n_spam: np.ndarray    # (F,) int64
    n_ham: np.ndarray     # (F,) int64

    @property
    def folds(self) -> int:
        return len(self.n_spam)

    def totals(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """``(spam, ham, n_spam, n_ham)`` summed over the folds (int64; the column sums of the
        ``(V, F)`` tables, twice as fast as numpy's ``sum(axis=1)`` of their strided views)."""
        spam, ham = (np.array(c[:, 0], dtype=np.int64) if c.shape[1] else np.zeros(len(c), np.int64)
                     for c in (self.spam, self.ham))
        for k in range(1, self.folds):
            spam += self.spam[:, k]
            ham += self.ham[:, k]
        return spam, ham, int(self.n_spam.sum()), int(self.n_ham.sum())

    def model(self, nb_params: dict | None = None, *, without: int | None = None,
              totals: tuple[np.ndarray, np.ndarray, int, int] | None = None) -> TokenNB:
        """The fitted :class:`TokenNB` of every fold's counts, or of every fold but ``without``
        (that fold's training half); ``totals``: what :meth:`totals` gives, when the caller has it."""
        spam, ham, n_spam, n_ham = totals if totals is not None else self.totals()
        if without is not None:
            spam, ham = spam - self.spam[:, without], ham - self.ham[:, without]
            n_spam, n_ham = n_spam - int(self.n_spam[without]), n_ham - int(self.n_ham[without])
        return TokenNB.from_counts(self.vocab, spam, ham, n_spam, n_ham, **(nb_params or {}))


class FoldTable:
    """The spam and ham document counts of each token and fold, added to as messages come.

    One int32 table ``(tokens, 2, folds)``, grown by half when the vocabulary outgrows it; a message's
    (row, label, fold) cells wait in a list and are added :data:`FLUSH_CELLS` at a time.
    """

    def __init__(self, folds: int):
        self._table = np.zeros((0, 2, folds), dtype=np.int32)
        self._n_class = np.zeros((2, folds), dtype=np.int64)
        self._pending: list[np.ndarray] = []
        self._pending_cells = 0

    @property
    def capacity(self) -> int:
        """Vocabulary rows the table has room for."""
        return len(self._table)

    def add(self, rows: Sequence[np.ndarray], labels: Sequence[int], fold_of: Sequence[int]) -> None:
        """Count messages: each one's distinct vocabulary rows, label (1 spam, 0 ham) and fold."""
        if not len(rows):
            return
        lens = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        self.add_flat(np.concatenate(rows), lens, labels, fold_of)

    def add_flat(self, rows: np.ndarray, lens: np.ndarray, labels: Sequence[int], fold_of: Sequence[int]) -> None:
        """:meth:`add` of messages given as one array, ``rows``, one message's distinct rows after the other,
        and ``lens``, how many each has."""
        if not len(lens):
            return
        F = self._table.shape[2]
        codes = np.asarray(labels, dtype=np.int64) * F + np.asarray(fold_of, dtype=np.int64)
        np.add.at(self._n_class.reshape(-1), codes, 1)
        cells = np.asarray(rows, dtype=np.int64) * (2 * F) + np.repeat(codes, lens)
        self._pending.append(cells)
        self._pending_cells += len(cells)
        if self._pending_cells >= FLUSH_CELLS:
            self._flush(0)

    def _flush(self, size: int) -> None:
        """Add the pending cells (growing the table to at least ``size`` rows, and to every row they name)."""
        cells = np.concatenate(self._pending) if self._pending else np.zeros(0, np.int64)
        row_cells = self._table.shape[1] * self._table.shape[2]
        need = max(size, int(cells.max()) // row_cells + 1 if len(cells) else 0)
        if len(self._table) < need:
            grown = np.zeros((max(need, len(self._table) * 3 // 2), *self._table.shape[1:]), dtype=np.int32)
            grown[:len(self._table)] = self._table
            self._table = grown
        if len(cells):
            if _speedups is not None:   # += 1 per cell in place (vocab.c), instead of sorting them
                _speedups.add_cells(self._table.reshape(-1), cells)
            else:
                cells, counts = np.unique(cells, return_counts=True)
                self._table.reshape(-1)[cells] += counts.astype(np.int32)   # cells are unique: fancy += is exact
        self._pending, self._pending_cells = [], 0

    def counts(self, vocab: dict[str, int] | list[str]) -> FoldCounts:
        """Everything added so far over ``vocab`` (views of the table: valid until more is added)."""
        self._flush(len(vocab))
        table = self._table[:len(vocab)]
        return FoldCounts(vocab, table[:, 1, :], table[:, 0, :], self._n_class[1].copy(), self._n_class[0].copy())


def merge_fold_counts(*parts: FoldCounts) -> FoldCounts:
    """The sum of fold counts over differing vocabularies; tokens keep their first-seen order."""
    vocab: dict[str, int] = {}
    maps = [np.fromiter((vocab.setdefault(t, len(vocab)) for t in p.vocab), dtype=np.int64, count=len(p.vocab))
            for p in parts]
    tail = np.shape(parts[0].spam)[1:] if parts else ()
    spam = np.zeros((len(vocab),) + tail, dtype=np.int64)
    ham = np.zeros((len(vocab),) + tail, dtype=np.int64)
    n_spam = np.zeros(tail, dtype=np.int64)
    n_ham = np.zeros(tail, dtype=np.int64)
    for m, p in zip(maps, parts):
        s, h = np.asarray(p.spam, dtype=np.int64), np.asarray(p.ham, dtype=np.int64)
        if s.shape != (len(m),) + tail or h.shape != s.shape:
            raise ValueError(f"expected counts of shape {(len(m),) + tail}, got {s.shape} and {h.shape}")
        spam[m] += s     # m holds each index once, so fancy += is exact
        ham[m] += h
        n_spam = n_spam + np.asarray(p.n_spam, dtype=np.int64)
        n_ham = n_ham + np.asarray(p.n_ham, dtype=np.int64)
    return FoldCounts(vocab, spam, ham, n_spam, n_ham)


# ----------------------------------------------------------------------------
# out-of-fold statistics


def fold_evidence(nb: TokenNB, rows: Sequence[np.ndarray], which, meta: np.ndarray, *,
                  threads: int = 1) -> np.ndarray:
    """``Model(nb).family_evidence`` of the documents ``which``, from their rows (no string lookups).

    The same clue selection and the same arithmetic as :meth:`spamscore.scoring.Model.family_evidence`:
    clues are the rows whose f(w) is at least ``min_dev`` from 0.5, sorted, capped at ``max_clues`` the same
    way; ``meta`` is :func:`~spamscore.calibration.is_meta` per vocabulary row.

    With the compiled core, every message's clue sums in one call (``_speedups.fold_sums``, which reads each
    message's row array in place, int32 or int64), then the statistics of all of them at once
    (:func:`~spamscore.calibration.statistics_from_sums_many`): the bits of the per-message code,
    :func:`fold_evidence_reference`, about 5 times faster (tests/test_fold_sums.py compares them).
    ``threads``: the compiled sums of that many parts of ``which`` at once (it runs without the GIL; each
    message's result is its own, so the same bits with any number).
    """
    fold_sums = getattr(_speedups, "fold_sums", None)
    if fold_sums is None or meta is None:
        return fold_evidence_reference(nb, rows, which, meta)
    f = nb.token_probabilities()
    strong = np.ascontiguousarray(nb.strong_mask(f), dtype=bool)
    log_f, log_1mf, log_odds = clue_tables(f)
    which = np.ascontiguousarray(which, dtype=np.int64)
    sums = np.zeros((len(which), 9))
    bad = np.zeros(len(which), dtype=np.uint8)
    rows_list = rows if type(rows) is list else list(rows)
    tables = (strong, log_odds, log_f, log_1mf, np.ascontiguousarray(meta, dtype=bool), int(nb.max_clues))
    cuts = np.linspace(0, len(which), max(1, min(int(threads), len(which) // 500)) + 1).astype(np.int64).tolist()
    errors: list[BaseException] = []

    def part(a: int, b: int) -> None:
        try:
            fold_sums(rows_list, which[a:b], *tables, sums[a:b], bad[a:b])
        except BaseException as e:   # (raised in the caller's thread below)
            errors.append(e)

    helpers = [threading.Thread(target=part, args=(a, b), daemon=True) for a, b in zip(cuts[1:-1], cuts[2:])]
    for t in helpers:
        t.start()
    part(cuts[0], cuts[1])
    for t in helpers:
        t.join()
    if errors:
        raise errors[0]
    cal = Calibration()
    out = statistics_from_sums_many(sums, cal.family_clues, overall_clues=cal.overall_clues)
    for j in np.flatnonzero(bad).tolist():   # a non-finite clue value: the per-message code decides
        out[j] = fold_evidence_reference(nb, rows, which[j:j + 1], meta, tables=(strong, log_f, log_1mf, log_odds))
    return out


def fold_evidence_reference(nb: TokenNB, rows: Sequence[np.ndarray], which, meta: np.ndarray, *,
                            tables: tuple | None = None) -> np.ndarray:
    """:func:`fold_evidence` message by message (the reference, and the code without the compiled core);
    ``tables``: ``(strong, log_f, log_1mf, log_odds)`` of ``nb`` when the caller has them."""
    if tables is None:
        f = nb.token_probabilities()
        strong = nb.strong_mask(f)
        log_f, log_1mf, log_odds = clue_tables(f)
    else:
        strong, log_f, log_1mf, log_odds = tables
    pseudo, overall = Calibration().family_clues, Calibration().overall_clues
    out = np.zeros((len(which), 5))
    for j, i in enumerate(which):
        r = rows[i]
        r = cap_clues(np.sort(r[strong[r]]), log_odds, nb.max_clues)
        out[j] = statistics_from_sums(clue_sums(r, log_f, log_1mf, meta), pseudo, overall_clues=overall)
    return out


class FoldModels:
    """Each fold's model (the counts of the other folds) over one vocabulary, to score held-out messages.

    ``eager``: build every fold's model now and keep them (a Dask worker scores several shards with them, from
    any thread); otherwise each is built when asked for and dropped after (one fold's model in memory at a time).
    The vocabulary's meta and CJK flags are computed once here and shared by every fold's TokenNB
    (``share_row_flags``): computing them per fold cost 0.3 s of 7.5 s training 8,000 messages.
    """

    def __init__(self, counts: FoldCounts, nb_params: dict | None = None, *, eager: bool = False):
        self.counts = counts
        self.nb_params = dict(nb_params or {})
        tokens = list(counts.vocab)
        self.meta = meta_mask(tokens)
        self.cjk = cjk_flags(tokens)
        self._models = None
        self._totals = None
        if eager:
            self._models = [self.model(k) for k in range(counts.folds)]

    def model(self, k: int) -> TokenNB:
        """Fold ``k``'s model: the counts of every fold but ``k``."""
        if self._models is not None:
            return self._models[k]
        nb = self.counts.model(self.nb_params, without=k, totals=self.totals())
        nb.share_row_flags(self.meta, self.cjk)   # one vocabulary: its flags computed once, not once a fold
        return nb

    def totals(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The counts summed over the folds (:meth:`FoldCounts.totals`), computed once for every fold's model."""
        if self._totals is None:
            self._totals = self.counts.totals()
        return self._totals

    def whole(self) -> TokenNB:
        """The model of every fold's counts (the one training ships), sharing the folds' row flags."""
        nb = self.counts.model(self.nb_params, totals=self.totals())
        nb.share_row_flags(self.meta, self.cjk)
        return nb

    def statistics(self, rows: Sequence[np.ndarray], fold_of: np.ndarray, *, threads: int = 1) -> np.ndarray:
        """Out-of-fold ``(logit I, z, S, S_text, S_meta)`` of each document (its rows, its fold); ``threads``:
        :func:`fold_evidence`'s (the same bits with any number)."""
        fold_of = np.asarray(fold_of)
        out = np.zeros((len(rows), 5))
        rows = rows if type(rows) is list else list(rows)
        for k in range(self.counts.folds):
            which = np.flatnonzero(fold_of == k)
            if len(which):
                out[which] = fold_evidence(self.model(k), rows, which, self.meta, threads=threads)
        return out


def cv_statistics(docs: Sequence | None, y, nb_params: dict | None, folds: int, seed: int, *,
                  rows: list[np.ndarray] | None = None,
                  vocab: dict[str, int] | None = None) -> tuple[np.ndarray | None, TokenNB]:
    """Cross-validated ``(logit I, z, S, S_text, S_meta)`` of every document (``StratifiedKFold`` folds; None
    with fewer than 2 folds), and the model of all of them (the counts ``TokenNB.fit`` makes, in its vocabulary
    order).  What :func:`spamscore.scoring.train` calibrates on.

    ``rows`` and ``vocab`` instead of ``docs``: the documents already mapped by :func:`doc_rows` to a
    vocabulary that starts with the prior tokens (what streaming training keeps: spamscore.batch).
    """
    if rows is None:
        vocab = new_vocabulary(nb_params)
        rows = doc_rows(docs, vocab)
    y = np.asarray(y)
    fold_of = stratified_fold_of(y, folds, seed) if folds >= 2 else np.zeros(len(y), dtype=np.int64)
    table = FoldTable(max(folds, 1))
    table.add(rows, y, fold_of)
    # a plain dict (lookups must not add) or the token list streaming training keeps
    counts = table.counts(vocab if type(vocab) in (dict, list) else dict(vocab))
    if folds < 2:
        return None, counts.model(nb_params)
    models = FoldModels(counts, nb_params)
    return models.statistics(rows, fold_of), models.whole()
