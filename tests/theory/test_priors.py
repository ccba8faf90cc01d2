"""Tests for theory/priors.py: the frequency-prior constructors and their validation.

Each constructor's normalised list is compared with the same list built directly in numpy from
its definition (docstrings of theory/priors.py; docs/references.md §1.1).
"""

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import theory


def assert_normalised(prior, want_unnormalised):
    """prior.N, and its normalised list (decreasing) against want / sum(want), sorted the same way."""
    want = np.sort(np.asarray(want_unnormalised, dtype=np.float64))[::-1]
    want = want / want.sum()
    got = prior.normalized()
    assert prior.N == want.size
    assert got.shape == (prior.N,)
    assert np.all(np.diff(got) <= 0)
    np.testing.assert_allclose(got.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------- constructors
@settings(max_examples=40, deadline=None)
@given(
    N=st.integers(1, 2000),
    exponent=st.floats(0.0, 5.0),
    offset=st.one_of(st.just(0.0), st.floats(-0.99, 10.0)),
)
def test_zipf_matches_numpy(N, exponent, offset):
    # p_i = (i + offset)^(-exponent), i = 1..N
    i = np.arange(1, N + 1, dtype=np.float64)
    assert_normalised(theory.zipf(N, exponent, offset=offset), (i + offset) ** (-exponent))


def test_zipf_feldman_example():
    # Feldman's example (docs/references.md §1.4): p_i ~ 1/i, N = 50,000; q_N = 1/(N H_N).
    prior = theory.zipf(50_000)
    q = prior.normalized()
    harmonic = float(mp.harmonic(50_000))
    np.testing.assert_allclose(q[[0, -1]], [1 / harmonic, 1 / (50_000 * harmonic)], rtol=1e-12)


def test_zipf_exponent_beyond_float_range():
    # exponent 500: 2^-500 is fine, 5^-500 ~ 1e-350 underflows in numpy; the log store keeps it.
    prior = theory.zipf(10, 500.0)
    with mp.workdps(40):
        p = [mp.mpf(i) ** -500 for i in range(1, 11)]
        want = [float(mp.log(x / mp.fsum(p))) for x in p]
    np.testing.assert_allclose(prior.log_q, want, rtol=1e-13)
    assert prior.N == 10


def test_zipf_exponent_zero_is_uniform():
    prior = theory.zipf(7, 0.0)
    assert_normalised(prior, np.ones(7))


@pytest.mark.parametrize("N", [1, 2, 1000, 10**7])
def test_uniform(N):
    prior = theory.uniform(N)
    assert prior.N == N
    np.testing.assert_allclose(np.exp(prior.log_q), 1.0 / N, rtol=1e-14)
    if N <= 1000:
        assert_normalised(prior, np.ones(N))


@pytest.mark.parametrize(
    ("N", "heavy_fraction", "ratio", "heavy"),
    [(10, 0.3, 4.0, 3), (10, 0.0, 4.0, 0), (10, 1.0, 4.0, 10), (7, 0.5, 1.0, 4), (1000, 0.01, 1e6, 10)],
)
def test_two_point(N, heavy_fraction, ratio, heavy):
    # round(heavy_fraction * N) points of frequency ratio, the rest of frequency 1.
    prior = theory.two_point(N, heavy_fraction=heavy_fraction, ratio=ratio)
    assert_normalised(prior, [ratio] * heavy + [1.0] * (N - heavy))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.just(0.0), st.floats(1e-6, 1e6), st.integers(0, 10**6).map(float)),
        min_size=1,
        max_size=50,
    ).filter(lambda v: any(x > 0 for x in v))
)
def test_from_counts_matches_numpy(counts):
    prior = theory.from_counts(counts)
    assert_normalised(prior, counts)
    assert prior.num_zero == sum(1 for c in counts if c == 0)


