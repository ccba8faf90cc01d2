r"""The trainable part: attention pooling over frozen token states and a linear classifier.

For one sentence with frozen token states :math:`h_1, \dots, h_L \in \mathbb{R}^d` (the encoder's
layer-``layer`` output, d = 384) and parameters :math:`\theta = (q, W, b)`,
:math:`q \in \mathbb{R}^d`, :math:`W \in \mathbb{R}^{c \times d}`, :math:`b \in \mathbb{R}^c`
(p = d + cd + c = 1,154 numbers for d = 384, c = 2):

.. math::

    s_t = q^\top h_t / \sqrt d,\qquad a = \mathrm{softmax}(s)\ \text{(over the sentence's tokens)},
    \qquad z = \textstyle\sum_t a_t h_t,\qquad \mathrm{logits} = W z + b .

It is one single-query attention layer (keys = values = the frozen states, no projections)
followed by a linear classifier: token-level and non-linear in the states (the attention
weights of every token depend on all tokens), so integrated gradients reach each token through
:math:`h_t`; cheap (2d multiply-adds per token and model); and small enough that its Hessian
is computed exactly (:mod:`simulations.nlp.hessian`). With :math:`q = 0` it is mean pooling.
It stands in for the paper's trainable DistilBERT layers 4-5 (Zheng & Jiang 2022,
docs/references.md §5), some 10^4 times more costly per token; see docs/nlp.md.

Initialisation (one model from one ``torch.Generator``): q = 0, then W and b from
U(-1/sqrt(d), 1/sqrt(d)) in that order (PyTorch's nn.Linear).

Training many heads at once (:func:`train_heads`): the G models of a group share each step's
minibatch of sentences; model g weights sentence i by ``masks[g, i]`` (1 if i is in its
subset) and takes the SGD step of ``torch.optim.SGD`` (weight decay :math:`\lambda`, momentum
:math:`\mu`, dampening 0) on

.. math:: \frac{\sum_{i \in B} w_{gi}\,\mathrm{CE}(f_{\theta_g}(x_i), y_i)}{\sum_{i \in B} w_{gi}},

so each model sees each of its sentences once per epoch in minibatches of about
``ratio * batch_size``. A model with no sentence in a minibatch keeps its parameters and
momentum for that step. The epoch's order: ``randperm(n)`` from
:func:`simulations.training.order.order_generator` of the group's first seed and the epoch, cut
into pools of 50 minibatches, each pool sorted by length (less padding), then the minibatches
shuffled. The G models then cost one batched matmul per step, with no per-model gather.

Why the heads keep their own loop instead of the engine's
:func:`~simulations.training.engine.train_batched` (which gives each model its own minibatch of
its own subset): sentences are ragged token states, and a per-model gather pads and copies
G x batch sentences per step instead of batch. Measured (2026-12-06, idle 2-core machine, one
thread, G = 64 heads, batches of 32 sentences of 8-44 tokens, d = 384, forward and backward):
13-15 ms per step with the shared minibatch against 316-327 ms with per-model minibatches
(``vmap`` of :func:`head_logits` over gathered states), about 22x. The SGD update is the
engine's (``torch.optim.SGD``'s, inactive models kept).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from simulations.nlp.encoder import RaggedStates
from simulations.training.order import init_generator, order_generator
from theory._validate import check_finite, check_int

__all__ = [
    "AttentionHead",
    "pad_batch",
    "epoch_batches",
    "head_logits",
    "stacked_logits",
    "train_heads",
    "head_probabilities",
]


@dataclass(frozen=True)
class AttentionHead:
    """Shapes of the head: token dimension ``dim`` and ``classes``."""

    dim: int = 384
    classes: int = 2

    def __post_init__(self):
        check_int("dim", self.dim, low=1)
        check_int("classes", self.classes, low=2)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Names and shapes, in the order of the flat parameter vector: q (d,), w (c, d), b (c,)."""
        return {"q": (self.dim,), "w": (self.classes, self.dim), "b": (self.classes,)}

    @property
    def num_params(self) -> int:
        return sum(math.prod(s) for s in self.param_shapes().values())

    def init(self, generator: torch.Generator) -> dict[str, Tensor]:
        """Parameters of one model (float32) drawn from ``generator`` alone; q = 0."""
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator; got {type(generator).__name__}")
        shapes = self.param_shapes()
        out = {"q": torch.zeros(shapes["q"])}
        for name in ("w", "b"):
            u = torch.rand(shapes[name], generator=generator, dtype=torch.float32)
            out[name] = (2.0 * u - 1.0) / math.sqrt(self.dim)
        return out

    def flatten(self, params: dict[str, Tensor]) -> Tensor:
        """The flat vector (..., p) of (possibly stacked) parameters, in :meth:`param_shapes` order."""
        lead = params["q"].shape[:-1]
        return torch.cat([params[k].reshape(*lead, -1) for k in self.param_shapes()], dim=-1)

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """Inverse of :meth:`flatten` (leading axes kept)."""
        shapes = self.param_shapes()
        parts = torch.split(flat, [math.prod(s) for s in shapes.values()], dim=-1)
        lead = flat.shape[:-1]
        return {k: v.reshape(*lead, *s) for (k, s), v in zip(shapes.items(), parts, strict=True)}


