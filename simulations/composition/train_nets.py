r"""Training many sum networks as one batch: the engine's batched trainer with a squared error.

Model b has its own initialisation seed :math:`s_b` (``init_generator(s_b)``), its own data
order (the convention of :mod:`simulations.training.order`, every model on the whole training
set) and its own weight decay :math:`\lambda_b`. Each step takes the gradient of the mean
squared error on its minibatch,

.. math:: g_b = \nabla_{\theta_b} \frac{1}{|B_b|}\sum_{j\in B_b} (f(\theta_b, x_j) - y_j)^2,

for all b at once with ``torch.func.vmap(torch.func.grad(loss))``, then applies
``torch.optim.AdamW``'s update (decoupled weight decay, no amsgrad), step t = 1, 2, ...:

.. math::
    \theta \leftarrow \theta(1 - \eta\lambda_b),\quad m \leftarrow \beta_1 m + (1-\beta_1) g,\quad
    v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
    \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,\frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}.

This is one call of :func:`simulations.training.engine.train_batched` (``loss="squared_error"``,
``optimizer="adamw"``, one weight decay per model, every model on every item): the items'
images are gathered once into (n, 3, 28, 28) inputs. It replaced a copy of the engine's loop
written for this module; in float32, the experiment's precision, the parameters are bit for bit
those of that copy (checked for the four architectures and the ResNet encoder before the copy was
removed; in float64 they differ in the last bits, the bias corrections being rounded in another
order). :func:`train_sum_net_reference` trains one model with ``torch.optim.AdamW`` itself; the
tests check that the batched trainer equals it, whatever the other models in the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor
from torch.func import vmap

from simulations.composition.nets import SumNet
from simulations.composition.sum_task import sum_targets
from simulations.training.engine import exact_kernels, train_batched
from simulations.training.order import epoch_schedule, init_generator
from theory._validate import check_finite, check_int

__all__ = ["train_sum_nets", "predict_sum_nets", "train_sum_net_reference"]


def _check(pool, values, items, epochs, batch_size, lr):
    check_int("epochs", epochs, low=1, high=100_000)
    check_int("batch_size", batch_size, low=1)
    check_finite("lr", lr, low=0.0, low_open=True, high=10.0)
    items = np.asarray(items)
    if items.ndim != 2 or items.shape[1] != 3 or items.shape[0] == 0:
        raise ValueError(f"items must be an int array of shape (n >= 1, 3); got {items.shape}")
    if items.min() < 0 or items.max() >= len(pool):
        raise ValueError(f"items must index the pool, 0..{len(pool) - 1}")
    if len(values) != len(pool):
        raise ValueError(f"values must have one entry per pool image ({len(pool)}); got {len(values)}")
    return items


@exact_kernels()
def train_sum_nets(
    spec: SumNet,
    pool: np.ndarray,
    values: np.ndarray,
    items: np.ndarray,
    seeds,
    weight_decays,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Tensor]:
    """Train B = len(seeds) models on ``items`` (int (n, 3) indices into ``pool`` (P, 28, 28)).

    Targets are the sums of ``values`` (P,) over each item. ``weight_decays`` has one entry per
    model. Returns the stacked parameters (leading axis B) on the CPU. ``progress(steps)`` is
    called after each step.
    """
    items = _check(pool, values, items, epochs, batch_size, lr)
    seeds = [check_int("seeds entry", int(s), low=0, high=2**63 - 1) for s in np.asarray(seeds).reshape(-1)]
    wds = np.asarray(weight_decays, dtype=np.float64).reshape(-1)
    if len(seeds) == 0 or len(wds) != len(seeds):
        raise ValueError(f"weight_decays must have one entry per seed ({len(seeds)}); got {len(wds)}")
    for w in wds:
        check_finite("weight_decays entry", w, low=0.0, high=1.0 / lr)
    n = len(items)
    steps_per_epoch = -(-n // batch_size)
    report = None if progress is None else (lambda done, total: progress(steps_per_epoch))
    params = train_batched(
        spec, np.asarray(pool)[items], sum_targets(np.asarray(values), items),
        np.ones((len(seeds), n), bool), seeds, epochs=epochs, batch_size=batch_size, lr=lr,
        weight_decay=wds, optimizer="adamw", loss="squared_error", device=device, dtype=dtype,
        method="vmap", group_size=len(seeds), progress=report,
    )  # fmt: skip
    return {k: p.detach().cpu() for k, p in params.items()}


@torch.no_grad()
@exact_kernels()
def predict_sum_nets(
    spec: SumNet,
    params: dict[str, Tensor],
    pool: np.ndarray,
    items: np.ndarray,
    *,
    batch_size: int = 512,
    device: str = "cpu",
) -> np.ndarray:
    """Predictions float64 (B, m) of the B stacked models on the m items (int (m, 3) pool indices)."""
    dev = torch.device(device)
    params = {k: p.to(dev) for k, p in params.items()}
    dtype = next(iter(params.values())).dtype
    pool_t = torch.as_tensor(pool).to(dev, dtype)
    items_t = torch.as_tensor(np.asarray(items), dtype=torch.int64, device=dev)
    fn = vmap(spec.apply, in_dims=(0, None))
    out = [fn(params, pool_t[items_t[i : i + batch_size]]) for i in range(0, len(items_t), batch_size)]
    return torch.cat(out, dim=1).cpu().double().numpy()


@exact_kernels()
def train_sum_net_reference(
    spec: SumNet,
    pool,
    values,
    items,
    seed: int,
    weight_decay: float,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    dtype: torch.dtype = torch.float64,
) -> dict[str, Tensor]:
    """One model trained with ``torch.optim.AdamW`` in the same data order (the tests' reference)."""
    items = _check(pool, values, items, epochs, batch_size, lr)
    params = {k: p.to(dtype).requires_grad_(True) for k, p in spec.init(init_generator(seed)).items()}
    opt = torch.optim.AdamW(list(params.values()), lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    pool_t = torch.as_tensor(pool).to(dtype)
    target = torch.as_tensor(sum_targets(np.asarray(values), items), dtype=dtype)
    items_t = torch.as_tensor(items, dtype=torch.int64)
    for epoch in range(epochs):
        index, weight, _ = epoch_schedule([torch.arange(len(items))], [seed], epoch, batch_size)
        for s in range(index.shape[0]):
            idx = index[s, 0][weight[s, 0] > 0]
            loss = ((spec.apply(params, pool_t[items_t[idx]]) - target[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return {k: p.detach() for k, p in params.items()}
