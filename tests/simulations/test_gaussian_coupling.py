"""The MLP sweep learner (against separately trained models), the shared per-trial measurement
(a hand-computed case), the row-space hard-margin SVM, and experiment gaussian-coupling at toy
size: structure, guaranteed invariants, the non-separable SVM draw, resume from a checkpoint,
figures from saved results, bad configs and the CLI."""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import pytest
import torch

from simulations.cli import main
from simulations.experiments import gaussian_coupling as gc
from simulations.experiments import get, make_config
from simulations.gaussian import GaussianMixture, GaussianSample, HardMarginSVM, label_posterior
from simulations.gaussian.mlp import MLPSweep, train_sweep
from simulations.gaussian.trials import TrialData, fresh_predictions, measure_predictions
from simulations.results import saved_form
from simulations.training import MLP, predict_batched, train_batched, train_one

TOY = gc.GaussianCoupling(
    N=30,
    n=30,
    dim=60,
    classes=4,
    knn_ks=(1, 3),
    ridge_lams=(0.0, 10.0),
    kernel_gammas=(0.5,),
    logistic_Cs=(1.0,),
    mlp_weight_decays=(0.0, 0.03),
    mlp_epochs=(2, 10),
    mlp_hidden=16,
    mlp_seeds=2,
    mlp_loo=4,
    mlp_batch_size=8,
    trials=3,
    n_test=300,
    fresh=4,
    L=3,
)
LABELS = [
    "1-NN",
    "3-NN",
    "ridge lam=0 (min-norm)",
    "ridge lam=10",
    "RBF kernel ridge gamma=0.5",
    "hard-margin SVM",
    "logistic C=1",
    "MLP wd=0, 2 epochs",
    "MLP wd=0, 10 epochs",
    "MLP wd=0.03, 2 epochs",
    "MLP wd=0.03, 10 epochs",
]


@pytest.fixture(scope="module")
def toy():
    return gc.run(TOY)


