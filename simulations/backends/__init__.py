"""Where the work units of a many-model experiment run: in this process (``local``) or on Ray.

A *work unit* is a pure function ``unit(shared, *args) -> result``: ``shared`` holds what every
unit reads (the data and the training configuration), ``args`` what one unit trains (model
indices, masks, seeds). :func:`map_batches` calls it once per item and hands each result to the
driver's ``on_done`` callback as soon as it is ready; only the driver writes results anywhere.
``local`` needs no Ray; ``ray`` (the ``[ray]`` extra) runs the units as Ray tasks.
"""

from simulations.backends.batches import BACKENDS, LOCAL, Backend, map_batches, ray_installed

__all__ = [
    "BACKENDS",
    "Backend",
    "LOCAL",
    "map_batches",
    "ray_installed",
]
