r"""The ``iid`` variant: the marginal law :math:`\bar\pi^N` of one point's normalised frequency.

In the exact model each of the N points draws :math:`p_x` iid from :math:`\pi` (here: uniform
over the prior's list) and :math:`D(x) = p_x / (p_x + T)` with :math:`T = \sum_{x'\ne x} p_{x'}`,
a sum of N - 1 iid draws independent of :math:`p_x`. So

.. math:: M(j,k) = E[a^j (1-a)^k] = E_T\big[G_{jk}(T)\big],\qquad
          G_{jk}(T) = \frac1N\sum_i w_i \frac{v_i^j\,T^k}{(v_i+T)^{j+k}}.

How it is computed (and how accurate it is):

1. **Law of T.** The single-draw law is put on a lattice of step h by splitting each value
   between its two neighbouring lattice points so that the mean is kept; the (N-1)-fold
   convolution is one FFT raised to the power N - 1. A Chernoff bound computed from the
   exact moment generating function fixes a window that holds T with probability
   1 - 2e^{-40}; the circular convolution is unwrapped into that window. When all values are
   integers (counts, uniform, two-point with an integer ratio) the lattice is the integers
   and the law is exact up to FFT rounding.
2. **Expectation over T.** :math:`\log G_{jk}` is a smooth function of :math:`\log T`; it is
   evaluated exactly at every support point when there are at most 512 of them, otherwise
   interpolated by Chebyshev polynomials in :math:`\log T` on nested Chebyshev–Lobatto points,
   doubling until the interpolant matches at the new points to 1e-9 (relative, in G).
3. **Error estimate.** On a non-integer lattice the computation is repeated with step 2h; the
   relative difference is reported as ``rel_error`` (the splitting error shrinks with h).

Cost: a few FFTs of the lattice size, plus the O(N) sum of step 2 at each Chebyshev node
(17 to 257 nodes, usually 17), so roughly 20–100 times the ``fixed`` variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev as C
from scipy.special import logsumexp

from theory.priors import FrequencyPrior

__all__ = ["SumLaw", "IidMoments", "law_of_rest", "log_moments_iid"]

LOG_EPS = -40.0  # log of the tail probability left outside the window, on each side
DEFAULT_LATTICE = 1 << 19
MAX_EXACT_LATTICE = 1 << 22
EXACT_SUPPORT = 512


@dataclass(frozen=True)
class SumLaw:
    r"""Law of :math:`T`, the sum of N - 1 iid draws of the prior's values (scaled so max = 1).

    ``support`` (S,) increasing values of T; ``pmf`` (S,) their probabilities;
    ``exact``: lattice with no splitting error; ``step``: lattice step h (0 if T is constant).
    """

    support: np.ndarray
    pmf: np.ndarray
    exact: bool
    step: float


@dataclass(frozen=True)
class IidMoments:
    """Log moments under the iid variant with their estimated relative error."""

    values: np.ndarray
    rel_error: float
    exact_lattice: bool


def _scaled(prior: FrequencyPrior) -> tuple[np.ndarray, np.ndarray]:
    """Values scaled so that the largest is 1, and their probabilities under pi; shape (K,)."""
    v = np.exp(prior.log_values - prior.log_values[0])
    return v, prior.weights / prior.N


def _integer_units(prior: FrequencyPrior) -> tuple[np.ndarray, float] | None:
    """If all raw values are integers, (values - min) / gcd as ints and gcd / max, else None."""
    raw = np.exp(prior.log_values)
    if not np.isfinite(raw).all() or raw.max() > 2.0**31:
        return None
    r = np.round(raw)
    if np.any(np.abs(raw - r) > 1e-9 * np.maximum(1.0, r)):
        return None
    xi = (r - r.min()).astype(np.int64)
    g = int(np.gcd.reduce(xi[xi > 0])) if (xi > 0).any() else 1
    return xi // g, g / r.max()


def _window(x: np.ndarray, w: np.ndarray, draws: int) -> tuple[float, float]:
    """[lo, hi] holding sum of ``draws`` iid draws of x (law w) w.p. >= 1 - 2 e^LOG_EPS.

    Chernoff bounds with the moment generating function bounded above on 2,048 log-spaced
    bins (each value replaced by its bin's upper end for the upper tail, lower end for the
    lower tail), so the window is rigorous.
    """
    xmax = float(x.max())
    mean = float(w @ x) * draws
    pos = x > 0
    w0 = float(w[~pos].sum())
    xp, wp = x[pos], w[pos]
    edges = np.geomspace(xp.min(), xmax, 2049)
    idx = np.clip(np.searchsorted(edges, xp, side="right") - 1, 0, 2047)
    wb = np.bincount(idx, weights=wp, minlength=2048)
    keep = wb > 0
    lw = np.log(wb[keep])
    lo_b, hi_b = edges[:-1][keep], edges[1:][keep]
    s = np.geomspace(1e-12, 1e4, 600)[:, None] / xmax
    extra = [np.full((s.shape[0], 1), np.log(w0))] if w0 > 0 else []
    k_up = logsumexp(np.hstack([lw + s * hi_b, *extra]), axis=1)
    k_dn = logsumexp(np.hstack([lw - s * lo_b, *extra]), axis=1)
    s = s[:, 0]
    hi = float(np.min((draws * k_up - LOG_EPS) / s))
    lo = float(np.max((LOG_EPS - draws * k_dn) / s))
    return max(0.0, min(lo, mean)), min(max(hi, mean), draws * xmax)


def _convolve_power(x_units: np.ndarray, w: np.ndarray, draws: int, lo: float, L: int):
    """Law of the sum of ``draws`` draws of lattice-split x (in lattice units) on L points.

    Returns (values in lattice units, pmf) unwrapped into [lo, lo + L).
    """
    k = np.floor(x_units)
    frac = x_units - k
    k = k.astype(np.int64)
    pmf1 = np.bincount(k % L, weights=w * (1.0 - frac), minlength=L)
    pmf1 += np.bincount((k + 1) % L, weights=w * frac, minlength=L)
    pmf1 /= pmf1.sum()
    phi = np.fft.rfft(pmf1)
    phi /= phi[0].real  # exact normalisation before the power: 1 + 1e-16 to the 1e7 drifts
    zero = phi == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        phi_n = np.exp(draws * np.log(np.where(zero, 1.0, phi)))
    phi_n[zero] = 0.0
    pmf = np.fft.irfft(phi_n, n=L)
    total = pmf.sum()
    if abs(total - 1.0) > 1e-8:
        raise ArithmeticError(f"iid: lattice law lost mass ({total!r}); increase the lattice")
    np.maximum(pmf, 0.0, out=pmf)
    pos = np.arange(L, dtype=np.float64)
    vals = pos + L * np.ceil((lo - pos) / L)
    order = np.argsort(vals)
    vals, pmf = vals[order], pmf[order]
    keep = pmf > 0
    return vals[keep], pmf[keep] / pmf[keep].sum()


def law_of_rest(prior: FrequencyPrior, *, lattice: int = DEFAULT_LATTICE) -> SumLaw:
    r"""Law of :math:`T`, the sum of the other N - 1 points' unnormalised frequencies.

    Values are scaled so that the prior's largest value is 1. ``lattice`` is the number of
    lattice points on the non-integer path (a power of two is fastest).
    """
    v, w = _scaled(prior)
    draws = prior.N - 1
    vmin = float(v.min())
    x = v - vmin
    if draws == 0 or x.max() == 0.0:
        return SumLaw(np.array([draws * vmin]), np.ones(1), True, 0.0)
    ints = _integer_units(prior)
    if ints is not None:
        units, step = ints
        lo, hi = _window(units.astype(np.float64), w, draws)
        lo, hi = np.floor(lo), np.ceil(hi)
        L = 1 << int(np.ceil(np.log2(hi - lo + 2)))
        if L <= MAX_EXACT_LATTICE:
            vals, pmf = _convolve_power(units.astype(np.float64), w, draws, lo, L)
            return SumLaw(draws * vmin + vals * step, pmf, True, step)
    lo, hi = _window(x, w, draws)
    step = (hi - lo) / (lattice - 2)
    vals, pmf = _convolve_power(x / step, w, draws, lo / step, lattice)
    return SumLaw(draws * vmin + vals * step, pmf, False, step)


def _lse(t: np.ndarray, w: np.ndarray | None) -> float:
    """log sum_i w_i exp(t_i), max-shifted; overwrites t."""
    m = float(t.max())
    if m == -np.inf:
        return m
    t -= m
    np.exp(t, out=t)
    return m + float(np.log(t.sum() if w is None else w @ t))


def _log_G(lv: np.ndarray, w: np.ndarray | None, log_n: float, T: float, pairs) -> np.ndarray:
    r""":math:`\log G_{jk}(T)` for every pair; ``lv`` the log of the positive scaled values."""
    lvt = np.log(np.exp(lv) + T)
    la = lv - lvt
    l1a = np.log(T) - lvt
    out = np.empty(len(pairs))
    t = np.empty_like(lv)
    for r, (j, k) in enumerate(pairs):
        t.fill(0.0)
        if j:
            t += j * la
        if k:
            t += k * l1a
        out[r] = _lse(t, w) - log_n
    return out


def _expect(laws: Sequence[SumLaw], lg) -> list[np.ndarray]:
    """E_T[exp(log G(T))] in log space for every law; ``lg(T)`` gives log G at one T."""
    pts = np.unique(np.concatenate([law.support for law in laws]))
    if pts.size <= EXACT_SUPPORT:
        table = {float(t): lg(float(t)) for t in pts}
        return [
            logsumexp(
                np.log(law.pmf)[:, None] + np.array([table[float(t)] for t in law.support]), axis=0
            )
            for law in laws
        ]
    a, b = np.log(pts[0]), np.log(pts[-1])

    def lobatto(K):
        return 0.5 * (a + b) + 0.5 * (b - a) * np.cos(np.pi * np.arange(K + 1) / K)

    K = 8
    u = lobatto(K)
    f = np.array([lg(float(np.exp(t))) for t in u])
    while True:
        fit = C.chebfit((u - 0.5 * (a + b)) / (0.5 * (b - a)), f, K)
        u_new = lobatto(2 * K)[1::2]
        f_new = np.array([lg(float(np.exp(t))) for t in u_new])
        pred = C.chebval((u_new - 0.5 * (a + b)) / (0.5 * (b - a)), fit).T
        u = np.concatenate([u, u_new])
        f = np.concatenate([f, f_new])
        K *= 2
        if np.max(np.abs(pred - f_new)) < 1e-9 or K >= 256:
            break
    if np.max(np.abs(pred - f_new)) >= 1e-6:
        raise ArithmeticError("iid: log G(T) is not resolved by 256 Chebyshev nodes")
    fit = C.chebfit((u - 0.5 * (a + b)) / (0.5 * (b - a)), f, K)
    out = []
    for law in laws:
        t = law.support
        lp = np.log(law.pmf)
        x = (np.log(t) - 0.5 * (a + b)) / (0.5 * (b - a))
        vals = C.chebval(x, fit)  # (pairs, S)
        out.append(logsumexp(lp[None, :] + vals, axis=1))
    return out


def log_moments_iid(
    prior: FrequencyPrior, pairs: Sequence[tuple[int, int]], *, lattice: int = DEFAULT_LATTICE
) -> IidMoments:
    r""":math:`\log E_{a\sim\bar\pi^N}[a^j(1-a)^k]` for each pair, with an error estimate.

    See the module docstring for the method. ``rel_error`` is the largest relative change of a
    moment between lattice steps h and 2h (0 on the exact integer lattice).
    """
    pairs = [(int(j), int(k)) for j, k in pairs]
    if prior.num_zero:
        raise ValueError(
            "prior: the iid variant needs every frequency > 0 (a zero entry makes D undefined "
            "when every point draws it); use variant='fixed'"
        )
    if prior.N == 1:  # the single point has D(x) = 1
        vals = np.array([0.0 if k == 0 else -np.inf for _, k in pairs])
        return IidMoments(vals, 0.0, True)
    lv_all = prior.log_values - prior.log_values[0]
    lv = lv_all
    w = None if prior.counts is None else prior.weights
    log_n = float(np.log(prior.N))

    def lg(T):
        return _log_G(lv, w, log_n, T, pairs)

    law = law_of_rest(prior, lattice=lattice)
    if law.exact:
        return IidMoments(_expect([law], lg)[0], 0.0, True)
    coarse = law_of_rest(prior, lattice=lattice // 2)
    fine, rough = _expect([law, coarse], lg)
    with np.errstate(invalid="ignore"):
        err = np.abs(np.expm1(rough - fine))
    err = float(np.nanmax(np.where(np.isfinite(fine), err, 0.0)))
    return IidMoments(fine, err, False)
