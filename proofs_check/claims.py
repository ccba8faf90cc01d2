r"""The exact claims: what each says, its scope, its check on one instance, and the search for a
counterexample over every small instance of that scope.

An *instance* is a frequency prior given as a list of N positive rationals (normalised to sum
1), a number of draws n, a number of classes m and a variant of the model (``fixed``: the list
in a random order; ``iid``: each point's frequency drawn from the list, then normalised;
:mod:`proofs_check.enumeration`). Every check computes both sides of its claim exactly (Fractions,
by enumerating D, the labels f and the data set S) and says whether the claim holds there.

:func:`search` runs a claim over every instance of :data:`SEARCH_SPACE` inside the claim's scope,
smallest first (N, then n, then the largest entry of the prior, then m, fixed before iid), and
returns the first failure: for a claim that fails anywhere, that is a minimal counterexample in
that order. The statuses recorded in :mod:`simulations.claims` come from this search; the tests
re-run it and fail when a recorded status or counterexample no longer matches.

Sources: Feldman (2020), arXiv 1906.05271, Section 2 (docs/references.md §1); the derived
statements are this project's own (docs/theory.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import theory
from proofs_check.enumeration import (
    MAX_N,
    MAX_POINTS,
    check_instance,
    prior_marginal,
    sample_table,
    tau_exact,
)
from proofs_check.main_bound import (
    DEFAULT_LEARNERS,
    Learner,
    MainBound,
    capacity_limited,
    main_bound,
    memorize_all,
    memorize_most_frequent,
    skip_seen_at_most,
)
from proofs_check.posterior import posterior_given_sample, posterior_lemma

__all__ = [
    "Instance",
    "Verdict",
    "ExactClaim",
    "EXACT_CLAIMS",
    "SEARCH_SPACE",
    "instances",
    "search",
    "parse_prior",
    "THEORY_RTOL",
]

THEORY_RTOL = 1e-9  # theory's floats against the exact Fractions
LOCAL = tuple(a for a in DEFAULT_LEARNERS if a.local)  # memorize-all, skip<=1, skip<=2, constant, flips


@dataclass(frozen=True)
class Instance:
    """One exact instance: ``values`` (normalised, sum 1), n draws, m classes, the variant."""

    values: tuple[Fraction, ...]
    n: int
    m: int = 2
    variant: str = "fixed"

    def __str__(self) -> str:
        prior = ", ".join(str(v) for v in self.values)
        return f"prior ({prior}), n = {self.n}, m = {self.m}, {self.variant}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of a claim on one instance: ``holds`` True / False, or None with ``outside``
    saying why the instance is outside the claim's scope; ``lhs`` and ``rhs`` the exact sides."""

    holds: bool | None
    lhs: str = ""
    rhs: str = ""
    detail: str = ""
    outside: str = ""


@dataclass(frozen=True)
class ExactClaim:
    """A claim checked exactly, instance by instance, on the instances :func:`instances` yields
    for its scope (``max_points``, ``max_n``, ``classes``)."""

    id: str
    check: Callable[[Instance], Verdict]
    scope: Callable[[Instance], str] = field(default=lambda inst: "")  # "" when inside, else why not
    max_points: int = 4
    max_n: int = 4
    classes: tuple[int, ...] = (2,)


# ---------------------------------------------------------------------- instances
SEARCH_SPACE = {
    "entries": 4,  # the prior's unnormalised entries are the integers 1..4 (gcd 1; order irrelevant)
    "points": 4,  # N <= 4
    "draws": 5,  # n <= 5 (each claim may stop earlier: its max_n)
}


def _priors(max_points: int, entries: int) -> Iterator[tuple[int, ...]]:
    """Integer lists, largest first, gcd 1, N = 1..max_points; ordered by N, largest entry, sum."""
    for N in range(1, max_points + 1):
        lists = [
            t[::-1]
            for t in itertools.combinations_with_replacement(range(1, entries + 1), N)
            if math.gcd(*t) == 1
        ]
        yield from sorted(lists, key=lambda t: (max(t), sum(t), t))


