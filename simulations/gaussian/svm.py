r"""Hard-margin multiclass linear SVM (Crammer–Singer without slack), solved with cvxpy.

Over the classes P present in y (a class absent from y gets score :math:`-\infty` and is never
predicted), with scores :math:`s_c(x) = w_c^\top x + b_c`:

.. math:: \min_{W, b}\ \tfrac12 \lVert W\rVert_F^2 \quad\text{s.t.}\quad
          s_{y_i}(x_i) - s_c(x_i) \ge 1 \ \ \forall i,\ \forall c \in P \setminus \{y_i\},
          \qquad \textstyle\sum_c b_c = 0 .

The biases are not penalised (so the solution does not depend on where the origin is); since
only bias differences enter the constraints, :math:`\sum_c b_c = 0` fixes the common shift.
(Crammer & Singer 2001, JMLR 2, "On the algorithmic implementation of multiclass kernel-based
vector machines", with the slack variables removed.) The problem is feasible exactly when the
data are linearly separable in the one-vs-one sense above; an infeasible problem, or any solver
status other than optimal, raises ``ValueError`` (the result is never used silently).

When d > n the problem is solved in the n-dimensional row space of X: with the thin SVD
:math:`X = U\Sigma V^\top` (V: d x n, orthonormal columns) the constraints depend on W only
through XW, so the part of W orthogonal to the rows only adds to the objective and the optimum
is :math:`W = VB` with B the solution on the features :math:`U\Sigma` (and
:math:`\lVert W\rVert_F = \lVert B\rVert_F`): the same problem with n instead of d variables
per class (about 2x faster at d = 2n).

For two classes it is the binary hard-margin SVM with :math:`w = w_1 - w_0`,
:math:`\lVert W\rVert_F^2 = \lVert w\rVert^2/2`. Example: :math:`x = \pm u` with labels 1 and
0 gives :math:`w_1 = -w_0 = u/(2\lVert u\rVert^2)`, :math:`b = 0` and geometric margin
:math:`\lVert u\rVert`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.gaussian.learners import LinearModel, check_data, check_inputs, one_hot
from theory._validate import check_int

__all__ = ["HardMarginSVM", "multiclass_margin"]


def multiclass_margin(model: LinearModel, x, y) -> float:
    r"""Geometric margin
    :math:`\min_i \min_{c \ne y_i} (s_{y_i}(x_i) - s_c(x_i)) / \lVert w_{y_i} - w_c\rVert`.

    Classes with score :math:`-\infty` (absent in training) are skipped; negative if some point
    is misclassified.
    """
    x = check_inputs(x, dim=model.W.shape[0])
    y = np.asarray(y, dtype=np.int64)
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},); got {y.shape}")
    S = model.scores(x)
    diff = model.W.T[y][:, None, :] - model.W.T[None, :, :]  # (n, m, d) w_{y_i} - w_c
    norms = np.linalg.norm(diff, axis=2)
    gap = S[np.arange(y.size), y][:, None] - S
    valid = np.isfinite(model.b)[None, :] & (np.arange(model.W.shape[1])[None, :] != y[:, None])
    return float(np.min(np.where(valid, gap / np.where(valid, norms, 1.0), np.inf)))


@dataclass(frozen=True)
class HardMarginSVM:
    r"""Hard-margin multiclass linear SVM (module docstring). ``classes`` m >= 2; ``solver`` a
    cvxpy solver name able to solve QPs (default CLARABEL)."""

    classes: int
    solver: str = "CLARABEL"

    def __post_init__(self):
        import cvxpy as cp  # here, not at import: the rest of tailmem loads without cvxpy

        check_int("classes", self.classes, low=2)
        if self.solver not in cp.installed_solvers():
            raise ValueError(
                f"solver must be one of the installed cvxpy solvers {cp.installed_solvers()}; "
                f"got {self.solver!r}"
            )

    def fit(self, x, y, *, rng: np.random.Generator | None = None) -> LinearModel:
        import cvxpy as cp

        x, y = check_data(x, y, self.classes, min_n=2)
        present, yi = np.unique(y, return_inverse=True)
        if present.size < 2:
            raise ValueError(f"y: a max-margin classifier needs at least two distinct labels; got {present}")
        n, d = x.shape
        k = present.size
        if d > n:  # the row space of X (module docstring)
            U, sv, Vt = np.linalg.svd(x, full_matrices=False)
            x = U * sv
        W = cp.Variable((x.shape[1], k))
        b = cp.Variable(k)
        S = x @ W + np.ones((n, 1)) @ cp.reshape(b, (1, k), order="C")
        own = one_hot(yi, k)
        own_score = cp.sum(cp.multiply(S, own), axis=1, keepdims=True)
        constraints = [own_score @ np.ones((1, k)) - S >= 1.0 - own, cp.sum(b) == 0]
        problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W)), constraints)
        try:
            problem.solve(solver=self.solver)
        except cp.error.SolverError as exc:
            raise ValueError(f"solver: {self.solver} failed on the hard-margin problem ({exc})") from exc
        if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise ValueError(
                f"x, y: the data are not linearly separable, so the hard-margin problem is infeasible "
                f"(solver status {problem.status!r}); use a soft-margin or regularised learner"
            )
        if problem.status != cp.OPTIMAL:
            raise ValueError(f"solver: {self.solver} returned status {problem.status!r}, not optimal")
        W_full = np.zeros((d, self.classes))
        b_full = np.full(self.classes, -np.inf)
        W_full[:, present] = Vt.T @ W.value if d > n else W.value
        b_full[present] = b.value
        return LinearModel(W=W_full, b=b_full)
