"""Figures of the ``cscores`` experiment, from its saved results."""

from __future__ import annotations

import numpy as np

from simulations.plots.common import plt, save
from simulations.plots.memorization import example_panel

__all__ = ["cscores_figures"]

MARKERS = "osD^vP*X"


def _letter(ax, letter: str) -> None:
    ax.text(-0.12, 1.04, f"({letter})", transform=ax.transAxes, fontsize=11, fontweight="bold", va="bottom")


def _agreement(results: dict, arrays: dict, folder) -> str:
    from simulations.experiments.cscores import label

    agree = results["agreement"]
    main = "heldout_soft_averaged"
    fig, (a1, a2, a3) = plt.subplots(
        1, 3, figsize=(16, 4.6), gridspec_kw={"width_ratios": [1, 1.15, 1.15]}, layout="constrained"
    )
    x, y = arrays["cscore"], arrays[f"estimate_{main}"]
    ok = np.isfinite(x) & np.isfinite(y)
    hb = a1.hexbin(x[ok], y[ok], gridsize=40, bins="log", cmap="viridis", mincnt=1)
    fig.colorbar(hb, ax=a1, label="images per cell (log)")
    a1.set_xlabel("released C-score (Jiang et al., ResNets)")
    a1.set_ylabel("ours: held-out P(label), ratios averaged")
    r = agree[main]["all"]
    a1.set_title(
        f"n = {r['n']:,}; Spearman {r['rho']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]", fontsize=9
    )
    _letter(a1, "a")

    names = list(agree)
    for k, name in enumerate(names):
        a = agree[name]
        rho, lo, hi = a["all"]["rho"], *a["all"]["ci95"]
        cost = max(a["cost_seconds"], 1e-2)
        a2.errorbar(
            cost,
            rho,
            yerr=[[rho - lo], [hi - rho]],
            fmt=MARKERS[k % len(MARKERS)],
            ms=7,
            capsize=3,
            color=plt.cm.tab10(k % 10),
            label=label(name),
        )
    a2.set_xscale("log")
    a2.set_xlabel("cost on this machine (s, log scale)")
    a2.set_ylabel("Spearman rho with the released C-score")
    a2.axhline(0, color="0.6", lw=0.8)
    a2.set_title("agreement against cost (95% bootstrap intervals)", fontsize=9)
    _letter(a2, "b")

    classes = results["classes"]
    pos = np.arange(len(classes))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        by = agree[name]["by_class"]
        rho = np.array([np.nan if c is None else c["rho"] for c in by])
        lo = np.array([np.nan if c is None else c["rho"] - c["ci95"][0] for c in by])
        hi = np.array([np.nan if c is None else c["ci95"][1] - c["rho"] for c in by])
        a3.errorbar(
            pos + (k - (len(names) - 1) / 2) * width,
            rho,
            yerr=[lo, hi],
            fmt=MARKERS[k % len(MARKERS)],
            ms=4,
            capsize=1.5,
            lw=0.8,
            color=plt.cm.tab10(k % 10),
        )
    a3.set_xticks(pos, classes, rotation=40, ha="right", fontsize=8)
    a3.set_ylabel("Spearman rho within the class")
    a3.axhline(0, color="0.6", lw=0.8)
    a3.set_title(f"per class (about {results['n_train'] // 10:,} images each)", fontsize=9)
    _letter(a3, "c")
    handles, labels = a2.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return save(fig, folder, "cscore_agreement.png")


def _images(results: dict, arrays: dict, folder) -> str:
    classes = results["classes"]
    y, ours, released = arrays["y_train"], arrays["estimate_heldout_soft_averaged"], arrays["cscore"]
    rows = [
        ("ours: most consistent", "ours_high"),
        ("released: highest", "released_high"),
        ("ours: least consistent", "ours_low"),
        ("released: lowest", "released_low"),
    ]
    cols = len(arrays["ours_high_index"])
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(1.15 * cols, 1.5 * len(rows)), squeeze=False, layout="constrained"
    )
    for r, (name, key) in enumerate(rows):
        for j in range(cols):
            ax = axes[r, j]
            if j >= len(arrays[f"{key}_index"]):
                ax.axis("off")
                continue
            i = arrays[f"{key}_index"][j]
            example_panel(
                ax, arrays[f"{key}_x"][j], f"{classes[y[i]]}\nours {ours[i]:.2f} / C {released[i]:.2f}"
            )
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.suptitle(
        "CIFAR-10 training images: ours = held-out P(label) averaged over ratios; C = released C-score",
        fontsize=9,
    )
    return save(fig, folder, "most_least_consistent.png")


def _removal(results: dict, arrays: dict, folder) -> str:
    rem = results["removal"]
    rows = rem["rows"]
    frac = np.array([r["fraction"] for r in rows])
    top = np.array([r["top_mem_removed"] for r in rows]) * 100
    rand = np.array([r["random_removed"]["mean"] for r in rows]) * 100
    se = np.array([r["random_removed"]["se"] for r in rows]) * 100
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.plot(frac, top, "o-", color="tab:red", label="top-mem~ examples removed (deterministic head)")
    ax.errorbar(
        frac,
        rand,
        yerr=se,
        fmt="s--",
        color="tab:blue",
        capsize=3,
        label=f"as many random examples removed (mean ± SE, {rem['draws']} draws)",
    )
    ax.axhline(rem["full"] * 100, color="0.4", lw=1, ls=":", label="no example removed")
    ax.set_xscale("log")
    ax.set_xlabel("fraction of the training images removed (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"CIFAR-10, ridge heads on patch features, n = {results['n_train']:,}", fontsize=9)
    fig.legend(fontsize=8, loc="outside lower center", frameon=False)
    return save(fig, folder, "removal.png")


def _pairs(results: dict, arrays: dict, folder) -> str | None:
    pairs = arrays["pairs"]
    shown = min(len(pairs), len(arrays["pair_train_x"]))
    if shown == 0:
        return None
    classes, y = results["classes"], arrays["y_train"]
    fig, axes = plt.subplots(2, shown, figsize=(1.4 * shown + 0.6, 3.4), squeeze=False, layout="constrained")
    for j in range(shown):
        i = pairs[j, 0]
        example_panel(
            axes[0, j], arrays["pair_train_x"][j], f"{classes[y[i]]}\ninfl~ {arrays['pair_infl'][j]:.2f}"
        )
        example_panel(axes[1, j], arrays["pair_test_x"][j], "")
    axes[0, 0].set_ylabel("training", fontsize=8)
    axes[1, 0].set_ylabel("test", fontsize=8)
    p = results["influence_pairs"]
    fig.suptitle(
        f"high-influence pairs: {p['pairs']:,} found, about {p['expected_false_pairs']:.2g} expected "
        "from noise alone",
        fontsize=9,
    )
    return save(fig, folder, "pairs.png")


def cscores_figures(results: dict, arrays: dict, folder) -> list[str]:
    """Agreement with the released C-scores (scatter, against cost, per class), the most and least
    consistent images, the removal curve, and the high-influence pairs when there are any."""
    names = [
        _agreement(results, arrays, folder),
        _images(results, arrays, folder),
        _removal(results, arrays, folder),
    ]
    p = _pairs(results, arrays, folder)
    return names + ([p] if p else [])
