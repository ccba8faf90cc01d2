"""Tests for proofs_check.main_bound: Feldman's main bound, exactly, on tiny instances."""

from __future__ import annotations

from fractions import Fraction
from itertools import permutations, product

import numpy as np
import pytest

from proofs_check.enumeration import normalised_list, prior_marginal, tau_exact
from proofs_check.main_bound import (
    DEFAULT_LEARNERS,
    Learner,
    capacity_limited,
    constant,
    flip_singletons,
    main_bound,
    memorize_all,
    memorize_most_frequent,
    skip_seen_at_most,
    theory_costs,
)

INSTANCES = [
    ((3, 1, 1), 3, "fixed"),
    ((4, 2, 1, 1), 4, "fixed"),
    ((3, 1, 1), 3, "iid"),
    ((4, 2, 1, 1), 4, "iid"),
]
LOCAL = [a for a in DEFAULT_LEARNERS if a.local]


@pytest.mark.parametrize(("values", "n", "variant"), INSTANCES)
@pytest.mark.parametrize("learner", LOCAL, ids=lambda a: a.name)
def test_local_learners_meet_the_bound_with_equality(values, n, variant, learner):
    # the count-only posterior lemma makes the expectation form an identity for local learners
    r = main_bound(values, n, learner, variant=variant)
    assert r.identity_residual == 0
    assert r.gap == 0
    assert r.err >= r.opt


@pytest.mark.parametrize(("values", "n", "variant"), INSTANCES)
@pytest.mark.parametrize("learner", DEFAULT_LEARNERS, ids=lambda a: a.name)
def test_identity_holds_for_every_learner(values, n, variant, learner):
    # err(A) = opt + E_S[sum over seen x of E[D(x)|S] P(h(x) != y_x)]: uniform labels make every
    # prediction on an unseen point cost 1 - 1/m
    r = main_bound(values, n, learner, variant=variant)
    assert r.identity_residual == 0
    assert r.err >= r.opt


def test_opt_by_hand():
    # [3, 1, 1], fixed, n = 3, m = 2: opt = (1/2) * N * E[a (1-a)^3]
    # = (1/2) (3/5 (2/5)^3 + 2 * 1/5 (4/5)^3) = (1/2)(24 + 128)/625 = 76/625
    r = main_bound((3, 1, 1), 3, memorize_all(), variant="fixed")
    assert r.opt == Fraction(76, 625)
    assert r.err == r.opt  # memorize-all is Bayes-optimal


@pytest.mark.parametrize(("values", "n", "variant"), INSTANCES)
def test_constant_learner_errs_half_the_time(values, n, variant):
    # label 0 is wrong with probability 1/2 at every point, whatever D and S
    assert main_bound(values, n, constant(0), variant=variant).err == Fraction(1, 2)


def _brute_force_gap(values, n, predict, m=2):
    """err - opt - sum_l tau_l E[errn_l] over every order of D, every sequence S and labeling f.

    Written without proofs_check.enumeration's tables: a check of main_bound by another route
    (fixed variant).
    """
    q = normalised_list(values)
    N = len(q)
    orders = list(permutations(range(N)))
    law = prior_marginal(values, variant="fixed")
    tau = [tau_exact(law, n, ell) for ell in range(n + 1)]
    err = opt = Fraction(0)
    errn = [Fraction(0)] * (n + 1)
    for order in orders:
        d = [q[i] for i in order]
        for seq in product(range(N), repeat=n):
            p_s = Fraction(1, len(orders))
            for x in seq:
                p_s *= d[x]
            c = tuple(seq.count(x) for x in range(N))
            opt += p_s * Fraction(m - 1, m) * sum(d[x] for x in range(N) if c[x] == 0)
            for f in product(range(m), repeat=N):
                w = p_s / m**N
                pred = predict(c, tuple(f[x] if c[x] else None for x in range(N)), m)
                for x in range(N):
                    miss = 1 - pred[x][f[x]]
                    err += w * d[x] * miss
                    if c[x]:
                        errn[c[x]] += w * miss
    return err - opt - sum(t * e for t, e in zip(tau[1:], errn[1:], strict=True))


def test_most_frequent_only_violates_the_expectation_form():
    # finding: a learner that fits only the most frequent points beats the constant-tau bound.
    # [3, 1, 1], n = 3: it skips a singleton only in data sets with counts {2, 1, 0}, where the
    # singleton's posterior frequency is below tau_1 = 17/55 (in {1, 1, 1} it is 1/3 > tau_1).
    r = main_bound((3, 1, 1), 3, memorize_most_frequent(), variant="fixed")
    assert r.gap == Fraction(-36, 6875)
    assert r.err == Fraction(133, 625)
    assert r.rhs == Fraction(1499, 6875)
    assert _brute_force_gap((3, 1, 1), 3, memorize_most_frequent().predict) == Fraction(-36, 6875)


