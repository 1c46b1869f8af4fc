"""The two pieces of scikit-learn that training needs, without importing it.

Importing scikit-learn (which imports SciPy's stats) costs 1.4 to 2.3 s on
this machine: 15-20% of training on the SpamAssassin train half.  Training
needs only stratified folds and a logistic regression on one to three
statistics, both a few lines of numpy:

- :func:`stratified_folds` reproduces ``StratifiedKFold(n_splits, shuffle=True,
  random_state=seed)`` exactly (the same algorithm and the same random stream),
  so models trained before and after, and on Dask, get the same folds;
- :func:`fit_logistic` minimises scikit-learn's ``LogisticRegression(C=C)``
  objective (L2 on the weights, not on the intercept) by Newton's method, which
  on a handful of columns converges to the same optimum in a few steps.

tests/test_fit.py checks both against scikit-learn.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_folds", "fit_logistic"]


def stratified_folds(y, n_splits: int, seed: int) -> list[np.ndarray]:
    """Held-out indices of each fold, as ``StratifiedKFold(n_splits, shuffle=True, random_state=seed)``."""
    y = np.asarray(y)
    if n_splits < 2:
        raise ValueError(f"expected at least 2 folds, got {n_splits}")
    _, y_idx, y_inv = np.unique(y, return_index=True, return_inverse=True)
    _, class_perm = np.unique(y_idx, return_inverse=True)  # classes in order of first appearance
    y_encoded = class_perm[y_inv.ravel()]
    n_classes = len(y_idx)
    counts = np.bincount(y_encoded)
    if n_splits > counts.max():
        raise ValueError(f"n_splits={n_splits} is greater than the number of members in each class")
    y_order = np.sort(y_encoded)
    allocation = np.asarray([np.bincount(y_order[i::n_splits], minlength=n_classes) for i in range(n_splits)])
    rng = np.random.RandomState(seed)
    test_folds = np.empty(len(y), dtype=np.int64)
    for k in range(n_classes):
        folds_for_class = np.arange(n_splits).repeat(allocation[:, k])
        rng.shuffle(folds_for_class)
        test_folds[y_encoded == k] = folds_for_class
    return [np.flatnonzero(test_folds == i) for i in range(n_splits)]


def fit_logistic(X, y, C: float = 1.0, max_iter: int = 100, tol: float = 1e-10) -> tuple[np.ndarray, float]:
    """``(coef, intercept)`` minimising ``0.5 |w|^2 + C * sum(log loss)`` (scikit-learn's L2 objective)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    reg = np.full(d + 1, 1.0 / C)
    reg[-1] = 0.0  # the intercept is not penalised
    w = np.zeros(d + 1)

    def objective(w):
        t = A @ w
        # log(1 + exp(t)) - y t, stably
        return 0.5 * float(reg @ (w * w)) + float(np.sum(np.logaddexp(0.0, t) - y * t))

    f = objective(w)
    for _ in range(max_iter):
        p = 0.5 * (1.0 + np.tanh(0.5 * (A @ w)))  # the sigmoid, without overflow
        grad = A.T @ (p - y) + reg * w
        hess = (A * (p * (1 - p))[:, None]).T @ A + np.diag(reg) + 1e-12 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:  # backtracking: Newton steps can overshoot on separable data
            w_new = w - t * step
            f_new = objective(w_new)
            if f_new <= f or t < 1e-8:
                break
            t *= 0.5
        done = abs(f - f_new) <= tol * max(1.0, abs(f))
        w, f = w_new, f_new
        if done:
            break
    return w[:d], float(w[d])
