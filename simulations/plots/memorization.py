"""Figures of the memorization, removal and influence-pairs experiments, from saved results."""

from __future__ import annotations

import matplotlib
import numpy as np

from simulations.plots.common import plt, save
from simulations.plots.style import COLORS, errorbar, legend_outside, letter_panels, note

#: How many standard errors a difference must exceed before a figure calls it resolved.
RESOLVED_SE = 2.0

__all__ = ["memorization_figures", "example_panel", "example_grid", "removal_figure", "influence_figures"]


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
    ax.set_title(title, fontsize=7.5)


def example_grid(rows, *, cols: int = 6, cell: tuple[float, float] = (1.75, 2.0), label_size: float = 9):
    """A figure of example rows: ``rows`` is a list of (row label, examples, titles); each row's
    examples are drawn ``cols`` to a line (as many lines as they need), the label on the first."""
    k = max(len(xs) for _, xs, _ in rows)
    cols = min(k, cols)
    per = -(-k // cols)
    fig, axes = plt.subplots(
        len(rows) * per, cols, figsize=(min(cell[0] * cols, 10.5), cell[1] * len(rows) * per), squeeze=False
    )
    for r, (name, xs, titles) in enumerate(rows):
        for j in range(per * cols):
            ax = axes[r * per + j // cols, j % cols]
            if j >= len(xs):
                ax.axis("off")
                continue
            example_panel(ax, xs[j], titles[j])
        axes[r * per, 0].set_ylabel(name, fontsize=label_size)
    return fig


def _grids(results: dict, arrays: dict, folder) -> str:
    classes = results["classes"]
    mem, se, y = arrays["mem"], arrays["mem_se"], arrays["y_train"]
    fig = example_grid([
        (name, xs, [f"class {classes[y[i]]}\nmem~ {mem[i]:.2f} ± {se[i]:.2f}" for i in idx])
        for name, idx, xs in (("most memorized", arrays["top_index"], arrays["top_x"]),
                              ("least memorized", arrays["bottom_index"], arrays["bottom_x"]))
    ])  # fmt: skip
    fig.suptitle(
        f"{results['dataset']}: most memorized training examples (top rows: largest mem~ - 2 SE)\n"
        "and least memorized (bottom rows: smallest mem~ + 2 SE); mem~: subsampled estimate ± SE"
    )
    return save(fig, folder, "most_least_memorized.png")


def memorization_figures(results: dict, arrays: dict, folder) -> list[str]:
    """Histogram of mem~, estimates against standard errors, example grids, mem~ vs held-out accuracy
    (and, on CIFAR-10, against the released C-scores)."""
    mem, se, held = arrays["mem"], arrays["mem_se"], arrays["heldout"]
    ok = np.isfinite(mem)
    names = []

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    low = min(-0.3, np.floor(mem[ok].min() * 10) / 10) if ok.any() else -0.3  # mem~ lies in [-1, 1]
    a1.hist(mem[ok], bins=np.arange(low, 1.0 + 1e-9, 0.025), color=COLORS[0])  # every example in a bin
    a1.axvline(0.25, color=COLORS[1], ls="--", label="0.25 (Feldman & Zhang's threshold)")
    a1.set_yscale("log")
    a1.set_xlabel("mem~ (subsampled estimate)")
    a1.set_ylabel("training examples per bin of 0.025")
    a1.set_title(f"mem~ of {ok.sum():,} examples, t = {results['models']:,} models")
    by = results["mem"]["by_class"]
    present = [i for i, v in enumerate(by) if v is not None]  # None: class absent
    y = np.asarray(arrays["y_train"])
    spread = [mem[ok & (y == i)] for i in present]  # the SE of a class mean: std / sqrt(count)
    class_se = [v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else np.nan for v in spread]
    a2.bar(present, [by[i] for i in present], yerr=np.nan_to_num(class_se), color=COLORS[4])
    long = len(by) > 10 or max(len(str(c)) for c in results["classes"]) > 3  # names: upright
    a2.set_xticks(range(len(by)), results["classes"], rotation=90 if long else 0)
    a2.set_xlabel("class")
    a2.set_ylabel("mean mem~ in the class")
    a2.set_title("Mean mem~ per class (± SE over its examples)")
    letter_panels([a1, a2])
    fig.suptitle(results["dataset"])
    legend_outside(fig, below=True)
    names.append(save(fig, folder, "mem_histogram.png"))

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    a1.scatter(mem[ok], se[ok], s=3, alpha=0.3, color=COLORS[0], label="training examples")
    a1.axhline(
        results["mem"]["se_bound_bernoulli"],
        color=COLORS[1],
        ls="--",
        label="Bernoulli bound at n_in = rt: sqrt(1/4rt + 1/4(1-r)t)",
    )
    a1.set_xlabel("mem~ (subsampled estimate)")
    a1.set_ylabel("standard error of mem~")
    a1.set_title("Estimates against their standard errors")
    z = arrays["split_half_z"]
    z = z[np.isfinite(z)]
    grid = np.linspace(-5, 5, 201)
    a2.hist(z, bins=np.linspace(-5, 5, 51), density=True, color=COLORS[0], alpha=0.7, label="split-half z")
    a2.plot(grid, np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi), color="black", label="N(0, 1) density")
    s = results["split_half"]
    a2.set_title(f"Split-half check: z mean {s['z_mean']:.2f}, std {s['z_std']:.2f}")
    a2.set_xlabel("(mem~_A - mem~_B) / sqrt(se_A^2 + se_B^2)")
    a2.set_ylabel("density")
    letter_panels([a1, a2])
    fig.suptitle(results["dataset"])
    legend_outside(fig, below=True, ncol=2)
    names.append(save(fig, folder, "mem_vs_se.png"))

    names.append(_grids(results, arrays, folder))

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(held[ok], mem[ok], s=3, alpha=0.3, color=COLORS[0])
    ax.set_xlabel(f"held-out accuracy at ratio {results['ratio']:g} (C-score style)")
    ax.set_ylabel("mem~ (subsampled estimate)")
    sp = results["spearman_mem_vs_heldout"]
    ax.set_title(
        f"{results['dataset']}: mem~ against held-out accuracy\n"
        f"(one point per training example; Spearman {sp['rho']:.2f})"
    )
    names.append(save(fig, folder, "mem_vs_heldout.png"))

    if "cscore" in arrays:
        c = arrays["cscore"]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.5))
        for ax, v, label, key in (
            (a1, held, "held-out accuracy (ours)", "spearman_heldout_vs_cscore"),
            (a2, mem, "mem~ (ours)", "spearman_mem_vs_cscore"),
        ):
            ok = np.isfinite(c) & np.isfinite(v)
            hb = ax.hexbin(c[ok], v[ok], gridsize=40, bins="log", cmap="viridis", mincnt=1)
            fig.colorbar(hb, ax=ax, label="examples per cell (log scale)")
            ax.set_xlabel("released C-score (Jiang et al. 2021)")
            ax.set_ylabel(label)
            sp = results["cscore"][key]
            ax.set_title(
                f"n = {sp['n']:,}; Spearman {sp['rho']:.3f} [{sp['ci95'][0]:.3f}, {sp['ci95'][1]:.3f}]"
            )
        letter_panels([a1, a2])
        names.append(save(fig, folder, "cscore_comparison.png"))
    return names


