r"""Gaussian-mixture long tail: Feldman's mixture extension with isotropic Gaussian clusters.

The domain of Feldman's model (docs/references.md §1.1) is replaced by N subpopulations
:math:`M_1, \dots, M_N` (Feldman 2020, arXiv 1906.05271, Section 3; docs/references.md §1.2, "Mixture
extension"): cluster :math:`c` is the Gaussian :math:`M_c = \mathcal N(\mu_c, \sigma^2 I_d)`,
drawn with probability :math:`\pi_c`, and carries one label :math:`\ell_c \in \{0..m-1\}`.
An example is :math:`c \sim \pi`, :math:`x \sim M_c`, and its observed label is :math:`\ell_c`,
replaced with probability ``noise`` (written :math:`\eta`) by a uniform draw from the m classes:

.. math:: P(y \mid c) = (1 - \eta)\,1[y = \ell_c] + \eta / m.

So an observed label differs from the cluster's own with probability :math:`\eta (1 - 1/m)`.
The ratio of the smallest distance between means to :math:`\sigma` controls how strongly a
learner's prediction at :math:`x_i` is coupled to its prediction on a fresh draw from the
same cluster (the :math:`\lambda_\ell` of the mixture extension):
:func:`min_separation_over_scale`.

Frequencies follow the ``fixed`` variant of :mod:`theory.priors`: the caller's list (for
example ``theory.zipf(N).normalized()``) is normalised and randomly assigned to the clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from theory import FrequencyPrior
from theory._validate import check_finite, check_int

__all__ = [
    "GaussianMixture",
    "GaussianSample",
    "make_mixture",
    "sample",
    "bayes_error",
    "min_separation_over_scale",
    "PLACEMENTS",
    "LABEL_MODES",
]

PLACEMENTS = ("sphere", "grid")
LABEL_MODES = ("uniform", "position")

#: Rows times clusters per chunk in :func:`bayes_error` (bounds memory at about 32 MiB a buffer).
_CHUNK_ELEMENTS = 1 << 22


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    r"""N isotropic Gaussian clusters with frequencies, one label each, and label noise.

    ``means``: (N, d) float64, :math:`\mu_c`. ``frequencies``: (N,) nonnegative, summing to 1,
    :math:`\pi_c`. ``labels``: (N,) integers in [0, classes), :math:`\ell_c`. ``classes``: m >= 2.
    ``scale``: :math:`\sigma > 0`, the within-cluster standard deviation of every coordinate.
    ``noise``: :math:`\eta \in [0, 1)`, the probability that an observed label is replaced by a
    uniformly random class (which may equal :math:`\ell_c`).
    """

    means: np.ndarray
    frequencies: np.ndarray
    labels: np.ndarray
    classes: int
    scale: float
    noise: float = 0.0

    def __post_init__(self) -> None:
        classes = check_int("classes", self.classes, low=2)
        scale = check_finite("scale", self.scale, low=0.0, low_open=True)
        noise = check_finite("noise", self.noise, low=0.0, high=1.0, high_open=True)
        means = np.asarray(self.means, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] < 1 or means.shape[1] < 1:
            raise ValueError(f"means must have shape (N, d) with N, d >= 1; got shape {means.shape}")
        if not np.isfinite(means).all():
            raise ValueError("means must be finite (found NaN or inf)")
        N = means.shape[0]
        freq = np.asarray(self.frequencies, dtype=np.float64)
        if freq.shape != (N,):
            raise ValueError(f"frequencies must have shape ({N},), one per mean; got {freq.shape}")
        if not np.isfinite(freq).all() or (freq < 0).any():
            raise ValueError("frequencies must be finite and in [0, 1]")
        if abs(freq.sum() - 1.0) > 1e-9:
            raise ValueError(f"frequencies must sum to 1 (within 1e-9); got sum {freq.sum()!r}")
        labels = np.asarray(self.labels)
        if labels.shape != (N,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be {N} integers; got shape {labels.shape}, dtype {labels.dtype}")
        if (labels < 0).any() or (labels >= classes).any():
            raise ValueError(
                f"labels must lie in [0, {classes - 1}] (classes={classes}); "
                f"got range [{labels.min()}, {labels.max()}]"
            )
        for name, value in (
            ("means", _frozen(means)),
            ("frequencies", _frozen(freq)),
            ("labels", _frozen(labels.astype(np.int64))),
            ("classes", classes),
            ("scale", scale),
            ("noise", noise),
        ):
            object.__setattr__(self, name, value)

    @property
    def N(self) -> int:
        """Number of clusters (subpopulations)."""
        return int(self.means.shape[0])

    @property
    def dim(self) -> int:
        """Dimension d of the inputs."""
        return int(self.means.shape[1])

    def __repr__(self) -> str:
        return (
            f"GaussianMixture(N={self.N}, dim={self.dim}, classes={self.classes}, "
            f"scale={self.scale:g}, noise={self.noise:g})"
        )


@dataclass(frozen=True, eq=False)
class GaussianSample:
    """n draws from a :class:`GaussianMixture`.

    ``x``: (n, d) float64 inputs; ``y``: (n,) observed labels; ``cluster``: (n,) the cluster
    each example came from; ``clean``: (n,) bool, True where ``y`` equals the cluster's label.
    """

    x: np.ndarray
    y: np.ndarray
    cluster: np.ndarray
    clean: np.ndarray

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


def _unit_rows(z: np.ndarray) -> np.ndarray:
    """Rows scaled to norm 1 (rows are standard normal draws, so nonzero with probability 1)."""
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _grid_points(N: int, dim: int) -> np.ndarray:
    r"""The first N points, in lexicographic order, of :math:`\{0..g-1\}^d` with the smallest
    g such that :math:`g^d \ge N`; integer coordinates, shape (N, dim)."""
    g = 1
    while g**dim < N:
        g += 1
    idx = np.arange(N)
    digits = np.empty((N, dim), dtype=np.float64)
    for j in range(dim - 1, -1, -1):  # a loop over coordinates, not examples
        idx, digits[:, j] = np.divmod(idx, g)
    return digits


def make_mixture(
    frequencies,
    dim: int,
    classes: int,
    *,
    scale: float,
    separation: float = 1.0,
    placement: str = "sphere",
    label_mode: str = "uniform",
    noise: float = 0.0,
    rng: np.random.Generator,
) -> GaussianMixture:
    r"""Draw a :class:`GaussianMixture` with N = ``len(frequencies)`` clusters in dimension ``dim``.

    ``frequencies``: nonnegative weights with a positive sum (or a
    :class:`theory.FrequencyPrior`, whose ``normalized()`` list is used); normalised, then
    randomly permuted over the clusters (the ``fixed`` variant of :mod:`theory.priors`).

    ``placement``:
      ``"sphere"``: :math:`\mu_c` iid uniform on the sphere of radius ``separation``
      (:math:`\mu = r z/\lVert z\rVert`, :math:`z \sim \mathcal N(0, I_d)`);
      ``"grid"``: the first N points of the integer lattice :math:`\{0..g-1\}^d`
      (lexicographic order, smallest g with :math:`g^d \ge N`), centred at their mean and
      multiplied by ``separation``, so neighbouring means are exactly ``separation`` apart.

    ``label_mode``:
      ``"uniform"``: :math:`\ell_c` iid uniform over the m classes;
      ``"position"``: m anchor directions :math:`a_1..a_m` iid uniform on the unit sphere and
      :math:`\ell_c = \arg\max_j \langle \mu_c, a_j\rangle` (the angularly nearest anchor), so
      nearby clusters tend to share labels (a mean at the origin gets label 0).

    ``scale`` is :math:`\sigma > 0`, ``noise`` is :math:`\eta \in [0, 1)`.
    """
    if isinstance(frequencies, FrequencyPrior):
        frequencies = frequencies.normalized()
    freq = np.asarray(frequencies, dtype=np.float64)
    if freq.ndim != 1 or freq.size == 0:
        raise ValueError(f"frequencies must be a nonempty 1-d list; got shape {freq.shape}")
    if not np.isfinite(freq).all() or (freq < 0).any() or freq.sum() <= 0:
        raise ValueError("frequencies must be finite, in [0, inf) and not all zero")
    dim = check_int("dim", dim, low=1)
    classes = check_int("classes", classes, low=2)
    separation = check_finite("separation", separation, low=0.0, low_open=True)
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}; got {placement!r}")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {LABEL_MODES}; got {label_mode!r}")
    N = freq.size
    freq = (freq / freq.sum())[rng.permutation(N)]
    if placement == "sphere":
        means = separation * _unit_rows(rng.standard_normal((N, dim)))
    else:
        pts = _grid_points(N, dim)
        means = separation * (pts - pts.mean(axis=0))
    if label_mode == "uniform":
        labels = rng.integers(classes, size=N)
    else:
        anchors = _unit_rows(rng.standard_normal((classes, dim)))
        labels = np.argmax(means @ anchors.T, axis=1)
    return GaussianMixture(means, freq, labels, classes, scale, noise)


def _draw_x(mixture: GaussianMixture, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    cluster = rng.choice(mixture.N, size=n, p=mixture.frequencies)
    x = mixture.means[cluster] + mixture.scale * rng.standard_normal((n, mixture.dim))
    return x, cluster


def sample(mixture: GaussianMixture, n: int, *, rng: np.random.Generator) -> GaussianSample:
    r"""n iid examples: :math:`c_i \sim \pi`, :math:`x_i = \mu_{c_i} + \sigma z_i`, and
    :math:`y_i = \ell_{c_i}`, replaced with probability :math:`\eta` by a uniform class."""
    n = check_int("n", n, low=0)
    x, cluster = _draw_x(mixture, n, rng)
    own = mixture.labels[cluster]
    flip = rng.random(n) < mixture.noise
    y = np.where(flip, rng.integers(mixture.classes, size=n), own)
    return GaussianSample(x=x, y=y, cluster=cluster, clean=y == own)


def _class_weights(mixture: GaussianMixture, x: np.ndarray) -> np.ndarray:
    r"""Rows :math:`W_y(x) / \max_c w_c(x)` with
    :math:`w_c(x) = \pi_c \exp(-\lVert x-\mu_c\rVert^2 / 2\sigma^2)` and
    :math:`W_y = \sum_{c: \ell_c = y} w_c`; shape (len(x), m). Log-sum-exp per row."""
    mu = mixture.means
    d2 = (x * x).sum(1)[:, None] - 2.0 * x @ mu.T + (mu * mu).sum(1)[None, :]
    with np.errstate(divide="ignore"):
        logw = np.log(mixture.frequencies)[None, :] - np.maximum(d2, 0.0) / (2.0 * mixture.scale**2)
    e = np.exp(logw - logw.max(axis=1, keepdims=True))
    onehot = np.zeros((mixture.N, mixture.classes))
    onehot[np.arange(mixture.N), mixture.labels] = 1.0
    return e @ onehot


def bayes_error(mixture: GaussianMixture, *, samples: int, rng: np.random.Generator) -> tuple[float, float]:
    r"""Monte Carlo estimate, with its standard error, of the Bayes classifier's error.

    The Bayes classifier knows the mixture and predicts

    .. math:: h^*(x) = \arg\max_y \sum_c \pi_c\, \mathcal N(x; \mu_c, \sigma^2 I)\, P(y \mid c)
              = \arg\max_y \big[(1-\eta) W_y(x) + \eta W(x)/m\big] = \arg\max_y W_y(x),

    with :math:`W_y(x) = \sum_{c:\ell_c = y} \pi_c \mathcal N(x; \mu_c, \sigma^2 I)` and
    :math:`W = \sum_y W_y` (uniform noise with :math:`\eta < 1` does not move the argmax; ties
    go to the smallest label). Its error against the observed label is
    :math:`E_x[1 - P(y = h^*(x) \mid x)]` with
    :math:`P(y = h^*(x) \mid x) = (1-\eta) W_{h^*}(x)/W(x) + \eta/m`.

    The estimate averages this conditional error over ``samples`` fresh draws of x (the labels
    are integrated out exactly, which only lowers the variance); the standard error is the
    sample standard deviation over :math:`\sqrt{\text{samples}}`. Densities are handled in log
    space (log-sum-exp) and the draws are processed in chunks so that memory stays bounded
    for large N. ``samples`` >= 2.
    """
    samples = check_int("samples", samples, low=2)
    chunk = max(1, _CHUNK_ELEMENTS // mixture.N)
    errs = np.empty(samples)
    for start in range(0, samples, chunk):
        stop = min(samples, start + chunk)
        x, _ = _draw_x(mixture, stop - start, rng)
        W = _class_weights(mixture, x)
        top = W.max(axis=1) / W.sum(axis=1)
        errs[start:stop] = 1.0 - ((1.0 - mixture.noise) * top + mixture.noise / mixture.classes)
    return float(errs.mean()), float(errs.std(ddof=1) / np.sqrt(samples))


def min_separation_over_scale(mixture: GaussianMixture) -> float:
    r"""Overlap diagnostic :math:`\min_{c \ne c'} \lVert\mu_c - \mu_{c'}\rVert / \sigma`.

    Large values (say > 6) mean nearly disjoint clusters; values near 0 mean clusters that a
    learner cannot tell apart. Exact nearest-neighbour distances from a k-d tree; ``inf`` when
    N = 1.
    """
    if mixture.N == 1:
        return float("inf")
    dist, _ = cKDTree(mixture.means).query(mixture.means, k=2)
    return float(dist[:, 1].min() / mixture.scale)
