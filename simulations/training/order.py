r"""The data-order convention shared by the batched engine and the one-model reference.

Model b owns a seed :math:`s_b` and a subset :math:`S_b = \{i : \text{masks}[b, i]\}` of size
:math:`m_b = |S_b|`, listed in increasing index order.

* **Initialisation**: ``torch.Generator().manual_seed(s_b)`` passed to ``spec.init``.
* **Order in epoch e** (0-based): a generator seeded by
  ``np.random.SeedSequence([s_b, e]).generate_state(1, np.uint64)[0]`` draws
  :math:`\pi_{b,e}` = ``torch.randperm(m_b)``; the model visits :math:`S_b[\pi_{b,e}]`.
* **Minibatches**: that permuted list is cut into consecutive chunks of ``batch_size``; the last
  chunk is short when ``batch_size`` does not divide :math:`m_b` (as a ``DataLoader`` with
  ``shuffle=True, drop_last=False``). Model b therefore takes exactly
  :math:`\lceil m_b / \text{batch\_size} \rceil` SGD steps per epoch, each on the mean
  cross-entropy of its own chunk.

The batched engine runs :math:`\max_b \lceil m_b / \text{batch\_size} \rceil` synchronous steps
per epoch. It pads every chunk to ``batch_size`` (to the largest subset when every subset fits
one chunk) with weight-0 entries (index 0, zero loss weight, so zero gradient) and, at steps
past a model's own last chunk, leaves that model's parameters and momentum untouched (no weight
decay, no momentum drift). Each model's trajectory
is thus exactly that of training it alone, whatever other models share the batch.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

__all__ = ["init_generator", "order_generator", "epoch_permutation", "epoch_schedule"]


def init_generator(seed: int) -> torch.Generator:
    """The CPU generator that initialises the model with this seed."""
    return torch.Generator(device="cpu").manual_seed(int(seed))


def order_generator(seed: int, epoch: int) -> torch.Generator:
    """The CPU generator that draws the model's data order in ``epoch`` (0-based)."""
    state = np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator(device="cpu").manual_seed(int(state))


def epoch_permutation(subset: Tensor, seed: int, epoch: int) -> Tensor:
    """Indices of the subset (sorted int64, shape (m,)) in the model's visiting order for ``epoch``."""
    perm = torch.randperm(subset.numel(), generator=order_generator(seed, epoch))
    return subset[perm]


def epoch_schedule(
    subsets: list[Tensor], seeds: list[int], epoch: int, batch_size: int
) -> tuple[Tensor, Tensor, Tensor]:
    r"""The padded minibatch schedule of B models for one epoch.

    Returns ``(index, weight, active)`` with shapes (S, B, w), (S, B, w) and (S, B),
    S = :math:`\max_b \lceil m_b / \text{batch\_size} \rceil`, chunk width w = ``batch_size``
    (w = the largest :math:`m_b` when S = 1: full-batch training pads no further).
    ``index[s, b]`` holds the example indices of model b's chunk s (padded with 0),
    ``weight[s, b, j]`` (float32) is 1.0 for a real example and 0.0 for padding,
    ``active[s, b]`` is True iff model b has a chunk s.
    All on the CPU; one ``randperm`` per model, no per-example loop.
    """
    B = len(subsets)
    steps = max(math.ceil(s.numel() / batch_size) for s in subsets)
    if steps == 1:  # every subset fits one chunk: pad to the largest subset, not to batch_size
        batch_size = max(max(s.numel() for s in subsets), 1)
    index = torch.zeros(B, steps * batch_size, dtype=torch.int64)
    weight = torch.zeros(B, steps * batch_size, dtype=torch.float32)  # 0/1: exact in any float
    for b, (subset, seed) in enumerate(zip(subsets, seeds, strict=True)):
        m = subset.numel()
        index[b, :m] = epoch_permutation(subset, seed, epoch)
        weight[b, :m] = 1.0
    index = index.reshape(B, steps, batch_size).transpose(0, 1).contiguous()
    weight = weight.reshape(B, steps, batch_size).transpose(0, 1).contiguous()
    active = weight[:, :, 0] > 0
    return index, weight, active
