r"""Small ReLU MLPs for the Gaussian mixture: a weight-decay and training-length sweep trained as
one stacked batch, with leave-one-out refits of a sample of training examples in the same batch.

The batch holds one model per (weight decay :math:`\lambda_w`, seed :math:`r`, training set),
where the training set is S or :math:`S \setminus \{i\}` for each i in a sample ``left_out`` of
K training examples: :math:`W \cdot R \cdot (1 + K)` models. Every model follows the conventions
of the batched engine :mod:`simulations.training` exactly: initialisation from
``init_generator(seed)``, the data order of :mod:`simulations.training.order` for its own subset,
minibatch SGD with momentum on the mean cross-entropy, the update of ``torch.optim.SGD``

.. math:: v \leftarrow \mu v + \nabla + \lambda_w\theta,\qquad \theta \leftarrow \theta - \eta v ,

and models without a minibatch at a step left untouched. The training-length sweep costs
nothing extra: the models are trained for :math:`\max E` epochs and their parameters are
snapshotted after each E in ``epochs``; the data order in epoch e depends only on (seed, e),
so the snapshot at E is the model trained for E epochs.

The sweep is one call of the engine's
:func:`~simulations.training.engine.train_snapshots` with one weight decay per model (it used to
be a copy of the engine's loop with the decay added by hand; the engine's results are bit for bit
those of that copy, checked in float32 and float64 before the copy was removed). Model b of a
sweep equals ``train_batched(spec, x, y, masks[b:b+1], seeds[b:b+1], epochs=E,
weight_decay=wd[b], ...)`` up to float round-off (tested).

:meth:`MLPSweep.fit_subsets` trains instead, per weight decay, one model on S and one on each of t
random subsets (rows of ``masks``, e.g. :func:`~simulations.estimators.memorization.subset_masks`),
for the subsampled memorization estimator of Feldman & Zhang (2020, arXiv 2008.03703;
docs/references.md §2.1) over all n examples at once (:meth:`SubsetFit.memorization`).

Memorization (Feldman 2020, arXiv 1906.05271; docs/references.md §1.3), with the learner's
randomness being the seed:

.. math:: \mathrm{mem}(i) = \frac1R\sum_r 1[h_{r,S}(x_i) = y_i]
          - \frac1R\sum_r 1[h_{r,S\setminus i}(x_i) = y_i],

exact for the R seeds used (the seed-r refit without i uses the same seed: same initialisation,
its own data order). Only the K sampled examples get a refit: K + 1 models per (weight decay,
seed) instead of n + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from simulations.estimators.memorization import Estimate
from simulations.estimators.memorization import memorization as subsampled_memorization
from simulations.gaussian.learners import check_data, check_inputs
from simulations.training.engine import check_epochs, predict_batched, train_snapshots
from simulations.training.models import MLP
from theory._validate import check_finite, check_int

__all__ = ["train_sweep", "MLPSweep", "FittedSweep", "SubsetFit"]


def train_sweep(
    spec: MLP,
    x,
    y,
    masks,
    seeds,
    weight_decays,
    *,
    epochs: tuple[int, ...],
    batch_size: int,
    lr: float,
    momentum: float = 0.9,
    dtype: torch.dtype = torch.float32,
    group_size: int = 64,
) -> dict[int, dict[str, Tensor]]:
    r"""Train B dense models, model b on ``masks[b]`` with seed ``seeds[b]`` and L2 weight decay
    ``weight_decays[b]``; return ``{E: stacked parameters (B, ...) after E epochs}`` for each E in
    ``epochs`` (strictly increasing).

    ``spec``: an :class:`~simulations.training.models.MLP`; ``x`` (n, in_dim), ``y`` (n,),
    ``masks`` bool (B, n), ``seeds`` (B,) ints >= 0, ``weight_decays`` (B,) floats >= 0. The rest
    as in :func:`~simulations.training.engine.train_batched`. Models are trained in groups of
    ``group_size`` (CPU tensors, ``dtype``); the result does not depend on the grouping.
    """
    B = np.asarray(seeds).size
    if np.shape(weight_decays) != (B,):
        got = np.shape(weight_decays)
        raise ValueError(f"weight_decays must have shape ({B},), one per model; got {got}")
    return train_snapshots(
        spec, x, y, masks, seeds, epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum,
        weight_decay=np.asarray(weight_decays, dtype=np.float64), dtype=dtype, group_size=group_size,
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class FittedSweep:
    r"""The models of an :class:`MLPSweep`, indexed (E, W, R, 1 + K): snapshot epoch, weight
    decay, seed, and training set (0: S; 1 + k: S without example ``left_out[k]``).

    ``params[e]``: stacked parameters of the W·R·(1 + K) models after ``epochs[e]`` epochs, in
    the order (weight decay, seed, training set) with the last index fastest.
    """

    spec: MLP
    params: tuple[dict[str, Tensor], ...]
    epochs: tuple[int, ...]
    weight_decays: tuple[float, ...]
    seeds: tuple[int, ...]
    left_out: np.ndarray
    input_scale: float
    x: np.ndarray
    y: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.epochs), len(self.weight_decays), len(self.seeds), 1 + self.left_out.size)

    def predict_all(self, x) -> np.ndarray:
        """(E, W, R, 1 + K, q) labels of every model at the rows of ``x`` (q, d)."""
        x = check_inputs(x, dim=self.spec.in_dim)
        xt = torch.as_tensor(x * self.input_scale)
        out = np.stack([predict_batched(self.spec, p, xt).numpy() for p in self.params])
        return out.reshape(*self.shape, x.shape[0])

    def predict(self, x) -> np.ndarray:
        """(E, W, R, q) labels of the models trained on all of S."""
        x = check_inputs(x, dim=self.spec.in_dim)
        xt = torch.as_tensor(x * self.input_scale)
        E, W, R, K1 = self.shape
        out = []
        for p in self.params:  # a loop over snapshots
            full = {k: v.reshape(W, R, K1, *v.shape[1:])[:, :, 0].reshape(W * R, *v.shape[1:])
                    for k, v in p.items()}  # fmt: skip
            out.append(predict_batched(self.spec, full, xt).numpy().reshape(W, R, -1))
        return np.stack(out)

    def memorization(self) -> np.ndarray:
        r"""(E, W, K) :math:`\mathrm{mem}(i)` of each left-out example (module docstring),
        averaged over the R seeds; values in [-1, 1]."""
        i = self.left_out
        pred = self.predict_all(self.x[i])  # (E, W, R, 1 + K, K)
        k = np.arange(i.size)
        fit = pred[:, :, :, 0, :] == self.y[i]  # (E, W, R, K)
        held = pred[:, :, :, 1 + k, k] == self.y[i]  # model 1 + k at its own left-out point
        return fit.mean(axis=2) - held.mean(axis=2)


@dataclass(frozen=True, eq=False)
class SubsetFit:
    r"""The models of :meth:`MLPSweep.fit_subsets`, indexed (E, W, 1 + t): snapshot epoch, weight
    decay, training set (0: all of S; 1 + k: the subset ``masks[k]``); ``params[e]`` stacked in the
    order (weight decay, training set)."""

    spec: MLP
    params: tuple[dict[str, Tensor], ...]
    epochs: tuple[int, ...]
    weight_decays: tuple[float, ...]
    masks: np.ndarray
    input_scale: float
    x: np.ndarray
    y: np.ndarray

    def predict_all(self, x) -> np.ndarray:
        """(E, W, 1 + t, q) labels of every model at the rows of ``x`` (q, d)."""
        x = check_inputs(x, dim=self.spec.in_dim)
        xt = torch.as_tensor(x * self.input_scale)
        out = np.stack([predict_batched(self.spec, p, xt).numpy() for p in self.params])
        return out.reshape(len(self.epochs), len(self.weight_decays), 1 + self.masks.shape[0], x.shape[0])

    def predict(self, x) -> np.ndarray:
        """(E, W, q) labels of the models trained on all of S."""
        return self.predict_all(x)[:, :, 0]

    def memorization(self) -> list[list[Estimate]]:
        r"""``[e][w]``: the subsampled estimate :math:`\widetilde{\mathrm{mem}}(i)` of every training
        example (value and standard error (n,), NaN where an example is in every subset or in
        none) from the t subset models of snapshot e and weight decay w."""
        pred = self.predict_all(self.x)[:, :, 1:]  # (E, W, t, n)
        correct = (pred == self.y).astype(np.float64)
        return [[subsampled_memorization(c, self.masks) for c in per_e] for per_e in correct]


@dataclass(frozen=True)
class MLPSweep:
    r"""A sweep of ReLU MLPs ``dim -> hidden -> classes`` over ``weight_decays`` and training
    lengths ``epochs`` (strictly increasing), minibatch SGD with momentum (module docstring).

    Inputs are multiplied by ``input_scale`` before the first layer (a fixed per-example map).
    ``fit(x, y, seeds=..., left_out=...)`` trains W·R·(1 + K) models in one batch.
    """

    classes: int
    hidden: tuple[int, ...] = (64,)
    weight_decays: tuple[float, ...] = (0.0,)
    epochs: tuple[int, ...] = (100,)
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    input_scale: float = 1.0
    group_size: int = 64

    def __post_init__(self):
        check_int("classes", self.classes, low=2)
        if not isinstance(self.hidden, tuple) or not self.hidden:
            raise ValueError(f"hidden must be a non-empty tuple of widths; got {self.hidden!r}")
        for w in self.hidden:
            check_int("hidden", w, low=1)
        if not isinstance(self.weight_decays, tuple) or not self.weight_decays:
            raise ValueError(f"weight_decays must be a non-empty tuple; got {self.weight_decays!r}")
        for v in self.weight_decays:
            check_finite("weight_decays", v, low=0.0)
        check_epochs(self.epochs)
        check_int("batch_size", self.batch_size, low=1)
        check_finite("lr", self.lr, low=0.0, low_open=True)
        check_finite("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check_finite("input_scale", self.input_scale, low=0.0, low_open=True)
        check_int("group_size", self.group_size, low=1)

    def fit(self, x, y, *, seeds, left_out=()) -> FittedSweep:
        """Train the sweep on (x, y) for each seed in ``seeds`` (distinct ints >= 0), together
        with the refits without each training index in ``left_out`` (distinct, in [0, n))."""
        x, y = check_data(x, y, self.classes, min_n=2)
        n = x.shape[0]
        seeds = tuple(check_int("seeds", s, low=0, high=2**63 - 1) for s in np.atleast_1d(seeds).tolist())
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct and at least one; got {seeds}")
        out = np.asarray(left_out, dtype=np.int64).reshape(-1)
        if out.size and (out.min() < 0 or out.max() >= n or np.unique(out).size != out.size):
            raise ValueError(f"left_out must be distinct indices in [0, {n - 1}]; got {out.tolist()}")
        spec = MLP(x.shape[1], self.hidden, self.classes)
        sets = np.ones((1 + out.size, n), dtype=bool)
        sets[1 + np.arange(out.size), out] = False
        W, R = len(self.weight_decays), len(seeds)
        masks = np.tile(sets, (W * R, 1))
        model_seeds = np.repeat(np.tile(np.asarray(seeds, dtype=np.int64), W), 1 + out.size)
        wds = np.repeat(np.asarray(self.weight_decays, dtype=np.float64), R * (1 + out.size))
        params = train_sweep(
            spec, x * self.input_scale, y, masks, model_seeds, wds, epochs=self.epochs,
            batch_size=self.batch_size, lr=self.lr, momentum=self.momentum, group_size=self.group_size,
        )  # fmt: skip
        return FittedSweep(
            spec=spec,
            params=tuple(params[e] for e in self.epochs),
            epochs=self.epochs,
            weight_decays=self.weight_decays,
            seeds=seeds,
            left_out=out,
            input_scale=self.input_scale,
            x=x,
            y=y,
        )

    def fit_subsets(self, x, y, *, seeds, masks) -> SubsetFit:
        """Train, for each weight decay, one model on all of (x, y) with seed ``seeds[0]`` and one on
        each row k of ``masks`` (t, n) bool with seed ``seeds[1 + k]`` (1 + t distinct ints >= 0)."""
        x, y = check_data(x, y, self.classes, min_n=2)
        n = x.shape[0]
        masks = np.asarray(masks)
        if masks.ndim != 2 or masks.dtype != bool or masks.shape[1] != n or masks.shape[0] < 2:
            raise ValueError(f"masks must be bool of shape (t >= 2, {n}); got {masks.dtype} {masks.shape}")
        seeds = tuple(check_int("seeds", s, low=0, high=2**63 - 1) for s in np.atleast_1d(seeds).tolist())
        if len(seeds) != 1 + masks.shape[0] or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be {1 + masks.shape[0]} distinct ints (1 + t); got {len(seeds)}")
        spec = MLP(x.shape[1], self.hidden, self.classes)
        sets = np.vstack([np.ones((1, n), dtype=bool), masks])
        W = len(self.weight_decays)
        model_seeds = np.tile(np.asarray(seeds, dtype=np.int64), W)
        params = train_sweep(
            spec, x * self.input_scale, y, np.tile(sets, (W, 1)), model_seeds,
            np.repeat(np.asarray(self.weight_decays, dtype=np.float64), sets.shape[0]), epochs=self.epochs,
            batch_size=self.batch_size, lr=self.lr, momentum=self.momentum, group_size=self.group_size,
        )  # fmt: skip
        return SubsetFit(
            spec=spec,
            params=tuple(params[e] for e in self.epochs),
            epochs=self.epochs,
            weight_decays=self.weight_decays,
            masks=masks,
            input_scale=self.input_scale,
            x=x,
            y=y,
        )
