"""The NLP building blocks without the encoder: SST-2 reading, the attention head, its exact
Hessian, influence functions, LiSSA and integrated gradients, on toy data made here.

Expected values and where they come from:
- the sentence rule: the toy rows below are hand-made so that the sentences are known;
- the head's gradients and Hessian: ``torch.func.grad`` / ``torch.func.hessian`` of
  ``head_logits`` (autograd, float64), the definition of the quantities;
- the influence score: actual leave-one-out refits of L2-regularised logistic regression
  (convex; first-order theory: error O(1/n^2) against effects O(1/n));
- LiSSA: its fixed point (H + damping * scale * I)^-1 v, solved exactly;
- integrated gradients: completeness sum_t IG_t = f(x) - f(baseline) (exact for a quadratic
  with the midpoint rule).
On the real data (skipped where ../shared/data/sst2 is absent): 6,885 training sentences,
3,595 positive, none in dev (counted by this rule, docs/nlp.md); 872 dev sentences (GLUE).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from simulations.data import DataFileMissingError
from simulations.nlp import (
    AttentionHead,
    RaggedStates,
    damped,
    epoch_batches,
    head_logits,
    head_probabilities,
    influence_memorization,
    integrated_gradients,
    inverse_hvp,
    lissa,
    load_sst2,
    loss_hessian,
    masked_ids,
    pad_batch,
    per_example_gradients,
    read_sst2_tsv,
    score_at_states,
    sentence_rows,
    spearman_bootstrap,
    stacked_logits,
    train_heads,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def toy_states(n=9, d=5, seed=0):
    rng = np.random.default_rng(seed)
    lens = rng.integers(2, 7, size=n)
    off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    rs = RaggedStates(
        rng.normal(size=(off[-1], d)).astype(np.float32), off, np.zeros(off[-1], dtype=np.int64)
    )
    return rs, rng.integers(0, 2, size=n)


def toy_head(n: int, seed: int):
    """An attention head on ``toy_states(n)`` with a random query (seeds ``seed``, ``seed + 1``):
    (states, labels, spec, params, padded states, mask, labels as a tensor)."""
    rs, y = toy_states(n=n)
    spec = AttentionHead(dim=5)
    p0 = spec.init(torch.Generator().manual_seed(seed))
    p0["q"] = torch.randn(5, generator=torch.Generator().manual_seed(seed + 1))
    x, m = pad_batch(rs, np.arange(n))
    return rs, y, spec, p0, x, m, torch.as_tensor(y)


# ------------------------------------------------------------------ SST-2 files
def test_sentence_rows_keeps_rows_that_are_no_span_of_another():
    rows = ["a b c .", "a b", "b c", "c .", "d e", "x a b c . y", "d e", "q"]
    # "a b c ." is inside "x a b c . y"; "d e" twice and in no other row -> first kept; "q" alone
    np.testing.assert_array_equal(sentence_rows(rows), [4, 5, 7])


def test_read_sst2_tsv_errors_name_file_and_line(tmp_path):
    with pytest.raises(DataFileMissingError, match="train.tsv not found.*SST-2"):
        read_sst2_tsv(tmp_path / "train.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\nfoo\t1\n")
    with pytest.raises(ValueError, match="bad.tsv: header"):
        read_sst2_tsv(bad)
    bad.write_text("sentence\tlabel\nfine\t1\nbroken\t2\n")
    with pytest.raises(ValueError, match="bad.tsv: line 3"):
        read_sst2_tsv(bad)
    good = tmp_path / "sst2"
    good.mkdir()
    (good / "train.tsv").write_text("sentence\tlabel\nit is good \t1\nis good\t1\nbad .\t0\n")
    (good / "dev.tsv").write_text("sentence\tlabel\nfine\t1\n")
    d = load_sst2(tmp_path)
    assert (
        d.train_text == ["it is good", "bad ."]
        and d.y_train.tolist() == [1, 0]
        and d.train_rows.tolist() == [0, 2]
    )


def test_sst2_sentence_count_on_the_glue_file():
    if not (DATA / "sst2" / "train.tsv").is_file():
        pytest.skip(f"shared data not found: {DATA / 'sst2'}")
    d = load_sst2(DATA)
    assert len(d.train_text) == 6885 and int(d.y_train.sum()) == 3595
    assert len(d.dev_text) == 872 and not set(d.dev_text) & set(d.train_text)


# ------------------------------------------------------------------ the head
def test_stacked_logits_equal_one_model_logits_and_padding_changes_nothing():
    rs, _ = toy_states()
    spec = AttentionHead(dim=5, classes=3)
    ps = [spec.init(torch.Generator().manual_seed(s)) for s in range(3)]
    for p in ps:
        p["q"] = torch.randn(5, generator=torch.Generator().manual_seed(7))
    stacked = {k: torch.stack([p[k] for p in ps]) for k in ps[0]}
    x, m = pad_batch(rs, np.arange(len(rs)))
    got = stacked_logits(stacked, x, m)
    for g, p in enumerate(ps):
        torch.testing.assert_close(got[g], head_logits(p, x, m), rtol=1e-5, atol=1e-6)
        alone = torch.stack([head_logits(p, *pad_batch(rs, [i]))[0] for i in range(len(rs))])
        torch.testing.assert_close(got[g], alone, rtol=1e-5, atol=1e-6)


def test_train_heads_models_do_not_interact_and_validate_input():
    rs, y = toy_states(n=40)
    spec = AttentionHead(dim=5)
    masks = np.random.default_rng(1).random((3, 40)) < 0.7
    kw = dict(epochs=3, batch_size=8, lr=0.1, momentum=0.9, weight_decay=5e-3)
    three = train_heads(spec, rs, y, masks, np.array([5, 6, 7]), **kw)
    two = train_heads(spec, rs, y, masks[:2], np.array([5, 6]), **kw)  # same order seed (5)
    for k in three:
        torch.testing.assert_close(three[k][:2], two[k], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(three["w"][0], three["w"][1])
    with pytest.raises(ValueError, match="masks must be bool"):
        train_heads(spec, rs, y, masks[:, :5], np.array([5, 6, 7]), **kw)
    with pytest.raises(ValueError, match="lr must be"):
        train_heads(spec, rs, y, masks, np.array([5, 6, 7]), **{**kw, "lr": 0.0})


def test_epoch_batches_cover_every_row_once():
    lens = np.random.default_rng(0).integers(3, 30, size=101)
    batches = epoch_batches(lens, 8, torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(101))
    assert max(len(b) for b in batches) == 8


# torch.func.hessian (torch 2.13) calls the deprecated torch.jit.script internally
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_exact_gradients_and_hessian_match_autograd():
    rs, y, spec, p0, x, m, yt = toy_head(n=7, seed=1)
    x = x.double()
    v = spec.flatten(p0).double()

    def L(th):
        return F.cross_entropy(head_logits(spec.unflatten(th), x, m), yt) + 0.01 / 2 * (th * th).sum()

    H = loss_hessian(spec, p0, rs, y, weight_decay=0.01)
    np.testing.assert_allclose(H, torch.func.hessian(L)(v).numpy(), atol=1e-10)
    G, P = per_example_gradients(spec, p0, rs, y)

    def li(th, i):
        return F.cross_entropy(head_logits(spec.unflatten(th), x[i : i + 1], m[i : i + 1]), yt[i : i + 1])

    auto = np.stack([torch.func.grad(li)(v, i).numpy() for i in range(7)])
    np.testing.assert_allclose(G, auto, atol=1e-10)
    probs = head_probabilities({k: t.unsqueeze(0) for k, t in p0.items()}, rs)[0, np.arange(7), y]
    np.testing.assert_allclose(P, probs, rtol=1e-5)


# ------------------------------------------------------------------ influence and LiSSA
def _logistic(X, y, lam, w0=None):
    """Minimiser of mean logistic loss + lam/2 |w|^2 by Newton's method (float64)."""
    w = np.zeros(X.shape[1]) if w0 is None else w0.copy()
    for _ in range(50):
        p = 1 / (1 + np.exp(-X @ w))
        g = X.T @ (p - y) / len(y) + lam * w
        H = (X.T * (p * (1 - p))) @ X / len(y) + lam * np.eye(X.shape[1])
        w -= np.linalg.solve(H, g)
        if np.linalg.norm(g) < 1e-13:
            break
    return w, H


