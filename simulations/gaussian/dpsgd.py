r"""DP-SGD for multinomial logistic (softmax) regression, trained as one batch over noise levels
and draws, with per-example gradients in closed form.

Model: scores :math:`\tilde x W` with :math:`\tilde x = (x, 1)` (the last row of W is the bias
when ``bias``), loss :math:`\ell_i(W) = -\log\operatorname{softmax}(\tilde x_i W)_{y_i}`. Its
per-example gradient is the rank-one matrix

.. math:: \nabla_W \ell_i = \tilde x_i\, r_i^\top,\quad r_i = \operatorname{softmax}(\tilde x_i W) - e_{y_i},
          \qquad \lVert\nabla_W\ell_i\rVert_F = \lVert\tilde x_i\rVert\,\lVert r_i\rVert ,

so clipping to norm C multiplies row i of R by :math:`c_i = \min(1, C/(\lVert\tilde x_i\rVert
\lVert r_i\rVert))` and the clipped sum over a batch is one product
:math:`\tilde X^\top (\mathrm{diag}(c \odot \text{mask}) R)`: no per-example loop and no
(n, d, m) tensor. One step of DP-SGD (Abadi et al. 2016, "Deep Learning with Differential
Privacy", Algorithm 1, with Poisson sampling as analysed by Mironov, Talwar & Zhang 2019):

.. math:: W \leftarrow W - \frac{\eta}{qn}\Big(\sum_{i\in B_t} \mathrm{clip}_C(\nabla_W\ell_i)
          + \sigma C\,Z_t\Big),\qquad Z_t \sim \mathcal N(0, I_{(d+1)\times m}),

where every example enters :math:`B_t` independently with probability q (Poisson subsampling,
so the batch size is random) and the sum is divided by the *expected* batch size qn (dividing
by the realised size would depend on the data). Initialisation W = 0; plain SGD (no momentum,
no weight decay). T steps of it are :math:`(\varepsilon, \delta)`-DP for add/remove-one
neighbours with :math:`\varepsilon` from :func:`theory.dp_sgd_epsilon` (q, :math:`\sigma`, T,
:math:`\delta`); the released weights (and predictions from them) are post-processing.
:math:`\sigma = 0` is clipped SGD without noise, the non-private reference.

:func:`dpsgd_path` trains S noise multipliers times D draws at once with common random numbers:
in draw k, step t, all noise levels share the batch :math:`B_t^{(k)}` and the standard normal
:math:`Z_t^{(k)}` (scaled by their own :math:`\sigma`). Each model has exactly the law of DP-SGD
at its :math:`\sigma` (so each is private on its own); models at different :math:`\sigma` are
dependent, which makes their differences less noisy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.gaussian.learners import LinearModel, check_data
from theory._validate import check_finite, check_int, check_prob

__all__ = [
    "augment",
    "softmax_residuals",
    "clipped_gradient_sum",
    "per_example_clipped_gradients",
    "dpsgd_step",
    "DPSGDPath",
    "dpsgd_path",
    "DPSGD",
]


def augment(x: np.ndarray, bias: bool = True) -> np.ndarray:
    r""":math:`\tilde X = (X, 1)` (shape (n, d + 1)) when ``bias``, else X."""
    return np.hstack([x, np.ones((x.shape[0], 1))]) if bias else x


def softmax_residuals(W: np.ndarray, xt: np.ndarray, y: np.ndarray) -> np.ndarray:
    r""":math:`R_{b,i} = \operatorname{softmax}(\tilde x_i W_b) - e_{y_i}` for B stacked models.

    ``W`` (B, d1, m), ``xt`` (n, d1), ``y`` (n,) ints in [0, m). Shape (B, n, m)."""
    B, d1, m = W.shape
    z = (xt @ W.transpose(1, 0, 2).reshape(d1, B * m)).reshape(-1, B, m).transpose(1, 0, 2)
    z -= z.max(axis=2, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=2, keepdims=True)
    p[:, np.arange(y.size), y] -= 1.0
    return p


def clipped_gradient_sum(
    W: np.ndarray, xt: np.ndarray, y: np.ndarray, weights: np.ndarray, clip: float
) -> np.ndarray:
    r""":math:`\sum_i w_{b,i}\,\mathrm{clip}_C(\tilde x_i r_{b,i}^\top)` for every model b, in
    closed form (module docstring).

    ``W`` (B, d1, m); ``xt`` (n, d1); ``y`` (n,); ``weights`` (B, n) (0/1 batch membership);
    ``clip`` C > 0. Shape (B, d1, m)."""
    clip = check_finite("clip", clip, low=0.0, low_open=True)
    R = softmax_residuals(W, xt, y)  # (B, n, m)
    norm = np.linalg.norm(xt, axis=1)[None, :] * np.linalg.norm(R, axis=2)  # (B, n)
    factor = np.minimum(1.0, clip / np.maximum(norm, np.finfo(np.float64).tiny))
    coef = R * (factor * weights)[:, :, None]  # (B, n, m)
    B, n, m = coef.shape
    return (xt.T @ coef.transpose(1, 0, 2).reshape(n, B * m)).reshape(-1, B, m).transpose(1, 0, 2)


def per_example_clipped_gradients(W: np.ndarray, xt: np.ndarray, y: np.ndarray, clip: float) -> np.ndarray:
    r"""Every clipped per-example gradient :math:`\mathrm{clip}_C(\tilde x_i r_i^\top)` of one
    model, materialised: shape (n, d1, m). For tests and small problems only (the training uses
    :func:`clipped_gradient_sum`)."""
    clip = check_finite("clip", clip, low=0.0, low_open=True)
    R = softmax_residuals(W[None], xt, y)[0]  # (n, m)
    g = xt[:, :, None] * R[:, None, :]
    norm = np.sqrt((g * g).sum(axis=(1, 2)))
    return g * np.minimum(1.0, clip / np.maximum(norm, np.finfo(np.float64).tiny))[:, None, None]


def dpsgd_step(
    W: np.ndarray,
    xt: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    noise: np.ndarray,
    *,
    sigmas: np.ndarray,
    clip: float,
    lr: float,
    denominator: float,
) -> np.ndarray:
    r"""One DP-SGD step of S x D stacked models (module docstring); returns the new weights.

    ``W`` (S, D, d1, m); ``mask`` (D, n) batch membership of each draw; ``noise`` (D, d1, m)
    standard normal :math:`Z_t` of each draw; ``sigmas`` (S,) noise multipliers;
    ``denominator`` the expected batch size qn."""
    S, D, d1, m = W.shape
    weights = np.broadcast_to(mask[None].astype(np.float64), (S, D, mask.shape[1])).reshape(S * D, -1)
    g = clipped_gradient_sum(W.reshape(S * D, d1, m), xt, y, weights, clip).reshape(S, D, d1, m)
    g += (sigmas * clip)[:, None, None, None] * noise[None]
    return W - (lr / denominator) * g


@dataclass(frozen=True, eq=False)
class DPSGDPath:
    r"""DP-SGD softmax regressions at S noise multipliers and D draws.

    ``W``: (S, D, d, m) weights, ``b``: (S, D, m) biases (zeros without bias); ``sigmas`` (S,)."""

    W: np.ndarray
    b: np.ndarray
    sigmas: np.ndarray

    def model(self, s: int, k: int = 0) -> LinearModel:
        """The model of noise level ``s`` and draw ``k``."""
        return LinearModel(W=self.W[s, k], b=self.b[s, k])


def dpsgd_path(
    x,
    y,
    classes: int,
    *,
    sigmas,
    clip: float,
    sample_rate: float,
    steps: int,
    lr: float,
    rng: np.random.Generator,
    draws: int = 1,
    bias: bool = True,
) -> DPSGDPath:
    r"""DP-SGD (module docstring) for every noise multiplier in ``sigmas`` (>= 0; 0: no noise),
    ``draws`` independent runs each, with common random numbers across ``sigmas``.

    ``sample_rate`` q in (0, 1], ``steps`` T >= 1, ``lr`` :math:`\eta` > 0, ``clip`` C > 0.
    Per step and draw, ``rng`` gives the batch (``rng.random(n) < q``) and then :math:`Z_t`
    (``rng.standard_normal((d1, m))``), draws in order. Cost per step: two (n, d1) x (d1, S D m)
    products.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: dpsgd_path needs a np.random.Generator; got {rng!r}")
    classes = check_int("classes", classes, low=2)
    s = np.atleast_1d(np.asarray(sigmas, dtype=np.float64))
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"sigmas must be a non-empty 1-d list of numbers >= 0; got shape {s.shape}")
    for v in s:
        check_finite("sigmas", v, low=0.0)
    clip = check_finite("clip", clip, low=0.0, low_open=True)
    q = check_prob("sample_rate", sample_rate, open_low=True)
    steps = check_int("steps", steps, low=1)
    lr = check_finite("lr", lr, low=0.0, low_open=True)
    draws = check_int("draws", draws, low=1)
    x, y = check_data(x, y, classes, min_n=1)
    xt = augment(x, bias)
    n, d1 = xt.shape
    W = np.zeros((s.size, draws, d1, classes))
    for _ in range(steps):  # a loop over SGD steps; the models and examples are batched
        mask = np.empty((draws, n), dtype=bool)
        noise = np.empty((draws, d1, classes))
        for k in range(draws):
            mask[k] = rng.random(n) < q
            noise[k] = rng.standard_normal((d1, classes))
        W = dpsgd_step(W, xt, y, mask, noise, sigmas=s, clip=clip, lr=lr, denominator=q * n)
    if bias:
        return DPSGDPath(W=W[:, :, :-1].copy(), b=W[:, :, -1].copy(), sigmas=s)
    return DPSGDPath(W=W, b=np.zeros((s.size, draws, classes)), sigmas=s)


