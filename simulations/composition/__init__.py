"""The linear composition model of Zhou, Ma, Ge (2025): sparse signed power-law features, linear
learners batched over runs (minimum-norm interpolation, ridge, gradient descent from zero), the
measurements of memorized tail features on unseen combinations, and one sweep point of the
composition-linear experiment."""

from simulations.composition import features as _features
from simulations.composition import linear as _linear
from simulations.composition import measure as _measure
from simulations.composition import sweep as _sweep
from simulations.composition.features import *  # noqa: F403
from simulations.composition.linear import *  # noqa: F403
from simulations.composition.measure import *  # noqa: F403
from simulations.composition.sweep import *  # noqa: F403

# each module's __all__ is the one list of what this package exports of it
__all__ = [
    *_features.__all__,
    *_linear.__all__,
    *_measure.__all__,
    *_sweep.__all__,
]
