"""Figures of the experiments gaussian-coupling and gaussian-dp, drawn from their saved results and
arrays. The gaussian-tail figures are in :mod:`simulations.plots.gaussian_tail`; their entry point
is re-exported here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save
from simulations.plots.gaussian_tail import gaussian_tail_figures
from simulations.plots.gaussian_tail import saved_value as _v
from simulations.plots.style import (
    COLORS,
    LINESTYLES,
    errorbar,
    legend_outside,
    letter_panels,
    note_coinciding,
    series,
    theory_line,
)

__all__ = ["gaussian_tail_figures", "gaussian_coupling_figures", "gaussian_dp_figures"]


# ---------------------------------------------------------------------- gaussian-coupling
def _styles(results: dict) -> list[dict]:
    """Colour, marker and line style per setting (style.series): every learner its own pair of
    colour and marker, so that the variants of one family (four MLPs, 1-NN and 5-NN) differ."""
    return [series(k) for k in range(len(results["settings"]))]


def gaussian_coupling_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """(a) lambda_l and errn_l against l per learner, (b) excess error against the bound term."""
    return [_coupling_by_l(results, arrays, folder), _coupling_excess_vs_bound(results, folder)]


def _coupling_by_l(results: dict, arrays: dict, folder) -> str:
    lam = np.asarray(arrays["lambda"], dtype=np.float64)
    lam_se = np.asarray(arrays["lambda_se"], dtype=np.float64)
    errn = np.asarray(arrays["errn"], dtype=np.float64)
    errn_se = np.asarray(arrays["errn_se"], dtype=np.float64)
    L = lam.shape[1]
    ells = np.arange(1, L + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10.5, 4.6))
    styles = _styles(results)
    S = len(results["settings"])
    for s, r in enumerate(results["settings"]):
        if "err" not in r:
            continue
        off = (s - (S - 1) / 2) * 0.02  # small horizontal offsets keep the error bars apart
        errorbar(a1, ells + off, lam[s], lam_se[s], mfc="none", label=r["learner"], **styles[s])
        errorbar(a2, ells + off, errn[s], errn_se[s], mfc="none", label=r["learner"], **styles[s])
    a1.set_ylabel(r"coupling $\hat\lambda_\ell$ (mean over points seen $\ell$ times)")
    a1.set_title(r"Coupling of $h(x_i)$ and $h(x')$, $x' \sim M_{c_i}$")
    a1.set_ylim(-0.03, 1.05)
    a2.set_ylabel(r"$\mathrm{errn}_\ell$ (clusters seen $\ell$ times, labels not fitted)")
    a2.set_title(r"$\mathrm{errn}_\ell$ per learner")
    for a in (a1, a2):
        a.set_xlabel(r"training multiplicity $\ell$ of the cluster (learners offset sideways)")
        a.set_xticks(ells)
        a.grid(alpha=0.3)
    letter_panels([a1, a2], letters=["a1", "a2"])
    legend_outside(fig, below=True, ncol=4)
    return save(fig, folder, "coupling_by_multiplicity.png")


def _coupling_excess_vs_bound(results: dict, folder) -> str:
    fig, ax = plt.subplots(figsize=(9, 5.6))
    styles = _styles(results)
    hi, at_zero = 0.0, []
    for s, r in enumerate(results["settings"]):
        if "err" not in r:
            continue
        st = {**styles[s], "ls": "none"}
        bx, ex = _v(r["bound"]), _v(r["excess"])
        errorbar(ax, [bx], [ex], [_v(r["excess"], "se")], xerr=[_v(r["bound"], "se")], mfc="none",
                 label=r["learner"], **st)  # fmt: skip
        ax.plot([_v(r["bound_points"])], [ex], ls="none", marker=st["marker"], color=st["color"], ms=3.5)
        hi = max(hi, bx, ex, _v(r["bound_points"]))
        if abs(bx) < 1e-3 and abs(ex) < 0.01:
            at_zero.append(r["learner"])
    hi = 1.1 * hi if hi > 0 else 1.0
    ax.plot([0, hi], [0, hi], color="black", lw=0.8, ls="--", label="y = x (bound met with equality)")
    ax.plot(
        [], [], ls="none", marker="o", color="0.3", ms=3.5, label=r"small filled: same with $\lambda = 1$"
    )
    if at_zero:  # the learners whose markers pile up at the origin
        ax.annotate("near (0, 0):\n" + "\n".join(at_zero), (0, 0), xytext=(0.03, 0.5),
                    textcoords="axes fraction", fontsize=7.5, va="bottom",
                    arrowprops={"arrowstyle": "->", "color": "0.4", "lw": 0.8})  # fmt: skip
    ax.set_xlim(-0.02 * hi, hi)
    ax.set_xlabel(
        r"bound term $\sum_\ell \hat\lambda_\ell\,\tau_\ell\,\mathrm{errn}_\ell$ (measured coupling)"
    )
    ax.set_ylabel(r"measured excess error  err $-$ opt($\pi$, F | S)")
    ax.set_title("(b) Excess error against the mixture bound, per learner (mean ± SE)")
    ax.grid(alpha=0.3)
    legend_outside(ax)
    return save(fig, folder, "coupling_excess_vs_bound.png")


# ---------------------------------------------------------------------- gaussian-dp
def gaussian_dp_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """(a) accuracy per frequency bin for several epsilons and the rare/frequent gap against
    epsilon; (b) the same per frequency bin for the ridge and logistic regularization sweeps;
    (c) as (a) for DP-SGD, when the results have it."""
    out = [_dp_figure(results, arrays, folder), _regularization_figure(results, arrays, folder)]
    if "dpsgd_epsilons" in arrays:
        out.append(_dp_figure(results, arrays, folder, family="dpsgd"))
    return out


def _bin_centres(arrays: dict) -> np.ndarray:
    edges = np.asarray(arrays["bin_edges"], dtype=np.float64)
    return np.sqrt(edges[:-1] * edges[1:])


def _few(idx: list[int], k: int) -> list[int]:
    """At most k of the indices, spread evenly and keeping both ends."""
    if len(idx) <= k:
        return idx
    return [idx[int(round(j))] for j in np.linspace(0, len(idx) - 1, k)]


def _dp_figure(results: dict, arrays: dict, folder, family: str = "private") -> str:
    from simulations.gaussian.label_dp import ceiling, replace_one

    rows = results["settings"]
    x = _bin_centres(arrays)
    acc = np.asarray(arrays["acc_by_bin"], dtype=np.float64)
    se = np.asarray(arrays["acc_by_bin_se"], dtype=np.float64)
    pre = "dpsgd_" if family == "dpsgd" else ""
    ceil_b = np.asarray(arrays[pre + "ceiling_by_bin"], dtype=np.float64)
    eps = np.asarray(arrays[pre + "epsilons"], dtype=np.float64)
    priv = [i for i, r in enumerate(rows) if r["family"] == family and r["value"] is not None]
    nonpriv = next(i for i, r in enumerate(rows) if r["family"] == family and r["value"] is None)
    m = int(round(np.exp(results["theory"]["ln_m"])))
    delta = results["dpsgd"]["delta"] if family == "dpsgd" else 0.0

    def lvl(e):  # the label-DP (epsilon, delta) of a setting at target epsilon e
        return replace_one(e, delta) if family == "dpsgd" else (e, 0.0)

    note = ": e^(2 eps)/m + (1 + e^eps) delta" if family == "dpsgd" else ": e^eps/m"
    label_eps = [lvl(e) for e in eps]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10.5, 4.8))
    lo, hi = results["rare_bin"]
    a1.axvspan(lo, hi, color=COLORS[4], alpha=0.2, label="rare bin (n·π ≈ 1)")
    shown = _few(priv, 5)
    for k, i in enumerate([*shown, nonpriv]):
        st = {"color": "black", "marker": "o", "ls": "-"} if i == nonpriv else series(k)
        errorbar(a1, x, acc[i], se[i], mfc="none", label=rows[i]["learner"], **st)
        if i != nonpriv:
            e = priv.index(i)
            if label_eps[e][0] < results["theory"]["ln_m"]:  # beyond ln m the ceiling is 1 on seen clusters
                ok = np.isfinite(ceil_b[e])
                a1.plot(x[ok], ceil_b[e, ok], color=st["color"], ls=":", lw=1.2)
    a1.plot([], [], color="0.3", ls=":", lw=1.2, label="label-DP ceiling per bin (label eps < ln m)")
    a1.set_xscale("log")
    a1.set_xlabel("cluster frequency × n (expected training examples), half-decade bins")
    a1.set_ylabel("test accuracy (true labels)")
    a1.set_ylim(-0.03, 1.05)
    name = "DP-SGD softmax regression" if family == "dpsgd" else "Private logistic regression"
    a1.set_title(f"{name}: accuracy per frequency bin")
    note_coinciding(a1, {"non-private": acc[nonpriv], **{rows[i]["learner"]: acc[i] for i in shown}})
    a1.grid(alpha=0.3)
    groups = results["groups"]
    once, top = groups[1], groups[-1]
    for k, (key, label) in enumerate(((once, f"clusters {once}"), (top, f"clusters {top}"))):
        st = series(k + 1)
        y = np.array([_v(rows[i]["accuracy"][key]) for i in priv])
        e = np.array([_v(rows[i]["accuracy"][key], "se") for i in priv])
        errorbar(a2, eps, y, e, label=label, **st)
        a2.axhline(_v(rows[nonpriv]["accuracy"][key]), color=st["color"], lw=0.9, ls=(0, (6, 3)),
                   label=f"{label}, non-private")  # fmt: skip
    gap = np.array([_v(rows[i]["gap_frequent_vs_once"]) for i in priv])
    gap_se = np.array([_v(rows[i]["gap_frequent_vs_once"], "se") for i in priv])
    errorbar(a2, eps, gap, gap_se, marker="s", color="black", label="gap (frequent - once)")
    grid = np.geomspace(eps.min(), eps.max(), 200)
    curve = [float(ceiling(1, le, m, delta=ld)) for le, ld in (lvl(g) for g in grid)]
    theory_line(a2, grid, curve, color=COLORS[1], ls=":", lw=1.6, label="label-DP ceiling (seen once)" + note)
    a2.set_xscale("log")
    a2.set_xlabel("privacy parameter epsilon")
    a2.set_ylabel("test accuracy, or accuracy gap")
    a2.set_ylim(-0.05, 1.08)
    a2.set_title("Rare against frequent clusters as privacy grows")
    a2.grid(alpha=0.3)
    letter_panels([a1, a2])
    fig.suptitle("mean ± SE over trials")
    legend_outside(fig, below=True, ncol=3)
    return save(fig, folder, f"{'dpsgd' if family == 'dpsgd' else 'dp'}_accuracy_by_frequency.png")


def _regularization_figure(results: dict, arrays: dict, folder) -> str:
    rows = results["settings"]
    x = _bin_centres(arrays)
    acc = np.asarray(arrays["acc_by_bin"], dtype=np.float64)
    se = np.asarray(arrays["acc_by_bin_se"], dtype=np.float64)
    fams = [f for f in ("ridge", "logistic") if any(r["family"] == f for r in rows)]
    fig, axes = plt.subplots(1, len(fams) + 1, figsize=(10.5, 4.6), squeeze=False)
    axes = axes[0]
    lo, hi = results["rare_bin"]
    for ax, fam in zip(axes, fams, strict=False):
        idx = [i for i, r in enumerate(rows) if r["family"] == fam]
        ax.axvspan(lo, hi, color=COLORS[4], alpha=0.2, label="rare bin (n·π ≈ 1)")
        for k, i in enumerate(idx):
            errorbar(
                ax,
                x,
                acc[i],
                se[i],
                mfc="none",
                label=rows[i]["learner"],
                **series(k + (3 if fam == "logistic" else 0)),
            )
        ax.set_xscale("log")
        ax.set_xlabel("cluster frequency × n, half-decade bins")
        ax.set_ylabel("test accuracy (true labels)")
        ax.set_ylim(-0.03, 1.05)
        ax.set_title(f"{fam}: accuracy per frequency bin")
        ax.grid(alpha=0.3)
    ax = axes[-1]
    ax.set_ylim(-0.05, 1.08)
    y_lo, y_hi = ax.get_ylim()
    for k, fam in enumerate(("ridge", "logistic")):
        idx = [i for i, r in enumerate(rows) if r["family"] == fam]
        if not idx:
            continue
        st = {"color": ("black", "0.5")[k], "marker": "os"[k], "ls": LINESTYLES[k]}
        strength = np.array([rows[i]["value"] if fam == "ridge" else 1.0 / rows[i]["value"] for i in idx])
        low = np.min(strength[strength > 0], initial=np.inf)
        zero_at = (low if np.isfinite(low) else 1.0) / 10
        pos = np.where(strength > 0, strength, zero_at)
        order = np.argsort(pos)
        gap = np.array([_v(rows[i]["gap_frequent_vs_once"]) for i in idx])[order]
        gse = np.array([_v(rows[i]["gap_frequent_vs_once"], "se") for i in idx])[order]
        lab = "ridge (x = lambda)" if fam == "ridge" else "logistic (x = 1/C)"
        errorbar(ax, pos[order], gap, gse, label=lab, **st)
        zero = strength[order] == 0
        if zero.any():  # lambda = 0 cannot sit on a log axis: drawn a decade left, ringed and named
            ax.plot(pos[order][zero], gap[zero], ls="none", marker="o", ms=11, mfc="none", mec=st["color"])
            x0, y0 = pos[order][zero][0], gap[zero][0]
            if (y0 - y_lo) / (y_hi - y_lo) >= 0.1:  # room below: named there, on one line (the lines
                # rise to its right)
                ax.annotate(f"{fam} lambda = 0 (drawn at {zero_at:g})", (x0, y0), xytext=(8, -10),
                            textcoords="offset points", va="top")  # fmt: skip
            else:  # too near the bottom: above it
                ax.annotate(f"{fam} lambda = 0\n(drawn at {zero_at:g})", (x0, y0), xytext=(8, 10),
                            textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("regularization strength (lambda, or 1/C)")
    ax.set_ylabel("accuracy gap: most frequent group - clusters seen once")
    ax.set_title("Gap against regularization")
    ax.grid(alpha=0.3)
    letter_panels(axes)
    fig.suptitle("mean ± SE over trials")
    legend_outside(fig, below=True, ncol=4)
    return save(fig, folder, "regularization_accuracy_by_frequency.png")