def resolved(diff: float, se: float) -> bool:
    """Whether a difference is told from 0: more than :data:`RESOLVED_SE` standard errors away."""
    return abs(diff) > RESOLVED_SE * se


def removal_figure(results: dict, folder) -> list[str]:
    """Test accuracy after removing high-mem~ examples against as many random ones (F&Z Figure 2),
    and their difference; a figure whose differences are all within 2 SE says so."""
    rows = results["conditions"]
    full = results["full"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.4))
    for k, (kind, label) in enumerate(
        (("memorized", "mem~ >= threshold removed"), ("random", "as many random removed"))
    ):
        pts = [r for r in rows if r["kind"] == kind]
        x = [100 * r["fraction_removed"] for r in pts]
        y = [100 * r["accuracy"]["mean"] for r in pts]
        err = [200 * r["accuracy"]["se"] for r in pts]
        errorbar(
            a1,
            x,
            y,
            err,
            color=COLORS[1 - k],
            marker="os"[k],
            ls="-",
            mfc="white" if k else None,
            label=label,
        )
    ref = 100 * full["mean"]
    a1.axhline(ref, color="black", ls=":", label=f"nothing removed ({ref:.2f}%)")
    y0, y1 = a1.get_ylim()  # the reference line inside the frame, not on it
    pad = 0.05 * (y1 - y0)
    a1.set_ylim(min(y0, ref - pad), max(y1, ref + pad))
    a1.set_xscale("log")
    a1.set_xlabel("training examples removed (%, log scale)")
    mem_pts = [r for r in rows if r["kind"] == "memorized"]
    top = a1.secondary_xaxis("top")  # the thresholds on a top axis, above their points
    top.set_xscale("log")
    ticks = [100 * r["fraction_removed"] for r in mem_pts]
    top.set_xticks(ticks, [f"{r['threshold']:g}" for r in mem_pts])
    lo, hi = np.log10(a1.get_xlim())
    gaps = np.diff(np.sort(np.log10(ticks))) / (hi - lo)
    if len(gaps) and gaps.min() < 0.08:  # neighbouring thresholds too close for level labels
        top.tick_params(axis="x", labelrotation=90)
    top.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    top.set_xlabel("mem~ threshold of the removal")
    a1.set_ylabel("test accuracy (%), mean ± 2 SE over seeds")
    a1.set_title("Accuracy after removal")
    mem = [r for r in rows if r["kind"] == "memorized" and "minus_random" in r]
    x = [100 * r["fraction_removed"] for r in mem]
    d = [100 * r["minus_random"]["mean"] for r in mem]
    e = [100 * r["minus_random"]["se"] for r in mem]
    errorbar(
        a2, x, d, [2 * v for v in e], color="black", marker="D", ls="-", label="memorized - random removed"
    )
    a2.axhline(0.0, color="0.5", lw=0.8)
    a2.set_xscale("log")
    a2.set_xlabel("training examples removed (%, log scale)")
    a2.set_ylabel("accuracy difference (points), ± 2 SE")
    a2.set_title("Memorized minus random removal")
    for a in (a1, a2):
        a.grid(alpha=0.3, which="both")
    letter_panels([a1, a2])
    fig.suptitle(f"{results['dataset']}: removing memorized examples (Feldman & Zhang, Figure 2)")
    unresolved = [
        (r["threshold"], dd, ee) for r, dd, ee in zip(mem, d, e, strict=True) if not resolved(dd, ee)
    ]
    if mem and len(unresolved) == len(mem):
        worst = (
            max(abs(dd) / ee for _, dd, ee in unresolved if ee > 0)
            if any(ee > 0 for *_, ee in unresolved)
            else 0.0
        )
        note(
            a2,
            f"not resolved at this size: every difference within {RESOLVED_SE:g} SE (largest {worst:.1f} SE)",
        )
    elif unresolved:
        told = [f"{r['threshold']:g}" for r, dd, ee in zip(mem, d, e, strict=True) if resolved(dd, ee)]
        note(
            a2,
            f"beyond {RESOLVED_SE:g} SE only at threshold {', '.join(told)};\n"
            "the rest not resolved at this size",
        )
    legend_outside(fig, below=True, ncol=4)
    return [save(fig, folder, "removal.png")]


