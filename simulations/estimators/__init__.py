"""Estimators of memorization and influence: subsampled (Feldman & Zhang) and exact leave-one-out."""

from simulations.estimators.diagnostics import spearman, split_half_z
from simulations.estimators.loo import knn_loo_memorization, loo_memorization, ridge_loo_memorization
from simulations.estimators.memorization import (
    Estimate,
    check_coverage,
    heldout_accuracy,
    heldout_from_sums,
    heldout_sums,
    high_influence_pairs,
    influence,
    influence_top_k,
    memorization,
    subset_masks,
)
from simulations.estimators.proxies import learning_speed, same_label_fraction

__all__ = [
    "Estimate",
    "subset_masks",
    "check_coverage",
    "memorization",
    "influence",
    "influence_top_k",
    "heldout_accuracy",
    "heldout_sums",
    "heldout_from_sums",
    "high_influence_pairs",
    "knn_loo_memorization",
    "ridge_loo_memorization",
    "loo_memorization",
    "split_half_z",
    "spearman",
    "learning_speed",
    "same_label_fraction",
]
