r"""Batched subset training: B independent models, one forward/backward pass per step.

Feldman & Zhang (2020, arXiv 2008.03703) estimate memorization and influence by training many
models, each on a random subset of the training set. Here model b has its own subset
(``masks[b]``), its own initialisation seed and its own data order (see
:mod:`simulations.training.order` for the exact convention), and its parameters are stacked on a
leading axis of size B. One step evaluates

.. math:: g_b = \nabla_{\theta_b} \frac{\sum_j w_{bj} \mathrm{CE}(f(\theta_b, x_{bj}), y_{bj})}{\sum_j w_{bj}}

for all b at once, either with ``torch.func.vmap(torch.func.grad(loss))`` (any spec; weights
:math:`w_{bj}` are 0 on padding) or, for MLPs and softmax regression, with the hand-written
batched matmuls of :mod:`simulations.training.dense`, then applies ``torch.optim.SGD``'s update
per model (dampening 0, no Nesterov):

.. math:: g \leftarrow g + \lambda\theta,\quad v \leftarrow \mu v + g,\quad \theta \leftarrow \theta - \eta v

(:math:`v` starts at 0, so the first step sets :math:`v = g` exactly as SGD does), only for
models that have a minibatch at this step. The same code runs on CPU and CUDA; every random draw
comes from an explicit CPU ``torch.Generator``, so results do not depend on the device's RNG.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from simulations.threads import group_workers
from simulations.training.dense import dense_layers, dense_sgd_step, is_dense
from simulations.training.models import ModelSpec, stack_params
from simulations.training.order import epoch_schedule, init_generator
from theory._validate import check_finite, check_int

__all__ = [
    "init_stacked",
    "train_batched",
    "train_snapshots",
    "default_group_size",
    "logits_batched",
    "predict_batched",
    "probabilities_batched",
    "correctness_batched",
    "check_training_args",
    "check_epochs",
    "require_device",
    "exact_kernels",
]


def init_stacked(spec: ModelSpec, seeds) -> dict[str, Tensor]:
    """Stacked float32 CPU parameters of B models; entry [b] is ``spec.init(init_generator(seeds[b]))``."""
    seeds = _check_seeds(seeds)
    return stack_params([spec.init(init_generator(s)) for s in seeds])


def _check_seeds(seeds) -> list[int]:
    arr = np.asarray(seeds)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"seeds must be a non-empty 1-d array of integers; got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"seeds must be integers; got dtype {arr.dtype}")
    return [check_int("seeds entry", int(s), low=0, high=2**63 - 1) for s in arr]


@contextmanager
def exact_kernels():
    """cuDNN convolutions made deterministic and kept in float32 (no TF32) while inside.

    Only cuDNN's (CUDA) convolutions are affected; CPU results do not change. cuDNN may otherwise
    pick a nondeterministic convolution algorithm (``cudnn.deterministic``), so a batch
    retrained after a kill could differ in its last bits, and on Ampere and later it runs float32
    convolutions in TF32 (about 1e-3 relative error). Matrix products are already IEEE float32
    by default. torch >= 2.9 is told through ``cudnn.conv.fp32_precision = "ieee"`` (code run
    inside must not use the legacy ``cudnn.allow_tf32``: torch refuses a mix of the two), older
    torch through ``cudnn.allow_tf32 = False``. The previous settings come back on exit. The
    flags are process-wide: threads training at the same time may restore each other's. Usable
    as a decorator.
    """
    c = torch.backends.cudnn
    new_api = hasattr(getattr(c, "conv", None), "fp32_precision")
    old = (c.deterministic, c.benchmark, c.conv.fp32_precision if new_api else c.allow_tf32)
    c.deterministic, c.benchmark = True, False
    if new_api:
        c.conv.fp32_precision = "ieee"
    else:  # torch < 2.9
        c.allow_tf32 = False
    try:
        yield
    finally:
        c.deterministic, c.benchmark = old[0], old[1]
        if new_api:
            c.conv.fp32_precision = old[2]
        else:
            c.allow_tf32 = old[2]


def require_device(device: str, *, name: str = "device") -> str:
    """Return ``device`` ('cpu' or 'cuda') if torch can use it here; else ValueError naming ``name``."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"{name} must be 'cpu' or 'cuda'; got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}: 'cuda' was asked for but torch sees no CUDA device; use {name}=cpu")
    return device


