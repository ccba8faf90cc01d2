"""Figures of the experiment gaussian-tail, drawn from its saved results and arrays.

(a) rare-cluster accuracy and exact leave-one-out memorization along the ridge path, beside
memorization of singletons against accuracy on clusters seen once for every learner that has a
memorization estimate (exact leave-one-out for ridge, k-NN and RBF kernel ridge; the subsampled
estimator of Feldman & Zhang for the MLP); (b) excess error against the mixture bound; (c) accuracy
per frequency bin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save
from simulations.plots.style import (
    COLORS,
    errorbar,
    legend_outside,
    letter_panels,
    note_coinciding,
    separate_labels,
    series,
    short_label,
)

__all__ = ["gaussian_tail_figures", "FAMILY_COLORS", "saved_value"]

FAMILY_COLORS = {
    "ridge": COLORS[0],
    "knn": COLORS[4],
    "logistic": COLORS[2],
    "kernel": COLORS[3],
    "mlp": COLORS[1],
    "svm": COLORS[6],
}
_FAMILY_NAME = {
    "ridge": "ridge",
    "knn": "k-NN",
    "logistic": "logistic",
    "kernel": "RBF kernel ridge",
    "mlp": "MLP",
}
_FAMILY_MARKER = {"ridge": "o", "knn": "s", "logistic": "v", "kernel": "D", "mlp": "^"}


def saved_value(d: dict, key: str = "mean") -> float:
    """A saved number, NaN where the results hold None (JSON null)."""
    x = d.get(key)
    return np.nan if x is None else float(x)


_v = saved_value


def gaussian_tail_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """Figures (a) ridge sweep and memorization of every learner, (b) excess against bound,
    (c) accuracy by frequency; file names."""
    return [
        _ridge_sweep(results, folder),
        _excess_vs_bound(results, folder),
        _by_frequency(results, arrays, folder),
    ]


def _families(results: dict) -> list[str]:
    """The learner families present, in a fixed order (unknown ones last)."""
    present = {r["family"] for r in results["settings"]}
    return [f for f in FAMILY_COLORS if f in present] + sorted(present - set(FAMILY_COLORS))


def _mem_kind(method: str | None) -> str:
    """How a memorization number was measured, for legends: exact LOO or the subsampled setting."""
    if not method:
        return "no memorization estimate"
    return "exact LOO mem" if method.startswith("exact") else f"mem {method}"


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
    fig, axd = plt.subplot_mosaic([["acc", "mem"], ["scatter", "scatter"]], figsize=(10.5, 8.6),
                                  height_ratios=[1, 1.15])  # fmt: skip
    a1, a2, a3 = axd["acc"], axd["mem"], axd["scatter"]
    curves = (
        ("acc_singletons", "test points of clusters seen once in training"),
        ("acc_rare_bin", f"rare bin, n·π in [{results['rare_bin'][0]:.2f}, {results['rare_bin'][1]:.2f})"),
        ("acc_unseen", "clusters not in the training set"),
    )
    for k, (key, label) in enumerate(curves):
        y = np.array([_v(r[key]) for r in rows])
        e = np.array([_v(r[key], "se") for r in rows])
        errorbar(a1, x, y, e, label=label, **series(k + 1))
    acc = np.array([1 - _v(r["err"]) for r in rows])
    errorbar(
        a1, x, acc, [_v(r["err"], "se") for r in rows], label="all test points", marker="s", color="black"
    )
    a1.set_ylabel("test accuracy (true labels)")
    a1.set_title("Rare-cluster accuracy against ridge regularization")
    for k, (key, label) in enumerate(
        (
            ("mem_singletons", "singletons (cluster seen once)"),
            ("mem_rest", "examples of clusters seen >= 2 times"),
        )
    ):
        y = np.array([_v(r[key]) for r in rows])
        e = np.array([_v(r[key], "se") for r in rows])
        errorbar(a2, x, y, e, label=label, **series(k + 4))
    a2.set_ylabel("mean exact leave-one-out memorization")
    a2.set_title("Ridge: memorization against regularization")
    for a in (a1, a2):
        a.set_xscale("log")
        a.set_xlabel("ridge lambda")
        a.set_ylim(-0.05, 1.05)
        a.grid(alpha=0.3)
        legend_outside(a, below=True)
        _mark_zero(a, x, zero_at)
    _memorization_vs_accuracy(a3, results)
    letter_panels([a1, a2, a3])
    fig.suptitle("mean ± SE over trials")
    return save(fig, folder, "ridge_rare_accuracy_and_memorization.png")


def _memorization_vs_accuracy(ax, results: dict) -> None:
    """Every setting with a memorization estimate: mean memorization of its singletons (x) against
    its accuracy on test points of clusters seen once (y), both with their SEs. Open markers:
    exact leave-one-out; filled: the subsampled estimator (memorization at a subset ratio)."""
    points: list[tuple[str, float, float]] = []
    for fam in _families(results):
        rows = [
            r
            for r in results["settings"]
            if r["family"] == fam
            and np.isfinite(_v(r["mem_singletons"]))
            and np.isfinite(_v(r["acc_singletons"]))
        ]
        for method in dict.fromkeys(r["mem_method"] for r in rows):
            sub = [r for r in rows if r["mem_method"] == method]
            mx = np.array([_v(r["mem_singletons"]) for r in sub])
            my = np.array([_v(r["acc_singletons"]) for r in sub])
            exact = bool(method) and method.startswith("exact")
            color = FAMILY_COLORS.get(fam, "black")
            errorbar(ax, mx, my, [_v(r["acc_singletons"], "se") for r in sub],
                     xerr=[_v(r["mem_singletons"], "se") for r in sub], marker=_FAMILY_MARKER.get(fam, "o"),
                     ls="none", ms=7, color=color, mfc="none" if exact else color,
                     label=f"{_FAMILY_NAME.get(fam, fam)} ({_mem_kind(method)})")  # fmt: skip
            points += [(short_label(r["learner"]), px, py) for r, px, py in zip(sub, mx, my, strict=True)]
    for (px, py), names in _crowds(points).items():  # one label per crowd of nearby points
        right = px > 0.6
        ax.annotate("\n".join(names), (px, py), xytext=(-14 if right else 10, -6), textcoords="offset points",
                    ha="right" if right else "left", va="top", fontsize=7.5)  # fmt: skip
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.08)
    ax.set_xlabel("mean memorization of singletons (cluster seen once)")
    ax.set_ylabel("test accuracy, clusters seen once in training")
    ax.set_title(
        "Memorization of singletons against their clusters' accuracy, every learner\n"
        "(open: exact leave-one-out; filled: subsampled estimate; labels name the settings)"
    )
    ax.grid(alpha=0.3)
    legend_outside(ax)


def _crowds(points: list[tuple[str, float, float]], dx: float = 0.08, dy: float = 0.08) -> dict:
    """Points within (dx, dy) of a crowd's first point join it; per crowd, one line per
    parameter name: [('lam=0', ..), ('lam=1', ..), ('k=1', ..)] -> ['lam=0, 1', 'k=1']."""
    crowds: dict[tuple[float, float], dict[str, list[str]]] = {}
    for name, px, py in points:
        at = next(((qx, qy) for qx, qy in crowds if abs(px - qx) <= dx and abs(py - qy) <= dy), (px, py))
        key, _, value = name.partition("=")
        crowds.setdefault(at, {}).setdefault(key, []).append(value)
    return {at: [f"{k}={', '.join(v)}" if all(v) else k for k, v in d.items()] for at, d in crowds.items()}


def _excess_vs_bound(results: dict, folder) -> str:
    fig, ax = plt.subplots(figsize=(9, 5.6))
    hi, notes = 0.0, []
    for fam in _families(results):
        rows = [r for r in results["settings"] if r["family"] == fam]
        color, marker = FAMILY_COLORS.get(fam, "black"), _FAMILY_MARKER.get(fam, "o")
        bx = np.array([_v(r["bound"]) for r in rows])
        ex = np.array([_v(r["excess"]) for r in rows])
        errorbar(ax, bx, ex, [_v(r["excess"], "se") for r in rows], xerr=[_v(r["bound"], "se") for r in rows],
                 marker=marker, ls="none", color=color, label=_FAMILY_NAME.get(fam, fam))  # fmt: skip
        pts = np.array([_v(r["bound_points"]) for r in rows])
        ok = np.isfinite(pts) & np.isfinite(ex)
        ax.plot(pts[ok], ex[ok], ls="none", marker=marker, mfc="none", mec=color, ms=7)
        notes += [(short_label(r["learner"]), px, py) for r, px, py in zip(rows, bx, ex, strict=True)]
        hi = max(hi, np.nanmax(bx), np.nanmax(ex), np.nanmax(pts))
    hi = 1.1 * hi if hi > 0 else 1.0
    near = [(n, px, py) for n, px, py in notes if np.isfinite(px) and max(abs(px), abs(py)) <= 0.03 * hi]
    crowds = _crowds([t for t in notes if t not in near and np.isfinite(t[1])], 0.03 * hi, 0.03 * hi)
    labels = []
    for (px, py), names in crowds.items():  # left of the point (the open lambda = 1 markers lie to its
        left = px > 0.15 * hi  # right), except near the left edge
        text = "\n".join(names)
        labels.append(ax.annotate(text, (px, py), xytext=(-6 if left else 8, 4), textcoords="offset points",
                                  ha="right" if left else "left", va="bottom"))  # fmt: skip
    if near:  # the settings whose bound and excess are both about 0
        names = [n for n, _, _ in near]
        lines = [", ".join(names[i : i + 4]) for i in range(0, len(names), 4)]
        arrow = {"arrowstyle": "->", "color": "0.4", "lw": 0.8}
        ax.annotate("near (0, 0):\n" + "\n".join(lines), (0, 0), xytext=(0.62, 0.04),
                    textcoords="axes fraction", va="bottom", arrowprops=arrow)  # fmt: skip
    ax.plot([0, hi], [0, hi], color="black", lw=0.8, ls="--", label="y = x (bound met with equality)")
    ax.plot([], [], ls="none", marker="o", mfc="none", mec="0.4", ms=7, label="open: same with lambda = 1")
    ax.set_xlim(-0.02 * hi, hi)
    ax.set_ylim(min(-0.02 * hi, ax.get_ylim()[0]), hi)
    ax.set_xlabel(
        r"bound term $\sum_\ell \hat\lambda_\ell\,\tau_\ell\,\mathrm{errn}_\ell$ (filled: measured coupling)"
    )
    ax.set_ylabel(r"measured excess error  err $-$ opt($\pi$, F | S)")
    ax.set_title("(b) Excess error against Feldman's mixture bound (mean ± SE)")
    ax.grid(alpha=0.3)
    legend_outside(ax)
    separate_labels(ax, labels)  # neighbouring settings (e.g. ridge lam=30 and 9-NN) label apart
    return save(fig, folder, "excess_vs_bound.png")


def _pick(results: dict, families: dict) -> list[int]:
    """A few settings: per family in ``families`` the settings whose value is picked by its
    functions (min and max: the two ends of the sweep)."""
    out = []
    for fam, ends in families.items():
        idx = [i for i, r in enumerate(results["settings"]) if r["family"] == fam]
        for f in ends:
            if idx:
                i = f(idx, key=lambda j: results["settings"][j]["value"])
                if i not in out:
                    out.append(i)
    return out


def _frequency_panel(ax, results: dict, arrays: dict, picked: list[int], reference: int | None) -> None:
    edges = np.asarray(arrays["bin_edges"], dtype=np.float64)
    centres = np.sqrt(edges[:-1] * edges[1:])
    acc = np.asarray(arrays["acc_by_bin"], dtype=np.float64)
    se = np.asarray(arrays["acc_by_bin_se"], dtype=np.float64)
    labels = [str(s) for s in arrays["setting_labels"]]
    lo, hi = results["rare_bin"]
    ax.axvspan(lo, hi, color=COLORS[4], alpha=0.2, label="rare bin (n·π ≈ 1)")
    if reference is not None:
        ok = np.isfinite(acc[reference])
        ax.plot(centres[ok], acc[reference, ok], color="gray", lw=3, alpha=0.35,
                label=f"{labels[reference]} (reference)")  # fmt: skip
    rows = results["settings"]
    for k, i in enumerate(picked):
        fam = rows[i]["family"]
        smallest = rows[i]["value"] == min(r["value"] for r in rows if r["family"] == fam)
        errorbar(ax, centres, acc[i], se[i], marker="osD^vP*X"[k % 8], ls="-" if smallest else "--",
                 mfc="none", color=FAMILY_COLORS.get(fam, "black"), label=labels[i])  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("cluster frequency × n (expected training examples)")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)


def _name_hidden(ax, arrays: dict, picked: list[int]) -> None:
    """Name, in the panel's title, the picked settings' curves drawn over each other."""
    acc = np.asarray(arrays["acc_by_bin"], dtype=np.float64)
    labels = [str(s) for s in arrays["setting_labels"]]
    note_coinciding(ax, {labels[i]: acc[i] for i in picked})


def _by_frequency(results: dict, arrays: dict, folder) -> str:
    classic = _pick(results, {"ridge": (min, max), "knn": (min, max), "logistic": (max,)})
    new = _pick(results, {"kernel": (min, max), "mlp": (min, max)})
    fig, axes = plt.subplots(
        1, 2 if new else 1, figsize=(10.5, 5) if new else (7.5, 5), sharey=True, squeeze=False
    )
    axes = axes[0]
    _frequency_panel(axes[0], results, arrays, classic, None)
    axes[0].set_ylabel("test accuracy (true labels)")
    axes[0].set_title("Accuracy per frequency bin" + (": ridge, k-NN, logistic" if new else ""))
    _name_hidden(axes[0], arrays, classic)
    if new:
        ref = next((i for i in classic if results["settings"][i]["family"] == "ridge"), None)
        _frequency_panel(axes[1], results, arrays, new, ref)
        axes[1].set_title("RBF kernel ridge and MLP")
        _name_hidden(axes[1], arrays, new if ref is None else [*new, ref])
        letter_panels(axes, letters=["c1", "c2"])
    else:
        letter_panels(axes, letters=["c"])
    fig.suptitle(
        "solid: the smallest value of a family's parameter, dashed: the largest (mean ± SE, half-decade bins)"
    )
    legend_outside(fig, below=True, ncol=3)
    return save(fig, folder, "accuracy_by_frequency.png")
