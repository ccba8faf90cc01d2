"""The figure standard of tailmem (docs/figures.md) as functions.

Every figure is drawn with these helpers and saved through :func:`simulations.plots.common.save`:

- :data:`COLORS`, :data:`MARKERS`, :data:`LINESTYLES` and :func:`series`: the Okabe-Ito palette
  (safe for the common colour-vision deficiencies) with a marker and a line style per series, so
  that series stay apart in greyscale too;
- :func:`letter_panels`: the panels of a figure lettered (a), (b), ... once each, in the title;
- :func:`legend_outside`: a legend beside or below the axes (never over the data);
- :func:`log_floor` and :func:`floor_below`: values <= 0 on a log axis drawn at a marked floor
  (open triangles on a dotted line, named in the legend) instead of plunging to minus infinity;
- :func:`errorbar`: mean ± SE with missing (NaN) points left out and, on a log axis, lower bars
  that would cross 0 ending at the floor;
- :func:`theory_line` (the theory evaluated on a fine grid: a solid line) and
  :func:`theory_points` (the theory known only at the sweep points: markers on a dashed line, so
  that a straight segment is not read as the theory);
- :func:`ticks_at` (the swept values of a short log axis as its ticks);
- :func:`note` (a sentence in the figure, e.g. "not resolved at this size: ...") and
  :func:`coinciding` (the curves drawn over each other, for a note naming them).

What a machine can check of a drawn figure is :func:`simulations.plots.check.check_figure`.

The names above are stable: other plotting modules import them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib
import numpy as np

__all__ = [
    "COLORS",
    "MARKERS",
    "LINESTYLES",
    "LETTER",
    "MAX_WIDTH_IN",
    "MIN_FONT_PT",
    "RC",
    "series",
    "letter_panels",
    "legend_outside",
    "floor_below",
    "log_floor",
    "mark_floor",
    "errorbar",
    "theory_line",
    "theory_points",
    "ticks_at",
    "coinciding",
    "note",
    "short_label",
    "note_coinciding",
    "separate_labels",
]

#: Okabe & Ito (2008) colours without yellow (too light on white), darkest first: blue,
#: vermillion, bluish green, reddish purple, orange, sky blue, black.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: Markers in the order series get them; with 7 colours and 8 markers the pair (colour, marker)
#: repeats only after 56 series.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
#: A figure wider than this (inches; 1650 pixels at 150 dpi) is shrunk by viewers below 100%.
MAX_WIDTH_IN = 11.0
#: The smallest text size (points) that reads at 100% zoom at 150 dpi (about 15 pixels).
MIN_FONT_PT = 7.0
#: The matplotlib settings of every figure (applied by simulations.plots.common on import).
RC = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.titlesize": 10.5,
    "figure.constrained_layout.use": True,
    "axes.prop_cycle": matplotlib.cycler(color=COLORS),
    "lines.markersize": 5,
    "errorbar.capsize": 2.5,
    "legend.frameon": False,
}
#: Colour, marker and style of values drawn at a log axis' floor.
FLOOR_STYLE = {"color": "0.35", "ls": ":", "lw": 0.9}
_FLOOR_LABEL = "0 (open triangles, lower ends of bars) drawn at"
#: A panel letter at the start of a title: "(a) ", "(b2) ", "(a') ".
LETTER = re.compile(r"^\(([a-z][0-9']*)\)\s*")


def series(k: int, *, line: bool = True) -> dict:
    """Matplotlib keywords of series ``k`` (0, 1, ...): colour, marker and, when ``line``, a line
    style; neighbouring series differ in all three."""
    style = {"color": COLORS[k % len(COLORS)], "marker": MARKERS[k % len(MARKERS)]}
    style["ls"] = LINESTYLES[k % len(LINESTYLES)] if line else "none"
    return style


def letter_panels(axes, letters: Sequence[str] | None = None) -> None:
    """Put "(a) ", "(b) ", ... (or ``letters``) before the titles of ``axes``, in order, replacing
    a letter already there, so that each panel of a figure is lettered once."""
    axes = list(np.ravel(axes))
    letters = list(letters) if letters is not None else [chr(ord("a") + i) for i in range(len(axes))]
    if len(letters) != len(axes):
        raise ValueError(f"letters: {len(letters)} given for {len(axes)} panels")
    for ax, letter in zip(axes, letters, strict=True):
        title = LETTER.sub("", ax.get_title())
        ax.set_title(f"({letter}) {title}".rstrip())


def legend_outside(where, *, below: bool = False, ncol: int = 1, handles=None, labels=None, **kw):
    """A legend outside the data: for an Axes, to its right or ``below`` its x label (keep it
    narrower than the axes); for a Figure, one legend of the distinct entries of all its axes (or
    ``handles``, ``labels``) at the right, or ``below`` the panels. Constrained layout makes room
    for it."""
    if isinstance(where, matplotlib.figure.Figure):
        if handles is None:
            found: dict[str, object] = {}
            for ax in where.axes:
                for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                    found.setdefault(lab, h)
            handles, labels = list(found.values()), list(found)
        loc = "outside lower center" if below else "outside right center"
        return where.legend(handles, labels, loc=loc, ncol=ncol, **kw)
    args = () if handles is None else (handles, labels)
    if below:  # under the x tick labels and the x label: their height in points, from rc
        rc = matplotlib.rcParams
        lines = where.get_xlabel().count("\n") + 1 if where.get_xlabel() else 0
        points = matplotlib.font_manager.FontProperties(size=rc["axes.labelsize"]).get_size_in_points()
        tick = matplotlib.font_manager.FontProperties(size=rc["xtick.labelsize"]).get_size_in_points()
        drop = 1.3 * tick + rc["xtick.major.size"] + rc["xtick.major.pad"] + rc["axes.labelpad"]
        drop += 1.3 * lines * points + 4
        shift = matplotlib.transforms.ScaledTranslation(0, -drop / 72, where.figure.dpi_scale_trans)
        return where.legend(*args, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
                            bbox_transform=where.transAxes + shift, **kw)  # fmt: skip
    return where.legend(*args, loc="upper left", bbox_to_anchor=(1.02, 1.0), ncol=ncol, **kw)


def floor_below(*values, decades: float = 1.0) -> float:
    """A floor for a log axis: ``decades`` below the smallest positive finite value (1e-12 if none)."""
    v = np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in values] or [np.zeros(0)])
    v = v[np.isfinite(v) & (v > 0)]
    return float(10.0 ** (np.floor(np.log10(v.min())) - decades)) if v.size else 1e-12


def log_floor(ax, x, y, *, floor: float, label: str | None = None, floor_label: str | None = None,
              **style) -> np.ndarray:  # fmt: skip
    """Draw ``y`` against ``x`` on a log y axis with the values <= 0 at ``floor``: the line goes
    down to the floor (it does not plunge), those points are open downward triangles, and a dotted
    line marks the floor once per axes, named in the legend "0 drawn at <floor>". Missing (NaN)
    points are left out. Returns the drawn y."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    shown = np.where(y > floor, y, floor)
    zero = y <= floor
    ax.plot(x, shown, label=label, markevery=list(~zero), **style)
    if zero.any():
        color = style.get("color", "0.35")
        ax.plot(x[zero], shown[zero], ls="none", marker="v", mfc="white", mec=color, ms=7, zorder=4)
        mark_floor(ax, floor, floor_label)
    ax.set_yscale("log")
    return shown


