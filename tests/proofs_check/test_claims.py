"""The claims registry (simulations/claims.py) and its exact checks (proofs_check/claims.py).

Sources of the expected values: the exact enumeration itself (Fractions), checked here against
the recorded statuses and counterexamples; docs/claims.md must be what the registry generates.
The full counterexample search over every instance is the slow test; the default run searches
each claim up to its recorded counterexample, or over a prefix of its instances.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofs_check.claims import EXACT_CLAIMS, Instance, instances, parse_prior, search
from simulations import claims as reg
from simulations.cli import main

REPO = Path(__file__).resolve().parents[2]
EXACT = [c for c in reg.REGISTRY if c.exact is not None]
PREFIX = 30  # instances searched per verified claim in the default run (the smallest ones)


def test_every_record_is_complete_and_every_exact_check_exists():
    ids = [c.id for c in reg.REGISTRY]
    assert len(ids) == len(set(ids))
    for c in reg.REGISTRY:
        assert c.status in reg.STATUSES and c.statement and c.scope and c.source and c.evidence
        assert (c.exact is None) or (c.exact in EXACT_CLAIMS)
        assert (c.reader is None) == (c.experiment is None)
        if c.status == "refuted":
            assert c.note, f"{c.id}: a refuted claim states its counterexample"
    assert {c.exact for c in EXACT} == set(EXACT_CLAIMS) - {"feldman.bound.local-equality.three-classes"}


def test_every_section_of_the_references_has_a_claim():
    sources = " ".join(c.source for c in reg.REGISTRY)
    for section in ("§1.1", "§1.2", "§1.3", "§1.4", "§2.1", "§2.2", "§3", "§4", "§5", "§6"):
        assert section in sources, section


def _recorded_instance(note: str) -> tuple[tuple[Fraction, ...], int] | None:
    m = re.match(r"prior \(([^)]*)\), n = (\d+)", note)
    if m is None:
        return None
    return tuple(Fraction(v) for v in m.group(1).split(", ")), int(m.group(2))


@pytest.mark.parametrize("claim", EXACT, ids=lambda c: c.id)
def test_recorded_exact_status_reproduces(claim):
    exact = EXACT_CLAIMS[claim.exact]
    if claim.status == "refuted":
        # the search's first failure is the recorded counterexample (minimal in the search order)
        _, inst, verdict = search(exact)
        assert inst is not None and verdict.holds is False
        recorded = _recorded_instance(claim.note)
        assert recorded == (inst.values, inst.n), (claim.note, str(inst))
    else:
        checked, inst, _ = search(exact, limit=PREFIX)
        assert inst is None and checked > 0


@pytest.mark.slow
@pytest.mark.parametrize("claim", [c for c in EXACT if c.status == "verified"], ids=lambda c: c.id)
def test_verified_exact_claims_hold_on_every_instance_of_their_scope(claim):
    checked, inst, verdict = search(EXACT_CLAIMS[claim.exact])
    assert inst is None, f"{inst}: {verdict}"
    assert checked == sum(1 for _ in instances(EXACT_CLAIMS[claim.exact]))


def test_live_recomputations_agree_with_their_records():
    for c in reg.REGISTRY:
        if c.compute is not None:
            holds, text = c.compute()
            assert ("verified" if holds else "refuted") == c.status, (c.id, text)


def test_the_se_claim_is_refuted_by_the_exact_arithmetic():
    # sqrt(1/(4 * 0.7 * 2000) + 1/(4 * 0.3 * 2000)) by hand: 1/5600 + 1/2400 = 1/1680; sqrt = 0.024398
    assert reg._se_bound(2000) == pytest.approx((1 / 1680) ** 0.5, rel=1e-15)
    assert reg._se_bound(2000) > 0.024


def test_docs_claims_md_is_generated_from_the_registry():
    path = REPO / "docs" / "claims.md"
    assert path.read_text() == reg.claims_markdown(), (
        "docs/claims.md is stale: tailmem claims --markdown > docs/claims.md"
    )


# ---------------------------------------------------------------------- one instance, from the CLI
def test_instance_check_fails_holds_or_is_outside_with_exact_sides(capsys):
    args = ["claims", "--check", "feldman.bound.expectation", "--prior", "1/2,1/4,1/4", "--n", "3", "--json"]
    assert main(args) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["result"] == "fails" and out["lhs"] == "31/128" and out["rhs"] == "203/832"
    args = ["claims", "--check", "feldman.bound.local-equality", "--prior", "1/2,1/3,1/6", "--n", "3",
            "--classes", "3"]  # fmt: skip
    assert main(args) == 0
    assert "holds" in capsys.readouterr().out
    assert (
        main(
            ["claims", "--check", "derived.lemma.per-sample.two-points", "--prior", "1/2,1/3,1/6", "--n", "2"]
        )
        == 0
    )
    assert "outside the scope" in capsys.readouterr().out


def test_an_instance_check_computes_both_sides_independently():
    # the posterior lemma on (2/3, 1/3), n = 1, fixed, by hand: E[D(x) | unseen] = E[D(1 - D)] / E[1 - D]
    # = (2/9 + 2/9)/2 / (1/2) = 4/9 (and E[D(x) | seen once] = E[D^2] / E[D] = 5/9); the verdict
    # shows the side with the largest residual, here the first (every residual is 0)
    verdict = EXACT_CLAIMS["feldman.lemma.count"].check(Instance((Fraction(2, 3), Fraction(1, 3)), 1))
    assert verdict.holds and verdict.lhs == "E[D(x) | c_x = 0] = 4/9" and verdict.rhs == "tau_0 = 4/9"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--check", "feldman.lemma.cnt"],
            "unknown claim id 'feldman.lemma.cnt'; did you mean feldman.lemma.count",
        ),
        (["--check", "feldman.lemma.count", "--prior", "1/2,1/3", "--n", "2"], "--prior must sum to 1"),
        (
            ["--check", "feldman.lemma.count", "--prior", "1/2,x", "--n", "2"],
            "--prior must be comma-separated",
        ),
        (
            ["--check", "feldman.lemma.count", "--prior", "1/2,1/2", "--n", "0"],
            "--n must be an integer in [1, 8]",
        ),
        (["--check", "feldman.lemma.count", "--prior", "1/2,1/2", "--n", "2", "--classes", "5"], "--classes"),
        (["--check", "feldman.lemma.count", "--prior", "1/2,1/2"], "--prior and --n go together"),
        (["--check", "fz.removal", "--prior", "1/2,1/2", "--n", "2"], "not checked instance by instance"),
        (["--prior", "1/2,1/2", "--n", "2"], "--prior: give the claim to check"),
        (["--results", "."], "--results: only with --check"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, capsys):
    assert main(["claims", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_parse_prior_takes_decimals_and_fractions():
    assert parse_prior("0.5, 1/4,0.25") == (Fraction(1, 2), Fraction(1, 4), Fraction(1, 4))
    with pytest.raises(ValueError, match="positive"):
        parse_prior("1/2,1/2,0")


# ---------------------------------------------------------------------- results folders
def _results(tmp_path, name, results, version=None):
    from simulations.results import package_version

    (tmp_path / name).mkdir(parents=True)
    doc = {"experiment": name, "results": results,
           "provenance": {"tailmem_version": version or package_version()}}  # fmt: skip
    (tmp_path / name / "results.json").write_text(json.dumps(doc))


def test_statistical_status_is_read_from_a_results_folder(tmp_path, capsys):
    # a removal folder where memorized removal costs 5 SE more than random at every threshold >= 0.5
    conds = [
        {"kind": "memorized", "threshold": t, "minus_random": {"mean": -0.05, "se": 0.01}} for t in (0.5, 0.9)
    ]
    conds.append({"kind": "memorized", "threshold": 0.1, "minus_random": {"mean": 0.05, "se": 0.01}})
    _results(tmp_path, "removal", {"conditions": conds})
    assert main(["claims", "--check", "fz.removal", "--results", str(tmp_path), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["live"] == "supported" and row["agrees"] and "z = -5.0, -5.0" in row["evidence"]
    # the opposite direction contradicts the recorded status: exit 1
    for c in conds:
        c["minus_random"]["mean"] = 0.05
    (tmp_path / "removal" / "results.json").unlink()
    (tmp_path / "removal").rmdir()
    _results(tmp_path, "removal", {"conditions": conds})
    assert main(["claims", "--check", "fz.removal", "--results", str(tmp_path)]) == 1
    assert "CONTRADICTS the recorded supported" in capsys.readouterr().out


def test_a_results_folder_of_another_version_or_without_results_is_refused(tmp_path, capsys):
    assert main(["claims", "--check", "fz.removal", "--results", str(tmp_path)]) == 2
    assert "holds no */results.json" in capsys.readouterr().err
    _results(tmp_path, "removal", {"conditions": []}, version="0.0.1")
    assert main(["claims", "--check", "fz.removal", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "was written by tailmem 0.0.1" in err and err.count("\n") == 1


def test_report_summary_lists_the_claims_a_folder_speaks_to():
    results = {"feldman-bound": {"bound_check": {"points": 5, "min_z": -1.0, "below_bound_by_4se": 0}}}
    table = reg.report_summary(results)
    assert "| `feldman.bound.simulation` |" in table and "**supported**" in table
    assert "fz.removal" not in table  # its experiment did not run
    assert reg.report_summary({}) == ""


# ---------------------------------------------------------------------- Hypothesis, with shrinking

VERIFIED_INSTANCE_CLAIMS = [c for c in EXACT if c.status == "verified"]


@st.composite
def rational_instances(draw, max_points: int, max_n: int):
    """Priors of 2..max_points positive integer weights up to 12 (finer than the exhaustive
    search's 1..4), normalised; n <= max_n; either variant. Hypothesis shrinks a failure toward
    fewer points, smaller weights and smaller n."""
    weights = draw(st.lists(st.integers(1, 12), min_size=2, max_size=max_points))
    total = sum(weights)
    values = tuple(Fraction(w, total) for w in weights)
    n = draw(st.integers(1, max_n))
    variant = draw(st.sampled_from(["fixed", "iid"]))
    return Instance(values, n, 2, variant)


@pytest.mark.parametrize("claim", VERIFIED_INSTANCE_CLAIMS, ids=lambda c: c.id)
def test_verified_exact_claims_hold_on_random_finer_priors(claim):
    exact = EXACT_CLAIMS[claim.exact]
    heavy = claim.exact in ("derived.err-identity", "feldman.bound.local-equality", "theory.cost-unfit.exact")

    @settings(max_examples=6 if heavy else 15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(inst=rational_instances(min(exact.max_points, 3 if heavy else 4), min(exact.max_n, 3)))
    def check(inst):
        if exact.scope(inst):
            return
        verdict = exact.check(inst)
        assert verdict.holds, (
            f"{claim.id} fails at {inst}: {verdict.lhs} against {verdict.rhs} ({verdict.detail})"
        )

    check()


def test_hypothesis_shrinks_a_counterexample_of_a_refuted_claim():
    # hypothesis.find searches the finer priors and shrinks the first failure it meets
    from hypothesis import find

    exact = EXACT_CLAIMS["feldman.bound.expectation"]
    inst = find(
        rational_instances(3, 3),
        lambda i: not exact.scope(i) and exact.check(i).holds is False,
        settings=settings(max_examples=300, deadline=None, database=None),
    )
    verdict = exact.check(inst)
    assert verdict.holds is False and len(inst.values) == 3 and inst.n == 3  # N, n cannot shrink further
