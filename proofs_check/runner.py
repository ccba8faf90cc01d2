r"""Every check of :mod:`proofs_check` as a table row; ``python -m proofs_check`` prints them.

Each row states a claim about Feldman (2020), arXiv 1906.05271, on one tiny instance, and
compares its exact left and right sides. ``passed`` means the claim was verified exactly (or,
for the rows against :mod:`theory`, to relative 1e-9). Some claims are negative findings stated
as such, e.g. "gap < 0: bound fails" for a learner that beats the expectation form of the main
bound; such a row passes when the failure is reproduced. ``deviation`` is lhs - rhs for a
scalar claim and the largest |lhs - rhs| (relative, for the theory rows) for a vector claim.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from proofs_check.enumeration import prior_marginal
from proofs_check.main_bound import (
    DEFAULT_LEARNERS,
    Learner,
    main_bound,
    memorize_all,
    skip_seen_at_most,
    theory_costs,
)
from proofs_check.posterior import (
    posterior_given_sample,
    posterior_lemma,
    posterior_lemma_symbolic,
    theory_tau,
)

__all__ = [
    "CheckResult",
    "THEORY_RTOL",
    "check_bound_per_sample",
    "check_bound_theory",
    "check_main_bound",
    "check_opt_is_memorize_all",
    "check_posterior_lemma",
    "check_posterior_symbolic",
    "check_posterior_theory",
    "check_sample_posterior",
    "default_checks",
    "format_table",
    "main",
    "run_all",
]

THEORY_RTOL = 1e-9  # float theory/ against exact Fractions
POSTERIOR_PRIORS = ((3, 1, 1), (2, 1), (4, 2, 1, 1))
BOUND_INSTANCES = (
    ((3, 1, 1), 3, "fixed"),
    ((4, 2, 1, 1), 4, "fixed"),
    ((3, 1, 1), 3, "iid"),
    ((4, 2, 1, 1), 4, "iid"),
)
RELATIONS = {"=0": lambda g: g == 0, ">=0": lambda g: g >= 0, "<0": lambda g: g < 0, ">0": lambda g: g > 0}


@dataclass(frozen=True)
class CheckResult:
    """One row of the table: a claim on one instance, its exact sides and whether it held."""

    name: str
    instance: str
    passed: bool
    detail: str
    claim: str
    lhs: str
    rhs: str
    deviation: float


def _show(x: Fraction | float) -> str:
    """An exact Fraction as 'a/b' when short, else '~' and 10 significant digits."""
    if isinstance(x, Fraction):
        s = str(x)
        return s if len(s) <= 16 else f"~{float(x):.10g}"
    return f"{x:.10g}"


def _instance(values, n: int, variant: str, m: int | None = None) -> str:
    vals = "[" + ",".join(str(v) for v in values) + "]"
    return f"{variant} {vals} n={n}" + (f" m={m}" if m else "")


def check_posterior_lemma(
    values, n: int, *, variant: str, marginal_variant: str | None = None, equal: bool | None = None
) -> CheckResult:
    r"""Posterior lemma :math:`E[D(x) \mid c_x = \ell] = \tau_\ell` for l = 0..n (exact).

    ``marginal_variant`` picks the :math:`\bar\pi` of :math:`\tau_\ell` (default: the model's
    own). ``equal`` is the claim: equality (default when the two variants agree) or "differs"
    (default otherwise). Feldman (2020), arXiv 1906.05271, Section 2.
    """
    pibar = marginal_variant or variant
    marginal = prior_marginal(values, variant=pibar) if pibar != variant else None
    equal = (pibar == variant) if equal is None else equal
    r = posterior_lemma(values, n, variant=variant, marginal=marginal)
    dev = r.max_deviation
    suffix = "" if pibar == variant else f" ({pibar} pibar)"
    claim = ("E[D|c=l] = tau_l, l=0..n" if equal else "E[D|c=l] != tau_l") + suffix
    passed = (dev == 0) == equal
    detail = "residuals " + ", ".join(_show(x) for x in r.residuals)
    return CheckResult(
        "posterior_lemma",
        _instance(values, n, variant),
        passed,
        detail,
        claim,
        _show(r.posterior[1]),
        _show(r.tau[1]),
        float(dev),
    )


def check_posterior_theory(values, *, variant: str, ns: Sequence[int] = (1, 2, 3, 4)) -> CheckResult:
    """The exact tau_0..tau_n against the floats of ``theory.tau`` / ``theory.unseen_mass``."""
    worst = 0.0
    for n in ns:  # the table shows tau_1 at the last n
        exact = posterior_lemma(values, n, variant=variant).tau
        approx = theory_tau(values, n, variant=variant)
        rel = np.abs(approx / np.array([float(t) for t in exact]) - 1.0)
        worst = max(worst, float(rel.max()))
    lhs, rhs = f"{approx[1]:.10g}", _show(exact[1])
    inst = _instance(values, ns[-1], variant).replace(f"n={ns[-1]}", f"n={min(ns)}..{max(ns)}")
    return CheckResult(
        "posterior_vs_theory",
        inst,
        worst <= THEORY_RTOL,
        f"largest relative deviation over l=0..n: {worst:.2e}",
        f"theory.tau = exact (rtol {THEORY_RTOL:g})",
        lhs,
        rhs,
        worst,
    )


def check_posterior_symbolic(N: int, n: int) -> CheckResult:
    """Posterior lemma for symbolic p_1..p_N (fixed variant): every residual cancels to 0."""
    res = posterior_lemma_symbolic(N, n)
    passed = all(r == 0 for r in res)
    return CheckResult(
        "posterior_symbolic",
        f"fixed p1..p{N} symbolic n={n}",
        passed,
        "sympy.cancel residuals: " + ", ".join(str(r) for r in res),
        "E[D|c=l] - tau_l == 0",
        str(res[1]),
        "0",
        0.0 if passed else float("nan"),
    )


def check_sample_posterior(values, n: int, *, variant: str, exact: bool) -> CheckResult:
    r"""The per-data-set form :math:`E[D(x) \mid S] = \tau_{c_x}`; ``exact`` is the claim."""
    r = posterior_given_sample(values, n, variant=variant)
    passed = (r.max_deviation == 0) == exact
    claim = "E[D(x)|S] = tau_{c_x} for all S" if exact else "E[D(x)|S] != tau_{c_x} for some S"
    detail = f"largest at S counts {r.counts}, point {r.point}: {r.posterior} vs {r.tau}"
    return CheckResult(
        "posterior_given_S",
        _instance(values, n, variant),
        passed,
        detail,
        claim,
        _show(r.posterior),
        _show(r.tau),
        float(r.max_deviation),
    )


def check_main_bound(
    values, n: int, learner: Learner, *, variant: str, m: int = 2, expect: str | None = None
) -> CheckResult:
    r"""Main bound in expectation form, exactly: gap = err(A) - opt - sum_l tau_l E[errn_S(A, l)].

    ``expect`` is the claimed relation of the gap to 0: "=0" (equality), ">=0" (the theorem),
    "<0" (the bound fails) or ">0"; default "=0" for a local learner, ">=0" otherwise. The row also
    requires the exact identity err(A) = opt + E_S[sum over seen x of E[D(x)|S] P(h(x) != y_x)].
    Feldman (2020), arXiv 1906.05271, Section 2.
    """
    expect = expect or ("=0" if learner.local else ">=0")
    if expect not in RELATIONS:
        raise ValueError(f"expect must be one of {', '.join(RELATIONS)}; got {expect!r}")
    r = main_bound(values, n, learner, m=m, variant=variant)
    ok_rel = RELATIONS[expect](r.gap)
    passed = ok_rel and r.identity_residual == 0
    words = {"=0": "equality", ">=0": "bound holds", "<0": "bound fails", ">0": "strict"}[expect]
    detail = (
        f"gap = {r.gap}; identity residual = {r.identity_residual}; "
        f"err - opt = {_show(r.err - r.opt)}; min per-S slack = {_show(r.min_sample_slack)}"
    )
    return CheckResult(
        f"main_bound[{learner.name}]",
        _instance(values, n, variant, m),
        passed,
        detail,
        f"gap {expect.replace('0', ' 0')}: {words}",
        _show(r.err),
        _show(r.rhs),
        float(r.gap),
    )


def check_opt_is_memorize_all(values, n: int, *, variant: str, m: int = 2) -> CheckResult:
    """opt = (1 - 1/m) E[unseen mass] equals err(memorize-all), the Bayes-optimal learner."""
    r = main_bound(values, n, memorize_all(), m=m, variant=variant)
    return CheckResult(
        "opt_is_memorize_all",
        _instance(values, n, variant, m),
        r.err == r.opt,
        f"opt = {r.opt}",
        "err(memorize-all) = opt",
        _show(r.err),
        _show(r.opt),
        float(r.err - r.opt),
    )


def check_bound_theory(values, n: int, *, variant: str, m: int = 2) -> CheckResult:
    """opt, and err(skip-seen<=L) - opt for L = 1, 2, against theory.opt_error and theory.cost_unfit."""
    floats = theory_costs(values, n, m=m, variant=variant)
    exact = {"opt": main_bound(values, n, memorize_all(), m=m, variant=variant).opt}
    for L in range(1, min(n, 2) + 1):
        r = main_bound(values, n, skip_seen_at_most(L), m=m, variant=variant)
        exact[f"skip<={L}"] = r.err - r.opt
    rel = {k: abs(floats[k] / float(exact[k]) - 1.0) for k in exact}
    worst = max(rel.values())
    return CheckResult(
        "bound_vs_theory",
        _instance(values, n, variant, m),
        worst <= THEORY_RTOL,
        "; ".join(f"{k}: {floats[k]:.12g} vs {_show(exact[k])}" for k in exact),
        f"opt, cost_unfit(1,2) = exact (rtol {THEORY_RTOL:g})",
        f"{floats['opt']:.10g}",
        _show(exact["opt"]),
        worst,
    )


def check_bound_per_sample(values, n: int, learner: Learner, *, variant: str, m: int = 2) -> CheckResult:
    r"""The per-S form err(A|S) >= opt(|S) + sum_l tau_l errn_S(A, l) with constant tau_l.

    The claim checked is the finding that it FAILS for some S (smallest slack < 0), because
    :math:`E[D(x) \mid S] \ne \tau_{c_x}` once N >= 3.
    """
    r = main_bound(values, n, learner, m=m, variant=variant)
    return CheckResult(
        f"bound_per_S[{learner.name}]",
        _instance(values, n, variant, m),
        r.min_sample_slack < 0,
        f"smallest per-S slack = {r.min_sample_slack}",
        "min_S slack < 0: per-S form fails",
        _show(r.min_sample_slack),
        "0",
        float(r.min_sample_slack),
    )


def default_checks() -> list[Callable[[], CheckResult]]:
    """The checks ``python -m proofs_check`` runs, as zero-argument callables."""
    checks: list[Callable[[], CheckResult]] = []
    add = checks.append
    for variant in ("fixed", "iid"):
        for values in POSTERIOR_PRIORS:
            for n in (1, 2, 3, 4):
                add(lambda v=values, n=n, var=variant: check_posterior_lemma(v, n, variant=var))
            add(lambda v=values, var=variant: check_posterior_theory(v, variant=var))
    for values, n in (((3, 1, 1), 2), ((4, 2, 1, 1), 2), ((2, 1), 3)):
        add(lambda v=values, n=n: check_posterior_lemma(v, n, variant="iid", marginal_variant="fixed"))
    for N, n in ((2, 3), (3, 2), (3, 3), (4, 2)):
        add(lambda N=N, n=n: check_posterior_symbolic(N, n))
    add(lambda: check_sample_posterior((2, 1), 4, variant="fixed", exact=True))
    add(lambda: check_sample_posterior((2, 1), 4, variant="iid", exact=True))
    for values, n, variant in BOUND_INSTANCES:
        add(lambda v=values, n=n, var=variant: check_sample_posterior(v, n, variant=var, exact=False))
    expect = {"most-frequent-only": "<0", "capacity-2": ">0"}
    for values, n, variant in BOUND_INSTANCES:
        add(lambda v=values, n=n, var=variant: check_opt_is_memorize_all(v, n, variant=var))
        add(lambda v=values, n=n, var=variant: check_bound_theory(v, n, variant=var))
        for learner in DEFAULT_LEARNERS:
            add(
                lambda v=values, n=n, var=variant, a=learner: check_main_bound(
                    v, n, a, variant=var, expect=expect.get(a.name)
                )
            )
        add(
            lambda v=values, n=n, var=variant: check_bound_per_sample(v, n, skip_seen_at_most(1), variant=var)
        )
    return checks


def run_all(checks: Sequence[Callable[[], CheckResult]] | None = None) -> list[CheckResult]:
    """Run every check (``default_checks()`` unless given) and return their results in order."""
    return [check() for check in (default_checks() if checks is None else checks)]


def format_table(results: Sequence[CheckResult]) -> str:
    """A plain-text table: name, instance, claim, lhs, rhs, status, deviation.

    lhs and rhs are exact fractions; '~' marks one shown rounded to 10 significant digits. The
    rows against :mod:`theory` show theory's float on the left.
    """
    head = ("check", "instance", "claim", "lhs", "rhs", "status", "deviation")
    rows = [
        (r.name, r.instance, r.claim, r.lhs, r.rhs, "PASS" if r.passed else "FAIL", f"{r.deviation:+.3g}")
        for r in results
    ]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*head), line, *(fmt.format(*row) for row in rows), line]
    failed = [r for r in results if not r.passed]
    out.append(f"{len(results)} checks, {len(results) - len(failed)} passed, {len(failed)} failed")
    out += [f"FAILED {r.name} {r.instance}: {r.detail}" for r in failed]
    return "\n".join(out)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2
        self.exit(2, f"proofs_check: error: {message}\n")


def main(
    argv: Sequence[str] | None = None, *, checks: Sequence[Callable[[], CheckResult]] | None = None
) -> int:
    """Print the table of checks; return 0 if all passed, 1 if any failed, 2 on invalid input."""
    parser = _Parser(
        prog="python -m proofs_check",
        description="Exact checks of Feldman (2020), arXiv 1906.05271, on tiny instances.",
    )
    parser.parse_args(argv)
    try:
        results = run_all(checks)
    except ValueError as exc:
        print(f"proofs_check: error: {exc}", file=sys.stderr)
        return 2
    print(format_table(results))
    return 0 if all(r.passed for r in results) else 1
