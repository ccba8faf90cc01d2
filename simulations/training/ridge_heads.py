r"""Many ridge-regression heads on fixed features, one per training subset, in closed form.

The features are standardised with the training statistics and projected on their top ``k``
principal components (a basis :math:`Z \in \mathbb R^{n \times (k+1)}`, a column of ones
appended for the bias). The head of a subset S with one-hot targets Y is

.. math:: W_S = (Z_S^\top Z_S + \lambda |S| I)^{-1} Z_S^\top Y_S, \qquad f(x) = z(x)^\top W_S,

the penalty ``lam`` per example (the bias penalised too, as in
:func:`simulations.data.patches.ridge_accuracy`). Its Gram matrix is built from the smaller of S
and its complement (:math:`Z_S^\top Z_S = Z^\top Z - Z_{\bar S}^\top Z_{\bar S}`), in float32; the
solve is a float64 Cholesky. A head is a deterministic function of its subset: two runs, or any
number of worker threads, give the same bits on one machine.

Correctness of a head on an example is reported two ways: 0/1 (arg max of f is the label) and
soft, :math:`\mathrm{softmax}(\beta f(x))_y`, the probability of the label under a softmax whose
temperature :math:`1/\beta` is fitted once by maximum likelihood on held-out examples
(:func:`calibrate_beta`).

Cost per head: about :math:`2\min(|S|, n-|S|)(k+1)^2` flops for the Gram matrix, which dominates
(about 0.37 s for 12,000 rows at k = 1024 on one core of the 2-core development machine).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulations.threads import on_threads
from theory._validate import check_finite, check_int

__all__ = ["RidgeBasis", "ridge_basis", "ridge_head", "ridge_heads", "calibrate_beta", "label_probability"]


@dataclass(frozen=True, eq=False)
class RidgeBasis:
    """Projected features: ``z_train`` (n, k+1) and ``z_test`` (m, k+1) float32 (last column ones),
    ``gram`` = z_train^T z_train (float32), and the variance of each kept component."""

    z_train: np.ndarray
    z_test: np.ndarray
    gram: np.ndarray
    variances: np.ndarray

    @property
    def dim(self) -> int:
        return self.z_train.shape[1]


def ridge_basis(x_train: np.ndarray, x_test: np.ndarray, *, components: int) -> RidgeBasis:
    """Standardise (training statistics), keep the top ``components`` principal directions of the
    training features (eigenvectors of their covariance, float64), append a ones column."""
    x_train = np.asarray(x_train)
    if x_train.ndim != 2 or np.asarray(x_test).ndim != 2 or x_train.shape[1] != np.asarray(x_test).shape[1]:
        raise ValueError(f"features must be (n, d) and (m, d); got {x_train.shape} and {np.shape(x_test)}")
    d = x_train.shape[1]
    k = check_int("components", components, low=1, high=d)
    mean = x_train.mean(axis=0, dtype=np.float64)
    std = x_train.std(axis=0, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)

    def standard(x):
        return (np.asarray(x, dtype=np.float64) - mean) / std

    a = standard(x_train)
    if not np.isfinite(a).all():
        raise ValueError("features: the training features hold NaN or inf")
    vals, v = _principal_axes(a, k)

    def project(x):
        z = np.empty((len(x), k + 1), dtype=np.float32)
        z[:, :k] = x @ v
        z[:, k] = 1.0
        return z

    z_train = project(a)
    gram = z_train.T @ z_train
    return RidgeBasis(z_train, project(standard(x_test)), gram, vals)


def _principal_axes(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` eigenvalues and unit eigenvectors (d, k) of the covariance a^T a / n of the
    centred rows of ``a`` (n, d), each vector's largest entry positive. With fewer rows than
    columns, from the n x n Gram matrix (a^T u / sqrt(n lambda) for its eigenvectors u): O(n^2 d)
    instead of O(d^3), the same axes."""
    n, d = a.shape
    if n < d and k < n:
        vals, u = np.linalg.eigh(a @ a.T / n)
        order = np.argsort(-vals, kind="stable")[:k]
        vals = vals[order]
        v = a.T @ u[:, order] / np.sqrt(np.maximum(vals, np.finfo(float).tiny) * n)
    else:
        vals, vecs = np.linalg.eigh(a.T @ a / n)
        order = np.argsort(-vals, kind="stable")[:k]
        vals, v = vals[order], vecs[:, order]
    v *= np.where(v[np.abs(v).argmax(axis=0), np.arange(k)] < 0, -1.0, 1.0)  # fixed signs
    return vals, v


