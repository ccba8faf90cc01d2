"""docs/experiments.md's recipe "Adding an experiment", run as written: the module it shows
registers, runs through the runner with a checkpoint, records its streams and writes its report."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from simulations import experiment as experiment_module
from simulations.experiments import get, make_config
from simulations.runner import run_experiment

DOC = Path(__file__).resolve().parents[2] / "docs" / "experiments.md"


def _recipe() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Adding an experiment", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def my_effect(monkeypatch):
    module = types.ModuleType("docs_recipe_my_effect")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(_recipe(), str(DOC), "exec"), module.__dict__)  # the doc's own code, as a module
    spec = experiment_module._SPECS["my-effect"]
    spec.funcs["plot"] = lambda results, arrays, folder: []  # its plot module is the reader's to write
    yield get("my-effect")
    del experiment_module._SPECS["my-effect"]


def test_the_recipe_runs_as_written(my_effect, tmp_path):
    cfg = make_config(my_effect, quick=True)
    assert cfg.trials == 20
    doc, _ = run_experiment(my_effect, cfg, tmp_path / "my-effect", command="test", progress=False)
    mean = doc["results"]["mean"]
    assert mean["count"] == 20 and abs(mean["mean"]) < 5 * mean["se"]  # N(0, 1) draws: mean 0
    assert set(doc["streams"]) == {f"trial t={t}" for t in range(20)}
    report = my_effect.report(doc["results"], cfg)
    assert report.splitlines()[:2] == ["| quantity | mean ± SE over 20 trials |", "| --- | --- |"]
    with pytest.raises(ValueError, match="trials"):
        make_config(my_effect, quick=False, overrides={"trials": 1})
