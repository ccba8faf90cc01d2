r"""The thread policy: how many threads tailmem's hot paths run on, and the one override.

Multi-threaded kernels (torch's OpenMP intra-op threads, OpenBLAS) split every operation over
their threads and wait for the slowest. On a machine whose cores other jobs hold, one of those
threads is often descheduled, and the operation waits for it: measured on a 2-core machine
beside 4 busy processes, 128 MLPs trained on 2 torch threads took 72-189 s against 2.25 s on
the idle machine, and 4-9 s on 1 thread (docs/benchmarks.md). A job that is given a third of a
machine should run about three times slower, not fifty. So:

- **short linear algebra never fans out**: theory's dot products of a few thousand entries run
  in one thread without BLAS (:func:`theory.moments.dot`);
- **one thread by default** (:data:`DEFAULT_THREADS`), for torch and BLAS alike, chosen from
  measurements on the idle 2-core machine (speed of 2 threads over 1, best of 3, git 062e12c):
  ``bound`` at 1e7 1.08x, the Feldman simulation 0.99x, batched training of 128 MLPs 1.01x,
  composition-linear ``--quick`` 1.02x, memorization ``--quick`` 1.00x (single timings vary by
  up to 30% either way). One thread costs at most ~8% on an idle machine and cannot collapse on
  a busy one (docs/benchmarks.md, ``tailmem benchmark contention``); and the
  numbers never depend on the load: with a thread count that followed the load, a
  ``tailmem reproduce --quick`` run beside other jobs rounded differently in the last bit
  (composition-linear, the theory) and retrained one removal model differently (0.616 against
  0.611 accuracy), so results would change with the neighbours. A result depends on the thread
  count only through float rounding, and the count is recorded in its provenance;
- **independent groups of models side by side**: batched training on the CPU runs its groups of
  models (64 each) on :func:`group_workers` Python threads, as many as there are cores over the
  intra-op threads, each group on one thread from start to end. That gives back the second core
  where one thread per kernel left it idle (256 MLPs of ``tailmem benchmark training``: 4.49 s
  by default against 4.44 s on 2 intra-op threads, and 5.74 s on one thread alone, idle 2-core
  machine, 2026-12-06), without the waits of intra-op threads on a busy machine, and without
  changing a bit of the results, which do not depend on the number of workers;
- **overrides**: ``--threads N`` on the command line, or the environment variable
  ``TAILMEM_THREADS`` (an integer 1..1024, or ``auto``: as many threads as there are cores not
  already running something, from ``procs_running`` of ``/proc/stat`` sampled a few times, this
  process counting as one, decided when each piece of work starts). ``auto`` is fastest on a
  many-core machine that is idle, at the price of results that depend, in the last bits, on
  the load when each piece ran.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "THREADS_ENV",
    "DEFAULT_THREADS",
    "MAX_THREADS",
    "parse_threads",
    "requested_threads",
    "available_cores",
    "busy_cores",
    "auto_threads",
    "use_threads",
    "thread_provenance",
    "group_workers",
    "use_group_workers",
    "on_threads",
]

THREADS_ENV = "TAILMEM_THREADS"
DEFAULT_THREADS = 1  # measured: module docstring
MAX_THREADS = 1024
# samples of procs_running taken to decide (their median), and the pause between them
SAMPLES, SAMPLE_GAP_S = 5, 0.002

_REQUEST: dict = {"value": DEFAULT_THREADS, "source": "default"}
_GROUP_WORKERS: dict = {"value": None}  # None: decide from the cores and torch's threads


def parse_threads(value, *, name: str) -> int | None:
    """``value`` as a thread count 1..1024, or None for ``auto``; one-line ValueError naming ``name``."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lower() == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer in [1, {MAX_THREADS}] or 'auto'; got {text!r}") from None
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"{name} must be an integer in [1, {MAX_THREADS}] or 'auto'; got {n}")
    return n


