"""A resumable store of many trained models' results, for the subsampled estimators.

Layout of a store folder::

    config.json           the configuration, its hash, t, n, k and the tailmem version
    models.npz            mask (t, n) bool and seed (t,) of every model, fixed at creation
    batch-SSSSSS-EEEEEE.npz   results of models S..E-1: correct_train (b, n), correct_test (b, k)
                          (uint8 when all are 0/1, else float32), the config hash and the
                          SHA-256 of the two arrays (checked on read: a damaged or edited
                          batch is named, never read); its presence is the completion flag
                          of those models

Every file is written to a temporary name and renamed, so a kill leaves either a whole batch
file or none; re-opening the store with the same configuration resumes (``pending`` lists the
models without results) and gives the same masks and seeds, so the final estimates equal those
of an uninterrupted run. A store made with another configuration is refused. Nothing is ever
unpickled (``np.load(..., allow_pickle=False)``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from simulations.results import (
    array_digest,
    atomic_savez,
    atomic_write_json,
    package_version,
    read_npz,
    to_jsonable,
)
from theory._validate import check_int

__all__ = ["ModelStore", "config_hash", "batch_checksum", "training_progress", "STORE_FORMAT"]

# config.json "format": 2 = every batch carries a checksum of its contents (stores written
# before it have no "format" and batches without one, which are read as they are)
STORE_FORMAT = 2


def batch_checksum(correct_train: np.ndarray, correct_test: np.ndarray) -> str:
    """SHA-256 of a batch's two arrays: dtype, shape and bytes of each, in order."""
    return array_digest(correct_train, correct_test, length=None)


def training_progress(done: int, total: int, trained_now: int, seconds: float) -> str:
    """The progress line of a store being filled (every trainer of a store logs this one): models
    ``done`` of ``total``, the rate of the ``trained_now`` models of this session, and the time
    the rest takes at that rate."""
    rate = trained_now / seconds if seconds > 0 else float("inf")
    left = f", about {(total - done) / rate:.0f} s left" if rate > 0 else ""
    return f"models {done}/{total} trained ({rate:.1f} models/s{left})"


