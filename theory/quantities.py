r"""Frequency quantities of Feldman's model: :math:`\tau_\ell`, counts, masses, the tail bound.

Symbols (docs/references.md): n training examples, N subpopulations, :math:`\bar\pi` the law of
one point's frequency (fixed or iid variant, :mod:`theory.priors`), :math:`a\sim\bar\pi`.
All quantities go through the log moments of :mod:`theory.moments`, so they are stable for N and
n up to 1e8 and beyond.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln

from theory._validate import check_finite, check_int
from theory.moments import log_moments, moment_ratios
from theory.priors import FrequencyPrior

__all__ = [
    "log_binom",
    "tau",
    "taus",
    "expected_seen_count",
    "expected_seen_mass",
    "unseen_mass",
    "singleton_fraction",
    "tail_weight",
    "tail_weight_bound",
]


def log_binom(n: int, l: int) -> float:
    """log of the binomial coefficient C(n, l).

    For k = min(l, n - l) <= 100,000 it is the sum of log((n - k + i) / i), i = 1..k (absolute
    error ~k ulps); beyond, -log(n+1) - log B(n-l+1, l+1). Three ``gammaln`` terms of size
    n log n would cancel and cost ~1e-9 at n ~ 3e5 (found by a Hypothesis test against mpmath).
    """
    k = min(l, n - l)
    if k <= 100_000:
        i = np.arange(1, k + 1, dtype=np.float64)
        return float(np.sum(np.log1p((n - k) / i)))
    return float(-np.log1p(n) - betaln(n - l + 1, l + 1))


def _clip_prob(x: float, high: float = 1.0) -> float:
    """``x`` pushed back into [0, high]: a probability (high = 1) or an expected count (high =
    N) computed as exp(log N + log M) can land a few ulps outside its range by rounding."""
    return float(min(max(x, 0.0), high))


def _check_n_l(n: int, l: int, *, l_low: int = 0) -> tuple[int, int]:
    n = check_int("n", n, low=1)
    l = check_int("ell", l, low=l_low, high=n)
    return n, l


def taus(prior: FrequencyPrior, n: int, ells, *, variant: str = "fixed") -> np.ndarray:
    r"""Vector of :math:`\tau_\ell` for each ``ell`` in ``ells`` (each in 1..n); shape (len(ells),).

    .. math:: \tau_\ell = \frac{E_{a\sim\bar\pi}[a^{\ell+1}(1-a)^{n-\ell}]}
                               {E_{a\sim\bar\pi}[a^{\ell}(1-a)^{n-\ell}]}

    the expected frequency of a point seen exactly :math:`\ell` times in n draws
    (posterior lemma). Computed by :func:`theory.moments.moment_ratios` (one shift shared by
    numerator and denominator: no underflow at any n; relative error about 1e-16 times the
    size n a of the exponents of the dominant terms, measured up to 1.1e-13 against 50-digit
    mpmath at n ~ 1.5e6, fixed variant). NaN where no point can be seen exactly l times.
    Source: Feldman (2020), arXiv 1906.05271, Section 2; docs/references.md §1.2.
    """
    ells = [_check_n_l(n, l, l_low=1)[1] for l in ells]
    t = moment_ratios(prior, [(l, n - l) for l in ells], variant=variant)
    return np.clip(t, 0.0, 1.0)  # a frequency; nan stays nan


def tau(prior: FrequencyPrior, n: int, ell: int = 1, *, variant: str = "fixed") -> float:
    r"""Expected frequency of a subpopulation seen exactly ``ell`` times in ``n`` draws.

    .. math:: \tau_\ell = \frac{E_{a\sim\bar\pi}[a^{\ell+1}(1-a)^{n-\ell}]}
                               {E_{a\sim\bar\pi}[a^{\ell}(1-a)^{n-\ell}]}

    ``prior`` is :math:`\bar\pi` (via ``variant``); computed in log space, stable for n up to 1e8.
    Source: Feldman (2020), arXiv 1906.05271, Section 2.
    """
    return float(taus(prior, n, [ell], variant=variant)[0])


def expected_seen_count(prior: FrequencyPrior, n: int, ell: int, *, variant: str = "fixed") -> float:
    r"""Expected number of points seen exactly ``ell`` times: :math:`N\binom{n}{\ell}M(\ell, n-\ell)`.

    ``ell = 0`` gives the expected number of unseen points.
    """
    n, ell = _check_n_l(n, ell)
    lm = log_moments(prior, [(ell, n - ell)], variant=variant)[0]
    return _clip_prob(np.exp(np.log(prior.N) + log_binom(n, ell) + lm), prior.N)


def expected_seen_mass(prior: FrequencyPrior, n: int, ell: int, *, variant: str = "fixed") -> float:
    r"""Expected total frequency of the points seen exactly ``ell`` times.

    .. math:: N\binom{n}{\ell}E[a^{\ell+1}(1-a)^{n-\ell}] = \tau_\ell\cdot
              E[\#\{x: x\text{ seen }\ell\text{ times}\}]
    """
    n, ell = _check_n_l(n, ell)
    lm = log_moments(prior, [(ell + 1, n - ell)], variant=variant)[0]
    return _clip_prob(np.exp(np.log(prior.N) + log_binom(n, ell) + lm))


def unseen_mass(prior: FrequencyPrior, n: int, *, variant: str = "fixed") -> float:
    r"""Expected probability mass of the points not seen in n draws: :math:`N E[a(1-a)^n]`."""
    return expected_seen_mass(prior, n, 0, variant=variant)


def singleton_fraction(prior: FrequencyPrior, n: int, *, variant: str = "fixed") -> float:
    r"""Expected share of the n examples that are singletons: :math:`E[\#S_1]/n = N E[a(1-a)^{n-1}]`.

    Feldman's worked example (Zipf, N = n = 50,000) gives 17.04%.
    """
    n = check_int("n", n, low=1)
    lm = log_moments(prior, [(1, n - 1)], variant=variant)[0]
    return _clip_prob(np.exp(np.log(prior.N) + lm))


def tail_weight(prior: FrequencyPrior, low: float, high: float) -> float:
    r"""weight(:math:`\bar\pi`, [low, high]): the total frequency carried by points whose
    normalised frequency lies in [low, high] (fixed variant, exact).

    .. math:: \mathrm{weight}(\bar\pi,[\beta_1,\beta_2]) = N\,E_{a\sim\bar\pi}[a\,1(\beta_1\le a\le\beta_2)]

    ``low`` >= 0 (0 opens the window at zero) and ``high`` >= ``low``, both finite.
    [summary] docs/references.md §1.2 leaves the exact form unverified; this is the reading in
    which weight is a probability mass (it equals 1 for the uniform prior with N = n).
    """
    low = check_finite("low", low, low=0.0)
    high = check_finite("high", high, low=low)
    q = prior.log_q
    with np.errstate(divide="ignore"):  # low = 0: every point, zero frequencies included
        lo, hi = np.log(low), np.log(high)
    inside = (q >= lo) & (q <= hi)
    return _clip_prob(np.sum(np.exp(q[inside]) * prior.weights[inside]))


def tail_weight_bound(prior: FrequencyPrior, n: int) -> float:
    r"""Feldman's lower bound on :math:`\tau_1` from the weight near 1/n (fixed variant).

    .. math:: \tau_1 \ge \frac{1}{5n}\,\mathrm{weight}\big(\bar\pi, [\tfrac{1}{3n}, \tfrac{2}{n}]\big)

    [summary] docs/references.md §1.2 ("exact form unverified"): tests check it against the
    exact :math:`\tau_1` over random priors with Hypothesis.
    """
    n = check_int("n", n, low=1)
    return tail_weight(prior, 1.0 / (3 * n), 2.0 / n) / (5.0 * n)
