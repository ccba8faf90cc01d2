"""Memorization and influence estimators: known-truth synthetic problems and exact leave-one-out."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.estimators import (
    check_coverage,
    heldout_accuracy,
    heldout_from_sums,
    heldout_sums,
    high_influence_pairs,
    influence,
    influence_top_k,
    knn_loo_memorization,
    learning_speed,
    loo_memorization,
    memorization,
    ridge_loo_memorization,
    same_label_fraction,
    subset_masks,
)


def _synthetic(seed, n=300, t=400, ratio=0.7):
    """Models whose correctness on x_i is Bernoulli(p_in[i]) when i is in the subset and
    Bernoulli(p_out[i]) when not, independently: the true mem is p_in - p_out."""
    rng = np.random.default_rng(seed)
    masks = subset_masks(n, t, ratio=ratio, rng=rng)
    p_in = rng.uniform(0.5, 1.0, n)
    p_out = rng.uniform(0.0, 1.0, n)
    p = np.where(masks, p_in, p_out)
    correct = (rng.random((t, n)) < p).astype(np.float64)
    return masks, correct, p_in - p_out


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ratio=st.sampled_from([0.3, 0.5, 0.7]))
def test_memorization_estimates_known_truth_within_standard_errors(seed, ratio):
    masks, correct, truth = _synthetic(seed, ratio=ratio)
    est = memorization(correct, masks)
    z = (est.value - truth) / est.se
    # z is close to N(0, 1) for each of the 300 examples: its mean within 4 / sqrt(300), and the
    # SEs are calibrated (mean z^2 near 1; 4 SE of a chi-square(300)/300 is 4 * sqrt(2/300))
    assert abs(z.mean()) <= 4 / np.sqrt(z.size)
    assert abs((z**2).mean() - 1) <= 4 * np.sqrt(2 / z.size) + 0.05


def test_memorization_equals_direct_means():
    masks, correct, _ = _synthetic(1, n=20, t=30)
    est = memorization(correct, masks)
    for i in range(20):
        inn, out = correct[masks[:, i], i], correct[~masks[:, i], i]
        assert est.value[i] == pytest.approx(inn.mean() - out.mean(), abs=1e-12)
        # 0/1 outcomes: Bernoulli variance at the Laplace-smoothed rate (s + 1) / (c + 2)
        pi, po = (inn.sum() + 1) / (inn.size + 2), (out.sum() + 1) / (out.size + 2)
        se = np.sqrt(pi * (1 - pi) / inn.size + po * (1 - po) / out.size)
        assert est.se[i] == pytest.approx(se, abs=1e-12)
    soft = memorization(correct * 0.5 + 0.25, masks)  # soft scores: sample variances
    c0 = correct[:, 0] * 0.5 + 0.25
    se0 = np.sqrt(
        c0[masks[:, 0]].var(ddof=1) / masks[:, 0].sum() + c0[~masks[:, 0]].var(ddof=1) / (~masks[:, 0]).sum()
    )
    assert soft.se[0] == pytest.approx(se0, abs=1e-12)


def test_influence_dense_and_top_k_agree_with_direct_means():
    rng = np.random.default_rng(3)
    masks = subset_masks(15, 40, ratio=0.6, rng=rng)
    test = (rng.random((40, 7)) < 0.6).astype(float)
    dense, se = influence(test, masks, chunk=3)
    for i in range(15):
        for j in range(7):
            want = test[masks[:, i], j].mean() - test[~masks[:, i], j].mean()
            assert dense[i, j] == pytest.approx(want, abs=1e-12)
    idx, val, err = influence_top_k(test, masks, top=4, chunk=2)
    for j in range(7):
        np.testing.assert_allclose(val[j], np.sort(dense[:, j])[::-1][:4], atol=1e-12)
        np.testing.assert_allclose(dense[idx[j], j], val[j], atol=1e-12)
        np.testing.assert_allclose(se[idx[j], j], err[j], atol=1e-12)


def test_heldout_accuracy_is_the_mean_over_models_without_the_example():
    masks, correct, _ = _synthetic(2, n=10, t=25)
    acc = heldout_accuracy(correct, masks)
    for i in range(10):
        assert acc.value[i] == pytest.approx(correct[~masks[:, i], i].mean(), abs=1e-12)


def test_high_influence_pairs_thresholds_and_classes():
    mem = np.array([0.3, 0.1, 0.5])
    infl = np.array([[0.2, 0.5], [0.9, 0.9], [0.15, 0.14]])
    pairs = high_influence_pairs(mem, infl, np.array([0, 0, 1]), np.array([0, 1]))
    # (0, 0): mem 0.3, infl 0.2, same class; (0, 1) other class; row 1 mem too low; (2, 1) infl 0.14
    np.testing.assert_array_equal(pairs, [[0, 0]])


def test_subset_masks_sizes_and_paired_halves():
    rng = np.random.default_rng(0)
    m = subset_masks(50, 8, ratio=0.7, rng=rng)
    np.testing.assert_array_equal(m.sum(axis=1), 35)
    p = subset_masks(50, 6, paired=True, rng=rng)
    np.testing.assert_array_equal(p[0::2], ~p[1::2])
    np.testing.assert_array_equal(p.sum(axis=0), 3)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.2, float("nan")])
def test_ratio_outside_open_interval_is_rejected(ratio):
    with pytest.raises(ValueError, match="ratio"):
        subset_masks(10, 4, ratio=ratio, rng=np.random.default_rng(0))


def test_too_few_models_names_how_many_are_needed():
    masks = subset_masks(1000, 3, ratio=0.7, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"t: 3 models .* about \d+ models"):
        check_coverage(masks)


def _knn_fit_predict(k):
    def fit_predict(xt, yt, xq):
        d = ((xq[:, None, :] - xt[None, :, :]) ** 2).sum(-1)
        nn = np.argsort(d, axis=1, kind="stable")[:, :k]
        votes = np.zeros((len(xq), 3), dtype=int)
        np.add.at(votes, (np.arange(len(xq))[:, None], yt[nn]), 1)
        return votes.argmax(axis=1)

    return fit_predict


@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_closed_form_equals_refitting(k):
    rng = np.random.default_rng(k)
    x = rng.normal(size=(40, 2))
    y = rng.integers(0, 3, 40)
    np.testing.assert_array_equal(
        knn_loo_memorization(x, y, k=k, classes=3), loo_memorization(_knn_fit_predict(k), x, y)
    )


@pytest.mark.parametrize("lam", [1e-3, 0.1, 10.0])
def test_ridge_closed_form_equals_refitting(lam):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(30, 8))
    y = rng.integers(0, 3, 30)

    def fit_predict(xt, yt, xq):
        W = np.linalg.solve(xt.T @ xt + lam * np.eye(8), xt.T @ np.eye(3)[yt])
        return (xq @ W).argmax(axis=1)

    np.testing.assert_array_equal(
        ridge_loo_memorization(x, y, lam=lam, classes=3), loo_memorization(fit_predict, x, y)
    )


def test_one_nn_memorizes_every_mislabeled_duplicate_free_point():
    # 1-NN fits every training point (mem >= 0); a point whose nearest other point has another
    # label has mem exactly 1
    x = np.array([[0.0], [1.0], [1.1], [5.0]])
    y = np.array([0, 0, 1, 1])
    np.testing.assert_array_equal(knn_loo_memorization(x, y, k=1), [0.0, 1.0, 1.0, 0.0])


def test_bad_scores_are_rejected():
    masks = subset_masks(5, 4, ratio=0.6, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="correct must hold"):
        memorization(np.full((4, 5), np.nan), masks)
    with pytest.raises(ValueError, match="masks must be"):
        memorization(np.zeros((4, 5)), masks.astype(int))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.booleans())
def test_heldout_sums_of_groups_add_up_to_the_whole(seed, binary):
    # a long run keeps only the held-out sums of each piece: their total gives the same estimate
    rng = np.random.default_rng(seed)
    masks = rng.random((13, 9)) < 0.6
    masks[0], masks[1] = True, False  # every example in and out at least once
    C = (rng.random((13, 9)) < 0.7).astype(float) if binary else rng.random((13, 9))
    whole = heldout_accuracy(C, masks)
    parts = [heldout_sums(C[a:b], masks[a:b]) for a, b in ((0, 4), (4, 5), (5, 13))]
    total = {k: sum(p[k] for p in parts) for k in ("count", "s1", "s2", "n_in")}
    total["binary"] = np.array(all(bool(p["binary"]) for p in parts))
    summed = heldout_from_sums(total)
    for field in ("value", "se", "n_in", "n_out"):
        np.testing.assert_allclose(getattr(whole, field), getattr(summed, field), rtol=1e-12)


def test_same_label_fraction_equals_brute_force_neighbours():
    # reference: all pairwise distances by scipy, sorted (ties broken by index: distinct here)
    import scipy.spatial

    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(150, 5)), rng.integers(0, 3, 150)
    d = scipy.spatial.distance.cdist(x, x, "sqeuclidean")
    np.fill_diagonal(d, np.inf)
    for k in (1, 4, 30):
        near = np.argsort(d, axis=1, kind="stable")[:, :k]
        ref = (y[near] == y[:, None]).mean(axis=1)
        for workers in (1, 3):
            got = same_label_fraction(x, y, k=k, chunk=32, workers=workers)
            np.testing.assert_array_equal(got, ref)
    with pytest.raises(ValueError, match="k must be"):
        same_label_fraction(x, y, k=150)


def test_learning_speed_ranks_mislabelled_examples_last():
    # two separated classes with 10 flipped labels: the flipped ones are learned last (if ever)
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 400)
    x = (2 * y[:, None] - 1) * 2.0 + rng.normal(size=(400, 3))
    flipped = rng.choice(400, 10, replace=False)
    y_noisy = y.copy()
    y_noisy[flipped] = 1 - y[flipped]
    s = learning_speed(x, y_noisy, classes=2, epochs=5, lr=0.1, batch_size=32, seed=0)
    assert np.all((s > 0) & (s < 1))
    assert set(np.argsort(s)[:10]) == set(flipped)
    again = learning_speed(x, y_noisy, classes=2, epochs=5, lr=0.1, batch_size=32, seed=0)
    assert np.array_equal(s, again)
    with pytest.raises(ValueError, match="epochs"):
        learning_speed(x, y, classes=2, epochs=0, lr=0.1, batch_size=32, seed=0)