def instances(claim: ExactClaim) -> Iterator[Instance]:
    """Every instance of :data:`SEARCH_SPACE` inside ``claim``'s limits, smallest first."""
    max_points = min(claim.max_points, SEARCH_SPACE["points"])
    max_n = min(claim.max_n, SEARCH_SPACE["draws"])
    priors = list(_priors(max_points, SEARCH_SPACE["entries"]))
    for N in range(1, max_points + 1):
        for n in range(1, max_n + 1):
            for p in (p for p in priors if len(p) == N):
                total = sum(p)
                values = tuple(Fraction(v, total) for v in p)
                for m in claim.classes:
                    for variant in ("fixed", "iid"):
                        inst = Instance(values, n, m, variant)
                        if not claim.scope(inst):
                            yield inst


def search(claim: ExactClaim, *, limit: int | None = None) -> tuple[int, Instance | None, Verdict | None]:
    """(instances checked, first failing instance or None, its verdict): the counterexample search."""
    checked = 0
    for inst in instances(claim):
        if limit is not None and checked >= limit:
            break
        verdict = claim.check(inst)
        checked += 1
        if verdict.holds is False:
            return checked, inst, verdict
    return checked, None, None


def parse_prior(text: str) -> tuple[Fraction, ...]:
    """``"1/2,1/3,1/6"`` as Fractions summing to 1; ValueError naming ``--prior`` otherwise."""
    try:
        values = tuple(Fraction(part.strip()) for part in str(text).split(","))
    except (ValueError, ZeroDivisionError):
        raise ValueError(
            f"--prior must be comma-separated fractions such as 1/2,1/3,1/6; got {text!r}"
        ) from None
    if not values or any(v <= 0 for v in values):
        raise ValueError(f"--prior entries must be positive fractions; got {text!r}")
    if sum(values) != 1:
        raise ValueError(f"--prior must sum to 1 exactly; got {text!r}, which sums to {sum(values)}")
    if len(values) > MAX_POINTS:
        raise ValueError(
            f"--prior must have at most {MAX_POINTS} entries (exact enumeration); got {len(values)}"
        )
    return values


# ---------------------------------------------------------------------- exact sides, cached
@lru_cache(maxsize=4096)
def _bound(inst: Instance, learner_name: str) -> MainBound:
    learner = _LEARNERS[learner_name]
    return main_bound(inst.values, inst.n, learner, m=inst.m, variant=inst.variant)


_LEARNERS: dict[str, Learner] = {
    a.name: a for a in (*DEFAULT_LEARNERS, capacity_limited(1), capacity_limited(3), skip_seen_at_most(3))
}


def _check_size(inst: Instance) -> str:
    try:
        check_instance(inst.values, inst.variant, inst.n)
    except ValueError as err:
        return str(err)
    if not 2 <= inst.m <= 4:
        return f"m = {inst.m}: the exact enumeration takes 2 to 4 classes"
    return ""


def _at_least_points(k: int) -> Callable[[Instance], str]:
    def scope(inst: Instance) -> str:
        if len(inst.values) < k:
            return f"N = {len(inst.values)}: the claim is about priors of at least {k} points" + (
                " (with one point, every draw is that point: tau_l is 0/0 for l < n)" if k == 2 else ""
            )
        return _check_size(inst)

    return scope


def _at_most_points(k: int) -> Callable[[Instance], str]:
    def scope(inst: Instance) -> str:
        if len(inst.values) > k:
            return f"N = {len(inst.values)}: the claim is stated for priors of at most {k} points"
        return _at_least_points(2)(inst)

    return scope


def _learners_verdict(inst: Instance, learners, test: Callable[[MainBound], bool], side) -> Verdict:
    """Holds when ``test`` holds for every learner; else the first failing learner's sides."""
    for a in learners:
        r = _bound(inst, a.name)
        if not test(r):
            lhs, rhs = side(r)
            return Verdict(False, str(lhs), str(rhs), f"learner {a.name}")
    return Verdict(True, detail=f"learners {', '.join(a.name for a in learners)}")


