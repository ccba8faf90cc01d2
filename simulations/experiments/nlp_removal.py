r"""Experiment ``nlp-removal``: removing the most memorized SST-2 sentences against random ones.

Zheng & Jiang (2022, docs/references.md §5): removing the top-memorized X% of the training
sentences lowers test accuracy more than removing a random X% (SST-2: 88.33 with nothing
removed; 87.52 vs 88.08 at 10%, 86.44 vs 87.20 at 50%). Here: the sentences are ranked by the
influence score :math:`\mathrm{mem}_{IF}` of :mod:`simulations.experiments.nlp_memorization`
(same head, same recipe), the top X% or a random X% (a new draw per seed) are removed, and R heads
per condition are retrained from scratch and scored on the dev split (GLUE hides the test
labels). Seed r's heads of every condition share their initialisation and data order (common
random numbers), so memorized-minus-random has a paired standard error over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.experiment import Context, experiment
from simulations.experiments.memorization import mean_se
from simulations.experiments.removal import removal_table
from simulations.nlp.problem import (
    NLPTraining,
    heads_through_store,
    nlp_unavailable,
    started,
    stream,
)
from simulations.stats import pm_percent
from theory._validate import check_finite, check_int

__all__ = ["NLPRemoval", "run", "report", "plot", "removal_masks"]

PAPER = {"full": 88.33, "memorized": {0.1: 87.52, 0.5: 86.44}, "random": {0.1: 88.08, 0.5: 87.20}}


@dataclass(frozen=True)
class NLPRemoval(NLPTraining):
    """Dev accuracy after removing the top-memorized X% of the training sentences, against a random X%."""

    fractions: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)  # X
    retrain_seeds: int = 5  # R heads per condition

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.fractions, tuple) or not self.fractions:
            raise ValueError(f"fractions must be a non-empty tuple; got {self.fractions!r}")
        for f in self.fractions:
            check_finite("fractions entry", f, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int("retrain_seeds", self.retrain_seeds, low=2)


QUICK = {"train_size": 300, "dev_size": 200, "epochs": 3, "fractions": (0.1, 0.5), "retrain_seeds": 3}


def removal_masks(score: np.ndarray, fractions, R: int, rng: np.random.Generator):
    """Keep-masks (R * C, n), seed-major (row r * C + c is seed r, condition c), and the C
    conditions: full, then per fraction X the top round(X n) by ``score`` removed and a random
    round(X n) removed (a fresh draw per seed)."""
    n = score.size
    order = np.argsort(-score, kind="stable")
    conds = [{"kind": "full", "fraction": 0.0, "removed": 0}]
    for f in fractions:
        k = int(round(f * n))
        if not 0 < k < n:
            raise ValueError(f"fractions: {f:g} of n = {n} removes {k} sentences; need 0 < removed < n")
        conds += [
            {"kind": "memorized", "fraction": float(f), "removed": k},
            {"kind": "random", "fraction": float(f), "removed": k},
        ]
    keep = np.ones((R, len(conds), n), dtype=bool)
    for c, cond in enumerate(conds):
        if cond["kind"] == "memorized":
            keep[:, c, order[: cond["removed"]]] = False
        elif cond["kind"] == "random":
            for r in range(R):
                keep[r, c, rng.choice(n, size=cond["removed"], replace=False)] = False
    return keep.reshape(R * len(conds), n), conds


EXPERIMENT = experiment(
    "nlp-removal",
    "Removing the most memorized SST-2 sentences against random ones (Zheng & Jiang)",
    config=NLPRemoval,
    quick=QUICK,
)
EXPERIMENT.unavailable(nlp_unavailable)


@EXPERIMENT.run
def run(cfg: NLPRemoval, ctx: Context | None = None) -> tuple[dict, dict]:
    with started(cfg, ctx, ("removal",)) as (prob, full):
        rng = np.random.default_rng(stream(cfg, "removal"))
        R = cfg.retrain_seeds
        keep, conds = removal_masks(full["mem_if"], cfg.fractions, R, rng)
        C = len(conds)
        seeds = np.repeat(rng.integers(0, 2**62, size=R), C)  # one group per seed: shared init and order
        key = {"fractions": list(cfg.fractions), "retrain_seeds": R}
        _, pd, folder, trained, secs = heads_through_store(
            cfg, prob, keep, seeds, name="removal", key=key, models_per_batch=C
        )
    acc = (pd > 0.5).mean(1).reshape(R, C).T  # (C, R)
    rows = [{**c, "accuracy": mean_se(a), "per_seed": a.tolist()} for c, a in zip(conds, acc, strict=True)]
    for i in range(1, C, 2):
        rows[i]["minus_random"] = mean_se(acc[i] - acc[i + 1])
        rows[i]["minus_full"] = mean_se(acc[i] - acc[0])
        rows[i + 1]["minus_full"] = mean_se(acc[i + 1] - acc[0])
    res = {
        "data_note": prob.data.note,
        "n_train": prob.n,
        "n_dev": int(len(prob.y_dev)),
        "encoder": prob.encoder.fingerprint,
        "head": repr(prob.spec),
        "score": "mem_IF (influence function, exact Hessian)",
        "retrain_seeds": R,
        "store": folder,
        "trained_now": trained,
        "train_seconds": secs,
        "full": rows[0]["accuracy"],
        "conditions": rows[1:],
        "paper": {
            "full": PAPER["full"],
            "memorized": {f"{k:g}": v for k, v in PAPER["memorized"].items()},
            "random": {f"{k:g}": v for k, v in PAPER["random"].items()},
            "note": "Zheng & Jiang (2022), SST-2 test accuracy (%), docs/references.md §5",
        },
    }
    return res, {"mem_if": full["mem_if"], "dev_accuracy": acc}


@EXPERIMENT.report
def report(results: dict, cfg: NLPRemoval) -> str:
    f = results["full"]
    lines = [
        f"SST-2: {results['data_note']}. Sentences ranked by {results['score']}; "
        f"R = {results['retrain_seeds']} heads `{results['head']}` per condition, retrained from scratch. "
        "Dev accuracy with nothing removed: "
        f"{pm_percent(f)}% (paper, test: {results['paper']['full']}%).",
        "",
    ]
    paper = results["paper"]

    def published(m: dict) -> list[str]:
        key = f"{m['fraction']:g}"
        pm, pr = paper["memorized"].get(key), paper["random"].get(key)
        return [f"{pm} / {pr}" if pm is not None else "-"]

    lines += removal_table(
        ["removed", "sentences", "acc. top-memorized removed (%)", "acc. random removed (%)",
         "memorized - random (pp, paired)", "paper: memorized / random (%)"],
        results["conditions"], lambda m: [f"{100 * m['fraction']:.0f}%"], tail=published,
    )  # fmt: skip
    lines.append("")
    return "\n".join(lines)


@EXPERIMENT.plot
def plot(results: dict, arrays: dict, folder) -> list[str]:
    from simulations.plots.nlp import removal_figure

    return removal_figure(results, folder)
