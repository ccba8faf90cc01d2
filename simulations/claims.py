# ruff: noqa: E501  (the registry is text: long statements stay on their lines)
r"""The claims registry: every claim tailmem checks or reports on, its scope, its evidence, its status.

One :class:`Claim` per statement of the papers (docs/references.md) and per general statement
this project makes (docs/, proofs_check). Statuses:

``verified``
    exact, on every instance of the stated scope (an exhaustive search over it, or a symbolic
    identity), or an exact recomputation of a published number;
``supported``
    statistical: measured beyond ``K_SUPPORT`` standard errors in a results folder;
``refuted``
    a minimal counterexample in exact fractions (exact claims) or a measurement beyond
    ``K_SUPPORT`` SE the other way;
``open``
    not checked, or not resolved (for example a measurement within its SE).

The recorded status is what ``tailmem claims`` prints and docs/claims.md shows (generated from
this module; a test fails when the file is stale). ``tailmem claims --check`` recomputes every
exact status live (:func:`proofs_check.claims.search` and the exact recomputations here) and reads
the statistical ones from a results folder (``--results DIR``), and says where a live status
differs from the recorded one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from simulations.markdown import table
from simulations.stats import beyond_noise

__all__ = ["Claim", "REGISTRY", "claim_record", "K_SUPPORT", "STATUSES", "get_claim", "check_all", "check_instance",
           "claims_table", "claims_markdown", "read_results", "report_summary"]  # fmt: skip

STATUSES = ("verified", "supported", "refuted", "open")
K_SUPPORT = 3.0  # a statistical claim is supported (or refuted) beyond this many standard errors
FINDING_SE_MAX = 4.0  # a "no finding" check resting on a larger SE threshold is too weak to support


@dataclass(frozen=True)
class Claim:
    """One claim: ``statement`` within ``scope``; ``source`` (paper and section in
    docs/references.md, or "derived here"); ``evidence`` (its kind) and ``where`` (check function,
    test, experiment and result key); the recorded ``status`` and a ``note`` (counterexample,
    measurement, or what is missing). ``exact``: id of a :data:`proofs_check.claims.EXACT_CLAIMS`
    check (instance by instance); ``compute``: a live exact recomputation returning (holds, text);
    ``experiment`` and ``reader``: the results a statistical status is read from."""

    id: str
    statement: str
    scope: str
    source: str
    evidence: str
    where: str
    status: str
    note: str = ""
    exact: str | None = None
    compute: Callable[[], tuple[bool, str]] | None = None
    experiment: str | None = None
    reader: Callable[[dict], tuple[str, str]] | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(
                f"claim {self.id}: status must be one of {', '.join(STATUSES)}; got {self.status!r}"
            )


# ---------------------------------------------------------------------- live exact recomputations
def _published_numbers() -> tuple[bool, str]:
    """Feldman's tables (references §1.4) recomputed by theory, compared at the printed digits
    (the comparison of experiment feldman-examples)."""
    import theory
    from simulations.experiments.feldman_examples import (
        PUBLISHED_DISPARATE,
        PUBLISHED_MAIN,
        FeldmanExamples,
        _main_values,
    )

    cfg = FeldmanExamples()
    values = _main_values(cfg, "fixed")
    got = [(key, values[key], pub, digits) for key, pub, digits, _ in PUBLISHED_MAIN]
    for name, N, n, opt, cost in PUBLISHED_DISPARATE:
        r = theory.bound(theory.zipf(N, cfg.exponent), n, cfg.classes, gamma=cfg.gamma, ells=1)
        got += [
            (f"{name}: opt", float(r.opt_error), opt, 4),
            (f"{name}: cost", r.cost_memorization_limit, cost, 4),
        ]
    bad = [f"{k} = {v:.6g} (published {p})" for k, v, p, d in got if round(v, d) != round(p, d)]
    return not bad, "; ".join(bad) if bad else f"all {len(got)} numbers agree at the printed digits"


def _se_bound(t: int, r: Fraction = Fraction(7, 10)) -> float:
    """The subsampled estimator's SE bound with Bernoulli variances at most 1/4."""
    return math.sqrt(float(Fraction(1, 4) / (r * t) + Fraction(1, 4) / ((1 - r) * t)))


def _se_as_stated() -> tuple[bool, str]:
    a, b = _se_bound(2000), _se_bound(4000)
    return (
        a <= 0.024 and b <= 0.017,
        f"t = 2,000: {a:.5f}; t = 4,000: {b:.5f} (stated: at most 0.024 and 0.017)",
    )


def _se_corrected() -> tuple[bool, str]:
    a, b = _se_bound(2000), _se_bound(4000)
    return a <= 0.0245 and b <= 0.0173, f"t = 2,000: {a:.5f} <= 0.0245; t = 4,000: {b:.5f} <= 0.0173"


