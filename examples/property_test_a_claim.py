"""Property-test a claim about Feldman's model with tailmem's Hypothesis strategies.

A true claim passes on every generated prior and n; a false one is shrunk to a small
counterexample. Here: "tau_1 is a weighted mean of the prior's frequencies" (true) and "the cost
of fitting no singleton is at most the share of singleton examples" (false: the mass of the
points seen once can exceed the share of examples they make up).

Run: python examples/property_test_a_claim.py
"""

from hypothesis import given, settings

import tailmem
from tailmem.strategies import frequency_priors, sample_sizes


@settings(max_examples=100, deadline=None)
@given(frequency_priors(), sample_sizes())
def tau_1_is_a_frequency(prior, n):
    q = prior.normalized()
    tau_1 = tailmem.bound(prior, n).tau["1"]
    if tau_1 is not None:  # None: no point can be seen exactly once
        assert q[q > 0].min() * (1 - 1e-9) <= tau_1 <= q.max() * (1 + 1e-9)


@settings(max_examples=100, deadline=None, database=None)
@given(frequency_priors(), sample_sizes())
def cost_at_most_singleton_share(prior, n):
    r = tailmem.bound(prior, n)
    assert r.cost_unfit_singletons <= r.singleton_fraction + 1e-12


tau_1_is_a_frequency()
print("tau_1 lies among the prior's frequencies: holds on 100 generated instances")
try:
    cost_at_most_singleton_share()
    print("cost <= singleton share: no counterexample found")
except AssertionError:
    print("cost <= singleton share: FALSE; Hypothesis printed its smallest counterexample above")
