"""Exact, executable checks of the derivations behind :mod:`theory` (fractions and sympy).

Source: Feldman (2020), "Does Learning Require Memorization? A Short Tale about a Long Tail",
arXiv 1906.05271. Every probability is enumerated exactly on tiny instances (the table uses
N <= 4 points, n <= 4 draws, m = 2 classes): :mod:`proofs_check.posterior` checks the posterior lemma,
:mod:`proofs_check.main_bound` the main bound, and ``python -m proofs_check`` prints the table
(:mod:`proofs_check.runner`). Each check is compared with the floats of :mod:`theory` as well.
"""

from proofs_check import enumeration as _enumeration
from proofs_check import main_bound as _main_bound
from proofs_check import posterior as _posterior
from proofs_check import runner as _runner
from proofs_check.enumeration import *  # noqa: F403
from proofs_check.main_bound import *  # noqa: F403
from proofs_check.posterior import *  # noqa: F403
from proofs_check.runner import *  # noqa: F403

# each module's __all__ is the one list of what this package exports of it
__all__ = [
    *_enumeration.__all__,
    *_posterior.__all__,
    *_main_bound.__all__,
    *_runner.__all__,
]
