"""Training's counts in memory that grows with the vocabulary, not with the number of messages.

:class:`StreamingCounts` is what :func:`spamscore.batch.train_items` counts into: each message's distinct
features as vocabulary rows, added to a per-fold table as they come, and a seeded sample of messages kept
for the calibration (docs/distributed.md, "Memory").  :class:`ChunkTokens` is what a training worker sends
with each chunk: the tokens it met for the first time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .features import FeatureOptions
from .folds import FoldAssigner, FoldCounts, FoldModels, FoldTable, Reservoir
from .scoring import Model, calibrated_model, train
from .vocabulary import TokenList, flat_rows, new_token_list, without_dropped

__all__ = ["StreamingCounts", "ChunkTokens", "SAMPLE"]


@dataclass(frozen=True)
class ChunkTokens:
    """The tokens a worker met for the first time in one chunk: its rows ``start``, ``start + 1``... (one
    object per chunk, pickled once).  ``worker`` names the worker process and the training run."""

    worker: str
    start: int
    new: list


# How many training messages the calibration sees at most.  Up to this many,
# every message's vocabulary rows are kept (4 bytes a distinct feature, ~1.2 KB
# a message) and the model is the one spamscore.scoring.train gives on the
# feature lists, bit for bit.  Past it, counts go to a per-fold table and the
# calibration's out-of-fold statistics are computed on a seeded reservoir
# sample of this size: the logistic regression has 3 inputs and the spam
# cut-off sits at the 0.1% false-positive quantile, so ~13,000 ham of a
# 20,000-message sample put it at the 13th highest ham score.  The other
# choice, a second pass that re-reads every message, extracts every message's
# features twice (3.3 s of the 9.1 s cProfile gave training on 8,000 mutated SA
# messages) and needs sources that can be read twice (not stdin), for a fit
# the sample already pins down.
SAMPLE = 20_000


class StreamingCounts:
    """Training counts that grow with the vocabulary, not with the number of messages.

    ``add(docs, labels)`` (or ``add_chunk``, a training worker's chunk) maps each feature list to vocabulary
    rows (a :class:`~spamscore.vocabulary.TokenList`: a table of token hashes and the tokens in row order) and
    drops it: the spam and ham
    document counts of each token accumulate per cross-validation fold
    (:class:`~spamscore.folds.FoldAssigner`) in a :class:`~spamscore.folds.FoldTable`,
    and a :class:`~spamscore.folds.Reservoir` keeps the rows, label and fold of
    ``sample`` messages (all of them, in input order, while there are no more).
    :meth:`model` then trains the model: below ``sample``, exactly
    :func:`spamscore.scoring.train` (stratified folds of the whole corpus);
    above, fold *k*'s model is the total minus column *k*
    (:class:`~spamscore.folds.FoldModels`) and the calibration is fitted on the
    sample's out-of-fold statistics.
    """

    def __init__(self, folds: int = 5, *, sample: int = SAMPLE, seed: int = 0, nb_params: dict | None = None):
        if sample < 1:
            raise ValueError(f"expected a sample size of at least 1, got {sample}")
        self.folds, self.sample, self.seed = folds, sample, seed
        self.nb_params = dict(nb_params or {})
        self._vocab = new_token_list(self.nb_params)   # (a Vocabulary, a dict, without the compiled helpers)
        self.n = 0
        self._reservoir = Reservoir(sample, seed)
        self._assign = FoldAssigner(folds if folds >= 2 else 1, seed)
        self.rows: list[np.ndarray] = []     # the kept messages' rows (int32), labels and folds
        self.labels: list[int] = []
        self.fold_of: list[int] = []
        # spam and ham document counts per token and fold: counted from the first message
        # on (cheap), used once there are more messages than the sample holds
        self.table = FoldTable(self._assign.folds)
        self._workers: dict[str, tuple[np.ndarray, int]] = {}   # worker -> its rows' vocabulary rows (add_chunk)

    @property
    def vocab(self) -> dict[str, int]:
        """token -> vocabulary row, of everything added so far (a new dict each time, with the compiled
        helpers: the counting keeps a token list and a table of token hashes, no dict)."""
        v = self._vocab
        return v.as_dict() if isinstance(v, TokenList) else v

    @property
    def streaming(self) -> bool:
        """True once there were more messages than the sample holds (the table gives the counts)."""
        return self.n > self.sample

    def add(self, docs: list[list[str]], labels: Iterable[int]) -> None:
        """Count a batch of feature lists (labels 1 spam / 0 ham) and let them go."""
        labels = [int(lab) for lab in labels]
        if len(labels) != len(docs):
            raise ValueError(f"expected {len(docs)} labels (one per document), got {len(labels)}")
        self.add_flat(*flat_rows(docs, self._vocab), labels)

    def add_chunk(self, tokens: ChunkTokens | list[str], lens: np.ndarray, rows: np.ndarray,
                  labels: Iterable[int]) -> None:
        """Count the messages of one chunk from :func:`_chunk_rows`: each message's distinct features as
        ``rows`` of ``tokens``, one message after the other, ``lens`` of them each (the readable messages
        only, with their ``labels``).  ``tokens`` is the chunk's :class:`ChunkTokens` (``rows`` are rows of
        that worker's tokens) or a plain list of tokens (``rows`` index it); either way each token is
        looked up once, not once per message holding it."""
        labels = [int(lab) for lab in labels]
        lens = np.asarray(lens, dtype=np.int64)
        if len(labels) != len(lens):
            raise ValueError(f"expected {len(lens)} labels (one per document), got {len(labels)}")
        if int(lens.sum()) != len(rows):
            raise ValueError(f"expected {int(lens.sum())} rows (the sum of lens), got {len(rows)}")
        mapped = self._rows_of(tokens)[rows]
        if not isinstance(tokens, ChunkTokens):   # (a worker's rows never hold -1)
            mapped, lens = without_dropped(mapped, lens)
        self.add_flat(mapped, lens, labels)

    def _rows_of(self, tokens: ChunkTokens | list[str]) -> np.ndarray:
        """Vocabulary rows of a chunk's tokens: of a list, each looked up; of a :class:`ChunkTokens`, its
        worker's rows so far, extended by its new tokens (looked up once, as they come)."""
        if not isinstance(tokens, ChunkTokens):
            return self._vocab.rows(tokens)
        buf, n = self._workers.get(tokens.worker, (np.empty(0, dtype=np.int64), 0))
        if tokens.start != n:
            raise ValueError(f"worker {tokens.worker}: its chunk starts at row {tokens.start}, expected {n}")
        end = n + len(tokens.new)
        if end > len(buf):   # amortised growth
            buf = np.concatenate((buf[:n], np.empty(max(end, 2 * len(buf)) - n, dtype=np.int64)))
        buf[n:end] = self._vocab.rows(tokens.new)
        self._workers[tokens.worker] = (buf, end)
        return buf[:end]

    def add_flat(self, rows: np.ndarray, lens: np.ndarray, labels: list[int]) -> None:
        """Count messages already mapped to this vocabulary's rows: ``rows`` one message's distinct rows after
        the other, ``lens`` how many each has."""
        fold_of = []
        end = 0
        for size, lab in zip(lens.tolist(), labels):
            start, end = end, end + size
            k = self._assign(lab)
            fold_of.append(k)
            slot = self._reservoir.slot(self.n)
            self.n += 1
            if slot is not None:
                r32 = rows[start:end].astype(np.int32)    # a copy: a view would keep the whole chunk alive
                if slot == len(self.rows):
                    self.rows.append(r32)
                    self.labels.append(lab)
                    self.fold_of.append(k)
                else:
                    self.rows[slot], self.labels[slot], self.fold_of[slot] = r32, lab, k
        self.table.add_flat(rows, lens, labels, fold_of)

    def counts(self) -> FoldCounts:
        """Everything counted so far, per token and fold (views of the table)."""
        return self.table.counts(self.vocab)

    def model(self, *, target_fpr: float = 0.001, target_fnr: float = 0.01, meta: dict | None = None,
              options: FeatureOptions | None = None, fit=None) -> Model:
        """The calibrated model of everything added (see the class); it ends the stream.  ``fit``: the
        calibration's logistic regression, when not :func:`spamscore._fit.fit_logistic` in this process
        (:class:`~spamscore._fit.FitProcess`; used past the sample only)."""
        v = self._vocab
        # the tokens in row order (the model takes the list: no dict), or a plain dict (a lookup must not add)
        self._vocab = vocab = v.tokens if isinstance(v, TokenList) else v.frozen()
        if not self.streaming:
            # every message is kept, in input order: spamscore.scoring.train's own path
            self.table = FoldTable(self._assign.folds)   # not needed
            return train(None, self.labels, rows=self.rows, vocab=vocab, folds=self.folds, seed=self.seed,
                         target_fpr=target_fpr, target_fnr=target_fnr, meta=meta, options=options,
                         nb_params=self.nb_params)
        counts = self.table.counts(vocab)
        y = np.asarray(self.labels, dtype=np.int8)
        stats = None
        if min(self.folds, int(counts.n_spam.sum()), int(counts.n_ham.sum())) >= 2 and 0 < int(y.sum()) < len(y):
            models = FoldModels(counts, self.nb_params)
            # (extraction is over: the fold sums, which run without the GIL, take every core there is)
            stats = models.statistics(self.rows, np.asarray(self.fold_of), threads=_cores())
            self.rows = []   # the sample's rows are done with (up to 20,000 arrays, ~25 MB): before the writer's peak
            nb = models.whole()
            del models
        else:
            nb = counts.model(self.nb_params)
        del counts
        self.table = FoldTable(self._assign.folds)   # the table's memory goes now
        model = calibrated_model(nb, stats, y, target_fpr=target_fpr, target_fnr=target_fnr, meta=meta,
                                 options=options, fit=fit)
        model.meta.setdefault("calibration_sample", len(y))
        return model


def _cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # (not on every platform)
        return os.cpu_count() or 1
