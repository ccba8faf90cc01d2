"""The Ray backend on a real single-machine Ray cluster (2 CPUs), against the local backend.

Needs the ``[ray]`` extra; without it the module is skipped with that reason. Expected values
come from the contract of :mod:`simulations.backends`: a work unit is a pure function of its
batch, so Ray's results equal the local ones bit for bit (whatever the order tasks finish in,
whichever backend began the store); only the driver writes, so killing it leaves a store that
a re-run resumes; a task whose worker process dies is re-run by Ray (``max_retries``), while an
exception raised by the unit is not (it would recur) and reaches the caller unchanged.

Ray 2.60 replaces 127.0.0.1 by the machine's own address for its processes; nothing leaves
this machine. The module takes ~30-60 s on 2 cores (cluster start ~5 s, a driver subprocess).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason='the Ray backend needs the [ray] extra: pip install "tailmem[ray]"')

from subset_helpers import SMALL  # noqa: E402

from simulations.backends import Backend, map_batches  # noqa: E402
from simulations.backends.ray_tasks import WINDOW_FACTOR, window  # noqa: E402
from simulations.experiment import Context  # noqa: E402
from simulations.experiments.memorization import Memorization  # noqa: E402
from simulations.experiments.memorization import run as run_mem  # noqa: E402
from simulations.experiments.removal import Removal  # noqa: E402
from simulations.experiments.removal import run as run_removal  # noqa: E402
from simulations.store import ModelStore  # noqa: E402
from simulations.training.problem import (  # noqa: E402
    SubsetTraining,
    prepare,
    store_folder,
    subset_run,
    training_config,
)
from simulations.training.subsets import train_batch, train_into_store  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _quiet(_msg):
    pass


@pytest.fixture(scope="module")
def cluster():
    """A Ray cluster of 2 CPUs on this machine for the module; yields its address."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_killed_driver_resumes_to_the_local_estimates(cluster, tmp_path):
    # 1. `tailmem run memorization --backend ray` in a subprocess, killed once a batch is stored
    big = {**SMALL, "models": 48, "epochs": 4}  # 6 batches: the kill comes long before the end
    sets = []
    for k, v in big.items():
        sets += ["--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"]
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "simulations.cli", "run", "memorization", "--out", str(out),
           "--backend", "ray", "--ray-address", cluster, *sets]  # fmt: skip
    folder = store_folder(SubsetTraining(**big), out, data=prepare(SubsetTraining(**big)).fingerprint)
    with open(tmp_path / "driver.log", "w") as log:
        driver = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not list(folder.glob("batch-*.npz")):
            assert driver.poll() is None, (tmp_path / "driver.log").read_text()
            assert time.monotonic() < deadline, "no batch stored within 120 s"
            time.sleep(0.02)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    stored = len(list(folder.glob("batch-*.npz")))
    assert 1 <= stored < 6 and not (out / "memorization").exists()
    # 2. the re-run on Ray resumes the same store; its estimates equal an uninterrupted local run's
    lines = []
    sr = subset_run(Memorization(**big, backend="ray"), out, log=lines.append)
    assert f"{8 * stored} of 48 models already trained" in lines[0]
    assert sr.trained_now == 48 - 8 * stored
    res_ray, arr_ray = run_mem(Memorization(**big, backend="ray"), Context(workdir=out))
    res_loc, arr_loc = run_mem(Memorization(**big), Context(workdir=tmp_path / "local"))
    assert res_ray["trained_now"] == 0  # the second call read the store
    for key in ("mem", "mem_se", "heldout", "top_index"):
        np.testing.assert_array_equal(arr_ray[key], arr_loc[key])
    assert res_ray["test_accuracy"] == res_loc["test_accuracy"]


def test_removal_retraining_on_ray_equals_local(cluster, tmp_path):
    # both many-model paths of removal (subset models, then R models per condition) on Ray
    cfg = Removal(**SMALL, thresholds=(0.1,), retrain_models=4)
    res_loc, arr_loc = run_removal(cfg, Context(workdir=tmp_path / "local"))
    res_ray, arr_ray = run_removal(dataclasses.replace(cfg, backend="ray"), Context(workdir=tmp_path / "ray"))
    assert res_ray["retrained_now"] == 12  # full + memorized + random, R = 4 each
    np.testing.assert_array_equal(arr_ray["mem"], arr_loc["mem"])
    np.testing.assert_array_equal(arr_ray["retrain_accuracy"], arr_loc["retrain_accuracy"])
    assert res_ray["conditions"] == res_loc["conditions"]


def _killer(marks: Path, victim: int):
    """The work unit, except that its first attempt at batch ``victim`` kills its own worker."""

    def unit(problem, models, masks, seeds):
        if models[0] == victim:
            first = marks / "killed"
            if not first.exists():
                first.touch()
                os._exit(1)  # the worker process dies: no exception, no result
            (marks / "retried").touch()
        return train_batch(problem, models, masks, seeds)

    return unit


