r"""Per-trial machinery shared by the Gaussian-mixture experiments (``gaussian-tail``,
``gaussian-coupling``, ``gaussian-dp``).

A trial draws a mixture with Zipf frequencies (fixed variant), n training and ``n_test`` test
examples from the trial's own stream ``np.random.SeedSequence(seed).spawn(trials)[t]``
(:func:`trial_rng`, :func:`draw_trial`), and measures every learner setting on it
(:func:`measure_predictions`: test error against the clusters' own labels, accuracy per
frequency bin and per training multiplicity, :math:`\mathrm{errn}_\ell`, the coupling
:math:`\hat\lambda_\ell` from fresh draws, and the mixture bound
:math:`\sum_\ell \hat\lambda_\ell\tau_\ell\mathrm{errn}_\ell` of Feldman 2020, arXiv 1906.05271,
Section 3; docs/references.md §1.2). :func:`run_trials` runs trials through a checkpoint;
the aggregation helpers turn per-trial arrays into means and ratios with standard errors over
trials.

An experiment config used here has the fields ``exponent``, ``N``, ``n``, ``dim``, ``classes``,
``scale``, ``separation``, ``placement``, ``label_mode``, ``noise``, ``n_test``, ``trials``,
``seed`` (checked by :func:`check_mixture_fields`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import theory
from simulations.gaussian.learners import LinearModel, check_data, one_hot
from simulations.gaussian.measure import (
    accuracy_by_frequency,
    cluster_counts,
    coupling,
    coupling_by_multiplicity,
    errn_by_multiplicity,
    errn_contributions,
    label_posterior,
    mixture_bound,
    opt_given_sample,
)
from simulations.gaussian.model import (
    LABEL_MODES,
    PLACEMENTS,
    GaussianMixture,
    GaussianSample,
    make_mixture,
    sample,
)
from simulations.gaussian.ridge import Ridge, _loo_scores
from simulations.stats import finite_or_none
from theory._validate import check_finite, check_int

__all__ = [
    "check_mixture_fields",
    "check_tuple",
    "trial_rng",
    "TrialData",
    "draw_trial",
    "fresh_predictions",
    "ridge_path",
    "frequency_edges",
    "measure_predictions",
    "run_trials",
    "run_zipf_trials",
]

#: Fresh rows times dimension per prediction chunk (bounds the fresh draws at about 32 MiB).
_FRESH_ELEMENTS = 1 << 22


# ---------------------------------------------------------------------- config checks
def check_mixture_fields(cfg) -> None:
    """ValueError naming the field for a bad mixture, sample or trial field of ``cfg``."""
    check_finite("exponent", cfg.exponent, low=0.0, high=10.0)
    check_int("N", cfg.N, low=2, high=10**6)
    check_int("n", cfg.n, low=3, high=10**5)
    check_int("dim", cfg.dim, low=1, high=10**5)
    check_int("classes", cfg.classes, low=2, high=1000)
    check_finite("scale", cfg.scale, low=0.0, low_open=True)
    check_finite("separation", cfg.separation, low=0.0, low_open=True)
    if cfg.placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}; got {cfg.placement!r}")
    if cfg.label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {', '.join(LABEL_MODES)}; got {cfg.label_mode!r}")
    check_finite("noise", cfg.noise, low=0.0, high=1.0, high_open=True)
    check_int("trials", cfg.trials, low=2, high=10**5)
    check_int("n_test", cfg.n_test, low=10, high=10**7)
    check_int("seed", cfg.seed, low=0)


def check_tuple(name: str, v, *, empty: bool = False) -> tuple:
    """``v`` must be a tuple of distinct values (non-empty unless ``empty``)."""
    if not isinstance(v, tuple):
        raise ValueError(f"{name} must be a tuple; got {v!r}")
    if len(set(v)) != len(v):
        raise ValueError(f"{name}: each value may appear once; got {v}")
    if not v and not empty:
        raise ValueError(f"{name}: need at least one value; got ()")
    return v


# ---------------------------------------------------------------------- one trial
def trial_rng(seed: int, trials: int, t: int) -> np.random.Generator:
    """The stream of trial ``t``: ``np.random.SeedSequence(seed).spawn(trials)[t]``."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(trials)[t])


@dataclass(frozen=True, eq=False)
class TrialData:
    r"""One trial's mixture and samples with the quantities every measurement needs.

    ``truth``: (q,) the clusters' own labels at the test points (error is scored against them,
    as in :mod:`theory`); ``counts``: (N,) training multiplicity :math:`\ell_c`; ``ell``: (n,)
    :math:`\ell_{c_i}`; ``posterior``: (N, m) :func:`label_posterior`; ``weights``: the
    posterior when labels are noisy (confidence-weighted errn), else None; ``opt``:
    :math:`\mathrm{opt}(\pi, F \mid S)` of the point-like model."""

    mixture: GaussianMixture
    train: GaussianSample
    test: GaussianSample
    truth: np.ndarray
    counts: np.ndarray
    ell: np.ndarray
    posterior: np.ndarray
    weights: np.ndarray | None
    opt: float


