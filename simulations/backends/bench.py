r"""Cost of training on Ray against training here, and how it scales from 1 to 2 workers.

The same t subset models (MLP 40-100-100-10 on MNIST-1D, ratio 0.7, split in ``tasks`` batches)
are trained five times through :func:`~simulations.training.problem.subset_run`, each into a
fresh store:

- local with 1 and with 2 torch threads (the driver's default on a 2-core machine);
- Ray with 1 worker of 1 CPU (a cluster of ``num_cpus=1``);
- Ray with 2 workers of 1 CPU and with 1 worker of 2 CPUs (a cluster of ``num_cpus=2``).

Reported: overhead = Ray time / local time on the same cores and threads (1 worker x 1 CPU
against 1 thread, 1 worker x 2 CPUs against 2 threads); speed-up = time on 1 worker x 1 CPU /
time on 2 workers x 1 CPU, scaling efficiency = speed-up / 2. Times are the training time of
``subset_run`` (``ray.put`` of the data, the tasks, the writes to the store), after an untimed
local run and one warm-up task per worker: starting a cluster and a worker's first import of
torch are a fixed cost per run, printed apart. Results must be bit-identical across the five
runs; the benchmark says so or raises. Timings on a shared machine are noisy; nothing here is
asserted about speed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time

import numpy as np
import torch

from simulations.backends.batches import Backend, map_batches
from simulations.backends.ray_tasks import import_ray
from theory._validate import check_int

__all__ = ["ray_benchmark"]


def _warm_up(_shared, _i):
    """A task that loads what the training tasks load, then holds its worker for a moment."""
    import simulations.training.subsets  # noqa: F401

    time.sleep(0.5)
    return os.getpid()


def _start(ray, cpus: int) -> tuple[float, float]:
    """Start a single-machine cluster of ``cpus`` CPUs and warm one worker per CPU; the two times."""
    if ray.is_initialized():
        ray.shutdown()
    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    t1 = time.perf_counter()
    pids = []
    map_batches(_warm_up, None, [(i, (i,)) for i in range(cpus)], lambda _k, pid: pids.append(pid),
                backend=Backend("ray", cpus=1))  # fmt: skip
    return t1 - t0, time.perf_counter() - t1


def ray_benchmark(models: int = 128, tasks: int = 8, *, epochs: int = 4, out=print) -> dict:
    """Time the five runs described in the module docstring; print a table and return the numbers.

    Leaves no Ray cluster behind (it shuts down the two it starts) and restores torch's threads.
    """
    from simulations.training.problem import SubsetTraining, subset_run

    models = check_int("models", models, low=2)
    tasks = check_int("tasks", tasks, low=2, high=models)
    epochs = check_int("epochs", epochs, low=1)
    ray = import_ray()
    if ray.is_initialized():
        raise ValueError("ray benchmark: this process is already connected to Ray; run it in a fresh one")
    base = SubsetTraining(dataset="mnist1d", models=models, epochs=epochs,
                          models_per_batch=math.ceil(models / tasks))  # fmt: skip
    threads = torch.get_num_threads()
    runs: dict[str, dict] = {}
    fixed = []

    def timed(label: str, **placement):
        with tempfile.TemporaryDirectory(prefix="tailmem-ray-bench-") as tmp:
            cfg = dataclasses.replace(base, **placement)
            sr = subset_run(cfg, tmp, log=lambda _m: None)
        runs[label] = {"seconds": sr.train_seconds, "train": sr.correct_train, "test": sr.correct_test}
        out(f"  {label:<28} {sr.train_seconds:7.2f} s")

    n_batches = math.ceil(models / base.models_per_batch)
    out(f"ray benchmark: {models} models MLP 40-100-100-10 on MNIST-1D, {epochs} epochs, "
        f"{n_batches} tasks of <= {base.models_per_batch} models; {os.cpu_count()} CPUs")  # fmt: skip
    try:
        torch.set_num_threads(1)
        timed("local warm-up (not counted)")  # the process's first training pays torch's start-up
        for n in (1, 2):
            torch.set_num_threads(n)
            timed(f"local, {n} torch thread{'s' * (n > 1)}")
        torch.set_num_threads(threads)
        fixed.append(_start(ray, 1))
        timed("ray, 1 worker x 1 CPU", backend="ray")
        fixed.append(_start(ray, 2))
        timed("ray, 2 workers x 1 CPU", backend="ray")
        timed("ray, 1 worker x 2 CPUs", backend="ray", ray_cpus=2)
    finally:
        torch.set_num_threads(threads)
        if ray.is_initialized():
            ray.shutdown()
    runs.pop("local warm-up (not counted)")
    sec = {k: v["seconds"] for k, v in runs.items()}
    first = next(iter(runs.values()))
    identical = all(
        np.array_equal(v["train"], first["train"]) and np.array_equal(v["test"], first["test"])
        for v in runs.values()
    )
    res = {
        "seconds": sec,
        "overhead_1cpu": sec["ray, 1 worker x 1 CPU"] / sec["local, 1 torch thread"],
        "overhead_2cpu": sec["ray, 1 worker x 2 CPUs"] / sec["local, 2 torch threads"],
        "speedup": sec["ray, 1 worker x 1 CPU"] / sec["ray, 2 workers x 1 CPU"],
        "speedup_vs_local": sec["local, 2 torch threads"] / sec["ray, 2 workers x 1 CPU"],
        "cluster_start_s": [a for a, _ in fixed],
        "warm_up_s": [b for _, b in fixed],
        "identical": identical,
    }
    res["efficiency"] = res["speedup"] / 2
    out(f"  overhead of Ray (same cores): {res['overhead_1cpu']:.2f}x on 1 CPU, "
        f"{res['overhead_2cpu']:.2f}x on 2")  # fmt: skip
    out(f"  2 workers against 1: speed-up {res['speedup']:.2f}x, scaling efficiency {res['efficiency']:.2f}; "
        f"against local with 2 threads: {res['speedup_vs_local']:.2f}x")  # fmt: skip
    starts = ", ".join(f"{a:.1f} s" for a in res["cluster_start_s"])
    warm = ", ".join(f"{b:.1f} s" for b in res["warm_up_s"])
    out(f"  not in the times: cluster start {starts}; first task per worker {warm}")
    if not identical:
        raise ArithmeticError("ray benchmark: the five runs gave different results; they must be identical")
    out("  results identical across the five runs: yes")
    return res
