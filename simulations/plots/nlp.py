"""Figures (and the attribution HTML page) of the NLP experiments, drawn from saved results."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib
import numpy as np

from simulations.plots.common import plt, save
from simulations.plots.style import COLORS, errorbar, legend_outside, letter_panels, note
from simulations.results import atomic_write_text

__all__ = ["memorization_figures", "removal_figure", "attribution_figures", "attribution_html"]

# Zheng & Jiang (2022), docs/references.md §5 [exact]: SST-2 test accuracy (%) after removal
PAPER_REMOVAL = {"full": 88.33, "memorized": {10: 87.52, 50: 86.44}, "random": {10: 88.08, 50: 87.20}}
PAPER_FAITHFULNESS = {"top": 68.4, "random": 48.0}  # % of the score removed by masking 10% of tokens


def memorization_figures(results: dict, arrays: dict, folder) -> list[str]:
    """Influence scores against subsampled estimates (ranks), their histogram, and label agreement
    of nearest neighbours by decile of the influence score."""
    mif, mp, agree = arrays["mem_if"], arrays["mem_prob"], arrays["label_agreement"]
    ok = np.isfinite(mp)
    fig = plt.figure(figsize=(10.5, 7.6))
    axd = fig.subplot_mosaic([["rank", "hist"], ["agree", "agree"]])
    a1, a2, a3 = axd["rank"], axd["hist"], axd["agree"]
    rank = lambda v: np.argsort(np.argsort(v)) / (len(v) - 1)  # noqa: E731
    a1.scatter(rank(mif[ok]), rank(mp[ok]), s=4, alpha=0.4, color=COLORS[0])
    rho = results["agreement"]["if_vs_subsampled_prob"]
    a1.set_xlabel("rank of mem_IF (influence function, exact Hessian), 0 to 1")
    a1.set_ylabel("rank of the subsampled mem of P(y|x), 0 to 1")
    a1.set_title(f"Two estimates, one point per sentence\nSpearman {rho['rho']:.3f} [{rho['ci95'][0]:.3f}, "
                 f"{rho['ci95'][1]:.3f}] (95% CI)")  # fmt: skip
    a2.hist(mif[np.isfinite(mif)], bins=60, color=COLORS[3])
    a2.set_yscale("log")
    a2.set_xlabel("mem_IF = P(y_i|x_i) - P(y_i|x_i; without i), first order")
    a2.set_ylabel("sentences per bin")
    a2.set_title("Distribution of mem_IF")
    order = np.argsort(mif)
    deciles = np.array_split(order, 10)
    means = [agree[d].mean() for d in deciles]
    ses = [agree[d].std(ddof=1) / np.sqrt(len(d)) for d in deciles]
    errorbar(a3, np.arange(1, 11), means, 2 * np.array(ses), marker="o", color=COLORS[0])
    a3.set_xticks(np.arange(1, 11))
    a3.set_xlabel("decile of mem_IF (10 = most memorized)")
    a3.set_ylabel(
        f"label agreement of the {results['atypicality']['neighbours']}\nnearest sentences (± 2 SE)"
    )
    a3.set_title("Atypicality: do the nearest sentences share the label?")
    for ax in (a1, a2, a3):
        ax.grid(alpha=0.3)
    letter_panels([a1, a2, a3])
    fig.suptitle(f"SST-2, {results['n_train']:,} training sentences: memorization scores")
    return [save(fig, folder, "nlp_memorization.png")]


def removal_figure(results: dict, folder) -> list[str]:
    """Dev accuracy after removing the top-memorized X% against a random X%, beside the paper's numbers."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.6), sharex=True)
    rows = results["conditions"]
    full = results["full"]
    for k, kind in enumerate(("memorized", "random")):
        st = {"color": COLORS[1 - k], "marker": "os"[k]}
        pts = [r for r in rows if r["kind"] == kind]
        x = [100 * r["fraction"] for r in pts]
        y = [100 * r["accuracy"]["mean"] for r in pts]
        err = [200 * r["accuracy"]["se"] for r in pts]
        errorbar(a1, x, y, err, ls="-", label=f"{kind} removed (ours, ± 2 SE)", **st)
        px = sorted(PAPER_REMOVAL[kind])
        paper = [PAPER_REMOVAL[kind][k] for k in px]  # published at 10% and 50% only: no line between
        a2.plot(px, paper, ls="none", ms=8, mfc="white", label=f"{kind} removed (paper)", **st)
    a1.axhline(
        100 * full["mean"], color="black", ls=":", label=f"nothing removed, ours ({100 * full['mean']:.2f}%)"
    )
    a2.axhline(PAPER_REMOVAL["full"], color="0.4", ls="--",
               label=f"nothing removed, paper ({PAPER_REMOVAL['full']}%)")  # fmt: skip
    a1.set_title(f"Ours: frozen MiniLM + attention head\nSST-2 dev ({results['n_dev']} sentences)")
    a2.set_title("Zheng & Jiang (2022): DistilBERT layers 4-5 trained\nSST-2 test")
    for ax in (a1, a2):
        ax.set_xlabel("training sentences removed (%)")
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
    letter_panels([a1, a2])
    mem = [r for r in rows if r["kind"] == "memorized" and "minus_random" in r]
    told = [r for r in mem if abs(r["minus_random"]["mean"]) > 2 * r["minus_random"]["se"]]
    if mem and not told:
        note(a1, "not resolved at this size: memorized - random within 2 SE at every fraction")
    legend_outside(fig, below=True, ncol=3)
    return [save(fig, folder, "nlp_removal.png")]


