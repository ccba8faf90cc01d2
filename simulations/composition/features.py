r"""Sparse signed features with power-law frequencies: the linear model of Zhou, Ma, Ge (2025).

Source: arXiv 2510.16322 as summarised in docs/references.md §4 (tagged [summary]). An example
is :math:`x \in \{0, +1, -1\}^d`; coordinate :math:`i = 1, \dots, d` is nonzero with probability

.. math:: p_i = \min\Big(1, \frac{s\, i^{-\alpha}}{Z_\alpha}\Big), \qquad
          Z_\alpha = \sum_{i=1}^{d} i^{-\alpha},

independently of the other coordinates, and its sign is uniform on :math:`\{+1, -1\}`.
**Normaliser.** :math:`Z_\alpha` is the finite sum over the d coordinates, the choice docs/references.md
marks as "assumed" (the paper's own constant was not available). With it
:math:`\sum_i p_i = s` exactly when no :math:`p_i` is clipped (:math:`s \le Z_\alpha`); for
:math:`s > Z_\alpha` (e.g. s = 5 with :math:`\alpha \ge 1.3` at d = 10^4) the first coordinates
are clipped to 1 and an example holds fewer than s active features on average
(:func:`mean_active` gives the exact expectation :math:`\sum_i p_i`).

The first :math:`k` coordinates are head features, the rest tail features; by default
:math:`k = \max\{i : n p_i \ge 10\}` (0 when :math:`n p_1 < 10`), the paper's "n p_k = 10".
Responses :math:`y = \langle\beta^*, x\rangle + \sigma\varepsilon`, :math:`\varepsilon \sim N(0, 1)`,
with :math:`\beta^*_i = i^{-0.1}` by default.

Many independent runs are drawn at once and stored as one coordinate list (COO) over the
stacked rows (run r, example a) -> global row :math:`r n + a`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory._validate import check_finite, check_int

__all__ = [
    "ALPHA_MAX",
    "normaliser",
    "feature_probabilities",
    "mean_active",
    "head_size",
    "power_beta",
    "FeatureSample",
    "sample_features",
]

#: Largest power-law exponent accepted (p_i for i >= 2 is below 1e-3 s at alpha = 10).
ALPHA_MAX = 10.0
#: Columns with p_i at least this are drawn (and multiplied) densely, the rest sparsely.
DENSE_P = 0.05
#: Uniform draws per block of the dense part (bounds its memory at 32 MiB).
_BLOCK = 1 << 22


def _check_model(d, alpha, s) -> tuple[int, float, float]:
    d = check_int("d", d, low=1, high=10**7)
    alpha = check_finite("alpha", alpha, low=0.0, low_open=True, high=ALPHA_MAX)
    s = check_finite("s", s, low=0.0, low_open=True, high=float(d))
    return d, alpha, s


def normaliser(d: int, alpha: float) -> float:
    r""":math:`Z_\alpha = \sum_{i=1}^d i^{-\alpha}` (the assumed normaliser, see the module text)."""
    d, alpha, _ = _check_model(d, alpha, 1.0)
    return float(np.sum(np.arange(1, d + 1, dtype=np.float64) ** -alpha))


def feature_probabilities(d: int, alpha: float, s: float) -> np.ndarray:
    r""":math:`p_i = \min(1, s i^{-\alpha} / Z_\alpha)` for i = 1..d, shape (d,), nonincreasing.

    ValueError for d outside [1, 1e7], alpha outside (0, 10] or s outside (0, d].
    """
    d, alpha, s = _check_model(d, alpha, s)
    i = np.arange(1, d + 1, dtype=np.float64)
    w = i**-alpha
    return np.minimum(1.0, s * w / w.sum())


def mean_active(p: np.ndarray) -> float:
    r"""Expected number of active features of one example, :math:`\sum_i p_i` (= s unless clipped)."""
    return float(np.sum(p))


def head_size(p: np.ndarray, n: int, head_count: float = 10.0) -> int:
    r"""k = the largest i (1-based) with :math:`n p_i \ge` ``head_count``; 0 if there is none.

    ``p`` is nonincreasing, so the head is the prefix of coordinates expected at least
    ``head_count`` times among n examples (docs/references.md §4: "k set by n p_k = 10").
    """
    n = check_int("n", n, low=1)
    head_count = check_finite("head_count", head_count, low=0.0, low_open=True)
    return int(np.count_nonzero(n * np.asarray(p) >= head_count))


def power_beta(d: int, exponent: float = 0.1) -> np.ndarray:
    r"""The target :math:`\beta^*_i = i^{-\text{exponent}}`, i = 1..d (docs/references.md §4:
    exponent 0.1)."""
    d = check_int("d", d, low=1, high=10**7)
    exponent = check_finite("beta_exponent", exponent, low=0.0, high=10.0)
    return np.arange(1, d + 1, dtype=np.float64) ** -exponent


@dataclass(frozen=True)
class FeatureSample:
    r"""``runs`` independent training sets of n examples in d features, stored sparsely.

    Entry e is :math:`X_{r, a, i} = \text{sign}[e]` with global row ``row[e]`` = r n + a and
    feature ``col[e]`` = i (0-based; feature i + 1 of the paper), sorted by (row, col), one
    entry per nonzero. ``y`` (runs, n) are the responses and ``signal`` (runs, n) their
    noise-free part :math:`\langle\beta^*, x\rangle`; ``p`` (d,) the feature probabilities,
    ``beta`` (d,) the target, ``k`` the head size.
    """

    n: int
    d: int
    runs: int
    row: np.ndarray
    col: np.ndarray
    sign: np.ndarray
    y: np.ndarray
    signal: np.ndarray
    p: np.ndarray
    beta: np.ndarray
    k: int

    @property
    def run(self) -> np.ndarray:
        """Run index of every entry, shape (nnz,)."""
        return self.row // self.n

    @property
    def local_row(self) -> np.ndarray:
        """Example index within its run of every entry, shape (nnz,)."""
        return self.row % self.n

    def counts(self) -> np.ndarray:
        """(runs, d) number of training examples of each run that contain each feature."""
        flat = np.bincount(self.run * self.d + self.col, minlength=self.runs * self.d)
        return flat.reshape(self.runs, self.d)

    def dense(self) -> np.ndarray:
        """(runs, n, d) dense design matrices (small instances and tests only)."""
        X = np.zeros((self.runs, self.n, self.d))
        X[self.run, self.local_row, self.col] = self.sign
        return X

    def select_runs(self, lo: int, hi: int) -> FeatureSample:
        """Runs lo..hi-1 as a sample of their own (rows renumbered from 0)."""
        lo = check_int("lo", lo, low=0, high=self.runs - 1)
        hi = check_int("hi", hi, low=lo + 1, high=self.runs)
        a, b = np.searchsorted(self.row, [lo * self.n, hi * self.n])
        return FeatureSample(
            n=self.n,
            d=self.d,
            runs=hi - lo,
            row=self.row[a:b] - lo * self.n,
            col=self.col[a:b],
            sign=self.sign[a:b],
            y=self.y[lo:hi],
            signal=self.signal[lo:hi],
            p=self.p,
            beta=self.beta,
            k=self.k,
        )

    @classmethod
    def from_dense(
        cls, X: np.ndarray, y: np.ndarray, *, beta: np.ndarray | None = None, k: int = 0
    ) -> FeatureSample:
        """A sample holding the given (runs, n, d) matrix with entries in {0, +1, -1} and (runs, n)
        responses; ``p`` is set to the observed column frequencies, ``beta`` to zeros if absent."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise ValueError(f"X must have shape (runs, n, d); got shape {X.shape}")
        R, n, d = X.shape
        if not np.isin(X, (-1.0, 0.0, 1.0)).all():
            raise ValueError("X: entries must be 0, +1 or -1")
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (R, n):
            raise ValueError(f"y must have shape {(R, n)}; got {y.shape}")
        r, a, i = np.nonzero(X)
        beta = np.zeros(d) if beta is None else np.asarray(beta, dtype=np.float64)
        return cls(
            n=n,
            d=d,
            runs=R,
            row=(r * n + a).astype(np.int64),
            col=i.astype(np.int64),
            sign=X[r, a, i].astype(np.int8),
            y=y,
            signal=np.einsum("rad,d->ra", X, beta),
            p=(X != 0).mean(axis=(0, 1)),
            beta=beta,
            k=check_int("k", k, low=0, high=d),
        )


