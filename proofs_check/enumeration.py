r"""Exact enumeration of Feldman's subpopulation mixture model on tiny instances.

Every probability here is a :class:`fractions.Fraction`; nothing is sampled or rounded.
Symbols (docs/references.md §1): a list of N nonnegative ``values`` (the frequency prior
:math:`\pi`), n draws, m classes. Source: Feldman (2020), arXiv 1906.05271, Section 2.

The two variants of the model (:mod:`theory.priors`):

``fixed``
    D is the normalised list :math:`q_i = p_i/\sum_k p_k` put on the N points in a uniformly
    random order (all N! orders, repeated values merged).
``iid``
    Each point draws :math:`p_x` independently and uniformly from the list's entries (with
    replacement, K^N draws) and :math:`D(x) = p_x / \sum_{x'} p_{x'}`. Every entry must be > 0.

A data set S of n iid draws from D enters every quantity of the theory only through its count
vector :math:`c = (c_x)_x` (the probability of a sequence depends on the counts only), so the
enumeration runs over the :math:`\binom{n+N-1}{N-1}` count vectors with their multinomial weights
:math:`\binom{n}{c}\prod_x D(x)^{c_x}`. :func:`sample_table` does this once per instance: it
stores, for every count vector c, :math:`P(S = c)` and the joint masses :math:`E[D(x)\,1\{S = c\}]`,
from which every posterior :math:`E[D(x) \mid S = c]` is a ratio.

The marginal law :math:`\bar\pi` of one point's frequency is computed separately, straight from
its definition (:func:`prior_marginal`): the uniform law over the normalised list for ``fixed``,
and for ``iid`` the law of :math:`v/(v + T)` with v one draw and T the sum of N - 1 further draws
(T's law by repeated convolution). It never goes through the enumeration of D, so the posterior
lemma compares two independent computations.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import permutations, product
from numbers import Rational

__all__ = [
    "MAX_N",
    "MAX_POINTS",
    "MAX_TERMS",
    "VARIANTS",
    "SampleTable",
    "check_instance",
    "count_vectors",
    "distribution_law",
    "labelings",
    "moment",
    "multinomial",
    "normalised_list",
    "prior_marginal",
    "sample_table",
    "tau_exact",
]

VARIANTS = ("fixed", "iid")
MAX_POINTS = 6  # N: the enumeration grows like N! (fixed) or K^N (iid)
MAX_N = 8  # n: the number of count vectors is C(n + N - 1, N - 1)
MAX_TERMS = 400_000  # laws of D times count vectors; keeps one instance under a few seconds

#: The law of D: each distinct vector (D(x))_x mapped to its probability.
Law = dict[tuple[Fraction, ...], Fraction]


def check_instance(values: Sequence, variant: str, n: int | None = None) -> tuple[Fraction, ...]:
    """Validate a tiny instance; return the values as Fractions.

    ``values``: 1 to ``MAX_POINTS`` nonnegative rationals (ints or Fractions), not all zero, all
    > 0 for ``variant="iid"``. ``n`` (if given): an int in [1, ``MAX_N``].
    Raises ``ValueError`` naming the parameter, its value and the valid range.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    if not 1 <= len(values) <= MAX_POINTS:
        raise ValueError(f"values must hold 1 to {MAX_POINTS} entries; got {len(values)}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Rational) or v < 0:
            raise ValueError(f"values must be nonnegative ints or Fractions; got {v!r}")
        out.append(Fraction(v))
    if not any(out):
        raise ValueError("values are all zero; at least one must be positive")
    if variant == "iid" and not all(out):
        raise ValueError(
            "values: the iid variant needs every entry > 0 (a zero entry leaves D "
            "undefined when every point draws it); valid range (0, inf)"
        )
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_N):
        raise ValueError(f"n must be an integer in [1, {MAX_N}]; got {n!r}")
    return tuple(out)


def normalised_list(values: Sequence) -> tuple[Fraction, ...]:
    r"""The normalised list :math:`q_i = p_i / \sum_k p_k`, exactly."""
    vals = [Fraction(v) for v in values]
    total = sum(vals)
    return tuple(v / total for v in vals)


@lru_cache(maxsize=64)
def _distribution_law(
    values: tuple[Fraction, ...], variant: str
) -> tuple[tuple[tuple[Fraction, ...], Fraction], ...]:
    N = len(values)
    law: defaultdict[tuple[Fraction, ...], Fraction] = defaultdict(Fraction)
    if variant == "fixed":
        q = normalised_list(values)
        weight = Fraction(1, math.factorial(N))
        for order in permutations(range(N)):
            law[tuple(q[i] for i in order)] += weight
    else:
        weight = Fraction(1, len(values) ** N)
        for draw in product(values, repeat=N):
            total = sum(draw)
            law[tuple(v / total for v in draw)] += weight
    return tuple(sorted(law.items()))


def distribution_law(values: Sequence, *, variant: str = "fixed") -> Law:
    """The exact law of the distribution D over the N points: {(D(x))_x: probability}.

    ``fixed``: the N! orders of the normalised list; ``iid``: the K^N draws, normalised.
    Equal vectors are merged, so the probabilities sum to 1.
    """
    return dict(_distribution_law(check_instance(values, variant), variant))


def _convolve(a: dict[Fraction, Fraction], b: dict[Fraction, Fraction]) -> dict[Fraction, Fraction]:
    out: defaultdict[Fraction, Fraction] = defaultdict(Fraction)
    for x, px in a.items():
        for y, py in b.items():
            out[x + y] += px * py
    return dict(out)


