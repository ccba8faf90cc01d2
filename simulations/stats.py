r"""Statistics of Monte Carlo results: one implementation of each, with one rule for NaN.

**The NaN rule.** A non-finite entry (NaN, inf) is a value that could not be measured (a trial
with no rare cluster, a model that saw no example of a class): it is *dropped*, and ``count``
says how many values were used. Where nothing is left, the mean is None; where fewer than two
values are left, the SE is None (JSON null, an em dash in reports). Nothing here ever returns a
NaN to results.json.

- :func:`mean_se`: mean and standard error :math:`s/\sqrt{k}` (sample SD, ``ddof=1``);
- :func:`paired_difference`: :func:`mean_se` of :math:`a_t - b_t` (paired draws share noise);
- :func:`pooled_ratio`: :math:`\hat r = \sum_t a_t / \sum_t b_t` with its delta-method SE;
- :func:`spearman`, :func:`spearman_bootstrap`: rank correlation with a 95% interval
  (Fisher z with the variance 1.06/(n-3) of Fieller, Hartley & Pearson 1957; or the bootstrap);
- :func:`pm`: ``mean ± se`` for a report; :func:`pm_percent` the same for a fraction, in percent;
- :data:`FEW_EXAMPLES`, :data:`FEW_NOTE`: a report row resting on fewer examples than this is
  marked ``‡`` and the note says why.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

from theory._validate import check_int

__all__ = [
    "finite_or_none",
    "mean_se",
    "paired_difference",
    "pooled_ratio",
    "pm",
    "pm_percent",
    "FEW_EXAMPLES",
    "FEW_NOTE",
    "beyond_noise",
    "spearman",
    "spearman_bootstrap",
]


def finite_or_none(x) -> float | None:
    """``x`` as a float, None where it is NaN or infinite (JSON null)."""
    x = float(x)
    return x if math.isfinite(x) else None


def mean_se(v) -> dict:
    """``{"mean", "se", "count"}`` of the finite entries of ``v`` (module docstring: the NaN rule)."""
    v = np.asarray(v, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": None, "se": None, "count": 0}
    se = finite_or_none(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else None
    return {"mean": finite_or_none(v.mean()), "se": se, "count": int(v.size)}


def paired_difference(a, b) -> dict:
    """:func:`mean_se` of the paired differences ``a - b`` (same draws, same seeds)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired_difference needs arrays of one shape; got {a.shape} and {b.shape}")
    return mean_se(a - b)


def pooled_ratio(a, b) -> tuple[np.ndarray, np.ndarray]:
    r"""Pooled ratio :math:`\hat r = \sum_t a_t / \sum_t b_t` over draws (axis 0) and its draw-level
    (delta-method) SE :math:`\sqrt{T/(T-1)\sum_t (a_t - \hat r b_t)^2}/\sum_t b_t`; not finite
    (NaN or inf) where :math:`\sum_t b_t = 0`, and the SE where T = 1: callers turn them into None."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    T = a.shape[0]
    tot = b.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = a.sum(axis=0) / tot
        se = np.sqrt(T / (T - 1) * ((a - r * b) ** 2).sum(axis=0)) / tot if T > 1 else np.full_like(r, np.nan)
    return r, se


def pm(d: dict | None, digits: int = 4, *, style: str = "f") -> str:
    """``mean ± se`` rounded to what the SE resolves: the SE to one significant digit (two when
    they start with 1, e.g. 0.0013), the mean to the same decimal place (``0.824 ± 0.009``); in
    scientific notation with one exponent, ``(2.0 ± 2.0)e-06``, for SEs below 1e-4 or means of
    1e5 and more. Without a usable SE (missing, 0, not finite) the mean alone with ``digits``
    decimals (``style="f"``) or significant digits (``"g"``); an em dash for a missing mean.
    """
    if not d or d.get("mean") is None:
        return "—"
    mean, se = float(d["mean"]), d.get("se")
    fmt = f"{{:.{digits}{style}}}"
    if se is None or not math.isfinite(float(se)) or float(se) <= 0 or not math.isfinite(mean):
        return fmt.format(mean) + ("" if se is None else " ± " + fmt.format(float(se)))
    se = float(se)
    e = math.floor(math.log10(se))
    lead = se / 10.0**e
    sig = 2 if lead < 2 else 1  # 0.0013 keeps 13; 0.009 keeps 9
    scale = 0 if (se >= 1e-4 and abs(mean) < 1e5) else math.floor(math.log10(abs(mean) if mean else se))
    decimals = max(0, sig - 1 - (e - scale))
    m, s = mean / 10.0**scale, se / 10.0**scale
    body = f"{m:.{decimals}f} ± {s:.{decimals}f}"
    return body if scale == 0 else f"({body})e{scale:+03d}"


def pm_percent(d: dict | None, *, sign: bool = False) -> str:
    """:func:`pm` of a fraction's mean and SE, in percent (``82.4 ± 0.9``); ``sign``: ``+`` on a
    positive mean (differences)."""
    if not d or d.get("mean") is None:
        return "—"
    se = d.get("se")
    text = pm({"mean": 100.0 * d["mean"], "se": None if se is None else 100.0 * se}, 2)
    return "+" + text if sign and d["mean"] > 0 else text


# a row resting on fewer examples than this is marked in reports (FEW_NOTE under the table)
FEW_EXAMPLES = 20
FEW_NOTE = (
    f"‡ rests on fewer than {FEW_EXAMPLES} examples: read it as an anecdote, not as a measured effect, "
    "whatever its SE."
)


def beyond_noise(found: int, expected: float, *, k: float = 3.0) -> tuple[float, str]:
    """``found`` discoveries (pairs passing thresholds) against ``expected`` false ones: the Poisson
    z, (found - expected) / sqrt(max(expected, 1)), and the conclusion in words (beyond noise at
    z >= ``k``; otherwise not resolved, saying so where noise alone expects more than was found)."""
    z = (found - expected) / math.sqrt(max(expected, 1.0))
    if z >= k:
        return z, "more than noise explains"
    if expected >= found:
        return z, "not resolved at this size: the expected false pairs exceed the pairs found"
    return z, "not resolved at this size"


def _finite_pairs(a, b, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"{what} needs two 1-d arrays of one length; got {a.shape} and {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 4:
        raise ValueError(f"{what} needs at least 4 finite pairs; got {int(ok.sum())}")
    return a[ok], b[ok]


def spearman(a, b) -> dict:
    """Spearman's rho of the finite pairs, with an approximate 95% interval (Fisher z, variance
    1.06/(n - 3)); ``{"rho", "ci95", "n"}``."""
    a, b = _finite_pairs(a, b, "spearman")
    n = a.size
    rho = float(scipy.stats.spearmanr(a, b).statistic)
    half = 1.96 * np.sqrt(1.06 / (n - 3))
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    return {"rho": rho, "ci95": [float(np.tanh(z - half)), float(np.tanh(z + half))], "n": n}


def spearman_bootstrap(a, b, *, reps: int = 1000, rng: np.random.Generator) -> dict:
    """rho of the finite pairs, its bootstrap SE and 95% percentile interval (``reps`` resamples
    of the pairs); ``{"rho", "se", "ci95", "n", "reps"}``."""
    a, b = _finite_pairs(a, b, "spearman_bootstrap")
    reps = check_int("reps", reps, low=10)
    n = a.size
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
    return {"rho": rho, "se": float(np.nanstd(out, ddof=1)), "ci95": [float(lo), float(hi)], "n": int(n),
            "reps": reps}  # fmt: skip
