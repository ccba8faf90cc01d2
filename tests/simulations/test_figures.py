"""The figure standard's helpers (simulations/plots/style.py) and the machine check of a figure
(simulations/plots/check.py):
a deliberately bad figure of each kind is caught, a figure drawn to the standard passes."""

import numpy as np
import pytest

from simulations.plots.check import check_figure
from simulations.plots.common import CHECK_ENV, plt, save
from simulations.plots.style import (
    coinciding,
    errorbar,
    floor_below,
    legend_outside,
    letter_panels,
    log_floor,
    note,
    separate_labels,
    series,
    theory_line,
    theory_points,
)

X = np.linspace(1.0, 10.0, 10)


def good_figure():
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
    y = np.array([0.0, 0.0, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.2, 0.4, 0.8])  # two zeros on a log axis
    log_floor(a1, X, y, floor=floor_below(y), label="bound", **series(0))
    errorbar(
        a1, X, y + 1e-3, np.full(10, 2e-3), floor=floor_below(y), label="measured", **series(1, line=False)
    )
    a1.set(xlabel="n / N", ylabel="error", title="log axis with a floor")
    errorbar(a2, X, X / 10, np.full(10, 0.02), label="measured", **series(2))
    theory_line(a2, np.linspace(1, 10, 200), np.linspace(1, 10, 200) / 10, label="theory")
    theory_points(a2, X, X / 10 + 0.05, label="theory at the sweep points")
    a2.set(xlabel="x", ylabel="accuracy", title="linear axis")
    note(a2, "not resolved at this size: the curves differ by 0.3 SE")
    letter_panels([a1, a2])
    legend_outside(fig, below=True, ncol=3)
    return fig


def test_a_figure_drawn_to_the_standard_passes():
    fig = good_figure()
    assert check_figure(fig) == []
    assert [a.get_title().split()[0] for a in fig.axes] == ["(a)", "(b)"]
    plt.close(fig)


def one_panel(**kw):
    fig, ax = plt.subplots(figsize=kw.pop("figsize", (5, 3.5)))
    ax.set(xlabel="x", ylabel="y", title="one panel")
    return fig, ax


def bad_nan():
    fig, ax = one_panel()
    ax.plot(X, np.where(X > 5, np.nan, X), "o-")
    return fig


def bad_plunge():
    fig, ax = one_panel()
    ax.plot(X, np.where(X > 5, 0.0, X), "-")  # the curve drops to 0 on a log axis
    ax.set_yscale("log")
    return fig


def bad_empty():
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7, 3))
    a1.plot(X, X)
    letter_panels([a1, a2])
    return fig


def bad_outside():
    fig, ax = one_panel()
    ax.plot(X, X)
    ax.annotate("a label far to the right", (10, 10), xytext=(60, 0), textcoords="offset points")
    fig.set_layout_engine("none")
    return fig


def bad_overlap():
    fig, ax = one_panel()
    ax.plot(X, X, "o")
    ax.annotate("gamma=0.5", (5, 5), xytext=(3, 3), textcoords="offset points")
    ax.annotate("lam=3", (5.1, 5.1), xytext=(3, 3), textcoords="offset points")
    return fig


def bad_legend():
    fig, ax = one_panel()
    ax.plot(X, X, "o", label="points under the legend")
    ax.legend(loc="upper left", bbox_to_anchor=(0.35, 0.6))
    return fig


def two_panels(*titles):
    fig, axes = plt.subplots(1, 2, figsize=(7, 3))
    for a, title in zip(axes, titles, strict=True):
        a.plot(X, X)
        a.set_title(title)
    return fig


def bad_letters():
    return two_panels("(a) a panel", "(a) a panel")


def bad_no_letter():
    return two_panels("(a) lettered", "not lettered")


def bad_ticks():
    fig, ax = one_panel()
    ax.plot(X, X)
    ax.set_xticks([1.0, 1.05, 5.0], ["1.000", "1.050", "5"])  # the first two print over each other
    return fig


def bad_wide():
    fig, ax = one_panel(figsize=(18, 4))
    ax.plot(X, X)
    return fig


def bad_small_text():
    fig, ax = one_panel()
    ax.plot(X, X)
    ax.set_xlabel("x", fontsize=5)
    return fig


def bad_clipped_errorbar():
    fig, ax = one_panel()
    ax.errorbar(X, X / 10, yerr=0.3, fmt="o")
    ax.set_ylim(0, 1)
    return fig


@pytest.mark.parametrize(
    ("draw", "needle"),
    [
        (bad_nan, "NaN or inf"),
        (bad_plunge, "<= 0 on a log axis"),
        (bad_empty, "nothing drawn"),
        (bad_outside, "outside the canvas"),
        (bad_overlap, "overlap: 'gamma=0.5' and 'lam=3'"),
        (bad_legend, "covers data"),
        (bad_letters, "panel letter (a) used twice"),
        (bad_no_letter, "'not lettered': panel without a letter"),
        (bad_ticks, "tick labels overlap: '1.000' and '1.050'"),
        (bad_wide, "18.0 in wide"),
        (bad_small_text, "text under 7 pt: 'x'"),
        (bad_clipped_errorbar, "error bar cut"),
    ],
)
def test_a_bad_figure_of_each_kind_is_caught(draw, needle):
    fig = draw()
    problems = check_figure(fig)
    plt.close(fig)
    assert any(needle in p for p in problems), problems


def test_save_checks_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv(CHECK_ENV, "1")
    with pytest.raises(ValueError, match=r"^figure bad\.png: .*<= 0 on a log axis"):
        save(bad_plunge(), tmp_path, "bad.png")
    assert not (tmp_path / "bad.png").exists()
    assert save(good_figure(), tmp_path, "good.png") == "good.png"
    monkeypatch.setenv(CHECK_ENV, "0")
    assert save(bad_plunge(), tmp_path, "bad.png") == "bad.png"  # unchecked unless asked


