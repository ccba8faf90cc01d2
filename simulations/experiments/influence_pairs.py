r"""Experiment ``influence-pairs``: high-influence train/test pairs and their marginal utility.

From the t subset models' correctness on the test split (docs/references.md §2.1),
:math:`\widetilde{\mathrm{infl}}(i, j)` for every training example i and test example j is kept
for the ``top`` most influential i of each j; a pair is *high-influence* when
:math:`\widetilde{\mathrm{mem}}(i) \ge 0.25`, :math:`\widetilde{\mathrm{infl}}(i, j) \ge 0.15` and
both have the same label (Feldman & Zhang 2020, §2.2). Noise alone produces such pairs when the
standard errors are large, so the expected number of false pairs (every true influence 0,
normal approximation, summed over all same-class candidates) is reported beside the count.

Marginal utility: R models on the whole training split, R without the training examples of the
pairs, R without as many random ones; accuracy on all test examples and on the influenced ones
(F&Z on CIFAR-100: 72.14% -> 45.38% on the 888 influenced test examples).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from simulations.estimators import influence, influence_top_k, memorization
from simulations.experiment import Context, experiment
from simulations.experiments.memorization import QUICK, mean_se, summary_of_run
from simulations.markdown import table
from simulations.stats import FEW_EXAMPLES, FEW_NOTE, beyond_noise, pm, pm_percent
from simulations.training.problem import SubsetTraining, started, stream, train_models
from theory._validate import check_finite, check_int

__all__ = ["InfluencePairs", "run", "report", "pairs_from_top_k", "expected_false_pairs"]


@dataclass(frozen=True)
class InfluencePairs(SubsetTraining):
    """High-influence pairs (mem >= 0.25, infl >= 0.15, same class) and their marginal utility."""

    mem_threshold: float = 0.25
    infl_threshold: float = 0.15
    top: int = 10  # most influential training examples kept per test example
    retrain_models: int = 16  # R models per marginal-utility condition
    shown: int = 8  # pairs drawn in the figure

    def __post_init__(self):
        super().__post_init__()
        check_finite("mem_threshold", self.mem_threshold, low=-1.0, high=1.0)
        check_finite("infl_threshold", self.infl_threshold, low=-1.0, high=1.0)
        check_int("top", self.top, low=1)
        check_int("retrain_models", self.retrain_models, low=2)
        check_int("shown", self.shown, low=1, high=64)


def pairs_from_top_k(idx, val, err, mem, y_train, y_test, *, mem_threshold, infl_threshold):
    """High-influence pairs among the top-k lists: (pairs (p, 2) as (train i, test j), infl, se),
    sorted by decreasing influence, and the number of test examples whose whole top-k list passed
    the influence threshold (their lists may be cut short: raise ``top``)."""
    k, top = idx.shape
    j = np.repeat(np.arange(k), top)
    i, v, s = idx.ravel(), val.ravel(), err.ravel()
    ok = (v >= infl_threshold) & (np.nan_to_num(mem[i], nan=-np.inf) >= mem_threshold)
    ok &= y_train[i] == y_test[j]
    order = np.argsort(-v[ok], kind="stable")
    full = int((val[:, -1] >= infl_threshold).sum())
    return np.stack([i[ok][order], j[ok][order]], axis=1), v[ok][order], s[ok][order], full


def expected_false_pairs(
    correct_test, masks, mem, y_train, y_test, *, mem_threshold, infl_threshold
) -> float:
    r"""Expected number of pairs passing the thresholds if every true influence were 0:
    :math:`\sum P(Z \ge \theta / se_{ij})` over same-class (i, j) with mem~(i) >= mem_threshold
    (normal approximation to each estimate's error)."""
    rows = np.flatnonzero(np.nan_to_num(mem, nan=-np.inf) >= mem_threshold)
    total = 0.0
    for a in range(0, correct_test.shape[1], 256):
        _, se = influence(correct_test[:, a : a + 256], masks[:, rows])
        same = y_train[rows][:, None] == y_test[None, a : a + 256]
        with np.errstate(divide="ignore"):
            total += float(scipy.stats.norm.sf(infl_threshold / se[same]).sum())
    return total


def _acc(correct: np.ndarray, R: int, cols=None) -> list[dict]:
    c = correct if cols is None else correct[:, cols]
    return [mean_se(a) for a in c.mean(axis=1).reshape(-1, R)]


EXPERIMENT = experiment(
    "influence-pairs",
    "High-influence pairs and their marginal utility (Feldman & Zhang)",
    config=InfluencePairs,
    quick={**QUICK, "retrain_models": 3},
    plot="simulations.plots.memorization:influence_figures",
)


@EXPERIMENT.run
def run(cfg: InfluencePairs, ctx: Context | None = None) -> tuple[dict, dict]:
    workdir, sr = started(cfg, ctx, ("retraining",))
    p = sr.problem
    mem = memorization(sr.correct_train, sr.masks)
    top = min(cfg.top, p.n)
    idx, val, err = influence_top_k(sr.correct_test, sr.masks, top=top)
    pairs, infl, se, cut = pairs_from_top_k(
        idx, val, err, mem.value, p.y_train, p.y_test,
        mem_threshold=cfg.mem_threshold, infl_threshold=cfg.infl_threshold,
    )  # fmt: skip
    false = expected_false_pairs(
        sr.correct_test, sr.masks, mem.value, p.y_train, p.y_test,
        mem_threshold=cfg.mem_threshold, infl_threshold=cfg.infl_threshold,
    )  # fmt: skip
    tests, counts = np.unique(pairs[:, 1], return_counts=True)
    trains = np.unique(pairs[:, 0])
    res = {
        **summary_of_run(cfg, sr),
        "thresholds": {"mem": cfg.mem_threshold, "infl": cfg.infl_threshold, "top": top},
        "pairs": int(len(pairs)),
        "pairs_significant": int((infl - 2 * se > 0).sum()),
        "expected_false_pairs": false,
        "test_examples_influenced": int(tests.size),
        "test_examples_with_one_pair": int((counts == 1).sum()),
        "train_examples_in_pairs": int(trains.size),
        "test_examples_with_full_top_list": cut,
        "classes": list(p.data.classes),
        "table": [
            {
                "train": int(p.train_index[i]),
                "test": int(p.test_index[j]),
                "label": p.data.classes[p.y_train[i]],
                "mem": float(mem.value[i]),
                "mem_se": float(mem.se[i]),
                "infl": float(v),
                "infl_se": float(s),
            }
            for (i, j), v, s in zip(pairs[:20], infl[:20], se[:20], strict=True)
        ],
    }
    shown = pairs[: cfg.shown]
    arrays = {
        "pairs": pairs,
        "pair_infl": infl,
        "pair_se": se,
        "mem": mem.value,
        "y_train": p.y_train,
        "pair_train_x": p.data.x_train[p.train_index[shown[:, 0]]],
        "pair_test_x": p.data.x_test[p.test_index[shown[:, 1]]],
    }
    if len(pairs):
        R = cfg.retrain_models
        rng = np.random.default_rng(stream(cfg, "retraining"))
        keep = np.ones((3 * R, p.n), dtype=bool)
        keep[R : 2 * R, trains] = False
        for r in range(R):
            keep[2 * R + r, rng.choice(p.n, size=trains.size, replace=False)] = False
        seeds = np.tile(rng.integers(0, 2**62, size=R), 3)
        key = {"mem_threshold": cfg.mem_threshold, "infl_threshold": cfg.infl_threshold, "top": top, "R": R}
        _, cs, folder, trained, secs = train_models(cfg, p, workdir, keep, seeds, name="pairs", key=key)
        names = ["full", "pairs_removed", "random_removed"]
        everything, influenced = _acc(cs, R), _acc(cs, R, tests)
        res["marginal_utility"] = {
            name: {"all_test": a, "influenced_test": b}
            for name, a, b in zip(names, everything, influenced, strict=True)
        }
        res["marginal_utility"].update({"retrain_models": R, "store": folder, "retrained_now": trained})
        arrays["retrain_accuracy"] = cs.mean(axis=1)
    return res, arrays


@EXPERIMENT.report
def report(results: dict, cfg: InfluencePairs) -> str:
    z, verdict = beyond_noise(results["pairs_significant"], results["expected_false_pairs"])
    lines = [
        f"{results['dataset']}: t = {results['models']:,} models `{results['model']}` at ratio "
        f"{results['ratio']:g}; test accuracy {100 * results['test_accuracy']['mean']:.2f}%.",
        f"Data: {results['data_note']}.",
        "",
        f"High-influence pairs (mem~ >= {results['thresholds']['mem']:g}, infl~ >= "
        f"{results['thresholds']['infl']:g}, same class): **{results['pairs']:,}** over "
        f"{results['test_examples_influenced']:,} test examples "
        f"({results['test_examples_with_one_pair']:,} influenced by exactly one training example), "
        f"{results['train_examples_in_pairs']:,} distinct training examples; "
        f"{results['pairs_significant']:,} have infl~ - 2 SE > 0. If every true influence were 0, about "
        f"{results['expected_false_pairs']:.3g} pairs would pass by noise alone: the "
        f"{results['pairs_significant']:,} are {verdict} (Poisson z = {z:+.1f}).",
        "",
    ]
    if results["table"]:
        lines += table(
            ["train", "test", "label", "mem~ ± SE", "infl~ ± SE"],
            (
                [r["train"], r["test"], r["label"], pm({"mean": r["mem"], "se": r["mem_se"]}),
                 pm({"mean": r["infl"], "se": r["infl_se"]})]
                for r in results["table"]
            ),
        )  # fmt: skip
    mu = results.get("marginal_utility")
    if mu:
        few = results["test_examples_influenced"] < FEW_EXAMPLES
        lines += [
            "",
            f"Marginal utility (R = {mu['retrain_models']} models per condition, whole training split):",
            "",
            *table(
                ["condition", "all test (%)", f"influenced test examples (%){' ‡' if few else ''}"],
                (
                    [name.replace("_", " "), pm_percent(mu[name]["all_test"]),
                     pm_percent(mu[name]["influenced_test"])]
                    for name in ("full", "random_removed", "pairs_removed")
                ),
            ),
        ]  # fmt: skip
        if few:
            lines += ["", FEW_NOTE]
    lines.append("")
    return "\n".join(lines)