def _dp_ln6() -> tuple[bool, str]:
    # e^eps with eps = ln 6 is exactly 6: the cost factors are rationals
    m, gamma, e_eps = 10, Fraction(1, 2), Fraction(6)
    dp, limit = 1 - e_eps / m, 1 - Fraction(1, m) - gamma
    return dp == limit, f"1 - e^eps/m = {dp}, 1 - 1/m - gamma = {limit}; e^eps - 1 + delta = {e_eps - 1} >= 1"


# ---------------------------------------------------------------------- readers of results
def _z(d: dict) -> float:
    se = d.get("se")
    if se is None or not se > 0:
        return math.nan
    return d["mean"] / se


def _directional(zs: list[float], what: str, *, expect: int = -1, k: float = K_SUPPORT) -> tuple[str, str]:
    """``expect`` -1: the claim says the differences are negative (+1: positive). Supported if every
    z is beyond k in that direction, refuted if any is beyond k the other way, else open."""
    sign = "<= -" if expect < 0 else ">= +"
    text = (
        f"{what}: z = " + ", ".join(f"{z:+.1f}" for z in zs) + f" (difference / SE; supported at {sign}{k:g})"
    )
    if zs and all(expect * z >= k for z in zs):
        return "supported", text
    if any(-expect * z >= k for z in zs):
        return "refuted", text
    return "open", text + "; not resolved at this size"


def _read_feldman_bound(r: dict) -> tuple[str, str]:
    b = r["bound_check"]
    text = f"{b['points']} (point, learner) pairs, smallest z = {b['min_z']:.2f}, below the bound by > 4 SE: " \
           f"{b['below_bound_by_4se']}"  # fmt: skip
    return ("supported" if b["below_bound_by_4se"] == 0 else "refuted"), text


def _read_removal(r: dict) -> tuple[str, str]:
    rows = [
        c
        for c in r["conditions"]
        if c["kind"] == "memorized" and "minus_random" in c and c["threshold"] >= 0.5
    ]
    zs = [_z(c["minus_random"]) for c in rows]
    return _directional(zs, "test accuracy, memorized removed minus random removed, thresholds >= 0.5")


def _read_nlp_removal(r: dict) -> tuple[str, str]:
    zs = [_z(c["minus_random"]) for c in r["conditions"] if c["kind"] == "memorized" and "minus_random" in c]
    return _directional(zs, "SST-2 dev accuracy, memorized removed minus random removed, per fraction")


def _read_marginal_utility(r: dict) -> tuple[str, str]:
    mu = r["marginal_utility"]
    a, b = mu["pairs_removed"]["influenced_test"], mu["random_removed"]["influenced_test"]
    z = (a["mean"] - b["mean"]) / math.hypot(a["se"], b["se"])
    return _directional([z], "accuracy on the influenced test examples, pairs removed minus random removed")


def _read_pairs(r: dict) -> tuple[str, str]:
    found, expected = r["pairs_significant"], r["expected_false_pairs"]
    z, verdict = beyond_noise(found, expected, k=K_SUPPORT)
    text = (
        f"{found} pairs pass the thresholds against {expected:.3g} expected by chance (z = {z:+.1f}, Poisson)"
    )
    return ("supported", text) if z >= K_SUPPORT else ("open", f"{text}; {verdict}")


def _read_cscore_relation(r: dict) -> tuple[str, str]:
    s = r["spearman_mem_vs_heldout"]
    lo, hi = s["ci95"]
    text = (
        f"Spearman(mem, held-out accuracy) = {s['rho']:.3f}, 95% CI [{lo:.3f}, {hi:.3f}], {s['n']} examples"
    )
    return ("supported" if hi <= -0.5 else "open"), text + " (supported when the CI lies below -0.5)"


def _read_attribution(r: dict) -> tuple[str, str]:
    f = r["faithfulness"]
    z = _z(f["top_minus_random"])
    text = (f"score removed by masking the top-attributed tokens {f['top']['mean']:.3f} against random "
            f"{f['random']['mean']:.3f} (published 0.684 vs about 0.48), over {f['sentences']} sentences")  # fmt: skip
    return _directional([z], text, expect=+1)


def _read_composition(words: str) -> Callable[[dict], tuple[str, str]]:
    """Reader of the composition-nets claims whose text contains ``words`` (positive differences)."""

    def read(r: dict) -> tuple[str, str]:
        rows = [c for c in r["claims"] if words in c["claim"] and not c["claim"].startswith("cross-channel")]
        zs = [_z(c["difference"]) for c in rows]
        return _directional(zs, "; ".join(c["claim"] for c in rows), expect=+1)

    return read


def _read_findings(r: dict) -> tuple[str, str]:
    t = r["finding_threshold_se"]
    text = f"{len(r['findings'])} findings at a threshold of {t:.1f} SE ({r['trials']} trials)"
    if r["findings"]:
        return "refuted", text + ": " + "; ".join(str(f) for f in r["findings"][:3])
    if t > FINDING_SE_MAX:
        return (
            "open",
            text + f"; too few trials: a threshold above {FINDING_SE_MAX:g} SE cannot support the claim",
        )
    return "supported", text


