"""Figures of the Feldman experiments (feldman-examples, feldman-bound), from saved results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save
from simulations.plots.style import (
    FLOOR_STYLE,
    errorbar,
    floor_below,
    legend_outside,
    letter_panels,
    log_floor,
    series,
    theory_line,
    ticks_at,
)

__all__ = ["feldman_examples_figure", "feldman_bound_figures"]

#: The tail-weight lower bound's legend entry.
TAIL_BOUND = r"tail-weight lower bound $\frac{1}{5}$weight$[\frac{1}{3n},\frac{2}{n}]$"


def feldman_examples_figure(arrays: dict, folder: str | Path) -> str:
    """tau_1 * n (with Feldman's tail-weight lower bound) and the singleton fraction against n / N.
    Exact values at the swept ratios (markers), joined by lines."""
    ratios = np.asarray(arrays["ratios"])
    ex = np.asarray(arrays["exponents"])
    tau = np.asarray(arrays["tau1_times_n"])
    tail = np.asarray(arrays["tail_bound_times_n"])
    single = np.asarray(arrays["singleton_fraction"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    floor = floor_below(tau, tail)
    for k, s in enumerate(ex):
        style = series(k)
        label = f"Zipf exponent {s:g}"
        a1.plot(ratios, tau[k], color=style["color"], marker=style["marker"], ms=4, label=label)
        log_floor(a1, ratios, tail[k], floor=floor, color=style["color"], ls=":", lw=1.2)
        a2.plot(ratios, single[k], color=style["color"], marker=style["marker"], ms=4, label=label)
    a1.plot([], [], color="0.3", ls=":", lw=1.2, label=TAIL_BOUND)
    a1.set_xscale("log")
    a1.set_xlabel("n / N (training examples per subpopulation)")
    a1.set_ylabel(r"$\tau_1 \cdot n$ (dimensionless)")
    a1.set_title(r"Expected frequency of a singleton, $\tau_1 n$")
    a2.set_xscale("log")
    a2.set_xlabel("n / N (training examples per subpopulation)")
    a2.set_ylabel("expected share of examples that are singletons")
    a2.set_title("Singleton fraction")
    a2.set_ylim(-0.02, 1.0)
    for a in (a1, a2):
        a.grid(alpha=0.3)
    letter_panels([a1, a2])
    fig.suptitle("Exact values (fixed variant) at the swept ratios, joined by lines")
    legend_outside(fig, below=True, ncol=3)
    return save(fig, folder, "tau1_and_singletons_vs_ratio.png")


# ---------------------------------------------------------------------- feldman-bound
def _rows(results: dict, *keys: str) -> list[dict]:
    return [r for k in keys for r in results[k]]


def _by_learner(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["learner"], []).append(r)
    return out


#: The theory's cost on fine grids, saved by the experiment (feldman_bound.theory_curves).
THEORY_ARRAYS = ("theory_gamma_grid", "theory_gamma_cost", "theory_epsilon_grid", "theory_epsilon_cost",
                 "theory_noise_grid", "theory_noise_cost")  # fmt: skip


def feldman_bound_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """The five figures of experiment feldman-bound, (a)-(e); returns their file names."""
    missing = [k for k in (*THEORY_ARRAYS, "points_in_bin_all_trials") if k not in arrays]
    if missing:  # a folder written before the theory curves were saved (issue 20)
        raise ValueError(
            f"feldman-bound: arrays.npz lacks {', '.join(missing)} (written by an older tailmem); "
            "re-run the experiment to draw its figures"
        )
    names = [
        _fig_a(results, folder),
        _fig_b(results, arrays, folder),
        _fig_c(results, folder),
        _fig_d(arrays, folder),
        _fig_e(results, folder),
    ]
    return names


def _fig_a(results, folder) -> str:
    rows = _rows(results, "main", "ratio_sweep", "exponent_sweep", "label_priors")
    groups = _by_learner(rows)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10.5, 4.6))
    lo, hi = np.inf, 0.0
    pairs = {name: (np.array([r["tau1_errn1_conf"] for r in rs]), np.array([r["excess"] for r in rs]))
             for name, rs in groups.items()}  # fmt: skip
    floor = floor_below(*[v for xy in pairs.values() for v in xy])
    for k, (name, rs) in enumerate(groups.items()):
        style = series(k, line=False)
        x = np.array([r["opt"] + r["bound_terms"] for r in rs])
        y = np.array([r["err"] for r in rs])
        xe = np.array([r["bound_terms_se"] for r in rs])
        ye = np.array([r["err_se"] for r in rs])
        errorbar(a1, x, y, ye, xerr=xe, label=name, **style)
        lo, hi = min(lo, x.min(), y.min()), max(hi, x.max(), y.max())
        x2, y2 = pairs[name]
        ye2 = np.array([r["excess_se"] for r in rs])
        at_floor = (x2 <= floor) | (y2 <= floor)
        errorbar(a2, np.maximum(x2, floor), np.maximum(y2, floor), np.where(at_floor, 0.0, ye2),
                 mfc=style["color"], label=name, **style)  # fmt: skip
        if at_floor.any():
            a2.plot(np.maximum(x2, floor)[at_floor], np.maximum(y2, floor)[at_floor], ls="none",
                    marker=style["marker"], ms=9, mfc="none", mec=style["color"])  # fmt: skip
    line = np.geomspace(lo / 1.5, hi * 1.5, 50)
    a1.plot(line, line, "k--", lw=1, label="equality")
    a1.set(
        xscale="log",
        yscale="log",
        xlabel=r"opt + $\sum_\ell \tau_\ell\,\mathrm{errn}_S(A,\ell)$ (measured errn, exact $\tau$)",
        ylabel="measured test error err(A)",
        title="Measured error against the bound",
    )
    hi2 = max(float(np.max(np.concatenate([np.ravel(v) for v in pairs.values()]))), floor) * 1.5
    line = np.geomspace(floor, hi2, 50)
    a2.plot(line, line, "k--", lw=1)
    a2.axhline(floor, **FLOOR_STYLE)
    a2.axvline(floor, **FLOOR_STYLE)
    at_zero = {name: int(((x2 <= floor) & (y2 <= floor)).sum()) for name, (x2, y2) in pairs.items()}
    if any(at_zero.values()):  # the learners hidden under one another at (0, 0)
        names = ", ".join(f"{name} x{c}" for name, c in at_zero.items() if c)
        a2.annotate(f"at (0, 0): {names}", (floor, floor), xytext=(10, 6), textcoords="offset points")
    a2.plot([], [], ls="none", marker="o", ms=9, mfc="none", mec="0.3",
            label=f"ringed: value 0 drawn at {floor:.0e} (dotted)")  # fmt: skip
    a2.set(
        xscale="log",
        yscale="log",
        xlabel=r"$\tau_1\,E[\mathrm{errn}_S(A,1)]$ (singletons only)",
        ylabel="measured excess error err - opt",
        title="Feldman's singleton form: points lie on or above",
    )
    for a in (a1, a2):
        a.grid(alpha=0.3, which="both")
    letter_panels([a1, a2], letters=["a", "a'"])
    legend_outside(fig, below=True, ncol=4)
    return save(fig, folder, "a_error_vs_bound.png")


def _sweep_panel(ax, rows, symbol, learner_label, theory_label, color, theory_x, theory_y) -> None:
    """Measured excess, measured bound terms and the theory's cost against the swept value, which
    is the number after '=' in the learner's name (mem-limit=G, label-dp=E)."""
    x = np.array([float(r["learner"].split("=")[1]) for r in rows])
    y = [r["excess"] for r in rows]
    errorbar(ax, x, y, [r["excess_se"] for r in rows], color=color, marker="o", ls="none",
             label=f"measured excess ({learner_label})")  # fmt: skip
    errorbar(ax, x, [r["bound_terms"] for r in rows], [r["bound_terms_se"] for r in rows], color=COLORS_ALT,
             marker="x", ms=7, ls="none", label=r"measured $\sum_\ell\tau_\ell$errn$_\ell$")  # fmt: skip
    theory_line(ax, theory_x, theory_y, label=f"theory: {theory_label} (lower bound)")
    ax.set(xlabel=symbol, ylabel="excess error (fraction of test points)")


COLORS_ALT = series(2)["color"]


def _fig_b(results, arrays, folder) -> str:
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.4))
    _sweep_panel(axes[0], results["gamma_sweep"], r"memorization limit $\gamma$", "mem-limit",
                 "cost of a gamma limit", series(0)["color"], arrays["theory_gamma_grid"],
                 arrays["theory_gamma_cost"])  # fmt: skip
    _sweep_panel(axes[1], results["epsilon_sweep"], r"label-DP $\varepsilon$", "exp. mechanism",
                 "cost of (eps, 0)-label-DP", series(1)["color"], arrays["theory_epsilon_grid"],
                 arrays["theory_epsilon_cost"])  # fmt: skip
    axes[1].set_xscale("log")
    ticks_at(axes[1], [float(r["learner"].split("=")[1]) for r in results["epsilon_sweep"]])
    a = axes[2]
    grid, costs = arrays["theory_noise_grid"], arrays["theory_noise_cost"]
    for k, (name, rs) in enumerate(_by_learner(results["noise_sweep"]).items()):
        style = series(k + 3, line=False)
        noise = [1.0 - r["kappa"] for r in rs]
        errorbar(a, noise, [r["excess"] for r in rs], [r["excess_se"] for r in rs],
                 label=f"{name}: measured", **style)  # fmt: skip
        if np.isfinite(costs[k]).all():
            a.plot(grid, costs[k], color=style["color"], lw=1.2, ls=LINE[k % 3], label=f"{name}: theory")
    a.set(xlabel=r"label noise $1-\kappa$", ylabel="excess error (fraction of test points)")
    for a, title in zip(axes, ("against the memorization limit", "against label-DP epsilon",
                               "against label noise"), strict=True):  # fmt: skip
        a.set_title(f"Excess error {title}")
        a.grid(alpha=0.3)
    letter_panels(axes, letters=["b1", "b2", "b3"])
    legend_outside(fig, below=True, ncol=3)
    return save(fig, folder, "b_excess_vs_gamma_eps_noise.png")