@pytest.mark.parametrize("seed", range(3))
def test_influence_score_matches_leave_one_out_refits(seed):
    # 200 points in 3-d with a bias column, 10 labels flipped so that some points are memorized
    rng = np.random.default_rng(seed)
    n, lam = 200, 0.02
    X = np.column_stack([rng.normal(size=(n, 2)), np.ones(n)])
    y = ((X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=n)) > 0).astype(float)
    y[:10] = 1 - y[:10]
    w, H = _logistic(X, y, lam)
    p = 1 / (1 + np.exp(-X @ w))
    P = np.where(y == 1, p, 1 - p)  # P(y_i | x_i)
    grads = (p - y)[:, None] * X  # gradient of the logistic loss
    score = influence_memorization(H, grads, P, w, weight_decay=lam)
    actual = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        wi, _ = _logistic(X[keep], y[keep], lam, w0=w)
        pi = 1 / (1 + np.exp(-X[i] @ wi))
        actual[i] = P[i] - (pi if y[i] == 1 else 1 - pi)
    # stated tolerance: 15% of the largest effect (seeds 0..4 give 3.1%, 9.1%, 6.5%, 6.7%, 4.5%;
    # the neglected terms are second order, O(1/n^2) against effects O(1/n)), and rank agreement
    assert np.max(np.abs(score - actual)) < 0.15 * np.max(np.abs(actual))
    assert spearman_bootstrap(score, actual, reps=50, rng=rng)["rho"] > 0.95


