"""Learners of the Gaussian-mixture package: exact leave-one-out against brute-force refits,
closed-form max-margin solutions, optimality conditions, and the output-perturbation noise law."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.gaussian import (
    KNN,
    HardMarginSVM,
    KernelRidge,
    Logistic,
    PrivateLogistic,
    Ridge,
    clip_rows,
    loo_benchmark,
    memorization,
    multiclass_margin,
    output_perturbation_noise,
    rbf_kernel,
    regularized_logistic,
)
from simulations.gaussian.learners import one_hot

K_SE = 5.0


def _data(seed, n, d, m=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(m, size=n)


def _kernel_ridge_refit(xtr, Ytr, xte, lam, bias, kern):
    """Direct solve of the dual system: (K + lam I) alpha = Y, or with an unpenalised bias the
    bordered system [[K + lam I, 1], [1^T, 0]] [alpha; b] = [Y; 0] (the reference)."""
    n, m = Ytr.shape
    K = kern(xtr, xtr) + lam * np.eye(n)
    if bias:
        A = np.block([[K, np.ones((n, 1))], [np.ones((1, n)), np.zeros((1, 1))]])
        sol = np.linalg.solve(A, np.vstack([Ytr, np.zeros((1, m))]))
        return kern(xte, xtr) @ sol[:-1] + sol[-1]
    return kern(xte, xtr) @ np.linalg.solve(K, Ytr)


def _brute_loo(x, y, m, refit):
    Y = one_hot(y, m)
    out = np.empty((len(y), m))
    for i in range(len(y)):  # the brute force: n refits
        keep = np.arange(len(y)) != i
        out[i] = refit(x[keep], Y[keep], x[i : i + 1])[0]
    return out


def _linear(a, b):
    return a @ b.T


# ------------------------------------------------------------------------------ ridge
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("n,d", [(12, 20), (20, 20)])
def test_ridge_loo_matches_refits_interpolation_regime(n, d, bias):
    # n <= d (n - 1 <= d with bias): lam = 0 is the minimum-norm interpolator; expected values
    # are n direct solves of the dual / bordered system without example i
    x, y = _data(0, n, d)
    lams = [0.0, 1e-3, 0.5, 10.0]
    got = Ridge(3, bias=bias).loo_scores(x, y, lams)
    for j, lam in enumerate(lams):
        exp = _brute_loo(x, y, 3, lambda a, Y, q, lam=lam: _kernel_ridge_refit(a, Y, q, lam, bias, _linear))
        np.testing.assert_allclose(got[j], exp, atol=1e-9)


@pytest.mark.parametrize("bias", [False, True])
def test_ridge_loo_matches_refits_least_squares_regime(bias):
    # n > d: lam = 0 is ordinary least squares (lstsq refits); lam > 0 the dual solve
    x, y = _data(1, 30, 4)
    got = Ridge(3, bias=bias).loo_scores(x, y, [0.0, 0.7])

    def ols(a, Y, q):
        Z, zq = (np.hstack([a, np.ones((len(a), 1))]), np.hstack([q, [[1.0]]])) if bias else (a, q)
        return zq @ np.linalg.lstsq(Z, Y, rcond=None)[0]

    np.testing.assert_allclose(got[0], _brute_loo(x, y, 3, ols), atol=1e-10)
    exp = _brute_loo(x, y, 3, lambda a, Y, q: _kernel_ridge_refit(a, Y, q, 0.7, bias, _linear))
    np.testing.assert_allclose(got[1], exp, atol=1e-10)


def test_ridge_loo_path_labels_equal_refit_labels():
    x, y = _data(2, 25, 6, m=4)
    lams = [0.0, 0.3, 3.0]
    path = Ridge(4).loo_path(x, y, lams)
    for j, lam in enumerate(lams):
        refit = [
            Ridge(4, lam=lam).fit(np.delete(x, i, 0), np.delete(y, i)).predict(x[i : i + 1])[0]
            for i in range(25)
        ]
        np.testing.assert_array_equal(path[j], refit)
        np.testing.assert_array_equal(Ridge(4, lam=lam).loo_predict(x, y), refit)


def test_ridgeless_is_pseudo_inverse_interpolator():
    # n <= d, no bias: lam = 0 gives W = pinv(X) Y, which fits the one-hot targets exactly;
    # lam -> 0 converges to it
    x, y = _data(3, 10, 25)
    Y = one_hot(y, 3)
    fit = Ridge(3, lam=0.0, bias=False).fit(x, y)
    np.testing.assert_allclose(fit.W, np.linalg.pinv(x) @ Y, atol=1e-12)
    np.testing.assert_allclose(fit.scores(x), Y, atol=1e-12)
    np.testing.assert_array_equal(fit.predict(x), y)
    np.testing.assert_allclose(Ridge(3, lam=1e-9, bias=False).fit(x, y).W, fit.W, atol=1e-6)


def test_ridge_fit_with_bias_matches_bordered_system():
    x, y = _data(4, 15, 5)
    fit = Ridge(3, lam=0.4).fit(x, y)
    q = np.random.default_rng(5).normal(size=(7, 5))
    np.testing.assert_allclose(
        fit.scores(q), _kernel_ridge_refit(x, one_hot(y, 3), q, 0.4, True, _linear), atol=1e-12
    )


def test_ridgeless_loo_with_leverage_one_is_min_norm_refit():
    # no bias, n > d: example 0 is the only one with a nonzero first coordinate (leverage 1,
    # (P_0)_00 = 0). Without it the minimum-norm least-squares refit pinv(X_-0) Y_-0 has a zero
    # first weight, so f_-0(x_0) = 0; the other rows use the OLS formula. Expected: pinv refits
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, -1.0], [0.0, 0.5]])
    y = np.array([0, 1, 0, 1, 1])
    got = Ridge(2, bias=False).loo_scores(x, y, [0.0])[0]
    exp = _brute_loo(x, y, 2, lambda a, Y, q: q @ np.linalg.pinv(a) @ Y)
    np.testing.assert_allclose(got, exp, atol=1e-12)
    np.testing.assert_allclose(got[0], 0.0, atol=1e-12)


# ------------------------------------------------------------------------------ kernel ridge
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("gamma", [0.2, 1.0])
def test_kernel_ridge_loo_matches_refits(gamma, bias):
    x, y = _data(6, 18, 3)
    lams = [0.0, 0.05, 2.0]
    got = KernelRidge(3, gamma=gamma, bias=bias).loo_scores(x, y, lams)

    def kern(a, b):
        return rbf_kernel(a, b, gamma)

    for j, lam in enumerate(lams):
        exp = _brute_loo(x, y, 3, lambda a, Y, q, lam=lam: _kernel_ridge_refit(a, Y, q, lam, bias, kern))
        np.testing.assert_allclose(got[j], exp, atol=1e-8)
    fit = KernelRidge(3, gamma=gamma, lam=0.05, bias=bias).fit(x, y)
    np.testing.assert_allclose(
        fit.scores(x[:4]), _kernel_ridge_refit(x, one_hot(y, 3), x[:4], 0.05, bias, kern), atol=1e-10
    )


def test_kernel_interpolation_with_a_duplicate_point():
    # x_1 = x_0 with another label: K is singular. The ridgeless refit without example 0 still
    # interpolates example 1 at the same input, so f_{-0}(x_0) = e_{y_1} exactly
    x, y = _data(7, 12, 3)
    x[1] = x[0]
    y[:2] = [0, 2]
    got = KernelRidge(3, gamma=1.0, lam=0.0, bias=False).loo_scores(x, y, [0.0])[0]
    np.testing.assert_allclose(got[0], [0.0, 0.0, 1.0], atol=1e-8)
    np.testing.assert_allclose(got[1], [1.0, 0.0, 0.0], atol=1e-8)


# ------------------------------------------------------------------------------ k-NN
@pytest.mark.parametrize("k", [1, 3, 4])
def test_knn_loo_matches_refits(k):
    x, y = _data(8, 40, 3)
    got = KNN(k, 3).loo_predict(x, y)
    refit = [KNN(k, 3).fit(np.delete(x, i, 0), np.delete(y, i)).predict(x[i : i + 1])[0] for i in range(40)]
    np.testing.assert_array_equal(got, refit)


def test_knn_tie_rules():
    # query 0: training points 1 and -1 are equally near; the smaller index (label 2) is taken
    # for k = 1; with k = 2 labels 2 and 1 get one vote each and the smaller label 1 wins
    x, y, q = np.array([[1.0], [-1.0], [5.0]]), np.array([2, 1, 0]), np.array([[0.0]])
    assert KNN(1, 3).fit(x, y).predict(q)[0] == 2
    assert KNN(2, 3).fit(x, y).predict(q)[0] == 1


def test_memorization_matches_definition():
    # mem(i) = 1[f(x_i) = y_i] - 1[f_{-i}(x_i) = y_i] with f_{-i} an explicit refit
    x, y = _data(9, 20, 2)
    for learner in (KNN(3, 3), Ridge(3, lam=0.2)):
        fitted = learner.fit(x, y).predict(x) == y
        refit = np.array(
            [
                learner.fit(np.delete(x, i, 0), np.delete(y, i)).predict(x[i : i + 1])[0] == y[i]
                for i in range(20)
            ]
        )
        np.testing.assert_array_equal(memorization(learner, x, y), fitted.astype(int) - refit.astype(int))


# ------------------------------------------------------------------------------ hard-margin SVM
def test_svm_two_points_closed_form():
    # x = +-u, labels 1 / 0: w_1 = -w_0 = u / (2 |u|^2), b = 0, geometric margin |u| = 5
    u = np.array([3.0, 4.0])
    x, y = np.array([u, -u]), np.array([1, 0])
    fit = HardMarginSVM(2).fit(x, y)
    np.testing.assert_allclose(fit.W, np.column_stack([-u, u]) / 50.0, atol=1e-7)
    np.testing.assert_allclose(fit.b, 0.0, atol=1e-7)
    assert multiclass_margin(fit, x, y) == pytest.approx(5.0, rel=1e-6)


def test_svm_triangle_closed_form():
    # vertices v_c of an equilateral triangle (radius R), label c: by symmetry w_c = a v_c,
    # b = 0 and the active constraint a (|v|^2 - v_c.v_y) = a (3/2) R^2 = 1; margin (sqrt 3 / 2) R
    R = 2.0
    t = 2 * np.pi * np.arange(3) / 3
    V = R * np.column_stack([np.cos(t), np.sin(t)])
    fit = HardMarginSVM(3).fit(V, np.arange(3))
    np.testing.assert_allclose(fit.W, 2 / (3 * R**2) * V.T, atol=1e-6)
    assert multiclass_margin(fit, V, np.arange(3)) == pytest.approx(np.sqrt(3) / 2 * R, rel=1e-6)


def test_svm_separable_data_constraints_and_absent_class():
    rng = np.random.default_rng(10)
    centres = np.array([[6.0, 0.0], [0.0, 6.0], [-6.0, -6.0]])
    y = rng.integers(3, size=40)
    x = centres[y] + rng.normal(size=(40, 2))
    fit = HardMarginSVM(4).fit(x, y)  # class 3 never appears
    S = fit.scores(x)
    gap = S[np.arange(40), y][:, None] - S[:, :3]
    assert np.all(gap[np.arange(3)[None, :] != y[:, None]] >= 1 - 1e-6)
    assert np.all(fit.predict(rng.normal(size=(100, 2)) * 10) != 3)
    np.testing.assert_array_equal(fit.predict(x), y)


def test_svm_infeasible_raises():
    x = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0]])  # the same input with two labels
    with pytest.raises(ValueError, match="not linearly separable"):
        HardMarginSVM(2).fit(x, np.array([0, 1, 1]))


# ------------------------------------------------------------------------------ logistic
def test_logistic_satisfies_optimality_conditions():
    # stationarity of C sum_i CE + |W|^2 / 2 with free b: C X^T (P - Y) + W = 0, sum_i (P - Y) = 0
    x, y = _data(11, 60, 3)
    C = 0.5
    fit = Logistic(3, C=C, tol=1e-10).fit(x, y)
    S = fit.scores(x)
    P = np.exp(S - S.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    R = P - one_hot(y, 3)
    np.testing.assert_allclose(C * x.T @ R + fit.W, 0.0, atol=1e-6)
    np.testing.assert_allclose(R.sum(0), 0.0, atol=1e-6)


def test_logistic_nonconvergence_raises_and_absent_class_never_predicted():
    x, y = _data(12, 50, 3)
    with pytest.raises(ValueError, match="max_iter"):
        Logistic(3, C=1e4, max_iter=2).fit(x, y)
    fit = Logistic(4, C=1.0).fit(x, y)  # label 3 absent
    assert np.all(fit.predict(np.random.default_rng(0).normal(size=(200, 3)) * 5) != 3)


# ------------------------------------------------------------------------------ private logistic
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dim", [1, 5, 20])
def test_output_noise_norm_is_gamma(seed, dim):
    # |beta| ~ Gamma(d, Delta / eps): mean d Delta / eps, sd sqrt(d) Delta / eps; direction uniform
    sens, eps, size = 0.02, 0.5, 4_000
    beta = output_perturbation_noise(
        dim, sensitivity=sens, epsilon=eps, rng=np.random.default_rng(seed), size=size
    )
    r = np.linalg.norm(beta, axis=1)
    scale = sens / eps
    assert abs(r.mean() - dim * scale) <= K_SE * np.sqrt(dim) * scale / np.sqrt(size)
    unit = beta / r[:, None]  # each coordinate of a uniform direction has variance 1 / d
    assert np.all(np.abs(unit.mean(0)) <= K_SE / np.sqrt(dim * size))


def test_private_logistic_large_epsilon_recovers_exact_minimiser():
    # binary: J(w) = mean log(1 + exp(-s w.x)) + lam |w|^2 / 2 is scikit-learn's unpenalised-
    # intercept-free objective with C = 1 / (n lam), on clipped features
    x, y = _data(13, 80, 4, m=2)
    x *= 2.0  # some rows get clipped
    lam = 0.05
    priv = PrivateLogistic(2, epsilon=1e12, lam=lam).fit(x, y, rng=np.random.default_rng(0))
    ref = Logistic(2, C=1 / (80 * lam), bias=False, tol=1e-12).fit(clip_rows(x), y)
    np.testing.assert_allclose(priv.W, ref.W, atol=1e-6)
    # one-vs-rest with 3 classes: column c is the binary problem "c vs rest"
    x3, y3 = _data(14, 90, 4, m=3)
    priv3 = PrivateLogistic(3, epsilon=1e12, lam=lam).fit(x3, y3, rng=np.random.default_rng(0))
    for c in range(3):
        ref = Logistic(2, C=1 / (90 * lam), bias=False, tol=1e-12).fit(clip_rows(x3), (y3 == c).astype(int))
        np.testing.assert_allclose(priv3.W[:, c], ref.W[:, 1], atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lam=st.floats(0.01, 1.0))
def test_minimiser_sensitivity_bound(seed, lam):
    # Chaudhuri et al. (2011), Corollary 8: replacing one example moves the exact minimiser by
    # at most 2 / (n lam) when |x_i| <= 1
    rng = np.random.default_rng(seed)
    n = 30
    x = clip_rows(rng.normal(size=(n, 3)) * 2)
    s = rng.choice([-1.0, 1.0], size=n)
    w = regularized_logistic(x, s, lam=lam)
    x2, s2 = x.copy(), s.copy()
    x2[0], s2[0] = clip_rows(rng.normal(size=(1, 3)) * 2)[0], -s[0]
    w2 = regularized_logistic(x2, s2, lam=lam)
    assert np.linalg.norm(w - w2) <= 2 / (n * lam) + 1e-9


def test_regularized_logistic_reaches_tolerance():
    x, y = _data(15, 50, 3, m=2)
    x, s, lam = clip_rows(x), 2.0 * y - 1, 0.1
    w = regularized_logistic(x, s, lam=lam, tol=1e-12)
    g = -(x.T @ (s / (1 + np.exp(s * (x @ w))))) / 50 + lam * w  # the gradient written out
    assert np.linalg.norm(g) / lam <= 1e-12


# ------------------------------------------------------------------------------ benchmark
def test_loo_benchmark_toy_size():
    lines = []
    rep = loo_benchmark(
        40, 5, classes=3, lams=(0.0, 1.0), refits=4, rng=np.random.default_rng(0), out=lines.append
    )
    assert rep["agreement"] == 1.0 and rep["refits_measured"] == 4 and rep["closed_form_s"] > 0
    assert rep["refit_s_scaled"] == pytest.approx(rep["refit_s_measured"] * 40 / 4)
    assert len(lines) == 3 and "scaled" in lines[1]


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "make,name",
    [
        (lambda: KNN(0, 3), "k"),
        (lambda: KNN(1, 1), "classes"),
        (lambda: Ridge(3, lam=-1.0), "lam"),
        (lambda: Ridge(3, lam=np.nan), "lam"),
        (lambda: KernelRidge(3, gamma=0.0), "gamma"),
        (lambda: Logistic(3, C=0.0), "C"),
        (lambda: Logistic(3, max_iter=0), "max_iter"),
        (lambda: PrivateLogistic(3, epsilon=0.0, lam=1.0), "epsilon"),
        (lambda: PrivateLogistic(3, epsilon=1.0, lam=0.0), "lam"),
        (lambda: HardMarginSVM(3, solver="NOPE"), "solver"),
        (
            lambda: output_perturbation_noise(0, sensitivity=1.0, epsilon=1.0, rng=np.random.default_rng(0)),
            "dim",
        ),
        (
            lambda: output_perturbation_noise(2, sensitivity=0.0, epsilon=1.0, rng=np.random.default_rng(0)),
            "sensitivity",
        ),
        (lambda: clip_rows(np.ones((2, 2)), max_norm=0.0), "max_norm"),
    ],
)
def test_bad_hyperparameters_raise(make, name):
    with pytest.raises(ValueError, match=f"^{name} "):
        make()


X, Y3 = _data(16, 10, 2)


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: Ridge(3).fit(X, Y3 + 3), "y"),
        (lambda: Ridge(3).fit(X, Y3[:5]), "y"),
        (lambda: Ridge(3).fit(X, Y3.astype(float)), "y"),
        (lambda: Ridge(3).fit(np.where(X > 1, np.nan, X), Y3), "x"),
        (lambda: Ridge(3).fit(X[:, 0], Y3), "x"),
        (lambda: Ridge(3).loo_path(X, Y3, []), "lams"),
        (lambda: Ridge(3).loo_path(X, Y3, [0.1, -1.0]), "lams"),
        (lambda: KNN(10, 3).loo_predict(X, Y3), "x"),
        (lambda: KNN(1, 3).fit(X, Y3).predict(np.ones((2, 3))), "x"),
        (lambda: Logistic(3).fit(X, np.zeros(10, dtype=int)), "y"),
        (lambda: PrivateLogistic(3, epsilon=1.0, lam=1.0).fit(X, Y3), "rng"),
        (lambda: memorization(Logistic(3), X, Y3), "learner"),
        (lambda: regularized_logistic(X, np.zeros(10), lam=1.0), "s"),
    ],
)
def test_bad_data_raise(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()
