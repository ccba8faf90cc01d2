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

from simulations.stats import spearman_bootstrap
from theory._validate import check_int

__all__ = ["spearman_bootstrap", "neighbour_label_agreement"]


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
