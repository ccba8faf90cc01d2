r"""Exact per-trial measurements of a learner on the model (no test sampling).

For one trial (D, f, S) and a learner's law of h(x):

- test error :math:`\mathrm{err} = \sum_x D(x)\,(1 - P[h(x) = f(x)])`; against noisy test labels
  :math:`\kappa\,\mathrm{err} + (1 - \kappa)(1 - 1/m)`;
- opt: the test error of the Bayes-optimal learner (memorize-all) on the same trial; its mean
  over trials estimates opt(pi, F);
- :math:`\mathrm{errn}_S(A, \ell) = \sum_{x \in X_{S\#\ell}} (1 - \sum_t P[h(x) = t] K_{x,t}/\ell)`,
  the expected number of points seen l times where h disagrees with an observed label (the
  paper's definition when labels are noiseless);
- the confidence-weighted version
  :math:`\mathrm{errn}^{c}_S(A, \ell) = \sum_{x \in X_{S\#\ell}}
  (\max_t \mathrm{post}_x(t) - \sum_t P[h(x)=t]\,\mathrm{post}_x(t))`
  with post_x the posterior of f(x) given S (l = 0 included: unseen points); for a singleton
  under uniform labels it is kappa * errn, Feldman's conf weighting;
- the bound terms :math:`\sum_\ell \tau_\ell\,\mathrm{errn}^c_S(A, \ell)` (all l, exact tau);
  in expectation err - opt equals it for learners local in x under iid label priors
  (E[D(x) | x seen l times, labels] = tau_l), and Feldman's theorem says >= in general;
- memorization of every example (exact, from the learner), its average, maximum and average
  per count l; train error on S; the generalization gap (noisy test error of A(S) - train
  error). Feldman's identity (docs/references.md §1.3) uses A(S') with |S'| = n - 1: E[average mem] =
  E[gap] + err(n - 1) - err(n), and train_err + mem_avg is exactly the leave-one-out error;
- accuracy by frequency bin: mean of P[h(x) = f(x)] over the points whose n D(x) lies in each bin.
"""

from __future__ import annotations

import numpy as np

import theory
from simulations.feldman.learners import Prediction
from simulations.feldman.model import Batch
from simulations.feldman.posterior import Posterior, argmax_law

__all__ = ["TauTable", "measure", "bayes_prediction"]


class TauTable:
    """tau_l (l = 0, 1, ...) of one (prior, n, variant), computed on demand and cached.

    tau_0 = E[a^1 (1-a)^n] / E[(1-a)^n] is the expected frequency of an unseen point.
    """

    CHUNK = 16  # tau values per call of theory.taus

    def __init__(self, prior, n: int, variant: str):
        self.prior, self.n, self.variant = prior, n, variant
        self.table = np.full(n + 1, np.nan)  # tau_l by l; NaN = not computed yet
        self.known = np.zeros(n + 1, dtype=bool)

    def __call__(self, ells: np.ndarray, *, observed: bool = True) -> np.ndarray:
        """tau_l for each entry of ``ells``. ``observed``: the counts occurred in a sample, so tau
        must be finite (ArithmeticError otherwise); else NaN (no point can be seen l times) -> 0."""
        ells = np.asarray(ells, dtype=np.int64)
        need = np.unique(ells[~self.known[ells]])
        for k in range(0, need.size, self.CHUNK):  # chunks bound the iid variant's memory
            part = need[k : k + self.CHUNK]
            pairs = [(int(l), self.n - int(l)) for l in part]
            self.table[part] = np.clip(
                theory.moment_ratios(self.prior, pairs, variant=self.variant), 0.0, 1.0
            )
        self.known[need] = True
        out = self.table[ells]
        if observed and np.isnan(out).any():
            bad = sorted(set(ells[np.isnan(out)].tolist()))[:5]
            raise ArithmeticError(
                f"tau: not computable for observed counts l = {bad} ({self.variant} variant)"
            )
        return np.nan_to_num(out, nan=0.0)


def bayes_prediction(batch: Batch, post: Posterior) -> tuple[np.ndarray, np.ndarray]:
    """(seen law, unseen law per block) of the Bayes-optimal learner."""
    p, _, rho_b = post.full
    return argmax_law(p), argmax_law(rho_b)


