r"""Experiment ``composition-nets``: sum networks on unseen combinations of rare and once-seen inputs.

Zhou, Ma, Ge (2025), arXiv 2510.16322, as summarised in docs/references.md §4 [summary]: three
MNIST digits stacked as channels, target their sum, Zipf digit frequencies with '9' rarest,
test items holding an unseen '9'; per-channel encoders with Sum / Linear / 2-layer aggregation
against a Cross-channel model; and a one-shot test (symbols seen once, tested in unseen pairs)
at weight decay 0 and 0.5. The task is :mod:`simulations.composition.sum_task` (one-shot
symbols are Fashion-MNIST images, since Omniglot is not available offline), the networks
:mod:`simulations.composition.nets`, the batched AdamW trainer
:mod:`simulations.composition.train_nets`.

One training set (``train_items`` Zipf digit triples plus ``symbols`` one-shot items) is drawn
once; every architecture trains ``seeds`` models per weight decay on it, all of one architecture
in one vmap-ed batch. Model r of every architecture and weight decay has the same
initialisation seed and data order, so differences between weight decays are paired. Test loss
is the mean squared error of the predicted sum on each test set; means and standard errors are
over the ``seeds`` models (independent initialisations and orders on one training draw: they
measure training randomness, not the variation between training draws).

Random streams, by name (:data:`STREAMS`, :func:`~simulations.experiment.spawned_stream`): ``task``
(the task draw) and ``models`` (the model seeds). The run saves each architecture as it finishes
(a checkpoint) and resumes after a kill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from simulations.composition.measure import mean_se
from simulations.composition.nets import ARCHS, SumNet, param_count
from simulations.composition.sum_task import DIGITS, TEST_SETS, digit_probabilities, make_sum_task
from simulations.composition.train_nets import predict_sum_nets, train_sum_nets
from simulations.experiment import Context, experiment, spawned_stream
from simulations.markdown import cell, table
from simulations.stats import paired_difference, pm
from theory._validate import check_finite, check_int

__all__ = ["CompositionNets", "QUICK", "PUBLISHED_ONE_SHOT", "run", "report", "unavailable"]

# docs/references.md §4 [summary]: one-shot test loss at weight decay 0 vs 0.5 (Omniglot symbols)
PUBLISHED_ONE_SHOT = {
    "sum": (0.176, 2.874),
    "linear": (0.166, 1.554),
    "two-layer": (0.135, 0.645),
    "cross-channel": (22.97, 23.65),
}
EVAL_SETS = TEST_SETS + ("train-digits", "train-symbols")


@dataclass(frozen=True)
class CompositionNets:
    """Sum / Linear / 2-layer / Cross-channel networks on unseen '9's and once-seen symbol pairs."""

    data_dir: str = ""  # folder with mnist/ and fashion-mnist/ IDX files; "" = $TAILMEM_DATA
    train_items: int = 8000  # Zipf digit triples (the paper had 32,000; CPU-sized here)
    zipf_exponent: float = 2.0  # P(digit d) ~ (d + 1)^-zipf_exponent, '9' rarest
    symbols: int = 50  # one-shot Fashion-MNIST symbols, each in exactly one training item
    symbol_values: int = 10  # a symbol's value is uniform in 0 .. symbol_values - 1
    test_items: int = 2000  # items per test set (id, unseen-9, one-shot)
    train_eval: int = 2000  # training digit items on which the training loss is measured
    archs: tuple[str, ...] = ARCHS
    weight_decays: tuple[float, ...] = (0.0, 0.5)  # AdamW's decoupled weight decay
    seeds: int = 3  # models per architecture and weight decay
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    encoder: str = "cnn"  # cnn (two convs) | resnet (ResNet-18 class with channels=64,128,256,512; a GPU)
    channels: tuple[int, ...] = (8, 16)  # encoder conv widths (resnet: stage widths)
    hidden: int = 32  # encoder output width h (cross-channel: 3h)
    head_hidden: int = 64  # width of the two-layer head (two-layer, cross-channel)
    device: str = "cpu"  # cpu | cuda
    seed: int = 0

    def __post_init__(self):
        check_int("train_items", self.train_items, low=10, high=10**7)
        check_finite("zipf_exponent", self.zipf_exponent, low=0.0, high=20.0)
        check_int("symbols", self.symbols, low=2, high=10_000)
        check_int("symbol_values", self.symbol_values, low=1, high=1000)
        check_int("test_items", self.test_items, low=1, high=10**6)
        check_int("train_eval", self.train_eval, low=1, high=10**6)
        if not self.archs or len(set(self.archs)) != len(self.archs):
            raise ValueError(f"archs must be distinct names from {', '.join(ARCHS)}; got {self.archs!r}")
        for a in self.archs:
            if a not in ARCHS:
                raise ValueError(f"archs: each must be one of {', '.join(ARCHS)}; got {a!r}")
        if not self.weight_decays:
            raise ValueError("weight_decays: need at least one value")
        check_finite("lr", self.lr, low=0.0, low_open=True, high=1.0)
        for w in self.weight_decays:
            check_finite("weight_decays", w, low=0.0, high=1.0 / self.lr)
        check_int("seeds", self.seeds, low=2, high=1000)
        check_int("epochs", self.epochs, low=1, high=10_000)
        check_int("batch_size", self.batch_size, low=1, high=10**6)
        self.net("sum")  # validates encoder and widths
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda'; got {self.device!r}")
        check_int("seed", self.seed, low=0)

    def net(self, arch: str) -> SumNet:
        """The network spec of ``arch`` under this config."""
        return SumNet(arch, tuple(self.channels), self.hidden, self.head_hidden, self.encoder)


QUICK = {"train_items": 2000, "symbols": 20, "test_items": 500, "train_eval": 500, "seeds": 2, "epochs": 8}


EXPERIMENT = experiment(
    "composition-nets",
    "Composition in networks: sums of rare digits and once-seen symbols",
    config=CompositionNets,
    quick=QUICK,
    plot="simulations.plots.composition:composition_nets_figures",
)


@EXPERIMENT.unavailable
def unavailable(cfg: CompositionNets) -> str | None:
    """Why the MNIST and Fashion-MNIST files are not at hand (for ``tailmem reproduce``), or None."""
    from simulations.data import idx_missing

    for name in ("mnist", "fashion-mnist"):
        reason = idx_missing(name, cfg.data_dir or None)
        if reason:
            return f"needs MNIST and Fashion-MNIST (--data-dir or TAILMEM_DATA): {reason}"
    return None


# the random streams, each a fixed child of SeedSequence(seed); new ones are appended
STREAMS = ("task", "models")


def _task(cfg: CompositionNets):
    from simulations.data import load_fashion_mnist, load_mnist

    data_dir = cfg.data_dir or None
    task_ss, model_ss = (spawned_stream(cfg.seed, STREAMS, name) for name in STREAMS)
    task = make_sum_task(
        load_mnist(data_dir),
        load_fashion_mnist(data_dir),
        train_items=cfg.train_items,
        symbols=cfg.symbols,
        symbol_values=cfg.symbol_values,
        test_items=cfg.test_items,
        exponent=cfg.zipf_exponent,
        rng=np.random.default_rng(task_ss),
    )
    seeds = model_ss.generate_state(cfg.seeds, dtype=np.uint32).astype(np.int64)
    eval_rng = np.random.default_rng(task_ss.spawn(1)[0])
    size = min(cfg.train_eval, cfg.train_items)
    digit_rows = np.sort(eval_rng.choice(cfg.train_items, size=size, replace=False))
    sets = dict(task.tests)
    sets["train-digits"] = task.train[digit_rows]
    sets["train-symbols"] = task.train[task.symbol_items]
    return task, seeds, sets


def _verdict(d: dict, k: float = 2.0) -> str:
    """'holds' if the difference is more than k SEs above 0, 'reversed' if more than k below, else
    'unresolved' (k = 2; with few seeds the SE itself is rough, so this is a screen, not a test)."""
    if d["mean"] - k * d["se"] > 0:
        return "holds"
    if d["mean"] + k * d["se"] < 0:
        return "reversed"
    return "unresolved"


@EXPERIMENT.run
def run(cfg: CompositionNets, ctx: Context | None = None) -> tuple[dict, dict]:
    """Train every architecture (a checkpoint piece of ``ctx`` each) and measure test losses."""
    from simulations.training.engine import require_device

    ctx = ctx or Context.for_config(cfg)
    ctx.record_spawned(cfg.seed, STREAMS, STREAMS)
    require_device(cfg.device)
    task, seeds, sets = _task(cfg)
    model_seeds = np.tile(seeds, len(cfg.weight_decays))
    model_wds = np.repeat(np.asarray(cfg.weight_decays, dtype=np.float64), cfg.seeds)
    n_train = len(task.train)
    steps = cfg.epochs * -(-n_train // cfg.batch_size)
    progress = ctx.progress(steps * len(cfg.archs), "composition-nets steps")
    targets = {name: task.targets(items) for name, items in sets.items()}
    sq_err, walls = {}, {}
    for arch in cfg.archs:
        spec = cfg.net(arch)

        def train(spec=spec, arch=arch):
            t0 = time.perf_counter()
            params = train_sum_nets(
                spec,
                task.pool,
                task.values,
                task.train,
                model_seeds,
                model_wds,
                epochs=cfg.epochs,
                batch_size=cfg.batch_size,
                lr=cfg.lr,
                device=cfg.device,
                progress=progress.update,
            )
            A = {
                f"pred_{name}": predict_sum_nets(spec, params, task.pool, items, device=cfg.device)
                for name, items in sets.items()
            }
            return {"arch": arch, "train_seconds": time.perf_counter() - t0}, A

        meta, A = ctx.cached(arch, train, on_reuse=lambda: progress.update(steps))
        walls[arch] = meta["train_seconds"]
        sq_err[arch] = {name: (A[f"pred_{name}"] - targets[name][None, :]) ** 2 for name in sets}
    progress.close()
    results = summarize(cfg, task, sq_err, walls, model_seeds)
    arrays = {
        "archs": np.array(cfg.archs),
        "eval_sets": np.array(EVAL_SETS),
        "model_seeds": model_seeds,
        "model_weight_decays": model_wds,
        "mse": np.stack([[sq_err[a][s].mean(axis=1) for s in EVAL_SETS] for a in cfg.archs]),  # (A, S, B)
        "examples_one_shot": task.pool[task.tests["one-shot"][:6]],
        "examples_unseen9": task.pool[task.tests["unseen-9"][:6]],
        "examples_targets": np.stack([targets["one-shot"][:6], targets["unseen-9"][:6]]),
    }
    return results, arrays


def summarize(cfg: CompositionNets, task, sq_err: dict, walls: dict, model_seeds) -> dict:
    """Test losses per architecture and weight decay (mean and SE over seeds) and the claims."""
    R = cfg.seeds
    table = {}
    for arch in cfg.archs:
        table[arch] = {}
        for i, wd in enumerate(cfg.weight_decays):
            cols = slice(i * R, (i + 1) * R)
            table[arch][f"{wd:g}"] = {
                name: mean_se(sq_err[arch][name][cols].mean(axis=1)) for name in EVAL_SETS
            }
    per_model = {a: {s: sq_err[a][s].mean(axis=1) for s in EVAL_SETS} for a in cfg.archs}
    claims = []
    wd0 = f"{cfg.weight_decays[0]:g}"
    if "cross-channel" in cfg.archs:
        for arch in (a for a in cfg.archs if a != "cross-channel"):
            for name in ("unseen-9", "one-shot"):
                d = paired_difference(per_model["cross-channel"][name][:R], per_model[arch][name][:R])
                claims.append(
                    {
                        "claim": f"{arch} composes better than cross-channel on {name} (weight decay {wd0})",
                        "difference": d,
                        "verdict": _verdict(d),
                    }
                )
    if len(cfg.weight_decays) > 1:
        wd1 = f"{cfg.weight_decays[-1]:g}"
        for arch in cfg.archs:
            d = paired_difference(per_model[arch]["one-shot"][-R:], per_model[arch]["one-shot"][:R])
            claims.append(
                {
                    "claim": f"{arch}: weight decay {wd1} raises the one-shot loss over {wd0}",
                    "difference": d,
                    "verdict": _verdict(d),
                }
            )
    digits = task.train_digits
    counts = np.bincount(digits[digits >= 0], minlength=DIGITS)
    return {
        "table": table,
        "claims": claims,
        "published_one_shot": {a: {"0": v[0], "0.5": v[1]} for a, v in PUBLISHED_ONE_SHOT.items()},
        "digit_probabilities": digit_probabilities(cfg.zipf_exponent).tolist(),
        "train_digit_counts": counts.tolist(),
        "train_items": int(len(task.train)),
        "param_counts": {a: param_count(cfg.net(a)) for a in cfg.archs},
        "train_seconds": walls,
        "model_seeds": [int(s) for s in model_seeds[:R]],
        "target_variance": {name: float(np.var(task.targets(items))) for name, items in task.tests.items()},
        "notes": [
            "one-shot symbols are Fashion-MNIST training images (Omniglot is not available offline)",
            "means and SEs over models with different initialisation and data order on one training draw",
            "the published numbers are from docs/references.md §4 [summary]; the paper's encoders, "
            "optimiser and symbol values are not given there, so only the ordering is comparable",
        ],
    }


@EXPERIMENT.report
def report(results: dict, cfg: CompositionNets) -> str:
    t = results["table"]
    wds = list(next(iter(t.values())).keys())
    lines = [
        "Test loss is the mean squared error of the predicted sum (mean ± SE over seeds). "
        f"Training set: {results['train_items']} items; digit counts 0..9 in training slots: "
        f"{results['train_digit_counts']}. Target variance (the loss of predicting the mean): "
        + ", ".join(f"{k} {v:.2f}" for k, v in results["target_variance"].items())
        + ".",
        "",
        *table(
            ["architecture", "weight decay", *TEST_SETS, "train digits", "train symbols",
             "published one-shot"],
            (
                [arch, wd, *(pm(rows[wd][k], 3) for k in EVAL_SETS),
                 cell(results["published_one_shot"].get(arch, {}).get(wd), missing="")]
                for arch, rows in t.items()
                for wd in wds
            ),
        ),
    ]  # fmt: skip
    lines += ["", "Claims (paired differences over seeds):", ""]
    for c in results["claims"]:
        lines.append(f"- {c['claim']}: difference {pm(c['difference'], 3)}: {c['verdict']} (2 SE)")
    lines += [""] + [f"Note: {n}." for n in results["notes"]]
    return "\n".join(lines)