def pad_batch(rs: RaggedStates, rows) -> tuple[Tensor, Tensor]:
    """Sentences ``rows`` of ``rs`` as zero-padded states (B, L, d) float32 and a mask (B, L) bool."""
    rows = np.asarray(rows, dtype=np.int64)
    lens = rs.lengths[rows]
    L = int(lens.max())
    valid = np.arange(L)[None, :] < lens[:, None]
    idx = np.where(valid, rs.offsets[rows][:, None] + np.arange(L)[None, :], 0)
    x = torch.from_numpy(rs.states[idx])
    mask = torch.from_numpy(valid)
    return x * mask.unsqueeze(-1), mask


def epoch_batches(lengths: np.ndarray, batch_size: int, generator: torch.Generator) -> list[np.ndarray]:
    """The epoch's minibatches (row indices): a random permutation cut into pools of 50
    minibatches, each pool sorted by length and cut, then the minibatches shuffled."""
    n = len(lengths)
    perm = torch.randperm(n, generator=generator).numpy()
    batches = []
    pool = 50 * batch_size
    for a in range(0, n, pool):
        part = perm[a : a + pool]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[b : b + batch_size] for b in range(0, len(part), batch_size)]
    order = torch.randperm(len(batches), generator=generator).numpy()
    return [batches[i] for i in order]


def _one(params: dict[str, Tensor], x: Tensor, mask: Tensor) -> Tensor:
    """Logits (c,) of one sentence: states x (L, d), mask (L,) bool."""
    s = (x @ params["q"]) / math.sqrt(x.shape[-1])
    a = torch.softmax(s.masked_fill(~mask, -torch.inf), dim=-1)
    return params["w"] @ (a @ x) + params["b"]


def head_logits(params: dict[str, Tensor], x: Tensor, mask: Tensor) -> Tensor:
    """Logits (B, c) of one model on padded states x (B, L, d) with mask (B, L); pure, so
    ``torch.func`` transforms (grad, jvp, hessian, vmap) apply to it."""
    return torch.func.vmap(_one, in_dims=(None, 0, 0))(params, x, mask)


def stacked_logits(params: dict[str, Tensor], x: Tensor, mask: Tensor) -> Tensor:
    """Logits (G, B, c) of G models with stacked parameters (leading axis G) on shared inputs
    x (B, L, d), mask (B, L): a GEMM and two batched matmuls; equals :func:`head_logits` per model."""
    d = x.shape[-1]
    s = torch.matmul(x, params["q"].T) / math.sqrt(d)  # (B, L, G): one GEMM
    a = torch.softmax(s.masked_fill(~mask.unsqueeze(-1), -torch.inf), dim=1)
    z = torch.bmm(a.transpose(1, 2), x)  # (B, G, d)
    return torch.einsum("bgd,gcd->gbc", z, params["w"]) + params["b"].unsqueeze(1)


