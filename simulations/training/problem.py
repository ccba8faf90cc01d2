r"""The training setup shared by the memorization, removal and influence-pairs experiments.

:class:`SubsetTraining` holds every field that decides the t trained models: the data, the
model, the subsets (ratio r, seed) and the optimiser. :func:`subset_run` loads the data, draws
the masks and seeds, opens (or resumes) the model store and trains what is missing.

Random streams, by name (:data:`STREAMS`, :func:`stream`): ``data`` picks a fixed part of the data
(``train_size``/``test_size``), ``subsets`` the subsets, ``models`` the model seeds, and
``retraining`` the retraining seeds of the removal experiments; each is a fixed child of
``np.random.SeedSequence(seed)`` (:func:`~simulations.experiment.spawned_stream`). Masks and seeds
are therefore a pure function of the config, which is what lets a store be resumed and checked.

Where the store lives: ``store`` if set, else ``WORKDIR/.stores/<dataset>-<model>-<hash>``, with
WORKDIR the ``--out`` folder and hash the :func:`~simulations.store.config_hash` of the fields
in :data:`TRAINING_FIELDS` and of :attr:`Problem.fingerprint` (the data itself, so that other data
gets its own store). Experiments with the same training fields therefore share one store
(``tailmem reproduce`` trains the models once), and the store is kept after the run so that
re-running a command re-reads it instead of retraining.

Where the models are trained: ``backend`` ``local`` (this process, the default) or ``ray``
(one Ray task per batch of ``models_per_batch`` models on the cluster at ``ray_address``, each
asking for ``ray_cpus`` CPUs and, with device cuda, ``ray_gpus`` GPUs; :mod:`simulations.backends`).
These fields are not training fields: they leave the store's hash alone, so a store begun on
one backend is resumed on the other, and both give the same results bit for bit.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from simulations.backends import Backend
from simulations.data import DATASETS, Dataset, features, fixed_part, is_image, load_dataset
from simulations.data.npz_data import is_npz_name, npz_label
from simulations.estimators import check_coverage, subset_masks
from simulations.experiment import Context, spawned_stream
from simulations.results import LOCATION_FIELDS, array_digest
from simulations.store import ModelStore, config_hash
from simulations.training import MLP, ResNet, SmallCNN, SoftmaxRegression
from simulations.training.subsets import train_into_store
from theory._validate import check_finite, check_int

__all__ = [
    "SubsetTraining",
    "Problem",
    "SubsetRun",
    "TRAINING_FIELDS",
    "PLACEMENT_FIELDS",
    "backend_of",
    "prepare",
    "subset_run",
    "train_models",
    "STREAMS",
    "started",
    "stream",
]

MODELS = ("softmax", "mlp", "cnn", "resnet")
FEATURE_MAPS = ("pixels", "patches")


@dataclass(frozen=True)
class SubsetTraining:
    """t models, each trained by minibatch SGD on a random subset of ratio r of the training split."""

    dataset: str = "mnist1d"  # mnist1d | digits | mnist | fashion-mnist | cifar10 | PATH.npz (your own)
    data_dir: str = ""  # folder laid out as shared/data; "" = $TAILMEM_DATA (mnist1d, digits need none)
    train_size: int = 0  # 0 = the whole training split, else a fixed random part of it
    test_size: int = 0  # 0 = the whole test split, else a fixed random part of it
    features: str = "pixels"  # pixels | patches (images: Coates et al. 2011 single-layer features, cached)
    cache: str = ""  # folder of cached patch features; "" = <--out>/.cache/features
    model: str = "mlp"  # softmax | mlp | cnn | resnet (cnn, resnet: image datasets)
    hidden: tuple[int, ...] = (100, 100)  # mlp hidden widths
    channels: tuple[int, ...] = (16, 32)  # cnn conv channels; resnet stage widths (1 to 4)
    models: int = 2000  # t, the number of subset models
    ratio: float = 0.7  # r, subset size / training-split size
    paired: bool = False  # models in complementary pairs of halves (needs ratio 0.5, even models)
    epochs: int = 40
    batch_size: int = 32
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 0.0
    models_per_batch: int = 250  # models trained together, saved to the store after each batch
    device: str = "cpu"  # cpu | cuda
    store: str = ""  # store folder; "" = <--out>/.stores/<dataset>-<model>-<hash>
    seed: int = 0
    backend: str = "local"  # local | ray (Ray tasks; pip install "tailmem[ray]")
    ray_address: str = ""  # ray: "auto", HOST:6379 or ray://HOST:10001; "" = $RAY_ADDRESS or a new local one
    ray_cpus: int = 1  # ray: CPUs per task, also its torch threads
    ray_gpus: float = 1.0  # ray with device cuda: GPUs per task (fractions share a GPU)

    def __post_init__(self):
        if self.dataset not in DATASETS and not is_npz_name(self.dataset):
            raise ValueError(
                f"dataset must be one of {', '.join(DATASETS)} or a path to an .npz file; "
                f"got {self.dataset!r}"
            )
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}; got {self.model!r}")
        if self.features not in FEATURE_MAPS:
            raise ValueError(f"features must be one of {', '.join(FEATURE_MAPS)}; got {self.features!r}")
        if self.features == "patches" and self.model in ("cnn", "resnet"):
            raise ValueError(f"features: 'patches' gives vectors; use model softmax or mlp, not {self.model}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda'; got {self.device!r}")
        # 0 = the whole split; below 20 training examples a class may be absent, the Spearman
        # correlations and influence pairs have almost nothing to work on, and removing examples
        # can leave a retrained model no data
        for name, least in (("train_size", 20), ("test_size", 10)):
            size = check_int(name, getattr(self, name), low=0)
            if 0 < size < least:
                raise ValueError(f"{name} must be 0 (the whole split) or at least {least}; got {size}")
        for name, widths, widest in (("hidden", self.hidden, 65_536), ("channels", self.channels, 4096)):
            if not isinstance(widths, tuple) or not widths:
                raise ValueError(f"{name} must be a non-empty tuple of widths; got {widths!r}")
            for w in widths:
                check_int(f"{name} entry", w, low=1, high=widest)
        if self.model == "resnet" and not 1 <= len(self.channels) <= 4:
            raise ValueError(f"channels must hold 1 to 4 stage widths for a resnet; got {self.channels!r}")
        check_int("models", self.models, low=2, high=10**6)
        check_finite("ratio", self.ratio, low=0.0, high=1.0, low_open=True, high_open=True)
        if self.paired and (self.ratio != 0.5 or self.models % 2):
            raise ValueError(
                f"paired: complementary halves need ratio 0.5 and an even number of models; "
                f"got ratio {self.ratio:g}, models {self.models}"
            )
        check_int("epochs", self.epochs, low=1, high=100_000)
        check_int("batch_size", self.batch_size, low=1, high=65_536)
        check_finite("lr", self.lr, low=0.0, low_open=True)
        check_finite("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check_finite("weight_decay", self.weight_decay, low=0.0)
        check_int("models_per_batch", self.models_per_batch, low=1, high=100_000)
        check_int("seed", self.seed, low=0)
        if self.backend == "local" and self.ray_gpus != 1.0:
            raise ValueError(f"ray_gpus: only with backend 'ray'; got {self.ray_gpus!r} with backend 'local'")
        check_finite("ray_gpus", self.ray_gpus, low=0.0, high=64.0, low_open=True)
        backend_of(self)  # validates backend, ray_address, ray_cpus, and that Ray is installed


def backend_of(cfg: SubsetTraining) -> Backend:
    """Where ``cfg``'s models are trained: its ``backend`` and ``ray_*`` fields as a Backend."""
    if cfg.backend != "ray":
        return Backend(cfg.backend, cfg.ray_address, cfg.ray_cpus)
    gpus = cfg.ray_gpus if cfg.device == "cuda" else 0.0
    return Backend("ray", cfg.ray_address, cfg.ray_cpus, gpus)


