r"""Measurements of a learner on the Gaussian-mixture long tail: the quantities of Feldman's
mixture extension (Feldman 2020, arXiv 1906.05271, Section 3; docs/references.md §1.2).

Symbols: n training examples :math:`(x_i, y_i)` with clusters :math:`c_i \in \{0..N-1\}`;
:math:`\pi_c` the cluster frequencies; m classes; :math:`\ell_c` = how many training examples
cluster c has (its multiplicity); :math:`\kappa = 1 - \eta` the keep-probability of a label.

- :func:`cluster_counts`: :math:`\ell_c` for every cluster.
- :func:`label_posterior`, :func:`opt_given_sample`: the posterior of each cluster's label
  given S and the conditional Bayes error :math:`\mathrm{opt}(\pi, F \mid S)` when clusters
  behave like points (uniform labels, uniform noise).
- :func:`accuracy_by_frequency`: test accuracy per log-spaced bin of :math:`n\pi_c` (the
  reporting of Kandpal et al. 2023, docs/references.md §6).
- :func:`coupling`, :func:`coupling_by_multiplicity`: the coupling :math:`\lambda` of a learner's
  prediction at :math:`x_i` and at fresh draws from :math:`M_{c_i}`.
- :func:`errn_contributions`, :func:`errn_by_multiplicity`: :math:`\mathrm{errn}_S(A, \ell)`.
- :func:`mixture_bound`: :math:`\mathrm{opt} + \sum_\ell \lambda_\ell\tau_\ell\,\mathrm{errn}_\ell`.

Every function is vectorised over examples (no per-example Python loop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory._validate import check_finite, check_int, check_prob

__all__ = [
    "cluster_counts",
    "label_posterior",
    "opt_given_sample",
    "FrequencyAccuracy",
    "frequency_bin",
    "accuracy_by_frequency",
    "Coupling",
    "coupling",
    "MultiplicityMean",
    "coupling_by_multiplicity",
    "errn_contributions",
    "errn_by_multiplicity",
    "MixtureBound",
    "mixture_bound",
]


def _labels(name: str, a, *, ndim: int | None = None) -> np.ndarray:
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integers; got dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {a.shape}")
    if a.size and a.min() < 0:
        raise ValueError(f"{name} must be >= 0; got minimum {a.min()}")
    return a.astype(np.int64)


def cluster_counts(sample_train, N: int) -> np.ndarray:
    r"""(N,) int64: :math:`\ell_c`, the number of training examples drawn from cluster c.

    ``sample_train``: a :class:`~simulations.gaussian.GaussianSample` or its (n,) ``cluster``
    array, entries in [0, N).
    """
    N = check_int("N", N, low=1)
    cluster = _labels("cluster", getattr(sample_train, "cluster", sample_train), ndim=1)
    if cluster.size and cluster.max() >= N:
        raise ValueError(f"cluster must lie in [0, {N - 1}] (N={N}); got maximum {cluster.max()}")
    return np.bincount(cluster, minlength=N)


def label_posterior(cluster_train, y_train, N: int, classes: int, *, kappa: float = 1.0) -> np.ndarray:
    r"""(N, m) posterior of each cluster's own label :math:`\ell_c` given the training labels.

    Model (docs/references.md §1.1, :mod:`theory.labels`): :math:`\ell_c` uniform over m classes, each
    observed label equals :math:`\ell_c` with probability :math:`s = \kappa + (1-\kappa)/m`
    and each other class with :math:`o = (1-\kappa)/m`; clusters are treated as points (the
    inputs x carry no information about :math:`\ell_c` beyond the cluster's identity). With
    :math:`K_{ct}` the number of training examples of cluster c labelled t,

    .. math:: P(\ell_c = t \mid S) \propto (s/o)^{K_{ct}},

    uniform for unseen clusters. :math:`\kappa = 1` (no noise): the indicator of the observed
    labels, normalised (a single label when the data are noiseless). :math:`\kappa = 0`: uniform.
    """
    N = check_int("N", N, low=1)
    m = check_int("classes", classes, low=2)
    kappa = check_prob("kappa", kappa)
    cluster = _labels("cluster_train", cluster_train, ndim=1)
    y = _labels("y_train", y_train, ndim=1)
    if y.shape != cluster.shape:
        raise ValueError(f"y_train must have the shape of cluster_train {cluster.shape}; got {y.shape}")
    if cluster.size and cluster.max() >= N:
        raise ValueError(f"cluster_train must lie in [0, {N - 1}]; got maximum {cluster.max()}")
    if y.size and y.max() >= m:
        raise ValueError(f"y_train must lie in [0, {m - 1}] (classes={m}); got maximum {y.max()}")
    K = np.bincount(cluster * m + y, minlength=N * m).reshape(N, m).astype(np.float64)
    if kappa == 1.0:
        seen = K > 0
        w = np.where(seen.any(axis=1, keepdims=True), seen, True).astype(np.float64)
    elif kappa == 0.0:
        w = np.ones((N, m))
    else:
        log_ratio = np.log1p(kappa * m / (1.0 - kappa))  # log(s / o)
        z = K * log_ratio
        w = np.exp(z - z.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def opt_given_sample(frequencies, posterior) -> float:
    r"""Conditional Bayes error of the point-like model, against the true labels:

    .. math:: \mathrm{opt}(\pi, F \mid S) = \sum_c \pi_c\,\big(1 - \max_t P(\ell_c = t \mid S)\big).

    Without noise it is :math:`(1 - 1/m)` times the frequency of the unseen clusters; its
    expectation over the mixture and S is opt(pi, F) of :func:`theory.opt_error` (docs/references.md
    §1.1). ``frequencies``: (N,) :math:`\pi_c`; ``posterior``: (N, m) from :func:`label_posterior`.
    Assumes clusters are separated enough to behave like points (a test point's cluster is known).
    """
    pi = np.asarray(frequencies, dtype=np.float64)
    post = np.asarray(posterior, dtype=np.float64)
    if pi.ndim != 1 or post.shape[:1] != pi.shape or post.ndim != 2:
        raise ValueError(f"posterior must have shape (N, m) with N = {pi.size}; got {post.shape}")
    return float(pi @ (1.0 - post.max(axis=1)))


@dataclass(frozen=True)
class FrequencyAccuracy:
    r"""Test accuracy per bin of :math:`n\pi_c`. ``edges`` (B+1,); ``accuracy``, ``se``,
    ``count``, ``correct`` (B,). ``accuracy`` and ``se`` are NaN for an empty bin."""

    edges: np.ndarray
    accuracy: np.ndarray
    se: np.ndarray
    count: np.ndarray
    correct: np.ndarray


def frequency_bin(frequencies, n: int, edges) -> np.ndarray:
    r"""(N,) bin index of each cluster's :math:`n\pi_c` in ``edges`` (increasing, B+1 of them):
    bin b is :math:`[e_b, e_{b+1})`; values below :math:`e_0` go to bin 0 and values at or
    above :math:`e_B` to bin B-1 (the end bins collect the rest, as in :mod:`simulations.feldman`)."""
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0) or not np.isfinite(edges).all():
        raise ValueError(f"edges must be at least 2 finite, strictly increasing numbers; got {edges}")
    n = check_int("n", n, low=1)
    npi = n * np.asarray(frequencies, dtype=np.float64)
    return np.clip(np.searchsorted(edges, npi, side="right") - 1, 0, edges.size - 2)


def accuracy_by_frequency(pred, y_test, cluster_test, frequencies, n: int, edges) -> FrequencyAccuracy:
    r"""Test accuracy in log-spaced bins of cluster frequency times n (expected training count).

    ``pred``, ``y_test``, ``cluster_test``: (q,) predicted labels, the labels to score against
    and the cluster of each test point; ``frequencies``: (N,) :math:`\pi_c`; ``edges``: bin
    edges in units of :math:`n\pi_c` (see :func:`frequency_bin` for the end bins). Per bin,
    accuracy :math:`\hat a = k/q_b` and the binomial standard error
    :math:`\sqrt{\hat a(1-\hat a)/q_b}`: given the trained model and the mixture the test
    points are iid, so this is the SE of the model's conditional accuracy on the bin (0 when
    :math:`\hat a \in \{0, 1\}`).
    """
    pred = _labels("pred", pred, ndim=1)
    y = _labels("y_test", y_test, ndim=1)
    cl = _labels("cluster_test", cluster_test, ndim=1)
    if not (pred.shape == y.shape == cl.shape):
        raise ValueError(
            f"pred, y_test, cluster_test must have one shape; got {pred.shape}, {y.shape}, {cl.shape}"
        )
    freq = np.asarray(frequencies, dtype=np.float64)
    if cl.size and cl.max() >= freq.size:
        raise ValueError(f"cluster_test must lie in [0, {freq.size - 1}]; got maximum {cl.max()}")
    edges = np.asarray(edges, dtype=np.float64)
    which = frequency_bin(freq, n, edges)[cl]
    B = edges.size - 1
    count = np.bincount(which, minlength=B)
    correct = np.bincount(which, weights=(pred == y).astype(np.float64), minlength=B)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = correct / count
        se = np.sqrt(acc * (1.0 - acc) / count)
    return FrequencyAccuracy(edges=edges, accuracy=acc, se=se, count=count, correct=correct)


@dataclass(frozen=True)
class Coupling:
    r"""Estimated coupling per training example: ``value`` (n,) :math:`\hat\lambda_i`; ``se``
    (n,) its standard error (R = 1) or NaN (R > 1, see :func:`coupling`); ``models`` R and
    ``fresh`` F, the numbers of fitted models and fresh draws behind each estimate."""

    value: np.ndarray
    se: np.ndarray
    models: int
    fresh: int


def coupling(pred_train, pred_fresh, *, classes: int | None = None) -> Coupling:
    r"""Coupling of each training example with fresh draws from its own cluster.

    .. math:: \lambda_i = 1 - \mathrm{TV}\big(\mathcal L(h(x_i)),\ \mathcal L(h(x'))\big),
              \qquad h \sim A(S),\ x' \sim M_{c_i},

    the per-point quantity of Feldman's :math:`\lambda_\ell`-coupling (docs/references.md §1.2: an
    algorithm is :math:`\lambda_\ell`-coupled if this TV is at most :math:`1 - \lambda_\ell`
    for every point seen :math:`\ell` times).

    ``pred_train``: (R, n) labels of R fitted models (R independent draws of h ~ A(S)) at the
    training points; ``pred_fresh``: (R, n, F) labels of the same R models at F fresh draws
    :math:`x'` from each example's cluster. Both laws are replaced by their empirical class
    distributions (R draws at :math:`x_i`, R·F at :math:`x'`), so :math:`\hat\lambda_i` is an
    *estimate*. For a deterministic learner (R = 1) the law at :math:`x_i` is a point mass at
    :math:`a = h(x_i)` and :math:`\hat\lambda_i = \frac1F\sum_f 1[h(x'_f) = a]`, an unbiased
    binomial estimate with standard error :math:`\sqrt{\hat\lambda_i(1-\hat\lambda_i)/F}`.
    For R > 1 the plug-in TV of two empirical laws is biased upward (so :math:`\hat\lambda` is
    biased low) and no SE is given (NaN). ``classes``: m, inferred from the labels if omitted.
    """
    pt = _labels("pred_train", pred_train, ndim=2)
    pf = _labels("pred_fresh", pred_fresh, ndim=3)
    if pf.shape[:2] != pt.shape or pf.shape[2] < 1 or pt.shape[0] < 1:
        raise ValueError(
            f"pred_fresh must have shape (R, n, F) with (R, n) = pred_train.shape {pt.shape} and F >= 1; "
            f"got {pf.shape}"
        )
    R, n = pt.shape
    F = pf.shape[2]
    top = max(int(pt.max(initial=0)), int(pf.max(initial=0))) + 1
    m = top if classes is None else check_int("classes", classes, low=max(top, 2))
    idx = np.arange(n)[None, :] * m
    p = np.bincount((idx + pt).ravel(), minlength=n * m).reshape(n, m) / R
    q = np.bincount((idx[:, :, None] + pf).ravel(), minlength=n * m).reshape(n, m) / (R * F)
    lam = 1.0 - 0.5 * np.abs(p - q).sum(axis=1)
    lam = np.clip(lam, 0.0, 1.0)
    se = np.sqrt(lam * (1.0 - lam) / F) if R == 1 else np.full(n, np.nan)
    return Coupling(value=lam, se=se, models=R, fresh=F)


@dataclass(frozen=True)
class MultiplicityMean:
    r"""Means over the training examples whose cluster is seen exactly l times, l = 1..L.

    ``mean``, ``se`` (L,), NaN where no example has that multiplicity (``se`` also NaN with a
    single cluster); ``examples`` (L,) how many examples entered each mean; ``clusters`` (L,)
    how many clusters (examples / l)."""

    mean: np.ndarray
    se: np.ndarray
    examples: np.ndarray
    clusters: np.ndarray


def coupling_by_multiplicity(lam, counts, L: int, *, cluster=None) -> MultiplicityMean:
    r"""Mean and standard error of :math:`\hat\lambda_i` over examples whose cluster is seen l times.

    ``lam``: (n,) per-example values (from :func:`coupling`); ``counts``: (n,) the
    multiplicity :math:`\ell_{c_i}` of each example's cluster (``cluster_counts(...)[cluster]``);
    ``L`` >= 1. The SE treats the clusters as the independent units: every cluster seen l times
    contributes exactly l examples, so the mean over examples is the mean of the cluster means
    and the SE is their sample standard deviation over the square root of their number. Without
    ``cluster`` ((n,) cluster ids), each example is taken as its own unit (exact for l = 1).
    """
    L = check_int("L", L, low=1)
    lam = np.asarray(lam, dtype=np.float64)
    cnt = _labels("counts", counts, ndim=1)
    if lam.shape != cnt.shape or lam.ndim != 1:
        raise ValueError(f"lam and counts must both have shape (n,); got {lam.shape} and {cnt.shape}")
    if cnt.size and cnt.min() < 1:
        raise ValueError("counts must be >= 1 (every training example's cluster is seen at least once)")
    ok = cnt <= L
    ell = cnt[ok]
    examples = np.bincount(ell, minlength=L + 1)[1:]
    sums = np.bincount(ell, weights=lam[ok], minlength=L + 1)[1:]
    if cluster is None:
        unit_ell, unit_val = ell, lam[ok]
    else:
        cl = _labels("cluster", cluster, ndim=1)
        if cl.shape != cnt.shape:
            raise ValueError(f"cluster must have shape {cnt.shape}; got {cl.shape}")
        ids, inv = np.unique(cl[ok], return_inverse=True)
        unit_ell = np.bincount(inv, weights=ell, minlength=ids.size) / np.bincount(inv, minlength=ids.size)
        unit_ell = np.rint(unit_ell).astype(np.int64)
        unit_val = np.bincount(inv, weights=lam[ok], minlength=ids.size) / np.bincount(
            inv, minlength=ids.size
        )
    units = np.bincount(unit_ell, minlength=L + 1)[1:]
    usum = np.bincount(unit_ell, weights=unit_val, minlength=L + 1)[1:]
    usq = np.bincount(unit_ell, weights=unit_val**2, minlength=L + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / examples
        umean = usum / units
        var = np.maximum(usq - units * umean**2, 0.0) / (units - 1)
        se = np.where(units > 1, np.sqrt(var / units), np.nan)
    clusters = examples // np.arange(1, L + 1)
    return MultiplicityMean(mean=mean, se=se, examples=examples, clusters=clusters)


def errn_contributions(pred_train, y_train, cluster_train, *, posterior=None) -> np.ndarray:
    r"""(n,) the share :math:`e_i` of example i in :math:`\mathrm{errn}_S(A, \ell_{c_i})`.

    Without ``posterior`` (the noiseless definition): :math:`e_i = P_{h\sim A(S)}[h(x_i) \ne
    y_i] / \ell_{c_i}`, so that summing :math:`e_i` over the examples of a cluster gives the
    fraction of its :math:`\ell_c` training examples whose observed label the learner does not
    fit. ``pred_train``: (n,) labels of a deterministic learner or (R, n) labels of R draws
    h ~ A(S) (the probability is their average).

    With ``posterior`` ((N, m), :func:`label_posterior`), the confidence-weighted version of
    Feldman's label-noise theorem (docs/references.md §1.2):
    :math:`e_i = \big(\max_t P(\ell_c = t\mid S) - E_h P(\ell_c = h(x_i)\mid S)\big)/\ell_c`.
    Without noise the posterior is the indicator of the observed label and both agree; with
    uniform noise a misfit singleton weighs :math:`\kappa` (the conf of the theorem).
    """
    y = _labels("y_train", y_train, ndim=1)
    cl = _labels("cluster_train", cluster_train, ndim=1)
    pred = _labels("pred_train", pred_train)
    if pred.ndim == 1:
        pred = pred[None, :]
    if pred.ndim != 2 or pred.shape[1] != y.size or cl.shape != y.shape:
        raise ValueError(
            f"pred_train must have shape (n,) or (R, n) and cluster_train shape (n,), n = {y.size}; "
            f"got {np.shape(pred_train)} and {cl.shape}"
        )
    ell = np.bincount(cl)[cl].astype(np.float64)
    if posterior is None:
        miss = (pred != y[None, :]).mean(axis=0)
    else:
        post = np.asarray(posterior, dtype=np.float64)
        if (
            post.ndim != 2
            or (cl.size and cl.max() >= post.shape[0])
            or (pred.size and pred.max() >= post.shape[1])
        ):
            raise ValueError(
                f"posterior must have shape (N, m) covering every cluster and label; got {post.shape}"
            )
        miss = post[cl].max(axis=1) - post[cl[None, :], pred].mean(axis=0)
    return miss / ell


def errn_by_multiplicity(pred_train, y_train, cluster_train, L: int, *, posterior=None) -> np.ndarray:
    r""":math:`\mathrm{errn}_S(A, \ell)` for :math:`\ell = 1..L`, shape (L,) (entry 0 is l = 1).

    Definition for the mixture: the sum, over the clusters seen exactly :math:`\ell` times in S,
    of the fraction of that cluster's :math:`\ell` training examples whose observed label the
    learner does not fit,

    .. math:: \mathrm{errn}_S(A, \ell) = \sum_{c:\ \ell_c = \ell} \frac{1}{\ell}
              \sum_{i:\ c_i = c} P_{h \sim A(S)}[h(x_i) \ne y_i],

    an expected number of clusters (it reduces to Feldman's count of points of
    :math:`X_{S\#\ell}` on which h disagrees with the observed label when a cluster is a point
    and h is constant on it). Arguments as in :func:`errn_contributions` (``posterior`` gives
    the confidence-weighted version for label noise).
    """
    L = check_int("L", L, low=1)
    e = errn_contributions(pred_train, y_train, cluster_train, posterior=posterior)
    cl = np.asarray(cluster_train, dtype=np.int64)
    ell = np.bincount(cl)[cl]
    ok = ell <= L
    return np.bincount(ell[ok], weights=e[ok], minlength=L + 1)[1:]


@dataclass(frozen=True)
class MixtureBound:
    r"""``value`` :math:`= \mathrm{opt} + \sum_\ell` ``terms``:math:`_\ell`; ``terms`` (L,)
    :math:`\lambda_\ell\tau_\ell\,\mathrm{errn}_\ell`; ``excess`` = the sum of the terms."""

    value: float
    terms: np.ndarray
    excess: float


def mixture_bound(opt: float, tau, errn, lam) -> MixtureBound:
    r"""Feldman's lower bound for a :math:`\lambda_\ell`-coupled algorithm (docs/references.md §1.2):

    .. math:: \mathrm{err} \ \ge\ \mathrm{opt} + \sum_{\ell=1}^{L} \lambda_\ell\,\tau_\ell\,
              \mathrm{errn}_S(A, \ell).

    ``tau``, ``errn``, ``lam``: (L,) arrays for l = 1..L, :math:`\tau_\ell \in [0, 1]`,
    :math:`\mathrm{errn}_\ell \ge 0`, :math:`\lambda_\ell \in [0, 1]`. A multiplicity with
    :math:`\mathrm{errn}_\ell = 0` contributes 0 whatever its :math:`\lambda_\ell` and
    :math:`\tau_\ell` (NaN allowed there: no cluster seen l times); anywhere else NaN raises.
    """
    opt = check_finite("opt", opt, low=0.0, high=1.0)
    tau, errn, lam = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (tau, errn, lam))
    if not (tau.shape == errn.shape == lam.shape) or tau.ndim != 1:
        raise ValueError(
            f"tau, errn, lam must be 1-d of one length; got {tau.shape}, {errn.shape}, {lam.shape}"
        )
    if not np.isfinite(errn).all() or (errn < 0).any():
        raise ValueError(f"errn must be finite and >= 0; got {errn}")
    live = errn > 0
    for name, v in (("tau", tau), ("lam", lam)):
        bad = live & ~((v >= 0) & (v <= 1))  # NaN fails both comparisons
        if bad.any():
            raise ValueError(
                f"{name} must lie in [0, 1] wherever errn > 0; got {v[bad]} at l = {np.flatnonzero(bad) + 1}"
            )
    terms = np.where(live, np.where(live, lam, 0.0) * np.where(live, tau, 0.0) * errn, 0.0)
    excess = float(terms.sum())
    return MixtureBound(value=opt + excess, terms=terms, excess=excess)