def _lemma_count(inst: Instance) -> Verdict:
    r = posterior_lemma(inst.values, inst.n, variant=inst.variant)
    worst = max(range(inst.n + 1), key=lambda ell: abs(r.residuals[ell]))
    return Verdict(
        r.holds, f"E[D(x) | c_x = {worst}] = {r.posterior[worst]}", f"tau_{worst} = {r.tau[worst]}",
        "every l = 0..n",
    )  # fmt: skip


def _lemma_sample(inst: Instance) -> Verdict:
    r = posterior_given_sample(inst.values, inst.n, variant=inst.variant)
    return Verdict(
        r.max_deviation == 0, f"E[D(x_{r.point}) | S = counts {list(r.counts)}] = {r.posterior}",
        f"tau_{r.counts[r.point]} = {r.tau}", "largest deviation over S and x",
    )  # fmt: skip


def _identity(inst: Instance) -> Verdict:
    return _learners_verdict(
        inst, _LEARNERS.values(), lambda r: r.identity_residual == 0, lambda r: (r.err, r.opt + r.seen_excess)
    )


def _opt_memorize_all(inst: Instance) -> Verdict:
    r = _bound(inst, memorize_all().name)
    return Verdict(r.err == r.opt, f"err(memorize-all) = {r.err}", f"opt = {r.opt}")


def _local_equality(inst: Instance) -> Verdict:
    return _learners_verdict(inst, LOCAL, lambda r: r.gap == 0, lambda r: (r.err, r.rhs))


def _bound_all(inst: Instance) -> Verdict:
    return _learners_verdict(inst, _LEARNERS.values(), lambda r: r.gap >= 0, lambda r: (r.err, r.rhs))


def _bayes_unseen_equality(inst: Instance) -> Verdict:
    # every learner here is Bayes-optimal on unseen points (uniform labels: any guess is)
    return _learners_verdict(inst, _LEARNERS.values(), lambda r: r.gap == 0, lambda r: (r.err, r.rhs))


def _per_sample(inst: Instance) -> Verdict:
    return _learners_verdict(
        inst, LOCAL, lambda r: r.min_sample_slack >= 0, lambda r: (r.min_sample_slack, Fraction(0))
    )


def _most_frequent_negative(inst: Instance) -> Verdict:
    r = _bound(inst, memorize_most_frequent().name)
    return Verdict(r.gap < 0, f"gap = {r.gap}", "0", "err - opt - sum_l tau_l E[errn_l] < 0")


def _capacity_positive(inst: Instance) -> Verdict:
    r = _bound(inst, capacity_limited(2).name)
    return Verdict(r.gap > 0, f"gap = {r.gap}", "0", "err - opt - sum_l tau_l E[errn_l] > 0")


def _close(a: float, b: Fraction) -> bool:
    return abs(a - float(b)) <= THEORY_RTOL * max(abs(float(b)), 1e-300)


@lru_cache(maxsize=1024)
def _theory_report(inst: Instance):
    """theory.bound on the instance's prior: tau_1..tau_n and opt as floats (one call: the iid
    marginal is computed once)."""
    prior = theory.from_counts([float(v) for v in inst.values])
    return theory.bound(prior, inst.n, inst.m, ells=inst.n, variant=inst.variant)


def _exact_opt(inst: Instance) -> Fraction:
    """(1 - 1/m) E[mass of the unseen points], straight from the enumeration of D and S."""
    table = sample_table(inst.values, inst.n, variant=inst.variant)
    unseen = sum(
        (
            mass[x]
            for c, mass in zip(table.counts, table.mass, strict=True)
            for x in range(table.N)
            if c[x] == 0
        ),
        Fraction(0),
    )
    return (1 - Fraction(1, inst.m)) * unseen


def _theory_tau(inst: Instance) -> Verdict:
    law = prior_marginal(inst.values, variant=inst.variant)
    report = _theory_report(inst)
    for ell in range(1, inst.n + 1):
        exact = tau_exact(law, inst.n, ell)
        got = report.tau[str(ell)]
        if not _close(got, exact):
            return Verdict(False, f"theory tau_{ell} = {got!r}", f"tau_{ell} = {exact} = {float(exact)!r}")
    return Verdict(True, detail=f"tau_1..tau_{inst.n} to relative {THEORY_RTOL:g}")


