"""spamscore._fit against the scikit-learn estimators it stands in for."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from spamscore._fit import fit_logistic, stratified_folds


@pytest.mark.parametrize("n,k,seed", [(50, 5, 0), (3034, 5, 0), (101, 3, 7), (12, 2, 1), (999, 10, 42)])
def test_stratified_folds_equal_scikit_learn(n, k, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    y[:k] = 1
    y[k : 2 * k] = 0
    ours = stratified_folds(y, k, seed)
    theirs = [test for _, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(n), y)]
    assert len(ours) == len(theirs) == k
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_stratified_folds_with_string_labels_and_first_class_spam():
    y = np.array(["spam", "ham"] * 20)
    ours = stratified_folds(y, 4, 3)
    theirs = [t for _, t in StratifiedKFold(4, shuffle=True, random_state=3).split(np.zeros(40), y)]
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_stratified_folds_refuses_too_many_folds():
    with pytest.raises(ValueError):
        stratified_folds([0, 1, 1, 1], 4, 0)
    with pytest.raises(ValueError):
        stratified_folds([0, 1], 1, 0)


@pytest.mark.parametrize("d,seed,C", [(1, 0, 1.0), (3, 1, 1.0), (2, 2, 0.1), (1, 3, 100.0)])
def test_fit_logistic_matches_scikit_learn(d, seed, C):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(800, d)) * rng.uniform(0.5, 20, size=d)
    w_true = rng.normal(size=d)
    y = (rng.random(800) < 1 / (1 + np.exp(-(X @ w_true * 0.3 + 0.4)))).astype(int)
    coef, intercept = fit_logistic(X, y, C=C)
    lr = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(coef, lr.coef_[0], rtol=1e-4, atol=1e-5)
    assert intercept == pytest.approx(lr.intercept_[0], rel=1e-4, abs=1e-5)


def test_fit_logistic_on_separable_data_stays_finite():
    X = np.r_[np.linspace(-5, -1, 50), np.linspace(1, 5, 50)]
    y = np.r_[np.zeros(50), np.ones(50)]
    coef, intercept = fit_logistic(X, y)
    assert np.isfinite(coef).all() and np.isfinite(intercept) and coef[0] > 0
    lr = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X[:, None], y)
    np.testing.assert_allclose(coef, lr.coef_[0], rtol=1e-3)


def test_training_does_not_import_scikit_learn():
    """Importing scikit-learn costs over a second: training must not need it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from spamscore.scoring import train\n"
        "docs = [['free', 'money', 'now'], ['meeting', 'notes'], ['cheap', 'free'], ['lunch', 'notes']] * 5\n"
        "m = train(docs, ['spam', 'ham', 'spam', 'ham'] * 5)\n"
        "assert m.score(b'Subject: free money now\\n\\nfree').probability > 0.5\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('sklearn', 'scipy')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "sklearn" not in out, out
