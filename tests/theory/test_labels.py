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
from hypothesis import given, settings
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


@pytest.mark.parametrize("m", [2, 10, 1000])
def test_no_noise_and_pure_noise(m):
    # kappa = 1: any copy reveals f(x). kappa = 0: the labels carry no information.
    np.testing.assert_array_equal(theory.bayes_accuracy(m, 1.0, 20), [1 / m] + [1.0] * 20)
    np.testing.assert_array_equal(theory.bayes_accuracy(m, 0.0, 20), [1 / m] * 21)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 20), kappa=st.floats(0.0, 1.0))
def test_accuracy_is_a_probability_and_grows_with_copies(m, kappa):
    # More copies never hurt the Bayes predictor (it may ignore them); acc_l in [1/m, 1], exactly
    # (the series is clipped to that range: it rounded up to 5.6e-17 below 1/m for kappa near 0).
    acc = theory.bayes_accuracy(m, kappa, MAX_EXACT_ELL)
    assert np.all(acc >= 1 / m) and np.all(acc <= 1.0)
    assert np.all(np.diff(acc) >= -1e-12)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 20), k1=st.floats(0.0, 1.0), k2=st.floats(0.0, 1.0))
def test_accuracy_grows_with_kappa(m, k1, k2):
    lo, hi = sorted((k1, k2))
    a_lo = theory.bayes_accuracy(m, lo, 30)
    a_hi = theory.bayes_accuracy(m, hi, 30)
    assert np.all(a_hi >= a_lo - 1e-12)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 100), kappa=st.floats(0.0, 1.0))
def test_singleton_confidence_is_kappa(m, kappa):
    # conf = posterior of the observed label minus the largest other: s - o = kappa (§1.2).
    assert theory.singleton_confidence(m, kappa) == kappa


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
