"""Tests for theory/bounds.py: opt, the costs of not memorizing, and the BoundReport.

Golden values: docs/references.md §1.4 ("Numbers to reproduce exactly", tagged [exact]:
recomputed there from the definitions), compared rounded to the digits the table shows.
Zipf prior p_i ~ 1/i, fixed variant (pi-bar uniform over the normalised list), uniform labels.
"""

import math
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from proofs_check.enumeration import sample_table
from proofs_check.main_bound import main_bound, memorize_all, skip_seen_at_most

FREQ = st.floats(min_value=1e-6, max_value=1e3, allow_nan=False, allow_infinity=False)
PRIOR_LISTS = st.lists(FREQ, min_size=2, max_size=40)
SIZES = st.integers(min_value=1, max_value=10**6)
CLASSES = st.integers(min_value=2, max_value=100)
KAPPAS = st.floats(min_value=0.0, max_value=1.0)


# ---------------------------------------------------------------------- exact enumeration
@st.composite
def tiny_instances(draw, max_points: int, max_n: int):
    """(values, n, variant) small enough to enumerate D, f and S exactly: 1..max_points integer
    entries (zeros, points never drawn, in the fixed variant only) and n in 1..max_n."""
    variant = draw(st.sampled_from(["fixed", "iid"]))
    low = 0 if variant == "fixed" else 1
    values = draw(st.lists(st.integers(low, 6), min_size=1, max_size=max_points).filter(any))
    return tuple(values), draw(st.integers(1, max_n)), variant


def _enumerated_masses(values, n, variant) -> list[Fraction]:
    """E[total frequency of the points seen l times], l = 0..n, exactly: summed over the sample
    table of proofs_check.enumeration (every D and every count vector of the n draws)."""
    table = sample_table(values, n, variant=variant)
    mass = [Fraction(0)] * (n + 1)
    for c, m in zip(table.counts, table.mass, strict=True):
        for x, cx in enumerate(c):
            mass[cx] += m[x]
    return mass


def _enumerated_accuracy(m: int, kappa: Fraction, ell: int) -> Fraction:
    """P(Bayes prediction = f(x)) after ell noisy copies, over all m^ell label sequences: each copy
    shows f(x) with probability kappa + (1 - kappa)/m, each other label with (1 - kappa)/m; the
    prediction is the argmax of the likelihood, ties broken uniformly."""
    same, other = kappa + (1 - kappa) / m, (1 - kappa) / m
    acc = Fraction(0)
    for seq in product(range(m), repeat=ell):
        lik = [math.prod(same if s == y else other for s in seq) for y in range(m)]
        winners = [y for y in range(m) if lik[y] == max(lik)]
        acc += sum(Fraction(1, m) * lik[y] for y in winners) / len(winners)
    return acc