def _solve(gram: np.ndarray, rhs: np.ndarray, penalty: float) -> np.ndarray:
    import scipy.linalg

    g = gram.astype(np.float64)
    g[np.diag_indices_from(g)] += penalty
    return scipy.linalg.cho_solve(scipy.linalg.cho_factor(g, lower=True), rhs.astype(np.float64)).astype(
        np.float32
    )


def ridge_head(
    basis: RidgeBasis, y_train: np.ndarray, keep: np.ndarray, *, lam: float, classes: int
) -> np.ndarray:
    """The weights (k+1, classes) of the head trained on the examples where ``keep`` (n,) is True."""
    keep = np.asarray(keep, dtype=bool)
    size = int(keep.sum())
    if size == 0:
        raise ValueError("keep: a head needs at least one training example")
    z = basis.z_train
    if size <= len(keep) // 2:
        zs = z[keep]
        gram = zs.T @ zs
    else:
        zc = z[~keep]
        gram = basis.gram - zc.T @ zc
    onehot = np.zeros((len(keep), classes), dtype=np.float32)
    onehot[np.flatnonzero(keep), np.asarray(y_train)[keep]] = 1.0
    return _solve(gram, z.T @ onehot, lam * size)


def label_probability(scores: np.ndarray, labels: np.ndarray, beta: float) -> np.ndarray:
    """softmax(beta * scores)[label] for each row of ``scores`` (..., classes), in float64."""
    s = beta * np.asarray(scores, dtype=np.float64)
    s -= s.max(axis=-1, keepdims=True)
    logp = np.take_along_axis(s, np.asarray(labels)[..., None], axis=-1)[..., 0] - np.log(
        np.exp(s).sum(axis=-1)
    )
    return np.exp(logp)


def calibrate_beta(scores: np.ndarray, labels: np.ndarray) -> float:
    """The inverse temperature beta maximising the likelihood of ``labels`` under
    softmax(beta * scores) (a one-dimensional, convex problem in beta; searched on log beta)."""
    import scipy.optimize

    def nll(log_beta: float) -> float:
        return -float(np.log(np.maximum(label_probability(scores, labels, np.exp(log_beta)), 1e-300)).mean())

    res = scipy.optimize.minimize_scalar(nll, bounds=(np.log(1e-3), np.log(1e4)), method="bounded",
                                         options={"xatol": 1e-6})  # fmt: skip
    return float(np.exp(res.x))


def ridge_heads(
    basis: RidgeBasis,
    y_train: np.ndarray,
    y_test: np.ndarray,
    masks: np.ndarray,
    *,
    lam: float,
    beta: float,
    classes: int,
    workers: int = 1,
    on_done: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Train one head per row of ``masks`` (t, n) and score it on every training and test example:
    ``correct_train`` (t, n) and ``correct_test`` (t, m) bool, ``prob_train``, ``prob_test``
    float32 (the label's probability at inverse temperature ``beta``). Heads run side by side on
    ``workers`` threads (numpy's BLAS releases the GIL); the results do not depend on ``workers``."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 2 or masks.shape[1] != len(basis.z_train):
        raise ValueError(f"masks must be (models, {len(basis.z_train)}); got {masks.shape}")
    check_finite("lam", lam, low=0.0)
    check_finite("beta", beta, low=0.0, low_open=True)
    t, n, m = masks.shape[0], masks.shape[1], len(basis.z_test)
    out = {
        "correct_train": np.empty((t, n), dtype=bool),
        "correct_test": np.empty((t, m), dtype=bool),
        "prob_train": np.empty((t, n), dtype=np.float32),
        "prob_test": np.empty((t, m), dtype=np.float32),
    }

    def one(k: int) -> None:
        w = ridge_head(basis, y_train, masks[k], lam=lam, classes=classes)
        for split, z, y in (("train", basis.z_train, y_train), ("test", basis.z_test, y_test)):
            f = z @ w
            out[f"correct_{split}"][k] = f.argmax(axis=1) == y
            out[f"prob_{split}"][k] = label_probability(f, y, beta)
        if on_done is not None:
            on_done(1)

    on_threads(one, range(t), workers)
    return out
