r"""Privacy accounting of DP-SGD: the Rényi DP of the Poisson-subsampled Gaussian mechanism.

One step of DP-SGD releases :math:`\sum_{i \in B} \mathrm{clip}_C(g_i) + \mathcal N(0, \sigma^2C^2 I)`
where every example enters the batch B independently with probability q (Poisson subsampling).
For neighbouring data sets that differ by adding or removing one example, the worst pair of
output laws reduces to one dimension (Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy
of the Sampled Gaussian Mechanism", arXiv 1908.10530, Theorem 4 and Section 3.3):
:math:`\mu_0 = \mathcal N(0, \sigma^2)` and :math:`\mu = (1-q)\mu_0 + q\,\mathcal N(1, \sigma^2)`,
and the step is :math:`(\alpha, \varepsilon(\alpha))`-RDP with

.. math:: \varepsilon(\alpha) = \frac{\log A_\alpha}{\alpha - 1},\qquad
          A_\alpha = E_{z\sim\mu_0}\Big[\Big(\frac{\mu(z)}{\mu_0(z)}\Big)^\alpha\Big]
          = \sum_{k=0}^{\alpha} \binom{\alpha}{k} (1-q)^{\alpha-k} q^k e^{(k^2-k)/(2\sigma^2)}

for integer :math:`\alpha \ge 2` (the binomial expansion of :math:`(1 - q + q\,\mu_1/\mu_0)^\alpha`
with :math:`E_{\mu_0}[(\mu_1/\mu_0)^k] = e^{(k^2-k)/(2\sigma^2)}`; Mironov et al. 2019, Section
3.3, "integer alpha"). Only integer orders are used here; the sum is taken in log space
(log-sum-exp of the log terms), so it is stable for large :math:`\alpha` and small q. RDP
composes additively over the T steps (Mironov 2017, Proposition 1): :math:`T\varepsilon(\alpha)`.

Conversion to :math:`(\varepsilon, \delta)`-DP, minimised over the orders:

- ``"classic"`` (Mironov 2017, "Rényi Differential Privacy", Proposition 3):
  :math:`\varepsilon = T\varepsilon(\alpha) + \log(1/\delta)/(\alpha - 1)`;
- ``"improved"`` (Balle et al. 2020, "Hypothesis Testing Interpretations and Rényi Differential
  Privacy", Theorem 21; Canonne, Kamath & Steinke 2020, Proposition 12):
  :math:`\varepsilon = T\varepsilon(\alpha) + \log((\alpha-1)/\alpha) - (\log\delta + \log\alpha)/(\alpha-1)`,
  smaller than the classic value at every order.

The guarantee is for add/remove-one neighbours and for Poisson subsampling exactly (not for
fixed-size batches or shuffled epochs). :func:`dp_sgd_sigma` inverts the accounting by bisection.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, logsumexp

from theory._validate import check_finite, check_int, check_prob

__all__ = [
    "DEFAULT_ORDERS",
    "CONVERSIONS",
    "sampled_gaussian_log_a",
    "sampled_gaussian_rdp",
    "rdp_to_epsilon",
    "dp_sgd_epsilon",
    "dp_sgd_sigma",
]

#: Integer Rényi orders searched by default (2..256, then sparser up to 1024).
DEFAULT_ORDERS: tuple[int, ...] = tuple(range(2, 257)) + (320, 384, 448, 512, 768, 1024)

CONVERSIONS = ("classic", "improved")


def _orders(orders) -> np.ndarray:
    a = np.atleast_1d(np.asarray(orders))
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"orders must be a non-empty 1-d list of integers >= 2; got shape {a.shape}")
    return np.array([check_int("orders", v, low=2, high=10**6) for v in a.tolist()], dtype=np.int64)


def sampled_gaussian_log_a(q: float, sigma: float, alpha: int) -> float:
    r""":math:`\log A_\alpha` of the Poisson-subsampled Gaussian mechanism (module docstring).

    ``q`` in [0, 1] the sampling rate, ``sigma`` > 0 the noise multiplier (noise standard
    deviation over the L2 sensitivity), ``alpha`` an integer >= 2. Log-sum-exp of the
    :math:`\alpha + 1` binomial terms; q = 0 gives 0, q = 1 gives :math:`\alpha(\alpha-1)/(2\sigma^2)`.
    Source: Mironov, Talwar & Zhang (2019), arXiv 1908.10530, Section 3.3.
    """
    q = check_prob("q", q)
    sigma = check_finite("sigma", sigma, low=0.0, low_open=True)
    alpha = check_int("alpha", alpha, low=2, high=10**6)
    if q == 0.0:
        return 0.0
    if q == 1.0:
        return alpha * (alpha - 1) / (2.0 * sigma**2)
    k = np.arange(alpha + 1, dtype=np.float64)
    log_binom = gammaln(alpha + 1.0) - gammaln(k + 1.0) - gammaln(alpha - k + 1.0)
    terms = log_binom + (alpha - k) * math.log1p(-q) + k * math.log(q) + (k * k - k) / (2.0 * sigma**2)
    return float(logsumexp(terms))


def sampled_gaussian_rdp(q: float, sigma: float, orders=DEFAULT_ORDERS, steps: int = 1) -> np.ndarray:
    r""":math:`T\,\varepsilon(\alpha) = T \log A_\alpha / (\alpha - 1)` for each integer order in
    ``orders``: the RDP of ``steps`` = T compositions of the sampled Gaussian mechanism. Shape
    (len(orders),). All orders in one (len(orders), max order + 1) log-sum-exp; equal to
    :func:`sampled_gaussian_log_a` order by order."""
    q = check_prob("q", q)
    sigma = check_finite("sigma", sigma, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=1)
    a = _orders(orders)
    if q == 0.0 or q == 1.0:
        return np.array([steps * sampled_gaussian_log_a(q, sigma, int(v)) / (v - 1) for v in a])
    af = a.astype(np.float64)[:, None]
    k = np.arange(int(a.max()) + 1, dtype=np.float64)[None, :]
    with np.errstate(invalid="ignore"):
        log_binom = gammaln(af + 1.0) - gammaln(k + 1.0) - gammaln(af - k + 1.0)
    terms = log_binom + (af - k) * math.log1p(-q) + k * math.log(q) + (k * k - k) / (2.0 * sigma**2)
    terms = np.where(k <= af, terms, -np.inf)
    return steps * logsumexp(terms, axis=1) / (a - 1.0)


def rdp_to_epsilon(rdp, orders, delta: float, *, conversion: str = "classic") -> tuple[float, int]:
    r"""The smallest :math:`\varepsilon` over ``orders`` such that RDP ``rdp`` (one value per
    order) implies :math:`(\varepsilon, \delta)`-DP, and the order attaining it.

    ``conversion``: ``"classic"`` (Mironov 2017, Prop. 3) or ``"improved"`` (Balle et al. 2020,
    Thm. 21); see the module docstring. ``delta`` in (0, 1). Negative values are reported as 0.
    """
    delta = check_prob("delta", delta, open_low=True, open_high=True)
    if conversion not in CONVERSIONS:
        raise ValueError(f"conversion must be one of {', '.join(CONVERSIONS)}; got {conversion!r}")
    a = _orders(orders).astype(np.float64)
    r = np.asarray(rdp, dtype=np.float64)
    if r.shape != a.shape or np.isnan(r).any() or (r < 0).any():
        raise ValueError(f"rdp must hold one value >= 0 per order ({a.size}); got shape {r.shape}")
    if conversion == "classic":
        eps = r + math.log(1.0 / delta) / (a - 1.0)
    else:
        eps = r + np.log1p(-1.0 / a) - (math.log(delta) + np.log(a)) / (a - 1.0)
    j = int(np.argmin(eps))
    return max(float(eps[j]), 0.0), int(a[j])


def dp_sgd_epsilon(
    q: float, sigma: float, steps: int, delta: float, *, orders=DEFAULT_ORDERS, conversion: str = "classic"
) -> float:
    r""":math:`\varepsilon` of T = ``steps`` DP-SGD steps with Poisson rate ``q`` and noise
    multiplier ``sigma``, at ``delta``: :func:`sampled_gaussian_rdp` then :func:`rdp_to_epsilon`.
    Add/remove-one neighbours; integer orders only (so the value is an upper bound that a
    finer grid of fractional orders could lower slightly)."""
    rdp = sampled_gaussian_rdp(q, sigma, orders, steps)
    return rdp_to_epsilon(rdp, orders, delta, conversion=conversion)[0]


def dp_sgd_sigma(
    epsilon: float,
    delta: float,
    q: float,
    steps: int,
    *,
    orders=DEFAULT_ORDERS,
    conversion: str = "classic",
    rtol: float = 1e-6,
) -> float:
    r"""The smallest noise multiplier :math:`\sigma` (to relative tolerance ``rtol``) for which
    :func:`dp_sgd_epsilon` is at most ``epsilon``; bisection on :math:`\log\sigma` (the
    accountant's :math:`\varepsilon` decreases in :math:`\sigma`). The returned value is the upper
    end of the final bracket, so its :math:`\varepsilon` never exceeds the target.
    """
    epsilon = check_finite("epsilon", epsilon, low=0.0, low_open=True)
    q = check_prob("q", q, open_low=True)
    rtol = check_finite("rtol", rtol, low=0.0, high=0.1, low_open=True)

    def eps_of(s: float) -> float:
        return dp_sgd_epsilon(q, s, steps, delta, orders=orders, conversion=conversion)

    lo, hi = 1e-2, 1.0
    while eps_of(hi) > epsilon:
        lo, hi = hi, hi * 2.0
        if hi > 1e6:
            raise ValueError(
                f"epsilon: {epsilon:g} needs sigma > 1e6 at q={q:g}, steps={steps}, delta={delta:g}"
            )
    if eps_of(lo) <= epsilon:  # the target is loose: search below 1
        while eps_of(lo) <= epsilon:
            hi, lo = lo, lo / 2.0
            if lo < 1e-6:
                return hi
    while hi / lo > 1.0 + rtol:
        mid = math.sqrt(lo * hi)
        if eps_of(mid) > epsilon:
            lo = mid
        else:
            hi = mid
    return hi