# fields that decide where models are stored or trained, not what they are: outside the hash
PLACEMENT_FIELDS = tuple(f.name for f in dataclasses.fields(SubsetTraining) if f.name in LOCATION_FIELDS)
TRAINING_FIELDS = tuple(f.name for f in dataclasses.fields(SubsetTraining) if f.name not in PLACEMENT_FIELDS)


def training_config(cfg: SubsetTraining) -> dict:
    """The fields that decide the trained models (not where data or store are): with the data's
    fingerprint, the store's key."""
    out = {name: getattr(cfg, name) for name in TRAINING_FIELDS}
    if cfg.features == "pixels":  # the default: stores made before the field existed keep their keys
        del out["features"]
    else:  # patches: the recipe's version and parameters decide the inputs too
        from simulations.data.patches import RECIPE, PatchFeatures

        out["patch_recipe"] = f"{RECIPE} {sorted(dataclasses.asdict(PatchFeatures()).items())}"
    return out


# the subset experiments' random streams; a name keeps its place for good (new ones are appended)
STREAMS = ("data", "subsets", "models", "retraining")


def stream(cfg: SubsetTraining, name: str) -> np.random.SeedSequence:
    """The random stream ``name`` (one of :data:`STREAMS`) of ``cfg``'s seed."""
    return spawned_stream(cfg.seed, STREAMS, name)


