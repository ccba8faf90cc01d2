"""The figure standard of tailmem (docs/figures.md) as functions, and the check of a drawn figure.

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
- :func:`note` (a sentence in the figure, e.g. "not resolved at this size: ...");
- :func:`check_figure`: what a machine can check of a drawn figure; ``save`` runs it when the
  environment variable ``TAILMEM_CHECK_FIGURES=1`` is set.

The names above are stable: other plotting modules import them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

__all__ = [
    "COLORS",
    "MARKERS",
    "LINESTYLES",
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
    "check_figure",
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
_LETTER = re.compile(r"^\(([a-z][0-9']*)\)\s*")


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
        title = _LETTER.sub("", ax.get_title())
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


# ---------------------------------------------------------------------- the check
def check_figure(fig, *, draw: bool = True) -> list[str]:
    """What a machine can check of a drawn figure; returns one line per problem (empty: none).

    - the figure is at most :data:`MAX_WIDTH_IN` wide and no text is under :data:`MIN_FONT_PT`;
    - no NaN or inf in the data of a drawn line or collection, and no value that the axis scale
      cannot draw (<= 0 on a log axis: the curve would plunge to minus infinity);
    - no visible axes with nothing drawn inside its limits;
    - no text (titles, labels, tick labels, annotations, legends) outside the canvas;
    - no two text boxes overlapping (the entries of one legend excepted; tick labels of one axis
      may touch but not overlap by more than 4 square pixels);
    - no legend box over a data point (line vertices, scatter points, bars) of any axes;
    - no error bar cut by the axes limits;
    - panels lettered once: with two or more axes holding data, every title starts with a letter
      "(a)" and no letter repeats.

    It cannot see whether colours are told apart, whether a label says the right thing, or a data
    point hidden by another series. ``draw=False``: the figure was drawn just before (drawing it
    again would run the layout again and move things by a pixel).
    """
    if draw:
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems: list[str] = []
    width = fig.get_size_inches()[0]
    if width > MAX_WIDTH_IN + 1e-9:
        problems.append(f"figure {width:.1f} in wide (at most {MAX_WIDTH_IN:g})")
    data_axes = []
    for ax in fig.axes:
        if not ax.get_visible() or getattr(ax, "_colorbar", None) is not None:
            continue  # a colour bar's axes draws its colour scale, not data
        name = _axes_name(ax)
        problems += [f"{name}: {p}" for p in _data_problems(ax)]
        drawn = _drawn_inside(ax, renderer)
        if ax.axison and not drawn and not ax.texts:
            problems.append(f"{name}: nothing drawn")
        if drawn and any(not isinstance(a, matplotlib.image.AxesImage) for a in drawn):
            data_axes.append(ax)
    problems += _letter_problems(data_axes)
    boxes = _text_boxes(fig, renderer)
    small = sorted({t for t, b, owner, size in boxes if size is not None and size < MIN_FONT_PT - 1e-9})
    if small:
        problems.append(f"text under {MIN_FONT_PT:g} pt: {', '.join(repr(s) for s in small[:3])}")
    canvas = fig.bbox
    for text, b, _, _ in boxes:
        if b.x0 < canvas.x0 - 1 or b.y0 < canvas.y0 - 1 or b.x1 > canvas.x1 + 1 or b.y1 > canvas.y1 + 1:
            problems.append(f"text outside the canvas: {text!r}")
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            ti, bi, oi, _ = boxes[i]
            tj, bj, oj, _ = boxes[j]
            if oi is not None and oi == oj:  # tick labels of one axis may touch, not overlap
                if _overlap(bi, bj) > 4.0 and _same_axis(bi, bj):
                    problems.append(f"tick labels overlap: {ti!r} and {tj!r}")
                continue
            if _overlap(bi, bj) > 1.0:
                problems.append(f"text boxes overlap: {ti!r} and {tj!r}")
    problems += _legend_problems(fig, renderer)
    return problems


def _axes_name(ax) -> str:
    title = ax.get_title() or ax.get_title("left")
    return f"axes {title.splitlines()[0]!r}" if title else "axes (untitled)"


def _finite_data(artist) -> list[tuple[np.ndarray, object]]:
    """(points, transform) pairs of the data an artist draws."""
    if isinstance(artist, Line2D):
        return [(np.asarray(artist.get_xydata(), dtype=np.float64), artist.get_transform())]
    out = []
    if isinstance(artist, LineCollection | PolyCollection):
        segs = [np.asarray(p.vertices, dtype=np.float64) for p in artist.get_paths()]
        if segs:
            out.append((np.concatenate(segs).reshape(-1, 2), artist.get_transform()))
    offsets = np.asarray(artist.get_offsets(), dtype=np.float64).reshape(-1, 2)
    if offsets.size and not isinstance(artist, LineCollection | PolyCollection):
        out.append((offsets, artist.get_offset_transform()))
    return out


def _data_problems(ax) -> list[str]:
    out = []
    logs = (ax.get_xscale() == "log", ax.get_yscale() == "log")
    for artist in [*ax.lines, *ax.collections]:
        if not artist.get_visible():
            continue
        label = artist.get_label()
        what = type(artist).__name__ + ("" if label.startswith("_") else f" {label!r}")
        for pts, transform in _finite_data(artist):
            if not pts.size:
                continue
            if not np.isfinite(pts).all():
                out.append(f"NaN or inf in the data of {what}")
                continue
            in_data = transform.contains_branch(ax.transData)
            if in_data and any(log and (pts[:, k] <= 0).any() for k, log in enumerate(logs)):
                out.append(f"{what} has values <= 0 on a log axis (drawn as a plunge)")
                continue
            shown = transform.transform(pts)
            if not np.isfinite(shown).all() or (np.abs(shown) > 1e6).any():
                out.append(f"{what} is drawn a million pixels off the canvas (a plunge)")
    return out


def _data_points(ax) -> np.ndarray:
    """Display coordinates of the data points of ``ax`` inside its box (line vertices, scatter
    offsets), not of lines positioned in axes coordinates (axhline, axvline)."""
    pts = []
    for artist in [*ax.lines, *ax.collections]:
        if not artist.get_visible():
            continue
        for xy, transform in _finite_data(artist):
            if isinstance(artist, Line2D) and not transform.contains_branch(ax.transData):
                continue
            if xy.size:
                pts.append(transform.transform(xy))
    if not pts:
        return np.zeros((0, 2))
    pts = np.concatenate(pts)
    pts = pts[np.isfinite(pts).all(axis=1)]
    b = ax.bbox
    inside = (pts[:, 0] >= b.x0) & (pts[:, 0] <= b.x1) & (pts[:, 1] >= b.y0) & (pts[:, 1] <= b.y1)
    return pts[inside]


def _bars(ax, renderer) -> list:
    """Display boxes of the bars of ``ax``, cut to the axes (a bar from 0 on a log axis reaches
    far below it)."""
    out = []
    for p in ax.patches:
        if isinstance(p, Rectangle) and p.get_visible() and p.get_transform().contains_branch(ax.transData):
            box = Bbox.intersection(p.get_window_extent(renderer), ax.bbox)
            if box is not None:
                out.append(box)
    return out


def _drawn_inside(ax, renderer) -> list:
    """The artists of ``ax`` that draw something inside its box."""
    drawn = []
    for artist in [*ax.lines, *ax.collections]:
        if artist.get_visible() and _data_points_of(ax, artist).size:
            drawn.append(artist)
    for p in ax.patches:
        if p.get_visible() and _overlap(p.get_window_extent(renderer), ax.bbox) > 0:
            drawn.append(p)
    drawn += [im for im in ax.images if im.get_visible()]
    return drawn


def _data_points_of(ax, artist) -> np.ndarray:
    pts = [t.transform(xy) for xy, t in _finite_data(artist) if xy.size]
    if not pts:
        return np.zeros((0, 2))
    pts = np.concatenate(pts)
    pts = pts[np.isfinite(pts).all(axis=1)]
    b = ax.bbox
    inside = (
        (pts[:, 0] >= b.x0 - 1) & (pts[:, 0] <= b.x1 + 1) & (pts[:, 1] >= b.y0 - 1) & (pts[:, 1] <= b.y1 + 1)
    )
    return pts[inside]


def _letter_problems(data_axes: list) -> list[str]:
    """Panels are the axes with data and tick labels (an example image or signal drawn without
    ticks, as in a grid of examples, is not a panel)."""
    panels = [ax for ax in data_axes if ax.axison and (len(ax.get_xticks()) or len(ax.get_yticks()))]
    if len(panels) < 2:
        return []
    out, seen = [], set()
    for ax in panels:
        m = _LETTER.match(ax.get_title() or ax.get_title("left"))
        if m is None:
            out.append(f"{_axes_name(ax)}: panel without a letter")
        elif m.group(1) in seen:
            out.append(f"panel letter ({m.group(1)}) used twice")
        else:
            seen.add(m.group(1))
    return out


def _text_boxes(fig, renderer) -> list[tuple[str, object, object, float | None]]:
    """(text, display box, owner, font size) of every visible text of the figure; a legend is one
    box (owner: the legend); the tick labels of an axes share their owner (the axes)."""
    legends = [leg for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if leg is not None]
    in_legend = {id(t): leg for leg in legends for t in [*leg.get_texts(), leg.get_title()]}
    ticks = {}
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                inside = lo - 1e-12 * abs(hi - lo) <= tick.get_loc() <= hi + 1e-12 * abs(hi - lo)
                for label in (tick.label1, tick.label2):
                    ticks[id(label)] = (ax, inside and tick.get_visible())
    out = []
    for leg in legends:
        if leg.get_visible():
            sizes = [t.get_fontsize() for t in leg.get_texts()]
            out.append((_legend_name(leg), leg.get_window_extent(renderer), leg, min(sizes, default=None)))
    for t in fig.findobj(Text):
        if id(t) in in_legend or not t.get_visible() or not t.get_text().strip():
            continue
        if not _shown(t):
            continue
        owner = None
        if id(t) in ticks:
            owner, shown = ticks[id(t)]
            if not shown:
                continue
        box = Text.get_window_extent(t, renderer)  # of an annotation, the text without its arrow
        out.append((t.get_text(), box, owner, t.get_fontsize()))
    return out


def _shown(artist) -> bool:
    """Visible, in a visible axes (a text of an axes turned off by ``axis("off")`` is not drawn)."""
    ax = artist.axes
    if ax is None:
        return True
    if not ax.get_visible():
        return False
    if not ax.axison and artist not in ax.texts and artist not in (ax.title, ax._left_title, ax._right_title):
        return False
    return True


def _legend_name(leg: Legend) -> str:
    texts = [t.get_text() for t in leg.get_texts()]
    return f"legend [{texts[0]!s}{', ...' if len(texts) > 1 else ''}]"


def _same_axis(a, b) -> bool:
    """Two tick-label boxes of one axes on the same axis (a row or a column), not an x label
    against a y label at the corner."""
    same_row = abs((a.y0 + a.y1) - (b.y0 + b.y1)) < 0.5 * min(a.height, b.height)
    same_col = abs((a.x0 + a.x1) - (b.x0 + b.x1)) < 0.5 * min(a.width, b.width) or abs(a.x1 - b.x1) < 2
    return same_row or same_col


def _overlap(a, b) -> float:
    """Area (square pixels) of the intersection of two boxes."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def _legend_problems(fig, renderer) -> list[str]:
    out = []
    legends = [leg for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if leg is not None]
    for leg in legends:
        if not leg.get_visible():
            continue
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            pts = _data_points(ax)
            under = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
            bars = [b for b in _bars(ax, renderer) if _overlap(b, box) > 4.0]
            if under.any() or bars:
                out.append(f"{_legend_name(leg)} covers data of {_axes_name(ax)}")
    return out + sorted(set(_clipped_errorbars(fig)))


def _clipped_errorbars(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        b = ax.bbox
        for c in ax.containers:
            if not isinstance(c, ErrorbarContainer):
                continue
            for lc in c.lines[2]:
                for xy, t in _finite_data(lc):
                    p = t.transform(xy)
                    p = p[np.isfinite(p).all(axis=1)]
                    if (
                        (p[:, 0] < b.x0 - 1)
                        | (p[:, 0] > b.x1 + 1)
                        | (p[:, 1] < b.y0 - 1)
                        | (p[:, 1] > b.y1 + 1)
                    ).any():
                        out.append(f"{_axes_name(ax)}: error bar cut by the axes limits")
    return out
