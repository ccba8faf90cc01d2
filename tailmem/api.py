r"""The facade's theory, simulation and experiment functions (see :mod:`tailmem`)."""

from __future__ import annotations

from pathlib import Path

import theory
from theory._validate import check_prob

__all__ = ["bound", "simulate_feldman", "run", "load_results"]


def bound(
    prior: theory.FrequencyPrior,
    n: int,
    *,
    classes: int = 10,
    variant: str = "fixed",
    gamma: float | None = None,
    epsilon: float | None = None,
    noise: float = 0.0,
    ells: int = 5,
) -> theory.BoundReport:
    r"""Feldman's quantities for ``prior`` and ``n`` examples (:func:`theory.bound`).

    ``noise`` is the probability :math:`1-\kappa` that an observed label is replaced by a
    uniform one. The report holds :math:`\tau_1..\tau_{ells}` (``report.tau["1"]``), the
    singleton fraction, the unseen mass, ``opt_error``, ``cost_unfit_singletons`` (the excess
    error of a learner that fits no singleton) and, with ``gamma`` (a memorization limit) or
    ``epsilon`` (label-DP), ``cost_memorization_limit``. Exact, in log space; N and n up to 1e7
    and beyond. Source: Feldman (2020), arXiv 1906.05271, Section 2 (docs/theory.md).
    """
    noise = check_prob("noise", noise)
    return theory.bound(
        prior, n, classes, variant=variant, kappa=1.0 - noise, gamma=gamma, epsilon=epsilon, ells=ells
    )


def simulate_feldman(
    prior: theory.FrequencyPrior,
    n: int,
    *,
    learners: tuple[str, ...] | list[str] = ("memorize-all", "fit-seen>=2", "mem-limit=0.5"),
    trials: int = 200,
    seed: int = 0,
    classes: int = 10,
    variant: str = "fixed",
    noise: float = 0.0,
    batch_trials: int = 25,
) -> dict:
    r"""Feldman's generative process simulated ``trials`` times; each learner measured exactly.

    Returns ``{"opt_theory": float, "learners": {name: {"err", "excess", "bound_terms",
    "mem_avg", "gen_gap": {"mean", "se"}, "theory": float | None}}}``: the measured test error,
    the excess error over the Bayes learner on the same trials, the bound terms
    :math:`\sum_\ell \tau_\ell\,\mathrm{errn}_\ell`, average memorization and the
    generalization gap, each a mean over trials with its standard error, beside the theory's
    exact excess (``fit-seen>=k``) or lower bound (``mem-limit=G``, ``label-dp=E``). Learners:
    ``memorize-all``, ``fit-seen>=k``, ``mem-limit=G``, ``label-dp=E``, ``keep-top-B``,
    ``majority-class`` (docs/feldman.md).
    """
    from simulations.experiments.feldman_bound import theory_cost
    from simulations.feldman import LabelPrior, parse_learner
    from simulations.feldman.simulate import simulate

    noise = check_prob("noise", noise)
    if isinstance(learners, str) or not learners:
        raise ValueError(f"learners must be a non-empty list of learner names; got {learners!r}")
    labels = LabelPrior(classes, kappa=1.0 - noise)
    sim = simulate(
        prior, n, labels, list(learners), trials=trials, variant=variant, seed=seed, batch_trials=batch_trials
    )
    out = {}
    for spec in learners:
        name = parse_learner(spec).name
        s = sim[name]["scalars"]
        out[name] = {
            q: {"mean": s[q]["mean"], "se": s[q]["se"]}
            for q in ("err", "excess", "bound_terms", "mem_avg", "gen_gap")
        }
        out[name]["theory"] = theory_cost(spec, prior, n, classes, 1.0 - noise, variant)
    opt = theory.opt_error(prior, n, classes, kappa=1.0 - noise, variant=variant).value
    return {"opt_theory": opt, "trials": trials, "seed": seed, "learners": out}


def run(
    name: str,
    *,
    quick: bool = False,
    out: str | Path = "results",
    data_dir: str | None = None,
    progress: bool = True,
    **fields,
) -> dict:
    """Run the registered experiment ``name`` into ``out/name/``, as ``tailmem run`` does; the
    keyword ``fields`` set its config fields (``tailmem list NAME`` shows them). Returns the
    content of the written results.json."""
    from simulations.config import make_config
    from simulations.experiments import get
    from simulations.runner import run_experiment

    exp = get(name)
    cfg = make_config(exp, quick=quick, data_dir=data_dir, overrides=fields or None)
    sets = " ".join(f"--set {k}={v}" for k, v in fields.items())
    command = f"tailmem.run({name!r}, quick={quick}, out={str(out)!r}) {sets}".strip()
    doc, _ = run_experiment(exp, cfg, Path(out) / exp.name, command=command, quick=quick, progress=progress)
    return doc


def load_results(folder: str | Path) -> tuple[dict, dict]:
    """(results.json content, arrays of arrays.npz) of an experiment folder, read without
    unpickling; ValueError naming the file when one is missing or damaged."""
    from simulations.runner import read_results

    doc, arrays, _ = read_results(Path(folder))
    return doc, arrays
