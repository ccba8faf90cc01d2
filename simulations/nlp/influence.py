r"""Influence-function memorization scores: exact Hessian solves and LiSSA.

Training objective :math:`L(\theta) = \frac1n\sum_j \ell_j(\theta) + \frac\lambda2\lVert\theta\rVert^2`
with minimiser :math:`\hat\theta` and Hessian :math:`H = \nabla^2 L(\hat\theta)`. Retraining
with the same objective (the mean over the n - 1 others) without example i moves the minimiser
by, to first order (:math:`\nabla L(\hat\theta) = 0` gives :math:`\sum_j\nabla\ell_j = -n\lambda\hat\theta`),

.. math:: \hat\theta_{-i} - \hat\theta \approx \tfrac1n H^{-1}\big(\nabla\ell_i + \lambda\hat\theta\big).

The **memorization score** (sign: positive when removing i lowers the model's probability of
its own label) is

.. math::

    \mathrm{mem}_{IF}(i) = P(y_i\mid x_i;\hat\theta) - P(y_i\mid x_i;\hat\theta_{-i})
      \approx -\tfrac1n\,\nabla_\theta P(y_i\mid x_i)^\top H^{-1}
              \big(\nabla_\theta\ell_i + \lambda\hat\theta\big)
      = \tfrac{P_i}{n}\, g_i^\top H^{-1}(g_i + \lambda\hat\theta),

using :math:`\nabla P_i = -P_i g_i`, :math:`g_i = \nabla_\theta \ell_i`. Zheng & Jiang (2022,
docs/references.md §5; their released ``compute_if.py``) compute
:math:`-s_i^\top\nabla(\ell_i + \lambda'\lVert\theta\rVert^2)` with :math:`s_i = H^{-1}\nabla P_i` by
LiSSA: the same quantity without the 1/n (their :math:`\lambda'\lVert\theta\rVert^2` is our
:math:`\frac\lambda2\lVert\theta\rVert^2` with :math:`\lambda = 2\lambda'`). For a non-convex
model H may be indefinite: :func:`damped` adds :math:`\mu I` so that its smallest eigenvalue is
at least ``floor``; the score is then that of the damped quadratic model.

**LiSSA** (Agarwal, Bullins & Hazan 2017; as in Koh & Liang 2017): with minibatch Hessian
estimates :math:`\tilde H_j`, :math:`h_0 = v`,
:math:`h_j = v + (1 - \mathrm{damping})\,h_{j-1} - \tilde H_j h_{j-1}/\mathrm{scale}`, and
:math:`h_J/\mathrm{scale} \to (H + \mathrm{damping}\cdot\mathrm{scale}\, I)^{-1} v` when
:math:`\mathrm{scale} > \lambda_{\max}(H)`; the error after J steps shrinks like
:math:`(1 - \lambda_{\min}/\mathrm{scale})^J`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg

from theory._validate import check_finite, check_int

__all__ = ["damped", "inverse_hvp", "influence_memorization", "lissa"]


def damped(H: np.ndarray, *, floor: float = 0.0) -> tuple[np.ndarray, float, tuple[float, float]]:
    """(H + mu I, mu, (smallest, largest) eigenvalue of H): mu >= 0 is the least shift that makes the
    smallest eigenvalue at least ``floor`` (mu = 0 when H already is)."""
    H = np.asarray(H, dtype=np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or not np.isfinite(H).all():
        raise ValueError(f"H must be a finite square matrix; got shape {H.shape}")
    floor = check_finite("floor", floor, low=0.0)
    ev = scipy.linalg.eigvalsh(H)
    mu = max(0.0, floor - float(ev[0]))
    return H + mu * np.eye(len(H)), mu, (float(ev[0]), float(ev[-1]))


def inverse_hvp(H: np.ndarray, V: np.ndarray) -> np.ndarray:
    """H^{-1} V by Cholesky for a symmetric positive definite H (p, p); V (p,) or (p, r).
    ValueError if H is not positive definite (damp it first)."""
    try:
        cho = scipy.linalg.cho_factor(np.asarray(H, dtype=np.float64))
    except np.linalg.LinAlgError:
        raise ValueError("H is not positive definite; damp it (influence.damped) first") from None
    return scipy.linalg.cho_solve(cho, np.asarray(V, dtype=np.float64))


def influence_memorization(
    H: np.ndarray, grads: np.ndarray, prob: np.ndarray, theta: np.ndarray, *, weight_decay: float
) -> np.ndarray:
    r""":math:`\mathrm{mem}_{IF}(i) = \frac{P_i}{n} g_i^\top H^{-1}(g_i + \lambda\hat\theta)` for all i.

    ``H`` (p, p) positive definite, ``grads`` (n, p) the :math:`g_i = \nabla\ell_i`, ``prob`` (n,)
    the :math:`P(y_i \mid x_i)`, ``theta`` (p,) the minimiser; returns (n,) float64.
    """
    grads = np.asarray(grads, dtype=np.float64)
    prob = np.asarray(prob, dtype=np.float64)
    n, p = grads.shape
    if np.shape(H) != (p, p) or prob.shape != (n,) or np.shape(theta) != (p,):
        raise ValueError(
            f"shapes must be H ({p}, {p}), grads (n, {p}), prob (n,), theta ({p},); got "
            f"{np.shape(H)}, {grads.shape}, {prob.shape}, {np.shape(theta)}"
        )
    weight_decay = check_finite("weight_decay", weight_decay, low=0.0)
    S = inverse_hvp(H, grads.T).T  # (n, p): H^{-1} g_i (H symmetric)
    return (
        prob / n * (np.einsum("ip,ip->i", S, grads) + weight_decay * S @ np.asarray(theta, dtype=np.float64))
    )


def lissa(
    hvp: Callable[[np.ndarray, int], np.ndarray],
    v: np.ndarray,
    *,
    scale: float,
    depth: int,
    damping: float = 0.0,
) -> np.ndarray:
    """LiSSA estimate of (H + damping * scale * I)^{-1} v; ``v`` (p,) or (p, r) for r at once.

    ``hvp(V, j)`` returns the step-j minibatch estimate of H @ V (same shape as V); the caller
    draws step j's minibatch (from its own seeded generator), so the estimate is reproducible.
    """
    scale = check_finite("scale", scale, low=0.0, low_open=True)
    depth = check_int("depth", depth, low=1)
    damping = check_finite("damping", damping, low=0.0, high=1.0, high_open=True)
    v = np.asarray(v, dtype=np.float64)
    h = v.copy()
    for j in range(depth):
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported just below
            h = v + (1.0 - damping) * h - np.asarray(hvp(h, j), dtype=np.float64) / scale
        if not np.isfinite(h).all():
            raise ValueError(
                f"lissa diverged at step {j}: scale {scale:g} is below the largest eigenvalue of H"
            )
    return h / scale
