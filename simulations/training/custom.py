r"""Your own ``torch.nn.Module`` as a model spec, trained batched with ``vmap``.

:class:`ModuleSpec` wraps a zero-argument callable that returns a fresh module. It gives the
engine what a built-in spec gives (:mod:`simulations.training.models`):

- ``init(generator)``: the module is built with torch's global generator seeded from
  ``generator`` *inside* ``torch.random.fork_rng``, so the global random state is unchanged
  afterwards and one seed fixes one model (PyTorch's own initialisation of the layers);
- ``apply(params, x)``: ``torch.func.functional_call(template, params, (x,))``, a pure function
  of the parameters, which :func:`~simulations.training.engine.train_batched` trains for all
  models at once with ``vmap(grad(loss))``, and :func:`~simulations.training.reference.train_one`
  trains one at a time with ``torch.optim.SGD`` (they agree, tested).

What ``vmap`` cannot batch is refused with one line, never trained wrongly: modules with buffers
(BatchNorm's running statistics are updated in place), and dropout (each model would need its
own random masks). The module must map a float32 batch (n, in_dim) to logits (n, classes);
checked on two zero rows before anything is trained.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
from torch import Tensor, nn

from theory._validate import check_int

__all__ = ["ModuleSpec"]

# module types that cannot be trained as a vmap batch, and why
REFUSED = {
    nn.modules.batchnorm._BatchNorm: "BatchNorm keeps running statistics (buffers updated in "
    "place); use LayerNorm or GroupNorm",
    nn.modules.dropout._DropoutNd: "dropout needs random masks per model; remove it",
}


class ModuleSpec:
    """A model spec made from ``factory`` (a zero-argument callable returning an ``nn.Module``)."""

    def __init__(self, factory: Callable[[], nn.Module], in_dim: int, classes: int):
        if not callable(factory):
            raise ValueError(
                f"model must be a built-in name or a callable returning a torch.nn.Module; got {factory!r}"
            )
        self.in_dim = check_int("in_dim", in_dim, low=1)
        self.classes = check_int("classes", classes, low=2)
        self.factory = factory
        with torch.random.fork_rng(devices=[]):
            template = factory()
        if not isinstance(template, nn.Module):
            raise ValueError(
                f"model: the callable must return a torch.nn.Module; it returned {type(template).__name__}"
            )
        for kind, why in REFUSED.items():
            bad = [name for name, m in template.named_modules() if isinstance(m, kind)]
            if bad:
                raise ValueError(
                    f"model: {type(template).__name__} cannot be trained as a vmap batch: {why} ({bad[0]})"
                )
        buffers = [name for name, _ in template.named_buffers()]
        if buffers:
            raise ValueError(
                f"model: buffers ({buffers[0]}) are updated in place and cannot be batched; remove them"
            )
        if not any(True for _ in template.parameters()):
            raise ValueError("model: the module has no parameters to train")
        self.template = template.float()
        with torch.no_grad():
            try:
                out = self.apply(self.init(torch.Generator().manual_seed(0)), torch.zeros(2, in_dim))
            except Exception as exc:  # noqa: BLE001 - the user's module: one line, whatever it raised
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ValueError(
                    f"model: the module fails on a (2, {in_dim}) float32 input ({msg})"
                ) from None
        if tuple(out.shape) != (2, classes):
            raise ValueError(
                f"model: the module must map (n, {in_dim}) to logits (n, {classes}); "
                f"got {tuple(out.shape)} for n = 2"
            )

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: tuple(p.shape) for name, p in self.template.named_parameters()}

    def fingerprint(self) -> str:
        """What the model store keys on: the module's printed structure and parameter shapes."""
        text = repr(self.template) + repr(sorted(self.param_shapes().items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def init(self, generator: torch.Generator) -> dict[str, Tensor]:
        """Parameters of one freshly built module, seeded from ``generator`` (global state kept)."""
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # inside fork_rng: the caller's global generator is restored
            module = self.factory()
        return {name: p.detach().to(torch.float32).clone() for name, p in module.named_parameters()}

    def apply(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """Logits (n, classes) of the module with ``params`` on x (n, in_dim)."""
        return torch.func.functional_call(self.template, params, (x.reshape(x.shape[0], -1),))

    def __repr__(self) -> str:
        return f"ModuleSpec({type(self.template).__name__}, in_dim={self.in_dim}, classes={self.classes})"
