r"""Learners with controlled memorization, each giving its exact prediction law on the whole domain.

A learner maps a batch to a :class:`Prediction`: the law of h(x) for every seen row (S, m), for
the unseen (or unfitted) points of each block (T, B, m), and the exact memorization of every
example, ``mem[s, t]`` = P_{h~A(S)}[h(x) = t] - P_{h~A(S minus one example (x, t))}[h(x) = t]
for each seen row s and each label t observed there (docs/references.md §1.3). All examples at
the same point with the same label share one value, so mem is exact and costs O(S m) per label.

- :class:`FitFrequent` (k = 1: *memorize-all*, the Bayes-optimal learner): the Bayes rule on the
  data restricted to points seen at least k times; every other point gets the Bayes prediction
  from the fitted points (for iid label priors: the most likely class).
- :class:`MemorizationLimited`: the vote mixture (1 - w_l) rho_hat + w_l K / l with
  w_l = min(1, l gamma'), gamma' = gamma / (1 - min_t rho_hat(t)), rho_hat the Bayes prediction
  at x without x's examples. Exactly gamma-memorization-limited when labels are noiseless
  (kappa = 1), and then tight for singletons: P[h(x_i) = y_i] = rho_hat(y_i) + gamma'(1 - rho_hat(y_i)).
  Under label noise a minority label at a point seen >= 1/gamma' times can be memorized by more
  than gamma; the measured maximum is reported.
- :class:`LabelDP`: the exponential mechanism P[h(x) = t] ~ w_t exp(eps K_t / 2) at every point
  (score K_t has sensitivity 1; each label affects only its own point, so h is (eps, 0)-label-DP).
- :class:`Compressed`: keeps at most B points, the most frequent in S (ties: lower index; the
  frequencies are randomly assigned), predicts their Bayes label and the most likely class elsewhere.
- :class:`MajorityClass`: predicts the most frequent observed label everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.feldman.model import Batch
from simulations.feldman.posterior import Posterior, argmax_law, log_likelihood
from theory._validate import check_finite, check_int

__all__ = [
    "Prediction",
    "FitFrequent",
    "MemorizationLimited",
    "LabelDP",
    "Compressed",
    "MajorityClass",
    "parse_learner",
]


@dataclass
class Prediction:
    seen: np.ndarray  # (S, m) law of h(x) at each seen row
    unseen: np.ndarray  # (T, B, m) law of h(x) at an unseen point of each block
    mem: np.ndarray  # (S, m) memorization of one example with label t at the row's point
    local: bool  # prediction at x depends only on x's own examples (and the label prior)


def _mem_local(batch: Batch, law: np.ndarray, rule) -> np.ndarray:
    """mem[s, t] = law[s, t] - rule(K - e_t, l - 1, rows)[:, t] where K[s, t] > 0."""
    mem = np.zeros_like(law)
    for t in range(batch.m):
        rows = np.flatnonzero(batch.K[:, t] > 0)
        if rows.size == 0:
            continue
        K1 = batch.K[rows].copy()
        K1[:, t] -= 1
        mem[rows, t] = law[rows, t] - rule(K1, batch.ell[rows] - 1, rows)[:, t]
    return mem


def _block_unseen(batch: Batch, rho_block: np.ndarray) -> np.ndarray:
    return np.broadcast_to(argmax_law(rho_block), (batch.T, batch.num_blocks, batch.m))


@dataclass(frozen=True)
class FitFrequent:
    k: int = 1

    def __post_init__(self):
        check_int("k", self.k, low=1)

    @property
    def name(self) -> str:
        return "memorize-all" if self.k == 1 else f"fit-seen>={self.k}"

    def predict(self, batch: Batch, post: Posterior) -> Prediction:
        used = batch.ell >= self.k
        rho_s, rho_b = post.predictive(used) if self.k > 1 else post.full[1:]
        kappa = batch.labels.kappa

        iid = batch.labels.iid
        base = argmax_law(post.w) if iid else None

        def rule(K, ell, rows):
            fit = post.bayes_label(None if iid else rho_s[rows], log_likelihood(K, ell, kappa))
            return np.where((ell >= self.k)[:, None], fit, base if iid else argmax_law(rho_s[rows]))

        law = rule(batch.K, batch.ell, slice(None))
        return Prediction(law, _block_unseen(batch, rho_b), _mem_local(batch, law, rule), True)


@dataclass(frozen=True)
class MemorizationLimited:
    gamma: float

    def __post_init__(self):
        check_finite("gamma", self.gamma, low=0.0)

    @property
    def name(self) -> str:
        return f"mem-limit={self.gamma:g}"

    def predict(self, batch: Batch, post: Posterior) -> Prediction:
        _, rho_s, rho_b = post.full
        base = argmax_law(rho_s)
        slope = self.gamma / (1.0 - base.min(axis=1))

        def rule(K, ell, rows):
            w = np.minimum(1.0, ell * slope[rows])[:, None]
            vote = K / np.maximum(ell, 1)[:, None]
            return (1.0 - w) * base[rows] + w * vote

        law = rule(batch.K, batch.ell, slice(None))
        return Prediction(law, _block_unseen(batch, rho_b), _mem_local(batch, law, rule), True)


@dataclass(frozen=True)
class LabelDP:
    epsilon: float

    def __post_init__(self):
        check_finite("epsilon", self.epsilon, low=0.0, high=1e6)

    @property
    def name(self) -> str:
        return f"label-dp={self.epsilon:g}"

    def predict(self, batch: Batch, post: Posterior) -> Prediction:
        logw = np.log(batch.labels.w)

        def rule(K, ell, rows):
            z = logw + 0.5 * self.epsilon * K
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)

        law = rule(batch.K, batch.ell, slice(None))
        unseen = np.broadcast_to(batch.labels.w, (batch.T, batch.num_blocks, batch.m))
        return Prediction(law, unseen, _mem_local(batch, law, rule), True)


def _ranks(batch: Batch) -> np.ndarray:
    """Rank of each seen row in its trial by (count desc, point asc)."""
    order = np.lexsort((batch.point, -batch.ell, batch.trial))
    starts = np.searchsorted(batch.trial[order], np.arange(batch.T))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size) - starts[batch.trial[order]]
    return rank


@dataclass(frozen=True)
class Compressed:
    budget: int

    def __post_init__(self):
        check_int("budget", self.budget, low=0)

    @property
    def name(self) -> str:
        return f"keep-top-{self.budget}"

    def predict(self, batch: Batch, post: Posterior) -> Prediction:
        if batch.weight is not None:
            raise ValueError("Compressed: needs the raw batch (ranks are per point), not an aggregated one")
        w = batch.labels.w
        kappa = batch.labels.kappa
        rank = _ranks(batch)
        kept = rank < self.budget
        default = argmax_law(w)
        law = np.where(kept[:, None], argmax_law(post.logw + post.loglik), default)
        # after removing one example at x (count l -> l - 1): x stays kept iff fewer than B other
        # rows of its trial rank above it: count >= l, or count == l - 1 with a lower index
        tr, ell, pt = batch.trial, batch.ell, batch.point
        span = np.int64(batch.N)
        lmax = np.int64(ell.max() + 2)
        if batch.T * lmax * span >= 2**62:
            raise ValueError("Compressed: trials * max count * N too large for int64 keys")
        key_ge = np.sort(tr * lmax + (lmax - 1 - ell))  # ascending = count descending
        above = np.searchsorted(key_ge, tr * lmax + (lmax - 1 - ell), side="right")
        above -= np.searchsorted(key_ge, tr * lmax, side="left") + 1  # minus trial start and x
        key_eq = np.sort((tr * lmax + ell) * span + pt)
        lo = np.searchsorted(key_eq, (tr * lmax + ell - 1) * span, side="left")
        tie = np.searchsorted(key_eq, (tr * lmax + ell - 1) * span + pt, side="left") - lo
        stays = kept & (ell - 1 >= 1) & (above + tie < self.budget)

        def rule(K, ell1, rows):
            fit = argmax_law(post.logw + log_likelihood(K, ell1, kappa))
            return np.where(stays[rows][:, None], fit, default)

        mem = _mem_local(batch, law, rule)
        unseen = np.broadcast_to(default, (batch.T, batch.num_blocks, batch.m))
        return Prediction(law, unseen, mem, False)


@dataclass(frozen=True)
class MajorityClass:
    @property
    def name(self) -> str:
        return "majority-class"

    def predict(self, batch: Batch, post: Posterior) -> Prediction:
        T, m = batch.T, batch.m
        C = np.zeros((T, m))
        for t in range(m):
            C[:, t] = np.bincount(batch.trial, weights=batch.K[:, t] * batch.w_rows, minlength=T)
        law_T = argmax_law(C)
        mem_T = np.empty((T, m))
        for t in range(m):
            C1 = C.copy()
            C1[:, t] -= 1
            mem_T[:, t] = law_T[:, t] - argmax_law(np.maximum(C1, 0))[:, t]
        seen = law_T[batch.trial]
        mem = np.where(batch.K > 0, mem_T[batch.trial], 0.0)
        unseen = np.broadcast_to(law_T[:, None, :], (T, batch.num_blocks, m))
        return Prediction(seen, unseen, mem, False)


def parse_learner(spec: str):
    """A learner from its name: ``memorize-all``, ``fit-seen>=K``, ``mem-limit=G``,
    ``label-dp=EPS``, ``keep-top-B``, ``majority-class``."""
    s = spec.strip()
    try:
        if s == "memorize-all":
            return FitFrequent(1)
        if s.startswith("fit-seen>="):
            return FitFrequent(int(s.removeprefix("fit-seen>=")))
        if s.startswith("mem-limit="):
            return MemorizationLimited(float(s.removeprefix("mem-limit=")))
        if s.startswith("label-dp="):
            return LabelDP(float(s.removeprefix("label-dp=")))
        if s.startswith("keep-top-"):
            return Compressed(int(s.removeprefix("keep-top-")))
        if s == "majority-class":
            return MajorityClass()
    except ValueError as exc:
        raise ValueError(f"learners: bad learner {spec!r} ({exc})") from None
    raise ValueError(
        f"learners: unknown learner {spec!r}; valid: memorize-all, fit-seen>=K, mem-limit=GAMMA, "
        "label-dp=EPSILON, keep-top-B, majority-class"
    )
