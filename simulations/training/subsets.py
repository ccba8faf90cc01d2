"""Fill a :class:`~simulations.store.ModelStore`: train its missing models batch by batch.

Each batch of models is trained with :func:`~simulations.training.engine.train_batched`, then its
0/1 correctness on every training and test example is saved atomically, which marks those
models complete. A killed run loses at most the batch in flight; re-running resumes with the
same batch boundaries (multiples of ``models_per_batch`` from model 0), hence the same groups
and bit-identical results.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from simulations.store import ModelStore
from simulations.training.engine import correctness_batched, train_batched
from simulations.training.models import ModelSpec
from theory._validate import check_int

__all__ = ["train_into_store"]


def train_into_store(
    store: ModelStore,
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    models_per_batch: int,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float,
    weight_decay: float,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
) -> int:
    """Train every model the store lacks on its mask and seed; return how many were trained.

    ``x`` (n, ...) and ``y`` (n,) must be the store's n training examples, ``x_test`` and ``y_test``
    its k test examples. ``log`` receives one progress line per finished batch (models done,
    models per second, estimated time left).
    """
    models_per_batch = check_int("models_per_batch", models_per_batch, low=1)
    if len(y) != store.n or len(y_test) != store.k:
        raise ValueError(
            f"store holds n = {store.n} training and k = {store.k} test examples; "
            f"got {len(y)} and {len(y_test)}"
        )
    pending = store.pending(models_per_batch)
    todo = sum(b - a for a, b in pending)
    done_before = store.t - todo
    if log is not None and done_before:
        what = "reading the store" if todo == 0 else "resuming"
        log(f"store {store.folder}: {done_before} of {store.t} models already trained, {what}")
    trained = 0
    t0 = time.perf_counter()
    for start, end in pending:
        params = train_batched(
            spec, x, y, store.masks[start:end], store.seeds[start:end], epochs=epochs,
            batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay, device=device,
        )  # fmt: skip
        with torch.no_grad():
            ct = correctness_batched(spec, params, x, y).cpu().numpy()
            cs = correctness_batched(spec, params, x_test, y_test).cpu().numpy()
        store.save(start, end, ct, cs)
        trained += end - start
        if log is not None:
            rate = trained / (time.perf_counter() - t0)
            left = (todo - trained) / rate
            log(
                f"models {done_before + trained}/{store.t} trained ({rate:.1f} models/s, "
                f"about {left:.0f} s left)"
            )
    return trained
