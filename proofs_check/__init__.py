"""Exact, executable checks of the derivations behind :mod:`theory` (fractions and sympy).

Source: Feldman (2020), "Does Learning Require Memorization? A Short Tale about a Long Tail",
arXiv 1906.05271. Every probability is enumerated exactly on tiny instances (the table uses
N <= 4 points, n <= 4 draws, m = 2 classes): :mod:`proofs_check.posterior` checks the posterior lemma,
:mod:`proofs_check.main_bound` the main bound, and ``python -m proofs_check`` prints the table
(:mod:`proofs_check.runner`). Each check is compared with the floats of :mod:`theory` as well.
"""

from proofs_check.enumeration import (
    SampleTable,
    count_vectors,
    distribution_law,
    labelings,
    moment,
    multinomial,
    normalised_list,
    prior_marginal,
    sample_table,
    tau_exact,
)
from proofs_check.main_bound import (
    DEFAULT_LEARNERS,
    Learner,
    MainBound,
    capacity_limited,
    constant,
    flip_singletons,
    main_bound,
    memorize_all,
    memorize_most_frequent,
    skip_seen_at_most,
    theory_costs,
)
from proofs_check.posterior import (
    PosteriorLemma,
    SamplePosterior,
    posterior_given_sample,
    posterior_lemma,
    posterior_lemma_symbolic,
    theory_tau,
)
from proofs_check.runner import CheckResult, default_checks, format_table, main, run_all

__all__ = [
    "DEFAULT_LEARNERS",
    "CheckResult",
    "Learner",
    "MainBound",
    "PosteriorLemma",
    "SamplePosterior",
    "SampleTable",
    "capacity_limited",
    "constant",
    "count_vectors",
    "default_checks",
    "distribution_law",
    "flip_singletons",
    "format_table",
    "labelings",
    "main",
    "main_bound",
    "memorize_all",
    "memorize_most_frequent",
    "moment",
    "multinomial",
    "normalised_list",
    "posterior_given_sample",
    "posterior_lemma",
    "posterior_lemma_symbolic",
    "prior_marginal",
    "run_all",
    "sample_table",
    "skip_seen_at_most",
    "tau_exact",
    "theory_costs",
    "theory_tau",
]
