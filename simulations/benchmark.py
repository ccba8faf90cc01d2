"""Benchmarks: speed ratios against straightforward references run in the same process.

Timed tests are unreliable, so speed is shown here and printed, never asserted.
"""

from __future__ import annotations

import math
import time

import numpy as np

import theory

__all__ = ["reference_bound_loop", "bound_benchmark", "reference_trial_loop", "feldman_benchmark"]


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


def reference_trial_loop(
    N: int, n: int, trials: int, *, m: int = 10, gamma: float = 0.5, seed: int = 1
) -> dict:
    """Straightforward simulation of Feldman's model, one trial and one example at a time.

    Zipf(1) prior (fixed variant), uniform noiseless labels; learners memorize-all, fit-seen>=2
    and the gamma-limited vote learner. Per trial: draw D, the n examples (``rng.choice``), the
    per-point accuracy P[h(x) = f(x)] of each learner; memorization by a loop over the examples.
    An independent implementation: its means also check the batched code.
    """
    rng = np.random.default_rng(seed)
    q = theory.zipf(N).normalized()
    slope = gamma * m / (m - 1)

    def acc(c, k):  # P[h(x) = f(x)] at a point seen c times, for learner k
        if k == 0:
            return 1.0 if c >= 1 else 1.0 / m
        if k == 1:
            return 1.0 if c >= 2 else 1.0 / m
        w = min(1.0, c * slope)
        return 1.0 / m + w * (1.0 - 1.0 / m)

    err = np.zeros((trials, 3))
    mem = np.zeros((trials, 3))
    for t in range(trials):
        D = rng.permutation(q)
        x = rng.choice(N, size=n, p=D)
        counts = np.bincount(x, minlength=N)
        for k in range(3):
            a = np.array([acc(int(c), k) for c in counts])
            err[t, k] = float(D @ (1.0 - a))
            mem[t, k] = sum(acc(int(counts[i]), k) - acc(int(counts[i]) - 1, k) for i in x) / n
    return {"err": err, "mem": mem}


def feldman_benchmark(
    trials: int = 1000, N: int = 50_000, n: int = 50_000, *, ref_trials: int = 3, out=print
):
    """Batched simulation (1000 trials, three learners) against the straightforward per-trial loop."""
    from simulations.feldman import LabelPrior
    from simulations.feldman.simulate import simulate

    learners = ["memorize-all", "fit-seen>=2", "mem-limit=0.5"]
    prior = theory.zipf(N)
    start = time.perf_counter()
    sim = simulate(prior, n, LabelPrior(10), learners, trials=trials, seed=0, batch_trials=25)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    ref = reference_trial_loop(N, n, ref_trials)
    t_ref = (time.perf_counter() - start) * trials / ref_trials
    out(
        f"feldman-bound simulation, Zipf(1), N = n = {N:,}, {trials:,} trials, learners {', '.join(learners)}"
    )
    out(f"  batched (tailmem)            : {fast:8.2f} s  = {trials * n / fast:,.0f} simulated examples/s")
    out(f"  per-trial loop, {ref_trials} trials    : scaled to {trials:,} trials: {t_ref:8.1f} s")
    out(f"  speed ratio (loop / batched) : {t_ref / fast:8.1f}x")
    worst = 0.0
    for k, name in enumerate(learners):
        a = sim[name]["scalars"]["err"]
        b = ref["err"][:, k]
        se = math.hypot(a["se"], b.std(ddof=1) / math.sqrt(b.size) if b.size > 1 else 0.0)
        z = (a["mean"] - b.mean()) / se if se > 0 else 0.0
        worst = max(worst, abs(z))
        out(
            f"  {name:14s}: err {a['mean']:.5f} ± {a['se']:.5f} (batched) vs {b.mean():.5f} (loop), "
            f"z = {z:+.2f}"
        )
    return {"fast_s": fast, "reference_scaled_s": t_ref, "ratio": t_ref / fast, "max_abs_z": worst}
