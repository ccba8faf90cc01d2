"""The figure backend (Agg, set before pyplot is imported), the figure standard's settings
(:data:`simulations.plots.style.RC`) and the one way figures are saved."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from simulations.plots.check import check_figure  # noqa: E402
from simulations.plots.style import RC  # noqa: E402

matplotlib.rcParams.update(RC)

__all__ = ["plt", "save", "CHECK_ENV"]

#: With this environment variable set to 1, ``save`` checks every figure (check.check_figure).
CHECK_ENV = "TAILMEM_CHECK_FIGURES"


def save(fig, folder: str | Path, name: str) -> str:
    """Save ``fig`` as ``folder/name`` (PNG, 150 dpi) and close it; return ``name``.

    With ``TAILMEM_CHECK_FIGURES=1`` the figure is checked first (:func:`check_figure`) and a
    problem raises ``ValueError`` naming the figure and the first problems, on one line.
    """
    fig.canvas.draw()  # the layout runs once, checked or not, so a check changes no byte of the file
    if os.environ.get(CHECK_ENV) == "1":
        problems = check_figure(fig, draw=False)
        if problems:
            plt.close(fig)
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise ValueError(f"figure {name}: {'; '.join(problems[:3])}{more}")
    # the layout is done: savefig's own draws (one to find the tight box, one to render) keep it as it
    # is instead of running it twice more (measured: a quick folder's 24 figures redrawn in 26 s
    # instead of 31 s); the file holds exactly the layout that was checked
    fig.set_layout_engine("none")
    fig.savefig(Path(folder) / name, dpi=150, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    return name