def influence_figures(results: dict, arrays: dict, folder) -> list[str]:
    """The top high-influence pairs (train example above its test example) and the marginal utility."""
    names = []
    classes = results["classes"]
    k = len(arrays["pair_train_x"])
    if k:
        cols = min(k, 8)
        fig, axes = plt.subplots(2, cols, figsize=(min(1.3 * cols, 10.5), 3.6), squeeze=False)
        for j in range(cols):
            i = arrays["pairs"][j][0]
            train = f"train, class {classes[arrays['y_train'][i]]}\nmem~ {arrays['mem'][i]:.2f}"
            example_panel(axes[0, j], arrays["pair_train_x"][j], train)
            test = f"test\ninfl {arrays['pair_infl'][j]:.2f} ± {arrays['pair_se'][j]:.2f}"
            example_panel(axes[1, j], arrays["pair_test_x"][j], test)
        fig.suptitle(
            f"{results['dataset']}: top high-influence pairs, training example above its test example\n"
            "mem~: memorization estimate of the training example; infl: its estimated influence on the test "
            "example (± SE)"
        )
        names.append(save(fig, folder, "top_pairs.png"))
    mu = results.get("marginal_utility")
    if mu:
        fig, ax = plt.subplots(figsize=(7.5, 4.4))
        conds = (("full", "nothing removed"), ("random_removed", "as many random removed"),
                 ("pairs_removed", "training examples of the pairs removed"))  # fmt: skip
        groups = (("all_test", "all test examples"), ("influenced_test", "influenced test examples"))
        for c, ((cond, label), color, hatch) in enumerate(
            zip(conds, ("0.6", COLORS[0], COLORS[1]), ("", "//", "xx"), strict=True)
        ):
            m = [100 * mu[cond][g]["mean"] for g, _ in groups]
            e = [200 * mu[cond][g]["se"] for g, _ in groups]
            ax.bar(np.arange(2) + 0.27 * (c - 1), m, 0.25, yerr=e, color=color, hatch=hatch,
                   edgecolor="black", lw=0.5, label=label)  # fmt: skip
        ax.set_xticks(np.arange(2), [g for _, g in groups])
        ax.set_ylabel("test accuracy (%), mean ± 2 SE over retrained models")
        ax.set_ylim(0, 100)
        ax.set_title("Marginal utility of the high-influence training examples")
        a, b = mu["pairs_removed"]["influenced_test"], mu["random_removed"]["influenced_test"]
        diff, se = 100 * (a["mean"] - b["mean"]), 100 * float(np.hypot(a["se"], b["se"]))
        verdict = (
            "pairs minus random removed, influenced test examples:\n"
            f"{diff:+.1f} ± {se:.1f} points (the two SEs combined as independent)"
        )
        if not resolved(diff, se):
            verdict = f"not resolved at this size (within {RESOLVED_SE:g} SE):\n{verdict}"
        note(ax, verdict)
        ax.grid(alpha=0.3, axis="y")
        legend_outside(fig, below=True, ncol=2)
        names.append(save(fig, folder, "marginal_utility.png"))
    return names
