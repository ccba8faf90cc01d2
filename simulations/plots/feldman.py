"""Figures of the Feldman experiments (feldman-examples, feldman-bound), from saved results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save

__all__ = ["feldman_examples_figure", "feldman_bound_figures"]


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


# ---------------------------------------------------------------------- feldman-bound
def _rows(results: dict, *keys: str) -> list[dict]:
    return [r for k in keys for r in results[k]]


def _by_learner(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["learner"], []).append(r)
    return out


def feldman_bound_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """The five figures of experiment feldman-bound, (a)-(e); returns their file names."""
    names = [
        _fig_a(results, folder),
        _fig_b(results, folder),
        _fig_c(results, folder),
        _fig_d(arrays, folder),
        _fig_e(results, folder),
    ]
    return names


def _fig_a(results, folder) -> str:
    rows = _rows(results, "main", "ratio_sweep", "exponent_sweep", "label_priors")
    groups = _by_learner(rows)
    colors = plt.cm.tab10(np.linspace(0, 1, 10))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5))
    lo, hi = np.inf, 0.0
    for k, (name, rs) in enumerate(groups.items()):
        x = np.array([r["opt"] + r["bound_terms"] for r in rs])
        y = np.array([r["err"] for r in rs])
        xe = np.array([r["bound_terms_se"] for r in rs])
        ye = np.array([r["err_se"] for r in rs])
        a1.errorbar(x, y, xerr=xe, yerr=ye, fmt="o", ms=4, color=colors[k % 10], label=name, capsize=2)
        lo, hi = min(lo, x.min(), y.min()), max(hi, x.max(), y.max())
        x2 = np.array([r["tau1_errn1_conf"] for r in rs])
        y2 = np.array([r["excess"] for r in rs])
        ye2 = np.array([r["excess_se"] for r in rs])
        keep = (x2 > 0) & (y2 > 0)
        a2.errorbar(
            x2[keep], y2[keep], yerr=ye2[keep], fmt="o", ms=4, color=colors[k % 10], label=name, capsize=2
        )
    line = np.geomspace(max(lo, 1e-4), hi * 1.1, 10)
    a1.plot(line, line, "k--", lw=1, label="equality")
    a1.set(
        xscale="log",
        yscale="log",
        xlabel=r"opt + $\sum_\ell \tau_\ell\,\mathrm{errn}_S(A,\ell)$ (measured errn, exact $\tau$)",
        ylabel="measured test error err(A)",
        title="(a) measured error against the bound",
    )
    a2.plot(line, line, "k--", lw=1, label="bound (equality)")
    a2.set(
        xscale="log",
        yscale="log",
        xlabel=r"$\tau_1\,E[\mathrm{errn}_S(A,1)]$ (singletons only)",
        ylabel="measured excess error err - opt",
        title="(a') Feldman's singleton form: points lie on or above",
    )
    for a in (a1, a2):
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=7)
    return save(fig, folder, "a_error_vs_bound.png")


def _errbar(ax, x, rows, ykey, label, color, fmt="o"):
    y = np.array([r[ykey] for r in rows])
    e = np.array([r[ykey + "_se"] for r in rows])
    ax.errorbar(x, y, yerr=e, fmt=fmt, ms=4, capsize=2, label=label, color=color)


def _sweep_panel(ax, rows, symbol, name, learner_label, theory_label, color) -> None:
    """Measured excess, measured bound terms and the theory's cost against the swept value, which
    is the number after '=' in the learner's name (mem-limit=G, label-dp=E)."""
    x = [float(r["learner"].split("=")[1]) for r in rows]
    _errbar(ax, x, rows, "excess", f"measured excess ({learner_label})", color)
    _errbar(ax, x, rows, "bound_terms", r"measured $\sum_\ell\tau_\ell$errn$_\ell$", "C2", fmt="x")
    ax.plot(x, [r["theory"] for r in rows], "k-", label=f"theory: {theory_label} (lower bound)")
    ax.set(xlabel=symbol, ylabel="excess error", title=f"(b) excess error against {name}")


