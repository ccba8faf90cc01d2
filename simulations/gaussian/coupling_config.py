"""Configuration of experiment ``gaussian-coupling`` (:mod:`simulations.experiments.gaussian_coupling`):
the frozen dataclass, the ``--quick`` sizes and the list of learner settings in report order."""

from __future__ import annotations

from dataclasses import dataclass

from simulations.gaussian.trials import check_mixture_fields, check_tuple
from theory._validate import check_finite, check_int

__all__ = ["GaussianCoupling", "QUICK", "settings", "setting_label"]


@dataclass(frozen=True)
class GaussianCoupling:
    """The coupling lambda_l of each learner, errn_l and the mixture bound against the excess."""

    exponent: float = 1.0  # Zipf prior p_c ~ c^-exponent (fixed variant)
    N: int = 300  # clusters
    n: int = 300  # training examples
    dim: int = 600  # d; n <= d: ridge at lambda = 0 interpolates and the SVM problem is feasible
    classes: int = 10  # m
    scale: float = 0.03  # sigma: within-cluster standard deviation per coordinate
    separation: float = 1.0  # radius of the sphere of means (grid: spacing)
    placement: str = "sphere"  # sphere | grid
    label_mode: str = "uniform"  # uniform | position (the theory's opt assumes uniform)
    noise: float = 0.0  # eta: probability that a label is replaced by a uniform one
    knn_ks: tuple[int, ...] = (1, 3, 9)
    ridge_lams: tuple[float, ...] = (0.0, 1.0, 10.0, 100.0)
    kernel_gammas: tuple[float, ...] = (0.5, 5.0)  # RBF exp(-gamma |x - x'|^2)
    kernel_lam: float = 0.0  # kernel ridge lambda (0: interpolation)
    svm: bool = True  # hard-margin linear SVM (cvxpy, CLARABEL)
    logistic_Cs: tuple[float, ...] = (1.0,)
    mlp_weight_decays: tuple[float, ...] = (0.0, 0.03)
    mlp_epochs: tuple[int, ...] = (3, 30)  # training lengths (snapshots of one run)
    mlp_hidden: int = 64  # one hidden layer of this width
    mlp_seeds: int = 2  # R: seeds per weight decay
    mlp_loo: int = 16  # K: sampled training examples refit without, per weight decay and seed
    mlp_lr: float = 0.05
    mlp_batch_size: int = 32
    trials: int = 12  # independent mixtures + training + test sets
    n_test: int = 4000  # test examples per trial
    fresh: int = 10  # fresh draws per training example for the coupling
    L: int = 5  # multiplicities l = 1..L reported (the bound sums over every l)
    seed: int = 0

    def __post_init__(self):
        check_mixture_fields(self)
        for name in ("knn_ks", "ridge_lams", "kernel_gammas", "logistic_Cs", "mlp_weight_decays"):
            check_tuple(name, getattr(self, name), empty=True)
        for k in self.knn_ks:
            check_int("knn_ks", k, low=1, high=self.n - 1)
        for lam in self.ridge_lams:
            check_finite("ridge_lams", lam, low=0.0)
        for g in self.kernel_gammas:
            check_finite("kernel_gammas", g, low=0.0, low_open=True)
        check_finite("kernel_lam", self.kernel_lam, low=0.0)
        if not isinstance(self.svm, bool):
            raise ValueError(f"svm must be True or False; got {self.svm!r}")
        for C in self.logistic_Cs:
            check_finite("logistic_Cs", C, low=0.0, low_open=True)
        for wd in self.mlp_weight_decays:
            check_finite("mlp_weight_decays", wd, low=0.0)
        check_tuple("mlp_epochs", self.mlp_epochs, empty=True)
        for e in self.mlp_epochs:
            check_int("mlp_epochs", e, low=1, high=10**5)
        if list(self.mlp_epochs) != sorted(self.mlp_epochs):
            raise ValueError(f"mlp_epochs must be increasing; got {self.mlp_epochs}")
        if bool(self.mlp_weight_decays) != bool(self.mlp_epochs):
            raise ValueError(
                "mlp_weight_decays, mlp_epochs: give both (the MLP sweep) or neither (no MLP); "
                f"got {self.mlp_weight_decays} and {self.mlp_epochs}"
            )
        check_int("mlp_hidden", self.mlp_hidden, low=1, high=10**4)
        check_int("mlp_seeds", self.mlp_seeds, low=1, high=100)
        check_int("mlp_loo", self.mlp_loo, low=0, high=self.n)
        check_finite("mlp_lr", self.mlp_lr, low=0.0, low_open=True)
        check_int("mlp_batch_size", self.mlp_batch_size, low=1, high=self.n)
        check_int("fresh", self.fresh, low=1, high=10**4)
        check_int("L", self.L, low=1, high=self.n)
        if not self.settings_count():
            raise ValueError("knn_ks, ridge_lams, ...: every learner family is empty; nothing to measure")

    def settings_count(self) -> int:
        return len(settings(self))


QUICK = {
    "N": 100,
    "n": 100,
    "dim": 200,
    "knn_ks": (1, 5),
    "ridge_lams": (0.0, 10.0),
    "kernel_gammas": (0.5, 5.0),
    "mlp_epochs": (3, 30),
    "mlp_seeds": 1,
    "mlp_loo": 6,
    "trials": 3,
    "n_test": 1500,
    "fresh": 6,
    "L": 3,
}


# ---------------------------------------------------------------------- learner settings
def settings(cfg: GaussianCoupling) -> list[tuple[str, tuple]]:
    """(family, parameters) per learner setting, in report order."""
    out: list[tuple[str, tuple]] = [("knn", (int(k),)) for k in cfg.knn_ks]
    out += [("ridge", (float(v),)) for v in cfg.ridge_lams]
    out += [("kernel", (float(g),)) for g in cfg.kernel_gammas]
    out += [("svm", ())] if cfg.svm else []
    out += [("logistic", (float(c),)) for c in cfg.logistic_Cs]
    out += [("mlp", (float(wd), int(e))) for wd in cfg.mlp_weight_decays for e in cfg.mlp_epochs]
    return out


def setting_label(family: str, p: tuple, cfg: GaussianCoupling) -> str:
    if family == "knn":
        return f"{p[0]}-NN"
    if family == "ridge":
        return "ridge lam=0 (min-norm)" if p[0] == 0 else f"ridge lam={p[0]:g}"
    if family == "kernel":
        return f"RBF kernel ridge gamma={p[0]:g}" + (f" lam={cfg.kernel_lam:g}" if cfg.kernel_lam else "")
    if family == "svm":
        return "hard-margin SVM"
    if family == "logistic":
        return f"logistic C={p[0]:g}"
    return f"MLP wd={p[0]:g}, {p[1]} epochs"
