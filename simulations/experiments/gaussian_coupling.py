r"""Experiment ``gaussian-coupling``: the coupling :math:`\lambda_\ell` of each learner and the
mixture bound it gives.

Feldman's mixture extension (arXiv 1906.05271, Section 3; docs/references.md §1.2): a learner
is :math:`\lambda_\ell`-coupled if, for a training point whose cluster is seen :math:`\ell`
times, the laws of its prediction at :math:`x_i` and at a fresh :math:`x' \sim M_{c_i}` are
within :math:`1 - \lambda_\ell` in total variation; then

.. math:: \mathrm{err} \ \ge\ \mathrm{opt} + \sum_\ell \lambda_\ell\,\tau_\ell\,\mathrm{errn}_S(A, \ell).

Each trial draws a mixture and a training set as in ``gaussian-tail``
(:mod:`simulations.gaussian.trials`) and fits, on the same S: k-NN for each k in ``knn_ks``
(1-NN among them), linear ridge on one-hot targets for each lambda in ``ridge_lams`` (lambda
= 0: the minimum-norm interpolator when n <= dim), RBF kernel ridge for each gamma in
``kernel_gammas`` at ``kernel_lam``, the hard-margin multiclass linear SVM (cvxpy; when
``svm``), L2 logistic regression for each C in ``logistic_Cs``, and small ReLU MLPs
(:mod:`simulations.gaussian.mlp`) for each weight decay in ``mlp_weight_decays`` and training
length in ``mlp_epochs`` (one hidden layer of ``mlp_hidden`` ReLU units, SGD with momentum 0.9,
minibatch ``mlp_batch_size``, learning rate ``mlp_lr``, inputs multiplied by
:math:`\sqrt{d}/`\ ``separation`` so that the cluster means have coordinates of order 1; the
training lengths are snapshots of one run). Per learner and trial it measures

- :math:`\hat\lambda_\ell`, the mean over training examples of clusters seen :math:`\ell` times
  of the fraction of ``fresh`` draws :math:`x' \sim M_{c_i}` on which the prediction equals
  the one at :math:`x_i` (:func:`~simulations.gaussian.measure.coupling`; for a deterministic
  learner an unbiased estimate of :math:`1 - \mathrm{TV}`); it is a *mean* over the points seen
  :math:`\ell` times, where the theorem's :math:`\lambda_\ell` is a bound for every such point;
- :math:`\mathrm{errn}_\ell` (confidence-weighted when ``noise`` > 0), the bound term
  :math:`\sum_\ell\hat\lambda_\ell\tau_\ell\mathrm{errn}_\ell` over every observed l (theory
  :math:`\tau_\ell`, fixed variant), and the measured excess error
  :math:`\mathrm{err} - \mathrm{opt}(\pi, F \mid S)` (point-like opt, as in ``gaussian-tail``);
- exact memorization where it is cheap: closed-form leave-one-out for k-NN, ridge and kernel
  ridge (every training example); for the MLPs, leave-one-out refits of ``mlp_loo`` sampled
  training examples per trial (half of them, or all there are, from clusters seen once),
  trained in the same batch as the models on S, averaged over the ``mlp_seeds`` seeds. Not
  measured for the SVM and logistic regression (n refits each).

The MLPs are randomised (initialisation and data order). Each seed r gives a deterministic
learner :math:`A_r`; the bound is applied to every :math:`A_r` (exact coupling estimate,
R = 1) and averaged: :math:`\mathrm{err}(A) = E_r\,\mathrm{err}(A_r) \ge \mathrm{opt} +
E_r\sum_\ell\lambda_\ell(A_r)\tau_\ell\mathrm{errn}_\ell(A_r)`, a valid bound for A (the
coupling of A itself is at least the mean over r of :math:`\lambda(A_r)`).

The hard-margin SVM exists only when the training set is linearly separable (always, in general
position, when n <= dim + 1). A draw that is not separable is reported (``svm_not_separable``
in the results, a line in the report) and that trial is left out of the SVM's averages; it is
never dropped silently.

Means carry standard errors over trials; ratios (coupling, accuracy) are pooled over trials
with trial-level standard errors (:func:`~simulations.stats.pooled_ratio`).
"""

from __future__ import annotations

import math

import numpy as np

import theory
from simulations.experiment import Context, experiment
from simulations.feldman.measure import TauTable
from simulations.gaussian import KNN, HardMarginSVM, KernelRidge, Logistic
from simulations.gaussian.coupling_config import QUICK, GaussianCoupling, setting_label, settings
from simulations.gaussian.mlp import MLPSweep
from simulations.gaussian.report import coupling_report as report
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
from simulations.stats import mean_se, pooled_ratio

