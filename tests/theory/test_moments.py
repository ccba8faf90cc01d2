"""Tests for theory/moments.py: log M(j, k) = log E_{a ~ pi-bar}[a^j (1-a)^k] and the ladder.

Reference: the fixed variant's M(j, k) = (1/N) sum_i q_i^j (1 - q_i)^k by direct summation in
50-digit mpmath over the normalised list (docs/references.md §1.2, the definition of tau_l).
"""

import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from theory.moments import _ladder_fixed, log_moment_ladder

FREQ = st.floats(min_value=1e-6, max_value=1e3, allow_nan=False, allow_infinity=False)
PRIOR_LISTS = st.lists(FREQ, min_size=2, max_size=40)
SIZES = st.integers(min_value=1, max_value=10**7)


def mp_log_moment(values, j, k):
    """log[(1/N) sum_i q_i^j (1 - q_i)^k] in 50-digit arithmetic; zero entries count in N."""
    with mp.workdps(50):
        p = [mp.mpf(float(v)) for v in values]
        total = mp.fsum(p)
        s = mp.fsum((x / total) ** j * (1 - x / total) ** k for x in p)
        return mp.log(s / len(p))


# ---------------------------------------------------------------------- against mpmath
@settings(max_examples=80, deadline=None)
@given(
    values=PRIOR_LISTS,
    pairs=st.lists(st.tuples(st.integers(0, 25), st.integers(0, 10**7)), min_size=1, max_size=6),
)
def test_log_moments_match_mpmath(values, pairs):
    # Compared as logs: absolute 1e-9 in log M is relative 1e-9 in M. A log of size ~1e7 has
    # float spacing ~2e-9, hence the extra relative 1e-15 of the log.
    got = theory.log_moments(theory.from_counts(values), pairs)
    assert got.shape == (len(pairs),)
    want = np.array([float(mp_log_moment(values, j, k)) for j, k in pairs])
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.one_of(st.just(0.0), FREQ), min_size=1, max_size=20).filter(
        lambda v: any(x > 0 for x in v)
    ),
    j=st.integers(0, 5),
    k=st.integers(0, 1000),
)
def test_log_moments_with_zero_entries_match_mpmath(values, j, k):
    # A zero entry is a point of frequency 0: it counts in N and adds 0^j (1 - 0)^k = [j = 0].
    want = mp_log_moment(values, j, k)
    got = theory.log_moment(theory.from_counts(values), j, k)
    if want == -mp.inf:  # only q = 1 with k > 0 and j > 0: a single positive entry
        assert got == -math.inf
    else:
        np.testing.assert_allclose(got, float(want), rtol=1e-15, atol=1e-9)


