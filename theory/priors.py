r"""Frequency priors of Feldman's subpopulation mixture model.

A frequency prior :math:`\pi` is a list of :math:`N` nonnegative numbers, one per point of the
domain :math:`X` (a subpopulation). Two variants of the model turn it into a distribution
:math:`D` over :math:`X` (Feldman 2020, arXiv 1906.05271, Section 2; docs/references.md §1.1):

``fixed``
    The normalised list :math:`q_i = p_i / \sum_k p_k`, assigned to the points in a uniformly
    random order. The marginal law :math:`\bar\pi` of one point's frequency is the uniform law
    over the normalised list. The paper's worked examples use it.
``iid``
    Each point draws :math:`p_x` independently from :math:`\pi` (the uniform law over the list's
    entries) and :math:`D(x) = p_x / \sum_{x'} p_{x'}`. The marginal law of :math:`D(x)` is
    :math:`\bar\pi^N`; see :mod:`theory.iid` for how it is computed.

A :class:`FrequencyPrior` stores the list in log space (``log_values``, unnormalised, sorted in
decreasing order, ``-inf`` for a zero entry) with optional integer multiplicities, so that lists
of 1e7 entries and exponents far beyond the float range stay exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from theory._validate import check_finite, check_int, check_prob

__all__ = [
    "FrequencyPrior",
    "zipf",
    "uniform",
    "two_point",
    "from_counts",
    "from_density",
    "mixture",
    "VARIANTS",
    "check_variant",
]

VARIANTS = ("fixed", "iid")

#: Largest number of quadrature nodes used to represent a continuous density.
MAX_DENSITY_NODES = 1 << 16


def check_variant(variant: str) -> str:
    """Return ``variant`` if it names a model variant, else raise ``ValueError``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    return variant


@dataclass(frozen=True, eq=False)
class FrequencyPrior:
    r"""A frequency prior: :math:`N` unnormalised frequencies, stored as logarithms.

    ``log_values``: shape (K,), the distinct-or-not log frequencies in decreasing order
    (``-inf`` marks a zero frequency). ``counts``: shape (K,) positive integers, the number of
    points that carry each value, or ``None`` when every value is carried by one point.
    ``N = counts.sum()`` is the number of subpopulations. ``name`` describes the prior.
    """

    log_values: np.ndarray
    counts: np.ndarray | None
    name: str

    def __post_init__(self) -> None:
        lv = np.asarray(self.log_values, dtype=np.float64)
        if lv.ndim != 1 or lv.size == 0:
            raise ValueError("prior: needs at least one frequency (got an empty list)")
        if np.isnan(lv).any() or np.isposinf(lv).any():
            raise ValueError("prior: frequencies must be finite and nonnegative (found NaN or inf)")
        if not np.isfinite(lv).any():
            raise ValueError("prior: frequencies are all zero; at least one must be positive")
        order = None if np.all(lv[:-1] >= lv[1:]) else np.argsort(-lv, kind="stable")
        if order is not None:
            lv = lv[order]
        counts = self.counts
        if counts is not None:
            counts = np.asarray(counts)
            if counts.shape != lv.shape:
                raise ValueError(f"prior: counts has shape {counts.shape}, expected {lv.shape}")
            if not np.issubdtype(counts.dtype, np.integer) or (counts < 1).any():
                raise ValueError("prior: counts must be positive integers")
            counts = counts.astype(np.int64)
            counts = counts if order is None else counts[order]
            if (counts == 1).all():
                counts = None
        lv.setflags(write=False)
        object.__setattr__(self, "log_values", lv)
        if counts is not None:
            counts.setflags(write=False)
        object.__setattr__(self, "counts", counts)

    # ------------------------------------------------------------------ basic views
    @cached_property
    def N(self) -> int:
        """Number of subpopulations (points of the domain)."""
        return int(self.log_values.size if self.counts is None else self.counts.sum())

    @cached_property
    def weights(self) -> np.ndarray:
        """Multiplicities as float64, shape (K,)."""
        if self.counts is None:
            return np.ones(self.log_values.size)
        return self.counts.astype(np.float64)

    @cached_property
    def log_weights(self) -> np.ndarray | None:
        """Log multiplicities, or None when all are one."""
        return None if self.counts is None else np.log(self.weights)

    @cached_property
    def log_total(self) -> float:
        """log of the sum of the unnormalised list, :math:`\\log\\sum_i p_i`."""
        top = float(self.log_values[0])
        e = np.exp(self.log_values - top)
        return top + float(np.log(e.sum() if self.counts is None else self.weights @ e))

    @cached_property
    def log_q(self) -> np.ndarray:
        """Log of the normalised list :math:`\\log q_i`, shape (K,)."""
        out = self.log_values - self.log_total
        out.setflags(write=False)
        return out

    @cached_property
    def log1m_q_top(self) -> float:
        """:math:`\\log(1 - q_0)` of the largest entry from the sum of the others (no cancellation)."""
        lv = self.log_values
        parts = [lv[1:]]
        w = [self.weights[1:]]
        if self.weights[0] > 1:
            parts.append(lv[:1])
            w.append(self.weights[:1] - 1)
        rest = np.concatenate(parts)
        ww = np.concatenate(w)
        fin = np.isfinite(rest)
        if not fin.any():
            return -np.inf
        top = rest[fin].max()
        return float(top + np.log(ww[fin] @ np.exp(rest[fin] - top)) - self.log_total)

    def fix_top_log1m(self, log1m: np.ndarray, q0: float) -> None:
        """Replace ``log1m[0]`` (log(1 - q_0) of the largest entry) by the cancellation-free value
        when q_0 > 1/2, where 1 - q_0 would lose digits."""
        if q0 > 0.5:
            log1m[0] = self.log1m_q_top

    @cached_property
    def log1m_q(self) -> np.ndarray:
        """:math:`\\log(1 - q_i)`, accurate for tiny :math:`q_i` (log1p) and for a dominant entry
        (from the sum of the others), shape (K,)."""
        with np.errstate(divide="ignore"):  # q = 1 (a single point) gives -inf
            out = np.log1p(-np.exp(self.log_q))
        self.fix_top_log1m(out, float(np.exp(self.log_q[0])))
        out.setflags(write=False)
        return out

    def normalized(self) -> np.ndarray:
        """The normalised list expanded to N entries, in decreasing order (for small N)."""
        q = np.exp(self.log_q)
        return q if self.counts is None else np.repeat(q, self.counts)

    @cached_property
    def num_zero_entries(self) -> int:
        """Number of list entries (before multiplicity) equal to zero; they sit at the end."""
        return int(self.log_values.size - np.searchsorted(-self.log_values, np.inf))

    @cached_property
    def num_zero(self) -> int:
        """Number of points whose frequency is exactly zero."""
        k = self.num_zero_entries
        if k == 0:
            return 0
        return k if self.counts is None else int(self.counts[-k:].sum())

    @classmethod
    def _trusted(cls, log_values: np.ndarray, name: str) -> FrequencyPrior:
        """Wrap log values already known finite and sorted decreasing, skipping the O(N) checks."""
        obj = cls.__new__(cls)
        log_values.setflags(write=False)
        object.__setattr__(obj, "log_values", log_values)
        object.__setattr__(obj, "counts", None)
        object.__setattr__(obj, "name", name)
        return obj

    def __repr__(self) -> str:
        return f"FrequencyPrior({self.name}, N={self.N})"


