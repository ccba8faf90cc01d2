"""Tests for theory/quantities.py: tau_l, the expected counts and masses, the tail-weight bound.

References: every quantity is recomputed from its definition (docs/references.md §1.2) by direct
summation over the normalised list in 50-digit mpmath arithmetic, which has no underflow and no
cancellation at these sizes; the theory computes them in float64 log space.
"""

import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

import theory
from proofs_check.enumeration import sample_table

# Bounded strategies (STYLE.md §8). Lists of 2..40 positive frequencies spanning nine decades;
# a single-point prior is degenerate (tau_l undefined for l < n) and is tested on its own below.
FREQ = st.floats(min_value=1e-6, max_value=1e3, allow_nan=False, allow_infinity=False)
PRIOR_LISTS = st.lists(FREQ, min_size=2, max_size=40)
SIZES = st.integers(min_value=1, max_value=10**7)


# ---------------------------------------------------------------------- mpmath references
def _mp_q(values):
    """The normalised list q_i = p_i / sum p, exact from the float inputs."""
    p = [mp.mpf(float(v)) for v in values]
    total = mp.fsum(p)
    return [x / total for x in p]


def _mp_sum(values, j, k):
    r"""\sum_i q_i^j (1 - q_i)^k = N * M(j, k) under the fixed variant, in mpf."""
    return mp.fsum(x**j * (1 - x) ** k for x in _mp_q(values))


def mp_tau(values, n, ell):
    with mp.workdps(50):
        return _mp_sum(values, ell + 1, n - ell) / _mp_sum(values, ell, n - ell)


def mp_seen_count(values, n, ell):
    with mp.workdps(50):
        return mp.binomial(n, ell) * _mp_sum(values, ell, n - ell)


def mp_seen_mass(values, n, ell):
    with mp.workdps(50):
        return mp.binomial(n, ell) * _mp_sum(values, ell + 1, n - ell)


def mp_singleton_fraction(values, n):
    with mp.workdps(50):
        return _mp_sum(values, 1, n - 1)


def _close(got, want, rtol=1e-9):
    """Relative 1e-9; a value below the float range (mpf < 1e-300) must come out below it too."""
    np.testing.assert_allclose(got, float(want), rtol=rtol, atol=1e-300)


# ---------------------------------------------------------------------- exact enumeration
@st.composite
def tiny_instances(draw):
    """(values, n, variant) small enough to enumerate D and the samples exactly: 1..4 integer
    entries (zeros, points never drawn, in the fixed variant only) and n in 1..4."""
    variant = draw(st.sampled_from(["fixed", "iid"]))
    low = 0 if variant == "fixed" else 1
    values = draw(st.lists(st.integers(low, 6), min_size=1, max_size=4).filter(any))
    return tuple(values), draw(st.integers(1, 4)), variant


TINY_INSTANCES = tiny_instances()


def _enumerated_counts_and_masses(values, n, variant):
    """E[#points seen l times] and E[total frequency of those points], l = 0..n, as Fractions,
    summed over the exact sample table (every D and every count vector of the n draws)."""
    table = sample_table(values, n, variant=variant)
    count, mass = [Fraction(0)] * (n + 1), [Fraction(0)] * (n + 1)
    for c, p, m in zip(table.counts, table.prob, table.mass, strict=True):
        for x, cx in enumerate(c):
            count[cx] += p
            mass[cx] += m[x]
    return count, mass


