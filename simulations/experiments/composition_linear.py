r"""Experiment ``composition-linear``: memorized tail features on unseen combinations (linear model).

The linear model of Zhou, Ma, Ge (2025), arXiv 2510.16322, as summarised in docs/references.md
§4 [summary] (:mod:`simulations.composition`): x in {0, +1, -1}^d with
:math:`p_i = \min(1, s i^{-\alpha}/Z_\alpha)`, :math:`Z_\alpha = \sum_{i\le d} i^{-\alpha}` (the
assumed normaliser), head = the first k features with :math:`n p_k \ge 10`,
:math:`\beta^*_i = i^{-0.1}`, :math:`y = \langle\beta^*, x\rangle + \sigma\varepsilon`.

A sweep point (alpha, n, d, s, sigma) draws ``runs`` training sets at once and fits, per run,
the minimum-norm interpolator :math:`X^+y` (the limit of gradient descent from zero, checked
through the closed form with the step count that guarantees relative distance ``gd_tol``) and
ridge at every ``ridge_lams`` (the non-memorizing contrast), all from one eigen-decomposition
per run (of the n x n Gram matrix, or of the Gram matrix of the occurring features when fewer
than n occur: the same coefficients, see :mod:`simulations.composition.linear`). It measures
per run

- the per-feature error :math:`|\hat\beta_i - \beta^*_i|` and the recovered indicator
  (relative error at most ``recover_tol``) by the number of training examples holding feature i;
- the exact noiseless in-distribution test loss :math:`\sum_i p_i(\hat\beta_i - \beta^*_i)^2`
  (excess over the noise when sigma > 0) and its head / seen-tail / unseen-tail parts;
- out-of-distribution losses on ``ood_points`` points per run, each the signed sum of
  ``ood_size`` tail features that **no training example holds together**: "seen" (each feature
  in at least one training example), "once" (each in exactly one) and the control "unseen"
  (features absent from training).

Points: the alpha sweep at every sigma in ``sigmas``; the n, d and s sweeps at the first sigma
(the others held at the main alpha, n, d, s). Each point has its own stream
``SeedSequence([seed, 1e6 alpha, n, d, 1e6 s])`` (sigma is not part of it: the points at
different sigma share their designs and test points, and differ by the noise only). The
theory's rate :math:`s(\ln^2 d/(ns))^{1-1/\alpha}` is compared with the min-norm ID loss
through ONE constant, fitted by least squares in log space over the alpha > 1 points of the
alpha sweep at the first sigma; the n, d and s sweeps reuse it unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulations.composition import fit_constant
from simulations.composition.features import ALPHA_MAX
from simulations.composition.sweep import learner_names, point_arrays, summarize
from simulations.experiment import Context, experiment
from simulations.markdown import cell, table
from simulations.stats import pm
from theory._validate import check_finite, check_int

__all__ = ["CompositionLinear", "QUICK", "point_arrays", "points", "claims", "run", "report"]


@dataclass(frozen=True)
class CompositionLinear:
    """Min-norm interpolation against ridge: recovery of tail features and unseen combinations."""

    alpha: float = 2.0  # main point: power-law exponent
    n: int = 1000  # main point: training examples
    d: int = 10_000  # main point: features
    s: float = 5.0  # main point: s (about s active features per example, see mean_active)
    sigmas: tuple[float, ...] = (0.0, 0.05)  # label noise; the alpha sweep runs at each
    alphas: tuple[float, ...] = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)
    ns: tuple[int, ...] = (250, 500, 1000, 2000)  # n sweep (at the first sigma)
    ds: tuple[int, ...] = (2500, 5000, 10_000, 20_000)  # d sweep (at the first sigma)
    ss: tuple[float, ...] = (2.0, 5.0, 10.0)  # s sweep (at the first sigma)
    beta_exponent: float = 0.1  # beta*_i = i^-beta_exponent
    head_count: float = 10.0  # head = features with n p_i >= head_count
    ridge_lams: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
    ood_size: int = 2  # tail features per out-of-distribution point
    ood_points: int = 200  # out-of-distribution points per run and set
    recover_tol: float = 0.1  # recovered: |beta_hat_i - beta*_i| <= recover_tol * |beta*_i|
    max_count: int = 8  # error by training count for 0..max_count and > max_count
    gd_tol: float = 1e-6  # relative distance of gradient descent to pinv(X) y that is certified
    runs: int = 50  # independent training sets per point
    seed: int = 0

    def __post_init__(self):
        check_finite("alpha", self.alpha, low=0.0, low_open=True, high=ALPHA_MAX)
        check_int("n", self.n, low=1, high=10_000)
        check_int("d", self.d, low=1, high=10**6)
        check_finite("s", self.s, low=0.0, low_open=True, high=float(self.d))
        for name in ("sigmas", "alphas", "ns", "ds", "ss", "ridge_lams"):
            if not getattr(self, name):
                raise ValueError(f"{name}: need at least one value")
        for name in ("sigmas", "alphas", "ns", "ds", "ss"):  # their values name the sweep points
            values = getattr(self, name)
            if len({f"{v:g}" for v in values}) < len(values):
                raise ValueError(
                    f"{name}: values must differ in their first 6 significant digits (they name the "
                    f"sweep points); got {', '.join(map(repr, values))}"
                )
        for v in self.sigmas:
            check_finite("sigmas", v, low=0.0, high=1e3)
        for v in self.alphas:
            check_finite("alphas", v, low=0.0, low_open=True, high=ALPHA_MAX)
        for v in self.ns:
            check_int("ns", v, low=1, high=10_000)
        for v in self.ds:
            check_int("ds", v, low=1, high=10**6)
            if self.s > v:
                raise ValueError(f"ds: every d must be at least s = {self.s:g}; got {v}")
        for v in self.ss:
            check_finite("ss", v, low=0.0, low_open=True, high=float(self.d))
        check_finite("beta_exponent", self.beta_exponent, low=0.0, high=10.0)
        check_finite("head_count", self.head_count, low=0.0, low_open=True)
        for v in self.ridge_lams:
            check_finite("ridge_lams", v, low=0.0, low_open=True, high=1e8)
        check_int("ood_size", self.ood_size, low=2, high=16)
        check_int("ood_points", self.ood_points, low=1, high=10**5)
        check_finite("recover_tol", self.recover_tol, low=0.0, high=1.0)
        check_int("max_count", self.max_count, low=1, high=100)
        check_finite("gd_tol", self.gd_tol, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int("runs", self.runs, low=2, high=10**4)
        check_int("seed", self.seed, low=0)


QUICK = {
    "n": 200,
    "d": 2000,
    "alphas": (1.0, 1.5, 2.0, 3.0),
    "ns": (100, 200, 400),
    "ds": (1000, 2000, 4000),
    "ss": (2.0, 5.0),
    "ood_points": 100,
    "runs": 10,
}


def _key(alpha, n, d, s, sigma) -> str:
    return f"a{alpha:g}-n{n}-d{d}-s{s:g}-sig{sigma:g}".replace(".", "p").replace("+", "")


def points(cfg: CompositionLinear) -> tuple[list[dict], dict]:
    """The distinct sweep points (dicts of alpha, n, d, s, sigma, key) in computing order, and
    the sweeps as lists of keys: ``alpha`` (one list per sigma), ``n``, ``d``, ``s``, ``main``."""
    out: dict[str, dict] = {}

    def add(alpha, n, d, s, sigma) -> str:
        k = _key(alpha, n, d, s, sigma)
        out.setdefault(
            k,
            {"alpha": float(alpha), "n": int(n), "d": int(d), "s": float(s), "sigma": float(sigma), "key": k},
        )
        return k

    s0 = cfg.sigmas[0]
    sweeps = {
        "main": [add(cfg.alpha, cfg.n, cfg.d, cfg.s, sg) for sg in cfg.sigmas],
        "alpha": {f"{sg:g}": [add(a, cfg.n, cfg.d, cfg.s, sg) for a in cfg.alphas] for sg in cfg.sigmas},
        "n": [add(cfg.alpha, n, cfg.d, cfg.s, s0) for n in cfg.ns],
        "d": [add(cfg.alpha, cfg.n, d, cfg.s, s0) for d in cfg.ds],
        "s": [add(cfg.alpha, cfg.n, cfg.d, s, s0) for s in cfg.ss],
    }
    return list(out.values()), sweeps


def _slope(x, y) -> float | None:
    """Least-squares slope of log y on log x (None with fewer than two positive points)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return None
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def _f(d: dict | None, digits: int = 3) -> str:
    if not d or d.get("mean") is None:
        return "—"
    return f"{d['mean']:.{digits}g}"


