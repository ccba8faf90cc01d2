r"""Hypothesis strategies for Feldman's model, so that a new claim is property-tested in a few lines.

.. code-block:: python

    from hypothesis import given
    from tailmem.strategies import frequency_priors, sample_sizes

    @given(frequency_priors(), sample_sizes())
    def test_tau_1_is_a_frequency_of_the_prior(prior, n):  # a weighted mean of the frequencies
        q = prior.normalized()
        tau_1 = tailmem.bound(prior, n).tau["1"]
        assert q[q > 0].min() * (1 - 1e-9) <= tau_1 <= q.max() * (1 + 1e-9)

Every strategy is bounded (sizes that run in milliseconds) and shrinks towards small, simple
instances. Needs the ``hypothesis`` package (the ``[test]`` extra).
"""

from __future__ import annotations

from hypothesis import strategies as st

import theory

__all__ = ["frequency_priors", "sample_sizes", "class_counts", "label_noise"]


def sample_sizes(low: int = 1, high: int = 2_000) -> st.SearchStrategy[int]:
    """Numbers of training examples n in [low, high]."""
    return st.integers(low, high)


def class_counts(max_classes: int = 10) -> st.SearchStrategy[int]:
    """Numbers of classes m in [2, max_classes]."""
    return st.integers(2, max_classes)


def label_noise() -> st.SearchStrategy[float]:
    """Label-noise probabilities 1 - kappa in [0, 0.9]."""
    return st.floats(0.0, 0.9, allow_nan=False)


def _zipf(max_n: int):
    return st.builds(theory.zipf, st.integers(1, max_n), st.floats(0.0, 3.0), offset=st.floats(0.0, 5.0))


def _two_point(max_n: int):
    return st.builds(
        lambda N, f, r: theory.two_point(N, heavy_fraction=f, ratio=r),
        st.integers(2, max_n),
        st.floats(0.01, 0.99),
        st.floats(1.0, 1e4),
    )


def _counts(max_n: int):
    # observed counts, zeros allowed (points never seen), at least one positive
    return (
        st.lists(st.integers(0, 10_000), min_size=1, max_size=min(max_n, 60))
        .filter(any)
        .map(theory.from_counts)
    )


def frequency_priors(max_n: int = 5_000, *, kinds=("zipf", "uniform", "two-point", "counts", "mixture")):
    """Frequency priors of every kind (``kinds``), with at most ``max_n`` points each: Zipf and
    Zipf-Mandelbrot, uniform, two-point, empirical counts, and mixtures of two of these."""
    simple = {
        "zipf": _zipf(max_n),
        "uniform": st.builds(theory.uniform, st.integers(1, max_n)),
        "two-point": _two_point(max_n),
        "counts": _counts(max_n),
    }
    chosen = [simple[k] for k in kinds if k in simple]
    if not chosen:
        raise ValueError(f"kinds must name at least one of zipf, uniform, two-point, counts; got {kinds!r}")
    base = st.one_of(chosen)
    if "mixture" in kinds:
        mixed = st.builds(
            lambda a, b, w: theory.mixture([a, b], [w, 1.0 - w]), base, base, st.floats(0.05, 0.95)
        )
        return st.one_of(base, mixed)
    return base