def _exact_close(got, exact: Fraction):
    """A float against an exact Fraction: relative 1e-9 (the iid variant's FFT lattice); an
    exact zero must come out below 1e-15."""
    np.testing.assert_allclose(got, float(exact), rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------------- against mpmath
@settings(max_examples=100, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, data=st.data())
def test_tau_matches_mpmath(values, n, data):
    ell = data.draw(st.integers(min_value=1, max_value=min(n, 20)), label="ell")
    got = theory.tau(theory.from_counts(values), n, ell)
    _close(got, mp_tau(values, n, ell))


@settings(max_examples=40, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, data=st.data())
def test_taus_vector_matches_mpmath(values, n, data):
    ells = data.draw(st.lists(st.integers(1, min(n, 20)), min_size=1, max_size=5), label="ells")
    got = theory.taus(theory.from_counts(values), n, ells)
    assert got.shape == (len(ells),)
    for g, ell in zip(got, ells, strict=True):
        _close(g, mp_tau(values, n, ell))


@pytest.mark.parametrize(
    ("values", "n", "ell", "before"),
    [
        ([1.0, 2.0, 3.0], 10**8, 1, 6.1e-10),
        ([1.0, 1.0001], 10**8, 3, 3.4e-9),
        ([0.3, 0.7], 10**8, 5, 2.8e-9),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 10**9, 1, 9.7e-9),
    ],
)
def test_tau_at_extreme_n_to_1e_13(values, n, ell, before):
    # tau_l used to be exp(log M(l+1, n-l) - log M(l, n-l)) with two separately shifted logs of
    # size ~n q (~1e8), whose float spacing (~1e-8) gave the relative error ``before``. It is now
    # the ratio of the two sums under one shared shift. Reference: 50-digit mpmath sums.
    got = theory.tau(theory.from_counts(values), n, ell)
    _close(got, mp_tau(values, n, ell), rtol=1e-13)


@settings(max_examples=40, deadline=None)
@given(values=PRIOR_LISTS, n=st.integers(min_value=10**6, max_value=10**9), data=st.data())
def test_taus_at_large_n_match_mpmath_to_5e_13(values, n, data):
    # Error budget: the terms that dominate both moments have k log(1 - a) of size up to ~n a
    # (hundreds here); log1p and the products carry ~1e-16 relative each, so the exponents carry
    # ~1e-16 n a absolute error: ~1e-13 relative for n a ~ 1e3. Hypothesis found 1.12e-13 (values
    # [1, 1, 996, 999, 1000, 1000, 1000, 0.6875, 1e-06], n = 1,467,249, l = 14), so 1e-13 was
    # too tight a claim; 5e-13 keeps the test sharp (a real error is orders of magnitude larger).
    ells = data.draw(st.lists(st.integers(1, 20), min_size=1, max_size=3), label="ells")
    got = theory.taus(theory.from_counts(values), n, ells)
    for g, ell in zip(got, ells, strict=True):
        _close(g, mp_tau(values, n, ell), rtol=5e-13)


@settings(max_examples=40, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, data=st.data())
def test_seen_count_and_mass_match_mpmath(values, n, data):
    ell = data.draw(st.integers(min_value=0, max_value=min(n, 20)), label="ell")
    prior = theory.from_counts(values)
    _close(theory.expected_seen_count(prior, n, ell), mp_seen_count(values, n, ell))
    _close(theory.expected_seen_mass(prior, n, ell), mp_seen_mass(values, n, ell))


@settings(max_examples=40, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES)
def test_unseen_mass_and_singleton_fraction_match_mpmath(values, n):
    prior = theory.from_counts(values)
    _close(theory.unseen_mass(prior, n), mp_seen_mass(values, n, 0))
    _close(theory.singleton_fraction(prior, n), mp_singleton_fraction(values, n))


def test_tau_uniform_prior_is_one_over_N():
    # Uniform prior: every point has frequency 1/N, so its posterior mean is 1/N for every l.
    prior = theory.uniform(1000)
    got = theory.taus(prior, 5000, [1, 2, 7, 5000])
    np.testing.assert_allclose(got, np.full(4, 1e-3), rtol=1e-13)


def test_tau_hand_computed_two_points():
    # q = (1/4, 3/4), n = 2, l = 1: tau_1 = sum q^2 (1-q) / sum q (1-q)
    # = (1/16 * 3/4 + 9/16 * 1/4) / (2 * 3/16) = (12/64) / (24/64) = 1/2.
    assert theory.tau(theory.from_counts([1.0, 3.0]), 2, 1) == pytest.approx(0.5, rel=1e-14)


