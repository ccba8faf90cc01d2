"""Gaussian-mixture long tail: generator, Bayes error, learners with exact leave-one-out."""

from simulations.gaussian.bench import loo_benchmark
from simulations.gaussian.learners import KNN, KNNModel, LinearModel, memorization
from simulations.gaussian.logistic import (
    Logistic,
    PrivateLogistic,
    clip_rows,
    output_perturbation_noise,
    regularized_logistic,
)
from simulations.gaussian.model import (
    GaussianMixture,
    GaussianSample,
    bayes_error,
    make_mixture,
    min_separation_over_scale,
    sample,
)
from simulations.gaussian.ridge import KernelModel, KernelRidge, Ridge, rbf_kernel
from simulations.gaussian.svm import HardMarginSVM, multiclass_margin

__all__ = [
    "GaussianMixture",
    "GaussianSample",
    "make_mixture",
    "sample",
    "bayes_error",
    "min_separation_over_scale",
    "LinearModel",
    "KNN",
    "KNNModel",
    "memorization",
    "Ridge",
    "KernelRidge",
    "KernelModel",
    "rbf_kernel",
    "Logistic",
    "PrivateLogistic",
    "clip_rows",
    "output_perturbation_noise",
    "regularized_logistic",
    "HardMarginSVM",
    "multiclass_margin",
    "loo_benchmark",
]
