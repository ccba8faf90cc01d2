"""Configuration of experiment ``gaussian-dp`` (:mod:`simulations.experiments.gaussian_dp`): the
frozen dataclass, the ``--quick`` sizes, the list of learner settings in report order, the
noise multipliers of DP-SGD calibrated by the RDP accountant (:func:`theory.dp_sgd_sigma`) and
the label-DP level of each private setting (:mod:`simulations.gaussian.label_dp`)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

import theory
from simulations.gaussian.label_dp import replace_one
from simulations.gaussian.trials import check_mixture_fields, check_tuple
from theory._validate import check_finite, check_int, check_prob

__all__ = ["GaussianDP", "QUICK", "PRIVATE", "settings", "setting_label", "dpsgd_sigmas", "label_levels"]

PRIVATE = ("private", "dpsgd")  # the families with a privacy guarantee


@dataclass(frozen=True)
class GaussianDP:
    """Accuracy on rare and frequent clusters under privacy (epsilon) and regularization."""

    exponent: float = 1.0  # Zipf prior p_c ~ c^-exponent (fixed variant)
    N: int = 300  # clusters
    n: int = 600  # training examples
    dim: int = 1500  # d; n well below d (away from the interpolation threshold n = d)
    classes: int = 10  # m
    scale: float = 0.03  # sigma: within-cluster standard deviation per coordinate
    separation: float = 1.0  # radius of the sphere of means (grid: spacing)
    placement: str = "sphere"  # sphere | grid
    label_mode: str = "uniform"  # uniform | position (the label-DP ceiling assumes uniform)
    noise: float = 0.0  # eta: probability that a label is replaced by a uniform one
    epsilons: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1e3, 3e3, 1e4, 3e4, 1e5)
    dp_lam: float = 1e-4  # Lambda of PrivateLogistic (and of its non-private limit)
    dp_draws: int = 4  # noise draws per epsilon and trial
    dpsgd_epsilons: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # DP-SGD targets; () for none
    dpsgd_delta: float = 1e-5  # delta of DP-SGD's (eps, delta) guarantee (below 1/n)
    dpsgd_sample_rate: float = 0.1  # q: Poisson sampling rate (expected batch q n)
    dpsgd_steps: int = 200  # T
    dpsgd_lr: float = 5.0  # eta
    dpsgd_clip: float = 1.0  # C: per-example gradient norm bound
    dpsgd_draws: int = 2  # DP-SGD runs per epsilon and trial
    ridge_lams: tuple[float, ...] = (0.0, 1.0, 10.0, 100.0)
    logistic_Cs: tuple[float, ...] = (10.0, 1.0, 0.1, 0.01)
    mult_edges: tuple[int, ...] = (1, 2, 4, 8, 16)  # groups: unseen, [1, 2), ..., [16, inf)
    trials: int = 20  # independent mixtures + training + test sets
    n_test: int = 4000  # test examples per trial
    seed: int = 0

    def __post_init__(self):
        check_mixture_fields(self)
        check_tuple("epsilons", self.epsilons)
        for e in self.epsilons:
            check_finite("epsilons", e, low=0.0, low_open=True)
        check_finite("dp_lam", self.dp_lam, low=0.0, low_open=True)
        check_int("dp_draws", self.dp_draws, low=1, high=1000)
        check_tuple("dpsgd_epsilons", self.dpsgd_epsilons, empty=True)
        for e in self.dpsgd_epsilons:
            check_finite("dpsgd_epsilons", e, low=0.0, low_open=True)
        check_prob("dpsgd_delta", self.dpsgd_delta, open_low=True, open_high=True)
        check_prob("dpsgd_sample_rate", self.dpsgd_sample_rate, open_low=True)
        check_int("dpsgd_steps", self.dpsgd_steps, low=1, high=10**6)
        check_finite("dpsgd_lr", self.dpsgd_lr, low=0.0, low_open=True)
        check_finite("dpsgd_clip", self.dpsgd_clip, low=0.0, low_open=True)
        check_int("dpsgd_draws", self.dpsgd_draws, low=1, high=1000)
        check_tuple("ridge_lams", self.ridge_lams, empty=True)
        for lam in self.ridge_lams:
            check_finite("ridge_lams", lam, low=0.0)
        check_tuple("logistic_Cs", self.logistic_Cs, empty=True)
        for C in self.logistic_Cs:
            check_finite("logistic_Cs", C, low=0.0, low_open=True)
        check_tuple("mult_edges", self.mult_edges)
        for k in self.mult_edges:
            check_int("mult_edges", k, low=1, high=self.n)
        if (
            self.mult_edges[0] != 1
            or list(self.mult_edges) != sorted(self.mult_edges)
            or len(self.mult_edges) < 2
        ):
            raise ValueError(
                f"mult_edges must start at 1 (so that group 1 is the clusters seen once), be increasing "
                f"and have at least 2 entries; got {self.mult_edges}"
            )


QUICK = {
    "N": 150,
    "n": 300,
    "dim": 800,
    "epsilons": (0.3, 3.0, 100.0, 1e3, 1e4, 1e5),
    "dp_draws": 2,
    "dpsgd_epsilons": (1.0, 10.0, 100.0),
    "dpsgd_steps": 100,
    "ridge_lams": (0.0, 10.0, 100.0),
    "logistic_Cs": (10.0, 0.1),
    "trials": 4,
    "n_test": 2000,
}


def settings(cfg: GaussianDP) -> list[tuple[str, float]]:
    """(family, value) per setting: ("private", inf) the non-private limit, ("private", eps) in
    the order of ``epsilons``, then (when ``dpsgd_epsilons``) ("dpsgd", inf) DP-SGD without noise
    and ("dpsgd", eps), then ("ridge", lambda) and ("logistic", C)."""
    dpsgd = [("dpsgd", math.inf)] + [("dpsgd", float(e)) for e in cfg.dpsgd_epsilons]
    return (
        [("private", math.inf)]
        + [("private", float(e)) for e in cfg.epsilons]
        + (dpsgd if cfg.dpsgd_epsilons else [])
        + [("ridge", float(v)) for v in cfg.ridge_lams]
        + [("logistic", float(c)) for c in cfg.logistic_Cs]
    )


def setting_label(family: str, value: float) -> str:
    if family == "private":
        return "logistic, non-private (eps = inf)" if math.isinf(value) else f"private logistic eps={value:g}"
    if family == "dpsgd":
        return "DP-SGD, no noise (eps = inf)" if math.isinf(value) else f"DP-SGD eps={value:g}"
    if family == "ridge":
        return "ridge lam=0 (min-norm)" if value == 0 else f"ridge lam={value:g}"
    return f"logistic C={value:g}"


@functools.lru_cache(maxsize=64)
def _calibrate(epsilons: tuple, delta: float, q: float, steps: int) -> tuple[float, ...]:
    return tuple(theory.dp_sgd_sigma(e, delta, q, steps) for e in epsilons)


def dpsgd_sigmas(cfg: GaussianDP) -> np.ndarray:
    """Noise multiplier of each DP-SGD setting: 0 (no noise), then the calibrated sigma of each
    target epsilon (:func:`theory.dp_sgd_sigma`; memoised, a pure function of the fields)."""
    cal = _calibrate(cfg.dpsgd_epsilons, cfg.dpsgd_delta, cfg.dpsgd_sample_rate, cfg.dpsgd_steps)
    return np.array((0.0, *cal))


def label_levels(cfg: GaussianDP, family: str) -> list[tuple[float, float]]:
    """(epsilon, delta) of the label-DP guarantee of each private setting of ``family``."""
    if family == "private":
        return [(float(e), 0.0) for e in cfg.epsilons]
    return [replace_one(float(e), cfg.dpsgd_delta) for e in cfg.dpsgd_epsilons]
