r"""The three-digit-sum task of Zhou, Ma, Ge (2025) with one-shot symbols.

An item is three 28x28 images stacked as channels, x in R^{3x28x28}; its target is the sum of
the three images' values, :math:`y = v(x_1) + v(x_2) + v(x_3)`. A digit image's value is its
MNIST label. Digits are drawn with Zipf frequencies

.. math:: P(\text{digit} = d) = \frac{(d+1)^{-a}}{\sum_{e=0}^{9} (e+1)^{-a}},\qquad d = 0,\dots,9,

so '9' is the rarest (docs/references.md §4 [summary]: "digit frequencies Zipf ('9' rarest)").

**One-shot symbols.** Omniglot is not available offline, so the one-shot symbols are K
Fashion-MNIST images (distinct, drawn from its training split), each given a value uniform in
``0 .. symbol_values - 1``. Each symbol appears in exactly ONE training item, in a random
channel, beside two Zipf digits. The one-shot test set pairs two symbols (two random channels,
the third a digit): the two were never in one training item together, so every test pair is an
unseen combination of once-seen symbols.

**Splits.** Training items take their digit images from MNIST's training split; every test
item takes its digit images from MNIST's test split (never trained on). Within an item set,
images of one digit are drawn without replacement while the pool lasts. Test sets:

- ``id``: items drawn as the training digits (Zipf);
- ``unseen-9``: one random channel holds a '9' (an unseen image), the other two Zipf digits,
  "test items hold at least one unseen '9'";
- ``one-shot``: two once-seen symbols in an unseen pair and one Zipf digit.

Everything is indexed into one image ``pool`` (MNIST train, MNIST test, the symbols), with
``values[pool index]``; an item set is an int64 array (m, 3) of pool indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory._validate import check_finite, check_int

__all__ = [
    "DIGITS",
    "TEST_SETS",
    "digit_probabilities",
    "draw_digits",
    "SumTask",
    "make_sum_task",
    "sum_targets",
]

DIGITS = 10
TEST_SETS = ("id", "unseen-9", "one-shot")


def digit_probabilities(exponent: float) -> np.ndarray:
    r"""Zipf digit frequencies :math:`p_d \propto (d+1)^{-a}`, d = 0..9 (shape (10,), sums to 1)."""
    a = check_finite("zipf_exponent", exponent, low=0.0, high=20.0)
    w = np.arange(1, DIGITS + 1, dtype=np.float64) ** (-a)
    return w / w.sum()


def draw_digits(labels: np.ndarray, digits: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Pool indices of images with the given digits: entry j is an index i with ``labels[i] == digits[j]``.

    Images of one digit are drawn without replacement while the candidates last (with
    replacement only when more slots ask for a digit than there are images of it). One
    ``rng.choice`` per digit value, no per-slot loop. ``digits`` may have any shape.
    """
    digits = np.asarray(digits)
    out = np.empty(digits.shape, dtype=np.int64)
    flat, res = digits.reshape(-1), out.reshape(-1)
    for d in range(DIGITS):
        slots = np.flatnonzero(flat == d)
        if slots.size == 0:
            continue
        cands = np.flatnonzero(labels == d)
        if cands.size == 0:
            raise ValueError(f"labels: no image of digit {d} to draw from")
        res[slots] = rng.choice(cands, size=slots.size, replace=slots.size > cands.size)
    return out


@dataclass(frozen=True, eq=False)
class SumTask:
    """Pool, values and item sets of one draw of the task (see the module docstring).

    ``pool`` float32 (P, 28, 28) standardised pixels; ``values`` int64 (P,); ``train`` int64
    (n + K, 3); ``tests[name]`` int64 (m, 3) for name in :data:`TEST_SETS`; ``symbols`` int64
    (K,) pool indices of the one-shot symbols and ``symbol_items`` the training rows that hold
    them; ``train_digits`` int64 (n + K, 3) the digit in each training slot (-1 for a symbol).
    """

    pool: np.ndarray
    values: np.ndarray
    train: np.ndarray
    tests: dict
    symbols: np.ndarray
    symbol_items: np.ndarray
    train_digits: np.ndarray

    def targets(self, items: np.ndarray) -> np.ndarray:
        return sum_targets(self.values, items)


