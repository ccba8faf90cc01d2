"""Tests for theory/labels.py: Bayes accuracy on a point seen l times under uniform label noise.

Model (docs/references.md §1.1): f(x) uniform over m classes; each observed copy keeps f(x)
with probability kappa, else is a uniform random label. The reference enumerates all m^l label
sequences in exact rational arithmetic and predicts the posterior argmax (ties uniform).
"""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

import theory
from theory.labels import MAX_EXACT_ELL

KAPPAS = [Fraction(0), Fraction(1, 10), Fraction(1, 3), Fraction(1, 2), Fraction(9, 10), Fraction(1)]


def brute_force_accuracy(m: int, kappa: Fraction, ell: int) -> Fraction:
    """P(Bayes prediction = f(x)) after ell noisy copies, by enumerating every label sequence.

    P(seq | f = y) = prod_i (kappa [y_i = y] + (1 - kappa)/m); the prior on f is uniform, so the
    posterior is proportional to the likelihood and the Bayes rule picks its argmax set A(seq),
    breaking ties uniformly: acc = sum_seq sum_y (1/m) P(seq | y) [y in A] / |A|.
    """
    same, other = kappa + (1 - kappa) / m, (1 - kappa) / m  # P(copy = y | f = y), P(copy = y' | f = y)
    acc = Fraction(0)
    for seq in itertools.product(range(m), repeat=ell):
        lik = [math.prod(same if s == y else other for s in seq) for y in range(m)]
        best = max(lik)
        winners = [y for y in range(m) if lik[y] == best]
        acc += sum(Fraction(1, m) * lik[y] for y in winners) / len(winners)
    return acc


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("kappa", KAPPAS, ids=str)
def test_bayes_accuracy_matches_enumeration(m, kappa):
    max_ell = 6  # m^l sequences: at most 4^6 = 4096 per (m, kappa)
    got = theory.bayes_accuracy(m, float(kappa), max_ell)
    assert got.shape == (max_ell + 1,)
    want = [float(brute_force_accuracy(m, kappa, l)) for l in range(max_ell + 1)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("kappa", [0.05, 0.3, 0.8])
def test_two_classes_is_a_majority_vote_up_to_150_copies(kappa):
    # m = 2: the number c of true labels is Binomial(l, s), s = kappa + (1 - kappa)/2; the Bayes
    # prediction is the majority, a coin flip at c = l/2: acc_l = P(c > l/2) + P(c = l/2)/2.
    ells = np.arange(MAX_EXACT_ELL + 1)
    s = kappa + (1 - kappa) / 2
    want = stats.binom.sf(ells // 2, ells, s) + np.where(
        ells % 2 == 0, 0.5 * stats.binom.pmf(ells // 2, ells, s), 0.0
    )
    want[0] = 0.5
    np.testing.assert_allclose(theory.bayes_accuracy(2, kappa, MAX_EXACT_ELL), want, rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 50), kappa=st.floats(0.0, 1.0))
def test_closed_forms_for_one_and_two_copies(m, kappa):
    # acc_0 = 1/m (a guess); acc_1 = P(the one label is true) = kappa + (1 - kappa)/m;
    # acc_2 = acc_1: two agreeing labels are followed, two different ones are a fair coin
    # between them, which wins exactly when one of them is true: s^2 + s(1 - s) = s.
    acc = theory.bayes_accuracy(m, kappa, 2)
    s = kappa + (1 - kappa) / m
    np.testing.assert_allclose(acc, [1 / m, s, s], rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(m=st.sampled_from([2, 3, 10, 1000]) | st.integers(2, 1000), kappa=st.floats(0.0, 1.0))
@example(m=1000, kappa=0.0)
@example(m=1000, kappa=1.0)
@example(m=10, kappa=1e-9)
@example(m=10, kappa=1 - 1e-9)
def test_accuracy_within_coupling_bounds(m, kappa):
    # Derivation (coupling), for l >= 1: with probability kappa^l every copy is kept, all show
    # f(x) and the plurality is f(x), so acc_l >= kappa^l. With probability (1 - kappa)^l no copy
    # is kept; the labels are then independent of f(x), and any prediction is right with
    # probability 1/m, so acc_l <= 1 - (1 - kappa)^l (1 - 1/m). At kappa = 1 and kappa = 0 the
    # bounds meet: acc_l = 1 (no noise) and acc_l = 1/m (pure noise, with acc_l >= 1/m: the
    # Bayes predictor does at least as well as a guess; the code also clips to it), the values
    # the code special-cases; in between (kappa = 1e-9, 1 - 1e-9) they hold the general series
    # to within l 1e-9 of those.
    # Relative slack 1e-10: the series is exact to rounding (measured up to 1.9e-12 relative
    # above 1/m for m ~ 800 and kappa -> 0, found by this test at 1e-12).
    acc = theory.bayes_accuracy(m, kappa, 30)
    ells = np.arange(1, 31)
    assert np.all(acc[1:] >= np.maximum(kappa**ells, 1 / m) * (1 - 1e-10))
    assert np.all(acc[1:] <= (1 - (1 - kappa) ** ells * (1 - 1 / m)) * (1 + 1e-10))


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 20), kappa=st.floats(0.0, 1.0))
def test_accuracy_grows_with_copies(m, kappa):
    # More copies never hurt the Bayes predictor (it may ignore them).
    acc = theory.bayes_accuracy(m, kappa, MAX_EXACT_ELL)
    assert np.all(np.diff(acc) >= -1e-12)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 1000), kappa=st.floats(0.0, 1.0))
