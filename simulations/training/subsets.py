"""Fill a :class:`~simulations.store.ModelStore`: train its missing models batch by batch.

The work unit is :func:`train_batch`, a pure function of (model indices, masks, seeds, data and
optimiser): it trains one batch with :func:`~simulations.training.engine.train_batched` and
returns the batch's 0/1 correctness on every training and test example. :func:`train_into_store`
maps it over the store's pending batches on a backend (:mod:`simulations.backends`: this
process, or Ray tasks) and saves each result atomically as it arrives, which marks those models
complete. Only this driver writes. A killed run loses at most the batches in flight; re-running
resumes with the same batch boundaries (multiples of ``models_per_batch`` from model 0, whichever
backend trained the others), hence the same groups of ``default_group_size`` models inside each
batch and bit-identical results: a model's float round-off can depend on which models share its
group, so the unit is exactly the local batch and never split or merged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from simulations.backends import LOCAL, Backend, map_batches
from simulations.store import ModelStore, training_progress
from simulations.training.engine import correctness_batched, train_batched
from simulations.training.models import ModelSpec
from theory._validate import check_int

__all__ = ["train_batch", "train_into_store"]


def _writable(a: np.ndarray) -> np.ndarray:
    """``a``, copied if read-only (arrays from Ray's object store are; torch warns on those)."""
    return a if a.flags.writeable else a.copy()


def train_batch(problem: dict, models: tuple[int, int], masks: np.ndarray, seeds: np.ndarray):
    """The work unit: train models ``start..end-1`` and return their correctness on train and test.

    ``problem`` holds ``spec``, ``x`` (n, ...), ``y`` (n,), ``x_test`` (k, ...), ``y_test`` (k,) and
    ``hyper`` (the keyword arguments of :func:`~simulations.training.engine.train_batched`:
    epochs, batch_size, lr, momentum, weight_decay, optimizer, device); ``models`` = (start, end) names the
    batch, ``masks`` bool (end - start, n) and ``seeds`` (end - start,) are its rows of the store.
    Returns (start, end, correct_train bool (b, n), correct_test bool (b, k)). Pure: the same
    arguments give the same arrays in any process (on one CPU type and torch build).
    """
    start, end = models
    spec = problem["spec"]
    x, y = _writable(problem["x"]), _writable(problem["y"])
    x_test, y_test = _writable(problem["x_test"]), _writable(problem["y_test"])
    params = train_batched(spec, x, y, _writable(masks), _writable(seeds), **problem["hyper"])
    with torch.no_grad():
        ct = correctness_batched(spec, params, x, y).cpu().numpy()
        cs = correctness_batched(spec, params, x_test, y_test).cpu().numpy()
    return start, end, ct, cs


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
    optimizer: str = "sgd",
    device: str = "cpu",
    backend: Backend = LOCAL,
    unit: Callable = train_batch,
    log: Callable[[str], None] | None = None,
) -> int:
    """Train every model the store lacks on its mask and seed; return how many were trained.

    ``x`` (n, ...) and ``y`` (n,) must be the store's n training examples, ``x_test`` and ``y_test``
    its k test examples. ``backend`` says where the batches are trained (default: here, in
    order); ``unit`` is the work unit, :func:`train_batch` unless a test wraps it. ``log``
    receives one progress line per finished batch (models done, models per second, estimated
    time left).
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
    if not pending:
        return 0
    problem = {
        "spec": spec, "x": np.asarray(x), "y": np.asarray(y),
        "x_test": np.asarray(x_test), "y_test": np.asarray(y_test),
        "hyper": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "momentum": momentum,
                  "weight_decay": weight_decay, "optimizer": optimizer, "device": device},
    }  # fmt: skip
    items = [((a, b), ((a, b), store.masks[a:b], store.seeds[a:b])) for a, b in pending]
    trained = 0
    t0 = time.perf_counter()

    def save(key, result):
        nonlocal trained
        start, end, ct, cs = result
        if (start, end) != key:
            raise ValueError(f"work unit: asked for models {key}, returned models {(start, end)}")
        store.save(start, end, ct, cs)
        trained += end - start
        if log is not None:
            log(training_progress(done_before + trained, store.t, trained, time.perf_counter() - t0))

    map_batches(unit, problem, items, save, backend=backend)
    return trained
