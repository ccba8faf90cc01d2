"""Learners of the Feldman simulation: exact memorization against refitting, limits, privacy."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from simulations.feldman import LabelPrior, Posterior, parse_learner, sample_batch

SPECS = (
    "memorize-all",
    "fit-seen>=2",
    "fit-seen>=3",
    "mem-limit=0.3",
    "label-dp=1.2",
    "keep-top-4",
    "majority-class",
)


def _remove(b, row, t):
    """The batch with one example (label t) at seen row ``row`` removed."""
    K = b.K.copy()
    K[row, t] -= 1
    ell = b.ell.copy()
    ell[row] -= 1
    counts = b.counts.copy()
    counts[b.trial[row], b.point[row]] -= 1
    keep = ell > 0
    return dataclasses.replace(
        b, counts=counts, K=K[keep], ell=ell[keep], trial=b.trial[keep], point=b.point[keep]
    ), keep


def _law_at(b, pred, trial, point):
    rows = np.flatnonzero((b.trial == trial) & (b.point == point))
    return pred.seen[rows[0]] if rows.size else pred.unseen[trial, b.block[point]]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize(
    "labels",
    [
        LabelPrior(3),
        LabelPrior(3, kappa=0.6),
        LabelPrior(3, skew=1.0, kappa=0.8),
        LabelPrior(3, block_size=3, rho=0.7),
    ],
    ids=["uniform", "noisy", "skewed-noisy", "blocks"],
)
def test_memorization_equals_refitting_without_the_example(spec, labels):
    # mem(A, S, i) = P[h(x_i) = y_i | A(S)] - P[h(x_i) = y_i | A(S \ i)] (docs/references.md §1.3), the second
    # term computed by actually running the learner on S without example i.
    prior = theory.zipf(12, 1.0)
    b = sample_batch(prior, 15, labels, trials=2, rng=np.random.default_rng(7))
    L = parse_learner(spec)
    pred = L.predict(b, Posterior(b))
    checked = 0
    for row in range(b.ell.size):
        for t in np.flatnonzero(b.K[row]):
            b2, _ = _remove(b, row, t)
            pred2 = L.predict(b2, Posterior(b2))
            after = _law_at(b2, pred2, b.trial[row], b.point[row])[t]
            np.testing.assert_allclose(pred.mem[row, t], pred.seen[row, t] - after, atol=1e-12)
            checked += 1
    assert checked >= 10


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    gamma=st.floats(0.0, 1.0),
    m=st.integers(2, 6),
    skew=st.sampled_from([0.0, 1.0]),
)
def test_memorization_limited_learner_respects_gamma_without_noise(seed, gamma, m, skew):
    b = sample_batch(
        theory.zipf(50, 1.2), 200, LabelPrior(m, skew=skew), trials=3, rng=np.random.default_rng(seed)
    )
    pred = parse_learner(f"mem-limit={gamma!r}").predict(b, Posterior(b))
    assert np.where(b.K > 0, pred.mem, -np.inf).max() <= gamma + 1e-12


def test_memorization_limited_learner_is_tight_on_singletons():
    # uniform labels: P[h(x) = y] = 1/m + gamma at a singleton, so mem = gamma exactly (Feldman's
    # cost tau_1 E[#S_1] (1 - 1/m - gamma) is attained)
    b = sample_batch(theory.zipf(400), 300, LabelPrior(10), trials=2, rng=np.random.default_rng(0))
    pred = parse_learner("mem-limit=0.25").predict(b, Posterior(b))
    single = b.ell == 1
    y = b.f[b.trial, b.point][single]
    np.testing.assert_allclose(pred.seen[single, y], 0.35, rtol=1e-12)
    np.testing.assert_allclose(pred.mem[single, y], 0.25, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    K=st.lists(st.integers(0, 6), min_size=2, max_size=5),
    a=st.integers(0, 4),
    c=st.integers(0, 4),
    eps=st.floats(0.0, 5.0),
)
def test_label_dp_learner_is_eps_label_private(K, a, c, eps):
    # changing one label a -> c at a point changes every output probability by a factor <= e^eps
    m = len(K)
    a, c = a % m, c % m
    if K[a] == 0:
        K[a] = 1
    Kp = list(K)
    Kp[a] -= 1
    Kp[c] += 1
    w = np.ones(m) / m
    law = lambda k: (lambda z: z / z.sum())(w * np.exp(0.5 * eps * (np.array(k) - max(k))))  # noqa: E731
    p, q = law(K), law(Kp)
    assert np.all(p <= np.exp(eps) * q * (1 + 1e-12)) and np.all(q <= np.exp(eps) * p * (1 + 1e-12))
    # and the learner computes exactly this law
    b = sample_batch(theory.zipf(5), 3, LabelPrior(m), trials=1, rng=np.random.default_rng(0))
    b = dataclasses.replace(
        b, K=np.array([K]), ell=np.array([sum(K)]), trial=np.zeros(1, int), point=np.zeros(1, int)
    )
    if sum(K):
        np.testing.assert_allclose(
            parse_learner(f"label-dp={eps!r}").predict(b, Posterior(b)).seen[0], p, rtol=1e-9
        )


def test_compressed_keeps_the_most_frequent_points():
    b = sample_batch(theory.zipf(300, 1.0), 600, LabelPrior(4), trials=3, rng=np.random.default_rng(2))
    pred = parse_learner("keep-top-20").predict(b, Posterior(b))
    fitted = pred.seen.max(axis=1) == 1.0
    for t in range(3):
        rows = b.trial == t
        assert fitted[rows].sum() == min(20, rows.sum())
        assert b.ell[rows & fitted].min() >= b.ell[rows & ~fitted].max()


@pytest.mark.parametrize(
    "spec, match",
    [
        ("fit-seen>=0", "k must be"),
        ("mem-limit=-1", "gamma"),
        ("label-dp=nan", "epsilon"),
        ("keep-top-x", "bad learner"),
        ("knn", "unknown learner"),
    ],
)
def test_bad_learner_names(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_learner(spec)
