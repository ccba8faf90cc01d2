"""Tests for proofs_check.runner and ``python -m proofs_check`` (the table of checks)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from proofs_check.main_bound import Learner, memorize_most_frequent
from proofs_check.runner import (
    CheckResult,
    check_main_bound,
    check_posterior_lemma,
    default_checks,
    format_table,
    main,
    run_all,
)

# a guard against a hung subprocess only, ~10x the slowest quiet run: load cannot break it
HANG_GUARD_S = 1800

ROOT = Path(__file__).resolve().parents[2]


def test_module_runs_and_prints_the_table():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-m", "proofs_check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["check", "instance", "claim"]
    assert any(line.startswith("posterior_lemma ") and "PASS" in line for line in lines)
    assert any(line.startswith("main_bound[most-frequent-only]") and "bound fails" in line for line in lines)
    n = len(default_checks())
    assert lines[-1] == f"{n} checks, {n} passed, 0 failed"


def test_run_all_passes_every_check():
    results = run_all()
    assert len(results) == len(default_checks())
    assert all(isinstance(r, CheckResult) for r in results)
    assert [r for r in results if not r.passed] == []
    names = {r.name for r in results}
    assert {"posterior_lemma", "posterior_vs_theory", "posterior_symbolic", "bound_vs_theory"} <= names


def test_check_result_is_frozen():
    r = CheckResult("x", "y", True, "d", "c", "1", "1", 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.passed = False


def test_wrong_tau_fails():
    # the iid posterior checked against the fixed pibar's tau, claimed equal: must FAIL
    wrong = check_posterior_lemma((3, 1, 1), 2, variant="iid", marginal_variant="fixed", equal=True)
    assert not wrong.passed
    assert wrong.deviation == pytest.approx(79840 / 1000461, rel=1e-12)
    # the runner's own claim for it is "differs", which passes; the right pibar gives equality
    assert check_posterior_lemma((3, 1, 1), 2, variant="iid", marginal_variant="fixed").passed
    assert check_posterior_lemma((3, 1, 1), 2, variant="iid").passed
    assert not check_posterior_lemma((3, 1, 1), 2, variant="iid", equal=False).passed


def test_false_equality_claim_fails(capsys):
    # most-frequent-only claimed local (so claimed to meet the bound with equality): it does not
    liar = Learner("liar", memorize_most_frequent().predict, True, "claims equality")
    r = check_main_bound((3, 1, 1), 3, liar, variant="fixed")
    assert not r.passed
    assert r.deviation == pytest.approx(float(Fraction(-36, 6875)), rel=1e-12)
    assert not check_main_bound((3, 1, 1), 3, memorize_most_frequent(), variant="fixed").passed  # ">= 0"
    assert check_main_bound((3, 1, 1), 3, memorize_most_frequent(), variant="fixed", expect="<0").passed
    code = main([], checks=[lambda: r])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out
    assert "1 checks, 0 passed, 1 failed" in out


def test_invalid_input_exits_2(capsys):
    def bad():
        return check_main_bound((3, 1, 1), 3, memorize_most_frequent(), variant="fixed", expect="==0")

    assert main([], checks=[bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith("proofs_check: error: expect must be one of")
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(["--bogus"])
    assert exc.value.code == 2


def test_format_table_lists_failures():
    ok = CheckResult("a", "inst", True, "fine", "claim", "1/2", "1/2", 0.0)
    bad = CheckResult("b", "inst", False, "broken", "claim", "1/2", "1/3", 1 / 6)
    text = format_table([ok, bad])
    assert "2 checks, 1 passed, 1 failed" in text
    assert "FAILED b inst: broken" in text
