r"""What the composition experiment measures on fitted coefficients, batched over runs.

Symbols as in :mod:`simulations.composition.features`: :math:`\Delta = \hat\beta - \beta^*`,
:math:`c_i` the number of training examples of a run that contain feature i, head = the first k
features, tail = the rest.

- :func:`error_by_count`: per-feature error :math:`|\Delta_i|` and the recovered indicator
  :math:`|\Delta_i| \le \text{tol}\cdot|\beta^*_i|` grouped by :math:`c_i = 0, 1, \dots, C` and
  :math:`> C` (sums per run; :func:`pooled_ratio` turns them into means with run-level SEs);
- :func:`id_loss`: the noiseless in-distribution test loss, computed exactly:
  coordinates are independent with mean-zero signs, so
  :math:`E_x[\langle\Delta, x\rangle^2] = \sum_i p_i\Delta_i^2` (no test sampling);
- :func:`composition_points`, :func:`ood_loss`: out-of-distribution points built from a
  training set: :math:`x = \sum_{j\in T} \pm e_j` with T a set of ``size`` tail features drawn
  from an eligible set (e.g. features seen exactly once) such that **no training example
  contains two features of T** (the combination is unseen); loss
  :math:`\langle\Delta, x\rangle^2` per point;
- :func:`theory_rate` and :func:`fit_constant`: the [summary] rate
  :math:`s(\ln^2 d/(ns))^{1 - 1/\alpha}` and one constant fitted by least squares in log space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from simulations.composition.features import FeatureSample
from simulations.stats import mean_se, pooled_ratio  # noqa: F401 - re-exported; one implementation each
from theory._validate import check_finite, check_int

__all__ = [
    "count_bins",
    "error_by_count",
    "recovered",
    "id_loss",
    "cooccurring_pairs",
    "CompositionPoints",
    "composition_points",
    "ood_loss",
    "theory_rate",
    "fit_constant",
    "mean_se",
    "pooled_ratio",
]


def count_bins(counts: np.ndarray, max_count: int) -> np.ndarray:
    """Bin of each count: c for c <= max_count, max_count + 1 for larger counts."""
    max_count = check_int("max_count", max_count, low=0)
    return np.minimum(counts, max_count + 1)


def recovered(beta_hat: np.ndarray, beta: np.ndarray, tol: float) -> np.ndarray:
    r"""Recovered features: :math:`|\hat\beta_i - \beta^*_i| \le \text{tol}\cdot|\beta^*_i|`
    (relative tolerance; ``tol`` in [0, 1]), same shape as ``beta_hat``."""
    tol = check_finite("recover_tol", tol, low=0.0, high=1.0)
    return np.abs(beta_hat - beta) <= tol * np.abs(beta)


def error_by_count(
    beta_hat: np.ndarray,
    beta: np.ndarray,
    counts: np.ndarray,
    max_count: int,
    tol: float,
    mask: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-run sums by count bin: ``err`` (sum of |beta_hat_i - beta*_i|), ``recovered``
    (number recovered, see :func:`recovered`) and ``features`` (number of features), each
    (runs, max_count + 2); ``mask`` (runs, d) or (d,) restricts the features (e.g. the tail)."""
    R, d = beta_hat.shape
    B = max_count + 2
    b = count_bins(counts, max_count)
    m = np.ones((R, d), dtype=bool) if mask is None else np.broadcast_to(mask, (R, d))
    key = (np.arange(R)[:, None] * B + b)[m]
    err = np.abs(beta_hat - beta)[m]
    rec = recovered(beta_hat, beta, tol)[m]
    out = {}
    for name, w in (("err", err), ("recovered", rec.astype(np.float64)), ("features", None)):
        out[name] = np.bincount(key, weights=w, minlength=R * B).reshape(R, B).astype(np.float64)
    return out


