"""Training and scoring on a Dask cluster (``spamscore[dask]``).

Training is counting, and counts add up.  The client sends each worker a
*shard* of work units (paths the worker reads itself, or message bytes when
the worker could not read the source: stdin, a path given as bytes), and the
work runs in three steps, all on the workers:

1. **features**: each worker parses its shard and keeps the feature lists in
   its own memory (a Dask future); only the per-message status (read or not)
   comes back to the client;
2. **counts**: the client numbers the readable messages in input order and
   assigns them to the cross-validation folds one-process training uses
   (:func:`spamscore.scoring.train`'s up to :data:`spamscore.streaming.SAMPLE`
   messages, :class:`~spamscore.folds.FoldAssigner`'s past it, when only the
   :class:`~spamscore.folds.Reservoir` sample is calibrated on); each worker counts its shard
   per fold (a :class:`~spamscore.folds.FoldCounts`: vocabulary + spam/ham document counts,
   one column per fold), and the partial counts are summed pairwise on the workers (a tree,
   :func:`~spamscore.folds.merge_fold_counts`);
3. **calibration**: the summed table goes to every worker once; the counts of
   fold *k*'s training half are the total minus fold *k*'s column, so each
   worker scores its own messages with the model that did not see them
   (:class:`~spamscore.folds.FoldModels`, the code of one-process training) and
   returns their ``(logit I, z, S, S_text, S_meta)``.

The client then fits the same Platt calibration and cut-offs as
:func:`spamscore.scoring.train` and writes the model once.  The result equals
one-process training: same token -> count map, same calibration and
cut-offs to the last bit (clue sums are taken in sorted order, so the hash
seeds of the worker processes do not matter; ``tests/test_distributed.py``
checks it).  Only the order of the vocabulary may differ.

Every worker needs spamscore installed (same feature version: checked on
connect) and read access to the message paths it is sent.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .batch import TrainReport
from .streaming import SAMPLE
from .corpus import Item, iter_source, read_index
from .errors import SpamscoreError
from .features import FEATURE_VERSION, FeatureOptions, extract
from .folds import (FoldAssigner, FoldCounts, FoldModels, FoldTable, Reservoir, doc_rows, merge_fold_counts,
                    new_vocabulary, stratified_fold_of)
from .vocabulary import flat_rows
from .message import DEFAULT_LIMITS, Limits, parse
from .model import TokenNB, as_labels
from .scoring import Model, Verdict, calibrated_model

__all__ = ["Unit", "FoldCounts", "merge_counts", "plan_index", "plan_sources", "dask_client",
           "train_dask", "score_dask", "DistributedError"]


class DistributedError(SpamscoreError):
    """The Dask cluster cannot be used (not installed, unreachable, workers lack spamscore)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One source for a worker: ``raw is None`` means the worker reads ``path`` itself."""

    path: str
    label: str | None = None
    raw: bytes | None = None
    source: str | None = None   # the absolute path the worker opens (None: ``path``)


# ----------------------------------------------------------------------------
# planning: which sources go to the workers


def _files_of(path: str) -> Iterator[str]:
    """The files :func:`spamscore.corpus.iter_source` would visit, in its order."""
    p = Path(path)
    if not p.is_dir():
        yield path
        return
    if (p / "cur").is_dir() and (p / "new").is_dir():
        for sub in ("new", "cur"):
            for f in sorted((p / sub).iterdir()):
                if f.is_file() and not f.name.startswith("."):
                    yield str(f)
        for f in sorted(p.iterdir()):
            if f.is_dir() and f.name.startswith(".") and (f / "cur").is_dir() and (f / "new").is_dir():
                yield from _files_of(str(f))
        return
    for root, dirs, files in os.walk(p):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name != "cmds":
                yield str(Path(root) / name)


def plan_sources(paths: Iterable[str], label: str | None = None) -> list[Unit]:
    """Units for message sources: directories become their files; ``-`` is read here."""
    out = []
    for path in paths:
        if path == "-":
            out.extend(Unit(it.path, label, it.raw) for it in iter_source("-", label))
        else:
            out.extend(_unit(f, label) for f in _files_of(os.fspath(path)))
    return out


def _unit(path: str, label: str | None) -> Unit:
    """Workers may run in another folder: they open the absolute path, results keep the given one."""
    full = os.path.abspath(path)
    return Unit(path, label, None, None if full == path else full)


def plan_index(index, root=None, split=None) -> list[Unit]:
    """Units for the entries of a TSV/TREC index (see :func:`spamscore.corpus.read_index`)."""
    out = []
    for path, label in read_index(index, root, split):
        out.extend(_unit(f, label) for f in _files_of(path))
    return out


def _items(units: Sequence[Unit]) -> Iterator[Item]:
    for u in units:
        if u.raw is not None:
            yield Item(u.path, u.raw, u.label)
        elif u.source is None:
            yield from iter_source(u.path, u.label)
        else:
            for it in iter_source(u.source, u.label):   # path, or path#n for the n-th message of an mbox
                it.path = u.path + it.path[len(u.source):]
                yield it


# ----------------------------------------------------------------------------
# counts and their sum


def merge_counts(parts: Sequence[tuple], nb_params: dict | None = None) -> TokenNB:
    """Sum partial TokenNB counts into one fitted :class:`TokenNB`.

    ``parts`` is a list of ``(vocabulary, spam_counts, ham_counts, n_spam,
    n_ham)``; ``vocabulary`` is a ``{token: index}`` dict (as
    ``TokenNB.vocabulary_``) or a sequence of tokens in index order.
    """
    priors = new_vocabulary(nb_params)
    norm = [FoldCounts(dict(priors), np.zeros((len(priors), 1), np.int64), np.zeros((len(priors), 1), np.int64),
                       np.zeros(1, np.int64), np.zeros(1, np.int64))]   # the prior tokens first, as fit() has them
    for vocab, s, h, ns, nh in parts:
        if isinstance(vocab, dict):
            tokens = [None] * len(vocab)
            for tok, i in vocab.items():
                tokens[i] = tok
        else:
            tokens = list(vocab)
        norm.append(FoldCounts(dict(zip(tokens, range(len(tokens)))), np.reshape(s, (-1, 1)), np.reshape(h, (-1, 1)),
                               np.reshape(ns, 1), np.reshape(nh, 1)))
    return merge_fold_counts(*norm).model(nb_params)


# ----------------------------------------------------------------------------
# worker tasks (module-level functions: pickled by reference)


@dataclass
class _Shard:
    status: list[tuple[str, str | None, str | None]]   # (path, label, error) per item
    docs: list[tuple[str, ...]]                          # features of the readable items, in order
    labels: np.ndarray                                   # 1 spam / 0 ham, per readable item


def _extract_shard(units: list[Unit], options: FeatureOptions, limits: Limits) -> _Shard:
    status, docs, labels = [], [], []
    canon: dict[str, str] = {}  # one string object per distinct token: keeps the shard small in memory
    for item in _items(units):
        if item.raw is None or item.label not in ("spam", "ham"):
            status.append((item.path, item.label, item.error or "unreadable"))
            continue
        feats = extract(parse(item.raw, limits), options)
        docs.append(tuple(canon.setdefault(t, t) for t in set(feats) if "\n" not in t))
        labels.append(1 if item.label == "spam" else 0)
        status.append((item.path, item.label, None))
    return _Shard(status, docs, np.array(labels, dtype=np.int8))


def _shard_status(shard: _Shard) -> list[tuple[str, str | None, str | None]]:
    return shard.status


def _count_shard(shard: _Shard, folds: np.ndarray, n_folds: int, nb_params: dict) -> FoldCounts:
    vocab = new_vocabulary(nb_params)   # the prior tokens first in every part, so in their sum too
    table = FoldTable(n_folds)
    table.add_flat(*flat_rows(shard.docs, vocab, distinct=True), shard.labels, folds)
    return table.counts(dict(vocab))


_FOLD_MODELS: dict = {}
_FOLD_LOCK = threading.Lock()


def _fold_models(total: FoldCounts, key: str, nb_params: dict) -> FoldModels:
    """Each fold's model of the summed counts (built once per worker and training)."""
    with _FOLD_LOCK:
        cached = _FOLD_MODELS.get(key)
        if cached is None:
            _FOLD_MODELS.clear()
            cached = _FOLD_MODELS[key] = FoldModels(total, nb_params, eager=True)
    return cached


