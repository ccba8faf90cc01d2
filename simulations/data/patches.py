r"""Fixed convolutional features of images that need no downloaded weights: Coates, Lee & Ng (2011).

"An Analysis of Single-Layer Networks in Unsupervised Feature Learning" (AISTATS 2011): every
w x w patch of an image (stride 1, all C channels: d = w^2 C numbers) is brightness- and
contrast-normalised,

.. math:: \tilde p = (p - \bar p\,\mathbf 1) / \sqrt{\mathrm{var}(p) + \epsilon_n},

ZCA-whitened with statistics of ``samples`` random training patches
(:math:`W = U (\Lambda + \epsilon_w)^{-1/2} U^\top`, mean M), and compared with a dictionary D of
K whitened, unit-length training patches (random patches: the paper's "random" dictionary);
the two-sided threshold encoder keeps :math:`\max(0, z - \alpha)` and :math:`\max(0, -z - \alpha)`
of :math:`z = D W (\tilde p - M)`, and each of the 2K maps is summed over the four quadrants of
the image: 8K features per image (3,200 for K = 400). The whole map is a few convolutions
(:func:`encode`), run in chunks of images with torch.

Features are cached as ``npz`` in a folder given by the caller (never the data folder, which may
be read-only), under a name made from the recipe's parameters and a fingerprint of the images;
the file also stores that key and is recomputed, never reused, when the key differs.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from simulations.results import array_digest, atomic_savez, read_npz
from theory._validate import check_finite, check_int

__all__ = ["PatchFeatures", "patch_features", "fit_patch_map", "encode", "ridge_accuracy"]

RECIPE = "coates-v1"  # change with the computation: old caches are then recomputed


@dataclass(frozen=True)
class PatchFeatures:
    """The recipe: K dictionary patches of width ``size``, encoder threshold ``alpha``, contrast
    constant ``norm_eps`` (pixels 0..255), whitening constant ``whiten_eps``, ``samples`` random
    training patches for the whitening statistics, ``seed`` for the patch draws."""

    patches: int = 400
    size: int = 6
    alpha: float = 0.25
    norm_eps: float = 10.0
    whiten_eps: float = 0.1
    samples: int = 100_000
    seed: int = 0

    def __post_init__(self):
        check_int("patches", self.patches, low=1, high=16_384)
        check_int("size", self.size, low=1, high=32)
        check_finite("alpha", self.alpha, low=0.0)
        check_finite("norm_eps", self.norm_eps, low=0.0, low_open=True)
        check_finite("whiten_eps", self.whiten_eps, low=0.0, low_open=True)
        check_int("samples", self.samples, low=2, high=10**7)
        check_int("seed", self.seed, low=0)


def _channels_first(images: np.ndarray) -> np.ndarray:
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"images must be uint8 (n, H, W) or (n, H, W, C); got {images.dtype} {images.shape}")
    x = images[:, None] if images.ndim == 3 else np.moveaxis(images, -1, 1)
    return np.ascontiguousarray(x)


def _sample_patches(x: np.ndarray, count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random size x size patches of images x (n, C, H, W), flattened (C, h, w) order."""
    n, c, h, w = x.shape
    if size > min(h, w):
        raise ValueError(f"size: a patch of {size} pixels does not fit images of {h} x {w}")
    i = rng.integers(0, n, size=count)
    r = rng.integers(0, h - size + 1, size=count)
    s = rng.integers(0, w - size + 1, size=count)
    rows = r[:, None] + np.arange(size)[None, :]  # (count, size)
    cols = s[:, None] + np.arange(size)[None, :]
    patches = x[
        i[:, None, None, None],
        np.arange(c)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]
    return patches.reshape(count, -1).astype(np.float64)


def _normalise(p: np.ndarray, eps: float) -> np.ndarray:
    return (p - p.mean(axis=1, keepdims=True)) / np.sqrt(p.var(axis=1, keepdims=True) + eps)


def fit_patch_map(train_images: np.ndarray, recipe: PatchFeatures) -> dict[str, np.ndarray]:
    """The linear map of the recipe, fitted on training images only: ``filters`` A = D W (K, d),
    ``offset`` A M (K,), with patch layout (C, size, size)."""
    x = _channels_first(train_images)
    rng = np.random.default_rng(np.random.SeedSequence(recipe.seed, spawn_key=(0x9A7C,)))
    p = _normalise(_sample_patches(x, recipe.samples, recipe.size, rng), recipe.norm_eps)
    mean = p.mean(axis=0)
    cov = np.cov(p, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)
    whiten = (vecs / np.sqrt(np.maximum(vals, 0.0) + recipe.whiten_eps)) @ vecs.T
    d = _normalise(_sample_patches(x, recipe.patches, recipe.size, rng), recipe.norm_eps)
    d = (d - mean) @ whiten
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    filters = d @ whiten  # z = D W (p~ - M) = A p~ - A M
    return {"filters": filters, "offset": filters @ mean}


