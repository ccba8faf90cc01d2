"""Experiment ``cscores``: its head counts, its refusals, and one small run on the shared CIFAR-10.

The run's contract (kill and resume, redraw) is tested for every experiment in
test_experiment_contract.py; here what is particular to this one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simulations.cli import main
from simulations.experiments.cscores import CScores

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_other_ratios_hold_each_example_out_heldout_models_times():
    cfg = CScores(models=2000, heldout_models=150)
    assert cfg.models_at(0.7) == 2000
    for r in (0.1, 0.5, 0.9):
        t = cfg.models_at(r)
        assert t * (1 - r) >= 150 - 1e-9 > (t - 1) * (1 - r)  # the fewest heads holding 150 out on average
    assert cfg.models_at(0.9) == 1500 and cfg.models_at(0.5) == 300


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("ratios=", "ratios must be a non-empty tuple"),
        ("ratios=0.3,0.3", "ratios must be distinct"),
        ("removal_fractions=0.6", "removal_fractions entry"),
        ("components=0", "components"),
        ("train_size=50", "train_size must be 0"),
    ],  # fmt: skip
)
def test_bad_settings_name_the_field(tmp_path, capsys, setting, needle):
    assert main(["run", "cscores", "--quick", "--out", str(tmp_path), "--set", setting]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_run_beyond_memory_is_refused_before_reading_data(tmp_path, capsys):
    rc = main(
        ["run", "cscores", "--out", str(tmp_path), "--data-dir", str(tmp_path), "--set", "models=1000000"]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "models: 1,000,000 heads" in err[0] and "GiB available" in err[0]
    assert not any(p.name != ".cscores.partial" for p in tmp_path.iterdir())
    assert not any(tmp_path.rglob("*.npz"))


def test_small_run_on_the_shared_cifar10(tmp_path):
    if not (DATA / "cifar10").is_dir() or not (DATA / "cscores").is_dir():
        pytest.skip(f"shared CIFAR-10 and C-scores not found under {DATA}")
    sets = ["train_size=600", "test_size=200", "components=32", "models=40", "heldout_models=10", "piece=20",
            "bootstrap=50", "speed_epochs=3", f"cache={tmp_path / 'cache'}"]  # fmt: skip
    args = ["run", "cscores", "--quick", "--out", str(tmp_path / "r"), "--data-dir", str(DATA)]
    assert main([*args, *(x for s in sets for x in ("--set", s))]) == 0
    doc = json.loads((tmp_path / "r" / "cscores" / "results.json").read_text())
    res = doc["results"]
    assert res["n_train"] == 600 and res["n_test"] == 200
    assert res["models_by_ratio"] == {f"{r / 10:g}": CScores(models=40, heldout_models=10).models_at(r / 10)
                                      for r in range(1, 10)}  # fmt: skip
    a = np.load(tmp_path / "r" / "cscores" / "arrays.npz", allow_pickle=False)
    released = np.load(DATA / "cscores" / "cifar10-cscores-orig-order.npz", allow_pickle=False)["scores"]
    assert np.array_equal(a["cscore"], released[a["train_index"]])  # the released scores of these images
    # each Spearman is the one of the saved arrays, inside its bootstrap interval
    import scipy.stats

    for name, agree in res["agreement"].items():
        rho = scipy.stats.spearmanr(a[f"estimate_{name}"], a["cscore"], nan_policy="omit").statistic
        assert agree["all"]["rho"] == pytest.approx(rho, abs=1e-12)
        lo, hi = agree["all"]["ci95"]
        assert lo <= rho <= hi and agree["cost_seconds"] >= 0
    # the averaged estimate is the mean of the per-ratio held-out means (soft correctness in [0, 1])
    est = a["estimate_heldout_soft_averaged"]
    assert np.all((est >= 0) & (est <= 1))
    assert res["removal"]["draws"] == 8 and len(a["removal_random"]) == len(res["removal"]["rows"])
