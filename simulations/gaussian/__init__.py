"""Gaussian-mixture long tail: generator, Bayes error, learners with exact leave-one-out, the
per-trial machinery of the Gaussian experiments (:mod:`~simulations.gaussian.trials`).

The MLP sweep (:mod:`~simulations.gaussian.mlp`: ``MLPSweep``, ``FittedSweep``, ``train_sweep``)
is imported on first use, so that importing this package does not import torch.
"""

from simulations.gaussian import bench as _bench
from simulations.gaussian import dpsgd as _dpsgd
from simulations.gaussian import learners as _learners
from simulations.gaussian import logistic as _logistic
from simulations.gaussian import measure as _measure
from simulations.gaussian import model as _model
from simulations.gaussian import ridge as _ridge
from simulations.gaussian import svm as _svm
from simulations.gaussian import trials as _trials
from simulations.gaussian.bench import *  # noqa: F403
from simulations.gaussian.dpsgd import *  # noqa: F403
from simulations.gaussian.learners import *  # noqa: F403
from simulations.gaussian.logistic import *  # noqa: F403
from simulations.gaussian.measure import *  # noqa: F403
from simulations.gaussian.model import *  # noqa: F403
from simulations.gaussian.ridge import *  # noqa: F403
from simulations.gaussian.svm import *  # noqa: F403
from simulations.gaussian.trials import *  # noqa: F403

_MLP_NAMES = ("MLPSweep", "FittedSweep", "SubsetFit", "train_sweep")


def __getattr__(name: str):
    if name in _MLP_NAMES:  # torch is imported only when the MLP learner is asked for
        from simulations.gaussian import mlp

        return getattr(mlp, name)
    raise AttributeError(f"module 'simulations.gaussian' has no attribute {name!r}")


# each module's __all__ is the one list of what this package exports of it
__all__ = [
    *_model.__all__,
    *_learners.__all__,
    *_ridge.__all__,
    *_logistic.__all__,
    *_dpsgd.__all__,
    *_svm.__all__,
    *_bench.__all__,
    *_measure.__all__,
    *_trials.__all__,
    *_MLP_NAMES,
]
