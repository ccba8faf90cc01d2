"""The backend choice without Ray: validation, the local map, the work unit, the CLI flags.

Expected values come from the contracts of :mod:`simulations.backends` and
:mod:`simulations.training.subsets`: the local map calls the unit once per item in order; the
work unit is pure and trains a batch exactly as a whole local run does (same batch boundaries,
same groups); where and how models are trained never enters the store's hash. The Ray backend
itself is tested in test_ray_backend.py (needs the ``[ray]`` extra).
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest
from subset_helpers import SMALL

from simulations.backends import LOCAL, Backend, map_batches
from simulations.cli import main
from simulations.training.problem import (
    PLACEMENT_FIELDS,
    TRAINING_FIELDS,
    SubsetTraining,
    prepare,
    store_folder,
    subset_run,
    training_config,
)
from simulations.training.subsets import train_batch


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"name": "spark"}, "backend must be one of local, ray; got 'spark'"),
        ({"address": "auto"}, "ray_address: only with backend 'ray'"),
        ({"cpus": 2}, "ray_cpus, ray_gpus: only with backend 'ray'"),
        ({"gpus": 0.5}, "ray_cpus, ray_gpus: only with backend 'ray'"),
        ({"cpus": 0}, "ray_cpus must be an integer in [1, 1024]; got 0"),
        ({"gpus": -1.0}, "ray_gpus must be a finite number in [0, 64]"),
        ({"max_retries": -1}, "max_retries must be an integer in [0, 100]"),
    ],
)
def test_bad_backend_is_refused_naming_the_field(kwargs, needle):
    with pytest.raises(ValueError) as exc:
        Backend(**kwargs)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"backend": "spark"}, "backend must be one of local, ray"),
        ({"ray_address": "auto"}, "ray_address: only with backend 'ray'"),
        ({"ray_cpus": 4}, "ray_cpus, ray_gpus: only with backend 'ray'"),
        ({"ray_gpus": 0.5}, "ray_gpus: only with backend 'ray'"),
    ],
)
def test_bad_placement_in_a_config_is_refused(change, needle):
    with pytest.raises(ValueError, match=needle):
        SubsetTraining(**SMALL, **change)


def test_ray_missing_gives_the_install_command(monkeypatch):
    # sys.modules["ray"] = None makes both find_spec and `import ray` see no Ray
    monkeypatch.setitem(sys.modules, "ray", None)
    from simulations.backends.ray_tasks import import_ray

    for make in (lambda: SubsetTraining(**SMALL, backend="ray"), lambda: Backend("ray"), import_ray):
        with pytest.raises(ValueError, match=r'^backend: .ray. needs Ray.*pip install "tailmem\[ray\]"$'):
            make()
    SubsetTraining(**SMALL)  # local needs no Ray


def test_placement_fields_leave_the_store_hash_alone(monkeypatch):
    # a store begun on one backend must be found, and accepted, by the other
    monkeypatch.setattr("simulations.backends.batches.ray_installed", lambda: True)
    assert not set(PLACEMENT_FIELDS) & set(TRAINING_FIELDS)
    names = {f.name for f in dataclasses.fields(SubsetTraining)}
    assert names == set(PLACEMENT_FIELDS) | set(TRAINING_FIELDS)
    local = SubsetTraining(**SMALL)
    ray = SubsetTraining(**SMALL, backend="ray", ray_address="ray://head:10001", ray_cpus=4, ray_gpus=0.25)
    assert training_config(local) == training_config(ray)
    assert store_folder(local, "w", data="d") == store_folder(ray, "w", data="d")
    seed1 = dataclasses.replace(local, seed=1)
    assert store_folder(local, "w", data="d") != store_folder(seed1, "w", data="d")
    assert store_folder(local, "w", data="d") != store_folder(local, "w", data="e")


def test_local_map_calls_the_unit_in_order_on_the_driver():
    seen = []
    map_batches(lambda shared, a, b: shared * (a + b), 10, [("x", (1, 2)), ("y", (3, 4))],
                lambda key, r: seen.append((key, r)), backend=LOCAL)  # fmt: skip
    assert seen == [("x", 30), ("y", 70)]
    with pytest.raises(ValueError, match="backend must be a simulations.backends.Backend"):
        map_batches(lambda s: s, 0, [], print, backend="local")


def test_work_unit_is_pure_and_equals_the_batch_of_a_whole_run(tmp_path):
    # the unit trains models [8, 16) exactly as the local run's second batch: same results bit for bit
    cfg = SubsetTraining(**SMALL)
    whole = subset_run(cfg, tmp_path, log=lambda _m: None)
    p = prepare(cfg)
    problem = {
        "spec": p.spec, "x": p.x_train, "y": p.y_train, "x_test": p.x_test, "y_test": p.y_test,
        "hyper": {"epochs": 2, "batch_size": 64, "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0,
                  "device": "cpu"},
    }  # fmt: skip
    args = ((8, 16), whole.masks[8:16], whole.seeds[8:16])
    first = train_batch(problem, *args)
    ro = [a.copy() for a in args[1:]]
    for a in ro:
        a.flags.writeable = False  # as Ray hands arrays to a task; the unit must accept them
    again = train_batch(problem, (8, 16), *ro)
    assert first[:2] == again[:2] == (8, 16)
    for got in (first, again):
        np.testing.assert_array_equal(got[2], whole.correct_train[8:16])
        np.testing.assert_array_equal(got[3], whole.correct_test[8:16])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--backend", "spark"], "argument --backend: invalid choice: 'spark'"),
        (["--set", "backend=spark"], "backend must be one of local, ray; got 'spark'"),
        (["--ray-address", "auto"], "ray_address: only with backend 'ray'; got 'auto'"),
    ],
)
def test_cli_bad_backend_exits_2_with_one_line(tmp_path, capsys, args, needle):
    argv = ["run", "memorization", "--quick", "--out", str(tmp_path), *args]
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "memorization").exists()


def test_cli_backend_on_an_experiment_without_models_exits_2(tmp_path, capsys):
    assert main(["run", "feldman-bound", "--quick", "--out", str(tmp_path), "--backend", "local"]) == 2
    err = capsys.readouterr().err
    assert "--backend, --ray-address: experiment feldman-bound trains no models" in err
    assert err.count("\n") == 1


def test_cli_ray_benchmark_checks_its_sizes(capsys):
    assert main(["benchmark", "ray", "--ray-models", "8", "--ray-tasks", "9"]) == 2
    assert "--ray-tasks must be an integer in [2, 8]; got 9" in capsys.readouterr().err
