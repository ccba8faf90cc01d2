"""Exact theory of Feldman's subpopulation mixture model (numpy and scipy only).

Source: Feldman (2020), "Does Learning Require Memorization? A Short Tale about a Long Tail",
arXiv 1906.05271. See docs/theory.md for the model, the symbols and which variant each number uses.
"""

from theory import bounds as _bounds
from theory import iid as _iid
from theory import labels as _labels
from theory import moments as _moments
from theory import priors as _priors
from theory import privacy as _privacy
from theory import quantities as _quantities
from theory.bounds import *  # noqa: F403
from theory.iid import *  # noqa: F403
from theory.labels import *  # noqa: F403
from theory.moments import *  # noqa: F403
from theory.priors import *  # noqa: F403
from theory.privacy import *  # noqa: F403
from theory.quantities import *  # noqa: F403

# each module's __all__ is the one list of what this package exports of it
__all__ = [
    *_priors.__all__,
    *_quantities.__all__,
    *_moments.__all__,
    *_iid.__all__,
    *_bounds.__all__,
    *_labels.__all__,
    *_privacy.__all__,
]