def test_letters_replace_a_letter_once():
    fig, axes = plt.subplots(1, 3)
    axes[0].set_title("(a) first")
    axes[1].set_title("second")
    letter_panels(axes, letters=["b1", "b2", "b3"])
    assert [a.get_title() for a in axes] == ["(b1) first", "(b2) second", "(b3)"]
    with pytest.raises(ValueError, match="letters"):
        letter_panels(axes, letters=["a"])
    plt.close(fig)


def test_floor_is_a_decade_below_the_smallest_positive_value():
    assert floor_below([0.0, 3e-4, 0.2]) == pytest.approx(1e-5)
    assert floor_below([0.0, np.nan]) == 1e-12
    styles = [tuple(sorted(series(k).items())) for k in range(56)]
    assert len(set(styles)) == 56  # colour, marker and line style repeat only after 56 series


def _drawn_titles(monkeypatch, draw) -> list[str]:
    """The axes titles of the figures ``draw()`` saves (save replaced by a recorder)."""
    import simulations.plots.memorization as memorization

    titles = []

    def record(fig, folder, name):
        assert check_figure(fig) == []
        titles.extend(ax.get_title() for ax in fig.axes)
        plt.close(fig)
        return name

    monkeypatch.setattr(memorization, "save", record)
    draw(memorization)
    return titles


def _removal_results(diff: float, se: float) -> dict:
    acc = {"mean": 0.6, "se": 0.01, "count": 3}
    rows = []
    for t, frac in ((0.25, 0.4), (0.5, 0.1)):
        minus = {"mean": diff, "se": se, "count": 3}
        rows.append(
            {
                "kind": "memorized",
                "threshold": t,
                "fraction_removed": frac,
                "accuracy": acc,
                "minus_random": minus,
            }
        )
        rows.append({"kind": "random", "threshold": t, "fraction_removed": frac, "accuracy": acc})
    return {"dataset": "toy", "full": acc, "conditions": rows}


@pytest.mark.parametrize(("diff", "se", "resolved"), [(0.01, 0.006, False), (0.03, 0.006, True)])
def test_removal_says_when_the_difference_is_not_resolved(monkeypatch, diff, se, resolved):
    # 0.01 is 1.7 SE (within 2 SE: not resolved); 0.03 is 5 SE
    titles = _drawn_titles(monkeypatch, lambda m: m.removal_figure(_removal_results(diff, se), "unused"))
    said = any("not resolved at this size" in t for t in titles)
    assert said is not resolved


@pytest.mark.parametrize(("pairs", "resolved"), [(0.50, False), (0.40, True)])
def test_marginal_utility_says_when_the_difference_is_not_resolved(monkeypatch, pairs, resolved):
    # influenced test examples: random 0.55 ± 0.02, pairs removed 0.50 ± 0.02 (1.8 SE) or 0.40 (5.3 SE)
    def group(m):
        return {"all_test": {"mean": 0.6, "se": 0.01}, "influenced_test": {"mean": m, "se": 0.02}}

    mu = {"full": group(0.55), "random_removed": group(0.55), "pairs_removed": group(pairs)}
    results = {"dataset": "toy", "classes": [], "marginal_utility": mu}
    arrays = {"pair_train_x": np.zeros((0, 4))}
    titles = _drawn_titles(monkeypatch, lambda m: m.influence_figures(results, arrays, "unused"))
    assert any("not resolved at this size" in t for t in titles) is not resolved


def test_coinciding_groups_the_curves_a_reader_cannot_see():
    a = np.array([0.1, 0.5, np.nan, 0.9])
    curves = {"a": a, "b": a + 0.004, "c": a + 0.05, "d": np.array([0.1, 0.5, 0.2, 0.9])}
    # d equals a wherever a is finite; c is 0.05 away
    assert coinciding(curves, tol=0.01) == [["a", "b", "d"]]
    assert coinciding(curves, tol=0.001) == [["a", "d"]]


def test_feldman_bound_figures_of_an_old_folder_are_refused_in_one_line(tmp_path):
    # folders written before the experiment saved its theory on fine grids (issue 20)
    from simulations.plots.feldman import feldman_bound_figures

    with pytest.raises(ValueError, match=r"lacks theory_gamma_grid, .*re-run the experiment"):
        feldman_bound_figures({}, {"bin_edges": np.ones(3)}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_separate_labels_keeps_labels_off_each_other_and_off_other_points():
    # two settings close together, both labelled to their left (as gaussian-tail's figure (b) does):
    # the second label first lands on the first point and its label; it is moved to a free place
    fig, ax = plt.subplots(figsize=(5, 4))
    pts = [(0.066, 0.155), (0.093, 0.149)]
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o")
    ax.set_xlim(0, 0.35)
    ax.set_ylim(0, 0.35)
    labels = [ax.annotate(name, p, xytext=(-6, 4), textcoords="offset points", ha="right", va="bottom")
              for name, p in zip(("k=9", "lam=30"), pts, strict=True)]  # fmt: skip
    renderer = (fig.canvas.draw(), fig.canvas.get_renderer())[1]
    boxes = [a.get_window_extent(renderer) for a in labels]
    assert boxes[0].overlaps(boxes[1])  # the clash this helper is for
    separate_labels(ax, labels)
    boxes = [a.get_window_extent(renderer) for a in labels]
    assert not boxes[0].overlaps(boxes[1])
    for k, box in enumerate(boxes):
        assert not box.contains(*ax.transData.transform(pts[1 - k]))
    assert check_figure(fig, draw=False) == []
    plt.close(fig)