def _fig_b(results, folder) -> str:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    _sweep_panel(
        axes[0],
        results["gamma_sweep"],
        r"memorization limit $\gamma$",
        "gamma",
        "mem-limit learner",
        "cost of a gamma limit",
        "C0",
    )
    _sweep_panel(
        axes[1],
        results["epsilon_sweep"],
        r"label-DP $\varepsilon$",
        "eps",
        "exponential mechanism",
        "cost of (eps, 0)-label-DP",
        "C1",
    )
    ns = _by_learner(results["noise_sweep"])
    a = axes[2]
    for k, (name, rs) in enumerate(ns.items()):
        noise = [1.0 - r["kappa"] for r in rs]
        _errbar(a, noise, rs, "excess", f"{name}: measured excess", f"C{k}")
        th = [r["theory"] for r in rs]
        if all(t is not None for t in th):
            a.plot(noise, th, "-", color=f"C{k}", lw=1, label=f"{name}: theory")
    a.set(
        xlabel=r"label noise $1-\kappa$", ylabel="excess error", title="(b) excess error against label noise"
    )
    for a in axes:
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    return save(fig, folder, "b_excess_vs_gamma_eps_noise.png")


def _fig_c(results, folder) -> str:
    rows = results["disparate"]
    x = np.arange(len(rows))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.3))
    for a, key, title in ((a1, "opt", "opt (optimal error)"), (a2, "cost", "cost of the gamma limit")):
        a.bar(
            x,
            [r[key] for r in rows],
            yerr=[r[key + "_se"] for r in rows],
            capsize=3,
            color="C0",
            alpha=0.7,
            label="simulation (mean ± SE)",
        )
        a.plot(x, [r[key + "_theory"] for r in rows], "k_", ms=30, mew=2, label="theory (exact / bound)")
        pub = [r[key + "_published"] for r in rows]
        if all(p is not None for p in pub):
            a.plot(x, pub, "r.", ms=10, label="published (§1.4)")
        a.set_xticks(x, [f"{r['subgroup']}\nN={r['N']:,} n={r['n']:,}" for r in rows], fontsize=8)
        a.set_title(f"(c) disparate effect: {title}")
        a.grid(alpha=0.3, axis="y")
        a.legend(fontsize=7)
    return save(fig, folder, "c_disparate_effect.png")


def _fig_d(arrays, folder) -> str:
    edges = np.asarray(arrays["bin_edges"])
    mids = np.sqrt(edges[:-1] * edges[1:])
    acc = np.asarray(arrays["acc_by_bin"])
    pts = np.asarray(arrays["points_by_bin"])
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    keep = pts > 0
    for k, name in enumerate(np.asarray(arrays["learners"])):
        ax.plot(mids[keep], acc[k][keep], "o-", ms=3, label=str(name))
    ax.set(
        xscale="log",
        xlabel="expected count n D(x) (log-spaced bins)",
        ylabel="accuracy on points in the bin",
        title="(d) accuracy per frequency, memorizing vs limited learners",
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return save(fig, folder, "d_accuracy_by_frequency.png")


def _fig_e(results, folder) -> str:
    rows = _rows(
        results, "main", "ratio_sweep", "exponent_sweep", "gamma_sweep", "epsilon_sweep", "noise_sweep"
    )
    groups = _by_learner(rows)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    hi = 0.0
    for k, (name, rs) in enumerate(groups.items()):
        x = np.array([r["mem_avg"] for r in rs])
        y = np.array([r["gen_gap"] for r in rs])
        ax.errorbar(
            x,
            y,
            xerr=[r["mem_avg_se"] for r in rs],
            yerr=[r["gen_gap_se"] for r in rs],
            fmt="o",
            ms=3,
            capsize=2,
            color=plt.cm.tab20(k % 20),
            label=name if len(groups) <= 20 else None,
        )
        hi = max(hi, x.max(), y.max())
    ax.plot([0, hi], [0, hi], "k--", lw=1, label="mem = gap")
    ax.set(
        xlabel="average memorization (exact)",
        ylabel="generalization gap (noisy test - train error)",
        title="(e) memorization against the generalization gap",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    return save(fig, folder, "e_memorization_vs_gap.png")