def _exact_close(got, exact: Fraction):
    """A float against an exact Fraction: relative 1e-9 (the iid variant's FFT lattice); an
    exact zero must come out below 1e-15."""
    np.testing.assert_allclose(got, float(exact), rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------------- golden values (§1.4)
@pytest.fixture(scope="module")
def feldman_example():
    """docs/references.md §1.4: Zipf exponent 1, N = n = 50,000, 10 classes, fixed variant."""
    prior = theory.zipf(50_000, 1.0)
    return prior, theory.bound(prior, 50_000, 10, ells=10)


def test_feldman_tau_1(feldman_example):
    # docs/references.md §1.4 table: tau_1 * n = 0.4717
    prior, r = feldman_example
    assert round(r.tau_1 * 50_000, 4) == 0.4717
    assert round(theory.tau(prior, 50_000, 1) * 50_000, 4) == 0.4717


def test_feldman_singleton_share(feldman_example):
    # docs/references.md §1.4 table: singleton share of examples 17.04%
    prior, r = feldman_example
    assert round(r.singleton_fraction * 100, 2) == 17.04
    assert round(theory.singleton_fraction(prior, 50_000) * 100, 2) == 17.04
    assert round(r.expected_singletons / 50_000 * 100, 2) == 17.04


def test_feldman_cost_if_no_singleton_fitted(feldman_example):
    # docs/references.md §1.4 table: cost if no singleton is fitted 7.23%
    prior, r = feldman_example
    assert round(theory.cost_unfit(prior, 50_000, 10, up_to=1) * 100, 2) == 7.23
    assert round(r.cost_unfit_singletons * 100, 2) == 7.23


def test_feldman_opt(feldman_example):
    # docs/references.md §1.4 table: opt 15.34%
    prior, r = feldman_example
    assert round(r.opt_error * 100, 2) == 15.34
    assert round(theory.opt_error(prior, 50_000, 10).value * 100, 2) == 15.34
    assert r.opt_error_halfwidth == 0.0


def test_feldman_least_frequent_point(feldman_example):
    # docs/references.md §1.4: least frequent point 0.0877/n
    _, r = feldman_example
    assert round(r.least_frequency_times_n, 4) == 0.0877


@pytest.mark.parametrize(
    ("ell", "digits", "want"), [(2, 3, 1.088), (3, 3, 2.007), (5, 3, 4.000), (10, 3, 9.000)]
)
def test_feldman_tau_l(feldman_example, ell, digits, want):
    # docs/references.md §1.4: tau_2 n = 1.088, tau_3 n = 2.007, tau_5 n = 4.000, tau_10 n = 9.000
    prior, r = feldman_example
    assert round(r.tau[str(ell)] * 50_000, digits) == want
    assert round(theory.tau(prior, 50_000, ell) * 50_000, digits) == want


@pytest.mark.parametrize(
    ("N", "n", "opt", "cost"),
    [
        (5_000, 50_000, 0.0184, 0.0146),  # base
        (5_000, 10_000, 0.1134, 0.0353),  # fewer samples
        (25_000, 50_000, 0.1075, 0.0310),  # more subpopulations
    ],
    ids=["base", "fewer-samples", "more-subpopulations"],
)
def test_disparate_effect_table(N, n, opt, cost):
    # docs/references.md §1.4 disparate-effect table, gamma = 0.5, 10 classes:
    # cost = tau_1 * E[#singletons] * (1 - 1/10 - gamma).
    prior = theory.zipf(N, 1.0)
    r = theory.bound(prior, n, 10, gamma=0.5)
    assert round(r.opt_error, 4) == opt
    assert round(theory.opt_error(prior, n, 10).value, 4) == opt
    assert round(r.cost_memorization_limit, 4) == cost
    c = theory.cost_memorization_limit(prior, n, 10, gamma=0.5)
    assert round(c, 4) == cost
    np.testing.assert_allclose(c, r.tau_1 * r.expected_singletons * (1 - 1 / 10 - 0.5), rtol=1e-9)


@pytest.mark.parametrize(("N", "n"), [(5_000, 50_000), (5_000, 10_000), (25_000, 50_000), (50_000, 50_000)])
def test_label_dp_ln6_equals_gamma_half(N, n):
    # docs/references.md §1.3: with 10 classes, gamma = 0.5 corresponds to eps = ln 6, delta = 0
    # (1 - e^eps/10 = 1 - 1/10 - 0.5 = 0.4).
    prior = theory.zipf(N, 1.0)
    gamma_cost = theory.cost_memorization_limit(prior, n, 10, gamma=0.5)
    dp_cost = theory.cost_label_dp(prior, n, 10, epsilon=math.log(6))
    np.testing.assert_allclose(dp_cost, gamma_cost, rtol=1e-12)
    r = theory.bound(prior, n, 10, epsilon=math.log(6))
    np.testing.assert_allclose(r.cost_memorization_limit, gamma_cost, rtol=1e-9)
    assert r.epsilon == math.log(6) and r.delta == 0.0 and r.gamma is None


def test_dp_memorization_gamma():
    # An (eps, delta)-label-DP algorithm is (e^eps - 1 + delta)-memorization-limited (§1.3).
    assert theory.dp_memorization_gamma(math.log(6)) == pytest.approx(5.0, rel=1e-15)
    assert theory.dp_memorization_gamma(0.0, 0.25) == 0.25
    assert theory.dp_memorization_gamma(1e-12) == pytest.approx(1e-12, rel=1e-9)


# ---------------------------------------------------------------------- invariants
@settings(max_examples=10, deadline=None)
@given(
    # main_bound needs every tau_l defined: two positive entries at least
    instance=tiny_instances(max_points=3, max_n=3).filter(lambda i: sum(v > 0 for v in i[0]) >= 2),
    m=st.integers(2, 3),
)
def test_opt_and_cost_unfit_are_errors_of_enumerated_learners(instance, m):
    # Independent source: proofs_check.main_bound enumerates every D, all m^N labellings f and
    # every count vector of S, err(A) = E[sum_x D(x) P(h(x) != f(x))] in exact fractions.
    # Without noise memorize-all (observed label where seen, uniform guess elsewhere) is
    # Bayes-optimal: it never errs on a seen point, and on an unseen one every prediction errs
    # with probability 1 - 1/m. So opt = err(memorize-all), and the cost of leaving the points
    # seen <= L times unfitted is err(skip-seen<=L) - err(memorize-all) (module docstring).
    values, n, variant = instance
    prior = theory.from_counts([float(v) for v in values])
    best = main_bound(values, n, memorize_all(), m=m, variant=variant).err
    opt = theory.opt_error(prior, n, m, variant=variant)
    assert opt.halfwidth == 0.0
    _exact_close(opt.value, best)
    for up_to in range(1, n + 1):
        skip = main_bound(values, n, skip_seen_at_most(up_to), m=m, variant=variant).err
        _exact_close(theory.cost_unfit(prior, n, m, up_to=up_to, variant=variant), skip - best)


def test_cost_unfit_never_negative():
    # Was a strict xfail: cost_unfit came out -6.9e-18 because bayes_accuracy(4, kappa, 3)[3]
    # rounded to 5.6e-17 below 1/m for kappa near 0. Fixed: acc_l is clipped to [1/m, 1] (the
    # Bayes predictor never does worse than a uniform guess), so every term of the cost is >= 0.
    # Exact value: kappa = 1.1e-308 is 0 to float precision, where acc_l = 1/m and the cost is 0.
    kappa = 1.1125369292536007e-308
    assert theory.bayes_accuracy(4, kappa, 3)[3] >= 0.25
    cost = theory.cost_unfit(theory.from_counts([1.0, 1.0]), 3, 4, up_to=3, kappa=kappa)
    assert 0.0 <= cost <= 1e-300


@settings(max_examples=30, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, m=CLASSES, k1=KAPPAS, k2=KAPPAS)
def test_opt_error_non_decreasing_as_kappa_decreases(values, n, m, k1, k2):
    # Noisier labels cannot help the Bayes predictor. opt is known to [value - h, value + h],
    # so the check is that the two brackets are ordered where they can be.
    prior = theory.from_counts(values)
    lo, hi = sorted((k1, k2))
    noisy = theory.opt_error(prior, n, m, kappa=lo)
    clean = theory.opt_error(prior, n, m, kappa=hi)
    assert clean.value - clean.halfwidth <= noisy.value + noisy.halfwidth + 1e-12


@settings(max_examples=30, deadline=None)
@given(
    instance=tiny_instances(max_points=4, max_n=4),
    m=st.integers(2, 3),
    kappa=st.one_of(st.sampled_from([Fraction(0), Fraction(1)]), st.fractions(0, 1, max_denominator=20)),
)
def test_opt_error_with_label_noise_matches_enumeration(instance, m, kappa):
    # Derivation: f is iid uniform and independent of D and S, and each copy's noise is drawn
    # independently, so the posterior of f(x) given S and every observed label depends on x's
    # own labels only; the Bayes predictor errs at x with probability 1 - acc_{c_x}, acc_l the
    # accuracy of the plurality vote over l noisy copies (acc_0 = 1/m). Hence
    # opt = E[sum_x D(x) (1 - acc_{c_x})] = sum_l E[mass_l] (1 - acc_l).
    # Independent source: E[mass_l] from the exact sample table (proofs_check.enumeration) and
    # acc_l by enumerating all m^l label sequences in fractions (_enumerated_accuracy). kappa = 1
    # and kappa = 0 are the closed forms (1 - 1/m) E[unseen mass] and 1 - 1/m.
    values, n, variant = instance
    mass = _enumerated_masses(values, n, variant)
    want = sum((mass[ell] * (1 - _enumerated_accuracy(m, kappa, ell)) for ell in range(n + 1)), Fraction(0))
    opt = theory.opt_error(
        theory.from_counts([float(v) for v in values]), n, m, kappa=float(kappa), variant=variant
    )
    _exact_close(opt.value, want)
    assert opt.halfwidth <= 1e-12  # every l <= n <= 150 is summed exactly: no bracket


def test_opt_error_pure_noise_is_exact():
    # kappa = 0: every observed label is uniform and independent of f(x), so no predictor beats
    # 1/m anywhere: opt = 1 - 1/m exactly (closed form). Zipf(1), N = 1000, n = 1e5, m = 10 used
    # to come out as the bracket 0.5956 +- 0.3044 (sum over l <= 150 only, the rest bracketed).
    prior, n = theory.zipf(1000), 10**5
    assert theory.opt_error(prior, n, 10, kappa=0.0) == theory.OptError(0.9, 0.0, n)
    r = theory.bound(prior, n, 10, kappa=0.0)
    assert (r.opt_error, r.opt_error_halfwidth, r.cost_unfit_singletons) == (0.9, 0.0, 0.0)


@settings(max_examples=40, deadline=None)
@given(
    instance=tiny_instances(max_points=4, max_n=4),
    m=CLASSES,
    kappa=KAPPAS,
    gamma=st.floats(0.0, 2.0),
    epsilon=st.floats(0.0, 5.0),
    delta=st.floats(0.0, 1.0),
)
def test_memorization_limit_and_label_dp_costs_match_enumeration(instance, m, kappa, gamma, epsilon, delta):
    # docs/references.md §1.3 [summary]: the cost of a gamma-memorization limit is
    # tau_1 E[#S_1] kappa (1 - 1/m - gamma)_+ and of (eps, delta)-label-DP
    # tau_1 E[#S_1] kappa (1 - e^eps/m - delta)_+. Here tau_1 E[#S_1], the expected total frequency
    # of the singletons (posterior lemma), comes from the exact sample table
    # (proofs_check.enumeration), not from the moments; gamma runs past 1 - 1/m, where the
    # limit costs nothing (random guessing already has memorization 1 - 1/m).
    values, n, variant = instance
    singleton_mass = float(_enumerated_masses(values, n, variant)[1])
    prior = theory.from_counts([float(v) for v in values])
    np.testing.assert_allclose(
        theory.cost_memorization_limit(prior, n, m, gamma, kappa=kappa, variant=variant),
        singleton_mass * kappa * max(0.0, 1 - 1 / m - gamma),
        rtol=1e-9,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        theory.cost_label_dp(prior, n, m, epsilon, delta=delta, kappa=kappa, variant=variant),
        singleton_mass * kappa * max(0.0, 1 - math.exp(epsilon) / m - delta),
        rtol=1e-9,
        atol=1e-15,
    )


@settings(max_examples=40, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, m=CLASSES, kappa=KAPPAS)
def test_label_noise_scales_singleton_cost_by_kappa(values, n, m, kappa):
    # acc_1 - 1/m = kappa (1 - 1/m): the cost of unfitted singletons is kappa times the clean one
    # (conf = kappa, docs/references.md §1.2). Absolute 1e-15: acc_1 - 1/m is a difference of O(1)
    # numbers, exact only to an ulp.
    prior = theory.from_counts(values)
    noisy = theory.cost_unfit(prior, n, m, up_to=1, kappa=kappa)
    clean = theory.cost_unfit(prior, n, m, up_to=1)
    np.testing.assert_allclose(noisy, kappa * clean, rtol=1e-9, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, m=CLASSES, kappa=KAPPAS)
def test_singleton_cost_is_tau_1_times_singletons(values, n, m, kappa):
    # cost_unfit(up_to=1) = tau_1 * E[#S_1] * kappa * (1 - 1/m) (module docstring, §1.2).
    prior = theory.from_counts(values)
    fraction = theory.singleton_fraction(prior, n)
    cost = theory.cost_unfit(prior, n, m, kappa=kappa)
    if fraction < 1e-290:  # near the float range's end: only the size can be checked (tau_1 <= 1)
        assert cost <= fraction * n + 1e-300
    else:
        want = theory.tau(prior, n, 1) * fraction * n * kappa * (1 - 1 / m)
        np.testing.assert_allclose(cost, want, rtol=1e-9, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, m=CLASSES, kappa=KAPPAS, up_to=st.integers(1, 10))
def test_cost_unfit_grows_with_up_to(values, n, m, kappa, up_to):
    # Leaving more points unfitted never helps: every term mass_l (acc_l - 1/m) is >= 0.
    prior = theory.from_counts(values)
    up_to = min(up_to, n)
    costs = [theory.cost_unfit(prior, n, m, up_to=u, kappa=kappa) for u in range(1, up_to + 1)]
    assert all(b >= a - 1e-15 for a, b in zip(costs, costs[1:], strict=False))


@settings(max_examples=40, deadline=None)
@given(
    values=PRIOR_LISTS, n=SIZES, m=CLASSES, kappa=KAPPAS, eps=st.floats(0.0, 5.0), delta=st.floats(0.0, 1.0)
)
def test_label_dp_cost_is_a_memorization_limit_cost(values, n, m, kappa, eps, delta):
    # 1 - e^eps/m - delta = 1 - 1/m - gamma with gamma = (e^eps - 1)/m + delta (docs/references.md §1.3).
    prior = theory.from_counts(values)
    gamma = math.expm1(eps) / m + delta
    np.testing.assert_allclose(
        theory.cost_label_dp(prior, n, m, epsilon=eps, delta=delta, kappa=kappa),
        theory.cost_memorization_limit(prior, n, m, gamma=gamma, kappa=kappa),
        rtol=1e-9,
        atol=1e-15,
    )


@settings(max_examples=30, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, m=CLASSES, kappa=KAPPAS, gamma=st.floats(0.0, 1.0))
def test_bound_report_agrees_with_the_functions(values, n, m, kappa, gamma):
    prior = theory.from_counts(values)
    r = theory.bound(prior, n, m, kappa=kappa, gamma=gamma, ells=3)
    ells = list(range(1, min(3, n) + 1))
    assert sorted(r.tau) == [str(l) for l in ells]
    np.testing.assert_allclose([r.tau[str(l)] for l in ells], theory.taus(prior, n, ells), rtol=1e-9)
    np.testing.assert_allclose(
        r.singleton_fraction, theory.singleton_fraction(prior, n), rtol=1e-9, atol=1e-300
    )
    np.testing.assert_allclose(r.unseen_mass, theory.unseen_mass(prior, n), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(
        r.expected_unseen_points, theory.expected_seen_count(prior, n, 0), rtol=1e-9, atol=1e-300
    )
    opt = theory.opt_error(prior, n, m, kappa=kappa)
    np.testing.assert_allclose(r.opt_error, opt.value, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(r.opt_error_halfwidth, opt.halfwidth, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(
        r.cost_unfit_singletons, theory.cost_unfit(prior, n, m, kappa=kappa), rtol=1e-9, atol=1e-15
    )
    np.testing.assert_allclose(
        r.cost_memorization_limit,
        theory.cost_memorization_limit(prior, n, m, gamma=gamma, kappa=kappa),
        rtol=1e-9,
        atol=1e-300,
    )
    np.testing.assert_allclose(r.least_frequency_times_n, prior.normalized().min() * n, rtol=1e-12)
    assert r.tail_weight_bound == theory.tail_weight_bound(prior, n)
    assert (r.N, r.n, r.classes, r.kappa, r.variant) == (prior.N, n, m, kappa, "fixed")


def test_bound_report_to_dict():
    r = theory.bound(theory.zipf(100), 200, 10, gamma=0.5, ells=2)
    d = r.to_dict()
    assert d["tau_1"] == r.tau_1 == r.tau["1"]
    assert d["gamma"] == 0.5 and "epsilon" not in d and "delta" not in d
    assert all(v is not None for v in d.values())


def test_bound_tau_undefined_is_none():
    # A single point is seen n times in every sample: no point is ever seen once.
    r = theory.bound(theory.uniform(1), 5, 10, ells=5)
    assert r.tau["1"] is None and r.tau["5"] == 1.0
    assert r.singleton_fraction == 0.0 and r.opt_error == 0.0


# ---------------------------------------------------------------------- large N
def test_bound_zipf_ten_million():
    # N = n = 1e7 (Zipf exponent 1): the log-space moments stay finite, tau_1 n ~ 0.41.
    r = theory.bound(theory.zipf(10**7), 10**7, 10)
    values = [r.tau_1, r.singleton_fraction, r.unseen_mass, r.opt_error, r.cost_unfit_singletons]
    assert np.isfinite(values).all()
    assert 0.0 < r.tau_1 * 10**7 < 1.0
    assert 0.0 < r.singleton_fraction < 1.0 and 0.0 < r.opt_error < 0.9


@pytest.mark.slow
def test_bound_zipf_hundred_million():
    # N = n = 1e8: 5-9 s and 2.7 GB resident (arrays of 1e8 floats); excluded from the default run.
    r = theory.bound(theory.zipf(10**8), 10**8, 10)
    assert np.isfinite([r.tau_1, r.singleton_fraction, r.opt_error]).all()
    assert 0.0 < r.tau_1 * 10**8 < 1.0


# ---------------------------------------------------------------------- invalid input
NAN = float("nan")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda p: theory.opt_error(p, 100, 10, kappa=1.5),
            r"^kappa must be a finite number in \[0, 1\]; got 1.5",
        ),
        (lambda p: theory.opt_error(p, 100, 10, kappa=-0.1), r"^kappa must be"),
        (lambda p: theory.cost_unfit(p, 100, 10, kappa=NAN), r"^kappa must be"),
        (lambda p: theory.bound(p, 100, 10, kappa=2.0), r"^kappa must be"),
        (lambda p: theory.opt_error(p, 100, 1), r"^classes must be an integer in \[2, inf\]; got 1"),
        (lambda p: theory.bound(p, 100, 1), r"^classes must be"),
        (lambda p: theory.cost_memorization_limit(p, 100, 1, gamma=0.5), r"^classes must be"),
        (lambda p: theory.opt_error(p, 0, 10), r"^n must be an integer in \[1, inf\]; got 0"),
        (lambda p: theory.bound(p, 0, 10), r"^n must be"),
        (lambda p: theory.cost_unfit(p, 0, 10), r"^n must be"),
        (
            lambda p: theory.cost_memorization_limit(p, 100, 10, gamma=-0.1),
            r"^gamma must be a finite number in \[0, inf\]; got -0.1",
        ),
        (lambda p: theory.cost_memorization_limit(p, 100, 10, gamma=NAN), r"^gamma must be"),
        (lambda p: theory.bound(p, 100, 10, gamma=-0.1), r"^gamma must be"),
        (
            lambda p: theory.cost_label_dp(p, 100, 10, epsilon=NAN),
            r"^epsilon must be a finite number in \[0, inf\]; got nan",
        ),
        (lambda p: theory.cost_label_dp(p, 100, 10, epsilon=-1.0), r"^epsilon must be"),
        (lambda p: theory.bound(p, 100, 10, epsilon=NAN), r"^epsilon must be"),
        (lambda p: theory.dp_memorization_gamma(NAN), r"^epsilon must be"),
        (lambda p: theory.dp_memorization_gamma(1.0, 1.5), r"^delta must be a finite number in \[0, 1\]"),
        (lambda p: theory.cost_label_dp(p, 100, 10, epsilon=1.0, delta=-0.5), r"^delta must be"),
        (lambda p: theory.bound(p, 100, 10, gamma=0.5, epsilon=1.0), r"^gamma and epsilon: give at most one"),
        (lambda p: theory.cost_unfit(p, 100, 10, up_to=0), r"^up_to must be an integer in \[1, 100\]; got 0"),
        (lambda p: theory.cost_unfit(p, 5, 10, up_to=6), r"^up_to must be an integer in \[1, 5\]; got 6"),
        (lambda p: theory.bound(p, 100, 10, ells=0), r"^ells must be an integer in \[1, inf\]; got 0"),
        (
            lambda p: theory.opt_error(p, 100, 10, variant="bogus"),
            r"^variant must be one of fixed, iid; got 'bogus'",
        ),
        (lambda p: theory.bound(p, 100, 10, variant="bogus"), r"^variant must be"),
        (lambda p: theory.cost_unfit(p, 100, 10, variant="bogus"), r"^variant must be"),
        (
            lambda p: theory.cost_memorization_limit(p, 100, 10, gamma=0.5, variant="bogus"),
            r"^variant must be",
        ),
    ],
)
def test_invalid_arguments_raise_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call(theory.zipf(10))


def test_costs_take_gamma_and_epsilon_positionally():
    # as a user writes them: cost_memorization_limit(prior, n, m, 0.5)
    p = theory.zipf(1000)
    assert theory.cost_memorization_limit(p, 1000, 10, 0.5) == theory.cost_memorization_limit(
        p, 1000, 10, gamma=0.5
    )
    assert theory.cost_label_dp(p, 1000, 10, 1.0) == theory.cost_label_dp(p, 1000, 10, epsilon=1.0)


def test_tau_by_int_or_string_and_opt_error_as_float():
    # what a new user tried: report.tau[1] (STYLE.md writes it so) and float(opt_error(...))
    p = theory.zipf(2000)
    r = theory.bound(p, 2000, 10)
    assert r.tau[1] == r.tau["1"] and 2 in r.tau and r.tau.get(9) is None
    assert float(theory.opt_error(p, 2000, 10)) == r.opt_error
