r"""Memorization and influence of *your* training examples, from one function call.

:func:`memorization` trains ``models`` networks, each on a random subset of ratio ``ratio`` of
your training set, as stacked batches (:mod:`simulations.training`), and estimates for every
training example i (Feldman & Zhang 2020, arXiv 2008.03703, Section 2)

.. math:: \widetilde{\mathrm{mem}}(i) = \Pr[h(x_i) = y_i \mid i \in S_k]
          - \Pr[h(x_i) = y_i \mid i \notin S_k],

the two probabilities being the fractions of the models that did and did not train on i; with
its standard error, the held-out accuracy (the C-score at this ratio) and, given a test set,
the influence :math:`\widetilde{\mathrm{infl}}(i, j)` on each test example j. With ``store`` the
trained models' results are kept in a resumable model store (a killed call resumes).

Models: ``"mlp"`` (``hidden`` widths), ``"softmax"``, or your own: a zero-argument callable that
returns a ``torch.nn.Module`` mapping (n, features) to (n, classes) logits, trained as one
``vmap`` batch (:class:`simulations.training.custom.ModuleSpec`; modules with buffers or dropout
are refused with the reason). Inputs are flattened per example.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulations.estimators import (
    check_coverage,
    heldout_accuracy,
    high_influence_pairs,
    influence,
    influence_top_k,
    subset_masks,
)
from simulations.estimators import memorization as _mem_estimate
from simulations.experiment import spawned_stream
from simulations.results import array_digest, atomic_savez, atomic_write_json, provenance, read_npz
from simulations.stats import mean_se
from theory._validate import check_finite, check_int

__all__ = ["MemorizationResult", "memorization", "load"]

MODELS = ("mlp", "softmax")


def _as_array(name: str, a) -> np.ndarray:
    if hasattr(a, "detach"):  # a torch tensor
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if a.dtype == object:
        raise ValueError(f"{name} must be a numeric array; got an array of Python objects")
    return a


def _check_xy(name_x: str, x, name_y: str, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = _as_array(name_x, x), _as_array(name_y, y)
    if x.ndim < 2:
        raise ValueError(
            f"{name_x} must have one row per example (2 or more dimensions); got shape {x.shape}"
        )
    if y.ndim != 1:
        raise ValueError(f"{name_y} must be 1-d (one label per example); got shape {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{name_x} and {name_y} must have the same length; got {len(x)} and {len(y)}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise ValueError(f"{name_x} must hold finite numbers (no NaN or inf)")
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"{name_y} must hold integer class labels; got dtype {y.dtype}")
        raise ValueError(f"{name_y} must hold integer class labels; got floats (cast them: y.astype(int))")
    return x.reshape(len(x), -1).astype(np.float32), y


@dataclass(frozen=True)
class MemorizationResult:
    """Per-example estimates from ``models`` subset models (arrays indexed like your data).

    ``mem``, ``mem_se`` (n,): memorization and its standard error; ``heldout``, ``heldout_se``
    (n,): accuracy of the models that did not train on each example; ``test_accuracy``: mean
    and SE over models; ``classes``: your label of each class index (labels are mapped to
    0..C-1 in sorted order); ``masks`` (t, n), ``correct_train`` (t, n), ``correct_test``
    (t, k): what the estimates are made of; ``config``: the call's settings and seed.
    """

    mem: np.ndarray
    mem_se: np.ndarray
    heldout: np.ndarray
    heldout_se: np.ndarray
    test_accuracy: dict
    classes: np.ndarray
    masks: np.ndarray
    correct_train: np.ndarray
    correct_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    config: dict = field(default_factory=dict)

    def influence(self) -> tuple[np.ndarray, np.ndarray]:
        """Dense infl~(i, j) (n, k) and its standard errors (needs a test set)."""
        self._need_test()
        return influence(self.correct_test, self.masks)

    def influence_top_k(self, k: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each test example, the ``k`` most influential training examples: (indices, values,
        standard errors), each (n_test, k), in decreasing order."""
        self._need_test()
        return influence_top_k(self.correct_test, self.masks, top=k)

    def high_influence_pairs(
        self, *, mem_threshold: float = 0.25, infl_threshold: float = 0.15
    ) -> np.ndarray:
        """Feldman & Zhang's high-influence pairs: (train i, test j) rows, int (pairs, 2), with mem~(i)
        and infl~(i, j) above the thresholds and the same class, by decreasing influence."""
        infl, _ = self.influence()
        return high_influence_pairs(
            self.mem,
            infl,
            self.y_train,
            self.y_test,
            mem_threshold=mem_threshold,
            infl_threshold=infl_threshold,
        )

    def _need_test(self) -> None:
        if self.correct_test.shape[1] == 0:
            raise ValueError("x_test, y_test: influence needs a test set; pass them to tailmem.memorization")

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/memorization.npz`` and ``folder/memorization.json`` (config, provenance)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {
            k: getattr(self, k)
            for k in (
                "mem",
                "mem_se",
                "heldout",
                "heldout_se",
                "classes",
                "masks",
                "correct_train",
                "correct_test",
                "y_train",
                "y_test",
            )
        }
        atomic_savez(folder / "memorization.npz", **arrays)
        atomic_write_json(
            folder / "memorization.json",
            {"config": self.config, "test_accuracy": self.test_accuracy, "provenance": provenance()},
        )
        return folder