def _dense_entries(p_dense: np.ndarray, rows: int, rng: np.random.Generator):
    """(row, column position) of the nonzeros of a rows x len(p_dense) Bernoulli(p) matrix."""
    m = p_dense.size
    step = max(1, _BLOCK // max(m, 1))
    rr, cc = [], []
    for lo in range(0, rows, step):  # blocks of rows, a fixed size: the stream does not depend on memory
        hi = min(rows, lo + step)
        hit = rng.random((hi - lo, m)) < p_dense
        r, c = np.nonzero(hit)
        rr.append(r + lo)
        cc.append(c)
    return np.concatenate(rr), np.concatenate(cc)


def _sparse_entries(counts: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """For column j a uniformly random set of ``counts[j]`` distinct rows; returns the rows,
    column after column.

    Rows are drawn iid uniform and the later copies of a repeated (column, row) are redrawn
    until none is left. The procedure commutes with every relabelling of the rows and returns
    exactly ``counts[j]`` distinct rows, so each set is uniform among the sets of that size.
    """
    col = np.repeat(np.arange(counts.size), counts)
    row = rng.integers(0, rows, size=col.size)
    while True:
        key = col * rows + row
        _, first = np.unique(key, return_index=True)
        again = np.ones(key.size, dtype=bool)
        again[first] = False
        if not again.any():
            return row
        row[again] = rng.integers(0, rows, size=int(again.sum()))


def sample_features(
    n: int,
    d: int,
    alpha: float,
    s: float,
    *,
    runs: int = 1,
    sigma: float = 0.0,
    beta: np.ndarray | None = None,
    head_count: float = 10.0,
    rng: np.random.Generator,
) -> FeatureSample:
    r"""Draw ``runs`` training sets of n examples from the model of the module text.

    Every entry is independently nonzero with probability :math:`p_i` and carries a uniform
    sign. Columns with :math:`p_i \ge 0.05` are drawn as Bernoulli matrices; for the others the
    number of rows, :math:`\mathrm{Binomial}(\text{runs}\cdot n, p_i)`, is drawn first and then a
    uniform set of rows of that size (together the same law). ``beta`` defaults to
    :func:`power_beta` (exponent 0.1). The noise is drawn last, so two calls from equal
    generators that differ only in ``sigma`` share the design matrices.

    ValueError naming the parameter for n outside [1, 1e6], d outside [1, 1e7], alpha outside
    (0, 10], s outside (0, d], runs outside [1, 1e5], sigma outside [0, 1e3] or a beta of
    the wrong shape.
    """
    n = check_int("n", n, low=1, high=10**6)
    d, alpha, s = _check_model(d, alpha, s)
    runs = check_int("runs", runs, low=1, high=10**5)
    sigma = check_finite("sigma", sigma, low=0.0, high=1e3)
    beta = power_beta(d) if beta is None else np.asarray(beta, dtype=np.float64)
    if beta.shape != (d,) or not np.isfinite(beta).all():
        raise ValueError(f"beta must be a finite array of shape ({d},); got shape {beta.shape}")
    p = feature_probabilities(d, alpha, s)
    rows = runs * n
    dense = np.flatnonzero(p >= DENSE_P)  # a prefix: p is nonincreasing
    r1, c1 = _dense_entries(p[dense], rows, rng)
    rest = np.arange(dense.size, d)
    counts = rng.binomial(rows, p[rest])
    r2 = _sparse_entries(counts, rows, rng)
    c2 = rest[np.repeat(np.arange(rest.size), counts)]
    row = np.concatenate([r1, r2]).astype(np.int64)
    col = np.concatenate([dense[c1], c2]).astype(np.int64)
    order = np.lexsort((col, row))
    row, col = row[order], col[order]
    sign = (2 * rng.integers(0, 2, size=row.size) - 1).astype(np.int8)
    signal = np.bincount(row, weights=sign * beta[col], minlength=rows).reshape(runs, n)
    y = signal + sigma * rng.standard_normal((runs, n)) if sigma > 0 else signal.copy()
    return FeatureSample(
        n=n,
        d=d,
        runs=runs,
        row=row,
        col=col,
        sign=sign,
        y=y,
        signal=signal,
        p=p,
        beta=beta,
        k=head_size(p, n, head_count),
    )
