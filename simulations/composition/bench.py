r"""Speed of the batched sum-network trainer against ``torch.optim.AdamW`` one model at a time.

Printed and returned, never asserted (timed tests are unreliable). Both trainers fit the same
models (same seeds, weight decays and data order) in the same process on synthetic 28x28 images
(so no data files are needed); the largest parameter difference between them is reported beside
the timings, so a fast but wrong trainer cannot pass unnoticed. The reference is timed on
``reference_models`` of the B models and scaled to B (its time is linear in the models).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from simulations.composition.nets import SumNet
from simulations.composition.train_nets import train_sum_net_reference, train_sum_nets
from theory._validate import check_int

__all__ = ["composition_benchmark"]


def composition_benchmark(
    models: int = 12,
    *,
    arch: str = "sum",
    items: int = 2000,
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 2e-3,
    reference_models: int = 2,
    repeats: int = 3,
    seed: int = 0,
    out=print,
) -> dict:
    """Time ``models`` networks of ``arch`` trained as one vmap batch against the AdamW reference.

    Half the models use weight decay 0, half 0.5 (as in composition-nets). With ``repeats`` > 1
    the two trainers are timed in turn and each keeps its fastest time.
    """
    B = check_int("models", models, low=1, high=4096)
    R = check_int("reference_models", reference_models, low=1, high=B)
    check_int("repeats", repeats, low=1, high=100)
    rng = np.random.default_rng(seed)
    pool = rng.standard_normal((500, 28, 28)).astype(np.float32)
    values = rng.integers(0, 10, 500)
    train = rng.integers(0, 500, (check_int("items", items, low=1), 3))
    spec = SumNet(arch)
    seeds = list(range(B))
    wds = [0.0 if b % 2 == 0 else 0.5 for b in range(B)]
    kw = dict(epochs=epochs, batch_size=batch_size, lr=lr)

    def batched():
        return train_sum_nets(spec, pool, values, train, seeds, wds, **kw)

    def reference():
        return [
            train_sum_net_reference(spec, pool, values, train, seeds[b], wds[b], dtype=torch.float32, **kw)
            for b in range(R)
        ]

    batched(), reference()  # warm-up
    best = {"batched": float("inf"), "reference": float("inf")}
    got = ref = None
    for _ in range(repeats):
        t = time.perf_counter()
        got = batched()
        best["batched"] = min(best["batched"], time.perf_counter() - t)
        t = time.perf_counter()
        ref = reference()
        best["reference"] = min(best["reference"], (time.perf_counter() - t) * B / R)
    diff = max(float((got[k][b] - ref[b][k]).abs().max()) for b in range(R) for k in ref[b])
    res = {
        "arch": arch,
        "models": B,
        "items": items,
        "epochs": epochs,
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
        "batched_s": best["batched"],
        "reference_s_scaled": best["reference"],
        "batched_models_per_s": B / best["batched"],
        "reference_models_per_s": B / best["reference"],
        "speedup": best["reference"] / best["batched"],
        "max_param_diff_float32": diff,
    }
    out(
        f"composition nets ({arch}, {B} models, {items} items x {epochs} epoch(s), batch {batch_size}, "
        f"{res['threads']} threads, best of {repeats}): batched {res['batched_s']:.2f} s "
        f"({res['batched_models_per_s']:.2f} models/s), AdamW one at a time "
        f"{res['reference_s_scaled']:.2f} s "
        f"(timed on {R}, scaled), ratio {res['speedup']:.2f}x; max parameter difference {diff:.1e}"
    )
    return res