OPTIMIZERS = ("sgd", "adamw")
LOSSES = ("cross_entropy", "squared_error")
ADAMW_BETAS, ADAMW_EPS = (0.9, 0.999), 1e-8  # torch.optim.AdamW's defaults


def check_training_args(
    spec,
    x,
    y,
    masks,
    seeds,
    *,
    epochs,
    batch_size,
    lr,
    momentum,
    weight_decay,
    dtype,
    optimizer="sgd",
    loss="cross_entropy",
) -> tuple[Tensor, Tensor, Tensor, list[int], dict]:
    """Validate training inputs; return CPU tensors (x in ``dtype``, y int64 labels, or targets in
    ``dtype`` for ``loss="squared_error"``, masks bool), seeds, hyper.

    Raises ValueError naming the parameter, its value and the valid range.
    """
    hyper = {
        "epochs": check_int("epochs", epochs, low=1),
        "batch_size": check_int("batch_size", batch_size, low=1),
        "lr": check_finite("lr", lr, low=0.0, low_open=True),
        "momentum": check_finite("momentum", momentum, low=0.0, high=1.0, high_open=True),
        "weight_decay": check_finite("weight_decay", weight_decay, low=0.0),
        "optimizer": optimizer,
        "loss": loss,
    }
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype must be a floating torch.dtype; got {dtype!r}")
    x = torch.as_tensor(x).detach().to("cpu", dtype)
    y = torch.as_tensor(y).detach().to("cpu")
    masks = torch.as_tensor(masks).detach().to("cpu")
    n = x.shape[0] if x.ndim > 0 else 0
    in_dim = getattr(spec, "in_dim", None)  # specs without it (sum networks) check their inputs when applied
    if n == 0 or (in_dim is not None and x[0].numel() != in_dim):
        raise ValueError(
            f"x must have shape (n >= 1, ...) with {in_dim} features per row; got {tuple(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError("x must be finite; got NaN or inf entries")
    if loss == "squared_error":
        if y.shape != (n,) or not torch.isfinite(y.to(dtype)).all():
            raise ValueError(f"y must be finite targets of shape ({n},); got {tuple(y.shape)}")
        y = y.to(dtype)
    elif y.shape != (n,) or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"y must be an integer array of shape ({n},); got {tuple(y.shape)} {y.dtype}")
    else:
        y = y.to(torch.int64)
        if y.min() < 0 or y.max() >= spec.classes:
            lo, hi = int(y.min()), int(y.max())
            raise ValueError(f"y must lie in [0, {spec.classes - 1}]; got range [{lo}, {hi}]")
    seeds = _check_seeds(seeds)
    if masks.dtype != torch.bool or masks.shape != (len(seeds), n):
        raise ValueError(
            f"masks must be a bool array of shape (B, n) = ({len(seeds)}, {n}); "
            f"got {tuple(masks.shape)} {masks.dtype}"
        )
    sizes = masks.sum(1)
    if (sizes == 0).any():
        empty = torch.nonzero(sizes == 0).flatten().tolist()
        raise ValueError(f"masks must select at least one example for every model; models {empty} are empty")
    return x, y, masks, seeds, hyper


def _weighted_loss(spec: ModelSpec, loss: str = "cross_entropy"):
    """Per-model loss: the weighted mean over one model's padded minibatch of the cross-entropy
    (labels) or of the squared error (``spec.apply`` giving one number per example)."""

    def cross_entropy(params, xb, yb, wb):
        ce = F.cross_entropy(spec.apply(params, xb), yb, reduction="none")
        return (ce * wb).sum() / wb.sum().clamp(min=1.0)

    def squared_error(params, xb, yb, wb):
        err = (spec.apply(params, xb) - yb) ** 2
        return (err * wb).sum() / wb.sum().clamp(min=1.0)

    return cross_entropy if loss == "cross_entropy" else squared_error


def default_group_size(device) -> int:
    """Models trained together per group: 64 on CPU (a group's activations stay in cache), 4096 on CUDA.

    64 was the fastest of 16..256 for MLPs 40-100-100-10 at batch sizes 32..128 on the 2-core dev
    machine (differences there are within its ~20% timing noise).
    """
    return 4096 if torch.device(device).type == "cuda" else 64


