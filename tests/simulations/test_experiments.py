"""Experiment registry, config overrides and the feldman-examples experiment at toy size."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import theory
from simulations.experiments import apply_overrides, get, make_config, names
from simulations.experiments.feldman_examples import FeldmanExamples, run  # noqa: F401
from simulations.results import atomic_write_json, replace_dir


def test_registry_and_quick_config():
    assert "feldman-examples" in names()
    exp = get("feldman-examples")
    cfg = make_config(exp, quick=True, overrides=["exponents=0.5,1.5", "ratio_max=10"])
    assert cfg.exponents == (0.5, 1.5) and cfg.ratio_max == 10.0 and cfg.num_ratios == 13
    with pytest.raises(ValueError, match="unknown experiment"):
        get("nope")


def test_overrides_typed_and_validated():
    cfg = FeldmanExamples()
    assert apply_overrides(cfg, ["N=1e3"]).N == 1000
    with pytest.raises(ValueError, match="N"):
        apply_overrides(cfg, ["N=1.5"])
    with pytest.raises(ValueError, match="valid fields"):
        apply_overrides(cfg, ["nope=1"])
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        apply_overrides(cfg, ["N"])
    with pytest.raises(ValueError, match="ratio_max"):
        apply_overrides(cfg, ["ratio_max=0.001"])


def test_feldman_examples_toy_size_matches_published_and_theory():
    cfg = FeldmanExamples(sweep_N=500, num_ratios=4, exponents=(1.0,))
    results, arrays = run(cfg)
    # the published tables do not depend on the sweep size
    assert results["all_match"]
    assert all(r["matches"] for r in results["main_table"])
    # the sweep equals direct calls to theory (same numbers, independently assembled)
    for b, n in enumerate(arrays["n"]):
        np.testing.assert_allclose(
            arrays["tau1_times_n"][0, b], theory.tau(theory.zipf(500), int(n)) * n, rtol=1e-12
        )
    assert (arrays["tail_bound_times_n"] <= arrays["tau1_times_n"] + 1e-15).all()


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        FeldmanExamples().N = 3  # type: ignore[misc]


def test_atomic_helpers(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"x": np.float64(1.5), "y": np.arange(3)})
    assert (tmp_path / "a.json").read_text().strip().startswith("{")
    with pytest.raises(TypeError):  # unserialisable: fails before anything is written
        atomic_write_json(tmp_path / "b.json", {"x": object()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    built = tmp_path / "built"
    built.mkdir()
    (built / "f").write_text("new")
    target = tmp_path / "target"
    target.mkdir()
    (target / "f").write_text("old")
    replace_dir(built, target)
    assert (target / "f").read_text() == "new" and not built.exists()


def test_reproduce_skips_an_unavailable_experiment_and_says_why(tmp_path, monkeypatch):
    import io
    from dataclasses import dataclass

    import simulations.runner as runner
    from simulations.experiments import Experiment

    @dataclass(frozen=True)
    class Cfg:
        data_dir: str = ""
        seed: int = 0

    ran = []

    def run(cfg, ctx):
        ran.append(cfg)
        return {"x": 1}, {}

    def exp(name, reason):
        return Experiment(
            name=name,
            title=name.upper(),
            config=Cfg,
            run=run,
            plot=lambda r, a, f: [],
            report=lambda r, c: "body",
            unavailable=lambda cfg: reason,
        )

    fake = {"a-ok": exp("a-ok", None), "b-missing": exp("b-missing", "needs MNIST: mnist/ not found")}
    monkeypatch.setattr(runner, "names", lambda: sorted(fake))
    monkeypatch.setattr(runner, "get", fake.__getitem__)
    log = io.StringIO()
    report = runner.reproduce(tmp_path, quick=True, log=log).read_text()
    assert len(ran) == 1 and (tmp_path / "a-ok" / "results.json").is_file()
    assert not (tmp_path / "b-missing").exists()
    assert "[reproduce] b-missing skipped: needs MNIST: mnist/ not found" in log.getvalue()
    assert "`b-missing` was skipped: needs MNIST: mnist/ not found" in report


def test_reproduce_passes_the_backend_only_to_experiments_that_train_models(tmp_path, monkeypatch):
    import io
    from dataclasses import dataclass

    import simulations.runner as runner
    from simulations.experiments import Experiment

    @dataclass(frozen=True)
    class Plain:
        seed: int = 0

    @dataclass(frozen=True)
    class Trains:
        backend: str = "local"
        ray_address: str = ""

    seen = {}

    def make(name, config):
        def run(cfg, ctx):
            seen[name] = cfg
            return {}, {}

        return Experiment(
            name=name, title=name, config=config, run=run, plot=lambda r, a, f: [], report=lambda r, c: ""
        )

    fake = {"plain": make("plain", Plain), "trains": make("trains", Trains)}
    monkeypatch.setattr(runner, "names", lambda: sorted(fake))
    monkeypatch.setattr(runner, "get", fake.__getitem__)
    runner.reproduce(tmp_path, quick=True, placement=["backend=ray", "ray_address=auto"], log=io.StringIO())
    assert seen["trains"] == Trains("ray", "auto") and seen["plain"] == Plain()
    cmd = json.loads((tmp_path / "trains" / "results.json").read_text())["command"]
    assert cmd.endswith("--backend ray --ray-address auto")
    assert "--backend" not in json.loads((tmp_path / "plain" / "results.json").read_text())["command"]
