"""The statistics that combine a message's clues: chi-square tails, Fisher, Robinson's S, clue sums.

Each clue token carries ``f = f(w)``, Robinson's spam probability
(:meth:`spamscore.model.nb.TokenNB.token_probabilities`).  A message's clues
enter every statistic only through three numbers, ``sum ln f``,
``sum ln(1 - f)`` and their count ``k`` (:func:`clue_sums`, exactly rounded,
so independent of the clues' order):

* Fisher's chi-square, ``Qh = chi2Q(-2 sum ln f, 2k)`` (small when the clues
  are hammy) and ``Qs = chi2Q(-2 sum ln(1-f), 2k)`` (small when spammy), gives
  the logit of SpamBayes' indicator ``(1 + Qh - Qs) / 2`` and
  ``z = ln Qh - ln Qs`` (:func:`fisher_statistics`, in log space: they never
  underflow or saturate);
* Robinson's geometric-mean indicator ``S`` (:func:`robinson_s`) ranked best
  in cross-validation and is what the shipped calibration uses
  (``training/COMPARISON.md``).

Each clue's signed contribution is its log-odds ``ln(f / (1 - f))``
(:func:`clue_tables`); :func:`cap_clues` keeps the strongest.
"""

from __future__ import annotations

import math
import operator
from itertools import compress

import numpy as np

from . import native

__all__ = ["log_chi2q", "log_chi2p", "fisher_statistics", "fisher_logit", "robinson_s", "clue_sums",
           "clue_tables", "cap_clues", "fisher_statistics_many", "robinson_s_many"]

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


# ----------------------------------------------------------------------------
# The same statistics of many messages at once (the cross-validation of
# training: spamscore.folds), element by element the bits of the scalar
# functions above, which stay the reference (tests/test_fold_sums.py).
# Additions, subtractions, comparisons and selections are IEEE operations that
# numpy rounds as Python does; scipy's ufuncs give each element of an array the
# bits of the scalar call (the one 'dd->d' loop); the libm functions (log, exp,
# expm1, log1p) are called through math per element, as the scalar code does:
# numpy's vectorized ones may differ in the last bit.


def _libm(fn, x: np.ndarray) -> np.ndarray:
    """``math.fn`` of each element of ``x`` (float64)."""
    return np.fromiter(map(fn, x.tolist()), dtype=np.float64, count=len(x))


def _log_tails(m: np.ndarray, k: np.ndarray, upper: bool) -> np.ndarray:
    """:func:`log_chi2q` (``upper``) or :func:`log_chi2p` of each ``(m[i], k[i])`` (k >= 1)."""
    out = np.full(len(m), 0.0 if upper else -math.inf)
    idx = np.flatnonzero(~(m <= 0.0))   # (NaN goes on, as in the scalar code)
    mm = m[idx]
    kk = np.minimum(k[idx], float(_LOGFACT_MAX - 1))
    q = _gammaincc(kk, mm) if upper else _gammainc(kk, mm)
    ok = q > 1e-280
    out[idx[ok]] = _libm(math.log, q[ok])
    scalar = log_chi2q if upper else log_chi2p
    for i in idx[~ok].tolist():   # (underflow: the series in log space, by the scalar code itself)
        out[i] = scalar(float(m[i]), int(k[i]))
    return out


def _logaddexp_many(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`_logaddexp` of each pair."""
    bigger = a > b
    hi, lo = np.where(bigger, a, b), np.where(bigger, b, a)
    with np.errstate(invalid="ignore"):
        out = hi + _libm(math.log1p, _libm(math.exp, lo - hi))
    out = np.where(b == -math.inf, a, out)
    return np.where(a == -math.inf, b, out)


def fisher_statistics_many(sum_log_f: np.ndarray, sum_log_1mf: np.ndarray,
                           k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fisher_statistics` of many messages: arrays of ``logit I`` and ``z`` (float64 inputs; ``k``
    whole numbers), each element the scalar function's bits."""
    slf, sl1, k = (np.asarray(v, dtype=np.float64) for v in (sum_log_f, sum_log_1mf, k))
    logit, z = np.zeros(len(k)), np.zeros(len(k))
    has = np.flatnonzero(k != 0)
    if len(has):
        mh, ms, kk = -slf[has], -sl1[has], k[has]
        lqh, lqs = _log_tails(mh, kk, True), _log_tails(ms, kk, True)
        lph, lps = _log_tails(mh, kk, False), _log_tails(ms, kk, False)
        with np.errstate(invalid="ignore"):
            z[has] = np.minimum(np.maximum(lqh - lqs, -1000.0), 1000.0)
            logit[has] = _logaddexp_many(lqh, lps) - _logaddexp_many(lph, lqs)
    return logit, z


def robinson_s_many(sum_log_f: np.ndarray, sum_log_1mf: np.ndarray, k: np.ndarray) -> np.ndarray:
    """:func:`robinson_s` of many messages (float64 arrays), each element the scalar function's bits."""
    slf, sl1, k = (np.asarray(v, dtype=np.float64) for v in (sum_log_f, sum_log_1mf, k))
    out = np.zeros(len(k))
    has = np.flatnonzero(k != 0)
    if len(has):
        p = -_libm(math.expm1, sl1[has] / k[has])
        q = -_libm(math.expm1, slf[has] / k[has])
        total = p + q
        with np.errstate(invalid="ignore", divide="ignore"):
            out[has] = np.where(total > 0, (p - q) / np.where(total > 0, total, 1.0), 0.0)
    return out


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
    sp = native.speedups
    if sp is not None:
        out = sp.clue_sums(np.ascontiguousarray(rows, dtype=np.int64), log_f, log_1mf, meta)
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
