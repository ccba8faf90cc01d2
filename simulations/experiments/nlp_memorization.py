r"""Experiment ``nlp-memorization``: memorization of SST-2 training sentences (Zheng & Jiang 2022).

Frozen all-MiniLM-L6-v2, a trainable attention head (:mod:`simulations.nlp`), scores two ways:

(a) the influence-function estimate of :math:`P(y_i|x_i;\hat\theta) - P(y_i|x_i;\hat\theta_{-i})`
    with the exact Hessian (:mod:`simulations.nlp.influence`), checked against actual
    leave-one-out refits on a few sentences and against LiSSA;
(b) the subsampled estimator of Feldman & Zhang on the same head (t heads on random subsets
    of ratio r; :func:`simulations.estimators.memorization` of :math:`P(y_i|x_i)` and of 0/1
    correctness), with standard errors.

Reported: Spearman between (a) and (b) with a bootstrap 95% interval, the most and least
memorized sentences, and whether memorized sentences are atypical (nearest-neighbour label
agreement, length). docs/references.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from simulations.estimators import check_coverage, memorization, spearman, subset_masks
from simulations.experiment import Context, experiment
from simulations.markdown import table
from simulations.nlp.agreement import neighbour_label_agreement, spearman_bootstrap
from simulations.nlp.head import head_logits
from simulations.nlp.influence import lissa
from simulations.nlp.problem import (
    NLPTraining,
    heads_through_store,
    loo_refit,
    nlp_unavailable,
    started,
    stream,
)
from theory._validate import check_finite, check_int

__all__ = ["NLPMemorization", "run", "report", "QUICK"]


@dataclass(frozen=True)
class NLPMemorization(NLPTraining):
    """Influence-function and subsampled memorization scores of SST-2 sentences."""

    models: int = 256  # t subset heads
    ratio: float = 0.7  # r
    models_per_batch: int = 64  # heads trained together and stored per batch
    loo_checks: int = 6  # sentences whose score is checked by an actual leave-one-out refit
    lissa_examples: int = 16  # sentences whose H^-1 grad P is also estimated by LiSSA
    lissa_depth: int = 500
    lissa_batch: int = 64
    lissa_damping: float = 0.01  # LiSSA targets (H + damping * scale * I)^-1
    bootstrap: int = 1000  # resamples for the Spearman interval
    neighbours: int = 10  # k of the nearest-neighbour label agreement
    top: int = 15  # most / least memorized sentences listed

    def __post_init__(self):
        super().__post_init__()
        check_int("models", self.models, low=4)
        check_finite("ratio", self.ratio, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int("models_per_batch", self.models_per_batch, low=1)
        check_int("loo_checks", self.loo_checks, low=0)
        check_int("lissa_examples", self.lissa_examples, low=0)
        check_int("lissa_depth", self.lissa_depth, low=1)
        check_int("lissa_batch", self.lissa_batch, low=1)
        check_finite("lissa_damping", self.lissa_damping, low=0.0, high=1.0, high_open=True)
        check_int("bootstrap", self.bootstrap, low=10)
        check_int("neighbours", self.neighbours, low=1)
        check_int("top", self.top, low=1)


QUICK = {
    "train_size": 300,
    "dev_size": 200,
    "epochs": 3,
    "models": 40,
    "models_per_batch": 40,
    "loo_checks": 2,
    "lissa_examples": 4,
    "lissa_depth": 100,
    "bootstrap": 200,
    "top": 5,
}


def _lissa_check(cfg, prob, full, idx, rng) -> dict:
    """LiSSA estimates of s_i = H^-1 grad P_i against the exact (damped) solves."""
    spec, wd, n = prob.spec, cfg.weight_decay, prob.n
    theta = torch.from_numpy(full["theta"])
    V = -(full["prob"][idx, None] * full["grads"][idx]).T  # (p, r): grad P_i = -P_i g_i
    scale = 2.0 * float(full["eig_max"])
    batches = [rng.choice(n, size=min(cfg.lissa_batch, n), replace=False) for _ in range(cfg.lissa_depth)]

    def hvp(h, j):
        from simulations.nlp.head import pad_batch

        x, m = pad_batch(prob.train, batches[j])
        x, yb = x.double(), torch.as_tensor(prob.y_train[batches[j]])

        def loss(th):
            logits = head_logits(spec.unflatten(th), x, m)
            return torch.nn.functional.cross_entropy(logits, yb) + wd / 2 * (th * th).sum()

        def one(u):  # reverse over reverse (forward mode warns through torch.jit.script in torch 2.13)
            return torch.func.grad(lambda th: torch.dot(torch.func.grad(loss)(th), u))(theta)

        return torch.func.vmap(one)(torch.from_numpy(h.T.copy())).numpy().T

    S = lissa(hvp, V, scale=scale, depth=cfg.lissa_depth, damping=cfg.lissa_damping)
    p = full["H"].shape[0]
    target = np.linalg.solve(full["H"] + cfg.lissa_damping * scale * np.eye(p), V)
    exact = np.linalg.solve(full["H"], V)
    shift = full["grads"][idx] + wd * full["theta"]
    score = lambda s: -np.einsum("pi,ip->i", s, shift) / n  # noqa: E731
    rel = lambda a, b: np.linalg.norm(a - b, axis=0) / np.linalg.norm(b, axis=0)  # noqa: E731
    return {
        "examples": len(idx),
        "depth": cfg.lissa_depth,
        "batch": cfg.lissa_batch,
        "scale": scale,
        "damping": cfg.lissa_damping,
        "added_to_H": cfg.lissa_damping * scale,
        "rel_error_vs_damped_solve_median": float(np.median(rel(S, target))),
        "rel_error_vs_exact_median": float(np.median(rel(S, exact))),
        "score_lissa": score(S).tolist(),
        "score_exact": score(exact).tolist(),
        "spearman_scores": float(spearman(score(S), score(exact))["rho"]) if len(idx) >= 4 else None,
    }


def _mem_dict(est) -> dict:
    v = est.value
    return {
        "mean": float(np.nanmean(v)),
        "se_median": float(np.nanmedian(est.se)),
        "quantiles": {f"{q:g}": float(np.nanquantile(v, q)) for q in (0.5, 0.9, 0.99)},
    }


EXPERIMENT = experiment(
    "nlp-memorization",
    "Memorization of SST-2 sentences: influence functions and subsampled estimates (Zheng & Jiang)",
    config=NLPMemorization,
    quick=QUICK,
    plot="simulations.plots.nlp:memorization_figures",
)
EXPERIMENT.unavailable(nlp_unavailable)


@EXPERIMENT.run
def run(cfg: NLPMemorization, ctx: Context | None = None) -> tuple[dict, dict]:
    with started(cfg, ctx, ("subsets", "models", "checks")) as (prob, full):
        n = prob.n
        rng = np.random.default_rng(stream(cfg, "subsets"))
        masks = subset_masks(n, cfg.models, ratio=cfg.ratio, rng=rng)
        try:
            check_coverage(masks, minimum=1)
        except ValueError as exc:
            raise ValueError(f"models: {str(exc).removeprefix('t: ')}") from None
        seeds = np.random.default_rng(stream(cfg, "models")).integers(0, 2**62, size=cfg.models)
        key = {"models": cfg.models, "ratio": cfg.ratio, "models_per_batch": cfg.models_per_batch}
        pt, pd, folder, trained, secs = heads_through_store(
            cfg, prob, masks, seeds, name="subsets", key=key, models_per_batch=cfg.models_per_batch
        )
        mem_p = memorization(pt, masks)
        mem_01 = memorization((pt > 0.5).astype(np.float64), masks)
        mem_if = full["mem_if"]
        rng = np.random.default_rng(stream(cfg, "checks"))
        agree = {
            "if_vs_subsampled_prob": spearman_bootstrap(mem_if, mem_p.value, reps=cfg.bootstrap, rng=rng),
            "if_vs_subsampled_01": spearman_bootstrap(mem_if, mem_01.value, reps=cfg.bootstrap, rng=rng),
            "subsampled_prob_vs_01": spearman_bootstrap(
                mem_p.value, mem_01.value, reps=cfg.bootstrap, rng=rng
            ),
        }
        order = np.argsort(-mem_if, kind="stable")
        k_loo = min(cfg.loo_checks, n)
        picks = np.concatenate(
            [order[: (k_loo + 1) // 2], rng.choice(order[(k_loo + 1) // 2 :], size=k_loo // 2, replace=False)]
        )
        loo = [
            {"index": int(i), "influence": float(mem_if[i]), "actual": loo_refit(cfg, prob, full, int(i))}
            for i in picks
        ]
        k_l = min(cfg.lissa_examples, n)
        lpicks = np.concatenate(
            [order[: (k_l + 1) // 2], rng.choice(order[(k_l + 1) // 2 :], size=k_l // 2, replace=False)]
        )
        lissa_res = _lissa_check(cfg, prob, full, lpicks, rng) if k_l else None
        pooled = (
            np.add.reduceat(prob.train.states, prob.train.offsets[:-1], axis=0) / prob.train.lengths[:, None]
        )
        agreement = neighbour_label_agreement(pooled, prob.y_train, k=min(cfg.neighbours, n - 1))
    top10 = order[: max(1, n // 10)]
    rest = order[max(1, n // 10) :]
    ms = lambda v: {"mean": float(np.mean(v)), "se": float(np.std(v, ddof=1) / np.sqrt(len(v)))}  # noqa: E731
    lengths = prob.train.lengths - 2

    def listing(rows):
        return [
            {
                "index": int(i),
                "sentence": prob.train_text[i],
                "label": int(prob.y_train[i]),
                "mem_if": float(mem_if[i]),
                "mem_subsampled": float(mem_p.value[i]),
                "mem_subsampled_se": float(mem_p.se[i]),
                "prob": float(full["prob"][i]),
            }
            for i in rows
        ]

    dev_acc_models = (pd > 0.5).mean(1)
    res = {
        "data_note": prob.data.note,
        "n_train": n,
        "n_dev": int(len(prob.y_dev)),
        "encoder": prob.encoder.fingerprint,
        "layer": cfg.layer,
        "head": repr(prob.spec),
        "parameters": prob.spec.num_params,
        "full_model": {
            "train_accuracy": float((full["prob"] > 0.5).mean()),
            "dev_accuracy": float((full["dev_prob"] > 0.5).mean()),
            "grad_norm_sgd": float(full["grad_norm_sgd"]),
            "grad_norm": float(full["grad_norm"]),
            "hessian_eig_min": float(full["eig_min"]),
            "hessian_eig_max": float(full["eig_max"]),
            "damping_added": float(full["mu"]),
            "seconds": float(full["seconds"]),
        },
        "subsampled": {
            "models": cfg.models,
            "ratio": cfg.ratio,
            "store": folder,
            "trained_now": trained,
            "train_seconds": secs,
            "dev_accuracy": ms(dev_acc_models),
            "mem_prob": _mem_dict(mem_p),
            "mem_01": _mem_dict(mem_01),
        },
        "mem_if": {
            "mean": float(mem_if.mean()),
            "quantiles": {f"{q:g}": float(np.quantile(mem_if, q)) for q in (0.5, 0.9, 0.99)},
            "negative_fraction": float((mem_if < 0).mean()),
        },
        "agreement": agree,
        "loo_check": loo,
        "lissa_check": lissa_res,
        "atypicality": {
            "neighbours": min(cfg.neighbours, n - 1),
            "label_agreement_top10": ms(agreement[top10]),
            "label_agreement_rest": ms(agreement[rest]),
            "length_top10": ms(lengths[top10]),
            "length_rest": ms(lengths[rest]),
            "spearman_mem_if_vs_agreement": spearman(mem_if, agreement),
        },
        "most_memorized": listing(order[: cfg.top]),
        "least_memorized": listing(order[::-1][: cfg.top]),
    }
    arrays = {
        "mem_if": mem_if,
        "mem_prob": mem_p.value,
        "mem_prob_se": mem_p.se,
        "mem_01": mem_01.value,
        "mem_01_se": mem_01.se,
        "prob": full["prob"],
        "y_train": prob.y_train,
        "train_index": prob.train_index,
        "label_agreement": agreement,
        "lengths": lengths,
        "model_dev_accuracy": dev_acc_models,
    }
    return res, arrays


def _ci(d: dict) -> str:
    return f"{d['rho']:.3f} (95% bootstrap CI {d['ci95'][0]:.3f}..{d['ci95'][1]:.3f}, n = {d['n']:,})"


def _quantities(results: dict) -> list[list[str]]:
    """The (quantity, value) rows of the report's table."""
    f, sub, a, at = results["full_model"], results["subsampled"], results["agreement"], results["atypicality"]
    q = results["mem_if"]["quantiles"]

    def two(key: str, digits: int) -> str:  # top 10% / rest, mean ± SE each
        top, rest = at[f"{key}_top10"], at[f"{key}_rest"]
        return " / ".join(f"{d['mean']:.{digits}f} ± {d['se']:.{digits}f}" for d in (top, rest))

    rows = [
        ["full-data head: train / dev accuracy",
         f"{100 * f['train_accuracy']:.2f}% / {100 * f['dev_accuracy']:.2f}%"],
        ["Newton polish: gradient norm before / after", f"{f['grad_norm_sgd']:.2e} / {f['grad_norm']:.2e}"],
        ["Hessian eigenvalues min / max (damping added)",
         f"{f['hessian_eig_min']:.4g} / {f['hessian_eig_max']:.4g} ({f['damping_added']:.2g})"],
        ["subset heads: t, ratio, mean dev accuracy", f"{sub['models']}, {sub['ratio']:g}, "
         f"{100 * sub['dev_accuracy']['mean']:.2f}% ± {100 * sub['dev_accuracy']['se']:.2f}%"],
        ["mem_IF: median, 90%, 99% quantile", f"{q['0.5']:.4f}, {q['0.9']:.4f}, {q['0.99']:.4f}"],
        ["subsampled mem of P(y|x): median SE", f"{sub['mem_prob']['se_median']:.4f}"],
        ["Spearman(mem_IF, subsampled mem of P(y|x))", _ci(a["if_vs_subsampled_prob"])],
        ["Spearman(mem_IF, subsampled mem of 0/1 correctness)", _ci(a["if_vs_subsampled_01"])],
        ["nearest-neighbour label agreement: top 10% mem_IF / rest", two("label_agreement", 3)],
        ["length in word pieces: top 10% / rest", two("length", 1)],
    ]
    if results["loo_check"]:
        rows.append(["influence vs actual leave-one-out refit (sentence by sentence)",
                     ", ".join(f"{c['influence']:.4f} vs {c['actual']:.4f}" for c in results["loo_check"])])
    if lc := results["lissa_check"]:
        rows.append([f"LiSSA ({lc['depth']} steps, batch {lc['batch']}, scale {lc['scale']:.3g}, damping "
                     f"{lc['damping']:g}): median relative error vs its damped target / vs exact",
                     f"{lc['rel_error_vs_damped_solve_median']:.3f} / {lc['rel_error_vs_exact_median']:.3f}"])
    return rows  # fmt: skip


@EXPERIMENT.report
def report(results: dict, cfg: NLPMemorization) -> str:
    lines = [
        f"SST-2: {results['data_note']}. Encoder {results['encoder']}, frozen, states of layer "
        f"{results['layer']}; "
        f"trainable head `{results['head']}` ({results['parameters']:,} parameters).",
        "",
        *table(["quantity", "value"], _quantities(results)),
    ]
    lines += ["", "Most memorized (mem_IF):", ""]
    lines += [
        f"- {m['mem_if']:.4f} (subsampled {m['mem_subsampled']:.3f} ± {m['mem_subsampled_se']:.3f}), label "
        f"{m['label']}: {m['sentence']}"
        for m in results["most_memorized"]
    ]
    lines.append("")
    return "\n".join(lines)
