"""Measurements on the Gaussian-mixture long tail (simulations/gaussian/measure.py): hand-computed
small cases (each expected number derived in the comment beside it), the coupling against a
direct per-example computation, and the expectation of opt(pi, F | S) against the theory."""

from collections import Counter

import numpy as np
import pytest

import theory
from simulations.gaussian import (
    KNN,
    accuracy_by_frequency,
    cluster_counts,
    coupling,
    coupling_by_multiplicity,
    errn_by_multiplicity,
    errn_contributions,
    frequency_bin,
    label_posterior,
    make_mixture,
    min_separation_over_scale,
    mixture_bound,
    opt_given_sample,
    sample,
)

K_SE = 5.0  # statistical tests compare against K_SE standard errors


# ------------------------------------------------------------------------------ counts
def test_cluster_counts_by_hand():
    # clusters [0, 2, 2, 4, 2] with N = 6: cluster 0 once, 2 three times, 4 once, the rest never
    np.testing.assert_array_equal(cluster_counts(np.array([0, 2, 2, 4, 2]), 6), [1, 0, 3, 0, 1, 0])


def test_cluster_counts_accepts_a_sample_and_rejects_bad_clusters():
    mix = make_mixture(np.ones(5), 2, 2, scale=0.1, rng=np.random.default_rng(0))
    s = sample(mix, 30, rng=np.random.default_rng(1))
    got = cluster_counts(s, 5)
    assert got.sum() == 30
    np.testing.assert_array_equal(got, np.bincount(s.cluster, minlength=5))
    with pytest.raises(ValueError, match="cluster must lie in"):
        cluster_counts(np.array([0, 5]), 5)
    with pytest.raises(ValueError, match="N must be"):
        cluster_counts(np.array([0]), 0)


# ------------------------------------------------------------------------------ posterior and opt
def test_label_posterior_by_hand():
    # m = 3, kappa = 0.6: an observed label is the cluster's own with s = 0.6 + 0.4/3 = 11/15 and
    # each other one with o = 0.4/3 = 2/15, so s / o = 5.5.
    # cluster 0: one label 0 -> posterior (5.5, 1, 1) / 7.5; cluster 1: labels 0 and 1 ->
    # (5.5, 5.5, 1) / 12; cluster 2 unseen -> uniform.
    post = label_posterior([0, 1, 1], [0, 0, 1], 3, 3, kappa=0.6)
    np.testing.assert_allclose(post[0], np.array([5.5, 1, 1]) / 7.5, rtol=1e-12)
    np.testing.assert_allclose(post[1], np.array([5.5, 5.5, 1]) / 12, rtol=1e-12)
    np.testing.assert_allclose(post[2], np.full(3, 1 / 3), rtol=1e-12)
    # kappa = 1: the observed label; kappa = 0: uniform (a label carries no information)
    np.testing.assert_array_equal(label_posterior([0, 0], [2, 2], 2, 3, kappa=1.0), [[0, 0, 1], [1 / 3] * 3])
    np.testing.assert_allclose(label_posterior([0], [1], 1, 4, kappa=0.0), [[0.25] * 4])


