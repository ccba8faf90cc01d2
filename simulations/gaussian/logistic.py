r"""L2-regularised logistic regression: multinomial (scikit-learn) and differentially private.

:class:`Logistic` minimises, with scikit-learn's lbfgs solver,

.. math:: C \sum_i -\log \operatorname{softmax}(x_i W + b)_{y_i} + \tfrac12 \lVert W\rVert_F^2

(b unpenalised, present when ``bias``). With exactly two labels present scikit-learn fits one
binary logistic model :math:`w` instead (score :math:`x w + b` for the larger label, 0 for the
smaller). A fit that did not converge raises ``ValueError``; it is never used silently.

:class:`PrivateLogistic` is output perturbation (Chaudhuri, Monteleoni & Sarwate 2011, JMLR 12,
"Differentially Private Empirical Risk Minimization", Algorithm 1). For labels
:math:`s_i \in \{-1, +1\}` and features clipped to :math:`\lVert x_i\rVert \le 1`, the exact
minimiser of

.. math:: J(w) = \frac1n \sum_i \log(1 + e^{-s_i w^\top x_i}) + \frac{\Lambda}{2}\lVert w\rVert^2

changes by at most :math:`\Delta = 2/(n\Lambda)` in L2 norm when one example is replaced (the
loss is convex with :math:`|\ell'| \le 1` and :math:`J` is :math:`\Lambda`-strongly convex), so
releasing :math:`w^* + \beta` with density :math:`\nu(\beta) \propto e^{-\varepsilon\lVert\beta\rVert
/ \Delta}` (norm :math:`\sim \Gamma(d, \Delta/\varepsilon)`, uniform direction) is
:math:`\varepsilon`-differentially private (pure DP, replace-one neighbours, both x and y
private). Multiclass: one-vs-rest, m binary problems each run at :math:`\varepsilon/m`, so the
released W is :math:`\varepsilon`-DP by basic composition; m = 2 is one binary problem at
:math:`\varepsilon`. Assumptions behind the guarantee: no bias term (an unpenalised bias breaks
strong convexity); clipping is a fixed per-example map; the minimiser is exact, and here it is
computed by damped Newton until :math:`\lVert\nabla J\rVert/\Lambda` (a bound on the distance to
the exact minimiser) is at most ``tol``. Predictions are post-processing of the released W.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from simulations.gaussian.learners import LinearModel, check_data
from theory._validate import check_finite, check_int

__all__ = [
    "Logistic",
    "PrivateLogistic",
    "PrivatePath",
    "private_logistic_path",
    "clip_rows",
    "output_perturbation_noise",
    "regularized_logistic",
]


def clip_rows(x: np.ndarray, max_norm: float = 1.0) -> np.ndarray:
    r"""Rows scaled to norm at most ``max_norm``: :math:`x_i \min(1, c/\lVert x_i\rVert)`."""
    max_norm = check_finite("max_norm", max_norm, low=0.0, low_open=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x * np.minimum(1.0, max_norm / np.maximum(norms, np.finfo(np.float64).tiny))


def output_perturbation_noise(
    dim: int, *, sensitivity: float, epsilon: float, rng: np.random.Generator, size: int = 1
) -> np.ndarray:
    r"""``size`` iid vectors :math:`\beta \in \mathbb R^d` with density
    :math:`\propto e^{-\varepsilon\lVert\beta\rVert/\Delta}`.

    In polar coordinates the density of the norm is :math:`\propto r^{d-1} e^{-\varepsilon r/\Delta}`,
    i.e. :math:`\lVert\beta\rVert \sim \Gamma(\text{shape}=d, \text{scale}=\Delta/\varepsilon)`, and the
    direction is uniform on the sphere (Chaudhuri et al. 2011, Algorithm 1). Shape (size, dim).
    """
    dim = check_int("dim", dim, low=1)
    sensitivity = check_finite("sensitivity", sensitivity, low=0.0, low_open=True)
    epsilon = check_finite("epsilon", epsilon, low=0.0, low_open=True)
    size = check_int("size", size, low=1)
    z = rng.standard_normal((size, dim))
    direction = z / np.linalg.norm(z, axis=1, keepdims=True)
    return direction * rng.gamma(dim, sensitivity / epsilon, size=size)[:, None]


def regularized_logistic(
    x: np.ndarray, s: np.ndarray, *, lam: float, tol: float = 1e-10, max_iter: int = 100
) -> np.ndarray:
    r"""Exact minimiser of :math:`J(w)` above for labels ``s`` in {-1, +1}, by damped Newton.

    Stops when :math:`\lVert\nabla J(w)\rVert/\Lambda \le` ``tol``, which bounds
    :math:`\lVert w - w^*\rVert` by strong convexity; raises ``ValueError`` if ``max_iter``
    Newton steps do not get there.
    """
    lam = check_finite("lam", lam, low=0.0, low_open=True)
    tol = check_finite("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    n, d = x.shape
    if s.shape != (n,) or not np.isin(s, (-1.0, 1.0)).all():
        raise ValueError(f"s must be {n} labels in {{-1, +1}}; got shape {s.shape}")

    def objective(w):
        return np.logaddexp(0.0, -s * (x @ w)).mean() + 0.5 * lam * (w @ w)

    w = np.zeros(d)
    for _ in range(max_iter):
        m = s * (x @ w)
        p = expit(-m)  # -dloss/dmargin
        g = -(x.T @ (s * p)) / n + lam * w
        if np.linalg.norm(g) / lam <= tol:
            return w
        H = (x.T * (p * (1.0 - p))) @ x / n + lam * np.eye(d)
        step = np.linalg.solve(H, g)
        f0, t, decrement = objective(w), 1.0, g @ step
        # Armijo backtracking; once the Newton decrement is below rounding level of J the full
        # step is taken (quadratic convergence), since J can no longer resolve the decrease
        while decrement > 1e-12 and objective(w - t * step) > f0 - 0.25 * t * decrement and t > 1e-10:
            t *= 0.5
        w = w - t * step
    raise ValueError(
        f"max_iter: Newton did not reach |grad J|/lam <= {tol:g} in max_iter={max_iter} steps (lam={lam:g})"
    )


@dataclass(frozen=True)
class Logistic:
    r"""L2-regularised multinomial logistic regression (scikit-learn, lbfgs); see the module
    docstring. ``C`` > 0 is the inverse regularisation strength; a class absent from y gets
    score :math:`-\infty` and is never predicted. ``tol`` and ``max_iter`` go to scikit-learn;
    non-convergence raises ``ValueError``."""

    classes: int
    C: float = 1.0
    bias: bool = True
    max_iter: int = 1000
    tol: float = 1e-8

    def __post_init__(self):
        check_int("classes", self.classes, low=2)
        check_finite("C", self.C, low=0.0, low_open=True)
        check_int("max_iter", self.max_iter, low=1)
        check_finite("tol", self.tol, low=0.0, low_open=True)

    def fit(self, x, y, *, rng: np.random.Generator | None = None) -> LinearModel:
        x, y = check_data(x, y, self.classes, min_n=2)
        present = np.unique(y)
        if present.size < 2:
            raise ValueError(f"y: logistic regression needs at least two distinct labels; got only {present}")
        model = LogisticRegression(C=self.C, fit_intercept=self.bias, tol=self.tol, max_iter=self.max_iter)
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=ConvergenceWarning)
            try:
                model.fit(x, y)
            except ConvergenceWarning as exc:
                raise ValueError(
                    f"max_iter: lbfgs did not converge within max_iter={self.max_iter} (C={self.C:g}); "
                    "raise max_iter, lower C or rescale x"
                ) from exc
        if (np.asarray(model.n_iter_) >= self.max_iter).any():
            raise ValueError(f"max_iter: lbfgs used all max_iter={self.max_iter} iterations (C={self.C:g})")
        W = np.zeros((x.shape[1], self.classes))
        b = np.full(self.classes, -np.inf)
        if present.size == 2:
            W[:, present[1]] = model.coef_[0]
            b[present] = [0.0, model.intercept_[0]]  # intercept_ is 0 without bias
        else:
            W[:, present] = model.coef_.T
            b[present] = model.intercept_
        return LinearModel(W=W, b=b)


@dataclass(frozen=True)
class PrivateLogistic:
    r""":math:`\varepsilon`-DP logistic regression by output perturbation (module docstring).

    ``classes`` m >= 2; ``epsilon`` > 0 the total privacy budget; ``lam`` :math:`\Lambda > 0`;
    ``tol`` bounds the distance of each solved :math:`w` to the exact minimiser. ``fit``
    needs ``rng`` (the noise); the model has no bias and scores :math:`x W` (for m = 2 the
    column of label 0 is zero).
    """

    classes: int
    epsilon: float
    lam: float
    tol: float = 1e-10
    max_iter: int = 100

    def __post_init__(self):
        check_int("classes", self.classes, low=2)
        check_finite("epsilon", self.epsilon, low=0.0, low_open=True)
        check_finite("lam", self.lam, low=0.0, low_open=True)
        check_finite("tol", self.tol, low=0.0, low_open=True)
        check_int("max_iter", self.max_iter, low=1)

    def sensitivity(self, n: int) -> float:
        r""":math:`\Delta = 2/(n\Lambda)`, the L2 sensitivity of each binary minimiser."""
        return 2.0 / (check_int("n", n, low=1) * self.lam)

    def fit(self, x, y, *, rng: np.random.Generator | None = None) -> LinearModel:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng: PrivateLogistic needs a np.random.Generator for its noise; got {rng!r}")
        x, y = check_data(x, y, self.classes, min_n=1)
        x = clip_rows(x)
        n, d = x.shape
        targets = [1] if self.classes == 2 else range(self.classes)
        eps_each = self.epsilon / len(targets)
        W = np.zeros((d, self.classes))
        for c in targets:  # a loop over the m one-vs-rest problems, not over examples
            s = np.where(y == c, 1.0, -1.0)
            w = regularized_logistic(x, s, lam=self.lam, tol=self.tol, max_iter=self.max_iter)
            noise = output_perturbation_noise(d, sensitivity=self.sensitivity(n), epsilon=eps_each, rng=rng)
            W[:, c] = w + noise[0]
        return LinearModel(W=W, b=np.zeros(self.classes))


@dataclass(frozen=True, eq=False)
class PrivatePath:
    r"""Output-perturbation logistic regression at several privacy levels from one exact fit.

    ``W_star``: (d, m) the exact one-vs-rest minimisers :math:`w_c^*` (the non-private limit
    :math:`\varepsilon \to \infty`); ``W``: (E, D, d, m) the released weights
    :math:`w_c^* + \beta` for each of the E ``epsilons`` and D noise draws; no bias.
    """

    W_star: np.ndarray
    W: np.ndarray
    epsilons: np.ndarray

    def model(self, e: int | None, k: int = 0) -> LinearModel:
        """The model of epsilon index ``e`` and draw ``k``; ``e = None``: the non-private one."""
        W = self.W_star if e is None else self.W[e, k]
        return LinearModel(W=W, b=np.zeros(W.shape[1]))


def private_logistic_path(
    x,
    y,
    classes: int,
    *,
    lam: float,
    epsilons,
    rng: np.random.Generator,
    draws: int = 1,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> PrivatePath:
    r""":class:`PrivateLogistic` at every :math:`\varepsilon` in ``epsilons``, ``draws`` noise
    draws each, sharing the exact minimisers.

    The noise uses common random numbers across :math:`\varepsilon`: for each draw and class one
    direction :math:`u` (uniform on the sphere) and one :math:`g \sim \Gamma(d, 1)`, and
    :math:`\beta_\varepsilon = u\,g\,\Delta/\varepsilon_c` with :math:`\varepsilon_c =
    \varepsilon/m` (:math:`\varepsilon` for m = 2): each released model has exactly the law of
    :class:`PrivateLogistic` at its :math:`\varepsilon` (so it is :math:`\varepsilon`-DP on its
    own); models at different :math:`\varepsilon` are not independent, which makes their
    differences less noisy. With one :math:`\varepsilon` and one draw it is
    ``PrivateLogistic(classes, epsilon, lam).fit(x, y, rng=rng)`` (same stream of draws: direction
    then norm, class by class).

    When d > n the minimiser is found in the row space of the clipped X (thin SVD
    :math:`X = U\Sigma V^\top`, :math:`w = V\beta`): the L2 penalty makes the exact minimiser lie
    there (representer theorem), and :math:`\lVert\nabla J\rVert` is the same in both
    coordinates, so ``tol`` keeps its meaning. The noise is drawn in :math:`\mathbb R^d`.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: private_logistic_path needs a np.random.Generator; got {rng!r}")
    classes = check_int("classes", classes, low=2)
    lam = check_finite("lam", lam, low=0.0, low_open=True)
    draws = check_int("draws", draws, low=1)
    eps = np.atleast_1d(np.asarray(epsilons, dtype=np.float64))
    if eps.ndim != 1 or eps.size == 0:
        raise ValueError(f"epsilons must be a non-empty 1-d list of numbers > 0; got shape {eps.shape}")
    for e in eps:
        check_finite("epsilons", e, low=0.0, low_open=True)
    x, y = check_data(x, y, classes, min_n=1)
    x = clip_rows(x)
    n, d = x.shape
    reduce = d > n
    if reduce:
        U, sv, Vt = np.linalg.svd(x, full_matrices=False)
        feats = U * sv
    else:
        feats = x
    targets = [1] if classes == 2 else list(range(classes))
    W_star = np.zeros((d, classes))
    for c in targets:  # a loop over the one-vs-rest problems, not over examples
        s = np.where(y == c, 1.0, -1.0)
        w = regularized_logistic(feats, s, lam=lam, tol=tol, max_iter=max_iter)
        W_star[:, c] = Vt.T @ w if reduce else w
    sens = 2.0 / (n * lam)
    W = np.broadcast_to(W_star, (eps.size, draws, d, classes)).copy()
    for k in range(draws):  # a loop over noise draws
        for c in targets:
            z = rng.standard_normal((1, d))
            direction = z / np.linalg.norm(z, axis=1, keepdims=True)
            g = rng.standard_gamma(d, size=1)
            for j, e in enumerate(eps):  # the scale of the same draw at every epsilon
                W[j, k, :, c] += (direction * (g * (sens / (e / len(targets))))[:, None])[0]
    return PrivatePath(W_star=W_star, W=W, epsilons=eps)
