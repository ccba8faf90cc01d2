r"""Exact label posteriors of the model given a batch: what a Bayes-optimal learner knows.

For a seen point x with label counts K (l = sum K) the likelihood of f(x) = t is
:math:`a^{K_t} b^{l - K_t}` with a = kappa + (1 - kappa)/m and b = (1 - kappa)/m (each observed
label kept with probability kappa, else uniform). The *predictive prior* of f(x) given the other
points' labels is rho_x(t): the class marginal w for iid label priors; for block-correlated
priors

.. math:: \rho_x(t) = \sum_c P(t \mid c)\,\pi_{b,-x}(c),\qquad
          \pi_{b,-x}(c) \propto w_c \prod_{x' \in b,\ x' \ne x} \sum_s P(s\mid c)\,\mathrm{lik}_{x'}(s)

over the used (fitted) seen points x' of x's block b. The posterior is
post_x(t) ~ rho_x(t) lik_x(t); an unseen point of block b has post = rho_b (the predictive from
all used points of b). Everything is computed in log space per seen row, shape (S, m).
"""

from __future__ import annotations

import numpy as np

from simulations.feldman.model import Batch

__all__ = ["argmax_law", "log_likelihood", "Posterior"]

_TIE = 1e-12


def argmax_law(p: np.ndarray) -> np.ndarray:
    """Uniform law over the maximisers of each row of ``p`` (ties within 1e-12 relative)."""
    top = p.max(axis=-1, keepdims=True)
    mask = p >= top - _TIE * np.abs(top)
    return mask / mask.sum(axis=-1, keepdims=True)


def log_likelihood(K: np.ndarray, ell: np.ndarray, kappa: float) -> np.ndarray:
    """log lik_x(t) - max_t, shape (S, m); -inf where f(x) = t is impossible (kappa = 1)."""
    K = np.asarray(K)
    if kappa == 1.0:
        out = np.where(K == np.asarray(ell)[:, None], 0.0, -np.inf)
        out[np.asarray(ell) == 0] = 0.0
        return out
    if kappa == 0.0:
        return np.zeros(K.shape)
    m = K.shape[1]
    ratio = np.log1p(kappa * m / (1.0 - kappa))  # log(a / b)
    out = K * ratio
    return out - out.max(axis=1, keepdims=True)


def _normalize_log(lp: np.ndarray) -> np.ndarray:
    """exp(lp) normalised along the last axis (rows with a finite entry)."""
    out = np.exp(lp - lp.max(axis=-1, keepdims=True))
    out /= out.sum(axis=-1, keepdims=True)
    return out


class Posterior:
    """Predictive priors and posteriors of f for one batch; see the module docstring."""

    def __init__(self, batch: Batch):
        self.b = batch
        lab = batch.labels
        self.w = lab.w
        self.logw = np.log(lab.w)
        self.loglik = log_likelihood(batch.K, batch.ell, lab.kappa)
        self._full = None
        if not lab.iid:
            P = lab.transition
            self.P = P
            with np.errstate(divide="ignore"):
                # log L_x(c) = log sum_t P[c, t] lik_x(t)
                self.logL = np.log(np.exp(self.loglik) @ P.T)

    def predictive(self, used: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rho_seen (S, m), rho_block (T, B, m)) from the used seen rows (default: all).

        rho_seen[s] is the predictive prior of f at row s's point from the *other* used points;
        rho_block[t, b] the predictive at an unseen (or unused) point of block b.
        """
        b = self.b
        S, m, B = b.ell.size, b.m, b.num_blocks
        if b.labels.iid:
            return np.broadcast_to(self.w, (S, m)), np.broadcast_to(self.w, (b.T, 1, m))
        if used is None:
            used = np.ones(S, dtype=bool)
        g = b.seen_block
        logpost = np.tile(np.log(self.w), (b.T * B, 1))
        contrib = np.where(used[:, None], self.logL, 0.0)
        for c in range(m):
            logpost[:, c] += np.bincount(g, weights=contrib[:, c], minlength=b.T * B)
        rho_block = _normalize_log(logpost) @ self.P
        own = logpost[g] - contrib  # block posterior without the row's own point
        rho_seen = _normalize_log(own) @ self.P
        return rho_seen, rho_block.reshape(b.T, B, m)

    def score(self, rho_seen: np.ndarray, loglik: np.ndarray | None = None) -> np.ndarray:
        """log rho(t) + log lik(t) (unnormalised log posterior), shape (S, m)."""
        ll = self.loglik if loglik is None else loglik
        if self.b.labels.iid:
            return self.logw + ll
        return np.log(rho_seen) + ll

    def posterior(self, rho_seen: np.ndarray, loglik: np.ndarray | None = None) -> np.ndarray:
        """post(t) ~ rho(t) lik(t), shape (S, m)."""
        return _normalize_log(self.score(rho_seen, loglik))

    def bayes_label(self, rho_seen: np.ndarray, loglik: np.ndarray | None = None) -> np.ndarray:
        """Law of the Bayes prediction: uniform over the posterior modes, shape (S, m)."""
        return argmax_law(self.score(rho_seen, loglik))

    @property
    def full(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(post_seen (S, m), rho_seen, rho_block) with every seen point used: the Bayes view."""
        if self._full is None:
            rs, rb = self.predictive()
            self._full = (self.posterior(rs), rs, rb)
        return self._full
