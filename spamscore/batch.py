"""Batches: feature extraction, scoring, training and evaluation over many messages.

With ``jobs > 1`` the work is spread over processes (joblib's for scoring and
extraction, training's own loky executor), in chunks, and results come back in
input order.  Workers load the model themselves from its path (once per
process), so nothing but message bytes (or the paths of deferred items, read by
the worker), feature lists (their rows in a chunk's token list, for training)
and verdicts crosses process boundaries.  Training counts into a
:class:`~spamscore.streaming.StreamingCounts`.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ._fit import FitProcess
from .corpus import Item, iter_source, read_deferred
from .errors import CorpusError
from .features import FeatureOptions, extract
from .message import DEFAULT_LIMITS, Limits, parse
from .metrics import summarize
from .scoring import Model, Verdict, load_model
from .streaming import SAMPLE, ChunkTokens, StreamingCounts
from .vocabulary import token_rows, without_dropped

__all__ = ["extract_items", "score_items", "train_items", "evaluate_items", "TrainReport", "StreamingCounts", "SAMPLE",
           "ChunkTokens"]

CHUNK = 64
# Training's chunks are larger: the parent pays ~1 ms of the executor's work a chunk (0.55 -> 0.3 s of its
# CPU over the TREC-sized run with 256), and the workers keep their tokens across chunks anyway.
TRAIN_CHUNK = 256


def _chunks(it: Iterable, n: int) -> Iterator[list]:
    it = iter(it)
    while chunk := list(itertools.islice(it, n)):
        yield chunk


def _extract_chunk(raws: list[bytes | None], options: FeatureOptions, limits: Limits) -> list[list[str] | None]:
    return [None if raw is None else extract(parse(raw, limits), options) for raw in raws]


_RUN: dict = {}   # in a worker process: the training run it counts for, and its tokens


def _chunk_rows(raws: list[bytes | str | None], options: FeatureOptions,
                limits: Limits, run: str = "") -> tuple[ChunkTokens, np.ndarray, np.ndarray, list | None]:
    """Training's features of a chunk, for the parent to count: ``(tokens, lens, rows, expanded)``, where
    ``rows`` (int32) are each readable message's distinct features as this worker's rows, one message after
    the other, ``lens`` (int32) how many each message has (-1: unreadable), and ``tokens`` the chunk's
    :class:`ChunkTokens`, the features this worker had not met before.  A few objects a chunk cross to the
    parent, whatever its size.

    A str in ``raws`` is a deferred item's source (:func:`spamscore.corpus.read_deferred`), read here: its
    messages take its place, and ``expanded`` says, per element of ``raws``, None (one message, as given:
    a readable file) or each message's ``(path, error)``; ``expanded`` is None when every element is one
    message as given.  Reading here, not in the parent, took the parent's CPU during the TREC-sized run's
    extraction from ~0.9 s to ~0.2 s for reading and sending the messages (200 MB through the workers'
    pipes).

    The worker keeps its rows across the chunks of a run (a :class:`~spamscore.vocabulary.TokenRows`:
    hashes, no strings), so a feature crosses to the parent, and the parent looks it up, once per worker
    instead of once per chunk holding it: the parent, which counts every message, set the pace with
    ``--jobs 2`` (12,000 mutated SA messages: 2.8 s of its 9.4 s went to looking up each chunk's whole
    token list).
    """
    if _RUN.get("run") != run:
        _RUN.clear()
        _RUN.update(run=run, tokens=token_rows())
    expanded = None
    if any(isinstance(r, str) for r in raws):   # deferred items' sources, read here (read_deferred)
        expanded, flat = [], []
        for r in raws:
            msgs = list(iter_source(r)) if isinstance(r, str) else None
            if msgs is not None and not (len(msgs) == 1 and msgs[0].path == r and msgs[0].error is None):
                expanded.append([(it.path, it.error) for it in msgs])   # (an mbox, a directory, an error)
                flat.extend(it.raw for it in msgs)
            else:   # one message, as given (the common case: nothing to say)
                expanded.append(None)
                flat.append(r if msgs is None else msgs[0].raw)
        raws = flat
        if not any(expanded):
            expanded = None
    local = _RUN["tokens"]
    start = len(local)
    new: list[str] = []
    feats: list[str] = []
    lens = np.empty(len(raws), dtype=np.int32)
    for i, raw in enumerate(raws):
        if raw is None:
            lens[i] = -1
            continue
        distinct = set(extract(parse(raw, limits), options))
        lens[i] = len(distinct)
        feats.extend(distinct)
    rows = local.rows(feats, new)
    if len(rows) and rows.min() < 0:   # tokens holding a newline: not stored, not counted
        readable = lens >= 0
        rows, lens[readable] = without_dropped(rows, lens[readable].astype(np.int64))
    return ChunkTokens(f"{os.getpid()}:{run}", start, new), lens, rows.astype(np.int32), expanded


_MODELS: dict = {}


def _worker_model(path: str | None, options: FeatureOptions, limits: Limits) -> Model:
    """The model a worker process scores with: loaded once, with the caller's options and limits."""
    key = (path, options, limits)
    model = _MODELS.get(key)
    if model is None:
        model = load_model(path).with_options(**options.__dict__, limits=limits)
        _MODELS[key] = model
    return model


