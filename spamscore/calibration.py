"""From a message's clue sums to P(spam): the statistics, the feature families, the calibration.

The clues of a message (:class:`~spamscore.model.TokenNB` picks them, :func:`~spamscore.model.clue_sums` sums
their ``ln f`` and ``ln (1 - f)``) give five statistics, ``(logit I, z, S, S_text, S_meta)``
(:func:`statistics_from_sums`); the text and the header/URL/structure clues are told apart by their prefix
(:func:`is_meta`).  A Platt calibration (:class:`Calibration`), fitted by :func:`calibrate` on cross-validated
statistics (:mod:`spamscore.folds`), weighs them into the logit of P(spam); the cut-offs come from the same
statistics.  :class:`spamscore.scoring.Model` scores with these; the trainers fit them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._fit import fit_logistic
from .model import clue_sums, fisher_statistics, robinson_s
from .model.stats import fisher_statistics_many, robinson_s_many
from .model import speedups as _speedups   # the compiled helpers or None (tests switch them off here)

__all__ = ["Calibration", "CALIBRATION_INPUTS", "OVERALL_CLUES", "META_PREFIXES", "is_meta", "meta_mask",
           "statistics_from_sums", "statistics_from_sums_many", "family_statistics", "calibrate", "cutoffs", "sigmoid"]


def sigmoid(v: float) -> float:
    """The logistic function, without overflow for large |v|."""
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


# Neutral pseudo-clues in the S of all clues (Calibration.overall_clues) of new
# models.  Without them a message with one weak clue (a Japanese notice whose only
# clue was body:caps:2, f = 0.73) got S = 0.47 and was labelled spam; with them
# its S stays near 0.  Cross-corpus protocol (training/cross_corpus.py, portable
# profile), SA (1-AUC)% / FNR@0.1% / CSDMC (1-AUC)%: 0 pseudo-clues 0.0407 / 3.68%
# / 0.0260; 10: 0.0395 / 3.68% / 0.0267, and 2 more Japanese ham fixtures
# leave spam for unsure or ham.
OVERALL_CLUES = 10.0


@dataclass
class Calibration:
    """Platt scaling: P(spam) = sigmoid(w_logit * logit I + w_z * z + w_s * S
    + w_text * S_text + w_meta * S_meta + bias).

    Statistics of a message's clues (see :meth:`spamscore.scoring.Model.family_evidence`):
    ``logit I``, the logit of SpamBayes' chi-square indicator, which ranks well
    where the evidence is one-sided; ``z = ln Qh - ln Qs``, which separates
    messages whose evidence is strong both ways (where ``I`` sits at 0.5);
    Robinson's geometric-mean indicator ``S = (P - Q) / (P + Q)``, with
    ``P = 1 - (prod (1 - f))^(1/k)`` and ``Q = 1 - (prod f)^(1/k)``; and ``S``
    of the text clues and of the header/URL/structure clues apart, each with
    ``family_clues`` neutral pseudo-clues (see :func:`family_statistics`).
    A logistic regression on cross-validated training statistics fits the
    weights of the inputs listed in ``CALIBRATION_INPUTS``; the others weigh 0.
    """

    w_logit: float = 1.0
    w_z: float = 0.01
    bias: float = 0.0
    w_s: float = 0.0
    w_text: float = 0.0
    w_meta: float = 0.0
    family_clues: float = 10.0
    # Neutral pseudo-clues in S over all clues too, so that a message with one
    # or two weak clues is not scored as if they were the whole story (a model
    # file without this field was trained without them: Model.load reads 0).
    overall_clues: float = OVERALL_CLUES

    def linear(self, logit_i: float, z: float, s: float = 0.0, s_text: float = 0.0, s_meta: float = 0.0) -> float:
        return (self.w_logit * logit_i + self.w_z * z + self.w_s * s + self.w_text * s_text
                + self.w_meta * s_meta + self.bias)

    @property
    def uses_families(self) -> bool:
        return bool(self.w_text or self.w_meta)


# Which of (logit I, z, S, S_text, S_meta) the calibration uses.  Chosen by
# 5-fold cross-validation on the train half (3 shuffles; training/COMPARISON.md),
# (1-AUC)% / FNR at 0.1% FPR / at 1%: (logit I, z) 0.0392 / 5.93 / 0.42;
# (logit I, z, S) 0.0384 / 5.89 / 0.39; S alone 0.0365 / 5.47 / 0.35;
# with TokenNB's s = 0.1, min_dev = 0.44: S alone 0.0346 / 3.84 / 0.32;
# (S, S_text, S_meta) 0.0155 / 3.00 / 0.04.
CALIBRATION_INPUTS = (2, 3, 4)
_FIELDS = ("w_logit", "w_z", "w_s", "w_text", "w_meta")

# Feature prefixes of the header, URL, HTML and MIME-structure families
# (spamscore.features); every other feature (body and subject words, body:,
# skip:) is text.  A body word that looks like "from:x" counts as meta.
META_PREFIXES = frozenset("""
    hdr received date message-id boundary from to cc reply-to return-path sender errors-to
    x-mailer user-agent content-type x-mimeole organization list-id x-priority x-msmail-priority
    precedence mime-version content-transfer-encoding x-originating-ip
    url url-path url-host html proto part charset attach defect msg auth dkim spf-hdr bulk