def test_killed_worker_is_retried_and_a_local_store_resumes_on_ray(cluster, tmp_path):
    cfg = SubsetTraining(**SMALL)
    whole = subset_run(cfg, tmp_path / "local", log=_quiet)

    class Stop(BaseException):
        pass

    def stop_after_first_batch(msg):
        raise Stop

    with pytest.raises(Stop):  # a local run stopped after its first batch (models 0..7)
        subset_run(cfg, tmp_path / "mixed", log=stop_after_first_batch)
    p = prepare(cfg)
    store_dir = store_folder(cfg, tmp_path / "mixed", data=p.fingerprint)
    assert [f.name for f in store_dir.glob("batch-*.npz")] == ["batch-000000-000008.npz"]
    # the store as subset_run opens it; batches [8, 16) and [16, 24) go to Ray, [16, 24) is killed once
    config = {**training_config(cfg), "data": p.fingerprint}
    store = ModelStore(store_dir, config, whole.masks, whole.seeds, n_test=len(p.y_test))
    trained = train_into_store(
        store, p.spec, p.x_train, p.y_train, p.x_test, p.y_test, models_per_batch=8, epochs=2,
        batch_size=64, lr=0.1, momentum=0.9, weight_decay=0.0, backend=Backend("ray", max_retries=2),
        unit=_killer(tmp_path, victim=16),
    )  # fmt: skip
    assert trained == 16
    assert (tmp_path / "killed").exists() and (tmp_path / "retried").exists()
    _, ct, cs = store.load()
    np.testing.assert_array_equal(ct, whole.correct_train)
    np.testing.assert_array_equal(cs, whole.correct_test)


def test_unit_error_reaches_the_caller_and_is_not_retried(cluster, tmp_path):
    def failing(shared, i):
        (tmp_path / f"attempt-{i}-{os.getpid()}-{time.monotonic_ns()}").touch()
        raise ValueError(f"lr: bad value in unit {i}")

    with pytest.raises(ValueError, match="^lr: bad value in unit 0$"):
        map_batches(failing, None, [(0, (0,))], _quiet, backend=Backend("ray", max_retries=3))
    assert len(list(tmp_path.glob("attempt-0-*"))) == 1


def test_request_no_node_can_meet_is_refused_before_submitting(cluster):
    with pytest.raises(ValueError, match=r"^ray_cpus, ray_gpus: no node .* has 64 CPUs and 0 GPUs"):
        map_batches(train_batch, None, [(0, ())], _quiet, backend=Backend("ray", cpus=64))


def test_worker_dying_beyond_the_retries_stops_the_map_with_one_error(cluster, tmp_path):
    def always_dies(shared, i):
        (tmp_path / f"attempt-{time.monotonic_ns()}").touch()
        os._exit(1)

    with pytest.raises(
        ChildProcessError, match=r"^Ray task for 7 failed 2 times \(.*Error\).*run again to resume$"
    ):
        map_batches(always_dies, None, [(7, (7,))], _quiet, backend=Backend("ray", max_retries=1))
    assert len(list(tmp_path.glob("attempt-*"))) == 2  # the first run and one retry


def test_a_failed_map_cancels_nothing_and_leaves_no_queued_work(cluster, tmp_path, monkeypatch):
    # Ray 2.60 aborts the driver (task_manager.cc:1329 "Tried to complete task that was not
    # pending") when ray.cancel races a task's completion: the map must never call it. Instead
    # at most window() tasks are in flight, so after unit 0 fails the other 39 are not all run.
    def cancel(*args, **kwargs):
        raise AssertionError("ray.cancel called")

    monkeypatch.setattr(ray, "cancel", cancel)

    def slow_then_fail(shared, i):
        (tmp_path / f"attempt-{i}").touch()
        if i == 0:
            raise ValueError("unit 0 fails")
        time.sleep(1.0)
        return i

    backend = Backend("ray")
    limit = window(ray, backend)
    assert limit == WINDOW_FACTOR * 2  # the 2-CPU cluster, one CPU per task
    collected = []
    with pytest.raises(ValueError, match="^unit 0 fails$"):
        items = [(i, (i,)) for i in range(40)]
        map_batches(slow_then_fail, None, items, lambda k, r: collected.append(k), backend=backend)
    time.sleep(2.5)  # let the tasks in flight finish; none beyond them may start
    # each task collected before the failure let one more in: at most limit + collected ever ran
    assert 1 <= len(list(tmp_path.glob("attempt-*"))) <= limit + len(collected) < 40


def test_the_window_keeps_order_free_results_complete(cluster):
    # more items than the window: every key's result arrives exactly once
    def square(shared, i):  # a closure: Ray pickles it by value (the test module is not importable there)
        return i * i

    got = {}
    map_batches(square, None, [(i, (i,)) for i in range(25)], got.__setitem__, backend=Backend("ray"))
    assert got == {i: i * i for i in range(25)}


@pytest.mark.slow
def test_ray_benchmark_runs_and_finds_identical_results():
    # its own clusters (1 then 2 CPUs), so in a fresh process; ~1 min on 2 idle cores
    p = subprocess.run(
        [sys.executable, "-m", "simulations.cli", "benchmark", "ray",
         "--ray-models", "48", "--ray-tasks", "2", "--ray-epochs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "scaling efficiency" in p.stdout and "overhead of Ray" in p.stdout
    assert "results identical across the five runs: yes" in p.stdout
