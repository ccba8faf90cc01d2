r"""Experiment ``gaussian-dp``: the disparate effect of privacy and of regularization on rare
clusters.

Feldman (arXiv 1906.05271; docs/references.md §1.3): an algorithm that cannot memorize pays on
the long tail. Each trial draws a Gaussian mixture with Zipf frequencies and n training
examples (:mod:`simulations.gaussian.trials`) and fits

- :class:`~simulations.gaussian.PrivateLogistic` (output perturbation, Chaudhuri et al. 2011) at
  every :math:`\varepsilon` in ``epsilons``, ``dp_draws`` noise draws each, from one exact
  one-vs-rest fit with :math:`\Lambda` = ``dp_lam`` (:func:`~simulations.gaussian.logistic.
  private_logistic_path`; the same fit without noise is the non-private reference,
  :math:`\varepsilon = \infty`);
- softmax regression trained by DP-SGD (:mod:`simulations.gaussian.dpsgd`: per-example clipping
  to norm ``dpsgd_clip``, Gaussian noise, Poisson subsampling at rate ``dpsgd_sample_rate``,
  ``dpsgd_steps`` steps) at every target :math:`\varepsilon` in ``dpsgd_epsilons`` with
  :math:`\delta` = ``dpsgd_delta``, the noise multiplier calibrated by the RDP accountant of the
  sampled Gaussian mechanism (:func:`theory.dp_sgd_sigma`, classic conversion), ``dpsgd_draws``
  runs each; the same training without noise (:math:`\sigma = 0`) is its reference;
- linear ridge on one-hot targets for each lambda in ``ridge_lams`` and L2 logistic regression
  for each C in ``logistic_Cs`` (non-private regularization sweeps).

It measures test accuracy (against the clusters' own labels) per group of training
multiplicity :math:`\ell_c` (edges ``mult_edges``: unseen, seen once, ...) and per half-decade
bin of :math:`n\pi_c`, the drop against the reference of each sweep (non-private; the smallest
ridge lambda; the largest C), paired within the trial, and the gap between the most frequent
group and the clusters seen once.

**Theory beside it (private rows only).** PrivateLogistic is :math:`\varepsilon`-DP with respect
to whole examples (features and labels), so it is :math:`\varepsilon`-label-DP: changing one
label is a change of one example. DP-SGD is :math:`(\varepsilon, \delta)`-DP for adding or removing
one example, hence :math:`(2\varepsilon, (1 + e^\varepsilon)\delta)`-label-DP
(:func:`~simulations.gaussian.label_dp.replace_one`); its ceiling and costs use these. With
uniform labels, independent across clusters, the test accuracy on a cluster seen :math:`\ell`
times is then at most

.. math:: \min(1,\ e^{\ell\varepsilon}/m)

(plus :math:`\delta_\ell` for DP-SGD, :mod:`simulations.gaussian.label_dp`) in expectation over
the labels (group privacy over its :math:`\ell` examples: the output law
moves by at most :math:`e^{\ell\varepsilon}` when the cluster's label changes, and averaging
over the m labels gives the bound; our derivation, the per-cluster form of Feldman's label-DP
cost). The ``ceiling`` of a group or bin is this bound averaged over its test points (given
the sample's multiplicities). For the excess error over opt the theory gives
``theory.bound(prior, n, m, epsilon=eps).cost_memorization_limit``
:math:`= \tau_1 E[\#S_1]\,\mathrm{conf}\,(1 - e^\varepsilon/m)_+` (singletons only, docs/references.md §1.3)
and, summing the per-cluster bound over every :math:`\ell`, ``cost_all_ell``
:math:`= \sum_\ell \mathrm{mass}_\ell\,(\mathrm{acc}_\ell - e^{\ell\varepsilon}/m)_+`
(:math:`\mathrm{acc}_\ell` the Bayes accuracy of a cluster seen :math:`\ell` times, 1 without
noise). Both are 0 for :math:`\varepsilon \ge \ln m`. The regularization sweeps are not private:
no ceiling applies there; ridge's exact leave-one-out memorization is reported instead.

Means carry standard errors over trials; accuracies are pooled over trials with trial-level
standard errors (:func:`~simulations.stats.pooled_ratio`).
"""

from __future__ import annotations

import math

import numpy as np

