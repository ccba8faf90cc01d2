"""Checkpoints of a long experiment run: finished pieces saved as they complete, reused on re-run.

A :class:`Checkpoint` is a folder ``OUT/.NAME.partial/`` next to the experiment's output folder.
It holds ``config.json`` (the experiment, its config, the tailmem version and git revision: a
partial run from other code is not reused) and one
``KEY.json`` (+ ``KEY.npz`` for arrays) per finished piece, each written atomically. Re-running
the same command after a kill loads the finished pieces and computes only the rest; pieces are
pure functions of (config, key) with their own seeds, so the result is identical. A partial
folder left by a different config is refused with a one-line error (delete it, or use another
``--out``). The runner deletes the folder once the results are written, and when the run stops
with an error (only a kill leaves it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from simulations.results import (
    atomic_savez,
    atomic_write_json,
    config_differences,
    git_revision,
    package_version,
    read_npz,
    to_jsonable,
)

__all__ = ["Checkpoint"]


class Checkpoint:
    def __init__(self, folder: str | Path, experiment: str, cfg):
        self.folder = Path(folder)
        ident = {
            "experiment": experiment,
            "config": to_jsonable(cfg),
            "tailmem_version": package_version(),
            "git_revision": git_revision(),
        }
        marker = self.folder / "config.json"
        if marker.exists():
            try:
                old = json.loads(marker.read_text())
            except (OSError, ValueError):
                old = None
            new = json.loads(json.dumps(ident))
            if not isinstance(old, dict) or not isinstance(old.get("config"), dict):
                raise ValueError(f"checkpoint: {marker} is unreadable; delete {self.folder} and run again")
            differ = [k for k in new if k != "config" and old.get(k) != new[k]]
            differ += config_differences(old["config"], new["config"])
            if differ:
                raise ValueError(
                    f"checkpoint: {self.folder} holds a partial run of another configuration "
                    f"(differs in {', '.join(differ[:4])}); delete it or choose another --out"
                )
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_json(marker, ident)
        self.reused = 0

    def _paths(self, key: str) -> tuple[Path, Path]:
        if not key.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"checkpoint: key {key!r} must be alphanumeric, '-' or '_'")
        return self.folder / f"{key}.json", self.folder / f"{key}.npz"

    def load(self, key: str) -> tuple[dict, dict] | None:
        """(data, arrays) saved under ``key``, or None if that piece is not finished."""
        js, nz = self._paths(key)
        if not js.exists():
            return None
        data = json.loads(js.read_text())
        arrays = {}
        if nz.exists():
            arrays = read_npz(nz)
        self.reused += 1
        return data, arrays

    def save(self, key: str, data: dict, arrays: dict | None = None) -> None:
        """Save a finished piece; the JSON (written last) marks it complete."""
        js, nz = self._paths(key)
        if arrays:
            atomic_savez(nz, **arrays)
        atomic_write_json(js, data)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