def _check(spec: AttentionHead, rs: RaggedStates, y, masks, seeds):
    y = np.asarray(y)
    masks = np.asarray(masks)
    seeds = np.asarray(seeds)
    n = len(rs)
    if rs.states.shape[1] != spec.dim:
        raise ValueError(f"states have dimension {rs.states.shape[1]}; the head expects dim = {spec.dim}")
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= spec.classes:
        raise ValueError(f"y must be ({n},) integers in [0, {spec.classes - 1}]; got {y.dtype} {y.shape}")
    if masks.dtype != bool or masks.ndim != 2 or masks.shape[1] != n or masks.shape[0] != seeds.shape[0]:
        raise ValueError(
            f"masks must be bool (models, {n}) with one row per seed; got {masks.dtype} {masks.shape} "
            f"and {seeds.shape[0]} seeds"
        )
    if seeds.ndim != 1 or seeds.size == 0 or not np.issubdtype(seeds.dtype, np.integer) or seeds.min() < 0:
        raise ValueError(f"seeds must be a non-empty 1-d array of non-negative integers; got {seeds!r}")
    if not masks.any(axis=1).all():
        raise ValueError("masks must select at least one sentence for every model")
    return torch.from_numpy(y.astype(np.int64)), masks, [int(s) for s in seeds]


def train_heads(
    spec: AttentionHead,
    rs: RaggedStates,
    y,
    masks,
    seeds,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float,
    weight_decay: float,
    group_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Tensor]:
    """Train one head per row of ``masks`` (bool (B, n)) with seed ``seeds[b]`` (init; the group's
    first seed draws the order); stacked float32 parameters, each of shape (B, ...).

    ``progress(done, total)`` after each epoch of each group (total = groups x epochs).
    """
    yt, masks, seeds = _check(spec, rs, y, masks, seeds)
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    group_size = check_int("group_size", group_size, low=1)
    lr = check_finite("lr", lr, low=0.0, low_open=True)
    mu = check_finite("momentum", momentum, low=0.0, high=1.0, high_open=True)
    wd = check_finite("weight_decay", weight_decay, low=0.0)
    lengths = rs.lengths
    groups = [range(a, min(a + group_size, len(seeds))) for a in range(0, len(seeds), group_size)]
    out = []
    for gi, grp in enumerate(groups):
        inits = [spec.init(init_generator(seeds[b])) for b in grp]
        params = {k: torch.stack([p[k] for p in inits]).requires_grad_(True) for k in inits[0]}
        bufs = {k: torch.zeros_like(v) for k, v in params.items()}
        W = torch.from_numpy(masks[grp.start : grp.stop]).to(torch.float32)
        G = len(grp)
        for epoch in range(epochs):
            for rows in epoch_batches(lengths, batch_size, order_generator(seeds[grp.start], epoch)):
                x, m = pad_batch(rs, rows)
                wb = W[:, rows]
                wsum = wb.sum(1)
                logits = stacked_logits(params, x, m)
                ce = F.cross_entropy(logits.reshape(-1, spec.classes), yt[rows].repeat(G), reduction="none")
                loss = ((ce.view(G, -1) * wb).sum(1) / wsum.clamp(min=1.0)).sum()
                grads = torch.autograd.grad(loss, list(params.values()))
                active = wsum > 0
                with torch.no_grad():
                    for (k, p), g in zip(params.items(), grads, strict=True):
                        step = bufs[k].mul(mu).add_(g).add_(p, alpha=wd)
                        if not bool(active.all()):
                            a = active.reshape(-1, *([1] * (p.ndim - 1)))
                            step = torch.where(a, step, bufs[k])
                            p.sub_(torch.where(a, step, torch.zeros_like(step)), alpha=lr)
                        else:
                            p.sub_(step, alpha=lr)
                        bufs[k] = step
            if progress is not None:
                progress(gi * epochs + epoch + 1, len(groups) * epochs)
        out.append({k: v.detach() for k, v in params.items()})
    return {k: torch.cat([o[k] for o in out]) for k in out[0]}


def head_probabilities(params: dict[str, Tensor], rs: RaggedStates, *, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (G, n, c) float64 of G stacked heads on every sentence of ``rs``."""
    batch_size = check_int("batch_size", batch_size, low=1)
    order = np.argsort(rs.lengths, kind="stable")
    G = params["q"].shape[0]
    c = params["b"].shape[-1]
    out = np.empty((G, len(rs), c))
    with torch.no_grad():
        for a in range(0, len(rs), batch_size):
            rows = order[a : a + batch_size]
            x, m = pad_batch(rs, rows)
            out[:, rows] = torch.softmax(stacked_logits(params, x, m), dim=-1).double().numpy()
    return out