def test_closed_form_for_three_copies(m, kappa):
    # By hand, with s = kappa + (1 - kappa)/m (a copy shows f(x)) and o = (1 - kappa)/m (it shows
    # one given other label), by the number c of copies that show f(x):
    #   c = 3: s^3, right;  c = 2: 3 s^2 (1 - s), right (2 against 1);
    #   c = 1: the other two copies show the same wrong label (probability (m - 1) o^2: wrong)
    #          or two different ones ((1 - s)^2 - (m - 1) o^2: a three-way tie, right w.p. 1/3),
    #          so 3 s ((1 - s)^2 - (m - 1) o^2) / 3;  c = 0: wrong.
    # acc_3 = s^3 + 3 s^2 (1 - s) + s ((1 - s)^2 - (m - 1) o^2); m = 2 gives the majority vote.
    s, o = kappa + (1 - kappa) / m, (1 - kappa) / m
    want = s**3 + 3 * s**2 * (1 - s) + s * ((1 - s) ** 2 - (m - 1) * o**2)
    assert theory.bayes_accuracy(m, kappa, 3)[3] == pytest.approx(want, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 20), k1=st.floats(0.0, 1.0), k2=st.floats(0.0, 1.0))
def test_accuracy_grows_with_kappa(m, k1, k2):
    lo, hi = sorted((k1, k2))
    a_lo = theory.bayes_accuracy(m, lo, 30)
    a_hi = theory.bayes_accuracy(m, hi, 30)
    assert np.all(a_hi >= a_lo - 1e-12)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 100), kappa=st.fractions(0, 1, max_denominator=1000))
def test_singleton_confidence_is_the_posterior_margin(m, kappa):
    # conf (docs/references.md §1.2): for a point seen once with label y, the posterior of y minus
    # the largest posterior of any other label. Reference: Bayes' rule in exact fractions from the
    # noise model, P(copy shows y | f = c) = kappa [c = y] + (1 - kappa)/m, uniform prior on f.
    y = 0
    likelihood = [kappa * (c == y) + (1 - kappa) / m for c in range(m)]
    posterior = [v / sum(likelihood) for v in likelihood]
    margin = posterior[y] - max(posterior[c] for c in range(m) if c != y)
    assert theory.singleton_confidence(m, float(kappa)) == pytest.approx(float(margin), rel=1e-15, abs=1e-300)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: theory.bayes_accuracy(1, 0.5, 3), r"^classes must be an integer in \[2, inf\]; got 1"),
        (lambda: theory.bayes_accuracy(10, 1.5, 3), r"^kappa must be a finite number in \[0, 1\]; got 1.5"),
        (lambda: theory.bayes_accuracy(10, -0.1, 3), r"^kappa must be"),
        (lambda: theory.bayes_accuracy(10, float("nan"), 3), r"^kappa must be"),
        (
            lambda: theory.bayes_accuracy(10, 0.5, MAX_EXACT_ELL + 1),
            r"^max_ell must be an integer in \[0, 150\]",
        ),
        (lambda: theory.bayes_accuracy(10, 0.5, -1), r"^max_ell must be"),
        (lambda: theory.singleton_confidence(1, 0.5), r"^classes must be"),
        (lambda: theory.singleton_confidence(10, 2.0), r"^kappa must be"),
    ],
)
def test_invalid_arguments_raise_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