def _theory_opt(inst: Instance) -> Verdict:
    exact = _exact_opt(inst)
    got = float(_theory_report(inst).opt_error)
    return Verdict(_close(got, exact), f"theory.opt_error = {got!r}", f"opt = {exact} = {float(exact)!r}")


def _theory_cost_unfit(inst: Instance) -> Verdict:
    prior = theory.from_counts([float(v) for v in inst.values])
    for L in range(1, min(inst.n, 2) + 1):
        r = _bound(inst, skip_seen_at_most(L).name)
        got = theory.cost_unfit(prior, inst.n, inst.m, up_to=L, variant=inst.variant)
        if not _close(got, r.err - r.opt):
            return Verdict(False, f"theory.cost_unfit(up_to={L}) = {got!r}", f"err - opt = {r.err - r.opt}")
    return Verdict(True, detail=f"up_to = 1..{min(inst.n, 2)} to relative {THEORY_RTOL:g}")


def _tail_weight(inst: Instance) -> Verdict:
    law = prior_marginal(inst.values, variant=inst.variant)
    n = inst.n
    lo, hi = Fraction(1, 3 * n), Fraction(2, n)
    # weight(pi-bar, [lo, hi]) = N E[a 1(lo <= a <= hi)]: the frequency carried by the points in the
    # window (theory.tail_weight's reading, 1 for the uniform prior with N = n)
    weight = len(inst.values) * sum((p * a for a, p in law.items() if lo <= a <= hi), Fraction(0))
    tau1 = tau_exact(law, n, 1)
    return Verdict(
        tau1 >= weight / (5 * n), f"tau_1 = {tau1}", f"weight([1/(3n), 2/n]) / (5n) = {weight / (5 * n)}",
    )  # fmt: skip


EXACT_CLAIMS: dict[str, ExactClaim] = {
    c.id: c
    for c in (
        ExactClaim("feldman.lemma.count", _lemma_count, _at_least_points(2), max_n=4),
        ExactClaim("feldman.lemma.per-sample", _lemma_sample, _at_least_points(2), max_n=4),
        ExactClaim("derived.lemma.per-sample.two-points", _lemma_sample, _at_most_points(2), max_n=5),
        ExactClaim("derived.err-identity", _identity, _at_least_points(2), max_n=3),
        ExactClaim("derived.opt-is-memorize-all", _opt_memorize_all, _at_least_points(2), max_n=4),
        ExactClaim("feldman.bound.local-equality", _local_equality, _at_least_points(2), max_n=4),
        ExactClaim(
            "feldman.bound.local-equality.three-classes",
            _local_equality,
            _at_least_points(2),
            max_points=3,
            max_n=3,
            classes=(3,),
        ),
        ExactClaim("feldman.bound.expectation", _bound_all, _at_least_points(2), max_n=4),
        ExactClaim(
            "derived.note.bayes-unseen-equality", _bayes_unseen_equality, _at_least_points(2), max_n=4
        ),
        ExactClaim("feldman.bound.per-sample", _per_sample, _at_least_points(2), max_n=4),
        ExactClaim("derived.most-frequent.gap-negative", _most_frequent_negative, _at_least_points(2)),
        ExactClaim("derived.capacity.gap-positive", _capacity_positive, _at_least_points(3)),
        ExactClaim("theory.tau.exact", _theory_tau, _at_least_points(2), max_n=5),
        ExactClaim("theory.opt.exact", _theory_opt, _at_least_points(2), max_n=4, classes=(2, 3)),
        ExactClaim("theory.cost-unfit.exact", _theory_cost_unfit, _at_least_points(2), max_n=3),
        ExactClaim("feldman.tail.tau1-weight", _tail_weight, _at_least_points(2), max_n=5),
    )
}
assert MAX_N >= SEARCH_SPACE["draws"]