# ------------------------------------------------------------------------------ the MLP sweep
def _problem(n=33, d=5, m=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(m, size=n)


def test_train_sweep_equals_separately_trained_models():
    # n = 33, batch 8: models on S take 5 steps per epoch, models without one example 4, so the
    # batch has steps where some models are inactive (they must keep parameters and momentum)
    x, y = _problem()
    spec = MLP(5, (7,), 3)
    masks = np.ones((4, 33), dtype=bool)
    masks[1, 4] = masks[3, 30] = False
    seeds = np.array([11, 11, 12, 12])
    wds = np.array([0.0, 0.0, 0.0, 0.05])  # group_size 3 below: a group without any weight decay
    hyper = {"batch_size": 8, "lr": 0.1, "momentum": 0.9}
    snaps = train_sweep(spec, x, y, masks, seeds, wds, epochs=(1, 3), dtype=torch.float64, **hyper)
    assert sorted(snaps) == [1, 3]
    for E in (1, 3):
        for b in range(4):
            args = (spec, x, y, masks[b : b + 1], seeds[b : b + 1])
            ref = train_batched(*args, epochs=E, weight_decay=wds[b], dtype=torch.float64, **hyper)
            one = train_one(spec, x, y, masks[b], int(seeds[b]), epochs=E, weight_decay=wds[b],
                            dtype=torch.float64, **hyper)  # fmt: skip
            for k in ref:
                torch.testing.assert_close(snaps[E][k][b], ref[k][0], rtol=1e-12, atol=1e-12)
                torch.testing.assert_close(snaps[E][k][b], one[k], rtol=1e-9, atol=1e-10)
    # the grouping does not change the models (groups of 3: models 0-2 without weight decay, model 3 with)
    grouped = train_sweep(
        spec, x, y, masks, seeds, wds, epochs=(1, 3), dtype=torch.float64, group_size=3, **hyper
    )
    for k in snaps[3]:
        torch.testing.assert_close(grouped[3][k], snaps[3][k], rtol=1e-12, atol=1e-12)


def test_mlp_sweep_layout_predictions_and_memorization_against_separate_training():
    x, y = _problem(n=20, d=4, m=3, seed=1)
    sweep = MLPSweep(3, hidden=(6,), weight_decays=(0.0, 0.1), epochs=(2, 5), batch_size=8, lr=0.2,
                     input_scale=2.0)  # fmt: skip
    fitted = sweep.fit(x, y, seeds=[3, 4], left_out=[2, 7])
    assert fitted.shape == (2, 2, 2, 3)
    every = fitted.predict_all(x)
    assert every.shape == (2, 2, 2, 3, 20)
    np.testing.assert_array_equal(fitted.predict(x), every[:, :, :, 0])
    spec = MLP(4, (6,), 3)
    mem = np.zeros((2, 2, 2))
    for e, E in enumerate((2, 5)):
        for w, wd in enumerate((0.0, 0.1)):
            for r, seed in enumerate((3, 4)):
                for j, out in enumerate((None, 2, 7)):
                    mask = np.ones(20, dtype=bool)
                    if out is not None:
                        mask[out] = False
                    p = train_batched(spec, 2.0 * x, y, mask[None], [seed], epochs=E, batch_size=8, lr=0.2,
                                      weight_decay=wd)  # fmt: skip
                    pred = predict_batched(spec, p, torch.as_tensor(2.0 * x, dtype=torch.float32))[0].numpy()
                    np.testing.assert_array_equal(every[e, w, r, j], pred)
                    if (
                        out is not None
                    ):  # mem = 1[h_S(x_i) = y_i] - 1[h_{S minus i}(x_i) = y_i], mean over seeds
                        mem[e, w, j - 1] += (
                            int(every[e, w, r, 0, out] == y[out]) - int(pred[out] == y[out])
                        ) / 2
    np.testing.assert_allclose(fitted.memorization(), mem)
    assert np.all(np.abs(fitted.memorization()) <= 1)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"hidden": ()}, "hidden"),
        ({"weight_decays": (-1.0,)}, "weight_decays"),
        ({"epochs": (5, 3)}, "epochs"),
        ({"epochs": (0,)}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"input_scale": 0.0}, "input_scale"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_mlp_sweep_bad_hyperparameters_raise_naming_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        MLPSweep(3, **change)


def test_mlp_sweep_bad_fit_arguments_raise():
    x, y = _problem(n=10, d=3)
    sweep = MLPSweep(3, hidden=(4,), epochs=(1,))
    with pytest.raises(ValueError, match="left_out"):
        sweep.fit(x, y, seeds=[1], left_out=[10])
    with pytest.raises(ValueError, match="left_out"):
        sweep.fit(x, y, seeds=[1], left_out=[2, 2])
    with pytest.raises(ValueError, match="seeds"):
        sweep.fit(x, y, seeds=[1, 1])
    with pytest.raises(ValueError, match="weight_decays"):
        train_sweep(MLP(3, (4,), 3), x, y, np.ones((2, 10), dtype=bool), [1, 2], [0.0], epochs=(1,),
                    batch_size=4, lr=0.1)  # fmt: skip


