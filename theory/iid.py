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
   1 - 2e^{-40}; the circular convolution is unwrapped into that window. Entries below the
   FFT's round-off floor (1e-13 of the largest entry, or 4 times the most negative entry) are
   dropped and the rest renormalised. When all values are integers (counts, uniform,
   two-point with an integer ratio) the lattice is the integers and the law is exact up to
   FFT rounding.
2. **Expectation over T.** :math:`\log G_{jk}` is a smooth function of :math:`\log T`, with
   :math:`\log(1-a) = -\log(1 + v/T)` (no cancellation for :math:`v \ll T`); it is
   evaluated exactly at every support point when there are at most 512 of them, otherwise
   interpolated by Chebyshev polynomials in :math:`\log T` on nested Chebyshev–Lobatto points,
   doubling until the interpolant matches at the new points to 1e-9 (relative, in G). Where
   257 nodes do not reach that (T spanning decades, large k), it is evaluated exactly at every
   support point if that costs at most 2^25 (points x values).
3. **Error estimate.** On a non-integer lattice the computation is repeated with step 2h; the
   relative difference is reported as ``rel_error`` (the splitting error shrinks with h). It
   is an estimate, not a bound: when T has mass on scales below h (values spread over ~1e8)
   it can understate the error (measured: E[a] = 1/N off by 1.1e-5, rel_error 3.6e-6).

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
EXACT_WORK = 1 << 25  # (support points x prior values) for which log G is evaluated exactly
_CHUNK = 1 << 16  # entries of one (T values x prior values) block in _log_G
NOISE_REL = 1e-13  # entries of the lattice law below NOISE_REL * max are round-off ...
NOISE_MARGIN = 4.0  # ... and so are entries below NOISE_MARGIN * |most negative entry|


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
    keep = pmf > _noise_floor(pmf)
    pos = np.flatnonzero(keep).astype(np.float64)
    vals = pos + L * np.ceil((lo - pos) / L)
    order = np.argsort(vals)
    vals, pmf = vals[order], pmf[keep][order]
    return vals, pmf / pmf.sum()


def _noise_floor(pmf: np.ndarray) -> float:
    r"""Level below which an entry of an FFT-computed law is round-off, not probability.

    The inverse FFT leaves round-off of either sign on every lattice point (relative to the
    largest entry, ~1e-16 for a few draws, growing to ~1e-11 for 1e7 draws, as the power
    :math:`\phi^{N-1}` amplifies the phase error). The true law is >= 0, so the most negative
    entry measures the round-off; entries up to ``NOISE_MARGIN`` times that, or up to
    ``NOISE_REL`` times the largest entry, cannot be told from it and are dropped (the rest is
    renormalised). Keeping them would let ~1e5 spurious support points of total mass ~1e-14
    stretch the range of T over decades.
    """
    return max(NOISE_REL * float(pmf.max()), NOISE_MARGIN * max(0.0, -float(pmf.min())))


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
    for _ in range(8):
        # each draw is split between the lattice points below and above it, which can carry the
        # sum past [lo, hi] (by up to one step per draw); the window of the split sum, by the same
        # Chernoff bound, must fit the lattice, else the top of the law wraps onto its bottom
        units = x / step
        k = np.floor(units)
        frac = units - k
        split = np.concatenate([k, k + 1.0])
        ws = np.concatenate([w * (1.0 - frac), w * frac])
        lo_u, hi_u = _window(split[ws > 0], ws[ws > 0], draws)
        if hi_u - lo_u + 2 <= lattice:
            break
        step *= (hi_u - lo_u + 2) / (lattice - 2)
    else:
        raise ArithmeticError("iid: the lattice window did not settle; increase the lattice")
    vals, pmf = _convolve_power(x / step, w, draws, np.floor(lo_u), lattice)
    return SumLaw(draws * vmin + vals * step, pmf, False, step)


