"""Configuration of experiment ``gaussian-tail`` (:mod:`simulations.experiments.gaussian_tail`): the
frozen dataclass, the ``--quick`` sizes and the list of learner settings in report order."""

from __future__ import annotations

from dataclasses import dataclass

from simulations.gaussian.trials import check_mixture_fields, check_tuple
from theory._validate import check_finite, check_int

__all__ = ["GaussianTail", "QUICK", "settings", "setting_label"]


@dataclass(frozen=True)
class GaussianTail:
    """Rare-cluster accuracy, memorization, errn and coupling of regularized learners."""

    exponent: float = 1.0  # Zipf prior p_c ~ c^-exponent (fixed variant)
    N: int = 500  # clusters
    n: int = 500  # training examples
    dim: int = 1000  # d; n <= d makes ridge at lambda = 0 the minimum-norm interpolator
    classes: int = 10  # m
    scale: float = 0.02  # sigma: within-cluster standard deviation per coordinate
    separation: float = 1.0  # radius of the sphere of means (grid: spacing)
    placement: str = "sphere"  # sphere | grid
    label_mode: str = "uniform"  # uniform | position (the theory's opt assumes uniform)
    noise: float = 0.0  # eta: probability that a label is replaced by a uniform one
    ridge_lams: tuple[float, ...] = (0.0, 0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)
    knn_ks: tuple[int, ...] = (1, 3, 9)
    logistic_Cs: tuple[float, ...] = (0.1, 1.0, 10.0)
    kernel_gammas: tuple[float, ...] = (0.5, 5.0)  # RBF exp(-gamma |x - x'|^2); () for none
    kernel_lam: float = 0.0  # kernel ridge lambda (0: interpolation)
    mlp_weight_decays: tuple[float, ...] = (0.0, 0.5)  # () for no MLP
    mlp_epochs: int = 20
    mlp_hidden: int = 64  # one hidden layer of this width
    mlp_subsets: int = 8  # t: models per weight decay on random subsets (subsampled memorization)
    mlp_ratio: float = 0.7  # subset size / n
    mlp_lr: float = 0.05
    mlp_batch_size: int = 32
    trials: int = 20  # independent mixtures + training + test sets
    n_test: int = 4000  # test examples per trial
    fresh: int = 10  # fresh draws per training example for the coupling
    bayes_samples: int = 4000  # Monte Carlo draws for the mixture's Bayes error
    L: int = 5  # multiplicities l = 1..L reported (the bound sums over every l)
    seed: int = 0

    def __post_init__(self):
        check_mixture_fields(self)
        for name in ("ridge_lams", "knn_ks", "logistic_Cs", "kernel_gammas", "mlp_weight_decays"):
            check_tuple(name, getattr(self, name), empty=True)
        if not self.ridge_lams:
            raise ValueError("ridge_lams: need at least one lambda >= 0 (the regularization sweep)")
        for lam in self.ridge_lams:
            check_finite("ridge_lams", lam, low=0.0)
        for k in self.knn_ks:
            check_int("knn_ks", k, low=1, high=self.n - 1)
        for C in self.logistic_Cs:
            check_finite("logistic_Cs", C, low=0.0, low_open=True)
        for g in self.kernel_gammas:
            check_finite("kernel_gammas", g, low=0.0, low_open=True)
        check_finite("kernel_lam", self.kernel_lam, low=0.0)
        for wd in self.mlp_weight_decays:
            check_finite("mlp_weight_decays", wd, low=0.0)
        check_int("mlp_epochs", self.mlp_epochs, low=1, high=10**5)
        check_int("mlp_hidden", self.mlp_hidden, low=1, high=10**4)
        check_int("mlp_subsets", self.mlp_subsets, low=2, high=10**4)
        check_finite("mlp_ratio", self.mlp_ratio, low=0.0, high=1.0, low_open=True, high_open=True)
        if not 1 <= round(self.mlp_ratio * self.n) <= self.n - 1:
            raise ValueError(f"mlp_ratio: {self.mlp_ratio} * n leaves an empty subset or complement")
        check_finite("mlp_lr", self.mlp_lr, low=0.0, low_open=True)
        check_int("mlp_batch_size", self.mlp_batch_size, low=1, high=self.n)
        check_int("fresh", self.fresh, low=1, high=10**4)
        check_int("bayes_samples", self.bayes_samples, low=2, high=10**7)
        check_int("L", self.L, low=1, high=self.n)


QUICK = {
    "N": 200,
    "n": 200,
    "dim": 400,
    "scale": 0.03,
    "ridge_lams": (0.0, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0),
    "knn_ks": (1, 5),
    "logistic_Cs": (0.1, 10.0),
    "mlp_epochs": 10,
    "trials": 4,
    "n_test": 2000,
    "fresh": 8,
    "bayes_samples": 2000,
}


# ---------------------------------------------------------------------- learner settings
def settings(cfg: GaussianTail) -> list[tuple[str, float]]:
    """(family, value) per learner setting, in report order: ridge lambdas, k-NN ks, logistic Cs,
    kernel ridge gammas, MLP weight decays."""
    return (
        [("ridge", float(v)) for v in cfg.ridge_lams]
        + [("knn", float(k)) for k in cfg.knn_ks]
        + [("logistic", float(c)) for c in cfg.logistic_Cs]
        + [("kernel", float(g)) for g in cfg.kernel_gammas]
        + [("mlp", float(w)) for w in cfg.mlp_weight_decays]
    )


def setting_label(family: str, value: float) -> str:
    if family == "ridge":
        return "ridge lam=0 (min-norm)" if value == 0 else f"ridge lam={value:g}"
    if family == "knn":
        return f"k-NN k={int(value)}"
    if family == "kernel":
        return f"RBF kernel ridge gamma={value:g}"
    if family == "mlp":
        return f"MLP wd={value:g}"
    return f"logistic C={value:g}"
