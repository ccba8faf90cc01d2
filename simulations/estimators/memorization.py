r"""Subsampled memorization and influence estimators (Feldman & Zhang 2020, arXiv 2008.03703).

t models are trained on random subsets I_1..I_t of the n training examples (``masks``, shape
(t, n), True where example i is in I_k). Given the models' correctness on the training examples
(``correct``, shape (t, n), 0/1 or the probability of the true label) and on test examples
(shape (t, k)), docs/references.md §2.1:

.. math:: \widetilde{\mathrm{mem}}(i) = \frac{\sum_k 1[i\in I_k]\,c_{k,i}}{\sum_k 1[i\in I_k]}
          - \frac{\sum_k 1[i\notin I_k]\,c_{k,i}}{\sum_k 1[i\notin I_k]}

and infl~(i, j) likewise on test example j. All n (or n x k) estimates come from the same t
models. The standard error of each estimate is sqrt(v_in / t_in + v_out / t_out) (our
derivation, docs/references.md §2.1): for 0/1 correctness v = p~(1 - p~) at the Laplace-smoothed rate
p~ = (successes + 1) / (models + 2) of each group (never 0 when all outcomes agree), else the
sample variance; at ratio r it is at most about sqrt(1/(4 r t) + 1/(4 (1 - r) t)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory._validate import check_finite, check_int

__all__ = [
    "Estimate",
    "subset_masks",
    "check_coverage",
    "memorization",
    "influence",
    "influence_top_k",
    "heldout_accuracy",
    "heldout_sums",
    "heldout_from_sums",
    "high_influence_pairs",
]


@dataclass(frozen=True)
class Estimate:
    """Per-example estimates: ``value`` (n,), its standard error ``se`` (n,), and the number of
    models that held (``n_in``) and did not hold (``n_out``) each example."""

    value: np.ndarray
    se: np.ndarray
    n_in: np.ndarray
    n_out: np.ndarray


def subset_masks(n: int, t: int, *, ratio: float = 0.7, paired: bool = False, rng) -> np.ndarray:
    """Random subsets, shape (t, n) bool: each row holds exactly round(ratio * n) examples.

    ``paired``: models come in complementary pairs (row 2k + 1 = not row 2k, ratio 1/2), which
    makes every example in and out equally often; ``t`` must then be even.
    """
    n = check_int("n", n, low=2)
    t = check_int("t", t, low=2)
    if paired:
        if t % 2:
            raise ValueError(f"t must be even for paired halves; got {t}")
        half = subset_masks(n, t // 2, ratio=0.5, rng=rng)
        return np.stack([half, ~half], axis=1).reshape(t, n)
    ratio = check_finite("ratio", ratio, low=0.0, high=1.0, low_open=True, high_open=True)
    size = round(ratio * n)
    if not 1 <= size <= n - 1:
        raise ValueError(f"ratio: {ratio} * n = {ratio * n:g} leaves an empty subset or its complement empty")
    chosen = np.argpartition(rng.random((t, n)), size - 1, axis=1)[:, :size]
    masks = np.zeros((t, n), dtype=bool)
    np.put_along_axis(masks, chosen, True, axis=1)
    return masks


def check_coverage(masks: np.ndarray, *, minimum: int = 1) -> None:
    """Raise ValueError unless every example is in at least ``minimum`` subsets and out of at least
    ``minimum``; the message says how many models are needed."""
    masks = _as_masks(masks)
    t = masks.shape[0]
    n_in = masks.sum(axis=0)
    worst = int(min(n_in.min(), (t - n_in).min()))
    if worst < minimum:
        r = float(n_in.mean() / t)
        p = min(r, 1 - r)
        need = int(np.ceil(np.log(2 * masks.shape[1] * 100) / max(p, 1e-12)))
        raise ValueError(
            f"t: {t} models leave some example in (or out of) fewer than {minimum} subsets; at ratio "
            f"{r:.2f} about {need} models make that unlikely (probability < 1%)"
        )


def _as_masks(masks) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.dtype != bool:
        raise ValueError(
            f"masks must be a 2-d bool array (models, examples); got {masks.dtype} {masks.shape}"
        )
    return masks


def _as_scores(scores, t: int, name: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != t:
        raise ValueError(f"{name} must have shape (models = {t}, examples); got {scores.shape}")
    if not np.isfinite(scores).all() or (scores < 0).any() or (scores > 1).any():
        raise ValueError(f"{name} must hold correctness values in [0, 1] (no NaN)")
    return scores


def _binary(C: np.ndarray) -> bool:
    return bool(np.all((C == 0) | (C == 1)))


def _smoothed(s: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Bernoulli variance at the Laplace-smoothed rate (s + 1) / (c + 2)."""
    p = (s + 1.0) / (c + 2.0)
    return p * (1.0 - p)