def _score_chunk(raws: list[bytes | None], path: str | None, options: FeatureOptions, limits: Limits,
                 clues: int) -> list[Verdict | None]:
    model = _worker_model(path, options, limits)
    return [None if raw is None else model.score(raw, clues) for raw in raws]


def _raw(item: Item) -> bytes | None:
    return item.raw


def _parallel_chunks(fn, chunks: Iterable[list[Item]], jobs: int, *args) -> Iterator[tuple[list[Item], object]]:
    """Apply ``fn([item.raw for item in chunk], *args)`` to chunks of items on joblib's processes, in order,
    yielding (chunk, result)."""
    if jobs == 1:
        for chunk in chunks:
            yield chunk, fn([it.raw for it in chunk], *args)
        return
    from joblib import Parallel, delayed

    buffered: list[list[Item]] = []

    def tasks():
        for chunk in chunks:
            buffered.append(chunk)
            yield delayed(fn)([it.raw for it in chunk], *args)

    with Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs") as par:
        for i, result in enumerate(par(tasks())):
            yield buffered[i], result
            buffered[i] = []


def _source(item: Item) -> bytes | str | None:
    """What a training worker gets of an item: its bytes, or the source to read of a deferred one."""
    return item.path if item.deferred else item.raw


def _worker_start() -> None:
    """A training worker's start: the objects of its imports leave the cyclic collector's generations
    (``gc.freeze``) and a collection waits for 10,000 new container objects instead of 700.  Extraction makes
    short-lived lists, sets and tuples by the hundred a message and no cycles of its own; the collector
    walking them (and every imported module's objects) was ~3% of a worker's instructions (callgrind, 1,500
    messages)."""
    import gc

    gc.freeze()
    gc.set_threshold(10_000, 50, 50)


def _pool_chunks(fn, chunks: Iterable[list[Item]], jobs: int, *args, payload=_raw) -> Iterator[tuple[list[Item], object]]:
    """:func:`_parallel_chunks` with ``payload(item)`` for each item (its raw bytes by default) on processes of
    its own (loky's executor, as joblib's, not joblib's shared
    one), ended as soon as the chunks are, without waiting for them: training's workers hold their token
    tables (tens of MB each) that nothing else can use, and letting them go while the parent fits and writes
    the model, instead of at the interpreter's exit (which waited for joblib's), took ~0.2 s off the
    TREC-sized run's wall time.  At most ``2 * jobs`` chunks wait in the workers' queue (joblib's
    ``pre_dispatch``); results come in order."""
    from collections import deque

    from joblib.externals.loky import ProcessPoolExecutor

    pool = ProcessPoolExecutor(jobs, initializer=_worker_start)
    window: deque = deque()
    try:
        for chunk in chunks:
            window.append((chunk, pool.submit(fn, [payload(it) for it in chunk], *args)))
            if len(window) > 2 * jobs:
                first, future = window.popleft()
                yield first, future.result()
        while window:
            first, future = window.popleft()
            yield first, future.result()
    finally:
        # (stopped early, by an error or the caller: the chunks not started are dropped; the workers end
        # after the one each has in hand.  kill_workers raced loky's own thread: a KeyError on stderr)
        for _, future in window:
            future.cancel()
        pool.shutdown(wait=False)