LINE = ("-", "--", "-.")


def _fig_c(results, folder) -> str:
    rows = results["disparate"]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.2))
    titles = ("opt (optimal error)", "cost of the gamma limit")
    for a, key, title in zip(axes, ("opt", "cost"), titles, strict=True):
        a.bar(x, [r[key] for r in rows], yerr=[r[key + "_se"] for r in rows], color=series(0)["color"],
              alpha=0.6, label="simulation (mean ± SE)")  # fmt: skip
        a.plot(x, [r[key + "_theory"] for r in rows], ls="none", marker="_", color="black", ms=30, mew=2,
               label="theory (exact / bound)")  # fmt: skip
        pub = [r[key + "_published"] for r in rows]
        if all(p is not None for p in pub):
            a.plot(x, pub, ls="none", marker="D", mfc="none", color=series(1)["color"], ms=7,
                   label="published (§1.4)")  # fmt: skip
        a.set_xticks(x, [f"{r['subgroup']}\nN={r['N']:,} n={r['n']:,}" for r in rows])
        a.set_ylabel(f"{key} (fraction of test points)")
        a.set_title(f"Disparate effect: {title}")
        a.grid(alpha=0.3, axis="y")
    letter_panels(axes, letters=["c1", "c2"])
    legend_outside(fig, below=True, ncol=3, markerscale=0.5)  # the 30-pt theory dash
    return save(fig, folder, "c_disparate_effect.png")


