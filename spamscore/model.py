"""The classifier: per-token naive Bayes evidence (Robinson), combined per message.

Training is counting.  For every feature we keep in how many spam and how
many ham messages it occurred (binary document counts, like scikit-learn's
``BernoulliNB.feature_count_``).  Scoring follows Gary Robinson's method as
used by SpamBayes and Bogofilter, which ranked far better on the SpamAssassin
split than scikit-learn's MultinomialNB, BernoulliNB and ComplementNB over the
same features (``training/COMPARISON.md``):

* each token's spam probability ``p(w) = (b/nb) / (b/nb + g/ng)`` is shrunk
  towards a prior ``x`` with strength ``s``:
  ``f(w) = (s*x + n*p(w)) / (s + n)``, with ``n = b + g``;
* only tokens with ``|f(w) - 0.5| >= min_dev`` count (the clues);
* three statistics combine them (``spamscore.scoring.Model.evidence``):
  Fisher's chi-square, ``Qh = chi2Q(-2 sum ln f, 2k)`` small when the clues
  are hammy and ``Qs = chi2Q(-2 sum ln(1-f), 2k)`` when spammy, gives the
  logit of SpamBayes' indicator ``(1 + Qh - Qs) / 2`` and ``z = ln Qh - ln Qs``
  (both in log space: they never underflow or saturate); Robinson's
  geometric-mean indicator ``S`` (:func:`robinson_s`) ranked best in
  cross-validation and is what the shipped calibration uses.

A logistic fit on cross-validated training statistics (Platt scaling) turns
the ranking into a calibrated probability.  Each clue's signed contribution
is its log-odds ``ln(f / (1 - f))``.

The file format (2) is one file mapped read-only and used in place: the
scorer's tables as they are in memory, then the vocabulary and counts
(:mod:`spamscore.modelfile`).  Format 1, a NumPy ``.npz`` archive of plain
arrays and a JSON header read with ``allow_pickle=False``, still loads.
Loading a model never executes code.  Writing is atomic (temporary file,
then rename).
"""

from __future__ import annotations

import io
import json
import math
import operator
import os
import re
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress

import numpy as np

from .errors import ModelError, ModelFormatError, ModelVersionError
from .features.bulk import BULK_PRIORS
from .features.japanese import JA_PHRASE_PRIORS

from . import _native

_speedups = _native.load("_speedups")  # the compiled lookup; None: the numpy code below does the same

__all__ = ["TokenNB", "AUTH_PRIORS", "DEFAULT_PRIORS", "FORMAT_VERSION", "clue_sums", "save_model_file", "load_model_file"]

FORMAT_VERSION = 2  # what save_model_file writes (spamscore.modelfile); 1, the .npz archive, still loads
NPZ_FORMAT_VERSION = 1
MAGIC = "spamscore-model"

# Prior beliefs (x, s) for authentication tokens, used when training data has
# few or none of them (the SpamAssassin corpus has none).  x is the prior spam
# probability, s its strength in pseudo-messages: with s=3, three real
# messages weigh as much as the prior.  The values follow how receivers weigh
# these results (a DMARC failure is strong evidence, an aligned DKIM pass is
# good evidence of legitimate mail).  They must lie at least TokenNB's
# min_dev (0.44) from 0.5 to count as clues at all: a prior of 0.92 would be
# ignored.  They are about as strong as a word seen once in training (0.956),
# and in the header family's S (with its neutral pseudo-clues) none alone
# pushes a message past the spam cut-off.
AUTH_PRIORS: dict[str, tuple[float, float]] = {
    "auth:dmarc=fail": (0.95, 3.0),
    "auth:dmarc=pass": (0.05, 3.0),
    "auth:spf=fail": (0.95, 3.0),
    "auth:spf=softfail": (0.945, 3.0),
    "auth:dkim=fail": (0.95, 3.0),
    "auth:dkim=pass:aligned": (0.05, 3.0),
    "auth:spf=pass:aligned": (0.055, 3.0),
    "auth:arc=fail": (0.945, 3.0),
    "spf-hdr:fail": (0.95, 3.0),
    "spf-hdr:softfail": (0.945, 3.0),
}

# Every prior a new model starts from: authentication results (above),
# legitimate bulk-sending structure (spamscore.features.bulk) and Japanese
# phrases (spamscore.features.japanese).  A model file stores the
# priors it was trained with.
DEFAULT_PRIORS: dict[str, tuple[float, float]] = {**AUTH_PRIORS, **BULK_PRIORS, **JA_PHRASE_PRIORS}

def _cjk_flags(tokens) -> np.ndarray:
    """Which of ``tokens`` hold a CJK character."""
    search = _CJK_CHAR.search
    return np.fromiter((not t.isascii() and search(t) is not None for t in tokens), dtype=bool, count=len(tokens))


_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")

_LOGFACT_MAX = 20001
_LOGFACT = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, _LOGFACT_MAX)))))


def _log_series(m: float, start: int, stop: int) -> float:
    """ln(e^-m * sum_{start <= i < stop} m^i / i!), in log space."""
    i = np.arange(start, stop)
    terms = i * math.log(m) - _LOGFACT[start:stop]
    top = terms.max()
    return -m + top + math.log(np.exp(terms - top).sum())


def _gammainc(k, m):
    # scipy.special is imported on first use: 0.3 s of start-up that the
    # shipped calibration (Robinson's S statistics only) never needs.
    from scipy.special import gammainc

    return gammainc(k, m)


def _gammaincc(k, m):
    from scipy.special import gammaincc

    return gammaincc(k, m)


def log_chi2q(m: float, k: int) -> float:
    """ln P(chi2 with 2k degrees of freedom >= 2m), for k >= 1.

    For even degrees of freedom Q = e^-m * sum_{i<k} m^i / i!, the regularized
    upper incomplete gamma function Q(k, m).  scipy computes it in C; where it
    underflows we sum the series in log space, so that ranking by it keeps
    working for messages with overwhelming evidence.
    """
    if m <= 0.0:
        return 0.0
    k = min(k, _LOGFACT_MAX - 1)
    q = float(_gammaincc(k, m))
    if q > 1e-280:
        return math.log(q)
    return min(0.0, _log_series(m, 0, k))


