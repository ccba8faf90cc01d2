"""Samplers, learners, estimators, experiments, the ``tailmem`` command and its figures.

May import :mod:`theory`; :mod:`theory` never imports this package.
"""

__all__ = [
    "backends",
    "cli",
    "experiments",
    "plots",
    "results",
    "runner",
    "benchmark",
]
