"""One model at a time: the plain trainer the batched engine is checked and timed against.

An ordinary ``nn.Module`` loop with ``torch.optim.SGD``, following the data-order convention of
:mod:`simulations.training.order`: init from ``init_generator(seed)``, in epoch e the subset
visited in the order of ``epoch_permutation(subset, seed, e)``, cut into consecutive chunks of
``batch_size`` (last chunk short), one SGD step on the mean cross-entropy of each chunk.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from simulations.training.engine import ADAMW_BETAS, ADAMW_EPS, check_training_args, exact_kernels
from simulations.training.models import ModelSpec, SpecModule
from simulations.training.order import epoch_permutation, init_generator

__all__ = ["train_one"]


@exact_kernels()
def train_one(
    spec: ModelSpec,
    x,
    y,
    mask,
    seed: int,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    optimizer: str = "sgd",
    device="cpu",
    dtype: torch.dtype = torch.float32,
) -> dict[str, Tensor]:
    """Train one model on the examples with ``mask`` (bool (n,)) True; return its parameters.

    Same arguments and conventions as :func:`simulations.training.engine.train_batched` for B = 1;
    the returned tensors have no model axis.
    """
    mask = torch.as_tensor(mask)
    x, y, masks, seeds, h = check_training_args(
        spec, x, y, mask.reshape(1, -1) if mask.ndim == 1 else mask, [seed], epochs=epochs,
        batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay, dtype=dtype,
        optimizer=optimizer,
    )  # fmt: skip
    device = torch.device(device)
    x, y = x.to(device), y.to(device)
    model = SpecModule(spec, spec.init(init_generator(seeds[0]))).to(device, dtype)
    if optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=h["lr"], betas=ADAMW_BETAS, eps=ADAMW_EPS,
                                weight_decay=h["weight_decay"])  # fmt: skip
    else:
        opt = torch.optim.SGD(
            model.parameters(), lr=h["lr"], momentum=h["momentum"], weight_decay=h["weight_decay"]
        )
    subset = torch.nonzero(masks[0]).flatten()
    bs = h["batch_size"]
    for epoch in range(h["epochs"]):
        order = epoch_permutation(subset, seeds[0], epoch).to(device)
        for start in range(0, order.numel(), bs):
            idx = order[start : start + bs]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return {k: v.detach() for k, v in model.named_parameters()}