def mark_floor(ax, floor: float, label: str | None = None) -> None:
    """The dotted floor line of a log axis (once per axes), with its legend entry (by default
    "0 (open triangles, lower ends of bars) drawn at <floor>")."""
    label = label or f"{_FLOOR_LABEL} {floor:.0e}"
    if not any(line.get_label() == label for line in ax.lines):
        ax.axhline(floor, label=label, **FLOOR_STYLE)


def errorbar(ax, x, y, se=None, *, xerr=None, floor: float | None = None, floor_label: str | None = None,
             **kw):  # fmt: skip
    """``ax.errorbar`` of mean ± ``se`` without the missing points (NaN mean or position; a NaN SE
    draws no bar). With ``floor`` (a log y axis): means <= floor are drawn at the floor as in
    :func:`log_floor`, and lower bars that would cross 0 end at the floor, which is then marked.
    Returns the container, or None when no point is left."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None

    def err(e):
        if e is None:
            return None
        e = np.nan_to_num(np.asarray(e, dtype=np.float64)[..., ok], nan=0.0)
        return np.abs(e)

    x, y, yerr, xerr = x[ok], y[ok], err(se), err(xerr)
    if floor is not None:
        zero = y <= floor
        y = np.where(zero, floor, y)
        cut = np.zeros_like(zero)
        if yerr is not None:
            cut = yerr > y - floor
            yerr = np.vstack([np.minimum(yerr, y - floor), yerr])
        if zero.any():
            ax.plot(x[zero], y[zero], ls="none", marker="v", mfc="white", mec=kw.get("color", "0.35"), ms=7)
        if zero.any() or cut.any():
            mark_floor(ax, floor, floor_label)
        ax.set_yscale("log")
    return ax.errorbar(x, y, yerr=yerr, xerr=xerr, **kw)


def theory_line(ax, x, y, *, label: str, color: str = "black", **kw):
    """A theory curve evaluated on a fine grid (``x`` dense): a solid thin line."""
    return ax.plot(x, y, color=color, lw=kw.pop("lw", 1.3), ls=kw.pop("ls", "-"), label=label, **kw)


def theory_points(ax, x, y, *, label: str, color: str = "black", **kw):
    """A theory known only at the sweep points: markers joined by a thin dashed line (a straight
    segment between two points is not the theory)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    return ax.plot(x[ok], y[ok], color=color, ls=(0, (3, 2)), lw=1, marker=kw.pop("marker", "_"),
                   ms=kw.pop("ms", 12), mew=kw.pop("mew", 1.8), label=label, **kw)  # fmt: skip