def train_batched(spec: ModelSpec, x, y, masks, seeds, *, epochs: int, **kwargs) -> dict[str, Tensor]:
    """Train B independent models, model b on the examples with ``masks[b]`` True.

    ``x`` (n, ...) features, ``y`` (n,) integer labels in [0, classes), ``masks`` bool (B, n),
    ``seeds`` (B,) non-negative ints (init and data order, see :mod:`~simulations.training.order`).
    Minibatch SGD on the mean cross-entropy with ``momentum`` in [0, 1) and L2 ``weight_decay``
    exactly as ``torch.optim.SGD``; or, with ``optimizer="adamw"``, as ``torch.optim.AdamW``
    (betas 0.9, 0.999, eps 1e-8, decoupled ``weight_decay``; ``momentum`` unused), through the
    vmap path, each model counting its own steps. ``lr`` and ``weight_decay`` are one number for
    every model or one per model (shape (B,)). ``loss="squared_error"`` trains regressors instead
    (``y`` real targets, ``spec.apply`` one number per example; the vmap path), on the weighted
    mean squared error of each model's minibatch.

    Models are independent, so they are trained in groups of ``group_size`` (default
    :func:`default_group_size`), each group through all epochs. ``method`` is ``"dense"`` (the
    hand-written batched matmuls of :mod:`~simulations.training.dense`, MLP and softmax
    regression only), ``"vmap"`` (``torch.func.vmap(grad(loss))``, any spec) or ``"auto"``
    (dense where it applies). ``progress(done, total)`` is called after each epoch of each
    group, ``total`` = groups x epochs, from whichever thread trained it. On the CPU, ``workers``
    threads (default :func:`simulations.threads.group_workers`: the cores over torch's intra-op
    threads) train different groups side by side; a group is always trained by one thread from
    start to end, so the result does not depend on ``workers``. Returns the stacked parameters,
    each of shape (B, ...), in ``dtype`` on ``device``. Model b's result equals
    :func:`simulations.training.reference.train_one` on ``(masks[b], seeds[b])`` up to float
    round-off, whatever the group size, method and other models. The keyword arguments and their
    defaults are those of :func:`train_snapshots` (``batch_size``, ``lr``, ``momentum`` 0.9,
    ``weight_decay`` 0, ``optimizer`` "sgd", ``loss`` "cross_entropy", ``device`` "cpu",
    ``dtype`` float32, ``group_size``, ``method`` "auto", ``progress``, ``workers``).
    """
    snaps = train_snapshots(spec, x, y, masks, seeds, epochs=(epochs,), **kwargs)
    return next(iter(snaps.values()))