# the random streams, each a fixed child of SeedSequence(seed) (spawned_stream); new ones are appended
STREAMS = ("masks", "seeds")


def load(folder: str | Path) -> MemorizationResult:
    """A :class:`MemorizationResult` saved by :meth:`MemorizationResult.save` (never unpickled)."""
    folder = Path(folder)
    meta_path, arr_path = folder / "memorization.json", folder / "memorization.npz"
    if not meta_path.is_file() or not arr_path.is_file():
        raise ValueError(f"folder: {folder} holds no saved memorization result (memorization.json, .npz)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"folder: {meta_path} is not readable ({exc})") from None
    a = read_npz(arr_path)
    return MemorizationResult(**a, test_accuracy=meta["test_accuracy"], config=meta["config"])


def memorization(
    x_train,
    y_train,
    x_test=None,
    y_test=None,
    *,
    model="mlp",
    hidden: tuple[int, ...] = (100, 100),
    models: int = 200,
    ratio: float = 0.7,
    epochs: int = 20,
    batch_size: int = 32,
    lr: float = 0.02,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    optimizer: str = "sgd",
    models_per_batch: int = 64,
    seed: int = 0,
    store: str | Path | None = None,
    device: str = "cpu",
    backend: str = "local",
    ray_address: str = "",
    progress: bool = True,
) -> MemorizationResult:
    r"""Memorization estimates of every training example (module docstring), from your arrays.

    ``x_*`` (n, ...) numeric (numpy or torch; flattened per example), ``y_*`` (n,) integer labels
    of any values (mapped to 0..C-1, the mapping kept in ``result.classes``; a test label unseen
    in training is refused). Inputs are standardised with the training set's mean and SD per
    feature. Minibatch SGD with momentum, as ``torch.optim.SGD``, or ``optimizer="adamw"``, as
    ``torch.optim.AdamW`` (``weight_decay`` decoupled), on each model's own subset;
    random streams from ``seed`` only (masks, then model seeds). ``store``: a folder for a
    resumable model store (default: a temporary one, deleted afterwards). ``backend="ray"``
    trains the batches as Ray tasks (``ray_address``: a cluster; "" starts or joins Ray's
    default), with results identical to local training (docs/cluster.md).
    """
    from simulations.backends import Backend
    from simulations.store import ModelStore
    from simulations.training.engine import require_device
    from simulations.training.models import MLP, SoftmaxRegression
    from simulations.training.subsets import train_into_store

    x, y = _check_xy("x_train", x_train, "y_train", y_train)
    if (x_test is None) != (y_test is None):
        raise ValueError("x_test, y_test: give both or neither")
    if x_test is None:
        xt, yt = np.zeros((0, x.shape[1]), np.float32), np.zeros(0, dtype=y.dtype)
    else:
        xt, yt = _check_xy("x_test", x_test, "y_test", y_test)
        if xt.shape[1] != x.shape[1]:
            raise ValueError(
                f"x_test must have {x.shape[1]} features per example like x_train; got {xt.shape[1]}"
            )
    classes, yi = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"y_train must hold at least 2 classes; got only {classes.tolist()}")
    unknown = np.setdiff1d(yt, classes)
    if unknown.size:
        raise ValueError(f"y_test holds labels absent from y_train: {unknown[:5].tolist()}")
    yti = np.searchsorted(classes, yt)
    if not callable(model) and model not in MODELS:
        raise ValueError(
            f"model must be one of {', '.join(MODELS)} or a callable returning a torch.nn.Module; "
            f"got {model!r}"
        )
    models = check_int("models", models, low=2, high=10**6)
    check_finite("ratio", ratio, low=0.0, high=1.0, low_open=True, high_open=True)
    check_int("seed", seed, low=0)
    require_device(device)
    if optimizer not in ("sgd", "adamw"):
        raise ValueError(f"optimizer must be 'sgd' (momentum, weight decay) or 'adamw'; got {optimizer!r}")
    where = Backend(backend, ray_address) if backend == "ray" or ray_address else Backend(backend)
    if callable(model):
        from simulations.training.custom import ModuleSpec

        spec = ModuleSpec(model, x.shape[1], classes.size)
        model_name = f"custom:{type(spec.template).__name__}:{spec.fingerprint()}"
    elif model == "mlp":
        spec, model_name = MLP(x.shape[1], tuple(hidden), classes.size), "mlp"
    else:
        spec, model_name = SoftmaxRegression(x.shape[1], classes.size), "softmax"
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    x, xt = ((x - mu) / sd).astype(np.float32), ((xt - mu) / sd).astype(np.float32)
    ss_masks, ss_seeds = (spawned_stream(seed, STREAMS, name) for name in STREAMS)
    masks = subset_masks(len(y), models, ratio=ratio, rng=np.random.default_rng(ss_masks))
    try:
        check_coverage(masks)
    except ValueError as exc:  # it names the estimator's t; the caller's argument is models
        raise ValueError("models" + str(exc)[1:] if str(exc).startswith("t:") else str(exc)) from None
    seeds = np.random.default_rng(ss_seeds).integers(0, 2**62, size=models)
    config = {
        "model": model_name,
        "hidden": list(hidden) if model_name == "mlp" else None,
        "models": models,
        "ratio": ratio,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "optimizer": optimizer,
        "models_per_batch": models_per_batch,
        "seed": seed,
        "data": array_digest(x, yi, xt, yti),
        "classes": classes.tolist(),
    }
    log = (lambda msg: print(msg, flush=True)) if progress else (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="tailmem-store-") as tmp:
        folder = Path(store) if store is not None else Path(tmp)
        st = ModelStore(folder, config, masks, seeds, n_test=len(yti))
        train_into_store(
            st,
            spec,
            x,
            yi,
            xt,
            yti,
            models_per_batch=models_per_batch,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            optimizer=optimizer,
            device=device,
            backend=where,
            log=log,
        )
        _, ct, cs = st.load()
    mem = _mem_estimate(ct, masks)
    held = heldout_accuracy(ct, masks)
    acc = mean_se(cs.mean(axis=1)) if cs.shape[1] else {"mean": None, "se": None, "count": 0}
    return MemorizationResult(
        mem.value, mem.se, held.value, held.se, acc, classes, masks, ct, cs, y, yt, config
    )