# the recipe of simulations.data.features (scaling and standardisation), part of the data fingerprint
FEATURES = "features-v1: images / 255 standardised per channel, vectors per feature, train statistics"


@dataclass(frozen=True, eq=False)
class Problem:
    """The data as trained on: standardised features, labels, and which original rows they are."""

    data: Dataset
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray  # rows of data.x_train used, increasing
    test_index: np.ndarray
    spec: object

    @property
    def n(self) -> int:
        return len(self.y_train)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 (first 16 hex digits) of the raw data splits and the rows taken from them.

        Part of the store's key: the same configuration on other data (another ``data_dir``,
        another copy of a dataset) gets its own store instead of another's models. The raw
        arrays are hashed, not the standardised features, whose last bits may change with the
        numpy build; :data:`FEATURES` names the feature recipe, to be changed with it.
        """
        d = self.data  # whole splits: the standardisation uses the whole training split
        return array_digest(d.x_train, d.y_train, d.x_test, d.y_test, self.train_index, self.test_index,
                            prefix=FEATURES)  # fmt: skip


def prepare(cfg: SubsetTraining, workdir: str | Path | None = None) -> Problem:
    """Load the dataset, take the configured part of it, standardise (or map to patch features,
    cached in ``cfg.cache`` or WORKDIR/.cache/features), and build the model spec."""
    data = load_dataset(cfg.dataset, cfg.data_dir or None)
    rng = np.random.default_rng(stream(cfg, "data"))
    tr = fixed_part(cfg.train_size, len(data.y_train), rng, "train_size")
    te = fixed_part(cfg.test_size, len(data.y_test), rng, "test_size")
    if cfg.features == "patches":
        if not is_image(data):
            raise ValueError(f"features: 'patches' needs an image dataset; {cfg.dataset} holds vectors")
        from simulations.data.patches import PatchFeatures, patch_features

        cache = cfg.cache or (None if workdir is None else Path(workdir) / ".cache" / "features")
        f_train, f_test = patch_features(data.x_train, data.x_test, PatchFeatures(), cache, log=_log(cfg))
        mean, std = f_train.mean(axis=0, dtype=np.float64), f_train.std(axis=0, dtype=np.float64)
        std = np.where(std > 0, std, 1.0)
        x_train = ((f_train - mean) / std).astype(np.float32)
        x_test = ((f_test - mean) / std).astype(np.float32)
    else:
        x_train, x_test = features(data)
    x_train, x_test = x_train[tr], x_test[te]
    classes = len(data.classes)
    in_dim = int(np.prod(x_train.shape[1:]))
    if cfg.model == "softmax":
        spec = SoftmaxRegression(in_dim=in_dim, classes=classes)
    elif cfg.model == "mlp":
        spec = MLP(in_dim=in_dim, hidden=tuple(cfg.hidden), classes=classes)
    else:
        if not is_image(data):
            raise ValueError(f"model '{cfg.model}' needs an image dataset; {cfg.dataset} holds vectors")
        c, h, w = x_train.shape[1:]
        conv = SmallCNN if cfg.model == "cnn" else ResNet
        spec = conv(in_channels=c, height=h, width=w, classes=classes, channels=tuple(cfg.channels))
    return Problem(data, x_train, data.y_train[tr], x_test, data.y_test[te], tr, te, spec)


@dataclass(frozen=True, eq=False)
class SubsetRun:
    """The t models' results: masks (t, n), 0/1 correctness on train (t, n) and test (t, k)."""

    problem: Problem
    masks: np.ndarray
    seeds: np.ndarray
    correct_train: np.ndarray
    correct_test: np.ndarray
    store: str
    trained_now: int  # models trained by this call (0 when the store was complete)
    train_seconds: float