def requested_threads(flag=None) -> tuple[int | None, str]:
    """(threads or None for auto, where it came from): ``--threads``, else ``TAILMEM_THREADS``,
    else :data:`DEFAULT_THREADS`."""
    if flag is not None:
        return parse_threads(flag, name="--threads"), "--threads"
    env = os.environ.get(THREADS_ENV)
    if env is not None and env.strip():
        return parse_threads(env, name=f"{THREADS_ENV} (environment variable)"), THREADS_ENV
    return DEFAULT_THREADS, "default"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def busy_cores() -> float | None:
    """Runnable threads on the machine right now besides this one (median of a few samples of
    ``procs_running`` in /proc/stat, minus 1 for this thread); None where /proc/stat is absent."""
    samples = []
    for i in range(SAMPLES):
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("procs_running"):
                        samples.append(int(line.split()[1]))
                        break
        except (OSError, ValueError):
            return None
        if i + 1 < SAMPLES:
            time.sleep(SAMPLE_GAP_S)
    if not samples:
        return None
    samples.sort()
    return max(0.0, samples[len(samples) // 2] - 1.0)


def auto_threads() -> int:
    """The ``auto`` policy: the cores not running anything else, at least 1."""
    cores = available_cores()
    busy = busy_cores()
    if busy is None:
        return cores
    return int(max(1, min(cores, cores - busy)))


def threads_now() -> int:
    """The thread count a hot path starting now should use (the request; ``auto`` decided now)."""
    n = _REQUEST["value"]
    return auto_threads() if n is None else n


@contextlib.contextmanager
def use_threads(n: int | None = None):
    """Run the block with ``n`` torch intra-op threads and ``n`` BLAS threads (``None``: decide
    now by :func:`threads_now`), then restore both."""
    n = threads_now() if n is None else n
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # not imported here: `tailmem bound` needs no torch
    old = torch.get_num_threads() if torch is not None else None
    old_env = os.environ.get("OMP_NUM_THREADS")
    if torch is not None:
        torch.set_num_threads(n)
    else:  # torch, if the block imports it, starts with this many intra-op threads
        os.environ["OMP_NUM_THREADS"] = str(n)
    try:
        with threadpool_limits(limits=n):
            yield n
    finally:
        if old is not None:
            torch.set_num_threads(old)
        elif "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(available_cores() if old_env is None else int(old_env))
        if old_env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = old_env


def set_request(value: int | None, source: str) -> None:
    """Record the request for this process (the CLI calls it once, from ``--threads``, the
    environment or the default); hot paths then use it."""
    _REQUEST["value"], _REQUEST["source"] = value, source


def thread_provenance() -> dict:
    """What results.json records: the override (or auto) and where it came from."""
    value = _REQUEST["value"]
    return {"threads": "auto" if value is None else value, "source": _REQUEST["source"],
            "cores": available_cores(),
            "group_workers": "auto" if value is None else workers_for(value)}  # fmt: skip


def group_workers() -> int:
    """Threads that train independent groups of models side by side (batched training on the CPU).

    The cores this process may use divided by torch's intra-op threads, at least 1: with the
    default single-threaded kernels every core trains its own group, with ``--threads N`` each
    group gets N threads and fewer groups run at once. Each group's arithmetic is the same
    whichever thread runs it, so results do not depend on this number; unlike intra-op threads,
    which wait for each other inside every kernel, side-by-side groups never wait for a
    descheduled thread, so they slow down fairly on a busy machine (docs/benchmarks.md).
    Inside a Ray task it is 1 (:func:`use_group_workers`): Ray gives each task its own CPUs.
    """
    if _GROUP_WORKERS["value"] is not None:
        return _GROUP_WORKERS["value"]
    torch = sys.modules.get("torch")
    return workers_for(torch.get_num_threads() if torch is not None else 1)


def workers_for(threads: int) -> int:
    """Groups side by side when each runs ``threads`` intra-op threads: the cores over that, >= 1."""
    return max(1, available_cores() // max(1, threads))


@contextlib.contextmanager
def use_group_workers(n: int):
    """Run the block with :func:`group_workers` fixed to ``n``, then restore it."""
    old = _GROUP_WORKERS["value"]
    _GROUP_WORKERS["value"] = n
    try:
        yield n
    finally:
        _GROUP_WORKERS["value"] = old


def on_threads(fn: Callable[[object], None], items: Iterable, workers: int) -> None:
    """``fn(item)`` for every item, on ``workers`` threads (at least 1); returns when all are done
    and raises the first error. For independent pieces that write their own part of a result
    (row chunks of features, rows of a neighbour search, one model each): each piece's arithmetic
    is the same whichever thread runs it, so the result does not depend on ``workers``. (Batched
    training has its own pool in :mod:`simulations.training.engine`, which also stops the other
    groups at their next step when one fails.)"""
    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        list(pool.map(fn, items))
