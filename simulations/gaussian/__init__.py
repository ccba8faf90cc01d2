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
from simulations.gaussian.measure import (
    Coupling,
    FrequencyAccuracy,
    MixtureBound,
    MultiplicityMean,
    accuracy_by_frequency,
    cluster_counts,
    coupling,
    coupling_by_multiplicity,
    errn_by_multiplicity,
    errn_contributions,
    frequency_bin,
    label_posterior,
    mixture_bound,
    opt_given_sample,
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
