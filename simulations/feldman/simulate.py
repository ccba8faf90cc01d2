"""Run many trials of the model for several learners and summarise with standard errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from simulations.feldman.learners import Compressed, parse_learner
from simulations.feldman.measure import TauTable, measure
from simulations.feldman.model import LabelPrior, sample_batch
from simulations.feldman.posterior import Posterior
from theory import FrequencyPrior
from theory._validate import check_int

__all__ = ["simulate", "SCALARS", "summary"]

# per-trial scalars summarised as mean and standard error
SCALARS = (
    "err",
    "opt",
    "excess",
    "bound_terms",
    "identity_gap",
    "tau1_errn1_conf",
    "mem_avg",
    "mem_max",
    "mem_singletons",
    "train_err",
    "err_noisy",
    "gen_gap",
)
# per-trial arrays summed over trials (ratios are formed at the end)
SUMS = ("errn", "errn_conf", "num_points_by_ell", "mem_by_ell", "examples_by_ell", "acc_sum", "acc_count")


def summary(x: np.ndarray) -> dict:
    """Mean, standard error (sample sd / sqrt(T)) and T of a per-trial array."""
    x = np.asarray(x, dtype=np.float64)
    T = x.size
    return {
        "mean": float(x.mean()),
        "se": float(x.std(ddof=1) / np.sqrt(T)) if T > 1 else float("nan"),
        "trials": T,
    }


def simulate(
    prior: FrequencyPrior,
    n: int,
    labels: LabelPrior,
    learners: Sequence[str],
    *,
    trials: int,
    variant: str = "fixed",
    seed: int | Sequence[int] | np.random.SeedSequence = 0,
    batch_trials: int = 25,
    max_ell: int = 20,
    bin_edges: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Simulate ``trials`` independent trials and measure every learner on each.

    Trials run in batches of ``batch_trials``; batch k draws from
    ``np.random.SeedSequence(seed).spawn(...)[k]`` (or ``seed.spawn(...)[k]`` for a SeedSequence),
    so results depend on (seed, batch_trials)
    and not on anything else. Returns ``{learner: {"scalars": {name: summary}, "per_trial":
    {name: array}, "sums": {name: array}}}`` plus ``"_tau"`` (tau_0..tau_max_ell).
    """
    trials = check_int("trials", trials, low=2)
    bt = check_int("batch_trials", batch_trials, low=1)
    max_ell = check_int("max_ell", max_ell, low=1)
    specs = [parse_learner(s) for s in learners]
    names = [L.name for L in specs]
    if len(set(names)) != len(names):
        dup = sorted({x for x in names if names.count(x) > 1})
        raise ValueError(f"learners: each learner may appear once; repeated: {', '.join(dup)}")
    if bin_edges is None:
        bin_edges = np.geomspace(1e-2, 1e4, 19)
    taus = TauTable(prior, n, variant)
    num = -(-trials // bt)
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    seqs = root.spawn(num)
    per = {L.name: {} for L in specs}
    done = 0
    for k in range(num):
        T = min(bt, trials - done)
        raw = sample_batch(prior, n, labels, trials=T, variant=variant, rng=np.random.default_rng(seqs[k]))
        agg = raw.aggregate() if labels.iid else raw
        posts: dict[int, Posterior] = {}  # one per batch object (raw rows, aggregated rows)
        for L in specs:
            b = raw if isinstance(L, Compressed) else agg
            if id(b) not in posts:
                posts[id(b)] = Posterior(b)
            post = posts[id(b)]
            r = measure(b, post, L.predict(b, post), taus, max_ell=max_ell, bin_edges=bin_edges)
            for key, v in r.items():
                per[L.name].setdefault(key, []).append(v)
        done += T
        if progress is not None:
            progress(T)
    out = {}
    for name, r in per.items():
        cat = {key: np.concatenate(v) for key, v in r.items()}
        out[name] = {
            "scalars": {key: summary(cat[key]) for key in SCALARS},
            "per_trial": {key: cat[key] for key in SCALARS},
            "sums": {key: cat[key].sum(axis=0) for key in SUMS},
        }
    out["_tau"] = np.zeros(max_ell + 1)  # tau_l, l = 0..max_ell (0 where l > n)
    out["_tau"][: min(max_ell, n) + 1] = taus(np.arange(min(max_ell, n) + 1), observed=False)
    out["_bin_edges"] = bin_edges
    return out
