"""All figures of the toolkit, drawn from saved results (never from a run's memory).

The library never calls ``plt.show()``; each function writes one PNG and returns its file name.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["feldman_examples_figure", "save"]


def save(fig, folder: str | Path, name: str) -> str:
    """Save ``fig`` as ``folder/name`` (PNG, 150 dpi) and close it; return ``name``."""
    fig.savefig(Path(folder) / name, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return name


def feldman_examples_figure(arrays: dict, folder: str | Path) -> str:
    """tau_1 * n (with Feldman's tail-weight lower bound) and the singleton fraction against n / N."""
    ratios = np.asarray(arrays["ratios"])
    ex = np.asarray(arrays["exponents"])
    tau = np.asarray(arrays["tau1_times_n"])
    tail = np.asarray(arrays["tail_bound_times_n"])
    single = np.asarray(arrays["singleton_fraction"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.cm.viridis(np.linspace(0, 0.9, ex.size))
    for k, s in enumerate(ex):
        a1.plot(ratios, tau[k], color=colors[k], label=f"Zipf exponent {s:g}")
        a1.plot(ratios, tail[k], color=colors[k], ls=":", lw=1)
        a2.plot(ratios, single[k], color=colors[k], label=f"Zipf exponent {s:g}")
    a1.plot(
        [], [], color="gray", ls=":", label=r"lower bound $\frac{1}{5}$weight$[\frac{1}{3n},\frac{2}{n}]$"
    )
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlabel("n / N")
    a1.set_ylabel(r"$\tau_1 \cdot n$")
    a1.set_title(r"Expected frequency of a singleton, $\tau_1 n$ (exact, fixed variant)")
    a1.legend(fontsize=8)
    a2.set_xscale("log")
    a2.set_xlabel("n / N")
    a2.set_ylabel("expected singleton share of examples")
    a2.set_title("Singleton fraction (exact, fixed variant)")
    a2.set_ylim(0, 1)
    a2.legend(fontsize=8)
    for a in (a1, a2):
        a.grid(alpha=0.3)
    return save(fig, folder, "tau1_and_singletons_vs_ratio.png")