def test_from_counts_accepts_arrays_and_names():
    prior = theory.from_counts(np.array([5, 0, 3, 3]), name="cifar")
    assert prior.N == 4
    assert "cifar" in prior.name
    np.testing.assert_allclose(prior.normalized(), [5 / 11, 3 / 11, 3 / 11, 0.0], rtol=1e-14)


@pytest.mark.parametrize(
    "dist",
    [stats.beta(0.5, 2), stats.expon(scale=2.0), stats.lognorm(1.0), stats.uniform(1.0, 3.0)],
    ids=["beta(0.5,2)", "expon", "lognorm", "uniform(1,4)"],
)
@pytest.mark.parametrize("N", [1, 10, 1000])
def test_from_density_is_the_quantile_list(dist, N):
    # K = N nodes: the midpoint quantiles F^-1((k - 1/2)/N), k = 1..N, one point each.
    want = dist.ppf((np.arange(N) + 0.5) / N)
    assert_normalised(theory.from_density(dist, N), want)


def test_from_density_fewer_nodes_spreads_the_points():
    # N = 10 on K = 4 nodes: 10 = 4*2 + 2, the 2 extra points go to the first and last node.
    dist = stats.beta(0.5, 2)
    nodes = dist.ppf((np.arange(4) + 0.5) / 4)
    want = np.repeat(nodes, [3, 2, 2, 3])
    assert_normalised(theory.from_density(dist, 10, nodes=4), want)


def test_from_density_default_nodes_keeps_N():
    # N above the default 65,536 nodes: the points are spread over the nodes, N is kept.
    prior = theory.from_density(stats.beta(0.5, 2), 100_000)
    assert prior.N == 100_000
    assert prior.log_values.size == 65_536
    assert prior.counts.sum() == 100_000 and set(np.unique(prior.counts)) == {1, 2}
    np.testing.assert_allclose(np.exp(prior.log_q) @ prior.weights, 1.0, rtol=1e-12)


def test_mixture_with_masses():
    # component j's points carry masses[j] / sum(masses) of the total frequency.
    z, u = theory.zipf(5), theory.uniform(3)
    prior = theory.mixture([z, u], masses=[1.0, 3.0])
    zq = (1 / np.arange(1, 6)) / (1 / np.arange(1, 6)).sum()
    assert_normalised(prior, np.concatenate([0.25 * zq, np.full(3, 0.75 / 3)]))


def test_mixture_without_masses_keeps_unnormalised_values():
    # zipf raw values 1/i and uniform raw values 1 (both unnormalised) side by side.
    prior = theory.mixture([theory.zipf(4), theory.uniform(2), theory.from_counts([7.0, 0.0])])
    assert_normalised(prior, [1, 1 / 2, 1 / 3, 1 / 4, 1, 1, 7, 0])
    assert prior.num_zero == 1


def test_mixture_zero_mass_component_is_never_drawn():
    prior = theory.mixture([theory.zipf(3), theory.uniform(4)], masses=[0.0, 2.0])
    assert prior.N == 7
    assert prior.num_zero == 3
    assert_normalised(prior, [0, 0, 0, 1, 1, 1, 1])


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 200), min_size=1, max_size=4),
    masses=st.lists(st.floats(1e-3, 1e3), min_size=4, max_size=4),
)
def test_mixture_masses_property(sizes, masses):
    comps = [theory.zipf(N, 1.0 + 0.1 * j) for j, N in enumerate(sizes)]
    masses = masses[: len(sizes)]
    prior = theory.mixture(comps, masses=masses)
    want = np.concatenate([m * c.normalized() for m, c in zip(masses, comps, strict=True)])
    assert_normalised(prior, want)


def test_prior_is_immutable_and_sorted():
    prior = theory.from_counts([1.0, 5.0, 3.0])
    np.testing.assert_array_equal(prior.log_values, np.log([5.0, 3.0, 1.0]))
    with pytest.raises(ValueError, match="read-only"):
        prior.log_values[0] = 0.0
    assert "N=3" in repr(prior)