@exact_kernels()
def train_snapshots(
    spec: ModelSpec,
    x,
    y,
    masks,
    seeds,
    *,
    epochs: tuple[int, ...],
    batch_size: int,
    lr,
    momentum: float = 0.9,
    weight_decay=0.0,
    optimizer: str = "sgd",
    loss: str = "cross_entropy",
    device="cpu",
    dtype: torch.dtype = torch.float32,
    group_size: int | None = None,
    method: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> dict[int, dict[str, Tensor]]:
    """:func:`train_batched` for ``max(epochs)`` epochs, returning ``{E: stacked parameters}`` after
    each E in ``epochs`` (a strictly increasing tuple). The data order of epoch e depends only on
    (seed, e), so the snapshot at E is the model trained for E epochs: a sweep over training
    lengths costs one run of the longest.
    """
    epochs = check_epochs(epochs)
    B = len(np.asarray(seeds).reshape(-1))
    lrs, wds = _per_model("lr", lr, B, low_open=True), _per_model("weight_decay", weight_decay, B)
    x, y, masks, seeds, h = check_training_args(
        spec, x, y, masks, seeds, epochs=epochs[-1], batch_size=batch_size,
        lr=lr if lrs is None else float(lrs.max()), momentum=momentum,
        weight_decay=weight_decay if wds is None else float(wds.max()), dtype=dtype, optimizer=optimizer,
        loss=loss,
    )  # fmt: skip
    if method not in ("auto", "dense", "vmap"):
        raise ValueError(f"method must be 'auto', 'dense' or 'vmap'; got {method!r}")
    if method == "dense" and not is_dense(spec):
        raise ValueError(f"method 'dense' needs an MLP or SoftmaxRegression; got {type(spec).__name__}")
    if method == "dense" and optimizer != "sgd":
        raise ValueError(f"method 'dense' trains with SGD only; got optimizer {optimizer!r} (use 'vmap')")
    if method == "dense" and loss != "cross_entropy":
        raise ValueError(f"method 'dense' trains on the cross-entropy only; got loss {loss!r} (use 'vmap')")
    dense = (optimizer, loss) == ("sgd", "cross_entropy") and (
        method == "dense" or (method == "auto" and is_dense(spec))
    )
    device = torch.device(device)
    G = default_group_size(device) if group_size is None else check_int("group_size", group_size, low=1)
    x, y = x.to(device), y.to(device)
    step = (
        _dense_step(spec, h) if dense else (_vmap_adamw_step if optimizer == "adamw" else _vmap_step)(spec, h)
    )
    groups = [range(a, min(a + G, len(seeds))) for a in range(0, len(seeds), G)]
    total = len(groups) * h["epochs"]
    if workers is not None:
        check_int("workers", workers, low=1, high=1024)
    workers = 1 if device.type != "cpu" else min(len(groups), group_workers() if workers is None else workers)
    tracker = _Progress(progress, total)

    def group_value(per_model, scalar, grp: range):
        """The group's lr or weight decay: the scalar, or a (G,) tensor where values come per model
        (0.0 for a group whose per-model values are all 0: no decay term at all)."""
        if per_model is None:
            return scalar
        values = per_model[grp.start : grp.stop]
        return 0.0 if not values.any() else torch.as_tensor(values, dtype=dtype, device=device)

    def train_group(grp: range) -> list[dict[str, Tensor]]:
        group_seeds = seeds[grp.start : grp.stop]
        params = {k: v.to(device, dtype) for k, v in init_stacked(spec, group_seeds).items()}
        bufs = _optimizer_state(params, optimizer)
        hg = {"lr": group_value(lrs, h["lr"], grp), "weight_decay": group_value(wds, h["weight_decay"], grp)}
        subsets = [torch.nonzero(masks[b]).flatten() for b in grp]
        snapshots = []
        for epoch in range(h["epochs"]):
            index, weight, active = epoch_schedule(subsets, group_seeds, epoch, h["batch_size"])
            all_active = active.all(dim=1).tolist()  # on the CPU: no device sync per step
            index, weight, active = index.to(device), weight.to(device, dtype), active.to(device)
            for s in range(index.shape[0]):
                if tracker.stopped:
                    raise _Stopped
                if all_active[s]:
                    step(params, bufs, x[index[s]], y[index[s]], weight[s], hg)
                    continue
                # some models have no chunk at this step: they keep parameters and optimizer state
                old = [(d, {k: v.clone() for k, v in d.items()}) for d in (params, bufs)]
                step(params, bufs, x[index[s]], y[index[s]], weight[s], hg)
                for d, saved in old:
                    for k, prev in saved.items():
                        a = active[s].reshape(-1, *([1] * (prev.ndim - 1)))
                        d[k].copy_(torch.where(a, d[k], prev))
            if epoch + 1 in epochs:
                last = epoch + 1 == h["epochs"]
                snapshots.append(params if last else {k: v.clone() for k, v in params.items()})
            tracker.advance()
        return snapshots

    if workers <= 1:
        out = [train_group(grp) for grp in groups]
    else:
        out = _map_on_threads(train_group, groups, workers, tracker)
    return {
        e: out[0][i] if len(out) == 1 else {k: torch.cat([o[i][k] for o in out]) for k in out[0][i]}
        for i, e in enumerate(epochs)
    }


def check_epochs(epochs) -> tuple[int, ...]:
    """``epochs`` as a strictly increasing tuple of epoch counts >= 1; ValueError naming it otherwise."""
    if not isinstance(epochs, tuple) or not epochs:
        raise ValueError(f"epochs must be a non-empty tuple of epoch counts; got {epochs!r}")
    out = tuple(check_int("epochs", e, low=1) for e in epochs)
    if any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"epochs must be strictly increasing; got {epochs}")
    return out


def _per_model(name: str, value, B: int, *, low_open: bool = False) -> np.ndarray | None:
    """None for one number (checked later with the other arguments), else the (B,) float64 values,
    each finite and >= 0 (> 0 with ``low_open``); ValueError naming ``name`` otherwise."""
    if np.ndim(value) == 0:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (B,):
        raise ValueError(f"{name} must be one number or one per model, shape ({B},); got shape {arr.shape}")
    for v in arr:
        check_finite(f"{name} entry", v, low=0.0, low_open=low_open)
    return arr


