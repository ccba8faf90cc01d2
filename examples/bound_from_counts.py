"""The theory's bound for a long tail fitted to your own class (or cluster) counts.

Run: python examples/bound_from_counts.py [OUT]   (OUT is unused: this example only prints)
"""

import numpy as np

import tailmem

# how often each of 20,000 subpopulations occurred in a census of yours (here: a made-up long
# tail, count ~ 5000 / rank^1.2; a subpopulation seen 0 times still counts as a point)
counts = np.floor(5000 / np.arange(1, 20_001) ** 1.2)
prior = tailmem.from_counts(counts)
print(f"{prior.N:,} subpopulations, {int((counts == 0).sum()):,} never seen in the census")

for n in (1_000, 10_000, 100_000):
    r = tailmem.bound(prior, n, classes=10, gamma=0.5)
    print(
        f"n = {n:>7,}: tau_1 * n = {r.tau['1'] * n:.3f}, singletons {r.singleton_fraction:.2%} of examples, "
        f"cost of fitting no singleton {r.cost_unfit_singletons:.4f}, of a gamma = 0.5 limit "
        f"{r.cost_memorization_limit:.4f}"
    )
