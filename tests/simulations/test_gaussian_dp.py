"""The private-logistic path (against PrivateLogistic), the label-DP ceiling and cost (hand values
and theory.bound), and experiment gaussian-dp at toy size: structure, invariants, resume from a
checkpoint, figures from saved results, bad configs and the CLI."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import theory
from simulations.experiments import gaussian_dp as gd
from simulations.experiments import get, make_config
from simulations.gaussian import PrivateLogistic
from simulations.gaussian.logistic import private_logistic_path
from simulations.results import saved_form

TOY = gd.GaussianDP(
    N=30,
    n=60,
    dim=150,
    classes=4,
    epsilons=(0.1, 10.0, 1e4),
    dp_draws=2,
    dpsgd_epsilons=(0.3, 10.0),
    dpsgd_steps=40,
    ridge_lams=(0.0, 10.0),
    logistic_Cs=(1.0,),
    mult_edges=(1, 2, 4),
    trials=3,
    n_test=400,
)


@pytest.fixture(scope="module")
def toy():
    return gd.run(TOY)


# ------------------------------------------------------------------------------ the private path
@pytest.mark.parametrize("n, d, m", [(40, 6, 3), (25, 60, 4), (30, 45, 2)])
def test_path_with_one_epsilon_is_private_logistic(n, d, m):
    # d > n takes the row-space solve; the released weights must still be PrivateLogistic's with
    # the same stream of draws (direction, then norm, class by class)
    rng = np.random.default_rng(n + d)
    x, y = rng.normal(size=(n, d)), rng.integers(m, size=n)
    path = private_logistic_path(x, y, m, lam=0.05, epsilons=[3.0], rng=np.random.default_rng(7))
    ref = PrivateLogistic(m, 3.0, 0.05).fit(x, y, rng=np.random.default_rng(7))
    np.testing.assert_allclose(path.W[0, 0], ref.W, rtol=1e-8, atol=1e-9)
    # the noise-free fit: epsilon -> infinity
    far = PrivateLogistic(m, 1e15, 0.05).fit(x, y, rng=np.random.default_rng(7))
    np.testing.assert_allclose(path.W_star, far.W, atol=1e-8)
    np.testing.assert_array_equal(path.model(None).b, np.zeros(m))


def test_path_noise_scales_as_one_over_epsilon_with_a_shared_draw():
    # common random numbers: beta_eps = u g Delta / (eps / m), so beta_2 / beta_1 = eps_1 / eps_2
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 5)), rng.integers(3, size=50)
    path = private_logistic_path(x, y, 3, lam=0.1, epsilons=[2.0, 8.0], rng=np.random.default_rng(1), draws=3)
    noise = path.W - path.W_star
    np.testing.assert_allclose(noise[1], noise[0] / 4.0, rtol=1e-12, atol=1e-15)
    assert np.abs(noise[0, 0] - noise[0, 1]).max() > 1e-3  # the draws differ
    assert path.W.shape == (2, 3, 5, 3)


def test_path_bad_arguments_raise():
    x, y = np.zeros((5, 2)), np.array([0, 1, 0, 1, 0])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="epsilons"):
        private_logistic_path(x, y, 2, lam=0.1, epsilons=[0.0], rng=rng)
    with pytest.raises(ValueError, match="lam"):
        private_logistic_path(x, y, 2, lam=0.0, epsilons=[1.0], rng=rng)
    with pytest.raises(ValueError, match="draws"):
        private_logistic_path(x, y, 2, lam=0.1, epsilons=[1.0], rng=rng, draws=0)
    with pytest.raises(ValueError, match="rng"):
        private_logistic_path(x, y, 2, lam=0.1, epsilons=[1.0], rng=1)


# ------------------------------------------------------------------------------ the theory beside it
def test_ceiling_hand_values():
    # min(1, e^(l eps) / m) with eps = ln 2, m = 10: 2^l / 10 -> 0.1, 0.2, 0.4, 0.8, then 1.6 -> 1
    np.testing.assert_allclose(
        gd.ceiling([0, 1, 2, 3, 4], math.log(2), 10), [0.1, 0.2, 0.4, 0.8, 1.0], rtol=1e-12
    )


def test_label_dp_cost_is_the_singleton_cost_when_only_singletons_are_constrained():
    # m = 10, eps = 1.2: e^1.2 = 3.32 < 10 <= e^2.4 = 11.02, so only l = 1 contributes and the sum
    # equals theory.bound's cost tau_1 E[#S_1] (1 - e^eps / m) (docs/references.md §1.3)
    prior = theory.zipf(500)
    got = gd.label_dp_cost(prior, 400, 10, 1.2)
    ref = theory.bound(prior, 400, 10, epsilon=1.2).cost_memorization_limit
    assert got == pytest.approx(ref, rel=1e-10) and got > 0
    # eps >= ln m: no constraint at all
    assert gd.label_dp_cost(prior, 400, 10, math.log(10) + 1e-9) == 0.0
    # eps = 0.5: l = 1..4 contribute (e^2 = 7.39 < 10 <= e^2.5 = 12.18); summed by hand
    by_hand = sum(
        theory.expected_seen_mass(prior, 400, l) * (1 - math.exp(0.5 * l) / 10) for l in range(1, 5)
    )
    assert gd.label_dp_cost(prior, 400, 10, 0.5) == pytest.approx(by_hand, rel=1e-12)


# ------------------------------------------------------------------------------ the experiment
def test_result_structure(toy):
    results, arrays = toy
    labels = [r["learner"] for r in results["settings"]]
    assert labels == [
        "logistic, non-private (eps = inf)",
        "private logistic eps=0.1",
        "private logistic eps=10",
        "private logistic eps=10000",
        "DP-SGD, no noise (eps = inf)",
        "DP-SGD eps=0.3",
        "DP-SGD eps=10",
        "ridge lam=0 (min-norm)",
        "ridge lam=10",
        "logistic C=1",
    ]
    assert results["groups"] == ["unseen", "seen once", "seen 2-3", "seen >= 4"]
    B = arrays["bin_edges"].size - 1
    assert arrays["acc_by_bin"].shape == (10, B) and arrays["acc_by_group"].shape == (10, 4)
    assert arrays["ceiling_by_group"].shape == (3, 4) and arrays["ceiling_by_bin"].shape == (3, B)
    assert arrays["dpsgd_ceiling_by_group"].shape == (2, 4) and arrays["dpsgd_min_drop_by_bin"].shape == (
        2,
        B,
    )
    for r in results["settings"]:
        assert ("theory" in r) == (r["family"] in ("private", "dpsgd") and r["value"] is not None)
        assert ("mem_singletons" in r) == (r["family"] == "ridge")


def test_invariants(toy):
    results, arrays = toy
    g = results["groups"]
    for r in results["settings"]:
        assert 0.0 <= r["err"]["mean"] <= 1.0
        for x in g:
            a = r["accuracy"][x]["mean"]
            assert a is None or 0.0 <= a <= 1.0
        # the reference of each sweep has drop exactly 0
        if r["learner"] == r["reference"]:
            assert all(r["drop"][x]["mean"] in (0.0, None) for x in g)
    ceil = arrays["ceiling_by_group"]
    # unseen clusters: e^0 / m = 1/m exactly; seen once at eps = 0.1: e^0.1 / 4
    np.testing.assert_allclose(ceil[:, 0], 0.25, rtol=1e-12)
    assert ceil[0, 1] == pytest.approx(math.exp(0.1) / 4, rel=1e-12)
    np.testing.assert_array_equal(ceil[1:, 1:], 1.0)  # eps = 10, 1e4 > ln 4: no limit on seen clusters
    # the least drop the ceiling forces: none on unseen clusters, none at all for eps >= ln m
    for r in results["settings"]:
        if "theory" in r:
            assert r["theory"]["min_drop"]["unseen"] == 0.0
            if r["value"] >= math.log(4):
                assert all(v == 0.0 for v in r["theory"]["min_drop"].values())
    np.testing.assert_array_equal(arrays["min_drop_by_bin"][1:], 0.0)
    assert arrays["min_drop_by_bin"].shape == (3, arrays["bin_edges"].size - 1)
    for fam in ("private", "dpsgd"):
        th = [r["theory"] for r in results["settings"] if "theory" in r and r["family"] == fam]
        costs, singles = [t["cost_all_ell"] for t in th], [t["cost_singletons"] for t in th]
        # output perturbation: only eps = 0.1 < ln 4 constrains; DP-SGD: only eps = 0.3 (label-DP at
        # 2 eps = 0.6 < ln 4, plus a delta of 1.35e-5); the sum over l is at least its l = 1 term
        assert costs[0] >= singles[0] > 0 and set(costs[1:]) == {0.0} and set(singles[1:]) == {0.0}


def test_dpsgd_rows_carry_the_accounting_and_the_label_dp_translation(toy):
    results, arrays = toy
    rows = [r for r in results["settings"] if r["family"] == "dpsgd"]
    assert rows[0]["sigma"] == 0.0 and "theory" not in rows[0]
    for r, eps in zip(rows[1:], (0.3, 10.0), strict=True):
        # the calibrated sigma meets the target (classic conversion, integer orders), and is tight
        sig = theory.dp_sgd_sigma(eps, 1e-5, 0.1, 40)
        assert r["sigma"] == sig and r["epsilon_accounted"] <= eps
        assert theory.dp_sgd_epsilon(0.1, sig * 0.999, 40, 1e-5) > eps
        # add/remove (eps, delta) -> label-DP (2 eps, (1 + e^eps) delta); seen once: e^(2 eps)/m + delta'
        eps_l, delta_l = r["theory"]["label_dp"]
        assert eps_l == 2 * eps and delta_l == pytest.approx(min(1.0, (1 + math.exp(eps)) * 1e-5), rel=1e-12)
        assert r["theory"]["ceiling"]["seen once"] == pytest.approx(min(1.0, math.exp(2 * eps) / 4 + delta_l))
        assert r["reference"] == "DP-SGD, no noise (eps = inf)"
    np.testing.assert_array_equal(arrays["dpsgd_sigmas"], [r["sigma"] for r in rows])
    assert results["dpsgd"]["expected_batch"] == pytest.approx(6.0)


def test_dpsgd_leaves_the_other_settings_unchanged():
    # DP-SGD is fitted last from the trial's stream: without it every other setting is bit-identical
    bare = dataclasses.replace(TOY, dpsgd_epsilons=())
    a, b = gd.trial(TOY, 1), gd.trial(bare, 1)
    keep = [i for i, (f, _) in enumerate(gd.settings(TOY)) if f != "dpsgd"]
    for k in ("err", "group_correct", "bin_correct", "mem"):
        np.testing.assert_array_equal(a[k][keep], b[k])
    for k in ("ceil_group", "ceil_bin", "ref_bin_correct_seen", "ceil_bin_seen", "opt"):
        np.testing.assert_array_equal(a[k], b[k])
    assert "dpsgd_ceil_group" not in b


def test_trial_is_a_pure_function_of_config_and_index():
    a, b = gd.trial(TOY, 2), gd.trial(TOY, 2)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_report_names_every_setting_from_the_saved_form(toy):
    # run, redraw and resume through the CLI: tests/simulations/test_experiment_contract.py
    text = get("gaussian-dp").report(saved_form(toy[0]), None)
    assert "| private logistic eps=0.1 |" in text and "implies eps-label-DP" in text
    assert "| DP-SGD eps=0.3 |" in text and "Poisson sampling q = 0.1" in text


def test_quick_config_is_valid_and_smaller():
    cfg = make_config(get("gaussian-dp"), quick=True)
    full = gd.GaussianDP()
    assert isinstance(cfg, gd.GaussianDP) and cfg.trials < full.trials and cfg.n < full.n
    for c in (cfg, full):  # some epsilon below ln m, where the theory constrains, and n well below dim
        assert min(c.epsilons) < math.log(c.classes) and 2 * c.n <= c.dim


@pytest.mark.parametrize(
    "field, value",
    [
        ("epsilons", ()),
        ("epsilons", (0.0,)),
        ("epsilons", (1.0, 1.0)),
        ("dp_lam", 0.0),
        ("dp_draws", 0),
        ("dpsgd_epsilons", (0.0,)),
        ("dpsgd_delta", 0.0),
        ("dpsgd_sample_rate", 0.0),
        ("dpsgd_steps", 0),
        ("dpsgd_lr", 0.0),
        ("dpsgd_clip", -1.0),
        ("dpsgd_draws", 0),
        ("ridge_lams", (-1.0,)),
        ("logistic_Cs", (0.0,)),
        ("mult_edges", (2, 4)),
        ("mult_edges", (1,)),
        ("mult_edges", (1, 4, 2)),
        ("mult_edges", (1, 61)),
    ],
)
def test_bad_config_values_raise_naming_the_field(field, value):
    # the mixture, sample and trial fields all three share: tests/simulations/test_gaussian_configs.py
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(TOY, **{field: value})
