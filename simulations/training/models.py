r"""Model specifications for subset training: softmax regression, an MLP, a small CNN, a ResNet.

A spec is a frozen dataclass holding only shapes. ``spec.init(generator)`` draws the parameters
of ONE model as a ``dict[str, Tensor]`` (float32, on the CPU, from the given
``torch.Generator`` alone); ``spec.apply(params, x)`` is a pure function returning logits of
shape (n, classes) for inputs x of shape (n, in_dim) (CNN: (n, C, H, W) or flattened
(n, C*H*W)). Because ``apply`` is pure it can be ``torch.func.vmap``-ed over a leading model
axis of stacked parameters, and :class:`SpecModule` wraps it as an ``nn.Module`` for
``torch.func.functional_call`` and ``torch.optim``.

Initialisation follows PyTorch's defaults for ``nn.Linear`` and ``nn.Conv2d``: every weight and
bias is drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming-uniform with a = sqrt(5)), with
fan_in the number of inputs to one output unit. Parameters are drawn in the order of
``param_shapes`` (weight then bias, layer by layer), so one seed fixes one model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from simulations.training.resnet import resnet_features, resnet_shapes
from theory._validate import check_int

__all__ = [
    "SoftmaxRegression",
    "MLP",
    "SmallCNN",
    "ResNet",
    "ModelSpec",
    "SpecModule",
    "stack_params",
    "fixup_init",
]


def _uniform_init(shapes: dict[str, tuple[int, ...]], fan_in: dict[str, int], generator) -> dict:
    """Draw each parameter from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) in the order of ``shapes``."""
    out = {}
    for name, shape in shapes.items():
        bound = 1.0 / math.sqrt(fan_in[name])
        u = torch.rand(shape, generator=generator, dtype=torch.float32)
        out[name] = (2.0 * u - 1.0) * bound
    return out


def _check_generator(generator) -> None:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError(
            f"generator must live on the cpu (init is device independent); got {generator.device}"
        )


@dataclass(frozen=True)
class SoftmaxRegression:
    """Multinomial logistic regression: logits = x W^T + b, W of shape (classes, in_dim)."""

    in_dim: int
    classes: int

    def __post_init__(self):
        check_int("in_dim", self.in_dim, low=1)
        check_int("classes", self.classes, low=2)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"w0": (self.classes, self.in_dim), "b0": (self.classes,)}

    def init(self, generator: torch.Generator) -> dict[str, Tensor]:
        """Parameters of one model drawn from ``generator`` alone."""
        _check_generator(generator)
        return _uniform_init(self.param_shapes(), {"w0": self.in_dim, "b0": self.in_dim}, generator)

    def apply(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """Logits (n, classes) for x of shape (n, in_dim) (or (n, ...) with in_dim entries per row)."""
        return F.linear(x.reshape(x.shape[0], -1), params["w0"], params["b0"])


@dataclass(frozen=True)
class MLP:
    """Fully connected ReLU network in_dim -> hidden[0] -> ... -> hidden[-1] -> classes.

    Layer l has weight ``w{l}`` of shape (out, in) and bias ``b{l}``; ReLU after every hidden layer.
    """

    in_dim: int
    hidden: tuple[int, ...]
    classes: int

    def __post_init__(self):
        check_int("in_dim", self.in_dim, low=1)
        check_int("classes", self.classes, low=2)
        if not isinstance(self.hidden, tuple) or len(self.hidden) == 0:
            raise ValueError(f"hidden must be a non-empty tuple of widths; got {self.hidden!r}")
        for h in self.hidden:
            check_int("hidden width", h, low=1)

    def _dims(self) -> list[int]:
        return [self.in_dim, *self.hidden, self.classes]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        d = self._dims()
        shapes = {}
        for l in range(len(d) - 1):
            shapes[f"w{l}"] = (d[l + 1], d[l])
            shapes[f"b{l}"] = (d[l + 1],)
        return shapes

    def init(self, generator: torch.Generator) -> dict[str, Tensor]:
        """Parameters of one model drawn from ``generator`` alone."""
        _check_generator(generator)
        d = self._dims()
        fan = {}
        for l in range(len(d) - 1):
            fan[f"w{l}"] = fan[f"b{l}"] = d[l]
        return _uniform_init(self.param_shapes(), fan, generator)

    def apply(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """Logits (n, classes) for x of shape (n, in_dim) (or (n, ...) with in_dim entries per row)."""
        layers = len(self.hidden) + 1
        h = x.reshape(x.shape[0], -1)
        for l in range(layers):
            h = F.linear(h, params[f"w{l}"], params[f"b{l}"])
            if l < layers - 1:
                h = F.relu(h)
        return h


@dataclass(frozen=True)
class SmallCNN:
    """Two (or more) blocks conv3x3 (padding 1) -> ReLU -> max-pool 2x2, then a linear layer.

    ``channels`` are the output channels of the conv blocks; after k blocks the feature map is
    (channels[-1], height // 2**k, width // 2**k) (floor at each pool), flattened into the
    linear layer ``w_out`` of shape (classes, features).
    """

    in_channels: int
    height: int
    width: int
    classes: int
    channels: tuple[int, ...] = (16, 32)

    def __post_init__(self):
        check_int("in_channels", self.in_channels, low=1)
        check_int("classes", self.classes, low=2)
        if not isinstance(self.channels, tuple) or len(self.channels) == 0:
            raise ValueError(f"channels must be a non-empty tuple; got {self.channels!r}")
        for c in self.channels:
            check_int("channels entry", c, low=1)
        k = len(self.channels)
        check_int("height", self.height, low=2**k)
        check_int("width", self.width, low=2**k)

    @property
    def in_dim(self) -> int:
        return self.in_channels * self.height * self.width

    def _features(self) -> int:
        h, w = self.height, self.width
        for _ in self.channels:
            h, w = h // 2, w // 2
        return self.channels[-1] * h * w

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {}
        c_in = self.in_channels
        for l, c in enumerate(self.channels):
            shapes[f"conv{l}_w"] = (c, c_in, 3, 3)
            shapes[f"conv{l}_b"] = (c,)
            c_in = c
        shapes["w_out"] = (self.classes, self._features())
        shapes["b_out"] = (self.classes,)
        return shapes

    def init(self, generator: torch.Generator) -> dict[str, Tensor]:
        """Parameters of one model drawn from ``generator`` alone."""
        _check_generator(generator)
        fan = {}
        c_in = self.in_channels
        for l, c in enumerate(self.channels):
            fan[f"conv{l}_w"] = fan[f"conv{l}_b"] = c_in * 9
            c_in = c
        fan["w_out"] = fan["b_out"] = self._features()
        return _uniform_init(self.param_shapes(), fan, generator)

    def apply(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """Logits (n, classes) for x of shape (n, C, H, W) or (n, C*H*W)."""
        h = x.reshape(x.shape[0], self.in_channels, self.height, self.width)
        for l in range(len(self.channels)):
            h = F.conv2d(h, params[f"conv{l}_w"], params[f"conv{l}_b"], padding=1)
            h = F.max_pool2d(F.relu(h), 2)
        return F.linear(h.flatten(1), params["w_out"], params["b_out"])


def fixup_init(shapes: dict[str, tuple[int, ...]], generator: torch.Generator) -> dict[str, Tensor]:
    r"""Parameters for ``shapes``: PyTorch's default init, then every residual branch's last conv at zero.

    Each ``name.weight`` and ``name.bias`` is drawn from
    :math:`U(-1/\sqrt{\mathrm{fan\_in}}, 1/\sqrt{\mathrm{fan\_in}})`, fan_in the product of
    ``name.weight``'s shape after its first axis, in the order of ``shapes``; then every entry
    whose name holds ``.b.`` (the second conv of a residual block, by the naming of
    :func:`simulations.training.resnet.resnet_shapes`) is set to 0, so that each block computes
    :math:`\mathrm{ReLU}(0 + s(z))`: its shortcut. Zero-initialised residual branches are the
    core of Fixup (Zhang, Dauphin & Ma 2019, arXiv 1901.09321), which trains deep residual
    networks without normalisation; its rescaling of the other branch layers is not used.
    """
    _check_generator(generator)
    fan_in = {name: math.prod(shapes[name.rsplit(".", 1)[0] + ".weight"][1:]) for name in shapes}
    params = _uniform_init(shapes, fan_in, generator)
    for name in shapes:
        if ".b." in name:
            params[name].zero_()
    return params


@dataclass(frozen=True)
class ResNet:
    """Classifier: the residual trunk with stage widths ``channels``, then a linear layer ``out``.

    ``channels`` holds 1 to 4 stage widths; (64, 128, 256, 512) is ResNet-18 (11.2M parameters
    on CIFAR-10), (16, 32, 64) a small one for CPUs (the class default; ``model=resnet`` in the
    subset experiments takes their ``channels`` field).
    """

    in_channels: int
    height: int
    width: int
    classes: int
    channels: tuple[int, ...] = (16, 32, 64)

    def __post_init__(self):
        check_int("in_channels", self.in_channels, low=1)
        check_int("classes", self.classes, low=2)
        if not isinstance(self.channels, tuple) or not 1 <= len(self.channels) <= 4:
            raise ValueError(f"channels must hold 1 to 4 stage widths for a resnet; got {self.channels!r}")
        for c in self.channels:
            check_int("channels entry", c, low=1, high=4096)
        side = 2 ** (len(self.channels) - 1)  # stride-2 stages
        check_int("height", self.height, low=side)
        check_int("width", self.width, low=side)

    @property
    def in_dim(self) -> int:
        return self.in_channels * self.height * self.width

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = resnet_shapes(self.in_channels, self.channels)
        return shapes | {"out.weight": (self.classes, self.channels[-1]), "out.bias": (self.classes,)}

    def init(self, generator: torch.Generator) -> dict[str, Tensor]:
        """Parameters of one model drawn from ``generator`` alone (blocks start as their shortcut)."""
        return fixup_init(self.param_shapes(), generator)

    def apply(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """Logits (n, classes) for x of shape (n, C, H, W) or (n, C*H*W)."""
        h = x.reshape(x.shape[0], self.in_channels, self.height, self.width)
        return F.linear(resnet_features(params, h, self.channels), params["out.weight"], params["out.bias"])


ModelSpec = SoftmaxRegression | MLP | SmallCNN | ResNet


class SpecModule(nn.Module):
    """An ``nn.Module`` whose forward is ``spec.apply`` on its own parameters.

    ``torch.func.functional_call(SpecModule(spec, p), params, (x,))`` equals
    ``spec.apply(params, x)``; the plain trainer optimises ``module.parameters()``.
    """

    def __init__(self, spec: ModelSpec, params: dict[str, Tensor]):
        super().__init__()
        self.spec = spec
        for name, value in params.items():  # a dotted name ("s0b0.a.weight") lives in submodules
            *path, leaf = name.split(".")
            owner = self
            for part in path:
                if part not in owner._modules:
                    owner.add_module(part, nn.Module())
                owner = owner._modules[part]
            owner.register_parameter(leaf, nn.Parameter(value.detach().clone()))

    def forward(self, x: Tensor) -> Tensor:
        return self.spec.apply(dict(self.named_parameters()), x)


def stack_params(per_model: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Stack B parameter dicts on a new leading axis: entry [b] of each tensor is model b."""
    if len(per_model) == 0:
        raise ValueError("per_model must hold at least one parameter dict; got 0")
    return {name: torch.stack([p[name] for p in per_model]) for name in per_model[0]}