def _parallel(fn, chunks: Iterable[list[Item]], jobs: int, *args) -> Iterator[tuple[Item, object]]:
    """Apply ``fn(raws, *args)`` to chunks of items, in order, yielding (item, result) (``fn`` gives a
    result per item)."""
    for chunk, results in _parallel_chunks(fn, chunks, jobs, *args):
        yield from zip(chunk, results)


def extract_items(items: Iterable[Item], options: FeatureOptions | None = None,
                  limits: Limits = DEFAULT_LIMITS, jobs: int = 1) -> Iterator[tuple[Item, list[str] | None]]:
    """Features of each item (None where the item could not be read)."""
    yield from _parallel(_extract_chunk, _chunks(read_deferred(items), CHUNK), jobs, options or FeatureOptions(), limits)


def score_items(items: Iterable[Item], model: Model, jobs: int = 1, clues: int = 15) -> Iterator[tuple[Item, Verdict | None]]:
    """Verdict of each item, in input order (None where the item could not be read)."""
    items = read_deferred(items)
    if jobs == 1:
        for it in items:
            yield it, (None if it.raw is None else model.score(it.raw, clues))
        return
    yield from _parallel(_score_chunk, _chunks(items, CHUNK), jobs, model.path, model.options, model.limits, clues)


@dataclass
class TrainReport:
    spam: int
    ham: int
    errors: list[tuple[str, str]]
    seconds: float
    extract_seconds: float
    vocabulary: int


EXTRACTING = "extracting"
FITTING = "counting, cross-validation and calibration"

