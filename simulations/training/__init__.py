"""Batched subset training (Feldman & Zhang): many independent small models in one pass."""

from simulations.training.engine import (
    correctness_batched,
    exact_kernels,
    init_stacked,
    logits_batched,
    predict_batched,
    probabilities_batched,
    require_device,
    train_batched,
    train_snapshots,
)
from simulations.training.models import (
    MLP,
    ResNet,
    SmallCNN,
    SoftmaxRegression,
    SpecModule,
    fixup_init,
    stack_params,
)
from simulations.training.order import epoch_permutation, epoch_schedule, init_generator, order_generator
from simulations.training.reference import train_one

__all__ = [
    "SoftmaxRegression",
    "MLP",
    "SmallCNN",
    "ResNet",
    "fixup_init",
    "SpecModule",
    "stack_params",
    "init_generator",
    "order_generator",
    "epoch_permutation",
    "epoch_schedule",
    "init_stacked",
    "train_batched",
    "train_snapshots",
    "logits_batched",
    "predict_batched",
    "probabilities_batched",
    "correctness_batched",
    "require_device",
    "exact_kernels",
    "train_one",
]
