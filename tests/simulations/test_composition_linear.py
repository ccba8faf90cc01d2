"""simulations.composition: the generator's law, the learners against dense references, gradient
descent's limit, exact recovery where it is provable, the composition points and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.composition import (
    FeatureSample,
    composition_points,
    error_by_count,
    feature_probabilities,
    fit_constant,
    gd_closed_form,
    gd_steps_needed,
    gradient_descent,
    gram,
    gram_spectrum,
    head_size,
    id_loss,
    mean_active,
    min_norm,
    normaliser,
    ood_loss,
    pooled_ratio,
    power_beta,
    ridge,
    safe_step,
    sample_features,
    theory_rate,
)


def _sample(seed=0, n=40, d=150, alpha=1.5, s=3.0, runs=3, sigma=0.0):
    return sample_features(n, d, alpha, s, runs=runs, sigma=sigma, rng=np.random.default_rng(seed))


# ---------------------------------------------------------------------- the generator
def test_probabilities_and_normaliser():
    # Z_alpha = sum_{i<=d} i^-alpha; d = 4, alpha = 1: Z = 1 + 1/2 + 1/3 + 1/4 = 25/12
    assert normaliser(4, 1.0) == pytest.approx(25 / 12, rel=1e-15)
    p = feature_probabilities(4, 1.0, 1.0)
    np.testing.assert_allclose(p, np.array([1, 1 / 2, 1 / 3, 1 / 4]) * 12 / 25, rtol=1e-15)
    assert mean_active(p) == pytest.approx(1.0, rel=1e-15)  # no clipping: sum p_i = s
    # s = 5, alpha = 2, d = 10^4: s / Z = 3.04 > 1, so p_1 is clipped and E active < s
    p = feature_probabilities(10_000, 2.0, 5.0)
    assert p[0] == 1.0 and np.all(np.diff(p) <= 0) and 2.9 < mean_active(p) < 3.0


def test_head_size_is_the_largest_i_with_n_p_i_at_least_ten():
    for alpha, n in ((1.0, 1000), (2.0, 1000), (3.0, 200), (2.0, 5)):
        p = feature_probabilities(2000, alpha, 5.0)
        brute = max([i + 1 for i in range(p.size) if n * p[i] >= 10], default=0)
        assert head_size(p, n) == brute
    assert head_size(feature_probabilities(100, 2.0, 5.0), 5) == 0  # n p_1 = 5 < 10: no head


def test_sample_structure_and_responses():
    S = _sample(sigma=0.0)
    X = S.dense()
    assert X.shape == (3, 40, 150) and np.isin(X, (-1, 0, 1)).all()
    np.testing.assert_array_equal(np.diff(S.row) >= 0, True)
    np.testing.assert_allclose(S.y, np.einsum("rad,d->ra", X, S.beta), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(S.counts(), (X != 0).sum(axis=1))
    assert (X[:, :, S.p == 1.0] != 0).all()  # clipped features are in every example
    sub = S.select_runs(1, 3)
    np.testing.assert_array_equal(sub.dense(), X[1:3])
    # sigma only adds noise drawn after the design: equal generators share X
    T = _sample(sigma=0.3)
    np.testing.assert_array_equal(T.dense(), X)
    assert 0.1 < np.std(T.y - T.signal) < 0.6


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    alpha=st.floats(0.5, 4.0),
    s=st.floats(1.0, 8.0),
    n=st.integers(50, 400),
    d=st.integers(20, 3000),
    runs=st.integers(1, 8),
)
def test_feature_frequencies_match_p_within_six_standard_errors(seed, alpha, s, n, d, runs):
    # each count is Binomial(runs n, p_i) (docs/references.md §4: coordinates independent); features with
    # expected count >= 30 on both sides are checked one by one, the rest pooled (their sum has
    # variance sum p(1-p) N). With ~3000 features and 25 examples, a false alarm at 6 SE (normal
    # tail 2e-9, a little more for the skewed binomial) has probability well below 1e-3.
    S = sample_features(n, d, alpha, s, runs=runs, rng=np.random.default_rng(seed))
    N = runs * n
    c = S.counts().sum(axis=0).astype(np.float64)
    p = S.p
    np.testing.assert_array_equal(c[p == 1.0], N)
    ok = (N * p >= 30) & (N * (1 - p) >= 30)
    z = (c[ok] - N * p[ok]) / np.sqrt(N * p[ok] * (1 - p[ok]))
    assert np.all(np.abs(z) <= 6), z[np.abs(z) > 6]
    rest = ~ok & (p < 1.0)
    if N * p[rest].sum() >= 30:
        zr = (c[rest].sum() - N * p[rest].sum()) / math.sqrt(N * (p[rest] * (1 - p[rest])).sum())
        assert abs(zr) <= 6
    # signs are fair: positives ~ Binomial(nnz, 1/2)
    nnz = S.sign.size
    assert abs((S.sign > 0).sum() - nnz / 2) <= 6 * math.sqrt(nnz / 4) + 1


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"alpha": 0.0}, r"alpha must be a finite number in \(0, 10\]"),
        ({"alpha": -1.0}, r"alpha must be a finite number in \(0, 10\]"),
        ({"alpha": 10.5}, r"alpha must be a finite number in \(0, 10\]"),
        ({"alpha": float("nan")}, r"alpha must be a finite number in \(0, 10\]"),
        ({"s": 0.0}, r"s must be a finite number in \(0, 100\]"),
        ({"s": -2.0}, r"s must be a finite number in \(0, 100\]"),
        ({"s": 101.0}, r"s must be a finite number in \(0, 100\]"),
        ({"d": 0}, r"d must be an integer in \[1, 10000000\]"),
        ({"n": 0}, r"n must be an integer in \[1, 1000000\]"),
        ({"sigma": -0.1}, r"sigma must be a finite number in \[0, 1000\]"),
        ({"runs": 0}, r"runs must be an integer in \[1, 100000\]"),
    ],
)
def test_bad_parameters_name_the_parameter_and_range(kwargs, needle):
    args = {"n": 10, "d": 100, "alpha": 1.5, "s": 3.0} | kwargs
    extra = {k: args.pop(k) for k in ("sigma", "runs") if k in args}
    with pytest.raises(ValueError, match=needle):
        sample_features(args["n"], args["d"], args["alpha"], args["s"], rng=np.random.default_rng(0), **extra)


# ---------------------------------------------------------------------- the learners
def test_gram_is_exact():
    S = _sample(seed=3, alpha=2.0, s=5.0)  # clipped features: the dense path is used
    X = S.dense()
    np.testing.assert_array_equal(gram(S), X @ X.transpose(0, 2, 1))


@pytest.mark.parametrize("side", ["dual", "primal", "auto"])
@pytest.mark.parametrize("alpha,s,sigma", [(1.0, 3.0, 0.0), (2.0, 5.0, 0.1), (3.0, 4.0, 0.0)])
def test_min_norm_equals_numpy_pinv(alpha, s, sigma, side):
    # reference: np.linalg.pinv (SVD of X itself) per run. alpha = 2, 3 give duplicate and empty
    # rows (rank-deficient G) and, with noise, no exact interpolant: pinv(X) y is then the
    # minimum-norm least-squares solution. Either Gram matrix (n x n, or that of the occurring
    # features) must give it.
    S = _sample(seed=7, n=60, d=200, alpha=alpha, s=s, runs=4, sigma=sigma)
    X = S.dense()
    ref = np.stack([np.linalg.pinv(x) @ y for x, y in zip(X, S.y, strict=True)])
    spec = gram_spectrum(S, side=side)
    np.testing.assert_allclose(min_norm(S, spec), ref, atol=1e-9)
    np.testing.assert_allclose(spec.rank, [np.linalg.matrix_rank(x) for x in X])


def test_primal_and_dual_spectra_agree_for_every_filter():
    S = _sample(seed=8, n=50, d=300, alpha=1.3, s=3.0, runs=3, sigma=0.1)
    dual, primal = gram_spectrum(S, side="dual"), gram_spectrum(S, side="primal")
    assert primal.side == "primal" and primal.w.shape[1] < 300
    for spec in (dual, primal):  # nonzero eigenvalues agree
        assert spec.rank.tolist() == dual.rank.tolist()
    np.testing.assert_allclose(primal.w[:, -5:], dual.w[:, -5:], rtol=1e-10)
    np.testing.assert_allclose(ridge(S, 0.3, primal), ridge(S, 0.3, dual), atol=1e-11)
    eta = 1.0 / dual.w_max
    np.testing.assert_allclose(
        gd_closed_form(S, 25, eta, primal), gd_closed_form(S, 25, eta, dual), atol=1e-11
    )
    with pytest.raises(ValueError, match="side must be one of auto, dual, primal"):
        gram_spectrum(S, side="both")


def test_ridge_equals_the_primal_solve():
    S = _sample(seed=2, sigma=0.2)
    X = S.dense()
    for lam in (0.01, 1.0, 30.0):
        ref = np.stack(
            [np.linalg.solve(x.T @ x + lam * np.eye(S.d), x.T @ y) for x, y in zip(X, S.y, strict=True)]
        )
        np.testing.assert_allclose(ridge(S, lam), ref, atol=1e-10)


def test_min_norm_leaves_unseen_features_at_zero():
    # X^+ y lies in the row space of X, and an unseen feature is a zero column
    S = _sample(seed=4, n=80, d=400, alpha=1.2, sigma=0.1)
    b = min_norm(S)
    assert np.all(b[S.counts() == 0] == 0.0)


def test_gradient_descent_converges_to_pinv_within_the_stated_bound():
    # Bound (simulations.composition.linear): with 0 < eta <= 1/w_max,
    # ||beta_t - X^+ y|| <= (1 - eta w_min+)^t ||X^+ y||. Run the iteration itself with the safe
    # step 1/(max row support * max column count) for the t that certifies 1e-6, and allow
    # 1e-10 relative for rounding (t steps of ~1e-16 each).
    S = _sample(seed=11, n=30, d=120, alpha=1.5, s=3.0, runs=3, sigma=0.1)
    spec = gram_spectrum(S)
    eta = safe_step(S)
    assert np.all(eta * spec.w_max <= 1.0)
    steps = gd_steps_needed(spec, eta, 1e-6)
    T = int(steps.max())
    assert T < 200_000, T  # keeps the test fast; the bound itself holds for any instance
    target = min_norm(S, spec)
    got = gradient_descent(S, T, eta)
    dist = np.linalg.norm(got - target, axis=1)
    bound = (1 - eta * spec.w_min_positive) ** T * np.linalg.norm(target, axis=1)
    assert np.all(dist <= bound + 1e-10 * np.linalg.norm(target, axis=1))
    assert np.all(dist <= 1e-6 * np.linalg.norm(target, axis=1))
    # the closed form equals the iteration at every t (here t = 0, 1, 37)
    for t in (0, 1, 37):
        np.testing.assert_allclose(gd_closed_form(S, t, eta, spec), gradient_descent(S, t, eta), atol=1e-11)


# ---------------------------------------------------------------------- exact recovery
def test_disjoint_supports_give_the_closed_form_and_recover_only_single_feature_rows():
    # Rows with pairwise disjoint supports S_a are orthogonal, so X^+ y = sum_a x_a y_a / |S_a|:
    # beta_j = x_aj y_a / |S_a| for j in S_a. Noiseless, y_a = sum_{i in S_a} x_ai beta*_i, so
    # feature j is recovered exactly when |S_a| = 1, and gets the row's average otherwise.
    d = 12
    beta = power_beta(d)
    supports = [[0], [1, 2], [3], [4, 5, 6], [7]]  # features 8..11 unseen
    rng = np.random.default_rng(0)
    X = np.zeros((1, len(supports), d))
    for a, sup in enumerate(supports):
        X[0, a, sup] = rng.choice([-1.0, 1.0], size=len(sup))
    y = X[0] @ beta
    S = FeatureSample.from_dense(X, y[None], beta=beta)
    b = min_norm(S)[0]
    expect = np.zeros(d)
    for a, sup in enumerate(supports):
        expect[sup] = X[0, a, sup] * y[a] / len(sup)
    np.testing.assert_allclose(b, expect, atol=1e-13)
    np.testing.assert_allclose(b[[0, 3, 7]], beta[[0, 3, 7]], atol=1e-13)
    assert np.all(np.abs(b[[1, 2, 4, 5, 6]] - beta[[1, 2, 4, 5, 6]]) > 1e-4)  # averaged, not recovered


@pytest.mark.parametrize("seed", range(5))
def test_head_rows_of_full_rank_plus_one_tail_feature_per_row_recover_exactly(seed):
    # The mechanism of docs/references.md §4, in a case where it is a theorem. Head H = {0..k-1}; "head
    # rows" involve only H and have rank k; every other row holds head features plus exactly one
    # tail feature, and each tail feature is in one such row. Any interpolant (noiseless) then has
    # beta_H = beta*_H (the head rows determine it) and, row by row, beta_j = beta*_j for every
    # seen tail feature; the minimum norm sets the unseen ones to 0. So min-norm recovers every
    # seen feature exactly, and every combination of seen tail features is predicted exactly.
    rng = np.random.default_rng(seed)
    k, head_rows, tail_seen, d = 4, 10, 15, 40
    beta = power_beta(d)
    Xh = np.zeros((head_rows, d))
    Xh[:, :k] = rng.choice([-1.0, 0.0, 1.0], size=(head_rows, k))
    Xh[:k, :k] += np.eye(k) * (Xh[:k, :k].diagonal() == 0)  # nonzero diagonal for a rank-k block
    assert np.linalg.matrix_rank(Xh[:, :k]) == k
    Xt = np.zeros((tail_seen, d))
    Xt[:, :k] = rng.choice([-1.0, 0.0, 1.0], size=(tail_seen, k))
    Xt[np.arange(tail_seen), k + np.arange(tail_seen)] = rng.choice([-1.0, 1.0], size=tail_seen)
    X = np.concatenate([Xh, Xt])[rng.permutation(head_rows + tail_seen)]
    S = FeatureSample.from_dense(X[None], (X @ beta)[None], beta=beta, k=k)
    b = min_norm(S)
    seen = S.counts()[0] > 0
    np.testing.assert_allclose(b[0, seen], beta[seen], atol=1e-10)
    assert np.all(b[0, ~seen] == 0)
    tail_seen_mask = seen & (np.arange(d) >= k)
    pts = composition_points(S, tail_seen_mask[None], size=3, num=50, rng=rng)
    assert pts.per_run[0] == 50
    assert ood_loss(b, beta, pts)[0] < 1e-18


# ---------------------------------------------------------------------- measurements
def test_composition_points_are_eligible_distinct_and_never_together():
    S = _sample(seed=5, n=100, d=300, alpha=1.2, s=4.0, runs=3)
    X = S.dense() != 0
    c = S.counts()
    eligible = (c >= 1) & (np.arange(S.d) >= 3)
    pts = composition_points(S, eligible, size=3, num=40, rng=np.random.default_rng(1))
    assert pts.per_run.min() > 0
    for (
        r,
        m,
    ) in zip(*np.nonzero(pts.use), strict=True):
        f = pts.feature[r, m]
        assert len(set(f)) == 3 and eligible[r, f].all()
        together = X[r][:, f].sum(axis=1)  # features of the point in each training example
        assert together.max() <= 1
    # the rejected candidates include every colliding set (rejection is exact)
    assert pts.use.sum(axis=1).max() <= 40


def test_runs_with_too_few_eligible_features_get_no_points():
    S = _sample(seed=6, runs=4)
    eligible = np.zeros((4, S.d), dtype=bool)
    eligible[1, [5, 9]] = True  # run 1: exactly `size` features; runs 0, 2 (none) and 3 (one) too few
    eligible[3, 7] = True
    pts = composition_points(S, eligible, size=2, num=10, rng=np.random.default_rng(0))
    assert pts.feature.min() >= 0 and pts.feature.max() < S.d
    together = (S.dense()[1][:, [5, 9]] != 0).all(axis=1).any()
    np.testing.assert_array_equal(pts.per_run, [0, 0 if together else 10, 0, 0])
    loss = ood_loss(np.zeros((4, S.d)), S.beta, pts)
    assert np.isnan(loss[[0, 2, 3]]).all()
    if not together:
        assert loss[1] == pytest.approx(S.beta[5] ** 2 + S.beta[9] ** 2 + 0.0, abs=2 * S.beta[5] * S.beta[9])


def test_id_loss_is_the_expectation_over_fresh_examples():
    # E_x <Delta, x>^2 = sum_i p_i Delta_i^2 (independent coordinates, mean-zero signs);
    # checked against 40,000 fresh examples from the generator within 5 SE.
    d = 60
    p = feature_probabilities(d, 1.3, 4.0)
    rng = np.random.default_rng(9)
    delta = rng.standard_normal(d)
    exact = id_loss(delta[None], np.zeros(d), p)[0]
    fresh = sample_features(40_000, d, 1.3, 4.0, beta=delta, rng=rng)
    v = fresh.signal[0] ** 2
    assert abs(v.mean() - exact) <= 5 * v.std() / math.sqrt(v.size)


def test_error_by_count_bins_and_pooled_ratio():
    beta = np.array([1.0, 1.0, 1.0, 1.0])
    bh = np.array([[1.0, 0.5, 1.05, 0.0], [0.92, 1.0, 1.0, 1.0]])
    counts = np.array([[0, 1, 1, 5], [1, 2, 9, 0]])  # bins (max_count = 2): 0, 1, 2, > 2
    e = error_by_count(bh, beta, counts, max_count=2, tol=0.1)
    np.testing.assert_allclose(e["features"], [[1, 2, 0, 1], [1, 1, 1, 1]])
    np.testing.assert_allclose(e["err"], [[0, 0.55, 0, 1], [0, 0.08, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(e["recovered"], [[1, 1, 0, 0], [1, 1, 1, 1]])
    r, se = pooled_ratio(e["recovered"], e["features"])
    np.testing.assert_allclose(r, [1, 2 / 3, 1, 1 / 2])
    assert np.isfinite(se).all()


def test_rate_and_fitted_constant():
    # s (ln^2 d / (n s))^(1 - 1/alpha) at n = 1000, d = 10^4, s = 5, alpha = 2:
    # 5 sqrt(ln(10^4)^2 / 5000) = 5 ln(10^4) / sqrt(5000) = 0.651292...
    assert theory_rate(2.0, 1000, 10_000, 5.0) == pytest.approx(
        5 * math.log(1e4) / math.sqrt(5000), rel=1e-14
    )
    assert theory_rate(1.0, 1000, 10_000, 5.0) == 5.0  # alpha = 1: the exponent vanishes
    # alpha < 1: a negative exponent, computed in log space; beyond the float range it is inf
    direct = 5.0 * (math.log(10_000) ** 2 / 5000.0) ** -1.0
    assert theory_rate(0.5, 1000, 10_000, 5.0) == pytest.approx(direct, rel=1e-12)
    assert theory_rate(0.01, 1000, 2000, 2000.0) == math.inf
    rate = np.array([0.1, 0.02, 0.5])
    assert fit_constant(3.0 * rate, rate) == pytest.approx(3.0, rel=1e-14)
    assert fit_constant(rate * np.array([2.0, 0.5, 1.0]), rate) == pytest.approx(1.0, rel=1e-14)
    with pytest.raises(ValueError, match="fit_constant"):
        fit_constant([0.0], [1.0])