def sum_targets(values: np.ndarray, items: np.ndarray) -> np.ndarray:
    """float32 (m,) sums of the three values of each item (items int64 (m, 3) pool indices)."""
    return values[items].sum(axis=1).astype(np.float32)


def _standardise(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    return ((images.astype(np.float32) / 255.0 - mean) / std).astype(np.float32)


def make_sum_task(
    mnist,
    fashion,
    *,
    train_items: int,
    symbols: int,
    symbol_values: int,
    test_items: int,
    exponent: float,
    rng: np.random.Generator,
) -> SumTask:
    """Draw the training set and the three test sets.

    ``mnist`` and ``fashion`` are :class:`~simulations.data.Dataset` records (uint8 (n, 28, 28)).
    Pixels are scaled to [0, 1] and standardised with the mean and standard deviation of MNIST's
    training images (the symbols with the same statistics). ``train_items`` Zipf digit triples
    plus ``symbols`` one-shot items; ``test_items`` items per test set.
    """
    n = check_int("train_items", train_items, low=1, high=10**7)
    k = check_int("symbols", symbols, low=2, high=10_000)
    sv = check_int("symbol_values", symbol_values, low=1, high=1000)
    m = check_int("test_items", test_items, low=1, high=10**7)
    p = digit_probabilities(exponent)
    if k > len(fashion.x_train):
        raise ValueError(f"symbols must be at most {len(fashion.x_train)} (Fashion-MNIST images); got {k}")

    scale = mnist.x_train.astype(np.float64) / 255.0
    mean, std = float(scale.mean()), float(scale.std())
    n_tr, n_te = len(mnist.x_train), len(mnist.x_test)
    sym_src = np.sort(rng.choice(len(fashion.x_train), size=k, replace=False))
    pool = np.concatenate(
        [_standardise(a, mean, std) for a in (mnist.x_train, mnist.x_test, fashion.x_train[sym_src])]
    )
    sym = np.arange(n_tr + n_te, n_tr + n_te + k, dtype=np.int64)
    values = np.concatenate(
        [mnist.y_train, mnist.y_test, rng.integers(0, sv, size=k, dtype=np.int64)]
    ).astype(np.int64)
    tr_labels = np.where(np.arange(len(pool)) < n_tr, values, -1)
    te_labels = np.where((np.arange(len(pool)) >= n_tr) & (np.arange(len(pool)) < n_tr + n_te), values, -1)

    # training: n Zipf triples, then K items holding one symbol (random channel) and two digits
    digits = rng.choice(DIGITS, size=(n + k, 3), p=p)
    chan = rng.integers(0, 3, size=k)
    digits[n + np.arange(k), chan] = -1
    train = draw_digits(tr_labels, np.where(digits < 0, 0, digits), rng=rng)
    train[n + np.arange(k), chan] = sym

    tests = {}
    tests["id"] = draw_digits(te_labels, rng.choice(DIGITS, size=(m, 3), p=p), rng=rng)
    d9 = rng.choice(DIGITS, size=(m, 3), p=p)
    d9[np.arange(m), rng.integers(0, 3, size=m)] = DIGITS - 1
    tests["unseen-9"] = draw_digits(te_labels, d9, rng=rng)
    # one-shot: a random pair of distinct symbols in two random channels, a digit in the third
    first = rng.integers(0, k, size=m)
    second = (first + rng.integers(1, k, size=m)) % k  # uniform over the other k - 1 symbols
    free = rng.integers(0, 3, size=m)  # the digit's channel
    one = draw_digits(te_labels, rng.choice(DIGITS, size=m, p=p), rng=rng)
    pairs = np.empty((m, 3), dtype=np.int64)
    rows = np.arange(m)
    others = np.stack([(free + 1) % 3, (free + 2) % 3], axis=1)
    flip = rng.integers(0, 2, size=m).astype(bool)
    a_ch = np.where(flip, others[:, 1], others[:, 0])
    b_ch = np.where(flip, others[:, 0], others[:, 1])
    pairs[rows, free] = one
    pairs[rows, a_ch] = sym[first]
    pairs[rows, b_ch] = sym[second]
    tests["one-shot"] = pairs
    return SumTask(
        pool=pool,
        values=values,
        train=train,
        tests=tests,
        symbols=sym,
        symbol_items=n + np.arange(k, dtype=np.int64),
        train_digits=digits,
    )