def _group_stats(A: np.ndarray, C: np.ndarray, binary: bool):
    """Means and variances of the columns of C over the models where A (t, n) is 1, for every
    (example i, column j): shapes (n, k). Variance: smoothed Bernoulli for 0/1 outcomes, else the
    sample variance."""
    cnt = A.sum(axis=0)[:, None]
    s1 = A.T @ C
    mean = s1 / np.maximum(cnt, 1)
    if binary:
        return mean, _smoothed(s1, cnt), cnt
    s2 = A.T @ (C * C)
    var = np.maximum(s2 - cnt * mean**2, 0.0) / np.maximum(cnt - 1, 1)
    return mean, var, cnt


def _difference(masks: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    A = masks.astype(np.float64)
    binary = _binary(C)
    m_in, v_in, c_in = _group_stats(A, C, binary)
    m_out, v_out, c_out = _group_stats(1.0 - A, C, binary)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(v_in / c_in + v_out / c_out)
    bad = (c_in == 0) | (c_out == 0)
    est = np.where(bad, np.nan, m_in - m_out)
    return est, np.where(bad, np.nan, se), c_in[:, 0], c_out[:, 0]


def memorization(correct: np.ndarray, masks: np.ndarray) -> Estimate:
    """mem~(i) for every training example from the models' correctness on the training set.

    ``correct`` (t, n): 0/1 correctness (or the probability of the true label) of model k on
    training example i; ``masks`` (t, n). NaN where an example is never in or never out.
    """
    masks = _as_masks(masks)
    C = _as_scores(correct, masks.shape[0], "correct")
    if C.shape != masks.shape:
        raise ValueError(f"correct has shape {C.shape}; masks have {masks.shape}")
    A = masks.astype(np.float64)
    t = masks.shape[0]
    n_in = A.sum(axis=0)
    n_out = t - n_in
    s_in = (A * C).sum(axis=0)
    s_out = C.sum(axis=0) - s_in
    q_in = (A * C * C).sum(axis=0)
    q_out = (C * C).sum(axis=0) - q_in
    with np.errstate(invalid="ignore", divide="ignore"):
        m_in, m_out = s_in / n_in, s_out / n_out
        if _binary(C):  # Laplace-smoothed Bernoulli variance: never 0 when all outcomes agree
            v_in, v_out = _smoothed(s_in, n_in), _smoothed(s_out, n_out)
        else:
            v_in = np.maximum(q_in - n_in * m_in**2, 0.0) / np.maximum(n_in - 1, 1)
            v_out = np.maximum(q_out - n_out * m_out**2, 0.0) / np.maximum(n_out - 1, 1)
        se = np.sqrt(v_in / n_in + v_out / n_out)
    bad = (n_in == 0) | (n_out == 0)
    return Estimate(np.where(bad, np.nan, m_in - m_out), np.where(bad, np.nan, se), n_in, n_out)


def influence(
    correct_test: np.ndarray, masks: np.ndarray, *, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Dense infl~(i, j), shape (n, k), and its standard errors, from test correctness (t, k).

    Computed in column chunks of ``chunk`` test examples (memory O(n * chunk)); cost O(t n k).
    """
    masks = _as_masks(masks)
    C = _as_scores(correct_test, masks.shape[0], "correct_test")
    n, k = masks.shape[1], C.shape[1]
    est = np.empty((n, k))
    se = np.empty((n, k))
    for a in range(0, k, chunk):
        e, s, _, _ = _difference(masks, C[:, a : a + chunk])
        est[:, a : a + chunk], se[:, a : a + chunk] = e, s
    return est, se


def influence_top_k(
    correct_test: np.ndarray, masks: np.ndarray, *, top: int = 10, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each test example j, the ``top`` training examples of largest infl~(i, j):
    (indices (k, top), values (k, top), standard errors (k, top)), in decreasing order.
    Memory O(n * chunk): for test sets too large for the dense matrix."""
    masks = _as_masks(masks)
    C = _as_scores(correct_test, masks.shape[0], "correct_test")
    n, k = masks.shape[1], C.shape[1]
    top = check_int("top", top, low=1, high=n)
    idx = np.empty((k, top), dtype=np.int64)
    val = np.empty((k, top))
    err = np.empty((k, top))
    for a in range(0, k, chunk):
        e, s, _, _ = _difference(masks, C[:, a : a + chunk])  # (n, c)
        e = np.where(np.isnan(e), -np.inf, e)
        part = np.argpartition(-e, top - 1, axis=0)[:top]  # (top, c)
        pv = np.take_along_axis(e, part, axis=0)
        order = np.argsort(-pv, axis=0, kind="stable")
        part = np.take_along_axis(part, order, axis=0)
        idx[a : a + chunk] = part.T
        val[a : a + chunk] = np.take_along_axis(e, part, axis=0).T
        err[a : a + chunk] = np.take_along_axis(s, part, axis=0).T
    return idx, val, err


def heldout_sums(correct: np.ndarray, masks: np.ndarray) -> dict[str, np.ndarray]:
    """Per example, over the models that did *not* train on it: their number ``count``, the sum
    ``s1`` and the sum of squares ``s2`` of the correctness, and ``n_in``; sums of several groups
    of models add up (pieces of a long run keep only these)."""
    masks = _as_masks(masks)
    C = _as_scores(correct, masks.shape[0], "correct")
    out = (~masks).astype(np.float64)
    return {"count": out.sum(axis=0), "s1": (out * C).sum(axis=0), "s2": (out * C * C).sum(axis=0),
            "n_in": masks.sum(axis=0), "binary": np.array(_binary(C))}  # fmt: skip


def heldout_from_sums(sums: dict[str, np.ndarray]) -> Estimate:
    """The held-out accuracy :class:`Estimate` from :func:`heldout_sums` (added over groups)."""
    cnt, s1, s2 = (np.asarray(sums[k], dtype=np.float64) for k in ("count", "s1", "s2"))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
        if bool(np.all(sums["binary"])):
            var = _smoothed(s1, cnt)
        else:
            var = np.maximum(s2 - cnt * mean**2, 0.0) / np.maximum(cnt - 1, 1)
        se = np.sqrt(var / cnt)
    bad = cnt == 0
    return Estimate(np.where(bad, np.nan, mean), np.where(bad, np.nan, se), sums["n_in"], cnt)


def heldout_accuracy(correct: np.ndarray, masks: np.ndarray) -> Estimate:
    """Mean correctness on each training example over the models that did *not* train on it
    (the C-score style held-out accuracy at this ratio, Jiang et al. 2021), with its SE: the
    smoothed Bernoulli SE for 0/1 correctness, the sample SE for soft correctness."""
    return heldout_from_sums(heldout_sums(correct, masks))


def high_influence_pairs(
    mem: np.ndarray,
    infl: np.ndarray,
    y_train: np.ndarray,
    y_test: np.ndarray,
    *,
    mem_threshold: float = 0.25,
    infl_threshold: float = 0.15,
) -> np.ndarray:
    """Pairs (i, j) with mem~(i) >= 0.25, infl~(i, j) >= 0.15 and the same class (docs/references.md §2.2),
    as an int array (pairs, 2) sorted by decreasing influence."""
    infl = np.asarray(infl)
    ok = (np.asarray(mem)[:, None] >= mem_threshold) & (infl >= infl_threshold)
    ok &= np.asarray(y_train)[:, None] == np.asarray(y_test)[None, :]
    i, j = np.nonzero(ok)
    order = np.argsort(-infl[i, j], kind="stable")
    return np.stack([i[order], j[order]], axis=1)
