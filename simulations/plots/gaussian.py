"""Figures of the experiments gaussian-coupling and gaussian-dp, drawn from their saved results and
arrays. The gaussian-tail figures are in :mod:`simulations.plots.gaussian_tail`; their entry point
is re-exported here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save
from simulations.plots.gaussian_tail import FAMILY_COLORS, gaussian_tail_figures
from simulations.plots.gaussian_tail import saved_value as _v

__all__ = ["gaussian_tail_figures", "gaussian_coupling_figures", "gaussian_dp_figures"]

# ---------------------------------------------------------------------- gaussian-coupling
_MARKERS = "osD^vP*Xh<>"


def _styles(results: dict) -> list[tuple[str, str, str]]:
    """(colour, marker, line style) per setting: one colour per family, markers within it."""
    seen: dict[str, int] = {}
    out = []
    for r in results["settings"]:
        k = seen.get(r["family"], 0)
        seen[r["family"]] = k + 1
        out.append(
            (
                FAMILY_COLORS.get(r["family"], "black"),
                _MARKERS[k % len(_MARKERS)],
                "-" if k % 2 == 0 else "--",
            )
        )
    return out


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
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5))
    styles = _styles(results)
    S = len(results["settings"])
    for s, r in enumerate(results["settings"]):
        if "err" not in r:
            continue
        color, marker, ls = styles[s]
        off = (s - (S - 1) / 2) * 0.012 * L  # small horizontal offsets keep the error bars apart
        a1.errorbar(ells + off, lam[s], yerr=lam_se[s], color=color, marker=marker, ls=ls, capsize=2,
                    mfc="none", label=r["learner"])  # fmt: skip
        a2.errorbar(ells + off, errn[s], yerr=errn_se[s], color=color, marker=marker, ls=ls, capsize=2,
                    mfc="none", label=r["learner"])  # fmt: skip
    a1.set_ylabel(r"coupling $\hat\lambda_\ell$ (mean over points seen $\ell$ times)")
    a1.set_title(r"(a) Coupling of $h(x_i)$ and $h(x')$, $x' \sim M_{c_i}$")
    a1.set_ylim(-0.03, 1.03)
    a2.set_ylabel(r"$\mathrm{errn}_\ell$ (clusters seen $\ell$ times whose labels are not fitted)")
    a2.set_title(r"$\mathrm{errn}_\ell$ per learner")
    for a in (a1, a2):
        a.set_xlabel(r"training multiplicity $\ell$ of the cluster")
        a.set_xticks(ells)
        a.grid(alpha=0.3)
    a2.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save(fig, folder, "coupling_by_multiplicity.png")


def _coupling_excess_vs_bound(results: dict, folder) -> str:
    fig, ax = plt.subplots(figsize=(8.5, 6))
    styles = _styles(results)
    hi = 0.0
    for s, r in enumerate(results["settings"]):
        if "err" not in r:
            continue
        color, marker, _ = styles[s]
        bx, ex = _v(r["bound"]), _v(r["excess"])
        ax.errorbar(bx, ex, xerr=_v(r["bound"], "se"), yerr=_v(r["excess"], "se"), fmt=marker, color=color,
                    capsize=3, mfc="none", label=r["learner"])  # fmt: skip
        ax.scatter([_v(r["bound_points"])], [ex], marker=marker, color=color, s=10, alpha=0.5)
        hi = max(hi, bx, ex, _v(r["bound_points"]))
    hi = 1.1 * hi if hi > 0 else 1.0
    ax.plot([0, hi], [0, hi], color="black", lw=0.8, ls="--", label="y = x (bound met with equality)")
    ax.set_xlim(-0.02 * hi, hi)
    ax.set_xlabel(
        r"bound term $\sum_\ell \hat\lambda_\ell\,\tau_\ell\,\mathrm{errn}_\ell$ (small dots: $\lambda = 1$)"
    )
    ax.set_ylabel(r"measured excess error  err $-$ opt($\pi$, F | S)")
    ax.set_title("(b) Excess error against the mixture bound, per learner")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
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
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 5.2))
    lo, hi = results["rare_bin"]
    a1.axvspan(lo, hi, color="gold", alpha=0.25, label="rare bin (n·π ≈ 1)")
    shown = _few(priv, 5)
    cmap = plt.get_cmap("viridis")
    for k, i in enumerate([*shown, nonpriv]):
        ok = np.isfinite(acc[i])
        color = "black" if i == nonpriv else cmap(k / max(1, len(shown) - 1) * 0.9)
        a1.errorbar(x[ok], acc[i, ok], yerr=se[i, ok], marker="o", capsize=3, color=color, mfc="none",
                    label=rows[i]["learner"])  # fmt: skip
        if i != nonpriv:
            e = priv.index(i)
            if label_eps[e][0] < results["theory"]["ln_m"]:  # beyond ln m the ceiling is 1 on seen clusters
                a1.plot(x[ok], ceil_b[e, ok], color=color, ls=":", lw=1.2)
    a1.set_xscale("log")
    a1.set_xlabel("cluster frequency × n (expected training examples), half-decade bins")
    a1.set_ylabel("test accuracy (true labels)")
    a1.set_ylim(-0.03, 1.03)
    name = "DP-SGD softmax regression" if family == "dpsgd" else "Private logistic regression"
    a1.set_title(f"(a) {name}: accuracy per frequency bin\n(dotted: label-DP ceiling, label eps < ln m)")
    a1.grid(alpha=0.3)
    a1.legend(fontsize=7)
    groups = results["groups"]
    once, top = groups[1], groups[-1]
    for key, label, color in ((once, f"clusters {once}", "tab:red"), (top, f"clusters {top}", "tab:blue")):
        y = np.array([_v(rows[i]["accuracy"][key]) for i in priv])
        e = np.array([_v(rows[i]["accuracy"][key], "se") for i in priv])
        a2.errorbar(eps, y, yerr=e, marker="o", capsize=3, color=color, label=label)
        a2.axhline(_v(rows[nonpriv]["accuracy"][key]), color=color, lw=0.8, ls="--")
    gap = np.array([_v(rows[i]["gap_frequent_vs_once"]) for i in priv])
    gap_se = np.array([_v(rows[i]["gap_frequent_vs_once"], "se") for i in priv])
    a2.errorbar(eps, gap, yerr=gap_se, marker="s", capsize=3, color="black", label="gap (frequent - once)")
    grid = np.geomspace(eps.min(), eps.max(), 200)
    curve = [float(ceiling(1, le, m, delta=ld)) for le, ld in (lvl(g) for g in grid)]
    a2.plot(grid, curve, color="tab:red", ls=":", label="label-DP ceiling (seen once)" + note)
    a2.set_xscale("log")
    a2.set_xlabel("epsilon (dashed: non-private)")
    a2.set_ylabel("test accuracy / gap")
    a2.set_ylim(-0.05, 1.05)
    a2.set_title("(b) Rare against frequent clusters as privacy grows")
    a2.grid(alpha=0.3)
    a2.legend(fontsize=7)
    return save(fig, folder, f"{'dpsgd' if family == 'dpsgd' else 'dp'}_accuracy_by_frequency.png")


def _regularization_figure(results: dict, arrays: dict, folder) -> str:
    rows = results["settings"]
    x = _bin_centres(arrays)
    acc = np.asarray(arrays["acc_by_bin"], dtype=np.float64)
    se = np.asarray(arrays["acc_by_bin_se"], dtype=np.float64)
    fams = [f for f in ("ridge", "logistic") if any(r["family"] == f for r in rows)]
    fig, axes = plt.subplots(1, len(fams) + 1, figsize=(6 * (len(fams) + 1), 5), squeeze=False)
    axes = axes[0]
    lo, hi = results["rare_bin"]
    for ax, fam in zip(axes, fams, strict=False):
        idx = [i for i, r in enumerate(rows) if r["family"] == fam]
        ax.axvspan(lo, hi, color="gold", alpha=0.25, label="rare bin (n·π ≈ 1)")
        cmap = plt.get_cmap("plasma")
        for k, i in enumerate(idx):
            ok = np.isfinite(acc[i])
            ax.errorbar(x[ok], acc[i, ok], yerr=se[i, ok], marker="o", capsize=3, mfc="none",
                        color=cmap(k / max(1, len(idx) - 1) * 0.85), label=rows[i]["learner"])  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("cluster frequency × n, half-decade bins")
        ax.set_ylabel("test accuracy (true labels)")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"{fam}: accuracy per frequency bin")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    ax = axes[-1]
    for fam, color in (("ridge", "tab:blue"), ("logistic", "tab:green")):
        idx = [i for i, r in enumerate(rows) if r["family"] == fam]
        if not idx:
            continue
        strength = np.array([rows[i]["value"] if fam == "ridge" else 1.0 / rows[i]["value"] for i in idx])
        low = np.min(strength[strength > 0], initial=np.inf)
        pos = np.where(strength > 0, strength, (low if np.isfinite(low) else 1.0) / 10)
        order = np.argsort(pos)
        gap = np.array([_v(rows[i]["gap_frequent_vs_once"]) for i in idx])[order]
        gse = np.array([_v(rows[i]["gap_frequent_vs_once"], "se") for i in idx])[order]
        lab = "ridge (x = lambda; 0 drawn a decade left)" if fam == "ridge" else "logistic (x = 1/C)"
        ax.errorbar(pos[order], gap, yerr=gse, marker="o", capsize=3, color=color, label=lab)
    ax.set_xscale("log")
    ax.set_xlabel("regularization strength")
    ax.set_ylabel("accuracy gap: most frequent group - clusters seen once")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Gap against regularization")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, folder, "regularization_accuracy_by_frequency.png")
