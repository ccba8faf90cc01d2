r"""Experiment ``gaussian-tail``: regularization against rare-cluster accuracy and memorization.

Feldman's mixture extension (arXiv 1906.05271, Section 3; docs/references.md §1.2) on Gaussian
clusters (:mod:`simulations.gaussian.model`): N clusters with Zipf frequencies (fixed variant:
the normalised list randomly assigned), one uniform label each (or position labels), label
noise :math:`\eta`. Each trial draws a fresh mixture, n training and ``n_test`` test examples
(seeds ``np.random.SeedSequence(seed).spawn(trials)``) and fits every learner setting: linear
ridge on one-hot targets over a lambda path (lambda = 0 is the minimum-norm interpolator when
n <= dim), k-NN, L2 logistic regression, RBF kernel ridge for each gamma in ``kernel_gammas`` (at
``kernel_lam``), and small ReLU MLPs (:mod:`simulations.gaussian.mlp`, one hidden layer of
``mlp_hidden`` units, SGD with momentum, ``mlp_epochs`` epochs, inputs scaled by
:math:`\sqrt d/`\ ``separation``) for each weight decay in ``mlp_weight_decays``, trained as one
batch. The MLPs' seeds and subsets come from a child stream of the trial's seed sequence
(``SeedSequence(seed).spawn(trials)[t].spawn(1)[0]``), so adding or removing them leaves every
other setting's numbers unchanged. Per setting and trial it measures

- test error against the clusters' own labels (the true labels, as in :mod:`theory`), and
  accuracy per log-spaced bin of :math:`n\pi_c` and per training multiplicity of the cluster;
- exact leave-one-out memorization :math:`1[h_S(x_i) = y_i] - 1[h_{S\setminus i}(x_i) = y_i]` of
  every training example: closed form for ridge (one SVD for the whole lambda path) and kernel
  ridge, exact refit-free LOO for k-NN. For the MLPs, the *subsampled* estimator of Feldman &
  Zhang (2020, arXiv 2008.03703; docs/references.md §2.1) from ``mlp_subsets`` models per weight decay on
  random subsets of ``mlp_ratio`` n examples (:func:`~simulations.estimators.memorization.
  subset_masks`): mem at that ratio, not leave-one-out; examples that are in every subset or in
  none are left out of its averages (counted). **Logistic regression: memorization is not
  measured** (it would need n refits per setting); its errn, coupling and bound are;
- :math:`\mathrm{errn}_S(A, \ell)` (:func:`~simulations.gaussian.measure.errn_by_multiplicity`;
  confidence-weighted when :math:`\eta > 0`), the coupling :math:`\hat\lambda_\ell` from
  ``fresh`` draws per training example, and the bound term
  :math:`\sum_\ell \hat\lambda_\ell\tau_\ell\,\mathrm{errn}_\ell` over every observed l with the
  theory's :math:`\tau_\ell` (fixed variant). Two variants are kept beside it:
  ``bound_points`` with :math:`\lambda_\ell = 1` (Feldman's bound for a domain of points,
  which the mixture theorem does not promise) and ``bound_misfit``
  :math:`\sum_i \tau_{\ell_i}\hat\lambda_i e_i`, the coupling weighted by the examples that
  are actually misfit (:math:`e_i` from :func:`~simulations.gaussian.measure.errn_contributions`);
- the excess error :math:`\mathrm{err} - \mathrm{opt}(\pi, F\mid S)`, paired within the trial,
  where :math:`\mathrm{opt}(\pi, F \mid S)` is the conditional Bayes error of the *point-like*
  model (:func:`~simulations.gaussian.measure.opt_given_sample`; without noise
  :math:`(1 - 1/m)` times the frequency of unseen clusters). Its expectation is
  ``theory.opt_error``. This assumes the clusters are separated enough to behave like points
  (and uniform labels); ``min_separation_over_scale`` is reported to judge it. The Monte Carlo
  Bayes error of the mixture (an oracle that knows every cluster's label, unseen ones included)
  is a second reference: it is the error due to cluster overlap alone.

Means carry standard errors over trials; ratios (accuracy per bin, memorization, coupling)
are pooled over trials with trial-level (cluster-robust) standard errors.
"""

from __future__ import annotations

import math

import numpy as np