def _mn(r: dict, q: str) -> str:
    return _f(r["learners"]["min-norm"][q])


def claims(cfg: CompositionLinear, rows: dict, sweeps: dict, fit: dict, shape: dict) -> list[dict]:
    """Each [summary] claim of docs/references.md §4 beside the measurement that speaks to it (text only;
    the judgement is left to the reader of the report)."""
    out = []
    for sigma, keys in sweeps["alpha"].items():
        pts = sorted((rows[k] for k in keys), key=lambda r: r["alpha"])
        if sigma == f"{cfg.sigmas[0]:g}":
            out.append(
                {
                    "claim": f"about s = {cfg.s:g} active features per example",
                    "measured": "E active (exact, sum p_i) by alpha: "
                    + ", ".join(f"{r['alpha']:g}: {r['mean_active']:.2f}" for r in pts),
                }
            )
            out.append(
                {
                    "claim": "most examples hold at most one tail feature (head: n p_i >= head_count)",
                    "measured": "fraction of examples with >= 2 tail features by alpha: "
                    + ", ".join(f"{r['alpha']:g}: {_f(r['examples_with_tail_ge2'])}" for r in pts),
                }
            )
        out.append(
            {
                "claim": f"a tail feature seen even once is recovered (sigma = {sigma})",
                "measured": f"min-norm, tail features seen once with relative error <= {cfg.recover_tol:g}, "
                "by alpha: " + ", ".join(f"{r['alpha']:g}: {_mn(r, 'recovered_tail_once')}" for r in pts),
            }
        )
        out.append(
            {
                "claim": f"unseen combinations of memorized tail features are predicted (sigma = {sigma})",
                "measured": "min-norm OOD loss (once / seen / unseen-feature control) by alpha: "
                + ", ".join(
                    f"{r['alpha']:g}: {_mn(r, 'ood_once')} / {_mn(r, 'ood_seen')} / {_mn(r, 'ood_unseen')}"
                    for r in pts
                ),
            }
        )
    C = fit["constant"]
    out.append(
        {
            "claim": "noiseless test loss ~ s (ln^2 d / (n s))^(1 - 1/alpha)",
            "measured": "no alpha > 1 point to fit"
            if C is None
            else f"one fitted C = {C:.3g}: loss / (C rate) from {fit['ratio_min']:.3g} to "
            f"{fit['ratio_max']:.3g} over alpha > 1 (log RMSE {fit['log_rmse']:.3f}); slope in ln n "
            f"{cell(shape['n_slope_measured'], '.3f')} (rate {cell(shape['n_slope_rate'], '.3f')}); "
            f"slope in ln ln d {cell(shape['d_slope_measured'], '.3f')} "
            f"(rate {cell(shape['d_slope_rate'], '.3f')})",
        }
    )
    first = sorted((rows[k] for k in sweeps["alpha"][f"{cfg.sigmas[0]:g}"]), key=lambda r: r["alpha"])
    at1 = [r for r in first if r["alpha"] == 1.0]
    if at1:
        r = at1[0]
        out.append(
            {
                "claim": "at alpha = 1 the structure breaks",
                "measured": f"alpha = 1: recovered once {_mn(r, 'recovered_tail_once')}, "
                f"examples with >= 2 tail features {_f(r['examples_with_tail_ge2'])}, ID loss {_mn(r, 'id')}"
                + (
                    ""
                    if r["loss_over_fitted_rate"] is None
                    else f" = {r['loss_over_fitted_rate']:.3g} x C rate"
                ),
            }
        )
    return out


