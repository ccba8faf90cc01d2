r"""Residual networks of the ResNet-18 class without batch normalisation, as pure functions.

The trunk: a 3x3 stem conv (padding 1) to ``channels[0]``, then for each width in ``channels``
:data:`BLOCKS` basic blocks

.. math:: z \leftarrow \mathrm{ReLU}\big(\mathrm{conv}_b(\mathrm{ReLU}(\mathrm{conv}_a(z))) + s(z)\big)

(3x3 convs, padding 1; the first block of every stage after the first has stride 2; the
shortcut :math:`s` is the identity, or a 1x1 conv where the shape changes), then global average
pooling to ``channels[-1]`` features. ``channels=(64, 128, 256, 512)`` is ResNet-18's layout
(He et al. 2016, CIFAR variant: 3x3 stem, no max-pool).

Batch normalisation keeps running statistics, a state that ``torch.func.vmap`` over stacked
models cannot carry; without it, the second conv of every block (weight and bias) starts at
zero, as in Fixup (Zhang, Dauphin & Ma 2019), so each block starts as its shortcut and the deep
network trains from the start. Every other parameter follows PyTorch's default
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) rule (:mod:`simulations.training.models`).

Shapes and the forward pass only; the parameters (:func:`~simulations.training.models.fixup_init`)
and the classifier :class:`~simulations.training.models.ResNet` live with the other specs. Also
the ``resnet`` encoder of :class:`simulations.composition.nets.SumNet`.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["BLOCKS", "resnet_blocks", "resnet_shapes", "resnet_features"]

BLOCKS = 2  # basic blocks per stage, as in ResNet-18


def resnet_blocks(channels: tuple[int, ...]) -> list[tuple[str, int, int, int]]:
    """(name, in width, out width, stride) of every basic block, in order; names ``s{stage}b{block}``."""
    out, width = [], channels[0]
    for i, c in enumerate(channels):
        for j in range(BLOCKS):
            stride = 2 if i > 0 and j == 0 else 1
            out.append((f"s{i}b{j}", width, c, stride))
            width = c
    return out


def resnet_shapes(in_channels: int, channels: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of the trunk (stem and blocks; no head), weight before bias, in order."""
    shapes = {"stem.weight": (channels[0], in_channels, 3, 3), "stem.bias": (channels[0],)}
    for name, a, c, stride in resnet_blocks(channels):
        shapes |= {f"{name}.a.weight": (c, a, 3, 3), f"{name}.a.bias": (c,)}
        shapes |= {f"{name}.b.weight": (c, c, 3, 3), f"{name}.b.bias": (c,)}
        if stride != 1 or a != c:
            shapes |= {f"{name}.skip.weight": (c, a, 1, 1), f"{name}.skip.bias": (c,)}
    return shapes


def resnet_features(params: dict[str, Tensor], x: Tensor, channels: tuple[int, ...]) -> Tensor:
    """The trunk on x (n, C, H, W): globally average-pooled features (n, channels[-1])."""
    p = params
    z = F.relu(F.conv2d(x, p["stem.weight"], p["stem.bias"], padding=1))
    for name, _a, _c, stride in resnet_blocks(channels):
        r = F.relu(F.conv2d(z, p[f"{name}.a.weight"], p[f"{name}.a.bias"], stride=stride, padding=1))
        r = F.conv2d(r, p[f"{name}.b.weight"], p[f"{name}.b.bias"], padding=1)
        skip = f"{name}.skip.weight"
        z = F.relu(r + (F.conv2d(z, p[skip], p[f"{name}.skip.bias"], stride=stride) if skip in p else z))
    return z.mean(dim=(2, 3))
