"""Gaussian-mixture long tail: generator, Bayes error, learners with exact leave-one-out, the
per-trial machinery of the Gaussian experiments (:mod:`~simulations.gaussian.trials`).

The MLP sweep (:mod:`~simulations.gaussian.mlp`: ``MLPSweep``, ``FittedSweep``, ``train_sweep``)
is imported on first use, so that importing this package does not import torch.
"""

from simulations.gaussian.bench import loo_benchmark
from simulations.gaussian.dpsgd import DPSGD, DPSGDPath, dpsgd_path
from simulations.gaussian.learners import KNN, KNNModel, LinearModel, memorization
from simulations.gaussian.logistic import (
    Logistic,
    PrivateLogistic,
    PrivatePath,
    clip_rows,
    output_perturbation_noise,
    private_logistic_path,
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
from simulations.gaussian.trials import (
    TrialData,
    draw_trial,
    frequency_edges,
    fresh_predictions,
    measure_predictions,
    ridge_path,
    run_trials,
    trial_rng,
)

_MLP_NAMES = ("MLPSweep", "FittedSweep", "SubsetFit", "train_sweep")


def __getattr__(name: str):
    if name in _MLP_NAMES:  # torch is imported only when the MLP learner is asked for
        from simulations.gaussian import mlp

        return getattr(mlp, name)
    raise AttributeError(f"module 'simulations.gaussian' has no attribute {name!r}")


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
    "PrivatePath",
    "DPSGD",
    "DPSGDPath",
    "dpsgd_path",
    "private_logistic_path",
    "MLPSweep",
    "FittedSweep",
    "SubsetFit",
    "train_sweep",
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
    "TrialData",
    "trial_rng",
    "draw_trial",
    "fresh_predictions",
    "ridge_path",
    "frequency_edges",
    "measure_predictions",
    "run_trials",
]
