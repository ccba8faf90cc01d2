"""What limits the cscores estimate: the features. For k principal components of the patch
features, one ridge head on all 40,000 CIFAR-10 training images: its test accuracy, and the
Spearman correlation with the released C-scores of its confidence on its own training images
(the cheapest proxy of docs/cscores.md, which tracks the full estimate within 0.01 at k = 1,024).

Usage: python3 scripts/cscores_components.py DATA_DIR CACHE_DIR [k ...]
(CACHE_DIR: the feature cache of a cscores run, e.g. results/.cache/features)
"""

from __future__ import annotations

import sys
import time

import numpy as np
import scipy.stats
from threadpoolctl import threadpool_limits

from simulations.data import load_cifar10_cscores, load_dataset
from simulations.data.patches import PatchFeatures, patch_features
from simulations.training.ridge_heads import calibrate_beta, label_probability, ridge_basis, ridge_head


def main(data_dir: str, cache: str, ks: list[int]) -> None:
    data = load_dataset("cifar10", data_dir)
    cscore = load_cifar10_cscores(data_dir, labels=data.y_train)[: len(data.y_train)]
    f_train, f_test = patch_features(data.x_train, data.x_test, PatchFeatures(), cache)
    print("| components | test accuracy | Spearman(confidence, C-score) | seconds |")
    print("| --- | --- | --- | --- |")
    for k in ks:
        t0 = time.perf_counter()
        with threadpool_limits(1):
            basis = ridge_basis(f_train, f_test, components=k)
            w = ridge_head(basis, data.y_train, np.ones(len(data.y_train), dtype=bool), lam=0.003, classes=10)
        test_scores = basis.z_test @ w
        beta = calibrate_beta(test_scores, data.y_test)
        conf = label_probability(basis.z_train @ w, data.y_train, beta)
        acc = float((test_scores.argmax(axis=1) == data.y_test).mean())
        rho = scipy.stats.spearmanr(conf, cscore).statistic
        print(f"| {k:,} | {100 * acc:.2f}% | {rho:.3f} | {time.perf_counter() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], [int(k) for k in sys.argv[3:]] or [256, 512, 1024, 2048, 3200])
