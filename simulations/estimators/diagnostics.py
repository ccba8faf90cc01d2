r"""Checks of the subsampled estimates themselves: split-half calibration and rank correlation.

**Split-half calibration.** The t models are split at random into two halves A and B; each
half gives its own estimate with its own standard error. If the standard errors are right,

.. math:: z_i = \frac{\widetilde{\mathrm{mem}}_A(i) - \widetilde{\mathrm{mem}}_B(i)}
                     {\sqrt{se_A(i)^2 + se_B(i)^2}}

has mean 0 and standard deviation close to 1 over the examples (both halves estimate the same
mem(i) from independent models). A standard deviation well above 1 means the errors are
understated; the Laplace-smoothed Bernoulli variance makes them slightly conservative for
examples every model gets right (or wrong).

**Spearman correlation** with an approximate 95% interval from Fisher's z with the
Fieller-Hartley-Pearson variance 1.06 / (n - 3) (Fieller et al. 1957, Biometrika 44:470).
"""

from __future__ import annotations

import numpy as np

from simulations.estimators.memorization import memorization
from simulations.stats import spearman

__all__ = ["split_half_z", "spearman"]


def split_half_z(correct: np.ndarray, masks: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """z_i of the two halves' memorization estimates, shape (n,); NaN where a half cannot estimate."""
    masks = np.asarray(masks)
    t = masks.shape[0]
    if t < 4:
        raise ValueError(f"split_half_z needs at least 4 models; got {t}")
    perm = rng.permutation(t)
    a, b = np.sort(perm[: t // 2]), np.sort(perm[t // 2 :])
    ea = memorization(np.asarray(correct)[a], masks[a])
    eb = memorization(np.asarray(correct)[b], masks[b])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ea.value - eb.value) / np.sqrt(ea.se**2 + eb.se**2)