def test_opt_given_sample_by_hand():
    # frequencies (0.5, 0.3, 0.2), only cluster 0 seen, no noise, m = 4:
    # opt(pi, F | S) = (1 - 1/4) * (0.3 + 0.2) = 0.375
    post = label_posterior([0, 0], [1, 1], 3, 4, kappa=1.0)
    assert opt_given_sample([0.5, 0.3, 0.2], post) == pytest.approx(0.375, rel=1e-12)
    # with kappa = 0.6 and m = 3 (posteriors above): cluster 0 seen once -> 1 - 5.5/7.5 = 4/15
    post = label_posterior([0], [0], 2, 3, kappa=0.6)
    assert opt_given_sample([0.25, 0.75], post) == pytest.approx(0.25 * 4 / 15 + 0.75 * 2 / 3, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kappa", [1.0, 0.7])
def test_opt_given_sample_averages_to_theory_opt(seed, kappa):
    # E over (mixture, S) of opt(pi, F | S) = opt(pi, F) of theory.opt_error (fixed variant:
    # the normalised Zipf list randomly assigned; uniform labels; noise 1 - kappa). Monte Carlo
    # over 400 draws, compared within K_SE standard errors; passes for every seed tried (0..2).
    prior, n, m, draws = theory.zipf(50, 1.0), 40, 5, 400
    rng = np.random.default_rng(seed)
    vals = np.empty(draws)
    for k in range(draws):  # independent draws of (mixture, S)
        mix = make_mixture(prior, 1, m, scale=0.1, noise=1 - kappa, rng=rng)
        s = sample(mix, n, rng=rng)
        vals[k] = opt_given_sample(mix.frequencies, label_posterior(s.cluster, s.y, 50, m, kappa=kappa))
    se = vals.std(ddof=1) / np.sqrt(draws)
    assert se > 0
    assert abs(vals.mean() - theory.opt_error(prior, n, m, kappa=kappa).value) < K_SE * se


# ------------------------------------------------------------------------------ accuracy by frequency
def test_accuracy_by_frequency_by_hand():
    # n pi = 20 * (0.5, 0.3, 0.15, 0.05) = (10, 6, 3, 1); edges (0.5, 2, 5, 20): cluster 3 -> bin 0,
    # cluster 2 -> bin 1, clusters 0 and 1 -> bin 2.
    # bin 0: test points 6, 7 -> correct 1, 0 -> 1/2, SE sqrt(1/4 / 2) = 0.353553...
    # bin 1: test points 3, 4, 5 -> all correct -> 1, SE 0
    # bin 2: test points 0, 1, 2 -> correct 1, 0, 1 -> 2/3, SE sqrt((2/3)(1/3)/3) = sqrt(2/27)
    cl = np.array([0, 0, 1, 2, 2, 2, 3, 3])
    y = np.array([1, 1, 0, 2, 2, 2, 0, 1])
    pred = np.array([1, 0, 0, 2, 2, 2, 0, 0])
    fa = accuracy_by_frequency(pred, y, cl, [0.5, 0.3, 0.15, 0.05], 20, [0.5, 2, 5, 20])
    np.testing.assert_array_equal(fa.count, [2, 3, 3])
    np.testing.assert_array_equal(fa.correct, [1, 3, 2])
    np.testing.assert_allclose(fa.accuracy, [0.5, 1.0, 2 / 3], rtol=1e-12)
    np.testing.assert_allclose(fa.se, [np.sqrt(0.125), 0.0, np.sqrt(2 / 27)], rtol=1e-12)


def test_frequency_bins_end_bins_and_empty_bins():
    # n pi = 10 * (0.01, 0.2, 0.5, 20): 0.1 is below the first edge -> bin 0; 2 sits exactly on
    # an edge -> the bin to its right (bins are [e_b, e_b+1)); 5 -> bin 1; 200 is beyond the
    # last edge -> the last bin
    np.testing.assert_array_equal(frequency_bin([0.01, 0.2, 0.5, 20], 10, [1, 2, 10, 100]), [0, 1, 1, 2])
    fa = accuracy_by_frequency([0], [0], [0], [0.5, 0.5], 10, [1, 2, 10])  # n pi = 5 -> bin 1
    assert np.isnan(fa.accuracy[0]) and fa.count[0] == 0 and fa.accuracy[1] == 1.0
    with pytest.raises(ValueError, match="edges"):
        frequency_bin([0.5], 10, [1, 1, 2])
    with pytest.raises(ValueError, match="one shape"):
        accuracy_by_frequency([0, 1], [0], [0], [1.0], 10, [1, 2])


# ------------------------------------------------------------------------------ coupling
def test_coupling_deterministic_by_hand():
    # R = 1, F = 4. Example 0: h(x_0) = 0, fresh (0, 0, 1, 0) -> 3/4 alike; example 1: all
    # alike -> 1; example 2: h(x_2) = 2, no fresh point predicted 2 -> 0.
    # SE sqrt(lam (1 - lam) / F): sqrt(3/64), 0, 0.
    c = coupling([[0, 1, 2]], [[[0, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 1]]])
    np.testing.assert_allclose(c.value, [0.75, 1.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(c.se, [np.sqrt(3 / 64), 0.0, 0.0], rtol=1e-12, atol=0)
    assert (c.models, c.fresh) == (1, 4)


def test_coupling_randomized_by_hand():
    # R = 2 models: at x_0 the labels (0, 1) -> law (1/2, 1/2); at the fresh points all 0 ->
    # law (1, 0); TV = (1/2 + 1/2) / 2 = 1/2, lambda = 1/2. No SE for R > 1.
    c = coupling([[0], [1]], [[[0, 0]], [[0, 0]]])
    np.testing.assert_allclose(c.value, [0.5], rtol=1e-12)
    assert np.isnan(c.se).all()


def test_coupling_is_one_for_a_learner_constant_on_clusters():
    # R = 5 randomized learners, each a function of the cluster only: h_r(x) = g_r(c(x)); the
    # law of h(x_i) and of h(x') with x' from the same cluster are then identical -> lambda = 1
    rng = np.random.default_rng(3)
    R, n, F, N, m = 5, 50, 7, 12, 4
    c = rng.integers(N, size=n)
    g = rng.integers(m, size=(R, N))
    pt = g[:, c]
    pf = np.repeat(pt[:, :, None], F, axis=2)
    np.testing.assert_array_equal(coupling(pt, pf, classes=m).value, 1.0)


def test_coupling_is_one_for_1nn_on_well_separated_clusters():
    # 1-NN on noiseless, well-separated clusters (min distance between means / scale > 100):
    # a fresh draw's nearest training point is a cluster-mate, so h(x') = h(x_i) = the cluster's label
    rng = np.random.default_rng(4)
    mix = make_mixture(np.ones(20), 5, 3, scale=1e-3, separation=1.0, rng=rng)
    assert min_separation_over_scale(mix) > 100
    tr = sample(mix, 60, rng=rng)
    model = KNN(1, 3).fit(tr.x, tr.y)
    F = 6
    fresh = mix.means[tr.cluster][:, None, :] + mix.scale * rng.standard_normal((60, F, 5))
    pf = model.predict(fresh.reshape(-1, 5)).reshape(60, F)
    np.testing.assert_array_equal(coupling(model.predict(tr.x)[None], pf[None], classes=3).value, 1.0)


@pytest.mark.parametrize("seed", range(4))
def test_coupling_tv_matches_a_direct_computation(seed):
    # the reference: for each example, the two empirical laws counted with Counter and
    # TV = 1/2 sum_t |p_t - q_t|, one example at a time
    rng = np.random.default_rng(seed)
    R, n, F, m = 6, 9, 5, 4
    pt = rng.integers(m, size=(R, n))
    pf = rng.integers(m, size=(R, n, F))
    got = coupling(pt, pf, classes=m).value
    for i in range(n):  # the direct reference
        p, q = Counter(pt[:, i].tolist()), Counter(pf[:, i, :].ravel().tolist())
        tv = 0.5 * sum(abs(p[t] / R - q[t] / (R * F)) for t in range(m))
        assert got[i] == pytest.approx(1.0 - tv, abs=1e-12)


def test_coupling_rejects_bad_shapes():
    with pytest.raises(ValueError, match="pred_fresh must have shape"):
        coupling([[0, 1]], [[[0], [1], [0]]])
    with pytest.raises(ValueError, match="pred_train must have 2"):
        coupling([0, 1], [[[0], [1]]])


# ------------------------------------------------------------------------------ by multiplicity
def test_coupling_by_multiplicity_by_hand():
    # clusters 0, 1 seen once; 2, 3 twice; 4 three times
    lam = np.array([0.2, 0.4, 0.6, 1.0, 0.0, 0.5, 0.3, 0.3, 0.9])
    counts = np.array([1, 1, 2, 2, 2, 2, 3, 3, 3])
    cluster = np.array([0, 1, 2, 2, 3, 3, 4, 4, 4])
    r = coupling_by_multiplicity(lam, counts, 4, cluster=cluster)
    # means over examples: l=1 (0.2+0.4)/2 = 0.3; l=2 2.1/4 = 0.525; l=3 1.5/3 = 0.5; l=4 none
    np.testing.assert_allclose(r.mean[:3], [0.3, 0.525, 0.5], rtol=1e-12)
    assert np.isnan(r.mean[3])
    # SE over clusters: l=1 values 0.2, 0.4 -> sd 0.141421, SE 0.1; l=2 cluster means 0.8 and
    # 0.25 -> sd 0.55/sqrt(2), SE 0.275; l=3 a single cluster -> NaN
    np.testing.assert_allclose(r.se[:2], [0.1, 0.275], rtol=1e-12)
    assert np.isnan(r.se[2]) and np.isnan(r.se[3])
    np.testing.assert_array_equal(r.examples, [2, 4, 3, 0])
    np.testing.assert_array_equal(r.clusters, [2, 2, 1, 0])
    # without cluster ids every example is a unit: l=2 values (0.6, 1, 0, 0.5), squared
    # deviations from 0.525 sum to 0.5075 -> SE sqrt(0.5075/3/4); l=3 (0.3, 0.3, 0.9) -> SE 0.2
    r = coupling_by_multiplicity(lam, counts, 3)
    np.testing.assert_allclose(r.se, [0.1, np.sqrt(0.5075 / 12), 0.2], rtol=1e-12)


def test_errn_by_multiplicity_by_hand():
    # clusters 0 and 3 seen once, 1 twice, 2 three times
    cl = np.array([0, 1, 1, 2, 2, 2, 3])
    y = np.array([0, 1, 1, 2, 2, 2, 0])
    pred = np.array([1, 1, 0, 2, 0, 0, 0])
    # l=1: cluster 0 misfit (1/1), cluster 3 fit -> 1; l=2: cluster 1 one of 2 -> 1/2;
    # l=3: cluster 2 two of 3 -> 2/3; l=4: no cluster -> 0
    np.testing.assert_allclose(errn_by_multiplicity(pred, y, cl, 4), [1.0, 0.5, 2 / 3, 0.0], rtol=1e-12)
    np.testing.assert_allclose(errn_by_multiplicity(pred, y, cl, 2), [1.0, 0.5], rtol=1e-12)
    # two draws of h, the second fitting everything: every probability of a misfit halves
    both = np.stack([pred, y])
    np.testing.assert_allclose(errn_by_multiplicity(both, y, cl, 3), [0.5, 0.25, 1 / 3], rtol=1e-12)
    # contributions: misfit / l per example
    np.testing.assert_allclose(
        errn_contributions(pred, y, cl), [1, 0, 0.5, 0, 1 / 3, 1 / 3, 0], rtol=1e-12, atol=0
    )


def test_errn_confidence_weighted_by_hand():
    # kappa = 0.6, m = 3 (posteriors in test_label_posterior_by_hand). Cluster 0 seen once with
    # label 0, predicted 1: weight 5.5/7.5 - 1/7.5 = 0.6 = kappa (Feldman's conf of a singleton).
    # Cluster 1 seen twice with labels (0, 1), predicted (1, 2): example 1 fits a label of
    # maximal posterior -> 0; example 2 -> (5.5/12 - 1/12) / 2 = 0.1875.
    post = label_posterior([0, 1, 1], [0, 0, 1], 2, 3, kappa=0.6)
    got = errn_by_multiplicity([1, 1, 2], [0, 0, 1], [0, 1, 1], 2, posterior=post)
    np.testing.assert_allclose(got, [0.6, 0.1875], rtol=1e-12)
    # without noise the posterior is the observed label and both definitions agree
    cl, y, pred = np.array([0, 1, 1, 2]), np.array([2, 0, 0, 1]), np.array([2, 1, 0, 0])
    post = label_posterior(cl, y, 3, 3, kappa=1.0)
    np.testing.assert_allclose(
        errn_by_multiplicity(pred, y, cl, 2, posterior=post), errn_by_multiplicity(pred, y, cl, 2)
    )


# ------------------------------------------------------------------------------ the bound
def test_mixture_bound_by_hand():
    # terms: 0.5 * 0.01 * 10 = 0.05, 1.0 * 0.02 * 2 = 0.04, and l = 3 has errn 0 (its lambda is
    # NaN: no cluster seen 3 times) -> 0; excess 0.09, value opt + 0.09 = 0.19
    b = mixture_bound(0.1, [0.01, 0.02, 0.03], [10.0, 2.0, 0.0], [0.5, 1.0, np.nan])
    np.testing.assert_allclose(b.terms, [0.05, 0.04, 0.0], rtol=1e-12)
    assert b.excess == pytest.approx(0.09, rel=1e-12) and b.value == pytest.approx(0.19, rel=1e-12)


@pytest.mark.parametrize(
    "args, message",
    [
        ((0.1, [0.01], [1.0], [np.nan]), "lam must lie in"),
        ((0.1, [1.5], [1.0], [1.0]), "tau must lie in"),
        ((0.1, [0.1], [-1.0], [1.0]), "errn must be"),
        ((0.1, [0.1, 0.2], [1.0], [1.0]), "one length"),
        ((1.5, [0.1], [1.0], [1.0]), "opt must be"),
    ],
)
def test_mixture_bound_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        mixture_bound(*args)
