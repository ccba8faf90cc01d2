"""Feldman's model simulated: measured excess error of learners that skip rare points, against the
exact theory, for a Zipf prior at several n / N. Saves OUT/bound_vs_empirical.png.

Run: python examples/simulate_and_plot.py OUT
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import tailmem  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)
N = 2_000
prior = tailmem.zipf(N, 1.0)
ratios = [0.3, 1.0, 3.0]
measured, se, exact = [], [], []
for r in ratios:
    sim = tailmem.simulate_feldman(prior, int(r * N), learners=["fit-seen>=2"], trials=30, seed=0)
    row = sim["learners"]["fit-seen>=2"]
    measured.append(row["excess"]["mean"])
    se.append(row["excess"]["se"])
    exact.append(row["theory"])
    ex = row["excess"]
    print(f"n/N = {r}: excess {ex['mean']:.4f} ± {ex['se']:.4f}, theory {row['theory']:.4f}")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(ratios, measured, yerr=se, fmt="o", capsize=3, label="simulation (mean ± SE, 30 trials)")
ax.plot(ratios, exact, "k--", label="theory: cost of skipping singletons")
ax.set_xscale("log")
ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
ax.minorticks_off()
ax.set_xlabel("n / N")
ax.set_ylabel("excess error")
ax.set_title("fit-seen>=2 on Zipf(1), N = 2,000")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(out / "bound_vs_empirical.png", dpi=120)
print(f"wrote {out / 'bound_vs_empirical.png'}")
