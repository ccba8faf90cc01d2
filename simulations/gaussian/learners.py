r"""Learners on (x, y) with m classes: the common interface, k-NN, and exact memorization.

Every learner is a frozen dataclass of hyperparameters (``classes`` among them) with

``fit(x, y, *, rng=None) -> fitted``
    ``x``: (n, d) finite floats, ``y``: (n,) integers in [0, classes). ``rng`` is used only by
    randomised learners (:class:`~simulations.gaussian.logistic.PrivateLogistic`).
``fitted.predict(x) -> labels``
    (q,) int64. Every argmax over class scores breaks ties toward the smallest label.

The learners with exact leave-one-out (:class:`KNN`, :class:`~simulations.gaussian.ridge.Ridge`,
:class:`~simulations.gaussian.ridge.KernelRidge`) also have ``loo_predict(x, y) -> labels``,
whose entry i is :math:`f_{-i}(x_i)`, the prediction at :math:`x_i` of the learner trained on
S without example i. For a deterministic learner the memorization score of Feldman (2020,
arXiv 1906.05271; docs/references.md §1.3) is then exact:

.. math:: \mathrm{mem}(A, S, i) = 1[f(x_i) = y_i] - 1[f_{-i}(x_i) = y_i] \in \{-1, 0, 1\}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory._validate import check_int

__all__ = ["LinearModel", "KNN", "KNNModel", "memorization", "check_data", "check_inputs"]

#: Query rows times training rows per distance block (bounds memory at about 64 MiB a buffer).
_BLOCK_ELEMENTS = 1 << 23


def check_inputs(x, *, dim: int | None = None) -> np.ndarray:
    """``x`` as a (q, d) float64 array of finite values (d = ``dim`` when given), else ValueError."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"x must have shape (n, d) with d >= 1; got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"x must have {dim} columns (the training dimension); got {x.shape[1]}")
    if not np.isfinite(x).all():
        raise ValueError("x must be finite (found NaN or inf)")
    return x


def check_data(x, y, classes: int, *, min_n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Validate a training set: x (n, d) finite, y (n,) integers in [0, classes), n >= min_n."""
    x = check_inputs(x)
    y = np.asarray(y)
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be {x.shape[0]} integer labels (one per row of x); got shape {y.shape}")
    if x.shape[0] < min_n:
        raise ValueError(f"x must have at least {min_n} rows; got n = {x.shape[0]}")
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"y must lie in [0, {classes - 1}] (classes={classes}); got [{y.min()}, {y.max()}]")
    return x, y.astype(np.int64)


def one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    """(n, classes) float64 matrix with ones at (i, y_i)."""
    Y = np.zeros((y.size, classes))
    Y[np.arange(y.size), y] = 1.0
    return Y


@dataclass(frozen=True, eq=False)
class LinearModel:
    r"""Linear scores :math:`s(x) = x W + b`; predicts :math:`\arg\max_y s_y(x)`.

    ``W``: (d, m), ``b``: (m,). A class absent from the training labels may carry
    :math:`b_y = -\infty` so that it is never predicted.
    """

    W: np.ndarray
    b: np.ndarray

    def scores(self, x) -> np.ndarray:
        """(q, m) class scores."""
        return check_inputs(x, dim=self.W.shape[0]) @ self.W + self.b

    def predict(self, x) -> np.ndarray:
        return np.argmax(self.scores(x), axis=1)


def _sq_dist(q: np.ndarray, x: np.ndarray, xx: np.ndarray) -> np.ndarray:
    return np.maximum((q * q).sum(1)[:, None] - 2.0 * q @ x.T + xx[None, :], 0.0)


def _knn_votes(d2: np.ndarray, Y: np.ndarray, k: int) -> np.ndarray:
    """Vote counts (rows, m) of the k nearest columns; distance ties at the k-th neighbour are
    broken toward the smaller training index."""
    kth = np.partition(d2, k - 1, axis=1)[:, k - 1 : k]
    less = d2 < kth
    eq = d2 == kth
    need = k - less.sum(1, keepdims=True)
    chosen = less | (eq & (np.cumsum(eq, axis=1) <= need))
    return chosen.astype(np.float64) @ Y


@dataclass(frozen=True, eq=False)
class KNNModel:
    """A fitted k-NN classifier: the stored training set."""

    x: np.ndarray
    y: np.ndarray
    k: int
    classes: int

    def predict(self, x, *, exclude_self: bool = False) -> np.ndarray:
        """Majority label of the k nearest training points (Euclidean distance).

        With ``exclude_self`` the query must be the training set itself and query i does not
        see training point i (leave-one-out); its other copies, if any, stay.
        """
        x = check_inputs(x, dim=self.x.shape[1])
        if exclude_self and x.shape[0] != self.x.shape[0]:
            raise ValueError("exclude_self: the query must be the training set itself")
        Y = one_hot(self.y, self.classes)
        xx = (self.x * self.x).sum(1)
        out = np.empty(x.shape[0], dtype=np.int64)
        block = max(1, _BLOCK_ELEMENTS // self.x.shape[0])
        for s in range(0, x.shape[0], block):
            e = min(x.shape[0], s + block)
            d2 = _sq_dist(x[s:e], self.x, xx)
            if exclude_self:
                d2[np.arange(e - s), np.arange(s, e)] = np.inf
            out[s:e] = np.argmax(_knn_votes(d2, Y, self.k), axis=1)
        return out


@dataclass(frozen=True)
class KNN:
    r"""k-nearest-neighbour classifier: the most common label among the k training points
    nearest in Euclidean distance.

    Ties: among labels with equal votes the smallest label wins; among training points at the
    same distance as the k-th neighbour the ones with smaller index are taken. Leave-one-out
    (:meth:`loo_predict`) is exact: query i is answered from the other n - 1 points (so it needs
    n - 1 >= k). Distances are computed in blocks of query rows: O(n d) memory per row block.
    """

    k: int
    classes: int

    def __post_init__(self):
        check_int("k", self.k, low=1)
        check_int("classes", self.classes, low=2)

    def fit(self, x, y, *, rng: np.random.Generator | None = None) -> KNNModel:
        x, y = check_data(x, y, self.classes, min_n=self.k)
        return KNNModel(x=x, y=y, k=self.k, classes=self.classes)

    def loo_predict(self, x, y) -> np.ndarray:
        """(n,) labels :math:`f_{-i}(x_i)`."""
        x, y = check_data(x, y, self.classes, min_n=self.k + 1)
        return KNNModel(x=x, y=y, k=self.k, classes=self.classes).predict(x, exclude_self=True)


def memorization(learner, x, y) -> np.ndarray:
    r"""Exact memorization scores :math:`\mathrm{mem}(i) = 1[f(x_i) = y_i] - 1[f_{-i}(x_i) = y_i]`.

    ``learner`` must be deterministic and have ``loo_predict`` (k-NN, ridge, kernel ridge);
    returns (n,) int64 in {-1, 0, 1}. Source: Feldman (2020), arXiv 1906.05271 (docs/references.md §1.3),
    where the probabilities over the learner's randomness become indicators.
    """
    if not hasattr(learner, "loo_predict"):
        raise ValueError(f"learner must have an exact loo_predict; {type(learner).__name__} has none")
    x, y = check_data(x, y, learner.classes, min_n=2)
    fitted = learner.fit(x, y).predict(x) == y
    held_out = learner.loo_predict(x, y) == y
    return fitted.astype(np.int64) - held_out.astype(np.int64)
