"""Markdown tables for the reports: one writer, so no report counts its own ``| --- |`` cells.

Every report.md table is a header line, its rule and one line per row, each written
``| a | b |``. A ``|`` inside a cell (``E[D(x) | S]``, ``P(y|x)``) is written ``\\|``, which
renders as ``|`` and does not split the cell; :func:`cells` reads a line back. :func:`table`
checks that each row has as many cells as the header: a report whose row and header disagree is
refused where it is built, not discovered in a rendered page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["cell", "row", "cells", "table"]

_UNESCAPED_BAR = re.compile(r"(?<!\\)\|")


def cell(value, spec: str = "", missing: str = "—") -> str:
    """``value`` formatted by ``spec`` (``format(value, spec)``), or ``missing`` where it is None."""
    return missing if value is None else format(value, spec)


def row(values: Sequence[object]) -> str:
    """One table line ``| c1 | c2 | ... |`` (values through ``str``, a ``|`` in one escaped)."""
    return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"


def cells(line: str) -> list[str]:
    """The cells of a table line written by :func:`row`, unescaped and stripped (its inverse)."""
    inner = line.strip().removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in _UNESCAPED_BAR.split(inner)]


def table(header: Sequence[str], rows: Iterable[Sequence[object]] = ()) -> list[str]:
    """The lines of a markdown table: ``header``, its rule, then ``rows`` (cells through ``str``).

    Raises ValueError naming the row when a row's cell count differs from the header's.
    """
    width = len(header)
    if width == 0:
        raise ValueError("table: header must have at least 1 column; got 0")
    lines = [row(header), row(["---"] * width)]
    for i, values in enumerate(rows):
        values = list(values)
        if len(values) != width:
            raise ValueError(f"table: row {i} has {len(values)} cells, the header {width}: {values!r}")
        lines.append(row(values))
    return lines
