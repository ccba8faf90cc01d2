"""Benchmarks: speed ratios against straightforward references run in the same process.

Timed tests are unreliable, so speed is shown here and printed, never asserted.
"""

from __future__ import annotations

import math
import time

import theory

__all__ = ["reference_bound_loop", "bound_benchmark"]


def reference_bound_loop(N: int, n: int, exponent: float = 1.0, ells: int = 5) -> dict:
    """Straightforward float loop over the N points (fixed variant, Zipf prior): the baseline.

    Uses plain ``math`` on each point in turn; no logs beyond the per-point power, no vectors.
    """
    Z = sum(i**-exponent for i in range(1, N + 1))
    num = [0.0] * (ells + 1)
    den = [0.0] * (ells + 1)
    unseen = 0.0
    for i in range(1, N + 1):
        q = i**-exponent / Z
        base = (1.0 - q) ** n
        unseen += q * base
        for l in range(1, ells + 1):
            t = q**l * (1.0 - q) ** (n - l)
            den[l] += t
            num[l] += q * t
    return {
        "tau": [num[l] / den[l] for l in range(1, ells + 1)],
        "singleton_fraction": den[1],
        "unseen_mass": unseen,
    }


def _best(fn, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bound_benchmark(N: int = 10_000_000, *, n_ref: int = 20_000, out=print) -> dict:
    """Time ``theory.bound`` at N = n (prior construction included) against the float loop.

    The loop runs at N = n = ``n_ref`` and its time is scaled linearly to N (it is O(N)
    per moment); agreement is checked at ``n_ref``, where both run.
    """
    fast = _best(lambda: theory.bound(theory.zipf(N), N, 10), 3)
    t_ref = _best(lambda: reference_bound_loop(n_ref, n_ref), 1)
    ref = reference_bound_loop(n_ref, n_ref)
    got = theory.bound(theory.zipf(n_ref), n_ref, 10)
    pairs = [(got.tau[str(l)], ref["tau"][l - 1]) for l in range(1, 6)]
    pairs += [(got.singleton_fraction, ref["singleton_fraction"]), (got.unseen_mass, ref["unseen_mass"])]
    agree = max(abs(a - b) / abs(b) for a, b in pairs)
    scaled = t_ref * N / n_ref
    out(f"tailmem bound, Zipf(1), N = n = {N:,}, fixed variant (prior construction included)")
    out(f"  vectorised log-space ladder : {fast:8.3f} s  (best of 3)")
    out(f"  float loop, N = n = {n_ref:,}  : {t_ref:8.3f} s  -> scaled to N: {scaled:8.1f} s")
    out(f"  speed ratio (reference / fast): {scaled / fast:8.1f}x")
    out(
        f"  agreement at N = n = {n_ref:,}: max relative difference {agree:.2e} "
        f"(tau_1..5, singleton fraction, unseen mass)"
    )
    return {"fast_s": fast, "reference_scaled_s": scaled, "ratio": scaled / fast, "agreement": agree}