def _read_composition_linear(r: dict) -> tuple[str, str]:
    return "open", "measured, with no statistical verdict attached: " + "; ".join(
        f"{c['claim']}: {c['measured']}" for c in r["claims"][:2]
    )


# ---------------------------------------------------------------------- the registry
F = "Feldman (2020), arXiv 1906.05271"
FZ = "Feldman & Zhang (2020), arXiv 2008.03703"
ZMG = "Zhou, Ma & Ge (2025), arXiv 2510.16322"
ZJ = "Zheng & Jiang (2022), arXiv 2203.12171"
TINY = "priors of N = 2..4 points with integer weights 1..4 (normalised), n <= 4 draws, m = 2 classes, " \
       "variants fixed and iid"  # fmt: skip
PC = "proofs_check.claims"

REGISTRY: tuple[Claim, ...] = (
    # --- Feldman: the posterior lemma
    Claim(
        "feldman.lemma.count",
        "E[D(x) | x seen exactly l times in S] = tau_l, for l = 0..n",
        f"every prior (uniform labels irrelevant); exhaustively {TINY}; symbolically for every prior of N <= 4 "
        "points, fixed variant, n <= 3",
        f"{F}, Section 2 (references §1.2)",
        "exact enumeration; symbolic identity",
        f"{PC}:feldman.lemma.count; proofs_check.posterior_lemma_symbolic",
        "verified",
        exact="feldman.lemma.count",
    ),  # fmt: skip
    Claim(
        "feldman.lemma.per-sample",
        "E[D(x) | S] = tau_{c_x} for every data set S and point x",
        f"{TINY}, N >= 3",
        f"{F}, Section 2, as summarised (references §1.2)",
        "exact enumeration",
        f"{PC}:feldman.lemma.per-sample",
        "refuted",
        "prior (1/2, 1/4, 1/4), n = 2, fixed: E[D(x_3) | counts (1, 1, 0)] = 3/10, tau_0 = 13/44",
        exact="feldman.lemma.per-sample",
    ),  # fmt: skip
    Claim(
        "derived.lemma.per-sample.two-points",
        "with N = 2 points, E[D(x) | S] = tau_{c_x} for every S",
        "priors of exactly 2 points with weights 1..4, n <= 5, both variants",
        "derived here",
        "exact enumeration",
        f"{PC}:derived.lemma.per-sample.two-points",
        "verified",
        exact="derived.lemma.per-sample.two-points",
    ),  # fmt: skip
    # --- Feldman: the main bound
    Claim(
        "derived.err-identity",
        "err(A) = opt + E_S[sum over seen x of E[D(x) | S] P(h(x) != y_x | S)] for every learner (uniform "
        "labels, no noise)",
        f"{TINY.replace('n <= 4', 'n <= 3')}; the 11 learners of {PC}",
        "derived here (docs/theory.md)",
        "exact enumeration",
        f"{PC}:derived.err-identity",
        "verified",
        exact="derived.err-identity",
    ),  # fmt: skip
    Claim(
        "derived.opt-is-memorize-all",
        "opt = err(memorize-all): fitting every seen point and guessing "
        "uniformly elsewhere is Bayes-optimal under uniform labels",
        TINY,
        "derived here",
        "exact enumeration",
        f"{PC}:derived.opt-is-memorize-all",
        "verified",
        exact="derived.opt-is-memorize-all",
    ),  # fmt: skip
    Claim(
        "feldman.bound.local-equality",
        "for a local learner (its prediction at x depends only on x, its count and its label), err = opt + "
        "sum_l tau_l E[errn_S(A, l)]: the main bound in expectation holds with equality",
        f"{TINY}; and m = 3 for N <= 3, n <= 3; local learners memorize-all, skip<=1, skip<=2, constant, "
        "flip-singletons(1), flip-singletons(1/3)",
        f"{F}, Section 2 (references §1.2); equality derived here",
        "exact enumeration",
        f"{PC}:feldman.bound.local-equality (and .three-classes)",
        "verified",
        exact="feldman.bound.local-equality",
    ),  # fmt: skip
    Claim(
        "feldman.bound.expectation",
        "err(A) >= opt + sum_l tau_l E[errn_S(A, l)] for every learner A",
        f"{TINY}; every learner of {PC}",
        f"{F}, Section 2, expectation form (references §1.2)",
        "exact enumeration",
        f"{PC}:feldman.bound.expectation",
        "refuted",
        "prior (1/2, 1/4, 1/4), n = 3, fixed, m = 2, learner most-frequent-only: err = 31/128 < 203/832",
        exact="feldman.bound.expectation",
    ),  # fmt: skip
    Claim(
        "derived.note.bayes-unseen-equality",
        "the main bound holds with equality in expectation for any learner that is Bayes-optimal on unseen "
        "points",
        f"{TINY}; under uniform labels every learner is Bayes-optimal on unseen points",
        "references §1.2, the note marked 'our derivation'",
        "exact enumeration",
        f"{PC}:derived.note.bayes-unseen-equality",
        "refuted",
        "prior (1/2, 1/4, 1/4), n = 3, fixed, m = 2, learner most-frequent-only: err = 31/128, "
        "opt + sum tau errn = 203/832; equality holds for local learners (feldman.bound.local-equality)",
        exact="derived.note.bayes-unseen-equality",
    ),  # fmt: skip
    Claim(
        "feldman.bound.per-sample",
        "err(A | S) >= opt(| S) + sum_l tau_l errn_S(A, l) for every data set S (with the constant tau_l)",
        f"{TINY}; the local learners",
        f"{F}, Section 2 (references §1.2)",
        "exact enumeration",
        f"{PC}:feldman.bound.per-sample",
        "refuted",
        "prior (1/2, 1/4, 1/4), n = 3, fixed, m = 2, learner skip-seen<=1: smallest per-S slack -1/364",
        exact="feldman.bound.per-sample",
    ),  # fmt: skip
    Claim(
        "derived.most-frequent.gap-negative",
        "the learner that fits only the points of largest count beats the expectation form (gap < 0)",
        TINY,
        "derived here (proofs_check/main_bound.py, before this registry)",
        "exact enumeration",
        f"{PC}:derived.most-frequent.gap-negative",
        "refuted",
        "prior (1/2, 1/2), n = 1: gap = 0. Narrowed: gap < 0 on some instances, e.g. (1/2, 1/4, 1/4), "
        "n = 3, fixed (feldman.bound.expectation)",
        exact="derived.most-frequent.gap-negative",
    ),  # fmt: skip
    Claim(
        "derived.capacity.gap-positive",
        "the learner that memorizes all only when at most 2 distinct points are seen has gap > 0",
        TINY.replace("N = 2..4", "N = 3..4"),
        "derived here (proofs_check/main_bound.py, before this registry)",
        "exact enumeration",
        f"{PC}:derived.capacity.gap-positive",
        "refuted",
        "prior (1/3, 1/3, 1/3), n = 1: gap = 0 (at most one distinct point is ever seen). Narrowed: gap > 0 "
        "on some instances, e.g. (3/5, 1/5, 1/5), n = 3 (python -m proofs_check)",
        exact="derived.capacity.gap-positive",
    ),  # fmt: skip
    # --- theory against the exact values
    Claim(
        "theory.tau.exact",
        "theory's tau_l (floats, log space) equals the exact tau_l to relative 1e-9",
        TINY.replace("n <= 4", "n <= 5"),
        "derived here",
        "exact enumeration",
        f"{PC}:theory.tau.exact",
        "verified",
        exact="theory.tau.exact",
    ),  # fmt: skip
    Claim(
        "theory.opt.exact",
        "theory.opt_error equals (1 - 1/m) E[unseen mass] computed exactly, to relative 1e-9",
        TINY + "; m = 2",
        f"{F}, Section 2 (references §1.1)",
        "exact enumeration",
        f"{PC}:theory.opt.exact",
        "verified",
        exact="theory.opt.exact",
    ),  # fmt: skip
    Claim(
        "theory.cost-unfit.exact",
        "theory.cost_unfit(up_to = L) equals err - opt of the learner that skips points seen <= L times",
        TINY.replace("n <= 4", "n <= 3") + "; L = 1, 2",
        "derived here",
        "exact enumeration",
        f"{PC}:theory.cost-unfit.exact",
        "verified",
        exact="theory.cost-unfit.exact",
    ),  # fmt: skip
    Claim(
        "theory.tau.two-point",
        "theory's tau_l of a two-point prior equals its closed form to relative 1e-12",
        "fixed variant, N up to 1e4, heavy fraction k/10, ratio 1..50, n up to 400, every l; Hypothesis",
        "derived here",
        "closed form evaluated in exact rationals; property test",
        "tests/theory/test_quantities.py::test_tau_of_a_two_point_prior_equals_its_closed_form_in_exact_rationals",
        "verified",
        "every example Hypothesis draws (40 per run) agrees",
    ),  # fmt: skip
    Claim(
        "feldman.tail.tau1-weight",
        "tau_1 >= weight(pi-bar, [1/(3n), 2/n]) / (5n)",
        TINY.replace("n <= 4", "n <= 5")
        + "; beyond these instances open (exact form unverified in the sources)",
        f"{F}, Section 2 (references §1.2)",
        "exact enumeration; property test",
        f"{PC}:feldman.tail.tau1-weight; tests/theory/test_quantities.py::test_tau_1_at_least_tail_weight_bound and ::test_tau_1_at_least_tail_weight_bound_at_the_extremes (priors within 1.2x of the bound)",
        "verified",
        exact="feldman.tail.tau1-weight",
    ),  # fmt: skip
    Claim(
        "feldman.numbers.table",
        "Feldman's published numbers (Zipf 1/i, N = n = 50,000, 10 classes; the "
        "disparate-effect table at gamma = 0.5) at their printed digits",
        "the 15 printed numbers, fixed variant",
        f"{F} (references §1.4)",
        "exact recomputation of published numbers",
        "simulations.claims._published_numbers; experiment feldman-examples, results all_match",
        "verified",
        compute=_published_numbers,
    ),  # fmt: skip
    Claim(
        "feldman.dp.ln6",
        "with 10 classes, gamma = 0.5 corresponds to eps = ln 6, delta = 0",
        "as equal cost factors, 1 - e^eps/m - delta = 1 - 1/m - gamma; not as memorization limits: an "
        "(ln 6, 0)-label-private algorithm is only 5-memorization-limited",
        f"{F}, Section 3 (references §1.3)",
        "exact arithmetic",
        "simulations.claims._dp_ln6",
        "verified",
        compute=_dp_ln6,
    ),  # fmt: skip
    Claim(
        "feldman.mixture.coupling",
        "for lambda-coupled learners on a mixture of clusters, err >= opt + "
        "E[sum_l lambda_l tau_l errn_S(A, l)]",
        "Gaussian clusters, the learners of gaussian-coupling",
        f"{F}, Section 3 (references §1.2)",
        "Monte Carlo experiment",
        "experiment gaussian-coupling, results findings",
        "open",
        "no verdict until a results folder with enough trials is read",
        experiment="gaussian-coupling",
        reader=_read_findings,
    ),  # fmt: skip
    Claim(
        "feldman.bound.simulation",
        "in simulation, the measured excess error of every learner is at "
        "least sum_l tau_l errn_l (up to 4 SE)",
        "the learners and sweep points of feldman-bound",
        f"{F}, Section 2 (references §1.2)",
        "Monte Carlo experiment",
        "experiment feldman-bound, results bound_check",
        "supported",
        "docs/feldman.md: no (point, learner) below by more than 4 SE",
        experiment="feldman-bound",
        reader=_read_feldman_bound,
    ),  # fmt: skip
    Claim(
        "feldman.privacy.disparate",
        "privacy and regularization cost more accuracy on rare clusters",
        "Gaussian clusters, the learners of gaussian-dp",
        f"{F}, Section 3 (references §1.3)",
        "Monte Carlo experiment",
        "experiment gaussian-dp, results findings",
        "open",
        "no verdict until a results folder with enough trials is read",
        experiment="gaussian-dp",
        reader=_read_findings,
    ),  # fmt: skip
    Claim(
        "feldman.mem.average-gap",
        "average memorization equals the generalization gap",
        "not yet checked",
        f"{F}, Section 1 (references §1.3)",
        "none",
        "-",
        "open",
        "no check or experiment yet",
    ),  # fmt: skip
    # --- Feldman & Zhang
    Claim(
        "fz.se.stated",
        "the subsampled estimator's SE is at most 0.024 at t = 2,000 and 0.017 at t = 4,000 "
        "(r = 0.7, Bernoulli variances <= 1/4)",
        "r = 0.7",
        "references §2.1, 'our derivation'",
        "exact arithmetic",
        "simulations.claims._se_as_stated",
        "refuted",
        "sqrt(1/(4 r t) + 1/(4 (1 - r) t)) = 0.02440 at t = 2,000 and 0.01725 at t = 4,000",
        compute=_se_as_stated,
    ),  # fmt: skip
    Claim(
        "fz.se.corrected",
        "the subsampled estimator's SE is at most 0.0245 at t = 2,000 and 0.0173 at t = 4,000",
        "r = 0.7, Bernoulli variances <= 1/4",
        "derived here",
        "exact arithmetic",
        "simulations.claims._se_corrected",
        "verified",
        compute=_se_corrected,
    ),  # fmt: skip
    Claim(
        "fz.removal",
        "removing the most memorized training examples lowers test accuracy more than "
        "removing as many random ones",
        "MNIST-1D MLPs at the sizes of experiment removal, thresholds >= 0.5 (at most about 37% removed)",
        f"{FZ} (references §2.2)",
        "Monte Carlo experiment",
        "experiment removal, results conditions[].minus_random",
        "supported",
        "docs/memorization.md, MNIST-1D, R = 16: memorized minus random -1.18 +- 0.32, -2.41 +- 0.42, -2.73 +- 0.25 pp at thresholds 0.5, 0.75, 0.9 (3.7 to 10.9 SE); reversed at 0.25 (+0.88 +- 0.30) where half the data is removed",
        experiment="removal",
        reader=_read_removal,
    ),  # fmt: skip
    Claim(
        "fz.pairs",
        "high-influence pairs (mem >= 0.25, infl >= 0.15, same class) exist beyond those expected by chance",
        "the dataset and sizes of experiment influence-pairs",
        f"{FZ} (references §2.2)",
        "Monte Carlo experiment",
        "experiment influence-pairs, results pairs_significant, expected_false_pairs",
        "supported",
        "docs/memorization.md, MNIST-1D: 301 pairs against about 1.6e-5 expected by noise",
        experiment="influence-pairs",
        reader=_read_pairs,
    ),  # fmt: skip
    Claim(
        "fz.marginal-utility",
        "removing the high-influence training examples lowers accuracy on the "
        "influenced test examples more than removing random ones",
        "experiment influence-pairs",
        f"{FZ} (references §2.2)",
        "Monte Carlo experiment",
        "experiment influence-pairs, results marginal_utility",
        "supported",
        "docs/memorization.md: 41.26 +- 0.66% on the 243 influenced test examples with the pairs removed, 60.44 +- 0.66% with as many random examples removed",
        experiment="influence-pairs",
        reader=_read_marginal_utility,
    ),  # fmt: skip
    Claim(
        "fz.last-layer",
        "a linear head on fixed features memorizes far fewer examples than the full network",
        "not yet checked",
        f"{FZ} (references §2.2)",
        "none",
        "-",
        "open",
        "no experiment yet",
    ),  # fmt: skip
    Claim(
        "cscores.heldout-vs-mem",
        "1 - held-out accuracy at ratio 0.7 approximates mem at ratio 0.7 for "
        "models that fit their training data",
        "the MLPs of experiment memorization",
        "Jiang et al. (2021), arXiv 2002.03206 (references §3)",
        "Monte Carlo experiment",
        "experiment memorization, results spearman_mem_vs_heldout",
        "supported",
        "docs/memorization.md, MNIST-1D: Spearman(mem, held-out accuracy) = -0.9999",
        experiment="memorization",
        reader=_read_cscore_relation,
    ),  # fmt: skip
    # --- Zhou, Ma & Ge
    Claim(
        "zmg.linear",
        "in the linear model, tail features seen once are recovered and unseen combinations "
        "of them are predicted (alpha > 1)",
        "the sweep of composition-linear",
        f"{ZMG} (references §4)",
        "Monte Carlo experiment",
        "experiment composition-linear, results claims",
        "open",
        "measured (docs/composition.md) without a statistical verdict per claim",
        experiment="composition-linear",
        reader=_read_composition_linear,
    ),  # fmt: skip
    Claim(
        "zmg.nets",
        "per-channel encoders with sum, linear or two-layer aggregation compose better on "
        "unseen combinations than a cross-channel network",
        "the architectures of composition-nets",
        f"{ZMG} (references §4)",
        "Monte Carlo experiment (paired differences over seeds)",
        "experiment composition-nets, results claims[].difference",
        "supported",
        "docs/composition.md: the cross-channel loss is higher on unseen 9s by 14.8 +- 0.2 (sum), 14.9 +- 0.2 (linear), 15.5 +- 0.2 (two-layer); on once-seen symbol pairs by 31.3 +- 0.8, 29.2 +- 1.6, 31.7 +- 3.2 (3 seeds)",
        experiment="composition-nets",
        reader=_read_composition("composes better"),
    ),  # fmt: skip
    Claim(
        "zmg.nets.weight-decay",
        "weight decay that stops the memorization of once-seen symbols raises the one-shot loss of the "
        "per-channel networks",
        "the per-channel architectures of composition-nets, weight decay 0.5 against 0",
        f"{ZMG} (references §4)",
        "Monte Carlo experiment (paired differences over seeds)",
        "experiment composition-nets, results claims[].difference",
        "supported",
        "docs/composition.md: +10.0 +- 1.0 (sum), +7.4 +- 0.2 (linear), +9.3 +- 1.6 (two-layer); published 0.176 -> 2.874, 0.166 -> 1.554, 0.135 -> 0.645",
        experiment="composition-nets",
        reader=_read_composition("raises the one-shot loss"),
    ),  # fmt: skip
    # --- Zheng & Jiang
    Claim(
        "zj.removal",
        "removing the top-memorized sentences hurts accuracy more than removing random ones",
        "SST-2 with the attention head of nlp-removal",
        f"{ZJ} (references §5)",
        "Monte Carlo experiment",
        "experiment nlp-removal, results conditions[].minus_random",
        "open",
        "docs/nlp.md: memorized minus random +0.50 +- 0.21 pp at 10% (removal helps), -0.44 +- 0.16 at 20%, -1.22 +- 0.31 at 30%, within 1 SE at 40-50%: not reproduced cleanly by a frozen encoder with a small head",
        experiment="nlp-removal",
        reader=_read_nlp_removal,
    ),  # fmt: skip
    Claim(
        "zj.attribution",
        "masking the top-attributed tokens removes more of the memorization score than masking random tokens",
        "SST-2 with the attention head of nlp-attribution",
        f"{ZJ} (references §5)",
        "Monte Carlo experiment",
        "experiment nlp-attribution, results faithfulness",
        "supported",
        "docs/nlp.md: top minus random +20.1 +- 1.3 pp (published about +20 pp)",
        experiment="nlp-attribution",
        reader=_read_attribution,
    ),  # fmt: skip
    # --- the project's own engineering statements (docs/)
    Claim(
        "project.batched-equals-reference",
        "a model trained in a batch of models equals the same model trained alone with torch.optim (SGD or AdamW)",
        "softmax regression, MLP, CNN, ResNet specs; dense and vmap paths; groups of any size; float64 to 1e-12",
        "derived here (docs/memorization.md)",
        "exact comparison on test instances",
        "tests/simulations/test_training.py::test_batched_equals_reference, ::test_adamw_batch_equals_torch_adamw_per_model",
        "verified",
        "on the tests' instances; float32 agrees to ~4e-7 (docs/benchmarks.md)",
    ),  # fmt: skip
    Claim(
        "project.workers-bit-identical",
        "batched training gives the same bits whatever the number of groups trained side by side",
        "CPU, 1, 2 and 3 group workers, dense and vmap paths",
        "derived here (docs/benchmarks.md)",
        "exact comparison on test instances",
        "tests/simulations/test_training.py::test_group_workers_change_nothing_bit_for_bit",
        "verified",
    ),  # fmt: skip
    Claim(
        "project.resume-identical",
        "a run killed after a finished piece and run again gives the same results as an uninterrupted run",
        "every registered experiment at its tiny test size; the model store (local and Ray backends)",
        "derived here (docs/experiments.md)",
        "exact comparison on test instances",
        "tests/simulations/test_experiment_contract.py::test_run_redraw_and_resume_after_a_kill; "
        "tests/simulations/test_store.py; tests/simulations/test_ray_backend.py",
        "verified",
    ),  # fmt: skip
    Claim(
        "project.backends-identical",
        "the Ray backend fills the same model store as the local one, bit for bit",
        "one CPU type and torch build; MLPs and the removal retraining at the tests' sizes",
        "derived here (docs/cluster.md)",
        "exact comparison on test instances",
        "tests/simulations/test_ray_backend.py::test_killed_driver_resumes_to_the_local_estimates, "
        "::test_removal_retraining_on_ray_equals_local",
        "verified",
    ),  # fmt: skip
    Claim(
        "project.theory-precision",
        "theory's moments and tau_l agree with 50-digit mpmath to ~1e-12 relative, in log space for n and N up to 1e7 and beyond",
        "the priors and sizes of the property tests (Hypothesis), fixed variant; iid within its reported rel_error",
        "derived here (docs/theory.md)",
        "property test against an independent high-precision computation",
        "tests/theory/test_moments.py::test_log_moments_match_mpmath, tests/theory/test_quantities.py::test_tau_matches_mpmath, "
        "tests/theory/test_iid.py",
        "verified",
        "on the examples the property tests draw; found and fixed by them: log C(n, l) cancellation at n ~ 3e5, "
        "log(1 - a) cancellation in iid, the iid lattice wrap for N = 5",
    ),  # fmt: skip
    # --- Kandpal et al.
    Claim(
        "kandpal.frequency",
        "accuracy rises with the number of training documents relevant to a question",
        "not simulated",
        "Kandpal et al. (2023), arXiv 2211.08411 (references §6)",
        "none",
        "-",
        "open",
        "no experiment yet",
    ),  # fmt: skip
)


