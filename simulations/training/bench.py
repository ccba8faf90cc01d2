r"""Speed of the batched engine against the one-model reference, on MNIST-1D by default.

Timed tests are unreliable, so speed is printed and returned here, never asserted. Every
trainer fits the same models (same subsets, seeds and data order) in the same process; the
largest parameter difference from the reference is reported beside the timings, so a fast but
wrong engine cannot pass unnoticed.

Work per model is counted in floating-point operations of the dense layers: for an MLP with
layer sizes :math:`d_0, \dots, d_L`, one example costs :math:`2\sum_l d_{l-1} d_l` to go
forward, as much for the weight gradients, and :math:`2\sum_{l \ge 2} d_{l-1} d_l` for the
gradients of the hidden activations (none for the input), elementwise work not counted.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from simulations.threads import group_workers
from simulations.training.engine import train_batched
from simulations.training.models import MLP
from simulations.training.reference import train_one
from theory._validate import check_finite, check_int

__all__ = ["synthetic_problem", "mlp_train_flops", "training_benchmark"]


def synthetic_problem(n: int, dim: int, classes: int, *, rng: np.random.Generator):
    """Gaussian class clusters x_i = mu_{y_i} + N(0, I), mu_c ~ N(0, I / 4); x float32 (n, dim), y (n,)."""
    centers = rng.normal(scale=0.5, size=(classes, dim))
    y = rng.integers(0, classes, size=n)
    x = (centers[y] + rng.normal(size=(n, dim))).astype(np.float32)
    return x, y


def mlp_train_flops(spec: MLP) -> int:
    """Dense-layer FLOPs of one training example (forward + backward) for an MLP spec."""
    d = [spec.in_dim, *spec.hidden, spec.classes]
    prods = [a * b for a, b in zip(d[:-1], d[1:], strict=True)]
    return 2 * sum(prods) * 2 + 2 * sum(prods[1:])


def _problem(data: str, n: int, seed: int):
    if data == "mnist1d":
        from simulations.data import features, load_mnist1d

        d = load_mnist1d()
        x, _ = features(d)
        return x, d.y_train
    if data == "synthetic":
        return synthetic_problem(n, 40, 10, rng=np.random.default_rng(seed))
    raise ValueError(f"data must be 'mnist1d' or 'synthetic'; got {data!r}")


def training_benchmark(
    B: int = 256,
    epochs: int = 2,
    *,
    data: str = "mnist1d",
    n: int = 4000,
    hidden: tuple[int, ...] = (100, 100),
    ratio: float = 0.7,
    batch_size: int = 32,
    lr: float = 0.02,
    reference_models: int = 4,
    vmap_models: int = 64,
    device="cpu",
    repeats: int = 1,
    seed: int = 0,
    out=print,
) -> dict:
    """Time B MLPs with the batched engine (dense path, then the vmap path on ``vmap_models``)
    against ``train_one`` on ``reference_models`` of them.

    Each model trains on its own subset of ratio ``ratio`` (MNIST-1D's 4,000 training signals, or
    ``n`` synthetic ones). Every trainer is warmed up once before timing. Per-model times of the
    reference and of the vmap path are measured on their models and scaled to B (both are linear
    in the number of models). With ``repeats`` > 1 the three are timed in turn that many times
    and each keeps its fastest time (as ``timeit`` does: other processes only ever add time).
    Returns models per second of each, the ratios over the reference, the dense path's achieved
    GFLOP/s and the largest parameter difference from the reference.
    """
    B = check_int("B", B, low=1)
    repeats = check_int("repeats", repeats, low=1)
    reference_models = check_int("reference_models", reference_models, low=1, high=B)
    vmap_models = check_int("vmap_models", vmap_models, low=1, high=B)
    check_finite("ratio", ratio, low=0.0, high=1.0, low_open=True, high_open=True)
    x, y = _problem(data, n, seed)
    rng = np.random.default_rng(seed)
    masks = rng.random((B, len(y))) < ratio
    seeds = np.arange(B) + 1000 * seed
    spec = MLP(in_dim=x.shape[1], hidden=tuple(hidden), classes=10)
    hyper = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "device": device}
    dev = torch.device(device)

    def timed(fn):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        result = fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return result, time.perf_counter() - t0

    # warm-up: the first call of each trainer pays one-off costs (tracing, allocator, threads)
    train_batched(spec, x, y, masks[:2], seeds[:2], **{**hyper, "epochs": 1})
    train_batched(spec, x, y, masks[:2], seeds[:2], method="vmap", **{**hyper, "epochs": 1})
    train_one(spec, x, y, masks[0], int(seeds[0]), **{**hyper, "epochs": 1})
    t_dense = t_vmap = t_ref = float("inf")
    mv, sv = masks[:vmap_models], seeds[:vmap_models]
    for _ in range(repeats):
        params, t = timed(lambda: train_batched(spec, x, y, masks, seeds, **hyper))
        t_dense = min(t_dense, t)
        _, t = timed(lambda: train_batched(spec, x, y, mv, sv, method="vmap", **hyper))
        t_vmap = min(t_vmap, t)
        refs, t = timed(
            lambda: [train_one(spec, x, y, masks[b], int(seeds[b]), **hyper) for b in range(reference_models)]
        )
        t_ref = min(t_ref, t)
    diff = max(float((params[k][b] - r[k]).abs().max()) for b, r in enumerate(refs) for k in r)
    dense_rate, vmap_rate, ref_rate = B / t_dense, vmap_models / t_vmap, reference_models / t_ref
    flops = mlp_train_flops(spec) * float(masks.sum()) * epochs
    res = {
        "data": data,
        "B": B,
        "n": len(y),
        "ratio": ratio,
        "epochs": epochs,
        "batch_size": batch_size,
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "group_workers": group_workers(),
        "repeats": repeats,
        "dense_seconds": t_dense,
        "dense_models_per_second": dense_rate,
        "vmap_models_per_second": vmap_rate,
        "reference_models_per_second": ref_rate,
        "speed_ratio": dense_rate / ref_rate,
        "vmap_speed_ratio": vmap_rate / ref_rate,
        "dense_gflops": flops / t_dense / 1e9,
        "max_param_diff": diff,
    }
    out(
        f"MLP {'-'.join(map(str, [spec.in_dim, *hidden, 10]))} on {data} (n = {len(y)}, subsets of ratio "
        f"{ratio:g}), {epochs} epochs, batch {batch_size}, lr {lr:g}, {dev}, {res['threads']} threads x "
        f"{res['group_workers'] if dev.type == 'cpu' else 1} group workers, "
        f"best of {repeats}"
    )
    out(f"  batched (dense): {B} models in {t_dense:.2f} s = {dense_rate:.2f} models/s, "
        f"{res['dense_gflops']:.1f} GFLOP/s")  # fmt: skip
    out(f"  batched (vmap) : {vmap_models} models in {t_vmap:.2f} s = {vmap_rate:.2f} models/s")
    out(f"  reference      : {reference_models} models in {t_ref:.2f} s = {ref_rate:.2f} models/s")
    out(
        f"  speed ratio over the reference: dense {res['speed_ratio']:.1f}x, vmap "
        f"{res['vmap_speed_ratio']:.1f}x; max |param diff| vs reference {diff:.2e} (float32)"
    )
    return res