""".split())


_LN_HALF = math.log(0.5)


def is_meta(feature: str) -> bool:
    """True for a header / URL / HTML / structure feature, False for a text one."""
    head, sep, _ = feature.partition(":")
    return bool(sep) and head in META_PREFIXES


def meta_mask(tokens: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
    """``is_meta`` of every token (or of ``tokens[r]`` for each of ``rows``), as a bool array.

    In C when ``spamscore._speedups`` is built (~10 ms for a 200,000-token
    model, ~50 ms in Python).
    """
    if _speedups is not None and isinstance(tokens, list):
        r = np.arange(len(tokens), dtype=np.int64) if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
        return np.frombuffer(_speedups.meta_flags(tokens, r, META_PREFIXES), dtype=bool)
    if rows is not None:
        tokens = [tokens[r] for r in rows.tolist()]
    return np.fromiter(map(is_meta, tokens), dtype=bool, count=len(tokens))


def _family_s(slf: float, sl1: float, k: int, pseudo_clues: float) -> float:
    """Robinson's S of one family's clues, with ``pseudo_clues`` neutral ones (0 without clues)."""
    if not k:
        return 0.0
    neutral = pseudo_clues * _LN_HALF
    return robinson_s(slf + neutral, sl1 + neutral, k + pseudo_clues)


def statistics_from_sums(sums: tuple, pseudo_clues: float, fisher: bool = True,
                         families: bool = True, overall_clues: float = 0.0) -> tuple[float, float, float, float, float]:
    """``(logit I, z, S, S_text, S_meta)`` from :func:`clue_sums`.

    ``pseudo_clues`` neutral clues join each family's S, ``overall_clues`` the S of all clues.
    """
    slf, sl1, k, tf, t1, kt, mf, m1, km = sums
    if k == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    logit_i, z = fisher_statistics(slf, sl1, k) if fisher else (0.0, 0.0)
    if families:
        fam = _family_s(tf, t1, kt, pseudo_clues), _family_s(mf, m1, km, pseudo_clues)
    else:
        fam = 0.0, 0.0
    s = _family_s(slf, sl1, k, overall_clues) if overall_clues else robinson_s(slf, sl1, k)
    return logit_i, z, s, *fam


def _family_s_many(slf: np.ndarray, sl1: np.ndarray, k: np.ndarray, pseudo_clues: float) -> np.ndarray:
    """:func:`_family_s` of many messages, each element the scalar function's bits."""
    neutral = pseudo_clues * _LN_HALF
    kk = k + pseudo_clues
    s = robinson_s_many(slf + neutral, sl1 + neutral, kk)   # (0 where k + pseudo_clues is 0, as robinson_s gives)
    return np.where(k != 0, s, 0.0)


