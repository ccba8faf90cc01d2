r"""Experiment ``cscores``: CIFAR-10 consistency scores on the CPU, against the released C-scores.

The C-score of training example i (Jiang, Zhang, Talwar & Mozer 2021; docs/references.md §3) is
its expected held-out accuracy under models trained on random subsets of ratio s without it,
averaged over s in {0.1, ..., 0.9}. Here the models are ridge heads on fixed features that need
no downloaded weights (Coates et al. 2011 patch features, :mod:`simulations.data.patches`,
projected on their top principal components; :mod:`simulations.training.ridge_heads`): t heads
at ratio 0.7 (also giving mem~ and infl~ of Feldman & Zhang 2020) and, at every other ratio, as
many heads as hold each example out ``heldout_models`` times on average. Correctness is 0/1 (the
definition) and soft (the label's probability under a calibrated softmax of the head's scores).

Reported: Spearman correlations with the released scores, with bootstrap intervals, overall and
per class, for the estimates and for cheap proxies with their cost in seconds (the learning speed
of one run, the same-label fraction of nearest neighbours, one full model's confidence on its own
training examples, mem~); the most and least consistent images; the removal curve (top-mem~
against random removals) and the high-influence pairs with the number expected by noise alone.

Data: the 40,000 training images 0..39,999; images 40,000..49,999 are the test split (the PNG
layout, :mod:`simulations.data.cifar10`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulations.estimators import (
    heldout_accuracy,
    heldout_from_sums,
    heldout_sums,
    high_influence_pairs,
    influence,
    learning_speed,
    memorization,
    same_label_fraction,
    subset_masks,
)
from simulations.experiment import Context, experiment
from simulations.markdown import table
from simulations.stats import (
    FEW_EXAMPLES,
    FEW_NOTE,
    beyond_noise,
    mean_se,
    pm_percent,
    spearman,
    spearman_bootstrap,
)
from simulations.threads import group_workers
from theory._validate import check_finite, check_int

__all__ = ["CScores", "run", "report", "unavailable"]

RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # Jiang et al.'s ratios


@dataclass(frozen=True)
class CScores:
    """Consistency of CIFAR-10 training images from ridge heads on patch features."""

    data_dir: str = ""  # the folder holding cifar10/ and cscores/ (shared/data); "" = $TAILMEM_DATA
    train_size: int = 0  # 0 = all 40,000 training images, else a fixed random part
    test_size: int = 0  # 0 = all 10,000 test images, else a fixed random part
    cache: str = ""  # folder of cached patch features; "" = <--out>/.cache/features
    components: int = 1024  # principal components of the 3,200 patch features kept
    lam: float = 0.003  # ridge penalty per training example
    models: int = 2000  # t, heads at ratio `ratio` (mem~, infl~ and that ratio's held-out accuracy)
    ratio: float = 0.7
    ratios: tuple[float, ...] = RATIOS  # the held-out accuracy is averaged over these
    heldout_models: int = 150  # at the other ratios: heads holding out each example, on average
    piece: int = 100  # heads per checkpoint piece
    neighbours: int = 20  # k of the same-label-fraction proxy
    speed_epochs: int = 20  # learning-speed proxy: epochs of its one SGD run
    speed_lr: float = 0.05
    speed_batch: int = 128
    removal_fractions: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2)
    removal_draws: int = 8  # random removals per fraction
    mem_threshold: float = 0.25  # high-influence pairs (Feldman & Zhang)
    infl_threshold: float = 0.15
    bootstrap: int = 1000  # resamples of each Spearman interval
    grid: int = 12  # images in each most / least consistent row
    seed: int = 0

    def __post_init__(self):
        for name, least in (("train_size", 100), ("test_size", 20)):
            size = check_int(name, getattr(self, name), low=0)
            if 0 < size < least:
                raise ValueError(f"{name} must be 0 (the whole split) or at least {least}; got {size}")
        check_int("components", self.components, low=1, high=3200)
        check_finite("lam", self.lam, low=0.0, low_open=True)
        check_int("models", self.models, low=2, high=10**6)
        check_finite("ratio", self.ratio, low=0.0, high=1.0, low_open=True, high_open=True)
        if not isinstance(self.ratios, tuple) or not self.ratios:
            raise ValueError(f"ratios must be a non-empty tuple; got {self.ratios!r}")
        for r in self.ratios:
            check_finite("ratios entry", r, low=0.0, high=1.0, low_open=True, high_open=True)
        if len(set(self.ratios)) != len(self.ratios):
            raise ValueError(f"ratios must be distinct; got {self.ratios!r}")
        check_int("heldout_models", self.heldout_models, low=2, high=10**6)
        check_int("piece", self.piece, low=1, high=10**5)
        check_int("neighbours", self.neighbours, low=1, high=1000)
        check_int("speed_epochs", self.speed_epochs, low=1, high=10_000)
        check_finite("speed_lr", self.speed_lr, low=0.0, low_open=True)
        check_int("speed_batch", self.speed_batch, low=1, high=65_536)
        if not isinstance(self.removal_fractions, tuple) or not self.removal_fractions:
            raise ValueError(f"removal_fractions must be a non-empty tuple; got {self.removal_fractions!r}")
        for f in self.removal_fractions:
            check_finite("removal_fractions entry", f, low=0.0, high=0.5, low_open=True)
        check_int("removal_draws", self.removal_draws, low=2, high=10_000)
        check_finite("mem_threshold", self.mem_threshold, low=-1.0, high=1.0)
        check_finite("infl_threshold", self.infl_threshold, low=-1.0, high=1.0)
        check_int("bootstrap", self.bootstrap, low=10, high=100_000)
        check_int("grid", self.grid, low=1, high=100)
        check_int("seed", self.seed, low=0)

    def models_at(self, r: float) -> int:
        """Heads trained at ratio r: ``models`` at ``ratio``, else enough to hold each example out
        ``heldout_models`` times on average, ceil(heldout_models / (1 - r))."""
        return self.models if r == self.ratio else math.ceil(self.heldout_models / (1.0 - r) - 1e-9)


QUICK = {
    "train_size": 5000,
    "test_size": 1000,
    "components": 256,
    "models": 200,
    "heldout_models": 40,
    "piece": 50,
    "speed_epochs": 10,
    "bootstrap": 200,
}

EXPERIMENT = experiment(
    "cscores",
    "CIFAR-10 consistency scores against the released C-scores (Jiang et al.; Feldman & Zhang)",
    config=CScores,
    quick=QUICK,
    plot="simulations.plots.cscores:cscores_figures",
)


@EXPERIMENT.unavailable
def unavailable(cfg: CScores) -> str | None:
    import os

    root = cfg.data_dir or os.environ.get("TAILMEM_DATA", "")
    if not root:
        return (
            "no data folder: pass --data-dir (the folder holding cifar10/ and cscores/) or set TAILMEM_DATA"
        )
    for part in ("cifar10/cifar10-train-images-png-part1of3.zip", "cscores/cifar10-cscores-orig-order.npz"):
        if not (Path(root) / part).is_file() and not (Path(root) / "cifar-10-batches-py").is_dir():
            return f"{Path(root) / part} not found (see shared/data/SOURCES.md)"
    return None


def _memory_check(cfg: CScores) -> None:
    """Refuse, before reading any data, a run whose arrays would not fit in memory (sizes bounded
    by the official layout's 50,000 training and 10,000 test images when a size is 0)."""
    n, m = cfg.train_size or 50_000, cfg.test_size or 10_000
    need = cfg.models * (n + m) * 8 * 6 + n * 3200 * 8 * 2  # estimators' float64 temporaries, features
    try:
        with open("/proc/meminfo") as fh:
            avail = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable"))
    except (OSError, StopIteration, ValueError):
        return
    if need > avail:
        raise ValueError(
            f"models: {cfg.models:,} heads on {n:,} + {m:,} examples need about {need / 2**30:.1f} GiB, "
            f"more than the {avail / 2**30:.1f} GiB available; lower models or train_size"
        )


def _data(cfg: CScores, ctx: Context):
    """Images, labels, released scores (checked against the labels) and patch features."""
    from simulations.data import load_cifar10_cscores, load_dataset
    from simulations.data.dataset import fixed_part
    from simulations.data.patches import PatchFeatures, patch_features

    _memory_check(cfg)
    data = load_dataset("cifar10", cfg.data_dir or None)
    cscores = load_cifar10_cscores(cfg.data_dir or None, labels=data.y_train)
    rng = ctx.rng("data")
    tr = fixed_part(cfg.train_size, len(data.y_train), rng, "train_size")
    te = fixed_part(cfg.test_size, len(data.y_test), rng, "test_size")
    cache = cfg.cache or Path(ctx.workdir) / ".cache" / "features"
    t0 = time.perf_counter()
    f_train, f_test = patch_features(data.x_train[tr], data.x_test[te], PatchFeatures(), cache, log=ctx.log)
    return data, tr, te, cscores[tr], f_train, f_test, time.perf_counter() - t0


def _heads(ctx, cfg, basis, y_train, y_test, r, *, beta, full: bool, bar):
    """The heads at ratio r in checkpointed pieces: with ``full`` their per-model correctness
    (0/1 and soft, train and test) and masks, else only the held-out sums per example."""
    from simulations.training.ridge_heads import ridge_heads

    n, total = len(y_train), cfg.models_at(r)
    parts, seconds = [], 0.0
    for p, a in enumerate(range(0, total, cfg.piece)):
        size = min(cfg.piece, total - a)
        stream = ctx.stream("subsets", ratio=r, piece=p)  # recorded whether computed or loaded

        def compute(size=size, stream=stream):
            t0 = time.perf_counter()
            masks = subset_masks(n, size, ratio=r, rng=np.random.default_rng(stream))
            out = ridge_heads(
                basis,
                y_train,
                y_test,
                masks,
                lam=cfg.lam,
                beta=beta,
                classes=10,
                workers=group_workers(),
                on_done=bar.update,
            )
            secs = time.perf_counter() - t0
            if full:
                return {"seconds": secs}, {"masks": masks, **out}
            arrays = {}
            for kind in ("correct", "prob"):
                sums = heldout_sums(out[f"{kind}_train"], masks)
                arrays.update({f"{kind}_{k}": v for k, v in sums.items()})
            return {"seconds": secs}, arrays

        done, arrays = ctx.cached(
            f"heads-r{r:g}-{p}".replace(".", "p"), compute, on_reuse=lambda s=size: bar.update(s)
        )
        parts.append(arrays)
        seconds += done["seconds"]
    if full:
        return {k: np.concatenate([a[k] for a in parts]) for k in parts[0]}, seconds
    est = {}
    for kind in ("correct", "prob"):
        sums = {k: sum(a[f"{kind}_{k}"] for a in parts) for k in ("count", "s1", "s2", "n_in")}
        sums["binary"] = np.array(all(bool(a[f"{kind}_binary"]) for a in parts))
        est[kind] = heldout_from_sums(sums)
    return est, seconds


def _ranked(values: np.ndarray, count: int, *, highest: bool) -> np.ndarray:
    v = np.nan_to_num(values, nan=-np.inf if highest else np.inf)
    return np.argsort(-v if highest else v, kind="stable")[:count]


def _agreement(est: dict[str, np.ndarray], cscore: np.ndarray, y: np.ndarray, cfg: CScores, ctx) -> dict:
    """Spearman of every estimate with the released scores: overall and per class, bootstrapped."""
    out = {}
    for name, v in est.items():
        rng = ctx.rng("bootstrap", estimate=name)
        row = {"all": spearman_bootstrap(v, cscore, reps=cfg.bootstrap, rng=rng), "by_class": []}
        for c in range(10):
            sel = y == c
            row["by_class"].append(
                spearman_bootstrap(v[sel], cscore[sel], reps=cfg.bootstrap, rng=rng)
                if sel.sum() >= 4
                else None
            )
        out[name] = row
    return out


def _without(n: int, rows) -> np.ndarray:
    """The keep mask (n,) of all training examples but ``rows``."""
    keep = np.ones(n, dtype=bool)
    keep[rows] = False
    return keep


def _retrained(
    cfg, basis, y_train, y_test, removed, *, draws_of: int = 0, rng=None
) -> tuple[np.ndarray, np.ndarray]:
    """0/1 correctness on the test split (float64) of the head retrained without the training
    examples ``removed``, and (draws, m) of heads retrained without as many random ones."""
    from simulations.training.ridge_heads import ridge_head

    n = len(y_train)

    def correct(keep):
        w = ridge_head(basis, y_train, keep, lam=cfg.lam, classes=10)
        return ((basis.z_test @ w).argmax(axis=1) == y_test).astype(np.float64)

    count = len(removed)
    rand = [correct(_without(n, rng.choice(n, size=count, replace=False))) for _ in range(draws_of)]
    return correct(_without(n, removed)), np.array(rand).reshape(draws_of, len(y_test))


def _removal(cfg, basis, y_train, y_test, mem, full: np.ndarray, ctx) -> tuple[dict, dict]:
    """Test accuracy of the head on all training examples but the top-mem~ fraction f, against as
    many random ones (``removal_draws`` draws); the head is deterministic given its data.
    ``full``: the test correctness of the head on all training examples."""
    n = len(y_train)
    order = _ranked(mem, n, highest=True)
    rows, rand_all = [], []
    for f in cfg.removal_fractions:
        count = max(1, round(f * n))
        top, per_test = _retrained(cfg, basis, y_train, y_test, order[:count], draws_of=cfg.removal_draws,
                                   rng=ctx.rng("removal", fraction=f))  # fmt: skip
        rand = per_test.mean(axis=1)
        # SE of the difference: the random draws' spread, and the test images' (paired: the same
        # images score both models), added in quadrature
        d = top - per_test.mean(axis=0)
        se = float(np.sqrt(mean_se(rand)["se"] ** 2 + d.var(ddof=1) / len(d)))
        rows.append(
            {
                "fraction": f,
                "removed": count,
                "mem_at_cut": float(mem[order[count - 1]]),
                "top_mem_removed": float(top.mean()),
                "random_removed": mean_se(rand),
                "difference": {
                    "mean": float(d.mean()),
                    "se": se,
                    "z": float(d.mean() / se) if se > 0 else None,
                },
            }
        )
        rand_all.append(rand)
    return {"full": float(full.mean()), "draws": cfg.removal_draws, "rows": rows}, {
        "removal_random": np.array(rand_all)
    }


def _pairs(cfg, basis, heads, mem, y_train, y_test, tr, te, full: np.ndarray, ctx) -> tuple[dict, dict]:
    """High-influence pairs from the ratio heads (0/1 correctness), the number noise alone would
    give, and the marginal utility of the pairs' training examples."""
    from simulations.experiments.influence_pairs import expected_false_pairs

    rows = np.flatnonzero(np.nan_to_num(mem.value, nan=-np.inf) >= cfg.mem_threshold)
    correct_test = heads["correct_test"]
    if rows.size:
        infl, se = influence(correct_test, heads["masks"][:, rows])
        found = high_influence_pairs(
            mem.value[rows],
            infl,
            y_train[rows],
            y_test,
            mem_threshold=cfg.mem_threshold,
            infl_threshold=cfg.infl_threshold,
        )
        values, errors = infl[found[:, 0], found[:, 1]], se[found[:, 0], found[:, 1]]
        pairs = np.stack([rows[found[:, 0]], found[:, 1]], axis=1)
    else:
        pairs, values, errors = np.zeros((0, 2), dtype=np.int64), np.zeros(0), np.zeros(0)
    false = expected_false_pairs(
        correct_test,
        heads["masks"],
        mem.value,
        y_train,
        y_test,
        mem_threshold=cfg.mem_threshold,
        infl_threshold=cfg.infl_threshold,
    )
    tests, trains = np.unique(pairs[:, 1]), np.unique(pairs[:, 0])
    res = {
        "candidates": int(rows.size),
        "pairs": int(len(pairs)),
        "pairs_significant": int((values - 2 * errors > 0).sum()),
        "expected_false_pairs": false,
        "test_examples_influenced": int(tests.size),
        "train_examples_in_pairs": int(trains.size),
        "table": [
            {
                "train": int(tr[i]),
                "test": int(te[j]),
                "mem": float(mem.value[i]),
                "infl": float(v),
                "infl_se": float(s),
            }
            for (i, j), v, s in zip(pairs[:20], values[:20], errors[:20], strict=True)
        ],
    }
    if trains.size:
        removed, rand = _retrained(cfg, basis, y_train, y_test, trains, draws_of=cfg.removal_draws,
                                   rng=ctx.rng("pairs-random"))  # fmt: skip
        res["marginal_utility"] = {
            name: {"all_test": float(c.mean()), "influenced_test": float(c[tests].mean())}
            for name, c in (("full", full), ("pairs_removed", removed))
        }
        res["marginal_utility"]["random_removed"] = {
            "all_test": mean_se(rand.mean(axis=1)),
            "influenced_test": mean_se(rand[:, tests].mean(axis=1)),
        }
    return res, {"pairs": pairs, "pair_infl": values, "pair_se": errors}


@EXPERIMENT.run
def run(cfg: CScores, ctx: Context | None = None) -> tuple[dict, dict]:
    from simulations.training.ridge_heads import calibrate_beta, label_probability, ridge_basis, ridge_head

    ctx = ctx or Context.for_config(cfg)
    t_start = time.perf_counter()
    data, tr, te, cscore, f_train, f_test, feature_seconds = _data(cfg, ctx)
    y_train, y_test = data.y_train[tr], data.y_test[te]
    n = len(y_train)
    t0 = time.perf_counter()
    basis = ridge_basis(f_train, f_test, components=cfg.components)
    basis_seconds = time.perf_counter() - t0
    del f_train, f_test
    # one head on all the training images: the features' accuracy, and the softmax temperature
    # of the soft correctness, fitted on the test split
    t0 = time.perf_counter()
    w_full = ridge_head(basis, y_train, np.ones(n, dtype=bool), lam=cfg.lam, classes=10)
    scores_test, scores_train = basis.z_test @ w_full, basis.z_train @ w_full
    beta = calibrate_beta(scores_test, y_test)
    full_confidence = label_probability(scores_train, y_train, beta)
    full_seconds = time.perf_counter() - t0

    ratios = sorted(set(cfg.ratios) | {cfg.ratio})
    heads, by_ratio, seconds = _heads_by_ratio(ctx, cfg, basis, y_train, y_test, ratios, beta)
    main_seconds = seconds[f"{cfg.ratio:g}"]
    mem = memorization(heads["correct_train"], heads["masks"])
    mem_soft = memorization(heads["prob_train"], heads["masks"])
    # the estimate's own noise: the held-out estimate at `ratio` from each half of its heads
    half = cfg.models // 2
    split_half = {
        kind: spearman(
            heldout_accuracy(heads[f"{kind}_train"][:half], heads["masks"][:half]).value,
            heldout_accuracy(heads[f"{kind}_train"][half:], heads["masks"][half:]).value,
        )
        for kind in ("correct", "prob")
    }
    main = {kind: heldout_accuracy(heads[f"{kind}_train"], heads["masks"]) for kind in ("correct", "prob")}
    by_ratio[cfg.ratio] = main
    averaged = [r for r in ratios if r in cfg.ratios]
    cs = {}
    for kind in ("correct", "prob"):
        vals = np.stack([by_ratio[r][kind].value for r in averaged])
        ses = np.stack([by_ratio[r][kind].se for r in averaged])
        cs[kind] = (vals.mean(axis=0), np.sqrt((ses**2).sum(axis=0)) / len(averaged))

    speed, density, cost = _proxies(cfg, ctx, basis, y_train)
    cost["full_model_confidence"] = full_seconds
    all_seconds = sum(seconds.values())
    cost.update(
        {
            "heldout_soft_averaged": all_seconds,
            "heldout_01_averaged": all_seconds,
            f"heldout_soft_at_{cfg.ratio:g}": main_seconds,
            f"heldout_01_at_{cfg.ratio:g}": main_seconds,
            "mem": main_seconds,
        }
    )
    estimates = {
        "heldout_soft_averaged": cs["prob"][0],
        "heldout_01_averaged": cs["correct"][0],
        f"heldout_soft_at_{cfg.ratio:g}": main["prob"].value,
        f"heldout_01_at_{cfg.ratio:g}": main["correct"].value,
        "mem": mem.value,
        "learning_speed": speed,
        "same_label_fraction": density,
        "full_model_confidence": full_confidence,
    }
    agreement = _agreement(estimates, cscore, y_train, cfg, ctx)
    for name in agreement:
        agreement[name]["cost_seconds"] = cost[name]

    full_correct = (scores_test.argmax(axis=1) == y_test).astype(np.float64)  # the head on all images
    removal, removal_arrays = _removal(cfg, basis, y_train, y_test, mem.value, full_correct, ctx)
    pairs, pair_arrays = _pairs(cfg, basis, heads, mem, y_train, y_test, tr, te, full_correct, ctx)

    ours = cs["prob"][0]
    picks = {
        "ours_high": _ranked(ours, cfg.grid, highest=True),
        "ours_low": _ranked(ours, cfg.grid, highest=False),
        "released_high": _ranked(cscore, cfg.grid, highest=True),
        "released_low": _ranked(cscore, cfg.grid, highest=False),
    }
    shown = pair_arrays["pairs"][:8]
    res = {
        "dataset": "cifar10",
        "data_note": data.note,
        "n_train": n,
        "n_test": int(len(y_test)),
        "features": {
            "recipe": "coates-v1 (400 patches 6x6, 3,200 features)",
            "components": cfg.components,
            "variance_kept": float(basis.variances.sum()),
            "seconds": feature_seconds,
            "basis_seconds": basis_seconds,
        },
        "lam": cfg.lam,
        "beta": beta,
        "full_model_test_accuracy": float(full_correct.mean()),
        "full_model_train_accuracy": float((scores_train.argmax(axis=1) == y_train).mean()),
        "models_by_ratio": {f"{r:g}": cfg.models_at(r) for r in ratios},
        "heads_seconds_by_ratio": seconds,
        "heads_per_second": sum(cfg.models_at(r) for r in ratios) / max(all_seconds, 1e-9),
        "test_accuracy": mean_se(heads["correct_test"].mean(axis=1)),
        "heldout_mean_by_ratio": {
            f"{r:g}": {k: float(np.nanmean(by_ratio[r][k].value)) for k in ("correct", "prob")}
            for r in ratios
        },
        "se_median": {
            "heldout_soft_averaged": float(np.nanmedian(cs["prob"][1])),
            "heldout_01_averaged": float(np.nanmedian(cs["correct"][1])),
            "mem": float(np.nanmedian(mem.se)),
        },
        "released_mean": float(cscore.mean()),
        "split_half_spearman": split_half,
        "mem": {
            "mean": float(np.nanmean(mem.value)),
            "mean_soft": float(np.nanmean(mem_soft.value)),
            "at_least": {f"{th:g}": int((mem.value >= th).sum()) for th in (0.1, 0.25, 0.5)},
        },
        "agreement": agreement,
        "removal": removal,
        "influence_pairs": pairs,
        "classes": list(data.classes),
        "wall_seconds_before_figures": time.perf_counter() - t_start,
    }
    arrays = {
        "cscore": cscore,
        "y_train": y_train,
        "train_index": tr,
        **{f"estimate_{k}": v for k, v in estimates.items()},
        "heldout_soft_averaged_se": cs["prob"][1],
        "mem_se": mem.se,
        **removal_arrays,
        **pair_arrays,
        **{f"{k}_index": v for k, v in picks.items()},
        **{f"{k}_x": data.x_train[tr[v]] for k, v in picks.items()},
        "pair_train_x": data.x_train[tr[shown[:, 0]]],
        "pair_test_x": data.x_test[te[shown[:, 1]]],
    }
    return res, arrays


def _heads_by_ratio(ctx: Context, cfg: CScores, basis, y_train, y_test, ratios: list, beta: float):
    """The subset heads at every ratio: (the heads at ``cfg.ratio``, kept whole; the held-out
    estimates at the other ratios; seconds by ratio)."""
    bar = ctx.progress(sum(cfg.models_at(r) for r in ratios), "ridge heads")
    heads, main_seconds = _heads(ctx, cfg, basis, y_train, y_test, cfg.ratio, beta=beta, full=True, bar=bar)
    by_ratio, seconds = {}, {f"{cfg.ratio:g}": main_seconds}
    for r in ratios:
        if r != cfg.ratio:
            by_ratio[r], seconds[f"{r:g}"] = _heads(
                ctx, cfg, basis, y_train, y_test, r, beta=beta, full=False, bar=bar
            )
    bar.close()
    return heads, by_ratio, seconds


def _proxies(cfg: CScores, ctx: Context, basis, y_train) -> tuple[np.ndarray, np.ndarray, dict]:
    """The two cheap proxies, each timed: learning speed and the same-label fraction of the
    nearest neighbours, on the basis features; returns them and their cost in seconds."""
    cost = {}
    t0 = time.perf_counter()
    speed = learning_speed(
        basis.z_train[:, :-1],
        y_train,
        classes=10,
        epochs=cfg.speed_epochs,
        lr=cfg.speed_lr,
        batch_size=cfg.speed_batch,
        seed=int(ctx.stream("learning-speed").generate_state(1)[0]),
    )
    cost["learning_speed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    density = same_label_fraction(basis.z_train[:, :-1], y_train, k=cfg.neighbours, workers=group_workers())
    cost["same_label_fraction"] = time.perf_counter() - t0
    return speed, density, cost


def _pct(d: dict) -> str:
    """A fraction's mean ± SE in percentage points, SE-aware rounding (an SE of 0: every draw gave it)."""
    if d["se"] == 0:
        return f"{100 * d['mean']:.2f}% in every draw"
    return pm_percent(d) + "%"


def _class_range(by_class: list) -> str:
    """Lowest / highest rho over the classes measured (a class without images is None)."""
    rhos = [c["rho"] for c in by_class if c is not None]
    return f"{min(rhos):.3f} / {max(rhos):.3f}"


def _difference(d: dict) -> str:
    """A paired difference in points with its z, ``+1.2 ± 0.5 (+2.4)`` (no z where it is None)."""
    return pm_percent(d, sign=True) + ("" if d["z"] is None else f" ({d['z']:+.1f})")


def _rho(d: dict) -> str:
    return f"{d['rho']:.3f} [{d['ci95'][0]:.3f}, {d['ci95'][1]:.3f}]"


LABELS = {
    "heldout_soft_averaged": "held-out probability of the label, ratios averaged",
    "heldout_01_averaged": "held-out accuracy (0/1), ratios averaged: the C-score's definition",
    "mem": "mem~ (0/1)",
    "learning_speed": "learning speed (one SGD run)",
    "same_label_fraction": "same-label fraction of nearest neighbours",
    "full_model_confidence": "confidence of one full model on its own training example",
}


def label(name: str) -> str:
    if name.startswith("heldout_soft_at_"):
        return f"held-out probability of the label at ratio {name.rsplit('_', 1)[1]}"
    if name.startswith("heldout_01_at_"):
        return f"held-out accuracy (0/1) at ratio {name.rsplit('_', 1)[1]}"
    return LABELS[name]


@EXPERIMENT.report
def report(results: dict, cfg: CScores) -> str:
    f = results["features"]
    lines = [
        f"CIFAR-10: n = {results['n_train']:,} training, {results['n_test']:,} test images. "
        f"Ridge heads (lambda {results['lam']:g} per example) on the top {f['components']:,} principal "
        f"components of {f['recipe']}; heads by ratio: "
        + ", ".join(f"{r}: {t:,}" for r, t in results["models_by_ratio"].items())
        + ". One head on all training images: "
        f"{100 * results['full_model_test_accuracy']:.2f}% test accuracy (soft correctness: softmax at "
        f"inverse temperature {results['beta']:.2f}, fitted on the test split).",
        "",
        "Agreement with the released C-scores (Spearman's rho, 95% bootstrap interval, "
        f"{cfg.bootstrap:,} resamples; n = {results['n_train']:,}):",
        "",
        *table(
            ["estimate or proxy", "rho", "lowest / highest class rho", "cost (s)"],
            (
                [label(name), _rho(a["all"]), _class_range(a["by_class"]), f"{a['cost_seconds']:.1f}"]
                for name, a in results["agreement"].items()
            ),
        ),
    ]  # fmt: skip
    main = results["agreement"]["heldout_soft_averaged"]["all"]
    sh = results["split_half_spearman"]
    lines += [
        "",
        f"The estimate of the C-score's definition with soft correctness ranks the images like the released "
        f"scores with rho = {main['rho']:.3f} (95% interval {main['ci95'][0]:.3f}..{main['ci95'][1]:.3f}; "
        f"0.7 was aimed at). Its own noise does not limit it: the held-out estimate at ratio "
        f"{cfg.ratio:g} from one half of its {cfg.models:,} heads ranks like the other half's with "
        f"rho = {sh['prob']['rho']:.5f} (0/1 correctness: {sh['correct']['rho']:.3f}).",
    ]
    rem = results["removal"]
    lines += [
        "",
        f"Removal (head retrained without the top-mem~ fraction, against {rem['draws']} random removals "
        f"of as many; full data: {100 * rem['full']:.2f}% test accuracy):",
        "",
        *table(
            ["fraction removed", "mem~ at the cut", "top-mem~ removed", "random removed", "difference (z)"],
            (
                [f"{r['fraction']:g} ({r['removed']:,}{' ‡' if r['removed'] < FEW_EXAMPLES else ''})",
                 f"{r['mem_at_cut']:.3f}", f"{100 * r['top_mem_removed']:.2f}%", _pct(r["random_removed"]),
                 _difference(r["difference"])]
                for r in rem["rows"]
            ),
        ),
    ]  # fmt: skip
    lines.append(
        "\nDifference: top-mem~ removed minus random removed, in points; its SE adds the random draws' "
        "spread and the test images' (paired), so |z| < 2 is not resolved at this size."
    )
    if any(r["removed"] < FEW_EXAMPLES for r in rem["rows"]):
        lines.append(FEW_NOTE)
    p = results["influence_pairs"]
    lines += [
        "",
        f"High-influence pairs (mem~ >= {cfg.mem_threshold:g}, infl~ >= {cfg.infl_threshold:g}, same class): "
        f"{p['pairs']:,} pairs over {p['test_examples_influenced']:,} test images from {p['candidates']:,} "
        f"training images with mem~ >= {cfg.mem_threshold:g}; noise alone would give about "
        f"{p['expected_false_pairs']:.2g} (every true influence 0, normal approximation).",
    ]
    z, verdict = beyond_noise(p["pairs"], p["expected_false_pairs"])
    lines.append(
        f"Pairs beyond noise: {p['pairs'] - p['expected_false_pairs']:+.1f} (Poisson z = {z:+.1f}, expected "
        f"count taken as at least 1): {verdict}."
    )
    if "marginal_utility" in p:
        mu = p["marginal_utility"]
        rnd = mu["random_removed"]
        lines += [
            "",
            *table(["training set", "all test images", "influenced test images"], [
                ["all", f"{100 * mu['full']['all_test']:.2f}%",
                 f"{100 * mu['full']['influenced_test']:.2f}%"],
                ["without the pairs' training images", f"{100 * mu['pairs_removed']['all_test']:.2f}%",
                 f"{100 * mu['pairs_removed']['influenced_test']:.2f}%"],
                [f"without as many random ones (mean ± SE, {cfg.removal_draws} draws)", _pct(rnd["all_test"]),
                 _pct(rnd["influenced_test"])],
            ]),
        ]  # fmt: skip
    return "\n".join(lines) + "\n"
