"""simulations.training.ridge_heads: closed-form ridge heads on a principal-component basis.

References: the textbook ridge solution computed directly on the subset (numpy float64 solve of
the normal equations), its invariance under rotations of the features (all components kept:
the same predictions as ridge on the standardised features, :func:`ridge_accuracy`), and the
first-order condition of the calibrated temperature.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.data.patches import ridge_accuracy
from simulations.estimators import subset_masks
from simulations.training.ridge_heads import (
    calibrate_beta,
    label_probability,
    ridge_basis,
    ridge_head,
    ridge_heads,
)


def _data(n=120, m=40, d=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, d)) * 2
    y, yt = rng.integers(0, classes, n), rng.integers(0, classes, m)
    x = centres[y] + rng.normal(size=(n, d)) * rng.uniform(0.5, 3, d)
    xt = centres[yt] + rng.normal(size=(m, d)) * rng.uniform(0.5, 3, d)
    return x, y, xt, yt


def _direct(z, y, keep, lam, classes):
    zs = z[keep].astype(np.float64)
    onehot = np.eye(classes)[y[keep]]
    return np.linalg.solve(zs.T @ zs + lam * keep.sum() * np.eye(z.shape[1]), zs.T @ onehot)


@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.9])  # Gram from the subset, and from its complement
def test_head_is_the_ridge_solution_on_its_subset(ratio):
    x, y, xt, yt = _data()
    basis = ridge_basis(x, xt, components=8)
    keep = subset_masks(len(y), 2, ratio=ratio, rng=np.random.default_rng(1))[0]
    w = ridge_head(basis, y, keep, lam=0.01, classes=3)
    ref = _direct(basis.z_train, y, keep, 0.01, 3)
    np.testing.assert_allclose(w, ref, rtol=2e-4, atol=2e-5 * np.abs(ref).max())  # float32 Gram


def test_all_components_give_ridge_on_the_standardised_features():
    # ridge is invariant under rotations of its inputs: keeping every component is plain ridge
    x, y, xt, yt = _data(n=300, m=200, seed=3)
    basis = ridge_basis(x, xt, components=x.shape[1])
    w = ridge_head(basis, y, np.ones(len(y), dtype=bool), lam=0.01, classes=3)
    ours = float(((basis.z_test @ w).argmax(axis=1) == yt).mean())
    assert ours == ridge_accuracy(x, y, xt, yt, lam=0.01, classes=3)
    # the basis is orthogonal: its Gram matrix is diagonal, with n times the kept variances
    g = basis.gram[:-1, :-1].astype(np.float64)
    np.testing.assert_allclose(np.diag(g), len(y) * basis.variances, rtol=1e-4)
    assert np.abs(g - np.diag(np.diag(g))).max() < 1e-3 * np.diag(g).max()
    assert np.all(np.diff(basis.variances) <= 0)


def test_heads_score_every_example_and_do_not_depend_on_workers():
    x, y, xt, yt = _data(n=200, m=50, seed=5)
    basis = ridge_basis(x, xt, components=6)
    masks = subset_masks(len(y), 7, ratio=0.7, rng=np.random.default_rng(2))
    one = ridge_heads(basis, y, yt, masks, lam=0.01, beta=3.0, classes=3, workers=1)
    three = ridge_heads(basis, y, yt, masks, lam=0.01, beta=3.0, classes=3, workers=3)
    for k in one:
        assert np.array_equal(one[k], three[k]), k
    w = ridge_head(basis, y, masks[4], lam=0.01, classes=3)
    f = basis.z_test @ w
    assert np.array_equal(one["correct_test"][4], f.argmax(axis=1) == yt)
    np.testing.assert_allclose(one["prob_test"][4], label_probability(f, yt, 3.0), rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.floats(0.05, 20.0))
def test_label_probabilities_sum_to_one(seed, beta):
    f = np.random.default_rng(seed).normal(size=(9, 4)) * 30
    total = sum(label_probability(f, np.full(9, c), beta) for c in range(4))
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)


def test_calibrated_beta_sets_the_likelihood_gradient_to_zero():
    # d/d beta of the mean log-likelihood is mean(f_y - E_p[f]); zero at the maximum
    rng = np.random.default_rng(4)
    f = rng.normal(size=(5000, 5))
    true_beta = 2.5
    p = np.exp(true_beta * f)
    p /= p.sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((5000, 1))).argmax(axis=1)
    beta = calibrate_beta(f, y)
    q = np.exp(beta * f)
    q /= q.sum(axis=1, keepdims=True)
    grad = np.mean(f[np.arange(5000), y] - (q * f).sum(axis=1))
    assert abs(grad) < 1e-4
    # and the maximum-likelihood estimate lies near the truth: SE about 1/sqrt(n * Fisher info)
    fisher = np.mean((q * f * f).sum(axis=1) - (q * f).sum(axis=1) ** 2)
    assert abs(beta - true_beta) < 5 / np.sqrt(5000 * fisher)


def test_bad_input_names_the_parameter():
    x, y, xt, yt = _data()
    with pytest.raises(ValueError, match="components"):
        ridge_basis(x, xt, components=13)
    with pytest.raises(ValueError, match="features must be"):
        ridge_basis(x, xt[:, :3], components=2)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ridge_basis(bad, xt, components=2)
    basis = ridge_basis(x, xt, components=4)
    with pytest.raises(ValueError, match="keep"):
        ridge_head(basis, y, np.zeros(len(y), dtype=bool), lam=0.1, classes=3)
    with pytest.raises(ValueError, match="masks must be"):
        ridge_heads(basis, y, yt, np.ones((2, 5), dtype=bool), lam=0.1, beta=1.0, classes=3)
    with pytest.raises(ValueError, match="beta"):
        ridge_heads(basis, y, yt, np.ones((2, len(y)), dtype=bool), lam=0.1, beta=0.0, classes=3)


def test_fewer_examples_than_features_give_the_same_axes():
    # the n x n Gram route against the d x d covariance route (taken for n >= d), on one data set
    rng = np.random.default_rng(9)
    x = rng.normal(size=(40, 90)) * rng.uniform(0.2, 3.0, 90)
    from simulations.training import ridge_heads as rh

    a = (x - x.mean(axis=0)) / x.std(axis=0)
    vals, v = rh._principal_axes(a, 12)
    cov_vals, cov_vecs = np.linalg.eigh(a.T @ a / len(a))
    ref_vals = cov_vals[::-1][:12]
    ref = cov_vecs[:, ::-1][:, :12]
    ref = ref * np.where(ref[np.abs(ref).argmax(axis=0), np.arange(12)] < 0, -1.0, 1.0)
    np.testing.assert_allclose(vals, ref_vals, rtol=1e-10)
    np.testing.assert_allclose(v, ref, atol=1e-8)
    basis = ridge_basis(x, x[:5], components=12)
    np.testing.assert_allclose(basis.variances, ref_vals, rtol=1e-10)