def store_folder(
    cfg: SubsetTraining, workdir: str | Path, name: str = "", key: dict | None = None, *, data: str
) -> Path:
    """Where the models of ``cfg`` (and of a retraining ``name`` with extra ``key`` fields) are stored.

    ``data`` is the :attr:`Problem.fingerprint` of the data they are trained on.
    """
    suffix = f"-{name}" if name else ""
    if cfg.store:
        return Path(cfg.store + suffix)
    h = config_hash({**training_config(cfg), **(key or {}), "data": data})
    return Path(workdir) / ".stores" / f"{npz_label(cfg.dataset)}-{cfg.model}{suffix}-{h}"


def _log(cfg: SubsetTraining):
    return lambda msg: print(f"[{npz_label(cfg.dataset)}] {msg}", file=sys.stderr, flush=True)


def train_models(
    cfg: SubsetTraining,
    prob: Problem,
    workdir: str | Path,
    masks: np.ndarray,
    seeds: np.ndarray,
    *,
    name: str = "",
    key: dict | None = None,
    log=None,
) -> tuple[np.ndarray, np.ndarray, str, int, float]:
    """Train one model per row of ``masks`` (bool (m, n)) with ``cfg``'s optimiser, through a store.

    ``name`` and ``key`` (the extra fields that decide the masks, e.g. thresholds) distinguish the
    stores of retraining runs from the subset models' own. Returns (correct_train (m, n),
    correct_test (m, k), store folder, models trained now, seconds).
    """
    if cfg.backend == "local":  # with ray the GPUs are on the workers
        from simulations.training.engine import require_device

        require_device(cfg.device)
    config = {**training_config(cfg), **(key or {}), **({"retraining": name} if name else {})}
    config["data"] = prob.fingerprint  # an explicit store= folder refuses models of other data
    folder = store_folder(cfg, workdir, name, key, data=prob.fingerprint)
    store = ModelStore(folder, config, masks, seeds, n_test=len(prob.y_test))
    t0 = time.perf_counter()
    trained = train_into_store(
        store, prob.spec, prob.x_train, prob.y_train, prob.x_test, prob.y_test,
        models_per_batch=cfg.models_per_batch, epochs=cfg.epochs, batch_size=cfg.batch_size,
        lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, device=cfg.device,
        backend=backend_of(cfg), log=log or _log(cfg),
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    _, ct, cs = store.load()
    return ct, cs, str(store.folder), trained, seconds


def started(cfg: SubsetTraining, ctx: Context | None, own: tuple[str, ...] = ()) -> tuple[Path, SubsetRun]:
    """A subset experiment's run under way: its streams recorded in ``ctx`` (``data``, ``subsets``,
    ``models`` and its ``own``) and the subset models trained (or read); returns (work folder,
    :func:`subset_run`)."""
    ctx = ctx or Context.for_config(cfg)
    ctx.record_spawned(cfg.seed, STREAMS, ("data", "subsets", "models", *own))
    return Path(ctx.workdir), subset_run(cfg, ctx.workdir)


def subset_run(cfg: SubsetTraining, workdir: str | Path, *, log=None) -> SubsetRun:
    """Train (or resume, or re-read) the t subset models of ``cfg`` and return their results.

    Bad settings are refused before anything is written: too few models for every example to
    be both in and out of some subset, a missing CUDA device, a store of another configuration.
    """
    prob = prepare(cfg, workdir)
    rng = np.random.default_rng(stream(cfg, "subsets"))
    masks = subset_masks(prob.n, cfg.models, ratio=cfg.ratio, paired=cfg.paired, rng=rng)
    try:
        check_coverage(masks, minimum=1)
    except ValueError as exc:
        raise ValueError(f"models: {str(exc).removeprefix('t: ')}") from None
    seeds = np.random.default_rng(stream(cfg, "models")).integers(0, 2**62, size=cfg.models)
    ct, cs, folder, trained, seconds = train_models(cfg, prob, workdir, masks, seeds, log=log)
    return SubsetRun(prob, masks, seeds, ct, cs, folder, trained, seconds)
