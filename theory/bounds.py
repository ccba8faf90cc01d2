r"""Optimal error and the costs of not memorizing (Feldman 2020, arXiv 1906.05271).

Uniform labels over m classes, optional uniform label noise with keep-probability
:math:`\kappa` (:mod:`theory.labels`); error measured against the true label.
Write :math:`\mathrm{mass}_\ell = N\binom{n}{\ell}E[a^{\ell+1}(1-a)^{n-\ell}]
= \tau_\ell\,E[\#\{x \text{ seen } \ell \text{ times}\}]` (:mod:`theory.quantities`).

- opt: :math:`\sum_\ell \mathrm{mass}_\ell (1-\mathrm{acc}_\ell)`; without noise
  :math:`(1-1/m)\cdot\mathrm{mass}_0` (docs/references.md §1.1).
- Cost of leaving the points seen at most L times unfitted (the learner is Bayes-optimal
  elsewhere and guesses uniformly on them): :math:`\sum_{\ell\le L}\mathrm{mass}_\ell
  (\mathrm{acc}_\ell - 1/m)`. For L = 1 and no noise this is
  :math:`\tau_1 E[\#S_1](1-1/m)`, the paper's "cost if no singleton is fitted"; with noise it
  equals :math:`\tau_1\,\mathrm{conf}\,E[\mathrm{errn}_S(A,1)]` with conf = kappa.
- Cost of a gamma-memorization limit: :math:`\tau_1 E[\#S_1]\,\kappa\,(1 - 1/m - \gamma)_+`;
  of (eps, delta)-label-DP: :math:`\tau_1 E[\#S_1]\,\kappa\,(1 - e^\varepsilon/m - \delta)_+`
  (§1.3 [summary]; with the uniform label prior :math:`\|F(x_i|S\setminus i)\|_\infty = 1/m`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from theory._validate import check_finite, check_int, check_prob
from theory.labels import MAX_EXACT_ELL, bayes_accuracy, singleton_confidence
from theory.moments import log_moment_ladder, log_moments
from theory.priors import FrequencyPrior, check_variant
from theory.quantities import _clip_prob, log_binom, tail_weight_bound

__all__ = [
    "OptError",
    "BoundReport",
    "opt_error",
    "cost_unfit",
    "cost_memorization_limit",
    "cost_label_dp",
    "dp_memorization_gamma",
    "bound",
]


@dataclass(frozen=True)
class OptError:
    r"""opt with a rigorous bracket: the true value lies in [value - halfwidth, value + halfwidth].

    Exact (halfwidth 0 up to rounding) without noise (kappa = 1) and for pure noise (kappa = 0:
    opt = 1 - 1/m, no label carries information). Otherwise the sum over
    :math:`\ell` is exact up to ``ells_exact`` and the rest is bracketed by
    :math:`[0, (1-\mathrm{acc}_L)\,\mathrm{mass}_{>L}]` (Bayes error does not grow with more data),
    and the bracket is cut to [0, 1 - 1/m], where opt lies.
    """

    value: float
    halfwidth: float
    ells_exact: int

    def __float__(self) -> float:
        """``float(opt_error(...))`` is ``.value``, the number ``bound(...).opt_error`` holds."""
        return float(self.value)


class TauByCount(dict):
    """tau_l by count: keys are the strings "1", "2", ... (as in the JSON report), and
    ``report.tau[1]`` reads the same entry as ``report.tau["1"]``."""

    def __getitem__(self, ell):
        return super().__getitem__(str(ell))

    def __contains__(self, ell) -> bool:
        return super().__contains__(str(ell))

    def get(self, ell, default=None):
        return super().get(str(ell), default)


def _log_binoms(n: int, ells: np.ndarray) -> np.ndarray:
    return np.array([log_binom(n, int(l)) for l in ells])


def _log_masses(prior, n, ells, variant) -> np.ndarray:
    """log mass_l for the given ells (each in 0..n)."""
    lm = log_moments(prior, [(l + 1, n - l) for l in ells], variant=variant)
    return np.log(prior.N) + _log_binoms(n, ells) + lm


def _check_common(n, classes, kappa, variant):
    return (
        check_int("n", n, low=1),
        check_int("classes", classes, low=2),
        check_prob("kappa", kappa),
        check_variant(variant),
    )


def opt_error(
    prior: FrequencyPrior, n: int, classes: int, *, kappa: float = 1.0, variant: str = "fixed"
) -> OptError:
    r"""Bayes-optimal error opt(pi, F) for m uniform classes and keep-probability ``kappa``."""
    n, m, kappa, variant = _check_common(n, classes, kappa, variant)
    if kappa == 0.0:  # pure noise: every label is uniform, so acc_l = 1/m for every l
        return OptError(1.0 - 1.0 / m, 0.0, n)
    if kappa == 1.0:
        val = (1.0 - 1.0 / m) * _clip_prob(np.exp(_log_masses(prior, n, [0], variant)[0]))
        return OptError(val, 0.0, n)
    acc = bayes_accuracy(m, kappa, min(n, MAX_EXACT_ELL))
    # the exact part stops where the Bayes error of a point seen L times is negligible
    small = np.nonzero(1.0 - acc <= 1e-13 * (1.0 - 1.0 / m))[0]
    L = int(small[0]) if small.size else acc.size - 1
    ells = np.arange(L + 1)
    mass = np.exp(
        math.log(prior.N) + _log_binoms(n, ells) + log_moment_ladder(prior, n, L, variant=variant)[1]
    )
    # opt lies in [total, total + rest], and in [0, 1 - 1/m] (acc_l >= 1/m)
    lo = _clip_prob(mass @ (1.0 - acc[: L + 1]), 1.0 - 1.0 / m)
    rest = 0.0 if L >= n else max(0.0, 1.0 - float(mass.sum())) * (1.0 - acc[L])
    hi = min(lo + rest, 1.0 - 1.0 / m)
    return OptError((lo + hi) / 2, (hi - lo) / 2, L)


def cost_unfit(
    prior: FrequencyPrior,
    n: int,
    classes: int,
    *,
    up_to: int = 1,
    kappa: float = 1.0,
    variant: str = "fixed",
) -> float:
    r"""Excess error of leaving every point seen 1..``up_to`` times unfitted (uniform guess there).

    .. math:: \sum_{\ell=1}^{L}\mathrm{mass}_\ell\,(\mathrm{acc}_\ell - 1/m)
    """
    n, m, kappa, variant = _check_common(n, classes, kappa, variant)
    L = check_int("up_to", up_to, low=1, high=min(n, MAX_EXACT_ELL))
    acc = bayes_accuracy(m, kappa, L)  # >= 1/m, so every term is >= 0
    mass = np.exp(_log_masses(prior, n, list(range(1, L + 1)), variant))
    return _clip_prob(mass @ (acc[1:] - 1.0 / m))


def dp_memorization_gamma(epsilon: float, delta: float = 0.0) -> float:
    r"""An (eps, delta)-label-DP algorithm is :math:`(e^\varepsilon - 1 + \delta)`-memorization-limited."""
    epsilon = check_finite("epsilon", epsilon, low=0.0)
    delta = check_prob("delta", delta)
    return math.expm1(epsilon) + delta


def _singleton_mass(prior, n, variant) -> float:
    return _clip_prob(np.exp(_log_masses(prior, n, [1], variant)[0]))


def _limit_slack(m: int, *, gamma=None, epsilon=None, delta: float = 0.0) -> float:
    r"""(1 - 1/m - gamma)_+ for a memorization limit, (1 - e^eps/m - delta)_+ for label-DP."""
    if gamma is not None:
        return max(0.0, 1.0 - 1.0 / m - gamma)
    return max(0.0, 1.0 - math.exp(min(epsilon, 700.0)) / m - delta)


def cost_memorization_limit(
    prior: FrequencyPrior,
    n: int,
    classes: int,
    gamma: float,
    *,
    kappa: float = 1.0,
    variant: str = "fixed",
) -> float:
    r"""Lower bound on the excess error of any gamma-memorization-limited algorithm.

    .. math:: \tau_1\,E[\#S_1]\;\kappa\;\max(0,\,1 - 1/m - \gamma)

    Source: Feldman (2020) §1.3 of docs/references.md [summary]. ``gamma`` >= 0.
    """
    n, m, kappa, variant = _check_common(n, classes, kappa, variant)
    gamma = check_finite("gamma", gamma, low=0.0)
    conf = singleton_confidence(m, kappa)
    return _singleton_mass(prior, n, variant) * conf * _limit_slack(m, gamma=gamma)


def cost_label_dp(
    prior: FrequencyPrior,
    n: int,
    classes: int,
    epsilon: float,
    *,
    delta: float = 0.0,
    kappa: float = 1.0,
    variant: str = "fixed",
) -> float:
    r"""Lower bound on the excess error of any (eps, delta)-label-DP prediction algorithm.

    .. math:: \tau_1\,E[\#S_1]\;\kappa\;\max(0,\,1 - e^{\varepsilon}/m - \delta)

    With m = 10, eps = ln 6 and delta = 0 it equals the gamma = 0.5 limit.
    """
    n, m, kappa, variant = _check_common(n, classes, kappa, variant)
    epsilon = check_finite("epsilon", epsilon, low=0.0)
    delta = check_prob("delta", delta)
    slack = _limit_slack(m, epsilon=epsilon, delta=delta)
    return _singleton_mass(prior, n, variant) * singleton_confidence(m, kappa) * slack


@dataclass(frozen=True)
class BoundReport:
    """Everything `tailmem bound` prints, for one prior and n. ``to_dict`` gives the JSON."""

    prior: str
    variant: str
    N: int
    n: int
    classes: int
    kappa: float
    tau: dict[str, float]
    singleton_fraction: float
    expected_singletons: float
    unseen_mass: float
    expected_unseen_points: float
    opt_error: float
    opt_error_halfwidth: float
    cost_unfit_singletons: float
    least_frequency_times_n: float
    tail_weight_bound: float | None  # fixed variant only
    gamma: float | None = None
    epsilon: float | None = None
    delta: float | None = None
    cost_memorization_limit: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def tau_1(self) -> float:
        return self.tau["1"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tau_1"] = self.tau_1
        d.update(d.pop("extra"))
        return {k: v for k, v in d.items() if v is not None}


def bound(
    prior: FrequencyPrior,
    n: int,
    classes: int,
    *,
    variant: str = "fixed",
    kappa: float = 1.0,
    gamma: float | None = None,
    epsilon: float | None = None,
    delta: float = 0.0,
    ells: int = 5,
) -> BoundReport:
    r"""All the theory's numbers for one prior: :math:`\tau_1..\tau_{ells}`, counts, opt, costs.

    ``gamma`` and ``epsilon`` are exclusive; with ``epsilon`` the memorization-limit cost is the
    label-DP cost. The moments are computed in one batch (one pass per moment).
    """
    n, m, kappa, variant = _check_common(n, classes, kappa, variant)
    ells = check_int("ells", ells, low=1)
    if gamma is not None and epsilon is not None:
        raise ValueError("gamma and epsilon: give at most one of them")
    top = min(ells, n)
    den, num = log_moment_ladder(prior, n, top, variant=variant)
    logN = math.log(prior.N)
    # tau_l is undefined (None) when no point can be seen exactly l times
    tau = TauByCount(
        (str(l), _clip_prob(np.exp(num[l] - den[l])) if np.isfinite(den[l]) else None)
        for l in range(1, top + 1)
    )
    unseen = _clip_prob(np.exp(logN + num[0]))
    single_frac = _clip_prob(np.exp(logN + den[1]))
    mass1 = _clip_prob(np.exp(logN + math.log(n) + num[1]))
    opt = (
        OptError((1 - 1 / m) * unseen, 0.0, n)
        if kappa == 1.0
        else opt_error(prior, n, m, kappa=kappa, variant=variant)
    )
    conf = singleton_confidence(m, kappa)
    cost_mem = None
    if gamma is not None:
        gamma = check_finite("gamma", gamma, low=0.0)
        cost_mem = mass1 * conf * _limit_slack(m, gamma=gamma)
    if epsilon is not None:
        epsilon = check_finite("epsilon", epsilon, low=0.0)
        delta = check_prob("delta", delta)
        cost_mem = mass1 * conf * _limit_slack(m, epsilon=epsilon, delta=delta)
    return BoundReport(
        prior=prior.name,
        variant=variant,
        N=prior.N,
        n=n,
        classes=m,
        kappa=kappa,
        tau=tau,
        singleton_fraction=single_frac,
        expected_singletons=single_frac * n,
        unseen_mass=unseen,
        expected_unseen_points=_clip_prob(np.exp(logN + den[0]), prior.N),
        opt_error=opt.value,
        opt_error_halfwidth=opt.halfwidth,
        cost_unfit_singletons=mass1 * (1 - 1 / m) * conf,
        least_frequency_times_n=float(np.exp(prior.log_q[np.isfinite(prior.log_q)][-1])) * n,
        tail_weight_bound=None if variant != "fixed" else tail_weight_bound(prior, n),
        gamma=gamma,
        epsilon=epsilon,
        delta=delta if epsilon is not None else None,
        cost_memorization_limit=cost_mem,
    )
