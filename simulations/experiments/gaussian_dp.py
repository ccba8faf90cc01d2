r"""Experiment ``gaussian-dp``: the disparate effect of privacy and of regularization on rare
clusters.

Feldman (arXiv 1906.05271; ../shared/papers.md §1.3): an algorithm that cannot memorize pays on
the long tail. Each trial draws a Gaussian mixture with Zipf frequencies and n training
examples (:mod:`simulations.gaussian.trials`) and fits

- :class:`~simulations.gaussian.PrivateLogistic` (output perturbation, Chaudhuri et al. 2011) at
  every :math:`\varepsilon` in ``epsilons``, ``dp_draws`` noise draws each, from one exact
  one-vs-rest fit with :math:`\Lambda` = ``dp_lam`` (:func:`~simulations.gaussian.logistic.
  private_logistic_path`; the same fit without noise is the non-private reference,
  :math:`\varepsilon = \infty`);
- linear ridge on one-hot targets for each lambda in ``ridge_lams`` and L2 logistic regression
  for each C in ``logistic_Cs`` (non-private regularization sweeps).

It measures test accuracy (against the clusters' own labels) per group of training
multiplicity :math:`\ell_c` (edges ``mult_edges``: unseen, seen once, ...) and per half-decade
bin of :math:`n\pi_c`, the drop against the reference of each sweep (non-private; the smallest
ridge lambda; the largest C), paired within the trial, and the gap between the most frequent
group and the clusters seen once.

**Theory beside it (private rows only).** PrivateLogistic is :math:`\varepsilon`-DP with respect
to whole examples (features and labels), so it is :math:`\varepsilon`-label-DP: changing one
label is a change of one example. With uniform labels, independent across clusters, the test
accuracy on a cluster seen :math:`\ell` times is then at most

.. math:: \min(1,\ e^{\ell\varepsilon}/m)

in expectation over the labels (group privacy over its :math:`\ell` examples: the output law
moves by at most :math:`e^{\ell\varepsilon}` when the cluster's label changes, and averaging
over the m labels gives the bound; our derivation, the per-cluster form of Feldman's label-DP
cost). The ``ceiling`` of a group or bin is this bound averaged over its test points (given
the sample's multiplicities). For the excess error over opt the theory gives
``theory.bound(prior, n, m, epsilon=eps).cost_memorization_limit``
:math:`= \tau_1 E[\#S_1]\,\mathrm{conf}\,(1 - e^\varepsilon/m)_+` (singletons only, papers.md §1.3)
and, summing the per-cluster bound over every :math:`\ell`, ``cost_all_ell``
:math:`= \sum_\ell \mathrm{mass}_\ell\,(\mathrm{acc}_\ell - e^{\ell\varepsilon}/m)_+`
(:math:`\mathrm{acc}_\ell` the Bayes accuracy of a cluster seen :math:`\ell` times, 1 without
noise). Both are 0 for :math:`\varepsilon \ge \ln m`. The regularization sweeps are not private:
no ceiling applies there; ridge's exact leave-one-out memorization is reported instead.

Means carry standard errors over trials; accuracies are pooled over trials with trial-level
standard errors (:func:`~simulations.gaussian.trials.ratio`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import theory
from simulations.experiments import Experiment, register
from simulations.gaussian import Logistic
from simulations.gaussian.logistic import private_logistic_path
from simulations.gaussian.measure import frequency_bin
from simulations.gaussian.trials import (
    check_mixture_fields,
    check_tuple,
    draw_trial,
    finding_threshold,
    findings_lines,
    frequency_edges,
    mean_se,
    pair,
    pm,
    ratio,
    ridge_path,
    run_trials,
    trial_rng,
)
from theory._validate import check_finite, check_int

__all__ = [
    "GaussianDP",
    "QUICK",
    "run",
    "trial",
    "aggregate",
    "settings",
    "ceiling",
    "label_dp_cost",
    "report",
]

#: One-sided p-value below which a measurement beyond the theory is reported as a finding.


@dataclass(frozen=True)
class GaussianDP:
    """Accuracy on rare and frequent clusters under privacy (epsilon) and regularization."""

    exponent: float = 1.0  # Zipf prior p_c ~ c^-exponent (fixed variant)
    N: int = 300  # clusters
    n: int = 600  # training examples
    dim: int = 1500  # d; n well below d (away from the interpolation threshold n = d)
    classes: int = 10  # m
    scale: float = 0.03  # sigma: within-cluster standard deviation per coordinate
    separation: float = 1.0  # radius of the sphere of means (grid: spacing)
    placement: str = "sphere"  # sphere | grid
    label_mode: str = "uniform"  # uniform | position (the label-DP ceiling assumes uniform)
    noise: float = 0.0  # eta: probability that a label is replaced by a uniform one
    epsilons: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1e3, 3e3, 1e4, 3e4, 1e5)
    dp_lam: float = 1e-4  # Lambda of PrivateLogistic (and of its non-private limit)
    dp_draws: int = 4  # noise draws per epsilon and trial
    ridge_lams: tuple[float, ...] = (0.0, 1.0, 10.0, 100.0)
    logistic_Cs: tuple[float, ...] = (10.0, 1.0, 0.1, 0.01)
    mult_edges: tuple[int, ...] = (1, 2, 4, 8, 16)  # groups: unseen, [1, 2), ..., [16, inf)
    trials: int = 20  # independent mixtures + training + test sets
    n_test: int = 4000  # test examples per trial
    seed: int = 0

    def __post_init__(self):
        check_mixture_fields(self)
        check_tuple("epsilons", self.epsilons)
        for e in self.epsilons:
            check_finite("epsilons", e, low=0.0, low_open=True)
        check_finite("dp_lam", self.dp_lam, low=0.0, low_open=True)
        check_int("dp_draws", self.dp_draws, low=1, high=1000)
        check_tuple("ridge_lams", self.ridge_lams, empty=True)
        for lam in self.ridge_lams:
            check_finite("ridge_lams", lam, low=0.0)
        check_tuple("logistic_Cs", self.logistic_Cs, empty=True)
        for C in self.logistic_Cs:
            check_finite("logistic_Cs", C, low=0.0, low_open=True)
        check_tuple("mult_edges", self.mult_edges)
        for k in self.mult_edges:
            check_int("mult_edges", k, low=1, high=self.n)
        if (
            self.mult_edges[0] != 1
            or list(self.mult_edges) != sorted(self.mult_edges)
            or len(self.mult_edges) < 2
        ):
            raise ValueError(
                f"mult_edges must start at 1 (so that group 1 is the clusters seen once), be increasing "
                f"and have at least 2 entries; got {self.mult_edges}"
            )


QUICK = {
    "N": 150,
    "n": 300,
    "dim": 800,
    "epsilons": (0.3, 3.0, 100.0, 1e3, 1e4, 1e5),
    "dp_draws": 2,
    "ridge_lams": (0.0, 10.0, 100.0),
    "logistic_Cs": (10.0, 0.1),
    "trials": 4,
    "n_test": 2000,
}


def settings(cfg: GaussianDP) -> list[tuple[str, float]]:
    """(family, value) per setting: ("private", inf) the non-private limit, ("private", eps) in
    the order of ``epsilons``, then ("ridge", lambda) and ("logistic", C)."""
    return (
        [("private", math.inf)]
        + [("private", float(e)) for e in cfg.epsilons]
        + [("ridge", float(v)) for v in cfg.ridge_lams]
        + [("logistic", float(c)) for c in cfg.logistic_Cs]
    )


def setting_label(family: str, value: float) -> str:
    if family == "private":
        return "logistic, non-private (eps = inf)" if math.isinf(value) else f"private logistic eps={value:g}"
    if family == "ridge":
        return "ridge lam=0 (min-norm)" if value == 0 else f"ridge lam={value:g}"
    return f"logistic C={value:g}"


def ceiling(ell, epsilon: float, classes: int) -> np.ndarray:
    r"""The label-DP bound on the expected accuracy at a cluster seen ``ell`` times,
    :math:`\min(1, e^{\ell\varepsilon}/m)` (module docstring); ``ell`` array-like of ints >= 0."""
    ell = np.asarray(ell, dtype=np.float64)
    return np.exp(np.minimum(ell * epsilon - math.log(classes), 0.0))


def label_dp_cost(prior, n: int, classes: int, epsilon: float, *, kappa: float = 1.0) -> float:
    r""":math:`\sum_{\ell \ge 1} \mathrm{mass}_\ell\,(\mathrm{acc}_\ell - e^{\ell\varepsilon}/m)_+`:
    the excess error over opt that the per-cluster label-DP bound forces (every multiplicity;
    terms vanish once :math:`e^{\ell\varepsilon} \ge m`). ``mass_l`` from
    :func:`theory.expected_seen_mass` (fixed variant), ``acc_l`` from :func:`theory.bayes_accuracy`."""
    top = min(n, int(math.ceil(math.log(classes) / epsilon)) + 1)
    acc = theory.bayes_accuracy(classes, kappa, top)
    total = 0.0
    for ell in range(1, top + 1):  # a loop over multiplicities (at most ln(m)/eps + 1 of them)
        slack = acc[ell] - float(ceiling(ell, epsilon, classes))
        if slack > 0:
            total += theory.expected_seen_mass(prior, n, ell) * slack
    return total


# ---------------------------------------------------------------------- one trial
def trial(cfg: GaussianDP, t: int) -> dict[str, np.ndarray]:
    """All measurements of trial ``t`` (S settings, G multiplicity groups, B frequency bins,
    E epsilons). A pure function of (cfg, t)."""
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
    S = len(settings(cfg))

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
    # the label-DP ceiling summed over the test points of each group / bin, per epsilon
    ceil = np.stack([ceiling(ell_test, e, m) for e in cfg.epsilons])  # (E, q)
    out = {
        "err": err,
        "group_correct": gcorr,
        "bin_correct": bcorr,
        "mem": mem,
        "ceil_group": np.stack([np.bincount(group, weights=c, minlength=G) for c in ceil]),
        "ceil_bin": np.stack([np.bincount(bins, weights=c, minlength=B) for c in ceil]),
        # the non-private model's correct answers and the ceiling on the seen clusters of each bin
        # (on unseen clusters both are 1/m in expectation, so they force no drop)
        "np_bin_correct_seen": np.bincount(bins, weights=(np_pred == data.truth) * seen_test, minlength=B),
        "ceil_bin_seen": np.stack([np.bincount(bins, weights=c * seen_test, minlength=B) for c in ceil]),
        "bin_seen_count": np.bincount(bins, weights=seen_test, minlength=B),
        "group_count": np.bincount(group, minlength=G),
        "bin_count": np.bincount(bins, minlength=B),
        "single_examples": np.int64(single.sum()),
        "rest_examples": np.int64((~single).sum()),
        "opt": np.float64(data.opt),
    }
    return {k: np.asarray(v) for k, v in out.items()}


# ---------------------------------------------------------------------- aggregation
def _group_names(cfg: GaussianDP) -> list[str]:
    e = cfg.mult_edges
    names = ["unseen"]
    for a, b in zip(e, e[1:], strict=False):
        names.append("seen once" if (a, b) == (1, 2) else f"seen {a}-{b - 1}")
    return names + [f"seen >= {e[-1]}"]


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
    acc_g, acc_g_se = ratio(A["group_correct"], A["group_count"][:, None, :])  # (S, G)
    acc_b, acc_b_se = ratio(A["bin_correct"], A["bin_count"][:, None, :])  # (S, B)
    ceil_g, _ = ratio(A["ceil_group"], A["group_count"][:, None, :])  # (E, G)
    ceil_b, _ = ratio(A["ceil_bin"], A["bin_count"][:, None, :])  # (E, B)
    # least drop forced by the ceiling: on the seen clusters of a bin, weighted by their share
    with np.errstate(invalid="ignore", divide="ignore"):
        seen = A["bin_seen_count"].sum(axis=0)
        np_seen = A["np_bin_correct_seen"].sum(axis=0) / seen
        ceil_seen = A["ceil_bin_seen"].sum(axis=0) / seen
        min_drop_b = np.maximum(np_seen[None, :] - ceil_seen, 0.0) * (seen / A["bin_count"].sum(axis=0))
    # the reference of each sweep: non-private; the smallest ridge lambda; the largest C
    ref = {}
    for fam in ("private", "ridge", "logistic"):
        idx = [i for i, (f, _) in enumerate(plan) if f == fam]
        if idx:
            pick = max if fam in ("private", "logistic") else min
            ref[fam] = pick(idx, key=lambda i: plan[i][1])
    drop_g = np.full((S, G), np.nan)
    drop_g_se = np.full((S, G), np.nan)
    drop_b = np.full((S, acc_b.shape[1]), np.nan)
    drop_b_se = np.full_like(drop_b, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_trial_g = A["group_correct"] / A["group_count"][:, None, :]  # (T, S, G), NaN if empty
    rows, findings = [], []
    for s, (fam, value) in enumerate(plan):
        r0 = ref[fam]
        drop_g[s], drop_g_se[s] = ratio(
            A["group_correct"][:, r0] - A["group_correct"][:, s], A["group_count"]
        )
        drop_b[s], drop_b_se[s] = ratio(A["bin_correct"][:, r0] - A["bin_correct"][:, s], A["bin_count"])
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
        if fam == "private" and not math.isinf(value):
            e = cfg.epsilons.index(value)
            rep = theory.bound(prior, cfg.n, m, kappa=kappa, epsilon=value)
            row["theory"] = {
                "ceiling": {gnames[g]: float(ceil_g[e, g]) for g in range(G)},
                # acc(eps) <= ceiling, so the drop from the non-private model is at least this (0 on
                # unseen clusters, where both are 1/m in expectation)
                "min_drop": {
                    gnames[g]: max(0.0, float(acc_g[r0, g] - ceil_g[e, g])) if g > 0 else 0.0
                    for g in range(G)
                },
                "cost_singletons": rep.cost_memorization_limit,
                "cost_all_ell": label_dp_cost(prior, cfg.n, m, value, kappa=kappa),
            }
            for g in range(1, G):  # measured accuracy above the label-DP ceiling
                a, se = acc_g[s, g], acc_g_se[s, g]
                if np.isfinite(a) and se > 0 and (a - ceil_g[e, g]) / se > crit:
                    findings.append(
                        f"{row['learner']}: accuracy {a:.4f} on clusters {gnames[g]} is above the label-DP "
                        f"ceiling {ceil_g[e, g]:.4f} by {(a - ceil_g[e, g]) / se:.1f} SE"
                    )
            ex = row["excess"]
            cost = row["theory"]["cost_all_ell"]
            if ex["se"] and (cost - ex["mean"]) / ex["se"] > crit:
                findings.append(
                    f"{row['learner']}: excess error {ex['mean']:.4f} is below the label-DP cost "
                    f"{cost:.4f} by {(cost - ex['mean']) / ex['se']:.1f} SE"
                )
        if fam == "ridge":
            row["mem_singletons"] = pair(*ratio(A["mem"][:, s, 0], A["single_examples"]))
            row["mem_rest"] = pair(*ratio(A["mem"][:, s, 1], A["rest_examples"]))
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
        "ceiling_by_bin": ceil_b,
        "min_drop_by_bin": min_drop_b,
        "ceiling_by_group": ceil_g,
        "epsilons": np.asarray(cfg.epsilons, dtype=np.float64),
        "test_points_by_bin": A["bin_count"].mean(axis=0),
        "trial_err": A["err"],
        "trial_opt": A["opt"],
        "setting_labels": np.array([r["learner"] for r in rows]),
        "setting_families": np.array([r["family"] for r in rows]),
        "setting_values": np.array([np.inf if r["value"] is None else r["value"] for r in rows]),
    }
    return results, arrays


def run(cfg: GaussianDP, checkpoint=None) -> tuple[dict, dict]:
    """Every trial (reusing the finished ones of a ``checkpoint``), then :func:`aggregate`."""
    # trial is looked up at call time, so a test can replace it
    return aggregate(cfg, run_trials(cfg.trials, lambda t: trial(cfg, t), checkpoint))


# ---------------------------------------------------------------------- report and figures
def report(results: dict, figures: list[str]) -> str:
    g = results["groups"]
    once, top = g[1], g[-1]
    lines = [
        f"{results['trials']} trials. Test accuracy against the clusters' own labels per training "
        "multiplicity of the cluster; drop = accuracy of the sweep's reference (non-private; smallest ridge "
        "lambda; largest C) minus this setting's, paired per trial; gap = accuracy on the most frequent "
        f"group ({top}) minus on clusters {once}. Mean ± SE over trials.",
        "",
        "| setting | test error | excess over opt | "
        + " | ".join(f"acc. {x}" for x in g)
        + f" | drop ({once}) | drop ({top}) | gap | label-DP ceiling ({once}) "
        "| theory cost (singletons; all l) | mem (singletons) |",
        "| --- " * (len(g) + 9) + "|",
    ]
    for r in results["settings"]:
        th = r.get("theory")
        ceil = f"{th['ceiling'][once]:.4f}" if th else "not private"
        cost = f"{th['cost_singletons']:.4f}; {th['cost_all_ell']:.4f}" if th else "—"
        mem = pm(r["mem_singletons"], 3) if "mem_singletons" in r else "—"
        lines.append(
            f"| {r['learner']} | {pm(r['err'])} | {pm(r['excess'])} | "
            + " | ".join(pm(r["accuracy"][x], 3) for x in g)
            + f" | {pm(r['drop'][once], 3)} | {pm(r['drop'][top], 3)} | {pm(r['gap_frequent_vs_once'], 3)} | "
            f"{ceil} | {cost} | {mem} |"
        )
    lines += [
        "",
        "Drop from the non-private model per group, measured (mean ± SE) against the least drop the "
        "label-DP ceiling forces, (acc. non-private - ceiling)_+:",
        "",
        "| epsilon | " + " | ".join(g) + " |",
        "| --- " * (len(g) + 1) + "|",
    ]
    for r in results["settings"]:
        th = r.get("theory")
        if th:
            lines.append(
                f"| {r['value']:g} | "
                + " | ".join(f"{pm(r['drop'][x], 3)} / {th['min_drop'][x]:.3f}" for x in g)
                + " |"
            )
    th, ref = results["theory"], results["reference"]
    lines += [
        "",
        f"opt (theory) = {th['opt']:.4f}; opt(pi, F | S) over trials = {pm(ref['opt_given_sample'])}. "
        "Test points per trial by group: "
        + ", ".join(f"{x} {v:.0f}" for x, v in zip(g, ref["test_points_per_group"], strict=True))
        + ".",
        "PrivateLogistic (output perturbation) is eps-DP with respect to whole examples (features and "
        "labels), which implies eps-label-DP. Label-DP ceiling: accuracy <= min(1, e^(l eps)/m) at a cluster "
        f"seen l times (uniform labels; group privacy), averaged over the group's test points. Theory costs: "
        f"theory.bound(..., epsilon) (singletons) and the sum over every l; both 0 for eps >= ln m = "
        f"{th['ln_m']:.3f}. The regularization sweeps are not private, so no ceiling applies to them.",
        "",
    ]
    if not results["uniform_labels"]:
        lines += ["Labels depend on position: the label-DP ceiling (uniform labels) does not apply.", ""]
    lines += findings_lines(
        results,
        "measurement beyond the theory",
        "No measurement exceeds the label-DP ceiling or undercuts its cost",
    )
    lines += [f"![{f}]({f})" for f in figures]
    return "\n".join(lines)


def plot(results: dict, arrays: dict, folder) -> list[str]:
    from simulations.plots.gaussian import gaussian_dp_figures

    return gaussian_dp_figures(results, arrays, folder)


register(
    Experiment(
        name="gaussian-dp",
        title="Gaussian mixture: the disparate effect of privacy and of regularization on rare clusters",
        config=GaussianDP,
        run=run,
        plot=plot,
        report=report,
        quick=QUICK,
    )
)