def _log_G(lv: np.ndarray, lw: np.ndarray | None, log_n: float, log_T, pairs) -> np.ndarray:
    r""":math:`\log G_{jk}(T)` for every pair and every T; shape (len(pairs), len(log_T)).

    ``lv`` (K,) logs of the scaled values, ``lw`` (K,) log multiplicities or None, ``log_T`` the
    logs of the T values. :math:`\log(1-a) = -\log1p(v/T)` and
    :math:`\log a = \log(v/T) + \log(1-a)`: no cancellation when :math:`v \ll T`
    (``log T - log(v + T)`` loses the digits of v/T that k = n - l then multiplies).
    Blocks of (T values x prior values) of at most ``_CHUNK`` entries bound the memory.
    """
    log_T = np.atleast_1d(np.asarray(log_T, dtype=np.float64))
    v = np.exp(lv)
    out = np.empty((len(pairs), log_T.size))
    step = max(1, _CHUNK // lv.size)
    for c in range(0, log_T.size, step):
        lt = log_T[c : c + step]
        l1a = np.multiply.outer(np.exp(-lt), v)  # v / T, shape (chunk, K)
        np.log1p(l1a, out=l1a)
        np.negative(l1a, out=l1a)  # log(1 - a)
        la = lv[None, :] - lt[:, None]  # log(v / T)
        la += l1a  # log a
        t = np.empty_like(la)
        for r, (j, k) in enumerate(pairs):
            np.multiply(la, j, out=t)
            if k:
                t += k * l1a
            if lw is not None:
                t += lw
            m = t.max(axis=1, keepdims=True)  # finite: v > 0 and T > 0
            t -= m
            np.exp(t, out=t)
            out[r, c : c + step] = m[:, 0] + np.log(t.sum(axis=1)) - log_n
    return out


def _chebyshev_log_G(lg, a: float, b: float):
    """Chebyshev fit of ``lg`` (log G of log T) on [a, b] with nested Lobatto nodes, doubled
    from 8 to at most 256 until the new nodes agree to 1e-9; returns (coefficients, residual)."""

    def lobatto(K):
        return 0.5 * (a + b) + 0.5 * (b - a) * np.cos(np.pi * np.arange(K + 1) / K)

    def unit(u):
        return (u - 0.5 * (a + b)) / (0.5 * (b - a))

    K = 8
    u = lobatto(K)
    f = lg(u).T  # (nodes, pairs)
    while True:
        fit = C.chebfit(unit(u), f, K)
        u_new = lobatto(2 * K)[1::2]
        f_new = lg(u_new).T
        resid = float(np.max(np.abs(C.chebval(unit(u_new), fit).T - f_new)))
        u = np.concatenate([u, u_new])
        f = np.concatenate([f, f_new])
        K *= 2
        if resid < 1e-9 or K >= 256:
            return C.chebfit(unit(u), f, K), resid


def _piecewise_log_G(lg, log_pts: np.ndarray, a: float, b: float, depth: int = 0) -> np.ndarray | None:
    """log G at ``log_pts`` (sorted, inside [a, b]) from Chebyshev fits on [a, b] bisected until
    each piece is resolved to 1e-9, or evaluated exactly on pieces holding at most
    ``EXACT_SUPPORT`` points; shape (pairs, len(log_pts)). None if 24 bisections do not suffice."""
    if log_pts.size <= EXACT_SUPPORT:
        return lg(log_pts)
    fit, resid = _chebyshev_log_G(lg, a, b)
    if resid < 1e-9:
        return C.chebval((log_pts - 0.5 * (a + b)) / (0.5 * (b - a)), fit)
    if depth >= 24:
        return None
    mid = 0.5 * (a + b)
    cut = int(np.searchsorted(log_pts, mid))
    left = _piecewise_log_G(lg, log_pts[:cut], a, mid, depth + 1) if cut else None
    right = _piecewise_log_G(lg, log_pts[cut:], mid, b, depth + 1) if cut < log_pts.size else None
    if (cut and left is None) or (cut < log_pts.size and right is None):
        return None
    return np.concatenate([v for v in (left, right) if v is not None], axis=1)


def _expect(laws: Sequence[SumLaw], lg, K: int) -> list[np.ndarray]:
    """E_T[exp(log G(T))] in log space for every law; ``lg(log_T)`` gives log G, shape
    (pairs, len(log_T)), at a cost of K per T value.

    log G is evaluated at every support point when there are at most ``EXACT_SUPPORT`` of them,
    else interpolated (:func:`_chebyshev_log_G`); if 256 nodes do not resolve it to 1e-9 (sharp
    bends, from T spanning decades with large k) it is evaluated at every support point when
    that costs at most ``EXACT_WORK`` (support points x K), else interpolated piecewise on
    bisected intervals until every piece is resolved to 1e-9 (:func:`_piecewise_log_G`); failing
    that, an interpolant good to 1e-6 is accepted, and a worse one raises ArithmeticError.
    """
    pts = np.unique(np.concatenate([law.support for law in laws]))
    log_pts = np.log(pts)
    if pts.size <= EXACT_SUPPORT:
        vals = lg(log_pts)
    else:
        a, b = float(log_pts[0]), float(log_pts[-1])
        fit, resid = _chebyshev_log_G(lg, a, b)
        piecewise = None
        if resid >= 1e-9 and pts.size * K <= EXACT_WORK:
            vals = lg(log_pts)
        elif resid >= 1e-9 and (piecewise := _piecewise_log_G(lg, log_pts, a, b)) is not None:
            vals = piecewise
        elif resid < 1e-6:
            vals = C.chebval((log_pts - 0.5 * (a + b)) / (0.5 * (b - a)), fit)  # (pairs, S)
        else:
            raise ArithmeticError(
                f"iid: log G(T) is not resolved by 256 Chebyshev nodes (residual {resid:.1e}), and "
                f"evaluating it at all {pts.size} support points x {K} values exceeds {EXACT_WORK}"
            )
    return [
        logsumexp(np.log(law.pmf)[None, :] + vals[:, np.searchsorted(pts, law.support)], axis=1)
        for law in laws
    ]


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
    lv = prior.log_values - prior.log_values[0]
    lw = prior.log_weights
    log_n = float(np.log(prior.N))

    def lg(log_T):
        return _log_G(lv, lw, log_n, log_T, pairs)

    law = law_of_rest(prior, lattice=lattice)
    if law.exact:
        return IidMoments(_expect([law], lg, lv.size)[0], 0.0, True)
    coarse = law_of_rest(prior, lattice=lattice // 2)
    fine, rough = _expect([law, coarse], lg, lv.size)
    with np.errstate(invalid="ignore"):
        err = np.abs(np.expm1(rough - fine))
    err = float(np.nanmax(np.where(np.isfinite(fine), err, 0.0)))
    return IidMoments(fine, err, False)
