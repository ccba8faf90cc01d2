"""Exact theory of Feldman's subpopulation mixture model (numpy and scipy only).

Source: Feldman (2020), "Does Learning Require Memorization? A Short Tale about a Long Tail",
arXiv 1906.05271. See docs/theory.md for the model, the symbols and which variant each number uses.
"""

from theory.bounds import (
    BoundReport,
    OptError,
    bound,
    cost_label_dp,
    cost_memorization_limit,
    cost_unfit,
    dp_memorization_gamma,
    opt_error,
)
from theory.iid import IidMoments, SumLaw, law_of_rest, log_moments_iid
from theory.labels import bayes_accuracy, singleton_confidence
from theory.moments import log_moment, log_moments, moment_ratios
from theory.priors import (
    VARIANTS,
    FrequencyPrior,
    from_counts,
    from_density,
    mixture,
    two_point,
    uniform,
    zipf,
)
from theory.privacy import (
    dp_sgd_epsilon,
    dp_sgd_sigma,
    rdp_to_epsilon,
    sampled_gaussian_log_a,
    sampled_gaussian_rdp,
)
from theory.quantities import (
    expected_seen_count,
    expected_seen_mass,
    log_binom,
    singleton_fraction,
    tail_weight,
    tail_weight_bound,
    tau,
    taus,
    unseen_mass,
)

__all__ = [
    "VARIANTS",
    "BoundReport",
    "FrequencyPrior",
    "IidMoments",
    "OptError",
    "SumLaw",
    "bayes_accuracy",
    "bound",
    "cost_label_dp",
    "cost_memorization_limit",
    "cost_unfit",
    "dp_memorization_gamma",
    "dp_sgd_epsilon",
    "dp_sgd_sigma",
    "expected_seen_count",
    "expected_seen_mass",
    "from_counts",
    "from_density",
    "law_of_rest",
    "log_binom",
    "log_moment",
    "log_moments",
    "log_moments_iid",
    "mixture",
    "moment_ratios",
    "opt_error",
    "rdp_to_epsilon",
    "sampled_gaussian_log_a",
    "sampled_gaussian_rdp",
    "singleton_confidence",
    "singleton_fraction",
    "tail_weight",
    "tail_weight_bound",
    "tau",
    "taus",
    "two_point",
    "uniform",
    "unseen_mass",
    "zipf",
]