# ---------------------------------------------------------------------- invalid input
NAN = float("nan")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: theory.zipf(0), r"^N must be an integer in \[1, inf\]; got 0"),
        (lambda: theory.zipf(-1), r"^N must be an integer in \[1, inf\]; got -1"),
        (lambda: theory.zipf(2.5), r"^N must be an integer; got 2.5"),
        (lambda: theory.zipf(True), r"^N must be an integer; got True"),
        (lambda: theory.zipf(10, -1.0), r"^exponent must be a finite number in \[0, inf\]; got -1.0"),
        (lambda: theory.zipf(10, NAN), r"^exponent must be a finite number in \[0, inf\]; got nan"),
        (lambda: theory.zipf(10, math.inf), r"^exponent must be a finite number"),
        (lambda: theory.zipf(10, "big"), r"^exponent must be a number; got 'big'"),
        (lambda: theory.zipf(10, offset=-1.0), r"^offset must be a finite number in \(-1, inf\]; got -1.0"),
        (lambda: theory.uniform(0), r"^N must be an integer in \[1, inf\]; got 0"),
        (lambda: theory.uniform(-1), r"^N must be"),
        (lambda: theory.two_point(0, heavy_fraction=0.5, ratio=2.0), r"^N must be"),
        (
            lambda: theory.two_point(10, heavy_fraction=1.5, ratio=2.0),
            r"^heavy_fraction must be a finite number in \[0, 1\]",
        ),
        (
            lambda: theory.two_point(10, heavy_fraction=0.5, ratio=0.5),
            r"^ratio must be a finite number in \[1, inf\]",
        ),
        (lambda: theory.two_point(10, heavy_fraction=0.5, ratio=NAN), r"^ratio must be"),
        (lambda: theory.from_counts([]), r"^counts: must be a nonempty 1-d list"),
        (lambda: theory.from_counts([[1.0, 2.0]]), r"^counts: must be a nonempty 1-d list"),
        (lambda: theory.from_counts([1.0, -2.0]), r"^counts: entries must be >= 0 \(found -2\)"),
        (lambda: theory.from_counts([1.0, NAN]), r"^counts: entries must be finite"),
        (lambda: theory.from_counts([1.0, math.inf]), r"^counts: entries must be finite"),
        (lambda: theory.from_counts([0.0, 0.0]), r"^counts: all entries are zero"),
        (lambda: theory.from_density(stats.beta(0.5, 2), 0), r"^N must be"),
        (
            lambda: theory.from_density(stats.beta(0.5, 2), 10, nodes=0),
            r"^nodes must be an integer in \[1, inf\]",
        ),
        (lambda: theory.from_density([0.1, 0.2], 10), r"^dist: must be a frozen scipy.stats distribution"),
        (lambda: theory.from_density(stats.norm(), 10), r"^dist: support must lie in \[0, inf\)"),
        (lambda: theory.mixture([]), r"^components: need at least one prior"),
        (
            lambda: theory.mixture([theory.zipf(3)], masses=[1.0, 2.0]),
            r"^masses: need one finite nonnegative",
        ),
        (lambda: theory.mixture([theory.zipf(3)], masses=[-1.0]), r"^masses: need one finite nonnegative"),
        (lambda: theory.mixture([theory.zipf(3)], masses=[NAN]), r"^masses: need one finite nonnegative"),
        (lambda: theory.mixture([theory.zipf(3)], masses=[0.0]), r"^masses: all zero"),
        (lambda: theory.FrequencyPrior(np.array([]), None, "x"), r"^prior: needs at least one frequency"),
        (
            lambda: theory.FrequencyPrior(np.array([0.0, NAN]), None, "x"),
            r"^prior: frequencies must be finite",
        ),
        (lambda: theory.FrequencyPrior(np.array([-np.inf]), None, "x"), r"^prior: frequencies are all zero"),
        (
            lambda: theory.FrequencyPrior(np.zeros(2), np.array([1, 0]), "x"),
            r"^prior: counts must be positive",
        ),
    ],
)
def test_invalid_arguments_raise_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
