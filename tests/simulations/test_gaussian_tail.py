"""Experiment gaussian-tail at toy size: result structure, guaranteed invariants, the ridge path
against the Ridge learner, resume from a checkpoint, figures from saved results, bad configs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulations.experiments import gaussian_tail as gt
from simulations.experiments import get, make_config
from simulations.gaussian import Ridge, make_mixture, sample
from simulations.results import saved_form

TOY = gt.GaussianTail(
    N=40,
    n=40,
    dim=60,
    classes=4,
    scale=0.03,
    ridge_lams=(0.0, 1.0, 100.0),
    knn_ks=(1, 3),
    logistic_Cs=(1.0,),
    kernel_gammas=(1.0,),
    mlp_weight_decays=(0.0,),
    mlp_epochs=5,
    mlp_hidden=16,
    mlp_subsets=6,
    mlp_batch_size=8,
    trials=3,
    n_test=300,
    fresh=4,
    bayes_samples=200,
    L=3,
)


@pytest.fixture(scope="module")
def toy():
    return gt.run(TOY)


def test_result_structure(toy):
    results, arrays = toy
    S = 3 + 2 + 1 + 1 + 1
    assert results["trials"] == 3 and len(results["settings"]) == S
    labels = [r["learner"] for r in results["settings"]]
    assert labels == [
        "ridge lam=0 (min-norm)",
        "ridge lam=1",
        "ridge lam=100",
        "k-NN k=1",
        "k-NN k=3",
        "logistic C=1",
        "RBF kernel ridge gamma=1",
        "MLP wd=0",
    ]
    B = arrays["bin_edges"].size - 1
    assert arrays["acc_by_bin"].shape == (S, B) and arrays["acc_by_bin_se"].shape == (S, B)
    assert arrays["errn"].shape == (S, 3) and arrays["lambda"].shape == (S, 3) and arrays["tau"].shape == (3,)
    for key in ("trial_err", "trial_excess", "trial_bound"):
        assert arrays[key].shape == (3, S)
    lo, hi = results["rare_bin"]
    assert lo < 1 < hi
    assert results["interpolation_regime"] is True
    assert set(results["theory"]) >= {"opt", "unseen_mass", "tau_times_n", "kappa"}


def test_invariants(toy):
    results, arrays = toy
    for r in results["settings"]:
        for key in ("err", "train_err", "acc_singletons", "acc_unseen", "acc_rare_bin"):
            assert 0.0 <= r[key]["mean"] <= 1.0, (r["learner"], key)
        assert r["err"]["se"] > 0 and r["excess"]["se"] > 0, r["learner"]
        for key in ("bound", "bound_points", "bound_misfit"):
            assert r[key]["mean"] >= 0.0, (r["learner"], key)
        # lambda_l <= 1 makes every term of the bound at most tau_l errn_l
        assert r["bound"]["mean"] <= r["bound_points"]["mean"] + 1e-15
        assert all(e["mean"] >= 0 for e in r["errn"])
        assert all(lam["mean"] is None or 0.0 <= lam["mean"] <= 1.0 for lam in r["lambda"])
        if r["family"] == "logistic":  # memorization is not measured for logistic regression
            assert r["mem_singletons"]["mean"] is None and r["mem_rest"]["mean"] is None
        else:
            assert -1.0 <= r["mem_singletons"]["mean"] <= 1.0 and -1.0 <= r["mem_rest"]["mean"] <= 1.0
    assert np.all((arrays["trial_err"] >= 0) & (arrays["trial_err"] <= 1))
    np.testing.assert_allclose(arrays["trial_excess"], arrays["trial_err"] - arrays["trial_opt"][:, None])
    ref = results["reference"]
    assert 0.0 <= ref["bayes_error"]["mean"] <= 1.0 and ref["min_separation_over_scale"]["min"] > 0


def test_interpolators_fit_everything_so_their_bound_term_is_zero(toy):
    # guaranteed: n = 40 <= dim = 60 (general position), so ridge at lambda = 0 interpolates;
    # 1-NN returns a training point's own label (no duplicate inputs). Train error 0 -> errn = 0
    # -> bound term exactly 0, and mem = 1 - 1[LOO correct] >= 0 for every example.
    results, _ = toy
    rows = {r["learner"]: r for r in results["settings"]}
    for name in ("ridge lam=0 (min-norm)", "k-NN k=1"):
        r = rows[name]
        assert (
            r["train_err"]["mean"] == 0.0 and r["bound"]["mean"] == 0.0 and r["bound_points"]["mean"] == 0.0
        )
        assert all(e["mean"] == 0.0 for e in r["errn"])
        assert r["mem_singletons"]["mean"] >= 0.0 and r["mem_rest"]["mean"] >= 0.0


def test_mlp_and_kernel_ridge_leave_the_other_settings_unchanged(toy):
    # the MLP draws its seeds and subsets from a child stream of the trial's seed sequence, and kernel
    # ridge draws nothing: without them every other setting's measurements are bit-identical
    bare = dataclasses.replace(TOY, kernel_gammas=(), mlp_weight_decays=())
    a, b = gt.trial(TOY, 1), gt.trial(bare, 1)
    S = len(gt.settings(bare))
    for k in (
        "err",
        "train_err",
        "bin_correct",
        "group_correct",
        "errn",
        "lam_sum",
        "bound",
        "mem_single_sum",
    ):
        np.testing.assert_array_equal(a[k][:S], b[k][:S])
    results, _ = toy
    rows = {r["learner"]: r for r in results["settings"]}
    assert rows["MLP wd=0"]["mem_method"].startswith("subsampled, ratio 0.7, 6 models")
    assert rows["RBF kernel ridge gamma=1"]["mem_method"] == "exact leave-one-out"
    assert rows["logistic C=1"]["mem_method"] is None


def test_mlp_memorization_is_the_subsampled_estimator():
    # the trial's MLP memorization sums equal simulations.estimators.memorization applied by hand to
    # the subset models' correctness (the same fit, rebuilt from the child stream)
    from simulations.estimators.memorization import memorization
    from simulations.gaussian.trials import draw_trial, trial_rng

    piece = gt.trial(TOY, 0)
    data = draw_trial(TOY, trial_rng(TOY.seed, TOY.trials, 0))
    fit = gt._mlp(TOY, 0, data.train.x, data.train.y)
    correct = fit.predict_all(data.train.x)[0, 0, 1:] == data.train.y
    est = memorization(correct.astype(float), fit.masks)
    single = data.ell == 1
    ok = np.isfinite(est.value)
    s = len(gt.settings(TOY)) - 1
    assert piece["mem_single_sum"][s] == pytest.approx(est.value[single & ok].sum(), abs=1e-12)
    assert piece["mem_examples"][s].tolist() == [(single & ok).sum(), (~single & ok).sum()]
    assert fit.masks.shape == (6, TOY.n) and (fit.masks.sum(axis=1) == round(0.7 * TOY.n)).all()


@pytest.mark.parametrize("n,dim", [(30, 50), (40, 12)])
def test_ridge_path_matches_the_ridge_learner(n, dim):
    # reference: Ridge(classes, lam).fit for each lambda, and Ridge.loo_path (its exact LOO)
    rng = np.random.default_rng(5)
    mix = make_mixture(np.ones(8), dim, 3, scale=0.3, rng=rng)
    s = sample(mix, n, rng=rng)
    lams = (0.0, 0.5, 20.0)
    models, loo = gt.ridge_path(s.x, s.y, 3, lams)
    for lam, model in zip(lams, models, strict=True):
        ref = Ridge(3, lam=lam).fit(s.x, s.y)
        np.testing.assert_allclose(model.W, ref.W, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(model.b, ref.b, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(loo, Ridge(3).loo_path(s.x, s.y, lams))


def test_trial_is_a_pure_function_of_config_and_index():
    a, b = gt.trial(TOY, 1), gt.trial(TOY, 1)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(gt.trial(TOY, 0)["err"], a["err"])


def test_frequency_edges_cover_every_cluster():
    # half-decade bins centred on 10^(j/2); Zipf N = n = 40: n pi from 40/(40 H_40) = 0.234 to
    # 40/H_40 = 9.36 (H_40 = 4.278), so centres 10^(-1/2) .. 10^1 and the rare bin is j = 0
    edges, rare = gt.frequency_edges(TOY)
    np.testing.assert_allclose(np.sqrt(edges[:-1] * edges[1:]), 10.0 ** (np.arange(-1, 3) / 2), rtol=1e-12)
    assert rare == 1


def test_report_names_every_setting_from_the_saved_form(toy):
    # run, redraw and resume through the CLI: tests/simulations/test_experiment_contract.py
    text = get("gaussian-tail").report(saved_form(toy[0]), None)
    assert "| ridge lam=0 (min-norm) |" in text and "| logistic C=1 |" in text


def test_quick_config_is_valid_and_smaller():
    cfg = make_config(get("gaussian-tail"), quick=True)
    full = gt.GaussianTail()
    assert isinstance(cfg, gt.GaussianTail) and cfg.trials < full.trials and cfg.n <= cfg.dim
    assert full.n <= full.dim and 0.0 in full.ridge_lams


@pytest.mark.parametrize(
    "field, value",
    [
        ("ridge_lams", ()),
        ("ridge_lams", (-1.0,)),
        ("ridge_lams", (1.0, 1.0)),
        ("ridge_lams", [0.0]),
        ("knn_ks", (40,)),
        ("logistic_Cs", (0.0,)),
        ("kernel_gammas", (0.0,)),
        ("kernel_lam", -1.0),
        ("mlp_weight_decays", (-0.1,)),
        ("mlp_epochs", 0),
        ("mlp_subsets", 1),
        ("mlp_ratio", 1.0),
        ("mlp_batch_size", 41),
        ("fresh", 0),
        ("bayes_samples", 1),
        ("L", 0),
        ("L", 41),
    ],
)
def test_bad_config_values_raise_naming_the_field(field, value):
    # the mixture, sample and trial fields all three share: tests/simulations/test_gaussian_configs.py
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(TOY, **{field: value})
