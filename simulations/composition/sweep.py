r"""One sweep point of the linear composition experiment: draw, fit, measure (batched over runs).

Used by :mod:`simulations.experiments.composition_linear` (its docstring states the design).
``cfg`` is that experiment's config; the fields read here are ``runs``, ``seed``,
``beta_exponent``, ``head_count``, ``ridge_lams``, ``ood_size``, ``ood_points``,
``recover_tol``, ``max_count`` and ``gd_tol``. A point (alpha, n, d, s, sigma) has its own
stream ``SeedSequence([seed, round(1e6 alpha), n, d, round(1e6 s)])`` spawned into (data, OOD
points): sigma is not part of it, so points that differ only in sigma share designs and test
points.
"""

from __future__ import annotations

import math

import numpy as np

from simulations.composition.features import (
    feature_probabilities,
    head_size,
    mean_active,
    power_beta,
    sample_features,
)
from simulations.composition.linear import (
    apply,
    gd_closed_form,
    gd_steps_needed,
    gram_spectrum,
    min_norm,
    ridge,
    run_blocks,
)
from simulations.composition.measure import (
    CompositionPoints,
    composition_points,
    error_by_count,
    id_loss,
    mean_se,
    ood_loss,
    pooled_ratio,
    recovered,
    theory_rate,
)

__all__ = ["OOD_SETS", "INTERP_TOL", "learner_names", "point_streams", "point_arrays", "summarize"]

OOD_SETS = ("seen", "once", "unseen")
#: A run interpolates when max |X beta - y| <= this times max(1, max |y|).
INTERP_TOL = 1e-8


def learner_names(cfg) -> list[str]:
    return ["min-norm"] + [f"ridge lam={lam:g}" for lam in cfg.ridge_lams]


def point_streams(cfg, alpha: float, n: int, d: int, s: float) -> list[np.random.Generator]:
    entropy = [cfg.seed, round(alpha * 1e6), n, d, round(s * 1e6)]
    return [np.random.default_rng(q) for q in np.random.SeedSequence(entropy).spawn(2)]