def draw_trial(cfg, rng: np.random.Generator) -> TrialData:
    """Mixture (Zipf prior, fixed variant), then n training and ``n_test`` test examples, in
    this order from ``rng``."""
    prior = theory.zipf(cfg.N, cfg.exponent)
    mix = make_mixture(
        prior,
        cfg.dim,
        cfg.classes,
        scale=cfg.scale,
        separation=cfg.separation,
        placement=cfg.placement,
        label_mode=cfg.label_mode,
        noise=cfg.noise,
        rng=rng,
    )
    tr = sample(mix, cfg.n, rng=rng)
    te = sample(mix, cfg.n_test, rng=rng)
    counts = cluster_counts(tr, cfg.N)
    post = label_posterior(tr.cluster, tr.y, cfg.N, cfg.classes, kappa=1.0 - cfg.noise)
    return TrialData(
        mixture=mix,
        train=tr,
        test=te,
        truth=mix.labels[te.cluster],
        counts=counts,
        ell=counts[tr.cluster],
        posterior=post,
        weights=post if cfg.noise > 0 else None,
        opt=opt_given_sample(mix.frequencies, post),
    )


def fresh_predictions(predictors, means, cluster, scale, fresh, rng) -> np.ndarray:
    """(S, n, F) labels of every predictor at F fresh draws from each example's cluster, drawn
    in chunks of examples (bounded memory); one stream of draws shared by all predictors.

    ``predictors``: S callables mapping (q, d) inputs to (q,) labels, or to (k, q) labels of k
    models at once (then they fill k consecutive rows of the output, so S counts models)."""
    n, d = cluster.size, means.shape[1]
    outs: list[list[np.ndarray]] = [[] for _ in predictors]
    rows = max(1, _FRESH_ELEMENTS // (fresh * d))
    for s0 in range(0, n, rows):  # a loop over chunks of examples
        c = cluster[s0 : s0 + rows]
        x = means[c][:, None, :] + scale * rng.standard_normal((c.size, fresh, d))
        x = x.reshape(-1, d)
        for k, predict in enumerate(predictors):
            p = np.asarray(predict(x))
            outs[k].append(p.reshape(-1, c.size, fresh))
    return np.concatenate([np.concatenate(o, axis=1) for o in outs], axis=0)


def ridge_path(x, y, classes: int, lams) -> tuple[list[LinearModel], np.ndarray]:
    r"""Linear ridge (unpenalised bias) for every lambda in ``lams`` from one thin SVD.

    Returns the fitted models (identical to ``Ridge(classes, lam).fit(x, y)``: weights
    :math:`W = V\,\mathrm{diag}(s/(s^2+\lambda))\,U^\top Y` on centred data, the pseudo-inverse
    at :math:`\lambda = 0`) and the (len(lams), n) exact leave-one-out labels of
    :meth:`Ridge.loo_path`. Uses the SVD of :class:`~simulations.gaussian.ridge.Ridge` itself
    (its private ``_svd`` and ``_loo_scores``), so the two cannot drift apart.
    """
    x, y = check_data(x, y, classes, min_n=2)
    Y = one_hot(y, classes)
    lams = np.asarray(lams, dtype=np.float64)
    spec, sv, Wt = Ridge(classes)._svd(x)
    UtY = spec.U.T @ Y
    models = []
    for lam in lams:  # a loop over lambdas, not examples
        W = Wt.T @ ((spec.gains(float(lam)) * sv)[:, None] * UtY)
        models.append(LinearModel(W=W, b=Y.mean(0) - x.mean(0) @ W))
    loo = np.argmax(_loo_scores(spec, Y, lams), axis=2)
    return models, loo


def frequency_edges(cfg) -> tuple[np.ndarray, int]:
    r"""Bin edges in :math:`n\pi_c` (half-decade bins centred on :math:`10^{j/2}`) covering every
    cluster of the prior, and the index of the bin centred on :math:`n\pi_c = 1` (the rare bin:
    clusters expected about once in the training set, :math:`n\pi_c \in [10^{-1/4}, 10^{1/4})`)."""
    q = theory.zipf(cfg.N, cfg.exponent).normalized() * cfg.n
    lo = min(math.floor(2 * math.log10(q.min()) + 0.5), 0)
    hi = max(math.floor(2 * math.log10(q.max()) + 0.5), 0)
    j = np.arange(lo, hi + 2)
    return 10.0 ** ((j - 0.5) / 2), -lo


def measure_predictions(
    data: TrialData,
    p_train: np.ndarray,
    p_test: np.ndarray,
    p_fresh: np.ndarray,
    *,
    n: int,
    L: int,
    edges: np.ndarray,
    tau_all: np.ndarray,
) -> dict[str, np.ndarray]:
    r"""One deterministic predictor's measurements on a trial.

    ``p_train`` (n,), ``p_test`` (q,), ``p_fresh`` (n, F): its labels at the training points,
    the test points and F fresh draws from each training example's cluster; ``tau_all``:
    :math:`\tau_1..\tau_{\max\ell}` (theory, fixed variant). Returns ``err``, ``train_err``,
    ``bin_correct`` (B,), ``group_correct`` (L + 2,: multiplicity 0, 1..L, > L), ``errn``,
    ``terms`` and ``lam_sum`` (L,), ``bound`` (the sum over every observed l of
    :math:`\hat\lambda_\ell\tau_\ell\mathrm{errn}_\ell`), ``bound_points`` (the same with
    :math:`\lambda = 1`) and ``bound_misfit`` (:math:`\sum_i\tau_{\ell_i}\hat\lambda_i e_i`).
    """
    tr, te, m = data.train, data.test, data.mixture.classes
    ell = data.ell
    Lmax = int(ell.max())
    G = L + 2
    group = np.minimum(data.counts[te.cluster], L + 1)
    fa = accuracy_by_frequency(p_test, data.truth, te.cluster, data.mixture.frequencies, n, edges)
    lam_i = coupling(p_train[None], p_fresh[None], classes=m).value
    by_l = coupling_by_multiplicity(lam_i, ell, Lmax)
    errn = errn_by_multiplicity(p_train, tr.y, tr.cluster, Lmax, posterior=data.weights)
    bound = mixture_bound(data.opt, tau_all, errn, by_l.mean)
    e = errn_contributions(p_train, tr.y, tr.cluster, posterior=data.weights)
    return {
        "err": np.float64(np.mean(p_test != data.truth)),
        "train_err": np.float64(np.mean(p_train != tr.y)),
        "bin_correct": fa.correct,
        "group_correct": np.bincount(group, weights=(p_test == data.truth), minlength=G),
        "errn": errn[:L] if Lmax >= L else np.pad(errn, (0, L - Lmax)),
        "terms": bound.terms[:L] if Lmax >= L else np.pad(bound.terms, (0, L - Lmax)),
        "lam_sum": np.bincount(ell, weights=lam_i, minlength=L + 2)[1 : L + 1],
        "bound": np.float64(bound.excess),
        "bound_points": np.float64(mixture_bound(data.opt, tau_all, errn, np.ones(Lmax)).excess),
        "bound_misfit": np.float64(np.sum(tau_all[ell - 1] * lam_i * e)),
    }


def run_trials(trials: int, compute: Callable[[int], dict], ctx) -> list[dict]:
    """``[compute(t) for t in range(trials)]``, each trial a checkpoint piece ``trial-t`` of the
    run's :class:`~simulations.experiment.Context` (loaded when finished, saved when computed)."""
    bar = ctx.progress(trials, "trials")
    pieces = []
    for t in range(trials):  # a loop over trials
        pieces.append(ctx.cached(f"trial-{t}", lambda t=t: ({"trial": t}, compute(t)))[1])
        bar.update(1)
    bar.close()
    return pieces


def run_zipf_trials(cfg, ctx, trial: Callable) -> list[dict]:
    """:func:`run_trials` of ``cfg.trials`` trials, trial ``t`` computed by ``trial(cfg, t, taus)``
    with the tau table of ``cfg``'s Zipf prior (fixed variant)."""
    from simulations.feldman.measure import TauTable

    taus = TauTable(theory.zipf(cfg.N, cfg.exponent), cfg.n, "fixed")
    return run_trials(cfg.trials, lambda t: trial(cfg, t, taus), ctx)


# ---------------------------------------------------------------------- aggregation


def pair(r, se) -> dict:
    """``{"mean", "se"}`` of an estimate and its SE, each a float or None (simulations.stats' rule)."""
    return {"mean": finite_or_none(r), "se": finite_or_none(se)}


FINDING_P = 1e-3  # one-sided p-value below which a measured gap to the theory is reported


def finding_threshold(trials: int) -> float:
    """Gap (in SE) that counts as a finding: the 1 - FINDING_P quantile of Student's t with
    trials - 1 degrees of freedom (3 SE would flag ~10% of honest settings at 3 trials, where the
    SE itself is poorly estimated)."""
    import scipy.stats

    return float(scipy.stats.t.ppf(1 - FINDING_P, trials - 1))


def findings_lines(results: dict, what: str, none: str) -> list[str]:
    """Report lines listing ``results["findings"]`` (introduced as measurements ``what`` by more than
    the threshold) or saying ``none``, then any ``findings_points`` (below the lambda = 1 bound)."""
    crit = f"{results['finding_threshold_se']:.2f} SE (one-sided p < {FINDING_P:g}, Student t)"
    if results["findings"]:
        lines = [f"Findings ({what} by more than {crit}):", ""]
        lines += [f"- {f}" for f in results["findings"]] + [""]
    else:
        lines = [f"{none} by more than {crit}.", ""]
    if results.get("findings_points"):
        lines += ["Below the point-model bound (lambda = 1, not a claim of the mixture theorem):", ""]
        lines += [f"- {f}" for f in results["findings_points"]] + [""]
    return lines
