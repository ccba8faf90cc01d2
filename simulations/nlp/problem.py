r"""The SST-2 memorization problem shared by the three NLP experiments.

:class:`NLPTraining` holds every field that decides the data, the frozen states and the trained
heads. :func:`prepare` loads SST-2 (:mod:`~simulations.nlp.sst2`), the encoder and the cached
layer-``layer`` states (:mod:`~simulations.nlp.encoder`). :func:`full_model` trains the head on
all n training sentences with the paper's SGD recipe (lr 1e-2, momentum 0.9, batch 32, L2 5e-3),
then polishes it with Newton steps on the regularized objective until the gradient vanishes
(influence functions assume a minimiser), computes the exact Hessian
(:mod:`~simulations.nlp.hessian`) and the influence memorization score of every sentence
(:mod:`~simulations.nlp.influence`). Its result is cached in the store folder.

Random streams, by name (:data:`STREAMS`, :func:`stream`; each a fixed child of
``np.random.SeedSequence(seed)``, :func:`~simulations.experiment.spawned_stream`): ``data`` the
fixed part of the data (``train_size``/``dev_size``), ``subsets``, ``models`` the subset models'
seeds, ``full-head`` the full model's seed, ``removal`` and ``attribution`` those experiments'
draws, ``checks`` the memorization experiment's checks (leave-one-out picks, LiSSA minibatches,
bootstrap).

Threads: torch runs with ``threads`` intra-op threads during a run (restored after). One thread
is the default: on a shared 2-core machine two OpenMP threads were up to 100x slower per step
(each parallel region waits for the slowest thread).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from simulations.data import fixed_part
from simulations.experiment import Context, spawned_stream
from simulations.nlp.encoder import RaggedStates, cached_hidden_states, encoder_available, load_encoder
from simulations.nlp.head import AttentionHead, head_probabilities, train_heads
from simulations.nlp.hessian import loss_hessian, per_example_gradients
from simulations.nlp.influence import damped, influence_memorization, inverse_hvp
from simulations.nlp.sst2 import SST2, load_sst2
from simulations.results import LOCATION_FIELDS, atomic_savez, read_npz
from simulations.store import config_hash, training_progress
from theory._validate import check_finite, check_int

__all__ = [
    "NLPTraining",
    "NLPProblem",
    "nlp_unavailable",
    "torch_threads",
    "STREAMS",
    "started",
    "stream",
    "prepare",
    "full_model",
    "loo_refit",
]


@dataclass(frozen=True)
class NLPTraining:
    """SST-2 sentences, frozen all-MiniLM-L6-v2 states, an attention head trained by SGD."""

    data_dir: str = ""  # folder holding sst2/{train,dev}.tsv; "" = $TAILMEM_DATA
    train_size: int = 0  # 0 = all 6,885 training sentences, else a fixed random part
    dev_size: int = 0  # 0 = all 872 dev sentences, else a fixed random part
    layer: int = 6  # the head reads the output of encoder layer `layer` (1..6 frozen)
    epochs: int = 8
    batch_size: int = 32  # paper: 32
    lr: float = 0.01  # paper: SGD lr 1e-2
    momentum: float = 0.9  # paper: 0.9
    weight_decay: float = 0.005  # paper: L2 5e-3
    newton_steps: int = 4  # Newton polish of the full-data head (0 = plain SGD end point)
    hessian_floor: float = 1e-4  # damping: smallest eigenvalue of H used at least this
    threads: int = 1  # torch intra-op threads during the run
    cache: str = ""  # encoder-state cache folder; "" = <--out>/.cache/nlp
    store: str = ""  # model-store folder prefix; "" = <--out>/.stores/sst2-...
    seed: int = 0

    def __post_init__(self):
        check_int("train_size", self.train_size, low=0)
        check_int("dev_size", self.dev_size, low=0)
        check_int("layer", self.layer, low=1, high=6)
        check_int("epochs", self.epochs, low=1)
        check_int("batch_size", self.batch_size, low=1)
        check_finite("lr", self.lr, low=0.0, low_open=True)
        check_finite("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check_finite("weight_decay", self.weight_decay, low=0.0)
        check_int("newton_steps", self.newton_steps, low=0, high=50)
        check_finite("hessian_floor", self.hessian_floor, low=0.0)
        check_int("threads", self.threads, low=1, high=256)
        check_int("seed", self.seed, low=0)


TRAINING_FIELDS = tuple(f.name for f in fields(NLPTraining) if f.name not in LOCATION_FIELDS)


def training_key(cfg: NLPTraining) -> dict:
    return {k: getattr(cfg, k) for k in TRAINING_FIELDS}


def nlp_unavailable(cfg: NLPTraining) -> str | None:
    """Why the NLP experiments cannot run here (extra or data absent), or None."""
    reason = encoder_available()
    if reason:
        return reason
    root = cfg.data_dir or os.environ.get("TAILMEM_DATA", "")
    if not root:
        return "no data folder: pass --data-dir (the folder holding sst2/) or set TAILMEM_DATA"
    if not (Path(root) / "sst2" / "train.tsv").is_file():
        return f"{Path(root) / 'sst2' / 'train.tsv'} not found (GLUE SST-2; see shared/data/SOURCES.md)"
    return None


@contextlib.contextmanager
def torch_threads(k: int):
    """Run the block with ``k`` torch intra-op threads, then restore the previous number."""
    old = torch.get_num_threads()
    torch.set_num_threads(k)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def started(cfg: NLPTraining, ctx: Context | None, own: tuple[str, ...]):
    """An NLP experiment's run under way: its streams recorded in ``ctx`` (``data``, ``full-head``
    and its ``own``), torch on ``cfg.threads`` threads, the problem prepared and the full-data
    model trained (or read from its cache); yields (problem, full model)."""
    ctx = ctx or Context.for_config(cfg)
    ctx.record_spawned(cfg.seed, STREAMS, ("data", "full-head", *own))
    with torch_threads(cfg.threads):
        prob = prepare(cfg, ctx.workdir)
        yield prob, full_model(cfg, prob)


# the NLP experiments' random streams; a name keeps its place for good (new ones are appended)
STREAMS = ("data", "subsets", "models", "full-head", "removal", "attribution", "checks")


def stream(cfg: NLPTraining, name: str) -> np.random.SeedSequence:
    """The random stream ``name`` (one of :data:`STREAMS`) of ``cfg``'s seed."""
    return spawned_stream(cfg.seed, STREAMS, name)


