"""The figure backend (Agg, set before pyplot is imported) and the one way figures are saved."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt", "save"]


def save(fig, folder: str | Path, name: str) -> str:
    """Save ``fig`` as ``folder/name`` (PNG, 150 dpi) and close it; return ``name``."""
    fig.savefig(Path(folder) / name, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return name