import theory
from simulations.estimators.memorization import subset_masks
from simulations.experiment import Context, experiment
from simulations.feldman.measure import TauTable
from simulations.gaussian import KNN, KernelRidge, Logistic, bayes_error, min_separation_over_scale
from simulations.gaussian.measure import frequency_bin
from simulations.gaussian.report import tail_report as report
from simulations.gaussian.tail_config import QUICK, GaussianTail, setting_label, settings
from simulations.gaussian.trials import (
    draw_trial,
    finding_threshold,
    frequency_edges,
    fresh_predictions,
    measure_predictions,
    pair,
    ridge_path,
    run_zipf_trials,
    trial_rng,
)
from simulations.stats import finite_or_none, mean_se, pooled_ratio

__all__ = ["GaussianTail", "QUICK", "run", "trial", "aggregate", "ridge_path", "frequency_edges", "report"]


def _mlp(cfg: GaussianTail, t: int, x, y):
    """The MLP sweep of trial ``t``: per weight decay, one model on S and ``mlp_subsets`` on random
    subsets, seeds and subsets from the trial's child stream (module docstring)."""
    from simulations.gaussian.mlp import MLPSweep  # torch only when the MLP is asked for

    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(cfg.trials)[t].spawn(1)[0])
    masks = subset_masks(cfg.n, cfg.mlp_subsets, ratio=cfg.mlp_ratio, rng=rng)
    seeds = rng.choice(2**62, size=1 + cfg.mlp_subsets, replace=False)
    sweep = MLPSweep(
        cfg.classes,
        hidden=(cfg.mlp_hidden,),
        weight_decays=tuple(float(w) for w in cfg.mlp_weight_decays),
        epochs=(cfg.mlp_epochs,),
        batch_size=cfg.mlp_batch_size,
        lr=cfg.mlp_lr,
        input_scale=math.sqrt(cfg.dim) / cfg.separation,
    )
    return sweep.fit_subsets(x, y, seeds=seeds, masks=masks)


# ---------------------------------------------------------------------- one trial
def trial(cfg: GaussianTail, t: int, taus: TauTable | None = None) -> dict[str, np.ndarray]:
    """All measurements of trial ``t`` (arrays; S settings, L multiplicities, B frequency bins,
    G = L + 2 multiplicity groups 0, 1, ..., L, > L). A pure function of (cfg, t)."""
    rng = trial_rng(cfg.seed, cfg.trials, t)
    prior = theory.zipf(cfg.N, cfg.exponent)
    taus = taus if taus is not None else TauTable(prior, cfg.n, "fixed")
    m, L = cfg.classes, cfg.L
    data = draw_trial(cfg, rng)
    mix, tr, te = data.mixture, data.train, data.test
    counts, ell = data.counts, data.ell
    bayes, bayes_se = bayes_error(mix, samples=cfg.bayes_samples, rng=rng)
    # against the true labels: err_obs = (1 - eta) err_true + eta (1 - 1/m) for any classifier
    bayes = (bayes - cfg.noise * (1 - 1 / m)) / (1 - cfg.noise)
    bayes_se = bayes_se / (1 - cfg.noise)

    predictors, loos = [], []
    models, ridge_loo = ridge_path(tr.x, tr.y, m, cfg.ridge_lams)
    for j, model in enumerate(models):
        predictors.append(model.predict)
        loos.append(ridge_loo[j])
    for k in cfg.knn_ks:
        learner = KNN(int(k), m)
        predictors.append(learner.fit(tr.x, tr.y).predict)
        loos.append(learner.loo_predict(tr.x, tr.y))
    for C in cfg.logistic_Cs:
        predictors.append(Logistic(m, C=float(C)).fit(tr.x, tr.y).predict)
        loos.append(None)  # memorization of logistic regression is not measured
    for g in cfg.kernel_gammas:
        learner = KernelRidge(m, gamma=float(g), lam=cfg.kernel_lam)
        predictors.append(learner.fit(tr.x, tr.y).predict)
        loos.append(learner.loo_predict(tr.x, tr.y))
    mlp_mem = []
    if cfg.mlp_weight_decays:
        fit = _mlp(cfg, t, tr.x, tr.y)
        for j in range(len(cfg.mlp_weight_decays)):
            predictors.append(lambda x, j=j: fit.predict(x)[0, j])
            loos.append(None)
        mlp_mem = [est.value for est in fit.memorization()[0]]  # (n,) per weight decay
    fresh = fresh_predictions(predictors, mix.means, tr.cluster, cfg.scale, cfg.fresh, rng)

    edges, _ = frequency_edges(cfg)
    S, G, Lmax = len(predictors), L + 2, int(ell.max())
    tau_all = taus(np.arange(1, Lmax + 1), observed=False)
    group = np.minimum(counts[te.cluster], L + 1)
    single = ell == 1
    bin_of_test = frequency_bin(mix.frequencies, cfg.n, edges)[te.cluster]
    rows = []
    mem_single, mem_rest = np.full(S, np.nan), np.full(S, np.nan)
    mem_n = np.zeros((S, 2), dtype=np.int64)  # examples in each memorization sum
    first_mlp = S - len(mlp_mem)
    for s, predict in enumerate(predictors):
        p_test, p_train = predict(te.x), predict(tr.x)
        rows.append(
            measure_predictions(data, p_train, p_test, fresh[s], n=cfg.n, L=L, edges=edges, tau_all=tau_all)
        )
        if loos[s] is not None:
            mem = (p_train == tr.y).astype(np.float64) - (loos[s] == tr.y)
            mem_single[s] = mem[single].sum()
            mem_rest[s] = mem[~single].sum()
            mem_n[s] = [single.sum(), (~single).sum()]
        elif s >= first_mlp:  # subsampled estimate; NaN for examples in every subset or in none
            v = mlp_mem[s - first_mlp]
            ok = np.isfinite(v)
            mem_single[s], mem_rest[s] = v[single & ok].sum(), v[~single & ok].sum()
            mem_n[s] = [(single & ok).sum(), (~single & ok).sum()]
    out = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    out.update(
        mem_single_sum=mem_single,
        mem_rest_sum=mem_rest,
        mem_examples=mem_n,
        bin_count=np.bincount(bin_of_test, minlength=edges.size - 1),
        group_count=np.bincount(group, minlength=G),
        single_examples=np.int64(single.sum()),
        rest_examples=np.int64((~single).sum()),
        lam_examples=np.bincount(ell, minlength=L + 2)[1 : L + 1],
        clusters_by_ell=np.bincount(counts, minlength=L + 2)[1 : L + 1],
        opt=np.float64(data.opt),
        unseen_mass=np.float64(mix.frequencies[counts == 0].sum()),
        bayes=np.float64(bayes),
        bayes_se=np.float64(bayes_se),
        min_sep=np.float64(min_separation_over_scale(mix)),
    )
    return {k: np.asarray(v) for k, v in out.items()}


