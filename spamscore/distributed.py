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
   (:func:`spamscore.scoring.train`'s up to :data:`spamscore.batch.SAMPLE`
   messages, :class:`~spamscore.batch.FoldAssigner`'s past it, when only the
   :class:`~spamscore.batch.Reservoir` sample is calibrated on); each worker counts its shard
   per fold (vocabulary + spam/ham document counts, one column per fold), and
   the partial counts are summed pairwise on the workers (a tree);
3. **calibration**: the summed table goes to every worker once; the counts of
   fold *k*'s training half are the total minus fold *k*'s column, so each
   worker scores its own messages with the model that did not see them and
   returns the two Fisher statistics per message.

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

from .batch import SAMPLE, FoldAssigner, Reservoir, TrainReport
from .corpus import Item, iter_source, read_index
from .errors import SpamscoreError
from .features import FEATURE_VERSION, FeatureOptions, extract
from .message import DEFAULT_LIMITS, Limits, parse
from .model import DEFAULT_PRIORS, TokenNB, _as_labels
from .scoring import Calibration, Model, Verdict, calibrate

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


@dataclass
class FoldCounts:
    """Document counts per token and per fold: ``spam[i, k]`` spam messages of fold k holding token i."""

    tokens: list[str]
    spam: np.ndarray      # (V, F) int64
    ham: np.ndarray       # (V, F) int64
    n_spam: np.ndarray    # (F,) int64
    n_ham: np.ndarray     # (F,) int64


def _merge_arrays(parts: Sequence[tuple]) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum (tokens, spam, ham, n_spam, n_ham) tuples; tokens keep first-seen order."""
    vocab: dict[str, int] = {}
    maps = []
    for tokens, *_ in parts:
        tokens = list(tokens)
        maps.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int64,
                                count=len(tokens)))
    tail = np.shape(parts[0][1])[1:] if parts else ()
    spam = np.zeros((len(vocab),) + tail, dtype=np.int64)
    ham = np.zeros((len(vocab),) + tail, dtype=np.int64)
    n_spam = np.zeros(tail, dtype=np.int64)
    n_ham = np.zeros(tail, dtype=np.int64)
    for m, (tokens, s, h, ns, nh) in zip(maps, parts):
        s, h = np.asarray(s, dtype=np.int64), np.asarray(h, dtype=np.int64)
        if s.shape != (len(m),) + tail or h.shape != s.shape:
            raise ValueError(f"expected counts of shape {(len(m),) + tail}, got {s.shape} and {h.shape}")
        spam[m] += s     # m holds each index once, so fancy += is exact
        ham[m] += h
        n_spam = n_spam + np.asarray(ns, dtype=np.int64)
        n_ham = n_ham + np.asarray(nh, dtype=np.int64)
    return vocab, spam, ham, n_spam, n_ham


def _vocabulary(tokens: Sequence[str], nb_params: dict | None = None) -> tuple[dict[str, int], np.ndarray]:
    """The vocabulary ``fit`` would make of these tokens (prior tokens first), and each token's row."""
    priors = (nb_params or {}).get("priors")
    vocab: dict[str, int] = {}
    for tok in (priors if priors is not None else DEFAULT_PRIORS):
        vocab.setdefault(tok, len(vocab))
    for tok in tokens:
        vocab.setdefault(tok, len(vocab))
    return vocab, np.fromiter((vocab[t] for t in tokens), dtype=np.int64, count=len(tokens))


def _placed(values: np.ndarray, pos: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.int64)
    out[pos] = values
    return out


def _nb_from_counts(tokens: Sequence[str], spam: np.ndarray, ham: np.ndarray, n_spam: int, n_ham: int,
                    nb_params: dict | None = None) -> TokenNB:
    """A fitted :class:`TokenNB` holding these counts (prior tokens first, as ``fit`` does)."""
    vocab, pos = _vocabulary(tokens, nb_params)
    return TokenNB.from_counts(vocab, _placed(spam, pos, len(vocab)), _placed(ham, pos, len(vocab)),
                               n_spam, n_ham, **(nb_params or {}))


def merge_counts(parts: Sequence[tuple], nb_params: dict | None = None) -> TokenNB:
    """Sum partial TokenNB counts into one fitted :class:`TokenNB`.

    ``parts`` is a list of ``(vocabulary, spam_counts, ham_counts, n_spam,
    n_ham)``; ``vocabulary`` is a ``{token: index}`` dict (as
    ``TokenNB.vocabulary_``) or a sequence of tokens in index order.
    """
    norm = []
    for vocab, s, h, ns, nh in parts:
        if isinstance(vocab, dict):
            tokens = [None] * len(vocab)
            for tok, i in vocab.items():
                tokens[i] = tok
        else:
            tokens = list(vocab)
        norm.append((tokens, s, h, ns, nh))
    vocab, spam, ham, n_spam, n_ham = _merge_arrays(norm)
    return _nb_from_counts(list(vocab), spam, ham, int(n_spam), int(n_ham), nb_params)


def _merge_folds(*parts: FoldCounts) -> FoldCounts:
    vocab, spam, ham, ns, nh = _merge_arrays([(p.tokens, p.spam, p.ham, p.n_spam, p.n_ham) for p in parts])
    return FoldCounts(list(vocab), spam, ham, ns, nh)


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


