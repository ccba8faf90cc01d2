r"""Uniform labels with uniform label noise: the Bayes accuracy on a point seen :math:`\ell` times.

Model (docs/references.md §1.1): the true label :math:`f(x)` is uniform over m classes; each
observed copy of x carries :math:`f(x)` with probability :math:`\kappa` and otherwise a uniform
random label (which may again be :math:`f(x)`). So an observed label equals :math:`f(x)` with
probability :math:`s = \kappa + (1-\kappa)/m` and each other label with :math:`o = (1-\kappa)/m`.
Error is always measured against the true label :math:`f(x)`.

The posterior of :math:`f(x)` given the label counts is :math:`\propto (s/o)^{c_y}`, so the
Bayes prediction is the plurality label with ties broken uniformly, and

.. math:: \mathrm{acc}_\ell = \sum_{c\ge1}\sum_{t\ge0}\frac{\ell!\,s^c o^{\ell-c}}{c!^{1+t}}
          \binom{m-1}{t}\frac{1}{1+t}\,[x^{\ell-c-tc}]\Big(\sum_{j<c}\frac{x^j}{j!}\Big)^{m-1-t}

(c = count of the true label, t = other labels tied with it). Exact up to float rounding for
:math:`\ell \le 150`; the coefficients are scaled by :math:`(m-1)^{-r}` to stay in range.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from theory._validate import check_int, check_prob

__all__ = ["MAX_EXACT_ELL", "bayes_accuracy", "singleton_confidence"]

MAX_EXACT_ELL = 150


def _trunc_mul(a: np.ndarray, b: np.ndarray, deg: int) -> np.ndarray:
    return np.convolve(a, b)[: deg + 1]


def _trunc_pow(p: np.ndarray, k: int, deg: int) -> np.ndarray:
    out = np.zeros(deg + 1)
    out[0] = 1.0
    base = p[: deg + 1].copy()
    while k:
        if k & 1:
            out = _trunc_mul(out, base, deg)
        k >>= 1
        if k:
            base = _trunc_mul(base, base, deg)
    res = np.zeros(deg + 1)
    res[: out.size] = out
    return res


def bayes_accuracy(classes: int, kappa: float, max_ell: int) -> np.ndarray:
    r"""Bayes accuracy :math:`\mathrm{acc}_\ell` for :math:`\ell = 0..\text{max\_ell}`; shape (max_ell+1,).

    ``classes`` is m >= 2; ``kappa`` in [0, 1] the keep-probability; ``max_ell`` <= 150.
    acc_0 = 1/m; with kappa = 1, acc_l = 1 for l >= 1; with kappa = 0, acc_l = 1/m. Every
    acc_l lies in [1/m, 1] (the Bayes predictor does at least as well as a uniform guess).
    """
    m = check_int("classes", classes, low=2)
    kappa = check_prob("kappa", kappa)
    L = check_int("max_ell", max_ell, low=0, high=MAX_EXACT_ELL)
    acc = np.empty(L + 1)
    acc[0] = 1.0 / m
    if L == 0:
        return acc
    if kappa == 1.0:
        acc[1:] = 1.0
        return acc
    if kappa == 0.0:
        acc[1:] = 1.0 / m
        return acc
    s = kappa + (1.0 - kappa) / m
    o = (1.0 - kappa) / m
    lam = 1.0 / (m - 1)
    r_idx = np.arange(L + 1)
    lfact = gammaln(r_idx + 1)
    log_choose = gammaln(m) - gammaln(np.arange(m) + 1) - gammaln(m - np.arange(m))
    total = np.zeros(L + 1)  # total[l] accumulates acc_l
    for c in range(1, L + 1):
        # P_c(lam x) coefficients, truncated
        deg = L - c
        pc = np.exp(np.arange(min(c, deg + 1)) * np.log(lam) - lfact[: min(c, deg + 1)])
        t_max = min(m - 1, deg // c)
        for t in range(t_max + 1):
            k = m - 1 - t
            powk = _trunc_pow(pc, k, deg) if k else np.eye(1, deg + 1)[0]
            r = np.arange(deg + 1 - t * c)  # r = l - c - t c, for l from c + t c to L
            coef = powk[r]
            with np.errstate(divide="ignore"):
                lc = np.log(coef) - r * np.log(lam)
            ells = r + c + t * c
            lt = (
                lfact[ells]
                + c * np.log(s)
                + (ells - c) * np.log(o)
                - (1 + t) * lfact[c]
                + log_choose[t]
                - np.log1p(t)
                + lc
            )
            np.add.at(total, ells, np.exp(lt))
    acc[1:] = np.clip(total[1:], 1.0 / m, 1.0)  # the series rounds a few ulps outside [1/m, 1]
    return acc


def singleton_confidence(classes: int, kappa: float) -> float:
    r"""conf for a singleton under uniform noise: the posterior of the observed label minus the
    largest posterior of any other label, :math:`s - o = \kappa`.

    Source: Feldman (2020), label-noise version of the main theorem; docs/references.md §1.2.
    """
    check_int("classes", classes, low=2)
    return check_prob("kappa", kappa)
