r"""tailmem from Python: the theory, the simulation and the estimators on your own data.

A thin facade over the three packages (``theory``, ``simulations``, ``proofs_check``), which
stay importable as they are. Every function validates its input and raises ``ValueError`` with
one line naming the argument and what is expected.

.. code-block:: python

    import tailmem

    prior = tailmem.zipf(50_000, 1.0)                       # a frequency prior
    r = tailmem.bound(prior, 50_000, classes=10, gamma=0.5)  # Feldman's quantities, exact
    sim = tailmem.simulate_feldman(prior, 50_000, trials=40, seed=0)   # measured, with SEs
    res = tailmem.memorization(x, y, x_test, y_test, models=200)      # your arrays
    res.mem, res.mem_se, res.influence_top_k(5)

First part of the library API (issue "tailmem as a library"); docs/api.md lists every name.
"""

from __future__ import annotations

from simulations.results import package_version
from tailmem.api import bound, load_results, run, simulate_feldman
from tailmem.memorize import MemorizationResult, load, memorization
from theory import FrequencyPrior, from_counts, from_density, mixture, two_point, uniform, zipf

__version__ = package_version()

__all__ = [
    "__version__",
    "FrequencyPrior",
    "zipf",
    "uniform",
    "two_point",
    "from_counts",
    "from_density",
    "mixture",
    "bound",
    "simulate_feldman",
    "memorization",
    "MemorizationResult",
    "load",
    "run",
    "load_results",
]