def test_capacity_learner_is_the_complement():
    # capacity-2 skips singletons exactly in the {1, 1, 1} data sets, most-frequent-only in the
    # {2, 1, 0} ones; together they are skip-seen<=1, whose gap is 0, so the gaps cancel.
    cap = main_bound((3, 1, 1), 3, capacity_limited(2), variant="fixed")
    top = main_bound((3, 1, 1), 3, memorize_most_frequent(), variant="fixed")
    assert cap.gap == Fraction(36, 6875)
    assert cap.gap + top.gap == 0
    assert _brute_force_gap((3, 1, 1), 3, capacity_limited(2).predict) == Fraction(36, 6875)


@pytest.mark.parametrize(
    "learner", [skip_seen_at_most(1), flip_singletons(Fraction(1, 3))], ids=lambda a: a.name
)
def test_brute_force_agrees_for_local_learners(learner):
    assert _brute_force_gap((3, 1, 1), 3, learner.predict) == 0
    assert main_bound((3, 1, 1), 3, learner, variant="fixed").gap == 0


@pytest.mark.parametrize(("values", "n", "variant"), INSTANCES)
def test_most_frequent_only_sign_in_every_instance(values, n, variant):
    assert main_bound(values, n, memorize_most_frequent(), variant=variant).gap < 0
    assert main_bound(values, n, capacity_limited(2), variant=variant).gap > 0


@pytest.mark.parametrize(("values", "n", "variant"), INSTANCES)
def test_per_sample_form_fails_for_skip_singletons(values, n, variant):
    # E[D(x)|S] != tau_{c_x}: some data set has err(A|S) < opt(|S) + sum_l tau_l errn_S(A, l)
    r = main_bound(values, n, skip_seen_at_most(1), variant=variant)
    assert r.min_sample_slack < 0
    assert main_bound(values, n, memorize_all(), variant=variant).min_sample_slack == 0


@pytest.mark.parametrize(("values", "n", "variant"), INSTANCES)
def test_matches_theory(values, n, variant):
    # theory/ floats: opt_error and cost_unfit(up_to = 1, 2) = err(skip-seen<=L) - opt
    floats = theory_costs(values, n, variant=variant)
    exact = [main_bound(values, n, memorize_all(), variant=variant).opt]
    for L in (1, 2):
        r = main_bound(values, n, skip_seen_at_most(L), variant=variant)
        exact.append(r.err - r.opt)
        # cost_unfit is sum_{l<=L} tau_l E[#seen l times](1 - 1/m) = sum_l tau_l E[errn_l]
        assert r.err - r.opt == sum(t * e for t, e in zip(r.tau, r.errn, strict=True))
    np.testing.assert_allclose(
        [floats["opt"], floats["skip<=1"], floats["skip<=2"]], [float(x) for x in exact], rtol=1e-9
    )


def test_three_classes():
    # m = 3 on [3, 1, 1], n = 2: local learners still meet the bound with equality
    for learner in (memorize_all(), skip_seen_at_most(1), flip_singletons(Fraction(1, 2)), constant(2)):
        r = main_bound((3, 1, 1), 2, learner, m=3, variant="fixed")
        assert r.gap == 0
        assert r.identity_residual == 0
    assert main_bound((3, 1, 1), 2, constant(2), m=3, variant="fixed").err == Fraction(2, 3)
    np.testing.assert_allclose(
        float(main_bound((3, 1, 1), 2, memorize_all(), m=3, variant="fixed").opt),
        theory_costs((3, 1, 1), 2, m=3)["opt"],
        rtol=1e-9,
    )


def test_invalid_input():
    with pytest.raises(ValueError, match="m must"):
        main_bound((3, 1, 1), 2, memorize_all(), m=1)
    with pytest.raises(ValueError, match="variant must"):
        main_bound((3, 1, 1), 2, memorize_all(), variant="poisson")
    with pytest.raises(ValueError, match="L must"):
        skip_seen_at_most(0)
    with pytest.raises(ValueError, match="budget must"):
        capacity_limited(0)
    with pytest.raises(ValueError, match="prob must"):
        flip_singletons(Fraction(3, 2))
    bad = Learner("bad", lambda c, y, m: tuple((Fraction(1),) * m for _ in c), True, "not a distribution")
    with pytest.raises(ValueError, match="learner bad"):
        main_bound((2, 1), 1, bad)