def point_arrays(cfg, alpha: float, n: int, d: int, s: float, sigma: float) -> dict:
    """Per-run measurements of one sweep point (a pure function of cfg and the point).

    Keys (L learners, R runs, B = max_count + 2 count bins): ``id``, ``id_head``,
    ``id_tail_seen``, ``id_tail_unseen``, ``ood_seen``, ``ood_once``, ``ood_unseen``,
    ``ood_recovered_frac``, ``max_resid`` (L, R); ``err_all``, ``rec_all``, ``err_tail``,
    ``rec_tail`` (L, R, B) sums by count; ``feat_all``, ``feat_tail`` (R, B);
    ``ood_points_seen`` etc. (R,); ``rank``, ``w_min``, ``gd_steps``, ``gd_rel_dist``,
    ``tail_ge1``, ``tail_ge2`` (R,): Gram rank, smallest nonzero eigenvalue, gradient-descent
    steps for ``gd_tol`` at step 1/w_max and the distance reached, fraction of examples with at
    least one / two tail features.
    """
    data_rng, ood_rng = point_streams(cfg, alpha, n, d, s)
    beta = power_beta(d, cfg.beta_exponent)
    S = sample_features(
        n, d, alpha, s, runs=cfg.runs, sigma=sigma, beta=beta, head_count=cfg.head_count, rng=data_rng
    )
    counts = S.counts()
    tail = np.arange(d) >= S.k
    seen = counts >= 1
    sets = {"seen": tail & seen, "once": tail & (counts == 1), "unseen": tail & ~seen}
    pts = {
        name: composition_points(S, sets[name], size=cfg.ood_size, num=cfg.ood_points, rng=ood_rng)
        for name in OOD_SETS
    }
    L, R, B = 1 + len(cfg.ridge_lams), cfg.runs, cfg.max_count + 2
    out = {q: np.zeros((L, R)) for q in ("id", "id_head", "id_tail_seen", "id_tail_unseen", "max_resid")}
    out.update({f"ood_{q}": np.zeros((L, R)) for q in OOD_SETS})
    out["ood_recovered_frac"] = np.zeros((L, R))
    for q in ("err_all", "rec_all", "err_tail", "rec_tail"):
        out[q] = np.zeros((L, R, B))
    for q in ("feat_all", "feat_tail"):
        out[q] = np.zeros((R, B))
    for q in ("rank", "w_min", "gd_steps", "gd_rel_dist"):
        out[q] = np.zeros(R)
    for lo, hi in run_blocks(R, n):  # blocks of runs; runs inside a block are batched
        sub = S.select_runs(lo, hi)
        spec = gram_spectrum(sub)
        mn = min_norm(sub, spec)
        eta = 1.0 / np.maximum(spec.w_max, 1e-300)
        steps = gd_steps_needed(spec, eta, cfg.gd_tol)
        gd = gd_closed_form(sub, steps, eta, spec)
        norm = np.linalg.norm(mn, axis=1)
        out["gd_rel_dist"][lo:hi] = np.linalg.norm(gd - mn, axis=1) / np.where(norm > 0, norm, 1.0)
        out["gd_steps"][lo:hi] = steps
        out["rank"][lo:hi] = spec.rank
        out["w_min"][lo:hi] = spec.w_min_positive
        c, sn, tl = counts[lo:hi], seen[lo:hi], tail[None, :]
        for j, b in enumerate([mn] + [ridge(sub, lam, spec) for lam in cfg.ridge_lams]):
            out["id"][j, lo:hi] = id_loss(b, beta, S.p)
            out["id_head"][j, lo:hi] = id_loss(b, beta, S.p, ~tl)
            out["id_tail_seen"][j, lo:hi] = id_loss(b, beta, S.p, tl & sn)
            out["id_tail_unseen"][j, lo:hi] = id_loss(b, beta, S.p, tl & ~sn)
            scale = np.maximum(1.0, np.abs(sub.y).max(axis=1))
            out["max_resid"][j, lo:hi] = np.abs(apply(sub, b) - sub.y).max(axis=1) / scale
            for q in OOD_SETS:
                pq = pts[q]
                sl = CompositionPoints(pq.feature[lo:hi], pq.sign[lo:hi], pq.use[lo:hi])
                out[f"ood_{q}"][j, lo:hi] = ood_loss(b, beta, sl)
                if q == "seen":
                    rec = recovered(b, beta, cfg.recover_tol)
                    allrec = rec[np.arange(hi - lo)[:, None, None], sl.feature].all(axis=2)
                    k = np.maximum(sl.per_run, 1)
                    out["ood_recovered_frac"][j, lo:hi] = (allrec & sl.use).sum(axis=1) / k
            for tag, mask in (("all", None), ("tail", np.broadcast_to(tl, c.shape))):
                e = error_by_count(b, beta, c, cfg.max_count, cfg.recover_tol, mask)
                out[f"err_{tag}"][j, lo:hi] = e["err"]
                out[f"rec_{tag}"][j, lo:hi] = e["recovered"]
                out[f"feat_{tag}"][lo:hi] = e["features"]  # the same for every learner
    for q in OOD_SETS:
        out[f"ood_points_{q}"] = pts[q].per_run.astype(np.float64)
    per_row = np.bincount(S.row, weights=tail[S.col].astype(np.float64), minlength=R * n).reshape(R, n)
    out["tail_ge1"] = (per_row >= 1).mean(axis=1)
    out["tail_ge2"] = (per_row >= 2).mean(axis=1)
    out["tail_seen_features"] = (tail & seen).sum(axis=1).astype(np.float64)
    out["tail_once_features"] = (tail & (counts == 1)).sum(axis=1).astype(np.float64)
    return out


def _pair(v, se) -> dict:
    f = float(v)
    g = float(se)
    return {"mean": f if math.isfinite(f) else None, "se": g if math.isfinite(g) else None}


