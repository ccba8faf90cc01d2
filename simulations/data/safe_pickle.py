"""Reading pickles written by others without running their code.

A pickle names callables by module and attribute (the GLOBAL / STACK_GLOBAL opcodes) and calls
them while it loads, so ``pickle.load`` on a foreign file can run anything (``os.system``...).
:class:`RestrictedUnpickler` resolves only the few names that rebuild numpy arrays; dicts,
lists, tuples, strings, bytes and numbers need no name and load as usual. This is enough for
the CIFAR-10 python batches and the MNIST-1D reference pickle.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

# (module, name) -> the object it stands for. Pickles made before numpy 2 name the private module
# ``numpy.core.multiarray``; it is mapped to ``numpy._core`` directly, so importing the deprecated
# ``numpy.core`` alias (a DeprecationWarning under numpy 2) never happens here.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` resolves only :data:`ALLOWED_GLOBALS`.

    Any other global (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) raises
    :class:`pickle.UnpicklingError` before it is called.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: only numpy array reconstruction is allowed"
            ) from None


def restricted_loads(data: bytes, *, encoding: str = "ASCII") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`.

    ``encoding`` is passed to the unpickler; use ``"bytes"`` for pickles written by Python 2
    (such as the CIFAR-10 batches), which keeps their 8-bit strings and array buffers as bytes.
    """
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


def restricted_load(path: str | os.PathLike[str], *, encoding: str = "ASCII") -> Any:
    """:func:`restricted_loads` on a file; any failure is a one-line ValueError naming the file."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return restricted_loads(data, encoding=encoding)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise ValueError(f"{path}: cannot unpickle safely: {err}") from err