class _Stopped(Exception):
    """Raised inside a group worker once another worker failed or the caller was interrupted."""


class _Progress:
    """Epochs done over all groups, reported through ``progress(done, total)`` from any thread;
    ``stopped`` tells group workers to give up (set when one fails or the caller is interrupted)."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int):
        self.progress, self.total, self.done, self.stopped = progress, total, 0, False
        self.lock = threading.Lock()

    def advance(self) -> None:
        with self.lock:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)


def _map_on_threads(fn, groups: list, workers: int, tracker: _Progress) -> list:
    """``[fn(g) for g in groups]`` on ``workers`` threads, in the order of ``groups``.

    Each group is trained by one thread from start to end with single-threaded kernels, so its
    arithmetic, and its result, is the same whichever thread runs it and whatever runs beside it.
    torch releases the GIL inside its kernels, so the threads run in parallel. On an error or an
    interrupt the other workers stop at their next step and the first error is raised.
    """

    def run(g):
        try:
            return fn(g)
        except BaseException:
            tracker.stopped = True
            raise

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tailmem-group")
    futures = [pool.submit(run, g) for g in groups]
    try:
        return [f.result() for f in futures]
    except BaseException as err:
        tracker.stopped = True
        for f in futures:
            f.cancel()
        pool.shutdown(wait=True)
        if isinstance(err, _Stopped):  # raise the error that stopped this group
            for f in futures:
                if not f.cancelled() and not isinstance(f.exception(), (_Stopped, type(None))):
                    raise f.exception() from None
        raise
    finally:
        pool.shutdown(wait=True)


def _dense_step(spec: ModelSpec, h: dict):
    """In-place SGD step of a group by hand-written batched matmuls (:mod:`.dense`)."""
    layers = dense_layers(spec)

    def step(params, bufs, xb, yb, wb, hg):
        dense_sgd_step(
            params, bufs, layers, xb.flatten(2), yb, wb,
            lr=hg["lr"], momentum=h["momentum"], weight_decay=hg["weight_decay"],
        )  # fmt: skip

    return step


def _vmap_step(spec: ModelSpec, h: dict):
    """In-place SGD step of a group with ``vmap(grad(loss))``; any spec."""
    step_grad = torch.func.vmap(torch.func.grad(_weighted_loss(spec, h["loss"])))
    mu = h["momentum"]

    def step(params, bufs, xb, yb, wb, hg):
        grads = step_grad(params, xb, yb, wb)
        lr, wd = hg["lr"], hg["weight_decay"]
        for k, p in params.items():
            g = grads[k]
            if isinstance(wd, Tensor):
                g = g + _along_models(wd, p) * p
            elif wd != 0.0:
                g = g + wd * p
            v = bufs[k]
            v.mul_(mu).add_(g)
            if isinstance(lr, Tensor):
                p.addcmul_(v, _along_models(lr, p), value=-1.0)
            else:
                p.add_(v, alpha=-lr)

    return step


def _along_models(values, p: Tensor) -> Tensor:
    """(G,) per-model values shaped to broadcast against stacked parameters ``p`` (G, ...)."""
    return torch.as_tensor(values).to(p.dtype).reshape(-1, *([1] * (p.ndim - 1)))


def _optimizer_state(params: dict[str, Tensor], optimizer: str) -> dict[str, Tensor]:
    """Zero optimizer state, each tensor with the leading model axis: SGD's momentum buffer per
    parameter (same names); AdamW's first and second moments ("m." and "v." + name) and each
    model's step count ("step", shape (B,))."""
    if optimizer == "sgd":
        return {k: torch.zeros_like(v) for k, v in params.items()}
    state = {f"{w}.{k}": torch.zeros_like(v) for k, v in params.items() for w in ("m", "v")}
    first = next(iter(params.values()))
    state["step"] = torch.zeros(first.shape[0], dtype=torch.float64, device=first.device)
    return state


