"""Work units as Ray tasks: one task per item, shared data in the object store, results to the driver.

Imported only for ``backend ray``; Ray itself is imported inside the functions, so this module
loads without it. What a task gets and does:

- ``shared`` is put in the object store once (``ray.put``) and passed by reference: each node
  fetches it once and the tasks on that node read the same copy (zero-copy, read-only numpy
  arrays). The driver prepared it (data part, standardisation), so no node needs the data files.
- resources: ``num_cpus = backend.cpus`` and ``num_gpus = backend.gpus``; inside the task torch
  uses as many intra-op threads as CPUs were assigned (``torch.set_num_threads``), so tasks
  packed on one machine do not oversubscribe its cores.
- retries: ``max_retries = backend.max_retries`` re-runs a task whose worker process or node
  died (killed, out of memory); ``retry_exceptions=False``: an exception raised by the unit is
  deterministic (a pure function of its arguments) and would recur, so it fails the map at once.
- a window, not ``ray.cancel``: at most :func:`window` tasks are in flight (as many as the
  cluster can run at once, times :data:`WINDOW_FACTOR`); a new one is submitted as each finishes.
  When the map stops (an error, Ctrl-C) nothing is cancelled: the few tasks in flight run to
  their end and their results are dropped, and no queued work is left behind. Ray 2.60's
  ``ray.cancel`` is not safe here: cancelling a task that has just finished, or is finishing,
  aborts the driver with ``task_manager.cc:1329 Check failed ... Tried to complete task that was
  not pending`` (reproduced on 2 CPUs within 300 cancels of an already failed task, and within
  400 cancels of running ones); tests/simulations/test_ray_backend.py crashed pytest in
  2 of 21 runs that way.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from simulations.backends.batches import RAY_MISSING, Backend
from simulations.threads import use_group_workers

__all__ = ["import_ray", "connect", "map_on_ray", "window"]

# tasks in flight per task slot of the cluster: 2 keeps every slot fed while the driver collects
# a result and submits the next, and gives an autoscaler pending work to scale on
WINDOW_FACTOR = 2


def import_ray():
    """The ``ray`` module; ValueError with the install command where it is missing."""
    try:
        import ray
    except ImportError:
        raise ValueError(RAY_MISSING) from None
    return ray


def connect(backend: Backend):
    """Join the Ray cluster of ``backend.address`` unless this process already has; return ``ray``.

    An existing connection (``ray.init`` called earlier, e.g. by a test or a notebook) is used as
    it is. Otherwise ``ray.init(address=backend.address or None)``: with no address Ray reads
    ``RAY_ADDRESS`` or starts a cluster on this machine that lasts as long as this process.
    Refuses, before any task is submitted, a request no alive node can meet (the task would wait
    forever): ``ray_cpus`` or ``ray_gpus`` larger than every node's.
    """
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=backend.address or None)
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    if not any(r.get("CPU", 0) >= backend.cpus and r.get("GPU", 0) >= backend.gpus for r in nodes):
        most_cpu = max((r.get("CPU", 0) for r in nodes), default=0)
        most_gpu = max((r.get("GPU", 0) for r in nodes), default=0)
        raise ValueError(
            f"ray_cpus, ray_gpus: no node of the Ray cluster has {backend.cpus} CPUs and "
            f"{backend.gpus:g} GPUs (largest: {most_cpu:g} CPUs, {most_gpu:g} GPUs)"
        )
    return ray


def _run_unit(unit: Callable, shared, *args):
    """Body of every task: torch threads = the CPUs Ray assigned, then the pure unit."""
    import ray
    import torch

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    torch.set_num_threads(max(1, int(cpus)))
    with use_group_workers(1):  # the task's CPUs are its intra-op threads; no side-by-side groups
        return unit(shared, *args)


def window(ray, backend: Backend) -> int:
    """Tasks in flight: :data:`WINDOW_FACTOR` times the tasks the whole cluster can run at once.

    The slots are the cluster's CPUs over ``backend.cpus`` (and its GPUs over ``backend.gpus``
    when tasks ask for GPUs), at least 1.
    """
    total = ray.cluster_resources()
    slots = int(total.get("CPU", 0) // backend.cpus)
    if backend.gpus > 0:
        slots = min(slots, int(total.get("GPU", 0) // backend.gpus))
    return WINDOW_FACTOR * max(1, slots)


def map_on_ray(
    unit: Callable,
    shared,
    items: list[tuple[Hashable, tuple]],
    on_done: Callable[[Hashable, object], None],
    backend: Backend,
) -> None:
    """:func:`~simulations.backends.batches.map_batches` on Ray: a window of tasks, collected as they finish.

    Never calls ``ray.cancel`` (see the module docstring): on an error or an interrupt the tasks
    in flight, at most :func:`window` of them, finish on their own and their results are dropped.
    """
    if not items:
        return
    ray = connect(backend)
    task = ray.remote(_run_unit).options(
        num_cpus=backend.cpus,
        num_gpus=backend.gpus,
        max_retries=backend.max_retries,
        retry_exceptions=False,
    )
    shared_ref = ray.put(shared)
    todo = iter(items)
    limit = window(ray, backend)
    pending: dict = {}
    while True:
        for key, args in todo:
            pending[task.remote(unit, shared_ref, *args)] = key
            if len(pending) >= limit:
                break
        if not pending:
            return
        ready, _ = ray.wait(list(pending), num_returns=1)
        ref = ready[0]
        key = pending.pop(ref)  # finished: never touched again, whatever get says
        try:
            result = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the unit raised: raise its error here
            raise (exc.cause if isinstance(exc.cause, Exception) else exc) from exc
        except ray.exceptions.RayError as exc:  # its worker or node died too often: one line
            raise ChildProcessError(
                f"Ray task for {key!r} failed {backend.max_retries + 1} times "
                f"({type(exc).__name__}); results already collected are kept: run again to resume"
            ) from exc
        on_done(key, result)
