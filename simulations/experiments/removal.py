r"""Experiment ``removal``: does removing memorized examples hurt more than removing random ones?

The protocol of Feldman & Zhang (2020), Figure 2 (docs/references.md §2.2): estimate mem~ from
t subset models (:mod:`simulations.experiments.memorization`); for each threshold
:math:`\theta`, remove the K examples with :math:`\widetilde{\mathrm{mem}} \ge \theta` from the
whole training split, or K random examples instead; train R models on what is left (and R on
the whole split); compare test accuracy. Model r of every condition uses the same seed r
(common random numbers), so the memorized-minus-random difference has a paired standard error.

The retrained models go through a model store too, so a killed run resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.estimators import memorization
from simulations.experiment import Context, experiment
from simulations.experiments.memorization import QUICK, mean_se, summary_of_run
from simulations.markdown import table
from simulations.stats import FEW_EXAMPLES, FEW_NOTE, pm_percent
from simulations.training.problem import SubsetTraining, started, stream, train_models
from theory._validate import check_finite, check_int

__all__ = ["Removal", "run", "report", "plot", "removal_conditions"]


@dataclass(frozen=True)
class Removal(SubsetTraining):
    """Test accuracy after removing the examples with mem~ >= threshold, against random removal."""

    thresholds: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
    retrain_models: int = 16  # R models per condition

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.thresholds, tuple) or not self.thresholds:
            raise ValueError(f"thresholds must be a non-empty tuple; got {self.thresholds!r}")
        for th in self.thresholds:
            check_finite("thresholds entry", th, low=-1.0, high=1.0)
        check_int("retrain_models", self.retrain_models, low=2)


def removal_conditions(mem: np.ndarray, thresholds, R: int, rng: np.random.Generator):
    """Keep-masks (c * R, n) of the conditions, in order: full, then per threshold memorized and
    random; and one dict per condition (kind, threshold, removed). Thresholds that remove nothing
    or everything are skipped (listed in the second return value)."""
    n = mem.size
    conds = [{"kind": "full", "threshold": None, "removed": 0}]
    keeps = [np.ones((R, n), dtype=bool)]
    skipped = []
    for th in thresholds:
        drop = np.nan_to_num(mem, nan=-np.inf) >= th
        k = int(drop.sum())
        if k == 0 or k == n:
            skipped.append(float(th))
            continue
        conds.append({"kind": "memorized", "threshold": float(th), "removed": k})
        keeps.append(np.broadcast_to(~drop, (R, n)).copy())
        conds.append({"kind": "random", "threshold": float(th), "removed": k})
        rand = np.ones((R, n), dtype=bool)
        for r in range(R):
            rand[r, rng.choice(n, size=k, replace=False)] = False
        keeps.append(rand)
    return np.concatenate(keeps), conds, skipped


EXPERIMENT = experiment(
    "removal",
    "Removing memorized examples against random ones (Feldman & Zhang, Figure 2)",
    config=Removal,
    quick={**QUICK, "retrain_models": 3},
)


@EXPERIMENT.run
def run(cfg: Removal, ctx: Context | None = None) -> tuple[dict, dict]:
    workdir, sr = started(cfg, ctx, ("retraining",))
    mem = memorization(sr.correct_train, sr.masks).value
    R = cfg.retrain_models
    rng = np.random.default_rng(stream(cfg, "retraining"))
    keep, conds, skipped = removal_conditions(mem, cfg.thresholds, R, rng)
    seeds = np.tile(rng.integers(0, 2**62, size=R), len(conds))
    key = {"thresholds": list(cfg.thresholds), "retrain_models": R}
    _, cs, folder, trained, seconds = train_models(
        cfg, sr.problem, workdir, keep, seeds, name="removal", key=key
    )
    acc = cs.mean(axis=1).reshape(len(conds), R)
    n = sr.problem.n
    rows = []
    for c, a in zip(conds, acc, strict=True):
        rows.append(
            {**c, "fraction_removed": c["removed"] / n, "accuracy": mean_se(a), "per_seed": a.tolist()}
        )
    full = rows[0]
    for i in range(1, len(rows), 2):
        mem_row, rand_row = rows[i], rows[i + 1]
        mem_row["minus_random"] = mean_se(acc[i] - acc[i + 1])  # paired over seeds
        mem_row["minus_full"] = mean_se(acc[i] - acc[0])
        rand_row["minus_full"] = mean_se(acc[i + 1] - acc[0])
    res = {
        **summary_of_run(cfg, sr),
        "retrain_models": R,
        "retrain_store": folder,
        "retrained_now": trained,
        "retrain_seconds": seconds,
        "full": full["accuracy"],
        "conditions": rows[1:],
        "skipped_thresholds": skipped,
    }
    return res, {"mem": mem, "retrain_accuracy": acc}


def removal_table(
    header: list[str], rows: list[dict], before, after=lambda m: [], tail=lambda m: []
) -> list[str]:
    """The table of a removal experiment's (memorized, random) condition pairs, one line per pair:
    ``before(m)`` cells, the count removed (marked ``‡`` under :data:`~simulations.stats.FEW_EXAMPLES`),
    ``after(m)`` cells, then the two accuracies and their paired difference, in percent rounded to
    their SE, then ``tail(m)`` cells; :data:`~simulations.stats.FEW_NOTE` below it where a row is marked."""
    pairs = list(zip(rows[::2], rows[1::2], strict=True))
    few = [m["removed"] < FEW_EXAMPLES for m, _ in pairs]
    lines = table(header, (
        [*before(m), f"{m['removed']:,}{' ‡' if f else ''}", *after(m), pm_percent(m["accuracy"]),
         pm_percent(r["accuracy"]), pm_percent(m["minus_random"], sign=True), *tail(m)]
        for (m, r), f in zip(pairs, few, strict=True)
    ))  # fmt: skip
    return lines + ["", FEW_NOTE] if any(few) else lines


@EXPERIMENT.report
def report(results: dict, cfg: Removal) -> str:
    f = results["full"]
    lines = [
        f"{results['dataset']}: mem~ from t = {results['models']:,} models `{results['model']}` at ratio "
        f"{results['ratio']:g}; then R = {results['retrain_models']} models per condition on the whole "
        f"training split ({results['n_train']:,}) minus the removed examples. Test accuracy with nothing "
        f"removed: {pm_percent(f)}%.",
        f"Data: {results['data_note']}.",
        "",
    ]
    lines += removal_table(
        ["threshold", "removed", "removed (%)", "acc. memorized removed (%)", "acc. random removed (%)",
         "memorized - random (pp, paired)"],
        results["conditions"], lambda m: [f"{m['threshold']:g}"],
        lambda m: [f"{100 * m['fraction_removed']:.1f}"],
    )  # fmt: skip
    if results["skipped_thresholds"]:
        lines.append(
            f"\nThresholds that remove nothing or everything, skipped: {results['skipped_thresholds']}."
        )
    lines.append("")
    return "\n".join(lines)


@EXPERIMENT.plot
def plot(results: dict, arrays: dict, folder) -> list[str]:
    from simulations.plots.memorization import removal_figure

    return removal_figure(results, folder)
