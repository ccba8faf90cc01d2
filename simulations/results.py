"""Results on disk: provenance, atomic writes, and the experiment folder layout.

An experiment folder holds ``results.json`` (config, numbers, seed, version, git revision, wall
time), ``arrays.npz`` (plain numeric arrays, loadable with ``allow_pickle=False``) and figures.
Every file is written to a temporary name and renamed; a folder is built under a temporary
name and renamed into place, so a crash never leaves half a result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from simulations.threads import thread_provenance

__all__ = [
    "progress_bar",
    "close_progress_bars",
    "atomic_savez",
    "package_version",
    "git_revision",
    "provenance",
    "cpu_provenance",
    "atomic_write_text",
    "atomic_write_json",
    "to_jsonable",
    "saved_form",
    "replace_dir",
    "make_build_dir",
    "read_npz",
    "array_digest",
]


# config fields that say where data, stores and caches are, or where models run, not what is
# computed: a re-run (or a resumed run) may change them
LOCATION_FIELDS = ("data_dir", "store", "cache", "threads", "backend", "ray_address", "ray_cpus", "ray_gpus")


def config_differences(old: dict, new: dict) -> list[str]:
    """The fields (sorted) in which two configs (JSON form) differ, those in LOCATION_FIELDS aside."""
    return [k for k in sorted(set(old) | set(new)) if k not in LOCATION_FIELDS and old.get(k) != new.get(k)]


def package_version() -> str:
    """Installed version of the ``tailmem`` distribution (``0+unknown`` if not installed)."""
    try:
        return metadata.version("tailmem")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def git_revision() -> str:
    """The git revision of the source tree the code runs from, ``+dirty`` if modified."""
    here = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _installed(dist: str) -> str | None:
    """The installed version of ``dist`` (read from its metadata, not imported), or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def provenance() -> dict:
    """Version, git revision, interpreter and library versions, machine."""
    return {
        "tailmem_version": package_version(),
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": _installed("torch"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "cpu": cpu_provenance(),
        "threads": thread_provenance(),
    }


def cpu_provenance() -> dict:
    """The processor and the vector instructions of the machine that writes the results.

    Kernels for different instruction sets round differently in the last bits, and a training run
    of many epochs carries such differences into its numbers (docs/composition.md: composition-nets'
    30-epoch table, first run on an AVX-512 machine, against the same code on an AVX2 one, which
    reproduces itself bit for bit). ``torch_capability`` is torch's kernel choice where torch ran
    in this process. Models trained elsewhere (Ray workers, a store filled on another machine, a
    checkpoint resumed here) are not described by it. ``vector`` is None where /proc/cpuinfo is
    not there to read (not Linux), ``[]`` where it lists none of the flags named.
    """
    model, flags = "unknown", None
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        flags = set()  # read: a processor without an x86 flags line has none of them
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    torch = sys.modules.get("torch")
    capability = torch.backends.cpu.get_cpu_capability() if torch is not None else None
    named = {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "fma"}
    vector = None if flags is None else sorted(flags & named)
    return {"model": model, "vector": vector, "torch_capability": capability}


def to_jsonable(obj):
    """Convert dataclasses, numpy scalars/arrays, tuples and paths into JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def saved_form(obj):
    """``obj`` as it comes back from results.json: tuples are lists, numpy scalars plain numbers,
    NaN None (what ``plot`` and ``report`` see)."""
    return json.loads(json.dumps(to_jsonable(obj), allow_nan=False))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_build_dir(parent: Path, name: str) -> Path:
    """A fresh temporary folder next to where ``name`` will go, with ordinary permissions."""
    parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{name}.build-", dir=parent))
    os.chmod(build, 0o777 & ~_umask())
    return build


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_savez(path: str | Path, **arrays) -> None:
    """``np.savez`` to a temporary name in the same folder, then rename: never a half file."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")


def replace_dir(built: Path, target: Path) -> None:
    """Move the fully built folder ``built`` to ``target``, replacing any old one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(built, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_npz(path: str | Path, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file (all, or ``keys``), never unpickled.

    Any damage (a truncated or non-zip file, a missing key, an object array) raises ValueError
    naming the file, and the file handle is closed whatever happens.
    """
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            names = f.files if keys is None else keys
            return {k: np.asarray(f[k]) for k in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None


_OPEN_BARS: list = []


def progress_bar(total: int, desc: str):
    """A tqdm bar on stderr that disappears when closed; ``bar.update(k)`` advances it by k.

    Long experiment runs show their progress with it (the results never depend on it). Bars
    still open when a run stops are cleared by :func:`close_progress_bars`, so that the error or
    interrupt line starts on a line of its own.
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False)
    _OPEN_BARS[:] = [b for b in _OPEN_BARS if not getattr(b, "disable", True)]
    _OPEN_BARS.append(bar)
    return bar


def close_progress_bars() -> None:
    """Close (and so erase) every progress bar still open; called before an error line."""
    while _OPEN_BARS:
        bar = _OPEN_BARS.pop()
        try:
            bar.close()
        except Exception:  # noqa: BLE001 - a bar that cannot be closed must not hide the error
            pass


def array_digest(*arrays, prefix: str = "", length: int | None = 16) -> str:
    """SHA-256 of ``prefix`` and then of each array's dtype, shape and bytes, in order (hashed
    without a copy where the array is contiguous), as its first ``length`` hex digits (all 64
    with None). The one fingerprint of data: store keys, batch checksums, feature caches."""
    h = hashlib.sha256(prefix.encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        if a.size:  # an empty array has no bytes (and memoryview cannot cast its shape)
            h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:length]
