"""The `tailmem` command: the bound calculator, experiments, reproduce, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import run_main

from simulations.cli import main

# a guard against a hung subprocess only, ~10x the slowest quiet run: load cannot break it
HANG_GUARD_S = 1800


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulations.cli", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        env=env,
    )


def test_bound_json_reproduces_feldman_table(capsys):
    # docs/references.md §1.4: Zipf(1), N = n = 50,000, 10 classes, fixed variant
    rc = main(
        [
            "bound",
            "--prior",
            "zipf",
            "--exponent",
            "1.0",
            "--N",
            "50000",
            "--n",
            "50000",
            "--classes",
            "10",
            "--variant",
            "fixed",
            "--gamma",
            "0.5",
            "--json",
        ]
    )
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    for key in (
        "tau_1",
        "tau",
        "singleton_fraction",
        "unseen_mass",
        "opt_error",
        "cost_unfit_singletons",
        "cost_memorization_limit",
    ):
        assert key in d
    assert sorted(d["tau"]) == ["1", "2", "3", "4", "5"]
    assert round(d["tau_1"] * 50_000, 4) == 0.4717
    assert round(100 * d["singleton_fraction"], 2) == 17.04
    assert round(100 * d["cost_unfit_singletons"], 2) == 7.23
    assert round(100 * d["opt_error"], 2) == 15.34
    assert round(d["tau"]["2"] * 50_000, 3) == 1.088
    # gamma = 0.5 cost = tau_1 E[#S1] (1 - 1/10 - 0.5) = 0.4 * mass of singletons
    np.testing.assert_allclose(
        d["cost_memorization_limit"], d["cost_unfit_singletons"] * 0.4 / 0.9, rtol=1e-12
    )


def test_bound_epsilon_ln6_equals_gamma_half(capsys):
    # docs/references.md §1.3: with 10 classes gamma = 0.5 corresponds to eps = ln 6, delta = 0
    main(["bound", "--N", "5000", "--n", "50000", "--gamma", "0.5", "--json"])
    g = json.loads(capsys.readouterr().out)["cost_memorization_limit"]
    main(["bound", "--N", "5000", "--n", "50000", "--epsilon", str(np.log(6)), "--json"])
    e = json.loads(capsys.readouterr().out)["cost_memorization_limit"]
    np.testing.assert_allclose(e, g, rtol=1e-12)
    assert round(g, 4) == 0.0146  # docs/references.md §1.4 disparate table, base subgroup


def test_bound_table_is_readable(capsys):
    assert main(["bound", "--N", "1000", "--n", "500", "--noise", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "tau_1" in out and "optimal error" in out and "singleton fraction" in out


def test_bound_other_priors(capsys, tmp_path):
    f = tmp_path / "c.npy"
    np.save(f, np.array([5000, 3000, 100, 3, 1]))
    for args in (
        ["--prior", "counts", "--counts", str(f)],
        ["--prior", "counts", "--counts", "5000,3000,100,3,1"],
        ["--prior", "uniform", "--N", "300"],
        ["--prior", "two-point", "--N", "300", "--heavy-fraction", "0.1", "--ratio", "20"],
        ["--prior", "density", "--density", "beta", "--density-args", "0.5,2", "--N", "1000"],
    ):
        assert main(["bound", *args, "--n", "200", "--json"]) == 0
        d = json.loads(capsys.readouterr().out)
        assert 0 <= d["singleton_fraction"] <= 1
    main(["bound", "--prior", "counts", "--counts", str(f), "--n", "200", "--json"])
    a = json.loads(capsys.readouterr().out)
    main(["bound", "--prior", "counts", "--counts", "5000,3000,100,3,1", "--n", "200", "--json"])
    b = json.loads(capsys.readouterr().out)
    assert a["tau_1"] == b["tau_1"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--N", "0", "--n", "10"], "N"),
        (["--N", "-5", "--n", "10"], "N"),
        (["--N", "10", "--n", "0"], "n"),
        (["--N", "10", "--n", "10", "--classes", "1"], "classes"),
        (["--N", "10", "--n", "10", "--exponent", "-1"], "exponent"),
        (["--N", "10", "--n", "10", "--exponent", "nan"], "exponent"),
        (["--N", "10", "--n", "10", "--gamma", "-0.1"], "gamma"),
        (["--N", "10", "--n", "10", "--epsilon", "nan"], "epsilon"),
        (["--N", "10", "--n", "10", "--noise", "1.5"], "noise"),
        (["--N", "10", "--n", "10", "--noise", "nan"], "noise"),
        (["--prior", "counts", "--counts", "1,nan,2", "--n", "10"], "counts"),
        (["--prior", "counts", "--counts", "0,0", "--n", "10"], "counts"),
        (["--prior", "counts", "--counts", "1,-2", "--n", "10"], "counts"),
        (["--prior", "counts", "--counts", "missing.npy", "--n", "10"], "counts"),
        (["--prior", "two-point", "--N", "10", "--n", "10", "--ratio", "2"], "heavy-fraction"),
        (["--prior", "density", "--density", "nosuch", "--N", "10", "--n", "10"], "density"),
        (["--N", "10", "--n", "10", "--gamma", "0.5", "--epsilon", "1"], "epsilon"),
        (["--N", "10", "--n", "10", "--variant", "bogus"], "variant"),
    ],
)
def test_bound_bad_input_one_line_exit_2(args, needle, capsys):
    p = run_main(capsys, "bound", *args)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
    assert p.stdout == ""


def test_run_unknown_experiment_lists_known(capsys):
    p = run_main(capsys, "run", "no-such-experiment")
    assert p.returncode == 2 and "feldman-examples" in p.stderr and "Traceback" not in p.stderr


def test_the_executable_exits_2_with_one_line_and_no_traceback():
    # the process itself, once (the other bad-input tests call main in the test process)
    p = run_cli("bound", "--N", "-5", "--n", "10")
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.count("\n") == 1 and "N" in p.stderr


@pytest.mark.parametrize(
    ("setting", "needle"),
    [("bogus=1", "bogus"), ("num_ratios=1", "num_ratios"), ("num_ratios=abc", "num_ratios")],
)
def test_run_bad_set_leaves_no_folder(tmp_path, setting, needle, capsys):
    p = run_main(capsys, "run", "feldman-examples", "--quick", "--out", str(tmp_path), "--set", setting)
    assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_reproduce_quick_writes_results_figures_and_report(tmp_path):
    # without a data folder (as the README's main command runs): the experiments that need data
    # files are skipped, saying why, and the others run
    env = {k: v for k, v in os.environ.items() if k != "TAILMEM_DATA"}
    env["TAILMEM_CHECK_FIGURES"] = "1"  # every figure checked as it is saved (plots/check.check_figure)
    p = run_cli("reproduce", "--quick", "--out", str(tmp_path), env=env)
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "feldman-examples" / "results.json").read_text())
    assert doc["results"]["all_match"] is True
    assert doc["quick"] is True and doc["config"]["num_ratios"] == 13
    for key in ("tailmem_version", "git_revision"):
        assert doc["provenance"][key]
    assert doc["wall_time_s"] > 0
    arrays = np.load(tmp_path / "feldman-examples" / "arrays.npz", allow_pickle=False)
    assert arrays["tau1_times_n"].shape == (3, 13)
    report = (tmp_path / "report.md").read_text()
    for fig in doc["figures"]:
        assert (tmp_path / "feldman-examples" / fig).stat().st_size > 10_000
        assert f"feldman-examples/{fig}" in report
    # no temporary leftovers; the model stores of the subset-model experiments are kept on purpose
    assert not [f for f in tmp_path.rglob(".*") if f != tmp_path / ".stores"]
    stores = sorted(p.name.rsplit("-", 1)[0] for p in (tmp_path / ".stores").iterdir())
    assert stores == ["mnist1d-mlp", "mnist1d-mlp-pairs", "mnist1d-mlp-removal"]  # one shared subset store
    for f in (tmp_path / ".stores").rglob("*"):
        assert f.is_dir() or f.name in ("config.json", "models.npz") or f.name.startswith("batch-")
    for name in ("memorization", "removal", "influence-pairs"):
        assert f"Experiment `{name}`" in report
        assert json.loads((tmp_path / name / "results.json").read_text())["quick"] is True
    for name in ("composition-nets", "cscores", "nlp-memorization", "nlp-removal", "nlp-attribution"):
        assert f"Experiment `{name}` was skipped: " in report and f"[reproduce] {name} skipped: " in p.stderr
        assert not (tmp_path / name).exists()
    # tailmem redraw rebuilds every figure and report.md from the saved files, byte for byte
    drawn = {f: f.read_bytes() for f in tmp_path.glob("*/*.png")}
    docs = {f: f.read_bytes() for f in tmp_path.glob("*/results.json")}
    assert len(drawn) >= 20
    for f in drawn:
        f.unlink()
    (tmp_path / "report.md").unlink()
    assert main(["redraw", str(tmp_path)]) == 0
    assert {f: f.read_bytes() for f in tmp_path.glob("*/*.png")} == drawn
    assert {f: f.read_bytes() for f in tmp_path.glob("*/results.json")} == docs
    assert (tmp_path / "report.md").read_text() == report


def test_list_names_fields(capsys):
    assert main(["list"]) == 0
    assert "feldman-examples" in capsys.readouterr().out
    assert main(["list", "feldman-examples"]) == 0
    assert "num_ratios = 41" in capsys.readouterr().out


def test_out_folder_of_another_configuration_is_refused_and_kept(tmp_path, capsys):
    # re-running the same command rewrites its folder; another configuration, or a folder that is
    # not a results folder, is refused with one line and left byte for byte as it was
    folder = tmp_path / "feldman-examples"
    small = ["--set", "sweep_N=500"]

    def run(*args):
        code = main(list(args))
        return code, capsys.readouterr().err

    for _ in range(2):
        assert run("run", "feldman-examples", "--quick", "--out", str(tmp_path), *small)[0] == 0
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    seven = ["--set", "num_ratios=7"]
    code, err = run("run", "feldman-examples", "--quick", "--out", str(tmp_path), *small, *seven)
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert f"--out: {folder} holds results of another configuration (num_ratios 13 -> 7)" in err
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before
    mine = tmp_path / "mine"
    (mine / "feldman-examples").mkdir(parents=True)
    (mine / "feldman-examples" / "notes.txt").write_text("not tailmem's")
    # reproduce checks every folder before it runs anything
    for cmd in (["run", "feldman-examples", "--quick"], ["reproduce", "--quick"]):
        code, err = run(*cmd, "--out", str(mine))
        assert code == 2 and err.count("\n") == 1
        assert f"--out: {mine / 'feldman-examples'} exists and is not a tailmem results folder" in err
    assert [f.name for f in mine.rglob("*")] == ["feldman-examples", "notes.txt"]
    below_a_file = mine / "feldman-examples" / "notes.txt" / "x"
    code, err = run("run", "feldman-examples", "--quick", "--out", str(below_a_file))
    assert code == 2 and "notes.txt is a file, not a folder; choose another --out" in err
    assert (mine / "feldman-examples" / "notes.txt").read_text() == "not tailmem's"


def test_out_folder_check_ignores_locations_and_fills_missing_fields(tmp_path):
    # an older results.json without a field counts as that field's default; data_dir, store and
    # the Ray placement may differ (where things are, not what is computed)
    from simulations.experiments import get, make_config
    from simulations.results import to_jsonable
    from simulations.runner import check_out_folder

    cfg = make_config(get("memorization"), quick=True)
    saved = to_jsonable(cfg)
    del saved["heldout_ratios"]  # as written before that field existed (default: none)
    saved["data_dir"], saved["store"] = "/elsewhere", "/some/store"
    (tmp_path / "results.json").write_text(json.dumps({"config": saved}))
    check_out_folder(tmp_path, cfg)
    with pytest.raises(ValueError, match=r"holds results of another configuration \(epochs 15 -> 40"):
        check_out_folder(tmp_path, make_config(get("memorization"), quick=False))
    with pytest.raises(ValueError, match=r"heldout_ratios \[\] -> \[0.5\]"):
        other = make_config(get("memorization"), quick=True, overrides=["heldout_ratios=0.5"])
        check_out_folder(tmp_path, other)


@pytest.mark.parametrize(
    ("exc", "code", "needle"),
    [
        (MemoryError(), 2, "tailmem: error: out of memory; lower the sizes"),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 16 GB"), 2,
         "tailmem: error: out of memory (DefaultCPUAllocator: can't allocate memory"),
        (RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED"), 2, "tailmem: error: out of memory (CUDA"),
        (KeyboardInterrupt(), 130, "tailmem: interrupted"),
    ],
)  # fmt: skip
def test_out_of_memory_and_ctrl_c_are_one_line(monkeypatch, capsys, exc, code, needle):
    import simulations.cli as cli

    def fail(_args):
        raise exc

    monkeypatch.setattr(cli, "_list", fail)
    assert main(["list"]) == code
    err = capsys.readouterr().err
    assert err.startswith(needle) and err.count("\n") == 1
    assert ("resume" in err) is False  # `list` has nothing to resume; `run` and `reproduce` say so


def test_other_runtime_errors_still_raise(monkeypatch):
    import simulations.cli as cli

    def fail(_args):
        raise RuntimeError("a bug, not a lack of memory")

    monkeypatch.setattr(cli, "_list", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["list"])


def test_console_dies_by_sigint_after_ctrl_c(monkeypatch):
    # the executable re-sends SIGINT to itself with the default handler, so a shell loop stops
    import signal

    import simulations.cli as cli

    calls = []
    monkeypatch.setattr(cli, "main", lambda: 130)
    monkeypatch.setattr(cli.signal, "signal", lambda sig, handler: calls.append(("signal", sig, handler)))
    monkeypatch.setattr(cli.os, "kill", lambda pid, sig: calls.append(("kill", pid, sig)))
    with pytest.raises(SystemExit) as info:
        cli.console()
    assert info.value.code == 130
    assert calls == [("signal", signal.SIGINT, signal.SIG_DFL), ("kill", os.getpid(), signal.SIGINT)]
    monkeypatch.setattr(cli, "main", lambda: 0)
    calls.clear()
    with pytest.raises(SystemExit) as info:
        cli.console()
    assert info.value.code == 0 and calls == []


def test_checkpoint_of_a_moved_data_folder_resumes_and_other_configs_are_named(tmp_path):
    # a partial run resumes when only where things are has changed (data_dir, ...); another
    # configuration is refused, and the message names the fields that differ
    from simulations.experiment import Context, checkpoint_ident
    from simulations.experiments import get, make_config

    def open_partial(cfg):
        return Context(partial=tmp_path / "p", ident=checkpoint_ident("composition-nets", cfg))

    open_partial(make_config(get("composition-nets"), quick=True, data_dir="/data/a"))
    open_partial(make_config(get("composition-nets"), quick=True, data_dir="/b/"))
    other = make_config(get("composition-nets"), quick=True, overrides=["seed=3", "epochs=2"])
    with pytest.raises(ValueError, match=r"another configuration or code \(differs in epochs, seed\)"):
        open_partial(other)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_failed_run_leaves_no_empty_folders(tmp_path, capsys):
    out = str(tmp_path / "a" / "b")
    p = run_main(capsys, "run", "composition-nets", "--quick", "--out", out, "--set", "device=cuda")
    assert p.returncode == 2 and "torch sees no CUDA device" in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_version_list_sizes_and_suggestions(capsys):
    # what a new user tried: tailmem --version, sizes written as 1e5, a list that says what
    # each field means, and a "did you mean" for a mistyped experiment or field
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("tailmem ")
    assert main(["bound", "--prior", "zipf", "--N", "1e5", "--n", "1e5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["N"] == 100_000
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "feldman-bound" in out and len(out.splitlines()) < 20
    assert main(["list", "memorization"]) == 0
    out = capsys.readouterr().out
    assert "hidden = (100, 100)  [int,int,... (comma-separated)]" in out and "mlp hidden widths" in out
    assert main(["run", "memorisation"]) == 2
    assert "did you mean 'memorization'?" in capsys.readouterr().err
    assert main(["run", "feldman-examples", "--set", "sweep_n=5"]) == 2
    assert "unknown field 'sweep_n' (did you mean 'sweep_N'?)" in capsys.readouterr().err


def test_reproduce_refuses_a_mistyped_data_dir_before_running_anything(tmp_path, capsys):
    assert (
        main(["reproduce", "--quick", "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path / "nope")])
        == 2
    )
    assert "--data-dir: " in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_a_data_folder_from_the_environment_says_so(monkeypatch, tmp_path):
    from simulations.data.dataset import resolve_data_dir

    monkeypatch.setenv("TAILMEM_DATA", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"\(from the environment variable TAILMEM_DATA\) is not a folder"):
        resolve_data_dir(None)
