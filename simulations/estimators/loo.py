r"""Exact leave-one-out memorization for deterministic learners: the truth the subsampled
estimator is audited against on small problems.

For a deterministic learner A, mem(A, S, i) = 1[A(S)(x_i) = y_i] - 1[A(S \ i)(x_i) = y_i]
(docs/references.md §1.3). Closed forms: k-nearest neighbours (drop i from its own neighbour
list) and ridge regression on one-hot targets (the linear-smoother identity
f_{-i}(x_i) = (f(x_i) - H_ii Y_i) / (1 - H_ii), H = X (X^T X + lambda I)^{-1} X^T); and a generic
refit loop for any ``fit_predict`` on tiny problems.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from theory._validate import check_finite, check_int

__all__ = ["knn_loo_memorization", "ridge_loo_memorization", "loo_memorization"]


def _vote(labels: np.ndarray, classes: int) -> np.ndarray:
    """Plurality of each row of ``labels`` (ties: the smallest label)."""
    counts = np.zeros((labels.shape[0], classes), dtype=np.int64)
    np.add.at(counts, (np.arange(labels.shape[0])[:, None], labels), 1)
    return counts.argmax(axis=1)


def knn_loo_memorization(
    x: np.ndarray, y: np.ndarray, *, k: int = 1, classes: int | None = None
) -> np.ndarray:
    """Exact mem of k-NN (Euclidean; distance ties broken by index, vote ties by smallest label)
    for every training example, shape (n,). O(n^2) memory: small n only."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.int64)
    n = x.shape[0]
    k = check_int("k", k, low=1, high=n - 1)
    m = int(y.max()) + 1 if classes is None else classes
    sq = (x * x).sum(axis=1)
    d = sq[:, None] + sq[None, :] - 2.0 * x @ x.T
    np.fill_diagonal(d, -np.inf)  # x_i is its own nearest neighbour when it is in S
    order = np.argsort(d, axis=1, kind="stable")
    with_i = _vote(y[order[:, :k]], m)
    without_i = _vote(y[order[:, 1 : k + 1]], m)
    return (with_i == y).astype(np.float64) - (without_i == y).astype(np.float64)


def ridge_loo_memorization(
    x: np.ndarray, y: np.ndarray, *, lam: float, classes: int | None = None
) -> np.ndarray:
    """Exact mem of ridge regression on one-hot targets (prediction = argmax, ties: smallest
    label), shape (n,), from the hat-matrix identity; ``lam`` > 0."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.int64)
    lam = check_finite("lam", lam, low=0.0, low_open=True)
    m = int(y.max()) + 1 if classes is None else classes
    Y = np.eye(m)[y]
    G = x @ x.T
    H = G @ np.linalg.solve(G + lam * np.eye(len(x)), np.eye(len(x)))  # kernel form: X (X^T X + lam)^-1 X^T
    F = H @ Y
    h = np.diag(H)[:, None]
    F_loo = (F - h * Y) / (1.0 - h)
    return (F.argmax(axis=1) == y).astype(np.float64) - (F_loo.argmax(axis=1) == y).astype(np.float64)


def loo_memorization(fit_predict: Callable, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact mem by refitting without each example: ``fit_predict(x_train, y_train, x_query)``
    returns predicted labels for x_query. n + 1 fits: for tiny problems and audits only."""
    x = np.asarray(x)
    y = np.asarray(y)
    n = len(x)
    full = np.asarray(fit_predict(x, y, x)) == y
    out = np.empty(n)
    for i in range(n):  # one refit per example: the definition, used as the reference
        keep = np.arange(n) != i
        out[i] = float(full[i]) - float(np.asarray(fit_predict(x[keep], y[keep], x[i : i + 1]))[0] == y[i])
    return out
