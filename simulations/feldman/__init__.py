"""Feldman's subpopulation model simulated end to end: sampler, learners, exact measurements."""

from simulations.feldman import learners as _learners
from simulations.feldman import model as _model
from simulations.feldman.learners import *  # noqa: F403
from simulations.feldman.measure import TauTable, bayes_prediction
from simulations.feldman.measure import measure as measure_trials  # the module keeps its name
from simulations.feldman.model import *  # noqa: F403
from simulations.feldman.posterior import Posterior, argmax_law

# each module's __all__ is the one list of what this package exports of it
__all__ = [
    *_model.__all__,
    *_learners.__all__,
    "Posterior",
    "argmax_law",
    "TauTable",
    "measure_trials",
    "bayes_prediction",
]
