r"""Cheap stand-ins for the consistency score (C-score) of Jiang, Zhang, Talwar & Mozer (2021).

The C-score of a training example is the expected held-out accuracy on it of models trained on
random subsets without it (docs/references.md §3): thousands of trainings. Jiang et al. propose
proxies that cost one training run or none; two are computed here:

- :func:`learning_speed`: the probability a model gives the example's label, averaged over the
  epochs of one training run on all the data (examples learned early score high);
- :func:`same_label_fraction`: of an example's ``k`` nearest neighbours in feature space
  (Euclidean, itself excluded), the fraction that share its label (a k-NN form of their
  class-conditional density proxy).
"""

from __future__ import annotations

import numpy as np

from simulations.threads import on_threads
from theory._validate import check_finite, check_int

__all__ = ["learning_speed", "same_label_fraction"]


def same_label_fraction(
    x: np.ndarray, y: np.ndarray, *, k: int, chunk: int = 1024, workers: int = 1
) -> np.ndarray:
    r"""For each row i of ``x`` (n, d): :math:`\frac1k |\{j \in N_k(i): y_j = y_i\}|`, N_k(i) the k
    nearest other rows (squared Euclidean distance, ties broken by index), as float64 (n,).

    Distances :math:`|x_i|^2 - 2 x_i^\top x_j + |x_j|^2` in float64, ``chunk`` queries at a time
    (memory O(chunk n)); chunks run on ``workers`` threads and do not depend on their number.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (len(x),):
        raise ValueError(f"x must be (n, d) and y (n,); got {x.shape} and {y.shape}")
    n = len(x)
    k = check_int("k", k, low=1, high=n - 1)
    sq = (x * x).sum(axis=1)
    out = np.empty(n)

    def one(a: int) -> None:
        b = min(a + chunk, n)
        d = sq[a:b, None] - 2.0 * (x[a:b] @ x.T) + sq[None, :]
        d[np.arange(b - a), np.arange(a, b)] = np.inf  # not its own neighbour
        near = np.argpartition(d, k - 1, axis=1)[:, :k]
        out[a:b] = (y[near] == y[a:b, None]).mean(axis=1)

    on_threads(one, range(0, n, chunk), workers)
    return out


def learning_speed(
    x: np.ndarray,
    y: np.ndarray,
    *,
    classes: int,
    epochs: int,
    lr: float,
    batch_size: int,
    momentum: float = 0.9,
    seed: int,
) -> np.ndarray:
    r"""Learning speed of every example in one run: a softmax-regression model trained by
    minibatch SGD (momentum, cross-entropy, weights from zero) on all rows of ``x`` (n, d), each
    column standardised; after every epoch e the probability :math:`p_e(y_i \mid x_i)` is taken,
    and the proxy is their mean over the ``epochs`` epochs (Jiang et al. 2021, "learning speed").
    ``seed`` fixes the minibatch order (a torch generator). Float64 (n,)."""
    import torch

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (len(x),):
        raise ValueError(f"x must be (n, d) and y (n,); got {x.shape} and {y.shape}")
    check_int("epochs", epochs, low=1, high=100_000)
    check_int("batch_size", batch_size, low=1)
    check_finite("lr", lr, low=0.0, low_open=True)
    check_finite("momentum", momentum, low=0.0, high=1.0, high_open=True)
    std = x.std(axis=0)
    xs = torch.as_tensor((x - x.mean(axis=0)) / np.where(std > 0, std, 1.0), dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64)
    n, d = xs.shape
    w = torch.zeros(d, classes)
    b = torch.zeros(classes)
    vw, vb = torch.zeros_like(w), torch.zeros_like(b)
    gen = torch.Generator().manual_seed(int(seed))
    total = np.zeros(n)
    rows = torch.arange(n)
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for a in range(0, n, batch_size):
            idx = order[a : a + batch_size]
            p = torch.softmax(xs[idx] @ w + b, dim=1)
            p[torch.arange(len(idx)), yt[idx]] -= 1.0  # gradient of the mean cross-entropy
            p /= len(idx)
            vw.mul_(momentum).add_(xs[idx].T @ p)
            vb.mul_(momentum).add_(p.sum(dim=0))
            w.sub_(lr * vw)
            b.sub_(lr * vb)
        with torch.no_grad():
            total += torch.softmax(xs @ w + b, dim=1)[rows, yt].double().numpy()
    return total / epochs
