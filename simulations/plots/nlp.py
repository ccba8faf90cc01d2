"""Figures (and the attribution HTML page) of the NLP experiments, drawn from saved results."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from simulations.plots.common import plt, save
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
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.2))
    rank = lambda v: np.argsort(np.argsort(v)) / (len(v) - 1)  # noqa: E731
    a1.scatter(rank(mif[ok]), rank(mp[ok]), s=3, alpha=0.3)
    rho = results["agreement"]["if_vs_subsampled_prob"]
    a1.set_xlabel("rank of mem_IF (influence function, exact Hessian)")
    a1.set_ylabel("rank of subsampled mem of P(y|x)")
    a1.set_title(f"Spearman {rho['rho']:.3f} [{rho['ci95'][0]:.3f}, {rho['ci95'][1]:.3f}]")
    a2.hist(mif, bins=60, color="C3")
    a2.set_yscale("log")
    a2.set_xlabel("mem_IF = P(y_i|x_i) - P(y_i|x_i; without i), first order")
    a2.set_ylabel("sentences")
    order = np.argsort(mif)
    deciles = np.array_split(order, 10)
    means = [agree[d].mean() for d in deciles]
    ses = [agree[d].std(ddof=1) / np.sqrt(len(d)) for d in deciles]
    a3.errorbar(np.arange(1, 11), means, yerr=2 * np.array(ses), fmt="o-", capsize=3)
    a3.set_xlabel("decile of mem_IF (10 = most memorized)")
    a3.set_ylabel(f"label agreement of {results['atypicality']['neighbours']} nearest sentences (± 2 SE)")
    for ax in (a1, a2, a3):
        ax.grid(alpha=0.3)
    fig.suptitle(f"SST-2, {results['n_train']:,} training sentences: memorization scores")
    fig.tight_layout()
    return [save(fig, folder, "nlp_memorization.png")]


def removal_figure(results: dict, folder) -> list[str]:
    """Dev accuracy after removing the top-memorized X% against a random X%, beside the paper's numbers."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    rows = results["conditions"]
    full = results["full"]
    for kind, color in (("memorized", "C3"), ("random", "C0")):
        pts = [r for r in rows if r["kind"] == kind]
        x = [100 * r["fraction"] for r in pts]
        y = [100 * r["accuracy"]["mean"] for r in pts]
        err = [200 * r["accuracy"]["se"] for r in pts]
        a1.errorbar(x, y, yerr=err, fmt="o-", color=color, capsize=3, label=f"{kind} removed (ours, ± 2 SE)")
        px = sorted(PAPER_REMOVAL[kind])
        paper = [PAPER_REMOVAL[kind][k] for k in px]  # published at 10% and 50% only: no line between
        a2.plot(px, paper, "s", ms=8, color=color, label=f"{kind} removed (paper)")
    a1.axhline(100 * full["mean"], color="k", ls=":", label=f"nothing removed ({100 * full['mean']:.2f}%)")
    a2.axhline(PAPER_REMOVAL["full"], color="k", ls=":", label=f"nothing removed ({PAPER_REMOVAL['full']}%)")
    a1.set_title(f"ours: frozen MiniLM + attention head, SST-2 dev ({results['n_dev']} sentences)")
    a2.set_title("Zheng & Jiang (2022): DistilBERT layers 4-5 trained, SST-2 test")
    for ax in (a1, a2):
        ax.set_xlabel("training sentences removed (%)")
        ax.set_ylabel("accuracy (%)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return [save(fig, folder, "nlp_removal.png")]


def attribution_figures(results: dict, arrays: dict, folder) -> list[str]:
    """Share of the score removed by masking the top attributed against random tokens (with the
    paper's numbers), and the completeness gap of integrated gradients."""
    f = results["faithfulness"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ours = [100 * f["top"]["mean"], 100 * f["random"]["mean"]]
    err = [200 * f["top"]["se"], 200 * f["random"]["se"]]
    a1.bar([0, 1], ours, yerr=err, color=["C3", "C0"], capsize=4, label="ours (± 2 SE)")
    a1.bar(
        [2.5, 3.5],
        [PAPER_FAITHFULNESS["top"], PAPER_FAITHFULNESS["random"]],
        color=["C3", "C0"],
        alpha=0.4,
        hatch="//",
        label="paper (SST-2)",
    )
    a1.set_xticks(
        [0, 1, 2.5, 3.5], ["top 10%\n(ours)", "random\n(ours)", "top 10%\n(paper)", "random\n(paper)"]
    )
    a1.set_ylabel("score removed by masking (%)")
    a1.legend(fontsize=8)
    gap = arrays["completeness_gap"]
    gap = gap[np.isfinite(gap) & (gap > 0)]
    a2.hist(np.log10(gap), bins=40)
    a2.set_xlabel("log10 |sum of attributions - (f(x) - f(baseline))| / |f(x) - f(baseline)|")
    a2.set_ylabel("sentences")
    a2.set_title(f"completeness, {results['steps']} steps (midpoint rule)")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
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
