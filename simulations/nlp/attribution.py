r"""Token attribution of the memorization score: integrated gradients, completeness, masking.

Following Zheng & Jiang (2022, docs/references.md §5; their released ``compute_if_attr.py``),
the score of training example i as a function of the token states x entering the trainable
part, with :math:`s_i = H^{-1}\nabla_\theta P(y_i \mid x_i)` held fixed (computed at the real
input), is

.. math:: f_i(x) = -\tfrac1n\, s_i^\top\big(\nabla_\theta \ell(\hat\theta; x, y_i) + \lambda\hat\theta\big),

so :math:`f_i(x_i) = \mathrm{mem}_{IF}(i)` (:mod:`simulations.nlp.influence`). Integrated
gradients from the baseline :math:`\bar x` (the states of the all-[MASK] input of the same
length, every position, [CLS] and [SEP] included, as in the authors' code) with m steps:

.. math:: \mathrm{IG}_t = \sum_k (x_t - \bar x_t)\cdot
          \nabla_{x_t} f_i\big(\bar x + \alpha_k (x - \bar x)\big)/m,\qquad \alpha_k = (k + \tfrac12)/m,

the midpoint rule (the authors use the left Riemann sum, which is less accurate at equal m).
Completeness: :math:`\sum_t \mathrm{IG}_t \approx f_i(x) - f_i(\bar x)`; :func:`integrated_gradients`
returns both sides so the gap can be reported. The gradient of :math:`\nabla_\theta\ell` with respect
to x uses the closed form of :mod:`simulations.nlp.hessian` under autograd, in float64.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from simulations.nlp.hessian import sentence_terms
from theory._validate import check_finite, check_int

__all__ = ["score_at_states", "integrated_gradients", "masked_ids"]


def score_at_states(
    params: dict[str, Tensor],
    s: Tensor,
    x: Tensor,
    mask: Tensor,
    y: Tensor,
    *,
    n: int,
    weight_decay: float,
) -> Tensor:
    r""":math:`f_i(x)` for a padded batch: ``s`` (B, p) fixed vectors, x (B, L, d), mask (B, L),
    y (B,); returns (B,) float64, differentiable with respect to x."""
    t = sentence_terms(params, x, mask, y)
    gw = (t["r"].unsqueeze(-1) * t["z"].unsqueeze(1)).flatten(1)
    grad = torch.cat([t["grad_q"], gw, t["r"]], dim=1)
    theta = torch.cat([params[k].double().reshape(-1) for k in ("q", "w", "b")])
    return -((grad + weight_decay * theta) * s.double()).sum(-1) / n


def integrated_gradients(
    fn, x: Tensor, baseline: Tensor, *, steps: int = 50
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IG of ``fn`` (a map from states (M, L, d) to (M,), row b of the batch belonging to example
    b mod B) from ``baseline`` to ``x`` (both (B, L, d)) with ``steps`` midpoints.

    Returns (attributions (B, L) summed over the state dimension, fn(x) (B,), fn(baseline) (B,)).
    """
    steps = check_int("steps", steps, low=1)
    if x.shape != baseline.shape or x.ndim != 3:
        raise ValueError(
            f"x and baseline must both be (B, L, d); got {tuple(x.shape)}, {tuple(baseline.shape)}"
        )
    x, baseline = x.double(), baseline.double()
    alpha = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
    path = (baseline.unsqueeze(0) + alpha.view(-1, 1, 1, 1) * (x - baseline).unsqueeze(0)).reshape(
        -1, *x.shape[1:]
    )
    path.requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(path).sum(), path)
    mean_grad = grad.reshape(steps, *x.shape).mean(0)
    attr = (mean_grad * (x - baseline)).sum(-1)
    with torch.no_grad():
        ends = fn(torch.cat([x, baseline])).reshape(2, -1)
    return attr.detach().numpy(), ends[0].numpy(), ends[1].numpy()


def masked_ids(
    ids: np.ndarray,
    scores: np.ndarray,
    special: np.ndarray,
    *,
    fraction: float,
    mask_id: int,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """``ids`` with k = max(1, round(fraction * m)) of its m non-special tokens replaced by
    ``mask_id``: those of largest ``scores`` (ties: earlier first), or, with ``rng``, k drawn at
    random without replacement. ``special`` (L,) bool marks [CLS]/[SEP]."""
    fraction = check_finite("fraction", fraction, low=0.0, high=1.0, low_open=True)
    ids = np.asarray(ids)
    cand = np.flatnonzero(~np.asarray(special, dtype=bool))
    if cand.size == 0:
        raise ValueError("masked_ids: the sentence has no non-special token")
    k = max(1, int(round(fraction * cand.size)))
    if rng is None:
        pick = cand[np.argsort(-np.asarray(scores)[cand], kind="stable")[:k]]
    else:
        pick = rng.choice(cand, size=k, replace=False)
    out = ids.copy()
    out[pick] = mask_id
    return out