@dataclass(frozen=True)
class DPSGD:
    r"""Softmax regression trained by DP-SGD (module docstring): noise multiplier ``sigma``
    (>= 0), clipping norm ``clip``, Poisson rate ``sample_rate``, ``steps``, learning rate ``lr``.
    ``fit(x, y, rng=...)`` is ``dpsgd_path`` with one noise level and one draw. Its privacy:
    ``theory.dp_sgd_epsilon(sample_rate, sigma, steps, delta)`` (add/remove-one neighbours)."""

    classes: int
    sigma: float
    clip: float = 1.0
    sample_rate: float = 0.1
    steps: int = 100
    lr: float = 1.0
    bias: bool = True

    def __post_init__(self):
        check_int("classes", self.classes, low=2)
        check_finite("sigma", self.sigma, low=0.0)
        check_finite("clip", self.clip, low=0.0, low_open=True)
        check_prob("sample_rate", self.sample_rate, open_low=True)
        check_int("steps", self.steps, low=1)
        check_finite("lr", self.lr, low=0.0, low_open=True)

    def fit(self, x, y, *, rng: np.random.Generator | None = None) -> LinearModel:
        path = dpsgd_path(
            x, y, self.classes, sigmas=[self.sigma], clip=self.clip, sample_rate=self.sample_rate,
            steps=self.steps, lr=self.lr, rng=rng, bias=self.bias,
        )  # fmt: skip
        return path.model(0, 0)
