r"""Map a pure work unit over batches of models, locally or as Ray tasks; results go to the driver.

.. code-block:: text

    map_batches(unit, shared, items, on_done, backend=...)
        for (key, args) in items:   result = unit(shared, *args);   on_done(key, result)

``local`` runs the loop in this process, in the order of ``items``. ``ray`` submits one Ray task
per item (:mod:`simulations.backends.ray_tasks`) and calls ``on_done`` in completion order, on
the driver, as each task finishes. Because ``unit`` is a pure function of its arguments and the
items are the same, both backends give the same results for the same items; callers that save
``on_done``'s results (the model store) therefore get identical stores whichever backend filled
them, and may switch backend between a killed run and its resumption.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from theory._validate import check_finite, check_int

__all__ = ["BACKENDS", "Backend", "LOCAL", "map_batches", "ray_installed"]

BACKENDS = ("local", "ray")
RAY_MISSING = "backend: 'ray' needs Ray, which is not installed; pip install \"tailmem[ray]\""


def ray_installed() -> bool:
    """Whether ``import ray`` would find the package (checked without importing it)."""
    return importlib.util.find_spec("ray") is not None


@dataclass(frozen=True)
class Backend:
    """Where work units run, and what a Ray task asks for.

    ``name`` is ``"local"`` (this process, no Ray) or ``"ray"``. For ``ray``: ``address`` of the
    cluster (``""``: Ray's default, i.e. ``RAY_ADDRESS`` or a new single-machine cluster;
    ``"auto"``; ``"HOST:6379"``; ``"ray://HOST:10001"`` for Ray Client), ``cpus`` per task (also
    the task's torch threads), ``gpus`` per task (0 on CPU; fractions let tasks share a GPU),
    ``max_retries``: how often Ray re-runs a task whose worker process or node died. The ``ray_*``
    settings are refused with ``local``, where they would be silently ignored. Errors name the
    config fields (``backend``, ``ray_address``, ``ray_cpus``, ``ray_gpus``).
    """

    name: str = "local"
    address: str = ""
    cpus: int = 1
    gpus: float = 0.0
    max_retries: int = 3

    def __post_init__(self):
        if self.name not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {self.name!r}")
        if not isinstance(self.address, str):
            raise ValueError(f"ray_address must be a string; got {self.address!r}")
        check_int("ray_cpus", self.cpus, low=1, high=1024)
        check_finite("ray_gpus", self.gpus, low=0.0, high=64.0)
        check_int("max_retries", self.max_retries, low=0, high=100)
        if self.name == "local":
            if self.address:
                raise ValueError(
                    f"ray_address: only with backend 'ray'; got {self.address!r} with backend 'local'"
                )
            if (self.cpus, self.gpus) != (1, 0.0):
                raise ValueError(
                    f"ray_cpus, ray_gpus: only with backend 'ray'; got {self.cpus}, {self.gpus:g} "
                    "with backend 'local'"
                )
        elif not ray_installed():
            raise ValueError(RAY_MISSING)


LOCAL = Backend()


def map_batches(
    unit: Callable,
    shared,
    items: Iterable[tuple[Hashable, tuple]],
    on_done: Callable[[Hashable, object], None],
    *,
    backend: Backend = LOCAL,
) -> None:
    """Call ``unit(shared, *args)`` for every ``(key, args)`` of ``items``; ``on_done(key, result)`` each.

    ``unit`` must be a pure, module-level (importable) function for ``ray``; ``shared`` is sent to
    the cluster once (``ray.put``) and every task reads that one copy. ``on_done`` always runs in
    the calling process, one result at a time, so it may write files without locking. An
    exception in a unit (raised as it is), or a task whose worker died more than
    ``backend.max_retries`` times (ChildProcessError, one line), stops the map: results already
    handed to ``on_done`` stay; on Ray no further task is submitted, and the few in flight finish
    on their own, their results dropped (:func:`~simulations.backends.ray_tasks.map_on_ray`).
    """
    if not isinstance(backend, Backend):
        raise ValueError(f"backend must be a simulations.backends.Backend; got {type(backend).__name__}")
    if backend.name == "local":
        from simulations.threads import use_threads

        for key, args in items:
            with use_threads():  # decided per batch: the run follows the load (simulations.threads)
                result = unit(shared, *args)
            on_done(key, result)
        return
    from simulations.backends.ray_tasks import map_on_ray

    map_on_ray(unit, shared, list(items), on_done, backend)
