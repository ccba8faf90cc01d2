"""Experiment composition-linear at toy size: structure, guaranteed invariants, figures from saved
results, one-line CLI errors for bad values, and identical results after resuming a killed run."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from simulations.cli import main
from simulations.experiments import composition_linear as cl
from simulations.experiments import get
from simulations.plots.composition import composition_linear_figures
from simulations.results import read_npz

# a guard against a hung subprocess only, ~10x the slowest quiet run: load cannot break it
HANG_GUARD_S = 1800

TOY_SET = [
    "n=40",
    "d=300",
    "alpha=2",
    "alphas=1,2,3",
    "sigmas=0,0.05",
    "ns=20,40",
    "ds=150,300",
    "ss=2,5",
    "ridge_lams=0.1,10",
    "ood_points=30",
    "max_count=4",
    "runs=4",
]
TOY = cl.CompositionLinear(
    n=40,
    d=300,
    alpha=2.0,
    alphas=(1.0, 2.0, 3.0),
    sigmas=(0.0, 0.05),
    ns=(20, 40),
    ds=(150, 300),
    ss=(2.0, 5.0),
    ridge_lams=(0.1, 10.0),
    ood_points=30,
    max_count=4,
    runs=4,
)


@pytest.fixture(scope="module")
def toy():
    return cl.run(TOY)


def _args(out, extra=()):
    return ["run", "composition-linear", "--quick", "--out", str(out)] + [
        a for o in [*TOY_SET, *extra] for a in ("--set", o)
    ]


def test_points_are_deduplicated_and_sweeps_complete():
    pts, sweeps = cl.points(TOY)
    keys = [p["key"] for p in pts]
    assert len(keys) == len(set(keys))
    # alpha sweep 3 x 2 sigmas, plus n = 20, d = 150, s = 2 (the others coincide with the main point)
    assert len(pts) == 6 + 3
    assert sweeps["main"] == ["a2-n40-d300-s5-sig0", "a2-n40-d300-s5-sig0p05"]
    assert set(sweeps["alpha"]) == {"0", "0.05"} and all(len(v) == 3 for v in sweeps["alpha"].values())
    for tag in ("n", "d", "s"):
        assert len(sweeps[tag]) == 2 and set(sweeps[tag]) <= set(keys)


def test_result_structure_and_invariants(toy):
    results, arrays = toy
    assert results["learners"] == ["min-norm", "ridge lam=0.1", "ridge lam=10"]
    P, L, R = len(results["points"]), 3, 4
    assert arrays["run_id"].shape == (P, L, R) and arrays["point_params"].shape == (P, 5)
    for r in results["points"]:
        assert r["k"] >= 0 and 0 < r["mean_active"] <= r["s"] + 1e-12
        for name, m in r["learners"].items():
            for q in ("id", "id_head", "id_tail_seen", "id_tail_unseen"):
                assert m[q]["mean"] >= 0, (r["key"], name, q)
            parts = m["id_head"]["mean"] + m["id_tail_seen"]["mean"] + m["id_tail_unseen"]["mean"]
            assert parts == pytest.approx(m["id"]["mean"], rel=1e-12)
            for key in ("recovered_tail_seen", "ood_seen_all_recovered"):
                assert m[key]["mean"] is None or 0.0 <= m[key]["mean"] <= 1.0
            assert len(m["by_count"]["all"]["err"]) == TOY.max_count + 2
        mn = r["learners"]["min-norm"]
        # guaranteed: gradient descent's closed form at the certified step count is within gd_tol
        assert r["gd"]["rel_dist_max"] <= TOY.gd_tol
        # unseen features keep coefficient 0 under min-norm: error = beta*_i exactly in bin 0
        if r["features_by_count"]["all"][0] > 0:
            assert mn["by_count"]["all"]["recovered"][0] == 0.0
        if r["sigma"] == 0.0:
            assert mn["interpolating_runs"] == 1.0  # noiseless data always has an interpolant
    assert results["fit"]["constant"] is not None and results["fit"]["points"]
    assert all(results["points"][0]["learners"][m]["ood_unseen"]["mean"] > 0 for m in results["learners"])


def test_points_are_pure_and_sigma_points_share_designs():
    a = cl.point_arrays(TOY, 2.0, 40, 300, 5.0, 0.0)
    b = cl.point_arrays(TOY, 2.0, 40, 300, 5.0, 0.0)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    c = cl.point_arrays(TOY, 2.0, 40, 300, 5.0, 0.05)
    # the same designs and test points: counts, Gram ranks and unseen parts agree exactly
    for k in ("feat_all", "rank", "ood_points_once", "tail_ge2"):
        np.testing.assert_array_equal(a[k], c[k])
    np.testing.assert_array_equal(a["ood_unseen"][0], c["ood_unseen"][0])  # unseen stay 0 in both


@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("alpha", "-1", "alpha must be a finite number in (0, 10]; got -1.0"),
        ("alphas", "1,0", "alphas must be a finite number in (0, 10]"),
        ("s", "0", "s must be a finite number in (0, 2000]"),
        ("d", "0", "d must be an integer in [1, 1000000]"),
        ("n", "0", "n must be an integer in [1, 10000]"),
        ("sigmas", "-0.1", "sigmas must be a finite number in [0, 1000]"),
        ("runs", "1", "runs must be an integer in [2, 10000]"),
        ("alpha", "abc", "alpha: cannot read 'abc' as float"),
    ],
)
def test_cli_bad_value_is_one_line_and_exit_2(tmp_path, capsys, field, value, needle):
    args = ["run", "composition-linear", "--quick", "--out", str(tmp_path), "--set", f"{field}={value}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
    assert not (tmp_path / "composition-linear").exists()


def test_cli_bad_alpha_from_the_shell(tmp_path):
    # the same through `python -m simulations.cli` (the installed `tailmem` runs this main)
    p = subprocess.run(
        [sys.executable, "-m", "simulations.cli", "run", "composition-linear", "--quick", "--out",
         str(tmp_path), "--set", "alpha=0"],
        capture_output=True, text=True, timeout=HANG_GUARD_S,
    )  # fmt: skip
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == "tailmem: error: alpha must be a finite number in (0, 10]; got 0.0\n"


def test_bad_config_raises_value_error_naming_the_field():
    with pytest.raises(ValueError, match=r"ood_size must be an integer in \[2, 16\]"):
        dataclasses.replace(TOY, ood_size=1)
    with pytest.raises(ValueError, match="ds: every d must be at least s"):
        dataclasses.replace(TOY, ds=(3,))
    with pytest.raises(ValueError, match="ridge_lams: need at least one value"):
        dataclasses.replace(TOY, ridge_lams=())
    with pytest.raises(ValueError, match=r"alphas: values must differ in their first 6 significant digits"):
        dataclasses.replace(TOY, alphas=(2.0, 2.0000001))  # both would be the sweep point "a2"


def test_cli_run_writes_results_and_figures_from_saved_data(tmp_path):
    assert main(_args(tmp_path)) == 0
    folder = tmp_path / "composition-linear"
    doc = json.loads((folder / "results.json").read_text())
    assert doc["experiment"] == "composition-linear" and doc["config"]["runs"] == 4
    assert doc["results"]["points"]
    for point in doc["results"]["points"]:
        # every Monte Carlo mean carries its SE: feature counts over runs, the interpolating fraction
        assert len(point["features_by_count_se"]["tail"]) == len(point["features_by_count"]["tail"])
        mn = point["learners"]["min-norm"]
        p = mn["interpolating_runs"]
        assert mn["interpolating_runs_se"] == pytest.approx((p * (1 - p) / 4) ** 0.5)
    assert len(doc["figures"]) == 3
    for f in doc["figures"]:
        assert (folder / f).stat().st_size > 10_000
    redo = tmp_path / "redo"
    redo.mkdir()
    names = composition_linear_figures(doc["results"], read_npz(folder / "arrays.npz"), redo)
    assert names == doc["figures"] and all((redo / f).stat().st_size > 10_000 for f in names)
    text = get("composition-linear").report(doc["results"], cl.CompositionLinear())
    assert "| min-norm |" in text and "FITTED" not in text and "fitted constant C" in text
