"""Batches: feature extraction, scoring, training and evaluation over many messages.

With ``jobs > 1`` the work is spread over processes with joblib, in chunks,
and results come back in input order.  Workers load the model themselves
from its path (once per process), so nothing but message bytes, feature lists
and verdicts crosses process boundaries.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .corpus import Item
from .errors import CorpusError
from .features import FeatureOptions, extract
from .message import DEFAULT_LIMITS, Limits, parse
from .metrics import summarize
from .scoring import Model, Verdict, load_model, train

__all__ = ["extract_items", "score_items", "train_items", "evaluate_items", "TrainReport"]

CHUNK = 64


def _chunks(it: Iterable, n: int) -> Iterator[list]:
    it = iter(it)
    while chunk := list(itertools.islice(it, n)):
        yield chunk


def _extract_chunk(raws: list[bytes | None], options: FeatureOptions, limits: Limits) -> list[list[str] | None]:
    return [None if raw is None else extract(parse(raw, limits), options) for raw in raws]


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


def _parallel(fn, chunks: Iterable[list[Item]], jobs: int, *args) -> Iterator[tuple[Item, object]]:
    """Apply ``fn(*args, raws)`` to chunks of items, in order, yielding (item, result)."""
    if jobs == 1:
        for chunk in chunks:
            yield from zip(chunk, fn([it.raw for it in chunk], *args))
        return
    from joblib import Parallel, delayed

    buffered: list[list[Item]] = []

    def tasks():
        for chunk in chunks:
            buffered.append(chunk)
            yield delayed(fn)([it.raw for it in chunk], *args)

    with Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs") as par:
        for i, results in enumerate(par(tasks())):
            yield from zip(buffered[i], results)
            buffered[i] = []


def extract_items(items: Iterable[Item], options: FeatureOptions | None = None,
                  limits: Limits = DEFAULT_LIMITS, jobs: int = 1) -> Iterator[tuple[Item, list[str] | None]]:
    """Features of each item (None where the item could not be read)."""
    yield from _parallel(_extract_chunk, _chunks(items, CHUNK), jobs, options or FeatureOptions(), limits)


def score_items(items: Iterable[Item], model: Model, jobs: int = 1, clues: int = 15) -> Iterator[tuple[Item, Verdict | None]]:
    """Verdict of each item, in input order (None where the item could not be read)."""
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
                folds: int = 5, on_item=None, meta: dict | None = None, on_stage=None) -> tuple[Model, TrainReport]:
    """Extract features from labelled items and train a calibrated model.

    ``on_stage(name, summary)`` (optional) is called when a stage starts
    (``summary`` None) and when it ends (a one-line summary): :data:`EXTRACTING`,
    then :data:`FITTING` (the token counts, the cross-validated statistics and
    the calibration: one call of :func:`spamscore.scoring.train`).  Raises
    :class:`CorpusError` when the readable items are not both spam and ham.
    """
    stage = on_stage or (lambda name, summary: None)
    t0 = time.perf_counter()
    stage(EXTRACTING, None)
    docs, labels, errors = [], [], []
    for item, feats in extract_items(items, options, jobs=jobs):
        if on_item is not None:
            on_item(item)
        if feats is None:
            errors.append((item.path, item.error or "unreadable"))
            continue
        docs.append(feats)
        labels.append(item.label)
    t1 = time.perf_counter()
    n_spam = sum(1 for lab in labels if lab == "spam")
    unreadable = f" ({len(errors):,} unreadable)" if errors else ""
    stage(EXTRACTING, f"{len(docs):,} messages{unreadable} in {t1 - t0:.1f}s")
    if n_spam == 0 or n_spam == len(labels):
        raise CorpusError(f"expected both spam and ham examples to train on, got {n_spam:,} spam and "
                          f"{len(labels) - n_spam:,} ham{unreadable}")
    stage(FITTING, None)
    model = train(docs, labels, folds=folds, meta=meta, options=options)
    t2 = time.perf_counter()
    k = min(folds, n_spam, len(labels) - n_spam)  # as train() does
    cv = f"{k}-fold cross-validation" if k >= 2 else "no cross-validation"
    stage(FITTING, f"{len(model.nb.vocabulary_):,} tokens, {cv}, in {t2 - t1:.1f}s")
    return model, TrainReport(n_spam, len(labels) - n_spam, errors, t2 - t0, t1 - t0, len(model.nb.vocabulary_))


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
