"""Estimators of memorization and influence: subsampled (Feldman & Zhang) and exact leave-one-out."""

from simulations.estimators import diagnostics as _diagnostics
from simulations.estimators import loo as _loo
from simulations.estimators import memorization as _memorization
from simulations.estimators import proxies as _proxies
from simulations.estimators.diagnostics import *  # noqa: F403
from simulations.estimators.loo import *  # noqa: F403
from simulations.estimators.memorization import *  # noqa: F403
from simulations.estimators.proxies import *  # noqa: F403

# each module's __all__ is the one list of what this package exports of it
__all__ = [
    *_memorization.__all__,
    *_loo.__all__,
    *_diagnostics.__all__,
    *_proxies.__all__,
]