def test_lissa_reaches_its_fixed_point_and_refuses_a_small_scale():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    H = A @ A.T / 6 + 0.1 * np.eye(6)
    V = rng.normal(size=(6, 3))
    lam_max = np.linalg.eigvalsh(H)[-1]
    got = lissa(lambda h, j: H @ h, V, scale=1.5 * lam_max, depth=3000)
    np.testing.assert_allclose(got, np.linalg.solve(H, V), rtol=1e-6, atol=1e-8)
    damp = lissa(lambda h, j: H @ h, V[:, 0], scale=2 * lam_max, depth=3000, damping=0.05)
    np.testing.assert_allclose(damp, np.linalg.solve(H + 0.05 * 2 * lam_max * np.eye(6), V[:, 0]), rtol=1e-6)
    # a noisy minibatch estimate of H (unbiased) still lands near the solution
    noisy = lissa(lambda h, j: (H + 0.05 * np.diag(rng.normal(size=6))) @ h, V, scale=2 * lam_max, depth=3000)
    assert np.linalg.norm(noisy - np.linalg.solve(H, V)) < 0.1 * np.linalg.norm(np.linalg.solve(H, V))
    with pytest.raises(ValueError, match="lissa diverged"):
        lissa(lambda h, j: H @ h, V, scale=0.3 * lam_max, depth=3000)


def test_damped_and_inverse_hvp():
    H = np.diag([-0.5, 1.0, 2.0])
    Hd, mu, (lo, hi) = damped(H, floor=0.1)
    assert (mu, lo, hi) == pytest.approx((0.6, -0.5, 2.0))
    np.testing.assert_allclose(inverse_hvp(Hd, np.ones(3)), 1 / np.diag(Hd))
    with pytest.raises(ValueError, match="not positive definite"):
        inverse_hvp(H, np.ones(3))


# ------------------------------------------------------------------ attribution
def test_integrated_gradients_completeness_and_score_at_states():
    rs, y, spec, p0, x, m, yt = toy_head(n=4, seed=3)
    s = torch.randn(4, spec.num_params, generator=torch.Generator().manual_seed(5), dtype=torch.float64)

    def fn(z):
        k = z.shape[0] // 4
        return score_at_states(p0, s.repeat(k, 1), z, m.repeat(k, 1), yt.repeat(k), n=10, weight_decay=0.01)

    base = torch.zeros_like(x)
    attr, fx, fb = integrated_gradients(fn, x, base, steps=50)
    gap = np.abs(attr.sum(1) - (fx - fb)) / np.abs(fx - fb)
    assert gap.max() < 1e-2
    # f at the real states is -(1/n) s . (grad loss + lambda theta)
    G, _ = per_example_gradients(spec, p0, rs, y)
    theta = spec.flatten(p0).double().numpy()
    np.testing.assert_allclose(fx, -((G + 0.01 * theta) * s.numpy()).sum(1) / 10, rtol=1e-8)
    # a quadratic is integrated exactly by the midpoint rule
    a, f1, f0 = integrated_gradients(lambda z: (z**2).sum((1, 2)), x, base, steps=7)
    np.testing.assert_allclose(a.sum(1), f1 - f0, rtol=1e-10)


def test_masked_ids_top_and_random_never_touch_special_tokens():
    ids = np.array([101, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 102])
    special = np.isin(ids, [101, 102])
    scores = np.array([9.0, 0, 5, 1, 0, 0, 4, 0, 0, 0, 0, 9.0])
    top = masked_ids(ids, scores, special, fraction=0.2, mask_id=103)  # 10 tokens -> 2 masked
    assert np.flatnonzero(top == 103).tolist() == [2, 6]
    for seed in range(5):
        r = masked_ids(ids, scores, special, fraction=0.1, mask_id=103, rng=np.random.default_rng(seed))
        assert (r == 103).sum() == 1 and r[0] == 101 and r[-1] == 102
    with pytest.raises(ValueError, match="fraction"):
        masked_ids(ids, scores, special, fraction=0.0, mask_id=103)
