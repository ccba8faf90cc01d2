r"""Hand-written batched forward/backward for dense ReLU networks (MLP, softmax regression).

For a chain of L linear layers with ReLU between them, G independent models with stacked
weights :math:`W_l` of shape (G, out_l, in_l) and biases :math:`b_l` (G, out_l), one SGD step
on model g's padded minibatch :math:`(x_{gj}, y_{gj}, w_{gj})`, :math:`w_{gj} \in \{0, 1\}`, is

.. math::

    z_l = h_{l-1} W_l^\top + b_l,\quad h_l = \max(z_l, 0),\quad h_0 = x,

    \delta_L = \frac{w_{gj}}{\sum_j w_{gj}}\,(\mathrm{softmax}(z_L) - e_{y}),\qquad
    \delta_{l-1} = (\delta_l W_l) \odot 1[h_{l-1} > 0],

    \nabla_{W_l} = \delta_l^\top h_{l-1},\qquad \nabla_{b_l} = \textstyle\sum_j \delta_{l,j},

the gradient of the weighted mean cross-entropy, computed with ``torch.baddbmm``/``bmm`` over
the model axis: each product is a batch of G small matrix products, with no autograd tape and
no ``vmap`` dispatch. The SGD update of ``torch.optim.SGD`` (weight decay :math:`\lambda`,
momentum :math:`\mu`, dampening 0) is fused into the gradient product,

.. math:: v \leftarrow \mu v + \nabla + \lambda\theta,\qquad \theta \leftarrow \theta - \eta v,

which equals SGD's ``g = grad + wd * p; v = mu * v + g`` up to float round-off (the first
step has v = 0, so v = g as in SGD). This is the CPU and GPU fast path of
:func:`simulations.training.engine.train_batched` for :class:`~simulations.training.models.MLP`
and :class:`~simulations.training.models.SoftmaxRegression`; it is tested against the
one-model reference trainer.
"""

from __future__ import annotations

import torch
from torch import Tensor

from simulations.training.models import MLP, ModelSpec, SoftmaxRegression

__all__ = ["is_dense", "dense_layers", "dense_sgd_step"]


def is_dense(spec: ModelSpec) -> bool:
    """Whether ``spec`` is a dense ReLU chain that :func:`dense_sgd_step` can train."""
    return isinstance(spec, (MLP, SoftmaxRegression))


def dense_layers(spec: ModelSpec) -> int:
    """Number of linear layers L (weights ``w0 .. w{L-1}``, biases ``b0 .. b{L-1}``)."""
    if isinstance(spec, SoftmaxRegression):
        return 1
    if isinstance(spec, MLP):
        return len(spec.hidden) + 1
    raise ValueError(f"spec must be an MLP or SoftmaxRegression; got {type(spec).__name__}")


def dense_sgd_step(
    params: dict[str, Tensor],
    bufs: dict[str, Tensor],
    layers: int,
    xb: Tensor,
    yb: Tensor,
    wb: Tensor,
    *,
    lr: float | Tensor,
    momentum: float,
    weight_decay: float | Tensor,
) -> None:
    """One SGD step of G dense models, in place on ``params`` and momentum ``bufs``.

    ``lr`` and ``weight_decay``: one number, or a (G,) tensor of one per model.

    ``xb`` (G, bs, in_dim) inputs, ``yb`` (G, bs) int64 labels, ``wb`` (G, bs) 0/1 weights of
    the padded minibatch. Every model takes the step; the caller masks models without a chunk.
    """
    hs = [xb]
    for l in range(layers):
        z = torch.baddbmm(params[f"b{l}"].unsqueeze(1), hs[-1], params[f"w{l}"].transpose(1, 2))
        hs.append(torch.relu_(z) if l < layers - 1 else z)
    z = hs.pop()
    delta = (z - z.amax(-1, keepdim=True)).exp_()  # softmax by hand: torch.softmax is slow for few classes
    delta.div_(delta.sum(-1, keepdim=True))
    delta.scatter_add_(-1, yb.unsqueeze(-1), torch.full_like(wb, -1.0).unsqueeze(-1))
    delta.mul_((wb / wb.sum(1, keepdim=True).clamp(min=1.0)).unsqueeze(-1))
    for l in reversed(range(layers)):
        w, b = params[f"w{l}"], params[f"b{l}"]
        vw, vb = bufs[f"w{l}"], bufs[f"b{l}"]
        h = hs[l]
        # delta_{l-1} uses W_l before its update; threshold_backward(d, h, 0) = d * 1[h > 0],
        # ReLU's own backward (much faster on CPU than masked_fill or where with a bool mask)
        delta_prev = torch.ops.aten.threshold_backward(torch.bmm(delta, w), h, 0.0) if l > 0 else None
        vw.baddbmm_(delta.transpose(1, 2), h, beta=momentum)
        vb.mul_(momentum).add_(delta.sum(1))
        if isinstance(weight_decay, Tensor):  # one per model, (G,)
            vw.addcmul_(w, weight_decay.view(-1, 1, 1))
            vb.addcmul_(b, weight_decay.view(-1, 1))
        elif weight_decay != 0.0:
            vw.add_(w, alpha=weight_decay)
            vb.add_(b, alpha=weight_decay)
        if isinstance(lr, Tensor):  # one per model, (G,)
            w.addcmul_(vw, lr.view(-1, 1, 1), value=-1.0)
            b.addcmul_(vb, lr.view(-1, 1), value=-1.0)
        else:
            w.add_(vw, alpha=-lr)
            b.add_(vb, alpha=-lr)
        delta = delta_prev