def _vmap_adamw_step(spec: ModelSpec, h: dict):
    r"""In-place AdamW step of a group with ``vmap(grad(loss))``, as ``torch.optim.AdamW`` per model:

    .. math:: \theta \leftarrow \theta(1 - \eta\lambda);\; m \leftarrow \beta_1 m + (1-\beta_1) g;\;
              v \leftarrow \beta_2 v + (1-\beta_2) g^2;\;
              \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,
              \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    with t each model's own step count (a model without a minibatch at a step keeps its state).
    """
    step_grad = torch.func.vmap(torch.func.grad(_weighted_loss(spec, h["loss"])))
    (b1, b2), eps = ADAMW_BETAS, ADAMW_EPS

    def step(params, state, xb, yb, wb, hg):
        grads = step_grad(params, xb, yb, wb)
        lr, wd = hg["lr"], hg["weight_decay"]
        state["step"] += 1.0
        t = state["step"]
        bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
        for k, p in params.items():
            shape = (-1,) + (1,) * (p.ndim - 1)
            g, m, v = grads[k], state[f"m.{k}"], state[f"v.{k}"]
            if isinstance(lr, Tensor) or isinstance(wd, Tensor):
                p.mul_(_along_models(1.0 - lr * wd, p))
            elif wd != 0.0:
                p.mul_(1.0 - lr * wd)
            m.lerp_(g, 1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (v.sqrt() / bc2.sqrt().to(p.dtype).reshape(shape)).add_(eps)
            step_size = (lr.to(bc1.dtype) if isinstance(lr, Tensor) else lr) / bc1
            p.addcdiv_(m * step_size.to(p.dtype).reshape(shape), denom, value=-1.0)

    return step


CONV_EVAL_BYTES = 2**30  # one feature map of all models per evaluation chunk (convolutional specs)


@exact_kernels()
def logits_batched(spec: ModelSpec, params: dict[str, Tensor], x, batch_size: int = 1024) -> Tensor:
    """Logits of all B models on x, shape (B, n_x, classes), computed in chunks of ``batch_size``.

    x is moved to the parameters' device and dtype; no gradients are recorded. For convolutional
    specs the chunk shrinks so that the first layer's feature maps of all B models stay within
    ``CONV_EVAL_BYTES`` (250 models x 1024 CIFAR images x 16 x 32 x 32 float32 maps would be
    17 GB; a ResNet keeps a few maps of that size alive at once).
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    ref = next(iter(params.values()))
    if not is_dense(spec) and hasattr(spec, "channels"):
        per_row = spec.channels[0] * spec.height * spec.width * ref.element_size() * ref.shape[0]
        batch_size = max(1, min(batch_size, CONV_EVAL_BYTES // per_row))
    x = torch.as_tensor(x).to(ref.device, ref.dtype)
    if x.ndim == 0 or math.prod(x.shape[1:]) != spec.in_dim:
        raise ValueError(
            f"x must have shape (n, ...) with {spec.in_dim} features per row; got {tuple(x.shape)}"
        )
    if x.shape[0] == 0:  # no examples (a run without a test set): no logits
        return torch.empty((ref.shape[0], 0, spec.classes), device=ref.device, dtype=ref.dtype)
    fwd = torch.func.vmap(spec.apply, in_dims=(0, None))
    with torch.no_grad():
        return torch.cat(
            [fwd(params, x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)], dim=1
        )


def predict_batched(spec: ModelSpec, params: dict[str, Tensor], x, batch_size: int = 1024) -> Tensor:
    """Predicted labels argmax_c f(theta_b, x_i)_c, int64 of shape (B, n_x)."""
    return logits_batched(spec, params, x, batch_size).argmax(-1)


def probabilities_batched(spec: ModelSpec, params: dict[str, Tensor], x, batch_size: int = 1024) -> Tensor:
    """Softmax class probabilities, shape (B, n_x, classes)."""
    return torch.softmax(logits_batched(spec, params, x, batch_size), dim=-1)


def correctness_batched(spec: ModelSpec, params: dict[str, Tensor], x, y, batch_size: int = 1024) -> Tensor:
    """Bool (B, n_x): whether model b predicts y_i on x_i (the 1[h(x_i) = y_i] of Feldman & Zhang)."""
    pred = predict_batched(spec, params, x, batch_size)
    y = torch.as_tensor(y).to(pred.device)
    if y.shape != (pred.shape[1],):
        raise ValueError(f"y must have shape ({pred.shape[1]},); got {tuple(y.shape)}")
    return pred == y
