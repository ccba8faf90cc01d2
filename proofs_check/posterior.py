r"""The posterior lemma :math:`E[D(x) \mid x \text{ seen } \ell \text{ times}] = \tau_\ell`, checked exactly.

Source: Feldman (2020), "Does Learning Require Memorization? A Short Tale about a Long Tail",
arXiv 1906.05271, Section 2 (the posterior lemma); docs/references.md §1.2.

What the enumeration shows (run ``python -m proofs_check``):

- Conditioned on the count of x alone, the lemma is exact in both variants, provided
  :math:`\bar\pi` is the true marginal law of D(x): uniform over the normalised list (``fixed``)
  or :math:`\bar\pi^N` (``iid``). The reason: :math:`c_x \mid D \sim \mathrm{Bin}(n, D(x))`
  depends on D only through D(x), so Bayes' rule over the law of D(x) gives :math:`\tau_\ell`.
  With the ``fixed`` :math:`\bar\pi` used in the ``iid`` model the identity fails
  (:func:`posterior_lemma` with ``marginal=``: for [2, 1], n = 1 by 1/36, for [3, 1, 1],
  n = 2 by up to 0.080).
- Conditioned on the whole data set S (the form docs/references.md states, "E[D(x) | S] = tau_l"), it is
  NOT exact once N >= 3, in either variant: the other points' counts carry information about
  D(x) (:func:`posterior_given_sample`). Smallest case, [3, 1, 1], fixed, n = 2, S seen as
  counts (1, 1, 0): the unseen point has :math:`E[D \mid S] = 9/35` but :math:`\tau_0 = 11/45`.
  Up to 0.024 for [3, 1, 1], n = 3, fixed; 0.0076 for iid. For N = 2 the other count is
  n - c_x, so both forms agree.
  Our derivation: :math:`P(S \mid D(x)=a) = a^{\ell}(1-a)^{n-\ell} E[\prod_{x'\ne x}
  R(x')^{c_{x'}} \mid D(x) = a]` with :math:`R = D/(1-D(x))` on the other points; the second
  factor is free of a only when R is independent of D(x) (for iid draws: a Gamma prior, where D is
  Dirichlet), which no finite list is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import permutations

import numpy as np
import sympy

import theory
from proofs_check.enumeration import (
    check_instance,
    count_vectors,
    multinomial,
    prior_marginal,
    sample_table,
    tau_exact,
)

__all__ = [
    "PosteriorLemma",
    "SamplePosterior",
    "posterior_given_sample",
    "posterior_lemma",
    "posterior_lemma_symbolic",
    "theory_tau",
]


@dataclass(frozen=True)
class PosteriorLemma:
    r"""Both sides of the posterior lemma for one instance, exactly.

    ``posterior[l]`` = :math:`E[D(x) \mid c_x = \ell]` from the full enumeration of D and S;
    ``tau[l]`` = :math:`\tau_\ell` from the definition with the marginal law :math:`\bar\pi`;
    ``l = 0..n`` (``l = 0``: an unseen point). ``residuals`` must all be 0.
    """

    values: tuple[Fraction, ...]
    n: int
    variant: str
    posterior: tuple[Fraction, ...]
    tau: tuple[Fraction, ...]

    @property
    def residuals(self) -> tuple[Fraction, ...]:
        """:math:`E[D(x) \\mid c_x = \\ell] - \\tau_\\ell` for l = 0..n."""
        return tuple(p - t for p, t in zip(self.posterior, self.tau, strict=True))

    @property
    def holds(self) -> bool:
        """True when every residual is exactly zero."""
        return not any(self.residuals)

    @property
    def max_deviation(self) -> Fraction:
        """Largest absolute residual."""
        return max(abs(r) for r in self.residuals)


def posterior_lemma(
    values: Sequence,
    n: int,
    *,
    variant: str = "fixed",
    point: int = 0,
    marginal: dict[Fraction, Fraction] | None = None,
) -> PosteriorLemma:
    r"""Posterior lemma: :math:`E[D(x) \mid x \text{ seen exactly } \ell \text{ times in } S] = \tau_\ell`.

    .. math:: \tau_\ell = \frac{E_{a\sim\bar\pi}[a^{\ell+1}(1-a)^{n-\ell}]}
                               {E_{a\sim\bar\pi}[a^{\ell}(1-a)^{n-\ell}]}

    Left side: sum over every D of the ``variant`` and every count vector of S, conditioned on
    the count of ``point`` (any point, by symmetry of the model). Right side: :math:`\bar\pi`
    from :func:`proofs_check.enumeration.prior_marginal`, or ``marginal`` if given (to show
    what a wrong :math:`\bar\pi` does). Returns an exact :class:`PosteriorLemma`; the lemma
    holds when its ``residuals`` are all 0. Source: Feldman (2020), arXiv 1906.05271, Section 2.
    """
    vals = check_instance(values, variant, n)
    if not 0 <= point < len(vals):
        raise ValueError(f"point must be in [0, {len(vals) - 1}]; got {point}")
    table = sample_table(vals, n, variant=variant)
    num = [Fraction(0)] * (n + 1)
    den = [Fraction(0)] * (n + 1)
    for c, p, mass in zip(table.counts, table.prob, table.mass, strict=True):
        num[c[point]] += mass[point]
        den[c[point]] += p
    if not all(den):
        raise ValueError(
            f"values {list(vals)}: a point is never seen l = {den.index(0)} times in n = {n} "
            "draws (a zero entry); the lemma conditions on an event of probability 0"
        )
    law = prior_marginal(vals, variant=variant) if marginal is None else marginal
    posterior = tuple(a / b for a, b in zip(num, den, strict=True))
    tau = tuple(tau_exact(law, n, ell) for ell in range(n + 1))
    return PosteriorLemma(vals, n, variant, posterior, tau)


def theory_tau(values: Sequence, n: int, *, variant: str = "fixed") -> np.ndarray:
    r""":math:`\tau_0..\tau_n` as floats from :mod:`theory`; shape (n + 1,).

    :math:`\tau_\ell` = ``theory.tau`` for l >= 1; :math:`\tau_0` = ``unseen_mass`` /
    ``expected_seen_count(..., 0)`` (expected mass over expected number of unseen points).
    """
    vals = check_instance(values, variant, n)
    prior = theory.from_counts([float(v) for v in vals])
    t0 = theory.unseen_mass(prior, n, variant=variant) / theory.expected_seen_count(
        prior, n, 0, variant=variant
    )
    return np.concatenate([[t0], theory.taus(prior, n, range(1, n + 1), variant=variant)])


@dataclass(frozen=True)
class SamplePosterior:
    r"""The per-data-set form :math:`E[D(x) \mid S] = \tau_{c_x}`, over every S and every point.

    ``max_deviation`` = :math:`\max_{S, x} |E[D(x) \mid S] - \tau_{c_x}|` over data sets of
    positive probability; ``counts``, ``point``, ``posterior``, ``tau`` locate the largest one.
    """

    values: tuple[Fraction, ...]
    n: int
    variant: str
    max_deviation: Fraction
    counts: tuple[int, ...]
    point: int
    posterior: Fraction
    tau: Fraction


def posterior_given_sample(values: Sequence, n: int, *, variant: str = "fixed") -> SamplePosterior:
    r"""The posterior lemma conditioned on the whole data set: :math:`E[D(x) \mid S] = \tau_{c_x}`?

    Feldman (2020), arXiv 1906.05271, Section 2, posterior lemma as summarised in docs/references.md §1.2
    conditions on S. Enumerates every count vector of S (the order of S does not change the
    posterior) and every point; returns the exact largest deviation. It is 0 for N <= 2 and
    positive for the N = 3, 4 lists tried here (see the module docstring).
    """
    vals = check_instance(values, variant, n)
    table = sample_table(vals, n, variant=variant)
    law = prior_marginal(vals, variant=variant)
    taus = [tau_exact(law, n, ell) for ell in range(n + 1)]
    best = None
    for i, c in enumerate(table.counts):
        if table.prob[i] == 0:
            continue
        for x in range(table.N):
            post = table.posterior(i, x)
            dev = abs(post - taus[c[x]])
            if best is None or dev > best[0]:
                best = (dev, c, x, post, taus[c[x]])
    dev, c, x, post, t = best
    return SamplePosterior(vals, n, variant, dev, c, x, post, t)


def posterior_lemma_symbolic(N: int = 3, n: int = 2) -> tuple[sympy.Expr, ...]:
    r"""The posterior lemma for a symbolic prior: residuals that must simplify to 0.

    ``fixed`` variant with unnormalised frequencies :math:`p_1..p_N` (positive symbols):
    :math:`E[D(x) \mid c_x = \ell] - \tau_\ell` for l = 0..n, each brought to one cancelled
    fraction by ``sympy.cancel``. All are 0, so the lemma holds for every prior of N points,
    not only the lists tried numerically. Source: Feldman (2020), arXiv 1906.05271, Section 2.
    """
    if not 2 <= N <= 4 or not 1 <= n <= 3:
        raise ValueError(f"symbolic check sizes: N in [2, 4] and n in [1, 3]; got N={N}, n={n}")
    p = sympy.symbols(f"p1:{N + 1}", positive=True)
    total = sum(p)
    q = [pi / total for pi in p]
    weight = sympy.Rational(1, len(list(permutations(range(N)))))
    num = [sympy.Integer(0)] * (n + 1)
    den = [sympy.Integer(0)] * (n + 1)
    for order in permutations(range(N)):
        d = [q[i] for i in order]
        for c in count_vectors(N, n):
            w = weight * multinomial(c) * sympy.Mul(*[dx**cx for dx, cx in zip(d, c, strict=True)])
            num[c[0]] += w * d[0]
            den[c[0]] += w
    out = []
    for ell in range(n + 1):
        m_num = sum(qi ** (ell + 1) * (1 - qi) ** (n - ell) for qi in q) / N
        m_den = sum(qi**ell * (1 - qi) ** (n - ell) for qi in q) / N
        out.append(sympy.cancel(sympy.together(num[ell] / den[ell] - m_num / m_den)))
    return tuple(out)
