r"""The label-DP ceiling on the accuracy at a cluster seen :math:`\ell` times, and the excess error
it forces (Feldman 2020, arXiv 1906.05271; docs/references.md §1.3, per-cluster form).

An algorithm that is :math:`(\varepsilon, \delta)`-label-DP (changing one training label moves the
law of the output by at most :math:`e^\varepsilon` and :math:`+\delta`) is, by group privacy over
the :math:`\ell` examples of a cluster, :math:`(\ell\varepsilon, \delta_\ell)`-DP for changing the
cluster's label on all of them, :math:`\delta_\ell = \delta\sum_{j<\ell} e^{j\varepsilon}`. With
uniform labels, independent across clusters, the expected test accuracy at that cluster is then
at most

.. math:: \min\big(1,\ e^{\ell\varepsilon}/m + \delta_\ell\big)

(averaging :math:`P_y[h(x) = y] \le e^{\ell\varepsilon} P_{y_0}[h(x) = y] + \delta_\ell` over the
m labels y; our derivation). :math:`\delta = 0` is the pure case.

Neighbouring relations: output perturbation (Chaudhuri et al. 2011) is :math:`\varepsilon`-DP for
*replacing* one example, hence :math:`\varepsilon`-label-DP. DP-SGD with the RDP accountant
(:mod:`theory.privacy`) is :math:`(\varepsilon, \delta)`-DP for *adding or removing* one example; a
label change is a removal and an addition, so it is
:math:`(2\varepsilon, (1 + e^\varepsilon)\delta)`-label-DP (:func:`replace_one`: group privacy for 2,
Dwork & Roth 2014, Theorem 2.2 with the :math:`\delta` terms summed). This is a valid but loose
translation; a direct accounting of label changes could be tighter.
"""

from __future__ import annotations

import math

import numpy as np

import theory
from theory._validate import check_finite, check_prob

__all__ = ["ceiling", "group_delta", "label_dp_cost", "replace_one"]


def group_delta(ell, epsilon: float, delta: float) -> np.ndarray:
    r""":math:`\min(1, \delta\sum_{j=0}^{\ell-1} e^{j\varepsilon})` (0 at :math:`\ell = 0`; a
    :math:`\delta_\ell \ge 1` says nothing), ``ell`` array-like of ints >= 0."""
    ell = np.asarray(ell, dtype=np.float64)
    if delta == 0.0:
        return np.zeros_like(ell)
    if epsilon == 0.0:
        return delta * ell
    # in log space, log(e^x - 1) = x + log(1 - e^-x): delta (e^(l eps) - 1) / (e^eps - 1) overflows
    x = ell * epsilon
    with np.errstate(divide="ignore"):
        log_sum = x + np.log1p(-np.exp(-x)) - (epsilon + math.log1p(-math.exp(-epsilon)))
    return np.exp(np.minimum(math.log(delta) + log_sum, 0.0))


def ceiling(ell, epsilon: float, classes: int, *, delta: float = 0.0) -> np.ndarray:
    r"""The label-DP bound on the expected accuracy at a cluster seen ``ell`` times,
    :math:`\min(1, e^{\ell\varepsilon}/m + \delta_\ell)` (module docstring); ``ell`` array-like of
    ints >= 0."""
    ell = np.asarray(ell, dtype=np.float64)
    if delta == 0.0:
        return np.exp(np.minimum(ell * epsilon - math.log(classes), 0.0))
    return np.minimum(
        1.0, np.exp(np.minimum(ell * epsilon - math.log(classes), 0.0)) + group_delta(ell, epsilon, delta)
    )


def replace_one(epsilon: float, delta: float) -> tuple[float, float]:
    r"""Label-DP parameters :math:`(2\varepsilon, \min(1, (1 + e^\varepsilon)\delta))` of an algorithm
    that is :math:`(\varepsilon, \delta)`-DP for adding or removing one example (module docstring)."""
    epsilon = check_finite("epsilon", epsilon, low=0.0)
    delta = check_prob("delta", delta)
    return 2.0 * epsilon, min(1.0, (1.0 + math.exp(min(epsilon, 700.0))) * delta)


def label_dp_cost(
    prior, n: int, classes: int, epsilon: float, *, kappa: float = 1.0, delta: float = 0.0
) -> float:
    r""":math:`\sum_{\ell \ge 1} \mathrm{mass}_\ell\,(\mathrm{acc}_\ell - \mathrm{ceiling}_\ell)_+`:
    the excess error over opt that the per-cluster label-DP bound forces (every multiplicity;
    terms vanish once :math:`e^{\ell\varepsilon} \ge m`). ``mass_l`` from
    :func:`theory.expected_seen_mass` (fixed variant), ``acc_l`` from :func:`theory.bayes_accuracy`."""
    top = min(n, int(math.ceil(math.log(classes) / epsilon)) + 1)
    acc = theory.bayes_accuracy(classes, kappa, top)
    total = 0.0
    for ell in range(1, top + 1):  # a loop over multiplicities (at most ln(m)/eps + 1 of them)
        slack = acc[ell] - float(ceiling(ell, epsilon, classes, delta=delta))
        if slack > 0:
            total += theory.expected_seen_mass(prior, n, ell) * slack
    return total