def config_hash(config: dict) -> str:
    """SHA-256 (first 16 hex digits) of the configuration's canonical JSON."""
    text = json.dumps(to_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ModelStore:
    """Open (or create) the store in ``folder`` for ``config`` with the given masks and seeds.

    ``masks`` (t, n) bool and ``seeds`` (t,) are written at creation; when the store exists they
    must equal the stored ones (they are a pure function of the config, so a mismatch means a
    different configuration or code) and ``config`` must hash to the stored hash.
    """

    def __init__(
        self, folder: str | Path, config: dict, masks: np.ndarray, seeds: np.ndarray, *, n_test: int
    ):
        self.folder = Path(folder)
        self.config = to_jsonable(config)
        self.hash = config_hash(config)
        masks = np.asarray(masks)
        seeds = np.asarray(seeds)
        if masks.ndim != 2 or masks.dtype != bool:
            raise ValueError(f"store: masks must be a 2-d bool array; got {masks.dtype} {masks.shape}")
        if seeds.shape != (masks.shape[0],):
            raise ValueError(f"store: seeds must have shape ({masks.shape[0]},); got {seeds.shape}")
        self.t, self.n = masks.shape
        self.k = check_int("n_test", n_test, low=0)
        meta = self.folder / "config.json"
        if meta.exists():
            self._check_existing(meta, masks, seeds)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_savez(self.folder / "models.npz", mask=masks, seed=seeds)
            atomic_write_json(
                meta,
                {
                    "config": self.config,
                    "config_hash": self.hash,
                    "t": self.t,
                    "n": self.n,
                    "k": self.k,
                    "tailmem_version": package_version(),
                    "format": STORE_FORMAT,
                },
            )
            self.format = STORE_FORMAT
        self.masks, self.seeds = masks, seeds

    def _check_existing(self, meta: Path, masks, seeds) -> None:
        try:
            old = json.loads(meta.read_text())
            got = read_npz(self.folder / "models.npz", ("mask", "seed"))
            old_masks, old_seeds = got["mask"], got["seed"]
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"store: {self.folder} is damaged ({exc}); delete it to start over") from None
        if old.get("config_hash") != self.hash or (old.get("t"), old.get("n"), old.get("k")) != (
            self.t,
            self.n,
            self.k,
        ):
            raise ValueError(
                f"store: {self.folder} was made with another configuration (hash {old.get('config_hash')} "
                f"!= {self.hash}); use another folder, or delete it"
            )
        if not (np.array_equal(old_masks, masks) and np.array_equal(old_seeds, seeds)):
            raise ValueError(f"store: {self.folder} holds other masks or seeds for the same configuration")
        self.format = old.get("format", 1)

    # ------------------------------------------------------------------ batches
    def _batches(self) -> list[tuple[int, int, Path]]:
        out = []
        for p in sorted(self.folder.glob("batch-*.npz")):
            try:
                a, b = (int(x) for x in p.stem.split("-")[1:3])
            except ValueError:
                continue
            out.append((a, b, p))
        return out

    def done(self) -> np.ndarray:
        """Completion flag of every model, shape (t,)."""
        flag = np.zeros(self.t, dtype=bool)
        for a, b, _ in self._batches():
            flag[a:b] = True
        return flag

    def pending(self, batch: int) -> list[tuple[int, int]]:
        """Ranges [start, end) of at most ``batch`` models that still need training, in order."""
        batch = check_int("batch", batch, low=1)
        todo = np.flatnonzero(~self.done())
        ranges = []
        i = 0
        while i < todo.size:
            start = int(todo[i])
            end = start
            while i < todo.size and int(todo[i]) == end and end - start < batch:
                end += 1
                i += 1
            ranges.append((start, end))
        return ranges

    def save(self, start: int, end: int, correct_train: np.ndarray, correct_test: np.ndarray) -> None:
        """Store the results of models start..end-1 (atomically; this marks them complete)."""
        ct = np.asarray(correct_train, dtype=np.float32)
        cs = np.asarray(correct_test, dtype=np.float32)
        b = end - start
        if not 0 <= start < end <= self.t or ct.shape != (b, self.n) or cs.shape != (b, self.k):
            raise ValueError(
                f"store: batch [{start}, {end}) needs correct_train ({b}, {self.n}) and correct_test "
                f"({b}, {self.k}); got {ct.shape} and {cs.shape}"
            )
        if not (np.isfinite(ct).all() and np.isfinite(cs).all()):
            raise ValueError(f"store: batch [{start}, {end}) holds NaN or inf correctness values")
        if all(np.array_equal(a, a.astype(bool)) for a in (ct, cs)):
            ct, cs = ct.astype(np.uint8), cs.astype(np.uint8)  # 0/1 outcomes: 4x smaller, exact
        path = self.folder / f"batch-{start:06d}-{end:06d}.npz"
        atomic_savez(
            path,
            correct_train=ct,
            correct_test=cs,
            config_hash=np.array(self.hash),
            checksum=np.array(batch_checksum(ct, cs)),
        )

    def load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(masks (t, n), correct_train (t, n), correct_test (t, k)) once every model is done."""
        ct = np.full((self.t, self.n), np.nan, dtype=np.float32)
        cs = np.full((self.t, self.k), np.nan, dtype=np.float32)
        for a, b, p in self._batches():
            try:
                f = read_npz(p)
                if str(f["config_hash"]) != self.hash:
                    raise ValueError("written for another configuration")
                if "checksum" in f:
                    if str(f["checksum"]) != batch_checksum(f["correct_train"], f["correct_test"]):
                        raise ValueError("its contents do not match their checksum")
                elif self.format >= 2:
                    raise ValueError("it has no checksum")
                if f["correct_train"].shape != (b - a, self.n) or f["correct_test"].shape != (b - a, self.k):
                    raise ValueError("its arrays have the wrong shape")
                ct[a:b], cs[a:b] = f["correct_train"], f["correct_test"]
            except (OSError, ValueError, KeyError) as exc:
                msg = str(exc).splitlines()[0]
                raise ValueError(
                    f"store: {p} is corrupt ({msg}); delete that file and run again to retrain its models"
                ) from None
        missing = int((~self.done()).sum())
        if missing:
            raise ValueError(f"store: {missing} of {self.t} models have no results yet; resume the run")
        return self.masks, ct.astype(np.float64), cs.astype(np.float64)
