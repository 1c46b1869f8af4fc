"""spamscore._fit: training's folds and calibration fit, on scikit-learn, against a reference.

The reference for the fit is the numpy Newton solver ``_fit`` held before it
used scikit-learn (kept here, below): the solver and tolerance chosen in
``_fit`` must reach the same optimum to far better than the 1e-4 a default
scikit-learn tolerance gives.
"""

import numpy as np
import pytest

from spamscore._fit import fit_logistic, stratified_folds


def newton_logistic(X, y, C=1.0, max_iter=100, tol=1e-12):
    """``(coef, intercept)`` minimising ``0.5 |w|^2 + C * sum(log loss)`` by Newton's method (no intercept penalty)."""
    X = np.asarray(X, dtype=np.float64)
    X = X[:, None] if X.ndim == 1 else X
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    reg = np.full(d + 1, 1.0 / C)
    reg[-1] = 0.0
    w = np.zeros(d + 1)

    def objective(w):
        t = A @ w
        return 0.5 * float(reg @ (w * w)) + float(np.sum(np.logaddexp(0.0, t) - y * t))

    f = objective(w)
    for _ in range(max_iter):
        p = 0.5 * (1.0 + np.tanh(0.5 * (A @ w)))
        grad = A.T @ (p - y) + reg * w
        hess = (A * (p * (1 - p))[:, None]).T @ A + np.diag(reg) + 1e-12 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:
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


@pytest.mark.parametrize("n,k,seed", [(50, 5, 0), (3034, 5, 0), (101, 3, 7), (12, 2, 1), (999, 10, 42)])
def test_stratified_folds_partition_and_stratify(n, k, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    y[:k] = 1
    y[k : 2 * k] = 0
    folds = stratified_folds(y, k, seed)
    assert len(folds) == k
    allidx = np.sort(np.concatenate(folds))
    np.testing.assert_array_equal(allidx, np.arange(n))  # every index held out exactly once
    for label in (0, 1):
        per_fold = [int((y[f] == label).sum()) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1, per_fold  # each class spread evenly
    again = stratified_folds(y, k, seed)
    for a, b in zip(folds, again):  # the same seed, the same folds (models trained twice agree)
        np.testing.assert_array_equal(a, b)


def test_stratified_folds_shuffle_with_the_seed():
    y = np.array([0, 1] * 50)
    a = stratified_folds(y, 5, 0)
    b = stratified_folds(y, 5, 1)
    assert any(not np.array_equal(x, z) for x, z in zip(a, b))
    assert not np.array_equal(a[0], np.arange(len(a[0])))  # shuffled, not the first rows


def test_stratified_folds_with_string_labels():
    y = np.array(["spam", "ham"] * 20)
    folds = stratified_folds(y, 4, 3)
    assert [int((y[f] == "spam").sum()) for f in folds] == [5, 5, 5, 5]


def test_stratified_folds_refuses_too_many_folds():
    with pytest.raises(ValueError):
        stratified_folds([0, 1, 1, 1], 4, 0)
    with pytest.raises(ValueError):
        stratified_folds([0, 1], 1, 0)


@pytest.mark.parametrize("d,seed,C", [(1, 0, 1.0), (3, 1, 1.0), (2, 2, 0.1), (1, 3, 100.0), (3, 4, 1.0)])
def test_fit_logistic_reaches_the_newton_optimum(d, seed, C):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(800, d)) * rng.uniform(0.5, 20, size=d)
    w_true = rng.normal(size=d)
    y = (rng.random(800) < 1 / (1 + np.exp(-(X @ w_true * 0.3 + 0.4)))).astype(int)
    coef, intercept = fit_logistic(X, y, C=C)
    ref_coef, ref_intercept = newton_logistic(X, y, C=C)
    assert coef.shape == (d,) and isinstance(intercept, float)
    np.testing.assert_allclose(coef, ref_coef, rtol=1e-9, atol=1e-10)
    assert intercept == pytest.approx(ref_intercept, rel=1e-9, abs=1e-10)


def test_fit_logistic_on_the_calibrations_inputs():
    """Three columns like (S, S_text, S_meta) in [-1, 1], mostly separable: the shape training fits."""
    rng = np.random.default_rng(5)
    y = (rng.random(3000) < 0.3).astype(int)
    X = np.clip((2 * y - 1)[:, None] * rng.uniform(0.2, 1.0, size=(3000, 3)) + rng.normal(0, 0.3, (3000, 3)), -1, 1)
    coef, intercept = fit_logistic(X, y)
    ref_coef, ref_intercept = newton_logistic(X, y)
    np.testing.assert_allclose(coef, ref_coef, rtol=1e-9, atol=1e-10)
    assert intercept == pytest.approx(ref_intercept, rel=1e-9, abs=1e-10)
    assert (coef > 0).all()


def test_fit_logistic_on_separable_data_stays_finite():
    X = np.r_[np.linspace(-5, -1, 50), np.linspace(1, 5, 50)]
    y = np.r_[np.zeros(50), np.ones(50)]
    coef, intercept = fit_logistic(X, y)
    assert np.isfinite(coef).all() and np.isfinite(intercept) and coef[0] > 0
    ref_coef, _ = newton_logistic(X, y)
    np.testing.assert_allclose(coef, ref_coef, rtol=1e-6)