def test_low_order_moments_are_exact():
    # M(0, 0) = 1 and M(1, 0) = E[a] = 1/N for every prior (the q_i sum to 1).
    prior = theory.zipf(1000, 1.3, offset=2.0)
    got = theory.log_moments(prior, [(0, 0), (1, 0)])
    np.testing.assert_allclose(got, [0.0, -math.log(1000)], rtol=0, atol=1e-13)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 5), min_size=1, max_size=12).filter(any),
    j=st.integers(0, 6),
    k=st.integers(0, 60),
)
def test_log_moment_matches_exact_fractions(counts, j, k):
    # Integer counts with repeats (stored as values with multiplicities) and zeros. Reference:
    # M(j, k) = (1/N) sum_i (c_i/C)^j (1 - c_i/C)^k in exact fractions (C = sum c), its log taken
    # from the integer numerator and denominator (no underflow). Absolute 1e-12 in the log.
    q = [Fraction(c, sum(counts)) for c in counts]
    exact = sum((x**j * (1 - x) ** k for x in q), Fraction(0)) / len(q)
    got = theory.log_moment(theory.from_counts(counts), j, k)
    if exact == 0:  # j > 0 and k > 0 with one positive entry (q = 1): every term is zero
        assert got == -math.inf
    else:
        want = math.log(exact.numerator) - math.log(exact.denominator)
        assert got == pytest.approx(want, rel=1e-15, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.one_of(st.just(0.0), FREQ), min_size=1, max_size=20).filter(
        lambda v: any(x > 0 for x in v)
    ),
    j=st.integers(0, 5),
    k=st.sampled_from([0, 1, 7, 1000, 10**6, 10**9]),
)
def test_moment_ratios_match_mpmath(values, j, k):
    # M(j+1, k) / M(j, k) from one shared shift: relative 1e-12 against the 50-digit sums, at
    # any k (a difference of two log moments would carry |log M| * 1e-16, ~1e-8 at k = 1e9).
    # With j = 0 and zero entries (each adds 1 to M(0, k)) the ratio is itself exp of a log of
    # size k q (up to ~700 before it underflows), hence 1e-12 rather than 1e-15 (measured 3e-13).
    # NaN exactly where M(j, k) = 0 (a single positive point, q = 1, with k > 0 and j > 0).
    got = theory.moment_ratios(theory.from_counts(values), [(j, k)])[0]
    den = mp_log_moment(values, j, k)
    if den == -mp.inf:
        assert math.isnan(got)
    else:
        want = mp.exp(mp_log_moment(values, j + 1, k) - den)
        np.testing.assert_allclose(got, float(want), rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------------- the ladder
@settings(max_examples=80, deadline=None)
@given(values=PRIOR_LISTS, n=SIZES, data=st.data())
def test_ladder_matches_log_moments(values, n, data):
    # log_moment_ladder returns log M(l, n-l) and log M(l+1, n-l) for l = 0..L by a recurrence;
    # log_moments computes the same pairs one by one. Same tolerance as against mpmath.
    L = data.draw(st.integers(min_value=0, max_value=min(n, 20)), label="L")
    prior = theory.from_counts(values)
    lo, hi = log_moment_ladder(prior, n, L)
    assert lo.shape == hi.shape == (L + 1,)
    want = theory.log_moments(
        prior, [(l, n - l) for l in range(L + 1)] + [(l + 1, n - l) for l in range(L + 1)]
    )
    np.testing.assert_allclose(lo, want[: L + 1], rtol=1e-15, atol=1e-9)
    np.testing.assert_allclose(hi, want[L + 1 :], rtol=1e-15, atol=1e-9)


@pytest.mark.parametrize(
    ("values", "n", "L"),
    [
        ([1.0, 2.0, 3.0], 10**7, 5),  # every q >= 1/6, far from l/n ~ 1e-7: all terms underflow
        ([1.0, 1.0, 1.0], 10**7, 20),
    ],
)
def test_ladder_underflow_falls_back_to_log_moments(values, n, L):
    prior = theory.from_counts(values)
    assert _ladder_fixed(prior, n, L) is None  # the recurrence underflows: fallback path
    lo, hi = log_moment_ladder(prior, n, L)
    want = theory.log_moments(
        prior, [(l, n - l) for l in range(L + 1)] + [(l + 1, n - l) for l in range(L + 1)]
    )
    np.testing.assert_array_equal(np.concatenate([lo, hi]), want)
    # and the values are the direct ones: log M(0, n) = log((1/3) sum (1 - q)^n)
    np.testing.assert_allclose(lo[0], float(mp_log_moment(values, 0, n)), rtol=1e-15, atol=1e-9)
    assert np.isfinite(lo).all() and np.isfinite(hi).all()
    assert lo[0] < -1e6  # far below the float range as a moment; finite as a log


def test_ladder_zipf_example_uses_recurrence():
    # Feldman's worked example (N = n = 50,000, docs/references.md §1.4): mass near l/n, so the
    # recurrence path is taken; it must agree with the direct sums.
    prior, n, L = theory.zipf(50_000), 50_000, 10
    assert _ladder_fixed(prior, n, L) is not None
    lo, hi = log_moment_ladder(prior, n, L)
    want = theory.log_moments(
        prior, [(l, n - l) for l in range(L + 1)] + [(l + 1, n - l) for l in range(L + 1)]
    )
    np.testing.assert_allclose(np.concatenate([lo, hi]), want, rtol=1e-15, atol=1e-9)


def test_ladder_large_L_with_a_term_that_starts_below_the_float_range():
    # Point A has n q_A = 745, so (1 - q_A)^n ~ e^-745 underflows to 0 at l = 0, but at l = 55 its
    # term q^l (1-q)^(n-l) dominates point B's (q_B = 1e-9). Exact tau_55 = 1.2798502555445800e-4
    # (50-digit mpmath sum of the definition); a recurrence that starts from E_0 = 0 loses A.
    # Was a strict xfail (the ladder gave log M(55, n-55) = -1142.2655 and tau_55 = 1.0e-9);
    # fixed: points whose (1-q)^n is below e^-700 are summed term by term in log space.
    n, L = 10**6, 55
    values = [7.45e-4, 1e-9] + [(1 - 7.45e-4 - 1e-9) / 10] * 10
    prior = theory.from_counts(values)
    assert _ladder_fixed(prior, n, L) is not None  # the recurrence path, not the fallback
    lo, hi = log_moment_ladder(prior, n, L)
    np.testing.assert_allclose(
        [lo[L], hi[L]],
        [float(mp_log_moment(values, L, n - L)), float(mp_log_moment(values, L + 1, n - L))],
        rtol=1e-15,
        atol=1e-9,
    )
    np.testing.assert_allclose(theory.bound(prior, n, 3, ells=L).tau[str(L)], 1.27985025554458e-4, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    heavy=st.lists(st.floats(700.0, 900.0), min_size=1, max_size=3),
    light=st.lists(st.floats(-4.0, 1.0).map(lambda x: 10.0**x), min_size=1, max_size=5),
    fillers=st.integers(1, 5),
    n=st.integers(10**4, 10**7),
    data=st.data(),
)
def test_ladder_with_points_below_the_float_range_matches_log_moments(heavy, light, fillers, n, data):
    # Values are n q: "heavy" points have (1 - q)^n < e^-700, yet can dominate the levels l
    # beyond ~50 when the "light" ones (n q <= 10) have fallen off; fillers carry the rest of
    # the mass. About 10% of such draws broke the old recurrence (measured on 300 random
    # draws). Reference: log_moments, one max-shifted direct sum per moment (itself checked
    # against mpmath above); same tolerance as there.
    L = data.draw(st.integers(min_value=0, max_value=150), label="L")
    values = heavy + light + [(n - sum(heavy) - sum(light)) / fillers] * fillers
    prior = theory.from_counts(values)
    lo, hi = log_moment_ladder(prior, n, L)
    want = theory.log_moments(
        prior, [(l, n - l) for l in range(L + 1)] + [(l + 1, n - l) for l in range(L + 1)]
    )
    np.testing.assert_allclose(lo, want[: L + 1], rtol=1e-15, atol=1e-9)
    np.testing.assert_allclose(hi, want[L + 1 :], rtol=1e-15, atol=1e-9)


# ---------------------------------------------------------------------- invalid input
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda p: theory.log_moments(p, [(1, 2)], variant="bogus"),
            r"^variant must be one of fixed, iid; got 'bogus'",
        ),
        (lambda p: theory.log_moment(p, 1, 2, variant="bogus"), r"^variant must be"),
        (lambda p: log_moment_ladder(p, 10, 2, variant="bogus"), r"^variant must be"),
        (lambda p: theory.log_moments(p, [(-1, 2)]), r"moment orders must be >= 0; got \(j, k\) = \(-1, 2\)"),
        (lambda p: theory.log_moments(p, [(1, -2)]), r"moment orders must be >= 0"),
        (lambda p: log_moment_ladder(p, 10, 11), r"^L must be in \[0, n\] = \[0, 10\]; got 11"),
        (lambda p: log_moment_ladder(p, 10, -1), r"^L must be in"),
    ],
)
def test_invalid_arguments_raise_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call(theory.zipf(10))
