"""Samplers, learners, estimators, experiments, the ``tailmem`` command and its figures.

May import :mod:`theory`; :mod:`theory` never imports this package.
"""

__all__ = [
    "cli",
    "experiments",
    "plots",
    "results",
    "runner",
    "benchmark",
]
