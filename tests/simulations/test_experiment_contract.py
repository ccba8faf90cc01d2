"""The experiment contract, for every registered experiment at a tiny size.

One test per experiment checks what the contract of :mod:`simulations.experiment` promises:
the run writes results, arrays and figures, and records exactly the spawned streams it draws
(the ``ctx.stream`` ones are recorded by the call that draws them);
``tailmem redraw`` rebuilds the same figures and
changes nothing else; a run killed after its first finished piece (a checkpoint piece or a
model-store batch) resumes to results equal, bit for bit, to the uninterrupted run's. Expected
values come from the uninterrupted run itself (the contract is an equality). Then the services:
named random streams, damaged pieces, errors on a re-run, and redraw's bad input.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from simulations import experiment as experiment_module
from simulations import runner
from simulations.cli import main
from simulations.experiment import Context, checkpoint_ident, spawned_stream, stream_seed
from simulations.experiments import get, make_config, names
from simulations.results import read_npz
from simulations.runner import redraw, run_experiment
from simulations.store import ModelStore

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# the tiny size of every experiment (on top of its --quick size); a new experiment must add one
SUBSETS = {"dataset": "digits", "train_size": 200, "hidden": (8,), "models": 16, "epochs": 1,
           "models_per_batch": 8, "batch_size": 64, "lr": 0.1}  # fmt: skip
NLP = {"train_size": 80, "dev_size": 40, "epochs": 1, "newton_steps": 2}
TINY = {
    "feldman-examples": {"sweep_N": 500, "num_ratios": 4, "exponents": (1.0,)},
    "feldman-bound": {
        "N": 200,
        "n": 200,
        "trials": 4,
        "batch_trials": 2,
        "ratios": (1.0,),
        "exponents": (1.0,),
        "gammas": (0.5,),
        "epsilons": (1.0,),
        "noises": (0.0,),
        "disparate_scale": 0.01,
        "learners": ("memorize-all", "fit-seen>=2", "keep-top-30"),
    },
    "gaussian-tail": {
        "N": 40,
        "n": 40,
        "dim": 60,
        "classes": 4,
        "scale": 0.03,
        "ridge_lams": (0.0, 1.0),
        "knn_ks": (1,),
        "logistic_Cs": (1.0,),
        "kernel_gammas": (1.0,),
        "mlp_weight_decays": (0.0,),
        "mlp_epochs": 3,
        "mlp_hidden": 8,
        "mlp_subsets": 4,
        "mlp_batch_size": 8,
        "trials": 2,
        "n_test": 100,
    },
    "gaussian-coupling": {
        "N": 30,
        "n": 30,
        "dim": 60,
        "classes": 4,
        "knn_ks": (1,),
        "ridge_lams": (0.0, 10.0),
        "kernel_gammas": (0.5,),
        "logistic_Cs": (1.0,),
        "mlp_weight_decays": (0.0, 0.03),
        "mlp_epochs": (2, 4),
        "mlp_hidden": 8,
        "mlp_seeds": 2,
        "mlp_loo": 2,
        "mlp_batch_size": 8,
        "trials": 2,
        "n_test": 100,
    },
    "gaussian-dp": {
        "N": 30,
        "n": 60,
        "dim": 150,
        "classes": 4,
        "epsilons": (0.1, 10.0),
        "dp_draws": 2,
        "dpsgd_epsilons": (10.0,),
        "dpsgd_steps": 10,
        "ridge_lams": (0.0,),
        "logistic_Cs": (1.0,),
        "mult_edges": (1, 2, 4),
        "trials": 2,
        "n_test": 100,
    },
    "composition-linear": {
        "n": 40,
        "d": 300,
        "alpha": 2.0,
        "alphas": (2.0, 3.0),
        "sigmas": (0.0,),
        "ns": (40,),
        "ds": (300,),
        "ss": (5,),
        "ridge_lams": (1.0,),
        "ood_points": 20,
        "max_count": 4,
        "runs": 2,
    },
    "composition-nets": {
        "train_items": 60,
        "symbols": 4,
        "test_items": 20,
        "train_eval": 10,
        "archs": ("sum", "cross-channel"),
        "seeds": 2,
        "epochs": 1,
        "batch_size": 32,
        "channels": (2, 2),
        "hidden": 3,
        "head_hidden": 3,
    },
    "memorization": SUBSETS,
    "cscores": {"train_size": 300, "test_size": 60, "components": 16, "models": 16, "heldout_models": 4,
                "piece": 8, "ratios": (0.3, 0.7), "removal_fractions": (0.05,), "removal_draws": 2,
                "bootstrap": 20, "speed_epochs": 2, "neighbours": 5, "grid": 3},  # fmt: skip
    "removal": {**SUBSETS, "thresholds": (0.1,), "retrain_models": 2},
    "influence-pairs": {**SUBSETS, "retrain_models": 2},
    "nlp-memorization": {
        **NLP,
        "models": 36,
        "models_per_batch": 12,
        "bootstrap": 20,
        "loo_checks": 1,
        "lissa_examples": 1,
        "lissa_depth": 5,
        "top": 3,
    },
    "nlp-removal": {**NLP, "fractions": (0.2,), "retrain_seeds": 2},
    "nlp-attribution": {**NLP, "examples": 2, "html_examples": 1, "steps": 4, "random_draws": 2},
}
# experiments with no piece to resume from, and why
NOT_CHECKPOINTED = {
    "feldman-examples": "exact tables in seconds: nothing worth saving on the way",
    "nlp-attribution": "its one long piece, the full-data head and its Hessian, is kept in the store "
    "folder by simulations.nlp.problem.full_model and reused from there",
}


def test_every_experiment_has_a_tiny_size():
    assert sorted(TINY) == names()


def _config(name: str, out: Path):
    exp = get(name)
    fields = {f for f in exp.config.__dataclass_fields__}
    tiny = {k: v for k, v in TINY[name].items() if k in fields}
    assert tiny == TINY[name], f"TINY[{name!r}] names fields the config lacks: {set(TINY[name]) - fields}"
    over = dict(tiny)
    if "cache" in fields:
        over["cache"] = str(out / "cache")  # the nlp encoder states, shared by the runs below
    cfg = make_config(exp, quick=True, overrides=over, data_dir=str(DATA) if DATA.is_dir() else None)
    reason = exp.unavailable(cfg) if exp.unavailable is not None else None
    if reason:
        pytest.skip(f"{name}: {reason}")
    return exp, cfg


def _kill_after_first_piece(monkeypatch):
    """Make the run die (KeyboardInterrupt, as Ctrl-C) right after its first finished piece."""
    done = []
    real_cached, real_save = Context.cached, ModelStore.save

    def cached(self, key, compute, **kwargs):
        before = self.computed
        got = real_cached(self, key, compute, **kwargs)
        if self.computed > before:
            done.append(key)
            raise KeyboardInterrupt
        return got

    def save(self, *args, **kwargs):
        real_save(self, *args, **kwargs)
        done.append("store batch")
        raise KeyboardInterrupt

    monkeypatch.setattr(Context, "cached", cached)
    monkeypatch.setattr(ModelStore, "save", save)
    return done


def _spawned_streams(monkeypatch) -> tuple[set[str], set[str]]:
    """The names of the :func:`spawned_stream` streams the run draws from now on (every module that
    imported it draws through a recording copy) and of those it records (``Context.record_spawned``)."""
    drawn, recorded = set(), set()
    real, record = experiment_module.spawned_stream, Context.record_spawned

    def recording(seed, names, name):
        drawn.add(name)
        return real(seed, names, name)

    def recording_record(self, seed, names, used):
        recorded.update(used)
        return record(self, seed, names, used)

    for module in list(sys.modules.values()):
        if module is not experiment_module and getattr(module, "spawned_stream", None) is real:
            monkeypatch.setattr(module, "spawned_stream", recording)
    monkeypatch.setattr(Context, "record_spawned", recording_record)
    return drawn, recorded


# keys that describe the run rather than its results: how long it took, what it trained now
# and where its model stores are (each run of this test has its own folder)
RUN_FACTS = ("seconds", "per_second", "wall", "trained_now", "retrained_now", "store")


def _results(value):
    """``value`` without the run facts (at any depth)."""
    if isinstance(value, dict):
        return {k: _results(v) for k, v in value.items() if not any(f in k for f in RUN_FACTS)}
    if isinstance(value, list):
        return [_results(v) for v in value]
    return value


def _figures(folder: Path, doc: dict) -> dict[str, bytes]:
    return {f: (folder / f).read_bytes() for f in doc["figures"]}


# the nlp experiments load the encoder for each of the three runs (~20 s each on 2 busy cores);
# they run at toy size in tests/simulations/test_nlp_experiments.py by default, here with -m slow
SLOW = {"nlp-memorization", "nlp-removal", "nlp-attribution"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(TINY)]
)
def test_run_redraw_and_resume_after_a_kill(name, tmp_path, monkeypatch):
    exp, cfg = _config(name, tmp_path)
    clean = tmp_path / "clean" / name
    with monkeypatch.context() as m:
        drawn, recorded = _spawned_streams(m)
        doc, figures = run_experiment(exp, cfg, clean, command="test", progress=False)
    # the spawned streams recorded are exactly those drawn, and results.json holds them
    assert recorded == drawn and drawn <= set(doc["streams"]), (sorted(drawn), sorted(recorded))
    assert figures and all((clean / f).stat().st_size > 1000 for f in figures)
    # redraw: the same figure files, results.json untouched
    before_doc = (clean / "results.json").read_bytes()
    before_figs = _figures(clean, doc)
    for f in figures:
        (clean / f).unlink()
    assert redraw(clean) == [clean]
    assert (clean / "results.json").read_bytes() == before_doc
    assert _figures(clean, doc) == before_figs
    # a kill after the first finished piece, then the same run again
    killed = tmp_path / "killed" / name
    # the resumed run's results are compared; its figures are the same function of them (above),
    # so they are not drawn again
    monkeypatch.setattr(runner, "draw", lambda folder, exp=None: runner.read_results(folder)[0])
    with monkeypatch.context() as m:
        done = _kill_after_first_piece(m)
        if name in NOT_CHECKPOINTED:
            run_experiment(exp, cfg, killed, command="test", progress=False)
            assert done == [], f"{name} saves pieces: take it out of NOT_CHECKPOINTED"
            return
        with pytest.raises(KeyboardInterrupt):
            run_experiment(exp, cfg, killed, command="test", progress=False)
    assert len(done) == 1 and not killed.exists()
    again, _ = run_experiment(exp, cfg, killed, command="test", progress=False)
    assert json.dumps(_results(again["results"])) == json.dumps(_results(doc["results"]))
    assert again["streams"] == doc["streams"]
    a, b = read_npz(clean / "arrays.npz"), read_npz(killed / "arrays.npz")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not (killed.parent / f".{name}.partial").exists()


# ------------------------------------------------------------------------------ named streams
def test_a_stream_depends_on_its_name_and_parameters_only():
    # the same (seed, name, params) in any order of keyword arguments gives the same stream;
    # 2 and 2.0 name the same point; any other name, parameter or seed gives another stream
    a = stream_seed(7, "subsets", alpha=2, n=40).generate_state(4)
    assert np.array_equal(a, stream_seed(7, "subsets", n=40, alpha=2.0).generate_state(4))
    for other in (
        stream_seed(7, "subsets", alpha=3, n=40),
        stream_seed(7, "subset", alpha=2, n=40),
        stream_seed(8, "subsets", alpha=2, n=40),
        stream_seed(7, "subsets", alpha=2),
    ):
        assert not np.array_equal(a, other.generate_state(4))


def test_adding_a_sweep_point_changes_no_other_point():
    ctx = Context(seed=3)
    few = [ctx.rng("point", alpha=a).random() for a in (1.0, 2.0)]
    more = [ctx.rng("point", alpha=a).random() for a in (0.5, 1.0, 1.5, 2.0)]
    assert few == [more[1], more[3]]
    assert "point alpha=2" in ctx.streams


def test_a_spawned_stream_is_found_by_name_and_keeps_it_when_names_are_added():
    # the subset and NLP experiments' family: child names.index(name) of SeedSequence(seed)
    names = ("data", "subsets", "models")
    first = spawned_stream(11, names, "subsets").generate_state(4)
    assert np.array_equal(first, np.random.SeedSequence(11).spawn(3)[1].generate_state(4))
    assert np.array_equal(first, spawned_stream(11, (*names, "retraining"), "subsets").generate_state(4))
    assert not np.array_equal(first, spawned_stream(11, names, "models").generate_state(4))
    with pytest.raises(ValueError, match="^stream must be one of data, subsets, models; got 'subset'"):
        spawned_stream(11, names, "subset")
    ctx = Context(seed=11)
    ctx.record_spawned(11, names, ("subsets",))
    assert ctx.streams == {"subsets": {"spawn_key": [1]}}


# ------------------------------------------------------------------------------ pieces that survive
FB = ["--set", "trials=4", "--set", "batch_trials=2", "--set", "N=200", "--set", "n=200", "--set", "ratios=1",
      "--set", "exponents=1", "--set", "gammas=0.5", "--set", "epsilons=1", "--set", "noises=0",
      "--set", "disparate_scale=0.01", "--set", "learners=memorize-all,fit-seen>=2"]  # fmt: skip


def _fb(out: Path) -> int:
    return main(["run", "feldman-bound", "--quick", "--out", str(out), *FB])


def _killed_run(tmp_path, monkeypatch, after: int) -> Path:
    from simulations.experiments import feldman_bound

    real, calls = feldman_bound.simulate, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) > after:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(feldman_bound, "simulate", dying)
        assert _fb(tmp_path) == 130
    partial = tmp_path / ".feldman-bound.partial"
    assert len(list(partial.glob("point-*.json"))) == after
    return partial


def test_an_error_on_the_rerun_loses_no_finished_piece(tmp_path, monkeypatch, capsys):
    # 4 of 11 points saved, then the re-run cannot write (a full disk): the 4 stay
    partial = _killed_run(tmp_path, monkeypatch, after=4)
    saved = {p.name: p.read_bytes() for p in partial.iterdir()}
    import simulations.experiment as contract

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(contract, "atomic_savez", full_disk)
        m.setattr(contract, "atomic_write_json", full_disk)
        assert _fb(tmp_path) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "tailmem: error: [Errno 28] No space left on device"
    assert {p.name: p.read_bytes() for p in partial.iterdir()} == saved
    assert _fb(tmp_path) == 0 and not partial.exists()


def test_a_damaged_piece_is_named_and_only_it_is_recomputed(tmp_path, monkeypatch, capsys):
    clean = tmp_path / "clean"
    assert _fb(clean) == 0
    partial = _killed_run(tmp_path, monkeypatch, after=3)
    from simulations.experiments import feldman_bound

    one, two = feldman_bound.point_key("n/N=1"), feldman_bound.point_key("s=1")  # the 2nd and 3rd
    (partial / f"{one}.json").write_text('{"data": {"rows": [{"learner": "memor')  # truncated
    with np.load(partial / f"{two}.npz") as f:  # an edited array: the checksum catches it
        arrays = {k: f[k] for k in f.files}
    arrays["tau"] = arrays["tau"] * 2
    np.savez(partial / f"{two}.npz", **arrays)

    real, calls = feldman_bound.simulate, []
    monkeypatch.setattr(feldman_bound, "simulate", lambda *a, **k: calls.append(1) or real(*a, **k))
    capsys.readouterr()
    assert _fb(tmp_path) == 0
    err = capsys.readouterr().err
    assert f"checkpoint: {partial / (one + '.json')} is damaged (" in err and "recomputing that piece" in err
    assert f"{two}.npz does not match its checksum" in err
    assert len(calls) == 11 - 1  # the main point reused; the two damaged recomputed with the 8 never saved
    a = json.loads((clean / "feldman-bound" / "results.json").read_text())["results"]
    b = json.loads((tmp_path / "feldman-bound" / "results.json").read_text())["results"]
    assert a == b


def test_context_without_a_folder_still_gives_saved_forms():
    # no checkpoint folder: cached computes every time, and returns what a file would give back
    ctx = Context()
    data, arrays = ctx.cached("x", lambda: ({"t": (1, 2), "v": np.float64(0.5)}, {"a": [1, 2]}))
    assert data == {"t": [1, 2], "v": 0.5} and arrays["a"].dtype == np.int64
    with pytest.raises(ValueError, match="key"):
        Context(partial=Path("/nonexistent-never") / "p", ident={"config": {}}).cached(
            "a b", lambda: ({}, {})
        )


def test_partial_folder_of_other_code_is_refused(tmp_path):
    ident = checkpoint_ident("feldman-bound", make_config(get("feldman-bound"), quick=True))
    Context(partial=tmp_path / "p", ident=ident)
    with pytest.raises(ValueError, match=r"another configuration or code \(differs in git_revision\)"):
        Context(partial=tmp_path / "p", ident={**ident, "git_revision": "0" * 40})


# ------------------------------------------------------------------------------ redraw: bad input
@pytest.fixture(scope="module")
def results_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("redraw")
    assert main(["run", "feldman-examples", "--quick", "--out", str(out)] + ["--set", "sweep_N=500"]) == 0
    return out / "feldman-examples"


def _redraw_fails(folder, capsys) -> str:
    before = sorted((p.relative_to(folder.parent), p.stat().st_mtime_ns) for p in folder.parent.rglob("*"))
    assert main(["redraw", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (
        sorted((p.relative_to(folder.parent), p.stat().st_mtime_ns) for p in folder.parent.rglob("*"))
        == before
    )
    return err


def test_redraw_refuses_a_folder_without_results(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    assert "has no results.json; give a folder written by tailmem run" in _redraw_fails(
        tmp_path / "x", capsys
    )


def test_redraw_refuses_an_unknown_experiment_and_a_missing_array_file(results_folder, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(results_folder, bad)
    doc = json.loads((bad / "results.json").read_text())
    (bad / "results.json").write_text(json.dumps({**doc, "experiment": "feldman-exampels"}))
    assert "of unknown experiment 'feldman-exampels'" in _redraw_fails(bad, capsys)
    (bad / "results.json").write_text(json.dumps(doc))
    os.remove(bad / "arrays.npz")
    assert "arrays.npz is missing; re-run the experiment" in _redraw_fails(bad, capsys)
    (bad / "arrays.npz").write_bytes(b"PK\x03\x04 truncated")
    assert "arrays.npz: cannot be read" in _redraw_fails(bad, capsys)


def test_on_reuse_is_called_for_loaded_pieces_only(tmp_path):
    calls = []
    ident = {"config": {}}
    first = Context(partial=tmp_path / "p", ident=ident)
    first.cached("a", lambda: ({"x": 1}, {}), on_reuse=lambda: calls.append("a"))
    assert calls == []
    again = Context(partial=tmp_path / "p", ident=ident)
    assert again.cached("a", lambda: ({"x": 2}, {}), on_reuse=lambda: calls.append("a"))[0] == {"x": 1}
    assert calls == ["a"]


def test_every_named_plot_function_resolves_and_bad_names_are_refused():
    import importlib

    from simulations.experiment import figures_from

    for name in names():
        fn = get(name).plot
        if fn.__name__.startswith("figures_from("):
            path = fn.__name__[len("figures_from('") : -2]
            module, _, func = path.partition(":")
            assert callable(getattr(importlib.import_module(module), func)), path
    with pytest.raises(ValueError, match="module:function"):
        figures_from("simulations.plots.gaussian")


BAD_SETTING = {name: ("seed=-1", "seed must be") for name in names()}
BAD_SETTING["feldman-examples"] = ("sweep_N=1", "sweep_N")


@pytest.mark.parametrize("name", sorted(BAD_SETTING))
def test_a_bad_setting_exits_2_with_one_line_and_leaves_nothing(name, tmp_path, capsys):
    setting, needle = BAD_SETTING[name]
    assert main(["run", name, "--quick", "--out", str(tmp_path), "--set", setting]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())
