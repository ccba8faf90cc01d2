"""The same memorization estimates trained as Ray tasks: on a cluster (here a 2-CPU Ray cluster on
this machine), bit-identical to training here. Needs the [ray] extra (pip install "tailmem[ray]").

Run: python examples/ray_run.py [OUT]   (for a real cluster: ray_address="HOST:6379")
"""

import numpy as np
import ray
from sklearn.datasets import load_digits

import tailmem

d = load_digits()
x, y = d.data[:400], d.target[:400]
kw = {"models": 32, "models_per_batch": 8, "epochs": 5, "hidden": (64,), "lr": 0.05, "progress": False}
local = tailmem.memorization(x, y, **kw)
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # or ray.init(address="auto")
try:
    on_ray = tailmem.memorization(x, y, backend="ray", **kw)
finally:
    ray.shutdown()
same = np.array_equal(local.correct_train, on_ray.correct_train) and np.array_equal(
    local.mem, on_ray.mem, equal_nan=True
)
print(f"4 batches of 8 models on Ray; mem~ identical to local training: {'yes' if same else 'NO'}")
print("most memorized:", np.argsort(-on_ray.mem)[:5].tolist())