# ---------------------------------------------------------------------- invariants
@settings(max_examples=60, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, data=st.data())
def test_tau_lies_between_smallest_and_largest_frequency(values, n, data):
    # tau_l = sum q w / sum w with w >= 0 is a weighted mean of the q_i. Rounding allowance:
    # the 1e-9 of the mpmath test (log moments of size n|log(1-q)| ~ 1e7 carry ~1e-9 absolute).
    ell = data.draw(st.integers(min_value=1, max_value=min(n, 20)), label="ell")
    prior = theory.from_counts(values)
    q = prior.normalized()
    t = theory.tau(prior, n, ell)
    assert q.min() * (1 - 1e-9) <= t <= q.max() * (1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(instance=TINY_INSTANCES)
def test_counts_and_masses_match_enumeration_of_samples(instance):
    # Independent source: proofs_check.enumeration.sample_table enumerates every distribution D
    # of the variant and every count vector of the n draws in exact fractions, never through
    # the moments M(j, k). From it, E[#points seen l times] = sum_S P(S) #{x: c_x = l} and
    # E[mass of those points] = sum_S sum_{x: c_x = l} E[D(x) 1{S}]; the singleton fraction is
    # E[#seen once] / n and the unseen mass the l = 0 mass. Relative 1e-9: the iid variant's
    # lattice law (exact for integer values) is an FFT, exact only to ~1e-13.
    values, n, variant = instance
    prior = theory.from_counts([float(v) for v in values])
    count, mass = _enumerated_counts_and_masses(values, n, variant)
    for ell in range(n + 1):
        _exact_close(theory.expected_seen_count(prior, n, ell, variant=variant), count[ell])
        _exact_close(theory.expected_seen_mass(prior, n, ell, variant=variant), mass[ell])
    _exact_close(theory.singleton_fraction(prior, n, variant=variant), count[1] / n)
    _exact_close(theory.unseen_mass(prior, n, variant=variant), mass[0])


@settings(max_examples=25, deadline=None)
@given(values=PRIOR_LISTS, n=st.integers(min_value=1, max_value=60))
def test_seen_counts_and_masses_sum_to_totals(values, n):
    # Every point is seen some l in 0..n times: sum_l E[#l] = N, sum_l E[mass_l] = 1 and
    # sum_l l E[#l] = n (each of the n draws lands on one point).
    prior = theory.from_counts(values)
    counts = np.array([theory.expected_seen_count(prior, n, l) for l in range(n + 1)])
    masses = np.array([theory.expected_seen_mass(prior, n, l) for l in range(n + 1)])
    np.testing.assert_allclose(counts.sum(), prior.N, rtol=1e-12)
    np.testing.assert_allclose(masses.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.arange(n + 1) @ counts, n, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(instance=TINY_INSTANCES, data=st.data())
def test_tau_is_the_posterior_mean_frequency_of_a_point_seen_l_times(instance, data):
    # The posterior lemma (Feldman 2020, Section 2; docs/references.md §1.2): tau_l, defined as a
    # ratio of moments of pi-bar, is E[D(x) | x seen exactly l times] for any one point x.
    # Independent source: the exact sample table (proofs_check.enumeration.sample_table), which
    # never forms pi-bar: E[D(x) 1{c_x = l}] / P(c_x = l), summed over the count vectors c.
    values, n, variant = instance
    x = data.draw(st.integers(0, len(values) - 1), label="point")
    table = sample_table(values, n, variant=variant)
    joint, prob = [Fraction(0)] * (n + 1), [Fraction(0)] * (n + 1)
    for c, p, m in zip(table.counts, table.prob, table.mass, strict=True):
        joint[c[x]] += m[x]
        prob[c[x]] += p
    prior = theory.from_counts([float(v) for v in values])
    ells = list(range(1, n + 1))
    got = theory.taus(prior, n, ells, variant=variant)
    for g, ell in zip(got, ells, strict=True):
        if prob[ell] == 0:  # no point is ever seen l times (a single positive entry): undefined
            assert math.isnan(g)
        else:
            _exact_close(g, joint[ell] / prob[ell])


@settings(max_examples=60, deadline=None)
@given(N=st.integers(1, 10**12), n=st.integers(1, 10**9), data=st.data())
def test_uniform_prior_closed_forms_at_large_sizes(N, n, data):
    # Closed forms by hand: under the uniform prior every point has frequency exactly 1/N, so
    # with r = 1 - 1/N: E[#seen l] = N C(n, l) N^-l r^(n-l), E[mass seen l] = that / N,
    # singleton fraction = N (1/N) r^(n-1) = r^(n-1), unseen mass = N (1/N) r^n = r^n.
    # Reference: these in 50-digit mpmath, at sizes (N to 1e12, n to 1e9) that the direct
    # mpmath sums above cannot reach. Relative 1e-11 (measured 1.7e-13: a log of size up to
    # ~700 before underflow, times 1e-16); absolute 1e-300 for results near the float range's end.
    ell = data.draw(st.integers(0, min(n, 20)), label="ell")
    prior = theory.uniform(N)
    with mp.workdps(50):
        r = 1 - mp.mpf(1) / N
        count = N * mp.binomial(n, ell) * mp.mpf(N) ** -ell * r ** (n - ell)
        want = [count, count / N, r ** (n - 1), r**n]
    got = [
        theory.expected_seen_count(prior, n, ell),
        theory.expected_seen_mass(prior, n, ell),
        theory.singleton_fraction(prior, n),
        theory.unseen_mass(prior, n),
    ]
    for g, w in zip(got, want, strict=True):
        _close(g, w, rtol=1e-11)


@pytest.mark.parametrize(
    ("n", "l"),
    [(10, 3), (7, 0), (7, 7), (1000, 500), (50_000, 1), (10**5, 20), (10**7, 1), (10**7, 20), (10**8, 1)],
)
def test_log_binom_matches_math_comb(n, l):
    # Exact integer binomial from math.comb; absolute 1e-10 in the log = relative 1e-10 in
    # C(n, l). Three gammaln terms of size n log n would cancel and miss this at n >~ 1e6.
    assert theory.log_binom(n, l) == pytest.approx(math.log(math.comb(n, l)), rel=0, abs=1e-10)


@pytest.mark.parametrize(("n", "l"), [(10**6, 5000), (3 * 10**5, 10**5), (10**4, 5000)])
def test_log_binom_large_l(n, l):
    # log C(n, l) ~ 3e4..2e5 here, whose float spacing is ~1e-11; relative 1e-13 of the log.
    assert theory.log_binom(n, l) == pytest.approx(math.log(math.comb(n, l)), rel=1e-13)


def test_singletons_of_zipf_at_large_n_match_direct_summation():
    # Zipf(1), N = n = 3e6: E[#S_1] = N n M(1, n-1) = n sum_i q_i (1 - q_i)^(n-1) with
    # q_i = 1/(i H_N). Reference: that sum in plain float64, term by term (log1p, exp, numpy's
    # pairwise sum), with H_N from mpmath: no log-space shift and no theory code. Its error is
    # ~1e-13 (the terms that matter have n q_i ~ 1); measured agreement 3e-15.
    N = n = 3 * 10**6
    q = 1.0 / (np.arange(1, N + 1, dtype=np.float64) * float(mp.harmonic(N)))
    want = n * float(np.sum(q * np.exp((n - 1) * np.log1p(-q))))
    prior = theory.zipf(N)
    np.testing.assert_allclose(theory.expected_seen_count(prior, n, 1), want, rtol=1e-10)
    np.testing.assert_allclose(n * theory.singleton_fraction(prior, n), want, rtol=1e-10)


def test_probabilities_never_exceed_one_exactly():
    # With n = 1 the single draw is always a singleton: the exact value is 1 (and the expected
    # number of singletons is 1, the unseen points N - 1). Was a strict xfail: the fraction
    # came out 1.0000000000000002 (exp(log N + log M) unclipped); now clipped to [0, 1].
    prior = theory.zipf(5)
    assert theory.singleton_fraction(prior, 1) == 1.0
    r = theory.bound(prior, 1, 10)
    assert 0.0 <= r.singleton_fraction <= 1.0 and 0.0 <= r.unseen_mass <= 1.0
    np.testing.assert_allclose(r.singleton_fraction, 1.0, rtol=1e-15)
    np.testing.assert_allclose(theory.expected_seen_count(prior, 1, 0), 4.0, rtol=1e-15)


# ---------------------------------------------------------------------- the tail-weight bound
@st.composite
def priors_with_n(draw):
    """A prior from one of three families, and n on the scale 1/q of one of its points,
    so that the window [1/(3n), 2/n] of the bound holds mass."""
    kind = draw(st.sampled_from(["list", "zipf", "two_point"]))
    if kind == "list":
        prior = theory.from_counts(draw(PRIOR_LISTS))
    elif kind == "zipf":
        prior = theory.zipf(
            draw(st.integers(2, 5000)),
            draw(st.floats(0.0, 3.0)),
            offset=draw(st.floats(0.0, 10.0)),
        )
    else:
        prior = theory.two_point(
            draw(st.integers(2, 5000)),
            heavy_fraction=draw(st.floats(0.0, 1.0)),
            ratio=draw(st.floats(1.0, 1e4)),
        )
    q = prior.normalized()
    q_i = q[draw(st.integers(0, q.size - 1))]
    n = int(min(10**7, max(1, round(draw(st.floats(0.2, 4.0)) / q_i))))
    return prior, n


@settings(max_examples=300, deadline=None)
@given(case=priors_with_n())
def test_tau_1_at_least_tail_weight_bound(case):
    # [summary] docs/references.md §1.2, "exact form unverified":
    # tau_1 >= weight(pi-bar, [1/(3n), 2/n]) / (5n), weight = mass of frequencies in the window.
    prior, n = case
    t1 = theory.tau(prior, n, 1)
    b = theory.tail_weight_bound(prior, n)
    if t1 > 0:
        target(b / t1, label="bound / tau_1")  # steer the search toward a violation
    assert t1 >= b


def _window_plus_dust(n: int, position: float, heavy: int, N: int = 10**12):
    """``heavy`` points of frequency position / (3n) (in the window [1/(3n), 2/n] for position in
    (1, 6)) and N - heavy points sharing the rest: frequencies ~1e-12, far below 1/n. The dust
    dilutes tau_1 (a mean of the frequencies weighted by a (1 - a)^(n - 1)) while adding nothing
    to the weight: the extreme case of the bound (derivation in the test below)."""
    q = position / (3 * n)
    light = (1 - heavy * q) / (N - heavy)
    return theory.two_point(N, heavy_fraction=heavy / N, ratio=q / light)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(10, 10**4),  # heavy points carry at most 5 x 6 / (3n) <= 1 of the frequency
    position=st.floats(1.0001, 5.999),
    heavy=st.integers(1, 5),
)
def test_tau_1_at_least_tail_weight_bound_at_the_extremes(n, position, heavy):
    # [summary] docs/references.md §1.2; claim feldman.tail.tau1-weight. Priors the random families
    # above cannot reach: a few points in the window beside ~1e12 points of frequency ~1e-12.
    prior = _window_plus_dust(n, position, heavy)
    t1, b = theory.tau(prior, n, 1), theory.tail_weight_bound(prior, n)
    target(b / t1, label="bound / tau_1")
    assert b > 0 and t1 >= b


def test_the_extreme_family_comes_within_a_fifth_of_the_bound():
    # With one point at q = 1/(3n) carrying weight w and dust carrying 1 - w at frequency ~0:
    # tau_1 ~ w q^2 c / (w q c + (1 - w) ...) -> q c (1 + O(w)) with c = (1 - q)^(n-1) ~ e^(-1/3),
    # so tau_1 / (w / (5n)) -> 5 c / 3 = 1.194 as w = q -> 0 (n large). A constant 1/(4n) or
    # 1/(3n) in place of 1/(5n) gives 0.955 or 0.717 < 1: the test above would fail (the mutation
    # check, scripts/mutation_check.py, plants exactly these).
    n = 1000
    prior = _window_plus_dust(n, 1.0001, 1)
    ratio = theory.tau(prior, n, 1) / theory.tail_weight_bound(prior, n)
    assert ratio == pytest.approx(5 * (1 - 1.0001 / (3 * n)) ** (n - 1) / 3, rel=0.01)
    assert 1.0 < ratio < 1.25


def test_tail_weight_bound_uniform_N_equals_n():
    # Uniform prior with N = n: every frequency is exactly 1/n, inside [1/(3n), 2/n], so the
    # weight is 1 and the bound is 1/(5n), against tau_1 = 1/n.
    n = 10_000
    prior = theory.uniform(n)
    np.testing.assert_allclose(theory.tail_weight(prior, 1 / (3 * n), 2 / n), 1.0, rtol=1e-12)
    np.testing.assert_allclose(theory.tail_weight_bound(prior, n), 1 / (5 * n), rtol=1e-12)
    assert theory.tau(prior, n, 1) >= theory.tail_weight_bound(prior, n)


def test_tail_weight_is_mass_in_window():
    # q = (1, 2, 3, 4) / 10: the window [0.15, 0.35] holds 0.2 and 0.3.
    prior = theory.from_counts([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(theory.tail_weight(prior, 0.15, 0.35), 0.5, rtol=1e-14)
    assert theory.tail_weight(prior, 0.5, 0.9) == 0.0


def test_tail_weight_window_from_zero():
    # Was a strict xfail: low = 0 emitted RuntimeWarning 'divide by zero encountered in log'
    # (an error under this suite's filterwarnings); low < 0 returned 0 silently (now a
    # ValueError: test_invalid_arguments_raise_naming_the_parameter). The window [0, 1] holds
    # every point, so the weight is the total frequency, 1; [0, q_max) everything but the top
    # point (closed form 1 - q_max); zero-frequency points add nothing.
    prior = theory.zipf(10)
    np.testing.assert_allclose(theory.tail_weight(prior, 0.0, 1.0), 1.0, rtol=1e-12)
    q = prior.normalized()
    np.testing.assert_allclose(theory.tail_weight(prior, 0.0, q[1]), 1.0 - q[0], rtol=1e-12)
    with_zero = theory.from_counts([0.0, 1.0, 3.0])
    assert theory.tail_weight(with_zero, 0.0, 0.0) == 0.0
    np.testing.assert_allclose(theory.tail_weight(with_zero, 0.0, 0.3), 0.25, rtol=1e-15)


# ---------------------------------------------------------------------- degenerate and invalid
def test_single_point_prior_is_well_defined():
    # N = 1: the point is seen n times in every sample, so tau_n = 1, E[#n] = 1, no singletons,
    # nothing unseen; tau_l for l < n is undefined (no point is ever seen l times): NaN.
    prior = theory.from_counts([3.0])
    assert theory.tau(prior, 5, 5) == 1.0
    assert math.isnan(theory.tau(prior, 5, 1))
    assert theory.expected_seen_count(prior, 5, 5) == 1.0
    assert theory.expected_seen_count(prior, 5, 2) == 0.0
    assert theory.singleton_fraction(prior, 5) == 0.0
    assert theory.unseen_mass(prior, 5) == 0.0


def test_one_positive_entry_among_zeros_is_a_single_point():
    # Zero entries are points never drawn: the positive entry has q = 1 as in N = 1.
    prior = theory.from_counts([3.0, 0.0, 0.0])
    assert prior.N == 3
    assert theory.tau(prior, 4, 4) == 1.0
    assert theory.expected_seen_count(prior, 4, 0) == pytest.approx(2.0, rel=1e-14)
    assert theory.unseen_mass(prior, 4) == 0.0


def test_single_point_prior_n_1():
    # n = 1 needs no log(1 - q) term: the single draw is the single point.
    prior = theory.uniform(1)
    assert theory.tau(prior, 1, 1) == 1.0
    assert theory.singleton_fraction(prior, 1) == 1.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p: theory.tau(p, 0, 1), r"^n must be an integer in \[1, inf\]; got 0"),
        (lambda p: theory.tau(p, -3, 1), r"^n must be an integer"),
        (lambda p: theory.tau(p, 10, 0), r"^ell must be an integer in \[1, 10\]; got 0"),
        (lambda p: theory.tau(p, 10, 11), r"^ell must be an integer in \[1, 10\]; got 11"),
        (lambda p: theory.tau(p, 2.5, 1), r"^n must be an integer; got 2.5"),
        (lambda p: theory.expected_seen_count(p, 0, 0), r"^n must be"),
        (lambda p: theory.expected_seen_mass(p, 5, 6), r"^ell must be"),
        (lambda p: theory.singleton_fraction(p, 0), r"^n must be"),
        (lambda p: theory.unseen_mass(p, 0), r"^n must be"),
        (lambda p: theory.tail_weight_bound(p, 0), r"^n must be"),
        (lambda p: theory.tail_weight(p, -0.1, 1.0), r"^low must be a finite number in \[0, inf\]; got -0.1"),
        (lambda p: theory.tail_weight(p, 0.5, 0.1), r"^high must be a finite number in \[0.5, inf\]"),
        (lambda p: theory.tail_weight(p, float("nan"), 1.0), r"^low must be a finite number"),
        (lambda p: theory.tail_weight(p, 0.0, float("inf")), r"^high must be a finite number"),
        (lambda p: theory.tau(p, 10, 1, variant="bogus"), r"^variant must be one of fixed, iid; got 'bogus'"),
    ],
)
def test_invalid_arguments_raise_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call(theory.zipf(10))