def _cached(batch: Batch, key, make):
    """Per-batch memo for dense (T, N) work shared by every learner measured on the batch."""
    cache = batch.__dict__.setdefault("_cache", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _unseen_per_block(batch: Batch) -> np.ndarray:
    T, B = batch.T, batch.num_blocks
    unseen = batch.counts == 0
    if B == 1:
        return unseen.sum(axis=1, dtype=np.float64)[:, None]
    gidx = (np.arange(T)[:, None] * B + batch.block[None, :]).ravel()
    return np.bincount(gidx, weights=unseen.ravel(), minlength=T * B).reshape(T, B)


def _bin_index(batch: Batch, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nb = edges.size - 1
    # end bins collect every point beyond the edges; points with D(x) = 0 are left out
    which = np.clip(np.searchsorted(edges, batch.n * batch.D, side="right") - 1, 0, nb - 1)
    ok = batch.D > 0
    return ok, (np.arange(batch.T)[:, None] * nb + which)[ok]


def _per_trial(batch: Batch, values: np.ndarray) -> np.ndarray:
    return np.bincount(batch.trial, weights=values, minlength=batch.T)


def _test_error(batch: Batch, seen: np.ndarray, unseen: np.ndarray) -> np.ndarray:
    """err per trial, shape (T,), and P[h(x) = f(x)] as a dense (T, N) array."""
    T = batch.T
    if batch.num_blocks == 1:
        acc = unseen[:, 0, :][np.arange(T)[:, None], batch.f]
    else:
        acc = unseen[np.arange(T)[:, None], np.broadcast_to(batch.block, (T, batch.N)), batch.f]
    tr, pt, row = batch.points()
    acc[tr, pt] = seen[row, batch.f[tr, pt]]
    return 1.0 - np.einsum("tn,tn->t", batch.D, acc), acc


def measure(
    batch: Batch,
    post: Posterior,
    pred: Prediction,
    taus: TauTable,
    *,
    max_ell: int,
    bin_edges: np.ndarray | None = None,
    bayes_err: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-trial measurements (each array has leading axis T); see the module docstring.

    ``max_ell``: errn and mem by count are kept for l = 0..max_ell (the bound sums use all l);
    ``bin_edges``: edges in n D(x) of the frequency bins (None: no accuracy by bin, and
    ``acc_sum``/``acc_count`` have 0 columns); ``bayes_err``: opt per trial if known.
    """
    T, n, m = batch.T, batch.n, batch.m
    kappa = batch.labels.kappa
    err, acc = _test_error(batch, pred.seen, pred.unseen)
    if bayes_err is None:
        bayes_err = _cached(batch, "bayes_err", lambda: _test_error(batch, *bayes_prediction(batch, post))[0])
    p_seen, _, rho_b = post.full
    ell = batch.ell
    wr = batch.w_rows
    # confidence-weighted disagreement: seen rows, and unseen points per block
    conf_seen = (p_seen.max(axis=1) - np.einsum("sm,sm->s", pred.seen, p_seen)) * wr
    num_unseen = _cached(batch, "num_unseen", lambda: _unseen_per_block(batch))
    conf_unseen = rho_b.max(axis=2) - np.einsum(
        "tbm,tbm->tb", np.broadcast_to(pred.unseen, rho_b.shape), rho_b
    )
    conf0 = np.einsum("tb,tb->t", num_unseen, conf_unseen)
    plain_seen = (1.0 - np.einsum("sm,sm->s", pred.seen, batch.K) / ell) * wr
    tau_rows = taus(ell)
    bound_terms = _per_trial(batch, tau_rows * conf_seen) + taus(np.array([0]), observed=False)[0] * conf0
    singles = ell == 1
    # by count l = 0..max_ell (index L + 1 collects l > max_ell)
    L = max_ell
    idx = batch.trial * (L + 2) + np.minimum(ell, L + 1)
    by_l = lambda v: np.bincount(idx, weights=v, minlength=T * (L + 2)).reshape(T, L + 2)  # noqa: E731
    errn_conf = by_l(conf_seen)
    errn_conf[:, 0] = conf0
    errn = by_l(plain_seen)
    num_points = by_l(wr)
    num_points[:, 0] = num_unseen.sum(axis=1)
    # memorization, per example: each (row, label) pair stands for K[row, label] examples
    mem_rows = np.einsum("sm,sm->s", pred.mem, batch.K) * wr
    mem_by_l = by_l(mem_rows)
    mem_max = np.full(T, -np.inf)
    np.maximum.at(mem_max, batch.trial, np.where(batch.K > 0, pred.mem, -np.inf).max(axis=1))
    train_err = 1.0 - _per_trial(batch, np.einsum("sm,sm->s", pred.seen, batch.K) * wr) / n
    err_noisy = kappa * err + (1.0 - kappa) * (1.0 - 1.0 / m)
    # accuracy by frequency bin of n D(x)
    if bin_edges is None:
        acc_sum, acc_cnt = np.zeros((T, 0)), np.zeros((T, 0))
    else:
        nb = bin_edges.size - 1
        ok, flat = _cached(batch, ("bins", bin_edges.tobytes()), lambda: _bin_index(batch, bin_edges))
        acc_sum = np.bincount(flat, weights=acc[ok], minlength=T * nb).reshape(T, nb)
        acc_cnt = np.bincount(flat, minlength=T * nb).reshape(T, nb).astype(np.float64)
    return {
        "err": err,
        "opt": bayes_err,
        "excess": err - bayes_err,
        "bound_terms": bound_terms,
        "identity_gap": err - bayes_err - bound_terms,
        "tau1_errn1_conf": taus(np.array([1]), observed=False)[0]
        * _per_trial(batch, np.where(singles, conf_seen, 0.0)),
        "errn": errn,
        "errn_conf": errn_conf,
        "num_points_by_ell": num_points,
        "mem_avg": _per_trial(batch, mem_rows) / n,
        "mem_max": mem_max,
        "mem_singletons": _per_trial(batch, np.where(singles, mem_rows, 0.0))
        / np.maximum(_per_trial(batch, np.where(singles, wr, 0.0)), 1.0),
        "mem_by_ell": mem_by_l,
        "examples_by_ell": by_l(ell * wr),
        "train_err": train_err,
        "err_noisy": err_noisy,
        "gen_gap": err_noisy - train_err,
        "acc_sum": acc_sum,
        "acc_count": acc_cnt,
    }
