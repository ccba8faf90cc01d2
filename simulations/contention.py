r"""``tailmem benchmark contention``: the hot paths on a quiet machine and beside busy processes.

Each hot path is timed once on the machine as it is (it should be quiet), then again while
``k`` busy processes of this benchmark's own spin on the CPUs (``k = 2 x cores`` by default;
started before and stopped after, whatever happens). A job that shares ``c`` cores with ``k``
CPU-bound processes gets about ``c / (k + c)`` of them, so its fair-share slowdown is

.. math:: \text{fair} = \frac{k + c}{c},

and the goal is a measured slowdown within 1.5x of it. Before the thread policy
(:mod:`simulations.threads`) the same machine showed slowdowns up to ~80x (docs/benchmarks.md).
Printed and returned, never asserted: timings on a shared machine are not test material.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from simulations.threads import available_cores, group_workers, use_threads
from theory._validate import check_int

__all__ = ["hot_paths", "busy_processes", "contention_benchmark", "GOAL"]

GOAL = 1.5  # the measured slowdown may exceed the fair share by at most this factor
SPIN_UP_S = 0.5  # time given to the busy processes to reach the CPUs before timing


def _bound() -> None:
    import theory

    theory.bound(theory.zipf(10_000_000, 1.1), 10_000_000, 10)


def _feldman() -> None:
    import theory
    from simulations.feldman import LabelPrior
    from simulations.feldman.simulate import simulate

    learners = ["memorize-all", "fit-seen>=2", "mem-limit=0.5"]
    simulate(theory.zipf(50_000), 50_000, LabelPrior(10), learners, trials=100, seed=0, batch_trials=25)


def _training() -> None:
    from simulations.training.problem import SubsetTraining, subset_run

    # one batch of 128 models: two groups of 64, trained side by side by the group workers
    cfg = SubsetTraining(dataset="mnist1d", models=128, epochs=4, models_per_batch=128)
    with tempfile.TemporaryDirectory(prefix="tailmem-contention-") as tmp:
        subset_run(cfg, tmp, log=lambda _m: None)


def _experiment(name: str) -> Callable[[], None]:
    def run() -> None:
        from simulations.experiment import Context
        from simulations.experiments import get, make_config

        exp = get(name)
        cfg = make_config(exp, quick=True)
        with tempfile.TemporaryDirectory(prefix="tailmem-contention-") as tmp:
            exp.run(cfg, Context.for_config(cfg, workdir=tmp, progress=False))

    return run


def hot_paths() -> dict[str, Callable[[], None]]:
    """The timed work: the bound at N = n = 1e7 (Zipf 1.1), the Feldman simulation (100 trials at
    N = n = 50,000), batched training of 128 MLPs on MNIST-1D (4 epochs, one batch: two groups of
    64 side by side), and the experiments composition-linear and memorization at their quick
    sizes."""
    return {
        "bound, Zipf 1.1, N = n = 1e7": _bound,
        "feldman simulation, 100 trials": _feldman,
        "batched training, 128 MLPs": _training,
        "composition-linear --quick": _experiment("composition-linear"),
        "memorization --quick": _experiment("memorization"),
    }


@contextlib.contextmanager
def busy_processes(k: int):
    """``k`` processes that spin on a CPU each until the block ends (then they are killed)."""
    procs = []
    try:
        for _ in range(k):
            procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        time.sleep(SPIN_UP_S)
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def _time(fn: Callable[[], None]) -> tuple[float, int]:
    start = time.perf_counter()
    with use_threads() as n:  # decided now, as a command would (the override, else auto)
        workers = group_workers()
        fn()
    return time.perf_counter() - start, f"{n}x{workers}"


def contention_benchmark(
    busy: int | None = None, *, paths: dict[str, Callable[[], None]] | None = None, out=print
) -> dict:
    """Time every hot path quiet, then beside ``busy`` spinning processes; print the slowdowns
    beside the fair share and return them."""
    cores = available_cores()
    k = check_int("--busy", 2 * cores if busy is None else busy, low=1, high=256)
    paths = hot_paths() if paths is None else paths
    fair = (k + cores) / cores
    for fn in paths.values():  # warm-up: imports, data files, first-call costs (not counted)
        fn()
    quiet = {name: _time(fn) for name, fn in paths.items()}
    with busy_processes(k):
        loaded = {name: _time(fn) for name, fn in paths.items()}
    rows = {}
    out(f"contention benchmark: {cores} cores; {k} busy processes beside the loaded runs; "
        f"fair-share slowdown (k + cores) / cores = {fair:.2f}, goal <= {GOAL * fair:.2f}")  # fmt: skip
    out(f"  {'hot path':<34} {'quiet':>9} {'threads':>7} {'busy':>9} {'threads':>7} {'slowdown':>9}  goal"
        "   (threads: intra-op threads x group workers)")  # fmt: skip
    for name in paths:
        (tq, nq), (tb, nb) = quiet[name], loaded[name]
        ratio = tb / tq
        rows[name] = {"quiet_s": tq, "quiet_threads": nq, "busy_s": tb, "busy_threads": nb,
                      "slowdown": ratio, "within_goal": ratio <= GOAL * fair}  # fmt: skip
        mark = "ok" if rows[name]["within_goal"] else "MISSED"
        out(f"  {name:<34} {tq:8.2f}s {nq:>7} {tb:8.2f}s {nb:>7} {ratio:8.2f}x  {mark}")
    met = all(r["within_goal"] for r in rows.values())
    out(f"  every slowdown within {GOAL:g}x of the fair share: {'yes' if met else 'no'}")
    return {"cores": cores, "busy": k, "fair_share": fair, "goal": GOAL * fair, "paths": rows, "met": met}