@settings(max_examples=40, deadline=None)
@given(
    N=st.integers(2, 10**4),
    heavy_tenths=st.integers(1, 9),
    ratio=st.integers(1, 50),
    n=st.integers(1, 400),
    data=st.data(),
)
def test_tau_of_a_two_point_prior_equals_its_closed_form_in_exact_rationals(N, heavy_tenths, ratio, n, data):
    # claim theory.tau.two-point. Fixed variant, heavy fraction h = k/10 of N points (k N / 10 an
    # integer number of heavy points is what two_point uses; we take the realised count H), heavy
    # frequency a = R / Z, light b = 1 / Z with Z = H R + (N - H):
    # tau_l = (H a^(l+1) (1-a)^(n-l) + (N-H) b^(l+1) (1-b)^(n-l))
    #         / (H a^l (1-a)^(n-l) + (N-H) b^l (1-b)^(n-l)),
    # evaluated in exact Fractions (no rounding), against theory's log-space floats.
    prior = theory.two_point(N, heavy_fraction=heavy_tenths / 10, ratio=float(ratio))
    q = prior.normalized()
    H = int(np.sum(np.isclose(q, q.max()))) if ratio > 1 else N
    Z = H * ratio + (N - H)
    a, b = Fraction(ratio, Z), Fraction(1, Z)
    ell = data.draw(st.integers(1, n))

    def term(p, count, j):
        return count * p**j * (1 - p) ** (n - ell)

    want = (term(a, H, ell + 1) + term(b, N - H, ell + 1)) / (term(a, H, ell) + term(b, N - H, ell))
    assert theory.tau(prior, n, ell) == pytest.approx(float(want), rel=1e-12)