def ticks_at(ax, values, *, axis: str = "x", fmt: str = "{:g}") -> None:
    """Major ticks at ``values`` (e.g. the swept values of a log axis), labelled with ``fmt``, and
    no minor tick labels (on a short log axis they print over each other)."""
    values = np.unique(np.asarray(values, dtype=np.float64))
    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_ticks(values, [fmt.format(v) for v in values])
    a.set_minor_formatter(matplotlib.ticker.NullFormatter())


def coinciding(curves: dict, *, tol: float) -> list[list[str]]:
    """Groups of curves drawn over each other: ``curves`` maps a label to its y values on one grid;
    two curves coincide when they differ by at most ``tol`` (in data units: about 3 pixels, e.g.
    0.01 on a 0-1 axis) wherever both are finite. Returns the groups of two or more labels, for a
    :func:`note` naming the curves a reader cannot see."""
    groups: list[list[str]] = []
    for label, y in curves.items():
        y = np.asarray(y, dtype=np.float64)
        for g in groups:
            first = np.asarray(curves[g[0]], dtype=np.float64)
            ok = np.isfinite(y) & np.isfinite(first)
            if ok.any() and (np.abs(y - first)[ok] <= tol).all():
                g.append(label)
                break
        else:
            groups.append([label])
    return [g for g in groups if len(g) > 1]


def note(ax, text: str) -> None:
    """A sentence in the figure, under the panel's title (e.g. "not resolved at this size: ...")."""
    title = ax.get_title()
    ax.set_title(f"{title}\n{text}" if title else text)


def short_label(label: str) -> str:
    """The parameter part of a setting's label: 'k-NN k=3' -> 'k=3', 'private logistic eps=3' ->
    'eps=3'; a label without one is kept whole."""
    return next((t for t in label.split() if "=" in t.strip("=")), label)


def note_coinciding(ax, curves: dict, *, tol: float = 0.01) -> None:
    """A :func:`note` naming (by :func:`short_label`) the curves of ``curves`` drawn over each
    other (:func:`coinciding`; ``tol`` 0.01 suits a 0-1 accuracy axis); nothing if there are none."""
    groups = coinciding(curves, tol=tol)
    if groups:
        note(ax, "drawn over each other: " + "; ".join(" = ".join(short_label(c) for c in g) for g in groups))


#: Where :func:`separate_labels` tries a point label: (x, y) offset in points, then ha, va.
LABEL_PLACES = ((-6, 4, "right", "bottom"), (8, 4, "left", "bottom"), (-6, -4, "right", "top"),
                (8, -4, "left", "top"))  # fmt: skip


def separate_labels(ax, labels) -> None:
    """Move each point label (an annotation placed in offset points) that overlaps an earlier label
    or covers another labelled point to the first of :data:`LABEL_PLACES` where it does neither (it
    stays where it was if every place is taken). The figure is drawn once to measure the labels."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    anchors = [ax.transData.transform(label.xy) for label in labels]
    placed = []
    for k, label in enumerate(labels):
        others = [p for j, p in enumerate(anchors) if j != k]
        for place in (None, *LABEL_PLACES):
            if place is not None:
                label.xyann = place[:2]
                label.set_horizontalalignment(place[2])
                label.set_verticalalignment(place[3])
            box = label.get_window_extent(renderer).padded(4)
            if not any(box.overlaps(other) for other in placed) and not any(box.contains(*p) for p in others):
                break
        placed.append(label.get_window_extent(renderer))