def encode(
    images: np.ndarray, fitted: dict[str, np.ndarray], recipe: PatchFeatures, *, chunk: int = 256
) -> np.ndarray:
    """Features (n, 8K) float32 of uint8 images: normalise every patch, apply the fitted map,
    two-sided threshold, sum over the four quadrants (by convolutions, ``chunk`` images at a time)."""
    import torch
    import torch.nn.functional as F

    x = _channels_first(images)
    n, c, h, w = x.shape
    k, s = recipe.patches, recipe.size
    A = torch.as_tensor(fitted["filters"], dtype=torch.float32).reshape(k, c, s, s)
    off = torch.as_tensor(fitted["offset"], dtype=torch.float32).reshape(1, k, 1, 1)
    a_sum = A.sum(dim=(1, 2, 3)).reshape(1, k, 1, 1)
    box = torch.full((1, c, s, s), 1.0 / (c * s * s))
    out = np.empty((n, 8 * k), dtype=np.float32)

    def one_chunk(a: int) -> None:
        with torch.no_grad():
            xb = torch.as_tensor(x[a : a + chunk], dtype=torch.float32)
            mu = F.conv2d(xb, box)  # (b, 1, H', W'): patch means
            scale = (F.conv2d(xb * xb, box) - mu * mu).clamp_(min=0.0).add_(recipe.norm_eps).rsqrt_()
            z = F.conv2d(xb, A)  # (b, K, H', W'), then in place: (A p - mean A 1) / sd - A M
            z.sub_(mu * a_sum).mul_(scale).sub_(off)
            buf = torch.empty_like(z)
            hh, ww = z.shape[2] // 2, z.shape[3] // 2
            cols = []
            for sign in (1.0, -1.0):  # max(0, z - alpha), then max(0, -z - alpha), in place in buf
                torch.mul(z, sign, out=buf).sub_(recipe.alpha).clamp_(min=0.0)
                quads = (buf[:, :, :hh, :ww], buf[:, :, :hh, ww:], buf[:, :, hh:, :ww], buf[:, :, hh:, ww:])
                cols += [q.sum(dim=(2, 3)) for q in quads]
            out[a : a + chunk] = torch.cat(cols, dim=1).numpy()

    # chunks are independent: side by side on group_workers threads (torch releases the GIL)
    from simulations.threads import group_workers, on_threads

    on_threads(one_chunk, range(0, n, chunk), group_workers())
    return out


def patch_features(
    train_images: np.ndarray,
    test_images: np.ndarray,
    recipe: PatchFeatures,
    cache: str | Path | None,
    *,
    log=None,
) -> tuple[np.ndarray, np.ndarray]:
    """(train features, test features) of the recipe, fitted on the training images; read from
    ``cache`` when a file of this recipe and these images is there, else computed and saved."""
    key = f"{RECIPE} {sorted(asdict(recipe).items())} images {array_digest(train_images, test_images)}"
    name = f"patches-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    path = None if cache is None else Path(cache) / name
    if path is not None and path.is_file():
        try:
            saved = read_npz(path, ("key", "train", "test"))
            if str(saved["key"]) == key:
                return saved["train"], saved["test"]
        except ValueError:
            pass  # damaged or foreign: recomputed below, never reused
        if log is not None:
            log(f"feature cache {path} is stale or damaged: recomputing")
    t0 = time.perf_counter()
    fitted = fit_patch_map(train_images, recipe)
    train, test = encode(train_images, fitted, recipe), encode(test_images, fitted, recipe)
    if log is not None:
        log(f"patch features of {len(train) + len(test):,} images in {time.perf_counter() - t0:.0f} s")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_savez(path, key=np.array(key), train=train, test=test)
    return train, test


def ridge_accuracy(
    x_train, y_train, x_test, y_test, *, lam: float = 1.0, classes: int | None = None
) -> float:
    """Test accuracy of one ridge classifier (one-hot targets, features standardised with the
    training statistics, penalty ``lam`` times the number of examples): the features' quality."""
    x_train = np.asarray(x_train, dtype=np.float64)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    a = (x_train - mean) / std
    b = (np.asarray(x_test, dtype=np.float64) - mean) / std
    m = int(classes or (max(y_train.max(), y_test.max()) + 1))
    y = np.eye(m)[y_train]
    a1 = np.hstack([a, np.ones((len(a), 1))])
    gram = a1.T @ a1 + lam * len(a) * np.eye(a1.shape[1])
    coef = np.linalg.solve(gram, a1.T @ y)
    pred = np.hstack([b, np.ones((len(b), 1))]) @ coef
    return float(np.mean(pred.argmax(axis=1) == y_test))
