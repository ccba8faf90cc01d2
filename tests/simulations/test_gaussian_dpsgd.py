"""DP-SGD softmax regression (simulations/gaussian/dpsgd.py): closed-form clipped per-example
gradients against autograd, the clipping bound, Poisson batches and the expected-batch denominator,
the noise scale (Monte Carlo, k standard errors), and the label-DP translation of its guarantee."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from simulations.gaussian.dpsgd import (
    DPSGD,
    augment,
    clipped_gradient_sum,
    dpsgd_path,
    per_example_clipped_gradients,
)
from simulations.gaussian.label_dp import ceiling, group_delta, replace_one


def _problem(seed: int, n: int = 30, d: int = 7, m: int = 4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(m, size=n), rng.normal(size=(d + 1, m))


@pytest.mark.parametrize("seed", range(3))
def test_per_example_gradients_match_autograd(seed):
    # independent check: torch.func.vmap(grad) of the softmax cross-entropy at each example
    x, y, W = _problem(seed)
    xt = augment(x)

    def loss(w, xi, yi):
        return torch.nn.functional.cross_entropy((xi @ w)[None], yi[None])

    auto = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(
        torch.as_tensor(W), torch.as_tensor(xt), torch.as_tensor(y)
    ).numpy()
    huge = 1e12  # no clipping
    np.testing.assert_allclose(per_example_clipped_gradients(W, xt, y, huge), auto, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("clip", [0.05, 0.5, 3.0])
def test_clipping_bounds_every_gradient_and_the_closed_form_sums_them(clip):
    x, y, W = _problem(11)
    xt = augment(x)
    g = per_example_clipped_gradients(W, xt, y, clip)
    norms = np.sqrt((g * g).sum(axis=(1, 2)))
    assert (norms <= clip * (1 + 1e-12)).all()
    raw = per_example_clipped_gradients(W, xt, y, 1e12)
    raw_norms = np.sqrt((raw * raw).sum(axis=(1, 2)))
    big = raw_norms > clip
    np.testing.assert_allclose(norms[big], clip, rtol=1e-12)  # clipped ones sit exactly at C
    np.testing.assert_allclose(g[~big], raw[~big], rtol=1e-15)  # the others are untouched
    mask = np.random.default_rng(0).random((2, x.shape[0])) < 0.5
    got = clipped_gradient_sum(np.stack([W, W]), xt, y, mask.astype(float), clip)
    for b in range(2):
        np.testing.assert_allclose(got[b], g[mask[b]].sum(axis=0), rtol=1e-10, atol=1e-13)


def test_first_step_uses_a_poisson_batch_and_the_expected_batch_size():
    # sigma = 0, one step from W = 0: W_1 = -(lr / (q n)) sum_{i in B} clip(g_i) with B = {i: u_i < q},
    # u the first n uniforms of the stream
    x, y, _ = _problem(3, n=40)
    q, lr, C = 0.3, 0.7, 0.4
    path = dpsgd_path(
        x, y, 4, sigmas=[0.0], clip=C, sample_rate=q, steps=1, lr=lr, rng=np.random.default_rng(5)
    )
    mask = np.random.default_rng(5).random(40) < q
    xt = augment(x)
    g = per_example_clipped_gradients(np.zeros((xt.shape[1], 4)), xt, y, C)[mask].sum(axis=0)
    expect = -(lr / (q * 40)) * g
    np.testing.assert_allclose(path.W[0, 0], expect[:-1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(path.b[0, 0], expect[-1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(10))
def test_noise_has_standard_deviation_sigma_times_clip(seed):
    # one step at sigma and at 0 with common random numbers: the difference is -(lr / (q n)) sigma C Z,
    # Z standard normal over the (d + 1) x m entries. Mean within 4 SE of 0 and sample variance within
    # 4 SE of 1 (SE of the variance sqrt(2 / (k - 1)) for normal data), for every seed 0..9
    rng = np.random.default_rng(seed)
    n, d, m = 50, 400, 5
    x, y = rng.normal(size=(n, d)), rng.integers(m, size=n)
    q, lr, C, sigma = 0.2, 0.3, 1.5, 2.5
    path = dpsgd_path(x, y, m, sigmas=[0.0, sigma], clip=C, sample_rate=q, steps=1, lr=lr, rng=rng, draws=2)
    diff = np.concatenate([path.W[1] - path.W[0], (path.b[1] - path.b[0])[:, None, :]], axis=1)
    z = (diff * -(q * n) / (lr * sigma * C)).ravel()
    k = z.size
    assert abs(z.mean()) < 4 / math.sqrt(k)
    assert abs(z.var(ddof=1) - 1.0) < 4 * math.sqrt(2 / (k - 1))
    # the two draws use different noise
    assert np.abs(diff[0] - diff[1]).max() > 0


def test_fit_is_the_path_with_one_level_and_it_learns_without_noise():
    rng = np.random.default_rng(0)
    means = 3 * rng.normal(size=(4, 10))
    y = rng.integers(4, size=200)
    x = means[y] + 0.3 * rng.normal(size=(200, 10))
    model = DPSGD(4, sigma=0.0, sample_rate=0.2, steps=150, lr=2.0).fit(x, y, rng=np.random.default_rng(1))
    path = dpsgd_path(x, y, 4, sigmas=[0.0], clip=1.0, sample_rate=0.2, steps=150, lr=2.0,
                      rng=np.random.default_rng(1))  # fmt: skip
    np.testing.assert_array_equal(model.W, path.W[0, 0])
    assert np.mean(model.predict(x) == y) > 0.95
    # heavy noise (sigma = 1000) costs most of it: mean training accuracy over the draws 0..4 (measured
    # 0.30; chance 0.25) is far below the noise-free 0.95
    learner = DPSGD(4, sigma=1000.0, sample_rate=0.2, steps=150, lr=2.0)
    acc = [np.mean(learner.fit(x, y, rng=np.random.default_rng(k)).predict(x) == y) for k in range(5)]
    assert np.mean(acc) < 0.6


def test_bad_arguments_raise():
    x, y, _ = _problem(0)
    rng = np.random.default_rng(0)
    kw = {"clip": 1.0, "sample_rate": 0.1, "steps": 2, "lr": 1.0, "rng": rng}
    for name, bad in [("sigmas", [-1.0]), ("clip", 0.0), ("sample_rate", 0.0), ("steps", 0), ("lr", -1.0)]:
        args = {**kw, "sigmas": [1.0], name: bad}
        with pytest.raises(ValueError, match=name):
            dpsgd_path(x, y, 4, **args)
    with pytest.raises(ValueError, match="rng"):
        dpsgd_path(x, y, 4, **{**kw, "sigmas": [1.0], "rng": 3})
    with pytest.raises(ValueError, match="sigma"):
        DPSGD(4, sigma=-0.1)


# ------------------------------------------------------------------------------ label-DP translation
def test_group_privacy_and_the_ceiling_by_hand():
    # (eps, delta) add/remove -> (2 eps, (1 + e^eps) delta) for a label change (remove + add)
    assert replace_one(1.0, 1e-5) == (2.0, pytest.approx((1 + math.e) * 1e-5, rel=1e-15))
    assert replace_one(800.0, 1e-5)[1] == 1.0  # a delta >= 1 says nothing and is capped
    # delta_l = delta (1 + e^eps + ... + e^((l-1) eps)); l = 3, eps = ln 2: 7 delta
    np.testing.assert_allclose(group_delta([0, 1, 3], math.log(2), 1e-4), [0.0, 1e-4, 7e-4], rtol=1e-12)
    # ceiling min(1, e^(l eps)/m + delta_l); delta = 0 is the pure case
    np.testing.assert_allclose(
        ceiling([1, 2], math.log(2), 10, delta=1e-3), [0.2 + 1e-3, 0.4 + 3e-3], rtol=1e-12
    )
    np.testing.assert_array_equal(ceiling([0, 1, 4], 1.0, 10), ceiling([0, 1, 4], 1.0, 10, delta=0.0))