# ------------------------------------------------------------------------------ shared trial pieces
def test_measure_predictions_hand_computed():
    # 3 clusters with frequencies 0.5, 0.3, 0.2 and labels 0, 1, 2; training clusters [0, 0, 1, 2]
    # (multiplicities 2, 1, 1), test clusters [0, 1, 2, 0, 1]; every number below by hand from the
    # definitions in simulations.gaussian.measure (docs/references.md §1.2)
    mix = GaussianMixture(np.eye(3, 2), np.array([0.5, 0.3, 0.2]), np.array([0, 1, 2]), 3, 1.0)
    tr = GaussianSample(x=np.zeros((4, 2)), y=np.array([0, 0, 1, 2]), cluster=np.array([0, 0, 1, 2]),
                        clean=np.ones(4, dtype=bool))  # fmt: skip
    te = GaussianSample(x=np.zeros((5, 2)), y=np.array([0, 1, 2, 0, 1]), cluster=np.array([0, 1, 2, 0, 1]),
                        clean=np.ones(5, dtype=bool))  # fmt: skip
    post = label_posterior(tr.cluster, tr.y, 3, 3)
    data = TrialData(mixture=mix, train=tr, test=te, truth=np.array([0, 1, 2, 0, 1]),
                     counts=np.array([2, 1, 1]), ell=np.array([2, 2, 1, 1]), posterior=post, weights=None,
                     opt=0.0)  # fmt: skip
    p_train = np.array([0, 1, 0, 2])  # examples 1 (cluster 0) and 2 (cluster 1) not fitted
    p_test = np.array([0, 2, 2, 1, 1])  # correct at test points 0, 2, 4
    p_fresh = np.array([[0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 0], [2, 0, 0, 0]])  # lambda_i 3/4, 1/2, 1, 1/4
    got = measure_predictions(data, p_train, p_test, p_fresh, n=4, L=3, edges=np.array([0.1, 1.0, 10.0]),
                              tau_all=np.array([0.1, 0.2]))  # fmt: skip
    assert got["err"] == pytest.approx(2 / 5) and got["train_err"] == pytest.approx(2 / 4)
    # errn_1: cluster 1's single example misfit (1), cluster 2 fitted (0); errn_2: one of 2 -> 1/2
    np.testing.assert_allclose(got["errn"], [1.0, 0.5, 0.0])
    # lambda_1 = (1 + 1/4) / 2, lambda_2 = (3/4 + 1/2) / 2, both 0.625
    np.testing.assert_allclose(got["lam_sum"], [1.25, 1.25, 0.0])
    # bound = 0.625 * 0.1 * 1 + 0.625 * 0.2 * 0.5; lambda = 1: 0.1 + 0.1; misfit-weighted:
    # tau_2 * lambda_1 * (1/2) + tau_1 * lambda_2 * 1 = 0.2 * 0.5 * 0.5 + 0.1 * 1 * 1
    assert got["bound"] == pytest.approx(0.125)
    assert got["bound_points"] == pytest.approx(0.2)
    assert got["bound_misfit"] == pytest.approx(0.15)
    np.testing.assert_allclose(got["terms"], [0.0625, 0.0625, 0.0])
    # groups by multiplicity (0, 1, 2, 3, > 3): test multiplicities [2, 1, 1, 2, 1]
    np.testing.assert_allclose(got["group_correct"], [0, 2, 1, 0, 0])
    # bins of n pi = (2, 1.2, 0.8) in [0.1, 1), [1, 10): test bins [1, 1, 0, 1, 1]
    np.testing.assert_allclose(got["bin_correct"], [1, 2])


def test_fresh_predictions_of_a_multi_model_predictor_fill_consecutive_rows():
    rng = np.random.default_rng(0)
    means, cluster = rng.normal(size=(4, 3)), np.array([0, 1, 1, 3, 2])

    def one(x):
        return (x[:, 0] > 0).astype(np.int64)

    def two(x):
        return np.stack([(x[:, 1] > 0), (x[:, 2] > 0)]).astype(np.int64)

    a = fresh_predictions([one, two], means, cluster, 0.5, 3, np.random.default_rng(1))
    b = fresh_predictions([one, lambda x: two(x)[0], lambda x: two(x)[1]], means, cluster, 0.5, 3,
                          np.random.default_rng(1))  # fmt: skip
    assert a.shape == (3, 5, 3)
    np.testing.assert_array_equal(a, b)