def attribution_figures(results: dict, arrays: dict, folder) -> list[str]:
    """Share of the score removed by masking the top attributed against random tokens (with the
    paper's numbers), and the completeness gap of integrated gradients."""
    f = results["faithfulness"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.4))
    ours = [100 * f["top"]["mean"], 100 * f["random"]["mean"]]
    err = [200 * f["top"]["se"], 200 * f["random"]["se"]]
    a1.bar(
        [0, 1],
        ours,
        yerr=err,
        color=[COLORS[1], COLORS[0]],
        label=f"ours (± 2 SE, {f['sentences']} sentences)",
    )
    paper = [PAPER_FAITHFULNESS["top"], PAPER_FAITHFULNESS["random"]]
    a1.bar([2.5, 3.5], paper, color=[COLORS[1], COLORS[0]], alpha=0.45, hatch="//", edgecolor="black", lw=0.5,
           label="paper (SST-2)")  # fmt: skip
    a1.set_xticks(
        [0, 1, 2.5, 3.5], ["top 10%\n(ours)", "random\n(ours)", "top 10%\n(paper)", "random\n(paper)"]
    )
    a1.set_ylabel("share of the memorization score removed\nby masking 10% of the tokens (%)")
    a1.set_title("Faithfulness of the attribution")
    a1.set_ylim(0, 100)
    gap = arrays["completeness_gap"]
    gap = gap[np.isfinite(gap) & (gap > 0)]
    a2.hist(np.log10(gap), bins=int(np.clip(gap.size // 2, 10, 40)), color=COLORS[2])
    a2.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    a2.set_xlabel("log10 |sum of attributions - (f(x) - f(baseline))| / |f(x) - f(baseline)|")
    a2.set_ylabel("sentences per bin")
    a2.set_title(f"Completeness, {results['steps']} steps (midpoint rule)")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    letter_panels([a1, a2])
    legend_outside(fig, below=True, ncol=2)
    return [save(fig, folder, "nlp_attribution.png")]


def _colour(v: float, vmax: float) -> str:
    t = 0.0 if vmax <= 0 else max(-1.0, min(1.0, v / vmax))
    if t >= 0:
        return f"rgba(214, 39, 40, {0.85 * t:.3f})"
    return f"rgba(31, 119, 180, {0.85 * -t:.3f})"


def attribution_html(results: dict, folder) -> str:
    """``attribution.html``: the analysed sentences with each word piece shaded by its attribution
    (red: raises the memorization score, blue: lowers it); all text escaped."""
    rows = []
    for ex in results["examples"]:
        attr = np.asarray(ex["attributions"], dtype=float)
        vmax = float(np.abs(attr).max()) if attr.size else 0.0
        toks = "".join(
            f'<span style="background:{_colour(a, vmax)}" title="{a:.3g}">{html.escape(t)}</span> '
            for t, a in zip(ex["tokens"], attr, strict=True)
        )
        rows.append(
            f"<tr><td>{ex['rank']}</td><td>{ex['label']}</td><td>{ex['mem_if']:.4f}</td>"
            f"<td>{ex['prob']:.3f}</td><td>{toks}</td></tr>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>SST-2 memorization attribution</title>"
        "<style>body{font-family:sans-serif} td{padding:4px;vertical-align:top} span{padding:1px}</style>"
        "</head><body><h1>Integrated-gradient attribution of the memorization score</h1>"
        f"<p>{html.escape(results['note'])}</p><table><tr><th>rank</th><th>label</th><th>mem_IF</th>"
        "<th>P(y|x)</th><th>word pieces</th></tr>" + "".join(rows) + "</table></body></html>\n"
    )
    atomic_write_text(Path(folder) / "attribution.html", page)
    return "attribution.html"