# ---------------------------------------------------------------------- constructors
def zipf(N: int, exponent: float = 1.0, *, offset: float = 0.0) -> FrequencyPrior:
    r"""Zipf (power-law) prior :math:`p_i \propto (i + \text{offset})^{-\text{exponent}}`, i = 1..N.

    ``exponent`` is :math:`s \ge 0` (s = 0 is uniform); ``offset`` > -1 gives the
    Zipf–Mandelbrot form. Source: Feldman (2020), Section 2 (the worked examples use s = 1).
    """
    N = check_int("N", N, low=1)
    exponent = check_finite("exponent", exponent, low=0.0)
    offset = check_finite("offset", offset, low=-1.0, low_open=True)
    name = f"zipf(N={N}, exponent={exponent:g}" + (f", offset={offset:g})" if offset else ")")
    if exponent == 0:
        return FrequencyPrior(np.zeros(1), np.array([N]), name)
    lv = np.arange(1, N + 1, dtype=np.float64)
    if offset:
        lv += offset
    np.log(lv, out=lv)
    lv *= -exponent
    return FrequencyPrior._trusted(lv, name)


def uniform(N: int) -> FrequencyPrior:
    """Uniform prior: every one of the N points has frequency 1/N."""
    N = check_int("N", N, low=1)
    return FrequencyPrior(np.zeros(1), np.array([N]), f"uniform(N={N})")


def two_point(N: int, *, heavy_fraction: float, ratio: float) -> FrequencyPrior:
    r"""Two-point prior: ``round(heavy_fraction * N)`` heavy points, the rest light.

    A heavy point's frequency is ``ratio`` (>= 1) times a light point's.
    """
    N = check_int("N", N, low=1)
    heavy_fraction = check_prob("heavy_fraction", heavy_fraction)
    ratio = check_finite("ratio", ratio, low=1.0)
    heavy = int(round(heavy_fraction * N))
    parts = [(math.log(ratio), heavy), (0.0, N - heavy)]
    lv = np.array([v for v, c in parts if c > 0])
    counts = np.array([c for _, c in parts if c > 0])
    return FrequencyPrior(lv, counts, f"two_point(N={N}, heavy={heavy}, ratio={ratio:g})")


