"""Feldman's subpopulation model simulated end to end: sampler, learners, exact measurements."""

from simulations.feldman.learners import (
    Compressed,
    FitFrequent,
    LabelDP,
    MajorityClass,
    MemorizationLimited,
    Prediction,
    parse_learner,
)
from simulations.feldman.measure import TauTable, bayes_prediction
from simulations.feldman.measure import measure as measure_trials  # the module keeps its name
from simulations.feldman.model import Batch, LabelPrior, sample_batch
from simulations.feldman.posterior import Posterior, argmax_law

__all__ = [
    "Batch",
    "LabelPrior",
    "sample_batch",
    "Posterior",
    "argmax_law",
    "Prediction",
    "FitFrequent",
    "MemorizationLimited",
    "LabelDP",
    "Compressed",
    "MajorityClass",
    "parse_learner",
    "TauTable",
    "measure_trials",
    "bayes_prediction",
]