# ---------------------------------------------------------------------- aggregation
def aggregate(cfg: GaussianTail, pieces: list[dict]) -> tuple[dict, dict]:
    """Results (JSON-ready) and arrays from the per-trial pieces of :func:`trial`."""
    A = {k: np.stack([p[k] for p in pieces]) for k in pieces[0]}
    T = len(pieces)
    prior = theory.zipf(cfg.N, cfg.exponent)
    kappa = 1.0 - cfg.noise
    edges, rare = frequency_edges(cfg)
    tau = theory.taus(prior, cfg.n, range(1, cfg.L + 1))
    excess = A["err"] - A["opt"][:, None]
    gap = excess - A["bound"]
    acc_bin, acc_bin_se = pooled_ratio(A["bin_correct"], A["bin_count"][:, None, :])
    acc_grp, acc_grp_se = pooled_ratio(A["group_correct"], A["group_count"][:, None, :])
    lam, lam_se = pooled_ratio(A["lam_sum"], A["lam_examples"][:, None, :])
    rows = []
    for s, (family, value) in enumerate(settings(cfg)):
        g = mean_se(gap[:, s])
        has_mem = bool(np.isfinite(A["mem_single_sum"][:, s]).all())
        none = (np.nan, np.nan)
        mem_s = pooled_ratio(A["mem_single_sum"][:, s], A["mem_examples"][:, s, 0]) if has_mem else none
        mem_r = pooled_ratio(A["mem_rest_sum"][:, s], A["mem_examples"][:, s, 1]) if has_mem else none
        rows.append(
            {
                "learner": setting_label(family, value),
                "family": family,
                "value": value,
                "err": mean_se(A["err"][:, s]),
                "train_err": mean_se(A["train_err"][:, s]),
                "excess": mean_se(excess[:, s]),
                "bound": mean_se(A["bound"][:, s]),
                "bound_points": mean_se(A["bound_points"][:, s]),
                "gap_points": mean_se(excess[:, s] - A["bound_points"][:, s]),
                "bound_misfit": mean_se(A["bound_misfit"][:, s]),
                "gap": g,
                "z": finite_or_none(g["mean"] / g["se"]) if g["se"] else None,
                "mem_singletons": pair(*mem_s),
                "mem_rest": pair(*mem_r),
                "mem_method": None
                if not has_mem
                else f"subsampled, ratio {cfg.mlp_ratio:g}, {cfg.mlp_subsets} models"
                if family == "mlp"
                else "exact leave-one-out",
                "acc_unseen": pair(acc_grp[s, 0], acc_grp_se[s, 0]),
                "acc_singletons": pair(acc_grp[s, 1], acc_grp_se[s, 1]),
                "acc_rare_bin": pair(acc_bin[s, rare], acc_bin_se[s, rare]),
                "errn": [mean_se(A["errn"][:, s, l]) for l in range(cfg.L)],
                "lambda": [pair(lam[s, l], lam_se[s, l]) for l in range(cfg.L)],
            }
        )
    opt_theory = theory.opt_error(prior, cfg.n, cfg.classes, kappa=kappa).value
    opt_trial = mean_se(A["opt"])
    # flag excess < bound when the paired t statistic over T trials is below the one-sided 0.1%
    # quantile of Student's t with T - 1 degrees of freedom (3 SE would flag ~10% of honest
    # settings at T = 3, where the SE itself is poorly estimated)
    crit = finding_threshold(T)
    findings = []
    for r in rows:
        if r["z"] is not None and r["z"] < -crit:
            findings.append(
                f"{r['learner']}: measured excess {r['excess']['mean']:.4f} is below the bound term "
                f"{r['bound']['mean']:.4f} by {-r['z']:.1f} SE"
            )
    findings_points = []
    for r in rows:
        g = r["gap_points"]
        if g["se"] and g["mean"] / g["se"] < -crit:
            findings_points.append(
                f"{r['learner']}: measured excess {r['excess']['mean']:.4f} is below sum_l tau_l errn_l "
                f"{r['bound_points']['mean']:.4f} (lambda = 1) by {-g['mean'] / g['se']:.1f} SE"
            )
    z_opt = (opt_trial["mean"] - opt_theory) / opt_trial["se"] if opt_trial["se"] else None
    results = {
        "trials": T,
        "settings": rows,
        "theory": {
            "variant": "fixed",
            "kappa": kappa,
            "opt": opt_theory,
            "unseen_mass": theory.unseen_mass(prior, cfg.n),
            "singleton_fraction": theory.singleton_fraction(prior, cfg.n),
            "tau_times_n": {str(l + 1): float(tau[l] * cfg.n) for l in range(cfg.L)},
            "note": "opt assumes uniform labels and clusters that behave like points",
        },
        "reference": {
            "opt_given_sample": opt_trial,
            "opt_z_vs_theory": finite_or_none(z_opt) if z_opt is not None else None,
            "unseen_mass": mean_se(A["unseen_mass"]),
            "bayes_error": mean_se(A["bayes"]),
            "bayes_error_mc_se_median": float(np.median(A["bayes_se"])),
            "min_separation_over_scale": {
                "mean": float(A["min_sep"].mean()),
                "min": float(A["min_sep"].min()),
            },
            "singletons_per_trial": float(A["single_examples"].mean()),
            "clusters_by_ell": [float(v) for v in A["clusters_by_ell"].mean(axis=0)],
        },
        "interpolation_regime": cfg.n <= cfg.dim,
        "uniform_labels": cfg.label_mode == "uniform",
        "rare_bin": [float(edges[rare]), float(edges[rare + 1])],
        "finding_threshold_se": crit,
        "findings": findings,
        "findings_points": findings_points,
    }
    arrays = {
        "bin_edges": edges,
        "acc_by_bin": acc_bin,
        "acc_by_bin_se": acc_bin_se,
        "test_points_by_bin": A["bin_count"].mean(axis=0),
        "tau": tau,
        "errn": A["errn"].mean(axis=0),
        "lambda": lam,
        "lambda_se": lam_se,
        "trial_err": A["err"],
        "trial_excess": excess,
        "trial_bound": A["bound"],
        "trial_opt": A["opt"],
        "setting_labels": np.array([r["learner"] for r in rows]),
    }
    return results, arrays


EXPERIMENT = experiment(
    "gaussian-tail",
    "Gaussian-mixture long tail: regularization against rare-cluster accuracy and memorization",
    config=GaussianTail,
    quick=QUICK,
    plot="simulations.plots.gaussian_tail:gaussian_tail_figures",
)
EXPERIMENT.report(report)


@EXPERIMENT.run
def run(cfg: GaussianTail, ctx: Context | None = None) -> tuple[dict, dict]:
    """Every trial (a checkpoint piece of ``ctx`` each), then :func:`aggregate`."""
    # trial is looked up at call time, so a test can replace it
    return aggregate(cfg, run_zipf_trials(cfg, ctx or Context.for_config(cfg), lambda *a: trial(*a)))