def get_claim(claim_id: str) -> Claim:
    """The claim with id ``claim_id``; ValueError naming the closest ids otherwise."""
    for c in REGISTRY:
        if c.id == claim_id:
            return c
    import difflib

    near = difflib.get_close_matches(claim_id, [c.id for c in REGISTRY], n=3)
    hint = f"; did you mean {', '.join(near)}?" if near else "; `tailmem claims` lists them"
    raise ValueError(f"unknown claim id {claim_id!r}{hint}")


# ---------------------------------------------------------------------- checking
def read_results(folder: str | Path) -> dict[str, dict]:
    """{experiment: results} from a results folder (one subfolder per experiment with results.json);
    ValueError naming the file when one is unreadable or written by another tailmem version."""
    from simulations.results import package_version

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--results: {folder} is not a folder")
    out = {}
    for path in sorted(folder.glob("*/results.json")):
        try:
            doc = json.loads(path.read_text())
            name, results = doc["experiment"], doc["results"]
            version = doc["provenance"]["tailmem_version"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"--results: {path} is not a tailmem results file ({err})") from None
        if version != package_version():
            raise ValueError(f"--results: {path} was written by tailmem {version}, this is {package_version()}; "
                             "re-run the experiment")  # fmt: skip
        out[name] = results
    if not out:
        raise ValueError(
            f"--results: {folder} holds no */results.json (give a `tailmem reproduce` or `run` folder)"
        )
    return out