def log_chi2p(m: float, k: int) -> float:
    """ln P(chi2 with 2k degrees of freedom < 2m): the lower tail, 1 - Q.

    The tail series e^-m * sum_{i>=k} m^i / i! keeps precision where P is tiny.
    """
    if m <= 0.0:
        return -math.inf
    k = min(k, _LOGFACT_MAX - 1)
    p = float(_gammainc(k, m))
    if p > 1e-280:
        return math.log(p)
    return min(0.0, _log_series(m, k, min(_LOGFACT_MAX, k + 400)))


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def fisher_statistics(sum_log_f: float, sum_log_1mf: float, k: int) -> tuple[float, float]:
    """``(logit I, z)`` from the summed clue logs of one message.

    ``logit I`` is the logit of SpamBayes' chi-square indicator
    ``I = (1 + Qh - Qs) / 2``.  ``I`` itself saturates at 0 and 1 in double
    precision; its logit, ``ln(Qh + Ps) - ln(Ph + Qs)`` with ``P = 1 - Q``, is
    computed in log space and keeps ranking messages where ``I`` would tie at
    exactly 0 or 1.  ``z = ln Qh - ln Qs`` (clipped to +-1000) separates
    messages whose evidence is strong both ways, where ``I`` sits at 0.5.
    """
    if k == 0:
        return 0.0, 0.0
    mh, ms = -sum_log_f, -sum_log_1mf
    lqh, lqs = log_chi2q(mh, k), log_chi2q(ms, k)
    lph, lps = log_chi2p(mh, k), log_chi2p(ms, k)
    z = min(max(lqh - lqs, -1000.0), 1000.0)
    return _logaddexp(lqh, lps) - _logaddexp(lph, lqs), z


def clue_sums(rows: np.ndarray, log_f: np.ndarray, log_1mf: np.ndarray,
              meta: np.ndarray | None) -> tuple[float, float, int, float, float, int, float, float, int]:
    """Sums of ln f and ln (1 - f) over the clue ``rows`` (and their count): all, text, meta.

    ``(sum ln f, sum ln(1-f), k, the same for the text clues, for the meta
    clues)``; the family sums are 0 when ``meta`` (``scoring.is_meta`` per
    table row) is None.  Every sum is exactly rounded (``math.fsum``): the
    result depends only on the clue values, not on their order (set and
    vocabulary order vary with the hash seed), and the compiled version
    (``_speedups.clue_sums``) gives the same bits.
    """
    if _speedups is not None:
        out = _speedups.clue_sums(np.ascontiguousarray(rows, dtype=np.int64), log_f, log_1mf, meta)
        if out is not None:  # (None: non-finite values, left to math.fsum)
            return out
    lf, l1 = log_f[rows].tolist(), log_1mf[rows].tolist()
    fsum = math.fsum
    if meta is None:
        return fsum(lf), fsum(l1), len(lf), 0.0, 0.0, 0, 0.0, 0.0, 0
    m = meta[rows].tolist()
    t = list(map(operator.not_, m))
    return (fsum(lf), fsum(l1), len(lf), fsum(compress(lf, t)), fsum(compress(l1, t)), sum(t),
            fsum(compress(lf, m)), fsum(compress(l1, m)), len(m) - sum(t))


def robinson_s(sum_log_f: float, sum_log_1mf: float, k: int) -> float:
    """Robinson's geometric-mean indicator ``S = (P - Q) / (P + Q)`` in [-1, 1].

    ``P = 1 - (prod (1 - f))^(1/k)``, ``Q = 1 - (prod f)^(1/k)`` (Gary
    Robinson's 2002 combining, Bogofilter's before Fisher's).  It rarely
    saturates, and ranked the corpus best in cross-validation.
    """
    if k == 0:
        return 0.0
    p = -math.expm1(sum_log_1mf / k)
    q = -math.expm1(sum_log_f / k)
    return (p - q) / (p + q) if p + q > 0 else 0.0


def fisher_logit(sum_log_f: float, sum_log_1mf: float, k: int) -> float:
    """logit of SpamBayes' chi-square indicator (see :func:`fisher_statistics`)."""
    return fisher_statistics(sum_log_f, sum_log_1mf, k)[0]


def _as_labels(y) -> np.ndarray:
    arr = np.asarray(list(y) if not isinstance(y, np.ndarray) else y)
    if arr.dtype.kind in "UO":
        bad = set(arr.tolist()) - {"spam", "ham"}
        if bad:
            raise ValueError(f"expected labels 'spam' or 'ham', got {sorted(bad)[:3]}")
        return (arr == "spam").astype(np.int8)
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError("expected labels 0 (ham) / 1 (spam)")
    return arr.astype(np.int8)


