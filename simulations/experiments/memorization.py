r"""Experiment ``memorization``: subsampled mem~ of every training example (Feldman & Zhang 2020).

t models are trained on random subsets of ratio r (:mod:`simulations.training.problem`);
from their 0/1 correctness (docs/references.md §2.1)

.. math:: \widetilde{\mathrm{mem}}(i) = \hat P[h(x_i) = y_i \mid i \in I]
                                        - \hat P[h(x_i) = y_i \mid i \notin I]

with its standard error, and the held-out accuracy :math:`\hat P[h(x_i) = y_i \mid i \notin I]`
(the C-score at ratio r, docs/references.md §3). Reported: the distribution of mem~, the estimates
against their standard errors (and a split-half check that those errors are right), the most
and least memorized examples, mem~ against held-out accuracy, and on CIFAR-10 the Spearman
correlation of held-out accuracy and of mem~ with the released C-scores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from simulations.estimators import heldout_accuracy, memorization, spearman, split_half_z
from simulations.experiment import Context, experiment
from simulations.markdown import table
from simulations.stats import mean_se, pm
from simulations.training.problem import STREAMS, SubsetRun, SubsetTraining, subset_run
from theory._validate import check_finite, check_int

__all__ = ["Memorization", "run", "analyse", "report"]

THRESHOLDS = (0.25, 0.5, 0.75)
RIDGE_LAMBDA = 0.003  # one ridge head on patch features: the best of 0.003, 0.01, 0.03 on CIFAR-10 (docs)


@dataclass(frozen=True)
class Memorization(SubsetTraining):
    """Per-example memorization estimates from t subset models."""

    grid: int = 12  # examples shown in each of the most / least memorized grids
    heldout_ratios: tuple[float, ...] = ()  # more ratios for a C-score proxy (models trained per ratio)

    def __post_init__(self):
        super().__post_init__()
        check_int("grid", self.grid, low=1, high=100)
        if not isinstance(self.heldout_ratios, tuple):
            raise ValueError(f"heldout_ratios must be a tuple; got {self.heldout_ratios!r}")
        for r in self.heldout_ratios:
            check_finite("heldout_ratios entry", r, low=0.0, high=1.0, low_open=True, high_open=True)


QUICK = {"models": 64, "epochs": 15, "models_per_batch": 32}


def summary_of_run(cfg: SubsetTraining, sr: SubsetRun) -> dict:
    """What every subset-model experiment reports about its models and data."""
    p = sr.problem
    in_acc = (sr.correct_train * sr.masks).sum(1) / sr.masks.sum(1)
    return {
        "dataset": cfg.dataset,
        "data_note": p.data.note,
        "n_train": p.n,
        "n_test": int(len(p.y_test)),
        "models": cfg.models,
        "ratio": cfg.ratio,
        "model": repr(p.spec),
        "store": sr.store,
        "trained_now": sr.trained_now,
        "train_seconds": sr.train_seconds,
        "models_per_second": sr.trained_now / sr.train_seconds if sr.trained_now else None,
        "test_accuracy": mean_se(sr.correct_test.mean(axis=1)),
        "train_accuracy_in_subset": mean_se(in_acc),
    }


def analyse(cfg: Memorization, sr: SubsetRun, cscores: np.ndarray | None = None) -> tuple[dict, dict]:
    """mem~, held-out accuracy and their checks from a finished subset run; on CIFAR-10 also their
    Spearman correlations with the released C-scores ``cscores`` (official order, all 50,000)."""
    p = sr.problem
    mem = memorization(sr.correct_train, sr.masks)
    held = heldout_accuracy(sr.correct_train, sr.masks)
    r, t = cfg.ratio, cfg.models
    z = split_half_z(sr.correct_train, sr.masks, rng=np.random.default_rng(cfg.seed))
    zf = z[np.isfinite(z)]
    # most memorized: highest lower bound mem~ - 2 SE; least: lowest upper bound mem~ + 2 SE
    # (ranking by mem~ alone would pick the noisiest estimates at both ends)
    top = np.argsort(-np.nan_to_num(mem.value - 2 * mem.se, nan=-np.inf), kind="stable")[: cfg.grid]
    bottom = np.argsort(np.nan_to_num(mem.value + 2 * mem.se, nan=np.inf), kind="stable")[: cfg.grid]
    res = {
        **summary_of_run(cfg, sr),
        "mem": {
            "mean": float(np.nanmean(mem.value)),
            "quantiles": {f"{q:g}": float(np.nanquantile(mem.value, q)) for q in (0.5, 0.9, 0.99)},
            "at_least": {f"{th:g}": int((mem.value >= th).sum()) for th in THRESHOLDS},
            "se_median": float(np.nanmedian(mem.se)),
            "se_max": float(np.nanmax(mem.se)),
            "se_bound_bernoulli": float(np.sqrt(1 / (4 * r * t) + 1 / (4 * (1 - r) * t))),
            "by_class": [  # None for a class absent from a small train_size
                float(np.nanmean(mem.value[p.y_train == c])) if (p.y_train == c).any() else None
                for c in range(len(p.data.classes))
            ],
        },
        "split_half": {
            "z_mean": float(zf.mean()),
            "z_std": float(zf.std(ddof=1)),
            "fraction_abs_z_above_2": float((np.abs(zf) > 2).mean()),
            "examples": int(zf.size),
        },
        "heldout_accuracy": {
            "mean": float(np.nanmean(held.value)),
            "se_median": float(np.nanmedian(held.se)),
        },
        "spearman_mem_vs_heldout": spearman(mem.value, held.value),
        "classes": list(p.data.classes),
    }
    if cfg.features == "patches":  # what the fixed features allow: one ridge head on all of them
        from simulations.data.patches import RECIPE, ridge_accuracy

        res["features"] = {
            "recipe": RECIPE,
            "ridge_lambda_per_example": RIDGE_LAMBDA,
            "ridge_test_accuracy": ridge_accuracy(p.x_train, p.y_train, p.x_test, p.y_test, lam=RIDGE_LAMBDA),
        }
    arrays = {
        "mem": mem.value,
        "mem_se": mem.se,
        "heldout": held.value,
        "heldout_se": held.se,
        "n_in": mem.n_in,
        "y_train": p.y_train,
        "train_index": p.train_index,
        "split_half_z": z,
        "model_test_accuracy": sr.correct_test.mean(axis=1),
        "top_index": top,
        "bottom_index": bottom,
        "top_x": p.data.x_train[p.train_index[top]],
        "bottom_x": p.data.x_train[p.train_index[bottom]],
    }
    if cscores is not None:
        cscore = cscores[p.train_index]
        res["cscore"] = {
            "spearman_heldout_vs_cscore": spearman(held.value, cscore),
            "spearman_mem_vs_cscore": spearman(mem.value, cscore),
            "note": "C-scores of Jiang et al. (2021): ResNets, ratios 0.1..0.9 averaged; ours: "
            f"held-out accuracy at ratio {r:g} of {t} models of this config",
        }
        arrays["cscore"] = cscore
    return res, arrays


EXPERIMENT = experiment(
    "memorization",
    "Memorization estimates from subset models (Feldman & Zhang)",
    config=Memorization,
    quick=QUICK,
    plot="simulations.plots.memorization:memorization_figures",
)


@EXPERIMENT.run
def run(cfg: Memorization, ctx: Context | None = None) -> tuple[dict, dict]:
    """Train (or resume) the subset models under ``workdir`` and estimate mem~ for every example.

    With ``heldout_ratios``, t more models are trained at each of those ratios (own stores) and
    the per-example held-out accuracy averaged over all ratios is reported as a C-score proxy
    (Jiang et al. average over ratios 0.1..0.9, docs/references.md §3).
    """
    ctx = ctx or Context.for_config(cfg)
    ctx.record_spawned(cfg.seed, STREAMS, ("data", "subsets", "models"))
    workdir = ctx.workdir
    cscores = None
    if cfg.dataset == "cifar10":  # read (and check) the C-scores before hours of training, not after
        from simulations.data import load_cifar10_cscores

        cscores = load_cifar10_cscores(cfg.data_dir or None)
    res, arrays = analyse(cfg, subset_run(cfg, workdir), cscores)
    if cfg.heldout_ratios:
        by_ratio = {f"{cfg.ratio:g}": arrays["heldout"]}
        for r in cfg.heldout_ratios:
            other = dataclasses.replace(cfg, ratio=r, paired=False, heldout_ratios=())
            sr = subset_run(other, workdir)
            by_ratio[f"{r:g}"] = heldout_accuracy(sr.correct_train, sr.masks).value
        proxy = np.nanmean(np.stack(list(by_ratio.values())), axis=0)
        res["heldout_by_ratio"] = {k: float(np.nanmean(v)) for k, v in by_ratio.items()}
        arrays["cscore_proxy"] = proxy
        for k, v in by_ratio.items():
            arrays[f"heldout_ratio_{k}"] = v
        if "cscore" in arrays:
            res["cscore"]["spearman_proxy_vs_cscore"] = spearman(proxy, arrays["cscore"])
    return res, arrays


@EXPERIMENT.report
def report(results: dict, cfg: Memorization) -> str:
    m, s = results["mem"], results["split_half"]
    rows = [["test accuracy (mean over models ± SE)", pm(results["test_accuracy"])]]
    if f := results.get("features"):
        rows.append([f"one ridge head on all the patch features (lambda {f['ridge_lambda_per_example']:g} n)",
                     f"{f['ridge_test_accuracy']:.4f}"])  # fmt: skip
    rows += [
        ["training accuracy on own subset", pm(results["train_accuracy_in_subset"])],
        ["mean mem~", f"{m['mean']:.4f}"],
        ["examples with mem~ >= 0.25 / 0.5 / 0.75",
         f"{m['at_least']['0.25']:,} / {m['at_least']['0.5']:,} / {m['at_least']['0.75']:,}"],
        ["SE of mem~: median, max (Bernoulli bound)",
         f"{m['se_median']:.4f}, {m['se_max']:.4f} ({m['se_bound_bernoulli']:.4f})"],
        ["split-half z: mean, std (calibrated: 0, 1)", f"{s['z_mean']:.3f}, {s['z_std']:.3f}"],
        ["mean held-out accuracy (C-score at this ratio)", f"{results['heldout_accuracy']['mean']:.4f}"],
        ["Spearman(mem~, held-out accuracy)", f"{results['spearman_mem_vs_heldout']['rho']:.3f}"],
    ]  # fmt: skip
    for key, label in (
        ("spearman_heldout_vs_cscore", "held-out accuracy"),
        ("spearman_mem_vs_cscore", "mem~"),
        ("spearman_proxy_vs_cscore", "held-out accuracy averaged over ratios"),
    ):
        if sp := results.get("cscore", {}).get(key):
            ci = f"95% CI {sp['ci95'][0]:.3f}..{sp['ci95'][1]:.3f}, n = {sp['n']:,}"
            rows.append([f"Spearman({label}, released C-score)", f"{sp['rho']:.3f} ({ci})"])
    if "heldout_by_ratio" in results:
        rows.append(["mean held-out accuracy by ratio",
                     ", ".join(f"{k}: {v:.4f}" for k, v in results["heldout_by_ratio"].items())])  # fmt: skip
    if results.get("models_per_second"):
        rows.append(["training speed this run", f"{results['trained_now']:,} models in "
                     f"{results['train_seconds']:.1f} s ({results['models_per_second']:.2f} models/s)"])
    lines = [
        f"{results['dataset']}: n = {results['n_train']:,} training, {results['n_test']:,} test examples; "
        f"t = {results['models']:,} models `{results['model']}` on subsets of ratio {results['ratio']:g}.",
        f"Data: {results['data_note']}.",
        "",
        *table(["quantity", "value"], rows),
    ]
    lines.append("")
    return "\n".join(lines)
