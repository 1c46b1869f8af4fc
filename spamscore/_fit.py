"""Training's two pieces of scikit-learn: stratified folds and the logistic regression of the calibration.

This module used to re-implement both in numpy, to spare training the import
of scikit-learn (1.4 to 2.3 s here).  It is now a thin adapter over
scikit-learn's own ``StratifiedKFold`` and ``LogisticRegression`` (issue 15):
training imports scikit-learn on its first call, and scoring never does
(scikit-learn is imported inside the functions, and nothing on the scoring
path calls them; tests/test_packaging.py checks ``sys.modules`` after a
score).  The two names stay because ``spamscore.scoring`` and
``spamscore.distributed`` call them with plain arrays and want plain arrays
back.

Measured on the cross-validated statistics of the SpamAssassin train half
(3,034 rows, the shipped calibration's three inputs), against the numpy
Newton solver this module held before: the weights and the intercept agree
to 5e-15; the folds are the same ones (that solver reproduced
``StratifiedKFold`` exactly).  tests/test_fit.py keeps that solver as the
reference.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_folds", "fit_logistic", "preload", "FitProcess"]

# The solver and its tolerance.  "newton-cholesky" is scikit-learn's exact
# Newton method for few features (here one to three columns): it reaches the
# optimum of the same objective (L2 on the weights, not on the intercept) in
# a handful of steps.  On the train half's statistics (above), against the
# exact optimum: tol=1e-10 5e-15 on the weights; its default tol=1e-4 6e-3;
# the default solver (lbfgs) 0.1 at tol=1e-4 and 6e-7 at tol=1e-10.
SOLVER = "newton-cholesky"
TOL = 1e-10
MAX_ITER = 1000


def preload() -> None:
    """Import what the two functions below use (scikit-learn: ~1.2 s and ~100 MB of resident memory here,
    most of it scipy.stats)."""
    import sklearn.linear_model  # noqa: F401
    import sklearn.model_selection  # noqa: F401


def _child_start() -> None:
    """The fit child's first task: lower its priority (nice 10, where there is one), then :func:`preload`.
    Extraction keeps every core busy; at nice 10 the import takes what its workers leave, so they finish
    sooner, and it completes while the parent computes the cross-validated statistics after them (the
    TREC-sized run, 3 alternated pairs: 8.18 -> 7.95 s on average)."""
    import os

    try:
        os.nice(10)
    except (AttributeError, OSError):   # (no os.nice on Windows)
        pass
    preload()


class FitProcess:
    """:func:`fit_logistic` in a child process that imports scikit-learn as soon as it starts.

    Training starts one once it has more messages than its calibration sample (spamscore.batch._fitter):
    the import (~1.2 s, a serial step after extraction before) is made at a lower priority while the
    extraction goes on, and its ~100 MB stay out of the parent, which holds the vocabulary and then writes
    the model (its peak).  The
    fit itself is the same call on the same arrays (pickled), so the same bits.  If the child cannot be
    started or dies, :meth:`fit_logistic` fits in this process.  Use it as a context manager (the child
    ends with it)."""

    def __init__(self):
        self._pool = None
        try:
            # loky's executor (joblib's, as for the extraction workers), not multiprocessing's: a spawned
            # multiprocessing child runs the caller's unguarded main script again; loky's does not
            from joblib.externals.loky import ProcessPoolExecutor

            pool = ProcessPoolExecutor(1)
            self._ready = pool.submit(_child_start)   # starts the child, which imports at once
            self._pool = pool
        except (OSError, ImportError, RuntimeError):   # no processes here (e.g. no /dev/shm): fit in-process
            self._pool = None

    def fit_logistic(self, X, y, C: float = 1.0) -> tuple[np.ndarray, float]:
        """:func:`fit_logistic`, in the child when it is there."""
        if self._pool is not None:
            from joblib.externals.loky import BrokenProcessPool

            try:
                return self._pool.submit(fit_logistic, np.asarray(X), np.asarray(y), C).result()
            except (BrokenProcessPool, OSError):
                self.close()
        return fit_logistic(X, y, C)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> "FitProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def stratified_folds(y, n_splits: int, seed: int) -> list[np.ndarray]:
    """Held-out indices of each fold of ``StratifiedKFold(n_splits, shuffle=True, random_state=seed)``."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    if n_splits < 2:  # (scikit-learn says the same; this message names the argument as callers know it)
        raise ValueError(f"expected at least 2 folds, got {n_splits}")
    splitter = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros((len(y), 1)), y)]


def fit_logistic(X, y, C: float = 1.0) -> tuple[np.ndarray, float]:
    """``(coef, intercept)`` of ``LogisticRegression(C=C)`` (the L2 objective
    ``0.5 |w|^2 + C * sum(log loss)``), solved to ``TOL``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y)
    lr = LogisticRegression(C=C, solver=SOLVER, tol=TOL, max_iter=MAX_ITER)
    with warnings.catch_warnings():
        # On separable data the optimum is still finite (L2), but Newton's last
        # steps may stop short of TOL: the weights are then as good as the
        # solver gets, and training has no one to show the warning to.
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr.fit(X, y)
    return lr.coef_[0].astype(np.float64), float(lr.intercept_[0])