def statistics_from_sums_many(sums: np.ndarray, pseudo_clues: float, fisher: bool = True,
                              families: bool = True, overall_clues: float = 0.0) -> np.ndarray:
    """:func:`statistics_from_sums` of many messages: ``sums`` an ``(n, 9)`` float64 array of :func:`clue_sums`
    (the counts as floats), the ``(n, 5)`` statistics, each the bits of the scalar function (which stays the
    reference: tests/test_fold_sums.py).  The sums must be finite (the scalar function decides the others)."""
    sums = np.asarray(sums, dtype=np.float64).reshape(-1, 9)
    out = np.zeros((len(sums), 5))
    has = np.flatnonzero(sums[:, 2] != 0)
    if not len(has):
        return out
    slf, sl1, k, tf, t1, kt, mf, m1, km = sums[has].T
    if fisher:
        out[has, 0], out[has, 1] = fisher_statistics_many(slf, sl1, k)
    if families:
        out[has, 3] = _family_s_many(tf, t1, kt, pseudo_clues)
        out[has, 4] = _family_s_many(mf, m1, km, pseudo_clues)
    out[has, 2] = _family_s_many(slf, sl1, k, overall_clues) if overall_clues else robinson_s_many(slf, sl1, k)
    return out


def family_statistics(tokens: Sequence[str], log_odds: np.ndarray, pseudo_clues: float = 10.0) -> tuple[float, float]:
    """Robinson's ``S`` of the text clues and of the meta clues of one message.

    ``tokens`` are a message's clues and ``log_odds`` their ``ln(f / (1 - f))``
    (what :meth:`TokenNB.clue_indices` and the scorer give).  Each family's
    ``S`` gets ``pseudo_clues`` neutral clues (f = 0.5), so that a family with
    a single strong clue does not reach S = +-1: without them one header clue
    of a ham outweighed dozens of text clues (cross-validation in
    training/COMPARISON.md).  A family with no clue gives 0.
    (The model computes the same from its own ln f tables: ``Model.family_evidence``.)
    """
    if not len(tokens):
        return 0.0, 0.0
    lo = np.asarray(log_odds, dtype=np.float64)
    log_f = -np.logaddexp(0.0, -lo)             # ln f; ln (1 - f) = ln f - log-odds
    sums = clue_sums(np.arange(len(lo)), log_f, log_f - lo, meta_mask(list(tokens)))
    return statistics_from_sums(sums, pseudo_clues, fisher=False)[3:]


def calibrate(stats: np.ndarray, y: np.ndarray, target_fpr: float = 0.001,
              target_fnr: float = 0.01, fit=fit_logistic) -> tuple[Calibration, float, float]:
    """Calibration and cut-offs from cross-validated ``(logit I, z, S, S_text, S_meta)`` rows.

    Rows of three statistics (``Model.evidence``) give a calibration on the
    inputs among the first three only.  ``fit``: :func:`spamscore._fit.fit_logistic` or a stand-in
    (``FitProcess.fit_logistic``: the same fit in a child process).
    """
    cols = [c for c in CALIBRATION_INPUTS if c < stats.shape[1]]
    coef, intercept = fit(stats[:, cols], y, C=1.0)  # scikit-learn's LogisticRegression(C=1.0)
    weights = dict.fromkeys(_FIELDS, 0.0)
    for col, w in zip(cols, coef):
        weights[_FIELDS[col]] = float(w)
    cal = Calibration(bias=intercept, **weights)
    lin = stats[:, cols] @ coef + intercept
    p = 1 / (1 + np.exp(-np.clip(lin, -50, 50)))
    spam_cut, ham_cut = cutoffs(p, y, target_fpr, target_fnr)
    return cal, spam_cut, ham_cut


def cutoffs(p: np.ndarray, y: np.ndarray, target_fpr: float, target_fnr: float) -> tuple[float, float]:
    """Spam cut-off at the CV false-positive target, ham cut-off at the FN target."""
    ham = np.sort(p[y == 0])[::-1]
    spam = np.sort(p[y == 1])
    k = int(math.floor(target_fpr * len(ham)))
    spam_cut = float(ham[k]) if k < len(ham) else 0.5
    spam_cut = min(max(spam_cut + 1e-9, 0.5), 0.999)
    j = int(math.floor(target_fnr * len(spam)))
    ham_cut = float(spam[j]) if j < len(spam) else 0.5
    ham_cut = min(max(ham_cut, 0.01), spam_cut, 0.5)
    return spam_cut, ham_cut