def _cv_shard(shard: _Shard, folds: np.ndarray, total: FoldCounts, key: str, nb_params: dict,
              keep: np.ndarray | None = None) -> np.ndarray:
    """Cross-validated ``(logit I, z, S, S_text, S_meta)`` of a shard's documents (those ``keep``
    marks, when given: the calibration sample), as one-process training computes them."""
    models = _fold_models(total, key, nb_params)
    which = np.arange(len(shard.docs)) if keep is None else np.flatnonzero(keep)
    try:
        rows = doc_rows([shard.docs[i] for i in which.tolist()], models.counts.vocab, distinct=True)
    except KeyError:
        raise DistributedError("a shard holds tokens the total counts do not: shards changed during training") from None
    return models.statistics(rows, np.asarray(folds)[which])


def _forget_fold_models() -> None:
    with _FOLD_LOCK:
        _FOLD_MODELS.clear()


def _worker_info() -> dict:
    return {"feature_version": FEATURE_VERSION, "pid": os.getpid()}


_SCORE_MODELS: dict = {}


def _score_shard(units: list[Unit], model_path: str, trusted: frozenset, clues: int):
    key = (model_path, trusted)
    model = _SCORE_MODELS.get(key)
    if model is None:
        from .scoring import load_model
        model = _SCORE_MODELS[key] = load_model(model_path, trusted_authserv_ids=trusted)
    out = []
    for item in _items(units):
        verdict = None if item.raw is None else model.score(item.raw, clues)
        out.append((item.path, item.label, verdict, item.error))
    return out