def train_items(items: Iterable[Item], *, jobs: int = 1, options: FeatureOptions | None = None,
                folds: int = 5, on_item=None, meta: dict | None = None, on_stage=None,
                sample: int = SAMPLE, seed: int = 0) -> tuple[Model, TrainReport]:
    """Extract features from labelled items and train a calibrated model, in memory that grows with
    the vocabulary, not with the number of messages (:class:`StreamingCounts`).

    ``on_stage(name, summary)`` (optional) is called when a stage starts
    (``summary`` None) and when it ends (a one-line summary): :data:`EXTRACTING`
    (features, counted as they come), then :data:`FITTING` (the cross-validated
    statistics and the calibration).  Up to ``sample`` readable messages the
    model is :func:`spamscore.scoring.train`'s on their feature lists, bit for
    bit; past it, the calibration is fitted on a seeded sample of ``sample``
    messages.  Raises :class:`CorpusError` when the readable items are not both
    spam and ham.
    """
    stage = on_stage or (lambda name, summary: None)
    t0 = time.perf_counter()
    stage(EXTRACTING, None)
    acc = StreamingCounts(folds, sample=sample, seed=seed)
    errors: list[tuple[str, str]] = []
    n_spam = 0
    fitter: FitProcess | None = None

    def check(item: Item, readable: bool) -> int | None:
        """The item's label as 1 / 0, None if it could not be read."""
        if on_item is not None:
            on_item(item)
        if not readable:
            errors.append((item.path, item.error or "unreadable"))
            return None
        if item.label not in ("spam", "ham"):
            raise CorpusError(f"{item.path}: expected the label 'spam' or 'ham' to train on, got {item.label!r}")
        return 1 if item.label == "spam" else 0

    try:
        if jobs == 1:
            docs: list[list[str]] = []
            labels: list[int] = []
            for item, feats in extract_items(items, options, jobs=1):
                label = check(item, feats is not None)
                if label is None:
                    continue
                docs.append(feats)
                labels.append(label)
                if len(docs) == _BATCH:
                    n_spam += sum(labels)
                    acc.add(docs, labels)
                    docs, labels = [], []
                    fitter = fitter or _fitter(acc, folds)
            n_spam += sum(labels)
            acc.add(docs, labels)
            del docs, labels
        else:
            run = f"{os.getpid()}-{time.monotonic_ns()}"   # workers keep their tokens across this run's chunks
            for chunk, (tokens, lens, rows, expanded) in _pool_chunks(
                    _chunk_rows, _chunks(items, TRAIN_CHUNK), jobs, options or FeatureOptions(), DEFAULT_LIMITS, run,
                    payload=_source):
                if expanded is not None:   # deferred items: each of their messages (read in the worker)
                    chunk = [m for item, ex in zip(chunk, expanded)
                             for m in ([item] if ex is None else [Item(p, None, item.label, e) for p, e in ex])]
                labels = [lab for item, size in zip(chunk, lens.tolist()) if (lab := check(item, size >= 0)) is not None]
                n_spam += sum(labels)
                acc.add_chunk(tokens, lens[lens >= 0], rows, labels)
                fitter = fitter or _fitter(acc, folds)
        t1 = time.perf_counter()
        n = acc.n
        unreadable = f" ({len(errors):,} unreadable)" if errors else ""
        stage(EXTRACTING, f"{n:,} messages{unreadable} in {t1 - t0:.1f}s")
        if n_spam == 0 or n_spam == n:
            raise CorpusError(f"expected both spam and ham examples to train on, got {n_spam:,} spam and "
                              f"{n - n_spam:,} ham{unreadable}")
        stage(FITTING, None)
        model = acc.model(meta=meta, options=options, fit=None if fitter is None else fitter.fit_logistic)
        t2 = time.perf_counter()
        k = min(folds, n_spam, n - n_spam)  # as train() does
        cv = f"{k}-fold cross-validation" if k >= 2 else "no cross-validation"
        if acc.streaming and k >= 2:
            cv += f" (calibrated on a sample of {len(acc.labels):,})"
        stage(FITTING, f"{len(model.nb.token_list()):,} tokens, {cv}, in {t2 - t1:.1f}s")
    finally:
        if fitter is not None:
            fitter.close()
    return model, TrainReport(n_spam, n - n_spam, errors, t2 - t0, t1 - t0, len(model.nb.token_list()))


def _fitter(acc: StreamingCounts, folds: int) -> FitProcess | None:
    """Past the sample, a child process for the calibration's logistic regression (:class:`FitProcess`), which
    imports scikit-learn while this process and its workers go on extracting: the import came after the
    extraction before (1.2 s), and its ~100 MB stay out of this process, which then writes the model (its
    peak).  None before (below the sample, :func:`spamscore.scoring.train` calibrates here)."""
    return FitProcess() if acc.streaming and folds >= 2 else None


# Feature lists are mapped to vocabulary rows and counted this many at a time.
_BATCH = 256


def evaluate_items(items: Iterable[Item], model: Model, jobs: int = 1) -> tuple[dict, list[tuple[str, str]]]:
    """Metrics of ``model`` on labelled items, and the items that could not be read."""
    y, scores, labels, errors = [], [], [], []
    for item, verdict in score_items(items, model, jobs=jobs, clues=0):
        if verdict is None:
            errors.append((item.path, item.error or "unreadable"))
            continue
        y.append(1 if item.label == "spam" else 0)
        scores.append(verdict.score)
        labels.append(verdict.label)
    out = summarize(np.array(y), np.array(scores), np.array(labels))
    out.update(spam_cutoff=model.spam_cutoff, ham_cutoff=model.ham_cutoff,
               model=os.fspath(model.path) if model.path else None, unreadable=len(errors))
    return out, errors
