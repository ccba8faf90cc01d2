"""Figures of experiments composition-linear and composition-nets, drawn from their saved results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save

__all__ = ["composition_linear_figures", "composition_nets_figures"]

from simulations.composition.measure import theory_rate
from simulations.plots.style import (
    COLORS,
    errorbar,
    floor_below,
    legend_outside,
    letter_panels,
    series,
    theory_line,
    ticks_at,
)

_OOD_STYLE = {
    "id": ("in-distribution (exact)", COLORS[6], "o"),
    "ood_seen": ("OOD: tail features seen, never together", COLORS[0], "s"),
    "ood_once": ("OOD: tail features seen once each, never together", COLORS[1], "D"),
    "ood_unseen": ("OOD control: unseen tail features", COLORS[5], "v"),
}
#: Values below this are drawn at it on log axes (min-norm errors at round-off are ~1e-15).
FLOOR = 1e-12
FLOOR_LABEL = "below 1e-12 (round-off; open triangles, lower ends of bars) drawn at 1e-12"
_RIDGE_STYLES = ("--", "-.", ":", (0, (5, 1, 1, 1)))
#: The ridges' thin lines where the colours go to the out-of-distribution sets.
GREYS = ("0.15", "0.35", "0.5", "0.65")


def _v(d: dict | None, key: str = "mean") -> float:
    """A saved number, NaN where the results hold None (JSON null)."""
    if d is None:
        return np.nan
    x = d.get(key)
    return np.nan if x is None else float(x)


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def _floor(*values) -> tuple[float, str | None]:
    """The floor of a log panel and its legend entry: 1e-12 where a value is below it (round-off
    of an exact fit), otherwise a decade below the smallest positive value (then only lower ends
    of error bars that cross 0 are drawn there)."""
    v = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in values])
    v = v[np.isfinite(v)]
    if (v < FLOOR).any():
        return FLOOR, FLOOR_LABEL
    return floor_below(v), None


def _bar_ends(pairs, floor: float) -> list[np.ndarray]:
    """Means, upper bar ends and lower bar ends (the floor where a bar crosses 0) of (mean, se)."""
    out = []
    for y, se in pairs:
        se = np.nan_to_num(se)
        out += [y, y + se, np.where(y - se > 0, y - se, floor)]
    return out


def _log_limits(ax, values, floor: float) -> None:
    """Log y axis from the floor (or the smallest value) to the largest value or error bar end."""
    v = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in values])
    v = v[np.isfinite(v) & (v > 0)]
    ax.set_yscale("log")
    if v.size:
        ax.set_ylim(max(v.min(), floor) / 2, v.max() * 2)


def composition_linear_figures(results: dict, arrays: dict, folder: str | Path) -> list[str]:
    """Figures (a) coefficient error by training count, (b) losses against alpha with the fitted
    rate, (c) losses against n, d and s; returns the file names."""
    rows = {r["key"]: r for r in results["points"]}
    return [
        _by_count(results, rows, folder),
        _against_alpha(results, rows, folder),
        _against_size(results, rows, folder),
    ]


def _learner_styles(names: list[str]) -> dict[str, dict]:
    """min-norm: a thick vermillion line with circles; the ridges: the other colours, markers and
    dashes."""
    out = {"min-norm": {"color": COLORS[1], "marker": "o", "ls": "-", "lw": 2.2}}
    for i, m in enumerate([m for m in names if m != "min-norm"]):
        st = series(i + 2)
        out[m] = {"color": st["color"], "marker": st["marker"], "ls": _RIDGE_STYLES[i % 4], "lw": 1.2}
    return out


def _by_count(results: dict, rows: dict, folder) -> str:
    names = results["learners"]
    styles = _learner_styles(names)
    keys = results["sweeps"]["main"]
    fig, axes = plt.subplots(2, len(keys), figsize=(min(5.2 * len(keys), 10.5), 8.0), squeeze=False)
    for c, key in enumerate(keys):
        r = rows[key]
        B = len(r["features_by_count"]["all"])
        x = np.arange(B)
        tail = _arr(r["features_by_count"]["tail"])
        labels = [f"{i}\n{f:.2g}" for i, f in enumerate(tail[:-1])] + [f">{B - 2}\n{tail[-1]:.2g}"]
        top, bottom = axes[0, c], axes[1, c]
        by = {name: r["learners"][name]["by_count"] for name in names}
        errs = {name: (_arr(b["all"]["err"]), _arr(b["all"]["err_se"])) for name, b in by.items()}
        floor, floor_label = _floor(*[e for e, _ in errs.values()])
        for name in names:
            err, se = errs[name]
            errorbar(top, x, err, se, floor=floor, floor_label=floor_label, label=name, **styles[name])
            rec, rec_se = _arr(by[name]["tail"]["recovered"]), _arr(by[name]["tail"]["recovered_se"])
            errorbar(bottom, x, rec, rec_se, label=name, **styles[name])
        _log_limits(top, _bar_ends(errs.values(), floor), floor)
        top.set_ylabel(r"mean $|\hat\beta_i - \beta^*_i|$ over all features")
        top.set_title(f"Coefficient error, sigma={r['sigma']:g}")
        bottom.set_ylabel(f"share of tail features recovered\n(relative error <= {results['recover_tol']:g})")
        bottom.set_ylim(-0.05, 1.08)
        bottom.set_title(f"Tail features recovered, sigma={r['sigma']:g}")
        for a in (top, bottom):
            a.set_xticks(x, labels)
            a.set_xlabel("training examples containing the feature\n(second line: tail features per run)")
            a.grid(alpha=0.3)
    r = rows[keys[0]]
    fig.suptitle(
        f"alpha={r['alpha']:g}, n={r['n']}, d={r['d']}, s={r['s']:g}, k={r['k']} (mean ± SE over runs)"
    )
    letter_panels(axes)
    legend_outside(fig, below=True, ncol=3)
    return save(fig, folder, "coefficient_error_by_count.png")


def _rate_label(results: dict) -> str:
    C = results["fit"]["constant"]
    if C is None:
        return "rate (no constant fitted)"
    return (
        r"$C\,s(\ln^2 d/(ns))^{1-1/\alpha}$, C = " + f"{C:.3g} FITTED\n(least squares in log space over "
        "the alpha > 1 points at the first sigma)"
    )


def _rate_curve(results: dict, p0: dict, tag: str, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """C times the theory's rate on a fine grid of ``tag`` (alpha, n, d or s) from ``lo`` to ``hi``,
    the other parameters as at the point ``p0`` (the rate is a closed form: simulations.composition)."""
    grid = np.linspace(lo, hi, 200) if tag in ("alpha", "s") else np.geomspace(lo, hi, 200)
    C = results["fit"]["constant"]
    par = {k: p0[k] for k in ("alpha", "n", "d", "s")}
    vals = []
    for g in grid:
        par[tag] = float(g)
        vals.append(C * theory_rate(par["alpha"], par["n"], par["d"], par["s"]))
    return grid, np.array(vals)


def _against_alpha(results: dict, rows: dict, folder) -> str:
    sweeps = results["sweeps"]["alpha"]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(min(5.2 * len(sweeps), 10.5), 5.6), squeeze=False)
    ridges = [m for m in results["learners"] if m != "min-norm"]
    styles = _learner_styles(results["learners"])
    for ax, (sigma, keys) in zip(axes[0], sweeps.items(), strict=True):
        pts = sorted((rows[k] for k in keys), key=lambda p: p["alpha"])
        a = np.array([p["alpha"] for p in pts])
        mins = {q: [p["learners"]["min-norm"][q] for p in pts] for q in _OOD_STYLE}
        pairs = {q: (_arr([_v(v) for v in m]), _arr([_v(v, "se") for v in m])) for q, m in mins.items()}
        ridge_y = {name: _arr([_v(p["learners"][name]["ood_once"]) for p in pts]) for name in ridges}
        floor, floor_label = _floor(*[y for y, _ in pairs.values()], *ridge_y.values())
        shown = _bar_ends(pairs.values(), floor) + list(ridge_y.values())
        for q, (label, color, marker) in _OOD_STYLE.items():
            y, se = pairs[q]
            errorbar(ax, a, y, se, floor=floor, floor_label=floor_label, marker=marker, color=color,
                     label=f"min-norm: {label}")  # fmt: skip
        for i, name in enumerate(ridges):
            st = styles[name]
            ax.plot(a, np.maximum(ridge_y[name], floor), ls=st["ls"], lw=1, color=GREYS[i % len(GREYS)],
                    marker=st["marker"], ms=3, label=f"{name}: OOD once")  # fmt: skip
        if results["fit"]["constant"] is not None:
            grid, curve = _rate_curve(results, pts[0], "alpha", a.min(), a.max())
            shown.append(curve)
            theory_line(ax, grid, curve, color=COLORS[2], lw=2, label=_rate_label(results))
        ax.axvline(1.0, color="gray", lw=0.8, ls=":")
        _log_limits(ax, shown, floor)
        ax.set_xlabel(r"power-law exponent $\alpha$")
        ax.set_ylabel("test loss, excess over noise")
        ax.set_title(f"Loss against alpha, sigma={sigma}")
        ax.grid(alpha=0.3, which="both")
    p0 = rows[next(iter(sweeps.values()))[0]]
    fig.suptitle(f"n={p0['n']}, d={p0['d']}, s={p0['s']:g} (mean ± SE over runs)")
    letter_panels(axes[0])
    legend_outside(fig, below=True, ncol=2)
    return save(fig, folder, "loss_vs_alpha.png")


def _against_size(results: dict, rows: dict, folder) -> str:
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 4.6), sharey=True)
    ridges = [m for m in results["learners"] if m != "min-norm"]
    means = [_v(r["learners"]["min-norm"][q]) for t in "nds" for k in results["sweeps"][t] for r in [rows[k]]
             for q in ("id", "ood_seen", "ood_once")]  # fmt: skip
    size_floor, size_label = _floor(means)  # one floor: the panels share their y axis
    everything = []
    for ax, tag, label in zip(axes, ("n", "d", "s"), ("training examples n", "features d", "s"), strict=True):
        pts = sorted((rows[k] for k in results["sweeps"][tag]), key=lambda p: p[tag])
        x = np.array([p[tag] for p in pts], dtype=np.float64)
        for q in ("id", "ood_seen", "ood_once"):
            name, color, marker = _OOD_STYLE[q]
            m = [p["learners"]["min-norm"][q] for p in pts]
            y, se = _arr([_v(v) for v in m]), _arr([_v(v, "se") for v in m])
            everything += _bar_ends([(y, se)], size_floor)
            errorbar(ax, x, y, se, floor=size_floor, floor_label=size_label, marker=marker, color=color,
                     label=f"min-norm: {name}")  # fmt: skip
        if ridges:
            name = ridges[len(ridges) // 2]
            y = _arr([_v(p["learners"][name]["id"]) for p in pts])
            everything.append(y)
            ax.plot(x, y, ls="--", marker="x", color=COLORS[3], label=f"{name}: in-distribution")
        if results["fit"]["constant"] is not None:
            grid, curve = _rate_curve(results, pts[0], tag, x.min(), x.max())
            everything.append(curve)
            theory_line(ax, grid, curve, color=COLORS[2], lw=2, label=_rate_label(results) + ", not refitted")
        ax.set_xscale("log")
        ticks_at(ax, x)
        ax.set_xlabel(label)
        p0 = pts[0]
        fixed = {
            "n": f"alpha={p0['alpha']:g}, d={p0['d']}, s={p0['s']:g}",
            "d": f"alpha={p0['alpha']:g}, n={p0['n']}, s={p0['s']:g}",
            "s": f"alpha={p0['alpha']:g}, n={p0['n']}, d={p0['d']}",
        }[tag]
        ax.set_title(f"Loss against {tag}\n({fixed})")
        ax.grid(alpha=0.3, which="both")
    _log_limits(axes[0], everything, size_floor)
    axes[0].set_ylabel("test loss, excess over noise")
    fig.suptitle(f"sigma={pts[0]['sigma']:g} (mean ± SE over runs)")
    letter_panels(axes)
    legend_outside(fig, below=True, ncol=2)
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
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 7.2), sharey=True)
    axes = axes.ravel()
    width = 0.8 / len(wds)
    x = np.arange(len(archs))
    values = []
    for ax, (key, title) in zip(axes, _NET_SETS, strict=True):
        for j, wd in enumerate(wds):
            mean = np.array([table[a][wd][key]["mean"] for a in archs])
            se = np.array([table[a][wd][key]["se"] for a in archs])
            values += _bar_ends([(mean, se)], FLOOR)
            at = x + (j - (len(wds) - 1) / 2) * width
            ax.bar(at, np.maximum(mean, FLOOR), width, color=series(j)["color"], alpha=0.75,
                   hatch=("", "//", "xx", "..")[j % 4], label=f"weight decay {wd}")  # fmt: skip
            errorbar(ax, at, mean, se, floor=FLOOR, ls="none", color="black")
            if key == "one-shot":
                pub = _arr([results["published_one_shot"].get(a, {}).get(wd) for a in archs])
                ok = np.isfinite(pub)
                ax.plot(at[ok], pub[ok], ls="none", marker="*", ms=12, color="white", mec="black", mew=0.9,
                        zorder=5, label="published (Omniglot)")  # fmt: skip
                values += list(pub[ok])
        variance = results["target_variance"].get(key)
        if variance is not None:
            ax.axhline(variance, color="gray", ls=":", lw=1.2, label="predicting the mean")
        ax.set_xticks(x, archs)
        ax.set_title(title)
        ax.set_yscale("log")
        ax.grid(alpha=0.3, axis="y", which="both")
    _log_limits(axes[0], values, FLOOR)
    for ax in axes[::2]:
        ax.set_ylabel("mean squared error of the sum")
    letter_panels(axes)
    fig.suptitle("composition-nets: test loss by architecture (mean ± SE over seeds)")
    legend_outside(fig, below=True, ncol=4)
    return save(fig, folder, "test_loss_by_architecture.png")


def _nets_examples(arrays: dict, folder) -> str:
    rows = (("examples_one_shot", "one-shot pair"), ("examples_unseen9", "unseen '9'"))
    k = arrays["examples_one_shot"].shape[0]
    fig, axes = plt.subplots(2, k, figsize=(min(1.9 * k, 10.5), 2.3))
    for r, (key, label) in enumerate(rows):
        for i in range(k):
            item = np.asarray(arrays[key][i])  # (3, 28, 28)
            ax = axes[r, i]
            ax.imshow(np.concatenate(list(item), axis=1), cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{label}: sum {arrays['examples_targets'][r, i]:g}", fontsize=7.5)
    fig.suptitle("test items: the three channels side by side")
    return save(fig, folder, "example_items.png")
