r"""Agreement of two per-example scores: Spearman's rho with a percentile bootstrap interval,
and the label agreement of nearest neighbours (how typical a sentence is of its class).

Bootstrap: B resamples of the n pairs with replacement; rho recomputed on each (ranks with ties
averaged, vectorised over resamples); the interval is the 2.5 and 97.5 percentiles.

Label agreement of sentence i: the fraction of its k nearest other training sentences (cosine
similarity of the mean-pooled frozen states) that carry its label; low values mark atypical
sentences (or sentences whose label disagrees with their neighbours').
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from theory._validate import check_int

__all__ = ["spearman_bootstrap", "neighbour_label_agreement"]


def spearman_bootstrap(a, b, *, reps: int = 1000, rng: np.random.Generator) -> dict:
    """rho of the finite pairs of ``a`` and ``b`` (1-d, one length), its bootstrap SE and 95% interval."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-d arrays of one length; got {a.shape} and {b.shape}")
    reps = check_int("reps", reps, low=10)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = a.size
    if n < 4:
        raise ValueError(f"spearman_bootstrap needs at least 4 finite pairs; got {n}")
    rho = float(scipy.stats.spearmanr(a, b).statistic)
    out = np.empty(reps)
    for s in range(0, reps, 100):  # 100 resamples at a time: memory 100 x n
        idx = rng.integers(0, n, size=(min(100, reps - s), n))
        ra = scipy.stats.rankdata(a[idx], axis=1)
        rb = scipy.stats.rankdata(b[idx], axis=1)
        ra -= ra.mean(1, keepdims=True)
        rb -= rb.mean(1, keepdims=True)
        out[s : s + len(idx)] = (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    lo, hi = np.nanpercentile(out, [2.5, 97.5])
    return {
        "rho": rho,
        "se": float(np.nanstd(out, ddof=1)),
        "ci95": [float(lo), float(hi)],
        "n": int(n),
        "reps": reps,
    }


def neighbour_label_agreement(features: np.ndarray, y: np.ndarray, *, k: int = 10) -> np.ndarray:
    """(n,) fraction of the k nearest others (cosine) with the same label; features (n, d)."""
    x = np.asarray(features, dtype=np.float32)
    y = np.asarray(y)
    n = len(x)
    k = check_int("k", k, low=1, high=n - 1)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    out = np.empty(n)
    for a in range(0, n, 1024):
        sim = x[a : a + 1024] @ x.T
        sim[np.arange(sim.shape[0]), np.arange(a, a + sim.shape[0])] = -np.inf
        nn = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        out[a : a + 1024] = (y[nn] == y[a : a + 1024, None]).mean(1)
    return out