def from_counts(counts: Sequence[float] | np.ndarray, *, name: str = "counts") -> FrequencyPrior:
    """Prior from observed counts: point i has frequency proportional to ``counts[i]``.

    Use it with the class or cluster counts of a real data set. Zero counts are points that are
    never drawn. Values must be finite and nonnegative, not all zero.
    """
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("counts: must be a nonempty 1-d list of nonnegative numbers")
    if not np.isfinite(arr).all():
        raise ValueError("counts: entries must be finite (found NaN or inf); valid range [0, inf)")
    if (arr < 0).any():
        raise ValueError(f"counts: entries must be >= 0 (found {arr.min():g}); valid range [0, inf)")
    if not (arr > 0).any():
        raise ValueError("counts: all entries are zero; at least one must be positive")
    vals, mult = np.unique(arr, return_counts=True)
    with np.errstate(divide="ignore"):
        lv = np.log(vals)
    return FrequencyPrior(lv, mult, f"{name}(N={arr.size})")


def from_density(dist, N: int, *, nodes: int | None = None) -> FrequencyPrior:
    r"""Prior from a continuous density of frequencies (a frozen ``scipy.stats`` distribution).

    The N iid draws of the model are represented by ``K = min(N, nodes)`` quantile nodes
    :math:`F^{-1}((k - 1/2)/K)`, each carried by N/K points (spread as evenly as integers allow).
    With K = N this is the expected order-statistics list; with K < N it is a midpoint
    quadrature of the density, whose error falls as :math:`O(1/K^2)` for smooth densities.
    ``nodes`` defaults to 65,536.
    """
    N = check_int("N", N, low=1)
    K = min(N, check_int("nodes", nodes, low=1) if nodes is not None else MAX_DENSITY_NODES)
    if not hasattr(dist, "ppf") or not hasattr(dist, "support"):
        raise ValueError("dist: must be a frozen scipy.stats distribution")
    lo, _hi = dist.support()
    if lo < 0:
        raise ValueError(f"dist: support must lie in [0, inf) (lower end {lo:g})")
    u = (np.arange(K) + 0.5) / K
    vals = np.asarray(dist.ppf(u), dtype=np.float64)
    if not np.isfinite(vals).all() or (vals < 0).any():
        raise ValueError("dist: quantiles must be finite and nonnegative")
    base, extra = divmod(N, K)
    counts = np.full(K, base, dtype=np.int64)
    counts[np.round(np.linspace(0, K - 1, extra)).astype(int) if extra else []] += 1
    keep = counts > 0
    with np.errstate(divide="ignore"):
        lv = np.log(vals[keep])
    label = getattr(getattr(dist, "dist", None), "name", "density")
    return FrequencyPrior(lv, counts[keep], f"{label}-density(N={N}, nodes={K})")


def mixture(components: Sequence[FrequencyPrior], masses: Sequence[float] | None = None) -> FrequencyPrior:
    r"""Finite mixture: the union of the components' points.

    With ``masses`` (nonnegative, any positive sum) component j's points are rescaled so that
    together they carry the fraction ``masses[j] / sum(masses)`` of the total frequency;
    without, the unnormalised values are kept as they are. Feldman's disparate-effect example
    (subgroups with their own N) is a mixture of Zipf priors.
    """
    if len(components) == 0:
        raise ValueError("components: need at least one prior")
    if masses is not None:
        m = np.asarray(masses, dtype=np.float64)
        if m.shape != (len(components),) or not np.isfinite(m).all() or (m < 0).any():
            raise ValueError("masses: need one finite nonnegative mass per component")
        if not (m > 0).any():
            raise ValueError("masses: all zero; at least one must be positive")
    lvs, cnts = [], []
    for j, p in enumerate(components):
        lv = p.log_values
        if masses is not None:
            with np.errstate(divide="ignore"):
                lv = lv - p.log_total + math.log(m[j]) if m[j] > 0 else np.full_like(lv, -np.inf)
        lvs.append(lv)
        cnts.append(p.counts if p.counts is not None else np.ones(lv.size, dtype=np.int64))
    names = " + ".join(p.name for p in components)
    return FrequencyPrior(np.concatenate(lvs), np.concatenate(cnts), f"mixture[{names}]")