def id_loss(
    beta_hat: np.ndarray, beta: np.ndarray, p: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    r"""Exact noiseless test loss :math:`\sum_i p_i(\hat\beta_i - \beta^*_i)^2` per run, shape (runs,);
    with ``mask`` (runs, d) only the features it marks (the loss splits over features)."""
    terms = p * (beta_hat - beta) ** 2
    if mask is not None:
        terms = np.where(mask, terms, 0.0)
    return terms.sum(axis=1)


def cooccurring_pairs(sample: FeatureSample, features: np.ndarray) -> np.ndarray:
    r"""Sorted keys :math:`(r d + i) \cdot Rd + (r d + j)`, i < j, of the feature pairs of run r
    that share a training example, among the features marked by ``features`` (runs, d)."""
    R, d = sample.runs, sample.d
    keep = features[sample.run, sample.col]
    T = scipy.sparse.csr_matrix(
        (np.ones(int(keep.sum())), (sample.row[keep], sample.run[keep] * d + sample.col[keep])),
        shape=(R * sample.n, R * d),
    )
    C = (T.T @ T).tocoo()
    up = C.row < C.col
    return np.sort(C.row[up].astype(np.int64) * (R * d) + C.col[up])


@dataclass(frozen=True)
class CompositionPoints:
    r"""Out-of-distribution points :math:`x = \sum_j \text{sign}_j e_{\text{feature}_j}`.

    ``feature`` (runs, M, size) feature indices, ``sign`` (runs, M, size) in {+1, -1},
    ``use`` (runs, M) the accepted candidates (at most ``num`` per run; fewer when the eligible
    set is small or combinations keep colliding).
    """

    feature: np.ndarray
    sign: np.ndarray
    use: np.ndarray

    @property
    def per_run(self) -> np.ndarray:
        return self.use.sum(axis=1)


def composition_points(
    sample: FeatureSample,
    eligible: np.ndarray,
    *,
    size: int,
    num: int,
    rng: np.random.Generator,
    oversample: int = 4,
) -> CompositionPoints:
    r"""``num`` points per run, each the signed sum of ``size`` distinct features drawn uniformly
    from ``eligible`` (runs, d), kept only if no training example of the run contains two of
    them. ``oversample * num`` candidates are drawn per run and the first ``num`` accepted
    ones are used (rejection sampling: the accepted points are uniform over the allowed sets)."""
    size = check_int("ood_size", size, low=1, high=64)
    num = check_int("ood_points", num, low=1, high=10**6)
    R, d = sample.runs, sample.d
    M = oversample * num
    eligible = np.asarray(eligible, dtype=bool)
    flat = np.flatnonzero(eligible.ravel())  # run * d + feature, grouped by run
    m = eligible.sum(axis=1)
    start = np.concatenate([[0], np.cumsum(m)[:-1]])
    u = rng.random((R, M, size))
    pick = np.minimum(np.floor(u * m[:, None, None]).astype(np.int64), np.maximum(m - 1, 0)[:, None, None])
    own = (np.arange(R) * d)[:, None, None]
    if flat.size:
        cand = flat[np.minimum(start[:, None, None] + pick, flat.size - 1)]
        cand = np.where((m > 0)[:, None, None], cand, own)  # placeholders, rejected below (m < size)
    else:
        cand = np.broadcast_to(own, (R, M, size)).copy()
    sign = (2 * rng.integers(0, 2, size=(R, M, size)) - 1).astype(np.int8)
    ok = np.broadcast_to((m >= size)[:, None], (R, M)).copy()
    srt = np.sort(cand, axis=2)
    ok &= (np.diff(srt, axis=2) > 0).all(axis=2)
    if size > 1 and ok.any():
        pairs = cooccurring_pairs(sample, eligible)
        a, b = np.triu_indices(size, k=1)
        keys = srt[:, :, a] * (R * d) + srt[:, :, b]
        ok &= ~np.isin(keys, pairs).any(axis=2)
    use = ok & (np.cumsum(ok, axis=1) <= num)
    return CompositionPoints(feature=cand - own, sign=sign, use=use)


def ood_loss(beta_hat: np.ndarray, beta: np.ndarray, points: CompositionPoints) -> np.ndarray:
    r"""Mean of :math:`\langle\hat\beta - \beta^*, x\rangle^2` over each run's accepted points,
    shape (runs,); NaN for a run without points."""
    R = beta_hat.shape[0]
    delta = (beta_hat - beta)[np.arange(R)[:, None, None], points.feature]
    loss = (delta * points.sign).sum(axis=2) ** 2
    k = points.per_run
    return np.where(k > 0, np.where(points.use, loss, 0.0).sum(axis=1) / np.maximum(k, 1), np.nan)


def theory_rate(alpha: float, n: int, d: int, s: float) -> float:
    r"""The [summary] rate of the noiseless test loss, :math:`s(\ln^2 d/(ns))^{1 - 1/\alpha}`
    (natural log; docs/references.md §4). Its constant is unknown: compare shapes via :func:`fit_constant`.

    Computed in log space; for alpha < 1 the exponent is negative (the rate is stated for
    alpha > 1) and the value may exceed the float range: then ``inf``, not an error."""
    power = 1.0 - 1.0 / alpha
    if power == 0.0:
        return float(s)
    if d == 1:  # ln d = 0: the base is 0
        return 0.0 if power > 0 else math.inf
    log_rate = math.log(s) + power * (2.0 * math.log(math.log(d)) - math.log(n * s))
    return math.inf if log_rate > 709.0 else math.exp(log_rate)


def fit_constant(loss, rate) -> float:
    r"""The C minimising :math:`\sum_j(\ln \text{loss}_j - \ln(C\,\text{rate}_j))^2`:
    :math:`\ln C = \text{mean}_j(\ln\text{loss}_j - \ln\text{rate}_j)`; needs positive values."""
    loss, rate = np.asarray(loss, dtype=np.float64), np.asarray(rate, dtype=np.float64)
    if loss.size == 0 or loss.shape != rate.shape or (loss <= 0).any() or (rate <= 0).any():
        raise ValueError("fit_constant: need equally many positive losses and rates (at least one)")
    return float(np.exp(np.mean(np.log(loss) - np.log(rate))))