def log_line(msg: str) -> None:
    print(f"[sst2] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True, eq=False)
class NLPProblem:
    """Texts, labels, frozen states (train n, dev k), the encoder and the head's spec."""

    data: SST2
    train_text: list[str]
    y_train: np.ndarray
    dev_text: list[str]
    y_dev: np.ndarray
    train_index: np.ndarray  # positions in data.train_text, increasing
    train: RaggedStates
    dev: RaggedStates
    encoder: object
    spec: AttentionHead
    workdir: Path

    @property
    def n(self) -> int:
        return len(self.y_train)


def prepare(cfg: NLPTraining, workdir) -> NLPProblem:
    """Data, encoder and cached states for ``cfg``; the cache lives in ``cfg.cache`` or WORKDIR/.cache/nlp."""
    reason = encoder_available()
    if reason:
        raise ValueError(f"encoder: {reason}")
    data = load_sst2(cfg.data_dir or None)
    rng = np.random.default_rng(stream(cfg, "data"))
    tr = fixed_part(cfg.train_size, len(data.y_train), rng, "train_size")
    dv = fixed_part(cfg.dev_size, len(data.y_dev), rng, "dev_size")
    enc = load_encoder()
    cache = Path(cfg.cache) if cfg.cache else Path(workdir) / ".cache" / "nlp"
    text_tr, text_dv = [data.train_text[i] for i in tr], [data.dev_text[i] for i in dv]
    # the cache key covers the texts, so a part of a split has its own entry
    states_tr = cached_hidden_states(enc, text_tr, layer=cfg.layer, cache_dir=cache, log=log_line)
    states_dv = cached_hidden_states(enc, text_dv, layer=cfg.layer, cache_dir=cache, log=log_line)
    return NLPProblem(
        data,
        text_tr,
        data.y_train[tr],
        text_dv,
        data.y_dev[dv],
        tr,
        states_tr,
        states_dv,
        enc,
        AttentionHead(dim=enc.dim),
        Path(workdir),
    )


def _objective(spec, theta, rs, y, wd) -> float:
    params = {k: v.float().unsqueeze(0) for k, v in spec.unflatten(torch.from_numpy(theta)).items()}
    p = head_probabilities(params, rs)[0, np.arange(len(y)), y]
    return float(-np.log(np.maximum(p, 1e-300)).mean() + wd / 2 * theta @ theta)


def _newton(spec, theta, rs, y, wd, steps, floor, H=None):
    """Damped Newton with step halving on L(theta); returns (theta, |grad| before, |grad| after)."""

    def grad(th):
        params = {k: v.float() for k, v in spec.unflatten(torch.from_numpy(th)).items()}
        g, _ = per_example_gradients(spec, params, rs, y)
        return g.mean(0) + wd * th

    g = grad(theta)
    g0 = float(np.linalg.norm(g))
    for _ in range(steps):
        if H is None:
            params = {k: v.float() for k, v in spec.unflatten(torch.from_numpy(theta)).items()}
            Hd, _, _ = damped(loss_hessian(spec, params, rs, y, weight_decay=wd), floor=floor)
        else:
            Hd = H
        step = inverse_hvp(Hd, g)
        f0, t = _objective(spec, theta, rs, y, wd), 1.0
        while _objective(spec, theta - t * step, rs, y, wd) > f0:
            t /= 2
            if t < 1e-3:  # no decrease along the damped Newton direction: stop here
                return theta, g0, float(np.linalg.norm(g))
        theta = theta - t * step
        g = grad(theta)
        if np.linalg.norm(g) < 1e-9:
            break
    return theta, g0, float(np.linalg.norm(g))


def full_model(cfg: NLPTraining, prob: NLPProblem, *, log=log_line) -> dict:
    r"""The full-data head, its exact Hessian and the influence scores (cached).

    Returns a dict of arrays: ``theta`` (p,), ``H`` (p, p) (damped by ``mu``), ``grads`` (n, p),
    ``prob`` (n,) :math:`P(y_i|x_i)`, ``mem_if`` (n,), ``dev_prob`` (k,), and the numbers
    ``mu``, ``eig_min``, ``eig_max``, ``grad_norm_sgd``, ``grad_norm``, ``seconds``.
    """
    key = config_hash({**training_key(cfg), "what": "full-model"})
    folder = Path(cfg.store + "-full") if cfg.store else prob.workdir / ".stores"
    path = folder / f"sst2-full-{key}.npz"
    if path.is_file():
        return read_npz(path)
    t0 = time.perf_counter()
    spec, wd = prob.spec, cfg.weight_decay
    seed = int(np.random.default_rng(stream(cfg, "full-head")).integers(0, 2**62))
    log(f"training the full-data head ({prob.n:,} sentences, {cfg.epochs} epochs)")
    params = train_heads(
        spec,
        prob.train,
        prob.y_train,
        np.ones((1, prob.n), bool),
        np.array([seed]),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=wd,
    )
    theta = spec.flatten({k: v[0] for k, v in params.items()}).double().numpy()
    theta, g_sgd, g_end = _newton(
        spec, theta, prob.train, prob.y_train, wd, cfg.newton_steps, cfg.hessian_floor
    )
    log(f"Newton polish: |grad L| {g_sgd:.2e} -> {g_end:.2e}; exact Hessian ({spec.num_params} parameters)")
    one = {k: v.float() for k, v in spec.unflatten(torch.from_numpy(theta)).items()}
    H, mu, (lo, hi) = damped(
        loss_hessian(spec, one, prob.train, prob.y_train, weight_decay=wd), floor=cfg.hessian_floor
    )
    grads, p = per_example_gradients(spec, one, prob.train, prob.y_train)
    mem = influence_memorization(H, grads, p, theta, weight_decay=wd)
    stacked = {k: v.unsqueeze(0) for k, v in one.items()}
    dev_p = head_probabilities(stacked, prob.dev)[0, np.arange(len(prob.y_dev)), prob.y_dev]
    out = {
        "theta": theta,
        "H": H,
        "grads": grads,
        "prob": p,
        "mem_if": mem,
        "dev_prob": dev_p,
        "mu": np.float64(mu),
        "eig_min": np.float64(lo),
        "eig_max": np.float64(hi),
        "seed": np.int64(seed),
        "grad_norm_sgd": np.float64(g_sgd),
        "grad_norm": np.float64(g_end),
        "seconds": np.float64(time.perf_counter() - t0),
    }
    folder.mkdir(parents=True, exist_ok=True)
    atomic_savez(path, **out)
    return out


def loo_refit(cfg: NLPTraining, prob: NLPProblem, full: dict, i: int, *, steps: int = 6) -> float:
    r"""Actual :math:`P(y_i|x_i;\hat\theta) - P(y_i|x_i;\hat\theta_{-i})`: the objective without
    sentence i (mean over the n - 1 others) minimised from :math:`\hat\theta` by Newton steps
    with the full-data Hessian (converges linearly at rate O(1/n))."""
    keep = np.delete(np.arange(prob.n), i)
    rs, y = prob.train.subset(keep), prob.y_train[keep]
    theta, _, g = _newton(
        prob.spec, full["theta"], rs, y, cfg.weight_decay, steps, cfg.hessian_floor, H=full["H"]
    )
    params = {k: v.float().unsqueeze(0) for k, v in prob.spec.unflatten(torch.from_numpy(theta)).items()}
    p_new = head_probabilities(params, prob.train.subset(np.array([i])))[0, 0, prob.y_train[i]]
    return float(full["prob"][i] - p_new)


def heads_through_store(
    cfg: NLPTraining,
    prob: NLPProblem,
    masks: np.ndarray,
    seeds: np.ndarray,
    *,
    name: str,
    key: dict,
    models_per_batch: int,
    log=log_line,
) -> tuple[np.ndarray, np.ndarray, str, int, float]:
    r"""Train one head per row of ``masks`` (bool (m, n)) through a resumable
    :class:`~simulations.store.ModelStore`; return (:math:`P(y_i|x_i)` (m, n) on the training
    sentences, :math:`P(y_j|x_j)` (m, k) on dev, store folder, models trained now, seconds).

    The store holds probabilities of the true label (float32) in place of 0/1 correctness.
    """
    from simulations.store import ModelStore

    models_per_batch = check_int("models_per_batch", models_per_batch, low=1)
    config = {**training_key(cfg), **key, "what": name}
    h = config_hash(config)
    folder = Path(f"{cfg.store}-{name}") if cfg.store else prob.workdir / ".stores" / f"sst2-{name}-{h}"
    store = ModelStore(folder, config, masks, seeds, n_test=len(prob.y_dev))
    pending = store.pending(models_per_batch)
    todo = sum(b - a for a, b in pending)
    t0 = time.perf_counter()
    done = 0
    for a, b in pending:
        params = train_heads(
            prob.spec,
            prob.train,
            prob.y_train,
            masks[a:b],
            seeds[a:b],
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            group_size=models_per_batch,
        )
        pt = head_probabilities(params, prob.train)[:, np.arange(prob.n), prob.y_train]
        pd = head_probabilities(params, prob.dev)[:, np.arange(len(prob.y_dev)), prob.y_dev]
        store.save(a, b, pt, pd)
        done += b - a
        log(f"{name}: " + training_progress(store.t - todo + done, store.t, done, time.perf_counter() - t0))
    _, pt, pd = store.load()
    return pt, pd, str(folder), todo, time.perf_counter() - t0
