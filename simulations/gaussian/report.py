"""Markdown sections (``report.md``) of the Gaussian-mixture experiments ``gaussian-tail``,
``gaussian-coupling`` and ``gaussian-dp``, written from their saved results alone (so a report
can be redrawn from ``results.json`` without rerunning anything)."""

from __future__ import annotations

from simulations.gaussian.trials import findings_lines
from simulations.markdown import cell, table
from simulations.stats import pm

__all__ = ["tail_report", "coupling_report", "dp_report"]


def _gap_z(r: dict) -> str:
    """The excess-minus-bound cell: mean ± SE and its z (an em dash when z is undefined)."""
    return f"{pm(r['gap'])} ({cell(r['z'], '.1f')})"


def tail_report(results: dict, cfg=None) -> str:
    th, ref = results["theory"], results["reference"]
    lines = [
        f"{results['trials']} trials. Test error against the clusters' own labels; excess = err - "
        "opt(pi, F | S) of the point-like model, paired per trial; bound = sum_l lambda_l tau_l errn_l "
        "(measured coupling lambda, theory tau, all l); mem = exact leave-one-out memorization "
        "(not measured for logistic regression; for the MLPs the subsampled estimate, next paragraph). "
        "Mean ± SE over trials.",
        "",
        *table(
            ["learner", "test error", "excess over opt", "bound term", "excess - bound (z)",
             "bound at lambda = 1", "train error", "mem (singletons)", "mem (rest)",
             "acc. clusters seen once", "acc. rare bin"],
            (
                [r["learner"], pm(r["err"]), pm(r["excess"]), pm(r["bound"]), _gap_z(r),
                 pm(r["bound_points"]), pm(r["train_err"]), pm(r["mem_singletons"], 3),
                 pm(r["mem_rest"], 3), pm(r["acc_singletons"], 3), pm(r["acc_rare_bin"], 3)]
                for r in results["settings"]
            ),
        ),
    ]  # fmt: skip
    ms = ref["min_separation_over_scale"]
    lo, hi = results["rare_bin"]
    lines += [
        "",
        f"opt (theory, fixed variant, kappa = {th['kappa']:g}) = {th['opt']:.4f}; opt(pi, F | S) over "
        f"trials = {pm(ref['opt_given_sample'])}; Monte Carlo Bayes error of the mixture (oracle that "
        f"knows the labels of unseen clusters) = {pm(ref['bayes_error'])}.",
        f"tau_l * n for l = 1..{len(th['tau_times_n'])}: "
        + ", ".join(f"{v:.3f}" for v in th["tau_times_n"].values())
        + f"; singletons per trial {ref['singletons_per_trial']:.1f}.",
        f"Assumption: clusters behave like points. min distance between means / scale: mean "
        f"{ms['mean']:.1f}, smallest {ms['min']:.1f} over trials. Rare bin: n pi in [{lo:.3f}, {hi:.3f}).",
        f"Interpolation regime (n <= dim, ridge lambda = 0 interpolates): {results['interpolation_regime']}.",
        "",
    ]
    mlp = [r for r in results["settings"] if r["family"] == "mlp" and r.get("mem_method")]
    if mlp:
        lines += [
            f"MLP memorization: {mlp[0]['mem_method']} per weight decay and trial (Feldman & Zhang 2020 "
            "estimator: mean correctness of the subset models holding the example minus of those not "
            "holding it), not leave-one-out; examples in every subset or in none are left out.",
            "",
        ]
    if not results["uniform_labels"]:
        lines += [
            "Labels depend on position here: a learner can predict unseen clusters from their "
            "neighbours, so opt of the uniform-label theory and the bound do not apply; an excess below "
            "the bound is then expected, not a violation.",
            "",
        ]
    lines += findings_lines(
        results,
        "measured excess below the bound term",
        "No learner setting has a measured excess below the bound term",
    )
    return "\n".join(lines)


def coupling_report(results: dict, cfg=None) -> str:
    L = len(results["theory"]["tau_times_n"])
    ls = ", ".join(str(l) for l in range(1, L + 1))
    lines = [
        f"{results['trials']} trials. lambda_l = mean coupling of training points whose cluster is seen l "
        "times (fresh draws from the same cluster; MLPs: per seed, then averaged); bound term = sum over "
        "every observed l of lambda_l tau_l errn_l; excess = err - opt(pi, F | S) (point-like opt), paired "
        "per trial. Mean ± SE over trials.",
        "",
    ]
    header = ["learner", f"lambda_l, l = {ls}", f"errn_l, l = {ls}", "test error", "excess over opt",
              "bound term", "excess - bound (z)", "bound at lambda = 1", "mem (singletons)",
              "mem (rest)"]  # fmt: skip
    lines += table(
        header,
        (
            [r["learner"], r["note"], *[""] * (len(header) - 2)] if "err" not in r
            else [r["learner"], "; ".join(pm(v, 3) for v in r["lambda"]),
                  "; ".join(pm(v, 2) for v in r["errn"]), pm(r["err"]), pm(r["excess"]), pm(r["bound"]),
                  _gap_z(r), pm(r["bound_points"]), pm(r["mem_singletons"], 3), pm(r["mem_rest"], 3)]
            for r in results["settings"]
        ),
    )  # fmt: skip
    th, ref, mm = results["theory"], results["reference"], results["mlp_memorization"]
    lines += [
        "",
        f"opt (theory) = {th['opt']:.4f}; opt(pi, F | S) over trials = {pm(ref['opt_given_sample'])}. "
        f"tau_l * n, l = {ls}: " + ", ".join(f"{v:.3f}" for v in th["tau_times_n"].values()) + ". "
        f"Training examples per trial with multiplicity l = {ls}: "
        + ", ".join(f"{v:.1f}" for v in ref["examples_by_ell"])
        + ".",
        f"MLP memorization: exact leave-one-out refits of {mm['sampled_per_trial']:.1f} sampled training "
        f"examples per trial ({mm['sampled_singletons_per_trial']:.1f} of them singletons), "
        f"{mm['refits_per_trial']} refit models per trial trained in the same batch; not measured for the "
        "SVM and logistic regression. k-NN, ridge and kernel ridge: closed-form LOO of every example.",
    ]
    if results["svm_not_separable"]:
        lines.append(
            f"Hard-margin SVM: the training set was not linearly separable in trial(s) "
            f"{results['svm_not_separable']}; those trials are left out of the SVM's averages."
        )
    elif any(r["family"] == "svm" for r in results["settings"]):
        lines.append("Hard-margin SVM: the training set was linearly separable in every trial.")
    lines.append("")
    if not results["uniform_labels"]:
        lines += [
            "Labels depend on position: opt and the bound of the uniform-label theory do not apply.",
            "",
        ]
    lines += findings_lines(
        results,
        "measured excess below the bound term",
        "No learner has a measured excess below the bound term",
    )
    return "\n".join(lines)