def claim_record(c: Claim) -> dict:
    """The JSON form of a claim (its text fields)."""
    return {
        k: getattr(c, k)
        for k in ("id", "statement", "scope", "source", "evidence", "where", "status", "note")
    }


def _agrees(c: Claim, live: str) -> bool:
    """Whether a live status is consistent with the recorded one. Exact claims: equal. Statistical
    claims: not contradicted; "open" either way is no contradiction (a quick results folder often
    cannot resolve what the documented full-size run did), supported against refuted is."""
    if c.reader is None or live == c.status:
        return live == c.status
    return "open" in (live, c.status)


def check_all(results: dict[str, dict] | None = None, *, claims=None, progress=None) -> list[dict]:
    """Every claim's live status: exact searches and recomputations, and statistical statuses read
    from ``results`` ({experiment: results}). One dict per claim with the recorded and the live
    status, the evidence text and ``agrees``."""
    from proofs_check.claims import EXACT_CLAIMS, search

    rows = []
    for c in REGISTRY if claims is None else claims:
        live, text = c.status, ""
        if c.exact is not None:
            checked, inst, verdict = search(EXACT_CLAIMS[c.exact])
            if inst is None:
                live, text = "verified", f"holds on all {checked} instances searched"
            else:
                live = "refuted"
                text = f"fails at {inst}: {verdict.lhs} against {verdict.rhs} ({verdict.detail})"
        elif c.compute is not None:
            holds, text = c.compute()
            live = "verified" if holds else "refuted"
        elif c.reader is not None:
            if results is not None and c.experiment in results:
                live, text = c.reader(results[c.experiment])
            else:
                live, text = (
                    c.status,
                    "not in the results folder" if results is not None else "no --results given",
                )
        rows.append(
            {"id": c.id, "recorded": c.status, "live": live, "agrees": _agrees(c, live), "evidence": text}
        )
        if progress is not None:
            progress(rows[-1])
    return rows


