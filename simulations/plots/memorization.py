"""Figures of the memorization, removal and influence-pairs experiments, from saved results."""

from __future__ import annotations

import numpy as np

from simulations.plots.common import plt, save

__all__ = ["memorization_figures", "example_panel", "removal_figure", "influence_figures"]


def example_panel(ax, x: np.ndarray, title: str) -> None:
    """Draw one example: an image (H, W), (H, W, C) uint8, or a 1-d signal as a line."""
    x = np.asarray(x)
    if x.ndim == 1:
        ax.plot(x, lw=1.2, color="k")
        ax.set_yticks([])
    elif x.ndim == 2 or (x.ndim == 3 and x.shape[-1] == 1):
        ax.imshow(x.reshape(x.shape[0], x.shape[1]), cmap="gray_r" if x.max() <= 16 else "gray")
    else:
        ax.imshow(x)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)


def _grids(results: dict, arrays: dict, folder) -> str:
    classes = results["classes"]
    mem, se, y = arrays["mem"], arrays["mem_se"], arrays["y_train"]
    rows = [("most memorized", arrays["top_index"], arrays["top_x"]),
            ("least memorized", arrays["bottom_index"], arrays["bottom_x"])]  # fmt: skip
    k = len(arrays["top_index"])
    cols = min(k, 6)
    per = -(-k // cols)
    fig, axes = plt.subplots(2 * per, cols, figsize=(1.9 * cols, 2.0 * 2 * per), squeeze=False)
    for r, (name, idx, xs) in enumerate(rows):
        for j in range(per * cols):
            ax = axes[r * per + j // cols, j % cols]
            if j >= len(idx):
                ax.axis("off")
                continue
            i = idx[j]
            example_panel(ax, xs[j], f"{classes[y[i]]}\nmem {mem[i]:.2f}±{se[i]:.2f}")
        axes[r * per, 0].set_ylabel(name, fontsize=9)
    fig.suptitle(
        f"{results['dataset']}: most (top rows: largest mem~ - 2 SE) and least memorized training "
        "examples (bottom rows: smallest mem~ + 2 SE)"
    )
    fig.tight_layout()
    return save(fig, folder, "most_least_memorized.png")


def memorization_figures(results: dict, arrays: dict, folder) -> list[str]:
    """Histogram of mem~, estimates against standard errors, example grids, mem~ vs held-out accuracy
    (and, on CIFAR-10, against the released C-scores)."""
    mem, se, held = arrays["mem"], arrays["mem_se"], arrays["heldout"]
    ok = np.isfinite(mem)
    names = []

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    low = min(-0.3, np.floor(mem[ok].min() * 10) / 10) if ok.any() else -0.3  # mem~ lies in [-1, 1]
    a1.hist(mem[ok], bins=np.arange(low, 1.0 + 1e-9, 0.025), color="C0")  # every example in a bin
    a1.axvline(0.25, color="C3", ls="--", label="0.25 (Feldman & Zhang's threshold)")
    a1.set_yscale("log")
    a1.set_xlabel("mem~ (subsampled estimate)")
    a1.set_ylabel("training examples")
    a1.legend(fontsize=8)
    a1.set_title(f"{results['dataset']}: mem~ of {ok.sum():,} examples, t = {results['models']:,}")
    by = results["mem"]["by_class"]
    a2.bar(range(len(by)), [np.nan if v is None else v for v in by], color="C1")  # None: class absent
    a2.set_xticks(range(len(by)), results["classes"], rotation=45, fontsize=7)
    a2.set_ylabel("mean mem~")
    a2.set_title("mean mem~ per class")
    names.append(save(fig, folder, "mem_histogram.png"))

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.scatter(mem[ok], se[ok], s=3, alpha=0.3)
    a1.axhline(
        results["mem"]["se_bound_bernoulli"],
        color="C3",
        ls="--",
        label="Bernoulli bound at n_in = rt: sqrt(1/4rt + 1/4(1-r)t)",
    )
    a1.set_xlabel("mem~")
    a1.set_ylabel("standard error")
    a1.legend(fontsize=8)
    a1.set_title("estimates against their standard errors")
    z = arrays["split_half_z"]
    z = z[np.isfinite(z)]
    grid = np.linspace(-5, 5, 201)
    a2.hist(z, bins=np.linspace(-5, 5, 51), density=True, color="C0", alpha=0.7, label="split-half z")
    a2.plot(grid, np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi), "k", label="N(0, 1)")
    s = results["split_half"]
    a2.set_title(f"split-half check: z mean {s['z_mean']:.2f}, std {s['z_std']:.2f}")
    a2.set_xlabel("(mem~_A - mem~_B) / sqrt(se_A^2 + se_B^2)")
    a2.legend(fontsize=8)
    names.append(save(fig, folder, "mem_vs_se.png"))

    names.append(_grids(results, arrays, folder))

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(held[ok], mem[ok], s=3, alpha=0.3)
    ax.set_xlabel(f"held-out accuracy at ratio {results['ratio']:g} (C-score style)")
    ax.set_ylabel("mem~")
    sp = results["spearman_mem_vs_heldout"]
    ax.set_title(f"mem~ against held-out accuracy (Spearman {sp['rho']:.2f})")
    names.append(save(fig, folder, "mem_vs_heldout.png"))

    if "cscore" in arrays:
        c = arrays["cscore"]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
        for ax, v, label, key in (
            (a1, held, "held-out accuracy (ours)", "spearman_heldout_vs_cscore"),
            (a2, mem, "mem~ (ours)", "spearman_mem_vs_cscore"),
        ):
            ax.hexbin(c, v, gridsize=40, bins="log", cmap="viridis")
            ax.set_xlabel("released C-score (Jiang et al. 2021)")
            ax.set_ylabel(label)
            ax.set_title(f"Spearman {results['cscore'][key]['rho']:.3f}")
        names.append(save(fig, folder, "cscore_comparison.png"))
    return names


def removal_figure(results: dict, folder) -> list[str]:
    """Test accuracy after removing high-mem~ examples against as many random ones (F&Z Figure 2)."""
    rows = results["conditions"]
    full = results["full"]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for kind, color, label in (
        ("memorized", "C3", "mem~ >= threshold removed"),
        ("random", "C0", "as many random removed"),
    ):
        pts = [r for r in rows if r["kind"] == kind]
        x = [100 * r["fraction_removed"] for r in pts]
        y = [100 * r["accuracy"]["mean"] for r in pts]
        err = [200 * r["accuracy"]["se"] for r in pts]
        ax.errorbar(x, y, yerr=err, fmt="o-", color=color, capsize=3, label=label)
        if kind == "memorized":
            for r, xx in zip(pts, x, strict=True):
                ax.annotate(f"{r['threshold']:g}", (xx, 100 * r["accuracy"]["mean"]), fontsize=7,
                            textcoords="offset points", xytext=(3, 4))  # fmt: skip
    ax.axhline(100 * full["mean"], color="k", ls=":", label=f"nothing removed ({100 * full['mean']:.2f}%)")
    ax.set_xlabel("training examples removed (%)")
    ax.set_ylabel("test accuracy (%), mean ± 2 SE over seeds")
    ax.set_title(f"{results['dataset']}: removing memorized examples (thresholds annotated)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return [save(fig, folder, "removal.png")]


def influence_figures(results: dict, arrays: dict, folder) -> list[str]:
    """The top high-influence pairs (train example above its test example) and the marginal utility."""
    names = []
    classes = results["classes"]
    k = len(arrays["pair_train_x"])
    if k:
        cols = min(k, 8)
        fig, axes = plt.subplots(2, cols, figsize=(1.9 * cols, 4.3), squeeze=False)
        for j in range(cols):
            i, t = arrays["pairs"][j]
            example_panel(axes[0, j], arrays["pair_train_x"][j],
                          f"train {classes[arrays['y_train'][i]]}\nmem {arrays['mem'][i]:.2f}")  # fmt: skip
            example_panel(axes[1, j], arrays["pair_test_x"][j], f"test\ninfl {arrays['pair_infl'][j]:.2f}")
        fig.suptitle(f"{results['dataset']}: top high-influence pairs (train above, test below)")
        fig.tight_layout()
        names.append(save(fig, folder, "top_pairs.png"))
    mu = results.get("marginal_utility")
    if mu:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        conds = ["full", "random_removed", "pairs_removed"]
        labels = ["nothing removed", "as many random\nremoved", "train examples\nof the pairs removed"]
        for g, (group, hatch) in enumerate((("all_test", ""), ("influenced_test", "//"))):
            m = [100 * mu[c][group]["mean"] for c in conds]
            e = [200 * mu[c][group]["se"] for c in conds]
            label = "all test" if g == 0 else "influenced test examples"
            ax.bar(np.arange(3) + 0.38 * g, m, 0.36, yerr=e, capsize=3, hatch=hatch,
                   color=["0.6", "C0", "C3"], label=label)  # fmt: skip
        ax.set_xticks(np.arange(3) + 0.19, labels, fontsize=7)
        ax.set_ylabel("test accuracy (%), mean ± 2 SE")
        ax.set_title("marginal utility of the high-influence training examples")
        ax.legend(fontsize=8)
        names.append(save(fig, folder, "marginal_utility.png"))
    return names
