"""Figures of the ``cscores`` experiment, from its saved results (drawn to docs/figures.md)."""

from __future__ import annotations

import numpy as np

from simulations.plots.common import plt, save
from simulations.plots.memorization import example_grid, example_panel
from simulations.plots.style import errorbar, legend_outside, letter_panels, note, series, ticks_at

__all__ = ["cscores_figures"]


def _agreement(results: dict, arrays: dict, folder) -> str:
    from simulations.experiments.cscores import label

    agree = results["agreement"]
    main = "heldout_soft_averaged"
    fig = plt.figure(figsize=(10.5, 8.2))
    grid = fig.add_gridspec(2, 2)
    a1, a2, a3 = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])
    x, y = arrays["cscore"], arrays[f"estimate_{main}"]
    ok = np.isfinite(x) & np.isfinite(y)
    hb = a1.hexbin(x[ok], y[ok], gridsize=40, bins="log", cmap="viridis", mincnt=1)
    fig.colorbar(hb, ax=a1, label="images per cell (log scale)")
    a1.set_xlabel("released C-score (Jiang et al., ResNets)")
    a1.set_ylabel("ours: held-out P(label), ratios averaged")
    r = agree[main]["all"]
    a1.set_title(f"n = {r['n']:,}; Spearman {r['rho']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]")

    names = list(agree)
    for k, name in enumerate(names):
        a = agree[name]
        rho, lo, hi = a["all"]["rho"], *a["all"]["ci95"]
        errorbar(a2, [max(a["cost_seconds"], 1e-2)], [rho], [[rho - lo], [hi - rho]], ms=6, label=label(name),
                 **series(k, line=False))  # fmt: skip
    a2.set_xscale("log")
    a2.set_xlabel("cost on this machine (s, log scale)")
    a2.set_ylabel("Spearman rho with the released C-score")
    a2.axhline(0, color="0.6", lw=0.8)
    a2.set_title("agreement against cost (95% bootstrap intervals)")

    classes = results["classes"]
    pos = np.arange(len(classes))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        by = agree[name]["by_class"]
        rho = np.array([np.nan if c is None else c["rho"] for c in by])
        lo = np.array([np.nan if c is None else c["rho"] - c["ci95"][0] for c in by])
        hi = np.array([np.nan if c is None else c["ci95"][1] - c["rho"] for c in by])
        errorbar(a3, pos + (k - (len(names) - 1) / 2) * width, rho, np.vstack([lo, hi]), ms=4, lw=0.8,
                 **series(k, line=False))  # fmt: skip
    a3.set_xticks(pos, classes)
    a3.set_xlim(-0.6, len(classes) - 0.4)
    a3.set_ylabel("Spearman rho within the class")
    a3.axhline(0, color="0.6", lw=0.8)
    a3.set_title(f"per class (about {results['n_train'] // 10:,} images each; same markers as (b))")
    letter_panels([a1, a2, a3])
    legend_outside(fig, below=True, ncol=2)
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
    fig = example_grid(
        [
            (
                name,
                arrays[f"{key}_x"],
                [f"{classes[y[i]]}\nours {ours[i]:.2f}, C {released[i]:.2f}" for i in arrays[f"{key}_index"]],
            )
            for name, key in rows
        ],
        cell=(1.55, 1.55),
        label_size=8,
    )
    fig.suptitle(
        "CIFAR-10 training images: ours = held-out P(label) averaged over ratios; C = released C-score"
    )
    return save(fig, folder, "most_least_consistent.png")


def _removal(results: dict, arrays: dict, folder) -> str:
    rem = results["removal"]
    rows = rem["rows"]
    frac = np.array([r["fraction"] for r in rows]) * 100
    top = np.array([r["top_mem_removed"] for r in rows]) * 100
    rand = np.array([r["random_removed"]["mean"] for r in rows]) * 100
    se = np.array([r["random_removed"]["se"] for r in rows]) * 100
    diff = np.array([r["difference"]["mean"] for r in rows]) * 100
    dse = np.array([r["difference"]["se"] for r in rows]) * 100
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10.5, 4.2))
    a1.plot(frac, top, label="top-mem~ images removed (deterministic head)", **series(1))
    errorbar(a1, frac, rand, se, label=f"as many random images removed (mean ± SE, {rem['draws']} draws)",
             **series(0))  # fmt: skip
    a1.axhline(rem["full"] * 100, color="0.4", lw=1, ls=":", label="no image removed")
    a1.set_xscale("log")
    a1.set_xlabel("training images removed (%, log scale)")
    a1.set_ylabel("test accuracy (%)")
    a1.set_title(f"ridge heads on patch features, n = {results['n_train']:,}")
    errorbar(a2, frac, diff, 2 * dse, **series(1))
    a2.axhline(0, color="0.6", lw=0.8)
    a2.set_xscale("log")
    a2.set_xlabel("training images removed (%, log scale)")
    a2.set_ylabel("top-mem~ minus random (points, ± 2 SE)")
    a2.set_title("the difference (SE: draws and test images)")
    unresolved = [f"{f:g}%" for f, d, s in zip(frac, diff, dse, strict=True) if abs(d) < 2 * s]
    if unresolved:
        note(a2, f"not resolved at this size (within 2 SE): {', '.join(unresolved)}")
    for ax in (a1, a2):
        ticks_at(ax, frac)
    letter_panels([a1, a2])
    legend_outside(a1, below=True)
    return save(fig, folder, "removal.png")


def _pairs(results: dict, arrays: dict, folder) -> str | None:
    pairs = arrays["pairs"]
    shown = min(len(pairs), len(arrays["pair_train_x"]))
    if shown == 0:
        return None
    classes, y = results["classes"], arrays["y_train"]
    fig, axes = plt.subplots(2, shown, figsize=(1.25 * shown + 0.4, 3.2), squeeze=False)
    for j in range(shown):
        i = pairs[j, 0]
        title = f"{classes[y[i]]}\ninfl~ {arrays['pair_infl'][j]:.2f} ± {arrays['pair_se'][j]:.2f}"
        example_panel(axes[0, j], arrays["pair_train_x"][j], title)
        example_panel(axes[1, j], arrays["pair_test_x"][j], "")
    axes[0, 0].set_ylabel("training", fontsize=8)
    axes[1, 0].set_ylabel("test", fontsize=8)
    p = results["influence_pairs"]
    fig.suptitle(
        f"the {shown} strongest of {p['pairs']:,} high-influence pairs "
        f"(about {p['expected_false_pairs']:.2g} expected from noise alone); infl~ ± SE"
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