def summarize(cfg, pt: dict, A: dict) -> dict:
    """The JSON row of one point from its per-run arrays ``A`` (see :func:`point_arrays`)."""
    alpha, n, d, s = pt["alpha"], pt["n"], pt["d"], pt["s"]
    p = feature_probabilities(d, alpha, s)
    k = head_size(p, n, cfg.head_count)
    beta = power_beta(d, cfg.beta_exponent)
    row = dict(pt)
    row.update(
        k=k,
        mean_active=mean_active(p),
        head_mass=float(p[:k].sum()),
        tail_mass=float(p[k:].sum()),
        rate=theory_rate(alpha, n, d, s),
        # E[sum over unseen tail features of p_i beta*_i^2]: min-norm sets unseen coefficients to 0
        unseen_tail_loss_expected=float(np.sum((p * beta**2 * (1.0 - p) ** n)[k:])),
        rank=mean_se(A["rank"]),
        w_min_positive=mean_se(A["w_min"]),
        examples_with_tail_ge1=mean_se(A["tail_ge1"]),
        examples_with_tail_ge2=mean_se(A["tail_ge2"]),
        tail_seen_features=mean_se(A["tail_seen_features"]),
        tail_once_features=mean_se(A["tail_once_features"]),
        ood_points={q: mean_se(A[f"ood_points_{q}"]) for q in OOD_SETS},
        gd={
            "step": "1 / w_max per run",
            "tol": cfg.gd_tol,
            "steps_median": float(np.median(A["gd_steps"])),
            "steps_max": float(np.max(A["gd_steps"])),
            "rel_dist_max": float(np.max(A["gd_rel_dist"])),
        },
    )
    learners = {}
    for j, name in enumerate(learner_names(cfg)):
        r = {
            q: mean_se(A[q][j])
            for q in ("id", "id_head", "id_tail_seen", "id_tail_unseen", "ood_seen", "ood_once", "ood_unseen")
        }
        r["ood_seen_all_recovered"] = mean_se(A["ood_recovered_frac"][j])
        interp = A["max_resid"][j] <= INTERP_TOL
        r["interpolating_runs"] = float(np.mean(interp))  # a fraction of runs, with its binomial SE:
        r["interpolating_runs_se"] = float(
            np.sqrt(r["interpolating_runs"] * (1 - r["interpolating_runs"]) / interp.size)
        )
        r["max_resid"] = float(np.max(A["max_resid"][j]))
        by = {}
        for tag in ("all", "tail"):
            e, ese = pooled_ratio(A[f"err_{tag}"][j], A[f"feat_{tag}"])
            c, cse = pooled_ratio(A[f"rec_{tag}"][j], A[f"feat_{tag}"])
            by[tag] = {
                "err": [_pair(a, b)["mean"] for a, b in zip(e, ese, strict=True)],
                "err_se": [_pair(a, b)["se"] for a, b in zip(e, ese, strict=True)],
                "recovered": [_pair(a, b)["mean"] for a, b in zip(c, cse, strict=True)],
                "recovered_se": [_pair(a, b)["se"] for a, b in zip(c, cse, strict=True)],
            }
        r["by_count"] = by
        once = 1
        r["recovered_tail_once"] = {
            "mean": by["tail"]["recovered"][once],
            "se": by["tail"]["recovered_se"][once],
        }
        rec_seen, rec_seen_se = pooled_ratio(
            A["rec_tail"][j][:, 1:].sum(axis=1), A["feat_tail"][:, 1:].sum(axis=1)
        )
        r["recovered_tail_seen"] = _pair(rec_seen, rec_seen_se)
        learners[name] = r
    row["learners"] = learners
    row["features_by_count"] = {
        tag: [float(v) for v in A[f"feat_{tag}"].mean(axis=0)] for tag in ("all", "tail")
    }
    runs = A["feat_all"].shape[0]  # mean counts over runs; their SEs (SD / sqrt(runs)):
    row["features_by_count_se"] = {
        tag: [float(v) for v in A[f"feat_{tag}"].std(axis=0, ddof=1) / np.sqrt(runs)]
        for tag in ("all", "tail")
    }
    return row
