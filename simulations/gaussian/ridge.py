r"""Ridge regression on one-hot targets (linear and RBF kernel) with exact leave-one-out.

Both learners regress the one-hot matrix :math:`Y \in \{0,1\}^{n \times m}` and predict the
argmax of the m outputs (ties: smallest label). With kernel :math:`K` (linear: :math:`XX^\top`;
RBF: :math:`K_{ij} = e^{-\gamma\lVert x_i - x_j\rVert^2}`) and :math:`\lambda \ge 0`:

no bias (``bias=False``)
    :math:`\min_f \lVert Y - F\rVert^2 + \lambda \lVert f\rVert_{\mathcal H}^2`, dual
    :math:`\alpha = (K + \lambda I)^{-1} Y`, :math:`f(x) = k(x)^\top \alpha`;
unpenalised bias (``bias=True``, the default)
    :math:`f(x) = k(x)^\top \alpha + b` with :math:`b` not penalised; equivalently
    :math:`\begin{pmatrix} K + \lambda I & 1 \\ 1^\top & 0\end{pmatrix}
    \begin{pmatrix}\alpha \\ b^\top\end{pmatrix} = \begin{pmatrix} Y \\ 0\end{pmatrix}`,
    i.e. ridge on data centred in feature space.

Exact leave-one-out. The fitted values are :math:`\hat Y = SY` and, for penalised least squares
with a penalty that does not depend on the data, :math:`y_i - f_{-i}(x_i) = [(I - S)Y]_i /
(I - S)_{ii}` (Sherman–Morrison; the unpenalised bias is one more column of the design). Here
:math:`I - S = \lambda G` with :math:`G = (K + \lambda I)^{-1}` (no bias) or :math:`G = (K_c +
\lambda I)^{-1}` restricted to :math:`1^\perp`, :math:`K_c = HKH`, :math:`H = I - 11^\top/n`
(bias), so

.. math:: y_i - f_{-i}(x_i) = \frac{[G Y]_i}{G_{ii}}.

At :math:`\lambda = 0` the model is the limit :math:`\lambda \to 0^+`: the minimum-norm
interpolator (pseudo-inverse) when :math:`K` (resp. :math:`K_c` on :math:`1^\perp`) is
nonsingular, where the formula holds with :math:`G = K^{-1}`; minimum-norm least squares when
it is singular (linear ridge with n > d + bias is ordinary least squares). Every refit then
is the minimum-norm (pseudo-inverse) refit, to which ridge refits converge, so the LOO
residual is the limit of the formula: writing :math:`\lambda G = P_0 + \lambda K^+ + O(\lambda^2)`
with :math:`P_0` the projection onto the null space,

.. math:: y_i - f_{-i}(x_i) = \frac{[P_0 Y]_i}{(P_0)_{ii}} \ \text{if } (P_0)_{ii} > 0
          \ \text{(the classical OLS formula)}, \qquad
          \frac{[K^+ Y]_i}{K^+_{ii}} \ \text{if } (P_0)_{ii} = 0 .

Numerically, eigenvalues below :math:`n\,\epsilon\,s_{\max}` count as zero (the
pseudo-inverse convention) and :math:`(P_0)_{ii} \le 10^{-8}` counts as zero; near these
thresholds the ridgeless problem itself is ill-conditioned and a small :math:`\lambda > 0`
is the better-posed choice.

Cost: one decomposition per data set serves every :math:`\lambda` of a sweep: a thin SVD of X
(O(n d min(n, d))) for the linear learner, an eigendecomposition of the n x n kernel (O(n^3))
for the RBF learner. :math:`1^\perp` is handled with one Householder reflection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.gaussian.learners import LinearModel, check_data, check_inputs, one_hot
from theory._validate import check_finite, check_int

__all__ = ["Ridge", "KernelRidge", "KernelModel", "rbf_kernel"]

_EPS = np.finfo(np.float64).eps
#: At or below this, a diagonal entry of the null-space projection P_0 counts as zero.
_NULL_TOL = 1e-8


def rbf_kernel(a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    r""":math:`K_{ij} = \exp(-\gamma \lVert a_i - b_j\rVert^2)`, shape (len(a), len(b))."""
    d2 = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    return np.exp(-gamma * np.maximum(d2, 0.0))


def _reflector(n: int) -> tuple[np.ndarray, float]:
    r"""Householder P = I - c w w^T with P 1/\sqrt n = e_1, so Q = P[:, 1:] is an orthonormal
    basis of :math:`1^\perp`. Returns (w, c)."""
    w = np.full(n, 1.0 / np.sqrt(n))
    w[0] -= 1.0
    return w, 2.0 / (w @ w)


def _apply(w: np.ndarray, c: float, M: np.ndarray) -> np.ndarray:
    """P @ M for the reflector (w, c); M has n rows."""
    return M - c * np.outer(w, w @ M)


def _lams(lams) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(lams, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lams must be a nonempty 1-d list of numbers >= 0; got shape {arr.shape}")
    for v in arr:
        check_finite("lams", v, low=0.0)
    return arr


@dataclass(frozen=True, eq=False)
class _Spectrum:
    r""":math:`K` (or :math:`K_c` on :math:`1^\perp`) = U diag(s) U^T. ``U``: (n, r) orthonormal
    columns (in :math:`1^\perp` with bias); ``full``: U spans the whole space (n, or n - 1 with
    bias), else its complement is the exact null space; ``tol``: the zero threshold on s."""

    U: np.ndarray
    s: np.ndarray
    full: bool
    bias: bool
    tol: float

    def loo_residuals(self, lam: float, Y: np.ndarray) -> np.ndarray:
        r"""(n, m) matrix of :math:`y_i - f_{-i}(x_i)` (see the module docstring)."""
        U, s = self.U, self.s
        UtY = U.T @ Y
        U2 = U * U
        null_ii = 0.0 if self.full else (1.0 - 1.0 / Y.shape[0] if self.bias else 1.0) - U2.sum(1)
        if lam > 0:  # residual operator lam G = P_perp + U diag(lam / (s + lam)) U^T
            w = lam / (s + lam)
            AY, Aii = U @ (w[:, None] * UtY), U2 @ w
            if not self.full:
                AY += self._perp(Y, UtY)
                Aii += null_ii
            return AY / Aii[:, None]
        zero = s <= self.tol  # ridgeless limit: P_0 (null space) and K^+ (pseudo-inverse)
        P0Y, P0ii = U[:, zero] @ UtY[zero], U2[:, zero].sum(1)
        if not self.full:
            P0Y += self._perp(Y, UtY)
            P0ii += null_ii
        g = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, s))
        GY, Gii = U @ (g[:, None] * UtY), U2 @ g
        use_null = P0ii > _NULL_TOL
        return np.where(
            use_null[:, None],
            P0Y / np.where(use_null, P0ii, 1.0)[:, None],
            GY / np.where(use_null, 1.0, Gii)[:, None],
        )

    def _perp(self, Y: np.ndarray, UtY: np.ndarray) -> np.ndarray:
        """P_perp Y for the exact null space P_perp = B - U U^T, B = I (no bias) or H (bias)."""
        BY = Y - Y.mean(axis=0) if self.bias else Y
        return BY - self.U @ UtY

    def gains(self, lam: float) -> np.ndarray:
        """1 / (s + lam) for lam > 0; the pseudo-inverse 1 / s (0 below tol) at lam = 0."""
        if lam > 0:
            return 1.0 / (self.s + lam)
        out = np.zeros_like(self.s)
        keep = self.s > self.tol
        out[keep] = 1.0 / self.s[keep]
        return out


def _kernel_spectrum(K: np.ndarray, bias: bool) -> _Spectrum:
    n = K.shape[0]
    if bias:
        w, c = _reflector(n)
        PK = _apply(w, c, K)
        K = _apply(w, c, PK.T).T[1:, 1:]
    s, V = np.linalg.eigh(K)
    s = np.maximum(s, 0.0)
    U = _apply(w, c, np.vstack([np.zeros((1, V.shape[1])), V])) if bias else V
    return _Spectrum(U=U, s=s, full=True, bias=bias, tol=max(s.max(), 0.0) * K.shape[0] * _EPS)


def _loo_scores(spec: _Spectrum, Y: np.ndarray, lams: np.ndarray) -> np.ndarray:
    return np.stack([Y - spec.loo_residuals(float(lam), Y) for lam in lams])


def _check_lam(lam) -> float:
    return check_finite("lam", lam, low=0.0)


@dataclass(frozen=True)
class Ridge:
    r"""Linear ridge regression on one-hot targets, :math:`K = XX^\top` (see the module docstring).

    ``classes`` m >= 2; ``lam`` :math:`\lambda \ge 0` (0: the minimum-norm interpolator when
    n <= d, ordinary least squares when n > d + bias); ``bias``: unpenalised intercept.
    Fitted through a thin SVD of X (centred by a Householder reflection when ``bias``).
    """

    classes: int
    lam: float = 0.0
    bias: bool = True

    def __post_init__(self):
        check_int("classes", self.classes, low=2)
        _check_lam(self.lam)

    def _svd(self, x: np.ndarray):
        if self.bias:
            w, c = _reflector(x.shape[0])
            F = _apply(w, c, x)[1:]
        else:
            F = x
        V, sv, Wt = np.linalg.svd(F, full_matrices=False)
        U = _apply(w, c, np.vstack([np.zeros((1, V.shape[1])), V])) if self.bias else V
        tol = (sv.max() * max(F.shape) * _EPS if sv.size else 0.0) ** 2
        spec = _Spectrum(U=U, s=sv**2, full=V.shape[1] == F.shape[0], bias=self.bias, tol=tol)
        return spec, sv, Wt

    def fit(self, x, y, *, rng: np.random.Generator | None = None) -> LinearModel:
        x, y = check_data(x, y, self.classes, min_n=2 if self.bias else 1)
        Y = one_hot(y, self.classes)
        spec, sv, Wt = self._svd(x)
        g = spec.gains(self.lam) * sv  # sigma / (sigma^2 + lam), pseudo-inverse at lam = 0
        W = Wt.T @ (g[:, None] * (spec.U.T @ Y))
        b = Y.mean(0) - x.mean(0) @ W if self.bias else np.zeros(self.classes)
        return LinearModel(W=W, b=b)

    def loo_scores(self, x, y, lams) -> np.ndarray:
        r"""(L, n, m) leave-one-out outputs :math:`f_{-i}(x_i)` for each :math:`\lambda` in ``lams``."""
        x, y = check_data(x, y, self.classes, min_n=2)
        lams = _lams(lams)
        return _loo_scores(self._svd(x)[0], one_hot(y, self.classes), lams)

    def loo_path(self, x, y, lams) -> np.ndarray:
        """(L, n) leave-one-out labels, one row per lambda, from one SVD."""
        return np.argmax(self.loo_scores(x, y, lams), axis=2)

    def loo_predict(self, x, y) -> np.ndarray:
        """(n,) leave-one-out labels at ``self.lam``."""
        return self.loo_path(x, y, [self.lam])[0]


@dataclass(frozen=True, eq=False)
class KernelModel:
    r"""Fitted RBF kernel ridge: scores :math:`K(x, X)\alpha + b`; predicts their argmax."""

    x: np.ndarray
    alpha: np.ndarray
    b: np.ndarray
    gamma: float

    def scores(self, x) -> np.ndarray:
        x = check_inputs(x, dim=self.x.shape[1])
        return rbf_kernel(x, self.x, self.gamma) @ self.alpha + self.b

    def predict(self, x) -> np.ndarray:
        return np.argmax(self.scores(x), axis=1)


@dataclass(frozen=True)
class KernelRidge:
    r"""RBF kernel ridge regression on one-hot targets (see the module docstring).

    ``gamma`` > 0 is the bandwidth in :math:`e^{-\gamma\lVert x - x'\rVert^2}`; ``lam`` >= 0
    (0: kernel interpolation, which needs a numerically nonsingular kernel; small ``gamma``
    makes the RBF kernel ill-conditioned, and eigenvalues below :math:`n\epsilon s_{\max}` are
    then treated as zero, i.e. the pseudo-inverse). One O(n^3) eigendecomposition per data set.
    """

    classes: int
    gamma: float = 1.0
    lam: float = 0.0
    bias: bool = True

    def __post_init__(self):
        check_int("classes", self.classes, low=2)
        check_finite("gamma", self.gamma, low=0.0, low_open=True)
        _check_lam(self.lam)

    def fit(self, x, y, *, rng: np.random.Generator | None = None) -> KernelModel:
        x, y = check_data(x, y, self.classes, min_n=2 if self.bias else 1)
        Y = one_hot(y, self.classes)
        K = rbf_kernel(x, x, self.gamma)
        spec = _kernel_spectrum(K, self.bias)
        alpha = spec.U @ (spec.gains(self.lam)[:, None] * (spec.U.T @ Y))
        b = (Y - K @ alpha).mean(0) if self.bias else np.zeros(self.classes)
        return KernelModel(x=x, alpha=alpha, b=b, gamma=self.gamma)

    def loo_scores(self, x, y, lams) -> np.ndarray:
        r"""(L, n, m) leave-one-out outputs :math:`f_{-i}(x_i)` for each :math:`\lambda` in ``lams``."""
        x, y = check_data(x, y, self.classes, min_n=2)
        lams = _lams(lams)
        spec = _kernel_spectrum(rbf_kernel(x, x, self.gamma), self.bias)
        return _loo_scores(spec, one_hot(y, self.classes), lams)

    def loo_path(self, x, y, lams) -> np.ndarray:
        """(L, n) leave-one-out labels, one row per lambda, from one eigendecomposition."""
        return np.argmax(self.loo_scores(x, y, lams), axis=2)

    def loo_predict(self, x, y) -> np.ndarray:
        """(n,) leave-one-out labels at ``self.lam``."""
        return self.loo_path(x, y, [self.lam])[0]
