r"""The generative process of Feldman's subpopulation model, batched over trials.

One trial (docs/references.md §1.1): draw the distribution D over the N points of X from the
frequency prior (variant ``fixed``: the normalised list randomly assigned; ``iid``: iid draws
from the list, then normalised), draw the labelling f from the label prior, draw S = n iid
examples x_i ~ D and observe y_i = f(x_i), each label replaced by a uniform random label with
probability 1 - kappa.

A :class:`Batch` holds T trials. Dense arrays have shape (T, N); the seen points of all T trials
are stored flattened (one row per (trial, seen point), trial-major), with their label counts
``K`` of shape (S, m): ``K[s, t]`` is the number of examples at that point observed with label t.
No per-example Python loop: counts come from one multinomial per trial, noisy labels from one
vectorised multinomial per seen point.

Label priors (:class:`LabelPrior`): iid labels with class marginal w (uniform or skewed), or
*block-correlated* labels: the domain is cut into blocks of ``block_size`` consecutive points;
each block draws a label c ~ w and each point in it takes c with probability rho, else an
independent draw from w. The points are randomly assigned their frequencies (fixed variant), so
a block is a random set of subpopulations whose labels agree more often than chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import FrequencyPrior
from theory._validate import check_finite, check_int, check_prob
from theory.priors import check_variant

__all__ = ["LabelPrior", "Batch", "sample_batch"]


@dataclass(frozen=True)
class LabelPrior:
    """Prior F over labelings f: X -> {0..m-1}, with observation noise.

    ``classes`` m >= 2; ``skew`` s >= 0 gives the class marginal w_t ~ (t + 1)^-s (s = 0:
    uniform); ``block_size`` >= 1 and ``rho`` in [0, 1) make labels block-correlated (see the
    module docstring; block_size = 1 or rho = 0 is iid); ``kappa`` in [0, 1] is the
    keep-probability of each observed label.
    """

    classes: int = 10
    skew: float = 0.0
    block_size: int = 1
    rho: float = 0.0
    kappa: float = 1.0

    def __post_init__(self):
        check_int("classes", self.classes, low=2)
        check_finite("label_skew", self.skew, low=0.0, high=50.0)
        check_int("block_size", self.block_size, low=1)
        check_finite("rho", self.rho, low=0.0, high=1.0, high_open=True)
        check_prob("kappa", self.kappa)

    @property
    def w(self) -> np.ndarray:
        """Class marginal, shape (m,)."""
        w = np.arange(1, self.classes + 1, dtype=np.float64) ** -self.skew
        return w / w.sum()

    @property
    def iid(self) -> bool:
        """True when the labels of different points are independent."""
        return self.block_size == 1 or self.rho == 0.0

    @property
    def uniform(self) -> bool:
        return self.iid and self.skew == 0.0

    @property
    def transition(self) -> np.ndarray:
        """P[c, t] = P(f(x) = t | block label c) = rho 1[c = t] + (1 - rho) w_t, shape (m, m)."""
        return self.rho * np.eye(self.classes) + (1.0 - self.rho) * self.w[None, :]

    @property
    def obs_same(self) -> float:
        """P(observed label = f(x)) = kappa + (1 - kappa) / m."""
        return self.kappa + (1.0 - self.kappa) / self.classes

    @property
    def obs_other(self) -> float:
        """P(observed label = a given t != f(x)) = (1 - kappa) / m."""
        return (1.0 - self.kappa) / self.classes

    def num_blocks(self, N: int) -> int:
        return 1 if self.iid else -(-N // self.block_size)

    def block_of(self, N: int) -> np.ndarray:
        """Block id of each point, shape (N,) (all zero for iid labels)."""
        if self.iid:
            return np.zeros(N, dtype=np.int64)
        return np.arange(N, dtype=np.int64) // self.block_size


@dataclass
class Batch:
    """T independent trials of the model. Shapes: T trials, N points, S seen (trial, point) rows, m."""

    n: int
    labels: LabelPrior
    D: np.ndarray  # (T, N) float64, the drawn distribution over X (rows sum to 1)
    f: np.ndarray  # (T, N) int64, the true labels
    counts: np.ndarray  # (T, N) int64, how often each point is in S
    trial: np.ndarray  # (S,) trial of each seen row
    point: np.ndarray  # (S,) point of each seen row
    ell: np.ndarray  # (S,) its count l >= 1
    K: np.ndarray  # (S, m) observed label counts, rows sum to ell
    block: np.ndarray  # (N,) block id of each point
    # Aggregated rows (see ``aggregate``): each row stands for ``weight`` seen points of one trial
    # with the same true label and label counts, of total frequency ``Dsum``. Raw batch: None.
    weight: np.ndarray | None = None  # (S,) points per row
    Dsum: np.ndarray | None = None  # (S,) their total frequency
    f_row: np.ndarray | None = None  # (S,) their true label
    point_row: np.ndarray | None = None  # (P,) row of each seen point (P seen points)
    point_trial: np.ndarray | None = None  # (P,) trial of each seen point
    point_id: np.ndarray | None = None  # (P,) the point itself

    @property
    def T(self) -> int:
        return self.D.shape[0]

    @property
    def N(self) -> int:
        return self.D.shape[1]

    @property
    def m(self) -> int:
        return self.labels.classes

    @property
    def num_blocks(self) -> int:
        return self.labels.num_blocks(self.N)

    @property
    def w_rows(self) -> np.ndarray:
        """Points per row, shape (S,)."""
        return np.ones(self.ell.size) if self.weight is None else self.weight

    @property
    def D_rows(self) -> np.ndarray:
        """Total frequency of each row's points, shape (S,)."""
        return self.D[self.trial, self.point] if self.Dsum is None else self.Dsum

    @property
    def f_rows(self) -> np.ndarray:
        """True label of each row's points, shape (S,)."""
        return self.f[self.trial, self.point] if self.f_row is None else self.f_row

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(trial, point, row) of every seen point."""
        if self.point_row is None:
            return self.trial, self.point, np.arange(self.ell.size)
        return self.point_trial, self.point_id, self.point_row

    def aggregate(self) -> Batch:
        """The same trials with seen points grouped by (trial, true label, label counts).

        Exact for every learner whose law at x depends only on x's label counts (iid label
        priors, learners marked local): far fewer rows, identical measurements. Not for
        block-correlated labels (the posterior depends on which points share a block).
        """
        if not self.labels.iid:
            raise ValueError("aggregate: needs an iid label prior (block_size = 1 or rho = 0)")
        fs = self.f_rows
        if self.labels.kappa == 1.0:
            lmax = np.int64(self.ell.max() + 1)
            key = (self.trial * lmax + self.ell) * self.m + fs
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        else:
            # rows grouped by (trial, f, K) with a stable lexsort (np.unique(axis=0) is 7x slower)
            table = np.column_stack([self.trial, fs, self.K])
            order = np.lexsort(table.T[::-1])
            srt = table[order]
            new = np.ones(order.size, dtype=bool)
            new[1:] = np.any(srt[1:] != srt[:-1], axis=1)
            inv = np.empty(order.size, dtype=np.int64)
            inv[order] = np.cumsum(new) - 1
            first = order[new]
        inv = inv.ravel()
        R = first.size
        return Batch(
            self.n,
            self.labels,
            self.D,
            self.f,
            self.counts,
            self.trial[first],
            self.point[first],
            self.ell[first],
            self.K[first],
            self.block,
            weight=np.bincount(inv, minlength=R).astype(np.float64),
            Dsum=np.bincount(inv, weights=self.D[self.trial, self.point], minlength=R),
            f_row=fs[first],
            point_row=inv,
            point_trial=self.trial,
            point_id=self.point,
        )

    @property
    def seen_block(self) -> np.ndarray:
        """Flat (trial, block) index of each seen row, shape (S,)."""
        return self.trial * self.num_blocks + self.block[self.point]


def _draw_D(prior: FrequencyPrior, variant: str, T: int, rng) -> np.ndarray:
    if variant == "fixed":
        q = prior.normalized()
        return rng.permuted(np.broadcast_to(q, (T, q.size)), axis=1)
    idx = rng.choice(prior.log_values.size, size=(T, prior.N), p=prior.weights / prior.N)
    lv = prior.log_values[idx]
    p = np.exp(lv - lv.max(axis=1, keepdims=True))  # each row's own top: no 0/0
    return p / p.sum(axis=1, keepdims=True)


def _draw_f(labels: LabelPrior, T: int, N: int, rng) -> np.ndarray:
    m = labels.classes
    if labels.uniform:
        return rng.integers(m, size=(T, N))
    w = labels.w
    f = rng.choice(m, size=(T, N), p=w)
    if labels.iid:
        return f
    c = rng.choice(m, size=(T, labels.num_blocks(N)), p=w)
    keep = rng.random((T, N)) < labels.rho
    return np.where(keep, c[:, labels.block_of(N)], f)


def sample_batch(
    prior: FrequencyPrior, n: int, labels: LabelPrior, *, trials: int, variant: str = "fixed", rng
) -> Batch:
    """Draw ``trials`` independent (D, f, S) from the model; see the module docstring.

    ``prior``: the frequency prior pi (N = prior.N points); ``n``: examples per trial;
    ``rng``: a ``numpy.random.Generator`` (the only source of randomness). The fixed list is
    randomly assigned to the points in every trial (learners that break ties by index, such as
    :class:`~simulations.feldman.learners.Compressed`, depend on it).
    """
    n = check_int("n", n, low=1)
    T = check_int("trials", trials, low=1)
    variant = check_variant(variant)
    m = labels.classes
    D = _draw_D(prior, variant, T, rng)
    f = _draw_f(labels, T, prior.N, rng)
    counts = rng.multinomial(n, D)
    trial, point = np.nonzero(counts)
    ell = counts[trial, point]
    fs = f[trial, point]
    S = trial.size
    K = np.zeros((S, m), dtype=np.int64)
    if labels.kappa == 1.0:
        K[np.arange(S), fs] = ell
    else:
        rel = rng.multinomial(ell, [labels.obs_same] + [labels.obs_other] * (m - 1))
        cols = (fs[:, None] + np.arange(m)[None, :]) % m
        K[np.arange(S)[:, None], cols] = rel
    return Batch(n, labels, D, f, counts, trial, point, ell, K, labels.block_of(prior.N))
