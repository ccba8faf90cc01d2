"""Experiment configs from text and JSON: ``--set FIELD=VALUE``, quick sizes, saved configs.

A config is a frozen dataclass (one per experiment); its fields are the one source of truth for
the command line (``--set``), the quick sizes and ``results.json``. Values are parsed by the
field's type and then validated by the config's own ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import typing

__all__ = ["apply_overrides", "make_config", "config_from_json", "field_help", "set_syntax"]


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
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"--set: unknown field {key!r}{hint}; valid fields: {', '.join(valid)}")
        changes[key] = _convert(key, hints[key], value) if isinstance(value, str) else value
    return dataclasses.replace(cfg, **changes)


def make_config(exp, *, quick: bool, overrides: list[str] | None = None, data_dir: str | None = None):
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


def _from_json(value):
    return tuple(_from_json(v) for v in value) if isinstance(value, list) else value


def config_from_json(config_cls: type, saved: dict):
    """The config ``config_cls`` that a results.json ``config`` object describes.

    Lists become tuples; "inf" strings (how results.json writes infinities) are parsed by the
    field type; fields missing from an older file take their defaults. A field the class does
    not know means a results folder of another version: ValueError naming it.
    """
    if not isinstance(saved, dict):
        raise ValueError(f"config: expected a JSON object; got {type(saved).__name__}")
    valid = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(saved) - valid)
    if unknown:
        raise ValueError(
            f"config: fields {', '.join(unknown)} are unknown to {config_cls.__name__} "
            "(results of another tailmem version)"
        )
    return apply_overrides(config_cls(), {k: _from_json(v) for k, v in saved.items()})


def field_help(config_cls: type) -> dict[str, str]:
    """Each field's comment in the config's source (``name: type = default  # comment``), read
    from the class and the dataclasses it extends (the nearest definition wins)."""
    out: dict[str, str] = {}
    for cls in config_cls.__mro__:
        if not dataclasses.is_dataclass(cls):
            continue
        try:
            lines = inspect.getsource(cls).splitlines()
        except (OSError, TypeError):
            continue
        for line in lines:
            m = re.match(r"\s+(\w+)\s*:[^=#]*(?:=[^#]*)?#\s*(.*)$", line)
            if m and m.group(1) not in out:
                out[m.group(1)] = m.group(2).strip()
    return out


def set_syntax(typ) -> str:
    """How ``--set FIELD=VALUE`` spells a value of the field type ``typ``."""
    if typing.get_origin(typ) is tuple:
        inner = getattr(typing.get_args(typ)[0], "__name__", "value")
        return f"{inner},{inner},... (comma-separated)"
    if typ is bool:
        return "true|false"
    return getattr(typ, "__name__", str(typ))