import theory
from simulations.experiment import Context, experiment
from simulations.gaussian import Logistic
from simulations.gaussian.dp_config import (
    PRIVATE,
    QUICK,
    GaussianDP,
    dpsgd_sigmas,
    label_levels,
    setting_label,
    settings,
)
from simulations.gaussian.dpsgd import dpsgd_path
from simulations.gaussian.label_dp import ceiling, label_dp_cost
from simulations.gaussian.logistic import private_logistic_path
from simulations.gaussian.measure import frequency_bin
from simulations.gaussian.report import dp_report as report
from simulations.gaussian.trials import (
    draw_trial,
    finding_threshold,
    frequency_edges,
    pair,
    ridge_path,
    run_trials,
    trial_rng,
)
from simulations.stats import mean_se, pooled_ratio

__all__ = [
    "GaussianDP",
    "QUICK",
    "run",
    "trial",
    "aggregate",
    "settings",
    "dpsgd_sigmas",
    "ceiling",
    "label_dp_cost",
    "report",
]


# ---------------------------------------------------------------------- one trial
def trial(cfg: GaussianDP, t: int) -> dict[str, np.ndarray]:
    """All measurements of trial ``t`` (S settings, G multiplicity groups, B frequency bins,
    E epsilons, E2 DP-SGD epsilons). A pure function of (cfg, t)."""
    rng = trial_rng(cfg.seed, cfg.trials, t)
    m = cfg.classes
    data = draw_trial(cfg, rng)
    mix, tr, te = data.mixture, data.train, data.test
    edges, _ = frequency_edges(cfg)
    B = edges.size - 1
    gedges = np.asarray(cfg.mult_edges)
    ell_test = data.counts[te.cluster]
    group = np.searchsorted(gedges, ell_test, side="right")  # 0: unseen, ..., len(edges): >= last
    G = gedges.size + 1
    bins = frequency_bin(mix.frequencies, cfg.n, edges)[te.cluster]
    plan = settings(cfg)
    S = len(plan)

    def tallies(preds: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(error, correct per group, correct per bin) averaged over the rows of ``preds`` (D, q)."""
        ok = (preds == data.truth).astype(np.float64)
        return (
            1.0 - ok.mean(),
            np.stack([np.bincount(group, weights=o, minlength=G) for o in ok]).mean(axis=0),
            np.stack([np.bincount(bins, weights=o, minlength=B) for o in ok]).mean(axis=0),
        )

    err, gcorr, bcorr = np.empty(S), np.empty((S, G)), np.empty((S, B))
    path = private_logistic_path(
        tr.x, tr.y, m, lam=cfg.dp_lam, epsilons=cfg.epsilons, rng=rng, draws=cfg.dp_draws
    )
    s = 0
    np_pred = path.model(None).predict(te.x)
    seen_test = (ell_test > 0).astype(np.float64)
    err[s], gcorr[s], bcorr[s] = tallies(np_pred[None])
    for e in range(len(cfg.epsilons)):
        s += 1
        preds = np.stack([path.model(e, k).predict(te.x) for k in range(cfg.dp_draws)])
        err[s], gcorr[s], bcorr[s] = tallies(preds)
    s_dpsgd = s + 1
    s += len(cfg.dpsgd_epsilons) + 1 if cfg.dpsgd_epsilons else 0
    mem = np.full((S, 2), np.nan)  # exact LOO memorization summed over singletons / the rest
    single = data.ell == 1
    models, loo = ridge_path(tr.x, tr.y, m, cfg.ridge_lams)
    for j, model in enumerate(models):
        s += 1
        err[s], gcorr[s], bcorr[s] = tallies(model.predict(te.x)[None])
        v = (model.predict(tr.x) == tr.y).astype(np.float64) - (loo[j] == tr.y)
        mem[s] = [v[single].sum(), v[~single].sum()]
    for C in cfg.logistic_Cs:
        s += 1
        err[s], gcorr[s], bcorr[s] = tallies(Logistic(m, C=float(C)).fit(tr.x, tr.y).predict(te.x)[None])
    out = {"err": err, "group_correct": gcorr, "bin_correct": bcorr, "mem": mem}

    def ceilings(levels, ref_correct: np.ndarray, prefix: str) -> None:
        """The label-DP ceiling of each level summed over the test points of each group / bin, and
        the reference model's correct answers and the ceiling on the seen clusters of each bin (on
        unseen clusters both are 1/m in expectation, so they force no drop)."""
        ceil = np.stack([ceiling(ell_test, e, m, delta=d) for e, d in levels])  # (E, q)
        out[prefix + "ceil_group"] = np.stack([np.bincount(group, weights=c, minlength=G) for c in ceil])
        out[prefix + "ceil_bin"] = np.stack([np.bincount(bins, weights=c, minlength=B) for c in ceil])
        out[prefix + "ref_bin_correct_seen"] = np.bincount(bins, weights=ref_correct * seen_test, minlength=B)
        out[prefix + "ceil_bin_seen"] = np.stack(
            [np.bincount(bins, weights=c * seen_test, minlength=B) for c in ceil]
        )

    ceilings(label_levels(cfg, "private"), np_pred == data.truth, "")
    if cfg.dpsgd_epsilons:  # last, so that the other settings use the same draws with or without it
        sgd = dpsgd_path(
            tr.x, tr.y, m, sigmas=dpsgd_sigmas(cfg), clip=cfg.dpsgd_clip, sample_rate=cfg.dpsgd_sample_rate,
            steps=cfg.dpsgd_steps, lr=cfg.dpsgd_lr, rng=rng, draws=cfg.dpsgd_draws,
        )  # fmt: skip
        for j in range(len(cfg.dpsgd_epsilons) + 1):
            preds = np.stack([sgd.model(j, k).predict(te.x) for k in range(cfg.dpsgd_draws)])
            err[s_dpsgd + j], gcorr[s_dpsgd + j], bcorr[s_dpsgd + j] = tallies(preds)
            if j == 0:  # the reference (no noise): its correct answers averaged over the draws
                ref_correct = (preds == data.truth).mean(axis=0)
        ceilings(label_levels(cfg, "dpsgd"), ref_correct, "dpsgd_")
    out.update(
        bin_seen_count=np.bincount(bins, weights=seen_test, minlength=B),
        group_count=np.bincount(group, minlength=G),
        bin_count=np.bincount(bins, minlength=B),
        single_examples=np.int64(single.sum()),
        rest_examples=np.int64((~single).sum()),
        opt=np.float64(data.opt),
    )
    return {k: np.asarray(v) for k, v in out.items()}


# ---------------------------------------------------------------------- aggregation
def _group_names(cfg: GaussianDP) -> list[str]:
    e = cfg.mult_edges
    names = ["unseen"]
    for a, b in zip(e, e[1:], strict=False):
        names.append("seen once" if (a, b) == (1, 2) else f"seen {a}-{b - 1}")
    return names + [f"seen >= {e[-1]}"]


def _least_drop_by_bin(A: dict, prefix: str) -> np.ndarray:
    """Least drop per bin forced by the ceiling: (reference accuracy - ceiling)_+ on the seen
    clusters of a bin, weighted by their share of the bin's test points. Shape (E, B)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        seen = A["bin_seen_count"].sum(axis=0)
        ref_seen = A[prefix + "ref_bin_correct_seen"].sum(axis=0) / seen
        ceil_seen = A[prefix + "ceil_bin_seen"].sum(axis=0) / seen
        return np.maximum(ref_seen[None, :] - ceil_seen, 0.0) * (seen / A["bin_count"].sum(axis=0))


