"""The experiments: one module each, found by :func:`simulations.experiment.discover`.

Each module declares its experiment with :func:`simulations.experiment.experiment` and attaches
``run``, ``report`` and ``plot`` (docs/experiments.md, "Adding an experiment"); nothing here
lists them. This package re-exports the registry's look-ups and the config helpers.
"""

from __future__ import annotations

from simulations.config import apply_overrides, config_from_json, make_config
from simulations.experiment import Experiment, get, names

__all__ = ["Experiment", "get", "names", "apply_overrides", "make_config", "config_from_json"]
