"""The Gaussian-mixture generator and its Bayes error: conventions, laws within standard errors,
closed-form Bayes errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import theory
from simulations.gaussian import (
    GaussianMixture,
    bayes_error,
    make_mixture,
    min_separation_over_scale,
    sample,
)

K_SE = 5.0  # statistical tests compare against K_SE standard errors


def _two_clusters(means, freqs, labels, classes=2, scale=1.0, noise=0.0):
    return GaussianMixture(
        np.asarray(means, float), np.asarray(freqs, float), np.asarray(labels), classes, scale, noise
    )


# ------------------------------------------------------------------------------ make_mixture
def test_sphere_placement_and_fixed_variant_frequencies():
    # the fixed variant of theory.priors: the normalised list, randomly permuted over clusters
    prior = theory.zipf(30, 1.0)
    mix = make_mixture(prior, 4, 3, scale=0.2, separation=2.5, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(mix.means, axis=1), 2.5, rtol=1e-12)
    np.testing.assert_allclose(np.sort(mix.frequencies)[::-1], prior.normalized(), rtol=1e-12)
    assert not np.all(np.diff(mix.frequencies) <= 0)  # permuted, not left in decreasing order
    assert mix.labels.min() >= 0 and mix.labels.max() < 3 and mix.N == 30 and mix.dim == 4


def test_grid_placement_spacing_is_separation():
    # N = 10 in 2-d: g = 4 (3^2 = 9 < 10), the first 10 points of {0..3}^2 in lexicographic
    # order, so neighbouring means are exactly `separation` apart and the largest digit is 3
    mix = make_mixture(
        np.ones(10), 2, 2, scale=0.25, separation=1.5, placement="grid", rng=np.random.default_rng(1)
    )
    assert min_separation_over_scale(mix) == pytest.approx(1.5 / 0.25, rel=1e-12)
    np.testing.assert_allclose(mix.means.mean(axis=0), 0.0, atol=1e-12)
    steps = mix.means / 1.5 - (mix.means / 1.5).min(axis=0)
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-12)  # integer lattice coordinates
    assert np.round(steps).max() == 3.0


def test_same_rng_state_same_mixture():
    a = make_mixture(np.ones(5), 3, 2, scale=1.0, rng=np.random.default_rng(7))
    b = make_mixture(np.ones(5), 3, 2, scale=1.0, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.means, b.means)
    np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("seed", range(5))
def test_position_labels_agree_with_nearest_cluster(seed):
    # position labels are a cone partition, so the nearest other cluster usually shares the
    # label; with uniform labels it does so with probability 1/m = 0.25 (SE ~ 0.022 for N = 400)
    rng = np.random.default_rng(seed)
    share = {}
    for mode in ("uniform", "position"):
        mix = make_mixture(np.ones(400), 3, 4, scale=1.0, label_mode=mode, rng=rng)
        d = np.linalg.norm(mix.means[:, None] - mix.means[None], axis=2) + np.diag(np.full(400, np.inf))
        share[mode] = np.mean(mix.labels == mix.labels[d.argmin(axis=1)])
    assert share["uniform"] < 0.25 + K_SE * 0.022
    assert share["position"] > 0.75


# ------------------------------------------------------------------------------ sample
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_cluster_frequencies_within_multinomial_se(seed):
    rng = np.random.default_rng(seed)
    mix = make_mixture(theory.zipf(20, 1.0), 2, 3, scale=0.5, rng=rng)
    n = 20_000
    s = sample(mix, n, rng=rng)
    p = mix.frequencies
    se = np.sqrt(p * (1 - p) / n)  # multinomial marginal SE of each empirical frequency
    emp = np.bincount(s.cluster, minlength=mix.N) / n
    assert np.all(np.abs(emp - p) <= K_SE * se)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), noise=st.floats(0.0, 0.9), m=st.integers(2, 6))
def test_label_noise_rate_within_se(seed, noise, m):
    # P(y != own label) = noise (1 - 1/m): the replacement is uniform over all m classes
    rng = np.random.default_rng(seed)
    mix = make_mixture(np.ones(8), 3, m, scale=1.0, noise=noise, rng=rng)
    n = 20_000
    s = sample(mix, n, rng=rng)
    np.testing.assert_array_equal(s.clean, s.y == mix.labels[s.cluster])
    rate = noise * (1 - 1 / m)
    assert abs((~s.clean).mean() - rate) <= K_SE * np.sqrt(rate * (1 - rate) / n) + 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_cluster_scale_recovered(seed):
    # residuals x - mu_c are iid N(0, sigma^2) per coordinate: the mean square has SE sigma^2 sqrt(2 / (n d))
    rng = np.random.default_rng(seed)
    mix = make_mixture(np.ones(10), 6, 2, scale=0.7, rng=rng)
    s = sample(mix, 5_000, rng=rng)
    ms = np.mean((s.x - mix.means[s.cluster]) ** 2)
    assert abs(ms - 0.49) <= K_SE * 0.49 * np.sqrt(2 / (5_000 * 6))
    assert s.x.shape == (5_000, 6) and s.x.dtype == np.float64


# ------------------------------------------------------------------------------ bayes_error
@pytest.mark.parametrize("seed", range(3))
def test_bayes_error_separated_clusters_is_zero(seed):
    # means +-10 sigma apart on a line, equal weights: error Phi(-10) ~ 7.6e-24
    mix = _two_clusters([[10.0, 0.0], [-10.0, 0.0]], [0.5, 0.5], [0, 1])
    value, se = bayes_error(mix, samples=4_000, rng=np.random.default_rng(seed))
    assert 0.0 <= value < 1e-15 and se < 1e-15


@pytest.mark.parametrize("seed", range(3))
def test_bayes_error_two_gaussians_on_a_line(seed):
    # equal weights, means +-a, distinct labels: boundary at 0, error Phi(-a / sigma) (closed form)
    mix = _two_clusters([[1.0], [-1.0]], [0.5, 0.5], [0, 1], scale=0.8)
    value, se = bayes_error(mix, samples=20_000, rng=np.random.default_rng(seed))
    assert se > 0
    assert abs(value - norm.cdf(-1.0 / 0.8)) <= K_SE * se


@pytest.mark.parametrize("pi", [0.3, 0.5, 0.9])
def test_bayes_error_identical_means_is_min_pi(pi):
    # identical clusters with distinct labels: x carries no information, Bayes error min(pi)
    mix = _two_clusters([[0.0, 0.0, 0.0]] * 2, [pi, 1 - pi], [0, 1])
    value, se = bayes_error(mix, samples=1_000, rng=np.random.default_rng(0))
    np.testing.assert_allclose(value, min(pi, 1 - pi), atol=K_SE * se + 1e-12)


@pytest.mark.parametrize("noise,m", [(0.2, 2), (0.3, 4), (0.6, 10)])
def test_bayes_error_label_noise_on_separated_clusters(noise, m):
    # separated clusters: the Bayes classifier predicts the cluster label, wrong w.p. noise (1 - 1/m)
    mix = _two_clusters([[12.0, 0.0], [-12.0, 0.0]], [0.4, 0.6], [0, 1], classes=m, noise=noise)
    value, se = bayes_error(mix, samples=2_000, rng=np.random.default_rng(1))
    np.testing.assert_allclose(value, noise * (1 - 1 / m), atol=K_SE * se + 1e-12)


def test_bayes_error_chunking_agrees_within_se(monkeypatch):
    # processing the draws in chunks of 7 instead of one pass changes only which draws are
    # made: the two estimates agree within K_SE combined standard errors
    import simulations.gaussian.model as model

    mix = make_mixture(np.ones(50), 3, 3, scale=0.5, rng=np.random.default_rng(2))
    one, se1 = bayes_error(mix, samples=3_000, rng=np.random.default_rng(3))
    monkeypatch.setattr(model, "_CHUNK_ELEMENTS", 50 * 7)
    many, se2 = bayes_error(mix, samples=3_000, rng=np.random.default_rng(4))
    assert one > 0.05 and abs(one - many) <= K_SE * np.hypot(se1, se2)


def test_min_separation_over_scale_by_hand():
    # distances 5 (3-4-5 triangle), sqrt(65), 10: the minimum over sigma = 0.5 is 10
    mix = _two_clusters([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]], [0.2, 0.3, 0.5], [0, 1, 0], scale=0.5)
    assert min_separation_over_scale(mix) == pytest.approx(10.0, rel=1e-12)
    assert min_separation_over_scale(_two_clusters([[1.0]], [1.0], [0])) == np.inf


# ------------------------------------------------------------------------------ bad input
GOOD = dict(
    means=np.zeros((2, 2)), frequencies=np.array([0.5, 0.5]), labels=np.array([0, 1]), classes=2, scale=1.0
)


@pytest.mark.parametrize(
    "field,value",
    [
        ("means", np.zeros(2)),
        ("means", np.array([[np.nan, 0.0], [0.0, 0.0]])),
        ("frequencies", np.array([0.5, 0.6])),
        ("frequencies", np.array([1.5, -0.5])),
        ("frequencies", np.array([1.0])),
        ("labels", np.array([0, 2])),
        ("labels", np.array([0.0, 1.0])),
        ("classes", 1),
        ("scale", 0.0),
        ("scale", np.inf),
        ("noise", 1.0),
        ("noise", -0.1),
    ],
)
def test_mixture_bad_fields_raise(field, value):
    with pytest.raises(ValueError, match=field):
        GaussianMixture(**{**GOOD, field: value})


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(frequencies=[]), "frequencies"),
        (dict(frequencies=[-1.0, 2.0]), "frequencies"),
        (dict(frequencies=[0.0, 0.0]), "frequencies"),
        (dict(dim=0), "dim"),
        (dict(classes=1), "classes"),
        (dict(scale=0.0), "scale"),
        (dict(separation=-1.0), "separation"),
        (dict(placement="cube"), "placement"),
        (dict(label_mode="nearest"), "label_mode"),
        (dict(noise=1.0), "noise"),
    ],
)
def test_make_mixture_bad_input_raises(kwargs, name):
    args = dict(frequencies=[1.0, 1.0], dim=2, classes=2, scale=1.0)
    with pytest.raises(ValueError, match=name):
        make_mixture(**{**args, **kwargs}, rng=np.random.default_rng(0))


def test_sample_and_bayes_error_bad_counts_raise():
    mix = GaussianMixture(**GOOD)
    with pytest.raises(ValueError, match="n must"):
        sample(mix, -1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="samples"):
        bayes_error(mix, samples=1, rng=np.random.default_rng(0))