def check_instance(claim_id: str, prior: str, n: int, classes: int, variant: str = "fixed") -> dict:
    """One exact claim on a user's instance: holds / fails / outside the scope, with both sides."""
    from proofs_check.claims import EXACT_CLAIMS, Instance, parse_prior
    from theory._validate import check_int

    claim = get_claim(claim_id)
    if claim.exact is None:
        raise ValueError(
            f"claim {claim_id} is not checked instance by instance (its evidence: {claim.evidence})"
        )
    values = parse_prior(prior)
    n = check_int("--n", n, low=1, high=8)
    classes = check_int("--classes", classes, low=2, high=4)
    if variant not in ("fixed", "iid"):
        raise ValueError(f"--variant must be fixed or iid; got {variant!r}")
    inst = Instance(values, n, classes, variant)
    exact = EXACT_CLAIMS[claim.exact]
    why = exact.scope(inst)
    out = {"claim": claim.id, "statement": claim.statement, "instance": str(inst)}
    if why:
        return out | {"result": "outside the scope", "why": why}
    verdict = exact.check(inst)
    return out | {"result": "holds" if verdict.holds else "fails", "lhs": verdict.lhs, "rhs": verdict.rhs,
                  "detail": verdict.detail}  # fmt: skip


# ---------------------------------------------------------------------- tables
def report_summary(results: dict[str, dict]) -> str:
    """The claims a results folder speaks to, as a markdown table for the top of report.md: each
    statistical claim whose experiment ran, with its status read from these results beside the
    status recorded from the documented full-size runs."""
    rows = []
    for c in REGISTRY:
        if c.reader is None or c.experiment not in results:
            continue
        live, text = c.reader(results[c.experiment])
        rows.append([f"`{c.id}`", c.statement, f"**{live}**", c.status, text])
    if not rows:
        return ""
    header = ["claim", "statement", "here", "recorded (documented runs)", "evidence from these results"]
    return "\n".join(table(header, rows))