def _count_shard(shard: _Shard, folds: np.ndarray, n_folds: int) -> FoldCounts:
    vocab: dict[str, int] = {}
    spam_idx: list[int] = []
    ham_idx: list[int] = []
    for doc, k, y in zip(shard.docs, folds.tolist(), shard.labels.tolist()):
        target = spam_idx if y else ham_idx
        for tok in doc:
            i = vocab.get(tok)
            if i is None:
                i = vocab[tok] = len(vocab)
            target.append(i * n_folds + k)
    size = len(vocab) * n_folds
    spam = np.bincount(np.asarray(spam_idx, dtype=np.int64), minlength=size).reshape(-1, n_folds)
    ham = np.bincount(np.asarray(ham_idx, dtype=np.int64), minlength=size).reshape(-1, n_folds)
    n_spam = np.bincount(folds[shard.labels == 1], minlength=n_folds).astype(np.int64)
    n_ham = np.bincount(folds[shard.labels == 0], minlength=n_folds).astype(np.int64)
    return FoldCounts(list(vocab), spam, ham, n_spam, n_ham)


_FOLD_MODELS: dict = {}
_FOLD_LOCK = threading.Lock()


def _fold_models(total: FoldCounts, key: str, nb_params: dict) -> tuple[list[TokenNB], dict[str, int], np.ndarray]:
    """Each fold's training-half counts (total minus the fold's column) over one shared vocabulary,
    and that vocabulary's meta mask: what :func:`spamscore.scoring._fold_evidence` scores with
    (built once per worker and training)."""
    from .scoring import meta_mask

    with _FOLD_LOCK:
        cached = _FOLD_MODELS.get(key)
        if cached is None:
            _FOLD_MODELS.clear()
            all_spam, all_ham = total.spam.sum(axis=1), total.ham.sum(axis=1)
            vocab, pos = _vocabulary(total.tokens, nb_params)
            size = len(vocab)
            # tokens only in fold k keep zero counts: f(w) is the prior, no clue (as in one process)
            nbs = [TokenNB.from_counts(vocab, _placed(all_spam - total.spam[:, k], pos, size),
                                       _placed(all_ham - total.ham[:, k], pos, size),
                                       int(total.n_spam.sum() - total.n_spam[k]),
                                       int(total.n_ham.sum() - total.n_ham[k]), **nb_params)
                   for k in range(total.spam.shape[1])]
            cached = (nbs, vocab, meta_mask(list(vocab)))
            _FOLD_MODELS[key] = cached
    return cached


def _cv_shard(shard: _Shard, folds: np.ndarray, total: FoldCounts, key: str, nb_params: dict,
              keep: np.ndarray | None = None) -> np.ndarray:
    """Cross-validated ``(logit I, z, S, S_text, S_meta)`` of a shard's documents (those ``keep``
    marks, when given: the calibration sample): the code of one-process training
    (``scoring._fold_evidence``) on this worker's documents."""
    from .scoring import _doc_rows, _fold_evidence

    nbs, vocab, meta = _fold_models(total, key, nb_params)
    try:
        rows = _doc_rows(shard.docs, vocab, add=False)
    except KeyError:
        raise DistributedError("a shard holds tokens the total counts do not: shards changed during training") from None
    out = np.zeros((len(shard.docs), 5))
    fold_of = np.asarray(folds)
    for k, nb in enumerate(nbs):
        which = np.flatnonzero((fold_of == k) if keep is None else (fold_of == k) & keep)
        if len(which):
            out[which] = _fold_evidence(nb, rows, which, meta)
    return out if keep is None else out[keep]


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
        nxt = [client.submit(_merge_folds, futures[i], futures[i + 1], pure=False)
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
    from ._fit import stratified_folds

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
    y = _as_labels([lab for st in statuses for _, lab, e in st if e is None])
    if len(set(y.tolist())) < 2:
        for f in shard_f:
            f.cancel()
        raise DistributedError("expected both spam and ham examples to train on")
    n_folds = min(folds, int(min(y.sum(), len(y) - y.sum())))
    fold_of = np.zeros(len(y), dtype=np.int64)
    keep = order = None
    if len(y) <= sample:
        # the folds of spamscore.scoring.train (_cv_statistics), assigned here
        if n_folds >= 2:
            for k, test_idx in enumerate(stratified_folds(y, n_folds, seed)):
                fold_of[test_idx] = k
        width = max(n_folds, 1)
    else:
        # past the sample: the folds and the calibration sample of batch.StreamingCounts,
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
    counts = [client.submit(_count_shard, f, sf, width, pure=False) for f, sf in zip(shard_f, shard_folds)]
    total_f = _tree_sum(client, counts)
    cal, spam_cut, ham_cut = Calibration(), 0.9, 0.2
    if n_folds >= 2:
        key = f"{time.time_ns()}-{id(total_f)}"
        shard_keep = [None if keep is None else keep[bounds[i]:bounds[i + 1]] for i in range(len(shards))]
        parts = [client.submit(_cv_shard, f, sf, total_f, key, nb_params, sk, pure=False)
                 for f, sf, sk in zip(shard_f, shard_folds, shard_keep)]
        stats = np.concatenate([p for p in client.gather(parts) if len(p)]) if len(y) else np.zeros((0, 5))
        y_cal = y
        if keep is not None:   # in the sample's slot order, as one process holds it
            stats, y_cal = stats[order], y[kept]
        # the calibration of spamscore.scoring.train, on the same statistics
        cal, spam_cut, ham_cut = calibrate(stats, y_cal, target_fpr, target_fnr)
    total: FoldCounts = total_f.result()
    for f in shard_f:
        f.release()
    if n_folds >= 2:
        client.run(_forget_fold_models)   # long-lived clusters keep no memory of this training
    nb = _nb_from_counts(total.tokens, total.spam.sum(axis=1), total.ham.sum(axis=1),
                         int(total.n_spam.sum()), int(total.n_ham.sum()), nb_params)
    meta = dict(meta or {})
    meta.setdefault("trained_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if keep is not None:
        meta.setdefault("calibration_sample", sample)
    model = Model(nb, calibration=cal, spam_cutoff=spam_cut, ham_cutoff=ham_cut, options=options,
                  limits=limits, meta=meta)
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
