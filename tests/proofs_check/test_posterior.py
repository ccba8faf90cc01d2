"""Tests for proofs_check.posterior and proofs_check.enumeration: the posterior lemma, exactly."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
import sympy

from proofs_check.enumeration import (
    count_vectors,
    distribution_law,
    multinomial,
    prior_marginal,
    sample_table,
    tau_exact,
)
from proofs_check.posterior import (
    posterior_given_sample,
    posterior_lemma,
    posterior_lemma_symbolic,
    theory_tau,
)

PRIORS = [(3, 1, 1), (2, 1), (4, 2, 1, 1)]
VARIANTS = ["fixed", "iid"]
NS = [1, 2, 3, 4]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("values", PRIORS)
@pytest.mark.parametrize("n", NS)
def test_posterior_lemma_exact(values, n, variant):
    # Feldman (2020), posterior lemma: E[D(x) | c_x = l] = tau_l with the model's own pibar.
    r = posterior_lemma(values, n, variant=variant)
    assert r.residuals == (Fraction(0),) * (n + 1)
    assert r.holds


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("values", PRIORS)
@pytest.mark.parametrize("n", NS)
def test_posterior_lemma_matches_theory(values, n, variant):
    # the same tau_0..tau_n through theory/ (floats, log space; iid on the exact integer lattice)
    exact = posterior_lemma(values, n, variant=variant)
    np.testing.assert_allclose(
        theory_tau(values, n, variant=variant), [float(t) for t in exact.tau], rtol=1e-9
    )
    np.testing.assert_allclose([float(p) for p in exact.posterior], [float(t) for t in exact.tau], rtol=0)


@pytest.mark.parametrize("point", [0, 1, 2])
def test_posterior_lemma_same_for_every_point(point):
    # the model is exchangeable over points, so the lemma holds at every x, with the same tau
    r = posterior_lemma((3, 1, 1), 3, variant="fixed", point=point)
    assert r.holds
    assert r.tau == posterior_lemma((3, 1, 1), 3, variant="fixed").tau


def test_tau_by_hand():
    # [2, 1], n = 1. fixed: pibar uniform on {2/3, 1/3}; tau_1 = E[a^2]/E[a] = (5/18)/(1/2) = 5/9.
    # iid: D(0) in {1/2 (prob 1/2), 2/3, 1/3 (1/4 each)}; tau_1 = (1/8+1/9+1/36)/(1/2) = 19/36,
    # tau_0 = E[a(1-a)]/E[1-a] = (1/8 + 1/18 + 1/18)/(1/2) = 17/36.
    assert posterior_lemma((2, 1), 1, variant="fixed").tau == (Fraction(4, 9), Fraction(5, 9))
    assert posterior_lemma((2, 1), 1, variant="iid").tau == (Fraction(17, 36), Fraction(19, 36))


def test_wrong_pibar_breaks_the_iid_lemma():
    # iid model, tau from the fixed pibar (the large-N approximation): by hand (test_tau_by_hand)
    # the residuals are 17/36 - 4/9 = 1/36 and 19/36 - 5/9 = -1/36.
    r = posterior_lemma((2, 1), 1, variant="iid", marginal=prior_marginal((2, 1), variant="fixed"))
    assert r.residuals == (Fraction(1, 36), Fraction(-1, 36))
    assert not r.holds
    assert r.max_deviation == Fraction(1, 36)


def test_prior_marginal_iid_equals_law_of_enumerated_d():
    # two independent routes to pibar^N: convolution of N - 1 draws vs enumeration of all K^N draws
    for values in [(3, 1, 1), (4, 2, 1, 1), (2, 1)]:
        law: defaultdict[Fraction, Fraction] = defaultdict(Fraction)
        for d, p in distribution_law(values, variant="iid").items():
            law[d[0]] += p
        assert dict(law) == prior_marginal(values, variant="iid")


def test_prior_marginal_fixed_is_uniform_over_normalised_list():
    assert prior_marginal((3, 1, 1), variant="fixed") == {
        Fraction(3, 5): Fraction(1, 3),
        Fraction(1, 5): Fraction(2, 3),
    }


def test_distribution_law_sums_to_one():
    for variant in VARIANTS:
        law = distribution_law((4, 2, 1, 1), variant=variant)
        assert sum(law.values()) == 1
        assert all(sum(d) == 1 for d in law)


def test_sample_table_matches_sequences():
    # independent route: every ordered sequence S in X^n, grouped by its counts
    values, n = (3, 1, 1), 3
    for variant in VARIANTS:
        table = sample_table(values, n, variant=variant)
        prob: defaultdict[tuple, Fraction] = defaultdict(Fraction)
        mass: defaultdict[tuple, list] = defaultdict(lambda: [Fraction(0)] * 3)
        for d, p_d in distribution_law(values, variant=variant).items():
            for seq in product(range(3), repeat=n):
                c = tuple(seq.count(x) for x in range(3))
                w = p_d
                for x in seq:
                    w *= d[x]
                prob[c] += w
                for x in range(3):
                    mass[c][x] += w * d[x]
        assert dict(zip(table.counts, table.prob, strict=True)) == dict(prob)
        assert {c: list(m) for c, m in zip(table.counts, table.mass, strict=True)} == dict(mass)
        assert sum(table.prob) == 1


def test_count_vectors_and_multinomial():
    vecs = list(count_vectors(3, 3))
    assert len(vecs) == 10  # C(5, 2)
    assert sum(multinomial(c) for c in vecs) == 3**3


def test_symbolic_lemma_cancels_to_zero():
    # the lemma for every prior of 3 points, n = 2 (fixed variant): sympy residuals are 0
    res = posterior_lemma_symbolic(3, 2)
    assert len(res) == 3
    assert all(sympy.simplify(r) == 0 for r in res)


def test_symbolic_lemma_matches_numeric_instance():
    # the symbolic tau_1 evaluated at p = (3, 1, 1) equals the exact enumeration's 13/35 (n = 2)
    assert posterior_lemma((3, 1, 1), 2, variant="fixed").tau[1] == Fraction(13, 35)
    law = prior_marginal((3, 1, 1), variant="fixed")
    assert tau_exact(law, 2, 1) == Fraction(13, 35)


def test_posterior_given_sample_by_hand():
    # [3, 1, 1], fixed, n = 2, S has counts (1, 1, 0): the orders (3,1,1), (1,3,1), (1,1,3)/5 have
    # posterior weights 3 : 3 : 1, so E[D(2) | S] = (3/5 + 3/5 + 3/5) / 7 = 9/35, while
    # tau_0 = E[a(1-a)^2] / E[(1-a)^2] = (44/375) / (12/25) = 11/45; difference 4/315.
    r = posterior_given_sample((3, 1, 1), 2, variant="fixed")
    assert r.max_deviation == Fraction(4, 315)
    table = sample_table((3, 1, 1), 2, variant="fixed")
    i = table.counts.index((1, 1, 0))
    assert table.posterior(i, 2) == Fraction(9, 35)
    assert tau_exact(prior_marginal((3, 1, 1), variant="fixed"), 2, 0) == Fraction(11, 45)
    assert table.posterior(i, 0) == Fraction(13, 35)  # seen once: equals tau_1 here


@pytest.mark.parametrize("variant", VARIANTS)
def test_posterior_given_sample_exact_for_two_points(variant):
    # N = 2: the other count is n - c_x, so conditioning on S is conditioning on c_x
    for n in NS:
        assert posterior_given_sample((2, 1), n, variant=variant).max_deviation == 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_posterior_given_sample_not_exact_for_three_points(variant):
    r = posterior_given_sample((3, 1, 1), 3, variant=variant)
    assert r.max_deviation > 0
    np.testing.assert_allclose(
        float(r.max_deviation), {"fixed": 0.0242424, "iid": 0.0075884}[variant], rtol=1e-4
    )


@pytest.mark.parametrize(
    ("values", "variant", "n"),
    [
        ((), "fixed", 1),
        ((1, 0), "iid", 1),
        ((0, 0), "fixed", 1),
        ((1, 1), "fixed", 0),
        ((1, 1), "both", 1),
        ((1.5, 1), "fixed", 1),
        ((1,) * 7, "fixed", 1),
        ((1, -1), "fixed", 1),
        ((1, 1), "fixed", 9),
    ],
)
def test_invalid_input_raises(values, variant, n):
    with pytest.raises(ValueError, match="values|variant|n must"):
        posterior_lemma(values, n, variant=variant)


def test_tau_exact_rejects_out_of_range_ell():
    with pytest.raises(ValueError, match="ell must"):
        tau_exact({Fraction(1, 2): Fraction(1)}, 2, 3)
    with pytest.raises(ValueError, match="never seen"):
        tau_exact({Fraction(1): Fraction(1)}, 2, 1)


def test_symbolic_rejects_large_sizes():
    with pytest.raises(ValueError, match="symbolic check sizes"):
        posterior_lemma_symbolic(5, 2)


def test_zero_entries():
    # fixed variant allows zero frequencies: [2, 1, 0] still satisfies the lemma exactly,
    # while [1, 0] never sees a point once in two draws, so conditioning on it is refused
    assert posterior_lemma((2, 1, 0), 3, variant="fixed").holds
    with pytest.raises(ValueError, match="never seen l = 1 times"):
        posterior_lemma((1, 0), 2, variant="fixed")
