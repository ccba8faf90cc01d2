"""The machine check of a drawn figure against the figure standard (docs/figures.md).

:func:`check_figure` returns one line per problem; :func:`simulations.plots.common.save` runs it
when the environment variable ``TAILMEM_CHECK_FIGURES=1`` is set and raises on a problem.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from simulations.plots.style import LETTER, MAX_WIDTH_IN, MIN_FONT_PT

__all__ = ["check_figure"]


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
        m = LETTER.match(ax.get_title() or ax.get_title("left"))
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
