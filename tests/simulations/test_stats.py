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

from simulations.stats import mean_se, paired_difference, pm, pooled_ratio, spearman, spearman_bootstrap


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