def prior_marginal(
    values: Sequence, *, variant: str = "fixed", N: int | None = None
) -> dict[Fraction, Fraction]:
    r"""The law :math:`\bar\pi` of one point's frequency D(x), from its definition: {a: probability}.

    ``fixed``: uniform over the normalised list (repeated values merged).
    ``iid``: :math:`\bar\pi^N`, the law of :math:`v / (v + T)` with v uniform over the entries and
    T an independent sum of N - 1 such draws; N defaults to ``len(values)``.
    """
    vals = check_instance(values, variant)
    law: defaultdict[Fraction, Fraction] = defaultdict(Fraction)
    if variant == "fixed":
        for q in normalised_list(vals):
            law[q] += Fraction(1, len(vals))
        return dict(law)
    N = len(vals) if N is None else N
    if isinstance(N, bool) or not isinstance(N, int) or not 1 <= N <= 64:
        raise ValueError(f"N must be an integer in [1, 64]; got {N!r}")
    one: defaultdict[Fraction, Fraction] = defaultdict(Fraction)
    for v in vals:
        one[v] += Fraction(1, len(vals))
    rest: dict[Fraction, Fraction] = {Fraction(0): Fraction(1)}
    for _ in range(N - 1):
        rest = _convolve(rest, one)
    for v, pv in one.items():
        for t, pt in rest.items():
            law[v / (v + t)] += pv * pt
    return dict(law)


def moment(law: dict[Fraction, Fraction], j: int, k: int) -> Fraction:
    r""":math:`M(j, k) = E_{a\sim\bar\pi}[a^j (1-a)^k]`, exactly; ``law`` maps a to its probability."""
    return sum((p * a**j * (1 - a) ** k for a, p in law.items()), Fraction(0))


def tau_exact(law: dict[Fraction, Fraction], n: int, ell: int) -> Fraction:
    r"""Exact :math:`\tau_\ell = M(\ell+1, n-\ell) / M(\ell, n-\ell)` for ``ell`` in 0..n.

    ``ell = 0`` gives the expected frequency of an unseen point. Source: Feldman (2020),
    arXiv 1906.05271, Section 2 (definition of tau_l); docs/references.md §1.2.
    """
    if not 0 <= ell <= n:
        raise ValueError(f"ell must be an integer in [0, n] = [0, {n}]; got {ell}")
    den = moment(law, ell, n - ell)
    if den == 0:
        raise ValueError(f"ell = {ell}: a point is never seen {ell} times in {n} draws under this prior")
    return moment(law, ell + 1, n - ell) / den


def count_vectors(N: int, n: int) -> Iterator[tuple[int, ...]]:
    """Every vector of N nonnegative ints summing to n, in lexicographic order (decreasing c_0)."""
    if N == 1:
        yield (n,)
        return
    for first in range(n, -1, -1):
        for rest in count_vectors(N - 1, n - first):
            yield (first, *rest)


def multinomial(counts: Sequence[int]) -> int:
    r"""The multinomial coefficient :math:`n! / \prod_x c_x!` with :math:`n = \sum_x c_x`."""
    out = math.factorial(sum(counts))
    for c in counts:
        out //= math.factorial(c)
    return out


def labelings(N: int, m: int) -> Iterator[tuple[int, ...]]:
    """All m^N labelings f of the N points (each has probability m^-N under uniform labels)."""
    return product(range(m), repeat=N)


@dataclass(frozen=True)
class SampleTable:
    r"""The joint law of D and the count vector of S, reduced to what the theory needs.

    ``counts``: every count vector c (length N, sum n); ``prob[i]`` = :math:`P(S = c_i)`
    (summed over the orders of S); ``mass[i][x]`` = :math:`E[D(x)\,1\{S = c_i\}]`.
    """

    values: tuple[Fraction, ...]
    n: int
    variant: str
    counts: tuple[tuple[int, ...], ...]
    prob: tuple[Fraction, ...]
    mass: tuple[tuple[Fraction, ...], ...]

    @property
    def N(self) -> int:
        """Number of points."""
        return len(self.values)

    def posterior(self, i: int, x: int) -> Fraction:
        r""":math:`E[D(x) \mid S = c_i]`; raises ``ValueError`` if :math:`P(S = c_i) = 0`."""
        if self.prob[i] == 0:
            raise ValueError(f"counts {self.counts[i]} have probability 0 under this prior")
        return self.mass[i][x] / self.prob[i]


@lru_cache(maxsize=64)
def _sample_table(values: tuple[Fraction, ...], n: int, variant: str) -> SampleTable:
    law = _distribution_law(values, variant)
    N = len(values)
    vectors = tuple(count_vectors(N, n))
    if len(law) * len(vectors) > MAX_TERMS:
        raise ValueError(
            f"instance too large to enumerate: {len(law)} laws x {len(vectors)} count "
            f"vectors > {MAX_TERMS}; use fewer points or draws"
        )
    prob, mass = [], []
    for c in vectors:
        coef = multinomial(c)
        p_c = Fraction(0)
        m_c = [Fraction(0)] * N
        for d, p_d in law:
            w = p_d * coef
            for dx, cx in zip(d, c, strict=True):
                if cx:
                    w *= dx**cx
            if w:
                p_c += w
                for x in range(N):
                    m_c[x] += w * d[x]
        prob.append(p_c)
        mass.append(tuple(m_c))
    return SampleTable(values, n, variant, vectors, tuple(prob), tuple(mass))


def sample_table(values: Sequence, n: int, *, variant: str = "fixed") -> SampleTable:
    """Enumerate D and the count vector of S exactly (cached per instance); see :class:`SampleTable`."""
    return _sample_table(check_instance(values, variant, n), n, variant)