def _label_dp_theory(cfg: GaussianDP, level: tuple, ceiling: np.ndarray, acc_reference: np.ndarray,
                     gnames: list[str]) -> dict:
    """The theory beside a private setting whose label-DP level is ``level`` = (eps_l, delta_l):
    its accuracy ceiling per group, the least drop from the reference that forces, and the costs."""
    prior, kappa, m = theory.zipf(cfg.N, cfg.exponent), 1.0 - cfg.noise, cfg.classes
    eps_l, delta_l = level
    rep = theory.bound(prior, cfg.n, m, kappa=kappa, epsilon=eps_l, delta=delta_l)
    return {
        "label_dp": [eps_l, delta_l],
        "ceiling": {name: float(ceiling[g]) for g, name in enumerate(gnames)},
        # acc(eps) <= ceiling, so the drop from the reference is at least this (0 on unseen
        # clusters, where both are 1/m in expectation)
        "min_drop": {name: max(0.0, float(acc_reference[g] - ceiling[g])) if g > 0 else 0.0
                     for g, name in enumerate(gnames)},
        "cost_singletons": rep.cost_memorization_limit,
        "cost_all_ell": label_dp_cost(prior, cfg.n, m, eps_l, kappa=kappa, delta=delta_l),
    }  # fmt: skip


