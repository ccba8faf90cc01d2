r"""Networks for the three-digit-sum task: per-channel encoders with four aggregations.

Zhou, Ma, Ge (2025), docs/references.md §4 [summary]: per-channel encoders combined by Sum,
Linear or 2-layer aggregation compose; a Cross-channel model (channels mixed in the first
layer) does not. Here, for an item :math:`x = (x_1, x_2, x_3)` of three 28x28 images:

- the encoder :math:`E`: conv 5x5 stride 2 (1 -> c_1), ReLU, conv 5x5 stride 2 (c_1 -> c_2),
  ReLU, linear (16 c_2 -> h), ReLU; ONE encoder shared by the three channels (so a symbol
  learned in one channel is recognised in another);
- ``sum``: :math:`f(x) = \sum_c (w^\top E(x_c) + b)`;
- ``linear``: :math:`f(x) = W [E(x_1); E(x_2); E(x_3)] + b`;
- ``two-layer``: :math:`f(x) = w_2^\top \mathrm{ReLU}(W_1 [E(x_1); E(x_2); E(x_3)] + b_1) + b_2`;
- ``cross-channel``: the same conv stack on the 3-channel image (conv 3 -> c_1 first, so
  channels mix at once), linear to 3h, ReLU, then the two-layer head.

``encoder="resnet"`` replaces the two-conv encoder by the residual trunk of
:mod:`simulations.training.resnet` (ResNet-18 class) for GPU runs: a 3x3 stem to
``channels[0]``, then per width in ``channels`` two basic blocks (3x3 conv, ReLU, 3x3 conv,
plus the input through a 1x1 conv where the shape changes; the first block of every stage
after the first has stride 2), global average pooling and the linear map to h.
``channels=(64, 128, 256, 512)`` is ResNet-18's layout without batch normalisation (a
stateless model is what vmap batches); instead the second conv of every block (weight and bias)
starts at zero (as in Fixup, Zhang, Dauphin & Ma 2019), so each block starts as its shortcut.

Each spec is shapes only: ``init(generator)`` draws one model's parameters with PyTorch's
default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) rule (:mod:`simulations.training.models`), and
``apply(params, x)`` maps x of shape (b, 3, 28, 28) to predictions (b,): a pure function, so
``torch.func.vmap`` trains many models (weight decays and seeds) as one batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from simulations.training.models import fixup_init
from simulations.training.resnet import resnet_features, resnet_shapes
from theory._validate import check_int

__all__ = ["ARCHS", "ENCODERS", "SumNet", "param_count"]

ARCHS = ("sum", "linear", "two-layer", "cross-channel")
ENCODERS = ("cnn", "resnet")
SIDE = 28
_K, _S = 5, 2  # conv kernel and stride: 28 -> 12 -> 4


@dataclass(frozen=True)
class SumNet:
    """One of :data:`ARCHS` with conv widths ``channels``, encoder width ``hidden`` and head width;
    ``encoder`` 'cnn' (two convs, ``channels`` = their widths) or 'resnet' (stage widths)."""

    arch: str
    channels: tuple[int, ...] = (8, 16)
    hidden: int = 32
    head_hidden: int = 64
    encoder: str = "cnn"

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {self.arch!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}; got {self.encoder!r}")
        if self.encoder == "cnn" and len(self.channels) != 2:
            raise ValueError(f"channels must hold two conv widths for encoder 'cnn'; got {self.channels!r}")
        if self.encoder == "resnet" and not 1 <= len(self.channels) <= 4:
            raise ValueError(
                f"channels must hold 1 to 4 stage widths for encoder 'resnet'; got {self.channels!r}"
            )
        for c in self.channels:
            check_int("channels", c, low=1, high=4096)
        check_int("hidden", self.hidden, low=1, high=65_536)
        check_int("head_hidden", self.head_hidden, low=1, high=65_536)

    def _encoder_shapes(self, cin: int, feat: int) -> dict[str, tuple[int, ...]]:
        if self.encoder == "cnn":
            c1, c2 = self.channels
            return {
                "conv1.weight": (c1, cin, _K, _K),
                "conv1.bias": (c1,),
                "conv2.weight": (c2, c1, _K, _K),
                "conv2.bias": (c2,),
                "enc.weight": (feat, 16 * c2),
                "enc.bias": (feat,),
            }
        shapes = resnet_shapes(cin, self.channels)
        return shapes | {"enc.weight": (feat, self.channels[-1]), "enc.bias": (feat,)}

    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        h, g = self.hidden, self.head_hidden
        cin = 3 if self.arch == "cross-channel" else 1
        feat = 3 * h if self.arch == "cross-channel" else h
        shapes = self._encoder_shapes(cin, feat)
        if self.arch == "sum":
            shapes |= {"out.weight": (1, h), "out.bias": (1,)}
        elif self.arch == "linear":
            shapes |= {"out.weight": (1, 3 * h), "out.bias": (1,)}
        else:
            shapes |= {"head.weight": (g, 3 * h), "head.bias": (g,), "out.weight": (1, g), "out.bias": (1,)}
        return shapes

    def init(self, generator: torch.Generator) -> dict[str, Tensor]:
        return fixup_init(self.param_shapes, generator)

    def _conv(self, p, x: Tensor) -> Tensor:
        if self.encoder == "resnet":
            return self._resnet(p, x)
        z = F.relu(F.conv2d(x, p["conv1.weight"], p["conv1.bias"], stride=_S))
        z = F.relu(F.conv2d(z, p["conv2.weight"], p["conv2.bias"], stride=_S))
        return F.relu(F.linear(z.flatten(1), p["enc.weight"], p["enc.bias"]))

    def _resnet(self, p, x: Tensor) -> Tensor:
        return F.relu(F.linear(resnet_features(p, x, self.channels), p["enc.weight"], p["enc.bias"]))

    def apply(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """Predictions (b,) for items x of shape (b, 3, 28, 28)."""
        b = x.shape[0]
        if self.arch == "cross-channel":
            feats = self._conv(params, x)  # (b, 3h)
        else:
            e = self._conv(params, x.reshape(b * 3, 1, SIDE, SIDE))  # (3b, h), one shared encoder
            if self.arch == "sum":
                return F.linear(e, params["out.weight"], params["out.bias"]).reshape(b, 3).sum(1)
            feats = e.reshape(b, 3 * self.hidden)
        if self.arch != "linear":
            feats = F.relu(F.linear(feats, params["head.weight"], params["head.bias"]))
        return F.linear(feats, params["out.weight"], params["out.bias"]).reshape(b)


def param_count(spec: SumNet) -> int:
    """Number of trainable parameters of one model."""
    return sum(math.prod(s) for s in spec.param_shapes.values())