def claims_table(claims=REGISTRY) -> str:
    """The registry as a plain-text table: id, status, statement."""
    width = max(len(c.id) for c in claims)
    lines = [f"{'id':<{width}}  {'status':<9}  statement"]
    lines += [f"{c.id:<{width}}  {c.status:<9}  {c.statement}" for c in claims]
    counts = {s: sum(c.status == s for c in claims) for s in STATUSES}
    lines.append(f"{len(claims)} claims: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return "\n".join(lines)


def claims_markdown() -> str:
    """docs/claims.md, generated from :data:`REGISTRY` (``tailmem claims --markdown``)."""
    counts = {s: sum(c.status == s for c in REGISTRY) for s in STATUSES}
    out = [
        "# Claims: what holds, where, and how we know",
        "",
        "Generated from `simulations/claims.py` by `tailmem claims --markdown > docs/claims.md`; a test fails",
        "when this file is stale. Statuses: **verified** (exact on every instance of the stated scope, or an",
        "exact recomputation), **supported** (measured beyond "
        f"{K_SUPPORT:g} SE), **refuted** (a minimal counterexample in exact",
        "fractions, or a measurement beyond that many SE the other way), **open** (not checked or not",
        "resolved). `tailmem claims --check` recomputes the exact statuses live and reads the statistical",
        "ones from a results folder (`--results DIR`); `tailmem claims --check ID --prior 1/2,1/3,1/6 --n 3",
        "--classes 2` checks one exact claim on your instance. Sources are in docs/references.md.",
        "",
        f"{len(REGISTRY)} claims: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".",
        "",
    ]
    out += table(
        ["id", "status", "statement", "scope", "source", "evidence", "where", "note"],
        ([f"`{c.id}`", c.status, c.statement, c.scope, c.source, c.evidence, c.where, c.note] for c in REGISTRY),
    )
    return "\n".join(out) + "\n"
