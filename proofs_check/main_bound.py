r"""Feldman's main bound, checked exactly by enumerating D, f and S on tiny instances.

Source: Feldman (2020), "Does Learning Require Memorization? A Short Tale about a Long Tail",
arXiv 1906.05271, Section 2 (main theorem); docs/references.md §1.2. Setting: labels f(x) iid uniform over
m classes, no noise, D from the ``fixed`` or ``iid`` variant, S = n iid draws with their labels.
A learner maps the counts of S and the observed labels to a label distribution at every point.

Quantities (all exact Fractions):

- :math:`\mathrm{err}(A) = E\big[\sum_x D(x)\,P(h(x) \ne f(x))\big]`, over D, all m^N labelings
  f and every count vector of S.
- :math:`\mathrm{opt} = (1 - 1/m)\,E[\text{mass of unseen points}]`.
- :math:`E[\mathrm{errn}_S(A, \ell)]`: expected number of points seen :math:`\ell` times on which
  h disagrees with the observed label.
- gap :math:`= \mathrm{err}(A) - \mathrm{opt} - \sum_{\ell\ge1}\tau_\ell E[\mathrm{errn}_S(A,\ell)]`:
  the theorem in expectation form says gap >= 0.

What the enumeration shows (run ``python -m proofs_check``):

1. Exact identity, every learner: :math:`\mathrm{err}(A) = \mathrm{opt} + E_S\big[\sum_{x\text{ seen}}
   E[D(x) \mid S]\,P(h(x) \ne y_x \mid S)\big]`. Under uniform labels every prediction on an
   unseen point errs with probability 1 - 1/m, so every learner is Bayes-optimal there.
2. Hence gap :math:`= E_S\big[\sum_{x\text{ seen}} (E[D(x) \mid S] - \tau_{c_x})\,
   P(h(x) \ne y_x \mid S)\big]`, a covariance between the posterior frequency of a seen point and
   the learner's decision to misfit it.
3. A *local* learner, whose prediction at x depends only on x, its count and its observed label
   (memorize-all, skip points seen <= L times, constant, flip singletons), meets the bound with
   EQUALITY, gap = 0: the covariance vanishes by the count-only posterior lemma.
4. A learner whose decision at x depends on the other points' counts can have gap != 0 of
   either sign, depending on the instance (claims registry, ``tailmem claims``). "Memorize only
   the most frequent points" can have gap < 0, where the expectation form with constant
   :math:`\tau_\ell` FAILS (for [3, 1, 1], n = 3, fixed, m = 2: err = 133/625 = 0.2128 against
   the bound's 1499/6875 = 0.2180, gap = -36/6875; the smallest such instance found is
   (1/2, 1/4, 1/4), n = 3: claim ``feldman.bound.expectation``); on others its gap is 0 (any
   two-point prior with n = 1: claim ``derived.most-frequent.gap-negative``, refuted as a
   general statement). It skips singletons exactly when the other points' counts say they are
   light. "Memorize all only if at most b distinct points are seen" has gap > 0 on [3, 1, 1],
   n = 3, and gap 0 where at most b points can be seen (n = 1: claim
   ``derived.capacity.gap-positive``). The cause is that :math:`E[D(x) \mid S] \ne \tau_{c_x}`
   for some priors of N >= 3 points (smallest found: (1/2, 1/4, 1/4), n = 2; claim
   ``feldman.lemma.per-sample``), never for N = 2 (claim ``derived.lemma.per-sample.two-points``;
   :func:`proofs_check.posterior.posterior_given_sample`), so the per-S statement with constant
   :math:`\tau_\ell` also fails for some S even for local learners (``min_sample_slack``; claim
   ``feldman.bound.per-sample``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product

import theory
from proofs_check.enumeration import (
    check_instance,
    labelings,
    prior_marginal,
    sample_table,
    tau_exact,
)

__all__ = [
    "DEFAULT_LEARNERS",
    "Learner",
    "MainBound",
    "capacity_limited",
    "constant",
    "flip_singletons",
    "main_bound",
    "memorize_all",
    "memorize_most_frequent",
    "skip_seen_at_most",
    "theory_costs",
]

#: A prediction: for each point, the probability of each of the m labels.
Prediction = tuple[tuple[Fraction, ...], ...]
#: counts of S (length N), observed labels (None for unseen points), m -> prediction.
PredictFn = Callable[[tuple[int, ...], tuple[int | None, ...], int], Prediction]


@dataclass(frozen=True)
class Learner:
    """A learner for the enumeration.

    ``predict(counts, observed, m)`` returns one probability vector over the m labels per point;
    ``observed[x]`` is the label seen with x, or None when x is unseen. A learner sees S only
    through its counts and labels (order-dependent learners are not covered). ``local`` is the
    claim that the prediction at a seen x depends only on x, c_x and its label, so that
    the main bound holds with equality; the checks verify it.
    """

    name: str
    predict: PredictFn
    local: bool
    description: str


def _one_hot(label: int, m: int) -> tuple[Fraction, ...]:
    return tuple(Fraction(int(k == label)) for k in range(m))


def _uniform(m: int) -> tuple[Fraction, ...]:
    return (Fraction(1, m),) * m


def _fit_above(counts, observed, m: int, threshold: int) -> Prediction:
    """Observed label where c_x > threshold, uniform guess elsewhere (and on unseen points)."""
    return tuple(
        _one_hot(y, m) if c > threshold else _uniform(m) for c, y in zip(counts, observed, strict=True)
    )


def memorize_all() -> Learner:
    """The Bayes-optimal learner: observed label on seen points, uniform guess on unseen ones."""
    return Learner(
        "memorize-all",
        lambda c, y, m: _fit_above(c, y, m, 0),
        True,
        "observed label on seen points, uniform on unseen",
    )


def skip_seen_at_most(L: int) -> Learner:
    """Uniform guess on points seen at most ``L`` times; observed label on the others."""
    if L < 1:
        raise ValueError(f"L must be an integer >= 1; got {L}")
    return Learner(
        f"skip-seen<={L}",
        lambda c, y, m: _fit_above(c, y, m, L),
        True,
        f"uniform guess on points seen <= {L} times",
    )


def constant(label: int = 0) -> Learner:
    """Always predicts ``label``, seen or not."""
    return Learner(
        f"constant-{label}",
        lambda c, y, m: tuple(_one_hot(label, m) for _ in c),
        True,
        f"always label {label}",
    )


def flip_singletons(prob: Fraction = Fraction(1)) -> Learner:
    """On a singleton, predicts the wrong label (y + 1) mod m with probability ``prob``, the
    observed one otherwise; observed label on points seen twice or more; uniform on unseen ones."""
    prob = Fraction(prob)
    if not 0 <= prob <= 1:
        raise ValueError(f"prob must be in [0, 1]; got {prob}")

    def predict(counts, observed, m):
        out = []
        for c, y in zip(counts, observed, strict=True):
            if c == 0:
                out.append(_uniform(m))
            elif c == 1:
                out.append(
                    tuple(
                        (1 - prob) * a + prob * b
                        for a, b in zip(_one_hot(y, m), _one_hot((y + 1) % m, m), strict=True)
                    )
                )
            else:
                out.append(_one_hot(y, m))
        return tuple(out)

    return Learner(
        f"flip-singletons({prob})", predict, True, f"wrong label on singletons with probability {prob}"
    )


def memorize_most_frequent() -> Learner:
    """Fits only the points with the largest count in S (all of them if tied); uniform elsewhere.

    Not local: whether a singleton is fitted depends on the other points' counts.
    """

    def predict(counts, observed, m):
        return _fit_above(counts, observed, m, max(counts) - 1)

    return Learner("most-frequent-only", predict, False, "fits only the points of largest count")


def capacity_limited(budget: int) -> Learner:
    """Memorizes all seen points if S has at most ``budget`` distinct points, else skips singletons.

    Not local: whether a singleton is fitted depends on how many distinct points S holds.
    """
    if budget < 1:
        raise ValueError(f"budget must be an integer >= 1; got {budget}")

    def predict(counts, observed, m):
        distinct = sum(1 for c in counts if c)
        return _fit_above(counts, observed, m, 0 if distinct <= budget else 1)

    return Learner(
        f"capacity-{budget}",
        predict,
        False,
        f"memorizes all if <= {budget} distinct points seen, else skips singletons",
    )


DEFAULT_LEARNERS: tuple[Learner, ...] = (
    memorize_all(),
    skip_seen_at_most(1),
    skip_seen_at_most(2),
    constant(0),
    flip_singletons(Fraction(1)),
    flip_singletons(Fraction(1, 3)),
    memorize_most_frequent(),
    capacity_limited(2),
)


@dataclass(frozen=True)
class MainBound:
    r"""Both sides of the main bound for one learner and instance, exactly.

    ``err``: err(A); ``opt``: (1 - 1/m) E[unseen mass]; ``tau[l]`` and ``errn[l]``
    (:math:`E[\mathrm{errn}_S(A, \ell)]`, ``errn[0] = 0``) for l = 0..n; ``seen_excess``:
    :math:`E_S[\sum_{x\text{ seen}} E[D(x) \mid S]\,P(h(x) \ne y_x \mid S)]`;
    ``min_sample_slack``: the smallest per-data-set slack
    :math:`\mathrm{err}(A \mid S) - \mathrm{opt}(\mid S) - \sum_\ell \tau_\ell\,\mathrm{errn}_S(A, \ell)`.
    """

    values: tuple[Fraction, ...]
    n: int
    m: int
    variant: str
    learner: str
    err: Fraction
    opt: Fraction
    tau: tuple[Fraction, ...]
    errn: tuple[Fraction, ...]
    seen_excess: Fraction
    min_sample_slack: Fraction

    @property
    def rhs(self) -> Fraction:
        r""":math:`\mathrm{opt} + \sum_{\ell\ge1}\tau_\ell E[\mathrm{errn}_S(A, \ell)]`."""
        return self.opt + sum((t * e for t, e in zip(self.tau[1:], self.errn[1:], strict=True)), Fraction(0))

    @property
    def gap(self) -> Fraction:
        """err(A) - rhs: >= 0 is the bound, == 0 is equality."""
        return self.err - self.rhs

    @property
    def identity_residual(self) -> Fraction:
        """err(A) - opt - seen_excess: must be 0 for every learner (uniform labels, no noise)."""
        return self.err - self.opt - self.seen_excess


def _observed(counts: tuple[int, ...], f: tuple[int, ...]) -> tuple[int | None, ...]:
    return tuple(y if c else None for c, y in zip(counts, f, strict=True))


def _checked_prediction(learner: Learner, counts, observed, m: int) -> Prediction:
    pred = learner.predict(counts, observed, m)
    if len(pred) != len(counts) or any(len(p) != m or sum(p) != 1 or min(p) < 0 for p in pred):
        raise ValueError(
            f"learner {learner.name}: must return {len(counts)} probability vectors "
            f"of length {m}; got {pred!r}"
        )
    return pred


def main_bound(
    values: Sequence, n: int, learner: Learner, *, m: int = 2, variant: str = "fixed"
) -> MainBound:
    r"""Main theorem in expectation form, exactly: :math:`\mathrm{err}(A) \ge \mathrm{opt} +
    \sum_\ell \tau_\ell\,E[\mathrm{errn}_S(A, \ell)]`.

    Feldman (2020), arXiv 1906.05271, Section 2, states
    :math:`\mathrm{err}(A \mid S) \ge \mathrm{opt}(\mid S) + \sum_\ell \tau_\ell\,\mathrm{errn}_S(A, \ell)`
    per S; the expectation over S is checked here, with uniform labels over ``m`` classes and no
    noise. err(A) sums over every D, all m^N labelings f and every count vector of S. Returns an
    exact :class:`MainBound`: the bound holds when ``gap >= 0``, with equality when ``gap == 0``;
    ``identity_residual`` must be 0 (see the module docstring for what the enumeration finds).
    """
    vals = check_instance(values, variant, n)
    if isinstance(m, bool) or not isinstance(m, int) or not 2 <= m <= 4:
        raise ValueError(f"m must be an integer in [2, 4]; got {m!r}")
    table = sample_table(vals, n, variant=variant)
    N = table.N
    law = prior_marginal(vals, variant=variant)
    tau = tuple(tau_exact(law, n, ell) for ell in range(n + 1))
    p_f = Fraction(1, m**N)
    err = Fraction(0)
    errn = [Fraction(0)] * (n + 1)
    seen_excess = Fraction(0)
    min_slack = None
    opt = Fraction(0)
    for i, c in enumerate(table.counts):
        if table.prob[i] == 0:
            continue
        mass = table.mass[i]
        opt += (1 - Fraction(1, m)) * sum((mass[x] for x in range(N) if c[x] == 0), Fraction(0))
        preds = {}
        # err over the full labeling f: D, f and S are enumerated jointly (f is independent of D, S)
        for f in labelings(N, m):
            y = _observed(c, f)
            if y not in preds:
                preds[y] = _checked_prediction(learner, c, y, m)
            pred = preds[y]
            err += p_f * sum((mass[x] * (1 - pred[x][f[x]]) for x in range(N)), Fraction(0))
        # per data set S = (counts, observed labels): each has probability P(c) * m^-#seen
        seen = [x for x in range(N) if c[x]]
        p_y = Fraction(1, m ** len(seen))
        for labels in product(range(m), repeat=len(seen)):
            y_full = [None] * N
            for x, lab in zip(seen, labels, strict=True):
                y_full[x] = lab
            y = tuple(y_full)
            pred = preds[y] if y in preds else _checked_prediction(learner, c, y, m)
            slack = Fraction(0)
            for x in seen:
                miss = 1 - pred[x][y[x]]
                errn[c[x]] += table.prob[i] * p_y * miss
                seen_excess += mass[x] * p_y * miss
                slack += (table.posterior(i, x) - tau[c[x]]) * miss
            min_slack = slack if min_slack is None else min(min_slack, slack)
    return MainBound(vals, n, m, variant, learner.name, err, opt, tau, tuple(errn), seen_excess, min_slack)


def theory_costs(values: Sequence, n: int, *, m: int = 2, variant: str = "fixed") -> dict[str, float]:
    r"""The same quantities as floats from :mod:`theory`: opt and the cost of skipping points.

    ``opt``: ``theory.opt_error(...).value``; ``skip<=1``, ``skip<=2``: ``theory.cost_unfit``
    with ``up_to`` = 1, 2 (the excess error err(A) - opt of :func:`skip_seen_at_most`).
    """
    vals = check_instance(values, variant, n)
    prior = theory.from_counts([float(v) for v in vals])
    out = {"opt": theory.opt_error(prior, n, m, variant=variant).value}
    for L in range(1, min(n, 2) + 1):
        out[f"skip<={L}"] = theory.cost_unfit(prior, n, m, up_to=L, variant=variant)
    return out
