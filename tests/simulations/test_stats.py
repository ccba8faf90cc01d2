"""simulations.stats: the one implementation of mean ± SE, ratios, paired differences, Spearman.

Expected values are closed forms computed by hand in the comments, or the definitions
themselves evaluated another way (the NaN rule as "the same as on the finite entries alone").
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulations.stats import (
    FEW_NOTE,
    beyond_noise,
    mean_se,
    paired_difference,
    pm,
    pm_percent,
    pooled_ratio,
    spearman,
    spearman_bootstrap,
)


def test_mean_se_closed_form():
    # 1, 2, 3, 4: mean 2.5, sample variance 5/3, SE sqrt(5/3) / 2
    got = mean_se([1.0, 2.0, 3.0, 4.0])
    assert got["mean"] == 2.5 and got["count"] == 4
    assert got["se"] == pytest.approx(math.sqrt(5 / 3) / 2, rel=1e-15)


def test_the_nan_rule():
    assert mean_se([np.nan, np.inf]) == {"mean": None, "se": None, "count": 0}
    assert mean_se([3.0, np.nan]) == {"mean": 3.0, "se": None, "count": 1}


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30),
    st.lists(st.sampled_from([np.nan, np.inf, -np.inf]), max_size=5),
)
def test_non_finite_entries_are_dropped_and_counted(values, bad):
    assert mean_se(values + bad) == mean_se(values)
    assert mean_se(values + bad)["count"] == len(values)


def test_paired_difference_and_shape_check():
    got = paired_difference([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])  # differences 2, 3, 4
    assert got["mean"] == 3.0 and got["se"] == pytest.approx(1 / math.sqrt(3))
    with pytest.raises(ValueError, match="one shape"):
        paired_difference([1.0], [1.0, 2.0])


def test_pooled_ratio_closed_form():
    # a = (1, 3), b = (2, 2): r = 4 / 4 = 1; residuals -1, 1; SE = sqrt(2/1 * 2) / 4 = 0.5
    r, se = pooled_ratio(np.array([1.0, 3.0]), np.array([2.0, 2.0]))
    assert r == 1.0 and se == pytest.approx(0.5)
    r, se = pooled_ratio(np.array([[1.0]]), np.array([[0.0]]))
    assert not np.isfinite(r).any() and not np.isfinite(se).any()


def test_pm_rounds_to_what_the_se_resolves():
    # the SE to one significant digit (two when they start with 1), the mean to the same place
    assert pm({"mean": 0.82412, "se": 0.00909}) == "0.824 ± 0.009"
    assert pm({"mean": 0.5, "se": 0.0013}) == "0.5000 ± 0.0013"
    assert pm({"mean": 2.9, "se": 0.98}) == "2.9 ± 1.0"
    assert pm({"mean": -0.0112, "se": 0.0067}) == "-0.011 ± 0.007"
    # tiny SEs and large means share one exponent
    assert pm({"mean": 1.971e-6, "se": 1.971e-6}) == "(2.0 ± 2.0)e-06"
    assert pm({"mean": 1.5e-6, "se": 2e-7}, 3, style="g") == "(1.5 ± 0.2)e-06"
    # no usable SE: the mean with the given digits
    assert pm({"mean": None, "se": None}) == "—" and pm(None) == "—"
    assert pm({"mean": 1.0, "se": None}, 2) == "1.00"
    assert pm({"mean": 1.0, "se": 0.0}, 2) == "1.00 ± 0.00"


def test_pm_percent_scales_the_fraction_and_signs_differences():
    assert pm_percent({"mean": 0.82412, "se": 0.00909}) == "82.4 ± 0.9"
    assert pm_percent({"mean": 0.029, "se": 0.0098}, sign=True) == "+2.9 ± 1.0"
    assert pm_percent({"mean": -0.029, "se": 0.0098}, sign=True) == "-2.9 ± 1.0"
    assert pm_percent({"mean": 0.5, "se": None}) == "50.00" and pm_percent(None) == "—"


def test_removal_table_marks_a_row_resting_on_few_examples():
    # the example: threshold 0.9 removes 2 examples and reads +2.90 +- 0.98
    from simulations.experiments.removal import removal_table

    acc = {"mean": 0.9, "se": 0.01}
    rows = [
        {"threshold": 0.5, "removed": 300, "accuracy": acc, "minus_random": {"mean": -0.02, "se": 0.005}},
        {"threshold": 0.5, "removed": 300, "accuracy": acc},
        {"threshold": 0.9, "removed": 2, "accuracy": acc, "minus_random": {"mean": 0.029, "se": 0.0098}},
        {"threshold": 0.9, "removed": 2, "accuracy": acc},
    ]
    header = ["t", "removed", "mem", "random", "diff"]
    lines = removal_table(header, rows, lambda m: [f"{m['threshold']:g}"])
    assert lines[:2] == ["| t | removed | mem | random | diff |", "| --- | --- | --- | --- | --- |"]
    assert lines[2] == "| 0.5 | 300 | 90.0 ± 1.0 | 90.0 ± 1.0 | -2.0 ± 0.5 |"
    assert lines[3] == "| 0.9 | 2 ‡ | 90.0 ± 1.0 | 90.0 ± 1.0 | +2.9 ± 1.0 |"
    assert lines[-1] == FEW_NOTE and "fewer than 20 examples" in FEW_NOTE
    lines = removal_table(header[1:], rows[:2], lambda m: [])
    assert lines[2:] == ["| 300 | 90.0 ± 1.0 | 90.0 ± 1.0 | -2.0 ± 0.5 |"]
    with pytest.raises(ValueError, match="row 0 has 4 cells, the header 5"):
        removal_table(header, rows, lambda m: [])


def test_beyond_noise_is_a_poisson_z_with_its_conclusion():
    # z = (found - expected) / sqrt(max(expected, 1)), by hand
    z, verdict = beyond_noise(17, 4e-5)  # the CIFAR-10 run: 17 pairs against 4e-5 expected
    assert z == pytest.approx(17 - 4e-5) and verdict == "more than noise explains"
    z, verdict = beyond_noise(393, 13581.1)  # the quick run: no conclusion was drawn
    assert z == pytest.approx((393 - 13581.1) / math.sqrt(13581.1))
    assert verdict == "not resolved at this size: the expected false pairs exceed the pairs found"
    assert beyond_noise(12, 9.0) == (pytest.approx(1.0), "not resolved at this size")
    assert beyond_noise(12, 9.0, k=1.0)[1] == "more than noise explains"


def test_spearman_of_a_monotone_map_and_its_interval():
    x = np.arange(50.0)
    got = spearman(x, np.exp(x / 10))
    assert got["rho"] == pytest.approx(1.0) and got["n"] == 50
    rng = np.random.default_rng(0)
    noisy = spearman(x, x + rng.normal(scale=20, size=50))
    lo, hi = noisy["ci95"]
    assert lo < noisy["rho"] < hi
    boot = spearman_bootstrap(x, x + rng.normal(scale=20, size=50), reps=200, rng=np.random.default_rng(1))
    assert boot["ci95"][0] < boot["rho"] < boot["ci95"][1] and boot["se"] > 0
    with pytest.raises(ValueError, match="at least 4 finite pairs"):
        spearman([1.0, 2.0, np.nan, 4.0], [1.0, 2.0, 3.0, 4.0])