def _dp_row(r: dict, g: list) -> list:
    """A gaussian-dp setting's row: accuracy per group, drops, gap, the label-DP ceiling and costs."""
    once, top, th = g[1], g[-1], r.get("theory")
    return [
        r["learner"], pm(r["err"]), pm(r["excess"]), *(pm(r["accuracy"][x], 3) for x in g),
        pm(r["drop"][once], 3), pm(r["drop"][top], 3), pm(r["gap_frequent_vs_once"], 3),
        f"{th['ceiling'][once]:.4f}" if th else "not private",
        f"{th['cost_singletons']:.4f}; {th['cost_all_ell']:.4f}" if th else "—",
        pm(r["mem_singletons"], 3) if "mem_singletons" in r else "—",
    ]  # fmt: skip


def dp_report(results: dict, cfg=None) -> str:
    g = results["groups"]
    once, top = g[1], g[-1]
    lines = [
        f"{results['trials']} trials. Test accuracy against the clusters' own labels per training "
        "multiplicity of the cluster; drop = accuracy of the sweep's reference (non-private; DP-SGD without "
        "noise; smallest ridge lambda; largest C) minus this setting's, paired per trial; gap = accuracy "
        f"on the most frequent group ({top}) minus on clusters {once}. Mean ± SE over trials.",
        "",
    ]
    lines += table(
        ["setting", "test error", "excess over opt", *(f"acc. {x}" for x in g), f"drop ({once})",
         f"drop ({top})", "gap", f"label-DP ceiling ({once})", "theory cost (singletons; all l)",
         "mem (singletons)"],
        (_dp_row(r, g) for r in results["settings"]),
    )  # fmt: skip
    lines += [
        "",
        "Drop from the family's reference (no noise) per group, measured (mean ± SE) against the least drop "
        "the label-DP ceiling forces, (acc. reference - ceiling)_+:",
        "",
        *table(
            ["setting", *g],
            (
                [r["learner"], *(f"{pm(r['drop'][x], 3)} / {r['theory']['min_drop'][x]:.3f}" for x in g)]
                for r in results["settings"]
                if r.get("theory")
            ),
        ),
    ]
    th, ref = results["theory"], results["reference"]
    lines += [
        "",
        f"opt (theory) = {th['opt']:.4f}; opt(pi, F | S) over trials = {pm(ref['opt_given_sample'])}. "
        "Test points per trial by group: "
        + ", ".join(f"{x} {v:.0f}" for x, v in zip(g, ref["test_points_per_group"], strict=True))
        + ".",
        "PrivateLogistic (output perturbation) is eps-DP with respect to whole examples (features and "
        "labels), which implies eps-label-DP. Label-DP ceiling: accuracy <= min(1, e^(l eps)/m) at a cluster "
        f"seen l times (uniform labels; group privacy), averaged over the group's test points. Theory costs: "
        f"theory.bound(..., epsilon) (singletons) and the sum over every l; both 0 for eps >= ln m = "
        f"{th['ln_m']:.3f}. The regularization sweeps are not private, so no ceiling applies to them.",
        "",
    ]
    sgd = results.get("dpsgd")
    if sgd:
        sig = ", ".join(
            f"eps {r['value']:g}: sigma {r['sigma']:.3f} (accounted eps {r['epsilon_accounted']:.4f})"
            for r in results["settings"]
            if r["family"] == "dpsgd" and r["value"] is not None
        )
        lines += [
            f"DP-SGD: softmax regression, Poisson sampling q = {sgd['sample_rate']:g} (expected batch "
            f"{sgd['expected_batch']:g}), T = {sgd['steps']} steps, clip C = {sgd['clip']:g}, "
            f"lr = {sgd['lr']:g}, delta = {sgd['delta']:g}; {sgd['accounting']}. Noise multipliers: {sig}. "
            "Label-DP: "
            f"{sgd['label_dp']}, so its ceiling is min(1, e^(2 l eps)/m + delta_l) and its costs use 2 eps.",
            "",
        ]
    if not results["uniform_labels"]:
        lines += ["Labels depend on position: the label-DP ceiling (uniform labels) does not apply.", ""]
    lines += findings_lines(
        results,
        "measurement beyond the theory",
        "No measurement exceeds the label-DP ceiling or undercuts its cost",
    )
    return "\n".join(lines)
