r"""The moments :math:`M(j, k) = E_{a\sim\bar\pi}[a^j (1-a)^k]` behind every quantity of the theory.

Every quantity of Feldman's model that depends on the prior is a ratio or a multiple of these
moments of the marginal law :math:`\bar\pi` of one point's frequency :math:`a = D(x)`:
:math:`\tau_\ell = M(\ell+1, n-\ell) / M(\ell, n-\ell)`, the expected number of points seen
exactly :math:`\ell` times is :math:`N\binom{n}{\ell} M(\ell, n-\ell)`, and so on.

They are returned as logarithms: a moment like :math:`M(1, 10^7)` is far below the float range
when the prior has no mass near 1/n, but its logarithm is an ordinary number.

``fixed`` variant: :math:`\bar\pi` is uniform over the normalised list, so
:math:`M(j,k) = \frac1N\sum_i q_i^j (1-q_i)^k`, summed with a max-shifted log-sum-exp, with
:math:`\log(1-q_i)` from ``log1p``. Exact up to float rounding (relative error ~1e-15 * log terms).

``iid`` variant: see :mod:`theory.iid`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from theory.priors import FrequencyPrior, check_variant

__all__ = ["log_moments", "log_moment", "log_moment_ladder", "moment_ratios"]


def _log_sum_weighted(t: np.ndarray, weights: np.ndarray | None) -> float:
    """log(sum_i w_i exp(t_i)), max-shifted; ``t`` is overwritten."""
    m = float(t.max())
    if m == -np.inf:
        return -np.inf
    np.subtract(t, m, out=t)
    np.exp(t, out=t)
    s = float(t.sum() if weights is None else weights @ t)
    return m + float(np.log(s))


def log_moments_fixed(prior: FrequencyPrior, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    r""":math:`\log M(j,k)` under the fixed variant for each (j, k) in ``pairs``; shape (len(pairs),)."""
    pos = np.isfinite(prior.log_q)
    lq = prior.log_q[pos]
    l1 = prior.log1m_q[pos]
    w = None if prior.counts is None else prior.weights[pos]
    n_zero = prior.num_zero
    log_n = np.log(prior.N)
    buf = np.empty_like(lq)
    tmp = np.empty_like(lq)
    out = np.empty(len(pairs))
    for r, (j, k) in enumerate(pairs):
        if j < 0 or k < 0:
            raise ValueError(f"moment orders must be >= 0; got (j, k) = ({j}, {k})")
        buf.fill(0.0)
        if j:
            np.multiply(lq, j, out=tmp)
            buf += tmp
        if k:
            np.multiply(l1, k, out=tmp)  # -inf where q = 1, giving a zero term as it should
            buf += tmp
        val = _log_sum_weighted(buf, w)
        if j == 0 and n_zero:
            val = float(np.logaddexp(val, np.log(n_zero)))
        out[r] = val - log_n
    return out


def _moment_ratios_fixed(prior: FrequencyPrior, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    r""":math:`M(j+1,k)/M(j,k)` under the fixed variant, numerator and denominator sharing one shift."""
    pos = np.isfinite(prior.log_q)
    lq = prior.log_q[pos]
    q = np.exp(lq)
    l1 = prior.log1m_q[pos]
    w = prior.weights[pos]
    n_zero = prior.num_zero
    out = np.empty(len(pairs))
    for r, (j, k) in enumerate(pairs):
        if j < 0 or k < 0:
            raise ValueError(f"moment orders must be >= 0; got (j, k) = ({j}, {k})")
        t = np.zeros_like(lq)
        if j:
            t += j * lq
        if k:
            t += k * l1  # -inf where q = 1
        m = float(t.max())
        if m == -np.inf:  # no positive point contributes (q = 1, k > 0): M(j+1, k) = 0, and
            out[r] = 0.0 if (j == 0 and n_zero) else np.nan  # M(j, k) > 0 only from zero entries
            continue
        np.exp(t - m, out=t)
        t *= w
        num, den = dot(t, q), float(t.sum())
        if j == 0 and n_zero:  # zero entries add (1 - 0)^k = 1 each to M(0, k), nothing to M(1, k)
            with np.errstate(divide="ignore"):
                out[r] = np.exp(np.log(num) - np.logaddexp(np.log(den), np.log(n_zero) - m))
        else:
            out[r] = num / den
    return out


def moment_ratios(
    prior: FrequencyPrior, pairs: Sequence[tuple[int, int]], *, variant: str = "fixed"
) -> np.ndarray:
    r""":math:`M(j+1, k) / M(j, k)` for each pair ``(j, k)``; shape (len(pairs),), NaN where
    :math:`M(j, k) = 0`.

    With (j, k) = (l, n - l) this is :math:`\tau_\ell`. Under the fixed variant it is the
    weighted mean :math:`\sum_i q_i\,t_i / \sum_i t_i` of the terms
    :math:`t_i = q_i^j(1-q_i)^k` shifted by one common maximum, so it carries about 1e-16 times
    the size of the dominant terms' log exponents (measured up to 1.1e-13 against 50-digit
    mpmath at n ~ 1.5e6); the difference of two log moments of size :math:`|\log M| \sim nq` would carry
    :math:`|\log M|\cdot 10^{-16}` (1e-9 at n ~ 1e8). ``iid``: exp of that difference.
    """
    check_variant(variant)
    pairs = [(int(j), int(k)) for j, k in pairs]
    if variant == "fixed":
        return _moment_ratios_fixed(prior, pairs)
    lm = log_moments(prior, [(j + 1, k) for j, k in pairs] + pairs, variant=variant)
    num, den = lm[: len(pairs)], lm[len(pairs) :]
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(den), np.exp(num - den), np.nan)


def log_moments(
    prior: FrequencyPrior, pairs: Sequence[tuple[int, int]], *, variant: str = "fixed"
) -> np.ndarray:
    r""":math:`\log E_{a\sim\bar\pi}[a^j(1-a)^k]` for each pair ``(j, k)``; shape (len(pairs),).

    ``variant`` is ``"fixed"`` (normalised list, random assignment) or ``"iid"`` (iid draws from
    the prior, then normalised; :math:`\bar\pi^N` computed by :mod:`theory.iid`).
    Source: Feldman (2020), arXiv 1906.05271, Section 2 (the definition of tau_l).
    """
    check_variant(variant)
    pairs = [(int(j), int(k)) for j, k in pairs]
    if variant == "fixed":
        return log_moments_fixed(prior, pairs)
    from theory.iid import log_moments_iid

    return log_moments_iid(prior, pairs).values


def log_moment(prior: FrequencyPrior, j: int, k: int, *, variant: str = "fixed") -> float:
    r"""Single moment :math:`\log E_{a\sim\bar\pi}[a^j(1-a)^k]`; see :func:`log_moments`."""
    return float(log_moments(prior, [(j, k)], variant=variant)[0])


_BLOCK = 1 << 15


def dot(a: np.ndarray, b: np.ndarray) -> float:
    r""":math:`\sum_i a_i b_i` in this thread, never through BLAS.

    OpenBLAS splits a dot product of a few thousand entries or more over all its threads; on a
    machine where other jobs hold the cores, every such call waits for a descheduled thread.
    The fixed-variant ladder makes ~1,800 of them at N = n = 1e7 (blocks of 32k entries): the
    bound took 0.24 s on 2 idle cores and 12.9 s beside 4 busy processes through BLAS, against
    1.7 s with one BLAS thread. ``einsum`` sums in one thread (and was 6x faster than ``@`` on
    32k entries even alone here).
    """
    return float(np.einsum("i,i->", a, b))


#: A point whose level-0 term (1 - q)^n is below e^LOG_FAR (near the bottom of the normal float
#: range, e^-708) is summed in log space instead of by the recurrence.
LOG_FAR = -700.0


def _ladder_far(lq, l1, q, w, n, shift, s0, s1) -> None:
    r"""Add the scaled terms of the far points to ``s0`` and ``s1`` directly in log space.

    Term of point i at level l, scaled by the level's maximum:
    :math:`\exp(l\log q_i + (n-l)\log(1-q_i) - \mathrm{shift}_l) \le 1`. Evaluated on
    (points x levels) chunks of at most ``_BLOCK`` entries, so memory stays bounded.
    """
    ls = np.arange(shift.size, dtype=np.float64)
    chunk = max(1, _BLOCK // shift.size)
    for c in range(0, lq.size, chunk):
        t = np.multiply.outer(lq[c : c + chunk], ls)
        t += np.multiply.outer(l1[c : c + chunk], n - ls)  # l1 finite: q < 1 here
        t -= shift
        np.exp(t, out=t)
        if w is not None:
            t *= w[c : c + chunk, None]
        s0 += t.sum(axis=0)
        s1 += np.einsum("i,il->l", q[c : c + chunk], t)  # no BLAS: see dot()


def _ladder_fixed(prior: FrequencyPrior, n: int, L: int) -> tuple[np.ndarray, np.ndarray] | None:
    r"""The fixed-variant ladder; None when a level's scaled sum underflows (the caller falls back).

    Every term is scaled by the level's analytic maximum, :math:`t_{il} =
    q_i^l(1-q_i)^{n-l}/\max_a a^l(1-a)^{n-l} \le 1`, and :math:`\log t_{il}` is concave in
    l (linear minus convex), so over l = 0..L it is smallest at l = 0 or l = L. A point whose
    :math:`t_{i0} = (1-q_i)^n \ge e^{-700}` is a normal float, so its recurrence
    :math:`t_{i,l+1} = t_{il}\cdot q_i/(1-q_i)\cdot\mathrm{step}_l` never passes through the
    subnormal range except where it is falling for good (and then below 2.2e-308 while the sum
    it joins is above 1e-250). The other points (``far``: (1-q)^n below the float range, terms
    that may dominate at larger l) are summed in log space by :func:`_ladder_far`. Works block by
    block (32k entries) so that every pass stays in cache.
    """
    lv_all = prior.log_values
    n_pos = lv_all.size - prior.num_zero_entries  # zeros (-inf) sit at the end
    w_all = None if prior.counts is None else prior.weights
    log_total = prior.log_total
    # analytic maximum of a^l (1-a)^(n-l), the scale of step l; ratios between steps
    ls = np.arange(L + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(ls > 0, ls * np.log(ls / n), 0.0) + np.where(
            ls < n, (n - ls) * np.log1p(-ls / n), 0.0
        )
    step = np.exp(shift[:-1] - shift[1:])
    s0 = np.zeros(L + 1)
    s1 = np.zeros(L + 1)
    for b in range(0, n_pos, _BLOCK):
        lq = lv_all[b : min(b + _BLOCK, n_pos)] - log_total
        q = np.exp(lq)
        w = None if w_all is None else w_all[b : b + q.size]
        with np.errstate(divide="ignore"):
            e = np.log1p(-q)
        if b == 0:
            prior.fix_top_log1m(e, float(q[0]))
            if e[0] == -np.inf:  # a single positive point, q = 1: the direct sums handle it
                return None
        far = e < LOG_FAR / n  # (1 - q)^n below e^LOG_FAR; sorted by q, so they lead the list
        with np.errstate(over="ignore"):
            r = np.exp(lq - e)  # q / (1 - q) without cancellation (inf only for far points)
        if far.any():
            wf = None if w is None else w[far]
            _ladder_far(lq[far], e[far], q[far], wf, n, shift, s0, s1)
            e[far] = -np.inf  # out of the recurrence
            r[far] = 0.0
        e *= n  # log of E_0 = (1 - q)^n <= 1
        np.exp(e, out=e)
        if w is not None:
            e *= w
        for l in range(L + 1):
            s0[l] += e.sum()
            s1[l] += dot(e, q)
            if l < L:
                e *= r
                e *= step[l]
    if not ((s0 > 1e-250).all() and (s1 > 1e-250).all()):
        return None
    log_n = np.log(prior.N)
    lo = shift + np.log(s0) - log_n
    hi = shift + np.log(s1) - log_n
    if prior.num_zero:
        lo[0] = np.logaddexp(lo[0], np.log(prior.num_zero) - log_n)
    return lo, hi


def log_moment_ladder(
    prior: FrequencyPrior, n: int, L: int, *, variant: str = "fixed"
) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\log M(\ell, n-\ell)` and :math:`\log M(\ell+1, n-\ell)` for :math:`\ell = 0..L`.

    These are the denominators and numerators of :math:`\tau_\ell`, the expected number and mass
    of points seen :math:`\ell` times. Under the fixed variant they come from the recurrence
    :math:`q^{\ell+1}(1-q)^{n-\ell-1} = q^\ell(1-q)^{n-\ell}\cdot q/(1-q)`, rescaled at each
    step by the analytic maximum :math:`\max_a a^\ell(1-a)^{n-\ell}`: one exp pass in total
    instead of one per moment. Points whose :math:`(1-q)^n` is below the float range (their
    terms can still dominate at larger :math:`\ell`) are summed term by term in log space. If
    the scaled sums underflow (no mass near l/n), it falls back to the max-shifted
    :func:`log_moments`. Shapes (L+1,), (L+1,).
    """
    check_variant(variant)
    if not 0 <= L <= n:
        raise ValueError(f"L must be in [0, n] = [0, {n}]; got {L}")
    if variant == "fixed":
        out = _ladder_fixed(prior, n, L)
        if out is not None:
            return out
    pairs = [(l, n - l) for l in range(L + 1)] + [(l + 1, n - l) for l in range(L + 1)]
    lm = log_moments(prior, pairs, variant=variant)
    return lm[: L + 1], lm[L + 1 :]