def clue_tables(f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ln f, ln (1 - f), log-odds)`` of token probabilities, clipped away from 0 and 1."""
    fs = np.clip(f, 1e-9, 1 - 1e-9)
    log_f, log_1mf = np.log(fs), np.log1p(-fs)
    return log_f, log_1mf, log_f - log_1mf


def cap_clues(rows: np.ndarray, log_odds: np.ndarray, max_clues: int) -> np.ndarray:
    """The sorted clue ``rows`` cut to the ``max_clues`` strongest (by ``|log_odds[row]|``), still sorted.

    Ties are broken by value, so the kept values never depend on the rows' order.
    """
    if len(rows) <= max_clues:
        return rows
    lo = log_odds[rows]
    return np.sort(rows[np.lexsort((lo, -np.abs(lo)))[:max_clues]])


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
    BLOOM_BITS = 1 << 21  # (fixed in _speedups.c)

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
        if _speedups is not None and rows.dtype == np.int32:
            _speedups.build(h, keys, rows)  # one sequential pass in C (~5 ms)
            # Two bits per token in a 256 KB filter (~3% false positives):
            # most features of a message are in no table, and the filter
            # rules them out from the cache instead of a probe into the
            # table's 12 MB, which other work has evicted by the next message.
            bloom = np.zeros(self.BLOOM_BITS // 64, dtype=np.uint64)
            _speedups.bloom(np.ascontiguousarray(h, dtype=np.int64), bloom)
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
        if _speedups is not None and self.rows.dtype == np.int32:  # (any iterable: it takes a tuple copy)
            return np.frombuffer(_speedups.lookup(doc, self.keys, self.rows), dtype=np.int64)
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


class _Rows(Sequence):
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
class _Scorer:
    """Read-only lookup tables built from the counts (shared by threads)."""

    index: HashIndex       # token -> row in the arrays below, clues only
    tokens: _Rows          # row -> token
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
    hash is our own on every Python (``_tokenhash.h`` says why; ~6 ms for
    the default model's 214,000 clues).  ``rows``: the clue tokens are
    ``tokens[rows[i]]`` (no list of them made).
    """
    if _speedups is None or not hasattr(_speedups, "token_hashes"):
        return None
    if rows is None:
        hashes = np.frombuffer(_speedups.token_hashes(tokens), dtype=np.int64)
    else:
        hashes = np.frombuffer(_speedups.token_hashes(tokens, np.ascontiguousarray(rows, dtype=np.int64)),
                               dtype=np.int64)
    n = len(hashes)
    size = 1 << max(4, (2 * n - 1).bit_length())  # load factor <= 1/2
    table = np.empty(size * 4, dtype=np.int64)  # 32 bytes an entry, 8-byte aligned
    _speedups.build_dense(hashes, np.ascontiguousarray(log_f), np.ascontiguousarray(log_1mf), table)
    bloom = np.zeros(HashIndex.BLOOM_BITS // 64, dtype=np.uint64)
    _speedups.bloom(hashes, bloom)
    return table, bloom


def check_is_fitted(est, attribute: str) -> None:
    """scikit-learn's check, without importing scikit-learn (1.4 s of start-up)."""
    fitted = est.__sklearn_is_fitted__() if hasattr(est, "__sklearn_is_fitted__") else hasattr(est, attribute)
    if not fitted:
        raise ModelError(f"expected a fitted {type(est).__name__}, got one without {attribute}: call fit first")


class TokenNB:
    """Robinson naive Bayes over sets of string features.

    ``X`` is a sequence of documents, each an iterable of feature strings
    (duplicates are counted once); ``y`` holds 1/'spam' or 0/'ham'.

    A scikit-learn-style estimator: parameters are keyword-only and only
    stored, ``get_params``/``set_params`` make it clonable, learned state ends
    in ``_``, ``fit`` returns self.  It does not inherit from
    ``sklearn.base.BaseEstimator`` only because importing scikit-learn costs
    1.4 s, and the pipe filter starts once per message.
    """

    _estimator_type = "classifier"
    _PARAMS = ("s", "x", "min_dev", "max_clues", "priors", "text_min_dev", "cjk_s", "young")

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params) -> "TokenNB":
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"expected a parameter of TokenNB {self._PARAMS}, got {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != type(self)().get_params()[k]}
        return f"TokenNB({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def score(self, X, y) -> float:
        """Mean accuracy of ``predict`` (scikit-learn's ClassifierMixin.score)."""
        return float(np.mean(self.predict(X) == _as_labels(y)))

    # s = 0.1 and min_dev = 0.44 (Bogofilter's 0.0178 and 0.375 before): a token
    # seen once is still a clue (f = 0.956), but weaker, and weak clues no longer
    # count.  Chosen by cross-validation on the train half with the calibration
    # of spamscore.scoring (training/COMPARISON.md): (1-AUC)% 0.0222 -> 0.0155,
    # FNR at 0.1% FPR 4.44% -> 3.00%, at 1% 0.18% -> 0.04%.
    # text_min_dev = 0.2 (body and subject words count as clues from 0.2 away
    # from 0.5; header, URL and structure tokens still from min_dev = 0.44) and
    # cjk_s = 10 (CJK tokens shrunk harder towards x: spamscore.features.japanese):
    # chosen with the cross-corpus protocol (training/cross_corpus.py: train on the
    # SA train half, judge on the SA test half and on CSDMC's 2009-2010 mail), full
    # profile, SA (1-AUC)% / FNR@0.1% / CSDMC (1-AUC)%: min_dev 0.44 for all
    # 0.0243 / 1.79% / 0.363; text_min_dev 0.35 0.0216 / 1.37% / 0.209; 0.25
    # 0.0212 / 1.26% / 0.105.  Weak word clues generalise to other people's mail
    # where strong ones (often a word seen once) do not.  A file written before
    # these parameters existed loads with None (the old behaviour).
    def __init__(self, *, s: float = 0.1, x: float = 0.52, min_dev: float = 0.44,
                 max_clues: int = 1000, priors: dict | None = None, text_min_dev: float | None = 0.2,
                 cjk_s: float | None = 10.0, young: float | None = 20.0):
        self.s = s
        self.x = x
        self.min_dev = min_dev
        self.max_clues = max_clues
        self.priors = priors
        self.text_min_dev = text_min_dev
        self.cjk_s = cjk_s
        self.young = young

    @property
    def effective_s(self) -> float:
        """Robinson's s, plus ``young / N`` for a model of N training messages.

        A young model is cautious: every token is shrunk harder towards x while
        the model has seen few messages, and as hard as ``s`` alone once it has
        seen thousands.  TREC-style immediate feedback from an empty model over
        the whole SpamAssassin corpus (benchmarks/online_trec.py), (1-AUC)% over
        the stream / its second half: young = None 0.1248 / 0.0166; 20 0.0776 /
        0.0167; 100 0.0794 / 0.0168 (Bogofilter 0.0861 / 0.0215).  For the
        default model's 3,034 messages it adds 0.0066 to s.
        """
        if not self.young:
            return self.s
        return self.s + self.young / max(getattr(self, "n_spam_", 0) + getattr(self, "n_ham_", 0), 1)

    def strong_mask(self, f: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Which vocabulary rows are clues: ``|f(w) - 0.5| >= min_dev``, or ``>= text_min_dev``
        for the text tokens (body and subject words, :func:`spamscore.scoring.is_meta` false)
        when that is set.  ``f``: of every row, or of ``rows`` (:meth:`token_probabilities`)."""
        dev = np.abs(f - 0.5)
        if self.text_min_dev is None or self.text_min_dev == self.min_dev:
            return dev >= self.min_dev
        meta = self._meta_rows() if rows is None else self._meta_rows()[rows]
        return np.where(meta, dev >= self.min_dev, dev >= self.text_min_dev)

    def _meta_rows(self) -> np.ndarray:
        """``is_meta`` of every vocabulary token (cached per vocabulary size)."""
        cached = self.__dict__.get("_meta_rows_cache")
        if cached is None or len(cached) != len(self.spam_counts_):
            from .scoring import meta_mask  # the families are defined with the scoring statistics

            cached = self.__dict__["_meta_rows_cache"] = meta_mask(list(self._token_list()))
        return cached

    def _cjk_rows(self) -> np.ndarray:
        """Which vocabulary tokens hold a CJK character (cached per vocabulary size)."""
        cached = self.__dict__.get("_cjk_rows_cache")
        if cached is None or len(cached) != len(self.spam_counts_):
            cached = self.__dict__["_cjk_rows_cache"] = _cjk_flags(self._token_list())
        return cached

    def _extend_row_caches(self, old_size: int, new_tokens: list[str]) -> None:
        """Vocabulary rows are only ever appended: extend the per-row caches by the new tokens
        (an online learner adds a few tokens per message to a vocabulary of 100,000s)."""
        if not new_tokens:
            return
        from .scoring import meta_mask

        for key, flags in (("_meta_rows_cache", meta_mask), ("_cjk_rows_cache", _cjk_flags)):
            cached = self.__dict__.get(key)
            if cached is not None and len(cached) == old_size:
                self.__dict__[key] = np.concatenate((cached, flags(new_tokens)))

    # -- the vocabulary -------------------------------------------------------
    # token -> row.  A loaded model keeps only its token list until something
    # asks for the dict (training, saving): scoring never does (HashIndex), and
    # building the dict of a 230,000-token model took ~65 ms of every start.
    @property
    def vocabulary_(self) -> dict[str, int]:
        d = self.__dict__.get("_vocabulary")
        if d is None:
            tokens = self.__dict__.get("_tokens")
            if tokens is None:
                # (another thread may have built the dict and dropped the list just now)
                d = self.__dict__.get("_vocabulary")
                if d is None:
                    raise AttributeError("vocabulary_")
                return d
            d = dict(zip(tokens, range(len(tokens))))
            self.__dict__["_vocabulary"] = d  # set before the list goes: readers always find one of them
            self.__dict__.pop("_tokens", None)  # the dict may grow now (partial_fit)
        return d

    @vocabulary_.setter
    def vocabulary_(self, value: dict[str, int]) -> None:
        self.__dict__["_vocabulary"] = value
        self.__dict__.pop("_tokens", None)
        self.__dict__.pop("_hashes", None)

    # What holds this process's string hashes (HashIndex) or is cheap to rebuild
    # is left out of a pickle: another process hashes strings with another seed.
    _PROCESS_LOCAL = ("_scorer", "_meta_mask", "_hashes", "_mapped", "_mapped_scorer")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._PROCESS_LOCAL}

    def __sklearn_is_fitted__(self) -> bool:
        """scikit-learn's protocol: fitted once it has a vocabulary (without building the dict)."""
        return "_vocabulary" in self.__dict__ or "_tokens" in self.__dict__

    def _token_list(self) -> list[str]:
        """The tokens in row order."""
        tokens = self.__dict__.get("_tokens")
        return tokens if tokens is not None else list(self.vocabulary_)

    def _row(self, token: str) -> int | None:
        d = self.__dict__.get("_vocabulary")
        if d is not None:
            return d.get(token)
        try:  # (the prior tokens come first in a fitted vocabulary)
            return self._token_list().index(token)
        except ValueError:
            return None

    # -- training -----------------------------------------------------------
    def fit(self, X: Iterable[Iterable[str]], y) -> "TokenNB":
        for attr in ("_vocabulary", "_tokens", "_hashes", "spam_counts_", "ham_counts_", "n_spam_", "n_ham_"):
            self.__dict__.pop(attr, None)
        return self.partial_fit(X, y)

    def partial_fit(self, X: Iterable[Iterable[str]], y, sample_weight: int = 1) -> "TokenNB":
        """Add (``sample_weight=1``) or remove (``-1``) documents' counts."""
        labels = _as_labels(y)
        if not hasattr(self, "vocabulary_"):
            self.vocabulary_: dict[str, int] = {}
            self.spam_counts_ = np.zeros(0, dtype=np.int64)
            self.ham_counts_ = np.zeros(0, dtype=np.int64)
            self.n_spam_ = 0
            self.n_ham_ = 0
            for tok in (self.priors if self.priors is not None else DEFAULT_PRIORS):
                self.vocabulary_.setdefault(tok, len(self.vocabulary_))
        vocab = self.vocabulary_
        old_size = len(vocab)
        new_tokens: list[str] = []
        spam_idx: list[int] = []
        ham_idx: list[int] = []
        n_docs = 0
        docs = iter(X)
        for label in labels:
            doc = next(docs, None)
            if doc is None:
                raise ValueError(f"expected {len(labels)} documents (one per label), got {n_docs}")
            n_docs += 1
            target = spam_idx if label else ham_idx
            for tok in set(doc):
                i = vocab.get(tok)
                if i is None:
                    if "\n" in tok or sample_weight < 0:
                        continue
                    i = vocab[tok] = len(vocab)
                    new_tokens.append(tok)
                target.append(i)
        if next(docs, None) is not None:
            raise ValueError(f"expected {len(labels)} documents (one per label), got more")
        size = len(vocab)
        n_spam = int(labels.sum())
        n_ham = len(labels) - n_spam
        spam = np.bincount(np.asarray(spam_idx, dtype=np.int64), minlength=size)
        ham = np.bincount(np.asarray(ham_idx, dtype=np.int64), minlength=size)
        grow = size - len(self.spam_counts_)
        if grow:
            self.spam_counts_ = np.concatenate((self.spam_counts_, np.zeros(grow, np.int64)))
            self.ham_counts_ = np.concatenate((self.ham_counts_, np.zeros(grow, np.int64)))
        self.spam_counts_ = np.maximum(self.spam_counts_ + sample_weight * spam, 0)
        self.ham_counts_ = np.maximum(self.ham_counts_ + sample_weight * ham, 0)
        self.n_spam_ = max(self.n_spam_ + sample_weight * n_spam, 0)
        self.n_ham_ = max(self.n_ham_ + sample_weight * n_ham, 0)
        self.classes_ = np.array([0, 1])
        self.__dict__.pop("_scorer", None)
        self.__dict__.pop("_hashes", None)
        self._extend_row_caches(old_size, new_tokens)
        return self

    @classmethod
    def from_counts(cls, vocabulary: dict[str, int], spam_counts: np.ndarray, ham_counts: np.ndarray,
                    n_spam: int, n_ham: int, **params) -> "TokenNB":
        """A fitted estimator from document counts (what ``fit`` would have counted)."""
        nb = cls(**params)
        for tok in (nb.priors if nb.priors is not None else DEFAULT_PRIORS):
            if tok not in vocabulary:
                raise ValueError(f"expected the vocabulary to hold the prior token {tok!r}")
        nb.vocabulary_ = vocabulary
        nb.spam_counts_ = np.asarray(spam_counts, dtype=np.int64)
        nb.ham_counts_ = np.asarray(ham_counts, dtype=np.int64)
        nb.n_spam_, nb.n_ham_ = int(n_spam), int(n_ham)
        nb.classes_ = np.array([0, 1])
        return nb

    # -- the per-token probabilities ----------------------------------------
    def token_probabilities(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Robinson's f(w) for every vocabulary entry, or for the given rows only."""
        check_is_fitted(self, "vocabulary_")
        spam, ham = (self.spam_counts_, self.ham_counts_) if rows is None else \
            (self.spam_counts_[rows], self.ham_counts_[rows])
        b = spam.astype(np.float64)
        g = ham.astype(np.float64)
        bp = b / max(self.n_spam_, 1)
        gp = g / max(self.n_ham_, 1)
        denom = bp + gp
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(denom > 0, bp / np.where(denom > 0, denom, 1), self.x)
        n = b + g
        x = np.full(len(n), self.x)
        s = np.full(len(n), self.effective_s)
        if self.cjk_s:
            # CJK tokens are shrunk harder towards x while their counts are small
            # (spamscore.features.japanese: being Japanese is no evidence by itself)
            cjk = self._cjk_rows() if rows is None else self._cjk_rows()[rows]
            s[cjk] = max(self.effective_s, self.cjk_s)
        priors = self.priors if self.priors is not None else DEFAULT_PRIORS
        for tok, (px, ps) in priors.items():
            i = self._row(tok)
            if i is None:
                continue
            where = i if rows is None else (rows == i)
            x[where], s[where] = px, ps
        return (s * x + n * p) / (s + n)

    _lock = threading.Lock()

    def _get_scorer(self) -> _Scorer:
        scorer = self.__dict__.get("_scorer")
        if scorer is not None:
            return scorer
        with self._lock:
            scorer = self.__dict__.get("_scorer")
            if scorer is None:
                f = self.token_probabilities()
                strong = np.flatnonzero(self.strong_mask(f))
                strong_tokens = _Rows(self._token_list(), strong)
                hashes = self.__dict__.get("_hashes")  # kept by load_model_file
                if hashes is not None and len(hashes) == len(f):
                    hashes = hashes[strong]
                else:
                    hashes = np.fromiter(map(hash, strong_tokens), dtype=np.int64, count=len(strong_tokens))
                log_f, log_1mf, log_odds = clue_tables(f[strong])
                index = HashIndex(strong_tokens, hashes)
                tables = (dense_table(strong_tokens.tokens, log_f, log_1mf, strong)
                          if index.rows.dtype == np.int32 else None)
                dense, dense_bloom = tables if tables is not None else (None, None)
                scorer = _Scorer(index=index, tokens=strong_tokens, log_f=log_f, log_1mf=log_1mf,
                                 log_odds=log_odds, dense=dense, dense_bloom=dense_bloom)
                self.__dict__["_scorer"] = scorer
        return scorer

    # -- scoring --------------------------------------------------------------
    def clue_rows(self, doc: Iterable[str]) -> np.ndarray:
        """Rows of the clue tokens of a document, sorted (a fixed order in every process)."""
        sc = self._get_scorer()
        if sc.by_hash:
            found, _, _ = _speedups.lookup_sums_h(doc, [], sc.dense, None, self.max_clues, sc.dense_bloom)
            return cap_clues(np.frombuffer(found, dtype=np.int64), sc.log_odds, self.max_clues)
        return cap_clues(sc.index.lookup(doc), sc.log_odds, self.max_clues)

    def clue_rows_sums(self, doc: Iterable[str], meta: np.ndarray | None) -> tuple[np.ndarray, tuple]:
        """``(rows, clue_sums(rows, ..., meta))``: :meth:`clue_rows` and the sums of its clues.

        One compiled call (``_speedups.lookup_sums``) when the extension is
        built; the same rows and the same bits as the two steps apart.
        """
        sc = self._get_scorer()
        if sc.by_hash:  # (the same rows and bits: the sums are exactly rounded)
            return self.clue_rows_sums_h(doc, [], meta)[:2]
        index = sc.index
        if _speedups is not None and index.rows.dtype == np.int32:
            found, sums = _speedups.lookup_sums(doc, index.keys, index.rows, sc.log_f, sc.log_1mf, meta,
                                                self.max_clues, index.bloom)
            rows = np.frombuffer(found, dtype=np.int64)
            if sums is not None:
                return rows, sums
            rows = cap_clues(rows, sc.log_odds, self.max_clues)  # (more than max_clues, or non-finite values)
        else:
            rows = self.clue_rows(doc)
        return rows, clue_sums(rows, sc.log_f, sc.log_1mf, meta)

    def takes_hashes(self) -> bool:
        """Whether :meth:`clue_rows_sums_h` can run (the compiled lookup and its dense table)."""
        return _speedups is not None and self._get_scorer().dense is not None

    def clue_rows_sums_h(self, doc: Sequence[str], extra: list[bytes],
                         meta: np.ndarray | None) -> tuple[np.ndarray, tuple, int]:
        """:meth:`clue_rows_sums` of the features ``doc`` and of those given by hash in
        ``extra`` (bytes of native int64 token hashes, :func:`spamscore._native.token_hash`: the body words of
        ``extract(..., into=extra)``), and how many distinct features there were.

        Features are told apart by hash here (two different tokens with the
        same 64-bit hash would count once: the odds are those of
        :class:`HashIndex`'s, about 10^-14 a message).  Needs
        :meth:`takes_hashes`.
        """
        sc = self._get_scorer()
        found, sums, distinct = _speedups.lookup_sums_h(doc, extra, sc.dense, meta, self.max_clues, sc.dense_bloom)
        rows = np.frombuffer(found, dtype=np.int64)
        if sums is None:
            rows = cap_clues(rows, sc.log_odds, self.max_clues)  # (more than max_clues, or non-finite values)
            sums = clue_sums(rows, sc.log_f, sc.log_1mf, meta)
        return rows, sums, distinct

    def clue_indices(self, doc: Iterable[str]) -> tuple[list[str], np.ndarray]:
        """The clue tokens of a document and their rows, in a fixed order.

        Sorting by row makes sums and ties come out the same in every process
        (set order varies with string hashing).
        """
        idx = self.clue_rows(doc)
        tokens = self._get_scorer().tokens
        return [tokens[i] for i in idx.tolist()], idx

    def decision_one(self, doc: Iterable[str]) -> tuple[float, list[str], np.ndarray]:
        """``(z, clue tokens, their log-odds)`` for one document."""
        sc = self._get_scorer()
        toks, idx = self.clue_indices(doc)
        k = len(idx)
        if k == 0:
            return 0.0, [], np.zeros(0)
        slf, sl1, *_ = clue_sums(idx, sc.log_f, sc.log_1mf, None)
        z = fisher_logit(slf, sl1, k)
        return z, toks, sc.log_odds[idx]

    def decision_function(self, X: Iterable[Iterable[str]]) -> np.ndarray:
        """logit of the Fisher indicator per document: > 0 spammy, < 0 hammy."""
        check_is_fitted(self, "vocabulary_")
        return np.array([self.decision_one(doc)[0] for doc in X], dtype=np.float64)

    def predict_proba(self, X: Iterable[Iterable[str]]) -> np.ndarray:
        """Uncalibrated: logistic of z (the wrapper in scoring applies Platt)."""
        z = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        return np.column_stack((1 - p, p))

    def predict(self, X):
        return (self.decision_function(X) > 0).astype(np.int8)


# ----------------------------------------------------------------------------
# persistence

def _encode_vocab(tokens: Sequence[str]) -> np.ndarray:
    data = "\n".join(tokens).encode("utf-8", "surrogatepass")
    return np.frombuffer(data, dtype=np.uint8)


def _decode_vocab(arr: np.ndarray) -> list[str]:
    if not len(arr):
        return []
    return arr.tobytes().decode("utf-8", "surrogatepass").split("\n")


def _file_header(nb: TokenNB, meta: dict, version: int) -> dict:
    header = dict(meta)
    header.update(
        magic=MAGIC, format_version=version, n_spam=int(nb.n_spam_), n_ham=int(nb.n_ham_),
        params={"s": nb.s, "x": nb.x, "min_dev": nb.min_dev, "max_clues": nb.max_clues,
                **({"text_min_dev": nb.text_min_dev} if nb.text_min_dev is not None else {}),
                **({"cjk_s": nb.cjk_s} if nb.cjk_s is not None else {}),
                **({"young": nb.young} if nb.young is not None else {})},
        priors=nb.priors if nb.priors is not None else DEFAULT_PRIORS,
    )
    return header


_MAPPED_ONLY = ("n_clues", "n_tokens", "meta_prefixes")  # format 2's header keys about its tables


def _npz_bytes(nb: TokenNB, meta: dict) -> bytes:
    """Format 1: the .npz archive (``spamscore convert`` reads it; written only when asked for)."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        header=np.frombuffer(json.dumps({k: v for k, v in _file_header(nb, meta, NPZ_FORMAT_VERSION).items()
                                         if k not in _MAPPED_ONLY}, sort_keys=True).encode(), dtype=np.uint8),
        vocabulary=_encode_vocab(nb._token_list()),
        spam_counts=nb.spam_counts_.astype(np.int32),
        ham_counts=nb.ham_counts_.astype(np.int32),
        **_optional_arrays(nb),
    )
    return buf.getvalue()


def _dense_table_py(hashes: list[int], log_f: np.ndarray, log_1mf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _mapped_sections(nb: TokenNB, meta: dict) -> dict:
    """The sections of a format 2 file (:mod:`spamscore.modelfile`): the scorer's tables computed
    from the counts exactly as :meth:`TokenNB._get_scorer` computes them, then the counts."""
    from .scoring import META_PREFIXES, meta_mask

    f = nb.token_probabilities()
    strong = np.flatnonzero(nb.strong_mask(f))
    log_f, log_1mf, log_odds = clue_tables(f[strong])
    tokens = nb._token_list()
    clue_bytes = [tokens[i].encode("utf-8", "surrogatepass") for i in strong.tolist()]
    off = np.zeros(len(clue_bytes) + 1, dtype=np.uint64)
    np.cumsum([len(b) for b in clue_bytes], out=off[1:]) if clue_bytes else None
    tables = dense_table(tokens, log_f, log_1mf, strong)
    if tables is None:  # no compiled helpers: the reference hash and build (slow, same bits)
        tables = _dense_table_py([_native.token_hash(tokens[i]) for i in strong.tolist()], log_f, log_1mf)
    dense, bloom = tables
    header = _file_header(nb, meta, FORMAT_VERSION)
    header.update(n_clues=len(strong), n_tokens=len(tokens), meta_prefixes=sorted(META_PREFIXES))
    sections = {
        "json": json.dumps(header, sort_keys=True).encode(),
        "dense": dense, "bloom": bloom,
        "clueoff": off, "cluestr": b"".join(clue_bytes), "cluerow": strong.astype(np.int64),
        "cluelf": log_f, "cluel1": log_1mf, "cluelo": log_odds,
        "cluemeta": meta_mask(tokens, strong).astype(np.uint8),
        "vocab": _encode_vocab(tokens).tobytes(),
        "spam": nb.spam_counts_.astype(np.int32), "ham": nb.ham_counts_.astype(np.int32),
    }
    digests = getattr(nb, "learned_digests_", None)
    if digests is not None:
        sections["digests"] = np.asarray(digests, dtype=np.uint64)
    return sections


def save_model_file(path: str | os.PathLike, nb: TokenNB, meta: dict, format_version: int = FORMAT_VERSION) -> int:
    """Write ``nb`` and ``meta`` to ``path`` atomically (format 2, or the .npz of format 1 when
    asked); returns the size in bytes."""
    check_is_fitted(nb, "vocabulary_")
    if format_version == FORMAT_VERSION:
        from .modelfile import write_model

        sections = _mapped_sections(nb, meta)
        return _atomic_write(path, lambda fh: write_model(fh, sections))
    if format_version != NPZ_FORMAT_VERSION:
        raise ValueError(f"expected model format version {NPZ_FORMAT_VERSION} or {FORMAT_VERSION}, got {format_version!r}")
    data = _npz_bytes(nb, meta)
    return _atomic_write(path, lambda fh: fh.write(data))


def _atomic_write(path: str | os.PathLike, write) -> int:
    """``write(fh)`` into a temporary file beside ``path``, fsync, then rename over it; returns its result."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".spamscore-", suffix=".tmp", dir=folder)
    try:
        try:  # keep an existing model's mode; else the usual umask-based one
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            size = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return size


_EXPECTED = {"header", "vocabulary", "spam_counts", "ham_counts"}
# Optional arrays (additive, format version unchanged): ``learned_digests``,
# the sorted uint64 digests of messages taught with ``spamscore learn``
# (see spamscore/learn.py), kept on the estimator as ``learned_digests_``.
_OPTIONAL = {"learned_digests"}


def _optional_arrays(nb: TokenNB) -> dict:
    digests = getattr(nb, "learned_digests_", None)
    return {} if digests is None else {"learned_digests": np.asarray(digests, dtype=np.uint64)}


# Uncompressed size a model file may have (the SpamAssassin-trained model is
# a few MB; 1 GiB leaves room for tens of millions of tokens).
_MAX_MODEL_BYTES = 1 << 30


def load_model_file(path: str | os.PathLike, feature_version: str) -> tuple[TokenNB, dict]:
    """Read a model file written by :func:`save_model_file`; never executes code."""
    path = os.fspath(path)
    try:
        # np.load returns a bare array for an .npy file (then `with` raised
        # TypeError): insist on a zip archive first.
        with open(path, "rb") as fh:
            head = fh.read(16)
        from .modelfile import is_mapped_file

        if is_mapped_file(head):
            return _load_mapped(path, feature_version)
        if head[:4] != b"PK\x03\x04":
            raise ModelFormatError(f"{path}: not a spamscore model (neither format 2 nor a zip archive)")
        # A zip bomb (a few KB inflating to gigabytes) is refused before
        # anything is inflated; zipfile never yields more than file_size bytes.
        with zipfile.ZipFile(path) as zf:
            inflated = sum(info.file_size for info in zf.infolist())
        if inflated > _MAX_MODEL_BYTES:
            raise ModelFormatError(f"{path}: model file too large ({inflated} bytes uncompressed, "
                                   f"at most {_MAX_MODEL_BYTES})")
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if not _EXPECTED <= names <= _EXPECTED | _OPTIONAL:
                raise ModelFormatError(f"{path}: not a spamscore model (expected arrays {sorted(_EXPECTED)}, got {sorted(names)[:6]})")
            arrays = {name: npz[name] for name in names}
    except FileNotFoundError:
        raise ModelError(f"{path}: model file not found") from None
    except IsADirectoryError:
        raise ModelError(f"{path}: is a directory, expected a model file") from None
    except ModelError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ModelFormatError(f"{path}: not a readable spamscore model ({exc.__class__.__name__}: {exc})") from None
    except MemoryError:  # an .npy header may declare any shape (np.load allocates it first)
        raise ModelFormatError(f"{path}: not a readable spamscore model (an array declares an impossible size)") from None
    for name in _EXPECTED - {"header"}:
        if arrays[name].ndim != 1:
            raise ModelFormatError(f"{path}: array {name} has the wrong shape")
    if arrays["header"].dtype != np.uint8 or arrays["vocabulary"].dtype != np.uint8:
        raise ModelFormatError(f"{path}: header or vocabulary has the wrong type")
    try:
        header = json.loads(arrays["header"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: damaged model header ({exc})") from None
    _check_header(path, header, feature_version, NPZ_FORMAT_VERSION)
    try:
        vocab = _decode_vocab(arrays["vocabulary"])
    except UnicodeDecodeError:
        raise ModelFormatError(f"{path}: damaged vocabulary") from None
    spam, ham = arrays["spam_counts"], arrays["ham_counts"]
    if not (len(vocab) == len(spam) == len(ham)) or spam.dtype.kind != "i" or ham.dtype.kind != "i":
        raise ModelFormatError(f"{path}: vocabulary and counts disagree ({len(vocab)} tokens, {len(spam)}/{len(ham)} counts)")
    try:
        nb = _nb_from_header(header, TokenNB)
        # Duplicates, without building the vocabulary dict (see TokenNB.vocabulary_):
        # equal tokens have equal hashes (computed once, kept by each str for the
        # scorer's HashIndex); equal hashes of different tokens are checked exactly.
        h = np.fromiter(map(hash, vocab), dtype=np.int64, count=len(vocab))
        hs = np.sort(h)
        if len(hs) > 1 and (hs[1:] == hs[:-1]).any() and len(set(vocab)) != len(vocab):
            raise ModelFormatError(f"{path}: duplicate tokens in vocabulary")
        nb.__dict__["_tokens"] = vocab
        nb.__dict__["_hashes"] = h  # for the scorer's HashIndex (TokenNB.__getstate__ drops it)
        nb.spam_counts_ = spam.astype(np.int64)
        nb.ham_counts_ = ham.astype(np.int64)
        nb.n_spam_ = int(header["n_spam"])
        nb.n_ham_ = int(header["n_ham"])
        nb.classes_ = np.array([0, 1])
        if "learned_digests" in arrays:
            digests = arrays["learned_digests"]
            if digests.ndim != 1 or digests.dtype != np.uint64:
                raise ModelFormatError(f"{path}: array learned_digests has the wrong shape or type")
            nb.learned_digests_ = digests
        # counts and parameters that no training run writes
        if (nb.n_spam_ < 0 or nb.n_ham_ < 0 or (len(spam) and (spam.min() < 0 or ham.min() < 0))
                or not all(math.isfinite(v) for v in (nb.s, nb.x, nb.min_dev))):
            raise ModelFormatError(f"{path}: damaged model (negative counts or non-finite parameters)")
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFormatError(f"{path}: damaged model header ({exc.__class__.__name__}: {exc})") from None
    return nb, header


def _check_header(path: str, header, feature_version: str, expected: int) -> None:
    """The JSON header's magic, format version (``expected``: the container's) and feature version."""
    if not isinstance(header, dict) or header.get("magic") != MAGIC:
        raise ModelFormatError(f"{path}: not a spamscore model (no magic in its header)")
    version = header.get("format_version")
    if version != expected:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ModelVersionError(
            f"{path}: model format version {version}, this spamscore reads versions {NPZ_FORMAT_VERSION} "
            f"and {FORMAT_VERSION}" + (" (the model is from a newer release: upgrade spamscore)" if newer
                                      else " (retrain or convert the model)")
        )
    if header.get("feature_version") != feature_version:
        raise ModelVersionError(
            f"{path}: model trained with feature version {header.get('feature_version')!r}, "
            f"this spamscore extracts version {feature_version!r}: retrain the model"
        )


def _nb_from_header(header: dict, cls) -> "TokenNB":
    """An unfitted ``cls`` with the header's parameters and priors (KeyError, TypeError, ValueError
    on a damaged header)."""
    params = header.get("params", {})
    priors = {str(k): (float(v[0]), float(v[1])) for k, v in header.get("priors", {}).items()}
    nb = cls(s=float(params["s"]), x=float(params["x"]), min_dev=float(params["min_dev"]),
             max_clues=int(params["max_clues"]), priors=priors,
             text_min_dev=float(params["text_min_dev"]) if "text_min_dev" in params else None,
             cjk_s=float(params["cjk_s"]) if "cjk_s" in params else None,
             young=float(params["young"]) if "young" in params else None)
    nb.n_spam_ = int(header["n_spam"])
    nb.n_ham_ = int(header["n_ham"])
    if nb.n_spam_ < 0 or nb.n_ham_ < 0 or nb.max_clues < 0 or not all(math.isfinite(v) for v in (nb.s, nb.x, nb.min_dev)):
        raise ValueError("negative counts or non-finite parameters")
    nb.classes_ = np.array([0, 1])
    return nb


def _load_mapped(path: str, feature_version: str) -> tuple["TokenNB", dict]:
    """A format 2 file (:mod:`spamscore.modelfile`): the scorer's tables are views of the mapping."""
    from .modelfile import ClueTokens, LazyIndex, MappedFile, check_dense

    mf = MappedFile(path)
    header = mf.header()
    _check_header(path, header, feature_version, FORMAT_VERSION)
    try:
        nb = _nb_from_header(header, MappedTokenNB)
        n = int(header["n_clues"])
        n_tokens = int(header["n_tokens"])
        if n < 0 or n_tokens < n:
            raise ValueError(f"{n} clues of {n_tokens} tokens")
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFormatError(f"{path}: damaged model header ({exc.__class__.__name__}: {exc})") from None
    dense = mf.array("dense")
    check_dense(mf, dense, n)
    bloom = mf.array("bloom", HashIndex.BLOOM_BITS // 64)
    tokens = ClueTokens(mf, mf.array("clueoff", n + 1), mf.array("cluestr"))
    log_f, log_1mf, log_odds = (mf.array(name, n) for name in ("cluelf", "cluel1", "cluelo"))
    mf.array("cluerow", n)
    for name in ("spam", "ham"):
        mf.array(name, n_tokens)
    meta = None
    from .scoring import META_PREFIXES

    if header.get("meta_prefixes") == sorted(META_PREFIXES):  # (else stale: Model._meta_mask recomputes them)
        meta = mf.array("cluemeta", n)
        if n and int(meta.max()) > 1:
            raise mf.bad("clue meta flags other than 0 and 1")
        meta = meta.view(np.bool_)
    by_hash = _speedups is not None and hasattr(_speedups, "lookup_sums_h")
    scorer = _Scorer(index=LazyIndex(tokens), tokens=tokens, log_f=log_f, log_1mf=log_1mf, log_odds=log_odds,
                     dense=dense if by_hash else None, dense_bloom=bloom if by_hash else None, meta=meta,
                     by_hash=by_hash)
    nb.__dict__["_mapped"] = (mf, n_tokens)
    nb.__dict__["_mapped_scorer"] = scorer  # (TokenNB._get_scorer's place, taken on first use)
    return nb, header


class MappedTokenNB(TokenNB):
    """A :class:`TokenNB` loaded from a format 2 file: it scores with the mapped tables, and reads
    its vocabulary and counts from the mapping only when something asks for them (learning,
    evaluation, saving).  Once it learns (``partial_fit``) it is an ordinary TokenNB with
    counts in memory; pickling gives an ordinary TokenNB."""

    def _load_counts(self) -> None:
        if "_counts_loaded" in self.__dict__:
            return
        mf, n_tokens = self.__dict__["_mapped"]
        spam, ham = mf.array("spam", n_tokens), mf.array("ham", n_tokens)
        if n_tokens and (int(spam.min()) < 0 or int(ham.min()) < 0):
            raise mf.bad("negative counts")
        self.__dict__.setdefault("spam_counts_", spam.astype(np.int64))
        self.__dict__.setdefault("ham_counts_", ham.astype(np.int64))
        self.__dict__["_counts_loaded"] = True

    def _load_vocab(self) -> None:
        if "_vocab_loaded" in self.__dict__:
            return
        mf, n_tokens = self.__dict__["_mapped"]
        self._load_counts()
        try:
            vocab = _decode_vocab(mf.array("vocab"))
        except UnicodeDecodeError:
            raise mf.bad("vocabulary is not UTF-8") from None
        if len(vocab) != n_tokens:
            raise ModelFormatError(f"{mf.path}: vocabulary and counts disagree ({len(vocab)} tokens, {n_tokens} counts)")
        if len(set(vocab)) != len(vocab):
            raise ModelFormatError(f"{mf.path}: duplicate tokens in vocabulary")
        self.__dict__.setdefault("_tokens", vocab)
        self.__dict__["_vocab_loaded"] = True

    def __getattr__(self, name):
        # only called for what is not in __dict__: the counts and the learned digests, read on first use
        if name in ("spam_counts_", "ham_counts_") and "_mapped" in self.__dict__ \
                and "_counts_loaded" not in self.__dict__:
            self._load_counts()
            return self.__dict__[name]
        if name == "learned_digests_" and "_mapped" in self.__dict__ and "_digests_loaded" not in self.__dict__:
            self.__dict__["_digests_loaded"] = True
            mf = self.__dict__["_mapped"][0]
            if mf.has("digests"):
                self.__dict__["learned_digests_"] = mf.array("digests").copy()
                return self.__dict__["learned_digests_"]
        raise AttributeError(name)

    @property
    def vocabulary_(self) -> dict[str, int]:
        if "_mapped" in self.__dict__:
            self._load_vocab()
        return TokenNB.vocabulary_.fget(self)

    @vocabulary_.setter
    def vocabulary_(self, value: dict[str, int]) -> None:
        self.__dict__["_vocab_loaded"] = self.__dict__["_counts_loaded"] = True
        TokenNB.vocabulary_.fset(self, value)

    def _token_list(self) -> list[str]:
        if "_mapped" in self.__dict__:
            self._load_vocab()
        return TokenNB._token_list(self)

    def __sklearn_is_fitted__(self) -> bool:
        return "_mapped" in self.__dict__ or TokenNB.__sklearn_is_fitted__(self)

    def _get_scorer(self):
        scorer = self.__dict__.get("_scorer")
        if scorer is None and "_mapped" in self.__dict__:
            scorer = self.__dict__["_scorer"] = self.__dict__["_mapped_scorer"]  # (the tables are the file's)
            return scorer
        return TokenNB._get_scorer(self)

    def fit(self, X, y) -> "TokenNB":
        self.__dict__.pop("_mapped", None)  # a new vocabulary: the file's is not read
        self.__dict__.pop("_mapped_scorer", None)
        return TokenNB.fit(self, X, y)

    def partial_fit(self, X, y, sample_weight: int = 1) -> "TokenNB":
        if "_mapped" in self.__dict__:
            self._load_vocab()
        TokenNB.partial_fit(self, X, y, sample_weight)
        self.__dict__.pop("_mapped", None)  # the counts in memory are the model now
        self.__dict__.pop("_mapped_scorer", None)
        self.__dict__.pop("_scorer", None)
        return self

    def unmapped(self) -> TokenNB:
        """An ordinary TokenNB with the same parameters and counts (vocabulary and counts read)."""
        nb = TokenNB(**self.get_params())
        nb.__dict__["_tokens"] = list(self._token_list())
        nb.spam_counts_, nb.ham_counts_ = self.spam_counts_, self.ham_counts_
        nb.n_spam_, nb.n_ham_, nb.classes_ = self.n_spam_, self.n_ham_, self.classes_
        digests = getattr(self, "learned_digests_", None)
        if digests is not None:
            nb.learned_digests_ = digests
        return nb

    def __reduce__(self):
        return _plain_tokennb, (self.unmapped().__getstate__(),)


def _plain_tokennb(state: dict) -> TokenNB:
    """Unpickle a :class:`MappedTokenNB` as the ordinary TokenNB it pickled itself as."""
    nb = TokenNB.__new__(TokenNB)
    nb.__dict__.update(state)
    return nb

# Public names for what other modules use (issue 17: no module reads another's private names).
speedups = _speedups
as_labels = _as_labels
cjk_flags = _cjk_flags
