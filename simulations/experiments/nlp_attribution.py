r"""Experiment ``nlp-attribution``: which tokens carry the memorization of SST-2 sentences?

For the most memorized training sentences (largest :math:`\mathrm{mem}_{IF}`), integrated
gradients of the score :math:`f_i` with respect to the token states entering the trainable head
(:mod:`simulations.nlp.attribution`; baseline: the states of the all-[MASK] input of the same
length; 50 steps), the completeness gap, and the faithfulness test of Zheng & Jiang (2022,
docs/references.md §5): replace the top 10% attributed word pieces by [MASK], re-run the frozen
encoder, and measure the share of the score removed, :math:`(f_i(x) - f_i(x_{masked}))/f_i(x)`,
against masking as many random word pieces (paper, SST-2: 68.4% against about 48%). [CLS] and
[SEP] are never masked; :math:`s_i = H^{-1}\nabla P(y_i|x_i)` stays that of the real input, as in
the authors' code. Also writes ``attribution.html`` with the sentences shaded by attribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from simulations.experiment import Context, experiment
from simulations.experiments.memorization import mean_se
from simulations.markdown import table
from simulations.nlp.attribution import integrated_gradients, masked_ids, score_at_states
from simulations.nlp.encoder import hidden_states
from simulations.nlp.head import pad_batch
from simulations.nlp.problem import (
    NLPTraining,
    nlp_unavailable,
    started,
    stream,
)
from theory._validate import check_finite, check_int

__all__ = ["NLPAttribution", "run", "report", "plot"]


@dataclass(frozen=True)
class NLPAttribution(NLPTraining):
    """Integrated gradients of the memorization score to word pieces, completeness and faithfulness."""

    examples: int = 200  # the most memorized training sentences analysed
    steps: int = 50  # integrated-gradient steps (paper: 50)
    mask_fraction: float = 0.1  # share of word pieces masked (paper: top 10%)
    random_draws: int = 5  # random maskings per sentence
    html_examples: int = 40  # sentences on the HTML page
    ig_batch: int = 8  # sentences per integrated-gradient batch

    def __post_init__(self):
        super().__post_init__()
        check_int("examples", self.examples, low=1)
        check_int("steps", self.steps, low=1)
        check_finite("mask_fraction", self.mask_fraction, low=0.0, high=1.0, low_open=True)
        check_int("random_draws", self.random_draws, low=1)
        check_int("html_examples", self.html_examples, low=0)
        check_int("ig_batch", self.ig_batch, low=1)


QUICK = {
    "train_size": 300,
    "dev_size": 200,
    "epochs": 3,
    "examples": 12,
    "random_draws": 2,
    "html_examples": 6,
}


EXPERIMENT = experiment(
    "nlp-attribution",
    "Token attribution of memorization in SST-2 (Zheng & Jiang)",
    config=NLPAttribution,
    quick=QUICK,
)
EXPERIMENT.unavailable(nlp_unavailable)


@EXPERIMENT.run
def run(cfg: NLPAttribution, ctx: Context | None = None) -> tuple[dict, dict]:
    with started(cfg, ctx, ("attribution",)) as (prob, full):
        enc, spec, n = prob.encoder, prob.spec, prob.n
        wd = cfg.weight_decay
        E = min(cfg.examples, n)
        rows = np.argsort(-full["mem_if"], kind="stable")[:E]
        V = -(full["prob"][rows, None] * full["grads"][rows])  # grad P_i, (E, p)
        S = torch.from_numpy(np.linalg.solve(full["H"], V.T).T)  # s_i = H^-1 grad P_i
        params = {k: v.float() for k, v in spec.unflatten(torch.from_numpy(full["theta"])).items()}
        y = torch.as_tensor(prob.y_train)
        ids = [prob.train.ids[prob.train.offsets[i] : prob.train.offsets[i + 1]] for i in rows]
        lens = np.array([len(x) for x in ids])
        uniq = np.unique(lens)
        base_rs = hidden_states(enc, [np.full(L, enc.mask_id) for L in uniq], layer=cfg.layer)
        base_of = {int(L): j for j, L in enumerate(uniq)}

        def fn_for(srows, sub_y, mask):
            def fn(x):
                k = x.shape[0] // len(srows)
                return score_at_states(
                    params, S[srows].repeat(k, 1), x, mask.repeat(k, 1), sub_y.repeat(k), n=n, weight_decay=wd
                )

            return fn

        attr, fx, fb = [None] * E, np.empty(E), np.empty(E)
        by_len = np.argsort(lens, kind="stable")
        for a in range(0, E, cfg.ig_batch):
            b = by_len[a : a + cfg.ig_batch]
            x, m = pad_batch(prob.train, rows[b])
            base, _ = pad_batch(base_rs, np.array([base_of[int(lens[j])] for j in b]))
            at, f1, f0 = integrated_gradients(fn_for(b, y[rows[b]], m), x, base, steps=cfg.steps)
            for j, bj in enumerate(b):
                attr[bj] = at[j, : lens[bj]]
            fx[b], fb[b] = f1, f0
        total = np.array([a.sum() for a in attr])
        gap = np.abs(total - (fx - fb)) / np.abs(fx - fb)
        # faithfulness: mask the top-attributed or random word pieces, re-encode, re-score
        rng = np.random.default_rng(stream(cfg, "attribution"))
        R = cfg.random_draws
        seqs = []
        for j in range(E):
            special = (ids[j] == enc.cls_id) | (ids[j] == enc.sep_id)
            seqs.append(masked_ids(ids[j], attr[j], special, fraction=cfg.mask_fraction, mask_id=enc.mask_id))
            seqs += [
                masked_ids(ids[j], attr[j], special, fraction=cfg.mask_fraction, mask_id=enc.mask_id, rng=rng)
                for _ in range(R)
            ]
        masked = hidden_states(enc, seqs, layer=cfg.layer)
        fm = np.empty(len(seqs))
        owner = np.repeat(np.arange(E), R + 1)
        with torch.no_grad():
            for a in range(0, len(seqs), 64):
                idx = np.arange(a, min(a + 64, len(seqs)))
                x, m = pad_batch(masked, idx)
                o = owner[idx]
                fm[idx] = score_at_states(params, S[o], x, m, y[rows[o]], n=n, weight_decay=wd).numpy()
    fm = fm.reshape(E, R + 1)
    red_top = (fx - fm[:, 0]) / fx
    red_rand = ((fx[:, None] - fm[:, 1:]) / fx[:, None]).mean(1)
    ok = fx > 0
    toks = [enc.tokenizer.convert_ids_to_tokens([int(t) for t in s]) for s in ids]
    H = min(cfg.html_examples, E)
    res = {
        "data_note": prob.data.note,
        "n_train": n,
        "encoder": enc.fingerprint,
        "head": repr(spec),
        "examples": [
            {
                "rank": j + 1,
                "index": int(rows[j]),
                "label": int(prob.y_train[rows[j]]),
                "mem_if": float(full["mem_if"][rows[j]]),
                "prob": float(full["prob"][rows[j]]),
                "tokens": toks[j],
                "attributions": attr[j].tolist(),
            }
            for j in range(H)
        ],
        "analysed": E,
        "steps": cfg.steps,
        "mask_fraction": cfg.mask_fraction,
        "random_draws": R,
        "score_matches_mem_if_max_abs": float(np.max(np.abs(fx - full["mem_if"][rows]))),
        "completeness": {
            "median_relative_gap": float(np.median(gap)),
            "max_relative_gap": float(np.max(gap)),
            "mean_abs_f_x_minus_f_baseline": float(np.mean(np.abs(fx - fb))),
        },
        "faithfulness": {
            "sentences": int(ok.sum()),
            "top": mean_se(red_top[ok]),
            "random": mean_se(red_rand[ok]),
            "top_minus_random": mean_se(red_top[ok] - red_rand[ok]),
            "paper": {
                "top": 0.684,
                "random": 0.48,
                "note": "Zheng & Jiang (2022), SST-2, docs/references.md §5",
            },  # fmt: skip
        },
        "note": (
            f"The {H} most memorized SST-2 training sentences (of {n:,}), word pieces shaded by their "
            f"integrated-gradient attribution of mem_IF ({cfg.steps} steps from the all-[MASK] states); "
            "red raises the score, blue lowers it. Head: frozen all-MiniLM-L6-v2 + attention head."
        ),
    }
    arrays = {
        "rows": rows,
        "f_x": fx,
        "f_baseline": fb,
        "attribution_total": total,
        "completeness_gap": gap,
        "f_masked_top": fm[:, 0],
        "f_masked_random": fm[:, 1:],
        "reduction_top": red_top,
        "reduction_random": red_rand,
    }
    return res, arrays


@EXPERIMENT.report
def report(results: dict, cfg: NLPAttribution) -> str:
    f, c = results["faithfulness"], results["completeness"]
    pct = lambda d: f"{100 * d['mean']:.1f}% ± {100 * d['se']:.1f}%"  # noqa: E731
    lines = [
        f"SST-2: the {results['analysed']} most memorized training sentences; integrated gradients "
        f"({results['steps']} steps, all-[MASK] baseline) of mem_IF through the frozen states entering "
        f"`{results['head']}`.",
        "",
        *table(["quantity", "ours", "paper (SST-2)"], [
            [f"score removed by masking the top {100 * results['mask_fraction']:.0f}% attributed word pieces",
             pct(f["top"]), "68.4%"],
            [f"score removed by masking as many random word pieces ({results['random_draws']} draws)",
             pct(f["random"]), "about 48%"],
            ["top minus random (paired)",
             f"{100 * f['top_minus_random']['mean']:+.1f} ± {100 * f['top_minus_random']['se']:.1f} pp",
             "about +20 pp"],
            ["completeness: median / max relative gap",
             f"{c['median_relative_gap']:.2e} / {c['max_relative_gap']:.2e}", "-"],
        ]),
        "",
        "The highlighted sentences: `attribution.html`.",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


@EXPERIMENT.plot
def plot(results: dict, arrays: dict, folder) -> list[str]:
    from simulations.plots.nlp import attribution_figures, attribution_html

    return attribution_figures(results, arrays, folder) + [attribution_html(results, folder)]