def test_svm_in_the_row_space_equals_the_direct_problem():
    # the same data embedded in more dimensions (zeros appended): d = 12 > n = 8 takes the
    # row-space path, d = 4 <= n the direct one; the solutions must agree (zeros appended)
    rng = np.random.default_rng(3)
    x4 = rng.normal(size=(8, 4))
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    x4[np.arange(8), y] += 4.0  # separable
    direct = HardMarginSVM(3).fit(x4, y)
    wide = HardMarginSVM(3).fit(np.hstack([x4, np.zeros((8, 8))]), y)
    np.testing.assert_allclose(wide.W[:4], direct.W, atol=1e-6)
    np.testing.assert_allclose(wide.W[4:], 0.0, atol=1e-9)
    np.testing.assert_allclose(wide.b, direct.b, atol=1e-6)


# ------------------------------------------------------------------------------ the experiment
def test_result_structure(toy):
    results, arrays = toy
    assert [r["learner"] for r in results["settings"]] == LABELS
    S = len(LABELS)
    assert arrays["lambda"].shape == (S, 3) and arrays["errn"].shape == (S, 3) and arrays["tau"].shape == (3,)
    assert arrays["trial_err"].shape == (3, S) and arrays["fitted"].all()
    assert results["svm_not_separable"] == [] and results["interpolation_regime"] is True
    mm = results["mlp_memorization"]
    # 4 sampled examples per trial, refit for each of 2 seeds and 2 weight decays
    assert mm["sampled_per_trial"] == 4 and mm["refits_per_trial"] == 16


def test_invariants(toy):
    results, arrays = toy
    for r in results["settings"]:
        assert r["trials_fitted"] == 3
        assert 0.0 <= r["err"]["mean"] <= 1.0 and 0.0 <= r["train_err"]["mean"] <= 1.0
        # lambda <= 1 makes every bound term at most tau_l errn_l
        assert 0.0 <= r["bound"]["mean"] <= r["bound_points"]["mean"] + 1e-15
        assert all(v["mean"] is None or 0.0 <= v["mean"] <= 1.0 for v in r["lambda"])
        assert all(e["mean"] >= 0.0 for e in r["errn"])
        if r["family"] in ("svm", "logistic"):  # memorization not measured
            assert r["mem_singletons"]["mean"] is None and r["mem_examples"] is None
        else:
            assert -1.0 <= r["mem_singletons"]["mean"] <= 1.0 and -1.0 <= r["mem_rest"]["mean"] <= 1.0
    np.testing.assert_allclose(
        np.array([r["bound_value"]["mean"] for r in results["settings"]]),
        arrays["trial_opt"].mean() + np.array([r["bound"]["mean"] for r in results["settings"]]),
    )


def test_interpolators_fit_everything_so_their_bound_term_is_zero(toy):
    # guaranteed: n = 30 <= dim = 60 (general position): ridge at lambda = 0, RBF kernel ridge at
    # lambda = 0 and the hard-margin SVM fit every label; 1-NN returns a training point's own
    # label. Train error 0 -> errn = 0 -> bound term exactly 0, and mem = 1 - 1[LOO correct] >= 0
    results, _ = toy
    rows = {r["learner"]: r for r in results["settings"]}
    for name in ("1-NN", "ridge lam=0 (min-norm)", "RBF kernel ridge gamma=0.5", "hard-margin SVM"):
        r = rows[name]
        assert (
            r["train_err"]["mean"] == 0.0 and r["bound"]["mean"] == 0.0 and r["bound_points"]["mean"] == 0.0
        )
        if r["mem_singletons"]["mean"] is not None:
            assert r["mem_singletons"]["mean"] >= 0.0 and r["mem_rest"]["mean"] >= 0.0