def _fig_d(arrays, folder) -> str:
    edges = np.asarray(arrays["bin_edges"])
    mids = np.sqrt(edges[:-1] * edges[1:])
    acc = np.asarray(arrays["acc_by_bin"])
    pts = np.asarray(arrays["points_by_bin"])
    count = np.asarray(arrays["points_in_bin_all_trials"])
    fig, ax = plt.subplots(figsize=(8, 4.4))
    keep = pts > 0
    for k, name in enumerate(np.asarray(arrays["learners"])):
        p = acc[k][keep]
        se = np.sqrt(p * (1 - p) / count[keep])
        errorbar(ax, mids[keep], p, se, ms=4, label=str(name), **series(k))
    ax.set(
        xscale="log",
        xlabel="expected count n D(x) of the test point's subpopulation (log-spaced bins)",
        ylabel="accuracy on test points in the bin",
        title="(d) Accuracy per frequency, memorizing and limited learners\n"
        "(± binomial SE of the points pooled over trials)",
    )
    ax.grid(alpha=0.3, which="both")
    legend_outside(ax)
    return save(fig, folder, "d_accuracy_by_frequency.png")


def _fig_e(results, folder) -> str:
    rows = _rows(
        results, "main", "ratio_sweep", "exponent_sweep", "gamma_sweep", "epsilon_sweep", "noise_sweep"
    )
    groups = _by_learner(rows)
    fig, ax = plt.subplots(figsize=(9, 5.2))
    hi = 0.0
    for k, (name, rs) in enumerate(groups.items()):
        x = np.array([r["mem_avg"] for r in rs])
        y = np.array([r["gen_gap"] for r in rs])
        errorbar(ax, x, y, [r["gen_gap_se"] for r in rs], xerr=[r["mem_avg_se"] for r in rs], ms=5,
                 mfc="none", label=name, **series(k, line=False))  # fmt: skip
        hi = max(hi, x.max(), y.max())
    ax.plot([0, hi * 1.05], [0, hi * 1.05], "k--", lw=1, label="mem = gap")
    ax.set(
        xlabel="average memorization (exact)",
        ylabel="generalization gap (noisy test - train error)",
        title="(e) Memorization against the generalization gap, every point and learner",
    )
    ax.grid(alpha=0.3)
    legend_outside(ax, ncol=2 if len(groups) > 10 else 1)
    return save(fig, folder, "e_memorization_vs_gap.png")
