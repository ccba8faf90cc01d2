"""Memorization of your own data with your own five-line torch module.

Writes a small .npz (digits with a few labels flipped, standing in for your data), then estimates
mem~ of every training example with 48 models of your module, each on 70% of the data.

Run: python examples/memorize_your_npz.py OUT
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from torch import nn

import tailmem

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)
d = load_digits()
y = d.target[:500].copy()
rng = np.random.default_rng(0)
flipped = rng.choice(500, 6, replace=False)
y[flipped] = (y[flipped] + 5) % 10
np.savez(out / "mine.npz", x_train=d.data[:500], y_train=y, x_test=d.data[1500:], y_test=d.target[1500:])


def my_model():  # your own module: (n, 64) -> (n, 10) logits
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


data = np.load(out / "mine.npz", allow_pickle=False)
res = tailmem.memorization(data["x_train"], data["y_train"], data["x_test"], data["y_test"], model=my_model,
                           models=48, epochs=25, lr=0.05, progress=False)  # fmt: skip
top = np.argsort(-res.mem)[:10]
print("most memorized:", top.tolist(), "with mem~", np.round(res.mem[top], 2).tolist())
print("flipped labels:", sorted(flipped.tolist()), "their mem~", np.round(res.mem[flipped], 2).tolist())
print(f"test accuracy {res.test_accuracy['mean']:.3f} ± {res.test_accuracy['se']:.3f}")
res.save(out / "result")
