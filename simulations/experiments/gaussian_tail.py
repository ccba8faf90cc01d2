r"""Experiment ``gaussian-tail``: regularization against rare-cluster accuracy and memorization.

Feldman's mixture extension (arXiv 1906.05271, Section 3; ../shared/papers.md §1.2) on Gaussian
clusters (:mod:`simulations.gaussian.model`): N clusters with Zipf frequencies (fixed variant:
the normalised list randomly assigned), one uniform label each (or position labels), label
noise :math:`\eta`. Each trial draws a fresh mixture, n training and ``n_test`` test examples
(seeds ``np.random.SeedSequence(seed).spawn(trials)``) and fits every learner setting: linear
ridge on one-hot targets over a lambda path (lambda = 0 is the minimum-norm interpolator when
n <= dim), k-NN, and L2 logistic regression. Per setting and trial it measures

- test error against the clusters' own labels (the true labels, as in :mod:`theory`), and
  accuracy per log-spaced bin of :math:`n\pi_c` and per training multiplicity of the cluster;
- exact leave-one-out memorization :math:`1[h_S(x_i) = y_i] - 1[h_{S\setminus i}(x_i) = y_i]` of
  every training example: closed form for ridge (one SVD for the whole lambda path), exact
  refit-free LOO for k-NN. **Logistic regression: memorization is not measured** (it would need
  n refits per setting); its errn, coupling and bound are;
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

from dataclasses import dataclass

import numpy as np

import theory
from simulations.experiments import Experiment, register
from simulations.feldman.measure import TauTable
from simulations.gaussian import KNN, Logistic, bayes_error, min_separation_over_scale
from simulations.gaussian.measure import frequency_bin
from simulations.gaussian.trials import (
    check_mixture_fields,
    check_tuple,
    draw_trial,
    finding_threshold,
    findings_lines,
    frequency_edges,
    fresh_predictions,
    measure_predictions,
    ridge_path,
    run_trials,
    trial_rng,
)
from simulations.gaussian.trials import mean_se as _mean_se
from simulations.gaussian.trials import num as _num
from simulations.gaussian.trials import pair as _pair
from simulations.gaussian.trials import pm as _pm
from simulations.gaussian.trials import ratio as _ratio
from theory._validate import check_finite, check_int

__all__ = ["GaussianTail", "QUICK", "run", "trial", "aggregate", "ridge_path", "frequency_edges", "report"]

#: One-sided p-value below which excess < bound is reported as a finding.


@dataclass(frozen=True)
class GaussianTail:
    """Rare-cluster accuracy, memorization, errn and coupling of regularized learners."""

    exponent: float = 1.0  # Zipf prior p_c ~ c^-exponent (fixed variant)
    N: int = 500  # clusters
    n: int = 500  # training examples
    dim: int = 1000  # d; n <= d makes ridge at lambda = 0 the minimum-norm interpolator
    classes: int = 10  # m
    scale: float = 0.02  # sigma: within-cluster standard deviation per coordinate
    separation: float = 1.0  # radius of the sphere of means (grid: spacing)
    placement: str = "sphere"  # sphere | grid
    label_mode: str = "uniform"  # uniform | position (the theory's opt assumes uniform)
    noise: float = 0.0  # eta: probability that a label is replaced by a uniform one
    ridge_lams: tuple[float, ...] = (0.0, 0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)
    knn_ks: tuple[int, ...] = (1, 3, 9)
    logistic_Cs: tuple[float, ...] = (0.1, 1.0, 10.0)
    trials: int = 20  # independent mixtures + training + test sets
    n_test: int = 4000  # test examples per trial
    fresh: int = 10  # fresh draws per training example for the coupling
    bayes_samples: int = 4000  # Monte Carlo draws for the mixture's Bayes error
    L: int = 5  # multiplicities l = 1..L reported (the bound sums over every l)
    seed: int = 0

    def __post_init__(self):
        check_mixture_fields(self)
        for name in ("ridge_lams", "knn_ks", "logistic_Cs"):
            check_tuple(name, getattr(self, name), empty=True)
        if not self.ridge_lams:
            raise ValueError("ridge_lams: need at least one lambda >= 0 (the regularization sweep)")
        for lam in self.ridge_lams:
            check_finite("ridge_lams", lam, low=0.0)
        for k in self.knn_ks:
            check_int("knn_ks", k, low=1, high=self.n - 1)
        for C in self.logistic_Cs:
            check_finite("logistic_Cs", C, low=0.0, low_open=True)
        check_int("fresh", self.fresh, low=1, high=10**4)
        check_int("bayes_samples", self.bayes_samples, low=2, high=10**7)
        check_int("L", self.L, low=1, high=self.n)


QUICK = {
    "N": 200,
    "n": 200,
    "dim": 400,
    "scale": 0.03,
    "ridge_lams": (0.0, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0),
    "knn_ks": (1, 5),
    "logistic_Cs": (0.1, 10.0),
    "trials": 4,
    "n_test": 2000,
    "fresh": 8,
    "bayes_samples": 2000,
}


# ---------------------------------------------------------------------- learner settings
def settings(cfg: GaussianTail) -> list[tuple[str, float]]:
    """(family, value) per learner setting, in report order: ridge lambdas, k-NN ks, logistic Cs."""
    return (
        [("ridge", float(v)) for v in cfg.ridge_lams]
        + [("knn", float(k)) for k in cfg.knn_ks]
        + [("logistic", float(c)) for c in cfg.logistic_Cs]
    )


def setting_label(family: str, value: float) -> str:
    if family == "ridge":
        return "ridge lam=0 (min-norm)" if value == 0 else f"ridge lam={value:g}"
    if family == "knn":
        return f"k-NN k={int(value)}"
    return f"logistic C={value:g}"


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
    fresh = fresh_predictions(predictors, mix.means, tr.cluster, cfg.scale, cfg.fresh, rng)

    edges, _ = frequency_edges(cfg)
    S, G, Lmax = len(predictors), L + 2, int(ell.max())
    tau_all = taus(np.arange(1, Lmax + 1), observed=False)
    group = np.minimum(counts[te.cluster], L + 1)
    single = ell == 1
    bin_of_test = frequency_bin(mix.frequencies, cfg.n, edges)[te.cluster]
    rows = []
    mem_single, mem_rest = np.full(S, np.nan), np.full(S, np.nan)
    for s, predict in enumerate(predictors):
        p_test, p_train = predict(te.x), predict(tr.x)
        rows.append(
            measure_predictions(data, p_train, p_test, fresh[s], n=cfg.n, L=L, edges=edges, tau_all=tau_all)
        )
        if loos[s] is not None:
            mem = (p_train == tr.y).astype(np.float64) - (loos[s] == tr.y)
            mem_single[s] = mem[single].sum()
            mem_rest[s] = mem[~single].sum()
    out = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    out.update(
        mem_single_sum=mem_single,
        mem_rest_sum=mem_rest,
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
    acc_bin, acc_bin_se = _ratio(A["bin_correct"], A["bin_count"][:, None, :])
    acc_grp, acc_grp_se = _ratio(A["group_correct"], A["group_count"][:, None, :])
    lam, lam_se = _ratio(A["lam_sum"], A["lam_examples"][:, None, :])
    rows = []
    for s, (family, value) in enumerate(settings(cfg)):
        g = _mean_se(gap[:, s])
        has_mem = bool(np.isfinite(A["mem_single_sum"][:, s]).all())
        mem_s = _ratio(A["mem_single_sum"][:, s], A["single_examples"]) if has_mem else (np.nan, np.nan)
        mem_r = _ratio(A["mem_rest_sum"][:, s], A["rest_examples"]) if has_mem else (np.nan, np.nan)
        rows.append(
            {
                "learner": setting_label(family, value),
                "family": family,
                "value": value,
                "err": _mean_se(A["err"][:, s]),
                "train_err": _mean_se(A["train_err"][:, s]),
                "excess": _mean_se(excess[:, s]),
                "bound": _mean_se(A["bound"][:, s]),
                "bound_points": _mean_se(A["bound_points"][:, s]),
                "gap_points": _mean_se(excess[:, s] - A["bound_points"][:, s]),
                "bound_misfit": _mean_se(A["bound_misfit"][:, s]),
                "gap": g,
                "z": _num(g["mean"] / g["se"]) if g["se"] else None,
                "mem_singletons": _pair(*mem_s),
                "mem_rest": _pair(*mem_r),
                "acc_unseen": _pair(acc_grp[s, 0], acc_grp_se[s, 0]),
                "acc_singletons": _pair(acc_grp[s, 1], acc_grp_se[s, 1]),
                "acc_rare_bin": _pair(acc_bin[s, rare], acc_bin_se[s, rare]),
                "errn": [_mean_se(A["errn"][:, s, l]) for l in range(cfg.L)],
                "lambda": [_pair(lam[s, l], lam_se[s, l]) for l in range(cfg.L)],
            }
        )
    opt_theory = theory.opt_error(prior, cfg.n, cfg.classes, kappa=kappa).value
    opt_trial = _mean_se(A["opt"])
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
            "opt_z_vs_theory": _num(z_opt) if z_opt is not None else None,
            "unseen_mass": _mean_se(A["unseen_mass"]),
            "bayes_error": _mean_se(A["bayes"]),
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


def run(cfg: GaussianTail, checkpoint=None) -> tuple[dict, dict]:
    """Every trial (reusing the finished ones of a ``checkpoint``), then :func:`aggregate`."""
    taus = TauTable(theory.zipf(cfg.N, cfg.exponent), cfg.n, "fixed")
    # trial is looked up at call time, so a test can replace it
    return aggregate(cfg, run_trials(cfg.trials, lambda t: trial(cfg, t, taus), checkpoint))


# ---------------------------------------------------------------------- report and figures
def report(results: dict, figures: list[str]) -> str:
    th, ref = results["theory"], results["reference"]
    lines = [
        f"{results['trials']} trials. Test error against the clusters' own labels; excess = err - "
        "opt(pi, F | S) of the point-like model, paired per trial; bound = sum_l lambda_l tau_l errn_l "
        "(measured coupling lambda, theory tau, all l); mem = exact leave-one-out memorization "
        "(not measured for logistic regression). Mean ± SE over trials.",
        "",
        "| learner | test error | excess over opt | bound term | excess - bound (z) | bound at lambda = 1 "
        "| train error | mem (singletons) | mem (rest) | acc. clusters seen once | acc. rare bin |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["settings"]:
        z = "—" if r["z"] is None else f"{r['z']:.1f}"
        lines.append(
            f"| {r['learner']} | {_pm(r['err'])} | {_pm(r['excess'])} | {_pm(r['bound'])} | "
            f"{_pm(r['gap'])} ({z}) | {_pm(r['bound_points'])} | {_pm(r['train_err'])} | "
            f"{_pm(r['mem_singletons'], 3)} | "
            f"{_pm(r['mem_rest'], 3)} | {_pm(r['acc_singletons'], 3)} | {_pm(r['acc_rare_bin'], 3)} |"
        )
    ms = ref["min_separation_over_scale"]
    lo, hi = results["rare_bin"]
    lines += [
        "",
        f"opt (theory, fixed variant, kappa = {th['kappa']:g}) = {th['opt']:.4f}; opt(pi, F | S) over "
        f"trials = {_pm(ref['opt_given_sample'])}; Monte Carlo Bayes error of the mixture (oracle that "
        f"knows the labels of unseen clusters) = {_pm(ref['bayes_error'])}.",
        f"tau_l * n for l = 1..{len(th['tau_times_n'])}: "
        + ", ".join(f"{v:.3f}" for v in th["tau_times_n"].values())
        + f"; singletons per trial {ref['singletons_per_trial']:.1f}.",
        f"Assumption: clusters behave like points. min distance between means / scale: mean "
        f"{ms['mean']:.1f}, smallest {ms['min']:.1f} over trials. Rare bin: n pi in [{lo:.3f}, {hi:.3f}).",
        f"Interpolation regime (n <= dim, ridge lambda = 0 interpolates): {results['interpolation_regime']}.",
        "",
    ]
    if not results["uniform_labels"]:
        lines += [
            "Labels depend on position here: a learner can predict unseen clusters from their "
            "neighbours, so opt of the uniform-label theory and the bound do not apply; an excess below "
            "the bound is then expected, not a violation.",
            "",
        ]
    lines += findings_lines(
        results,
        "measured excess below the bound term",
        "No learner setting has a measured excess below the bound term",
    )
    lines += [f"![{f}]({f})" for f in figures]
    return "\n".join(lines)


def plot(results: dict, arrays: dict, folder) -> list[str]:
    from simulations.plots.gaussian import gaussian_tail_figures

    return gaussian_tail_figures(results, arrays, folder)


register(
    Experiment(
        name="gaussian-tail",
        title="Gaussian-mixture long tail: regularization against rare-cluster accuracy and memorization",
        config=GaussianTail,
        run=run,
        plot=plot,
        report=report,
        quick=QUICK,
    )
)
