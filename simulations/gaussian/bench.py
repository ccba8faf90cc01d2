"""Speed of the closed-form ridge leave-one-out against refitting once per left-out example.

Timed tests are unreliable, so speed is printed and returned here, never asserted.
"""

from __future__ import annotations

import time

import numpy as np

from simulations.gaussian.model import make_mixture, sample
from simulations.gaussian.ridge import Ridge
from theory._validate import check_int

__all__ = ["loo_benchmark"]


def loo_benchmark(
    n: int = 10_000,
    d: int = 50,
    *,
    classes: int = 10,
    lams=(0.0, 0.1, 1.0, 10.0),
    refits: int = 20,
    rng: np.random.Generator,
    out=print,
) -> dict:
    r"""Time :meth:`Ridge.loo_path` (one SVD for all ``lams``) against n refits per lambda.

    Data: n draws from a Gaussian mixture with 100 equally frequent clusters on the unit sphere
    in dimension ``d`` (``scale`` 0.5, uniform labels over ``classes``). The brute-force
    reference refits :class:`Ridge` without example i and predicts at :math:`x_i`, for every
    lambda; only ``refits`` randomly chosen i are run and their time is scaled by
    n / ``refits`` (a refit costs the same for every i). ``agreement`` is the fraction of
    those (i, lambda) where the refit's label equals the closed form's. ``out`` receives the
    report lines (``print`` by default).
    """
    n = check_int("n", n, low=3)
    d = check_int("d", d, low=1)
    refits = check_int("refits", refits, low=1, high=n)
    lams = np.asarray(lams, dtype=np.float64)
    mix = make_mixture(np.ones(100), d, classes, scale=0.5, rng=rng)
    data = sample(mix, n, rng=rng)
    x, y = data.x, data.y
    learner = Ridge(classes)
    t0 = time.perf_counter()
    loo = learner.loo_path(x, y, lams)
    closed = time.perf_counter() - t0
    chosen = rng.choice(n, size=refits, replace=False)
    keep = np.ones(n, dtype=bool)
    agree = 0
    t0 = time.perf_counter()
    for i in chosen:  # the brute-force reference: one refit per (i, lambda)
        keep[i] = False
        for j, lam in enumerate(lams):
            label = Ridge(classes, lam=float(lam)).fit(x[keep], y[keep]).predict(x[i : i + 1])[0]
            agree += int(label == loo[j, i])
        keep[i] = True
    measured = time.perf_counter() - t0
    scaled = measured * n / refits
    report = {
        "n": n,
        "d": d,
        "lams": lams.tolist(),
        "closed_form_s": closed,
        "refits_measured": refits,
        "refit_s_measured": measured,
        "refit_s_scaled": scaled,
        "ratio": scaled / closed,
        "agreement": agree / (refits * lams.size),
    }
    out(f"closed-form ridge LOO, n={n}, d={d}, {lams.size} lambdas: {closed:.3f} s (one SVD)")
    out(
        f"brute force: {refits} of {n} refits per lambda measured in {measured:.3f} s, "
        f"scaled by n/{refits} to {scaled:.1f} s (estimate, not run in full)"
    )
    out(f"speed-up {report['ratio']:.0f}x; labels agree on {report['agreement']:.1%} of measured refits")
    return report
