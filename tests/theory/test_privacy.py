"""theory/privacy.py: RDP of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar & Zhang 2019,
arXiv 1908.10530), its conversion to (eps, delta)-DP and the calibration of sigma."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from theory.privacy import (
    DEFAULT_ORDERS,
    dp_sgd_epsilon,
    dp_sgd_sigma,
    rdp_to_epsilon,
    sampled_gaussian_log_a,
    sampled_gaussian_rdp,
)


def _a_by_integration(q: float, sigma: float, alpha: int) -> mp.mpf:
    # the defining integral A_alpha = E_{z ~ mu0}[(mu(z) / mu0(z))^alpha], mu0 = N(0, sigma^2),
    # mu = (1 - q) N(0, sigma^2) + q N(1, sigma^2); mu1 / mu0 = exp((2z - 1) / (2 sigma^2)).
    # 50-digit quadrature, split at the peaks of the integrand, independent of the binomial sum
    mp.mp.dps = 50
    q, s = mp.mpf(q), mp.mpf(sigma)

    def f(z):
        return mp.npdf(z, 0, s) * ((1 - q) + q * mp.exp((2 * z - 1) / (2 * s**2))) ** alpha

    peaks = sorted({0, alpha - mp.mpf(1) / 2, mp.mpf(alpha) / 2})
    return mp.quad(f, [-mp.inf, *peaks, mp.inf])


@pytest.mark.parametrize(
    "q, sigma, alpha",
    [(0.01, 1.0, 2), (0.1, 2.0, 5), (0.3, 0.8, 7), (0.001, 0.5, 12), (0.5, 3.0, 32), (0.05, 1.5, 20)],
)
def test_log_a_matches_the_defining_integral(q, sigma, alpha):
    exact = float(mp.log(_a_by_integration(q, sigma, alpha)))
    assert sampled_gaussian_log_a(q, sigma, alpha) == pytest.approx(exact, rel=1e-10, abs=1e-14)


def test_no_subsampling_is_the_gaussian_mechanism():
    # q = 1: the Gaussian mechanism with sensitivity 1, RDP alpha / (2 sigma^2) exactly (Mironov 2017,
    # Prop. 7); tf-privacy's test_compute_rdp_no_sampling: q = 1, sigma = 10, alpha = 20 -> 0.1
    alphas = np.array([2, 3, 10, 20, 100])
    for sigma in (0.7, 2.0, 10.0):
        np.testing.assert_allclose(
            sampled_gaussian_rdp(1.0, sigma, alphas), alphas / (2 * sigma**2), rtol=1e-15
        )
    assert sampled_gaussian_rdp(1.0, 10.0, [20])[0] == pytest.approx(0.1, rel=1e-15)
    # and q = 0 releases nothing about the data
    np.testing.assert_array_equal(sampled_gaussian_rdp(0.0, 1.0, alphas), 0.0)


def test_tensorflow_privacy_reference_values():
    # tensorflow/privacy, rdp_accountant_test.py (2018 version, integer orders only):
    # compute_rdp(q=0.1, sigma=2, steps=10, order=5) = 0.07737 (places=5);
    # compute_rdp(0.01, 2.5, 50, [.., 5, 50, 100, ..]) = 0.00218075, 0.023846, 167.416307 (delta=1e-5)
    assert sampled_gaussian_rdp(0.1, 2.0, [5], steps=10)[0] == pytest.approx(0.07737, abs=5e-6)
    np.testing.assert_allclose(
        sampled_gaussian_rdp(0.01, 2.5, [5, 50, 100], steps=50), [0.00218075, 0.023846, 167.416307], atol=1e-5
    )


def test_abadi_et_al_setting():
    # Abadi et al. 2016 (q = 0.01, sigma = 4, T = 10,000, delta = 1e-5: eps ~ 1.26 with the moments
    # accountant); tensorflow/privacy's test_get_privacy_spent_check_target_delta (2018 version): orders
    # 2..32, classic conversion -> eps = 1.258575 at order 20
    rdp = sampled_gaussian_rdp(0.01, 4.0, range(2, 33), steps=10_000)
    eps, order = rdp_to_epsilon(rdp, range(2, 33), 1e-5)
    assert eps == pytest.approx(1.258575, abs=5e-6) and order == 20
    # the improved conversion (Balle et al. 2020) is smaller; more orders can only help
    assert dp_sgd_epsilon(0.01, 4.0, 10_000, 1e-5, conversion="improved") < eps
    assert dp_sgd_epsilon(0.01, 4.0, 10_000, 1e-5) <= eps


def test_vectorised_rdp_equals_order_by_order():
    orders = np.array(DEFAULT_ORDERS)
    for q, sigma in ((0.1, 2.0), (0.01, 4.0), (1e-5, 0.3), (0.9, 0.5)):
        one = np.array([sampled_gaussian_log_a(q, sigma, int(a)) / (a - 1) for a in orders])
        np.testing.assert_allclose(sampled_gaussian_rdp(q, sigma, orders), one, rtol=1e-12)


def test_large_orders_and_tiny_q_are_finite():
    # log space: alpha = 1024, q = 1e-8 and sigma = 0.3 must neither overflow nor underflow to 0 - 0
    r = sampled_gaussian_rdp(1e-8, 0.3, [2, 1024])
    assert np.isfinite(r).all() and (r > 0).all()
    # small q: A_2 = 1 + q^2 (e^(1/sigma^2) - 1) exactly (k = 2 term), so eps(2) ~ q^2 (e^(1/sigma^2) - 1)
    q, sigma = 1e-6, 1.0
    assert sampled_gaussian_rdp(q, sigma, [2])[0] == pytest.approx(
        math.log1p(q * q * math.expm1(1.0)), rel=1e-9
    )


@settings(max_examples=30, deadline=None)
@given(
    q=st.floats(1e-4, 0.9),
    sigma=st.floats(0.3, 20.0),
    factor=st.floats(1.05, 3.0),
    alpha=st.integers(2, 64),
)
def test_rdp_grows_with_q_and_falls_with_sigma(q, sigma, factor, alpha):
    base = sampled_gaussian_rdp(q, sigma, [alpha])[0]
    assert sampled_gaussian_rdp(min(1.0, q * factor), sigma, [alpha])[0] >= base * (1 - 1e-12)
    assert sampled_gaussian_rdp(q, sigma * factor, [alpha])[0] <= base * (1 + 1e-12)


@settings(max_examples=20, deadline=None)
@given(
    q=st.floats(1e-3, 0.5), sigma=st.floats(0.5, 10.0), steps=st.integers(1, 5000), more=st.integers(1, 5000)
)
def test_epsilon_grows_with_steps_and_falls_with_delta(q, sigma, steps, more):
    e = dp_sgd_epsilon(q, sigma, steps, 1e-5)
    assert dp_sgd_epsilon(q, sigma, steps + more, 1e-5) >= e
    assert dp_sgd_epsilon(q, sigma, steps, 1e-3) <= e
    assert dp_sgd_epsilon(q, sigma, steps, 1e-5, conversion="improved") <= e


@pytest.mark.parametrize("eps, q, steps", [(1.0, 0.1, 200), (0.3, 0.01, 1000), (8.0, 0.05, 50)])
def test_calibrated_sigma_hits_the_target(eps, q, steps):
    s = dp_sgd_sigma(eps, 1e-5, q, steps, rtol=1e-7)
    assert dp_sgd_epsilon(q, s, steps, 1e-5) <= eps
    assert dp_sgd_epsilon(q, s * (1 - 1e-5), steps, 1e-5) > eps * (1 - 1e-3)
    assert theory.dp_sgd_sigma is dp_sgd_sigma


def test_bad_arguments_raise_naming_the_parameter():
    with pytest.raises(ValueError, match="q"):
        sampled_gaussian_log_a(1.5, 1.0, 2)
    with pytest.raises(ValueError, match="sigma"):
        sampled_gaussian_log_a(0.1, 0.0, 2)
    with pytest.raises(ValueError, match="alpha"):
        sampled_gaussian_log_a(0.1, 1.0, 1)
    with pytest.raises(ValueError, match="orders"):
        sampled_gaussian_rdp(0.1, 1.0, [1.5])
    with pytest.raises(ValueError, match="steps"):
        sampled_gaussian_rdp(0.1, 1.0, [2], steps=0)
    with pytest.raises(ValueError, match="delta"):
        rdp_to_epsilon([0.1], [2], 0.0)
    with pytest.raises(ValueError, match="conversion"):
        rdp_to_epsilon([0.1], [2], 1e-5, conversion="tight")
    with pytest.raises(ValueError, match="epsilon"):
        dp_sgd_sigma(0.0, 1e-5, 0.1, 10)
