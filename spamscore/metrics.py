"""Evaluation metrics shared by ``spamscore evaluate``, training and benchmarks."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["fnr_at_fpr", "summarize"]


def fnr_at_fpr(y: np.ndarray, scores: np.ndarray, max_fpr: float) -> float:
    """Lowest false-negative rate with at most ``max_fpr`` false positives.

    The threshold is put just above the k-th highest ham score, k = floor(max_fpr * n_ham);
    spam scoring at or below it counts as a false negative (ties go against us).
    """
    y = np.asarray(y)
    scores = np.asarray(scores, dtype=np.float64)
    ham = np.sort(scores[y == 0])[::-1]
    spam = scores[y == 1]
    if not len(ham) or not len(spam):
        return float("nan")
    k = int(math.floor(max_fpr * len(ham) + 1e-9))
    threshold = ham[k] if k < len(ham) else -np.inf
    return float(np.mean(spam <= threshold))


def summarize(y, scores, labels=None) -> dict:
    """ROC AUC, (1-AUC)%, FNR at 0.1% / 1% FPR, and counts at the model's cut-offs."""
    y = np.asarray(y).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    out = {
        "messages": int(len(y)), "spam": int(y.sum()), "ham": int(len(y) - y.sum()),
    }
    if 0 < y.sum() < len(y):
        from sklearn.metrics import roc_auc_score  # imported here: 1.4 s of start-up

        auc = float(roc_auc_score(y, scores))
        out.update(
            roc_auc=auc, one_minus_auc_pct=100 * (1 - auc),
            fnr_at_fpr_0_1_pct=100 * fnr_at_fpr(y, scores, 0.001),
            fnr_at_fpr_1_pct=100 * fnr_at_fpr(y, scores, 0.01),
        )
    if labels is not None:
        labels = np.asarray(labels)
        n_ham = max(int((y == 0).sum()), 1)
        n_spam = max(int(y.sum()), 1)
        fp = int(((labels == "spam") & (y == 0)).sum())
        fn = int(((labels == "ham") & (y == 1)).sum())
        out.update(
            false_positives=fp, false_negatives=fn,
            unsure_ham=int(((labels == "unsure") & (y == 0)).sum()),
            unsure_spam=int(((labels == "unsure") & (y == 1)).sum()),
            fpr_pct=100 * fp / n_ham, fnr_pct=100 * fn / n_spam,
            fnr_unsure_as_ham_pct=100 * int(((labels != "spam") & (y == 1)).sum()) / n_spam,
        )
    return out