# ----------------------------------------------------------------------------
# the client side


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, memory_limit: str = "2GiB",
                timeout: float = 20.0):
    """A connected ``dask.distributed.Client``: to ``scheduler`` (``tcp://host:port``),
    or to a new LocalCluster of ``workers`` one-thread worker processes on loopback."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise DistributedError("--backend dask needs Dask: pip install 'spamscore[dask]'") from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=f"{timeout}s")
        else:
            cluster = LocalCluster(n_workers=max(1, workers or os.cpu_count() or 1), threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                   memory_limit=memory_limit, silence_logs=40)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise DistributedError(f"cannot reach the Dask scheduler {scheduler or '(local)'}: {exc}") from None
    try:
        _check_workers(client)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _check_workers(client) -> None:
    try:
        client.wait_for_workers(1, timeout=60)
        infos = client.run(_worker_info)
    except Exception as exc:  # a worker without spamscore fails to unpickle the call
        raise DistributedError(f"the Dask workers cannot run spamscore (is it installed on every worker?): "
                               f"{exc.__class__.__name__}: {exc}") from None
    bad = {w: i["feature_version"] for w, i in infos.items() if i["feature_version"] != FEATURE_VERSION}
    if bad:
        raise DistributedError(f"workers extract feature version {sorted(set(bad.values()))}, this client "
                               f"{FEATURE_VERSION!r}: install the same spamscore everywhere")


def _n_workers(client) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def _shards(units: Sequence[Unit], n_workers: int, size: int | None) -> list[list[Unit]]:
    if size is None:
        size = min(max(math.ceil(len(units) / (4 * n_workers)), 8), 2000)
    return [list(units[i:i + size]) for i in range(0, len(units), size)]


def _tree_sum(client, futures: list):
    """Sum FoldCounts futures pairwise on the workers."""
    while len(futures) > 1:
        nxt = [client.submit(merge_fold_counts, futures[i], futures[i + 1], pure=False)
               for i in range(0, len(futures) - 1, 2)]
        if len(futures) % 2:
            nxt.append(futures[-1])
        futures = nxt
    return futures[0]


@dataclass
class DaskTrainReport(TrainReport):
    """:class:`spamscore.batch.TrainReport`, and how the work was spread."""

    workers: int
    shards: int


def train_dask(units: Sequence[Unit], client, *, options: FeatureOptions | None = None,
               limits: Limits = DEFAULT_LIMITS, folds: int = 5, seed: int = 0, target_fpr: float = 0.001,
               target_fnr: float = 0.01, nb_params: dict | None = None, meta: dict | None = None,
               shard_size: int | None = None, sample: int = SAMPLE) -> tuple[Model, DaskTrainReport]:
    """Train on a Dask cluster; the model equals :func:`spamscore.batch.train_items` on the same items
    (with the same ``sample``: past it, the same stream folds and calibration sample)."""
    t0 = time.perf_counter()
    options = options or FeatureOptions()
    nb_params = dict(nb_params or {})
    n_workers = _n_workers(client)
    shards = _shards(units, n_workers, shard_size)
    if not shards:
        raise DistributedError("no messages to train on")
    shard_f = [client.submit(_extract_shard, s, options, limits, pure=False) for s in shards]
    statuses = client.gather([client.submit(_shard_status, f, pure=False) for f in shard_f])
    t1 = time.perf_counter()
    errors = [(p, e) for st in statuses for p, _, e in st if e is not None]
    sizes = [sum(1 for *_, e in st if e is None) for st in statuses]
    y = as_labels([lab for st in statuses for _, lab, e in st if e is None])
    if len(set(y.tolist())) < 2:
        for f in shard_f:
            f.cancel()
        raise DistributedError("expected both spam and ham examples to train on")
    n_folds = min(folds, int(min(y.sum(), len(y) - y.sum())))
    fold_of = np.zeros(len(y), dtype=np.int64)
    keep = order = None
    if len(y) <= sample:
        # the folds of spamscore.scoring.train (folds.cv_statistics), assigned here
        if n_folds >= 2:
            fold_of = stratified_fold_of(y, n_folds, seed)
        width = max(n_folds, 1)
    else:
        # past the sample: the folds and the calibration sample of streaming.StreamingCounts,
        # which depend on the labels' order and the seed only
        assign = FoldAssigner(folds if folds >= 2 else 1, seed)
        fold_of[:] = [assign(v) for v in y.tolist()]
        width = assign.folds
        res = Reservoir(sample, seed)
        kept = np.zeros(sample, dtype=np.int64)
        for i in range(len(y)):
            s = res.slot(i)
            if s is not None:
                kept[s] = i
        keep = np.zeros(len(y), dtype=bool)
        keep[kept] = True
        order = np.argsort(np.argsort(kept))   # slot s's row among the kept messages in input order
        if not 0 < int(y[kept].sum()) < sample:
            n_folds = 0                        # a sample of one class: no calibration (as one process)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    shard_folds = [fold_of[bounds[i]:bounds[i + 1]] for i in range(len(shards))]
    counts = [client.submit(_count_shard, f, sf, width, nb_params, pure=False) for f, sf in zip(shard_f, shard_folds)]
    total_f = _tree_sum(client, counts)
    stats = y_cal = None
    if n_folds >= 2:
        key = f"{time.time_ns()}-{id(total_f)}"
        shard_keep = [None if keep is None else keep[bounds[i]:bounds[i + 1]] for i in range(len(shards))]
        parts = [client.submit(_cv_shard, f, sf, total_f, key, nb_params, sk, pure=False)
                 for f, sf, sk in zip(shard_f, shard_folds, shard_keep)]
        stats = np.concatenate([p for p in client.gather(parts) if len(p)]) if len(y) else np.zeros((0, 5))
        y_cal = y
        if keep is not None:   # in the sample's slot order, as one process holds it
            stats, y_cal = stats[order], y[kept]
    total: FoldCounts = total_f.result()
    for f in shard_f:
        f.release()
    if n_folds >= 2:
        client.run(_forget_fold_models)   # long-lived clusters keep no memory of this training
    # the calibration of spamscore.scoring.train, on the same statistics
    model = calibrated_model(total.model(nb_params), stats, y_cal, target_fpr=target_fpr, target_fnr=target_fnr,
                             meta=meta, options=options, limits=limits)
    if keep is not None:
        model.meta.setdefault("calibration_sample", sample)
    nb = model.nb
    n_spam = int(y.sum())
    return model, DaskTrainReport(n_spam, len(y) - n_spam, errors, time.perf_counter() - t0, t1 - t0,
                                  len(nb.vocabulary_), n_workers, len(shards))


def score_dask(units: Iterable[Unit], model_path: str | os.PathLike, client, *, trusted: Iterable[str] = (),
               clues: int = 15, shard_size: int = 256) -> Iterator[tuple[str, str | None, Verdict | None, str | None]]:
    """``(path, label, verdict or None, error)`` per message, in input order; workers load the model from its path."""
    path = os.fspath(Path(model_path).resolve())
    ids = frozenset(t.lower() for t in trusted)
    window = 2 * _n_workers(client)
    pending: list = []
    it = iter(units)
    while True:
        while len(pending) < window:
            shard = list(itertools.islice(it, shard_size))
            if not shard:
                break
            pending.append(client.submit(_score_shard, shard, path, ids, clues, pure=False))
        if not pending:
            return
        yield from pending.pop(0).result()