def test_trial_is_a_pure_function_of_config_and_index():
    a, b = gc.trial(TOY, 1), gc.trial(TOY, 1)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_non_separable_draw_is_reported_not_dropped():
    # dim = 2 with n = 30 points of 4 classes on overlapping clusters: not linearly separable
    cfg = dataclasses.replace(TOY, dim=2, scale=0.5, mlp_weight_decays=(), mlp_epochs=(), trials=2)
    results, arrays = gc.run(cfg)
    svm = next(r for r in results["settings"] if r["family"] == "svm")
    assert results["svm_not_separable"] == [0, 1] and svm["trials_fitted"] == 0 and "note" in svm
    assert not arrays["fitted"][:, LABELS.index("hard-margin SVM")].any()
    text = gc.report(results, None)
    assert "not linearly separable in trial(s) [0, 1]" in text and "fitted in 0 of 2 trials" in text


def test_report_names_every_setting_from_the_saved_form(toy):
    # run, redraw and resume through the CLI: tests/simulations/test_experiment_contract.py
    text = get("gaussian-coupling").report(saved_form(toy[0]), None)
    assert "| 1-NN |" in text and "| MLP wd=0.03, 10 epochs |" in text and "separable in every trial" in text


def test_quick_config_is_valid_and_smaller():
    cfg = make_config(get("gaussian-coupling"), quick=True)
    full = gc.GaussianCoupling()
    assert isinstance(cfg, gc.GaussianCoupling) and cfg.trials < full.trials and cfg.n < full.n
    for c in (cfg, full):  # the SVM problem is feasible and ridge at lambda = 0 interpolates
        assert (
            c.n <= c.dim and c.svm and 0.0 in c.ridge_lams and 1 in c.knn_ks and len(c.mlp_weight_decays) == 2
        )


@pytest.mark.parametrize(
    "field, value",
    [
        ("knn_ks", (30,)),
        ("knn_ks", [1]),
        ("ridge_lams", (-1.0,)),
        ("ridge_lams", (1.0, 1.0)),
        ("kernel_gammas", (0.0,)),
        ("kernel_lam", -1.0),
        ("svm", "yes"),
        ("logistic_Cs", (0.0,)),
        ("mlp_weight_decays", (-0.1,)),
        ("mlp_epochs", (10, 2)),
        ("mlp_epochs", (0,)),
        ("mlp_hidden", 0),
        ("mlp_seeds", 0),
        ("mlp_loo", 31),
        ("mlp_lr", 0.0),
        ("mlp_batch_size", 0),
        ("fresh", 0),
        ("L", 0),
    ],
)
def test_bad_config_values_raise_naming_the_field(field, value):
    # the mixture, sample and trial fields all three share: tests/simulations/test_gaussian_configs.py
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(TOY, **{field: value})


def test_mlp_fields_must_come_together():
    with pytest.raises(ValueError, match="mlp_weight_decays, mlp_epochs"):
        dataclasses.replace(TOY, mlp_epochs=())


# ------------------------------------------------------------------------------ tailmem benchmark loo
def test_benchmark_loo_prints_the_scaled_refit_time_and_ratio(capsys):
    # n = 40: the closed form against 20 timed refits per lambda, scaled by n / 20 = 2
    assert main(["benchmark", "loo", "--loo-n", "40"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and "closed-form ridge LOO, n=40" in out[0]
    assert (
        "20 of 40 refits per lambda measured" in out[1]
        and "scaled by n/20" in out[1]
        and "estimate" in out[1]
    )
    assert "speed-up" in out[2] and "labels agree on 100.0%" in out[2]


@pytest.mark.parametrize("value", ["5", "abc", "-3"])
def test_benchmark_loo_bad_n_exits_2_with_one_line(value, capsys):
    # argparse rejects a non-integer itself (SystemExit 2); the range check returns 2
    ctx = pytest.raises(SystemExit) if value == "abc" else contextlib.nullcontext()
    with ctx as caught:
        rc = main(["benchmark", "loo", "--loo-n", value])
    rc = caught.value.code if value == "abc" else rc
    err = capsys.readouterr().err
    assert rc == 2 and "--loo-n" in err and "Traceback" not in err and err.count("\n") == 1
