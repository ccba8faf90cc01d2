r"""Exact per-example gradients and the exact Hessian of the attention head's regularized loss.

The head (:mod:`simulations.nlp.head`): :math:`s_t = q^\top h_t/\sqrt d`, :math:`a = \mathrm{softmax}(s)`,
:math:`z = \sum_t a_t h_t`, :math:`o = Wz + b`, :math:`\pi = \mathrm{softmax}(o)`, loss
:math:`\ell = -\log \pi_y`. With :math:`\delta_t = h_t - z`, :math:`r = \pi - e_y`,
:math:`\Lambda = \mathrm{diag}(\pi) - \pi\pi^\top`, :math:`g_z = W^\top r` and the attention
covariance :math:`C = \sum_t a_t \delta_t \delta_t^\top` (so :math:`\partial z/\partial q = C/\sqrt d`):

.. math::

    \nabla_q \ell = C g_z/\sqrt d,\quad \nabla_W \ell = r z^\top,\quad \nabla_b \ell = r,

    \nabla^2_{qq}\ell = \big(C W^\top \Lambda W C + \textstyle\sum_t a_t (\delta_t^\top g_z)\,
        \delta_t\delta_t^\top\big)/d,

    \partial^2 \ell/\partial W_{cj}\partial q
        = \big((\Lambda W C)_{c\cdot}\, z_j + r_c C_{j\cdot}\big)/\sqrt d,
    \quad \partial^2\ell/\partial b\,\partial q = \Lambda W C/\sqrt d,

    \partial^2\ell/\partial W_{cj}\partial W_{c'j'} = \Lambda_{cc'} z_j z_{j'},\quad
    \partial^2\ell/\partial W_{cj}\partial b_{c'} = \Lambda_{cc'} z_j,\quad \nabla^2_{bb}\ell = \Lambda .

(Derivation: chain rule through z(q); the terms with :math:`\sum_t a_t\delta_t = 0` vanish.) The
Hessian of the training objective :math:`L(\theta) = \frac1n\sum_i \ell_i(\theta) + \frac\lambda2
\lVert\theta\rVert^2` (SGD's weight decay :math:`\lambda`) is the mean of these plus
:math:`\lambda I`. Parameters are flattened as :meth:`AttentionHead.flatten`: q, then W row by
row, then b. All sums over tokens are GEMMs over the padded batch; the token-weighted Gram
matrices dominate (about 3 T d^2 flops for T tokens). Computed in float64. Both functions are
tested against ``torch.func.grad`` and ``torch.func.hessian`` of :func:`~simulations.nlp.head.head_logits`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from simulations.nlp.encoder import RaggedStates
from simulations.nlp.head import AttentionHead, pad_batch
from theory._validate import check_finite, check_int

__all__ = ["sentence_terms", "per_example_gradients", "loss_hessian", "objective_gradient"]


def sentence_terms(params: dict[str, Tensor], x: Tensor, mask: Tensor, y: Tensor) -> dict[str, Tensor]:
    """Per-sentence quantities of a padded batch in float64 (see the module docstring)."""
    x = x.double()
    q, W, b = (params[k].double() for k in ("q", "w", "b"))
    d = x.shape[-1]
    s = (x @ q) / math.sqrt(d)
    a = torch.softmax(s.masked_fill(~mask, -torch.inf), dim=-1)  # (B, L)
    z = torch.einsum("bl,bld->bd", a, x)
    delta = (x - z.unsqueeze(1)) * mask.unsqueeze(-1)
    pi = torch.softmax(z @ W.T + b, dim=-1)  # (B, c)
    r = pi.clone()
    r[torch.arange(len(y)), y] -= 1.0
    gz = r @ W  # (B, d)
    e = torch.einsum("bld,bd->bl", delta, gz)
    grad_q = torch.einsum("bl,bld->bd", a * e, delta) / math.sqrt(d)
    return {"a": a, "z": z, "delta": delta, "pi": pi, "r": r, "e": e, "grad_q": grad_q, "W": W, "d": d}


def per_example_gradients(
    spec: AttentionHead, params: dict[str, Tensor], rs: RaggedStates, y, *, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    r"""(:math:`\nabla_\theta \ell_i` (n, p), :math:`\pi_{y_i}(x_i)` (n,)), float64, for one head."""
    batch_size = check_int("batch_size", batch_size, low=1)
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    n = len(rs)
    out = np.empty((n, spec.num_params))
    prob = np.empty(n)
    order = np.argsort(rs.lengths, kind="stable")
    for a0 in range(0, n, batch_size):
        rows = order[a0 : a0 + batch_size]
        x, m = pad_batch(rs, rows)
        t = sentence_terms(params, x, m, y[rows])
        gw = t["r"].unsqueeze(-1) * t["z"].unsqueeze(1)
        out[rows] = torch.cat([t["grad_q"], gw.flatten(1), t["r"]], dim=1).numpy()
        prob[rows] = t["pi"].gather(1, y[rows].unsqueeze(1)).squeeze(1).numpy()
    return out, prob


def objective_gradient(
    spec: AttentionHead, params: dict[str, Tensor], rs: RaggedStates, y, *, weight_decay: float
) -> np.ndarray:
    r""":math:`\nabla L(\theta) = \frac1n\sum_i\nabla\ell_i + \lambda\theta`, float64 (p,)."""
    g, _ = per_example_gradients(spec, params, rs, y)
    return g.mean(0) + weight_decay * spec.flatten(params).double().numpy()


def loss_hessian(
    spec: AttentionHead,
    params: dict[str, Tensor],
    rs: RaggedStates,
    y,
    *,
    weight_decay: float,
    batch_size: int = 256,
) -> np.ndarray:
    r"""The exact Hessian (p, p) float64 of
    :math:`\frac1n\sum_i \ell_i + \frac\lambda2\lVert\theta\rVert^2`."""
    weight_decay = check_finite("weight_decay", weight_decay, low=0.0)
    batch_size = check_int("batch_size", batch_size, low=1)
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    d, c = spec.dim, spec.classes
    Hqq = torch.zeros(d, d, dtype=torch.float64)
    HWq = torch.zeros(c, d, d, dtype=torch.float64)
    Hbq = torch.zeros(c, d, dtype=torch.float64)
    HWW = torch.zeros(c, d, c, d, dtype=torch.float64)
    HWb = torch.zeros(c, d, c, dtype=torch.float64)
    Hbb = torch.zeros(c, c, dtype=torch.float64)
    order = np.argsort(rs.lengths, kind="stable")
    for a0 in range(0, len(rs), batch_size):
        rows = order[a0 : a0 + batch_size]
        x, m = pad_batch(rs, rows)
        t = sentence_terms(params, x, m, y[rows])
        a, z, delta, pi, r, e, W = (t[k] for k in ("a", "z", "delta", "pi", "r", "e", "W"))
        lam = torch.diag_embed(pi) - pi.unsqueeze(-1) * pi.unsqueeze(1)  # (B, c, c)
        WC = torch.einsum("bl,blc,bld->bcd", a, delta @ W.T, delta)  # W C_i, (B, c, d)
        LWC = torch.einsum("bce,bed->bcd", lam, WC)
        flat = delta.reshape(-1, d)
        # token-weighted Gram matrices: weights a*e (third-order term) and a*r_c (one per class)
        wts = torch.cat([(a * e).unsqueeze(-1), a.unsqueeze(-1) * r.unsqueeze(1)], dim=-1).reshape(-1, 1 + c)
        grams = torch.einsum("tk,tj,tm->kjm", wts, flat, flat)  # (1 + c, d, d)
        Hqq += (torch.einsum("bcm,bcn->mn", WC, LWC) + grams[0]) / d
        HWq += (torch.einsum("bcm,bj->cjm", LWC, z) + grams[1:]) / math.sqrt(d)
        Hbq += LWC.sum(0) / math.sqrt(d)
        HWW += torch.einsum("bce,bj,bk->cjek", lam, z, z)
        HWb += torch.einsum("bce,bj->cje", lam, z)
        Hbb += lam.sum(0)
    n = len(rs)
    p = spec.num_params
    H = torch.zeros(p, p, dtype=torch.float64)
    iq, iw, ib = slice(0, d), slice(d, d + c * d), slice(d + c * d, p)
    H[iq, iq] = Hqq
    H[iw, iq] = HWq.reshape(c * d, d)
    H[ib, iq] = Hbq
    H[iw, iw] = HWW.reshape(c * d, c * d)
    H[iw, ib] = HWb.reshape(c * d, c)
    H[ib, ib] = Hbb
    H[iq, iw] = H[iw, iq].T
    H[iq, ib] = H[ib, iq].T
    H[ib, iw] = H[iw, ib].T
    H = H / n + weight_decay * torch.eye(p, dtype=torch.float64)
    return ((H + H.T) / 2).numpy()
