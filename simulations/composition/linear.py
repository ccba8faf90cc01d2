r"""Linear learners on sparse features, batched over runs through the n x n Gram matrices.

For one run with design :math:`X \in \{0, \pm1\}^{n\times d}` and responses y, let
:math:`G = XX^\top = U\,\mathrm{diag}(w)\,U^\top` (eigen-decomposition, :func:`gram_spectrum`)
and :math:`z = U^\top y`. Every learner here is a spectral filter
:math:`\hat\beta = X^\top U\,\mathrm{diag}(f(w))\,z`:

- minimum-norm interpolator :math:`\hat\beta = X^+ y = X^\top G^+ y`, :math:`f(w) = 1/w` for
  :math:`w > \text{tol}` and 0 otherwise (:func:`min_norm`). When :math:`Xβ = y` has no
  solution (duplicate rows with different noisy labels) this is the minimum-norm least-squares
  solution, which is still what gradient descent from zero converges to;
- ridge :math:`\arg\min \|X\beta - y\|^2 + \lambda\|\beta\|^2 = X^\top(G + \lambda I)^{-1}y`,
  :math:`f(w) = 1/(w + \lambda)` (:func:`ridge`);
- gradient descent from :math:`\beta_0 = 0` on :math:`\tfrac12\|X\beta - y\|^2` with step
  :math:`\eta`: :math:`\beta_{t+1} = \beta_t - \eta X^\top(X\beta_t - y)` stays in the row space,
  :math:`\beta_t = X^\top a_t`, and :math:`f_t(w) = (1 - (1 - \eta w)^t)/w` (:func:`gd_closed_form`;
  :func:`gradient_descent` runs the iteration itself).

**Convergence of gradient descent to** :math:`X^+y`. With :math:`0 < \eta \le 1/w_{\max}`,
:math:`\|\beta_t - X^+y\|^2 = \sum_{w_j > 0} (1 - \eta w_j)^{2t} z_j^2 / w_j
\le (1 - \eta w_{\min}^+)^{2t}\|X^+y\|^2`, so
:math:`t \ge \ln\varepsilon / \ln(1 - \eta w^+_{\min})` steps bring the relative distance below
:math:`\varepsilon` (:func:`gd_steps_needed`); :math:`w^+_{\min}` is the smallest nonzero
eigenvalue of G. A step that needs no eigenvalues is :math:`\eta = 1/(\max_a |S_a| \cdot
\max_i c_i)` (largest row support times largest column count), since
:math:`w_{\max} = \|X\|_2^2 \le \|X\|_1 \|X\|_\infty` (:func:`safe_step`).

Runs are handled together: the Gram matrices of a block of runs are one (R, n, n) array and
``np.linalg.eigh`` decomposes the stack; products with X and X^T are ``np.bincount`` over the
coordinate list. **Which Gram matrix.** For d >> n the n x n matrix G is the small system, but
only the features that occur in a run enter X; when fewer than n occur (alpha >= 1.5 with
n = 1000, s = 5: about 100-600), :func:`gram_spectrum` decomposes the Gram matrix of those
features instead (``side="auto"``). Both give the same coefficients for every filter (proof in
:class:`GramSpectrum`; tested against each other and against ``np.linalg.pinv``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from simulations.composition.features import DENSE_P, FeatureSample
from theory._validate import check_finite, check_int

__all__ = [
    "RCOND",
    "apply",
    "apply_transpose",
    "gram",
    "primal_gram",
    "GramSpectrum",
    "gram_spectrum",
    "spectral_filter",
    "min_norm",
    "ridge",
    "gd_closed_form",
    "gd_steps_needed",
    "safe_step",
    "gradient_descent",
    "run_blocks",
]

#: Eigenvalues of G at most RCOND * n * w_max count as zero (rounding of eigh is ~ eps n w_max).
RCOND = 1e2 * np.finfo(np.float64).eps
#: Elements of one (R, n, n) block of Gram matrices (64 MiB of float64).
_BLOCK = 1 << 23


def run_blocks(runs: int, n: int) -> list[tuple[int, int]]:
    """Consecutive (lo, hi) run ranges whose Gram stacks hold at most 2^23 numbers each."""
    size = max(1, _BLOCK // (n * n))
    return [(lo, min(runs, lo + size)) for lo in range(0, runs, size)]


def apply(sample: FeatureSample, beta: np.ndarray) -> np.ndarray:
    r""":math:`X_r\beta_r` for every run: ``beta`` (runs, d) -> (runs, n)."""
    w = sample.sign * beta[sample.run, sample.col]
    return np.bincount(sample.row, weights=w, minlength=sample.runs * sample.n).reshape(sample.runs, -1)


def apply_transpose(sample: FeatureSample, a: np.ndarray) -> np.ndarray:
    r""":math:`X_r^\top a_r` for every run: ``a`` (runs, n) -> (runs, d)."""
    run = sample.run
    w = sample.sign * a[run, sample.local_row]
    flat = np.bincount(run * sample.d + sample.col, weights=w, minlength=sample.runs * sample.d)
    return flat.reshape(sample.runs, sample.d)


def gram(sample: FeatureSample) -> np.ndarray:
    r"""The Gram matrices :math:`G_r = X_rX_r^\top`, shape (runs, n, n), exact (integer-valued).

    Columns with :math:`p_i \ge 0.05` go through a batched dense product, the others through
    one sparse product of the block-diagonal matrix diag(X_1, ..., X_R) with its transpose.
    """
    R, n, d = sample.runs, sample.n, sample.d
    run, local = sample.run, sample.local_row
    dense = sample.p >= DENSE_P
    on = dense[sample.col]
    G = np.zeros((R, n, n))
    m = int(dense.sum())
    if m:
        pos = np.cumsum(dense) - 1  # column position within the dense block
        Xd = np.zeros((R, n, m))
        Xd[run[on], local[on], pos[sample.col[on]]] = sample.sign[on]
        G += Xd @ Xd.transpose(0, 2, 1)
    off = ~on
    if off.any():
        B = scipy.sparse.csr_matrix(
            (sample.sign[off].astype(np.float64), (sample.row[off], run[off] * d + sample.col[off])),
            shape=(R * n, R * d),
        )
        P = (B @ B.T).tocoo()  # block diagonal: row and column lie in the same run
        G[P.row // n, P.row % n, P.col % n] += P.data
    return G


@dataclass(frozen=True)
class GramSpectrum:
    r"""Eigen-decomposition of the Gram matrices of a block of runs, on one of two sides.

    ``side = "dual"``: :math:`G_r = X_rX_r^\top` (N = n), ``z`` = :math:`U^\top y`.
    ``side = "primal"``: :math:`H_r = X_{r,A}^\top X_{r,A}` over the features that occur in run
    r (N = the largest such count in the block; shorter runs are padded with zero columns, whose
    eigenvalues are 0), ``z`` = :math:`U^\top X_{r,A}^\top y` and ``cols`` (R, N) the feature
    of each slot (-1 for padding). Both sides have the same nonzero eigenvalues (those of
    :math:`X^\top X`), and with :math:`X = U_G\Sigma V^\top`,
    :math:`X^\top U_G f(\Sigma^2) U_G^\top y = V f(\Sigma^2) V^\top X^\top y`: every
    spectral filter gives the same coefficients on either side.

    ``w`` (R, N) ascending eigenvalues, ``U`` (R, N, N) eigenvectors (columns), ``tol`` (R,)
    the zero threshold :math:`\text{RCOND}\cdot N\cdot w_{\max}`.
    """

    w: np.ndarray
    U: np.ndarray
    z: np.ndarray
    tol: np.ndarray
    side: str = "dual"
    cols: np.ndarray | None = None

    @property
    def positive(self) -> np.ndarray:
        """(R, N) mask of the eigenvalues counted as nonzero."""
        return self.w > self.tol[:, None]

    @property
    def rank(self) -> np.ndarray:
        return self.positive.sum(axis=1)

    @property
    def w_max(self) -> np.ndarray:
        return self.w[:, -1]

    @property
    def w_min_positive(self) -> np.ndarray:
        """(R,) the smallest eigenvalue counted as nonzero (inf for a zero matrix)."""
        return np.where(self.positive, self.w, np.inf).min(axis=1)


def _active_columns(sample: FeatureSample) -> tuple[np.ndarray, np.ndarray]:
    """(cols (R, N), slot (R, d)): the features occurring in each run in increasing order,
    padded with -1 to the largest count N, and the slot of each occurring feature."""
    active = sample.counts() > 0
    slot = np.cumsum(active, axis=1) - 1
    cols = np.full((sample.runs, int(active.sum(axis=1).max())), -1, dtype=np.int64)
    r, i = np.nonzero(active)
    cols[r, slot[r, i]] = i
    return cols, slot


def primal_gram(sample: FeatureSample) -> tuple[np.ndarray, np.ndarray]:
    r"""(H (R, N, N), cols (R, N)): :math:`H_r = X_{r,A}^\top X_{r,A}` over the features that occur
    in run r (see :class:`GramSpectrum`), exact, from one sparse block-diagonal product."""
    R, n = sample.runs, sample.n
    cols, slot = _active_columns(sample)
    N = cols.shape[1]
    run = sample.run
    B = scipy.sparse.csr_matrix(
        (sample.sign.astype(np.float64), (sample.row, run * N + slot[run, sample.col])), shape=(R * n, R * N)
    )
    P = (B.T @ B).tocoo()  # block diagonal: both slots lie in the same run
    H = np.zeros((R, N, N))
    H[P.row // N, P.row % N, P.col % N] = P.data
    return H, cols


def gram_spectrum(sample: FeatureSample, y: np.ndarray | None = None, side: str = "auto") -> GramSpectrum:
    """Eigen-decomposition (``np.linalg.eigh`` on the stack) of every run's Gram matrix; ``y``
    (runs, n) defaults to ``sample.y``. ``side``: "dual" (the n x n Gram matrix), "primal" (the
    Gram matrix of the occurring features) or "auto" (the smaller of the two; the same
    coefficients either way up to rounding, see :class:`GramSpectrum`)."""
    if side not in ("auto", "dual", "primal"):
        raise ValueError(f"side must be one of auto, dual, primal; got {side!r}")
    y = sample.y if y is None else np.asarray(y, dtype=np.float64)
    cols = None
    if side != "dual":
        cols, _ = _active_columns(sample)
        if side == "auto" and not 0 < cols.shape[1] < sample.n:
            side, cols = "dual", None
        else:
            side = "primal"
    if side == "dual":
        w, U = np.linalg.eigh(gram(sample))
        z = np.einsum("rab,ra->rb", U, y)
    else:
        H, cols = primal_gram(sample)
        w, U = np.linalg.eigh(H)
        xty = apply_transpose(sample, y)
        xty_a = np.where(cols >= 0, np.take_along_axis(xty, np.maximum(cols, 0), axis=1), 0.0)
        z = np.einsum("rab,ra->rb", U, xty_a)
    tol = RCOND * w.shape[1] * np.maximum(w[:, -1], 0.0)
    return GramSpectrum(w=w, U=U, z=z, tol=tol, side=side, cols=cols)


def spectral_filter(sample: FeatureSample, spec: GramSpectrum, f: np.ndarray) -> np.ndarray:
    r""":math:`\hat\beta_r = X_r^\top U_r\,\mathrm{diag}(f_r)\,z_r` (dual side) or
    :math:`V_r\,\mathrm{diag}(f_r)\,z_r` placed on the occurring features (primal side);
    ``f`` (R, N) -> (R, d)."""
    a = np.einsum("rab,rb->ra", spec.U, f * spec.z)
    if spec.side == "dual":
        return apply_transpose(sample, a)
    beta = np.zeros((sample.runs, sample.d))
    r, j = np.nonzero(spec.cols >= 0)
    beta[r, spec.cols[r, j]] = a[r, j]
    return beta


def min_norm(sample: FeatureSample, spec: GramSpectrum | None = None) -> np.ndarray:
    r"""The minimum-norm (least-squares) solution :math:`X_r^+ y_r` of every run, shape (R, d)."""
    spec = gram_spectrum(sample) if spec is None else spec
    pos = spec.positive
    f = np.where(pos, 1.0 / np.where(pos, spec.w, 1.0), 0.0)
    return spectral_filter(sample, spec, f)


def ridge(sample: FeatureSample, lam: float, spec: GramSpectrum | None = None) -> np.ndarray:
    r"""Ridge regression :math:`X^\top(XX^\top + \lambda I)^{-1}y` of every run, shape (R, d);
    ``lam`` in (0, 1e8]."""
    lam = check_finite("lam", lam, low=0.0, low_open=True, high=1e8)
    spec = gram_spectrum(sample) if spec is None else spec
    return spectral_filter(sample, spec, 1.0 / (np.maximum(spec.w, 0.0) + lam))


def _check_step(step, R: int) -> np.ndarray:
    step = np.broadcast_to(np.asarray(step, dtype=np.float64), (R,))
    for v in step:
        check_finite("step", v, low=0.0, low_open=True)
    return step


def gd_closed_form(sample: FeatureSample, steps, step, spec: GramSpectrum | None = None) -> np.ndarray:
    r"""Gradient descent from zero after ``steps`` iterations, from the spectrum:
    :math:`f_t(w) = (1 - (1 - \eta w)^t)/w` on the nonzero eigenvalues (R, d).

    ``steps`` (t) and ``step`` (:math:`\eta`) are numbers or one per run; the formula holds for
    any :math:`\eta` (convergence needs :math:`\eta < 2/w_{\max}`)."""
    spec = gram_spectrum(sample) if spec is None else spec
    R = spec.w.shape[0]
    t = np.broadcast_to(np.asarray(steps), (R,))
    for v in t:
        check_int("steps", v, low=0)
    t = t.astype(np.float64)[:, None]
    eta = _check_step(step, R)[:, None]
    pos = spec.positive
    w = np.where(pos, spec.w, 1.0)
    x = eta * w
    with np.errstate(divide="ignore", invalid="ignore"):  # x = 1: log1p(-1) = -inf
        inside = -np.expm1(t * np.log1p(-np.minimum(x, 1.0)))
    inside = np.where(t == 0, 0.0, inside)  # 0 * -inf is NaN; no step leaves beta at 0
    shrink = np.where(x <= 1.0, inside, 1.0 - np.power(1.0 - x, t))  # 1 - (1 - eta w)^t
    return spectral_filter(sample, spec, np.where(pos, shrink / w, 0.0))


def gd_steps_needed(spec: GramSpectrum, step, tol: float) -> np.ndarray:
    r"""Steps t after which :math:`\|\beta_t - X^+y\| \le \varepsilon \|X^+y\|` is guaranteed:
    :math:`t = \lceil \ln\varepsilon / \ln(1 - \eta w^+_{\min}) \rceil` (module text), per run.

    ``step`` must satisfy :math:`0 < \eta \le 1/w_{\max}` (checked); ``tol`` in (0, 1)."""
    tol = check_finite("tol", tol, low=0.0, high=1.0, low_open=True, high_open=True)
    eta = _check_step(step, spec.w.shape[0])
    if np.any(eta * spec.w_max > 1.0 + 1e-12):
        raise ValueError("step must be at most 1 / w_max for the stated bound; got a larger step")
    rate = np.clip(eta * spec.w_min_positive, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        t = np.ceil(np.log(tol) / np.log1p(-rate))
    return np.where(rate >= 1.0, 1, t).astype(np.int64)


def safe_step(sample: FeatureSample) -> np.ndarray:
    r""":math:`\eta_r = 1/(\max_a |S_a| \cdot \max_i c_i) \le 1/w_{\max}` per run (module text)."""
    run = sample.run
    rows = np.bincount(sample.row, minlength=sample.runs * sample.n).reshape(sample.runs, -1)
    cols = np.bincount(run * sample.d + sample.col, minlength=sample.runs * sample.d)
    prod = rows.max(axis=1) * cols.reshape(sample.runs, -1).max(axis=1)
    return 1.0 / np.maximum(prod, 1)


def gradient_descent(sample: FeatureSample, steps: int, step=None, y: np.ndarray | None = None) -> np.ndarray:
    r"""Run :math:`\beta_{t+1} = \beta_t - \eta X^\top(X\beta_t - y)` from :math:`\beta_0 = 0` for
    ``steps`` iterations in every run at once; returns (runs, d). ``step`` defaults to
    :func:`safe_step`. Each iteration costs two passes over the nonzeros."""
    steps = check_int("steps", steps, low=0, high=10**8)
    eta = _check_step(safe_step(sample) if step is None else step, sample.runs)[:, None]
    y = sample.y if y is None else np.asarray(y, dtype=np.float64)
    beta = np.zeros((sample.runs, sample.d))
    for _ in range(steps):  # a loop over iterations; runs are batched inside
        beta -= eta * apply_transpose(sample, apply(sample, beta) - y)
    return beta