EXPERIMENT = experiment(
    "composition-linear",
    "Composition in the linear model: memorized tail features on unseen combinations",
    config=CompositionLinear,
    quick=QUICK,
    plot="simulations.plots.composition:composition_linear_figures",
)


@EXPERIMENT.run
def run(cfg: CompositionLinear, ctx: Context | None = None) -> tuple[dict, dict]:
    """Every sweep point (a checkpoint piece of ``ctx`` each), then the fitted rate constant and
    the summaries. Returns (JSON-ready results, arrays)."""
    ctx = ctx or Context.for_config(cfg)
    pts, sweeps = points(cfg)
    progress = ctx.progress(len(pts), "composition-linear points")
    rows, per_run = {}, {}
    for pt in pts:

        def compute(pt=pt):
            return {"point": pt}, point_arrays(cfg, pt["alpha"], pt["n"], pt["d"], pt["s"], pt["sigma"])

        _, A = ctx.cached(pt["key"], compute)
        rows[pt["key"]] = summarize(cfg, pt, A)
        per_run[pt["key"]] = A
        progress.update(1)
    progress.close()

    # ONE constant: least squares in log space over the alpha > 1 points at the first sigma
    s0 = f"{cfg.sigmas[0]:g}"
    fit_keys = [
        k
        for k in sweeps["alpha"][s0]
        if rows[k]["alpha"] > 1.0 and (rows[k]["learners"]["min-norm"]["id"]["mean"] or 0) > 0
    ]
    fit = {
        "method": "ln C = mean over the fitted points of (ln ID loss - ln rate): least squares in log "
        f"space, min-norm ID loss, alpha > 1 points of the alpha sweep at sigma = {s0}",
        "points": fit_keys,
        "constant": None,
    }
    if fit_keys:
        loss = [rows[k]["learners"]["min-norm"]["id"]["mean"] for k in fit_keys]
        rate = [rows[k]["rate"] for k in fit_keys]
        C = fit_constant(loss, rate)
        ratios = np.asarray(loss) / (C * np.asarray(rate))
        fit.update(
            constant=C,
            log_rmse=float(np.sqrt(np.mean(np.log(ratios) ** 2))),
            ratio_min=float(ratios.min()),
            ratio_max=float(ratios.max()),
        )
    for r in rows.values():
        loss = r["learners"]["min-norm"]["id"]["mean"]
        r["fitted_rate"] = None if fit["constant"] is None else fit["constant"] * r["rate"]
        r["loss_over_fitted_rate"] = (
            None if r["fitted_rate"] is None or loss is None else loss / r["fitted_rate"]
        )
    # n and d dependence against the rate's exponents (a check of the shape, not a fit of C)
    ns = [rows[k]["n"] for k in sweeps["n"]]
    n_loss = [rows[k]["learners"]["min-norm"]["id"]["mean"] or np.nan for k in sweeps["n"]]
    shape = {
        "n_slope_measured": _slope(ns, n_loss),
        "n_slope_rate": _slope(ns, [rows[k]["rate"] for k in sweeps["n"]]),
        "d_slope_measured": _slope(
            [math.log(rows[k]["d"]) for k in sweeps["d"]],
            [rows[k]["learners"]["min-norm"]["id"]["mean"] or np.nan for k in sweeps["d"]],
        ),
        "d_slope_rate": _slope(
            [math.log(rows[k]["d"]) for k in sweeps["d"]], [rows[k]["rate"] for k in sweeps["d"]]
        ),
        "note": "slopes of ln(ID loss) against ln n, and against ln ln d (the rate has ln^2 d), "
        "least squares over the sweep points",
    }
    results = {
        "learners": learner_names(cfg),
        "points": [rows[pt["key"]] for pt in pts],
        "sweeps": sweeps,
        "fit": fit,
        "shape": shape,
        "claims": claims(cfg, rows, sweeps, fit, shape),
        "ood_sets": {
            "seen": f"{cfg.ood_size} tail features, each in >= 1 training example, never together",
            "once": f"{cfg.ood_size} tail features, each in exactly 1 training example, never together",
            "unseen": f"{cfg.ood_size} tail features absent from training (control)",
        },
        "recover_tol": cfg.recover_tol,
    }
    keys = [pt["key"] for pt in pts]
    arrays = {
        "point_keys": np.array(keys),
        "point_params": np.array([[pt["alpha"], pt["n"], pt["d"], pt["s"], pt["sigma"]] for pt in pts]),
        "learners": np.array(learner_names(cfg)),
    }
    for q in ("id", "ood_seen", "ood_once", "ood_unseen"):
        arrays[f"run_{q}"] = np.stack([per_run[k][q] for k in keys])  # (P, L, R)
    return results, arrays


