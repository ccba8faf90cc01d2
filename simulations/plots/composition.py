"""Figures of experiments composition-linear and composition-nets, drawn from their saved results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save

__all__ = ["composition_linear_figures", "composition_nets_figures"]

_OOD_STYLE = {
    "id": ("in-distribution (exact)", "black", "o"),
    "ood_seen": ("OOD: tail features seen, never together", "tab:blue", "s"),
    "ood_once": ("OOD: tail features seen once each, never together", "tab:red", "D"),
    "ood_unseen": ("OOD control: unseen tail features", "tab:gray", "v"),
}
#: Values below this are drawn at it on log axes (min-norm errors at round-off are ~1e-15).
FLOOR = 1e-12


def _v(d: dict | None, key: str = "mean") -> float:
    """A saved number, NaN where the results hold None (JSON null)."""
    if d is None:
        return np.nan
    x = d.get(key)
    return np.nan if x is None else float(x)


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def _floored(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return np.where(np.isfinite(y), np.maximum(y, FLOOR), np.nan)


def _log_limits(ax, values) -> None:
    """Log y axis spanning the plotted means. Error bars are clipped by the axis rather than
    scaled into it (a standard error larger than its mean would stretch the axis to 1e-20)."""
    v = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in values])
    v = v[np.isfinite(v) & (v > 0)]
    ax.set_yscale("log")
    if v.size:
        ax.set_ylim(v.min() / 3, v.max() * 3)


def composition_linear_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """Figures (a) coefficient error by training count, (b) losses against alpha with the fitted
    rate, (c) losses against n, d and s; returns the file names."""
    rows = {r["key"]: r for r in results["points"]}
    return [
        _by_count(results, rows, folder),
        _against_alpha(results, rows, folder),
        _against_size(results, rows, folder),
    ]


def _learner_colors(names: list[str]) -> dict[str, tuple]:
    ridges = [m for m in names if m != "min-norm"]
    cmap = plt.get_cmap("viridis")
    out = {"min-norm": (0.84, 0.15, 0.16, 1.0)}
    for i, m in enumerate(ridges):
        out[m] = cmap(0.15 + 0.7 * i / max(1, len(ridges) - 1))
    return out


def _by_count(results: dict, rows: dict, folder) -> str:
    names = results["learners"]
    colors = _learner_colors(names)
    keys = results["sweeps"]["main"]
    fig, axes = plt.subplots(
        2, len(keys), figsize=(6.4 * len(keys), 9.0), squeeze=False, layout="constrained"
    )
    for c, key in enumerate(keys):
        r = rows[key]
        B = len(r["features_by_count"]["all"])
        x = np.arange(B)
        labels = [str(i) for i in range(B - 1)] + [f">{B - 2}"]
        top, bottom = axes[0, c], axes[1, c]
        shown = []
        for name in names:
            by = r["learners"][name]["by_count"]
            lw = 2.2 if name == "min-norm" else 1.2
            err = _floored(_arr(by["all"]["err"]))
            shown.append(err)
            top.errorbar(x, err, yerr=_arr(by["all"]["err_se"]), marker="o", capsize=3, color=colors[name],
                         lw=lw, label=name)  # fmt: skip
            rec, rec_se = _arr(by["tail"]["recovered"]), _arr(by["tail"]["recovered_se"])
            bottom.errorbar(x, rec, yerr=rec_se, marker="o", capsize=3, color=colors[name], lw=lw, label=name)
        _log_limits(top, shown)
        top.set_ylabel(r"mean $|\hat\beta_i - \beta^*_i|$, all features (< 1e-12 drawn at 1e-12)")
        top.set_title(
            f"(a) Coefficient error by training occurrences\nalpha={r['alpha']:g}, n={r['n']}, d={r['d']}, "
            f"s={r['s']:g}, sigma={r['sigma']:g}, k={r['k']}"
        )
        bottom.set_ylabel(f"tail features recovered (rel. error <= {results['recover_tol']:g})")
        bottom.set_ylim(-0.15, 1.05)
        for i, f in enumerate(_arr(r["features_by_count"]["tail"])):
            bottom.annotate(f"{f:.3g}", (x[i], -0.1), ha="center", fontsize=7, color="dimgray")
        bottom.set_title("gray: tail features per run in each bin", fontsize=9)
        for a in (top, bottom):
            a.set_xticks(x)
            a.set_xticklabels(labels)
            a.set_xlabel("training examples containing the feature")
            a.grid(alpha=0.3)
        top.legend(fontsize=8)
    return save(fig, folder, "coefficient_error_by_count.png")


def _rate_label(results: dict) -> str:
    C = results["fit"]["constant"]
    if C is None:
        return "rate (no constant fitted)"
    return (
        r"$C\,s(\ln^2 d/(ns))^{1-1/\alpha}$, C = " + f"{C:.3g} FITTED (least squares in log space over the "
        "alpha > 1 points at the first sigma)"
    )


def _against_alpha(results: dict, rows: dict, folder) -> str:
    sweeps = results["sweeps"]["alpha"]
    fig, axes = plt.subplots(
        1, len(sweeps), figsize=(6.8 * len(sweeps), 6.8), squeeze=False, layout="constrained"
    )
    ridges = [m for m in results["learners"] if m != "min-norm"]
    colors = _learner_colors(results["learners"])
    for ax, (sigma, keys) in zip(axes[0], sweeps.items(), strict=True):
        pts = sorted((rows[k] for k in keys), key=lambda p: p["alpha"])
        a = np.array([p["alpha"] for p in pts])
        shown = []
        for q, (label, color, marker) in _OOD_STYLE.items():
            m = [p["learners"]["min-norm"][q] for p in pts]
            y = _floored([_v(v) for v in m])
            shown.append(y)
            ax.errorbar(a, y, yerr=[_v(v, "se") for v in m], marker=marker, capsize=3, color=color,
                        label=f"min-norm: {label}")  # fmt: skip
        for name in ridges:
            y = _floored([_v(p["learners"][name]["ood_once"]) for p in pts])
            shown.append(y)
            ax.plot(a, y, ls="--", lw=1, color=colors[name], label=f"{name}: OOD once")
        fr = _arr([p["fitted_rate"] for p in pts])
        if np.isfinite(fr).any():
            shown.append(fr)
            ax.plot(a, fr, color="tab:green", lw=2, ls=(0, (4, 2)), label=_rate_label(results))
        ax.axvline(1.0, color="gray", lw=0.8, ls=":")
        _log_limits(ax, shown)
        ax.set_xlabel(r"power-law exponent $\alpha$")
        ax.set_ylabel("test loss, excess over noise (< 1e-12 drawn at 1e-12)")
        p0 = pts[0]
        ax.set_title(f"(b) Loss against alpha, sigma={sigma} (n={p0['n']}, d={p0['d']}, s={p0['s']:g})")
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8)
    return save(fig, folder, "loss_vs_alpha.png")


def _against_size(results: dict, rows: dict, folder) -> str:
    fig, axes = plt.subplots(1, 3, figsize=(18, 6.4), layout="constrained")
    ridges = [m for m in results["learners"] if m != "min-norm"]
    for ax, tag, label in zip(axes, ("n", "d", "s"), ("training examples n", "features d", "s"), strict=True):
        pts = sorted((rows[k] for k in results["sweeps"][tag]), key=lambda p: p[tag])
        x = np.array([p[tag] for p in pts], dtype=np.float64)
        shown = []
        for q in ("id", "ood_seen", "ood_once"):
            name, color, marker = _OOD_STYLE[q]
            m = [p["learners"]["min-norm"][q] for p in pts]
            y = _floored([_v(v) for v in m])
            shown.append(y)
            ax.errorbar(x, y, yerr=[_v(v, "se") for v in m], marker=marker, capsize=3, color=color,
                        label=f"min-norm: {name}")  # fmt: skip
        if ridges:
            name = ridges[len(ridges) // 2]
            y = _floored([_v(p["learners"][name]["id"]) for p in pts])
            shown.append(y)
            ax.plot(x, y, ls="--", color="tab:purple", label=f"{name}: in-distribution")
        fr = _arr([p["fitted_rate"] for p in pts])
        if np.isfinite(fr).any():
            shown.append(fr)
            ax.plot(
                x, fr, color="tab:green", lw=2, ls=(0, (4, 2)), label=_rate_label(results) + ", not refitted"
            )
        ax.set_xscale("log")
        _log_limits(ax, shown)
        ax.set_xticks(x)
        ax.set_xticklabels([f"{v:g}" for v in x])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel(label)
        ax.set_ylabel("test loss, excess over noise")
        p0 = pts[0]
        fixed = {
            "n": f"alpha={p0['alpha']:g}, d={p0['d']}, s={p0['s']:g}",
            "d": f"alpha={p0['alpha']:g}, n={p0['n']}, s={p0['s']:g}",
            "s": f"alpha={p0['alpha']:g}, n={p0['n']}, d={p0['d']}",
        }[tag]
        ax.set_title(f"(c) Loss against {tag} ({fixed}, sigma={p0['sigma']:g})", fontsize=10)
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    return save(fig, folder, "loss_vs_n_d_s.png")


# ---------------------------------------------------------------------- composition-nets
_NET_SETS = (
    ("id", "in-distribution"),
    ("unseen-9", "unseen '9' in the item"),
    ("one-shot", "pair of once-seen symbols"),
    ("train-symbols", "training items with a symbol"),
)


def composition_nets_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """Test loss per architecture and weight decay (bars, SE whiskers, the paper's one-shot
    numbers as markers), and example test items."""
    return [_nets_losses(results, folder), _nets_examples(arrays, folder)]


def _nets_losses(results: dict, folder) -> str:
    table = results["table"]
    archs = list(table)
    wds = list(next(iter(table.values())))
    fig, axes = plt.subplots(1, len(_NET_SETS), figsize=(4.2 * len(_NET_SETS), 3.8), sharey=True)
    width = 0.8 / len(wds)
    x = np.arange(len(archs))
    values = []
    for ax, (key, title) in zip(axes, _NET_SETS, strict=True):
        for j, wd in enumerate(wds):
            mean = np.array([table[a][wd][key]["mean"] for a in archs])
            se = np.array([table[a][wd][key]["se"] for a in archs])
            values += list(mean)
            ax.bar(
                x + (j - (len(wds) - 1) / 2) * width,
                _floored(mean),
                width,
                yerr=se,
                capsize=3,
                label=f"weight decay {wd}",
                color=plt.cm.viridis(0.25 + 0.5 * j / max(len(wds) - 1, 1)),
            )
            if key == "one-shot":
                pub = [results["published_one_shot"].get(a, {}).get(wd) for a in archs]
                ax.scatter(
                    x + (j - (len(wds) - 1) / 2) * width,
                    _arr(pub),
                    marker="*",
                    s=90,
                    color="tab:red",
                    zorder=5,
                    label="published (Omniglot)" if j == 0 else None,
                )
                values += [v for v in pub if v is not None]
        ax.axhline(
            results["target_variance"].get(key, np.nan),
            color="gray",
            ls=":",
            lw=1,
            label="predict the mean" if key == "id" else None,
        )
        ax.set_xticks(x, archs, rotation=20)
        ax.set_title(title, fontsize=10)
        ax.set_yscale("log")
    _log_limits(axes[0], values)
    axes[0].set_ylabel("mean squared error of the sum")
    handles = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig.legend(
        handles.values(),
        handles.keys(),
        loc="lower center",
        ncol=len(handles),
        fontsize=8,
        bbox_to_anchor=(0.5, -0.08),
    )
    fig.suptitle("composition-nets: test loss by architecture (mean ± SE over seeds)")
    return save(fig, folder, "test_loss_by_architecture.png")


def _nets_examples(arrays: dict, folder) -> str:
    rows = (("examples_one_shot", "one-shot pair"), ("examples_unseen9", "unseen '9'"))
    k = arrays["examples_one_shot"].shape[0]
    fig, axes = plt.subplots(2, k, figsize=(1.9 * k, 2.6))
    for r, (key, label) in enumerate(rows):
        for i in range(k):
            item = np.asarray(arrays[key][i])  # (3, 28, 28)
            ax = axes[r, i]
            ax.imshow(np.concatenate(list(item), axis=1), cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{label}: sum {arrays['examples_targets'][r, i]:g}", fontsize=7)
    fig.suptitle("test items: the three channels side by side")
    return save(fig, folder, "example_items.png")
