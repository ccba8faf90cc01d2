"""Figures of experiment gaussian-tail, drawn from its saved results and arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save

__all__ = ["gaussian_tail_figures"]

_FAMILY_COLOR = {"ridge": "tab:blue", "knn": "tab:orange", "logistic": "tab:green"}


def _v(d: dict, key: str = "mean") -> float:
    """A saved number, NaN where the results hold None (JSON null)."""
    x = d.get(key)
    return np.nan if x is None else float(x)


def gaussian_tail_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """Figures (a) ridge sweep, (b) excess against bound, (c) accuracy by frequency; file names."""
    return [
        _ridge_sweep(results, folder),
        _excess_vs_bound(results, folder),
        _by_frequency(results, arrays, folder),
    ]


def _lambda_positions(lams: np.ndarray) -> tuple[np.ndarray, float | None]:
    """x positions on a log axis: lambda > 0 at itself, lambda = 0 one decade left of the
    smallest positive lambda (the left edge); returns (positions, position of 0 or None)."""
    pos = lams[lams > 0]
    zero_at = (pos.min() / 10.0 if pos.size else 1.0) if (lams == 0).any() else None
    return np.where(lams > 0, lams, zero_at if zero_at is not None else 1.0), zero_at


def _mark_zero(ax, x: np.ndarray, zero_at: float | None) -> None:
    """Log x axis spanning the points; lambda = 0 drawn at the left edge, labelled min-norm."""
    ax.set_xlim(x.min() / 2, x.max() * 2)
    if zero_at is None:
        return
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if zero_at * 3 < t <= hi]
    ax.set_xticks([zero_at, *ticks])
    ax.set_xticklabels(["0\n(min-norm)"] + [f"{t:g}" for t in ticks])
    ax.axvline(zero_at * 1.8, color="gray", lw=0.6, ls=(0, (2, 2)))


def _ridge_sweep(results: dict, folder) -> str:
    rows = [r for r in results["settings"] if r["family"] == "ridge"]
    lams = np.array([r["value"] for r in rows])
    order = np.argsort(lams)
    rows, lams = [rows[i] for i in order], lams[order]
    x, zero_at = _lambda_positions(lams)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.6))
    for key, label, color in (
        ("acc_singletons", "test points of clusters seen once in training", "tab:red"),
        (
            "acc_rare_bin",
            f"rare bin, n·π in [{results['rare_bin'][0]:.2f}, {results['rare_bin'][1]:.2f})",
            "tab:purple",
        ),
        ("acc_unseen", "clusters not in the training set", "tab:gray"),
    ):
        y = np.array([_v(r[key]) for r in rows])
        e = np.array([_v(r[key], "se") for r in rows])
        a1.errorbar(x, y, yerr=e, marker="o", capsize=3, color=color, label=label)
    acc = np.array([1 - _v(r["err"]) for r in rows])
    a1.errorbar(
        x,
        acc,
        yerr=[_v(r["err"], "se") for r in rows],
        marker="s",
        capsize=3,
        color="black",
        label="all test points",
    )
    a1.set_ylabel("test accuracy (true labels)")
    a1.set_title("(a) Rare-cluster accuracy against ridge regularization")
    for key, label, color in (
        ("mem_singletons", "singletons (cluster seen once)", "tab:red"),
        ("mem_rest", "examples of clusters seen >= 2 times", "tab:blue"),
    ):
        y = np.array([_v(r[key]) for r in rows])
        e = np.array([_v(r[key], "se") for r in rows])
        a2.errorbar(x, y, yerr=e, marker="o", capsize=3, color=color, label=label)
    a2.set_ylabel("mean exact leave-one-out memorization")
    a2.set_title("Memorization against ridge regularization")
    for a in (a1, a2):
        a.set_xscale("log")
        a.set_xlabel("ridge lambda")
        a.set_ylim(-0.05, 1.05)
        a.grid(alpha=0.3)
        a.legend(fontsize=8, loc="center left")
        _mark_zero(a, x, zero_at)
    return save(fig, folder, "ridge_rare_accuracy_and_memorization.png")


def _excess_vs_bound(results: dict, folder) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    hi, notes = 0.0, []
    for fam, color in _FAMILY_COLOR.items():
        rows = [r for r in results["settings"] if r["family"] == fam]
        if not rows:
            continue
        bx = np.array([_v(r["bound"]) for r in rows])
        ex = np.array([_v(r["excess"]) for r in rows])
        ax.errorbar(
            bx,
            ex,
            xerr=[_v(r["bound"], "se") for r in rows],
            yerr=[_v(r["excess"], "se") for r in rows],
            fmt="o",
            capsize=3,
            color=color,
            label=f"{fam}: bound with measured coupling",
        )
        pts = np.array([_v(r["bound_points"]) for r in rows])
        ax.scatter(pts, ex, facecolors="none", edgecolors=color, s=36, label=f"{fam}: same with lambda = 1")
        notes += [(r["learner"].split(" ", 1)[1], px, py) for r, px, py in zip(rows, bx, ex, strict=True)]
        hi = max(hi, np.nanmax(bx), np.nanmax(ex), np.nanmax(pts))
    hi = 1.1 * hi if hi > 0 else 1.0
    for name, px, py in notes:  # settings crowded at the origin (bound and excess ~ 0) stay unlabelled
        if max(px, py) > 0.03 * hi:
            ax.annotate(name, (px, py), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.plot([0, hi], [0, hi], color="black", lw=0.8, ls="--", label="y = x (bound met with equality)")
    ax.set_xlim(0, hi)
    ax.set_xlabel(r"bound term $\sum_\ell \hat\lambda_\ell\,\tau_\ell\,\mathrm{errn}_\ell$")
    ax.set_ylabel(r"measured excess error  err $-$ opt($\pi$, F | S)")
    ax.set_title("(b) Excess error against Feldman's mixture bound")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, folder, "excess_vs_bound.png")


def _pick(labels: list[str], results: dict) -> list[int]:
    """A few settings: the extreme ridge lambdas, the extreme k-NN ks and the largest logistic C."""
    out = []
    for fam, ends in (("ridge", (min, max)), ("knn", (min, max)), ("logistic", (max,))):
        idx = [i for i, r in enumerate(results["settings"]) if r["family"] == fam]
        for f in ends:
            if idx:
                i = f(idx, key=lambda j: results["settings"][j]["value"])
                if i not in out:
                    out.append(i)
    return out


def _by_frequency(results: dict, arrays: dict, folder) -> str:
    edges = np.asarray(arrays["bin_edges"], dtype=np.float64)
    centres = np.sqrt(edges[:-1] * edges[1:])
    acc = np.asarray(arrays["acc_by_bin"], dtype=np.float64)
    se = np.asarray(arrays["acc_by_bin_se"], dtype=np.float64)
    labels = [str(s) for s in arrays["setting_labels"]]
    fig, ax = plt.subplots(figsize=(7.5, 5))
    lo, hi = results["rare_bin"]
    ax.axvspan(lo, hi, color="gold", alpha=0.25, label="rare bin (n·π ≈ 1)")
    for i, marker in zip(_pick(labels, results), "osD^vP", strict=False):
        fam = results["settings"][i]["family"]
        ok = np.isfinite(acc[i])
        ls = (
            "-"
            if results["settings"][i]["value"]
            == min(r["value"] for r in results["settings"] if r["family"] == fam)
            else "--"
        )
        ax.errorbar(
            centres[ok], acc[i, ok], yerr=se[i, ok], marker=marker, capsize=3, ls=ls, mfc="none",
            color=_FAMILY_COLOR[fam], label=labels[i],
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("cluster frequency × n (expected training examples), half-decade bins")
    ax.set_ylabel("test accuracy (true labels)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("(c) Accuracy per frequency bin")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, folder, "accuracy_by_frequency.png")