# ---------------------------------------------------------------------- report
def pmg(d, digits: int = 4) -> str:
    """``mean ± se`` with ``digits`` significant digits (the sweep's numbers span decades)."""
    return pm(d, digits, style="g")


def _best_ridge(r: dict, names: list[str], q: str) -> tuple[str, dict]:
    ridges = [m for m in names if m.startswith("ridge")]
    if not ridges:
        return "—", {}
    best = min(
        ridges,
        key=lambda m: r["learners"][m][q]["mean"] if r["learners"][m][q]["mean"] is not None else np.inf,
    )
    return best, r["learners"][best][q]


@EXPERIMENT.report
def report(results: dict, cfg: CompositionLinear) -> str:
    """Markdown: the alpha sweep table, the n / d / s sweeps, the fitted rate and the claims."""
    rows = {r["key"]: r for r in results["points"]}
    names = results["learners"]
    fit = results["fit"]
    C = fit["constant"]
    lines = [
        "Linear model of docs/references.md §4. ID loss = exact noiseless test loss sum_i p_i (beta_hat_i - "
        "beta*_i)^2 (excess over the noise); OOD = signed sums of two tail features never together "
        "in a training example (seen: each in >= 1 example; once: each in exactly 1; unseen: control). "
        f"Recovered: |error| <= {results['recover_tol']:g} |beta*_i|. Mean ± SE over runs.",
        "",
        "Rate s (ln^2 d / (n s))^(1 - 1/alpha) times ONE fitted constant C = "
        + cell(C, ".4g")
        + f" ({fit['method']}"
        + (
            ""
            if C is None
            else f"; log RMSE {fit['log_rmse']:.3f}, loss / (C rate) from {fit['ratio_min']:.3g} to "
            f"{fit['ratio_max']:.3g}"
        )
        + ").",
        "",
    ]

    def point_cells(r):
        mn = r["learners"]["min-norm"]
        best, bid = _best_ridge(r, names, "id")
        rood = r["learners"][best]["ood_once"] if best != "—" else None
        return [
            f"{r['alpha']:g}", f"{r['sigma']:g}", r["n"], r["d"], f"{r['s']:g}", r["k"],
            f"{r['mean_active']:.2f}", pmg(r["examples_with_tail_ge2"], 3), pmg(mn["id"]),
            f"{pmg(mn['id_tail_unseen'])} ({r['unseen_tail_loss_expected']:.4g})",
            cell(r["fitted_rate"], ".4g"),
            pmg(mn["ood_seen"]), pmg(mn["ood_once"]), pmg(mn["ood_unseen"]),
            pmg(mn["recovered_tail_once"], 3), f"{pmg(bid)} ({best})", pmg(rood),
        ]  # fmt: skip

    order = []
    for keys in results["sweeps"]["alpha"].values():
        order += keys
    for tag in ("n", "d", "s"):
        order += [k for k in results["sweeps"][tag] if k not in order]
    lines += table(
        ["alpha", "sigma", "n", "d", "s", "k", "E active", "ex. >= 2 tail", "ID min-norm",
         "of it: unseen tail (exact E)", "C x rate", "OOD seen", "OOD once", "OOD unseen",
         "recovered (tail seen once)", "best ridge ID", "ridge OOD once (same lam)"],
        (point_cells(rows[k]) for k in order),
    )  # fmt: skip
    main = rows[results["sweeps"]["main"][0]]
    lines += [
        "",
        f"Main point ({main['key']}), every learner:",
        "",
        *table(
            ["learner", "ID", "OOD seen", "OOD once", "OOD unseen", "recovered (tail seen once)",
             "recovered (tail seen)", "interpolating runs"],
            (
                [name, pmg(m["id"]), pmg(m["ood_seen"]), pmg(m["ood_once"]), pmg(m["ood_unseen"]),
                 pmg(m["recovered_tail_once"], 3), pmg(m["recovered_tail_seen"], 3),
                 f"{m['interpolating_runs']:.2f}"]
                for name in names
                for m in [main["learners"][name]]
            ),
        ),
    ]  # fmt: skip
    g = main["gd"]
    sh = results["shape"]

    lines += [
        "",
        f"Gradient descent from zero (step 1/w_max): {g['steps_median']:.3g} steps (median; max "
        f"{g['steps_max']:.3g}) certify relative distance {g['tol']:g} to pinv(X) y; measured largest "
        f"distance {g['rel_dist_max']:.2g}.",
        f"Shape: slope of ln ID loss on ln n = {cell(sh['n_slope_measured'], '.3f')} "
        f"(rate: {cell(sh['n_slope_rate'], '.3f')}); "
        f"on ln ln d = {cell(sh['d_slope_measured'], '.3f')} (rate: {cell(sh['d_slope_rate'], '.3f')}).",
        "",
    ]
    lines += [
        "Claims of docs/references.md §4 [summary] beside the measurements:",
        "",
        *table(["claim", "measured"], ([c["claim"], c["measured"]] for c in results["claims"])),
    ]
    return "\n".join(lines)