__all__ = ["GaussianCoupling", "QUICK", "run", "trial", "aggregate", "settings", "report"]


def _mlp_sample(data, k: int, rng: np.random.Generator) -> np.ndarray:
    """k training indices: half (or all there are) from clusters seen once, the rest from the
    others, each part uniformly without replacement; sorted."""
    single = np.flatnonzero(data.ell == 1)
    rest = np.flatnonzero(data.ell != 1)
    a = min(single.size, k // 2 + k % 2)
    b = min(rest.size, k - a)
    a = min(single.size, k - b)
    return np.sort(np.concatenate([rng.choice(single, a, replace=False), rng.choice(rest, b, replace=False)]))


# ---------------------------------------------------------------------- one trial
def trial(cfg: GaussianCoupling, t: int, taus: TauTable | None = None) -> dict[str, np.ndarray]:
    """All measurements of trial ``t``: arrays with a leading axis of S settings (NaN rows for a
    setting not fitted in this trial: the SVM on a non-separable draw). Pure in (cfg, t)."""
    rng = trial_rng(cfg.seed, cfg.trials, t)
    prior = theory.zipf(cfg.N, cfg.exponent)
    taus = taus if taus is not None else TauTable(prior, cfg.n, "fixed")
    m, L = cfg.classes, cfg.L
    data = draw_trial(cfg, rng)
    mix, tr, te = data.mixture, data.train, data.test
    plan = settings(cfg)
    S = len(plan)
    # per setting: a predictor of R models (R = 1 except for the MLP seeds), exact LOO labels
    # (n,) or LOO memorization on a sample, and whether it was fitted
    predictors: list = [None] * S
    loo: list = [None] * S
    fitted = np.ones(S, dtype=bool)
    models, ridge_loo = ridge_path(tr.x, tr.y, m, cfg.ridge_lams)
    mlp_idx = [s for s, (f, _) in enumerate(plan) if f == "mlp"]
    for s, (family, p) in enumerate(plan):
        if family == "knn":
            learner = KNN(p[0], m)
            predictors[s] = learner.fit(tr.x, tr.y).predict
            loo[s] = learner.loo_predict(tr.x, tr.y)
        elif family == "ridge":
            j = cfg.ridge_lams.index(p[0])
            predictors[s], loo[s] = models[j].predict, ridge_loo[j]
        elif family == "kernel":
            learner = KernelRidge(m, gamma=p[0], lam=cfg.kernel_lam)
            predictors[s] = learner.fit(tr.x, tr.y).predict
            loo[s] = learner.loo_predict(tr.x, tr.y)
        elif family == "svm":
            try:
                predictors[s] = HardMarginSVM(m).fit(tr.x, tr.y).predict
            except ValueError as exc:
                if "not linearly separable" not in str(exc):
                    raise
                fitted[s] = False  # reported in the results, never silently dropped
        elif family == "logistic":
            predictors[s] = Logistic(m, C=p[0]).fit(tr.x, tr.y).predict
    sample_idx = np.zeros(0, dtype=np.int64)
    mlp_mem = None
    if mlp_idx:
        seeds = rng.integers(2**62, size=cfg.mlp_seeds)
        sample_idx = _mlp_sample(data, cfg.mlp_loo, rng)
        sweep = MLPSweep(
            m,
            hidden=(cfg.mlp_hidden,),
            weight_decays=tuple(float(w) for w in cfg.mlp_weight_decays),
            epochs=tuple(int(e) for e in cfg.mlp_epochs),
            batch_size=cfg.mlp_batch_size,
            lr=cfg.mlp_lr,
            input_scale=math.sqrt(cfg.dim) / cfg.separation,
        ).fit(tr.x, tr.y, seeds=seeds, left_out=sample_idx)
        E, W, R = len(cfg.mlp_epochs), len(cfg.mlp_weight_decays), cfg.mlp_seeds
        mlp_mem = sweep.memorization() if sample_idx.size else None  # (E, W, K)

        def mlp_all(x, sweep=sweep):  # (W * E * R, q) in settings order (wd, epochs), then seed
            return sweep.predict(x).transpose(1, 0, 2, 3).reshape(W * E * R, -1)

    # fresh predictions: one stream of draws shared by every predictor
    live = [predictors[s] for s in range(S) if predictors[s] is not None]
    if mlp_idx:
        live.append(mlp_all)
    fresh = fresh_predictions(live, mix.means, tr.cluster, cfg.scale, cfg.fresh, rng)
    edges, _ = frequency_edges(cfg)
    Lmax = int(data.ell.max())
    tau_all = taus(np.arange(1, Lmax + 1), observed=False)
    single = data.ell == 1
    kw = {"n": cfg.n, "L": L, "edges": edges, "tau_all": tau_all}
    rows: list[dict | None] = [None] * S
    mem = np.full((S, 4), np.nan)  # sum over singletons, count, sum over the rest, count
    row = 0
    for s in range(S):
        if predictors[s] is None:
            continue
        p_train, p_test = predictors[s](tr.x), predictors[s](te.x)
        rows[s] = measure_predictions(data, p_train, p_test, fresh[row], **kw)
        row += 1
        if loo[s] is not None:
            v = (p_train == tr.y).astype(np.float64) - (loo[s] == tr.y)
            mem[s] = [v[single].sum(), single.sum(), v[~single].sum(), (~single).sum()]
    if mlp_idx:
        p_train_all, p_test_all = mlp_all(tr.x), mlp_all(te.x)
        R = cfg.mlp_seeds
        is_single = single[sample_idx]
        for j, s in enumerate(mlp_idx):
            per_seed = []
            for r in range(R):  # each seed is a deterministic learner A_r
                b = j * R + r
                p_fresh = fresh[row + b]
                per_seed.append(measure_predictions(data, p_train_all[b], p_test_all[b], p_fresh, **kw))
            rows[s] = {k: np.mean([d[k] for d in per_seed], axis=0) for k in per_seed[0]}
            if mlp_mem is not None:
                wd_i, e_i = divmod(j, len(cfg.mlp_epochs))
                v = mlp_mem[e_i, wd_i]
                mem[s] = [v[is_single].sum(), is_single.sum(), v[~is_single].sum(), (~is_single).sum()]
    template = next(r for r in rows if r is not None)
    out = {
        k: np.stack([r[k] if r is not None else np.full(np.shape(template[k]), np.nan) for r in rows])
        for k in template
    }
    out.update(
        fitted=fitted,
        mem=mem,
        lam_examples=np.bincount(data.ell, minlength=L + 2)[1 : L + 1],
        group_count=np.bincount(np.minimum(data.counts[te.cluster], L + 1), minlength=L + 2),
        clusters_by_ell=np.bincount(data.counts, minlength=L + 2)[1 : L + 1],
        single_examples=np.int64(single.sum()),
        opt=np.float64(data.opt),
        mlp_sampled=np.int64(sample_idx.size),
        mlp_sampled_singletons=np.int64(single[sample_idx].sum()),
    )
    return {k: np.asarray(v) for k, v in out.items()}


# ---------------------------------------------------------------------- aggregation
def _lambda_rows(lam_sum: np.ndarray, lam_examples: np.ndarray) -> tuple[list[dict], np.ndarray, np.ndarray]:
    r, se = pooled_ratio(lam_sum, lam_examples)
    return [pair(r[l], se[l]) for l in range(r.size)], r, se


def aggregate(cfg: GaussianCoupling, pieces: list[dict]) -> tuple[dict, dict]:
    """Results (JSON-ready) and arrays from the per-trial pieces of :func:`trial`."""
    A = {k: np.stack([p[k] for p in pieces]) for k in pieces[0]}
    T = len(pieces)
    prior = theory.zipf(cfg.N, cfg.exponent)
    tau = theory.taus(prior, cfg.n, range(1, cfg.L + 1))
    crit = finding_threshold(T)
    plan = settings(cfg)
    S, L = len(plan), cfg.L
    lam = np.full((S, L), np.nan)
    lam_se = np.full((S, L), np.nan)
    errn = np.full((S, L), np.nan)
    errn_se = np.full((S, L), np.nan)
    rows, findings, findings_points = [], [], []
    for s, (family, p) in enumerate(plan):
        ok = A["fitted"][:, s]
        Ts = int(ok.sum())
        label = setting_label(family, p, cfg)
        row = {"learner": label, "family": family, "params": list(p), "trials_fitted": Ts}
        if Ts < 2:
            row["note"] = f"fitted in {Ts} of {T} trials; no averages"
            rows.append(row)
            continue
        sub = {k: A[k][ok, s] for k in ("err", "train_err", "bound", "bound_points", "bound_misfit", "errn")}
        opt = A["opt"][ok]
        excess = sub["err"] - opt
        gap = excess - sub["bound"]
        g = mean_se(gap)
        lam_rows, lam[s], lam_se[s] = _lambda_rows(A["lam_sum"][ok, s], A["lam_examples"][ok])
        errn[s] = sub["errn"].mean(axis=0)
        errn_se[s] = sub["errn"].std(axis=0, ddof=1) / math.sqrt(Ts)
        acc_grp, acc_grp_se = pooled_ratio(A["group_correct"][ok, s], A["group_count"][ok])
        mem = A["mem"][ok, s]
        has_mem = bool(np.isfinite(mem).all() and mem[:, 1].sum() > 0 and mem[:, 3].sum() > 0)
        ms = pooled_ratio(mem[:, 0], mem[:, 1]) if has_mem else (np.nan, np.nan)
        mr = pooled_ratio(mem[:, 2], mem[:, 3]) if has_mem else (np.nan, np.nan)
        row.update(
            err=mean_se(sub["err"]),
            train_err=mean_se(sub["train_err"]),
            excess=mean_se(excess),
            bound=mean_se(sub["bound"]),
            bound_value=mean_se(opt + sub["bound"]),
            bound_points=mean_se(sub["bound_points"]),
            bound_misfit=mean_se(sub["bound_misfit"]),
            gap=g,
            z=g["mean"] / g["se"] if g["se"] else None,
            gap_points=mean_se(excess - sub["bound_points"]),
            **{"lambda": lam_rows},
            errn=[mean_se(sub["errn"][:, l]) for l in range(L)],
            acc_unseen=pair(acc_grp[0], acc_grp_se[0]),
            acc_singletons=pair(acc_grp[1], acc_grp_se[1]),
            mem_singletons=pair(*ms),
            mem_rest=pair(*mr),
            mem_examples=[int(mem[:, 1].sum()), int(mem[:, 3].sum())] if has_mem else None,
        )
        if row["z"] is not None and row["z"] < -crit:
            findings.append(
                f"{label}: measured excess {row['excess']['mean']:.4f} is below the bound term "
                f"{row['bound']['mean']:.4f} by {-row['z']:.1f} SE"
            )
        gp = row["gap_points"]
        if gp["se"] and gp["mean"] / gp["se"] < -crit:
            findings_points.append(
                f"{label}: measured excess {row['excess']['mean']:.4f} is below sum_l tau_l errn_l "
                f"{row['bound_points']['mean']:.4f} (lambda = 1) by {-gp['mean'] / gp['se']:.1f} SE"
            )
        rows.append(row)
    svm_bad = (
        [int(t) for t in np.flatnonzero(~A["fitted"][:, [f for f, _ in plan].index("svm")])]
        if cfg.svm
        else []
    )
    results = {
        "trials": T,
        "settings": rows,
        "theory": {
            "variant": "fixed",
            "opt": theory.opt_error(prior, cfg.n, cfg.classes, kappa=1.0 - cfg.noise).value,
            "tau_times_n": {str(l + 1): float(tau[l] * cfg.n) for l in range(L)},
            "singleton_fraction": theory.singleton_fraction(prior, cfg.n),
        },
        "reference": {
            "opt_given_sample": mean_se(A["opt"]),
            "singletons_per_trial": float(A["single_examples"].mean()),
            "clusters_by_ell": [float(v) for v in A["clusters_by_ell"].mean(axis=0)],
            "examples_by_ell": [float(v) for v in A["lam_examples"].mean(axis=0)],
        },
        "mlp_memorization": {
            "sampled_per_trial": float(A["mlp_sampled"].mean()),
            "sampled_singletons_per_trial": float(A["mlp_sampled_singletons"].mean()),
            "refits_per_trial": int(A["mlp_sampled"].max()) * cfg.mlp_seeds * len(cfg.mlp_weight_decays),
        },
        "svm_not_separable": svm_bad,
        "interpolation_regime": cfg.n <= cfg.dim,
        "uniform_labels": cfg.label_mode == "uniform",
        "finding_threshold_se": crit,
        "findings": findings,
        "findings_points": findings_points,
    }
    arrays = {
        "tau": tau,
        "lambda": lam,
        "lambda_se": lam_se,
        "errn": errn,
        "errn_se": errn_se,
        "trial_err": A["err"],
        "trial_bound": A["bound"],
        "trial_opt": A["opt"],
        "fitted": A["fitted"],
        "setting_labels": np.array([r["learner"] for r in rows]),
        "setting_families": np.array([r["family"] for r in rows]),
    }
    return results, arrays


EXPERIMENT = experiment(
    "gaussian-coupling",
    "Gaussian mixture: the coupling lambda_l per learner and the bound it gives",
    config=GaussianCoupling,
    quick=QUICK,
    plot="simulations.plots.gaussian:gaussian_coupling_figures",
)
EXPERIMENT.report(report)


@EXPERIMENT.run
def run(cfg: GaussianCoupling, ctx: Context | None = None) -> tuple[dict, dict]:
    """Every trial (a checkpoint piece of ``ctx`` each), then :func:`aggregate`."""
    # trial is looked up at call time, so a test can replace it
    return aggregate(cfg, run_zipf_trials(cfg, ctx or Context.for_config(cfg), lambda *a: trial(*a)))