def _label_dp_findings(row: dict, acc: np.ndarray, acc_se: np.ndarray, ceiling: np.ndarray,
                       gnames: list[str], crit: float) -> list[str]:
    """A private setting's measurements beyond ``crit`` SE on the wrong side of its theory: accuracy
    above the label-DP ceiling on seen clusters, excess error below the label-DP cost."""
    found = []
    for g in range(1, len(gnames)):
        a, se = acc[g], acc_se[g]
        if np.isfinite(a) and se > 0 and (a - ceiling[g]) / se > crit:
            found.append(f"{row['learner']}: accuracy {a:.4f} on clusters {gnames[g]} is above the label-DP "
                         f"ceiling {ceiling[g]:.4f} by {(a - ceiling[g]) / se:.1f} SE")
    ex, cost = row["excess"], row["theory"]["cost_all_ell"]
    if ex["se"] and (cost - ex["mean"]) / ex["se"] > crit:
        found.append(f"{row['learner']}: excess error {ex['mean']:.4f} is below the label-DP cost "
                     f"{cost:.4f} by {(cost - ex['mean']) / ex['se']:.1f} SE")
    return found  # fmt: skip


def _dpsgd_settings(cfg: GaussianDP) -> dict:
    """DP-SGD's settings and accounting, as the report states them."""
    return {
        "sample_rate": cfg.dpsgd_sample_rate,
        "steps": cfg.dpsgd_steps,
        "delta": cfg.dpsgd_delta,
        "clip": cfg.dpsgd_clip,
        "lr": cfg.dpsgd_lr,
        "expected_batch": cfg.dpsgd_sample_rate * cfg.n,
        "accounting": "RDP of the Poisson-subsampled Gaussian (Mironov, Talwar & Zhang 2019), integer "
        "orders, classic conversion (Mironov 2017, Prop. 3); add/remove-one neighbours",
        "label_dp": "replace-one label change = remove + add: (2 eps, (1 + e^eps) delta)-label-DP",
    }


