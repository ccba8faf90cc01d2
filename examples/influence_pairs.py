"""Train/test pairs on scikit-learn's digits where one training image measurably helps one test
image (Feldman & Zhang's influence), with a guard against noise: among same-class pairs, keep
those whose estimate is at least 4 standard errors above 0, and compare their number with how
many would pass by chance alone (each estimate's error taken as normal).

Run: python examples/influence_pairs.py OUT   (saves OUT/pairs.png)
"""

import sys
from pathlib import Path

import matplotlib
import numpy as np
import scipy.stats
from sklearn.datasets import load_digits

import tailmem

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)
d = load_digits()
y_train, y_test = d.target[:1000], d.target[1000:1400]
res = tailmem.memorization(d.data[:1000], y_train, d.data[1000:1400], y_test, models=64, epochs=20,
                           hidden=(128,), lr=0.05, progress=False)  # fmt: skip
infl, se = res.influence()  # (1000 train, 400 test)
same = (y_train[:, None] == y_test[None, :]) & (se > 0)
z = np.where(same, infl / np.where(se > 0, se, 1.0), -np.inf)
passing = int((z >= 4).sum())
by_chance = float(scipy.stats.norm.sf(4) * same.sum())
print(f"same-class pairs with infl~ >= 4 SE: {passing} (by chance alone about {by_chance:.1f})")
if passing < 3 * by_chance:  # say it when the pairs found are not clearly more than noise
    print("not resolved at this size: about as many pairs would pass by chance; use more models")
flat = np.argsort(-z, axis=None)[:4]
pairs = [np.unravel_index(k, z.shape) for k in flat]
fig, axes = plt.subplots(2, 4, figsize=(7.5, 4.6))
for col, (i, j) in enumerate(pairs):
    axes[0, col].imshow(d.images[1000 + j], cmap="gray_r")
    axes[0, col].set_title(f"test {j} (label {y_test[j]})", fontsize=8)
    axes[1, col].imshow(d.images[i], cmap="gray_r")
    axes[1, col].set_title(f"train {i}: infl~ {infl[i, j]:.2f} ± {se[i, j]:.2f}", fontsize=8)
    for ax in axes[:, col]:
        ax.set_xticks([])
        ax.set_yticks([])
fig.suptitle(
    f"most influential same-class pairs ({passing} pass 4 SE; ~{by_chance:.1f} by chance)", fontsize=9
)
fig.tight_layout()
fig.savefig(out / "pairs.png", dpi=120)
print("pairs (train i -> test j, infl~ ± SE):", [(int(i), int(j), round(float(infl[i, j]), 2),
                                                 round(float(se[i, j]), 2)) for i, j in pairs])  # fmt: skip
print(f"wrote {out / 'pairs.png'}")
