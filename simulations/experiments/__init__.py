"""The experiment registry: each experiment is a frozen config dataclass plus pure functions.

An :class:`Experiment` bundles

- ``config``: a frozen dataclass whose fields are the experiment's parameters (one source of
  truth: ``--set FIELD=VALUE`` and the ``--quick`` sizes are written in terms of its fields);
- ``quick``: the field overrides that make the quick size;
- ``run(cfg) -> dict``: pure computation, returns JSON-ready numbers and numpy arrays;
- ``plot(results, arrays, folder) -> list[str]``: figures drawn from the saved results;
- ``report(results) -> str``: the markdown section for ``report.md``;
- ``unavailable(cfg) -> str | None``: optional; a one-line reason why the experiment cannot run
  here (data files or an optional extra absent), or None. ``tailmem reproduce`` skips such an
  experiment and says why in its log and in ``report.md``; ``tailmem run`` runs it and fails
  with the experiment's own error.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Experiment", "REGISTRY", "register", "get", "apply_overrides", "make_config"]


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    config: type
    run: Callable
    plot: Callable
    report: Callable
    quick: dict = field(default_factory=dict)
    unavailable: Callable | None = None


REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    if exp.name in REGISTRY:
        raise ValueError(f"experiment {exp.name!r} registered twice")
    REGISTRY[exp.name] = exp
    return exp


def _load_all() -> None:
    # importing a module registers its experiment
    from simulations.experiments import (  # noqa: F401
        composition_linear,
        composition_nets,
        feldman_bound,
        feldman_examples,
        gaussian_coupling,
        gaussian_dp,
        gaussian_tail,
        influence_pairs,
        memorization,
        nlp_attribution,  # the nlp-* experiments import their [nlp] extra only when they run
        nlp_memorization,
        nlp_removal,
        removal,
    )


def get(name: str) -> Experiment:
    """The experiment called ``name``; ValueError listing the known ones otherwise."""
    _load_all()
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"experiment: unknown experiment {name!r}; known experiments: {known}")
    return REGISTRY[name]


def names() -> list[str]:
    _load_all()
    return sorted(REGISTRY)


def _convert(name: str, typ, text: str):
    """Parse ``text`` as a value of the field type ``typ``."""
    origin = typing.get_origin(typ)
    try:
        if typ is bool:
            low = text.strip().lower()
            if low not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError
            return low in {"true", "1", "yes"}
        if typ is int:
            val = float(text)
            if not val.is_integer():
                raise ValueError
            return int(val)
        if typ is float:
            return float(text)
        if typ is str:
            return text
        if origin is tuple:
            args = typing.get_args(typ)
            inner = args[0]
            parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
            return tuple(_convert(name, inner, p.strip()) for p in parts)
    except ValueError:
        raise ValueError(f"{name}: cannot read {text!r} as {getattr(typ, '__name__', typ)}") from None
    raise ValueError(f"{name}: cannot be set from the command line")


def apply_overrides(cfg, overrides: dict | list[str]):
    """A copy of ``cfg`` with fields replaced; ``overrides`` as a dict or ``FIELD=VALUE`` strings.

    Unknown fields raise ValueError naming the valid fields; values are parsed by field type
    and then validated by the config's own ``__post_init__``.
    """
    hints = typing.get_type_hints(type(cfg))
    valid = [f.name for f in dataclasses.fields(cfg)]
    changes = {}
    items = overrides.items() if isinstance(overrides, dict) else None
    if items is None:
        items = []
        for text in overrides:
            if "=" not in text:
                raise ValueError(f"--set: expected FIELD=VALUE, got {text!r}")
            k, v = text.split("=", 1)
            items.append((k.strip(), v.strip()))
    for key, value in items:
        if key not in valid:
            raise ValueError(f"--set: unknown field {key!r}; valid fields: {', '.join(valid)}")
        changes[key] = _convert(key, hints[key], value) if isinstance(value, str) else value
    return dataclasses.replace(cfg, **changes)


def make_config(
    exp: Experiment, *, quick: bool, overrides: list[str] | None = None, data_dir: str | None = None
):
    """The config of ``exp`` at full or quick size with ``--set`` overrides applied last.

    ``data_dir`` (the ``--data-dir`` flag) fills the config's ``data_dir`` field where it has
    one; a ``--set data_dir=...`` still wins.
    """
    cfg = exp.config()
    if quick:
        cfg = apply_overrides(cfg, exp.quick)
    if data_dir and "data_dir" in {f.name for f in dataclasses.fields(cfg)}:
        cfg = apply_overrides(cfg, {"data_dir": str(data_dir)})
    if overrides:
        cfg = apply_overrides(cfg, overrides)
    return cfg