def aggregate(cfg: GaussianDP, pieces: list[dict]) -> tuple[dict, dict]:
    """Results (JSON-ready) and arrays from the per-trial pieces of :func:`trial`."""
    A = {k: np.stack([p[k] for p in pieces]) for k in pieces[0]}
    T = len(pieces)
    prior = theory.zipf(cfg.N, cfg.exponent)
    kappa = 1.0 - cfg.noise
    m = cfg.classes
    crit = finding_threshold(T)
    plan = settings(cfg)
    S = len(plan)
    edges, rare_bin = frequency_edges(cfg)
    gnames = _group_names(cfg)
    G = len(gnames)
    acc_g, acc_g_se = pooled_ratio(A["group_correct"], A["group_count"][:, None, :])  # (S, G)
    acc_b, acc_b_se = pooled_ratio(A["bin_correct"], A["bin_count"][:, None, :])  # (S, B)
    prefixes = {"private": "", "dpsgd": "dpsgd_"}
    ceil_g, ceil_b = {}, {}
    for fam in (f for f in PRIVATE if prefixes[f] + "ceil_group" in A):
        ceil_g[fam], _ = pooled_ratio(A[prefixes[fam] + "ceil_group"], A["group_count"][:, None, :])  # (E, G)
        ceil_b[fam], _ = pooled_ratio(A[prefixes[fam] + "ceil_bin"], A["bin_count"][:, None, :])  # (E, B)
    # the reference of each sweep: no noise; the smallest ridge lambda; the largest C
    ref = {}
    for fam in ("private", "dpsgd", "ridge", "logistic"):
        idx = [i for i, (f, _) in enumerate(plan) if f == fam]
        if idx:
            pick = min if fam == "ridge" else max
            ref[fam] = pick(idx, key=lambda i: plan[i][1])
    drop_g = np.full((S, G), np.nan)
    drop_g_se = np.full((S, G), np.nan)
    drop_b = np.full((S, acc_b.shape[1]), np.nan)
    drop_b_se = np.full_like(drop_b, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_trial_g = A["group_correct"] / A["group_count"][:, None, :]  # (T, S, G), NaN if empty
    sigmas = dpsgd_sigmas(cfg) if cfg.dpsgd_epsilons else np.zeros(1)
    rows, findings = [], []
    for s, (fam, value) in enumerate(plan):
        r0 = ref[fam]
        drop_g[s], drop_g_se[s] = pooled_ratio(
            A["group_correct"][:, r0] - A["group_correct"][:, s], A["group_count"]
        )
        drop_b[s], drop_b_se[s] = pooled_ratio(
            A["bin_correct"][:, r0] - A["bin_correct"][:, s], A["bin_count"]
        )
        gap = per_trial_g[:, s, G - 1] - per_trial_g[:, s, 1]
        excess = A["err"][:, s] - A["opt"]
        row = {
            "learner": setting_label(fam, value),
            "family": fam,
            "value": None if math.isinf(value) else value,
            "err": mean_se(A["err"][:, s]),
            "excess": mean_se(excess),
            "accuracy": {gnames[g]: pair(acc_g[s, g], acc_g_se[s, g]) for g in range(G)},
            "drop": {gnames[g]: pair(drop_g[s, g], drop_g_se[s, g]) for g in range(G)},
            "gap_frequent_vs_once": mean_se(gap),
            "reference": setting_label(*plan[r0]),
        }
        if fam == "dpsgd":
            e = s - r0  # 0: no noise
            row["sigma"] = float(sigmas[e])
            if e:
                row["epsilon_accounted"] = theory.dp_sgd_epsilon(
                    cfg.dpsgd_sample_rate, sigmas[e], cfg.dpsgd_steps, cfg.dpsgd_delta
                )
                row["delta"] = cfg.dpsgd_delta
        if fam in PRIVATE and not math.isinf(value):
            e = s - r0 - 1
            level = label_levels(cfg, fam)[e]
            row["theory"] = _label_dp_theory(cfg, level, ceil_g[fam][e], acc_g[r0], gnames)
            findings += _label_dp_findings(row, acc_g[s], acc_g_se[s], ceil_g[fam][e], gnames, crit)
        if fam == "ridge":
            row["mem_singletons"] = pair(*pooled_ratio(A["mem"][:, s, 0], A["single_examples"]))
            row["mem_rest"] = pair(*pooled_ratio(A["mem"][:, s, 1], A["rest_examples"]))
        rows.append(row)
    results = {
        "trials": T,
        "settings": rows,
        "groups": gnames,
        "rare_bin": [float(edges[rare_bin]), float(edges[rare_bin + 1])],
        "theory": {
            "variant": "fixed",
            "opt": theory.opt_error(prior, cfg.n, m, kappa=kappa).value,
            "ln_m": math.log(m),
            "note": "PrivateLogistic is eps-DP for whole examples (features and labels), hence eps-label-DP",
        },
        "reference": {
            "opt_given_sample": mean_se(A["opt"]),
            "test_points_per_group": [float(v) for v in A["group_count"].mean(axis=0)],
            "singletons_per_trial": float(A["single_examples"].mean()),
        },
        "uniform_labels": cfg.label_mode == "uniform",
        "finding_threshold_se": crit,
        "findings": findings,
    }
    if cfg.dpsgd_epsilons:
        results["dpsgd"] = _dpsgd_settings(cfg)
    arrays = {
        "bin_edges": edges,
        "acc_by_bin": acc_b,
        "acc_by_bin_se": acc_b_se,
        "acc_by_group": acc_g,
        "acc_by_group_se": acc_g_se,
        "drop_by_bin": drop_b,
        "drop_by_bin_se": drop_b_se,
        "drop_by_group": drop_g,
        "drop_by_group_se": drop_g_se,
        "ceiling_by_bin": ceil_b["private"],
        "min_drop_by_bin": _least_drop_by_bin(A, ""),
        "ceiling_by_group": ceil_g["private"],
        "epsilons": np.asarray(cfg.epsilons, dtype=np.float64),
        "test_points_by_bin": A["bin_count"].mean(axis=0),
        "trial_err": A["err"],
        "trial_opt": A["opt"],
        "setting_labels": np.array([r["learner"] for r in rows]),
        "setting_families": np.array([r["family"] for r in rows]),
        "setting_values": np.array([np.inf if r["value"] is None else r["value"] for r in rows]),
    }
    if cfg.dpsgd_epsilons:
        arrays.update(
            dpsgd_ceiling_by_bin=ceil_b["dpsgd"],
            dpsgd_min_drop_by_bin=_least_drop_by_bin(A, "dpsgd_"),
            dpsgd_ceiling_by_group=ceil_g["dpsgd"],
            dpsgd_epsilons=np.asarray(cfg.dpsgd_epsilons, dtype=np.float64),
            dpsgd_sigmas=sigmas,
        )
    return results, arrays


EXPERIMENT = experiment(
    "gaussian-dp",
    "Gaussian mixture: the disparate effect of privacy and of regularization on rare clusters",
    config=GaussianDP,
    quick=QUICK,
    plot="simulations.plots.gaussian:gaussian_dp_figures",
)
EXPERIMENT.report(report)


@EXPERIMENT.run
def run(cfg: GaussianDP, ctx: Context | None = None) -> tuple[dict, dict]:
    """Every trial (a checkpoint piece of ``ctx`` each), then :func:`aggregate`."""
    ctx = ctx or Context.for_config(cfg)
    # trial is looked up at call time, so a test can replace it
    return aggregate(cfg, run_trials(cfg.trials, lambda t: trial(cfg, t), ctx))
