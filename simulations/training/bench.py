"""Speed of the batched engine against the one-model reference on MNIST-1D-sized synthetic data.

Timed tests are unreliable, so speed is printed and returned here, never asserted. Both trainers
fit the same models (same subsets, seeds and data order); agreement of their parameters is
reported beside the timings so that a fast but wrong engine cannot pass unnoticed.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from simulations.training.engine import train_batched
from simulations.training.models import MLP
from simulations.training.reference import train_one
from theory._validate import check_finite, check_int

__all__ = ["synthetic_problem", "training_benchmark"]


def synthetic_problem(n: int, dim: int, classes: int, *, rng: np.random.Generator):
    """Gaussian class clusters x_i = mu_{y_i} + N(0, I), mu_c ~ N(0, I / 4); x float32 (n, dim), y (n,)."""
    centers = rng.normal(scale=0.5, size=(classes, dim))
    y = rng.integers(0, classes, size=n)
    x = (centers[y] + rng.normal(size=(n, dim))).astype(np.float32)
    return x, y


def training_benchmark(
    B: int = 64,
    n: int = 4000,
    epochs: int = 5,
    *,
    dim: int = 40,
    hidden: tuple[int, ...] = (100, 100),
    classes: int = 10,
    subset_fraction: float = 0.5,
    batch_size: int = 128,
    lr: float = 0.05,
    reference_models: int = 4,
    device="cpu",
    seed: int = 0,
    out=print,
) -> dict:
    """Time ``train_batched`` on B MLPs against ``train_one`` on the first ``reference_models``.

    Each model trains on its own Bernoulli(``subset_fraction``) subset of n synthetic examples.
    Both trainers are warmed up once before timing. The reference time per model is measured on
    ``reference_models`` models and scaled to B (the reference is a loop over models, linear in
    B). Returns models per second for both, the ratio, and the largest parameter difference
    between the two on the models both trained.
    """
    B = check_int("B", B, low=1)
    reference_models = check_int("reference_models", reference_models, low=1, high=B)
    check_finite("subset_fraction", subset_fraction, low=0.0, high=1.0, low_open=True)
    rng = np.random.default_rng(seed)
    x, y = synthetic_problem(n, dim, classes, rng=rng)
    masks = rng.random((B, n)) < subset_fraction
    seeds = np.arange(B) + 1000 * seed
    spec = MLP(in_dim=dim, hidden=tuple(hidden), classes=classes)
    hyper = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "device": device}

    def _sync():
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    # warm-up: the first call of each trainer pays one-off costs (vmap tracing, allocator, threads)
    train_batched(spec, x, y, masks[:2], seeds[:2], **{**hyper, "epochs": 1})
    train_one(spec, x, y, masks[0], int(seeds[0]), **{**hyper, "epochs": 1})
    _sync()
    t0 = time.perf_counter()
    params = train_batched(spec, x, y, masks, seeds, **hyper)
    _sync()
    t_batched = time.perf_counter() - t0

    t0 = time.perf_counter()
    refs = [train_one(spec, x, y, masks[b], int(seeds[b]), **hyper) for b in range(reference_models)]
    _sync()
    t_ref_per_model = (time.perf_counter() - t0) / reference_models

    diff = max(float((params[k][b] - r[k]).abs().max()) for b, r in enumerate(refs) for k in r)
    batched_rate = B / t_batched
    ref_rate = 1.0 / t_ref_per_model
    res = {
        "B": B,
        "n": n,
        "epochs": epochs,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batched_seconds": t_batched,
        "reference_seconds_per_model": t_ref_per_model,
        "batched_models_per_second": batched_rate,
        "reference_models_per_second": ref_rate,
        "speed_ratio": batched_rate / ref_rate,
        "max_param_diff": diff,
    }
    out(
        f"MLP {dim}-{'-'.join(map(str, hidden))}-{classes}, n={n}, subset {subset_fraction:g}, "
        f"{epochs} epochs, batch {batch_size}, {device}, {res['threads']} threads"
    )
    out(f"  batched  : {B} models in {t_batched:.2f} s = {batched_rate:.2f} models/s")
    out(f"  reference: {t_ref_per_model:.2f} s/model ({reference_models} timed) = {ref_rate:.2f} models/s")
    out(f"  speed ratio {res['speed_ratio']:.1f}x; max |param diff| vs reference {diff:.2e} (float32)")
    return res
